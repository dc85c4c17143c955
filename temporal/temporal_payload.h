/* temporal_payload.h - the data converter of the Temporal C bridge (part of temporal.h): values
 * of any encoding through the JSON-text API, payload codecs (encryption, compression) applied to
 * every payload in and out, and failures with a cause chain and encoded attributes. */
#ifndef TEMPORAL_PAYLOAD_H
#define TEMPORAL_PAYLOAD_H

/* ---- values and their encodings ----
 *
 * Every value crosses the API as text: JSON for the simple path. The converter chain writes a
 * JSON text as a json/plain payload, and the JSON `null` as binary/null (as the official SDKs
 * write nil / None); it reads json/plain and binary/null back as JSON. A value of another
 * encoding (binary/plain, json/protobuf, binary/protobuf) travels as a JSON text of a
 * reserved form,
 *
 *     {"__temporal_payload":{"encoding":"binary/plain","data":"3q2+7w=="}}
 *
 * (data in base64; "messageType" for the protobuf encodings), which every call that takes a
 * value writes as a payload of that encoding and every call that returns one gives for such a
 * payload. So typed values pass through workflows, activities, signals, queries and results
 * unchanged (an echo workflow, tc_wf_complete(ctx, tc_wf_input(ctx, 0)), returns its
 * argument's payload as it came), and tc_value_parse / tc_value_format convert between the
 * reserved form and bytes. Only the exact form is recognised: other JSON stays JSON. A payload
 * of any other encoding cannot be read: the task or activity that gets it fails naming it. */

/* A value with its encoding. Owned when filled by tc_value_parse (tc_value_clear frees it). */
typedef struct tc_value {
    char *encoding; /* "json/plain", "binary/null", "binary/plain", "json/protobuf", ... */
    uint8_t *data;  /* the payload's bytes (NUL-terminated as well, for text) */
    size_t len;
    char *message_type; /* protobuf encodings: the message's full name, else NULL */
} tc_value;

/* The text of a value of `encoding` (malloc'd, the caller frees): for json/plain the data
 * itself, "null" for binary/null, the reserved form otherwise. message_type may be NULL.
 * NULL when encoding is NULL or out of memory. Any thread. */
char *tc_value_format(const char *encoding, const void *data, size_t len, const char *message_type);

/* Reads a value's text: the reserved form gives its encoding, decoded data and message type;
 * "null" gives binary/null; any other text gives json/plain with the text as data. Returns
 * TC_OK (release *out with tc_value_clear), TC_ERR_INVALID for a malformed reserved form,
 * TC_ERR_NOMEM. Any thread. */
int tc_value_parse(const char *text, tc_value *out, tc_error *err);
void tc_value_clear(tc_value *v);

/* ---- payloads, for codecs ---- */

typedef struct tc_payload_meta {
    char *key;
    uint8_t *value;
    size_t len;
} tc_payload_meta;

/* A temporal.api.common.v1.Payload. Owned by whoever filled it: tc_payload_clear frees the
 * keys, values, data and arrays (all malloc'd). */
typedef struct tc_payload {
    tc_payload_meta *metadata;
    size_t n_metadata;
    uint8_t *data;
    size_t len;
} tc_payload;

/* The metadata value of key, or NULL. */
const tc_payload_meta *tc_payload_meta_get(const tc_payload *p, const char *key);
/* Sets key to value[0..len) (copied), replacing an entry of the same key. TC_OK or
 * TC_ERR_NOMEM. */
int tc_payload_meta_set(tc_payload *p, const char *key, const void *value, size_t len);
/* Sets the data (copied). TC_OK or TC_ERR_NOMEM. */
int tc_payload_set_data(tc_payload *p, const void *data, size_t len);
/* The serialized Payload (malloc'd *out, the caller frees): what codecs that wrap a whole
 * payload (encryption, compression) transform. TC_OK or TC_ERR_NOMEM. */
int tc_payload_marshal(const tc_payload *p, uint8_t **out, size_t *len);
/* Reads a serialized Payload into *out (owned). TC_OK, TC_ERR_PROTOCOL (not a Payload),
 * TC_ERR_NOMEM. */
