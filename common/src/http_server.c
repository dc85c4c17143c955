/* http_server.c — libmicrohttpd glue: request lifecycle, body limit, routing, metrics,
 * drain on stop. Must not buffer more than max_body bytes of any request.
 *
 * Threads: the connection guard (http_conn.c) accepts connections and enforces the connection
 * limits and deadlines; MHD's own small pool (epoll, no fd_set limit) does socket I/O only. A
 * complete request is suspended (MHD_suspend_connection) and queued to our pool of `threads`
 * handler workers; the worker runs the handler and resumes the connection, and MHD sends the
 * answer. So a handler that blocks (lock wait, slow gateway) holds one worker, never the
 * other connections that MHD multiplexes on the same I/O thread. Inline routes (/health) run
 * on the I/O thread and answer even when every worker is busy. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cm_error.h"
#include "cm_log.h"
#include "http_internal.h"

struct http_server {
    http_server_config cfg;
    char bind_addr[64];
    router routes;
    struct MHD_Daemon *daemon;
    http_guard *guard;
    metrics_registry *metrics;
    bool own_metrics;
    atomic_int inflight;
    atomic_bool draining; /* stop has begun: tell keep-alive clients to go away */
    bool stopped;
    /* handler pool */
    pthread_t *workers;
    int nworkers;
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    http_req *qhead, *qtail;
    int qlen;
    bool qstop;
};

int http_server_new(const http_server_config *cfg, http_server **out)
{
    *out = NULL;
    if (!cfg || cfg->port <= 0 || cfg->port > 65535 || cfg->threads < 1)
        return CM_ERR_INVALID;
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return CM_ERR_NOMEM;
    s->cfg = *cfg;
    if (!s->cfg.max_body)
        s->cfg.max_body = HTTP_MAX_BODY;
    if (s->cfg.max_queue <= 0)
        s->cfg.max_queue = HTTP_MAX_QUEUE;
    if (s->cfg.max_connections <= 0)
        s->cfg.max_connections = HTTP_MAX_CONNECTIONS;
    if (s->cfg.max_per_ip == 0)
        s->cfg.max_per_ip = HTTP_MAX_CONNECTIONS_PER_IP;
    if (s->cfg.header_timeout_ms <= 0)
        s->cfg.header_timeout_ms = HTTP_HEADER_TIMEOUT_MS;
    if (s->cfg.body_timeout_ms <= 0)
        s->cfg.body_timeout_ms = HTTP_BODY_TIMEOUT_MS;
    if (s->cfg.idle_timeout_ms <= 0)
        s->cfg.idle_timeout_ms = HTTP_IDLE_TIMEOUT_MS;
    if (s->cfg.request_timeout_ms <= 0)
        s->cfg.request_timeout_ms = HTTP_REQUEST_TIMEOUT_MS;
    snprintf(s->bind_addr, sizeof s->bind_addr, "%s",
             cfg->bind_addr ? cfg->bind_addr : "127.0.0.1");
    s->metrics = cfg->metrics;
    if (!s->metrics) {
        s->metrics = metrics_new();
        s->own_metrics = true;
        if (!s->metrics) {
            free(s);
            return CM_ERR_NOMEM;
        }
    }
    atomic_init(&s->inflight, 0);
    atomic_init(&s->draining, false);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    *out = s;
    return 0;
}

int http_route(http_server *srv, const char *method, const char *pattern, http_handler_fn handler,
               void *ctx)
{
    if (!srv || srv->daemon)
        return CM_ERR_INVALID;
    int rc = router_add(&srv->routes, method, pattern, handler, ctx);
    if (rc)
        log_error("http_route %s %s refused (bad pattern, duplicate or table full)",
                  method ? method : "?", pattern ? pattern : "?");
    return rc;
}

int http_route_inline(http_server *srv, const char *method, const char *pattern)
{
    if (!srv || srv->daemon || !method || !pattern)
        return CM_ERR_INVALID;
    for (int i = 0; i < srv->routes.n; i++) {
        route_ent *e = &srv->routes.routes[i];
        if (!strcmp(e->method, method) && !strcmp(e->pattern, pattern)) {
            e->inline_run = true;
            return 0;
        }
    }
    return CM_ERR_INVALID;
}

metrics_registry *http_server_metrics(http_server *srv)
{
    return srv->metrics;
}

int http_server_inflight(http_server *srv)
{
    return atomic_load(&srv->inflight);
}

/* ---- request lifecycle ---- */

