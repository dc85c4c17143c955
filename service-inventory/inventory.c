/* inventory.c - reservation state machine and request validation.
 * Knows nothing about storage or HTTP; routes.c maps verdicts to status codes. */
#include "inventory.h"

#include <stdio.h>

#include "cm_enum.h"

static const char *const res_names[] = {"NONE", "RESERVED", "CONFIRMED", "CANCELLED"};

CM_ENUM_DEFINE(inv_res_status, inv_res_status_t, res_names, 1)

const char *inv_action_event(inv_action_t act)
{
    switch (act) {
    case INV_ACT_RESERVE: return "StockReserved";
    case INV_ACT_CONFIRM: return "StockReservationConfirmed";
    case INV_ACT_CANCEL: return "StockReservationCancelled";
    }
    return "Unknown";
}

inv_verdict_t inv_decide(inv_res_status_t from, int64_t have_qty, inv_action_t act,
                         int64_t want_qty)
{
    switch (act) {
    case INV_ACT_RESERVE:
        if (from == INV_RES_NONE)
            return INV_APPLY;
        if (from == INV_RES_CANCELLED)
            return INV_REFUSE_CANCELLED;
        return have_qty == want_qty ? INV_NOOP : INV_REFUSE_ILLEGAL;
    case INV_ACT_CONFIRM:
        if (from == INV_RES_RESERVED)
            return INV_APPLY;
        if (from == INV_RES_CONFIRMED)
            return INV_NOOP;
        return from == INV_RES_NONE ? INV_REFUSE_NOT_FOUND : INV_REFUSE_ILLEGAL;
    case INV_ACT_CANCEL:
        if (from == INV_RES_RESERVED)
            return INV_APPLY;
        if (from == INV_RES_NONE)
            return INV_TOMBSTONE;
        return from == INV_RES_CANCELLED ? INV_NOOP : INV_REFUSE_ILLEGAL;
    }
    return INV_REFUSE_ILLEGAL;
}

const json_field inv_set_stock_fields[] = {
    {"available", JF_INT, true, 0, INV_QTY_MAX},
    {NULL, JF_ANY, false, 0, 0},
};
