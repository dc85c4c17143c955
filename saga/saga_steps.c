/* saga_steps.c - the HTTP calls each saga step makes to order, inventory and payment services.
 * One attempt per call, no retries and no saga state here: the orchestrators own both. */
#include "saga.h"

#include "cm_httpc.h"
#include "cm_log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAGA_URL_MAX 512

/* One downstream service: its replicas' base URLs. Requests are built on the first base for a
 * caller's own transport; common's client spreads them over all (cm_httpc.h). */
typedef struct saga_service {
    httpc_upstream *up;
    const char *base; /* first base URL, borrowed from up */
} saga_service;

struct saga_client {
    saga_service order, inventory, payment;
    long timeout_ms;
    saga_transport_fn transport; /* NULL: common's client with failover over the replicas */
    void *transport_ctx;
    char service_token[SAGA_URL_MAX / 2]; /* "" -> no Authorization header */
};

/* ---- default transport: common's HTTP client (per-thread keep-alive handles) ------------- */

/* One call to `svc` at `path` through common's replica-aware client: spread over the
 * replicas, failed over on a refused connection, a timeout or a 5xx (the Idempotency-Key
 * makes the repeat safe). */
static int httpc_call(const struct saga_client *c, const saga_service *svc, const char *method,
                      const char *path, const char *idem_key, const char *body, long timeout_ms,
                      int *status, char **resp_body)
{
    httpc_resp r = {0};
    httpc_opts o = {.idempotency_key = idem_key,
                    .timeout_ms = timeout_ms,
                    .bearer_token = c->service_token[0] ? c->service_token : NULL};
    *status = 0;
    *resp_body = NULL;
    int rc = httpc_upstream_request(svc->up, method, path, body, body != NULL ? strlen(body) : 0,
                                    &o, &r);
    if (rc == 0) {
        *status = (int)r.status;
        *resp_body = r.body;
        r.body = NULL;
    }
    httpc_resp_free(&r);
    return rc == 0 ? 0 : -1;
}

/* ---- client -------------------------------------------------------------------------------- */

static int service_init(saga_service *svc, const char *what, const char *list)
{
    char err[256];
    if (httpc_upstream_new(list != NULL ? list : "", &svc->up, err, sizeof err) != 0) {
        log_error("%s service URL list '%.200s': %s", what, list != NULL ? list : "", err);
        return -1;
    }
    svc->base = httpc_upstream_base(svc->up, 0);
    return 0;
}

struct saga_client *saga_client_new(const saga_client_config_t *cfg)
{
    struct saga_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (service_init(&c->order, "order", cfg->order_url) != 0 ||
        service_init(&c->inventory, "inventory", cfg->inventory_url) != 0 ||
        service_init(&c->payment, "payment", cfg->payment_url) != 0) {
        saga_client_free(c);
        return NULL;
    }
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
    if (cfg->service_token != NULL &&
        snprintf(c->service_token, sizeof c->service_token, "%s", cfg->service_token) >=
            (int)sizeof c->service_token) {
        saga_client_free(c);
        return NULL;
    }
    c->transport = cfg->transport;
    c->transport_ctx = cfg->transport_ctx;
    return c;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

struct saga_client *saga_client_from_env(void)
{
    saga_client_config_t cfg = {
        .order_url = env_or("ORDER_SERVICE_URL", "http://127.0.0.1:21082"),
        .inventory_url = env_or("INVENTORY_SERVICE_URL", "http://127.0.0.1:21083"),
        .payment_url = env_or("PAYMENT_SERVICE_URL", "http://127.0.0.1:21084"),
        .timeout_ms = 10000,
        .service_token = env_or("SERVICE_TOKEN", NULL),
    };
    return saga_client_new(&cfg);
}

void saga_client_free(struct saga_client *c)
{
    if (c == NULL)
        return;
    httpc_upstream_free(c->order.up);
    httpc_upstream_free(c->inventory.up);
    httpc_upstream_free(c->payment.up);
    free(c);
}

/* ---- one call ------------------------------------------------------------------------------ */

/* Performs one call and classifies it. On SAGA_OK and when out_id_field is non-NULL, reads the
 * id from the JSON answer (first of the two names present) into *out_id. */
static int call(struct saga_client *c, saga_step_t step, const char *saga_id, const char *method,
                const saga_service *svc, const char *path, const char *body, const char *id_a,
                const char *id_b, int64_t *out_id, saga_error_t *err)
{
    char key[SAGA_ID_MAX + 32];
    char *resp = NULL;
    int status = 0;
    const char *code = NULL;
    json_t *root = NULL;
    int rc;

    if (saga_idempotency_key(key, sizeof key, saga_id, step) != 0) {
        snprintf(err->message, sizeof err->message, "saga id too long");
        err->code = SAGA_ERR_INVALID;
        return SAGA_ERR_INVALID;
    }
    int trc;
    if (c->transport != NULL) {
        char url[SAGA_URL_MAX];
        snprintf(url, sizeof url, "%s%s", svc->base, path);
        trc = c->transport(c->transport_ctx, method, url, key, body, c->timeout_ms, &status, &resp);
    } else {
        trc = httpc_call(c, svc, method, path, key, body, c->timeout_ms, &status, &resp);
    }
    if (trc != 0)
        status = 0;
    if (resp != NULL)
        root = json_loads(resp, 0, NULL);
    if (json_is_object(root) && json_is_string(json_object_get(root, "code")))
        code = json_string_value(json_object_get(root, "code"));
    rc = saga_classify(status, code, err);
    if (rc != SAGA_OK) {
        const char *detail =
            json_is_object(root) ? json_string_value(json_object_get(root, "detail")) : NULL;
        char base[64];
        snprintf(base, sizeof base, "%.60s", err->message);
        snprintf(err->message, sizeof err->message, "%s %s %s%s%.160s", saga_step_activity(step),
                 method, base, detail != NULL ? ": " : "", detail != NULL ? detail : "");
    } else if (out_id != NULL) {
        json_t *v = json_is_object(root) ? json_object_get(root, id_a) : NULL;
        if (!json_is_integer(v) && json_is_object(root))
            v = json_object_get(root, id_b);
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            /* A 2xx without the id is a service bug; retrying may give a proper answer. */
            rc = SAGA_ERR_RETRYABLE;
            err->code = rc;
            snprintf(err->type, sizeof err->type, "%s", SAGA_TYPE_RETRYABLE);
            snprintf(err->message, sizeof err->message, "%s: answer without '%s'",
                     saga_step_activity(step), id_a);
        } else {
            *out_id = (int64_t)json_integer_value(v);
        }
    }
    json_decref(root);
    free(resp);
    return rc;
}

