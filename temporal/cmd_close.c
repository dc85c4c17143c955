/* cmd_close.c - the closing command family: complete, fail, cancel, continue-as-new (one per run,
 * made after the code chose how the run ends) and the events that record them. Must not know
 * about other command kinds. */
#include "wf_run.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static bool any(const tc_cmd *c, const tc_pb_event *ev)
{
    (void)c;
    (void)ev;
    return true; /* one closing command per run: the kind says it all */
}

static int closed(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    (void)c;
    (void)ev;
    (void)err;
    r->closed = true;
    return TC_OK;
}

static const tc_cmd_kind k_complete = {"CompleteWorkflowExecution",
                                       TC_ET(WORKFLOW_EXECUTION_COMPLETED), any, closed, NULL};
static const tc_cmd_kind k_fail = {"FailWorkflowExecution", TC_ET(WORKFLOW_EXECUTION_FAILED), any,
                                   closed, NULL};
static const tc_cmd_kind k_cancel = {"CancelWorkflowExecution", TC_ET(WORKFLOW_EXECUTION_CANCELED),
                                     any, closed, NULL};
static const tc_cmd_kind k_continue = {"ContinueAsNewWorkflowExecution",
                                       TC_ET(WORKFLOW_EXECUTION_CONTINUED_AS_NEW), any, closed,
                                       NULL};

static uint8_t *pack_complete(const tc_run *r, size_t *len)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__CompleteWorkflowExecutionCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__COMPLETE_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    tc_pl1 res;
    a.result = tc_pl1_init(&res, r->out_result);
    TC_CMD_SET(cmd, COMPLETE_WORKFLOW_EXECUTION, complete_workflow_execution, &a);
    uint8_t *packed = tc_cmd_pack(&cmd, len);
    tc_pl1_clear(&res);
    return packed;
}

static uint8_t *pack_fail(const tc_run *r, size_t *len)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__FailWorkflowExecutionCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__FAIL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    tc_appfail f;
    tc_pb_failure *whole = NULL; /* tc_wf_fail_failure / tc_wf_fail_future (failure.c) */
    if (r->out_failure && !(whole = temporal__api__failure__v1__failure__unpack(
                                NULL, r->out_failure_len, r->out_failure)))
        return NULL;
    a.failure = whole ? whole : tc_appfail_init(&f, r->out_ftype, r->out_fmsg, r->out_nr);
    TC_CMD_SET(cmd, FAIL_WORKFLOW_EXECUTION, fail_workflow_execution, &a);
    uint8_t *packed = tc_cmd_pack(&cmd, len);
    if (whole)
        temporal__api__failure__v1__failure__free_unpacked(whole, NULL);
    return packed;
}

static uint8_t *pack_cancel(size_t *len)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__CancelWorkflowExecutionCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__CANCEL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    TC_CMD_SET(cmd, CANCEL_WORKFLOW_EXECUTION, cancel_workflow_execution, &a);
    return tc_cmd_pack(&cmd, len);
}

/* A run's current memo or search attributes (start values with every upsert) as one JSON object,
 * malloc'd; NULL out of memory. */
static char *kv_json(const tc_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        json_t *v = json_loads(kv[i].json, JSON_DECODE_ANY, NULL);
        if (v)
            json_object_set_new(o, kv[i].key, v);
    }
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* The memo and search attributes a continued run starts with: this run's current ones, as the
 * Go SDK carries them over (the server does not). */
static bool
carry_properties(const tc_run *r,
                 Temporal__Api__Command__V1__ContinueAsNewWorkflowExecutionCommandAttributes *a)
{
    char *memo = r->n_memo ? kv_json(r->memo, r->n_memo) : NULL;
    char *sa = r->n_sa ? kv_json(r->sa, r->n_sa) : NULL;
    tc_error err;
    bool ok = (!r->n_memo || memo) && (!r->n_sa || sa);
    if (ok && memo)
        ok = tc_memo_from_json(memo, &a->memo, &err) == TC_OK;
    if (ok && sa)
        ok = tc_search_attributes_from_json(sa, &a->search_attributes, &err) == TC_OK;
    free(memo);
    free(sa);
    return ok;
}

