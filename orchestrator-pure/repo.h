/* repo.h - orchestrator_db access: saga_instance (a saga's durable state) and saga_step_log (its
 * trail). SQL only; the rules are saga_machine.h's, the driving is orchestrator.c's. */
#ifndef ORCH_REPO_H
#define ORCH_REPO_H

#include "cm_db.h"
#include "saga.h"
#include "saga_machine.h"

/* A saga as stored. Only the [durable] fields of m are stored and loaded. */
typedef struct saga_row {
    char saga_id[SAGA_ID_MAX];
    saga_machine_t m;
    saga_input_t in;
    saga_state_t st;
    int version; /* optimistic lock of saga_instance */
} saga_row_t;

/* One saga_step_log row. */
typedef struct step_log {
    saga_step_t step;
    const char *event; /* STARTED, SUCCEEDED, FAILED, RETRY, CANCEL, CANCEL_IGNORED */
    int attempt;
    const saga_error_t *err; /* may be NULL */
} step_log_t;

#define REPO_LOGS_MAX 4 /* log rows one commit writes: the pivot's outcome + three confirms */

/* Inserts a new saga (row->m as saga_machine_resume left a new one: CreateOrder started) and
 * its "CreateOrder STARTED" log in one transaction. Returns 0, CM_ERR_DUPLICATE (saga id
 * exists), or a db error. Any thread. */
int repo_create(db_pool *db, const saga_row_t *row);

/* Loads a saga. 0, CM_ERR_NOT_FOUND, or a db error. Any thread. */
int repo_load(db_pool *db, const char *saga_id, saga_row_t *out);

/* Commits row's durable state and ids over the stored version row->version, with 1..REPO_LOGS_MAX
 * log rows, in one transaction. On success row->version++. CM_ERR_CONFLICT when the stored
 * version moved on (another writer), or a db error. Any thread. */
int repo_commit(db_pool *db, saga_row_t *row, const step_log_t *logs, int nlogs);

/* Appends up to REPO_LOGS_MAX log rows outside any transition (retries, ignored cancels). Best
 * effort: errors are returned. */
int repo_log(db_pool *db, const char *saga_id, const step_log_t *logs, int nlogs);

/* Calls fn(saga_id, ctx) for every saga not terminal, oldest first. Returns 0 or a db error. */
int repo_each_unfinished(db_pool *db, void (*fn)(const char *saga_id, void *ctx), void *ctx);

/* The same for the (at most `limit`) sagas not terminal whose row has not moved for
 * `stale_s` seconds or more: candidates nobody may be driving. 0 or a db error. */
int repo_each_stalled(db_pool *db, int64_t stale_s, int limit,
                      void (*fn)(const char *saga_id, void *ctx), void *ctx);

#endif
