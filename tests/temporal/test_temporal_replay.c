/* test_temporal_replay.c - replay of recorded histories without a server: the workflow code
 * that produced a history replays it cleanly; changed code is reported as non-determinism.
 * argv[1] is the fixture folder (recorded by test_temporal_stack with TC_FIXTURE_DIR). */
#include "tc_test_util.h"
#include "test_workflows.h"

static const char *g_dir;

static tc_history *load(const char *name)
{
    return tt_load_history(g_dir, name);
}

/* Chain that stops after 3 steps: history of a 5-step chain must not replay on it. */
static void wf_chain3(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    chain_state *st = state;
    tc_activity_options o = {.start_to_close_ms = 5000};
    for (int i = 0; i < 3; i++) {
        char in[16];
        snprintf(in, sizeof in, "%d", st->done);
        tc_wf_result r;
        if (tc_wf_activity(ctx, "Inc", in, &o, &r) != TC_OK)
            return;
        st->done = atoi(r.result_json);
    }
    tc_wf_complete(ctx, "{\"sum\":3}");
}

/* Same steps, but with explicit activity ids the history never saw. */
static void wf_chain_renamed(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_activity_options o = {.start_to_close_ms = 5000, .activity_id = "custom"};
    if (tc_wf_activity(ctx, "Inc", "0", &o, NULL) != TC_OK)
        return;
    tc_wf_complete(ctx, NULL);
}

static void wf_sleeps_first(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    if (tc_wf_sleep(ctx, 1000) != TC_OK)
        return;
    wf_greet(ctx, NULL, NULL);
}

static void greet_history_replays_cleanly(void **s)
{
    (void)s;
    tc_history *h = load("greet");
    assert_true(tc_history_length(h) >= 11);
    assert_int_equal(tc_history_event_type(h, 0), 1); /* WorkflowExecutionStarted */
    TT_OK(tc_replay_history(h, wf_greet, NULL, 0, NULL, &e_));
    tc_history_free(h);
}

static void greet_history_rejects_changed_activity(void **s)
{
    (void)s;
    tc_history *h = load("greet");
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_greet_changed, NULL, 0, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "Hello"));
    assert_non_null(strstr(err.text, "Hi"));
    tc_history_free(h);
}

static void greet_history_rejects_timer_before_activity(void **s)
{
    (void)s;
    tc_history *h = load("greet");
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_sleeps_first, NULL, 0, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "StartTimer"));
    tc_history_free(h);
}

static void chain_history_replays_to_final_state(void **s)
{
    (void)s;
    tc_history *h = load("chain5");
    chain_state st = {.done = -7};
    TT_OK(tc_replay_history(h, wf_chain, &st, sizeof st, NULL, &e_));
    assert_int_equal(st.done, 5);
    char *q = NULL;
    TT_OK(q_chain_progress(&st, NULL, 0, NULL, &q, &e_));
    assert_string_equal(q, "{\"done\":5}");
    free(q);
    tc_history_free(h);
}

static void chain_history_rejects_shorter_chain(void **s)
{
    (void)s;
    tc_history *h = load("chain5");
    chain_state st;
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_chain3, &st, sizeof st, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "CompleteWorkflowExecution"));
    tc_history_free(h);
}

static void chain_history_rejects_changed_activity_id(void **s)
{
    (void)s;
    tc_history *h = load("chain5");
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_chain_renamed, NULL, 0, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "custom"));
    tc_history_free(h);
}

static void cancel_history_replays_cleanly(void **s)
{
    (void)s;
    tc_history *h = load("cancel");
    TT_OK(tc_replay_history(h, wf_cancel, NULL, 0, NULL, &e_));
    tc_history_free(h);
}

/* Same as Cancel but never asks for the cancellation the history recorded. */
static void wf_cancel_forgotten(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    if (tw_long_beat_then_sleep(ctx))
        tc_wf_complete(ctx, "{}");
}

static void cancel_history_rejects_missing_cancel(void **s)
{
    (void)s;
    tc_history *h = load("cancel");
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_cancel_forgotten, NULL, 0, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "RequestCancelActivityTask"));
    tc_history_free(h);
}

static void history_survives_save_and_load(void **s)
{
    (void)s;
    tc_history *h = load("chain5"), *h2 = NULL;
    char path[] = "/tmp/tc-replay-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    TT_OK(tc_history_save(h, path, &e_));
    TT_OK(tc_history_load(path, &h2, &e_));
    unlink(path);
    assert_int_equal(tc_history_length(h), tc_history_length(h2));
    for (size_t i = 0; i < tc_history_length(h); i++)
        assert_int_equal(tc_history_event_type(h, i), tc_history_event_type(h2, i));
    tc_history_free(h);
    tc_history_free(h2);
}

static void garbage_file_is_not_a_history(void **s)
{
    (void)s;
    char path[] = "/tmp/tc-replay-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\xff\xff\xff\xff", 4), 4);
    close(fd);
    tc_history *h = NULL;
    tc_error err = {0};
    assert_int_equal(tc_history_load(path, &h, &err), TC_ERR_PROTOCOL);
    assert_null(h);
    unlink(path);
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 1, "FIXTURE_DIR");
    g_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greet_history_replays_cleanly),
        cmocka_unit_test(greet_history_rejects_changed_activity),
        cmocka_unit_test(greet_history_rejects_timer_before_activity),
        cmocka_unit_test(chain_history_replays_to_final_state),
        cmocka_unit_test(chain_history_rejects_shorter_chain),
        cmocka_unit_test(chain_history_rejects_changed_activity_id),
        cmocka_unit_test(cancel_history_replays_cleanly),
        cmocka_unit_test(cancel_history_rejects_missing_cancel),
        cmocka_unit_test(history_survives_save_and_load),
        cmocka_unit_test(garbage_file_is_not_a_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
