/* workflow.c - OrderWorkflow: a thin loop running saga_machine.h's actions as activities, plus
 * its getState query. It runs once per run on its own coroutine and is replayed from history
 * after a cache miss, so it must stay deterministic: it reads only its input and the activity
 * results the runtime hands back - no clock, no I/O, no globals but the options fixed before the
 * worker starts. It decides no transition: the machine does. */
#include "ot.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_log.h"
#include "cm_metrics.h"

/* Business failures end the step at once (DESIGN: non_retryable_error_types). */
static const char *const k_non_retryable[] = {
    SAGA_TYPE_INVALID_REQUEST,    SAGA_CODE_OUT_OF_STOCK,          SAGA_CODE_INSUFFICIENT_BALANCE,
    SAGA_CODE_ILLEGAL_TRANSITION, SAGA_CODE_RESERVATION_CANCELLED, NULL};

/* DESIGN retry policy: initial 1 s, coefficient 2, max interval 10 s; forward steps up to the
 * pivot 3 attempts, the confirms and compensations unlimited (0): saga_step_retry_class. The
 * server retries; the workflow only sees a step's final outcome, so the machine never asks to
 * run a step twice. */
static const tc_retry_policy k_limited_retry = {1000, 2.0, 10000, 3, k_non_retryable};
static const tc_retry_policy k_unlimited_retry = {1000, 2.0, 10000, 0, k_non_retryable};

/* Local mode: a backoff up to this long is waited inside the workflow task, a longer one on a
 * durable timer after a marker recording the failed round. So a forward step's three attempts
 * (backoffs 1 s, 2 s) stay in one task, while a confirm or compensation that keeps failing
 * (backoffs 4, 8, 10, 10 ... s) does not hold the task open: the run's state can be queried
 * between rounds, and the chain of workflow task heartbeats never reaches the server's limit
 * (history.workflowTaskHeartbeatTimeout, 30 minutes), past which it would time the task out
 * and start the step over. Remote activities wait their backoff on the server either way. */
#define OT_LOCAL_RETRY_MS 2000

/* Fixed before the worker starts; a new run records mode and threshold (run_options), so
 * changing them affects new runs only. */
static ot_workflow_options g_opt = {.activity_timeout_ms = 30000, .stuck_after_ms = 60000};

void ot_workflow_configure(const ot_workflow_options *o)
{
    g_opt = *o;
    if (g_opt.activity_timeout_ms <= 0)
        g_opt.activity_timeout_ms = 30000;
    if (g_opt.stuck_after_ms <= 0)
        g_opt.stuck_after_ms = 60000;
}

/* ---- counters the workflow keeps (never while replaying: a replay is not a new event) ---- */

static void count(tc_wf_ctx *ctx, const char *name, const char *help, const char *labels)
{
    if (g_opt.metrics != NULL && !tc_wf_is_replaying(ctx))
        metrics_counter_add(g_opt.metrics, name, help, labels, 1);
}

/* Publishes the run's state to this process (gauges; the status of a run whose workflow task a
 * local step holds open, when a query would wait for that task to end). */
static void live_state(tc_wf_ctx *ctx, const ot_wf_state *s, const char *wid)
{
    if (!tc_wf_is_replaying(ctx))
        ot_live_update(wid, s);
}

/* Takes what a step learned (orderId, paymentId) from its result context. A result we cannot
 * read leaves the state as it was: the next step's input then lacks the id and saga reports it. */
static void learn(ot_wf_state *s, const char *result_json)
{
    char id[SAGA_ID_MAX];
    saga_input_t in;
    saga_state_t st;
    if (result_json == NULL ||
        saga_context_parse(result_json, strlen(result_json), id, &in, &st, NULL) != SAGA_OK)
        return;
    if (st.order_id > 0)
        s->st.order_id = st.order_id;
    if (st.payment_id > 0)
        s->st.payment_id = st.payment_id;
}

/* A forward step up to the pivot is what a cancel stops; confirms and compensations always run
 * to their end (started in a detached section). */
static bool cancellable_step(saga_step_t step)
{
    return step <= SAGA_STEP_APPROVE_PAYMENT;
}