/* POSTs o (stolen; NULL when it could not be built) to create a resource and reads the new
 * id from the answer's id_a member, else "id", into *out_id. */
static int post_create(struct saga_client *c, saga_step_t step, const char *saga_id,
                       const saga_service *svc, const char *path, json_t *o, const char *id_a,
                       int64_t *out_id, saga_error_t *err)
{
    char *body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (body == NULL)
        return SAGA_ERR_NOMEM;
    int rc = call(c, step, saga_id, "POST", svc, path, body, id_a, "id", out_id, err);
    free(body);
    return rc;
}

static int create_order(struct saga_client *c, const char *saga_id, const saga_input_t *in,
                        saga_state_t *st, saga_error_t *err)
{
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I, s:s}", "customerId", (json_int_t)in->customer_id,
                  "productId", (json_int_t)in->product_id, "quantity", (json_int_t)in->quantity,
                  "amount", (json_int_t)in->amount, "sagaId", saga_id);
    return post_create(c, SAGA_STEP_CREATE_ORDER, saga_id, &c->order, "/api/orders", o, "orderId",
                       &st->order_id, err);
}

static int create_payment(struct saga_client *c, const char *saga_id, const saga_input_t *in,
                          saga_state_t *st, saga_error_t *err)
{
    json_t *o = json_pack("{s:I, s:I, s:s, s:s}", "orderId", (json_int_t)st->order_id, "amount",
                          (json_int_t)in->amount, "method", in->payment_method, "sagaId", saga_id);
    return post_create(c, SAGA_STEP_CREATE_PAYMENT, saga_id, &c->payment, "/api/payments", o,
                       "paymentId", &st->payment_id, err);
}

static int need(int64_t id, const char *what, saga_step_t step, saga_error_t *err)
{
    if (id > 0)
        return SAGA_OK;
    err->code = SAGA_ERR_INVALID;
    err->http_status = 0;
    snprintf(err->type, sizeof err->type, "%s", SAGA_TYPE_INVALID_REQUEST);
    snprintf(err->message, sizeof err->message, "%s needs %s", saga_step_activity(step), what);
    return SAGA_ERR_INVALID;
}

/* A compensation's target is gone or already in the wanted state: nothing left to undo. */
static int compensation_result(int rc, saga_error_t *err)
{
    if (rc == SAGA_ERR_BUSINESS && err->http_status == 404) {
        err->code = SAGA_OK;
        return SAGA_OK;
    }
    return rc;
}

static int inventory_call(struct saga_client *c, saga_step_t step, const char *saga_id,
                          const char *action, const saga_input_t *in, saga_error_t *err)
{
    char path[SAGA_URL_MAX];
    snprintf(path, sizeof path, "/api/inventory/%lld/%s?qty=%lld&sagaId=%s",
             (long long)in->product_id, action, (long long)in->quantity, saga_id);
    return call(c, step, saga_id, "POST", &c->inventory, path, NULL, NULL, NULL, NULL, err);
}

static int id_call(struct saga_client *c, saga_step_t step, const char *saga_id, const char *method,
                   const saga_service *svc, const char *collection, int64_t id, const char *action,
                   saga_error_t *err)
{
    char path[SAGA_URL_MAX];
    snprintf(path, sizeof path, "/%s/%lld/%s", collection, (long long)id, action);
    return call(c, step, saga_id, method, svc, path, NULL, NULL, NULL, NULL, err);
}

