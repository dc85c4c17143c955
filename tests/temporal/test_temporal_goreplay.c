/* test_temporal_goreplay.c - histories recorded by the official Go SDK (tests/temporal/go_recorder,
 * committed in fixtures/go) replayed on the C runtime with equivalent C workflows: patched and
 * unpatched code, cancellation with cleanup, continue-as-new, a signal-vs-timer race both ways,
 * a side effect, each from its binary form and from the JSON `temporal workflow show -o json`
 * wrote. argv[1] is the fixture folder. */
#include "tc_test_util.h"

static const char *g_dir;
static const tc_activity_options k_opts = {.start_to_close_ms = 10000};

static tc_history *load(const char *name)
{
    return tt_load_history(g_dir, name);
}

typedef struct out_state {
    char result[64];
    bool patched, cancelled, cleaned_up;
    int n;
} out_state;

static void finish(tc_wf_ctx *ctx, out_state *st, const char *json)
{
    snprintf(st->result, sizeof st->result, "%s", json);
    tc_wf_complete(ctx, json);
}

/* Go PatchV1 / PatchV2 */
static void wf_patch_v1(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    tc_wf_result r;
    if (tc_wf_activity(ctx, "A", NULL, &k_opts, &r) == TC_OK)
        finish(ctx, state, r.result_json);
}

static void wf_patch_v2(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    out_state *st = state;
    st->patched = tc_wf_patched(ctx, "use-b");
    tc_wf_result r;
    if (tc_wf_activity(ctx, st->patched ? "B" : "A", NULL, &k_opts, &r) == TC_OK)
        finish(ctx, st, r.result_json);
}

/* Go Cancel */
static void wf_cancel(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    out_state *st = state;
    tc_activity_options o = {.start_to_close_ms = 60000, .heartbeat_timeout_ms = 2000};
    tc_wf_result r;
    int rc = tc_wf_activity(ctx, "Wait", NULL, &o, &r);
    if (rc == TC_OK) {
        finish(ctx, st, r.result_json);
        return;
    }
    if (rc != TC_ERR_CANCELLED || !tc_wf_cancel_requested(ctx))
        return;
    st->cancelled = true;
    tc_wf_detached_begin(ctx);
    st->cleaned_up = tc_wf_activity(ctx, "Undo", NULL, &k_opts, NULL) == TC_OK;
    tc_wf_detached_end(ctx);
    tc_wf_report_cancelled(ctx);
}

/* Go Count */
static void wf_count(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    out_state *st = state;
    const char *in = tc_wf_input(ctx, 0);
    st->n = in ? atoi(in) : 0;
    if (tc_wf_activity(ctx, "Tick", NULL, &k_opts, NULL) != TC_OK)
        return;
    if (st->n >= 2) {
        finish(ctx, st, in);
        return;
    }
    char next[16];
    snprintf(next, sizeof next, "%d", st->n + 1);
    tc_wf_continue_as_new(ctx, next, NULL);
}

/* Go Race: the loser timer is cancelled. cancel_loser false: an incompatible variant. */
static void race(tc_wf_ctx *ctx, out_state *st, bool cancel_loser)
{
    const char *in = tc_wf_input(ctx, 0);
    tc_future *fs[2] = {tc_wf_timer_start(ctx, in ? atoll(in) : 1000),
                        tc_wf_signal_next(ctx, "go")};
    size_t i;
    if (tc_wf_wait_any(ctx, fs, 2, &i) != TC_OK)
        return;
    if (i == 1 && cancel_loser)
        tc_future_cancel(ctx, fs[0]);
    finish(ctx, st, i == 0 ? "\"timer\"" : "\"signal\"");
}

static void wf_race(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    race(ctx, state, true);
}

static void wf_race_keeps_timer(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    race(ctx, state, false);
}

/* Go Side */
static char *forty_two(void *arg)
{
    (void)arg;
    return strdup("99"); /* never called on replay: the recorded 42 wins */
}

