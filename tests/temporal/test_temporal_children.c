/* test_temporal_children.c - child workflows in the runtime against crafted histories, no
 * server: the start command and its options, every resolution event, the four cancellation
 * types, signals to children, failures re-raised whole, replay matching and non-determinism, bad
 * input. (Other workflows: test_temporal_external.c.) */
#include "cmd_families.h"
#include "hist_families.h"
#include "rt_util.h"

/* Workflow code checks every return: it runs on its own coroutine stack, and a run freed while
 * blocked unwinds through TC_ERR_CANCELLED returns. */

enum { NO_CANCEL = 0, CANCEL_BEFORE_SENT, CANCEL_AFTER_TIMER, CANCEL_AFTER_STARTED };

static tc_child_options g_copts;
static int g_cancel;
static bool g_reraise;

typedef struct child_state {
    int start_rc, result_rc;
    char run_id[64], ftype[64], fmsg[128], result[64];
    char child_id[64];
} child_state;

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Starts child "Child" ("in") with g_copts, cancels it as g_cancel says, waits for its start
 * and its result, and completes with the result (or re-raises its failure when g_reraise). */
static void wf_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    child_state *st = state;
    tc_child *ch = tc_wf_child_start(ctx, "Child", "\"in\"", &g_copts);
    copy(st->child_id, sizeof st->child_id, tc_child_workflow_id(ch));
    if (g_cancel == CANCEL_BEFORE_SENT)
        tc_future_cancel(ctx, tc_child_result(ch));
    if (g_cancel == CANCEL_AFTER_TIMER) {
        if (tc_wf_sleep(ctx, 1000) != TC_OK)
            return;
        tc_future_cancel(ctx, tc_child_result(ch));
    }
    tc_wf_result res;
    st->start_rc = tc_future_get(ctx, tc_child_started(ch), &res);
    copy(st->run_id, sizeof st->run_id, res.result_json);
    copy(st->ftype, sizeof st->ftype, res.failure_type);
    if (g_cancel == CANCEL_AFTER_STARTED)
        tc_future_cancel(ctx, tc_child_result(ch));
    st->result_rc = tc_future_get(ctx, tc_child_result(ch), &res);
    if (st->result_rc == TC_OK) {
        copy(st->result, sizeof st->result, res.result_json);
    } else {
        copy(st->ftype, sizeof st->ftype, res.failure_type);
        copy(st->fmsg, sizeof st->fmsg, res.failure_message);
    }
    if (g_reraise && st->result_rc != TC_OK)
        tc_wf_fail_future(ctx, tc_child_result(ch));
    else
        tc_wf_complete(ctx, st->result_rc == TC_OK ? res.result_json : "\"not ok\"");
}

static void reset(void)
{
    memset(&g_copts, 0, sizeof g_copts);
    g_copts.workflow_id = "child-1";
    g_cancel = NO_CANCEL;
    g_reraise = false;
}

/* 1 started, 2-4 task, 5 child initiated */
static hb *child_prefix(int64_t *initiated)
{
    hb *b = hb_new();
    hb_started(b, "Parent", NULL);
    hb_wft(b);
    *initiated = hbf_child_initiated(b, "child-1", "Child");
    return b;
}

static const char *cmd_result(const Temporal__Api__Command__V1__Command *c)
{
    static char buf[256];
    const ProtobufCBinaryData *d =
        &c->complete_workflow_execution_command_attributes->result->payloads[0]->data;
    snprintf(buf, sizeof buf, "%.*s", (int)d->len, (const char *)d->data);
    return buf;
}

/* ---- the start command ---- */

