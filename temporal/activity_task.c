/* activity_task.c - activity tasks: the context an activity function sees (inputs, outcome,
 * heartbeats that carry cancellation, the worker's stop, asynchronous completion), running it
 * (a task from the server, or an attempt of a local activity) and reporting its outcome, and the
 * activity poll. Must not touch workflow runs. */
#include "activity_heartbeat.h"
#include "local_activity.h"
#include "metrics.h"
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS(name) temporal__api__workflowservice__v1__##name
typedef tc_act_task act_task;

enum { ACT_NONE, ACT_COMPLETED, ACT_FAILED, ACT_CANCELLED, ACT_ASYNC };

struct tc_activity_ctx {
    struct tc_worker *w;
    const act_task *t;
    char **inputs;
    size_t n_inputs;
    int outcome;
    char *result;
    tc_hb *hb;         /* heartbeat state (activity_heartbeat.c); NULL out of memory */
    char *hb_prev;     /* the previous attempt's heartbeat details, decoded on first use */
    bool hb_prev_read; /* hb_prev was decoded (it may be NULL: none) */
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
    ctx->ftype = tc_strdup(type ? type : "");
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
    if (ctx->cancel_requested || (ctx->local_cancel && atomic_load(ctx->local_cancel)))
        return true;
    int why = ctx->hb ? tc_hb_cancel_reason(ctx->hb) : TC_ACTIVITY_CANCEL_NONE;
    return why == TC_ACTIVITY_CANCEL_REQUESTED || why == TC_ACTIVITY_CANCEL_WORKER_SHUTDOWN;
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
    if (!ctx->hb)
        return tc_seterr(err, TC_ERR_NOMEM, "activity %s: no heartbeat state (out of memory)",
                         ctx->t->activity_id);
    int rc = tc_hb_record(ctx->hb, details_json, err); /* throttled */
    if (rc == TC_ERR_CANCELLED)
        ctx->cancel_requested = true;
    return rc;
}

/* last_details: the latest heartbeat details recorded (a failure carries them to the next
 * attempt even when throttling had not sent them). */
