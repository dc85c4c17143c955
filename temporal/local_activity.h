/* local_activity.h - local activities, private to the library: the run's side (futures, markers,
 * replay, cancel modes, durable backoff) and the worker's side (attempts on executor threads
 * inside the workflow task, retries, timeouts, workflow task heartbeats). Not public. */
#ifndef TEMPORAL_LOCAL_ACTIVITY_H
#define TEMPORAL_LOCAL_ACTIVITY_H

#include "wf_run.h"

#include <stdatomic.h>

/* The marker a local activity's outcome is recorded in, as the Go SDK records it: name
 * "LocalActivity", details "data" = {"ActivityID","ActivityType","ReplayTime","Attempt",
 * "Backoff"} (json/plain; Backoff in nanoseconds) and "result" = the result payloads, the
 * failure in the marker's failure field. */
#define TC_LA_MARKER      "LocalActivity"
#define TC_LA_CORE_MARKER "core_local_activity" /* sdk-core's name: recognised, not replayed */

/* A retry policy as applied locally (defaults filled in). */
typedef struct tc_la_policy {
    int64_t initial_ms;
    double coefficient;
    int64_t maximum_ms;
    int maximum_attempts; /* 0 = unlimited */
    char **non_retryable; /* owned */
    size_t n_non_retryable;
} tc_la_policy;

/* What a failed attempt leads to (tc_la_retry_decide). */
enum { LA_RETRY_NONE = 0, LA_RETRY_LOCAL, LA_RETRY_TIMER };

/* Decides what follows the failed attempt `attempt` (1-based) of a local activity: no retry
 * (non-retryable failure or type, a cancellation, attempts or schedule_to_close exhausted),
 * a local retry after *backoff_ms (backoff <= threshold_ms), or a retry after a durable timer
 * of *backoff_ms. elapsed_ms: since the original schedule; schedule_to_close_ms 0 = none.
 * Pure function. */
int tc_la_retry_decide(const tc_la_policy *p, int attempt, const char *failure_type,
                       bool non_retryable, bool timeout_final, int64_t elapsed_ms,
                       int64_t schedule_to_close_ms, int64_t threshold_ms, int64_t *backoff_ms);

/* The "data" detail of a local activity marker. */
typedef struct tc_la_marker {
    char *activity_id, *activity_type; /* owned */
    int attempt;
    int64_t backoff_ms;     /* > 0: the next attempt follows a durable timer of this length */
    int64_t replay_time_ms; /* Unix ms; 0 when absent */
    bool core;              /* sdk-core's marker */
} tc_la_marker;

/* Go's JSON for m (malloc'd), NULL out of memory. */
char *tc_la_marker_json(const tc_la_marker *m);
/* Reads the "data" detail of a local activity marker event (either SDK's). Returns TC_OK, or
 * TC_ERR_PROTOCOL with the reason. Strings in m are owned (tc_la_marker_clear). */
int tc_la_marker_parse(const tc_pb_event *ev, tc_la_marker *m, tc_error *err);
void tc_la_marker_clear(tc_la_marker *m);
/* True when ev is a MarkerRecorded of a local activity (either SDK's name). */
bool tc_la_is_marker(const tc_pb_event *ev);

/* ---- one local activity of a run (all its attempts and timer-backed rounds) ---- */

enum {
    LA_NEW = 0,    /* made by the code running now: not handed to the worker yet */
    LA_DISPATCHED, /* handed over: the worker runs it (live) or a marker will resolve it */
    LA_BACKOFF,    /* waiting on a durable backoff timer before the next round */
    LA_RESOLVED,   /* its future is resolved; nothing more happens */
};

/* Outcome of an activity function run for a local activity (activity_task.c fills it). */
enum { LA_OUT_NONE = 0, LA_OUT_OK, LA_OUT_FAILED, LA_OUT_CANCELLED };
typedef struct tc_la_outcome {
    int kind;     /* LA_OUT_* */
    char *result; /* LA_OUT_OK: JSON or NULL (no result) */
    char *ftype, *fmsg;
    bool non_retryable;
    uint8_t *failure; /* LA_OUT_FAILED by tc_activity_fail_failure: the packed Failure */
    size_t failure_len;
} tc_la_outcome;

/* An attempt running on an executor thread, shared by the run and the executor
 * (local_activity_attempt.c). */
typedef struct tc_la_exec {
    int refs; /* under w->lmu: the run's and the executor's */
    struct tc_worker *w;
    char *type, *id, *workflow_id, *run_id, *workflow_type;
    char **inputs;
    size_t n_inputs;
    int attempt;
    int64_t deadline_us; /* monotonic time the attempt times out at */
    bool deadline_final; /* that deadline is schedule-to-close: no retry after it */
    atomic_bool cancel;
    bool done;              /* under w->lmu */
    pthread_cond_t *waiter; /* under w->lmu: the condvar of the task thread waiting for it now,
                               or NULL; broadcast after unlocking */
    tc_la_outcome out;      /* written before done is set */
} tc_la_exec;

