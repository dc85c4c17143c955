/* converter.c - the payload converter chain: a value's JSON text to a payload chosen by the
 * value's kind (JSON null: binary/null; the reserved form of a typed value: its own encoding;
 * any other JSON: json/plain) and a payload back to JSON text chosen by its "encoding"
 * metadata (binary/null, json/plain, binary/plain, json/protobuf, binary/protobuf; anything
 * else is an error naming it). Pure computation: codecs run at the call boundary (codec.c). */
#include "converter.h"

#include "json_lite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char k_encoding[] = "encoding";
static const char k_message_type[] = "messageType";
static const char k_json[] = "json/plain";
static const char k_null[] = "binary/null";
static const char k_envelope[] = "__temporal_payload";

/* Encodings read into the reserved form (and written back from it). */
static const char *const k_typed[] = {"binary/plain", "json/protobuf", "binary/protobuf"};

/* ---- base64 (RFC 4648, with padding) ---- */

static const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t tc_base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = k_b64[(v >> 18) & 63];
        out[o++] = k_b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? k_b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? k_b64[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int tc_base64_decode(const char *in, size_t n, uint8_t **out, size_t *len)
{
    uint8_t *buf = malloc(n / 4 * 3 + 4); /* NUL-terminated too, for text */
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    *out = NULL;
    *len = 0;
    if (!buf)
        return TC_ERR_NOMEM;
    size_t end = n;
    while (end && in[end - 1] == '=')
        end--; /* padding only at the end */
    for (size_t i = 0; i < end; i++) {
        int v = b64_value(in[i]);
        if (v < 0) {
            free(buf);
            return TC_ERR_INVALID;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    buf[o] = '\0';
    *out = buf;
    *len = o;
    return TC_OK;
}

/* ---- the reserved form ---- */

size_t tc_json_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        int n = (*p == '"' || *p == '\\') ? snprintf(esc, sizeof esc, "\\%c", *p)
                : *p < 0x20               ? snprintf(esc, sizeof esc, "\\u%04x", *p)
                                          : snprintf(esc, sizeof esc, "%c", *p);
        if (n < 0 || o + (size_t)n >= cap)
            break;
        memcpy(out + o, esc, (size_t)n);
        o += (size_t)n;
    }
    out[o] = '\0';
    return o;
}

char *tc_value_format(const char *encoding, const void *data, size_t len, const char *message_type)
{
    if (!encoding)
        return NULL;
    if (strcmp(encoding, k_null) == 0)
        return tc_strdup("null");
    if (strcmp(encoding, k_json) == 0) {
        char *s = malloc(len + 1);
        if (s) {
            if (len)
                memcpy(s, data, len);
            s[len] = '\0';
        }
        return s;
    }
    size_t cap = 64 + sizeof k_envelope + strlen(encoding) * 6 +
                 (message_type ? strlen(message_type) * 6 + 20 : 0) + (len + 2) / 3 * 4;
    char *s = malloc(cap);
    size_t o = 0;
    if (!s)
        return NULL;
    o += (size_t)snprintf(s, cap, "{\"%s\":{\"encoding\":\"", k_envelope);
    o += tc_json_escape(encoding, s + o, cap - o);
    if (message_type) {
        o += (size_t)snprintf(s + o, cap - o, "\",\"messageType\":\"");
        o += tc_json_escape(message_type, s + o, cap - o);
    }
    o += (size_t)snprintf(s + o, cap - o, "\",\"data\":\"");
    o += tc_base64_encode(data, len, s + o); /* cap counted 4 characters per 3 bytes */
    snprintf(s + o, cap - o, "\"}}");
    return s;
}

typedef struct env_parse {
    tc_value *v;
    int rc;
    bool inner; /* the object inside the reserved key was seen */
} env_parse;

static int inner_member(const char *key, const char *val, size_t len, void *arg)
{
    env_parse *e = arg;
    if (strcmp(key, "encoding") == 0) {
        free(e->v->encoding);
        e->v->encoding = tc_json_string(val, len);
        return e->v->encoding ? 0 : 1;
    }
    if (strcmp(key, "messageType") == 0) {
        free(e->v->message_type);
        e->v->message_type = tc_json_string(val, len);
        return e->v->message_type ? 0 : 1;
    }
    if (strcmp(key, "data") == 0) {
        char *b64 = tc_json_string(val, len);
        if (!b64)
            return 1;
        free(e->v->data);
        e->v->data = NULL;
        int rc = tc_base64_decode(b64, strlen(b64), &e->v->data, &e->v->len);
        free(b64);
        return rc == TC_OK ? 0 : 1;
    }
    return 1; /* nothing else belongs in the form */
}

static int outer_member(const char *key, const char *val, size_t len, void *arg)
{
    env_parse *e = arg;
    if (strcmp(key, k_envelope) != 0 || e->inner)
        return 1;
    e->inner = true;
    return tc_json_members(val, len, inner_member, e) == 0 ? 0 : 1;
}

/* True when text may be the reserved form (cheap test before a parse). */
static bool maybe_envelope(const char *text)
{
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    return *text == '{' && strstr(text, k_envelope) != NULL;
}

void tc_value_clear(tc_value *v)
{
    if (!v)
        return;
    free(v->encoding);
    free(v->data);
    free(v->message_type);
    memset(v, 0, sizeof *v);
}

/* Parses the reserved form; false (and *v cleared) when text is not exactly one. */
static bool parse_envelope(const char *text, tc_value *v)
{
    env_parse e = {v, 0, false};
    memset(v, 0, sizeof *v);
    if (!maybe_envelope(text) || tc_json_members(text, strlen(text), outer_member, &e) != 0 ||
        !e.inner || !v->encoding || !v->data) {
        tc_value_clear(v);
        return false;
    }
    return true;
}

int tc_value_parse(const char *text, tc_value *out, tc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return tc_seterr(err, TC_ERR_INVALID, "no value");
    if (parse_envelope(text, out))
        return TC_OK;
    if (maybe_envelope(text) && strstr(text, "\"__temporal_payload\":"))
        return tc_seterr(err, TC_ERR_INVALID,
                         "a malformed typed value: {\"__temporal_payload\":{\"encoding\":..,"
                         "\"data\":<base64>}} expected");
    bool null = strcmp(text, "null") == 0;
    out->encoding = tc_strdup(null ? k_null : k_json);
    out->len = null ? 0 : strlen(text);
    out->data = malloc(out->len + 1);
    if (!out->encoding || !out->data) {
        tc_value_clear(out);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    memcpy(out->data, text, out->len + 1);
    return TC_OK;
}

/* ---- the chain, outbound ---- */

static void meta(tc_pb_meta *me, const char *key, const char *value)
{
    temporal__api__common__v1__payload__metadata_entry__init(me);
    me->key = (char *)key;
    me->value.data = (uint8_t *)value;
    me->value.len = strlen(value);
}

bool tc_pl_encode(tc_pl *b, const char *text)
{
    memset(b, 0, sizeof *b);
    temporal__api__common__v1__payload__init(&b->p);
    b->p.metadata = b->mep;
    b->mep[0] = &b->me[0];
    b->mep[1] = &b->me[1];
    b->p.n_metadata = 1;
    if (strcmp(text, "null") == 0) {
        meta(&b->me[0], k_encoding, k_null); /* as the Go SDK writes nil */
        return true;
    }
    if (maybe_envelope(text) && parse_envelope(text, &b->value)) {
        meta(&b->me[0], k_encoding, b->value.encoding);
        if (b->value.message_type) {
            meta(&b->me[1], k_message_type, b->value.message_type);
            b->p.n_metadata = 2;
        }
        b->p.data.data = b->value.data;
        b->p.data.len = b->value.len;
        return true;
    }
    /* Plain JSON (or, out of memory, the text as is: still valid JSON). */
    meta(&b->me[0], k_encoding, k_json);
    b->p.data.data = (uint8_t *)text;
    b->p.data.len = strlen(text);
    return true;
}

void tc_pl_clear(tc_pl *b)
{
    tc_value_clear(&b->value);
}

/* ---- the chain, inbound ---- */

static bool enc_is(const ProtobufCBinaryData *enc, const char *name)
{
    size_t n = strlen(name);
    return enc->len == n && memcmp(enc->data, name, n) == 0;
}

static const ProtobufCBinaryData *meta_get(const tc_pb_payload *p, const char *key)
{
    for (size_t i = 0; i < p->n_metadata; i++)
        if (p->metadata[i]->key && strcmp(p->metadata[i]->key, key) == 0)
            return &p->metadata[i]->value;
    return NULL;
}

static void printable(const ProtobufCBinaryData *b, char *out, size_t cap)
{
    size_t n = b->len < cap - 1 ? b->len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (b->data[i] >= 0x20 && b->data[i] < 0x7f) ? (char)b->data[i] : '?';
    out[n] = '\0';
}

int tc_convert_decode(const tc_pb_payload *p, char **text, tc_error *err)
{
    *text = NULL;
    if (!p) {
        *text = tc_strdup("null");
        return *text ? TC_OK : tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    const ProtobufCBinaryData *bad = meta_get(p, TC_META_DECODE_ERROR);
    if (bad) {
        char why[400];
        printable(bad, why, sizeof why);
        return tc_seterr(err, TC_ERR_PROTOCOL, "payload could not be decoded: %s", why);
    }
    const ProtobufCBinaryData *enc = meta_get(p, k_encoding);
    if (!enc)
        return tc_seterr(err, TC_ERR_PROTOCOL, "payload has no encoding metadata");
    if (enc_is(enc, k_null) || (enc_is(enc, k_json) && p->data.len == 0)) {
        *text = tc_strdup("null");
    } else if (enc_is(enc, k_json)) {
        if ((*text = malloc(p->data.len + 1)) != NULL) {
            memcpy(*text, p->data.data, p->data.len);
            (*text)[p->data.len] = '\0';
        }
    } else {
        const char *typed = NULL;
        for (size_t i = 0; i < sizeof k_typed / sizeof k_typed[0] && !typed; i++)
            if (enc_is(enc, k_typed[i]))
                typed = k_typed[i];
        if (!typed) {
            char name[64];
            printable(enc, name, sizeof name);
            return tc_seterr(err, TC_ERR_PROTOCOL,
                             "payload encoding %s is not supported (the converter chain reads "
                             "binary/null, json/plain, binary/plain, json/protobuf and "
                             "binary/protobuf; a codec that wrote it must be configured)",
                             name);
        }
        const ProtobufCBinaryData *mt = meta_get(p, k_message_type);
        char *type = NULL;
        if (mt && (type = malloc(mt->len + 1)) != NULL) {
            memcpy(type, mt->data, mt->len);
            type[mt->len] = '\0';
        }
        if (!mt || type)
            *text = tc_value_format(typed, p->data.data, p->data.len, type);
        free(type);
    }
    return *text ? TC_OK : tc_seterr(err, TC_ERR_NOMEM, "out of memory");
}
