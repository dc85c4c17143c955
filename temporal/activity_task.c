/* activity_task.c - activity tasks: the context an activity function sees (inputs, outcome,
 * heartbeats that carry cancellation), running it and reporting its outcome, and the activity
 * poll. Must not touch workflow runs. */
#include "local_activity.h"
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS(name) temporal__api__workflowservice__v1__##name
typedef tc_act_task act_task;

enum { ACT_NONE, ACT_COMPLETED, ACT_FAILED, ACT_CANCELLED };

struct tc_activity_ctx {
    struct tc_worker *w;
    const act_task *t;
    char **inputs;
    size_t n_inputs;
    int outcome;
    char *result;
    char *ftype, *fmsg;
    bool non_retryable;
    bool cancel_requested;
    const atomic_bool *local_cancel; /* a local activity's cancellation flag (no server task) */
    uint8_t *failure;                /* tc_activity_fail_failure: the packed Failure */
    size_t failure_len;
};

size_t tc_activity_input_count(const tc_activity_ctx *ctx)
{
    return ctx->n_inputs;
}
const char *tc_activity_input(const tc_activity_ctx *ctx, size_t i)
{
    return i < ctx->n_inputs ? ctx->inputs[i] : NULL;
}
const char *tc_activity_workflow_id(const tc_activity_ctx *ctx)
{
    return ctx->t->workflow_execution ? ctx->t->workflow_execution->workflow_id : "";
}
const char *tc_activity_run_id(const tc_activity_ctx *ctx)
{
    return ctx->t->workflow_execution ? ctx->t->workflow_execution->run_id : "";
}
const char *tc_activity_id(const tc_activity_ctx *ctx)
{
    return ctx->t->activity_id;
}
const char *tc_activity_type(const tc_activity_ctx *ctx)
{
    return ctx->t->activity_type ? ctx->t->activity_type->name : "";
}
int tc_activity_attempt(const tc_activity_ctx *ctx)
{
    return ctx->t->attempt;
}

int tc_activity_complete(tc_activity_ctx *ctx, const char *result_json)
{
    if (ctx->outcome != ACT_NONE)
        return TC_ERR_STATE;
    ctx->outcome = ACT_COMPLETED;
    if (result_json && !(ctx->result = tc_strdup(result_json)))
        return TC_ERR_NOMEM;
    return TC_OK;
}

int tc_activity_fail(tc_activity_ctx *ctx, const char *type, const char *message,
                     bool non_retryable)
{
    if (ctx->outcome != ACT_NONE)
        return TC_ERR_STATE;
    ctx->outcome = ACT_FAILED;
    ctx->ftype = tc_strdup(type ? type : "Error");
    ctx->fmsg = tc_strdup(message ? message : "");
    ctx->non_retryable = non_retryable;
    return (ctx->ftype && ctx->fmsg) ? TC_OK : TC_ERR_NOMEM;
}

int tc_activity_fail_failure(tc_activity_ctx *ctx, const tc_failure *f)
{
    if (ctx->outcome != ACT_NONE)
        return TC_ERR_STATE;
    int rc =
        tc_activity_fail(ctx, f ? f->type : NULL, f ? f->message : NULL, f && f->non_retryable);
    if (rc == TC_OK && f && !(ctx->failure = tc_failure_pack(f, &ctx->failure_len)))
        rc = TC_ERR_NOMEM;
    return rc;
}

int tc_activity_report_cancelled(tc_activity_ctx *ctx)
{
    if (ctx->outcome != ACT_NONE)
        return TC_ERR_STATE;
    ctx->outcome = ACT_CANCELLED;
    return TC_OK;
}

bool tc_activity_cancel_requested(const tc_activity_ctx *ctx)
{
    return ctx->cancel_requested || (ctx->local_cancel && atomic_load(ctx->local_cancel));
}

