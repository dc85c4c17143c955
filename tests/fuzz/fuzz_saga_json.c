/* fuzz_saga_json.c - the saga's JSON: a step context (activity input and output), and the
 * service answers a step reads (status + body from the input, through a plugged transport),
 * for every step, then the result JSON built from what was learned. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga.h"

typedef struct answer {
    int status;
    const uint8_t *body;
    size_t len;
} answer_t;

static int transport(void *ctx, const char *method, const char *url, const char *idem_key,
                     const char *body, long timeout_ms, int *status, char **resp)
{
    (void)method;
    (void)url;
    (void)idem_key;
    (void)body;
    (void)timeout_ms;
    const answer_t *a = ctx;
    *status = a->status;
    *resp = malloc(a->len + 1);
    if (*resp == NULL)
        return -1;
    memcpy(*resp, a->body, a->len);
    (*resp)[a->len] = '\0';
    return 0;
}

/* The input as an activity's context: each activity (orchestrator-temporal's JSON-in/JSON-out
 * form) against services that all answer 200 with both ids. */
static void activities(const uint8_t *data, size_t size)
{
    static const uint8_t ok[] = "{\"orderId\":1,\"paymentId\":2,\"status\":\"CREATED\"}";
    answer_t a = {.status = 200, .body = ok, .len = sizeof ok - 1};
    saga_client_config_t cfg = {.order_url = "http://o",
                                .inventory_url = "http://i",
                                .payment_url = "http://p",
                                .transport = transport,
                                .transport_ctx = &a};
    struct saga_client *c = saga_client_new(&cfg);
    char *ctx = malloc(size + 1);
    if (c != NULL && ctx != NULL) {
        memcpy(ctx, data, size);
        ctx[size] = '\0';
        for (int s = 0; s < SAGA_STEP_COUNT; s++) {
            char *out = NULL;
            saga_error_t e = {0};
            if (saga_step_run_json(c, saga_step_activity((saga_step_t)s), ctx, &out, &e) ==
                    SAGA_OK &&
                out == NULL)
                abort();
            free(out);
        }
    }
    free(ctx);
    saga_client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    activities(data, size);
    char id[SAGA_ID_MAX];
    saga_input_t in;
    saga_state_t st;
    saga_error_t err = {0};
    if (saga_context_parse((const char *)data, size, id, &in, &st, &err) == 0) {
        char *again = saga_context_json(id, &in, &st);
        if (again == NULL)
            abort();
        char id2[SAGA_ID_MAX];
        saga_input_t in2;
        saga_state_t st2;
        if (saga_context_parse(again, strlen(again), id2, &in2, &st2, &err) != 0 ||
            strcmp(id, id2) != 0 || in.amount != in2.amount || st.order_id != st2.order_id)
            abort(); /* what we write we must read back */
        free(again);
    }
    if (size < 2)
        return 0;
    /* Service answers: the first two bytes choose the status, the rest is the body. */
    answer_t a = {
        .status = 100 + (data[0] << 8 | data[1]) % 500, .body = data + 2, .len = size - 2};
    saga_client_config_t cfg = {.order_url = "http://o",
                                .inventory_url = "http://i",
                                .payment_url = "http://p",
                                .transport = transport,
                                .transport_ctx = &a};
    struct saga_client *c = saga_client_new(&cfg);
    if (c == NULL)
        return 0;
    saga_input_t order = {.customer_id = 1, .product_id = 2, .quantity = 3, .amount = 4};
    snprintf(order.payment_method, sizeof order.payment_method, "CARD");
    saga_state_t learned = {.order_id = 5, .payment_id = 6};
    for (int s = 0; s < SAGA_STEP_COUNT; s++) {
        saga_error_t e = {0};
        int rc = saga_step_run(c, (saga_step_t)s, "order-fuzz", &order, &learned, &e);
        if (rc != SAGA_OK && e.message[0] == '\0')
            abort(); /* a failed step always says why */
    }
    saga_result_t r = {.success = learned.order_id > 0,
                       .st = learned,
                       .error_type = err.type,
                       .error_message = err.message};
    char *res = saga_result_json("workflowId", "order-fuzz", &r, SAGA_RESULT_DETAILED);
    free(res);
    saga_client_free(c);
    return 0;
}
