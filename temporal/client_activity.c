/* client_activity.c - asynchronous activity completion through a client: complete, fail,
 * heartbeat and acknowledge cancellation of an activity attempt by its task token or by
 * (workflow id, run id, activity id). Must not know about workers. */
#include "temporal_internal.h"

#include <stdio.h>
#include <string.h>

#define WS(name) temporal__api__workflowservice__v1__##name

/* Checks the client and ref; *by_token tells which form ref uses. */
static int check_ref(const tc_client *c, const char *what, const tc_activity_ref *ref,
                     bool *by_token, tc_error *err)
{
    if (!c)
        return tc_seterr(err, TC_ERR_INVALID, "%s: no client", what);
    if (!ref)
        return tc_seterr(err, TC_ERR_INVALID, "%s: no activity given", what);
    if (ref->task_token) {
        if (ref->task_token_len == 0)
            return tc_seterr(err, TC_ERR_INVALID, "%s: empty task token", what);
        *by_token = true;
        return TC_OK;
    }
    if (!ref->workflow_id || !*ref->workflow_id || !ref->activity_id || !*ref->activity_id)
        return tc_seterr(err, TC_ERR_INVALID,
                         "%s: a task token, or a workflow id and an activity id, are required",
                         what);
    *by_token = false;
    return TC_OK;
}

static ProtobufCBinaryData token_of(const tc_activity_ref *ref)
{
    ProtobufCBinaryData t = {ref->task_token_len, (uint8_t *)ref->task_token};
    return t;
}

static char *str(const char *s)
{
    return (char *)(s ? s : "");
}

/* Copies size bytes of value into the field called name of rq. */
static void set_field(ProtobufCMessage *rq, const char *name, const void *value, size_t size)
{
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(rq->descriptor, name);
    if (fd)
        memcpy((char *)rq + fd->offset, value, size);
}

/* Fills what every request of this file carries, by field name (each request has them): the
 * namespace, the identity, and the activity: its task token, or its workflow, run and activity
 * ids. Strings are borrowed. */
static void address(ProtobufCMessage *rq, const tc_client *c, const tc_activity_ref *ref,
                    bool by_token)
{
    set_field(rq, "namespace", &c->ns, sizeof c->ns);
    set_field(rq, "identity", &c->identity, sizeof c->identity);
    if (by_token) {
        ProtobufCBinaryData t = token_of(ref);
        set_field(rq, "task_token", &t, sizeof t);
        return;
    }
    const char *ids[] = {str(ref->workflow_id), str(ref->run_id), str(ref->activity_id)};
    set_field(rq, "workflow_id", &ids[0], sizeof ids[0]);
    set_field(rq, "run_id", &ids[1], sizeof ids[1]);
    set_field(rq, "activity_id", &ids[2], sizeof ids[2]);
}

/* One call; the reply carries nothing we need but cancel_requested (heartbeats). pl (may be
 * NULL): the payload the request borrows, released after the call (a typed value's bytes). */
