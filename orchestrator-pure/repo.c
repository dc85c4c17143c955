/* repo.c - SQL for saga_instance and saga_step_log (orchestrator_db).
 * Each function is one transaction (or one statement); nothing here decides a transition. */
#include "repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "cm_log.h"

/* MariaDB / MySQL errno of SIGNAL SQLSTATE '45000' (a stale version or lease). */
#define REPO_ERRNO_SIGNAL 1644

static const char *step_name(saga_step_t s)
{
    const char *n = saga_step_activity(s);
    return n != NULL ? n : "None";
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

int repo_create(db_pool *db, const saga_row_t *row, const char *owner, int64_t lease_ms)
{
    db_conn *c = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    db_val p[] = {
        DB_STR(row->saga_id),
        DB_STR(saga_phase_status(row->m.phase)),
        DB_STR(saga_phase_name(row->m.phase)),
        DB_STR(step_name(saga_machine_step(&row->m))),
        DB_INT(row->m.last_forward),
        DB_INT(row->in.customer_id),
        DB_INT(row->in.product_id),
        DB_INT(row->in.quantity),
        DB_INT(row->in.amount),
        DB_STR(row->in.payment_method),
        DB_STR(owner),
        DB_INT(lease_ms * 1000),
    };
    /* One statement, autocommitted: the saga and its lease. A duplicate id is
     * CM_ERR_DUPLICATE with nothing written. */
    rc = db_exec(c,
                 "INSERT INTO saga_instance (saga_id, status, phase, step, last_forward,"
                 " customer_id, product_id, quantity, amount, payment_method, owner_id,"
                 " lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                 " CURRENT_TIMESTAMP(3) + INTERVAL ? MICROSECOND)",
                 p, sizeof p / sizeof p[0], NULL, NULL);
    db_release(db, c);
    return rc;
}

/* The columns row_from reads, in its order (repo_load, repo_each_unfinished). */
#define ROW_COLS                                                                                 \
    "saga_id, phase, last_forward, comp_index, confirms_done, refused, cancel_requested,"        \
    " customer_id, product_id, quantity, amount, payment_method, order_id, payment_id,"          \
    " error_type, error_message, version, owner_id, lease_version,"                              \
    " TIMESTAMPDIFF(MICROSECOND, CURRENT_TIMESTAMP(3), lease_until) DIV 1000, retry_step,"       \
    " retry_attempt, retry_error, TIMESTAMPDIFF(MICROSECOND, retry_since, CURRENT_TIMESTAMP(3))" \
    " DIV 1000, ROUND(UNIX_TIMESTAMP(retry_since) * 1000)"

/* Row i of a ROW_COLS result into out. 0, or CM_ERR_DB for a phase this code does not know. */
static int row_from(const db_result *r, size_t i, saga_row_t *out)
{
    memset(out, 0, sizeof *out);
    copy_str(out->saga_id, sizeof out->saga_id, db_result_str(r, i, 0));
    saga_machine_init(&out->m, NULL);
    int phase = saga_phase_parse(db_result_str(r, i, 1));
    out->m.phase = phase < 0 ? SAGA_PHASE_FORWARD : (saga_phase_t)phase;
    out->m.last_forward = (saga_step_t)db_result_int(r, i, 2, -1);
    out->m.comp_done = (int)db_result_int(r, i, 3, 0);
    out->m.done = (unsigned)db_result_int(r, i, 4, 0);
    out->m.refused = (unsigned)db_result_int(r, i, 5, 0);
    out->m.cancel_requested = db_result_int(r, i, 6, 0) != 0;
    out->in.customer_id = db_result_int(r, i, 7, 0);
    out->in.product_id = db_result_int(r, i, 8, 0);
    out->in.quantity = db_result_int(r, i, 9, 0);
    out->in.amount = db_result_int(r, i, 10, 0);
    copy_str(out->in.payment_method, sizeof out->in.payment_method, db_result_str(r, i, 11));
    out->st.order_id = db_result_int(r, i, 12, 0);
    out->st.payment_id = db_result_int(r, i, 13, 0);
    copy_str(out->m.error_type, sizeof out->m.error_type, db_result_str(r, i, 14));
    copy_str(out->m.error_message, sizeof out->m.error_message, db_result_str(r, i, 15));
    out->version = (int)db_result_int(r, i, 16, 0);
    copy_str(out->owner_id, sizeof out->owner_id, db_result_str(r, i, 17));
    out->lease_version = (int)db_result_int(r, i, 18, 0);
    out->has_lease = !db_result_is_null(r, i, 19);
    out->lease_left_ms = db_result_int(r, i, 19, 0);
    out->retry.step = saga_step_from_name(db_result_str(r, i, 20));
    out->retry.attempt = (int)db_result_int(r, i, 21, 0);
    copy_str(out->retry.error, sizeof out->retry.error, db_result_str(r, i, 22));
    out->retry.age_ms = db_result_int(r, i, 23, 0);
    out->retry.since_ms = db_result_int(r, i, 24, 0);
    if (phase < 0) {
        log_error("saga %s has unknown phase %s", out->saga_id, db_result_str(r, i, 1));
        return CM_ERR_DB;
    }
    return 0;
}

