/* sticky_cache.c - the worker's cache of live runs (their suspended coroutines) between workflow
 * tasks: a run is taken out while a task works on it, put back after a successful answer, and
 * the least recently used is evicted (its coroutines unwound and freed). */
#include "worker_internal.h"

#include <string.h>

tc_run *tc_cache_take(tc_worker *w, const char *run_id)
{
    tc_run *r = NULL;
    pthread_mutex_lock(&w->cmu);
    for (size_t i = 0; i < w->n_cache; i++) {
        if (strcmp(w->cache[i]->run_id, run_id) == 0) {
            r = w->cache[i];
            w->cache[i] = w->cache[--w->n_cache];
            break;
        }
    }
    pthread_mutex_unlock(&w->cmu);
    return r;
}

void tc_cache_put(tc_worker *w, tc_run *r)
{
    if (!w->sticky_queue || w->sticky_cap <= 0) {
        tc_run_free(r);
        return;
    }
    tc_run *evict = NULL;
    pthread_mutex_lock(&w->cmu);
    r->lru = ++w->lru_clock;
    /* A query task may have rebuilt a run while a workflow task held it: keep one entry per
     * run, the one that has seen more history. */
    for (size_t i = 0; i < w->n_cache; i++) {
        if (strcmp(w->cache[i]->run_id, r->run_id) != 0)
            continue;
        if (w->cache[i]->last_event_id > r->last_event_id) {
            evict = r;
        } else {
            evict = w->cache[i];
            w->cache[i] = r;
        }
        pthread_mutex_unlock(&w->cmu);
        tc_run_free(evict);
        return;
    }
    if (w->n_cache == (size_t)w->sticky_cap) {
        size_t old = 0;
        for (size_t i = 1; i < w->n_cache; i++)
            if (w->cache[i]->lru < w->cache[old]->lru)
                old = i;
        evict = w->cache[old];
        w->cache[old] = r;
        atomic_fetch_add(&w->st_evict, 1);
    } else {
        w->cache[w->n_cache++] = r;
    }
    pthread_mutex_unlock(&w->cmu);
    /* Outside the lock: unwinding runs workflow code. Its next task arrives with full history
     * (or is refetched). */
    tc_run_free(evict);
}

void tc_cache_clear(tc_worker *w)
{
    pthread_mutex_lock(&w->cmu);
    size_t n = w->n_cache;
    w->n_cache = 0;
    pthread_mutex_unlock(&w->cmu);
    for (size_t i = 0; i < n; i++)
        tc_run_free(w->cache[i]);
}