int tc_activity_heartbeat(tc_activity_ctx *ctx, const char *details_json, tc_error *err)
{
    if (ctx->local_cancel) {
        /* A local activity has no server task: its heartbeat only reports a cancellation. */
        if (!atomic_load(ctx->local_cancel))
            return TC_OK;
        ctx->cancel_requested = true;
        return tc_seterr(err, TC_ERR_CANCELLED, "local activity %s: cancellation requested",
                         ctx->t->activity_id);
    }
    Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RECORD_ACTIVITY_TASK_HEARTBEAT_REQUEST__INIT;
    tc_pl1 d;
    rq.task_token = ctx->t->task_token;
    rq.details = tc_pl1_init(&d, details_json);
    rq.identity = ctx->w->identity;
    rq.namespace_ = ctx->w->c->ns;
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(ctx->w->c, "RecordActivityTaskHeartbeat", TC_RPC_MSG(rq),
                    &WS(record_activity_task_heartbeat_response__descriptor), &m, 0, 0, NULL, err);
    tc_pl1_clear(&d);
    if (rc != TC_OK)
        return rc;
    if (((Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatResponse *)m)
            ->cancel_requested)
        ctx->cancel_requested = true;
    protobuf_c_message_free_unpacked(m, NULL);
    if (ctx->cancel_requested)
        return tc_seterr(err, TC_ERR_CANCELLED, "activity %s: cancellation requested",
                         ctx->t->activity_id);
    return TC_OK;
}

static void respond_activity(tc_worker *w, tc_activity_ctx *ctx)
{
    ProtobufCMessage *m = NULL;
    tc_error err = {0};
    int rc;
    if (ctx->outcome == ACT_FAILED) {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskFailedRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_FAILED_REQUEST__INIT;
        tc_appfail f;
        tc_pb_failure *whole =
            ctx->failure
                ? temporal__api__failure__v1__failure__unpack(NULL, ctx->failure_len, ctx->failure)
                : NULL; /* tc_activity_fail_failure */
        rq.task_token = ctx->t->task_token;
        rq.failure = whole ? whole : tc_appfail_init(&f, ctx->ftype, ctx->fmsg, ctx->non_retryable);
        rq.identity = w->identity;
        rq.namespace_ = w->c->ns;
        rc = tc_rpc(w->c, "RespondActivityTaskFailed", TC_RPC_MSG(rq),
                    &WS(respond_activity_task_failed_response__descriptor), &m, 0, 0, NULL, &err);
        if (whole)
            temporal__api__failure__v1__failure__free_unpacked(whole, NULL);
    } else if (ctx->outcome == ACT_CANCELLED) {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskCanceledRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_CANCELED_REQUEST__INIT;
        rq.task_token = ctx->t->task_token;
        rq.identity = w->identity;
        rq.namespace_ = w->c->ns;
        rc = tc_rpc(w->c, "RespondActivityTaskCanceled", TC_RPC_MSG(rq),
                    &WS(respond_activity_task_canceled_response__descriptor), &m, 0, 0, NULL, &err);
    } else {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskCompletedRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_COMPLETED_REQUEST__INIT;
        tc_pl1 res;
        rq.task_token = ctx->t->task_token;
        rq.result = tc_pl1_init(&res, ctx->result);
        rq.identity = w->identity;
        rq.namespace_ = w->c->ns;
        rc =
            tc_rpc(w->c, "RespondActivityTaskCompleted", TC_RPC_MSG(rq),
                   &WS(respond_activity_task_completed_response__descriptor), &m, 0, 0, NULL, &err);
        tc_pl1_clear(&res);
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    if (rc == TC_ERR_CODEC && ctx->outcome != ACT_FAILED) {
        /* A payload codec refused the result: report that instead (retried, as a codec may
         * recover), so the activity fails with the reason rather than timing out. */
        free(ctx->ftype);
        free(ctx->fmsg);
        free(ctx->failure);
        ctx->failure = NULL;
        ctx->outcome = ACT_FAILED;
        ctx->ftype = tc_strdup("PayloadEncodeError");
        ctx->fmsg = tc_strdup(err.text);
        ctx->non_retryable = false;
        respond_activity(w, ctx);
        return;
    }
    /* NotFound: the activity timed out or its run closed meanwhile; nothing to do. */
    if (rc != TC_OK && rc != TC_ERR_NOT_FOUND)
        tc_logf(&w->log, TC_LOG_WARN, tc_activity_workflow_id(ctx), tc_activity_run_id(ctx), NULL,
                "activity %s (%s): response failed: %s", ctx->t->activity_id, tc_activity_type(ctx),
                err.text);
}

/* Decodes the inputs and runs the registered function (or records why it cannot run). */
static void run_fn(tc_worker *w, tc_activity_ctx *ctx)
{
    const act_task *t = ctx->t;
    const char *type = t->activity_type ? t->activity_type->name : "";
    const act_reg *reg = tc_reg_activity(w, type);
    size_t n = t->input ? t->input->n_payloads : 0;
    tc_error e = {0};
    ctx->inputs = n ? calloc(n, sizeof *ctx->inputs) : NULL;
    if (n && !ctx->inputs) {
        tc_activity_fail(ctx, "OutOfMemory", "cannot decode activity input", false);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = tc_payload_decode(t->input->payloads[i], &ctx->inputs[i], &e);
        if (rc != TC_OK) {
            /* An argument this worker cannot decode: a failure the caller can read (retried:
             * a worker with the right converter may pick it up). */
            char msg[640];
            snprintf(msg, sizeof msg, "activity %s input %zu: %s", type, i, e.text);
            tc_activity_fail(ctx, rc == TC_ERR_NOMEM ? "OutOfMemory" : "PayloadDecodeError", msg,
                             false);
            return;
        }
        ctx->n_inputs++;
    }
    if (!reg) {
        char msg[256];
        snprintf(msg, sizeof msg, "activity type %s is not registered on this worker", type);
        tc_activity_fail(ctx, "ActivityNotRegistered", msg, false);
    } else {
        reg->fn(ctx, reg->user);
    }
}

static void ctx_clear(tc_activity_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_inputs; i++)
        free(ctx->inputs[i]);
    free(ctx->inputs);
    free(ctx->result);
    free(ctx->ftype);
    free(ctx->fmsg);
    free(ctx->failure);
}

