/* local_activity.c - features/local_activity (README-only upstream): the workflows and
 * activities of the harness's definitions (tests/features/goworker/local_activity.go), on the C
 * SDK's local activities. */
#include "features.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tc_local_activity_options k_la = {.schedule_to_close_ms = 60000,
                                               .start_to_close_ms = 10000};

/* Runs one local activity with k_la and the retry policy; returns its outcome and fills r. */
static int run_la(tc_wf_ctx *ctx, const char *type, const char *input, const tc_retry_policy *rp,
                  tc_wf_result *r, tc_future **fut)
{
    tc_local_activity_options o = k_la;
    o.retry = rp;
    tc_future *f = tc_wf_local_activity_start(ctx, type, input, &o);
    if (fut)
        *fut = f;
    return tc_future_get(ctx, f, r);
}

/* Completes with the result, or fails with the local activity's failure as Go returns it. */
static void finish_one(tc_wf_ctx *ctx, const char *type, const char *input,
                       const tc_retry_policy *rp)
{
    tc_wf_result r;
    tc_future *f;
    if (run_la(ctx, type, input, rp, &r, &f) == TC_OK)
        tc_wf_complete(ctx, r.result_json);
    else
        tc_wf_fail_future(ctx, f);
}

/* ---- activities ---- */

static void echo_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, tc_activity_input(ctx, 0));
}

static void slow_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    feat_sleep_ms(3000);
    tc_activity_complete(ctx, "\"done\"");
}

static void attempt_message(tc_activity_ctx *ctx, char *msg, size_t cap)
{
    snprintf(msg, cap, "local activity attempt %d failed", tc_activity_attempt(ctx));
}

static void always_fail_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    char msg[64];
    attempt_message(ctx, msg, sizeof msg);
    tc_activity_fail(ctx, "", msg, false); /* a plain error */
}

static void fail_non_retryable(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    char msg[64];
    attempt_message(ctx, msg, sizeof msg);
    tc_activity_fail(ctx, "NonRetryable", msg, true);
}

static void fail_my_error(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    char msg[64];
    attempt_message(ctx, msg, sizeof msg);
    tc_activity_fail(ctx, "MyError", msg, false);
}

static void succeed_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, "\"ok\"");
}

/* Fails until attempt n (user: the n), then "succeeded on attempt n". */
static void succeed_on(tc_activity_ctx *ctx, int n)
{
    char msg[64];
    if (tc_activity_attempt(ctx) < n) {
        snprintf(msg, sizeof msg, "attempt %d failed", tc_activity_attempt(ctx));
        tc_activity_fail(ctx, "", msg, false);
        return;
    }
    snprintf(msg, sizeof msg, "\"succeeded on attempt %d\"", n);
    tc_activity_complete(ctx, msg);
}

static void fail_once(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    succeed_on(ctx, 2);
}

static void fail_twice(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    succeed_on(ctx, 3);
}

/* Waits up to limit_ms for its cancellation (its own "la-started" signal tells the workflow it
 * runs), then signals "activity-result": "cancelled" or "not cancelled". */
static void cancellable(tc_activity_ctx *ctx, int limit_ms)
{
    feat_signal_own_workflow(ctx, "la-started", NULL);
    bool cancelled = false;
    for (int t = 0; t < limit_ms && !cancelled; t += 20) {
        tc_error err = {0};
        cancelled = tc_activity_heartbeat(ctx, NULL, &err) == TC_ERR_CANCELLED;
        if (!cancelled)
            feat_sleep_ms(20);
    }
    feat_signal_own_workflow(ctx, "activity-result",
                             cancelled ? "\"cancelled\"" : "\"not cancelled\"");
    if (cancelled)
        tc_activity_report_cancelled(ctx);
}

static void cancellable_30s(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    cancellable(ctx, 30000);
}

static void cancellable_2s(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    cancellable(ctx, 2000);
}

static void ignores_shutdown(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    if (feat_signal_own_workflow(ctx, "la-started", NULL) != TC_OK) {
        tc_activity_fail(ctx, "Signal", "could not signal la-started", false);
        return;
    }
    feat_sleep_ms(2000);
    tc_activity_complete(ctx, "\"completed after shutdown\"");
}

static void waits_for_cancel(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    if (feat_signal_own_workflow(ctx, "la-started", NULL) != TC_OK) {
        tc_activity_fail(ctx, "Signal", "could not signal la-started", false);
        return;
    }
    for (int t = 0; t < 3000; t += 20) {
        if (tc_activity_cancel_requested(ctx)) {
            tc_activity_report_cancelled(ctx);
            return;
        }
        feat_sleep_ms(20);
    }
    tc_activity_complete(ctx, "\"not cancelled\"");
}

/* ---- workflows ---- */

static const tc_retry_policy no_backoff_5 = {
    .initial_interval_ms = 1, .backoff_coefficient = 1.0, .maximum_attempts = 5};

static void complete_immediately(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    finish_one(ctx, "Echo", "\"la-result\"", NULL);
}

static void complete_eventually(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    finish_one(ctx, "SlowActivity", NULL, NULL);
}

