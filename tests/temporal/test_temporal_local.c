/* test_temporal_local.c - local activities without a server: retry and backoff decisions, the
 * marker's data (Go SDK format) both ways, replay from markers (results, failures, durable
 * backoff rounds), the commands a live task makes as attempts finish, the three cancel modes,
 * and non-determinism when the code asks for another local activity than history recorded. */
#include "json_lite.h"
#include "local_activity.h"
#include "rt_util.h"

#include "la_workflows.h"

static const tc_local_activity_options k_lo = {.start_to_close_ms = 5000};

/* ---- retry decisions ---- */

static tc_la_policy policy(int64_t initial, double coeff, int64_t max, int attempts)
{
    tc_la_policy p = {initial, coeff, max, attempts, NULL, 0};
    return p;
}

static void backoff_grows_by_coefficient_up_to_maximum(void **s)
{
    (void)s;
    tc_la_policy p = policy(1000, 2.0, 10000, 0);
    int64_t b;
    int64_t want[] = {1000, 2000, 4000, 8000, 10000, 10000};
    for (int a = 1; a <= 6; a++) {
        assert_int_equal(tc_la_retry_decide(&p, a, "Err", false, false, 0, 0, 10000, &b),
                         LA_RETRY_LOCAL);
        assert_int_equal(b, want[a - 1]);
    }
}

static void maximum_attempts_end_the_retries(void **s)
{
    (void)s;
    tc_la_policy p = policy(1, 1.0, 1, 5);
    int64_t b;
    assert_int_equal(tc_la_retry_decide(&p, 4, "Err", false, false, 0, 0, 10000, &b),
                     LA_RETRY_LOCAL);
    assert_int_equal(tc_la_retry_decide(&p, 5, "Err", false, false, 0, 0, 10000, &b),
                     LA_RETRY_NONE);
    assert_int_equal(b, 0);
}

static void non_retryable_failures_are_not_retried(void **s)
{
    (void)s;
    char *types[] = {"MyError"};
    tc_la_policy p = policy(1000, 2.0, 10000, 0);
    p.non_retryable = types;
    p.n_non_retryable = 1;
    int64_t b;
    assert_int_equal(tc_la_retry_decide(&p, 1, "Err", true, false, 0, 0, 10000, &b), LA_RETRY_NONE);
    assert_int_equal(tc_la_retry_decide(&p, 1, "MyError", false, false, 0, 0, 10000, &b),
                     LA_RETRY_NONE);
    assert_int_equal(tc_la_retry_decide(&p, 1, "CanceledError", false, false, 0, 0, 10000, &b),
                     LA_RETRY_NONE);
    assert_int_equal(tc_la_retry_decide(&p, 1, "TimeoutError", false, true, 0, 0, 10000, &b),
                     LA_RETRY_NONE);
    assert_int_equal(tc_la_retry_decide(&p, 1, "TimeoutError", false, false, 0, 0, 10000, &b),
                     LA_RETRY_LOCAL);
}

static void backoff_past_threshold_uses_a_durable_timer(void **s)
{
    (void)s;
    tc_la_policy p = policy(2000, 1.0, 2000, 3);
    int64_t b;
    assert_int_equal(tc_la_retry_decide(&p, 1, "Err", false, false, 0, 0, 1000, &b),
                     LA_RETRY_TIMER);
    assert_int_equal(b, 2000);
    assert_int_equal(tc_la_retry_decide(&p, 1, "Err", false, false, 0, 0, 2000, &b),
                     LA_RETRY_LOCAL);
}

static void schedule_to_close_stops_a_retry_that_cannot_start_in_time(void **s)
{
    (void)s;
    tc_la_policy p = policy(1000, 2.0, 10000, 0);
    int64_t b;
    assert_int_equal(tc_la_retry_decide(&p, 2, "Err", false, false, 3500, 5000, 10000, &b),
                     LA_RETRY_NONE);
    assert_int_equal(tc_la_retry_decide(&p, 2, "Err", false, false, 2500, 5000, 10000, &b),
                     LA_RETRY_LOCAL);
    assert_int_equal(b, 2000);
}

