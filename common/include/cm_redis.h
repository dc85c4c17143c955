/* cm_redis.h — Redis over hiredis (sync API): a small thread-safe connection pool with
 * reconnect, an owner-token lock with lease, a counting semaphore whose permits expire,
 * and stream wrappers (XADD, XGROUP, XREADGROUP, XACK, XAUTOCLAIM, trimming what every
 * consumer group has read). */
#ifndef CM_REDIS_H
#define CM_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rds_pool rds_pool;
typedef struct rds_conn rds_conn;

#define RDS_TOKEN_LEN 33 /* 32 hex chars + NUL: random owner token */

/* Pool of up to `size` connections to host:port, opened lazily (succeeds while Redis is
 * down). `timeout_ms` bounds connect and each command (0 -> 5000). Strings copied. */
int rds_pool_new(const char *host, int port, int size, int timeout_ms, rds_pool **out);
void rds_pool_free(rds_pool *pool); /* all connections must be released; NULL ok */

/* Credentials sent with AUTH on every new connection (REDIS_USERNAME / REDIS_PASSWORD):
 * password NULL or "" -> no AUTH; username NULL or "" -> AUTH <password> (the default user),
 * else AUTH <username> <password> (an ACL user). Strings copied; the password is overwritten
 * when replaced or freed and never logged. Call before the pool is shared between threads.
 * Returns 0 or CM_ERR_NOMEM. A refused AUTH makes rds_acquire fail with CM_ERR_IO (logged). */
int rds_pool_set_auth(rds_pool *pool, const char *username, const char *password);

/* Borrow a connected connection (waits while all are busy; reconnects a broken one).
 * Returns 0 or CM_ERR_IO. A connection belongs to the calling thread until released. */
int rds_acquire(rds_pool *pool, rds_conn **out);
void rds_release(rds_pool *pool, rds_conn *conn);

/* The hiredis context of a borrowed connection, for commands not wrapped here. */
redisContext *rds_ctx(rds_conn *conn);

/* redisCommand / redisCommandArgv on a borrowed connection. Returns a reply the caller
 * frees with freeReplyObject, or NULL on a transport error (the connection is marked broken
 * and reconnected on its next acquire). An error *reply* (REDIS_REPLY_ERROR) is returned
 * as a reply. */
redisReply *rds_command(rds_conn *conn, const char *fmt, ...);
redisReply *rds_command_argv(rds_conn *conn, int argc, const char **argv, const size_t *argvlen);

/* PING through the pool. 0 when Redis answers PONG. For /ready. */
int rds_ping(rds_pool *pool);

/* 32 random hex characters + NUL into tok (RDS_TOKEN_LEN bytes). Any thread. */
void rds_random_token(char tok[RDS_TOKEN_LEN]);

/* ---- lock: SET key token NX PX lease; release/extend only by the owner (Lua) ---- */

/* Try to take `key` for `lease_ms`, retrying (short sleeps) for up to `wait_ms`
 * (0 = one attempt). On success writes the owner token into `token`.
 * Returns 0, CM_ERR_BUSY (held by another owner after waiting) or CM_ERR_IO. */
int rds_lock_acquire(rds_pool *pool, const char *key, int lease_ms, int wait_ms,
                     char token[RDS_TOKEN_LEN]);
/* Delete `key` iff its value is `token`. 0 released, CM_ERR_NOT_FOUND (not ours any more:
 * lease expired and maybe someone else holds it) or CM_ERR_IO. */
int rds_lock_release(rds_pool *pool, const char *key, const char *token);
/* Reset the lease to lease_ms iff we still own it. 0, CM_ERR_NOT_FOUND or CM_ERR_IO. */
int rds_lock_extend(rds_pool *pool, const char *key, const char *token, int lease_ms);

/* ---- counting semaphore with expiring permits ----
 * A ZSET `key` of holder tokens scored by expiry (Redis server time, ms). Acquire runs one
 * Lua script: drop expired members, then add ours if fewer than `limit` remain. A holder that
 * crashes loses its permit when the lease passes. */

/* Take a permit for lease_ms, waiting up to wait_ms (0 = one attempt).
 * 0 with `token` set, CM_ERR_BUSY (still full after waiting) or CM_ERR_IO. */
int rds_sem_acquire(rds_pool *pool, const char *key, int limit, int lease_ms, int wait_ms,
                    char token[RDS_TOKEN_LEN]);
