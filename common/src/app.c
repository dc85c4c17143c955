/* app.c — daemon bootstrap: config, logging, server with /health /ready /metrics, signal
 * wait, drain, stop hooks. Must be entered from main before any other thread exists. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm_app.h"
#include "cm_auth.h"
#include "cm_error.h"
#include "cm_httpc.h"
#include "cm_idem.h"
#include "cm_log.h"
#include "cm_outbox.h"

#define APP_MAX_HOOKS 16
#define APP_DRAIN_MS  10000

struct app {
    cm_config cfg;
    metrics_registry *metrics;
    http_server *srv;
    db_pool *db;
    rds_pool *rds;
    auth *auth;
    app_ready_fn ready_fn;
    void *ready_ctx;
    app_metrics_fn metrics_fn; /* more /metrics text, or NULL */
    void *metrics_ctx;
    app_hook_fn hooks[APP_MAX_HOOKS];
    void *hook_ctx[APP_MAX_HOOKS];
    int nhooks;
    bool hooks_ran;     /* stop hooks run once: by app_run, else by app_free */
    bool db_lazy_begin; /* APP_DB_TX */
    sigset_t sigs;
};

static void on_health(http_req *req, void *ctx)
{
    (void)ctx;
    http_respond_json(req, 200, json_pack("{s:s}", "status", "UP"));
}

static void on_ready(http_req *req, void *ctx)
{
    app *a = ctx;
    char detail[256] = "";
    if (a->db && db_ping(a->db))
        snprintf(detail, sizeof detail, "mysql unreachable");
    else if (a->rds && rds_ping(a->rds))
        snprintf(detail, sizeof detail, "redis unreachable");
    else if (a->ready_fn && a->ready_fn(a->ready_ctx, detail, sizeof detail) && !detail[0])
        snprintf(detail, sizeof detail, "not ready");
    if (detail[0]) {
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE, "%s", detail);
        return;
    }
    http_respond_json(req, 200, json_pack("{s:s}", "status", "READY"));
}