/* ---- marker data ---- */

static tc_pb_event *marker_event(hb **bp, tc_history **hp, const char *id, const char *type,
                                 int attempt, int64_t backoff_ms)
{
    hb *b = hb_new();
    hb_la_marker(b, id, type, attempt, "\"r\"", NULL, NULL, backoff_ms);
    *hp = hb_history(b);
    *bp = b;
    return (*hp)->events[0];
}

static void go_marker_data_is_read(void **s)
{
    (void)s;
    hb *b;
    tc_history *h;
    tc_pb_event *ev = marker_event(&b, &h, "3", "Echo", 2, 1500);
    tc_la_marker m;
    tc_error err;
    assert_true(tc_la_is_marker(ev));
    assert_int_equal(tc_la_marker_parse(ev, &m, &err), TC_OK);
    assert_string_equal(m.activity_id, "3");
    assert_string_equal(m.activity_type, "Echo");
    assert_int_equal(m.attempt, 2);
    assert_int_equal(m.backoff_ms, 1500);
    assert_int_equal(m.replay_time_ms, 1700000000500LL); /* 2023-11-14T22:13:20.5Z */
    assert_false(m.core);
    tc_la_marker_clear(&m);
    tc_history_free(h);
    hb_free(b);
}

static int member_count(const char *k, const char *v, size_t n, void *arg)
{
    (void)k, (void)v, (void)n;
    ++*(int *)arg;
    return 0;
}

static void marker_json_has_go_fields_and_escapes(void **s)
{
    (void)s;
    tc_la_marker m = {(char *)"12", (char *)"Do\"it", 3, 2000, 1700000000123LL, false};
    char *json = tc_la_marker_json(&m);
    assert_non_null(json);
    assert_string_equal(json, "{\"ActivityID\":\"12\",\"ActivityType\":\"Do\\\"it\",\"ReplayTime\":"
                              "\"2023-11-14T22:13:20.123Z\",\"Attempt\":3,\"Backoff\":2000000000}");
    int n = 0;
    assert_int_equal(tc_json_members(json, strlen(json), member_count, &n), 0);
    assert_int_equal(n, 5);
    free(json);
}

static void marker_without_data_is_a_protocol_error(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_la_marker(b, "1", "Echo", 1, NULL, NULL, NULL, 0);
    tc_history *h = hb_history(b);
    /* strip the data detail */
    h->events[0]->marker_recorded_event_attributes->n_details = 0;
    tc_la_marker m;
    tc_error err;
    assert_int_equal(tc_la_marker_parse(h->events[0], &m, &err), TC_ERR_PROTOCOL);
    assert_non_null(strstr(err.text, "no readable \"data\""));
    h->events[0]->marker_recorded_event_attributes->n_details = 1;
    tc_history_free(h);
    hb_free(b);
}

/* ---- workflows ---- */

typedef struct la_state {
    char out[256];
    int rc[4];
    char ftype[64];
} la_state;

/* Echo("a"), Echo("b"), Echo("c") one after the other; completes with their results joined. */
static void wf_serial(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    la_state *st = state;
    const char *in[] = {"\"a\"", "\"b\"", "\"c\""};
    char out[256] = "[";
    for (int i = 0; i < 3; i++) {
        tc_wf_result r;
        st->rc[i] = tc_wf_local_activity(ctx, "Echo", in[i], &k_lo, &r);
        if (st->rc[i] != TC_OK) {
            snprintf(st->ftype, sizeof st->ftype, "%s", r.failure_type ? r.failure_type : "");
            tc_wf_fail(ctx, r.failure_type, r.failure_message, false);
            return;
        }
        strcat(out, i ? "," : "");
        strncat(out, r.result_json, 60);
    }
    strcat(out, "]");
    snprintf(st->out, sizeof st->out, "%s", out);
    tc_wf_complete(ctx, out);
}

