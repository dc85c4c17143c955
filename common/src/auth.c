/* auth.c — bearer-token check for the services' internal API (cm_auth.h). Keeps only SHA-256
 * digests of the tokens and compares digests in constant time; must never log or echo a token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_auth.h"
#include "cm_config.h"
#include "cm_error.h"
#include "cm_idem.h"
#include "cm_log.h"
#include "http_internal.h"

typedef struct auth_binding {
    const auth *a;
    unsigned accept;
    http_handler_fn fn;
    void *ctx;
} auth_binding;

struct auth {
    bool disabled;
    bool has_service, has_admin;
    char service_digest[65]; /* hex SHA-256 of SERVICE_TOKEN */
    char admin_digest[65];
    auth_binding bindings[HTTP_MAX_ROUTES]; /* never move: http_route keeps pointers */
    int nbindings;
};

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool b64token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

/* Length of the b64token at s (0 if none starts there). */
static size_t b64token_len(const char *s)
{
    size_t n = 0;
    while (b64token_char(s[n]))
        n++;
    if (n == 0)
        return 0;
    while (s[n] == '=')
        n++;
    return n;
}

bool auth_token_valid(const char *token)
{
    if (!token)
        return false;
    size_t n = strnlen(token, AUTH_TOKEN_MAX + 1);
    return n >= AUTH_TOKEN_MIN && n <= AUTH_TOKEN_MAX && b64token_len(token) == n;
}

/* Equal in time that depends only on the (fixed) length, not on where they differ. */
static bool digest_equal(const char *x, const char *y)
{
    unsigned char diff = 0;
    for (size_t i = 0; i < 64; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

static int check_one(const char *name, const char *token, bool needed, bool disabled, char *err,
                     size_t errlen)
{
    if (token && *token) {
        if (auth_token_valid(token))
            return 0;
        snprintf(err, errlen,
                 "%s is malformed: it must be %d..%d characters of A-Z a-z 0-9 - . _ ~ + / "
                 "(trailing '=' allowed), e.g. 64 hex digits from `openssl rand -hex 32`",
                 name, AUTH_TOKEN_MIN, AUTH_TOKEN_MAX);
        return CM_ERR_INVALID;
    }
    if (needed && !disabled) {
        snprintf(err, errlen,
                 "%s is not set: this daemon refuses to start without it. Use the value "
                 "scripts/stack keeps in .stack/secrets.env (or .env for docker compose), or "
                 "set AUTH_DISABLED=1 to run without authentication (development only)",
                 name);
        return CM_ERR_INVALID;
    }
    return 0;
}

int auth_new(const char *service_token, const char *admin_token, bool disabled, unsigned need,
             char *err, size_t errlen, auth **out)
{
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (check_one("SERVICE_TOKEN", service_token, need & AUTH_SERVICE, disabled, err, errlen) ||
        check_one("ADMIN_TOKEN", admin_token, need & AUTH_ADMIN, disabled, err, errlen))
        return CM_ERR_INVALID;
    bool has_s = service_token && *service_token, has_a = admin_token && *admin_token;
    if (has_s && has_a && !strcmp(service_token, admin_token)) {
        snprintf(err, errlen,
                 "ADMIN_TOKEN must differ from SERVICE_TOKEN: with one value every service "
                 "could do what only operators may");
        return CM_ERR_INVALID;
    }
    auth *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return CM_ERR_NOMEM;
    }
    a->disabled = disabled;
    a->has_service = has_s;
    a->has_admin = has_a;
    if (has_s)
        cm_sha256_hex(service_token, strlen(service_token), a->service_digest);
    if (has_a)
        cm_sha256_hex(admin_token, strlen(admin_token), a->admin_digest);
    *out = a;
    return 0;
}

int auth_from_env(const char *service, unsigned need, auth **out)
{
    const char *flag = cfg_str("AUTH_DISABLED", "0");
    char err[512];
    *out = NULL;
    if (strcmp(flag, "0") != 0 && strcmp(flag, "1") != 0) {
        log_error("AUTH_DISABLED must be 0 or 1; %s refuses to start", service);
        return CM_ERR_INVALID;
    }
    bool disabled = !strcmp(flag, "1");
    int rc = auth_new(cfg_str("SERVICE_TOKEN", NULL), cfg_str("ADMIN_TOKEN", NULL), disabled, need,
                      err, sizeof err, out);
    if (rc) {
        log_error("%s", err);
        return rc;
    }
    if (disabled)
        log_warn("AUTH_DISABLED=1: %s answers every route without a token. Never run like "
                 "this where anyone else can reach the port",
                 service);
    return 0;
}

void auth_free(auth *a)
{
    free(a);
}

bool auth_disabled(const auth *a)
{
    return a->disabled;
}

auth_verdict auth_verify(const auth *a, const char *h, unsigned accept)
{
    if (a->disabled)
        return AUTH_OK;
    if (!h)
        return AUTH_MISSING;
    if (strnlen(h, AUTH_HEADER_MAX + 1) > AUTH_HEADER_MAX)
        return AUTH_MALFORMED;
    while (*h == ' ' || *h == '\t')
        h++;
    /* RFC 9110 11.1: the scheme is case-insensitive; RFC 6750 2.1: one or more spaces. */
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return AUTH_MALFORMED;
    const char *tok = h + 6;
    while (*tok == ' ' || *tok == '\t')
        tok++;
    size_t n = b64token_len(tok);
    const char *end = tok + n;
    while (*end == ' ' || *end == '\t')
        end++;
    if (n == 0 || *end != '\0')
        return AUTH_MALFORMED;
    /* Hash whatever arrived and compare with both digests, so the time taken says nothing
     * about the token's content or about which comparison failed. */
    char d[65];
    cm_sha256_hex(tok, n, d);
    bool is_service = digest_equal(d, a->service_digest) & a->has_service;
    bool is_admin = digest_equal(d, a->admin_digest) & a->has_admin;
    if ((is_service && (accept & AUTH_SERVICE)) || (is_admin && (accept & AUTH_ADMIN)))
        return AUTH_OK;
    return (is_service || is_admin) ? AUTH_INSUFFICIENT : AUTH_WRONG;
}

static const char *wanted(unsigned accept)
{
    if ((accept & AUTH_SERVICE) && (accept & AUTH_ADMIN))
        return "the service token (SERVICE_TOKEN) or the admin token (ADMIN_TOKEN)";
    return (accept & AUTH_ADMIN) ? "the admin token (ADMIN_TOKEN)"
                                 : "the service token (SERVICE_TOKEN)";
}

static void count_refusal(http_req *req, const char *reason)
{
    char labels[64];
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
    metrics_counter_add(http_server_metrics(req->srv), "auth_refused_total",
                        "Requests refused for a missing, malformed or wrong bearer token", labels,
                        1);
}

static enum MHD_Result count_authorization(void *cls, enum MHD_ValueKind kind, const char *key,
                                           const char *value)
{
    (void)kind;
    (void)value;
    if (key && !strcasecmp(key, "Authorization"))
        ++*(int *)cls;
    return MHD_YES;
}

/* The request's one Authorization value; *malformed when the header comes more than once
 * (RFC 6750 2: one method, one credential) or its length disagrees with the C string (a NUL
 * inside; libmicrohttpd 0.9.75 already cuts the value there, so nothing after a NUL is ever
 * compared). */
static const char *authorization(http_req *req, bool *malformed)
{
    const char *v = NULL;
    size_t n = 0;
    int count = 0;
    *malformed = false;
    if (MHD_lookup_connection_value_n(req->conn, MHD_HEADER_KIND, "Authorization", 13, &v, &n) !=
            MHD_YES ||
        !v)
        return NULL;
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_authorization, &count);
    *malformed = strlen(v) != n || count > 1;
    return v;
}

