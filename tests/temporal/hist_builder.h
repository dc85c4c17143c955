/* hist_builder.h - builds crafted histories for the runtime's unit tests: events with ids in
 * order, serialized as a temporal.api.history.v1.History and loaded with tc_history_load, as a
 * recorded history would be. Test code only. */
#ifndef HIST_BUILDER_H
#define HIST_BUILDER_H

#include <stdbool.h>
#include <stdint.h>

#include "temporal.h"

typedef struct hb hb;

hb *hb_new(void);
/* Frees the builder (not the histories it made). */
void hb_free(hb *b);
/* Id the next event will get. */
int64_t hb_next_id(const hb *b);

/* WorkflowExecutionStarted (must be first). input_json may be NULL; search_attr / memo are
 * "Key" = json_value pairs (NULL for none). */
void hb_started(hb *b, const char *workflow_type, const char *input_json);
void hb_started_full(hb *b, const char *workflow_type, const char *input_json, const char *sa_key,
                     const char *sa_json, const char *memo_key, const char *memo_json);
/* WorkflowTaskScheduled + WorkflowTaskStarted (returns the started id). */
int64_t hb_wft_start(hb *b);
/* WorkflowTaskCompleted for the task started at `started`. */
void hb_wft_complete(hb *b, int64_t started);
/* WorkflowTaskFailed / TimedOut for it. */
void hb_wft_fail(hb *b, int64_t started);
void hb_wft_timeout(hb *b, int64_t started);
/* hb_wft_start + hb_wft_complete. */
void hb_wft(hb *b);

int64_t hb_act_scheduled(hb *b, const char *activity_id, const char *type);
void hb_act_started(hb *b, int64_t scheduled);
void hb_act_completed(hb *b, int64_t scheduled, const char *result_json);
void hb_act_completed_enc(hb *b, int64_t scheduled, const char *encoding, const char *data);
void hb_act_failed(hb *b, int64_t scheduled, const char *type, const char *message,
                   bool non_retryable);
void hb_act_timed_out(hb *b, int64_t scheduled);
void hb_act_cancel_requested(hb *b, int64_t scheduled);
void hb_act_canceled(hb *b, int64_t scheduled);

int64_t hb_timer_started(hb *b, const char *timer_id, int64_t ms);
void hb_timer_fired(hb *b, const char *timer_id, int64_t started);
void hb_timer_canceled(hb *b, const char *timer_id, int64_t started);

void hb_signal(hb *b, const char *name, const char *input_json);
void hb_signal2(hb *b, const char *name, const char *a1, const char *a2);
void hb_cancel_requested(hb *b);

/* Markers: a patch (core_patch), a Go SDK version marker, a side effect (Go SDK format). */
void hb_patch_marker(hb *b, const char *patch_id, bool deprecated);
void hb_version_marker(hb *b, const char *change_id, int version);
void hb_side_effect_marker(hb *b, int64_t id, const char *json);
/* An upsert of one search attribute (json value). */
void hb_upsert_sa(hb *b, const char *key, const char *json);
void hb_memo_modified(hb *b, const char *key, const char *json);

void hb_completed(hb *b, const char *result_json);
void hb_failed(hb *b, const char *type, const char *message);
void hb_canceled(hb *b);
void hb_continued_as_new(hb *b, const char *workflow_type);

/* An event of a raw type with no attributes (for bad-input tests), and a raw event of a
 * known type whose attributes are missing. */
void hb_raw(hb *b, int event_type);
/* Skips an event id (a gap, for bad-input tests). */
void hb_skip_id(hb *b);
/* Events of types this runtime does not support yet. */
void hb_child_initiated(hb *b, const char *workflow_type);

/* A local activity marker as the Go SDK records it: ActivityID id, ActivityType type, Attempt,
 * Backoff; the result (result_json, may be NULL) or, with fail_type, a failure
 * (ApplicationFailure of that type, or a cancellation for "CanceledError"). */
void hb_la_marker(hb *b, const char *id, const char *type, int attempt, const char *result_json,
                  const char *fail_type, const char *fail_msg, int64_t backoff_ms);

/* Serializes what was built so far into a history (owned by the caller). */
tc_history *hb_history(hb *b);

/* For builders in other files: appends an event of a type (id and time set, no attributes)
 * and returns it; json/plain payloads and an ApplicationFailure allocated as the events' own
 * parts (freed with the builder once attached to an event). */
struct Temporal__Api__History__V1__HistoryEvent *hb_add(hb *b, int event_type);
struct Temporal__Api__Common__V1__Payloads *hb_payloads(const char *const *jsons, size_t n);
void *hb_calloc(size_t n);      /* zeroed; aborts when out of memory */
char *hb_strdup(const char *s); /* NULL -> ""; aborts when out of memory */
struct Temporal__Api__Failure__V1__Failure *hb_app_failure(const char *type, const char *message,
                                                           bool non_retryable);

#endif
