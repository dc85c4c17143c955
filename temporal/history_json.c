/* history_json.c - loads event histories written as proto3 JSON (what `temporal workflow show
 * -o json` writes) generically over the protobuf-c descriptors, and compares histories. Every
 * error names its place (a JSON path); no input may crash it. */
#include "converter.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TC_HISTORY_JSON_MAX (512u * 1024 * 1024) /* bytes of JSON we accept */
#define TC_PATH_MAX         384

/* Parse state: the JSON path of the value being converted, for errors. */
typedef struct jctx {
    char path[TC_PATH_MAX];
    size_t len;
    tc_error *err;
} jctx;

static size_t path_push(jctx *j, const char *fmt, const char *name, size_t idx)
{
    size_t old = j->len;
    int n = name ? snprintf(j->path + j->len, sizeof j->path - j->len, fmt, name)
                 : snprintf(j->path + j->len, sizeof j->path - j->len, fmt, idx);
    if (n > 0)
        j->len = j->len + (size_t)n < sizeof j->path ? j->len + (size_t)n : sizeof j->path - 1;
    return old;
}

static void path_pop(jctx *j, size_t old)
{
    j->len = old;
    j->path[old] = '\0';
}

static int jerr(jctx *j, const char *fmt, const char *detail)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, detail ? detail : "");
    return tc_seterr(j->err, TC_ERR_INVALID, "history JSON at %s: %s", j->len ? j->path : "(root)",
                     msg);
}

/* lowerCamelCase JSON name of a proto field name (proto3 JSON mapping). */
void tc_proto_json_name(const char *proto, char *out, size_t cap)
{
    size_t n = 0;
    bool up = false;
    for (const char *p = proto; *p && n + 1 < cap; p++) {
        if (*p == '_') {
            up = true;
            continue;
        }
        out[n++] = (up && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        up = false;
    }
    out[n] = '\0';
}

static const ProtobufCFieldDescriptor *field_by_json(const ProtobufCMessageDescriptor *d,
                                                     const char *key)
{
    char jn[128];
    for (unsigned i = 0; i < d->n_fields; i++) {
        tc_proto_json_name(d->fields[i].name, jn, sizeof jn);
        if (strcmp(jn, key) == 0 || strcmp(d->fields[i].name, key) == 0)
            return &d->fields[i];
    }
    return NULL;
}

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
    size_t n = strlen(d->name);
    return d->n_fields == 2 && n > 5 && strcmp(d->name + n - 5, "Entry") == 0 &&
           strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

/* ---- scalars ---- */

static int get_int(jctx *j, json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
            return jerr(j, "expected an integer%s", NULL);
        *out = (int64_t)d;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (!*s || *end || errno)
            return jerr(j, "expected an integer, got \"%s\"", s);
        *out = n;
    } else {
        return jerr(j, "expected an integer%s", NULL);
    }
    if (*out < lo || *out > hi)
        return jerr(j, "integer out of range%s", NULL);
    return TC_OK;
}

static int get_uint64(jctx *j, json_t *v, uint64_t *out)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        unsigned long long n = strtoull(s, &end, 10);
        if (!*s || *s == '-' || *end || errno)
            return jerr(j, "expected an unsigned integer, got \"%s\"", s);
        *out = n;
        return TC_OK;
    }
    int64_t n;
    int rc = get_int(j, v, 0, INT64_MAX, &n);
    *out = (uint64_t)n;
    return rc;
}

static int get_double(jctx *j, json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return TC_OK;
    }
    const char *s = json_string_value(v);
    if (s && strcmp(s, "NaN") == 0)
        *out = NAN;
    else if (s && strcmp(s, "Infinity") == 0)
        *out = INFINITY;
    else if (s && strcmp(s, "-Infinity") == 0)
        *out = -INFINITY;
    else
        return jerr(j, "expected a number%s", NULL);
    return TC_OK;
}

