/* activity.c - features/activity: the workflows and activities of the activity features, with
 * the upstream names (Go where it exists, else the names docs/features.md gives). */
#include "features.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tc_retry_policy retry_disabled = {.maximum_attempts = 1};

/* ---- activity/basic_no_workflow_timeout ---- */

static void basic_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_result r;
    tc_activity_options o = {.start_to_close_ms = 60000};
    if (tc_wf_activity(ctx, "Echo", NULL, &o, &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    tc_activity_options o2 = {.schedule_to_close_ms = 60000};
    if (tc_wf_activity(ctx, "Echo", NULL, &o2, &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    tc_wf_complete(ctx, r.result_json);
}

static void echo_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, "\"echo\"");
}

/* ---- activity/retry_on_error ---- */

static void retry_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    /* Go retries after 1 ns; the C options count milliseconds. */
    tc_retry_policy retry = {
        .initial_interval_ms = 1, .backoff_coefficient = 1.0, .maximum_attempts = 5};
    tc_activity_options o = {.schedule_to_close_ms = 60000, .retry = &retry};
    tc_future *f = tc_wf_activity_start(ctx, "AlwaysFailActivity", NULL, &o);
    if (tc_future_get(ctx, f, NULL) != TC_OK)
        tc_wf_fail_future(ctx, f); /* the ActivityFailure and its cause, as Go returns it */
}

static void always_fail_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    char msg[64];
    snprintf(msg, sizeof msg, "activity attempt %d failed", tc_activity_attempt(ctx));
    tc_activity_fail(ctx, "", msg, false); /* a plain Go error: no failure type */
}

/* ---- the three cancellation modes ---- */

/* Starts CancellableActivity in the given mode, sleeps 1 ms (a workflow task turnover), cancels
 * it and checks that it resolves as cancelled. Returns false when the run has ended (cancelled,
 * or failed because the activity did not resolve as cancelled). */
static bool start_then_cancel(tc_wf_ctx *ctx, tc_activity_cancel_mode mode)
{
    tc_activity_options o = {.schedule_to_close_ms = 60000,
                             .heartbeat_timeout_ms = 5000,
                             .retry = &retry_disabled,
                             .cancel_mode = mode};
    tc_future *f = tc_wf_activity_start(ctx, "CancellableActivity", NULL, &o);
    if (tc_wf_sleep(ctx, 1) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return false;
    }
    tc_future_cancel(ctx, f);
    int rc = tc_future_get(ctx, f, NULL);
    if (rc != TC_ERR_CANCELLED) {
        feat_fail(ctx, "expected activity cancel error, got: %s", tc_code_name(rc));
        return false;
    }
    return true;
}

/* Signals "activity-result" = result to the activity's workflow, then acknowledges the
 * cancellation (ack_cancel) or completes. */
static void report_to_workflow(tc_activity_ctx *ctx, const char *result, bool ack_cancel)
{
    char *json = feat_json_string(result);
    int rc = json ? feat_signal_own_workflow(ctx, "activity-result", json) : TC_ERR_NOMEM;
    free(json);
    if (rc != TC_OK)
        tc_activity_fail(ctx, "SignalFailed", tc_code_name(rc), false);
    else if (ack_cancel)
        tc_activity_report_cancelled(ctx);
    else
        tc_activity_complete(ctx, NULL);
}

/* Heartbeats every second for up to a minute: "cancelled" once a heartbeat reports the
 * cancellation, "timeout" otherwise. */
static const char *heartbeat_until_cancelled(tc_activity_ctx *ctx)
{
    for (int i = 0; i < 60; i++) {
        feat_sleep_ms(1000);
        tc_error err;
        if (tc_activity_heartbeat(ctx, NULL, &err) == TC_ERR_CANCELLED)
            return "cancelled";
    }
    return "timeout";
}

static void try_cancel_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    if (!start_then_cancel(ctx, TC_CANCEL_TRY))
        return;
    tc_wf_result r;
    if (tc_wf_signal_recv(ctx, "activity-result", &r) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    if (!feat_json_is_string(r.result_json, "cancelled"))
        feat_fail(ctx, "expected activity to get cancelled, got: %s", r.result_json);
}

static void cancellable_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    report_to_workflow(ctx, heartbeat_until_cancelled(ctx), false);
}

/* Wait-cancel: the future resolves only after the activity acknowledged, so the signal it sent
 * before acknowledging is already buffered: take it without blocking. */
