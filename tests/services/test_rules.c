/* test_rules.c - unit tests for the three services' pure domain rules: every legal and illegal
 * transition of orders, reservations and payments, and request validation. No servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <stdlib.h>

#include "gateway.h"
#include "inventory.h"
#include "order.h"
#include "payment.h"

static void order_transitions_follow_the_state_machine(void **state)
{
    (void)state;
    assert_int_equal(order_decide(ORDER_CREATED, ORDER_ACT_CONFIRM), ORDER_APPLY);
    assert_int_equal(order_decide(ORDER_CREATED, ORDER_ACT_CANCEL), ORDER_APPLY);
    assert_int_equal(order_decide(ORDER_CONFIRMED, ORDER_ACT_CONFIRM), ORDER_NOOP);
    assert_int_equal(order_decide(ORDER_CANCELLED, ORDER_ACT_CANCEL), ORDER_NOOP);
    assert_int_equal(order_decide(ORDER_CANCELLED, ORDER_ACT_CONFIRM), ORDER_REFUSE);
    assert_int_equal(order_decide(ORDER_CONFIRMED, ORDER_ACT_CANCEL), ORDER_REFUSE);
    assert_int_equal(order_action_target(ORDER_ACT_CONFIRM), ORDER_CONFIRMED);
    assert_string_equal(order_action_event(ORDER_ACT_CANCEL), "OrderCancelled");
}

static void order_status_names_round_trip(void **state)
{
    (void)state;
    order_status_t s;
    for (int i = ORDER_CREATED; i <= ORDER_CANCELLED; i++) {
        assert_int_equal(order_status_parse(order_status_name((order_status_t)i), &s), 0);
        assert_int_equal(s, i);
    }
    assert_int_equal(order_status_parse("SHIPPED", &s), -1);
    assert_string_equal(order_status_name((order_status_t)42), "UNKNOWN");
}

static void order_create_body_is_validated(void **state)
{
    (void)state;
    char detail[160];
    json_t *obj = NULL;
    order_t o;
    const char *ok = "{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":4,"
                     "\"sagaId\":\"s-1\",\"extra\":true}";
    assert_int_equal(
        json_parse_object(ok, strlen(ok), order_create_fields, 0, &obj, detail, sizeof detail), 0);
    assert_int_equal(order_from_json(obj, &o, detail, sizeof detail), 0);
    assert_int_equal(o.customer_id, 1);
    assert_int_equal(o.quantity, 3);
    assert_string_equal(o.saga_id, "s-1");
    assert_int_equal(o.status, ORDER_CREATED);
    json_decref(obj);

    static const char *const bad[] = {
        "{\"customerId\":1,\"productId\":2,\"quantity\":0,\"amount\":4,\"sagaId\":\"s\"}",
        "{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":-4,\"sagaId\":\"s\"}",
        "{\"customerId\":\"1\",\"productId\":2,\"quantity\":3,\"amount\":4,\"sagaId\":\"s\"}",
        "{\"customerId\":1,\"productId\":2.5,\"quantity\":3,\"amount\":4,\"sagaId\":\"s\"}",
        "{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":4}",
        "{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":4,\"sagaId\":7}",
        "{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":4,\"sagaId\":\"\"}",
        "{\"customerId\":1,\"productId\":2,\"quantity\":3000000000,\"amount\":4,\"sagaId\":\"s\"}",
        "[1,2]",
        "{\"customerId\":1,",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        obj = NULL;
        assert_int_not_equal(json_parse_object(bad[i], strlen(bad[i]), order_create_fields, 0, &obj,
                                               detail, sizeof detail),
                             0);
        assert_null(obj);
    }
    const char *spaced = "{\"customerId\":1,\"productId\":2,\"quantity\":3,\"amount\":4,"
                         "\"sagaId\":\"a b\"}";
    assert_int_equal(json_parse_object(spaced, strlen(spaced), order_create_fields, 0, &obj, detail,
                                       sizeof detail),
                     0);
    assert_int_equal(order_from_json(obj, &o, detail, sizeof detail), -1);
    assert_non_null(strstr(detail, "sagaId"));
    json_decref(obj);
}

/* The rule is the contract's saga_id_valid (saga_contract.h); here: every service uses it. */
static void saga_ids_follow_the_contract_rule(void **state)
{
    (void)state;
    char longest[128], too_long[129], detail[ORDER_ERR_MAX];
    order_t o;
    payment_t p;
    memset(longest, 'a', 127);
    longest[127] = '\0';
    json_t *ok = json_pack("{s:i, s:i, s:s}", "orderId", 1, "amount", 1, "sagaId", longest);
    assert_int_equal(pay_from_json(ok, &p, detail, sizeof detail), 0);
    assert_string_equal(p.saga_id, longest);
    json_decref(ok);
    memset(too_long, 'a', 128);
    too_long[128] = '\0';
    assert_int_equal(ORDER_SAGA_ID_MAX, SAGA_ID_MAX);
    assert_int_equal(INV_SAGA_ID_MAX, SAGA_ID_MAX);
    assert_int_equal(PAY_SAGA_ID_MAX, SAGA_ID_MAX);
    const char *bad[] = {"with space", "caf\xc3\xa9", "a/b", "a?b=c", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *ob = json_pack("{s:i, s:i, s:i, s:i, s:s}", "customerId", 1, "productId", 1,
                               "quantity", 1, "amount", 1, "sagaId", bad[i]);
        json_t *pb = json_pack("{s:i, s:i, s:s}", "orderId", 1, "amount", 1, "sagaId", bad[i]);
        assert_non_null(ob);
        assert_non_null(pb);
        assert_int_equal(order_from_json(ob, &o, detail, sizeof detail), -1);
        assert_string_equal(detail, SAGA_ID_RULE);
        assert_int_equal(pay_from_json(pb, &p, detail, sizeof detail), -1);
        assert_string_equal(detail, SAGA_ID_RULE);
        json_decref(ob);
        json_decref(pb);
    }
}

