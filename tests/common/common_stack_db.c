/* MySQL pool against the real MariaDB: statements, NULLs, long values, duplicate keys,
 * optimistic conflicts, transactions, retried transactions, pool under threads, reconnect
 * after a killed session, and db_begin_read_committed: a queue consumer's SELECT ... FOR UPDATE
 * SKIP LOCKED at READ COMMITTED leaves the queue open to INSERTs (the outbox relay's gap locks
 * were the row-lock waits measured in docs/bench-pure.md), for that one transaction only.
 * Every test runs twice: with autocommit sessions, and with lazy_begin (transactions opened
 * by their first statement), which must behave the same apart from the round trips. */
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

#include "common.h"
#include "stack_util.h"
#include "../support/stack_secrets.h"

static db_pool *g_pool;
static char g_table[64];
static char g_queue[64]; /* the outbox's shape: unpublished rows found through (published_at, id) */
static char g_sql[512];
static bool g_lazy; /* the group's pools use db_config.lazy_begin */

/* A pool config for the test database in this group's mode. */
static db_config test_config(int size)
{
    db_config c = stack_db_config("common_test", size);
    c.lazy_begin = g_lazy;
    return c;
}

/* `fmt` names the test table once, as its only %s. */
static const char *sql(const char *fmt)
{
    snprintf(g_sql, sizeof g_sql, fmt, g_table);
    return g_sql;
}

/* The same for the queue table. */
static const char *qsql(const char *fmt)
{
    snprintf(g_sql, sizeof g_sql, fmt, g_queue);
    return g_sql;
}

static int setup(void **s)
{
    (void)s;
    db_pool *boot;
    db_config c = stack_db_config(NULL, 1);
    assert_int_equal(db_pool_new(&c, &boot), 0);
    db_conn *conn;
    assert_int_equal(db_acquire(boot, &conn, NULL, 0), 0);
    assert_int_equal(
        db_exec(conn, "CREATE DATABASE IF NOT EXISTS common_test", NULL, 0, NULL, NULL), 0);
    db_release(boot, conn);
    db_pool_free(boot);

    c = test_config(4);
    assert_int_equal(db_pool_new(&c, &g_pool), 0);
    char tok[RDS_TOKEN_LEN];
    rds_random_token(tok);
    snprintf(g_table, sizeof g_table, "t_%.12s", tok);
    assert_int_equal(db_acquire(g_pool, &conn, NULL, 0), 0);
    assert_int_equal(db_exec(conn,
                             sql("CREATE TABLE %s (id BIGINT PRIMARY KEY AUTO_INCREMENT, "
                                 "name VARCHAR(64) UNIQUE, note TEXT NULL, "
                                 "counter BIGINT NOT NULL DEFAULT 0, "
                                 "version BIGINT NOT NULL DEFAULT 0) ENGINE=InnoDB"),
                             NULL, 0, NULL, NULL),
                     0);
    snprintf(g_queue, sizeof g_queue, "q_%.12s", tok);
    assert_int_equal(db_exec(conn,
                             qsql("CREATE TABLE %s (id BIGINT PRIMARY KEY AUTO_INCREMENT, "
                                  "published_at TIMESTAMP(6) NULL, "
                                  "KEY ix_unpublished (published_at, id)) ENGINE=InnoDB"),
                             NULL, 0, NULL, NULL),
                     0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            db_exec(conn, qsql("INSERT INTO %s (published_at) VALUES (NULL)"), NULL, 0, NULL, NULL),
            0);
    db_release(g_pool, conn);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    db_conn *conn;
    if (db_acquire(g_pool, &conn, NULL, 0) == 0) {
        db_exec(conn, sql("DROP TABLE IF EXISTS %s"), NULL, 0, NULL, NULL);
        db_exec(conn, qsql("DROP TABLE IF EXISTS %s"), NULL, 0, NULL, NULL);
        db_release(g_pool, conn);
    }
    db_pool_free(g_pool);
    return 0;
}

static int64_t insert(db_conn *c, const char *name, const char *note)
{
    db_val p[2] = {DB_STR(name), DB_STR(note)};
    uint64_t id = 0, affected = 0;
    assert_int_equal(
        db_exec(c, sql("INSERT INTO %s (name, note) VALUES (?, ?)"), p, 2, &affected, &id), 0);
    assert_int_equal(affected, 1);
    return (int64_t)id;
}

