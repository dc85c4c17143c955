/* main.c - service-notification: wiring, configuration and shutdown. The consumer rules are
 * in notification.c; this file only builds the parts and joins them. */
#include <stdio.h>
#include <unistd.h>

#include "cm_app.h"
#include "cm_config.h"
#include "cm_log.h"
#include "notification.h"
#include "routes.h"

static void stop_consumer(void *ctx)
{
    notif_stop(ctx);
}

static int wire(app *a, const app_parts *p, void *ctx)
{
    notif_consumer_t *c = NULL;
    char host[128] = "host", consumer[CFG_STR_MAX];
    (void)ctx;
    /* A fresh name per process: entries a dead process left pending are taken over by
     * XAUTOCLAIM once idle for NOTIFICATION_CLAIM_IDLE_MS. */
    gethostname(host, sizeof host - 1);
    snprintf(consumer, sizeof consumer, "%.100s-%ld", host, (long)getpid());
    const cm_config *cfg = app_config(a);
    notif_config_t nc = {
        .db = p->db,
        .rds = p->rds,
        .metrics = app_metrics(a),
        .stream = cfg->order_events_stream,
        .group = cfg_str("NOTIFICATION_GROUP", "notification-service"),
        .consumer = cfg_str("NOTIFICATION_CONSUMER", consumer),
        .batch = (int)cfg_int("NOTIFICATION_BATCH", 100, 1, 10000),
        .block_ms = (int)cfg_int("NOTIFICATION_BLOCK_MS", 1000, 1, 60000),
        .claim_idle_ms = cfg_int("NOTIFICATION_CLAIM_IDLE_MS", 30000, 1, 86400000),
        .claim_every_ms = cfg_int("NOTIFICATION_CLAIM_EVERY_MS", 5000, 1, 86400000),
        .trim_every_ms = cfg_int("ORDER_EVENTS_TRIM_MS", 60000, 0, 86400000),
        .retain_ms = cfg_int("ORDER_EVENTS_RETAIN_MS", 3600000, 0, 30LL * 86400000),
    };
    int rc = routes_register(app_server(a), p->db, p->auth);
    if (rc != 0)
        return rc;
    if ((rc = notif_start(&nc, &c)) != 0) {
        log_error("cannot start the stream consumer");
        return rc;
    }
    if ((rc = app_on_stop(a, stop_consumer, c)) != 0)
        notif_stop(c);
    return rc;
}

int main(void)
{
    return app_main(&(app_spec){"service-notification", 21085, "notification_db",
                                AUTH_SERVICE | AUTH_ADMIN, APP_DB | APP_DB_TX | APP_REDIS, wire,
                                NULL});
}
