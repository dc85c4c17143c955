/* test_temporal_runtime.c - the event-ordered workflow runtime against crafted histories, no
 * server: event order and batches, futures and waits, signals, coroutines, cancellation,
 * continue-as-new, patches, side effects, search attributes and memo, deterministic values,
 * queries, non-determinism, bad input, unwinding. */
#include "query.h"
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
    rt_drive d = {.b = b};
    tc_run *r = rt_drive_task(&d, wf_first_of_two, sizeof(race_state));
    rt_expect(r, "ScheduleActivityTask:5:A,ScheduleActivityTask:6:B");
    rt_drive_free(&d);
}

/* ---- cancellation ---- */

typedef struct cancel_state {
    int rc;
    int cleanup_rc;
    bool saw_cancel;
} cancel_state;

static tc_activity_cancel_mode g_mode;

/* Starts activity Long (cancel mode g_mode), a timer, then cancels the activity when the timer
 * fires; completes with the code the activity's future gave. */
static void wf_cancel_activity(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    cancel_state *st = state;
    tc_activity_options o = {.start_to_close_ms = 60000, .cancel_mode = g_mode};
    tc_future *act = tc_wf_activity_start(ctx, "Long", NULL, &o);
    if (tc_wf_sleep(ctx, 1000) != TC_OK)
        return;
    tc_future_cancel(ctx, act);
    st->rc = tc_future_get(ctx, act, NULL);
    tc_wf_complete(ctx, tc_code_name(st->rc));
}

/* 1 started, 2-4 task, 5 Long scheduled, 6 timer, 7 started, 8 fired, task 9 (answered) */
static hb *cancel_prefix(int64_t *act)
{
    hb *b = hb_new();
    hb_started(b, "Cancel", NULL);
    hb_wft(b);
    *act = hb_act_scheduled(b, "5", "Long");
    hb_timer_started(b, "6", 1000);
    hb_act_started(b, *act);
    hb_timer_fired(b, "6", 6);
    return b;
}

static void try_cancel_resolves_at_once_and_requests_cancel(void **s)
{
    (void)s;
    int64_t act;
    hb *b = cancel_prefix(&act);
    rt_drive d = {.b = b};
    g_mode = TC_CANCEL_TRY;
    tc_run *r = rt_drive_task(&d, wf_cancel_activity, sizeof(cancel_state));
    assert_int_equal(((cancel_state *)r->state)->rc, TC_ERR_CANCELLED);
    rt_expect(r, "RequestCancelActivityTask:5:,CompleteWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    assert_int_equal(c->request_cancel_activity_task_command_attributes->scheduled_event_id, act);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    rt_drive_free(&d);
}

static void wait_cancel_resolves_when_the_activity_reports(void **s)
{
    (void)s;
    int64_t act;
    hb *b = cancel_prefix(&act);
    int64_t t2 = hb_wft_start(b);
    hb_wft_complete(b, t2);
    hb_act_cancel_requested(b, act);
    tc_history *h1 = hb_history(b);
    tc_error err = {0};
    g_mode = TC_CANCEL_WAIT_COMPLETED;
    tc_run *r = rt_task(h1, t2, wf_cancel_activity, sizeof(cancel_state), NULL, NULL, &err);
    /* the request is made, the future still waits */
    rt_expect(r, "RequestCancelActivityTask:5:");
    assert_int_equal(((cancel_state *)r->state)->rc, 0);
    /* next task (sticky): the request is recorded, then the activity acknowledges */
    hb_act_canceled(b, act);
    int64_t t3 = hb_wft_start(b);
    tc_history *h2 = hb_history(b);
    assert_int_equal(rt_more(r, h2, t3, &err), TC_OK);
    assert_int_equal(((cancel_state *)r->state)->rc, TC_ERR_CANCELLED);
    rt_expect(r, "CompleteWorkflowExecution::");
    tc_run_free(r);
    tc_history_free(h1);
    tc_history_free(h2);
    hb_free(b);
}

static void abandon_makes_no_command(void **s)
{
    (void)s;
    int64_t act;
    hb *b = cancel_prefix(&act);
    rt_drive d = {.b = b};
    g_mode = TC_CANCEL_ABANDON;
    tc_run *r = rt_drive_task(&d, wf_cancel_activity, sizeof(cancel_state));
    assert_int_equal(((cancel_state *)r->state)->rc, TC_ERR_CANCELLED);
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&d);
}

/* A 60 s timer raced against signal "stop": the signal cancels the timer. */
static void wf_cancel_timer(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    cancel_state *st = state;
    tc_future *t = tc_wf_timer_start(ctx, 60000);
    if (tc_wf_signal_recv(ctx, "stop", NULL) != TC_OK)
        return;
    tc_future_cancel(ctx, t);
    st->rc = tc_future_get(ctx, t, NULL);
    tc_wf_complete(ctx, NULL);
}

static void timer_cancel_makes_cancel_timer(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "T", NULL);
    hb_wft(b);
    hb_timer_started(b, "5", 60000);
    hb_signal(b, "stop", NULL);
    rt_drive d = {.b = b};
    tc_run *r = rt_drive_task(&d, wf_cancel_timer, sizeof(cancel_state));
    assert_int_equal(((cancel_state *)r->state)->rc, TC_ERR_CANCELLED);
    rt_expect(r, "CancelTimer:5:,CompleteWorkflowExecution::");
    rt_drive_free(&d);
}

static void timer_cancelled_in_its_own_task_makes_no_command(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "T", NULL);
    hb_signal(b, "stop", NULL); /* already there: the timer is cancelled before it is sent */
    rt_drive d = {.b = b};
    tc_run *r = rt_drive_task(&d, wf_cancel_timer, sizeof(cancel_state));
    assert_int_equal(((cancel_state *)r->state)->rc, TC_ERR_CANCELLED);
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&d);
}

