/* temporal_worker.h - the worker part of the public API beyond the basics: heartbeat details and
 * cancellation reasons of activities, the worker's stop as activities see it, asynchronous
 * activity completion, the stop with a graceful timeout, and metrics. Part of temporal.h (after
 * its Worker section): include that. */
#ifndef TEMPORAL_WORKER_H
#define TEMPORAL_WORKER_H

#ifndef TEMPORAL_H
#error "include temporal.h, which includes this header"
#endif

/* ---- activities: heartbeats, cancellation, the worker's stop ---- */

/* The details the previous attempt of this activity last heartbeated (JSON, borrowed for the
 * call; NULL when there were none): a retried attempt resumes from them. They are what the
 * server kept from the previous attempt's last heartbeat, or from its failure, which carries
 * the latest details recorded even when throttling had not sent them yet. */
const char *tc_activity_heartbeat_details(tc_activity_ctx *ctx);

/* Heartbeats (tc_activity_heartbeat) are throttled as the official SDKs throttle them: the
 * first is sent at once, then at most one RecordActivityTaskHeartbeat per interval of 0.8 x
 * the activity's heartbeat timeout (at most 60 s; 30 s when it has none); details recorded
 * during an interval are kept and the latest of them is sent when it ends. A throttled call
 * returns at once with what the last answer said (TC_ERR_CANCELLED once cancellation was
 * requested). */

/* Why an activity is asked to stop. */
typedef enum tc_cancel_reason {
    TC_ACTIVITY_CANCEL_NONE = 0,
    TC_ACTIVITY_CANCEL_REQUESTED = 1,       /* the workflow cancelled it (a heartbeat said so) */
    TC_ACTIVITY_CANCEL_WORKER_SHUTDOWN = 2, /* the worker is stopping and its graceful timeout
                                               passed (a local activity: the stop began) */
    TC_ACTIVITY_CANCEL_GONE = 3, /* the server no longer knows it (timed out, run closed) */
} tc_cancel_reason;

/* Why the activity is cancelled (TC_ACTIVITY_CANCEL_NONE while it is not). */
tc_cancel_reason tc_activity_cancel_reason(tc_activity_ctx *ctx);

/* True once the worker running the activity began to stop (tc_worker_stop, tc_worker_shutdown,
 * SIGTERM in tc_worker_run): the activity should finish soon or save its progress. Until the
 * worker's graceful timeout passes it may go on, complete, fail or heartbeat as usual; then
 * it is cancelled with TC_ACTIVITY_CANCEL_WORKER_SHUTDOWN. */
bool tc_activity_worker_stopping(const tc_activity_ctx *ctx);

/* Blocks until the worker begins to stop (true) or timeout_ms passed (false; negative: no
 * limit). Executor thread of the activity. */
bool tc_activity_wait_worker_stop(tc_activity_ctx *ctx, int timeout_ms);

/* ---- asynchronous completion ---- */

/* The activity's task token (borrowed for the call; copy it): what identifies this attempt to
 * tc_client_complete_activity and its siblings. */
const uint8_t *tc_activity_task_token(const tc_activity_ctx *ctx, size_t *len);

/* Records that the activity will be completed later through a client (by task token or by
 * ids), e.g. by another process once a human approved: the worker reports nothing when the
 * function returns and frees its slot. The activity's timeouts still apply (heartbeat through
 * tc_client_heartbeat_activity). TC_OK, or TC_ERR_STATE when an outcome was recorded before or
 * the activity is a local one (its outcome is recorded by the workflow's worker, in a marker). */
int tc_activity_complete_async(tc_activity_ctx *ctx);

/* Which activity attempt a client call is about: the task token, or (when task_token is NULL)
 * the workflow id, run id (NULL or "": the current run) and activity id. Strings borrowed. */
typedef struct tc_activity_ref {
    const uint8_t *task_token;
    size_t task_token_len;
    const char *workflow_id;
    const char *run_id;
    const char *activity_id;
} tc_activity_ref;

/* RespondActivityTaskCompleted (by token) / ...ById with a JSON result (NULL: none). Returns
 * TC_OK; TC_ERR_INVALID for a ref with neither a token nor both ids, or a token the server
 * cannot read; TC_ERR_NOT_FOUND when the server knows no such attempt (completed, timed out,
 * its run closed, an unknown id); or an RPC error. Any thread. */
int tc_client_complete_activity(tc_client *c, const tc_activity_ref *ref, const char *result_json,
                                tc_error *err);
/* RespondActivityTaskFailed(ById): an ApplicationFailure{type ("" or NULL: none), message,
 * non_retryable}, retried by the activity's retry policy unless non_retryable;
 * last_details_json (may be NULL) is what the next attempt gets from
 * tc_activity_heartbeat_details. Errors as tc_client_complete_activity. */
int tc_client_fail_activity(tc_client *c, const tc_activity_ref *ref, const char *type,
                            const char *message, bool non_retryable, const char *last_details_json,
                            tc_error *err);
/* RecordActivityTaskHeartbeat(ById) with details (may be NULL); *cancel_requested (may be
 * NULL) tells whether the workflow asked to cancel the activity. Not throttled. Errors as
 * tc_client_complete_activity. */
int tc_client_heartbeat_activity(tc_client *c, const tc_activity_ref *ref, const char *details_json,
                                 bool *cancel_requested, tc_error *err);