static void insert_and_select_round_trip_with_null(void **s)
{
    (void)s;
    db_conn *c;
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    int64_t id = insert(c, "alpha", NULL);
    assert_true(id > 0);
    db_result *r;
    db_val p = DB_INT(id);
    assert_int_equal(
        db_query(c, sql("SELECT id, name, note, counter AS cnt FROM %s WHERE id = ?"), &p, 1, &r),
        0);
    assert_int_equal(db_result_rows(r), 1);
    assert_int_equal(db_result_cols(r), 4);
    assert_int_equal(db_result_int(r, 0, 0, -1), id);
    assert_string_equal(db_result_str(r, 0, 1), "alpha");
    assert_true(db_result_is_null(r, 0, 2));
    assert_int_equal(db_result_col(r, "cnt"), 3);
    assert_int_equal(db_result_col(r, "missing"), -1);
    assert_int_equal(db_result_int(r, 0, 3, -1), 0);
    assert_null(db_result_str(r, 5, 0));
    db_result_free(r);
    /* empty result */
    p = DB_INT(-1);
    assert_int_equal(db_query(c, sql("SELECT id FROM %s WHERE id = ?"), &p, 1, &r), 0);
    assert_int_equal(db_result_rows(r), 0);
    db_result_free(r);
    /* wrong parameter count is refused before execution */
    assert_int_equal(db_query(c, sql("SELECT id FROM %s WHERE id = ?"), NULL, 0, &r),
                     CM_ERR_INVALID);
    db_release(g_pool, c);
}

static void long_values_are_fetched_whole(void **s)
{
    (void)s;
    db_conn *c;
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    size_t n = 60000; /* TEXT holds 65535 bytes */
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    int64_t id = insert(c, "long", big);
    db_result *r;
    db_val p = DB_INT(id);
    assert_int_equal(db_query(c, sql("SELECT note, name FROM %s WHERE id = ?"), &p, 1, &r), 0);
    assert_string_equal(db_result_str(r, 0, 0), big);
    assert_string_equal(db_result_str(r, 0, 1), "long");
    db_result_free(r);
    free(big);
    db_release(g_pool, c);
}

static void duplicate_key_is_distinct_error(void **s)
{
    (void)s;
    db_conn *c;
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    insert(c, "dup", NULL);
    db_val p[2] = {DB_STR("dup"), DB_NULL};
    assert_int_equal(db_exec(c, sql("INSERT INTO %s (name, note) VALUES (?, ?)"), p, 2, NULL, NULL),
                     CM_ERR_DUPLICATE);
    assert_int_equal(db_errno(c), 1062);
    assert_true(strlen(db_errmsg(c)) > 0);
    /* a syntax error is a plain DB error */
    assert_int_equal(db_exec(c, "SELEC nonsense", NULL, 0, NULL, NULL), CM_ERR_DB);
    db_release(g_pool, c);
}

static void optimistic_update_detects_stale_version(void **s)
{
    (void)s;
    db_conn *c;
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    int64_t id = insert(c, "opt", NULL);
    const char *upd = sql("UPDATE %s SET counter = counter + 1, version = version + 1 "
                          "WHERE id = ? AND version = ?");
    char u[512];
    snprintf(u, sizeof u, "%s", upd);
    db_val p[2] = {DB_INT(id), DB_INT(0)};
    assert_int_equal(db_update_versioned(c, u, p, 2), 0);
    /* a second writer that read version 0 loses */
    assert_int_equal(db_update_versioned(c, u, p, 2), CM_ERR_CONFLICT);
    p[1] = DB_INT(1);
    assert_int_equal(db_update_versioned(c, u, p, 2), 0);
    p[0] = DB_INT(999999999);
    assert_int_equal(db_update_versioned(c, u, p, 2), CM_ERR_CONFLICT);
    db_release(g_pool, c);
}

static int64_t count_named(db_conn *c, const char *name)
{
    db_result *r;
    db_val p = DB_STR(name);
    assert_int_equal(db_query(c, sql("SELECT COUNT(*) FROM %s WHERE name = ?"), &p, 1, &r), 0);
    int64_t n = db_result_int(r, 0, 0, -1);
    db_result_free(r);
    return n;
}

