/* redis.c — hiredis connection pool, owner-token lock, expiring counting semaphore.
 * Must not hand one redisContext to two threads; a context that failed is never reused. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cm_error.h"
#include "cm_log.h"
#include "cm_redis.h"
#include "slots.h"
#include "util.h"

struct rds_conn {
    redisContext *c;
    bool broken;
};

#define RDS_IDLE_PING_S 10 /* a connection idle this long is pinged before use */

struct rds_pool {
    slots slots; /* which conns are lent */
    char *host;
    int port;
    char *username;            /* NULL: AUTH <password> (the default user) */
    char *password;            /* NULL: no AUTH */
    atomic_bool warned_noauth; /* "server has no password" logged once */
    int timeout_ms;
    int size;
    rds_conn *conns;
};

int rds_pool_new(const char *host, int port, int size, int timeout_ms, rds_pool **out)
{
    *out = NULL;
    if (!host || port <= 0 || size < 1)
        return CM_ERR_INVALID;
    rds_pool *p = calloc(1, sizeof *p);
    if (!p)
        return CM_ERR_NOMEM;
    p->host = strdup(host);
    p->conns = calloc((size_t)size, sizeof *p->conns);
    p->size = size;
    if (!p->host || !p->conns || slots_init(&p->slots, size) != 0) {
        rds_pool_free(p);
        return CM_ERR_NOMEM;
    }
    p->port = port;
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    *out = p;
    return 0;
}

/* Free a secret after overwriting it, so it does not linger in freed heap memory. */
static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

int rds_pool_set_auth(rds_pool *p, const char *username, const char *password)
{
    char *u = (username && *username) ? strdup(username) : NULL;
    char *pw = (password && *password) ? strdup(password) : NULL;
    if ((username && *username && !u) || (password && *password && !pw)) {
        free(u);
        free_secret(pw);
        return CM_ERR_NOMEM;
    }
    free(p->username);
    free_secret(p->password);
    p->username = u;
    p->password = pw;
    return 0;
}

void rds_pool_free(rds_pool *p)
{
    if (!p)
        return;
    slots_destroy(&p->slots, "rds_pool_free");
    for (int i = 0; p->conns && i < p->size; i++)
        if (p->conns[i].c)
            redisFree(p->conns[i].c);
    free(p->host);
    free(p->username);
    free_secret(p->password);
    free(p->conns);
    free(p);
}

/* AUTH on a fresh connection. The password goes out as one binary-safe argument and is never
 * logged; the server's error text (WRONGPASS ...) does not contain it. A server without a
 * password refuses AUTH yet serves the commands: warn once and go on. */
static int authenticate(rds_pool *p, redisContext *c)
{
    if (!p->password)
        return 0;
    const char *argv[3] = {"AUTH", p->username ? p->username : p->password, p->password};
    size_t lens[3] = {4, strlen(argv[1]), strlen(argv[2])};
    redisReply *r = redisCommandArgv(c, p->username ? 3 : 2, argv, lens);
    if (!r) {
        log_warn("redis %s:%d: AUTH failed: %s", p->host, p->port, c->errstr);
        return CM_ERR_IO;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        if (strstr(r->str, "without any password configured")) {
            if (!atomic_exchange(&p->warned_noauth, true))
                log_warn("redis %s:%d has no password but REDIS_PASSWORD is set: anyone who "
                         "reaches it can use it (start it with requirepass)",
                         p->host, p->port);
        } else {
            log_error("redis %s:%d refused REDIS_USERNAME/REDIS_PASSWORD: %.120s", p->host, p->port,
                      r->str);
            rc = CM_ERR_IO;
        }
    }
    freeReplyObject(r);
    return rc;
}

