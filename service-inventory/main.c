/* main.c - service-inventory daemon: config, pools, routes, outbox relay, run until SIGTERM.
 * Wiring only; the API is in routes.c, rules in inventory.c, SQL in repo.c. */
#include "cm_app.h"
#include "cm_config.h"
#include "routes.h"

#define SERVICE "service-inventory"

static int wire(app *a, const app_parts *p, void *ctx)
{
    static inv_routes_t routes;
    (void)ctx;
    routes = (inv_routes_t){
        .db = p->db,
        .rds = p->rds,
        .relay = p->relay,
        .auth = p->auth,
        .service = SERVICE,
        .lock_wait_ms = (int)cfg_int("INVENTORY_LOCK_WAIT_MS", INV_LOCK_WAIT_MS, 0, 60000),
    };
    return inv_routes_register(app_server(a), &routes);
}

int main(void)
{
    return app_main(&(app_spec){SERVICE, 21083, "inventory_db", AUTH_SERVICE | AUTH_ADMIN,
                                APP_DB | APP_DB_TX | APP_REDIS | APP_RELAY, wire, NULL});
}
