/* test_temporal_local_stack.c - local activities against the dev server (scripts/stack up): a
 * seven-step workflow in one workflow task, local retries, a durable backoff timer, workflow
 * task heartbeats past the task timeout, timeouts, the three cancel modes, replay of what was
 * recorded, a type the worker lacks, and a worker that runs no remote activities. */
#include "local_activity.h"
#include "la_workflows.h"
#include "tc_test_util.h"
#include "test_workflows.h"

#include <stdatomic.h>

#include "temporal/api/enums/v1/event_type.pb-c.h"

#define EV(x) TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_##x

static tc_client *g_client;
static const char *g_gola; /* the Go SDK program of tests/temporal/gola (its -replay mode) */
static tc_worker *g_worker;
static char g_queue[128];

/* ---- activities ---- */

static atomic_int n_echo, n_flaky, n_slow;

static void act_echo(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    atomic_fetch_add(&n_echo, 1);
    tc_activity_complete(ctx, tc_activity_input(ctx, 0));
}

/* Fails until the attempt given as its (number) input, 3 by default (Transient), then returns
 * the attempt number. */
static void act_flaky(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    const char *in = tc_activity_input(ctx, 0);
    int until = in && *in >= '0' && *in <= '9' ? atoi(in) : 3;
    atomic_fetch_add(&n_flaky, 1);
    tw_fail_until(ctx, until);
}

static void act_refuse(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_fail(ctx, "OutOfStock", "no stock left", true);
}

/* Runs for the number of milliseconds in its input, heartbeating every 20 ms; acknowledges a
 * cancellation ("cancelled" result of the report), else returns "slept". */
static void act_slow(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    atomic_fetch_add(&n_slow, 1);
    int ms = atoi(tc_activity_input(ctx, 0) ? tc_activity_input(ctx, 0) : "0");
    for (int t = 0; t < ms; t += 20) {
        tc_error err = {0};
        if (tc_activity_heartbeat(ctx, NULL, &err) == TC_ERR_CANCELLED) {
            tc_activity_report_cancelled(ctx);
            return;
        }
        tt_sleep_ms(20);
    }
    tc_activity_complete(ctx, "\"slept\"");
}

/* ---- workflows ---- */

static const char *input_or(tc_wf_ctx *ctx, const char *def)
{
    const char *in = tc_wf_input(ctx, 0);
    return in ? in : def;
}

/* Seven: seven Echo local activities one after the other (a saga's shape). */
static void wf_seven(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_local_activity_options o = {.start_to_close_ms = 5000};
    char out[512] = "[";
    for (int i = 0; i < 7; i++) {
        char in[16];
        tc_wf_result r;
        snprintf(in, sizeof in, "%d", i);
        if (tc_wf_local_activity(ctx, "Echo", in, &o, &r) != TC_OK) {
            tc_wf_fail(ctx, r.failure_type, r.failure_message, true);
            return;
        }
        strcat(out, i ? "," : "");
        strcat(out, r.result_json);
    }
    strcat(out, "]");
    tc_wf_complete(ctx, out);
}

/* One: one local activity whose type is the input string; options by type. Completes with
 * {"ok":true,"result":..} or {"ok":false,"type":..,"msg":..}. */
static void wf_one(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    char type[64] = "";
    const char *in = input_or(ctx, "\"Echo\"");
    sscanf(in, "\"%63[^\"]\"", type);
    tc_retry_policy rp = {
        .initial_interval_ms = 50, .backoff_coefficient = 1.0, .maximum_attempts = 5};
    tc_local_activity_options o = {.start_to_close_ms = 5000, .retry = &rp};
    const char *arg = "\"x\"";
    if (strcmp(type, "FlakyTimer") == 0) {
        /* a backoff (1 s) above the threshold (200 ms): durable timers between attempts */
        rp.initial_interval_ms = 1000;
        o.local_retry_threshold_ms = 200;
        snprintf(type, sizeof type, "Flaky");
    } else if (strcmp(type, "SlowTimeout") == 0) {
        rp.maximum_attempts = 2;
        o.start_to_close_ms = 300;
        arg = "3000";
        snprintf(type, sizeof type, "Slow");
    } else if (strcmp(type, "SlowLong") == 0) {
        o.start_to_close_ms = 10000;
        arg = "3000";
        snprintf(type, sizeof type, "Slow");
    }
    tc_wf_result r;
    int rc = tc_wf_local_activity(ctx, type, arg, &o, &r);
    tw_complete_outcome(ctx, rc, &r);
}