/* Completes with the results of f[0..n) as an array, or fails with the first failure. */
static void complete_with_all(tc_wf_ctx *ctx, tc_future *const *f, int n)
{
    json_t *out = json_array();
    for (int i = 0; i < n; i++) {
        tc_wf_result r;
        if (tc_future_get(ctx, f[i], &r) != TC_OK) {
            json_decref(out);
            tc_wf_fail_future(ctx, f[i]);
            return;
        }
        json_array_append_new(out, json_loads(r.result_json, JSON_DECODE_ANY, NULL));
    }
    feat_complete_json(ctx, out);
}

/* n Echo("la-<i>"): all started first (concurrent) or one after the other (serial). */
static void echoes(tc_wf_ctx *ctx, int n, bool concurrent)
{
    tc_future *f[5];
    for (int i = 0; i < n; i++) {
        char in[16];
        snprintf(in, sizeof in, "\"la-%d\"", i);
        f[i] = tc_wf_local_activity_start(ctx, "Echo", in, &k_la);
        if (!concurrent && tc_future_get(ctx, f[i], NULL) != TC_OK) {
            tc_wf_fail_future(ctx, f[i]);
            return;
        }
    }
    complete_with_all(ctx, f, n);
}

static void concurrent_wf(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    echoes(ctx, 5, true);
}

static void serial_wf(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    echoes(ctx, 3, false);
}

static void retry_on_error(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    finish_one(ctx, "AlwaysFail", NULL, &no_backoff_5);
}

static void non_retryable_from_activity(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    finish_one(ctx, "FailActivity", NULL, &no_backoff_5);
}

static void non_retryable_in_options(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    static const char *const listed[] = {"MyError", NULL};
    tc_retry_policy rp = no_backoff_5;
    rp.non_retryable_error_types = listed;
    finish_one(ctx, "FailActivity", NULL, &rp);
}

static void one_success_one_fail(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_retry_policy rp = {
        .initial_interval_ms = 100, .backoff_coefficient = 1.0, .maximum_attempts = 3};
    tc_local_activity_options o = k_la;
    o.retry = &rp;
    tc_future *f[2] = {tc_wf_local_activity_start(ctx, "Succeed", NULL, &o),
                       tc_wf_local_activity_start(ctx, "FailOnce", NULL, &o)};
    complete_with_all(ctx, f, 2);
}

/* A 2 s backoff above the 1 s workflow task timeout (the default local retry threshold). */
static void backoff_with_persistent_timer(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_retry_policy rp = {
        .initial_interval_ms = 2000, .backoff_coefficient = 1.0, .maximum_attempts = 3};
    finish_one(ctx, "FailTwice", NULL, &rp);
}

/* Starts CancellableActivity in mode, waits for its "la-started" signal, cancels it (except
 * abandon, which only stops waiting), checks that it resolves as cancelled, then completes with
 * the activity's own "activity-result" signal. */
static void la_cancel(tc_wf_ctx *ctx, tc_activity_cancel_mode mode)
{
    static const tc_retry_policy once = {.maximum_attempts = 1};
    tc_local_activity_options o = k_la;
    o.retry = &once;
    o.cancel_mode = mode;
    tc_future *f = tc_wf_local_activity_start(ctx, "CancellableActivity", NULL, &o);
    tc_wf_result r;
    if (tc_wf_signal_recv(ctx, "la-started", NULL) != TC_OK)
        return;
    tc_future_cancel(ctx, f);
    int rc = tc_future_get(ctx, f, NULL);
    if (rc != TC_ERR_CANCELLED) {
        feat_fail(ctx, "expected local activity cancel error, got: %s", tc_code_name(rc));
        return;
    }
    if (tc_wf_signal_recv(ctx, "activity-result", &r) == TC_OK)
        tc_wf_complete(ctx, r.result_json);
}

static void cancel_try(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    la_cancel(ctx, TC_CANCEL_TRY);
}

static void cancel_wait(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    la_cancel(ctx, TC_CANCEL_WAIT_COMPLETED);
}

static void cancel_abandon(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    la_cancel(ctx, TC_CANCEL_ABANDON);
}

/* AlwaysFail backing off 10 s on a durable timer; signal "cancel" cancels it. */
static void cancel_failing(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_retry_policy rp = {
        .initial_interval_ms = 10000, .backoff_coefficient = 1.0, .maximum_attempts = 5};
    tc_local_activity_options o = k_la;
    o.retry = &rp;
    tc_future *f = tc_wf_local_activity_start(ctx, "AlwaysFail", NULL, &o);
    if (tc_wf_signal_recv(ctx, "cancel", NULL) != TC_OK)
        return;
    tc_future_cancel(ctx, f);
    int rc = tc_future_get(ctx, f, NULL);
    if (rc != TC_ERR_CANCELLED)
        feat_fail(ctx, "expected local activity cancel error, got: %s", tc_code_name(rc));
    else
        tc_wf_complete(ctx, "\"cancelled\"");
}

static void complete_after_shutdown(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    finish_one(ctx, "IgnoresShutdown", NULL, NULL);
}