static bool sane_request_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= 64 || !(isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return n > 0;
}

static void req_free(http_req *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->body);
    free(r->resp_body);
    for (int i = 0; i < r->nhdrs; i++) {
        free(r->hdrs[i].name);
        free(r->hdrs[i].value);
    }
    free(r);
}

static bool quiet_route(const http_req *r)
{
    const char *p = r->path;
    return !strcmp(p, "/health") || !strcmp(p, "/ready") || !strcmp(p, "/metrics");
}

/* Method label for metrics: a client must not be able to mint new series at will. */
static const char *metric_method(const char *m)
{
    static const char *const known[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(m, known[i]))
            return known[i];
    return "OTHER";
}

/* Make the answer final: 500 if the handler gave none, then the finish hook (idempotency
 * recording) on the calling thread. */
static void complete_answer(http_req *r)
{
    if (!r->responded)
        http_respond_problem(r, 500, HTTP_CODE_INTERNAL, "handler produced no response");
    if (r->finish_hook) {
        http_finish_hook h = r->finish_hook;
        r->finish_hook = NULL;
        h(r, r->finish_ctx);
    }
}

/* Give the answer to MHD; record metrics and the access log line. MHD thread. */
static enum MHD_Result finish(http_req *r)
{
    complete_answer(r);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->resp_len, r->resp_body ? r->resp_body : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (r->resp_ctype[0])
        MHD_add_response_header(resp, "Content-Type", r->resp_ctype);
    if (atomic_load(&r->srv->draining))
        MHD_add_response_header(resp, "Connection", "close");
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    for (int i = 0; i < r->nhdrs; i++)
        MHD_add_response_header(resp, r->hdrs[i].name, r->hdrs[i].value);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->queued = true;

    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double secs =
        (double)(now.tv_sec - r->start.tv_sec) + (double)(now.tv_nsec - r->start.tv_nsec) / 1e9;
    const char *route = r->match.route ? r->match.route->pattern : "unmatched";
    char esc[256], labels[400];
    metrics_escape_label(route, esc, sizeof esc);
    snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\",status=\"%d\"",
             metric_method(r->method), esc, r->status);
    metrics_counter_add(r->srv->metrics, "http_requests_total", "HTTP requests by route and status",
                        labels, 1);
    metrics_histogram_observe(r->srv->metrics, "http_request_duration_seconds",
                              "HTTP request latency by route and status", labels, secs);
    /* The handler ran on a worker; the access line carries its context here too. */
    log_set_request_id(r->request_id);
    log_set_saga_id(r->saga_id[0] ? r->saga_id : NULL);
    log_msg(quiet_route(r) ? CM_LOG_DEBUG : CM_LOG_INFO, "%s %s -> %d in %.1f ms", r->method,
            r->path, r->status, secs * 1000.0);
    log_set_request_id(NULL);
    log_set_saga_id(NULL);
    return ret;
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    static const char want[] = "application/json";
    size_t n = sizeof want - 1;
    if (strncasecmp(ct, want, n))
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* First call for a request: route it and refuse what can be refused before any body byte
 * is read (404, 405, 413 by Content-Length, 415). Returns true when an answer was given. */
