/* cm_idem.h — Idempotency-Key handling for mutating handlers (DESIGN.md, Redis):
 * key idempotency:{service}:{key}, fingerprint = SHA-256(method, path, query, body),
 * states in-flight / completed (status + content type + body + headers cached), TTL 24 h. */
#ifndef CM_IDEM_H
#define CM_IDEM_H

#include "cm_http.h"
#include "cm_redis.h"

#define IDEM_TTL_S (24 * 3600) /* completed answers are replayed for 24 h */

/* The in-flight marker of a claimed key expires after IDEM_INFLIGHT_TTL_MS (env, default
 * 6 s) unless the process handling the request renews it: a live process does, every third
 * of the TTL, for as long as the request runs; a dead one (SIGKILL, crash) does not, so a
 * retry of its call proceeds within the TTL. */
#define IDEM_INFLIGHT_TTL_MS_DEFAULT 6000
#define IDEM_INFLIGHT_TTL_MS_MIN     1000 /* below, a slow Redis round trip could lose a claim */
#define IDEM_INFLIGHT_TTL_MS_MAX     600000

enum { IDEM_PROCEED = 0, IDEM_ANSWERED = 1 };

/* Call first thing in a mutating handler:
 *
 *     if (idem_begin(req, app_redis_pool, "service-order") != IDEM_PROCEED) return;
 *
 * - no Idempotency-Key header: IDEM_PROCEED, nothing recorded.
 * - a malformed one (empty, over 255 bytes, spaces or non-ASCII): 400 ValidationFailed,
 *   IDEM_ANSWERED (never run unprotected a request the client meant to be idempotent).
 * - key unseen: marks it in flight with SET NX (so of concurrent requests exactly one
 *   proceeds; the marker is renewed while the handler runs, see idem_inflight_ttl_ms) and
 *   returns IDEM_PROCEED; the answer the handler then gives is recorded when
 *   it is sent: status < 500 other than 429 -> completed (replayed for 24 h); 5xx and 429
 *   (both retryable by contract) -> the marker is deleted so a retry runs again.
 * - key completed, same fingerprint: the cached status, body and the headers the handler
 *   set (Location, ...; not Connection) are replayed with header Idempotent-Replayed: true;
 *   returns IDEM_ANSWERED.
 * - key known (in flight or completed), different fingerprint: 422 IdempotencyKeyReused.
 * - key in flight, same fingerprint: 409 IdempotencyInFlight (retryable).
 * - Redis unreachable: 503 Unavailable (retryable); returns IDEM_ANSWERED.
 * `service` is borrowed for the call. Handler thread only. */
int idem_begin(http_req *req, rds_pool *rds, const char *service);

/* The in-flight TTL in ms: IDEM_INFLIGHT_TTL_MS from the environment, read on the first call
 * of this or idem_begin (IDEM_INFLIGHT_TTL_MS_DEFAULT when unset or outside [MIN, MAX], with a
 * warning). Any thread. */
int idem_inflight_ttl_ms(void);

/* Stops and joins the thread that renews this process's in-flight markers (started by the
 * first claim). Call once no handler can be in idem_begin any more (the server is stopped)
 * and before freeing a pool given to idem_begin; app_free does. Nothing running is fine; a
 * later claim starts a new renewer. Main thread. */
void idem_stop(void);

/* SHA-256 of "method\npath\nquery\n" + body as 64 hex chars + NUL into out. Pure. */
void idem_fingerprint(const char *method, const char *path, const char *query, const char *body,
                      size_t body_len, char out[65]);

/* SHA-256 of `len` bytes as lowercase hex (65 bytes with NUL). Pure. */
void cm_sha256_hex(const void *data, size_t len, char out[65]);

#endif
