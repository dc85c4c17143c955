/* run.c - the workflow runtime: a run's state derived from history events, and re-execution of
 * a workflow function against it (replay). Pure computation: must not do network I/O. */
#include "temporal_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tc_wf_ctx {
    tc_run *run;
    tc_exec *x;
    size_t cursor;    /* next command recorded in history to match */
    unsigned act_seq; /* default activity ids: "1", "2", ... in call order */
    unsigned timer_seq;
    bool blocked; /* some call returned TC_WF_PENDING */
    bool ended;   /* complete / fail was called */
};

tc_run *tc_run_new(const char *workflow_id, const char *run_id)
{
    tc_run *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->workflow_id = tc_strdup(workflow_id ? workflow_id : "");
    r->run_id = tc_strdup(run_id ? run_id : "");
    r->workflow_type = tc_strdup("");
    r->task_queue = tc_strdup("");
    if (!r->workflow_id || !r->run_id || !r->workflow_type || !r->task_queue) {
        tc_run_free(r);
        return NULL;
    }
    return r;
}

void tc_run_free(tc_run *r)
{
    if (!r)
        return;
    free(r->workflow_id);
    free(r->run_id);
    free(r->workflow_type);
    free(r->task_queue);
    for (size_t i = 0; i < r->n_inputs; i++)
        free(r->inputs[i]);
    free(r->inputs);
    for (size_t i = 0; i < r->n_cmds; i++) {
        free(r->cmds[i].id);
        free(r->cmds[i].type);
        free(r->cmds[i].result);
        free(r->cmds[i].ftype);
        free(r->cmds[i].fmsg);
    }
    free(r->cmds);
    for (size_t i = 0; i < r->n_sigs; i++) {
        free(r->sigs[i].name);
        free(r->sigs[i].json);
    }
    free(r->sigs);
    free(r->state);
    free(r);
}

static rc_cmd *push_cmd(tc_run *r, rc_kind kind, int64_t event_id, const char *id, const char *type)
{
    if (r->n_cmds == r->cap_cmds) {
        size_t nc = r->cap_cmds ? r->cap_cmds * 2 : 8;
        rc_cmd *p = realloc(r->cmds, nc * sizeof *p);
        if (!p)
            return NULL;
        r->cmds = p;
        r->cap_cmds = nc;
    }
    rc_cmd *c = &r->cmds[r->n_cmds];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->event_id = event_id;
    c->status = TC_WF_PENDING;
    c->id = tc_strdup(id ? id : "");
    c->type = tc_strdup(type ? type : "");
    if (!c->id || !c->type) {
        free(c->id);
        free(c->type);
        return NULL;
    }
    r->n_cmds++;
    return c;
}

/* Commands are found by the id of the event that recorded them; ids only grow, so search
 * backwards from the newest (results usually concern recent commands). */
static rc_cmd *find_cmd(tc_run *r, int64_t event_id)
{
    for (size_t i = r->n_cmds; i-- > 0;)
        if (r->cmds[i].event_id == event_id)
            return &r->cmds[i];
    return NULL;
}

static int set_failure(rc_cmd *c, const tc_pb_failure *f, const char *fallback_type)
{
    const char *t, *m;
    bool nr;
    tc_failure_describe(f, &t, &m, &nr);
    if (fallback_type && (!f || strcmp(t, "Failure") == 0))
        t = fallback_type;
    c->status = TC_WF_ERROR;
    free(c->ftype);
    free(c->fmsg);
    c->ftype = tc_strdup(t);
    c->fmsg = tc_strdup(m);
    c->non_retryable = nr;
    return (c->ftype && c->fmsg) ? TC_OK : TC_ERR_NOMEM;
}

