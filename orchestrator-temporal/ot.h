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

/* Settings read once in main from the environment (docs/orchestrator-temporal.md). */
typedef struct ot_config {
    char task_queue[128];        /* TEMPORAL_TASK_QUEUE, default order-task-queue */
    char ui_url[256];            /* TEMPORAL_UI_URL, default http://127.0.0.1:21088 */
    int64_t sync_timeout_ms;     /* ORDER_SYNC_TIMEOUT_MS, default 30000 */
    int64_t activity_timeout_ms; /* ACTIVITY_START_TO_CLOSE_MS, default 30000 */
    int64_t http_timeout_ms;     /* SERVICE_CALL_TIMEOUT_MS, default 10000 (one service call) */
} ot_config;

/* ---- workflow (workflow.c) ------------------------------------------------------------------ */

/* State of an OrderWorkflow run: plain bytes the runtime zeroes when the run starts (and for a
 * replay), read by the getState query. */
typedef struct ot_wf_state {
    saga_machine_t m; /* the saga's control flow (saga_machine.h) */
    saga_state_t st;  /* orderId / paymentId learned so far */
    saga_input_t in;  /* the validated order (valid when has_input) */
    int has_input;
    int finished; /* 1 once complete was called */
} ot_wf_state;

/* Options every OrderWorkflow execution uses; set once by main before the worker starts. */
void ot_workflow_configure(int64_t activity_timeout_ms);

/* The OrderWorkflow function (tc_workflow_fn). Deterministic: only the input and activity
 * results drive it. */
void ot_order_workflow(tc_wf_ctx *ctx, void *state, void *user);

/* The getState query (tc_query_fn): {"step","phase","compensationStack","orderId",
 * "paymentId","input"} (+ "error" once the saga failed). */
int ot_query_state(const void *state, const char *const *args, size_t n_args, void *user,
                   char **result_json, tc_error *err);

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