static bool on_headers(http_req *r)
{
    http_server *s = r->srv;
    router_match_path(&s->routes, r->method, r->path, &r->match);
    if (r->match.status == 404) {
        http_respond_problem(r, 404, HTTP_CODE_NOT_FOUND, "no route for %s %.200s", r->method,
                             r->path);
        return true;
    }
    if (r->match.status == 405) {
        http_resp_header(r, "Allow", r->match.allow);
        http_respond_problem(r, 405, HTTP_CODE_METHOD, "%s is not allowed on %.200s (allowed: %s)",
                             r->method, r->path, r->match.allow);
        return true;
    }
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Transfer-Encoding");
    bool has_body = te != NULL;
    if (cl) {
        char *end = NULL;
        unsigned long long n = strtoull(cl, &end, 10);
        if (n > s->cfg.max_body) {
            r->too_large = true;
            http_resp_header(r, "Connection", "close");
            http_respond_problem(r, 413, HTTP_CODE_TOO_LARGE,
                                 "request body is larger than %zu bytes", s->cfg.max_body);
            return true;
        }
        if (n > 0)
            has_body = true;
    }
    if (has_body &&
        !is_json_type(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type"))) {
        http_resp_header(r, "Connection", "close");
        http_respond_problem(r, 415, HTTP_CODE_MEDIA_TYPE, "request body must be application/json");
        return true;
    }
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->srv = s;
        r->conn = conn;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        snprintf(r->method, sizeof r->method, "%s", method);
        r->path = strdup(url ? url : "/");
        if (!r->path) {
            free(r);
            return MHD_NO;
        }
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        if (rid && sane_request_id(rid))
            snprintf(r->request_id, sizeof r->request_id, "%s", rid);
        else
            cm_random_hex(r->request_id, 16);
        *con_cls = r;
        atomic_fetch_add(&s->inflight, 1);
        r->req_start_ms = guard_request_begin(s->guard, conn);
        return on_headers(r) ? finish(r) : MHD_YES;
    }
    if (r->queued) {
        /* Answer already given (413/415 on headers): swallow whatever MHD still hands us. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large)
            return MHD_YES; /* discard: chunked body over the limit */
        if (r->body_len + n > s->cfg.max_body) {
            r->too_large = true;
            free(r->body);
            r->body = NULL;
            r->body_len = r->body_cap = 0;
            return MHD_YES;
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 1024;
            while (cap < r->body_len + n + 1)
                cap *= 2;
            if (cap > s->cfg.max_body + 1)
                cap = s->cfg.max_body + 1;
            char *nb = realloc(r->body, cap);
            if (!nb)
                return MHD_NO;
            r->body = nb;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    if (r->handled) /* resumed after the worker ran the handler */
        return finish(r);
    if (r->dispatched)
        return MHD_YES;
    guard_request_read(s->guard, conn); /* the whole request is in: no read deadline */
    if (r->too_large) {
        http_resp_header(r, "Connection", "close");
        http_respond_problem(r, 413, HTTP_CODE_TOO_LARGE, "request body is larger than %zu bytes",
                             s->cfg.max_body);
        return finish(r);
    }
    if (r->match.route->inline_run) {
        r->match.route->fn(r, r->match.route->ctx);
        return finish(r);
    }
    pthread_mutex_lock(&s->qmu);
    if (s->qstop) {
        /* Workers are gone (final stage of stop): answer here instead of suspending a
         * connection nobody would resume. */
        pthread_mutex_unlock(&s->qmu);
        http_respond_problem(r, 503, HTTP_CODE_UNAVAILABLE, "server is shutting down");
        return finish(r);
    }
    if (s->qlen >= s->cfg.max_queue) {
        /* Every worker busy and a long line behind them: shed load instead of queueing
         * without bound (the client retries 503 Busy). */
        pthread_mutex_unlock(&s->qmu);
        http_resp_header(r, "Retry-After", "1");
        http_respond_problem(r, 503, HTTP_CODE_UNAVAILABLE, "server busy, retry later");
        return finish(r);
    }
    s->qlen++;
    r->dispatched = true;
    MHD_suspend_connection(conn);
    r->qnext = NULL;
    if (s->qtail)
        s->qtail->qnext = r;
    else
        s->qhead = r;
    s->qtail = r;
    pthread_cond_signal(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    return MHD_YES;
}

/* True when the request has run past its deadline (HTTP_REQUEST_TIMEOUT_MS) before a worker
 * took it. */
static bool expired(const http_server *s, const http_req *r)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    return ms - r->req_start_ms >= s->cfg.request_timeout_ms;
}

/* Handler worker: run queued requests until asked to stop and the queue is empty. */
static void *worker_main(void *arg)
{
    http_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->qmu);
        while (!s->qhead && !s->qstop)
            pthread_cond_wait(&s->qcv, &s->qmu);
        http_req *r = s->qhead;
        if (r) {
            s->qhead = r->qnext;
            if (!s->qhead)
                s->qtail = NULL;
            s->qlen--;
        }
        pthread_mutex_unlock(&s->qmu);
        if (!r)
            break; /* stop requested and nothing left */
        log_set_request_id(r->request_id);
        if (expired(s, r)) {
            /* The client has likely given up; running the handler now would only add load. */
            log_warn("%s %s waited %d ms for a worker: answered 503 without running it", r->method,
                     r->path, s->cfg.request_timeout_ms);
            http_resp_header(r, "Retry-After", "1");
            http_respond_problem(r, 503, HTTP_CODE_UNAVAILABLE,
                                 "server busy: the request waited too long, retry later");
        } else {
            r->match.route->fn(r, r->match.route->ctx);
        }
        complete_answer(r);
        log_set_request_id(NULL);
        log_set_saga_id(NULL);
        r->handled = true;
        MHD_resume_connection(r->conn); /* MHD's lock orders our writes before its read */
    }
    return NULL;
}

