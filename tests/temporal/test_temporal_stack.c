/* test_temporal_stack.c - the bridge against a real dev server: client-started workflows on an
 * in-process worker, paging, retries, queries, signals, non-determinism, policies. Also records
 * the replay fixtures (histories) into $TC_FIXTURE_DIR when set. */
#include "tc_test_util.h"
#include "test_workflows.h"

#include <stdatomic.h>

static tc_client *g_client;
static tc_worker *g_worker;
static char g_queue[128];

/* ---- workflows and activities only these tests use ---- */

static atomic_int n_flaky, n_refuse, n_fatal, n_always;

static void act_flaky(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    atomic_fetch_add(&n_flaky, 1);
    tw_fail_until(ctx, 3);
}

static void act_refuse(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    atomic_fetch_add(&n_refuse, 1);
    tc_activity_fail(ctx, "OutOfStock", "no stock left", true);
}

static void act_fatal(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    atomic_fetch_add(&n_fatal, 1);
    tc_activity_fail(ctx, "Fatal", "listed as non-retryable by the policy", false);
}

static void act_always(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    atomic_fetch_add(&n_always, 1);
    tc_activity_fail(ctx, "Transient", "always fails", false);
}

static atomic_int n_beats, n_acked;

/* Heartbeats every 200 ms until the server relays a cancellation, then acknowledges it. */
static void act_long_beat(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    for (int i = 0; i < 150; i++) {
        tc_error err = {0};
        int rc = tc_activity_heartbeat(ctx, "{\"beat\":1}", &err);
        atomic_fetch_add(&n_beats, 1);
        if (rc == TC_ERR_CANCELLED) {
            assert_true(tc_activity_cancel_requested(ctx));
            atomic_fetch_add(&n_acked, 1);
            tc_activity_report_cancelled(ctx);
            return;
        }
        if (rc != TC_OK) {
            tc_activity_fail(ctx, "Heartbeat", err.text, false);
            return;
        }
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    tc_activity_complete(ctx, "\"not cancelled\"");
}

/* Failures: input is the activity type; result {"ok":..,"type":..,"nr":..,"result":..} */
static void wf_failures(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    static const char *const listed[] = {"Fatal", NULL};
    tc_retry_policy rp = {.initial_interval_ms = 100,
                          .backoff_coefficient = 1.0,
                          .maximum_interval_ms = 100,
                          .maximum_attempts = 5,
                          .non_retryable_error_types = listed};
    const char *in = tc_wf_input(ctx, 0);
    const char *type = "Flaky";
    if (in && strstr(in, "Refuse"))
        type = "Refuse";
    if (in && strstr(in, "Fatal"))
        type = "Fatal";
    if (in && strstr(in, "Always")) {
        type = "Always";
        rp.maximum_attempts = 2;
    }
    tc_activity_options o = {.start_to_close_ms = 5000, .retry = &rp};
    tc_wf_result r;
    int rc = tc_wf_activity(ctx, type, NULL, &o, &r);
    if (rc == TC_ERR_CANCELLED)
        return;
    tw_complete_outcome(ctx, rc, &r);
}

/* FailIt: fails the workflow with an ApplicationFailure after one activity. */
static void wf_fail_it(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_activity_options o = {.start_to_close_ms = 5000};
    if (tc_wf_activity(ctx, "Inc", "0", &o, NULL) != TC_OK)
        return;
    tc_wf_fail(ctx, "Boom", "workflow gave up", true);
}

/* Waiter: Inc once, wait for signal "finish", sleep 100 ms, complete with the signal. */
static void wf_waiter(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    chain_state *st = state;
    tc_activity_options o = {.start_to_close_ms = 5000};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "Inc", "0", &o, &r) != TC_OK)
        return;
    st->done = atoi(r.result_json);
    tc_wf_result sig;
    if (tc_wf_signal_recv(ctx, "finish", &sig) != TC_OK)
        return;
    if (tc_wf_sleep(ctx, 100) != TC_OK)
        return;
    char out[256];
    snprintf(out, sizeof out, "{\"done\":%d,\"signal\":%s}", st->done, sig.result_json);
    tc_wf_complete(ctx, out);
}

/* Versioned v1: Hello, then wait for "go". v2 (changed code): Inc first. */
static void wf_versioned_v1(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_activity_options o = {.start_to_close_ms = 5000};
    if (tc_wf_activity(ctx, "Hello", "\"v1\"", &o, NULL) != TC_OK)
        return;
    if (tc_wf_signal_recv(ctx, "go", NULL) != TC_OK)
        return;
    tc_wf_complete(ctx, "\"v1 done\"");
}