static int connect_conn(rds_pool *p, rds_conn *c)
{
    if (c->c)
        redisFree(c->c);
    struct timeval tv = {p->timeout_ms / 1000, (p->timeout_ms % 1000) * 1000};
    c->c = redisConnectWithTimeout(p->host, p->port, tv);
    if (!c->c || c->c->err) {
        log_warn("redis %s:%d unreachable: %s", p->host, p->port,
                 c->c ? c->c->errstr : "out of memory");
        if (c->c)
            redisFree(c->c);
        c->c = NULL;
        return CM_ERR_IO;
    }
    redisSetTimeout(c->c, tv);
    if (authenticate(p, c->c)) {
        redisFree(c->c);
        c->c = NULL;
        return CM_ERR_IO;
    }
    c->broken = false;
    return 0;
}

int rds_acquire(rds_pool *p, rds_conn **out)
{
    int idle_s = 0;
    rds_conn *c = &p->conns[slots_take(&p->slots, &idle_s)];
    *out = NULL;
    /* A link idle for a while may be dead (server restart, idle kill): find out now rather
     * than failing the caller's command. */
    if (c->c && !c->broken && !c->c->err && idle_s >= RDS_IDLE_PING_S) {
        redisReply *r = redisCommand(c->c, "PING");
        if (!r || r->type == REDIS_REPLY_ERROR)
            c->broken = true;
        if (r)
            freeReplyObject(r);
    }
    if ((!c->c || c->broken || c->c->err) && connect_conn(p, c)) {
        rds_release(p, c);
        return CM_ERR_IO;
    }
    *out = c;
    return 0;
}

void rds_release(rds_pool *p, rds_conn *c)
{
    if (!c)
        return;
    slots_give(&p->slots, (int)(c - p->conns), c->c != NULL && !c->broken && !c->c->err);
}

redisContext *rds_ctx(rds_conn *c)
{
    return c->c;
}

/* A reply, or NULL after marking the link broken (a transport error leaves it unusable). */
static redisReply *checked(rds_conn *c, redisReply *r)
{
    if (!r) {
        log_warn("redis command failed: %s", c->c->errstr);
        c->broken = true;
    }
    return r;
}

static redisReply *vcommand(rds_conn *c, const char *fmt, va_list ap)
{
    if (!c->c || c->broken)
        return NULL;
    return checked(c, redisvCommand(c->c, fmt, ap));
}