static int apply_started(tc_run *r, const tc_pb_event *ev)
{
    const Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *a =
        ev->workflow_execution_started_event_attributes;
    if (!a)
        return TC_ERR_PROTOCOL;
    if (a->workflow_type && a->workflow_type->name) {
        free(r->workflow_type);
        r->workflow_type = tc_strdup(a->workflow_type->name);
    }
    if (a->task_queue && a->task_queue->name) {
        free(r->task_queue);
        r->task_queue = tc_strdup(a->task_queue->name);
    }
    if (!r->workflow_type || !r->task_queue)
        return TC_ERR_NOMEM;
    if (a->input && a->input->n_payloads) {
        r->inputs = calloc(a->input->n_payloads, sizeof *r->inputs);
        if (!r->inputs)
            return TC_ERR_NOMEM;
        for (size_t i = 0; i < a->input->n_payloads; i++) {
            r->inputs[i] = tc_payload_json(a->input->payloads[i]);
            if (!r->inputs[i])
                return TC_ERR_NOMEM;
            r->n_inputs++;
        }
    }
    return TC_OK;
}

static int apply_signal(tc_run *r, const tc_pb_event *ev)
{
    const Temporal__Api__History__V1__WorkflowExecutionSignaledEventAttributes *a =
        ev->workflow_execution_signaled_event_attributes;
    if (r->n_sigs == r->cap_sigs) {
        size_t nc = r->cap_sigs ? r->cap_sigs * 2 : 4;
        rc_signal *p = realloc(r->sigs, nc * sizeof *p);
        if (!p)
            return TC_ERR_NOMEM;
        r->sigs = p;
        r->cap_sigs = nc;
    }
    rc_signal *s = &r->sigs[r->n_sigs];
    s->name = tc_strdup(a && a->signal_name ? a->signal_name : "");
    s->json = tc_payloads_first_json(a ? a->input : NULL);
    if (!s->name || !s->json) {
        free(s->name);
        free(s->json);
        return TC_ERR_NOMEM;
    }
    r->n_sigs++;
    return TC_OK;
}