/* started; task 1 (2-4); markers 1..n; completed */
static tc_history *serial_history(int n_markers, const char *type2)
{
    hb *b = hb_new();
    hb_started(b, "Serial", NULL);
    hb_wft(b);
    const char *res[] = {"\"A\"", "\"B\"", "\"C\""};
    for (int i = 0; i < n_markers; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i + 1);
        hb_la_marker(b, id, i == 1 && type2 ? type2 : "Echo", 1, res[i], NULL, NULL, 0);
    }
    if (n_markers == 3)
        hb_completed(b, "[\"A\",\"B\",\"C\"]");
    tc_history *h = hb_history(b);
    hb_free(b);
    return h;
}

static void replay_takes_results_from_markers(void **s)
{
    (void)s;
    tc_history *h = serial_history(3, NULL);
    la_state st;
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_serial, &st, sizeof st, NULL, &err), TC_OK);
    assert_string_equal(st.out, "[\"A\",\"B\",\"C\"]");
    tc_history_free(h);
}

static void replay_of_another_local_activity_type_is_nondeterminism(void **s)
{
    (void)s;
    tc_history *h = serial_history(3, "Charge");
    la_state st;
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_serial, &st, sizeof st, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "recorded local activity Charge (ActivityID 2)"));
    assert_non_null(strstr(err.text, "started local activity Echo"));
    tc_history_free(h);
}

/* A workflow that makes no local activity replayed on a history that has one. */
static void wf_none(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_complete(ctx, "[\"A\",\"B\",\"C\"]");
}

static void marker_the_code_did_not_make_is_nondeterminism(void **s)
{
    (void)s;
    tc_history *h = serial_history(3, NULL);
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_none, NULL, 0, NULL, &err), TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "LocalActivity"));
    tc_history_free(h);
}

/* A run's first workflow task, live (nothing recorded yet). */
typedef struct first_task {
    hb *b;
    tc_history *h;
    tc_run *r;
} first_task;

static tc_run *first_start(first_task *t, tc_workflow_fn fn, size_t state_size, void *user)
{
    tc_error err = {0};
    t->b = hb_new();
    hb_started(t->b, "Wf", NULL);
    int64_t started = hb_wft_start(t->b);
    t->h = hb_history(t->b);
    t->r = rt_task(t->h, started, fn, state_size, user, NULL, &err);
    return t->r;
}

static void first_end(first_task *t)
{
    tc_run_free(t->r);
    tc_history_free(t->h);
    hb_free(t->b);
}

/* The first task, live: each finished attempt records a marker and runs the code on. */
static tc_la *la_at(tc_run *r, size_t i)
{
    assert_non_null(r->la);
    assert_true(i < r->la->n);
    return r->la->v[i];
}