int tc_payload_unmarshal(const void *data, size_t len, tc_payload *out, tc_error *err);
void tc_payload_clear(tc_payload *p);

/* A payload codec step: reads `in` (borrowed) and fills the empty `*out` (tc_payload_meta_set,
 * tc_payload_set_data, tc_payload_unmarshal). A decode step that meets a payload that is not
 * its own (see its metadata) leaves *out empty: `in` goes on unchanged. Returns TC_OK, or an
 * error code with err->text: an encode error fails the call that carried the payload (the
 * task or activity reports it), a decode error makes that payload unreadable, so whoever reads
 * it fails with the reason. Called from any worker or client thread, possibly at once: it
 * must be thread-safe. */
typedef int (*tc_codec_fn)(const tc_payload *in, tc_payload *out, void *user, tc_error *err);

typedef struct tc_payload_codec {
    const char *name; /* in error messages */
    tc_codec_fn encode;
    tc_codec_fn decode;
    void *user;
} tc_payload_codec;

/* Codecs are set on the client (tc_client_options.codecs) and apply to every payload of every
 * call made through it, by the client and by the workers on it: workflow and activity inputs
 * and results, signals, queries, update arguments and results, memo, heartbeat details, marker
 * details, failure details and encoded failure attributes; never to search attributes, which the server must read. On the
 * way out they run last to first (the first wraps the others), on the way in first to last,
 * as the Go SDK's codec data converter does. */

/* Decodes the payloads of a history with codecs (a history exported by `temporal workflow
 * show` or read by a client without them keeps its payloads as stored): for replaying it.
 * A payload no codec decodes is left as it is. Returns TC_OK. */
int tc_history_decode(tc_history *h, const tc_payload_codec *codecs, size_t n, tc_error *err);

/* ---- failures ---- */

/* An ApplicationFailure and its causes, as workflow or activity code raises it. Strings are
 * borrowed for the call. */
typedef struct tc_failure {
    const char *type; /* ApplicationFailure type ("" or NULL: none) */
    const char *message;
    const char *stack_trace; /* NULL: none */
    bool non_retryable;
    const char *details_json;       /* one details value (any value text), NULL: none */
    const struct tc_failure *cause; /* NULL: none */
} tc_failure;

/* Fails the workflow with f and its causes (FailWorkflowExecution). Like tc_wf_fail
 * otherwise; tc_wf_fail with details is
 *     tc_wf_fail_failure(ctx, &(tc_failure){.type = "T", .message = "m", .details_json = "{}"});
 */
void tc_wf_fail_failure(tc_wf_ctx *ctx, const tc_failure *f);

/* Fails the workflow with the failure the operation behind fut resolved with, as the official
 * SDKs do when workflow code returns the error it got: an activity's (remote or local) failure
 * wrapped in an ActivityFailure (activity type and id) with its cause chain; a child's failure
 * as a ChildWorkflowFailure (the child's id, run id and type) caused by the child's own
 * failure (type, message, details, causes); for other futures (a child's start, a signal to
 * another workflow) an ApplicationFailure{failure_type, failure_message, non_retryable}. fut
 * must be resolved and failed (TC_ERR_FAILED or TC_ERR_CANCELLED from tc_future_get);
 * otherwise nothing happens. */
void tc_wf_fail_future(tc_wf_ctx *ctx, const tc_future *fut);

/* Records f and its causes as the activity's failure (RespondActivityTaskFailed; retried per
 * the retry policy unless non_retryable). TC_OK, TC_ERR_STATE (an outcome was recorded
 * before), TC_ERR_NOMEM. */
int tc_activity_fail_failure(tc_activity_ctx *ctx, const tc_failure *f);

/* The failure converter: with tc_client_options.encode_failure_attributes, a failure's message
 * and stack trace travel in its encoded_attributes ({"message":..,"stack_trace":..} as a
 * json/plain payload, which the codecs then encode), the message reading "Encoded failure",
 * as the official SDKs' encode_common_attributes does. Failures read are decoded whether or not
 * it is set. */

#endif