int repo_load(db_pool *db, const char *saga_id, saga_row_t *out)
{
    db_conn *c = NULL;
    db_result *r = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    db_val p[] = {DB_STR(saga_id)};
    rc = db_query(c, "SELECT " ROW_COLS " FROM saga_instance WHERE saga_id = ?", p, 1, &r);
    if (rc == 0)
        rc = db_result_rows(r) == 0 ? CM_ERR_NOT_FOUND : row_from(r, 0, out);
    db_result_free(r);
    db_release(db, c);
    return rc;
}

/* A CALL that SIGNALs on a stale version or lease: CM_ERR_CONFLICT; other errors logged. */
static int call_versioned(db_pool *db, const char *what, const char *saga_id, const char *sql,
                          const db_val *p, size_t np)
{
    db_conn *c = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    rc = db_exec(c, sql, p, np, NULL, NULL);
    if (rc == CM_ERR_DB && db_errno(c) == REPO_ERRNO_SIGNAL)
        rc = CM_ERR_CONFLICT;
    else if (rc != 0)
        log_warn("%s for %s failed: %u %s", what, saga_id, db_errno(c), db_errmsg(c));
    db_release(db, c);
    return rc;
}

int repo_commit(db_pool *db, saga_row_t *row, const char *owner, int64_t lease_ms, const char *logs)
{
    const saga_machine_t *m = &row->m;
    const saga_retry_t *t = &row->retry;
    int retrying = t->step != SAGA_STEP_NONE;
    db_val p[] = {
        DB_STR(row->saga_id),
        DB_INT(row->version),
        DB_INT(row->lease_version),
        DB_STR(owner),
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
        lease_ms > 0 ? DB_INT(lease_ms) : DB_NULL,
        retrying ? DB_STR(step_name(t->step)) : DB_NULL,
        retrying ? DB_INT(t->attempt) : DB_NULL,
        retrying ? DB_STR(t->error) : DB_NULL,
        retrying ? DB_INT(t->age_ms) : DB_NULL,
        DB_STR(logs),
    };
    /* One CALL = one transaction (sql/orchestrator_db/005_saga_lease.sql). */
    int rc = call_versioned(db, "saga_commit", row->saga_id,
                            "CALL saga_commit(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                            " ?, ?, ?, ?, ?)",
                            p, sizeof p / sizeof p[0]);
    if (rc == 0)
        row->version++;
    return rc;
}

int repo_cancel(db_pool *db, saga_row_t *row, saga_step_t step)
{
    db_val p[] = {DB_STR(row->saga_id), DB_INT(row->version), DB_INT(row->lease_version),
                  DB_STR(step_name(step))};
    int rc = call_versioned(db, "saga_cancel", row->saga_id, "CALL saga_cancel(?, ?, ?, ?)", p, 4);
    if (rc == 0)
        row->version++;
    return rc;
}

int repo_log(db_pool *db, const char *saga_id, saga_step_t step, const char *event)
{
    db_conn *c = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    db_val p[] = {DB_STR(saga_id), DB_STR(step_name(step)), DB_STR(event)};
    rc = db_exec(c, "INSERT INTO saga_step_log (saga_id, step, event, attempt) VALUES (?, ?, ?, 0)",
                 p, 3, NULL, NULL);
    db_release(db, c);
    return rc;
}

/* ---- leases -------------------------------------------------------------------------------- */

/* Runs one statement on a connection of its own. */
static int exec1(db_pool *db, const char *sql, const db_val *p, size_t np, uint64_t *affected)
{
    db_conn *c = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    rc = db_exec(c, sql, p, np, affected, NULL);
    db_release(db, c);
    return rc;
}

/* Runs a SELECT on a connection of its own and hands back the buffered result. */
static int query1(db_pool *db, const char *sql, const db_val *p, size_t np, db_result **r)
{
    db_conn *c = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    rc = db_query(c, sql, p, np, r);
    db_release(db, c);
    return rc;
}

