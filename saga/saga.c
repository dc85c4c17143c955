/* saga.c - the saga's step table, error classification, backoff, compensation plan and saga
 * ids. Pure functions only: no I/O, no allocation, callable from any thread. */
#include "saga.h"

#include <stdio.h>
#include <string.h>

#include "cm_http.h"

typedef struct step_def {
    const char *activity;
    const char *key;
    saga_step_t compensation;
} step_def_t;

/* Order matters: indexed by saga_step_t. */
static const step_def_t STEPS[SAGA_STEP_COUNT] = {
    [SAGA_STEP_CREATE_ORDER] = {"CreateOrder", "createOrder", SAGA_STEP_CANCEL_ORDER},
    [SAGA_STEP_RESERVE_STOCK] = {"ReserveStock", "reserveStock", SAGA_STEP_CANCEL_RESERVATION},
    [SAGA_STEP_CREATE_PAYMENT] = {"CreatePayment", "createPayment", SAGA_STEP_REFUND_PAYMENT},
    [SAGA_STEP_APPROVE_PAYMENT] = {"ApprovePayment", "approvePayment", SAGA_STEP_NONE},
    [SAGA_STEP_CONFIRM_ORDER] = {"ConfirmOrder", "confirmOrder", SAGA_STEP_NONE},
    [SAGA_STEP_CONFIRM_RESERVATION] = {"ConfirmReservation", "confirmReservation", SAGA_STEP_NONE},
    [SAGA_STEP_CONFIRM_PAYMENT] = {"ConfirmPayment", "confirmPayment", SAGA_STEP_NONE},
    [SAGA_STEP_REFUND_PAYMENT] = {"RefundPayment", "refundPayment", SAGA_STEP_NONE},
    [SAGA_STEP_CANCEL_RESERVATION] = {"CancelReservation", "cancelReservation", SAGA_STEP_NONE},
    [SAGA_STEP_CANCEL_ORDER] = {"CancelOrder", "cancelOrder", SAGA_STEP_NONE},
};

static int step_valid(saga_step_t step)
{
    return (int)step >= 0 && (int)step < SAGA_STEP_COUNT;
}

const char *saga_step_activity(saga_step_t step)
{
    return step_valid(step) ? STEPS[step].activity : NULL;
}

const char *saga_step_key(saga_step_t step)
{
    return step_valid(step) ? STEPS[step].key : NULL;
}

saga_step_t saga_step_from_name(const char *name)
{
    if (name == NULL)
        return SAGA_STEP_NONE;
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        if (strcmp(name, STEPS[i].activity) == 0 || strcmp(name, STEPS[i].key) == 0)
            return (saga_step_t)i;
    return SAGA_STEP_NONE;
}

int saga_step_is_forward(saga_step_t step)
{
    return (int)step >= 0 && (int)step < SAGA_FORWARD_COUNT;
}

int saga_step_after_pivot(saga_step_t step)
{
    return saga_step_is_forward(step) && (int)step > (int)SAGA_STEP_APPROVE_PAYMENT;
}

saga_step_t saga_step_next(saga_step_t step)
{
    if (!saga_step_is_forward(step) || (int)step + 1 >= SAGA_FORWARD_COUNT)
        return SAGA_STEP_NONE;
    return (saga_step_t)((int)step + 1);
}

saga_step_t saga_step_compensation(saga_step_t step)
{
    return saga_step_is_forward(step) ? STEPS[step].compensation : SAGA_STEP_NONE;
}

int saga_compensation_plan(saga_step_t last_started, saga_step_t *out, int cap)
{
    int n = 0;
    if (!saga_step_is_forward(last_started))
        return 0;
    /* Compensations are registered before their step runs, so every started step's counts;
     * they run in reverse registration order. */
    for (int i = (int)last_started; i >= 0; i--) {
        saga_step_t c = STEPS[i].compensation;
        if (c == SAGA_STEP_NONE)
            continue;
        if (n < cap)
            out[n] = c;
        n++;
    }
    return n < cap ? n : cap;
}

/* "<sagaId>:<step>" must pass common's Idempotency-Key rule in every service. */
_Static_assert(SAGA_ID_MAX - 1 + 1 + sizeof "confirmReservation" - 1 <= HTTP_IDEM_KEY_MAX,
               "the longest saga Idempotency-Key exceeds HTTP_IDEM_KEY_MAX");

int saga_idempotency_key(char *buf, size_t cap, const char *saga_id, saga_step_t step)
{
    if (!step_valid(step) || saga_id == NULL || buf == NULL)
        return SAGA_ERR_INVALID;
    int n = snprintf(buf, cap, "%s:%s", saga_id, STEPS[step].key);
    if (n < 0 || (size_t)n >= cap)
        return SAGA_ERR_INVALID;
    return SAGA_OK;
}

