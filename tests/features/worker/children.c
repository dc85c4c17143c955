/* children.c - features/child_workflow and the signal features that need a second workflow
 * (signal/child_workflow, signal/signal_with_start, signal/workflow_to_workflow), with the names,
 * inputs and results of the harness's Go reference worker. */
#include "features.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options the reference parents give their child: id "<parent id>-child", a 10 minute
 * execution timeout, a one minute task timeout. */
static tc_child_options child_options(tc_wf_ctx *ctx, char *id, size_t cap)
{
    snprintf(id, cap, "%s-child", tc_wf_workflow_id(ctx));
    tc_child_options o = {
        .workflow_id = id, .execution_timeout_ms = 10 * 60 * 1000, .task_timeout_ms = 60 * 1000};
    return o;
}

/* Completes with the child's result, or fails with its failure (a ChildWorkflowFailure). */
static void finish_with(tc_wf_ctx *ctx, tc_child *ch)
{
    tc_wf_result r;
    if (tc_future_get(ctx, tc_child_result(ch), &r) == TC_OK)
        tc_wf_complete(ctx, r.result_json);
    else
        tc_wf_fail_future(ctx, tc_child_result(ch));
}

/* {"workflowId": ..., "firstExecutionRunId": ..., "result": ...} (result omitted when NULL) */
static json_t *child_info(tc_child *ch, const char *result_json)
{
    json_t *o = json_object();
    json_object_set_new(o, "workflowId", json_string(tc_child_workflow_id(ch)));
    json_object_set_new(o, "firstExecutionRunId", json_string(tc_child_run_id(ch)));
    if (result_json)
        json_object_set_new(o, "result", json_loads(result_json, JSON_DECODE_ANY, NULL));
    return o;
}

/* ---- children ---- */

/* ChildWorkflow of child_workflow/result and start: returns its input. */
static void echo_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_complete(ctx, tc_wf_input(ctx, 0));
}

/* ChildWorkflow of child_workflow/signal and handle: returns the unblock-signal's argument. */
static void unblock_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_result r;
    if (tc_wf_signal_recv(ctx, "unblock-signal", &r) == TC_OK)
        tc_wf_complete(ctx, r.result_json);
    else
        tc_wf_report_cancelled(ctx);
}

/* ChildWorkflow of signal/child_workflow: "<input> <my_signal's argument>". */
static void my_signal_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_result r;
    if (tc_wf_signal_recv(ctx, "my_signal", &r) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    json_t *in = json_loads(tc_wf_input(ctx, 0), JSON_DECODE_ANY, NULL);
    json_t *sig = json_loads(r.result_json, JSON_DECODE_ANY, NULL);
    char out[512];
    snprintf(out, sizeof out, "%s %s", json_string_value(in) ? json_string_value(in) : "",
             json_string_value(sig) ? json_string_value(sig) : "");
    json_decref(in);
    json_decref(sig);
    feat_complete_json(ctx, json_string(out));
}

static void result_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    char id[256];
    tc_child_options o = child_options(ctx, id, sizeof id);
    finish_with(ctx, tc_wf_child_start(ctx, "ChildWorkflow", "\"test\"", &o));
}

/* child_workflow/signal and signal/child_workflow: signal the child, return its result. */
static void signal_parent(tc_wf_ctx *ctx, const char *input, const char *signal, const char *arg)
{
    char id[256];
    tc_child_options o = child_options(ctx, id, sizeof id);
    tc_child *ch = tc_wf_child_start(ctx, "ChildWorkflow", input, &o);
    tc_wf_result r;
    if (tc_future_get(ctx, tc_child_signal(ctx, ch, signal, arg), &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    finish_with(ctx, ch);
}

static void child_signal_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    signal_parent(ctx, NULL, "unblock-signal", "\"unblock\"");
}

static void signal_child_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    signal_parent(ctx, "\"child-wf-arg\"", "my_signal", "\"signal-arg\"");
}

/* child_workflow/start: the child's id and first run id as soon as it started (abandoned when
 * the parent closes). */
