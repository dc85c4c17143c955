/* inventory.h - the inventory domain: reservation statuses, the semantic-lock state machine and
 * query/body validation. Pure rules: no SQL, no HTTP, no globals; any thread may call these. */
#ifndef SERVICE_INVENTORY_INVENTORY_H
#define SERVICE_INVENTORY_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "saga_contract.h"
#include "cm_json.h"

#define INV_SAGA_ID_MAX SAGA_ID_MAX /* buffer size; the rule is saga_id_valid (saga_contract.h) */
#define INV_QTY_MAX     1000000000  /* stock and quantities fit an INT column with headroom */
#define INV_ERR_MAX     160

typedef enum inv_res_status {
    INV_RES_NONE = 0, /* no row for (saga, product) */
    INV_RES_RESERVED,
    INV_RES_CONFIRMED,
    INV_RES_CANCELLED
} inv_res_status_t;

typedef enum inv_action { INV_ACT_RESERVE = 0, INV_ACT_CONFIRM, INV_ACT_CANCEL } inv_action_t;

/* What an action does given the saga's reservation for the product. */
typedef enum inv_verdict {
    INV_APPLY = 0,        /* perform it (reserve needs stock: OutOfStock if short) */
    INV_TOMBSTONE,        /* cancel before reserve: write a CANCELLED row, stock unchanged */
    INV_NOOP,             /* already done: answer the current state without a change */
    INV_REFUSE_CANCELLED, /* reserve after cancel: 409 ReservationCancelled */
    INV_REFUSE_ILLEGAL,   /* 409 IllegalTransition */
    INV_REFUSE_NOT_FOUND, /* confirm without a reservation: 404 NotFound */
    /* decided from the stock row, not by inv_decide: */
    INV_REFUSE_NO_PRODUCT,  /* reserve of an unknown product: 404 NotFound */
    INV_REFUSE_OUT_OF_STOCK /* available < quantity: 409 OutOfStock */
} inv_verdict_t;

typedef struct inv_stock {
    int64_t product_id;
    int64_t available;
    int64_t reserved;
    int64_t confirmed;
    int64_t version;
} inv_stock_t;

typedef struct inv_reservation {
    char saga_id[INV_SAGA_ID_MAX];
    int64_t product_id;
    int64_t quantity;
    inv_res_status_t status;
} inv_reservation_t;

/* "RESERVED" / "CONFIRMED" / "CANCELLED" ("NONE" for INV_RES_NONE). */
const char *inv_res_status_name(inv_res_status_t s);
/* Parses a stored status. Returns 0, or -1 if `name` is not one. */
int inv_res_status_parse(const char *name, inv_res_status_t *out);
/* Event type written when `act` changes state (StockReserved, StockReservationConfirmed,
 * StockReservationCancelled). */
const char *inv_action_event(inv_action_t act);

/* The semantic lock, keyed (saga, product):
 *   reserve: NONE -> APPLY; RESERVED/CONFIRMED with the same quantity -> NOOP, with another
 *            quantity -> REFUSE_ILLEGAL; CANCELLED -> REFUSE_CANCELLED.
 *   confirm: RESERVED -> APPLY; CONFIRMED -> NOOP; CANCELLED -> REFUSE_ILLEGAL;
 *            NONE -> REFUSE_NOT_FOUND.
 *   cancel:  RESERVED -> APPLY; NONE -> TOMBSTONE; CANCELLED -> NOOP;
 *            CONFIRMED -> REFUSE_ILLEGAL (the goods are gone).
 * `have_qty` is the stored quantity (ignored for NONE), `want_qty` the requested one. */
inv_verdict_t inv_decide(inv_res_status_t from, int64_t have_qty, inv_action_t act,
                         int64_t want_qty);

/* Field table for a PUT /api/inventory/{id} body {"available": N}, N an integer
 * 0..INV_QTY_MAX (for http_req_json / json_parse_object). */
extern const json_field inv_set_stock_fields[];

#endif