static void transactions_commit_and_rollback(void **s)
{
    (void)s;
    db_conn *c;
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    assert_int_equal(db_begin(c), 0);
    assert_true(db_in_tx(c));
    assert_int_equal(db_begin(c), CM_ERR_STATE);
    insert(c, "rolled", NULL);
    assert_int_equal(db_rollback(c), 0);
    assert_false(db_in_tx(c));
    assert_int_equal(count_named(c, "rolled"), 0);
    assert_int_equal(db_begin(c), 0);
    insert(c, "committed", NULL);
    assert_int_equal(db_commit(c), 0);
    assert_int_equal(count_named(c, "committed"), 1);
    /* releasing with an open transaction rolls it back */
    assert_int_equal(db_begin(c), 0);
    insert(c, "abandoned", NULL);
    db_release(g_pool, c);
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    assert_false(db_in_tx(c));
    assert_int_equal(count_named(c, "abandoned"), 0);
    db_release(g_pool, c);
}

#define NTHREADS 16
#define NITER    25
static int64_t g_counter_id;
static atomic_int g_holders[4];
static db_conn *g_seen[4];
static pthread_mutex_t g_seen_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_overlap;

static int slot_of(db_conn *c)
{
    pthread_mutex_lock(&g_seen_mu);
    int slot = -1;
    for (int i = 0; i < 4 && slot < 0; i++)
        if (g_seen[i] == c)
            slot = i;
    for (int i = 0; i < 4 && slot < 0; i++)
        if (!g_seen[i]) {
            g_seen[i] = c;
            slot = i;
        }
    pthread_mutex_unlock(&g_seen_mu);
    return slot;
}

static void *worker(void *arg)
{
    (void)arg;
    char upd[512], sel[512];
    snprintf(upd, sizeof upd,
             "UPDATE %s SET counter = counter + 1, version = version + 1 "
             "WHERE id = ? AND version = ?",
             g_table);
    snprintf(sel, sizeof sel, "SELECT version FROM %s WHERE id = ?", g_table);
    for (int i = 0; i < NITER; i++) {
        for (;;) { /* optimistic retry loop */
            db_conn *c;
            if (db_acquire(g_pool, &c, NULL, 0))
                continue;
            int slot = slot_of(c);
            if (slot < 0 || atomic_fetch_add(&g_holders[slot], 1) != 0)
                atomic_fetch_add(&g_overlap, 1);
            db_result *r = NULL;
            db_val p = DB_INT(g_counter_id);
            int rc = db_query(c, sel, &p, 1, &r);
            int64_t v = rc ? -1 : db_result_int(r, 0, 0, -1);
            db_result_free(r);
            db_val up[2] = {DB_INT(g_counter_id), DB_INT(v)};
            rc = rc ? rc : db_update_versioned(c, upd, up, 2);
            if (slot >= 0)
                atomic_fetch_sub(&g_holders[slot], 1);
            db_release(g_pool, c);
            if (rc == 0)
                break;
            if (rc != CM_ERR_CONFLICT)
                return (void *)1;
        }
    }
    return NULL;
}

static void pool_under_threads_serializes_connections(void **s)
{
    (void)s;
    db_conn *c;
    memset(g_seen, 0, sizeof g_seen); /* the group before ran with another pool */
    atomic_store(&g_overlap, 0);
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    g_counter_id = insert(c, "counter", NULL);
    db_release(g_pool, c);
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    assert_int_equal(atomic_load(&g_overlap), 0);
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    db_result *r;
    db_val p = DB_INT(g_counter_id);
    assert_int_equal(db_query(c, sql("SELECT counter FROM %s WHERE id = ?"), &p, 1, &r), 0);
    assert_int_equal(db_result_int(r, 0, 0, -1), NTHREADS * NITER);
    db_result_free(r);
    db_release(g_pool, c);
}

/* Open a 1-connection pool and kill its session from outside; returns the pool (and the killed
 * session's id in *killed when not NULL). */
static db_pool *pool_with_killed_session(int64_t *killed)
{
    db_config c1 = test_config(1);
    db_pool *one;
    assert_int_equal(db_pool_new(&c1, &one), 0);
    db_conn *c;
    assert_int_equal(db_acquire(one, &c, NULL, 0), 0);
    db_result *r;
    assert_int_equal(db_query(c, "SELECT CONNECTION_ID()", NULL, 0, &r), 0);
    int64_t victim = db_result_int(r, 0, 0, -1);
    db_result_free(r);
    db_release(one, c);
    db_conn *killer;
    assert_int_equal(db_acquire(g_pool, &killer, NULL, 0), 0);
    db_val p = DB_INT(victim);
    assert_int_equal(db_exec(killer, "KILL CONNECTION ?", &p, 1, NULL, NULL), 0);
    db_release(g_pool, killer);
    if (killed != NULL)
        *killed = victim;
    return one;
}

