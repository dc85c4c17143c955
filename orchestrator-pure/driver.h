/* driver.h - orchestrator-pure's step logic: one saga driven through saga_machine.h, every
 * transition committed (repo.c) before the calls it leads to. Knows no queue, waiter or worker
 * pool (orchestrator.c); decides no transition (the machine does). Internal to the program. */
#ifndef ORCH_DRIVER_H
#define ORCH_DRIVER_H

#include "cm_db.h"
#include "repo.h"
#include "saga.h"
#include "saga_machine.h"

/* What a driver needs from its engine; borrowed, read only, shared by all worker threads. */
typedef struct driver {
    db_pool *db;
    struct saga_client *client;
    saga_policy_t policy;
    int (*sleep)(void *ctx, int64_t ms); /* waits ms; 1 when the engine stops meanwhile */
    void (*retried)(void *ctx);          /* a call is retried (metrics) */
    void *ctx;
} driver_t;

/* Drives the stored saga `row` (loaded or just created) from where it is to its end: resumes
 * its machine, runs the steps it asks for (the confirms side by side, each on a thread of its
 * own), feeds their outcomes back and commits. Returns 0 with row = the ended saga, 1 when the
 * engine stopped (the saga resumes from its last commit on the next start), or CM_ERR_CONFLICT
 * (another worker moved it). Any worker thread. */
int driver_run(const driver_t *d, saga_row_t *row);

/* Cancels the saga before its pivot: commits the request; its worker applies it once the step
 * it runs answers, a saga no worker runs compensates when it is next resumed. Returns 0 with
 * row = the saga as stored (also for a repeated cancel), CM_ERR_CONFLICT when it can no longer
 * be cancelled (past the pivot, compensating a failure, ended: row = its state; logged as
 * CANCEL_IGNORED), CM_ERR_NOT_FOUND, CM_ERR_TIMEOUT (it kept moving), or a db error. Any thread. */
int driver_cancel(const driver_t *d, const char *saga_id, saga_row_t *row);

#endif
