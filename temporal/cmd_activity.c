/* cmd_activity.c - the activity command family: ScheduleActivityTask and
 * RequestCancelActivityTask, the events that record them and the results that resolve their
 * futures; the three cancel modes. Must not know about other command kinds. */
#include "wf_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool schedule_matches(const tc_cmd *c, const tc_pb_event *ev)
{
    const Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes *a =
        ev->activity_task_scheduled_event_attributes;
    return strcmp(a->activity_id, c->id) == 0 && a->activity_type &&
           strcmp(a->activity_type->name, c->type) == 0;
}

static bool cancel_matches(const tc_cmd *c, const tc_pb_event *ev)
{
    char id[24];
    snprintf(id, sizeof id, "%lld",
             (long long)ev->activity_task_cancel_requested_event_attributes->scheduled_event_id);
    return strcmp(id, c->id) == 0;
}

static void cancel(tc_run *r, tc_cmd *c);

static const tc_cmd_kind k_schedule = {"ScheduleActivityTask", TC_ET(ACTIVITY_TASK_SCHEDULED),
                                       schedule_matches, NULL, cancel};
static const tc_cmd_kind k_request_cancel = {
    "RequestCancelActivityTask", TC_ET(ACTIVITY_TASK_CANCEL_REQUESTED), cancel_matches, NULL, NULL};

static void cancelled(tc_run *r, tc_cmd *c)
{
    tc_future_resolve_fail(r, c->fut, FUT_CANCELLED, "CanceledError", "activity cancelled", false,
                           0);
}

/* Cancellation (tc_future_cancel or the run's): per the activity's cancel mode. */
static void cancel(tc_run *r, tc_cmd *c)
{
    if (c->cancelled || !c->fut || c->fut->state != FUT_PENDING)
        return;
    c->cancelled = true;
    if (c->state != CMD_RECORDED) {
        /* Never sent (made in this task, or in a replayed one that history did not record):
         * no event will record it, nothing runs. */
        tc_cmd_drop(r, c);
        cancelled(r, c);
        return;
    }
    if (c->mode == TC_CANCEL_ABANDON) {
        cancelled(r, c);
        return;
    }
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__RequestCancelActivityTaskCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__REQUEST_CANCEL_ACTIVITY_TASK_COMMAND_ATTRIBUTES__INIT;
    uint8_t *packed = NULL;
    size_t len = 0;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)c->event_id);
    {
        a.scheduled_event_id = c->event_id;
        cmd.command_type = TC_CT(REQUEST_CANCEL_ACTIVITY_TASK);
        cmd.attributes_case =
            TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_REQUEST_CANCEL_ACTIVITY_TASK_COMMAND_ATTRIBUTES;
        cmd.request_cancel_activity_task_command_attributes = &a;
        if (!(packed = tc_cmd_pack(&cmd, &len))) {
            tc_run_fail(r, TC_ERR_NOMEM, "out of memory building a command");
            return;
        }
    }
    tc_cmd *rc = tc_cmd_add(r, &k_request_cancel, id, "", packed, len);
    if (!rc) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory building a command");
        return;
    }
    rc->target = c;
    if (c->mode == TC_CANCEL_TRY)
        cancelled(r, c);
    /* TC_CANCEL_WAIT_COMPLETED: resolved by the activity's final event. */
}

static int schedule_command(tc_run *r, const char *id, const char *type, const char *const *inputs,
                            size_t n_inputs, const tc_activity_options *o, uint8_t **packed,
                            size_t *len)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__SCHEDULE_ACTIVITY_TASK_COMMAND_ATTRIBUTES__INIT;
    Temporal__Api__Common__V1__ActivityType at = TEMPORAL__API__COMMON__V1__ACTIVITY_TYPE__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    Temporal__Api__Common__V1__RetryPolicy rp = TEMPORAL__API__COMMON__V1__RETRY_POLICY__INIT;
    tc_pb_duration d_s2c, d_st2c, d_s2s, d_hb, d_ii, d_mi;
    tc_plv in;
    bool oom;
    at.name = (char *)type;
    tq.name = (char *)(o->task_queue ? o->task_queue : r->task_queue);
    tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    a.activity_id = (char *)id;
    a.activity_type = &at;
    a.task_queue = &tq;
    a.input = tc_plv_init(&in, inputs, n_inputs, &oom);
    if (oom)
        return TC_ERR_NOMEM;
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
    if (o->retry)
        a.retry_policy = tc_retry_policy_pb(o->retry, &rp, &d_ii, &d_mi);
    cmd.command_type = TC_CT(SCHEDULE_ACTIVITY_TASK);
    cmd.attributes_case =
        TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_SCHEDULE_ACTIVITY_TASK_COMMAND_ATTRIBUTES;
    cmd.schedule_activity_task_command_attributes = &a;
    *packed = tc_cmd_pack(&cmd, len);
    tc_plv_clear(&in);
    return *packed ? TC_OK : TC_ERR_NOMEM;
}