static void live_task_records_a_marker_per_result_in_order(void **s)
{
    (void)s;
    first_task t;
    tc_run *r = first_start(&t, wf_serial, sizeof(la_state), NULL);
    assert_int_equal(rt_ncmds(r), 0);
    assert_int_equal(la_at(r, 0)->state, LA_DISPATCHED);
    assert_string_equal(la_at(r, 0)->id, "1");
    assert_string_equal(la_at(r, 0)->inputs[0], "\"a\"");
    const char *res[] = {"\"A\"", "\"B\"", "\"C\""};
    for (size_t i = 0; i < 3; i++) {
        tc_la_complete(r, la_at(r, i), 1, res[i]);
        tc_la_run_code(r);
    }
    rt_expect(r, "RecordMarker:1:LocalActivity,RecordMarker:2:LocalActivity,"
                 "RecordMarker:3:LocalActivity,CompleteWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 1));
    const Temporal__Api__Command__V1__RecordMarkerCommandAttributes *a =
        c->record_marker_command_attributes;
    assert_string_equal(a->marker_name, "LocalActivity");
    assert_null(a->failure);
    int seen = 0;
    for (size_t i = 0; i < a->n_details; i++) {
        const ProtobufCBinaryData *d = &a->details[i]->value->payloads[0]->data;
        char *text = strndup((const char *)d->data, d->len);
        if (strcmp(a->details[i]->key, "result") == 0) {
            assert_string_equal(text, "\"B\"");
            seen++;
        } else if (strcmp(a->details[i]->key, "data") == 0) {
            assert_non_null(strstr(text, "\"ActivityID\":\"2\",\"ActivityType\":\"Echo\""));
            assert_non_null(strstr(text, "\"Attempt\":1,\"Backoff\":0}"));
            seen++;
        }
        free(text);
    }
    assert_int_equal(seen, 2);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    assert_string_equal(((la_state *)r->state)->out, "[\"A\",\"B\",\"C\"]");
    first_end(&t);
}

static void final_failure_is_recorded_and_reaches_the_code(void **s)
{
    (void)s;
    first_task t;
    tc_run *r = first_start(&t, wf_serial, sizeof(la_state), NULL);
    tc_appfail af;
    tc_la_fail(r, la_at(r, 0), 3, tc_appfail_init(&af, "OutOfStock", "none left", true), 0);
    tc_la_run_code(r);
    rt_expect(r, "RecordMarker:1:LocalActivity,FailWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const tc_pb_failure *f = c->record_marker_command_attributes->failure;
    assert_non_null(f);
    assert_string_equal(f->message, "none left");
    assert_string_equal(f->application_failure_info->type, "OutOfStock");
    assert_int_equal(c->record_marker_command_attributes->n_details, 1); /* data, no result */
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    assert_int_equal(((la_state *)r->state)->rc[0], TC_ERR_FAILED);
    assert_string_equal(((la_state *)r->state)->ftype, "OutOfStock");
    first_end(&t);
}

/* Re-raising the local activity's failure: an ActivityFailure naming it, caused by the
 * failure the attempt raised (with its cause). */
static void wf_reraise(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_future *f = tc_wf_local_activity_start(ctx, "Charge", NULL, &k_lo);
    if (tc_future_get(ctx, f, NULL) == TC_ERR_FAILED)
        tc_wf_fail_future(ctx, f);
}

static void failure_is_reraised_as_an_activity_failure_with_its_cause(void **s)
{
    (void)s;
    first_task t;
    tc_run *r = first_start(&t, wf_reraise, 0, NULL);
    tc_failure cause = {.message = "card declined"};
    tc_failure raised = {
        .type = "Payment", .message = "charge failed", .non_retryable = true, .cause = &cause};
    size_t len = 0;
    uint8_t *packed = tc_failure_pack(&raised, &len);
    tc_pb_failure *pf = temporal__api__failure__v1__failure__unpack(NULL, len, packed);
    tc_la_fail(r, la_at(r, 0), 1, pf, 0);
    tc_la_run_code(r);
    temporal__api__failure__v1__failure__free_unpacked(pf, NULL);
    free(packed);
    rt_expect(r, "RecordMarker:1:LocalActivity,FailWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 1));
    const tc_pb_failure *f = c->fail_workflow_execution_command_attributes->failure;
    assert_int_equal(f->failure_info_case,
                     TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_ACTIVITY_FAILURE_INFO);
    assert_string_equal(f->activity_failure_info->activity_type->name, "Charge");
    assert_string_equal(f->activity_failure_info->activity_id, "1");
    assert_string_equal(f->cause->message, "charge failed");
    assert_string_equal(f->cause->application_failure_info->type, "Payment");
    assert_true(f->cause->application_failure_info->non_retryable);
    assert_string_equal(f->cause->cause->message, "card declined");
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    first_end(&t);
}

/* The same for a remote activity: the failure of its ActivityTaskFailed event is kept. */
static void wf_reraise_remote(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_activity_options o = {.start_to_close_ms = 5000};
    tc_future *f = tc_wf_activity_start(ctx, "Charge", NULL, &o);
    if (tc_future_get(ctx, f, NULL) == TC_ERR_FAILED)
        tc_wf_fail_future(ctx, f);
}

static void remote_activity_failure_is_reraised_with_its_id(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "Remote", NULL);
    hb_wft(b);
    int64_t sched = hb_act_scheduled(b, "5", "Charge");
    hb_act_started(b, sched);
    hb_act_failed(b, sched, "", "activity attempt 5 failed", false);
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    tc_run *r = rt_task(h, started, wf_reraise_remote, 0, NULL, NULL, &err);
    rt_expect(r, "FailWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const tc_pb_failure *f = c->fail_workflow_execution_command_attributes->failure;
    assert_string_equal(f->activity_failure_info->activity_type->name, "Charge");
    assert_string_equal(f->activity_failure_info->activity_id, "5");
    assert_int_equal(f->activity_failure_info->scheduled_event_id, sched);
    assert_string_equal(f->cause->message, "activity attempt 5 failed");
    assert_string_equal(f->cause->application_failure_info->type, "");
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

/* ---- durable backoff between rounds ---- */

static void wf_one(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    la_state *st = state;
    tc_wf_result r;
    st->rc[0] = tc_wf_local_activity(ctx, "Flaky", NULL, &k_lo, &r);
    if (st->rc[0] == TC_OK)
        snprintf(st->out, sizeof st->out, "%s", r.result_json);
    else
        snprintf(st->ftype, sizeof st->ftype, "%s", r.failure_type);
    tc_wf_complete(ctx, st->rc[0] == TC_OK ? r.result_json : NULL);
}

static void long_backoff_records_the_failure_then_starts_a_timer(void **s)
{
    (void)s;
    first_task t;
    tc_run *r = first_start(&t, wf_one, sizeof(la_state), NULL);
    tc_appfail af;
    tc_la *la = la_at(r, 0);
    tc_la_fail(r, la, 1, tc_appfail_init(&af, "Err", "attempt 1 failed", false), 2000);
    tc_la_run_code(r);
    /* the marker takes event 5, the timer is 6 (Go's ids) */
    rt_expect(r, "RecordMarker:1:LocalActivity,StartTimer:6:");
    assert_int_equal(la->state, LA_BACKOFF);
    assert_int_equal(la->attempt, 2);
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 1));
    assert_int_equal(c->start_timer_command_attributes->start_to_fire_timeout->seconds, 2);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    c = rt_unpack(rt_cmd(r, 0));
    const char *data = NULL;
    size_t len = 0;
    for (size_t i = 0; i < c->record_marker_command_attributes->n_details; i++)
        if (strcmp(c->record_marker_command_attributes->details[i]->key, "data") == 0) {
            data = (const char *)c->record_marker_command_attributes->details[i]
                       ->value->payloads[0]
                       ->data.data;
            len = c->record_marker_command_attributes->details[i]->value->payloads[0]->data.len;
        }
    assert_non_null(data);
    char *text = strndup(data, len);
    assert_non_null(strstr(text, "\"Attempt\":1,\"Backoff\":2000000000}"));
    free(text);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    first_end(&t);
}

static void replay_follows_the_timer_rounds(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "One", NULL);
    hb_wft(b);                                                               /* 2-4 */
    hb_la_marker(b, "1", "Flaky", 1, NULL, "Err", "attempt 1 failed", 2000); /* 5 */
    int64_t t1 = hb_timer_started(b, "6", 2000);                             /* 6 */
    hb_timer_fired(b, "6", t1);                                              /* 7 */
    hb_wft(b);                                                               /* 8-10 */
    hb_la_marker(b, "2", "Flaky", 2, NULL, "Err", "attempt 2 failed", 2000); /* 11 */
    int64_t t2 = hb_timer_started(b, "12", 2000);
    hb_timer_fired(b, "12", t2);
    hb_wft(b);
    hb_la_marker(b, "3", "Flaky", 3, "\"ok on 3\"", NULL, NULL, 0);
    hb_completed(b, "\"ok on 3\"");
    tc_history *h = hb_history(b);
    la_state st;
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_one, &st, sizeof st, NULL, &err), TC_OK);
    assert_string_equal(st.out, "\"ok on 3\"");
    tc_history_free(h);
    hb_free(b);
}

