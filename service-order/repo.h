/* repo.h - order_db access: each function is one whole transaction (state change plus its
 * outbox_events row) on a pooled connection. Callers never see SQL or connections. */
#ifndef SERVICE_ORDER_REPO_H
#define SERVICE_ORDER_REPO_H

#include <stdbool.h>
#include <stdint.h>

#include "cm_db.h"
#include "order.h"

/* Loads order `id`. Returns 0, CM_ERR_NOT_FOUND, or a db error (CM_ERR_IO...). Any thread. */
int order_repo_get(db_pool *pool, int64_t id, order_t *out);

/* Creates `in` (status CREATED) with an OrderCreated event, unless an order for its saga
 * exists: then *out is that order and *created is false (the UNIQUE saga_id decides, so
 * concurrent duplicates also end here). Returns 0 or a db error. Any thread. */
int order_repo_create(db_pool *pool, const order_t *in, order_t *out, bool *created);

/* Applies `act` to order `id` per order_decide, under optimistic locking (version), writing
 * the event when the status changes. *out is the order afterwards (or as found, when
 * refused) and *verdict what happened. Returns 0 (look at *verdict), CM_ERR_NOT_FOUND, or a
 * db error. Any thread. */
int order_repo_transition(db_pool *pool, int64_t id, order_action_t act, order_t *out,
                          order_verdict_t *verdict);

#endif
