/* test_temporal_worker_stack.c - the worker's operations against the dev server: throttled
 * heartbeats (one call for a burst, the latest details sent when the interval ends, a failure
 * carrying the latest details to the next attempt), asynchronous completion through the client
 * by task token and by ids (and its bad input), the graceful stop (activities told, then
 * cancelled), the stop protocol on private dev servers with and without the namespace
 * capability workerPollCompleteOnShutdown, and the worker's metrics (calls, polls, tasks, custom
 * metrics not counted twice on replay). argv[1]: the temporal CLI. */
#include "tc_devserver.h"
#include "temporal_internal.h"

#include <pthread.h>
#include <stdatomic.h>

static const char *g_cli;
static tc_worker *g_w; /* the worker of the running test (its activities read its metrics) */

/* ---- helpers ---- */

static tc_worker *start_worker(tc_client *c, const char *queue, const tc_worker_options *extra,
                               const char *wf_type, tc_workflow_fn wf, const char *const *act_types,
                               const tc_activity_fn *acts)
{
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_worker_options o = extra ? *extra : (tc_worker_options){0};
    o.task_queue = queue;
    o.log_level = TC_LOG_WARN;
    if (tc_worker_new(c, &o, &w, &err) != TC_OK ||
        (wf && tc_worker_register_workflow(w, wf_type, wf, 0, NULL, &err) != TC_OK))
        fail_msg("worker: %s", err.text);
    for (size_t i = 0; act_types && act_types[i]; i++)
        if (tc_worker_register_activity(w, act_types[i], acts[i], NULL, &err) != TC_OK)
            fail_msg("activity: %s", err.text);
    if (tc_worker_start(w, &err) != TC_OK)
        fail_msg("start: %s", err.text);
    g_w = w;
    return w;
}

/* Starts wf_type on queue and returns its result (the test fails otherwise). */
static char *run_workflow(tc_client *c, const char *queue, const char *wf_type, char *wid,
                          size_t wid_cap, int timeout_ms)
{
    char run[64];
    tt_unique(wid, wid_cap, wf_type);
    tc_start_options so = {.workflow_id = wid, .workflow_type = wf_type, .task_queue = queue};
    TT_OK(tc_workflow_start(c, &so, run, sizeof run, NULL, &e_));
    tc_outcome out;
    tc_error err = {0};
    int rc = tc_workflow_result(c, wid, run, timeout_ms, &out, &err);
    if (rc != TC_OK)
        fail_msg("%s: %s %s %s", wf_type, tc_code_name(rc),
                 out.failure_type ? out.failure_type : "",
                 out.failure_message ? out.failure_message : err.text);
    char *res = strdup(out.result_json);
    tc_outcome_clear(&out);
    return res;
}

/* Runs activity `type` with the options and completes with its result, or fails with its
 * failure. */
static void run_one(tc_wf_ctx *ctx, const char *type, const tc_activity_options *o)
{
    tc_future *f = tc_wf_activity_start(ctx, type, NULL, o);
    tc_wf_result r;
    if (tc_future_get(ctx, f, &r) == TC_OK)
        tc_wf_complete(ctx, r.result_json);
    else
        tc_wf_fail_future(ctx, f);
}

static const tc_retry_policy twice = {
    .initial_interval_ms = 1, .backoff_coefficient = 1.0, .maximum_attempts = 2};

/* ---- heartbeat throttling ---- */

static const char *const k_hb_calls[] = {"operation=\"RecordActivityTaskHeartbeat\"", NULL};

static void wf_burst(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    /* 60 s heartbeat timeout: a 48 s throttle interval the burst never outlasts */
    tc_activity_options o = {
        .start_to_close_ms = 60000, .heartbeat_timeout_ms = 60000, .retry = &twice};
    run_one(ctx, "Burst", &o);
}

/* Attempt 1 records 50 heartbeats and fails; attempt 2 returns what it resumes from. */
static void act_burst(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    if (tc_activity_attempt(ctx) > 1) {
        const char *d = tc_activity_heartbeat_details(ctx);
        tc_activity_complete(ctx, d ? d : "\"none\"");
        return;
    }
    for (int i = 1; i <= 50; i++) {
        char d[16];
        snprintf(d, sizeof d, "%d", i);
        tc_error err;
        if (tc_activity_heartbeat(ctx, d, &err) != TC_OK)
            fail_msg("heartbeat %d: %s", i, err.text);
    }
    tc_activity_fail(ctx, "Crash", "after 50 heartbeats", false);
}

