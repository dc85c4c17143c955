/* httpc.c — the public client: checks the request, gives plain http:// to common's own
 * HTTP/1.1 client (httpc_plain.c) and the rest to libcurl, with one easy handle per thread
 * (keep-alive reuse). Must not share a CURL handle between threads; handles are freed at
 * thread exit. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_error.h"
#include "cm_httpc.h"
#include "cm_json.h"
#include "cm_log.h"
#include "httpc_internal.h"
#include "util.h"

/* RFC 6750 b64token characters (and its trailing '='). */
#define BEARER_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void handle_free(void *h)
{
    if (h)
        curl_easy_cleanup(h);
}

static void key_init(void)
{
    pthread_key_create(&g_key, handle_free);
}

int httpc_global_init(void)
{
    pthread_once(&g_once, key_init);
    httpc_plain_init();
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : CM_ERR_IO;
}

void httpc_global_cleanup(void)
{
    /* The calling thread's handle would otherwise outlive curl_global_cleanup. */
    pthread_once(&g_once, key_init);
    CURL *h = pthread_getspecific(g_key);
    if (h) {
        curl_easy_cleanup(h);
        pthread_setspecific(g_key, NULL);
    }
    httpc_plain_thread_release();
    curl_global_cleanup();
}

static CURL *thread_handle(void)
{
    pthread_once(&g_once, key_init);
    CURL *h = pthread_getspecific(g_key);
    if (!h) {
        h = curl_easy_init();
        if (h)
            pthread_setspecific(g_key, h);
    } else {
        curl_easy_reset(h); /* keeps the connection cache, drops per-request options */
    }
    return h;
}

typedef struct acc {
    char *p;
    size_t len, cap;
    bool overflow;
} acc;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    acc *a = ud;
    size_t n = size * nmemb;
    if (a->len + n > HTTPC_MAX_RESPONSE) {
        a->overflow = true;
        return 0; /* aborts the transfer */
    }
    if (cm_buf_append(&a->p, &a->len, &a->cap, data, n, 4096, SIZE_MAX) != 0)
        return 0;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    size_t n = size * nmemb;
    /* A redirect or 100-continue starts a new header block: keep only the last one. */
    if (n >= 5 && !strncmp(data, "HTTP/", 5))
        ((acc *)ud)->len = 0;
    return on_body(data, size, nmemb, ud);
}

/* Appends one header line; on out-of-memory the list is kept (curl_slist_append would
 * return NULL and lose it) and *failed is set. */
static struct curl_slist *add_header(struct curl_slist *list, const char *line, bool *failed)
{
    struct curl_slist *n = curl_slist_append(list, line);
    if (!n) {
        *failed = true;
        return list;
    }
    return n;
}

/* After a failed transfer: 0 only when the request cannot have reached the server (no
 * connection was ever made), so a replica may be tried even for a non-idempotent call. A
 * transfer that timed out before it got past connecting sent nothing either. */
static int request_may_have_been_sent(CURL *h, CURLcode cc)
{
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
        cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_UNSUPPORTED_PROTOCOL ||
        cc == CURLE_URL_MALFORMAT)
        return 0;
    curl_off_t pretransfer = 0;
    if (cc == CURLE_OPERATION_TIMEDOUT &&
        curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) == CURLE_OK &&
        pretransfer == 0)
        return 0;
    return 1;
}

/* A header value we may send: no control bytes (a CR or LF would forge headers). */
static bool clean_value(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v == 0x7f)
            return false;
    return true;
}

static bool token_method(const char *m)
{
    if (!m[0])
        return false;
    for (; *m; m++)
        if (!((*m >= 'A' && *m <= 'Z') || (*m >= 'a' && *m <= 'z') || *m == '-' || *m == '_'))
            return false;
    return true;
}

/* Checks opts' header values into l; CM_ERR_INVALID with out->error set when one is unusable.
 * A request id that is not clean is left out (it only labels logs). */
static int check_lines(const httpc_opts *o, bool has_body, httpc_lines *l, httpc_resp *out)
{
    memset(l, 0, sizeof *l);
    l->content_type = o->content_type ? o->content_type : "application/json";
    l->idempotency_key = o->idempotency_key;
    l->bearer = o->bearer_token;
    const char *rid = o->request_id ? o->request_id : log_request_id();
    if (rid && strlen(rid) < 256 && clean_value(rid))
        l->request_id = rid;
    if ((has_body && (!clean_value(l->content_type) || strlen(l->content_type) > 256)) ||
        (l->idempotency_key &&
         (!clean_value(l->idempotency_key) || strlen(l->idempotency_key) > 400))) {
        snprintf(out->error, sizeof out->error, "malformed header value");
        return CM_ERR_INVALID;
    }
    if (l->bearer && (strspn(l->bearer, BEARER_ALPHABET) != strlen(l->bearer) || !l->bearer[0] ||
                      strlen(l->bearer) > 400)) {
        snprintf(out->error, sizeof out->error, "malformed bearer token");
        return CM_ERR_INVALID;
    }
    return 0;
}

