/* temporal.h - public API of the Temporal C bridge: client, worker, workflow runtime, payloads.
 * Knows nothing about any application; every string in and out is UTF-8 JSON or a plain name. */
#ifndef TEMPORAL_H
#define TEMPORAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "temporal_version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library linked (TC_VERSION of the build that made it), which may differ
 * from the TC_VERSION a program was compiled with. Static string; any thread. */
const char *tc_version(void);

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Status codes: 0 is success, every error is negative. */
typedef enum tc_code {
    TC_OK = 0,
    TC_ERR_INVALID = -1,         /* bad argument or option */
    TC_ERR_NOMEM = -2,           /* allocation failed */
    TC_ERR_UNAVAILABLE = -3,     /* server unreachable (after retries) */
    TC_ERR_TIMEOUT = -4,         /* deadline exceeded */
    TC_ERR_NOT_FOUND = -5,       /* workflow / run / task not found */
    TC_ERR_ALREADY_STARTED = -6, /* workflow id already running (conflict policy FAIL) */
    TC_ERR_RPC = -7,             /* any other gRPC error; see tc_error.grpc_status */
    TC_ERR_PROTOCOL = -8,        /* a reply we could not decode or did not expect */
    TC_ERR_WORKFLOW_FAILED = -9, /* the workflow closed without a result (see tc_outcome) */
    TC_ERR_QUERY_FAILED = -10,   /* the worker answered the query with an error */
    TC_ERR_CANCELLED = -11,      /* cancellation requested (activity) or call cancelled */
    TC_ERR_IO = -12,             /* file read/write failed */
    TC_ERR_STATE = -13,          /* call not allowed in the object's current state */
    TC_ERR_FAILED = -14,         /* the awaited activity failed or timed out (tc_wf_result) */
    TC_ERR_NONDETERMINISM = -15, /* workflow code and history disagree (replay) */
    TC_ERR_TASK_FAILED = -16,    /* a workflow task failed: tc_wf_panic, an invalid call, a
                                    history the runtime cannot read (replay) */
    TC_ERR_CODEC = -17,          /* a payload codec failed to encode a call's payload */
} tc_code;

/* Error detail written by every call that can fail. `text` is always NUL-terminated. */
typedef struct tc_error {
    int code;        /* a tc_code */
    int grpc_status; /* the gRPC status code when the error came from a call, else 0 */
    char text[512];  /* human readable: what failed and why */
} tc_error;

/* Returns a static name for a tc_code ("TC_ERR_TIMEOUT"). Any thread. */
const char *tc_code_name(int code);

/* ------------------------------------------------------------------------------------------ */
/* Logging                                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef enum tc_log_level {
    TC_LOG_DEBUG = 1,
    TC_LOG_INFO = 2,
    TC_LOG_WARN = 3,
    TC_LOG_ERROR = 4,
} tc_log_level;

/* One log line of the library. Strings are valid during the callback only. */
typedef struct tc_log_record {
    tc_log_level level;
    const char *message;
    const char *workflow_id;   /* NULL when the line is not about a workflow run */
    const char *run_id;        /* NULL when not known */
    const char *workflow_type; /* NULL when not known */
} tc_log_record;

/* A log sink. Called from any worker thread (and workflow coroutines), possibly at once from
 * several: it must be thread-safe and must not call back into the library. */
typedef void (*tc_log_fn)(const tc_log_record *rec, void *user);

/* The default sink: one line to stderr, "temporal-c <LEVEL> [wf=<id> run=<id>] message". */
void tc_log_stderr(const tc_log_record *rec, void *user);

/* ------------------------------------------------------------------------------------------ */
/* Library lifetime                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* Reference-counted wrapper around grpc_init/grpc_shutdown. tc_client_new calls it for you;
 * call it yourself only if you use other tc_ functions before any client exists. */
void tc_global_init(void);
void tc_global_shutdown(void);

/* ------------------------------------------------------------------------------------------ */
/* Client                                                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef struct tc_client tc_client;

/* One gRPC header sent on every call (lowercase key; value printable ASCII). */
typedef struct tc_header {
    const char *key;
    const char *value;
} tc_header;

