/* repo.c - SQL for saga_instance and saga_step_log (orchestrator_db).
 * Each function is one transaction (or one statement); nothing here decides a transition. */
#include "repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "cm_log.h"

static const char *step_name(saga_step_t s)
{
    const char *n = saga_step_activity(s);
    return n != NULL ? n : "None";
}

#define LOG_COLS     7
#define LOG_MAX_ROWS 2

/* Inserts up to LOG_MAX_ROWS log rows with one statement (one round trip fewer per
 * transition than a statement per row). */
static int insert_logs(db_conn *c, const char *saga_id, const step_log_t *logs, int n)
{
    static const char *const SQL[LOG_MAX_ROWS] = {
        "INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type,"
        " message) VALUES (?, ?, ?, ?, ?, ?, ?)",
        "INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type,"
        " message) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)",
    };
    db_val p[LOG_COLS * LOG_MAX_ROWS];
    if (n < 1 || n > LOG_MAX_ROWS)
        return n == 0 ? 0 : CM_ERR_INVALID;
    for (int i = 0; i < n; i++) {
        const saga_error_t *e = logs[i].err;
        int failed = e != NULL && e->code != 0;
        db_val *v = &p[i * LOG_COLS];
        v[0] = DB_STR(saga_id);
        v[1] = DB_STR(step_name(logs[i].step));
        v[2] = DB_STR(logs[i].event);
        v[3] = DB_INT(logs[i].attempt);
        v[4] = failed ? DB_INT(e->http_status) : DB_NULL;
        v[5] = failed ? DB_STR(e->type) : DB_NULL;
        v[6] = failed ? DB_STR(e->message) : DB_NULL;
    }
    return db_exec(c, SQL[n - 1], p, (size_t)(LOG_COLS * n), NULL, NULL);
}

