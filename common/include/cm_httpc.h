/* cm_httpc.h — HTTP client: plain http:// on common's own HTTP/1.1 code (per-thread keep-alive
 * connections), the rest on libcurl (one easy handle per thread); connect and total timeouts, JSON in/out, request id and Idempotency-Key headers.
 * Distinguishes "got an HTTP answer" (any status) from transport failure. */
#ifndef CM_HTTPC_H
#define CM_HTTPC_H

#include <jansson.h>
#include <stddef.h>

#define HTTPC_MAX_RESPONSE (8 * 1024 * 1024) /* larger answers are a transport error */

typedef struct httpc_opts {
    const char *idempotency_key; /* Idempotency-Key header, NULL for none */
    const char *request_id;      /* X-Request-Id; NULL -> this thread's log request id if any */
    const char *content_type;    /* NULL -> "application/json" when there is a body */
    const char *bearer_token;    /* Authorization: Bearer <token>, NULL for none; never logged.
                                  * Bytes outside the RFC 6750 token alphabet -> CM_ERR_INVALID */
    long connect_timeout_ms;     /* 0 -> 2000 */
    long timeout_ms;             /* total; 0 -> 10000 */
} httpc_opts;

typedef struct httpc_resp {
    long status; /* HTTP status, 0 on transport error */
    char *body;  /* malloc'd, NUL-terminated ("" when empty); NULL on transport error */
    size_t len;
    char content_type[128];
    char error[256]; /* transport error text ("Connection refused", "Timeout ...") */
    char *headers;   /* raw response header lines, malloc'd; use httpc_resp_header */
    int sent;        /* on a transport error: 0 when the request surely never reached the
                        server (refused, unresolvable, connect timeout), 1 when it may have */
} httpc_resp;

/* Call once from main before threads start (curl_global_init); httpc_global_cleanup at exit
 * after all threads using the client are joined. */
int httpc_global_init(void);
void httpc_global_cleanup(void);

/* Perform `method` on `url` with optional body (len bytes; NULL for none). Blocks the calling
 * thread up to opts->timeout_ms. Returns 0 when an HTTP response arrived (check out->status),
 * CM_ERR_TIMEOUT on timeout, CM_ERR_IO on any other transport failure (out->error says why),
 * CM_ERR_INVALID / CM_ERR_NOMEM. Always free *out with httpc_resp_free. Any thread (each
 * thread uses its own handle, released at thread exit). opts may be NULL. */
int httpc_request(const char *method, const char *url, const char *body, size_t len,
                  const httpc_opts *opts, httpc_resp *out);

/* Same with `json` serialized as the body (NULL -> no body; reference NOT stolen). */
int httpc_request_json(const char *method, const char *url, const json_t *json,
                       const httpc_opts *opts, httpc_resp *out);

/* Parse the response body as JSON; NULL when empty or malformed. New reference. */
json_t *httpc_resp_json(const httpc_resp *r);

/* Value of response header `name` (case-insensitive) copied into out (size n, trimmed).
 * Returns out, or NULL when the header is absent. */
const char *httpc_resp_header(const httpc_resp *r, const char *name, char *out, size_t n);

void httpc_resp_free(httpc_resp *r);

/* ---- replicas: one service behind a list of base URLs ------------------------------------- */

#define HTTPC_UPSTREAM_MAX     64  /* base URLs in one list */
#define HTTPC_UPSTREAM_URL_MAX 256 /* bytes of one base URL, NUL included */
#define HTTPC_UPSTREAM_COOLDOWN_MS \
    2000 /* default: how long a replica that failed at the
                                           transport is tried only after the others */

typedef struct httpc_upstream httpc_upstream;

/* Parses `list`, comma-separated base URLs of one service's replicas
 * ("http://127.0.0.1:21082,http://127.0.0.1:22082"): each entry is http:// or https://, a
 * host (name, IPv4 or [IPv6]), an optional :port (1-65535) and an optional path prefix; blanks
 * around entries and a trailing '/' are dropped. On success *out owns the group (free with
 * httpc_upstream_free). A malformed, empty or oversize entry, or more than HTTPC_UPSTREAM_MAX,
 * returns CM_ERR_INVALID and a message naming the entry in err (errlen bytes, may be 0). Any
 * thread; the group itself is then safe to use from many threads at once. */
int httpc_upstream_new(const char *list, httpc_upstream **out, char *err, size_t errlen);
void httpc_upstream_free(httpc_upstream *u);

/* Sets how long (ms, >= 0) a replica that failed at the transport is tried only after the
 * others. Before the group is shared between threads. */
void httpc_upstream_set_cooldown(httpc_upstream *u, long cooldown_ms);

/* Number of base URLs, and the i-th one (borrowed, normalized, no trailing '/'). */
size_t httpc_upstream_count(const httpc_upstream *u);
const char *httpc_upstream_base(const httpc_upstream *u, size_t i);

/* Performs `method` on <base><path> (path empty or starting with '/', may carry a query) like
 * httpc_request, on one replica after another:
 *  - each call starts on the less busy (fewer requests in flight from this process) of two
 *    replicas picked at random; one that failed at the transport within the cooldown
 *    (HTTPC_UPSTREAM_COOLDOWN_MS) is tried only after the others;
 *  - on a refused connection or any other failure before the request was sent, the next
 *    replica is tried;
 *  - on a timeout or lost connection after sending, or on a 5xx answer, the next replica is
 *    tried only when repeating is safe: GET, HEAD, PUT, DELETE, OPTIONS, or an
 *    Idempotency-Key in opts (the services answer a repeated key with the first result);
 *  - each replica is tried at most once per call, each attempt with opts' timeouts.
 * Returns what the last attempt returned (0 with out->status, or a transport error). */
int httpc_upstream_request(httpc_upstream *u, const char *method, const char *path,
                           const char *body, size_t len, const httpc_opts *opts, httpc_resp *out);

/* Counters of replica i since the group was made (any thread, relaxed reads): requests sent
 * to it and transport failures; and calls that moved on to another replica. */
void httpc_upstream_stats(const httpc_upstream *u, size_t i, long *requests, long *failures);
long httpc_upstream_failovers(const httpc_upstream *u);

#endif