/* Saga-like: activity Step; when the run is cancelled, run Undo in a detached section and end
 * CANCELED. */
static void wf_saga(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    cancel_state *st = state;
    tc_wf_result r;
    st->rc = tc_wf_activity(ctx, "Step", NULL, &k_opts, &r);
    if (st->rc == TC_ERR_CANCELLED && tc_wf_cancel_requested(ctx)) {
        st->saw_cancel = true;
        /* a blocking call outside the detached section is cancelled too */
        if (tc_wf_sleep(ctx, 1000) != TC_ERR_CANCELLED)
            return;
        tc_wf_detached_begin(ctx);
        st->cleanup_rc = tc_wf_activity(ctx, "Undo", NULL, &k_opts, &r);
        tc_wf_detached_end(ctx);
        tc_wf_report_cancelled(ctx);
        return;
    }
    tc_wf_complete(ctx, NULL);
}

/* 1 started, 2-4 task, 5 Step scheduled, 6 started, 7 the run's cancel requested */
static hb *saga_cancel_prefix(int64_t *step)
{
    hb *b = hb_new();
    hb_started(b, "Saga", NULL);
    hb_wft(b);
    *step = hb_act_scheduled(b, "5", "Step");
    hb_act_started(b, *step);
    hb_cancel_requested(b);
    return b;
}

static void cancelled_run_cleans_up_in_detached_section(void **s)
{
    (void)s;
    int64_t step;
    hb *b = saga_cancel_prefix(&step);
    rt_drive d = {.b = b};
    tc_run *r = rt_drive_task(&d, wf_saga, sizeof(cancel_state));
    cancel_state *st = r->state;
    assert_true(st->saw_cancel);
    /* the cancel request comes first (made while applying the event), then the cleanup with
     * the event id it will get (12 = task started 9 + 2 + one command before it) */
    rt_expect(r, "RequestCancelActivityTask:5:,ScheduleActivityTask:12:Undo");
    hb_wft_complete(b, d.started);
    hb_act_cancel_requested(b, step);
    int64_t undo = hb_act_scheduled(b, "12", "Undo");
    hb_act_completed(b, undo, "null");
    rt_drive_task(&d, wf_saga, sizeof(cancel_state));
    assert_int_equal(st->cleanup_rc, TC_OK);
    rt_expect(r, "CancelWorkflowExecution::");
    /* the same history replayed from scratch (cache miss) gives the same state */
    hb_wft_complete(b, d.started);
    hb_canceled(b);
    tc_history *h3 = hb_history(b);
    cancel_state again;
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h3, wf_saga, &again, sizeof again, NULL, &err), TC_OK);
    assert_true(again.saw_cancel);
    assert_int_equal(again.cleanup_rc, TC_OK);
    tc_history_free(h3);
    rt_drive_free(&d);
}

/* The run's cancel request and the activity's completion in one batch (a task the server
 * failed because the cancel met a completion recorded meanwhile, retried): the request made
 * while applying the cancel is dropped when the completion follows - the server refuses to
 * cancel an ended activity and would fail every retry of the task. */
static void cancel_request_for_an_activity_ending_in_the_same_batch_is_not_sent(void **s)
{
    (void)s;
    int64_t step;
    hb *b = saga_cancel_prefix(&step);
    hb_act_completed(b, step, "null");
    rt_drive d = {.b = b};
    tc_run *r = rt_drive_task(&d, wf_saga, sizeof(cancel_state));
    cancel_state *st = r->state;
    assert_true(st->saw_cancel); /* TRY resolved it cancelled when the request was applied */
    rt_expect(r, "ScheduleActivityTask:12:Undo");
    rt_drive_free(&d);
}

/* ---- continue-as-new ---- */

static void wf_continue(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    const char *in = tc_wf_input(ctx, 0);
    int n = in ? atoi(in) : 0;
    char next[16];
    snprintf(next, sizeof next, "%d", n + 1);
    tc_continue_options o = {.workflow_type = "Next", .task_queue = "other-queue"};
    tc_wf_continue_as_new(ctx, next, &o);
}

static void continue_as_new_carries_input_type_and_queue(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "Loop", "41");
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    tc_run *r = rt_task(h, started, wf_continue, 0, NULL, NULL, &err);
    rt_expect(r, "ContinueAsNewWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const Temporal__Api__Command__V1__ContinueAsNewWorkflowExecutionCommandAttributes *a =
        c->continue_as_new_workflow_execution_command_attributes;
    assert_string_equal(a->workflow_type->name, "Next");
    assert_string_equal(a->task_queue->name, "other-queue");
    assert_int_equal(a->input->n_payloads, 1);
    assert_memory_equal(a->input->payloads[0]->data.data, "42", 2);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    tc_run_free(r);
    /* and a history that recorded it replays */
    hb_wft_complete(b, started);
    hb_continued_as_new(b, "Next");
    tc_history *h2 = hb_history(b);
    assert_int_equal(tc_replay_history(h2, wf_continue, NULL, 0, NULL, &err), TC_OK);
    tc_history_free(h);
    tc_history_free(h2);
    hb_free(b);
}

/* ---- patches ---- */

typedef struct patch_state {
    bool patched;
    bool deprecated_path;
} patch_state;

/* New code: patched("fix") takes activity B, old path activity A. */
static void wf_patched(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    patch_state *st = state;
    st->patched = tc_wf_patched(ctx, "fix");
    if (tc_wf_activity(ctx, st->patched ? "B" : "A", NULL, &k_opts, NULL) != TC_OK)
        return;
    tc_wf_complete(ctx, NULL);
}

