/* Redis against the real server: pool reconnect, owner-only lock with lease, semaphore that
 * never exceeds its limit and reclaims expired permits, stream wrappers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "stack_util.h"
#include "../support/stack_secrets.h"

static rds_pool *g_rds;
static char g_prefix[48];
static int g_port;

static const char *key(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s:%s", g_prefix, name);
    return buf;
}

static int setup(void **s)
{
    (void)s;
    g_port = stack_redis_port();
    g_rds = stack_rds_pool(g_port, 40, 0);
    char tok[RDS_TOKEN_LEN];
    rds_random_token(tok);
    snprintf(g_prefix, sizeof g_prefix, "test:common:%.12s", tok);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    rds_conn *c;
    if (rds_acquire(g_rds, &c) == 0) {
        const char *names[] = {"lock", "lock2", "sem", "sem1", "stream", "bstream", "notstream"};
        char k[128];
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            redisReply *r = rds_command(c, "DEL %s", key(names[i], k, sizeof k));
            if (r)
                freeReplyObject(r);
        }
        rds_release(g_rds, c);
    }
    rds_pool_free(g_rds);
    return 0;
}

static void lock_is_exclusive_and_released_only_by_owner(void **s)
{
    (void)s;
    char k[128], t1[RDS_TOKEN_LEN], t2[RDS_TOKEN_LEN];
    key("lock", k, sizeof k);
    assert_int_equal(rds_lock_acquire(g_rds, k, 30000, 0, t1), 0);
    assert_int_equal(rds_lock_acquire(g_rds, k, 30000, 0, t2), CM_ERR_BUSY);
    assert_int_equal(rds_lock_release(g_rds, k, "not-the-owner"), CM_ERR_NOT_FOUND);
    assert_int_equal(rds_lock_extend(g_rds, k, "not-the-owner", 30000), CM_ERR_NOT_FOUND);
    assert_int_equal(rds_lock_extend(g_rds, k, t1, 30000), 0);
    assert_int_equal(rds_lock_release(g_rds, k, t1), 0);
    assert_int_equal(rds_lock_release(g_rds, k, t1), CM_ERR_NOT_FOUND);
    assert_int_equal(rds_lock_acquire(g_rds, k, 30000, 0, t2), 0);
    assert_int_equal(rds_lock_release(g_rds, k, t2), 0);
}

static void expired_lease_lets_next_owner_in_and_old_owner_cannot_release(void **s)
{
    (void)s;
    char k[128], t1[RDS_TOKEN_LEN], t2[RDS_TOKEN_LEN];
    key("lock2", k, sizeof k);
    assert_int_equal(rds_lock_acquire(g_rds, k, 50, 0, t1), 0); /* holder "crashes" */
    assert_int_equal(rds_lock_acquire(g_rds, k, 30000, 20000, t2), 0);
    assert_string_not_equal(t1, t2);
    /* the old owner's late release must not free the new owner's lock */
    assert_int_equal(rds_lock_release(g_rds, k, t1), CM_ERR_NOT_FOUND);
    char t3[RDS_TOKEN_LEN];
    assert_int_equal(rds_lock_acquire(g_rds, k, 30000, 0, t3), CM_ERR_BUSY);
    assert_int_equal(rds_lock_release(g_rds, k, t2), 0);
}

#define SEM_THREADS 32
#define SEM_LIMIT   5
#define SEM_ROUNDS  10
static atomic_int g_holding, g_max_holding, g_sem_fail;

static void *sem_worker(void *arg)
{
    const char *k = arg;
    for (int i = 0; i < SEM_ROUNDS; i++) {
        char tok[RDS_TOKEN_LEN];
        if (rds_sem_acquire(g_rds, k, SEM_LIMIT, 30000, 60000, tok)) {
            atomic_fetch_add(&g_sem_fail, 1);
            continue;
        }
        int now = atomic_fetch_add(&g_holding, 1) + 1;
        int prev = atomic_load(&g_max_holding);
        while (now > prev && !atomic_compare_exchange_weak(&g_max_holding, &prev, now)) {
        }
        int live = -1;
        if (rds_sem_count(g_rds, k, &live) || live > SEM_LIMIT)
            atomic_fetch_add(&g_sem_fail, 1);
        usleep(500);
        atomic_fetch_sub(&g_holding, 1);
        if (rds_sem_release(g_rds, k, tok))
            atomic_fetch_add(&g_sem_fail, 1);
    }
    return NULL;
}

