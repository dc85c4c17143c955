/* owned.c - the map of sagas driven here: chained hash with a fixed bucket count (it holds at
 * most the queued and running sagas) behind one mutex. No I/O, no calls out under the lock. */
#include "owned.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define OWNED_BUCKETS 4096

typedef struct owned_node {
    struct owned_node *next;
    owned_info_t info;
    char id[];
} owned_node_t;

struct owned_set {
    pthread_mutex_t mu;
    int count;
    owned_node_t *bucket[OWNED_BUCKETS];
};

static size_t bucket_of(const char *s)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h % OWNED_BUCKETS;
}

/* Caller holds s->mu. */
static owned_node_t *find(owned_set_t *s, const char *saga_id)
{
    for (owned_node_t *n = s->bucket[bucket_of(saga_id)]; n != NULL; n = n->next)
        if (strcmp(n->id, saga_id) == 0)
            return n;
    return NULL;
}

owned_set_t *owned_new(void)
{
    owned_set_t *s = calloc(1, sizeof *s);
    if (s != NULL)
        pthread_mutex_init(&s->mu, NULL);
    return s;
}

void owned_free(owned_set_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < OWNED_BUCKETS; i++)
        while (s->bucket[i] != NULL) {
            owned_node_t *n = s->bucket[i];
            s->bucket[i] = n->next;
            free(n);
        }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int owned_add(owned_set_t *s, const char *saga_id, int64_t lease_from_ms)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (find(s, saga_id) == NULL) {
        size_t len = strlen(saga_id) + 1;
        owned_node_t *n = malloc(sizeof *n + len);
        rc = -1;
        if (n != NULL) {
            owned_node_t **b = &s->bucket[bucket_of(saga_id)];
            memcpy(n->id, saga_id, len);
            n->info = (owned_info_t){.phase = SAGA_PHASE_FORWARD,
                                     .step = SAGA_STEP_NONE,
                                     .retry_step = SAGA_STEP_NONE,
                                     .lease_from_ms = lease_from_ms};
            n->next = *b;
            *b = n;
            s->count++;
            rc = 1;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void owned_del(owned_set_t *s, const char *saga_id)
{
    pthread_mutex_lock(&s->mu);
    for (owned_node_t **pp = &s->bucket[bucket_of(saga_id)]; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->id, saga_id) == 0) {
            owned_node_t *n = *pp;
            *pp = n->next;
            free(n);
            s->count--;
            break;
        }
    pthread_mutex_unlock(&s->mu);
}

int owned_get(owned_set_t *s, const char *saga_id, owned_info_t *out)
{
    pthread_mutex_lock(&s->mu);
    owned_node_t *n = find(s, saga_id);
    if (n != NULL && out != NULL)
        *out = n->info;
    pthread_mutex_unlock(&s->mu);
    return n != NULL;
}

void owned_observe(owned_set_t *s, const char *saga_id, saga_phase_t phase, saga_step_t step,
                   saga_step_t retry_step, int64_t retry_since_ms)
{
    pthread_mutex_lock(&s->mu);
    owned_node_t *n = find(s, saga_id);
    if (n != NULL) {
        n->info.phase = phase;
        n->info.step = step;
        n->info.retry_step = retry_step;
        n->info.retry_since_ms = retry_since_ms;
    }
    pthread_mutex_unlock(&s->mu);
}

bool owned_lease_ok(owned_set_t *s, const char *saga_id, int64_t now_ms, int64_t lease_ms,
                    int64_t margin_ms)
{
    pthread_mutex_lock(&s->mu);
    owned_node_t *n = find(s, saga_id);
    bool ok = n != NULL && !n->info.lost && now_ms < n->info.lease_from_ms + lease_ms - margin_ms;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void owned_mark_cancel(owned_set_t *s, const char *saga_id)
{
    pthread_mutex_lock(&s->mu);
    owned_node_t *n = find(s, saga_id);
    if (n != NULL)
        n->info.cancel = true;
    pthread_mutex_unlock(&s->mu);
}

bool owned_take_cancel(owned_set_t *s, const char *saga_id)
{
    pthread_mutex_lock(&s->mu);
    owned_node_t *n = find(s, saga_id);
    bool c = n != NULL && n->info.cancel;
    if (c)
        n->info.cancel = false;
    pthread_mutex_unlock(&s->mu);
    return c;
}

int owned_renewed(owned_set_t *s, int64_t from_ms, const owned_held_t *held, int n, int *orphans)
{
    int norphans = 0;
    pthread_mutex_lock(&s->mu);
    /* The entries held names move their lease to from_ms; after that, an entry still older
     * than from_ms existed when the renewal ran and the database did not name it: lost. */
    for (int i = 0; i < n; i++) {
        owned_node_t *e = find(s, held[i].saga_id);
        if (e == NULL) {
            orphans[norphans++] = i;
            continue;
        }
        if (e->info.lease_from_ms < from_ms)
            e->info.lease_from_ms = from_ms;
        if (held[i].cancel)
            e->info.cancel = true;
    }
    for (size_t b = 0; b < OWNED_BUCKETS; b++)
        for (owned_node_t *e = s->bucket[b]; e != NULL; e = e->next)
            if (e->info.lease_from_ms < from_ms)
                e->info.lost = true;
    pthread_mutex_unlock(&s->mu);
    return norphans;
}

int owned_stats(owned_set_t *s, int64_t now_ms, int *counts, int64_t *oldest_retry_ms)
{
    pthread_mutex_lock(&s->mu);
    for (int p = 0; p < SAGA_PHASE_COUNT; p++) {
        counts[p] = 0;
        oldest_retry_ms[p] = 0;
    }
    for (size_t b = 0; b < OWNED_BUCKETS; b++)
        for (owned_node_t *e = s->bucket[b]; e != NULL; e = e->next) {
            int p = (int)e->info.phase;
            if (p < 0 || p >= SAGA_PHASE_COUNT)
                continue;
            counts[p]++;
            if (e->info.retry_step != SAGA_STEP_NONE &&
                now_ms - e->info.retry_since_ms > oldest_retry_ms[p])
                oldest_retry_ms[p] = now_ms - e->info.retry_since_ms;
        }
    int count = s->count;
    pthread_mutex_unlock(&s->mu);
    return count;
}
