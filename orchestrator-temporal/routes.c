/* routes.c - REST API of orchestrator-temporal: start OrderWorkflow runs, wait for their result,
 * report their state. HTTP in and out only: the saga itself lives in workflow.c. */
#include "ot.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_http.h"
#include "cm_log.h"
#include "cm_metrics.h"

#define OT_RUN_ID_MAX     64
#define OT_RESULT_PEEK_MS 5000 /* GET waits this long for a closed run's result */

static void count(ot_routes_ctx *c, const char *outcome)
{
    char labels[96];
    snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome);
    metrics_counter_add(c->metrics, "orders_total",
                        "Order requests answered by outcome (success, failure, accepted, "
                        "invalid, error)",
                        labels, 1);
}

static json_t *ui_url(const ot_routes_ctx *c, const char *wid)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s/namespaces/%s/workflows/%s", c->cfg->ui_url,
             tc_client_namespace(c->tc), wid);
    return json_string(buf);
}

static void set_location(http_req *req, const char *wid)
{
    char loc[256];
    snprintf(loc, sizeof loc, "/api/temporal/orders/%s", wid);
    http_resp_header(req, "Location", loc);
}

/* 202: the run goes on; the client follows Location. */
static void respond_accepted(http_req *req, ot_routes_ctx *c, const char *wid)
{
    json_t *o = json_object();
    json_object_set_new(o, OT_ID_FIELD, json_string(wid));
    json_object_set_new(o, "temporalUiUrl", ui_url(c, wid));
    set_location(req, wid);
    count(c, "accepted");
    http_respond_json(req, 202, o);
}

/* The saga result of a run that ended CANCELED (a cancelled run has no result payload): the
 * contract's failure shape with the machine's own words for a cancel. */
static json_t *cancelled_result(const char *wid)
{
    saga_machine_t m;
    saga_actions_t a;
    saga_machine_init(&m, NULL);
    saga_machine_cancel(&m, &a); /* nothing in flight: compensates at once, error Cancelled */
    saga_result_t r = saga_machine_result(&m, &(saga_state_t){0});
    char *txt = saga_result_json(OT_ID_FIELD, wid, &r, 0);
    json_t *o = txt ? json_loads(txt, 0, NULL) : NULL;
    free(txt);
    return o ? o : json_null();
}

/* Answers with the run's outcome: its result for a completed run, a problem for a run that
 * closed without one, and 202 for a run that goes on - also when waiting for it failed
 * (Temporal unreachable or restarting): the run was started or found, so "retry later" would
 * be untrue and a client without a key would place a second order. */
static void respond_outcome(http_req *req, ot_routes_ctx *c, const char *wid, int rc,
                            tc_outcome *out, const tc_error *err)
{
    if (rc == TC_OK) {
        json_t *res = json_loads(out->result_json ? out->result_json : "null", 0, NULL);
        if (json_is_object(res)) {
            count(c, json_is_true(json_object_get(res, "success")) ? "success" : "failure");
            http_respond_json(req, 200, res);
            return;
        }
        json_decref(res);
        count(c, "error");
        http_respond_problem(req, 500, HTTP_CODE_INTERNAL,
                             "workflow %s completed with an unreadable result", wid);
        return;
    }
    if (rc == TC_ERR_TIMEOUT) {
        respond_accepted(req, c, wid);
        return;
    }
    if (rc == TC_ERR_WORKFLOW_FAILED && out->status == TC_WF_CANCELED) {
        /* cancelled before the pivot (its compensations ran): a normal end of a saga */
        count(c, "failure");
        http_respond_json(req, 200, cancelled_result(wid));
        return;
    }
    if (rc == TC_ERR_WORKFLOW_FAILED) {
        count(c, "error");
        http_respond_problem(
            req, 500, HTTP_CODE_INTERNAL, "workflow %s ended %s: %s%s%s", wid,
            ot_status_name(out->status), out->failure_type ? out->failure_type : "",
            out->failure_type ? ": " : "", out->failure_message ? out->failure_message : "");
        return;
    }
    if (rc == TC_ERR_NOT_FOUND) { /* the server lost the run: nothing goes on */
        count(c, "error");
        log_warn("waiting for workflow %s: %s", wid, err->text);
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                             "Temporal lost workflow %s; place the order again", wid);
        return;
    }
    log_warn("order %s: waiting for the result failed (%s); answering 202", wid, err->text);
    respond_accepted(req, c, wid);
}

