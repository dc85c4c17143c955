/* test_saga_unit.c - unit tests of saga/ (step table, compensation plan, error classification,
 * input validation, JSON shapes, saga ids, per-step calls on a fake transport). The state
 * machine has test_saga_machine.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga.h"

/* ---- step table ---------------------------------------------------------------------------- */

static void forward_steps_run_in_design_order(void **state)
{
    (void)state;
    const char *want[] = {"CreateOrder",  "ReserveStock",       "CreatePayment", "ApprovePayment",
                          "ConfirmOrder", "ConfirmReservation", "ConfirmPayment"};
    saga_step_t s = SAGA_STEP_CREATE_ORDER;
    for (int i = 0; i < 7; i++) {
        assert_string_equal(saga_step_activity(s), want[i]);
        assert_true(saga_step_is_forward(s));
        s = saga_step_next(s);
    }
    assert_int_equal(s, SAGA_STEP_NONE);
}

static void compensations_are_registered_for_t1_t2_t3_only(void **state)
{
    (void)state;
    assert_int_equal(saga_step_compensation(SAGA_STEP_CREATE_ORDER), SAGA_STEP_CANCEL_ORDER);
    assert_int_equal(saga_step_compensation(SAGA_STEP_RESERVE_STOCK), SAGA_STEP_CANCEL_RESERVATION);
    assert_int_equal(saga_step_compensation(SAGA_STEP_CREATE_PAYMENT), SAGA_STEP_REFUND_PAYMENT);
    assert_int_equal(saga_step_compensation(SAGA_STEP_APPROVE_PAYMENT), SAGA_STEP_NONE);
    assert_int_equal(saga_step_compensation(SAGA_STEP_CONFIRM_PAYMENT), SAGA_STEP_NONE);
    assert_int_equal(saga_step_compensation(SAGA_STEP_CANCEL_ORDER), SAGA_STEP_NONE);
    assert_false(saga_step_is_forward(SAGA_STEP_REFUND_PAYMENT));
}

static void only_the_confirm_steps_come_after_the_pivot(void **state)
{
    (void)state;
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        assert_int_equal(saga_step_after_pivot((saga_step_t)i),
                         i == SAGA_STEP_CONFIRM_ORDER || i == SAGA_STEP_CONFIRM_RESERVATION ||
                             i == SAGA_STEP_CONFIRM_PAYMENT);
    assert_false(saga_step_after_pivot(SAGA_STEP_NONE));
}

static void activity_names_and_keys_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < SAGA_STEP_COUNT; i++) {
        assert_int_equal(saga_step_from_name(saga_step_activity((saga_step_t)i)), i);
        assert_int_equal(saga_step_from_name(saga_step_key((saga_step_t)i)), i);
    }
    assert_int_equal(saga_step_from_name("Nope"), SAGA_STEP_NONE);
    assert_int_equal(saga_step_from_name(NULL), SAGA_STEP_NONE);
    assert_null(saga_step_activity(SAGA_STEP_COUNT));
}

static void compensation_plan_is_lifo(void **state)
{
    (void)state;
    saga_step_t plan[8];
    assert_int_equal(saga_compensation_plan(SAGA_STEP_NONE, plan, 8), 0);
    assert_int_equal(saga_compensation_plan(SAGA_STEP_CREATE_ORDER, plan, 8), 1);
    assert_int_equal(plan[0], SAGA_STEP_CANCEL_ORDER);
    assert_int_equal(saga_compensation_plan(SAGA_STEP_APPROVE_PAYMENT, plan, 8), 3);
    assert_int_equal(plan[0], SAGA_STEP_REFUND_PAYMENT);
    assert_int_equal(plan[1], SAGA_STEP_CANCEL_RESERVATION);
    assert_int_equal(plan[2], SAGA_STEP_CANCEL_ORDER);
    assert_int_equal(saga_compensation_plan(SAGA_STEP_RESERVE_STOCK, plan, 8), 2);
    assert_int_equal(plan[0], SAGA_STEP_CANCEL_RESERVATION);
    assert_int_equal(saga_compensation_plan(SAGA_STEP_CONFIRM_PAYMENT, plan, 2), 2);
}

