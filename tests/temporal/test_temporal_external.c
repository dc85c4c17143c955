/* test_temporal_external.c - signals and cancel requests to other workflows in the runtime
 * against crafted histories, no server: the commands, both outcomes of each, a signal dropped
 * before it was sent, non-determinism, bad input. */
#include "cmd_families.h"
#include "hist_families.h"
#include "rt_util.h"

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

typedef struct ext_state {
    int rc;
    char ftype[80];
} ext_state;

static bool g_ext_cancel; /* wf_ext: request a cancel instead of a signal */
static bool g_ext_drop;   /* wf_ext: cancel the signal's future right away */

static void wf_ext(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    ext_state *st = state;
    tc_future *f = g_ext_cancel ? tc_wf_cancel_external(ctx, "other", "run-9")
                                : tc_wf_signal_external(ctx, "other", "run-9", "ping", "42");
    if (g_ext_drop)
        tc_future_cancel(ctx, f);
    tc_wf_result res;
    st->rc = tc_future_get(ctx, f, &res);
    copy(st->ftype, sizeof st->ftype, res.failure_type);
    tc_wf_complete(ctx, NULL);
}

/* A builder for the sender workflow, set to send a signal or a cancel request (cancel) or to
 * drop it before it is sent (drop). */
static hb *sender(bool cancel, bool drop)
{
    g_ext_cancel = cancel;
    g_ext_drop = drop;
    hb *b = hb_new();
    hb_started(b, "Sender", NULL);
    return b;
}

/* The sender's task after its request was initiated and then recorded (outcome 0) or failed
 * as not found (1). */
static tc_run *ext_task(bool cancel, int outcome, rt_drive *dr)
{
    hb *b = dr->b = sender(cancel, false);
    hb_wft(b);
    int64_t ini = cancel ? hbf_cancel_initiated(b, "other", false)
                         : hbf_signal_initiated(b, "other", "ping", false);
    if (outcome == 0)
        cancel ? hbf_cancel_requested(b, ini) : hbf_signaled(b, ini);
    else
        cancel ? hbf_cancel_failed(b, ini, 1) : hbf_signal_failed(b, ini, 1);
    return rt_drive_task(dr, wf_ext, sizeof(ext_state));
}

/* Either outcome of the request resolves its future, and the sender completes. */
static void expect_outcomes(bool cancel)
{
    for (int outcome = 0; outcome < 2; outcome++) {
        rt_drive dr = {0};
        tc_run *r = ext_task(cancel, outcome, &dr);
        ext_state *es = r->state;
        assert_int_equal(es->rc, outcome ? TC_ERR_FAILED : TC_OK);
        if (outcome)
            assert_string_equal(es->ftype, "ExternalWorkflowExecutionNotFound");
        rt_expect(r, "CompleteWorkflowExecution::");
        rt_drive_free(&dr);
    }
}

static void signal_external_command_and_outcomes(void **s)
{
    (void)s;
    rt_drive dr = {.b = sender(false, false)};
    tc_run *r = rt_drive_task(&dr, wf_ext, sizeof(ext_state));
    rt_expect(r, "SignalExternalWorkflowExecution:other:ping");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    const Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes *a =
        c->signal_external_workflow_execution_command_attributes;
    assert_string_equal(a->execution->workflow_id, "other");
    assert_string_equal(a->execution->run_id, "run-9");
    assert_string_equal(a->signal_name, "ping");
    assert_false(a->child_workflow_only);
    assert_memory_equal(a->input->payloads[0]->data.data, "42", 2);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    rt_drive_free(&dr);
    expect_outcomes(false);
}

static void cancel_external_command_and_outcomes(void **s)
{
    (void)s;
    expect_outcomes(true);
    rt_drive dr = {.b = sender(true, false)};
    tc_run *r = rt_drive_task(&dr, wf_ext, sizeof(ext_state));
    rt_expect(r, "RequestCancelExternalWorkflowExecution:other:");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    assert_string_equal(c->request_cancel_external_workflow_execution_command_attributes->run_id,
                        "run-9");
    assert_false(
        c->request_cancel_external_workflow_execution_command_attributes->child_workflow_only);
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    rt_drive_free(&dr);
}

static void signal_cancelled_before_it_was_sent_is_dropped(void **s)
{
    (void)s;
    rt_drive dr = {.b = sender(false, true)};
    tc_run *r = rt_drive_task(&dr, wf_ext, sizeof(ext_state));
    assert_int_equal(((ext_state *)r->state)->rc, TC_ERR_CANCELLED);
    rt_expect(r, "CompleteWorkflowExecution::");
    rt_drive_free(&dr);
    g_ext_drop = false;
}

static void changed_signal_name_is_nondeterminism(void **s)
{
    (void)s;
    g_ext_cancel = g_ext_drop = false;
    hb *b = hb_new();
    hb_started(b, "Sender", NULL);
    hb_wft(b);
    hbf_signal_initiated(b, "other", "pong", false);
    hb_wft(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    assert_int_equal(tc_replay_history(h, wf_ext, NULL, sizeof(ext_state), NULL, &err),
                     TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "SignalExternalWorkflowExecution(id=other, type=pong)"));
    assert_non_null(strstr(err.text, "SignalExternalWorkflowExecution(id=other, type=ping)"));
    tc_history_free(h);
    hb_free(b);
}

static void wf_bad_signal(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_wf_signal_external(ctx, "other", NULL, "", NULL);
}

static void signal_without_a_name_fails_the_task(void **s)
{
    (void)s;
    hb *b = hb_new();
    hb_started(b, "Sender", NULL);
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    int rc;
    tc_run *r = rt_task(h, started, wf_bad_signal, 0, NULL, &rc, &err);
    assert_int_equal(r->fail_code, TC_ERR_TASK_FAILED);
    assert_non_null(strstr(r->fail_text, "signal_name are required"));
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signal_external_command_and_outcomes),
        cmocka_unit_test(cancel_external_command_and_outcomes),
        cmocka_unit_test(signal_cancelled_before_it_was_sent_is_dropped),
        cmocka_unit_test(changed_signal_name_is_nondeterminism),
        cmocka_unit_test(signal_without_a_name_fails_the_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
