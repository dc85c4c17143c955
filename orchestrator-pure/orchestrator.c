/* orchestrator.c - the pure saga engine: queue, bounded worker pool, retries with backoff,
 * LIFO compensations, and waiters for HTTP handlers. Every transition is committed (repo.c)
 * before the service call it leads to; calls carry Idempotency-Key <sagaId>:<step>, so
 * re-running the step a crash interrupted repeats no effect. */
#include "orchestrator.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_error.h"
#include "cm_log.h"
#include "owned.h"

/* How many 409 IdempotencyInFlight answers a step may wait through before they count as
 * failures (the twin call sent before a crash is still running in the service). */
#define SAGA_IN_FLIGHT_WAITS 30

typedef struct job {
    struct job *next;
    char saga_id[SAGA_ID_MAX];
    int have_row; /* a saga just created: row is what was committed, no need to load it */
    saga_row_t row;
    struct timespec created; /* when this process queued it (for saga_duration_seconds) */
} job_t;

typedef struct waiter {
    struct waiter *next;
    char saga_id[SAGA_ID_MAX];
    int refs;
    int done;
    saga_row_t row; /* the final state once done */
    pthread_cond_t cv;
} waiter_t;

struct orch {
    orch_config_t cfg;
    pthread_mutex_t mu;   /* guards everything below */
    pthread_cond_t work;  /* a job arrived or stopping */
    pthread_cond_t sleep; /* broadcast on stop: interrupts backoff sleeps */
    job_t *head, *tail;
    int queued;
    waiter_t *waiters;
    owned_set_t *owned; /* sagas queued or running here: never queued twice */
    int stopping;
    int nthreads;
    pthread_t *threads;
    pthread_t sweeper;
    int have_sweeper;
};

/* ---- time ---------------------------------------------------------------------------------- */

