/* features.h - the feature table of features-worker: for each temporalio/features folder, the
 * workflows and activities it registers under the upstream names. Holds no run state. */
#ifndef FEATURES_H
#define FEATURES_H

#include "temporal.h"

#include <jansson.h>
#include <stddef.h>

/* A workflow type of a feature (state_size bytes of zeroed run state, see tc_workflow_fn). */
typedef struct feat_workflow {
    const char *type;
    tc_workflow_fn fn;
    size_t state_size;
} feat_workflow;

/* An activity type of a feature. */
typedef struct feat_activity {
    const char *type;
    tc_activity_fn fn;
} feat_activity;

/* What a feature needs beyond its workflows and activities and the default options. */
typedef struct feat_options {
    const tc_payload_codec *codecs; /* the client's payload codecs */
    size_t n_codecs;
    bool encode_failure_attributes; /* the client's failure converter */
    bool no_remote_activities;      /* the worker runs local activities only */
    /* Before a replay: the process state the live worker had (NULL: none). */
    void (*before_replay)(void);
    /* Once the worker polls, before waiting for SIGTERM (NULL: none): c is the worker's client.
     * A non-TC_OK return stops the worker and fails the process. */
    int (*after_start)(tc_client *c, const char *task_queue);
} feat_options;

/* One feature: its workflows and activities, each list ended by an entry with a NULL type
 * (activities may be NULL for none). */
typedef struct feature {
    const char *name;
    const feat_workflow *workflows;
    const feat_activity *activities;
} feature;

/* The options of a feature that needs more than the defaults (options.c), else NULL. */
const feat_options *feat_options_for(const char *feature);

/* The hooks options.c names: update/task_failure's state before a replay (update.c),
 * eager_workflow/successful_start's eager start from the worker's client (eager.c). */
void feat_update_task_failure_before_replay(void);
int feat_eager_start(tc_client *c, const char *task_queue);

/* The feature groups, one per source file, each ended by an entry with a NULL name. */
extern const feature feat_activity_features[];
extern const feature feat_signal_features[];
extern const feature feat_query_features[];
extern const feature feat_continue_as_new_features[];
extern const feature feat_data_converter_features[];
extern const feature feat_search_attributes_features[];
extern const feature feat_worker_shutdown_features[];
extern const feature feat_bugs_features[];
extern const feature feat_schedule_features[];
extern const feature feat_reset_features[];
extern const feature feat_client_features[];
extern const feature feat_children_features[];
extern const feature feat_update_features[];
extern const feature feat_eager_features[];
extern const feature feat_local_activity_features[];
extern const feature feat_eager_activity_features[];

/* The worker's client (set once before the worker starts, thread-safe): activities use it to
 * signal or query the workflow that runs them, as the upstream activities use theirs. */
tc_client *feat_client(void);

/* Sleeps ms milliseconds on the calling (activity) thread. */
void feat_sleep_ms(int ms);

/* Fails the workflow with the upstream harness's error type "SdkFeaturesError" (retryable) and
 * a printf-style message. */
void feat_fail(tc_wf_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fails the workflow with an operation's failure, as returning that error from an upstream
 * workflow does. */
void feat_fail_with(tc_wf_ctx *ctx, const tc_wf_result *r);

/* Completes the workflow with the JSON value j (owned: released here); NULL (out of memory)
 * fails the workflow task instead. */
void feat_complete_json(tc_wf_ctx *ctx, json_t *j);

/* A malloc'd JSON string literal for s (caller frees), NULL out of memory. */
char *feat_json_string(const char *s);

/* True when the JSON text json is the JSON string s. */
int feat_json_is_string(const char *json, const char *s);

/* Signals the workflow run the activity belongs to, with one JSON argument. Returns TC_OK or a
 * tc_code (logged to stderr). */
int feat_signal_own_workflow(tc_activity_ctx *ctx, const char *signal, const char *json);

#endif
