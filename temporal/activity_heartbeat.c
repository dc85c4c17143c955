/* activity_heartbeat.c - heartbeats of running activities: throttled as the official SDKs throttle
 * them (at most one RecordActivityTaskHeartbeat per 0.8 x heartbeat timeout; the latest details
 * recorded meanwhile are sent when the interval ends, by the worker's heartbeat thread), the
 * cancellation they bring back, and the worker's stop as activities see it. Must not run
 * activities or touch workflow runs. */
#include "activity_heartbeat.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WS(name) temporal__api__workflowservice__v1__##name

/* The official SDKs' bounds: 0.8 x the heartbeat timeout, at most 60 s; 30 s without one. */
#define HB_DEFAULT_INTERVAL_US (30 * 1000000LL)
#define HB_MAX_INTERVAL_US     (60 * 1000000LL)

struct tc_hb {
    tc_worker *w;
    const tc_act_task *t; /* borrowed: lives until tc_hb_end */
    int64_t interval_us;
    int64_t next_us;  /* earliest time the next heartbeat may be sent */
    bool has_pending; /* details recorded during the interval, not sent yet */
    char *pending;    /* those details (NULL: a heartbeat without details) */
    char *last;       /* the latest details recorded, sent or not (RespondActivityTaskFailed) */
    bool sending;     /* a call is in flight (activity thread or heartbeat thread) */
    int reason;       /* why it is cancelled (TC_ACTIVITY_CANCEL_*), TC_ACTIVITY_CANCEL_NONE */
    char *labels;     /* the activity's metric labels: the heartbeat thread's calls count there */
    bool gone;        /* the server no longer knows the activity (NotFound) */
    struct tc_hb *next;
};

static int64_t interval_of(const tc_act_task *t)
{
    const Google__Protobuf__Duration *d = t->heartbeat_timeout;
    int64_t us = d ? d->seconds * 1000000 + d->nanos / 1000 : 0;
    if (us <= 0)
        return HB_DEFAULT_INTERVAL_US;
    us = us * 4 / 5;
    return us < HB_MAX_INTERVAL_US ? us : HB_MAX_INTERVAL_US;
}

tc_hb *tc_hb_begin(tc_worker *w, const tc_act_task *t, const char *labels)
{
    tc_hb *h = calloc(1, sizeof *h);
    if (!h || !(h->labels = tc_strdup(labels ? labels : ""))) {
        free(h);
        return NULL;
    }
    h->w = w;
    h->t = t;
    h->interval_us = interval_of(t);
    pthread_mutex_lock(&w->hbmu);
    h->next = w->hbs;
    w->hbs = h;
    if (atomic_load(&w->act_cancel))
        h->reason = TC_ACTIVITY_CANCEL_WORKER_SHUTDOWN;
    pthread_mutex_unlock(&w->hbmu);
    return h;
}

char *tc_hb_end(tc_hb *h)
{
    if (!h)
        return NULL;
    tc_worker *w = h->w;
    pthread_mutex_lock(&w->hbmu);
    while (h->sending) /* the heartbeat thread is sending for it */
        pthread_cond_wait(&w->hbcv, &w->hbmu);
    for (tc_hb **p = &w->hbs; *p; p = &(*p)->next)
        if (*p == h) {
            *p = h->next;
            break;
        }
    pthread_mutex_unlock(&w->hbmu);
    char *last = h->last;
    free(h->pending);
    free(h->labels);
    free(h);
    return last;
}

/* One RecordActivityTaskHeartbeat; records what the answer says about cancellation. Called
 * with h->sending set and the lock released. */
static int send_one(tc_hb *h, const char *details, tc_error *err)
{
    tc_worker *w = h->w;
    Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RECORD_ACTIVITY_TASK_HEARTBEAT_REQUEST__INIT;
    tc_pl1 d;
    rq.task_token = h->t->task_token;
    rq.details = tc_pl1_init(&d, details);
    rq.identity = w->identity;
    rq.namespace_ = w->c->ns;
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(w->c, "RecordActivityTaskHeartbeat", TC_RPC_MSG(rq),
                    &WS(record_activity_task_heartbeat_response__descriptor), &m, 0, 0, NULL, err);
    tc_pl1_clear(&d);
    bool cancel = rc == TC_OK &&
                  ((Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatResponse *)m)
                      ->cancel_requested;
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    pthread_mutex_lock(&w->hbmu);
    if (cancel && h->reason == TC_ACTIVITY_CANCEL_NONE)
        h->reason = TC_ACTIVITY_CANCEL_REQUESTED;
    if (rc == TC_ERR_NOT_FOUND)
        h->gone = true;
    pthread_mutex_unlock(&w->hbmu);
    return rc;
}