/* Every field may be left zero / NULL for its default. Strings are copied by tc_client_new. */
typedef struct tc_client_options {
    const char *address;  /* host:port; NULL = $TEMPORAL_ADDRESS or "127.0.0.1:21733" */
    const char *ns;       /* namespace; NULL = $TEMPORAL_NAMESPACE or "default" */
    const char *identity; /* NULL = "<pid>@<hostname>" */
    int rpc_timeout_ms;   /* deadline of a non-poll call; 0 = 10000 */
    int max_attempts;     /* attempts on UNAVAILABLE / RESOURCE_EXHAUSTED; 0 = 4 */

    /* ---- TLS: on when `tls` is true or any tls_* file is given ---- */
    bool tls;                    /* TLS with the system roots when no CA file is given */
    const char *tls_ca_file;     /* PEM roots the server certificate must chain to */
    const char *tls_cert_file;   /* mTLS: client certificate chain (PEM), with tls_key_file */
    const char *tls_key_file;    /* mTLS: the certificate's private key (PEM) */
    const char *tls_server_name; /* name the server certificate must carry (default: the
                                    host of address) */

    /* ---- headers ---- */
    const char *api_key;      /* sent as "authorization: Bearer <api_key>" on every call */
    const tc_header *headers; /* extra headers, n_headers of them */
    size_t n_headers;
    const char *header_list; /* more extra headers as text: "key=value,key2=value2" */

    /* ---- transport ---- */
    const char *proxy;        /* HTTP CONNECT proxy "http://[user:password@]host:port"; NULL =
                                 gRPC's default ($grpc_proxy / $https_proxy / $http_proxy) */
    int retry_initial_ms;     /* first retry delay; 0 = 100; doubles per attempt, jittered */
    int retry_max_ms;         /* retry delay cap; 0 = 1000 */
    int reconnect_max_ms;     /* cap of gRPC's reconnect backoff; 0 = 1000 */
    int keepalive_time_ms;    /* HTTP/2 ping interval; 0 = 30000, negative = no pings */
    int keepalive_timeout_ms; /* ping answer deadline; 0 = 15000 */

    /* ---- logging ---- */
    tc_log_fn log_fn; /* log lines of the client and of workers on it that set none;
                         NULL = tc_log_stderr */
    void *log_user;

    /* ---- data converter (temporal_payload.h) ---- */
    const struct tc_payload_codec *codecs; /* applied to every payload of every call, by the
                                              client and its workers; copied */
    size_t n_codecs;
    bool encode_failure_attributes; /* failure messages and stack traces travel encoded */
} tc_client_options;

/* Fills o from the environment, overwriting only the fields whose variable is set and
 * non-empty: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS (true/false/1/0),
 * TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_SERVER_NAME,
 * TEMPORAL_API_KEY, TEMPORAL_GRPC_META ("key=value,..."), TEMPORAL_GRPC_PROXY,
 * TEMPORAL_RPC_TIMEOUT_MS, TEMPORAL_RPC_ATTEMPTS. Strings are borrowed from the environment
 * (valid until it changes; tc_client_new copies them). Returns TC_ERR_INVALID naming the
 * variable when a value is malformed. Call before starting threads that change the environment. */
int tc_client_options_from_env(tc_client_options *o, tc_error *err);

/* Opens a gRPC channel to the frontend (TLS / mTLS when configured, else plaintext) and sends
 * client-name, client-version, temporal-namespace, authorization (API key) and the extra
 * headers on every call. Reads the TLS files now: a missing or unreadable file, or a key
 * without a certificate, is an error here (TC_ERR_IO / TC_ERR_INVALID naming the file), never
 * a hang later. Does no network I/O: use tc_client_wait_ready to check the server.
 * opts may be NULL. On success *out is owned by the caller (tc_client_free). A client is
 * thread-safe: any number of threads may use it at once. */
int tc_client_new(const tc_client_options *opts, tc_client **out, tc_error *err);

/* Frees a client. No call on it may be in flight. NULL is allowed. */
void tc_client_free(tc_client *c);

/* Calls GetSystemInfo and DescribeNamespace until both answer or timeout_ms passes. */
int tc_client_wait_ready(tc_client *c, int timeout_ms, tc_error *err);

/* Borrowed strings valid for the client's life. */
const char *tc_client_namespace(const tc_client *c);
const char *tc_client_identity(const tc_client *c);

typedef enum tc_id_reuse_policy {
    TC_REUSE_UNSPECIFIED = 0, /* server default (allow duplicate) */
    TC_REUSE_ALLOW_DUPLICATE = 1,
    TC_REUSE_ALLOW_DUPLICATE_FAILED_ONLY = 2,
    TC_REUSE_REJECT_DUPLICATE = 3,
    TC_REUSE_TERMINATE_IF_RUNNING = 4,
} tc_id_reuse_policy;

typedef enum tc_id_conflict_policy {
    TC_CONFLICT_UNSPECIFIED = 0, /* server default (fail) */
    TC_CONFLICT_FAIL = 1,
    TC_CONFLICT_USE_EXISTING = 2, /* attach to the running run: *run_id is that run */
    TC_CONFLICT_TERMINATE_EXISTING = 3,
} tc_id_conflict_policy;

typedef struct tc_start_options {
    const char *workflow_id;      /* required */
    const char *workflow_type;    /* required */
    const char *task_queue;       /* required */
    const char *input_json;       /* one JSON argument, or NULL for none */
    const char *request_id;       /* idempotency of the start call; NULL = random UUID */
    int64_t execution_timeout_ms; /* 0 = unlimited */
    int64_t run_timeout_ms;       /* 0 = unlimited */
    int64_t task_timeout_ms;      /* workflow task timeout; 0 = server default (10 s) */
    tc_id_reuse_policy id_reuse_policy;
    tc_id_conflict_policy id_conflict_policy;
    /* A JSON object; each value is stored as a json/plain payload (shown decoded by the CLI and
     * the UI). NULL = none. */
    const char *memo_json;
    /* A JSON object of search attributes, e.g. {"CustomKeywordField":"a","CustomIntField":5}.
     * Each value becomes a json/plain payload; booleans, integers, reals and arrays also carry
     * their type ("Bool", "Int", "Double", "KeywordList") in the payload's "type" metadata,
     * strings carry none so the server applies the registered type (Keyword, Text or
     * Datetime - RFC 3339). Custom names must be registered on the server. NULL = none. */
    const char *search_attributes_json;
    const struct tc_retry_policy *retry; /* workflow retry policy; NULL = none (one run) */
    const char *cron_schedule;           /* cron workflow, e.g. "0 3 * * *"; NULL = none */
    /* Eager workflow start (tc_workflow_start only): when a worker started on this client polls
     * task_queue, runs workflow_type and has a free slot, the slot is reserved and the request
     * asks the server (dynamic config system.enableEagerWorkflowStart) to return the run's first
     * workflow task in its response; that worker runs it at once, without a poll. Otherwise, or
     * when the server returns none, the start is an ordinary one. */
    bool request_eager_start;
    bool *eager_started; /* optional out: set true when the first task came back and a local
                            worker took it, false otherwise */
} tc_start_options;

