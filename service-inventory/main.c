/* main.c - service-inventory daemon: config, pools, routes, outbox relay, run until SIGTERM.
 * Wiring only; the API is in routes.c, rules in inventory.c, SQL in repo.c. */
#include "cm_app.h"
#include "cm_config.h"
#include "cm_log.h"
#include "routes.h"

#define SERVICE "service-inventory"

int main(void)
{
    app *a = NULL;
    db_pool *db = NULL;
    rds_pool *rds = NULL;
    auth *au = NULL;
    outbox_relay *relay = NULL;
    static inv_routes_t routes;
    int rc = 1;

    if (app_new(&a, SERVICE, 21083, "inventory_db") != 0)
        return 1;
    if (app_auth(a, AUTH_SERVICE | AUTH_ADMIN, &au) != 0 || app_db(a, &db) != 0 ||
        app_redis(a, &rds) != 0)
        goto out;
    routes = (inv_routes_t){
        .db = db,
        .rds = rds,
        .auth = au,
        .service = SERVICE,
        .lock_wait_ms = (int)cfg_int("INVENTORY_LOCK_WAIT_MS", INV_LOCK_WAIT_MS, 0, 60000),
    };
    if (inv_routes_register(app_server(a), &routes) != 0) {
        log_error("cannot register routes");
        goto out;
    }
    /* Stopped by app_run (also when the port is taken); handlers run only once it starts
     * the server, so setting routes.relay here is race-free. */
    if (app_start_relay(a, &relay) != 0)
        goto out;
    routes.relay = relay;
    rc = app_run(a);
out:
    app_free(a);
    return rc;
}
