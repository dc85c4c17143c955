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

/* How many 409 IdempotencyInFlight answers a step may wait through before they count as
 * failures (the twin call sent before a crash is still running in the service), and how often
 * the twin is polled meanwhile. */
#define SAGA_IN_FLIGHT_WAITS   30
#define SAGA_IN_FLIGHT_POLL_MS 1000

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
    saga_policy_t policy; /* from cfg */
    pthread_mutex_t mu;   /* guards everything below */
    pthread_cond_t work;  /* a job arrived or stopping */
    pthread_cond_t sleep; /* broadcast on stop: interrupts backoff sleeps */
    job_t *head, *tail;
    int queued;
    waiter_t *waiters;
    int stopping;
    int nthreads;
    pthread_t *threads;
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

/* Caller holds o->mu. row (may be NULL) is the saga as just committed. */
static int enqueue_locked(orch_t *o, const char *saga_id, const saga_row_t *row)
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

/* ---- driving one saga: a loop over saga_machine.h (the step logic) ----------------------- */

static void count(orch_t *o, const char *name, const char *help, const char *labels)
{
    if (o->cfg.metrics != NULL)
        metrics_counter_add(o->cfg.metrics, name, help, labels, 1);
}

/* One attempt of one step; the confirms run side by side, each on a thread of its own. */
typedef struct call {
    orch_t *o;
    const saga_row_t *row; /* read only while calls run */
    saga_run_t run;
    saga_state_t st; /* the ids in, what the step learned out */
    saga_error_t err;
    int rc;
    int stopped; /* the engine stopped during the backoff: not called */
    int threaded;
    pthread_t th;
} call_t;

static void *call_step(void *arg)
{
    call_t *c = arg;
    c->st = c->row->st;
    if (c->run.delay_ms > 0 && sleep_or_stop(c->o, c->run.delay_ms)) {
        c->stopped = 1;
        return NULL;
    }
    c->rc =
        saga_step_run(c->o->cfg.client, c->run.step, c->row->saga_id, &c->row->in, &c->st, &c->err);
    return NULL;
}

/* Runs every step acts asks for at once and waits for all. Returns 1 when the engine stopped
 * (the saga resumes from its last commit on the next start), else 0. */
static int run_calls(orch_t *o, const saga_row_t *row, const saga_actions_t *acts, call_t *calls)
{
    int stopped = 0;
    for (int i = 0; i < acts->nrun; i++) {
        calls[i] = (call_t){.o = o, .row = row, .run = acts->run[i]};
        calls[i].threaded = i > 0 && pthread_create(&calls[i].th, NULL, call_step, &calls[i]) == 0;
    }
    for (int i = 0; i < acts->nrun; i++)
        if (!calls[i].threaded)
            call_step(&calls[i]);
    for (int i = 0; i < acts->nrun; i++) {
        if (calls[i].threaded)
            pthread_join(calls[i].th, NULL);
        stopped |= calls[i].stopped;
    }
    return stopped;
}

static saga_outcome_t outcome_of(const call_t *c)
{
    saga_outcome_t out = {SAGA_OUT_OK, c->run.step, false, c->err.type, c->err.message};
    if (c->rc == SAGA_ERR_BUSINESS || c->rc == SAGA_ERR_INVALID)
        out.kind = SAGA_OUT_BUSINESS;
    else if (c->rc != SAGA_OK) {
        out.kind = SAGA_OUT_RETRYABLE;
        out.in_flight = saga_error_in_flight(&c->err);
    }
    return out;
}

/* The trail of one round: a row per outcome, a STARTED row per step it starts. */
typedef struct trail {
    int n;
    step_log_t logs[REPO_LOGS_MAX];
    saga_error_t errs[REPO_LOGS_MAX];
} trail_t;

static void trail_add(trail_t *t, saga_step_t step, const char *event, int attempt,
                      const saga_error_t *err, const char *type)
{
    if (t->n >= REPO_LOGS_MAX)
        return;
    if (err != NULL) {
        t->errs[t->n] = *err; /* the saga's reason (RetriesExhausted, Cancelled) when it has one */
        if (type != NULL && type[0])
            snprintf(t->errs[t->n].type, sizeof t->errs[t->n].type, "%s", type);
    }
    t->logs[t->n] = (step_log_t){step, event, attempt, err != NULL ? &t->errs[t->n] : NULL};
    t->n++;
}

/* Feeds the calls' outcomes to row's machine in run order (n 0: acts as given, e.g. a resumed
 * cancel); *acts becomes what to run next, *t the trail. */
