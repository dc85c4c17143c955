/* test_temporal_convert.c - the data converter without a server: the converter chain (null,
 * JSON, typed values in their reserved form, unknown encodings), base64, payload helpers,
 * protobuf-c messages as values, codecs applied to whole requests and replies (order, search
 * attributes left alone, failures to encode and decode), the failure converter and failures
 * with causes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "converter.h"
#include "temporal_protobuf.h"
#include "wf_run.h"

#include "google/protobuf/any.pb-c.h"
#include "temporal/api/protocol/v1/message.pb-c.h"
#include "temporal/api/update/v1/message.pb-c.h"

typedef Temporal__Api__Workflowservice__V1__StartWorkflowExecutionRequest start_rq;

/* ---- the chain ---- */

static char *pl_text(const tc_pb_payload *p, const char *key)
{
    for (size_t i = 0; i < p->n_metadata; i++)
        if (strcmp(p->metadata[i]->key, key) == 0)
            return strndup((const char *)p->metadata[i]->value.data, p->metadata[i]->value.len);
    return NULL;
}

static void expect_encoding(const tc_pb_payload *p, const char *want)
{
    char *enc = pl_text(p, "encoding");
    assert_non_null(enc);
    assert_string_equal(enc, want);
    free(enc);
}

static void null_is_binary_null_and_json_is_json_plain(void **s)
{
    (void)s;
    tc_pl1 a, b;
    tc_pb_payloads *ps = tc_pl1_init(&a, "null");
    expect_encoding(ps->payloads[0], "binary/null");
    assert_int_equal(ps->payloads[0]->data.len, 0);
    ps = tc_pl1_init(&b, "{\"spec\":true}");
    expect_encoding(ps->payloads[0], "json/plain");
    assert_memory_equal(ps->payloads[0]->data.data, "{\"spec\":true}", 13);
    char *text = NULL;
    tc_error err;
    assert_int_equal(tc_payload_decode(a.ps.payloads[0], &text, &err), TC_OK);
    assert_string_equal(text, "null");
    free(text);
    tc_pl1_clear(&a);
    tc_pl1_clear(&b);
}

static void typed_value_round_trips_through_its_reserved_form(void **s)
{
    (void)s;
    static const uint8_t bytes[] = {0xde, 0xad, 0xbe, 0xef};
    char *text = tc_value_format("binary/plain", bytes, 4, NULL);
    assert_string_equal(text, "{\"__temporal_payload\":{\"encoding\":\"binary/plain\",\"data\":"
                              "\"3q2+7w==\"}}");
    tc_pl1 pl;
    tc_pb_payloads *ps = tc_pl1_init(&pl, text);
    expect_encoding(ps->payloads[0], "binary/plain");
    assert_int_equal(ps->payloads[0]->n_metadata, 1);
    assert_int_equal(ps->payloads[0]->data.len, 4);
    assert_memory_equal(ps->payloads[0]->data.data, bytes, 4);
    char *back = NULL;
    tc_error err;
    assert_int_equal(tc_payload_decode(ps->payloads[0], &back, &err), TC_OK);
    assert_string_equal(back, text);
    tc_value v;
    assert_int_equal(tc_value_parse(back, &v, &err), TC_OK);
    assert_string_equal(v.encoding, "binary/plain");
    assert_int_equal(v.len, 4);
    assert_memory_equal(v.data, bytes, 4);
    assert_null(v.message_type);
    tc_value_clear(&v);
    free(back);
    tc_pl1_clear(&pl);
    free(text);
}

static void protobuf_values_keep_their_message_type(void **s)
{
    (void)s;
    char *text = tc_value_format("binary/protobuf", "\x12\x04\xde\xad\xbe\xef", 6,
                                 "temporal.api.common.v1.DataBlob");
    tc_pl1 pl;
    tc_pb_payloads *ps = tc_pl1_init(&pl, text);
    expect_encoding(ps->payloads[0], "binary/protobuf");
    char *mt = pl_text(ps->payloads[0], "messageType");
    assert_string_equal(mt, "temporal.api.common.v1.DataBlob");
    free(mt);
    char *back = NULL;
    tc_error err;
    assert_int_equal(tc_payload_decode(ps->payloads[0], &back, &err), TC_OK);
    assert_string_equal(back, text);
    free(back);
    tc_pl1_clear(&pl);
    free(text);
}

