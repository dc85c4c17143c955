/* main.c - orchestrator-temporal wiring: config, the saga client, the Temporal client and the
 * embedded worker (OrderWorkflow + ten activities), the REST API, and an orderly stop.
 * No saga logic and no HTTP handling here. */
#include "ot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cm_app.h"
#include "cm_config.h"
#include "cm_log.h"
#include "cm_metrics.h"

#define OT_DEFAULT_PORT 21081
#define OT_DRAIN_MS     10000 /* HTTP drain on SIGTERM, as common's app_run */
/* A synchronous POST holds an HTTP thread while its saga runs: more threads than the common
 * default of 8 so 20+ concurrent orders do not queue behind each other. */
#define OT_DEFAULT_HTTP_THREADS "32"
/* Workflow pollers: a poller thread runs each task it receives to its end, and with local
 * activities a task is a whole saga, so the pollers (and as many eager start slots) bound the
 * sagas in progress. Measured at 32 in flight: 4 pollers leave most new runs queued on the
 * server for seconds, 16 do not. */
#define OT_REMOTE_WF_POLLERS 4
#define OT_LOCAL_WF_POLLERS  16

/* A switch given as a word: v (the variable's value, or its default) is one of the two names
 * (any case). Returns 0/1, or -1 (logged) for any other value, so a typo refuses to start. */
static int cfg_word(const char *name, const char *v, const char *off, const char *on)
{
    if (strcasecmp(v, off) == 0)
        return 0;
    if (strcasecmp(v, on) == 0)
        return 1;
    log_error("%s must be %s or %s, not '%s'", name, off, on, v);
    return -1;
}

/* Reads the settings; returns -1 (logged) when a value is refused. */
static int load_config(ot_config *cfg)
{
    snprintf(cfg->task_queue, sizeof cfg->task_queue, "%s",
             cfg_str("TEMPORAL_TASK_QUEUE", "order-task-queue"));
    snprintf(cfg->ui_url, sizeof cfg->ui_url, "%s",
             cfg_str("TEMPORAL_UI_URL", "http://127.0.0.1:21088"));
    cfg->sync_timeout_ms = cfg_int("ORDER_SYNC_TIMEOUT_MS", 30000, 1, 3600000);
    cfg->activity_timeout_ms = cfg_int("ACTIVITY_START_TO_CLOSE_MS", 30000, 1000, 3600000);
    cfg->http_timeout_ms = cfg_int("SERVICE_CALL_TIMEOUT_MS", 10000, 100, 600000);
    cfg->stuck_after_ms = cfg_int("SAGA_STUCK_AFTER_MS", 60000, 100, 7 * 86400000LL);
    /* The server caps a workflow task timeout at 120 s. */
    cfg->task_timeout_ms = cfg_int("ORDER_TASK_TIMEOUT_MS", 10000, 1000, 120000);
    int mode = cfg_word("ORDER_ACTIVITY_MODE", cfg_str("ORDER_ACTIVITY_MODE", "remote"), "remote",
                        "local");
    int worker = cfg_word("TEMPORAL_WORKER", cfg_str("TEMPORAL_WORKER", "on"), "off", "on");
    int eager = cfg_word("ORDER_EAGER_START", cfg_str("ORDER_EAGER_START", "on"), "off", "on");
    if (mode < 0 || worker < 0 || eager < 0)
        return -1;
    cfg->mode = mode ? OT_MODE_LOCAL : OT_MODE_REMOTE;
    cfg->worker = worker;
    cfg->eager_start = worker && eager; /* only a local worker can take the first task */
    return 0;
}

/* ---- gauges: refreshed once a second from what this worker drives (ot_live.c) ---------- */

typedef struct gauges {
    metrics_registry *metrics;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, started;
} gauges;

static void gauges_refresh(metrics_registry *m)
{
    static const saga_phase_t shown[] = {SAGA_PHASE_FORWARD, SAGA_PHASE_CONFIRMING,
                                         SAGA_PHASE_COMPENSATING};
    int counts[SAGA_PHASE_COUNT];
    int64_t oldest = 0;
    ot_live_stats(counts, &oldest);
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++) {
        char labels[48];
        snprintf(labels, sizeof labels, "phase=\"%s\"", saga_phase_name(shown[i]));
        metrics_gauge_set(m, "saga_in_progress",
                          "Sagas whose workflow code this worker drives, by phase", labels,
                          counts[shown[i]]);
    }
    metrics_gauge_set(m, "saga_oldest_retry_seconds",
                      "How long the step retrying longest on this worker has been retrying "
                      "(0: none retries)",
                      NULL, (double)oldest / 1000.0);
}

