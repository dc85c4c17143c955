/* db.c — MySQL/MariaDB pool and prepared-statement helpers (MariaDB Connector/C).
 * Must not share a MYSQL handle between threads: the pool hands each to one borrower. */
#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_db.h"
#include "cm_error.h"
#include "cm_log.h"
#include "slots.h"

#define DB_MAX_PARAMS  64
#define DB_FETCH_CHUNK 256
#define DB_STMT_CACHE  32 /* prepared statements kept per connection (LRU) */
#define DB_IDLE_PING_S 10 /* a connection idle this long is pinged before use */

/* A prepared statement kept for reuse: prepare costs a round trip (and close another), so
 * a cached statement turns three round trips into one. */
typedef struct stmt_ent {
    char *sql;
    MYSQL_STMT *st;
    uint64_t used;
} stmt_ent;

struct db_conn {
    struct db_pool *pool;
    MYSQL *m;
    bool broken;
    bool in_tx;
    bool tx_fresh; /* lazy_begin: the transaction has run no statement yet */
    bool tx_rc;    /* lazy_begin: ... and the session was told READ COMMITTED for it */
    unsigned errnum;
    char err[512];
    stmt_ent cache[DB_STMT_CACHE];
    uint64_t tick;
};

struct db_pool {
    slots slots; /* which conns are lent */
    char *host, *user, *password, *database;
    int port, connect_timeout, rw_timeout;
    int size;
    bool lazy; /* db_config.lazy_begin: the sessions run with autocommit off */
    db_conn *conns;
};

struct db_result {
    size_t rows, cols;
    char **names;
    char **cells; /* rows * cols, NULL for SQL NULL */
};

static void cache_clear(db_conn *c);

