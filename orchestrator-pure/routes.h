/* routes.h - HTTP API of orchestrator-pure. */
#ifndef ORCH_ROUTES_H
#define ORCH_ROUTES_H

#include "cm_http.h"
#include "orchestrator.h"

typedef struct routes_ctx {
    orch_t *orch;            /* borrowed */
    int64_t sync_timeout_ms; /* ORDER_SYNC_TIMEOUT_MS: how long POST waits before 202 */
    int64_t stuck_after_ms;  /* SAGA_STUCK_AFTER_MS: a retry this old makes a saga stuck */
} routes_ctx_t;

/* Registers POST /api/pure/orders, POST /api/saga/order, GET /api/pure/orders/{sagaId},
 * POST /api/pure/orders/{sagaId}/cancel, GET /api/pure/sagas (?stuck=true).
 * ctx must outlive the server. 0 or CM_ERR_INVALID. */
int routes_register(http_server *srv, routes_ctx_t *ctx);

#endif
