/* hist_builder.c - crafted histories for unit tests (see hist_builder.h). Every message is built
 * on the heap so protobuf_c_message_free_unpacked can free the tree after packing. Test code. */
#include "hist_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "temporal/api/history/v1/message.pb-c.h"

typedef Temporal__Api__History__V1__HistoryEvent ev_t;
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

void *hb_event(hb *b, int event_type, int attributes_case)
{
    ev_t *e = add(b, event_type);
    /* protobuf-c numbers a oneof's cases by its fields' tags, so the case names the field. */
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(e->base.descriptor, (unsigned)attributes_case);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
        abort();
    const ProtobufCMessageDescriptor *d = f->descriptor;
    ProtobufCMessage *a = xcalloc(d->sizeof_message);
    protobuf_c_message_init(d, a);
    *(ProtobufCMessage **)((char *)e + f->offset) = a;
    e->attributes_case = (Temporal__Api__History__V1__HistoryEvent__AttributesCase)attributes_case;
    return a;
}

void *hb_field(void *msg, const char *name, int type)
{
    ProtobufCMessage *m = msg;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (!f || (int)f->type != type)
        abort();
    return (char *)m + f->offset;
}

void *hb_answer(hb *b, int event_type, int attributes_case, const char *first, int64_t id1,
                const char *second, int64_t id2)
{
    ProtobufCMessage *a = hb_event(b, event_type, attributes_case);
    *(int64_t *)hb_field(a, first, PROTOBUF_C_TYPE_INT64) = id1;
    if (second)
        *(int64_t *)hb_field(a, second, PROTOBUF_C_TYPE_INT64) = id2;
    return a;
}

int64_t hb_last_id(const hb *b)
{
    return b->n ? b->evs[b->n - 1]->event_id : 0;
}

Temporal__Api__Common__V1__WorkflowType *hb_workflow_type(const char *name)
{
    Temporal__Api__Common__V1__WorkflowType *t = NEW(Temporal__Api__Common__V1__WorkflowType);
    temporal__api__common__v1__workflow_type__init(t);
    t->name = xstrdup(name);
    return t;
}

/* Search attributes holding one json value under key. */
static Temporal__Api__Common__V1__SearchAttributes *one_sa(const char *key, const char *json)
{
    Temporal__Api__Common__V1__SearchAttributes *sa =
        NEW(Temporal__Api__Common__V1__SearchAttributes);
    temporal__api__common__v1__search_attributes__init(sa);
    sa->n_indexed_fields = 1;
    sa->indexed_fields = xcalloc(sizeof(void *));
    sa->indexed_fields[0] = NEW(Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry);
    temporal__api__common__v1__search_attributes__indexed_fields_entry__init(sa->indexed_fields[0]);
    sa->indexed_fields[0]->key = xstrdup(key);
    sa->indexed_fields[0]->value = payload("json/plain", json);
    return sa;
}

/* A memo holding one json value under key. */
static Temporal__Api__Common__V1__Memo *one_memo(const char *key, const char *json)
{
    Temporal__Api__Common__V1__Memo *m = NEW(Temporal__Api__Common__V1__Memo);
    temporal__api__common__v1__memo__init(m);
    m->n_fields = 1;
    m->fields = xcalloc(sizeof(void *));
    m->fields[0] = NEW(Temporal__Api__Common__V1__Memo__FieldsEntry);
    temporal__api__common__v1__memo__fields_entry__init(m->fields[0]);
    m->fields[0]->key = xstrdup(key);
    m->fields[0]->value = payload("json/plain", json);
    return m;
}

