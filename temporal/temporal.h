/* temporal.h - public API of the Temporal C bridge: client, worker, workflow runtime, payloads.
 * Knows nothing about any application; every string in and out is UTF-8 JSON or a plain name. */
#ifndef TEMPORAL_H
#define TEMPORAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Status codes: 0 is success, every error is negative. */
typedef enum tc_code {
    TC_OK = 0,
    TC_ERR_INVALID = -1,         /* bad argument or option */
    TC_ERR_NOMEM = -2,           /* allocation failed */
    TC_ERR_UNAVAILABLE = -3,     /* server unreachable (after retries) */
    TC_ERR_TIMEOUT = -4,         /* deadline exceeded */
    TC_ERR_NOT_FOUND = -5,       /* workflow / run / task not found */
    TC_ERR_ALREADY_STARTED = -6, /* workflow id already running (conflict policy FAIL) */
    TC_ERR_RPC = -7,             /* any other gRPC error; see tc_error.grpc_status */
    TC_ERR_PROTOCOL = -8,        /* a reply we could not decode or did not expect */
    TC_ERR_WORKFLOW_FAILED = -9, /* the workflow closed without a result (see tc_outcome) */
    TC_ERR_QUERY_FAILED = -10,   /* the worker answered the query with an error */
    TC_ERR_CANCELLED = -11,      /* cancellation requested (activity) or call cancelled */
    TC_ERR_IO = -12,             /* file read/write failed */
    TC_ERR_STATE = -13,          /* call not allowed in the object's current state */
    TC_ERR_FAILED = -14,         /* the awaited activity failed or timed out (tc_wf_result) */
    TC_ERR_NONDETERMINISM = -15, /* workflow code and history disagree (replay) */
    TC_ERR_TASK_FAILED = -16,    /* a workflow task failed: tc_wf_panic, an invalid call, a
                                    history the runtime cannot read (replay) */
} tc_code;

/* Error detail written by every call that can fail. `text` is always NUL-terminated. */
typedef struct tc_error {
    int code;        /* a tc_code */
    int grpc_status; /* the gRPC status code when the error came from a call, else 0 */
    char text[512];  /* human readable: what failed and why */
} tc_error;

/* Returns a static name for a tc_code ("TC_ERR_TIMEOUT"). Any thread. */
const char *tc_code_name(int code);

/* ------------------------------------------------------------------------------------------ */
/* Logging                                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef enum tc_log_level {
    TC_LOG_DEBUG = 1,
    TC_LOG_INFO = 2,
    TC_LOG_WARN = 3,
    TC_LOG_ERROR = 4,
} tc_log_level;

/* One log line of the library. Strings are valid during the callback only. */
typedef struct tc_log_record {
    tc_log_level level;
    const char *message;
    const char *workflow_id;   /* NULL when the line is not about a workflow run */
    const char *run_id;        /* NULL when not known */
    const char *workflow_type; /* NULL when not known */
} tc_log_record;

/* A log sink. Called from any worker thread (and workflow coroutines), possibly at once from
 * several: it must be thread-safe and must not call back into the library. */
typedef void (*tc_log_fn)(const tc_log_record *rec, void *user);

/* The default sink: one line to stderr, "temporal-c <LEVEL> [wf=<id> run=<id>] message". */
void tc_log_stderr(const tc_log_record *rec, void *user);

/* ------------------------------------------------------------------------------------------ */
/* Library lifetime                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* Reference-counted wrapper around grpc_init/grpc_shutdown. tc_client_new calls it for you;
 * call it yourself only if you use other tc_ functions before any client exists. */
void tc_global_init(void);
void tc_global_shutdown(void);

/* ------------------------------------------------------------------------------------------ */
/* Client                                                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef struct tc_client tc_client;

typedef struct tc_client_options {
    const char *address;  /* host:port; NULL = $TEMPORAL_ADDRESS or "127.0.0.1:21733" */
    const char *ns;       /* namespace; NULL = $TEMPORAL_NAMESPACE or "default" */
    const char *identity; /* NULL = "<pid>@<hostname>" */
    int rpc_timeout_ms;   /* deadline of a non-poll call; 0 = 10000 */
    int max_attempts;     /* attempts on UNAVAILABLE / RESOURCE_EXHAUSTED; 0 = 8 */
    tc_log_fn log_fn;     /* log lines of the client and of workers on it that set none;
                             NULL = tc_log_stderr */
    void *log_user;
} tc_client_options;

/* Opens a gRPC channel (insecure) to the frontend and sends the client-name / client-version
 * headers on every call. Does no network I/O: use tc_client_wait_ready to check the server.
 * opts may be NULL. On success *out is owned by the caller (tc_client_free). A client is
 * thread-safe: any number of threads may use it at once. */
int tc_client_new(const tc_client_options *opts, tc_client **out, tc_error *err);

/* Frees a client. No call on it may be in flight. NULL is allowed. */
void tc_client_free(tc_client *c);

/* Calls GetSystemInfo and DescribeNamespace until both answer or timeout_ms passes. */
int tc_client_wait_ready(tc_client *c, int timeout_ms, tc_error *err);

/* Borrowed strings valid for the client's life. */
const char *tc_client_namespace(const tc_client *c);
const char *tc_client_identity(const tc_client *c);

