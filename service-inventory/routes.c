/* routes.c - HTTP in/out for stock and reservations: validate, take the product's Redis lock,
 * call the repository, map verdicts to status codes. No SQL and no rules here. */
#include "routes.h"

#include <stdio.h>

#include "cm_error.h"
#include "cm_idem.h"
#include "cm_log.h"
#include "inventory.h"
#include "repo.h"

static json_t *stock_json(const inv_stock_t *s)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "productId", (json_int_t)s->product_id,
                     "available", (json_int_t)s->available, "reserved", (json_int_t)s->reserved,
                     "confirmed", (json_int_t)s->confirmed, "version", (json_int_t)s->version);
}

/* The product lock only spreads contention out; when Redis is slow or down the operation
 * runs anyway and MySQL's conditional updates keep it correct. Returns 1 if held. */
static int lock_product(inv_routes_t *ctx, int64_t product_id, char *key, size_t keyn,
                        char token[RDS_TOKEN_LEN])
{
    snprintf(key, keyn, "lock:inventory:%lld", (long long)product_id);
    int rc = rds_lock_acquire(ctx->rds, key, INV_LOCK_LEASE_MS, ctx->lock_wait_ms, token);
    if (rc != 0)
        log_warn("%s not taken (%s); relying on MySQL alone", key, cm_strerror(rc));
    return rc == 0;
}

static void unlock_product(inv_routes_t *ctx, int held, const char *key, const char *token)
{
    if (held && rds_lock_release(ctx->rds, key, token) != 0)
        log_warn("%s expired before release", key);
}

/* GET /api/inventory/{productId} */
static void h_get(http_req *req, void *vctx)
{
    inv_routes_t *ctx = vctx;
    int64_t pid;
    inv_stock_t s;
    if (http_req_param_id(req, "productId", &pid) != 0)
        return;
    int rc = inv_repo_get(ctx->db, pid, &s);
    if (rc != 0)
        http_respond_repo_error(req, rc, "product");
    else
        http_respond_json(req, 200, stock_json(&s));
}

/* PUT /api/inventory/{productId} {"available": N}: creates the product or sets its stock. */
static void h_put(http_req *req, void *vctx)
{
    inv_routes_t *ctx = vctx;
    int64_t pid;
    json_t *body = NULL;
    inv_stock_t s;
    char key[64], token[RDS_TOKEN_LEN];
    if (idem_begin(req, ctx->rds, ctx->service) != IDEM_PROCEED)
        return;
    if (http_req_param_id(req, "productId", &pid) != 0 ||
        http_req_json(req, inv_set_stock_fields, 0, &body) != 0)
        return;
    int64_t available = json_get_int(body, "available", 0);
    json_decref(body);
    int held = lock_product(ctx, pid, key, sizeof key, token);
    int rc = inv_repo_set(ctx->db, pid, available, &s);
    unlock_product(ctx, held, key, token);
    if (rc != 0) {
        http_respond_repo_error(req, rc, "product");
        return;
    }
    if (ctx->relay)
        outbox_relay_wake(ctx->relay);
    http_respond_json(req, 200, stock_json(&s));
}

static json_t *result_json(const inv_reservation_t *r, const inv_stock_t *s)
{
    json_t *o = stock_json(s);
    if (o) {
        json_object_set_new(o, "productId", json_integer(r->product_id));
        json_object_set_new(o, "sagaId", json_string(r->saga_id));
        json_object_set_new(o, "quantity", json_integer(r->quantity));
        json_object_set_new(o, "status", json_string(inv_res_status_name(r->status)));
    }
    return o;
}

