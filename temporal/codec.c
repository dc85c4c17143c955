/* codec.c - payload codecs and the failure converter, applied to whole calls: every Payload of
 * a request (found through the protobuf-c descriptors, search attributes excepted) is encoded
 * by the client's codecs before it is sent, every Payload of a reply decoded when it arrives,
 * and failures get their message and stack trace moved into encoded_attributes when asked.
 * Bodies packed in a google.protobuf.Any (the update protocol's messages) are opened too.
 * The call layer reaches this file only through the client's two hooks. */
#include "converter.h"

#include "json_lite.h"

#include "google/protobuf/any.pb-c.h"
#include "temporal/api/update/v1/message.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Temporal__Api__Common__V1__Payload pb_payload;
typedef Temporal__Api__Common__V1__Payload__MetadataEntry pb_meta;

#define PAYLOAD_DESC   (&temporal__api__common__v1__payload__descriptor)
#define FAILURE_DESC   (&temporal__api__failure__v1__failure__descriptor)
#define SEARCH_ATTRS   (&temporal__api__common__v1__search_attributes__descriptor)
#define ANY_DESC       (&google__protobuf__any__descriptor)
#define ENCODED_FAILED "Encoded failure"

/* The client's data converter. */
typedef struct tc_dc {
    tc_payload_codec *codecs;
    size_t n;
    bool encode_failures;
} tc_dc;

/* ---- tc_payload (public helpers for codecs) ---- */

const tc_payload_meta *tc_payload_meta_get(const tc_payload *p, const char *key)
{
    for (size_t i = 0; p && key && i < p->n_metadata; i++)
        if (strcmp(p->metadata[i].key, key) == 0)
            return &p->metadata[i];
    return NULL;
}

static uint8_t *copy_bytes(const void *data, size_t len)
{
    uint8_t *b = malloc(len + 1); /* NUL-terminated too, for text */
    if (b) {
        if (len)
            memcpy(b, data, len);
        b[len] = '\0';
    }
    return b;
}

int tc_payload_meta_set(tc_payload *p, const char *key, const void *value, size_t len)
{
    uint8_t *v = copy_bytes(value, len);
    if (!v)
        return TC_ERR_NOMEM;
    for (size_t i = 0; i < p->n_metadata; i++)
        if (strcmp(p->metadata[i].key, key) == 0) {
            free(p->metadata[i].value);
            p->metadata[i].value = v;
            p->metadata[i].len = len;
            return TC_OK;
        }
    tc_payload_meta *m = realloc(p->metadata, (p->n_metadata + 1) * sizeof *m);
    char *k = tc_strdup(key);
    if (m)
        p->metadata = m;
    if (!m || !k) {
        free(v);
        free(k);
        return TC_ERR_NOMEM;
    }
    m[p->n_metadata].key = k;
    m[p->n_metadata].value = v;
    m[p->n_metadata].len = len;
    p->n_metadata++;
    return TC_OK;
}

int tc_payload_set_data(tc_payload *p, const void *data, size_t len)
{
    uint8_t *d = copy_bytes(data, len);
    if (!d)
        return TC_ERR_NOMEM;
    free(p->data);
    p->data = d;
    p->len = len;
    return TC_OK;
}

void tc_payload_clear(tc_payload *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_metadata; i++) {
        free(p->metadata[i].key);
        free(p->metadata[i].value);
    }
    free(p->metadata);
    free(p->data);
    memset(p, 0, sizeof *p);
}

/* A protobuf-c Payload over p's memory (entries allocated, contents borrowed). */
static pb_payload *pb_view(const tc_payload *p, pb_meta **entries, pb_meta ***ptrs)
{
    static pb_payload zero = TEMPORAL__API__COMMON__V1__PAYLOAD__INIT;
    pb_payload *pb = malloc(sizeof *pb);
    *entries = calloc(p->n_metadata + 1, sizeof **entries);
    *ptrs = calloc(p->n_metadata + 1, sizeof **ptrs);
    if (!pb || !*entries || !*ptrs) {
        free(pb);
        free(*entries);
        free(*ptrs);
        return NULL;
    }
    *pb = zero;
    for (size_t i = 0; i < p->n_metadata; i++) {
        temporal__api__common__v1__payload__metadata_entry__init(&(*entries)[i]);
        (*entries)[i].key = p->metadata[i].key;
        (*entries)[i].value.data = p->metadata[i].value;
        (*entries)[i].value.len = p->metadata[i].len;
        (*ptrs)[i] = &(*entries)[i];
    }
    pb->n_metadata = p->n_metadata;
    pb->metadata = *ptrs;
    pb->data.data = p->data;
    pb->data.len = p->len;
    return pb;
}

