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

/* The six values of one log row after its saga id (step, event, attempt, http_status,
 * error_type, message); a row that is absent binds six NULLs. */
static void log_vals(const step_log_t *l, db_val *v)
{
    const saga_error_t *e = l != NULL ? l->err : NULL;
    int failed = e != NULL && e->code != 0;
    v[0] = l != NULL ? DB_STR(step_name(l->step)) : DB_NULL;
    v[1] = l != NULL ? DB_STR(l->event) : DB_NULL;
    v[2] = l != NULL ? DB_INT(l->attempt) : DB_NULL;
    v[3] = failed ? DB_INT(e->http_status) : DB_NULL;
    v[4] = failed ? DB_STR(e->type) : DB_NULL;
    v[5] = failed ? DB_STR(e->message) : DB_NULL;
}

#define LOG_COLS 7

/* Inserts up to REPO_LOGS_MAX log rows with one statement (one round trip per batch). */
static int insert_logs(db_conn *c, const char *saga_id, const step_log_t *logs, int n)
{
    static const char *const SQL[REPO_LOGS_MAX] = {
        "INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type,"
        " message) VALUES (?, ?, ?, ?, ?, ?, ?)",
        "INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type,"
        " message) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)",
        "INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type,"
        " message) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)",
        "INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type,"
        " message) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?),"
        " (?, ?, ?, ?, ?, ?, ?)",
    };
    db_val p[LOG_COLS * REPO_LOGS_MAX];
    if (n < 1 || n > REPO_LOGS_MAX)
        return n == 0 ? 0 : CM_ERR_INVALID;
    for (int i = 0; i < n; i++) {
        p[i * LOG_COLS] = DB_STR(saga_id);
        log_vals(&logs[i], &p[i * LOG_COLS + 1]);
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
        DB_STR(saga_phase_status(row->m.phase)),
        DB_STR(step_name(saga_machine_step(&row->m))),
        DB_INT(row->m.last_forward),
        DB_INT(row->m.comp_done),
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
                  "SELECT phase, last_forward, comp_index, confirms_done, refused,"
                  " cancel_requested, customer_id, product_id, quantity, amount, payment_method,"
                  " order_id, payment_id, error_type, error_message, version FROM saga_instance"
                  " WHERE saga_id = ?",
                  p, 1, &r);
    if (rc != 0)
        goto out;
    if (db_result_rows(r) == 0) {
        rc = CM_ERR_NOT_FOUND;
        goto out;
    }
    memset(out, 0, sizeof *out);
    copy_str(out->saga_id, sizeof out->saga_id, saga_id);
    saga_machine_init(&out->m, NULL);
    int phase = saga_phase_parse(db_result_str(r, 0, 0));
    out->m.phase = phase < 0 ? SAGA_PHASE_FORWARD : (saga_phase_t)phase;
    out->m.last_forward = (saga_step_t)db_result_int(r, 0, 1, -1);
    out->m.comp_done = (int)db_result_int(r, 0, 2, 0);
    out->m.done = (unsigned)db_result_int(r, 0, 3, 0);
    out->m.refused = (unsigned)db_result_int(r, 0, 4, 0);
    out->m.cancel_requested = db_result_int(r, 0, 5, 0) != 0;
    out->in.customer_id = db_result_int(r, 0, 6, 0);
    out->in.product_id = db_result_int(r, 0, 7, 0);
    out->in.quantity = db_result_int(r, 0, 8, 0);
    out->in.amount = db_result_int(r, 0, 9, 0);
    copy_str(out->in.payment_method, sizeof out->in.payment_method, db_result_str(r, 0, 10));
    out->st.order_id = db_result_int(r, 0, 11, 0);
    out->st.payment_id = db_result_int(r, 0, 12, 0);
    copy_str(out->m.error_type, sizeof out->m.error_type, db_result_str(r, 0, 13));
    copy_str(out->m.error_message, sizeof out->m.error_message, db_result_str(r, 0, 14));
    out->version = (int)db_result_int(r, 0, 15, 0);
    if (phase < 0) {
        log_error("saga %s has unknown phase %s", saga_id, db_result_str(r, 0, 0));
        rc = CM_ERR_DB;
    }
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

/* MariaDB / MySQL errno of SIGNAL SQLSTATE '45000' (saga_advance's stale version). */
#define REPO_ERRNO_SIGNAL 1644
#define STATE_COLS        14

int repo_commit(db_pool *db, saga_row_t *row, const step_log_t *logs, int nlogs)
{
    db_conn *c = NULL;
    db_val p[STATE_COLS + 6 * REPO_LOGS_MAX];
    const saga_machine_t *m = &row->m;
    if (nlogs < 1 || nlogs > REPO_LOGS_MAX)
        return CM_ERR_INVALID;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    db_val state[STATE_COLS] = {
        DB_STR(row->saga_id),
        DB_INT(row->version),
        DB_STR(saga_phase_status(m->phase)),
        DB_STR(saga_phase_name(m->phase)),
        DB_STR(step_name(saga_machine_step(m))),
        DB_INT(m->last_forward),
        DB_INT(m->comp_done),
        DB_INT(m->done),
        DB_INT(m->refused),
        DB_INT(m->cancel_requested),
        row->st.order_id > 0 ? DB_INT(row->st.order_id) : DB_NULL,
        row->st.payment_id > 0 ? DB_INT(row->st.payment_id) : DB_NULL,
        m->error_type[0] ? DB_STR(m->error_type) : DB_NULL,
        m->error_type[0] ? DB_STR(m->error_message) : DB_NULL,
    };
    memcpy(p, state, sizeof state);
    for (int i = 0; i < REPO_LOGS_MAX; i++)
        log_vals(i < nlogs ? &logs[i] : NULL, &p[STATE_COLS + 6 * i]);
    /* One CALL = one transaction (sql/orchestrator_db/004_saga_machine.sql). */
    rc = db_exec(c,
                 "CALL saga_advance(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                 " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, NULL);
    if (rc == CM_ERR_DB && db_errno(c) == REPO_ERRNO_SIGNAL)
        rc = CM_ERR_CONFLICT;
    else if (rc != 0)
        log_warn("saga_advance for %s failed: %u %s", row->saga_id, db_errno(c), db_errmsg(c));
    if (rc == 0)
        row->version++;
    db_release(db, c);
    return rc;
}

int repo_log(db_pool *db, const char *saga_id, const step_log_t *logs, int nlogs)
{
    db_conn *c = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    rc = insert_logs(c, saga_id, logs, nlogs);
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