/* Old code: always A. */
static void wf_unpatched(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    if (tc_wf_activity(ctx, "A", NULL, &k_opts, NULL) != TC_OK)
        return;
    tc_wf_complete(ctx, NULL);
}

/* Newest code: the old path is gone. */
static void wf_deprecated(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    patch_state *st = state;
    tc_wf_deprecate_patch(ctx, "fix");
    st->deprecated_path = true;
    if (tc_wf_activity(ctx, "B", NULL, &k_opts, NULL) != TC_OK)
        return;
    tc_wf_complete(ctx, NULL);
}

static tc_history *patch_history(int marker, const char *activity)
{
    /* marker: 0 none, 1 core_patch, 2 deprecated core_patch, 3 Go version marker + upsert */
    hb *b = hb_new();
    hb_started(b, "P", NULL);
    hb_wft(b);
    if (marker == 1 || marker == 2)
        hb_patch_marker(b, "fix", marker == 2);
    if (marker == 3) {
        hb_version_marker(b, "fix", 1);
        hb_upsert_sa(b, "TemporalChangeVersion", "[\"fix-1\"]");
    }
    int64_t a = hb_act_scheduled(b, marker ? (marker == 3 ? "7" : "6") : "5", activity);
    hb_act_completed(b, a, "null");
    hb_wft(b);
    hb_completed(b, NULL);
    tc_history *h = hb_history(b);
    hb_free(b);
    return h;
}

static void new_run_records_a_patch_marker(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "P", NULL);
    rt_drive run = {.b = b};
    tc_run *r = rt_drive_task(&run, wf_patched, sizeof(patch_state));
    assert_true(((patch_state *)r->state)->patched);
    rt_expect(r, "RecordMarker:fix:core_patch,ScheduleActivityTask:6:B");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const Temporal__Api__Command__V1__RecordMarkerCommandAttributes *m =
        c->record_marker_command_attributes;
    assert_string_equal(m->marker_name, "core_patch");
    assert_int_equal(m->n_details, 1);
    assert_string_equal(m->details[0]->key, "patch-data");
    const ProtobufCBinaryData *d = &m->details[0]->value->payloads[0]->data;
    assert_int_equal(d->len, strlen("{\"id\":\"fix\",\"deprecated\":false}"));
    assert_memory_equal(d->data, "{\"id\":\"fix\",\"deprecated\":false}", d->len);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    rt_drive_free(&run);
}

static void patched_code_replays_old_and_new_histories(void **s)
{
    (void)s;
    tc_error err = {0};
    patch_state st;
    tc_history *old = patch_history(0, "A"), *new = patch_history(1, "B"),
               *go = patch_history(3, "B");
    assert_int_equal(tc_replay_history(old, wf_patched, &st, sizeof st, NULL, &err), TC_OK);
    assert_false(st.patched);
    assert_int_equal(tc_replay_history(new, wf_patched, &st, sizeof st, NULL, &err), TC_OK);
    assert_true(st.patched);
    /* a Go SDK history: Version marker + TemporalChangeVersion upsert, activity id 7 */
    assert_int_equal(tc_replay_history(go, wf_patched, &st, sizeof st, NULL, &err), TC_OK);
    assert_true(st.patched);
    /* the old code cannot replay the new history */
    assert_int_equal(tc_replay_history(new, wf_unpatched, NULL, 0, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "core_patch"));
    assert_int_equal(tc_replay_history(go, wf_unpatched, NULL, 0, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "type=B"));
    assert_non_null(strstr(err.text, "type=A"));
    tc_history_free(old);
    tc_history_free(new);
    tc_history_free(go);
}

