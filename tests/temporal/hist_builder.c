/* hist_builder.c - crafted histories for unit tests (see hist_builder.h). Every message is built
 * on the heap so protobuf_c_message_free_unpacked can free the tree after packing. Test code. */
#include "hist_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "temporal/api/history/v1/message.pb-c.h"

typedef Temporal__Api__History__V1__HistoryEvent ev_t;
#define ET(x)  TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_##x
#define AC(x)  TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##x##_EVENT_ATTRIBUTES
#define NEW(T) ((T *)xcalloc(sizeof(T)))

struct hb {
    ev_t **evs;
    size_t n, cap;
    int64_t next_id;
};

static void *xcalloc(size_t n)
{
    void *p = calloc(1, n);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        abort();
    return p;
}

hb *hb_new(void)
{
    hb *b = xcalloc(sizeof *b);
    b->next_id = 1;
    return b;
}

void hb_free(hb *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        protobuf_c_message_free_unpacked(&b->evs[i]->base, NULL);
    free(b->evs);
    free(b);
}

int64_t hb_next_id(const hb *b)
{
    return b->next_id;
}

static ev_t *add(hb *b, int type)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 32;
        b->evs = realloc(b->evs, b->cap * sizeof *b->evs);
        if (!b->evs)
            abort();
    }
    ev_t *e = NEW(ev_t);
    temporal__api__history__v1__history_event__init(e);
    e->event_id = b->next_id++;
    e->event_type = type;
    e->event_time = NEW(Google__Protobuf__Timestamp);
    google__protobuf__timestamp__init(e->event_time);
    e->event_time->seconds = 1700000000 + e->event_id; /* one second per event */
    b->evs[b->n++] = e;
    return e;
}

void hb_skip_id(hb *b)
{
    b->next_id++;
}

static Temporal__Api__Common__V1__Payload *payload(const char *encoding, const char *data)
{
    Temporal__Api__Common__V1__Payload *p = NEW(Temporal__Api__Common__V1__Payload);
    temporal__api__common__v1__payload__init(p);
    p->n_metadata = 1;
    p->metadata = xcalloc(sizeof *p->metadata);
    p->metadata[0] = NEW(Temporal__Api__Common__V1__Payload__MetadataEntry);
    temporal__api__common__v1__payload__metadata_entry__init(p->metadata[0]);
    p->metadata[0]->key = xstrdup("encoding");
    p->metadata[0]->value.len = strlen(encoding);
    p->metadata[0]->value.data = (uint8_t *)xstrdup(encoding);
    p->data.len = strlen(data);
    p->data.data = (uint8_t *)xstrdup(data);
    return p;
}

static Temporal__Api__Common__V1__Payloads *payloads_n(const char *const *jsons, size_t n)
{
    Temporal__Api__Common__V1__Payloads *ps = NEW(Temporal__Api__Common__V1__Payloads);
    temporal__api__common__v1__payloads__init(ps);
    ps->n_payloads = n;
    ps->payloads = xcalloc((n ? n : 1) * sizeof *ps->payloads);
    for (size_t i = 0; i < n; i++)
        ps->payloads[i] = payload("json/plain", jsons[i]);
    return ps;
}

static Temporal__Api__Common__V1__Payloads *payloads(const char *json)
{
    return json ? payloads_n(&json, 1) : NULL;
}