static void reconnects_after_session_is_killed(void **s)
{
    (void)s;
    int64_t victim = 0;
    db_pool *one = pool_with_killed_session(&victim);
    db_conn *c;
    db_result *r;
    assert_int_equal(db_acquire(one, &c, NULL, 0), 0);
    assert_int_equal(db_query(c, "SELECT CONNECTION_ID()", NULL, 0, &r), 0);
    assert_int_not_equal(db_result_int(r, 0, 0, -1), victim);
    db_result_free(r);
    db_release(one, c);
    assert_int_equal(db_ping(one), 0);
    db_pool_free(one);
}

static void transaction_begins_on_fresh_connection_after_kill(void **s)
{
    (void)s;
    db_pool *one = pool_with_killed_session(NULL);
    db_conn *c;
    assert_int_equal(db_acquire(one, &c, NULL, 0), 0);
    assert_int_equal(db_begin(c), 0);
    db_val p[2] = {DB_STR("after-kill-tx"), DB_NULL};
    assert_int_equal(db_exec(c, sql("INSERT INTO %s (name, note) VALUES (?, ?)"), p, 2, NULL, NULL),
                     0);
    assert_int_equal(db_commit(c), 0);
    assert_int_equal(count_named(c, "after-kill-tx"), 1);
    db_release(one, c);
    db_pool_free(one);
}

static void new_statement_after_kill_is_prepared_on_fresh_connection(void **s)
{
    (void)s;
    db_pool *one = pool_with_killed_session(NULL);
    db_conn *c;
    assert_int_equal(db_acquire(one, &c, NULL, 0), 0);
    /* preparing has no side effect, so it is retried on a fresh connection */
    db_val p[2] = {DB_STR("after-kill"), DB_NULL};
    assert_int_equal(db_exec(c, sql("INSERT INTO %s (name, note) VALUES (?, ?)"), p, 2, NULL, NULL),
                     0);
    db_release(one, c);
    db_pool_free(one);
}

/* A 1-connection pool whose INSERT into the test table (text in ins, 512 bytes) has run once,
 * inserting a row named `first`, so the statement is cached, and whose session was then
 * killed from outside. */
static db_pool *pool_with_cached_insert_killed(const char *first, char *ins)
{
    db_config c1 = test_config(1);
    db_pool *one;
    assert_int_equal(db_pool_new(&c1, &one), 0);
    db_conn *c;
    snprintf(ins, 512, "INSERT INTO %s (name, note) VALUES (?, ?)", g_table);
    assert_int_equal(db_acquire(one, &c, NULL, 0), 0);
    db_val p[2] = {DB_STR(first), DB_NULL};
    assert_int_equal(db_exec(c, ins, p, 2, NULL, NULL), 0); /* now cached */
    db_result *r;
    assert_int_equal(db_query(c, "SELECT CONNECTION_ID()", NULL, 0, &r), 0);
    db_val victim = DB_INT(db_result_int(r, 0, 0, -1));
    db_result_free(r);
    db_release(one, c);
    db_conn *killer;
    assert_int_equal(db_acquire(g_pool, &killer, NULL, 0), 0);
    assert_int_equal(db_exec(killer, "KILL CONNECTION ?", &victim, 1, NULL, NULL), 0);
    db_release(g_pool, killer);
    return one;
}

static void cached_write_after_kill_fails_once_then_recovers(void **s)
{
    (void)s;
    char ins[512];
    db_pool *one = pool_with_cached_insert_killed("cw-1", ins);
    db_conn *c;
    /* a write may have run when the link died, so it is not retried blindly */
    assert_int_equal(db_acquire(one, &c, NULL, 0), 0);
    db_val p[2] = {DB_STR("cw-2"), DB_NULL};
    assert_int_equal(db_exec(c, ins, p, 2, NULL, NULL), CM_ERR_IO);
    db_release(one, c);
    assert_int_equal(db_acquire(one, &c, NULL, 0), 0);
    assert_int_equal(db_exec(c, ins, p, 2, NULL, NULL), 0);
    db_release(one, c);
    db_pool_free(one);
}