/* Standard or URL-safe base64, padding optional (proto3 JSON accepts both). */
static int get_bytes(jctx *j, json_t *v, ProtobufCBinaryData *out)
{
    const char *s = json_string_value(v);
    if (!s)
        return jerr(j, "expected a base64 string%s", NULL);
    size_t n = json_string_length(v);
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return jerr(j, "invalid base64 length%s", NULL);
    int rc = tc_base64_decode(s, n, &out->data, &out->len);
    if (rc == TC_ERR_NOMEM)
        return tc_seterr(j->err, TC_ERR_NOMEM, "out of memory");
    return rc == TC_OK ? TC_OK : jerr(j, "invalid base64 character%s", NULL);
}

static int get_enum(jctx *j, json_t *v, const ProtobufCEnumDescriptor *ed, int32_t *out)
{
    if (json_is_string(v)) {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
        if (!ev)
            return jerr(j, "unknown enum value \"%s\"", json_string_value(v));
        *out = ev->value;
        return TC_OK;
    }
    int64_t n;
    int rc = get_int(j, v, INT32_MIN, INT32_MAX, &n);
    *out = (int32_t)n;
    return rc;
}

/* Writes one scalar of field f's type from v into the memory at dst. */
static int scalar_from_json(jctx *j, const ProtobufCFieldDescriptor *f, json_t *v, void *dst)
{
    int64_t i = 0;
    uint64_t u = 0;
    double d;
    int rc = TC_OK;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((rc = get_int(j, v, INT32_MIN, INT32_MAX, &i)) == TC_OK)
            *(int32_t *)dst = (int32_t)i;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((rc = get_int(j, v, 0, UINT32_MAX, &i)) == TC_OK)
            *(uint32_t *)dst = (uint32_t)i;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if ((rc = get_int(j, v, INT64_MIN, INT64_MAX, &i)) == TC_OK)
            *(int64_t *)dst = i;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if ((rc = get_uint64(j, v, &u)) == TC_OK)
            *(uint64_t *)dst = u;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        if ((rc = get_double(j, v, &d)) == TC_OK)
            *(float *)dst = (float)d;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        if ((rc = get_double(j, v, &d)) == TC_OK)
            *(double *)dst = d;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return jerr(j, "expected true or false%s", NULL);
        *(protobuf_c_boolean *)dst = json_is_true(v);
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t e = 0;
        if ((rc = get_enum(j, v, f->descriptor, &e)) == TC_OK)
            *(int32_t *)dst = e;
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v))
            return jerr(j, "expected a string%s", NULL);
        char *s = malloc(json_string_length(v) + 1);
        if (!s)
            return tc_seterr(j->err, TC_ERR_NOMEM, "out of memory");
        memcpy(s, json_string_value(v), json_string_length(v) + 1);
        *(char **)dst = s;
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: rc = get_bytes(j, v, dst); break;
    default: return jerr(j, "unsupported field type%s", NULL);
    }
    return rc;
}

static size_t scalar_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    default: return 4;
    }
}

/* ---- well-known types ---- */

