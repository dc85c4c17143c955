/* hist_families.c - crafted events of the child, external and update families and update request
 * messages (see hist_families.h). Every part is on the heap so the builder frees it. Test code. */
#include "hist_families.h"

#include <stdlib.h>
#include <string.h>

#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/api/update/v1/message.pb-c.h"

typedef Temporal__Api__History__V1__HistoryEvent ev_t;
#define ET(x)      TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_##x
#define AC(x)      TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##x##_EVENT_ATTRIBUTES
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
    ev_t *e = hb_add(b, ET(START_CHILD_WORKFLOW_EXECUTION_INITIATED));
    Temporal__Api__History__V1__StartChildWorkflowExecutionInitiatedEventAttributes *a =
        NEW(Temporal__Api__History__V1__StartChildWorkflowExecutionInitiatedEventAttributes);
    temporal__api__history__v1__start_child_workflow_execution_initiated_event_attributes__init(a);
    a->workflow_id = xstrdup(workflow_id);
    a->workflow_type = NEW(Temporal__Api__Common__V1__WorkflowType);
    temporal__api__common__v1__workflow_type__init(a->workflow_type);
    a->workflow_type->name = xstrdup(workflow_type);
    e->attributes_case = AC(START_CHILD_WORKFLOW_EXECUTION_INITIATED);
    e->start_child_workflow_execution_initiated_event_attributes = a;
    return e->event_id;
}

void hbf_child_start_failed(hb *b, int64_t initiated, int cause)
{
    ev_t *e = hb_add(b, ET(START_CHILD_WORKFLOW_EXECUTION_FAILED));
    Temporal__Api__History__V1__StartChildWorkflowExecutionFailedEventAttributes *a =
        NEW(Temporal__Api__History__V1__StartChildWorkflowExecutionFailedEventAttributes);
    temporal__api__history__v1__start_child_workflow_execution_failed_event_attributes__init(a);
    a->initiated_event_id = initiated;
    a->cause = (Temporal__Api__Enums__V1__StartChildWorkflowExecutionFailedCause)cause;
    e->attributes_case = AC(START_CHILD_WORKFLOW_EXECUTION_FAILED);
    e->start_child_workflow_execution_failed_event_attributes = a;
}

int64_t hbf_child_started(hb *b, int64_t initiated, const char *run_id)
{
    ev_t *e = hb_add(b, ET(CHILD_WORKFLOW_EXECUTION_STARTED));
    Temporal__Api__History__V1__ChildWorkflowExecutionStartedEventAttributes *a =
        NEW(Temporal__Api__History__V1__ChildWorkflowExecutionStartedEventAttributes);
    temporal__api__history__v1__child_workflow_execution_started_event_attributes__init(a);
    a->initiated_event_id = initiated;
    a->workflow_execution = execution("child", run_id);
    e->attributes_case = AC(CHILD_WORKFLOW_EXECUTION_STARTED);
    e->child_workflow_execution_started_event_attributes = a;
    return e->event_id;
}

void hbf_child_completed(hb *b, int64_t initiated, int64_t started, const char *result_json)
{
    ev_t *e = hb_add(b, ET(CHILD_WORKFLOW_EXECUTION_COMPLETED));
    Temporal__Api__History__V1__ChildWorkflowExecutionCompletedEventAttributes *a =
        NEW(Temporal__Api__History__V1__ChildWorkflowExecutionCompletedEventAttributes);
    temporal__api__history__v1__child_workflow_execution_completed_event_attributes__init(a);
    a->initiated_event_id = initiated;
    a->started_event_id = started;
    a->result = one(result_json);
    e->attributes_case = AC(CHILD_WORKFLOW_EXECUTION_COMPLETED);
    e->child_workflow_execution_completed_event_attributes = a;
}

void hbf_child_failed(hb *b, int64_t initiated, int64_t started, const char *type,
                      const char *message, const char *details_json)
{
    ev_t *e = hb_add(b, ET(CHILD_WORKFLOW_EXECUTION_FAILED));
    Temporal__Api__History__V1__ChildWorkflowExecutionFailedEventAttributes *a =
        NEW(Temporal__Api__History__V1__ChildWorkflowExecutionFailedEventAttributes);
    temporal__api__history__v1__child_workflow_execution_failed_event_attributes__init(a);
    a->initiated_event_id = initiated;
    a->started_event_id = started;
    a->failure = hb_app_failure(type, message, true);
    a->failure->application_failure_info->details = one(details_json);
    e->attributes_case = AC(CHILD_WORKFLOW_EXECUTION_FAILED);
    e->child_workflow_execution_failed_event_attributes = a;
}

