/* worker_metrics.c - a worker's metrics: the labels its series share, what its threads recorded
 * (metrics.c's registry) and what is read from its state when asked (sticky cache, slots,
 * pollers), rendered for a daemon's /metrics; custom metrics recorded from any thread. Must not
 * change the worker's state. */
#include "metrics.h"
#include "worker_internal.h"

#include <stdlib.h>
#include <string.h>

char *tc_worker_metric_labels(const char *ns, const char *task_queue)
{
    tc_labels l;
    tc_labels_init(&l);
    tc_labels_add(&l, "namespace", ns);
    tc_labels_add(&l, "task_queue", task_queue);
    return l.bad ? NULL : tc_strdup(l.text);
}

void tc_worker_count_start(tc_worker *w)
{
    tc_labels l;
    tc_labels_init(&l);
    tc_labels_append(&l, w->metric_labels);
    tc_metrics_record(w->metrics, TC_MK_COUNTER, "temporal_worker_start", "Workers started", &l, 1,
                      NULL);
}

int tc_worker_metric(tc_worker *w, tc_metric_kind kind, const char *name,
                     const tc_metric_label *labels, size_t n_labels, double value, tc_error *err)
{
    if (!w)
        return tc_seterr(err, TC_ERR_INVALID, "tc_worker_metric: no worker");
    if (n_labels && !labels)
        return tc_seterr(err, TC_ERR_INVALID, "tc_worker_metric: %zu labels given as NULL",
                         n_labels);
    tc_labels l;
    tc_labels_init(&l);
    tc_labels_append(&l, w->metric_labels);
    for (size_t i = 0; i < n_labels; i++)
        tc_labels_add(&l, labels[i].key, labels[i].value);
    return tc_metrics_record(w->metrics, (int)kind, name, NULL, &l, value, err);
}

void tc_wft_scope_begin(tc_worker *w, const char *workflow_type, tc_wft_scope *s)
{
    tc_labels_init(&s->labels);
    tc_labels_append(&s->labels, w->metric_labels);
    tc_labels_add(&s->labels, "workflow_type", workflow_type ? workflow_type : "");
    s->scope.m = w->metrics;
    s->scope.labels = s->labels.text;
    s->outer = tc_rpc_scope_set(&s->scope);
    s->t0 = tc_now_us();
    atomic_fetch_add(&w->wf_busy, 1);
}

void tc_wft_scope_end(tc_worker *w, tc_wft_scope *s)
{
    atomic_fetch_sub(&w->wf_busy, 1);
    tc_rpc_scope_set(s->outer);
    tc_metrics_record(w->metrics, TC_MK_HISTOGRAM, "temporal_workflow_task_execution_latency",
                      "Workflow task handling time in seconds (history, code, answer)", &s->labels,
                      (double)(tc_now_us() - s->t0) / 1e6, NULL);
}

void tc_wft_count_failed(tc_worker *w, const char *workflow_type, int code)
{
    tc_labels l;
    tc_labels_init(&l);
    tc_labels_append(&l, w->metric_labels);
    tc_labels_add(&l, "workflow_type", workflow_type ? workflow_type : "");
    tc_labels_add(&l, "failure_reason",
                  code == TC_ERR_NONDETERMINISM ? "NonDeterminismError" : "WorkflowTaskError");
    tc_metrics_record(w->metrics, TC_MK_COUNTER, "temporal_workflow_task_execution_failed",
                      "Workflow tasks that failed", &l, 1, NULL);
}

void tc_wft_count_closed(tc_worker *w, const char *workflow_type, int outcome)
{
    static const char *const names[] = {
        [OUT_COMPLETE] = "temporal_workflow_completed",
        [OUT_FAIL] = "temporal_workflow_failed",
        [OUT_CANCEL] = "temporal_workflow_canceled",
        [OUT_CONTINUE] = "temporal_workflow_continue_as_new",
    };
    if (outcome <= OUT_NONE || outcome > OUT_CONTINUE)
        return;
    tc_labels l;
    tc_labels_init(&l);
    tc_labels_append(&l, w->metric_labels);
    tc_labels_add(&l, "workflow_type", workflow_type ? workflow_type : "");
    tc_metrics_record(w->metrics, TC_MK_COUNTER, names[outcome], "Runs that closed so", &l, 1,
                      NULL);
}