typedef enum tc_id_reuse_policy {
    TC_REUSE_UNSPECIFIED = 0, /* server default (allow duplicate) */
    TC_REUSE_ALLOW_DUPLICATE = 1,
    TC_REUSE_ALLOW_DUPLICATE_FAILED_ONLY = 2,
    TC_REUSE_REJECT_DUPLICATE = 3,
    TC_REUSE_TERMINATE_IF_RUNNING = 4,
} tc_id_reuse_policy;

typedef enum tc_id_conflict_policy {
    TC_CONFLICT_UNSPECIFIED = 0, /* server default (fail) */
    TC_CONFLICT_FAIL = 1,
    TC_CONFLICT_USE_EXISTING = 2, /* attach to the running run: *run_id is that run */
    TC_CONFLICT_TERMINATE_EXISTING = 3,
} tc_id_conflict_policy;

typedef struct tc_start_options {
    const char *workflow_id;      /* required */
    const char *workflow_type;    /* required */
    const char *task_queue;       /* required */
    const char *input_json;       /* one JSON argument, or NULL for none */
    const char *request_id;       /* idempotency of the start call; NULL = random UUID */
    int64_t execution_timeout_ms; /* 0 = unlimited */
    int64_t run_timeout_ms;       /* 0 = unlimited */
    int64_t task_timeout_ms;      /* workflow task timeout; 0 = server default (10 s) */
    tc_id_reuse_policy id_reuse_policy;
    tc_id_conflict_policy id_conflict_policy;
} tc_start_options;

/* Starts a workflow. On success writes the run id into run_id (NUL-terminated, at most
 * run_id_cap bytes; 64 is enough) and *started (may be NULL) tells whether a new run began
 * (false when USE_EXISTING attached to a running one). A running workflow with the same id and
 * policy FAIL gives TC_ERR_ALREADY_STARTED. */
int tc_workflow_start(tc_client *c, const tc_start_options *o, char *run_id, size_t run_id_cap,
                      bool *started, tc_error *err);

/* Final state of a run, as reported by its close event or DescribeWorkflowExecution. */
typedef enum tc_wf_status {
    TC_WF_UNKNOWN = 0,
    TC_WF_RUNNING = 1,
    TC_WF_COMPLETED = 2,
    TC_WF_FAILED = 3,
    TC_WF_CANCELED = 4,
    TC_WF_TERMINATED = 5,
    TC_WF_CONTINUED_AS_NEW = 6,
    TC_WF_TIMED_OUT = 7,
} tc_wf_status;

/* Result of a closed run. Strings are owned by the struct: release with tc_outcome_clear. */
typedef struct tc_outcome {
    tc_wf_status status;
    char *result_json;     /* COMPLETED: the first result payload as JSON ("null" if none) */
    char *failure_type;    /* FAILED: ApplicationFailure type, or the failure kind */
    char *failure_message; /* FAILED / TERMINATED / TIMED_OUT: the server's message */
    char run_id[64];       /* the run the outcome belongs to (after following continue-as-new) */
} tc_outcome;

void tc_outcome_clear(tc_outcome *o);

/* Waits until the run closes by long-polling its close event, following continue-as-new.
 * run_id NULL or "" = latest run. timeout_ms <= 0 waits forever. Returns TC_OK with
 * out->status COMPLETED, TC_ERR_WORKFLOW_FAILED with out filled for any other close, or an
 * error (TC_ERR_TIMEOUT when timeout_ms passed). out is always initialised. */
int tc_workflow_result(tc_client *c, const char *workflow_id, const char *run_id, int timeout_ms,
                       tc_outcome *out, tc_error *err);

/* A handle another thread can use to end a tc_workflow_result_wait early (e.g. on SIGTERM):
 * one long wait instead of short slices that each re-check a flag with a new long poll. */
typedef struct tc_wait tc_wait;

/* Returns a new handle, or NULL out of memory. Free it with tc_wait_free after the wait. */
tc_wait *tc_wait_new(void);

/* Any thread: the wait in progress on w (and any later one) ends with TC_ERR_CANCELLED. */
void tc_wait_cancel(tc_wait *w);

/* Frees w; no wait may be using it. NULL is fine. */
void tc_wait_free(tc_wait *w);

/* tc_workflow_result that tc_wait_cancel(w) ends with TC_ERR_CANCELLED (w NULL: never). */
int tc_workflow_result_wait(tc_client *c, const char *workflow_id, const char *run_id,
                            int timeout_ms, tc_wait *w, tc_outcome *out, tc_error *err);

typedef struct tc_description {
    tc_wf_status status;
    char run_id[64];
    char workflow_type[128];
    char task_queue[128];
    int64_t history_length;
    int pending_activities;
} tc_description;

/* DescribeWorkflowExecution. */
int tc_workflow_describe(tc_client *c, const char *workflow_id, const char *run_id,
                         tc_description *out, tc_error *err);

/* QueryWorkflow. args_json may be NULL. On success *result_json is malloc'd JSON owned by the
 * caller ("null" when the handler returned nothing). A handler error is TC_ERR_QUERY_FAILED. */
int tc_workflow_query(tc_client *c, const char *workflow_id, const char *run_id,
                      const char *query_type, const char *args_json, char **result_json,
                      tc_error *err);

/* SignalWorkflowExecution with one JSON argument (or none when input_json is NULL). */
int tc_workflow_signal(tc_client *c, const char *workflow_id, const char *run_id,
                       const char *signal_name, const char *input_json, tc_error *err);

