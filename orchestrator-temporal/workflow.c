/* workflow.c - OrderWorkflow: the order saga as a Temporal workflow, plus its getState query.
 * Re-executed from the start on every workflow task, so it must stay deterministic: it reads only
 * its input and the activity results the runtime hands back - no clock, no I/O, no globals but
 * the options fixed before the worker starts. */
#include "ot.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_log.h"

/* Business failures end the step at once (DESIGN: non_retryable_error_types). */
static const char *const k_non_retryable[] = {
    SAGA_TYPE_INVALID_REQUEST,    SAGA_TYPE_OUT_OF_STOCK,          SAGA_TYPE_INSUFFICIENT_BALANCE,
    SAGA_TYPE_ILLEGAL_TRANSITION, SAGA_TYPE_RESERVATION_CANCELLED, NULL};

/* DESIGN retry policy: initial 1 s, coefficient 2, max interval 10 s; forward steps 3 attempts,
 * compensations unlimited (0) - they are retried until they succeed. Steps after the pivot
 * (saga_step_after_pivot: the confirms after ApprovePayment) are unlimited too: the payment is
 * approved, the saga can only go forward (docs/saga.md). */
static const tc_retry_policy k_forward_retry = {1000, 2.0, 10000, 3, k_non_retryable};
static const tc_retry_policy k_unlimited_retry = {1000, 2.0, 10000, 0, k_non_retryable};

static int64_t g_activity_timeout_ms = 30000; /* set once before the worker starts */

void ot_workflow_configure(int64_t activity_timeout_ms)
{
    if (activity_timeout_ms > 0)
        g_activity_timeout_ms = activity_timeout_ms;
}

static tc_activity_options step_options(saga_step_t step)
{
    tc_activity_options o = {0};
    o.activity_id = saga_step_key(step); /* unique per run: each step runs at most once */
    o.start_to_close_ms = g_activity_timeout_ms;
    o.retry = saga_step_is_forward(step) && !saga_step_after_pivot(step) ? &k_forward_retry
                                                                         : &k_unlimited_retry;
    return o;
}

/* Takes what a step learned (orderId, paymentId) from its result context. A result we cannot
 * read leaves the state as it was: the next step's input then lacks the id and saga reports it. */
static void learn(ot_wf_state *s, const char *result_json)
{
    char id[SAGA_ID_MAX];
    saga_input_t in;
    saga_state_t st;
    if (result_json == NULL)
        return;
    if (saga_context_parse(result_json, strlen(result_json), id, &in, &st, NULL) != SAGA_OK)
        return;
    if (st.order_id > 0)
        s->st.order_id = st.order_id;
    if (st.payment_id > 0)
        s->st.payment_id = st.payment_id;
}

/* Runs (or finds in history) one step. Returns TC_WF_DONE, TC_WF_ERROR (res filled) or
 * TC_WF_PENDING. */
/* What the activity input of one step is built from, only when the step is scheduled. */
typedef struct step_input {
    tc_wf_ctx *ctx;
    const char *wid;
    const saga_input_t *in;
    const saga_state_t *st;
} step_input;

static char *make_step_input(void *arg)
{
    const step_input *a = arg;
    char *input = saga_context_json(a->wid, a->in, a->st);
    if (input == NULL)
        /* Out of memory: fail this workflow task (it is retried) rather than guess. */
        tc_wf_fail(a->ctx, "OutOfMemory", "no memory for the activity input", false);
    return input;
}

/* The context JSON is built only when the step is scheduled: the workflow function runs from
 * the start on every workflow task, and the steps history already answers need no input. */
static tc_wf_step run_step(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid, const saga_input_t *in,
                           saga_step_t step, tc_wf_result *res)
{
    s->step = step;
    step_input arg = {ctx, wid, in, &s->st};
    tc_activity_options o = step_options(step);
    memset(res, 0, sizeof *res);
    tc_wf_step r =
        tc_wf_activity_lazy(ctx, saga_step_activity(step), make_step_input, &arg, &o, res);
    if (r == TC_WF_DONE)
        learn(s, res->result_json);
    return r;
}

static void finish(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid, int success)
{
    char *result = ot_result_json(wid, success, &s->st, s->error);
    s->step = SAGA_STEP_NONE;
    s->finished = 1;
    s->success = success;
    if (result == NULL) {
        tc_wf_fail(ctx, "OutOfMemory", "no memory for the workflow result", false);
        return;
    }
    if (!tc_wf_is_replaying(ctx))
        log_info("workflow %s finished success=%d %s", wid, success, success ? "" : s->error);
    tc_wf_complete(ctx, result);
    free(result);
}

/* LIFO over the registered compensations. Each is retried by the server until it succeeds; one
 * that can never succeed (IllegalTransition) is logged and skipped so the rest still run. */