static void respond_activity(tc_worker *w, tc_activity_ctx *ctx, const char *last_details)
{
    ProtobufCMessage *m = NULL;
    tc_error err = {0};
    int rc;
    if (ctx->outcome == ACT_ASYNC)
        return; /* completed later through a client (tc_activity_complete_async) */
    if (ctx->outcome == ACT_FAILED) {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskFailedRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_FAILED_REQUEST__INIT;
        tc_appfail f;
        tc_pb_failure *whole =
            ctx->failure
                ? temporal__api__failure__v1__failure__unpack(NULL, ctx->failure_len, ctx->failure)
                : NULL; /* tc_activity_fail_failure */
        tc_pl1 details;
        rq.last_heartbeat_details = tc_pl1_init(&details, last_details);
        rq.task_token = ctx->t->task_token;
        rq.failure = whole ? whole : tc_appfail_init(&f, ctx->ftype, ctx->fmsg, ctx->non_retryable);
        rq.identity = w->identity;
        rq.namespace_ = w->c->ns;
        rc = tc_rpc(w->c, "RespondActivityTaskFailed", TC_RPC_MSG(rq),
                    &WS(respond_activity_task_failed_response__descriptor), &m, 0, 0, NULL, &err);
        tc_pl1_clear(&details);
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
        respond_activity(w, ctx, last_details);
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
    free(ctx->hb_prev);
}

static void act_labels(tc_worker *w, const act_task *t, tc_labels *l);

/* A local activity's attempt in the worker's metrics, as the official SDKs name them: every
 * attempt, its run time, and the attempts that failed or ended cancelled. */
static void local_metrics(tc_worker *w, const tc_activity_ctx *ctx, int64_t t0)
{
    tc_labels l;
    act_labels(w, ctx->t, &l);
    tc_metrics_record(w->metrics, TC_MK_COUNTER, "temporal_local_activity_total",
                      "Local activity attempts run", &l, 1, NULL);
    tc_metrics_record(w->metrics, TC_MK_HISTOGRAM, "temporal_local_activity_execution_latency",
                      "Local activity function run time in seconds", &l,
                      (double)(tc_now_us() - t0) / 1e6, NULL);
    if (ctx->outcome == ACT_FAILED)
        tc_metrics_record(w->metrics, TC_MK_COUNTER, "temporal_local_activity_execution_failed",
                          "Local activity attempts that failed", &l, 1, NULL);
    else if (ctx->outcome == ACT_CANCELLED)
        tc_metrics_record(w->metrics, TC_MK_COUNTER, "temporal_local_activity_execution_cancelled",
                          "Local activity attempts that ended cancelled", &l, 1, NULL);
}

void tc_activity_run_local(tc_worker *w, const act_task *t, const atomic_bool *cancel,
                           tc_la_outcome *out)
{
    tc_activity_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.w = w;
    ctx.t = t;
    ctx.local_cancel = cancel;
    int64_t t0 = tc_now_us();
    run_fn(w, &ctx);
    local_metrics(w, &ctx, t0);
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

/* ---- around the function: heartbeat state, the RPC scope, metrics ---- */

/* The thread's RPC scope while an activity runs: its calls are counted with its types. */
static _Thread_local struct {
    tc_labels labels;
    tc_rpc_scope scope;
} t_act;

static void act_labels(tc_worker *w, const act_task *t, tc_labels *l)
{
    tc_labels_init(l);
    tc_labels_append(l, w->metric_labels);
    tc_labels_add(l, "activity_type", t->activity_type ? t->activity_type->name : "");
    tc_labels_add(l, "workflow_type", t->workflow_type ? t->workflow_type->name : "");
}

static int64_t tc_act_begin(tc_worker *w, tc_activity_ctx *ctx)
{
    act_labels(w, ctx->t, &t_act.labels);
    ctx->hb = tc_hb_begin(w, ctx->t, t_act.labels.text);
    t_act.scope.m = w->metrics;
    t_act.scope.labels = t_act.labels.text;
    tc_rpc_scope_set(&t_act.scope);
    return tc_now_us();
}

static void tc_act_finish(tc_worker *w, tc_activity_ctx *ctx, int64_t t0)
{
    double secs = (double)(tc_now_us() - t0) / 1e6;
    char *last = tc_hb_end(ctx->hb);
    ctx->hb = NULL;
    respond_activity(w, ctx, last);
    free(last);
    tc_rpc_scope_set(NULL);
    tc_metrics_record(w->metrics, TC_MK_HISTOGRAM, "temporal_activity_execution_latency",
                      "Activity function run time in seconds", &t_act.labels, secs, NULL);
    if (ctx->outcome == ACT_FAILED)
        tc_metrics_record(w->metrics, TC_MK_COUNTER, "temporal_activity_execution_failed",
                          "Activity attempts that failed", &t_act.labels, 1, NULL);
}

void tc_activity_run(tc_worker *w, const act_task *t)
{
    tc_activity_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.w = w;
    ctx.t = t;
    int64_t t0 = tc_act_begin(w, &ctx);
    run_fn(w, &ctx);
    tc_act_finish(w, &ctx, t0);
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
    TC_POLL_REQUEST_FILL(rq, w, &tq);
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

/* ---- heartbeat details, cancellation, the worker's stop, asynchronous completion ---- */

const char *tc_activity_heartbeat_details(tc_activity_ctx *ctx)
{
    if (!ctx->hb_prev_read) {
        ctx->hb_prev_read = true;
        const tc_pb_payloads *ps = ctx->t->heartbeat_details;
        tc_error e;
        if (ps && ps->n_payloads && tc_payload_decode(ps->payloads[0], &ctx->hb_prev, &e) != TC_OK)
            tc_logf(&ctx->w->log, TC_LOG_WARN, tc_activity_workflow_id(ctx),
                    tc_activity_run_id(ctx), NULL, "activity %s: heartbeat details: %s",
                    ctx->t->activity_id, e.text);
    }
    return ctx->hb_prev;
}

tc_cancel_reason tc_activity_cancel_reason(tc_activity_ctx *ctx)
{
    if (ctx->local_cancel && atomic_load(ctx->local_cancel))
        /* a local attempt: its workflow cancelled it, or the worker's stop did */
        return atomic_load(&ctx->w->stop) ? TC_ACTIVITY_CANCEL_WORKER_SHUTDOWN
                                          : TC_ACTIVITY_CANCEL_REQUESTED;
    int why = ctx->hb ? tc_hb_cancel_reason(ctx->hb) : TC_ACTIVITY_CANCEL_NONE;
    if (why == TC_ACTIVITY_CANCEL_NONE && ctx->cancel_requested)
        why = TC_ACTIVITY_CANCEL_REQUESTED;
    return (tc_cancel_reason)why;
}

bool tc_activity_worker_stopping(const tc_activity_ctx *ctx)
{
    return atomic_load(&ctx->w->stop);
}

bool tc_activity_wait_worker_stop(tc_activity_ctx *ctx, int timeout_ms)
{
    return tc_hb_wait_stop(ctx->w, timeout_ms);
}

const uint8_t *tc_activity_task_token(const tc_activity_ctx *ctx, size_t *len)
{
    if (len)
        *len = ctx->t->task_token.len;
    return ctx->t->task_token.data;
}

int tc_activity_complete_async(tc_activity_ctx *ctx)
{
    /* a local activity has no task token to complete with later: its result is the marker */
    if (ctx->outcome != ACT_NONE || ctx->local_cancel)
        return TC_ERR_STATE;
    ctx->outcome = ACT_ASYNC;
    return TC_OK;
}

int tc_activity_metric(tc_activity_ctx *ctx, tc_metric_kind kind, const char *name,
                       const tc_metric_label *labels, size_t n_labels, double value)
{
    tc_labels l;
    act_labels(ctx->w, ctx->t, &l);
    for (size_t i = 0; i < n_labels; i++)
        tc_labels_add(&l, labels[i].key, labels[i].value);
    return tc_metrics_record(ctx->w->metrics, (int)kind, name, NULL, &l, value, NULL);
}
