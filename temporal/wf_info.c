/* wf_info.c - what workflow code learns about its run from the WorkflowExecutionStarted event
 * (tc_wf_get_info: continued and first run ids, parent, root, cron schedule, memo and search
 * attributes at start, timeouts, attempt), and its custom metrics. Pure computation: no
 * network I/O, no commands. */
#include "metrics.h"
#include "wf_run.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes started_attrs;

/* The parts of the started event the run keeps for tc_wf_get_info (owned strings; NULL where
 * history has none). */
struct tc_run_info {
    char *continued_run_id, *original_run_id;
    char *parent_namespace, *parent_workflow_id, *parent_run_id;
    char *root_workflow_id, *root_run_id;
    char *cron_schedule;
    char *memo_json, *search_attributes_json;
    int64_t execution_timeout_ms, start_time_ms;
};

static void info_free(tc_run *r)
{
    struct tc_run_info *i = r->info;
    if (!i)
        return;
    free(i->continued_run_id);
    free(i->original_run_id);
    free(i->parent_namespace);
    free(i->parent_workflow_id);
    free(i->parent_run_id);
    free(i->root_workflow_id);
    free(i->root_run_id);
    free(i->cron_schedule);
    free(i->memo_json);
    free(i->search_attributes_json);
    free(i);
    r->info = NULL;
}

/* A copy of s when it is non-empty, else NULL; *ok becomes false when out of memory. */
static char *opt(const char *s, bool *ok)
{
    if (!s || !*s)
        return NULL;
    char *d = tc_strdup(s);
    if (!d)
        *ok = false;
    return d;
}

/* The JSON object {key: decoded value} of n payload map entries (compact, keys sorted). A value
 * that does not decode is left out (the search attribute / memo views say why). */
static char *payload_map_json(size_t n, const char *(*key)(const void *, size_t),
                              const tc_pb_payload *(*value)(const void *, size_t), const void *map)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        char *text = NULL;
        tc_error e;
        if (tc_payload_decode(value(map, i), &text, &e) != TC_OK)
            continue;
        json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
        json_object_set_new(o, key(map, i), v ? v : json_string(text));
        free(text);
    }
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

static const char *memo_key(const void *m, size_t i)
{
    return ((const Temporal__Api__Common__V1__Memo *)m)->fields[i]->key;
}
static const tc_pb_payload *memo_value(const void *m, size_t i)
{
    return ((const Temporal__Api__Common__V1__Memo *)m)->fields[i]->value;
}
static const char *sa_key(const void *m, size_t i)
{
    return ((const Temporal__Api__Common__V1__SearchAttributes *)m)->indexed_fields[i]->key;
}
static const tc_pb_payload *sa_value(const void *m, size_t i)
{
    return ((const Temporal__Api__Common__V1__SearchAttributes *)m)->indexed_fields[i]->value;
}

int tc_run_info_set(tc_run *r, const tc_pb_event *ev)
{
    const started_attrs *a = ev->workflow_execution_started_event_attributes;
    info_free(r);
    struct tc_run_info *i = calloc(1, sizeof *i);
    if (!i)
        return TC_ERR_NOMEM;
    r->info = i;
    r->free_info = info_free;
    bool ok = true;
    i->continued_run_id = opt(a->continued_execution_run_id, &ok);
    i->original_run_id = opt(a->original_execution_run_id, &ok);
    i->cron_schedule = opt(a->cron_schedule, &ok);
    if (a->parent_workflow_execution) {
        i->parent_namespace = opt(a->parent_workflow_namespace, &ok);
        i->parent_workflow_id = opt(a->parent_workflow_execution->workflow_id, &ok);
        i->parent_run_id = opt(a->parent_workflow_execution->run_id, &ok);
    }
    if (a->root_workflow_execution) {
        i->root_workflow_id = opt(a->root_workflow_execution->workflow_id, &ok);
        i->root_run_id = opt(a->root_workflow_execution->run_id, &ok);
    }
    const Temporal__Api__Common__V1__Memo *memo = a->memo;
    const Temporal__Api__Common__V1__SearchAttributes *sa = a->search_attributes;
    i->memo_json = payload_map_json(memo ? memo->n_fields : 0, memo_key, memo_value, memo);
    i->search_attributes_json =
        payload_map_json(sa ? sa->n_indexed_fields : 0, sa_key, sa_value, sa);
    if (!i->memo_json || !i->search_attributes_json)
        ok = false;
    const Google__Protobuf__Duration *d = a->workflow_execution_timeout;
    i->execution_timeout_ms = d ? d->seconds * 1000 + d->nanos / 1000000 : 0;
    const Google__Protobuf__Timestamp *t = ev->event_time;
    i->start_time_ms = t ? t->seconds * 1000 + t->nanos / 1000000 : 0;
    return ok ? TC_OK : TC_ERR_NOMEM;
}

/* ---- the public calls ---- */

const char *tc_wf_continued_run_id(const tc_wf_ctx *ctx)
{
    return ctx && ctx->run->info ? ctx->run->info->continued_run_id : NULL;
}

void tc_wf_get_info(const tc_wf_ctx *ctx, tc_wf_info *out)
{
    memset(out, 0, sizeof *out);
    if (!ctx)
        return;
    const tc_run *r = ctx->run;
    const struct tc_run_info *i = r->info;
    out->workflow_id = r->workflow_id;
    out->run_id = r->run_id;
    out->workflow_type = r->workflow_type;
    out->task_queue = r->task_queue;
    out->attempt = r->attempt;
    out->first_run_id = r->first_run_id;
    out->run_timeout_ms = r->run_timeout_ms;
    out->task_timeout_ms = r->task_timeout_ms;
    if (!i)
        return; /* no started event applied yet */
    out->continued_run_id = i->continued_run_id;
    out->original_run_id = i->original_run_id;
    out->parent_namespace = i->parent_namespace;
    out->parent_workflow_id = i->parent_workflow_id;
    out->parent_run_id = i->parent_run_id;
    out->root_workflow_id = i->root_workflow_id;
    out->root_run_id = i->root_run_id;
    out->cron_schedule = i->cron_schedule;
    out->memo_json = i->memo_json;
    out->search_attributes_json = i->search_attributes_json;
    out->execution_timeout_ms = i->execution_timeout_ms;
    out->start_time_ms = i->start_time_ms;
}

int tc_wf_metric(tc_wf_ctx *ctx, tc_metric_kind kind, const char *name,
                 const tc_metric_label *labels, size_t n_labels, double value)
{
    if (!ctx || (n_labels && !labels))
        return TC_ERR_INVALID;
    const tc_run *r = ctx->run;
    tc_labels l;
    tc_labels_init(&l);
    tc_labels_append(&l, r->setup.metric_labels);
    tc_labels_add(&l, "workflow_type", r->workflow_type);
    for (size_t i = 0; i < n_labels; i++)
        tc_labels_add(&l, labels[i].key, labels[i].value);
    /* Checked (and a bad call refused) even while replaying or without a registry, so a
     * mistake shows on every run, not only on a live one. */
    if (r->replaying || !r->setup.metrics)
        return tc_metrics_check((int)kind, name, &l, value);
    return tc_metrics_record(r->setup.metrics, (int)kind, name, NULL, &l, value, NULL);
}