int tc_run_apply(tc_run *r, const tc_pb_event *ev, tc_error *err)
{
    if (!tc_event_attrs_match(ev))
        return tc_seterr(err, TC_ERR_PROTOCOL, "run %s: event %lld of type %d lacks its attributes",
                         r->run_id, (long long)ev->event_id, (int)ev->event_type);
    if (ev->event_id != r->last_event_id + 1)
        return tc_seterr(err, TC_ERR_PROTOCOL, "run %s: event %lld follows %lld", r->run_id,
                         (long long)ev->event_id, (long long)r->last_event_id);
    int rc = TC_OK;
    rc_cmd *c;
    char num[24];
    switch (ev->event_type) {
    case TC_ET(WORKFLOW_EXECUTION_STARTED): rc = apply_started(r, ev); break;
    case TC_ET(ACTIVITY_TASK_SCHEDULED): {
        const Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes *a =
            ev->activity_task_scheduled_event_attributes;
        if (!push_cmd(r, RC_ACTIVITY, ev->event_id, a->activity_id,
                      a->activity_type ? a->activity_type->name : ""))
            rc = TC_ERR_NOMEM;
        break;
    }
    case TC_ET(ACTIVITY_TASK_COMPLETED):
        c = find_cmd(r, ev->activity_task_completed_event_attributes->scheduled_event_id);
        if (c) {
            c->status = TC_WF_DONE;
            c->result =
                tc_payloads_first_json(ev->activity_task_completed_event_attributes->result);
            if (!c->result)
                rc = TC_ERR_NOMEM;
        }
        break;
    case TC_ET(ACTIVITY_TASK_FAILED):
        c = find_cmd(r, ev->activity_task_failed_event_attributes->scheduled_event_id);
        if (c)
            rc = set_failure(c, ev->activity_task_failed_event_attributes->failure, NULL);
        break;
    case TC_ET(ACTIVITY_TASK_TIMED_OUT):
        c = find_cmd(r, ev->activity_task_timed_out_event_attributes->scheduled_event_id);
        if (c)
            rc = set_failure(c, ev->activity_task_timed_out_event_attributes->failure,
                             "TimeoutError");
        break;
    case TC_ET(ACTIVITY_TASK_CANCELED):
        c = find_cmd(r, ev->activity_task_canceled_event_attributes->scheduled_event_id);
        if (c)
            rc = set_failure(c, NULL, "CanceledError");
        break;
    case TC_ET(ACTIVITY_TASK_CANCEL_REQUESTED):
        c = find_cmd(r, ev->activity_task_cancel_requested_event_attributes->scheduled_event_id);
        if (!push_cmd(r, RC_CANCEL_ACTIVITY, ev->event_id, c ? c->id : "?", ""))
            rc = TC_ERR_NOMEM;
        break;
    case TC_ET(TIMER_STARTED):
        if (!push_cmd(r, RC_TIMER, ev->event_id, ev->timer_started_event_attributes->timer_id, ""))
            rc = TC_ERR_NOMEM;
        break;
    case TC_ET(TIMER_FIRED):
        c = find_cmd(r, ev->timer_fired_event_attributes->started_event_id);
        if (c)
            c->status = TC_WF_DONE;
        break;
    case TC_ET(WORKFLOW_EXECUTION_SIGNALED): rc = apply_signal(r, ev); break;
    case TC_ET(WORKFLOW_EXECUTION_COMPLETED):
        r->closed = true;
        if (!push_cmd(r, RC_COMPLETE, ev->event_id, "", ""))
            rc = TC_ERR_NOMEM;
        break;
    case TC_ET(WORKFLOW_EXECUTION_FAILED):
        r->closed = true;
        if (!push_cmd(r, RC_FAIL, ev->event_id, "", ""))
            rc = TC_ERR_NOMEM;
        break;
    case TC_ET(WORKFLOW_EXECUTION_TERMINATED):
    case TC_ET(WORKFLOW_EXECUTION_TIMED_OUT): r->closed = true; break;
    /* Events recorded from commands this runtime never issues: kept in the command list so a
     * replay of such a history reports the disagreement instead of skipping it. */
    case TC_ET(WORKFLOW_EXECUTION_CANCELED):
    case TC_ET(WORKFLOW_EXECUTION_CONTINUED_AS_NEW):
        r->closed = true;
        /* fallthrough */
    case TC_ET(MARKER_RECORDED):
    case TC_ET(TIMER_CANCELED):
    case TC_ET(START_CHILD_WORKFLOW_EXECUTION_INITIATED):
    case TC_ET(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED):
    case TC_ET(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED):
    case TC_ET(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES):
    case TC_ET(WORKFLOW_PROPERTIES_MODIFIED):
    case TC_ET(NEXUS_OPERATION_SCHEDULED):
        snprintf(num, sizeof num, "event-type-%d", (int)ev->event_type);
        if (!push_cmd(r, RC_OTHER, ev->event_id, "", num))
            rc = TC_ERR_NOMEM;
        break;
    default: break; /* workflow task bookkeeping, activity started, cancel requests ... */
    }
    if (rc == TC_ERR_NOMEM)
        return tc_seterr(err, rc, "out of memory");
    if (rc != TC_OK)
        return tc_seterr(err, rc, "run %s: malformed event %lld", r->run_id,
                         (long long)ev->event_id);
    r->last_event_id = ev->event_id;
    return TC_OK;
}

/* ---- execution ---- */

void tc_exec_clear(tc_exec *x)
{
    for (size_t i = 0; i < x->n_cmds; i++)
        free(x->cmds[i].data);
    free(x->cmds);
    memset(x, 0, sizeof *x);
}

static const char *kind_name(rc_kind k)
{
    switch (k) {
    case RC_ACTIVITY: return "ScheduleActivityTask";
    case RC_TIMER: return "StartTimer";
    case RC_COMPLETE: return "CompleteWorkflowExecution";
    case RC_FAIL: return "FailWorkflowExecution";
    case RC_CANCEL_ACTIVITY: return "RequestCancelActivityTask";
    default: return "Other";
    }
}

static bool stopped(const tc_wf_ctx *ctx)
{
    return ctx->x->nondeterministic || ctx->x->task_failure;
}

/* Matches the next command the code makes against history. Returns 1 with *out when history
 * recorded it, 0 when it is new, -1 when they disagree (the task fails as NON_DETERMINISTIC). */
