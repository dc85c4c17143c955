/* worker.c - the worker's lifecycle and threads: creation from options, poller and executor
 * threads, graceful shutdown, counters. Workflow tasks are handled in wf_task.c, activity tasks
 * in activity_task.c, registration in registry.c. */
#include "local_activity.h"
#include "worker_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WS(name) temporal__api__workflowservice__v1__##name

int tc_worker_new(tc_client *c, const tc_worker_options *o, tc_worker **out, tc_error *err)
{
    *out = NULL;
    if (!c || !o || !o->task_queue || !*o->task_queue)
        return tc_seterr(err, TC_ERR_INVALID, "client and task_queue are required");
    tc_worker *w = calloc(1, sizeof *w);
    if (!w)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    w->c = c;
    w->task_queue = tc_strdup(o->task_queue);
    w->identity = tc_strdup(o->identity ? o->identity : c->identity);
    w->sticky_cap = o->sticky_cache_size == 0 ? 100 : o->sticky_cache_size;
    w->sticky_s2s_ms = o->sticky_schedule_to_start_ms > 0 ? o->sticky_schedule_to_start_ms : 10000;
    w->max_acts = o->max_concurrent_activities > 0 ? o->max_concurrent_activities : 8;
    w->no_remote = o->no_remote_activities;
    w->eager = !o->no_eager_activities && !o->no_remote_activities;
    w->stack_size = o->workflow_stack_size;
    w->policy = o->task_failure_policy;
    /* The worker's own callback, else its client's, else one line to stderr. */
    w->log.fn = o->log_fn ? o->log_fn : c->log_fn ? c->log_fn : tc_log_stderr;
    w->log.user = o->log_fn ? o->log_user : c->log_fn ? c->log_user : NULL;
    w->log.min = o->log_level ? o->log_level : TC_LOG_INFO;
    int wfp = o->workflow_pollers > 0 ? o->workflow_pollers : 4;
    int afp = o->activity_pollers > 0 ? o->activity_pollers : 2;
    if (w->sticky_cap > 0) {
        /* The sticky queue is unique to this worker, so a restarted worker never inherits it. */
        char uuid[37], name[256];
        tc_uuid(uuid);
        snprintf(name, sizeof name, "%s-sticky-%s", w->identity ? w->identity : "w", uuid);
        w->sticky_queue = tc_strdup(name);
        if (wfp < 2)
            wfp = 2; /* one poller per queue at least: unpolled sticky tasks wait out timeouts */
        w->cache = calloc((size_t)w->sticky_cap, sizeof *w->cache);
    }
    w->n_pollers = (size_t)(wfp + afp);
    w->pollers = calloc(w->n_pollers, sizeof *w->pollers);
    w->n_executors = (size_t)w->max_acts;
    w->executors = calloc(w->n_executors, sizeof *w->executors);
    if (!w->task_queue || !w->identity || !w->pollers || !w->executors ||
        (w->sticky_cap > 0 && (!w->sticky_queue || !w->cache))) {
        tc_worker_free(w);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    int sticky_pollers = w->sticky_queue ? wfp / 2 : 0;
    for (size_t i = 0; i < w->n_pollers; i++) {
        poller *p = &w->pollers[i];
        p->w = w;
        p->kind = (int)i < wfp ? ((int)i < sticky_pollers ? POLL_WF_STICKY : POLL_WF_NORMAL)
                               : POLL_ACTIVITY;
        tc_cancel_init(&p->cancel);
    }
    pthread_mutex_init(&w->amu, NULL);
    pthread_cond_init(&w->acv, NULL);
    pthread_cond_init(&w->ecv, NULL);
    pthread_mutex_init(&w->cmu, NULL);
    pthread_mutex_init(&w->emu, NULL);
    pthread_cond_init(&w->ecv_free, NULL);
    if (tc_la_worker_init(w) != TC_OK) {
        tc_worker_free(w);
        return tc_seterr(err, TC_ERR_NOMEM, "cannot set up the local activity wait");
    }
    atomic_init(&w->stop, false);
    atomic_init(&w->st_first_poll_us, -1);
    *out = w;
    return TC_OK;
}

static void *poller_main(void *arg)
{
    poller *p = arg;
    tc_worker *w = p->w;
    while (!atomic_load(&w->stop)) {
        if (p->kind == POLL_ACTIVITY)
            tc_act_poll_once(w, p);
        else
            tc_wft_poll_once(w, p);
    }
    return NULL;
}

static void *executor_main(void *arg)
{
    tc_worker *w = arg;
    act_item *it;
    while ((it = tc_act_next(w)) != NULL) {
        if (it->local)
            tc_la_exec_run(w, it->local);
        else
            tc_activity_run(w, it->task);
        tc_act_done(w, it);
    }
    return NULL; /* draining and nothing left */
}

int tc_worker_start(tc_worker *w, tc_error *err)
{
    if (w->started)
        return tc_seterr(err, TC_ERR_STATE, "worker already started");
    w->started = true;
    w->start_us = tc_now_us();
    for (size_t i = 0; i < w->n_executors; i++) {
        if (pthread_create(&w->executors[i], NULL, executor_main, w) != 0) {
            w->n_executors = i;
            tc_worker_stop(w);
            return tc_seterr(err, TC_ERR_NOMEM, "cannot create executor thread");
        }
    }
    for (size_t i = 0; i < w->n_pollers; i++) {
        poller *p = &w->pollers[i];
        if (p->kind == POLL_ACTIVITY && (w->n_acts == 0 || w->no_remote))
            continue; /* no activities registered: do not take activity tasks */
        if (p->kind != POLL_ACTIVITY && w->n_wfs == 0)
            continue;
        if (pthread_create(&p->th, NULL, poller_main, p) != 0) {
            tc_worker_stop(w);
            return tc_seterr(err, TC_ERR_NOMEM, "cannot create poller thread");
        }
        p->started = true;
    }
    int rc = w->n_wfs > 0 ? tc_eager_register(w, err) : TC_OK;
    if (rc != TC_OK)
        tc_worker_stop(w);
    return rc;
}

void tc_worker_request_stop(tc_worker *w)
{
    atomic_store(&w->stop, true);
}

void tc_worker_stop(tc_worker *w)
{
    if (!w || !w->started || w->stopped)
        return;
    w->stopped = true;
    atomic_store(&w->stop, true);
    /* Tasks waiting for local activities tell them to cancel (eager first tasks too, which
     * the next call waits for); then no new first tasks, and those running finish. */
    tc_la_worker_wake(w);
    tc_eager_unregister(w);
    pthread_mutex_lock(&w->amu);
    pthread_cond_broadcast(&w->acv);
    pthread_cond_broadcast(&w->ecv);
    pthread_mutex_unlock(&w->amu);
    /* Stop polling: cancel the long polls in flight. A workflow task already received is
     * finished and answered by its poller before it exits. */
    for (size_t i = 0; i < w->n_pollers; i++)
        tc_cancel_fire(&w->pollers[i].cancel);
    for (size_t i = 0; i < w->n_pollers; i++)
        if (w->pollers[i].started)
            pthread_join(w->pollers[i].th, NULL);
    /* Executors finish every activity already received, then exit. */
    pthread_mutex_lock(&w->amu);
    w->a_draining = true;
    pthread_cond_broadcast(&w->ecv);
    pthread_mutex_unlock(&w->amu);
    for (size_t i = 0; i < w->n_executors; i++)
        pthread_join(w->executors[i], NULL);
    if (w->sticky_queue) {
        Temporal__Api__Workflowservice__V1__ShutdownWorkerRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__SHUTDOWN_WORKER_REQUEST__INIT;
        rq.namespace_ = w->c->ns;
        rq.sticky_task_queue = w->sticky_queue;
        rq.identity = w->identity;
        rq.reason = (char *)"graceful shutdown";
        ProtobufCMessage *m = NULL;
        tc_error err;
        /* Older servers lack this call; their sticky tasks fall back after the timeout. */
        tc_rpc(w->c, "ShutdownWorker", TC_RPC_MSG(rq), &WS(shutdown_worker_response__descriptor),
               &m, 5000, TC_RPC_NO_RETRY, NULL, &err);
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
    }
}

int tc_worker_run(tc_worker *w, tc_error *err)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int rc = tc_worker_start(w, err);
    if (rc == TC_OK) {
        struct timespec ts = {0, 200 * 1000000L};
        while (!atomic_load(&w->stop)) {
            int s = sigtimedwait(&set, NULL, &ts);
            if (s == SIGTERM || s == SIGINT)
                break;
        }
        tc_worker_stop(w);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

void tc_worker_free(tc_worker *w)
{
    if (!w)
        return;
    tc_worker_stop(w);
    for (size_t i = 0; i < w->n_pollers; i++)
        tc_cancel_destroy(&w->pollers[i].cancel);
    free(w->pollers);
    free(w->executors);
    while (w->a_head) {
        act_item *n = w->a_head->next;
        if (w->a_head->local)
            tc_la_exec_run(w, w->a_head->local); /* never happens after a stop: executors drain */
        else
            protobuf_c_message_free_unpacked(&w->a_head->task->base, NULL);
        free(w->a_head);
        w->a_head = n;
    }
    tc_cache_clear(w);
    free(w->cache);
    for (size_t i = 0; i < w->n_wfs; i++) {
        for (size_t q = 0; q < w->wfs[i].n_queries; q++)
            free(w->wfs[i].queries[q].name);
        free(w->wfs[i].queries);
        for (size_t q = 0; q < w->wfs[i].n_updates; q++)
            free(w->wfs[i].updates[q].name);
        free(w->wfs[i].updates);
        free(w->wfs[i].type);
    }
    free(w->wfs);
    for (size_t i = 0; i < w->n_acts; i++)
        free(w->acts[i].type);
    free(w->acts);
    pthread_mutex_destroy(&w->amu);
    pthread_cond_destroy(&w->acv);
    pthread_cond_destroy(&w->ecv);
    pthread_mutex_destroy(&w->cmu);
    pthread_mutex_destroy(&w->emu);
    pthread_cond_destroy(&w->ecv_free);
    free(w->eslots);
    tc_la_worker_destroy(w);
    free(w->task_queue);
    free(w->identity);
    free(w->sticky_queue);
    free(w);
}

void tc_worker_get_stats(const tc_worker *w, tc_worker_stats *out)
{
    out->workflow_tasks = atomic_load(&w->st_wft);
    out->activity_tasks = atomic_load(&w->st_act);
    out->sticky_hits = atomic_load(&w->st_hit);
    out->sticky_misses = atomic_load(&w->st_miss);
    out->nondeterminism = atomic_load(&w->st_nondet);
    out->history_refetches = atomic_load(&w->st_refetch);
    out->history_pages = atomic_load(&w->st_pages);
    out->first_poll_us = atomic_load(&w->st_first_poll_us);
    out->eager_requested = atomic_load(&w->st_eager_req);
    out->eager_activity_tasks = atomic_load(&w->st_eager);
    out->eager_workflow_requested = atomic_load(&w->st_eager_wf_req);
    out->eager_workflow_tasks = atomic_load(&w->st_eager_wf);
}
