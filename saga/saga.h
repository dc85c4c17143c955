/* saga.h - the order saga written once: step table, per-step service calls, input validation,
 * the JSON shapes both orchestrators answer with. Knows nothing about Temporal or MySQL; both
 * orchestrators drive these steps through the state machine of saga_machine.h, neither calls a
 * service directly. Must not keep saga state of its own: callers own saga_state_t. */
#ifndef SAGA_SAGA_H
#define SAGA_SAGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "saga_contract.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Step table (DESIGN.md "The order saga").
 *
 *   id                          activity name        key suffix           compensation
 *   SAGA_STEP_CREATE_ORDER      CreateOrder          createOrder          SAGA_STEP_CANCEL_ORDER
 *   SAGA_STEP_RESERVE_STOCK     ReserveStock         reserveStock         SAGA_STEP_CANCEL_RESERVATION
 *   SAGA_STEP_CREATE_PAYMENT    CreatePayment        createPayment        SAGA_STEP_REFUND_PAYMENT
 *   SAGA_STEP_APPROVE_PAYMENT   ApprovePayment       approvePayment       (none: covered by refund)
 *   SAGA_STEP_CONFIRM_ORDER     ConfirmOrder         confirmOrder         (none)
 *   SAGA_STEP_CONFIRM_RESERVATION ConfirmReservation confirmReservation   (none)
 *   SAGA_STEP_CONFIRM_PAYMENT   ConfirmPayment       confirmPayment       (none)
 *   SAGA_STEP_REFUND_PAYMENT    RefundPayment        refundPayment        -
 *   SAGA_STEP_CANCEL_RESERVATION CancelReservation   cancelReservation    -
 *   SAGA_STEP_CANCEL_ORDER      CancelOrder          cancelOrder          -
 *
 * A forward step's compensation is REGISTERED BEFORE the step runs: once a forward step has been
 * started (even if its outcome is unknown or it failed), its compensation is on the stack.
 * Compensations run LIFO (saga_compensation_plan) and are retried until they succeed; they are
 * idempotent and tolerate "the forward step never happened" (see saga_step_run). The order in
 * which steps run, retry and compensate is saga_machine.h's.
 * ------------------------------------------------------------------------------------------- */
typedef enum saga_step {
    SAGA_STEP_CREATE_ORDER = 0,    /* T1   */
    SAGA_STEP_RESERVE_STOCK,       /* T2   */
    SAGA_STEP_CREATE_PAYMENT,      /* T3-1 */
    SAGA_STEP_APPROVE_PAYMENT,     /* T3-2 */
    SAGA_STEP_CONFIRM_ORDER,       /* T4   */
    SAGA_STEP_CONFIRM_RESERVATION, /* T5   */
    SAGA_STEP_CONFIRM_PAYMENT,     /* T6   */
    SAGA_STEP_REFUND_PAYMENT,      /* C3   */
    SAGA_STEP_CANCEL_RESERVATION,  /* C2   */
    SAGA_STEP_CANCEL_ORDER,        /* C1   */
    SAGA_STEP_COUNT,
    SAGA_STEP_NONE = -1
} saga_step_t;

#define SAGA_FORWARD_COUNT 7 /* SAGA_STEP_CREATE_ORDER .. SAGA_STEP_CONFIRM_PAYMENT */

/* Status codes returned by every saga_ function (0 = ok). */
enum {
    SAGA_OK = 0,
    SAGA_ERR_BUSINESS = -1,  /* non-retryable business failure; err->type says which */
    SAGA_ERR_RETRYABLE = -2, /* transport error, timeout, 5xx, 429, IdempotencyInFlight */
    SAGA_ERR_INVALID = -3,   /* caller's argument / JSON is invalid (bad request body) */
    SAGA_ERR_NOMEM = -4
};

/* Business failure types are the contract's problem codes (SAGA_CODE_*) and SAGA_TYPE_* of
 * saga_contract.h; saga ids follow its rule (saga_id_valid, SAGA_ID_MAX). */