/* Schedules the activity of `step`, its input built from what the saga knows now.
 *
 * Cancel mode of a forward step: WAIT_COMPLETED. The cancel request reaches the running step
 * (RequestCancelActivityTask: the server schedules no further attempt), and the step's future
 * resolves only when that attempt has ended. So the compensations start after the call they
 * undo has returned - never beside it - and they get the ids it learned (an order created just
 * before the cancel is cancelled by id, not by replaying CreateOrder). A step whose outcome
 * stays unknown (timed out) is still compensated: its compensation was registered before it
 * ran. TRY would start the compensations while the forward call may still be on its way to the
 * service: the data would end right too (compensations commute with a late forward call), but
 * through tombstones and replays instead of in order. */
static tc_future *start_step(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid, saga_step_t step)
{
    const tc_retry_policy *retry =
        saga_step_retry_class(step) == SAGA_RETRY_LIMITED ? &k_limited_retry : &k_unlimited_retry;
    bool detach = s->v2 && !cancellable_step(step);
    char *input = saga_context_json(wid, &s->in, &s->st);
    if (input == NULL) /* out of memory: fail this workflow task (it is retried), not the saga */
        tc_wf_panic(ctx, "no memory for the activity input of %s", saga_step_activity(step));
    if (detach)
        tc_wf_detached_begin(ctx);
    tc_future *f;
    if (s->local) {
        /* The same retry policy, run by the worker: attempts inside the workflow task while
         * the backoff is short, after a durable timer when it is longer. The UI shows each
         * step (and each failed round) as a LocalActivity marker. Settled before the close:
         * a cancel request that comes while the last task runs the confirms must land after
         * their markers (too late, ignored), not fail that task and be replayed before every
         * step, which would cancel a saga whose order was already confirmed. */
        tc_local_activity_options lo = {.start_to_close_ms = g_opt.activity_timeout_ms,
                                        .retry = retry,
                                        .local_retry_threshold_ms = OT_LOCAL_RETRY_MS,
                                        .cancel_mode = TC_CANCEL_WAIT_COMPLETED,
                                        .settle_before_close = true};
        f = tc_wf_local_activity_start(ctx, saga_step_activity(step), input, &lo);
    } else {
        tc_activity_options opt = {.activity_id = saga_step_key(step), /* each step runs once */
                                   .start_to_close_ms = g_opt.activity_timeout_ms,
                                   .retry = retry,
                                   .cancel_mode = TC_CANCEL_WAIT_COMPLETED};
        f = tc_wf_activity_start(ctx, saga_step_activity(step), input, &opt);
    }
    if (detach)
        tc_wf_detached_end(ctx);
    free(input);
    s->since_ms[step] = tc_wf_now_ms(ctx);
    return f;
}

/* Waits for a step's final outcome into *o: a non-retryable failure is a business one; any
 * other failure means the server's retries ended (attempts, timeouts) or, after a cancel, that
 * the attempt was the last. False when the run is being unwound (evicted): return at once. */
static bool step_outcome(tc_wf_ctx *ctx, ot_wf_state *s, tc_future *f, saga_step_t step,
                         saga_outcome_t *o)
{
    tc_wf_result res;
    int rc = tc_future_get(ctx, f, &res);
    if (rc == TC_ERR_CANCELLED && !tc_future_ready(f))
        return false; /* unwinding: the future never resolved */
    *o = (saga_outcome_t){.step = step, .type = res.failure_type, .message = res.failure_message};
    if (rc == TC_OK)
        learn(s, res.result_json);
    else if (rc == TC_ERR_CANCELLED) /* cancelled in its retry backoff: no attempt runs */
        *o = (saga_outcome_t){.kind = SAGA_OUT_EXHAUSTED,
                              .step = step,
                              .type = "CanceledError",
                              .message = "the step was cancelled"};
    else
        o->kind = res.non_retryable ? SAGA_OUT_BUSINESS : SAGA_OUT_EXHAUSTED;
    return true;
}

static void finish(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid)
{
    saga_result_t r = saga_machine_result(&s->m, &s->st);
    char *result = saga_result_json(OT_ID_FIELD, wid, &r, 0);
    char label[64];
    s->finished = 1;
    s->cancelled = s->v2 && strcmp(s->m.error_type, SAGA_TYPE_CANCELLED) == 0;
    snprintf(label, sizeof label, "status=\"%s\"",
             s->cancelled ? "CANCELED" : saga_phase_status(s->m.phase));
    count(ctx, "saga_finished_total", "Sagas that ended on this worker, by status", label);
    live_state(ctx, s, wid);
    if (result == NULL) {
        tc_wf_fail(ctx, "OutOfMemory", "no memory for the workflow result", false);
        return;
    }
    if (!tc_wf_is_replaying(ctx))
        log_info("workflow %s finished %s %s%s%s", wid,
                 s->cancelled ? "CANCELED" : saga_phase_status(s->m.phase), s->m.error_type,
                 s->m.error_type[0] ? ": " : "", s->m.error_message);
    /* DESIGN: a saga cancelled before the pivot ends CANCELED once its compensations ran (the
     * data is that of a compensated saga); any other end completes with the contract's
     * result. */
    if (s->cancelled)
        tc_wf_report_cancelled(ctx);
    else
        tc_wf_complete(ctx, result);
    free(result);
}

