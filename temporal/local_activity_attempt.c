/* local_activity_attempt.c - one attempt of a local activity as an object shared by the run
 * and the executor thread running it (reference counted under the worker's lmu), its run on the
 * executor, and freeing a run's local activities. Must not make commands or touch the run's
 * code: it sits below both cmd_local_activity.c and local_activity_exec.c. */
#include "local_activity.h"
#include "worker_internal.h"

#include <stdlib.h>
#include <string.h>

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void tc_la_exec_free(tc_la_exec *x)
{
    free(x->type);
    free(x->id);
    free(x->workflow_id);
    free(x->run_id);
    free(x->workflow_type);
    strv_free(x->inputs, x->n_inputs);
    free(x->out.result);
    free(x->out.ftype);
    free(x->out.fmsg);
    free(x->out.failure);
    free(x);
}

/* Drops one reference (under lmu); the last one frees. */
static void unref_locked(tc_la_exec *x)
{
    if (--x->refs == 0)
        tc_la_exec_free(x);
}

void tc_la_exec_cancel(tc_la_exec *x)
{
    atomic_store(&x->cancel, true);
}

void tc_la_exec_release(tc_la_exec *x, bool cancel)
{
    struct tc_worker *w = x->w;
    if (cancel)
        atomic_store(&x->cancel, true);
    pthread_mutex_lock(&w->lmu);
    unref_locked(x);
    pthread_mutex_unlock(&w->lmu);
}

void tc_la_exec_run(tc_worker *w, tc_la_exec *x)
{
    Temporal__Api__Workflowservice__V1__PollActivityTaskQueueResponse t =
        TEMPORAL__API__WORKFLOWSERVICE__V1__POLL_ACTIVITY_TASK_QUEUE_RESPONSE__INIT;
    Temporal__Api__Common__V1__ActivityType at = TEMPORAL__API__COMMON__V1__ACTIVITY_TYPE__INIT;
    Temporal__Api__Common__V1__WorkflowExecution we =
        TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;
    Temporal__Api__Common__V1__WorkflowType wt = TEMPORAL__API__COMMON__V1__WORKFLOW_TYPE__INIT;
    tc_la_outcome out;
    tc_plv in;
    bool oom = false;
    memset(&out, 0, sizeof out);
    at.name = x->type;
    we.workflow_id = x->workflow_id;
    we.run_id = x->run_id;
    wt.name = x->workflow_type;
    t.activity_type = &at;
    t.workflow_execution = &we;
    t.workflow_type = &wt;
    t.activity_id = x->id;
    t.attempt = x->attempt;
    t.input = tc_plv_init(&in, (const char *const *)x->inputs, x->n_inputs, &oom);
    if (oom) {
        out.kind = LA_OUT_FAILED;
        out.ftype = tc_strdup("OutOfMemory");
        out.fmsg = tc_strdup("cannot pass the local activity's input");
    } else if (atomic_load(&x->cancel) && atomic_load(&w->stop)) {
        out.kind = LA_OUT_CANCELLED; /* queued before a stop: never started */
    } else {
        tc_activity_run_local(w, &t, &x->cancel, &out);
    }
    tc_plv_clear(&in);
    atomic_fetch_add(&w->st_act, 1);
    pthread_mutex_lock(&w->lmu);
    x->out = out;
    x->done = true;
    pthread_cond_t *cv = x->waiter; /* only the task thread waiting for this run's attempts */
    unref_locked(x);
    pthread_mutex_unlock(&w->lmu);
    /* Woken after the unlock: woken under it, the task thread would at once block on the lock
     * again (two switches instead of one). The condvar outlives any wait (thread_cv in
     * local_activity_exec.c). */
    if (cv)
        pthread_cond_broadcast(cv);
}

void tc_la_free_all(tc_run *r)
{
    tc_la_set *s = r->la;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        tc_la *la = s->v[i];
        if (la->exec)
            tc_la_exec_release(la->exec, la->cancel_mode != TC_CANCEL_ABANDON);
        for (size_t k = 0; k < la->retry.n_non_retryable; k++)
            free(la->retry.non_retryable[k]);
        free(la->retry.non_retryable);
        strv_free(la->inputs, la->n_inputs);
        free(la->type);
        free(la);
    }
    free(s->v);
    free(s);
    r->la = NULL;
}
