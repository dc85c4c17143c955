/* driver.c - one saga as a loop over saga_machine.h: run the steps it asks for, feed their
 * outcomes back, commit what it marks durable before the calls that follow. Calls carry
 * Idempotency-Key <sagaId>:<step>, so re-running what a crash interrupted repeats no effect. */
#include "driver.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cm_error.h"
#include "cm_log.h"

#define DRIVER_CANCEL_ATTEMPTS 20

/* One attempt of one step; the confirms run side by side, each on a thread of its own. */
typedef struct call {
    const driver_t *d;
    const saga_row_t *row; /* read only while calls run */
    saga_run_t run;
    saga_state_t st; /* the ids in, what the step learned out */
    saga_error_t err;
    int rc, stopped, threaded;
    pthread_t th;
} call_t;

static void *call_step(void *arg)
{
    call_t *c = arg;
    log_set_saga_id(c->row->saga_id); /* this thread's log lines name the saga too */
    c->st = c->row->st;
    c->stopped = c->run.delay_ms > 0 && c->d->sleep(c->d->ctx, c->run.delay_ms);
    if (!c->stopped)
        c->rc =
            saga_step_run(c->d->client, c->run.step, c->row->saga_id, &c->row->in, &c->st, &c->err);
    return NULL;
}

/* Runs every step acts asks for at once and waits for all. Returns 1 when the engine stopped. */
static int run_calls(const driver_t *d, const saga_row_t *row, const saga_actions_t *acts,
                     call_t *calls)
{
    int stopped = 0;
    for (int i = 0; i < acts->nrun; i++) {
        calls[i] = (call_t){.d = d, .row = row, .run = acts->run[i]};
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
    else if (c->rc != SAGA_OK)
        out = (saga_outcome_t){SAGA_OUT_RETRYABLE, c->run.step, saga_error_in_flight(&c->err),
                               c->err.type, c->err.message};
    return out;
}

/* The trail of one commit: a row per outcome, a STARTED row per step it starts. */
typedef struct trail {
    int n;
    step_log_t logs[REPO_LOGS_MAX];
} trail_t;

static void trail_add(trail_t *t, saga_step_t step, const char *event, int attempt,
                      const saga_error_t *err)
{
    if (t->n < REPO_LOGS_MAX)
        t->logs[t->n++] = (step_log_t){step, event, attempt, err};
}

/* Feeds the calls' outcomes to row's machine in run order (n 0: *acts as given, e.g. a resumed
 * cancel); *acts becomes what to run next and *t its trail. */
static void feed(const driver_t *d, saga_row_t *row, const call_t *calls, int n,
                 saga_actions_t *acts, trail_t *t)
{
    static const char *const EVENT[] = {[SAGA_V_DONE] = "SUCCEEDED",
                                        [SAGA_V_RETRY] = "RETRY",
                                        [SAGA_V_FAILED] = "FAILED",
                                        [SAGA_V_SKIPPED] = "FAILED"};
    saga_actions_t next = n == 0 ? *acts : (saga_actions_t){0}, a;
    t->n = 0;
    for (int i = 0; i < n; i++) {
        saga_outcome_t out = outcome_of(&calls[i]);
        row->st.order_id = calls[i].st.order_id > 0 ? calls[i].st.order_id : row->st.order_id;
        row->st.payment_id =
            calls[i].st.payment_id > 0 ? calls[i].st.payment_id : row->st.payment_id;
        saga_machine_advance(&row->m, &out, &a);
        if (a.verdict == SAGA_V_IGNORED)
            continue;
        trail_add(t, out.step, EVENT[a.verdict], calls[i].run.attempt,
                  a.verdict == SAGA_V_DONE ? NULL : &calls[i].err);
        if (a.verdict == SAGA_V_RETRY)
            d->retried(d->ctx);
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
            trail_add(t, next.run[r].step, "STARTED", 0, NULL);
    if (t->n == 0 && next.persist) /* a commit carries at least one row: the phase reached */
        trail_add(t, row->m.last_forward, saga_phase_name(row->m.phase), 0, NULL);
    *acts = next;
}

/* Whether a conflicting commit was driver_cancel's: the stored saga is `before` plus a cancel. */
static int cancelled_meanwhile(const saga_row_t *before, saga_row_t now)
{
    if (!now.m.cancel_requested || before->m.cancel_requested)
        return 0;
    now.m.cancel_requested = false;
    return saga_machine_durable_equal(&now.m, &before->m);
}

/* Feeds one round's outcomes and commits the transition. A cancel committed while the calls
 * ran comes first: the outcomes are fed again after it. 0, 1 (stopping) or CM_ERR_CONFLICT. */
static int settle(const driver_t *d, saga_row_t *row, const call_t *calls, int n,
                  saga_actions_t *acts)
{
    saga_row_t before = *row, now;
    saga_actions_t given = *acts, ignored;
    trail_t t;
    feed(d, row, calls, n, acts, &t);
    for (int attempt = 1;; attempt++) {
        if (!acts->persist) {
            if (t.n > 0 && repo_log(d->db, row->saga_id, t.logs, t.n) != 0)
                log_warn("saga %s: could not log its retries", row->saga_id);
            return 0;
        }
        int rc = repo_commit(d->db, row, t.logs, t.n);
        if (rc == CM_ERR_CONFLICT && repo_load(d->db, row->saga_id, &now) == 0) {
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
            feed(d, row, calls, n, acts, &t);
            continue;
        }
        if (rc == 0 || rc == CM_ERR_CONFLICT)
            return rc;
        log_warn("saga %s: could not commit (%s), retrying", row->saga_id, cm_strerror(rc));
        if (d->sleep(d->ctx, saga_backoff_ms(attempt, 100, 2000)))
            return 1;
    }
}

int driver_run(const driver_t *d, saga_row_t *row)
{
    saga_actions_t acts;
    call_t calls[SAGA_RUN_MAX];
    int rc = 0;
    row->m.policy = d->policy;
    saga_machine_resume(&row->m, &acts); /* re-sends what a crash interrupted, same keys */
    if (acts.persist)
        rc = settle(d, row, calls, 0, &acts);
    while (rc == 0 && !acts.finished) {
        int n = acts.nrun;
        if (n == 0) {
            log_error("saga %s: nothing to run in %s", row->saga_id, saga_phase_name(row->m.phase));
            return CM_ERR_CONFLICT;
        }
        if (run_calls(d, row, &acts, calls))
            return 1;
        rc = settle(d, row, calls, n, &acts);
    }
    return rc;
}

int driver_cancel(const driver_t *d, const char *saga_id, saga_row_t *row)
{
    for (int attempt = 1; attempt <= DRIVER_CANCEL_ATTEMPTS; attempt++) {
        saga_actions_t a;
        int rc = repo_load(d->db, saga_id, row);
        if (rc != 0)
            return rc;
        saga_machine_t m = row->m; /* what a worker runs now is in flight: the cancel waits */
        saga_machine_resume(&m, &a);
        int accepted = saga_machine_cancel(&m, &a);
        step_log_t l = {saga_machine_step(&row->m), accepted ? "CANCEL" : "CANCEL_IGNORED", 0,
                        NULL};
        if (!accepted) {
            if (repo_log(d->db, saga_id, &l, 1) != 0)
                log_warn("saga %s: could not log an ignored cancel", saga_id);
            return CM_ERR_CONFLICT;
        }
        if (!a.persist)
            return 0;                                 /* cancelled already */
        row->m.cancel_requested = m.cancel_requested; /* the only durable change */
        if ((rc = repo_commit(d->db, row, &l, 1)) != CM_ERR_CONFLICT)
            return rc;
        /* A worker moved the saga meanwhile: decide again on its new state. */
    }
    return CM_ERR_TIMEOUT;
}