static void feed(orch_t *o, saga_row_t *row, const call_t *calls, int n, saga_actions_t *acts,
                 trail_t *t)
{
    static const char *const EVENT[] = {[SAGA_V_DONE] = "SUCCEEDED",
                                        [SAGA_V_RETRY] = "RETRY",
                                        [SAGA_V_FAILED] = "FAILED",
                                        [SAGA_V_SKIPPED] = "FAILED"};
    saga_actions_t next = n == 0 ? *acts : (saga_actions_t){0};
    t->n = 0;
    for (int i = 0; i < n; i++) {
        saga_outcome_t out = outcome_of(&calls[i]);
        saga_actions_t a;
        row->st.order_id = calls[i].st.order_id > 0 ? calls[i].st.order_id : row->st.order_id;
        row->st.payment_id =
            calls[i].st.payment_id > 0 ? calls[i].st.payment_id : row->st.payment_id;
        saga_machine_advance(&row->m, &out, &a);
        if (a.verdict == SAGA_V_IGNORED)
            continue;
        trail_add(t, out.step, EVENT[a.verdict], calls[i].run.attempt,
                  a.verdict == SAGA_V_DONE ? NULL : &calls[i].err,
                  a.verdict == SAGA_V_FAILED ? row->m.error_type : NULL);
        if (a.verdict == SAGA_V_RETRY)
            count(o, "saga_step_retries_total", "Retried saga step calls", NULL);
        if (a.verdict != SAGA_V_DONE)
            log_warn("saga %s: %s attempt %d: %s (%s)", row->saga_id, saga_step_activity(out.step),
                     calls[i].run.attempt, calls[i].err.message,
                     a.verdict == SAGA_V_RETRY ? "retrying" : "failed for good");
        for (int r = 0; r < a.nrun && next.nrun < SAGA_RUN_MAX; r++)
            next.run[next.nrun++] = a.run[r];
        next.persist |= a.persist;
        next.finished |= a.finished;
    }
    for (int r = 0; r < next.nrun; r++)
        if (next.run[r].attempt == 1)
            trail_add(t, next.run[r].step, "STARTED", 0, NULL, NULL);
    if (t->n == 0 && next.persist) /* a commit carries at least one row: the phase reached */
        trail_add(t, row->m.last_forward, saga_phase_name(row->m.phase), 0, NULL, NULL);
    *acts = next;
}

/* Whether a conflicting commit was orch_cancel's: the stored saga is `before` plus a cancel. */
static int cancelled_meanwhile(const saga_row_t *before, saga_row_t now)
{
    if (!now.m.cancel_requested || before->m.cancel_requested)
        return 0;
    now.m.cancel_requested = false;
    return saga_machine_durable_equal(&now.m, &before->m);
}

/* Feeds one round's outcomes and commits the transition before any call it leads to. A cancel
 * committed by orch_cancel while the calls ran comes first: the outcomes are fed again after
 * it. Returns 0, 1 when stopping, or CM_ERR_CONFLICT (another worker moved the saga). */
static int settle(orch_t *o, saga_row_t *row, const call_t *calls, int n, saga_actions_t *acts)
{
    saga_row_t before = *row, now;
    saga_actions_t given = *acts, ignored;
    trail_t t;
    feed(o, row, calls, n, acts, &t);
    for (int attempt = 1;; attempt++) {
        if (!acts->persist) {
            if (t.n > 0 && repo_log(o->cfg.db, row->saga_id, t.logs, t.n) != 0)
                log_warn("saga %s: could not log its retries", row->saga_id);
            return 0;
        }
        int rc = repo_commit(o->cfg.db, row, t.logs, t.n);
        if (rc == CM_ERR_CONFLICT && repo_load(o->cfg.db, row->saga_id, &now) == 0) {
            if (attempt > 1 && now.version == row->version + 1 &&
                saga_machine_durable_equal(&now.m, &row->m)) {
                row->version = now.version; /* an earlier attempt's COMMIT went through */
                return 0;
            }
            if (!cancelled_meanwhile(&before, now))
                return CM_ERR_CONFLICT;
            *row = before;
            row->version = now.version;
            saga_machine_cancel(&row->m, &ignored);
            *acts = given;
            feed(o, row, calls, n, acts, &t);
            continue;
        }
        if (rc == 0 || rc == CM_ERR_CONFLICT)
            return rc;
        log_warn("saga %s: could not commit its transition (%s), retrying", row->saga_id,
                 cm_strerror(rc));
        if (sleep_or_stop(o, saga_backoff_ms(attempt, 100, 2000)))
            return 1;
    }
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
    saga_actions_t acts;
    call_t calls[SAGA_RUN_MAX];
    int rc = 0;
    log_set_saga_id(job->saga_id);
    for (int attempt = 1; !job->have_row && (rc = repo_load(o->cfg.db, job->saga_id, &row)) != 0;
         attempt++)
        if (rc == CM_ERR_NOT_FOUND || sleep_or_stop(o, saga_backoff_ms(attempt, 100, 2000)))
            goto out;
    row.m.policy = o->policy;
    saga_machine_resume(&row.m, &acts); /* re-sends what a crash interrupted, same keys */
    if (acts.persist)
        rc = settle(o, &row, calls, 0, &acts);
    while (rc == 0 && !acts.finished && acts.nrun > 0) {
        int n = acts.nrun;
        if (run_calls(o, &row, &acts, calls))
            goto out; /* stopping: the saga resumes from its last commit on the next start */
        rc = settle(o, &row, calls, n, &acts);
    }
    if (rc == CM_ERR_CONFLICT)
        log_warn("saga %s moved by another worker; leaving it", job->saga_id);
    else if (rc == 0 && acts.finished)
        finished(o, job, &row);
    else if (rc == 0)
        log_error("saga %s: nothing to run in phase %s", job->saga_id,
                  saga_phase_name(row.m.phase));
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
        free(j);
        pthread_mutex_lock(&o->mu);
    }
    pthread_mutex_unlock(&o->mu);
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
    o->policy = (saga_policy_t){cfg->forward_attempts, cfg->retry_initial_ms, cfg->retry_max_ms,
                                SAGA_IN_FLIGHT_WAITS, SAGA_IN_FLIGHT_POLL_MS};
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->work, NULL);
    cond_init_monotonic(&o->sleep);
    o->threads = calloc((size_t)cfg->workers, sizeof *o->threads);
    if (o->threads == NULL) {
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
    *out = o;
    return 0;
}