static void semaphore_never_exceeds_limit_under_32_threads(void **s)
{
    (void)s;
    char k[128];
    key("sem", k, sizeof k);
    pthread_t t[SEM_THREADS];
    for (int i = 0; i < SEM_THREADS; i++)
        pthread_create(&t[i], NULL, sem_worker, k);
    for (int i = 0; i < SEM_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&g_sem_fail), 0);
    assert_true(atomic_load(&g_max_holding) <= SEM_LIMIT);
    assert_true(atomic_load(&g_max_holding) >= 1);
    int live = -1;
    assert_int_equal(rds_sem_count(g_rds, k, &live), 0);
    assert_int_equal(live, 0);
}

static void expired_permit_is_reclaimed(void **s)
{
    (void)s;
    char k[128], t1[RDS_TOKEN_LEN], t2[RDS_TOKEN_LEN];
    key("sem1", k, sizeof k);
    assert_int_equal(rds_sem_acquire(g_rds, k, 1, 50, 0, t1), 0); /* holder "crashes" */
    assert_int_equal(rds_sem_acquire(g_rds, k, 1, 30000, 20000, t2), 0);
    int live = -1;
    assert_int_equal(rds_sem_count(g_rds, k, &live), 0);
    assert_int_equal(live, 1);
    assert_int_equal(rds_sem_release(g_rds, k, t1), CM_ERR_NOT_FOUND);
    char t3[RDS_TOKEN_LEN];
    assert_int_equal(rds_sem_acquire(g_rds, k, 1, 30000, 0, t3), CM_ERR_BUSY);
    assert_int_equal(rds_sem_release(g_rds, k, t2), 0);
    assert_int_equal(rds_sem_acquire(g_rds, k, 1, 30000, 0, t3), 0);
    assert_int_equal(rds_sem_release(g_rds, k, t3), 0);
}

static void streams_group_read_ack_and_autoclaim(void **s)
{
    (void)s;
    char k[128];
    key("stream", k, sizeof k);
    assert_int_equal(rds_xgroup_create(g_rds, k, "g", "0"), 0);
    assert_int_equal(rds_xgroup_create(g_rds, k, "g", "0"), 0); /* BUSYGROUP is fine */
    const char *f[2] = {"eventId", "payload"};
    for (int i = 0; i < 3; i++) {
        char id[32], ev[32];
        snprintf(ev, sizeof ev, "ev-%d", i);
        const char *v[2] = {ev, "{\"a\":1}"};
        assert_int_equal(rds_xadd(g_rds, k, 2, f, v, id, sizeof id), 0);
        assert_non_null(strchr(id, '-'));
    }
    rds_stream_batch b;
    assert_int_equal(rds_xreadgroup(g_rds, k, "g", "c1", ">", 10, 100, &b), 0);
    assert_int_equal(b.n, 3);
    assert_string_equal(rds_entry_get(&b.entries[0], "eventId"), "ev-0");
    assert_string_equal(rds_entry_get(&b.entries[2], "payload"), "{\"a\":1}");
    assert_null(rds_entry_get(&b.entries[0], "nope"));
    assert_int_equal(rds_xack(g_rds, k, "g", b.entries[0].id), 0);
    rds_stream_batch_free(&b);
    /* nothing new */
    assert_int_equal(rds_xreadgroup(g_rds, k, "g", "c1", ">", 10, -1, &b), 0);
    assert_int_equal(b.n, 0);
    rds_stream_batch_free(&b);
    /* c1 "dies": c2 claims its two pending entries */
    char next[64];
    assert_int_equal(rds_xautoclaim(g_rds, k, "g", "c2", 0, "0-0", 10, &b, next, sizeof next), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(rds_entry_get(&b.entries[0], "eventId"), "ev-1");
    assert_string_equal(next, "0-0");
    rds_stream_batch_free(&b);
    assert_int_equal(rds_xreadgroup(g_rds, k, "g", "c2", "0", 10, -1, &b), 0);
    assert_int_equal(b.n, 2);
    rds_stream_batch_free(&b);
}

static void pipelined_xadd_batch_adds_every_entry_in_order(void **s)
{
    (void)s;
    char k[128], bad[128];
    key("bstream", k, sizeof k);
    key("notstream", bad, sizeof bad);
    enum { N = 300 };
    const char *f[2] = {"eventId", "payload"};
    static char ev[N][16];
    const char *v[2 * N];
    for (int i = 0; i < N; i++) {
        snprintf(ev[i], sizeof ev[i], "ev-%d", i);
        v[2 * i] = ev[i];
        v[2 * i + 1] = i % 2 ? NULL : "{}"; /* NULL is sent as "" */
    }
    size_t added = 99;
    assert_int_equal(rds_xadd_batch(g_rds, k, N, 2, f, v, &added), 0);
    assert_int_equal(added, N);
    assert_int_equal(rds_xadd_batch(g_rds, k, 0, 2, f, v, &added), 0);
    assert_int_equal(added, 0);
    assert_int_equal(rds_xadd_batch(g_rds, k, 1, 0, f, v, &added), CM_ERR_INVALID);
    assert_int_equal(rds_xadd_batch(g_rds, k, RDS_XADD_BATCH_MAX + 1, 2, f, v, &added),
                     CM_ERR_INVALID);

    rds_conn *c;
    assert_int_equal(rds_acquire(g_rds, &c), 0);
    redisReply *r = rds_command(c, "XRANGE %s - +", k);
    assert_non_null(r);
    assert_int_equal(r->elements, N);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        assert_string_equal(kv->element[1]->str, ev[i]);
        assert_string_equal(kv->element[3]->str, i % 2 ? "" : "{}");
    }
    freeReplyObject(r);
    r = rds_command(c, "SET %s x", bad); /* a string: every XADD to it fails */
    assert_non_null(r);
    freeReplyObject(r);
    rds_release(g_rds, c);
    assert_int_equal(rds_xadd_batch(g_rds, bad, 3, 2, f, v, &added), CM_ERR_REDIS);
    assert_int_equal(added, 0);
    /* the connection stayed in step: the next command gets its own reply */
    assert_int_equal(rds_xadd_batch(g_rds, k, 2, 2, f, v, &added), 0);
    assert_int_equal(added, 2);
}

