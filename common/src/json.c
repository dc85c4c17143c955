/* json.c — strict JSON body parsing and validation against a field table.
 * Must not accept a value whose JSON type differs from the declared one (no "2" for 2). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "cm_json.h"

#define JSON_DEFAULT_STR_MAX 1024

static const json_field *find_field(const json_field *fields, const char *name)
{
    for (const json_field *f = fields; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

/* "<name> <what>" into detail; always CM_ERR_INVALID. */
static int fail(char *detail, size_t n, const char *name, const char *what)
{
    snprintf(detail, n, "%s %s", name, what);
    return CM_ERR_INVALID;
}

static int check_int(const json_field *f, const json_t *v, char *detail, size_t n)
{
    int64_t min = f->min, max = f->max;
    if (f->type == JF_POS_INT) {
        min = 1;
        if (max == 0)
            max = INT64_MAX;
    } else if (min == 0 && max == 0) {
        min = INT64_MIN;
        max = INT64_MAX;
    }
    if (json_is_integer(v)) {
        int64_t x = (int64_t)json_integer_value(v);
        if (x >= min && x <= max)
            return 0;
    }
    if (min == 1 && max == INT64_MAX)
        return fail(detail, n, f->name, "must be a positive integer");
    if (min == INT64_MIN && max == INT64_MAX)
        return fail(detail, n, f->name, "must be an integer");
    snprintf(detail, n, "%s must be an integer between %" PRId64 " and %" PRId64, f->name, min,
             max);
    return CM_ERR_INVALID;
}

static int check_string(const json_field *f, const json_t *v, char *detail, size_t n)
{
    int64_t min = f->min < 0 ? 0 : f->min;
    int64_t max = f->max > 0 ? f->max : JSON_DEFAULT_STR_MAX;
    if (json_is_string(v)) {
        size_t len = json_string_length(v);
        /* An embedded NUL would be cut by every C consumer of the value. */
        if ((int64_t)len >= min && (int64_t)len <= max && strlen(json_string_value(v)) == len)
            return 0;
    }
    if (min == 0)
        snprintf(detail, n, "%s must be a string of at most %" PRId64 " characters", f->name, max);
    else if (min == 1)
        snprintf(detail, n, "%s must be a non-empty string of at most %" PRId64 " characters",
                 f->name, max);
    else
        snprintf(detail, n, "%s must be a string of %" PRId64 "..%" PRId64 " characters", f->name,
                 min, max);
    return CM_ERR_INVALID;
}

static int check_value(const json_field *f, const json_t *v, char *detail, size_t n)
{
    switch (f->type) {
    case JF_INT:
    case JF_POS_INT: return check_int(f, v, detail, n);
    case JF_STRING: return check_string(f, v, detail, n);
    case JF_BOOL:
        if (json_is_boolean(v))
            return 0;
        return fail(detail, n, f->name, "must be a boolean");
    case JF_NUMBER:
        if (json_is_number(v))
            return 0;
        return fail(detail, n, f->name, "must be a number");
    case JF_OBJECT:
        if (json_is_object(v))
            return 0;
        return fail(detail, n, f->name, "must be an object");
    case JF_ARRAY:
        if (json_is_array(v))
            return 0;
        return fail(detail, n, f->name, "must be an array");
    case JF_ANY: return 0;
    }
    return fail(detail, n, f->name, "has an unsupported type");
}

int json_validate(const json_t *obj, const json_field *fields, unsigned flags, char *detail,
                  size_t n)
{
    if (!json_is_object(obj)) {
        snprintf(detail, n, "request body must be a JSON object");
        return CM_ERR_INVALID;
    }
    for (const json_field *f = fields; f->name; f++) {
        const json_t *v = json_object_get(obj, f->name);
        if (!v || (json_is_null(v) && f->type != JF_ANY)) {
            if (f->required) {
                snprintf(detail, n, "%s is required", f->name);
                return CM_ERR_INVALID;
            }
            continue;
        }
        int rc = check_value(f, v, detail, n);
        if (rc)
            return rc;
    }
    if (flags & JSON_V_REJECT_UNKNOWN) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)obj, key, v)
        {
            if (!find_field(fields, key)) {
                snprintf(detail, n, "unknown field %.100s", key);
                return CM_ERR_INVALID;
            }
        }
    }
    return 0;
}

int json_parse_object(const char *body, size_t len, const json_field *fields, unsigned flags,
                      json_t **out, char *detail, size_t n)
{
    *out = NULL;
    json_error_t err;
    /* JSON_REJECT_DUPLICATES: {"quantity":1,"quantity":-5} must not pick one silently. */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        snprintf(detail, n, "malformed JSON: %s at line %d column %d", err.text, err.line,
                 err.column);
        return CM_ERR_INVALID;
    }
    int rc = json_validate(root, fields, flags, detail, n);
    if (rc) {
        json_decref(root);
        return rc;
    }
    *out = root;
    return 0;
}

int64_t json_get_int(const json_t *obj, const char *name, int64_t def)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

const char *json_get_str(const json_t *obj, const char *name, const char *def)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_string(v) ? json_string_value(v) : def;
}

bool json_get_bool(const json_t *obj, const char *name, bool def)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

char *json_dump_compact(const json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}