/* CancelLA: Slow(10 s) in the mode given as input (0 try, 1 wait, 2 abandon); signal
 * "cancel" cancels it; completes with "cancelled" / "not cancelled". */
static void wf_cancel_la(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_local_activity_options o = {.start_to_close_ms = 20000,
                                   .cancel_mode =
                                       (tc_activity_cancel_mode)atoi(input_or(ctx, "0"))};
    tc_future *f = tc_wf_local_activity_start(ctx, "Slow", "10000", &o);
    if (tc_wf_signal_recv(ctx, "cancel", NULL) != TC_OK)
        return;
    tc_future_cancel(ctx, f);
    int rc = tc_future_get(ctx, f, NULL);
    tc_wf_complete(ctx, rc == TC_ERR_CANCELLED ? "\"cancelled\"" : "\"not cancelled\"");
}

/* A worker on queue; cache_size as tc_worker_options' sticky_cache_size (-1: no cache). */
/* Settle: Slow(1500) as a local activity, settle_before_close when the input is 1, then
 * completes "done". */
static void wf_settle(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_local_activity_options o = {.start_to_close_ms = 10000,
                                   .settle_before_close = atoi(input_or(ctx, "0")) == 1};
    if (tc_wf_local_activity(ctx, "Slow", "1500", &o, NULL) == TC_OK)
        tc_wf_complete(ctx, "\"done\"");
}

static tc_worker *start_worker(const char *queue, bool no_remote, int cache_size)
{
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_worker_options o = {.task_queue = queue,
                           .sticky_schedule_to_start_ms = 2000,
                           .sticky_cache_size = cache_size,
                           .max_concurrent_activities = 8,
                           .no_remote_activities = no_remote};
    if (tc_worker_new(g_client, &o, &w, &err) ||
        tc_worker_register_workflow(w, "Seven", wf_seven, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "One", wf_one, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "CancelLA", wf_cancel_la, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Settle", wf_settle, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "GoLocal", wf_go_local, sizeof(go_local_state), NULL,
                                    &err) ||
        tc_worker_register_activity(w, "Echo", act_echo, NULL, &err) ||
        tc_worker_register_activity(w, "Flaky", act_flaky, NULL, &err) ||
        tc_worker_register_activity(w, "Refuse", act_refuse, NULL, &err) ||
        tc_worker_register_activity(w, "Slow", act_slow, NULL, &err) || tc_worker_start(w, &err))
        fail_msg("worker: %s", err.text);
    return w;
}

/* Starts `type` on queue with input (JSON or NULL), waits for its outcome; *run_id receives
 * the run. */
static void run_wf_on(const char *queue, const char *type, const char *input,
                      int64_t task_timeout_ms, char *wid, size_t wid_cap, char run_id[64],
                      tc_outcome *out)
{
    tc_error err = {0};
    tt_start_with(g_client, queue, type, input, task_timeout_ms, wid, wid_cap, run_id);
    if (tc_workflow_result(g_client, wid, run_id, 60000, out, &err) != TC_OK)
        fail_msg("%s: %s (%s)", type, err.text, out->failure_message ? out->failure_message : "");
}

/* Starts "One" on the shared queue with input and task timeout (0: the server's); returns at
 * once. */
static void start_one(const char *input, int64_t task_timeout_ms, char *wid, size_t wid_cap,
                      char rid[64])
{
    tt_start_with(g_client, g_queue, "One", input, task_timeout_ms, wid, wid_cap, rid);
}

/* run_wf_on the shared queue; the run's result JSON must be want. */
static void run_wf(const char *type, const char *input, int64_t task_timeout_ms, const char *want,
                   char *wid, size_t wid_cap, char run_id[64])
{
    tc_outcome out;
    run_wf_on(g_queue, type, input, task_timeout_ms, wid, wid_cap, run_id, &out);
    assert_string_equal(out.result_json, want);
    tc_outcome_clear(&out);
}

/* ---- tests ---- */