/* Starts a workflow. On success writes the run id into run_id (NUL-terminated, at most
 * run_id_cap bytes; 64 is enough) and *started (may be NULL) tells whether a new run began
 * (false when USE_EXISTING attached to a running one). A running workflow with the same id and
 * policy FAIL gives TC_ERR_ALREADY_STARTED. Malformed memo / search attribute JSON is
 * TC_ERR_INVALID before any call; an unregistered search attribute is the server's
 * TC_ERR_INVALID. */
int tc_workflow_start(tc_client *c, const tc_start_options *o, char *run_id, size_t run_id_cap,
                      bool *started, tc_error *err);

/* SignalWithStartWorkflowExecution: signals the running workflow o->workflow_id, or starts it
 * with o (memo, search attributes, policies included) and delivers the signal as its first
 * event. signal_input_json may be NULL. run_id / *started as for tc_workflow_start (started
 * false: the signal went to a run that was already running). */
int tc_workflow_signal_with_start(tc_client *c, const tc_start_options *o, const char *signal_name,
                                  const char *signal_input_json, char *run_id, size_t run_id_cap,
                                  bool *started, tc_error *err);

/* Final state of a run, as reported by its close event or DescribeWorkflowExecution. */
typedef enum tc_wf_status {
    TC_WF_UNKNOWN = 0,
    TC_WF_RUNNING = 1,
    TC_WF_COMPLETED = 2,
    TC_WF_FAILED = 3,
    TC_WF_CANCELED = 4,
    TC_WF_TERMINATED = 5,
    TC_WF_CONTINUED_AS_NEW = 6,
    TC_WF_TIMED_OUT = 7,
} tc_wf_status;

/* Result of a closed run. Strings are owned by the struct: release with tc_outcome_clear. */
typedef struct tc_outcome {
    tc_wf_status status;
    char *result_json;     /* COMPLETED: the first result payload as JSON ("null" if none) */
    char *failure_type;    /* FAILED: ApplicationFailure type, or the failure kind */
    char *failure_message; /* FAILED / TERMINATED / TIMED_OUT: the server's message */
    char run_id[64];       /* the run the outcome belongs to (after following continue-as-new) */
} tc_outcome;

void tc_outcome_clear(tc_outcome *o);

/* Waits until the run closes by long-polling its close event, following continue-as-new.
 * run_id NULL or "" = latest run. timeout_ms <= 0 waits forever. Returns TC_OK with
 * out->status COMPLETED, TC_ERR_WORKFLOW_FAILED with out filled for any other close, or an
 * error (TC_ERR_TIMEOUT when timeout_ms passed). out is always initialised. */
int tc_workflow_result(tc_client *c, const char *workflow_id, const char *run_id, int timeout_ms,
                       tc_outcome *out, tc_error *err);

/* A handle another thread can use to end a tc_workflow_result_wait early (e.g. on SIGTERM):
 * one long wait instead of short slices that each re-check a flag with a new long poll. */
typedef struct tc_wait tc_wait;

/* Returns a new handle, or NULL out of memory. Free it with tc_wait_free after the wait. */
tc_wait *tc_wait_new(void);

/* Any thread: the wait in progress on w (and any later one) ends with TC_ERR_CANCELLED. */
void tc_wait_cancel(tc_wait *w);

/* Frees w; no wait may be using it. NULL is fine. */
void tc_wait_free(tc_wait *w);

/* tc_workflow_result that tc_wait_cancel(w) ends with TC_ERR_CANCELLED (w NULL: never). */
int tc_workflow_result_wait(tc_client *c, const char *workflow_id, const char *run_id,
                            int timeout_ms, tc_wait *w, tc_outcome *out, tc_error *err);

typedef struct tc_description {
    tc_wf_status status;
    char run_id[64];
    char workflow_type[128];
    char task_queue[128];
    int64_t history_length;
    int pending_activities;
} tc_description;

/* DescribeWorkflowExecution. */
int tc_workflow_describe(tc_client *c, const char *workflow_id, const char *run_id,
                         tc_description *out, tc_error *err);

/* ResetWorkflowExecution: a new run of the same workflow id whose history is the old run's up
 * to event_id, which must be a WorkflowTaskCompleted (or WorkflowTaskStarted / Failed /
 * TimedOut) event of it; the old run is terminated if still running. Writes the new run id
 * (64 bytes suffice). reason may be NULL. */
int tc_workflow_reset(tc_client *c, const char *workflow_id, const char *run_id, int64_t event_id,
                      const char *reason, char *new_run_id, size_t new_run_id_cap, tc_error *err);

/* DeleteWorkflowExecution: removes the run (terminating it first when running) with its
 * history and visibility record. The server deletes asynchronously: describe may still find
 * it for a moment. */
int tc_workflow_delete(tc_client *c, const char *workflow_id, const char *run_id, tc_error *err);

