/* routes.h - the order service's HTTP API (DESIGN.md: T1, T4, C1 and reads).
 * Registers handlers only; main.c owns the server, pools and relay. */
#ifndef SERVICE_ORDER_ROUTES_H
#define SERVICE_ORDER_ROUTES_H

#include "cm_auth.h"
#include "cm_db.h"
#include "cm_http.h"
#include "cm_outbox.h"
#include "cm_redis.h"

typedef struct order_routes {
    db_pool *db;         /* borrowed */
    rds_pool *rds;       /* borrowed: idempotency keys */
    outbox_relay *relay; /* borrowed, may be NULL: woken after each committed event */
    const char *service; /* "service-order", for idempotency keys */
    auth *auth;          /* borrowed: writes need the service token, reads either token */
} order_routes_t;

/* Registers every /api/orders route on `srv` with `ctx` (must outlive the server).
 * Returns 0 or CM_ERR_INVALID. Main thread, before the server starts. */
int order_routes_register(http_server *srv, order_routes_t *ctx);

#endif