static void shutdown_sends_cancellation(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    finish_one(ctx, "WaitsForCancel", NULL, NULL);
}

/* ---- eager_activity/non_remote_activities_worker ---- */

/* A remote activity on a worker that polls none: it must time out SCHEDULE_TO_START (the
 * server's message names the timeout). */
static void non_remote_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_activity_options o = {.schedule_to_close_ms = 3000};
    tc_wf_result r;
    int rc = tc_wf_activity(ctx, "Dummy", NULL, &o, &r);
    if (rc == TC_OK)
        feat_fail(ctx, "expected activity to time out");
    else if (!r.failure_type || strcmp(r.failure_type, "TimeoutError") != 0)
        feat_fail(ctx, "expected a TimeoutError, got: %s", r.failure_type ? r.failure_type : "");
    else if (!r.failure_message || !strstr(r.failure_message, "ScheduleToStart"))
        feat_fail(ctx, "expected SCHEDULE_TO_START timeout, got: %s", r.failure_message);
}

static void dummy_activity(tc_activity_ctx *ctx, void *user)
{
    (void)ctx, (void)user;
}

/* ---- the table ---- */

#define ONE_WF(name, fn) static const feat_workflow name[] = {{"Workflow", fn, 0}, {NULL, NULL, 0}}
ONE_WF(wf_immediately, complete_immediately);
ONE_WF(wf_eventually, complete_eventually);
ONE_WF(wf_concurrent, concurrent_wf);
ONE_WF(wf_serial, serial_wf);
ONE_WF(wf_retry, retry_on_error);
ONE_WF(wf_nr_activity, non_retryable_from_activity);
ONE_WF(wf_nr_options, non_retryable_in_options);
ONE_WF(wf_one_one, one_success_one_fail);
ONE_WF(wf_backoff, backoff_with_persistent_timer);
ONE_WF(wf_try, cancel_try);
ONE_WF(wf_wait, cancel_wait);
ONE_WF(wf_abandon, cancel_abandon);
ONE_WF(wf_failing, cancel_failing);
ONE_WF(wf_after_shutdown, complete_after_shutdown);
ONE_WF(wf_shutdown_cancels, shutdown_sends_cancellation);

static const feat_activity a_echo[] = {{"Echo", echo_activity}, {NULL, NULL}};
static const feat_activity a_slow[] = {{"SlowActivity", slow_activity}, {NULL, NULL}};
static const feat_activity a_always[] = {{"AlwaysFail", always_fail_activity}, {NULL, NULL}};
static const feat_activity a_nr[] = {{"FailActivity", fail_non_retryable}, {NULL, NULL}};
static const feat_activity a_my_error[] = {{"FailActivity", fail_my_error}, {NULL, NULL}};
static const feat_activity a_one_one[] = {
    {"Succeed", succeed_activity}, {"FailOnce", fail_once}, {NULL, NULL}};
static const feat_activity a_twice[] = {{"FailTwice", fail_twice}, {NULL, NULL}};
static const feat_activity a_cancel30[] = {{"CancellableActivity", cancellable_30s}, {NULL, NULL}};
static const feat_activity a_cancel2[] = {{"CancellableActivity", cancellable_2s}, {NULL, NULL}};
static const feat_activity a_ignores[] = {{"IgnoresShutdown", ignores_shutdown}, {NULL, NULL}};
static const feat_activity a_waits[] = {{"WaitsForCancel", waits_for_cancel}, {NULL, NULL}};

const feature feat_local_activity_features[] = {
    {"local_activity/complete_immediately", wf_immediately, a_echo},
    {"local_activity/complete_eventually", wf_eventually, a_slow},
    {"local_activity/concurrent", wf_concurrent, a_echo},
    {"local_activity/serial", wf_serial, a_echo},
    {"local_activity/retry_on_error", wf_retry, a_always},
    {"local_activity/non_retryable_error_from_activity", wf_nr_activity, a_nr},
    {"local_activity/non_retryable_error_in_options", wf_nr_options, a_my_error},
    {"local_activity/one_success_one_fail", wf_one_one, a_one_one},
    {"local_activity/backoff_with_persistent_timer", wf_backoff, a_twice},
    {"local_activity/cancel_try_cancel", wf_try, a_cancel30},
    {"local_activity/cancel_wait_completed", wf_wait, a_cancel30},
    {"local_activity/cancel_abandon", wf_abandon, a_cancel2},
    {"local_activity/cancel_failing", wf_failing, a_always},
    {"local_activity/complete_after_shutdown", wf_after_shutdown, a_ignores},
    {"local_activity/shutdown_sends_cancellation", wf_shutdown_cancels, a_waits},
    {NULL, NULL, NULL},
};

static const feat_workflow wf_non_remote[] = {{"Workflow", non_remote_workflow, 0},
                                              {NULL, NULL, 0}};
static const feat_activity a_dummy[] = {{"Dummy", dummy_activity}, {NULL, NULL}};

const feature feat_eager_activity_features[] = {
    {"eager_activity/non_remote_activities_worker", wf_non_remote, a_dummy},
    {NULL, NULL, NULL},
};
