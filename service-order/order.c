/* order.c - order state machine and create-request validation.
 * Knows nothing about storage or HTTP; routes.c maps verdicts to status codes. */
#include "order.h"

#include <stdio.h>
#include <string.h>

#include "cm_enum.h"

static const char *const status_names[] = {"CREATED", "CONFIRMED", "CANCELLED"};

CM_ENUM_DEFINE(order_status, order_status_t, status_names, 0)

order_status_t order_action_target(order_action_t act)
{
    return act == ORDER_ACT_CONFIRM ? ORDER_CONFIRMED : ORDER_CANCELLED;
}

const char *order_action_event(order_action_t act)
{
    return act == ORDER_ACT_CONFIRM ? "OrderConfirmed" : "OrderCancelled";
}

order_verdict_t order_decide(order_status_t from, order_action_t act)
{
    order_status_t to = order_action_target(act);
    if (from == to)
        return ORDER_NOOP;
    if (from == ORDER_CREATED)
        return ORDER_APPLY;
    return ORDER_REFUSE;
}

const json_field order_create_fields[] = {
    {"customerId", JF_POS_INT, true, 0, 0},
    {"productId", JF_POS_INT, true, 0, 0},
    {"quantity", JF_POS_INT, true, 0, INT32_MAX},
    {"amount", JF_POS_INT, true, 0, 0},
    {"sagaId", JF_STRING, true, 1, ORDER_SAGA_ID_MAX - 1},
    {NULL, JF_ANY, false, 0, 0},
};

int order_from_json(const json_t *body, order_t *out, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    const char *saga = json_get_str(body, "sagaId", NULL);
    if (!saga_id_valid(saga)) {
        snprintf(err, err_cap, "%s", SAGA_ID_RULE);
        return -1;
    }
    out->customer_id = json_get_int(body, "customerId", 0);
    out->product_id = json_get_int(body, "productId", 0);
    out->quantity = json_get_int(body, "quantity", 0);
    out->amount = json_get_int(body, "amount", 0);
    snprintf(out->saga_id, sizeof out->saga_id, "%s", saga);
    out->status = ORDER_CREATED;
    return 0;
}