static void burst_is_one_call_and_the_failure_carries_the_latest_details(void **s)
{
    (void)s;
    tc_client *c = tt_client();
    char queue[96], wid[96];
    tt_unique(queue, sizeof queue, "hb-burst");
    const char *types[] = {"Burst", NULL};
    const tc_activity_fn fns[] = {act_burst};
    tc_worker *w = start_worker(c, queue, NULL, "BurstWf", wf_burst, types, fns);
    char *res = run_workflow(c, queue, "BurstWf", wid, sizeof wid, 60000);
    /* unthrottled: 50 calls; without the failure's details: "1" */
    assert_string_equal(res, "50");
    assert_true(tt_worker_metric(w, "temporal_request", k_hb_calls) == 1.0);
    free(res);
    tc_worker_free(w);
    tc_client_free(c);
}

static void wf_vanish(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_activity_options o = {
        .start_to_close_ms = 60000, .heartbeat_timeout_ms = 3000, .retry = &twice};
    run_one(ctx, "Vanish", &o);
}

/* Attempt 1 heartbeats 1, 2, 3 at once (2 and 3 wait for the 2.4 s interval to end), waits for
 * the second call, then vanishes without an answer: only the heartbeat timeout ends it, so
 * attempt 2 resumes from what the server got from heartbeats alone. */
static void act_vanish(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    if (tc_activity_attempt(ctx) > 1) {
        const char *d = tc_activity_heartbeat_details(ctx);
        tc_activity_complete(ctx, d ? d : "\"none\"");
        return;
    }
    tc_error err;
    for (int i = 1; i <= 3; i++) {
        char d[16];
        snprintf(d, sizeof d, "%d", i);
        tc_activity_heartbeat(ctx, d, &err);
    }
    for (int i = 0; i < 400; i++) {
        char *text = NULL;
        tc_error e;
        if (tc_worker_metrics_text(g_w, &text, &e) != TC_OK)
            break; /* the test is over */
        double calls = tt_metric_sum(text, "temporal_request", k_hb_calls);
        free(text);
        if (calls >= 2)
            break;
        tt_sleep_ms(50);
    }
    tc_activity_complete_async(ctx); /* no answer: as if the process died */
}

static void throttled_details_are_sent_when_the_interval_ends(void **s)
{
    (void)s;
    tc_client *c = tt_client();
    char queue[96], wid[96];
    tt_unique(queue, sizeof queue, "hb-flush");
    const char *types[] = {"Vanish", NULL};
    const tc_activity_fn fns[] = {act_vanish};
    tc_worker *w = start_worker(c, queue, NULL, "VanishWf", wf_vanish, types, fns);
    char *res = run_workflow(c, queue, "VanishWf", wid, sizeof wid, 60000);
    assert_string_equal(res, "3"); /* without the send at the interval's end: "1" */
    free(res);
    tc_worker_free(w);
    tc_client_free(c);
}

/* ---- asynchronous completion ---- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t g_token[1024];
static size_t g_token_len;
static atomic_int g_async_started;

static void wf_async(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_activity_options o = {.start_to_close_ms = 60000, .retry = &twice};
    tc_activity_options by_id = o;
    by_id.activity_id = "by-id";
    tc_future *a = tc_wf_activity_start(ctx, "AsyncTok", NULL, &o);
    tc_future *b = tc_wf_activity_start(ctx, "AsyncId", NULL, &by_id);
    tc_wf_result ra, rb;
    if (tc_future_get(ctx, a, &ra) != TC_OK || tc_future_get(ctx, b, &rb) != TC_OK) {
        tc_wf_fail(ctx, "Unexpected", "an async activity failed", true);
        return;
    }
    char out[128];
    snprintf(out, sizeof out, "[%s,%s]", ra.result_json, rb.result_json);
    tc_wf_complete(ctx, out);
}

static void act_async_token(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    size_t len;
    const uint8_t *t = tc_activity_task_token(ctx, &len);
    pthread_mutex_lock(&g_mu);
    g_token_len = len <= sizeof g_token ? len : 0;
    memcpy(g_token, t, g_token_len);
    pthread_mutex_unlock(&g_mu);
    assert_int_equal(tc_activity_complete_async(ctx), TC_OK);
    assert_int_equal(tc_activity_complete(ctx, "1"), TC_ERR_STATE); /* one outcome */
    atomic_fetch_add(&g_async_started, 1);
}