/* The start call failed: the request may have reached Temporal before the link died (a run
 * was created, its answer lost), so "not started" could be untrue. The answer names the run
 * and the Idempotency-Key that maps to it - the client's, or for a keyless POST the run id's
 * uuid (saga_id_from_key("order-", uuid) is this run's id) - so a retry attaches to the run if
 * it exists and starts it if not, never a second order. */
static void respond_start_unknown(http_req *req, const char *wid)
{
    const char *key = http_req_idempotency_key(req);
    if (key == NULL)
        key = wid + strlen(OT_ID_PREFIX);
    http_respond_problem_ext(
        req, 503, HTTP_CODE_UNAVAILABLE,
        json_pack("{s:s, s:s}", OT_ID_FIELD, wid, "idempotencyKey", key),
        "Temporal is unreachable: whether order %s was started is not known; retry with "
        "Idempotency-Key %s",
        wid, key);
}

/* POST body -> validated input and the workflow id. Answers 400 itself and returns -1. */
static int read_request(http_req *req, ot_routes_ctx *c, saga_input_t *in, char *wid, size_t cap)
{
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    saga_error_t err;
    if (saga_input_parse(body, len, in, &err) != SAGA_OK) {
        count(c, "invalid");
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", err.message);
        return -1;
    }
    const char *raw_key = http_req_header(req, "Idempotency-Key");
    const char *key = http_req_idempotency_key(req);
    if (raw_key != NULL && key == NULL) {
        count(c, "invalid");
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", HTTP_IDEM_KEY_RULE);
        return -1;
    }
    int rc =
        key != NULL ? saga_id_from_key(OT_ID_PREFIX, key, wid, cap) : ot_workflow_id_new(wid, cap);
    if (rc != 0) {
        count(c, "error");
        http_respond_problem(req, 500, HTTP_CODE_INTERNAL, "could not make a workflow id");
        return -1;
    }
    return 0;
}

/* Same key, different order (DESIGN: 422 IdempotencyKeyReused): the existing run's input, as
 * its getState reports it (ot_saga_state: a local step held open does not make it wait), is
 * compared field by field. Returns 1 when the run `wid` was started with another order, 0 when
 * it matches or cannot be told (no state to be had). */
static int input_differs(ot_routes_ctx *c, const char *wid, const saga_input_t *in)
{
    char *state = NULL;
    const char *source;
    tc_error err;
    tc_workflow_info info;
    int differs = 0;
    int rc = tc_workflow_describe_info(c->tc, wid, NULL, &info, &err);
    if (rc == TC_OK)
        rc = ot_saga_state(c->tc, &info, wid, &state, &source, &err);
    tc_workflow_info_clear(&info);
    if (rc != TC_OK)
        return 0;
    json_t *o = json_loads(state, 0, NULL);
    char *input = json_is_object(json_object_get(o, "input"))
                      ? json_dumps(json_object_get(o, "input"), JSON_COMPACT)
                      : NULL;
    saga_input_t run_in;
    if (input != NULL && saga_input_parse(input, strlen(input), &run_in, NULL) == SAGA_OK)
        differs = !saga_input_equal(&run_in, in);
    free(input);
    json_decref(o);
    free(state);
    return differs;
}

/* A synchronous POST waiting for its run's result; listed in the ctx so a stop can end it. */
struct ot_waiter {
    tc_wait *w;
    struct ot_waiter *prev, *next;
};

void ot_routes_init(ot_routes_ctx *c)
{
    atomic_init(&c->stopping, 0);
    pthread_mutex_init(&c->mu, NULL);
    c->waiters = NULL;
}

void ot_routes_stop(ot_routes_ctx *c)
{
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->stopping, 1);
    for (struct ot_waiter *n = c->waiters; n != NULL; n = n->next)
        tc_wait_cancel(n->w);
    pthread_mutex_unlock(&c->mu);
}

void ot_routes_destroy(ot_routes_ctx *c)
{
    pthread_mutex_destroy(&c->mu);
}

