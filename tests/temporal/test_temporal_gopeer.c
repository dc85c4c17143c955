/* test_temporal_gopeer.c - the C client against runs of the official Go SDK worker
 * (tests/temporal/gopeer): tc_workflow_result follows a real continue-as-new chain. */
#include "tc_cli.h"

static const char *g_peer;
static pid_t g_pid;
static char g_queue[96];
static tc_client *g_c;

static int group_setup(void **s)
{
    (void)s;
    g_c = tt_client();
    tt_unique(g_queue, sizeof g_queue, "tc-gopeer");
    char *argv[] = {(char *)g_peer, "-address", (char *)tt_address(), "-task-queue", g_queue, NULL};
    if (posix_spawn(&g_pid, g_peer, NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "cannot start %s\n", g_peer);
        return -1;
    }
    return 0;
}

static int group_teardown(void **s)
{
    (void)s;
    tt_gopeer_stop(g_pid);
    tc_client_free(g_c);
    return 0;
}

static void result_follows_a_go_continue_as_new_chain(void **s)
{
    (void)s;
    char wid[96], rid[64];
    tt_unique(wid, sizeof wid, "can");
    tc_error err = {0};
    tc_start_options so = {.workflow_id = wid,
                           .workflow_type = "CanChain",
                           .task_queue = g_queue,
                           .input_json = "{\"left\":3,\"done\":0}"};
    TT_OK(tc_workflow_start(g_c, &so, rid, sizeof rid, NULL, &err));
    tc_outcome oc;
    /* Asked about the first run: three continue-as-new hops to the run that completes. */
    TT_OK(tc_workflow_result(g_c, wid, rid, 60000, &oc, &err));
    assert_int_equal(oc.status, TC_WF_COMPLETED);
    assert_string_equal(oc.result_json, "\"done after 4 runs\"");
    assert_string_not_equal(oc.run_id, rid);
    tc_workflow_info first, last;
    TT_OK(tc_workflow_describe_info(g_c, wid, rid, &first, &err));
    assert_int_equal(first.status, TC_WF_CONTINUED_AS_NEW);
    TT_OK(tc_workflow_describe_info(g_c, wid, NULL, &last, &err));
    assert_string_equal(last.run_id, oc.run_id); /* the chain's end is the latest run */
    tc_outcome_clear(&oc);
    assert_int_equal(last.status, TC_WF_COMPLETED);
    tc_workflow_info_clear(&first);
    tc_workflow_info_clear(&last);

    /* Visibility and the CLI see the four runs: three continued as new, one completed. */
    char q[256];
    snprintf(q, sizeof q, "WorkflowId = '%s' AND ExecutionStatus = 'ContinuedAsNew'", wid);
    int64_t n = 0;
    for (int i = 0; i < 300 && n != 3; i++) {
        TT_OK(tc_workflow_count(g_c, q, &n, &err));
        if (n != 3)
            tt_sleep_ms(100);
    }
    assert_int_equal(n, 3);
    char *out = tt_cli(NULL, "workflow result --workflow-id %s --output json", wid);
    assert_non_null(strstr(out, "done after 4 runs"));
    free(out);
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 2, "GOPEER TEMPORAL_CLI");
    g_peer = argv[1];
    g_tt_cli = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(result_follows_a_go_continue_as_new_chain),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