/* A new round after the timer runs from the next attempt, under a new ActivityID. */
static void after_the_timer_the_next_round_is_dispatched(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "One", NULL);
    hb_wft(b);
    hb_la_marker(b, "1", "Flaky", 1, NULL, "Err", "attempt 1 failed", 2000);
    int64_t t1 = hb_timer_started(b, "6", 2000);
    hb_timer_fired(b, "6", t1);
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    tc_run *r = rt_task(h, started, wf_one, sizeof(la_state), NULL, NULL, &err);
    tc_la *la = la_at(r, 0);
    assert_int_equal(la->state, LA_DISPATCHED);
    assert_string_equal(la->id, "2");
    assert_int_equal(la->attempt, 2);
    assert_int_equal(rt_ncmds(r), 0);
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

/* ---- cancellation ---- */

typedef struct cancel_state {
    int rc;
    bool resolved_at_cancel;
} cancel_state;

/* Starts LA "Slow" in the mode given in state, waits for signal "cancel", cancels it, notes
 * whether it resolved at once, then waits for it and completes. */
static void wf_cancel(tc_wf_ctx *ctx, void *state, void *user)
{
    cancel_state *st = state;
    tc_local_activity_options o = k_lo;
    o.cancel_mode = *(const tc_activity_cancel_mode *)user;
    tc_future *f = tc_wf_local_activity_start(ctx, "Slow", NULL, &o);
    if (tc_wf_signal_recv(ctx, "cancel", NULL) != TC_OK)
        return;
    tc_future_cancel(ctx, f);
    st->resolved_at_cancel = tc_future_ready(f);
    st->rc = tc_future_get(ctx, f, NULL);
    tc_wf_complete(ctx, "\"done\"");
}

