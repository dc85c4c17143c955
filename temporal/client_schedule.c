/* client_schedule.c - schedules: create, describe, patch (pause, unpause, trigger, backfill),
 * update, delete, list. Builds the Schedule message from tc_schedule_options; no state. */
#include "temporal_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS(name)        temporal__api__workflowservice__v1__##name
#define TC_SCHED_MAX    64 /* intervals / calendars / cron strings in one spec */
#define TC_CAL_TEXT_MAX 4096

typedef Temporal__Api__Schedule__V1__Schedule tc_pb_schedule;
typedef Temporal__Api__Schedule__V1__IntervalSpec tc_pb_interval;
typedef Temporal__Api__Schedule__V1__CalendarSpec tc_pb_calendar;

static void ts_from_ms(Google__Protobuf__Timestamp *t, int64_t ms)
{
    google__protobuf__timestamp__init(t);
    t->seconds = ms / 1000;
    t->nanos = (int32_t)((ms % 1000) * 1000000);
}

static int64_t ts_to_ms(const Google__Protobuf__Timestamp *t)
{
    return t ? tc_ms_of(t->seconds, t->nanos) : 0;
}

static int64_t dur_to_ms(const Google__Protobuf__Duration *d)
{
    return d ? tc_ms_of(d->seconds, d->nanos) : 0;
}

/* Everything a Schedule message points to, on the caller's stack (plus the malloc'd memo and
 * search attributes of the action). */
typedef struct sched_parts {
    tc_pb_schedule sched;
    Temporal__Api__Schedule__V1__ScheduleSpec spec;
    Temporal__Api__Schedule__V1__ScheduleAction action;
    Temporal__Api__Schedule__V1__SchedulePolicies policies;
    Temporal__Api__Schedule__V1__ScheduleState state;
    Temporal__Api__Workflow__V1__NewWorkflowExecutionInfo wf;
    Temporal__Api__Common__V1__WorkflowType wt;
    Temporal__Api__Taskqueue__V1__TaskQueue tq;
    tc_pl1 in;
    tc_pb_interval iv[TC_SCHED_MAX];
    tc_pb_interval *ivp[TC_SCHED_MAX];
    tc_pb_duration iv_every[TC_SCHED_MAX], iv_phase[TC_SCHED_MAX];
    tc_pb_calendar cal[TC_SCHED_MAX];
    tc_pb_calendar *calp[TC_SCHED_MAX];
    char *cron[TC_SCHED_MAX];
    Google__Protobuf__Timestamp start, end;
    tc_pb_duration jitter, catchup, d_exec, d_run, d_task;
} sched_parts;