static pthread_once_t g_lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void)
{
    mysql_library_init(0, NULL, NULL);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

int db_pool_new(const db_config *cfg, db_pool **out)
{
    *out = NULL;
    if (!cfg || !cfg->host || cfg->pool_size < 1)
        return CM_ERR_INVALID;
    pthread_once(&g_lib_once, lib_init);
    db_pool *p = calloc(1, sizeof *p);
    if (!p)
        return CM_ERR_NOMEM;
    p->host = dup_or_empty(cfg->host);
    p->user = dup_or_empty(cfg->user);
    p->password = dup_or_empty(cfg->password);
    p->database = dup_or_empty(cfg->database);
    p->conns = calloc((size_t)cfg->pool_size, sizeof *p->conns);
    p->size = cfg->pool_size;
    if (!p->host || !p->user || !p->password || !p->database || !p->conns ||
        slots_init(&p->slots, cfg->pool_size) != 0) {
        db_pool_free(p);
        return CM_ERR_NOMEM;
    }
    for (int i = 0; i < cfg->pool_size; i++)
        p->conns[i].pool = p;
    p->port = cfg->port;
    p->connect_timeout = cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 5;
    p->rw_timeout = cfg->rw_timeout_s > 0 ? cfg->rw_timeout_s : 30;
    p->lazy = cfg->lazy_begin;
    *out = p;
    return 0;
}

void db_pool_free(db_pool *p)
{
    if (!p)
        return;
    slots_destroy(&p->slots, "db_pool_free");
    for (int i = 0; p->conns && i < p->size; i++) {
        cache_clear(&p->conns[i]);
        if (p->conns[i].m)
            mysql_close(p->conns[i].m);
    }
    free(p->host);
    free(p->user);
    free(p->password);
    free(p->database);
    free(p->conns);
    free(p);
}

static void set_err(db_conn *c, unsigned num, const char *msg)
{
    c->errnum = num;
    snprintf(c->err, sizeof c->err, "%s", msg ? msg : "");
}

static bool is_lost(unsigned e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_SERVER_LOST_EXTENDED ||
           e == CR_CONN_HOST_ERROR || e == CR_CONNECTION_ERROR;
}

/* Map a MySQL error number to our code; a lost connection marks the handle broken. */
static int map_err(db_conn *c, unsigned e)
{
    if (e == ER_DUP_ENTRY)
        return CM_ERR_DUPLICATE;
    if (e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT)
        return CM_ERR_TIMEOUT;
    if (is_lost(e)) {
        c->broken = true;
        c->in_tx = c->tx_fresh = c->tx_rc = false;
        return CM_ERR_IO;
    }
    return CM_ERR_DB;
}

/* Close every cached statement (before its MYSQL handle goes away). */
static void cache_clear(db_conn *c)
{
    for (int i = 0; i < DB_STMT_CACHE; i++) {
        if (c->cache[i].st)
            mysql_stmt_close(c->cache[i].st);
        free(c->cache[i].sql);
        c->cache[i] = (stmt_ent){0};
    }
}

static int connect_conn(db_pool *p, db_conn *c)
{
    cache_clear(c);
    if (c->m)
        mysql_close(c->m);
    c->m = mysql_init(NULL);
    if (!c->m) {
        set_err(c, 0, "mysql_init failed");
        return CM_ERR_NOMEM;
    }
    unsigned ct = (unsigned)p->connect_timeout, rw = (unsigned)p->rw_timeout;
    mysql_options(c->m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options(c->m, MYSQL_OPT_READ_TIMEOUT, &rw);
    mysql_options(c->m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
    mysql_options(c->m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(c->m, p->host, p->user, p->password,
                            p->database[0] ? p->database : NULL, (unsigned)p->port, NULL, 0)) {
        set_err(c, mysql_errno(c->m), mysql_error(c->m));
        mysql_close(c->m);
        c->m = NULL;
        return CM_ERR_IO;
    }
    /* lazy_begin: the session's first statement after a COMMIT opens the next transaction */
    if (p->lazy && mysql_autocommit(c->m, 0)) {
        set_err(c, mysql_errno(c->m), mysql_error(c->m));
        mysql_close(c->m);
        c->m = NULL;
        return CM_ERR_IO;
    }
    c->broken = false;
    c->in_tx = false;
    c->tx_fresh = false;
    c->tx_rc = false;
    return 0;
}

int db_acquire(db_pool *p, db_conn **out, char *err, size_t errn)
{
    int idle_s = 0;
    db_conn *c = &p->conns[slots_take(&p->slots, &idle_s)];
    int rc = 0;
    *out = NULL;
    /* A connection idle for a while may have been dropped by the server (wait_timeout, a
     * restart): one ping now is cheaper than failing the caller's first statement. */
    if (c->m && !c->broken && idle_s >= DB_IDLE_PING_S && mysql_ping(c->m))
        c->broken = true;
    if (!c->m || c->broken)
        rc = connect_conn(p, c);
    if (rc) {
        log_warn("mysql %s:%d unreachable: %s", p->host, p->port, c->err);
        if (err && errn)
            snprintf(err, errn, "%s", c->err);
        db_release(p, c);
        return CM_ERR_IO;
    }
    c->errnum = 0;
    c->err[0] = '\0';
    *out = c;
    return 0;
}

void db_release(db_pool *p, db_conn *c)
{
    if (!c)
        return;
    if (c->in_tx)
        db_rollback(c);
    slots_give(&p->slots, (int)(c - p->conns), c->m != NULL && !c->broken);
}

/* Sleeps a random 0..cap ms (per-thread generator). */
static void jitter_ms(int cap)
{
    static _Thread_local unsigned seed;
    if (seed == 0)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    struct timespec ts = {0, (long)(rand_r(&seed) % (cap * 1000 + 1)) * 1000L};
    nanosleep(&ts, NULL);
}

int db_tx_retry(db_pool *p, int attempts, db_tx_fn fn, void *ctx)
{
    db_conn *c = NULL;
    int rc = db_acquire(p, &c, NULL, 0);
    for (int i = 0; c != NULL && i < attempts; i++) {
        if (i > 0)
            jitter_ms(1 << (i < 5 ? i - 1 : 4));
        rc = fn(c, ctx);
        if (rc != CM_ERR_CONFLICT && rc != CM_ERR_TIMEOUT)
            break;
        if (c->in_tx)
            db_rollback(c);
    }
    db_release(p, c);
    return rc;
}

typedef struct create_attempt {
    const db_create *spec;
    bool *created;
} create_attempt;

int db_query_row(db_conn *c, const char *sql, db_val key, db_row_fn row, void *out)
{
    db_result *r = NULL;
    int rc = db_query(c, sql, &key, 1, &r);
    if (rc == 0)
        rc = row(r, out);
    db_result_free(r);
    return rc;
}

int db_get_row(db_pool *p, const char *sql, db_val key, db_row_fn row, void *out)
{
    db_conn *c = NULL;
    int rc = db_acquire(p, &c, NULL, 0);
    if (rc == 0)
        rc = db_query_row(c, sql, key, row, out);
    db_release(p, c);
    return rc;
}

static int load_existing(db_conn *c, const db_create *spec)
{
    int rc = db_query_row(c, spec->load_sql, spec->key, spec->load_row, spec->ctx);
    return rc == CM_ERR_NOT_FOUND ? CM_ERR_CONFLICT : rc; /* the other insert rolled back */
}

static int create_once(db_conn *c, void *arg)
{
    const create_attempt *a = arg;
    const db_create *spec = a->spec;
    uint64_t id = 0;
    int rc = db_begin(c);
    if (rc == 0)
        rc = db_exec(c, spec->insert_sql, spec->insert_params, spec->ninsert, NULL, &id);
    if (rc == CM_ERR_DUPLICATE) {
        db_rollback(c);
        *a->created = false;
        return load_existing(c, spec);
    }
    if (rc == 0 && spec->created != NULL)
        rc = spec->created(c, id, spec->ctx);
    if (rc == 0)
        rc = db_commit(c);
    if (rc == 0)
        *a->created = true;
    return rc;
}

int db_create_or_load(db_pool *p, const db_create *spec, bool *created)
{
    create_attempt a = {spec, created};
    return db_tx_retry(p, DB_TX_ATTEMPTS, create_once, &a);
}

int db_ping(db_pool *p)
{
    db_conn *c;
    int rc = db_acquire(p, &c, NULL, 0);
    if (rc)
        return rc;
    db_result *r = NULL;
    rc = db_query(c, "SELECT 1", NULL, 0, &r);
    db_result_free(r);
    db_release(p, c);
    return rc;
}

/* ---- statements ---- */

static int simple_query(db_conn *c, const char *q);

static const char k_read_committed[] = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED";

/* Whether a statement that found the connection dead may run again on a fresh one: nothing
 * it did can have lasted. True for a read outside a transaction, and for anything in a lazy
 * transaction that has run nothing yet (autocommit is off, so the dead session's work was
 * rolled back with it). */
static bool may_reopen(const db_conn *c, bool reads)
{
    return c->in_tx ? c->tx_fresh : reads;
}

/* Replaces a dead connection; a lazy transaction that has run nothing yet carries over, with
 * its READ COMMITTED level told to the new session. */
static int reopen(db_conn *c)
{
    bool tx = c->in_tx && c->tx_fresh, level = c->tx_rc;
    int rc = connect_conn(c->pool, c);
    if (rc == 0 && tx) {
        c->in_tx = c->tx_fresh = true;
        c->tx_rc = level;
        if (level)
            rc = simple_query(c, k_read_committed);
    }
    return rc;
}

/* Status flags of the server's last reply; SERVER_STATUS_IN_TRANS when they cannot be read
 * (the caller then ends a transaction that may not exist, which is harmless). */
static unsigned server_status(db_conn *c)
{
    unsigned st = 0;
    if (!c->m || mariadb_get_infov(c->m, MARIADB_CONNECTION_SERVER_STATUS, &st))
        return SERVER_STATUS_IN_TRANS;
    return st;
}

/* lazy_begin: a statement outside a transaction opened one when it touched a table
 * (autocommit is off): commit it when the statement succeeded, roll it back when not, so
 * that the statement has autocommit's effect and no snapshot outlives it. A success reports
 * whether it opened one; an error packet carries no status, so a failure always rolls back. */
static int end_standalone(db_conn *c, int rc)
{
    if (!c->pool->lazy || c->in_tx || c->broken || !c->m)
        return rc;
    if (rc != 0) {
        simple_query(c, "ROLLBACK");
        return rc;
    }
    return (server_status(c) & SERVER_STATUS_IN_TRANS) ? simple_query(c, "COMMIT") : 0;
}

/* The cached statement for `sql`, preparing (and caching) it when new. A connection that
 * went away is reopened once here, outside a transaction: preparing has no side effect. */
static int get_stmt(db_conn *c, const char *sql, MYSQL_STMT **out)
{
    *out = NULL;
    int lru = 0;
    for (int i = 0; i < DB_STMT_CACHE; i++) {
        if (c->cache[i].st && !strcmp(c->cache[i].sql, sql)) {
            c->cache[i].used = ++c->tick;
            *out = c->cache[i].st;
            return 0;
        }
        if (c->cache[i].used < c->cache[lru].used)
            lru = i;
    }
    MYSQL_STMT *st = NULL;
    for (int attempt = 0;; attempt++) {
        if (c->broken || !c->m) {
            set_err(c, CR_SERVER_GONE_ERROR, "connection lost");
            return CM_ERR_IO;
        }
        st = mysql_stmt_init(c->m);
        if (!st) {
            set_err(c, 0, "mysql_stmt_init failed");
            return CM_ERR_NOMEM;
        }
        if (mysql_stmt_prepare(st, sql, strlen(sql)) == 0)
            break;
        unsigned e = mysql_stmt_errno(st);
        set_err(c, e, mysql_stmt_error(st));
        mysql_stmt_close(st);
        if (is_lost(e) && attempt == 0 && may_reopen(c, true) && reopen(c) == 0) {
            lru = 0; /* the cache was emptied */
            continue;
        }
        return map_err(c, e);
    }
    char *copy = strdup(sql);
    if (!copy) {
        mysql_stmt_close(st);
        return CM_ERR_NOMEM;
    }
    stmt_ent *e = &c->cache[lru];
    if (e->st)
        mysql_stmt_close(e->st);
    free(e->sql);
    *e = (stmt_ent){.sql = copy, .st = st, .used = ++c->tick};
    *out = st;
    return 0;
}

/* Close and forget a statement that failed: its state is not worth trusting. */
static void drop_stmt(db_conn *c, MYSQL_STMT *st)
{
    for (int i = 0; i < DB_STMT_CACHE; i++)
        if (c->cache[i].st == st) {
            mysql_stmt_close(st);
            free(c->cache[i].sql);
            c->cache[i] = (stmt_ent){0};
            return;
        }
}

/* Bind and execute `sql`. *out is the executed (cached) statement, owned by the cache.
 * When the connection turns out dead on execute, a result-producing statement (a read) is
 * retried once on a fresh connection outside a transaction; a write is not, since it may
 * have run. */
static int prepare_exec(db_conn *c, const char *sql, const db_val *params, size_t n,
                        MYSQL_STMT **out)
{
    *out = NULL;
    if (n > DB_MAX_PARAMS || (n && !params)) {
        set_err(c, 0, "too many parameters");
        return CM_ERR_INVALID;
    }
    MYSQL_BIND b[DB_MAX_PARAMS];
    int64_t ints[DB_MAX_PARAMS];
    memset(b, 0, sizeof(MYSQL_BIND) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        switch (params[i].type) {
        case DB_T_INT:
            ints[i] = params[i].i;
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &ints[i];
            break;
        case DB_T_STR:
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = (void *)params[i].s;
            b[i].buffer_length = (unsigned long)params[i].len;
            break;
        default: b[i].buffer_type = MYSQL_TYPE_NULL; break;
        }
    }
    for (int attempt = 0;; attempt++) {
        MYSQL_STMT *st;
        int rc = get_stmt(c, sql, &st);
        if (rc)
            return rc;
        if (mysql_stmt_param_count(st) != n) {
            set_err(c, 0, "parameter count does not match the statement");
            return CM_ERR_INVALID;
        }
        if ((!n || !mysql_stmt_bind_param(st, b)) && !mysql_stmt_execute(st)) {
            c->tx_fresh = false;
            *out = st;
            return 0;
        }
        unsigned e = mysql_stmt_errno(st);
        set_err(c, e, mysql_stmt_error(st));
        bool reads = mysql_stmt_field_count(st) > 0;
        drop_stmt(c, st);
        if (is_lost(e) && attempt == 0 && may_reopen(c, reads) && reopen(c) == 0)
            continue;
        c->tx_fresh = false;
        return map_err(c, e);
    }
}

static int exec_once(db_conn *c, const char *sql, const db_val *params, size_t nparams,
                     uint64_t *affected, uint64_t *insert_id)
{
    MYSQL_STMT *st;
    int rc = prepare_exec(c, sql, params, nparams, &st);
    if (rc)
        return rc;
    if (affected)
        *affected = (uint64_t)mysql_stmt_affected_rows(st);
    if (insert_id)
        *insert_id = (uint64_t)mysql_stmt_insert_id(st);
    if (mysql_stmt_field_count(st) > 0) { /* a SELECT through db_exec: drain its rows */
        if (mysql_stmt_store_result(st)) {
            unsigned e = mysql_stmt_errno(st);
            set_err(c, e, mysql_stmt_error(st));
            drop_stmt(c, st);
            return map_err(c, e);
        }
        mysql_stmt_free_result(st);
    }
    return 0;
}

int db_exec(db_conn *c, const char *sql, const db_val *params, size_t nparams, uint64_t *affected,
            uint64_t *insert_id)
{
    return end_standalone(c, exec_once(c, sql, params, nparams, affected, insert_id));
}

void db_result_free(db_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->rows * r->cols; i++)
        free(r->cells[i]);
    for (size_t i = 0; i < r->cols; i++)
        free(r->names[i]);
    free(r->cells);
    free(r->names);
    free(r);
}

/* Fetch every row as text; long values are fetched again with the right buffer size. */
static int fetch_all(db_conn *c, MYSQL_STMT *st, db_result *r)
{
    size_t cols = r->cols;
    MYSQL_BIND *b = calloc(cols, sizeof *b);
    char *bufs = malloc(cols * DB_FETCH_CHUNK);
    unsigned long *lens = calloc(cols, sizeof *lens);
    my_bool *nulls = calloc(cols, sizeof *nulls);
    my_bool *errs = calloc(cols, sizeof *errs);
    size_t cap = 0;
    int rc = CM_ERR_NOMEM;
    if (!b || !bufs || !lens || !nulls || !errs)
        goto out;
    for (size_t i = 0; i < cols; i++) {
        b[i].buffer_type = MYSQL_TYPE_STRING;
        b[i].buffer = bufs + i * DB_FETCH_CHUNK;
        b[i].buffer_length = DB_FETCH_CHUNK;
        b[i].length = &lens[i];
        b[i].is_null = &nulls[i];
        b[i].error = &errs[i];
    }
    if (mysql_stmt_bind_result(st, b)) {
        set_err(c, mysql_stmt_errno(st), mysql_stmt_error(st));
        rc = map_err(c, mysql_stmt_errno(st));
        goto out;
    }
    for (;;) {
        int f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA)
            break;
        if (f == 1) {
            set_err(c, mysql_stmt_errno(st), mysql_stmt_error(st));
            rc = map_err(c, mysql_stmt_errno(st));
            goto out;
        }
        if (r->rows == cap) {
            cap = cap ? cap * 2 : 16;
            char **nc = realloc(r->cells, cap * cols * sizeof *nc);
            if (!nc)
                goto out;
            r->cells = nc;
        }
        char **row = r->cells + r->rows * cols;
        for (size_t i = 0; i < cols; i++)
            row[i] = NULL;
        r->rows++;
        for (size_t i = 0; i < cols; i++) {
            if (nulls[i])
                continue;
            char *cell = malloc(lens[i] + 1);
            if (!cell)
                goto out;
            if (lens[i] <= DB_FETCH_CHUNK) {
                memcpy(cell, bufs + i * DB_FETCH_CHUNK, lens[i]);
            } else {
                MYSQL_BIND one;
                memset(&one, 0, sizeof one);
                one.buffer_type = MYSQL_TYPE_STRING;
                one.buffer = cell;
                one.buffer_length = lens[i] + 1;
                unsigned long got = 0;
                one.length = &got;
                if (mysql_stmt_fetch_column(st, &one, (unsigned)i, 0)) {
                    free(cell);
                    set_err(c, mysql_stmt_errno(st), mysql_stmt_error(st));
                    rc = CM_ERR_DB;
                    goto out;
                }
            }
            cell[lens[i]] = '\0';
            row[i] = cell;
        }
    }
    rc = 0;
out:
    free(b);
    free(bufs);
    free(lens);
    free(nulls);
    free(errs);
    return rc;
}

static int query_once(db_conn *c, const char *sql, const db_val *params, size_t nparams,
                      db_result **out)
{
    *out = NULL;
    MYSQL_STMT *st;
    int rc = prepare_exec(c, sql, params, nparams, &st);
    if (rc)
        return rc;
    db_result *r = calloc(1, sizeof *r);
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (!r) {
        rc = CM_ERR_NOMEM;
        goto out;
    }
    if (!meta) { /* not a SELECT: empty result */
        *out = r;
        r = NULL;
        goto out;
    }
    r->cols = mysql_num_fields(meta);
    r->names = calloc(r->cols ? r->cols : 1, sizeof *r->names);
    if (!r->names) {
        rc = CM_ERR_NOMEM;
        goto out;
    }
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    for (size_t i = 0; i < r->cols; i++) {
        r->names[i] = strdup(fields[i].name ? fields[i].name : "");
        if (!r->names[i]) {
            rc = CM_ERR_NOMEM;
            goto out;
        }
    }
    if (mysql_stmt_store_result(st)) {
        set_err(c, mysql_stmt_errno(st), mysql_stmt_error(st));
        rc = map_err(c, mysql_stmt_errno(st));
        goto out;
    }
    rc = fetch_all(c, st, r);
    if (rc == 0) {
        *out = r;
        r = NULL;
    }
out:
    if (meta)
        mysql_free_result(meta);
    db_result_free(r);
    if (rc)
        drop_stmt(c, st); /* never reuse a statement left mid-result */
    else
        mysql_stmt_free_result(st);
    return rc;
}

int db_query(db_conn *c, const char *sql, const db_val *params, size_t nparams, db_result **out)
{
    int rc = end_standalone(c, query_once(c, sql, params, nparams, out));
    if (rc != 0) {
        db_result_free(*out);
        *out = NULL;
    }
    return rc;
}

size_t db_result_rows(const db_result *r)
{
    return r ? r->rows : 0;
}
size_t db_result_cols(const db_result *r)
{
    return r ? r->cols : 0;
}

int db_result_col(const db_result *r, const char *name)
{
    for (size_t i = 0; r && i < r->cols; i++)
        if (!strcasecmp(r->names[i], name))
            return (int)i;
    return -1;
}

bool db_result_is_null(const db_result *r, size_t row, size_t col)
{
    return db_result_str(r, row, col) == NULL;
}

const char *db_result_str(const db_result *r, size_t row, size_t col)
{
    if (!r || row >= r->rows || col >= r->cols)
        return NULL;
    return r->cells[row * r->cols + col];
}

int64_t db_result_int(const db_result *r, size_t row, size_t col, int64_t def)
{
    const char *s = db_result_str(r, row, col);
    if (!s || !*s)
        return def;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    return (*end == '\0') ? (int64_t)v : def;
}

/* ---- transactions ---- */

static int simple_query(db_conn *c, const char *q)
{
    if (c->broken || !c->m) {
        set_err(c, CR_SERVER_GONE_ERROR, "connection lost");
        return CM_ERR_IO;
    }
    if (mysql_real_query(c->m, q, strlen(q))) {
        unsigned e = mysql_errno(c->m);
        set_err(c, e, mysql_error(c->m));
        return map_err(c, e);
    }
    return 0;
}

/* Sends q, which opens or prepares a transaction and so has no effect yet: a dead connection
 * is replaced and q sent again, once. */
static int query_reopening(db_conn *c, const char *q)
{
    int rc = simple_query(c, q);
    if (rc == CM_ERR_IO && connect_conn(c->pool, c) == 0)
        rc = simple_query(c, q);
    return rc;
}

/* lazy_begin: marks the transaction open; its first statement opens it on the server. A
 * dead connection is replaced now (nothing has run), and a transaction the session should
 * not have open (none is ever left) is rolled back first. */
static int begin_lazy(db_conn *c, bool read_committed)
{
    int rc = 0;
    if (!c->broken && c->m && (server_status(c) & SERVER_STATUS_IN_TRANS))
        rc = simple_query(c, "ROLLBACK");
    if (c->broken || !c->m)
        rc = connect_conn(c->pool, c);
    /* SET TRANSACTION applies to the next transaction only: the one this opens */
    if (rc == 0 && read_committed)
        rc = query_reopening(c, k_read_committed);
    if (rc == 0) {
        c->in_tx = c->tx_fresh = true;
        c->tx_rc = read_committed;
    }
    return rc;
}

int db_begin(db_conn *c)
{
    if (c->in_tx)
        return CM_ERR_STATE;
    if (c->pool->lazy)
        return begin_lazy(c, false);
    int rc = query_reopening(c, "START TRANSACTION");
    if (rc == 0)
        c->in_tx = true;
    return rc;
}

int db_begin_read_committed(db_conn *c)
{
    if (c->in_tx)
        return CM_ERR_STATE;
    if (c->pool->lazy)
        return begin_lazy(c, true);
    /* SET TRANSACTION applies to the next transaction only */
    int rc = query_reopening(c, k_read_committed);
    if (rc == 0)
        rc = simple_query(c, "START TRANSACTION");
    if (rc == 0)
        c->in_tx = true;
    return rc;
}

/* Ends the transaction with `verb`. A lazy transaction that ran nothing has nothing on the
 * server to end, unless it set READ COMMITTED: ending it clears that level too. */
static int end_tx(db_conn *c, const char *verb)
{
    bool skip = c->tx_fresh && !c->tx_rc;
    c->in_tx = c->tx_fresh = c->tx_rc = false;
    return skip ? 0 : simple_query(c, verb);
}

int db_commit(db_conn *c)
{
    if (!c->in_tx)
        return CM_ERR_STATE;
    return end_tx(c, "COMMIT");
}

int db_rollback(db_conn *c)
{
    if (!c->in_tx)
        return 0;
    return end_tx(c, "ROLLBACK");
}

bool db_in_tx(const db_conn *c)
{
    return c->in_tx;
}

int db_update_versioned(db_conn *c, const char *sql, const db_val *params, size_t nparams)
{
    uint64_t affected = 0;
    int rc = db_exec(c, sql, params, nparams, &affected, NULL);
    if (rc)
        return rc;
    return affected == 1 ? 0 : CM_ERR_CONFLICT;
}

const char *db_errmsg(const db_conn *c)
{
    return c->err;
}
unsigned db_errno(const db_conn *c)
{
    return c->errnum;
}
