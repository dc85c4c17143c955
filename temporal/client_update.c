/* client_update.c - the client's workflow update calls: UpdateWorkflowExecution with a wait
 * policy, then PollWorkflowExecutionUpdate until the stage asked for is reached. Must not hold
 * state between calls beyond the tc_client. */
#include "temporal_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/api/update/v1/message.pb-c.h"

#define WS(name) temporal__api__workflowservice__v1__##name

/* A call never waits longer than this: the server answers a long poll within ~20 s anyway. */
#define TC_UPDATE_CALL_MS 70000

typedef Temporal__Api__Enums__V1__UpdateWorkflowExecutionLifecycleStage stage_t;
#define STAGE(x) \
    TEMPORAL__API__ENUMS__V1__UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE__UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_##x

void tc_update_outcome_clear(tc_update_outcome *o)
{
    if (!o)
        return;
    free(o->result_json);
    free(o->failure_type);
    free(o->failure_message);
    o->result_json = o->failure_type = o->failure_message = NULL;
    o->accepted = o->completed = false;
}

/* Milliseconds left before end_us (0: no end), clamped to one call. -1 when past. */
static int call_budget(int64_t end_us)
{
    if (end_us == 0)
        return TC_UPDATE_CALL_MS;
    int64_t left = (end_us - tc_now_us()) / 1000;
    if (left <= 0)
        return -1;
    return left < TC_UPDATE_CALL_MS ? (int)left : TC_UPDATE_CALL_MS;
}

/* Records what a reply said; returns TC_OK, TC_ERR_FAILED (a failure outcome) or TC_ERR_NOMEM. */
static int take_outcome(tc_update_outcome *out, stage_t stage,
                        const Temporal__Api__Update__V1__Outcome *o, tc_error *err)
{
    if (stage >= STAGE(ACCEPTED))
        out->accepted = true;
    if (!o || o->value_case == TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE__NOT_SET)
        return TC_OK;
    out->completed = true;
    if (o->value_case == TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_SUCCESS) {
        if (!(out->result_json = tc_payloads_first_json(o->success)))
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        return TC_OK;
    }
    const char *type, *msg;
    bool nr;
    tc_failure_describe(o->failure, &type, &msg, &nr);
    out->failure_type = tc_strdup(type);
    out->failure_message = tc_strdup(msg);
    if (!out->failure_type || !out->failure_message)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    return tc_seterr(err, TC_ERR_FAILED, "update %s: %s: %s", out->update_id, type, msg);
}

static bool reached(const tc_update_outcome *out, tc_update_stage wait)
{
    return out->completed || (wait == TC_UPDATE_WAIT_ACCEPTED && out->accepted);
}

/* PollWorkflowExecutionUpdate until the outcome is known or end_us passes. */
static int poll_outcome(tc_client *c, const char *wid, const char *rid, tc_update_outcome *out,
                        int64_t end_us, tc_error *err)
{
    Temporal__Api__Workflowservice__V1__PollWorkflowExecutionUpdateRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__POLL_WORKFLOW_EXECUTION_UPDATE_REQUEST__INIT;
    Temporal__Api__Update__V1__UpdateRef ref = TEMPORAL__API__UPDATE__V1__UPDATE_REF__INIT;
    Temporal__Api__Common__V1__WorkflowExecution ex =
        TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;
    Temporal__Api__Update__V1__WaitPolicy wp = TEMPORAL__API__UPDATE__V1__WAIT_POLICY__INIT;
    ex.workflow_id = (char *)wid;
    ex.run_id = (char *)(rid ? rid : "");
    ref.workflow_execution = &ex;
    ref.update_id = out->update_id;
    wp.lifecycle_stage = STAGE(COMPLETED);
    rq.namespace_ = c->ns;
    rq.update_ref = &ref;
    rq.identity = c->identity;
    rq.wait_policy = &wp;
    for (;;) {
        int ms = call_budget(end_us);
        if (ms < 0)
            return tc_seterr(err, TC_ERR_TIMEOUT, "update %s: no outcome in time", out->update_id);
        ProtobufCMessage *m = NULL;
        int rc =
            tc_rpc(c, "PollWorkflowExecutionUpdate", TC_RPC_MSG(rq),
                   &WS(poll_workflow_execution_update_response__descriptor), &m, ms, 0, NULL, err);
        if (rc == TC_ERR_TIMEOUT)
            continue; /* the call's deadline, not the caller's: the loop checks that */
        if (rc != TC_OK)
            return rc;
        Temporal__Api__Workflowservice__V1__PollWorkflowExecutionUpdateResponse *r = (void *)m;
        rc = take_outcome(out, r->stage, r->outcome, err);
        protobuf_c_message_free_unpacked(m, NULL);
        if (rc != TC_OK || out->completed)
            return rc;
    }
}