void hbf_child_canceled(hb *b, int64_t initiated, int64_t started)
{
    ev_t *e = hb_add(b, ET(CHILD_WORKFLOW_EXECUTION_CANCELED));
    Temporal__Api__History__V1__ChildWorkflowExecutionCanceledEventAttributes *a =
        NEW(Temporal__Api__History__V1__ChildWorkflowExecutionCanceledEventAttributes);
    temporal__api__history__v1__child_workflow_execution_canceled_event_attributes__init(a);
    a->initiated_event_id = initiated;
    a->started_event_id = started;
    e->attributes_case = AC(CHILD_WORKFLOW_EXECUTION_CANCELED);
    e->child_workflow_execution_canceled_event_attributes = a;
}

void hbf_child_timed_out(hb *b, int64_t initiated, int64_t started)
{
    ev_t *e = hb_add(b, ET(CHILD_WORKFLOW_EXECUTION_TIMED_OUT));
    Temporal__Api__History__V1__ChildWorkflowExecutionTimedOutEventAttributes *a =
        NEW(Temporal__Api__History__V1__ChildWorkflowExecutionTimedOutEventAttributes);
    temporal__api__history__v1__child_workflow_execution_timed_out_event_attributes__init(a);
    a->initiated_event_id = initiated;
    a->started_event_id = started;
    e->attributes_case = AC(CHILD_WORKFLOW_EXECUTION_TIMED_OUT);
    e->child_workflow_execution_timed_out_event_attributes = a;
}

void hbf_child_terminated(hb *b, int64_t initiated, int64_t started)
{
    ev_t *e = hb_add(b, ET(CHILD_WORKFLOW_EXECUTION_TERMINATED));
    Temporal__Api__History__V1__ChildWorkflowExecutionTerminatedEventAttributes *a =
        NEW(Temporal__Api__History__V1__ChildWorkflowExecutionTerminatedEventAttributes);
    temporal__api__history__v1__child_workflow_execution_terminated_event_attributes__init(a);
    a->initiated_event_id = initiated;
    a->started_event_id = started;
    e->attributes_case = AC(CHILD_WORKFLOW_EXECUTION_TERMINATED);
    e->child_workflow_execution_terminated_event_attributes = a;
}

