/* cmd_child.c - the child workflow command family: StartChildWorkflowExecution, the events that
 * record and resolve it (started, start failed, completed, failed, canceled, timed out,
 * terminated), the handle with its two futures, signals to the child and the four cancellation
 * types (through cmd_external.c's commands). Must not know about other command kinds. */
#include "cmd_families.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tc_child {
    tc_cmd *start;      /* StartChildWorkflowExecution (NULL: never started) */
    tc_future *started; /* the start's outcome */
    tc_future *result;  /* the child's outcome */
    char *workflow_id, *run_id, *workflow_type;
    int mode;              /* tc_child_cancel_mode */
    bool cancel_pending;   /* cancelled before it started: the request goes out at its start */
    struct tc_child *next; /* the run's list */
};

typedef Temporal__Api__History__V1__StartChildWorkflowExecutionInitiatedEventAttributes initiated;

static bool start_matches(const tc_cmd *c, const tc_pb_event *ev)
{
    const initiated *a = ev->start_child_workflow_execution_initiated_event_attributes;
    return strcmp(a->workflow_id, c->id) == 0 && a->workflow_type &&
           strcmp(a->workflow_type->name, c->type) == 0;
}

static void cancel(tc_run *r, tc_cmd *c);

static const tc_cmd_kind k_start = {"StartChildWorkflowExecution",
                                    TC_ET(START_CHILD_WORKFLOW_EXECUTION_INITIATED), start_matches,
                                    NULL, cancel};

/* The run's child handles (tc_run_free, through r->free_children). */
static void children_free(tc_run *r)
{
    for (tc_child *ch = r->children, *n; ch; ch = n) {
        n = ch->next;
        free(ch->workflow_id);
        free(ch->run_id);
        free(ch->workflow_type);
        free(ch);
    }
    r->children = NULL;
}

/* ---- cancellation ---- */

static void send_cancel(tc_run *r, tc_child *ch)
{
    /* Only WAIT_REQUESTED waits for the request to be recorded; the other modes resolved (TRY)
     * or wait for the child's close event (WAIT_COMPLETED). */
    bool wait = ch->mode == TC_CHILD_CANCEL_WAIT_REQUESTED;
    tc_external_cancel(r, ch->workflow_id, ch->run_id, true, wait ? ch->result : NULL,
                       EXT_RESOLVE_CANCELLED);
}

/* tc_future_cancel on either future, or the run's cancellation: per the child's cancel mode. */
static void cancel(tc_run *r, tc_cmd *c)
{
    tc_child *ch = c->ext;
    if (c->cancelled || !ch || ch->result->state != FUT_PENDING)
        return;
    c->cancelled = true;
    if (c->state != CMD_RECORDED) {
        /* Never sent (this task's, or a replayed one history did not record): no child runs. */
        tc_cmd_drop(r, c);
        tc_future_resolve_fail(r, ch->started, FUT_CANCELLED, "CanceledError",
                               "child workflow cancelled before it was started", false, 0);
        tc_future_resolve_fail(r, ch->result, FUT_CANCELLED, "CanceledError",
                               "child workflow cancelled before it was started", false, 0);
        return;
    }
    if (ch->mode != TC_CHILD_CANCEL_ABANDON) {
        if (ch->started->state == FUT_OK)
            send_cancel(r, ch);
        else if (ch->started->state == FUT_PENDING)
            ch->cancel_pending = true; /* initiated, not started yet */
    }
    if (ch->mode == TC_CHILD_CANCEL_ABANDON || ch->mode == TC_CHILD_CANCEL_TRY)
        tc_future_resolve_fail(r, ch->result, FUT_CANCELLED, "CanceledError",
                               "child workflow cancelled", false, 0);
}

/* ---- starting ---- */

/* The StartChildWorkflowExecution command, packed. TC_ERR_INVALID (memo / search attributes
 * JSON) or TC_ERR_NOMEM with err set. */