redisReply *rds_command(rds_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *rds_command_argv(rds_conn *c, int argc, const char **argv, const size_t *argvlen)
{
    if (!c->c || c->broken)
        return NULL;
    return checked(c, redisCommandArgv(c->c, argc, argv, argvlen));
}

int rds_ping(rds_pool *p)
{
    rds_conn *c;
    if (rds_acquire(p, &c))
        return CM_ERR_IO;
    redisReply *r = rds_command(c, "PING");
    int rc = (r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG")) ? 0 : CM_ERR_IO;
    if (r)
        freeReplyObject(r);
    rds_release(p, c);
    return rc;
}

void rds_random_token(char tok[RDS_TOKEN_LEN])
{
    cm_random_hex(tok, RDS_TOKEN_LEN - 1);
}

/* ---- helpers ---- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep a short random while (5..25 ms) so waiters do not retry in lockstep. */
static void backoff(void)
{
    char h[3];
    cm_random_hex(h, 2);
    usleep((useconds_t)(5000 + (strtol(h, NULL, 16) % 20) * 1000));
}

/* Run a command through the pool; returns the reply or NULL (transport error). */
static redisReply *pool_cmd(rds_pool *p, const char *fmt, ...)
{
    rds_conn *c;
    if (rds_acquire(p, &c))
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, fmt, ap);
    va_end(ap);
    rds_release(p, c);
    return r;
}

static redisReply *pool_argv(rds_pool *p, int argc, const char **argv, const size_t *lens)
{
    rds_conn *c;
    if (rds_acquire(p, &c))
        return NULL;
    redisReply *r = rds_command_argv(c, argc, argv, lens);
    rds_release(p, c);
    return r;
}

/* Integer reply value, or an error code for error / transport failure. */
static int reply_int(redisReply *r, long long *out)
{
    if (!r)
        return CM_ERR_IO;
    int rc = 0;
    if (r->type == REDIS_REPLY_INTEGER)
        *out = r->integer;
    else {
        if (r->type == REDIS_REPLY_ERROR)
            log_warn("redis error: %s", r->str);
        rc = CM_ERR_REDIS;
    }
    freeReplyObject(r);
    return rc;
}

/* ---- lock ---- */

static const char k_unlock_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";
static const char k_extend_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                   "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

int rds_lock_acquire(rds_pool *p, const char *key, int lease_ms, int wait_ms,
                     char token[RDS_TOKEN_LEN])
{
    if (lease_ms <= 0)
        return CM_ERR_INVALID;
    char tok[RDS_TOKEN_LEN];
    rds_random_token(tok);
    long long deadline = now_ms() + (wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        redisReply *r = pool_cmd(p, "SET %s %s NX PX %d", key, tok, lease_ms);
        if (!r)
            return CM_ERR_IO;
        bool ok = r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK");
        bool err = r->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (ok) {
            memcpy(token, tok, RDS_TOKEN_LEN);
            return 0;
        }
        if (err)
            return CM_ERR_REDIS;
        if (now_ms() >= deadline)
            return CM_ERR_BUSY;
        backoff();
    }
}

int rds_lock_release(rds_pool *p, const char *key, const char *token)
{
    long long n = 0;
    int rc = reply_int(pool_cmd(p, "EVAL %s 1 %s %s", k_unlock_lua, key, token), &n);
    if (rc)
        return rc;
    return n == 1 ? 0 : CM_ERR_NOT_FOUND;
}

int rds_lock_extend(rds_pool *p, const char *key, const char *token, int lease_ms)
{
    long long n = 0;
    int rc = reply_int(pool_cmd(p, "EVAL %s 1 %s %s %d", k_extend_lua, key, token, lease_ms), &n);
    if (rc)
        return rc;
    return n == 1 ? 0 : CM_ERR_NOT_FOUND;
}

/* ---- semaphore ---- */

/* Server time keeps every client on one clock; scripts may call TIME since Redis 5
 * (effects replication). The key lives as long as its longest lease. */
static const char k_sem_acquire_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "
    "if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then "
    "  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3]) "
    "  local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES') "
    "  redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(top[2]) - now + 1000)) "
    "  return 1 "
    "end "
    "return 0";
static const char k_sem_count_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "
    "return redis.call('ZCARD', KEYS[1])";

int rds_sem_acquire(rds_pool *p, const char *key, int limit, int lease_ms, int wait_ms,
                    char token[RDS_TOKEN_LEN])
{
    if (limit < 1 || lease_ms <= 0)
        return CM_ERR_INVALID;
    char tok[RDS_TOKEN_LEN];
    rds_random_token(tok);
    long long deadline = now_ms() + (wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        long long got = 0;
        int rc = reply_int(
            pool_cmd(p, "EVAL %s 1 %s %d %d %s", k_sem_acquire_lua, key, limit, lease_ms, tok),
            &got);
        if (rc)
            return rc;
        if (got == 1) {
            memcpy(token, tok, RDS_TOKEN_LEN);
            return 0;
        }
        if (now_ms() >= deadline)
            return CM_ERR_BUSY;
        backoff();
    }
}

int rds_sem_release(rds_pool *p, const char *key, const char *token)
{
    long long n = 0;
    int rc = reply_int(pool_cmd(p, "ZREM %s %s", key, token), &n);
    if (rc)
        return rc;
    return n == 1 ? 0 : CM_ERR_NOT_FOUND;
}

int rds_sem_count(rds_pool *p, const char *key, int *out)
{
    long long n = 0;
    int rc = reply_int(pool_cmd(p, "EVAL %s 1 %s", k_sem_count_lua, key), &n);
    if (rc == 0)
        *out = (int)n;
    return rc;
}

/* ---- streams ---- */

const char *rds_entry_get(const rds_stream_entry *e, const char *field)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (!strcmp(e->fields[i], field))
            return e->values[i];
    return NULL;
}