void hb_started_full(hb *b, const char *workflow_type, const char *input_json, const char *sa_key,
                     const char *sa_json, const char *memo_key, const char *memo_json)
{
    ev_t *e = add(b, ET(WORKFLOW_EXECUTION_STARTED));
    Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes);
    temporal__api__history__v1__workflow_execution_started_event_attributes__init(a);
    a->workflow_type = NEW(Temporal__Api__Common__V1__WorkflowType);
    temporal__api__common__v1__workflow_type__init(a->workflow_type);
    a->workflow_type->name = xstrdup(workflow_type);
    a->task_queue = NEW(Temporal__Api__Taskqueue__V1__TaskQueue);
    temporal__api__taskqueue__v1__task_queue__init(a->task_queue);
    a->task_queue->name = xstrdup("unit-queue");
    a->input = payloads(input_json);
    a->first_execution_run_id = xstrdup("3f1b6d2e-0000-4000-8000-00000000abcd");
    a->workflow_id = xstrdup("unit-wf");
    if (sa_key) {
        a->search_attributes = NEW(Temporal__Api__Common__V1__SearchAttributes);
        temporal__api__common__v1__search_attributes__init(a->search_attributes);
        a->search_attributes->n_indexed_fields = 1;
        a->search_attributes->indexed_fields = xcalloc(sizeof(void *));
        a->search_attributes->indexed_fields[0] =
            NEW(Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry);
        temporal__api__common__v1__search_attributes__indexed_fields_entry__init(
            a->search_attributes->indexed_fields[0]);
        a->search_attributes->indexed_fields[0]->key = xstrdup(sa_key);
        a->search_attributes->indexed_fields[0]->value = payload("json/plain", sa_json);
    }
    if (memo_key) {
        a->memo = NEW(Temporal__Api__Common__V1__Memo);
        temporal__api__common__v1__memo__init(a->memo);
        a->memo->n_fields = 1;
        a->memo->fields = xcalloc(sizeof(void *));
        a->memo->fields[0] = NEW(Temporal__Api__Common__V1__Memo__FieldsEntry);
        temporal__api__common__v1__memo__fields_entry__init(a->memo->fields[0]);
        a->memo->fields[0]->key = xstrdup(memo_key);
        a->memo->fields[0]->value = payload("json/plain", memo_json);
    }
    e->attributes_case = AC(WORKFLOW_EXECUTION_STARTED);
    e->workflow_execution_started_event_attributes = a;
}

void hb_started(hb *b, const char *workflow_type, const char *input_json)
{
    hb_started_full(b, workflow_type, input_json, NULL, NULL, NULL, NULL);
}

int64_t hb_wft_start(hb *b)
{
    ev_t *e = add(b, ET(WORKFLOW_TASK_SCHEDULED));
    Temporal__Api__History__V1__WorkflowTaskScheduledEventAttributes *s =
        NEW(Temporal__Api__History__V1__WorkflowTaskScheduledEventAttributes);
    temporal__api__history__v1__workflow_task_scheduled_event_attributes__init(s);
    e->attributes_case = AC(WORKFLOW_TASK_SCHEDULED);
    e->workflow_task_scheduled_event_attributes = s;
    int64_t sched = e->event_id;
    e = add(b, ET(WORKFLOW_TASK_STARTED));
    Temporal__Api__History__V1__WorkflowTaskStartedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowTaskStartedEventAttributes);
    temporal__api__history__v1__workflow_task_started_event_attributes__init(a);
    a->scheduled_event_id = sched;
    e->attributes_case = AC(WORKFLOW_TASK_STARTED);
    e->workflow_task_started_event_attributes = a;
    return e->event_id;
}

void hb_wft_complete(hb *b, int64_t started)
{
    ev_t *e = add(b, ET(WORKFLOW_TASK_COMPLETED));
    Temporal__Api__History__V1__WorkflowTaskCompletedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowTaskCompletedEventAttributes);
    temporal__api__history__v1__workflow_task_completed_event_attributes__init(a);
    a->scheduled_event_id = started - 1;
    a->started_event_id = started;
    e->attributes_case = AC(WORKFLOW_TASK_COMPLETED);
    e->workflow_task_completed_event_attributes = a;
}

void hb_wft_fail(hb *b, int64_t started)
{
    ev_t *e = add(b, ET(WORKFLOW_TASK_FAILED));
    Temporal__Api__History__V1__WorkflowTaskFailedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowTaskFailedEventAttributes);
    temporal__api__history__v1__workflow_task_failed_event_attributes__init(a);
    a->scheduled_event_id = started - 1;
    a->started_event_id = started;
    e->attributes_case = AC(WORKFLOW_TASK_FAILED);
    e->workflow_task_failed_event_attributes = a;
}

