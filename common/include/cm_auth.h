/* cm_auth.h — bearer tokens for the services' internal API: the tokens a daemon reads at start
 * (SERVICE_TOKEN, ADMIN_TOKEN, AUTH_DISABLED), which token a route accepts, and the check in
 * front of its handler (constant time; 401/403 problem+json). Never logs a token or part of one.
 *
 *     auth *au;
 *     if (app_auth(a, AUTH_SERVICE | AUTH_ADMIN, &au)) goto out;   (refuses to start)
 *     auth_route(au, srv, "POST", "/api/orders", AUTH_SERVICE, h_create, ctx);
 *     auth_route(au, srv, "PUT", "/api/inventory/{productId}", AUTH_ADMIN, h_put, ctx);
 *     auth_route(au, srv, "GET", "/api/orders/{id}", AUTH_SERVICE | AUTH_ADMIN, h_get, ctx);
 */
#ifndef CM_AUTH_H
#define CM_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "cm_http.h"

#define AUTH_TOKEN_MIN  16   /* shorter tokens are refused at start: guessable */
#define AUTH_TOKEN_MAX  256  /* longer tokens are refused at start and never match */
#define AUTH_HEADER_MAX 1024 /* an Authorization value longer than this is malformed */

/* Who may call a route: a mask of the tokens it accepts. */
#define AUTH_SERVICE 0x1u /* SERVICE_TOKEN: calls from the orchestrators */
#define AUTH_ADMIN   0x2u /* ADMIN_TOKEN: operators */

/* problem+json `code` values of a refused request (docs/development.md, "Error codes"). */
#define AUTH_CODE_UNAUTHORIZED "Unauthorized" /* 401: no token, malformed or unknown token */
#define AUTH_CODE_FORBIDDEN    "Forbidden"    /* 403: a valid token the route does not accept */

typedef struct auth auth;

typedef enum auth_verdict {
    AUTH_OK = 0,
    AUTH_MISSING,      /* no Authorization header */
    AUTH_MALFORMED,    /* not "Bearer <token>", bytes outside the token alphabet, too long */
    AUTH_WRONG,        /* well-formed, but neither configured token */
    AUTH_INSUFFICIENT, /* a configured token the route does not accept */
} auth_verdict;

/* Tokens for a daemon. `need` is the mask of tokens it must have (AUTH_SERVICE, AUTH_ADMIN).
 * A token that is set must be AUTH_TOKEN_MIN..AUTH_TOKEN_MAX characters of the RFC 6750
 * b64token alphabet ([A-Za-z0-9-._~+/] then '='s), and the two must differ. When `disabled`
 * is false a needed token that is NULL or "" is an error; when true every request passes.
 * On error writes a message for the operator (never the token) into err and returns
 * CM_ERR_INVALID; otherwise 0 with *out owned (auth_free). Only digests are kept. */
int auth_new(const char *service_token, const char *admin_token, bool disabled, unsigned need,
             char *err, size_t errlen, auth **out);

/* auth_new from SERVICE_TOKEN, ADMIN_TOKEN and AUTH_DISABLED ("1" disables; unset, "" or "0"
 * enables; anything else is an error). Logs the error, or a warning when disabled, naming
 * `service`. Main thread, at start. */
int auth_from_env(const char *service, unsigned need, auth **out);

/* Free; the server whose routes use it must be freed first. NULL ok. */
void auth_free(auth *a);

bool auth_disabled(const auth *a);

/* 1 when `token` is a usable token by the rule of auth_new. Pure. */
bool auth_token_valid(const char *token);

/* The verdict for an Authorization header value (NULL when absent) on a route accepting
 * `accept`. Takes the same time whatever the token's content. Pure; any thread. */
auth_verdict auth_verify(const auth *a, const char *authorization, unsigned accept);

/* Check the request's Authorization header. On a refusal answers 401 (with
 * WWW-Authenticate: Bearer) or 403 problem+json, counts it in auth_refused_total{reason}
 * and returns false; the handler then just returns. Handler threads. */
bool auth_check(const auth *a, http_req *req, unsigned accept);

/* http_route with auth_check in front of `handler`: a refused request never reaches it (no
 * idempotency key is claimed, no body is parsed). `a` must outlive the server. Same rules and
 * return values as http_route, plus CM_ERR_INVALID for an empty `accept`. Main thread. */
int auth_route(auth *a, http_server *srv, const char *method, const char *pattern, unsigned accept,
               http_handler_fn handler, void *ctx);

#endif