void hb_started_full(hb *b, const char *workflow_type, const char *input_json, const char *sa_key,
                     const char *sa_json, const char *memo_key, const char *memo_json)
{
    Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *a =
        HB_EVENT(b, WORKFLOW_EXECUTION_STARTED);
    a->workflow_type = hb_workflow_type(workflow_type);
    a->task_queue = NEW(Temporal__Api__Taskqueue__V1__TaskQueue);
    temporal__api__taskqueue__v1__task_queue__init(a->task_queue);
    a->task_queue->name = xstrdup("unit-queue");
    a->input = payloads(input_json);
    a->first_execution_run_id = xstrdup("3f1b6d2e-0000-4000-8000-00000000abcd");
    a->workflow_id = xstrdup("unit-wf");
    if (sa_key)
        a->search_attributes = one_sa(sa_key, sa_json);
    if (memo_key)
        a->memo = one_memo(memo_key, memo_json);
}

void hb_started(hb *b, const char *workflow_type, const char *input_json)
{
    hb_started_full(b, workflow_type, input_json, NULL, NULL, NULL, NULL);
}

int64_t hb_wft_start(hb *b)
{
    HB_EVENT(b, WORKFLOW_TASK_SCHEDULED);
    HB_ANSWER(b, WORKFLOW_TASK_STARTED, "scheduled_event_id", hb_last_id(b), NULL, 0);
    return hb_last_id(b);
}

/* The events closing a workflow task name both the scheduled and the started event. */
#define WFT_CLOSE(b, x, started) \
    HB_ANSWER(b, x, "scheduled_event_id", (started)-1, "started_event_id", started)

void hb_wft_complete(hb *b, int64_t started)
{
    WFT_CLOSE(b, WORKFLOW_TASK_COMPLETED, started);
}

void hb_wft_fail(hb *b, int64_t started)
{
    WFT_CLOSE(b, WORKFLOW_TASK_FAILED, started);
}

void hb_wft_timeout(hb *b, int64_t started)
{
    WFT_CLOSE(b, WORKFLOW_TASK_TIMED_OUT, started);
}

void hb_wft(hb *b)
{
    hb_wft_complete(b, hb_wft_start(b));
}

int64_t hb_act_scheduled(hb *b, const char *activity_id, const char *type)
{
    Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes *a =
        HB_EVENT(b, ACTIVITY_TASK_SCHEDULED);
    a->activity_id = xstrdup(activity_id);
    a->activity_type = NEW(Temporal__Api__Common__V1__ActivityType);
    temporal__api__common__v1__activity_type__init(a->activity_type);
    a->activity_type->name = xstrdup(type);
    return hb_last_id(b);
}

/* An event of the activity scheduled at `scheduled` that names only it. */
#define ACT_ANSWER(b, x, scheduled) HB_ANSWER(b, x, "scheduled_event_id", scheduled, NULL, 0)

void hb_act_started(hb *b, int64_t scheduled)
{
    ACT_ANSWER(b, ACTIVITY_TASK_STARTED, scheduled);
}

void hb_act_completed(hb *b, int64_t scheduled, const char *result_json)
{
    Temporal__Api__History__V1__ActivityTaskCompletedEventAttributes *a =
        ACT_ANSWER(b, ACTIVITY_TASK_COMPLETED, scheduled);
    a->result = payloads(result_json);
}

void hb_act_completed_enc(hb *b, int64_t scheduled, const char *encoding, const char *data)
{
    Temporal__Api__History__V1__ActivityTaskCompletedEventAttributes *a =
        ACT_ANSWER(b, ACTIVITY_TASK_COMPLETED, scheduled);
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
    Temporal__Api__History__V1__ActivityTaskFailedEventAttributes *a =
        ACT_ANSWER(b, ACTIVITY_TASK_FAILED, scheduled);
    a->failure = app_failure(type, message, non_retryable);
}

void hb_act_timed_out(hb *b, int64_t scheduled)
{
    ACT_ANSWER(b, ACTIVITY_TASK_TIMED_OUT, scheduled);
}

void hb_act_cancel_requested(hb *b, int64_t scheduled)
{
    ACT_ANSWER(b, ACTIVITY_TASK_CANCEL_REQUESTED, scheduled);
}