static void on_metrics(http_req *req, void *ctx)
{
    app *a = ctx;
    char *text = NULL;
    size_t len = 0;
    metrics_gauge_set(a->metrics, "http_requests_in_flight", "HTTP requests being handled", NULL,
                      (double)http_server_inflight(a->srv));
    if (metrics_render(a->metrics, &text, &len)) {
        http_respond_problem(req, 500, HTTP_CODE_INTERNAL, "cannot render metrics");
        return;
    }
    char *extra = a->metrics_fn ? a->metrics_fn(a->metrics_ctx) : NULL;
    size_t n = extra ? strlen(extra) : 0;
    char *all = n ? realloc(text, len + n + 1) : text;
    if (all) {
        memcpy(all + len, extra ? extra : "", n + 1);
        text = all;
        len += n;
    }
    free(extra);
    http_respond_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

int app_new(app **out, const char *service, int default_port, const char *default_database)
{
    *out = NULL;
    app *a = calloc(1, sizeof *a);
    if (!a)
        return CM_ERR_NOMEM;
    cfg_load(&a->cfg, service, default_port, default_database);
    log_init(service, log_level_parse(a->cfg.log_level));
    log_set_rate_limit((int)cfg_int("LOG_RATE_LIMIT", LOG_RATE_LINES_DEFAULT, 0, 1000000), 0);
    /* Block before any thread exists so every thread inherits the mask and only app_run's
     * sigwait sees SIGTERM/SIGINT. */
    sigemptyset(&a->sigs);
    sigaddset(&a->sigs, SIGTERM);
    sigaddset(&a->sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &a->sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = httpc_global_init();
    if (rc)
        goto fail;
    rc = CM_ERR_NOMEM;
    a->metrics = metrics_new();
    if (!a->metrics)
        goto fail;
    http_server_config sc = {.port = a->cfg.port,
                             .bind_addr = a->cfg.bind_addr,
                             .threads = a->cfg.http_threads,
                             .service = a->cfg.service,
                             .metrics = a->metrics,
                             .max_connections = a->cfg.http_max_connections,
                             .max_per_ip = a->cfg.http_max_per_ip > 0 ? a->cfg.http_max_per_ip : -1,
                             .header_timeout_ms = a->cfg.http_header_timeout_ms,
                             .body_timeout_ms = a->cfg.http_body_timeout_ms,
                             .idle_timeout_ms = a->cfg.http_idle_timeout_ms,
                             .request_timeout_ms = a->cfg.http_request_timeout_ms};
    rc = http_server_new(&sc, &a->srv);
    if (rc)
        goto fail;
    /* /health runs on the I/O thread: liveness must not wait behind busy handler workers. */
    if ((rc = http_route(a->srv, "GET", "/health", on_health, a)) ||
        (rc = http_route_inline(a->srv, "GET", "/health")) ||
        (rc = http_route(a->srv, "GET", "/ready", on_ready, a)) ||
        (rc = http_route(a->srv, "GET", "/metrics", on_metrics, a)))
        goto fail;
    *out = a;
    return 0;
fail:
    log_error("startup failed: %s", cm_strerror(rc));
    app_free(a);
    return rc;
}

const cm_config *app_config(const app *a)
{
    return &a->cfg;
}
http_server *app_server(app *a)
{
    return a->srv;
}
metrics_registry *app_metrics(app *a)
{
    return a->metrics;
}

int app_db(app *a, db_pool **out)
{
    if (!a->db) {
        db_config dc = {.host = a->cfg.mysql_host,
                        .port = a->cfg.mysql_port,
                        .user = a->cfg.mysql_user,
                        .password = a->cfg.mysql_password,
                        .database = a->cfg.mysql_database,
                        .pool_size = a->cfg.mysql_pool_size,
                        .lazy_begin = a->db_lazy_begin};
        int rc = db_pool_new(&dc, &a->db);
        if (rc)
            return rc;
    }
    *out = a->db;
    return 0;
}

int app_redis(app *a, rds_pool **out)
{
    if (!a->rds) {
        int rc =
            rds_pool_new(a->cfg.redis_host, a->cfg.redis_port, a->cfg.redis_pool_size, 0, &a->rds);
        if (rc == 0)
            rc = rds_pool_set_auth(a->rds, a->cfg.redis_username, a->cfg.redis_password);
        if (rc) {
            rds_pool_free(a->rds);
            a->rds = NULL;
            return rc;
        }
    }
    *out = a->rds;
    return 0;
}

int app_auth(app *a, unsigned need, auth **out)
{
    if (!a->auth) {
        int rc = auth_from_env(a->cfg.service, need, &a->auth);
        if (rc)
            return rc;
    }
    *out = a->auth;
    return 0;
}

void app_set_ready(app *a, app_ready_fn fn, void *ctx)
{
    a->ready_fn = fn;
    a->ready_ctx = ctx;
}

void app_set_metrics_extra(app *a, app_metrics_fn fn, void *ctx)
{
    a->metrics_fn = fn;
    a->metrics_ctx = ctx;
}

int app_on_stop(app *a, app_hook_fn fn, void *ctx)
{
    if (a->nhooks >= APP_MAX_HOOKS || !fn) {
        log_error("app_on_stop: hook refused (at most %d)", APP_MAX_HOOKS);
        return CM_ERR_INVALID;
    }
    a->hooks[a->nhooks] = fn;
    a->hook_ctx[a->nhooks] = ctx;
    a->nhooks++;
    return 0;
}

static void stop_relay(void *relay)
{
    outbox_relay_stop(relay);
}

int app_start_relay(app *a, outbox_relay **out)
{
    *out = NULL;
    db_pool *db;
    rds_pool *rds;
    int rc = app_db(a, &db);
    if (rc == 0)
        rc = app_redis(a, &rds);
    if (rc == 0) {
        outbox_config oc = {
            .db = db, .rds = rds, .service = a->cfg.service, .stream = a->cfg.order_events_stream};
        rc = outbox_relay_start(&oc, out);
    }
    if (rc == 0 && (rc = app_on_stop(a, stop_relay, *out)) != 0) {
        outbox_relay_stop(*out);
        *out = NULL;
    }
    if (rc)
        log_error("cannot start the outbox relay: %s", cm_strerror(rc));
    return rc;
}

/* Runs the stop hooks in reverse order, once. */
static void run_hooks(app *a)
{
    if (a->hooks_ran)
        return;
    a->hooks_ran = true;
    for (int i = a->nhooks - 1; i >= 0; i--)
        a->hooks[i](a->hook_ctx[i]);
}

void app_request_stop(app *a)
{
    (void)a;
    kill(getpid(), SIGTERM);
}

int app_run(app *a)
{
    if (http_server_start(a->srv)) {
        /* Background threads the daemon started must still be joined before app_free. */
        run_hooks(a);
        return 1;
    }
    log_info("listening on %s:%d", a->cfg.bind_addr, a->cfg.port);
    int sig = 0;
    while (sigwait(&a->sigs, &sig) != 0) {
    }
    log_info("signal %d: draining", sig);
    http_server_stop(a->srv, APP_DRAIN_MS);
    run_hooks(a);
    log_flush();
    log_info("stopped");
    return 0;
}

void app_free(app *a)
{
    if (!a)
        return;
    /* A daemon that gave up before app_run (a later start step failed) still has threads
     * using the pools: stop them before the pools go. */
    http_server_free(a->srv);
    auth_free(a->auth); /* after the server: its routes point into it */
    run_hooks(a);
    idem_stop(); /* no handler runs any more; before the Redis pool its claims use goes */
    db_pool_free(a->db);
    rds_pool_free(a->rds);
    metrics_free(a->metrics);
    httpc_global_cleanup();
    free(a);
}

int app_main(const app_spec *spec)
{
    app *a = NULL;
    app_parts p = {0};
    if (app_new(&a, spec->service, spec->default_port, spec->default_database) != 0)
        return 1;
    int rc = 0;
    if (spec->auth_need != 0)
        rc = app_auth(a, spec->auth_need, &p.auth);
    a->db_lazy_begin = (spec->parts & APP_DB_TX) != 0;
    if (rc == 0 && (spec->parts & APP_DB))
        rc = app_db(a, &p.db);
    if (rc == 0 && (spec->parts & APP_REDIS))
        rc = app_redis(a, &p.rds);
    /* Started before wire so that the routes can take it; it publishes what is committed,
     * whether or not the server has started yet. */
    if (rc == 0 && (spec->parts & APP_RELAY))
        rc = app_start_relay(a, &p.relay);
    if (rc == 0 && (rc = spec->wire(a, &p, spec->ctx)) != 0)
        log_error("cannot start %s: %s", spec->service, cm_strerror(rc));
    rc = rc == 0 ? app_run(a) : 1;
    app_free(a);
    return rc;
}
