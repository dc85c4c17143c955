/* repo.c - SQL for stock counters, reservations and their outbox events.
 * Every write runs in one transaction with its outbox_events row; no HTTP, no Redis here. */
#include "repo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_error.h"
#include "cm_json.h"
#include "cm_log.h"
#include "cm_outbox.h"

#define REPO_ATTEMPTS 64 /* optimistic conflicts / deadlocks retried before giving up */

/* Loads stock; CM_ERR_NOT_FOUND when the product has no row. */
static int load_stock(db_conn *c, int64_t product_id, inv_stock_t *out)
{
    db_result *r = NULL;
    db_val v[] = {DB_INT(product_id)};
    memset(out, 0, sizeof *out);
    int rc = db_query(c,
                      "SELECT available, reserved, confirmed, version FROM inventory"
                      " WHERE product_id = ?",
                      v, 1, &r);
    if (rc == 0 && db_result_rows(r) == 0)
        rc = CM_ERR_NOT_FOUND;
    if (rc == 0) {
        out->product_id = product_id;
        out->available = db_result_int(r, 0, 0, 0);
        out->reserved = db_result_int(r, 0, 1, 0);
        out->confirmed = db_result_int(r, 0, 2, 0);
        out->version = db_result_int(r, 0, 3, 0);
    }
    db_result_free(r);
    return rc;
}

/* Loads the reservation of (saga, product); status INV_RES_NONE when there is none. */
static int load_reservation(db_conn *c, int64_t product_id, const char *saga_id,
                            inv_reservation_t *out)
{
    db_result *r = NULL;
    db_val v[] = {DB_STR(saga_id), DB_INT(product_id)};
    memset(out, 0, sizeof *out);
    snprintf(out->saga_id, sizeof out->saga_id, "%s", saga_id);
    out->product_id = product_id;
    int rc = db_query(c,
                      "SELECT status, quantity FROM inventory_reservations"
                      " WHERE saga_id = ? AND product_id = ?",
                      v, 2, &r);
    if (rc == 0 && db_result_rows(r) > 0) {
        out->quantity = db_result_int(r, 0, 1, 0);
        if (inv_res_status_parse(db_result_str(r, 0, 0), &out->status) != 0)
            rc = CM_ERR_DB;
    }
    db_result_free(r);
    return rc;
}

/* Inserts an outbox row for the product aggregate in the open transaction with `payload`
 * (reference stolen, NULL means out of memory). */
static int outbox_add(db_conn *c, int64_t product_id, const char *event_type, json_t *payload)
{
    char agg[32];
    if (!payload)
        return CM_ERR_NOMEM;
    snprintf(agg, sizeof agg, "%lld", (long long)product_id);
    int rc = outbox_insert(c, "Inventory", agg, event_type, payload);
    json_decref(payload);
    return rc;
}

/* Event payload for a reservation change. */
static json_t *reservation_event(const inv_reservation_t *res, int tombstone)
{
    return json_pack("{s:s, s:I, s:I, s:s, s:b}", "sagaId", res->saga_id, "productId",
                     (json_int_t)res->product_id, "quantity", (json_int_t)res->quantity,
                     "status", inv_res_status_name(res->status), "tombstone", tombstone);
}

/* Random 0..2 ms pause so colliding retries spread out (per-thread generator). */
static void backoff(void)
{
    static _Thread_local unsigned seed;
    if (seed == 0)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    struct timespec ts = {0, (long)(rand_r(&seed) % 2000) * 1000L};
    nanosleep(&ts, NULL);
}

int inv_repo_get(db_pool *pool, int64_t product_id, inv_stock_t *out)
{
    db_conn *c = NULL;
    int rc = db_acquire(pool, &c, NULL, 0);
    if (rc != 0)
        return rc;
    rc = load_stock(c, product_id, out);
    db_release(pool, c);
    return rc;
}