int tc_payload_marshal(const tc_payload *p, uint8_t **out, size_t *len)
{
    pb_meta *entries;
    pb_meta **ptrs;
    *out = NULL;
    *len = 0;
    pb_payload *pb = pb_view(p, &entries, &ptrs);
    if (!pb)
        return TC_ERR_NOMEM;
    size_t n = temporal__api__common__v1__payload__get_packed_size(pb);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf) {
        temporal__api__common__v1__payload__pack(pb, buf);
        *out = buf;
        *len = n;
    }
    free(pb);
    free(entries);
    free(ptrs);
    return buf ? TC_OK : TC_ERR_NOMEM;
}

/* Copies a protobuf-c Payload into *out (owned). */
static int from_pb(const pb_payload *pb, tc_payload *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < pb->n_metadata; i++)
        if (tc_payload_meta_set(out, pb->metadata[i]->key, pb->metadata[i]->value.data,
                                pb->metadata[i]->value.len) != TC_OK) {
            tc_payload_clear(out);
            return TC_ERR_NOMEM;
        }
    if (tc_payload_set_data(out, pb->data.data, pb->data.len) != TC_OK) {
        tc_payload_clear(out);
        return TC_ERR_NOMEM;
    }
    return TC_OK;
}

int tc_payload_unmarshal(const void *data, size_t len, tc_payload *out, tc_error *err)
{
    memset(out, 0, sizeof *out);
    pb_payload *pb = temporal__api__common__v1__payload__unpack(NULL, len, data);
    if (!pb)
        return tc_seterr(err, TC_ERR_PROTOCOL, "not a serialized Payload (%zu bytes)", len);
    int rc = from_pb(pb, out);
    temporal__api__common__v1__payload__free_unpacked(pb, NULL);
    return rc == TC_OK ? TC_OK : tc_seterr(err, rc, "out of memory");
}

/* ---- which messages can hold payloads (computed once per descriptor) ---- */

#define MEMO_SLOTS 2048

static struct {
    const ProtobufCMessageDescriptor *d;
    int v; /* 1: may hold a payload, 2: cannot */
} g_memo[MEMO_SLOTS];
static pthread_mutex_t g_memo_mu = PTHREAD_MUTEX_INITIALIZER;

static int *memo_slot(const ProtobufCMessageDescriptor *d)
{
    size_t h = ((uintptr_t)d >> 4) % MEMO_SLOTS;
    for (size_t i = 0; i < MEMO_SLOTS; i++, h = (h + 1) % MEMO_SLOTS)
        if (g_memo[h].d == d || !g_memo[h].d) {
            g_memo[h].d = d;
            return &g_memo[h].v;
        }
    return NULL; /* full: never for the API's few hundred messages */
}

/* Depth-first under g_memo_mu; a message on the current path counts as "cannot" (its other
 * paths decide). */
static bool holds_locked(const ProtobufCMessageDescriptor *d, int depth)
{
    if (d == PAYLOAD_DESC || d == FAILURE_DESC || d == ANY_DESC)
        return true;
    if (d == SEARCH_ATTRS || depth > 64)
        return false;
    int *slot = memo_slot(d);
    if (slot && *slot)
        return *slot == 1;
    if (slot)
        *slot = 2; /* on the path */
    bool yes = false;
    for (unsigned i = 0; i < d->n_fields && !yes; i++)
        if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            yes = holds_locked(d->fields[i].descriptor, depth + 1);
    if (slot)
        *slot = yes ? 1 : 2;
    return yes;
}

static bool may_hold(const ProtobufCMessageDescriptor *d)
{
    pthread_mutex_lock(&g_memo_mu);
    bool yes = holds_locked(d, 0);
    pthread_mutex_unlock(&g_memo_mu);
    return yes;
}

/* ---- replacing a payload's contents in an unpacked message ---- */

