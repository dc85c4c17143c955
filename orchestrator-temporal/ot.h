/* ot.h - orchestrator-temporal's internal interfaces: the OrderWorkflow, its activities, the
 * REST routes and the small pure helpers they share. Not a library: one program uses it. */
#ifndef OT_H
#define OT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "saga.h"
#include "saga_machine.h"
#include "temporal.h"

#define OT_WORKFLOW_TYPE "OrderWorkflow"
#define OT_QUERY_STATE   "getState"
#define OT_ID_FIELD      "workflowId"
#define OT_ID_PREFIX     "order-" /* workflow id = prefix + key, or + a uuid (ot_workflow_id_new) */

/* The patch that made runs cancellable and stuck steps visible and recorded the activity mode.
 * Runs whose history lacks its marker (started before it) keep the old path: the saga in one
 * detached section, no timer, no recorded options - so their histories still replay. */
#define OT_PATCH_V2 "saga-cancel-stuck-modes"

/* How OrderWorkflow runs its steps (ORDER_ACTIVITY_MODE). */
typedef enum ot_activity_mode {
    OT_MODE_REMOTE = 0, /* each step an activity scheduled on the server (default) */
    OT_MODE_LOCAL,      /* each step a local activity run inside the workflow task */
} ot_activity_mode;

/* Settings read once in main from the environment (docs/orchestrator-temporal.md). */
typedef struct ot_config {
    char task_queue[128];        /* TEMPORAL_TASK_QUEUE, default order-task-queue */
    char ui_url[256];            /* TEMPORAL_UI_URL, default http://127.0.0.1:21088 */
    int64_t sync_timeout_ms;     /* ORDER_SYNC_TIMEOUT_MS, default 30000 */
    int64_t activity_timeout_ms; /* ACTIVITY_START_TO_CLOSE_MS, default 30000 */
    int64_t http_timeout_ms;     /* SERVICE_CALL_TIMEOUT_MS, default 10000 (one service call) */
    int64_t stuck_after_ms;      /* SAGA_STUCK_AFTER_MS, default 60000 */
    int64_t task_timeout_ms;     /* ORDER_TASK_TIMEOUT_MS, default 10000: a run's workflow
                                    task timeout (local mode heartbeats at 80 % of it) */
    ot_activity_mode mode;       /* ORDER_ACTIVITY_MODE, default remote */
    bool worker;                 /* TEMPORAL_WORKER, default on */
    bool eager_start;            /* ORDER_EAGER_START (default on) with the embedded worker */
} ot_config;

/* ---- workflow (workflow.c) ------------------------------------------------------------------ */

/* State of an OrderWorkflow run: plain bytes the runtime zeroes when the run starts (and for a
 * replay), read by the getState query. */
typedef struct ot_wf_state {
    saga_machine_t m; /* the saga's control flow (saga_machine.h) */
    saga_state_t st;  /* orderId / paymentId learned so far */
    saga_input_t in;  /* the validated order (valid when has_input) */
    int has_input;
    int finished;       /* 1 once complete was called */
    int v2;             /* the run cancels and flags stuck steps (patch OT_PATCH_V2) */
    int local;          /* the run's steps are local activities (recorded when it started) */
    int drop_watch;     /* the run's end cancels its stuck timer (recorded when it started) */
    int cancel_ignored; /* a cancel request came once it could no longer take effect */
    int cancelled;      /* the run ended CANCELED */
    int stuck;          /* SagaStuck was upserted true for stuck_step */
    saga_step_t stuck_step;
    int64_t stuck_after_ms;            /* this run's threshold (recorded when it started) */
    int64_t since_ms[SAGA_STEP_COUNT]; /* workflow time each running step started, 0 if not */
} ot_wf_state;

/* Options every OrderWorkflow execution uses; set once by main before the worker starts. A
 * new run records the mode and the stuck threshold, so a change of either applies to new runs
 * only. metrics (borrowed, may be NULL) gets the counters the workflow keeps. */
typedef struct ot_workflow_options {
    int64_t activity_timeout_ms;
    int64_t stuck_after_ms;
    ot_activity_mode mode;
    struct metrics_registry *metrics;
} ot_workflow_options;
void ot_workflow_configure(const ot_workflow_options *o);

/* The OrderWorkflow function (tc_workflow_fn). Deterministic: only the input and activity
 * results drive it. */
void ot_order_workflow(tc_wf_ctx *ctx, void *state, void *user);

/* The getState query (tc_query_fn): {"step","phase","compensationStack","orderId",
 * "paymentId","input","cancelRequested","cancelIgnored","stepSince","stuck","activityMode"}
 * (+ "error" once the saga failed). */