void hb_wft_timeout(hb *b, int64_t started)
{
    ev_t *e = add(b, ET(WORKFLOW_TASK_TIMED_OUT));
    Temporal__Api__History__V1__WorkflowTaskTimedOutEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowTaskTimedOutEventAttributes);
    temporal__api__history__v1__workflow_task_timed_out_event_attributes__init(a);
    a->scheduled_event_id = started - 1;
    a->started_event_id = started;
    e->attributes_case = AC(WORKFLOW_TASK_TIMED_OUT);
    e->workflow_task_timed_out_event_attributes = a;
}

void hb_wft(hb *b)
{
    hb_wft_complete(b, hb_wft_start(b));
}

int64_t hb_act_scheduled(hb *b, const char *activity_id, const char *type)
{
    ev_t *e = add(b, ET(ACTIVITY_TASK_SCHEDULED));
    Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes *a =
        NEW(Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes);
    temporal__api__history__v1__activity_task_scheduled_event_attributes__init(a);
    a->activity_id = xstrdup(activity_id);
    a->activity_type = NEW(Temporal__Api__Common__V1__ActivityType);
    temporal__api__common__v1__activity_type__init(a->activity_type);
    a->activity_type->name = xstrdup(type);
    e->attributes_case = AC(ACTIVITY_TASK_SCHEDULED);
    e->activity_task_scheduled_event_attributes = a;
    return e->event_id;
}

void hb_act_started(hb *b, int64_t scheduled)
{
    ev_t *e = add(b, ET(ACTIVITY_TASK_STARTED));
    Temporal__Api__History__V1__ActivityTaskStartedEventAttributes *a =
        NEW(Temporal__Api__History__V1__ActivityTaskStartedEventAttributes);
    temporal__api__history__v1__activity_task_started_event_attributes__init(a);
    a->scheduled_event_id = scheduled;
    e->attributes_case = AC(ACTIVITY_TASK_STARTED);
    e->activity_task_started_event_attributes = a;
}

static Temporal__Api__History__V1__ActivityTaskCompletedEventAttributes *completed(hb *b,
                                                                                   int64_t sched)
{
    ev_t *e = add(b, ET(ACTIVITY_TASK_COMPLETED));
    Temporal__Api__History__V1__ActivityTaskCompletedEventAttributes *a =
        NEW(Temporal__Api__History__V1__ActivityTaskCompletedEventAttributes);
    temporal__api__history__v1__activity_task_completed_event_attributes__init(a);
    a->scheduled_event_id = sched;
    e->attributes_case = AC(ACTIVITY_TASK_COMPLETED);
    e->activity_task_completed_event_attributes = a;
    return a;
}

void hb_act_completed(hb *b, int64_t scheduled, const char *result_json)
{
    completed(b, scheduled)->result = payloads(result_json);
}

void hb_act_completed_enc(hb *b, int64_t scheduled, const char *encoding, const char *data)
{
    Temporal__Api__History__V1__ActivityTaskCompletedEventAttributes *a = completed(b, scheduled);
    a->result = payloads("null");
    protobuf_c_message_free_unpacked(&a->result->payloads[0]->base, NULL);
    a->result->payloads[0] = payload(encoding, data);
}

static Temporal__Api__Failure__V1__Failure *app_failure(const char *type, const char *message,
                                                        bool nr)
{
    Temporal__Api__Failure__V1__Failure *f = NEW(Temporal__Api__Failure__V1__Failure);
    temporal__api__failure__v1__failure__init(f);
    f->message = xstrdup(message);
    f->application_failure_info = NEW(Temporal__Api__Failure__V1__ApplicationFailureInfo);
    temporal__api__failure__v1__application_failure_info__init(f->application_failure_info);
    f->application_failure_info->type = xstrdup(type);
    f->application_failure_info->non_retryable = nr;
    f->failure_info_case =
        TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO;
    return f;
}