static struct timespec deadline_after(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

/* Sleeps ms unless the engine stops first. Returns 1 when stopping. */
static int sleep_or_stop(orch_t *o, int64_t ms)
{
    struct timespec until = deadline_after(ms);
    pthread_mutex_lock(&o->mu);
    while (!o->stopping)
        if (pthread_cond_timedwait(&o->sleep, &o->mu, &until) != 0)
            break;
    int stop = o->stopping;
    pthread_mutex_unlock(&o->mu);
    return stop;
}

/* ---- queue and waiters ------------------------------------------------------------------------ */

/* Caller holds o->mu. row (may be NULL) is the saga as just committed. A saga this process
 * already drives (queued or running) is not queued again: its waiters hear of its end.
 * Returns 1 when queued, 0 when driven here already, or CM_ERR_NOMEM. */
static int enqueue_locked(orch_t *o, const char *saga_id, const saga_row_t *row)
{
    int added = owned_add(o->owned, saga_id);
    if (added <= 0)
        return added == 0 ? 0 : CM_ERR_NOMEM;
    job_t *j = calloc(1, sizeof *j);
    if (j == NULL) {
        owned_del(o->owned, saga_id);
        return CM_ERR_NOMEM;
    }
    snprintf(j->saga_id, sizeof j->saga_id, "%s", saga_id);
    clock_gettime(CLOCK_MONOTONIC, &j->created);
    if (row != NULL) {
        j->have_row = 1;
        j->row = *row;
    }
    if (o->tail != NULL)
        o->tail->next = j;
    else
        o->head = j;
    o->tail = j;
    o->queued++;
    pthread_cond_signal(&o->work);
    return 1;
}

/* Hands the final state to the waiters of a saga that reached a terminal state. */
static void notify_done(orch_t *o, const saga_row_t *row)
{
    pthread_mutex_lock(&o->mu);
    for (waiter_t *w = o->waiters; w != NULL; w = w->next)
        if (strcmp(w->saga_id, row->saga_id) == 0) {
            w->done = 1;
            w->row = *row;
            pthread_cond_broadcast(&w->cv);
        }
    pthread_mutex_unlock(&o->mu);
}

static waiter_t *waiter_get(orch_t *o, const char *saga_id)
{
    pthread_mutex_lock(&o->mu);
    waiter_t *w = o->waiters;
    while (w != NULL && strcmp(w->saga_id, saga_id) != 0)
        w = w->next;
    if (w == NULL && (w = calloc(1, sizeof *w)) != NULL) {
        snprintf(w->saga_id, sizeof w->saga_id, "%s", saga_id);
        cond_init_monotonic(&w->cv);
        w->next = o->waiters;
        o->waiters = w;
    }
    if (w != NULL)
        w->refs++;
    pthread_mutex_unlock(&o->mu);
    return w;
}

static void waiter_put(orch_t *o, waiter_t *w)
{
    pthread_mutex_lock(&o->mu);
    if (--w->refs == 0) {
        waiter_t **pp = &o->waiters;
        while (*pp != w)
            pp = &(*pp)->next;
        *pp = w->next;
        pthread_cond_destroy(&w->cv);
        free(w);
    }
    pthread_mutex_unlock(&o->mu);
}

/* ---- running one saga ---------------------------------------------------------------------- */

static void count(orch_t *o, const char *name, const char *help, const char *labels)
{
    if (o->cfg.metrics != NULL)
        metrics_counter_add(o->cfg.metrics, name, help, labels, 1);
}

/* Runs row->pos.step until it succeeds, fails for good, or the engine stops.
 * Returns 1 when stopping (nothing to persist), else 0 with *outcome and *err set. */
static int run_step(orch_t *o, saga_row_t *row, machine_outcome_t *outcome, int *attempts,
                    saga_error_t *err)
{
    saga_step_t step = row->pos.step;
    int forward = saga_step_is_forward(step);
    int failures = 0; /* retryable failures; waiting on an in-flight twin does not count */
    for (int attempt = 1;; attempt++) {
        saga_state_t st = row->st;
        int rc = saga_step_run(o->cfg.client, step, row->saga_id, &row->in, &st, err);
        *attempts = attempt;
        row->st = st;
        if (rc == SAGA_OK) {
            *outcome = MO_OK;
            return 0;
        }
        if (rc == SAGA_ERR_BUSINESS || rc == SAGA_ERR_INVALID) {
            *outcome = MO_FAILED;
            return 0;
        }
        /* Retryable: back off. Forward steps up to the pivot give up after forward_attempts
         * and compensate; steps after the pivot and compensations never give up. */
        count(o, "saga_step_retries_total", "Retried saga step calls", NULL);
        step_log_t l = {step, "RETRY", attempt, err};
        if (repo_log(o->cfg.db, row->saga_id, &l) != 0)
            log_warn("saga %s: could not log retry of %s", row->saga_id, saga_step_activity(step));
        log_warn("saga %s: %s attempt %d failed: %s", row->saga_id, saga_step_activity(step),
                 attempt, err->message);
        if (!saga_error_in_flight(err) || attempt > SAGA_IN_FLIGHT_WAITS)
            failures++;
        if (forward && !saga_step_after_pivot(step) && failures >= o->cfg.forward_attempts) {
            snprintf(err->type, sizeof err->type, "RetriesExhausted");
            *outcome = MO_FAILED;
            return 0;
        }
        int64_t d = saga_backoff_ms(attempt, o->cfg.retry_initial_ms, o->cfg.retry_max_ms);
        if (saga_error_in_flight(err) && d > 1000)
            d = 1000; /* the twin finishes soon; poll it rather than back off to the max */
        if (sleep_or_stop(o, d))
            return 1;
    }
}

/* Commits the transition after a step, retrying the database (never the call) until it
 * sticks. Returns 0, 1 when stopping, or CM_ERR_CONFLICT (another worker owns the saga). */
static int persist(orch_t *o, saga_row_t *row, machine_outcome_t outcome, int attempts,
                   const saga_error_t *err)
{
    saga_step_t step = row->pos.step;
    machine_pos_t next = machine_advance(row->pos, outcome);
    step_log_t logs[2];
    int n = 0;
    if (row->pos.status == MS_RUNNING && outcome == MO_FAILED && row->error_type[0] == '\0') {
        snprintf(row->error_type, sizeof row->error_type, "%s", err->type);
        snprintf(row->error_message, sizeof row->error_message, "%s", err->message);
    }
    logs[n++] = (step_log_t){step, outcome == MO_OK ? "SUCCEEDED" : "FAILED", attempts,
                             outcome == MO_OK ? NULL : err};
    if (!machine_is_terminal(next.status))
        logs[n++] = (step_log_t){next.step, "STARTED", 0, NULL};
    for (int attempt = 1;; attempt++) {
        int rc = repo_transition(o->cfg.db, row, next, logs, n);
        if (rc == CM_ERR_CONFLICT && attempt > 1) {
            /* The connection may have died after an earlier attempt's COMMIT went through:
             * then the stored saga is exactly where that attempt put it. */
            saga_row_t now;
            if (repo_load(o->cfg.db, row->saga_id, &now) == 0 && now.version == row->version + 1 &&
                now.pos.status == next.status && now.pos.step == next.step &&
                now.pos.comp_index == next.comp_index) {
                *row = now;
                return 0;
            }
        }
        if (rc == 0 || rc == CM_ERR_CONFLICT)
            return rc;
        log_warn("saga %s: could not commit transition (%s), retrying", row->saga_id,
                 cm_strerror(rc));
        if (sleep_or_stop(o, saga_backoff_ms(attempt, 100, 2000)))
            return 1;
    }
}

static void run_saga(orch_t *o, const job_t *job)
{
    const char *saga_id = job->saga_id;
    saga_row_t row = job->row;
    int rc;
    log_set_saga_id(saga_id);
    for (int attempt = 1; !job->have_row && (rc = repo_load(o->cfg.db, saga_id, &row)) != 0;
         attempt++) {
        if (rc == CM_ERR_NOT_FOUND) {
            log_error("saga %s vanished from saga_instance", saga_id);
            goto out;
        }
        if (sleep_or_stop(o, saga_backoff_ms(attempt, 100, 2000)))
            goto out;
    }
    int moved = 0; /* a saga found already ended (queued twice across processes) counts once */
    while (!machine_is_terminal(row.pos.status)) {
        machine_outcome_t outcome;
        saga_error_t err = {0};
        int attempts = 0;
        if (row.pos.step == SAGA_STEP_NONE) {
            log_error("saga %s: no step in state %s", saga_id, machine_status_name(row.pos.status));
            goto out;
        }
        if (run_step(o, &row, &outcome, &attempts, &err) != 0)
            goto out; /* stopping: the saga resumes at this step on the next start */
        if (row.pos.status == MS_COMPENSATING && outcome == MO_FAILED)
            log_error("saga %s: compensation %s refused for good: %s", saga_id,
                      saga_step_activity(row.pos.step), err.message);
        rc = persist(o, &row, outcome, attempts, &err);
        if (rc == CM_ERR_CONFLICT) {
            log_warn("saga %s moved by another worker; leaving it", saga_id);
            goto out;
        }
        if (rc != 0)
            goto out;
        moved = 1;
    }
    if (!moved)
        goto done;
    const char *label =
        row.pos.status == MS_COMPLETED ? "status=\"COMPLETED\"" : "status=\"COMPENSATED\"";
    count(o, "saga_finished_total", "Sagas that reached a terminal state", label);
    if (o->cfg.metrics != NULL && job->have_row) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double secs = (double)(now.tv_sec - job->created.tv_sec) +
                      (double)(now.tv_nsec - job->created.tv_nsec) / 1e9;
        metrics_histogram_observe(o->cfg.metrics, "saga_duration_seconds",
                                  "Queue to terminal state of sagas created by this process", label,
                                  secs);
    }
done:
    notify_done(o, &row);
out:
    log_set_saga_id(NULL);
}