static void idempotency_key_is_saga_id_colon_step(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(saga_idempotency_key(buf, sizeof buf, "order-1", SAGA_STEP_RESERVE_STOCK), 0);
    assert_string_equal(buf, "order-1:reserveStock");
    assert_int_equal(saga_idempotency_key(buf, 8, "order-1", SAGA_STEP_RESERVE_STOCK),
                     SAGA_ERR_INVALID);
    assert_int_equal(saga_idempotency_key(buf, sizeof buf, "x", SAGA_STEP_COUNT), SAGA_ERR_INVALID);
}

/* ---- error classification ------------------------------------------------------------------ */

static void classify_follows_the_error_code_table(void **state)
{
    (void)state;
    saga_error_t e;
    assert_int_equal(saga_classify(200, NULL, &e), SAGA_OK);
    assert_int_equal(saga_classify(201, NULL, &e), SAGA_OK);
    assert_int_equal(saga_classify(0, NULL, &e), SAGA_ERR_RETRYABLE);
    assert_int_equal(saga_classify(500, "Internal", &e), SAGA_ERR_RETRYABLE);
    assert_int_equal(saga_classify(503, "Unavailable", &e), SAGA_ERR_RETRYABLE);
    assert_int_equal(saga_classify(429, "Busy", &e), SAGA_ERR_RETRYABLE);
    assert_int_equal(saga_classify(409, "IdempotencyInFlight", &e), SAGA_ERR_RETRYABLE);
    assert_int_equal(saga_classify(409, "OutOfStock", &e), SAGA_ERR_BUSINESS);
    assert_string_equal(e.type, "OutOfStock");
    assert_int_equal(saga_classify(402, "InsufficientBalance", &e), SAGA_ERR_BUSINESS);
    assert_string_equal(e.type, "InsufficientBalance");
    assert_int_equal(saga_classify(409, "ReservationCancelled", &e), SAGA_ERR_BUSINESS);
    assert_string_equal(e.type, "ReservationCancelled");
    assert_int_equal(saga_classify(409, "IllegalTransition", &e), SAGA_ERR_BUSINESS);
    assert_string_equal(e.type, "IllegalTransition");
    const int invalid[] = {400, 404, 405, 413, 415, 422};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        assert_int_equal(saga_classify(invalid[i], "X", &e), SAGA_ERR_BUSINESS);
        assert_string_equal(e.type, "InvalidRequest");
        assert_int_equal(e.http_status, invalid[i]);
    }
}

static void in_flight_twin_is_told_apart_from_other_retryable_errors(void **state)
{
    (void)state;
    saga_error_t e;
    saga_classify(409, "IdempotencyInFlight", &e);
    assert_true(saga_error_in_flight(&e));
    saga_classify(503, "Unavailable", &e);
    assert_false(saga_error_in_flight(&e));
    saga_classify(409, "OutOfStock", &e);
    assert_false(saga_error_in_flight(&e));
}

static void retry_outcome_labels_name_the_answer(void **state)
{
    (void)state;
    saga_error_t e;
    char out[24];
    saga_classify(409, "IdempotencyInFlight", &e);
    assert_string_equal(saga_retry_outcome(&e, out, sizeof out), "in_flight");
    saga_classify(503, "Unavailable", &e);
    assert_string_equal(saga_retry_outcome(&e, out, sizeof out), "http_503");
    saga_classify(0, NULL, &e);
    assert_string_equal(saga_retry_outcome(&e, out, sizeof out), "transport");
}

static void backoff_doubles_up_to_the_cap(void **state)
{
    (void)state;
    assert_int_equal(saga_backoff_ms(1, 1000, 10000), 1000);
    assert_int_equal(saga_backoff_ms(2, 1000, 10000), 2000);
    assert_int_equal(saga_backoff_ms(4, 1000, 10000), 8000);
    assert_int_equal(saga_backoff_ms(5, 1000, 10000), 10000);
    assert_int_equal(saga_backoff_ms(500, 1000, 10000), 10000);
}

