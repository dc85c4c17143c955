/* routes.c - HTTP in/out for orchestrator-pure: validates the order body, maps the
 * Idempotency-Key to a saga id, waits for the saga up to the sync timeout, reads and cancels
 * sagas. No saga rules. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "cm_log.h"
#include "cm_redis.h"

#define SAGA_ID_PREFIX "pure-" /* saga id of a keyless POST: prefix + a random token */

/* The saga's result JSON (saga_result_json, detailed); NULL on OOM. */
static char *result_of(const saga_row_t *row)
{
    saga_result_t r = saga_machine_result(&row->m, &row->st);
    return saga_result_json("sagaId", row->saga_id, &r, SAGA_RESULT_DETAILED);
}

static void respond_result(http_req *req, const saga_row_t *row)
{
    char *s = result_of(row);
    if (s == NULL) {
        http_respond_problem(req, 500, HTTP_CODE_INTERNAL, "out of memory");
        return;
    }
    http_respond_raw(req, 200, "application/json", s, strlen(s));
    free(s);
}

/* JSON view of a saga for GET, 202 and cancel answers. New reference. */
static json_t *saga_view(const saga_row_t *row)
{
    saga_step_t step = saga_machine_step(&row->m);
    json_t *o = json_pack("{s:s, s:s, s:s}", "sagaId", row->saga_id, "status",
                          saga_phase_status(row->m.phase), "step",
                          step == SAGA_STEP_NONE ? "" : saga_step_activity(step));
    if (o == NULL)
        return NULL;
    if (row->st.order_id > 0)
        json_object_set_new(o, "orderId", json_integer(row->st.order_id));
    if (row->st.payment_id > 0)
        json_object_set_new(o, "paymentId", json_integer(row->st.payment_id));
    if (row->m.error_type[0])
        json_object_set_new(o, "errorType", json_string(row->m.error_type));
    if (row->m.cancel_requested)
        json_object_set_new(o, "cancelRequested", json_true());
    if (saga_phase_terminal(row->m.phase)) {
        char *s = result_of(row);
        json_t *r = s != NULL ? json_loads(s, 0, NULL) : NULL;
        free(s);
        if (r != NULL)
            json_object_set_new(o, "result", r);
    }
    return o;
}

/* No saga `id` (404), or the saga store failed: then the reason goes to the log (with this
 * request's id) and the caller learns only that it may retry. */
static void respond_store_error(http_req *req, int rc, const char *id)
{
    if (rc == CM_ERR_NOT_FOUND) {
        http_respond_problem(req, 404, HTTP_CODE_NOT_FOUND, "no saga %s", id);
        return;
    }
    log_warn("saga store: %s", cm_strerror(rc));
    http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                         "the saga store is unavailable; retry later");
}

/* The saga store did not answer for the whole sync timeout: whether the saga was created is not
 * known, so the answer names it and the key that attaches to it (the client's, or the random
 * token of a keyless POST) - a retry with that key never places a second order. */
static void respond_unknown(http_req *req, int rc, const char *saga_id)
{
    const char *key = http_req_idempotency_key(req);
    if (key == NULL)
        key = saga_id + strlen(SAGA_ID_PREFIX);
    log_warn("saga store: %s", cm_strerror(rc));
    http_respond_problem_ext(
        req, 503, HTTP_CODE_UNAVAILABLE,
        json_pack("{s:s, s:s}", "sagaId", saga_id, "idempotencyKey", key),
        "the saga store is unavailable: whether order %s was created is not known; retry with "
        "Idempotency-Key %s",
        saga_id, key);
}

static void respond_accepted(http_req *req, const saga_row_t *row)
{
    char loc[SAGA_ID_MAX + 32];
    snprintf(loc, sizeof loc, "/api/pure/orders/%s", row->saga_id);
    http_resp_header(req, "Location", loc);
    http_respond_json(req, 202, saga_view(row));
}

/* The saga id: derived from the Idempotency-Key (saga_id_from_key: "pure-<key>", or a hash of
 * an awkward key) so a repeated POST attaches to the same saga, or "pure-<32 random hex>".
 * Returns 0, or answers 400 and returns -1. */