tc_future *tc_activity_start(tc_wf_ctx *ctx, const char *type, const char *const *inputs,
                             size_t n_inputs, tc_wf_input_fn make, void *make_arg,
                             const tc_activity_options *o)
{
    tc_run *r = ctx->run;
    if (!type || !*type) {
        tc_run_fail(r, TC_ERR_TASK_FAILED, "tc_wf_activity_start: activity_type is required");
        tc_sched_park(ctx);
    }
    if (!o || (o->schedule_to_close_ms <= 0 && o->start_to_close_ms <= 0)) {
        tc_run_fail(r, TC_ERR_TASK_FAILED,
                    "tc_wf_activity_start(%s): schedule_to_close_ms or start_to_close_ms must be "
                    "set",
                    type);
        tc_sched_park(ctx);
    }
    tc_future *f = tc_future_new(r, FK_ACTIVITY);
    if (!f) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory starting activity %s", type);
        tc_sched_park(ctx);
    }
    f->detached = ctx->detached > 0;
    if (r->destroying || r->outcome != OUT_NONE || (r->cancel_requested && !f->detached)) {
        /* A cancelled scope (or an ending run) starts nothing. */
        tc_future_resolve_fail(r, f, FUT_CANCELLED, "CanceledError",
                               "activity not started: "
                               "cancelled",
                               false, 0);
        return f;
    }
    char seq[24];
    snprintf(seq, sizeof seq, "%lld", (long long)tc_cmd_next_event_id(r));
    const char *id = o->activity_id ? o->activity_id : seq;
    uint8_t *packed = NULL;
    size_t len = 0;
    {
        /* Built and packed even while replaying: a command history turns out not to have
         * recorded (made earlier than history recorded it) is sent with the live task. */
        char *built = NULL;
        const char *one[1];
        if (make) {
            if (!(built = make(make_arg))) {
                tc_run_fail(r, TC_ERR_TASK_FAILED,
                            "tc_wf_activity_lazy(%s): the input could not be built", type);
                tc_sched_park(ctx);
            }
            one[0] = built;
            inputs = one;
            n_inputs = 1;
        }
        int rc = schedule_command(r, id, type, inputs, n_inputs, o, &packed, &len);
        free(built);
        if (rc != TC_OK) {
            tc_run_fail(r, rc, "out of memory building activity %s", type);
            tc_sched_park(ctx);
        }
    }
    tc_cmd *c = tc_cmd_add(r, &k_schedule, id, type, packed, len);
    if (!c) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory starting activity %s", type);
        tc_sched_park(ctx);
    }
    c->fut = f;
    c->mode = o->cancel_mode;
    f->cmd = c;
    return f;
}

/* ---- events ---- */

static void describe_scheduled(const tc_pb_event *ev, char *buf, size_t cap)
{
    const Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes *a =
        ev->activity_task_scheduled_event_attributes;
    snprintf(buf, cap, "ScheduleActivityTask(id=%s, type=%s)", a->activity_id,
             a->activity_type ? a->activity_type->name : "");
}

static void describe_cancel_requested(const tc_pb_event *ev, char *buf, size_t cap)
{
    snprintf(buf, cap, "RequestCancelActivityTask(id=%lld)",
             (long long)ev->activity_task_cancel_requested_event_attributes->scheduled_event_id);
}

static int64_t started_ref(const tc_pb_event *ev)
{
    return ev->activity_task_started_event_attributes->scheduled_event_id;
}
static int64_t completed_ref(const tc_pb_event *ev)
{
    return ev->activity_task_completed_event_attributes->scheduled_event_id;
}
static int64_t failed_ref(const tc_pb_event *ev)
{
    return ev->activity_task_failed_event_attributes->scheduled_event_id;
}
static int64_t timed_out_ref(const tc_pb_event *ev)
{
    return ev->activity_task_timed_out_event_attributes->scheduled_event_id;
}
static int64_t canceled_ref(const tc_pb_event *ev)
{
    return ev->activity_task_canceled_event_attributes->scheduled_event_id;
}

static int check(const tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    if (c->kind == &k_schedule)
        return TC_OK;
    char t[64];
    return tc_seterr(err, TC_ERR_PROTOCOL,
                     "history event %lld (%s) refers to event %lld, which "
                     "is not an ActivityTaskScheduled",
                     (long long)ev->event_id, tc_event_type_name((int)ev->event_type, t, sizeof t),
                     (long long)c->event_id);
}

/* The activity ended (its final event is being applied): a RequestCancelActivityTask for it
 * made in this activation and not sent yet must not go out - the server refuses to cancel an
 * activity that has ended (BadRequestCancelActivityAttributes fails the whole task, and the
 * retried task would make it again). That happens when a run's cancel request and the
 * activity's completion arrive in one batch, e.g. after the server failed a task whose
 * cancel met a completion recorded meanwhile. */