static void deprecated_patch_replays_marked_histories(void **s)
{
    (void)s;
    tc_error err = {0};
    patch_state st;
    tc_history *new = patch_history(1, "B"), *dep = patch_history(2, "B"),
               *old = patch_history(0, "A");
    assert_int_equal(tc_replay_history(new, wf_deprecated, &st, sizeof st, NULL, &err), TC_OK);
    assert_int_equal(tc_replay_history(dep, wf_deprecated, &st, sizeof st, NULL, &err), TC_OK);
    /* a deprecated marker no code asks for any more is skipped */
    assert_int_equal(tc_replay_history(dep, wf_unpatched, NULL, 0, NULL, &err),
                     TC_ERR_NONDETERMINISM); /* ... but A is still not B */
    assert_null(strstr(err.text, "core_patch"));
    assert_int_equal(tc_replay_history(old, wf_deprecated, &st, sizeof st, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    tc_history_free(new);
    tc_history_free(dep);
    tc_history_free(old);
}

/* ---- side effects and deterministic values ---- */

typedef struct det_state {
    char side[64];
    int calls;
    int64_t now;
    uint64_t rnd;
    char uuid[37];
} det_state;

static int g_side_calls;

static char *make_value(void *arg)
{
    (void)arg;
    g_side_calls++;
    return rt_strdup("{\"v\":7}");
}

static void wf_det(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    det_state *st = state;
    const char *v = NULL;
    if (tc_wf_side_effect(ctx, make_value, NULL, &v) != TC_OK)
        return;
    snprintf(st->side, sizeof st->side, "%s", v);
    st->now = tc_wf_now_ms(ctx);
    st->rnd = tc_wf_random(ctx);
    tc_wf_uuid(ctx, st->uuid);
    tc_wf_complete(ctx, v);
}

static void side_effect_is_recorded_then_replayed_without_calling(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "D", NULL);
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    g_side_calls = 0;
    tc_run *r = rt_task(h, started, wf_det, sizeof(det_state), NULL, NULL, &err);
    det_state first = *(det_state *)r->state;
    assert_int_equal(g_side_calls, 1);
    assert_string_equal(first.side, "{\"v\":7}");
    assert_int_equal(first.now, (1700000000LL + started) * 1000);
    rt_expect(r, "RecordMarker:1:SideEffect,CompleteWorkflowExecution::");
    tc_run_free(r);
    /* replay: the marker says 8, not what the function would give now */
    hb_wft_complete(b, started);
    hb_side_effect_marker(b, 1, "{\"v\":8}");
    hb_completed(b, "{\"v\":8}");
    tc_history *h2 = hb_history(b);
    det_state again;
    g_side_calls = 0;
    assert_int_equal(tc_replay_history(h2, wf_det, &again, sizeof again, NULL, &err), TC_OK);
    assert_int_equal(g_side_calls, 0);
    assert_string_equal(again.side, "{\"v\":8}");
    /* time, random numbers and UUIDs are the same on replay */
    assert_int_equal(again.now, first.now);
    assert_true(again.rnd == first.rnd);
    assert_string_equal(again.uuid, first.uuid);
    assert_int_equal(strlen(again.uuid), 36);
    assert_int_equal(again.uuid[14], '4');
    tc_history_free(h);
    tc_history_free(h2);
    hb_free(b);
}

/* ---- search attributes and memo ---- */

typedef struct props_state {
    char sa_start[64], sa_after[64], memo_start[64], memo_after[64];
    int bad_rc;
} props_state;

static void copy_or_null(char *dst, size_t cap, const char *v)
{
    snprintf(dst, cap, "%s", v ? v : "(absent)");
}

static void wf_props(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    props_state *st = state;
    copy_or_null(st->sa_start, sizeof st->sa_start,
                 tc_wf_search_attribute(ctx, "CustomKeywordField"));
    copy_or_null(st->memo_start, sizeof st->memo_start, tc_wf_memo(ctx, "note"));
    st->bad_rc = tc_wf_upsert_search_attributes(ctx, "[1,2]");
    tc_wf_upsert_search_attributes(ctx, "{\"CustomKeywordField\":\"new\",\"CustomIntField\":3}");
    tc_wf_upsert_memo(ctx, "{\"note\":null,\"extra\":{\"a\":1}}");
    copy_or_null(st->sa_after, sizeof st->sa_after,
                 tc_wf_search_attribute(ctx, "CustomKeywordField"));
    copy_or_null(st->memo_after, sizeof st->memo_after, tc_wf_memo(ctx, "extra"));
    tc_wf_complete(ctx, NULL);
}

static void upserts_are_visible_and_recorded(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started_full(b, "Props", NULL, "CustomKeywordField", "\"old\"", "note", "\"hello\"");
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    tc_run *r = rt_task(h, started, wf_props, sizeof(props_state), NULL, NULL, &err);
    props_state *st = r->state;
    assert_int_equal(st->bad_rc, TC_ERR_INVALID);
    assert_string_equal(st->sa_start, "\"old\"");
    assert_string_equal(st->memo_start, "\"hello\"");
    assert_string_equal(st->sa_after, "\"new\"");
    assert_string_equal(st->memo_after, "{\"a\":1}");
    rt_expect(r, "UpsertWorkflowSearchAttributes::,ModifyWorkflowProperties::,"
                 "CompleteWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const Temporal__Api__Common__V1__SearchAttributes *sa =
        c->upsert_workflow_search_attributes_command_attributes->search_attributes;
    assert_int_equal(sa->n_indexed_fields, 2);
    assert_string_equal(sa->indexed_fields[1]->key, "CustomIntField");
    assert_memory_equal(sa->indexed_fields[1]->value->data.data, "3", 1);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    tc_run_free(r);
    /* replay: the recorded events match */
    hb_wft_complete(b, started);
    hb_upsert_sa(b, "CustomKeywordField", "\"new\"");
    hb_memo_modified(b, "extra", "{\"a\":1}");
    hb_completed(b, NULL);
    tc_history *h2 = hb_history(b);
    props_state again;
    assert_int_equal(tc_replay_history(h2, wf_props, &again, sizeof again, NULL, &err), TC_OK);
    assert_string_equal(again.sa_after, "\"new\"");
    tc_history_free(h);
    tc_history_free(h2);
    hb_free(b);
}

/* ---- signals, conditions, coroutines ---- */

typedef struct sig_state {
    int count;
    char got[8][32];
    int64_t ids[8];
    int await_rc;
    int children;
    bool done;
} sig_state;

static void on_add(tc_wf_ctx *ctx, void *state, const char *name, const tc_wf_result *sig,
                   void *user)
{
    (void)ctx;
    (void)user;
    sig_state *st = state;
    if (st->count < 8) {
        snprintf(st->got[st->count], sizeof st->got[0], "%s:%s:%zu", name, sig->result_json,
                 sig->n_values);
        st->ids[st->count] = sig->event_id;
    }
    st->count++;
}

static bool three(void *arg)
{
    return ((sig_state *)arg)->count >= 3;
}

/* Sleeps first (signals arrive meanwhile, buffered), then sets the handler and waits for 3
 * signals with a timeout. */
static void wf_signals(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    sig_state *st = state;
    if (tc_wf_sleep(ctx, 1000) != TC_OK)
        return;
    tc_wf_set_signal_handler(ctx, "add", on_add, NULL);
    st->await_rc = tc_wf_await_timeout(ctx, 60000, three, st);
    if (st->await_rc == TC_ERR_CANCELLED)
        return;
    tc_wf_complete(ctx, NULL);
}

static void buffered_signals_reach_a_late_handler_in_order(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "S", NULL);
    hb_wft(b);
    int64_t t = hb_timer_started(b, "5", 1000);
    hb_signal(b, "add", "1");       /* 6 */
    hb_signal2(b, "add", "2", "x"); /* 7: two arguments */
    hb_timer_fired(b, "5", t);
    hb_wft(b); /* 9..11: handler set, 2 signals handled, the await starts its timer (12) */
    hb_timer_started(b, "12", 60000);
    hb_signal(b, "add", "3");
    rt_drive d = {.b = b};
    tc_run *r = rt_drive_task(&d, wf_signals, sizeof(sig_state));
    sig_state *st = r->state;
    assert_int_equal(st->count, 3);
    assert_string_equal(st->got[0], "add:1:1");
    assert_string_equal(st->got[1], "add:2:2");
    assert_string_equal(st->got[2], "add:3:1");
    assert_int_equal(st->ids[0], 6);
    assert_int_equal(st->ids[1], 7);
    assert_int_equal(st->await_rc, TC_OK);
    /* the condition came true first: the await's timer is cancelled */
    rt_expect(r, "CancelTimer:12:,CompleteWorkflowExecution::");
    rt_drive_free(&d);
}

static void await_timeout_fires_when_the_condition_stays_false(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "S", NULL);
    hb_wft(b);
    int64_t t = hb_timer_started(b, "5", 1000);
    hb_timer_fired(b, "5", t);
    hb_wft(b); /* 7..9 */
    int64_t t2 = hb_timer_started(b, "10", 60000);
    hb_timer_fired(b, "10", t2);
    rt_drive d = {.b = b};
    tc_run *r = rt_drive_task(&d, wf_signals, sizeof(sig_state));
    assert_int_equal(((sig_state *)r->state)->await_rc, TC_ERR_TIMEOUT);
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&d);
}