static int match(tc_wf_ctx *ctx, rc_kind kind, const char *id, const char *type, rc_cmd **out)
{
    tc_run *r = ctx->run;
    if (ctx->cursor >= r->n_cmds)
        return 0;
    rc_cmd *h = &r->cmds[ctx->cursor++];
    if (h->kind != kind || (id && strcmp(h->id, id) != 0) || (type && strcmp(h->type, type) != 0)) {
        ctx->x->nondeterministic = true;
        snprintf(ctx->x->fail_text, sizeof ctx->x->fail_text,
                 "history event %lld recorded %s(id=%s, type=%s) but the workflow code now "
                 "makes %s(id=%s, type=%s)",
                 (long long)h->event_id, kind_name(h->kind), h->id, h->type, kind_name(kind),
                 id ? id : "", type ? type : "");
        return -1;
    }
    *out = h;
    return 1;
}

static void task_fail(tc_wf_ctx *ctx, const char *msg)
{
    if (stopped(ctx))
        return;
    ctx->x->task_failure = true;
    snprintf(ctx->x->fail_text, sizeof ctx->x->fail_text, "%s", msg);
}

static bool push_packed(tc_wf_ctx *ctx, const Temporal__Api__Command__V1__Command *cmd)
{
    tc_exec *x = ctx->x;
    if (x->n_cmds == x->cap_cmds) {
        size_t nc = x->cap_cmds ? x->cap_cmds * 2 : 4;
        ProtobufCBinaryData *p = realloc(x->cmds, nc * sizeof *p);
        if (!p)
            goto oom;
        x->cmds = p;
        x->cap_cmds = nc;
    }
    size_t len = temporal__api__command__v1__command__get_packed_size(cmd);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        goto oom;
    temporal__api__command__v1__command__pack(cmd, buf);
    x->cmds[x->n_cmds].data = buf;
    x->cmds[x->n_cmds].len = len;
    x->n_cmds++;
    return true;
oom:
    task_fail(ctx, "out of memory building a command");
    return false;
}

static void schedule_activity(tc_wf_ctx *ctx, const char *id, const char *type,
                              const char *input_json, const tc_activity_options *o)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__SCHEDULE_ACTIVITY_TASK_COMMAND_ATTRIBUTES__INIT;
    Temporal__Api__Common__V1__ActivityType at = TEMPORAL__API__COMMON__V1__ACTIVITY_TYPE__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    Temporal__Api__Common__V1__RetryPolicy rp = TEMPORAL__API__COMMON__V1__RETRY_POLICY__INIT;
    tc_pb_duration d_s2c, d_st2c, d_s2s, d_hb, d_ii, d_mi;
    tc_pl1 in;
    at.name = (char *)type;
    tq.name = (char *)(o->task_queue ? o->task_queue : ctx->run->task_queue);
    tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    a.activity_id = (char *)id;
    a.activity_type = &at;
    a.task_queue = &tq;
    a.input = tc_pl1_init(&in, input_json);
    if (o->schedule_to_close_ms > 0) {
        tc_duration_ms(&d_s2c, o->schedule_to_close_ms);
        a.schedule_to_close_timeout = &d_s2c;
    }
    if (o->start_to_close_ms > 0) {
        tc_duration_ms(&d_st2c, o->start_to_close_ms);
        a.start_to_close_timeout = &d_st2c;
    }
    if (o->schedule_to_start_ms > 0) {
        tc_duration_ms(&d_s2s, o->schedule_to_start_ms);
        a.schedule_to_start_timeout = &d_s2s;
    }
    if (o->heartbeat_timeout_ms > 0) {
        tc_duration_ms(&d_hb, o->heartbeat_timeout_ms);
        a.heartbeat_timeout = &d_hb;
    }
    if (o->retry) {
        if (o->retry->initial_interval_ms > 0) {
            tc_duration_ms(&d_ii, o->retry->initial_interval_ms);
            rp.initial_interval = &d_ii;
        }
        if (o->retry->maximum_interval_ms > 0) {
            tc_duration_ms(&d_mi, o->retry->maximum_interval_ms);
            rp.maximum_interval = &d_mi;
        }
        rp.backoff_coefficient = o->retry->backoff_coefficient;
        rp.maximum_attempts = o->retry->maximum_attempts;
        size_t n = 0;
        if (o->retry->non_retryable_error_types)
            while (o->retry->non_retryable_error_types[n])
                n++;
        rp.n_non_retryable_error_types = n;
        rp.non_retryable_error_types = (char **)o->retry->non_retryable_error_types;
        a.retry_policy = &rp;
    }
    cmd.command_type = TC_CT(SCHEDULE_ACTIVITY_TASK);
    cmd.attributes_case =
        TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_SCHEDULE_ACTIVITY_TASK_COMMAND_ATTRIBUTES;
    cmd.schedule_activity_task_command_attributes = &a;
    push_packed(ctx, &cmd);
}