static void unknown_encoding_is_an_error_naming_it(void **s)
{
    (void)s;
    tc_pl1 pl;
    tc_pb_payloads *ps = tc_pl1_init(&pl, "1");
    pl.pl.me[0].value.data = (uint8_t *)"binary/snappy";
    pl.pl.me[0].value.len = strlen("binary/snappy");
    char *text = NULL;
    tc_error err = {0};
    assert_int_equal(tc_payload_decode(ps->payloads[0], &text, &err), TC_ERR_PROTOCOL);
    assert_null(text);
    assert_non_null(strstr(err.text, "payload encoding binary/snappy is not supported"));
    tc_pl1_clear(&pl);
}

static void malformed_reserved_form_is_refused_and_written_as_json(void **s)
{
    (void)s;
    const char *bad = "{\"__temporal_payload\":{\"encoding\":\"binary/plain\",\"data\":\"%%\"}}";
    tc_value v;
    tc_error err = {0};
    assert_int_equal(tc_value_parse(bad, &v, &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "malformed typed value"));
    tc_pl1 pl;
    tc_pb_payloads *ps = tc_pl1_init(&pl, bad);
    expect_encoding(ps->payloads[0], "json/plain");
    tc_pl1_clear(&pl);
}

static void base64_round_trips_and_refuses_garbage(void **s)
{
    (void)s;
    const uint8_t in[] = "any carnal pleasure.";
    char enc[64];
    for (size_t n = 0; n < sizeof in; n++) {
        tc_base64_encode(in, n, enc);
        uint8_t *dec;
        size_t len;
        assert_int_equal(tc_base64_decode(enc, strlen(enc), &dec, &len), TC_OK);
        assert_int_equal(len, n);
        assert_memory_equal(dec, in, n);
        free(dec);
    }
    uint8_t *dec;
    size_t len;
    assert_int_equal(tc_base64_decode("ab$c", 4, &dec, &len), TC_ERR_INVALID);
}

/* ---- payload helpers ---- */

static void payload_marshal_round_trips(void **s)
{
    (void)s;
    tc_payload p = {0}, q = {0};
    assert_int_equal(tc_payload_meta_set(&p, "encoding", "json/plain", 10), TC_OK);
    assert_int_equal(tc_payload_meta_set(&p, "encoding", "binary/x", 8), TC_OK); /* replaced */
    assert_int_equal(tc_payload_set_data(&p, "abc", 3), TC_OK);
    assert_int_equal(p.n_metadata, 1);
    uint8_t *buf;
    size_t len;
    tc_error err;
    assert_int_equal(tc_payload_marshal(&p, &buf, &len), TC_OK);
    assert_int_equal(tc_payload_unmarshal(buf, len, &q, &err), TC_OK);
    const tc_payload_meta *m = tc_payload_meta_get(&q, "encoding");
    assert_non_null(m);
    assert_int_equal(m->len, 8);
    assert_memory_equal(m->value, "binary/x", 8);
    assert_int_equal(q.len, 3);
    assert_memory_equal(q.data, "abc", 3);
    tc_payload_clear(&q);
    assert_int_equal(tc_payload_unmarshal("\xff\xff\xff", 3, &q, &err), TC_ERR_PROTOCOL);
    free(buf);
    tc_payload_clear(&p);
    tc_payload_clear(&q);
}

/* ---- protobuf-c messages as values ---- */