static void statement_cache_evicts_and_reuses_correctly(void **s)
{
    (void)s;
    db_conn *c;
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    /* more distinct statements than the cache holds, twice over, each checked */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 80; i++) {
            char q[128];
            snprintf(q, sizeof q, "SELECT %d + ?", i);
            db_val p = DB_INT(round);
            db_result *r;
            assert_int_equal(db_query(c, q, &p, 1, &r), 0);
            assert_int_equal(db_result_int(r, 0, 0, -1), i + round);
            db_result_free(r);
        }
    /* a SELECT run through db_exec leaves the connection usable */
    assert_int_equal(db_exec(c, "SELECT 1 UNION SELECT 2", NULL, 0, NULL, NULL), 0);
    db_result *r;
    assert_int_equal(db_query(c, "SELECT 3", NULL, 0, &r), 0);
    assert_int_equal(db_result_int(r, 0, 0, -1), 3);
    db_result_free(r);
    /* a statement that failed (duplicate) is usable again */
    insert(c, "cache-dup", NULL);
    db_val p[2] = {DB_STR("cache-dup"), DB_NULL};
    const char *ins = sql("INSERT INTO %s (name, note) VALUES (?, ?)");
    char insq[512];
    snprintf(insq, sizeof insq, "%s", ins);
    assert_int_equal(db_exec(c, insq, p, 2, NULL, NULL), CM_ERR_DUPLICATE);
    p[0] = DB_STR("cache-dup-2");
    assert_int_equal(db_exec(c, insq, p, 2, NULL, NULL), 0);
    db_release(g_pool, c);
}

/* db_tx_retry: a fn that inserts a row named `name`, then answers rcs[calls] (last one repeated). */
typedef struct tx_script {
    const int *rcs;
    int nrcs, calls;
    const char *name;
} tx_script;

static int scripted_tx(db_conn *c, void *arg)
{
    tx_script *t = arg;
    db_val v[] = {DB_STR(t->name)};
    int rc = db_begin(c);
    if (rc == 0)
        rc = db_exec(c, sql("INSERT INTO %s (name) VALUES (?)"), v, 1, NULL, NULL);
    if (rc != 0)
        return rc;
    rc = t->rcs[t->calls < t->nrcs ? t->calls : t->nrcs - 1];
    t->calls++;
    return rc == 0 ? db_commit(c) : rc;
}

static long long rows_named(const char *name)
{
    db_conn *conn;
    db_result *r = NULL;
    db_val v[] = {DB_STR(name)};
    assert_int_equal(db_acquire(g_pool, &conn, NULL, 0), 0);
    assert_int_equal(db_query(conn, sql("SELECT COUNT(*) FROM %s WHERE name = ?"), v, 1, &r), 0);
    long long n = db_result_int(r, 0, 0, -1);
    db_result_free(r);
    db_release(g_pool, conn);
    return n;
}

static void tx_retry_rolls_back_and_retries_conflicts_only(void **s)
{
    (void)s;
    const int conflicts_then_ok[] = {CM_ERR_CONFLICT, CM_ERR_TIMEOUT, 0};
    tx_script t = {conflicts_then_ok, 3, 0, "tx-a"};
    assert_int_equal(db_tx_retry(g_pool, 5, scripted_tx, &t), 0);
    assert_int_equal(t.calls, 3);
    assert_int_equal(rows_named("tx-a"), 1); /* the failed attempts were rolled back */

    const int always_conflict[] = {CM_ERR_CONFLICT};
    t = (tx_script){always_conflict, 1, 0, "tx-b"};
    assert_int_equal(db_tx_retry(g_pool, 4, scripted_tx, &t), CM_ERR_CONFLICT);
    assert_int_equal(t.calls, 4);
    assert_int_equal(rows_named("tx-b"), 0);

    const int hard_error[] = {CM_ERR_DB};
    t = (tx_script){hard_error, 1, 0, "tx-c"};
    assert_int_equal(db_tx_retry(g_pool, 4, scripted_tx, &t), CM_ERR_DB);
    assert_int_equal(t.calls, 1);
    assert_int_equal(rows_named("tx-c"), 0);
}

typedef struct named_row {
    long long id;
    int events;
} named_row;

