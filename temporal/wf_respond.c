/* wf_respond.c - the answers to a workflow task: RespondWorkflowTaskCompleted (new commands in
 * order, query results, sticky attributes, eager activity requests), RespondWorkflowTaskFailed,
 * RespondQueryTaskCompleted. Must not run workflow code. */
#include "cmd_families.h"
#include "query.h"
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS(name) temporal__api__workflowservice__v1__##name

typedef Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedRequest__QueryResultsEntry
    qr_entry;
typedef Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedResponse wtc_resp;

/* At most this many eager requests per workflow task, as sdk-core does: a wide fan-out would
 * otherwise reserve every executor for one run while the server grants only a few. */
#define TC_EAGER_PER_TASK 3

/* Eager activity dispatch: a ScheduleActivityTask for this worker's own task queue and a type
 * it runs asks the server to hand the activity task back in the completion response, which
 * saves the activity poll. The executor slot is reserved first (a request obliges us to run
 * what comes back); none is asked for once the worker stops. Returns the slots reserved. */
static int request_eager(tc_worker *w, Temporal__Api__Command__V1__Command **cmds, size_t n)
{
    int reserved = 0;
    if (!w->eager)
        return 0;
    for (size_t i = 0; i < n; i++) {
        Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *a =
            cmds[i]->schedule_activity_task_command_attributes;
        if (cmds[i]->command_type != TC_CT(SCHEDULE_ACTIVITY_TASK) || !a || !a->task_queue ||
            !a->task_queue->name || strcmp(a->task_queue->name, w->task_queue) != 0 ||
            !a->activity_type || !tc_reg_activity(w, a->activity_type->name))
            continue;
        if (reserved == TC_EAGER_PER_TASK || !tc_act_try_reserve(w))
            break; /* every executor busy: the rest are polled as usual */
        a->request_eager_execution = true;
        reserved++;
    }
    atomic_fetch_add(&w->st_eager_req, (uint_fast64_t)reserved);
    return reserved;
}

/* Queues the activity tasks the server returned eagerly (every one must run, even beyond the
 * slots reserved). They are taken out of resp, which stays valid to free. Returns how many
 * reserved slots they used. */
static int take_eager(tc_worker *w, wtc_resp *resp, int reserved)
{
    int used = 0;
    if (!resp)
        return 0;
    for (size_t i = 0; i < resp->n_activity_tasks; i++) {
        tc_act_task *t = resp->activity_tasks[i];
        resp->activity_tasks[i] = NULL; /* free_unpacked skips NULL elements */
        if (!t)
            continue;
        bool have_slot = used < reserved;
        if (have_slot)
            used++;
        atomic_fetch_add(&w->st_eager, 1);
        tc_act_enqueue(w, t, have_slot);
    }
    return used;
}

