/* temporal_messaging.h - the workflow API for talking to other workflows and being talked to:
 * child workflows, signals and cancel requests to other workflows, updates. Part of temporal.h
 * (after temporal_workflow.h): include that. Failing a workflow with a whole failure (a child's
 * re-raised, details, causes) is temporal_payload.h's tc_wf_fail_future / tc_wf_fail_failure. */
#ifndef TEMPORAL_MESSAGING_H
#define TEMPORAL_MESSAGING_H

#ifndef TEMPORAL_H
#error "include temporal.h, which includes this header"
#endif

/* ---- child workflows ---- */

/* What happens to a child when its parent closes (the server applies it). */
typedef enum tc_parent_close_policy {
    TC_PARENT_CLOSE_UNSPECIFIED = 0, /* the server's default: TERMINATE */
    TC_PARENT_CLOSE_TERMINATE = 1,
    TC_PARENT_CLOSE_ABANDON = 2,
    TC_PARENT_CLOSE_REQUEST_CANCEL = 3,
} tc_parent_close_policy;

/* How cancelling a child (tc_future_cancel on its futures, or the run's cancellation) behaves:
 * the four cancellation types of the official SDKs. A child cancelled before its start command
 * was sent is never started (both futures resolve TC_ERR_CANCELLED). */
typedef enum tc_child_cancel_mode {
    TC_CHILD_CANCEL_WAIT_COMPLETED = 0, /* RequestCancelExternalWorkflowExecution; the result
                                           future resolves when the child closes, however it
                                           closes (default, as in Java, Python, TypeScript) */
    TC_CHILD_CANCEL_TRY = 1,            /* the cancel request is sent; the result future
                                           resolves TC_ERR_CANCELLED at once */
    TC_CHILD_CANCEL_WAIT_REQUESTED = 2, /* the cancel request is sent; the result future
                                           resolves TC_ERR_CANCELLED once the server recorded it
                                           (ExternalWorkflowExecutionCancelRequested), or with
                                           the child's outcome if it closed first */
    TC_CHILD_CANCEL_ABANDON = 3,        /* no request: the result future resolves
                                           TC_ERR_CANCELLED at once, the child runs on */
} tc_child_cancel_mode;

typedef struct tc_child_options {
    const char *workflow_id;      /* NULL = a UUID from tc_wf_uuid (deterministic) */
    const char *task_queue;       /* NULL = the parent's task queue */
    int64_t execution_timeout_ms; /* 0 = unlimited */
    int64_t run_timeout_ms;       /* 0 = unlimited */
    int64_t task_timeout_ms;      /* 0 = server default (10 s) */
    const tc_retry_policy *retry; /* NULL = one run, no retries */
    tc_id_reuse_policy id_reuse_policy;
    tc_parent_close_policy parent_close_policy;
    tc_child_cancel_mode cancel_mode;
    const char *memo_json;              /* a JSON object, as tc_start_options; NULL = none */
    const char *search_attributes_json; /* a JSON object, as tc_start_options; NULL = none */
    const char *cron_schedule;          /* NULL = none */
    const char *const *inputs; /* several arguments, used instead of the input_json argument */
    size_t n_inputs;           /* when n_inputs > 0 */
} tc_child_options;

/* A child workflow started by the run (StartChildWorkflowExecution). Owned by the run. */
typedef struct tc_child tc_child;

/* Starts a child workflow of workflow_type with one JSON argument (NULL: none) and returns its
 * handle at once (never NULL; opts may be NULL). A missing type or malformed memo / search
 * attribute JSON fails the workflow task with the reason. Started in a cancelled scope, nothing
 * is started and both futures are cancelled. */
tc_child *tc_wf_child_start(tc_wf_ctx *ctx, const char *workflow_type, const char *input_json,
                            const tc_child_options *opts);

/* Resolves when the child's start is known: TC_OK (ChildWorkflowExecutionStarted; result_json
 * is the child's run id as a JSON string), TC_ERR_FAILED (StartChildWorkflowExecutionFailed:
 * failure_type "WorkflowExecutionAlreadyStarted" when the id is taken, "NamespaceNotFound")
 * or TC_ERR_CANCELLED (cancelled before it was sent). */
tc_future *tc_child_started(tc_child *ch);

/* Resolves when the child closes: TC_OK with its result; TC_ERR_FAILED with the child's
 * failure (its ApplicationFailure type, or "TimeoutError" / "TerminatedError", or the start's
 * failure); TC_ERR_CANCELLED when it was cancelled (or per the cancel mode). */
tc_future *tc_child_result(tc_child *ch);

/* The child's workflow id (borrowed from the run) and its run id ("" until it started). */
const char *tc_child_workflow_id(const tc_child *ch);
const char *tc_child_run_id(const tc_child *ch);