static void free_str(char *s)
{
    if (s && s != protobuf_c_empty_string)
        free(s);
}

static void pb_clear(pb_payload *p)
{
    for (size_t i = 0; i < p->n_metadata; i++)
        protobuf_c_message_free_unpacked(&p->metadata[i]->base, NULL);
    free(p->metadata);
    free(p->data.data);
    p->metadata = NULL;
    p->n_metadata = 0;
    p->data.data = NULL;
    p->data.len = 0;
}

/* Moves np into p (np is left empty). */
static int pb_replace(pb_payload *p, tc_payload *np)
{
    pb_meta **md = calloc(np->n_metadata + 1, sizeof *md);
    if (!md)
        return TC_ERR_NOMEM;
    for (size_t i = 0; i < np->n_metadata; i++) {
        if (!(md[i] = malloc(sizeof *md[i]))) {
            for (size_t k = 0; k < i; k++)
                free(md[k]);
            free(md);
            return TC_ERR_NOMEM;
        }
        temporal__api__common__v1__payload__metadata_entry__init(md[i]);
    }
    pb_clear(p);
    for (size_t i = 0; i < np->n_metadata; i++) {
        md[i]->key = np->metadata[i].key;
        md[i]->value.data = np->metadata[i].value;
        md[i]->value.len = np->metadata[i].len;
    }
    p->metadata = md;
    p->n_metadata = np->n_metadata;
    p->data.data = np->data;
    p->data.len = np->len;
    free(np->metadata);
    memset(np, 0, sizeof *np);
    return TC_OK;
}

/* ---- one payload through the codecs ---- */

typedef struct visit {
    const tc_dc *dc;
    bool out; /* encoding a request (else decoding a reply) */
    int rc;   /* the first error of an encoding */
    tc_error *err;
} visit;

static bool empty(const tc_payload *p)
{
    return p->n_metadata == 0 && !p->data;
}

static void encode_payload(visit *v, pb_payload *p)
{
    tc_payload cur;
    tc_error e = {0};
    if (from_pb(p, &cur) != TC_OK) {
        v->rc = tc_seterr(v->err, TC_ERR_NOMEM, "out of memory encoding a payload");
        return;
    }
    for (size_t k = v->dc->n; k-- > 0;) { /* the first codec wraps the others */
        const tc_payload_codec *c = &v->dc->codecs[k];
        tc_payload out = {0};
        int rc = c->encode ? c->encode(&cur, &out, c->user, &e) : TC_OK;
        if (rc == TC_OK && !c->encode)
            continue;
        if (rc == TC_OK && empty(&out))
            rc = tc_seterr(&e, TC_ERR_CODEC, "it produced an empty payload");
        tc_payload_clear(&cur);
        if (rc != TC_OK) {
            tc_payload_clear(&out);
            v->rc =
                tc_seterr(v->err, TC_ERR_CODEC, "payload codec %s could not encode a payload: %s",
                          c->name ? c->name : "(unnamed)", e.text[0] ? e.text : tc_code_name(rc));
            return;
        }
        cur = out;
    }
    if (pb_replace(p, &cur) != TC_OK)
        v->rc = tc_seterr(v->err, TC_ERR_NOMEM, "out of memory encoding a payload");
    tc_payload_clear(&cur);
}

/* Leaves the reason on a payload no codec could decode: reading it fails with it. */
static void mark_undecodable(pb_payload *p, const char *why)
{
    pb_meta **md = realloc(p->metadata, (p->n_metadata + 1) * sizeof *md);
    pb_meta *m = malloc(sizeof *m);
    if (md)
        p->metadata = md;
    if (!md || !m) {
        free(m);
        return;
    }
    temporal__api__common__v1__payload__metadata_entry__init(m);
    m->key = tc_strdup(TC_META_DECODE_ERROR);
    m->value.data = (uint8_t *)tc_strdup(why);
    m->value.len = m->value.data ? strlen(why) : 0;
    md[p->n_metadata++] = m;
}

