/* idem.c — Idempotency-Key: claim atomically in Redis, replay completed answers, refuse
 * reuse with a different request. Must never let two requests with one key both run. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_error.h"
#include "cm_idem.h"
#include "cm_log.h"
#include "http_internal.h"
#include "idem_internal.h"
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
    if (body && body_len)
        sha256_update(&c, body, body_len);
    sha256_hex(&c, out);
}

/* The record of a key is one Redis string (binary safe):
 *   state ('I' in flight, 'C' completed), fp (64 hex), token (32 hex)
 * and, once completed: status (3 digits), content type, '\n', length of the header lines in
 * decimal, '\n', the header lines, the body (the rest). The claim is one
 * SET key record NX GET PX <in-flight TTL>: atomic, so of concurrent first requests exactly one
 * gets nil (claimed); the others get the record. Completing and aborting check the owner token
 * in a script, run by EVALSHA (no script text sent or hashed per call). Each idempotent request
 * thus costs Redis 4 commands and one script run (was 8 and two: HMGET / HSET / EXPIRE in
 * a claim script and HGET / HSET / EXPIRE in a completion script). The in-flight TTL is short
 * (seconds) so that the marker of a process that died goes soon; while the request lives, the
 * renewer (idem_renew.c) resets it, which costs nothing for a request shorter than a quarter
 * of the TTL.
 * Records written before this layout are hashes (state, fp, status, ctype, body, hdrs): a
 * claim on one fails with WRONGTYPE and the hash is read and answered from (replay, 409,
 * 422) for as long as it lives (at most 24 h). */
#define REC_STATE  0
#define REC_FP     1
#define REC_TOKEN  65
#define REC_HEAD   97 /* state + fp + token */
#define REC_STATUS REC_HEAD

static const char k_complete_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v and string.sub(v, 66, 97) == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end "
    "return 0";
static const char k_abort_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v and string.sub(v, 66, 97) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

static idem_script g_complete = {k_complete_lua, PTHREAD_MUTEX_INITIALIZER, ""};
static idem_script g_abort = {k_abort_lua, PTHREAD_MUTEX_INITIALIZER, ""};

redisReply *idem_run_script(rds_conn *c, idem_script *s, const char *key, int nargs,
                            const char **args, const size_t *lens)
{
    char sha[41];
    pthread_mutex_lock(&s->mu);
    memcpy(sha, s->sha, sizeof sha);
    pthread_mutex_unlock(&s->mu);
    if (!sha[0]) {
        redisReply *r = rds_command(c, "SCRIPT LOAD %s", s->body);
        if (!r)
            return NULL;
        if (r->type == REDIS_REPLY_STRING && r->len == 40) {
            memcpy(sha, r->str, 40);
            sha[40] = '\0';
            pthread_mutex_lock(&s->mu);
            memcpy(s->sha, sha, sizeof sha);
            pthread_mutex_unlock(&s->mu);
        }
        freeReplyObject(r);
    }
    if (nargs > 4)
        nargs = 4;
    const char *argv[8] = {"EVALSHA", sha, "1", key};
    size_t argl[8] = {7, strlen(sha), 1, strlen(key)};
    for (int i = 0; i < nargs; i++) {
        argv[4 + i] = args[i];
        argl[4 + i] = lens[i];
    }
    if (sha[0]) {
        redisReply *r = rds_command_argv(c, 4 + nargs, argv, argl);
        if (!r || r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8))
            return r;
        freeReplyObject(r);
    }
    argv[0] = "EVAL";
    argl[0] = 4;
    argv[1] = s->body;
    argl[1] = strlen(s->body);
    return rds_command_argv(c, 4 + nargs, argv, argl);
}

#define IDEM_MAX_HEADERS_LEN 2048 /* recorded "Name: value\n" lines of one answer */

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

/* The completed record: head (state 'C'), status, ctype '\n', hdrs length '\n', hdrs, body.
 * Returns a malloc'd buffer and its length, or NULL. */
