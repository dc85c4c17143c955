/* run_events.c - applies a run's history events in order: workflow task batches, activations of
 * the workflow code, matching of the commands it made against the command events history
 * recorded, routing of results to their commands. Pure computation: no network I/O. */
#include "cmd_families.h"
#include "local_activity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME(ev, buf) tc_event_type_name((int)(ev)->event_type, (buf), sizeof(buf))

static int64_t ts_ms(const Google__Protobuf__Timestamp *t)
{
    return t ? tc_ms_of(t->seconds, t->nanos) : 0;
}

static int64_t dur_ms(const Google__Protobuf__Duration *d)
{
    return d ? tc_ms_of(d->seconds, d->nanos) : 0;
}

static int fail(tc_run *r, tc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(tc_run *r, tc_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    char text[sizeof r->fail_text];
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    tc_run_fail(r, code, "%s", text);
    return tc_seterr(err, r->fail_code, "%s", r->fail_text);
}

/* ---- events about the run itself ---- */

static int replace(char **dst, const char *src)
{
    char *s = tc_strdup(src ? src : "");
    if (!s)
        return TC_ERR_NOMEM;
    free(*dst);
    *dst = s;
    return TC_OK;
}

static int apply_started(tc_run *r, const tc_pb_event *ev, tc_error *err)
{
    const Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *a =
        ev->workflow_execution_started_event_attributes;
    char what[96];
    int rc = TC_OK;
    if (ev->event_id != 1)
        return fail(r, err, TC_ERR_PROTOCOL, "history event %lld is WorkflowExecutionStarted",
                    (long long)ev->event_id);
    if (replace(&r->workflow_type, a->workflow_type ? a->workflow_type->name : "") ||
        replace(&r->task_queue, a->task_queue ? a->task_queue->name : "") ||
        replace(&r->first_run_id, *a->first_execution_run_id      ? a->first_execution_run_id
                                  : *a->original_execution_run_id ? a->original_execution_run_id
                                                                  : r->run_id))
        return fail(r, err, TC_ERR_NOMEM, "out of memory");
    r->run_timeout_ms = dur_ms(a->workflow_run_timeout);
    r->task_timeout_ms = dur_ms(a->workflow_task_timeout);
    r->attempt = a->attempt > 0 ? a->attempt : 1;
    snprintf(what, sizeof what, "event 1 (WorkflowExecutionStarted) input");
    rc = tc_payloads_decode_all(a->input, &r->inputs, &r->n_inputs, what, err);
    if (rc == TC_OK && a->search_attributes)
        for (size_t i = 0; rc == TC_OK && i < a->search_attributes->n_indexed_fields; i++) {
            char *json = NULL;
            tc_error e;
            const Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry *f =
                a->search_attributes->indexed_fields[i];
            rc = tc_payload_decode(f->value, &json, &e);
            if (rc == TC_OK)
                rc = tc_props_set(&r->sa, &r->n_sa, f->key, json);
            else
                tc_seterr(err, rc, "event 1 (WorkflowExecutionStarted) search attribute %s: %s",
                          f->key, e.text);
            free(json);
        }
    if (rc == TC_OK && a->memo)
        for (size_t i = 0; rc == TC_OK && i < a->memo->n_fields; i++) {
            char *json = NULL;
            tc_error e;
            const Temporal__Api__Common__V1__Memo__FieldsEntry *f = a->memo->fields[i];
            rc = tc_payload_decode(f->value, &json, &e);
            if (rc == TC_OK)
                rc = tc_props_set(&r->memo, &r->n_memo, f->key, json);
            else
                tc_seterr(err, rc, "event 1 (WorkflowExecutionStarted) memo %s: %s", f->key,
                          e.text);
            free(json);
        }
    /* The generator is seeded by the first run id, so every replay draws the same numbers. */
    uint64_t h = 1469598103934665603ull;
    for (const char *p = r->first_run_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    r->rng = h;
    r->started = true;
    if (rc != TC_OK && !r->fail_code)
        tc_run_fail(r, rc, "%s", err->text);
    return rc;
}

static int apply_signal(tc_run *r, const tc_pb_event *ev, tc_error *err)
{
    const Temporal__Api__History__V1__WorkflowExecutionSignaledEventAttributes *a =
        ev->workflow_execution_signaled_event_attributes;
    char what[96];
    char **values = NULL;
    size_t n = 0;
    snprintf(what, sizeof what, "event %lld (WorkflowExecutionSignaled %s) input",
             (long long)ev->event_id, a->signal_name);
    int rc = tc_payloads_decode_all(a->input, &values, &n, what, err);
    if (rc != TC_OK)
        return fail(r, err, rc, "%s", err->text);
    tc_future *f = tc_future_new(r, FK_SIGNAL);
    if (!f || !(f->signal_name = tc_strdup(a->signal_name))) {
        tc_strv_free(values, n);
        return fail(r, err, TC_ERR_NOMEM, "out of memory");
    }
    tc_future_resolve_values(r, f, values, n, ev->event_id);
    if (tc_signal_deliver(r, f) != TC_OK)
        return fail(r, err, TC_ERR_NOMEM, "out of memory");
    return TC_OK;
}

/* WorkflowExecutionCancelRequested: every operation started outside a detached section is
 * cancelled now, before the code runs (the Go SDK does the same while applying the event), so
 * the cancel commands come first in the task. */
static void apply_cancel_request(tc_run *r, int64_t event_id)
{
    if (r->cancel_requested)
        return;
    r->cancel_requested = true;
    if (r->cancel_future)
        tc_future_resolve_ok(r, r->cancel_future, NULL, 0, event_id);
    for (size_t i = 0; i < r->n_all; i++) {
        tc_cmd *c = r->all[i];
        if (c->fut && !c->fut->detached && c->fut->state == FUT_PENDING && c->kind->cancel)
            c->kind->cancel(r, c);
    }
    for (size_t i = r->n_claims; i-- > 0;)
        if (!r->claims[i]->detached)
            tc_signal_unclaim(r, r->claims[i]);
    tc_la_cancel_run(r);
}

/* ---- activations ---- */

static void describe_cmd(const tc_cmd *c, char *buf, size_t cap)
{
    if (*c->type)
        snprintf(buf, cap, "%s(id=%s, type=%s)", c->kind->name, c->id, c->type);
    else if (*c->id)
        snprintf(buf, cap, "%s(id=%s)", c->kind->name, c->id);
    else
        snprintf(buf, cap, "%s", c->kind->name);
}

static int activate(tc_run *r, tc_pb_event *const *evs, size_t n, size_t i, bool replay,
                    tc_error *err)
{
    const tc_pb_event *started = evs[i];
    /* Commands not recorded yet (made in this task's batch, or in an earlier task that
     * history recorded later, as the official SDKs allow) come before this task's own in the
     * event ids the default ids predict. */
    size_t n_new = r->n_pending - r->pending_head;
    r->replaying = replay;
    r->now_ms = ts_ms(started->event_time);
    r->next_cmd_event_id = started->event_id + 2 + (int64_t)n_new;
    r->look = NULL;
    r->n_look = 0;
    if (replay && i + 2 < n) {
        /* The command events of this task follow its WorkflowTaskCompleted: side effects and
         * patches read their recorded values from them before the code runs. */
        size_t k = i + 2;
        while (k < n && tc_event_rule_of((int)evs[k]->event_type)->role == EV_COMMAND &&
               tc_event_attrs_ok(evs[k]))
            k++;
        r->look = &evs[i + 2];
        r->n_look = k - (i + 2);
        r->look_first = evs[i + 2]->event_id;
        if (r->n_look > r->cap_look_uncounted) {
            bool *p = realloc(r->look_uncounted, r->n_look * sizeof *p);
            if (!p)
                return fail(r, err, TC_ERR_NOMEM, "out of memory");
            r->look_uncounted = p;
            r->cap_look_uncounted = r->n_look;
        }
        for (size_t j = 0; j < r->n_look; j++) {
            const tc_event_rule *rule = tc_event_rule_of((int)r->look[j]->event_type);
            r->look_uncounted[j] = rule->uncounted && rule->uncounted(r->look[j]);
        }
    }
    bool first = r->n_coros == 0;
    if (first) {
        tc_wf_ctx *main = tc_sched_spawn(r, CO_MAIN);
        if (!main)
            return fail(r, err, TC_ERR_NOMEM, "out of memory for the workflow coroutine");
    }
    tc_update_activation_begin(r, replay); /* update requests come after the events */
    tc_sched_run(r);
    tc_la_after_code(r);         /* replaying: this task's local activity markers answer */
    tc_update_activation_end(r); /* then the code has run: unhandled updates are rejected */
    r->look = NULL;
    r->n_look = 0;
    if (r->fail_code)
        return tc_seterr(err, r->fail_code, "%s", r->fail_text);
    if (r->outcome != OUT_NONE && !r->ended)
        tc_close_emit(r);
    if (r->fail_code)
        return tc_seterr(err, r->fail_code, "%s", r->fail_text);
    for (size_t k = r->pending_head; k < r->n_pending; k++)
        if (r->pending[k]->state == CMD_NEW)
            r->pending[k]->state = CMD_SENT;
    r->last_activation = started->event_id;
    return TC_OK;
}

static int workflow_task_started(tc_run *r, tc_pb_event *const *evs, size_t n, size_t i,
                                 int64_t started_event_id, tc_error *err)
{
    const tc_pb_event *ev = evs[i];
    const tc_pb_event *next = i + 1 < n ? evs[i + 1] : NULL;
    if (next && next->event_id != ev->event_id + 1)
        next = NULL;
    if (ev->event_id == started_event_id)
        return activate(r, evs, n, i, false, err);
    if (next && next->event_type == TC_ET(WORKFLOW_TASK_COMPLETED))
        return activate(r, evs, n, i, true, err);
    /* Followed by WorkflowTaskFailed / TimedOut (its events are handled with the next task), or
     * a task still running when a query looked. */
    return TC_OK;
}

static int workflow_task_lost(tc_run *r, const tc_pb_event *ev, tc_error *err)
{
    int64_t started = ev->event_type == TC_ET(WORKFLOW_TASK_FAILED)
                          ? ev->workflow_task_failed_event_attributes->started_event_id
                          : ev->workflow_task_timed_out_event_attributes->started_event_id;
    /* The code ran for that task (we answered it) but the server did not take the answer: the
     * cached state is ahead of history. */
    if (started != 0 && started == r->last_activation)
        return tc_seterr(err, TC_ERR_STATE, "workflow task %lld of the cached run failed",
                         (long long)started);
    return TC_OK;
}

static int apply_workflow_event(tc_run *r, tc_pb_event *const *evs, size_t n, size_t i,
                                int64_t started_event_id, tc_error *err)
{
    const tc_pb_event *ev = evs[i];
    switch (ev->event_type) {
    case TC_ET(WORKFLOW_EXECUTION_STARTED): return apply_started(r, ev, err);
    case TC_ET(WORKFLOW_TASK_STARTED):
        return workflow_task_started(r, evs, n, i, started_event_id, err);
    case TC_ET(WORKFLOW_TASK_FAILED):
    case TC_ET(WORKFLOW_TASK_TIMED_OUT): return workflow_task_lost(r, ev, err);
    case TC_ET(WORKFLOW_EXECUTION_SIGNALED): return apply_signal(r, ev, err);
    case TC_ET(WORKFLOW_EXECUTION_CANCEL_REQUESTED):
        apply_cancel_request(r, ev->event_id);
        return TC_OK;
    case TC_ET(WORKFLOW_EXECUTION_UPDATE_ADMITTED): {
        int rc = tc_update_admitted(r, ev, err);
        return rc == TC_OK ? rc : fail(r, err, rc, "%s", err->text);
    }
    case TC_ET(WORKFLOW_EXECUTION_TERMINATED):
    case TC_ET(WORKFLOW_EXECUTION_TIMED_OUT): r->closed = true; return TC_OK;
    default: return TC_OK; /* task scheduled / completed: boundaries only */
    }
}

/* ---- command events and results ---- */

static bool push_recorded(tc_run *r, tc_cmd *c)
{
    if (r->n_recorded == r->cap_recorded) {
        size_t nc = r->cap_recorded ? r->cap_recorded * 2 : 16;
        tc_cmd **p = realloc(r->recorded, nc * sizeof *p);
        if (!p)
            return false;
        r->recorded = p;
        r->cap_recorded = nc;
    }
    r->recorded[r->n_recorded++] = c;
    return true;
}

static int match_command(tc_run *r, const tc_pb_event *ev, const tc_event_rule *rule, tc_error *err)
{
    tc_cmd *c = r->pending_head < r->n_pending ? r->pending[r->pending_head] : NULL;
    if (c && c->state != CMD_SENT)
        c = NULL; /* made after this event's task: cannot be what it records */
    bool same = c && c->kind->event_type == (int)ev->event_type && c->kind->matches(c, ev);
    if (!same) {
        if (rule->skippable && rule->skippable(r, ev))
            return TC_OK;
        char h[256], d[256];
        if (rule->describe)
            rule->describe(ev, h, sizeof h);
        else
            NAME(ev, h);
        if (!c)
            return fail(r, err, TC_ERR_NONDETERMINISM,
                        "history event %lld recorded %s but the workflow code made no such command",
                        (long long)ev->event_id, h);
        describe_cmd(c, d, sizeof d);
        return fail(r, err, TC_ERR_NONDETERMINISM,
                    "history event %lld recorded %s but the workflow code made %s",
                    (long long)ev->event_id, h, d);
    }
    r->pending_head++;
    if (r->pending_head == r->n_pending)
        r->pending_head = r->n_pending = 0;
    c->state = CMD_RECORDED;
    c->event_id = ev->event_id;
    free(c->packed);
    c->packed = NULL;
    c->packed_len = 0;
    if (!push_recorded(r, c))
        return fail(r, err, TC_ERR_NOMEM, "out of memory");
    int rc = c->kind->recorded ? c->kind->recorded(r, c, ev, err) : TC_OK;
    if (rc != TC_OK && !r->fail_code)
        tc_run_fail(r, rc, "%s", err->text);
    return rc;
}

static int resolve(tc_run *r, const tc_pb_event *ev, const tc_event_rule *rule, tc_error *err)
{
    int64_t ref = rule->initiator(ev);
    tc_cmd *c = tc_cmd_by_event(r, ref);
    char t[64];
    if (!c)
        return fail(r, err, TC_ERR_PROTOCOL,
                    "history event %lld (%s) refers to event %lld, which recorded no command of "
                    "this run",
                    (long long)ev->event_id, NAME(ev, t), (long long)ref);
    int rc = rule->resolve(r, c, ev, err);
    if (rc != TC_OK && !r->fail_code)
        tc_run_fail(r, rc, "%s", err->text);
    return rc;
}

/* ---- the feed ---- */

int tc_run_feed(tc_run *r, tc_pb_event *const *evs, size_t n, int64_t started_event_id,
                tc_error *err)
{
    /* Events up to the last WorkflowTaskCompleted belong to tasks answered before: commands
     * made while applying them are never sent, so they are not built. */
    size_t last_completed = 0;
    bool any_completed = false;
    for (size_t i = 0; i < n; i++)
        if (evs[i]->event_type == TC_ET(WORKFLOW_TASK_COMPLETED) &&
            (started_event_id == 0 || evs[i]->event_id < started_event_id)) {
            last_completed = i;
            any_completed = true;
        }
    for (size_t i = 0; i < n; i++) {
        const tc_pb_event *ev = evs[i];
        char t[64];
        if (ev->event_id <= r->last_event_id)
            continue;
        if (started_event_id > 0 && ev->event_id > started_event_id)
            break;
        if (ev->event_id != r->last_event_id + 1)
            return fail(r, err, TC_ERR_PROTOCOL,
                        "history jumps from event %lld to event %lld (%s): events are missing or "
                        "out of order",
                        (long long)r->last_event_id, (long long)ev->event_id, NAME(ev, t));
        if (!r->started && ev->event_type != TC_ET(WORKFLOW_EXECUTION_STARTED))
            return fail(r, err, TC_ERR_PROTOCOL,
                        "history starts with event %lld (%s), not WorkflowExecutionStarted",
                        (long long)ev->event_id, NAME(ev, t));
        const tc_event_rule *rule = tc_event_rule_of((int)ev->event_type);
        if (rule->role == EV_UNKNOWN && ev->worker_may_ignore) {
            r->last_event_id = ev->event_id;
            continue;
        }
        if (rule->role == EV_UNKNOWN)
            return fail(r, err, TC_ERR_PROTOCOL,
                        "history event %lld has a type this runtime does not know (%s)",
                        (long long)ev->event_id, NAME(ev, t));
        if (rule->role == EV_UNSUPPORTED)
            return fail(r, err, TC_ERR_TASK_FAILED, "not supported yet: %s (history event %lld)",
                        NAME(ev, t), (long long)ev->event_id);
        if (!tc_event_attrs_ok(ev))
            return fail(r, err, TC_ERR_PROTOCOL,
                        "history event %lld (%s) does not carry its attributes",
                        (long long)ev->event_id, NAME(ev, t));
        r->replaying = started_event_id == 0 || (any_completed && i < last_completed);
        int rc = TC_OK;
        switch (rule->role) {
        case EV_WORKFLOW: rc = apply_workflow_event(r, evs, n, i, started_event_id, err); break;
        case EV_COMMAND: rc = match_command(r, ev, rule, err); break;
        case EV_RESOLVE: rc = resolve(r, ev, rule, err); break;
        default: break;
        }
        if (rc == TC_OK && r->fail_code)
            rc = tc_seterr(err, r->fail_code, "%s", r->fail_text);
        if (rc != TC_OK)
            return rc;
        r->last_event_id = ev->event_id;
    }
    if (started_event_id > 0 && r->last_event_id < started_event_id)
        return fail(r, err, TC_ERR_PROTOCOL,
                    "history ends at event %lld, before the task's WorkflowTaskStarted event %lld "
                    "(truncated)",
                    (long long)r->last_event_id, (long long)started_event_id);
    return TC_OK;
}

size_t tc_run_new_commands(const tc_run *r, tc_cmd *const **out)
{
    *out = r->pending ? r->pending + r->pending_head : NULL; /* NULL + 0 is undefined */
    return r->n_pending - r->pending_head;
}
