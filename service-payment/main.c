/* main.c - service-payment daemon: config (PG_CONCURRENCY, FAKE_PG_*), pools, fake gateway,
 * routes, outbox relay, run until SIGTERM. Wiring only. */
#include "cm_app.h"
#include "cm_config.h"
#include "cm_log.h"
#include "gateway.h"
#include "routes.h"

#define SERVICE "service-payment"

int main(void)
{
    app *a = NULL;
    db_pool *db = NULL;
    rds_pool *rds = NULL;
    auth *au = NULL;
    outbox_relay *relay = NULL;
    static fake_pg_t pg;
    static pay_routes_t routes;
    int rc = 1;

    if (app_new(&a, SERVICE, 21084, "payment_db") != 0)
        return 1;
    if (app_auth(a, AUTH_SERVICE | AUTH_ADMIN, &au) != 0) {
        app_free(a);
        return 1;
    }
    fpg_init(&pg, cfg_int("FAKE_PG_LIMIT", 1000000, 0, INT64_MAX),
             (int)cfg_int("FAKE_PG_LATENCY_MS", 0, 0, 600000),
             cfg_double("FAKE_PG_FAILURE_RATE", 0.0, 0.0, 1.0), app_metrics(a));
    if (app_db(a, &db) != 0 || app_redis(a, &rds) != 0)
        goto out;
    routes = (pay_routes_t){
        .db = db,
        .rds = rds,
        .pg = &pg,
        .service = SERVICE,
        .auth = au,
        .pg_concurrency = (int)cfg_int("PG_CONCURRENCY", 10, 1, 10000),
        .pg_wait_ms = (int)cfg_int("PG_WAIT_MS", 5000, 0, 600000),
        .pg_lease_ms = pg.latency_ms + 30000,
    };
    if (pay_routes_register(app_server(a), &routes) != 0) {
        log_error("cannot register routes");
        goto out;
    }
    /* Stopped by app_run (also when the port is taken); handlers run only once it starts
     * the server, so setting routes.relay here is race-free. */
    if (app_start_relay(a, &relay) != 0)
        goto out;
    routes.relay = relay;
    log_info("fake gateway: limit %lld, latency %d ms, failure rate %.3f; PG_CONCURRENCY %d",
             (long long)pg.limit, pg.latency_ms, pg.failure_rate, routes.pg_concurrency);
    rc = app_run(a);
out:
    app_free(a);
    fpg_destroy(&pg);
    return rc;
}