static void child(tc_wf_ctx *ctx, void *arg)
{
    sig_state *st = arg;
    tc_wf_result res;
    if (tc_wf_activity(ctx, "Child", NULL, &k_opts, &res) == TC_OK)
        st->children++;
}

/* Two coroutines each run an activity; the main one waits for both. */
static void wf_go(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    sig_state *st = state;
    tc_future *fs[2] = {tc_wf_go(ctx, child, st), tc_wf_go(ctx, child, st)};
    if (tc_wf_wait_all(ctx, fs, 2) != TC_OK)
        return;
    st->done = true;
    tc_wf_complete(ctx, NULL);
}

static void coroutines_run_in_creation_order(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "Go", NULL);
    rt_drive d = {.b = b};
    tc_run *r = rt_drive_task(&d, wf_go, sizeof(sig_state));
    rt_expect(r, "ScheduleActivityTask:5:Child,ScheduleActivityTask:6:Child");
    hb_wft_complete(b, d.started);
    int64_t a = hb_act_scheduled(b, "5", "Child"), c = hb_act_scheduled(b, "6", "Child");
    hb_act_completed(b, c, "null");
    hb_act_completed(b, a, "null");
    rt_drive_task(&d, wf_go, sizeof(sig_state));
    assert_true(((sig_state *)r->state)->done);
    assert_int_equal(((sig_state *)r->state)->children, 2);
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&d);
}

/* ---- unwinding ---- */

static int g_freed;

/* Holds heap memory across a blocking call and frees it on every path. */
static void wf_holds_memory(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    char *buf = malloc(4096);
    if (!buf)
        return;
    int rc = tc_wf_signal_recv(ctx, "never", NULL);
    free(buf);
    g_freed++;
    if (rc == TC_OK)
        tc_wf_complete(ctx, NULL);
}

static void freeing_a_blocked_run_unwinds_its_coroutine(void **s)
{
    (void)s;
    int64_t started;
    tc_history *h = rt_first_task_history("Hold", &started);
    tc_error err = {0};
    g_freed = 0;
    tc_run *r = rt_task(h, started, wf_holds_memory, 0, NULL, NULL, &err);
    assert_int_equal(rt_ncmds(r), 0);
    assert_int_equal(g_freed, 0);
    tc_run_free(r); /* LeakSanitizer checks the 4 KiB was freed */
    assert_int_equal(g_freed, 1);
    tc_history_free(h);
}

/* A new run of fn fails its first task: TC_ERR_TASK_FAILED, with want in the error text. */
static void first_task_fails(tc_workflow_fn fn, const char *want)
{
    int64_t started;
    tc_history *h = rt_first_task_history("P", &started);
    tc_error err = {0};
    int rc;
    tc_run *r = rt_task(h, started, fn, 0, NULL, &rc, &err);
    assert_int_equal(rc, TC_ERR_TASK_FAILED);
    assert_non_null(strstr(err.text, want));
    tc_run_free(r);
    tc_history_free(h);
}

static void wf_panics(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_wf_panic(ctx, "bad input %d", 42);
}

static void panic_fails_the_task_with_its_message(void **s)
{
    (void)s;
    first_task_fails(wf_panics, "bad input 42");
}

static void wf_bad_option(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_activity_options o = {0}; /* no timeout */
    tc_wf_activity(ctx, "A", NULL, &o, NULL);
    tc_wf_complete(ctx, NULL);
}

static void invalid_option_fails_the_task(void **s)
{
    (void)s;
    first_task_fails(wf_bad_option, "start_to_close_ms");
}

/* ---- queries ---- */

static int q_echo(const void *state, const char *const *args, size_t n_args, void *user, char **out,
                  tc_error *err)
{
    (void)state;
    (void)user;
    (void)err;
    char buf[256] = "[";
    for (size_t i = 0; i < n_args; i++) {
        strcat(buf, i ? "," : "");
        strcat(buf, args[i]);
    }
    strcat(buf, "]");
    *out = rt_strdup(buf);
    return TC_OK;
}

