/* routes.c - HTTP in/out for orders: parse and validate, call the repository, map verdicts
 * and errors to status codes (docs/development.md "Error codes"). No SQL and no rules here. */
#include "routes.h"

#include <stdio.h>

#include "cm_error.h"
#include "cm_idem.h"
#include "cm_log.h"
#include "order.h"
#include "repo.h"

static json_t *order_json(const order_t *o)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:I}", "orderId", (json_int_t)o->id,
                     "customerId", (json_int_t)o->customer_id, "productId",
                     (json_int_t)o->product_id, "quantity", (json_int_t)o->quantity, "amount",
                     (json_int_t)o->amount, "status", order_status_name(o->status), "sagaId",
                     o->saga_id, "version", (json_int_t)o->version);
}

static void respond_order(http_req *req, int status, const order_t *o)
{
    char loc[64];
    snprintf(loc, sizeof loc, "/api/orders/%lld", (long long)o->id);
    http_resp_header(req, "Location", loc);
    http_respond_json(req, status, order_json(o));
}

/* POST /api/orders: T1. A repeated sagaId answers the existing order with 200. */
static void h_create(http_req *req, void *vctx)
{
    order_routes_t *ctx = vctx;
    json_t *body = NULL;
    order_t in, out;
    bool created = false;
    char err[ORDER_ERR_MAX];
    if (idem_begin(req, ctx->rds, ctx->service) != IDEM_PROCEED)
        return;
    if (http_req_json(req, order_create_fields, 0, &body) != 0)
        return;
    int rc = order_from_json(body, &in, err, sizeof err);
    json_decref(body);
    if (rc != 0) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", err);
        return;
    }
    http_req_set_saga_id(req, in.saga_id);
    rc = order_repo_create(ctx->db, &in, &out, &created);
    if (rc != 0) {
        http_respond_repo_error(req, rc, "order");
        return;
    }
    if (created) {
        log_info("order %lld created", (long long)out.id);
        if (ctx->relay)
            outbox_relay_wake(ctx->relay);
    }
    respond_order(req, created ? 201 : 200, &out);
}

/* GET /api/orders/{id} */
static void h_get(http_req *req, void *vctx)
{
    order_routes_t *ctx = vctx;
    int64_t id;
    order_t o;
    if (http_req_param_id(req, "id", &id) != 0)
        return;
    int rc = order_repo_get(ctx->db, id, &o);
    if (rc != 0) {
        http_respond_repo_error(req, rc, "order");
        return;
    }
    http_req_set_saga_id(req, o.saga_id);
    http_respond_json(req, 200, order_json(&o));
}

/* PATCH /api/orders/{id}/confirm and /cancel: T4 and C1. */
static void transition(http_req *req, order_routes_t *ctx, order_action_t act)
{
    int64_t id;
    order_t o;
    order_verdict_t verdict = ORDER_REFUSE;
    if (idem_begin(req, ctx->rds, ctx->service) != IDEM_PROCEED)
        return;
    if (http_req_param_id(req, "id", &id) != 0)
        return;
    int rc = order_repo_transition(ctx->db, id, act, &o, &verdict);
    if (rc != 0) {
        http_respond_repo_error(req, rc, "order");
        return;
    }
    http_req_set_saga_id(req, o.saga_id);
    if (verdict == ORDER_REFUSE) {
        http_respond_problem(
            req, 409, SAGA_CODE_ILLEGAL_TRANSITION, "order %lld is %s; cannot %s it", (long long)id,
            order_status_name(o.status), act == ORDER_ACT_CONFIRM ? "confirm" : "cancel");
        return;
    }
    if (verdict == ORDER_APPLY) {
        log_info("order %lld %s", (long long)id, order_status_name(o.status));
        if (ctx->relay)
            outbox_relay_wake(ctx->relay);
    }
    http_respond_json(req, 200, order_json(&o));
}

static void h_confirm(http_req *req, void *ctx)
{
    transition(req, ctx, ORDER_ACT_CONFIRM);
}

static void h_cancel(http_req *req, void *ctx)
{
    transition(req, ctx, ORDER_ACT_CANCEL);
}

int order_routes_register(http_server *srv, order_routes_t *ctx)
{
    int rc = 0;
    auth *au = ctx->auth;
    rc |= auth_route(au, srv, "POST", "/api/orders", AUTH_SERVICE, h_create, ctx);
    rc |= auth_route(au, srv, "GET", "/api/orders/{id}", AUTH_SERVICE | AUTH_ADMIN, h_get, ctx);
    rc |= auth_route(au, srv, "PATCH", "/api/orders/{id}/confirm", AUTH_SERVICE, h_confirm, ctx);
    rc |= auth_route(au, srv, "PATCH", "/api/orders/{id}/cancel", AUTH_SERVICE, h_cancel, ctx);
    return rc ? CM_ERR_INVALID : 0;
}