/* Waits up to ORDER_SYNC_TIMEOUT_MS for the run's result in one long wait that ot_routes_stop
 * (SIGTERM) cancels: the answer becomes 202 and the run goes on in Temporal, so a stop never
 * waits out the sync timeout. Returns tc_workflow_result's code, TC_ERR_TIMEOUT when stopped. */
static int wait_result(ot_routes_ctx *c, const char *wid, const char *run_id, tc_outcome *out,
                       tc_error *err)
{
    struct ot_waiter self = {.w = tc_wait_new()};
    if (self.w == NULL) {
        memset(out, 0, sizeof *out);
        snprintf(err->text, sizeof err->text, "out of memory");
        err->code = TC_ERR_NOMEM;
        return TC_ERR_NOMEM;
    }
    pthread_mutex_lock(&c->mu);
    if (atomic_load(&c->stopping))
        tc_wait_cancel(self.w); /* stopped before this wait began */
    self.next = c->waiters;
    if (c->waiters != NULL)
        c->waiters->prev = &self;
    /* The node lives on this stack frame only while linked: it is unlinked below, under the
     * same mutex, before this function returns. */
    /* cppcheck-suppress autoVariables */
    c->waiters = &self;
    pthread_mutex_unlock(&c->mu);

    int rc =
        tc_workflow_result_wait(c->tc, wid, run_id, (int)c->cfg->sync_timeout_ms, self.w, out, err);

    pthread_mutex_lock(&c->mu);
    if (self.prev != NULL)
        self.prev->next = self.next;
    else
        c->waiters = self.next;
    if (self.next != NULL)
        self.next->prev = self.prev;
    bool stopped = atomic_load(&c->stopping);
    pthread_mutex_unlock(&c->mu);
    tc_wait_free(self.w);
    if (rc == TC_ERR_CANCELLED && stopped)
        rc = TC_ERR_TIMEOUT; /* answered as a run that outlived the wait: 202 */
    return rc;
}

static void post_order(http_req *req, ot_routes_ctx *c, int async)
{
    saga_input_t in;
    char wid[SAGA_ID_MAX];
    char run_id[OT_RUN_ID_MAX] = "";
    bool started = false;
    tc_error err;
    char *input = NULL;

    if (read_request(req, c, &in, wid, sizeof wid) != 0)
        return;
    http_req_set_saga_id(req, wid);
    input = saga_input_json(&in);
    if (input == NULL) {
        http_respond_problem(req, 500, HTTP_CODE_INTERNAL, "out of memory");
        return;
    }
    tc_start_options o = {
        .workflow_id = wid,
        .workflow_type = OT_WORKFLOW_TYPE,
        .task_queue = c->cfg->task_queue,
        .input_json = input,
        /* With local steps the worker answers a task held by a long step at 80 % of this (a
         * heartbeat), which is when a cancel or a signal reaches the run. */
        .task_timeout_ms = c->cfg->task_timeout_ms,
        /* A repeated POST attaches to the run of its key: the running one (USE_EXISTING) or the
         * closed one (REJECT_DUPLICATE refuses a second run; we read the first one's result). */
        .id_reuse_policy = TC_REUSE_REJECT_DUPLICATE,
        .id_conflict_policy = TC_CONFLICT_USE_EXISTING,
        /* The embedded worker runs the first workflow task from the start response when it has
         * a free slot: no poll, no matching (one round trip less per order). */
        .request_eager_start = c->cfg->eager_start,
    };
    int rc = tc_workflow_start(c->tc, &o, run_id, sizeof run_id, &started, &err);
    free(input);
    if (rc == TC_ERR_ALREADY_STARTED) {
        run_id[0] = '\0'; /* closed earlier: its latest run holds the answer */
        started = false;
    } else if (rc != TC_OK) {
        count(c, "error");
        log_warn("could not start workflow %s: %s", wid, err.text);
        respond_start_unknown(req, wid);
        return;
    }
    if (!started) {
        if (input_differs(c, wid, &in)) {
            count(c, "invalid");
            http_respond_problem(req, 422, HTTP_CODE_IDEM_REUSED,
                                 "Idempotency-Key was used for a different order (%s)", wid);
            return;
        }
        log_info("order %s: attached to the existing run", wid);
    } else {
        log_info("order %s: started run %s", wid, run_id);
    }
    if (async) {
        respond_accepted(req, c, wid);
        return;
    }
    tc_outcome out;
    rc = wait_result(c, wid, run_id[0] ? run_id : NULL, &out, &err);
    respond_outcome(req, c, wid, rc, &out, &err);
    tc_outcome_clear(&out);
}

