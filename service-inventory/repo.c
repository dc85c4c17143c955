/* repo.c - SQL for stock counters, reservations and their outbox events.
 * Every write runs in one transaction with its outbox_events row; no HTTP, no Redis here. */
#include "repo.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cm_error.h"
#include "cm_json.h"
#include "cm_outbox.h"

#define STOCK_BY_PRODUCT                                                                          \
    "SELECT product_id, available, reserved, confirmed, version FROM inventory WHERE product_id " \
    "= ?"

/* The stock row (db_row_fn): CM_ERR_NOT_FOUND when the product has no row. */
static int row_to_stock(const db_result *r, void *arg)
{
    inv_stock_t *out = arg;
    memset(out, 0, sizeof *out);
    if (db_result_rows(r) == 0)
        return CM_ERR_NOT_FOUND;
    out->product_id = db_result_int(r, 0, 0, 0);
    out->available = db_result_int(r, 0, 1, 0);
    out->reserved = db_result_int(r, 0, 2, 0);
    out->confirmed = db_result_int(r, 0, 3, 0);
    out->version = db_result_int(r, 0, 4, 0);
    return 0;
}

/* Reads the reservation of (saga, product) and the product's stock in one statement (the
 * derived table gives one row even when neither exists). res->status is INV_RES_NONE when
 * there is no reservation, stock->product_id 0 when there is no stock row. Inside a
 * transaction it sees that transaction's own changes. */
static int load_state(db_conn *c, int64_t product_id, const char *saga_id, inv_reservation_t *res,
                      inv_stock_t *stock)
{
    db_result *r = NULL;
    db_val v[] = {DB_INT(product_id), DB_STR(saga_id), DB_INT(product_id)};
    memset(res, 0, sizeof *res);
    memset(stock, 0, sizeof *stock);
    snprintf(res->saga_id, sizeof res->saga_id, "%s", saga_id);
    res->product_id = product_id;
    int rc = db_query(c,
                      "SELECT i.available, i.reserved, i.confirmed, i.version, r.status,"
                      " r.quantity FROM (SELECT 1) d"
                      " LEFT JOIN inventory i ON i.product_id = ?"
                      " LEFT JOIN inventory_reservations r"
                      " ON r.saga_id = ? AND r.product_id = ?",
                      v, 3, &r);
    if (rc == 0 && db_result_rows(r) != 1)
        rc = CM_ERR_DB;
    if (rc == 0 && !db_result_is_null(r, 0, 0)) {
        stock->product_id = product_id;
        stock->available = db_result_int(r, 0, 0, 0);
        stock->reserved = db_result_int(r, 0, 1, 0);
        stock->confirmed = db_result_int(r, 0, 2, 0);
        stock->version = db_result_int(r, 0, 3, 0);
    }
    if (rc == 0 && !db_result_is_null(r, 0, 4)) {
        res->quantity = db_result_int(r, 0, 5, 0);
        if (inv_res_status_parse(db_result_str(r, 0, 4), &res->status) != 0)
            rc = CM_ERR_DB;
    }
    db_result_free(r);
    return rc;
}

/* Event payload for a reservation change. */
static json_t *reservation_event(const inv_reservation_t *res, int tombstone)
{
    return json_pack("{s:s, s:I, s:I, s:s, s:b}", "sagaId", res->saga_id, "productId",
                     (json_int_t)res->product_id, "quantity", (json_int_t)res->quantity, "status",
                     inv_res_status_name(res->status), "tombstone", tombstone);
}

int inv_repo_get(db_pool *pool, int64_t product_id, inv_stock_t *out)
{
    return db_get_row(pool, STOCK_BY_PRODUCT, DB_INT(product_id), row_to_stock, out);
}

typedef struct set_args {
    int64_t product_id, available;
    inv_stock_t *out;
} set_args;

/* One attempt of set (db_tx_fn): upsert the counter, read it back, the event. */
static int set_once(db_conn *c, void *arg)
{
    const set_args *a = arg;
    db_val v[] = {DB_INT(a->product_id), DB_INT(a->available), DB_INT(a->available)};
    int rc = db_begin(c);
    if (rc == 0)
        rc = db_exec(c,
                     "INSERT INTO inventory (product_id, available) VALUES (?, ?)"
                     " ON DUPLICATE KEY UPDATE available = ?, version = version + 1",
                     v, 3, NULL, NULL);
    if (rc == 0)
        rc = db_query_row(c, STOCK_BY_PRODUCT, DB_INT(a->product_id), row_to_stock, a->out);
    if (rc == 0)
        rc = outbox_emit(c, "Inventory", a->product_id, "StockSet",
                         json_pack("{s:I, s:I, s:I, s:I}", "productId", (json_int_t)a->product_id,
                                   "available", (json_int_t)a->out->available, "reserved",
                                   (json_int_t)a->out->reserved, "confirmed",
                                   (json_int_t)a->out->confirmed));
    if (rc == 0)
        rc = db_commit(c);
    return rc;
}