void tc_activity_run_local(tc_worker *w, const act_task *t, const atomic_bool *cancel,
                           tc_la_outcome *out)
{
    tc_activity_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.w = w;
    ctx.t = t;
    ctx.local_cancel = cancel;
    run_fn(w, &ctx);
    memset(out, 0, sizeof *out);
    out->kind = ctx.outcome == ACT_FAILED      ? LA_OUT_FAILED
                : ctx.outcome == ACT_CANCELLED ? LA_OUT_CANCELLED
                                               : LA_OUT_OK;
    out->result = ctx.result;
    out->ftype = ctx.ftype;
    out->fmsg = ctx.fmsg;
    out->non_retryable = ctx.non_retryable;
    out->failure = ctx.failure;
    out->failure_len = ctx.failure_len;
    ctx.result = ctx.ftype = ctx.fmsg = NULL;
    ctx.failure = NULL;
    ctx_clear(&ctx);
}

void tc_activity_run(tc_worker *w, const act_task *t)
{
    tc_activity_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.w = w;
    ctx.t = t;
    run_fn(w, &ctx);
    respond_activity(w, &ctx);
    atomic_fetch_add(&w->st_act, 1);
    ctx_clear(&ctx);
}

void tc_act_poll_once(tc_worker *w, poller *p)
{
    if (!tc_act_reserve(w)) /* a slot before asking for work */
        return;
    Temporal__Api__Workflowservice__V1__PollActivityTaskQueueRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__POLL_ACTIVITY_TASK_QUEUE_REQUEST__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    tq.name = w->task_queue;
    tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    rq.namespace_ = w->c->ns;
    rq.task_queue = &tq;
    rq.identity = w->identity;
    ProtobufCMessage *m = NULL;
    int rc = tc_worker_poll(w, p, "PollActivityTaskQueue", TC_RPC_MSG(rq),
                            &WS(poll_activity_task_queue_response__descriptor), &m);
    if (rc == TC_OK && ((act_task *)m)->task_token.len) {
        tc_act_enqueue(w, (act_task *)m, true);
        return;
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    tc_act_release(w, 1);
}
