/* saga_json.c - the order request body, the step context and the saga result as JSON.
 * Validation lives here so both orchestrators refuse exactly the same bodies. */
#include "saga.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int invalid(saga_error_t *err, const char *fmt, const char *field)
{
    if (err != NULL) {
        err->code = SAGA_ERR_INVALID;
        err->http_status = 400;
        snprintf(err->type, sizeof err->type, "%s", SAGA_TYPE_INVALID_REQUEST);
        snprintf(err->message, sizeof err->message, fmt, field);
    }
    return SAGA_ERR_INVALID;
}

/* Reads a required positive JSON integer, at most max (0: no bound beyond int64). */
static int positive_int(json_t *obj, const char *name, int64_t max, int64_t *out, saga_error_t *err)
{
    json_t *v = json_object_get(obj, name);
    if (v == NULL || json_is_null(v))
        return invalid(err, "'%s' is required", name);
    if (!json_is_integer(v))
        return invalid(err, "'%s' must be an integer", name);
    if (json_integer_value(v) <= 0)
        return invalid(err, "'%s' must be a positive integer", name);
    if (max > 0 && json_integer_value(v) > max) {
        char fmt[64];
        snprintf(fmt, sizeof fmt, "'%%s' must be at most %lld", (long long)max);
        return invalid(err, fmt, name);
    }
    *out = (int64_t)json_integer_value(v);
    return SAGA_OK;
}

/* Reads an optional non-negative id (absent, null or 0 = unknown). */
static int optional_id(json_t *obj, const char *name, int64_t *out, saga_error_t *err)
{
    json_t *v = json_object_get(obj, name);
    *out = 0;
    if (v == NULL || json_is_null(v))
        return SAGA_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return invalid(err, "'%s' must be a non-negative integer", name);
    *out = (int64_t)json_integer_value(v);
    return SAGA_OK;
}

static int parse_input_obj(json_t *root, saga_input_t *out, saga_error_t *err)
{
    int rc;
    if (!json_is_object(root))
        return invalid(err, "%s", "request body must be a JSON object");
    if ((rc = positive_int(root, "customerId", 0, &out->customer_id, err)) != 0 ||
        (rc = positive_int(root, "productId", 0, &out->product_id, err)) != 0 ||
        (rc = positive_int(root, "quantity", SAGA_QUANTITY_MAX, &out->quantity, err)) != 0 ||
        (rc = positive_int(root, "amount", 0, &out->amount, err)) != 0)
        return rc;
    json_t *m = json_object_get(root, "paymentMethod");
    if (m == NULL || json_is_null(m)) {
        snprintf(out->payment_method, sizeof out->payment_method, "CARD");
        return SAGA_OK;
    }
    if (!json_is_string(m))
        return invalid(err, "'%s' must be a string", "paymentMethod");
    size_t len = json_string_length(m);
    if (len == 0 || len >= sizeof out->payment_method)
        return invalid(err, "'%s' must be 1..31 characters", "paymentMethod");
    const char *s = json_string_value(m);
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return invalid(err, "'%s' must be printable ASCII", "paymentMethod");
    memcpy(out->payment_method, s, len + 1);
    return SAGA_OK;
}

int saga_input_parse(const char *body, size_t len, saga_input_t *out, saga_error_t *err)
{
    json_error_t jerr;
    memset(out, 0, sizeof *out);
    if (body == NULL || len == 0)
        return invalid(err, "%s", "request body is empty");
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return invalid(err, "malformed JSON: %s", jerr.text);
    int rc = parse_input_obj(root, out, err);
    json_decref(root);
    return rc;
}

static json_t *input_obj(const saga_input_t *in)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:s}", "customerId", (json_int_t)in->customer_id,
                     "productId", (json_int_t)in->product_id, "quantity", (json_int_t)in->quantity,
                     "amount", (json_int_t)in->amount, "paymentMethod", in->payment_method);
}

/* Serializes o compactly in insertion order and releases it. NULL on OOM. */
static char *dump(json_t *o)
{
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return s;
}

char *saga_input_json(const saga_input_t *in)
{
    return dump(input_obj(in));
}

bool saga_input_equal(const saga_input_t *a, const saga_input_t *b)
{
    return a->customer_id == b->customer_id && a->product_id == b->product_id &&
           a->quantity == b->quantity && a->amount == b->amount &&
           strcmp(a->payment_method, b->payment_method) == 0;
}

char *saga_context_json(const char *saga_id, const saga_input_t *in, const saga_state_t *st)
{
    json_t *o = json_pack("{s:s}", "sagaId", saga_id);
    json_t *fields = input_obj(in);
    int rc = o != NULL && fields != NULL ? json_object_update(o, fields) : -1;
    json_decref(fields);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    if (st != NULL && st->order_id > 0)
        json_object_set_new(o, "orderId", json_integer(st->order_id));
    if (st != NULL && st->payment_id > 0)
        json_object_set_new(o, "paymentId", json_integer(st->payment_id));
    return dump(o);
}

int saga_context_parse(const char *json, size_t len, char *saga_id_buf, saga_input_t *in,
                       saga_state_t *st, saga_error_t *err)
{
    json_error_t jerr;
    int rc;
    memset(st, 0, sizeof *st);
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (root == NULL)
        return invalid(err, "malformed JSON: %s", jerr.text);
    if ((rc = parse_input_obj(root, in, err)) != 0)
        goto out;
    json_t *id = json_object_get(root, "sagaId");
    if (!json_is_string(id) || !saga_id_valid_n(json_string_value(id), json_string_length(id))) {
        rc = invalid(err, "%s", SAGA_ID_RULE);
        goto out;
    }
    memcpy(saga_id_buf, json_string_value(id), json_string_length(id) + 1);
    if ((rc = optional_id(root, "orderId", &st->order_id, err)) != 0 ||
        (rc = optional_id(root, "paymentId", &st->payment_id, err)) != 0)
        goto out;
out:
    json_decref(root);
    return rc;
}

char *saga_result_json(const char *id_field, const char *saga_id, const saga_result_t *r,
                       unsigned flags)
{
    json_t *o = json_pack("{s:b}", "success", r->success);
    if (o == NULL)
        return NULL;
    /* The contract's success shape always carries both ids; a detailed failure those known. */
    int ids = r->success || (flags & SAGA_RESULT_DETAILED);
    if (ids && (r->success || r->st.order_id > 0))
        json_object_set_new(o, "orderId", json_integer(r->st.order_id));
    if (ids && (r->success || r->st.payment_id > 0))
        json_object_set_new(o, "paymentId", json_integer(r->st.payment_id));
    if (!r->success) {
        char msg[SAGA_ERRMSG_MAX + SAGA_TYPE_MAX + 8];
        const char *type = r->error_type != NULL && r->error_type[0] ? r->error_type : "Failed";
        snprintf(msg, sizeof msg, "%s: %s", type, r->error_message ? r->error_message : "");
        json_object_set_new(o, "error", json_string(msg));
        if (flags & SAGA_RESULT_DETAILED)
            json_object_set_new(o, "errorType", json_string(type));
    }
    json_object_set_new(o, id_field != NULL ? id_field : "sagaId", json_string(saga_id));
    return dump(o);
}