static void *worker(void *arg)
{
    orch_t *o = arg;
    pthread_mutex_lock(&o->mu);
    for (;;) {
        while (o->head == NULL && !o->stopping)
            pthread_cond_wait(&o->work, &o->mu);
        if (o->stopping)
            break;
        job_t *j = o->head;
        o->head = j->next;
        if (o->head == NULL)
            o->tail = NULL;
        o->queued--;
        pthread_mutex_unlock(&o->mu);
        run_saga(o, j);
        pthread_mutex_lock(&o->mu);
        owned_del(o->owned, j->saga_id);
        free(j);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* Queues an unfinished saga unless this process drives it already. */
static void resume_one(const char *saga_id, void *ctx)
{
    orch_t *o = ctx;
    pthread_mutex_lock(&o->mu);
    int rc = enqueue_locked(o, saga_id, NULL);
    pthread_mutex_unlock(&o->mu);
    if (rc < 0)
        log_error("saga %s: out of memory while resuming", saga_id);
    else if (rc > 0)
        log_info("resuming saga %s", saga_id);
}

int orch_resume(orch_t *o)
{
    return repo_each_unfinished(o->cfg.db, resume_one, o);
}

#define ORCH_SWEEP_BATCH 1000 /* stalled sagas queued per sweep at most */

/* Picks up, while running, every saga that is unfinished, has not moved for resume_stale_ms
 * and is not driven here: one whose creation committed although the creating request saw a
 * database error, one a worker gave up on, one a dead process left behind. */
static void *sweeper(void *arg)
{
    orch_t *o = arg;
    int64_t stale_s = (o->cfg.resume_stale_ms + 999) / 1000;
    while (!sleep_or_stop(o, o->cfg.resume_every_ms)) {
        int rc = repo_each_stalled(o->cfg.db, stale_s, ORCH_SWEEP_BATCH, resume_one, o);
        if (rc != 0)
            log_warn("looking for stalled sagas failed: %s", cm_strerror(rc));
    }
    return NULL;
}

/* ---- public -------------------------------------------------------------------------------- */

int orch_start(const orch_config_t *cfg, orch_t **out)
{
    if (cfg->db == NULL || cfg->client == NULL || cfg->workers < 1)
        return CM_ERR_INVALID;
    orch_t *o = calloc(1, sizeof *o);
    if (o == NULL)
        return CM_ERR_NOMEM;
    o->cfg = *cfg;
    if (o->cfg.forward_attempts < 1)
        o->cfg.forward_attempts = 1;
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->work, NULL);
    cond_init_monotonic(&o->sleep);
    o->owned = owned_new();
    o->threads = calloc((size_t)cfg->workers, sizeof *o->threads);
    if (o->threads == NULL || o->owned == NULL) {
        orch_stop(o);
        return CM_ERR_NOMEM;
    }
    for (int i = 0; i < cfg->workers; i++) {
        if (pthread_create(&o->threads[i], NULL, worker, o) != 0) {
            orch_stop(o);
            return CM_ERR_NOMEM;
        }
        o->nthreads++;
    }
    if (o->cfg.resume_every_ms > 0) {
        if (pthread_create(&o->sweeper, NULL, sweeper, o) != 0) {
            orch_stop(o);
            return CM_ERR_NOMEM;
        }
        o->have_sweeper = 1;
    }
    *out = o;
    return 0;
}

static int same_input(const saga_input_t *a, const saga_input_t *b)
{
    return a->customer_id == b->customer_id && a->product_id == b->product_id &&
           a->quantity == b->quantity && a->amount == b->amount &&
           strcmp(a->payment_method, b->payment_method) == 0;
}

/* Waits on w until done, stop or the deadline. Returns 0 (row = the final state) or
 * CM_ERR_TIMEOUT. */
static int wait_done(orch_t *o, waiter_t *w, int64_t timeout_ms, saga_row_t *row)
{
    struct timespec until = deadline_after(timeout_ms);
    int rc = CM_ERR_TIMEOUT;
    pthread_mutex_lock(&o->mu);
    while (!w->done && !o->stopping)
        if (pthread_cond_timedwait(&w->cv, &o->mu, &until) != 0)
            break;
    if (w->done) {
        *row = w->row;
        rc = 0;
    }
    pthread_mutex_unlock(&o->mu);
    return rc;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads saga row->saga_id: 0 with *row = the stored saga, CM_ERR_CONFLICT when it was stored
 * with another input, CM_ERR_NOT_FOUND or a db error. */
static int load_same(orch_t *o, saga_row_t *row, const saga_input_t *in)
{
    saga_row_t now;
    int rc = repo_load(o->cfg.db, row->saga_id, &now);
    if (rc == 0 && !same_input(&now.in, in))
        return CM_ERR_CONFLICT;
    if (rc == 0)
        *row = now;
    return rc;
}

/* The create of `row` failed with a database error, so it may or may not have committed (the
 * link can die between COMMIT and its answer). Reads the saga back, and creates it again
 * while it is absent (when may_create), until the database answers or until deadline_ms.
 * Returns 0 with *created (1: committed by this call, 0: found stored), CM_ERR_CONFLICT,
 * CM_ERR_BUSY (absent and may not create), or a db error when the deadline passed. */
static int settle_create(orch_t *o, saga_row_t *row, const saga_input_t *in, int may_create,
                         int64_t deadline_ms, int *created)
{
    int rc = CM_ERR_IO;
    for (int attempt = 1;; attempt++) {
        int64_t left = deadline_ms - now_ms();
        int64_t d = saga_backoff_ms(attempt, 100, 1000);
        if (left <= 0 || sleep_or_stop(o, d < left ? d : left))
            return rc;
        rc = load_same(o, row, in);
        if (rc == CM_ERR_NOT_FOUND && !may_create)
            return CM_ERR_BUSY;
        if (rc == CM_ERR_NOT_FOUND && (rc = repo_create(o->cfg.db, row)) == 0)
            *created = 1;
        if (rc == 0 || rc == CM_ERR_CONFLICT)
            return rc;
    }
}

int orch_submit_wait(orch_t *o, const char *saga_id, const saga_input_t *in, int64_t timeout_ms,
                     saga_row_t *row)
{
    int64_t deadline = now_ms() + timeout_ms;
    /* The waiter is registered before the saga can run, so its end is never missed. */
    waiter_t *w = waiter_get(o, saga_id);
    if (w == NULL)
        return CM_ERR_NOMEM;
    pthread_mutex_lock(&o->mu);
    int full = o->queued >= o->cfg.queue_max;
    pthread_mutex_unlock(&o->mu);
    memset(row, 0, sizeof *row);
    snprintf(row->saga_id, sizeof row->saga_id, "%s", saga_id);
    row->pos = machine_start();
    row->in = *in;
    int created = 0;
    int rc = full ? CM_ERR_DUPLICATE : repo_create(o->cfg.db, row);
    if (rc == 0)
        created = 1;
    else if (rc == CM_ERR_DUPLICATE) /* a repeated POST with the same key - or a full queue */
        rc = load_same(o, row, in);
    if (rc == CM_ERR_NOT_FOUND && full)
        rc = CM_ERR_BUSY;
    if (rc != 0 && rc != CM_ERR_CONFLICT && rc != CM_ERR_BUSY) {
        /* Never answer "unavailable" for a saga that exists: find out first. */
        log_warn("saga %s: saga store error (%s); reading the saga back", saga_id, cm_strerror(rc));
        rc = settle_create(o, row, in, !full, deadline, &created);
    }
    if (rc != 0 || machine_is_terminal(row->pos.status))
        goto out;
    if (created)
        count(o, "saga_started_total", "Sagas created", NULL);
    /* Queue it unless it runs here already (an earlier POST, or a process that died left it:
     * a repeated POST drives it now). Out of memory: stored, the sweeper queues it later. */
    pthread_mutex_lock(&o->mu);
    enqueue_locked(o, saga_id, created ? row : NULL);
    pthread_mutex_unlock(&o->mu);
    int64_t left = deadline - now_ms();
    if ((rc = wait_done(o, w, left > 0 ? left : 0, row)) == CM_ERR_TIMEOUT &&
        repo_load(o->cfg.db, saga_id, row) == 0 && machine_is_terminal(row->pos.status))
        rc = 0; /* finished just now */
out:
    waiter_put(o, w);
    return rc;
}

int orch_get(orch_t *o, const char *saga_id, saga_row_t *row)
{
    return repo_load(o->cfg.db, saga_id, row);
}

void orch_stop(orch_t *o)
{
    if (o == NULL)
        return;
    pthread_mutex_lock(&o->mu);
    o->stopping = 1;
    pthread_cond_broadcast(&o->work);
    pthread_cond_broadcast(&o->sleep);
    for (waiter_t *w = o->waiters; w != NULL; w = w->next)
        pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&o->mu);
    for (int i = 0; i < o->nthreads; i++)
        pthread_join(o->threads[i], NULL);
    if (o->have_sweeper)
        pthread_join(o->sweeper, NULL);
    while (o->head != NULL) {
        job_t *j = o->head;
        o->head = j->next;
        free(j);
    }
    owned_free(o->owned);
    free(o->threads);
    pthread_cond_destroy(&o->work);
    pthread_cond_destroy(&o->sleep);
    pthread_mutex_destroy(&o->mu);
    free(o);
}