static void seven_fast_local_activities_take_one_workflow_task(void **s)
{
    (void)s;
    char wid[128], rid[64];
    atomic_store(&n_echo, 0);
    run_wf("Seven", NULL, 0, "[0,1,2,3,4,5,6]", wid, sizeof wid, rid);
    tc_history *h = tt_history(g_client, wid, rid);
    /* started, task scheduled/started/completed, 7 markers, completed: as the Go SDK does */
    assert_int_equal(tc_history_length(h), 12);
    assert_int_equal(tt_count_events(h, EV(WORKFLOW_TASK_COMPLETED)), 1);
    assert_int_equal(tt_count_events(h, EV(MARKER_RECORDED)), 7);
    assert_int_equal(tt_count_events(h, EV(ACTIVITY_TASK_SCHEDULED)), 0);
    for (size_t i = 4; i < 11; i++)
        assert_true(tc_la_is_marker(h->events[i]));
    /* replay answers from the markers without running anything */
    int before = atomic_load(&n_echo);
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_seven, NULL, 0, NULL, &err), TC_OK);
    assert_int_equal(atomic_load(&n_echo), before);
    assert_int_equal(before, 7);
    tc_history_free(h);
}

static void local_retries_record_one_marker_with_the_last_attempt(void **s)
{
    (void)s;
    char wid[128], rid[64];
    atomic_store(&n_flaky, 0);
    static const char *const flaky[] = {"activity_type=\"Flaky\"", NULL};
    double runs0 = tt_worker_metric(g_worker, "temporal_local_activity_total", flaky);
    double failed0 = tt_worker_metric(g_worker, "temporal_local_activity_execution_failed", flaky);
    run_wf("One", "\"Flaky\"", 0, "{\"ok\":true,\"result\":3}", wid, sizeof wid, rid);
    assert_int_equal(atomic_load(&n_flaky), 3);
    /* every attempt in the worker's metrics, the two failed ones as failed */
    assert_true(tt_worker_metric(g_worker, "temporal_local_activity_total", flaky) == runs0 + 3);
    assert_true(tt_worker_metric(g_worker, "temporal_local_activity_execution_failed", flaky) ==
                failed0 + 2);
    assert_true(tt_worker_metric(g_worker, "temporal_local_activity_execution_latency_count",
                                 flaky) == runs0 + 3);
    tc_history *h = tt_history(g_client, wid, rid);
    assert_int_equal(tt_count_events(h, EV(MARKER_RECORDED)), 1);
    assert_int_equal(tt_count_events(h, EV(TIMER_STARTED)), 0);
    tc_la_marker m;
    tc_error err;
    long i = tt_find_event(h, EV(MARKER_RECORDED), 0);
    assert_int_equal(tc_la_marker_parse(h->events[i], &m, &err), TC_OK);
    assert_int_equal(m.attempt, 3);
    assert_string_equal(m.activity_type, "Flaky");
    tc_la_marker_clear(&m);
    assert_int_equal(tc_replay_history(h, wf_one, NULL, 0, NULL, &err), TC_OK);
    tc_history_free(h);
}

static void long_backoff_waits_on_durable_timers(void **s)
{
    (void)s;
    char wid[128], rid[64];
    atomic_store(&n_flaky, 0);
    run_wf("One", "\"FlakyTimer\"", 0, "{\"ok\":true,\"result\":3}", wid, sizeof wid, rid);
    tc_history *h = tt_history(g_client, wid, rid);
    /* attempts 1 and 2 failed: each recorded with its backoff, then a 1 s timer */
    assert_int_equal(tt_count_events(h, EV(MARKER_RECORDED)), 3);
    assert_int_equal(tt_count_events(h, EV(TIMER_STARTED)), 2);
    assert_int_equal(tt_count_events(h, EV(TIMER_FIRED)), 2);
    long m1 = tt_find_event(h, EV(MARKER_RECORDED), 0);
    assert_int_equal(tc_history_event_type(h, (size_t)m1 + 1), EV(TIMER_STARTED));
    tc_la_marker m;
    tc_error err;
    assert_int_equal(tc_la_marker_parse(h->events[m1], &m, &err), TC_OK);
    assert_int_equal(m.backoff_ms, 1000);
    assert_int_equal(m.attempt, 1);
    tc_la_marker_clear(&m);
    assert_int_equal(tc_replay_history(h, wf_one, NULL, 0, NULL, &err), TC_OK);
    tc_history_free(h);
}

static void non_retryable_failure_reaches_the_workflow(void **s)
{
    (void)s;
    char wid[128], rid[64];
    run_wf("One", "\"Refuse\"", 0, "{\"ok\":false,\"type\":\"OutOfStock\",\"nr\":true}", wid,
           sizeof wid, rid);
}

