/* hist_families.c - crafted events of the child, external and update families and update request
 * messages (see hist_families.h). Every part is on the heap so the builder frees it. Test code. */
#include "hist_families.h"

#include <stdlib.h>
#include <string.h>

#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/api/update/v1/message.pb-c.h"

#define NEW(T)     ((T *)hb_calloc(sizeof(T)))
#define xstrdup(s) hb_strdup(s)
#define xcalloc(n) hb_calloc(n)

static Temporal__Api__Common__V1__WorkflowExecution *execution(const char *wid, const char *rid)
{
    Temporal__Api__Common__V1__WorkflowExecution *e =
        NEW(Temporal__Api__Common__V1__WorkflowExecution);
    temporal__api__common__v1__workflow_execution__init(e);
    e->workflow_id = xstrdup(wid);
    e->run_id = xstrdup(rid);
    return e;
}

static Temporal__Api__Common__V1__Payloads *one(const char *json)
{
    return json ? hb_payloads(&json, 1) : NULL;
}

int64_t hbf_child_initiated(hb *b, const char *workflow_id, const char *workflow_type)
{
    Temporal__Api__History__V1__StartChildWorkflowExecutionInitiatedEventAttributes *a =
        HB_EVENT(b, START_CHILD_WORKFLOW_EXECUTION_INITIATED);
    a->workflow_id = xstrdup(workflow_id);
    a->workflow_type = hb_workflow_type(workflow_type);
    return hb_last_id(b);
}

/* An outcome event of the request initiated at `initiated`. */
#define OUTCOME(b, x, initiated) HB_ANSWER(b, x, "initiated_event_id", initiated, NULL, 0)

/* A failed outcome of the request initiated at `initiated`: its enum field cause set to cause
 * (protobuf-c keeps every enum field as an int). */
static void failed(hb *b, int event_type, int attributes_case, int64_t initiated, int cause)
{
    void *a = hb_answer(b, event_type, attributes_case, "initiated_event_id", initiated, NULL, 0);
    *(int *)hb_field(a, "cause", PROTOBUF_C_TYPE_ENUM) = cause;
}

#define FAILED(b, x, initiated, cause) failed(b, HB_ET(x), HB_AC(x), initiated, cause)

void hbf_child_start_failed(hb *b, int64_t initiated, int cause)
{
    FAILED(b, START_CHILD_WORKFLOW_EXECUTION_FAILED, initiated, cause);
}

int64_t hbf_child_started(hb *b, int64_t initiated, const char *run_id)
{
    Temporal__Api__History__V1__ChildWorkflowExecutionStartedEventAttributes *a =
        OUTCOME(b, CHILD_WORKFLOW_EXECUTION_STARTED, initiated);
    a->workflow_execution = execution("child", run_id);
    return hb_last_id(b);
}

/* A closing event of the child initiated at `initiated` and started at `started`. */
#define CHILD_CLOSED(b, x, initiated, started) \
    HB_ANSWER(b, x, "initiated_event_id", initiated, "started_event_id", started)

void hbf_child_completed(hb *b, int64_t initiated, int64_t started, const char *result_json)
{
    Temporal__Api__History__V1__ChildWorkflowExecutionCompletedEventAttributes *a =
        CHILD_CLOSED(b, CHILD_WORKFLOW_EXECUTION_COMPLETED, initiated, started);
    a->result = one(result_json);
}

void hbf_child_failed(hb *b, int64_t initiated, int64_t started, const char *type,
                      const char *message, const char *details_json)
{
    Temporal__Api__History__V1__ChildWorkflowExecutionFailedEventAttributes *a =
        CHILD_CLOSED(b, CHILD_WORKFLOW_EXECUTION_FAILED, initiated, started);
    a->failure = hb_app_failure(type, message, true);
    a->failure->application_failure_info->details = one(details_json);
}

void hbf_child_canceled(hb *b, int64_t initiated, int64_t started)
{
    CHILD_CLOSED(b, CHILD_WORKFLOW_EXECUTION_CANCELED, initiated, started);
}

void hbf_child_timed_out(hb *b, int64_t initiated, int64_t started)
{
    CHILD_CLOSED(b, CHILD_WORKFLOW_EXECUTION_TIMED_OUT, initiated, started);
}

void hbf_child_terminated(hb *b, int64_t initiated, int64_t started)
{
    CHILD_CLOSED(b, CHILD_WORKFLOW_EXECUTION_TERMINATED, initiated, started);
}

/* A request to another workflow (a signal or a cancellation) naming it and whether it must be
 * this workflow's child. */
static void *to_other(hb *b, int event_type, int attributes_case, const char *workflow_id,
                      bool child_only)
{
    void *a = hb_event(b, event_type, attributes_case);
    *(Temporal__Api__Common__V1__WorkflowExecution **)hb_field(
        a, "workflow_execution", PROTOBUF_C_TYPE_MESSAGE) = execution(workflow_id, "");
    *(protobuf_c_boolean *)hb_field(a, "child_workflow_only", PROTOBUF_C_TYPE_BOOL) = child_only;
    return a;
}

