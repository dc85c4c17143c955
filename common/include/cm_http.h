/* cm_http.h — HTTP server on libmicrohttpd: handler thread pool, router with {path} parameters,
 * body limit, JSON bodies with strict validation, JSON and problem+json (RFC 9457) answers.
 * Handlers run on the server's pool threads and must not block forever. */
#ifndef CM_HTTP_H
#define CM_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm_json.h"
#include "cm_metrics.h"

#define HTTP_MAX_BODY     (1024 * 1024) /* 1 MiB; larger bodies get 413 without being buffered */
#define HTTP_MAX_PARAMS   8             /* path parameters per route */
#define HTTP_MAX_ROUTES   128
#define HTTP_MAX_SEGMENTS 16   /* path segments per route pattern */
#define HTTP_MAX_QUEUE    1024 /* requests waiting for a worker; more -> 503 Unavailable */
/* An Idempotency-Key value is 1..HTTP_IDEM_KEY_MAX printable ASCII characters, no spaces: the
 * one rule for keys, whoever reads them (common's idempotency layer, the orchestrators). */
#define HTTP_IDEM_KEY_MAX  255
#define HTTP_IDEM_KEY_RULE "Idempotency-Key must be 1..255 printable characters without spaces"

/* Connection limits and deadlines (docs/configuration.md, HTTP_* variables). At the cap the
 * oldest idle connection is closed, else a newcomer gets 503 at once; the header deadline runs
 * from connect (or the previous answer); the request deadline covers header + body + the wait
 * for a handler worker; the idle timeout is no byte moving either way (also while answering). */
#define HTTP_MAX_CONNECTIONS        10000
#define HTTP_MAX_CONNECTIONS_PER_IP 0 /* per client address; 0: no cap */
#define HTTP_HEADER_TIMEOUT_MS      10000
#define HTTP_BODY_TIMEOUT_MS        30000
#define HTTP_IDLE_TIMEOUT_MS        30000
#define HTTP_REQUEST_TIMEOUT_MS     60000

/* problem+json `code` values common itself answers with (docs/development.md, "Error codes");
 * the business codes of the saga's services are the contract's (contract/saga_contract.h). */
#define HTTP_CODE_VALIDATION     "ValidationFailed"     /* 400 */
#define HTTP_CODE_NOT_FOUND      "NotFound"             /* 404 */
#define HTTP_CODE_METHOD         "MethodNotAllowed"     /* 405 */
#define HTTP_CODE_TOO_LARGE      "PayloadTooLarge"      /* 413 */
#define HTTP_CODE_MEDIA_TYPE     "UnsupportedMediaType" /* 415 */
#define HTTP_CODE_IDEM_IN_FLIGHT "IdempotencyInFlight"  /* 409 */
#define HTTP_CODE_IDEM_REUSED    "IdempotencyKeyReused" /* 422 */
#define HTTP_CODE_BUSY           "Busy"                 /* 429 */
#define HTTP_CODE_UNAVAILABLE    "Unavailable"          /* 503 */
#define HTTP_CODE_INTERNAL       "Internal"             /* 500 */

typedef struct http_server http_server;
typedef struct http_req http_req;

/* A route handler. Runs on a server pool thread with `req` valid until it returns.
 * It must answer by calling exactly one http_respond_* (a second call is ignored with a
 * warning; no call at all -> 500 Internal). `ctx` is the pointer given to http_route. */
typedef void (*http_handler_fn)(http_req *req, void *ctx);

typedef struct http_server_config {
    int port;              /* TCP port; 0 is refused */
    const char *bind_addr; /* NULL -> "127.0.0.1"; "0.0.0.0" for all interfaces */
    int threads;           /* handler worker pool size, >= 1 (HTTP_THREADS); socket I/O
                              * runs on min(threads, 4) libmicrohttpd threads (epoll) */
    size_t max_body;       /* 0 -> HTTP_MAX_BODY */
    int max_queue;         /* requests waiting for a worker; 0 -> HTTP_MAX_QUEUE */
    /* Connection limits and deadlines; 0 -> the HTTP_* default above (max_per_ip: < 0 -> no
     * cap, 0 -> default). A connection past a deadline is closed; a request that waited past
     * request_timeout_ms for a worker is answered 503 without running its handler. */
    int max_connections;
    int max_per_ip;
    int header_timeout_ms;
    int body_timeout_ms;
    int idle_timeout_ms;
    int request_timeout_ms;
    const char *service;       /* for logs; borrowed, must outlive the server */
    metrics_registry *metrics; /* borrowed; NULL -> the server makes its own */
} http_server_config;

/* Create a server (not yet listening). *out owned, free with http_server_free.
 * Returns 0, CM_ERR_INVALID or CM_ERR_NOMEM. Main thread only. */
int http_server_new(const http_server_config *cfg, http_server **out);

/* Register `handler` for `method` ("GET", "POST", ...) and `pattern`: a path of literal
 * segments and `{name}` segments ("/api/orders/{id}/cancel"); `{name}` matches one
 * non-empty segment. A path with fewer literal segments loses to one with more
 * ("/a/stats" beats "/a/{id}"). Unknown path -> 404 NotFound; known path, other method ->
 * 405 MethodNotAllowed with an Allow header. Only before http_server_start; strings must
 * be literals or otherwise outlive the server. Returns 0 or CM_ERR_INVALID (bad pattern,
 * duplicate, too many routes). */
int http_route(http_server *srv, const char *method, const char *pattern, http_handler_fn handler,
               void *ctx);