static void note(tc_wf_ctx *ctx, const char *wid, const saga_outcome_t *o, saga_verdict_t v)
{
    char labels[96];
    if (o->step >= SAGA_STEP_REFUND_PAYMENT && (v == SAGA_V_DONE || v == SAGA_V_SKIPPED)) {
        snprintf(labels, sizeof labels, "step=\"%s\",outcome=\"%s\"", saga_step_activity(o->step),
                 v == SAGA_V_DONE ? "done" : "refused");
        count(ctx, "saga_compensations_total",
              "Compensations that ended, by step: done, or refused for good (skipped)", labels);
    }
    if (tc_wf_is_replaying(ctx) || (v != SAGA_V_FAILED && v != SAGA_V_SKIPPED))
        return;
    log_warn("workflow %s: %s %s: %s: %s", wid, saga_step_activity(o->step),
             v == SAGA_V_FAILED ? "failed" : "refused for good, skipped", o->type ? o->type : "",
             o->message ? o->message : "");
}

/* ---- stuck steps: SagaStuck / SagaStep search attributes --------------------------------- */

/* Upserts SagaStuck (and SagaStep while stuck) so `SagaStuck = true` lists the run. */
static void set_stuck(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid, saga_step_t step)
{
    char sa[128];
    bool stuck = step != SAGA_STEP_NONE;
    if (stuck)
        snprintf(sa, sizeof sa, "{\"SagaStuck\":true,\"SagaStep\":\"%s\"}",
                 saga_step_activity(step));
    else
        snprintf(sa, sizeof sa, "{\"SagaStuck\":false}");
    tc_wf_upsert_search_attributes(ctx, sa);
    s->stuck = stuck;
    s->stuck_step = step;
    if (!tc_wf_is_replaying(ctx)) {
        if (stuck)
            log_warn("workflow %s: %s has not ended for %lld ms: flagged stuck", wid,
                     saga_step_activity(step), (long long)s->stuck_after_ms);
        else
            log_info("workflow %s: no step stuck any more", wid);
    }
}

/* The running step that started first (SAGA_STEP_NONE when none runs). */
static saga_step_t oldest_running(const ot_wf_state *s)
{
    saga_step_t best = SAGA_STEP_NONE;
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        if (s->since_ms[i] > 0 && (best == SAGA_STEP_NONE || s->since_ms[i] < s->since_ms[best]))
            best = (saga_step_t)i;
    return best;
}

/* One durable timer follows the oldest running step: it fires when that step will have run for
 * stuck_after_ms; a step that ended by then is forgotten and the timer re-armed for the next.
 * So a saga that ends in time records one TimerStarted and nothing else; a stuck one upserts
 * SagaStuck=true when the threshold passes and false when its step ends. The timer is detached
 * (a compensation after a cancel is watched too) and never cancelled: the run's end drops it. */
static tc_future *watch_stuck(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid)
{
    if (!s->v2 || s->stuck)
        return NULL;
    saga_step_t step = oldest_running(s);
    if (step == SAGA_STEP_NONE)
        return NULL;
    int64_t left = s->since_ms[step] + s->stuck_after_ms - tc_wf_now_ms(ctx);
    if (left <= 0) {
        set_stuck(ctx, s, wid, step);
        return NULL;
    }
    tc_wf_detached_begin(ctx);
    tc_future *t = tc_wf_timer_start(ctx, left);
    tc_wf_detached_end(ctx);
    return t;
}

/* ---- the loop --------------------------------------------------------------------------- */

/* A cancel request, at its place in history: the machine takes it before the pivot (the step
 * running finishes, then the compensations run) or records nothing and the saga goes on. */
static void on_cancel(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid, saga_actions_t *acts)
{
    memset(acts, 0, sizeof *acts);
    bool taken = saga_machine_cancel(&s->m, acts);
    if (!taken)
        s->cancel_ignored = 1;
    if (!tc_wf_is_replaying(ctx))
        log_info("workflow %s: cancel requested at %s (%s): %s", wid,
                 saga_step_activity(saga_machine_step(&s->m)), saga_phase_status(s->m.phase),
                 taken ? "the saga stops and compensates" : "too late, ignored");
}