static void start_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    char id[256];
    tc_child_options o = child_options(ctx, id, sizeof id);
    o.parent_close_policy = TC_PARENT_CLOSE_ABANDON;
    tc_child *ch = tc_wf_child_start(ctx, "ChildWorkflow", "\"start\"", &o);
    tc_wf_result r;
    if (tc_future_get(ctx, tc_child_started(ch), &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    feat_complete_json(ctx, child_info(ch, NULL));
}

/* child_workflow/handle: signal through the handle, return its id, run id and result. */
static void handle_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    char id[256];
    tc_child_options o = child_options(ctx, id, sizeof id);
    tc_child *ch = tc_wf_child_start(ctx, "ChildWorkflow", NULL, &o);
    tc_wf_result r;
    if (tc_future_get(ctx, tc_child_started(ch), &r) != TC_OK ||
        tc_future_get(ctx, tc_child_signal(ctx, ch, "unblock-signal", "\"handle\""), &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    if (tc_future_get(ctx, tc_child_result(ch), &r) != TC_OK) {
        tc_wf_fail_future(ctx, tc_child_result(ch));
        return;
    }
    feat_complete_json(ctx, child_info(ch, r.result_json));
}

/* child_workflow/retry: a child that fails on every attempt, retried three times. */
static void failing_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    char msg[64];
    snprintf(msg, sizeof msg, "child attempt %d failed", tc_wf_attempt(ctx));
    tc_wf_fail(ctx, "Error", msg, false);
}

static void retry_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    char id[256];
    tc_child_options o = child_options(ctx, id, sizeof id);
    tc_retry_policy rp = {
        .initial_interval_ms = 1, .backoff_coefficient = 1, .maximum_attempts = 3};
    o.retry = &rp;
    finish_with(ctx, tc_wf_child_start(ctx, "ChildWorkflow", NULL, &o));
}

/* child_workflow/throws_on_execute (PHP): the child's non-retryable failure with details
 * reaches MainWorkflow's caller whole. */
static void throwing_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_failure f = {.type = "TestError",
                    .message = "Test message",
                    .non_retryable = true,
                    .details_json = "{\"foo\":\"bar\"}"};
    tc_wf_fail_failure(ctx, &f);
}

static void throws_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    char id[256];
    tc_child_options o = child_options(ctx, id, sizeof id);
    finish_with(ctx, tc_wf_child_start(ctx, "ChildWorkflow", NULL, &o));
}

/* child_workflow/throws_on_start: the same child id again with REJECT_DUPLICATE. */
static void start_twice_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    char id[256];
    tc_child_options o = child_options(ctx, id, sizeof id);
    tc_wf_result r;
    tc_child *first = tc_wf_child_start(ctx, "ChildWorkflow", "\"first\"", &o);
    if (tc_future_get(ctx, tc_child_result(first), &r) != TC_OK) {
        tc_wf_fail_future(ctx, tc_child_result(first));
        return;
    }
    o.id_reuse_policy = TC_REUSE_REJECT_DUPLICATE;
    tc_child *second = tc_wf_child_start(ctx, "ChildWorkflow", "\"second\"", &o);
    int rc = tc_future_get(ctx, tc_child_started(second), &r);
    char out[512];
    if (rc == TC_ERR_FAILED && strcmp(r.failure_type, "WorkflowExecutionAlreadyStarted") == 0)
        snprintf(out, sizeof out, "second start: already started");
    else
        snprintf(out, sizeof out, "second start: %s %s", tc_code_name(rc),
                 r.failure_message ? r.failure_message : "");
    feat_complete_json(ctx, json_string(out));
}

/* A child blocked until its "finish" signal. */
static void finish_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    if (tc_wf_signal_recv(ctx, "finish", NULL) == TC_OK)
        tc_wf_complete(ctx, "\"finished\"");
    else
        tc_wf_report_cancelled(ctx);
}

/* child_workflow/throws_on_termination: query "child" tells the harness which run to
 * terminate; the parent reports the termination it sees. */
typedef struct terminated_state {
    char info[512]; /* the child's {"workflowId","firstExecutionRunId"}, "" before it started */
} terminated_state;

static int child_query(const void *state, const char *const *args, size_t n_args, void *user,
                       char **result_json, tc_error *err)
{
    (void)args, (void)n_args, (void)user, (void)err;
    const terminated_state *st = state;
    *result_json = strdup(st->info[0] ? st->info : "{}");
    return *result_json ? TC_OK : TC_ERR_NOMEM;
}

