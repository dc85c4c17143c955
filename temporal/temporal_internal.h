/* temporal_internal.h - shared internals of the Temporal C bridge (not installed, not public).
 * Holds the client struct, the unary RPC helper, payload/failure helpers and the run model. */
#ifndef TEMPORAL_INTERNAL_H
#define TEMPORAL_INTERNAL_H

#include "temporal.h"

#include <grpc/grpc.h>
#include <pthread.h>
#include <stdarg.h>

#include "temporal/api/workflowservice/v1/request_response.pb-c.h"

#define TC_CLIENT_NAME       "temporal-c"
#define TC_CLIENT_VERSION    TC_VERSION
#define TC_POLL_TIMEOUT_MS   70000 /* server holds a poll 60 s; SDKs use 70 s */
#define TC_RESULT_POLL_MS    65000 /* long poll for the close event */
#define TC_MAX_RECV_BYTES    (128 * 1024 * 1024)
#define TC_HISTORY_MAX_PAGES 100000

#define TC_ET(x) TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_##x
#define TC_CT(x) TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_##x
/* Sets a Command's type (x, as the enums spell it) and its attributes of that type (the member
 * <field>_command_attributes). */
#define TC_CMD_SET(cmd, x, field, attrs)                                           \
    ((cmd).command_type = TC_CT(x),                                                \
     (cmd).attributes_case =                                                       \
         TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_##x##_COMMAND_ATTRIBUTES, \
     (cmd).field##_command_attributes = (attrs))
#define TC_RPC_MSG(m) (&(m).base)

typedef Temporal__Api__Common__V1__Payloads tc_pb_payloads;
typedef Temporal__Api__Common__V1__Payload tc_pb_payload;
typedef Temporal__Api__Failure__V1__Failure tc_pb_failure;
typedef Temporal__Api__History__V1__HistoryEvent tc_pb_event;
typedef Google__Protobuf__Duration tc_pb_duration;

struct tc_client {
    grpc_channel *channel;
    char *address;
    char *ns;
    char *identity;
    int rpc_timeout_ms;
    int max_attempts;
    tc_log_fn log_fn; /* NULL: tc_log_stderr */
    void *log_user;
    /* Idle pluck completion queues, reused across calls: creating and destroying one per call
     * costs more CPU than the call's own work. */
    pthread_mutex_t cq_mu;
    /* Methods registered with the channel once (gRPC's fast path: no per-call path parsing). */
    struct {
        char name[64];
        void *handle;
    } methods[48];
    size_t n_methods;
    grpc_completion_queue **cq_pool;
    size_t n_cq_pool, cap_cq_pool;
    /* Connection (connection.c): retry delays, TLS on or off. */
    int retry_initial_ms, retry_max_ms;
    bool tls;
    /* Headers sent on every call; keys and values are static slices over strs[] (owned). */
    grpc_metadata *md;
    size_t n_md;
    char **strs;
    size_t n_strs;
    /* Reconnect watcher (connection.c): runs only while the channel is down. */
    pthread_mutex_t rec_mu;
    pthread_t rec_thread;
    bool rec_running, rec_joinable, rec_stop;
    /* Called by tc_rpc after a call ended UNAVAILABLE (set to tc_conn_kick by tc_client_new):
     * the call layer notifies the connection layer without depending on it. */
    void (*on_unavailable)(tc_client *c);
    /* Eager workflow start: the started workers of this client that can run a start's first
     * workflow task (worker_eager.c keeps the list and sets the functions; client.c calls them
     * through these pointers, so the client never links against the worker). */
    pthread_mutex_t eager_mu;
    struct tc_worker **eager_workers;
    size_t n_eager_workers, cap_eager_workers;
    /* A slot of a worker polling task_queue that runs workflow_type, reserved; NULL: none. */
    void *(*eager_reserve)(struct tc_client *c, const char *task_queue, const char *type);
    /* Runs the task (a PollWorkflowTaskQueueResponse, taken over) in the slot. */
    void (*eager_run)(void *slot, ProtobufCMessage *task);
    /* Gives back a slot no task came for. */
    void (*eager_release)(void *slot);
    /* Data converter (codec.c): payload codecs and failure encoding applied by tc_rpc to every
     * request (payload_out packs it) and reply (payload_in), through these hooks so the call
     * layer does not depend on codec.c. NULL when the client has none. */
    struct tc_dc *dc;
    int (*payload_out)(tc_client *c, const ProtobufCMessage *req, uint8_t **buf, size_t *len,
                       tc_error *err);
    int (*payload_in)(tc_client *c, ProtobufCMessage *resp, tc_error *err);
};

/* ---- client internals (connection.c, rpc.c, client_visibility.c) ---- */

/* Called after a call failed with UNAVAILABLE: makes sure a thread drives the channel's
 * reconnection until it is READY again (see connection.c). Any thread. */
void tc_conn_kick(tc_client *c);

/* history_json.c: the lowerCamelCase JSON name of a proto field name (the proto3 JSON
 * mapping's default); a proto3 JSON text into a new message of type d (*out owned),
 * TC_ERR_INVALID naming the JSON path of the first problem. */
void tc_proto_json_name(const char *proto, char *out, size_t cap);
int tc_message_parse_json(const char *buf, size_t len, const ProtobufCMessageDescriptor *d,
                          ProtobufCMessage **out, tc_error *err);

/* codec.c: sets the client's data converter hooks (nothing when n is 0 and encode_failures is
 * false); frees it. */
int tc_codec_setup(tc_client *c, const tc_payload_codec *codecs, size_t n, bool encode_failures,
                   tc_error *err);
void tc_codec_free(tc_client *c);

/* Destroys the client's idle completion queues (tc_client_free). */
void tc_cq_pool_drain(tc_client *c);

/* A retry delay in [ms/2, ms] (equal jitter). Any thread. */
int64_t tc_backoff_jitter(int64_t ms);
/* ---- memo and search attributes (client_visibility.c) ---- */

/* JSON object -> malloc'd Memo / SearchAttributes (json/plain payloads; search attributes carry
 * their "type" metadata when the JSON value tells it). Free with
 * protobuf_c_message_free_unpacked. TC_ERR_INVALID names the problem. */
int tc_memo_from_json(const char *json, Temporal__Api__Common__V1__Memo **out, tc_error *err);
int tc_search_attributes_from_json(const char *json,
                                   Temporal__Api__Common__V1__SearchAttributes **out,
                                   tc_error *err);

/* DescribeWorkflowExecution of workflow_id (run_id NULL or "" = the latest run); the reply in
 * *out (caller frees with protobuf_c_message_free_unpacked; NULL on error). Any thread. */
int tc_describe_rpc(tc_client *c, const char *workflow_id, const char *run_id,
                    Temporal__Api__Workflowservice__V1__DescribeWorkflowExecutionResponse **out,
                    tc_error *err);

/* Copies a page token into a malloc'd buffer (*out NULL when the token is empty). */
int tc_token_copy(const ProtobufCBinaryData *t, uint8_t **out, size_t *len, tc_error *err);

/* Writes code + formatted text into err (err may be NULL). Returns code. */
int tc_seterr(tc_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Lets another thread cancel a call in flight (used for long polls on shutdown). */
typedef struct tc_cancel {
    pthread_mutex_t mu;
    grpc_call *call;
    bool cancelled;
} tc_cancel;
void tc_cancel_init(tc_cancel *k);
void tc_cancel_destroy(tc_cancel *k);
void tc_cancel_fire(tc_cancel *k);

#define TC_RPC_NO_RETRY 1u

/* Unary call of WorkflowService/<rpc>: packs req, waits up to timeout_ms (0 = client default),
 * retries UNAVAILABLE / RESOURCE_EXHAUSTED with backoff unless TC_RPC_NO_RETRY, unpacks the
 * reply with resp_desc into *resp (caller frees with protobuf_c_message_free_unpacked).
 * cancel may be NULL. Any thread. */
int tc_rpc(tc_client *c, const char *rpc, const ProtobufCMessage *req,
           const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, int timeout_ms,
           unsigned flags, tc_cancel *cancel, tc_error *err);

typedef Temporal__Api__Common__V1__Payload__MetadataEntry tc_pb_meta;

/* A JSON text as a json/plain payload pointing at it (no allocation). The search attributes
 * and memo of cmd_props.c are written so: the server indexes search attributes as json/plain. */
void tc_payload_encode(const char *json, tc_pb_payload *p, tc_pb_meta *me, tc_pb_meta **mep);
/* The data converter, decode side: a payload to a malloc'd NUL-terminated value text in *json
 * (converter.c's chain: "null" for binary/null or an absent payload, the JSON of json/plain,
 * the reserved form of temporal_payload.h for binary/plain, json/protobuf, binary/protobuf).
 * TC_ERR_PROTOCOL naming the encoding (or the codec failure left on it) when the chain cannot
 * read it, TC_ERR_NOMEM. Every payload read goes through here. */
int tc_payload_decode(const tc_pb_payload *p, char **json, tc_error *err);

/* One payload the converter chain wrote from a value's text: it points into the text or into
 * value (a typed value's decoded bytes, owned: tc_pl1_clear / tc_plv_clear release it). */
typedef struct tc_pl {
    tc_pb_payload p;
    tc_pb_meta me[2];
    tc_pb_meta *mep[2];
    tc_value value;
} tc_pl;

/* Payloads on the stack: one payload of a value's text through the converter chain (every
 * payload the library writes goes through tc_pl1_init / tc_plv_init). */
typedef struct tc_pl1 {
    tc_pb_payloads ps;
    tc_pb_payload *pp[1];
    tc_pl pl;
} tc_pl1;
/* Returns &b->ps describing json (NULL json -> NULL: no payloads at all). Release with
 * tc_pl1_clear (a typed value's data is decoded into it). */
tc_pb_payloads *tc_pl1_init(tc_pl1 *b, const char *json);
void tc_pl1_clear(tc_pl1 *b);

/* Packs any message into a malloc'd buffer of *len bytes (at least one byte allocated, so an
 * empty message is not mistaken for out of memory). NULL out of memory. */
uint8_t *tc_pb_pack(const ProtobufCMessage *m, size_t *len);

/* A protobuf Timestamp / Duration (seconds + nanos) in milliseconds, saturated at the int64
 * limits: the values come from the wire, and seconds * 1000 must not overflow. */
int64_t tc_ms_of(int64_t seconds, int32_t nanos);

/* n payloads over caller strings (arrays allocated; tc_plv_clear frees them). Returns NULL for
 * n == 0, or with *oom set when out of memory. */
typedef struct tc_plv {
    tc_pb_payloads ps;
    tc_pb_payload **pp;
    tc_pl *pl;
    size_t n;
} tc_plv;
tc_pb_payloads *tc_plv_init(tc_plv *b, const char *const *jsons, size_t n, bool *oom);
void tc_plv_clear(tc_plv *b);

/* tc_payload_decode for display: an encoding it cannot decode is handed over as its bytes.
 * Returns NULL only on allocation failure. */
char *tc_payload_json(const tc_pb_payload *p);
/* First payload of ps as JSON ("null" if none). */
char *tc_payloads_first_json(const tc_pb_payloads *ps);

void tc_duration_ms(tc_pb_duration *d, int64_t ms);

/* A RetryPolicy message over in (borrowed: the error types are not copied): rp and the two
 * durations are the caller's storage. Returns rp. */
struct tc_retry_policy;
Temporal__Api__Common__V1__RetryPolicy *
tc_retry_policy_pb(const struct tc_retry_policy *in, Temporal__Api__Common__V1__RetryPolicy *rp,
                   tc_pb_duration *ii, tc_pb_duration *mi);

/* ApplicationFailure on the stack. */
typedef struct tc_appfail {
    tc_pb_failure f;
    Temporal__Api__Failure__V1__ApplicationFailureInfo info;
} tc_appfail;
tc_pb_failure *tc_appfail_init(tc_appfail *b, const char *type, const char *message,
                               bool non_retryable);
/* Classifies a failure read from history: type (application type - "" when it has none -, or
 * "TimeoutError",
 * "CanceledError", "TerminatedError", "ServerError", "Failure"), following `cause` for
 * activity/timeout wrappers; message; non_retryable. Pointers are borrowed from f. */
void tc_failure_describe(const tc_pb_failure *f, const char **type, const char **message,
                         bool *non_retryable);

char *tc_strdup(const char *s);
void tc_uuid(char out[37]);
int64_t tc_now_us(void);
/* Initialises cv on CLOCK_MONOTONIC, so timed waits take tc_now_us() deadlines. 0 or an errno. */
int tc_cond_init_mono(pthread_cond_t *cv);

struct tc_history {
    ProtobufCMessage **pages; /* owned unpacked messages the events point into */
    size_t n_pages, cap_pages;
    tc_pb_event **events; /* borrowed from pages */
    size_t n, cap;
};
/* Takes ownership of msg (freed with the history) and appends its n events. */
int tc_history_add_page(tc_history *h, ProtobufCMessage *msg, tc_pb_event **events, size_t n,
                        tc_error *err);
void tc_history_clear(tc_history *h);

/* Fetches all events of a run from its first (pages followed) into h. */
int tc_fetch_history(tc_client *c, const char *wid, const char *rid, tc_history *h, tc_error *err);

#endif
