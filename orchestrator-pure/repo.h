/* repo.h - orchestrator_db access: saga_instance (current state) and saga_step_log (trail).
 * SQL only; the rules live in machine.c and orchestrator.c. */
#ifndef ORCH_REPO_H
#define ORCH_REPO_H

#include "cm_db.h"
#include "machine.h"
#include "saga.h"

#define REPO_ERRMSG_MAX SAGA_ERRMSG_MAX

typedef struct saga_row {
    char saga_id[SAGA_ID_MAX];
    machine_pos_t pos;
    saga_input_t in;
    saga_state_t st;
    char error_type[48]; /* first forward failure; "" if none */
    char error_message[REPO_ERRMSG_MAX];
    int version; /* optimistic lock of saga_instance */
} saga_row_t;

/* One saga_step_log row to write with a transition. */
typedef struct step_log {
    saga_step_t step;
    const char *event; /* STARTED, SUCCEEDED, FAILED, RETRY */
    int attempt;
    const saga_error_t *err; /* may be NULL */
} step_log_t;

/* Inserts a new saga (row->pos must be machine_start()) and its "CreateOrder STARTED" log in
 * one transaction. Returns 0, CM_ERR_DUPLICATE (saga id exists), or a db error. Any thread. */
int repo_create(db_pool *db, const saga_row_t *row);

/* Loads a saga. 0, CM_ERR_NOT_FOUND, or a db error. */
int repo_load(db_pool *db, const char *saga_id, saga_row_t *out);

/* Commits the move of `row` (state as loaded, version row->version) to `next` with the new
 * ids/error in row->st / row->error_*, plus up to 2 log rows, in one transaction.
 * On success row->pos = next and row->version++. CM_ERR_CONFLICT when another writer moved the
 * saga (version changed), or a db error. */
int repo_transition(db_pool *db, saga_row_t *row, machine_pos_t next, const step_log_t *logs,
                    int nlogs);

/* Appends one log row outside any transition (retries). Best effort: errors are returned. */
int repo_log(db_pool *db, const char *saga_id, const step_log_t *log);

/* Calls fn(saga_id, ctx) for every saga not terminal, oldest first. Returns 0 or a db error. */
int repo_each_unfinished(db_pool *db, void (*fn)(const char *saga_id, void *ctx), void *ctx);

/* The same for the (at most `limit`) sagas not terminal whose row has not moved for
 * `stale_s` seconds or more: candidates nobody may be driving. 0 or a db error. */
int repo_each_stalled(db_pool *db, int64_t stale_s, int limit,
                      void (*fn)(const char *saga_id, void *ctx), void *ctx);

#endif
