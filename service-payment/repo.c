/* repo.c - SQL for payments and their outbox events.
 * Every write runs in one transaction together with its outbox_events row; no HTTP here. */
#include "repo.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cm_error.h"
#include "cm_log.h"
#include "cm_outbox.h"

#define REPO_ATTEMPTS 8 /* optimistic conflicts / deadlocks retried before giving up */

static const char *const pay_cols =
    "SELECT id, order_id, saga_id, amount, method, status, failure_reason, version "
    "FROM payments ";

static int row_to_payment(const db_result *r, payment_t *p)
{
    if (db_result_rows(r) == 0)
        return CM_ERR_NOT_FOUND;
    memset(p, 0, sizeof *p);
    p->id = db_result_int(r, 0, 0, 0);
    p->order_id = db_result_int(r, 0, 1, 0);
    const char *s = db_result_str(r, 0, 2);
    snprintf(p->saga_id, sizeof p->saga_id, "%s", s ? s : "");
    p->amount = db_result_int(r, 0, 3, 0);
    s = db_result_str(r, 0, 4);
    snprintf(p->method, sizeof p->method, "%s", s ? s : "");
    if (pay_status_parse(db_result_str(r, 0, 5), &p->status) != 0)
        return CM_ERR_DB;
    s = db_result_str(r, 0, 6);
    snprintf(p->failure_reason, sizeof p->failure_reason, "%s", s ? s : "");
    p->version = db_result_int(r, 0, 7, 0);
    return 0;
}

static int load(db_conn *c, const char *where, db_val key, payment_t *out)
{
    char sql[256];
    db_result *r = NULL;
    snprintf(sql, sizeof sql, "%s%s", pay_cols, where);
    int rc = db_query(c, sql, &key, 1, &r);
    if (rc == 0)
        rc = row_to_payment(r, out);
    db_result_free(r);
    return rc;
}

/* Inserts the outbox row for `p` in the open transaction; `from` is the previous status
 * (NULL for a creation). */
static int outbox_add(db_conn *c, const payment_t *p, const char *event_type, const char *from)
{
    char agg[32];
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "sagaId", p->saga_id, "paymentId",
                  (json_int_t)p->id, "orderId", (json_int_t)p->order_id, "amount",
                  (json_int_t)p->amount, "method", p->method, "status", pay_status_name(p->status));
    if (!o)
        return CM_ERR_NOMEM;
    if (from)
        json_object_set_new(o, "previousStatus", json_string(from));
    if (p->failure_reason[0])
        json_object_set_new(o, "failureReason", json_string(p->failure_reason));
    snprintf(agg, sizeof agg, "%lld", (long long)p->id);
    int rc = outbox_insert(c, "Payment", agg, event_type, o);
    json_decref(o);
    return rc;
}

int pay_repo_get(db_pool *pool, int64_t id, payment_t *out)
{
    db_conn *c = NULL;
    int rc = db_acquire(pool, &c, NULL, 0);
    if (rc != 0)
        return rc;
    rc = load(c, "WHERE id = ?", DB_INT(id), out);
    db_release(pool, c);
    return rc;
}

static int create_once(db_conn *c, const payment_t *in, payment_t *out, bool *created)
{
    uint64_t id = 0;
    db_val v[] = {DB_INT(in->order_id), DB_STR(in->saga_id), DB_INT(in->amount),
                  DB_STR(in->method)};
    int rc = db_begin(c);
    if (rc != 0)
        return rc;
    rc = db_exec(c,
                 "INSERT INTO payments (order_id, saga_id, amount, method, status)"
                 " VALUES (?, ?, ?, ?, 'CREATED')",
                 v, 4, NULL, &id);
    if (rc == CM_ERR_DUPLICATE) {
        db_rollback(c);
        *created = false;
        return load(c, "WHERE saga_id = ?", DB_STR(in->saga_id), out);
    }
    if (rc == 0) {
        *out = *in;
        out->id = (int64_t)id;
        out->status = PAY_CREATED;
        out->version = 0;
        out->failure_reason[0] = '\0';
        rc = outbox_add(c, out, "PaymentCreated", NULL);
    }
    if (rc == 0)
        rc = db_commit(c);
    if (rc != 0) {
        db_rollback(c);
        return rc;
    }
    *created = true;
    return 0;
}

int pay_repo_create(db_pool *pool, const payment_t *in, payment_t *out, bool *created)
{
    db_conn *c = NULL;
    int rc = db_acquire(pool, &c, NULL, 0);
    if (rc != 0)
        return rc;
    for (int i = 0; i < REPO_ATTEMPTS; i++) {
        rc = create_once(c, in, out, created);
        /* NOT_FOUND after a duplicate: the other insert rolled back meanwhile; try again. */
        if (rc != CM_ERR_TIMEOUT && rc != CM_ERR_NOT_FOUND)
            break;
    }
    if (rc == CM_ERR_NOT_FOUND)
        rc = CM_ERR_CONFLICT;
    db_release(pool, c);
    return rc;
}

static int transition_once(db_conn *c, int64_t id, pay_action_t act, const char *reason,
                           payment_t *out, pay_verdict_t *verdict)
{
    int rc = load(c, "WHERE id = ?", DB_INT(id), out);
    if (rc != 0)
        return rc;
    *verdict = pay_decide(out->status, act);
    if (*verdict != PAY_APPLY)
        return 0;
    int failed = act == PAY_ACT_APPROVE && reason != NULL;
    pay_status_t from = out->status;
    pay_status_t to = failed ? PAY_FAILED : pay_action_target(act);
    db_val v[] = {DB_STR(pay_status_name(to)), failed ? DB_STR(reason) : DB_NULL, DB_INT(id),
                  DB_INT(out->version)};
    if ((rc = db_begin(c)) != 0)
        return rc;
    rc = db_update_versioned(c,
                             failed ? "UPDATE payments SET status = ?, failure_reason = ?,"
                                      " version = version + 1 WHERE id = ? AND version = ?"
                                    : "UPDATE payments SET status = ?,"
                                      " failure_reason = COALESCE(?, failure_reason),"
                                      " version = version + 1 WHERE id = ? AND version = ?",
                             v, 4);
    if (rc == 0) {
        out->status = to;
        out->version++;
        if (failed)
            snprintf(out->failure_reason, sizeof out->failure_reason, "%s", reason);
        rc = outbox_add(c, out, failed ? "PaymentFailed" : pay_action_event(act),
                        pay_status_name(from));
    }
    if (rc == 0)
        rc = db_commit(c);
    if (rc != 0)
        db_rollback(c);
    return rc;
}

int pay_repo_transition(db_pool *pool, int64_t id, pay_action_t act, const char *failure_reason,
                        payment_t *out, pay_verdict_t *verdict)
{
    db_conn *c = NULL;
    int rc = db_acquire(pool, &c, NULL, 0);
    if (rc != 0)
        return rc;
    for (int i = 0; i < REPO_ATTEMPTS; i++) {
        rc = transition_once(c, id, act, failure_reason, out, verdict);
        if (rc != CM_ERR_CONFLICT && rc != CM_ERR_TIMEOUT)
            break;
        log_debug("payment %lld changed concurrently; retrying", (long long)id);
    }
    db_release(pool, c);
    return rc;
}