/* Mark the route method + pattern (registered before) to run on libmicrohttpd's I/O thread
 * instead of a handler worker: it answers even when every worker is busy and the queue is
 * full. Only for a handler that never blocks (GET /health). 0 or CM_ERR_INVALID (no such
 * route, or the server runs). */
int http_route_inline(http_server *srv, const char *method, const char *pattern);

/* Start listening (raising the soft RLIMIT_NOFILE to its hard limit) with the thread pool.
 * Returns 0 or CM_ERR_IO (port in use...). */
int http_server_start(http_server *srv);

/* Stop accepting, wait up to drain_ms for in-flight requests to finish, then stop the
 * pool threads. Idempotent. Not from a handler. */
void http_server_stop(http_server *srv, int drain_ms);

/* Stop (if running) and free. NULL is fine. */
void http_server_free(http_server *srv);

/* The registry the server writes http_requests_total{method,route,status} and
 * http_request_duration_seconds{method,route,status} into. Borrowed. */
metrics_registry *http_server_metrics(http_server *srv);

/* Requests currently being handled (for tests and drain). */
int http_server_inflight(http_server *srv);

/* ---- request accessors (valid inside the handler; returned strings are borrowed) ---- */

const char *http_req_method(const http_req *req);
const char *http_req_path(const http_req *req);  /* decoded path, no query */
const char *http_req_route(const http_req *req); /* the matched pattern */
/* Raw path parameter `name` ("{id}" -> "id"), NULL if the route has none by that name. */
const char *http_req_param(const http_req *req, const char *name);
/* Query parameter (decoded), NULL if absent. */
const char *http_req_query(const http_req *req, const char *name);
/* Request header, case-insensitive name, NULL if absent. */
const char *http_req_header(const http_req *req, const char *name);
/* The request id: X-Request-Id from the client if it is sane (1..64 chars of
 * [A-Za-z0-9._:-]), else a generated one. Echoed as X-Request-Id in every answer. */
const char *http_req_id(const http_req *req);
/* Idempotency-Key header when it follows the rule (HTTP_IDEM_KEY_MAX), else NULL. */
const char *http_req_idempotency_key(const http_req *req);
/* Raw body (NUL-terminated for convenience; may contain NULs), *len its length. "" if none. */
const char *http_req_body(const http_req *req, size_t *len);

/* Attach a saga id to the request: goes to every log line of this request. */
void http_req_set_saga_id(http_req *req, const char *saga_id);

/* ---- input helpers: on failure they have ALREADY answered 400 ValidationFailed and return
 * CM_ERR_INVALID, so a handler writes `if (http_req_param_id(req, "id", &id)) return;` ---- */

/* Path parameter as an int64 >= 1 (digits only, no sign, no overflow).
 * Bad -> 400 "<name> must be a positive integer". */
int http_req_param_id(http_req *req, const char *name, int64_t *out);

/* Query parameter as an int64 in [min, max]. Absent: if required -> 400 "<name> is required",
 * else *out = def and 0. Bad -> 400 "<name> must be an integer between min and max"
 * (or "a positive integer" when min == 1 and max == INT64_MAX). */
int http_req_query_int(http_req *req, const char *name, bool required, int64_t def, int64_t min,
                       int64_t max, int64_t *out);

/* Query parameter as a string of 1..max_len bytes. Absent: required -> 400, else *out = NULL. */
int http_req_query_str(http_req *req, const char *name, bool required, size_t max_len,
                       const char **out);

/* Parse the body as a JSON object validated against `fields` (see cm_json.h; flags are
 * JSON_V_*). Empty body -> 400 "request body is required". On success *out owns a
 * reference (json_decref it). */
int http_req_json(http_req *req, const json_field *fields, unsigned flags, json_t **out);

/* ---- answers ---- */

/* Add a response header to the answer this handler is about to give (e.g. Location). */
void http_resp_header(http_req *req, const char *name, const char *value);

/* 2xx/4xx/5xx with `body` serialized as application/json. Steals the reference to `body`
 * (like json_object_set_new); body NULL -> empty body. */
void http_respond_json(http_req *req, int status, json_t *body);

/* application/problem+json: {"type","title","status","detail","code","instance","requestId"}
 * plus the members of `extra` (may be NULL; reference stolen). detail is printf-style and is
 * read by the caller: say what to do, never addresses, SQL or library errors (log those;
 * requestId is the X-Request-Id every log line of the request carries). */
void http_respond_problem(http_req *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void http_respond_problem_ext(http_req *req, int status, const char *code, json_t *extra,
                              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Answer a failed repository / db_* call the way docs/development.md maps them:
 * CM_ERR_NOT_FOUND -> 404 NotFound "<what> not found"; CM_ERR_IO, CM_ERR_TIMEOUT,
 * CM_ERR_CONFLICT (database unreachable, lock wait or deadlock, optimistic retries used up)
 * -> 503 Unavailable, retryable, logged; anything else -> 500 Internal, logged (a bug).
 * `what` names the resource ("order"). */
void http_respond_repo_error(http_req *req, int rc, const char *what);

/* Any content type; `body` copied. */
void http_respond_raw(http_req *req, int status, const char *content_type, const char *body,
                      size_t len);

/* ---- pure helpers (exposed for tests and other modules) ---- */

/* Reason phrase for a status ("Not Found"); "Unknown" for others. */
const char *http_status_title(int status);

/* Build a problem object: type "/problems/<code>" (or "about:blank" when code is NULL),
 * title = reason phrase, status, detail, code; `instance` (request path) when non-NULL.
 * New reference; NULL on out-of-memory. */
json_t *http_problem_new(int status, const char *code, const char *detail, const char *instance);

#endif