static void workers_stop(http_server *s)
{
    if (!s->workers)
        return;
    pthread_mutex_lock(&s->qmu);
    s->qstop = true;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    free(s->workers);
    s->workers = NULL;
    s->nworkers = 0;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    http_server *s = cls;
    http_req *r = *con_cls;
    guard_request_end(s->guard, conn);
    if (!r)
        return;
    *con_cls = NULL;
    if (r->finish_hook) {
        /* Connection died before an answer was produced: let the hook clean up (the
         * idempotency marker must not stay in flight). */
        r->status = 500;
        http_finish_hook h = r->finish_hook;
        r->finish_hook = NULL;
        h(r, r->finish_ctx);
    }
    req_free(r);
    atomic_fetch_sub(&s->inflight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    log_warn("microhttpd: %s", buf);
}

int http_server_start(http_server *s)
{
    if (!s || s->daemon)
        return CM_ERR_STATE;
    http_guard_config gc = {.max_connections = s->cfg.max_connections,
                            .max_per_ip = s->cfg.max_per_ip < 0 ? 0 : s->cfg.max_per_ip,
                            .header_timeout_ms = s->cfg.header_timeout_ms,
                            .body_timeout_ms = s->cfg.body_timeout_ms,
                            .request_timeout_ms = s->cfg.request_timeout_ms,
                            .metrics = s->metrics};
    int rc = guard_new(&gc, s->bind_addr, s->cfg.port, &s->guard);
    if (rc)
        return rc == CM_ERR_INVALID ? CM_ERR_INVALID : CM_ERR_IO;
    /* The guard accepts (MHD_USE_NO_LISTEN_SOCKET) and keeps the count under its own cap, so
     * MHD's limit (split over its threads) only has to stay out of the way. */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET;
    unsigned mhd_limit = (unsigned)guard_max_connections(s->guard) * 2u + 256u;
    unsigned idle_s = (unsigned)((s->cfg.idle_timeout_ms + 999) / 1000);
    s->workers = calloc((size_t)s->cfg.threads, sizeof *s->workers);
    if (!s->workers) {
        guard_free(s->guard);
        s->guard = NULL;
        return CM_ERR_NOMEM;
    }
    s->qstop = false;
    atomic_store(&s->draining, false);
    for (int i = 0; i < s->cfg.threads; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s)) {
            workers_stop(s);
            guard_free(s->guard);
            s->guard = NULL;
            return CM_ERR_NOMEM;
        }
        s->nworkers++;
    }
    unsigned io_threads = s->cfg.threads < 4 ? (unsigned)s->cfg.threads : 4u;
    /* The logger must be the FIRST option: libmicrohttpd logs with its default logger until
     * it has parsed this one, and warns "MHD_OPTION_EXTERNAL_LOGGER is not the first option"
     * at every start otherwise (tests/common: second_server_on_same_port_fails_to_start). */
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, io_threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, guard_notify, s->guard, MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
        MHD_OPTION_CONNECTION_LIMIT, mhd_limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_END);
    if (!s->daemon || guard_start(s->guard, s->daemon)) {
        log_error("cannot serve on %s:%d", s->bind_addr, s->cfg.port);
        if (s->daemon)
            MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
        workers_stop(s);
        guard_free(s->guard);
        s->guard = NULL;
        return CM_ERR_IO;
    }
    s->stopped = false;
    return 0;
}

void http_server_stop(http_server *s, int drain_ms)
{
    if (!s || !s->daemon)
        return;
    atomic_store(&s->draining, true);
    guard_stop_accepting(s->guard);
    /* Requests already accepted finish; new connections are refused. */
    for (int waited = 0; atomic_load(&s->inflight) > 0 && waited < drain_ms; waited += 5)
        usleep(5000);
    /* Workers finish every queued handler and resume its connection before MHD goes away:
     * MHD must not be stopped with suspended connections. */
    workers_stop(s);
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    guard_free(s->guard); /* after MHD's last CLOSED notices */
    s->guard = NULL;
    s->stopped = true;
}

void http_server_free(http_server *s)
{
    if (!s)
        return;
    http_server_stop(s, 0);
    router_clear(&s->routes);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcv);
    if (s->own_metrics)
        metrics_free(s->metrics);
    free(s);
}
