/* local_activity_exec.c - local activities on the worker's side: each attempt runs on an
 * executor thread while the workflow task's thread waits for it, applies its outcome (the run
 * records the marker and runs the code), retries after a local backoff, enforces the attempt
 * and schedule-to-close timeouts, and answers the task before its timeout when attempts are
 * still running (a heartbeat). Must not make commands itself: cmd_local_activity.c does. */
#include "local_activity.h"
#include "worker_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The task is answered once 80 % of its timeout has passed, as sdk-core does, leaving the rest
 * for the answer to reach the server. */
#define HEARTBEAT_PERCENT 80

int tc_la_worker_init(tc_worker *w)
{
    w->la_waiters = NULL;
    return pthread_mutex_init(&w->lmu, NULL) == 0 ? TC_OK : TC_ERR_NOMEM;
}

void tc_la_worker_destroy(tc_worker *w)
{
    pthread_mutex_destroy(&w->lmu);
}

void tc_la_worker_wake(tc_worker *w)
{
    pthread_mutex_lock(&w->lmu);
    for (tc_la_waiter *q = w->la_waiters; q; q = q->next)
        pthread_cond_broadcast(q->cv);
    pthread_mutex_unlock(&w->lmu);
}

/* ---- the task threads' condvars ---- */

/* A finished attempt wakes its task thread after unlocking, so the condvar must still exist
 * when that thread has already seen the result (it may time out and look) and gone on: each
 * task thread has one that is never destroyed. At the thread's end it goes back to a pool for
 * the next thread; a late wake-up of one reused so is spurious, and every wait re-checks what it
 * waits for. Without memory for one, threads share one condvar (attempts broadcast, so sharing
 * costs wake-ups, not correctness). */
typedef struct cv_box {
    pthread_cond_t cv;
    struct cv_box *next_free, *next_all;
} cv_box;

static pthread_mutex_t g_cv_mu = PTHREAD_MUTEX_INITIALIZER;
static cv_box *g_cv_free, *g_cv_all; /* all: every box, kept reachable */
static pthread_cond_t g_cv_shared;
static pthread_key_t g_cv_key;
static bool g_cv_key_ok;
static pthread_once_t g_cv_once = PTHREAD_ONCE_INIT;

static void cv_release(void *p)
{
    cv_box *b = p;
    pthread_mutex_lock(&g_cv_mu);
    b->next_free = g_cv_free;
    g_cv_free = b;
    pthread_mutex_unlock(&g_cv_mu);
}

static void cv_once(void)
{
    tc_cond_init_mono(&g_cv_shared); /* glibc: cannot fail on this clock */
    g_cv_key_ok = pthread_key_create(&g_cv_key, cv_release) == 0;
}

static pthread_cond_t *thread_cv(void)
{
    pthread_once(&g_cv_once, cv_once);
    if (!g_cv_key_ok)
        return &g_cv_shared;
    cv_box *b = pthread_getspecific(g_cv_key);
    if (b)
        return &b->cv;
    pthread_mutex_lock(&g_cv_mu);
    b = g_cv_free;
    if (b)
        g_cv_free = b->next_free;
    pthread_mutex_unlock(&g_cv_mu);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b || tc_cond_init_mono(&b->cv)) {
            free(b);
            return &g_cv_shared;
        }
        pthread_mutex_lock(&g_cv_mu);
        b->next_all = g_cv_all;
        g_cv_all = b;
        pthread_mutex_unlock(&g_cv_mu);
    }
    if (pthread_setspecific(g_cv_key, b)) {
        cv_release(b);
        return &g_cv_shared;
    }
    return &b->cv;
}

/* Wall clock in Unix ms: schedule-to-close counts from the workflow time the local activity
 * was started at (the Go SDK's rule, which holds when a run is rebuilt elsewhere). */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- attempts ---- */

