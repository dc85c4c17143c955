/* worker.c - the worker: registration, poller and executor threads, graceful shutdown, the
 * sticky run cache, and activity task execution. Workflow tasks are handled in wft.c. */
#include "worker_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WS(name) temporal__api__workflowservice__v1__##name
typedef Temporal__Api__Workflowservice__V1__PollActivityTaskQueueResponse act_task;

enum { ACT_NONE, ACT_COMPLETED, ACT_FAILED, ACT_CANCELLED };

struct tc_activity_ctx {
    struct tc_worker *w;
    const act_task *t;
    char **inputs;
    size_t n_inputs;
    int outcome;
    char *result;
    char *ftype, *fmsg;
    bool non_retryable;
    bool cancel_requested;
};

/* ---- registration ---- */

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
    w->eager = !o->no_eager_activities;
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
        p->kind = (int)i < wfp ? ((int)i < sticky_pollers ? 1 : 0) : 2;
        tc_cancel_init(&p->cancel);
    }
    pthread_mutex_init(&w->amu, NULL);
    pthread_cond_init(&w->acv, NULL);
    pthread_cond_init(&w->ecv, NULL);
    pthread_mutex_init(&w->cmu, NULL);
    atomic_init(&w->stop, false);
    atomic_init(&w->st_first_poll_us, -1);
    *out = w;
    return TC_OK;
}

int tc_worker_register_workflow(tc_worker *w, const char *type, tc_workflow_fn fn,
                                size_t state_size, void *user, tc_error *err)
{
    if (!w || !type || !*type || !fn)
        return tc_seterr(err, TC_ERR_INVALID, "workflow type and fn are required");
    if (w->started)
        return tc_seterr(err, TC_ERR_STATE, "worker already started");
    for (size_t i = 0; i < w->n_wfs; i++)
        if (strcmp(w->wfs[i].type, type) == 0)
            return tc_seterr(err, TC_ERR_INVALID, "workflow %s registered twice", type);
    wf_reg *n = realloc(w->wfs, (w->n_wfs + 1) * sizeof *n);
    if (!n)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    w->wfs = n;
    wf_reg *r = &w->wfs[w->n_wfs];
    memset(r, 0, sizeof *r);
    r->type = tc_strdup(type);
    if (!r->type)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    r->fn = fn;
    r->state_size = state_size;
    r->user = user;
    w->n_wfs++;
    return TC_OK;
}

int tc_worker_register_query(tc_worker *w, const char *wf_type, const char *query_type,
                             tc_query_fn fn, void *user, tc_error *err)
{
    if (!w || !wf_type || !query_type || !*query_type || !fn)
        return tc_seterr(err, TC_ERR_INVALID, "workflow type, query type and fn are required");
    if (w->started)
        return tc_seterr(err, TC_ERR_STATE, "worker already started");
    for (size_t i = 0; i < w->n_wfs; i++) {
        wf_reg *r = &w->wfs[i];
        if (strcmp(r->type, wf_type) != 0)
            continue;
        if (r->n_queries == TC_MAX_QUERIES)
            return tc_seterr(err, TC_ERR_INVALID, "too many queries on %s", wf_type);
        r->queries[r->n_queries].type = tc_strdup(query_type);
        if (!r->queries[r->n_queries].type)
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        r->queries[r->n_queries].fn = fn;
        r->queries[r->n_queries].user = user;
        r->n_queries++;
        return TC_OK;
    }
    return tc_seterr(err, TC_ERR_INVALID, "workflow %s is not registered", wf_type);
}

int tc_worker_register_activity(tc_worker *w, const char *type, tc_activity_fn fn, void *user,
                                tc_error *err)
{
    if (!w || !type || !*type || !fn)
        return tc_seterr(err, TC_ERR_INVALID, "activity type and fn are required");
    if (w->started)
        return tc_seterr(err, TC_ERR_STATE, "worker already started");
    for (size_t i = 0; i < w->n_acts; i++)
        if (strcmp(w->acts[i].type, type) == 0)
            return tc_seterr(err, TC_ERR_INVALID, "activity %s registered twice", type);
    act_reg *n = realloc(w->acts, (w->n_acts + 1) * sizeof *n);
    if (!n)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    w->acts = n;
    w->acts[w->n_acts].type = tc_strdup(type);
    if (!w->acts[w->n_acts].type)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    w->acts[w->n_acts].fn = fn;
    w->acts[w->n_acts].user = user;
    w->n_acts++;
    return TC_OK;
}