static int q_count(const void *state, const char *const *args, size_t n_args, void *user,
                   char **out, tc_error *err)
{
    (void)args;
    (void)user;
    const sig_state *st = state;
    if (n_args != 0) {
        snprintf(err->text, sizeof err->text, "count takes no argument, got %zu", n_args);
        return TC_ERR_INVALID;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%d", st->count);
    *out = rt_strdup(buf);
    return TC_OK;
}

static void wf_query(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    sig_state *st = state;
    tc_wf_set_query_handler(ctx, "count", q_count, NULL);
    st->count = 5;
    tc_wf_complete(ctx, NULL); /* returns: the state stays readable */
}

static tc_pb_payloads *args2(tc_pl1 *a, tc_pl1 *b2, tc_pb_payloads *ps, tc_pb_payload **pp)
{
    tc_pl1_init(a, "\"x\"");
    tc_pl1_init(b2, "{\"k\":1}");
    pp[0] = &a->pl.p;
    pp[1] = &b2->pl.p;
    temporal__api__common__v1__payloads__init(ps);
    ps->n_payloads = 2;
    ps->payloads = pp;
    return ps;
}

static void queries_see_state_after_return_and_every_argument(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "Q", NULL);
    rt_drive d = {.b = b};
    tc_run *r = rt_drive_task(&d, wf_query, sizeof(sig_state));
    tc_handler reg[] = {{.name = "echo", .qfn = q_echo}, {.name = "count", .qfn = q_echo}};
    char *json = NULL, *etext = NULL;
    tc_pl1 a, b2;
    tc_pb_payloads ps;
    tc_pb_payload *pp[2];
    /* the handler the workflow set wins over the registered one of the same name */
    assert_true(tc_query_answer(r, reg, 2, "count", NULL, &json, &etext));
    assert_string_equal(json, "5");
    free(json);
    assert_true(tc_query_answer(r, reg, 2, "echo", args2(&a, &b2, &ps, pp), &json, &etext));
    assert_string_equal(json, "[\"x\",{\"k\":1}]");
    free(json);
    /* wrong arguments reach the handler, which fails the query */
    assert_false(tc_query_answer(r, reg, 2, "count", &ps, &json, &etext));
    assert_string_equal(etext, "count takes no argument, got 2");
    free(etext);
    assert_false(tc_query_answer(r, reg, 2, "nope", NULL, &json, &etext));
    assert_string_equal(etext,
                        "unknown queryType nope. KnownQueryTypes=[__stack_trace count echo]");
    free(etext);
    assert_true(tc_query_answer(r, reg, 2, "__stack_trace", NULL, &json, &etext));
    assert_non_null(strstr(json, "coroutine 0 (workflow): done"));
    free(json);
    /* an argument the converter cannot decode fails the query, naming it */
    a.pl.me[0].value.data = (uint8_t *)"binary/encrypted";
    a.pl.me[0].value.len = strlen("binary/encrypted");
    assert_false(tc_query_answer(r, reg, 2, "echo", &ps, &json, &etext));
    assert_non_null(strstr(etext, "binary/encrypted"));
    free(etext);
    rt_drive_free(&d);
}

/* ---- non-determinism ---- */

static void wf_timer_first(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    if (tc_wf_sleep(ctx, 1000) != TC_OK)
        return;
    tc_wf_complete(ctx, NULL);
}

static void wf_two_steps(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    if (tc_wf_activity(ctx, "A", NULL, &k_opts, NULL) != TC_OK ||
        tc_wf_activity(ctx, "B", NULL, &k_opts, NULL) != TC_OK)
        return;
    tc_wf_complete(ctx, NULL);
}

static void nondeterminism_names_history_and_code(void **s)
{
    (void)s;
    tc_history *h = patch_history(0, "A"); /* ScheduleActivityTask(id=5, type=A) */
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_timer_first, NULL, 0, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(
        strstr(err.text, "history event 5 recorded ScheduleActivityTask(id=5, type=A)"));
    assert_non_null(strstr(err.text, "the workflow code made StartTimer(id=5)"));
    /* code that makes one command more than history recorded */
    assert_int_equal(tc_replay_history(h, wf_two_steps, NULL, 0, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "recorded CompleteWorkflowExecution but the workflow code "
                                     "made ScheduleActivityTask(id=10, type=B)"));
    tc_history_free(h);
}

/* ---- bad input ---- */

static int bad_history(void (*build)(hb *), char *text, size_t cap)
{
    hb *b = hb_new();
    build(b);
    tc_history *h = hb_history(b);
    hb_free(b);
    tc_error err = {0};
    int rc = tc_replay_history(h, wf_unpatched, NULL, 0, NULL, &err);
    snprintf(text, cap, "%s", err.text);
    tc_history_free(h);
    return rc;
}

static void build_unknown_type(hb *b)
{
    hb_started(b, "U", NULL);
    hb_raw(b, 99);
    hb_wft(b);
}

static void build_bad_payload(hb *b)
{
    hb_started(b, "U", NULL);
    hb_wft(b);
    int64_t a = hb_act_scheduled(b, "5", "A");
    hb_act_completed_enc(b, a, "binary/encrypted", "\x01\x02");
    hb_wft(b);
}

static void build_gap(hb *b)
{
    hb_started(b, "U", NULL);
    hb_skip_id(b);
    hb_wft(b);
}