/* Starts the attempt la->run_attempt of la on the executors. */
static int start_attempt(tc_worker *w, tc_run *r, tc_la *la, int64_t now)
{
    tc_la_exec *x = calloc(1, sizeof *x);
    if (!x)
        return TC_ERR_NOMEM;
    x->refs = 2;
    x->w = w;
    x->attempt = la->run_attempt;
    atomic_init(&x->cancel, false);
    x->type = tc_strdup(la->type);
    x->id = tc_strdup(la->id);
    x->workflow_id = tc_strdup(r->workflow_id);
    x->run_id = tc_strdup(r->run_id);
    x->workflow_type = tc_strdup(r->workflow_type);
    x->inputs = la->n_inputs ? calloc(la->n_inputs, sizeof *x->inputs) : NULL;
    bool ok = x->type && x->id && x->workflow_id && x->run_id && x->workflow_type &&
              (!la->n_inputs || x->inputs);
    for (size_t i = 0; ok && i < la->n_inputs; i++)
        ok = (x->inputs[x->n_inputs++] = tc_strdup(la->inputs[i])) != NULL;
    /* The attempt's limit: start-to-close, cut short by what remains of schedule-to-close. */
    int64_t limit_ms = la->start_to_close_ms;
    if (la->schedule_to_close_ms > 0) {
        int64_t left = la->schedule_to_close_ms - (wall_ms() - la->scheduled_wall);
        if (left < 1)
            left = 1;
        if (limit_ms <= 0 || left <= limit_ms) {
            limit_ms = left;
            x->deadline_final = true;
        }
    }
    x->deadline_us = now + limit_ms * 1000;
    if (!ok || !tc_act_enqueue_local(w, x)) {
        tc_la_exec_free(x);
        return TC_ERR_NOMEM;
    }
    la->exec = x;
    la->due_us = 0;
    return TC_OK;
}

/* ---- outcomes ---- */

static void timeout_failure(tc_pb_failure *f, Temporal__Api__Failure__V1__TimeoutFailureInfo *ti,
                            bool schedule_to_close)
{
    temporal__api__failure__v1__failure__init(f);
    temporal__api__failure__v1__timeout_failure_info__init(ti);
    f->message = (char *)(schedule_to_close ? "activity ScheduleToClose timeout"
                                            : "activity StartToClose timeout");
    f->source = (char *)"CSDK";
    ti->timeout_type = schedule_to_close
                           ? TEMPORAL__API__ENUMS__V1__TIMEOUT_TYPE__TIMEOUT_TYPE_SCHEDULE_TO_CLOSE
                           : TEMPORAL__API__ENUMS__V1__TIMEOUT_TYPE__TIMEOUT_TYPE_START_TO_CLOSE;
    f->failure_info_case = TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TIMEOUT_FAILURE_INFO;
    f->timeout_failure_info = ti;
}

/* A failed attempt: retried here after a short backoff, recorded with a durable timer before
 * the next round, or recorded as the final failure. */
static void failed(tc_run *r, tc_la *la, int attempt, const tc_pb_failure *f, bool final,
                   bool stopping, int64_t now)
{
    const char *type, *msg;
    bool nr;
    int64_t backoff = 0;
    tc_failure_describe(f, &type, &msg, &nr);
    int next =
        tc_la_retry_decide(&la->retry, attempt, type, nr, final, wall_ms() - la->scheduled_wall,
                           la->schedule_to_close_ms, la->threshold_ms, &backoff);
    if (next == LA_RETRY_LOCAL && stopping) {
        la->shutdown_cancelled = true; /* no marker: a worker that runs it again starts over */
    } else if (next == LA_RETRY_LOCAL) {
        la->run_attempt = attempt + 1;
        la->due_us = now + backoff * 1000;
    } else {
        tc_la_fail(r, la, attempt, f, next == LA_RETRY_TIMER ? backoff : 0);
        tc_la_run_code(r);
    }
}