static void wf_versioned_v2(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_activity_options o = {.start_to_close_ms = 5000};
    if (tc_wf_activity(ctx, "Inc", "1", &o, NULL) != TC_OK)
        return;
    if (tc_wf_signal_recv(ctx, "go", NULL) != TC_OK)
        return;
    tc_wf_complete(ctx, "\"v2 done\"");
}

static tc_worker *start_worker(const char *queue, int sticky, tc_workflow_fn versioned)
{
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_worker_options o = {.task_queue = queue,
                           .sticky_cache_size = sticky,
                           .sticky_schedule_to_start_ms = 2000,
                           .activity_pollers = 4,
                           .max_concurrent_activities = 16};
    if (tc_worker_new(g_client, &o, &w, &err) || tw_register_all(w, &err) ||
        tc_worker_register_workflow(w, "Failures", wf_failures, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Waiter", wf_waiter, sizeof(chain_state), NULL, &err) ||
        tc_worker_register_query(w, "Waiter", "progress", q_chain_progress, NULL, &err) ||
        (versioned && tc_worker_register_workflow(w, "Versioned", versioned, 0, NULL, &err)) ||
        tc_worker_register_activity(w, "Flaky", act_flaky, NULL, &err) ||
        tc_worker_register_activity(w, "Refuse", act_refuse, NULL, &err) ||
        tc_worker_register_activity(w, "Fatal", act_fatal, NULL, &err) ||
        tc_worker_register_activity(w, "Always", act_always, NULL, &err) ||
        tc_worker_register_activity(w, "LongBeat", act_long_beat, NULL, &err) ||
        tc_worker_register_workflow(w, "Cancel", wf_cancel, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "FailIt", wf_fail_it, 0, NULL, &err) ||
        tc_worker_start(w, &err))
        fail_msg("worker: %s", err.text);
    return w;
}

TT_GROUP_FIXTURES("tc-stack", start_worker(g_queue, 0, NULL))

static void start(const char *queue, const char *type, const char *input, char *wid, size_t cap,
                  char *rid)
{
    tt_start(g_client, queue, type, input, wid, cap, rid);
}

static char *result_of(const char *wid, const char *rid)
{
    tc_outcome out;
    tc_error err = {0};
    int rc = tc_workflow_result(g_client, wid, rid, 60000, &out, &err);
    if (rc != TC_OK)
        fail_msg("result of %s: %s (%s)", wid, tc_code_name(rc), err.text);
    char *s = out.result_json;
    out.result_json = NULL;
    tc_outcome_clear(&out);
    return s;
}

static void record_fixture(const char *wid, const char *name)
{
    const char *dir = getenv("TC_FIXTURE_DIR");
    if (!dir || !*dir)
        return;
    tc_history *h = NULL;
    tc_error err = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.history.pb", dir, name);
    if (tc_workflow_history(g_client, wid, NULL, &h, &err) != TC_OK ||
        tc_history_save(h, path, &err) != TC_OK)
        fail_msg("fixture %s: %s", name, err.text);
    tc_history_free(h);
}

static void client_started_workflow_returns_activity_result(void **s)
{
    (void)s;
    char wid[128], rid[64];
    start(g_queue, "Greet", "\"C\"", wid, sizeof wid, rid);
    char *res = result_of(wid, rid);
    assert_string_equal(res, "\"Hello, C!\"");
    free(res);
    record_fixture(wid, "greet");
}

static void sticky_worker_reuses_cached_runs(void **s)
{
    (void)s;
    char wid[128], rid[64];
    tc_worker_stats before, after;
    tc_worker_get_stats(g_worker, &before);
    start(g_queue, "Chain", "{\"n\":5}", wid, sizeof wid, rid);
    char *res = result_of(wid, rid);
    assert_string_equal(res, "{\"sum\":5}");
    free(res);
    tc_worker_get_stats(g_worker, &after);
    /* 6 workflow tasks: the first builds the run, the next 5 must come from the cache. */
    assert_true(after.sticky_hits - before.sticky_hits >= 5);
    /* Eager dispatch was asked for; granted or not (the CLI dev server grants it unless
     * system.enableActivityEagerExecution=false; temporal_eager covers both), the chain's
     * result above shows every activity ran once. */
    assert_true(after.eager_requested - before.eager_requested >= 1);
    assert_true(after.eager_activity_tasks - before.eager_activity_tasks <=
                after.eager_requested - before.eager_requested);
    record_fixture(wid, "chain5");
}

/* Waits (bounded) until the run has recorded an activity result and a later workflow task. */
static void wait_blocked_after_activity(const char *wid, const char *rid)
{
    bool ready = false;
    for (int i = 0; i < 300 && !ready; i++) {
        tc_history *h = NULL;
        TT_OK(tc_workflow_history(g_client, wid, rid, &h, &e_));
        long a = tt_find_event(h, TT_EV_ACTIVITY_TASK_COMPLETED, 0);
        ready = a >= 0 && tt_find_event(h, TT_EV_WORKFLOW_TASK_COMPLETED, (size_t)a) >= 0;
        tc_history_free(h);
        if (!ready)
            tt_sleep_ms(100);
    }
    assert_true(ready);
}

static void evicted_run_is_rebuilt_from_full_history(void **s)
{
    (void)s;
    /* Cache of one run: B's task evicts A, so A's next sticky task (only its newest events)
     * must be served by fetching A's full history. */
    char queue[128], wa[128], ra[64], wb[128], rb[64];
    tt_unique(queue, sizeof queue, "tc-evict");
    tc_worker *w = start_worker(queue, 1, NULL);
    start(queue, "Waiter", NULL, wa, sizeof wa, ra);
    wait_blocked_after_activity(wa, ra);
    start(queue, "Waiter", NULL, wb, sizeof wb, rb);
    wait_blocked_after_activity(wb, rb);
    tc_worker_stats before, after;
    tc_worker_get_stats(w, &before);
    TT_OK(tc_workflow_signal(g_client, wa, ra, "finish", "\"a\"", &e_));
    char *res = result_of(wa, ra);
    assert_string_equal(res, "{\"done\":1,\"signal\":\"a\"}");
    free(res);
    tc_worker_get_stats(w, &after);
    assert_true(after.history_refetches > before.history_refetches);
    assert_int_equal(after.nondeterminism, 0);
    TT_OK(tc_workflow_terminate(g_client, wb, rb, NULL, &e_));
    tc_worker_free(w);
}

static void long_workflow_follows_history_pages(void **s)
{
    (void)s;
    /* Sticky off: every task carries the full history; past the poll page size (about 1000
     * events on the dev server) the worker must follow next_page_token. */
    char queue[128], wid[128], rid[64];
    tt_unique(queue, sizeof queue, "tc-paging");
    tc_worker *w = start_worker(queue, -1, NULL);
    start(queue, "Fan", "{\"n\":400}", wid, sizeof wid, rid);
    char *res = result_of(wid, rid);
    assert_string_equal(res, "{\"sum\":400}");
    free(res);
    tc_history *h = NULL;
    TT_OK(tc_workflow_history(g_client, wid, rid, &h, &e_));
    size_t len = tc_history_length(h);
    tc_history_free(h);
    assert_true(len > 1200);
    tc_worker_stats st;
    tc_worker_get_stats(w, &st);
    assert_int_equal(st.sticky_hits, 0);
    fprintf(stderr, "paging: %zu events, %llu extra pages, %llu tasks\n", len,
            (unsigned long long)st.history_pages, (unsigned long long)st.workflow_tasks);
    assert_true(st.history_pages > 0); /* the later tasks' histories spanned pages */
    tc_worker_free(w);
}

/* Runs the Failures workflow on the activity named by input_json and checks the outcome it
 * reports and how many times that activity ran (its counter, runs). */
static void expect_failures(atomic_int *runs, const char *input_json, const char *want,
                            int want_runs)
{
    char wid[128], rid[64];
    atomic_store(runs, 0);
    start(g_queue, "Failures", input_json, wid, sizeof wid, rid);
    char *res = result_of(wid, rid);
    assert_string_equal(res, want);
    assert_int_equal(atomic_load(runs), want_runs);
    free(res);
}

static void retryable_failure_is_retried_until_success(void **s)
{
    (void)s;
    expect_failures(&n_flaky, "\"Flaky\"", "{\"ok\":true,\"result\":3}", 3);
}

static void non_retryable_failure_is_not_retried(void **s)
{
    (void)s;
    expect_failures(&n_refuse, "\"Refuse\"", "{\"ok\":false,\"type\":\"OutOfStock\",\"nr\":true}",
                    1);
}

static void policy_listed_type_is_not_retried(void **s)
{
    (void)s;
    expect_failures(&n_fatal, "\"Fatal\"", "{\"ok\":false,\"type\":\"Fatal\",\"nr\":false}", 1);
}

static void retries_stop_at_maximum_attempts(void **s)
{
    (void)s;
    expect_failures(&n_always, "\"Always\"", "{\"ok\":false,\"type\":\"Transient\",\"nr\":false}",
                    2);
}

static void heartbeating_activity_is_cancelled_by_workflow(void **s)
{
    (void)s;
    char wid[128], rid[64];
    atomic_store(&n_beats, 0);
    atomic_store(&n_acked, 0);
    start(g_queue, "Cancel", NULL, wid, sizeof wid, rid);
    char *res = result_of(wid, rid);
    assert_string_equal(res, "{\"ok\":false,\"type\":\"CanceledError\"}");
    free(res);
    assert_int_equal(atomic_load(&n_acked), 1);
    record_fixture(wid, "cancel");
    /* The cancellation reached it through a heartbeat response, so it heartbeat repeatedly. */
    assert_true(atomic_load(&n_beats) >= 2);
}

static void query_is_answered_and_signal_resumes(void **s)
{
    (void)s;
    char wid[128], rid[64];
    start(g_queue, "Waiter", NULL, wid, sizeof wid, rid);
    char *ans = NULL;
    /* Bounded wait (not a timing assertion): until the first activity is reflected. */
    for (int i = 0; i < 200; i++) {
        tc_error err = {0};
        free(ans);
        ans = NULL;
        if (tc_workflow_query(g_client, wid, rid, "progress", NULL, &ans, &err) == TC_OK &&
            strcmp(ans, "{\"done\":1}") == 0)
            break;
        tt_sleep_ms(100);
    }
    assert_non_null(ans);
    assert_string_equal(ans, "{\"done\":1}");
    free(ans);
    tc_error err = {0};
    assert_int_equal(tc_workflow_query(g_client, wid, rid, "nope", NULL, &ans, &err),
                     TC_ERR_QUERY_FAILED);
    tc_description d;
    TT_OK(tc_workflow_describe(g_client, wid, rid, &d, &e_));
    assert_int_equal(d.status, TC_WF_RUNNING);
    assert_string_equal(d.workflow_type, "Waiter");
    TT_OK(tc_workflow_signal(g_client, wid, rid, "finish", "\"bye\"", &e_));
    char *res = result_of(wid, rid);
    assert_string_equal(res, "{\"done\":1,\"signal\":\"bye\"}");
    free(res);
    TT_OK(tc_workflow_describe(g_client, wid, rid, &d, &e_));
    assert_int_equal(d.status, TC_WF_COMPLETED);
    /* A closed run is no longer cached: the worker replays its full history to answer. */
    TT_OK(tc_workflow_query(g_client, wid, rid, "progress", NULL, &ans, &e_));
    assert_string_equal(ans, "{\"done\":1}");
    free(ans);
}

static void failed_workflow_reports_its_failure(void **s)
{
    (void)s;
    char wid[128], rid[64];
    start(g_queue, "FailIt", NULL, wid, sizeof wid, rid);
    tc_outcome out;
    tt_expect_closed(g_client, wid, rid, 60000, TC_WF_FAILED, &out);
    assert_string_equal(out.failure_type, "Boom");
    assert_string_equal(out.failure_message, "workflow gave up");
    assert_null(out.result_json);
    tc_outcome_clear(&out);
}

static void terminate_closes_the_run(void **s)
{
    (void)s;
    char wid[128], rid[64];
    start(g_queue, "Waiter", NULL, wid, sizeof wid, rid);
    TT_OK(tc_workflow_terminate(g_client, wid, rid, "test says stop", &e_));
    tc_outcome out;
    tt_expect_closed(g_client, wid, rid, 30000, TC_WF_TERMINATED, &out);
    assert_string_equal(out.failure_message, "test says stop");
    tc_outcome_clear(&out);
}

static void id_conflict_policies(void **s)
{
    (void)s;
    char wid[128], rid[64], rid2[64];
    start(g_queue, "Waiter", NULL, wid, sizeof wid, rid);
    tc_start_options o = {.workflow_id = wid, .workflow_type = "Waiter", .task_queue = g_queue};
    tc_error err = {0};
    assert_int_equal(tc_workflow_start(g_client, &o, rid2, sizeof rid2, NULL, &err),
                     TC_ERR_ALREADY_STARTED);
    bool started = true;
    o.id_conflict_policy = TC_CONFLICT_USE_EXISTING;
    TT_OK(tc_workflow_start(g_client, &o, rid2, sizeof rid2, &started, &e_));
    assert_false(started);
    assert_string_equal(rid, rid2);
    /* Same request id twice is one start (idempotent retry of the call). */
    char wid2[128], ra[64], rb[64];
    tt_unique(wid2, sizeof wid2, "reqid");
    tc_start_options p = {.workflow_id = wid2,
                          .workflow_type = "Waiter",
                          .task_queue = g_queue,
                          .request_id = "7f1d2c7e-0000-4000-8000-000000000001"};
    TT_OK(tc_workflow_start(g_client, &p, ra, sizeof ra, NULL, &e_));
    TT_OK(tc_workflow_start(g_client, &p, rb, sizeof rb, NULL, &e_));
    assert_string_equal(ra, rb);
    TT_OK(tc_workflow_terminate(g_client, wid, rid, NULL, &e_));
    TT_OK(tc_workflow_terminate(g_client, wid2, ra, NULL, &e_));
}

static void id_reuse_policies_after_close(void **s)
{
    (void)s;
    char wid[128], rid[64], rid2[64];
    start(g_queue, "Greet", "\"again\"", wid, sizeof wid, rid);
    free(result_of(wid, rid));
    tc_start_options o = {.workflow_id = wid,
                          .workflow_type = "Greet",
                          .task_queue = g_queue,
                          .input_json = "\"again\"",
                          .id_reuse_policy = TC_REUSE_REJECT_DUPLICATE};
    tc_error err = {0};
    assert_int_equal(tc_workflow_start(g_client, &o, rid2, sizeof rid2, NULL, &err),
                     TC_ERR_ALREADY_STARTED);
    /* Only failed runs may be reused: this one completed. */
    o.id_reuse_policy = TC_REUSE_ALLOW_DUPLICATE_FAILED_ONLY;
    assert_int_equal(tc_workflow_start(g_client, &o, rid2, sizeof rid2, NULL, &err),
                     TC_ERR_ALREADY_STARTED);
    o.id_reuse_policy = TC_REUSE_ALLOW_DUPLICATE;
    bool started = false;
    TT_OK(tc_workflow_start(g_client, &o, rid2, sizeof rid2, &started, &e_));
    assert_true(started);
    assert_string_not_equal(rid, rid2);
    char *res = result_of(wid, rid2);
    assert_string_equal(res, "\"Hello, again!\"");
    free(res);
}

static void changed_workflow_code_is_non_determinism(void **s)
{
    (void)s;
    char queue[128], wid[128], rid[64];
    tt_unique(queue, sizeof queue, "tc-nondet");
    tc_worker *v1 = start_worker(queue, 0, wf_versioned_v1);
    start(queue, "Versioned", NULL, wid, sizeof wid, rid);
    /* Wait until v1 recorded its activity and is blocked on the signal. */
    wait_blocked_after_activity(wid, rid);
    tc_worker_free(v1);
    tc_worker *v2 = start_worker(queue, 0, wf_versioned_v2);
    TT_OK(tc_workflow_signal(g_client, wid, rid, "go", NULL, &e_));
    bool failed = false;
    for (int i = 0; i < 300 && !failed; i++) {
        tc_history *h = NULL;
        TT_OK(tc_workflow_history(g_client, wid, rid, &h, &e_));
        failed = tt_find_event(h, TT_EV_WORKFLOW_TASK_FAILED, 0) >= 0;
        tc_history_free(h);
        if (!failed)
            tt_sleep_ms(100);
    }
    assert_true(failed);
    tc_worker_stats st;
    tc_worker_get_stats(v2, &st);
    assert_true(st.nondeterminism >= 1);
    tc_description d;
    TT_OK(tc_workflow_describe(g_client, wid, rid, &d, &e_));
    assert_int_equal(d.status, TC_WF_RUNNING); /* the run is not closed, only its task failed */
    TT_OK(tc_workflow_terminate(g_client, wid, rid, "non-determinism test", &e_));
    tc_worker_free(v2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_started_workflow_returns_activity_result),
        cmocka_unit_test(sticky_worker_reuses_cached_runs),
        cmocka_unit_test(long_workflow_follows_history_pages),
        cmocka_unit_test(evicted_run_is_rebuilt_from_full_history),
        cmocka_unit_test(retryable_failure_is_retried_until_success),
        cmocka_unit_test(non_retryable_failure_is_not_retried),
        cmocka_unit_test(policy_listed_type_is_not_retried),
        cmocka_unit_test(retries_stop_at_maximum_attempts),
        cmocka_unit_test(heartbeating_activity_is_cancelled_by_workflow),
        cmocka_unit_test(query_is_answered_and_signal_resumes),
        cmocka_unit_test(failed_workflow_reports_its_failure),
        cmocka_unit_test(terminate_closes_the_run),
        cmocka_unit_test(id_conflict_policies),
        cmocka_unit_test(id_reuse_policies_after_close),
        cmocka_unit_test(changed_workflow_code_is_non_determinism),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