/* "1.5s", "-0.000000001s" -> seconds + nanos. */
static int parse_duration(jctx *j, json_t *v, int64_t *sec, int32_t *nanos)
{
    const char *s = json_string_value(v);
    if (!s)
        return jerr(j, "expected a duration string like \"1.5s\"%s", NULL);
    size_t n = strlen(s);
    if (n < 2 || s[n - 1] != 's')
        return jerr(j, "duration \"%s\" must end in s", s);
    bool neg = s[0] == '-';
    const char *p = s + (neg ? 1 : 0);
    int64_t whole = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (++digits > 12)
            return jerr(j, "duration \"%s\" out of range", s);
        whole = whole * 10 + (*p++ - '0');
    }
    int32_t frac = 0;
    int fd = 0;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9' && fd < 9) {
            frac = frac * 10 + (*p++ - '0');
            fd++;
        }
        if (fd == 0)
            return jerr(j, "duration \"%s\" is malformed", s);
        for (int k = fd; k < 9; k++)
            frac *= 10;
    }
    if (digits == 0 || *p != 's' || p[1] != '\0' || whole > 315576000000LL)
        return jerr(j, "duration \"%s\" is malformed", s);
    *sec = neg ? -whole : whole;
    *nanos = neg ? -frac : frac;
    return TC_OK;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits_at(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* RFC 3339: 2026-12-04T07:10:02.708504294Z or with a +hh:mm / -hh:mm offset. */
static int parse_timestamp(jctx *j, json_t *v, int64_t *sec, int32_t *nanos)
{
    const char *s = json_string_value(v);
    int Y, M, D, h, mi, se;
    if (!s || strlen(s) < 20 || digits_at(s, 4, &Y) || s[4] != '-' || digits_at(s + 5, 2, &M) ||
        s[7] != '-' || digits_at(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
        digits_at(s + 11, 2, &h) || s[13] != ':' || digits_at(s + 14, 2, &mi) || s[16] != ':' ||
        digits_at(s + 17, 2, &se))
        return jerr(j, "expected an RFC 3339 timestamp, got \"%s\"", s ? s : "a non-string");
    if (Y < 1 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || se > 60)
        return jerr(j, "timestamp \"%s\" out of range", s);
    const char *p = s + 19;
    int32_t frac = 0;
    int fd = 0;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (fd < 9) {
                frac = frac * 10 + (*p - '0');
                fd++;
            }
            p++;
        }
        if (fd == 0)
            return jerr(j, "timestamp \"%s\" is malformed", s);
        for (int k = fd; k < 9; k++)
            frac *= 10;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits_at(p + 1, 2, &oh) || p[3] != ':' || digits_at(p + 4, 2, &om) || oh > 23 ||
            om > 59)
            return jerr(j, "timestamp \"%s\" has a malformed offset", s);
        off = (*p == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
        p += 6;
    } else {
        return jerr(j, "timestamp \"%s\" needs Z or an offset", s);
    }
    if (*p)
        return jerr(j, "timestamp \"%s\" has trailing characters", s);
    *sec = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 + se - off;
    *nanos = frac;
    return TC_OK;
}

static int msg_from_json(jctx *j, const ProtobufCMessageDescriptor *d, json_t *v,
                         ProtobufCMessage **out);

/* Well-known types with a special JSON form. Returns 1 when d is one (rc in *rc). */
static int wkt_from_json(jctx *j, const ProtobufCMessageDescriptor *d, json_t *v,
                         ProtobufCMessage *m, int *rc)
{
    const char *n = d->name;
    if (strncmp(n, "google.protobuf.", 16) != 0)
        return 0;
    n += 16;
    if (strcmp(n, "Duration") == 0) {
        Google__Protobuf__Duration *x = (void *)m;
        *rc = parse_duration(j, v, &x->seconds, &x->nanos);
    } else if (strcmp(n, "Timestamp") == 0) {
        Google__Protobuf__Timestamp *x = (void *)m;
        *rc = parse_timestamp(j, v, &x->seconds, &x->nanos);
    } else if (strlen(n) > 5 && strcmp(n + strlen(n) - 5, "Value") == 0 && d->n_fields == 1 &&
               strcmp(d->fields[0].name, "value") == 0) {
        /* wrappers: Int64Value, BoolValue, StringValue, ... are their bare value */
        *rc = scalar_from_json(j, &d->fields[0], v, (char *)m + d->fields[0].offset);
    } else if (strcmp(n, "Empty") == 0) {
        *rc = json_is_object(v) && json_object_size(v) == 0
                  ? TC_OK
                  : jerr(j, "expected {} for google.protobuf.Empty%s", NULL);
    } else if (strcmp(n, "FieldMask") == 0) {
        Google__Protobuf__FieldMask *x = (void *)m;
        const char *s = json_string_value(v);
        if (!s) {
            *rc = jerr(j, "expected a field mask string%s", NULL);
            return 1;
        }
        size_t cap = 1;
        for (const char *p = s; *p; p++)
            cap += *p == ',';
        x->paths = calloc(cap, sizeof *x->paths);
        *rc = x->paths ? TC_OK : tc_seterr(j->err, TC_ERR_NOMEM, "out of memory");
        for (const char *p = s; *rc == TC_OK && *p;) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            char *snake = malloc(2 * len + 1); /* lowerCamel -> snake_case */
            if (!snake) {
                *rc = tc_seterr(j->err, TC_ERR_NOMEM, "out of memory");
                break;
            }
            size_t o = 0;
            for (size_t k = 0; k < len; k++) {
                if (p[k] >= 'A' && p[k] <= 'Z') {
                    snake[o++] = '_';
                    snake[o++] = (char)(p[k] - 'A' + 'a');
                } else {
                    snake[o++] = p[k];
                }
            }
            snake[o] = '\0';
            x->paths[x->n_paths++] = snake;
            p = e ? e + 1 : p + len;
        }
    } else {
        *rc = jerr(j, "google.protobuf.%s is not supported in histories", n);
    }
    return 1;
}