static void compensate(tc_wf_ctx *ctx, ot_wf_state *s, const char *wid, const saga_input_t *in)
{
    s->compensating = 1;
    while (s->ncomp > 0) {
        saga_step_t c = s->comp[s->ncomp - 1];
        tc_wf_result res;
        tc_wf_step r = run_step(ctx, s, wid, in, c, &res);
        if (r == TC_WF_PENDING)
            return;
        if (r == TC_WF_ERROR && !tc_wf_is_replaying(ctx))
            log_error("workflow %s: compensation %s gave up: %s: %s", wid, saga_step_activity(c),
                      res.failure_type ? res.failure_type : "",
                      res.failure_message ? res.failure_message : "");
        s->ncomp--;
    }
    finish(ctx, s, wid, 0);
}

void ot_order_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    ot_wf_state *s = state;
    const char *wid = tc_wf_workflow_id(ctx);
    const char *input = tc_wf_input(ctx, 0);
    saga_input_t in;
    saga_error_t perr;
    s->step = SAGA_STEP_NONE;

    if (input == NULL || saga_input_parse(input, strlen(input), &in, &perr) != SAGA_OK) {
        /* Bad input from a CLI or SDK client: a business failure with nothing to undo. */
        snprintf(s->error, sizeof s->error, "%s: %s", SAGA_TYPE_INVALID_REQUEST,
                 input == NULL ? "workflow input is missing" : perr.message);
        finish(ctx, s, wid, 0);
        return;
    }
    s->in = in;
    s->has_input = 1;

    for (saga_step_t step = SAGA_STEP_CREATE_ORDER; step != SAGA_STEP_NONE;
         step = saga_step_next(step)) {
        /* DESIGN: the compensation is registered BEFORE its forward step runs, so a step whose
         * outcome is unknown is still undone. */
        saga_step_t c = saga_step_compensation(step);
        if (c != SAGA_STEP_NONE && s->ncomp < SAGA_FORWARD_COUNT)
            s->comp[s->ncomp++] = c;
        tc_wf_result res;
        tc_wf_step r = run_step(ctx, s, wid, &in, step, &res);
        if (r == TC_WF_PENDING)
            return;
        if (r == TC_WF_ERROR) {
            /* A business failure keeps its type; a step that ran out of attempts (retryable
             * failures, timeouts) is "RetriesExhausted", as in orchestrator-pure. */
            const char *type = res.non_retryable && res.failure_type && res.failure_type[0]
                                   ? res.failure_type
                                   : "RetriesExhausted";
            snprintf(s->error, sizeof s->error, "%s: %s", type,
                     res.failure_message ? res.failure_message : "");
            if (!tc_wf_is_replaying(ctx))
                log_warn("workflow %s: %s failed (%s); compensating", wid, saga_step_activity(step),
                         s->error);
            compensate(ctx, s, wid, &in);
            return;
        }
    }
    finish(ctx, s, wid, 1);
}

static const char *phase_name(const ot_wf_state *s)
{
    if (s->finished)
        return s->success ? "COMPLETED" : "COMPENSATED";
    return s->compensating ? "COMPENSATING" : "RUNNING";
}

int ot_query_state(const void *state, const char *args_json, void *user, char **result_json,
                   tc_error *err)
{
    (void)args_json;
    (void)user;
    const ot_wf_state *s = state;
    json_t *o = json_object();
    json_t *stack = json_array();
    if (o == NULL || stack == NULL)
        goto nomem;
    /* Top of the stack first: the order the compensations would run in. */
    for (int i = s->ncomp - 1; i >= 0; i--)
        json_array_append_new(stack, json_string(saga_step_activity(s->comp[i])));
    const char *step = s->step == SAGA_STEP_NONE ? NULL : saga_step_activity(s->step);
    json_object_set_new(o, "step", step ? json_string(step) : json_null());
    json_object_set_new(o, "phase", json_string(phase_name(s)));
    json_object_set_new(o, "compensationStack", stack);
    stack = NULL;
    json_object_set_new(o, "orderId",
                        s->st.order_id > 0 ? json_integer(s->st.order_id) : json_null());
    json_object_set_new(o, "paymentId",
                        s->st.payment_id > 0 ? json_integer(s->st.payment_id) : json_null());
    if (s->error[0])
        json_object_set_new(o, "error", json_string(s->error));
    if (s->has_input)
        json_object_set_new(
            o, "input",
            json_pack("{s:I,s:I,s:I,s:I,s:s}", "customerId", (json_int_t)s->in.customer_id,
                      "productId", (json_int_t)s->in.product_id, "quantity",
                      (json_int_t)s->in.quantity, "amount", (json_int_t)s->in.amount,
                      "paymentMethod", s->in.payment_method));
    *result_json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (*result_json == NULL)
        goto nomem_done;
    return TC_OK;
nomem:
    json_decref(o);
    json_decref(stack);
nomem_done:
    if (err != NULL) {
        err->code = TC_ERR_NOMEM;
        snprintf(err->text, sizeof err->text, "out of memory building getState");
    }
    return TC_ERR_NOMEM;
}
