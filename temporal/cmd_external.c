/* cmd_external.c - the external workflow command family: SignalExternalWorkflowExecution and
 * RequestCancelExternalWorkflowExecution, the events that record them and the events that say
 * how they went; also used by cmd_child.c to signal and cancel children. Must not know about
 * other command kinds. */
#include "cmd_families.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Temporal__Api__History__V1__SignalExternalWorkflowExecutionInitiatedEventAttributes
    sig_initiated;
typedef Temporal__Api__History__V1__RequestCancelExternalWorkflowExecutionInitiatedEventAttributes
    cancel_initiated;

static bool signal_matches(const tc_cmd *c, const tc_pb_event *ev)
{
    const sig_initiated *a = ev->signal_external_workflow_execution_initiated_event_attributes;
    return a->workflow_execution && strcmp(a->workflow_execution->workflow_id, c->id) == 0 &&
           strcmp(a->signal_name, c->type) == 0;
}

static bool cancel_matches(const tc_cmd *c, const tc_pb_event *ev)
{
    const cancel_initiated *a =
        ev->request_cancel_external_workflow_execution_initiated_event_attributes;
    return a->workflow_execution && strcmp(a->workflow_execution->workflow_id, c->id) == 0;
}

static void signal_cancel(tc_run *r, tc_cmd *c);

static const tc_cmd_kind k_signal = {"SignalExternalWorkflowExecution",
                                     TC_ET(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
                                     signal_matches, NULL, signal_cancel};
static const tc_cmd_kind k_cancel = {"RequestCancelExternalWorkflowExecution",
                                     TC_ET(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
                                     cancel_matches, NULL, NULL};

/* A signal cannot be taken back once sent: cancelling only stops waiting for it. */
static void signal_cancel(tc_run *r, tc_cmd *c)
{
    if (c->cancelled || !c->fut || c->fut->state != FUT_PENDING)
        return;
    c->cancelled = true;
    if (c->state != CMD_RECORDED)
        tc_cmd_drop(r, c); /* not sent (this task's, or a replayed one history did not record) */
    tc_future_resolve_fail(r, c->fut, FUT_CANCELLED, "CanceledError",
                           c->state == CMD_DROPPED ? "signal cancelled before it was sent"
                                                   : "signal cancelled (it was already sent)",
                           false, 0);
}

static uint8_t *pack_signal(const char *wid, const char *rid, const char *name,
                            const char *const *args, size_t n_args, bool child_only, size_t *len)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    Temporal__Api__Common__V1__WorkflowExecution ex =
        TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;
    tc_plv in;
    bool oom = false;
    ex.workflow_id = (char *)wid;
    ex.run_id = (char *)(rid ? rid : "");
    a.execution = &ex;
    a.signal_name = (char *)name;
    a.input = tc_plv_init(&in, args, n_args, &oom);
    a.child_workflow_only = child_only;
    if (oom)
        return NULL;
    TC_CMD_SET(cmd, SIGNAL_EXTERNAL_WORKFLOW_EXECUTION, signal_external_workflow_execution, &a);
    uint8_t *p = tc_cmd_pack(&cmd, len);
    tc_plv_clear(&in);
    return p;
}

tc_future *tc_external_signal(tc_run *r, const char *workflow_id, const char *run_id,
                              const char *signal_name, const char *const *args, size_t n_args,
                              bool child_only, bool detached)
{
    tc_future *f = tc_future_new(r, FK_OTHER);
    uint8_t *packed = NULL;
    size_t len = 0;
    if (!f)
        goto oom;
    f->detached = detached;
    /* Packed even while replaying: a command history turns out not to have recorded is sent
     * with the live task. */
    if (!(packed = pack_signal(workflow_id, run_id, signal_name, args, n_args, child_only, &len)))
        goto oom;
    tc_cmd *c = tc_cmd_add(r, &k_signal, workflow_id, signal_name, packed, len);
    if (!c)
        goto oom;
    c->fut = f;
    f->cmd = c;
    return f;
oom:
    tc_run_fail(r, TC_ERR_NOMEM, "out of memory signalling workflow %s", workflow_id);
    return NULL;
}

bool tc_external_cancel(tc_run *r, const char *workflow_id, const char *run_id, bool child_only,
                        tc_future *fut, int resolve_mode)
{
    uint8_t *packed = NULL;
    size_t len = 0;
    {
        Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
        Temporal__Api__Command__V1__RequestCancelExternalWorkflowExecutionCommandAttributes a =
            TEMPORAL__API__COMMAND__V1__REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
        a.workflow_id = (char *)workflow_id;
        a.run_id = (char *)(run_id ? run_id : "");
        a.child_workflow_only = child_only;
        TC_CMD_SET(cmd, REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
                   request_cancel_external_workflow_execution, &a);
        if (!(packed = tc_cmd_pack(&cmd, &len)))
            goto oom;
    }
    tc_cmd *c = tc_cmd_add(r, &k_cancel, workflow_id, "", packed, len);
    if (!c)
        goto oom;
    c->fut = fut;
    c->mode = resolve_mode;
    return true;
oom:
    tc_run_fail(r, TC_ERR_NOMEM, "out of memory cancelling workflow %s", workflow_id);
    return false;
}

/* ---- the workflow API ---- */

/* A started-in-a-cancelled-scope (or ending run) operation: nothing is sent. */
static tc_future *cancelled_at_once(tc_wf_ctx *ctx, const char *what)
{
    tc_run *r = ctx->run;
    tc_future *f = tc_future_new(r, FK_OTHER);
    if (!f) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory");
        tc_sched_park(ctx);
    }
    tc_future_resolve_fail(r, f, FUT_CANCELLED, "CanceledError", what, false, 0);
    return f;
}

