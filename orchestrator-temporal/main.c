/* main.c - orchestrator-temporal wiring: config, the saga client, the Temporal client and the
 * embedded worker (OrderWorkflow + ten activities), the REST API, and an orderly stop.
 * No saga logic and no HTTP handling here. */
#include "ot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_app.h"
#include "cm_config.h"
#include "cm_log.h"

#define OT_DEFAULT_PORT 21081
#define OT_DRAIN_MS     10000 /* HTTP drain on SIGTERM, as common's app_run */
/* A synchronous POST holds an HTTP thread while its saga runs: more threads than the common
 * default of 8 so 20+ concurrent orders do not queue behind each other. */
#define OT_DEFAULT_HTTP_THREADS "32"

static void load_config(ot_config *cfg)
{
    snprintf(cfg->task_queue, sizeof cfg->task_queue, "%s",
             cfg_str("TEMPORAL_TASK_QUEUE", "order-task-queue"));
    snprintf(cfg->ui_url, sizeof cfg->ui_url, "%s",
             cfg_str("TEMPORAL_UI_URL", "http://127.0.0.1:21088"));
    cfg->sync_timeout_ms = cfg_int("ORDER_SYNC_TIMEOUT_MS", 30000, 1, 3600000);
    cfg->activity_timeout_ms = cfg_int("ACTIVITY_START_TO_CLOSE_MS", 30000, 1000, 3600000);
    cfg->http_timeout_ms = cfg_int("SERVICE_CALL_TIMEOUT_MS", 10000, 100, 600000);
}

/* The Temporal library's log lines as common's JSON lines (one object per line, rate-limited
 * like every warning): its level, its text, and the run's workflow id as the line's saga_id
 * (the workflow id is the saga id). Any thread, coroutines included; never calls back into the
 * library. */
static void log_temporal(const tc_log_record *rec, void *user)
{
    (void)user;
    cm_log_level level = rec->level == TC_LOG_DEBUG  ? CM_LOG_DEBUG
                         : rec->level == TC_LOG_INFO ? CM_LOG_INFO
                         : rec->level == TC_LOG_WARN ? CM_LOG_WARN
                                                     : CM_LOG_ERROR;
    char saved[128] = "";
    const char *had = log_saga_id();
    if (had != NULL)
        snprintf(saved, sizeof saved, "%s", had);
    if (rec->workflow_id != NULL)
        log_set_saga_id(rec->workflow_id);
    if (rec->run_id != NULL)
        log_msg(level, "temporal: %s (run %s)", rec->message, rec->run_id);
    else
        log_msg(level, "temporal: %s", rec->message);
    log_set_saga_id(saved[0] ? saved : NULL);
}

/* GET /ready: the Temporal frontend answers. */
static int temporal_ready(void *ctx, char *detail, size_t n)
{
    tc_error err;
    if (tc_client_wait_ready(ctx, 1000, &err) == TC_OK)
        return 0;
    log_warn("temporal not ready: %s", err.text);
    snprintf(detail, n, "temporal unreachable");
    return -1;
}

/* GET /metrics: the embedded worker's metrics (calls, polls, task latencies, slots, sticky
 * cache) after the daemon's own; none once the worker stopped. */
static char *worker_metrics(void *ctx)
{
    char *text = NULL;
    tc_error err;
    return tc_worker_metrics_text(ctx, &text, &err) == TC_OK ? text : NULL;
}

static void stop_worker(void *ctx)
{
    tc_worker_stats st;
    tc_worker_stop(ctx);
    tc_worker_get_stats(ctx, &st);
    /* One line for benchmarks and post-mortems: how much replay the sticky cache saved. */
    log_info("worker stopped: workflow_tasks=%llu activity_tasks=%llu sticky_hits=%llu "
             "sticky_misses=%llu nondeterminism=%llu",
             (unsigned long long)st.workflow_tasks, (unsigned long long)st.activity_tasks,
             (unsigned long long)st.sticky_hits, (unsigned long long)st.sticky_misses,
             (unsigned long long)st.nondeterminism);
}