/* One element (of a singular or repeated field) into dst. */
static int value_from_json(jctx *j, const ProtobufCFieldDescriptor *f, json_t *v, void *dst)
{
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return msg_from_json(j, f->descriptor, v, (ProtobufCMessage **)dst);
    return scalar_from_json(j, f, v, dst);
}

/* A map field: a JSON object whose keys become the entries' keys. */
static int map_from_json(jctx *j, const ProtobufCFieldDescriptor *f, json_t *v, ProtobufCMessage *m)
{
    if (!json_is_object(v))
        return jerr(j, "expected an object (map)%s", NULL);
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    void ***arr = (void ***)((char *)m + f->offset);
    size_t *count = (size_t *)((char *)m + f->quantifier_offset);
    *arr = calloc(json_object_size(v) + 1, sizeof **arr);
    if (!*arr)
        return tc_seterr(j->err, TC_ERR_NOMEM, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        size_t old = path_push(j, "[\"%s\"]", key, 0);
        ProtobufCMessage *e = calloc(1, ed->sizeof_message);
        if (!e)
            return tc_seterr(j->err, TC_ERR_NOMEM, "out of memory");
        protobuf_c_message_init(ed, e);
        (*arr)[(*count)++] = e;
        /* The key arrives as a JSON string whatever its type ("7", "true"). */
        json_t *k = json_string(key);
        if (!k)
            return tc_seterr(j->err, TC_ERR_NOMEM, "out of memory");
        json_t *kv = k;
        if (ed->fields[0].type == PROTOBUF_C_TYPE_BOOL)
            kv = strcmp(key, "true") == 0 ? json_true() : json_false();
        int rc = scalar_from_json(j, &ed->fields[0], kv, (char *)e + ed->fields[0].offset);
        if (kv != k)
            json_decref(kv);
        json_decref(k);
        if (rc == TC_OK)
            rc = value_from_json(j, &ed->fields[1], val, (char *)e + ed->fields[1].offset);
        if (rc != TC_OK)
            return rc;
        path_pop(j, old);
    }
    return TC_OK;
}

static int repeated_from_json(jctx *j, const ProtobufCFieldDescriptor *f, json_t *v,
                              ProtobufCMessage *m)
{
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor))
        return map_from_json(j, f, v, m);
    if (!json_is_array(v))
        return jerr(j, "expected an array%s", NULL);
    size_t n = json_array_size(v), sz = scalar_size(f->type);
    void **arr = (void **)((char *)m + f->offset);
    size_t *count = (size_t *)((char *)m + f->quantifier_offset);
    *arr = calloc(n ? n : 1, sz);
    if (!*arr)
        return tc_seterr(j->err, TC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t old = path_push(j, "[%zu]", NULL, i);
        int rc = value_from_json(j, f, json_array_get(v, i), (char *)*arr + i * sz);
        if (rc != TC_OK) {
            /* free_unpacked walks *count elements: count what was (partly) written */
            *count = i + (f->type == PROTOBUF_C_TYPE_MESSAGE && ((void **)*arr)[i] ? 1 : 0);
            if (f->type != PROTOBUF_C_TYPE_MESSAGE)
                *count = i;
            return rc;
        }
        *count = i + 1;
        path_pop(j, old);
    }
    return TC_OK;
}