static int pack_start(const tc_run *r, const char *wid, const char *type, const char *const *in,
                      size_t n_in, const tc_child_options *o, uint8_t **out, size_t *len,
                      tc_error *err)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__START_CHILD_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    Temporal__Api__Common__V1__WorkflowType wt = TEMPORAL__API__COMMON__V1__WORKFLOW_TYPE__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    Temporal__Api__Common__V1__RetryPolicy rp;
    tc_pb_duration d_exec, d_run, d_task, d_ii, d_mi;
    tc_plv pl;
    bool oom = false;
    int rc = TC_OK;
    wt.name = (char *)type;
    tq.name = (char *)(o->task_queue ? o->task_queue : r->task_queue);
    tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    a.workflow_id = (char *)wid;
    a.workflow_type = &wt;
    a.task_queue = &tq;
    a.input = tc_plv_init(&pl, in, n_in, &oom);
    if (oom)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    tc_pb_duration *slots[3] = {&d_exec, &d_run, &d_task};
    int64_t ms[3] = {o->execution_timeout_ms, o->run_timeout_ms, o->task_timeout_ms};
    tc_pb_duration **dst[3] = {&a.workflow_execution_timeout, &a.workflow_run_timeout,
                               &a.workflow_task_timeout};
    for (int i = 0; i < 3; i++)
        if (ms[i] > 0) {
            tc_duration_ms(slots[i], ms[i]);
            *dst[i] = slots[i];
        }
    a.parent_close_policy = (Temporal__Api__Enums__V1__ParentClosePolicy)o->parent_close_policy;
    a.workflow_id_reuse_policy =
        (Temporal__Api__Enums__V1__WorkflowIdReusePolicy)o->id_reuse_policy;
    a.cron_schedule = (char *)(o->cron_schedule ? o->cron_schedule : "");
    if (o->retry)
        a.retry_policy = tc_retry_policy_pb(o->retry, &rp, &d_ii, &d_mi);
    if (o->memo_json)
        rc = tc_memo_from_json(o->memo_json, &a.memo, err);
    if (rc == TC_OK && o->search_attributes_json)
        rc = tc_search_attributes_from_json(o->search_attributes_json, &a.search_attributes, err);
    if (rc == TC_OK) {
        TC_CMD_SET(cmd, START_CHILD_WORKFLOW_EXECUTION, start_child_workflow_execution, &a);
        if (!(*out = tc_cmd_pack(&cmd, len)))
            rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    if (a.memo)
        protobuf_c_message_free_unpacked(&a.memo->base, NULL);
    if (a.search_attributes)
        protobuf_c_message_free_unpacked(&a.search_attributes->base, NULL);
    tc_plv_clear(&pl);
    return rc;
}

static tc_child *child_new(tc_wf_ctx *ctx, const char *wid, const char *type, int mode)
{
    tc_run *r = ctx->run;
    tc_child *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    ch->next = r->children;
    r->children = ch;
    r->free_children = children_free;
    ch->mode = mode;
    ch->workflow_id = tc_strdup(wid);
    ch->workflow_type = tc_strdup(type);
    ch->run_id = tc_strdup("");
    ch->started = tc_future_new(r, FK_OTHER);
    ch->result = tc_future_new(r, FK_OTHER);
    if (!ch->workflow_id || !ch->workflow_type || !ch->run_id || !ch->started || !ch->result)
        return NULL; /* freed with the run */
    ch->started->detached = ch->result->detached = ctx->detached > 0;
    return ch;
}

