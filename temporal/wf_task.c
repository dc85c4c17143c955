/* wf_task.c - one workflow task: the run it needs (the cached live run continued by the task's
 * events, or a fresh one replayed from full history), its events applied, and the answer
 * (commands and query results, a task failure under the worker's policy, or a query answer). */
#include "cmd_families.h"
#include "local_activity.h"
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS(name) temporal__api__workflowservice__v1__##name

/* The events of a task: the poll response's (borrowed) and those of the pages that follow. */
typedef struct task_events {
    tc_history pages; /* owns the page messages */
    tc_pb_event **evs;
    size_t n, cap;
} task_events;

static int push_events(task_events *te, tc_pb_event **evs, size_t n, tc_error *err)
{
    if (n == 0)
        return TC_OK;
    if (te->n + n > te->cap) {
        size_t nc = te->cap ? te->cap : 64;
        while (nc < te->n + n)
            nc *= 2;
        tc_pb_event **p = realloc(te->evs, nc * sizeof *p);
        if (!p)
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        te->evs = p;
        te->cap = nc;
    }
    memcpy(te->evs + te->n, evs, n * sizeof *evs);
    te->n += n;
    return TC_OK;
}

static void task_events_clear(task_events *te)
{
    tc_history_clear(&te->pages);
    if (te->cap) /* owned only when pages were followed */
        free(te->evs);
    memset(te, 0, sizeof *te);
}

/* The task's history: its first page and every next_page_token page after it. */
static int gather(tc_worker *w, const tc_wf_task *t, task_events *te, tc_error *err)
{
    ProtobufCBinaryData token = t->next_page_token;
    if (!token.len) {
        /* One page (nearly every task): its events are used where they are. */
        te->evs = t->history ? t->history->events : NULL;
        te->n = t->history ? t->history->n_events : 0;
        return TC_OK;
    }
    int rc = t->history ? push_events(te, t->history->events, t->history->n_events, err) : TC_OK;
    while (rc == TC_OK && token.len) {
        Temporal__Api__Workflowservice__V1__GetWorkflowExecutionHistoryRequest rq =
            TEMPORAL__API__WORKFLOWSERVICE__V1__GET_WORKFLOW_EXECUTION_HISTORY_REQUEST__INIT;
        Temporal__Api__Common__V1__WorkflowExecution ex =
            TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;
        ex.workflow_id = t->workflow_execution->workflow_id;
        ex.run_id = t->workflow_execution->run_id;
        rq.namespace_ = w->c->ns;
        rq.execution = &ex;
        rq.next_page_token = token;
        ProtobufCMessage *m = NULL;
        atomic_fetch_add(&w->st_pages, 1);
        rc = tc_rpc(w->c, "GetWorkflowExecutionHistory", TC_RPC_MSG(rq),
                    &WS(get_workflow_execution_history_response__descriptor), &m, 0, 0, NULL, err);
        if (rc != TC_OK)
            break;
        Temporal__Api__Workflowservice__V1__GetWorkflowExecutionHistoryResponse *hr = (void *)m;
        tc_pb_event **evs = hr->history ? hr->history->events : NULL;
        size_t n = hr->history ? hr->history->n_events : 0;
        if ((rc = tc_history_add_page(&te->pages, m, evs, n, err)) == TC_OK)
            rc = push_events(te, evs, n, err);
        token = hr->next_page_token; /* the page stays alive in te->pages */
    }
    return rc;
}

static tc_run *fresh_run(tc_worker *w, const tc_wf_task *t, const wf_reg *reg, tc_error *err)
{
    tc_run_setup setup = {.fn = reg->fn,
                          .user = reg->user,
                          .state_size = reg->state_size,
                          .stack_size = w->stack_size,
                          .log = &w->log,
                          .updates = reg->updates,
                          .n_updates = reg->n_updates,
                          .metrics = w->metrics, /* tc_wf_metric */
                          .metric_labels = w->metric_labels};
    tc_run *r =
        tc_run_new(t->workflow_execution->workflow_id, t->workflow_execution->run_id, &setup);
    if (!r)
        tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    return r;
}