static int fill(saga_error_t *err, int code, int status, const char *type, const char *msg)
{
    if (err != NULL) {
        err->code = code;
        err->http_status = status;
        snprintf(err->type, sizeof err->type, "%s", type);
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return code;
}

int saga_classify(int http_status, const char *problem_code, saga_error_t *err)
{
    const char *code = problem_code != NULL ? problem_code : "";
    char msg[SAGA_ERRMSG_MAX];

    if (http_status >= 200 && http_status < 300)
        return fill(err, SAGA_OK, http_status, "", "");
    snprintf(msg, sizeof msg, "HTTP %d %s", http_status, code);
    if (http_status == 0)
        return fill(err, SAGA_ERR_RETRYABLE, 0, SAGA_TYPE_RETRYABLE, "transport error");
    /* 401/403: the orchestrator's SERVICE_TOKEN is missing or not the services' one. That is
     * an operator's to fix (the same token on both sides), not the order's fault: retry like
     * an outage, so in-flight sagas continue once the tokens agree. */
    if (http_status == 429 || http_status >= 500 || http_status == 408 || http_status == 401 ||
        http_status == 403)
        return fill(err, SAGA_ERR_RETRYABLE, http_status, SAGA_TYPE_RETRYABLE, msg);
    if (http_status == 409 && strcmp(code, HTTP_CODE_IDEM_IN_FLIGHT) == 0)
        return fill(err, SAGA_ERR_RETRYABLE, http_status, SAGA_TYPE_RETRYABLE, msg);
    if (strcmp(code, SAGA_CODE_OUT_OF_STOCK) == 0)
        return fill(err, SAGA_ERR_BUSINESS, http_status, SAGA_CODE_OUT_OF_STOCK, msg);
    if (strcmp(code, SAGA_CODE_INSUFFICIENT_BALANCE) == 0 || http_status == 402)
        return fill(err, SAGA_ERR_BUSINESS, http_status, SAGA_CODE_INSUFFICIENT_BALANCE, msg);
    if (strcmp(code, SAGA_CODE_RESERVATION_CANCELLED) == 0)
        return fill(err, SAGA_ERR_BUSINESS, http_status, SAGA_CODE_RESERVATION_CANCELLED, msg);
    if (strcmp(code, SAGA_CODE_ILLEGAL_TRANSITION) == 0 || http_status == 409)
        return fill(err, SAGA_ERR_BUSINESS, http_status, SAGA_CODE_ILLEGAL_TRANSITION, msg);
    /* 400, 404, 405, 413, 415, 422 and any other 4xx: the request itself is wrong. */
    return fill(err, SAGA_ERR_BUSINESS, http_status, SAGA_TYPE_INVALID_REQUEST, msg);
}

int saga_error_in_flight(const saga_error_t *err)
{
    return err != NULL && err->code == SAGA_ERR_RETRYABLE && err->http_status == 409;
}

const char *saga_retry_outcome(const saga_error_t *err, char *out, size_t cap)
{
    if (saga_error_in_flight(err))
        snprintf(out, cap, "in_flight");
    else if (err != NULL && err->http_status > 0)
        snprintf(out, cap, "http_%d", err->http_status);
    else
        snprintf(out, cap, "transport");
    return out;
}

int64_t saga_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms)
{
    int64_t d = initial_ms;
    if (attempt < 1)
        attempt = 1;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    return d > max_ms ? max_ms : d;
}

/* FNV-1a 64 with a seed folded in first: two seeds give 128 bits, stable across builds and
 * restarts (a key must map to the same saga forever). Not a security boundary: a client can
 * only collide with its own keys. */
static uint64_t fnv1a(const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

int saga_id_from_key(const char *prefix, const char *key, char *buf, size_t cap)
{
    size_t n = key != NULL ? strnlen(key, SAGA_KEY_EMBED_MAX + 1) : 0;
    int len;
    if (n == 0 || prefix == NULL || cap == 0)
        return -1;
    if (n <= SAGA_KEY_EMBED_MAX && saga_id_valid_n(key, n))
        len = snprintf(buf, cap, "%s%s", prefix, key);
    else
        len = snprintf(buf, cap, "%sk%016llx%016llx", prefix, (unsigned long long)fnv1a(key, 0),
                       (unsigned long long)fnv1a(key, 0x9e3779b97f4a7c15ULL));
    return len > 0 && (size_t)len < cap && saga_id_valid(buf) ? 0 : -1;
}
