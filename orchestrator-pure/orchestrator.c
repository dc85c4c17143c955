/* orchestrator.c - the pure saga engine of one replica: queue, bounded worker pool, the lease
 * keeper's takeovers, and waiters for HTTP handlers. Each worker hands one saga at a time to
 * driver.c, which drives it through saga_machine.h; nothing here knows a step. */
#include "orchestrator.h"

#include "callpool.h"
#include "driver.h"
#include "lease.h"
#include "cm_mono.h"
#include "owned.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_error.h"
#include "cm_log.h"

#define ATTACH_POLL_FIRST_MS 50   /* a POST attached to another replica's saga polls its row */
#define ATTACH_POLL_MAX_MS   1000 /* ... 50 ms doubling to 1 s apart */

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
    char owner[REPO_OWNER_MAX];
    driver_t driver;        /* the step logic's view of cfg */
    owned_set_t *owned;     /* sagas queued or running here (thread-safe on its own) */
    callpool_t *pool;       /* helpers for the concurrent confirms */
    lease_keeper_t *keeper; /* renews, takes over, releases */
    pthread_mutex_t mu;     /* guards everything below */
    pthread_cond_t work;    /* a job arrived or stopping */
    pthread_cond_t sleep;   /* broadcast on stop: interrupts backoff sleeps */
    job_t *head, *tail;
    int queued;
    waiter_t *waiters;
    int stopping;
    int nthreads;
    pthread_t *threads;
};

/* ---- time ---------------------------------------------------------------------------------- */

/* Sleeps ms unless the engine stops first. Returns 1 when stopping. */
static int sleep_or_stop(orch_t *o, int64_t ms)
{
    return mono_sleep_unless(&o->mu, &o->sleep, &o->stopping, ms);
}

/* ---- queue and waiters ------------------------------------------------------------------------ */

/* Queues a saga already in the owned set. row (may be NULL) is the saga as just committed.
 * Caller holds o->mu. 0 or CM_ERR_NOMEM. */
static int push_locked(orch_t *o, const char *saga_id, const saga_row_t *row)
{
    job_t *j = calloc(1, sizeof *j);
    if (j == NULL)
        return CM_ERR_NOMEM;
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
    return 0;
}

/* Drives saga_id here, read back from the database: one taken over, or one this replica holds
 * without driving it. 1 when queued, 0 when driven here already (or stopping), < 0 error. */