int repo_renew(db_pool *db, const char *owner, int64_t lease_ms,
               void (*held)(const char *saga_id, bool cancel, void *ctx), void *ctx)
{
    db_result *r = NULL;
    db_val p[] = {DB_INT(lease_ms * 1000), DB_STR(owner)};
    /* Only unfinished sagas have a lease, so the lease index bounds both statements to them;
     * updated_at keeps saying when the saga itself last moved. */
    int rc = exec1(db,
                   "UPDATE saga_instance SET lease_until = CURRENT_TIMESTAMP(3) + INTERVAL ?"
                   " MICROSECOND, updated_at = updated_at"
                   " WHERE lease_until IS NOT NULL AND owner_id = ?",
                   p, 2, NULL);
    if (rc == 0)
        rc = query1(db,
                    "SELECT saga_id, cancel_requested = 1 AND phase = 'FORWARD' FROM saga_instance"
                    " WHERE lease_until IS NOT NULL AND owner_id = ?",
                    &p[1], 1, &r);
    for (size_t i = 0; rc == 0 && i < db_result_rows(r); i++)
        held(db_result_str(r, i, 0), db_result_int(r, i, 1, 0) != 0, ctx);
    db_result_free(r);
    return rc;
}

int repo_each_expired(db_pool *db, int limit, void (*fn)(const char *saga_id, void *ctx), void *ctx)
{
    db_result *r = NULL;
    db_val p[] = {DB_INT(limit)};
    /* An ended saga has no lease; one written by code that knows no leases (an older replica,
     * saga_create) may have kept the insert's: clear those first, so they never crowd the
     * sagas that need a replica out of the batch. */
    int rc = exec1(db,
                   "UPDATE saga_instance SET lease_until = NULL, updated_at = updated_at"
                   " WHERE lease_until < CURRENT_TIMESTAMP(3)"
                   " AND status NOT IN ('RUNNING', 'COMPENSATING')",
                   NULL, 0, NULL);
    if (rc == 0)
        rc = query1(db,
                    "SELECT saga_id FROM saga_instance WHERE lease_until < CURRENT_TIMESTAMP(3)"
                    " AND status IN ('RUNNING', 'COMPENSATING') ORDER BY lease_until LIMIT ?",
                    p, 1, &r);
    for (size_t i = 0; rc == 0 && i < db_result_rows(r); i++)
        fn(db_result_str(r, i, 0), ctx);
    db_result_free(r);
    return rc;
}

int repo_claim(db_pool *db, const char *saga_id, const char *owner, int64_t lease_ms, int *claimed)
{
    uint64_t n = 0;
    db_val p[] = {DB_STR(owner), DB_INT(lease_ms * 1000), DB_STR(saga_id)};
    int rc = exec1(db,
                   "UPDATE saga_instance SET owner_id = ?, lease_until = CURRENT_TIMESTAMP(3) +"
                   " INTERVAL ? MICROSECOND, lease_version = lease_version + 1,"
                   " updated_at = updated_at"
                   " WHERE saga_id = ? AND lease_until < CURRENT_TIMESTAMP(3)"
                   " AND status IN ('RUNNING', 'COMPENSATING')",
                   p, 3, &n);
    *claimed = rc == 0 && n == 1;
    return rc;
}

int repo_release(db_pool *db, const char *owner)
{
    db_val p[] = {DB_STR(owner)};
    return exec1(db,
                 "UPDATE saga_instance SET lease_until = CURRENT_TIMESTAMP(3) - INTERVAL 1 SECOND,"
                 " updated_at = updated_at WHERE lease_until IS NOT NULL AND owner_id = ?",
                 p, 1, NULL);
}

int repo_each_unfinished(db_pool *db, int64_t stuck_after_ms, int limit,
                         void (*fn)(const saga_row_t *row, void *ctx), void *ctx)
{
    db_result *r = NULL;
    int rc;
    if (stuck_after_ms >= 0) {
        db_val p[] = {DB_INT(stuck_after_ms * 1000), DB_INT(limit)};
        rc = query1(db,
                    "SELECT " ROW_COLS " FROM saga_instance WHERE retry_since <="
                    " CURRENT_TIMESTAMP(3) - INTERVAL ? MICROSECOND AND lease_until IS NOT NULL"
                    " ORDER BY retry_since, saga_id LIMIT ?",
                    p, 2, &r);
    } else {
        db_val p[] = {DB_INT(limit)};
        rc = query1(db,
                    "SELECT " ROW_COLS " FROM saga_instance WHERE lease_until IS NOT NULL"
                    " ORDER BY created_at, saga_id LIMIT ?",
                    p, 1, &r);
    }
    for (size_t i = 0; rc == 0 && i < db_result_rows(r); i++) {
        saga_row_t row;
        if (row_from(r, i, &row) == 0)
            fn(&row, ctx);
    }
    db_result_free(r);
    return rc;
}