static void build_no_attributes(hb *b)
{
    hb_started(b, "U", NULL);
    hb_wft(b);
    hb_raw(b, TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
}

static void build_no_start(hb *b)
{
    hb_wft(b);
}

static void build_nexus(hb *b)
{
    hb_started(b, "U", NULL);
    hb_wft(b);
    hb_raw(b, TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_NEXUS_OPERATION_SCHEDULED);
}

static void build_dangling_result(hb *b)
{
    hb_started(b, "U", NULL);
    hb_wft(b);
    hb_act_scheduled(b, "5", "A");
    hb_act_completed(b, 3, "1"); /* refers to a WorkflowTaskStarted */
}

static void bad_input_fails_naming_the_event(void **s)
{
    (void)s;
    char t[1024];
    assert_int_equal(bad_history(build_unknown_type, t, sizeof t), TC_ERR_PROTOCOL);
    assert_non_null(strstr(t, "history event 2 has a type this runtime does not know"));
    assert_int_equal(bad_history(build_bad_payload, t, sizeof t), TC_ERR_PROTOCOL);
    assert_non_null(strstr(t, "event 6 (ActivityTaskCompleted)"));
    assert_non_null(strstr(t, "binary/encrypted"));
    assert_int_equal(bad_history(build_gap, t, sizeof t), TC_ERR_PROTOCOL);
    assert_non_null(strstr(t, "jumps from event 1 to event 3"));
    assert_int_equal(bad_history(build_no_attributes, t, sizeof t), TC_ERR_PROTOCOL);
    assert_non_null(strstr(t, "event 5 (ActivityTaskScheduled) does not carry its attributes"));
    assert_int_equal(bad_history(build_no_start, t, sizeof t), TC_ERR_PROTOCOL);
    assert_non_null(strstr(t, "not WorkflowExecutionStarted"));
    assert_int_equal(bad_history(build_nexus, t, sizeof t), TC_ERR_TASK_FAILED);
    assert_non_null(strstr(t, "not supported yet: NexusOperationScheduled"));
    assert_int_equal(bad_history(build_dangling_result, t, sizeof t), TC_ERR_PROTOCOL);
    assert_non_null(strstr(t, "refers to event 3"));
}

static void truncated_task_history_is_refused(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "U", NULL);
    hb_wft(b);
    tc_history *h = hb_history(b);
    hb_free(b);
    tc_error err = {0};
    int rc;
    tc_run *r = rt_task(h, 9, wf_unpatched, 0, NULL, &rc, &err);
    assert_int_equal(rc, TC_ERR_PROTOCOL);
    assert_non_null(strstr(err.text, "truncated"));
    tc_run_free(r);
    tc_history_free(h);
}

/* ---- cached runs ---- */

static void cached_run_continues_like_a_full_replay(void **s)
{
    (void)s;
    /* task 1 answered, then task 2 from the cache, against the same history from scratch */
    hb *b = hb_new();
    hb_started(b, "Go", NULL);
    rt_drive d = {.b = b};
    tc_run *cached = rt_drive_task(&d, wf_go, sizeof(sig_state));
    hb_wft_complete(b, d.started);
    int64_t a = hb_act_scheduled(b, "5", "Child"), c = hb_act_scheduled(b, "6", "Child");
    hb_act_completed(b, a, "null");
    hb_act_completed(b, c, "null");
    rt_drive_task(&d, wf_go, sizeof(sig_state));
    tc_error err = {0};
    tc_run *fresh = rt_task(d.h[d.nh - 1], d.started, wf_go, sizeof(sig_state), NULL, NULL, &err);
    assert_true(fresh->replaying == false);
    rt_expect(cached, "CompleteWorkflowExecution::");
    rt_expect(fresh, "CompleteWorkflowExecution::");
    assert_memory_equal(cached->state, fresh->state, sizeof(sig_state));
    tc_run_free(fresh);
    rt_drive_free(&d);
}

static void failed_task_makes_the_cached_run_stale(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "Go", NULL);
    int64_t t1 = hb_wft_start(b);
    tc_history *h1 = hb_history(b);
    tc_error err = {0};
    tc_run *r = rt_task(h1, t1, wf_go, sizeof(sig_state), NULL, NULL, &err);
    /* the server did not take that answer: the task timed out, a new one started */
    hb_wft_timeout(b, t1);
    int64_t t2 = hb_wft_start(b);
    tc_history *h2 = hb_history(b);
    assert_int_equal(rt_more(r, h2, t2, &err), TC_ERR_STATE);
    tc_run_free(r);
    /* from scratch it is the first task the code answers */
    r = rt_task(h2, t2, wf_go, sizeof(sig_state), NULL, NULL, &err);
    rt_expect(r, "ScheduleActivityTask:8:Child,ScheduleActivityTask:9:Child");
    tc_run_free(r);
    tc_history_free(h1);
    tc_history_free(h2);
    hb_free(b);
}

/* ---- commands made earlier than history recorded them ---- */

/* 1 started (workflow_type), 2-4 task, 5 activity A scheduled, 6 completed */
static hb *a_completed_prefix(const char *workflow_type)
{
    hb *b = hb_new();
    hb_started(b, workflow_type, NULL);
    hb_wft(b);
    int64_t a = hb_act_scheduled(b, "5", "A");
    hb_act_completed(b, a, "null");
    return b;
}

/* Schedules A and B together, then completes. */
static void wf_together(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_future *fs[2] = {tc_wf_activity_start(ctx, "A", "1", &k_opts),
                        tc_wf_activity_start(ctx, "B", "2", &k_opts)};
    if (tc_wf_wait_all(ctx, fs, 2) != TC_OK)
        return;
    tc_wf_complete(ctx, NULL);
}

static void commands_made_earlier_than_recorded_still_match(void **s)
{
    (void)s;
    /* older code scheduled A, and B only after A completed (ids as that code gave them) */
    hb *b = a_completed_prefix("T");
    hb_wft(b); /* 7..9 */
    int64_t b2 = hb_act_scheduled(b, "6", "B");
    hb_act_completed(b, b2, "null");
    hb_wft(b);
    hb_completed(b, NULL);
    tc_history *h = hb_history(b);
    hb_free(b);
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_together, NULL, 0, NULL, &err), TC_OK);
    tc_history_free(h);
}

