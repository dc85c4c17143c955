/* Outbox relay against real MariaDB + Redis: two relays on one table publish every event
 * exactly once; rolled-back events are never published; a failed XADD leaves rows pending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

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

static int setup(void **s)
{
    (void)s;
    db_config dc = {.host = "127.0.0.1",
                    .port = (int)cfg_int("MYSQL_PORT", 21306, 1, 65535),
                    .user = "saga",
                    .password = "saga",
                    .pool_size = 8};
    db_pool *boot;
    assert_int_equal(db_pool_new(&dc, &boot), 0);
    db_conn *c;
    assert_int_equal(db_acquire(boot, &c, NULL, 0), 0);
    assert_int_equal(db_exec(c, "CREATE DATABASE IF NOT EXISTS common_test", NULL, 0, NULL, NULL), 0);
    db_release(boot, c);
    db_pool_free(boot);
    dc.database = "common_test";
    assert_int_equal(db_pool_new(&dc, &g_db), 0);
    assert_int_equal(rds_pool_new("127.0.0.1", (int)cfg_int("REDIS_PORT", 21379, 1, 65535), 8, 0,
                                  &g_rds),
                     0);
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
        if (r) freeReplyObject(r);
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
    if (commit) assert_int_equal(db_commit(c), 0);
    else assert_int_equal(db_rollback(c), 0);
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
    for (int i = 0; i < 6000 && scalar("SELECT COUNT(*) FROM %s WHERE published_at IS NULL") > 0; i++)
        usleep(10000);
    assert_int_equal(scalar("SELECT COUNT(*) FROM %s WHERE published_at IS NULL"), 0);
}

static void two_relays_publish_each_event_exactly_once(void **s)
{
    (void)s;
    outbox_config oc = {.db = g_db, .rds = g_rds, .service = "svc-test", .stream = g_stream,
                        .table = g_table, .poll_ms = 5, .batch = 7};
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
    for (size_t i = 1; i < b.n; i++) assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
    rds_stream_batch_free(&b);
}

static void failed_xadd_leaves_rows_pending(void **s)
{
    (void)s;
    insert_events(3, true, 200000);
    rds_pool *dead;
    assert_int_equal(rds_pool_new("127.0.0.1", 26076, 1, 300, &dead), 0);
    outbox_config oc = {.db = g_db, .rds = dead, .service = "svc-test", .stream = g_stream,
                        .table = g_table};
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

static void bad_config_is_refused(void **s)
{
    (void)s;
    outbox_config oc = {.db = g_db, .rds = g_rds, .service = "x", .stream = "y",
                        .table = "bad; DROP TABLE z"};
    outbox_relay *r;
    assert_int_equal(outbox_relay_start(&oc, &r), CM_ERR_INVALID);
    oc.table = NULL;
    oc.db = NULL;
    assert_int_equal(outbox_relay_start(&oc, &r), CM_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_relays_publish_each_event_exactly_once),
        cmocka_unit_test(failed_xadd_leaves_rows_pending),
        cmocka_unit_test(bad_config_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
