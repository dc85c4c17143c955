/* repo.c - SQL for orders and their outbox events.
 * Every write runs in one transaction together with its outbox_events row; no HTTP here. */
#include "repo.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cm_error.h"
#include "cm_json.h"
#include "cm_log.h"
#include "cm_outbox.h"

#define REPO_ATTEMPTS 8 /* optimistic conflicts / deadlocks retried before giving up */

static const char *const order_cols =
    "SELECT id, customer_id, product_id, quantity, amount, status, saga_id, version "
    "FROM orders ";

/* Fills *o from row 0 of r. Returns 0 or CM_ERR_NOT_FOUND when r is empty. */
static int row_to_order(const db_result *r, order_t *o)
{
    if (db_result_rows(r) == 0)
        return CM_ERR_NOT_FOUND;
    memset(o, 0, sizeof *o);
    o->id = db_result_int(r, 0, 0, 0);
    o->customer_id = db_result_int(r, 0, 1, 0);
    o->product_id = db_result_int(r, 0, 2, 0);
    o->quantity = db_result_int(r, 0, 3, 0);
    o->amount = db_result_int(r, 0, 4, 0);
    if (order_status_parse(db_result_str(r, 0, 5), &o->status) != 0)
        return CM_ERR_DB;
    const char *saga = db_result_str(r, 0, 6);
    snprintf(o->saga_id, sizeof o->saga_id, "%s", saga ? saga : "");
    o->version = db_result_int(r, 0, 7, 0);
    return 0;
}

/* Runs a one-row order SELECT ending in `where` with a single bound value. */
static int load(db_conn *c, const char *where, db_val key, order_t *out)
{
    char sql[256];
    db_result *r = NULL;
    snprintf(sql, sizeof sql, "%s%s", order_cols, where);
    int rc = db_query(c, sql, &key, 1, &r);
    if (rc == 0)
        rc = row_to_order(r, out);
    db_result_free(r);
    return rc;
}

/* Inserts the outbox row for `o` in the open transaction (payload carries the whole order). */
static int outbox_add(db_conn *c, const order_t *o, const char *event_type)
{
    char agg[32];
    json_t *p = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "sagaId", o->saga_id, "orderId",
                          (json_int_t)o->id, "customerId", (json_int_t)o->customer_id, "productId",
                          (json_int_t)o->product_id, "quantity", (json_int_t)o->quantity, "amount",
                          (json_int_t)o->amount, "status", order_status_name(o->status));
    if (!p)
        return CM_ERR_NOMEM;
    snprintf(agg, sizeof agg, "%lld", (long long)o->id);
    int rc = outbox_insert(c, "Order", agg, event_type, p);
    json_decref(p);
    return rc;
}

int order_repo_get(db_pool *pool, int64_t id, order_t *out)
{
    db_conn *c = NULL;
    int rc = db_acquire(pool, &c, NULL, 0);
    if (rc != 0)
        return rc;
    rc = load(c, "WHERE id = ?", DB_INT(id), out);
    db_release(pool, c);
    return rc;
}

/* One attempt of create inside a transaction. */
static int create_once(db_conn *c, const order_t *in, order_t *out, bool *created)
{
    uint64_t id = 0;
    db_val v[] = {DB_INT(in->customer_id), DB_INT(in->product_id), DB_INT(in->quantity),
                  DB_INT(in->amount), DB_STR(in->saga_id)};
    int rc = db_begin(c);
    if (rc != 0)
        return rc;
    rc = db_exec(c,
                 "INSERT INTO orders (customer_id, product_id, quantity, amount, status, saga_id)"
                 " VALUES (?, ?, ?, ?, 'CREATED', ?)",
                 v, 5, NULL, &id);
    if (rc == CM_ERR_DUPLICATE) {
        db_rollback(c);
        *created = false;
        return load(c, "WHERE saga_id = ?", DB_STR(in->saga_id), out);
    }
    if (rc == 0) {
        *out = *in;
        out->id = (int64_t)id;
        out->status = ORDER_CREATED;
        out->version = 0;
        rc = outbox_add(c, out, "OrderCreated");
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

int order_repo_create(db_pool *pool, const order_t *in, order_t *out, bool *created)
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

/* One optimistic attempt: read, decide, versioned update + event. CM_ERR_CONFLICT means the
 * row moved on between the read and the update. */
static int transition_once(db_conn *c, int64_t id, order_action_t act, order_t *out,
                           order_verdict_t *verdict)
{
    int rc = load(c, "WHERE id = ?", DB_INT(id), out);
    if (rc != 0)
        return rc;
    *verdict = order_decide(out->status, act);
    if (*verdict != ORDER_APPLY)
        return 0;
    order_status_t to = order_action_target(act);
    db_val v[] = {DB_STR(order_status_name(to)), DB_INT(id), DB_INT(out->version)};
    if ((rc = db_begin(c)) != 0)
        return rc;
    rc = db_update_versioned(c,
                             "UPDATE orders SET status = ?, version = version + 1"
                             " WHERE id = ? AND version = ?",
                             v, 3);
    if (rc == 0) {
        out->status = to;
        out->version++;
        rc = outbox_add(c, out, order_action_event(act));
    }
    if (rc == 0)
        rc = db_commit(c);
    if (rc != 0)
        db_rollback(c);
    return rc;
}

int order_repo_transition(db_pool *pool, int64_t id, order_action_t act, order_t *out,
                          order_verdict_t *verdict)
{
    db_conn *c = NULL;
    int rc = db_acquire(pool, &c, NULL, 0);
    if (rc != 0)
        return rc;
    for (int i = 0; i < REPO_ATTEMPTS; i++) {
        rc = transition_once(c, id, act, out, verdict);
        if (rc != CM_ERR_CONFLICT && rc != CM_ERR_TIMEOUT)
            break;
        log_debug("order %lld changed concurrently; retrying", (long long)id);
    }
    db_release(pool, c);
    return rc;
}
