/* rest_front.c - orchestrator-temporal's REST API (its own routes.c, unchanged) without the
 * embedded worker: POST /api/temporal/orders starts OrderWorkflow on TEMPORAL_TASK_QUEUE and
 * waits for its result, and whatever worker polls that queue - the Go SDK peer or our C worker
 * in another process - runs it. Lets the benchmark drive both workers through the same front.
 * Only for bench/: the daemon has no switch to run without its worker yet. */
#include "ot.h"

#include <stdio.h>
#include <stdlib.h>

#include "cm_app.h"
#include "cm_config.h"
#include "cm_log.h"

int main(void)
{
    app *a = NULL;
    tc_client *tc = NULL;
    ot_config cfg = {0};
    tc_error err;
    int rc = 1;

    setenv("HTTP_THREADS", "64", 0); /* a synchronous POST holds a thread while its run goes on */
    if (app_new(&a, "bench-rest-front", 21081, NULL) != 0)
        return 1;
    /* The settings routes.c reads, with orchestrator-temporal's names and defaults. */
    snprintf(cfg.task_queue, sizeof cfg.task_queue, "%s",
             cfg_str("TEMPORAL_TASK_QUEUE", "order-task-queue"));
    snprintf(cfg.ui_url, sizeof cfg.ui_url, "%s",
             cfg_str("TEMPORAL_UI_URL", "http://127.0.0.1:21088"));
    cfg.sync_timeout_ms = cfg_int("ORDER_SYNC_TIMEOUT_MS", 30000, 1, 3600000);
    if (tc_client_new(NULL, &tc, &err) != TC_OK) {
        log_error("temporal client: %s", err.text);
        goto out;
    }
    ot_routes_ctx routes = {.tc = tc, .cfg = &cfg, .metrics = app_metrics(a)};
    ot_routes_init(&routes);
    if (ot_routes_register(app_server(a), &routes) != 0) {
        log_error("route registration failed");
        ot_routes_destroy(&routes);
        goto out;
    }
    log_info("starting OrderWorkflow runs on task queue %s; no worker in this process",
             cfg.task_queue);
    rc = app_run(a);
    ot_routes_stop(&routes);
    ot_routes_destroy(&routes);
out:
    tc_client_free(tc);
    app_free(a);
    return rc;
}
