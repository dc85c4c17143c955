/* db_begin_read_committed against the real MariaDB: a queue consumer's
 * SELECT ... FOR UPDATE SKIP LOCKED at READ COMMITTED leaves the queue open to INSERTs (the
 * outbox relay's gap locks were the row-lock waits measured in docs/bench-pure.md), and the
 * level applies to that one transaction only. Needs scripts/stack up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "cm_config.h"
#include "cm_db.h"
#include "cm_error.h"
#include "cm_redis.h"
#include "../support/stack_secrets.h"

static db_pool *g_pool;
static char g_table[64];
static char g_sql[512];

static db_config cfg(int size, const char *database)
{
    db_config c = {.host = cfg_str("MYSQL_HOST", "127.0.0.1"),
                   .port = (int)cfg_int("MYSQL_PORT", 21306, 1, 65535),
                   .user = cfg_str("MYSQL_USER", "saga"),
                   .password = cfg_str("MYSQL_PASSWORD", ""),
                   .database = database,
                   .pool_size = size};
    return c;
}

/* `fmt` names the test table once, as its only %s. */
static const char *sql(const char *fmt)
{
    snprintf(g_sql, sizeof g_sql, fmt, g_table);
    return g_sql;
}

static int setup(void **s)
{
    (void)s;
    db_pool *boot;
    db_conn *c;
    db_config bc = cfg(1, NULL);
    assert_int_equal(db_pool_new(&bc, &boot), 0);
    assert_int_equal(db_acquire(boot, &c, NULL, 0), 0);
    assert_int_equal(db_exec(c, "CREATE DATABASE IF NOT EXISTS pure_test", NULL, 0, NULL, NULL), 0);
    db_release(boot, c);
    db_pool_free(boot);

    db_config pc = cfg(2, "pure_test");
    assert_int_equal(db_pool_new(&pc, &g_pool), 0);
    char tok[RDS_TOKEN_LEN];
    rds_random_token(tok);
    snprintf(g_table, sizeof g_table, "q_%.12s", tok);
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    /* The outbox's shape: unpublished rows found through (published_at, id). */
    assert_int_equal(db_exec(c,
                             sql("CREATE TABLE %s (id BIGINT PRIMARY KEY AUTO_INCREMENT, "
                                 "published_at TIMESTAMP(6) NULL, "
                                 "KEY ix_unpublished (published_at, id)) ENGINE=InnoDB"),
                             NULL, 0, NULL, NULL),
                     0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            db_exec(c, sql("INSERT INTO %s (published_at) VALUES (NULL)"), NULL, 0, NULL, NULL), 0);
    db_release(g_pool, c);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    db_conn *c;
    if (db_acquire(g_pool, &c, NULL, 0) == 0) {
        db_exec(c, sql("DROP TABLE IF EXISTS %s"), NULL, 0, NULL, NULL);
        db_release(g_pool, c);
    }
    db_pool_free(g_pool);
    return 0;
}

/* Claims the unpublished rows the way the outbox relay does; returns how many. */
static size_t claim(db_conn *c)
{
    db_result *r = NULL;
    db_val lim = DB_INT(100);
    assert_int_equal(db_query(c,
                              sql("SELECT id FROM %s WHERE published_at IS NULL ORDER BY id "
                                  "LIMIT ? FOR UPDATE SKIP LOCKED"),
                              &lim, 1, &r),
                     0);
    size_t n = db_result_rows(r);
    db_result_free(r);
    return n;
}

/* An INSERT into the queue from a second connection that gives up after 1 s of lock wait
 * (the wait is the verdict, not a timing: it either never waits or always does). */
static int insert_from_other(db_conn *o)
{
    assert_int_equal(db_exec(o, "SET SESSION innodb_lock_wait_timeout = 1", NULL, 0, NULL, NULL),
                     0);
    return db_exec(o, sql("INSERT INTO %s (published_at) VALUES (NULL)"), NULL, 0, NULL, NULL);
}

static void read_committed_claim_does_not_block_inserts(void **s)
{
    (void)s;
    db_conn *a, *b;
    assert_int_equal(db_acquire(g_pool, &a, NULL, 0), 0);
    assert_int_equal(db_acquire(g_pool, &b, NULL, 0), 0);
    assert_int_equal(db_begin_read_committed(a), 0);
    assert_true(db_in_tx(a));
    assert_true(claim(a) >= 3);
    assert_int_equal(insert_from_other(b), 0);
    assert_int_equal(db_commit(a), 0);
    db_release(g_pool, b);
    db_release(g_pool, a);
}

static void level_applies_to_one_transaction_only(void **s)
{
    (void)s;
    db_conn *a, *b;
    assert_int_equal(db_acquire(g_pool, &a, NULL, 0), 0);
    assert_int_equal(db_acquire(g_pool, &b, NULL, 0), 0);
    assert_int_equal(db_begin_read_committed(a), 0);
    assert_int_equal(db_commit(a), 0);
    /* The next plain transaction is REPEATABLE READ again: its claim locks the gap at the
     * end of the index, so the other connection's INSERT waits and gives up. */
    assert_int_equal(db_begin(a), 0);
    assert_true(claim(a) >= 3);
    assert_int_equal(insert_from_other(b), CM_ERR_TIMEOUT);
    assert_int_equal(db_rollback(a), 0);
    db_release(g_pool, b);
    db_release(g_pool, a);
}

static void read_committed_inside_a_transaction_is_refused(void **s)
{
    (void)s;
    db_conn *a;
    assert_int_equal(db_acquire(g_pool, &a, NULL, 0), 0);
    assert_int_equal(db_begin(a), 0);
    assert_int_equal(db_begin_read_committed(a), CM_ERR_STATE);
    assert_int_equal(db_rollback(a), 0);
    db_release(g_pool, a);
}

int main(void)
{
    stack_secrets_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_committed_claim_does_not_block_inserts),
        cmocka_unit_test(level_applies_to_one_transaction_only),
        cmocka_unit_test(read_committed_inside_a_transaction_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