static int run_step(struct saga_client *c, saga_step_t step, const char *saga_id,
                    const saga_input_t *in, saga_state_t *st, saga_error_t *err)
{
    int rc;
    switch (step) {
    case SAGA_STEP_CREATE_ORDER: return create_order(c, saga_id, in, st, err);
    case SAGA_STEP_RESERVE_STOCK: return inventory_call(c, step, saga_id, "reserve", in, err);
    case SAGA_STEP_CREATE_PAYMENT:
        if ((rc = need(st->order_id, "orderId", step, err)) != 0)
            return rc;
        return create_payment(c, saga_id, in, st, err);
    case SAGA_STEP_APPROVE_PAYMENT:
        if ((rc = need(st->payment_id, "paymentId", step, err)) != 0)
            return rc;
        return id_call(c, step, saga_id, "POST", &c->payment, "api/payments", st->payment_id,
                       "approve", err);
    case SAGA_STEP_CONFIRM_ORDER:
        if ((rc = need(st->order_id, "orderId", step, err)) != 0)
            return rc;
        return id_call(c, step, saga_id, "PATCH", &c->order, "api/orders", st->order_id, "confirm",
                       err);
    case SAGA_STEP_CONFIRM_RESERVATION: return inventory_call(c, step, saga_id, "confirm", in, err);
    case SAGA_STEP_CONFIRM_PAYMENT:
        if ((rc = need(st->payment_id, "paymentId", step, err)) != 0)
            return rc;
        return id_call(c, step, saga_id, "POST", &c->payment, "api/payments", st->payment_id,
                       "confirm", err);
    case SAGA_STEP_REFUND_PAYMENT:
        if (st->payment_id <= 0) {
            if (st->order_id <= 0)
                return SAGA_OK; /* no order, so no payment can exist */
            /* Learn the id by replaying CreatePayment under its own key (see saga.h). */
            rc = create_payment(c, saga_id, in, st, err);
            if (rc == SAGA_ERR_BUSINESS)
                return SAGA_OK;
            if (rc != SAGA_OK)
                return rc;
        }
        rc = id_call(c, step, saga_id, "POST", &c->payment, "api/payments", st->payment_id,
                     "refund", err);
        return compensation_result(rc, err);
    case SAGA_STEP_CANCEL_RESERVATION:
        return compensation_result(inventory_call(c, step, saga_id, "cancel", in, err), err);
    case SAGA_STEP_CANCEL_ORDER:
        if (st->order_id <= 0) {
            rc = create_order(c, saga_id, in, st, err);
            if (rc == SAGA_ERR_BUSINESS)
                return SAGA_OK;
            if (rc != SAGA_OK)
                return rc;
        }
        rc = id_call(c, step, saga_id, "PATCH", &c->order, "api/orders", st->order_id, "cancel",
                     err);
        return compensation_result(rc, err);
    default: break;
    }
    snprintf(err->message, sizeof err->message, "unknown step %d", (int)step);
    err->code = SAGA_ERR_INVALID;
    return SAGA_ERR_INVALID;
}

int saga_step_run(struct saga_client *c, saga_step_t step, const char *saga_id,
                  const saga_input_t *in, saga_state_t *st, saga_error_t *err)
{
    saga_error_t local;
    if (err == NULL)
        err = &local;
    memset(err, 0, sizeof *err);
    if (c == NULL || in == NULL || st == NULL || !saga_id_valid(saga_id)) {
        snprintf(err->message, sizeof err->message, "invalid arguments");
        err->code = SAGA_ERR_INVALID;
        return SAGA_ERR_INVALID;
    }
    int rc = run_step(c, step, saga_id, in, st, err);
    err->code = rc;
    return rc;
}

int saga_step_run_json(struct saga_client *c, const char *activity_or_key, const char *ctx_json,
                       char **out_json, saga_error_t *err)
{
    char saga_id[SAGA_ID_MAX];
    saga_input_t in;
    saga_state_t st;
    saga_error_t local;
    if (err == NULL)
        err = &local;
    memset(err, 0, sizeof *err);
    *out_json = NULL;
    saga_step_t step = saga_step_from_name(activity_or_key);
    if (step == SAGA_STEP_NONE) {
        snprintf(err->message, sizeof err->message, "unknown step '%.64s'",
                 activity_or_key != NULL ? activity_or_key : "(null)");
        err->code = SAGA_ERR_INVALID;
        snprintf(err->type, sizeof err->type, "%s", SAGA_TYPE_INVALID_REQUEST);
        return SAGA_ERR_INVALID;
    }
    if (ctx_json == NULL)
        ctx_json = "";
    int rc = saga_context_parse(ctx_json, strlen(ctx_json), saga_id, &in, &st, err);
    if (rc != SAGA_OK)
        return rc;
    rc = saga_step_run(c, step, saga_id, &in, &st, err);
    if (rc != SAGA_OK)
        return rc;
    *out_json = saga_context_json(saga_id, &in, &st);
    if (*out_json == NULL) {
        err->code = SAGA_ERR_NOMEM;
        return SAGA_ERR_NOMEM;
    }
    return SAGA_OK;
}