static void reserve_rules_guard_the_semantic_lock(void **state)
{
    (void)state;
    assert_int_equal(inv_decide(INV_RES_NONE, 0, INV_ACT_RESERVE, 2), INV_APPLY);
    assert_int_equal(inv_decide(INV_RES_RESERVED, 2, INV_ACT_RESERVE, 2), INV_NOOP);
    assert_int_equal(inv_decide(INV_RES_CONFIRMED, 2, INV_ACT_RESERVE, 2), INV_NOOP);
    assert_int_equal(inv_decide(INV_RES_RESERVED, 2, INV_ACT_RESERVE, 3), INV_REFUSE_ILLEGAL);
    assert_int_equal(inv_decide(INV_RES_CANCELLED, 2, INV_ACT_RESERVE, 2), INV_REFUSE_CANCELLED);
}

static void confirm_only_from_reserved(void **state)
{
    (void)state;
    assert_int_equal(inv_decide(INV_RES_RESERVED, 2, INV_ACT_CONFIRM, 2), INV_APPLY);
    assert_int_equal(inv_decide(INV_RES_CONFIRMED, 2, INV_ACT_CONFIRM, 2), INV_NOOP);
    assert_int_equal(inv_decide(INV_RES_CANCELLED, 2, INV_ACT_CONFIRM, 2), INV_REFUSE_ILLEGAL);
    assert_int_equal(inv_decide(INV_RES_NONE, 0, INV_ACT_CONFIRM, 2), INV_REFUSE_NOT_FOUND);
}