/* ---- input validation ---------------------------------------------------------------------- */

static int parse(const char *body, saga_input_t *in, saga_error_t *e)
{
    return saga_input_parse(body, strlen(body), in, e);
}

static void valid_body_parses_with_card_default(void **state)
{
    (void)state;
    saga_input_t in;
    saga_error_t e;
    assert_int_equal(
        parse("{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":20000}", &in, &e), 0);
    assert_int_equal(in.customer_id, 1);
    assert_int_equal(in.product_id, 2);
    assert_int_equal(in.quantity, 3);
    assert_int_equal(in.amount, 20000);
    assert_string_equal(in.payment_method, "CARD");
    assert_int_equal(parse("{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":5,"
                           "\"paymentMethod\":\"BANK\"}",
                           &in, &e),
                     0);
    assert_string_equal(in.payment_method, "BANK");
}

static void invalid_bodies_are_refused_naming_the_field(void **state)
{
    (void)state;
    saga_input_t in;
    saga_error_t e;
    struct {
        const char *body, *needle;
    } cases[] = {
        {"", "empty"},
        {"{", "malformed"},
        {"[]", "object"},
        {"{\"productId\":2,\"quantity\":3,\"amount\":5}", "customerId"},
        {"{\"customerId\":0,\"productId\":2,\"quantity\":3,\"amount\":5}", "customerId"},
        {"{\"customerId\":1,\"productId\":-2,\"quantity\":3,\"amount\":5}", "productId"},
        {"{\"customerId\":1,\"productId\":2,\"quantity\":\"3\",\"amount\":5}", "quantity"},
        {"{\"customerId\":1,\"productId\":2,\"quantity\":3.0,\"amount\":5}", "quantity"},
        {"{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":0}", "amount"},
        {"{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":5,\"paymentMethod\":7}",
         "paymentMethod"},
        {"{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":5,\"paymentMethod\":\"\"}",
         "paymentMethod"},
        {"{\"customerId\":1,\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":5}",
         "malformed"},
        {"{\"customerId\":1,\"productId\":2,\"quantity\":99999999999999999999,\"amount\":5}",
         "malformed"},
        {"{\"customerId\":1,\"productId\":2,\"quantity\":1000000001,\"amount\":5}",
         "at most 1000000000"},
        {"{\"customerId\":1,\"productId\":2,\"quantity\":2147483648,\"amount\":5}", "quantity"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse(cases[i].body, &in, &e), SAGA_ERR_INVALID);
        if (strstr(e.message, cases[i].needle) == NULL)
            fail_msg("body %s: message '%s' lacks '%s'", cases[i].body, e.message, cases[i].needle);
    }
}

static void context_json_round_trips(void **state)
{
    (void)state;
    saga_input_t in = {1, 2, 3, 4, "CARD"}, in2;
    saga_state_t st = {10, 0}, st2;
    char id[SAGA_ID_MAX];
    char *s = saga_context_json("order-x", &in, &st);
    assert_non_null(s);
    assert_null(strstr(s, "paymentId"));
    assert_int_equal(saga_context_parse(s, strlen(s), id, &in2, &st2, NULL), 0);
    assert_string_equal(id, "order-x");
    assert_int_equal(st2.order_id, 10);
    assert_int_equal(st2.payment_id, 0);
    assert_int_equal(in2.amount, 4);
    free(s);
    const char *bad = "{\"sagaId\":\"a/b\",\"customerId\":1,\"productId\":2,\"quantity\":3,"
                      "\"amount\":4}";
    assert_int_equal(saga_context_parse(bad, strlen(bad), id, &in2, &st2, NULL), SAGA_ERR_INVALID);
}

