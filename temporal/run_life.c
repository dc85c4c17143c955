/* run_life.c - a workflow run's creation and teardown (its coroutines unwound first). Pure
 * computation: no network I/O, no knowledge of particular command kinds. */
#include "local_activity.h"
#include "wf_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tc_run *tc_run_new(const char *workflow_id, const char *run_id, const tc_run_setup *setup)
{
    tc_run *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->setup = *setup;
    if (!r->setup.log)
        r->setup.log = &tc_default_logger;
    r->workflow_id = tc_strdup(workflow_id ? workflow_id : "");
    r->run_id = tc_strdup(run_id ? run_id : "");
    r->workflow_type = tc_strdup("");
    r->task_queue = tc_strdup("");
    r->first_run_id = tc_strdup("");
    if (setup->state_size)
        r->state = calloc(1, setup->state_size);
    if (!r->workflow_id || !r->run_id || !r->workflow_type || !r->task_queue || !r->first_run_id ||
        (setup->state_size && !r->state)) {
        tc_run_free(r);
        return NULL;
    }
    return r;
}

static void kv_free(tc_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].json);
    }
    free(kv);
}

static void handlers_free(tc_handler *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(h[i].name);
    free(h);
}

void tc_run_free(tc_run *r)
{
    if (!r)
        return;
    /* Coroutines first: unwinding them may still read futures and state. */
    tc_sched_destroy(r);
    if (r->free_children)
        r->free_children(r);
    if (r->free_updates)
        r->free_updates(r);
    tc_la_free_all(r);
    for (size_t i = 0; i < r->n_all; i++) {
        free(r->all[i]->id);
        free(r->all[i]->type);
        free(r->all[i]->packed);
        free(r->all[i]);
    }
    free(r->all);
    free(r->pending);
    free(r->recorded);
    for (tc_future *f = r->futures, *n; f; f = n) {
        n = f->next;
        tc_strv_free(f->values, f->n_values);
        free(f->ftype);
        free(f->fmsg);
        free(f->failure);
        free(f->signal_name);
        free(f);
    }
    free(r->sigbuf);
    free(r->claims);
    free(r->look_uncounted);
    handlers_free(r->shandlers, r->n_shandlers);
    handlers_free(r->qhandlers, r->n_qhandlers);
    for (size_t i = 0; i < r->n_patches; i++)
        free(r->patches[i].id);
    free(r->patches);
    kv_free(r->sa, r->n_sa);
    kv_free(r->memo, r->n_memo);
    tc_strv_free(r->inputs, r->n_inputs);
    tc_strv_free(r->out_inputs, r->n_out_inputs);
    free(r->out_result);
    free(r->out_ftype);
    free(r->out_fmsg);
    free(r->out_failure);
    free((char *)r->out_can.workflow_type);
    free((char *)r->out_can.task_queue);
    free(r->workflow_id);
    free(r->run_id);
    free(r->workflow_type);
    free(r->task_queue);
    free(r->first_run_id);
    free(r->state);
    free(r);
}
