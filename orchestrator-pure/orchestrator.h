/* orchestrator.h - the pure saga engine of one replica: a bounded worker pool that drives the
 * sagas this replica holds the lease of through saga_machine.h (driver.c), a lease keeper that
 * takes over sagas other replicas left (lease.c), and the waiters of HTTP handlers. */
#ifndef ORCH_ORCHESTRATOR_H
#define ORCH_ORCHESTRATOR_H

#include <stdbool.h>

#include "cm_db.h"
#include "cm_metrics.h"
#include "repo.h"
#include "saga.h"

typedef struct orch orch_t;

typedef struct orch_config {
    db_pool *db;                /* borrowed */
    struct saga_client *client; /* borrowed */
    metrics_registry *metrics;  /* borrowed, may be NULL */
    const char *owner;          /* this replica's owner id (copied) */
    int workers;                /* SAGA_WORKERS, threads running sagas */
    int queue_max;              /* SAGA_QUEUE_MAX, sagas waiting for a worker */
    int forward_attempts;       /* SAGA_FORWARD_ATTEMPTS: tries of a forward step (3) */
    int64_t retry_initial_ms;   /* SAGA_RETRY_INITIAL_MS (1000) */
    int64_t retry_max_ms;       /* SAGA_RETRY_MAX_MS (10000) */
    int64_t lease_ms;           /* SAGA_LEASE_MS (10000): a saga's lease; renewed every third */
    int64_t scan_ms;            /* how often expired leases are looked for (lease / 10, <= 1 s) */
} orch_config_t;

/* What this replica knows of a saga it drives now, ahead of what is stored. */
typedef struct orch_live {
    bool driven_here;
    saga_phase_t phase;
    saga_step_t step;
} orch_live_t;

/* Starts the workers, the call helpers and the lease keeper (whose first pass takes over the
 * sagas whose lease ran out: resuming after a crash is that, continuously). 0 or
 * CM_ERR_NOMEM / CM_ERR_INVALID. Main thread. */
int orch_start(const orch_config_t *cfg, orch_t **out);

/* Validated input -> a saga, then waits up to timeout_ms for its end. Creates the saga
 * (committed, held by this replica) and queues it, or attaches to the existing one with this
 * id (a repeated POST): driven here, it waits for its worker; held by another live replica, it
 * polls the row until it ends; with its lease run out, it takes it over and drives it. A
 * database error on the create is settled by reading the saga back (and creating it while
 * absent) until the database answers or timeout_ms. Returns 0 with row = the final state,
 * CM_ERR_TIMEOUT with row = the latest known state (the saga exists and is being driven),
 * CM_ERR_CONFLICT (the id exists with a different request), CM_ERR_BUSY (queue full; nothing
 * persisted) or a db error: the database did not answer within timeout_ms and whether the saga
 * exists is not known (a retry with the same id settles it). Any thread (HTTP handlers). */
int orch_submit_wait(orch_t *o, const char *saga_id, const saga_input_t *in, int64_t timeout_ms,
                     saga_row_t *row);

/* Current state of a saga as stored (row) and as this replica drives it (live; may be NULL):
 * 0, CM_ERR_NOT_FOUND or a db error. Any thread. */
int orch_get(orch_t *o, const char *saga_id, saga_row_t *row, orch_live_t *live);

/* What this replica knows of saga_id while it drives it (live->driven_here false otherwise).
 * Any thread. */
void orch_live(orch_t *o, const char *saga_id, orch_live_t *live);

/* Calls fn for at most `limit` unfinished sagas: stuck_after_ms >= 0 those retrying one step
 * for at least that long, else all. 0 or a db error. Any thread. */
int orch_list(orch_t *o, int64_t stuck_after_ms, int limit,
              void (*fn)(const saga_row_t *row, const orch_live_t *live, void *ctx), void *ctx);

/* Cancels a saga before its pivot: driver_cancel (driver.h) says what it answers. A saga this
 * replica drives hears of it at once, one another replica drives at its next commit or lease
 * renewal. Any thread. */
int orch_cancel(orch_t *o, const char *saga_id, saga_row_t *row);

/* Stops the workers (a saga in the middle of a step finishes that call), then the lease
 * keeper, ending this replica's leases so another replica takes its unfinished sagas over at
 * once; joins and frees. NULL ok. */
void orch_stop(orch_t *o);

#endif