static void decode_payload(visit *v, pb_payload *p)
{
    tc_payload cur;
    tc_error e = {0};
    bool changed = false;
    if (from_pb(p, &cur) != TC_OK)
        return; /* left encoded: reading it names its encoding */
    for (size_t k = 0; k < v->dc->n; k++) {
        const tc_payload_codec *c = &v->dc->codecs[k];
        tc_payload out = {0};
        if (!c->decode)
            continue;
        int rc = c->decode(&cur, &out, c->user, &e);
        if (rc != TC_OK) {
            char why[600];
            snprintf(why, sizeof why, "payload codec %s: %s", c->name ? c->name : "(unnamed)",
                     e.text[0] ? e.text : tc_code_name(rc));
            tc_payload_clear(&out);
            tc_payload_clear(&cur);
            mark_undecodable(p, why);
            return;
        }
        if (empty(&out))
            continue; /* not this codec's payload */
        tc_payload_clear(&cur);
        cur = out;
        changed = true;
    }
    if (changed)
        pb_replace(p, &cur);
    tc_payload_clear(&cur);
}

/* ---- failures (the failure converter) ---- */

/* Moves the failure's message and stack trace into encoded_attributes (json/plain
 * {"message":..,"stack_trace":..}); the codecs then encode that payload like any other. */
static void encode_failure(Temporal__Api__Failure__V1__Failure *f)
{
    const char *msg = f->message ? f->message : "", *st = f->stack_trace ? f->stack_trace : "";
    if (f->encoded_attributes || (!*msg && !*st))
        return;
    size_t cap = strlen(msg) * 6 + strlen(st) * 6 + 40, o = 0;
    char *json = malloc(cap);
    pb_payload *p = malloc(sizeof *p);
    pb_meta **md = calloc(1, sizeof *md);
    pb_meta *m = malloc(sizeof *m);
    char *enc_msg = tc_strdup(ENCODED_FAILED), *empty_st = tc_strdup("");
    uint8_t *enc = (uint8_t *)tc_strdup(TC_ENCODING_JSON);
    char *key = tc_strdup("encoding");
    if (!json || !p || !md || !m || !enc_msg || !empty_st || !enc || !key) {
        free(json), free(p), free(md), free(m), free(enc_msg), free(empty_st), free(enc);
        free(key);
        return; /* out of memory: the failure goes as it is */
    }
    o += (size_t)snprintf(json, cap, "{\"message\":\"");
    o += tc_json_escape(msg, json + o, cap - o);
    o += (size_t)snprintf(json + o, cap - o, "\",\"stack_trace\":\"");
    o += tc_json_escape(st, json + o, cap - o);
    snprintf(json + o, cap - o, "\"}");
    temporal__api__common__v1__payload__init(p);
    temporal__api__common__v1__payload__metadata_entry__init(m);
    m->key = key;
    m->value.data = enc;
    m->value.len = strlen(TC_ENCODING_JSON);
    md[0] = m;
    p->metadata = md;
    p->n_metadata = 1;
    p->data.data = (uint8_t *)json;
    p->data.len = strlen(json);
    f->encoded_attributes = p;
    free_str(f->message);
    free_str(f->stack_trace);
    f->message = enc_msg;
    f->stack_trace = empty_st;
}

typedef struct attrs {
    char *message, *stack_trace;
} attrs;

static int attrs_member(const char *key, const char *v, size_t len, void *arg)
{
    attrs *a = arg;
    char **dst = strcmp(key, "message") == 0       ? &a->message
                 : strcmp(key, "stack_trace") == 0 ? &a->stack_trace
                                                   : NULL;
    if (dst) {
        free(*dst);
        *dst = tc_json_string(v, len);
    }
    return 0;
}

/* Restores message and stack trace from (decoded) encoded_attributes. */
static void decode_failure(Temporal__Api__Failure__V1__Failure *f)
{
    const pb_payload *p = f->encoded_attributes;
    char *text = NULL;
    tc_error e;
    if (!p || tc_convert_decode(p, &text, &e) != TC_OK)
        return;
    attrs a = {NULL, NULL};
    if (tc_json_members(text, strlen(text), attrs_member, &a) == 0 && a.message) {
        free_str(f->message);
        f->message = a.message;
        a.message = NULL;
        if (a.stack_trace) {
            free_str(f->stack_trace);
            f->stack_trace = a.stack_trace;
            a.stack_trace = NULL;
        }
    }
    free(a.message);
    free(a.stack_trace);
    free(text);
}