/* Builds a fresh run from full history (the task's when it starts at event 1, else fetched)
 * and applies it up to started (0: a query, completed tasks only). */
static tc_run *replay_full(tc_worker *w, const tc_wf_task *t, const wf_reg *reg, task_events *te,
                           int64_t started, tc_error *err)
{
    tc_history full = {0};
    tc_pb_event *const *evs = te->evs;
    size_t n = te->n;
    tc_run *r = fresh_run(w, t, reg, err);
    if (!r)
        return NULL;
    atomic_fetch_add(&w->st_miss, 1);
    if (tc_update_incoming(r, t->messages, t->n_messages, err) != TC_OK) {
        tc_run_fail(r, err->code, "%s", err->text);
        return r;
    }
    if (n == 0 || evs[0]->event_id != 1) {
        /* Partial history (a sticky task after eviction, a query): fetch from the start. */
        atomic_fetch_add(&w->st_refetch, 1);
        if (tc_fetch_history(w->c, r->workflow_id, r->run_id, &full, err) != TC_OK) {
            tc_run_fail(r, TC_ERR_TASK_FAILED, "fetching the history: %s", err->text);
            tc_history_clear(&full);
            return r;
        }
        evs = full.events;
        n = full.n;
    }
    tc_run_feed(r, evs, n, started, err);
    tc_history_clear(&full);
    return r;
}

static void handle_query_task(tc_worker *w, const tc_wf_task *t, const wf_reg *reg)
{
    tc_error err = {0};
    tc_run *cached = w->sticky_queue ? tc_cache_take(w, t->workflow_execution->run_id) : NULL;
    if (cached) {
        /* A live run answers from its state as of its last task. */
        tc_respond_legacy_query(w, t, reg, cached, NULL);
        tc_cache_put(w, cached);
        return;
    }
    task_events te = {0};
    tc_run *r = NULL;
    if (gather(w, t, &te, &err) == TC_OK)
        r = replay_full(w, t, reg, &te, 0, &err);
    tc_respond_legacy_query(w, t, reg, r && !r->fail_code ? r : NULL,
                            r && r->fail_code ? r->fail_text : err.text);
    tc_run_free(r);
    task_events_clear(&te);
}

/* Under TC_TASK_FAILURE_FAIL_WORKFLOW the task's answer is one FailWorkflowExecution. */
static uint8_t *fail_workflow_command(int code, const char *msg, size_t *len)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__FailWorkflowExecutionCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__FAIL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    tc_appfail f;
    a.failure = tc_appfail_init(
        &f, code == TC_ERR_NONDETERMINISM ? "NonDeterminismError" : "WorkflowTaskError", msg, true);
    cmd.command_type = TC_CT(FAIL_WORKFLOW_EXECUTION);
    cmd.attributes_case =
        TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_FAIL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
    cmd.fail_workflow_execution_command_attributes = &a;
    return tc_cmd_pack(&cmd, len);
}

static void task_failed(tc_worker *w, const tc_wf_task *t, const wf_reg *reg, int code,
                        const char *msg)
{
    const char *wid = t->workflow_execution->workflow_id, *rid = t->workflow_execution->run_id;
    if (code == TC_ERR_NONDETERMINISM)
        atomic_fetch_add(&w->st_nondet, 1);
    tc_wft_count_failed(w, t->workflow_type ? t->workflow_type->name : NULL, code);
    tc_task_failure_policy policy = reg && reg->policy_set ? reg->policy : w->policy;
    tc_logf(&w->log, TC_LOG_WARN, wid, rid, reg ? reg->type : NULL,
            "workflow task failed (attempt %d, %s): %s", t->attempt,
            policy == TC_TASK_FAILURE_FAIL_WORKFLOW ? "failing the workflow" : "retried", msg);
    if (policy == TC_TASK_FAILURE_FAIL_WORKFLOW && reg) {
        size_t len = 0;
        tc_error err;
        uint8_t *cmd = fail_workflow_command(code, msg, &len);
        if (cmd && tc_respond_completed(w, t, reg, NULL, NULL, 0, cmd, len, &err) == TC_OK) {
            free(cmd);
            return;
        }
        free(cmd);
    }
    /* Reported on the first attempt only, as the official SDKs do: the server then retries
     * the task on its own schedule (a later attempt that fails the same way is left to time
     * out instead of spinning), and a worker with fixed code picks it up. */
    if (t->attempt <= 1)
        tc_respond_failed(w, t, code, msg);
}