static int saga_id_for(http_req *req, char *out, size_t cap)
{
    /* The raw header: a key common's rule refuses must be refused, not silently dropped. */
    const char *raw = http_req_header(req, "Idempotency-Key");
    const char *key = http_req_idempotency_key(req);
    if (raw == NULL) {
        char tok[RDS_TOKEN_LEN];
        rds_random_token(tok);
        snprintf(out, cap, SAGA_ID_PREFIX "%s", tok);
        return 0;
    }
    if (key == NULL || saga_id_from_key(SAGA_ID_PREFIX, key, out, cap) != 0) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", HTTP_IDEM_KEY_RULE);
        return -1;
    }
    return 0;
}

static void post_order(http_req *req, void *vctx)
{
    routes_ctx_t *ctx = vctx;
    saga_input_t in;
    saga_error_t err;
    saga_row_t row;
    char saga_id[SAGA_ID_MAX];
    size_t len = 0;
    const char *body = http_req_body(req, &len);

    if (saga_input_parse(body, len, &in, &err) != 0) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", err.message);
        return;
    }
    if (saga_id_for(req, saga_id, sizeof saga_id) != 0)
        return;
    http_req_set_saga_id(req, saga_id);
    int rc = orch_submit_wait(ctx->orch, saga_id, &in, ctx->sync_timeout_ms, &row);
    if (rc == CM_ERR_CONFLICT) {
        http_respond_problem(req, 422, HTTP_CODE_IDEM_REUSED,
                             "Idempotency-Key was already used for a different order");
        return;
    }
    if (rc == CM_ERR_BUSY) {
        http_resp_header(req, "Retry-After", "1");
        http_respond_problem(req, 429, HTTP_CODE_BUSY, "too many sagas waiting; retry later");
        return;
    }
    if (rc == 0)
        respond_result(req, &row);
    else if (rc == CM_ERR_TIMEOUT)
        respond_accepted(req, &row);
    else
        respond_unknown(req, rc, saga_id);
}

/* The {sagaId} of the path, or answers 400 and returns NULL. */
static const char *path_saga_id(http_req *req)
{
    const char *id = http_req_param(req, "sagaId");
    if (!saga_id_valid(id)) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", SAGA_ID_RULE);
        return NULL;
    }
    http_req_set_saga_id(req, id);
    return id;
}

static void get_order(http_req *req, void *vctx)
{
    routes_ctx_t *ctx = vctx;
    saga_row_t row;
    const char *id = path_saga_id(req);
    if (id == NULL)
        return;
    int rc = orch_get(ctx->orch, id, &row);
    if (rc != 0)
        respond_store_error(req, rc, id);
    else
        http_respond_json(req, 200, saga_view(&row));
}

/* POST /api/pure/orders/{sagaId}/cancel: 202 and the saga's view when the cancel takes effect
 * (before the pivot; its registered compensations run and it ends COMPENSATED "Cancelled"),
 * 409 IllegalTransition once past the pivot, compensating a failure, or ended. */
static void cancel_order(http_req *req, void *vctx)
{
    routes_ctx_t *ctx = vctx;
    saga_row_t row;
    const char *id = path_saga_id(req);
    if (id == NULL)
        return;
    if (http_req_header(req, "Idempotency-Key") != NULL && http_req_idempotency_key(req) == NULL) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", HTTP_IDEM_KEY_RULE);
        return;
    }
    int rc = orch_cancel(ctx->orch, id, &row);
    if (rc == 0) {
        http_respond_json(req, 202, saga_view(&row));
    } else if (rc == CM_ERR_CONFLICT) {
        http_respond_problem_ext(
            req, 409, SAGA_CODE_ILLEGAL_TRANSITION, saga_view(&row),
            "saga %s is %s%s and can no longer be cancelled", id, saga_phase_status(row.m.phase),
            row.m.phase == SAGA_PHASE_CONFIRMING ? " past its pivot (the payment is approved)"
                                                 : "");
    } else {
        respond_store_error(req, rc, id);
    }
}

int routes_register(http_server *srv, routes_ctx_t *ctx)
{
    if (http_route(srv, "POST", "/api/pure/orders", post_order, ctx) != 0 ||
        http_route(srv, "POST", "/api/saga/order", post_order, ctx) != 0 ||
        http_route(srv, "GET", "/api/pure/orders/{sagaId}", get_order, ctx) != 0 ||
        http_route(srv, "POST", "/api/pure/orders/{sagaId}/cancel", cancel_order, ctx) != 0)
        return CM_ERR_INVALID;
    return 0;
}
