/* client.c - the WorkflowService client calls: start, result, describe, query, signal,
 * terminate, history. Must not hold state between calls beyond the tc_client. */
#include "temporal_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WS(name) temporal__api__workflowservice__v1__##name
typedef Temporal__Api__Common__V1__WorkflowExecution tc_pb_exec;

static void exec_init(tc_pb_exec *e, const char *wid, const char *rid)
{
    temporal__api__common__v1__workflow_execution__init(e);
    e->workflow_id = (char *)wid;
    e->run_id = (char *)(rid ? rid : "");
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return;
    snprintf(dst, cap, "%s", src ? src : "");
}

/* A default unary call (see tc_rpc) whose reply carries nothing the caller needs: only its
 * status is returned, the reply is freed. */
static int rpc_status(tc_client *c, const char *rpc, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *resp_desc, tc_error *err)
{
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(c, rpc, req, resp_desc, &m, 0, 0, NULL, err);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int tc_client_wait_ready(tc_client *c, int timeout_ms, tc_error *err)
{
    int64_t end = tc_now_us() + (int64_t)timeout_ms * 1000;
    int rc;
    for (;;) {
        ProtobufCMessage *resp = NULL;
        Temporal__Api__Workflowservice__V1__GetSystemInfoRequest si =
            TEMPORAL__API__WORKFLOWSERVICE__V1__GET_SYSTEM_INFO_REQUEST__INIT;
        rc = tc_rpc(c, "GetSystemInfo", TC_RPC_MSG(si), &WS(get_system_info_response__descriptor),
                    &resp, 2000, TC_RPC_NO_RETRY, NULL, err);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
        if (rc == TC_OK) {
            /* "namespace default is not found" can appear just after a server starts. */
            Temporal__Api__Workflowservice__V1__DescribeNamespaceRequest dn =
                TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_NAMESPACE_REQUEST__INIT;
            dn.namespace_ = c->ns;
            rc = tc_rpc(c, "DescribeNamespace", TC_RPC_MSG(dn),
                        &WS(describe_namespace_response__descriptor), &resp, 2000, TC_RPC_NO_RETRY,
                        NULL, err);
            if (resp)
                protobuf_c_message_free_unpacked(resp, NULL);
            if (rc == TC_OK)
                return TC_OK;
        }
        if (tc_now_us() >= end)
            return rc;
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* What StartWorkflowExecution and SignalWithStartWorkflowExecution share, built once from
 * tc_start_options: stack parts plus the malloc'd memo and search attributes. */
typedef struct start_parts {
    Temporal__Api__Common__V1__WorkflowType wt;
    Temporal__Api__Taskqueue__V1__TaskQueue tq;
    Temporal__Api__Common__V1__RetryPolicy rp;
    tc_pb_duration d_exec, d_run, d_task, d_ii, d_mi;
    tc_pb_duration *exec, *run, *task;
    tc_pl1 in;
    tc_pb_payloads *input;
    Temporal__Api__Common__V1__Memo *memo;
    Temporal__Api__Common__V1__SearchAttributes *sa;
    Temporal__Api__Common__V1__RetryPolicy *retry;
    char uuid[37];
    const char *request_id;
} start_parts;

static void start_parts_free(start_parts *p)
{
    tc_pl1_clear(&p->in);
    if (p->memo)
        protobuf_c_message_free_unpacked(&p->memo->base, NULL);
    if (p->sa)
        protobuf_c_message_free_unpacked(&p->sa->base, NULL);
}

static int start_parts_init(start_parts *p, const tc_start_options *o, tc_error *err)
{
    memset(p, 0, sizeof *p);
    if (!o || !o->workflow_id || !o->workflow_type || !o->task_queue || !*o->workflow_id)
        return tc_seterr(err, TC_ERR_INVALID, "workflow_id, workflow_type, task_queue required");
    temporal__api__common__v1__workflow_type__init(&p->wt);
    temporal__api__taskqueue__v1__task_queue__init(&p->tq);
    p->wt.name = (char *)o->workflow_type;
    p->tq.name = (char *)o->task_queue;
    p->tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    p->input = tc_pl1_init(&p->in, o->input_json);
    if (o->execution_timeout_ms > 0) {
        tc_duration_ms(&p->d_exec, o->execution_timeout_ms);
        p->exec = &p->d_exec;
    }
    if (o->run_timeout_ms > 0) {
        tc_duration_ms(&p->d_run, o->run_timeout_ms);
        p->run = &p->d_run;
    }
    if (o->task_timeout_ms > 0) {
        tc_duration_ms(&p->d_task, o->task_timeout_ms);
        p->task = &p->d_task;
    }
    if (o->retry)
        p->retry = tc_retry_policy_pb(o->retry, &p->rp, &p->d_ii, &p->d_mi);
    if (o->request_id && *o->request_id) {
        p->request_id = o->request_id;
    } else {
        tc_uuid(p->uuid);
        p->request_id = p->uuid;
    }
    int rc = TC_OK;
    if (o->memo_json)
        rc = tc_memo_from_json(o->memo_json, &p->memo, err);
    if (rc == TC_OK && o->search_attributes_json)
        rc = tc_search_attributes_from_json(o->search_attributes_json, &p->sa, err);
    if (rc != TC_OK)
        start_parts_free(p);
    return rc;
}

/* The fields StartWorkflowExecutionRequest and SignalWithStartWorkflowExecutionRequest share
 * (the same names in both messages, so one macro fills either type) from the options o and
 * their prepared parts p. */
#define START_REQUEST_FILL(rq, c, o, p)                                                  \
    do {                                                                                 \
        (rq).namespace_ = (c)->ns;                                                       \
        (rq).workflow_id = (char *)(o)->workflow_id;                                     \
        (rq).workflow_type = &(p)->wt;                                                   \
        (rq).task_queue = &(p)->tq;                                                      \
        (rq).input = (p)->input;                                                         \
        (rq).workflow_execution_timeout = (p)->exec;                                     \
        (rq).workflow_run_timeout = (p)->run;                                            \
        (rq).workflow_task_timeout = (p)->task;                                          \
        (rq).identity = (c)->identity;                                                   \
        (rq).request_id = (char *)(p)->request_id;                                       \
        (rq).workflow_id_reuse_policy =                                                  \
            (Temporal__Api__Enums__V1__WorkflowIdReusePolicy)(o)->id_reuse_policy;       \
        (rq).workflow_id_conflict_policy =                                               \
            (Temporal__Api__Enums__V1__WorkflowIdConflictPolicy)(o)->id_conflict_policy; \
        (rq).retry_policy = (p)->retry;                                                  \
        (rq).cron_schedule = (char *)((o)->cron_schedule ? (o)->cron_schedule : "");     \
        (rq).memo = (p)->memo;                                                           \
        (rq).search_attributes = (p)->sa;                                                \
    } while (0)

/* Hands a start reply's run id and started flag to the caller's out-parameters (either may be
 * NULL) and frees the reply m. */
static void start_reply(const char *reply_run_id, bool reply_started, char *run_id,
                        size_t run_id_cap, bool *started, ProtobufCMessage *m)
{
    if (run_id)
        copy_str(run_id, run_id_cap, reply_run_id);
    if (started)
        *started = reply_started;
    protobuf_c_message_free_unpacked(m, NULL);
}

int tc_workflow_start(tc_client *c, const tc_start_options *o, char *run_id, size_t run_id_cap,
                      bool *started, tc_error *err)
{
    start_parts p;
    int rc = start_parts_init(&p, o, err);
    if (rc != TC_OK)
        return rc;
    Temporal__Api__Workflowservice__V1__StartWorkflowExecutionRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__START_WORKFLOW_EXECUTION_REQUEST__INIT;
    START_REQUEST_FILL(rq, c, o, &p);
    /* Eager start: a local worker's slot is reserved before asking (a granted task must run). */
    void *slot = NULL;
    if (o->eager_started)
        *o->eager_started = false;
    if (o->request_eager_start) {
        pthread_mutex_lock(&c->eager_mu);
        void *(*reserve)(tc_client *, const char *, const char *) = c->eager_reserve;
        pthread_mutex_unlock(&c->eager_mu);
        slot = reserve ? reserve(c, o->task_queue, o->workflow_type) : NULL;
    }
    rq.request_eager_execution = slot != NULL;
    ProtobufCMessage *m = NULL;
    rc = tc_rpc(c, "StartWorkflowExecution", TC_RPC_MSG(rq),
                &WS(start_workflow_execution_response__descriptor), &m, 0, 0, NULL, err);
    start_parts_free(&p);
    Temporal__Api__Workflowservice__V1__StartWorkflowExecutionResponse *r = (void *)m;
    if (slot && rc == TC_OK && r->eager_workflow_task) {
        ProtobufCMessage *task = &r->eager_workflow_task->base;
        r->eager_workflow_task = NULL; /* taken over: free_unpacked skips it */
        c->eager_run(slot, task);
        if (o->eager_started)
            *o->eager_started = true;
    } else if (slot) {
        c->eager_release(slot); /* refused (setting off, no slot) or the start failed */
    }
    if (rc != TC_OK)
        return rc;
    start_reply(r->run_id, r->started, run_id, run_id_cap, started, m);
    return TC_OK;
}

int tc_workflow_signal_with_start(tc_client *c, const tc_start_options *o, const char *signal_name,
                                  const char *signal_input_json, char *run_id, size_t run_id_cap,
                                  bool *started, tc_error *err)
{
    if (!signal_name || !*signal_name)
        return tc_seterr(err, TC_ERR_INVALID, "signal_name required");
    start_parts p;
    int rc = start_parts_init(&p, o, err);
    if (rc != TC_OK)
        return rc;
    Temporal__Api__Workflowservice__V1__SignalWithStartWorkflowExecutionRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__SIGNAL_WITH_START_WORKFLOW_EXECUTION_REQUEST__INIT;
    tc_pl1 sig;
    START_REQUEST_FILL(rq, c, o, &p);
    rq.signal_name = (char *)signal_name;
    rq.signal_input = tc_pl1_init(&sig, signal_input_json);
    ProtobufCMessage *m = NULL;
    rc =
        tc_rpc(c, "SignalWithStartWorkflowExecution", TC_RPC_MSG(rq),
               &WS(signal_with_start_workflow_execution_response__descriptor), &m, 0, 0, NULL, err);
    tc_pl1_clear(&sig);
    start_parts_free(&p);
    if (rc != TC_OK)
        return rc;
    Temporal__Api__Workflowservice__V1__SignalWithStartWorkflowExecutionResponse *r = (void *)m;
    start_reply(r->run_id, r->started, run_id, run_id_cap, started, m);
    return TC_OK;
}

int tc_workflow_reset(tc_client *c, const char *workflow_id, const char *run_id, int64_t event_id,
                      const char *reason, char *new_run_id, size_t new_run_id_cap, tc_error *err)
{
    if (!workflow_id || !*workflow_id || event_id <= 0)
        return tc_seterr(err, TC_ERR_INVALID, "workflow_id and a positive event_id required");
    Temporal__Api__Workflowservice__V1__ResetWorkflowExecutionRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESET_WORKFLOW_EXECUTION_REQUEST__INIT;
    tc_pb_exec ex;
    char uuid[37];
    tc_uuid(uuid);
    exec_init(&ex, workflow_id, run_id);
    rq.namespace_ = c->ns;
    rq.workflow_execution = &ex;
    rq.reason = (char *)(reason ? reason : "reset by temporal-c");
    rq.workflow_task_finish_event_id = event_id;
    rq.request_id = uuid;
    rq.identity = c->identity;
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(c, "ResetWorkflowExecution", TC_RPC_MSG(rq),
                    &WS(reset_workflow_execution_response__descriptor), &m, 0, 0, NULL, err);
    if (rc != TC_OK)
        return rc;
    if (new_run_id)
        copy_str(new_run_id, new_run_id_cap,
                 ((Temporal__Api__Workflowservice__V1__ResetWorkflowExecutionResponse *)m)->run_id);
    protobuf_c_message_free_unpacked(m, NULL);
    return TC_OK;
}

int tc_workflow_delete(tc_client *c, const char *workflow_id, const char *run_id, tc_error *err)
{
    if (!workflow_id || !*workflow_id)
        return tc_seterr(err, TC_ERR_INVALID, "workflow_id required");
    Temporal__Api__Workflowservice__V1__DeleteWorkflowExecutionRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__DELETE_WORKFLOW_EXECUTION_REQUEST__INIT;
    tc_pb_exec ex;
    exec_init(&ex, workflow_id, run_id);
    rq.namespace_ = c->ns;
    rq.workflow_execution = &ex;
    return rpc_status(c, "DeleteWorkflowExecution", TC_RPC_MSG(rq),
                      &WS(delete_workflow_execution_response__descriptor), err);
}

void tc_outcome_clear(tc_outcome *o)
{
    if (!o)
        return;
    free(o->result_json);
    free(o->failure_type);
    free(o->failure_message);
    memset(o, 0, sizeof *o);
}

/* Fills out from a close event. Returns 1 when the run continued as new (next_rid set). */
static int outcome_from_close(const tc_pb_event *ev, tc_outcome *out, char *next_rid, size_t cap)
{
    const char *t, *m;
    bool nr;
    switch (ev->event_type) {
    case TC_ET(WORKFLOW_EXECUTION_COMPLETED): {
        const Temporal__Api__History__V1__WorkflowExecutionCompletedEventAttributes *a =
            ev->workflow_execution_completed_event_attributes;
        if (a && a->new_execution_run_id && *a->new_execution_run_id) {
            copy_str(next_rid, cap, a->new_execution_run_id); /* cron / retry chain */
            return 1;
        }
        out->status = TC_WF_COMPLETED;
        out->result_json = tc_payloads_first_json(a ? a->result : NULL);
        return 0;
    }
    case TC_ET(WORKFLOW_EXECUTION_FAILED): {
        const Temporal__Api__History__V1__WorkflowExecutionFailedEventAttributes *a =
            ev->workflow_execution_failed_event_attributes;
        if (a && a->new_execution_run_id && *a->new_execution_run_id) {
            copy_str(next_rid, cap, a->new_execution_run_id);
            return 1;
        }
        tc_failure_describe(a ? a->failure : NULL, &t, &m, &nr);
        out->status = TC_WF_FAILED;
        out->failure_type = tc_strdup(t);
        out->failure_message = tc_strdup(m);
        return 0;
    }
    case TC_ET(WORKFLOW_EXECUTION_TIMED_OUT): {
        const Temporal__Api__History__V1__WorkflowExecutionTimedOutEventAttributes *a =
            ev->workflow_execution_timed_out_event_attributes;
        if (a && a->new_execution_run_id && *a->new_execution_run_id) {
            copy_str(next_rid, cap, a->new_execution_run_id);
            return 1;
        }
        out->status = TC_WF_TIMED_OUT;
        out->failure_type = tc_strdup("TimeoutError");
        out->failure_message = tc_strdup("workflow timed out");
        return 0;
    }
    case TC_ET(WORKFLOW_EXECUTION_CONTINUED_AS_NEW):
        copy_str(next_rid, cap,
                 ev->workflow_execution_continued_as_new_event_attributes->new_execution_run_id);
        return 1;
    case TC_ET(WORKFLOW_EXECUTION_TERMINATED): {
        const Temporal__Api__History__V1__WorkflowExecutionTerminatedEventAttributes *a =
            ev->workflow_execution_terminated_event_attributes;
        out->status = TC_WF_TERMINATED;
        out->failure_type = tc_strdup("TerminatedError");
        out->failure_message = tc_strdup(a && a->reason ? a->reason : "terminated");
        return 0;
    }
    case TC_ET(WORKFLOW_EXECUTION_CANCELED):
        out->status = TC_WF_CANCELED;
        out->failure_type = tc_strdup("CanceledError");
        out->failure_message = tc_strdup("workflow canceled");
        return 0;
    default: out->status = TC_WF_UNKNOWN; return 0;
    }
}

struct tc_wait {
    tc_cancel k;
};

tc_wait *tc_wait_new(void)
{
    tc_wait *w = malloc(sizeof *w);
    if (w)
        tc_cancel_init(&w->k);
    return w;
}

void tc_wait_cancel(tc_wait *w)
{
    if (w)
        tc_cancel_fire(&w->k);
}

void tc_wait_free(tc_wait *w)
{
    if (!w)
        return;
    tc_cancel_destroy(&w->k);
    free(w);
}

int tc_workflow_result(tc_client *c, const char *workflow_id, const char *run_id, int timeout_ms,
                       tc_outcome *out, tc_error *err)
{
    return tc_workflow_result_wait(c, workflow_id, run_id, timeout_ms, NULL, out, err);
}

int tc_workflow_result_wait(tc_client *c, const char *workflow_id, const char *run_id,
                            int timeout_ms, tc_wait *w, tc_outcome *out, tc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!workflow_id)
        return tc_seterr(err, TC_ERR_INVALID, "workflow_id required");
    char rid[64];
    copy_str(rid, sizeof rid, run_id);
    if (!rid[0]) {
        /* Pin the latest run now, so out->run_id can name the run that produced the outcome
         * (a close event does not carry its own run id). */
        tc_description d;
        int drc = tc_workflow_describe(c, workflow_id, NULL, &d, err);
        if (drc != TC_OK)
            return drc;
        copy_str(rid, sizeof rid, d.run_id);
    }
    int64_t end = timeout_ms > 0 ? tc_now_us() + (int64_t)timeout_ms * 1000 : INT64_MAX;
    ProtobufCBinaryData token = {0, NULL};
    uint8_t *token_buf = NULL;
    int rc;
    for (;;) {
        if (tc_now_us() >= end) {
            rc = tc_seterr(err, TC_ERR_TIMEOUT, "workflow %s did not close within %d ms",
                           workflow_id, timeout_ms);
            break;
        }
        int64_t left_ms = (end - tc_now_us()) / 1000;
        int call_ms = left_ms < TC_RESULT_POLL_MS ? (int)(left_ms < 2000 ? 2000 : left_ms)
                                                  : TC_RESULT_POLL_MS;
        Temporal__Api__Workflowservice__V1__GetWorkflowExecutionHistoryRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__GET_WORKFLOW_EXECUTION_HISTORY_REQUEST__INIT;
        tc_pb_exec ex;
        exec_init(&ex, workflow_id, rid);
        rq.namespace_ = c->ns;
        rq.execution = &ex;
        rq.wait_new_event = true;
        rq.history_event_filter_type =
            TEMPORAL__API__ENUMS__V1__HISTORY_EVENT_FILTER_TYPE__HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;
        rq.next_page_token = token;
        ProtobufCMessage *m = NULL;
        rc = tc_rpc(c, "GetWorkflowExecutionHistory", TC_RPC_MSG(rq),
                    &WS(get_workflow_execution_history_response__descriptor), &m, call_ms, 0,
                    w ? &w->k : NULL, err);
        if (rc == TC_ERR_TIMEOUT && tc_now_us() < end)
            continue; /* the long poll expired on our side: ask again */
        if (rc != TC_OK)
            break;
        Temporal__Api__Workflowservice__V1__GetWorkflowExecutionHistoryResponse *r = (void *)m;
        const tc_pb_event *close = NULL;
        if (r->history)
            for (size_t i = 0; i < r->history->n_events; i++)
                close = r->history->events[i];
        if (close) {
            char next[64] = "";
            if (outcome_from_close(close, out, next, sizeof next)) {
                copy_str(rid, sizeof rid, next);
                free(token_buf);
                token_buf = NULL;
                token.len = 0;
                token.data = NULL;
                protobuf_c_message_free_unpacked(m, NULL);
                continue;
            }
            copy_str(out->run_id, sizeof out->run_id, rid);
            protobuf_c_message_free_unpacked(m, NULL);
            if (out->status == TC_WF_COMPLETED) {
                rc = out->result_json ? TC_OK : tc_seterr(err, TC_ERR_NOMEM, "out of memory");
            } else {
                rc = tc_seterr(err, TC_ERR_WORKFLOW_FAILED, "workflow %s closed: %s: %s",
                               workflow_id, out->failure_type ? out->failure_type : "?",
                               out->failure_message ? out->failure_message : "");
            }
            break;
        }
        /* No close yet: the server answers about every 20 s with a token to continue. */
        free(token_buf);
        token_buf = NULL;
        token.len = 0;
        token.data = NULL;
        if (r->next_page_token.len) {
            token_buf = malloc(r->next_page_token.len);
            if (!token_buf) {
                protobuf_c_message_free_unpacked(m, NULL);
                rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
                break;
            }
            memcpy(token_buf, r->next_page_token.data, r->next_page_token.len);
            token.data = token_buf;
            token.len = r->next_page_token.len;
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
    free(token_buf);
    return rc;
}

int tc_workflow_describe(tc_client *c, const char *workflow_id, const char *run_id,
                         tc_description *out, tc_error *err)
{
    memset(out, 0, sizeof *out);
    Temporal__Api__Workflowservice__V1__DescribeWorkflowExecutionResponse *r = NULL;
    int rc = tc_describe_rpc(c, workflow_id, run_id, &r, err);
    if (rc != TC_OK)
        return rc;
    const Temporal__Api__Workflow__V1__WorkflowExecutionInfo *i = r->workflow_execution_info;
    if (i) {
        out->status = (tc_wf_status)i->status;
        out->history_length = i->history_length;
        if (i->execution)
            copy_str(out->run_id, sizeof out->run_id, i->execution->run_id);
        if (i->type)
            copy_str(out->workflow_type, sizeof out->workflow_type, i->type->name);
        copy_str(out->task_queue, sizeof out->task_queue, i->task_queue);
    }
    out->pending_activities = (int)r->n_pending_activities;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return TC_OK;
}

int tc_workflow_query(tc_client *c, const char *workflow_id, const char *run_id,
                      const char *query_type, const char *args_json, char **result_json,
                      tc_error *err)
{
    return tc_workflow_query_within(c, workflow_id, run_id, query_type, args_json, 0, result_json,
                                    err);
}

int tc_workflow_query_within(tc_client *c, const char *workflow_id, const char *run_id,
                             const char *query_type, const char *args_json, int timeout_ms,
                             char **result_json, tc_error *err)
{
    *result_json = NULL;
    Temporal__Api__Workflowservice__V1__QueryWorkflowRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__QUERY_WORKFLOW_REQUEST__INIT;
    Temporal__Api__Query__V1__WorkflowQuery q = TEMPORAL__API__QUERY__V1__WORKFLOW_QUERY__INIT;
    tc_pb_exec ex;
    tc_pl1 args;
    exec_init(&ex, workflow_id, run_id);
    q.query_type = (char *)query_type;
    q.query_args = tc_pl1_init(&args, args_json);
    rq.namespace_ = c->ns;
    rq.execution = &ex;
    rq.query = &q;
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(c, "QueryWorkflow", TC_RPC_MSG(rq), &WS(query_workflow_response__descriptor),
                    &m, timeout_ms, timeout_ms > 0 ? TC_RPC_NO_RETRY : 0, NULL, err);
    tc_pl1_clear(&args);
    if (rc != TC_OK) {
        /* A handler error arrives as a failed call; say so with its own code. */
        if (err && err->grpc_status == 3 /* INVALID_ARGUMENT: the handler's error */)
            err->code = rc = TC_ERR_QUERY_FAILED;
        return rc;
    }
    Temporal__Api__Workflowservice__V1__QueryWorkflowResponse *r = (void *)m;
    if (r->query_rejected) {
        rc = tc_seterr(err, TC_ERR_QUERY_FAILED, "query rejected (workflow status %d)",
                       (int)r->query_rejected->status);
    } else {
        *result_json = tc_payloads_first_json(r->query_result);
        if (!*result_json)
            rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int tc_workflow_signal(tc_client *c, const char *workflow_id, const char *run_id,
                       const char *signal_name, const char *input_json, tc_error *err)
{
    Temporal__Api__Workflowservice__V1__SignalWorkflowExecutionRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__SIGNAL_WORKFLOW_EXECUTION_REQUEST__INIT;
    tc_pb_exec ex;
    tc_pl1 in;
    char uuid[37];
    tc_uuid(uuid);
    exec_init(&ex, workflow_id, run_id);
    rq.namespace_ = c->ns;
    rq.workflow_execution = &ex;
    rq.signal_name = (char *)signal_name;
    rq.input = tc_pl1_init(&in, input_json);
    rq.identity = c->identity;
    rq.request_id = uuid; /* makes a retried signal land once */
    int rc = rpc_status(c, "SignalWorkflowExecution", TC_RPC_MSG(rq),
                        &WS(signal_workflow_execution_response__descriptor), err);
    tc_pl1_clear(&in);
    return rc;
}

int tc_workflow_terminate(tc_client *c, const char *workflow_id, const char *run_id,
                          const char *reason, tc_error *err)
{
    Temporal__Api__Workflowservice__V1__TerminateWorkflowExecutionRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__TERMINATE_WORKFLOW_EXECUTION_REQUEST__INIT;
    tc_pb_exec ex;
    exec_init(&ex, workflow_id, run_id);
    rq.namespace_ = c->ns;
    rq.workflow_execution = &ex;
    rq.reason = (char *)(reason ? reason : "");
    rq.identity = c->identity;
    return rpc_status(c, "TerminateWorkflowExecution", TC_RPC_MSG(rq),
                      &WS(terminate_workflow_execution_response__descriptor), err);
}

int tc_workflow_cancel(tc_client *c, const char *workflow_id, const char *run_id,
                       const char *reason, tc_error *err)
{
    if (!workflow_id || !*workflow_id)
        return tc_seterr(err, TC_ERR_INVALID, "workflow_id required");
    Temporal__Api__Workflowservice__V1__RequestCancelWorkflowExecutionRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__REQUEST_CANCEL_WORKFLOW_EXECUTION_REQUEST__INIT;
    tc_pb_exec ex;
    char uuid[37];
    exec_init(&ex, workflow_id, run_id);
    tc_uuid(uuid); /* a repeated call (retry) is one request */
    rq.namespace_ = c->ns;
    rq.workflow_execution = &ex;
    rq.identity = c->identity;
    rq.request_id = uuid;
    rq.reason = (char *)(reason ? reason : "");
    return rpc_status(c, "RequestCancelWorkflowExecution", TC_RPC_MSG(rq),
                      &WS(request_cancel_workflow_execution_response__descriptor), err);
}

int tc_fetch_history(tc_client *c, const char *wid, const char *rid, tc_history *h, tc_error *err)
{
    ProtobufCBinaryData token = {0, NULL};
    int rc = TC_OK;
    for (int page = 0; page < TC_HISTORY_MAX_PAGES; page++) {
        Temporal__Api__Workflowservice__V1__GetWorkflowExecutionHistoryRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__GET_WORKFLOW_EXECUTION_HISTORY_REQUEST__INIT;
        tc_pb_exec ex;
        exec_init(&ex, wid, rid);
        rq.namespace_ = c->ns;
        rq.execution = &ex;
        rq.next_page_token = token;
        ProtobufCMessage *m = NULL;
        rc = tc_rpc(c, "GetWorkflowExecutionHistory", TC_RPC_MSG(rq),
                    &WS(get_workflow_execution_history_response__descriptor), &m, 0, 0, NULL, err);
        if (rc != TC_OK)
            return rc;
        Temporal__Api__Workflowservice__V1__GetWorkflowExecutionHistoryResponse *r = (void *)m;
        /* The page owns the token bytes we use for the next request: keep the page alive. */
        rc = tc_history_add_page(h, m, r->history ? r->history->events : NULL,
                                 r->history ? r->history->n_events : 0, err);
        if (rc != TC_OK)
            return rc;
        if (r->next_page_token.len == 0)
            return TC_OK;
        token = r->next_page_token;
    }
    return tc_seterr(err, TC_ERR_PROTOCOL, "history of %s has too many pages", wid);
}

int tc_workflow_history(tc_client *c, const char *workflow_id, const char *run_id, tc_history **out,
                        tc_error *err)
{
    *out = NULL;
    tc_history *h = calloc(1, sizeof *h);
    if (!h)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    int rc = tc_fetch_history(c, workflow_id, run_id, h, err);
    if (rc != TC_OK) {
        tc_history_free(h);
        return rc;
    }
    *out = h;
    return TC_OK;
}