static void wait_cancel_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    if (!start_then_cancel(ctx, TC_CANCEL_WAIT_COMPLETED))
        return;
    tc_wf_result r;
    tc_future *sig = tc_wf_signal_next(ctx, "activity-result");
    if (tc_future_ready(sig) && tc_future_get(ctx, sig, &r) == TC_OK) {
        tc_wf_complete(ctx, r.result_json);
        return;
    }
    tc_future_cancel(ctx, sig);
    tc_wf_complete(ctx, "\"\"");
}

static void ack_cancel_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    const char *result = heartbeat_until_cancelled(ctx);
    report_to_workflow(ctx, result, strcmp(result, "cancelled") == 0);
}

/* Abandon: the future resolves as cancelled at once and nothing reaches the server or the
 * activity. The query "cancel-issued" tells the activity when the cancel has happened. */
typedef struct abandon_state {
    bool issued;
} abandon_state;

static int cancel_issued_query(const void *state, const char *const *args, size_t n_args,
                               void *user, char **result_json, tc_error *err)
{
    (void)args, (void)n_args, (void)user, (void)err;
    const abandon_state *st = state;
    *result_json = strdup(st->issued ? "true" : "false");
    return *result_json ? TC_OK : TC_ERR_NOMEM;
}

static void abandon_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    abandon_state *st = state;
    tc_wf_set_query_handler(ctx, "cancel-issued", cancel_issued_query, NULL);
    if (!start_then_cancel(ctx, TC_CANCEL_ABANDON))
        return;
    tc_wf_result r;
    st->issued = true;
    if (tc_wf_signal_recv(ctx, "activity-result", &r) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    tc_wf_complete(ctx, r.result_json);
}

static bool workflow_says_cancel_issued(tc_activity_ctx *ctx)
{
    tc_error err;
    char *res = NULL;
    int rc = tc_workflow_query(feat_client(), tc_activity_workflow_id(ctx), tc_activity_run_id(ctx),
                               "cancel-issued", NULL, &res, &err);
    bool issued = rc == TC_OK && res && strcmp(res, "true") == 0;
    free(res);
    return issued;
}

/* Heartbeats every second; once the workflow has cancelled it, three more heartbeats without a
 * cancellation mean none is coming. */
static void abandoned_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    const char *result = "timeout";
    int after = 0;
    for (int i = 0; i < 60 && after < 3; i++) {
        feat_sleep_ms(1000);
        tc_error err;
        if (tc_activity_heartbeat(ctx, NULL, &err) == TC_ERR_CANCELLED) {
            result = "cancelled";
            break;
        }
        if (after > 0 || workflow_says_cancel_issued(ctx))
            after++;
    }
    if (after >= 3 && strcmp(result, "cancelled") != 0)
        result = "not cancelled";
    report_to_workflow(ctx, result, false);
}

/* ---- activity/heartbeating ---- */

static void heartbeating_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_retry_policy twice = {
        .initial_interval_ms = 1, .backoff_coefficient = 1.0, .maximum_attempts = 2};
    tc_activity_options o = {
        .start_to_close_ms = 60000, .heartbeat_timeout_ms = 5000, .retry = &twice};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "HeartbeatingActivity", NULL, &o, &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    char resumed[32];
    snprintf(resumed, sizeof resumed, "%s", r.result_json);
    tc_activity_options o2 = {
        .start_to_close_ms = 60000, .heartbeat_timeout_ms = 1000, .retry = &retry_disabled};
    int rc = tc_wf_activity(ctx, "NoHeartbeatActivity", NULL, &o2, &r);
    const char *kind = "completed";
    /* The C SDK reports a timeout as failure_type "TimeoutError" without its timeout type; the
     * server's message names it ("activity Heartbeat timeout"). */
    if (rc == TC_ERR_FAILED && r.failure_type && strcmp(r.failure_type, "TimeoutError") == 0 &&
        r.failure_message && strcasestr(r.failure_message, "heartbeat"))
        kind = "heartbeat timeout";
    else if (rc != TC_OK)
        kind = r.failure_message ? r.failure_message : tc_code_name(rc);
    char out[512];
    snprintf(out, sizeof out, "resumed from %s; second activity: %s", resumed, kind);
    feat_complete_json(ctx, json_string(out));
}

/* The heartbeat details the previous attempt recorded (PollActivityTaskQueueResponse.
 * heartbeat_details). SDK gap: tc_activity_ctx has no accessor for them yet, so the retry
 * cannot resume and the feature fails with "resumed from 0". */