static tc_run *cancel_run(const tc_activity_cancel_mode *mode, tc_history **hp, hb **bp)
{
    hb *b = hb_new();
    hb_started(b, "Cancel", NULL);
    hb_wft(b);
    hb_signal(b, "cancel", NULL);
    int64_t started = hb_wft_start(b);
    *hp = hb_history(b);
    *bp = b;
    tc_error err = {0};
    return rt_task(*hp, started, wf_cancel, sizeof(cancel_state), (void *)mode, NULL, &err);
}

static void try_cancel_resolves_at_once_with_a_marker(void **s)
{
    (void)s;
    tc_history *h;
    hb *b;
    static const tc_activity_cancel_mode mode = TC_CANCEL_TRY;
    tc_run *r = cancel_run(&mode, &h, &b);
    cancel_state *st = r->state;
    assert_true(st->resolved_at_cancel);
    assert_int_equal(st->rc, TC_ERR_CANCELLED);
    rt_expect(r, "RecordMarker:1:LocalActivity,CompleteWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    assert_int_equal(c->record_marker_command_attributes->failure->failure_info_case,
                     TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CANCELED_FAILURE_INFO);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

static void abandon_resolves_at_once(void **s)
{
    (void)s;
    tc_history *h;
    hb *b;
    static const tc_activity_cancel_mode mode = TC_CANCEL_ABANDON;
    tc_run *r = cancel_run(&mode, &h, &b);
    cancel_state *st = r->state;
    assert_true(st->resolved_at_cancel);
    assert_int_equal(st->rc, TC_ERR_CANCELLED);
    rt_expect(r, "RecordMarker:1:LocalActivity,CompleteWorkflowExecution::");
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

static void wait_cancel_resolves_when_the_attempt_returns(void **s)
{
    (void)s;
    tc_history *h;
    hb *b;
    static const tc_activity_cancel_mode mode = TC_CANCEL_WAIT_COMPLETED;
    tc_run *r = cancel_run(&mode, &h, &b);
    cancel_state *st = r->state;
    assert_false(st->resolved_at_cancel);
    assert_int_equal(rt_ncmds(r), 0);
    tc_la *la = la_at(r, 0);
    assert_true(la->cancel_requested);
    tc_la_cancelled(r, la, 1); /* the attempt returned */
    tc_la_run_code(r);
    assert_int_equal(st->rc, TC_ERR_CANCELLED);
    rt_expect(r, "RecordMarker:1:LocalActivity,CompleteWorkflowExecution::");
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

/* Cancelled in the code run that started it: nothing ran, nothing is recorded. */
static void wf_cancel_main(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    cancel_state *st = state;
    tc_future *f = tc_wf_local_activity_start(ctx, "Slow", NULL, &k_lo);
    tc_future_cancel(ctx, f);
    st->rc = tc_future_get(ctx, f, NULL);
    tc_wf_complete(ctx, NULL);
}

static void cancel_before_dispatch_records_nothing(void **s)
{
    (void)s;
    first_task t;
    tc_run *r = first_start(&t, wf_cancel_main, sizeof(cancel_state), NULL);
    assert_int_equal(((cancel_state *)r->state)->rc, TC_ERR_CANCELLED);
    rt_expect(r, "CompleteWorkflowExecution::");
    first_end(&t);
}

/* The run's cancellation request cancels a local activity waiting on its backoff timer: the
 * timer is cancelled and a cancelled marker recorded. */
static void run_cancel_during_timer_backoff_cancels_timer_and_records(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "One", NULL);
    hb_wft(b);
    hb_la_marker(b, "1", "Flaky", 1, NULL, "Err", "attempt 1 failed", 20000);
    hb_timer_started(b, "6", 20000);
    hb_cancel_requested(b);
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    tc_run *r = rt_task(h, started, wf_one, sizeof(la_state), NULL, NULL, &err);
    rt_expect(r, "CancelTimer:6:,RecordMarker:2:LocalActivity,CompleteWorkflowExecution::");
    assert_string_equal(((la_state *)r->state)->ftype, "CanceledError");
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

/* ---- lazy input ---- */

static int g_built;

static char *make_input(void *arg)
{
    g_built++;
    return strdup((const char *)arg);
}

static void wf_lazy(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_result r;
    if (tc_wf_local_activity_lazy(ctx, "Echo", make_input, "\"lazy\"", &k_lo, &r) == TC_OK)
        tc_wf_complete(ctx, r.result_json);
}

static void lazy_input_is_not_built_when_a_marker_answers(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "Lazy", NULL);
    hb_wft(b);
    hb_la_marker(b, "1", "Echo", 1, "\"lazy\"", NULL, NULL, 0);
    hb_completed(b, "\"lazy\"");
    tc_history *h = hb_history(b);
    tc_error err = {0};
    g_built = 0;
    assert_int_equal(tc_replay_history(h, wf_lazy, NULL, 0, NULL, &err), TC_OK);
    assert_int_equal(g_built, 0);
    tc_history_free(h);
    hb_free(b);
    /* live: built once, when made */
    b = hb_new();
    hb_started(b, "Lazy", NULL);
    int64_t started = hb_wft_start(b);
    h = hb_history(b);
    tc_run *r = rt_task(h, started, wf_lazy, 0, NULL, NULL, &err);
    assert_int_equal(g_built, 1);
    assert_string_equal(la_at(r, 0)->inputs[0], "\"lazy\"");
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

/* ---- a history written by the official Go SDK (tests/temporal/gola) ---- */

static const char *g_fixtures;

static void go_sdk_local_activity_history_replays(void **s)
{
    (void)s;
    char path[1024];
    snprintf(path, sizeof path, "%s/go_local.history.pb", g_fixtures);
    tc_history *h = NULL;
    tc_error err = {0};
    assert_int_equal(tc_history_load(path, &h, &err), TC_OK);
    go_local_state st;
    memset(&st, 0, sizeof st);
    if (tc_replay_history(h, wf_go_local, &st, sizeof st, NULL, &err) != TC_OK)
        fail_msg("replay: %s", err.text);
    assert_string_equal(st.out, "a|3|2|OutOfStock|x|y");
    tc_history_free(h);
}

/* The same history against code that asks for a different local activity second. */
static void wf_go_local_changed(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_local_activity_options o = {.start_to_close_ms = 10000};
    if (tc_wf_local_activity(ctx, "Echo", "\"a\"", &o, NULL) == TC_OK)
        tc_wf_local_activity(ctx, "Charge", NULL, &o, NULL);
}

static void go_sdk_history_against_changed_code_is_nondeterminism(void **s)
{
    (void)s;
    char path[1024];
    snprintf(path, sizeof path, "%s/go_local.history.pb", g_fixtures);
    tc_history *h = NULL;
    tc_error err = {0};
    assert_int_equal(tc_history_load(path, &h, &err), TC_OK);
    assert_int_equal(tc_replay_history(h, wf_go_local_changed, NULL, 0, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "recorded local activity Flaky (ActivityID 2)"));
    tc_history_free(h);
}

int main(int argc, char **argv)
{
    g_fixtures = argc > 1 ? argv[1] : "tests/temporal/fixtures";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_grows_by_coefficient_up_to_maximum),
        cmocka_unit_test(maximum_attempts_end_the_retries),
        cmocka_unit_test(non_retryable_failures_are_not_retried),
        cmocka_unit_test(backoff_past_threshold_uses_a_durable_timer),
        cmocka_unit_test(schedule_to_close_stops_a_retry_that_cannot_start_in_time),
        cmocka_unit_test(go_marker_data_is_read),
        cmocka_unit_test(marker_json_has_go_fields_and_escapes),
        cmocka_unit_test(marker_without_data_is_a_protocol_error),
        cmocka_unit_test(replay_takes_results_from_markers),
        cmocka_unit_test(replay_of_another_local_activity_type_is_nondeterminism),
        cmocka_unit_test(marker_the_code_did_not_make_is_nondeterminism),
        cmocka_unit_test(live_task_records_a_marker_per_result_in_order),
        cmocka_unit_test(final_failure_is_recorded_and_reaches_the_code),
        cmocka_unit_test(failure_is_reraised_as_an_activity_failure_with_its_cause),
        cmocka_unit_test(remote_activity_failure_is_reraised_with_its_id),
        cmocka_unit_test(long_backoff_records_the_failure_then_starts_a_timer),
        cmocka_unit_test(replay_follows_the_timer_rounds),
        cmocka_unit_test(after_the_timer_the_next_round_is_dispatched),
        cmocka_unit_test(try_cancel_resolves_at_once_with_a_marker),
        cmocka_unit_test(abandon_resolves_at_once),
        cmocka_unit_test(wait_cancel_resolves_when_the_attempt_returns),
        cmocka_unit_test(cancel_before_dispatch_records_nothing),
        cmocka_unit_test(run_cancel_during_timer_backoff_cancels_timer_and_records),
        cmocka_unit_test(lazy_input_is_not_built_when_a_marker_answers),
        cmocka_unit_test(go_sdk_local_activity_history_replays),
        cmocka_unit_test(go_sdk_history_against_changed_code_is_nondeterminism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
