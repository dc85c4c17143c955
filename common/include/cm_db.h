/* cm_db.h — MySQL/MariaDB connection pool (MariaDB Connector/C) with prepared-statement
 * helpers, transactions, optimistic `version` updates and duplicate-key detection.
 * A db_conn belongs to one thread between db_acquire and db_release. */
#ifndef CM_DB_H
#define CM_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct db_pool db_pool;
typedef struct db_conn db_conn;
typedef struct db_result db_result;

typedef struct db_config {
    const char *host; /* "127.0.0.1" */
    int port;         /* 21306 */
    const char *user;
    const char *password;
    const char *database;  /* NULL/"" -> no default database */
    int pool_size;         /* >= 1 */
    int connect_timeout_s; /* 0 -> 5 */
    int rw_timeout_s;      /* read/write timeout, 0 -> 30 */
    /* Transactions begin with their first statement instead of a START TRANSACTION round
     * trip (the session runs with autocommit off). A statement outside a transaction is then
     * followed by a COMMIT when it opened one (a write, or a read of a table), so it costs one
     * round trip more than with autocommit: for pools that mostly run transactions. */
    bool lazy_begin;
} db_config;

/* Create a pool of `pool_size` connections. Connections are opened lazily, so this
 * succeeds while the database is down (readiness reports it). Strings are copied.
 * Returns 0, CM_ERR_INVALID or CM_ERR_NOMEM. */
int db_pool_new(const db_config *cfg, db_pool **out);

/* Close every connection and free. All connections must have been released. NULL ok. */
void db_pool_free(db_pool *pool);

/* Borrow a connection, waiting while all are in use (never hold two from one pool in one
 * thread: with a small pool that can wait forever). The connection is connected (and
 * reconnected if it was lost: `mysql_ping` after an error, new handle if needed).
 * Returns 0 with *out set, or CM_ERR_IO (database unreachable; message in the log and
 * in `err` when non-NULL, size errn). Any thread. */
int db_acquire(db_pool *pool, db_conn **out, char *err, size_t errn);

/* Give a connection back. An open transaction is rolled back first. NULL ok. */
void db_release(db_pool *pool, db_conn *conn);

/* Acquire + "SELECT 1" + release. 0 when the database answers. For /ready. */
int db_ping(db_pool *pool);

/* ---- bound values ---- */
typedef enum { DB_T_NULL = 0, DB_T_INT, DB_T_STR } db_type;
typedef struct db_val {
    db_type type;
    int64_t i;
    const char *s; /* borrowed for the duration of the call */
    size_t len;
} db_val;
#define DB_NULL   ((db_val){.type = DB_T_NULL})
#define DB_INT(x) ((db_val){.type = DB_T_INT, .i = (int64_t)(x)})
/* NUL-terminated string; a NULL pointer binds SQL NULL. */
static inline db_val db_str_val(const char *s)
{
    db_val v = {.type = DB_T_NULL};
    if (s) {
        v.type = DB_T_STR;
        v.s = s;
        v.len = strlen(s);
    }
    return v;
}
#define DB_STR(x)     db_str_val(x)
#define DB_STRN(x, n) ((db_val){.type = DB_T_STR, .s = (x), .len = (n)})

/* ---- statements (server-side prepared; `?` placeholders; nparams must match) ----
 * Each connection caches its last 32 prepared statements by SQL text, so pass the same
 * text for the same statement and put values in parameters, not in the SQL.
 * Lost connections: preparing, BEGIN, reads outside a transaction and (lazy_begin) the first
 * statement of a transaction are retried once on a fresh connection (they have no effect
 * yet); any other write whose link dies returns CM_ERR_IO because it may have run. A
 * connection idle >= 10 s is pinged before it is handed out. */

/* Run INSERT/UPDATE/DELETE/DDL. `affected` and `insert_id` may be NULL. `affected` is
 * MySQL's default: rows actually changed (an UPDATE that sets the same values counts 0).
 * Returns 0, CM_ERR_DUPLICATE (ER_DUP_ENTRY, 1062), CM_ERR_IO (connection lost; the
 * connection is reconnected on its next acquire, an open transaction is gone),
 * CM_ERR_TIMEOUT (lock wait timeout 1205 / deadlock 1213: retry the transaction) or CM_ERR_DB. */
int db_exec(db_conn *c, const char *sql, const db_val *params, size_t nparams, uint64_t *affected,
            uint64_t *insert_id);

/* Run a SELECT and buffer the whole result (every column fetched as text).
 * *out owned, free with db_result_free. Same error codes as db_exec. */
int db_query(db_conn *c, const char *sql, const db_val *params, size_t nparams, db_result **out);