/* Return the permit. 0, CM_ERR_NOT_FOUND (already expired/reclaimed) or CM_ERR_IO. */
int rds_sem_release(rds_pool *pool, const char *key, const char *token);
/* Live (unexpired) permits right now. */
int rds_sem_count(rds_pool *pool, const char *key, int *out);

/* ---- streams ---- */

typedef struct rds_stream_entry {
    char id[64]; /* "1700000000000-0" */
    size_t nfields;
    char **fields; /* owned by the batch */
    char **values;
} rds_stream_entry;

typedef struct rds_stream_batch {
    size_t n;
    rds_stream_entry *entries;
} rds_stream_batch;

/* Value of `field` in an entry, NULL if absent. Borrowed. */
const char *rds_entry_get(const rds_stream_entry *e, const char *field);
/* Free the entries of a batch (the struct itself is the caller's) and zero it. */
void rds_stream_batch_free(rds_stream_batch *b);

/* XADD stream * f1 v1 ... (nfields pairs). New id into id_out (size idn) when non-NULL.
 * 0, CM_ERR_REDIS or CM_ERR_IO. */
int rds_xadd(rds_pool *pool, const char *stream, size_t nfields, const char *const *fields,
             const char *const *values, char *id_out, size_t idn);

/* n XADDs to one stream, pipelined on one connection (one round trip instead of n):
 * entry i is XADD stream * fields[k] values[i * nfields + k] for k < nfields. *added = how
 * many leading entries Redis confirmed (in order; an entry after a failed one may have been
 * added too, and is not counted). 0 when all were added, otherwise CM_ERR_REDIS, CM_ERR_IO
 * or CM_ERR_INVALID (nfields 0 or > 64, n > RDS_XADD_BATCH_MAX). */
#define RDS_XADD_BATCH_MAX 1024
int rds_xadd_batch(rds_pool *pool, const char *stream, size_t n, size_t nfields,
                   const char *const *fields, const char *const *values, size_t *added);

/* XGROUP CREATE stream group start_id MKSTREAM; an existing group (BUSYGROUP) is success. */
int rds_xgroup_create(rds_pool *pool, const char *stream, const char *group, const char *start_id);

/* XREADGROUP GROUP group consumer COUNT count [BLOCK block_ms] STREAMS stream id.
 * id ">" reads new entries, "0" re-reads this consumer's pending ones. block_ms <= 0: no
 * BLOCK (never Redis' "BLOCK 0" = forever). While blocking, the connection's socket timeout is
 * raised to block_ms + the pool timeout, so a quiet stream is not mistaken for a dead link. Fills *out (empty when nothing arrived). 0, CM_ERR_REDIS or CM_ERR_IO. */
int rds_xreadgroup(rds_pool *pool, const char *stream, const char *group, const char *consumer,
                   const char *id, int count, int block_ms, rds_stream_batch *out);

/* XACK stream group id. 0 (also when it was not pending), CM_ERR_REDIS or CM_ERR_IO. */
int rds_xack(rds_pool *pool, const char *stream, const char *group, const char *id);

/* XAUTOCLAIM stream group consumer min_idle_ms start COUNT count (Redis >= 6.2): take over
 * entries pending longer than min_idle_ms in other consumers. Claimed entries into *out,
 * the cursor for the next call into next_start (size nn; "0-0" when the scan is done). */
int rds_xautoclaim(rds_pool *pool, const char *stream, const char *group, const char *consumer,
                   long long min_idle_ms, const char *start, int count, rds_stream_batch *out,
                   char *next_start, size_t nn);

/* Trims `stream` (XTRIM MINID ~) below the oldest entry that any of its consumer groups has
 * not yet read or acknowledged, keeping every entry younger than retain_ms (Redis' clock);
 * never drops an unread or pending entry, and trims nothing while the stream has no group.
 * Also sets a caught-up group's entries-read to the stream's entries-added, so XINFO GROUPS
 * stops reporting the phantom lag Redis < 7.2.4 shows after an AOF rewrite and a restart.
 * One atomic script. *trimmed = entries removed, *fixed = groups corrected.
 * 0, CM_ERR_REDIS or CM_ERR_IO. */
int rds_stream_trim_consumed(rds_pool *pool, const char *stream, long long retain_ms,
                             long long *trimmed, long long *fixed);

#endif