/* Runs the machine's actions: each step's activity is scheduled as soon as the machine asks
 * for it (the confirms together), and the outcomes are fed back in the order the machine asked
 * for the steps, waiting for the oldest in flight - or for the run's cancel request or the
 * stuck timer, whichever history resolves first. */
static void drive(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid, saga_actions_t *acts)
{
    saga_step_t queue[2 * SAGA_STEP_COUNT];
    tc_future *running[2 * SAGA_STEP_COUNT];
    int head = 0, tail = 0;
    tc_future *cancel = s->v2 ? tc_wf_cancellation(ctx) : NULL;
    tc_future *timer = NULL;
    for (;;) {
        for (int i = 0; i < acts->nrun && tail < (int)(sizeof queue / sizeof queue[0]); i++) {
            queue[tail] = acts->run[i].step;
            running[tail] = start_step(ctx, s, wid, queue[tail]);
            tail++;
        }
        if (acts->finished) {
            if (timer != NULL && s->drop_watch)
                tc_future_cancel(ctx, timer); /* unsent: dropped; sent: CancelTimer */
            finish(ctx, s, wid);
            return;
        }
        if (head == tail)
            return; /* nothing in flight and not finished: the machine asked for nothing */
        if (timer == NULL)
            timer = watch_stuck(ctx, s, wid);
        live_state(ctx, s, wid); /* settled until the next outcome */
        tc_future *set[3] = {running[head]};
        size_t n = 1, picked = 0;
        if (cancel != NULL)
            set[n++] = cancel;
        if (timer != NULL)
            set[n++] = timer;
        if (n > 1 && tc_wf_wait_any(ctx, set, n, &picked) != TC_OK)
            return; /* unwinding */
        if (set[picked] == cancel) {
            cancel = NULL; /* one request is enough: the server records later ones only */
            on_cancel(ctx, s, wid, acts);
            continue;
        }
        if (set[picked] == timer) {
            memset(acts, 0, sizeof *acts);    /* the machine asked for nothing new */
            timer = watch_stuck(ctx, s, wid); /* flags the step, or re-arms for the next */
            continue;
        }
        saga_outcome_t o;
        memset(acts, 0, sizeof *acts);
        if (!step_outcome(ctx, s, running[head], queue[head], &o))
            return;
        head++;
        s->since_ms[o.step] = 0;
        if (!tc_wf_is_replaying(ctx))
            ot_live_retry_end(wid, o.step);
        if (s->stuck && s->stuck_step == o.step)
            set_stuck(ctx, s, wid, SAGA_STEP_NONE);
        saga_machine_advance(&s->m, &o, acts);
        note(ctx, wid, &o, acts->verdict);
    }
}

/* What a new run records once (a SideEffect marker): the worker's activity mode and stuck
 * threshold, so a replay on a worker configured otherwise takes the same path. A local run
 * also records dropWatch: its end cancels the stuck timer. A saga whose local steps all end in
 * its first workflow task so sends neither StartTimer nor CancelTimer (the SDK drops a timer
 * cancelled before it went out): no TimerStarted event, and no timer task for the server to
 * store and fire on a closed run a minute later. Runs recorded without it keep their timer, so
 * their histories replay as they were written; a remote run's timer went out with its first
 * activity, and cancelling it would only add an event. */
static char *run_options(void *arg)
{
    (void)arg;
    char *out = malloc(112);
    bool local = g_opt.mode == OT_MODE_LOCAL;
    if (out != NULL)
        snprintf(out, 112, "{\"mode\":\"%s\",\"stuckAfterMs\":%lld%s}", local ? "local" : "remote",
                 (long long)g_opt.stuck_after_ms, local ? ",\"dropWatch\":true" : "");
    return out;
}

static void read_run_options(tc_wf_ctx *ctx, ot_wf_state *s)
{
    const char *json = NULL;
    if (tc_wf_side_effect(ctx, run_options, NULL, &json) != TC_OK || json == NULL)
        tc_wf_panic(ctx, "no memory for the run options");
    json_t *o = json_loads(json, 0, NULL);
    json_t *mode = json_object_get(o, "mode");
    json_t *after = json_object_get(o, "stuckAfterMs");
    s->local = json_is_string(mode) && strcmp(json_string_value(mode), "local") == 0;
    s->drop_watch = json_is_true(json_object_get(o, "dropWatch"));
    s->stuck_after_ms = json_is_integer(after) && json_integer_value(after) > 0
                            ? (int64_t)json_integer_value(after)
                            : 60000;
    json_decref(o);
}