static int adopt(void *ctx, const char *saga_id, int64_t lease_from_ms)
{
    orch_t *o = ctx;
    int added = owned_add(o->owned, saga_id, lease_from_ms);
    if (added <= 0)
        return added;
    pthread_mutex_lock(&o->mu);
    int rc = o->stopping ? 0 : push_locked(o, saga_id, NULL);
    pthread_mutex_unlock(&o->mu);
    if (rc == 0 && !o->stopping)
        return 1;
    owned_del(o->owned, saga_id);
    return rc;
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
        mono_cond_init(&w->cv);
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

/* Waits on w until done, stop or timeout_ms. 0 (row = the final state) or CM_ERR_TIMEOUT. */
static int wait_done(orch_t *o, waiter_t *w, int64_t timeout_ms, saga_row_t *row)
{
    struct timespec until = mono_deadline(timeout_ms);
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

/* ---- metrics and the driver's hooks --------------------------------------------------------- */

static void count(orch_t *o, const char *name, const char *help, const char *labels)
{
    if (o->cfg.metrics != NULL)
        metrics_counter_add(o->cfg.metrics, name, help, labels, 1);
}

static int hook_sleep(void *ctx, int64_t ms)
{
    return sleep_or_stop(ctx, ms);
}

static bool hook_lease_ok(void *ctx, const char *saga_id)
{
    orch_t *o = ctx;
    /* A tenth of the lease is kept in hand for the time a commit or a call takes to start. */
    return owned_lease_ok(o->owned, saga_id, mono_now_ms(), o->cfg.lease_ms, o->cfg.lease_ms / 10);
}

static bool hook_take_cancel(void *ctx, const char *saga_id)
{
    orch_t *o = ctx;
    return owned_take_cancel(o->owned, saga_id);
}

static void hook_observe(void *ctx, const saga_row_t *row, int64_t retry_since_ms)
{
    orch_t *o = ctx;
    owned_observe(o->owned, row->saga_id, row->m.phase, saga_machine_step(&row->m), row->retry.step,
                  retry_since_ms);
}

static void hook_retried(void *ctx, saga_step_t step, const saga_error_t *err)
{
    char labels[96], outcome[24];
    snprintf(labels, sizeof labels, "step=\"%s\",outcome=\"%s\"", saga_step_activity(step),
             saga_retry_outcome(err, outcome, sizeof outcome));
    count(ctx, "saga_step_retries_total",
          "Saga step attempts that failed retryably, by step and answer", labels);
}

static void hook_compensated(void *ctx, saga_step_t step, bool done)
{
    char labels[96];
    snprintf(labels, sizeof labels, "step=\"%s\",outcome=\"%s\"", saga_step_activity(step),
             done ? "done" : "refused");
    count(ctx, "saga_compensations_total",
          "Compensations that ended, by step: done, or refused for good (skipped)", labels);
}

/* Refreshes the gauges from what this replica drives now (the lease keeper's tick). */
static void refresh_gauges(void *ctx)
{
    orch_t *o = ctx;
    static const saga_phase_t SHOWN[] = {SAGA_PHASE_FORWARD, SAGA_PHASE_CONFIRMING,
                                         SAGA_PHASE_COMPENSATING};
    int counts[SAGA_PHASE_COUNT];
    int64_t oldest[SAGA_PHASE_COUNT];
    if (o->cfg.metrics == NULL)
        return;
    owned_stats(o->owned, mono_now_ms(), counts, oldest);
    for (size_t i = 0; i < sizeof SHOWN / sizeof SHOWN[0]; i++) {
        char labels[48];
        snprintf(labels, sizeof labels, "phase=\"%s\"", saga_phase_name(SHOWN[i]));
        metrics_gauge_set(o->cfg.metrics, "saga_in_progress",
                          "Sagas this replica drives (queued or running), by phase", labels,
                          counts[SHOWN[i]]);
        metrics_gauge_set(o->cfg.metrics, "saga_oldest_retry_seconds",
                          "How long the step retrying longest on this replica has been retrying, "
                          "by phase (0: none retries)",
                          labels, (double)oldest[SHOWN[i]] / 1000.0);
    }
}

static int has_room(void *ctx)
{
    orch_t *o = ctx;
    pthread_mutex_lock(&o->mu);
    int room = !o->stopping && o->queued < o->cfg.queue_max;
    pthread_mutex_unlock(&o->mu);
    return room;
}

/* ---- running one saga (the step logic is driver.c's) ------------------------------------ */

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

/* Loads a saga this replica took over (retrying the database). 0, or 1 to leave it. */
static int load_taken(orch_t *o, const job_t *job, saga_row_t *row)
{
    int rc;
    for (int attempt = 1; (rc = repo_load(o->cfg.db, job->saga_id, row)) != 0; attempt++)
        if (rc == CM_ERR_NOT_FOUND || sleep_or_stop(o, saga_backoff_ms(attempt, 100, 2000))) {
            if (rc == CM_ERR_NOT_FOUND)
                log_error("saga %s vanished from saga_instance", job->saga_id);
            return 1;
        }
    if (saga_phase_terminal(row->m.phase)) {
        notify_done(o, row); /* ended already: counted where it ended */
        return 1;
    }
    if (strcmp(row->owner_id, o->owner) != 0) {
        log_info("saga %s: held by %s now; leaving it", job->saga_id, row->owner_id);
        return 1;
    }
    count(o, "saga_takeovers_total",
          "Sagas this replica drives from a stored state it did not create", NULL);
    return 0;
}

static void run_saga(orch_t *o, const job_t *job)
{
    saga_row_t row = job->row;
    log_set_saga_id(job->saga_id);
    if (!job->have_row && load_taken(o, job, &row) != 0)
        goto out;
    if (!hook_lease_ok(o, job->saga_id)) {
        log_warn("saga %s: lease lost while queued; leaving it to whoever takes it over",
                 job->saga_id);
        goto out;
    }
    int rc = driver_run(&o->driver, &row, !job->have_row);
    if (rc == 0)
        finished(o, job, &row);
    else if (rc == DRIVER_LOST)
        log_warn("saga %s: lease lost (taken over or run out); leaving it", job->saga_id);
    else if (rc == CM_ERR_CONFLICT)
        log_warn("saga %s moved by another writer; leaving it", job->saga_id);
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
        owned_del(o->owned, j->saga_id);
        free(j);
        pthread_mutex_lock(&o->mu);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------------- */

int orch_start(const orch_config_t *cfg, orch_t **out)
{
    if (cfg->db == NULL || cfg->client == NULL || cfg->workers < 1 || cfg->owner == NULL ||
        cfg->lease_ms < 3 || cfg->scan_ms < 1)
        return CM_ERR_INVALID;
    orch_t *o = calloc(1, sizeof *o);
    if (o == NULL)
        return CM_ERR_NOMEM;
    o->cfg = *cfg;
    snprintf(o->owner, sizeof o->owner, "%s", cfg->owner);
    o->cfg.owner = o->owner;
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->work, NULL);
    mono_cond_init(&o->sleep);
    o->owned = owned_new();
    o->threads = calloc((size_t)cfg->workers, sizeof *o->threads);
    /* Two helpers per worker: each worker runs one confirm itself and hands two over. */
    if (o->threads == NULL || o->owned == NULL || callpool_new(2 * cfg->workers, &o->pool) != 0) {
        orch_stop(o);
        return CM_ERR_NOMEM;
    }
    /* The in-flight allowance (30 answers, polled every second) is the machine's default. */
    o->driver = (driver_t){.db = cfg->db,
                           .client = cfg->client,
                           .policy = SAGA_POLICY_DEFAULT,
                           .owner = o->owner,
                           .lease_ms = cfg->lease_ms,
                           .pool = o->pool,
                           .hooks = {hook_sleep, hook_lease_ok, hook_take_cancel, hook_observe,
                                     hook_retried, hook_compensated},
                           .ctx = o};
    o->driver.policy.forward_attempts = cfg->forward_attempts;
    o->driver.policy.retry_initial_ms = cfg->retry_initial_ms;
    o->driver.policy.retry_max_ms = cfg->retry_max_ms;
    for (int i = 0; i < cfg->workers; i++) {
        if (pthread_create(&o->threads[i], NULL, worker, o) != 0) {
            orch_stop(o);
            return CM_ERR_NOMEM;
        }
        o->nthreads++;
    }
    lease_config_t lc = {cfg->db,      o->owner,       cfg->lease_ms,
                         cfg->scan_ms, o->owned,       adopt,
                         has_room,     refresh_gauges, o};
    if (lease_start(&lc, &o->keeper) != 0) {
        orch_stop(o);
        return CM_ERR_NOMEM;
    }
    *out = o;
    return 0;
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
    callpool_free(o->pool);
    lease_stop(o->keeper); /* after the workers: none of them commits (extends a lease) now */
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

/* ---- submit: create, or attach ---------------------------------------------------------------- */

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

/* Inserts the new saga `row`, held by this replica, reserving its place in the owned set
 * first (so the lease keeper never mistakes it for a saga held here that nobody drives). Same
 * answers as repo_create; on success the saga is owned here, to be queued by the caller. */
static int create(orch_t *o, const saga_row_t *row)
{
    int64_t from = mono_now_ms();
    int added = owned_add(o->owned, row->saga_id, from);
    if (added <= 0)
        return added == 0 ? CM_ERR_DUPLICATE : CM_ERR_NOMEM; /* 0: driven here already */
    int rc = repo_create(o->cfg.db, row, o->owner, o->cfg.lease_ms);
    if (rc != 0)
        owned_del(o->owned, row->saga_id); /* an IO error may have stored it: the lease decides */
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
    saga_row_t fresh = *row;
    for (int attempt = 1;; attempt++) {
        int64_t left = deadline_ms - mono_now_ms();
        int64_t d = saga_backoff_ms(attempt, 100, 1000);
        if (left <= 0 || sleep_or_stop(o, d < left ? d : left))
            return rc;
        rc = load_same(o, row, in);
        if (rc == CM_ERR_NOT_FOUND && !may_create)
            return CM_ERR_BUSY;
        if (rc == CM_ERR_NOT_FOUND && (rc = create(o, &fresh)) == 0) {
            *row = fresh;
            *created = 1;
        }
        if (rc == CM_ERR_DUPLICATE)
            rc = CM_ERR_IO; /* created meanwhile: read it back on the next turn */
        if (rc == 0 || rc == CM_ERR_CONFLICT)
            return rc;
    }
}

/* One look at a saga this replica does not drive: ended (0, *row = it), or still running
 * (CM_ERR_TIMEOUT, *row = it); it is taken over when its lease ran out, and driven when the
 * database says this replica holds it. */
static int look(orch_t *o, const char *saga_id, saga_row_t *row)
{
    saga_row_t now;
    int claimed = 0;
    int64_t from = mono_now_ms();
    if (repo_load(o->cfg.db, saga_id, &now) != 0)
        return CM_ERR_TIMEOUT;
    *row = now;
    if (saga_phase_terminal(now.m.phase))
        return 0;
    if (now.has_lease && now.lease_left_ms < 0 &&
        repo_claim(o->cfg.db, saga_id, o->owner, o->cfg.lease_ms, &claimed) == 0 && claimed) {
        log_info("saga %s: lease expired; taken over for a waiting request", saga_id);
        adopt(o, saga_id, from);
    } else if (now.has_lease && strcmp(now.owner_id, o->owner) == 0) {
        adopt(o, saga_id, from + now.lease_left_ms - o->cfg.lease_ms);
    }
    return CM_ERR_TIMEOUT;
}

/* Waits until deadline_ms for the saga's end: on this replica's waiter while it drives the
 * saga here, by polling its row while another replica does. 0 (row = the final state) or
 * CM_ERR_TIMEOUT (row = the latest state known). */
static int attach(orch_t *o, waiter_t *w, const char *saga_id, int64_t deadline_ms, saga_row_t *row)
{
    int64_t poll = ATTACH_POLL_FIRST_MS;
    for (;;) {
        int64_t left = deadline_ms - mono_now_ms();
        bool here = owned_get(o->owned, saga_id, NULL);
        int64_t slice = here ? ATTACH_POLL_MAX_MS : poll;
        if (wait_done(o, w, left < slice ? (left > 0 ? left : 0) : slice, row) == 0)
            return 0;
        if (!here && look(o, saga_id, row) == 0)
            return 0;
        if (left <= slice || o->stopping)
            break;
        poll = poll * 2 < ATTACH_POLL_MAX_MS ? poll * 2 : ATTACH_POLL_MAX_MS;
    }
    if (repo_load(o->cfg.db, saga_id, row) == 0 && saga_phase_terminal(row->m.phase))
        return 0; /* finished just now */
    return CM_ERR_TIMEOUT;
}

int orch_submit_wait(orch_t *o, const char *saga_id, const saga_input_t *in, int64_t timeout_ms,
                     saga_row_t *row)
{
    int64_t deadline = mono_now_ms() + timeout_ms;
    /* The waiter is registered before the saga can run, so its end is never missed. */
    waiter_t *w = waiter_get(o, saga_id);
    if (w == NULL)
        return CM_ERR_NOMEM;
    int full = !has_room(o);
    saga_actions_t start;
    memset(row, 0, sizeof *row);
    snprintf(row->saga_id, sizeof row->saga_id, "%s", saga_id);
    saga_machine_init(&row->m, &o->driver.policy);
    saga_machine_resume(&row->m, &start); /* CreateOrder started, CancelOrder registered */
    row->in = *in;
    row->retry.step = SAGA_STEP_NONE;
    snprintf(row->owner_id, sizeof row->owner_id, "%s", o->owner);
    int created = 0;
    int rc = full ? CM_ERR_DUPLICATE : create(o, row);
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
    if (created) {
        count(o, "saga_started_total", "Sagas created", NULL);
        pthread_mutex_lock(&o->mu);
        rc = push_locked(o, saga_id, row);
        pthread_mutex_unlock(&o->mu);
        if (rc != 0) /* stored and held here: the lease keeper finds it undriven and queues it */
            owned_del(o->owned, saga_id);
    }
    rc = attach(o, w, saga_id, deadline, row);
out:
    waiter_put(o, w);
    return rc;
}

/* ---- reading and cancelling ----------------------------------------------------------------- */

void orch_live(orch_t *o, const char *saga_id, orch_live_t *live)
{
    owned_info_t info;
    *live = (orch_live_t){.driven_here = false};
    if (owned_get(o->owned, saga_id, &info) && info.step != SAGA_STEP_NONE)
        *live = (orch_live_t){true, info.phase, info.step};
}

int orch_get(orch_t *o, const char *saga_id, saga_row_t *row, orch_live_t *live)
{
    int rc = repo_load(o->cfg.db, saga_id, row);
    if (rc == 0 && live != NULL)
        orch_live(o, saga_id, live);
    return rc;
}

typedef struct list_ctx {
    orch_t *o;
    void (*fn)(const saga_row_t *row, const orch_live_t *live, void *ctx);
    void *ctx;
} list_ctx_t;

static void list_one(const saga_row_t *row, void *ctx)
{
    list_ctx_t *l = ctx;
    orch_live_t live;
    orch_live(l->o, row->saga_id, &live);
    l->fn(row, &live, l->ctx);
}

int orch_list(orch_t *o, int64_t stuck_after_ms, int limit,
              void (*fn)(const saga_row_t *row, const orch_live_t *live, void *ctx), void *ctx)
{
    list_ctx_t l = {o, fn, ctx};
    return repo_each_unfinished(o->cfg.db, stuck_after_ms, limit, list_one, &l);
}

int orch_cancel(orch_t *o, const char *saga_id, saga_row_t *row)
{
    orch_live_t live;
    orch_live(o, saga_id, &live);
    int rc = driver_cancel(&o->driver, saga_id, live.driven_here ? live.step : SAGA_STEP_NONE, row);
    if (rc == 0)
        owned_mark_cancel(o->owned, saga_id); /* its worker applies it at its next answer */
    return rc;
}