static void h_post_order(http_req *req, void *ctx)
{
    post_order(req, ctx, 0);
}

static void h_post_order_async(http_req *req, void *ctx)
{
    post_order(req, ctx, 1);
}

/* RFC 3339 UTC text of Unix milliseconds (null for 0). */
static json_t *time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char buf[80];
    gmtime_r(&secs, &tm);
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(buf);
}

/* Adds getState's fields (step, phase, compensationStack, orderId, paymentId, cancel and stuck
 * flags) to o, and where they came from (stateSource: ot_saga_state). Returns the state object
 * (owned; NULL when no state could be had). */
static json_t *add_state(ot_routes_ctx *c, const tc_workflow_info *info, const char *wid, json_t *o)
{
    char *state = NULL;
    const char *source = NULL;
    tc_error err;
    int rc = ot_saga_state(c->tc, info, wid, &state, &source, &err);
    json_t *s = rc == TC_OK ? json_loads(state, 0, NULL) : NULL;
    free(state);
    if (!json_is_object(s)) {
        json_decref(s);
        json_object_set_new(o, "step", json_null());
        if (rc != TC_OK)
            log_warn("state of %s (%s): %s", wid, source, err.text);
        json_object_set_new(
            o, "queryError",
            json_string(rc == TC_OK ? "unreadable state" : "state not available now"));
        return NULL;
    }
    json_object_set_new(o, "stateSource", json_string(source));
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v)
    {
        if (strcmp(k, "input") == 0)
            continue;
        if (strcmp(k, "stepSince") == 0 && json_is_integer(v))
            json_object_set_new(o, k, time_json(json_integer_value(v)));
        else
            json_object_set(o, k, v);
    }
    return s;
}

/* The attempts of the running steps. Remote activities: DescribeWorkflowExecution's pending
 * activities (the workflow sees a retried activity only when it ends, the server sees every
 * attempt). Local activities run in this process: what the activities recorded here. The
 * current step's attempt and last error go to the top level too. */
static void add_attempts(const tc_workflow_info *info, const char *wid, json_t *o)
{
    json_t *acts = json_array();
    const char *cur = json_string_value(json_object_get(o, "step"));
    json_t *attempt = NULL, *last = NULL, *last_at = NULL;
    for (int i = 0; info->pending != NULL && i < info->pending_activities; i++) {
        const tc_pending_activity *p = &info->pending[i];
        json_t *a = json_object();
        char errbuf[600];
        json_t *e = json_null();
        if (p->last_failure_type != NULL) {
            snprintf(errbuf, sizeof errbuf, "%s: %s", p->last_failure_type,
                     p->last_failure_message ? p->last_failure_message : "");
            e = json_string(errbuf);
        }
        json_object_set_new(a, "activity", json_string(p->activity_type));
        json_object_set_new(a, "attempt", json_integer(p->attempt));
        json_object_set_new(a, "maximumAttempts", json_integer(p->maximum_attempts));
        json_object_set_new(a, "lastError", e);
        json_object_set_new(a, "lastFailureAt", time_json(p->last_attempt_complete_time_ms));
        json_object_set_new(a, "lastStartedAt", time_json(p->last_started_time_ms));
        json_object_set_new(a, "nextAttemptAt", time_json(p->next_attempt_schedule_time_ms));
        if (cur != NULL && strcmp(cur, p->activity_type) == 0) {
            attempt = json_integer(p->attempt);
            last = json_incref(e);
            last_at = time_json(p->last_attempt_complete_time_ms);
        }
        json_array_append_new(acts, a);
    }
    ot_retry_info ri;
    saga_step_t step = cur ? saga_step_from_name(cur) : SAGA_STEP_NONE;
    if (attempt == NULL && step != SAGA_STEP_NONE && ot_live_retry_get(wid, step, &ri)) {
        /* a local activity retrying here: the next attempt is the one after the last failed */
        attempt = json_integer(ri.attempt + 1);
        last = json_string(ri.last_error);
        last_at = time_json(ri.last_failed_ms);
    }
    json_object_set_new(o, "attempt", attempt ? attempt : json_integer(cur ? 1 : 0));
    json_object_set_new(o, "lastError", last ? last : json_null());
    json_object_set_new(o, "lastFailureAt", last_at ? last_at : json_null());
    json_object_set_new(o, "pendingActivities", json_integer(info->pending_activities));
    json_object_set_new(o, "activities", acts);
}