static void cancel_before_reserve_is_a_tombstone(void **state)
{
    (void)state;
    assert_int_equal(inv_decide(INV_RES_NONE, 0, INV_ACT_CANCEL, 2), INV_TOMBSTONE);
    assert_int_equal(inv_decide(INV_RES_RESERVED, 2, INV_ACT_CANCEL, 2), INV_APPLY);
    assert_int_equal(inv_decide(INV_RES_CANCELLED, 2, INV_ACT_CANCEL, 2), INV_NOOP);
    assert_int_equal(inv_decide(INV_RES_CONFIRMED, 2, INV_ACT_CANCEL, 2), INV_REFUSE_ILLEGAL);
    assert_string_equal(inv_action_event(INV_ACT_CANCEL), "StockReservationCancelled");
    inv_res_status_t s;
    assert_int_equal(inv_res_status_parse("NONE", &s), -1);
    assert_int_equal(inv_res_status_parse("CANCELLED", &s), 0);
    assert_int_equal(s, INV_RES_CANCELLED);
}

static void stock_body_allows_zero_but_not_negative(void **state)
{
    (void)state;
    char detail[160];
    json_t *obj = NULL;
    assert_int_equal(json_parse_object("{\"available\":0}", 15, inv_set_stock_fields, 0, &obj,
                                       detail, sizeof detail),
                     0);
    json_decref(obj);
    obj = NULL;
    assert_int_not_equal(json_parse_object("{\"available\":-1}", 16, inv_set_stock_fields, 0, &obj,
                                           detail, sizeof detail),
                         0);
    assert_int_not_equal(json_parse_object("{\"available\":\"5\"}", 17, inv_set_stock_fields, 0,
                                           &obj, detail, sizeof detail),
                         0);
    assert_null(obj);
}

static void payment_transitions_follow_the_state_machine(void **state)
{
    (void)state;
    assert_int_equal(pay_decide(PAY_CREATED, PAY_ACT_APPROVE), PAY_APPLY);
    assert_int_equal(pay_decide(PAY_APPROVED, PAY_ACT_APPROVE), PAY_NOOP);
    assert_int_equal(pay_decide(PAY_CONFIRMED, PAY_ACT_APPROVE), PAY_NOOP);
    assert_int_equal(pay_decide(PAY_FAILED, PAY_ACT_APPROVE), PAY_REFUSE_FAILED);
    assert_int_equal(pay_decide(PAY_REFUNDED, PAY_ACT_APPROVE), PAY_REFUSE_ILLEGAL);

    assert_int_equal(pay_decide(PAY_APPROVED, PAY_ACT_CONFIRM), PAY_APPLY);
    assert_int_equal(pay_decide(PAY_CONFIRMED, PAY_ACT_CONFIRM), PAY_NOOP);
    assert_int_equal(pay_decide(PAY_CREATED, PAY_ACT_CONFIRM), PAY_REFUSE_ILLEGAL);
    assert_int_equal(pay_decide(PAY_FAILED, PAY_ACT_CONFIRM), PAY_REFUSE_ILLEGAL);
    assert_int_equal(pay_decide(PAY_REFUNDED, PAY_ACT_CONFIRM), PAY_REFUSE_ILLEGAL);

    assert_int_equal(pay_decide(PAY_CREATED, PAY_ACT_REFUND), PAY_APPLY);
    assert_int_equal(pay_decide(PAY_APPROVED, PAY_ACT_REFUND), PAY_APPLY);
    assert_int_equal(pay_decide(PAY_FAILED, PAY_ACT_REFUND), PAY_APPLY);
    assert_int_equal(pay_decide(PAY_CONFIRMED, PAY_ACT_REFUND), PAY_APPLY);
    assert_int_equal(pay_decide(PAY_REFUNDED, PAY_ACT_REFUND), PAY_NOOP);
    assert_int_equal(pay_action_target(PAY_ACT_REFUND), PAY_REFUNDED);
    assert_string_equal(pay_action_event(PAY_ACT_CONFIRM), "PaymentConfirmed");
}