static tc_wf_step activity(tc_wf_ctx *ctx, const char *activity_type, const char *input_json,
                           tc_wf_input_fn make_input, void *arg, const tc_activity_options *opts,
                           tc_wf_result *out)
{
    static const tc_activity_options defaults = {0};
    char seq[24];
    if (out)
        memset(out, 0, sizeof *out);
    ctx->act_seq++;
    if (stopped(ctx) || ctx->ended)
        return TC_WF_PENDING;
    if (!opts)
        opts = &defaults;
    if (!activity_type || !*activity_type) {
        task_fail(ctx, "tc_wf_activity: activity_type is required");
        return TC_WF_PENDING;
    }
    if (opts->schedule_to_close_ms <= 0 && opts->start_to_close_ms <= 0) {
        task_fail(ctx, "tc_wf_activity: schedule_to_close_ms or start_to_close_ms must be set");
        return TC_WF_PENDING;
    }
    snprintf(seq, sizeof seq, "%u", ctx->act_seq);
    const char *id = opts->activity_id ? opts->activity_id : seq;
    rc_cmd *h = NULL;
    int m = match(ctx, RC_ACTIVITY, id, activity_type, &h);
    if (m < 0)
        return TC_WF_PENDING;
    if (m == 0) {
        char *built = NULL;
        if (make_input) {
            built = make_input(arg);
            if (!built)
                return TC_WF_PENDING;
            input_json = built;
        }
        schedule_activity(ctx, id, activity_type, input_json, opts);
        free(built);
        ctx->blocked = true;
        return TC_WF_PENDING;
    }
    if (h->status == TC_WF_PENDING) {
        ctx->blocked = true;
        return TC_WF_PENDING;
    }
    if (out) {
        out->result_json = h->result ? h->result : "null";
        out->failure_type = h->ftype;
        out->failure_message = h->fmsg;
        out->non_retryable = h->non_retryable;
    }
    return (tc_wf_step)h->status;
}

tc_wf_step tc_wf_activity(tc_wf_ctx *ctx, const char *activity_type, const char *input_json,
                          const tc_activity_options *opts, tc_wf_result *out)
{
    return activity(ctx, activity_type, input_json, NULL, NULL, opts, out);
}

tc_wf_step tc_wf_activity_lazy(tc_wf_ctx *ctx, const char *activity_type, tc_wf_input_fn make_input,
                               void *arg, const tc_activity_options *opts, tc_wf_result *out)
{
    return activity(ctx, activity_type, NULL, make_input, arg, opts, out);
}