static void terminated_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    terminated_state *st = state;
    tc_wf_set_query_handler(ctx, "child", child_query, NULL);
    char id[256];
    tc_child_options o = child_options(ctx, id, sizeof id);
    tc_child *ch = tc_wf_child_start(ctx, "ChildWorkflow", NULL, &o);
    tc_wf_result r;
    if (tc_future_get(ctx, tc_child_started(ch), &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    json_t *info = child_info(ch, NULL);
    char *s = json_dumps(info, JSON_COMPACT);
    json_decref(info);
    snprintf(st->info, sizeof st->info, "%s", s ? s : "");
    free(s);
    int rc = tc_future_get(ctx, tc_child_result(ch), &r);
    char out[512];
    if (rc == TC_ERR_FAILED && strcmp(r.failure_type, "TerminatedError") == 0)
        snprintf(out, sizeof out, "terminated");
    else
        snprintf(out, sizeof out, "child result error: %s", tc_code_name(rc));
    feat_complete_json(ctx, json_string(out));
}

/* child_workflow/throws_on_timeout: a child with a 1 ms execution timeout, never retried. */
static void timeout_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    char id[256];
    tc_child_options o = child_options(ctx, id, sizeof id);
    tc_retry_policy once = {.maximum_attempts = 1};
    o.execution_timeout_ms = 1;
    o.retry = &once;
    tc_child *ch = tc_wf_child_start(ctx, "ChildWorkflow", NULL, &o);
    tc_wf_result r;
    int rc = tc_future_get(ctx, tc_child_result(ch), &r);
    char out[512];
    if (rc == TC_ERR_FAILED && strcmp(r.failure_type, "TimeoutError") == 0)
        snprintf(out, sizeof out, "timeout");
    else
        snprintf(out, sizeof out, "child result error: %s", tc_code_name(rc));
    feat_complete_json(ctx, json_string(out));
}

/* ---- the four cancellation types ---- */

/* ChildWorkflow of the cancel features: "finish" -> "finished"; cancelled (the run's cancellation
 * withdraws the signal wait) -> CANCELED, or (user non-NULL: wait_completed) "child ignored
 * cancellation". */
static void cancellable_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    if (tc_wf_signal_recv(ctx, "finish", NULL) == TC_OK)
        tc_wf_complete(ctx, "\"finished\"");
    else if (user)
        tc_wf_complete(ctx, "\"child ignored cancellation\"");
    else
        tc_wf_report_cancelled(ctx);
}

static void cancel_parent(tc_wf_ctx *ctx, tc_child_cancel_mode mode)
{
    char id[256];
    tc_child_options o = child_options(ctx, id, sizeof id);
    o.parent_close_policy = TC_PARENT_CLOSE_ABANDON;
    o.cancel_mode = mode;
    tc_child *ch = tc_wf_child_start(ctx, "ChildWorkflow", NULL, &o);
    tc_wf_result r;
    if (tc_future_get(ctx, tc_child_started(ch), &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    tc_future_cancel(ctx, tc_child_result(ch));
    if (mode == TC_CHILD_CANCEL_TRY) {
        /* Resolved at once: a timer in this task shows it; a cancel request is delivered only
         * while the parent is open, so it waits for the harness's "finish". */
        bool at_once = tc_future_ready(tc_child_result(ch));
        if (tc_wf_sleep(ctx, 1) != TC_OK || !at_once ||
            tc_wf_signal_recv(ctx, "finish", NULL) != TC_OK)
            return;
    }
    int rc = tc_future_get(ctx, tc_child_result(ch), &r);
    if (rc == TC_ERR_CANCELLED)
        feat_complete_json(ctx, json_string("cancelled"));
    else if (rc == TC_OK)
        tc_wf_complete(ctx, r.result_json);
    else
        tc_wf_fail_future(ctx, tc_child_result(ch));
}

#define CANCEL_PARENT(name, mode)                             \
    static void name(tc_wf_ctx *ctx, void *state, void *user) \
    {                                                         \
        (void)state, (void)user;                              \
        cancel_parent(ctx, mode);                             \
    }
CANCEL_PARENT(cancel_try_parent, TC_CHILD_CANCEL_TRY)
CANCEL_PARENT(cancel_abandon_parent, TC_CHILD_CANCEL_ABANDON)
CANCEL_PARENT(cancel_wait_completed_parent, TC_CHILD_CANCEL_WAIT_COMPLETED)
CANCEL_PARENT(cancel_wait_requested_parent, TC_CHILD_CANCEL_WAIT_REQUESTED)
#undef CANCEL_PARENT

static void stubborn_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    cancellable_child(ctx, state, (void *)1);
}

static void plain_cancellable_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    cancellable_child(ctx, state, NULL);
}

