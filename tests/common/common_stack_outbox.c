/* Outbox relay against real MariaDB + Redis: two relays on one table publish every event
 * exactly once; rolled-back events are never published; a failed XADD leaves rows pending;
 * a pass holds no gap lock that blocks a service's insert; a wake gathers before the scan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "stack_util.h"
#include "../support/stack_secrets.h"

static db_pool *g_db;
static rds_pool *g_rds;
static char g_table[64], g_stream[96];

static int64_t scalar(const char *fmt)
{
    char q[512];
    snprintf(q, sizeof q, fmt, g_table);
    db_conn *c;
    assert_int_equal(db_acquire(g_db, &c, NULL, 0), 0);
    db_result *r;
    assert_int_equal(db_query(c, q, NULL, 0, &r), 0);
    int64_t v = db_result_int(r, 0, 0, -1);
    db_result_free(r);
    db_release(g_db, c);
    return v;
}

static void exec_sql(const char *fmt)
{
    char q[1024];
    snprintf(q, sizeof q, fmt, g_table);
    db_conn *c;
    assert_int_equal(db_acquire(g_db, &c, NULL, 0), 0);
    assert_int_equal(db_exec(c, q, NULL, 0, NULL, NULL), 0);
    db_release(g_db, c);
}

/* A relay of service "svc-test" on the test's table and stream through Redis pool rds; the
 * rest as outbox_relay_start defaults it. */
static outbox_config relay_config(rds_pool *rds)
{
    outbox_config oc = {
        .db = g_db, .rds = rds, .service = "svc-test", .stream = g_stream, .table = g_table};
    return oc;
}

/* A new pool of its own (*pool, to free) and a connection from it (to release) on which sql
 * has run. */
static db_conn *pool_conn(const db_config *dc, db_pool **pool, const char *sql)
{
    db_conn *c = NULL;
    assert_int_equal(db_pool_new(dc, pool), 0);
    assert_int_equal(db_acquire(*pool, &c, NULL, 0), 0);
    assert_int_equal(db_exec(c, sql, NULL, 0, NULL, NULL), 0);
    return c;
}

static int setup(void **s)
{
    (void)s;
    db_config dc = stack_db_config(NULL, 8);
    db_pool *boot;
    db_conn *c = pool_conn(&dc, &boot, "CREATE DATABASE IF NOT EXISTS common_test");
    db_release(boot, c);
    db_pool_free(boot);
    dc.database = "common_test";
    dc.lazy_begin = true; /* as the services run their relays (APP_DB_TX) */
    assert_int_equal(db_pool_new(&dc, &g_db), 0);
    g_rds = stack_rds_pool(stack_redis_port(), 8, 0);
    char tok[RDS_TOKEN_LEN];
    rds_random_token(tok);
    snprintf(g_table, sizeof g_table, "outbox_%.12s", tok);
    snprintf(g_stream, sizeof g_stream, "test:common:stream:%.12s", tok);
    exec_sql("CREATE TABLE %s (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
             "aggregate_type VARCHAR(32) NOT NULL, aggregate_id VARCHAR(64) NOT NULL, "
             "event_type VARCHAR(64) NOT NULL, payload JSON NOT NULL, "
             "created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), "
             "published_at TIMESTAMP(3) NULL DEFAULT NULL, KEY ix_unpub (published_at, id)) "
             "ENGINE=InnoDB");
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    exec_sql("DROP TABLE IF EXISTS %s");
    rds_conn *c;
    if (rds_acquire(g_rds, &c) == 0) {
        redisReply *r = rds_command(c, "DEL %s", g_stream);
        if (r)
            freeReplyObject(r);
        rds_release(g_rds, c);
    }
    db_pool_free(g_db);
    rds_pool_free(g_rds);
    return 0;
}

