/* payment.c - payment state machine and create-request validation.
 * Knows nothing about storage, HTTP or the gateway; routes.c maps verdicts to status codes. */
#include "payment.h"

#include <stdio.h>
#include <string.h>

#include "cm_enum.h"

static const char *const status_names[] = {"CREATED", "APPROVED", "CONFIRMED", "REFUNDED",
                                           "FAILED"};

CM_ENUM_DEFINE(pay_status, pay_status_t, status_names, 0)

pay_status_t pay_action_target(pay_action_t act)
{
    switch (act) {
    case PAY_ACT_APPROVE: return PAY_APPROVED;
    case PAY_ACT_CONFIRM: return PAY_CONFIRMED;
    case PAY_ACT_REFUND: return PAY_REFUNDED;
    }
    return PAY_CREATED;
}

const char *pay_action_event(pay_action_t act)
{
    switch (act) {
    case PAY_ACT_APPROVE: return "PaymentApproved";
    case PAY_ACT_CONFIRM: return "PaymentConfirmed";
    case PAY_ACT_REFUND: return "PaymentRefunded";
    }
    return "Unknown";
}

pay_verdict_t pay_decide(pay_status_t from, pay_action_t act)
{
    switch (act) {
    case PAY_ACT_APPROVE:
        if (from == PAY_CREATED)
            return PAY_APPLY;
        if (from == PAY_APPROVED || from == PAY_CONFIRMED)
            return PAY_NOOP;
        return from == PAY_FAILED ? PAY_REFUSE_FAILED : PAY_REFUSE_ILLEGAL;
    case PAY_ACT_CONFIRM:
        if (from == PAY_APPROVED)
            return PAY_APPLY;
        return from == PAY_CONFIRMED ? PAY_NOOP : PAY_REFUSE_ILLEGAL;
    case PAY_ACT_REFUND: return from == PAY_REFUNDED ? PAY_NOOP : PAY_APPLY;
    }
    return PAY_REFUSE_ILLEGAL;
}

static int method_valid(const char *m)
{
    size_t n = 0;
    for (; m[n]; n++) {
        char c = m[n];
        if (n >= PAY_METHOD_MAX - 1 || (unsigned char)c < 0x20 || c == 0x7f)
            return 0;
    }
    return n > 0;
}

const json_field pay_create_fields[] = {
    {"orderId", JF_POS_INT, true, 0, 0},
    {"amount", JF_POS_INT, true, 0, 0},
    {"method", JF_STRING, false, 1, PAY_METHOD_MAX - 1},
    {"sagaId", JF_STRING, true, 1, PAY_SAGA_ID_MAX - 1},
    {NULL, JF_ANY, false, 0, 0},
};

int pay_from_json(const json_t *body, payment_t *out, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    const char *saga = json_get_str(body, "sagaId", NULL);
    const char *method = json_get_str(body, "method", "CARD");
    if (!saga_id_valid(saga)) {
        snprintf(err, err_cap, "%s", SAGA_ID_RULE);
        return -1;
    }
    if (!method_valid(method)) {
        snprintf(err, err_cap, "method must be 1..31 bytes without control characters");
        return -1;
    }
    out->order_id = json_get_int(body, "orderId", 0);
    out->amount = json_get_int(body, "amount", 0);
    snprintf(out->saga_id, sizeof out->saga_id, "%s", saga);
    snprintf(out->method, sizeof out->method, "%s", method);
    out->status = PAY_CREATED;
    return 0;
}
