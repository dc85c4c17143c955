/* repo.c - SQL for orders and their outbox events.
 * Every write runs in one transaction together with its outbox_events row; no HTTP here. */
#include "repo.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cm_error.h"
#include "cm_json.h"
#include "cm_outbox.h"

#define ORDER_SELECT \
    "SELECT id, customer_id, product_id, quantity, amount, status, saga_id, version FROM orders "

/* Fills the order_t *o from row 0 of r. Returns 0 or CM_ERR_NOT_FOUND when r is empty. */
static int row_to_order(const db_result *r, void *out)
{
    order_t *o = out;
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

/* Inserts the outbox row for `o` in the open transaction (payload carries the whole order). */
static int outbox_add(db_conn *c, const order_t *o, const char *event_type)
{
    return outbox_emit(c, "Order", o->id, event_type,
                       json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "sagaId", o->saga_id,
                                 "orderId", (json_int_t)o->id, "customerId",
                                 (json_int_t)o->customer_id, "productId", (json_int_t)o->product_id,
                                 "quantity", (json_int_t)o->quantity, "amount",
                                 (json_int_t)o->amount, "status", order_status_name(o->status)));
}

int order_repo_get(db_pool *pool, int64_t id, order_t *out)
{
    return db_get_row(pool, ORDER_SELECT "WHERE id = ?", DB_INT(id), row_to_order, out);
}

/* In the INSERT's transaction: the order's id and its OrderCreated event. */
static int order_created(db_conn *c, uint64_t id, void *ctx)
{
    order_t *o = ctx;
    o->id = (int64_t)id;
    return outbox_add(c, o, "OrderCreated");
}

int order_repo_create(db_pool *pool, const order_t *in, order_t *out, bool *created)
{
    db_val v[] = {DB_INT(in->customer_id), DB_INT(in->product_id), DB_INT(in->quantity),
                  DB_INT(in->amount), DB_STR(in->saga_id)};
    db_create spec = {"INSERT INTO orders (customer_id, product_id, quantity, amount, status,"
                      " saga_id) VALUES (?, ?, ?, ?, 'CREATED', ?)",
                      v,
                      5,
                      ORDER_SELECT "WHERE saga_id = ?",
                      DB_STR(in->saga_id),
                      row_to_order,
                      order_created,
                      out};
    *out = *in;
    out->status = ORDER_CREATED;
    out->version = 0;
    return db_create_or_load(pool, &spec, created);
}

typedef struct transition_args {
    int64_t id;
    order_action_t act;
    order_t *out;
    order_verdict_t *verdict;
} transition_args;

/* One optimistic attempt (db_tx_fn): read, decide, versioned update + event. CM_ERR_CONFLICT
 * means the row moved on between the read and the update. */
static int transition_once(db_conn *c, void *arg)
{
    const transition_args *a = arg;
    /* The read is the transaction's first statement (it opens it: no BEGIN of its own);
     * a verdict other than APPLY leaves it for db_tx_retry to roll back. */
    int rc = db_begin(c);
    if (rc == 0)
        rc = db_query_row(c, ORDER_SELECT "WHERE id = ?", DB_INT(a->id), row_to_order, a->out);
    if (rc != 0)
        return rc;
    *a->verdict = order_decide(a->out->status, a->act);
    if (*a->verdict != ORDER_APPLY)
        return 0;
    order_status_t to = order_action_target(a->act);
    db_val v[] = {DB_STR(order_status_name(to)), DB_INT(a->id), DB_INT(a->out->version)};
    rc = db_update_versioned(c,
                             "UPDATE orders SET status = ?, version = version + 1"
                             " WHERE id = ? AND version = ?",
                             v, 3);
    if (rc == 0) {
        a->out->status = to;
        a->out->version++;
        rc = outbox_add(c, a->out, order_action_event(a->act));
    }
    if (rc == 0)
        rc = db_commit(c);
    return rc;
}

int order_repo_transition(db_pool *pool, int64_t id, order_action_t act, order_t *out,
                          order_verdict_t *verdict)
{
    transition_args a = {id, act, out, verdict};
    return db_tx_retry(pool, DB_TX_ATTEMPTS, transition_once, &a);
}