static int load_named(const db_result *r, void *ctx)
{
    if (db_result_rows(r) == 0)
        return CM_ERR_NOT_FOUND;
    ((named_row *)ctx)->id = db_result_int(r, 0, 0, 0);
    return 0;
}

static int named_created(db_conn *c, uint64_t id, void *ctx)
{
    (void)c;
    named_row *n = ctx;
    n->id = (long long)id;
    n->events++;
    return 0;
}

static void create_or_load_creates_once_then_loads(void **s)
{
    (void)s;
    char load[sizeof g_sql]; /* a copy of sql()'s text, which the next call overwrites */
    named_row first = {0}, again = {0};
    bool created = false;
    db_val v[] = {DB_STR("once")};
    snprintf(load, sizeof load, "%s", sql("SELECT id FROM %s WHERE name = ?"));
    db_create spec = {sql("INSERT INTO %s (name) VALUES (?)"),
                      v,
                      1,
                      load,
                      DB_STR("once"),
                      load_named,
                      named_created,
                      &first};
    assert_int_equal(db_create_or_load(g_pool, &spec, &created), 0);
    assert_true(created);
    assert_int_equal(first.events, 1);
    spec.ctx = &again;
    assert_int_equal(db_create_or_load(g_pool, &spec, &created), 0);
    assert_false(created);
    assert_int_equal(again.events, 0);
    assert_int_equal(again.id, first.id);
    assert_int_equal(rows_named("once"), 1);
}