/* Handles one workflow task, which the server started no earlier than t0 (tc_now_us: its
 * timeout, which local activities answer before, runs from about then); returns the next task
 * of the run when the server handed it back with the answer (a local activity heartbeat), to
 * be handled on this thread too, and in *next_t0 when the answer that brought it was sent.
 * *carry is the run to continue (NULL: the cache's, or a replay) and receives the run the
 * returned task continues: the local activities still running belong to it, so it must reach
 * that task even without a sticky cache or on a stopping worker (rebuilt from history, it
 * would start them again from attempt 1). */
static tc_wf_task *run_task(tc_worker *w, const tc_wf_task *t, int64_t t0, int64_t *next_t0,
                            tc_run **carry)
{
    tc_error err = {0};
    const char *type = t->workflow_type ? t->workflow_type->name : NULL;
    const wf_reg *reg = tc_reg_workflow(w, type);
    tc_run *carried = *carry;
    *carry = NULL;
    if (!t->workflow_execution || !reg || t->query)
        tc_run_free(carried); /* a heartbeat's task is none of these: nothing to continue */
    if (!t->workflow_execution)
        return NULL;
    if (!reg) {
        char msg[256];
        snprintf(msg, sizeof msg, "workflow type %s is not registered on this worker",
                 type ? type : "(none)");
        if (t->query)
            tc_respond_legacy_query(w, t, NULL, NULL, msg);
        else
            task_failed(w, t, NULL, TC_ERR_TASK_FAILED, msg);
        return NULL;
    }
    if (t->query) {
        handle_query_task(w, t, reg);
        return NULL;
    }
    atomic_fetch_add(&w->st_wft, 1);
    task_events te = {0};
    tc_run *r = carried;
    int rc = gather(w, t, &te, &err);
    if (rc != TC_OK) {
        task_failed(w, t, reg, TC_ERR_TASK_FAILED, err.text);
        goto out;
    }
    if (!r && w->sticky_queue)
        r = tc_cache_take(w, t->workflow_execution->run_id);
    /* A gap (events we never saw), or the task we answered last is not the last one history
     * kept: the server drops a speculative task whose answer only rejected updates, and its
     * event ids come again with other events. */
    if (r && ((te.n && te.evs[0]->event_id > r->last_event_id + 1) ||
              t->previous_started_event_id != r->last_activation)) {
        tc_run_free(r);
        r = NULL;
    }
    if (r && tc_update_incoming(r, t->messages, t->n_messages, &err) != TC_OK)
        tc_run_fail(r, err.code, "%s", err.text);
    if (r && !r->fail_code) {
        if (r != carried)
            atomic_fetch_add(&w->st_hit, 1);
        rc = tc_run_feed(r, te.evs, te.n, t->started_event_id, &err);
        if (rc == TC_ERR_STATE) {
            /* The cached state is ahead of what the server accepted: replay from scratch. */
            tc_run_free(r);
            r = NULL;
        }
    }
    if (!r)
        r = replay_full(w, t, reg, &te, t->started_event_id, &err);
    if (!r) {
        task_failed(w, t, reg, TC_ERR_NOMEM, err.text);
        goto out;
    }
    tc_la_drive(w, r, t0); /* local activities run inside the task */
    if (r->fail_code) {
        task_failed(w, t, reg, r->fail_code, r->fail_text);
        goto out;
    }
    tc_cmd *const *cmds;
    size_t n = tc_run_new_commands(r, &cmds);
    rc = tc_respond_completed(w, t, reg, r, cmds, n, NULL, 0, &err);
    tc_wf_task *next = r->returned_task; /* a heartbeat's next task, handled here */
    r->returned_task = NULL;
    *next_t0 = r->returned_sent_us; /* not its arrival: the server's commit came in between */
    r->close_held = false;  /* a held closing command is made by the next task's activation */
    if (rc == TC_ERR_CODEC) /* a payload codec refused the answer: fail the task, visibly */
        task_failed(w, t, reg, TC_ERR_TASK_FAILED, err.text);
    else if (rc != TC_OK)
        /* NotFound: the run closed (terminated, timed out) or the task timed out meanwhile. */
        tc_logf(&w->log, rc == TC_ERR_NOT_FOUND ? TC_LOG_INFO : TC_LOG_WARN, r->workflow_id,
                r->run_id, r->workflow_type, "%s", err.text);
    else if (r->ended)
        tc_wft_count_closed(w, r->workflow_type, r->outcome);
    /* On any error (stale token, UnhandledCommand because new events arrived) the cached state
     * may be ahead of what the server accepted: drop it, the next task rebuilds it. A stopping
     * worker keeps nothing in its cache; the next tasks go to another worker. */
    if (rc == TC_OK && !r->closed && !r->ended && next) {
        *carry = r; /* the heartbeat's next task continues it, here */
        r = NULL;
    } else if (rc == TC_OK && !r->closed && !r->ended && w->sticky_queue &&
               !atomic_load(&w->stop)) {
        tc_cache_put(w, r);
        r = NULL;
    }
    tc_run_free(r);
    task_events_clear(&te);
    return next;
out:
    tc_run_free(r);
    task_events_clear(&te);
    return NULL;
}