#define TO_OTHER(b, x, workflow_id, child_only) \
    to_other(b, HB_ET(x), HB_AC(x), workflow_id, child_only)

int64_t hbf_signal_initiated(hb *b, const char *workflow_id, const char *signal_name,
                             bool child_only)
{
    Temporal__Api__History__V1__SignalExternalWorkflowExecutionInitiatedEventAttributes *a =
        TO_OTHER(b, SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, workflow_id, child_only);
    a->signal_name = xstrdup(signal_name);
    return hb_last_id(b);
}

void hbf_signaled(hb *b, int64_t initiated)
{
    OUTCOME(b, EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, initiated);
}

void hbf_signal_failed(hb *b, int64_t initiated, int cause)
{
    FAILED(b, SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, initiated, cause);
}

int64_t hbf_cancel_initiated(hb *b, const char *workflow_id, bool child_only)
{
    TO_OTHER(b, REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, workflow_id, child_only);
    return hb_last_id(b);
}

void hbf_cancel_requested(hb *b, int64_t initiated)
{
    OUTCOME(b, EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, initiated);
}

void hbf_cancel_failed(hb *b, int64_t initiated, int cause)
{
    FAILED(b, REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, initiated, cause);
}

static Temporal__Api__Update__V1__Request *request(const char *update_id, const char *name,
                                                   const char *arg_json)
{
    Temporal__Api__Update__V1__Request *r = NEW(Temporal__Api__Update__V1__Request);
    temporal__api__update__v1__request__init(r);
    r->meta = NEW(Temporal__Api__Update__V1__Meta);
    temporal__api__update__v1__meta__init(r->meta);
    r->meta->update_id = xstrdup(update_id);
    r->input = NEW(Temporal__Api__Update__V1__Input);
    temporal__api__update__v1__input__init(r->input);
    r->input->name = xstrdup(name);
    r->input->args = one(arg_json);
    return r;
}

int64_t hbf_update_accepted(hb *b, const char *update_id, const char *name, const char *arg_json,
                            bool with_request)
{
    Temporal__Api__History__V1__WorkflowExecutionUpdateAcceptedEventAttributes *a =
        HB_EVENT(b, WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
    a->protocol_instance_id = xstrdup(update_id);
    a->accepted_request_message_id = xstrdup("req-msg");
    if (with_request)
        a->accepted_request = request(update_id, name, arg_json);
    return hb_last_id(b);
}

void hbf_update_completed(hb *b, const char *update_id, int64_t accepted, const char *result_json)
{
    Temporal__Api__History__V1__WorkflowExecutionUpdateCompletedEventAttributes *a =
        HB_EVENT(b, WORKFLOW_EXECUTION_UPDATE_COMPLETED);
    a->meta = NEW(Temporal__Api__Update__V1__Meta);
    temporal__api__update__v1__meta__init(a->meta);
    a->meta->update_id = xstrdup(update_id);
    a->accepted_event_id = accepted;
    a->outcome = NEW(Temporal__Api__Update__V1__Outcome);
    temporal__api__update__v1__outcome__init(a->outcome);
    a->outcome->value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_SUCCESS;
    a->outcome->success = one(result_json ? result_json : "null");
}

void hbf_update_admitted(hb *b, const char *update_id, const char *name, const char *arg_json)
{
    Temporal__Api__History__V1__WorkflowExecutionUpdateAdmittedEventAttributes *a =
        HB_EVENT(b, WORKFLOW_EXECUTION_UPDATE_ADMITTED);
    a->request = request(update_id, name, arg_json);
}

Temporal__Api__Protocol__V1__Message *hbf_update_request(const char *update_id, const char *name,
                                                         const char *arg_json, int64_t seq)
{
    Temporal__Api__Update__V1__Request *rq = request(update_id, name, arg_json);
    size_t len = temporal__api__update__v1__request__get_packed_size(rq);
    Temporal__Api__Protocol__V1__Message *m = NEW(Temporal__Api__Protocol__V1__Message);
    temporal__api__protocol__v1__message__init(m);
    size_t idlen = strlen(update_id) + sizeof "/request";
    m->id = xcalloc(idlen);
    strcpy(m->id, update_id);
    strcat(m->id, "/request");
    m->protocol_instance_id = xstrdup(update_id);
    m->sequencing_id_case = TEMPORAL__API__PROTOCOL__V1__MESSAGE__SEQUENCING_ID_EVENT_ID;
    m->event_id = seq;
    m->body = NEW(Google__Protobuf__Any);
    google__protobuf__any__init(m->body);
    m->body->type_url = xstrdup("type.googleapis.com/temporal.api.update.v1.Request");
    m->body->value.len = len;
    m->body->value.data = xcalloc(len ? len : 1);
    temporal__api__update__v1__request__pack(rq, m->body->value.data);
    temporal__api__update__v1__request__free_unpacked(rq, NULL);
    return m;
}
