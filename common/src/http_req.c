/* http_req.c — request accessors, input helpers that answer 400 themselves, and the
 * JSON / problem+json answers. Must not send anything: the server sends after the handler. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "cm_id.h"
#include "cm_log.h"
#include "http_internal.h"

const char *http_req_method(const http_req *r)
{
    return r->method;
}
const char *http_req_path(const http_req *r)
{
    return r->path;
}
const char *http_req_route(const http_req *r)
{
    return r->match.route ? r->match.route->pattern : NULL;
}
const char *http_req_id(const http_req *r)
{
    return r->request_id;
}

const char *http_req_param(const http_req *r, const char *name)
{
    for (int i = 0; i < r->match.nparams; i++)
        if (!strcmp(r->match.names[i], name))
            return r->match.values[i];
    return NULL;
}

const char *http_req_query(const http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_req_header(const http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_req_idempotency_key(const http_req *r)
{
    const char *k = http_req_header(r, "Idempotency-Key");
    return cm_id_valid(k, HTTP_IDEM_KEY_MAX) ? k : NULL;
}

const char *http_req_body(const http_req *r, size_t *len)
{
    if (len)
        *len = r->body_len;
    return r->body ? r->body : "";
}

void http_req_set_saga_id(http_req *r, const char *saga_id)
{
    snprintf(r->saga_id, sizeof r->saga_id, "%s", saga_id ? saga_id : "");
    log_set_saga_id(saga_id);
}

typedef struct qs_acc {
    char *out;     /* NULL while measuring */
    size_t cap;    /* bytes out can take, without the NUL */
    size_t len;    /* bytes written (or needed) so far */
    bool overflow; /* the values grew between the passes: result unusable */
} qs_acc;

static void qs_put(qs_acc *a, const char *s)
{
    size_t n = strlen(s);
    if (a->out && !a->overflow) {
        if (n > a->cap - a->len)
            a->overflow = true; /* len <= cap holds until now */
        else
            memcpy(a->out + a->len, s, n);
    }
    a->len += n;
}

static enum MHD_Result qs_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    qs_acc *a = cls;
    if (a->len)
        qs_put(a, "&");
    qs_put(a, key ? key : "");
    if (value) {
        qs_put(a, "=");
        qs_put(a, value);
    }
    return MHD_YES;
}

char *http_req_query_string(const http_req *r)
{
    /* Two passes over the same connection values: measure, then copy. MHD keeps them
     * unchanged for the life of the request, so both passes see the same data. */
    qs_acc a = {NULL, 0, 0, false};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, qs_iter, &a);
    char *out = malloc(a.len + 1);
    if (!out)
        return NULL;
    size_t need = a.len;
    a = (qs_acc){out, need, 0, false};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, qs_iter, &a);
    if (a.overflow || a.len != need) { /* cannot happen (see above) */
        free(out);
        return NULL;
    }
    out[a.len] = '\0';
    return out;
}

/* ---- input helpers ---- */

/* Decimal int64 with no sign, spaces or leading junk. */
static bool parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

int http_req_param_id(http_req *r, const char *name, int64_t *out)
{
    const char *v = http_req_param(r, name);
    int64_t x;
    if (!v || v[0] == '-' || !parse_i64(v, &x) || x < 1) {
        http_respond_problem(r, 400, HTTP_CODE_VALIDATION, "%s must be a positive integer", name);
        return CM_ERR_INVALID;
    }
    *out = x;
    return 0;
}

int http_req_query_int(http_req *r, const char *name, bool required, int64_t def, int64_t min,
                       int64_t max, int64_t *out)
{
    const char *v = http_req_query(r, name);
    if (!v) {
        if (required) {
            http_respond_problem(r, 400, HTTP_CODE_VALIDATION, "%s is required", name);
            return CM_ERR_INVALID;
        }
        *out = def;
        return 0;
    }
    int64_t x;
    if (!parse_i64(v, &x) || x < min || x > max) {
        if (min == 1 && max == INT64_MAX)
            http_respond_problem(r, 400, HTTP_CODE_VALIDATION, "%s must be a positive integer",
                                 name);
        else
            http_respond_problem(r, 400, HTTP_CODE_VALIDATION,
                                 "%s must be an integer between %" PRId64 " and %" PRId64, name,
                                 min, max);
        return CM_ERR_INVALID;
    }
    *out = x;
    return 0;
}

int http_req_query_str(http_req *r, const char *name, bool required, size_t max_len,
                       const char **out)
{
    const char *v = http_req_query(r, name);
    if (!v || !*v) {
        if (required) {
            http_respond_problem(r, 400, HTTP_CODE_VALIDATION, "%s is required", name);
            return CM_ERR_INVALID;
        }
        *out = NULL;
        return 0;
    }
    if (strlen(v) > max_len) {
        http_respond_problem(r, 400, HTTP_CODE_VALIDATION, "%s must be at most %zu characters",
                             name, max_len);
        return CM_ERR_INVALID;
    }
    *out = v;
    return 0;
}

