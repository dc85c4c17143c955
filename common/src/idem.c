/* idem.c — Idempotency-Key: claim atomically in Redis, replay completed answers, refuse
 * reuse with a different request. Must never let two requests with one key both run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_error.h"
#include "cm_idem.h"
#include "cm_log.h"
#include "http_internal.h"
#include "sha256.h"

void idem_fingerprint(const char *method, const char *path, const char *query, const char *body,
                      size_t body_len, char out[65])
{
    sha256_ctx c;
    sha256_init(&c);
    const char *parts[3] = {method ? method : "", path ? path : "", query ? query : ""};
    for (int i = 0; i < 3; i++) {
        sha256_update(&c, parts[i], strlen(parts[i]));
        sha256_update(&c, "\n", 1);
    }
    if (body && body_len) sha256_update(&c, body, body_len);
    sha256_hex(&c, out);
}

/* Claim the key, or report what is there. Atomic, so of concurrent first requests exactly
 * one sees 0 (the same guarantee as SET NX). Returns 0 when claimed, otherwise the stored
 * {state, fp, status, ctype, body}. */
static const char k_claim_lua[] =
    "local cur = redis.call('HMGET', KEYS[1], 'state', 'fp', 'status', 'ctype', 'body', 'hdrs') "
    "if cur[1] then return cur end "
    "redis.call('HSET', KEYS[1], 'state', 'in_flight', 'fp', ARGV[1], 'token', ARGV[2]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[3]) "
    "return 0";
static const char k_complete_lua[] =
    "if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end "
    "redis.call('HSET', KEYS[1], 'state', 'completed', 'status', ARGV[2], 'ctype', ARGV[3], "
    "'body', ARGV[4], 'hdrs', ARGV[6]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[5]) "
    "return 1";
static const char k_abort_lua[] =
    "if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

#define IDEM_MAX_HEADERS_LEN 2048 /* recorded "Name: value\n" lines of one answer */

typedef struct idem_claim {
    rds_pool *rds;
    char key[400];
    char token[RDS_TOKEN_LEN];
} idem_claim;

/* Headers a handler set that are part of the answer (Location, ...), as "Name: value\n"
 * lines for the record. Connection handling is per connection, never replayed. */
static void headers_record(const http_req *req, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < req->nhdrs; i++) {
        const char *name = req->hdrs[i].name, *value = req->hdrs[i].value;
        if (!strcasecmp(name, "Connection") || strpbrk(name, ":\r\n") || strpbrk(value, "\r\n"))
            continue;
        int k = snprintf(out + len, n - len, "%s: %s\n", name, value);
        if (k < 0 || (size_t)k >= n - len) { /* does not fit: drop this one whole */
            out[len] = '\0';
            log_warn("idempotency record: header %s not stored (too long)", name);
            continue;
        }
        len += (size_t)k;
    }
}

/* Adds the recorded headers to the replayed answer. */
static void headers_replay(http_req *req, const char *rec, size_t len)
{
    char line[IDEM_MAX_HEADERS_LEN];
    const char *p = rec, *end = rec + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n < sizeof line) {
            memcpy(line, p, n);
            line[n] = '\0';
            char *colon = strstr(line, ": ");
            if (colon) {
                *colon = '\0';
                http_resp_header(req, line, colon + 2);
            }
        }
        p += n + 1;
    }
}

/* Answers a retry must not see again: 5xx (our failure) and 429 (busy right now) are
 * retryable by contract (docs/development.md), so the marker is dropped and the retry runs. */
static bool idem_retryable_status(int status)
{
    return status >= 500 || status < 100 || status == 429;
}

