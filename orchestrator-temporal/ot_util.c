/* ot_util.c - pure helpers of orchestrator-temporal: contract JSON shapes and workflow ids.
 * No I/O except reading randomness for new ids; no Temporal or HTTP calls. */
#include "ot.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

char *ot_result_json(const char *workflow_id, int success, const saga_state_t *st,
                     const char *error)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "success", json_boolean(success));
    if (success) {
        /* The contract's success shape always carries both ids. */
        json_object_set_new(o, "orderId", json_integer(st != NULL ? st->order_id : 0));
        json_object_set_new(o, "paymentId", json_integer(st != NULL ? st->payment_id : 0));
    } else {
        json_object_set_new(o, "error", json_string(error != NULL && error[0] ? error : "failed"));
    }
    json_object_set_new(o, OT_ID_FIELD, json_string(workflow_id != NULL ? workflow_id : ""));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

char *ot_input_json(const saga_input_t *in)
{
    json_t *o =
        json_pack("{s:I,s:I,s:I,s:I,s:s}", "customerId", (json_int_t)in->customer_id, "productId",
                  (json_int_t)in->product_id, "quantity", (json_int_t)in->quantity, "amount",
                  (json_int_t)in->amount, "paymentMethod", in->payment_method);
    if (o == NULL)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static int key_is_plain(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* FNV-1a 64 with a seed folded in first: two seeds give 128 bits, stable across builds and
 * restarts (the id must map to the same run forever). Not a security boundary: a client can
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

int ot_workflow_id_from_key(const char *key, char *buf, size_t cap)
{
    if (key == NULL || key[0] == '\0' || cap == 0)
        return -1;
    int n;
    if (key_is_plain(key))
        n = snprintf(buf, cap, "order-%s", key);
    else
        n = snprintf(buf, cap, "order-k%016llx%016llx", (unsigned long long)fnv1a(key, 0),
                     (unsigned long long)fnv1a(key, 0x9e3779b97f4a7c15ULL));
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int ot_workflow_id_new(char *buf, size_t cap)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    int n = snprintf(buf, cap,
                     "order-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                     b[12], b[13], b[14], b[15]);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

const char *ot_status_name(int status)
{
    switch (status) {
    case TC_WF_RUNNING: return "RUNNING";
    case TC_WF_COMPLETED: return "COMPLETED";
    case TC_WF_FAILED: return "FAILED";
    case TC_WF_CANCELED: return "CANCELED";
    case TC_WF_TERMINATED: return "TERMINATED";
    case TC_WF_CONTINUED_AS_NEW: return "CONTINUED_AS_NEW";
    case TC_WF_TIMED_OUT: return "TIMED_OUT";
    default: return "UNKNOWN";
    }
}