static void command_history_never_recorded_is_sent_live(void **s)
{
    (void)s;
    /* history recorded A only, then A completed: the code's B was never sent */
    hb *b = a_completed_prefix("T");
    rt_drive d = {.b = b};
    tc_run *r = rt_drive_task(&d, wf_together, 0);
    rt_expect(r, "ScheduleActivityTask:6:B");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    assert_string_equal(c->schedule_activity_task_command_attributes->activity_type->name, "B");
    assert_memory_equal(c->schedule_activity_task_command_attributes->input->payloads[0]->data.data,
                        "2", 1);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    rt_drive_free(&d);
}

/* ---- odd inputs to the runtime's own JSON ---- */

static void wf_odd_patch(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    patch_state *st = state;
    st->patched = tc_wf_patched(ctx, "a\"b\\c");
    tc_wf_complete(ctx, NULL);
}

static void patch_ids_are_escaped_in_marker_json(void **s)
{
    (void)s;
    int64_t started;
    tc_history *h = rt_first_task_history("P", &started);
    tc_error err = {0};
    /* a small stack is enough for a small workflow */
    tc_run_setup setup = {
        .fn = wf_odd_patch, .state_size = sizeof(patch_state), .stack_size = 32 * 1024};
    tc_run *r = tc_run_new("odd", "odd-run", &setup);
    assert_int_equal(tc_run_feed(r, h->events, h->n, started, &err), TC_OK);
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const ProtobufCBinaryData *d =
        &c->record_marker_command_attributes->details[0]->value->payloads[0]->data;
    const char *want = "{\"id\":\"a\\\"b\\\\c\",\"deprecated\":false}";
    assert_int_equal(d->len, strlen(want));
    assert_memory_equal(d->data, want, d->len);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    tc_run_free(r);
    tc_history_free(h);
}

/* ---- logging ---- */

static char g_log[1024];
static int g_log_lines;

static void capture(const tc_log_record *rec, void *user)
{
    (void)user;
    g_log_lines++;
    snprintf(g_log, sizeof g_log, "%d|%s|%s|%s", rec->level, rec->workflow_id, rec->run_id,
             rec->message);
}

/* Logs before and after each of two activities. */
static void wf_logs(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    for (int i = 1; i <= 2; i++) {
        tc_wf_log(ctx, TC_LOG_INFO, "step %d", i);
        if (tc_wf_activity(ctx, "A", NULL, &k_opts, NULL) != TC_OK)
            return;
    }
    tc_wf_log(ctx, TC_LOG_DEBUG, "below the level: dropped");
    tc_wf_log(ctx, TC_LOG_WARN, "done");
    tc_wf_complete(ctx, NULL);
}

static void logger_is_silent_while_replaying(void **s)
{
    (void)s;
    hb *b = a_completed_prefix("L");
    hb_wft(b); /* 7..9 */
    int64_t a2 = hb_act_scheduled(b, "10", "A");
    hb_act_completed(b, a2, "null");
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    hb_free(b);
    tc_logger lg = {capture, NULL, TC_LOG_INFO};
    tc_run_setup setup = {.fn = wf_logs, .log = &lg};
    tc_run *r = tc_run_new("log-wf", "log-run", &setup);
    tc_error err = {0};
    g_log_lines = 0;
    assert_int_equal(tc_run_feed(r, h->events, h->n, started, &err), TC_OK);
    /* "step 1" and "step 2" ran in replayed tasks: only the last task's line is written */
    assert_int_equal(g_log_lines, 1);
    assert_string_equal(g_log, "3|log-wf|log-run|done");
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
        cmocka_unit_test(try_cancel_resolves_at_once_and_requests_cancel),
        cmocka_unit_test(wait_cancel_resolves_when_the_activity_reports),
        cmocka_unit_test(cancel_request_for_an_activity_ending_in_the_same_batch_is_not_sent),
        cmocka_unit_test(abandon_makes_no_command),
        cmocka_unit_test(timer_cancel_makes_cancel_timer),
        cmocka_unit_test(timer_cancelled_in_its_own_task_makes_no_command),
        cmocka_unit_test(cancelled_run_cleans_up_in_detached_section),
        cmocka_unit_test(continue_as_new_carries_input_type_and_queue),
        cmocka_unit_test(new_run_records_a_patch_marker),
        cmocka_unit_test(patched_code_replays_old_and_new_histories),
        cmocka_unit_test(deprecated_patch_replays_marked_histories),
        cmocka_unit_test(side_effect_is_recorded_then_replayed_without_calling),
        cmocka_unit_test(upserts_are_visible_and_recorded),
        cmocka_unit_test(buffered_signals_reach_a_late_handler_in_order),
        cmocka_unit_test(await_timeout_fires_when_the_condition_stays_false),
        cmocka_unit_test(coroutines_run_in_creation_order),
        cmocka_unit_test(freeing_a_blocked_run_unwinds_its_coroutine),
        cmocka_unit_test(panic_fails_the_task_with_its_message),
        cmocka_unit_test(invalid_option_fails_the_task),
        cmocka_unit_test(queries_see_state_after_return_and_every_argument),
        cmocka_unit_test(nondeterminism_names_history_and_code),
        cmocka_unit_test(bad_input_fails_naming_the_event),
        cmocka_unit_test(truncated_task_history_is_refused),
        cmocka_unit_test(cached_run_continues_like_a_full_replay),
        cmocka_unit_test(failed_task_makes_the_cached_run_stale),
        cmocka_unit_test(logger_is_silent_while_replaying),
        cmocka_unit_test(patch_ids_are_escaped_in_marker_json),
        cmocka_unit_test(commands_made_earlier_than_recorded_still_match),
        cmocka_unit_test(command_history_never_recorded_is_sent_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