#define SAGA_METHOD_MAX 32
/* The largest quantity every service accepts (service-inventory keeps stock in an INT with
 * headroom): a bigger one is refused with 400 before a saga starts, not mid-saga. */
#define SAGA_QUANTITY_MAX 1000000000
#define SAGA_ERRMSG_MAX   256

typedef struct saga_error {
    int code;                 /* SAGA_OK, SAGA_ERR_* */
    int http_status;          /* status of the failed call, 0 for transport errors */
    char type[SAGA_TYPE_MAX]; /* SAGA_CODE_* / SAGA_TYPE_* ("" when ok) */
    char message[SAGA_ERRMSG_MAX];
} saga_error_t;

/* The order request body, validated. */
typedef struct saga_input {
    int64_t customer_id;
    int64_t product_id;
    int64_t quantity;
    int64_t amount;
    char payment_method[SAGA_METHOD_MAX]; /* default "CARD" */
} saga_input_t;

/* What the steps learn; 0 = not known yet. Owned and persisted by the orchestrator. */
typedef struct saga_state {
    int64_t order_id;
    int64_t payment_id;
} saga_state_t;

/* ---- step table ---------------------------------------------------------------------------- */

/* Activity type name ("CreateOrder"...), or NULL for an out-of-range step. */
const char *saga_step_activity(saga_step_t step);
/* Idempotency key suffix ("createOrder"...), or NULL. */
const char *saga_step_key(saga_step_t step);
/* Step for an activity name or key suffix (both accepted), or SAGA_STEP_NONE. */
saga_step_t saga_step_from_name(const char *name);
/* 1 for T1..T6 (forward), 0 for compensations and out-of-range values. */
int saga_step_is_forward(saga_step_t step);
/* 1 for the forward steps after the pivot (ConfirmOrder, ConfirmReservation, ConfirmPayment):
 * once ApprovePayment has succeeded the saga can only go forward, so a retryable failure of
 * these is retried until it succeeds instead of giving up and compensating (compensating a
 * confirmed order would leave it CONFIRMED with its payment refunded). */
int saga_step_after_pivot(saga_step_t step);
/* Next forward step after `step`, SAGA_STEP_NONE after SAGA_STEP_CONFIRM_PAYMENT. */
saga_step_t saga_step_next(saga_step_t step);
/* Compensation registered before forward `step` runs, SAGA_STEP_NONE if it has none. */
saga_step_t saga_step_compensation(saga_step_t step);
/* The LIFO compensation plan when forward steps up to and including `last_started` have been
 * started (their compensations registered). Writes at most `cap` steps to `out` in the order they
 * must run and returns how many. last_started = SAGA_STEP_NONE gives 0. */
int saga_compensation_plan(saga_step_t last_started, saga_step_t *out, int cap);

/* ---- idempotency and errors ---------------------------------------------------------------- */

/* Writes "<sagaId>:<keySuffix>" (e.g. "order-3f..:reserveStock") into buf. Returns 0, or
 * SAGA_ERR_INVALID if the step is out of range or the key does not fit in `cap`. */
int saga_idempotency_key(char *buf, size_t cap, const char *saga_id, saga_step_t step);

/* Classifies a service answer per docs/development.md "Error codes": 2xx -> SAGA_OK;
 * business codes -> SAGA_ERR_BUSINESS with err->type; 409 IdempotencyInFlight, 401 and 403
 * (tokens that do not agree), 429, 5xx and status 0 (transport) -> SAGA_ERR_RETRYABLE. `problem_code` is the problem+json `code`
 * (may be NULL). Fills err (may be NULL) and returns the code. Pure; any thread. */
int saga_classify(int http_status, const char *problem_code, saga_error_t *err);

/* 1 when err is the retryable "409 IdempotencyInFlight": the same call is still being processed
 * (e.g. sent before a crash). Waiting for it is not a failed attempt. */
int saga_error_in_flight(const saga_error_t *err);

/* The `outcome` label of a retried attempt in saga_step_retries_total, the same on both
 * orchestrators: "in_flight", "http_<status>" or "transport". Writes it into out (24 bytes
 * suffice) and returns out. */
const char *saga_retry_outcome(const saga_error_t *err, char *out, size_t cap);