static int call(tc_client *c, const char *rpc, const ProtobufCMessage *rq,
                const ProtobufCMessageDescriptor *resp_desc, bool *cancel_requested, tc_pl1 *pl,
                tc_error *err)
{
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(c, rpc, rq, resp_desc, &m, 0, 0, NULL, err);
    if (pl)
        tc_pl1_clear(pl);
    if (rc == TC_OK && cancel_requested) {
        /* Both heartbeat replies have cancel_requested as their field 1. */
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field_by_name(resp_desc, "cancel_requested");
        *cancel_requested = fd && *(const protobuf_c_boolean *)((const char *)m + fd->offset);
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int tc_client_complete_activity(tc_client *c, const tc_activity_ref *ref, const char *result_json,
                                tc_error *err)
{
    bool by_token;
    int rc = check_ref(c, "tc_client_complete_activity", ref, &by_token, err);
    if (rc != TC_OK)
        return rc;
    tc_pl1 res;
    if (by_token) {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskCompletedRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_COMPLETED_REQUEST__INIT;
        address(&rq.base, c, ref, true);
        rq.result = tc_pl1_init(&res, result_json);
        return call(c, "RespondActivityTaskCompleted", TC_RPC_MSG(rq),
                    &WS(respond_activity_task_completed_response__descriptor), NULL, &res, err);
    }
    Temporal__Api__Workflowservice__V1__RespondActivityTaskCompletedByIdRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_COMPLETED_BY_ID_REQUEST__INIT;
    address(&rq.base, c, ref, false);
    rq.result = tc_pl1_init(&res, result_json);
    return call(c, "RespondActivityTaskCompletedById", TC_RPC_MSG(rq),
                &WS(respond_activity_task_completed_by_id_response__descriptor), NULL, &res, err);
}

int tc_client_fail_activity(tc_client *c, const tc_activity_ref *ref, const char *type,
                            const char *message, bool non_retryable, const char *last_details_json,
                            tc_error *err)
{
    bool by_token;
    int rc = check_ref(c, "tc_client_fail_activity", ref, &by_token, err);
    if (rc != TC_OK)
        return rc;
    tc_appfail f;
    tc_pl1 det;
    if (by_token) {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskFailedRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_FAILED_REQUEST__INIT;
        address(&rq.base, c, ref, true);
        rq.failure = tc_appfail_init(&f, type, message, non_retryable);
        rq.last_heartbeat_details = tc_pl1_init(&det, last_details_json);
        return call(c, "RespondActivityTaskFailed", TC_RPC_MSG(rq),
                    &WS(respond_activity_task_failed_response__descriptor), NULL, &det, err);
    }
    Temporal__Api__Workflowservice__V1__RespondActivityTaskFailedByIdRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_FAILED_BY_ID_REQUEST__INIT;
    address(&rq.base, c, ref, false);
    rq.failure = tc_appfail_init(&f, type, message, non_retryable);
    rq.last_heartbeat_details = tc_pl1_init(&det, last_details_json);
    return call(c, "RespondActivityTaskFailedById", TC_RPC_MSG(rq),
                &WS(respond_activity_task_failed_by_id_response__descriptor), NULL, &det, err);
}

int tc_client_heartbeat_activity(tc_client *c, const tc_activity_ref *ref, const char *details_json,
                                 bool *cancel_requested, tc_error *err)
{
    bool by_token;
    if (cancel_requested)
        *cancel_requested = false;
    int rc = check_ref(c, "tc_client_heartbeat_activity", ref, &by_token, err);
    if (rc != TC_OK)
        return rc;
    tc_pl1 det;
    if (by_token) {
        Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RECORD_ACTIVITY_TASK_HEARTBEAT_REQUEST__INIT;
        address(&rq.base, c, ref, true);
        rq.details = tc_pl1_init(&det, details_json);
        return call(c, "RecordActivityTaskHeartbeat", TC_RPC_MSG(rq),
                    &WS(record_activity_task_heartbeat_response__descriptor), cancel_requested,
                    &det, err);
    }
    Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatByIdRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RECORD_ACTIVITY_TASK_HEARTBEAT_BY_ID_REQUEST__INIT;
    address(&rq.base, c, ref, false);
    rq.details = tc_pl1_init(&det, details_json);
    return call(c, "RecordActivityTaskHeartbeatById", TC_RPC_MSG(rq),
                &WS(record_activity_task_heartbeat_by_id_response__descriptor), cancel_requested,
                &det, err);
}

int tc_client_report_activity_cancelled(tc_client *c, const tc_activity_ref *ref, tc_error *err)
{
    bool by_token;
    int rc = check_ref(c, "tc_client_report_activity_cancelled", ref, &by_token, err);
    if (rc != TC_OK)
        return rc;
    if (by_token) {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskCanceledRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_CANCELED_REQUEST__INIT;
        address(&rq.base, c, ref, true);
        return call(c, "RespondActivityTaskCanceled", TC_RPC_MSG(rq),
                    &WS(respond_activity_task_canceled_response__descriptor), NULL, NULL, err);
    }
    Temporal__Api__Workflowservice__V1__RespondActivityTaskCanceledByIdRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_CANCELED_BY_ID_REQUEST__INIT;
    address(&rq.base, c, ref, false);
    return call(c, "RespondActivityTaskCanceledById", TC_RPC_MSG(rq),
                &WS(respond_activity_task_canceled_by_id_response__descriptor), NULL, NULL, err);
}