static void sched_parts_free(sched_parts *p)
{
    tc_pl1_clear(&p->in);
    if (p->wf.memo)
        protobuf_c_message_free_unpacked(&p->wf.memo->base, NULL);
    if (p->wf.search_attributes)
        protobuf_c_message_free_unpacked(&p->wf.search_attributes->base, NULL);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static void calendar_init(tc_pb_calendar *c, const tc_schedule_calendar *o)
{
    temporal__api__schedule__v1__calendar_spec__init(c);
    c->second = (char *)or_empty(o->second);
    c->minute = (char *)or_empty(o->minute);
    c->hour = (char *)or_empty(o->hour);
    c->day_of_month = (char *)or_empty(o->day_of_month);
    c->month = (char *)or_empty(o->month);
    c->year = (char *)or_empty(o->year);
    c->day_of_week = (char *)or_empty(o->day_of_week);
    c->comment = (char *)or_empty(o->comment);
}

static int spec_init(sched_parts *p, const tc_schedule_options *o, tc_error *err)
{
    Temporal__Api__Schedule__V1__ScheduleSpec *s = &p->spec;
    temporal__api__schedule__v1__schedule_spec__init(s);
    size_t n_cron = 0;
    while (o->cron && o->cron[n_cron])
        n_cron++;
    if (o->n_intervals > TC_SCHED_MAX || o->n_calendars > TC_SCHED_MAX || n_cron > TC_SCHED_MAX)
        return tc_seterr(err, TC_ERR_INVALID, "a schedule spec takes at most %d entries of a kind",
                         TC_SCHED_MAX);
    for (size_t i = 0; i < o->n_intervals; i++) {
        if (o->intervals[i].every_ms <= 0 || o->intervals[i].offset_ms < 0)
            return tc_seterr(err, TC_ERR_INVALID, "interval %zu: every_ms must be > 0", i);
        temporal__api__schedule__v1__interval_spec__init(&p->iv[i]);
        tc_duration_ms(&p->iv_every[i], o->intervals[i].every_ms);
        p->iv[i].interval = &p->iv_every[i];
        if (o->intervals[i].offset_ms > 0) {
            tc_duration_ms(&p->iv_phase[i], o->intervals[i].offset_ms);
            p->iv[i].phase = &p->iv_phase[i];
        }
        p->ivp[i] = &p->iv[i];
    }
    s->n_interval = o->n_intervals;
    s->interval = p->ivp;
    for (size_t i = 0; i < o->n_calendars; i++) {
        calendar_init(&p->cal[i], &o->calendars[i]);
        p->calp[i] = &p->cal[i];
    }
    s->n_calendar = o->n_calendars;
    s->calendar = p->calp;
    for (size_t i = 0; i < n_cron; i++)
        p->cron[i] = (char *)o->cron[i];
    s->n_cron_string = n_cron;
    s->cron_string = p->cron;
    if (o->start_time_ms > 0) {
        ts_from_ms(&p->start, o->start_time_ms);
        s->start_time = &p->start;
    }
    if (o->end_time_ms > 0) {
        ts_from_ms(&p->end, o->end_time_ms);
        s->end_time = &p->end;
    }
    if (o->jitter_ms > 0) {
        tc_duration_ms(&p->jitter, o->jitter_ms);
        s->jitter = &p->jitter;
    }
    s->timezone_name = (char *)or_empty(o->timezone);
    return TC_OK;
}

static int action_init(sched_parts *p, const tc_schedule_options *o, tc_error *err)
{
    if (!o->workflow_id || !*o->workflow_id || !o->workflow_type || !*o->workflow_type ||
        !o->task_queue || !*o->task_queue)
        return tc_seterr(err, TC_ERR_INVALID,
                         "schedule action: workflow_id, workflow_type, task_queue required");
    Temporal__Api__Workflow__V1__NewWorkflowExecutionInfo *w = &p->wf;
    temporal__api__workflow__v1__new_workflow_execution_info__init(w);
    temporal__api__common__v1__workflow_type__init(&p->wt);
    temporal__api__taskqueue__v1__task_queue__init(&p->tq);
    p->wt.name = (char *)o->workflow_type;
    p->tq.name = (char *)o->task_queue;
    p->tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    w->workflow_id = (char *)o->workflow_id;
    w->workflow_type = &p->wt;
    w->task_queue = &p->tq;
    w->input = tc_pl1_init(&p->in, o->input_json);
    if (o->execution_timeout_ms > 0) {
        tc_duration_ms(&p->d_exec, o->execution_timeout_ms);
        w->workflow_execution_timeout = &p->d_exec;
    }
    if (o->run_timeout_ms > 0) {
        tc_duration_ms(&p->d_run, o->run_timeout_ms);
        w->workflow_run_timeout = &p->d_run;
    }
    if (o->task_timeout_ms > 0) {
        tc_duration_ms(&p->d_task, o->task_timeout_ms);
        w->workflow_task_timeout = &p->d_task;
    }
    int rc = TC_OK;
    if (o->memo_json)
        rc = tc_memo_from_json(o->memo_json, &w->memo, err);
    if (rc == TC_OK && o->search_attributes_json)
        rc = tc_search_attributes_from_json(o->search_attributes_json, &w->search_attributes, err);
    temporal__api__schedule__v1__schedule_action__init(&p->action);
    p->action.action_case = TEMPORAL__API__SCHEDULE__V1__SCHEDULE_ACTION__ACTION_START_WORKFLOW;
    p->action.start_workflow = w;
    return rc;
}

/* Builds p->sched from o. On error nothing is left to free. */
static int sched_build(sched_parts *p, const tc_schedule_options *o, tc_error *err)
{
    memset(p, 0, sizeof *p);
    if (!o)
        return tc_seterr(err, TC_ERR_INVALID, "schedule options required");
    if (o->overlap < TC_OVERLAP_UNSPECIFIED || o->overlap > TC_OVERLAP_ALLOW_ALL ||
        o->remaining_actions < 0 || o->catchup_window_ms < 0)
        return tc_seterr(err, TC_ERR_INVALID, "schedule policies out of range");
    int rc = spec_init(p, o, err);
    if (rc == TC_OK)
        rc = action_init(p, o, err);
    if (rc != TC_OK) {
        sched_parts_free(p);
        return rc;
    }
    temporal__api__schedule__v1__schedule_policies__init(&p->policies);
    p->policies.overlap_policy = (Temporal__Api__Enums__V1__ScheduleOverlapPolicy)o->overlap;
    if (o->catchup_window_ms > 0) {
        tc_duration_ms(&p->catchup, o->catchup_window_ms);
        p->policies.catchup_window = &p->catchup;
    }
    p->policies.pause_on_failure = o->pause_on_failure;
    temporal__api__schedule__v1__schedule_state__init(&p->state);
    p->state.notes = (char *)or_empty(o->notes);
    p->state.paused = o->paused;
    p->state.limited_actions = o->remaining_actions > 0;
    p->state.remaining_actions = o->remaining_actions;
    temporal__api__schedule__v1__schedule__init(&p->sched);
    p->sched.spec = &p->spec;
    p->sched.action = &p->action;
    p->sched.policies = &p->policies;
    p->sched.state = &p->state;
    return TC_OK;
}

static int need_id(const char *id, tc_error *err)
{
    return (id && *id) ? TC_OK : tc_seterr(err, TC_ERR_INVALID, "schedule_id required");
}

/* CreateSchedule or UpdateSchedule (the same schedule message, the same request fields). */
static int put_schedule(tc_client *c, const char *schedule_id, const tc_schedule_options *o,
                        bool update, tc_error *err)
{
    int rc = need_id(schedule_id, err);
    if (rc != TC_OK)
        return rc;
    sched_parts *p = malloc(sizeof *p); /* a few KiB: keep it off small thread stacks */
    if (!p)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    rc = sched_build(p, o, err);
    if (rc != TC_OK) {
        free(p);
        return rc;
    }
    char uuid[37];
    tc_uuid(uuid);
    ProtobufCMessage *m = NULL;
    if (update) {
        Temporal__Api__Workflowservice__V1__UpdateScheduleRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__UPDATE_SCHEDULE_REQUEST__INIT;
        rq.namespace_ = c->ns;
        rq.schedule_id = (char *)schedule_id;
        rq.schedule = &p->sched;
        rq.identity = c->identity;
        rq.request_id = uuid;
        rc = tc_rpc(c, "UpdateSchedule", TC_RPC_MSG(rq), &WS(update_schedule_response__descriptor),
                    &m, 0, 0, NULL, err);
    } else {
        Temporal__Api__Workflowservice__V1__CreateScheduleRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__CREATE_SCHEDULE_REQUEST__INIT;
        rq.namespace_ = c->ns;
        rq.schedule_id = (char *)schedule_id;
        rq.schedule = &p->sched;
        rq.identity = c->identity;
        rq.request_id = uuid;
        rc = tc_rpc(c, "CreateSchedule", TC_RPC_MSG(rq), &WS(create_schedule_response__descriptor),
                    &m, 0, 0, NULL, err);
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    sched_parts_free(p);
    free(p);
    return rc;
}

int tc_schedule_create(tc_client *c, const char *schedule_id, const tc_schedule_options *o,
                       tc_error *err)
{
    return put_schedule(c, schedule_id, o, false, err);
}

int tc_schedule_update(tc_client *c, const char *schedule_id, const tc_schedule_options *o,
                       tc_error *err)
{
    return put_schedule(c, schedule_id, o, true, err);
}

void tc_schedule_info_clear(tc_schedule_info *i)
{
    if (!i)
        return;
    free(i->notes);
    free(i->workflow_id);
    free(i->workflow_type);
    free(i->task_queue);
    free(i->calendars_text);
    memset(i, 0, sizeof *i);
}

/* "field=value" pairs of the structured calendar entries, for display and checks. */
static char *calendars_text(const Temporal__Api__Schedule__V1__ScheduleSpec *s)
{
    char *out = calloc(1, TC_CAL_TEXT_MAX);
    if (!out || !s)
        return out;
    size_t n = 0;
    for (size_t i = 0; i < s->n_structured_calendar && n < TC_CAL_TEXT_MAX; i++) {
        const Temporal__Api__Schedule__V1__StructuredCalendarSpec *c = s->structured_calendar[i];
        struct {
            const char *name;
            size_t nr;
            Temporal__Api__Schedule__V1__Range **r;
        } f[] = {{"second", c->n_second, c->second},
                 {"minute", c->n_minute, c->minute},
                 {"hour", c->n_hour, c->hour},
                 {"day_of_month", c->n_day_of_month, c->day_of_month},
                 {"month", c->n_month, c->month},
                 {"day_of_week", c->n_day_of_week, c->day_of_week}};
        if (i > 0)
            n += (size_t)snprintf(out + n, TC_CAL_TEXT_MAX - n, "; ");
        for (size_t k = 0; k < sizeof f / sizeof f[0] && n < TC_CAL_TEXT_MAX; k++) {
            if (f[k].nr == 0)
                continue;
            n += (size_t)snprintf(out + n, TC_CAL_TEXT_MAX - n,
                                  "%s%s=", n && out[n - 1] != ' ' ? " " : "", f[k].name);
            for (size_t j = 0; j < f[k].nr && n < TC_CAL_TEXT_MAX; j++) {
                const Temporal__Api__Schedule__V1__Range *r = f[k].r[j];
                if (r->end > r->start)
                    n += (size_t)snprintf(out + n, TC_CAL_TEXT_MAX - n, "%s%d-%d/%d", j ? "," : "",
                                          r->start, r->end, r->step ? r->step : 1);
                else
                    n += (size_t)snprintf(out + n, TC_CAL_TEXT_MAX - n, "%s%d", j ? "," : "",
                                          r->start);
            }
        }
    }
    if (n >= TC_CAL_TEXT_MAX)
        out[TC_CAL_TEXT_MAX - 1] = '\0';
    return out;
}

static int info_from_describe(tc_schedule_info *o,
                              const Temporal__Api__Workflowservice__V1__DescribeScheduleResponse *r,
                              tc_error *err)
{
    const tc_pb_schedule *s = r->schedule;
    const Temporal__Api__Workflow__V1__NewWorkflowExecutionInfo *w =
        s && s->action ? s->action->start_workflow : NULL;
    o->workflow_id = tc_strdup(w ? w->workflow_id : "");
    o->workflow_type = tc_strdup(w && w->workflow_type ? w->workflow_type->name : "");
    o->task_queue = tc_strdup(w && w->task_queue ? w->task_queue->name : "");
    o->notes = tc_strdup(s && s->state ? s->state->notes : "");
    o->calendars_text = calendars_text(s ? s->spec : NULL);
    if (!o->workflow_id || !o->workflow_type || !o->task_queue || !o->notes || !o->calendars_text)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    if (s && s->state) {
        o->paused = s->state->paused;
        o->remaining_actions = s->state->limited_actions ? s->state->remaining_actions : -1;
    }
    if (s && s->policies) {
        o->overlap = (tc_overlap_policy)s->policies->overlap_policy;
        o->catchup_window_ms = dur_to_ms(s->policies->catchup_window);
        o->pause_on_failure = s->policies->pause_on_failure;
    }
    if (s && s->spec) {
        o->n_intervals = s->spec->n_interval;
        o->interval_ms = s->spec->n_interval ? dur_to_ms(s->spec->interval[0]->interval) : 0;
        o->n_calendars = s->spec->n_structured_calendar;
    }
    const Temporal__Api__Schedule__V1__ScheduleInfo *i = r->info;
    if (i) {
        o->action_count = i->action_count;
        o->missed_catchup_window = i->missed_catchup_window;
        o->overlap_skipped = i->overlap_skipped;
        o->running_workflows = i->n_running_workflows;
        o->recent_actions = i->n_recent_actions;
        for (size_t k = 0; k < i->n_future_action_times && o->n_next < 8; k++)
            o->next_action_ms[o->n_next++] = ts_to_ms(i->future_action_times[k]);
        o->create_time_ms = ts_to_ms(i->create_time);
        o->update_time_ms = ts_to_ms(i->update_time);
    }
    return TC_OK;
}

int tc_schedule_describe(tc_client *c, const char *schedule_id, tc_schedule_info *out,
                         tc_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = need_id(schedule_id, err);
    if (rc != TC_OK)
        return rc;
    Temporal__Api__Workflowservice__V1__DescribeScheduleRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_SCHEDULE_REQUEST__INIT;
    rq.namespace_ = c->ns;
    rq.schedule_id = (char *)schedule_id;
    ProtobufCMessage *m = NULL;
    rc = tc_rpc(c, "DescribeSchedule", TC_RPC_MSG(rq), &WS(describe_schedule_response__descriptor),
                &m, 0, 0, NULL, err);
    if (rc != TC_OK)
        return rc;
    rc = info_from_describe(out, (void *)m, err);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc != TC_OK)
        tc_schedule_info_clear(out);
    return rc;
}

static int patch(tc_client *c, const char *schedule_id,
                 Temporal__Api__Schedule__V1__SchedulePatch *p, tc_error *err)
{
    int rc = need_id(schedule_id, err);
    if (rc != TC_OK)
        return rc;
    Temporal__Api__Workflowservice__V1__PatchScheduleRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__PATCH_SCHEDULE_REQUEST__INIT;
    char uuid[37];
    tc_uuid(uuid);
    rq.namespace_ = c->ns;
    rq.schedule_id = (char *)schedule_id;
    rq.patch = p;
    rq.identity = c->identity;
    rq.request_id = uuid; /* a retried patch (a trigger!) is applied once */
    ProtobufCMessage *m = NULL;
    rc = tc_rpc(c, "PatchSchedule", TC_RPC_MSG(rq), &WS(patch_schedule_response__descriptor), &m, 0,
                0, NULL, err);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int tc_schedule_pause(tc_client *c, const char *schedule_id, const char *note, tc_error *err)
{
    Temporal__Api__Schedule__V1__SchedulePatch p =
        TEMPORAL__API__SCHEDULE__V1__SCHEDULE_PATCH__INIT;
    p.pause = (char *)(note && *note ? note : "paused by temporal-c");
    return patch(c, schedule_id, &p, err);
}

int tc_schedule_unpause(tc_client *c, const char *schedule_id, const char *note, tc_error *err)
{
    Temporal__Api__Schedule__V1__SchedulePatch p =
        TEMPORAL__API__SCHEDULE__V1__SCHEDULE_PATCH__INIT;
    p.unpause = (char *)(note && *note ? note : "unpaused by temporal-c");
    return patch(c, schedule_id, &p, err);
}

int tc_schedule_trigger(tc_client *c, const char *schedule_id, tc_overlap_policy overlap,
                        tc_error *err)
{
    Temporal__Api__Schedule__V1__SchedulePatch p =
        TEMPORAL__API__SCHEDULE__V1__SCHEDULE_PATCH__INIT;
    Temporal__Api__Schedule__V1__TriggerImmediatelyRequest t =
        TEMPORAL__API__SCHEDULE__V1__TRIGGER_IMMEDIATELY_REQUEST__INIT;
    t.overlap_policy = (Temporal__Api__Enums__V1__ScheduleOverlapPolicy)overlap;
    p.trigger_immediately = &t;
    return patch(c, schedule_id, &p, err);
}

int tc_schedule_backfill(tc_client *c, const char *schedule_id, int64_t start_ms, int64_t end_ms,
                         tc_overlap_policy overlap, tc_error *err)
{
    if (start_ms <= 0 || end_ms <= start_ms)
        return tc_seterr(err, TC_ERR_INVALID, "backfill needs 0 < start_ms < end_ms");
    Temporal__Api__Schedule__V1__SchedulePatch p =
        TEMPORAL__API__SCHEDULE__V1__SCHEDULE_PATCH__INIT;
    Temporal__Api__Schedule__V1__BackfillRequest b =
        TEMPORAL__API__SCHEDULE__V1__BACKFILL_REQUEST__INIT;
    Temporal__Api__Schedule__V1__BackfillRequest *bp[1] = {&b};
    Google__Protobuf__Timestamp st, en;
    ts_from_ms(&st, start_ms);
    ts_from_ms(&en, end_ms);
    b.start_time = &st;
    b.end_time = &en;
    b.overlap_policy = (Temporal__Api__Enums__V1__ScheduleOverlapPolicy)overlap;
    p.n_backfill_request = 1;
    p.backfill_request = bp;
    return patch(c, schedule_id, &p, err);
}

int tc_schedule_delete(tc_client *c, const char *schedule_id, tc_error *err)
{
    int rc = need_id(schedule_id, err);
    if (rc != TC_OK)
        return rc;
    Temporal__Api__Workflowservice__V1__DeleteScheduleRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__DELETE_SCHEDULE_REQUEST__INIT;
    rq.namespace_ = c->ns;
    rq.schedule_id = (char *)schedule_id;
    rq.identity = c->identity;
    ProtobufCMessage *m = NULL;
    rc = tc_rpc(c, "DeleteSchedule", TC_RPC_MSG(rq), &WS(delete_schedule_response__descriptor), &m,
                0, 0, NULL, err);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

void tc_schedule_page_clear(tc_schedule_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].schedule_id);
        free(p->items[i].workflow_type);
        free(p->items[i].notes);
    }
    free(p->items);
    free(p->next_token);
    memset(p, 0, sizeof *p);
}