static void act_async_id(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete_async(ctx);
    atomic_fetch_add(&g_async_started, 1);
}

static void async_completion_by_token_and_by_ids(void **s)
{
    (void)s;
    tc_client *c = tt_client();
    char queue[96], wid[96], run[64];
    tt_unique(queue, sizeof queue, "async");
    tt_unique(wid, sizeof wid, "async-wf");
    const char *types[] = {"AsyncTok", "AsyncId", NULL};
    const tc_activity_fn fns[] = {act_async_token, act_async_id};
    tc_worker *w = start_worker(c, queue, NULL, "AsyncWf", wf_async, types, fns);
    tc_start_options so = {.workflow_id = wid, .workflow_type = "AsyncWf", .task_queue = queue};
    TT_OK(tc_workflow_start(c, &so, run, sizeof run, NULL, &e_));
    for (int i = 0; i < 600 && atomic_load(&g_async_started) < 2; i++)
        tt_sleep_ms(50);
    assert_int_equal(atomic_load(&g_async_started), 2);
    tc_error err = {0};
    pthread_mutex_lock(&g_mu);
    tc_activity_ref tok = {.task_token = g_token, .task_token_len = g_token_len};
    pthread_mutex_unlock(&g_mu);
    bool cancel = true;
    assert_int_equal(tc_client_heartbeat_activity(c, &tok, "\"progress\"", &cancel, &err), TC_OK);
    assert_false(cancel);
    assert_int_equal(tc_client_complete_activity(c, &tok, "\"tok\"", &err), TC_OK);
    tc_activity_ref ids = {.workflow_id = wid, .activity_id = "by-id"};
    cancel = true;
    assert_int_equal(tc_client_heartbeat_activity(c, &ids, NULL, &cancel, &err), TC_OK);
    assert_false(cancel);
    assert_int_equal(tc_client_complete_activity(c, &ids, "\"id\"", &err), TC_OK);
    tc_outcome out;
    assert_int_equal(tc_workflow_result(c, wid, run, 30000, &out, &err), TC_OK);
    assert_string_equal(out.result_json, "[\"tok\",\"id\"]");
    tc_outcome_clear(&out);
    /* bad input: a completed attempt, an unknown activity, a token that is none */
    assert_int_equal(tc_client_complete_activity(c, &tok, "\"again\"", &err), TC_ERR_NOT_FOUND);
    tc_activity_ref unknown = {.workflow_id = wid, .activity_id = "no-such-activity"};
    assert_int_equal(tc_client_fail_activity(c, &unknown, "T", "m", true, NULL, &err),
                     TC_ERR_NOT_FOUND);
    uint8_t junk[] = "not a task token";
    tc_activity_ref bad = {.task_token = junk, .task_token_len = sizeof junk - 1};
    int rc = tc_client_complete_activity(c, &bad, "1", &err);
    assert_true(rc == TC_ERR_INVALID || rc == TC_ERR_NOT_FOUND);
    assert_non_null(strstr(err.text, "RespondActivityTaskCompleted"));
    tc_worker_free(w);
    tc_client_free(c);
}

static void wf_async_fail(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_activity_options o = {.start_to_close_ms = 60000, .retry = &twice};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "AsyncTok", NULL, &o, &r) == TC_ERR_FAILED) {
        char out[160];
        snprintf(out, sizeof out, "\"%s: %s\"", r.failure_type, r.failure_message);
        tc_wf_complete(ctx, out);
    }
}