/* The view GET, cancel and lists answer with. Fills *view (owned) and returns 0, or answers
 * the problem itself (404, 503) and returns -1. *running tells whether the run is open. */
static int order_view(http_req *req, ot_routes_ctx *c, const char *wid, json_t **view,
                      bool *running)
{
    tc_workflow_info info;
    tc_error err;
    int rc = tc_workflow_describe_info(c->tc, wid, NULL, &info, &err);
    if (rc == TC_ERR_NOT_FOUND) {
        http_respond_problem(req, 404, HTTP_CODE_NOT_FOUND, "no order workflow %s", wid);
        return -1;
    }
    if (rc != TC_OK) {
        log_warn("describe %s: %s", wid, err.text);
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                             "Temporal is unreachable; retry later");
        return -1;
    }
    json_t *o = json_object();
    json_object_set_new(o, OT_ID_FIELD, json_string(wid));
    json_object_set_new(o, "runId", json_string(info.run_id));
    json_object_set_new(o, "status", json_string(ot_status_name(info.status)));
    json_object_set_new(o, "temporalUiUrl", ui_url(c, wid));
    *running = info.status == TC_WF_RUNNING;
    if (*running) {
        json_decref(add_state(c, &info, wid, o));
        add_attempts(&info, wid, o);
        json_object_set_new(o, "result", json_null());
    } else if (info.status == TC_WF_CANCELED) {
        json_object_set_new(o, "step", json_null());
        json_object_set_new(o, "result", cancelled_result(wid));
    } else {
        tc_outcome out;
        rc = tc_workflow_result(c->tc, wid, info.run_id, OT_RESULT_PEEK_MS, &out, &err);
        json_t *res =
            rc == TC_OK ? json_loads(out.result_json ? out.result_json : "null", 0, NULL) : NULL;
        json_object_set_new(o, "step", json_null());
        json_object_set_new(o, "result", res ? res : json_null());
        if (rc == TC_ERR_WORKFLOW_FAILED && out.failure_message)
            json_object_set_new(o, "failure", json_string(out.failure_message));
        tc_outcome_clear(&out);
    }
    tc_workflow_info_clear(&info);
    *view = o;
    return 0;
}

/* The {workflowId} path parameter, or NULL after answering 400. */
static const char *path_wid(http_req *req)
{
    const char *wid = http_req_param(req, "workflowId");
    if (wid == NULL || !saga_id_valid(wid)) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION,
                             "workflowId must be 1..127 characters of [A-Za-z0-9._:-]");
        return NULL;
    }
    http_req_set_saga_id(req, wid);
    return wid;
}

static void h_get_order(http_req *req, void *ctx)
{
    ot_routes_ctx *c = ctx;
    const char *wid = path_wid(req);
    json_t *o;
    bool running;
    if (wid != NULL && order_view(req, c, wid, &o, &running) == 0)
        http_respond_json(req, 200, o);
}

/* ---- cancel ----------------------------------------------------------------------------- */

#define OT_CANCEL_REASON_MAX 256
/* How long a cancel waits for the workflow to take it: at once with remote activities; with
 * local ones at the workflow task's next heartbeat (80 % of the 10 s task timeout) when a step
 * runs long. */
#define OT_CANCEL_SEEN_MS 10000

/* The optional body: empty, or a JSON object with an optional "reason" string. Writes the
 * reason (default) and returns 0, or answers 400 and returns -1. */
