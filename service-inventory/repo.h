/* repo.h - inventory_db access: each function is one whole transaction (stock counters,
 * reservation row and outbox_events row together). Callers never see SQL or connections. */
#ifndef SERVICE_INVENTORY_REPO_H
#define SERVICE_INVENTORY_REPO_H

#include <stdint.h>

#include "cm_db.h"
#include "inventory.h"

/* Loads the stock of `product_id`. Returns 0, CM_ERR_NOT_FOUND or a db error. Any thread. */
int inv_repo_get(db_pool *pool, int64_t product_id, inv_stock_t *out);

/* Creates the product or sets its available count (reserved/confirmed untouched), with a
 * StockSet event. *out is the stock afterwards. Returns 0 or a db error. Any thread. */
int inv_repo_set(db_pool *pool, int64_t product_id, int64_t available, inv_stock_t *out);

/* Applies `act` for (saga_id, product_id) per inv_decide and the stock:
 *   reserve moves qty available -> reserved and inserts a RESERVED row;
 *   confirm moves the reservation's quantity reserved -> confirmed;
 *   cancel moves it reserved -> available, or writes a CANCELLED tombstone when no row exists.
 * Every stock change is a conditional UPDATE (WHERE available >= ?, or joined to the
 * reservation WHERE status = 'RESERVED') that bumps version, and the reservation row's key is
 * the semantic lock, so correctness never depends on the Redis lock; a state that changed
 * under a decision is re-read and retried. *verdict says what happened,
 * *res is the reservation afterwards (status INV_RES_NONE if there is none), *stock the stock
 * afterwards (product_id 0 when the product does not exist). Returns 0 (look at *verdict) or
 * a db error (CM_ERR_CONFLICT when retries ran out). Any thread. */
int inv_repo_apply(db_pool *pool, inv_action_t act, int64_t product_id, const char *saga_id,
                   int64_t qty, inv_verdict_t *verdict, inv_reservation_t *res, inv_stock_t *stock);

#endif