void hb_act_failed(hb *b, int64_t scheduled, const char *type, const char *message,
                   bool non_retryable)
{
    ev_t *e = add(b, ET(ACTIVITY_TASK_FAILED));
    Temporal__Api__History__V1__ActivityTaskFailedEventAttributes *a =
        NEW(Temporal__Api__History__V1__ActivityTaskFailedEventAttributes);
    temporal__api__history__v1__activity_task_failed_event_attributes__init(a);
    a->scheduled_event_id = scheduled;
    a->failure = app_failure(type, message, non_retryable);
    e->attributes_case = AC(ACTIVITY_TASK_FAILED);
    e->activity_task_failed_event_attributes = a;
}

void hb_act_timed_out(hb *b, int64_t scheduled)
{
    ev_t *e = add(b, ET(ACTIVITY_TASK_TIMED_OUT));
    Temporal__Api__History__V1__ActivityTaskTimedOutEventAttributes *a =
        NEW(Temporal__Api__History__V1__ActivityTaskTimedOutEventAttributes);
    temporal__api__history__v1__activity_task_timed_out_event_attributes__init(a);
    a->scheduled_event_id = scheduled;
    e->attributes_case = AC(ACTIVITY_TASK_TIMED_OUT);
    e->activity_task_timed_out_event_attributes = a;
}

void hb_act_cancel_requested(hb *b, int64_t scheduled)
{
    ev_t *e = add(b, ET(ACTIVITY_TASK_CANCEL_REQUESTED));
    Temporal__Api__History__V1__ActivityTaskCancelRequestedEventAttributes *a =
        NEW(Temporal__Api__History__V1__ActivityTaskCancelRequestedEventAttributes);
    temporal__api__history__v1__activity_task_cancel_requested_event_attributes__init(a);
    a->scheduled_event_id = scheduled;
    e->attributes_case = AC(ACTIVITY_TASK_CANCEL_REQUESTED);
    e->activity_task_cancel_requested_event_attributes = a;
}

void hb_act_canceled(hb *b, int64_t scheduled)
{
    ev_t *e = add(b, ET(ACTIVITY_TASK_CANCELED));
    Temporal__Api__History__V1__ActivityTaskCanceledEventAttributes *a =
        NEW(Temporal__Api__History__V1__ActivityTaskCanceledEventAttributes);
    temporal__api__history__v1__activity_task_canceled_event_attributes__init(a);
    a->scheduled_event_id = scheduled;
    e->attributes_case = AC(ACTIVITY_TASK_CANCELED);
    e->activity_task_canceled_event_attributes = a;
}

int64_t hb_timer_started(hb *b, const char *timer_id, int64_t ms)
{
    ev_t *e = add(b, ET(TIMER_STARTED));
    Temporal__Api__History__V1__TimerStartedEventAttributes *a =
        NEW(Temporal__Api__History__V1__TimerStartedEventAttributes);
    temporal__api__history__v1__timer_started_event_attributes__init(a);
    a->timer_id = xstrdup(timer_id);
    a->start_to_fire_timeout = NEW(Google__Protobuf__Duration);
    google__protobuf__duration__init(a->start_to_fire_timeout);
    a->start_to_fire_timeout->seconds = ms / 1000;
    e->attributes_case = AC(TIMER_STARTED);
    e->timer_started_event_attributes = a;
    return e->event_id;
}

void hb_timer_fired(hb *b, const char *timer_id, int64_t started)
{
    ev_t *e = add(b, ET(TIMER_FIRED));
    Temporal__Api__History__V1__TimerFiredEventAttributes *a =
        NEW(Temporal__Api__History__V1__TimerFiredEventAttributes);
    temporal__api__history__v1__timer_fired_event_attributes__init(a);
    a->timer_id = xstrdup(timer_id);
    a->started_event_id = started;
    e->attributes_case = AC(TIMER_FIRED);
    e->timer_fired_event_attributes = a;
}

void hb_timer_canceled(hb *b, const char *timer_id, int64_t started)
{
    ev_t *e = add(b, ET(TIMER_CANCELED));
    Temporal__Api__History__V1__TimerCanceledEventAttributes *a =
        NEW(Temporal__Api__History__V1__TimerCanceledEventAttributes);
    temporal__api__history__v1__timer_canceled_event_attributes__init(a);
    a->timer_id = xstrdup(timer_id);
    a->started_event_id = started;
    e->attributes_case = AC(TIMER_CANCELED);
    e->timer_canceled_event_attributes = a;
}