static int field_from_json(jctx *j, const ProtobufCMessageDescriptor *d,
                           const ProtobufCFieldDescriptor *f, json_t *v, ProtobufCMessage *m)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return repeated_from_json(j, f, v, m);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = (uint32_t *)((char *)m + f->quantifier_offset);
        if (*which != 0) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field(d, *which);
            return jerr(j, "a second member of a oneof (also \"%s\")", other ? other->name : "?");
        }
        int rc = value_from_json(j, f, v, (char *)m + f->offset);
        /* the case is set even on error so free_unpacked releases what was made */
        *which = f->id;
        return rc;
    }
    int rc = value_from_json(j, f, v, (char *)m + f->offset);
    if (rc == TC_OK && f->label == PROTOBUF_C_LABEL_OPTIONAL &&
        f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
        *(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
    return rc;
}

/* Converts v into a new message of type d (*out, freed with protobuf_c_message_free_unpacked
 * even on error). */
static int msg_from_json(jctx *j, const ProtobufCMessageDescriptor *d, json_t *v,
                         ProtobufCMessage **out)
{
    ProtobufCMessage *m = calloc(1, d->sizeof_message);
    if (!m)
        return tc_seterr(j->err, TC_ERR_NOMEM, "out of memory");
    protobuf_c_message_init(d, m);
    *out = m;
    int rc;
    if (wkt_from_json(j, d, v, m, &rc))
        return rc;
    if (!json_is_object(v))
        return jerr(j, "expected an object (%s)", d->name);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        const ProtobufCFieldDescriptor *f = field_by_json(d, key);
        size_t old = path_push(j, j->len ? ".%s" : "%s", key, 0);
        if (!f)
            return jerr(j, "unknown field (not in %s)", d->name);
        if (json_is_null(val)) { /* proto3 JSON: null is the default */
            path_pop(j, old);
            continue;
        }
        rc = field_from_json(j, d, f, val, m);
        if (rc != TC_OK)
            return rc;
        path_pop(j, old);
    }
    return TC_OK;
}

int tc_message_parse_json(const char *buf, size_t len, const ProtobufCMessageDescriptor *d,
                          ProtobufCMessage **out, tc_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = buf && len <= TC_HISTORY_JSON_MAX ? json_loadb(buf, len, 0, &je) : NULL;
    if (!root)
        return tc_seterr(err, TC_ERR_INVALID, "%s: not JSON", d->name);
    jctx j = {.err = err};
    ProtobufCMessage *m = NULL;
    int rc = msg_from_json(&j, d, root, &m);
    json_decref(root);
    if (rc != TC_OK && m)
        protobuf_c_message_free_unpacked(m, NULL);
    else
        *out = m;
    return rc;
}

/* Puts prefix in front of err->text (truncating the end when it does not fit). */
static void prefix_err(tc_error *err, const char *prefix)
{
    size_t pl = strlen(prefix), tl = strlen(err->text);
    if (pl >= sizeof err->text)
        pl = sizeof err->text - 1;
    if (pl + tl >= sizeof err->text)
        tl = sizeof err->text - 1 - pl;
    memmove(err->text + pl, err->text, tl);
    memcpy(err->text, prefix, pl);
    err->text[pl + tl] = '\0';
}