static void protobuf_message_round_trips_binary_and_json(void **s)
{
    (void)s;
    Temporal__Api__Common__V1__DataBlob blob = TEMPORAL__API__COMMON__V1__DATA_BLOB__INIT;
    blob.data.data = (uint8_t *)"\xde\xad\xbe\xef";
    blob.data.len = 4;
    blob.encoding_type = TEMPORAL__API__ENUMS__V1__ENCODING_TYPE__ENCODING_TYPE_PROTO3;
    tc_error err = {0};
    for (int json = 0; json < 2; json++) {
        char *text = tc_value_from_message(&blob.base, json);
        assert_non_null(text);
        tc_value v;
        assert_int_equal(tc_value_parse(text, &v, &err), TC_OK);
        assert_string_equal(v.encoding, json ? "json/protobuf" : "binary/protobuf");
        assert_string_equal(v.message_type, "temporal.api.common.v1.DataBlob");
        if (json)
            assert_string_equal(
                (const char *)v.data,
                "{\"encodingType\":\"ENCODING_TYPE_PROTO3\",\"data\":\"3q2+7w==\"}");
        tc_value_clear(&v);
        ProtobufCMessage *m = NULL;
        assert_int_equal(
            tc_value_to_message(text, &temporal__api__common__v1__data_blob__descriptor, &m, &err),
            TC_OK);
        Temporal__Api__Common__V1__DataBlob *back = (void *)m;
        assert_int_equal(back->data.len, 4);
        assert_memory_equal(back->data.data, "\xde\xad\xbe\xef", 4);
        assert_int_equal(back->encoding_type, blob.encoding_type);
        protobuf_c_message_free_unpacked(m, NULL);
        /* another message type is refused, naming both */
        assert_int_equal(
            tc_value_to_message(text, &temporal__api__common__v1__payload__descriptor, &m, &err),
            TC_ERR_INVALID);
        assert_non_null(strstr(err.text, "is a temporal.api.common.v1.DataBlob"));
        free(text);
    }
}

/* ---- codecs on whole calls ---- */

/* "binary/xor": the whole payload serialized and XORed with the byte in user. */
static int xor_encode(const tc_payload *in, tc_payload *out, void *user, tc_error *err)
{
    (void)err;
    uint8_t *buf;
    size_t len;
    uint8_t k = *(const uint8_t *)user;
    if (tc_payload_marshal(in, &buf, &len) != TC_OK)
        return TC_ERR_NOMEM;
    for (size_t i = 0; i < len; i++)
        buf[i] ^= k;
    char enc[32];
    snprintf(enc, sizeof enc, "binary/xor%02x", k);
    int rc = tc_payload_meta_set(out, "encoding", enc, strlen(enc));
    if (rc == TC_OK)
        rc = tc_payload_set_data(out, buf, len);
    free(buf);
    return rc;
}

static int xor_decode(const tc_payload *in, tc_payload *out, void *user, tc_error *err)
{
    uint8_t k = *(const uint8_t *)user;
    char enc[32];
    snprintf(enc, sizeof enc, "binary/xor%02x", k);
    const tc_payload_meta *m = tc_payload_meta_get(in, "encoding");
    if (!m || m->len != strlen(enc) || memcmp(m->value, enc, m->len) != 0)
        return TC_OK; /* not ours */
    uint8_t *buf = malloc(in->len + 1);
    if (!buf)
        return TC_ERR_NOMEM;
    for (size_t i = 0; i < in->len; i++)
        buf[i] = in->data[i] ^ k;
    int rc = tc_payload_unmarshal(buf, in->len, out, err);
    free(buf);
    return rc;
}

static int refuse(const tc_payload *in, tc_payload *out, void *user, tc_error *err)
{
    (void)in, (void)out, (void)user;
    return tc_seterr(err, TC_ERR_IO, "key service unreachable");
}

static const uint8_t k_a = 0x11, k_b = 0x22;

static tc_client *codec_client(const tc_payload_codec *codecs, size_t n, bool failures)
{
    tc_client_options o = {.address = "127.0.0.1:1",
                           .codecs = codecs,
                           .n_codecs = n,
                           .encode_failure_attributes = failures};
    tc_client *c = NULL;
    tc_error err;
    assert_int_equal(tc_client_new(&o, &c, &err), TC_OK);
    return c;
}

/* A StartWorkflowExecution with an input, a memo field and a search attribute. */
static ProtobufCMessage *start_request(tc_pl1 *in, tc_pl1 *memo, tc_pl1 *sa)
{
    start_rq *rq = calloc(1, sizeof *rq);
    static Temporal__Api__Common__V1__Memo m = TEMPORAL__API__COMMON__V1__MEMO__INIT;
    static Temporal__Api__Common__V1__Memo__FieldsEntry me =
        TEMPORAL__API__COMMON__V1__MEMO__FIELDS_ENTRY__INIT;
    static Temporal__Api__Common__V1__Memo__FieldsEntry *mep[1] = {&me};
    static Temporal__Api__Common__V1__SearchAttributes s =
        TEMPORAL__API__COMMON__V1__SEARCH_ATTRIBUTES__INIT;
    static Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry se =
        TEMPORAL__API__COMMON__V1__SEARCH_ATTRIBUTES__INDEXED_FIELDS_ENTRY__INIT;
    static Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry *sep[1] = {&se};
    temporal__api__workflowservice__v1__start_workflow_execution_request__init(rq);
    rq->input = tc_pl1_init(in, "\"secret input\"");
    me.key = "note";
    me.value = tc_pl1_init(memo, "\"secret memo\"")->payloads[0];
    m.n_fields = 1;
    m.fields = mep;
    rq->memo = &m;
    se.key = "CustomKeywordField";
    se.value = tc_pl1_init(sa, "\"indexed\"")->payloads[0];
    s.n_indexed_fields = 1;
    s.indexed_fields = sep;
    rq->search_attributes = &s;
    return &rq->base;
}