static void result_json_has_the_documented_shape(void **state)
{
    (void)state;
    saga_result_t ok = {.success = true, .st = {10, 7}};
    char *s = saga_result_json("sagaId", "order-x", &ok, SAGA_RESULT_DETAILED);
    assert_string_equal(s,
                        "{\"success\":true,\"orderId\":10,\"paymentId\":7,\"sagaId\":\"order-x\"}");
    free(s);
    s = saga_result_json("workflowId", "order-x", &ok, 0);
    assert_string_equal(
        s, "{\"success\":true,\"orderId\":10,\"paymentId\":7,\"workflowId\":\"order-x\"}");
    free(s);
    saga_result_t failed = {false, {10, 0}, "OutOfStock", "no stock"};
    s = saga_result_json("sagaId", "order-y", &failed, SAGA_RESULT_DETAILED);
    assert_string_equal(s, "{\"success\":false,\"orderId\":10,\"error\":\"OutOfStock: no stock\","
                           "\"errorType\":\"OutOfStock\",\"sagaId\":\"order-y\"}");
    free(s);
    /* DESIGN's Temporal shape: exactly success, error, workflowId */
    s = saga_result_json("workflowId", "order-y", &failed, 0);
    assert_string_equal(s, "{\"success\":false,\"error\":\"OutOfStock: no stock\","
                           "\"workflowId\":\"order-y\"}");
    free(s);
    saga_result_t untyped = {0};
    s = saga_result_json(NULL, "order-z", &untyped, SAGA_RESULT_DETAILED);
    assert_non_null(strstr(s, "\"errorType\":\"Failed\""));
    assert_non_null(strstr(s, "\"sagaId\":\"order-z\""));
    free(s);
}

static void input_json_is_exactly_the_order_body_and_round_trips(void **state)
{
    (void)state;
    saga_input_t in = {1, 2, 3, 20000, "CARD"}, back;
    char *s = saga_input_json(&in);
    assert_string_equal(s, "{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":20000,"
                           "\"paymentMethod\":\"CARD\"}");
    assert_int_equal(saga_input_parse(s, strlen(s), &back, NULL), 0);
    assert_true(saga_input_equal(&in, &back));
    free(s);
    back.quantity = 4;
    assert_false(saga_input_equal(&in, &back));
    back = in;
    strcpy(back.payment_method, "BANK");
    assert_false(saga_input_equal(&in, &back));
}

static void saga_ids_follow_the_contract_rule(void **state)
{
    (void)state;
    char longest[SAGA_ID_MAX], too_long[SAGA_ID_MAX + 1];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    assert_true(saga_id_valid("pure-3f2a.b_c:d"));
    assert_true(saga_id_valid(longest));
    assert_false(saga_id_valid(too_long));
    assert_false(saga_id_valid(""));
    assert_false(saga_id_valid(NULL));
    const char *bad[] = {"a b", "a/b", "a?b", "a%20", "caf\xc3\xa9", "!~"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(saga_id_valid(bad[i]));
}

static void plain_key_is_embedded_in_the_saga_id(void **state)
{
    (void)state;
    char id[SAGA_ID_MAX];
    assert_int_equal(saga_id_from_key("order-", "abc-123_X.y:z", id, sizeof id), 0);
    assert_string_equal(id, "order-abc-123_X.y:z");
    assert_int_equal(saga_id_from_key("pure-", "k1", id, sizeof id), 0);
    assert_string_equal(id, "pure-k1");
}

static void awkward_or_long_key_is_hashed_stably_into_a_valid_id(void **state)
{
    (void)state;
    char a[SAGA_ID_MAX], b[SAGA_ID_MAX], c[SAGA_ID_MAX], longkey[SAGA_KEY_EMBED_MAX + 2];
    assert_int_equal(saga_id_from_key("order-", "k/with spaces=", a, sizeof a), 0);
    assert_int_equal(saga_id_from_key("order-", "k/with spaces=", b, sizeof b), 0);
    assert_int_equal(saga_id_from_key("order-", "k/with spaces!", c, sizeof c), 0);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), strlen("order-k") + 32);
    assert_true(saga_id_valid(a));
    memset(longkey, 'a', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_int_equal(saga_id_from_key("pure-", longkey, a, sizeof a), 0);
    assert_int_equal(strncmp(a, "pure-k", 6), 0);
    longkey[SAGA_KEY_EMBED_MAX] = '\0'; /* exactly the limit: embedded */
    assert_int_equal(saga_id_from_key("pure-", longkey, a, sizeof a), 0);
    assert_string_equal(a + 5, longkey);
    assert_int_equal(saga_id_from_key("pure-", "", a, sizeof a), -1);
    assert_int_equal(saga_id_from_key("pure-", NULL, a, sizeof a), -1);
    assert_int_equal(saga_id_from_key("pure-", "abc", a, 6), -1); /* does not fit */
}

