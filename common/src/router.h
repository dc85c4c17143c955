/* router.h — private: route table and path matching for the HTTP server.
 * Pure (no I/O, no locks); the table is written before the server starts and read after. */
#ifndef CM_ROUTER_H
#define CM_ROUTER_H

#include <stdbool.h>

#include "cm_http.h"

#define ROUTER_MAX_PATH 2048

typedef struct route_ent {
    const char *method;
    const char *pattern;
    http_handler_fn fn;
    void *ctx;
    int nseg;
    char *segs[HTTP_MAX_SEGMENTS]; /* literal text, or the parameter name */
    bool is_param[HTTP_MAX_SEGMENTS];
    unsigned score;  /* literal segments weigh more the further left they are */
    bool inline_run; /* run on the I/O thread (http_route_inline) */
} route_ent;

typedef struct router {
    route_ent routes[HTTP_MAX_ROUTES];
    int n;
} router;

typedef struct router_match {
    const route_ent *route; /* NULL when status != 0 */
    int status;             /* 0 matched, 404 no such path, 405 path known, method not */
    char allow[128];        /* for 405: "GET, POST" */
    int nparams;
    const char *names[HTTP_MAX_PARAMS];
    const char *values[HTTP_MAX_PARAMS]; /* point into buf */
    char buf[ROUTER_MAX_PATH];
} router_match;

/* 0 or CM_ERR_INVALID (pattern not starting with '/', empty segment, too many segments or
 * params, malformed {name}, duplicate method+shape, table full). */
int router_add(router *r, const char *method, const char *pattern, http_handler_fn fn, void *ctx);
void router_clear(router *r);
/* Fill *m for method + decoded path. Always returns m->status. */
int router_match_path(const router *r, const char *method, const char *path, router_match *m);

#endif