static void child_start_command_carries_every_option(void **s)
{
    (void)s;
    reset();
    const char *nr[] = {"Fatal", NULL};
    tc_retry_policy rp = {.initial_interval_ms = 1500,
                          .backoff_coefficient = 1.5,
                          .maximum_interval_ms = 9000,
                          .maximum_attempts = 3,
                          .non_retryable_error_types = nr};
    g_copts.task_queue = "kids";
    g_copts.execution_timeout_ms = 600000;
    g_copts.run_timeout_ms = 300000;
    g_copts.task_timeout_ms = 60000;
    g_copts.retry = &rp;
    g_copts.id_reuse_policy = TC_REUSE_REJECT_DUPLICATE;
    g_copts.parent_close_policy = TC_PARENT_CLOSE_ABANDON;
    g_copts.memo_json = "{\"note\":\"hi\"}";
    g_copts.search_attributes_json = "{\"CustomKeywordField\":\"k\"}";
    g_copts.cron_schedule = "0 3 * * *";
    hb *b = hb_new();
    hb_started(b, "Parent", NULL);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
    rt_expect(r, "StartChildWorkflowExecution:child-1:Child");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes *a =
        c->start_child_workflow_execution_command_attributes;
    assert_int_equal(c->command_type, TC_CT(START_CHILD_WORKFLOW_EXECUTION));
    assert_string_equal(a->workflow_id, "child-1");
    assert_string_equal(a->workflow_type->name, "Child");
    assert_string_equal(a->task_queue->name, "kids");
    assert_int_equal(a->input->n_payloads, 1);
    assert_memory_equal(a->input->payloads[0]->data.data, "\"in\"", 4);
    assert_int_equal(a->workflow_execution_timeout->seconds, 600);
    assert_int_equal(a->workflow_run_timeout->seconds, 300);
    assert_int_equal(a->workflow_task_timeout->seconds, 60);
    assert_int_equal(a->retry_policy->initial_interval->seconds, 1);
    assert_int_equal(a->retry_policy->initial_interval->nanos, 500000000);
    assert_int_equal(a->retry_policy->maximum_attempts, 3);
    assert_int_equal(a->retry_policy->n_non_retryable_error_types, 1);
    assert_string_equal(a->retry_policy->non_retryable_error_types[0], "Fatal");
    assert_int_equal(a->workflow_id_reuse_policy, TC_REUSE_REJECT_DUPLICATE);
    assert_int_equal(a->parent_close_policy, TC_PARENT_CLOSE_ABANDON);
    assert_int_equal(a->memo->n_fields, 1);
    assert_string_equal(a->memo->fields[0]->key, "note");
    assert_int_equal(a->search_attributes->n_indexed_fields, 1);
    assert_string_equal(a->search_attributes->indexed_fields[0]->key, "CustomKeywordField");
    assert_string_equal(a->cron_schedule, "0 3 * * *");
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    rt_drive_free(&dr);
}

/* Without an id the child gets a UUID from the run's generator: the same one on replay. */
static void default_child_id_is_a_deterministic_uuid(void **s)
{
    (void)s;
    reset();
    g_copts.workflow_id = NULL;
    hb *b = hb_new();
    hb_started(b, "Parent", NULL);
    rt_drive dr = {.b = b};
    tc_run *r1 = rt_drive_task(&dr, wf_child, sizeof(child_state));
    tc_error err = {0};
    tc_run *r2 = rt_task(dr.h[0], dr.started, wf_child, sizeof(child_state), NULL, NULL, &err);
    const char *id = ((child_state *)r1->state)->child_id;
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4');
    assert_string_equal(id, ((child_state *)r2->state)->child_id);
    assert_string_equal(rt_cmd(r1, 0)->id, id);
    tc_run_free(r2);
    rt_drive_free(&dr);
}

/* ---- resolutions ---- */

static void child_started_and_completed_resolve_both_futures(void **s)
{
    (void)s;
    reset();
    int64_t ini;
    hb *b = child_prefix(&ini);
    int64_t st = hbf_child_started(b, ini, "run-7");
    hb_wft(b); /* the code saw the start */
    hbf_child_completed(b, ini, st, "\"out\"");
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
    child_state *cs = r->state;
    assert_int_equal(cs->start_rc, TC_OK);
    assert_string_equal(cs->run_id, "\"run-7\"");
    assert_int_equal(cs->result_rc, TC_OK);
    assert_string_equal(cs->result, "\"out\"");
    rt_expect(r, "CompleteWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    assert_string_equal(cmd_result(c), "\"out\"");
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    rt_drive_free(&dr);
}

