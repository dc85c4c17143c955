/* routes.h - the inventory service's HTTP API (DESIGN.md: T2, T5, C2, stock reads and PUT).
 * Registers handlers only; main.c owns the server, pools and relay. */
#ifndef SERVICE_INVENTORY_ROUTES_H
#define SERVICE_INVENTORY_ROUTES_H

#include "cm_auth.h"
#include "cm_db.h"
#include "cm_http.h"
#include "cm_outbox.h"
#include "cm_redis.h"

#define INV_LOCK_LEASE_MS 5000 /* lock:inventory:{id} lease; an operation takes milliseconds */
#define INV_LOCK_WAIT_MS \
    2000 /* default INVENTORY_LOCK_WAIT_MS: after this wait the
                                  operation runs unlocked (MySQL still decides) */

typedef struct inv_routes {
    db_pool *db;         /* borrowed */
    rds_pool *rds;       /* borrowed: idempotency keys and product locks */
    outbox_relay *relay; /* borrowed, may be NULL: woken after each committed event */
    const char *service; /* "service-inventory", for idempotency keys */
    int lock_wait_ms;    /* INVENTORY_LOCK_WAIT_MS: how long to queue for a product lock */
    auth *auth;          /* borrowed: PUT needs the admin token, reserve/confirm/cancel the
                          * service token, reads either */
} inv_routes_t;

/* Registers every /api/inventory route on `srv` with `ctx` (must outlive the server).
 * Returns 0 or CM_ERR_INVALID. Main thread, before the server starts. */
int inv_routes_register(http_server *srv, inv_routes_t *ctx);

#endif