/* TerminateWorkflowExecution. reason may be NULL. */
int tc_workflow_terminate(tc_client *c, const char *workflow_id, const char *run_id,
                          const char *reason, tc_error *err);

/* RequestCancelWorkflowExecution: asks the run to cancel (the same as `temporal workflow
 * cancel` or the UI's Cancel button). The workflow sees it as tc_wf_cancel_requested and
 * decides how to end (normally CANCELED after its cleanup). reason may be NULL. */
int tc_workflow_cancel(tc_client *c, const char *workflow_id, const char *run_id,
                       const char *reason, tc_error *err);

/* ------------------------------------------------------------------------------------------ */
/* History                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* A run's event history (opaque; holds the decoded protobuf events). */
typedef struct tc_history tc_history;

/* Fetches the full history of a run, following every next_page_token. *out owned by caller. */
int tc_workflow_history(tc_client *c, const char *workflow_id, const char *run_id, tc_history **out,
                        tc_error *err);

size_t tc_history_length(const tc_history *h);
/* Event type of event i (the temporal.api.enums.v1.EventType number), 0 when out of range. */
int tc_history_event_type(const tc_history *h, size_t i);
/* Saves as a serialized temporal.api.history.v1.History (protobuf binary, the message the
 * official replayers read); loads such a file back. */
int tc_history_save(const tc_history *h, const char *path, tc_error *err);
int tc_history_load(const char *path, tc_history **out, tc_error *err);
void tc_history_free(tc_history *h);

/* ------------------------------------------------------------------------------------------ */
/* Activities                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Passed to an activity function; valid only during that call, used by that thread only. */
typedef struct tc_activity_ctx tc_activity_ctx;

/* An activity implementation. It reports its outcome with exactly one of
 * tc_activity_complete / tc_activity_fail / tc_activity_report_cancelled before returning;
 * returning without one completes the activity with no result. Runs on an executor thread. */
typedef void (*tc_activity_fn)(tc_activity_ctx *ctx, void *user);

size_t tc_activity_input_count(const tc_activity_ctx *ctx);
/* JSON of argument i (borrowed, valid during the call), NULL when out of range. */
const char *tc_activity_input(const tc_activity_ctx *ctx, size_t i);
const char *tc_activity_workflow_id(const tc_activity_ctx *ctx);
const char *tc_activity_run_id(const tc_activity_ctx *ctx);
const char *tc_activity_id(const tc_activity_ctx *ctx);
const char *tc_activity_type(const tc_activity_ctx *ctx);
int tc_activity_attempt(const tc_activity_ctx *ctx); /* 1 on the first attempt */

/* Records the result (JSON, or NULL for none). Copied. */
int tc_activity_complete(tc_activity_ctx *ctx, const char *result_json);
/* Records an ApplicationFailure{type, non_retryable} with a message. The server's retry policy
 * retries it unless non_retryable or its type is listed in non_retryable_error_types. */
int tc_activity_fail(tc_activity_ctx *ctx, const char *type, const char *message,
                     bool non_retryable);
/* Sends RecordActivityTaskHeartbeat now (details JSON may be NULL). Returns TC_ERR_CANCELLED
 * when the server asked the activity to cancel (the function should then clean up and call
 * tc_activity_report_cancelled), TC_ERR_NOT_FOUND when the activity is no longer known. */
int tc_activity_heartbeat(tc_activity_ctx *ctx, const char *details_json, tc_error *err);
/* True once a heartbeat reported cancellation, or the worker is shutting down hard. */
bool tc_activity_cancel_requested(const tc_activity_ctx *ctx);
/* Acknowledges a cancellation: RespondActivityTaskCanceled. */
int tc_activity_report_cancelled(tc_activity_ctx *ctx);

/* ------------------------------------------------------------------------------------------ */
/* Workflows                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* A workflow is a plain C function run once per run, in a coroutine of its own (its own
 * stack), as in the official SDKs: a blocking tc_wf_* call suspends the coroutine until
 * history resolves what it waits for, and the worker keeps the suspended run in its sticky
 * cache between workflow tasks. Each workflow task applies its new history events in order
 * (futures resolve in event order), then runs every coroutine until all are blocked, and the
 * commands they made are matched against the commands history recorded (a mismatch in kind or
 * id is non-determinism, reported naming both sides). A cache miss replays the whole history
 * from event 1 in a fresh coroutine; tc_wf_is_replaying tells the code which part it is in.
 *
 * Determinism: workflow code may branch only on its input, on what tc_wf_* calls return, and
 * on its own state. No clocks, random numbers, I/O, globals or thread-local storage (a
 * suspended run may resume on another worker thread): use tc_wf_now_ms, tc_wf_random,
 * tc_wf_uuid, tc_wf_side_effect and activities instead.
 *
 * Every payload in and out is JSON text (encoding json/plain); a `const char *` JSON string
 * returned by the library is borrowed and stays valid until the run ends (it is freed with
 * the run), unless said otherwise. Only the coroutine a tc_wf_ctx was given to may use it. */

/* The context of one workflow coroutine (the run's main function, a signal handler or a
 * coroutine started with tc_wf_go). Valid until that coroutine returns. */
typedef struct tc_wf_ctx tc_wf_ctx;

/* A pending or resolved operation of the run: an activity, a timer, the next signal of a
 * name, a coroutine, the run's cancellation. Owned by the run (freed with it). */