static void async_failure_by_token_reaches_the_workflow(void **s)
{
    (void)s;
    tc_client *c = tt_client();
    char queue[96], wid[96], run[64];
    tt_unique(queue, sizeof queue, "async-fail");
    tt_unique(wid, sizeof wid, "async-fail-wf");
    atomic_store(&g_async_started, 0);
    const char *types[] = {"AsyncTok", NULL};
    const tc_activity_fn fns[] = {act_async_token};
    tc_worker *w = start_worker(c, queue, NULL, "AsyncFailWf", wf_async_fail, types, fns);
    tc_start_options so = {.workflow_id = wid, .workflow_type = "AsyncFailWf", .task_queue = queue};
    TT_OK(tc_workflow_start(c, &so, run, sizeof run, NULL, &e_));
    for (int i = 0; i < 600 && atomic_load(&g_async_started) < 1; i++)
        tt_sleep_ms(50);
    tc_error err = {0};
    pthread_mutex_lock(&g_mu);
    tc_activity_ref tok = {.task_token = g_token, .task_token_len = g_token_len};
    pthread_mutex_unlock(&g_mu);
    assert_int_equal(
        tc_client_fail_activity(c, &tok, "Declined", "the approver said no", true, NULL, &err),
        TC_OK);
    tc_outcome out;
    assert_int_equal(tc_workflow_result(c, wid, run, 30000, &out, &err), TC_OK);
    assert_string_equal(out.result_json, "\"Declined: the approver said no\"");
    tc_outcome_clear(&out);
    tc_worker_free(w);
    tc_client_free(c);
}

/* ---- the graceful stop ---- */

static atomic_int g_stop_started, g_reason = -1;
static atomic_bool g_saw_stop, g_cancelled_at_stop, g_stopping_when_cancelled;

static void wf_stop(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    static const tc_retry_policy once = {.maximum_attempts = 1};
    tc_activity_options o = {.start_to_close_ms = 60000, .retry = &once};
    tc_future *fs[2] = {tc_wf_activity_start(ctx, "SeesStop", NULL, &o),
                        tc_wf_activity_start(ctx, "IgnoresStop", NULL, &o)};
    tc_wf_wait_all(ctx, fs, 2);
}

static void act_sees_stop(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    atomic_fetch_add(&g_stop_started, 1);
    atomic_store(&g_saw_stop,
                 tc_activity_wait_worker_stop(ctx, 30000) && tc_activity_worker_stopping(ctx));
    atomic_store(&g_cancelled_at_stop, tc_activity_cancel_requested(ctx));
    tc_activity_complete(ctx, "\"saw the stop\"");
}

/* Heartbeats every 50 ms for up to 30 s until a heartbeat says it is cancelled. */
static void act_ignores_stop(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    atomic_fetch_add(&g_stop_started, 1);
    for (int i = 0; i < 600; i++) {
        tc_error err;
        if (tc_activity_heartbeat(ctx, NULL, &err) == TC_ERR_CANCELLED) {
            atomic_store(&g_reason, (int)tc_activity_cancel_reason(ctx));
            atomic_store(&g_stopping_when_cancelled, tc_activity_worker_stopping(ctx));
            break;
        }
        tt_sleep_ms(50);
    }
    tc_activity_fail(ctx, "", "worker is shutting down", false);
}

static void graceful_stop_tells_activities_then_cancels_them(void **s)
{
    (void)s;
    tc_client *c = tt_client();
    char queue[96], wid[96], run[64];
    tt_unique(queue, sizeof queue, "graceful");
    tt_unique(wid, sizeof wid, "graceful-wf");
    const char *types[] = {"SeesStop", "IgnoresStop", NULL};
    const tc_activity_fn fns[] = {act_sees_stop, act_ignores_stop};
    tc_worker *w = start_worker(c, queue, NULL, "StopWf", wf_stop, types, fns);
    tc_start_options so = {.workflow_id = wid, .workflow_type = "StopWf", .task_queue = queue};
    TT_OK(tc_workflow_start(c, &so, run, sizeof run, NULL, &e_));
    for (int i = 0; i < 600 && atomic_load(&g_stop_started) < 2; i++)
        tt_sleep_ms(50);
    assert_int_equal(atomic_load(&g_stop_started), 2);
    tc_error err = {0};
    assert_int_equal(tc_worker_shutdown(w, 0, &err), TC_ERR_INVALID); /* nothing happens */
    assert_int_equal(tc_worker_shutdown(w, 500, &err), TC_OK);
    assert_true(atomic_load(&g_saw_stop));
    assert_false(atomic_load(&g_cancelled_at_stop)); /* told, not cancelled, at first */
    assert_int_equal(atomic_load(&g_reason), TC_ACTIVITY_CANCEL_WORKER_SHUTDOWN);
    assert_true(atomic_load(&g_stopping_when_cancelled));
    assert_int_equal(tc_worker_shutdown(w, 500, &err), TC_ERR_STATE);
    char *text = NULL;
    assert_int_equal(tc_worker_metrics_text(w, &text, &err), TC_ERR_STATE);
    assert_null(text);
    TT_OK(tc_workflow_terminate(c, wid, run, "test over", &e_));
    tc_worker_free(w);
    tc_client_free(c);
}

