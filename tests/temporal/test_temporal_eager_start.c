/* test_temporal_eager_start.c - eager workflow start against private dev servers started here:
 * with system.enableEagerWorkflowStart=true the first workflow task comes back in the start
 * response and the local worker runs it; with it false the slot is given back and the run is
 * polled as usual; a worker that stopped offers no slot. argv[1]: the temporal CLI. */
#include "tc_devserver.h"

static const char *g_cli;

static void wf_hello(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_complete(ctx, "\"Hello World\"");
}

/* Starts Hello eagerly on a worker of c; returns whether the first task came in the response
 * and checks the run completes. */
static bool start_hello(tc_client *c, const char *queue)
{
    char wid[96], run[64];
    tt_unique(wid, sizeof wid, "eager-wf");
    bool eager = true;
    tc_start_options so = {.workflow_id = wid,
                           .workflow_type = "Hello",
                           .task_queue = queue,
                           .task_timeout_ms = 3600000,
                           .request_eager_start = true,
                           .eager_started = &eager};
    TT_OK(tc_workflow_start(c, &so, run, sizeof run, NULL, &e_));
    tc_outcome out;
    tc_error err = {0};
    /* A task that came back but was lost would wait out the one-hour task timeout: this
     * result would then time out, not pass. */
    assert_int_equal(tc_workflow_result(c, wid, run, 30000, &out, &err), TC_OK);
    assert_string_equal(out.result_json, "\"Hello World\"");
    tc_outcome_clear(&out);
    return eager;
}

static tc_worker *hello_worker(tc_client *c, const char *queue)
{
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_worker_options o = {.task_queue = queue, .log_level = TC_LOG_WARN};
    if (tc_worker_new(c, &o, &w, &err) ||
        tc_worker_register_workflow(w, "Hello", wf_hello, 0, NULL, &err) ||
        tc_worker_start(w, &err))
        fail_msg("worker: %s", err.text);
    return w;
}

/* A private dev server with eager workflow start allowed or not, a Hello worker on a fresh queue,
 * and three starts asking for eager dispatch: each must be granted exactly when allowed. */
typedef struct {
    tc_client *c;
    pid_t pid;
    char queue[96];
    tc_worker *w;
} eager_env;

static tc_worker_stats three_eager_starts(eager_env *env, bool allowed)
{
    env->c = NULL;
    env->pid = tt_devserver_start(g_cli,
                                  allowed ? "system.enableEagerWorkflowStart=true"
                                          : "system.enableEagerWorkflowStart=false",
                                  &env->c);
    tt_unique(env->queue, sizeof env->queue, "eager-wf");
    env->w = hello_worker(env->c, env->queue);
    for (int i = 0; i < 3; i++)
        assert_int_equal(start_hello(env->c, env->queue), allowed);
    tc_worker_stats st;
    tc_worker_get_stats(env->w, &st);
    return st;
}

static void eager_env_end(eager_env *env)
{
    tc_worker_free(env->w);
    tt_devserver_stop(env->pid, env->c);
}

static void granted_when_the_server_allows_it(void **s)
{
    (void)s;
    eager_env env;
    tc_worker_stats st = three_eager_starts(&env, true);
    assert_int_equal(st.eager_workflow_requested, 3);
    assert_int_equal(st.eager_workflow_tasks, 3);
    /* a stopped worker offers no slot: an ordinary start, polled by nobody yet */
    tc_worker_stop(env.w);
    char wid[96];
    tt_unique(wid, sizeof wid, "eager-wf");
    bool eager = true;
    tc_start_options so = {.workflow_id = wid,
                           .workflow_type = "Hello",
                           .task_queue = env.queue,
                           .request_eager_start = true,
                           .eager_started = &eager};
    TT_OK(tc_workflow_start(env.c, &so, NULL, 0, NULL, &e_));
    assert_false(eager);
    tc_worker_get_stats(env.w, &st);
    assert_int_equal(st.eager_workflow_requested, 3);
    eager_env_end(&env);
}

static void refused_starts_fall_back_to_polling(void **s)
{
    (void)s;
    eager_env env;
    tc_worker_stats st = three_eager_starts(&env, false);
    assert_int_equal(st.eager_workflow_requested, 3); /* asked each time: the slot came back */
    assert_int_equal(st.eager_workflow_tasks, 0);
    eager_env_end(&env);
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 1, "TEMPORAL_CLI");
    g_cli = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(granted_when_the_server_allows_it),
        cmocka_unit_test(refused_starts_fall_back_to_polling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