static void resume_one(const char *saga_id, void *ctx)
{
    orch_t *o = ctx;
    pthread_mutex_lock(&o->mu);
    if (enqueue_locked(o, saga_id, NULL) != 0)
        log_error("saga %s: out of memory while resuming", saga_id);
    pthread_mutex_unlock(&o->mu);
    log_info("resuming saga %s", saga_id);
}

int orch_resume(orch_t *o)
{
    return repo_each_unfinished(o->cfg.db, resume_one, o);
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

int orch_submit_wait(orch_t *o, const char *saga_id, const saga_input_t *in, int64_t timeout_ms,
                     saga_row_t *row)
{
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
    saga_machine_init(&row->m, &o->policy);
    saga_machine_resume(&row->m, &start); /* CreateOrder started, CancelOrder registered */
    row->in = *in;
    int rc = CM_ERR_DUPLICATE;
    if (!full)
        rc = repo_create(o->cfg.db, row);
    if (rc == 0) {
        count(o, "saga_started_total", "Sagas created", NULL);
        pthread_mutex_lock(&o->mu);
        rc = enqueue_locked(o, saga_id, row); /* NOMEM: persisted, resumes on next start */
        pthread_mutex_unlock(&o->mu);
    } else if (rc == CM_ERR_DUPLICATE) {
        /* A repeated POST with the same key - or a full queue. */
        rc = repo_load(o->cfg.db, saga_id, row);
        if (rc == CM_ERR_NOT_FOUND)
            rc = full ? CM_ERR_BUSY : CM_ERR_DB;
        else if (rc == 0 && !saga_input_equal(&row->in, in))
            rc = CM_ERR_CONFLICT;
        else if (rc == 0 && saga_phase_terminal(row->m.phase))
            goto out;
    }
    if (rc != 0)
        goto out;
    if ((rc = wait_done(o, w, timeout_ms, row)) == CM_ERR_TIMEOUT &&
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
    for (int attempt = 1; attempt <= ORCH_CANCEL_ATTEMPTS; attempt++) {
        saga_actions_t a;
        int rc = repo_load(o->cfg.db, saga_id, row);
        if (rc != 0)
            return rc;
        /* What a worker is running now is in flight: the cancel waits for it (saga_machine.h). */
        saga_machine_t m = row->m;
        saga_machine_resume(&m, &a);
        int accepted = saga_machine_cancel(&m, &a);
        step_log_t l = {saga_machine_step(&row->m), accepted ? "CANCEL" : "CANCEL_IGNORED", 0,
                        NULL};
        if (!accepted) {
            if (repo_log(o->cfg.db, saga_id, &l, 1) != 0)
                log_warn("saga %s: could not log an ignored cancel", saga_id);
            return CM_ERR_CONFLICT;
        }
        if (!a.persist)
            return 0;                                 /* cancelled already */
        row->m.cancel_requested = m.cancel_requested; /* the only durable change */
        rc = repo_commit(o->cfg.db, row, &l, 1);
        if (rc != CM_ERR_CONFLICT)
            return rc;
        /* A worker moved the saga meanwhile: decide again on its new state. */
    }
    return CM_ERR_TIMEOUT;
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
    while (o->head != NULL) {
        job_t *j = o->head;
        o->head = j->next;
        free(j);
    }
    free(o->threads);
    pthread_cond_destroy(&o->work);
    pthread_cond_destroy(&o->sleep);
    pthread_mutex_destroy(&o->mu);
    free(o);
}