static int cancel_reason(http_req *req, char *reason, size_t cap)
{
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    snprintf(reason, cap, "cancelled through the orchestrator's API");
    if (body == NULL || len == 0)
        return 0;
    json_error_t jerr;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *r = json_object_get(o, "reason");
    int rc = 0;
    if (!json_is_object(o)) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION,
                             "the cancel body must be empty or a JSON object: %s",
                             o == NULL ? jerr.text : "not an object");
        rc = -1;
    } else if (r != NULL && (!json_is_string(r) || json_string_length(r) == 0 ||
                             json_string_length(r) > OT_CANCEL_REASON_MAX)) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION,
                             "reason must be a string of 1..%d characters", OT_CANCEL_REASON_MAX);
        rc = -1;
    } else if (r != NULL) {
        snprintf(reason, cap, "%s", json_string_value(r));
    }
    json_decref(o);
    return rc;
}

/* 409: the saga can no longer be cancelled; the body carries its view. */
static void refuse_cancel(http_req *req, const char *wid, json_t *view)
{
    char status[32], phase[32];
    const char *st = json_string_value(json_object_get(view, "status"));
    const char *ph = json_string_value(json_object_get(view, "phase"));
    snprintf(status, sizeof status, "%s", st ? st : "UNKNOWN");
    snprintf(phase, sizeof phase, "%s", ph ? ph : "RUNNING");
    bool running = strcmp(status, "RUNNING") == 0;
    log_info("cancel of %s refused: %s %s", wid, status, phase);
    json_t *extra = json_object(); /* the view nested: its status is not the problem's */
    json_object_set_new(extra, "order", view);
    http_respond_problem_ext(
        req, 409, SAGA_CODE_ILLEGAL_TRANSITION, extra, "order workflow %s %s%s%s", wid,
        running ? "is " : "has ended ", running ? phase : status,
        running ? " and can no longer be cancelled (past the pivot, or compensating a failure)"
                : " and can no longer be cancelled");
}

static bool view_flag(json_t *view, const char *k)
{
    return json_is_true(json_object_get(view, k));
}

/* POST /api/temporal/orders/{workflowId}/cancel: RequestCancelWorkflowExecution - what
 * `temporal workflow cancel` and the UI's Cancel button send - when the saga can still be
 * cancelled (before the pivot, or already cancelling), then waits briefly until the workflow has
 * taken it at its place in history, so the answer says what happened: 202 with the saga's view
 * (cancelRequested), or 409 when the run passed the pivot or ended meanwhile. */
static void h_cancel_order(http_req *req, void *ctx)
{
    ot_routes_ctx *c = ctx;
    char reason[OT_CANCEL_REASON_MAX + 1];
    const char *wid = path_wid(req);
    json_t *view = NULL;
    bool running = false;
    tc_error err;
    if (wid == NULL)
        return;
    if (http_req_header(req, "Idempotency-Key") != NULL && http_req_idempotency_key(req) == NULL) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", HTTP_IDEM_KEY_RULE);
        return; /* a cancel is idempotent anyway; a malformed key is still bad input */
    }
    if (cancel_reason(req, reason, sizeof reason) != 0 ||
        order_view(req, c, wid, &view, &running) != 0)
        return;
    if (!running || !view_flag(view, "cancellable")) {
        /* ended, past the pivot, compensating a failure - or an unanswered query while it runs:
         * then the request is sent anyway (the workflow decides), see below */
        if (!running || json_object_get(view, "queryError") == NULL) {
            refuse_cancel(req, wid, view);
            return;
        }
    }
    if (view_flag(view, "cancelRequested")) { /* a repeated cancel: already being cancelled */
        http_respond_json(req, 202, view);
        return;
    }
    const char *run_id = json_string_value(json_object_get(view, "runId"));
    int rc = tc_workflow_cancel(c->tc, wid, run_id, reason, &err);
    if (rc != TC_OK && rc != TC_ERR_NOT_FOUND) {
        json_decref(view);
        log_warn("cancel %s: %s", wid, err.text);
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                             "Temporal is unreachable; the cancel was not sent, retry later");
        return;
    }
    /* rc NOT_FOUND: the run closed between describe and cancel - its real end is the answer */
    for (int waited = 0;; waited += 50) {
        json_decref(view);
        view = NULL;
        if (order_view(req, c, wid, &view, &running) != 0)
            return;
        if (!running) {
            const char *st = json_string_value(json_object_get(view, "status"));
            if (st != NULL && strcmp(st, "CANCELED") == 0)
                break; /* taken, and the compensations already ran */
            refuse_cancel(req, wid, view);
            return;
        }
        if (view_flag(view, "cancelIgnored")) {
            refuse_cancel(req, wid, view); /* the pivot came first in history */
            return;
        }
        if (view_flag(view, "cancelRequested") || waited >= OT_CANCEL_SEEN_MS)
            break; /* taken - or no worker took it yet: the request is recorded, it will */
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    log_info("cancel of %s requested: %s", wid, reason);
    http_respond_json(req, 202, view);
}