static const char *previous_heartbeat_details(const tc_activity_ctx *ctx)
{
    (void)ctx;
    return NULL;
}

static void heartbeating_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    const char *details = previous_heartbeat_details(ctx);
    int start = details ? atoi(details) : 0;
    char buf[32];
    tc_error err;
    if (tc_activity_attempt(ctx) == 1) {
        for (int i = start + 1; i <= start + 3; i++) {
            snprintf(buf, sizeof buf, "%d", i);
            tc_activity_heartbeat(ctx, buf, &err);
        }
        tc_activity_fail(ctx, "", "first attempt fails after recording its progress", false);
        return;
    }
    snprintf(buf, sizeof buf, "%d", start + 1);
    tc_activity_heartbeat(ctx, buf, &err);
    snprintf(buf, sizeof buf, "%d", start);
    tc_activity_complete(ctx, buf);
}

static void no_heartbeat_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    feat_sleep_ms(3000);
    tc_activity_complete(ctx, "\"late\"");
}

/* ---- activity/running_concurrently ---- */

#define CONCURRENT 5

static void concurrent_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_activity_options o = {.start_to_close_ms = 60000};
    tc_future *fs[CONCURRENT];
    for (int i = 0; i < CONCURRENT; i++) {
        char in[32];
        snprintf(in, sizeof in, "\"act-%d\"", i);
        fs[i] = tc_wf_activity_start(ctx, "Echo", in, &o);
    }
    tc_wf_wait_all(ctx, fs, CONCURRENT);
    json_t *out = json_array();
    for (int i = 0; i < CONCURRENT; i++) {
        tc_wf_result r;
        if (tc_future_get(ctx, fs[i], &r) != TC_OK) {
            json_decref(out);
            feat_fail_with(ctx, &r);
            return;
        }
        json_array_append_new(out, json_loads(r.result_json, JSON_DECODE_ANY, NULL));
    }
    feat_complete_json(ctx, out);
}

static void echo_arg_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, tc_activity_input(ctx, 0));
}

/* ---- table ---- */

#define WF(type, fn, state) \
    {                       \
        type, fn, state     \
    }
#define END_WF        \
    {                 \
        NULL, NULL, 0 \
    }
#define END_ACT    \
    {              \
        NULL, NULL \
    }

static const feat_workflow basic_wf[] = {WF("Workflow", basic_workflow, 0), END_WF};
static const feat_activity basic_act[] = {{"Echo", echo_activity}, END_ACT};
static const feat_workflow retry_wf[] = {WF("Workflow", retry_workflow, 0), END_WF};
static const feat_activity retry_act[] = {{"AlwaysFailActivity", always_fail_activity}, END_ACT};
static const feat_workflow try_wf[] = {WF("Workflow", try_cancel_workflow, 0), END_WF};
static const feat_activity try_act[] = {{"CancellableActivity", cancellable_activity}, END_ACT};
static const feat_workflow wait_wf[] = {WF("Workflow", wait_cancel_workflow, 0), END_WF};
static const feat_activity wait_act[] = {{"CancellableActivity", ack_cancel_activity}, END_ACT};
static const feat_workflow abandon_wf[] = {WF("Workflow", abandon_workflow, sizeof(abandon_state)),
                                           END_WF};
static const feat_activity abandon_act[] = {{"CancellableActivity", abandoned_activity}, END_ACT};
static const feat_workflow hb_wf[] = {WF("Workflow", heartbeating_workflow, 0), END_WF};
static const feat_activity hb_act[] = {{"HeartbeatingActivity", heartbeating_activity},
                                       {"NoHeartbeatActivity", no_heartbeat_activity},
                                       END_ACT};
static const feat_workflow conc_wf[] = {WF("Workflow", concurrent_workflow, 0), END_WF};
static const feat_activity conc_act[] = {{"Echo", echo_arg_activity}, END_ACT};

const feature feat_activity_features[] = {
    {"activity/basic_no_workflow_timeout", basic_wf, basic_act},
    {"activity/retry_on_error", retry_wf, retry_act},
    {"activity/cancel_try_cancel", try_wf, try_act},
    {"activity/cancel_wait_cancel", wait_wf, wait_act},
    {"activity/cancel_abandon", abandon_wf, abandon_act},
    {"activity/heartbeating", hb_wf, hb_act},
    {"activity/running_concurrently", conc_wf, conc_act},
    {NULL, NULL, NULL},
};