int repo_create(db_pool *db, const saga_row_t *row)
{
    db_conn *c = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    db_val p[] = {
        DB_STR(row->saga_id),
        DB_STR(machine_status_name(row->pos.status)),
        DB_STR(step_name(row->pos.step)),
        DB_INT(row->pos.last_forward),
        DB_INT(row->pos.comp_index),
        DB_INT(row->in.customer_id),
        DB_INT(row->in.product_id),
        DB_INT(row->in.quantity),
        DB_INT(row->in.amount),
        DB_STR(row->in.payment_method),
    };
    /* One CALL = one transaction (sql/orchestrator_db/003_saga_create.sql); a duplicate id
     * comes back as CM_ERR_DUPLICATE with nothing written. */
    rc = db_exec(c, "CALL saga_create(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", p, 10, NULL, NULL);
    db_release(db, c);
    return rc;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

int repo_load(db_pool *db, const char *saga_id, saga_row_t *out)
{
    db_conn *c = NULL;
    db_result *r = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    db_val p[] = {DB_STR(saga_id)};
    rc = db_query(c,
                  "SELECT status, step, last_forward, comp_index, customer_id, product_id,"
                  " quantity, amount, payment_method, order_id, payment_id, error_type,"
                  " error_message, version FROM saga_instance WHERE saga_id = ?",
                  p, 1, &r);
    if (rc != 0)
        goto out;
    if (db_result_rows(r) == 0) {
        rc = CM_ERR_NOT_FOUND;
        goto out;
    }
    memset(out, 0, sizeof *out);
    copy_str(out->saga_id, sizeof out->saga_id, saga_id);
    int st = machine_status_parse(db_result_str(r, 0, 0));
    const char *step = db_result_str(r, 0, 1);
    out->pos.status = st < 0 ? MS_RUNNING : (machine_status_t)st;
    out->pos.step = saga_step_from_name(step);
    out->pos.last_forward = (int)db_result_int(r, 0, 2, -1);
    out->pos.comp_index = (int)db_result_int(r, 0, 3, 0);
    out->in.customer_id = db_result_int(r, 0, 4, 0);
    out->in.product_id = db_result_int(r, 0, 5, 0);
    out->in.quantity = db_result_int(r, 0, 6, 0);
    out->in.amount = db_result_int(r, 0, 7, 0);
    copy_str(out->in.payment_method, sizeof out->in.payment_method, db_result_str(r, 0, 8));
    out->st.order_id = db_result_int(r, 0, 9, 0);
    out->st.payment_id = db_result_int(r, 0, 10, 0);
    copy_str(out->error_type, sizeof out->error_type, db_result_str(r, 0, 11));
    copy_str(out->error_message, sizeof out->error_message, db_result_str(r, 0, 12));
    out->version = (int)db_result_int(r, 0, 13, 0);
    if (st < 0) {
        log_error("saga %s has unknown status %s", saga_id, db_result_str(r, 0, 0));
        rc = CM_ERR_DB;
    }
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

/* MariaDB / MySQL errno of SIGNAL SQLSTATE '45000' (saga_transition's stale version). */
#define REPO_ERRNO_SIGNAL 1644

int repo_transition(db_pool *db, saga_row_t *row, machine_pos_t next, const step_log_t *logs,
                    int nlogs)
{
    db_conn *c = NULL;
    if (nlogs < 1 || nlogs > 2)
        return CM_ERR_INVALID;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    const saga_error_t *e = logs[0].err;
    int failed = e != NULL && e->code != 0;
    db_val p[] = {
        DB_STR(row->saga_id),
        DB_INT(row->version),
        DB_STR(machine_status_name(next.status)),
        DB_STR(step_name(next.step)),
        DB_INT(next.last_forward),
        DB_INT(next.comp_index),
        row->st.order_id > 0 ? DB_INT(row->st.order_id) : DB_NULL,
        row->st.payment_id > 0 ? DB_INT(row->st.payment_id) : DB_NULL,
        row->error_type[0] ? DB_STR(row->error_type) : DB_NULL,
        row->error_message[0] ? DB_STR(row->error_message) : DB_NULL,
        DB_STR(step_name(logs[0].step)),
        DB_STR(logs[0].event),
        DB_INT(logs[0].attempt),
        failed ? DB_INT(e->http_status) : DB_NULL,
        failed ? DB_STR(e->type) : DB_NULL,
        failed ? DB_STR(e->message) : DB_NULL,
        nlogs > 1 ? DB_STR(step_name(logs[1].step)) : DB_NULL,
        nlogs > 1 ? DB_STR(logs[1].event) : DB_NULL,
    };
    /* One CALL = one transaction (sql/orchestrator_db/002_saga_transition.sql). */
    rc = db_exec(c, "CALL saga_transition(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", p,
                 sizeof p / sizeof p[0], NULL, NULL);
    if (rc == CM_ERR_DB && db_errno(c) == REPO_ERRNO_SIGNAL)
        rc = CM_ERR_CONFLICT;
    else if (rc != 0)
        log_warn("saga_transition for %s failed: %u %s", row->saga_id, db_errno(c), db_errmsg(c));
    if (rc == 0) {
        row->pos = next;
        row->version++;
    }
    db_release(db, c);
    return rc;
}

int repo_log(db_pool *db, const char *saga_id, const step_log_t *log)
{
    db_conn *c = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    rc = insert_logs(c, saga_id, log, 1);
    db_release(db, c);
    return rc;
}

/* Runs `sql` (a SELECT of saga ids) and calls fn for each row. */
static int each_id(db_pool *db, const char *sql, const db_val *p, size_t np,
                   void (*fn)(const char *saga_id, void *ctx), void *ctx)
{
    db_conn *c = NULL;
    db_result *r = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    rc = db_query(c, sql, p, np, &r);
    db_release(db, c);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < db_result_rows(r); i++)
        fn(db_result_str(r, i, 0), ctx);
    db_result_free(r);
    return 0;
}

int repo_each_unfinished(db_pool *db, void (*fn)(const char *saga_id, void *ctx), void *ctx)
{
    return each_id(db,
                   "SELECT saga_id FROM saga_instance WHERE status IN ('RUNNING', 'COMPENSATING')"
                   " ORDER BY created_at, saga_id",
                   NULL, 0, fn, ctx);
}

int repo_each_stalled(db_pool *db, int64_t stale_s, int limit,
                      void (*fn)(const char *saga_id, void *ctx), void *ctx)
{
    db_val p[] = {DB_INT(stale_s), DB_INT(limit)};
    return each_id(db,
                   "SELECT saga_id FROM saga_instance WHERE status IN ('RUNNING', 'COMPENSATING')"
                   " AND updated_at <= CURRENT_TIMESTAMP(3) - INTERVAL ? SECOND"
                   " ORDER BY updated_at, saga_id LIMIT ?",
                   p, 2, fn, ctx);
}