static char *record_completed(const idem_claim *cl, const http_req *req, size_t *len)
{
    char hdrs[IDEM_MAX_HEADERS_LEN], mid[128];
    headers_record(req, hdrs, sizeof hdrs);
    size_t hlen = strlen(hdrs), blen = req->resp_body ? req->resp_len : 0;
    const char *ct = strchr(req->resp_ctype, '\n') ? "" : req->resp_ctype;
    int m = snprintf(mid, sizeof mid, "%03d%s\n%zu\n", req->status % 1000, ct, hlen);
    if (m < 0 || (size_t)m >= sizeof mid)
        return NULL;
    *len = REC_HEAD + (size_t)m + hlen + blen;
    char *rec = malloc(*len);
    if (!rec)
        return NULL;
    rec[REC_STATE] = 'C';
    memcpy(rec + REC_FP, cl->fp, 64);
    memcpy(rec + REC_TOKEN, cl->token, 32);
    memcpy(rec + REC_HEAD, mid, (size_t)m);
    memcpy(rec + REC_HEAD + m, hdrs, hlen);
    if (blen)
        memcpy(rec + REC_HEAD + m + hlen, req->resp_body, blen);
    return rec;
}

static void on_finish(http_req *req, void *ctx)
{
    idem_claim *cl = ctx;
    idem_renew_untrack(cl); /* first: the renewer must not touch the marker being replaced */
    rds_conn *c;
    if (rds_acquire(cl->rds, &c) == 0) {
        redisReply *r = NULL;
        if (idem_retryable_status(req->status)) {
            const char *a[1] = {cl->token};
            size_t l[1] = {32};
            r = idem_run_script(c, &g_abort, cl->key, 1, a, l);
        } else {
            size_t rlen = 0;
            char *rec = record_completed(cl, req, &rlen);
            char ttl[16];
            snprintf(ttl, sizeof ttl, "%d", IDEM_TTL_S);
            const char *a[3] = {cl->token, rec, ttl};
            size_t l[3] = {32, rlen, strlen(ttl)};
            if (rec)
                r = idem_run_script(c, &g_complete, cl->key, 3, a, l);
            else
                log_warn("idempotency record for %s: out of memory", cl->key);
            free(rec);
        }
        if (r && r->type == REDIS_REPLY_ERROR)
            log_warn("idempotency record for %s failed: %s", cl->key, r->str);
        else if (!r)
            log_warn("idempotency record for %s failed: redis unreachable", cl->key);
        if (r)
            freeReplyObject(r);
        rds_release(cl->rds, c);
    } else {
        log_warn("idempotency record for %s failed: redis unreachable", cl->key);
    }
    free(cl);
}