void rds_stream_batch_free(rds_stream_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        for (size_t j = 0; j < b->entries[i].nfields; j++) {
            free(b->entries[i].fields[j]);
            free(b->entries[i].values[j]);
        }
        free(b->entries[i].fields);
        free(b->entries[i].values);
    }
    free(b->entries);
    b->entries = NULL;
    b->n = 0;
}

/* Append the entries of an array reply [[id, [f, v, ...]], ...] to b. */
static int parse_entries(const redisReply *arr, rds_stream_batch *b)
{
    if (!arr || arr->type != REDIS_REPLY_ARRAY)
        return 0;
    if (arr->elements == 0)
        return 0;
    rds_stream_entry *ne = realloc(b->entries, (b->n + arr->elements) * sizeof *ne);
    if (!ne)
        return CM_ERR_NOMEM;
    b->entries = ne;
    for (size_t i = 0; i < arr->elements; i++) {
        const redisReply *it = arr->element[i];
        if (!it || it->type != REDIS_REPLY_ARRAY || it->elements < 2)
            continue;
        const redisReply *id = it->element[0], *kv = it->element[1];
        rds_stream_entry *e = &b->entries[b->n];
        memset(e, 0, sizeof *e);
        if (id->type != REDIS_REPLY_STRING)
            continue;
        snprintf(e->id, sizeof e->id, "%s", id->str);
        size_t nf = (kv && kv->type == REDIS_REPLY_ARRAY) ? kv->elements / 2 : 0;
        if (nf) {
            e->fields = calloc(nf, sizeof *e->fields);
            e->values = calloc(nf, sizeof *e->values);
            if (!e->fields || !e->values) {
                free(e->fields);
                free(e->values);
                return CM_ERR_NOMEM;
            }
        }
        b->n++; /* counted now so rds_stream_batch_free releases partial fields */
        for (size_t j = 0; j < nf; j++) {
            const redisReply *f = kv->element[2 * j], *v = kv->element[2 * j + 1];
            e->fields[j] = strndup(f->str ? f->str : "", f->str ? f->len : 0);
            e->values[j] = strndup(v->str ? v->str : "", v->str ? v->len : 0);
            e->nfields = j + 1;
            if (!e->fields[j] || !e->values[j])
                return CM_ERR_NOMEM;
        }
    }
    return 0;
}