int inv_repo_set(db_pool *pool, int64_t product_id, int64_t available, inv_stock_t *out)
{
    set_args a = {product_id, available, out};
    return db_tx_retry(pool, DB_TX_ATTEMPTS, set_once, &a);
}

/* Fast path of reserve, assuming the common case (no reservation yet, enough stock): the
 * conditional UPDATE is the stock check and takes the row lock, the INSERT is the semantic
 * lock (a duplicate means a reservation or tombstone exists) and RETURNs the stock counters
 * it just wrote, so no read comes before or after. *applied 0 (transaction rolled back, rc 0)
 * means "not the common case: read the state and decide". */
static int try_reserve(db_conn *c, inv_reservation_t *res, int64_t qty, inv_stock_t *stock,
                       int *applied)
{
    db_result *r = NULL;
    uint64_t n = 0;
    int64_t pid = res->product_id;
    db_val upd[] = {DB_INT(qty), DB_INT(qty), DB_INT(pid), DB_INT(qty)};
    db_val ins[] = {DB_STR(res->saga_id), DB_INT(pid), DB_INT(qty), DB_INT(pid),
                    DB_INT(pid),          DB_INT(pid), DB_INT(pid)};
    *applied = 0;
    int rc = db_begin(c);
    if (rc != 0)
        return rc;
    rc = db_exec(c,
                 "UPDATE inventory SET available = available - ?, reserved = reserved + ?,"
                 " version = version + 1 WHERE product_id = ? AND available >= ?",
                 upd, 4, &n, NULL);
    if (rc != 0 || n != 1)
        goto out; /* no product or not enough stock */
    rc = db_query(c,
                  "INSERT INTO inventory_reservations (saga_id, product_id, quantity, status)"
                  " VALUES (?, ?, ?, 'RESERVED') RETURNING"
                  " (SELECT available FROM inventory WHERE product_id = ?),"
                  " (SELECT reserved FROM inventory WHERE product_id = ?),"
                  " (SELECT confirmed FROM inventory WHERE product_id = ?),"
                  " (SELECT version FROM inventory WHERE product_id = ?)",
                  ins, 7, &r);
    if (rc == CM_ERR_DUPLICATE) {
        rc = 0; /* a reservation or tombstone of this saga exists: it decides */
        goto out;
    }
    if (rc == 0 && (db_result_rows(r) != 1 || db_result_is_null(r, 0, 0)))
        rc = CM_ERR_DB;
    if (rc != 0)
        goto out;
    stock->product_id = pid;
    stock->available = db_result_int(r, 0, 0, 0);
    stock->reserved = db_result_int(r, 0, 1, 0);
    stock->confirmed = db_result_int(r, 0, 2, 0);
    stock->version = db_result_int(r, 0, 3, 0);
    res->quantity = qty;
    res->status = INV_RES_RESERVED;
    rc = outbox_emit(c, "Inventory", pid, "StockReserved", reservation_event(res, 0));
    if (rc == 0)
        rc = db_commit(c);
    if (rc == 0)
        *applied = 1;
out:
    db_result_free(r);
    if (!*applied)
        db_rollback(c);
    return rc;
}

/* Fast path of confirm / cancel, assuming the reservation is RESERVED: one multi-table
 * UPDATE flips the status (the condition status = 'RESERVED' is the check) and moves the
 * reservation's quantity between the counters; both rows changed means it applied. Then one
 * read of the rows as written, for the event and the answer. *applied as for try_reserve,
 * except that when the UPDATE changed nothing the transaction is left open (it holds no
 * change) so a tombstone can be written in it without another BEGIN. */
static int try_release(db_conn *c, inv_action_t act, inv_reservation_t *res, inv_stock_t *stock,
                       int *applied)
{
    int confirm = act == INV_ACT_CONFIRM;
    uint64_t n = 0;
    char saga[INV_SAGA_ID_MAX];
    int64_t pid = res->product_id;
    db_val upd[] = {DB_STR(res->saga_id), DB_STR(confirm ? "CONFIRMED" : "CANCELLED"), DB_INT(pid)};
    *applied = 0;
    snprintf(saga, sizeof saga, "%s", res->saga_id);
    int rc = db_begin(c);
    if (rc != 0)
        return rc;
    rc = db_exec(c,
                 confirm ? "UPDATE inventory i JOIN inventory_reservations r"
                           " ON r.saga_id = ? AND r.product_id = i.product_id"
                           " AND r.status = 'RESERVED'"
                           " SET r.status = ?, i.reserved = i.reserved - r.quantity,"
                           " i.confirmed = i.confirmed + r.quantity, i.version = i.version + 1"
                           " WHERE i.product_id = ?"
                         : "UPDATE inventory i JOIN inventory_reservations r"
                           " ON r.saga_id = ? AND r.product_id = i.product_id"
                           " AND r.status = 'RESERVED'"
                           " SET r.status = ?, i.reserved = i.reserved - r.quantity,"
                           " i.available = i.available + r.quantity, i.version = i.version + 1"
                           " WHERE i.product_id = ?",
                 upd, 3, &n, NULL);
    if (rc == 0 && n == 0)
        return 0; /* not RESERVED (or no stock row): the state decides, transaction open */
    if (rc != 0 || n != 2)
        goto out;
    rc = load_state(c, pid, saga, res, stock);
    if (rc == 0 && stock->product_id == 0)
        rc = CM_ERR_DB;
    if (rc == 0)
        rc = outbox_emit(c, "Inventory", pid, inv_action_event(act), reservation_event(res, 0));
    if (rc == 0)
        rc = db_commit(c);
    if (rc == 0)
        *applied = 1;
out:
    if (!*applied)
        db_rollback(c);
    return rc;
}

