/* routes.h - the payment service's HTTP API (DESIGN.md: T3-1, T3-2, T6, C3 and reads).
 * Registers handlers only; main.c owns the server, pools, gateway and relay. */
#ifndef SERVICE_PAYMENT_ROUTES_H
#define SERVICE_PAYMENT_ROUTES_H

#include "cm_auth.h"
#include "cm_db.h"
#include "cm_http.h"
#include "cm_outbox.h"
#include "cm_redis.h"
#include "gateway.h"

#define PAY_SEMAPHORE_KEY "semaphore:pg"

typedef struct pay_routes {
    db_pool *db;         /* borrowed */
    rds_pool *rds;       /* borrowed: idempotency keys and the gateway semaphore */
    outbox_relay *relay; /* borrowed, may be NULL: woken after each committed event */
    fake_pg_t *pg;       /* borrowed */
    const char *service; /* "service-payment", for idempotency keys */
    int pg_concurrency;  /* PG_CONCURRENCY: permits of semaphore:pg */
    int pg_wait_ms;      /* PG_WAIT_MS: how long an approval queues for a permit */
    int pg_lease_ms;     /* permit lease: longer than any charge can take */
    auth *auth;          /* borrowed: writes need the service token, reads either token */
} pay_routes_t;

/* Registers every /api/payments route on `srv` with `ctx` (must outlive the server).
 * Returns 0 or CM_ERR_INVALID. Main thread, before the server starts. */
int pay_routes_register(http_server *srv, pay_routes_t *ctx);

#endif