static int make_worker(tc_client *tc, const ot_config *cfg, struct saga_client *sc,
                       metrics_registry *metrics, tc_worker **out)
{
    tc_error err;
    tc_worker_options wo = {
        .task_queue = cfg->task_queue,
        .workflow_pollers = (int)cfg_int("WORKER_WORKFLOW_POLLERS", 4, 1, 64),
        .activity_pollers = (int)cfg_int("WORKER_ACTIVITY_POLLERS", 4, 1, 64),
        .max_concurrent_activities = (int)cfg_int("WORKER_MAX_ACTIVITIES", 8, 1, 256),
        .sticky_cache_size = (int)cfg_int("WORKER_STICKY_CACHE", 100, -1, 100000),
        .sticky_schedule_to_start_ms =
            (int)cfg_int("WORKER_STICKY_TIMEOUT_MS", 10000, 1000, 600000),
    };
    if (wo.sticky_cache_size == 0)
        wo.sticky_cache_size = -1; /* 0 means "off" here; the library's 0 means its default */
    tc_worker *w = NULL;
    int rc = tc_worker_new(tc, &wo, &w, &err);
    if (rc == TC_OK)
        rc = tc_worker_register_workflow(w, OT_WORKFLOW_TYPE, ot_order_workflow,
                                         sizeof(ot_wf_state), NULL, &err);
    if (rc == TC_OK)
        rc = tc_worker_register_query(w, OT_WORKFLOW_TYPE, OT_QUERY_STATE, ot_query_state, NULL,
                                      &err);
    if (rc == TC_OK)
        rc = ot_activities_register(w, sc, metrics, &err);
    if (rc == TC_OK)
        rc = tc_worker_start(w, &err);
    if (rc != TC_OK) {
        log_error("temporal worker on %s: %s", cfg->task_queue, err.text);
        tc_worker_free(w);
        return rc;
    }
    *out = w;
    return TC_OK;
}

/* app_run's sequence plus the step it lacks: between the signal and the HTTP drain, tell
 * synchronous POSTs to stop waiting (they answer 202 at their next slice) so a stop never waits
 * out ORDER_SYNC_TIMEOUT_MS. Then drain HTTP, then stop the worker (in-flight tasks finish and
 * report). app_new blocked SIGTERM/SIGINT in every thread, so sigwait here receives them. */
static int run_until_signal(app *a, ot_routes_ctx *routes, tc_worker *w)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (http_server_start(app_server(a)) != 0) {
        log_error("cannot listen on port %d", app_config(a)->port);
        return 1;
    }
    log_info("listening on port %d", app_config(a)->port);
    while (sigwait(&set, &sig) != 0) {
    }
    log_info("signal %d: draining", sig);
    ot_routes_stop(routes);
    http_server_stop(app_server(a), OT_DRAIN_MS);
    stop_worker(w);
    log_info("stopped");
    return 0;
}

int main(void)
{
    app *a = NULL;
    tc_client *tc = NULL;
    tc_worker *w = NULL;
    struct saga_client *sc = NULL;
    ot_config cfg = {0};
    tc_error err;
    int rc = 1;

    setenv("HTTP_THREADS", OT_DEFAULT_HTTP_THREADS, 0); /* only when unset */
    if (app_new(&a, "orchestrator-temporal", OT_DEFAULT_PORT, NULL) != 0)
        return 1;
    auth *au; /* only checked here: the saga client sends SERVICE_TOKEN to the services */
    if (app_auth(a, AUTH_SERVICE, &au) != 0)
        goto out;
    load_config(&cfg);
    ot_workflow_configure(cfg.activity_timeout_ms);

    saga_client_config_t scfg = {
        .order_url = cfg_str("ORDER_SERVICE_URL", "http://127.0.0.1:21082"),
        .inventory_url = cfg_str("INVENTORY_SERVICE_URL", "http://127.0.0.1:21083"),
        .payment_url = cfg_str("PAYMENT_SERVICE_URL", "http://127.0.0.1:21084"),
        .timeout_ms = (long)cfg.http_timeout_ms,
        .service_token = cfg_str("SERVICE_TOKEN", NULL),
    };
    sc = saga_client_new(&scfg);
    if (sc == NULL) {
        log_error("saga client: bad service URLs or out of memory");
        goto out;
    }
    /* TEMPORAL_ADDRESS, _NAMESPACE, _TLS*, _API_KEY, _GRPC_META, _GRPC_PROXY, _RPC_* */
    tc_client_options tco = {.log_fn = log_temporal};
    if (tc_client_options_from_env(&tco, &err) != TC_OK ||
        tc_client_new(&tco, &tc, &err) != TC_OK) {
        log_error("temporal client: %s", err.text);
        goto out;
    }
    /* Not fatal and not waited for: pollers retry, /ready reports the outage, requests answer
     * 503 meanwhile, and /health is up at once. */
    if (tc_client_wait_ready(tc, 1000, &err) != TC_OK)
        log_warn("temporal not ready yet: %s", err.text);
    if (make_worker(tc, &cfg, sc, app_metrics(a), &w) != TC_OK)
        goto out;

    ot_routes_ctx routes = {.tc = tc, .cfg = &cfg, .metrics = app_metrics(a)};
    ot_routes_init(&routes);
    if (ot_routes_register(app_server(a), &routes) != 0) {
        log_error("route registration failed");
        ot_routes_destroy(&routes);
        goto out;
    }
    app_set_ready(a, temporal_ready, tc);
    app_set_metrics_extra(a, worker_metrics, w); /* the worker's temporal_* metrics */
    log_info("worker polling task queue %s as %s", cfg.task_queue, tc_client_identity(tc));
    rc = run_until_signal(a, &routes, w);
    ot_routes_destroy(&routes);
out:
    tc_worker_free(w);
    tc_client_free(tc);
    saga_client_free(sc);
    app_free(a);
    return rc;
}