static const char *elem_str(const redisReply *r, size_t i, size_t *len)
{
    if (i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
        return NULL;
    if (len)
        *len = r->element[i]->len;
    return r->element[i]->str;
}

/* A stored answer, pointing into a reply. */
typedef struct stored_answer {
    bool completed;
    const char *fp; /* 64 hex chars, not terminated; NULL when unreadable */
    int status;
    char ctype[64];
    const char *hdrs, *body;
    size_t hlen, blen;
} stored_answer;

/* Parses a string record (layout above). An unreadable one has fp NULL (answered 422). */
static void stored_from_record(const redisReply *r, stored_answer *a)
{
    memset(a, 0, sizeof *a);
    a->status = 200;
    if (r->type != REDIS_REPLY_STRING || r->len < REC_HEAD)
        return;
    const char *p = r->str, *end = r->str + r->len;
    a->fp = p + REC_FP;
    a->completed = p[REC_STATE] == 'C';
    if (!a->completed)
        return;
    p += REC_STATUS;
    const char *nl = end - p > 3 ? memchr(p + 3, '\n', (size_t)(end - p - 3)) : NULL;
    if (!nl)
        goto bad;
    a->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    snprintf(a->ctype, sizeof a->ctype, "%.*s", (int)(nl - p - 3), p + 3);
    p = nl + 1;
    char *after;
    unsigned long long hlen = strtoull(p, &after, 10);
    if (after >= end || *after != '\n' || hlen > (unsigned long long)(end - after - 1))
        goto bad;
    a->hdrs = after + 1;
    a->hlen = (size_t)hlen;
    a->body = a->hdrs + a->hlen;
    a->blen = (size_t)(end - a->body);
    return;
bad:
    a->fp = NULL;
}

/* A record of the earlier hash layout: HMGET state fp status ctype body hdrs. */
static void stored_from_hash(const redisReply *r, stored_answer *a)
{
    memset(a, 0, sizeof *a);
    size_t fplen = 0;
    const char *state = elem_str(r, 0, NULL), *st = elem_str(r, 2, NULL),
               *ct = elem_str(r, 3, NULL);
    a->fp = elem_str(r, 1, &fplen);
    if (fplen != 64)
        a->fp = NULL;
    a->completed = state && !strcmp(state, "completed");
    a->status = st ? atoi(st) : 200;
    snprintf(a->ctype, sizeof a->ctype, "%s", ct ? ct : "");
    a->body = elem_str(r, 4, &a->blen);
    a->hdrs = elem_str(r, 5, &a->hlen);
}

int idem_begin(http_req *req, rds_pool *rds, const char *service)
{
    if (!http_req_header(req, "Idempotency-Key"))
        return IDEM_PROCEED;
    const char *key = http_req_idempotency_key(req);
    if (!key) {
        /* Running it without the protection the client asked for could charge twice. */
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", HTTP_IDEM_KEY_RULE);
        return IDEM_ANSWERED;
    }
    char *query = http_req_query_string(req);
    idem_claim *cl = query ? calloc(1, sizeof *cl) : NULL;
    if (!cl) {
        free(query);
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE, "out of memory");
        return IDEM_ANSWERED;
    }
    idem_fingerprint(req->method, req->path, query, req->body, req->body_len, cl->fp);
    free(query);
    cl->rds = rds;
    snprintf(cl->key, sizeof cl->key, "idempotency:%s:%s", service, key);
    rds_random_token(cl->token);

    char rec[REC_HEAD], ttl[16];
    rec[REC_STATE] = 'I';
    memcpy(rec + REC_FP, cl->fp, 64);
    memcpy(rec + REC_TOKEN, cl->token, 32);
    snprintf(ttl, sizeof ttl, "%d", idem_inflight_ttl_ms());
    const char *argv[7] = {"SET", cl->key, rec, "NX", "GET", "PX", ttl};
    size_t argl[7] = {3, strlen(cl->key), REC_HEAD, 2, 3, 2, strlen(ttl)};

    rds_conn *c;
    redisReply *r = NULL;
    bool legacy = false;
    if (rds_acquire(rds, &c) == 0) {
        r = rds_command_argv(c, 7, argv, argl);
        if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "WRONGTYPE", 9)) {
            freeReplyObject(r); /* a record of the hash layout */
            r = rds_command(c, "HMGET %s state fp status ctype body hdrs", cl->key);
            legacy = true;
        }
        rds_release(rds, c);
    }
    if (!r || r->type == REDIS_REPLY_ERROR) {
        log_warn("idempotency check for %s failed: %s", cl->key, r ? r->str : "redis unreachable");
        if (r)
            freeReplyObject(r);
        free(cl);
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                             "idempotency store unavailable, retry later");
        return IDEM_ANSWERED;
    }
    if (r->type == REDIS_REPLY_NIL) { /* claimed: record the answer when it is final */
        freeReplyObject(r);
        idem_renew_track(cl);
        req->finish_hook = on_finish;
        req->finish_ctx = cl;
        return IDEM_PROCEED;
    }
    stored_answer a;
    if (legacy)
        stored_from_hash(r, &a);
    else
        stored_from_record(r, &a);
    if (!a.fp || strncmp(a.fp, cl->fp, 64)) {
        http_respond_problem(req, 422, HTTP_CODE_IDEM_REUSED,
                             "Idempotency-Key %.100s was already used for a different request",
                             key);
    } else if (!a.completed) {
        http_resp_header(req, "Retry-After", "1");
        http_respond_problem(req, 409, HTTP_CODE_IDEM_IN_FLIGHT,
                             "a request with Idempotency-Key %.100s is still being processed", key);
    } else {
        if (a.hdrs)
            headers_replay(req, a.hdrs, a.hlen); /* old records may have none */
        http_resp_header(req, "Idempotent-Replayed", "true");
        http_respond_raw(req, a.status, a.ctype[0] ? a.ctype : NULL, a.body, a.body ? a.blen : 0);
    }
    free(cl);
    freeReplyObject(r);
    return IDEM_ANSWERED;
}
