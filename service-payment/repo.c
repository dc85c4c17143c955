/* repo.c - SQL for payments and their outbox events.
 * Every write runs in one transaction together with its outbox_events row; no HTTP here. */
#include "repo.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cm_error.h"
#include "cm_outbox.h"

#define PAY_SELECT \
    "SELECT id, order_id, saga_id, amount, method, status, failure_reason, version FROM payments "

/* Fills the payment_t *p from row 0 of r. Returns 0 or CM_ERR_NOT_FOUND when r is empty. */
static int row_to_payment(const db_result *r, void *out)
{
    payment_t *p = out;
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

/* Inserts the outbox row for `p` in the open transaction; `from` is the previous status
 * (NULL for a creation). */
static int outbox_add(db_conn *c, const payment_t *p, const char *event_type, const char *from)
{
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
    return outbox_emit(c, "Payment", p->id, event_type, o);
}

int pay_repo_get(db_pool *pool, int64_t id, payment_t *out)
{
    return db_get_row(pool, PAY_SELECT "WHERE id = ?", DB_INT(id), row_to_payment, out);
}

/* In the INSERT's transaction: the payment's id and its PaymentCreated event. */
static int payment_created(db_conn *c, uint64_t id, void *ctx)
{
    payment_t *p = ctx;
    p->id = (int64_t)id;
    return outbox_add(c, p, "PaymentCreated", NULL);
}

int pay_repo_create(db_pool *pool, const payment_t *in, payment_t *out, bool *created)
{
    db_val v[] = {DB_INT(in->order_id), DB_STR(in->saga_id), DB_INT(in->amount),
                  DB_STR(in->method)};
    db_create spec = {"INSERT INTO payments (order_id, saga_id, amount, method, status)"
                      " VALUES (?, ?, ?, ?, 'CREATED')",
                      v,
                      4,
                      PAY_SELECT "WHERE saga_id = ?",
                      DB_STR(in->saga_id),
                      row_to_payment,
                      payment_created,
                      out};
    *out = *in;
    out->status = PAY_CREATED;
    out->version = 0;
    out->failure_reason[0] = '\0';
    return db_create_or_load(pool, &spec, created);
}

typedef struct transition_args {
    int64_t id;
    pay_action_t act;
    const char *reason;
    payment_t *out;
    pay_verdict_t *verdict;
} transition_args;

/* One optimistic attempt (db_tx_fn): read, decide, versioned update + event. */
static int transition_once(db_conn *c, void *arg)
{
    const transition_args *a = arg;
    payment_t *out = a->out;
    /* The read is the transaction's first statement (it opens it: no BEGIN of its own);
     * a verdict other than APPLY leaves it for db_tx_retry to roll back. */
    int rc = db_begin(c);
    if (rc == 0)
        rc = db_query_row(c, PAY_SELECT "WHERE id = ?", DB_INT(a->id), row_to_payment, out);
    if (rc != 0)
        return rc;
    *a->verdict = pay_decide(out->status, a->act);
    if (*a->verdict != PAY_APPLY)
        return 0;
    int failed = a->act == PAY_ACT_APPROVE && a->reason != NULL;
    pay_status_t from = out->status;
    pay_status_t to = failed ? PAY_FAILED : pay_action_target(a->act);
    db_val v[] = {DB_STR(pay_status_name(to)), failed ? DB_STR(a->reason) : DB_NULL, DB_INT(a->id),
                  DB_INT(out->version)};
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
            snprintf(out->failure_reason, sizeof out->failure_reason, "%s", a->reason);
        rc = outbox_add(c, out, failed ? "PaymentFailed" : pay_action_event(a->act),
                        pay_status_name(from));
    }
    if (rc == 0)
        rc = db_commit(c);
    return rc;
}

int pay_repo_transition(db_pool *pool, int64_t id, pay_action_t act, const char *failure_reason,
                        payment_t *out, pay_verdict_t *verdict)
{
    transition_args a = {id, act, failure_reason, out, verdict};
    return db_tx_retry(pool, DB_TX_ATTEMPTS, transition_once, &a);
}