int tc_history_parse_json(const char *buf, size_t len, tc_history **out, tc_error *err)
{
    *out = NULL;
    if (!buf)
        return tc_seterr(err, TC_ERR_INVALID, "no JSON given");
    if (len > TC_HISTORY_JSON_MAX)
        return tc_seterr(err, TC_ERR_INVALID, "history JSON larger than %u bytes",
                         TC_HISTORY_JSON_MAX);
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return tc_seterr(err, TC_ERR_INVALID, "history JSON: line %d column %d: %s", je.line,
                         je.column, je.text);
    jctx j = {.err = err};
    ProtobufCMessage *m = NULL;
    int rc = msg_from_json(&j, &temporal__api__history__v1__history__descriptor, root, &m);
    json_decref(root);
    Temporal__Api__History__V1__History *hist = (void *)m;
    /* Events follow each other: a file cut or pasted together shows here. */
    for (size_t i = 1; rc == TC_OK && i < hist->n_events; i++)
        if (hist->events[i]->event_id != hist->events[0]->event_id + (int64_t)i)
            rc = tc_seterr(err, TC_ERR_INVALID,
                           "history JSON at events[%zu]: eventId %lld where %lld was expected", i,
                           (long long)hist->events[i]->event_id,
                           (long long)(hist->events[0]->event_id + (int64_t)i));
    if (rc != TC_OK) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    tc_history *h = calloc(1, sizeof *h);
    if (!h) {
        protobuf_c_message_free_unpacked(m, NULL);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    rc = tc_history_add_page(h, m, hist->events, hist->n_events, err);
    if (rc != TC_OK) {
        tc_history_free(h);
        return rc;
    }
    *out = h;
    return TC_OK;
}

int tc_history_load_json(const char *path, tc_history **out, tc_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tc_seterr(err, TC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = TC_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= TC_HISTORY_JSON_MAX) {
                rc = tc_seterr(err, TC_ERR_INVALID, "%s: larger than %u bytes", path,
                               TC_HISTORY_JSON_MAX);
                break;
            }
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        if (r == 0) {
            if (ferror(f))
                rc = tc_seterr(err, TC_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        len += r;
    }
    fclose(f);
    if (rc == TC_OK) {
        rc = tc_history_parse_json(buf, len, out, err);
        if (rc != TC_OK && err) { /* say which file */
            char pre[256];
            snprintf(pre, sizeof pre, "%s: ", path);
            prefix_err(err, pre);
        }
    }
    free(buf);
    return rc;
}

/* ---- comparison ---- */

static int differs(jctx *j, const char *what)
{
    return tc_seterr(j->err, TC_ERR_STATE, "%s: %s", j->len ? j->path : "(root)", what);
}

static int cmp_msg(jctx *j, const ProtobufCMessage *a, const ProtobufCMessage *b);

static int cmp_value(jctx *j, const ProtobufCFieldDescriptor *f, const void *a, const void *b)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *ma = *(ProtobufCMessage *const *)a;
        const ProtobufCMessage *mb = *(ProtobufCMessage *const *)b;
        if (!ma || !mb)
            return (ma == mb) ? TC_OK
                              : differs(j, ma ? "missing in the second" : "missing in the first");
        return cmp_msg(j, ma, mb);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *sa = *(char *const *)a, *sb = *(char *const *)b;
        return strcmp(sa ? sa : "", sb ? sb : "") == 0 ? TC_OK : differs(j, "strings differ");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *ba = a, *bb = b;
        return (ba->len == bb->len && (ba->len == 0 || memcmp(ba->data, bb->data, ba->len) == 0))
                   ? TC_OK
                   : differs(j, "bytes differ");
    }
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)a == *(const float *)b ? TC_OK : differs(j, "numbers differ");
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)a == *(const double *)b ? TC_OK : differs(j, "numbers differ");
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)a == !*(const protobuf_c_boolean *)b
                   ? TC_OK
                   : differs(j, "booleans differ");
    default: return memcmp(a, b, scalar_size(f->type)) == 0 ? TC_OK : differs(j, "values differ");
    }
}

