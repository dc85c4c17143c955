/* driver.h - orchestrator-pure's step logic: one saga driven through saga_machine.h by the
 * replica holding its lease, committing (repo.c) only what recovery needs: its pivot, the
 * decision to compensate, a retry in progress and its end (the creation is the engine's).
 * Knows no queue, waiter or worker pool (orchestrator.c); decides no transition (the machine
 * does). Internal to the program. */
#ifndef ORCH_DRIVER_H
#define ORCH_DRIVER_H

#include <stdbool.h>

#include "callpool.h"
#include "cm_db.h"
#include "repo.h"
#include "saga.h"
#include "saga_machine.h"

/* What the driver asks of its engine; every hook is called from the worker driving the saga. */
typedef struct driver_hooks {
    int (*sleep)(void *ctx, int64_t ms);                 /* waits ms; 1 when the engine stops */
    bool (*lease_ok)(void *ctx, const char *saga_id);    /* false: the lease is gone, let go */
    bool (*take_cancel)(void *ctx, const char *saga_id); /* a cancel was committed since */
    /* The live state after each round (for GET and the gauges); retry_since_ms is the
     * CLOCK_MONOTONIC start of row->retry (meaningless when none). */
    void (*observe)(void *ctx, const saga_row_t *row, int64_t retry_since_ms);
    void (*retried)(void *ctx, saga_step_t step, const saga_error_t *err); /* metrics */
    void (*compensated)(void *ctx, saga_step_t step, bool done); /* done, or refused for good */
} driver_hooks_t;

/* What a driver needs from its engine; borrowed, read only, shared by all worker threads. */
typedef struct driver {
    db_pool *db;
    struct saga_client *client;
    saga_policy_t policy;
    const char *owner; /* this replica's owner id */
    int64_t lease_ms;  /* SAGA_LEASE_MS: a commit extends the lease by this much */
    callpool_t *pool;  /* helpers for the concurrent confirms */
    driver_hooks_t hooks;
    void *ctx;
} driver_t;

#define DRIVER_STOPPED 1 /* the engine stops: the saga is left where its last commit put it */
#define DRIVER_LOST    2 /* the lease is gone (taken over, or run out): another replica drives */

/* Drives the stored saga `row` (loaded = read back from the database, not just created by
 * this process) from where it is to its end: resumes its machine, runs the steps it asks for
 * (the confirms side by side on the call pool), feeds their outcomes back and commits when
 * recovery needs it. A loaded saga still going forward may have run any step up to the pivot
 * since its last commit, so if it compensates it compensates every one of them. Returns 0 with
 * row = the ended saga, DRIVER_STOPPED, DRIVER_LOST, or CM_ERR_CONFLICT (moved by someone
 * else). Any worker thread. */
int driver_run(const driver_t *d, saga_row_t *row, bool loaded);

/* Cancels the saga before its pivot: commits the request (whoever holds the lease applies it
 * once the step it runs answers; a saga nobody drives compensates when it is next driven).
 * live_step (SAGA_STEP_NONE: the stored one) is the step the log row names.
 * Returns 0 with row = the saga as stored (also for a repeated cancel), CM_ERR_CONFLICT when
 * it can no longer be cancelled (past the pivot, compensating a failure, ended: row = its
 * state; logged as CANCEL_IGNORED), CM_ERR_NOT_FOUND, CM_ERR_TIMEOUT (it kept moving), or a db
 * error. Any thread. */
int driver_cancel(const driver_t *d, const char *saga_id, saga_step_t live_step, saga_row_t *row);

#endif