static void insert_events(int n, bool commit, int base)
{
    db_conn *c;
    assert_int_equal(db_acquire(g_db, &c, NULL, 0), 0);
    assert_int_equal(db_begin(c), 0);
    for (int i = 0; i < n; i++) {
        char agg[32];
        snprintf(agg, sizeof agg, "%d", base + i);
        json_t *p = json_pack("{s:i, s:s}", "orderId", base + i, "status", "CREATED");
        assert_int_equal(outbox_insert_table(c, g_table, "Order", agg, "OrderCreated", p), 0);
        json_decref(p);
    }
    if (commit)
        assert_int_equal(db_commit(c), 0);
    else
        assert_int_equal(db_rollback(c), 0);
    db_release(g_db, c);
}

/* All entries of the test stream (XRANGE). */
static size_t read_stream(rds_stream_batch *b)
{
    rds_conn *c;
    assert_int_equal(rds_acquire(g_rds, &c), 0);
    redisReply *r = rds_command(c, "XRANGE %s - +", g_stream);
    assert_non_null(r);
    memset(b, 0, sizeof *b);
    /* reuse the batch layout via a group-less parse: walk the reply by hand */
    b->entries = calloc(r->elements ? r->elements : 1, sizeof *b->entries);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i], *kv = e->element[1];
        rds_stream_entry *x = &b->entries[b->n++];
        snprintf(x->id, sizeof x->id, "%s", e->element[0]->str);
        x->nfields = kv->elements / 2;
        x->fields = calloc(x->nfields, sizeof *x->fields);
        x->values = calloc(x->nfields, sizeof *x->values);
        for (size_t j = 0; j < x->nfields; j++) {
            x->fields[j] = strdup(kv->element[2 * j]->str);
            x->values[j] = strdup(kv->element[2 * j + 1]->str);
        }
    }
    freeReplyObject(r);
    rds_release(g_rds, c);
    return b->n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void wait_all_published(void)
{
    /* bounded wait for the relays; the assertions below do not depend on timing */
    for (int i = 0; i < 6000 && scalar("SELECT COUNT(*) FROM %s WHERE published_at IS NULL") > 0;
         i++)
        usleep(10000);
    assert_int_equal(scalar("SELECT COUNT(*) FROM %s WHERE published_at IS NULL"), 0);
}