/* ---- the stop protocol on private dev servers ---- */

static void wf_idle(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)ctx, (void)state, (void)user;
}
static void act_idle(tc_activity_ctx *ctx, void *user)
{
    (void)ctx, (void)user;
}

/* True once the server lists a poller of identity on queue for the task queue type. */
static bool server_sees_poller(tc_client *c, const char *queue, int type, const char *identity)
{
    Temporal__Api__Workflowservice__V1__DescribeTaskQueueRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_TASK_QUEUE_REQUEST__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    tq.name = (char *)queue;
    tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    rq.namespace_ = (char *)tc_client_namespace(c);
    rq.task_queue = &tq;
    rq.task_queue_type = (Temporal__Api__Enums__V1__TaskQueueType)type;
    ProtobufCMessage *m = NULL;
    tc_error err = {0};
    bool seen = false;
    if (tc_rpc(c, "DescribeTaskQueue", TC_RPC_MSG(rq),
               &temporal__api__workflowservice__v1__describe_task_queue_response__descriptor, &m, 0,
               0, NULL, &err) == TC_OK) {
        const Temporal__Api__Workflowservice__V1__DescribeTaskQueueResponse *d = (void *)m;
        for (size_t i = 0; i < d->n_pollers; i++)
            seen = seen || strcmp(d->pollers[i]->identity, identity) == 0;
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return seen;
}

/* A worker polling both queues is stopped; returns the polls it had to cancel itself. */
static uint64_t stop_while_polling(tc_client *c)
{
    char queue[96], ident[96];
    tt_unique(queue, sizeof queue, "shutdown");
    tt_unique(ident, sizeof ident, "shutdown-worker");
    tc_worker_options o = {.identity = ident};
    const char *types[] = {"Idle", NULL};
    const tc_activity_fn fns[] = {act_idle};
    tc_worker *w = start_worker(c, queue, &o, "IdleWf", wf_idle, types, fns);
    /* both kinds of poll have reached the server */
    bool wf = false, act = false;
    for (int i = 0; i < 600 && !(wf && act); i++) {
        wf = wf || server_sees_poller(c, queue, 1, ident);
        act = act || server_sees_poller(c, queue, 2, ident);
        if (!(wf && act))
            tt_sleep_ms(50);
    }
    assert_true(wf && act);
    tc_worker_stop(w);
    tc_worker_stats st;
    tc_worker_get_stats(w, &st);
    tc_worker_free(w);
    return st.polls_cancelled;
}

static void capable_server_completes_the_polls_after_shutdown_worker(void **s)
{
    (void)s;
    tc_client *c = NULL;
    pid_t pid = tt_devserver_start(g_cli, "frontend.enableCancelWorkerPollsOnShutdown=true", &c);
    /* ShutdownWorker named this worker's instance, queue and types: the server ended every
     * poll, none was cancelled locally (with the polls cancelled first, or without the
     * instance key, the worker would have cancelled them all) */
    assert_int_equal(stop_while_polling(c), 0);
    tt_devserver_stop(pid, c);
}

static void other_servers_get_their_polls_cancelled_at_once(void **s)
{
    (void)s;
    tc_client *c = NULL;
    pid_t pid = tt_devserver_start(g_cli, "frontend.enableCancelWorkerPollsOnShutdown=false", &c);
    assert_true(stop_while_polling(c) > 0);
    tt_devserver_stop(pid, c);
}

/* ---- metrics ---- */

static void wf_metrics(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_metric_label l[] = {{"mytag", "mytagvalue"}};
    if (tc_wf_metric(ctx, TC_METRIC_COUNTER, "my_workflow_counter", l, 1, 1) != TC_OK)
        tc_wf_panic(ctx, "metric refused");
    tc_activity_options o = {.start_to_close_ms = 60000};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "Measured", NULL, &o, &r) == TC_OK)
        tc_wf_complete(ctx, r.result_json);
}

static void act_measured(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_metric_label l[] = {{"mytag", "mytagvalue"}};
    tc_activity_metric(ctx, TC_METRIC_COUNTER, "my_activity_counter", l, 1, 2);
    tc_activity_complete(ctx, "\"measured\"");
}