typedef struct tc_future tc_future;

/* The run's main function. `state` is the state_size zeroed bytes given at registration, owned
 * by the run: it keeps its value across workflow tasks and after the function returned, and
 * query handlers read it. The run ends when the function returns, in the way chosen with
 * tc_wf_complete / tc_wf_fail / tc_wf_continue_as_new / tc_wf_report_cancelled (or, if none
 * was called, completed with no result); coroutines still blocked then are abandoned. */
typedef void (*tc_workflow_fn)(tc_wf_ctx *ctx, void *state, void *user);

/* What an operation resolved with. Strings are borrowed from the run. */
typedef struct tc_wf_result {
    const char *result_json;     /* success: the first value ("null" when there is none) */
    const char *failure_type;    /* failure: ApplicationFailure type, or "TimeoutError",
                                    "CanceledError", "TerminatedError", "ActivityError" */
    const char *failure_message; /* failure */
    bool non_retryable;          /* failure: the failure said non_retryable */
    size_t n_values;             /* success: every value (a signal's arguments) */
    const char *const *values;
    int64_t event_id; /* the history event that resolved it (0: resolved without one, e.g.
                         a try-cancelled activity) */
} tc_wf_result;

/* ---- futures ---- */

/* Blocks the calling coroutine until f is resolved, then fills *out (may be NULL) and returns
 * TC_OK (success), TC_ERR_FAILED (the activity failed or timed out: failure_* say how) or
 * TC_ERR_CANCELLED (the operation was cancelled). Blocking on a future does not itself react
 * to the run's cancellation: the operations started in the cancelled scope resolve as
 * cancelled (see Cancellation). A future may be read any number of times. */
int tc_future_get(tc_wf_ctx *ctx, tc_future *f, tc_wf_result *out);

/* True once f is resolved (never blocks). */
bool tc_future_ready(const tc_future *f);

/* Blocks until at least one of fs[0..n) is resolved and writes to *index the one that became
 * ready first in history order (the order of the events that resolved them; among futures
 * resolved without an event, the one resolved first). Returns TC_OK, or TC_ERR_INVALID when
 * n is 0 or an entry is NULL. Deterministic: replay picks the same one. */
int tc_wf_wait_any(tc_wf_ctx *ctx, tc_future *const *fs, size_t n, size_t *index);

/* Blocks until every future of fs[0..n) is resolved. Returns TC_OK, or the first error
 * code among them in array order (TC_ERR_FAILED / TC_ERR_CANCELLED); read each with
 * tc_future_get. */
int tc_wf_wait_all(tc_wf_ctx *ctx, tc_future *const *fs, size_t n);

/* Requests cancellation of the operation behind f: a timer is cancelled (CancelTimer; its
 * future resolves TC_ERR_CANCELLED at once), an activity according to its cancel_mode (see
 * tc_activity_options), the next-signal future of tc_wf_signal_next gives up its claim.
 * No effect on a resolved future or a coroutine future. Returns TC_OK. */
int tc_future_cancel(tc_wf_ctx *ctx, tc_future *f);

/* ---- activities ---- */

typedef struct tc_retry_policy {
    int64_t initial_interval_ms;                  /* 0 = server default (1 s) */
    double backoff_coefficient;                   /* 0 = server default (2.0) */
    int64_t maximum_interval_ms;                  /* 0 = server default (100 x initial) */
    int maximum_attempts;                         /* 0 = unlimited */
    const char *const *non_retryable_error_types; /* NULL-terminated list, may be NULL */
} tc_retry_policy;

/* How cancelling an activity behaves (the three modes of the official SDKs). */
typedef enum tc_activity_cancel_mode {
    TC_CANCEL_TRY = 0,            /* RequestCancelActivityTask; the future resolves as
                                     cancelled at once (default, as in Go and sdk-core) */
    TC_CANCEL_WAIT_COMPLETED = 1, /* RequestCancelActivityTask; the future resolves when the
                                     activity reports (ActivityTaskCanceled / Completed /
                                     Failed / TimedOut) */
    TC_CANCEL_ABANDON = 2,        /* no command: the future resolves as cancelled at once, the
                                     activity runs on unaware */
} tc_activity_cancel_mode;

typedef struct tc_activity_options {
    const char *activity_id;      /* NULL = the id the official SDKs give: the event id its
                                     ActivityTaskScheduled event will have ("5", "11" ...) */
    const char *task_queue;       /* NULL = the workflow's task queue */
    int64_t schedule_to_close_ms; /* at least one of these two must be > 0 */
    int64_t start_to_close_ms;
    int64_t schedule_to_start_ms; /* 0 = unlimited */
    int64_t heartbeat_timeout_ms; /* 0 = none */
    const tc_retry_policy *retry; /* NULL = server default policy */
    tc_activity_cancel_mode cancel_mode;
    const char *const *inputs; /* several arguments (n_inputs JSON texts): used instead of the */
    size_t n_inputs;           /* input_json argument of the start calls when n_inputs > 0 */
} tc_activity_options;

/* Schedules an activity of activity_type with one JSON argument (input_json NULL: none) and
 * returns its future at once (never NULL: out of memory fails the workflow task). An invalid
 * option (no type, no timeout) fails the workflow task with the reason. Started in a
 * cancelled scope, the activity is not scheduled and the future is cancelled. */
