/* routes.c - HTTP in/out for orchestrator-pure: validates the order body, maps the
 * Idempotency-Key to a saga id, waits for the saga up to the sync timeout. No saga rules. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "cm_log.h"
#include "cm_redis.h"

#define SAGA_KEY_MAX 100 /* longest Idempotency-Key accepted (the saga id adds a prefix) */

static void respond_result(http_req *req, const saga_row_t *row)
{
    saga_error_t err = {0};
    snprintf(err.type, sizeof err.type, "%s", row->error_type);
    snprintf(err.message, sizeof err.message, "%s", row->error_message);
    char *s =
        saga_result_json("sagaId", row->saga_id, row->pos.status == MS_COMPLETED, &row->st, &err);
    if (s == NULL) {
        http_respond_problem(req, 500, HTTP_CODE_INTERNAL, "out of memory");
        return;
    }
    http_respond_raw(req, 200, "application/json", s, strlen(s));
    free(s);
}

/* JSON view of a saga for GET and for 202 answers. New reference. */
static json_t *saga_view(const saga_row_t *row)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "sagaId", row->saga_id, "status",
                          machine_status_name(row->pos.status), "step",
                          row->pos.step == SAGA_STEP_NONE ? "" : saga_step_activity(row->pos.step));
    if (o == NULL)
        return NULL;
    if (row->st.order_id > 0)
        json_object_set_new(o, "orderId", json_integer(row->st.order_id));
    if (row->st.payment_id > 0)
        json_object_set_new(o, "paymentId", json_integer(row->st.payment_id));
    if (row->error_type[0])
        json_object_set_new(o, "errorType", json_string(row->error_type));
    if (machine_is_terminal(row->pos.status)) {
        saga_error_t err = {0};
        snprintf(err.type, sizeof err.type, "%s", row->error_type);
        snprintf(err.message, sizeof err.message, "%s", row->error_message);
        char *s = saga_result_json("sagaId", row->saga_id, row->pos.status == MS_COMPLETED,
                                   &row->st, &err);
        json_t *r = s != NULL ? json_loads(s, 0, NULL) : NULL;
        free(s);
        if (r != NULL)
            json_object_set_new(o, "result", r);
    }
    return o;
}

/* The saga store failed: the reason goes to the log (with this request's id), the caller
 * learns only that it may retry. */
static void respond_store_error(http_req *req, int rc)
{
    log_warn("saga store: %s", cm_strerror(rc));
    http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                         "the saga store is unavailable; retry later");
}

static void respond_accepted(http_req *req, const saga_row_t *row)
{
    char loc[SAGA_ID_MAX + 32];
    snprintf(loc, sizeof loc, "/api/pure/orders/%s", row->saga_id);
    http_resp_header(req, "Location", loc);
    http_respond_json(req, 202, saga_view(row));
}

/* The saga id: "pure-<Idempotency-Key>" so a repeated POST attaches to the same saga, or
 * "pure-<32 random hex>". Returns 0, or answers 400 and returns -1. */
static int saga_id_for(http_req *req, char *out, size_t cap)
{
    /* The raw header: a key common's parser rejects must be refused, not silently dropped. */
    const char *key = http_req_header(req, "Idempotency-Key");
    if (key == NULL) {
        char tok[RDS_TOKEN_LEN];
        rds_random_token(tok);
        snprintf(out, cap, "pure-%s", tok);
        return 0;
    }
    snprintf(out, cap, "pure-%s", key);
    if (key[0] == '\0' || strlen(key) > SAGA_KEY_MAX || !saga_id_valid(out)) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION,
                             "Idempotency-Key must be 1..%d characters of [A-Za-z0-9._:-]",
                             SAGA_KEY_MAX);
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
        respond_store_error(req, rc);
}

static void get_order(http_req *req, void *vctx)
{
    routes_ctx_t *ctx = vctx;
    saga_row_t row;
    const char *id = http_req_param(req, "sagaId");
    if (!saga_id_valid(id)) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION,
                             "sagaId must be 1..127 characters of [A-Za-z0-9._:-]");
        return;
    }
    http_req_set_saga_id(req, id);
    int rc = orch_get(ctx->orch, id, &row);
    if (rc == CM_ERR_NOT_FOUND) {
        http_respond_problem(req, 404, HTTP_CODE_NOT_FOUND, "no saga %s", id);
        return;
    }
    if (rc != 0) {
        respond_store_error(req, rc);
        return;
    }
    http_respond_json(req, 200, saga_view(&row));
}

int routes_register(http_server *srv, routes_ctx_t *ctx)
{
    if (http_route(srv, "POST", "/api/pure/orders", post_order, ctx) != 0 ||
        http_route(srv, "POST", "/api/saga/order", post_order, ctx) != 0 ||
        http_route(srv, "GET", "/api/pure/orders/{sagaId}", get_order, ctx) != 0)
        return CM_ERR_INVALID;
    return 0;
}