/* The answer a heartbeat gives once the call (if any) is done: under the lock. */
static int verdict(const tc_hb *h, int rc, tc_error *err)
{
    const char *id = h->t->activity_id;
    if (h->gone)
        return tc_seterr(err, TC_ERR_NOT_FOUND,
                         "activity %s is no longer known to the server (timed out or its run "
                         "closed)",
                         id);
    if (h->reason == TC_ACTIVITY_CANCEL_REQUESTED)
        return tc_seterr(err, TC_ERR_CANCELLED, "activity %s: cancellation requested", id);
    if (h->reason == TC_ACTIVITY_CANCEL_WORKER_SHUTDOWN)
        return tc_seterr(err, TC_ERR_CANCELLED,
                         "activity %s: cancelled, the worker is shutting down", id);
    return rc;
}

int tc_hb_record(tc_hb *h, const char *details_json, tc_error *err)
{
    tc_worker *w = h->w;
    int rc = TC_OK;
    char *copy = details_json ? tc_strdup(details_json) : NULL;
    char *copy2 = details_json ? tc_strdup(details_json) : NULL;
    if (details_json && (!copy || !copy2)) {
        free(copy);
        free(copy2);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_lock(&w->hbmu);
    free(h->last);
    h->last = copy;
    int64_t now = tc_now_us();
    if (h->gone) {
        free(copy2);
    } else if (!h->sending && now >= h->next_us) {
        /* The interval is over (or this is the first): send now, and the details buffered
         * before are superseded by these. */
        h->sending = true;
        h->has_pending = false;
        free(h->pending);
        h->pending = NULL;
        h->next_us = now + h->interval_us;
        pthread_mutex_unlock(&w->hbmu);
        rc = send_one(h, copy2, err);
        free(copy2);
        pthread_mutex_lock(&w->hbmu);
        h->sending = false;
        pthread_cond_broadcast(&w->hbcv);
        if (rc == TC_ERR_NOT_FOUND)
            rc = TC_OK; /* said below, with the reason */
    } else {
        /* Throttled: the heartbeat thread sends the latest details when the interval ends. */
        free(h->pending);
        h->pending = copy2;
        h->has_pending = true;
        pthread_cond_broadcast(&w->hbcv);
    }
    rc = verdict(h, rc, err);
    pthread_mutex_unlock(&w->hbmu);
    return rc;
}

int tc_hb_cancel_reason(tc_hb *h)
{
    pthread_mutex_lock(&h->w->hbmu);
    int reason = h->reason;
    if (reason == TC_ACTIVITY_CANCEL_NONE && h->gone)
        reason = TC_ACTIVITY_CANCEL_GONE;
    pthread_mutex_unlock(&h->w->hbmu);
    return reason;
}

/* ---- the heartbeat thread: sends what was buffered once its interval is over ---- */

static void deadline_ts(struct timespec *ts, int64_t us)
{
    ts->tv_sec = (time_t)(us / 1000000);
    ts->tv_nsec = (long)(us % 1000000) * 1000L;
}

static void *hb_main(void *arg)
{
    tc_worker *w = arg;
    pthread_mutex_lock(&w->hbmu);
    while (!w->hb_stop) {
        int64_t now = tc_now_us(), next = INT64_MAX;
        tc_hb *due = NULL;
        for (tc_hb *h = w->hbs; h; h = h->next) {
            if (!h->has_pending || h->sending)
                continue;
            if (h->next_us <= now) {
                due = h;
                break;
            }
            if (h->next_us < next)
                next = h->next_us;
        }
        if (due) {
            char *details = due->pending;
            due->pending = NULL;
            due->has_pending = false;
            due->sending = true;
            due->next_us = now + due->interval_us;
            pthread_mutex_unlock(&w->hbmu);
            tc_error err;
            tc_rpc_scope scope = {w->metrics, due->labels};
            tc_rpc_scope_set(&scope);
            int rc = send_one(due, details, &err);
            tc_rpc_scope_set(NULL);
            if (rc != TC_OK && rc != TC_ERR_NOT_FOUND)
                tc_logf(&w->log, TC_LOG_WARN, NULL, NULL, NULL, "activity %s: heartbeat: %s",
                        due->t->activity_id, err.text);
            free(details);
            pthread_mutex_lock(&w->hbmu);
            due->sending = false;
            pthread_cond_broadcast(&w->hbcv);
            continue;
        }
        if (next == INT64_MAX) {
            pthread_cond_wait(&w->hbcv, &w->hbmu);
        } else {
            struct timespec ts;
            deadline_ts(&ts, next);
            pthread_cond_timedwait(&w->hbcv, &w->hbmu, &ts);
        }
    }
    pthread_mutex_unlock(&w->hbmu);
    return NULL;
}

int tc_hb_init(tc_worker *w)
{
    /* deadlines come from tc_now_us (CLOCK_MONOTONIC) */
    int e = tc_cond_init_mono(&w->hbcv);
    if (e == 0 && (e = tc_cond_init_mono(&w->stopcv)) != 0)
        pthread_cond_destroy(&w->hbcv);
    if (e != 0)
        return TC_ERR_NOMEM;
    pthread_mutex_init(&w->hbmu, NULL);
    w->hb_inited = true;
    return TC_OK;
}

void tc_hb_destroy(tc_worker *w)
{
    if (!w->hb_inited)
        return;
    pthread_cond_destroy(&w->hbcv);
    pthread_cond_destroy(&w->stopcv);
    pthread_mutex_destroy(&w->hbmu);
}

int tc_hb_start(tc_worker *w, tc_error *err)
{
    if (pthread_create(&w->hb_thread, NULL, hb_main, w) != 0)
        return tc_seterr(err, TC_ERR_NOMEM, "cannot create the heartbeat thread");
    w->hb_started = true;
    return TC_OK;
}

void tc_hb_stop(tc_worker *w)
{
    if (!w->hb_started)
        return;
    pthread_mutex_lock(&w->hbmu);
    w->hb_stop = true;
    pthread_cond_broadcast(&w->hbcv);
    pthread_mutex_unlock(&w->hbmu);
    pthread_join(w->hb_thread, NULL);
    w->hb_started = false;
}

/* ---- the worker's stop, as activities see it ---- */

void tc_hb_worker_stopping(tc_worker *w)
{
    pthread_mutex_lock(&w->hbmu);
    pthread_cond_broadcast(&w->stopcv);
    pthread_mutex_unlock(&w->hbmu);
}

void tc_hb_cancel_all(tc_worker *w)
{
    pthread_mutex_lock(&w->hbmu);
    atomic_store(&w->act_cancel, true);
    for (tc_hb *h = w->hbs; h; h = h->next)
        if (h->reason == TC_ACTIVITY_CANCEL_NONE)
            h->reason = TC_ACTIVITY_CANCEL_WORKER_SHUTDOWN;
    pthread_cond_broadcast(&w->stopcv);
    pthread_mutex_unlock(&w->hbmu);
}

bool tc_hb_wait_stop(tc_worker *w, int timeout_ms)
{
    int64_t end = timeout_ms >= 0 ? tc_now_us() + (int64_t)timeout_ms * 1000 : INT64_MAX;
    pthread_mutex_lock(&w->hbmu);
    while (!atomic_load(&w->stop)) {
        int64_t now = tc_now_us();
        if (now >= end)
            break;
        /* Slices of 200 ms: tc_worker_request_stop (async-signal-safe) sets the flag without
         * a broadcast. */
        int64_t until = end - now > 200000 ? now + 200000 : end;
        struct timespec ts;
        deadline_ts(&ts, until);
        pthread_cond_timedwait(&w->stopcv, &w->hbmu, &ts);
    }
    bool stopping = atomic_load(&w->stop);
    pthread_mutex_unlock(&w->hbmu);
    return stopping;
}