tc_future *tc_wf_activity_start(tc_wf_ctx *ctx, const char *activity_type, const char *input_json,
                                const tc_activity_options *opts);

/* tc_wf_activity_start + tc_future_get: TC_OK / TC_ERR_FAILED / TC_ERR_CANCELLED, out filled
 * (out may be NULL). */
int tc_wf_activity(tc_wf_ctx *ctx, const char *activity_type, const char *input_json,
                   const tc_activity_options *opts, tc_wf_result *out);

/* Builds an activity's JSON argument: a malloc'd string the library frees, or NULL. */
typedef char *(*tc_wf_input_fn)(void *arg);

/* tc_wf_activity with the argument built by make_input(arg) only when the activity is really
 * scheduled: a replayed call (history already recorded it) never builds it. make_input NULL:
 * no argument. make_input returning NULL fails the workflow task (it is retried), as an
 * allocation failure should. */
int tc_wf_activity_lazy(tc_wf_ctx *ctx, const char *activity_type, tc_wf_input_fn make_input,
                        void *arg, const tc_activity_options *opts, tc_wf_result *out);

/* ---- local activities ---- */

/* A local activity runs on this worker's executor threads inside the workflow task, without a
 * round trip through the server: only its outcome is recorded, as a marker (the Go SDK's
 * "LocalActivity" marker, so Go SDK histories replay here and ours on Go). Fast steps of a
 * workflow thus complete in one workflow task. Attempts are retried locally while the backoff
 * is at most local_retry_threshold_ms, and after a durable timer (StartTimer, recorded with
 * the failed round's marker) when it is longer. While local activities run past 80 % of the
 * workflow task timeout the worker completes the task with the commands made so far and asks
 * for a new one (a heartbeat), so an activity may run for minutes. Replay never runs them
 * again: the markers answer. The activity function is registered with
 * tc_worker_register_activity like any activity; its tc_activity_heartbeat only reports a
 * cancellation (no server call). Long-running ones need the sticky cache (the default). */
typedef struct tc_local_activity_options {
    int64_t schedule_to_close_ms;        /* at least one of these two must be > 0 */
    int64_t start_to_close_ms;           /* limit of one attempt; 0 = what remains of
                                          schedule_to_close_ms */
    const tc_retry_policy *retry;        /* NULL = initial 1 s, coefficient 2, maximum 100 x
                                          initial, unlimited attempts (the server's default) */
    int64_t local_retry_threshold_ms;    /* a backoff longer than this waits on a durable timer;
                                          0 = the workflow task timeout (as the Go SDK) */
    tc_activity_cancel_mode cancel_mode; /* TRY: resolves cancelled at once and tells the
                                            attempt; WAIT_COMPLETED: resolves when the attempt
                                            returns; ABANDON: resolves at once, the attempt is
                                            not told. No command reaches the server. */
    const char *const *inputs;           /* several arguments, used instead of input_json when */
    size_t n_inputs;                     /* n_inputs > 0 */
} tc_local_activity_options;

/* Starts a local activity of activity_type with one JSON argument (NULL: none) and returns its
 * future (never NULL). It resolves TC_OK with the result, TC_ERR_FAILED (failure_type is the
 * ApplicationFailure type, "TimeoutError" or "CanceledError") or TC_ERR_CANCELLED. An invalid
 * option (no type, no timeout), or a type this worker did not register, fails the workflow
 * task with the reason. In a cancelled scope nothing runs and the future is cancelled. */
tc_future *tc_wf_local_activity_start(tc_wf_ctx *ctx, const char *activity_type,
                                      const char *input_json,
                                      const tc_local_activity_options *opts);

/* tc_wf_local_activity_start + tc_future_get. */
int tc_wf_local_activity(tc_wf_ctx *ctx, const char *activity_type, const char *input_json,
                         const tc_local_activity_options *opts, tc_wf_result *out);

/* tc_wf_local_activity with the argument built by make_input(arg) only when the activity is
 * made for the first time (a run rebuilt from history that finds the marker never builds it).
 * make_input returning NULL fails the workflow task. */
int tc_wf_local_activity_lazy(tc_wf_ctx *ctx, const char *activity_type, tc_wf_input_fn make_input,
                              void *arg, const tc_local_activity_options *opts, tc_wf_result *out);

/* ---- timers ---- */

/* Starts a durable timer (StartTimer) and returns its future; it resolves TC_OK when the timer
 * fires, TC_ERR_CANCELLED when cancelled (tc_future_cancel or the scope's cancellation).
 * duration_ms <= 0 resolves at once without a command. */
tc_future *tc_wf_timer_start(tc_wf_ctx *ctx, int64_t duration_ms);

/* tc_wf_timer_start + tc_future_get: TC_OK or TC_ERR_CANCELLED. */
int tc_wf_sleep(tc_wf_ctx *ctx, int64_t duration_ms);

/* ---- conditions ---- */

/* A condition over the workflow's own state; must not block or have side effects. */
typedef bool (*tc_wf_cond_fn)(void *arg);

/* Blocks until cond(arg) is true (checked now and after every change: each resolved event,
 * each coroutine step). Returns TC_OK, or TC_ERR_CANCELLED when the run's cancellation reaches
 * the calling coroutine (not in a detached section). */
int tc_wf_await(tc_wf_ctx *ctx, tc_wf_cond_fn cond, void *arg);

