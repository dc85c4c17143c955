/* driver.c - one saga as a loop over saga_machine.h: run the steps it asks for, feed their
 * outcomes back, commit what recovery needs. Calls carry Idempotency-Key <sagaId>:<step>, so a
 * recovered saga may repeat any call since its last commit and change nothing twice. */
#include "driver.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_error.h"
#include "cm_log.h"
#include "mono.h"

#define DRIVER_CANCEL_ATTEMPTS 20
#define TRAIL_MAX              24 /* log rows kept between commits; a full trail commits */

/* ---- one round of calls ------------------------------------------------------------------- */

/* One attempt of one step; the confirms run side by side on the call pool. */
typedef struct call {
    const driver_t *d;
    const saga_row_t *row; /* read only while calls run */
    saga_run_t run;
    saga_state_t st; /* the ids in, what the step learned out */
    saga_error_t err;
    int rc, stopped;
    int64_t started_ms, took_ms;
    saga_verdict_t verdict; /* what the machine made of it (feed) */
} call_t;

/* A refund whose order id is not known belongs to a plan widened after a takeover: the order
 * may exist all the same, and with it a payment. Learn the order id by replaying CreateOrder
 * under its own key (the order service answers with the order, or refuses again: then there is
 * none, nor any payment), so the refund finds the payment by replaying CreatePayment. */
static int learn_order(call_t *c)
{
    if (c->run.step != SAGA_STEP_REFUND_PAYMENT || c->st.order_id > 0 || c->st.payment_id > 0)
        return SAGA_OK;
    int rc = saga_step_run(c->d->client, SAGA_STEP_CREATE_ORDER, c->row->saga_id, &c->row->in,
                           &c->st, &c->err);
    return rc == SAGA_ERR_BUSINESS || rc == SAGA_ERR_INVALID ? SAGA_OK : rc;
}

static void call_step(void *arg)
{
    call_t *c = arg;
    log_set_saga_id(c->row->saga_id); /* a helper's log lines name the saga too */
    c->st = c->row->st;
    c->stopped = c->run.delay_ms > 0 && c->d->hooks.sleep(c->d->ctx, c->run.delay_ms);
    c->started_ms = mono_now_ms();
    if (!c->stopped && (c->rc = learn_order(c)) == SAGA_OK)
        c->rc =
            saga_step_run(c->d->client, c->run.step, c->row->saga_id, &c->row->in, &c->st, &c->err);
    c->took_ms = mono_now_ms() - c->started_ms;
}

/* Runs every step acts asks for at once (the first on this thread, the others on helpers) and
 * waits for all. Returns 1 when the engine stopped. */
