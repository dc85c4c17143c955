/* activity_queue.c - executor slots and the queue of activity tasks between pollers (and eager
 * dispatch) and executor threads: a slot is reserved before a task is asked for, so the worker
 * never accepts an activity it has no thread for. */
#include "worker_internal.h"

#include <stdlib.h>

bool tc_act_reserve(tc_worker *w)
{
    pthread_mutex_lock(&w->amu);
    while (w->a_inflight >= w->max_acts && !atomic_load(&w->stop))
        pthread_cond_wait(&w->acv, &w->amu);
    bool ok = !atomic_load(&w->stop);
    if (ok)
        w->a_inflight++;
    pthread_mutex_unlock(&w->amu);
    return ok;
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
    pthread_mutex_unlock(&w->amu);
    /* The worker's condvars live until its threads are joined: woken after the unlock, a
     * waiter does not block on the lock straight away. */
    if (n == 1)
        pthread_cond_signal(&w->acv); /* one slot: one waiting poller */
    else
        pthread_cond_broadcast(&w->acv);
}

static void push(tc_worker *w, act_item *it, bool reserved)
{
    pthread_mutex_lock(&w->amu);
    if (!reserved)
        w->a_inflight++;
    if (w->a_tail)
        w->a_tail->next = it;
    else
        w->a_head = it;
    w->a_tail = it;
    pthread_mutex_unlock(&w->amu);
    /* One executor is enough for one task (a broadcast would wake them all to find one). */
    pthread_cond_signal(&w->ecv);
}

void tc_act_enqueue(tc_worker *w, tc_act_task *t, bool reserved)
{
    act_item *it = calloc(1, sizeof *it);
    if (!it) {
        /* Cannot queue it: the server times it out and retries it (start_to_close). */
        tc_logf(&w->log, TC_LOG_ERROR,
                t->workflow_execution ? t->workflow_execution->workflow_id : NULL, NULL, NULL,
                "out of memory queueing activity %s", t->activity_id);
        protobuf_c_message_free_unpacked(&t->base, NULL);
        if (reserved)
            tc_act_release(w, 1);
        return;
    }
    it->task = t;
    push(w, it, reserved);
}

bool tc_act_enqueue_local(tc_worker *w, struct tc_la_exec *x)
{
    act_item *it = calloc(1, sizeof *it);
    if (!it)
        return false;
    it->local = x;
    push(w, it, false);
    return true;
}

act_item *tc_act_next(tc_worker *w)
{
    pthread_mutex_lock(&w->amu);
    while (!w->a_head && !w->a_draining)
        pthread_cond_wait(&w->ecv, &w->amu);
    act_item *it = w->a_head;
    if (it) {
        w->a_head = it->next;
        if (!w->a_head)
            w->a_tail = NULL;
    }
    pthread_mutex_unlock(&w->amu);
    return it; /* NULL: draining and nothing left */
}

void tc_act_done(tc_worker *w, act_item *it)
{
    if (it->task)
        protobuf_c_message_free_unpacked(&it->task->base, NULL);
    free(it);
    pthread_mutex_lock(&w->amu);
    w->a_inflight--;
    pthread_mutex_unlock(&w->amu);
    pthread_cond_signal(&w->acv); /* one slot freed: one waiting poller */
}
