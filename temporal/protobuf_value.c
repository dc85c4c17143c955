/* protobuf_value.c - protobuf-c messages as values (temporal_protobuf.h): binary/protobuf and
 * json/protobuf value texts made from a message (the proto3 JSON mapping written here over the
 * descriptors) and read back into one (history_json.c's reader). No I/O. */
#include "converter.h"
#include "temporal_protobuf.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 64

static json_t *bytes_json(const ProtobufCBinaryData *b)
{
    char *s = malloc((b->len + 2) / 3 * 4 + 1);
    if (!s)
        return NULL;
    tc_base64_encode(b->data, b->len, s);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *int64_json(int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)v);
    return json_string(s);
}

static json_t *uint64_json(uint64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    return json_string(s);
}

static json_t *double_json(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

static json_t *msg_json(const ProtobufCMessage *m, int depth);

/* One scalar or message value at p of field f. */
static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return int64_json(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return uint64_json(*(const uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT: return double_json(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE: return double_json(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_STRING: return json_string(*(char *const *)p ? *(char *const *)p : "");
    case PROTOBUF_C_TYPE_BYTES: return bytes_json(p);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        return ev ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub ? msg_json(sub, depth + 1) : json_null();
    }
    default: return NULL;
    }
}

static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    default: return 4;
    }
}

/* True when the single (non-repeated) field is set, as proto3 JSON prints it. */
static bool present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)m;
    const void *p = base + f->offset;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
        f->type != PROTOBUF_C_TYPE_STRING)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)p != NULL;
    case PROTOBUF_C_TYPE_STRING: return *(char *const *)p && **(char *const *)p;
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len > 0;
    default: {
        static const uint8_t zero[8];
        return memcmp(p, zero, elem_size(f->type)) != 0;
    }
    }
}

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
    size_t n = strlen(d->name);
    return n > 5 && strcmp(d->name + n - 5, "Entry") == 0 && d->n_fields == 2 &&
           strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

/* Timestamp and Duration print as strings. NULL when d is neither. */
static json_t *wkt_json(const ProtobufCMessage *m)
{
    const char *name = m->descriptor->name;
    char s[64];
    if (strcmp(name, "google.protobuf.Timestamp") == 0) {
        const Google__Protobuf__Timestamp *t = (const void *)m;
        time_t sec = (time_t)t->seconds;
        struct tm tm;
        gmtime_r(&sec, &tm);
        size_t n = strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (t->nanos)
            snprintf(s + n, sizeof s - n, ".%09dZ", t->nanos);
        else
            snprintf(s + n, sizeof s - n, "Z");
        return json_string(s);
    }
    if (strcmp(name, "google.protobuf.Duration") == 0) {
        const Google__Protobuf__Duration *d = (const void *)m;
        if (d->nanos)
            snprintf(s, sizeof s, "%s%lld.%09ds", d->seconds < 0 || d->nanos < 0 ? "-" : "",
                     (long long)llabs(d->seconds), abs(d->nanos));
        else
            snprintf(s, sizeof s, "%llds", (long long)d->seconds);
        return json_string(s);
    }
    return NULL;
}

static json_t *repeated_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                             int depth)
{
    const char *base = (const char *)m;
    size_t n = *(const size_t *)(base + f->quantifier_offset);
    const char *arr = *(const char *const *)(base + f->offset);
    bool map = f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor);
    json_t *out = map ? json_object() : json_array();
    for (size_t i = 0; out && i < n; i++) {
        const void *elem = arr + i * elem_size(f->type);
        if (map) {
            const ProtobufCMessage *e = *(ProtobufCMessage *const *)elem;
            const ProtobufCMessageDescriptor *ed = f->descriptor;
            json_t *k = value_json(&ed->fields[0], (const char *)e + ed->fields[0].offset, depth);
            json_t *v = value_json(&ed->fields[1], (const char *)e + ed->fields[1].offset, depth);
            char kbuf[64];
            const char *key = json_is_string(k) ? json_string_value(k) : kbuf;
            if (json_is_integer(k))
                snprintf(kbuf, sizeof kbuf, "%lld", (long long)json_integer_value(k));
            else if (json_is_boolean(k))
                snprintf(kbuf, sizeof kbuf, "%s", json_is_true(k) ? "true" : "false");
            if (!k || !v || json_object_set_new(out, key, v) != 0) {
                json_decref(k);
                json_decref(out);
                return NULL;
            }
            json_decref(k);
        } else if (json_array_append_new(out, value_json(f, elem, depth)) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *msg_json(const ProtobufCMessage *m, int depth)
{
    if (depth > MAX_DEPTH)
        return NULL;
    json_t *w = wkt_json(m);
    if (w)
        return w;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    json_t *o = json_object();
    for (unsigned i = 0; o && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        json_t *v = NULL;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (*(const size_t *)((const char *)m + f->quantifier_offset) == 0)
                continue;
            v = repeated_json(m, f, depth);
        } else if (present(m, f)) {
            v = value_json(f, (const char *)m + f->offset, depth);
        } else {
            continue;
        }
        char name[128];
        tc_proto_json_name(f->name, name, sizeof name);
        if (!v || json_object_set_new(o, name, v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

char *tc_value_from_message(const ProtobufCMessage *m, bool json)
{
    if (!m)
        return NULL;
    if (json) {
        json_t *j = msg_json(m, 0);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        char *v =
            text ? tc_value_format("json/protobuf", text, strlen(text), m->descriptor->name) : NULL;
        free(text);
        return v;
    }
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return NULL;
    protobuf_c_message_pack(m, buf);
    char *v = tc_value_format("binary/protobuf", buf, n, m->descriptor->name);
    free(buf);
    return v;
}

int tc_value_to_message(const char *text, const ProtobufCMessageDescriptor *d,
                        ProtobufCMessage **out, tc_error *err)
{
    *out = NULL;
    tc_value v;
    int rc = tc_value_parse(text, &v, err);
    if (rc != TC_OK)
        return rc;
    if (v.message_type && strcmp(v.message_type, d->name) != 0) {
        rc = tc_seterr(err, TC_ERR_INVALID, "the value is a %s, not a %s", v.message_type, d->name);
    } else if (strcmp(v.encoding, "binary/protobuf") == 0) {
        if (!(*out = protobuf_c_message_unpack(d, NULL, v.len, v.data)))
            rc = tc_seterr(err, TC_ERR_INVALID, "the binary/protobuf data is not a %s", d->name);
    } else if (strcmp(v.encoding, "json/protobuf") == 0 || strcmp(v.encoding, "json/plain") == 0) {
        rc = tc_message_parse_json((const char *)v.data, v.len, d, out, err);
    } else {
        rc = tc_seterr(err, TC_ERR_INVALID, "a %s value is not a protobuf message", v.encoding);
    }
    tc_value_clear(&v);
    return rc;
}