tc_child *tc_wf_child_start(tc_wf_ctx *ctx, const char *workflow_type, const char *input_json,
                            const tc_child_options *opts)
{
    static const tc_child_options defaults;
    const tc_child_options *o = opts ? opts : &defaults;
    tc_run *r = ctx->run;
    if (!workflow_type || !*workflow_type) {
        tc_run_fail(r, TC_ERR_TASK_FAILED, "tc_wf_child_start: workflow_type is required");
        tc_sched_park(ctx);
    }
    bool cancelled =
        r->destroying || r->outcome != OUT_NONE || (r->cancel_requested && ctx->detached == 0);
    char uuid[37] = "";
    if (!o->workflow_id && !cancelled)
        tc_wf_uuid(ctx, uuid);
    tc_child *ch =
        child_new(ctx, o->workflow_id ? o->workflow_id : uuid, workflow_type, o->cancel_mode);
    if (!ch) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory starting child workflow %s", workflow_type);
        tc_sched_park(ctx);
    }
    if (cancelled) {
        tc_future_resolve_fail(r, ch->started, FUT_CANCELLED, "CanceledError",
                               "child workflow not started: cancelled", false, 0);
        tc_future_resolve_fail(r, ch->result, FUT_CANCELLED, "CanceledError",
                               "child workflow not started: cancelled", false, 0);
        return ch;
    }
    uint8_t *packed = NULL;
    size_t len = 0;
    {
        /* Packed even while replaying: an unrecorded command is sent with the live task. */
        const char *one[1] = {input_json};
        tc_error e = {0};
        int rc = o->n_inputs ? pack_start(r, ch->workflow_id, workflow_type, o->inputs, o->n_inputs,
                                          o, &packed, &len, &e)
                             : pack_start(r, ch->workflow_id, workflow_type, one,
                                          input_json ? 1 : 0, o, &packed, &len, &e);
        if (rc != TC_OK) {
            tc_run_fail(r, rc == TC_ERR_NOMEM ? rc : TC_ERR_TASK_FAILED,
                        "tc_wf_child_start(%s): %s", workflow_type, e.text);
            tc_sched_park(ctx);
        }
    }
    tc_cmd *c = tc_cmd_add(r, &k_start, ch->workflow_id, workflow_type, packed, len);
    if (!c) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory starting child workflow %s", workflow_type);
        tc_sched_park(ctx);
    }
    c->fut = ch->result;
    c->ext = ch;
    c->mode = o->cancel_mode;
    ch->start = c;
    ch->started->cmd = c;
    ch->result->cmd = c;
    return ch;
}

tc_future *tc_child_started(tc_child *ch)
{
    return ch ? ch->started : NULL;
}

tc_future *tc_child_result(tc_child *ch)
{
    return ch ? ch->result : NULL;
}

const char *tc_child_workflow_id(const tc_child *ch)
{
    return ch ? ch->workflow_id : NULL;
}

const char *tc_child_run_id(const tc_child *ch)
{
    return ch ? ch->run_id : NULL;
}

int tc_wf_child(tc_wf_ctx *ctx, const char *workflow_type, const char *input_json,
                const tc_child_options *opts, tc_wf_result *out)
{
    tc_child *ch = tc_wf_child_start(ctx, workflow_type, input_json, opts);
    return tc_future_get(ctx, ch->result, out);
}

/* A future already resolved as failed or cancelled (an operation that never went out). */
static tc_future *resolved(tc_wf_ctx *ctx, int state, const char *type, const char *message)
{
    tc_future *f = tc_future_new(ctx->run, FK_OTHER);
    if (!f) {
        tc_run_fail(ctx->run, TC_ERR_NOMEM, "out of memory signalling a child");
        tc_sched_park(ctx);
    }
    tc_future_resolve_fail(ctx->run, f, state, type, message, false, 0);
    return f;
}

tc_future *tc_child_signal(tc_wf_ctx *ctx, tc_child *ch, const char *signal_name,
                           const char *input_json)
{
    tc_run *r = ctx->run;
    if (!ch || !signal_name || !*signal_name) {
        tc_run_fail(r, TC_ERR_TASK_FAILED, "tc_child_signal: child and signal_name are required");
        tc_sched_park(ctx);
    }
    /* As the Go SDK: the signal goes out once the child is known to run. */
    int rc = tc_future_get(ctx, ch->started, NULL);
    if (rc != TC_OK)
        return resolved(ctx, rc == TC_ERR_FAILED ? FUT_FAILED : FUT_CANCELLED,
                        ch->started->ftype ? ch->started->ftype : "CanceledError",
                        ch->started->fmsg ? ch->started->fmsg : "cancelled");
    if (r->destroying || r->outcome != OUT_NONE || (r->cancel_requested && ctx->detached == 0))
        return resolved(ctx, FUT_CANCELLED, "CanceledError", "signal not sent: cancelled");
    const char *one[1] = {input_json};
    tc_future *f = tc_external_signal(r, ch->workflow_id, ch->run_id, signal_name, one,
                                      input_json ? 1 : 0, true, ctx->detached > 0);
    if (!f)
        tc_sched_park(ctx);
    return f;
}