/* Retry delay before attempt n (1-based; attempt 1 is the first retry): initial * 2^(n-1),
 * capped at max_ms. DESIGN: initial 1000, max 10000. */
int64_t saga_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms);

/* ---- the order request (shared by both orchestrators) -------------------------------------- */

/* Parses and validates an order request body: customerId, productId, quantity, amount positive
 * integers (JSON integers, not strings or reals), paymentMethod optional non-empty string of at
 * most SAGA_METHOD_MAX-1 bytes, default "CARD". Unknown fields are ignored. Returns 0 or
 * SAGA_ERR_INVALID with err->message naming the field (err may be NULL). */
int saga_input_parse(const char *body, size_t len, saga_input_t *out, saga_error_t *err);

/* The order as JSON, exactly the body's fields in order (the Temporal workflow input):
 * {"customerId":1,"productId":1,"quantity":2,"amount":20000,"paymentMethod":"CARD"}.
 * malloc'd (caller frees); NULL on OOM. */
char *saga_input_json(const saga_input_t *in);

/* 1 when a and b are the same order (a repeated request with the same Idempotency-Key must be
 * the same order, else 422). Pure. */
bool saga_input_equal(const saga_input_t *a, const saga_input_t *b);

/* The saga id for a client's Idempotency-Key (common's HTTP_IDEM_KEY_MAX rule): prefix + key
 * when the key is 1..SAGA_KEY_EMBED_MAX characters of the saga-id set, else prefix + "k" + 32
 * hex digits of a stable 128-bit hash of the key; either way the same key always gives the
 * same id. Returns 0, or -1 when key is NULL / empty or the id does not fit (cap, SAGA_ID_MAX).
 * Pure; any thread. */
#define SAGA_KEY_EMBED_MAX 64
int saga_id_from_key(const char *prefix, const char *key, char *buf, size_t cap);

/* ---- JSON shapes ----------------------------------------------------------------------------
 * Step context (activity input AND output, one JSON object):
 *   {"sagaId":"order-..","customerId":1,"productId":1,"quantity":2,"amount":20000,
 *    "paymentMethod":"CARD","orderId":10,"paymentId":7}
 * orderId / paymentId are absent (or null/0) until known. A step's output is its input with
 * what it learned filled in; pass it unchanged to the next step.
 *
 * Saga result (HTTP response body and Temporal workflow result):
 *   success: {"success":true,"orderId":10,"paymentId":7,"<idField>":"order-.."}
 *   failure: {"success":false,"error":"OutOfStock: ...","<idField>":"order-.."}
 *   failure with SAGA_RESULT_DETAILED: {"success":false,"orderId":10,"paymentId":7,
 *             "error":"OutOfStock: ...","errorType":"OutOfStock","<idField>":"order-.."}
 *             (orderId / paymentId when known)
 * idField is "sagaId" for orchestrator-pure (detailed) and "workflowId" for
 * orchestrator-temporal (DESIGN's shape, exactly).
 * ------------------------------------------------------------------------------------------- */

/* Returns a malloc'd JSON step context (caller frees), NULL on OOM. */
char *saga_context_json(const char *saga_id, const saga_input_t *in, const saga_state_t *st);
/* Parses a step context. saga_id_buf receives the sagaId (cap SAGA_ID_MAX). Returns 0 or
 * SAGA_ERR_INVALID (err filled). */
int saga_context_parse(const char *json, size_t len, char *saga_id_buf, saga_input_t *in,
                       saga_state_t *st, saga_error_t *err);

/* What a saga ended with, for saga_result_json. Strings borrowed. */
typedef struct saga_result {
    bool success;
    saga_state_t st;           /* the ids learned */
    const char *error_type;    /* failure: SAGA_CODE_* / SAGA_TYPE_*; NULL or "" -> "Failed" */
    const char *error_message; /* failure: may be NULL */
} saga_result_t;

#define SAGA_RESULT_DETAILED 1u /* a failure also carries errorType and the ids known */

/* The result JSON above. flags: 0 or SAGA_RESULT_DETAILED. malloc'd (caller frees); NULL on
 * OOM. Pure; any thread. */
