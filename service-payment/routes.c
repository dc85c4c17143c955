/* routes.c - HTTP in/out for payments: validate, call the repository, run approvals through
 * semaphore:pg and the fake gateway, map verdicts to status codes. No SQL and no rules here. */
#include "routes.h"

#include <stdio.h>

#include "cm_error.h"
#include "cm_idem.h"
#include "cm_log.h"
#include "payment.h"
#include "repo.h"

static json_t *payment_json(const payment_t *p)
{
    return json_pack(
        "{s:I, s:I, s:s, s:I, s:s, s:s, s:s?, s:I}", "paymentId", (json_int_t)p->id, "orderId",
        (json_int_t)p->order_id, "sagaId", p->saga_id, "amount", (json_int_t)p->amount, "method",
        p->method, "status", pay_status_name(p->status), "failureReason",
        p->failure_reason[0] ? p->failure_reason : NULL, "version", (json_int_t)p->version);
}

static void respond_insufficient(http_req *req, const payment_t *p)
{
    http_respond_problem_ext(req, 402, SAGA_CODE_INSUFFICIENT_BALANCE,
                             json_pack("{s:I, s:s}", "paymentId", (json_int_t)p->id,
                                       "paymentStatus", pay_status_name(p->status)),
                             "payment %lld was refused: %s", (long long)p->id,
                             p->failure_reason[0] ? p->failure_reason : "insufficient balance");
}

static void respond_illegal(http_req *req, const payment_t *p, const char *verb)
{
    http_respond_problem(req, 409, SAGA_CODE_ILLEGAL_TRANSITION, "payment %lld is %s; cannot %s it",
                         (long long)p->id, pay_status_name(p->status), verb);
}

static void wake(pay_routes_t *ctx)
{
    if (ctx->relay)
        outbox_relay_wake(ctx->relay);
}

/* POST /api/payments: T3-1. A repeated sagaId answers the existing payment with 200. */
static void h_create(http_req *req, void *vctx)
{
    pay_routes_t *ctx = vctx;
    json_t *body = NULL;
    payment_t in, out;
    bool created = false;
    char err[PAY_ERR_MAX], loc[64];
    if (idem_begin(req, ctx->rds, ctx->service) != IDEM_PROCEED)
        return;
    if (http_req_json(req, pay_create_fields, 0, &body) != 0)
        return;
    int rc = pay_from_json(body, &in, err, sizeof err);
    json_decref(body);
    if (rc != 0) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "%s", err);
        return;
    }
    http_req_set_saga_id(req, in.saga_id);
    rc = pay_repo_create(ctx->db, &in, &out, &created);
    if (rc != 0) {
        http_respond_repo_error(req, rc, "payment");
        return;
    }
    if (created) {
        log_info("payment %lld created", (long long)out.id);
        wake(ctx);
    }
    snprintf(loc, sizeof loc, "/api/payments/%lld", (long long)out.id);
    http_resp_header(req, "Location", loc);
    http_respond_json(req, created ? 201 : 200, payment_json(&out));
}

/* Reads the payment the path's {id} names into *id and *p and tags the request with its saga.
 * Returns 0, or -1 once it has answered (400 for a bad id, 404 / 503 from the read). */
static int load_payment(http_req *req, pay_routes_t *ctx, int64_t *id, payment_t *p)
{
    if (http_req_param_id(req, "id", id) != 0)
        return -1;
    int rc = pay_repo_get(ctx->db, *id, p);
    if (rc != 0) {
        http_respond_repo_error(req, rc, "payment");
        return -1;
    }
    http_req_set_saga_id(req, p->saga_id);
    return 0;
}

/* GET /api/payments/{id} */
static void h_get(http_req *req, void *vctx)
{
    int64_t id;
    payment_t p;
    if (load_payment(req, vctx, &id, &p) == 0)
        http_respond_json(req, 200, payment_json(&p));
}

/* Answers a decided (non-gateway) verdict for approve/confirm/refund. */
static void respond_verdict(http_req *req, pay_routes_t *ctx, pay_verdict_t v, const payment_t *p,
                            const char *verb)
{
    switch (v) {
    case PAY_APPLY:
        log_info("payment %lld %s", (long long)p->id, pay_status_name(p->status));
        wake(ctx);
        http_respond_json(req, 200, payment_json(p));
        return;
    case PAY_NOOP: http_respond_json(req, 200, payment_json(p)); return;
    case PAY_REFUSE_FAILED: respond_insufficient(req, p); return;
    case PAY_REFUSE_ILLEGAL: respond_illegal(req, p, verb); return;
    }
}

/* Asks the gateway under semaphore:pg. Returns 0 with *outcome set, or answers (429 / 503)
 * and returns -1. */
static int charge(http_req *req, pay_routes_t *ctx, const payment_t *p, fpg_outcome_t *outcome)
{
    char token[RDS_TOKEN_LEN];
    int rc = rds_sem_acquire(ctx->rds, PAY_SEMAPHORE_KEY, ctx->pg_concurrency, ctx->pg_lease_ms,
                             ctx->pg_wait_ms, token);
    if (rc == CM_ERR_BUSY) {
        http_resp_header(req, "Retry-After", "1");
        http_respond_problem(req, 429, HTTP_CODE_BUSY,
                             "payment gateway busy: %d approvals in progress", ctx->pg_concurrency);
        return -1;
    }
    if (rc != 0) {
        log_warn("semaphore:pg: %s", cm_strerror(rc));
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                             "the payment gateway cannot be reached now; retry later");
        return -1;
    }
    *outcome = fpg_charge(ctx->pg, p->id, p->amount);
    if (rds_sem_release(ctx->rds, PAY_SEMAPHORE_KEY, token) != 0)
        log_warn("semaphore:pg permit expired before release");
    return 0;
}