static void blocking_read_longer_than_socket_timeout_is_not_an_error(void **s)
{
    (void)s;
    char k[128];
    key("stream", k, sizeof k);
    rds_pool *quick = stack_rds_pool(g_port, 1, 200);
    assert_int_equal(rds_xgroup_create(quick, k, "g2", "$"), 0);
    rds_stream_batch b;
    assert_int_equal(rds_xreadgroup(quick, k, "g2", "c1", ">", 10, 500, &b), 0);
    assert_int_equal(b.n, 0);
    rds_stream_batch_free(&b);
    /* and the connection is still healthy with the normal timeout */
    assert_int_equal(rds_ping(quick), 0);
    rds_pool_free(quick);
}

static void pool_reconnects_after_connection_is_killed(void **s)
{
    (void)s;
    rds_pool *one = stack_rds_pool(g_port, 1, 0);
    rds_conn *c;
    assert_int_equal(rds_acquire(one, &c), 0);
    redisReply *r = rds_command(c, "CLIENT ID");
    assert_non_null(r);
    long long id = r->integer;
    freeReplyObject(r);
    rds_release(one, c);
    assert_int_equal(rds_acquire(g_rds, &c), 0);
    r = rds_command(c, "CLIENT KILL ID %lld", id);
    assert_non_null(r);
    freeReplyObject(r);
    rds_release(g_rds, c);
    /* the first command notices the dead socket; the next acquire reconnects */
    assert_int_equal(rds_acquire(one, &c), 0);
    r = rds_command(c, "PING");
    if (r)
        freeReplyObject(r);
    rds_release(one, c);
    assert_int_equal(rds_ping(one), 0);
    rds_pool_free(one);
}

static void unreachable_redis_is_io_error(void **s)
{
    (void)s;
    rds_pool *p;
    assert_int_equal(rds_pool_new("127.0.0.1", 26077, 1, 500, &p), 0);
    assert_int_not_equal(rds_ping(p), 0);
    char t[RDS_TOKEN_LEN];
    assert_int_equal(rds_lock_acquire(p, "x", 100, 0, t), CM_ERR_IO);
    assert_int_equal(rds_sem_acquire(p, "x", 1, 100, 0, t), CM_ERR_IO);
    rds_pool_free(p);
}

int main(void)
{
    stack_secrets_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lock_is_exclusive_and_released_only_by_owner),
        cmocka_unit_test(expired_lease_lets_next_owner_in_and_old_owner_cannot_release),
        cmocka_unit_test(semaphore_never_exceeds_limit_under_32_threads),
        cmocka_unit_test(expired_permit_is_reclaimed),
        cmocka_unit_test(streams_group_read_ack_and_autoclaim),
        cmocka_unit_test(pipelined_xadd_batch_adds_every_entry_in_order),
        cmocka_unit_test(blocking_read_longer_than_socket_timeout_is_not_an_error),
        cmocka_unit_test(pool_reconnects_after_connection_is_killed),
        cmocka_unit_test(unreachable_redis_is_io_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