/* Signals the child (SignalExternalWorkflowExecution with child_workflow_only) with one JSON
 * argument (NULL: none). Blocks the calling coroutine until the child started, as the Go SDK
 * does; returns a future like tc_wf_signal_external's (failed with the start's failure when
 * the child never started). */
tc_future *tc_child_signal(tc_wf_ctx *ctx, tc_child *ch, const char *signal_name,
                           const char *input_json);

/* tc_wf_child_start + tc_future_get(result): TC_OK / TC_ERR_FAILED / TC_ERR_CANCELLED. */
int tc_wf_child(tc_wf_ctx *ctx, const char *workflow_type, const char *input_json,
                const tc_child_options *opts, tc_wf_result *out);

/* ---- other workflows ---- */

/* Signals another workflow (SignalExternalWorkflowExecution; run_id NULL or "": its current
 * run) with one JSON argument (NULL: none), or with args[0..n_args) for the _args form. The
 * future resolves TC_OK once the server delivered it (ExternalWorkflowExecutionSignaled) or
 * TC_ERR_FAILED (SignalExternalWorkflowExecutionFailed: failure_type
 * "ExternalWorkflowExecutionNotFound", "NamespaceNotFound", "SignalCountLimitExceeded").
 * Cancelling the future before the command was sent drops it; afterwards the future resolves
 * TC_ERR_CANCELLED and the signal still goes out. A missing workflow id or signal name fails the
 * workflow task. */
tc_future *tc_wf_signal_external(tc_wf_ctx *ctx, const char *workflow_id, const char *run_id,
                                 const char *signal_name, const char *input_json);
tc_future *tc_wf_signal_external_args(tc_wf_ctx *ctx, const char *workflow_id, const char *run_id,
                                      const char *signal_name, const char *const *args,
                                      size_t n_args);

/* Requests cancellation of another workflow (RequestCancelExternalWorkflowExecution). The
 * future resolves TC_OK once the request was recorded in that workflow
 * (ExternalWorkflowExecutionCancelRequested) or TC_ERR_FAILED
 * (RequestCancelExternalWorkflowExecutionFailed: "ExternalWorkflowExecutionNotFound" ...). */
tc_future *tc_wf_cancel_external(tc_wf_ctx *ctx, const char *workflow_id, const char *run_id);

/* ---- updates ---- */

/* An update request as its handler and validator see it; valid during the call (the strings
 * stay valid until the run ends). */
typedef struct tc_update_info {
    const char *id;   /* the update id (the client's, or one the server made) */
    const char *name; /* the update name */
    size_t n_args;    /* its arguments as JSON texts */
    const char *const *args;
} tc_update_info;

/* Why a validator rejected an update: written by the validator. */
typedef struct tc_update_reject {
    char type[128];    /* ApplicationFailure type; "" = "UpdateRejected" */
    char message[512]; /* "" = "update rejected by its validator" */
} tc_update_reject;

/* A validator: runs before the update is accepted, only when the request is new (never on
 * replay, so validation may change between versions). Returns true to accept; false rejects
 * the update with *reject (no event is written). Must not block, change state or call tc_wf_*. */
typedef bool (*tc_update_validator_fn)(const void *state, const tc_update_info *u, void *user,
                                       tc_update_reject *reject);

/* An update handler: runs in a coroutine of its own after the update was accepted (so it may
 * block: activities, timers, conditions), in history order. It ends the update with
 * tc_wf_update_complete / tc_wf_update_fail (the first call wins; returning without either
 * completes it with no result). */
typedef void (*tc_update_fn)(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user);

/* Sets (fn non-NULL) or removes the handler of updates named `name`; it takes precedence over
 * one registered with tc_worker_register_update. An update whose name has no handler when the
 * workflow task's code has run (all coroutines blocked) is rejected with "unknown update X.
 * KnownUpdates=[...]". Requests are deduplicated by update id: one already accepted in this
 * run never runs its handler again. Returns TC_OK, TC_ERR_INVALID (no name) or TC_ERR_NOMEM. */
int tc_wf_set_update_handler(tc_wf_ctx *ctx, const char *name, tc_update_fn fn,
                             tc_update_validator_fn validator, void *user);

/* From an update handler's coroutine: completes the update with a JSON result (NULL: none) or
 * fails it with an ApplicationFailure{type, message, non_retryable} (the client gets the
 * failure; the workflow goes on). TC_OK, or TC_ERR_STATE when ctx is not an update handler's
 * or its update already ended. */
int tc_wf_update_complete(tc_wf_ctx *ctx, const char *result_json);
int tc_wf_update_fail(tc_wf_ctx *ctx, const char *type, const char *message, bool non_retryable);

/* ---- information ---- */

/* The run's attempt (1 on the first; a retried run, e.g. a child with a retry policy, more). */
int tc_wf_attempt(const tc_wf_ctx *ctx);

#endif