/* ---- the walk ---- */

static void walk(visit *v, ProtobufCMessage *m);

/* Outbound failure with encoding asked: its attributes move into a payload the codecs encode
 * here; if they cannot, the failure goes as it was (it must reach the server: it may be the
 * report of that very codec failure). */
static void encode_failure_attrs(visit *v, Temporal__Api__Failure__V1__Failure *f)
{
    if (f->encoded_attributes)
        return; /* already encoded (a failure read and sent on) */
    char *msg = tc_strdup(f->message ? f->message : ""),
         *st = tc_strdup(f->stack_trace ? f->stack_trace : "");
    if (!msg || !st) {
        free(msg);
        free(st);
        return;
    }
    encode_failure(f);
    if (f->encoded_attributes && v->dc->n) {
        tc_error e = {0};
        visit inner = {v->dc, true, TC_OK, &e};
        encode_payload(&inner, f->encoded_attributes);
        if (inner.rc != TC_OK) {
            protobuf_c_message_free_unpacked(&f->encoded_attributes->base, NULL);
            f->encoded_attributes = NULL;
            free_str(f->message);
            free_str(f->stack_trace);
            f->message = msg;
            f->stack_trace = st;
            return;
        }
    }
    free(msg);
    free(st);
}

/* The messages with payloads that travel packed in a google.protobuf.Any: the update
 * protocol's bodies, in a workflow task's messages (update arguments) and in its answer
 * (results and failures), as the official SDKs run their converters on those too. */
static const ProtobufCMessageDescriptor *const k_any_bodies[] = {
    &temporal__api__update__v1__request__descriptor,
    &temporal__api__update__v1__acceptance__descriptor,
    &temporal__api__update__v1__rejection__descriptor,
    &temporal__api__update__v1__response__descriptor,
};

/* Opens a known body (type_url "type.googleapis.com/<full name>"), walks it and packs it back.
 * An unknown or unreadable body is left as it is (its reader reports it). */
static void walk_any(visit *v, Google__Protobuf__Any *a)
{
    const char *slash = a->type_url ? strrchr(a->type_url, '/') : NULL;
    const char *name = slash ? slash + 1 : a->type_url;
    const ProtobufCMessageDescriptor *d = NULL;
    for (size_t i = 0; name && i < sizeof k_any_bodies / sizeof k_any_bodies[0]; i++)
        if (strcmp(k_any_bodies[i]->name, name) == 0)
            d = k_any_bodies[i];
    ProtobufCMessage *body =
        d ? protobuf_c_message_unpack(d, NULL, a->value.len, a->value.data) : NULL;
    if (!body)
        return;
    walk(v, body);
    size_t n = protobuf_c_message_get_packed_size(body);
    uint8_t *b = v->rc == TC_OK ? malloc(n ? n : 1) : NULL;
    if (b) {
        protobuf_c_message_pack(body, b);
        free(a->value.data);
        a->value.data = b;
        a->value.len = n;
    } else if (v->rc == TC_OK) {
        v->rc = tc_seterr(v->err, TC_ERR_NOMEM, "out of memory encoding a payload");
    }
    protobuf_c_message_free_unpacked(body, NULL);
}

static void walk_field(visit *v, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    char *base = (char *)m;
    if (f->type != PROTOBUF_C_TYPE_MESSAGE || !may_hold(f->descriptor))
        return;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(uint32_t *)(base + f->quantifier_offset) != f->id)
            return; /* another member of the oneof is set */
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(size_t *)(base + f->quantifier_offset);
        ProtobufCMessage **arr = *(ProtobufCMessage ***)(base + f->offset);
        for (size_t i = 0; i < n && v->rc == TC_OK; i++)
            if (arr[i])
                walk(v, arr[i]);
    } else {
        ProtobufCMessage *sub = *(ProtobufCMessage **)(base + f->offset);
        if (sub)
            walk(v, sub);
    }
}