int rds_xadd(rds_pool *p, const char *stream, size_t nfields, const char *const *fields,
             const char *const *values, char *id_out, size_t idn)
{
    if (nfields == 0 || nfields > 64)
        return CM_ERR_INVALID;
    const char *argv[3 + 2 * 64];
    size_t lens[3 + 2 * 64];
    int argc = 0;
    argv[argc] = "XADD";
    lens[argc++] = 4;
    argv[argc] = stream;
    lens[argc++] = strlen(stream);
    argv[argc] = "*";
    lens[argc++] = 1;
    for (size_t i = 0; i < nfields; i++) {
        argv[argc] = fields[i];
        lens[argc++] = strlen(fields[i]);
        argv[argc] = values[i] ? values[i] : "";
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    redisReply *r = pool_argv(p, argc, argv, lens);
    if (!r)
        return CM_ERR_IO;
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING) {
        if (id_out && idn)
            snprintf(id_out, idn, "%s", r->str);
    } else {
        log_warn("XADD %s: %s", stream, r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        rc = CM_ERR_REDIS;
    }
    freeReplyObject(r);
    return rc;
}

int rds_xadd_batch(rds_pool *p, const char *stream, size_t n, size_t nfields,
                   const char *const *fields, const char *const *values, size_t *added)
{
    *added = 0;
    if (nfields == 0 || nfields > 64 || n > RDS_XADD_BATCH_MAX)
        return CM_ERR_INVALID;
    if (n == 0)
        return 0;
    rds_conn *c;
    if (rds_acquire(p, &c))
        return CM_ERR_IO;
    int rc = 0;
    size_t queued = 0;
    const char *argv[3 + 2 * 64];
    size_t lens[3 + 2 * 64];
    argv[0] = "XADD";
    lens[0] = 4;
    argv[1] = stream;
    lens[1] = strlen(stream);
    argv[2] = "*";
    lens[2] = 1;
    for (; queued < n; queued++) { /* buffered by hiredis; written by the first GetReply */
        int argc = 3;
        for (size_t k = 0; k < nfields; k++) {
            const char *v = values[queued * nfields + k];
            argv[argc] = fields[k];
            lens[argc++] = strlen(fields[k]);
            argv[argc] = v ? v : "";
            lens[argc] = strlen(argv[argc]);
            argc++;
        }
        if (redisAppendCommandArgv(c->c, argc, argv, lens) != REDIS_OK) {
            rc = CM_ERR_NOMEM;
            c->broken = true; /* part of a command may be buffered: never reuse */
            rds_release(p, c);
            return rc; /* nothing was written yet, so nothing was added */
        }
    }
    for (size_t i = 0; i < queued; i++) {
        void *v = NULL;
        if (redisGetReply(c->c, &v) != REDIS_OK || !v) {
            log_warn("XADD %s (pipelined): %s", stream, c->c->errstr);
            c->broken = true;
            rc = CM_ERR_IO;
            break;
        }
        redisReply *r = v;
        if (r->type == REDIS_REPLY_STRING) {
            if (rc == 0)
                (*added)++;
        } else if (rc == 0) {
            log_warn("XADD %s: %s", stream, r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
            rc = CM_ERR_REDIS; /* keep reading so the connection stays in step */
        }
        freeReplyObject(r);
    }
    rds_release(p, c);
    return rc;
}

int rds_xgroup_create(rds_pool *p, const char *stream, const char *group, const char *start_id)
{
    redisReply *r =
        pool_cmd(p, "XGROUP CREATE %s %s %s MKSTREAM", stream, group, start_id ? start_id : "$");
    if (!r)
        return CM_ERR_IO;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9)) {
        log_warn("XGROUP CREATE %s %s: %s", stream, group, r->str);
        rc = CM_ERR_REDIS;
    }
    freeReplyObject(r);
    return rc;
}

int rds_xreadgroup(rds_pool *p, const char *stream, const char *group, const char *consumer,
                   const char *id, int count, int block_ms, rds_stream_batch *out)
{
    memset(out, 0, sizeof *out);
    redisReply *r;
    if (count < 1)
        count = 1;
    rds_conn *c;
    if (rds_acquire(p, &c))
        return CM_ERR_IO;
    if (block_ms > 0) {
        /* The socket timeout must outlast the server-side BLOCK, or a quiet stream would look
         * like a dead connection. */
        long long t = (long long)block_ms + p->timeout_ms;
        struct timeval tv = {(time_t)(t / 1000), (suseconds_t)((t % 1000) * 1000)};
        redisSetTimeout(c->c, tv);
        r = rds_command(c, "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s %s", group,
                        consumer, count, block_ms, stream, id);
        struct timeval dflt = {p->timeout_ms / 1000, (p->timeout_ms % 1000) * 1000};
        if (r)
            redisSetTimeout(c->c, dflt);
    } else {
        r = rds_command(c, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s %s", group, consumer, count,
                        stream, id);
    }
    rds_release(p, c);
    if (!r)
        return CM_ERR_IO;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        log_warn("XREADGROUP %s: %s", stream, r->str);
        rc = CM_ERR_REDIS;
    } else if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements && rc == 0; i++) {
            const redisReply *s = r->element[i];
            if (s->type == REDIS_REPLY_ARRAY && s->elements == 2)
                rc = parse_entries(s->element[1], out);
        }
    }
    freeReplyObject(r);
    if (rc)
        rds_stream_batch_free(out);
    return rc;
}

int rds_xack(rds_pool *p, const char *stream, const char *group, const char *id)
{
    long long n = 0;
    return reply_int(pool_cmd(p, "XACK %s %s %s", stream, group, id), &n);
}

