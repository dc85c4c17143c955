/* test_ot_util.c - unit tests of orchestrator-temporal's pure parts: the contract's result shape
 * as the workflow builds it, the getState query, new workflow ids, status names. No servers. */
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

/* The workflow result is saga_result_json with the contract's flags (none): exactly these. */
static void success_result_has_exactly_the_contract_fields(void **unused)
{
    (void)unused;
    saga_result_t r = {.success = true, .st = {.order_id = 10, .payment_id = 7}};
    json_t *o = parse(saga_result_json(OT_ID_FIELD, "order-1", &r, 0));
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
    saga_result_t r = {false, {.order_id = 10, .payment_id = 7}, "OutOfStock", "only 1 left"};
    json_t *o = parse(saga_result_json(OT_ID_FIELD, "order-2", &r, 0));
    assert_int_equal(json_object_size(o), 3);
    assert_true(json_is_false(json_object_get(o, "success")));
    assert_string_equal(json_string_value(json_object_get(o, "error")), "OutOfStock: only 1 left");
    assert_string_equal(json_string_value(json_object_get(o, "workflowId")), "order-2");
    json_decref(o);
}

/* getState of a workflow state driven by the machine to `upto` forward steps done. */
static json_t *state_after(int upto, ot_wf_state *s)
{
    saga_actions_t a;
    char *out = NULL;
    memset(s, 0, sizeof *s);
    saga_machine_init(&s->m, NULL);
    s->in = (saga_input_t){1, 2, 3, 20000, "CARD"};
    s->has_input = 1;
    s->st.order_id = 10;
    saga_machine_resume(&s->m, &a);
    for (saga_step_t st = SAGA_STEP_CREATE_ORDER; (int)st < upto; st = saga_step_next(st)) {
        saga_outcome_t o = {SAGA_OUT_OK, st, false, NULL, NULL};
        saga_machine_advance(&s->m, &o, &a);
    }
    assert_int_equal(ot_query_state(s, NULL, 0, NULL, &out, NULL), TC_OK);
    return parse(out);
}

static void get_state_reports_step_phase_and_stack_top_first(void **unused)
{
    (void)unused;
    ot_wf_state s;
    json_t *o = state_after(SAGA_STEP_APPROVE_PAYMENT, &s);
    assert_string_equal(json_string_value(json_object_get(o, "step")), "ApprovePayment");
    assert_string_equal(json_string_value(json_object_get(o, "phase")), "RUNNING");
    json_t *stack = json_object_get(o, "compensationStack");
    assert_int_equal(json_array_size(stack), 3);
    assert_string_equal(json_string_value(json_array_get(stack, 0)), "RefundPayment");
    assert_string_equal(json_string_value(json_array_get(stack, 2)), "CancelOrder");
    assert_int_equal(json_integer_value(json_object_get(o, "orderId")), 10);
    assert_true(json_is_null(json_object_get(o, "paymentId")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "input"), "amount")),
                     20000);
    assert_null(json_object_get(o, "error"));
    json_decref(o);
}

static void get_state_during_the_confirms_has_no_stack(void **unused)
{
    (void)unused;
    ot_wf_state s;
    json_t *o = state_after(SAGA_STEP_CONFIRM_ORDER, &s); /* the pivot passed */
    assert_string_equal(json_string_value(json_object_get(o, "step")), "ConfirmOrder");
    assert_string_equal(json_string_value(json_object_get(o, "phase")), "RUNNING");
    assert_int_equal(json_array_size(json_object_get(o, "compensationStack")), 0);
    json_decref(o);
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
        cmocka_unit_test(get_state_reports_step_phase_and_stack_top_first),
        cmocka_unit_test(get_state_during_the_confirms_has_no_stack),
        cmocka_unit_test(new_ids_are_uuid_v4_and_differ),
        cmocka_unit_test(status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