static void two_relays_publish_each_event_exactly_once(void **s)
{
    (void)s;
    outbox_config oc = relay_config(g_rds);
    oc.poll_ms = 5;
    oc.batch = 7;
    outbox_relay *r1, *r2;
    assert_int_equal(outbox_relay_start(&oc, &r1), 0);
    assert_int_equal(outbox_relay_start(&oc, &r2), 0);
    int total = 0;
    for (int round = 0; round < 10; round++) { /* insert while both relays run */
        insert_events(30, true, total);
        total += 30;
        outbox_relay_wake(round % 2 ? r1 : r2);
    }
    insert_events(15, false, 100000); /* rolled back: never published */
    wait_all_published();
    outbox_relay_stop(r1);
    outbox_relay_stop(r2);

    rds_stream_batch b;
    assert_int_equal(read_stream(&b), (size_t)total);
    char **ids = calloc(b.n, sizeof *ids);
    for (size_t i = 0; i < b.n; i++) {
        const rds_stream_entry *e = &b.entries[i];
        assert_string_equal(rds_entry_get(e, "service"), "svc-test");
        assert_string_equal(rds_entry_get(e, "eventType"), "OrderCreated");
        assert_string_equal(rds_entry_get(e, "aggregateType"), "Order");
        assert_non_null(rds_entry_get(e, "aggregateId"));
        json_t *p = json_loads(rds_entry_get(e, "payload"), 0, NULL);
        assert_non_null(p);
        assert_true(json_integer_value(json_object_get(p, "orderId")) < 100000);
        json_decref(p);
        ids[i] = (char *)rds_entry_get(e, "eventId");
        assert_int_equal(strncmp(ids[i], "svc-test:", 9), 0);
    }
    qsort(ids, b.n, sizeof *ids, cmp_str);
    for (size_t i = 1; i < b.n; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
    rds_stream_batch_free(&b);
}

static void failed_xadd_leaves_rows_pending(void **s)
{
    (void)s;
    insert_events(3, true, 200000);
    rds_pool *dead;
    assert_int_equal(rds_pool_new("127.0.0.1", 26076, 1, 300, &dead), 0);
    outbox_config oc = relay_config(dead);
    int n = -1;
    assert_int_equal(outbox_relay_run_once(&oc, &n), CM_ERR_IO);
    assert_int_equal(n, 0);
    assert_int_equal(scalar("SELECT COUNT(*) FROM %s WHERE published_at IS NULL"), 3);
    rds_pool_free(dead);
    oc.rds = g_rds;
    oc.stream = NULL; /* -> ORDER_EVENTS_STREAM */
    setenv("ORDER_EVENTS_STREAM", g_stream, 1);
    rds_stream_batch before;
    size_t n_before = read_stream(&before);
    rds_stream_batch_free(&before);
    assert_int_equal(outbox_relay_run_once(&oc, &n), 0);
    assert_int_equal(n, 3);
    rds_stream_batch after;
    assert_int_equal(read_stream(&after), n_before + 3);
    rds_stream_batch_free(&after);
    assert_int_equal(outbox_relay_run_once(&oc, &n), 0);
    assert_int_equal(n, 0);
}

static void one_pass_publishes_and_marks_a_large_batch(void **s)
{
    (void)s;
    exec_sql("UPDATE %s SET published_at = CURRENT_TIMESTAMP(3) WHERE published_at IS NULL");
    insert_events(75, true, 300000); /* one UPDATE of 64 ids and one of 11 padded to 16 */
    rds_stream_batch before;
    size_t n_before = read_stream(&before);
    rds_stream_batch_free(&before);
    outbox_config oc = relay_config(g_rds);
    oc.batch = 100;
    int n = -1;
    assert_int_equal(outbox_relay_run_once(&oc, &n), 0);
    assert_int_equal(n, 75);
    assert_int_equal(scalar("SELECT COUNT(*) FROM %s WHERE published_at IS NULL"), 0);
    rds_stream_batch after;
    assert_int_equal(read_stream(&after), n_before + 75);
    for (size_t i = 1; i < 75; i++) { /* in id order */
        const char *a = rds_entry_get(&after.entries[n_before + i - 1], "aggregateId");
        const char *b = rds_entry_get(&after.entries[n_before + i], "aggregateId");
        assert_int_equal(atoi(b), atoi(a) + 1);
    }
    rds_stream_batch_free(&after);
    assert_int_equal(outbox_relay_run_once(&oc, &n), 0);
    assert_int_equal(n, 0);
}

/* A Redis that accepts, reads the relay's XADDs and does not answer until told to. */
struct mute_redis {
    int lfd;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool got_data, release;
};

static void *mute_redis_main(void *arg)
{
    struct mute_redis *m = arg;
    int fd = accept(m->lfd, NULL, NULL);
    char buf[4096];
    if (fd >= 0 && read(fd, buf, sizeof buf) > 0) {
        pthread_mutex_lock(&m->mu);
        m->got_data = true;
        pthread_cond_broadcast(&m->cv);
        while (!m->release)
            pthread_cond_wait(&m->cv, &m->mu);
        pthread_mutex_unlock(&m->mu);
    }
    if (fd >= 0)
        close(fd); /* the relay sees a transport error */
    return NULL;
}

struct pass_arg {
    outbox_config oc;
    int rc, n;
};

static void *pass_main(void *arg)
{
    struct pass_arg *a = arg;
    a->rc = outbox_relay_run_once(&a->oc, &a->n);
    return NULL;
}

static void insert_while_relay_waits_for_redis_is_not_blocked(void **s)
{
    (void)s;
    exec_sql("UPDATE %s SET published_at = CURRENT_TIMESTAMP(3) WHERE published_at IS NULL");
    insert_events(2, true, 400000);
    struct mute_redis m = {.lfd = socket(AF_INET, SOCK_STREAM, 0)};
    pthread_mutex_init(&m.mu, NULL);
    pthread_cond_init(&m.cv, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(m.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(m.lfd, 4), 0);
    assert_int_equal(getsockname(m.lfd, (struct sockaddr *)&sa, &sl), 0);
    m.port = ntohs(sa.sin_port);
    pthread_t srv, pass;
    assert_int_equal(pthread_create(&srv, NULL, mute_redis_main, &m), 0);

    rds_pool *mute;
    assert_int_equal(rds_pool_new("127.0.0.1", m.port, 1, 60000, &mute), 0);
    struct pass_arg a = {.oc = relay_config(mute)};
    assert_int_equal(pthread_create(&pass, NULL, pass_main, &a), 0);
    pthread_mutex_lock(&m.mu);
    while (!m.got_data)
        pthread_cond_wait(&m.cv, &m.mu); /* the relay's transaction is open */
    pthread_mutex_unlock(&m.mu);

    /* A service's insert: at REPEATABLE READ the relay's scan holds the gap at the end of the
     * unpublished index, and this would wait for the lock (and time out after 1 s). */
    db_config dc = stack_db_config("common_test", 1);
    db_pool *own;
    db_conn *c = pool_conn(&dc, &own, "SET SESSION innodb_lock_wait_timeout = 1");
    assert_int_equal(db_begin(c), 0);
    json_t *p = json_pack("{s:i}", "orderId", 400002);
    int irc = outbox_insert_table(c, g_table, "Order", "400002", "OrderCreated", p);
    json_decref(p);
    int crc = irc ? db_rollback(c) : db_commit(c);
    db_release(own, c);
    db_pool_free(own);

    pthread_mutex_lock(&m.mu);
    m.release = true;
    pthread_cond_broadcast(&m.cv);
    pthread_mutex_unlock(&m.mu);
    pthread_join(pass, NULL);
    pthread_join(srv, NULL);
    close(m.lfd);
    rds_pool_free(mute);
    pthread_mutex_destroy(&m.mu);
    pthread_cond_destroy(&m.cv);

    assert_int_equal(irc, 0);
    assert_int_equal(crc, 0);
    assert_int_equal(a.rc, CM_ERR_IO); /* nothing confirmed: nothing marked */
    assert_int_equal(a.n, 0);
    assert_int_equal(scalar("SELECT COUNT(*) FROM %s WHERE published_at IS NULL"), 3);
    exec_sql("UPDATE %s SET published_at = CURRENT_TIMESTAMP(3) WHERE published_at IS NULL");
}

static void wake_gathers_before_the_scan_and_stop_ends_the_gather(void **s)
{
    (void)s;
    exec_sql("UPDATE %s SET published_at = CURRENT_TIMESTAMP(3) WHERE published_at IS NULL");
    insert_events(1, true, 500000);
    outbox_config oc = relay_config(g_rds);
    oc.poll_ms = 600000;
    oc.gather_ms = 600000;
    outbox_relay *r;
    assert_int_equal(outbox_relay_start(&oc, &r), 0);
    wait_all_published(); /* the first pass ran; the relay now sleeps until a wake */
    insert_events(2, true, 500001);
    outbox_relay_wake(r);
    usleep(200000);       /* without a gather the wake would publish them by now */
    outbox_relay_stop(r); /* must end the 10-minute gather */
    assert_int_equal(scalar("SELECT COUNT(*) FROM %s WHERE published_at IS NULL"), 2);
    exec_sql("UPDATE %s SET published_at = CURRENT_TIMESTAMP(3) WHERE published_at IS NULL");
}

static void bad_config_is_refused(void **s)
{
    (void)s;
    outbox_config oc = {
        .db = g_db, .rds = g_rds, .service = "x", .stream = "y", .table = "bad; DROP TABLE z"};
    outbox_relay *r;
    assert_int_equal(outbox_relay_start(&oc, &r), CM_ERR_INVALID);
    oc.table = NULL;
    oc.db = NULL;
    assert_int_equal(outbox_relay_start(&oc, &r), CM_ERR_INVALID);
}

int main(void)
{
    stack_secrets_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_relays_publish_each_event_exactly_once),
        cmocka_unit_test(failed_xadd_leaves_rows_pending),
        cmocka_unit_test(bad_config_is_refused),
        cmocka_unit_test(one_pass_publishes_and_marks_a_large_batch),
        cmocka_unit_test(insert_while_relay_waits_for_redis_is_not_blocked),
        cmocka_unit_test(wake_gathers_before_the_scan_and_stop_ends_the_gather),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
