/* repo.h - orchestrator_db access: saga_instance (a saga's durable state, its lease and its
 * retry in progress) and saga_step_log (its trail). SQL only; the rules are saga_machine.h's,
 * the driving is driver.c's, the leases' timing is lease.c's. */
#ifndef ORCH_REPO_H
#define ORCH_REPO_H

#include "cm_db.h"
#include "saga.h"
#include "saga_machine.h"

#define REPO_OWNER_MAX 128 /* owner_id: "<host>:<port>/<pid>-<random>" */
#define REPO_ERROR_MAX (SAGA_TYPE_MAX + SAGA_ERRMSG_MAX)

/* A retry in progress: the step retried longest, how many attempts it has had, what the last
 * one answered and for how long it has been retrying. */
typedef struct saga_retry {
    saga_step_t step; /* SAGA_STEP_NONE: nothing is retrying */
    int attempt;
    char error[REPO_ERROR_MAX];
    int64_t age_ms;   /* as of the load / the commit */
    int64_t since_ms; /* loaded: when it started, Unix epoch milliseconds (database clock) */
} saga_retry_t;

/* A saga as stored. Only the [durable] fields of m are stored and loaded. */
typedef struct saga_row {
    char saga_id[SAGA_ID_MAX];
    saga_machine_t m;
    saga_input_t in;
    saga_state_t st;
    int version; /* optimistic lock of saga_instance: every write of the state bumps it */
    char owner_id[REPO_OWNER_MAX]; /* the replica holding (or that last held) its lease */
    int lease_version;             /* fencing token: bumped by every takeover */
    int64_t lease_left_ms;         /* loaded: until the lease runs out (<= 0 expired) */
    bool has_lease;                /* loaded: unfinished sagas have one */
    saga_retry_t retry;
} saga_row_t;

/* Inserts a new saga (row->m as saga_machine_resume left a new one: CreateOrder started)
 * held by owner for lease_ms. Returns 0, CM_ERR_DUPLICATE (saga id exists), or a db error
 * (CM_ERR_IO: it may have been written). Any thread. */
int repo_create(db_pool *db, const saga_row_t *row, const char *owner, int64_t lease_ms);

/* Loads a saga. 0, CM_ERR_NOT_FOUND, or a db error. Any thread. */
int repo_load(db_pool *db, const char *saga_id, saga_row_t *out);

/* Commits row's durable state, ids and retry (row->retry; step SAGA_STEP_NONE clears it) over
 * the stored version and lease version, extends the lease by lease_ms (0 once the saga ended:
 * no lease), and appends the trail `logs` (the JSON array saga_commit reads, NULL for none),
 * in one transaction. On success row->version++. CM_ERR_CONFLICT when the version or the lease
 * version moved on (a cancel, a takeover), or a db error. Any thread. */
int repo_commit(db_pool *db, saga_row_t *row, const char *owner, int64_t lease_ms,
                const char *logs);

/* Records a cancel over the version and lease version row holds, with a CANCEL log row for
 * `step`: 0 (row->version++), CM_ERR_CONFLICT (the saga moved on, or was cancelled already), or
 * a db error. Any thread. */
int repo_cancel(db_pool *db, saga_row_t *row, saga_step_t step);

/* Appends one log row outside any transition (an ignored cancel). Best effort. */
int repo_log(db_pool *db, const char *saga_id, saga_step_t step, const char *event);

/* ---- leases ------------------------------------------------------------------------------- */

/* Extends by lease_ms the lease of every unfinished saga owner holds, then calls held(saga_id,
 * cancel, ctx) for each of them (cancel: a cancel is recorded and it has not passed its pivot
 * there). 0 or a db error. */
int repo_renew(db_pool *db, const char *owner, int64_t lease_ms,
               void (*held)(const char *saga_id, bool cancel, void *ctx), void *ctx);

/* Calls fn(saga_id, ctx) for at most `limit` unfinished sagas whose lease has run out, the
 * longest expired first. 0 or a db error. */
int repo_each_expired(db_pool *db, int limit, void (*fn)(const char *saga_id, void *ctx),
                      void *ctx);

/* Takes over saga_id when its lease has run out: owner holds it for lease_ms, its lease
 * version is bumped (the former holder can no longer commit). *claimed 1 when it did. 0 or a
 * db error. */
int repo_claim(db_pool *db, const char *saga_id, const char *owner, int64_t lease_ms, int *claimed);

/* Ends owner's leases at once (it stops): another replica takes its unfinished sagas over
 * without waiting. 0 or a db error. */
int repo_release(db_pool *db, const char *owner);

/* Calls fn(row, ctx) for at most `limit` unfinished sagas: with stuck_after_ms >= 0 those
 * retrying the same step for at least that long (longest first), else all (oldest first).
 * 0 or a db error. */
int repo_each_unfinished(db_pool *db, int64_t stuck_after_ms, int limit,
                         void (*fn)(const saga_row_t *row, void *ctx), void *ctx);

#endif
