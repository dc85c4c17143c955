/* wft.c - workflow task handling: rebuild or extend the run from history (sticky cache),
 * execute the workflow function, respond with new commands / query answers / task failure. */
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS(name) temporal__api__workflowservice__v1__##name
typedef Temporal__Api__Workflowservice__V1__PollWorkflowTaskQueueResponse wft_resp;

static const wf_reg *find_wf(const struct tc_worker *w, const char *type)
{
    for (size_t i = 0; i < w->n_wfs; i++)
        if (type && strcmp(w->wfs[i].type, type) == 0)
            return &w->wfs[i];
    return NULL;
}

static int apply_events(tc_run *r, tc_pb_event **evs, size_t n, int64_t upto, tc_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (upto > 0 && evs[i]->event_id > upto)
            break;
        if (evs[i]->event_id <= r->last_event_id)
            continue;
        int rc = tc_run_apply(r, evs[i], err);
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

/* Follows next_page_token pages of the task's history (history beyond the first page). */
static int follow_pages(struct tc_worker *w, tc_run *r, ProtobufCBinaryData token, int64_t upto,
                        tc_error *err)
{
    ProtobufCMessage *prev = NULL;
    int rc = TC_OK;
    while (token.len) {
        Temporal__Api__Workflowservice__V1__GetWorkflowExecutionHistoryRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__GET_WORKFLOW_EXECUTION_HISTORY_REQUEST__INIT;
        Temporal__Api__Common__V1__WorkflowExecution ex =
            TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;
        ex.workflow_id = r->workflow_id;
        ex.run_id = r->run_id;
        rq.namespace_ = w->c->ns;
        rq.execution = &ex;
        rq.next_page_token = token;
        ProtobufCMessage *m = NULL;
        atomic_fetch_add(&w->st_pages, 1);
        rc = tc_rpc(w->c, "GetWorkflowExecutionHistory", TC_RPC_MSG(rq),
                    &WS(get_workflow_execution_history_response__descriptor), &m, 0, 0, NULL, err);
        if (prev)
            protobuf_c_message_free_unpacked(prev, NULL); /* its token was just used */
        prev = m;
        if (rc != TC_OK)
            break;
        Temporal__Api__Workflowservice__V1__GetWorkflowExecutionHistoryResponse *hr = (void *)m;
        if (hr->history)
            rc = apply_events(r, hr->history->events, hr->history->n_events, upto, err);
        if (rc != TC_OK)
            break;
        token = hr->next_page_token;
    }
    if (prev)
        protobuf_c_message_free_unpacked(prev, NULL);
    return rc;
}

/* Builds the run this task needs: the cached one extended by the task's events when they
 * continue it, else a fresh one from full history (the task's pages or a refetch). */
static tc_run *load_run(struct tc_worker *w, const wft_resp *t, tc_error *err)
{
    const char *wid = t->workflow_execution->workflow_id;
    const char *rid = t->workflow_execution->run_id;
    tc_pb_event **evs = t->history ? t->history->events : NULL;
    size_t n = t->history ? t->history->n_events : 0;
    int64_t upto = t->started_event_id;
    int64_t first = n ? evs[0]->event_id : 0;
    tc_run *r = w->sticky_queue ? tc_cache_take(w, rid) : NULL;
    if (r && n && first != r->last_event_id + 1 && first > r->last_event_id) {
        tc_run_free(r); /* a gap: events we never saw */
        r = NULL;
    }
    if (r) {
        atomic_fetch_add(&w->st_hit, 1);
        if (apply_events(r, evs, n, upto, err) != TC_OK ||
            follow_pages(w, r, t->next_page_token, upto, err) != TC_OK) {
            tc_run_free(r);
            return NULL;
        }
        return r;
    }
    atomic_fetch_add(&w->st_miss, 1);
    r = tc_run_new(wid, rid);
    if (!r) {
        tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int rc;
    if (n && first == 1) {
        rc = apply_events(r, evs, n, upto, err);
        if (rc == TC_OK)
            rc = follow_pages(w, r, t->next_page_token, upto, err);
    } else {
        /* Partial history (a sticky task after eviction, or a query): fetch from the start. */
        tc_history h = {0};
        atomic_fetch_add(&w->st_refetch, 1);
        rc = tc_fetch_history(w->c, wid, rid, &h, err);
        if (rc == TC_OK)
            rc = apply_events(r, h.events, h.n, upto, err);
        tc_history_clear(&h);
    }
    if (rc != TC_OK) {
        tc_run_free(r);
        return NULL;
    }
    return r;
}

static void *run_state(tc_run *r, const wf_reg *reg)
{
    if (!reg->state_size)
        return NULL;
    if (!r->state) {
        r->state = calloc(1, reg->state_size);
        r->state_size = reg->state_size;
    }
    return r->state;
}

/* Answers one query from the state the latest execution left. *json / *errtext malloc'd. */
static bool answer_query(const wf_reg *reg, const tc_run *r,
                         const Temporal__Api__Query__V1__WorkflowQuery *q, char **json,
                         char **errtext)
{
    *json = NULL;
    *errtext = NULL;
    const char *qt = q && q->query_type ? q->query_type : "";
    if (strcmp(qt, "__stack_trace") == 0) {
        *json = tc_strdup("\"(C workflow: stack traces are not available)\"");
        return true;
    }
    for (size_t i = 0; i < reg->n_queries; i++) {
        if (strcmp(reg->queries[i].type, qt) != 0)
            continue;
        char *args = q->query_args ? tc_payloads_first_json(q->query_args) : NULL;
        tc_error e = {0};
        char *out = NULL;
        int rc = reg->queries[i].fn(r->state, args, reg->queries[i].user, &out, &e);
        free(args);
        if (rc != TC_OK) {
            free(out);
            *errtext = tc_strdup(e.text[0] ? e.text : tc_code_name(rc));
            return false;
        }
        *json = out ? out : tc_strdup("null");
        return true;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "unknown query type %s for workflow %s", qt, reg->type);
    *errtext = tc_strdup(buf);
    return false;
}

static void respond_failed(struct tc_worker *w, const wft_resp *t, bool nondet, const char *msg)
{
    Temporal__Api__Workflowservice__V1__RespondWorkflowTaskFailedRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_WORKFLOW_TASK_FAILED_REQUEST__INIT;
    tc_appfail f;
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
    tc_rpc(w->c, "RespondWorkflowTaskFailed", TC_RPC_MSG(rq),
           &WS(respond_workflow_task_failed_response__descriptor), &m, 0, 0, NULL, &e);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

static void respond_legacy_query(struct tc_worker *w, const wft_resp *t, const wf_reg *reg,
                                 tc_run *r)
{
    Temporal__Api__Workflowservice__V1__RespondQueryTaskCompletedRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_QUERY_TASK_COMPLETED_REQUEST__INIT;
    char *json = NULL, *errtext = NULL;
    tc_pl1 pl;
    bool ok = answer_query(reg, r, t->query, &json, &errtext);
    rq.task_token = t->task_token;
    rq.namespace_ = w->c->ns;
    if (ok && json) {
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
    free(json);
    free(errtext);
}

typedef Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedRequest__QueryResultsEntry
    qr_entry;
typedef Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedResponse wtc_resp;

/* At most this many eager requests per workflow task, as sdk-core does: a wide fan-out would
 * otherwise reserve every executor for one run while the server grants only a few. */
#define TC_EAGER_PER_TASK 3

static bool activity_registered(const struct tc_worker *w, const char *type)
{
    for (size_t i = 0; i < w->n_acts; i++)
        if (type && strcmp(w->acts[i].type, type) == 0)
            return true;
    return false;
}

/* Eager activity dispatch: a ScheduleActivityTask for this worker's own task queue and a type
 * it runs asks the server to hand the activity task back in the completion response, which
 * saves the activity poll. The executor slot is reserved first (a request obliges us to run
 * what comes back); none is asked for once the worker stops. Returns the slots reserved. */
static int request_eager(struct tc_worker *w, Temporal__Api__Command__V1__Command **cmds, size_t n)
{
    int reserved = 0;
    if (!w->eager)
        return 0;
    for (size_t i = 0; i < n; i++) {
        Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *a =
            cmds[i]->schedule_activity_task_command_attributes;
        if (cmds[i]->command_type != TC_CT(SCHEDULE_ACTIVITY_TASK) || !a || !a->task_queue ||
            !a->task_queue->name || strcmp(a->task_queue->name, w->task_queue) != 0 ||
            !a->activity_type || !activity_registered(w, a->activity_type->name))
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
static int take_eager(struct tc_worker *w, wtc_resp *resp, int reserved)
{
    int used = 0;
    if (!resp)
        return 0;
    for (size_t i = 0; i < resp->n_activity_tasks; i++) {
        Temporal__Api__Workflowservice__V1__PollActivityTaskQueueResponse *t =
            resp->activity_tasks[i];
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
static int respond_completed(struct tc_worker *w, const wft_resp *t, const wf_reg *reg, tc_run *r,
                             const tc_exec *x, tc_error *err)
{
    Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_WORKFLOW_TASK_COMPLETED_REQUEST__INIT;
    Temporal__Api__Taskqueue__V1__StickyExecutionAttributes sa =
        TEMPORAL__API__TASKQUEUE__V1__STICKY_EXECUTION_ATTRIBUTES__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue stq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    tc_pb_duration s2s;
    int rc = TC_OK;
    size_t nq = t->n_queries;
    Temporal__Api__Command__V1__Command **cmds = calloc(x->n_cmds + 1, sizeof *cmds);
    qr_entry *qe = calloc(nq + 1, sizeof *qe);
    qr_entry **qep = calloc(nq + 1, sizeof *qep);
    Temporal__Api__Query__V1__WorkflowQueryResult *qr = calloc(nq + 1, sizeof *qr);
    tc_pl1 *qpl = calloc(nq + 1, sizeof *qpl);
    char **qjson = calloc(nq + 1, sizeof *qjson);
    char **qerr = calloc(nq + 1, sizeof *qerr);
    if (!cmds || !qe || !qep || !qr || !qpl || !qjson || !qerr) {
        rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < x->n_cmds; i++) {
        cmds[i] =
            temporal__api__command__v1__command__unpack(NULL, x->cmds[i].len, x->cmds[i].data);
        if (!cmds[i]) {
            rc = tc_seterr(err, TC_ERR_NOMEM, "cannot rebuild command");
            goto out;
        }
    }
    for (size_t i = 0; i < nq; i++) {
        temporal__api__workflowservice__v1__respond_workflow_task_completed_request__query_results_entry__init(
            &qe[i]);
        temporal__api__query__v1__workflow_query_result__init(&qr[i]);
        bool ok = answer_query(reg, r, t->queries[i]->value, &qjson[i], &qerr[i]);
        if (ok && qjson[i]) {
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
    rq.n_commands = x->n_cmds;
    rq.commands = cmds;
    rq.identity = w->identity;
    rq.namespace_ = w->c->ns;
    rq.n_query_results = nq;
    rq.query_results = qep;
    if (w->sticky_queue) {
        stq.name = w->sticky_queue;
        stq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_STICKY;
        stq.normal_name = w->task_queue;
        tc_duration_ms(&s2s, w->sticky_s2s_ms);
        sa.worker_task_queue = &stq;
        sa.schedule_to_start_timeout = &s2s;
        rq.sticky_attributes = &sa;
    }
    int reserved = request_eager(w, cmds, x->n_cmds);
    ProtobufCMessage *m = NULL;
    rc = tc_rpc(w->c, "RespondWorkflowTaskCompleted", TC_RPC_MSG(rq),
                &WS(respond_workflow_task_completed_response__descriptor), &m, 0, 0, NULL, err);
    reserved -= take_eager(w, rc == TC_OK ? (wtc_resp *)m : NULL, reserved);
    tc_act_release(w, reserved); /* slots asked for but not granted */
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
out:
    if (cmds)
        for (size_t i = 0; i < x->n_cmds; i++)
            if (cmds[i])
                temporal__api__command__v1__command__free_unpacked(cmds[i], NULL);
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

static void handle_task(struct tc_worker *w, const wft_resp *t)
{
    tc_error err = {0};
    const char *type = t->workflow_type ? t->workflow_type->name : NULL;
    const wf_reg *reg = find_wf(w, type);
    bool legacy_query = t->query != NULL;
    if (!t->workflow_execution) {
        return;
    }
    if (!reg) {
        char msg[256];
        snprintf(msg, sizeof msg, "workflow type %s is not registered on this worker",
                 type ? type : "(none)");
        if (!legacy_query && t->attempt <= 1)
            respond_failed(w, t, false, msg);
        return;
    }
    tc_run *r = load_run(w, t, &err);
    if (!r) {
        if (!legacy_query && t->attempt <= 1)
            respond_failed(w, t, false, err.text);
        return;
    }
    tc_exec x;
    void *state = run_state(r, reg);
    if (reg->state_size && !state) {
        if (!legacy_query && t->attempt <= 1)
            respond_failed(w, t, false, "out of memory for workflow state");
        tc_run_free(r);
        return;
    }
    tc_run_execute(r, reg->fn, state, reg->state_size, reg->user, &x);
    if (legacy_query) {
        respond_legacy_query(w, t, reg, r);
        tc_cache_put(w, r); /* unchanged by a query; keep it if it was ours */
        tc_exec_clear(&x);
        return;
    }
    atomic_fetch_add(&w->st_wft, 1);
    if (x.nondeterministic || x.task_failure) {
        if (x.nondeterministic)
            atomic_fetch_add(&w->st_nondet, 1);
        /* Report only the first attempt: later attempts would fail the same way, and letting
         * them time out avoids a hot retry loop (as the official SDKs do). */
        if (t->attempt <= 1)
            respond_failed(w, t, x.nondeterministic, x.fail_text);
        tc_run_free(r);
        tc_exec_clear(&x);
        return;
    }
    int rc = respond_completed(w, t, reg, r, &x, &err);
    tc_exec_clear(&x);
    /* On any error (stale token, UnhandledCommand because new events arrived) the cached state
     * may be ahead of what the server accepted: drop it, the next task rebuilds it. */
    if (rc == TC_OK && !r->closed && w->sticky_queue)
        tc_cache_put(w, r);
    else
        tc_run_free(r);
}

void tc_wft_poll_once(struct tc_worker *w, poller *p)
{
    Temporal__Api__Workflowservice__V1__PollWorkflowTaskQueueRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__POLL_WORKFLOW_TASK_QUEUE_REQUEST__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    if (p->kind == 1) {
        tq.name = w->sticky_queue;
        tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_STICKY;
        tq.normal_name = w->task_queue;
    } else {
        tq.name = w->task_queue;
        tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    }
    rq.namespace_ = w->c->ns;
    rq.task_queue = &tq;
    rq.identity = w->identity;
    ProtobufCMessage *m = NULL;
    tc_error err = {0};
    tc_worker_note_poll(w);
    int rc = tc_rpc(w->c, "PollWorkflowTaskQueue", TC_RPC_MSG(rq),
                    &WS(poll_workflow_task_queue_response__descriptor), &m, TC_POLL_TIMEOUT_MS,
                    TC_RPC_NO_RETRY, &p->cancel, &err);
    if (rc != TC_OK) {
        if (rc != TC_ERR_TIMEOUT && rc != TC_ERR_CANCELLED && !atomic_load(&w->stop)) {
            fprintf(stderr, "temporal-c: workflow poll: %s\n", err.text);
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
        }
        return;
    }
    wft_resp *t = (void *)m;
    if (t->task_token.len) /* an expired long poll is an empty response: poll again */
        handle_task(w, t);
    protobuf_c_message_free_unpacked(m, NULL);
}