/* RespondActivityTaskCanceled(ById): acknowledges a cancellation. Errors as above. */
int tc_client_report_activity_cancelled(tc_client *c, const tc_activity_ref *ref, tc_error *err);

/* ---- stopping a worker ---- */

#define TC_STOP_WAIT_FOREVER (-1)

/* Stops the worker as the server expects, then waits for its threads:
 *   1. no new polls; activities see tc_activity_worker_stopping;
 *   2. ShutdownWorker (namespace, identity, sticky queue, task queue, the task queue types it
 *      polls, its worker instance key): the server moves the sticky queue's tasks to the normal
 *      queue and, on a server with the namespace capability workerPollCompleteOnShutdown,
 *      completes this worker's outstanding polls empty, so no task is lost to a cancelled poll;
 *   3. local polls still in flight are cancelled (at once without that capability, after up
 *      to 3 s with it); workflow tasks already received are finished and answered;
 *   4. activities get graceful_timeout_ms to finish; then those still running are cancelled
 *      (TC_ACTIVITY_CANCEL_WORKER_SHUTDOWN: tc_activity_cancel_requested becomes true and
 *      heartbeats return TC_ERR_CANCELLED) and waited for: an activity that ignores it delays
 *      the stop until it returns.
 * graceful_timeout_ms > 0, or TC_STOP_WAIT_FOREVER (never cancel them); 0 or another negative
 * value is TC_ERR_INVALID and nothing happens. TC_ERR_STATE when the worker is already
 * stopped (or was never started). Must not be called from a worker thread. tc_worker_stop is
 * this with tc_worker_options.graceful_stop_timeout_ms. */
int tc_worker_shutdown(tc_worker *w, int64_t graceful_timeout_ms, tc_error *err);

/* ---- metrics ---- */

/* The worker keeps Prometheus metrics, named as the official SDKs name theirs, all labelled
 * namespace and task_queue (plus the labels below):
 *   temporal_request / _failure / _latency (operation, and workflow_type / activity_type when
 *     the call was made for a task): WorkflowService calls of the worker's threads;
 *   temporal_long_request / _failure / _latency (operation): task polls (poll latency);
 *   temporal_workflow_task_queue_poll_succeed / _empty, temporal_activity_poll_no_task,
 *     temporal_activity_task_received;
 *   temporal_workflow_task_execution_latency (workflow_type): a workflow task, from its poll
 *     response to its answer; temporal_workflow_task_execution_failed (workflow_type,
 *     failure_reason); temporal_workflow_completed / _failed / _canceled /
 *     _continue_as_new (workflow_type);
 *   temporal_activity_execution_latency (activity_type, workflow_type): the function's run;
 *     temporal_activity_execution_failed (activity_type, workflow_type);
 *   temporal_sticky_cache_hit / _miss / _total_forced_eviction (counters),
 *     temporal_sticky_cache_size (gauge);
 *   temporal_worker_task_slots_available / temporal_worker_task_slots_used (worker_type =
 *     WorkflowWorker | ActivityWorker), temporal_num_pollers (poller_type),
 *     temporal_worker_start.
 * Latencies are histograms in seconds. Custom metrics of workflows and activities join them. */

typedef struct tc_metric_label {
    const char *key; /* a label name: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" */
    const char *value;
} tc_metric_label;

typedef enum tc_metric_kind {
    TC_METRIC_COUNTER = 1,   /* value is added (>= 0) */
    TC_METRIC_GAUGE = 2,     /* value is set */
    TC_METRIC_HISTOGRAM = 3, /* value is observed (buckets for seconds, 1 ms to 60 s) */
} tc_metric_kind;

/* A custom metric of workflow code (Go: workflow.GetMetricsHandler(ctx)): name must be a
 * Prometheus metric name; labels (n_labels of them, may be NULL) join namespace, task_queue and
 * workflow_type. Nothing is recorded while the code replays (tc_wf_is_replaying), so a counter
 * counts each event once however often the run is rebuilt; nothing either under
 * tc_replay_history. TC_OK, or TC_ERR_INVALID for a bad name or label, a negative counter
 * increment, a name used before with another kind, or more than 4096 series. */
int tc_wf_metric(tc_wf_ctx *ctx, tc_metric_kind kind, const char *name,
                 const tc_metric_label *labels, size_t n_labels, double value);

/* The same for activity code (Go: activity.GetMetricsHandler(ctx)); labels join namespace,
 * task_queue, activity_type and workflow_type. */
int tc_activity_metric(tc_activity_ctx *ctx, tc_metric_kind kind, const char *name,
                       const tc_metric_label *labels, size_t n_labels, double value);

/* The same from any thread, labelled namespace and task_queue only. */
int tc_worker_metric(tc_worker *w, tc_metric_kind kind, const char *name,
                     const tc_metric_label *labels, size_t n_labels, double value, tc_error *err);

/* Every metric of the worker in the Prometheus text exposition format (version 0.0.4), for a
 * daemon to append to its /metrics answer: *text is malloc'd (the caller frees). TC_OK;
 * TC_ERR_INVALID for NULL arguments; TC_ERR_STATE once the worker was stopped (its threads
 * are gone: nothing current to report); TC_ERR_NOMEM. Any thread while the worker lives. */
int tc_worker_metrics_text(tc_worker *w, char **text, tc_error *err);

#endif /* TEMPORAL_WORKER_H */