/* ---- lists ------------------------------------------------------------------------------- */

/* GET /api/temporal/orders?stuck=true&limit=N: the runs whose workflow flagged a step stuck
 * (SagaStuck, upserted when a step has not ended SAGA_STUCK_AFTER_MS after it started), through
 * a visibility query; stuck=false or absent: every running OrderWorkflow of the task queue.
 * Visibility is eventually consistent: a flag shows a moment after the workflow set it. */
static void h_list_orders(http_req *req, void *ctx)
{
    ot_routes_ctx *c = ctx;
    const char *stuck = NULL;
    int64_t limit = 0;
    if (http_req_query_str(req, "stuck", false, 8, &stuck) != 0 ||
        http_req_query_int(req, "limit", false, 100, 1, 1000, &limit) != 0)
        return;
    if (stuck != NULL && strcmp(stuck, "true") != 0 && strcmp(stuck, "false") != 0) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "stuck must be true or false");
        return;
    }
    bool only_stuck = stuck != NULL && strcmp(stuck, "true") == 0;
    char q[512];
    snprintf(q, sizeof q,
             "WorkflowType = '%s' AND TaskQueue = '%s' AND ExecutionStatus = 'Running'%s",
             OT_WORKFLOW_TYPE, c->cfg->task_queue, only_stuck ? " AND SagaStuck = true" : "");
    tc_workflow_page pg;
    tc_error err;
    if (tc_workflow_list(c->tc, q, (int)limit, NULL, 0, &pg, &err) != TC_OK) {
        log_warn("list %s: %s", q, err.text);
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                             "Temporal is unreachable; retry later");
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < pg.n && (int64_t)i < limit; i++) {
        const tc_workflow_info *w = &pg.items[i];
        json_t *sa =
            json_loads(w->search_attributes_json ? w->search_attributes_json : "{}", 0, NULL);
        json_t *it = json_object();
        json_object_set_new(it, OT_ID_FIELD, json_string(w->workflow_id));
        json_object_set_new(it, "runId", json_string(w->run_id));
        json_object_set_new(it, "startedAt", time_json(w->start_time_ms));
        json_object_set_new(it, "stuck",
                            json_boolean(json_is_true(json_object_get(sa, "SagaStuck"))));
        json_t *step = json_object_get(sa, "SagaStep");
        json_object_set_new(it, "step", json_is_string(step) ? json_incref(step) : json_null());
        json_object_set_new(it, "temporalUiUrl", ui_url(c, w->workflow_id));
        json_array_append_new(items, it);
        json_decref(sa);
    }
    tc_workflow_page_clear(&pg);
    json_t *o = json_object();
    json_object_set_new(o, "stuckAfterMs", json_integer(c->cfg->stuck_after_ms));
    json_object_set_new(o, "orders", items);
    http_respond_json(req, 200, o);
}

int ot_routes_register(struct http_server *srv, ot_routes_ctx *ctx)
{
    int rc = http_route(srv, "POST", "/api/temporal/orders", h_post_order, ctx);
    if (rc == 0)
        rc = http_route(srv, "POST", "/api/temporal/orders/async", h_post_order_async, ctx);
    if (rc == 0)
        rc = http_route(srv, "GET", "/api/temporal/orders/{workflowId}", h_get_order, ctx);
    if (rc == 0)
        rc = http_route(srv, "POST", "/api/temporal/orders/{workflowId}/cancel", h_cancel_order,
                        ctx);
    if (rc == 0)
        rc = http_route(srv, "GET", "/api/temporal/orders", h_list_orders, ctx);
    return rc;
}