static void on_finish(http_req *req, void *ctx)
{
    idem_claim *cl = ctx;
    rds_conn *c;
    if (rds_acquire(cl->rds, &c) == 0) {
        redisReply *r;
        if (idem_retryable_status(req->status)) {
            r = rds_command(c, "EVAL %s 1 %s %s", k_abort_lua, cl->key, cl->token);
        } else {
            char st[16], hdrs[IDEM_MAX_HEADERS_LEN];
            snprintf(st, sizeof st, "%d", req->status);
            headers_record(req, hdrs, sizeof hdrs);
            r = rds_command(c, "EVAL %s 1 %s %s %s %s %b %d %s", k_complete_lua, cl->key,
                            cl->token, st, req->resp_ctype,
                            req->resp_body ? req->resp_body : "", req->resp_len, IDEM_TTL_S,
                            hdrs);
        }
        if (!r || r->type == REDIS_REPLY_ERROR)
            log_warn("idempotency record for %s failed: %s", cl->key,
                     r ? r->str : "redis unreachable");
        if (r) freeReplyObject(r);
        rds_release(cl->rds, c);
    } else {
        log_warn("idempotency record for %s failed: redis unreachable", cl->key);
    }
    free(cl);
}

static const char *elem_str(const redisReply *r, size_t i, size_t *len)
{
    if (i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING) return NULL;
    if (len) *len = r->element[i]->len;
    return r->element[i]->str;
}

int idem_begin(http_req *req, rds_pool *rds, const char *service)
{
    if (!http_req_header(req, "Idempotency-Key")) return IDEM_PROCEED;
    const char *key = http_req_idempotency_key(req);
    if (!key) {
        /* Running it without the protection the client asked for could charge twice. */
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION,
                             "Idempotency-Key must be 1..255 printable characters without spaces");
        return IDEM_ANSWERED;
    }
    char fp[65];
    char *query = http_req_query_string(req);
    bool have_fp = query != NULL;
    if (have_fp) idem_fingerprint(req->method, req->path, query, req->body, req->body_len, fp);
    free(query);

    idem_claim *cl = have_fp ? calloc(1, sizeof *cl) : NULL;
    if (!cl) {
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE, "out of memory");
        return IDEM_ANSWERED;
    }
    cl->rds = rds;
    snprintf(cl->key, sizeof cl->key, "idempotency:%s:%s", service, key);
    rds_random_token(cl->token);

    rds_conn *c;
    redisReply *r = NULL;
    if (rds_acquire(rds, &c) == 0) {
        r = rds_command(c, "EVAL %s 1 %s %s %s %d", k_claim_lua, cl->key, fp, cl->token,
                        IDEM_INFLIGHT_TTL_S);
        rds_release(rds, c);
    }
    if (!r || r->type == REDIS_REPLY_ERROR) {
        log_warn("idempotency check for %s failed: %s", cl->key, r ? r->str : "redis unreachable");
        if (r) freeReplyObject(r);
        free(cl);
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                             "idempotency store unavailable, retry later");
        return IDEM_ANSWERED;
    }
    if (r->type == REDIS_REPLY_INTEGER) { /* claimed: record the answer when it is final */
        freeReplyObject(r);
        req->finish_hook = on_finish;
        req->finish_ctx = cl;
        return IDEM_PROCEED;
    }
    free(cl);
    const char *state = elem_str(r, 0, NULL), *stored_fp = elem_str(r, 1, NULL);
    if (!stored_fp || strcmp(stored_fp, fp)) {
        http_respond_problem(req, 422, HTTP_CODE_IDEM_REUSED,
                             "Idempotency-Key %.100s was already used for a different request", key);
    } else if (!state || strcmp(state, "completed")) {
        http_resp_header(req, "Retry-After", "1");
        http_respond_problem(req, 409, HTTP_CODE_IDEM_IN_FLIGHT,
                             "a request with Idempotency-Key %.100s is still being processed", key);
    } else {
        size_t blen = 0, hlen = 0;
        const char *st = elem_str(r, 2, NULL), *ct = elem_str(r, 3, NULL),
                   *body = elem_str(r, 4, &blen), *hdrs = elem_str(r, 5, &hlen);
        int status = st ? atoi(st) : 200;
        if (hdrs) headers_replay(req, hdrs, hlen); /* records made before headers were kept have none */
        http_resp_header(req, "Idempotent-Replayed", "true");
        http_respond_raw(req, status, ct && *ct ? ct : NULL, body, body ? blen : 0);
    }
    freeReplyObject(r);
    return IDEM_ANSWERED;
}