static start_rq *through(tc_client *c, const ProtobufCMessage *rq, int *rc, tc_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *rc = c->payload_out(c, rq, &buf, &len, err);
    if (*rc != TC_OK)
        return NULL;
    start_rq *out = temporal__api__workflowservice__v1__start_workflow_execution_request__unpack(
        NULL, len, buf);
    free(buf);
    return out;
}

static void codecs_encode_every_payload_but_search_attributes(void **s)
{
    (void)s;
    tc_payload_codec codecs[2] = {{"a", xor_encode, xor_decode, (void *)&k_a},
                                  {"b", xor_encode, xor_decode, (void *)&k_b}};
    tc_client *c = codec_client(codecs, 2, false);
    tc_pl1 in, memo, sa;
    ProtobufCMessage *rq = start_request(&in, &memo, &sa);
    int rc;
    tc_error err = {0};
    start_rq *out = through(c, rq, &rc, &err);
    assert_int_equal(rc, TC_OK);
    /* the first codec wraps the second: the outside is a's */
    expect_encoding(out->input->payloads[0], "binary/xor11");
    expect_encoding(out->memo->fields[0]->value, "binary/xor11");
    expect_encoding(out->search_attributes->indexed_fields[0]->value, "json/plain");
    assert_null(
        memmem(out->input->payloads[0]->data.data, out->input->payloads[0]->data.len, "secret", 6));
    /* a reply is decoded first to last: the values come back */
    assert_int_equal(c->payload_in(c, &out->base, &err), TC_OK);
    char *text = NULL;
    assert_int_equal(tc_payload_decode(out->input->payloads[0], &text, &err), TC_OK);
    assert_string_equal(text, "\"secret input\"");
    free(text);
    assert_int_equal(tc_payload_decode(out->memo->fields[0]->value, &text, &err), TC_OK);
    assert_string_equal(text, "\"secret memo\"");
    free(text);
    protobuf_c_message_free_unpacked(&out->base, NULL);
    tc_pl1_clear(&in);
    tc_pl1_clear(&memo);
    tc_pl1_clear(&sa);
    free(rq);
    tc_client_free(c);
}

static void codec_encode_failure_fails_the_call_naming_the_codec(void **s)
{
    (void)s;
    tc_payload_codec codecs[1] = {{"kms", refuse, xor_decode, (void *)&k_a}};
    tc_client *c = codec_client(codecs, 1, false);
    tc_pl1 in, memo, sa;
    ProtobufCMessage *rq = start_request(&in, &memo, &sa);
    int rc;
    tc_error err = {0};
    assert_null(through(c, rq, &rc, &err));
    assert_int_equal(rc, TC_ERR_CODEC);
    assert_non_null(strstr(err.text, "payload codec kms could not encode a payload: key service "
                                     "unreachable"));
    tc_pl1_clear(&in);
    tc_pl1_clear(&memo);
    tc_pl1_clear(&sa);
    free(rq);
    tc_client_free(c);
}