/* ---- sticky cache ---- */

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
    } else {
        w->cache[w->n_cache++] = r;
    }
    pthread_mutex_unlock(&w->cmu);
    tc_run_free(evict); /* its next task arrives with full history (or is refetched) */
}

/* ---- activities ---- */

size_t tc_activity_input_count(const tc_activity_ctx *ctx)
{
    return ctx->n_inputs;
}
const char *tc_activity_input(const tc_activity_ctx *ctx, size_t i)
{
    return i < ctx->n_inputs ? ctx->inputs[i] : NULL;
}
const char *tc_activity_workflow_id(const tc_activity_ctx *ctx)
{
    return ctx->t->workflow_execution ? ctx->t->workflow_execution->workflow_id : "";
}
const char *tc_activity_run_id(const tc_activity_ctx *ctx)
{
    return ctx->t->workflow_execution ? ctx->t->workflow_execution->run_id : "";
}
const char *tc_activity_id(const tc_activity_ctx *ctx)
{
    return ctx->t->activity_id;
}
const char *tc_activity_type(const tc_activity_ctx *ctx)
{
    return ctx->t->activity_type ? ctx->t->activity_type->name : "";
}
int tc_activity_attempt(const tc_activity_ctx *ctx)
{
    return ctx->t->attempt;
}

int tc_activity_complete(tc_activity_ctx *ctx, const char *result_json)
{
    if (ctx->outcome != ACT_NONE)
        return TC_ERR_STATE;
    ctx->outcome = ACT_COMPLETED;
    if (result_json && !(ctx->result = tc_strdup(result_json)))
        return TC_ERR_NOMEM;
    return TC_OK;
}

int tc_activity_fail(tc_activity_ctx *ctx, const char *type, const char *message,
                     bool non_retryable)
{
    if (ctx->outcome != ACT_NONE)
        return TC_ERR_STATE;
    ctx->outcome = ACT_FAILED;
    ctx->ftype = tc_strdup(type ? type : "Error");
    ctx->fmsg = tc_strdup(message ? message : "");
    ctx->non_retryable = non_retryable;
    return (ctx->ftype && ctx->fmsg) ? TC_OK : TC_ERR_NOMEM;
}

int tc_activity_report_cancelled(tc_activity_ctx *ctx)
{
    if (ctx->outcome != ACT_NONE)
        return TC_ERR_STATE;
    ctx->outcome = ACT_CANCELLED;
    return TC_OK;
}

bool tc_activity_cancel_requested(const tc_activity_ctx *ctx)
{
    return ctx->cancel_requested;
}

int tc_activity_heartbeat(tc_activity_ctx *ctx, const char *details_json, tc_error *err)
{
    Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RECORD_ACTIVITY_TASK_HEARTBEAT_REQUEST__INIT;
    tc_pl1 d;
    rq.task_token = ctx->t->task_token;
    rq.details = tc_pl1_init(&d, details_json);
    rq.identity = ctx->w->identity;
    rq.namespace_ = ctx->w->c->ns;
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(ctx->w->c, "RecordActivityTaskHeartbeat", TC_RPC_MSG(rq),
                    &WS(record_activity_task_heartbeat_response__descriptor), &m, 0, 0, NULL, err);
    if (rc != TC_OK)
        return rc;
    if (((Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatResponse *)m)
            ->cancel_requested)
        ctx->cancel_requested = true;
    protobuf_c_message_free_unpacked(m, NULL);
    if (ctx->cancel_requested)
        return tc_seterr(err, TC_ERR_CANCELLED, "activity %s: cancellation requested",
                         ctx->t->activity_id);
    return TC_OK;
}