/* ---- events ---- */

static void describe_initiated(const tc_pb_event *ev, char *buf, size_t cap)
{
    const initiated *a = ev->start_child_workflow_execution_initiated_event_attributes;
    snprintf(buf, cap, "StartChildWorkflowExecution(id=%s, type=%s)", a->workflow_id,
             a->workflow_type ? a->workflow_type->name : "");
}

#define REF(name, attrs)                       \
    static int64_t name(const tc_pb_event *ev) \
    {                                          \
        return ev->attrs->initiated_event_id;  \
    }
REF(start_failed_ref, start_child_workflow_execution_failed_event_attributes)
REF(started_ref, child_workflow_execution_started_event_attributes)
REF(completed_ref, child_workflow_execution_completed_event_attributes)
REF(failed_ref, child_workflow_execution_failed_event_attributes)
REF(canceled_ref, child_workflow_execution_canceled_event_attributes)
REF(timed_out_ref, child_workflow_execution_timed_out_event_attributes)
REF(terminated_ref, child_workflow_execution_terminated_event_attributes)
#undef REF

static tc_child *child_of(const tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    char t[64];
    if (c->kind == &k_start && c->ext)
        return c->ext;
    tc_seterr(err, TC_ERR_PROTOCOL,
              "history event %lld (%s) refers to event %lld, which is not a "
              "StartChildWorkflowExecutionInitiated",
              (long long)ev->event_id, tc_event_type_name((int)ev->event_type, t, sizeof t),
              (long long)c->event_id);
    return NULL;
}

static int on_start_failed(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    tc_child *ch = child_of(c, ev, err);
    if (!ch)
        return TC_ERR_PROTOCOL;
    int cause = (int)ev->start_child_workflow_execution_failed_event_attributes->cause;
    const char *type = cause == 1   ? "WorkflowExecutionAlreadyStarted"
                       : cause == 2 ? "NamespaceNotFound"
                                    : "StartChildWorkflowExecutionFailed";
    char msg[512];
    snprintf(msg, sizeof msg, "child workflow %s (%s) could not be started: %s", ch->workflow_id,
             ch->workflow_type,
             cause == 1 ? "a workflow with this id already exists" : "the server refused it");
    tc_future_resolve_fail(r, ch->started, FUT_FAILED, type, msg, true, ev->event_id);
    tc_future_resolve_fail(r, ch->result, FUT_FAILED, type, msg, true, ev->event_id);
    return TC_OK;
}

/* s as a JSON string literal (malloc'd), NULL out of memory. */
static char *json_quote(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *q = malloc(n * 6 + 3);
    if (!q)
        return NULL;
    q[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            q[o++] = '\\';
            q[o++] = (char)*p;
        } else if (*p < 0x20) {
            o += (size_t)snprintf(q + o, 7, "\\u%04x", *p);
        } else {
            q[o++] = (char)*p;
        }
    }
    q[o++] = '"';
    q[o] = '\0';
    return q;
}

