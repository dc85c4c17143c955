/* main.c - service-order daemon: config, pools, routes, outbox relay, run until SIGTERM.
 * Wiring only; the API is in routes.c, rules in order.c, SQL in repo.c. */
#include "cm_app.h"
#include "routes.h"

#define SERVICE "service-order"

static int wire(app *a, const app_parts *p, void *ctx)
{
    static order_routes_t routes;
    (void)ctx;
    routes = (order_routes_t){
        .db = p->db, .rds = p->rds, .relay = p->relay, .service = SERVICE, .auth = p->auth};
    return order_routes_register(app_server(a), &routes);
}

int main(void)
{
    return app_main(&(app_spec){SERVICE, 21082, "order_db", AUTH_SERVICE | AUTH_ADMIN,
                                APP_DB | APP_DB_TX | APP_REDIS | APP_RELAY, wire, NULL});
}
