/* http_internal.h — private: the request object shared by the server, the response helpers
 * and the idempotency module. Not installed; daemons use cm_http.h only. */
#ifndef CM_HTTP_INTERNAL_H
#define CM_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <stdbool.h>
#include <time.h>

#include "cm_http.h"
#include "router.h"
#include "util.h"

#define HTTP_MAX_RESP_HEADERS 16

typedef struct http_resp_hdr {
    char *name;
    char *value;
} http_resp_hdr;

/* Called once when the answer is final, before it is sent (idempotency recording). */
typedef void (*http_finish_hook)(http_req *req, void *ctx);

struct http_req {
    http_server *srv;
    struct MHD_Connection *conn;
    char method[16];
    char *path; /* copy of the decoded url */
    router_match match;
    struct timespec start;

    /* body */
    char *body;
    size_t body_len, body_cap;
    bool too_large;

    /* answer */
    bool responded;
    bool queued;
    int status;
    char *resp_body;
    size_t resp_len;
    char resp_ctype[64];
    http_resp_hdr hdrs[HTTP_MAX_RESP_HEADERS];
    int nhdrs;

    char request_id[72];
    char saga_id[128];

    bool dispatched; /* queued to a handler worker, connection suspended */
    bool handled;    /* handler done, connection resumed */
    http_req *qnext;

    http_finish_hook finish_hook;
    void *finish_ctx;
};

/* The whole query string rebuilt in arrival order ("a=1&b=2"), malloc'd (caller frees);
 * NULL when out of memory. Never truncated: idempotency fingerprints cover all of it. */
char *http_req_query_string(const http_req *req);

#endif
