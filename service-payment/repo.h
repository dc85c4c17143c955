/* repo.h - payment_db access: each function is one whole transaction (state change plus its
 * outbox_events row) on a pooled connection. Callers never see SQL or connections. */
#ifndef SERVICE_PAYMENT_REPO_H
#define SERVICE_PAYMENT_REPO_H

#include <stdbool.h>
#include <stdint.h>

#include "cm_db.h"
#include "payment.h"

/* Loads payment `id`. Returns 0, CM_ERR_NOT_FOUND or a db error. Any thread. */
int pay_repo_get(db_pool *pool, int64_t id, payment_t *out);

/* Creates `in` (status CREATED) with a PaymentCreated event, unless a payment for its saga
 * exists: then *out is that payment and *created is false (UNIQUE saga_id decides).
 * Returns 0 or a db error. Any thread. */
int pay_repo_create(db_pool *pool, const payment_t *in, payment_t *out, bool *created);

/* Applies `act` to payment `id` per pay_decide under optimistic locking (version), with its
 * event. For PAY_ACT_APPROVE the gateway has already answered: failure_reason NULL means
 * approved (-> APPROVED, PaymentApproved), otherwise refused (-> FAILED with that reason,
 * PaymentFailed). Other actions ignore failure_reason. *out is the payment afterwards (or as
 * found when not applied), *verdict what happened. Returns 0 (look at *verdict),
 * CM_ERR_NOT_FOUND or a db error. Any thread. */
int pay_repo_transition(db_pool *pool, int64_t id, pay_action_t act, const char *failure_reason,
                        payment_t *out, pay_verdict_t *verdict);

#endif
