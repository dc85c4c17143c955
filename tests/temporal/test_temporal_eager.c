/* test_temporal_eager.c - eager activity dispatch against private dev servers started here:
 * with system.enableActivityEagerExecution=true granted tasks run without a poll, a fan-out asks
 * for at most three, a busy worker never asks beyond its free executors, the option turns it
 * off; with the setting false the requests are refused and every activity is polled and runs
 * once. argv[1]: the temporal CLI. (The CLI's dev server grants eager tasks by default.) */
#include "tc_devserver.h"
#include "test_workflows.h"

static tc_client *g_client;
static pid_t g_server;
static const char *g_cli;
static const char *g_eager_setting; /* the dynamic config value of the current group */

static int setup(void **s)
{
    (void)s;
    g_server = tt_devserver_start(g_cli, g_eager_setting, &g_client);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    tt_devserver_stop(g_server, g_client);
    g_server = 0;
    g_client = NULL;
    return 0;
}

static tc_worker *start_worker(const char *queue, int activity_pollers, int executors,
                               bool no_eager)
{
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_worker_options o = {.task_queue = queue,
                           .activity_pollers = activity_pollers,
                           .max_concurrent_activities = executors,
                           .no_eager_activities = no_eager};
    if (tc_worker_new(g_client, &o, &w, &err) || tw_register_all(w, &err) ||
        tc_worker_start(w, &err))
        fail_msg("worker: %s", err.text);
    return w;
}

static void run_to_result(const char *queue, const char *type, const char *input, const char *want)
{
    char wid[128], rid[64];
    tt_unique(wid, sizeof wid, type);
    tc_start_options o = {
        .workflow_id = wid, .workflow_type = type, .task_queue = queue, .input_json = input};
    TT_OK(tc_workflow_start(g_client, &o, rid, sizeof rid, NULL, &e_));
    tc_outcome out;
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, &out, &e_));
    assert_string_equal(out.result_json, want);
    tc_outcome_clear(&out);
}

/* Runs a workflow to its result (want) on a fresh queue (named after prefix) served by one
 * worker with one activity poller, then stops the worker (every thread joined, so the counters
 * are final) and returns its counters. */
static tc_worker_stats run_counted(const char *prefix, int executors, bool no_eager,
                                   const char *type, const char *input, const char *want)
{
    char queue[128];
    tt_unique(queue, sizeof queue, prefix);
    tc_worker *w = start_worker(queue, 1, executors, no_eager);
    run_to_result(queue, type, input, want);
    tc_worker_stats st;
    tc_worker_stop(w);
    tc_worker_get_stats(w, &st);
    tc_worker_free(w);
    return st;
}

static void granted_activities_run_from_the_completion_response(void **s)
{
    (void)s;
    tc_worker_stats st = run_counted("tc-eager", 8, false, "Chain", "{\"n\":5}", "{\"sum\":5}");
    /* One activity per workflow task, executors free: each is asked for and granted. */
    assert_int_equal(st.eager_requested, 5);
    assert_int_equal(st.eager_activity_tasks, 5);
    assert_int_equal(st.activity_tasks, 5);
}

static void fan_out_asks_for_at_most_three_and_polls_the_rest(void **s)
{
    (void)s;
    tc_worker_stats st = run_counted("tc-eager-fan", 8, false, "Fan", "{\"n\":6}", "{\"sum\":6}");
    /* Six activities in one task: three asked for eagerly, all six run exactly once. */
    assert_int_equal(st.eager_requested, 3);
    assert_true(st.eager_activity_tasks >= 1 && st.eager_activity_tasks <= 3);
    assert_int_equal(st.activity_tasks, 6);
}

static void eager_requests_never_exceed_free_executors(void **s)
{
    (void)s;
    /* One executor: the workflow's two parallel activities fill it (one eager, one polled),
     * and whatever is not granted is polled; every activity still runs once. */
    tc_worker_stats st = run_counted("tc-eager-busy", 1, false, "Fan", "{\"n\":2}", "{\"sum\":2}");
    assert_true(st.eager_requested <= 1);
    assert_true(st.eager_activity_tasks <= st.eager_requested);
    assert_int_equal(st.activity_tasks, 2);
}

static void option_turns_eager_dispatch_off(void **s)
{
    (void)s;
    tc_worker_stats st = run_counted("tc-eager-off", 8, true, "Chain", "{\"n\":2}", "{\"sum\":2}");
    assert_int_equal(st.eager_requested, 0);
    assert_int_equal(st.eager_activity_tasks, 0);
    assert_int_equal(st.activity_tasks, 2);
}

static void refused_requests_fall_back_to_polling(void **s)
{
    (void)s;
    tc_worker_stats st =
        run_counted("tc-eager-refused", 8, false, "Chain", "{\"n\":3}", "{\"sum\":3}");
    /* Asked for every time, granted never: the reserved slots were released and the
     * activities polled, each run once. */
    assert_int_equal(st.eager_requested, 3);
    assert_int_equal(st.eager_activity_tasks, 0);
    assert_int_equal(st.activity_tasks, 3);
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 1, "TEMPORAL_CLI");
    g_cli = argv[1];
    const struct CMUnitTest granted[] = {
        cmocka_unit_test(granted_activities_run_from_the_completion_response),
        cmocka_unit_test(fan_out_asks_for_at_most_three_and_polls_the_rest),
        cmocka_unit_test(eager_requests_never_exceed_free_executors),
        cmocka_unit_test(option_turns_eager_dispatch_off),
    };
    const struct CMUnitTest refused[] = {
        cmocka_unit_test(refused_requests_fall_back_to_polling),
    };
    g_eager_setting = "system.enableActivityEagerExecution=true";
    int failed = cmocka_run_group_tests_name("eager_granted", granted, setup, teardown);
    g_eager_setting = "system.enableActivityEagerExecution=false";
    failed += cmocka_run_group_tests_name("eager_refused", refused, setup, teardown);
    return failed ? 1 : 0;
}