int httpc_request(const char *method, const char *url, const char *body, size_t len,
                  const httpc_opts *opts, httpc_resp *out)
{
    memset(out, 0, sizeof *out);
    if (!method || !url || !token_method(method))
        return CM_ERR_INVALID;
    httpc_opts o = {0};
    if (opts)
        o = *opts;
    httpc_lines l;
    int lrc = check_lines(&o, body != NULL, &l, out);
    if (lrc)
        return lrc;
    long connect_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : 2000L;
    long timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 10000L;
    int prc = httpc_plain_request(method, url, body, len, &l, connect_ms, timeout_ms, out);
    if (prc != HTTPC_DECLINED)
        return prc;
    CURL *h = thread_handle();
    if (!h) {
        snprintf(out->error, sizeof out->error, "curl_easy_init failed");
        return CM_ERR_NOMEM;
    }
    struct curl_slist *hdrs = NULL;
    bool nomem = false;
    char line[512];
    if (body) {
        snprintf(line, sizeof line, "Content-Type: %s", l.content_type);
        hdrs = add_header(hdrs, line, &nomem);
    }
    hdrs = add_header(hdrs, "Accept: application/json, application/problem+json", &nomem);
    /* curl's own Expect: 100-continue (bodies over 1 MiB) stays: it lets a server refuse an
     * oversize body with 413 before the upload instead of resetting the connection mid-way. */
    if (l.idempotency_key) {
        snprintf(line, sizeof line, "Idempotency-Key: %s", l.idempotency_key);
        hdrs = add_header(hdrs, line, &nomem);
    }
    if (l.bearer) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", l.bearer);
        hdrs = add_header(hdrs, line, &nomem);
        explicit_bzero(line, sizeof line);
    }
    if (l.request_id) {
        snprintf(line, sizeof line, "X-Request-Id: %s", l.request_id);
        hdrs = add_header(hdrs, line, &nomem);
    }
    if (nomem) { /* never send a request without its Idempotency-Key */
        curl_slist_free_all(hdrs);
        snprintf(out->error, sizeof out->error, "out of memory building headers");
        return CM_ERR_NOMEM;
    }
    acc a = {0}, hd = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hd);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "DELETE")) {
        /* POST/PATCH/PUT without a body: send Content-Length: 0, not a chunked upload. */
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    int rc = 0;
    if (cc != CURLE_OK) {
        snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        if (a.overflow)
            snprintf(out->error, sizeof out->error, "response larger than %d bytes",
                     HTTPC_MAX_RESPONSE);
        free(a.p);
        free(hd.p);
        out->sent = request_may_have_been_sent(h, cc);
        return cc == CURLE_OPERATION_TIMEDOUT ? CM_ERR_TIMEOUT : CM_ERR_IO;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    char *ct = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(out->content_type, sizeof out->content_type, "%s", ct);
    if (!a.p) {
        a.p = strdup("");
        if (!a.p) {
            free(hd.p);
            return CM_ERR_NOMEM;
        }
    }
    out->headers = hd.p;
    out->body = a.p;
    out->len = a.len;
    return rc;
}

int httpc_request_json(const char *method, const char *url, const json_t *json,
                       const httpc_opts *opts, httpc_resp *out)
{
    if (!json)
        return httpc_request(method, url, NULL, 0, opts, out);
    char *s = json_dump_compact(json);
    if (!s) {
        memset(out, 0, sizeof *out);
        return CM_ERR_NOMEM;
    }
    int rc = httpc_request(method, url, s, strlen(s), opts, out);
    free(s);
    return rc;
}

json_t *httpc_resp_json(const httpc_resp *r)
{
    if (!r->body || r->len == 0)
        return NULL;
    return json_loadb(r->body, r->len, 0, NULL);
}

const char *httpc_resp_header(const httpc_resp *r, const char *name, char *out, size_t n)
{
    if (!r->headers || !n)
        return NULL;
    size_t nl = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t ll = eol ? (size_t)(eol - line) : strlen(line);
        if (ll > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
            const char *v = line + nl + 1;
            const char *end = line + ll;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' '))
                end--;
            snprintf(out, n, "%.*s", (int)(end - v), v);
            return out;
        }
        line = eol ? eol + 1 : NULL;
    }
    return NULL;
}

void httpc_resp_free(httpc_resp *r)
{
    if (!r)
        return;
    free(r->headers);
    r->headers = NULL;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}