/* tc_wf_await with a durable timer of timeout_ms: TC_OK (condition true; the timer is
 * cancelled), TC_ERR_TIMEOUT (the timer fired first) or TC_ERR_CANCELLED. */
int tc_wf_await_timeout(tc_wf_ctx *ctx, int64_t timeout_ms, tc_wf_cond_fn cond, void *arg);

/* ---- signals ---- */

/* Signals are delivered in history order. A signal that arrives while nothing receives its
 * name is buffered (with its event id) until a handler is set or a receiver asks for it. */

/* A future for the next signal named `name` not yet claimed by an earlier future or handler:
 * it resolves with the signal's arguments in values / result_json and its event id. Keep and
 * reuse the future if a wait_any picked another one: each future claims one signal. */
tc_future *tc_wf_signal_next(tc_wf_ctx *ctx, const char *name);

/* tc_wf_signal_next + tc_future_get: TC_OK with *out filled, or TC_ERR_CANCELLED (run
 * cancelled). */
int tc_wf_signal_recv(tc_wf_ctx *ctx, const char *name, tc_wf_result *out);

/* A signal handler: runs in a new coroutine of its own for each signal (so it may block),
 * started in history order; `signal` is valid during the call. */
typedef void (*tc_signal_fn)(tc_wf_ctx *ctx, void *state, const char *name,
                             const tc_wf_result *signal, void *user);

/* Sets (fn non-NULL) or removes the handler of signals named `name` (NULL name: every name
 * without a handler of its own). Buffered signals of that name are handed to it at once, in
 * order. Returns TC_OK or TC_ERR_NOMEM. */
int tc_wf_set_signal_handler(tc_wf_ctx *ctx, const char *name, tc_signal_fn fn, void *user);

/* ---- queries ---- */

/* A query handler: reads the run's state (also after the workflow function returned) and
 * writes a malloc'd JSON answer to *result_json (NULL = "null"). args[0..n_args) are the
 * query's arguments as JSON, every one of them. Return TC_OK, or an error code with err->text
 * to answer the query as failed. Must not modify state or call tc_wf_*. Runs on a worker
 * thread after the workflow task's events were applied. */
typedef int (*tc_query_fn)(const void *state, const char *const *args, size_t n_args, void *user,
                           char **result_json, tc_error *err);

/* Sets (fn non-NULL) or removes a query handler from inside the workflow; it takes precedence
 * over one registered with tc_worker_register_query. An unknown query type is answered as
 * failed with "unknown queryType X. KnownQueryTypes=[...]" (the official SDKs' wording). */
int tc_wf_set_query_handler(tc_wf_ctx *ctx, const char *query_type, tc_query_fn fn, void *user);

/* ---- coroutines and cancellation ---- */

typedef void (*tc_wf_coroutine_fn)(tc_wf_ctx *ctx, void *arg);

/* Starts fn(ctx, arg) in a new workflow coroutine (like Go's workflow.Go) and returns a future
 * that resolves TC_OK when fn returns. It runs when the current coroutine blocks, in creation
 * order, and inherits the caller's detached state. */
tc_future *tc_wf_go(tc_wf_ctx *ctx, tc_wf_coroutine_fn fn, void *arg);

/* True once the run's cancellation was requested (WorkflowExecutionCancelRequested). From then
 * on, in every coroutine outside a detached section: each pending timer, activity and signal
 * future started outside a detached section is cancelled (activities per their cancel_mode),
 * starting a new one gives an already cancelled future with no command, and tc_wf_await /
 * tc_wf_sleep / tc_wf_signal_recv return TC_ERR_CANCELLED. */
bool tc_wf_cancel_requested(const tc_wf_ctx *ctx);

/* A future that resolves TC_OK when the run's cancellation is requested (for wait_any). */
tc_future *tc_wf_cancellation(tc_wf_ctx *ctx);

/* Enters / leaves a detached section of the calling coroutine (they nest): operations started
 * inside cannot be cancelled by the run's cancellation, and the blocking calls inside ignore
 * it, so cleanup (a saga's compensations) runs to its end. */
void tc_wf_detached_begin(tc_wf_ctx *ctx);
void tc_wf_detached_end(tc_wf_ctx *ctx);

/* ---- ending the run (each records how the run ends; return from the function afterwards) */

/* Completes the workflow with a JSON result (NULL = none). */
void tc_wf_complete(tc_wf_ctx *ctx, const char *result_json);
/* Fails the workflow with an ApplicationFailure{type, message, non_retryable}. */
void tc_wf_fail(tc_wf_ctx *ctx, const char *type, const char *message, bool non_retryable);
/* Ends the run as CANCELED (CancelWorkflowExecution), normally after its cancellation was
 * requested and its cleanup ran. */
void tc_wf_report_cancelled(tc_wf_ctx *ctx);

typedef struct tc_continue_options {
    const char *workflow_type; /* NULL = this run's type */
    const char *task_queue;    /* NULL = this run's task queue */
    int64_t run_timeout_ms;    /* 0 = this run's */
    int64_t task_timeout_ms;   /* 0 = this run's */
    const char *const *inputs; /* several arguments, used instead of input_json when */
    size_t n_inputs;           /* n_inputs > 0 */
} tc_continue_options;

/* Ends the run by continuing as a new run of the same workflow id (ContinueAsNewWorkflow-
 * Execution) with one JSON argument (NULL: none). opts may be NULL. */