static void outcome(tc_run *r, tc_la *la, int attempt, const tc_la_outcome *o, bool stopping,
                    int64_t now)
{
    if (la->cancel_requested) {
        tc_la_cancelled(r, la, attempt); /* wait-cancellation-completed: it returned */
        tc_la_run_code(r);
    } else if (o->kind == LA_OUT_OK) {
        tc_la_complete(r, la, attempt, o->result);
        tc_la_run_code(r);
    } else if (o->kind == LA_OUT_CANCELLED && stopping) {
        la->shutdown_cancelled = true; /* acknowledged the worker's stop: no marker */
    } else if (o->kind == LA_OUT_CANCELLED) {
        tc_la_cancelled(r, la, attempt);
        tc_la_run_code(r);
    } else {
        tc_appfail af;
        tc_pb_failure *whole =
            o->failure
                ? temporal__api__failure__v1__failure__unpack(NULL, o->failure_len, o->failure)
                : NULL; /* tc_activity_fail_failure: recorded as raised */
        failed(r, la, attempt,
               whole ? whole : tc_appfail_init(&af, o->ftype, o->fmsg, o->non_retryable), false,
               stopping, now);
        if (whole)
            temporal__api__failure__v1__failure__free_unpacked(whole, NULL);
    }
}

/* ---- the wait inside a workflow task ---- */

typedef struct drive {
    tc_worker *w;
    tc_run *r;
    bool stopping;
    int64_t now, wake; /* wake: the earliest time something is due */
    bool waiting;      /* some local activity is still to be waited for */
    tc_la_waiter q;    /* this thread's wait; q.cv set by the first wait_until */
} drive;

/* Does the first thing one local activity needs; true when it did something. */
static bool step_one(drive *d, tc_la *la)
{
    tc_run *r = d->r;
    if (la->state != LA_DISPATCHED || la->shutdown_cancelled)
        return false;
    tc_la_exec *x = la->exec;
    if (x) {
        pthread_mutex_lock(&d->w->lmu);
        bool done = x->done;
        tc_la_outcome o = x->out;
        if (done)
            memset(&x->out, 0, sizeof x->out); /* taken over */
        pthread_mutex_unlock(&d->w->lmu);
        if (done) {
            la->exec = NULL;
            tc_la_exec_release(x, false);
            outcome(r, la, la->run_attempt, &o, d->stopping, d->now);
            free(o.result);
            free(o.ftype);
            free(o.fmsg);
            free(o.failure);
            return true;
        }
        if (d->now >= x->deadline_us) {
            tc_pb_failure f;
            Temporal__Api__Failure__V1__TimeoutFailureInfo ti;
            bool final = x->deadline_final;
            la->exec = NULL;
            tc_la_exec_release(x, true); /* its late result is discarded */
            timeout_failure(&f, &ti, final);
            failed(r, la, la->run_attempt, &f, final, d->stopping, d->now);
            return true;
        }
        if (d->stopping && la->cancel_mode != TC_CANCEL_ABANDON)
            tc_la_exec_cancel(x); /* the worker stops: tell the activity */
        d->waiting = true;
        if (x->deadline_us < d->wake)
            d->wake = x->deadline_us;
        return false;
    }
    if (la->cancel_requested) { /* wait mode, between attempts: nothing to wait for */
        tc_la_cancelled(r, la, la->run_attempt);
        tc_la_run_code(r);
        return true;
    }
    if (d->stopping) {
        la->shutdown_cancelled = true; /* never started during a stop */
        return true;
    }
    if (la->due_us > d->now) {
        d->waiting = true;
        if (la->due_us < d->wake)
            d->wake = la->due_us;
        return false;
    }
    if (!tc_reg_activity(d->w, la->type)) {
        tc_run_fail(r, TC_ERR_TASK_FAILED,
                    "local activity type %s is not registered on this worker (the task is retried "
                    "until a worker that has it picks it up)",
                    la->type);
        return true;
    }
    if (la->make && tc_la_build_input(r, la) != TC_OK)
        return true;
    if (la->run_attempt < la->attempt)
        la->run_attempt = la->attempt;
    if (start_attempt(d->w, r, la, d->now) != TC_OK)
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory starting local activity %s", la->type);
    return true;
}