static void child_start_failed_resolves_both_as_already_started(void **s)
{
    (void)s;
    reset();
    int64_t ini;
    hb *b = child_prefix(&ini);
    hbf_child_start_failed(b, ini, 1);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
    child_state *cs = r->state;
    assert_int_equal(cs->start_rc, TC_ERR_FAILED);
    assert_int_equal(cs->result_rc, TC_ERR_FAILED);
    assert_string_equal(cs->ftype, "WorkflowExecutionAlreadyStarted");
    assert_non_null(strstr(cs->fmsg, "child-1"));
    assert_non_null(strstr(cs->fmsg, "already exists"));
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&dr);
}

static void child_failure_is_reraised_whole(void **s)
{
    (void)s;
    reset();
    g_reraise = true;
    int64_t ini;
    hb *b = child_prefix(&ini);
    int64_t st = hbf_child_started(b, ini, "run-7");
    hbf_child_failed(b, ini, st, "TestError", "Test message", "{\"foo\":\"bar\"}");
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
    child_state *cs = r->state;
    assert_int_equal(cs->result_rc, TC_ERR_FAILED);
    assert_string_equal(cs->ftype, "TestError");
    assert_string_equal(cs->fmsg, "Test message");
    rt_expect(r, "FailWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const Temporal__Api__Failure__V1__Failure *f =
        c->fail_workflow_execution_command_attributes->failure;
    assert_int_equal(
        f->failure_info_case,
        TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CHILD_WORKFLOW_EXECUTION_FAILURE_INFO);
    assert_string_equal(f->child_workflow_execution_failure_info->workflow_type->name, "Child");
    assert_string_equal(f->child_workflow_execution_failure_info->workflow_execution->workflow_id,
                        "child-1");
    assert_string_equal(f->child_workflow_execution_failure_info->workflow_execution->run_id,
                        "run-7");
    assert_int_equal(f->child_workflow_execution_failure_info->initiated_event_id, ini);
    assert_int_equal(f->child_workflow_execution_failure_info->started_event_id, st);
    assert_non_null(f->cause);
    assert_string_equal(f->cause->message, "Test message");
    assert_string_equal(f->cause->application_failure_info->type, "TestError");
    assert_true(f->cause->application_failure_info->non_retryable);
    const Temporal__Api__Common__V1__Payloads *d = f->cause->application_failure_info->details;
    assert_int_equal(d->n_payloads, 1);
    assert_memory_equal(d->payloads[0]->data.data, "{\"foo\":\"bar\"}", 13);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    rt_drive_free(&dr);
}

static void child_close_kinds_resolve_the_result(void **s)
{
    (void)s;
    void (*close[3])(hb *, int64_t, int64_t) = {hbf_child_canceled, hbf_child_timed_out,
                                                hbf_child_terminated};
    const int want_rc[3] = {TC_ERR_CANCELLED, TC_ERR_FAILED, TC_ERR_FAILED};
    const char *want_type[3] = {"CanceledError", "TimeoutError", "TerminatedError"};
    const int want_info[3] = {
        TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CANCELED_FAILURE_INFO,
        TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TIMEOUT_FAILURE_INFO,
        TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TERMINATED_FAILURE_INFO};
    for (int k = 0; k < 3; k++) {
        reset();
        g_reraise = true;
        int64_t ini;
        hb *b = child_prefix(&ini);
        int64_t st = hbf_child_started(b, ini, "run-7");
        close[k](b, ini, st);
        rt_drive dr = {.b = b};
        tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
        child_state *cs = r->state;
        assert_int_equal(cs->result_rc, want_rc[k]);
        assert_string_equal(cs->ftype, want_type[k]);
        rt_expect(r, "FailWorkflowExecution::");
        Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
        const Temporal__Api__Failure__V1__Failure *f =
            c->fail_workflow_execution_command_attributes->failure;
        assert_non_null(f->child_workflow_execution_failure_info);
        assert_int_equal(f->cause->failure_info_case, want_info[k]);
        temporal__api__command__v1__command__free_unpacked(c, NULL);
        rt_drive_free(&dr);
    }
}

/* ---- cancellation types ---- */

/* 1 started, 2-4, 5 initiated, 6 child started, 7-9 task (the code cancels) */
static hb *started_child(int64_t *ini, int64_t *st)
{
    hb *b = child_prefix(ini);
    *st = hbf_child_started(b, *ini, "run-7");
    return b;
}

static void cancel_abandon_resolves_at_once_without_a_request(void **s)
{
    (void)s;
    reset();
    g_cancel = CANCEL_AFTER_STARTED;
    g_copts.cancel_mode = TC_CHILD_CANCEL_ABANDON;
    int64_t ini, st;
    hb *b = started_child(&ini, &st);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
    assert_int_equal(((child_state *)r->state)->result_rc, TC_ERR_CANCELLED);
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&dr);
}