static void signal_n(hb *b, const char *name, const char *const *args, size_t n)
{
    ev_t *e = add(b, ET(WORKFLOW_EXECUTION_SIGNALED));
    Temporal__Api__History__V1__WorkflowExecutionSignaledEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowExecutionSignaledEventAttributes);
    temporal__api__history__v1__workflow_execution_signaled_event_attributes__init(a);
    a->signal_name = xstrdup(name);
    a->input = n ? payloads_n(args, n) : NULL;
    e->attributes_case = AC(WORKFLOW_EXECUTION_SIGNALED);
    e->workflow_execution_signaled_event_attributes = a;
}

void hb_signal(hb *b, const char *name, const char *input_json)
{
    signal_n(b, name, &input_json, input_json ? 1 : 0);
}

void hb_signal2(hb *b, const char *name, const char *a1, const char *a2)
{
    const char *args[] = {a1, a2};
    signal_n(b, name, args, 2);
}

void hb_cancel_requested(hb *b)
{
    ev_t *e = add(b, ET(WORKFLOW_EXECUTION_CANCEL_REQUESTED));
    Temporal__Api__History__V1__WorkflowExecutionCancelRequestedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowExecutionCancelRequestedEventAttributes);
    temporal__api__history__v1__workflow_execution_cancel_requested_event_attributes__init(a);
    e->attributes_case = AC(WORKFLOW_EXECUTION_CANCEL_REQUESTED);
    e->workflow_execution_cancel_requested_event_attributes = a;
}

static void marker(hb *b, const char *name, const char *const *keys, const char *const *jsons,
                   size_t n)
{
    ev_t *e = add(b, ET(MARKER_RECORDED));
    Temporal__Api__History__V1__MarkerRecordedEventAttributes *a =
        NEW(Temporal__Api__History__V1__MarkerRecordedEventAttributes);
    temporal__api__history__v1__marker_recorded_event_attributes__init(a);
    a->marker_name = xstrdup(name);
    a->n_details = n;
    a->details = xcalloc((n ? n : 1) * sizeof *a->details);
    for (size_t i = 0; i < n; i++) {
        a->details[i] =
            NEW(Temporal__Api__History__V1__MarkerRecordedEventAttributes__DetailsEntry);
        temporal__api__history__v1__marker_recorded_event_attributes__details_entry__init(
            a->details[i]);
        a->details[i]->key = xstrdup(keys[i]);
        a->details[i]->value = payloads(jsons[i]);
    }
    e->attributes_case = AC(MARKER_RECORDED);
    e->marker_recorded_event_attributes = a;
}

void hb_patch_marker(hb *b, const char *patch_id, bool deprecated)
{
    char json[256];
    snprintf(json, sizeof json, "{\"id\":\"%s\",\"deprecated\":%s}", patch_id,
             deprecated ? "true" : "false");
    const char *keys[] = {"patch-data"}, *vals[] = {json};
    marker(b, "core_patch", keys, vals, 1);
}

void hb_version_marker(hb *b, const char *change_id, int version)
{
    char id[256], ver[32];
    snprintf(id, sizeof id, "\"%s\"", change_id);
    snprintf(ver, sizeof ver, "%d", version);
    const char *keys[] = {"change-id", "version"}, *vals[] = {id, ver};
    marker(b, "Version", keys, vals, 2);
}

void hb_side_effect_marker(hb *b, int64_t id, const char *json)
{
    char sid[32];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    const char *keys[] = {"side-effect-id", "data"}, *vals[] = {sid, json};
    marker(b, "SideEffect", keys, vals, 2);
}