static void *gauges_main(void *arg)
{
    gauges *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        pthread_mutex_unlock(&g->mu);
        gauges_refresh(g->metrics);
        pthread_mutex_lock(&g->mu);
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += 1;
        if (!g->stop)
            pthread_cond_timedwait(&g->cv, &g->mu, &t);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static void gauges_start(gauges *g, metrics_registry *m)
{
    g->metrics = m;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    gauges_refresh(m); /* present from the first scrape */
    g->started = pthread_create(&g->thread, NULL, gauges_main, g) == 0;
    if (!g->started)
        log_warn("gauge refresher not started: saga_in_progress stays as at start");
}

static void gauges_stop(gauges *g)
{
    if (g->metrics == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    if (g->started)
        pthread_join(g->thread, NULL);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
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
    if (ctx == NULL)
        return; /* TEMPORAL_WORKER=off */
    tc_worker_stop(ctx);
    tc_worker_get_stats(ctx, &st);
    /* One line for benchmarks and post-mortems: how much replay the sticky cache saved. */
    log_info("worker stopped: workflow_tasks=%llu activity_tasks=%llu sticky_hits=%llu "
             "sticky_misses=%llu nondeterminism=%llu eager_workflow_requested=%llu "
             "eager_workflow_tasks=%llu",
             (unsigned long long)st.workflow_tasks, (unsigned long long)st.activity_tasks,
             (unsigned long long)st.sticky_hits, (unsigned long long)st.sticky_misses,
             (unsigned long long)st.nondeterminism, (unsigned long long)st.eager_workflow_requested,
             (unsigned long long)st.eager_workflow_tasks);
}

static int make_worker(tc_client *tc, const ot_config *cfg, struct saga_client *sc,
                       metrics_registry *metrics, tc_worker **out)
{
    tc_error err;
    tc_worker_options wo = {
        .task_queue = cfg->task_queue,
        .workflow_pollers = (int)cfg_int(
            "WORKER_WORKFLOW_POLLERS",
            cfg->mode == OT_MODE_LOCAL ? OT_LOCAL_WF_POLLERS : OT_REMOTE_WF_POLLERS, 1, 64),
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
    gauges gg = {0};
    int rc = 1;

    setenv("HTTP_THREADS", OT_DEFAULT_HTTP_THREADS, 0); /* only when unset */
    if (app_new(&a, "orchestrator-temporal", OT_DEFAULT_PORT, NULL) != 0)
        return 1;
    auth *au; /* only checked here: the saga client sends SERVICE_TOKEN to the services */
    if (app_auth(a, AUTH_SERVICE, &au) != 0)
        goto out;
    if (load_config(&cfg) != 0)
        goto out;
    ot_workflow_options wopt = {.activity_timeout_ms = cfg.activity_timeout_ms,
                                .stuck_after_ms = cfg.stuck_after_ms,
                                .mode = cfg.mode,
                                .metrics = app_metrics(a)};
    ot_workflow_configure(&wopt);

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
    /* TEMPORAL_WORKER=off: the REST API only; another worker (an official SDK's, a replica)
     * polls the task queue and runs OrderWorkflow. */
    if (cfg.worker && make_worker(tc, &cfg, sc, app_metrics(a), &w) != TC_OK)
        goto out;

    ot_routes_ctx routes = {.tc = tc, .cfg = &cfg, .metrics = app_metrics(a)};
    ot_routes_init(&routes);
    if (ot_routes_register(app_server(a), &routes) != 0) {
        log_error("route registration failed");
        ot_routes_destroy(&routes);
        goto out;
    }
    app_set_ready(a, temporal_ready, tc);
    if (w != NULL) {
        app_set_metrics_extra(a, worker_metrics, w); /* the worker's temporal_* metrics */
        log_info("worker polling task queue %s as %s (%s activities)", cfg.task_queue,
                 tc_client_identity(tc), cfg.mode == OT_MODE_LOCAL ? "local" : "remote");
    } else
        log_info("no embedded worker (TEMPORAL_WORKER=off): runs on task queue %s need "
                 "another worker",
                 cfg.task_queue);
    gauges_start(&gg, app_metrics(a));
    rc = run_until_signal(a, &routes, w);
    gauges_stop(&gg);
    ot_routes_destroy(&routes);
out:
    tc_worker_free(w);
    tc_client_free(tc);
    saga_client_free(sc);
    app_free(a);
    ot_live_reset();
    return rc;
}