/* ---- step calls on a fake transport -------------------------------------------------------- */

typedef struct fake_call {
    char method[8];
    char url[256];
    char key[160];
    char body[256];
} fake_call_t;

typedef struct fake {
    int n;
    fake_call_t calls[8];
    int status[8]; /* answer per call index */
    const char *resp[8];
} fake_t;

static int fake_transport(void *ctx, const char *method, const char *url, const char *key,
                          const char *body, long timeout_ms, int *status, char **resp)
{
    fake_t *f = ctx;
    (void)timeout_ms;
    assert_true(f->n < 8);
    fake_call_t *c = &f->calls[f->n];
    snprintf(c->method, sizeof c->method, "%s", method);
    snprintf(c->url, sizeof c->url, "%s", url);
    snprintf(c->key, sizeof c->key, "%s", key ? key : "");
    snprintf(c->body, sizeof c->body, "%s", body ? body : "");
    *status = f->status[f->n];
    *resp = f->resp[f->n] ? strdup(f->resp[f->n]) : NULL;
    f->n++;
    return *status == 0 ? -1 : 0;
}

static struct saga_client *fake_client(fake_t *f)
{
    saga_client_config_t cfg = {"http://o:1/", "http://i:2", "http://p:3", 1000, fake_transport, f,
                                NULL};
    return saga_client_new(&cfg);
}

static const saga_input_t IN = {5, 6, 2, 20000, "CARD"};

static void create_order_posts_body_with_key_and_learns_id(void **state)
{
    (void)state;
    fake_t f = {.status = {201}, .resp = {"{\"orderId\":42,\"status\":\"CREATED\"}"}};
    struct saga_client *c = fake_client(&f);
    saga_state_t st = {0, 0};
    saga_error_t e;
    assert_int_equal(saga_step_run(c, SAGA_STEP_CREATE_ORDER, "order-a", &IN, &st, &e), 0);
    assert_int_equal(st.order_id, 42);
    assert_string_equal(f.calls[0].method, "POST");
    assert_string_equal(f.calls[0].url, "http://o:1/api/orders");
    assert_string_equal(f.calls[0].key, "order-a:createOrder");
    assert_non_null(strstr(f.calls[0].body, "\"sagaId\":\"order-a\""));
    assert_non_null(strstr(f.calls[0].body, "\"amount\":20000"));
    saga_client_free(c);
}