static void attempt_timeout_is_a_retryable_timeout(void **s)
{
    (void)s;
    char wid[128], rid[64];
    atomic_store(&n_slow, 0);
    run_wf("One", "\"SlowTimeout\"", 0, "{\"ok\":false,\"type\":\"TimeoutError\",\"nr\":false}",
           wid, sizeof wid, rid);
    assert_int_equal(atomic_load(&n_slow), 2); /* maximum_attempts */
}

static void long_local_activity_heartbeats_the_workflow_task(void **s)
{
    (void)s;
    char wid[128], rid[64];
    /* a 1 s task timeout and a 3 s activity: the task is answered and renewed meanwhile */
    run_wf("One", "\"SlowLong\"", 1000, "{\"ok\":true,\"result\":\"slept\"}", wid, sizeof wid, rid);
    tc_history *h = tt_history(g_client, wid, rid);
    long m = tt_find_event(h, EV(MARKER_RECORDED), 0);
    assert_true(m > 0);
    size_t before = 0;
    for (long i = 0; i < m; i++)
        before += tc_history_event_type(h, (size_t)i) == EV(WORKFLOW_TASK_COMPLETED);
    assert_true(before >= 2);
    assert_int_equal(tt_count_events(h, EV(WORKFLOW_TASK_TIMED_OUT)), 0);
    tc_error err;
    assert_int_equal(tc_replay_history(h, wf_one, NULL, 0, NULL, &err), TC_OK);
    tc_history_free(h);
}

/* While a local activity holds the task open, describe shows the heartbeat chain (a task
 * started after the chain's first was scheduled) and a query waits for the chain: a query with
 * a deadline of its own gives up with TC_ERR_TIMEOUT instead of waiting it out. */
static void describe_shows_the_held_task_and_a_query_deadline_bounds_the_wait(void **s)
{
    (void)s;
    char wid[128], rid[64];
    tc_error err = {0};
    start_one("\"SlowLong\"", 1000, wid, sizeof wid, rid);
    tc_workflow_info info = {0};
    bool chained = false;
    for (int i = 0; i < 100 && !chained; i++) {
        tt_sleep_ms(50);
        TT_OK(tc_workflow_describe_info(g_client, wid, rid, &info, &err));
        chained = info.task_started_ms > 0 && info.task_first_scheduled_ms > 0 &&
                  info.task_first_scheduled_ms < info.task_started_ms - 500;
        tc_workflow_info_clear(&info);
    }
    assert_true(chained);
    char *res = NULL;
    assert_int_equal(
        tc_workflow_query_within(g_client, wid, rid, "__stack_trace", NULL, 1000, &res, &err),
        TC_ERR_TIMEOUT);
    assert_null(res);
    tc_outcome out;
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, &out, &err));
    assert_string_equal(out.result_json, "{\"ok\":true,\"result\":\"slept\"}");
    tc_outcome_clear(&out);
    TT_OK(tc_workflow_describe_info(g_client, wid, rid, &info, &err));
    assert_int_equal(info.task_started_ms, 0); /* closed: no task in flight */
    tc_workflow_info_clear(&info);
}

static void long_local_activity_outlives_heartbeats_without_a_sticky_cache(void **s)
{
    (void)s;
    char queue[128], wid[128], rid[64];
    tc_outcome out;
    /* No cache: the run answering a heartbeat goes on with the task handed back, its attempt
     * still running - not rebuilt from history, which would start the activity again. */
    tt_unique(queue, sizeof queue, "tc-la-nocache");
    tc_worker *w = start_worker(queue, false, -1);
    int before = atomic_load(&n_slow);
    run_wf_on(queue, "One", "\"SlowLong\"", 1000, wid, sizeof wid, rid, &out);
    assert_string_equal(out.result_json, "{\"ok\":true,\"result\":\"slept\"}");
    tc_outcome_clear(&out);
    assert_int_equal(atomic_load(&n_slow) - before, 1);
    tc_history *h = tt_history(g_client, wid, rid);
    assert_true(tt_count_events(h, EV(WORKFLOW_TASK_COMPLETED)) >= 3);
    tc_la_marker m;
    tc_error err;
    long i = tt_find_event(h, EV(MARKER_RECORDED), 0);
    assert_int_equal(tc_la_marker_parse(h->events[i], &m, &err), TC_OK);
    assert_int_equal(m.attempt, 1);
    tc_la_marker_clear(&m);
    tc_history_free(h);
    tc_worker_free(w);
}

/* Starts `type` with input, sends the signal `name` once its Slow attempt runs, and waits for
 * the outcome. */