static void metrics_count_calls_polls_tasks_and_custom_metrics(void **s)
{
    (void)s;
    tc_client *c = tt_client();
    char queue[96], wid[96], tq[160];
    tt_unique(queue, sizeof queue, "metrics");
    snprintf(tq, sizeof tq, "task_queue=\"%s\"", queue);
    /* no sticky cache: every task rebuilds the run, replaying the metric call; no eager
     * activities: the activity task is polled */
    tc_worker_options o = {.sticky_cache_size = -1, .no_eager_activities = true};
    const char *types[] = {"Measured", NULL};
    const tc_activity_fn fns[] = {act_measured};
    tc_worker *w = start_worker(c, queue, &o, "MetricsWf", wf_metrics, types, fns);
    char *res = run_workflow(c, queue, "MetricsWf", wid, sizeof wid, 30000);
    assert_string_equal(res, "\"measured\"");
    free(res);
    const char *completed[] = {"operation=\"RespondActivityTaskCompleted\"",
                               "workflow_type=\"MetricsWf\"", "activity_type=\"Measured\"", tq,
                               NULL};
    assert_true(tt_settled_metric(w, "temporal_request", completed, 1) == 1.0);
    const char *wft[] = {"operation=\"RespondWorkflowTaskCompleted\"",
                         "workflow_type=\"MetricsWf\"", NULL};
    assert_true(tt_settled_metric(w, "temporal_request", wft, 2) >= 2.0);
    const char *mine[] = {"mytag=\"mytagvalue\"", "workflow_type=\"MetricsWf\"", tq, NULL};
    assert_true(tt_worker_metric(w, "my_workflow_counter", mine) == 1.0); /* not once per task */
    assert_true(tt_worker_metric(w, "my_activity_counter", mine) == 2.0);
    const char *wf_type[] = {"workflow_type=\"MetricsWf\"", NULL};
    assert_true(tt_settled_metric(w, "temporal_workflow_completed", wf_type, 1) == 1.0);
    assert_true(tt_worker_metric(w, "temporal_sticky_cache_miss", NULL) >= 2.0);
    assert_true(
        tt_settled_metric(w, "temporal_workflow_task_execution_latency_count", wf_type, 2) >= 2.0);
    const char *act_type[] = {"activity_type=\"Measured\"", NULL};
    assert_true(tt_settled_metric(w, "temporal_activity_execution_latency_count", act_type, 1) ==
                1.0);
    const char *poll[] = {"operation=\"PollWorkflowTaskQueue\"", NULL};
    assert_true(tt_worker_metric(w, "temporal_long_request_latency_count", poll) >= 2.0);
    const char *got[] = {"poller_type=\"activity_task\"", NULL};
    assert_true(tt_worker_metric(w, "temporal_activity_task_received", got) == 1.0);
    const char *slots[] = {"worker_type=\"ActivityWorker\"", NULL};
    char *text = NULL;
    tc_error err = {0};
    assert_int_equal(tc_worker_metrics_text(w, &text, &err), TC_OK);
    assert_true(tt_metric_sum(text, "temporal_worker_task_slots_available", slots) +
                    tt_metric_sum(text, "temporal_worker_task_slots_used", slots) ==
                8.0); /* the default executors */
    free(text);
    text = NULL;
    tc_worker_stop(w);
    assert_int_equal(tc_worker_metrics_text(w, &text, &err), TC_ERR_STATE);
    assert_non_null(strstr(err.text, "stopped"));
    tc_worker_free(w);
    tc_client_free(c);
}

int main(int argc, char **argv)
{
    g_cli = argc > 1 ? argv[1] : ".venv/bin/temporal";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_is_one_call_and_the_failure_carries_the_latest_details),
        cmocka_unit_test(throttled_details_are_sent_when_the_interval_ends),
        cmocka_unit_test(async_completion_by_token_and_by_ids),
        cmocka_unit_test(async_failure_by_token_reaches_the_workflow),
        cmocka_unit_test(graceful_stop_tells_activities_then_cancels_them),
        cmocka_unit_test(metrics_count_calls_polls_tasks_and_custom_metrics),
        cmocka_unit_test(capable_server_completes_the_polls_after_shutdown_worker),
        cmocka_unit_test(other_servers_get_their_polls_cancelled_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