static void every_step_calls_its_documented_endpoint(void **state)
{
    (void)state;
    struct {
        saga_step_t step;
        const char *method, *url;
    } cases[] = {
        {SAGA_STEP_RESERVE_STOCK, "POST", "http://i:2/api/inventory/6/reserve?qty=2&sagaId=s1"},
        {SAGA_STEP_APPROVE_PAYMENT, "POST", "http://p:3/api/payments/7/approve"},
        {SAGA_STEP_CONFIRM_ORDER, "PATCH", "http://o:1/api/orders/42/confirm"},
        {SAGA_STEP_CONFIRM_RESERVATION, "POST",
         "http://i:2/api/inventory/6/confirm?qty=2&sagaId=s1"},
        {SAGA_STEP_CONFIRM_PAYMENT, "POST", "http://p:3/api/payments/7/confirm"},
        {SAGA_STEP_REFUND_PAYMENT, "POST", "http://p:3/api/payments/7/refund"},
        {SAGA_STEP_CANCEL_RESERVATION, "POST", "http://i:2/api/inventory/6/cancel?qty=2&sagaId=s1"},
        {SAGA_STEP_CANCEL_ORDER, "PATCH", "http://o:1/api/orders/42/cancel"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_t f = {.status = {200}, .resp = {"{}"}};
        struct saga_client *c = fake_client(&f);
        saga_state_t st = {42, 7};
        char key[64];
        assert_int_equal(saga_step_run(c, cases[i].step, "s1", &IN, &st, NULL), 0);
        assert_int_equal(f.n, 1);
        assert_string_equal(f.calls[0].method, cases[i].method);
        assert_string_equal(f.calls[0].url, cases[i].url);
        snprintf(key, sizeof key, "s1:%s", saga_step_key(cases[i].step));
        assert_string_equal(f.calls[0].key, key);
        saga_client_free(c);
    }
}

static void business_and_retryable_answers_are_told_apart(void **state)
{
    (void)state;
    fake_t f = {.status = {402, 503, 0},
                .resp = {"{\"code\":\"InsufficientBalance\",\"detail\":\"too much\"}",
                         "{\"code\":\"Unavailable\"}", NULL}};
    struct saga_client *c = fake_client(&f);
    saga_state_t st = {42, 7};
    saga_error_t e;
    assert_int_equal(saga_step_run(c, SAGA_STEP_APPROVE_PAYMENT, "s", &IN, &st, &e),
                     SAGA_ERR_BUSINESS);
    assert_string_equal(e.type, "InsufficientBalance");
    assert_non_null(strstr(e.message, "too much"));
    assert_int_equal(saga_step_run(c, SAGA_STEP_APPROVE_PAYMENT, "s", &IN, &st, &e),
                     SAGA_ERR_RETRYABLE);
    assert_int_equal(saga_step_run(c, SAGA_STEP_APPROVE_PAYMENT, "s", &IN, &st, &e),
                     SAGA_ERR_RETRYABLE);
    saga_client_free(c);
}

static void step_needing_an_unknown_id_is_a_caller_error(void **state)
{
    (void)state;
    fake_t f = {0};
    struct saga_client *c = fake_client(&f);
    saga_state_t st = {0, 0};
    assert_int_equal(saga_step_run(c, SAGA_STEP_APPROVE_PAYMENT, "s", &IN, &st, NULL),
                     SAGA_ERR_INVALID);
    assert_int_equal(saga_step_run(c, SAGA_STEP_CONFIRM_ORDER, "s", &IN, &st, NULL),
                     SAGA_ERR_INVALID);
    assert_int_equal(f.n, 0);
    saga_client_free(c);
}

static void cancel_order_without_id_replays_create_with_its_key(void **state)
{
    (void)state;
    fake_t f = {.status = {200, 200}, .resp = {"{\"orderId\":42}", "{}"}};
    struct saga_client *c = fake_client(&f);
    saga_state_t st = {0, 0};
    assert_int_equal(saga_step_run(c, SAGA_STEP_CANCEL_ORDER, "s", &IN, &st, NULL), 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.calls[0].key, "s:createOrder");
    assert_string_equal(f.calls[1].url, "http://o:1/api/orders/42/cancel");
    assert_string_equal(f.calls[1].key, "s:cancelOrder");
    saga_client_free(c);
}

static void cancel_order_when_create_was_refused_does_nothing(void **state)
{
    (void)state;
    fake_t f = {.status = {400}, .resp = {"{\"code\":\"ValidationFailed\"}"}};
    struct saga_client *c = fake_client(&f);
    saga_state_t st = {0, 0};
    assert_int_equal(saga_step_run(c, SAGA_STEP_CANCEL_ORDER, "s", &IN, &st, NULL), 0);
    assert_int_equal(f.n, 1);
    saga_client_free(c);
}

static void refund_without_order_makes_no_call(void **state)
{
    (void)state;
    fake_t f = {0};
    struct saga_client *c = fake_client(&f);
    saga_state_t st = {0, 0};
    assert_int_equal(saga_step_run(c, SAGA_STEP_REFUND_PAYMENT, "s", &IN, &st, NULL), 0);
    assert_int_equal(f.n, 0);
    saga_client_free(c);
}

static void compensation_of_a_missing_target_succeeds(void **state)
{
    (void)state;
    fake_t f = {.status = {404}, .resp = {"{\"code\":\"NotFound\"}"}};
    struct saga_client *c = fake_client(&f);
    saga_state_t st = {42, 7};
    assert_int_equal(saga_step_run(c, SAGA_STEP_REFUND_PAYMENT, "s", &IN, &st, NULL), 0);
    saga_client_free(c);
}

static void json_entry_point_runs_a_step_by_activity_name(void **state)
{
    (void)state;
    fake_t f = {.status = {201}, .resp = {"{\"paymentId\":9}"}};
    struct saga_client *c = fake_client(&f);
    char *out = NULL;
    saga_error_t e;
    const char *ctx = "{\"sagaId\":\"order-z\",\"customerId\":1,\"productId\":2,\"quantity\":3,"
                      "\"amount\":4,\"orderId\":42}";
    assert_int_equal(saga_step_run_json(c, "CreatePayment", ctx, &out, &e), 0);
    assert_non_null(strstr(out, "\"paymentId\":9"));
    assert_non_null(strstr(out, "\"orderId\":42"));
    assert_string_equal(f.calls[0].key, "order-z:createPayment");
    free(out);
    assert_int_equal(saga_step_run_json(c, "Nope", ctx, &out, &e), SAGA_ERR_INVALID);
    assert_null(out);
    saga_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_steps_run_in_design_order),
        cmocka_unit_test(compensations_are_registered_for_t1_t2_t3_only),
        cmocka_unit_test(only_the_confirm_steps_come_after_the_pivot),
        cmocka_unit_test(activity_names_and_keys_round_trip),
        cmocka_unit_test(compensation_plan_is_lifo),
        cmocka_unit_test(idempotency_key_is_saga_id_colon_step),
        cmocka_unit_test(classify_follows_the_error_code_table),
        cmocka_unit_test(in_flight_twin_is_told_apart_from_other_retryable_errors),
        cmocka_unit_test(retry_outcome_labels_name_the_answer),
        cmocka_unit_test(backoff_doubles_up_to_the_cap),
        cmocka_unit_test(valid_body_parses_with_card_default),
        cmocka_unit_test(invalid_bodies_are_refused_naming_the_field),
        cmocka_unit_test(context_json_round_trips),
        cmocka_unit_test(result_json_has_the_documented_shape),
        cmocka_unit_test(input_json_is_exactly_the_order_body_and_round_trips),
        cmocka_unit_test(saga_ids_follow_the_contract_rule),
        cmocka_unit_test(plain_key_is_embedded_in_the_saga_id),
        cmocka_unit_test(awkward_or_long_key_is_hashed_stably_into_a_valid_id),
        cmocka_unit_test(create_order_posts_body_with_key_and_learns_id),
        cmocka_unit_test(every_step_calls_its_documented_endpoint),
        cmocka_unit_test(business_and_retryable_answers_are_told_apart),
        cmocka_unit_test(step_needing_an_unknown_id_is_a_caller_error),
        cmocka_unit_test(cancel_order_without_id_replays_create_with_its_key),
        cmocka_unit_test(cancel_order_when_create_was_refused_does_nothing),
        cmocka_unit_test(refund_without_order_makes_no_call),
        cmocka_unit_test(compensation_of_a_missing_target_succeeds),
        cmocka_unit_test(json_entry_point_runs_a_step_by_activity_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