int ot_query_state(const void *state, const char *const *args, size_t n_args, void *user,
                   char **result_json, tc_error *err);

/* ---- a running saga's state for the status endpoint (ot_state.c; any thread) ----------- */

/* getState's JSON of the running saga wid (info: its describe; tc borrowed) into *json
 * (malloc'd), from where it can be had without waiting for the workflow task in flight: this
 * process's live state when its worker drives the run with local steps ("worker"); else the
 * getState query, bounded to a few seconds ("query"), unless describe shows a workflow task
 * held open (a heartbeat chain: the query would wait as long as the step), and after a failed
 * query, the history recorded so far replayed here ("history"). *source names the one used.
 * Returns TC_OK or the last error (err filled). */
int ot_saga_state(tc_client *tc, const tc_workflow_info *info, const char *wid, char **json,
                  const char **source, tc_error *err);

/* ---- what this process drives now (ot_live.c; any thread) ------------------------------- */

/* A step retrying on this worker: attempts seen here, the last one's error, since when. */
typedef struct ot_retry_info {
    int attempt;
    char last_error[256];
    int64_t since_ms;       /* Unix ms of the first failed attempt seen here */
    int64_t last_failed_ms; /* Unix ms of the last failed attempt */
} ot_retry_info;

/* The saga wid runs here with this state (copied; a terminal phase forgets it). Workflow code,
 * live only. */
void ot_live_update(const char *wid, const ot_wf_state *state);
/* Copies the last state of the saga wid that runs here into *out; false when it does not run
 * here. */
bool ot_live_state(const char *wid, ot_wf_state *out);
/* The run left this worker (evicted, unwound): forget it and its retries. */
void ot_live_forget(const char *wid);
/* An attempt of step failed retryably (activities) / the step ended (workflow). */
void ot_live_retry(const char *wid, saga_step_t step, int attempt, const char *error);
void ot_live_retry_end(const char *wid, saga_step_t step);
/* Copies the retry entry of (wid, step) into *out; false when there is none (fresh). */
bool ot_live_retry_get(const char *wid, saga_step_t step, ot_retry_info *out);
/* Sagas by phase, and the age of the oldest retrying step (0: none), dropping stale entries. */
void ot_live_stats(int counts[SAGA_PHASE_COUNT], int64_t *oldest_retry_ms);
/* Frees everything (at exit, for LeakSanitizer). */
void ot_live_reset(void);

/* ---- activities (activities.c) ---------------------------------------------------------- */

struct metrics_registry;

/* Registers the ten saga activities on `w`, each running one attempt of its step through
 * `client` and counting saga_activities_total{activity,outcome} in `metrics` (both borrowed,
 * must outlive the worker; metrics may be NULL). Main thread, once, before the worker starts.
 * Returns TC_OK or an error. */
int ot_activities_register(tc_worker *w, struct saga_client *client,
                           struct metrics_registry *metrics, tc_error *err);

/* ---- REST API (routes.c) ---------------------------------------------------------------- */

struct http_server;

struct ot_waiter;

typedef struct ot_routes_ctx {
    atomic_int stopping;  /* set by ot_routes_stop on SIGTERM: synchronous waits answer 202 */
    tc_client *tc;        /* borrowed, thread-safe */
    const ot_config *cfg; /* borrowed */
    struct metrics_registry *metrics; /* borrowed */
    pthread_mutex_t mu;               /* guards waiters */
    struct ot_waiter *waiters; /* synchronous POSTs waiting for a result, cancelled on stop */
} ot_routes_ctx;

/* Initialises the fields main does not set (stopping, mu, waiters). Main thread. */
void ot_routes_init(ot_routes_ctx *ctx);

/* SIGTERM: every synchronous POST waiting for a result (and any that starts waiting later)
 * stops waiting at once and answers 202; the runs go on in Temporal. Any thread. */
void ot_routes_stop(ot_routes_ctx *ctx);

/* Releases what ot_routes_init made; no handler may still run. */
void ot_routes_destroy(ot_routes_ctx *ctx);

/* Registers POST /api/temporal/orders, POST /api/temporal/orders/async and
 * GET /api/temporal/orders/{workflowId}. ctx must outlive the server. Returns 0 or the
 * http_route error. Main thread, before the server starts. */
int ot_routes_register(struct http_server *srv, ot_routes_ctx *ctx);

/* ---- pure helpers (ot_util.c) ----------------------------------------------------------- */

/* A fresh workflow id "order-<uuid v4>". Returns 0 or -1 (no randomness available). */
int ot_workflow_id_new(char *buf, size_t cap);

/* Name of a tc_wf_status ("RUNNING", "COMPLETED", ...). */
const char *ot_status_name(int status);

#endif
