/* cm_app.h — daemon bootstrap so each main.c stays short: config, logging, HTTP server with
 * /health, /ready, /metrics, MySQL and Redis pools on demand, run until SIGTERM/SIGINT,
 * drain in-flight requests, run stop hooks, exit 0.
 *
 *     static int wire(app *a, const app_parts *p, void *ctx) {
 *         return routes_register(app_server(a), p->db, p->relay, ...);
 *     }
 *     int main(void) {
 *         return app_main(&(app_spec){"service-order", 21082, "order_db", AUTH_SERVICE,
 *                                     APP_DB | APP_REDIS | APP_RELAY, wire, NULL});
 *     }
 *
 * A daemon with steps of its own between these calls uses app_new, app_db, app_redis,
 * app_start_relay, app_run and app_free itself.
 */
#ifndef CM_APP_H
#define CM_APP_H

#include "cm_auth.h"
#include "cm_config.h"
#include "cm_db.h"
#include "cm_http.h"
#include "cm_metrics.h"
#include "cm_outbox.h"
#include "cm_redis.h"

typedef struct app app;

/* Readiness check: return 0 when ready; otherwise write a short reason into detail. */
typedef int (*app_ready_fn)(void *ctx, char *detail, size_t n);
typedef void (*app_hook_fn)(void *ctx);

/* Read config (cfg_load), init logging, block SIGTERM/SIGINT/SIGPIPE in the calling thread
 * (so every thread started later inherits the mask and app_run can sigwait), init the
 * HTTP client (httpc_global_init), create the server (not started) with
 * GET /health, GET /ready, GET /metrics registered. MUST be called from main before any
 * thread is created. Returns 0 or an error code (logged). */
int app_new(app **out, const char *service, int default_port, const char *default_database);

const cm_config *app_config(const app *a);
http_server *app_server(app *a);
metrics_registry *app_metrics(app *a);

/* The MySQL / Redis pool built from config on first call (owned by the app, freed by
 * app_free after the stop hooks). Once created, /ready pings it. 0 or an error code. */
int app_db(app *a, db_pool **out);
int app_redis(app *a, rds_pool **out);

/* The daemon's bearer tokens (cm_auth.h) from SERVICE_TOKEN, ADMIN_TOKEN and AUTH_DISABLED,
 * read on first call; `need` is the mask of tokens the daemon must have (AUTH_SERVICE: it
 * checks or sends the service token; AUTH_ADMIN: it checks the admin token). A missing or
 * malformed token is logged with what to do and returned as an error: the daemon must then
 * exit without serving. Owned by the app, freed by app_free after the server. Main thread. */
int app_auth(app *a, unsigned need, auth **out);

/* Extra readiness check run by GET /ready after the pool pings (any thread). */
void app_set_ready(app *a, app_ready_fn fn, void *ctx);

/* More Prometheus text for GET /metrics (a library's own registry, e.g. a Temporal worker's):
 * returns a malloc'd text in the exposition format to append, or NULL for none. Any thread. */
typedef char *(*app_metrics_fn)(void *ctx);
void app_set_metrics_extra(app *a, app_metrics_fn fn, void *ctx);

/* Hook run by app_run after the server has drained (or when it could not start), in
 * reverse registration order (stop relays and consumers, join threads). At most 16:
 * returns 0, or CM_ERR_INVALID (logged) when the table is full and the hook will not run. */
int app_on_stop(app *a, app_hook_fn fn, void *ctx);

/* Start common's outbox relay for this daemon (its MySQL and Redis pools, the service name
 * given to app_new, stream ORDER_EVENTS_STREAM from config) and register its stop as a stop
 * hook, so app_run stops it after the drain, or at once if the server cannot start. *out is
 * borrowed (for outbox_relay_wake) and valid until app_run returns; never stop it yourself.
 * Returns 0 or an error code (logged); on error nothing is left running. Main thread only. */
int app_start_relay(app *a, outbox_relay **out);

/* Start the server, log "listening", block until SIGTERM or SIGINT (or app_request_stop),
 * stop accepting, drain in-flight requests (up to 10 s), run stop hooks. Returns 0 on a
 * clean stop, non-zero if the server could not start (port in use; the stop hooks have run
 * then too). Main thread only. */
int app_run(app *a);

/* Make app_run return as if SIGTERM had arrived. Any thread, async-signal-safe. */
void app_request_stop(app *a);

/* What app_main opens before it calls the daemon's wire function (app_spec.parts). */
#define APP_DB    (1u << 0) /* the MySQL pool (app_db) */
#define APP_REDIS (1u << 1) /* the Redis pool (app_redis) */
#define APP_RELAY (1u << 2) /* common's outbox relay (app_start_relay) */
/* With APP_DB: the pool begins transactions with their first statement (db_config.lazy_begin),
 * one round trip fewer per transaction, one more per statement outside one. */
#define APP_DB_TX (1u << 3)

/* The parts app_main opened, all borrowed from the app (NULL for those not asked for). */
typedef struct app_parts {
    auth *auth;
    db_pool *db;
    rds_pool *rds;
    outbox_relay *relay;
} app_parts;

/* A daemon's start: what app_new takes, the tokens (app_auth's mask, 0 for none) and parts it
 * needs, and its own wiring. wire runs on the main thread once the parts are open and before
 * the server starts, so handlers may take the parts without locks; it registers routes and
 * starts the daemon's threads (each with its stop hook) and returns 0 or an error code. */
typedef struct app_spec {
    const char *service;
    int default_port;
    const char *default_database;
    unsigned auth_need;
    unsigned parts;
    int (*wire)(app *a, const app_parts *parts, void *ctx);
    void *ctx;
} app_spec;

/* The whole life of a daemon: app_new, the tokens and parts of `spec`, spec->wire, app_run,
 * app_free. Returns the process exit status: 0 after a clean stop, 1 when a step failed
 * (logged). Call from main before any thread exists. */
int app_main(const app_spec *spec);

/* Stop the server, run the stop hooks if app_run has not (a start step failed after hooks
 * were registered), free pools, server, metrics; httpc_global_cleanup. NULL ok. */
void app_free(app *a);

#endif