int tc_workflow_update(tc_client *c, const tc_update_request *u, tc_update_outcome *out,
                       tc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!c || !u || !u->workflow_id || !*u->workflow_id || !u->update_name || !*u->update_name)
        return tc_seterr(err, TC_ERR_INVALID, "workflow_id and update_name are required");
    if (u->update_id && *u->update_id) {
        if (strlen(u->update_id) >= sizeof out->update_id)
            return tc_seterr(err, TC_ERR_INVALID, "update_id longer than %zu bytes",
                             sizeof out->update_id - 1);
        snprintf(out->update_id, sizeof out->update_id, "%s", u->update_id);
    } else {
        tc_uuid(out->update_id);
    }
    int64_t end_us = u->timeout_ms > 0 ? tc_now_us() + (int64_t)u->timeout_ms * 1000 : 0;
    Temporal__Api__Workflowservice__V1__UpdateWorkflowExecutionRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__UPDATE_WORKFLOW_EXECUTION_REQUEST__INIT;
    Temporal__Api__Common__V1__WorkflowExecution ex =
        TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;
    Temporal__Api__Update__V1__WaitPolicy wp = TEMPORAL__API__UPDATE__V1__WAIT_POLICY__INIT;
    Temporal__Api__Update__V1__Request req = TEMPORAL__API__UPDATE__V1__REQUEST__INIT;
    Temporal__Api__Update__V1__Meta meta = TEMPORAL__API__UPDATE__V1__META__INIT;
    Temporal__Api__Update__V1__Input in = TEMPORAL__API__UPDATE__V1__INPUT__INIT;
    tc_plv args;
    bool oom = false;
    const char *one[1] = {u->input_json};
    ex.workflow_id = (char *)u->workflow_id;
    ex.run_id = (char *)(u->run_id ? u->run_id : "");
    meta.update_id = out->update_id;
    meta.identity = c->identity;
    in.name = (char *)u->update_name;
    in.args = u->n_inputs ? tc_plv_init(&args, u->inputs, u->n_inputs, &oom)
                          : tc_plv_init(&args, one, u->input_json ? 1 : 0, &oom);
    if (oom)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    req.meta = &meta;
    req.input = &in;
    /* Admitted is not durable: ask again (same id: the server deduplicates) until accepted. */
    wp.lifecycle_stage = u->wait == TC_UPDATE_WAIT_ACCEPTED ? STAGE(ACCEPTED) : STAGE(COMPLETED);
    rq.namespace_ = c->ns;
    rq.workflow_execution = &ex;
    rq.wait_policy = &wp;
    rq.request = &req;
    int rc;
    for (;;) {
        int ms = call_budget(end_us);
        if (ms < 0) {
            rc = tc_seterr(err, TC_ERR_TIMEOUT, "update %s: stage not reached in time",
                           out->update_id);
            break;
        }
        ProtobufCMessage *m = NULL;
        rc = tc_rpc(c, "UpdateWorkflowExecution", TC_RPC_MSG(rq),
                    &WS(update_workflow_execution_response__descriptor), &m, ms, 0, NULL, err);
        if (rc == TC_ERR_TIMEOUT)
            continue;
        if (rc != TC_OK)
            break;
        Temporal__Api__Workflowservice__V1__UpdateWorkflowExecutionResponse *r = (void *)m;
        rc = take_outcome(out, r->stage, r->outcome, err);
        protobuf_c_message_free_unpacked(m, NULL);
        if (rc != TC_OK || reached(out, u->wait))
            break;
        if (out->accepted) {
            rc = poll_outcome(c, u->workflow_id, u->run_id, out, end_us, err);
            break;
        }
    }
    tc_plv_clear(&args);
    return rc;
}

int tc_workflow_update_result(tc_client *c, const char *workflow_id, const char *run_id,
                              const char *update_id, int timeout_ms, tc_update_outcome *out,
                              tc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!c || !workflow_id || !*workflow_id || !update_id || !*update_id ||
        strlen(update_id) >= sizeof out->update_id)
        return tc_seterr(err, TC_ERR_INVALID, "workflow_id and update_id are required");
    snprintf(out->update_id, sizeof out->update_id, "%s", update_id);
    int64_t end_us = timeout_ms > 0 ? tc_now_us() + (int64_t)timeout_ms * 1000 : 0;
    return poll_outcome(c, workflow_id, run_id, out, end_us, err);
}