static void cancel_try_requests_and_resolves_at_once(void **s)
{
    (void)s;
    reset();
    g_cancel = CANCEL_AFTER_STARTED;
    g_copts.cancel_mode = TC_CHILD_CANCEL_TRY;
    int64_t ini, st;
    hb *b = started_child(&ini, &st);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
    assert_int_equal(((child_state *)r->state)->result_rc, TC_ERR_CANCELLED);
    rt_expect(r, "RequestCancelExternalWorkflowExecution:child-1:,CompleteWorkflowExecution::");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const Temporal__Api__Command__V1__RequestCancelExternalWorkflowExecutionCommandAttributes *a =
        c->request_cancel_external_workflow_execution_command_attributes;
    assert_string_equal(a->workflow_id, "child-1");
    assert_string_equal(a->run_id, "run-7");
    assert_true(a->child_workflow_only);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    rt_drive_free(&dr);
}

static void cancel_wait_requested_resolves_when_recorded(void **s)
{
    (void)s;
    reset();
    g_cancel = CANCEL_AFTER_STARTED;
    g_copts.cancel_mode = TC_CHILD_CANCEL_WAIT_REQUESTED;
    int64_t ini, st;
    hb *b = started_child(&ini, &st);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
    rt_expect(r, "RequestCancelExternalWorkflowExecution:child-1:");
    assert_int_equal(((child_state *)r->state)->result_rc, 0); /* still waiting */
    hb_wft_complete(b, dr.started);
    int64_t cini = hbf_cancel_initiated(b, "child-1", true);
    hbf_cancel_requested(b, cini);
    rt_drive_task(&dr, wf_child, sizeof(child_state));
    assert_int_equal(((child_state *)r->state)->result_rc, TC_ERR_CANCELLED);
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&dr);
}

static void cancel_wait_completed_resolves_when_the_child_closes(void **s)
{
    (void)s;
    for (int closes_canceled = 0; closes_canceled < 2; closes_canceled++) {
        reset();
        g_cancel = CANCEL_AFTER_STARTED;
        g_copts.cancel_mode = TC_CHILD_CANCEL_WAIT_COMPLETED;
        int64_t ini, st;
        hb *b = started_child(&ini, &st);
        int64_t t2 = hb_wft_start(b);
        hb_wft_complete(b, t2);
        int64_t cini = hbf_cancel_initiated(b, "child-1", true);
        hbf_cancel_requested(b, cini);
        rt_drive dr = {.b = b};
        tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
        /* the request was recorded: this mode still waits for the child */
        assert_int_equal(((child_state *)r->state)->result_rc, 0);
        assert_int_equal(rt_ncmds(r), 0);
        hb_wft_complete(b, dr.started);
        if (closes_canceled)
            hbf_child_canceled(b, ini, st);
        else
            hbf_child_completed(b, ini, st, "\"ignored the cancel\"");
        rt_drive_task(&dr, wf_child, sizeof(child_state));
        child_state *cs = r->state;
        assert_int_equal(cs->result_rc, closes_canceled ? TC_ERR_CANCELLED : TC_OK);
        if (!closes_canceled)
            assert_string_equal(cs->result, "\"ignored the cancel\"");
        rt_expect(r, "CompleteWorkflowExecution::");
        rt_drive_free(&dr);
    }
}

static void cancel_before_sent_starts_nothing(void **s)
{
    (void)s;
    reset();
    g_cancel = CANCEL_BEFORE_SENT;
    hb *b = hb_new();
    hb_started(b, "Parent", NULL);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
    child_state *cs = r->state;
    assert_int_equal(cs->start_rc, TC_ERR_CANCELLED);
    assert_int_equal(cs->result_rc, TC_ERR_CANCELLED);
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&dr);
}

/* Cancelled after its initiated event but before it started (TRY): the future resolves at
 * once, and the request goes out in the task that sees the child start. */
