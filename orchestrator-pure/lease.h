/* lease.h - the lease keeper of one orchestrator-pure replica: a thread that extends the
 * leases of the sagas this replica holds, takes over the sagas whose lease ran out (another
 * replica died or froze), and ends this replica's leases when it stops. The sagas themselves
 * are the engine's (orchestrator.c); what the replica holds is owned.h's. */
#ifndef ORCH_LEASE_H
#define ORCH_LEASE_H

#include "cm_db.h"
#include "owned.h"

typedef struct lease_keeper lease_keeper_t;

typedef struct lease_config {
    db_pool *db;        /* borrowed */
    const char *owner;  /* this replica's owner id, borrowed */
    int64_t lease_ms;   /* SAGA_LEASE_MS: renewed every lease_ms / 3 */
    int64_t scan_ms;    /* how often to look for expired leases */
    owned_set_t *owned; /* borrowed: the sagas this replica drives */
    /* Drive saga_id here: it was just taken over, or the database says this replica holds it
     * and nothing here drives it; lease_from_ms as owned_add takes it. Returns 1 when queued,
     * 0 when it was driven here already, < 0 on error. */
    int (*adopt)(void *ctx, const char *saga_id, int64_t lease_from_ms);
    int (*has_room)(void *ctx); /* 0: take over nothing now (the queue is full) */
    void (*tick)(void *ctx);    /* after each pass (the engine refreshes its gauges) */
    void *ctx;
} lease_config_t;

/* Starts the keeper; its first pass takes over what expired while no replica ran. 0,
 * CM_ERR_INVALID or CM_ERR_NOMEM. Main thread. */
int lease_start(const lease_config_t *cfg, lease_keeper_t **out);

/* Stops and joins the keeper, then ends every lease this replica holds so another replica
 * takes its unfinished sagas over at once. Call after the workers stopped (a commit would
 * extend a lease again). NULL ok. */
void lease_stop(lease_keeper_t *k);

#endif