char *saga_result_json(const char *id_field, const char *saga_id, const saga_result_t *r,
                       unsigned flags);

/* ---- running steps ------------------------------------------------------------------------ */

/* Transport used by the client: performs one HTTP request. Must set *status (0 on transport
 * error / timeout) and *resp_body (malloc'd, may be NULL; caller frees). `idem_key` may be NULL,
 * `body` may be NULL (no body). Returns 0 when a response (any status) arrived, nonzero on
 * transport failure. Must be callable from many threads at once. */
typedef int (*saga_transport_fn)(void *ctx, const char *method, const char *url,
                                 const char *idem_key, const char *body, long timeout_ms,
                                 int *status, char **resp_body);

typedef struct saga_client_config {
    const char *order_url;       /* base URL of the service, or a comma-separated list of its
                                    replicas' ("http://127.0.0.1:21082,http://127.0.0.1:22082");
                                    parsed and copied */
    const char *inventory_url;   /* same */
    const char *payment_url;     /* same */
    long timeout_ms;             /* per call; 0 -> 10000 */
    saga_transport_fn transport; /* NULL -> common's httpc_upstream_request (cm_httpc.h): calls
                                    spread over the replicas, failed over on a refused
                                    connection, a timeout or a 5xx; the process must have
                                    called httpc_global_init (app_new does). Set: called with
                                    the first URL of each list. */
    void *transport_ctx;         /* borrowed */
    const char *service_token;   /* sent as "Authorization: Bearer <token>" on every call by
                                    the default transport (copied; NULL or "" -> none) */
} saga_client_config_t;

struct saga_client;

/* Creates a client. Returns NULL on OOM or a missing or malformed URL list (logged with the
 * entry at fault). Thread-safe once created: any number
 * of threads may call saga_step_run on one client concurrently. */
struct saga_client *saga_client_new(const saga_client_config_t *cfg);
/* Reads ORDER_SERVICE_URL, INVENTORY_SERVICE_URL, PAYMENT_SERVICE_URL (defaults 2108x; each a
 * URL or a comma-separated list of replicas) and SERVICE_TOKEN. */
struct saga_client *saga_client_from_env(void);
void saga_client_free(struct saga_client *c);

/* Runs ONE attempt of `step` for saga `saga_id` with `Idempotency-Key: <sagaId>:<key>`.
 * Reads and updates *st (order_id after CreateOrder, payment_id after CreatePayment).
 * Returns SAGA_OK, SAGA_ERR_BUSINESS (err->type set, do not retry), SAGA_ERR_RETRYABLE (retry
 * with backoff) or SAGA_ERR_INVALID (step needs an id it does not have - a caller bug).
 * No retries inside: the caller owns the retry policy.
 *
 * Compensations are safe whatever happened to their forward step:
 *  - CancelOrder with order_id unknown replays CreateOrder with ITS key (same sagaId:createOrder,
 *    so the service answers with the existing order or refuses the same way again) to learn
 *    the id, then cancels; if that replay is a business failure there is nothing to cancel: OK.
 *  - RefundPayment with payment_id unknown does the same with CreatePayment (needs order_id; no
 *    order_id means no payment can exist: OK).
 *  - CancelReservation is always called; the service records a tombstone.
 *  - A compensation answered 404 NotFound has nothing to undo: OK. One answered 409
 *    IllegalTransition (e.g. cancel a CONFIRMED order) can never succeed: it returns
 *    SAGA_ERR_BUSINESS type IllegalTransition and the orchestrator records it and moves on.
 * Thread-safe. */
int saga_step_run(struct saga_client *c, saga_step_t step, const char *saga_id,
                  const saga_input_t *in, saga_state_t *st, saga_error_t *err);

/* JSON-in/JSON-out form for activities: ctx_json is a step context; on SAGA_OK *out_json is the
 * updated context (malloc'd; caller frees). On failure *out_json is NULL and err says why. */
int saga_step_run_json(struct saga_client *c, const char *activity_or_key, const char *ctx_json,
                       char **out_json, saga_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