static void drop_unsent_cancel(tc_run *r, const tc_cmd *c)
{
    for (size_t i = r->n_all; i-- > 0;) {
        tc_cmd *k = r->all[i];
        if (k->kind == &k_request_cancel && k->target == c && k->state == CMD_NEW) {
            tc_cmd_drop(r, k);
            return;
        }
    }
}

static int on_started(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    (void)r;
    return check(c, ev, err);
}

static int on_completed(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    int rc = check(c, ev, err);
    if (rc == TC_OK)
        drop_unsent_cancel(r, c);
    if (rc != TC_OK || !c->fut || c->fut->state != FUT_PENDING)
        return rc; /* already resolved: try-cancelled or abandoned */
    char what[96], **values = NULL;
    size_t n = 0;
    snprintf(what, sizeof what, "event %lld (ActivityTaskCompleted) result",
             (long long)ev->event_id);
    rc = tc_payloads_decode_all(ev->activity_task_completed_event_attributes->result, &values, &n,
                                what, err);
    if (rc == TC_OK)
        tc_future_resolve_values(r, c->fut, values, n, ev->event_id);
    return rc;
}

/* Resolves the activity's future with the event's failure, keeping the whole failure wrapped as
 * workflow code of the official SDKs sees it (ActivityFailure caused by it, with what the event
 * says about the activity) for tc_wf_fail_future, and the timeout type of a timeout. */
static void resolve_failure(tc_run *r, tc_cmd *c, const tc_pb_failure *f, const char *fallback,
                            const tc_activity_failure_ref *ref, int64_t event_id)
{
    const char *type, *msg;
    bool nr;
    tc_failure_describe(f, &type, &msg, &nr);
    if (fallback && (!f || strcmp(type, "Failure") == 0))
        type = fallback;
    if (c->fut->state != FUT_PENDING)
        return; /* already resolved: try-cancelled or abandoned */
    tc_future_resolve_fail(r, c->fut, FUT_FAILED, type, msg, nr, event_id);
    if (!tc_future_keep_activity_failure(c->fut, f, ref))
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory keeping the failure of activity %s", c->id);
}

static int on_failed(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    int rc = check(c, ev, err);
    const Temporal__Api__History__V1__ActivityTaskFailedEventAttributes *a =
        ev->activity_task_failed_event_attributes;
    tc_activity_failure_ref ref = {c->type,
                                   c->id,
                                   a->identity,
                                   a->scheduled_event_id,
                                   a->started_event_id,
                                   (int)a->retry_state};
    if (rc == TC_OK)
        drop_unsent_cancel(r, c);
    if (rc == TC_OK && c->fut)
        resolve_failure(r, c, a->failure, NULL, &ref, ev->event_id);
    return rc;
}

static int on_timed_out(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    int rc = check(c, ev, err);
    const Temporal__Api__History__V1__ActivityTaskTimedOutEventAttributes *a =
        ev->activity_task_timed_out_event_attributes;
    tc_activity_failure_ref ref = {
        c->type, c->id, "", a->scheduled_event_id, a->started_event_id, (int)a->retry_state};
    if (rc == TC_OK)
        drop_unsent_cancel(r, c);
    if (rc == TC_OK && c->fut)
        resolve_failure(r, c, a->failure, "TimeoutError", &ref, ev->event_id);
    return rc;
}

static int on_canceled(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    int rc = check(c, ev, err);
    if (rc == TC_OK)
        drop_unsent_cancel(r, c);
    if (rc == TC_OK && c->fut)
        tc_future_resolve_fail(r, c->fut, FUT_CANCELLED, "CanceledError", "activity cancelled",
                               false, ev->event_id);
    return rc;
}

static const tc_event_rule k_rules[] = {
    {.event_type = TC_ET(ACTIVITY_TASK_SCHEDULED),
     .role = EV_COMMAND,
     .describe = describe_scheduled},
    {.event_type = TC_ET(ACTIVITY_TASK_CANCEL_REQUESTED),
     .role = EV_COMMAND,
     .describe = describe_cancel_requested},
    {.event_type = TC_ET(ACTIVITY_TASK_STARTED),
     .role = EV_RESOLVE,
     .initiator = started_ref,
     .resolve = on_started},
    {.event_type = TC_ET(ACTIVITY_TASK_COMPLETED),
     .role = EV_RESOLVE,
     .initiator = completed_ref,
     .resolve = on_completed},
    {.event_type = TC_ET(ACTIVITY_TASK_FAILED),
     .role = EV_RESOLVE,
     .initiator = failed_ref,
     .resolve = on_failed},
    {.event_type = TC_ET(ACTIVITY_TASK_TIMED_OUT),
     .role = EV_RESOLVE,
     .initiator = timed_out_ref,
     .resolve = on_timed_out},
    {.event_type = TC_ET(ACTIVITY_TASK_CANCELED),
     .role = EV_RESOLVE,
     .initiator = canceled_ref,
     .resolve = on_canceled},
};

const tc_cmd_family tc_family_activity = {"activity", k_rules, sizeof k_rules / sizeof k_rules[0]};
