/* payment.h - the payment domain: statuses, the state machine and request validation.
 * Pure rules: no SQL, no HTTP, no gateway calls, no globals; any thread may call these. */
#ifndef SERVICE_PAYMENT_PAYMENT_H
#define SERVICE_PAYMENT_PAYMENT_H

#include <stddef.h>
#include <stdint.h>

#include "saga_contract.h"
#include "cm_json.h"

#define PAY_SAGA_ID_MAX SAGA_ID_MAX /* buffer size; the rule is saga_id_valid (saga_contract.h) */
#define PAY_METHOD_MAX  32          /* buffer size: methods are 1..31 bytes */
#define PAY_REASON_MAX  256
#define PAY_ERR_MAX     160

typedef enum pay_status {
    PAY_CREATED = 0,
    PAY_APPROVED,
    PAY_CONFIRMED,
    PAY_REFUNDED,
    PAY_FAILED
} pay_status_t;

typedef enum pay_action { PAY_ACT_APPROVE = 0, PAY_ACT_CONFIRM, PAY_ACT_REFUND } pay_action_t;

typedef enum pay_verdict {
    PAY_APPLY = 0,     /* change state (approve: ask the gateway first) */
    PAY_NOOP,          /* already there: answer the current state without a change */
    PAY_REFUSE_FAILED, /* approve of a FAILED payment: 402 InsufficientBalance again */
    PAY_REFUSE_ILLEGAL /* 409 IllegalTransition */
} pay_verdict_t;

typedef struct payment {
    int64_t id;
    int64_t order_id;
    int64_t amount;
    int64_t version;
    pay_status_t status;
    char saga_id[PAY_SAGA_ID_MAX];
    char method[PAY_METHOD_MAX];
    char failure_reason[PAY_REASON_MAX]; /* "" when none */
} payment_t;

const char *pay_status_name(pay_status_t s);
/* Parses a stored status. Returns 0, or -1 if `name` is not one. */
int pay_status_parse(const char *name, pay_status_t *out);
/* The status an applied action leads to (approve: APPROVED; a refused charge is FAILED). */
pay_status_t pay_action_target(pay_action_t act);
/* Event type for an applied action (PaymentApproved, PaymentConfirmed, PaymentRefunded). */
const char *pay_action_event(pay_action_t act);

/* The state machine:
 *   approve: CREATED -> APPLY (gateway decides APPROVED or FAILED); APPROVED, CONFIRMED -> NOOP;
 *            FAILED -> REFUSE_FAILED; REFUNDED -> REFUSE_ILLEGAL.
 *   confirm: APPROVED -> APPLY; CONFIRMED -> NOOP; CREATED, FAILED, REFUNDED -> REFUSE_ILLEGAL.
 *   refund:  CREATED, APPROVED, FAILED, CONFIRMED -> APPLY; REFUNDED -> NOOP.
 * (Refunding an unknown payment is a no-op success; that is decided before a row exists.) */
pay_verdict_t pay_decide(pay_status_t from, pay_action_t act);

/* Field table for a POST /api/payments body (for http_req_json / json_parse_object):
 * orderId, amount positive integers, method optional string of 1..31 bytes, sagaId a string
 * of 1..127 bytes. Unknown fields are ignored. */
extern const json_field pay_create_fields[];

/* Builds the payment to create from a body already validated against pay_create_fields and
 * checks what the table cannot (sagaId and method characters; method defaults to "CARD").
 * Returns 0, or -1 with a message naming the field in err. */
int pay_from_json(const json_t *body, payment_t *out, char *err, size_t err_cap);

#endif