void tc_wf_continue_as_new(tc_wf_ctx *ctx, const char *input_json, const tc_continue_options *opts);

/* A fatal error in workflow code: fails the workflow task with the message (cause
 * WORKFLOW_WORKER_UNHANDLED_FAILURE; the server retries the task, or the workflow fails under
 * TC_TASK_FAILURE_FAIL_WORKFLOW). Does not return; memory the coroutine holds is not freed. */
void tc_wf_panic(tc_wf_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- versioning ---- */

/* Patching, as the official SDKs do it (marker "core_patch", details "patch-data" =
 * {"id":..,"deprecated":..}): returns true when the run should take the new code path. A run
 * executing for the first time records a marker and gets true; a replayed run gets true only
 * if its history recorded the marker at this point (Go SDK "Version" markers for the same
 * change id count too), else false. The answer for an id is fixed for the run. */
bool tc_wf_patched(tc_wf_ctx *ctx, const char *patch_id);

/* Marks a patch whose old path was removed: records a deprecated marker on new runs and
 * tolerates its absence or presence in old histories. */
void tc_wf_deprecate_patch(tc_wf_ctx *ctx, const char *patch_id);

/* ---- search attributes and memo ---- */

/* Upserts search attributes (UpsertWorkflowSearchAttributes) from a JSON object
 * {"Name": value, ...} (null value: unset). Returns TC_OK, or TC_ERR_INVALID when json is not
 * an object (nothing recorded). */
int tc_wf_upsert_search_attributes(tc_wf_ctx *ctx, const char *json_object);
/* Upserts memo fields (ModifyWorkflowProperties) from a JSON object; null removes a field. */
int tc_wf_upsert_memo(tc_wf_ctx *ctx, const char *json_object);
/* The current value of a search attribute / memo field as JSON (the start value updated by
 * every upsert so far), or NULL when absent. */
const char *tc_wf_search_attribute(const tc_wf_ctx *ctx, const char *name);
const char *tc_wf_memo(const tc_wf_ctx *ctx, const char *name);

/* ---- deterministic values ---- */

/* Time of the current workflow task (its WorkflowTaskStarted event), Unix milliseconds. */
int64_t tc_wf_now_ms(const tc_wf_ctx *ctx);
/* A pseudo-random number from a generator seeded by the run (its first run id): the same
 * sequence on every replay. */
uint64_t tc_wf_random(tc_wf_ctx *ctx);
/* A version-4 UUID from the same generator, NUL-terminated. */
void tc_wf_uuid(tc_wf_ctx *ctx, char out[37]);

/* Computes a value once: fn(arg) returns a malloc'd JSON text (NULL: "null"), recorded in a
 * marker ("SideEffect", as the Go SDK records it); a replay returns the recorded value
 * without calling fn. *json_out is borrowed from the run. Returns TC_OK or TC_ERR_NOMEM. */
typedef char *(*tc_side_effect_fn)(void *arg);
int tc_wf_side_effect(tc_wf_ctx *ctx, tc_side_effect_fn fn, void *arg, const char **json_out);

/* ---- information and logging ---- */

size_t tc_wf_input_count(const tc_wf_ctx *ctx);
const char *tc_wf_input(const tc_wf_ctx *ctx, size_t i); /* borrowed JSON, NULL if absent */
const char *tc_wf_workflow_id(const tc_wf_ctx *ctx);
const char *tc_wf_run_id(const tc_wf_ctx *ctx);
const char *tc_wf_workflow_type(const tc_wf_ctx *ctx);
const char *tc_wf_task_queue(const tc_wf_ctx *ctx);
/* True while the code runs through events history already recorded (a workflow task that was
 * completed before, replayed after a cache miss or for a query); false in the workflow task
 * being answered. */
bool tc_wf_is_replaying(const tc_wf_ctx *ctx);

/* Logs through the worker's log callback with the run's ids; nothing while replaying. */
void tc_wf_log(tc_wf_ctx *ctx, tc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------------------------------ */
/* Worker                                                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef struct tc_worker tc_worker;

/* What a workflow task failure (non-determinism, tc_wf_panic, an invalid call, a history the
 * runtime cannot read) does. */
typedef enum tc_task_failure_policy {
    TC_TASK_FAILURE_RETRY = 0,         /* RespondWorkflowTaskFailed with the reason (visible in
                                          the UI); the server retries the task on its schedule,
                                          so deploying fixed code resumes the run */
    TC_TASK_FAILURE_FAIL_WORKFLOW = 1, /* fail the workflow (FailWorkflowExecution with the
                                          reason): the run ends FAILED */
} tc_task_failure_policy;

typedef struct tc_worker_options {
    const char *task_queue;          /* required */
    int workflow_pollers;            /* 0 = 4; with sticky on, half poll the sticky queue
                                          (at least one per queue). Each handles one task at
                                          a time, so this bounds concurrent workflow tasks. */
    int activity_pollers;            /* 0 = 2 */
    int max_concurrent_activities;   /* executor threads; 0 = 8 */
    int sticky_cache_size;           /* runs kept; 0 = 100; negative = sticky off */
    int sticky_schedule_to_start_ms; /* 0 = 10000 */
    const char *identity;            /* NULL = the client's identity */
    bool no_eager_activities;        /* false (default): activities scheduled on this worker's
                                          task queue ask for eager dispatch when an executor is
                                          free; a server with
                                          system.enableActivityEagerExecution=true (the CLI dev
                                          server's default) then returns them in the completion
                                          response and the worker runs them without polling. A
                                          server with it false ignores the request (activities
                                          are polled as usual). */
    size_t workflow_stack_size;      /* bytes of each workflow coroutine stack (plus a guard
                                        page); 0 = 256 KiB. Touched pages only use memory. */
    tc_task_failure_policy task_failure_policy; /* 0 = TC_TASK_FAILURE_RETRY */
    tc_log_fn log_fn;                           /* NULL = tc_log_stderr */
    void *log_user;
    tc_log_level log_level;    /* lines below it are dropped; 0 = TC_LOG_INFO */
    bool no_remote_activities; /* true: this worker runs workflows and local activities only:
                                  it polls no activity task queue and asks for no eager
                                  activities (activities scheduled on its queue wait for
                                  another worker) */
} tc_worker_options;

/* Creates a worker on the client (borrowed: must outlive the worker). Registration is allowed
 * until tc_worker_start. */
int tc_worker_new(tc_client *c, const tc_worker_options *o, tc_worker **out, tc_error *err);

/* Registers a workflow type. Each run owns state_size zeroed bytes of state (see
 * tc_workflow_fn). */
int tc_worker_register_workflow(tc_worker *w, const char *workflow_type, tc_workflow_fn fn,
                                size_t state_size, void *user, tc_error *err);
/* Registers a query handler for a workflow type registered before (every run of that type
 * answers it; tc_wf_set_query_handler overrides it per run). */
int tc_worker_register_query(tc_worker *w, const char *workflow_type, const char *query_type,
                             tc_query_fn fn, void *user, tc_error *err);
/* Sets the task failure policy of one registered workflow type (overrides the worker's). */
int tc_worker_set_task_failure_policy(tc_worker *w, const char *workflow_type,
                                      tc_task_failure_policy policy, tc_error *err);
/* Registers an activity type. */
int tc_worker_register_activity(tc_worker *w, const char *activity_type, tc_activity_fn fn,
                                void *user, tc_error *err);

/* Starts the poller and executor threads and returns. Threads inherit the caller's signal
 * mask. */
int tc_worker_start(tc_worker *w, tc_error *err);

/* Asks the worker to stop: no new polls. Async-signal-safe; any thread. */
void tc_worker_request_stop(tc_worker *w);

/* Graceful stop: stops polling (in-flight long polls are cancelled), lets tasks in flight
 * finish and report, joins every thread, and sends ShutdownWorker for the sticky queue.
 * Idempotent. Must not be called from a worker thread. */
void tc_worker_stop(tc_worker *w);

/* tc_worker_start, then blocks until SIGTERM or SIGINT arrives (the signals are blocked in the
 * calling thread and its workers and consumed with sigwait), then tc_worker_stop. Call from the
 * main thread before creating other threads. */
int tc_worker_run(tc_worker *w, tc_error *err);

/* Frees a stopped (or never started) worker; stops it first if needed. NULL allowed. */
void tc_worker_free(tc_worker *w);

/* Counters for tests and benchmarks (atomically read). */
typedef struct tc_worker_stats {
    uint64_t workflow_tasks;       /* workflow tasks completed or failed */
    uint64_t activity_tasks;       /* activity tasks run */
    uint64_t sticky_hits;          /* workflow tasks served from the cache */
    uint64_t sticky_misses;        /* workflow tasks that needed a full history */
    uint64_t nondeterminism;       /* tasks failed as NON_DETERMINISTIC */
    uint64_t history_refetches;    /* partial-history tasks whose run was rebuilt by fetching
                                      the full history (cache miss on a sticky task) */
    uint64_t history_pages;        /* extra history pages fetched for workflow tasks whose
                                      history did not fit the poll response */
    int64_t first_poll_us;         /* microseconds from tc_worker_start to the first poll sent */
    uint64_t eager_requested;      /* activities scheduled with request_eager_execution */
    uint64_t eager_activity_tasks; /* activity tasks the server returned eagerly (run without a
                                      poll); the rest of eager_requested were polled */
} tc_worker_stats;

void tc_worker_get_stats(const tc_worker *w, tc_worker_stats *out);

/* ------------------------------------------------------------------------------------------ */
/* Replay (no server)                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* Replays a recorded history against a workflow function through the same code path as the
 * worker on a cache miss (batches, coroutines, command matching): returns TC_OK when the code
 * makes exactly the commands the history recorded, TC_ERR_NONDETERMINISM with err->text
 * naming the event and both commands at the first disagreement, TC_ERR_TASK_FAILED when the
 * code failed the task (tc_wf_panic, an invalid call) and TC_ERR_PROTOCOL when the history
 * cannot be read (unknown event type, undecodable payload, missing or out-of-order events:
 * the text names the event id and type). state may be NULL; otherwise state_size bytes
 * receive the final workflow state. Any thread; no server. */
int tc_replay_history(const tc_history *h, tc_workflow_fn fn, void *state, size_t state_size,
                      void *user, tc_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Payloads                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Encoding used for every payload we write: metadata "encoding" = "json/plain", data = the
 * UTF-8 JSON text. Payloads we read may also be "binary/null" (decoded as "null"). */
#define TC_ENCODING_JSON "json/plain"

#ifdef __cplusplus
}
#endif
#endif /* TEMPORAL_H */
