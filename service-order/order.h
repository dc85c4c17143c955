/* order.h - the order domain: statuses, the state machine and request validation.
 * Pure rules: no SQL, no HTTP, no globals; any thread may call these. */
#ifndef SERVICE_ORDER_ORDER_H
#define SERVICE_ORDER_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "saga_contract.h"
#include "cm_json.h"

#define ORDER_SAGA_ID_MAX SAGA_ID_MAX /* buffer size; the rule is saga_id_valid (saga_contract.h) */
#define ORDER_ERR_MAX     160

typedef enum order_status { ORDER_CREATED = 0, ORDER_CONFIRMED, ORDER_CANCELLED } order_status_t;

typedef enum order_action { ORDER_ACT_CONFIRM = 0, ORDER_ACT_CANCEL } order_action_t;

/* What a transition request does to an order in a given status. */
typedef enum order_verdict {
    ORDER_APPLY = 0, /* change the status and write an event */
    ORDER_NOOP,      /* already there: succeed without a change (idempotent replay) */
    ORDER_REFUSE     /* illegal: 409 IllegalTransition */
} order_verdict_t;

typedef struct order {
    int64_t id;
    int64_t customer_id;
    int64_t product_id;
    int64_t quantity;
    int64_t amount;
    order_status_t status;
    int64_t version;
    char saga_id[ORDER_SAGA_ID_MAX];
} order_t;

/* "CREATED" / "CONFIRMED" / "CANCELLED"; "UNKNOWN" for an out-of-range value. */
const char *order_status_name(order_status_t s);
/* Parses a status name. Returns 0, or -1 if `name` is not one. */
int order_status_parse(const char *name, order_status_t *out);
/* The status `act` leads to (CONFIRMED or CANCELLED). */
order_status_t order_action_target(order_action_t act);
/* Event type written when `act` is applied ("OrderConfirmed", "OrderCancelled"). */
const char *order_action_event(order_action_t act);

/* The state machine: CREATED->CONFIRMED, CREATED->CANCELLED; confirming a CONFIRMED or
 * cancelling a CANCELLED order is a no-op; everything else (confirm CANCELLED, cancel
 * CONFIRMED) is refused. */
order_verdict_t order_decide(order_status_t from, order_action_t act);

/* Field table for a POST /api/orders body (for http_req_json / json_parse_object):
 * customerId, productId, amount positive integers, quantity 1..INT32_MAX, sagaId a string of
 * 1..127 bytes. Unknown fields are ignored. */
extern const json_field order_create_fields[];

/* Builds the order to create from a body already validated against order_create_fields and
 * checks what the table cannot (sagaId characters). Fills *out (status CREATED, id 0).
 * Returns 0, or -1 with a message naming the field in err. */
int order_from_json(const json_t *body, order_t *out, char *err, size_t err_cap);

#endif