/* Labels of the worker plus one more pair. */
static void with(tc_labels *l, const tc_worker *w, const char *key, const char *value)
{
    tc_labels_init(l);
    tc_labels_append(l, w->metric_labels);
    if (key)
        tc_labels_add(l, key, value);
}

static void render_state(tc_worker *w, tc_sbuf *out)
{
    tc_labels l;
    with(&l, w, NULL, NULL);
    tc_metrics_render_one(out, true, "counter", "temporal_sticky_cache_hit",
                          "Workflow tasks served from the sticky cache", &l,
                          (double)atomic_load(&w->st_hit));
    tc_metrics_render_one(out, true, "counter", "temporal_sticky_cache_miss",
                          "Workflow tasks whose run was rebuilt from history", &l,
                          (double)atomic_load(&w->st_miss));
    tc_metrics_render_one(out, true, "counter", "temporal_sticky_cache_total_forced_eviction",
                          "Runs evicted from a full sticky cache", &l,
                          (double)atomic_load(&w->st_evict));
    pthread_mutex_lock(&w->cmu);
    size_t cached = w->n_cache;
    pthread_mutex_unlock(&w->cmu);
    tc_metrics_render_one(out, true, "gauge", "temporal_sticky_cache_size",
                          "Runs in the sticky cache", &l, (double)cached);

    /* Slots: one workflow task per workflow poller thread; activity slots are reserved before
     * a poll (as sdk-core counts permits), so used includes polls waiting for a task. */
    int wf_slots = 0, pollers[3] = {0, 0, 0};
    for (size_t i = 0; i < w->n_pollers; i++)
        if (w->pollers[i].started) {
            pollers[w->pollers[i].kind]++;
            if (w->pollers[i].kind != POLL_ACTIVITY)
                wf_slots++;
        }
    int wf_used = atomic_load(&w->wf_busy);
    pthread_mutex_lock(&w->amu);
    int act_used = w->a_inflight;
    pthread_mutex_unlock(&w->amu);
    int act_slots = w->n_acts > 0 ? w->max_acts : 0;
    with(&l, w, "worker_type", "WorkflowWorker");
    tc_metrics_render_one(out, true, "gauge", "temporal_worker_task_slots_available",
                          "Task slots free", &l, (double)(wf_slots - wf_used));
    with(&l, w, "worker_type", "ActivityWorker");
    tc_metrics_render_one(out, false, "gauge", "temporal_worker_task_slots_available", NULL, &l,
                          (double)(act_slots > act_used ? act_slots - act_used : 0));
    with(&l, w, "worker_type", "WorkflowWorker");
    tc_metrics_render_one(out, true, "gauge", "temporal_worker_task_slots_used", "Task slots taken",
                          &l, (double)wf_used);
    with(&l, w, "worker_type", "ActivityWorker");
    tc_metrics_render_one(out, false, "gauge", "temporal_worker_task_slots_used", NULL, &l,
                          (double)act_used);
    static const char *const types[] = {"workflow_task", "sticky_workflow_task", "activity_task"};
    for (int k = 0; k < 3; k++) {
        with(&l, w, "poller_type", types[k]);
        tc_metrics_render_one(out, k == 0, "gauge", "temporal_num_pollers", "Poller threads", &l,
                              (double)pollers[k]);
    }
}

int tc_worker_metrics_text(tc_worker *w, char **text, tc_error *err)
{
    if (text)
        *text = NULL;
    if (!w || !text)
        return tc_seterr(err, TC_ERR_INVALID, "tc_worker_metrics_text: worker and text required");
    if (atomic_load(&w->stop))
        return tc_seterr(err, TC_ERR_STATE,
                         "tc_worker_metrics_text: the worker of task queue %s is stopped",
                         w->task_queue);
    tc_sbuf out = {0};
    tc_metrics_render(w->metrics, &out);
    render_state(w, &out);
    if (out.oom || !out.s) {
        free(out.s);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory rendering metrics");
    }
    *text = out.s;
    return TC_OK;
}
