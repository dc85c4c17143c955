/* test_ot_util.c - unit tests of orchestrator-temporal's pure helpers: the contract's result and
 * input shapes, workflow ids from Idempotency-Keys, status names. No servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ot.h"

static json_t *parse(char *s)
{
    assert_non_null(s);
    json_t *o = json_loads(s, 0, NULL);
    free(s);
    assert_non_null(o);
    return o;
}

static void success_result_has_exactly_the_contract_fields(void **unused)
{
    (void)unused;
    saga_state_t st = {.order_id = 10, .payment_id = 7};
    json_t *o = parse(ot_result_json("order-1", 1, &st, "ignored"));
    assert_int_equal(json_object_size(o), 4);
    assert_true(json_is_true(json_object_get(o, "success")));
    assert_int_equal(json_integer_value(json_object_get(o, "orderId")), 10);
    assert_int_equal(json_integer_value(json_object_get(o, "paymentId")), 7);
    assert_string_equal(json_string_value(json_object_get(o, "workflowId")), "order-1");
    json_decref(o);
}

static void failure_result_has_exactly_success_error_workflow_id(void **unused)
{
    (void)unused;
    saga_state_t st = {.order_id = 10, .payment_id = 7};
    json_t *o = parse(ot_result_json("order-2", 0, &st, "OutOfStock: only 1 left"));
    assert_int_equal(json_object_size(o), 3);
    assert_true(json_is_false(json_object_get(o, "success")));
    assert_string_equal(json_string_value(json_object_get(o, "error")), "OutOfStock: only 1 left");
    assert_string_equal(json_string_value(json_object_get(o, "workflowId")), "order-2");
    json_decref(o);
}

static void input_json_is_the_order_body(void **unused)
{
    (void)unused;
    saga_input_t in = {.customer_id = 1, .product_id = 2, .quantity = 3, .amount = 20000};
    strcpy(in.payment_method, "CARD");
    char *s = ot_input_json(&in);
    assert_string_equal(s, "{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":20000,"
                           "\"paymentMethod\":\"CARD\"}");
    free(s);
}

static void plain_key_becomes_order_prefix_and_key(void **unused)
{
    (void)unused;
    char id[SAGA_ID_MAX];
    assert_int_equal(ot_workflow_id_from_key("abc-123_X.y", id, sizeof id), 0);
    assert_string_equal(id, "order-abc-123_X.y");
}

static void awkward_key_is_hashed_stably_into_a_valid_id(void **unused)
{
    (void)unused;
    char a[SAGA_ID_MAX], b[SAGA_ID_MAX], c[SAGA_ID_MAX];
    assert_int_equal(ot_workflow_id_from_key("k/with spaces:and colons", a, sizeof a), 0);
    assert_int_equal(ot_workflow_id_from_key("k/with spaces:and colons", b, sizeof b), 0);
    assert_int_equal(ot_workflow_id_from_key("k/with spaces:and colonz", c, sizeof c), 0);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), strlen("order-k") + 32);
    assert_true(saga_id_valid(a));
    /* A 65-byte key of plain characters is too long to embed: hashed too. */
    char longkey[66];
    memset(longkey, 'a', 65);
    longkey[65] = '\0';
    assert_int_equal(ot_workflow_id_from_key(longkey, a, sizeof a), 0);
    assert_int_equal(strncmp(a, "order-k", 7), 0);
    assert_int_equal(ot_workflow_id_from_key("", a, sizeof a), -1);
    assert_int_equal(ot_workflow_id_from_key(NULL, a, sizeof a), -1);
}

static void new_ids_are_uuid_v4_and_differ(void **unused)
{
    (void)unused;
    char a[SAGA_ID_MAX], b[SAGA_ID_MAX];
    assert_int_equal(ot_workflow_id_new(a, sizeof a), 0);
    assert_int_equal(ot_workflow_id_new(b, sizeof b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), strlen("order-") + 36);
    assert_int_equal(a[6 + 14], '4');
    assert_true(saga_id_valid(a));
    assert_int_equal(ot_workflow_id_new(a, 10), -1);
}

static void status_names(void **unused)
{
    (void)unused;
    assert_string_equal(ot_status_name(TC_WF_RUNNING), "RUNNING");
    assert_string_equal(ot_status_name(TC_WF_COMPLETED), "COMPLETED");
    assert_string_equal(ot_status_name(TC_WF_TERMINATED), "TERMINATED");
    assert_string_equal(ot_status_name(99), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(success_result_has_exactly_the_contract_fields),
        cmocka_unit_test(failure_result_has_exactly_success_error_workflow_id),
        cmocka_unit_test(input_json_is_the_order_body),
        cmocka_unit_test(plain_key_becomes_order_prefix_and_key),
        cmocka_unit_test(awkward_key_is_hashed_stably_into_a_valid_id),
        cmocka_unit_test(new_ids_are_uuid_v4_and_differ),
        cmocka_unit_test(status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