void hb_upsert_sa(hb *b, const char *key, const char *json)
{
    ev_t *e = add(b, ET(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES));
    Temporal__Api__History__V1__UpsertWorkflowSearchAttributesEventAttributes *a =
        NEW(Temporal__Api__History__V1__UpsertWorkflowSearchAttributesEventAttributes);
    temporal__api__history__v1__upsert_workflow_search_attributes_event_attributes__init(a);
    a->search_attributes = NEW(Temporal__Api__Common__V1__SearchAttributes);
    temporal__api__common__v1__search_attributes__init(a->search_attributes);
    a->search_attributes->n_indexed_fields = 1;
    a->search_attributes->indexed_fields = xcalloc(sizeof(void *));
    a->search_attributes->indexed_fields[0] =
        NEW(Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry);
    temporal__api__common__v1__search_attributes__indexed_fields_entry__init(
        a->search_attributes->indexed_fields[0]);
    a->search_attributes->indexed_fields[0]->key = xstrdup(key);
    a->search_attributes->indexed_fields[0]->value = payload("json/plain", json);
    e->attributes_case = AC(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
    e->upsert_workflow_search_attributes_event_attributes = a;
}

void hb_memo_modified(hb *b, const char *key, const char *json)
{
    ev_t *e = add(b, ET(WORKFLOW_PROPERTIES_MODIFIED));
    Temporal__Api__History__V1__WorkflowPropertiesModifiedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowPropertiesModifiedEventAttributes);
    temporal__api__history__v1__workflow_properties_modified_event_attributes__init(a);
    a->upserted_memo = NEW(Temporal__Api__Common__V1__Memo);
    temporal__api__common__v1__memo__init(a->upserted_memo);
    a->upserted_memo->n_fields = 1;
    a->upserted_memo->fields = xcalloc(sizeof(void *));
    a->upserted_memo->fields[0] = NEW(Temporal__Api__Common__V1__Memo__FieldsEntry);
    temporal__api__common__v1__memo__fields_entry__init(a->upserted_memo->fields[0]);
    a->upserted_memo->fields[0]->key = xstrdup(key);
    a->upserted_memo->fields[0]->value = payload("json/plain", json);
    e->attributes_case = AC(WORKFLOW_PROPERTIES_MODIFIED);
    e->workflow_properties_modified_event_attributes = a;
}

void hb_completed(hb *b, const char *result_json)
{
    ev_t *e = add(b, ET(WORKFLOW_EXECUTION_COMPLETED));
    Temporal__Api__History__V1__WorkflowExecutionCompletedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowExecutionCompletedEventAttributes);
    temporal__api__history__v1__workflow_execution_completed_event_attributes__init(a);
    a->result = payloads(result_json);
    e->attributes_case = AC(WORKFLOW_EXECUTION_COMPLETED);
    e->workflow_execution_completed_event_attributes = a;
}

void hb_failed(hb *b, const char *type, const char *message)
{
    ev_t *e = add(b, ET(WORKFLOW_EXECUTION_FAILED));
    Temporal__Api__History__V1__WorkflowExecutionFailedEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowExecutionFailedEventAttributes);
    temporal__api__history__v1__workflow_execution_failed_event_attributes__init(a);
    a->failure = app_failure(type, message, false);
    e->attributes_case = AC(WORKFLOW_EXECUTION_FAILED);
    e->workflow_execution_failed_event_attributes = a;
}

void hb_canceled(hb *b)
{
    ev_t *e = add(b, ET(WORKFLOW_EXECUTION_CANCELED));
    Temporal__Api__History__V1__WorkflowExecutionCanceledEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowExecutionCanceledEventAttributes);
    temporal__api__history__v1__workflow_execution_canceled_event_attributes__init(a);
    e->attributes_case = AC(WORKFLOW_EXECUTION_CANCELED);
    e->workflow_execution_canceled_event_attributes = a;
}