/* One pass over the run's local activities: true when any did something. */
static bool step(drive *d)
{
    tc_la_set *s = d->r->la;
    for (size_t i = 0; i < s->n; i++) { /* s->n may grow as code runs */
        if (d->r->fail_code || d->r->outcome != OUT_NONE)
            return false;
        if (step_one(d, s->v[i]))
            return true;
    }
    return false;
}

/* True when an attempt of the run finished (under lmu). */
static bool any_done(const tc_run *r)
{
    for (size_t i = 0; i < r->la->n; i++)
        if (r->la->v[i]->exec && r->la->v[i]->exec->done)
            return true;
    return false;
}

/* Points the run's running attempts at waiter q (NULL: at none). Under lmu. */
static void attach(tc_run *r, tc_la_waiter *q)
{
    for (size_t i = 0; i < r->la->n; i++)
        if (r->la->v[i]->exec)
            r->la->v[i]->exec->waiter = q ? q->cv : NULL;
}

/* Waits until one of the run's attempts finished, the worker's stop changed or until_us. Only
 * this run's attempts signal this thread: with a condvar shared by the worker every finished
 * attempt woke every waiting task thread, each to find nothing of its own and sleep again. */
static void wait_until(drive *d, int64_t until_us)
{
    tc_worker *w = d->w;
    struct timespec ts = {(time_t)(until_us / 1000000), (long)(until_us % 1000000) * 1000};
    tc_la_waiter *q = &d->q;
    if (!q->cv)
        q->cv = thread_cv();
    pthread_mutex_lock(&w->lmu);
    q->prev = NULL;
    q->next = w->la_waiters;
    if (q->next)
        q->next->prev = q;
    w->la_waiters = q;
    attach(d->r, q);
    while (!any_done(d->r) && atomic_load(&w->stop) == d->stopping)
        if (pthread_cond_timedwait(q->cv, &w->lmu, &ts) == ETIMEDOUT)
            break;
    attach(d->r, NULL);
    if (q->prev)
        q->prev->next = q->next;
    else
        w->la_waiters = q->next;
    if (q->next)
        q->next->prev = q->prev;
    pthread_mutex_unlock(&w->lmu);
}

/* The commands made while waiting go out with this task's answer. */
static void mark_sent(tc_run *r)
{
    tc_cmd *const *cmds;
    size_t n = tc_run_new_commands(r, &cmds);
    for (size_t i = 0; i < n; i++)
        if (cmds[i]->state == CMD_NEW)
            cmds[i]->state = CMD_SENT;
}

void tc_la_drive(tc_worker *w, tc_run *r, int64_t task_start_us)
{
    r->force_new_task = r->return_new_task = false;
    if (!r->la)
        return;
    int64_t timeout_ms = r->task_timeout_ms > 0 ? r->task_timeout_ms : 10000;
    int64_t answer_by = task_start_us + timeout_ms * 10 * HEARTBEAT_PERCENT;
    drive d = {.w = w, .r = r};
    for (;;) {
        d.stopping = atomic_load(&w->stop);
        d.now = tc_now_us();
        d.wake = answer_by;
        d.waiting = false;
        if (r->fail_code || r->outcome != OUT_NONE || r->ended)
            break;
        if (step(&d))
            continue;
        if (!d.waiting)
            break;
        if (d.now >= answer_by) {
            /* A heartbeat: the attempts go on here, and the next task comes back with the
             * answer so this thread goes on with it (also while the worker stops). */
            r->force_new_task = r->return_new_task = true;
            break;
        }
        wait_until(&d, d.wake);
    }
    /* The run ended in this task after a settle_before_close marker: the markers go now, the
     * closing command with the task handed back (any event that came meanwhile lands between). */
    if (r->close_held && r->outcome != OUT_NONE && !r->ended && !r->fail_code)
        r->force_new_task = r->return_new_task = true;
    /* Local activities left unrun by a stop: a new task (on another worker: not handed back)
     * runs them. */
    for (size_t i = 0; i < r->la->n; i++)
        if (r->la->v[i]->shutdown_cancelled && r->la->v[i]->state == LA_DISPATCHED) {
            r->force_new_task = true;
            r->return_new_task = false;
        }
    mark_sent(r);
}