static int run_calls(const driver_t *d, const saga_row_t *row, const saga_actions_t *acts,
                     call_t *calls)
{
    callpool_task_t tasks[SAGA_RUN_MAX];
    int queued[SAGA_RUN_MAX] = {0}, stopped = 0;
    for (int i = 0; i < acts->nrun; i++) {
        calls[i] = (call_t){.d = d, .row = row, .run = acts->run[i]};
        queued[i] = i > 0 && callpool_submit(d->pool, &tasks[i], call_step, &calls[i]) == 0;
    }
    for (int i = 0; i < acts->nrun; i++)
        if (!queued[i])
            call_step(&calls[i]);
    for (int i = 0; i < acts->nrun; i++) {
        if (queued[i])
            callpool_wait(d->pool, &tasks[i]);
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

/* ---- what a run remembers between commits ------------------------------------------------- */

typedef struct trail_row {
    saga_step_t step;
    const char *event;
    int attempt, http_status;
    char type[SAGA_TYPE_MAX];
    char message[SAGA_ERRMSG_MAX];
    int64_t started_ms, took_ms;
} trail_row_t;

/* A step's run of retryable answers: since when, how many attempts, the last error. */
typedef struct streak {
    int64_t since_ms; /* 0: not retrying */
    int attempts;
    char error[REPO_ERROR_MAX];
} streak_t;

typedef struct run {
    const driver_t *d;
    saga_row_t *row;
    saga_machine_t committed; /* the durable state as last stored (cancel detection) */
    saga_step_t committed_retry;
    bool widen; /* loaded while going forward: its progress since the last commit is unknown */
    int ntrail;
    trail_row_t trail[TRAIL_MAX];
    streak_t streak[SAGA_STEP_COUNT];
} run_t;

static void trail_add(run_t *r, const call_t *c, const char *event)
{
    if (r->ntrail >= TRAIL_MAX)
        return;
    trail_row_t *t = &r->trail[r->ntrail++];
    *t = (trail_row_t){c->run.step, event, c->run.attempt, 0, "", "", c->started_ms, c->took_ms};
    if (strcmp(event, "SUCCEEDED") != 0) {
        t->http_status = c->err.http_status;
        snprintf(t->type, sizeof t->type, "%s", c->err.type);
        snprintf(t->message, sizeof t->message, "%s", c->err.message);
    }
}

/* The trail as saga_commit's JSON array (NULL when empty or out of memory: the state matters,
 * the trail is for people). Caller frees. */
static char *trail_json(const run_t *r)
{
    int64_t now = mono_now_ms();
    json_t *a = r->ntrail > 0 ? json_array() : NULL;
    for (int i = 0; a != NULL && i < r->ntrail; i++) {
        const trail_row_t *t = &r->trail[i];
        json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:I}", "s", saga_step_activity(t->step), "e",
                              t->event, "a", t->attempt, "d", (json_int_t)t->took_ms, "g",
                              (json_int_t)(now - t->started_ms));
        if (o != NULL && t->type[0])
            json_object_set_new(o, "t", json_string(t->type));
        if (o != NULL && t->message[0])
            json_object_set_new(o, "m", json_string(t->message));
        if (o != NULL && t->http_status > 0)
            json_object_set_new(o, "h", json_integer(t->http_status));
        json_array_append_new(a, o);
    }
    char *s = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

/* row->retry from the streaks: the step retrying longest, or none. */
static void retry_from_streaks(run_t *r, int64_t now)
{
    saga_retry_t *t = &r->row->retry;
    int best = -1;
    for (int s = 0; s < SAGA_STEP_COUNT; s++)
        if (r->streak[s].since_ms != 0 &&
            (best < 0 || r->streak[s].since_ms < r->streak[best].since_ms))
            best = s;
    if (best < 0) {
        *t = (saga_retry_t){.step = SAGA_STEP_NONE};
        return;
    }
    t->step = (saga_step_t)best;
    t->attempt = r->streak[best].attempts;
    t->age_ms = now - r->streak[best].since_ms;
    snprintf(t->error, sizeof t->error, "%s", r->streak[best].error);
}

static void streak_note(run_t *r, const call_t *c, saga_verdict_t v)
{
    streak_t *k = &r->streak[c->run.step];
    if (v != SAGA_V_RETRY) {
        *k = (streak_t){0};
        return;
    }
    if (k->since_ms == 0)
        k->since_ms = c->started_ms > 0 ? c->started_ms : 1;
    k->attempts++;
    /* The message names the answer ("HTTP 503 Unavailable", "transport error: ..."). */
    snprintf(k->error, sizeof k->error, "%s", c->err.message[0] ? c->err.message : c->err.type);
}

/* ---- feeding outcomes and committing ------------------------------------------------------ */

/* A loaded saga that starts compensating before its pivot registers every compensation up to
 * the pivot: since its last commit it may have run any forward step. */
static void widen(run_t *r, saga_phase_t was, saga_actions_t *acts)
{
    saga_machine_t *m = &r->row->m;
    if (!r->widen || was != SAGA_PHASE_FORWARD || m->phase != SAGA_PHASE_COMPENSATING ||
        m->last_forward >= SAGA_STEP_APPROVE_PAYMENT)
        return;
    m->last_forward = SAGA_STEP_APPROVE_PAYMENT;
    m->comp_done = 0;
    saga_machine_resume(m, acts); /* runs the top of the widened plan */
    acts->persist = true;
}

/* Feeds the calls' outcomes to the machine in run order; *acts becomes what to run next. */
static void feed(run_t *r, call_t *calls, int n, saga_actions_t *acts)
{
    static const char *const EVENT[] = {[SAGA_V_DONE] = "SUCCEEDED",
                                        [SAGA_V_RETRY] = "RETRY",
                                        [SAGA_V_FAILED] = "FAILED",
                                        [SAGA_V_SKIPPED] = "FAILED"};
    saga_row_t *row = r->row;
    saga_actions_t next = {0}, a;
    for (int i = 0; i < n; i++) {
        saga_phase_t was = row->m.phase;
        saga_outcome_t out = outcome_of(&calls[i]);
        row->st.order_id = calls[i].st.order_id > 0 ? calls[i].st.order_id : row->st.order_id;
        row->st.payment_id =
            calls[i].st.payment_id > 0 ? calls[i].st.payment_id : row->st.payment_id;
        saga_machine_advance(&row->m, &out, &a);
        calls[i].verdict = a.verdict;
        if (a.verdict == SAGA_V_IGNORED)
            continue;
        widen(r, was, &a);
        trail_add(r, &calls[i], EVENT[a.verdict]);
        streak_note(r, &calls[i], a.verdict);
        for (int k = 0; k < a.nrun && next.nrun < SAGA_RUN_MAX; k++)
            next.run[next.nrun++] = a.run[k];
        next.persist |= a.persist;
        next.finished |= a.finished;
    }
    retry_from_streaks(r, mono_now_ms());
    *acts = next;
}

/* Whether recovery needs the state as it is now: the pivot, the decision to compensate (or a
 * cancel applied), the end, a retry (what it is, or that it ended), a full trail. */
static bool must_commit(const run_t *r, const call_t *calls, int n, const saga_actions_t *acts)
{
    const saga_machine_t *m = &r->row->m;
    bool retried = false;
    for (int i = 0; i < n; i++)
        retried |= calls[i].verdict == SAGA_V_RETRY;
    return acts->finished || m->phase != r->committed.phase ||
           m->cancel_requested != r->committed.cancel_requested || retried ||
           r->row->retry.step != r->committed_retry || r->ntrail >= TRAIL_MAX;
}

/* The stored saga is what this run last committed plus a cancel (driver_cancel's write). */
static bool cancelled_meanwhile(const run_t *r, saga_row_t now)
{
    if (!now.m.cancel_requested || r->committed.cancel_requested ||
        now.lease_version != r->row->lease_version)
        return false;
    now.m.cancel_requested = false;
    return saga_machine_durable_equal(&now.m, &r->committed);
}

/* Commits the current state with the trail. 0, DRIVER_STOPPED, DRIVER_LOST, CM_ERR_CONFLICT
 * (the stored saga moved on without a takeover: *now holds it), or a database error (after
 * waiting a little: try again). */
static int commit_once(run_t *r, int attempt, saga_row_t *now)
{
    const driver_t *d = r->d;
    saga_row_t *row = r->row;
    char *logs = trail_json(r);
    int rc = repo_commit(d->db, row, d->owner, saga_phase_terminal(row->m.phase) ? 0 : d->lease_ms,
                         logs);
    free(logs);
    if (rc == CM_ERR_CONFLICT) {
        if (repo_load(d->db, row->saga_id, now) != 0 || now->lease_version != row->lease_version)
            return DRIVER_LOST; /* taken over (or unreadable: the lease decides who drives it) */
        if (attempt == 1 || now->version != row->version + 1 ||
            !saga_machine_durable_equal(&now->m, &row->m))
            return CM_ERR_CONFLICT;
        row->version = now->version; /* an earlier attempt's COMMIT went through */
        rc = 0;
    }
    if (rc == 0) {
        r->ntrail = 0;
        r->committed = row->m;
        r->committed_retry = row->retry.step;
        return 0;
    }
    log_warn("saga %s: could not commit (%s), retrying", row->saga_id, cm_strerror(rc));
    if (!d->hooks.lease_ok(d->ctx, row->saga_id))
        return DRIVER_LOST;
    return d->hooks.sleep(d->ctx, saga_backoff_ms(attempt, 100, 2000)) ? DRIVER_STOPPED : rc;
}

/* The state of a round before its outcomes were fed, to feed them again after a cancel. */
typedef struct undo {
    saga_row_t row;
    int ntrail;
    streak_t streak[SAGA_STEP_COUNT];
} undo_t;

/* A cancel was committed while this round ran (the stored saga is `now`): it comes first, as
 * if it had been there before the outcomes, which are fed again after it. */
static void apply_cancel(run_t *r, const undo_t *u, const saga_row_t *now, call_t *calls, int n,
                         saga_actions_t *acts)
{
    saga_actions_t ca;
    *r->row = u->row;
    r->row->version = now->version;
    r->ntrail = u->ntrail;
    memcpy(r->streak, u->streak, sizeof r->streak);
    saga_machine_cancel(&r->row->m, &ca);
    if (n > 0) {
        feed(r, calls, n, acts);
    } else {
        *acts = ca;
        widen(r, SAGA_PHASE_FORWARD, acts);
        retry_from_streaks(r, mono_now_ms());
    }
}

/* Feeds one round's outcomes (none: acts as resume gave them) and commits when recovery needs
 * it. 0, DRIVER_STOPPED, DRIVER_LOST or CM_ERR_CONFLICT. */
static int settle(run_t *r, call_t *calls, int n, saga_actions_t *acts)
{
    const driver_t *d = r->d;
    undo_t u = {.row = *r->row, .ntrail = r->ntrail};
    saga_row_t now;
    memcpy(u.streak, r->streak, sizeof u.streak);
    if (n > 0)
        feed(r, calls, n, acts);
    if (d->hooks.take_cancel(d->ctx, r->row->saga_id) &&
        repo_load(d->db, r->row->saga_id, &now) == 0 && cancelled_meanwhile(r, now))
        apply_cancel(r, &u, &now, calls, n, acts);
    for (int attempt = 1;; attempt++) {
        if (!must_commit(r, calls, n, acts))
            return 0;
        int rc = commit_once(r, attempt, &now);
        if (rc == CM_ERR_CONFLICT && cancelled_meanwhile(r, now)) {
            apply_cancel(r, &u, &now, calls, n, acts);
            continue;
        }
        if (rc == 0 || rc == DRIVER_STOPPED || rc == DRIVER_LOST || rc == CM_ERR_CONFLICT)
            return rc;
    }
}

/* Tells the engine what the round did: metrics, and a warning per failed attempt. */
static void report(const run_t *r, const call_t *calls, int n)
{
    const driver_t *d = r->d;
    for (int i = 0; i < n; i++) {
        const call_t *c = &calls[i];
        saga_step_t s = c->run.step;
        if (c->verdict == SAGA_V_RETRY)
            d->hooks.retried(d->ctx, s, &c->err);
        if (!saga_step_is_forward(s) && (c->verdict == SAGA_V_DONE || c->verdict == SAGA_V_SKIPPED))
            d->hooks.compensated(d->ctx, s, c->verdict == SAGA_V_DONE);
        if (c->verdict == SAGA_V_RETRY || c->verdict == SAGA_V_FAILED ||
            c->verdict == SAGA_V_SKIPPED)
            log_warn("saga %s: %s attempt %d: %s (%s)", r->row->saga_id, saga_step_activity(s),
                     c->run.attempt, c->err.message,
                     c->verdict == SAGA_V_RETRY ? "retrying" : "failed for good");
    }
    d->hooks.observe(d->ctx, r->row,
                     r->row->retry.step != SAGA_STEP_NONE ? r->streak[r->row->retry.step].since_ms
                                                          : 0);
}

int driver_run(const driver_t *d, saga_row_t *row, bool loaded)
{
    saga_actions_t acts;
    call_t calls[SAGA_RUN_MAX];
    run_t r = {.d = d, .row = row, .committed = row->m, .committed_retry = row->retry.step};
    r.widen = loaded && row->m.phase == SAGA_PHASE_FORWARD;
    if (row->retry.step != SAGA_STEP_NONE) { /* a retry another run started goes on counting */
        streak_t *k = &r.streak[row->retry.step];
        k->since_ms = mono_now_ms() - (row->retry.age_ms > 0 ? row->retry.age_ms : 0);
        k->attempts = row->retry.attempt;
        snprintf(k->error, sizeof k->error, "%s", row->retry.error);
    }
    row->m.policy = d->policy;
    saga_phase_t was = row->m.phase;
    saga_machine_resume(&row->m, &acts); /* re-sends what a crash interrupted, same keys */
    widen(&r, was, &acts);
    int rc = settle(&r, calls, 0, &acts);
    report(&r, calls, 0);
    while (rc == 0 && !acts.finished) {
        int n = acts.nrun;
        if (n == 0) {
            log_error("saga %s: nothing to run in %s", row->saga_id, saga_phase_name(row->m.phase));
            return CM_ERR_CONFLICT;
        }
        if (!d->hooks.lease_ok(d->ctx, row->saga_id))
            return DRIVER_LOST;
        if (run_calls(d, row, &acts, calls))
            return DRIVER_STOPPED;
        rc = settle(&r, calls, n, &acts);
        report(&r, calls, n);
    }
    return rc;
}

int driver_cancel(const driver_t *d, const char *saga_id, saga_step_t live_step, saga_row_t *row)
{
    for (int attempt = 1; attempt <= DRIVER_CANCEL_ATTEMPTS; attempt++) {
        saga_actions_t a;
        int rc = repo_load(d->db, saga_id, row);
        if (rc != 0)
            return rc;
        saga_machine_t m = row->m; /* what the lease holder runs now is in flight: it finishes */
        saga_step_t step = live_step != SAGA_STEP_NONE ? live_step : saga_machine_step(&row->m);
        saga_machine_resume(&m, &a);
        if (!saga_machine_cancel(&m, &a)) {
            if (repo_log(d->db, saga_id, step, "CANCEL_IGNORED") != 0)
                log_warn("saga %s: could not log an ignored cancel", saga_id);
            return CM_ERR_CONFLICT;
        }
        if (row->m.cancel_requested)
            return 0; /* cancelled already */
        if ((rc = repo_cancel(d->db, row, step)) == 0)
            row->m.cancel_requested = true;
        if (rc != CM_ERR_CONFLICT)
            return rc;
        /* It moved meanwhile (a commit, a takeover, another cancel): decide on its new state. */
    }
    return CM_ERR_TIMEOUT;
}
