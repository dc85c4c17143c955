/* test_temporal_unit.c - client and worker behaviour that needs no server: argument checks,
 * error mapping and retry against an unreachable address, registration rules. */
#include "tc_test_util.h"

static tc_client *unreachable(int attempts)
{
    /* Port 1 on loopback: nothing listens, every call fails with UNAVAILABLE. */
    tc_client_options o = {.address = "127.0.0.1:1",
                           .ns = "default",
                           .identity = "unit",
                           .rpc_timeout_ms = 2000,
                           .max_attempts = attempts};
    tc_client *c = NULL;
    TT_OK(tc_client_new(&o, &c, &e_));
    assert_string_equal(tc_client_namespace(c), "default");
    assert_string_equal(tc_client_identity(c), "unit");
    return c;
}

static void unreachable_server_is_unavailable_after_retries(void **s)
{
    (void)s;
    tc_client *c = unreachable(2);
    tc_description d;
    tc_error err = {0};
    int rc = tc_workflow_describe(c, "wf", NULL, &d, &err);
    assert_int_equal(rc, TC_ERR_UNAVAILABLE);
    assert_int_equal(err.code, TC_ERR_UNAVAILABLE);
    assert_int_equal(err.grpc_status, 14);
    assert_non_null(strstr(err.text, "DescribeWorkflowExecution"));
    assert_string_equal(tc_code_name(rc), "TC_ERR_UNAVAILABLE");
    assert_int_not_equal(tc_client_wait_ready(c, 300, &err), TC_OK);
    tc_client_free(c);
}

static void start_requires_id_type_and_queue(void **s)
{
    (void)s;
    tc_client *c = unreachable(1);
    char rid[64];
    tc_error err = {0};
    tc_start_options o = {.workflow_type = "T", .task_queue = "q"};
    assert_int_equal(tc_workflow_start(c, &o, rid, sizeof rid, NULL, &err), TC_ERR_INVALID);
    o.workflow_id = "id";
    o.task_queue = NULL;
    assert_int_equal(tc_workflow_start(c, &o, rid, sizeof rid, NULL, &err), TC_ERR_INVALID);
    tc_outcome out;
    assert_int_equal(tc_workflow_result(c, NULL, NULL, 10, &out, &err), TC_ERR_INVALID);
    assert_int_equal(out.status, TC_WF_UNKNOWN);
    tc_client_free(c);
}

static void noop_wf(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)ctx;
    (void)state;
    (void)user;
}

static void noop_act(tc_activity_ctx *ctx, void *user)
{
    (void)ctx;
    (void)user;
}

static int noop_query(const void *state, const char *const *args, size_t n_args, void *user,
                      char **out, tc_error *err)
{
    (void)state;
    (void)args;
    (void)n_args;
    (void)user;
    (void)err;
    *out = NULL;
    return TC_OK;
}

static void registration_rules(void **s)
{
    (void)s;
    tc_client *c = unreachable(1);
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_worker_options bad = {0};
    assert_int_equal(tc_worker_new(c, &bad, &w, &err), TC_ERR_INVALID);
    assert_null(w);
    tc_worker_options o = {.task_queue = "unit-q"};
    TT_OK(tc_worker_new(c, &o, &w, &e_));
    TT_OK(tc_worker_register_workflow(w, "W", noop_wf, 0, NULL, &e_));
    assert_int_equal(tc_worker_register_workflow(w, "W", noop_wf, 0, NULL, &err), TC_ERR_INVALID);
    assert_int_equal(tc_worker_register_query(w, "Nope", "q", noop_query, NULL, &err),
                     TC_ERR_INVALID);
    TT_OK(tc_worker_register_query(w, "W", "q", noop_query, NULL, &e_));
    TT_OK(tc_worker_register_activity(w, "A", noop_act, NULL, &e_));
    assert_int_equal(tc_worker_register_activity(w, "A", noop_act, NULL, &err), TC_ERR_INVALID);
    /* A never-started worker frees cleanly; stop is a no-op. */
    tc_worker_stop(w);
    tc_worker_stats st;
    tc_worker_get_stats(w, &st);
    assert_int_equal(st.first_poll_us, -1);
    tc_worker_free(w);
    tc_client_free(c);
}

static void started_worker_stops_promptly_without_server(void **s)
{
    (void)s;
    tc_client *c = unreachable(1);
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_worker_options o = {.task_queue = "unit-q", .sticky_cache_size = 4};
    TT_OK(tc_worker_new(c, &o, &w, &e_));
    TT_OK(tc_worker_register_workflow(w, "W", noop_wf, 0, NULL, &e_));
    TT_OK(tc_worker_register_activity(w, "A", noop_act, NULL, &e_));
    TT_OK(tc_worker_start(w, &e_));
    assert_int_equal(tc_worker_start(w, &err), TC_ERR_STATE);
    assert_int_equal(tc_worker_register_activity(w, "B", noop_act, NULL, &err), TC_ERR_STATE);
    /* Pollers are failing and backing off; stop must still join every thread. */
    tc_worker_request_stop(w);
    tc_worker_stop(w);
    tc_worker_stats st;
    tc_worker_get_stats(w, &st);
    assert_int_equal(st.workflow_tasks, 0);
    assert_int_equal(st.activity_tasks, 0);
    tc_worker_free(w);
    tc_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unreachable_server_is_unavailable_after_retries),
        cmocka_unit_test(start_requires_id_type_and_queue),
        cmocka_unit_test(registration_rules),
        cmocka_unit_test(started_worker_stops_promptly_without_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
