/* failure.c - failures with a cause chain: tc_failure (what code raises) to the packed
 * temporal.api.failure.v1.Failure the commands and responses carry, a future's failure kept to
 * be raised again (an activity's wrapped in an ActivityFailure, a child's in the
 * ChildWorkflowFailure cmd_child.c built, as the official SDKs deliver them), and the public
 * calls that fail a workflow with them. Pure computation: makes no command but the run's end. */
#include "local_activity.h"

#include <stdlib.h>
#include <string.h>

typedef Temporal__Api__Failure__V1__ApplicationFailureInfo app_info;

#define MAX_CAUSES 32

/* Builds f's chain on the heap (freed with protobuf_c_message_free_unpacked). */
static tc_pb_failure *build(const tc_failure *f, int depth)
{
    tc_pb_failure *pf = malloc(sizeof *pf);
    app_info *ai = malloc(sizeof *ai);
    if (!pf || !ai) {
        free(pf);
        free(ai);
        return NULL;
    }
    temporal__api__failure__v1__failure__init(pf);
    temporal__api__failure__v1__application_failure_info__init(ai);
    pf->failure_info_case =
        TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO;
    pf->application_failure_info = ai;
    ai->non_retryable = f->non_retryable;
    bool ok = (pf->message = tc_strdup(f->message ? f->message : "")) &&
              (pf->source = tc_strdup("CSDK")) &&
              (pf->stack_trace = tc_strdup(f->stack_trace ? f->stack_trace : "")) &&
              (ai->type = tc_strdup(f->type ? f->type : ""));
    if (ok && f->details_json) {
        /* the details value goes through the converter chain like any value */
        tc_pl1 pl;
        tc_pb_payloads *ps = tc_pl1_init(&pl, f->details_json);
        size_t n = temporal__api__common__v1__payloads__get_packed_size(ps);
        uint8_t *buf = malloc(n ? n : 1);
        if (buf) {
            temporal__api__common__v1__payloads__pack(ps, buf);
            ai->details = temporal__api__common__v1__payloads__unpack(NULL, n, buf);
        }
        free(buf);
        tc_pl1_clear(&pl);
        ok = ai->details != NULL;
    }
    if (ok && f->cause && depth < MAX_CAUSES)
        ok = (pf->cause = build(f->cause, depth + 1)) != NULL;
    if (!ok) {
        protobuf_c_message_free_unpacked(&pf->base, NULL);
        return NULL;
    }
    return pf;
}

static uint8_t *pack_failure(const tc_pb_failure *f, size_t *len)
{
    *len = temporal__api__failure__v1__failure__get_packed_size(f);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        temporal__api__failure__v1__failure__pack(f, buf);
    return buf;
}

uint8_t *tc_failure_pack(const tc_failure *f, size_t *len)
{
    tc_pb_failure *pf = build(f, 0);
    uint8_t *buf = pf ? pack_failure(pf, len) : NULL;
    if (pf)
        protobuf_c_message_free_unpacked(&pf->base, NULL);
    return buf;
}

bool tc_future_keep_failure(tc_future *fut, const tc_pb_failure *f)
{
    if (!f)
        return true;
    size_t len = 0;
    uint8_t *buf = pack_failure(f, &len);
    if (!buf)
        return false; /* the future's strings still say what failed */
    free(fut->failure);
    fut->failure = buf;
    fut->failure_len = len;
    return true;
}

/* ---- the workflow's and the activity's calls ---- */

static bool can_end(const tc_wf_ctx *ctx)
{
    return !ctx->run->destroying && ctx->run->outcome == OUT_NONE;
}

/* Records a packed failure as how the run ends. */
static void end_with(tc_wf_ctx *ctx, uint8_t *packed, size_t len, const char *type, const char *msg,
                     bool nr)
{
    tc_run *r = ctx->run;
    if (!packed) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory failing the workflow");
        tc_sched_park(ctx);
    }
    free(r->out_failure);
    r->out_failure = packed;
    r->out_failure_len = len;
    r->out_ftype = tc_strdup(type ? type : "");
    r->out_fmsg = tc_strdup(msg ? msg : "");
    if (!r->out_ftype || !r->out_fmsg) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory failing the workflow");
        tc_sched_park(ctx);
    }
    r->out_nr = nr;
    r->outcome = OUT_FAIL;
}

void tc_wf_fail_failure(tc_wf_ctx *ctx, const tc_failure *f)
{
    size_t len = 0;
    if (!f || !can_end(ctx))
        return;
    uint8_t *packed = tc_failure_pack(f, &len); /* before len is read */
    end_with(ctx, packed, len, f->type, f->message, f->non_retryable);
}

void tc_wf_fail_future(tc_wf_ctx *ctx, const tc_future *fut)
{
    if (!fut || !can_end(ctx) || fut->state == FUT_PENDING || fut->state == FUT_OK)
        return;
    /* kept: an activity's failure as history carried it, a child's already wrapped */
    tc_pb_failure *cause = NULL;
    if (fut->failure)
        cause = temporal__api__failure__v1__failure__unpack(NULL, fut->failure_len, fut->failure);
    /* none kept (a child's start failure, a signal's): ApplicationFailure{type, message} */
    tc_appfail fallback;
    const tc_pb_failure *inner =
        cause ? cause : tc_appfail_init(&fallback, fut->ftype, fut->fmsg, fut->non_retryable);
    tc_pb_failure outer;
    Temporal__Api__Failure__V1__ActivityFailureInfo ai;
    Temporal__Api__Common__V1__ActivityType at = TEMPORAL__API__COMMON__V1__ACTIVITY_TYPE__INIT;
    const tc_pb_failure *top = inner;
    if (fut->kind == FK_ACTIVITY && fut->cmd) {
        /* as workflow code sees an activity's error: ActivityFailure{type, id} caused by it */
        temporal__api__failure__v1__failure__init(&outer);
        temporal__api__failure__v1__activity_failure_info__init(&ai);
        at.name = fut->cmd->type ? fut->cmd->type : (char *)"";
        ai.activity_type = &at;
        ai.activity_id = fut->cmd->id ? fut->cmd->id : (char *)"";
        ai.scheduled_event_id = fut->cmd->event_id;
        ai.retry_state =
            fut->state == FUT_CANCELLED
                ? TEMPORAL__API__ENUMS__V1__RETRY_STATE__RETRY_STATE_CANCEL_REQUESTED
                : TEMPORAL__API__ENUMS__V1__RETRY_STATE__RETRY_STATE_NON_RETRYABLE_FAILURE;
        outer.message = (char *)"activity error";
        outer.source = (char *)"CSDK";
        outer.failure_info_case =
            TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_ACTIVITY_FAILURE_INFO;
        outer.activity_failure_info = &ai;
        outer.cause = (tc_pb_failure *)inner;
        top = &outer;
    }
    size_t len = 0;
    uint8_t *packed = pack_failure(top, &len);
    if (cause)
        temporal__api__failure__v1__failure__free_unpacked(cause, NULL);
    end_with(ctx, packed, len, fut->ftype, fut->fmsg, fut->non_retryable);
}