void hb_continued_as_new(hb *b, const char *workflow_type)
{
    ev_t *e = add(b, ET(WORKFLOW_EXECUTION_CONTINUED_AS_NEW));
    Temporal__Api__History__V1__WorkflowExecutionContinuedAsNewEventAttributes *a =
        NEW(Temporal__Api__History__V1__WorkflowExecutionContinuedAsNewEventAttributes);
    temporal__api__history__v1__workflow_execution_continued_as_new_event_attributes__init(a);
    a->workflow_type = NEW(Temporal__Api__Common__V1__WorkflowType);
    temporal__api__common__v1__workflow_type__init(a->workflow_type);
    a->workflow_type->name = xstrdup(workflow_type);
    e->attributes_case = AC(WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    e->workflow_execution_continued_as_new_event_attributes = a;
}

void hb_raw(hb *b, int event_type)
{
    add(b, event_type);
}

void hb_child_initiated(hb *b, const char *workflow_type)
{
    ev_t *e = add(b, ET(START_CHILD_WORKFLOW_EXECUTION_INITIATED));
    Temporal__Api__History__V1__StartChildWorkflowExecutionInitiatedEventAttributes *a =
        NEW(Temporal__Api__History__V1__StartChildWorkflowExecutionInitiatedEventAttributes);
    temporal__api__history__v1__start_child_workflow_execution_initiated_event_attributes__init(a);
    a->workflow_id = xstrdup("child-1");
    a->workflow_type = NEW(Temporal__Api__Common__V1__WorkflowType);
    temporal__api__common__v1__workflow_type__init(a->workflow_type);
    a->workflow_type->name = xstrdup(workflow_type);
    e->attributes_case = AC(START_CHILD_WORKFLOW_EXECUTION_INITIATED);
    e->start_child_workflow_execution_initiated_event_attributes = a;
}

tc_history *hb_history(hb *b)
{
    Temporal__Api__History__V1__History h = TEMPORAL__API__HISTORY__V1__HISTORY__INIT;
    h.n_events = b->n;
    h.events = b->evs;
    size_t len = temporal__api__history__v1__history__get_packed_size(&h);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        abort();
    temporal__api__history__v1__history__pack(&h, buf);
    char path[] = "/tmp/tc-hb-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
        abort();
    close(fd);
    free(buf);
    tc_history *out = NULL;
    tc_error err;
    if (tc_history_load(path, &out, &err) != TC_OK)
        abort();
    unlink(path);
    return out;
}

Temporal__Api__History__V1__HistoryEvent *hb_add(hb *b, int event_type)
{
    return add(b, event_type);
}

Temporal__Api__Common__V1__Payloads *hb_payloads(const char *const *jsons, size_t n)
{
    return payloads_n(jsons, n);
}

Temporal__Api__Failure__V1__Failure *hb_app_failure(const char *type, const char *message,
                                                    bool non_retryable)
{
    return app_failure(type, message, non_retryable);
}

void *hb_calloc(size_t n)
{
    return xcalloc(n);
}

char *hb_strdup(const char *s)
{
    return xstrdup(s);
}

void hb_la_marker(hb *b, const char *id, const char *type, int attempt, const char *result_json,
                  const char *fail_type, const char *fail_msg, int64_t backoff_ms)
{
    char data[512];
    snprintf(data, sizeof data,
             "{\"ActivityID\":\"%s\",\"ActivityType\":\"%s\",\"ReplayTime\":"
             "\"2023-11-14T22:13:20.5Z\",\"Attempt\":%d,\"Backoff\":%lld}",
             id, type, attempt, (long long)backoff_ms * 1000000LL);
    const char *keys[] = {"data", "result"}, *vals[] = {data, result_json};
    marker(b, "LocalActivity", keys, vals, result_json && !fail_type ? 2 : 1);
    if (!fail_type)
        return;
    Temporal__Api__Failure__V1__Failure *f;
    if (strcmp(fail_type, "CanceledError") == 0) {
        f = NEW(Temporal__Api__Failure__V1__Failure);
        temporal__api__failure__v1__failure__init(f);
        f->message = xstrdup(fail_msg);
        f->canceled_failure_info = NEW(Temporal__Api__Failure__V1__CanceledFailureInfo);
        temporal__api__failure__v1__canceled_failure_info__init(f->canceled_failure_info);
        f->failure_info_case =
            TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CANCELED_FAILURE_INFO;
    } else {
        f = app_failure(fail_type, fail_msg, false);
    }
    b->evs[b->n - 1]->marker_recorded_event_attributes->failure = f;
}
