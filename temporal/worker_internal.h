/* worker_internal.h - the worker's private structures, shared by worker.c (threads, cache,
 * activities) and wft.c (workflow tasks). Not public. */
#ifndef TEMPORAL_WORKER_INTERNAL_H
#define TEMPORAL_WORKER_INTERNAL_H

#include "temporal_internal.h"

#include <stdatomic.h>

#define TC_MAX_QUERIES 16

typedef struct wf_query_reg {
    char *type;
    tc_query_fn fn;
    void *user;
} wf_query_reg;

typedef struct wf_reg {
    char *type;
    tc_workflow_fn fn;
    size_t state_size;
    void *user;
    wf_query_reg queries[TC_MAX_QUERIES];
    size_t n_queries;
} wf_reg;

typedef struct act_reg {
    char *type;
    tc_activity_fn fn;
    void *user;
} act_reg;

typedef struct act_item {
    Temporal__Api__Workflowservice__V1__PollActivityTaskQueueResponse *task;
    struct act_item *next;
} act_item;

typedef struct poller {
    struct tc_worker *w;
    pthread_t th;
    bool started;
    int kind; /* 0 workflow normal, 1 workflow sticky, 2 activity */
    tc_cancel cancel;
} poller;

struct tc_worker {
    tc_client *c;
    char *task_queue;
    char *identity;
    char *sticky_queue; /* NULL when sticky execution is off */
    int sticky_cap;
    int sticky_s2s_ms;
    int max_acts;
    bool eager; /* request eager activity dispatch (tc_worker_options) */

    wf_reg *wfs;
    size_t n_wfs;
    act_reg *acts;
    size_t n_acts;

    poller *pollers;
    size_t n_pollers;
    pthread_t *executors;
    size_t n_executors;

    atomic_bool stop;
    bool started, stopped;
    int64_t start_us;

    /* activity hand-off: slots reserved before polling, so a poll never outruns capacity */
    pthread_mutex_t amu;
    pthread_cond_t acv; /* a slot was freed, or stop: activity pollers wait on it */
    pthread_cond_t ecv; /* a task was queued, or draining: executors wait on it */
    int a_inflight;
    act_item *a_head, *a_tail;
    bool a_draining;

    /* sticky cache: runs by id, least recently used evicted first */
    pthread_mutex_t cmu;
    tc_run **cache;
    size_t n_cache;
    uint64_t lru_clock;

    atomic_uint_fast64_t st_wft, st_act, st_hit, st_miss, st_nondet, st_refetch, st_pages,
        st_eager_req, st_eager;
    atomic_int_fast64_t st_first_poll_us;
};

/* Polls the workflow queue once (normal or sticky) and handles a task if one came. */
void tc_wft_poll_once(struct tc_worker *w, poller *p);

tc_run *tc_cache_take(struct tc_worker *w, const char *run_id);
void tc_cache_put(struct tc_worker *w, tc_run *r);

void tc_worker_note_poll(struct tc_worker *w);

/* Reserves an executor slot for an activity asked for eagerly, without waiting: false when all
 * executors are busy or reserved, or the worker is stopping. Any worker thread. */
bool tc_act_try_reserve(struct tc_worker *w);
/* Gives back n slots reserved with tc_act_try_reserve that no task arrived for. */
void tc_act_release(struct tc_worker *w, int n);
/* Queues an activity task (owned; freed after it ran) for the executors. reserved: a slot was
 * reserved for it; if not, one is taken anyway, because a task the server handed us must run. */
void tc_act_enqueue(struct tc_worker *w,
                    Temporal__Api__Workflowservice__V1__PollActivityTaskQueueResponse *t,
                    bool reserved);

#endif