static void signal_while_slow(const char *type, const char *input, const char *name, char *wid,
                              size_t wid_cap, char rid[64], tc_outcome *out)
{
    tc_error err = {0};
    tt_unique(wid, wid_cap, type);
    tc_start_options so = {
        .workflow_id = wid, .workflow_type = type, .task_queue = g_queue, .input_json = input};
    int before = atomic_load(&n_slow);
    TT_OK(tc_workflow_start(g_client, &so, rid, 64, NULL, &err));
    /* once the attempt runs (it is counted when it starts) */
    for (int i = 0; i < 500 && atomic_load(&n_slow) == before; i++)
        tt_sleep_ms(10);
    TT_OK(tc_workflow_signal(g_client, wid, rid, name, NULL, &err));
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, out, &err));
}

/* A signal arrives while the task that will end the run is running its local activity. The
 * server refuses to close the run with the signal pending (UnhandledCommand) and the task's
 * marker is lost: the activity runs again, after the signal. With settle_before_close the
 * marker is recorded first, the signal after it, and the run closes in the next task. */
static void settle_case(bool settle, int want_runs, int want_failed_tasks)
{
    char wid[128], rid[64];
    tc_error err = {0};
    tc_outcome out;
    int before = atomic_load(&n_slow);
    signal_while_slow("Settle", settle ? "1" : "0", "poke", wid, sizeof wid, rid, &out);
    assert_string_equal(out.result_json, "\"done\"");
    tc_outcome_clear(&out);
    assert_int_equal(atomic_load(&n_slow) - before, want_runs);
    tc_history *h = tt_history(g_client, wid, rid);
    assert_int_equal(tt_count_events(h, TT_EV_WORKFLOW_TASK_FAILED), want_failed_tasks);
    long marker = tt_find_event(h, EV(MARKER_RECORDED), 0);
    long signal = tt_find_event(h, EV(WORKFLOW_EXECUTION_SIGNALED), 0);
    assert_true(marker >= 0 && signal >= 0);
    assert_true(settle ? marker < signal : signal < marker);
    assert_int_equal(tc_replay_history(h, wf_settle, NULL, 0, NULL, &err), TC_OK);
    if (settle) {
        /* Cut while the closing task runs (as a reader of a run still open sees it): the code
         * ended in the task before, and replays without the close recorded yet. */
        size_t n = h->n;
        long second = tt_find_event(h, EV(WORKFLOW_TASK_STARTED), (size_t)signal);
        assert_true(second > signal);
        h->n = (size_t)second + 1;
        assert_int_equal(tc_replay_history(h, wf_settle, NULL, 0, NULL, &err), TC_OK);
        h->n = n;
    }
    tc_history_free(h);
}

static void without_settling_a_signal_during_the_last_task_runs_the_activity_again(void **s)
{
    (void)s;
    settle_case(false, 2, 1);
}

static void settle_before_close_records_the_marker_before_a_signal(void **s)
{
    (void)s;
    settle_case(true, 1, 0);
}

static void cancel_case(int mode, const char *want)
{
    char wid[128], rid[64], in[8];
    tc_error err = {0};
    tc_outcome out;
    snprintf(in, sizeof in, "%d", mode);
    signal_while_slow("CancelLA", in, "cancel", wid, sizeof wid, rid, &out);
    assert_string_equal(out.result_json, want);
    tc_outcome_clear(&out);
    tc_history *h = tt_history(g_client, wid, rid);
    assert_int_equal(tt_count_events(h, EV(ACTIVITY_TASK_SCHEDULED)), 0);
    assert_int_equal(tt_count_events(h, EV(MARKER_RECORDED)), 1);
    assert_int_equal(tc_replay_history(h, wf_cancel_la, NULL, 0, NULL, &err), TC_OK);
    tc_history_free(h);
}

static void try_cancel_resolves_cancelled(void **s)
{
    (void)s;
    cancel_case(TC_CANCEL_TRY, "\"cancelled\"");
}

static void wait_cancel_resolves_after_the_activity_acknowledges(void **s)
{
    (void)s;
    cancel_case(TC_CANCEL_WAIT_COMPLETED, "\"cancelled\"");
}

static void abandon_resolves_cancelled(void **s)
{
    (void)s;
    cancel_case(TC_CANCEL_ABANDON, "\"cancelled\"");
}

