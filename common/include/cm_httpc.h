/* cm_httpc.h — HTTP client on libcurl: one easy handle per thread (reused, keep-alive),
 * connect and total timeouts, JSON in/out, request id and Idempotency-Key headers.
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

#endif
