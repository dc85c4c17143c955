/* temporal_workflow.h - the workflow part of the public API of the Temporal C bridge (futures,
 * timers, signals, queries, cancellation, versioning ...). Part of temporal.h: include that. */
#ifndef TEMPORAL_WORKFLOW_H
#define TEMPORAL_WORKFLOW_H

#ifndef TEMPORAL_H
#error "include temporal.h, which includes this header"
#endif

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
 * the run), unless said otherwise. Only the coroutine a tc_wf_ctx was given to may use it.
 *
 * Unwinding: when a run leaves the worker (evicted from the sticky cache, replay finished,
 * task failed) its suspended coroutines are resumed once more with every blocking call
 * returning TC_ERR_CANCELLED at once: return promptly, freeing what you hold, as on any
 * error path. Nothing done then is recorded. */

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
 * was called, completed with no result); one of those called from another coroutine ends it
 * as soon as that coroutine blocks or returns. Coroutines still blocked then are abandoned
 * (unwound as above). */
typedef void (*tc_workflow_fn)(tc_wf_ctx *ctx, void *state, void *user);

/* Which timeout ended an activity (temporal.api.enums.v1.TimeoutType). */
typedef enum tc_timeout_type {
    TC_TIMEOUT_NONE = 0, /* not a timeout */
    TC_TIMEOUT_START_TO_CLOSE = 1,
    TC_TIMEOUT_SCHEDULE_TO_START = 2,
    TC_TIMEOUT_SCHEDULE_TO_CLOSE = 3,
    TC_TIMEOUT_HEARTBEAT = 4,
} tc_timeout_type;

/* What an operation resolved with. Strings are borrowed from the run. */
typedef struct tc_wf_result {
    const char *result_json;     /* success: the first value ("null" when there is none) */
    const char *failure_type;    /* failure: ApplicationFailure type ("" when the failure has
                                    none), or "TimeoutError", "CanceledError",
                                    "TerminatedError", "ActivityError" */
    const char *failure_message; /* failure */
    bool non_retryable;          /* failure: the failure said non_retryable */
    size_t n_values;             /* success: every value (a signal's arguments) */
    const char *const *values;
    int64_t event_id; /* the history event that resolved it (0: resolved without one, e.g.
                         a try-cancelled activity) */
    tc_timeout_type timeout_type; /* failure_type "TimeoutError" of an activity: which one */
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

/* tc_wf_activity with the argument built by make_input(arg) when the call is made (once per
 * execution of the workflow function: a replay after a cache miss builds it again, because a
 * command that history turns out not to have recorded is sent with the live task).
 * make_input NULL: no argument. make_input returning NULL fails the workflow task (it is
 * retried), as an allocation failure should. */
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
 * cancellation (no server call). A run keeps its attempts across heartbeats with or without the
 * sticky cache. */
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
    /* When this activity's marker is made in the workflow task in which the run ends, the
     * closing command waits for the next task (one more task, handed back with the answer).
     * The server refuses to close a run while an event that came during the task (a cancel
     * request, a signal) is pending: it fails the task (UnhandledCommand), the task's
     * markers are lost, and the activity runs again in a task that sees that event first -
     * as if it had come before the activity's effects. With this set the markers are
     * recorded first and the event after them. */
    bool settle_before_close;
    const char *const *inputs; /* several arguments, used instead of input_json when */
    size_t n_inputs;           /* n_inputs > 0 */
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
 * Execution) with one JSON argument (NULL: none). opts may be NULL. The new run starts with
 * this run's memo and search attributes as they are now (start values and upserts), as the Go
 * SDK carries them over. */
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

/* The run as its WorkflowExecutionStarted event describes it (Go's workflow.GetInfo). Strings
 * are borrowed from the run; NULL where history has none. */
typedef struct tc_wf_info {
    const char *workflow_id, *run_id, *workflow_type, *task_queue;
    int attempt;                  /* 1 on the first (a retried run counts up) */
    const char *first_run_id;     /* the first run of this chain of runs */
    const char *continued_run_id; /* the run this one continues (continue-as-new, retry, cron);
                                     NULL on a first run */
    const char *original_run_id;  /* the run a reset started from, NULL when none */
    const char *parent_namespace, *parent_workflow_id, *parent_run_id; /* a child's parent */
    const char *root_workflow_id, *root_run_id; /* the root of a tree of children, NULL on a
                                                   root itself */
    const char *cron_schedule;                  /* a cron workflow's schedule, else NULL */
    const char *memo_json;              /* the memo the run started with, a JSON object ("{}") */
    const char *search_attributes_json; /* its search attributes at start, a JSON object */
    int64_t execution_timeout_ms, run_timeout_ms, task_timeout_ms; /* 0: none / default */
    int64_t start_time_ms; /* the started event's time, Unix milliseconds */
} tc_wf_info;

/* Fills *out (never fails; before the first event every field is zero). */
void tc_wf_get_info(const tc_wf_ctx *ctx, tc_wf_info *out);

/* The run id of the run this one continues (WorkflowExecutionStartedEventAttributes.
 * continued_execution_run_id): NULL on a first run. Borrowed. */
const char *tc_wf_continued_run_id(const tc_wf_ctx *ctx);
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

#endif /* TEMPORAL_WORKFLOW_H */
