/* test_temporal_runtime.c - the event-ordered workflow runtime against crafted histories, no
 * server: event order and batches, futures and waits, signals, coroutines, cancellation,
 * continue-as-new, patches, side effects, search attributes and memo, deterministic values,
 * queries, non-determinism, bad input, unwinding. */
#include "rt_util.h"

static const tc_activity_options k_opts = {.start_to_close_ms = 5000};

typedef struct race_state {
    char winner[16];
    int order[4];
    int n;
} race_state;

/* Workflow code in these tests checks every return instead of asserting: it runs on its own
 * coroutine stack, and a run freed while blocked unwinds through TC_ERR_CANCELLED returns. */

/* ---- signal vs timer ---- */

/* Waits for a 10 s timer and signal "go"; records which became ready first and which second
 * (each wait picks among those not taken yet), then completes with "<first>,<second>". */
static void wf_race(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    race_state *st = state;
    tc_future *all[2] = {tc_wf_timer_start(ctx, 10000), tc_wf_signal_next(ctx, "go")};
    const char *names[2] = {"timer", "signal"};
    bool taken[2] = {false, false};
    char out[64] = "\"";
    for (int k = 0; k < 2; k++) {
        tc_future *left[2];
        int idx[2], n = 0;
        for (int j = 0; j < 2; j++)
            if (!taken[j]) {
                left[n] = all[j];
                idx[n++] = j;
            }
        size_t i = 99;
        if (tc_wf_wait_any(ctx, left, (size_t)n, &i) != TC_OK)
            return; /* the run is being unwound */
        taken[idx[i]] = true;
        st->order[st->n++] = idx[i];
        strcat(out, names[idx[i]]);
        strcat(out, k == 0 ? "," : "\"");
    }
    snprintf(st->winner, sizeof st->winner, "%s", names[st->order[0]]);
    tc_wf_complete(ctx, out);
}

/* started, task 1 (2-4), TimerStarted 5, first event, [task], second event, task being answered */
static tc_history *race_history(bool signal_first, bool same_batch, int64_t *started)
{
    hb *b = hb_new();
    hb_started(b, "Race", NULL);
    hb_wft(b);
    int64_t t = hb_timer_started(b, "5", 10000);
    if (signal_first)
        hb_signal(b, "go", "1");
    else
        hb_timer_fired(b, "5", t);
    if (!same_batch)
        hb_wft(b); /* the code ran between the two events and made no command */
    if (signal_first)
        hb_timer_fired(b, "5", t);
    else
        hb_signal(b, "go", "1");
    *started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    hb_free(b);
    return h;
}

static void race_case(bool signal_first, bool same_batch)
{
    int64_t started;
    tc_history *h = race_history(signal_first, same_batch, &started);
    tc_error err = {0};
    tc_run *r = rt_task(h, started, wf_race, sizeof(race_state), NULL, NULL, &err);
    race_state *st = r->state;
    assert_string_equal(st->winner, signal_first ? "signal" : "timer");
    assert_int_equal(st->n, 2);
    rt_expect(r, "CompleteWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const char *want = signal_first ? "\"signal,timer\"" : "\"timer,signal\"";
    const ProtobufCBinaryData *d =
        &c->complete_workflow_execution_command_attributes->result->payloads[0]->data;
    assert_int_equal(d->len, strlen(want));
    assert_memory_equal(d->data, want, d->len);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    tc_run_free(r);
    tc_history_free(h);
}

static void signal_before_timer_in_one_batch_wins(void **s)
{
    (void)s;
    race_case(true, true);
}

static void timer_before_signal_in_one_batch_wins(void **s)
{
    (void)s;
    race_case(false, true);
}

static void signal_in_earlier_batch_wins(void **s)
{
    (void)s;
    race_case(true, false);
}

static void timer_in_earlier_batch_wins(void **s)
{
    (void)s;
    race_case(false, false);
}

/* ---- first of two activities ---- */

static void wf_first_of_two(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    race_state *st = state;
    tc_future *fs[2] = {tc_wf_activity_start(ctx, "A", "1", &k_opts),
                        tc_wf_activity_start(ctx, "B", "2", &k_opts)};
    size_t i = 99;
    if (tc_wf_wait_any(ctx, fs, 2, &i) != TC_OK)
        return; /* the run is being unwound */
    snprintf(st->winner, sizeof st->winner, "%s", i == 0 ? "A" : "B");
    tc_wf_result res;
    if (tc_future_get(ctx, fs[i], &res) != TC_OK)
        return;
    tc_wf_complete(ctx, res.result_json);
}

static void first_of_two_activities_is_the_first_completed(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "First", NULL);
    hb_wft(b); /* 2,3,4 */
    int64_t a = hb_act_scheduled(b, "5", "A");
    int64_t bb = hb_act_scheduled(b, "6", "B");
    hb_act_started(b, bb);
    hb_act_completed(b, bb, "\"b\"");
    hb_act_started(b, a);
    hb_act_completed(b, a, "\"a\"");
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    hb_free(b);
    tc_error err = {0};
    tc_run *r = rt_task(h, started, wf_first_of_two, sizeof(race_state), NULL, NULL, &err);
    assert_string_equal(((race_state *)r->state)->winner, "B");
    rt_expect(r, "CompleteWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const Temporal__Api__Common__V1__Payloads *res =
        c->complete_workflow_execution_command_attributes->result;
    assert_int_equal(res->n_payloads, 1);
    assert_memory_equal(res->payloads[0]->data.data, "\"b\"", 3);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    tc_run_free(r);
    tc_history_free(h);
}

/* The first task of a run makes its commands with the Go SDK's default ids (event ids). */
static void first_task_schedules_with_event_ids(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "First", NULL);
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    hb_free(b);
    tc_error err = {0};
    tc_run *r = rt_task(h, started, wf_first_of_two, sizeof(race_state), NULL, NULL, &err);
    rt_expect(r, "ScheduleActivityTask:5:A,ScheduleActivityTask:6:B");
    tc_run_free(r);
    tc_history_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signal_before_timer_in_one_batch_wins),
        cmocka_unit_test(timer_before_signal_in_one_batch_wins),
        cmocka_unit_test(signal_in_earlier_batch_wins),
        cmocka_unit_test(timer_in_earlier_batch_wins),
        cmocka_unit_test(first_of_two_activities_is_the_first_completed),
        cmocka_unit_test(first_task_schedules_with_event_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