void ot_order_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    ot_wf_state *s = state;
    const char *wid = tc_wf_workflow_id(ctx);
    const char *input = tc_wf_input(ctx, 0);
    saga_error_t perr;
    saga_actions_t acts;

    s->v2 = tc_wf_patched(ctx, OT_PATCH_V2);
    if (s->v2)
        read_run_options(ctx, s);
    else /* a run from before the patch: a cancel request changes nothing, as it did then */
        tc_wf_detached_begin(ctx);
    saga_machine_init(&s->m, NULL);
    if (input == NULL || saga_input_parse(input, strlen(input), &s->in, &perr) != SAGA_OK) {
        /* Bad input from a CLI or SDK client: the saga ends before it starts. */
        saga_machine_refuse(&s->m, input == NULL ? "workflow input is missing" : perr.message,
                            &acts);
        finish(ctx, s, wid);
        return;
    }
    s->has_input = 1;
    saga_machine_resume(&s->m, &acts);
    drive(ctx, s, wid, &acts);
    if (!s->finished && !tc_wf_is_replaying(ctx))
        ot_live_forget(wid); /* unwound: the run left this worker */
}

int ot_query_state(const void *state, const char *const *args, size_t n_args, void *user,
                   char **result_json, tc_error *err)
{
    (void)args;
    (void)n_args;
    (void)user;
    const ot_wf_state *s = state;
    saga_step_t stack[SAGA_STEP_COUNT];
    int n = saga_machine_stack(&s->m, stack, SAGA_STEP_COUNT);
    saga_step_t step = saga_machine_step(&s->m);
    json_t *o = json_object();
    json_t *comp = json_array();
    char error[SAGA_TYPE_MAX + SAGA_ERRMSG_MAX + 8];
    if (o == NULL || comp == NULL)
        goto nomem;
    for (int i = 0; i < n; i++) /* top first: the order they would run in */
        json_array_append_new(comp, json_string(saga_step_activity(stack[i])));
    json_object_set_new(
        o, "step", step == SAGA_STEP_NONE ? json_null() : json_string(saga_step_activity(step)));
    json_object_set_new(o, "phase", json_string(saga_phase_status(s->m.phase)));
    json_object_set_new(o, "compensationStack", comp);
    comp = NULL;
    json_object_set_new(o, "orderId",
                        s->st.order_id > 0 ? json_integer(s->st.order_id) : json_null());
    json_object_set_new(o, "paymentId",
                        s->st.payment_id > 0 ? json_integer(s->st.payment_id) : json_null());
    if (s->m.error_type[0]) {
        snprintf(error, sizeof error, "%s: %s", s->m.error_type, s->m.error_message);
        json_object_set_new(o, "error", json_string(error));
    }
    saga_machine_t probe = s->m; /* would a cancel take effect now? (pure, on a copy) */
    saga_actions_t ignored;
    json_object_set_new(
        o, "cancellable",
        json_boolean(s->v2 && !s->finished && saga_machine_cancel(&probe, &ignored)));
    json_object_set_new(o, "cancelRequested", json_boolean(s->m.cancel_requested));
    json_object_set_new(o, "cancelIgnored", json_boolean(s->cancel_ignored));
    if (s->v2) {
        json_object_set_new(o, "activityMode", json_string(s->local ? "local" : "remote"));
        json_object_set_new(o, "stuck", json_boolean(s->stuck));
        /* since when the current step runs (workflow time of the task that started it) */
        if (step != SAGA_STEP_NONE && step < SAGA_STEP_COUNT && s->since_ms[step] > 0)
            json_object_set_new(o, "stepSince", json_integer(s->since_ms[step]));
    }
    if (s->has_input) {
        char *in = saga_input_json(&s->in);
        json_t *v = in != NULL ? json_loads(in, 0, NULL) : NULL;
        free(in);
        json_object_set_new(o, "input", v != NULL ? v : json_null());
    }
    *result_json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (*result_json == NULL)
        goto nomem_done;
    return TC_OK;
nomem:
    json_decref(o);
    json_decref(comp);
nomem_done:
    if (err != NULL) {
        err->code = TC_ERR_NOMEM;
        snprintf(err->text, sizeof err->text, "out of memory building getState");
    }
    return TC_ERR_NOMEM;
}
