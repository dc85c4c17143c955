/* main.c - service-payment daemon: config (PG_CONCURRENCY, FAKE_PG_*), pools, fake gateway,
 * routes, outbox relay, run until SIGTERM. Wiring only. */
#include "cm_app.h"
#include "cm_config.h"
#include "cm_log.h"
#include "gateway.h"
#include "routes.h"

#define SERVICE "service-payment"

static fake_pg_t pg;

/* A stop hook: after the drain no handler charges through the gateway any more. */
static void stop_gateway(void *ctx)
{
    fpg_destroy(ctx);
}

static int wire(app *a, const app_parts *p, void *ctx)
{
    static pay_routes_t routes;
    (void)ctx;
    fpg_init(&pg, cfg_int("FAKE_PG_LIMIT", 1000000, 0, INT64_MAX),
             (int)cfg_int("FAKE_PG_LATENCY_MS", 0, 0, 600000),
             cfg_double("FAKE_PG_FAILURE_RATE", 0.0, 0.0, 1.0), app_metrics(a));
    int rc = app_on_stop(a, stop_gateway, &pg);
    if (rc != 0) {
        fpg_destroy(&pg);
        return rc;
    }
    routes = (pay_routes_t){
        .db = p->db,
        .rds = p->rds,
        .relay = p->relay,
        .pg = &pg,
        .service = SERVICE,
        .auth = p->auth,
        .pg_concurrency = (int)cfg_int("PG_CONCURRENCY", 10, 1, 10000),
        .pg_wait_ms = (int)cfg_int("PG_WAIT_MS", 5000, 0, 600000),
        .pg_lease_ms = pg.latency_ms + 30000,
    };
    log_info("fake gateway: limit %lld, latency %d ms, failure rate %.3f; PG_CONCURRENCY %d",
             (long long)pg.limit, pg.latency_ms, pg.failure_rate, routes.pg_concurrency);
    return pay_routes_register(app_server(a), &routes);
}

int main(void)
{
    return app_main(&(app_spec){SERVICE, 21084, "payment_db", AUTH_SERVICE | AUTH_ADMIN,
                                APP_DB | APP_DB_TX | APP_REDIS | APP_RELAY, wire, NULL});
}