void hb_act_canceled(hb *b, int64_t scheduled)
{
    ACT_ANSWER(b, ACTIVITY_TASK_CANCELED, scheduled);
}

int64_t hb_timer_started(hb *b, const char *timer_id, int64_t ms)
{
    Temporal__Api__History__V1__TimerStartedEventAttributes *a = HB_EVENT(b, TIMER_STARTED);
    a->timer_id = xstrdup(timer_id);
    a->start_to_fire_timeout = NEW(Google__Protobuf__Duration);
    google__protobuf__duration__init(a->start_to_fire_timeout);
    a->start_to_fire_timeout->seconds = ms / 1000;
    return hb_last_id(b);
}

void hb_timer_fired(hb *b, const char *timer_id, int64_t started)
{
    Temporal__Api__History__V1__TimerFiredEventAttributes *a =
        HB_ANSWER(b, TIMER_FIRED, "started_event_id", started, NULL, 0);
    a->timer_id = xstrdup(timer_id);
}

void hb_timer_canceled(hb *b, const char *timer_id, int64_t started)
{
    Temporal__Api__History__V1__TimerCanceledEventAttributes *a =
        HB_ANSWER(b, TIMER_CANCELED, "started_event_id", started, NULL, 0);
    a->timer_id = xstrdup(timer_id);
}

static void signal_n(hb *b, const char *name, const char *const *args, size_t n)
{
    Temporal__Api__History__V1__WorkflowExecutionSignaledEventAttributes *a =
        HB_EVENT(b, WORKFLOW_EXECUTION_SIGNALED);
    a->signal_name = xstrdup(name);
    a->input = n ? payloads_n(args, n) : NULL;
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
    HB_EVENT(b, WORKFLOW_EXECUTION_CANCEL_REQUESTED);
}

static void marker(hb *b, const char *name, const char *const *keys, const char *const *jsons,
                   size_t n)
{
    Temporal__Api__History__V1__MarkerRecordedEventAttributes *a = HB_EVENT(b, MARKER_RECORDED);
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
    Temporal__Api__History__V1__UpsertWorkflowSearchAttributesEventAttributes *a =
        HB_EVENT(b, UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
    a->search_attributes = one_sa(key, json);
}

void hb_memo_modified(hb *b, const char *key, const char *json)
{
    Temporal__Api__History__V1__WorkflowPropertiesModifiedEventAttributes *a =
        HB_EVENT(b, WORKFLOW_PROPERTIES_MODIFIED);
    a->upserted_memo = one_memo(key, json);
}

void hb_completed(hb *b, const char *result_json)
{
    Temporal__Api__History__V1__WorkflowExecutionCompletedEventAttributes *a =
        HB_EVENT(b, WORKFLOW_EXECUTION_COMPLETED);
    a->result = payloads(result_json);
}

void hb_failed(hb *b, const char *type, const char *message)
{
    Temporal__Api__History__V1__WorkflowExecutionFailedEventAttributes *a =
        HB_EVENT(b, WORKFLOW_EXECUTION_FAILED);
    a->failure = app_failure(type, message, false);
}

void hb_canceled(hb *b)
{
    HB_EVENT(b, WORKFLOW_EXECUTION_CANCELED);
}

void hb_continued_as_new(hb *b, const char *workflow_type)
{
    Temporal__Api__History__V1__WorkflowExecutionContinuedAsNewEventAttributes *a =
        HB_EVENT(b, WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    a->workflow_type = hb_workflow_type(workflow_type);
}

void hb_raw(hb *b, int event_type)
{
    add(b, event_type);
}

void hb_child_initiated(hb *b, const char *workflow_type)
{
    Temporal__Api__History__V1__StartChildWorkflowExecutionInitiatedEventAttributes *a =
        HB_EVENT(b, START_CHILD_WORKFLOW_EXECUTION_INITIATED);
    a->workflow_id = xstrdup("child-1");
    a->workflow_type = hb_workflow_type(workflow_type);
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