static void unregistered_type_fails_the_workflow_task_with_the_reason(void **s)
{
    (void)s;
    char wid[128], rid[64];
    tc_error err = {0};
    start_one("\"Missing\"", 0, wid, sizeof wid, rid);
    tc_history *h = NULL;
    for (int i = 0; i < 100; i++) {
        h = tt_history(g_client, wid, rid);
        if (tt_find_event(h, TT_EV_WORKFLOW_TASK_FAILED, 0) >= 0)
            break;
        tc_history_free(h);
        h = NULL;
        tt_sleep_ms(100);
    }
    assert_non_null(h);
    long f = tt_find_event(h, TT_EV_WORKFLOW_TASK_FAILED, 0);
    const char *msg = h->events[f]->workflow_task_failed_event_attributes->failure->message;
    assert_non_null(strstr(msg, "local activity type Missing is not registered"));
    tc_history_free(h);
    TT_OK(tc_workflow_terminate(g_client, wid, rid, "test done", &err));
}

/* A worker with no_remote_activities runs local activities but polls no activity tasks. */
static void no_remote_worker_runs_local_activities_only(void **s)
{
    (void)s;
    char queue[128];
    tt_unique(queue, sizeof queue, "tc-la-only");
    tc_worker *w = start_worker(queue, true, 0);
    tc_worker_stats st;
    char wid[128], rid[64];
    tc_error err = {0};
    tt_unique(wid, sizeof wid, "Seven");
    tc_start_options so = {.workflow_id = wid, .workflow_type = "Seven", .task_queue = queue};
    TT_OK(tc_workflow_start(g_client, &so, rid, sizeof rid, NULL, &err));
    tc_outcome out;
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, &out, &err));
    assert_string_equal(out.result_json, "[0,1,2,3,4,5,6]");
    tc_outcome_clear(&out);
    tc_worker_get_stats(w, &st);
    assert_int_equal(st.eager_requested, 0);
    tc_worker_free(w);
}

/* The Go SDK's twin workflow, run here: same result, and our history replays on the Go SDK's
 * replayer (markers, their ids and data, the backoff timer). */
static void our_history_replays_on_the_go_sdk(void **s)
{
    (void)s;
    char wid[128], rid[64], path[256], cmd[1024];
    run_wf("GoLocal", NULL, 1000, "\"a|3|2|OutOfStock|x|y\"", wid, sizeof wid, rid);
    tc_history *h = tt_history(g_client, wid, rid);
    assert_int_equal(tt_count_events(h, EV(TIMER_STARTED)), 1);
    tc_error err = {0};
    snprintf(path, sizeof path, "%s/go_local_ours.history.pb",
             getenv("TC_FIXTURE_DIR") ? getenv("TC_FIXTURE_DIR") : ".");
    TT_OK(tc_history_save(h, path, &err));
    tc_history_free(h);
    snprintf(cmd, sizeof cmd, "'%s' -replay '%s'", g_gola, path);
    assert_int_equal(system(cmd), 0);
}

TT_GROUP_FIXTURES("tc-local", start_worker(g_queue, false, 0))

int main(int argc, char **argv)
{
    g_gola = argc > 1 ? argv[1] : "gola";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seven_fast_local_activities_take_one_workflow_task),
        cmocka_unit_test(local_retries_record_one_marker_with_the_last_attempt),
        cmocka_unit_test(long_backoff_waits_on_durable_timers),
        cmocka_unit_test(non_retryable_failure_reaches_the_workflow),
        cmocka_unit_test(attempt_timeout_is_a_retryable_timeout),
        cmocka_unit_test(long_local_activity_heartbeats_the_workflow_task),
        cmocka_unit_test(long_local_activity_outlives_heartbeats_without_a_sticky_cache),
        cmocka_unit_test(describe_shows_the_held_task_and_a_query_deadline_bounds_the_wait),
        cmocka_unit_test(without_settling_a_signal_during_the_last_task_runs_the_activity_again),
        cmocka_unit_test(settle_before_close_records_the_marker_before_a_signal),
        cmocka_unit_test(try_cancel_resolves_cancelled),
        cmocka_unit_test(wait_cancel_resolves_after_the_activity_acknowledges),
        cmocka_unit_test(abandon_resolves_cancelled),
        cmocka_unit_test(unregistered_type_fails_the_workflow_task_with_the_reason),
        cmocka_unit_test(no_remote_worker_runs_local_activities_only),
        cmocka_unit_test(our_history_replays_on_the_go_sdk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