/* run_task in the task's metrics scope. */
static tc_wf_task *handle_task(tc_worker *w, const tc_wf_task *t, int64_t t0, int64_t *next_t0,
                               tc_run **carry)
{
    tc_wft_scope sc;
    tc_wft_scope_begin(w, t->workflow_type ? t->workflow_type->name : NULL, &sc);
    tc_wf_task *next = run_task(w, t, t0, next_t0, carry);
    tc_wft_scope_end(w, &sc);
    return next;
}

void tc_wft_poll_once(tc_worker *w, poller *p)
{
    Temporal__Api__Workflowservice__V1__PollWorkflowTaskQueueRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__POLL_WORKFLOW_TASK_QUEUE_REQUEST__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    if (p->kind == POLL_WF_STICKY) {
        tq.name = w->sticky_queue;
        tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_STICKY;
        tq.normal_name = w->task_queue;
    } else {
        tq.name = w->task_queue;
        tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    }
    TC_POLL_REQUEST_FILL(rq, w, &tq);
    ProtobufCMessage *m = NULL;
    if (tc_worker_poll(w, p, "PollWorkflowTaskQueue", TC_RPC_MSG(rq),
                       &WS(poll_workflow_task_queue_response__descriptor), &m) != TC_OK)
        return;
    tc_wf_task *t = (void *)m;
    if (t->task_token.len) /* an expired long poll is an empty response: poll again */
        tc_wft_handle(w, t);
    protobuf_c_message_free_unpacked(m, NULL);
}

void tc_wft_handle(tc_worker *w, const tc_wf_task *t)
{
    int64_t t0 = 0;
    tc_run *carry = NULL;
    tc_wf_task *next = handle_task(w, t, tc_now_us(), &t0, &carry);
    while (next) { /* tasks handed back with a heartbeat's answer, with the run they continue */
        tc_wf_task *after = handle_task(w, next, t0, &t0, &carry);
        protobuf_c_message_free_unpacked(&next->base, NULL);
        next = after;
    }
}
