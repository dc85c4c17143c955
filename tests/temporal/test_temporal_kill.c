/* test_temporal_kill.c - a worker process killed with SIGKILL mid-run and restarted finishes
 * the run with every step's side effect done once; SIGTERM lets the in-flight activity finish
 * and exits 0. argv[1] is the temporal_test_worker program. */
#include "tc_test_util.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *g_worker_bin;
static char g_queue[128];

static pid_t spawn_worker(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(g_worker_bin, g_worker_bin, g_queue, (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    return pid;
}

static bool exists(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static void wait_for(const char *dir, const char *name)
{
    for (int i = 0; i < 600 && !exists(dir, name); i++)
        tt_sleep_ms(50);
    assert_true(exists(dir, name));
}

static void count_attempts(const char *dir, int *counts, int n)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/attempts", dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    int step;
    memset(counts, 0, sizeof(int) * (size_t)(n + 1));
    while (fscanf(f, "%d", &step) == 1)
        if (step >= 1 && step <= n)
            counts[step]++;
    fclose(f);
}

static void killed_worker_restarts_and_finishes_each_step_once(void **s)
{
    (void)s;
    char dir[] = "/tmp/tc-kill-XXXXXX";
    assert_non_null(mkdtemp(dir));
    tt_unique(g_queue, sizeof g_queue, "tc-kill");
    tc_client *c = tt_client();

    pid_t w1 = spawn_worker();
    char wid[128], rid[64], input[512];
    tt_unique(wid, sizeof wid, "steps");
    snprintf(input, sizeof input, "{\"dir\":\"%s\",\"n\":6}", dir);
    tc_start_options o = {.workflow_id = wid,
                          .workflow_type = "Steps",
                          .task_queue = g_queue,
                          .input_json = input,
                          .task_timeout_ms = 2000};
    TT_OK(tc_workflow_start(c, &o, rid, sizeof rid, NULL, &e_));

    /* SIGKILL while step 2 runs: no cleanup, no ShutdownWorker, its sticky queue is orphaned. */
    wait_for(dir, "step-2");
    kill(w1, SIGKILL);
    int st = 0;
    waitpid(w1, &st, 0);
    assert_true(WIFSIGNALED(st));

    pid_t w2 = spawn_worker();
    /* SIGTERM while step 4 runs: the worker finishes that activity, then exits 0. */
    wait_for(dir, "step-4");
    kill(w2, SIGTERM);
    waitpid(w2, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    pid_t w3 = spawn_worker();
    tc_outcome out;
    tc_error err = {0};
    int rc = tc_workflow_result(c, wid, rid, 90000, &out, &err);
    kill(w3, SIGTERM);
    waitpid(w3, &st, 0);
    if (rc != TC_OK)
        fail_msg("result: %s", err.text);
    assert_string_equal(out.result_json, "{\"steps\":6}");
    tc_outcome_clear(&out);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    int counts[7];
    count_attempts(dir, counts, 6);
    for (int i = 1; i <= 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "step-%d", i);
        assert_true(exists(dir, name));
        assert_true(counts[i] >= 1);
    }
    assert_false(exists(dir, "step-7"));
    /* Only the step the SIGKILL interrupted may run twice; the SIGTERM-ed step ran once. */
    assert_true(counts[2] <= 2);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[3], 1);
    assert_int_equal(counts[4], 1);
    assert_int_equal(counts[5], 1);
    assert_int_equal(counts[6], 1);
    tc_client_free(c);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 1, "TEST_WORKER");
    g_worker_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_worker_restarts_and_finishes_each_step_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