static bool scope_cancelled(const tc_wf_ctx *ctx)
{
    const tc_run *r = ctx->run;
    return r->destroying || r->outcome != OUT_NONE || (r->cancel_requested && ctx->detached == 0);
}

tc_future *tc_wf_signal_external_args(tc_wf_ctx *ctx, const char *workflow_id, const char *run_id,
                                      const char *signal_name, const char *const *args,
                                      size_t n_args)
{
    tc_run *r = ctx->run;
    if (!workflow_id || !*workflow_id || !signal_name || !*signal_name) {
        tc_run_fail(r, TC_ERR_TASK_FAILED,
                    "tc_wf_signal_external: workflow_id and signal_name are required");
        tc_sched_park(ctx);
    }
    if (scope_cancelled(ctx))
        return cancelled_at_once(ctx, "signal not sent: cancelled");
    tc_future *f =
        tc_external_signal(r, workflow_id, run_id, signal_name, args, n_args, false, ctx->detached);
    if (!f)
        tc_sched_park(ctx);
    return f;
}

tc_future *tc_wf_signal_external(tc_wf_ctx *ctx, const char *workflow_id, const char *run_id,
                                 const char *signal_name, const char *input_json)
{
    const char *one[1] = {input_json};
    return tc_wf_signal_external_args(ctx, workflow_id, run_id, signal_name, one,
                                      input_json ? 1 : 0);
}

tc_future *tc_wf_cancel_external(tc_wf_ctx *ctx, const char *workflow_id, const char *run_id)
{
    tc_run *r = ctx->run;
    if (!workflow_id || !*workflow_id) {
        tc_run_fail(r, TC_ERR_TASK_FAILED, "tc_wf_cancel_external: workflow_id is required");
        tc_sched_park(ctx);
    }
    if (scope_cancelled(ctx))
        return cancelled_at_once(ctx, "cancel request not sent: cancelled");
    tc_future *f = tc_future_new(r, FK_OTHER);
    if (!f || !tc_external_cancel(r, workflow_id, run_id, false, f, EXT_RESOLVE_OK)) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory cancelling workflow %s", workflow_id);
        tc_sched_park(ctx);
    }
    return f; /* not cancellable itself: a request that went out cannot be taken back */
}

/* ---- events ---- */

static void describe_signal(const tc_pb_event *ev, char *buf, size_t cap)
{
    const sig_initiated *a = ev->signal_external_workflow_execution_initiated_event_attributes;
    snprintf(buf, cap, "SignalExternalWorkflowExecution(id=%s, type=%s)",
             a->workflow_execution ? a->workflow_execution->workflow_id : "", a->signal_name);
}

static void describe_cancel(const tc_pb_event *ev, char *buf, size_t cap)
{
    const cancel_initiated *a =
        ev->request_cancel_external_workflow_execution_initiated_event_attributes;
    snprintf(buf, cap, "RequestCancelExternalWorkflowExecution(id=%s)",
             a->workflow_execution ? a->workflow_execution->workflow_id : "");
}