tc_wf_step tc_wf_cancel_activity(tc_wf_ctx *ctx, const char *activity_id)
{
    if (stopped(ctx) || ctx->ended || !activity_id)
        return TC_WF_PENDING;
    tc_run *r = ctx->run;
    /* A request already recorded at this point of history is matched first, whatever the
     * activity's state is now (it may have been cancelled since). */
    if (ctx->cursor < r->n_cmds && r->cmds[ctx->cursor].kind == RC_CANCEL_ACTIVITY) {
        rc_cmd *h = NULL;
        return match(ctx, RC_CANCEL_ACTIVITY, activity_id, NULL, &h) < 0 ? TC_WF_PENDING
                                                                         : TC_WF_DONE;
    }
    const rc_cmd *a = NULL;
    for (size_t i = 0; i < r->n_cmds; i++)
        if (r->cmds[i].kind == RC_ACTIVITY && strcmp(r->cmds[i].id, activity_id) == 0)
            a = &r->cmds[i];
    if (!a) {
        /* Scheduled in this very task (or never): no event id to name yet. */
        ctx->blocked = true;
        return TC_WF_PENDING;
    }
    if (a->status != TC_WF_PENDING)
        return TC_WF_DONE; /* finished already: nothing to cancel */
    if (ctx->cursor < r->n_cmds) {
        /* History continues with another command: the code changed. */
        rc_cmd *h = NULL;
        match(ctx, RC_CANCEL_ACTIVITY, activity_id, NULL, &h);
        return TC_WF_PENDING;
    }
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__RequestCancelActivityTaskCommandAttributes at =
        TEMPORAL__API__COMMAND__V1__REQUEST_CANCEL_ACTIVITY_TASK_COMMAND_ATTRIBUTES__INIT;
    at.scheduled_event_id = a->event_id;
    cmd.command_type = TC_CT(REQUEST_CANCEL_ACTIVITY_TASK);
    cmd.attributes_case =
        TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_REQUEST_CANCEL_ACTIVITY_TASK_COMMAND_ATTRIBUTES;
    cmd.request_cancel_activity_task_command_attributes = &at;
    push_packed(ctx, &cmd);
    return TC_WF_DONE;
}

tc_wf_step tc_wf_sleep(tc_wf_ctx *ctx, int64_t duration_ms)
{
    char id[24];
    ctx->timer_seq++;
    if (stopped(ctx) || ctx->ended)
        return TC_WF_PENDING;
    if (duration_ms <= 0)
        return TC_WF_DONE; /* no timer needed; deterministic either way */
    snprintf(id, sizeof id, "t%u", ctx->timer_seq);
    rc_cmd *h = NULL;
    int m = match(ctx, RC_TIMER, id, NULL, &h);
    if (m < 0)
        return TC_WF_PENDING;
    if (m == 0) {
        Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
        Temporal__Api__Command__V1__StartTimerCommandAttributes a =
            TEMPORAL__API__COMMAND__V1__START_TIMER_COMMAND_ATTRIBUTES__INIT;
        tc_pb_duration d;
        tc_duration_ms(&d, duration_ms);
        a.timer_id = id;
        a.start_to_fire_timeout = &d;
        cmd.command_type = TC_CT(START_TIMER);
        cmd.attributes_case =
            TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_START_TIMER_COMMAND_ATTRIBUTES;
        cmd.start_timer_command_attributes = &a;
        push_packed(ctx, &cmd);
        ctx->blocked = true;
        return TC_WF_PENDING;
    }
    if (h->status != TC_WF_DONE) {
        ctx->blocked = true;
        return TC_WF_PENDING;
    }
    return TC_WF_DONE;
}

tc_wf_step tc_wf_wait_signal(tc_wf_ctx *ctx, const char *name, size_t n, const char **json_out)
{
    if (json_out)
        *json_out = NULL;
    if (stopped(ctx) || ctx->ended || !name)
        return TC_WF_PENDING;
    size_t seen = 0;
    for (size_t i = 0; i < ctx->run->n_sigs; i++) {
        if (strcmp(ctx->run->sigs[i].name, name) != 0)
            continue;
        if (seen++ == n) {
            if (json_out)
                *json_out = ctx->run->sigs[i].json;
            return TC_WF_DONE;
        }
    }
    ctx->blocked = true;
    return TC_WF_PENDING;
}

void tc_wf_complete(tc_wf_ctx *ctx, const char *result_json)
{
    if (stopped(ctx) || ctx->ended)
        return;
    ctx->ended = true;
    rc_cmd *h = NULL;
    int m = match(ctx, RC_COMPLETE, NULL, NULL, &h);
    if (m != 0)
        return;
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__CompleteWorkflowExecutionCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__COMPLETE_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    tc_pl1 res;
    a.result = tc_pl1_init(&res, result_json);
    cmd.command_type = TC_CT(COMPLETE_WORKFLOW_EXECUTION);
    cmd.attributes_case =
        TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_COMPLETE_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
    cmd.complete_workflow_execution_command_attributes = &a;
    push_packed(ctx, &cmd);
}