/* An activity of a running workflow as DescribeWorkflowExecution reports it (describe only):
 * what an operator needs to see a step that keeps failing. Strings owned by the info. */
typedef struct tc_pending_activity {
    char *activity_id;
    char *activity_type;
    int state;                    /* 1 SCHEDULED, 2 STARTED, 3 CANCEL_REQUESTED, 4 PAUSED... */
    int attempt;                  /* the attempt running or next to run (1 = the first) */
    int maximum_attempts;         /* 0 = unlimited */
    int64_t scheduled_time_ms;    /* Unix ms the current attempt was scheduled; 0 if unset */
    int64_t last_started_time_ms; /* Unix ms the last attempt started; 0 if never */
    int64_t last_attempt_complete_time_ms; /* Unix ms the last attempt ended; 0 if none did */
    int64_t next_attempt_schedule_time_ms; /* Unix ms of the next retry while backing off */
    char *last_failure_type;    /* the last attempt's failure (NULL when none failed): its */
    char *last_failure_message; /* ApplicationFailure type / "TimeoutError" ..., and message */
} tc_pending_activity;

/* A run as describe and list report it. Every string is owned: tc_workflow_info_clear. */
typedef struct tc_workflow_info {
    char *workflow_id;
    char *run_id;
    char *workflow_type;
    char *task_queue;
    tc_wf_status status;
    int64_t start_time_ms; /* Unix milliseconds; 0 when not set */
    int64_t close_time_ms; /* 0 while running */
    int64_t execution_time_ms;
    int64_t history_length;
    int pending_activities;       /* describe only */
    char *memo_json;              /* JSON object of the memo ("{}" when none) */
    char *search_attributes_json; /* JSON object, values decoded ("{}" when none) */
    tc_pending_activity *pending; /* describe only: pending_activities entries, server order */
    /* describe only: the workflow task in flight. task_started_ms: Unix ms it started (0: none
     * started); task_first_scheduled_ms: when the first task of its heartbeat chain was
     * scheduled (a worker running local activities answers with a new task before each
     * timeout: while this stays old, queries wait for that chain to end). */
    int64_t task_started_ms;
    int64_t task_first_scheduled_ms;
} tc_workflow_info;

void tc_workflow_info_clear(tc_workflow_info *i);

/* DescribeWorkflowExecution with memo and search attributes. out is always initialised. */
int tc_workflow_describe_info(tc_client *c, const char *workflow_id, const char *run_id,
                              tc_workflow_info *out, tc_error *err);

/* One page of a visibility listing. Owned: tc_workflow_page_clear. */
typedef struct tc_workflow_page {
    tc_workflow_info *items;
    size_t n;
    uint8_t *next_token; /* NULL on the last page; pass to the next tc_workflow_list */
    size_t next_token_len;
} tc_workflow_page;

void tc_workflow_page_clear(tc_workflow_page *p);

/* ListWorkflowExecutions with a visibility query (the CLI's --query language, e.g.
 * "WorkflowType = 'X' AND ExecutionStatus = 'Running'"; "" lists all). page_size 0 = server
 * default. token/token_len: NULL/0 for the first page, then the previous page's next_token.
 * Visibility is eventually consistent: a run just started may appear a moment later. */
int tc_workflow_list(tc_client *c, const char *query, int page_size, const uint8_t *token,
                     size_t token_len, tc_workflow_page *out, tc_error *err);

/* CountWorkflowExecutions with a visibility query. */
int tc_workflow_count(tc_client *c, const char *query, int64_t *count, tc_error *err);

/* QueryWorkflow. args_json may be NULL. On success *result_json is malloc'd JSON owned by the
 * caller ("null" when the handler returned nothing). A handler error is TC_ERR_QUERY_FAILED. */
int tc_workflow_query(tc_client *c, const char *workflow_id, const char *run_id,
                      const char *query_type, const char *args_json, char **result_json,
                      tc_error *err);

/* tc_workflow_query with a deadline of its own: timeout_ms > 0 bounds the whole call (no retry
 * after a transient error); 0 is tc_workflow_query. A query waits for the workflow task in
 * flight to end, and one running local activities may stay open for long; TC_ERR_TIMEOUT when
 * timeout_ms passed. */
int tc_workflow_query_within(tc_client *c, const char *workflow_id, const char *run_id,
                             const char *query_type, const char *args_json, int timeout_ms,
                             char **result_json, tc_error *err);

/* SignalWorkflowExecution with one JSON argument (or none when input_json is NULL). */
int tc_workflow_signal(tc_client *c, const char *workflow_id, const char *run_id,
                       const char *signal_name, const char *input_json, tc_error *err);

/* TerminateWorkflowExecution. reason may be NULL. */
int tc_workflow_terminate(tc_client *c, const char *workflow_id, const char *run_id,
                          const char *reason, tc_error *err);

/* RequestCancelWorkflowExecution: asks the run to cancel (the same as `temporal workflow
 * cancel` or the UI's Cancel button). The workflow sees it as tc_wf_cancel_requested and
 * decides how to end (normally CANCELED after its cleanup). reason may be NULL. */