int inv_repo_set(db_pool *pool, int64_t product_id, int64_t available, inv_stock_t *out)
{
    db_conn *c = NULL;
    int rc = db_acquire(pool, &c, NULL, 0);
    if (rc != 0)
        return rc;
    for (int i = 0; i < REPO_ATTEMPTS; i++) {
        db_val v[] = {DB_INT(product_id), DB_INT(available), DB_INT(available)};
        if ((rc = db_begin(c)) != 0)
            break;
        rc = db_exec(c,
                     "INSERT INTO inventory (product_id, available) VALUES (?, ?)"
                     " ON DUPLICATE KEY UPDATE available = ?, version = version + 1",
                     v, 3, NULL, NULL);
        if (rc == 0)
            rc = load_stock(c, product_id, out);
        if (rc == 0)
            rc = outbox_add(c, product_id, "StockSet",
                            json_pack("{s:I, s:I, s:I, s:I}", "productId",
                                      (json_int_t)product_id, "available",
                                      (json_int_t)out->available, "reserved",
                                      (json_int_t)out->reserved, "confirmed",
                                      (json_int_t)out->confirmed));
        if (rc == 0)
            rc = db_commit(c);
        if (rc == 0)
            break;
        db_rollback(c);
        if (rc != CM_ERR_TIMEOUT)
            break;
        backoff();
    }
    db_release(pool, c);
    return rc;
}