/* Charges a payment read as CREATED and records the outcome; answers in every case.
 * Runs with lock:payment:{id} held. */
static void approve_created(http_req *req, pay_routes_t *ctx, payment_t *p)
{
    fpg_outcome_t outcome;
    pay_verdict_t v;
    char buf[PAY_REASON_MAX];
    const char *reason = NULL;
    if (charge(req, ctx, p, &outcome) != 0)
        return;
    if (outcome == FPG_TRANSIENT) {
        http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                             "payment gateway failed transiently; retry");
        return;
    }
    if (outcome == FPG_INSUFFICIENT_BALANCE) {
        snprintf(buf, sizeof buf, "InsufficientBalance: amount %lld exceeds the limit %lld",
                 (long long)p->amount, (long long)ctx->pg->limit);
        reason = buf;
    }
    int rc = pay_repo_transition(ctx->db, p->id, PAY_ACT_APPROVE, reason, p, &v);
    if (rc != 0) {
        http_respond_repo_error(req, rc, "payment");
        return;
    }
    if (v == PAY_APPLY && p->status == PAY_FAILED) {
        log_info("payment %lld FAILED: %s", (long long)p->id, p->failure_reason);
        wake(ctx);
        respond_insufficient(req, p);
        return;
    }
    respond_verdict(req, ctx, v, p, "approve");
}

/* POST /api/payments/{id}/approve: T3-2. Concurrent approvals of one payment queue on
 * lock:payment:{id}, and the payment is read once the lock is held, so the gateway is asked
 * once; if the lock is lost anyway the gateway's idempotency (payment id) and the optimistic
 * update keep the state right. The gateway is called outside any transaction, so a concurrent
 * refund still wins cleanly. */
static void h_approve(http_req *req, void *vctx)
{
    pay_routes_t *ctx = vctx;
    int64_t id;
    payment_t p;
    char key[64], token[RDS_TOKEN_LEN];
    if (idem_begin(req, ctx->rds, ctx->service) != IDEM_PROCEED)
        return;
    if (http_req_param_id(req, "id", &id) != 0)
        return;
    snprintf(key, sizeof key, "lock:payment:%lld", (long long)id);
    int rc = rds_lock_acquire(ctx->rds, key, ctx->pg_lease_ms,
                              ctx->pg_wait_ms + ctx->pg->latency_ms + 1000, token);
    if (rc != 0) {
        if (rc == CM_ERR_BUSY) {
            http_resp_header(req, "Retry-After", "1");
            http_respond_problem(req, 429, HTTP_CODE_BUSY,
                                 "payment %lld is being approved by another request; retry",
                                 (long long)id);
        } else {
            log_warn("lock %s: %s", key, cm_strerror(rc));
            http_respond_problem(req, 503, HTTP_CODE_UNAVAILABLE,
                                 "payment %lld cannot be approved now; retry later", (long long)id);
        }
        return;
    }
    if (load_payment(req, ctx, &id, &p) == 0) { /* else it has answered */
        pay_verdict_t v = pay_decide(p.status, PAY_ACT_APPROVE);
        if (v != PAY_APPLY)
            respond_verdict(req, ctx, v, &p, "approve");
        else
            approve_created(req, ctx, &p);
    }
    if (rds_lock_release(ctx->rds, key, token) != 0)
        log_warn("%s expired before release", key);
}

/* POST /api/payments/{id}/confirm (T6) and /refund (C3). */
static void transition(http_req *req, pay_routes_t *ctx, pay_action_t act)
{
    int64_t id;
    payment_t p;
    pay_verdict_t v = PAY_REFUSE_ILLEGAL;
    const char *verb = act == PAY_ACT_CONFIRM ? "confirm" : "refund";
    if (idem_begin(req, ctx->rds, ctx->service) != IDEM_PROCEED)
        return;
    if (http_req_param_id(req, "id", &id) != 0)
        return;
    int rc = pay_repo_transition(ctx->db, id, act, NULL, &p, &v);
    if (rc == CM_ERR_NOT_FOUND && act == PAY_ACT_REFUND) {
        /* DESIGN: refunding an unknown payment succeeds without effect. */
        http_respond_json(
            req, 200,
            json_pack("{s:I, s:n, s:b}", "paymentId", (json_int_t)id, "status", "noop", 1));
        return;
    }
    if (rc != 0) {
        http_respond_repo_error(req, rc, "payment");
        return;
    }
    http_req_set_saga_id(req, p.saga_id);
    respond_verdict(req, ctx, v, &p, verb);
}

static void h_confirm(http_req *req, void *ctx)
{
    transition(req, ctx, PAY_ACT_CONFIRM);
}

static void h_refund(http_req *req, void *ctx)
{
    transition(req, ctx, PAY_ACT_REFUND);
}

int pay_routes_register(http_server *srv, pay_routes_t *ctx)
{
    int rc = 0;
    auth *au = ctx->auth;
    rc |= auth_route(au, srv, "POST", "/api/payments", AUTH_SERVICE, h_create, ctx);
    rc |= auth_route(au, srv, "GET", "/api/payments/{id}", AUTH_SERVICE | AUTH_ADMIN, h_get, ctx);
    rc |= auth_route(au, srv, "POST", "/api/payments/{id}/approve", AUTH_SERVICE, h_approve, ctx);
    rc |= auth_route(au, srv, "POST", "/api/payments/{id}/confirm", AUTH_SERVICE, h_confirm, ctx);
    rc |= auth_route(au, srv, "POST", "/api/payments/{id}/refund", AUTH_SERVICE, h_refund, ctx);
    return rc ? CM_ERR_INVALID : 0;
}
