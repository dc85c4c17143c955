/* test_notification_unit.c - what a stream entry becomes as a notification (pure part of
 * service-notification/notification.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "notification.h"

static void order_id_and_saga_id_come_from_the_payload(void **state)
{
    (void)state;
    notif_event_t ev = {.stream_id = "1-0",
                        .event_id = "service-payment:7",
                        .event_type = "PaymentApproved",
                        .aggregate_type = "payment",
                        .aggregate_id = "3",
                        .service = "service-payment",
                        .payload = "{\"orderId\":42,\"sagaId\":\"pure-x\",\"paymentId\":3}"};
    notif_record_t r;
    notif_record_from_event(&ev, &r);
    assert_string_equal(r.event_id, "service-payment:7");
    assert_string_equal(r.event_type, "PaymentApproved");
    assert_int_equal(r.order_id, 42);
    assert_string_equal(r.saga_id, "pure-x");
    assert_string_equal(r.message, "PaymentApproved for order 42");
}

static void an_order_aggregate_is_its_own_order_id(void **state)
{
    (void)state;
    notif_event_t ev = {.stream_id = "1-0",
                        .event_id = "service-order:1",
                        .event_type = "OrderCreated",
                        .aggregate_type = "Order",
                        .aggregate_id = "99",
                        .payload = "{\"status\":\"CREATED\"}"};
    notif_record_t r;
    notif_record_from_event(&ev, &r);
    assert_int_equal(r.order_id, 99);
    assert_string_equal(r.saga_id, "");
}

static void entry_without_event_id_uses_its_stream_id(void **state)
{
    (void)state;
    notif_event_t ev = {.stream_id = "1700-3", .payload = "not json"};
    notif_record_t r;
    notif_record_from_event(&ev, &r);
    assert_string_equal(r.event_id, "stream:1700-3");
    assert_string_equal(r.event_type, "Unknown");
    assert_int_equal(r.order_id, 0);
    assert_string_equal(r.message, "Unknown for aggregate ?");
}

static void order_id_as_string_is_accepted(void **state)
{
    (void)state;
    notif_event_t ev = {.stream_id = "1-0",
                        .event_id = "e",
                        .event_type = "StockReserved",
                        .aggregate_type = "inventory",
                        .aggregate_id = "5",
                        .payload = "{\"orderId\":\"17\"}"};
    notif_record_t r;
    notif_record_from_event(&ev, &r);
    assert_int_equal(r.order_id, 17);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_id_and_saga_id_come_from_the_payload),
        cmocka_unit_test(an_order_aggregate_is_its_own_order_id),
        cmocka_unit_test(entry_without_event_id_uses_its_stream_id),
        cmocka_unit_test(order_id_as_string_is_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