static void codec_decode_failure_makes_that_payload_unreadable_with_the_reason(void **s)
{
    (void)s;
    tc_payload_codec enc[1] = {{"a", xor_encode, xor_decode, (void *)&k_a}};
    tc_payload_codec dec[1] = {{"kms", xor_encode, refuse, (void *)&k_a}};
    tc_client *ce = codec_client(enc, 1, false), *cd = codec_client(dec, 1, false);
    tc_pl1 in, memo, sa;
    ProtobufCMessage *rq = start_request(&in, &memo, &sa);
    int rc;
    tc_error err = {0};
    start_rq *out = through(ce, rq, &rc, &err);
    assert_int_equal(cd->payload_in(cd, &out->base, &err), TC_OK); /* the call itself is fine */
    char *text = NULL;
    assert_int_equal(tc_payload_decode(out->input->payloads[0], &text, &err), TC_ERR_PROTOCOL);
    assert_non_null(strstr(err.text, "payload codec kms: key service unreachable"));
    /* a client without the codec names the encoding it cannot read */
    protobuf_c_message_free_unpacked(&out->base, NULL);
    out = through(ce, rq, &rc, &err);
    assert_int_equal(tc_payload_decode(out->input->payloads[0], &text, &err), TC_ERR_PROTOCOL);
    assert_non_null(strstr(err.text, "binary/xor11 is not supported"));
    protobuf_c_message_free_unpacked(&out->base, NULL);
    tc_pl1_clear(&in);
    tc_pl1_clear(&memo);
    tc_pl1_clear(&sa);
    free(rq);
    tc_client_free(ce);
    tc_client_free(cd);
}

/* An update's result travels in a protocol message (its body a google.protobuf.Any): the
 * codecs reach into it both ways, as into any other payload. */
static void codecs_reach_update_bodies_packed_in_any(void **s)
{
    (void)s;
    tc_payload_codec codecs[1] = {{"a", xor_encode, xor_decode, (void *)&k_a}};
    tc_client *c = codec_client(codecs, 1, false);
    tc_pl1 res;
    Temporal__Api__Update__V1__Outcome outcome = TEMPORAL__API__UPDATE__V1__OUTCOME__INIT;
    Temporal__Api__Update__V1__Response resp = TEMPORAL__API__UPDATE__V1__RESPONSE__INIT;
    outcome.value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_SUCCESS;
    outcome.success = tc_pl1_init(&res, "\"secret result\"");
    resp.outcome = &outcome;
    uint8_t body[256];
    assert_true(temporal__api__update__v1__response__get_packed_size(&resp) <= sizeof body);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = "type.googleapis.com/temporal.api.update.v1.Response";
    any.value.data = body;
    any.value.len = temporal__api__update__v1__response__pack(&resp, body);
    Temporal__Api__Protocol__V1__Message msg = TEMPORAL__API__PROTOCOL__V1__MESSAGE__INIT;
    Temporal__Api__Protocol__V1__Message *msgs[1] = {&msg};
    msg.body = &any;
    Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_WORKFLOW_TASK_COMPLETED_REQUEST__INIT;
    rq.n_messages = 1;
    rq.messages = msgs;
    uint8_t *buf = NULL;
    size_t len = 0;
    tc_error err = {0};
    assert_int_equal(c->payload_out(c, &rq.base, &buf, &len, &err), TC_OK);
    Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedRequest *out =
        temporal__api__workflowservice__v1__respond_workflow_task_completed_request__unpack(
            NULL, len, buf);
    free(buf);
    assert_non_null(out);
    Google__Protobuf__Any *a = out->messages[0]->body;
    Temporal__Api__Update__V1__Response *sent =
        temporal__api__update__v1__response__unpack(NULL, a->value.len, a->value.data);
    expect_encoding(sent->outcome->success->payloads[0], "binary/xor11");
    temporal__api__update__v1__response__free_unpacked(sent, NULL);
    /* and back: the body is decoded in place */
    assert_int_equal(c->payload_in(c, &out->base, &err), TC_OK);
    sent = temporal__api__update__v1__response__unpack(NULL, a->value.len, a->value.data);
    char *text = NULL;
    assert_int_equal(tc_payload_decode(sent->outcome->success->payloads[0], &text, &err), TC_OK);
    assert_string_equal(text, "\"secret result\"");
    free(text);
    temporal__api__update__v1__response__free_unpacked(sent, NULL);
    protobuf_c_message_free_unpacked(&out->base, NULL);
    tc_pl1_clear(&res);
    tc_client_free(c);
}

/* ---- failures ---- */

typedef Temporal__Api__Workflowservice__V1__RespondActivityTaskFailedRequest failed_rq;

