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

static int64_t g_activity_timeout_ms = 30000; /* set once before the worker starts */

void ot_workflow_configure(int64_t activity_timeout_ms)
{
    if (activity_timeout_ms > 0)
        g_activity_timeout_ms = activity_timeout_ms;
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

/* Schedules the activity of `step`, its input built from what the saga knows now. */
static tc_future *start_step(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid, saga_step_t step)
{
    tc_activity_options opt = {.activity_id = saga_step_key(step), /* each step runs once */
                               .start_to_close_ms = g_activity_timeout_ms};
    opt.retry =
        saga_step_retry_class(step) == SAGA_RETRY_LIMITED ? &k_limited_retry : &k_unlimited_retry;
    char *input = saga_context_json(wid, &s->in, &s->st);
    if (input == NULL) /* out of memory: fail this workflow task (it is retried), not the saga */
        tc_wf_panic(ctx, "no memory for the activity input of %s", saga_step_activity(step));
    tc_future *f = tc_wf_activity_start(ctx, saga_step_activity(step), input, &opt);
    free(input);
    return f;
}

/* Waits for a step's final outcome into *o: a non-retryable failure is a business one; any
 * other failure means the server's retries ended (attempts, timeouts). False when the run is
 * being unwound (evicted): return at once. */
static bool step_outcome(tc_wf_ctx *ctx, ot_wf_state *s, tc_future *f, saga_step_t step,
                         saga_outcome_t *o)
{
    tc_wf_result res;
    int rc = tc_future_get(ctx, f, &res);
    if (rc == TC_ERR_CANCELLED)
        return false;
    *o = (saga_outcome_t){.step = step, .type = res.failure_type, .message = res.failure_message};
    if (rc == TC_OK)
        learn(s, res.result_json);
    else
        o->kind = res.non_retryable ? SAGA_OUT_BUSINESS : SAGA_OUT_EXHAUSTED;
    return true;
}

static void finish(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid)
{
    saga_result_t r = saga_machine_result(&s->m, &s->st);
    char *result = saga_result_json(OT_ID_FIELD, wid, &r, 0);
    s->finished = 1;
    if (result == NULL) {
        tc_wf_fail(ctx, "OutOfMemory", "no memory for the workflow result", false);
        return;
    }
    if (!tc_wf_is_replaying(ctx))
        log_info("workflow %s finished %s %s%s%s", wid, saga_phase_status(s->m.phase),
                 s->m.error_type, s->m.error_type[0] ? ": " : "", s->m.error_message);
    tc_wf_complete(ctx, result);
    free(result);
}

static void note(tc_wf_ctx *ctx, const char *wid, const saga_outcome_t *o, saga_verdict_t v)
{
    if (tc_wf_is_replaying(ctx) || (v != SAGA_V_FAILED && v != SAGA_V_SKIPPED))
        return;
    log_warn("workflow %s: %s %s: %s: %s", wid, saga_step_activity(o->step),
             v == SAGA_V_FAILED ? "failed" : "refused for good, skipped", o->type ? o->type : "",
             o->message ? o->message : "");
}

/* Runs the machine's actions: each step's activity is scheduled as soon as the machine asks
 * for it (the confirms together), and the outcomes are fed back in the order the machine asked
 * for the steps, waiting for the oldest in flight. */
static void drive(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid, saga_actions_t *acts)
{
    saga_step_t queue[2 * SAGA_STEP_COUNT];
    tc_future *running[2 * SAGA_STEP_COUNT];
    int head = 0, tail = 0;
    for (;;) {
        for (int i = 0; i < acts->nrun && tail < (int)(sizeof queue / sizeof queue[0]); i++) {
            queue[tail] = acts->run[i].step;
            running[tail] = start_step(ctx, s, wid, queue[tail]);
            tail++;
        }
        if (acts->finished) {
            finish(ctx, s, wid);
            return;
        }
        if (head == tail)
            return; /* nothing in flight and not finished: the machine asked for nothing */
        saga_outcome_t o;
        memset(acts, 0, sizeof *acts);
        if (!step_outcome(ctx, s, running[head], queue[head], &o))
            return;
        head++;
        saga_machine_advance(&s->m, &o, acts);
        note(ctx, wid, &o, acts->verdict);
    }
}

void ot_order_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    ot_wf_state *s = state;
    const char *wid = tc_wf_workflow_id(ctx);
    const char *input = tc_wf_input(ctx, 0);
    saga_error_t perr;
    saga_actions_t acts;

    /* A cancel request changes nothing here yet (as before this runtime): the saga runs in a
     * section the run's cancellation does not reach. */
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