int tc_workflow_cancel(tc_client *c, const char *workflow_id, const char *run_id,
                       const char *reason, tc_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Workflow updates (client)                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* The stage an update call waits for. */
typedef enum tc_update_stage {
    TC_UPDATE_WAIT_COMPLETED = 0, /* the handler finished: the outcome is known (default) */
    TC_UPDATE_WAIT_ACCEPTED = 1,  /* the validator accepted it (or it was rejected) */
} tc_update_stage;

typedef struct tc_update_request {
    const char *workflow_id;   /* required */
    const char *run_id;        /* NULL or "" = the current run */
    const char *update_name;   /* required */
    const char *update_id;     /* NULL = a random UUID; the same id twice is one update */
    const char *input_json;    /* one JSON argument, or NULL for none */
    const char *const *inputs; /* several arguments, used instead of input_json when */
    size_t n_inputs;           /* n_inputs > 0 */
    tc_update_stage wait;
    int timeout_ms; /* whole call; 0 = wait as long as it takes */
} tc_update_request;

/* What an update call learnt. Strings are owned: tc_update_outcome_clear. */
typedef struct tc_update_outcome {
    char update_id[128]; /* the id used (the generated one when none was given) */
    bool accepted;       /* the server reported the update accepted (or completed) */
    bool completed;      /* the outcome is known: result_json, or failure_* */
    char *result_json;   /* completed with success: the first value ("null" if none) */
    char *failure_type;  /* completed with a failure: the validator's or unknown name's rejection
                            (the server reports both alike), or the handler's failure */
    char *failure_message;
} tc_update_outcome;

void tc_update_outcome_clear(tc_update_outcome *o);

/* UpdateWorkflowExecution: sends the update and waits for rq->wait, looping on the server's
 * long-poll answers (~20 s each; PollWorkflowExecutionUpdate once it was accepted). Returns
 * TC_OK when it was accepted (waiting for COMPLETED: and completed successfully,
 * out->result_json), TC_ERR_FAILED when it was rejected or its handler failed (failure_*),
 * TC_ERR_NOT_FOUND when the workflow does not exist or closed before taking it, TC_ERR_TIMEOUT
 * when timeout_ms passed, or an RPC error. out is always initialised. Any thread. */
int tc_workflow_update(tc_client *c, const tc_update_request *rq, tc_update_outcome *out,
                       tc_error *err);

/* PollWorkflowExecutionUpdate: waits for the outcome of an update sent before (by id), as
 * tc_workflow_update with wait = COMPLETED. */
int tc_workflow_update_result(tc_client *c, const char *workflow_id, const char *run_id,
                              const char *update_id, int timeout_ms, tc_update_outcome *out,
                              tc_error *err);

/* ------------------------------------------------------------------------------------------ */
/* History                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* A run's event history (opaque; holds the decoded protobuf events). */
typedef struct tc_history tc_history;

/* Fetches the full history of a run, following every next_page_token. *out owned by caller. */
int tc_workflow_history(tc_client *c, const char *workflow_id, const char *run_id, tc_history **out,
                        tc_error *err);

size_t tc_history_length(const tc_history *h);
/* Event type of event i (the temporal.api.enums.v1.EventType number), 0 when out of range. */
int tc_history_event_type(const tc_history *h, size_t i);
/* Saves as a serialized temporal.api.history.v1.History (protobuf binary, the message the
 * official replayers read); loads such a file back. */
int tc_history_save(const tc_history *h, const char *path, tc_error *err);
int tc_history_load(const char *path, tc_history **out, tc_error *err);

/* Loads a history written as proto3 JSON - what `temporal workflow show --output json` and the
 * UI's download write: {"events": [...]}, lowerCamelCase (or original) field names, enum value
 * names or numbers, 64-bit integers as strings or numbers, bytes as base64, durations as
 * "1.5s", timestamps in RFC 3339. Every event type and attribute the protos know is read (the
 * conversion walks the protobuf descriptors). Malformed JSON is TC_ERR_INVALID with line and
 * column; an unknown field, a value of the wrong type, an unknown enum name or events out of
 * sequence are TC_ERR_INVALID naming the JSON path ("events[4].activityTaskScheduledEvent
 * Attributes.startToCloseTimeout: duration \"x\" must end in s"). Files up to 512 MiB. */
int tc_history_load_json(const char *path, tc_history **out, tc_error *err);
/* The same from a buffer of len bytes (need not be NUL-terminated). Any thread. */
int tc_history_parse_json(const char *json, size_t len, tc_history **out, tc_error *err);

/* TC_OK when both histories hold the same events with the same field values (map entries in
 * any order), else TC_ERR_STATE with err->text naming the first differing event and field. */
int tc_history_compare(const tc_history *a, const tc_history *b, tc_error *err);
void tc_history_free(tc_history *h);

/* ------------------------------------------------------------------------------------------ */
/* Schedules                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* What a schedule does when an action is due while the previous one still runs. */
typedef enum tc_overlap_policy {
    TC_OVERLAP_UNSPECIFIED = 0, /* server default: SKIP */
    TC_OVERLAP_SKIP = 1,
    TC_OVERLAP_BUFFER_ONE = 2,
    TC_OVERLAP_BUFFER_ALL = 3,
    TC_OVERLAP_CANCEL_OTHER = 4,
    TC_OVERLAP_TERMINATE_OTHER = 5,
    TC_OVERLAP_ALLOW_ALL = 6,
} tc_overlap_policy;

/* Every interval_ms, shifted by offset_ms (both from the Unix epoch). */
typedef struct tc_schedule_interval {
    int64_t every_ms;
    int64_t offset_ms;
} tc_schedule_interval;

/* A calendar entry in cron field syntax per field ("*", "5", "1-5", "MON-FRI", "0-59/15");
 * NULL fields take the server default (second "0", minute "0", hour "0", the others "*"). */
typedef struct tc_schedule_calendar {
    const char *second, *minute, *hour, *day_of_month, *month, *year, *day_of_week;
    const char *comment;
} tc_schedule_calendar;

typedef struct tc_schedule_options {
    /* spec: when (any mix; none = only triggers and backfills) */
    const tc_schedule_interval *intervals;
    size_t n_intervals;
    const tc_schedule_calendar *calendars;
    size_t n_calendars;
    const char *const *cron; /* NULL-terminated list of cron strings ("0 12 * * MON-FRI") */
    const char *timezone;    /* IANA name; NULL = UTC */
    int64_t start_time_ms;   /* Unix ms; 0 = none */
    int64_t end_time_ms;     /* Unix ms; 0 = none */
    int64_t jitter_ms;       /* random delay of each action up to this */
    /* action: start this workflow (its id gets the action time appended by the server) */
    const char *workflow_id;   /* required */
    const char *workflow_type; /* required */
    const char *task_queue;    /* required */
    const char *input_json;
    const char *memo_json;              /* of each started workflow */
    const char *search_attributes_json; /* of each started workflow */
    int64_t execution_timeout_ms, run_timeout_ms, task_timeout_ms;
    /* policies */
    tc_overlap_policy overlap;
    int64_t catchup_window_ms; /* 0 = server default (1 year) */
    bool pause_on_failure;
    /* state */
    bool paused;
    const char *notes;
    int64_t remaining_actions; /* > 0: stop after this many actions; 0 = unlimited */
} tc_schedule_options;

/* CreateSchedule. An existing id is TC_ERR_ALREADY_STARTED. */
int tc_schedule_create(tc_client *c, const char *schedule_id, const tc_schedule_options *o,
                       tc_error *err);

/* UpdateSchedule: replaces the schedule's spec, action, policies and state with o. */
int tc_schedule_update(tc_client *c, const char *schedule_id, const tc_schedule_options *o,
                       tc_error *err);

/* A schedule as DescribeSchedule reports it. Strings owned: tc_schedule_info_clear. */
typedef struct tc_schedule_info {
    bool paused;
    char *notes;
    char *workflow_id, *workflow_type, *task_queue; /* of the action */
    tc_overlap_policy overlap;
    int64_t catchup_window_ms;
    bool pause_on_failure;
    size_t n_intervals;
    int64_t interval_ms;       /* the first interval, 0 if none */
    size_t n_calendars;        /* structured calendar entries (cron strings and calendars are
                              returned in this form) */
    char *calendars_text;      /* those entries as "minute=0 hour=5 ...; ..." for display */
    int64_t remaining_actions; /* -1 = unlimited */
    int64_t action_count;      /* actions taken so far (scheduled, triggered, backfilled) */
    int64_t missed_catchup_window, overlap_skipped;
    size_t running_workflows;
    size_t recent_actions;
    int64_t next_action_ms[8]; /* next action times (Unix ms), n_next of them */
    size_t n_next;
    int64_t create_time_ms, update_time_ms;
} tc_schedule_info;

void tc_schedule_info_clear(tc_schedule_info *i);

/* DescribeSchedule. out is always initialised. Unknown id: TC_ERR_NOT_FOUND. */
int tc_schedule_describe(tc_client *c, const char *schedule_id, tc_schedule_info *out,
                         tc_error *err);

/* PatchSchedule: pause / unpause (note may be NULL), trigger one action now, or backfill the
 * actions the spec had between start_ms and end_ms (Unix ms). overlap UNSPECIFIED = the
 * schedule's policy. */
int tc_schedule_pause(tc_client *c, const char *schedule_id, const char *note, tc_error *err);
int tc_schedule_unpause(tc_client *c, const char *schedule_id, const char *note, tc_error *err);
int tc_schedule_trigger(tc_client *c, const char *schedule_id, tc_overlap_policy overlap,
                        tc_error *err);
int tc_schedule_backfill(tc_client *c, const char *schedule_id, int64_t start_ms, int64_t end_ms,
                         tc_overlap_policy overlap, tc_error *err);

/* DeleteSchedule (the workflows it started keep running). */
int tc_schedule_delete(tc_client *c, const char *schedule_id, tc_error *err);

typedef struct tc_schedule_entry {
    char *schedule_id;
    char *workflow_type;
    char *notes;
    bool paused;
} tc_schedule_entry;

typedef struct tc_schedule_page {
    tc_schedule_entry *items;
    size_t n;
    uint8_t *next_token; /* NULL on the last page */
    size_t next_token_len;
} tc_schedule_page;

void tc_schedule_page_clear(tc_schedule_page *p);

/* ListSchedules (query may be NULL; eventually consistent like workflow listings). */
int tc_schedule_list(tc_client *c, const char *query, int page_size, const uint8_t *token,
                     size_t token_len, tc_schedule_page *out, tc_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Activities                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Passed to an activity function; valid only during that call, used by that thread only. */
typedef struct tc_activity_ctx tc_activity_ctx;

/* An activity implementation. It reports its outcome with exactly one of
 * tc_activity_complete / tc_activity_fail / tc_activity_report_cancelled before returning;
 * returning without one completes the activity with no result. Runs on an executor thread. */
typedef void (*tc_activity_fn)(tc_activity_ctx *ctx, void *user);

size_t tc_activity_input_count(const tc_activity_ctx *ctx);
/* JSON of argument i (borrowed, valid during the call), NULL when out of range. */
const char *tc_activity_input(const tc_activity_ctx *ctx, size_t i);
const char *tc_activity_workflow_id(const tc_activity_ctx *ctx);
const char *tc_activity_run_id(const tc_activity_ctx *ctx);
const char *tc_activity_id(const tc_activity_ctx *ctx);
const char *tc_activity_type(const tc_activity_ctx *ctx);
int tc_activity_attempt(const tc_activity_ctx *ctx); /* 1 on the first attempt */

/* Records the result (JSON, or NULL for none). Copied. */
int tc_activity_complete(tc_activity_ctx *ctx, const char *result_json);
/* Records an ApplicationFailure{type, non_retryable} with a message. The server's retry policy
 * retries it unless non_retryable or its type is listed in non_retryable_error_types. */
int tc_activity_fail(tc_activity_ctx *ctx, const char *type, const char *message,
                     bool non_retryable);
/* Records a heartbeat (details JSON may be NULL), sent through RecordActivityTaskHeartbeat at
 * once or, throttled, when the interval ends (temporal_worker.h). Returns TC_ERR_CANCELLED
 * when cancellation was requested (the function should then clean up and call
 * tc_activity_report_cancelled; tc_activity_cancel_reason says why), TC_ERR_NOT_FOUND when
 * the activity is no longer known. */
int tc_activity_heartbeat(tc_activity_ctx *ctx, const char *details_json, tc_error *err);
/* True once a heartbeat reported cancellation (for a local activity: once its workflow
 * cancelled it), or the worker's graceful stop timeout passed. */
bool tc_activity_cancel_requested(const tc_activity_ctx *ctx);
/* Acknowledges a cancellation: RespondActivityTaskCanceled. */
int tc_activity_report_cancelled(tc_activity_ctx *ctx);

/* Workflows: the runtime's API, kept in a header of its own (part of this one). */
#include "temporal_workflow.h"
/* Children, other workflows, updates: kept in a header of their own (part of this one). */
#include "temporal_messaging.h"

/* ------------------------------------------------------------------------------------------ */
/* Worker                                                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef struct tc_worker tc_worker;

/* What a workflow task failure (non-determinism, tc_wf_panic, an invalid call, a history the
 * runtime cannot read) does. */
typedef enum tc_task_failure_policy {
    TC_TASK_FAILURE_RETRY = 0,         /* RespondWorkflowTaskFailed with the reason (visible in
                                          the UI); the server retries the task on its schedule,
                                          so deploying fixed code resumes the run */
    TC_TASK_FAILURE_FAIL_WORKFLOW = 1, /* fail the workflow (FailWorkflowExecution with the
                                          reason): the run ends FAILED */
} tc_task_failure_policy;

typedef struct tc_worker_options {
    const char *task_queue;           /* required */
    int workflow_pollers;             /* 0 = 4; with sticky on, half poll the sticky queue
                                          (at least one per queue). Each handles one task at
                                          a time, so this bounds concurrent workflow tasks. */
    int activity_pollers;             /* 0 = 2 */
    int max_concurrent_activities;    /* executor threads; 0 = 8 */
    int sticky_cache_size;            /* runs kept; 0 = 100; negative = sticky off */
    int sticky_schedule_to_start_ms;  /* 0 = 10000 */
    const char *identity;             /* NULL = the client's identity */
    bool no_eager_activities;         /* false (default): activities scheduled on this worker's
                                          task queue ask for eager dispatch when an executor is
                                          free; a server with
                                          system.enableActivityEagerExecution=true (the CLI dev
                                          server's default) then returns them in the completion
                                          response and the worker runs them without polling. A
                                          server with it false ignores the request (activities
                                          are polled as usual). */
    size_t workflow_stack_size;       /* bytes of each workflow coroutine stack (plus a guard
                                        page); 0 = 256 KiB. Touched pages only use memory. */
    int64_t graceful_stop_timeout_ms; /* tc_worker_stop: how long activities still running get
                                         after they are told the worker is stopping, before
                                         they are cancelled (tc_worker_shutdown); 0 = no limit
                                         (never cancelled); negative is TC_ERR_INVALID */
    tc_task_failure_policy task_failure_policy; /* 0 = TC_TASK_FAILURE_RETRY */
    tc_log_fn log_fn;                           /* NULL = tc_log_stderr */
    void *log_user;
    tc_log_level log_level;    /* lines below it are dropped; 0 = TC_LOG_INFO */
    bool no_remote_activities; /* true: this worker runs workflows and local activities only:
                                  it polls no activity task queue and asks for no eager
                                  activities (activities scheduled on its queue wait for
                                  another worker) */
} tc_worker_options;

/* Creates a worker on the client (borrowed: must outlive the worker). Registration is allowed
 * until tc_worker_start. */
int tc_worker_new(tc_client *c, const tc_worker_options *o, tc_worker **out, tc_error *err);

/* Registers a workflow type. Each run owns state_size zeroed bytes of state (see
 * tc_workflow_fn). */
int tc_worker_register_workflow(tc_worker *w, const char *workflow_type, tc_workflow_fn fn,
                                size_t state_size, void *user, tc_error *err);
/* Registers a query handler for a workflow type registered before (every run of that type
 * answers it; tc_wf_set_query_handler overrides it per run). */
int tc_worker_register_query(tc_worker *w, const char *workflow_type, const char *query_type,
                             tc_query_fn fn, void *user, tc_error *err);
/* Registers an update handler (and its validator, NULL for none) for a workflow type
 * registered before: every run of that type accepts updates of that name (a handler the run
 * sets with tc_wf_set_update_handler overrides it). tc_replay_history knows only the handlers a
 * workflow sets itself. */
int tc_worker_register_update(tc_worker *w, const char *workflow_type, const char *update_name,
                              tc_update_fn fn, tc_update_validator_fn validator, void *user,
                              tc_error *err);
/* Sets the task failure policy of one registered workflow type (overrides the worker's). */
int tc_worker_set_task_failure_policy(tc_worker *w, const char *workflow_type,
                                      tc_task_failure_policy policy, tc_error *err);
/* Registers an activity type. */
int tc_worker_register_activity(tc_worker *w, const char *activity_type, tc_activity_fn fn,
                                void *user, tc_error *err);

/* Starts the poller and executor threads and returns. Threads inherit the caller's signal
 * mask. */
int tc_worker_start(tc_worker *w, tc_error *err);

/* Asks the worker to stop: no new polls. Async-signal-safe; any thread. */
void tc_worker_request_stop(tc_worker *w);

/* Graceful stop: tc_worker_shutdown (temporal_worker.h) with the graceful_stop_timeout_ms of the
 * worker's options: ShutdownWorker first, then polls end, tasks in flight finish and report,
 * every thread is joined. Idempotent. Must not be called from a worker thread. */
void tc_worker_stop(tc_worker *w);

/* tc_worker_start, then blocks until SIGTERM or SIGINT arrives (the signals are blocked in the
 * calling thread and its workers and consumed with sigwait), then tc_worker_stop. Call from the
 * main thread before creating other threads. */
int tc_worker_run(tc_worker *w, tc_error *err);

/* Frees a stopped (or never started) worker; stops it first if needed. NULL allowed. */
void tc_worker_free(tc_worker *w);

/* Counters for tests and benchmarks (atomically read). */
typedef struct tc_worker_stats {
    uint64_t workflow_tasks;       /* workflow tasks completed or failed */
    uint64_t activity_tasks;       /* activity tasks run */
    uint64_t sticky_hits;          /* workflow tasks served from the cache */
    uint64_t sticky_misses;        /* workflow tasks that needed a full history */
    uint64_t nondeterminism;       /* tasks failed as NON_DETERMINISTIC */
    uint64_t history_refetches;    /* partial-history tasks whose run was rebuilt by fetching
                                      the full history (cache miss on a sticky task) */
    uint64_t history_pages;        /* extra history pages fetched for workflow tasks whose
                                      history did not fit the poll response */
    int64_t first_poll_us;         /* microseconds from tc_worker_start to the first poll sent */
    uint64_t eager_requested;      /* activities scheduled with request_eager_execution */
    uint64_t eager_activity_tasks; /* activity tasks the server returned eagerly (run without a
                                      poll); the rest of eager_requested were polled */
    uint64_t eager_workflow_requested; /* starts of this client that reserved a slot of this
                                          worker and asked for eager workflow start */
    uint64_t eager_workflow_tasks;     /* first workflow tasks the server returned in the start
                                          response and this worker ran */
    uint64_t polls_cancelled; /* long polls the worker cancelled itself (at a stop the server
                                 did not complete them first) */
} tc_worker_stats;

void tc_worker_get_stats(const tc_worker *w, tc_worker_stats *out);

/* Heartbeat details, cancellation reasons, the stop, async completion, metrics. */
#include "temporal_worker.h"

/* ------------------------------------------------------------------------------------------ */
/* Replay (no server)                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* Replays a recorded history against a workflow function through the same code path as the
 * worker on a cache miss (batches, coroutines, command matching): returns TC_OK when the code
 * makes exactly the commands the history recorded, TC_ERR_NONDETERMINISM with err->text
 * naming the event and both commands at the first disagreement, TC_ERR_TASK_FAILED when the
 * code failed the task (tc_wf_panic, an invalid call) and TC_ERR_PROTOCOL when the history
 * cannot be read (unknown event type, undecodable payload, missing or out-of-order events:
 * the text names the event id and type). state may be NULL; otherwise state_size bytes
 * receive the final workflow state. Any thread; no server. */
int tc_replay_history(const tc_history *h, tc_workflow_fn fn, void *state, size_t state_size,
                      void *user, tc_error *err);

/* tc_replay_history with the workflow registered on w for the history's workflow type: its
 * function, user pointer, state size and the update handlers registered for it. state (may be
 * NULL) receives up to state_size bytes of the final state. TC_ERR_INVALID when the history
 * does not start with a WorkflowExecutionStarted of a type w runs. w may be started or not;
 * any thread. */
int tc_worker_replay_history(const tc_worker *w, const tc_history *h, void *state,
                             size_t state_size, tc_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Payloads                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Encoding of the payloads JSON values are written as: metadata "encoding" = "json/plain",
 * data = the UTF-8 JSON text (the JSON null is written as "binary/null"). */
#define TC_ENCODING_JSON "json/plain"

/* Values of other encodings, payload codecs, failures with causes. */
#include "temporal_payload.h"

#ifdef __cplusplus
}
#endif
#endif /* TEMPORAL_H */