/* Cancel before reserve, in the open transaction: a CANCELLED row so a late reserve is
 * refused. Commits, or rolls back on failure. */
static int do_tombstone(db_conn *c, inv_reservation_t *res, int64_t qty)
{
    db_val ins[] = {DB_STR(res->saga_id), DB_INT(res->product_id), DB_INT(qty)};
    int rc = db_exec(c,
                     "INSERT INTO inventory_reservations (saga_id, product_id, quantity, status)"
                     " VALUES (?, ?, ?, 'CANCELLED')",
                     ins, 3, NULL, NULL);
    if (rc == CM_ERR_DUPLICATE)
        rc = CM_ERR_CONFLICT; /* the reserve arrived meanwhile: re-read and cancel it */
    if (rc == 0) {
        res->quantity = qty;
        res->status = INV_RES_CANCELLED;
        rc = outbox_emit(c, "Inventory", res->product_id, "StockReservationCancelled",
                         reservation_event(res, 1));
    }
    if (rc == 0)
        rc = db_commit(c);
    if (rc != 0)
        db_rollback(c);
    return rc;
}

typedef struct apply_args {
    inv_action_t act;
    int64_t product_id;
    const char *saga_id;
    int64_t qty;
    inv_verdict_t *verdict;
    inv_reservation_t *res;
    inv_stock_t *stock;
} apply_args;

/* One attempt (db_tx_fn): the fast path for the common case; when it does not apply, one read
 * of the reservation and the stock, and inv_decide on that. For confirm / cancel the read runs
 * in the fast path's still open (unchanged) transaction, which a tombstone then uses. */
static int apply_once(db_conn *c, void *arg)
{
    const apply_args *a = arg;
    inv_reservation_t *res = a->res;
    inv_stock_t *stock = a->stock;
    int applied = 0;
    memset(res, 0, sizeof *res);
    memset(stock, 0, sizeof *stock);
    snprintf(res->saga_id, sizeof res->saga_id, "%s", a->saga_id);
    res->product_id = a->product_id;
    int rc = a->act == INV_ACT_RESERVE ? try_reserve(c, res, a->qty, stock, &applied)
                                       : try_release(c, a->act, res, stock, &applied);
    if (rc != 0 || applied) {
        *a->verdict = INV_APPLY;
        return rc;
    }
    if ((rc = load_state(c, a->product_id, a->saga_id, res, stock)) != 0)
        return rc;
    *a->verdict = inv_decide(res->status, res->quantity, a->act, a->qty);
    if (*a->verdict == INV_TOMBSTONE && db_in_tx(c))
        return do_tombstone(c, res, a->qty);
    if ((rc = db_rollback(c)) != 0)
        return rc;
    switch (*a->verdict) {
    case INV_APPLY:
        if (a->act == INV_ACT_RESERVE && stock->product_id == 0)
            *a->verdict = INV_REFUSE_NO_PRODUCT;
        else if (a->act == INV_ACT_RESERVE && stock->available < a->qty)
            *a->verdict = INV_REFUSE_OUT_OF_STOCK;
        else if (stock->product_id == 0)
            return CM_ERR_DB; /* a reservation without stock row */
        else
            return CM_ERR_CONFLICT; /* changed since the fast path: try again */
        return 0;
    case INV_TOMBSTONE: return CM_ERR_DB; /* only cancel tombstones, and its transaction is open */
    default: return 0;
    }
}

int inv_repo_apply(db_pool *pool, inv_action_t act, int64_t product_id, const char *saga_id,
                   int64_t qty, inv_verdict_t *verdict, inv_reservation_t *res, inv_stock_t *stock)
{
    apply_args a = {act, product_id, saga_id, qty, verdict, res, stock};
    return db_tx_retry(pool, DB_TX_ATTEMPTS, apply_once, &a);
}