static void wf_side(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    const char *v = NULL;
    if (tc_wf_side_effect(ctx, forty_two, NULL, &v) == TC_OK)
        finish(ctx, state, v);
}

/* The JSON form `temporal workflow show -o json` wrote for the same run. */
static tc_history *load_json(const char *name)
{
    char path[1024];
    tc_history *h = NULL;
    tc_error err = {0};
    snprintf(path, sizeof path, "%s/%s.history.json", g_dir, name);
    if (tc_history_load_json(path, &h, &err) != TC_OK)
        fail_msg("load %s: %s", path, err.text);
    return h;
}

/* Replays both recorded forms of a history (binary and the CLI's JSON): each must replay
 * cleanly and leave the same state. */
static out_state replay_ok(const char *name, tc_workflow_fn fn)
{
    tc_history *forms[2] = {load(name), load_json(name)};
    out_state st[2];
    assert_int_equal(tc_history_length(forms[0]), tc_history_length(forms[1]));
    for (int i = 0; i < 2; i++) {
        tc_error err = {0};
        memset(&st[i], 0, sizeof st[i]);
        if (tc_replay_history(forms[i], fn, &st[i], sizeof st[i], NULL, &err) != TC_OK)
            fail_msg("%s (%s): %s", name, i ? "json" : "binary", err.text);
        tc_history_free(forms[i]);
    }
    assert_memory_equal(&st[0], &st[1], sizeof st[0]);
    return st[0];
}

static void replay_bad(const char *name, tc_workflow_fn fn, const char *want)
{
    tc_history *h = load(name);
    tc_error err = {0};
    out_state st;
    assert_int_equal(tc_replay_history(h, fn, &st, sizeof st, NULL, &err), TC_ERR_NONDETERMINISM);
    if (!strstr(err.text, want))
        fail_msg("%s: \"%s\" lacks \"%s\"", name, err.text, want);
    tc_history_free(h);
}

static void go_patch_histories_replay_on_patched_c_code(void **s)
{
    (void)s;
    out_state st = replay_ok("go_unpatched", wf_patch_v2);
    assert_false(st.patched);
    assert_string_equal(st.result, "\"A\"");
    st = replay_ok("go_patched", wf_patch_v2);
    assert_true(st.patched);
    assert_string_equal(st.result, "\"B\"");
    st = replay_ok("go_unpatched", wf_patch_v1);
    assert_string_equal(st.result, "\"A\"");
    /* unpatched code against the patched history: B recorded, A made */
    replay_bad("go_patched", wf_patch_v1, "type=A");
}

static void go_cancel_history_replays_with_detached_cleanup(void **s)
{
    (void)s;
    out_state st = replay_ok("go_cancel", wf_cancel);
    assert_true(st.cancelled);
    assert_true(st.cleaned_up);
}

static void go_continue_as_new_histories_replay(void **s)
{
    (void)s;
    out_state st = replay_ok("go_continue_first", wf_count);
    assert_int_equal(st.n, 0);
    st = replay_ok("go_continue_last", wf_count);
    assert_int_equal(st.n, 2);
    assert_string_equal(st.result, "2");
}

static void go_race_histories_replay_both_ways(void **s)
{
    (void)s;
    out_state st = replay_ok("go_race_signal", wf_race);
    assert_string_equal(st.result, "\"signal\"");
    st = replay_ok("go_race_timer", wf_race);
    assert_string_equal(st.result, "\"timer\"");
    replay_bad("go_race_signal", wf_race_keeps_timer, "CancelTimer");
}

static void go_side_effect_replays_its_recorded_value(void **s)
{
    (void)s;
    out_state st = replay_ok("go_side_effect", wf_side);
    assert_string_equal(st.result, "42");
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 1, "FIXTURE_DIR");
    g_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(go_patch_histories_replay_on_patched_c_code),
        cmocka_unit_test(go_cancel_history_replays_with_detached_cleanup),
        cmocka_unit_test(go_continue_as_new_histories_replay),
        cmocka_unit_test(go_race_histories_replay_both_ways),
        cmocka_unit_test(go_side_effect_replays_its_recorded_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