static void cancel_before_start_sends_the_request_at_start(void **s)
{
    (void)s;
    reset();
    g_cancel = CANCEL_AFTER_TIMER;
    g_copts.cancel_mode = TC_CHILD_CANCEL_TRY;
    hb *b = hb_new();
    hb_started(b, "Parent", NULL);
    hb_wft(b);
    int64_t ini = hbf_child_initiated(b, "child-1", "Child");
    int64_t tm = hb_timer_started(b, "6", 1000);
    hb_timer_fired(b, "6", tm);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
    assert_int_equal(rt_ncmds(r), 0); /* nothing to cancel yet: no run */
    hb_wft_complete(b, dr.started);
    hbf_child_started(b, ini, "run-7");
    rt_drive_task(&dr, wf_child, sizeof(child_state));
    child_state *cs = r->state;
    assert_int_equal(cs->start_rc, TC_OK);
    assert_int_equal(cs->result_rc, TC_ERR_CANCELLED);
    rt_expect(r, "RequestCancelExternalWorkflowExecution:child-1:,CompleteWorkflowExecution::");
    rt_drive_free(&dr);
}

static void run_cancellation_cancels_the_child_per_its_mode(void **s)
{
    (void)s;
    reset(); /* default mode: WAIT_COMPLETED */
    int64_t ini, st;
    hb *b = started_child(&ini, &st);
    hb_wft(b);
    hb_cancel_requested(b);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_child, sizeof(child_state));
    rt_expect(r, "RequestCancelExternalWorkflowExecution:child-1:");
    assert_int_equal(((child_state *)r->state)->result_rc, 0);
    rt_drive_free(&dr);
}

/* ---- signals to the child ---- */

typedef struct sig_state {
    int sig_rc;
    char ftype[64];
} sig_state;

static void wf_signal_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    sig_state *st = state;
    tc_child_options o = {.workflow_id = "child-1"};
    tc_child *ch = tc_wf_child_start(ctx, "Child", NULL, &o);
    tc_wf_result res;
    st->sig_rc = tc_future_get(ctx, tc_child_signal(ctx, ch, "poke", "\"hi\""), &res);
    copy(st->ftype, sizeof st->ftype, res.failure_type);
    tc_wf_complete(ctx, NULL);
}

static void child_signal_waits_for_the_start_and_is_child_only(void **s)
{
    (void)s;
    int64_t ini;
    hb *b = child_prefix(&ini);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_signal_child, sizeof(sig_state));
    assert_int_equal(rt_ncmds(r), 0); /* not started: no signal yet */
    hb_wft_complete(b, dr.started);
    hbf_child_started(b, ini, "run-7");
    rt_drive_task(&dr, wf_signal_child, sizeof(sig_state));
    rt_expect(r, "SignalExternalWorkflowExecution:child-1:poke");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes *a =
        c->signal_external_workflow_execution_command_attributes;
    assert_string_equal(a->execution->workflow_id, "child-1");
    assert_string_equal(a->execution->run_id, "run-7");
    assert_true(a->child_workflow_only);
    assert_memory_equal(a->input->payloads[0]->data.data, "\"hi\"", 4);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    hb_wft_complete(b, dr.started);
    int64_t si = hbf_signal_initiated(b, "child-1", "poke", true);
    hbf_signaled(b, si);
    rt_drive_task(&dr, wf_signal_child, sizeof(sig_state));
    assert_int_equal(((sig_state *)r->state)->sig_rc, TC_OK);
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&dr);
}

static void child_signal_to_a_child_that_never_started_fails(void **s)
{
    (void)s;
    int64_t ini;
    hb *b = child_prefix(&ini);
    hbf_child_start_failed(b, ini, 1);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_signal_child, sizeof(sig_state));
    assert_int_equal(((sig_state *)r->state)->sig_rc, TC_ERR_FAILED);
    assert_string_equal(((sig_state *)r->state)->ftype, "WorkflowExecutionAlreadyStarted");
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&dr);
}

/* ---- replay ---- */