/* Maps a verdict to the answer. */
static void respond_verdict(http_req *req, inv_action_t act, inv_verdict_t v,
                            const inv_reservation_t *r, const inv_stock_t *s, int64_t qty)
{
    static const char *const verbs[] = {"reserve", "confirm", "cancel"};
    switch (v) {
    case INV_APPLY:
    case INV_TOMBSTONE:
    case INV_NOOP: http_respond_json(req, 200, result_json(r, s)); return;
    case INV_REFUSE_CANCELLED:
        http_respond_problem(req, 409, SAGA_CODE_RESERVATION_CANCELLED,
                             "saga %s already cancelled its reservation of product %lld",
                             r->saga_id, (long long)r->product_id);
        return;
    case INV_REFUSE_ILLEGAL:
        http_respond_problem(
            req, 409, SAGA_CODE_ILLEGAL_TRANSITION,
            "reservation of saga %s is %s (quantity %lld); cannot %s quantity %lld", r->saga_id,
            inv_res_status_name(r->status), (long long)r->quantity, verbs[act], (long long)qty);
        return;
    case INV_REFUSE_NOT_FOUND:
        http_respond_problem(req, 404, HTTP_CODE_NOT_FOUND,
                             "no reservation of product %lld for saga %s", (long long)r->product_id,
                             r->saga_id);
        return;
    case INV_REFUSE_NO_PRODUCT:
        http_respond_problem(req, 404, HTTP_CODE_NOT_FOUND, "product %lld not found",
                             (long long)r->product_id);
        return;
    case INV_REFUSE_OUT_OF_STOCK:
        http_respond_problem_ext(req, 409, SAGA_CODE_OUT_OF_STOCK,
                                 json_pack("{s:I, s:I}", "available", (json_int_t)s->available,
                                           "requested", (json_int_t)qty),
                                 "product %lld has %lld available, %lld requested",
                                 (long long)r->product_id, (long long)s->available, (long long)qty);
        return;
    }
    http_respond_problem(req, 500, HTTP_CODE_INTERNAL, "unexpected verdict");
}

/* POST /api/inventory/{productId}/{reserve|confirm|cancel}?qty=&sagaId= : T2, T5, C2. */
static void reservation(http_req *req, inv_routes_t *ctx, inv_action_t act)
{
    int64_t pid, qty;
    const char *saga = NULL;
    inv_verdict_t verdict = INV_REFUSE_ILLEGAL;
    inv_reservation_t res;
    inv_stock_t stock;
    char key[64], token[RDS_TOKEN_LEN];
    if (idem_begin(req, ctx->rds, ctx->service) != IDEM_PROCEED)
        return;
    if (http_req_param_id(req, "productId", &pid) != 0 ||
        http_req_query_int(req, "qty", true, 0, 1, INV_QTY_MAX, &qty) != 0 ||
        http_req_query_str(req, "sagaId", true, INV_SAGA_ID_MAX - 1, &saga) != 0)
        return;
    if (!saga_id_valid(saga)) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", SAGA_ID_RULE);
        return;
    }
    http_req_set_saga_id(req, saga);
    int held = lock_product(ctx, pid, key, sizeof key, token);
    int rc = inv_repo_apply(ctx->db, act, pid, saga, qty, &verdict, &res, &stock);
    unlock_product(ctx, held, key, token);
    if (rc != 0) {
        http_respond_repo_error(req, rc == CM_ERR_NOT_FOUND ? CM_ERR_DB : rc, "product");
        return;
    }
    if (verdict == INV_APPLY || verdict == INV_TOMBSTONE) {
        log_info("product %lld: %s %lld -> %s", (long long)pid, inv_action_event(act),
                 (long long)res.quantity, inv_res_status_name(res.status));
        if (ctx->relay)
            outbox_relay_wake(ctx->relay);
    }
    respond_verdict(req, act, verdict, &res, &stock, qty);
}

static void h_reserve(http_req *req, void *ctx)
{
    reservation(req, ctx, INV_ACT_RESERVE);
}

static void h_confirm(http_req *req, void *ctx)
{
    reservation(req, ctx, INV_ACT_CONFIRM);
}

static void h_cancel(http_req *req, void *ctx)
{
    reservation(req, ctx, INV_ACT_CANCEL);
}

int inv_routes_register(http_server *srv, inv_routes_t *ctx)
{
    int rc = 0;
    auth *au = ctx->auth;
    const unsigned any = AUTH_SERVICE | AUTH_ADMIN;
    rc |= auth_route(au, srv, "GET", "/api/inventory/{productId}", any, h_get, ctx);
    rc |= auth_route(au, srv, "PUT", "/api/inventory/{productId}", AUTH_ADMIN, h_put, ctx);
    rc |= auth_route(au, srv, "POST", "/api/inventory/{productId}/reserve", AUTH_SERVICE, h_reserve,
                     ctx);
    rc |= auth_route(au, srv, "POST", "/api/inventory/{productId}/confirm", AUTH_SERVICE, h_confirm,
                     ctx);
    rc |= auth_route(au, srv, "POST", "/api/inventory/{productId}/cancel", AUTH_SERVICE, h_cancel,
                     ctx);
    return rc ? CM_ERR_INVALID : 0;
}
