/* orchestrator.h - the pure saga engine: a bounded worker pool that drives each saga through
 * saga_machine.h, committing every transition (repo.c) before the calls it leads to. */
#ifndef ORCH_ORCHESTRATOR_H
#define ORCH_ORCHESTRATOR_H

#include "cm_db.h"
#include "cm_metrics.h"
#include "repo.h"
#include "saga.h"

typedef struct orch orch_t;

typedef struct orch_config {
    db_pool *db;                /* borrowed */
    struct saga_client *client; /* borrowed */
    metrics_registry *metrics;  /* borrowed, may be NULL */
    int workers;                /* SAGA_WORKERS, threads running sagas */
    int queue_max;              /* SAGA_QUEUE_MAX, sagas waiting for a worker */
    int forward_attempts;       /* SAGA_FORWARD_ATTEMPTS: tries of a forward step (3) */
    int64_t retry_initial_ms;   /* SAGA_RETRY_INITIAL_MS (1000) */
    int64_t retry_max_ms;       /* SAGA_RETRY_MAX_MS (10000) */
    int64_t resume_every_ms;    /* SAGA_RESUME_EVERY_MS: look for stalled sagas (0: never) */
    int64_t resume_stale_ms;    /* SAGA_RESUME_STALE_MS: unmoved this long and not driven here */
} orch_config_t;

/* Starts the worker threads and the sweeper that queues, every resume_every_ms, the sagas
 * that are unfinished, unmoved for resume_stale_ms and not driven by this process (a saga
 * whose creating request saw a database error, one a dead replica left). 0 or CM_ERR_NOMEM /
 * CM_ERR_INVALID. Main thread. */
int orch_start(const orch_config_t *cfg, orch_t **out);

/* Queues every saga that is not terminal (crash recovery). 0 or a db error. Main thread,
 * before the HTTP server accepts requests. */
int orch_resume(orch_t *o);

/* Validated input -> a saga, then waits up to timeout_ms for its end. Creates the saga
 * (committed) and queues it, or attaches to the existing one with this id (a repeated POST),
 * queueing it if no one here drives it. A database error on the create is settled by reading
 * the saga back (and creating it while absent) until the database answers or timeout_ms.
 * Returns 0 with row = the final state, CM_ERR_TIMEOUT with row = the latest known state (the
 * saga exists and is being driven), CM_ERR_CONFLICT (the id exists with a different request),
 * CM_ERR_BUSY (queue full; nothing persisted) or a db error: the database did not answer
 * within timeout_ms and whether the saga exists is not known (a retry with the same id
 * settles it). Any thread (HTTP handlers). */
int orch_submit_wait(orch_t *o, const char *saga_id, const saga_input_t *in, int64_t timeout_ms,
                     saga_row_t *row);

/* Current state of a saga: 0, CM_ERR_NOT_FOUND or a db error. Any thread. */
int orch_get(orch_t *o, const char *saga_id, saga_row_t *row);

/* Cancels a saga before its pivot: driver_cancel (driver.h) says what it answers. Any thread. */
int orch_cancel(orch_t *o, const char *saga_id, saga_row_t *row);

/* Stops the workers (a saga in the middle of a step finishes that call; its next transition is
 * resumed on the next start), joins and frees. NULL ok. */
void orch_stop(orch_t *o);

#endif