int rds_xautoclaim(rds_pool *p, const char *stream, const char *group, const char *consumer,
                   long long min_idle_ms, const char *start, int count, rds_stream_batch *out,
                   char *next_start, size_t nn)
{
    memset(out, 0, sizeof *out);
    if (count < 1)
        count = 1;
    redisReply *r = pool_cmd(p, "XAUTOCLAIM %s %s %s %lld %s COUNT %d", stream, group, consumer,
                             min_idle_ms, start ? start : "0-0", count);
    if (!r)
        return CM_ERR_IO;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        log_warn("XAUTOCLAIM %s: %s", stream, r->str);
        rc = CM_ERR_REDIS;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
        if (next_start && nn)
            snprintf(next_start, nn, "%s", r->element[0]->str ? r->element[0]->str : "0-0");
        rc = parse_entries(r->element[1], out);
    } else {
        rc = CM_ERR_REDIS;
    }
    freeReplyObject(r);
    if (rc)
        rds_stream_batch_free(out);
    return rc;
}

/* Atomically (one script): the oldest entry any consumer group still needs - its oldest
 * pending entry, else the entry after its last-delivered id - bounds the trim, as does the
 * retention cutoff (Redis' clock minus ARGV[1] ms). No group: nothing is trimmed (a group
 * created later from 0 must find every entry). A group that has read up to the stream's last
 * id gets entries-read = entries-added (XGROUP SETID ... ENTRIESREAD): Redis before 7.2.4
 * (redis/redis#12898) does not persist entries-read with XREADGROUP, so after an AOF rewrite
 * and a restart XINFO GROUPS reports a lag that does not exist. Returns {trimmed, fixed}. */
static const char k_trim_lua[] =
    "local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1]) "
    "if not ok or #groups == 0 then return {0, 0} end "
    "local info = redis.call('XINFO', 'STREAM', KEYS[1]) "
    "local s = {} "
    "for i = 1, #info, 2 do s[info[i]] = info[i + 1] end "
    "local function split(id) "
    "  local a, b = string.match(id, '^(%d+)-(%d+)$') "
    "  return tonumber(a), tonumber(b) "
    "end "
    "local function less(x, y) "
    "  local a1, b1 = split(x) "
    "  local a2, b2 = split(y) "
    "  return a1 < a2 or (a1 == a2 and b1 < b2) "
    "end "
    "local t = redis.call('TIME') "
    "local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1]) "
    "if cutoff < 0 then cutoff = 0 end "
    "local bound, fixed = string.format('%d-0', cutoff), 0 "
    "for _, g in ipairs(groups) do "
    "  local f = {} "
    "  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end "
    "  local keep = f['last-delivered-id'] "
    "  if f['pending'] > 0 then keep = redis.call('XPENDING', KEYS[1], f['name'])[2] end "
    "  if less(keep, bound) then bound = keep end "
    "  if f['last-delivered-id'] == s['last-generated-id'] and "
    "     f['entries-read'] ~= s['entries-added'] then "
    "    redis.call('XGROUP', 'SETID', KEYS[1], f['name'], f['last-delivered-id'], "
    "                'ENTRIESREAD', s['entries-added']) "
    "    fixed = fixed + 1 "
    "  end "
    "end "
    "return {redis.call('XTRIM', KEYS[1], 'MINID', '~', bound), fixed}";

int rds_stream_trim_consumed(rds_pool *p, const char *stream, long long retain_ms,
                             long long *trimmed, long long *fixed)
{
    *trimmed = *fixed = 0;
    redisReply *r =
        pool_cmd(p, "EVAL %s 1 %s %lld", k_trim_lua, stream, retain_ms > 0 ? retain_ms : 0);
    if (!r)
        return CM_ERR_IO;
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER) {
        *trimmed = r->element[0]->integer;
        *fixed = r->element[1]->integer;
    } else {
        log_warn("trimming %s: %s", stream, r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        rc = CM_ERR_REDIS;
    }
    freeReplyObject(r);
    return rc;
}