static int on_started(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    tc_child *ch = child_of(c, ev, err);
    if (!ch)
        return TC_ERR_PROTOCOL;
    const Temporal__Api__Common__V1__WorkflowExecution *ex =
        ev->child_workflow_execution_started_event_attributes->workflow_execution;
    char *rid = tc_strdup(ex ? ex->run_id : "");
    char **v = malloc(sizeof *v);
    if (!rid || !v || !(v[0] = json_quote(rid))) {
        free(rid);
        free(v);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    free(ch->run_id);
    ch->run_id = rid;
    tc_future_resolve_values(r, ch->started, v, 1, ev->event_id);
    if (ch->cancel_pending) {
        ch->cancel_pending = false;
        send_cancel(r, ch);
    }
    return TC_OK;
}

static int on_completed(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    tc_child *ch = child_of(c, ev, err);
    if (!ch)
        return TC_ERR_PROTOCOL;
    if (ch->result->state != FUT_PENDING)
        return TC_OK; /* abandoned or try-cancelled */
    char what[96], **values = NULL;
    size_t n = 0;
    snprintf(what, sizeof what, "event %lld (ChildWorkflowExecutionCompleted) result",
             (long long)ev->event_id);
    int rc = tc_payloads_decode_all(ev->child_workflow_execution_completed_event_attributes->result,
                                    &values, &n, what, err);
    if (rc == TC_OK)
        tc_future_resolve_values(r, ch->result, values, n, ev->event_id);
    return rc;
}

/* The child's failure as the official SDKs hand it to the parent: a ChildWorkflowFailure
 * naming the child, caused by what ended it. Kept on the result future for
 * tc_wf_fail_future; the future's own type / message are the cause's. */
static int resolve_closed(tc_run *r, tc_child *ch, const tc_pb_event *ev, int state,
                          const tc_pb_failure *cause, int64_t started_id, int retry_state,
                          tc_error *err)
{
    if (ch->result->state != FUT_PENDING)
        return TC_OK;
    Temporal__Api__Failure__V1__Failure wrap = TEMPORAL__API__FAILURE__V1__FAILURE__INIT;
    Temporal__Api__Failure__V1__ChildWorkflowExecutionFailureInfo info =
        TEMPORAL__API__FAILURE__V1__CHILD_WORKFLOW_EXECUTION_FAILURE_INFO__INIT;
    Temporal__Api__Common__V1__WorkflowExecution ex =
        TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;
    Temporal__Api__Common__V1__WorkflowType wt = TEMPORAL__API__COMMON__V1__WORKFLOW_TYPE__INIT;
    ex.workflow_id = ch->workflow_id;
    ex.run_id = ch->run_id;
    wt.name = ch->workflow_type;
    info.workflow_execution = &ex;
    info.workflow_type = &wt;
    info.initiated_event_id = ch->start ? ch->start->event_id : 0;
    info.started_event_id = started_id;
    info.retry_state = (Temporal__Api__Enums__V1__RetryState)retry_state;
    wrap.message = (char *)"child workflow execution error";
    wrap.source = (char *)"CSDK";
    wrap.failure_info_case =
        TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CHILD_WORKFLOW_EXECUTION_FAILURE_INFO;
    wrap.child_workflow_execution_failure_info = &info;
    wrap.cause = (tc_pb_failure *)cause;
    const char *type, *msg;
    bool nr;
    tc_failure_describe(cause, &type, &msg, &nr);
    tc_future_resolve_fail(r, ch->result, state, type, msg, nr, ev->event_id);
    if (!tc_future_keep_failure(ch->result, &wrap))
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    return TC_OK;
}

static int on_failed(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    tc_child *ch = child_of(c, ev, err);
    if (!ch)
        return TC_ERR_PROTOCOL;
    const Temporal__Api__History__V1__ChildWorkflowExecutionFailedEventAttributes *a =
        ev->child_workflow_execution_failed_event_attributes;
    Temporal__Api__Failure__V1__Failure none = TEMPORAL__API__FAILURE__V1__FAILURE__INIT;
    none.message = (char *)"child workflow failed";
    return resolve_closed(r, ch, ev, FUT_FAILED, a->failure ? a->failure : &none,
                          a->started_event_id, (int)a->retry_state, err);
}

/* A child cancelled, timed out or terminated: its history event carries no failure, so the
 * cause is made here with the failure info of how it ended. */
static int on_ended(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    tc_child *ch = child_of(c, ev, err);
    if (!ch)
        return TC_ERR_PROTOCOL;
    Temporal__Api__Failure__V1__Failure f = TEMPORAL__API__FAILURE__V1__FAILURE__INIT;
    Temporal__Api__Failure__V1__CanceledFailureInfo cancelled =
        TEMPORAL__API__FAILURE__V1__CANCELED_FAILURE_INFO__INIT;
    Temporal__Api__Failure__V1__TimeoutFailureInfo timeout =
        TEMPORAL__API__FAILURE__V1__TIMEOUT_FAILURE_INFO__INIT;
    Temporal__Api__Failure__V1__TerminatedFailureInfo terminated =
        TEMPORAL__API__FAILURE__V1__TERMINATED_FAILURE_INFO__INIT;
    int state = FUT_FAILED, retry_state = 0;
    int64_t started_id;
    if (ev->event_type == TC_ET(CHILD_WORKFLOW_EXECUTION_CANCELED)) {
        state = FUT_CANCELLED;
        f.message = (char *)"child workflow cancelled";
        f.failure_info_case =
            TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CANCELED_FAILURE_INFO;
        f.canceled_failure_info = &cancelled;
        cancelled.details = ev->child_workflow_execution_canceled_event_attributes->details;
        started_id = ev->child_workflow_execution_canceled_event_attributes->started_event_id;
    } else if (ev->event_type == TC_ET(CHILD_WORKFLOW_EXECUTION_TIMED_OUT)) {
        const Temporal__Api__History__V1__ChildWorkflowExecutionTimedOutEventAttributes *a =
            ev->child_workflow_execution_timed_out_event_attributes;
        f.message = (char *)"child workflow timed out";
        f.failure_info_case =
            TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TIMEOUT_FAILURE_INFO;
        f.timeout_failure_info = &timeout;
        timeout.timeout_type = TEMPORAL__API__ENUMS__V1__TIMEOUT_TYPE__TIMEOUT_TYPE_START_TO_CLOSE;
        started_id = a->started_event_id;
        retry_state = (int)a->retry_state;
    } else {
        f.message = (char *)"child workflow terminated";
        f.failure_info_case =
            TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TERMINATED_FAILURE_INFO;
        f.terminated_failure_info = &terminated;
        started_id = ev->child_workflow_execution_terminated_event_attributes->started_event_id;
    }
    return resolve_closed(r, ch, ev, state, &f, started_id, retry_state, err);
}

static const tc_event_rule k_rules[] = {
    {.event_type = TC_ET(START_CHILD_WORKFLOW_EXECUTION_INITIATED),
     .role = EV_COMMAND,
     .describe = describe_initiated},
    {.event_type = TC_ET(START_CHILD_WORKFLOW_EXECUTION_FAILED),
     .role = EV_RESOLVE,
     .initiator = start_failed_ref,
     .resolve = on_start_failed},
    {.event_type = TC_ET(CHILD_WORKFLOW_EXECUTION_STARTED),
     .role = EV_RESOLVE,
     .initiator = started_ref,
     .resolve = on_started},
    {.event_type = TC_ET(CHILD_WORKFLOW_EXECUTION_COMPLETED),
     .role = EV_RESOLVE,
     .initiator = completed_ref,
     .resolve = on_completed},
    {.event_type = TC_ET(CHILD_WORKFLOW_EXECUTION_FAILED),
     .role = EV_RESOLVE,
     .initiator = failed_ref,
     .resolve = on_failed},
    {.event_type = TC_ET(CHILD_WORKFLOW_EXECUTION_CANCELED),
     .role = EV_RESOLVE,
     .initiator = canceled_ref,
     .resolve = on_ended},
    {.event_type = TC_ET(CHILD_WORKFLOW_EXECUTION_TIMED_OUT),
     .role = EV_RESOLVE,
     .initiator = timed_out_ref,
     .resolve = on_ended},
    {.event_type = TC_ET(CHILD_WORKFLOW_EXECUTION_TERMINATED),
     .role = EV_RESOLVE,
     .initiator = terminated_ref,
     .resolve = on_ended},
};

const tc_cmd_family tc_family_child = {"child", k_rules, sizeof k_rules / sizeof k_rules[0]};
