/* cmd_timer.c - the timer command family: StartTimer and CancelTimer, the events that record
 * them and TimerFired. Must not know about other command kinds. */
#include "wf_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool start_matches(const tc_cmd *c, const tc_pb_event *ev)
{
    return strcmp(ev->timer_started_event_attributes->timer_id, c->id) == 0;
}

static bool cancel_matches(const tc_cmd *c, const tc_pb_event *ev)
{
    return strcmp(ev->timer_canceled_event_attributes->timer_id, c->id) == 0;
}

static void cancel(tc_run *r, tc_cmd *c);

static const tc_cmd_kind k_start = {"StartTimer", TC_ET(TIMER_STARTED), start_matches, NULL,
                                    cancel};
static const tc_cmd_kind k_cancel = {"CancelTimer", TC_ET(TIMER_CANCELED), cancel_matches, NULL,
                                     NULL};

static void cancel(tc_run *r, tc_cmd *c)
{
    if (c->cancelled || !c->fut || c->fut->state != FUT_PENDING)
        return;
    c->cancelled = true;
    if (c->state != CMD_RECORDED) {
        tc_cmd_drop(r, c); /* never sent */
    } else {
        Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
        Temporal__Api__Command__V1__CancelTimerCommandAttributes a =
            TEMPORAL__API__COMMAND__V1__CANCEL_TIMER_COMMAND_ATTRIBUTES__INIT;
        uint8_t *packed = NULL;
        size_t len = 0;
        {
            a.timer_id = c->id;
            TC_CMD_SET(cmd, CANCEL_TIMER, cancel_timer, &a);
            if (!(packed = tc_cmd_pack(&cmd, &len))) {
                tc_run_fail(r, TC_ERR_NOMEM, "out of memory building a command");
                return;
            }
        }
        tc_cmd *cc = tc_cmd_add(r, &k_cancel, c->id, "", packed, len);
        if (!cc) {
            tc_run_fail(r, TC_ERR_NOMEM, "out of memory building a command");
            return;
        }
        cc->target = c;
    }
    tc_future_resolve_fail(r, c->fut, FUT_CANCELLED, "CanceledError", "timer cancelled", false, 0);
}

tc_future *tc_timer_start(tc_wf_ctx *ctx, int64_t duration_ms)
{
    tc_run *r = ctx->run;
    tc_future *f = tc_future_new(r, FK_TIMER);
    if (!f) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory starting a timer");
        tc_sched_park(ctx);
    }
    f->detached = ctx->detached > 0;
    if (r->destroying || r->outcome != OUT_NONE || (r->cancel_requested && !f->detached)) {
        tc_future_resolve_fail(r, f, FUT_CANCELLED, "CanceledError", "timer not started: cancelled",
                               false, 0);
        return f;
    }
    if (duration_ms <= 0) {
        /* No command, no id: as the Go SDK does. */
        tc_future_resolve_ok(r, f, NULL, 0, 0);
        return f;
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)tc_cmd_next_event_id(r));
    uint8_t *packed = NULL;
    size_t len = 0;
    {
        Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
        Temporal__Api__Command__V1__StartTimerCommandAttributes a =
            TEMPORAL__API__COMMAND__V1__START_TIMER_COMMAND_ATTRIBUTES__INIT;
        tc_pb_duration d;
        tc_duration_ms(&d, duration_ms);
        a.timer_id = id;
        a.start_to_fire_timeout = &d;
        TC_CMD_SET(cmd, START_TIMER, start_timer, &a);
        packed = tc_cmd_pack(&cmd, &len);
        if (!packed) {
            tc_run_fail(r, TC_ERR_NOMEM, "out of memory starting a timer");
            tc_sched_park(ctx);
        }
    }
    tc_cmd *c = tc_cmd_add(r, &k_start, id, "", packed, len);
    if (!c) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory starting a timer");
        tc_sched_park(ctx);
    }
    c->fut = f;
    f->cmd = c;
    return f;
}

static void describe_started(const tc_pb_event *ev, char *buf, size_t cap)
{
    snprintf(buf, cap, "StartTimer(id=%s)", ev->timer_started_event_attributes->timer_id);
}

static void describe_canceled(const tc_pb_event *ev, char *buf, size_t cap)
{
    snprintf(buf, cap, "CancelTimer(id=%s)", ev->timer_canceled_event_attributes->timer_id);
}

static int64_t fired_ref(const tc_pb_event *ev)
{
    return ev->timer_fired_event_attributes->started_event_id;
}

static int on_fired(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    if (c->kind != &k_start)
        return tc_seterr(err, TC_ERR_PROTOCOL,
                         "history event %lld (TimerFired) refers to event %lld, which is not a "
                         "TimerStarted",
                         (long long)ev->event_id, (long long)c->event_id);
    if (c->fut)
        tc_future_resolve_ok(r, c->fut, NULL, 0, ev->event_id);
    return TC_OK;
}

static const tc_event_rule k_rules[] = {
    {.event_type = TC_ET(TIMER_STARTED), .role = EV_COMMAND, .describe = describe_started},
    {.event_type = TC_ET(TIMER_CANCELED), .role = EV_COMMAND, .describe = describe_canceled},
    {.event_type = TC_ET(TIMER_FIRED),
     .role = EV_RESOLVE,
     .initiator = fired_ref,
     .resolve = on_fired},
};

const tc_cmd_family tc_family_timer = {"timer", k_rules, sizeof k_rules / sizeof k_rules[0]};
