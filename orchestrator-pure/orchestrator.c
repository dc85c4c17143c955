/* orchestrator.c - the pure saga engine: queue, bounded worker pool, crash recovery, and
 * waiters for HTTP handlers. Each worker hands one saga at a time to driver.c, which drives it
 * through saga_machine.h; nothing here knows a step. */
#include "orchestrator.h"

#include "driver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_error.h"
#include "cm_log.h"
#include "owned.h"

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
    driver_t driver;      /* the step logic's view of cfg */
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

/* ---- running one saga (the step logic is driver.c's) ------------------------------------ */

static void count(orch_t *o, const char *name, const char *help, const char *labels)
{
    if (o->cfg.metrics != NULL)
        metrics_counter_add(o->cfg.metrics, name, help, labels, 1);
}

static int driver_sleep(void *ctx, int64_t ms)
{
    return sleep_or_stop(ctx, ms);
}

static void driver_retried(void *ctx)
{
    count(ctx, "saga_step_retries_total", "Retried saga step calls", NULL);
}

static void finished(orch_t *o, const job_t *job, const saga_row_t *row)
{
    char label[48];
    snprintf(label, sizeof label, "status=\"%s\"", saga_phase_status(row->m.phase));
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
    notify_done(o, row);
}

static void run_saga(orch_t *o, const job_t *job)
{
    saga_row_t row = job->row;
    int rc = 0;
    log_set_saga_id(job->saga_id);
    for (int attempt = 1; !job->have_row && (rc = repo_load(o->cfg.db, job->saga_id, &row)) != 0;
         attempt++)
        if (rc == CM_ERR_NOT_FOUND || sleep_or_stop(o, saga_backoff_ms(attempt, 100, 2000)))
            goto out;
    if (!job->have_row && saga_phase_terminal(row.m.phase)) {
        notify_done(o, &row); /* ended meanwhile (driven elsewhere): counted there */
        goto out;
    }
    rc = driver_run(&o->driver, &row);
    if (rc == CM_ERR_CONFLICT)
        log_warn("saga %s moved by another worker; leaving it", job->saga_id);
    else if (rc == 0)
        finished(o, job, &row);
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
    /* The in-flight allowance (30 answers, polled every second) is the machine's default. */
    o->driver =
        (driver_t){cfg->db, cfg->client, SAGA_POLICY_DEFAULT, driver_sleep, driver_retried, o};
    o->driver.policy.forward_attempts = cfg->forward_attempts;
    o->driver.policy.retry_initial_ms = cfg->retry_initial_ms;
    o->driver.policy.retry_max_ms = cfg->retry_max_ms;
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
    if (rc == 0 && !saga_input_equal(&now.in, in))
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
    saga_row_t fresh = *row; /* what to create while it is absent */
    int rc = CM_ERR_IO;
    for (int attempt = 1;; attempt++) {
        int64_t left = deadline_ms - now_ms();
        int64_t d = saga_backoff_ms(attempt, 100, 1000);
        if (left <= 0 || sleep_or_stop(o, d < left ? d : left))
            return rc;
        rc = load_same(o, row, in);
        if (rc == CM_ERR_NOT_FOUND && !may_create)
            return CM_ERR_BUSY;
        if (rc == CM_ERR_NOT_FOUND && (rc = repo_create(o->cfg.db, &fresh)) == 0) {
            *row = fresh;
            *created = 1;
        }
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
    saga_actions_t start;
    memset(row, 0, sizeof *row);
    snprintf(row->saga_id, sizeof row->saga_id, "%s", saga_id);
    saga_machine_init(&row->m, &o->driver.policy);
    saga_machine_resume(&row->m, &start); /* CreateOrder started, CancelOrder registered */
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
    if (rc != 0 || saga_phase_terminal(row->m.phase))
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
        repo_load(o->cfg.db, saga_id, row) == 0 && saga_phase_terminal(row->m.phase))
        rc = 0; /* finished just now */
out:
    waiter_put(o, w);
    return rc;
}

int orch_get(orch_t *o, const char *saga_id, saga_row_t *row)
{
    return repo_load(o->cfg.db, saga_id, row);
}

int orch_cancel(orch_t *o, const char *saga_id, saga_row_t *row)
{
    return driver_cancel(&o->driver, saga_id, row);
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