static int64_t signaled_ref(const tc_pb_event *ev)
{
    return ev->external_workflow_execution_signaled_event_attributes->initiated_event_id;
}
static int64_t signal_failed_ref(const tc_pb_event *ev)
{
    return ev->signal_external_workflow_execution_failed_event_attributes->initiated_event_id;
}
static int64_t cancel_requested_ref(const tc_pb_event *ev)
{
    return ev->external_workflow_execution_cancel_requested_event_attributes->initiated_event_id;
}
static int64_t cancel_failed_ref(const tc_pb_event *ev)
{
    return ev->request_cancel_external_workflow_execution_failed_event_attributes
        ->initiated_event_id;
}

static int check(const tc_cmd *c, const tc_cmd_kind *want, const tc_pb_event *ev, tc_error *err)
{
    char t[64];
    if (c->kind == want)
        return TC_OK;
    return tc_seterr(err, TC_ERR_PROTOCOL,
                     "history event %lld (%s) refers to event %lld, which recorded %s, not %s",
                     (long long)ev->event_id, tc_event_type_name((int)ev->event_type, t, sizeof t),
                     (long long)c->event_id, c->kind->name, want->name);
}

/* The server's cause (an enum of SignalExternal... / CancelExternal...FailedCause; both
 * number their values alike) as a failure type. */
static const char *cause_type(int cause)
{
    switch (cause) {
    case 1: return "ExternalWorkflowExecutionNotFound";
    case 2: return "NamespaceNotFound";
    case 3: return "SignalCountLimitExceeded";
    default: return "ExternalWorkflowFailed";
    }
}

static int on_signaled(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    int rc = check(c, &k_signal, ev, err);
    if (rc == TC_OK && c->fut)
        tc_future_resolve_ok(r, c->fut, NULL, 0, ev->event_id);
    return rc;
}

static int on_signal_failed(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    int rc = check(c, &k_signal, ev, err);
    if (rc != TC_OK || !c->fut)
        return rc;
    const char *type =
        cause_type((int)ev->signal_external_workflow_execution_failed_event_attributes->cause);
    char msg[512];
    snprintf(msg, sizeof msg, "signal %s to workflow %s failed: %s", c->type, c->id, type);
    tc_future_resolve_fail(r, c->fut, FUT_FAILED, type, msg, true, ev->event_id);
    return TC_OK;
}

static int on_cancel_requested(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    int rc = check(c, &k_cancel, ev, err);
    if (rc != TC_OK || !c->fut)
        return rc;
    if (c->mode == EXT_RESOLVE_CANCELLED)
        tc_future_resolve_fail(r, c->fut, FUT_CANCELLED, "CanceledError",
                               "child workflow cancellation requested", false, ev->event_id);
    else
        tc_future_resolve_ok(r, c->fut, NULL, 0, ev->event_id);
    return TC_OK;
}

static int on_cancel_failed(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    int rc = check(c, &k_cancel, ev, err);
    if (rc != TC_OK || !c->fut || c->mode == EXT_RESOLVE_CANCELLED)
        return rc; /* a child: its own close event tells how it ended */
    const char *type = cause_type(
        (int)ev->request_cancel_external_workflow_execution_failed_event_attributes->cause);
    char msg[512];
    snprintf(msg, sizeof msg, "cancel request to workflow %s failed: %s", c->id, type);
    tc_future_resolve_fail(r, c->fut, FUT_FAILED, type, msg, true, ev->event_id);
    return TC_OK;
}

static const tc_event_rule k_rules[] = {
    {.event_type = TC_ET(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
     .role = EV_COMMAND,
     .describe = describe_signal},
    {.event_type = TC_ET(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
     .role = EV_COMMAND,
     .describe = describe_cancel},
    {.event_type = TC_ET(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED),
     .role = EV_RESOLVE,
     .initiator = signaled_ref,
     .resolve = on_signaled},
    {.event_type = TC_ET(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED),
     .role = EV_RESOLVE,
     .initiator = signal_failed_ref,
     .resolve = on_signal_failed},
    {.event_type = TC_ET(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED),
     .role = EV_RESOLVE,
     .initiator = cancel_requested_ref,
     .resolve = on_cancel_requested},
    {.event_type = TC_ET(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED),
     .role = EV_RESOLVE,
     .initiator = cancel_failed_ref,
     .resolve = on_cancel_failed},
};

const tc_cmd_family tc_family_external = {"external", k_rules, sizeof k_rules / sizeof k_rules[0]};
