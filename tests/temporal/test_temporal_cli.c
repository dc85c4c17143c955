/* test_temporal_cli.c - interoperability with the official temporal CLI: a workflow it starts
 * (json/plain input) runs on our worker, and `temporal workflow result` decodes our result.
 * argv[1] is the temporal CLI. */
#include "tc_test_util.h"
#include "test_workflows.h"

static const char *g_cli;

static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 65536, len = 0;
    char *buf = calloc(1, cap);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0)
        len += r;
    int st = pclose(p);
    if (st != 0)
        fail_msg("`%s` failed (%d): %s", cmd, st, buf);
    return buf;
}

static void cli_started_workflow_runs_on_c_worker(void **s)
{
    (void)s;
    const char *addr = getenv("TEMPORAL_ADDRESS");
    if (!addr || !*addr)
        addr = "127.0.0.1:21733";
    char queue[128], wid[128], cmd[2048];
    tt_unique(queue, sizeof queue, "tc-cli");
    tt_unique(wid, sizeof wid, "cli-greet");
    tc_client *c = tt_client();
    tc_worker *w = NULL;
    tc_worker_options o = {.task_queue = queue};
    TT_OK(tc_worker_new(c, &o, &w, &e_));
    TT_OK(tw_register_all(w, &e_));
    TT_OK(tc_worker_start(w, &e_));

    snprintf(cmd, sizeof cmd,
             "'%s' workflow start --address %s --task-queue %s --type Greet --workflow-id %s "
             "--input '\"CLI\"' 2>&1",
             g_cli, addr, queue, wid);
    free(run(cmd));
    snprintf(cmd, sizeof cmd,
             "'%s' workflow result --address %s --workflow-id %s --output json 2>&1", g_cli, addr,
             wid);
    char *out = run(cmd);
    /* The CLI decoded our json/plain payload: the JSON shows the string, not base64. */
    assert_non_null(strstr(out, "Hello, CLI!"));
    assert_non_null(strstr(out, "COMPLETED"));
    free(out);

    /* And the reverse: our client reads a result the CLI-started run produced. */
    tc_outcome oc;
    TT_OK(tc_workflow_result(c, wid, NULL, 30000, &oc, &e_));
    assert_string_equal(oc.result_json, "\"Hello, CLI!\"");
    tc_outcome_clear(&oc);
    tc_worker_free(w);
    tc_client_free(c);
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 1, "TEMPORAL_CLI");
    g_cli = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cli_started_workflow_runs_on_c_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
