/* routes.c - HTTP in/out for orchestrator-pure: validates the order body, maps the
 * Idempotency-Key to a saga id, waits for the saga up to the sync timeout, reads and cancels
 * sagas. No saga rules. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_error.h"
#include "cm_log.h"
#include "cm_redis.h"

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

/* "2026-12-04T08:17:30.009Z" for Unix epoch milliseconds. */
static void iso_time(int64_t ms, char *out, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The retry in progress: {"step","attempt","lastError","since","retryingMs"}. New reference. */
static json_t *retry_view(const saga_retry_t *t)
{
    char since[80];
    iso_time(t->since_ms, since, sizeof since);
    return json_pack("{s:s, s:i, s:s, s:s, s:I}", "step", saga_step_activity(t->step), "attempt",
                     t->attempt, "lastError", t->error, "since", since, "retryingMs",
                     (json_int_t)t->age_ms);
}

/* JSON view of a saga for GET, 202, cancel answers and lists: the stored state, with the phase
 * and step this replica drives it at when it does (live may be NULL). New reference. */
static json_t *saga_view(const saga_row_t *row, const orch_live_t *live)
{
    bool here = live != NULL && live->driven_here && !saga_phase_terminal(row->m.phase);
    saga_step_t step = here ? live->step : saga_machine_step(&row->m);
    const char *status = saga_phase_status(here ? live->phase : row->m.phase);
    json_t *o = json_pack("{s:s, s:s, s:s}", "sagaId", row->saga_id, "status", status, "step",
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
    if (row->retry.step != SAGA_STEP_NONE)
        json_object_set_new(o, "retry", retry_view(&row->retry));
    if (row->has_lease && row->owner_id[0])
        json_object_set_new(o, "owner", json_string(row->owner_id));
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

static void respond_accepted(http_req *req, orch_t *o, const saga_row_t *row)
{
    orch_live_t live;
    orch_live(o, row->saga_id, &live);
    char loc[SAGA_ID_MAX + 32];
    snprintf(loc, sizeof loc, "/api/pure/orders/%s", row->saga_id);
    http_resp_header(req, "Location", loc);
    http_respond_json(req, 202, saga_view(row, &live));
}

/* The saga store did not answer for the whole wait: the saga may exist. The answer names the
 * key to retry with (the client's, or the random one behind the saga id), which attaches to
 * it or creates it - never a second order. */
static void respond_unknown(http_req *req, int rc, const char *saga_id)
{
    const char *key = http_req_idempotency_key(req);
    if (key == NULL)
        key = saga_id + strlen("pure-");
    log_warn("saga store: %s", cm_strerror(rc));
    http_respond_problem_ext(
        req, 503, HTTP_CODE_UNAVAILABLE,
        json_pack("{s:s, s:s}", "sagaId", saga_id, "idempotencyKey", key),
        "the saga store is unavailable: whether order %s was created is not known; retry with "
        "Idempotency-Key %s",
        saga_id, key);
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
        snprintf(out, cap, "pure-%s", tok);
        return 0;
    }
    if (key == NULL || saga_id_from_key("pure-", key, out, cap) != 0) {
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
        respond_accepted(req, ctx->orch, &row);
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
    orch_live_t live;
    int rc = orch_get(ctx->orch, id, &row, &live);
    if (rc != 0)
        respond_store_error(req, rc, id);
    else
        http_respond_json(req, 200, saga_view(&row, &live));
}

/* A cancel takes no body, or a JSON object (its members are ignored); anything else is
 * answered 400 before the saga is touched. */
static bool cancel_body_ok(http_req *req)
{
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    if (len == 0)
        return true;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    bool ok = json_is_object(j);
    json_decref(j);
    if (!ok)
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION,
                             "a cancel takes no body, or a JSON object");
    return ok;
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
    if (!cancel_body_ok(req))
        return;
    orch_live_t live;
    int rc = orch_cancel(ctx->orch, id, &row);
    orch_live(ctx->orch, id, &live);
    if (rc == 0) {
        http_respond_json(req, 202, saga_view(&row, &live));
    } else if (rc == CM_ERR_CONFLICT) {
        http_respond_problem_ext(
            req, 409, SAGA_CODE_ILLEGAL_TRANSITION, saga_view(&row, &live),
            "saga %s is %s%s and can no longer be cancelled", id, saga_phase_status(row.m.phase),
            row.m.phase == SAGA_PHASE_CONFIRMING ? " past its pivot (the payment is approved)"
                                                 : "");
    } else {
        respond_store_error(req, rc, id);
    }
}

static void list_add(const saga_row_t *row, const orch_live_t *live, void *ctx)
{
    json_array_append_new(ctx, saga_view(row, live));
}

/* GET /api/pure/sagas?stuck=true&limit=N: the sagas retrying one step for longer than
 * SAGA_STUCK_AFTER_MS, longest first (stuck=false or absent: every unfinished saga, oldest
 * first), as any replica reads them from the database. */
static void list_sagas(http_req *req, void *vctx)
{
    routes_ctx_t *ctx = vctx;
    const char *stuck = NULL;
    int64_t limit = 0;
    if (http_req_query_int(req, "limit", false, 100, 1, 1000, &limit) != 0)
        return;
    stuck = http_req_query(req, "stuck"); /* present but empty is a bad value too */
    if (stuck != NULL && strcmp(stuck, "true") != 0 && strcmp(stuck, "false") != 0) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION, "stuck must be true or false");
        return;
    }
    bool only_stuck = stuck != NULL && strcmp(stuck, "true") == 0;
    json_t *list = json_array();
    int rc = list == NULL ? CM_ERR_NOMEM
                          : orch_list(ctx->orch, only_stuck ? ctx->stuck_after_ms : -1, (int)limit,
                                      list_add, list);
    if (rc != 0) {
        json_decref(list);
        respond_store_error(req, rc, "");
        return;
    }
    http_respond_json(req, 200,
                      json_pack("{s:b, s:I, s:I, s:o}", "stuck", only_stuck, "stuckAfterMs",
                                (json_int_t)ctx->stuck_after_ms, "count",
                                (json_int_t)json_array_size(list), "sagas", list));
}

int routes_register(http_server *srv, routes_ctx_t *ctx)
{
    if (http_route(srv, "POST", "/api/pure/orders", post_order, ctx) != 0 ||
        http_route(srv, "POST", "/api/saga/order", post_order, ctx) != 0 ||
        http_route(srv, "GET", "/api/pure/orders/{sagaId}", get_order, ctx) != 0 ||
        http_route(srv, "POST", "/api/pure/orders/{sagaId}/cancel", cancel_order, ctx) != 0 ||
        http_route(srv, "GET", "/api/pure/sagas", list_sagas, ctx) != 0)
        return CM_ERR_INVALID;
    return 0;
}