typedef struct tc_la {
    tc_cmd handle; /* what the future's cmd points at, for tc_future_cancel's cancel hook; it is
                      never queued or sent */
    tc_run *run;
    char id[24]; /* the current round's ActivityID ("1", "2" ...) */
    char *type;
    char **inputs;
    size_t n_inputs;
    tc_wf_input_fn make; /* lazy input, built when first needed (its caller is blocked on the
                            future, so make_arg stays valid) */
    void *make_arg;
    int64_t schedule_to_close_ms, start_to_close_ms, threshold_ms;
    tc_la_policy retry;
    int cancel_mode; /* tc_activity_cancel_mode */
    int state;       /* LA_* */
    int attempt;     /* the round's first attempt */
    bool cancel_requested, detached;
    bool settle_before_close; /* tc_local_activity_options' */
    tc_future *fut;
    /* durable backoff between rounds */
    int64_t backoff_ms;
    tc_wf_ctx *bctx;
    tc_future *timer;
    /* worker side (live only) */
    tc_la_exec *exec;        /* the attempt running, or NULL */
    int run_attempt;         /* attempt number of exec / of the next local retry */
    int64_t due_us;          /* > 0: a local retry is due at this monotonic time */
    int64_t scheduled_wall;  /* Unix ms of the first attempt (schedule_to_close) */
    bool shutdown_cancelled; /* the worker's stop cancelled it: no marker, run it again later */
} tc_la;

typedef struct tc_la_set {
    tc_la **v;
    size_t n, cap;
    uint64_t seq;          /* last ActivityID handed out */
    int64_t last_marker;   /* replay: event id of the last marker applied */
    int64_t task_start_us; /* live: when the workflow task being answered arrived */
} tc_la_set;

/* ---- run side (cmd_local_activity.c) ---- */

tc_future *tc_la_start(tc_wf_ctx *ctx, const char *type, const char *const *inputs, size_t n,
                       tc_wf_input_fn make, void *make_arg, const tc_local_activity_options *o);
/* Builds a lazy input (la->make) into la->inputs; failing, fails the run's task. */
int tc_la_build_input(tc_run *r, tc_la *la);
/* After each run of the workflow code: local activities made by it are handed over
 * (LA_NEW -> LA_DISPATCHED); replaying, the local activity markers the task recorded are
 * applied in history order, each resolving its local activity and running the code again.
 * Hook of run_events.c's activations. */
void tc_la_after_code(tc_run *r);
/* The run's cancellation: every local activity outside a detached section is cancelled per
 * its cancel mode. Hook of run_events.c. */
void tc_la_cancel_run(tc_run *r);

/* Live results (the worker, on the task's thread): each records the marker, resolves the
 * future and runs the workflow code. */
void tc_la_complete(tc_run *r, tc_la *la, int attempt, const char *result_json);
/* A final failure (backoff_ms 0) or a failure followed by a durable timer (backoff_ms > 0);
 * failure is the packed Failure recorded in the marker. */
void tc_la_fail(tc_run *r, tc_la *la, int attempt, const tc_pb_failure *failure,
                int64_t backoff_ms);
/* The attempt acknowledged a cancellation requested by the code (wait-cancellation-completed
 * mode) or ended after it: resolves as cancelled with its marker. */
void tc_la_cancelled(tc_run *r, tc_la *la, int attempt);
/* Runs the code after a resolution and emits the closing command if it chose one. */
void tc_la_run_code(tc_run *r);

/* ---- attempts (local_activity_attempt.c) ---- */

/* Frees the run's local activities; attempts still running are told to cancel (abandoned
 * ones are not) and their results discarded. Hook of tc_run_free, after the coroutines are
 * unwound. */
void tc_la_free_all(tc_run *r);
/* Frees an attempt no one references. */
void tc_la_exec_free(tc_la_exec *x);

/* ---- worker side (local_activity_exec.c) ---- */

struct tc_worker;
/* A task thread waiting for its run's attempts: its thread's condvar (monotonic clock), which
 * only those attempts signal, and its place in the worker's list (for a stop). Under w->lmu. */
typedef struct tc_la_waiter {
    pthread_cond_t *cv; /* lives as long as the process: an attempt signals it after unlocking */
    struct tc_la_waiter *prev, *next;
} tc_la_waiter;
/* Sets up / tears down the worker's local activity wait (its mutex). */
int tc_la_worker_init(struct tc_worker *w);
void tc_la_worker_destroy(struct tc_worker *w);
/* Wakes every task waiting for local activities (the worker is stopping). */
void tc_la_worker_wake(struct tc_worker *w);
/* Runs the run's local activities inside the workflow task the server started no earlier than
 * task_start_us (its arrival, or for a task handed back, when the answer asking for it left):
 * attempts on executor threads, retries, timeouts, results applied in completion order. Returns
 * when none is left to run, the run ended or failed, or the task must be answered before its
 * timeout (then r->force_new_task asks the server for a new workflow task: a heartbeat).
 * Called by the task's thread after the task's events were applied. */
void tc_la_drive(struct tc_worker *w, tc_run *r, int64_t task_start_us);
/* activity_task.c: runs the registered function of t as a local activity's attempt: the
 * outcome goes to *out (strings owned by it) instead of the server, and a heartbeat only
 * reports *cancel. */
void tc_activity_run_local(
    struct tc_worker *w, const Temporal__Api__Workflowservice__V1__PollActivityTaskQueueResponse *t,
    const atomic_bool *cancel, tc_la_outcome *out);
/* Executors: runs one attempt and hands its outcome to the waiting task. */
void tc_la_exec_run(struct tc_worker *w, tc_la_exec *x);
/* Tells a running attempt that its cancellation was requested (tc_activity_heartbeat and
 * tc_activity_cancel_requested report it). */
void tc_la_exec_cancel(tc_la_exec *x);
/* Drops the run's reference to an attempt (its result will be discarded), telling it to
 * cancel when cancel is true. */
void tc_la_exec_release(tc_la_exec *x, bool cancel);

#endif