static void respond_activity(tc_worker *w, tc_activity_ctx *ctx)
{
    ProtobufCMessage *m = NULL;
    tc_error err = {0};
    int rc;
    if (ctx->outcome == ACT_FAILED) {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskFailedRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_FAILED_REQUEST__INIT;
        tc_appfail f;
        rq.task_token = ctx->t->task_token;
        rq.failure = tc_appfail_init(&f, ctx->ftype, ctx->fmsg, ctx->non_retryable);
        rq.identity = w->identity;
        rq.namespace_ = w->c->ns;
        rc = tc_rpc(w->c, "RespondActivityTaskFailed", TC_RPC_MSG(rq),
                    &WS(respond_activity_task_failed_response__descriptor), &m, 0, 0, NULL, &err);
    } else if (ctx->outcome == ACT_CANCELLED) {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskCanceledRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_CANCELED_REQUEST__INIT;
        rq.task_token = ctx->t->task_token;
        rq.identity = w->identity;
        rq.namespace_ = w->c->ns;
        rc = tc_rpc(w->c, "RespondActivityTaskCanceled", TC_RPC_MSG(rq),
                    &WS(respond_activity_task_canceled_response__descriptor), &m, 0, 0, NULL, &err);
    } else {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskCompletedRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_COMPLETED_REQUEST__INIT;
        tc_pl1 res;
        rq.task_token = ctx->t->task_token;
        rq.result = tc_pl1_init(&res, ctx->result);
        rq.identity = w->identity;
        rq.namespace_ = w->c->ns;
        rc =
            tc_rpc(w->c, "RespondActivityTaskCompleted", TC_RPC_MSG(rq),
                   &WS(respond_activity_task_completed_response__descriptor), &m, 0, 0, NULL, &err);
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    /* NotFound: the activity timed out or its run closed meanwhile; nothing to do. */
    if (rc != TC_OK && rc != TC_ERR_NOT_FOUND)
        fprintf(stderr, "temporal-c: activity %s response: %s\n", ctx->t->activity_id, err.text);
}

static void run_activity(tc_worker *w, const act_task *t)
{
    tc_activity_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.w = w;
    ctx.t = t;
    const char *type = t->activity_type ? t->activity_type->name : "";
    const act_reg *reg = NULL;
    for (size_t i = 0; i < w->n_acts; i++)
        if (strcmp(w->acts[i].type, type) == 0)
            reg = &w->acts[i];
    size_t n = t->input ? t->input->n_payloads : 0;
    ctx.inputs = n ? calloc(n, sizeof *ctx.inputs) : NULL;
    if (n && !ctx.inputs) {
        tc_activity_fail(&ctx, "OutOfMemory", "cannot decode activity input", false);
    } else {
        for (size_t i = 0; i < n; i++) {
            ctx.inputs[i] = tc_payload_json(t->input->payloads[i]);
            ctx.n_inputs++;
        }
        if (!reg) {
            char msg[256];
            snprintf(msg, sizeof msg, "activity type %s is not registered on this worker", type);
            tc_activity_fail(&ctx, "ActivityNotRegistered", msg, false);
        } else {
            reg->fn(&ctx, reg->user);
        }
    }
    respond_activity(w, &ctx);
    atomic_fetch_add(&w->st_act, 1);
    for (size_t i = 0; i < ctx.n_inputs; i++)
        free(ctx.inputs[i]);
    free(ctx.inputs);
    free(ctx.result);
    free(ctx.ftype);
    free(ctx.fmsg);
}

/* ---- threads ---- */

void tc_worker_note_poll(tc_worker *w)
{
    int_fast64_t unset = -1;
    atomic_compare_exchange_strong(&w->st_first_poll_us, &unset, tc_now_us() - w->start_us);
}

static void act_poll_once(tc_worker *w, poller *p)
{
    pthread_mutex_lock(&w->amu);
    while (w->a_inflight >= w->max_acts && !atomic_load(&w->stop))
        pthread_cond_wait(&w->acv, &w->amu);
    if (atomic_load(&w->stop)) {
        pthread_mutex_unlock(&w->amu);
        return;
    }
    w->a_inflight++; /* reserve an executor before asking for work */
    pthread_mutex_unlock(&w->amu);

    Temporal__Api__Workflowservice__V1__PollActivityTaskQueueRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__POLL_ACTIVITY_TASK_QUEUE_REQUEST__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    tq.name = w->task_queue;
    tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    rq.namespace_ = w->c->ns;
    rq.task_queue = &tq;
    rq.identity = w->identity;
    ProtobufCMessage *m = NULL;
    tc_error err = {0};
    tc_worker_note_poll(w);
    int rc = tc_rpc(w->c, "PollActivityTaskQueue", TC_RPC_MSG(rq),
                    &WS(poll_activity_task_queue_response__descriptor), &m, TC_POLL_TIMEOUT_MS,
                    TC_RPC_NO_RETRY, &p->cancel, &err);
    act_item *it = NULL;
    if (rc == TC_OK && ((act_task *)m)->task_token.len && (it = calloc(1, sizeof *it))) {
        it->task = (act_task *)m;
        m = NULL;
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    pthread_mutex_lock(&w->amu);
    if (it) {
        if (w->a_tail)
            w->a_tail->next = it;
        else
            w->a_head = it;
        w->a_tail = it;
        pthread_cond_signal(&w->ecv); /* one executor for one task */
    } else {
        w->a_inflight--;
        pthread_cond_signal(&w->acv); /* the slot is free again */
    }
    pthread_mutex_unlock(&w->amu);
    if (rc != TC_OK && rc != TC_ERR_TIMEOUT && rc != TC_ERR_CANCELLED && !atomic_load(&w->stop)) {
        fprintf(stderr, "temporal-c: activity poll: %s\n", err.text);
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
}

bool tc_act_try_reserve(tc_worker *w)
{
    bool ok = false;
    pthread_mutex_lock(&w->amu);
    if (w->a_inflight < w->max_acts && !atomic_load(&w->stop)) {
        w->a_inflight++;
        ok = true;
    }
    pthread_mutex_unlock(&w->amu);
    return ok;
}

void tc_act_release(tc_worker *w, int n)
{
    if (n <= 0)
        return;
    pthread_mutex_lock(&w->amu);
    w->a_inflight -= n;
    pthread_cond_broadcast(&w->acv); /* n slots: wake every waiting poller */
    pthread_mutex_unlock(&w->amu);
}

void tc_act_enqueue(tc_worker *w, act_task *t, bool reserved)
{
    act_item *it = calloc(1, sizeof *it);
    if (!it) {
        /* Cannot queue it: the server times it out and retries it (start_to_close). */
        fprintf(stderr, "temporal-c: out of memory queueing activity %s\n", t->activity_id);
        protobuf_c_message_free_unpacked(&t->base, NULL);
        if (reserved)
            tc_act_release(w, 1);
        return;
    }
    it->task = t;
    pthread_mutex_lock(&w->amu);
    if (!reserved)
        w->a_inflight++;
    if (w->a_tail)
        w->a_tail->next = it;
    else
        w->a_head = it;
    w->a_tail = it;
    /* One executor is enough for one task (a broadcast would wake them all to find one). */
    pthread_cond_signal(&w->ecv);
    pthread_mutex_unlock(&w->amu);
}

static void *poller_main(void *arg)
{
    poller *p = arg;
    tc_worker *w = p->w;
    while (!atomic_load(&w->stop)) {
        if (p->kind == 2)
            act_poll_once(w, p);
        else
            tc_wft_poll_once(w, p);
    }
    return NULL;
}

static void *executor_main(void *arg)
{
    tc_worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->amu);
        while (!w->a_head && !w->a_draining)
            pthread_cond_wait(&w->ecv, &w->amu);
        act_item *it = w->a_head;
        if (!it) { /* draining and nothing left */
            pthread_mutex_unlock(&w->amu);
            return NULL;
        }
        w->a_head = it->next;
        if (!w->a_head)
            w->a_tail = NULL;
        pthread_mutex_unlock(&w->amu);

        run_activity(w, it->task);
        protobuf_c_message_free_unpacked(&it->task->base, NULL);
        free(it);

        pthread_mutex_lock(&w->amu);
        w->a_inflight--;
        pthread_cond_signal(&w->acv); /* one slot freed: one waiting poller */
        pthread_mutex_unlock(&w->amu);
    }
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
        if (p->kind == 2 && w->n_acts == 0)
            continue; /* no activities registered: do not take activity tasks */
        if (p->kind != 2 && w->n_wfs == 0)
            continue;
        if (pthread_create(&p->th, NULL, poller_main, p) != 0) {
            tc_worker_stop(w);
            return tc_seterr(err, TC_ERR_NOMEM, "cannot create poller thread");
        }
        p->started = true;
    }
    return TC_OK;
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
        protobuf_c_message_free_unpacked(&w->a_head->task->base, NULL);
        free(w->a_head);
        w->a_head = n;
    }
    for (size_t i = 0; i < w->n_cache; i++)
        tc_run_free(w->cache[i]);
    free(w->cache);
    for (size_t i = 0; i < w->n_wfs; i++) {
        for (size_t q = 0; q < w->wfs[i].n_queries; q++)
            free(w->wfs[i].queries[q].type);
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
}
