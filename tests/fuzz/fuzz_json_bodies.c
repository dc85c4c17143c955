/* fuzz_json_bodies.c - every JSON body parser of the services and orchestrators on one input:
 * common's strict object parser with each service's field table, the orchestrators' order
 * parser (saga_input_parse) and the event payload service-notification stores. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cm_json.h"
#include "inventory.h"
#include "notification.h"
#include "order.h"
#include "payment.h"
#include "saga.h"

static void strict(const char *body, size_t len, const json_field *fields, unsigned flags)
{
    json_t *obj = NULL;
    char detail[256];
    int rc = json_parse_object(body, len, fields, flags, &obj, detail, sizeof detail);
    if (rc == 0 && !json_is_object(obj))
        abort();
    if (rc != 0 && (obj != NULL || memchr(detail, '\0', sizeof detail) == NULL || !detail[0]))
        abort(); /* a refusal always says why, and leaves nothing behind */
    json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    strict(body, size, order_create_fields, 0);
    strict(body, size, pay_create_fields, 0);
    strict(body, size, inv_set_stock_fields, 0);
    strict(body, size, order_create_fields, JSON_V_REJECT_UNKNOWN);

    saga_input_t in;
    saga_error_t err;
    if (saga_input_parse(body, size, &in, &err) == 0 &&
        (in.customer_id < 1 || in.product_id < 1 || in.quantity < 1 || in.amount < 1 ||
         in.payment_method[0] == '\0'))
        abort();

    char *payload = malloc(size + 1);
    if (payload == NULL)
        return 0;
    memcpy(payload, data, size);
    payload[size] = '\0';
    notif_event_t ev = {.stream_id = "1-0",
                        .event_id = "e:1",
                        .event_type = "OrderCreated",
                        .aggregate_type = "Order",
                        .aggregate_id = payload,
                        .payload = payload};
    notif_record_t rec;
    notif_record_from_event(&ev, &rec);
    if (rec.order_id < 0)
        abort();
    free(payload);
    return 0;
}