int http_req_json(http_req *r, const json_field *fields, unsigned flags, json_t **out)
{
    *out = NULL;
    if (r->body_len == 0) {
        http_respond_problem(r, 400, HTTP_CODE_VALIDATION, "request body is required");
        return CM_ERR_INVALID;
    }
    char detail[512];
    if (json_parse_object(r->body, r->body_len, fields, flags, out, detail, sizeof detail)) {
        http_respond_problem(r, 400, HTTP_CODE_VALIDATION, "%s", detail);
        return CM_ERR_INVALID;
    }
    return 0;
}

/* ---- answers ---- */

void http_resp_header(http_req *r, const char *name, const char *value)
{
    if (r->nhdrs >= HTTP_MAX_RESP_HEADERS || !name || !value)
        return;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    r->hdrs[r->nhdrs].name = n;
    r->hdrs[r->nhdrs].value = v;
    r->nhdrs++;
}

/* Store the answer; takes ownership of `body` (malloc'd or NULL). */
static void set_answer(http_req *r, int status, const char *ctype, char *body, size_t len)
{
    if (r->responded) {
        log_warn("second answer (%d) for %s %s ignored", status, r->method, r->path);
        free(body);
        return;
    }
    r->responded = true;
    r->status = status;
    snprintf(r->resp_ctype, sizeof r->resp_ctype, "%s", ctype ? ctype : "");
    r->resp_body = body;
    r->resp_len = body ? len : 0;
}

void http_respond_raw(http_req *r, int status, const char *content_type, const char *body,
                      size_t len)
{
    char *copy = NULL;
    if (body && len) {
        copy = malloc(len + 1);
        if (!copy) {
            set_answer(r, 500, "text/plain", NULL, 0);
            return;
        }
        memcpy(copy, body, len);
        copy[len] = '\0';
    }
    set_answer(r, status, content_type, copy, len);
}

void http_respond_json(http_req *r, int status, json_t *body)
{
    if (!body) {
        set_answer(r, status, "application/json", NULL, 0);
        return;
    }
    char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (!s) {
        set_answer(r, 500, "text/plain", NULL, 0);
        return;
    }
    set_answer(r, status, "application/json", s, strlen(s));
}

void http_respond_repo_error(http_req *r, int rc, const char *what)
{
    if (rc == CM_ERR_NOT_FOUND) {
        http_respond_problem(r, 404, HTTP_CODE_NOT_FOUND, "%s not found", what);
    } else if (rc == CM_ERR_IO || rc == CM_ERR_TIMEOUT || rc == CM_ERR_CONFLICT) {
        log_warn("%s repository: %s", what, cm_strerror(rc));
        http_respond_problem(r, 503, HTTP_CODE_UNAVAILABLE,
                             "the database is busy or unreachable; retry later");
    } else {
        log_error("%s repository failed: %s", what, cm_strerror(rc));
        http_respond_problem(r, 500, HTTP_CODE_INTERNAL, "internal error");
    }
}

const char *http_status_title(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

/* A JSON string of `s`; bytes that are not valid UTF-8 become '?' (jansson refuses them). */
static json_t *safe_string(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char buf[1024];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof buf; i++)
        buf[i] = ((unsigned char)s[i] < 0x80) ? s[i] : '?';
    buf[i] = '\0';
    return json_string(buf);
}

json_t *http_problem_new(int status, const char *code, const char *detail, const char *instance)
{
    char type[128];
    if (code)
        snprintf(type, sizeof type, "/problems/%s", code);
    else
        snprintf(type, sizeof type, "about:blank");
    json_t *p = json_pack("{s:s, s:s, s:i, s:o}", "type", type, "title", http_status_title(status),
                          "status", status, "detail", safe_string(detail ? detail : ""));
    if (!p)
        return NULL;
    if (code)
        json_object_set_new(p, "code", safe_string(code));
    if (instance)
        json_object_set_new(p, "instance", safe_string(instance));
    return p;
}

static void respond_problem_v(http_req *r, int status, const char *code, json_t *extra,
                              const char *fmt, va_list ap)
{
    char detail[1024];
    vsnprintf(detail, sizeof detail, fmt, ap);
    json_t *p = http_problem_new(status, code, detail, r->path);
    /* The log lines of this request carry the same id: an operator finds them from here. */
    if (p)
        json_object_set_new(p, "requestId", json_string(r->request_id));
    if (p && extra) {
        const char *k;
        json_t *v;
        json_object_foreach(extra, k, v)
        {
            if (!json_object_get(p, k))
                json_object_set(p, k, v);
        }
    }
    json_decref(extra);
    char *s = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!s) {
        set_answer(r, status, "application/problem+json", NULL, 0);
        return;
    }
    set_answer(r, status, "application/problem+json", s, strlen(s));
}

void http_respond_problem(http_req *r, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    respond_problem_v(r, status, code, NULL, fmt, ap);
    va_end(ap);
}

void http_respond_problem_ext(http_req *r, int status, const char *code, json_t *extra,
                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    respond_problem_v(r, status, code, extra, fmt, ap);
    va_end(ap);
}