static void child_history_replays_and_a_changed_type_is_nondeterminism(void **s)
{
    (void)s;
    reset();
    int64_t ini;
    hb *b = child_prefix(&ini);
    int64_t st = hbf_child_started(b, ini, "run-7");
    hbf_child_completed(b, ini, st, "\"out\"");
    hb_wft(b);
    hb_completed(b, "\"out\"");
    tc_history *h = hb_history(b);
    tc_error err = {0};
    child_state cs;
    assert_int_equal(tc_replay_history(h, wf_child, &cs, sizeof cs, NULL, &err), TC_OK);
    assert_string_equal(cs.result, "\"out\"");
    hb_free(b);
    tc_history_free(h);
    /* the same history with another child type */
    b = hb_new();
    hb_started(b, "Parent", NULL);
    hb_wft(b);
    hbf_child_initiated(b, "child-1", "OtherChild");
    hb_wft(b);
    h = hb_history(b);
    assert_int_equal(tc_replay_history(h, wf_child, NULL, sizeof cs, NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "StartChildWorkflowExecution(id=child-1, type=OtherChild)"));
    assert_non_null(strstr(err.text, "StartChildWorkflowExecution(id=child-1, type=Child)"));
    hb_free(b);
    tc_history_free(h);
}

static void result_for_another_command_is_refused(void **s)
{
    (void)s;
    reset();
    g_cancel = CANCEL_AFTER_TIMER; /* the code starts the child (5), then a timer (6) */
    hb *b = hb_new();
    hb_started(b, "Parent", NULL);
    hb_wft(b);
    hbf_child_initiated(b, "child-1", "Child");
    int64_t tm = hb_timer_started(b, "6", 1000);
    hbf_child_completed(b, tm, 0, "\"x\"");
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    int rc;
    tc_run *r = rt_task(h, started, wf_child, sizeof(child_state), NULL, &rc, &err);
    assert_int_equal(rc, TC_ERR_PROTOCOL);
    assert_non_null(strstr(err.text, "refers to event 6, which is not a "
                                     "StartChildWorkflowExecutionInitiated"));
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

/* ---- bad options ---- */

static void wf_bad_child(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    const tc_child_options *o = user;
    tc_child *ch = tc_wf_child_start(ctx, o ? "Child" : NULL, NULL, o);
    tc_future_get(ctx, tc_child_result(ch), NULL);
}

static void bad_child_options_fail_the_task(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "Parent", NULL);
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    int rc;
    tc_run *r = rt_task(h, started, wf_bad_child, 0, NULL, &rc, &err);
    assert_int_equal(r->fail_code, TC_ERR_TASK_FAILED);
    assert_non_null(strstr(r->fail_text, "workflow_type is required"));
    tc_run_free(r);
    tc_child_options bad = {.memo_json = "[1,2"};
    r = rt_task(h, started, wf_bad_child, 0, &bad, &rc, &err);
    assert_int_equal(r->fail_code, TC_ERR_TASK_FAILED);
    assert_non_null(strstr(r->fail_text, "tc_wf_child_start(Child)"));
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(child_start_command_carries_every_option),
        cmocka_unit_test(default_child_id_is_a_deterministic_uuid),
        cmocka_unit_test(child_started_and_completed_resolve_both_futures),
        cmocka_unit_test(child_start_failed_resolves_both_as_already_started),
        cmocka_unit_test(child_failure_is_reraised_whole),
        cmocka_unit_test(child_close_kinds_resolve_the_result),
        cmocka_unit_test(cancel_abandon_resolves_at_once_without_a_request),
        cmocka_unit_test(cancel_try_requests_and_resolves_at_once),
        cmocka_unit_test(cancel_wait_requested_resolves_when_recorded),
        cmocka_unit_test(cancel_wait_completed_resolves_when_the_child_closes),
        cmocka_unit_test(cancel_before_sent_starts_nothing),
        cmocka_unit_test(cancel_before_start_sends_the_request_at_start),
        cmocka_unit_test(run_cancellation_cancels_the_child_per_its_mode),
        cmocka_unit_test(child_signal_waits_for_the_start_and_is_child_only),
        cmocka_unit_test(child_signal_to_a_child_that_never_started_fails),
        cmocka_unit_test(child_history_replays_and_a_changed_type_is_nondeterminism),
        cmocka_unit_test(result_for_another_command_is_refused),
        cmocka_unit_test(bad_child_options_fail_the_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