/* What a refused request is told, by verdict: status, code, challenge (RFC 6750 3) and the
 * start of the detail, which goes on with the token the route wants. */
static const struct refusal {
    const char *reason; /* label of auth_refused_total */
    int status;
    const char *code;
    const char *challenge;
    const char *detail;
} k_refusals[] = {
    [AUTH_MISSING] = {"missing", 401, AUTH_CODE_UNAUTHORIZED, "Bearer",
                      "send 'Authorization: Bearer <token>' with "},
    [AUTH_MALFORMED] = {"malformed", 401, AUTH_CODE_UNAUTHORIZED,
                        "Bearer error=\"invalid_request\"",
                        "malformed Authorization header: send 'Bearer <token>' with "},
    [AUTH_WRONG] = {"wrong", 401, AUTH_CODE_UNAUTHORIZED, "Bearer error=\"invalid_token\"",
                    "the bearer token is not valid: send "},
    [AUTH_INSUFFICIENT] = {"forbidden", 403, AUTH_CODE_FORBIDDEN,
                           "Bearer error=\"insufficient_scope\"", "this route needs "},
};

bool auth_check(const auth *a, http_req *req, unsigned accept)
{
    bool malformed = false;
    const char *h = a->disabled ? NULL : authorization(req, &malformed);
    auth_verdict v = malformed ? AUTH_MALFORMED : auth_verify(a, h, accept);
    if (v == AUTH_OK)
        return true;
    const struct refusal *r = &k_refusals[v];
    count_refusal(req, r->reason);
    http_resp_header(req, "WWW-Authenticate", r->challenge);
    http_respond_problem(req, r->status, r->code, "%s%s", r->detail, wanted(accept));
    return false;
}

static void guarded(http_req *req, void *ctx)
{
    const auth_binding *b = ctx;
    if (auth_check(b->a, req, b->accept))
        b->fn(req, b->ctx);
}

int auth_route(auth *a, http_server *srv, const char *method, const char *pattern, unsigned accept,
               http_handler_fn handler, void *ctx)
{
    if (!a || !handler || !(accept & (AUTH_SERVICE | AUTH_ADMIN)) ||
        a->nbindings >= HTTP_MAX_ROUTES)
        return CM_ERR_INVALID;
    auth_binding *b = &a->bindings[a->nbindings];
    *b = (auth_binding){.a = a, .accept = accept, .fn = handler, .ctx = ctx};
    int rc = http_route(srv, method, pattern, guarded, b);
    if (rc == 0)
        a->nbindings++;
    return rc;
}
