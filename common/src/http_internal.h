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

    int64_t req_start_ms; /* when the request began (guard_request_begin), monotonic */

    bool dispatched; /* queued to a handler worker, connection suspended */
    bool handled;    /* handler done, connection resumed */
    http_req *qnext;

    http_finish_hook finish_hook;
    void *finish_ctx;
};

/* ---- connection guard (http_conn.c) ---- */

typedef struct http_guard http_guard;

typedef struct http_guard_config {
    int max_connections;    /* open connections at most (clamped to what RLIMIT_NOFILE allows) */
    int max_per_ip;         /* per client address; 0: no cap */
    int header_timeout_ms;  /* idle connection: a complete request header within this */
    int body_timeout_ms;    /* the body within this after the header */
    int request_timeout_ms; /* header + body + wait for a handler within this */
    metrics_registry *metrics;
} http_guard_config;

/* Raises the soft RLIMIT_NOFILE to the hard limit and listens on bind_addr:port (not yet
 * accepting). 0, CM_ERR_INVALID (address), CM_ERR_IO (bind/listen; logged), CM_ERR_NOMEM. */
int guard_new(const http_guard_config *cfg, const char *bind_addr, int port, http_guard **out);

/* Starts the thread that accepts connections into `daemon` and enforces the limits. */
int guard_start(http_guard *g, struct MHD_Daemon *daemon);

/* Stops accepting: new connections are refused by the kernel. Idempotent. */
void guard_stop_accepting(http_guard *g);

/* Frees the guard: after MHD_stop_daemon (which sends the last CLOSED notices). NULL ok. */
void guard_free(http_guard *g);

/* The connection cap in force (after clamping). */
int guard_max_connections(const http_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls = the guard). */
void guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code);

/* A request's header is complete: returns the request's start (monotonic ms: when its
 * connection became idle), from which the request deadline counts. MHD thread. */
int64_t guard_request_begin(http_guard *g, struct MHD_Connection *conn);
/* Its body is complete: no more read deadline. */
void guard_request_read(http_guard *g, struct MHD_Connection *conn);
/* It is over (answer sent or connection gone): the connection is idle again. */
void guard_request_end(http_guard *g, struct MHD_Connection *conn);

/* The whole query string rebuilt in arrival order ("a=1&b=2"), malloc'd (caller frees);
 * NULL when out of memory. Never truncated: idempotency fingerprints cover all of it. */
char *http_req_query_string(const http_req *req);

#endif
