/* httpc_internal.h — between httpc.c (the public client, libcurl for what it declines) and
 * httpc_plain.c (its own HTTP/1.1 client for plain http://). */
#ifndef HTTPC_INTERNAL_H
#define HTTPC_INTERNAL_H

#include <stddef.h>

#include "cm_httpc.h"

#define HTTPC_DECLINED 1 /* httpc_plain_request: not for this client, use libcurl */

/* The request's header values, checked by httpc.c (no control bytes; NULL: no header). */
typedef struct httpc_lines {
    const char *content_type; /* sent with a body */
    const char *idempotency_key;
    const char *bearer;
    const char *request_id;
} httpc_lines;

/* Makes the request on a kept or new connection of this thread: 0 with out filled as
 * httpc_request documents, a transport error, or HTTPC_DECLINED (out untouched) when the URL
 * is not plain http://host[:port][/path], the body is over 1 MiB or the environment names a
 * proxy. Any thread. */
int httpc_plain_request(const char *method, const char *url, const char *body, size_t len,
                        const httpc_lines *l, long connect_ms, long timeout_ms, httpc_resp *out);

void httpc_plain_init(void);
/* Closes the calling thread's kept connections (other threads' close at their exit). */
void httpc_plain_thread_release(void);

#endif