void tc_wf_fail(tc_wf_ctx *ctx, const char *type, const char *message, bool non_retryable)
{
    if (stopped(ctx) || ctx->ended)
        return;
    ctx->ended = true;
    rc_cmd *h = NULL;
    int m = match(ctx, RC_FAIL, NULL, NULL, &h);
    if (m != 0)
        return;
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__FailWorkflowExecutionCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__FAIL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    tc_appfail f;
    a.failure = tc_appfail_init(&f, type, message, non_retryable);
    cmd.command_type = TC_CT(FAIL_WORKFLOW_EXECUTION);
    cmd.attributes_case =
        TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_FAIL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
    cmd.fail_workflow_execution_command_attributes = &a;
    push_packed(ctx, &cmd);
}

size_t tc_wf_input_count(const tc_wf_ctx *ctx)
{
    return ctx->run->n_inputs;
}
const char *tc_wf_input(const tc_wf_ctx *ctx, size_t i)
{
    return i < ctx->run->n_inputs ? ctx->run->inputs[i] : NULL;
}
const char *tc_wf_workflow_id(const tc_wf_ctx *ctx)
{
    return ctx->run->workflow_id;
}
const char *tc_wf_run_id(const tc_wf_ctx *ctx)
{
    return ctx->run->run_id;
}
const char *tc_wf_workflow_type(const tc_wf_ctx *ctx)
{
    return ctx->run->workflow_type;
}
bool tc_wf_is_replaying(const tc_wf_ctx *ctx)
{
    return ctx->cursor < ctx->run->n_cmds;
}

int tc_run_execute(tc_run *r, tc_workflow_fn fn, void *state, size_t state_size, void *user,
                   tc_exec *x)
{
    tc_wf_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    memset(x, 0, sizeof *x);
    ctx.run = r;
    ctx.x = x;
    if (state && state_size)
        memset(state, 0, state_size);
    fn(&ctx, state, user);
    if (stopped(&ctx))
        return TC_OK;
    if (ctx.cursor < r->n_cmds) {
        /* History holds commands the code no longer makes (e.g. an activity was removed). */
        const rc_cmd *h = &r->cmds[ctx.cursor];
        x->nondeterministic = true;
        snprintf(x->fail_text, sizeof x->fail_text,
                 "history event %lld recorded %s(id=%s, type=%s) but the workflow code made no "
                 "such command",
                 (long long)h->event_id, kind_name(h->kind), h->id, h->type);
        return TC_OK;
    }
    if (!ctx.ended && !ctx.blocked && !r->closed)
        tc_wf_complete(&ctx, NULL); /* returning with nothing pending completes the run */
    return TC_OK;
}

int tc_replay_history(const tc_history *h, tc_workflow_fn fn, void *state, size_t state_size,
                      void *user, tc_error *err)
{
    if (!h || !fn)
        return tc_seterr(err, TC_ERR_INVALID, "history and fn are required");
    tc_run *r = tc_run_new("replay", "replay");
    if (!r)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    int rc = TC_OK;
    void *scratch = NULL;
    if (!state && state_size) {
        scratch = calloc(1, state_size);
        if (!scratch) {
            rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
            goto out;
        }
        state = scratch;
    }
    /* Replay task by task, as the worker saw it: after each WorkflowTaskStarted the code must
     * reproduce the commands recorded up to that point (and no others but new ones). */
    for (size_t i = 0; i < h->n; i++) {
        rc = tc_run_apply(r, h->events[i], err);
        if (rc != TC_OK)
            goto out;
        bool last = i + 1 == h->n;
        if (h->events[i]->event_type != TC_ET(WORKFLOW_TASK_STARTED) && !last)
            continue;
        tc_exec x;
        tc_run_execute(r, fn, state, state_size, user, &x);
        bool bad = x.nondeterministic || x.task_failure;
        if (bad)
            rc = tc_seterr(err, TC_ERR_STATE, "non-determinism at event %lld: %s",
                           (long long)h->events[i]->event_id, x.fail_text);
        tc_exec_clear(&x);
        if (bad)
            goto out;
    }
out:
    free(scratch);
    tc_run_free(r);
    return rc;
}