/* Claims the unpublished rows the way the outbox relay does; returns how many. */
static size_t claim(db_conn *c)
{
    db_result *r = NULL;
    db_val lim = DB_INT(100);
    assert_int_equal(db_query(c,
                              qsql("SELECT id FROM %s WHERE published_at IS NULL ORDER BY id "
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
    return db_exec(o, qsql("INSERT INTO %s (published_at) VALUES (NULL)"), NULL, 0, NULL, NULL);
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

static void unreachable_database_is_io_error(void **s)
{
    (void)s;
    db_config c = test_config(1);
    c.port = 26078;
    c.connect_timeout_s = 2;
    db_pool *p;
    assert_int_equal(db_pool_new(&c, &p), 0);
    db_conn *conn;
    char err[256] = "";
    assert_int_equal(db_acquire(p, &conn, err, sizeof err), CM_ERR_IO);
    assert_true(strlen(err) > 0);
    assert_int_not_equal(db_ping(p), 0);
    db_pool_free(p);
}

/* One session's counter from SHOW SESSION STATUS. */
static int64_t session_status(db_conn *c, const char *name)
{
    db_result *r = NULL;
    db_val v = DB_STR(name);
    assert_int_equal(db_query(c, "SHOW SESSION STATUS WHERE Variable_name = ?", &v, 1, &r), 0);
    int64_t n = db_result_int(r, 0, 1, -1);
    db_result_free(r);
    return n;
}

static void lazy_transaction_sends_no_begin(void **s)
{
    (void)s;
    db_conn *c;
    assert_int_equal(db_acquire(g_pool, &c, NULL, 0), 0);
    int64_t begins = session_status(c, "Com_begin"), commits = session_status(c, "Com_commit");
    int64_t rollbacks = session_status(c, "Com_rollback");
    assert_int_equal(db_begin(c), 0);
    insert(c, "lazy-tx", NULL);
    assert_int_equal(db_commit(c), 0);
    assert_int_equal(session_status(c, "Com_begin") - begins, g_lazy ? 0 : 1);
    assert_int_equal(session_status(c, "Com_commit") - commits, 1);
    /* a transaction that ran nothing costs nothing on the server when lazy */
    assert_int_equal(db_begin(c), 0);
    assert_int_equal(db_rollback(c), 0);
    assert_int_equal(session_status(c, "Com_rollback") - rollbacks, g_lazy ? 0 : 1);
    db_release(g_pool, c);
}

/* Whether the session has a transaction open (@@in_transaction reads no table, so it opens
 * none itself). */
static bool session_in_tx(db_conn *c)
{
    db_result *r = NULL;
    assert_int_equal(db_query(c, "SELECT @@in_transaction", NULL, 0, &r), 0);
    bool open = db_result_int(r, 0, 0, -1) != 0;
    db_result_free(r);
    return open;
}

static void statements_outside_a_transaction_act_as_autocommitted(void **s)
{
    (void)s;
    db_conn *a, *b;
    assert_int_equal(db_acquire(g_pool, &a, NULL, 0), 0);
    assert_int_equal(db_acquire(g_pool, &b, NULL, 0), 0);
    /* a write is committed as it returns: another session sees it */
    int64_t id = insert(a, "standalone", NULL);
    assert_false(session_in_tx(a));
    assert_int_equal(count_named(b, "standalone"), 1);
    /* a read leaves no snapshot behind: the next read sees what another session committed */
    db_result *r = NULL;
    db_val p = DB_INT(id);
    const char *sel = sql("SELECT counter FROM %s WHERE id = ?");
    char selq[512];
    snprintf(selq, sizeof selq, "%s", sel);
    assert_int_equal(db_query(a, selq, &p, 1, &r), 0);
    assert_int_equal(db_result_int(r, 0, 0, -1), 0);
    db_result_free(r);
    assert_false(session_in_tx(a));
    assert_int_equal(db_exec(b, sql("UPDATE %s SET counter = 7 WHERE id = ?"), &p, 1, NULL, NULL),
                     0);
    assert_int_equal(db_query(a, selq, &p, 1, &r), 0);
    assert_int_equal(db_result_int(r, 0, 0, -1), 7);
    db_result_free(r);
    /* a failed write leaves nothing open either */
    db_val d[2] = {DB_STR("standalone"), DB_NULL};
    assert_int_equal(db_exec(a, sql("INSERT INTO %s (name, note) VALUES (?, ?)"), d, 2, NULL, NULL),
                     CM_ERR_DUPLICATE);
    assert_false(session_in_tx(a));
    db_release(g_pool, b);
    db_release(g_pool, a);
}

static void cached_first_statement_of_transaction_survives_kill(void **s)
{
    (void)s;
    char ins[512];
    db_pool *one = pool_with_cached_insert_killed("cf-1", ins);
    db_conn *c;
    /* nothing of the transaction has run when the link turns out dead (autocommit: BEGIN
     * finds it; lazy: the first statement does, uncommitted), so it goes on, once */
    assert_int_equal(db_acquire(one, &c, NULL, 0), 0);
    assert_int_equal(db_begin(c), 0);
    db_val p[2] = {DB_STR("cf-2"), DB_NULL};
    assert_int_equal(db_exec(c, ins, p, 2, NULL, NULL), 0);
    assert_int_equal(db_commit(c), 0);
    assert_int_equal(count_named(c, "cf-2"), 1);
    db_release(one, c);
    db_pool_free(one);
}

int main(void)
{
    stack_secrets_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(insert_and_select_round_trip_with_null),
        cmocka_unit_test(long_values_are_fetched_whole),
        cmocka_unit_test(duplicate_key_is_distinct_error),
        cmocka_unit_test(optimistic_update_detects_stale_version),
        cmocka_unit_test(transactions_commit_and_rollback),
        cmocka_unit_test(pool_under_threads_serializes_connections),
        cmocka_unit_test(reconnects_after_session_is_killed),
        cmocka_unit_test(transaction_begins_on_fresh_connection_after_kill),
        cmocka_unit_test(new_statement_after_kill_is_prepared_on_fresh_connection),
        cmocka_unit_test(cached_write_after_kill_fails_once_then_recovers),
        cmocka_unit_test(statement_cache_evicts_and_reuses_correctly),
        cmocka_unit_test(tx_retry_rolls_back_and_retries_conflicts_only),
        cmocka_unit_test(create_or_load_creates_once_then_loads),
        cmocka_unit_test(read_committed_claim_does_not_block_inserts),
        cmocka_unit_test(level_applies_to_one_transaction_only),
        cmocka_unit_test(read_committed_inside_a_transaction_is_refused),
        cmocka_unit_test(unreachable_database_is_io_error),
        cmocka_unit_test(lazy_transaction_sends_no_begin),
        cmocka_unit_test(statements_outside_a_transaction_act_as_autocommitted),
        cmocka_unit_test(cached_first_statement_of_transaction_survives_kill),
    };
    g_lazy = false;
    int failed = cmocka_run_group_tests_name("autocommit sessions", tests, setup, teardown);
    g_lazy = true;
    failed += cmocka_run_group_tests_name("lazy_begin sessions", tests, setup, teardown);
    return failed;
}
