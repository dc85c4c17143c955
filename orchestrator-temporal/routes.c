/* routes.c - REST API of orchestrator-temporal: start OrderWorkflow runs, wait for their result,
 * report their state. HTTP in and out only: the saga itself lives in workflow.c. */
#include "ot.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int rc = key != NULL ? saga_id_from_key("order-", key, wid, cap) : ot_workflow_id_new(wid, cap);
    if (rc != 0) {
        count(c, "error");
        http_respond_problem(req, 500, HTTP_CODE_INTERNAL, "could not make a workflow id");
        return -1;
    }
    return 0;
}

/* Same key, different order (DESIGN: 422 IdempotencyKeyReused): the existing run's input, as
 * its getState query reports it, is compared field by field. Returns 1 when the run `wid` was
 * started with another order, 0 when it matches or cannot be told (query unanswered). */
static int input_differs(ot_routes_ctx *c, const char *wid, const saga_input_t *in)
{
    char *state = NULL;
    tc_error err;
    int differs = 0;
    if (tc_workflow_query(c->tc, wid, NULL, OT_QUERY_STATE, NULL, &state, &err) != TC_OK)
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
        /* A repeated POST attaches to the run of its key: the running one (USE_EXISTING) or the
         * closed one (REJECT_DUPLICATE refuses a second run; we read the first one's result). */
        .id_reuse_policy = TC_REUSE_REJECT_DUPLICATE,
        .id_conflict_policy = TC_CONFLICT_USE_EXISTING,
    };
    int rc = tc_workflow_start(c->tc, &o, run_id, sizeof run_id, &started, &err);
    free(input);
    if (rc == TC_ERR_ALREADY_STARTED) {
        run_id[0] = '\0'; /* closed earlier: its latest run holds the answer */
        started = false;
    } else if (rc != TC_OK) {
        count(c, "error");
        log_warn("could not start workflow %s: %s", wid, err.text);
        /* workflowId: the run a client (or a test) can look for before placing it again */
        http_respond_problem_ext(req, 503, HTTP_CODE_UNAVAILABLE,
                                 json_pack("{s:s}", OT_ID_FIELD, wid),
                                 "Temporal is unreachable; the order was not started, retry "
                                 "later (with the same Idempotency-Key)");
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

/* Adds getState's fields (step, phase, compensationStack, orderId, paymentId) to o. */
static void add_state(ot_routes_ctx *c, const char *wid, const char *run_id, json_t *o)
{
    char *state = NULL;
    tc_error err;
    int rc = tc_workflow_query(c->tc, wid, run_id, OT_QUERY_STATE, NULL, &state, &err);
    json_t *s = rc == TC_OK ? json_loads(state, 0, NULL) : NULL;
    free(state);
    if (!json_is_object(s)) {
        json_decref(s);
        json_object_set_new(o, "step", json_null());
        if (rc != TC_OK)
            log_warn("query %s of %s: %s", OT_QUERY_STATE, wid, err.text);
        json_object_set_new(
            o, "queryError",
            json_string(rc == TC_OK ? "unreadable state" : "state not available now"));
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v)
    {
        if (strcmp(k, "input") != 0)
            json_object_set(o, k, v);
    }
    json_decref(s);
}

static void h_get_order(http_req *req, void *ctx)
{
    ot_routes_ctx *c = ctx;
    const char *wid = http_req_param(req, "workflowId");
    if (wid == NULL || !saga_id_valid(wid)) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION,
                             "workflowId must be 1..127 characters of [A-Za-z0-9._:-]");
        return;
    }
    http_req_set_saga_id(req, wid);
    tc_description d;
    tc_error err;
    int rc = tc_workflow_describe(c->tc, wid, NULL, &d, &err);
    if (rc == TC_ERR_NOT_FOUND) {
        http_respond_problem(req, 404, HTTP_CODE_NOT_FOUND, "no order workflow %s", wid);
        return;
    }
    if (rc != TC_OK) {
        log_warn("describe %s: %s", wid, err.text);
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                             "Temporal is unreachable; retry later");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, OT_ID_FIELD, json_string(wid));
    json_object_set_new(o, "runId", json_string(d.run_id));
    json_object_set_new(o, "status", json_string(ot_status_name(d.status)));
    json_object_set_new(o, "temporalUiUrl", ui_url(c, wid));
    if (d.status == TC_WF_RUNNING) {
        json_object_set_new(o, "pendingActivities", json_integer(d.pending_activities));
        add_state(c, wid, d.run_id, o);
        json_object_set_new(o, "result", json_null());
    } else {
        tc_outcome out;
        rc = tc_workflow_result(c->tc, wid, d.run_id, OT_RESULT_PEEK_MS, &out, &err);
        json_t *res =
            rc == TC_OK ? json_loads(out.result_json ? out.result_json : "null", 0, NULL) : NULL;
        json_object_set_new(o, "step", json_null());
        json_object_set_new(o, "result", res ? res : json_null());
        if (rc == TC_ERR_WORKFLOW_FAILED && out.failure_message)
            json_object_set_new(o, "failure", json_string(out.failure_message));
        tc_outcome_clear(&out);
    }
    http_respond_json(req, 200, o);
}

int ot_routes_register(struct http_server *srv, ot_routes_ctx *ctx)
{
    int rc = http_route(srv, "POST", "/api/temporal/orders", h_post_order, ctx);
    if (rc == 0)
        rc = http_route(srv, "POST", "/api/temporal/orders/async", h_post_order_async, ctx);
    if (rc == 0)
        rc = http_route(srv, "GET", "/api/temporal/orders/{workflowId}", h_get_order, ctx);
    return rc;
}