static void payment_create_body_defaults_method_to_card(void **state)
{
    (void)state;
    char detail[160];
    json_t *obj = NULL;
    payment_t p;
    const char *ok = "{\"orderId\":9,\"amount\":20000,\"sagaId\":\"s-2\"}";
    assert_int_equal(
        json_parse_object(ok, strlen(ok), pay_create_fields, 0, &obj, detail, sizeof detail), 0);
    assert_int_equal(pay_from_json(obj, &p, detail, sizeof detail), 0);
    assert_string_equal(p.method, "CARD");
    assert_int_equal(p.amount, 20000);
    json_decref(obj);

    const char *bank = "{\"orderId\":9,\"amount\":1,\"method\":\"BANK\",\"sagaId\":\"s\"}";
    assert_int_equal(
        json_parse_object(bank, strlen(bank), pay_create_fields, 0, &obj, detail, sizeof detail),
        0);
    assert_int_equal(pay_from_json(obj, &p, detail, sizeof detail), 0);
    assert_string_equal(p.method, "BANK");
    json_decref(obj);

    const char *ctl = "{\"orderId\":9,\"amount\":1,\"method\":\"A\\nB\",\"sagaId\":\"s\"}";
    assert_int_equal(
        json_parse_object(ctl, strlen(ctl), pay_create_fields, 0, &obj, detail, sizeof detail), 0);
    assert_int_equal(pay_from_json(obj, &p, detail, sizeof detail), -1);
    json_decref(obj);
    obj = NULL;
    const char *zero = "{\"orderId\":9,\"amount\":0,\"sagaId\":\"s\"}";
    assert_int_not_equal(
        json_parse_object(zero, strlen(zero), pay_create_fields, 0, &obj, detail, sizeof detail),
        0);
}

/* The payment id is the gateway's idempotency key: a final answer is given again without a
 * second charge; a transient failure is not final. */
static void gateway_answers_a_payment_once(void **state)
{
    (void)state;
    static fake_pg_t pg;
    metrics_registry *m = metrics_new();
    assert_non_null(m);
    fpg_init(&pg, 1000, 0, 0.0, m);
    assert_int_equal(fpg_charge(&pg, 7, 10), FPG_APPROVED);
    assert_int_equal(fpg_charge(&pg, 7, 10), FPG_APPROVED);
    assert_int_equal(fpg_charge(&pg, 8, 5000), FPG_INSUFFICIENT_BALANCE);
    assert_int_equal(fpg_charge(&pg, 8, 5000), FPG_INSUFFICIENT_BALANCE);
    pg.failure_rate = 1.0;
    assert_int_equal(fpg_charge(&pg, 9, 10), FPG_TRANSIENT);
    assert_int_equal(fpg_charge(&pg, 7, 10), FPG_APPROVED); /* remembered, no new charge */
    pg.failure_rate = 0.0;
    assert_int_equal(fpg_charge(&pg, 9, 10), FPG_APPROVED); /* the transient one charges */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(metrics_render(m, &text, &len), 0);
    assert_non_null(strstr(text, "fake_pg_charges_total{outcome=\"approved\"} 2\n"));
    assert_non_null(strstr(text, "fake_pg_charges_total{outcome=\"insufficient_balance\"} 1\n"));
    assert_non_null(strstr(text, "fake_pg_charges_total{outcome=\"transient\"} 1\n"));
    assert_non_null(strstr(text, "fake_pg_charges_total{outcome=\"replayed\"} 3\n"));
    free(text);
    fpg_destroy(&pg);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_transitions_follow_the_state_machine),
        cmocka_unit_test(order_status_names_round_trip),
        cmocka_unit_test(order_create_body_is_validated),
        cmocka_unit_test(saga_ids_follow_the_contract_rule),
        cmocka_unit_test(reserve_rules_guard_the_semantic_lock),
        cmocka_unit_test(confirm_only_from_reserved),
        cmocka_unit_test(cancel_before_reserve_is_a_tombstone),
        cmocka_unit_test(stock_body_allows_zero_but_not_negative),
        cmocka_unit_test(payment_transitions_follow_the_state_machine),
        cmocka_unit_test(payment_create_body_defaults_method_to_card),
        cmocka_unit_test(gateway_answers_a_payment_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