/* RespondWorkflowTaskCompleted must carry every new command in the order the code made them. */
int tc_respond_completed(tc_worker *w, const tc_wf_task *t, const wf_reg *reg, tc_run *r,
                         tc_cmd *const *in, size_t n_in, const uint8_t *extra, size_t extra_len,
                         tc_error *err)
{
    Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_WORKFLOW_TASK_COMPLETED_REQUEST__INIT;
    Temporal__Api__Taskqueue__V1__StickyExecutionAttributes sa =
        TEMPORAL__API__TASKQUEUE__V1__STICKY_EXECUTION_ATTRIBUTES__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue stq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    tc_pb_duration s2s;
    int rc = TC_OK;
    size_t nq = t->n_queries, n_cmds = 0;
    Temporal__Api__Command__V1__Command **cmds = calloc(n_in + 2, sizeof *cmds);
    qr_entry *qe = calloc(nq + 1, sizeof *qe);
    qr_entry **qep = calloc(nq + 1, sizeof *qep);
    Temporal__Api__Query__V1__WorkflowQueryResult *qr = calloc(nq + 1, sizeof *qr);
    tc_pl1 *qpl = calloc(nq + 1, sizeof *qpl);
    char **qjson = calloc(nq + 1, sizeof *qjson);
    char **qerr = calloc(nq + 1, sizeof *qerr);
    /* Protocol messages (update acceptances, rejections, responses) ride along with the
     * commands; a ProtocolMessage command marks where each accepted one belongs. */
    uint8_t *const *mp = NULL;
    const size_t *ml = NULL;
    size_t n_msgs = r ? tc_update_outgoing(r, &mp, &ml) : 0;
    Temporal__Api__Protocol__V1__Message **msgs = calloc(n_msgs + 1, sizeof *msgs);
    if (!cmds || !qe || !qep || !qr || !qpl || !qjson || !qerr || !msgs) {
        rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* The commands were packed when made; the request needs them as messages (and eager
     * dispatch sets a flag on some). */
    for (size_t i = 0; i <= n_in; i++) {
        const uint8_t *data = i < n_in ? in[i]->packed : extra;
        size_t len = i < n_in ? in[i]->packed_len : extra_len;
        if (!data)
            continue;
        if (!(cmds[n_cmds] = temporal__api__command__v1__command__unpack(NULL, len, data))) {
            rc = tc_seterr(err, TC_ERR_NOMEM, "cannot rebuild command");
            goto out;
        }
        n_cmds++;
    }
    for (size_t i = 0; i < n_msgs; i++)
        if (!(msgs[i] = temporal__api__protocol__v1__message__unpack(NULL, ml[i], mp[i]))) {
            rc = tc_seterr(err, TC_ERR_NOMEM, "cannot rebuild protocol message");
            goto out;
        }
    for (size_t i = 0; i < nq; i++) {
        temporal__api__workflowservice__v1__respond_workflow_task_completed_request__query_results_entry__init(
            &qe[i]);
        temporal__api__query__v1__workflow_query_result__init(&qr[i]);
        const Temporal__Api__Query__V1__WorkflowQuery *q = t->queries[i]->value;
        bool ok = false;
        if (!r) /* the task failed: no state to answer from */
            qerr[i] = tc_strdup("the workflow task failed; no state to answer the query from");
        else if (q)
            ok = tc_query_answer(r, reg->queries, reg->n_queries, q->query_type, q->query_args,
                                 &qjson[i], &qerr[i]);
        if (ok) {
            qr[i].result_type =
                TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_ANSWERED;
            qr[i].answer = tc_pl1_init(&qpl[i], qjson[i]);
        } else {
            qr[i].result_type =
                TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_FAILED;
            qr[i].error_message = qerr[i] ? qerr[i] : (char *)"out of memory";
        }
        qe[i].key = t->queries[i]->key;
        qe[i].value = &qr[i];
        qep[i] = &qe[i];
    }
    rq.task_token = t->task_token;
    rq.n_commands = n_cmds;
    rq.commands = cmds;
    rq.identity = w->identity;
    rq.namespace_ = w->c->ns;
    rq.n_query_results = nq;
    rq.query_results = qep;
    rq.n_messages = n_msgs;
    rq.messages = msgs;
    rq.force_create_new_workflow_task = r && r->force_new_task; /* local activities run on */
    rq.return_new_workflow_task = r && r->return_new_task;
    if (w->sticky_queue) {
        stq.name = w->sticky_queue;
        stq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_STICKY;
        stq.normal_name = w->task_queue;
        tc_duration_ms(&s2s, w->sticky_s2s_ms);
        sa.worker_task_queue = &stq;
        sa.schedule_to_start_timeout = &s2s;
        rq.sticky_attributes = &sa;
    }
    int reserved = request_eager(w, cmds, n_cmds);
    ProtobufCMessage *m = NULL;
    rc = tc_rpc(w->c, "RespondWorkflowTaskCompleted", TC_RPC_MSG(rq),
                &WS(respond_workflow_task_completed_response__descriptor), &m, 0, 0, NULL, err);
    if (rc == TC_OK && r && ((wtc_resp *)m)->workflow_task &&
        ((wtc_resp *)m)->workflow_task->task_token.len) { /* the heartbeat's next task */
        r->returned_task = ((wtc_resp *)m)->workflow_task;
        ((wtc_resp *)m)->workflow_task = NULL;
    }
    reserved -= take_eager(w, rc == TC_OK ? (wtc_resp *)m : NULL, reserved);
    tc_act_release(w, reserved); /* slots asked for but not granted */
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
out:
    for (size_t i = 0; cmds && i < n_cmds; i++)
        temporal__api__command__v1__command__free_unpacked(cmds[i], NULL);
    for (size_t i = 0; msgs && i < n_msgs; i++)
        if (msgs[i])
            temporal__api__protocol__v1__message__free_unpacked(msgs[i], NULL);
    free(msgs);
    for (size_t i = 0; qpl && i < nq; i++)
        tc_pl1_clear(&qpl[i]);
    for (size_t i = 0; qjson && i < nq; i++)
        free(qjson[i]);
    for (size_t i = 0; qerr && i < nq; i++)
        free(qerr[i]);
    free(cmds);
    free(qe);
    free(qep);
    free(qr);
    free(qpl);
    free(qjson);
    free(qerr);
    return rc;
}

void tc_respond_failed(tc_worker *w, const tc_wf_task *t, int code, const char *msg)
{
    Temporal__Api__Workflowservice__V1__RespondWorkflowTaskFailedRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_WORKFLOW_TASK_FAILED_REQUEST__INIT;
    tc_appfail f;
    bool nondet = code == TC_ERR_NONDETERMINISM;
    rq.task_token = t->task_token;
    rq.cause =
        nondet
            ? TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
            : TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE;
    rq.failure =
        tc_appfail_init(&f, nondet ? "NonDeterminismError" : "WorkflowTaskError", msg, false);
    rq.identity = w->identity;
    rq.namespace_ = w->c->ns;
    ProtobufCMessage *m = NULL;
    tc_error e;
    if (tc_rpc(w->c, "RespondWorkflowTaskFailed", TC_RPC_MSG(rq),
               &WS(respond_workflow_task_failed_response__descriptor), &m, 0, 0, NULL, &e) != TC_OK)
        tc_logf(&w->log, TC_LOG_WARN, t->workflow_execution->workflow_id,
                t->workflow_execution->run_id, NULL, "RespondWorkflowTaskFailed: %s", e.text);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

void tc_respond_legacy_query(tc_worker *w, const tc_wf_task *t, const wf_reg *reg, const tc_run *r,
                             const char *load_error)
{
    Temporal__Api__Workflowservice__V1__RespondQueryTaskCompletedRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_QUERY_TASK_COMPLETED_REQUEST__INIT;
    char *json = NULL, *errtext = NULL;
    tc_pl1 pl;
    bool ok = false;
    if (r && reg)
        ok = tc_query_answer(r, reg->queries, reg->n_queries, t->query->query_type,
                             t->query->query_args, &json, &errtext);
    else
        errtext = tc_strdup(load_error ? load_error : "the workflow run could not be loaded");
    rq.task_token = t->task_token;
    rq.namespace_ = w->c->ns;
    if (ok) {
        rq.completed_type = TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_ANSWERED;
        rq.query_result = tc_pl1_init(&pl, json);
    } else {
        rq.completed_type = TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_FAILED;
        rq.error_message = errtext ? errtext : (char *)"out of memory";
    }
    ProtobufCMessage *m = NULL;
    tc_error e;
    tc_rpc(w->c, "RespondQueryTaskCompleted", TC_RPC_MSG(rq),
           &WS(respond_query_task_completed_response__descriptor), &m, 0, 0, NULL, &e);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    if (ok)
        tc_pl1_clear(&pl);
    free(json);
    free(errtext);
}