static void walk(visit *v, ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == PAYLOAD_DESC) {
        if (v->dc->n)
            (v->out ? encode_payload : decode_payload)(v, (pb_payload *)m);
        return;
    }
    if (d == SEARCH_ATTRS)
        return; /* the server indexes them: never encoded */
    if (d == ANY_DESC) {
        walk_any(v, (Google__Protobuf__Any *)m);
        return;
    }
    bool attrs_done = false;
    if (d == FAILURE_DESC && v->out && v->dc->encode_failures) {
        attrs_done = ((Temporal__Api__Failure__V1__Failure *)m)->encoded_attributes == NULL;
        encode_failure_attrs(v, (Temporal__Api__Failure__V1__Failure *)m);
    }
    for (unsigned i = 0; i < d->n_fields && v->rc == TC_OK; i++)
        if (!(attrs_done && strcmp(d->fields[i].name, "encoded_attributes") == 0))
            walk_field(v, m, &d->fields[i]);
    if (d == FAILURE_DESC && !v->out)
        decode_failure((Temporal__Api__Failure__V1__Failure *)m);
}

/* ---- the client's hooks ---- */

static int payload_out(tc_client *c, const ProtobufCMessage *req, uint8_t **buf, size_t *len,
                       tc_error *err)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *b = malloc(n ? n : 1);
    *buf = NULL;
    *len = 0;
    if (!b)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    protobuf_c_message_pack(req, b);
    if (!may_hold(req->descriptor)) {
        *buf = b;
        *len = n;
        return TC_OK;
    }
    /* Encode a copy: the caller's request points at memory the caller owns. */
    ProtobufCMessage *copy = protobuf_c_message_unpack(req->descriptor, NULL, n, b);
    free(b);
    if (!copy)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    visit v = {c->dc, true, TC_OK, err};
    walk(&v, copy);
    if (v.rc == TC_OK) {
        n = protobuf_c_message_get_packed_size(copy);
        if ((b = malloc(n ? n : 1)) != NULL) {
            protobuf_c_message_pack(copy, b);
            *buf = b;
            *len = n;
        } else {
            v.rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        }
    }
    protobuf_c_message_free_unpacked(copy, NULL);
    return v.rc;
}

static int payload_in(tc_client *c, ProtobufCMessage *resp, tc_error *err)
{
    if (!may_hold(resp->descriptor))
        return TC_OK;
    visit v = {c->dc, false, TC_OK, err};
    walk(&v, resp);
    return TC_OK; /* undecodable payloads carry their reason */
}

int tc_codec_setup(tc_client *c, const tc_payload_codec *codecs, size_t n, bool encode_failures,
                   tc_error *err)
{
    if (n == 0 && !encode_failures)
        return TC_OK;
    if (n && !codecs)
        return tc_seterr(err, TC_ERR_INVALID, "n_codecs is %zu but codecs is NULL", n);
    tc_dc *dc = calloc(1, sizeof *dc);
    if (!dc || (n && !(dc->codecs = calloc(n, sizeof *dc->codecs)))) {
        free(dc);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (!codecs[i].encode && !codecs[i].decode) {
            free(dc->codecs);
            free(dc);
            return tc_seterr(err, TC_ERR_INVALID, "codec %zu (%s) has neither encode nor decode", i,
                             codecs[i].name ? codecs[i].name : "unnamed");
        }
        dc->codecs[i] = codecs[i];
        dc->codecs[i].name = NULL;
        if (codecs[i].name && !(dc->codecs[i].name = tc_strdup(codecs[i].name))) {
            for (size_t k = 0; k < i; k++)
                free((char *)dc->codecs[k].name);
            free(dc->codecs);
            free(dc);
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        }
    }
    dc->n = n;
    dc->encode_failures = encode_failures;
    c->dc = dc;
    c->payload_out = payload_out;
    c->payload_in = payload_in;
    return TC_OK;
}

void tc_codec_free(tc_client *c)
{
    if (!c->dc)
        return;
    for (size_t i = 0; i < c->dc->n; i++)
        free((char *)c->dc->codecs[i].name);
    free(c->dc->codecs);
    free(c->dc);
    c->dc = NULL;
}

/* Decodes the payloads of a history read without a client (tc_history_load, replays). */
int tc_history_decode(tc_history *h, const tc_payload_codec *codecs, size_t n, tc_error *err)
{
    tc_dc dc = {(tc_payload_codec *)codecs, n, false};
    visit v = {&dc, false, TC_OK, err};
    for (size_t i = 0; h && i < h->n; i++)
        walk(&v, &h->events[i]->base);
    return TC_OK;
}