int tc_schedule_list(tc_client *c, const char *query, int page_size, const uint8_t *token,
                     size_t token_len, tc_schedule_page *out, tc_error *err)
{
    memset(out, 0, sizeof *out);
    Temporal__Api__Workflowservice__V1__ListSchedulesRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__LIST_SCHEDULES_REQUEST__INIT;
    rq.namespace_ = c->ns;
    rq.maximum_page_size = page_size > 0 ? page_size : 0;
    rq.query = (char *)or_empty(query);
    rq.next_page_token.data = (uint8_t *)token;
    rq.next_page_token.len = token ? token_len : 0;
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(c, "ListSchedules", TC_RPC_MSG(rq), &WS(list_schedules_response__descriptor),
                    &m, 0, 0, NULL, err);
    if (rc != TC_OK)
        return rc;
    Temporal__Api__Workflowservice__V1__ListSchedulesResponse *r = (void *)m;
    out->items = calloc(r->n_schedules ? r->n_schedules : 1, sizeof *out->items);
    if (!out->items)
        rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == TC_OK && i < r->n_schedules; i++) {
        const Temporal__Api__Schedule__V1__ScheduleListEntry *e = r->schedules[i];
        tc_schedule_entry *o = &out->items[out->n++];
        o->schedule_id = tc_strdup(e->schedule_id);
        o->workflow_type =
            tc_strdup(e->info && e->info->workflow_type ? e->info->workflow_type->name : "");
        o->notes = tc_strdup(e->info ? e->info->notes : "");
        o->paused = e->info && e->info->paused;
        if (!o->schedule_id || !o->workflow_type || !o->notes)
            rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    if (rc == TC_OK)
        rc = tc_token_copy(&r->next_page_token, &out->next_token, &out->next_token_len, err);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc != TC_OK)
        tc_schedule_page_clear(out);
    return rc;
}