/* Map entries compare as sets: the same keys with equal values, in any order. */
static int cmp_map(jctx *j, const ProtobufCFieldDescriptor *f, void *const *ea, void *const *eb,
                   size_t n)
{
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    for (size_t i = 0; i < n; i++) {
        const char *x = ea[i];
        const void *match = NULL;
        for (size_t k = 0; k < n && !match; k++) {
            jctx probe = {.err = NULL};
            if (cmp_value(&probe, kf, x + kf->offset, (const char *)eb[k] + kf->offset) == TC_OK)
                match = eb[k];
        }
        size_t old = path_push(j, "[%zu]", NULL, i);
        if (!match)
            return differs(j, "map key missing in the second");
        int rc = cmp_value(j, vf, x + vf->offset, (const char *)match + vf->offset);
        if (rc != TC_OK)
            return rc;
        path_pop(j, old);
    }
    return TC_OK;
}

static int cmp_field(jctx *j, const ProtobufCFieldDescriptor *f, const ProtobufCMessage *a,
                     const ProtobufCMessage *b)
{
    const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return cmp_value(j, f, pa, pb);
    size_t na = *(const size_t *)((const char *)a + f->quantifier_offset);
    size_t nb = *(const size_t *)((const char *)b + f->quantifier_offset);
    if (na != nb)
        return differs(j, "repeated field lengths differ");
    void *const *xa = *(void *const *const *)pa;
    void *const *xb = *(void *const *const *)pb;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor))
        return cmp_map(j, f, xa, xb, na);
    size_t sz = scalar_size(f->type);
    for (size_t i = 0; i < na; i++) {
        size_t old = path_push(j, "[%zu]", NULL, i);
        int rc = cmp_value(j, f, (const char *)xa + i * sz, (const char *)xb + i * sz);
        if (rc != TC_OK)
            return rc;
        path_pop(j, old);
    }
    return TC_OK;
}

static int cmp_msg(jctx *j, const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    const ProtobufCMessageDescriptor *d = a->descriptor;
    if (d != b->descriptor)
        return differs(j, "message types differ");
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t ca = *(const uint32_t *)((const char *)a + f->quantifier_offset);
            uint32_t cb = *(const uint32_t *)((const char *)b + f->quantifier_offset);
            if (ca != cb) {
                char jn[128];
                tc_proto_json_name(f->name, jn, sizeof jn);
                size_t old = path_push(j, j->len ? ".%s" : "%s", jn, 0);
                int rc = differs(j, "a different member of the oneof is set");
                path_pop(j, old);
                return rc;
            }
            if (ca != f->id)
                continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
                   f->type != PROTOBUF_C_TYPE_STRING) {
            protobuf_c_boolean ha =
                *(const protobuf_c_boolean *)((const char *)a + f->quantifier_offset);
            protobuf_c_boolean hb =
                *(const protobuf_c_boolean *)((const char *)b + f->quantifier_offset);
            if (!ha != !hb)
                return differs(j, "an optional field is set in only one");
            if (!ha)
                continue;
        }
        char jn[128];
        tc_proto_json_name(f->name, jn, sizeof jn);
        size_t old = path_push(j, j->len ? ".%s" : "%s", jn, 0);
        int rc = cmp_field(j, f, a, b);
        if (rc != TC_OK)
            return rc;
        path_pop(j, old);
    }
    if (a->n_unknown_fields != b->n_unknown_fields)
        return differs(j, "fields unknown to these protos differ");
    return TC_OK;
}

int tc_history_compare(const tc_history *a, const tc_history *b, tc_error *err)
{
    if (!a || !b)
        return tc_seterr(err, TC_ERR_INVALID, "two histories required");
    if (a->n != b->n)
        return tc_seterr(err, TC_ERR_STATE, "%zu events against %zu", a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        jctx j = {.err = err};
        int rc = cmp_msg(&j, &a->events[i]->base, &b->events[i]->base);
        if (rc != TC_OK) {
            if (err) {
                char pre[96];
                snprintf(pre, sizeof pre, "event %zu (eventId %lld): ", i,
                         (long long)a->events[i]->event_id);
                prefix_err(err, pre);
            }
            return rc;
        }
    }
    return TC_OK;
}