int64_t hbf_signal_initiated(hb *b, const char *workflow_id, const char *signal_name,
                             bool child_only)
{
    ev_t *e = hb_add(b, ET(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED));
    Temporal__Api__History__V1__SignalExternalWorkflowExecutionInitiatedEventAttributes *a =
        NEW(Temporal__Api__History__V1__SignalExternalWorkflowExecutionInitiatedEventAttributes);
    temporal__api__history__v1__signal_external_workflow_execution_initiated_event_attributes__init(
        a);
    a->workflow_execution = execution(workflow_id, "");
    a->signal_name = xstrdup(signal_name);
    a->child_workflow_only = child_only;
    e->attributes_case = AC(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
    e->signal_external_workflow_execution_initiated_event_attributes = a;
    return e->event_id;
}

void hbf_signaled(hb *b, int64_t initiated)
{
    ev_t *e = hb_add(b, ET(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED));
    Temporal__Api__History__V1__ExternalWorkflowExecutionSignaledEventAttributes *a =
        NEW(Temporal__Api__History__V1__ExternalWorkflowExecutionSignaledEventAttributes);
    temporal__api__history__v1__external_workflow_execution_signaled_event_attributes__init(a);
    a->initiated_event_id = initiated;
    e->attributes_case = AC(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED);
    e->external_workflow_execution_signaled_event_attributes = a;
}

void hbf_signal_failed(hb *b, int64_t initiated, int cause)
{
    ev_t *e = hb_add(b, ET(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED));
    Temporal__Api__History__V1__SignalExternalWorkflowExecutionFailedEventAttributes *a =
        NEW(Temporal__Api__History__V1__SignalExternalWorkflowExecutionFailedEventAttributes);
    temporal__api__history__v1__signal_external_workflow_execution_failed_event_attributes__init(a);
    a->initiated_event_id = initiated;
    a->cause = (Temporal__Api__Enums__V1__SignalExternalWorkflowExecutionFailedCause)cause;
    e->attributes_case = AC(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
    e->signal_external_workflow_execution_failed_event_attributes = a;
}

int64_t hbf_cancel_initiated(hb *b, const char *workflow_id, bool child_only)
{
    ev_t *e = hb_add(b, ET(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED));
    Temporal__Api__History__V1__RequestCancelExternalWorkflowExecutionInitiatedEventAttributes *a = NEW(
        Temporal__Api__History__V1__RequestCancelExternalWorkflowExecutionInitiatedEventAttributes);
    temporal__api__history__v1__request_cancel_external_workflow_execution_initiated_event_attributes__init(
        a);
    a->workflow_execution = execution(workflow_id, "");
    a->child_workflow_only = child_only;
    e->attributes_case = AC(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
    e->request_cancel_external_workflow_execution_initiated_event_attributes = a;
    return e->event_id;
}

void hbf_cancel_requested(hb *b, int64_t initiated)
{
    ev_t *e = hb_add(b, ET(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED));
    Temporal__Api__History__V1__ExternalWorkflowExecutionCancelRequestedEventAttributes *a =
        NEW(Temporal__Api__History__V1__ExternalWorkflowExecutionCancelRequestedEventAttributes);
    temporal__api__history__v1__external_workflow_execution_cancel_requested_event_attributes__init(
        a);
    a->initiated_event_id = initiated;
    e->attributes_case = AC(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
    e->external_workflow_execution_cancel_requested_event_attributes = a;
}

void hbf_cancel_failed(hb *b, int64_t initiated, int cause)
{
    ev_t *e = hb_add(b, ET(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED));
    Temporal__Api__History__V1__RequestCancelExternalWorkflowExecutionFailedEventAttributes *a =
        NEW(Temporal__Api__History__V1__RequestCancelExternalWorkflowExecutionFailedEventAttributes);
    temporal__api__history__v1__request_cancel_external_workflow_execution_failed_event_attributes__init(
        a);
    a->initiated_event_id = initiated;
    a->cause = (Temporal__Api__Enums__V1__CancelExternalWorkflowExecutionFailedCause)cause;
    e->attributes_case = AC(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
    e->request_cancel_external_workflow_execution_failed_event_attributes = a;
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
    ev_t *e = hb_add(b, ET(WORKFLOW_EXECUTION_UPDATE_ACCEPTED));
    Temporal__Api__History__V1__WorkflowExecutionUpdateAcceptedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowExecutionUpdateAcceptedEventAttributes);
    temporal__api__history__v1__workflow_execution_update_accepted_event_attributes__init(a);
    a->protocol_instance_id = xstrdup(update_id);
    a->accepted_request_message_id = xstrdup("req-msg");
    if (with_request)
        a->accepted_request = request(update_id, name, arg_json);
    e->attributes_case = AC(WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
    e->workflow_execution_update_accepted_event_attributes = a;
    return e->event_id;
}

void hbf_update_completed(hb *b, const char *update_id, int64_t accepted, const char *result_json)
{
    ev_t *e = hb_add(b, ET(WORKFLOW_EXECUTION_UPDATE_COMPLETED));
    Temporal__Api__History__V1__WorkflowExecutionUpdateCompletedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowExecutionUpdateCompletedEventAttributes);
    temporal__api__history__v1__workflow_execution_update_completed_event_attributes__init(a);
    a->meta = NEW(Temporal__Api__Update__V1__Meta);
    temporal__api__update__v1__meta__init(a->meta);
    a->meta->update_id = xstrdup(update_id);
    a->accepted_event_id = accepted;
    a->outcome = NEW(Temporal__Api__Update__V1__Outcome);
    temporal__api__update__v1__outcome__init(a->outcome);
    a->outcome->value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_SUCCESS;
    a->outcome->success = one(result_json ? result_json : "null");
    e->attributes_case = AC(WORKFLOW_EXECUTION_UPDATE_COMPLETED);
    e->workflow_execution_update_completed_event_attributes = a;
}

void hbf_update_admitted(hb *b, const char *update_id, const char *name, const char *arg_json)
{
    ev_t *e = hb_add(b, ET(WORKFLOW_EXECUTION_UPDATE_ADMITTED));
    Temporal__Api__History__V1__WorkflowExecutionUpdateAdmittedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowExecutionUpdateAdmittedEventAttributes);
    temporal__api__history__v1__workflow_execution_update_admitted_event_attributes__init(a);
    a->request = request(update_id, name, arg_json);
    e->attributes_case = AC(WORKFLOW_EXECUTION_UPDATE_ADMITTED);
    e->workflow_execution_update_admitted_event_attributes = a;
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