static failed_rq *failure_through(tc_client *c, const tc_failure *f, int *rc, tc_error *err)
{
    failed_rq rq = TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_FAILED_REQUEST__INIT;
    size_t len = 0;
    uint8_t *packed = tc_failure_pack(f, &len);
    rq.failure = temporal__api__failure__v1__failure__unpack(NULL, len, packed);
    free(packed);
    uint8_t *buf = NULL;
    *rc = c->payload_out(c, &rq.base, &buf, &len, err);
    temporal__api__failure__v1__failure__free_unpacked(rq.failure, NULL);
    failed_rq *out =
        *rc == TC_OK
            ? temporal__api__workflowservice__v1__respond_activity_task_failed_request__unpack(
                  NULL, len, buf)
            : NULL;
    free(buf);
    return out;
}

static void failure_attributes_are_encoded_with_their_cause_and_decoded_back(void **s)
{
    (void)s;
    tc_payload_codec codecs[1] = {{"a", xor_encode, xor_decode, (void *)&k_a}};
    tc_client *c = codec_client(codecs, 1, true);
    tc_failure cause = {.message = "cause error", .stack_trace = "at inner"};
    tc_failure main = {.type = "customType",
                       .message = "main error",
                       .details_json = "{\"order\":7}",
                       .cause = &cause};
    int rc;
    tc_error err = {0};
    failed_rq *out = failure_through(c, &main, &rc, &err);
    assert_int_equal(rc, TC_OK);
    const tc_pb_failure *f = out->failure;
    assert_string_equal(f->message, "Encoded failure");
    assert_string_equal(f->stack_trace, "");
    assert_string_equal(f->application_failure_info->type, "customType");
    expect_encoding(f->encoded_attributes, "binary/xor11");
    expect_encoding(f->application_failure_info->details->payloads[0], "binary/xor11");
    assert_string_equal(f->cause->message, "Encoded failure");
    assert_int_equal(c->payload_in(c, &out->base, &err), TC_OK);
    assert_string_equal(f->message, "main error");
    assert_string_equal(f->cause->message, "cause error");
    assert_string_equal(f->cause->stack_trace, "at inner");
    protobuf_c_message_free_unpacked(&out->base, NULL);
    tc_client_free(c);
}

static void failure_stays_readable_when_its_codec_fails(void **s)
{
    (void)s;
    tc_payload_codec codecs[1] = {{"kms", refuse, xor_decode, (void *)&k_a}};
    tc_client *c = codec_client(codecs, 1, true);
    tc_failure f = {.type = "PayloadEncodeError", .message = "the codec failed"};
    int rc;
    tc_error err = {0};
    failed_rq *out = failure_through(c, &f, &rc, &err);
    assert_int_equal(rc, TC_OK); /* the report of a codec failure must reach the server */
    assert_string_equal(out->failure->message, "the codec failed");
    assert_null(out->failure->encoded_attributes);
    protobuf_c_message_free_unpacked(&out->base, NULL);
    tc_client_free(c);
}

static void codec_without_steps_is_refused(void **s)
{
    (void)s;
    tc_payload_codec codecs[1] = {{"none", NULL, NULL, NULL}};
    tc_client_options o = {.address = "127.0.0.1:1", .codecs = codecs, .n_codecs = 1};
    tc_client *c = NULL;
    tc_error err = {0};
    assert_int_equal(tc_client_new(&o, &c, &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "codec 0 (none) has neither encode nor decode"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_is_binary_null_and_json_is_json_plain),
        cmocka_unit_test(typed_value_round_trips_through_its_reserved_form),
        cmocka_unit_test(protobuf_values_keep_their_message_type),
        cmocka_unit_test(unknown_encoding_is_an_error_naming_it),
        cmocka_unit_test(malformed_reserved_form_is_refused_and_written_as_json),
        cmocka_unit_test(base64_round_trips_and_refuses_garbage),
        cmocka_unit_test(payload_marshal_round_trips),
        cmocka_unit_test(protobuf_message_round_trips_binary_and_json),
        cmocka_unit_test(codecs_encode_every_payload_but_search_attributes),
        cmocka_unit_test(codec_encode_failure_fails_the_call_naming_the_codec),
        cmocka_unit_test(codec_decode_failure_makes_that_payload_unreadable_with_the_reason),
        cmocka_unit_test(codecs_reach_update_bodies_packed_in_any),
        cmocka_unit_test(failure_attributes_are_encoded_with_their_cause_and_decoded_back),
        cmocka_unit_test(failure_stays_readable_when_its_codec_fails),
        cmocka_unit_test(codec_without_steps_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