/* Reserve (verdict APPLY): stock check, RESERVED row, counters, event. */
static int do_reserve(db_conn *c, inv_reservation_t *res, int64_t qty, inv_verdict_t *verdict,
                      inv_stock_t *stock)
{
    int rc = load_stock(c, res->product_id, stock);
    if (rc == CM_ERR_NOT_FOUND) {
        stock->product_id = 0;
        *verdict = INV_REFUSE_NO_PRODUCT;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (stock->available < qty) {
        *verdict = INV_REFUSE_OUT_OF_STOCK;
        return 0;
    }
    db_val ins[] = {DB_STR(res->saga_id), DB_INT(res->product_id), DB_INT(qty)};
    db_val upd[] = {DB_INT(qty), DB_INT(qty), DB_INT(res->product_id), DB_INT(stock->version),
                    DB_INT(qty)};
    if ((rc = db_begin(c)) != 0)
        return rc;
    rc = db_exec(c,
                 "INSERT INTO inventory_reservations (saga_id, product_id, quantity, status)"
                 " VALUES (?, ?, ?, 'RESERVED')",
                 ins, 3, NULL, NULL);
    if (rc == CM_ERR_DUPLICATE)
        rc = CM_ERR_CONFLICT; /* a concurrent reserve or cancel of this saga won: re-read */
    if (rc == 0)
        rc = db_update_versioned(c,
                                 "UPDATE inventory SET available = available - ?,"
                                 " reserved = reserved + ?, version = version + 1"
                                 " WHERE product_id = ? AND version = ? AND available >= ?",
                                 upd, 5);
    if (rc == 0) {
        res->quantity = qty;
        res->status = INV_RES_RESERVED;
        rc = outbox_add(c, res->product_id, "StockReserved", reservation_event(res, 0));
    }
    if (rc == 0)
        rc = db_commit(c);
    if (rc != 0) {
        db_rollback(c);
        return rc;
    }
    stock->available -= qty;
    stock->reserved += qty;
    stock->version++;
    return 0;
}

/* Confirm or cancel (verdict APPLY) of a RESERVED row: status and counters, event. */
static int do_release(db_conn *c, inv_action_t act, inv_reservation_t *res, inv_stock_t *stock)
{
    int confirm = act == INV_ACT_CONFIRM;
    int rc = load_stock(c, res->product_id, stock);
    if (rc != 0)
        return rc == CM_ERR_NOT_FOUND ? CM_ERR_DB : rc; /* a reservation without stock row */
    uint64_t n = 0;
    db_val st[] = {DB_STR(confirm ? "CONFIRMED" : "CANCELLED"), DB_STR(res->saga_id),
                   DB_INT(res->product_id)};
    db_val upd[] = {DB_INT(res->quantity), DB_INT(res->quantity), DB_INT(res->product_id),
                    DB_INT(stock->version)};
    if ((rc = db_begin(c)) != 0)
        return rc;
    rc = db_exec(c,
                 "UPDATE inventory_reservations SET status = ?"
                 " WHERE saga_id = ? AND product_id = ? AND status = 'RESERVED'",
                 st, 3, &n, NULL);
    if (rc == 0 && n != 1)
        rc = CM_ERR_CONFLICT;
    if (rc == 0)
        rc = db_update_versioned(c,
                                 confirm ? "UPDATE inventory SET reserved = reserved - ?,"
                                           " confirmed = confirmed + ?, version = version + 1"
                                           " WHERE product_id = ? AND version = ?"
                                         : "UPDATE inventory SET reserved = reserved - ?,"
                                           " available = available + ?, version = version + 1"
                                           " WHERE product_id = ? AND version = ?",
                                 upd, 4);
    if (rc == 0) {
        res->status = confirm ? INV_RES_CONFIRMED : INV_RES_CANCELLED;
        rc = outbox_add(c, res->product_id, inv_action_event(act), reservation_event(res, 0));
    }
    if (rc == 0)
        rc = db_commit(c);
    if (rc != 0) {
        db_rollback(c);
        return rc;
    }
    stock->reserved -= res->quantity;
    if (confirm)
        stock->confirmed += res->quantity;
    else
        stock->available += res->quantity;
    stock->version++;
    return 0;
}

/* Cancel before reserve: a CANCELLED row so a late reserve is refused. */
static int do_tombstone(db_conn *c, inv_reservation_t *res, int64_t qty)
{
    db_val ins[] = {DB_STR(res->saga_id), DB_INT(res->product_id), DB_INT(qty)};
    int rc = db_begin(c);
    if (rc != 0)
        return rc;
    rc = db_exec(c,
                 "INSERT INTO inventory_reservations (saga_id, product_id, quantity, status)"
                 " VALUES (?, ?, ?, 'CANCELLED')",
                 ins, 3, NULL, NULL);
    if (rc == CM_ERR_DUPLICATE)
        rc = CM_ERR_CONFLICT; /* the reserve arrived meanwhile: re-read and cancel it */
    if (rc == 0) {
        res->quantity = qty;
        res->status = INV_RES_CANCELLED;
        rc = outbox_add(c, res->product_id, "StockReservationCancelled",
                        reservation_event(res, 1));
    }
    if (rc == 0)
        rc = db_commit(c);
    if (rc != 0)
        db_rollback(c);
    return rc;
}

/* One attempt: read the reservation, decide, act. */
static int apply_once(db_conn *c, inv_action_t act, int64_t product_id, const char *saga_id,
                      int64_t qty, inv_verdict_t *verdict, inv_reservation_t *res,
                      inv_stock_t *stock)
{
    int rc = load_reservation(c, product_id, saga_id, res);
    if (rc != 0)
        return rc;
    *verdict = inv_decide(res->status, res->quantity, act, qty);
    switch (*verdict) {
    case INV_APPLY:
        if (act == INV_ACT_RESERVE)
            return do_reserve(c, res, qty, verdict, stock);
        return do_release(c, act, res, stock);
    case INV_TOMBSTONE:
        if ((rc = do_tombstone(c, res, qty)) != 0)
            return rc;
        break;
    default:
        break;
    }
    rc = load_stock(c, product_id, stock);
    if (rc == CM_ERR_NOT_FOUND) {
        stock->product_id = 0;
        rc = 0;
    }
    return rc;
}

int inv_repo_apply(db_pool *pool, inv_action_t act, int64_t product_id, const char *saga_id,
                   int64_t qty, inv_verdict_t *verdict, inv_reservation_t *res,
                   inv_stock_t *stock)
{
    db_conn *c = NULL;
    int rc = db_acquire(pool, &c, NULL, 0);
    if (rc != 0)
        return rc;
    for (int i = 0; i < REPO_ATTEMPTS; i++) {
        rc = apply_once(c, act, product_id, saga_id, qty, verdict, res, stock);
        if (rc != CM_ERR_CONFLICT && rc != CM_ERR_TIMEOUT)
            break;
        log_debug("inventory %lld changed concurrently; retrying", (long long)product_id);
        backoff();
    }
    db_release(pool, c);
    return rc;
}
