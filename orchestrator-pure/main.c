/* main.c - orchestrator-pure: wiring, configuration and shutdown. The saga runs in
 * orchestrator.c; this file only builds the parts and joins them. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cm_app.h"
#include "cm_config.h"
#include "cm_error.h"
#include "cm_log.h"
#include "cm_redis.h"
#include "orchestrator.h"
#include "routes.h"
#include "saga.h"

/* This process's owner id: "<host>:<port>/<pid>-<random>", new at every start, so a restarted
 * replica never takes its previous life's leases for its own (they run out and are taken
 * over like any other). */
static void owner_id(const app *a, char *out, size_t cap)
{
    char host[64] = "localhost", tok[RDS_TOKEN_LEN];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    rds_random_token(tok);
    snprintf(out, cap, "%s:%d/%ld-%.8s", host, app_config(a)->port, (long)getpid(), tok);
}

static void stop_orch(void *ctx)
{
    orch_stop(ctx);
}

/* A POST handler waits for its saga, so the pure orchestrator wants more HTTP threads and
 * connections than the common defaults; explicit settings win. */
static void default_env(const char *name, const char *value)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        setenv(name, value, 1);
}

int main(void)
{
    app *a = NULL;
    db_pool *db = NULL;
    struct saga_client *client = NULL;
    orch_t *o = NULL;
    int rc = 1;

    default_env("HTTP_THREADS", "64");
    default_env("MYSQL_POOL_SIZE", "32");
    if (app_new(&a, "orchestrator-pure", 21080, "orchestrator_db") != 0)
        return 1;
    auth *au; /* only checked here: the saga client sends SERVICE_TOKEN to the services */
    if (app_auth(a, AUTH_SERVICE, &au) != 0 || app_db(a, &db) != 0)
        goto out;
    if ((client = saga_client_from_env()) == NULL) {
        log_error("bad ORDER_SERVICE_URL / INVENTORY_SERVICE_URL / PAYMENT_SERVICE_URL");
        goto out;
    }
    char owner[REPO_OWNER_MAX];
    owner_id(a, owner, sizeof owner);
    int64_t lease_ms = cfg_int("SAGA_LEASE_MS", 10000, 500, 3600000);
    orch_config_t oc = {
        .db = db,
        .client = client,
        .metrics = app_metrics(a),
        .workers = (int)cfg_int("SAGA_WORKERS", 64, 1, 1024),
        .queue_max = (int)cfg_int("SAGA_QUEUE_MAX", 10000, 1, 1000000),
        .forward_attempts = (int)cfg_int("SAGA_FORWARD_ATTEMPTS", 3, 1, 1000),
        .retry_initial_ms = cfg_int("SAGA_RETRY_INITIAL_MS", 1000, 1, 600000),
        .retry_max_ms = cfg_int("SAGA_RETRY_MAX_MS", 10000, 1, 3600000),
        .owner = owner,
        .lease_ms = lease_ms,
        .scan_ms = lease_ms / 10 < 1000 ? lease_ms / 10 : 1000,
    };
    if (orch_start(&oc, &o) != 0) {
        log_error("cannot start saga workers");
        goto out;
    }
    log_info("saga owner id %s, lease %lld ms", owner, (long long)lease_ms);
    static routes_ctx_t rctx;
    rctx.orch = o;
    rctx.sync_timeout_ms = cfg_int("ORDER_SYNC_TIMEOUT_MS", 30000, 0, 3600000);
    rctx.stuck_after_ms = cfg_int("SAGA_STUCK_AFTER_MS", 60000, 0, 86400000);
    if (routes_register(app_server(a), &rctx) != 0) {
        rc = 1;
        goto out;
    }
    app_on_stop(a, stop_orch, o); /* runs after the HTTP drain: no handler waits any more */
    o = NULL;
    rc = app_run(a);
out:
    orch_stop(o); /* only when app_run was never reached */
    app_free(a);
    saga_client_free(client);
    return rc;
}