/* ---- signals between workflows ---- */

/* signal/signal_with_start: its input plus the first two "add" signals. */
static void add_signals_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    long total = strtol(tc_wf_input(ctx, 0) ? tc_wf_input(ctx, 0) : "0", NULL, 10);
    for (int i = 0; i < 2; i++) {
        tc_wf_result r;
        if (tc_wf_signal_recv(ctx, "add", &r) != TC_OK) {
            tc_wf_report_cancelled(ctx);
            return;
        }
        total += strtol(r.result_json, NULL, 10);
    }
    feat_complete_json(ctx, json_integer(total));
}

/* signal/workflow_to_workflow: the sender signals the receiver whose id is its input. */
static void sender_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    json_t *in = json_loads(tc_wf_input(ctx, 0), JSON_DECODE_ANY, NULL);
    const char *receiver = json_string_value(in);
    tc_wf_result r;
    if (!receiver)
        feat_fail(ctx, "the receiver's workflow id is missing");
    else if (tc_future_get(
                 ctx,
                 tc_wf_signal_external(ctx, receiver, NULL, "my_signal", "\"hello from sender\""),
                 &r) != TC_OK)
        feat_fail_with(ctx, &r);
    else
        tc_wf_complete(ctx, NULL);
    json_decref(in);
}

static void receiver_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_result r;
    if (tc_wf_signal_recv(ctx, "my_signal", &r) == TC_OK)
        tc_wf_complete(ctx, r.result_json);
    else
        tc_wf_report_cancelled(ctx);
}

#define PARENT_AND(parent_fn, child_fn)                             \
    (const feat_workflow[])                                         \
    {                                                               \
        {"Workflow", parent_fn, 0}, {"ChildWorkflow", child_fn, 0}, \
        {                                                           \
            NULL, NULL, 0                                           \
        }                                                           \
    }

const feature feat_children_features[] = {
    {"child_workflow/result", PARENT_AND(result_parent, echo_child), NULL},
    {"child_workflow/signal", PARENT_AND(child_signal_parent, unblock_child), NULL},
    {"signal/child_workflow", PARENT_AND(signal_child_parent, my_signal_child), NULL},
    {"child_workflow/start", PARENT_AND(start_parent, echo_child), NULL},
    {"child_workflow/handle", PARENT_AND(handle_parent, unblock_child), NULL},
    {"child_workflow/retry", PARENT_AND(retry_parent, failing_child), NULL},
    {"child_workflow/throws_on_execute",
     (const feat_workflow[]){
         {"MainWorkflow", throws_parent, 0}, {"ChildWorkflow", throwing_child, 0}, {NULL, NULL, 0}},
     NULL},
    {"child_workflow/throws_on_start", PARENT_AND(start_twice_parent, echo_child), NULL},
    {"child_workflow/throws_on_termination",
     (const feat_workflow[]){{"Workflow", terminated_parent, sizeof(terminated_state)},
                             {"ChildWorkflow", finish_child, 0},
                             {NULL, NULL, 0}},
     NULL},
    {"child_workflow/throws_on_timeout", PARENT_AND(timeout_parent, finish_child), NULL},
    {"child_workflow/cancel_try_cancel", PARENT_AND(cancel_try_parent, plain_cancellable_child),
     NULL},
    {"child_workflow/cancel_abandon", PARENT_AND(cancel_abandon_parent, plain_cancellable_child),
     NULL},
    {"child_workflow/cancel_wait_completed",
     PARENT_AND(cancel_wait_completed_parent, stubborn_child), NULL},
    {"child_workflow/cancel_wait_requested",
     PARENT_AND(cancel_wait_requested_parent, plain_cancellable_child), NULL},
    {"signal/signal_with_start",
     (const feat_workflow[]){{"Workflow", add_signals_workflow, 0}, {NULL, NULL, 0}}, NULL},
    {"signal/workflow_to_workflow",
     (const feat_workflow[]){{"Workflow", sender_workflow, 0},
                             {"ReceiverWorkflow", receiver_workflow, 0},
                             {NULL, NULL, 0}},
     NULL},
    {NULL, NULL, NULL},
};