size_t db_result_rows(const db_result *r);
size_t db_result_cols(const db_result *r);
/* Column index by name (as in the select list / AS alias), -1 if none. */
int db_result_col(const db_result *r, const char *name);
bool db_result_is_null(const db_result *r, size_t row, size_t col);
/* Text of a cell (NUL-terminated, borrowed from r), NULL for SQL NULL or out of range. */
const char *db_result_str(const db_result *r, size_t row, size_t col);
/* Cell as int64 (strtoll); NULL or not a number -> def. */
int64_t db_result_int(const db_result *r, size_t row, size_t col, int64_t def);
void db_result_free(db_result *r);

/* Reads one row: runs `sql`, a SELECT with the one parameter `key`, and hands the result to
 * row(r, out), which fills out from row 0 or answers CM_ERR_NOT_FOUND when there is none.
 * Returns row's answer or db_query's error. db_get_row does the same on a connection it
 * borrows from pool for the call. */
typedef int (*db_row_fn)(const db_result *r, void *out);
int db_query_row(db_conn *c, const char *sql, db_val key, db_row_fn row, void *out);
int db_get_row(db_pool *pool, const char *sql, db_val key, db_row_fn row, void *out);

/* ---- transactions ---- */
/* BEGIN / COMMIT / ROLLBACK. db_commit failing leaves no transaction open. */
int db_begin(db_conn *c);
int db_commit(db_conn *c);
int db_rollback(db_conn *c);
bool db_in_tx(const db_conn *c);

/* BEGIN at READ COMMITTED for this one transaction (the session keeps its own level).
 * For a queue consumer that claims rows with SELECT ... FOR UPDATE SKIP LOCKED: at the
 * default REPEATABLE READ such a scan takes next-key (gap) locks, so every INSERT into the
 * queue waits until the consumer commits; at READ COMMITTED it locks only the rows it
 * returns. Same contract as db_begin; costs one more round trip. */
int db_begin_read_committed(db_conn *c);

/* ---- a transaction retried ---- */

/* Attempts a service gives a transaction that may collide with another writer. */
#define DB_TX_ATTEMPTS 16

/* One attempt of a transaction on c: typically db_begin, statements, db_commit. Returns 0, a
 * code worth another attempt (CM_ERR_CONFLICT: a row moved on since it was read;
 * CM_ERR_TIMEOUT: deadlock or lock wait), or any other error. It need not roll back on
 * failure: db_tx_retry does. */
typedef int (*db_tx_fn)(db_conn *c, void *ctx);

/* Borrows a connection and runs fn on it until fn returns something other than
 * CM_ERR_CONFLICT / CM_ERR_TIMEOUT, at most `attempts` (>= 1) times; after a failed attempt it
 * rolls back what is open and waits a short random while (up to 1, 2, 4, 8, then 16 ms) so
 * colliding writers do not collide again. Returns fn's last code, or db_acquire's error. Any
 * thread. */
int db_tx_retry(db_pool *pool, int attempts, db_tx_fn fn, void *ctx);

/* Creating a row once per natural key (a UNIQUE column such as a saga id): a repeated request
 * gets the row the first one created. */
typedef struct db_create {
    const char *insert_sql; /* INSERT of the new row */
    const db_val *insert_params;
    size_t ninsert;
    const char *load_sql; /* SELECT of the existing row by its key, one parameter: key */
    db_val key;
    db_row_fn load_row; /* reads that row into ctx (db_query_row) */
    /* After the INSERT, in its transaction: what goes with it (the outbox row). NULL: nothing. */
    int (*created)(db_conn *c, uint64_t insert_id, void *ctx);
    void *ctx;
} db_create;

/* Inserts the row or, when its key exists, loads the existing one - in a transaction retried by
 * db_tx_retry (DB_TX_ATTEMPTS; a row that vanished between the duplicate and the load is a
 * conflict). *created says which happened. Returns 0, CM_ERR_CONFLICT, or a callback's / db
 * error. Any thread. */
int db_create_or_load(db_pool *pool, const db_create *spec, bool *created);

/* Optimistic update: run `sql`, which must be written as
 *   UPDATE t SET ..., version = version + 1 WHERE id = ? AND version = ?
 * Returns 0 when exactly one row changed, CM_ERR_CONFLICT when none did (row gone or the
 * version moved on: reload and decide), or db_exec's errors. */
int db_update_versioned(db_conn *c, const char *sql, const db_val *params, size_t nparams);

/* Last MySQL error on this connection (message / number) for logs. Borrowed. */
const char *db_errmsg(const db_conn *c);
unsigned db_errno(const db_conn *c);

#endif