static uint8_t *pack_continue(const tc_run *r, size_t *len)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__ContinueAsNewWorkflowExecutionCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__CONTINUE_AS_NEW_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    Temporal__Api__Common__V1__WorkflowType wt = TEMPORAL__API__COMMON__V1__WORKFLOW_TYPE__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    tc_pb_duration run_to, task_to;
    tc_plv in;
    bool oom;
    const tc_continue_options *o = &r->out_can;
    wt.name = (char *)(o->workflow_type ? o->workflow_type : r->workflow_type);
    tq.name = (char *)(o->task_queue ? o->task_queue : r->task_queue);
    tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    a.workflow_type = &wt;
    a.task_queue = &tq;
    a.input = tc_plv_init(&in, (const char *const *)r->out_inputs, r->n_out_inputs, &oom);
    if (oom)
        return NULL;
    int64_t run_ms = o->run_timeout_ms > 0 ? o->run_timeout_ms : r->run_timeout_ms;
    int64_t task_ms = o->task_timeout_ms > 0 ? o->task_timeout_ms : r->task_timeout_ms;
    if (run_ms > 0) {
        tc_duration_ms(&run_to, run_ms);
        a.workflow_run_timeout = &run_to;
    }
    if (task_ms > 0) {
        tc_duration_ms(&task_to, task_ms);
        a.workflow_task_timeout = &task_to;
    }
    uint8_t *p = NULL;
    if (!carry_properties(r, &a))
        goto out;
    TC_CMD_SET(cmd, CONTINUE_AS_NEW_WORKFLOW_EXECUTION, continue_as_new_workflow_execution, &a);
    p = tc_cmd_pack(&cmd, len);
out:
    if (a.memo)
        protobuf_c_message_free_unpacked(&a.memo->base, NULL);
    if (a.search_attributes)
        protobuf_c_message_free_unpacked(&a.search_attributes->base, NULL);
    tc_plv_clear(&in);
    return p;
}

void tc_close_emit(tc_run *r)
{
    const tc_cmd_kind *kind = NULL;
    uint8_t *packed = NULL;
    size_t len = 0;
    bool live = true; /* packed even while replaying: see cmd_activity.c */
    if (r->ended || r->outcome == OUT_NONE || r->close_held)
        return; /* held: the next task's activation makes it */
    r->ended = true;
    switch (r->outcome) {
    case OUT_COMPLETE:
        kind = &k_complete;
        packed = live ? pack_complete(r, &len) : NULL;
        break;
    case OUT_FAIL:
        kind = &k_fail;
        packed = live ? pack_fail(r, &len) : NULL;
        break;
    case OUT_CANCEL:
        kind = &k_cancel;
        packed = live ? pack_cancel(&len) : NULL;
        break;
    default:
        kind = &k_continue;
        packed = live ? pack_continue(r, &len) : NULL;
        break;
    }
    if ((live && !packed) || !tc_cmd_add(r, kind, "", "", packed, len))
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory building the closing command");
}

/* Events are described by the command that records them, as mismatches are reported. */
static void describe(const tc_pb_event *ev, char *buf, size_t cap)
{
    const char *name = ev->event_type == TC_ET(WORKFLOW_EXECUTION_COMPLETED)  ? k_complete.name
                       : ev->event_type == TC_ET(WORKFLOW_EXECUTION_FAILED)   ? k_fail.name
                       : ev->event_type == TC_ET(WORKFLOW_EXECUTION_CANCELED) ? k_cancel.name
                                                                              : k_continue.name;
    snprintf(buf, cap, "%s", name);
}

static const tc_event_rule k_rules[] = {
    {.event_type = TC_ET(WORKFLOW_EXECUTION_COMPLETED), .role = EV_COMMAND, .describe = describe},
    {.event_type = TC_ET(WORKFLOW_EXECUTION_FAILED), .role = EV_COMMAND, .describe = describe},
    {.event_type = TC_ET(WORKFLOW_EXECUTION_CANCELED), .role = EV_COMMAND, .describe = describe},
    {.event_type = TC_ET(WORKFLOW_EXECUTION_CONTINUED_AS_NEW),
     .role = EV_COMMAND,
     .describe = describe},
};

const tc_cmd_family tc_family_close = {"close", k_rules, sizeof k_rules / sizeof k_rules[0]};
