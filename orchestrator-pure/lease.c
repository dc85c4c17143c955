/* lease.c - the lease keeper thread: renew (every lease / 3), take over expired leases (every
 * scan interval), release on stop. Times are CLOCK_MONOTONIC; lease expiry is the database's
 * clock, so replicas need no synchronised clocks. */
#include "lease.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "cm_log.h"
#include "mono.h"
#include "repo.h"

#define LEASE_TAKEOVER_BATCH 100 /* expired sagas taken over per pass at most */

struct lease_keeper {
    lease_config_t cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* stop */
    int stopping;
    pthread_t thread;
};

/* Waits ms; 1 when stopping. */
static int wait_or_stop(lease_keeper_t *k, int64_t ms)
{
    struct timespec until = mono_deadline(ms);
    pthread_mutex_lock(&k->mu);
    while (!k->stopping)
        if (pthread_cond_timedwait(&k->cv, &k->mu, &until) != 0)
            break;
    int stop = k->stopping;
    pthread_mutex_unlock(&k->mu);
    return stop;
}

/* ---- renewal ------------------------------------------------------------------------------ */

typedef struct held_list {
    owned_held_t *v;
    char **ids;
    int n, cap, nomem;
} held_list_t;

static void held_add(const char *saga_id, bool cancel, void *ctx)
{
    held_list_t *l = ctx;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        owned_held_t *v = realloc(l->v, (size_t)cap * sizeof *v);
        char **ids = v != NULL ? realloc(l->ids, (size_t)cap * sizeof *ids) : NULL;
        if (v != NULL)
            l->v = v;
        if (ids == NULL) {
            l->nomem = 1;
            return;
        }
        l->ids = ids;
        l->cap = cap;
    }
    char *id = strdup(saga_id);
    if (id == NULL) {
        l->nomem = 1;
        return;
    }
    l->ids[l->n] = id;
    l->v[l->n++] = (owned_held_t){id, cancel};
}

/* Extends this replica's leases; marks what it lost; drives what it holds without driving. */
static void renew(lease_keeper_t *k)
{
    const lease_config_t *c = &k->cfg;
    held_list_t l = {0};
    int64_t from = mono_now_ms();
    int rc = repo_renew(c->db, c->owner, c->lease_ms, held_add, &l);
    if (rc != 0 || l.nomem) {
        log_warn("renewing saga leases failed: %s", rc != 0 ? cm_strerror(rc) : "out of memory");
    } else {
        int *orphans = l.n > 0 ? malloc((size_t)l.n * sizeof *orphans) : NULL;
        int n = orphans != NULL ? owned_renewed(c->owned, from, l.v, l.n, orphans) : 0;
        for (int i = 0; i < n; i++)
            if (c->adopt(c->ctx, l.v[orphans[i]].saga_id, from) > 0)
                log_info("saga %s: held here but not driven; driving it", l.v[orphans[i]].saga_id);
        free(orphans);
    }
    for (int i = 0; i < l.n; i++)
        free(l.ids[i]);
    free(l.ids);
    free(l.v);
}

/* ---- takeover ----------------------------------------------------------------------------- */

typedef struct id_list {
    char **ids;
    int n;
} id_list_t;

static void id_add(const char *saga_id, void *ctx)
{
    id_list_t *l = ctx;
    if (l->n < LEASE_TAKEOVER_BATCH && (l->ids[l->n] = strdup(saga_id)) != NULL)
        l->n++;
}

/* Takes over the sagas whose lease ran out, while the engine has room. */
static void take_over(lease_keeper_t *k)
{
    const lease_config_t *c = &k->cfg;
    char *ids[LEASE_TAKEOVER_BATCH];
    id_list_t l = {ids, 0};
    if (!c->has_room(c->ctx))
        return;
    int rc = repo_each_expired(c->db, LEASE_TAKEOVER_BATCH, id_add, &l);
    if (rc != 0)
        log_warn("looking for expired saga leases failed: %s", cm_strerror(rc));
    for (int i = 0; i < l.n; i++) {
        int claimed = 0;
        int64_t from = mono_now_ms();
        if (c->has_room(c->ctx) &&
            repo_claim(c->db, ids[i], c->owner, c->lease_ms, &claimed) == 0 && claimed) {
            log_info("saga %s: lease expired; taken over", ids[i]);
            if (c->adopt(c->ctx, ids[i], from) < 0)
                log_error("saga %s: taken over but cannot be queued", ids[i]);
        }
        free(ids[i]);
    }
}

static void *keeper(void *arg)
{
    lease_keeper_t *k = arg;
    int64_t renew_every = k->cfg.lease_ms / 3, next_renew = mono_now_ms() + renew_every;
    do {
        take_over(k);
        if (mono_now_ms() >= next_renew) {
            next_renew = mono_now_ms() + renew_every;
            renew(k);
        }
        k->cfg.tick(k->cfg.ctx);
    } while (!wait_or_stop(k, k->cfg.scan_ms));
    return NULL;
}

int lease_start(const lease_config_t *cfg, lease_keeper_t **out)
{
    if (cfg->db == NULL || cfg->owner == NULL || cfg->owned == NULL || cfg->lease_ms < 3 ||
        cfg->scan_ms < 1 || cfg->adopt == NULL || cfg->has_room == NULL || cfg->tick == NULL)
        return CM_ERR_INVALID;
    lease_keeper_t *k = calloc(1, sizeof *k);
    if (k == NULL)
        return CM_ERR_NOMEM;
    k->cfg = *cfg;
    pthread_mutex_init(&k->mu, NULL);
    mono_cond_init(&k->cv);
    if (pthread_create(&k->thread, NULL, keeper, k) != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        return CM_ERR_NOMEM;
    }
    *out = k;
    return 0;
}

void lease_stop(lease_keeper_t *k)
{
    if (k == NULL)
        return;
    pthread_mutex_lock(&k->mu);
    k->stopping = 1;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    int rc = repo_release(k->cfg.db, k->cfg.owner);
    if (rc != 0)
        log_warn("could not end this replica's saga leases (%s): they run out in %lld ms",
                 cm_strerror(rc), (long long)k->cfg.lease_ms);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}
