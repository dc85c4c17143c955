/* HTTP server against a real listener (ports 26000-26079) and the HTTP client:
 * 404/405/413/415/400 answers, request ids, metrics, drain on stop, idempotency in Redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "../support/stack_secrets.h"

#define PORT 26011
#define BASE "http://127.0.0.1:26011"

static http_server *g_srv;
static rds_pool *g_rds;
static char g_service[64];
static atomic_int g_runs;
static sem_t g_entered, g_release;
static atomic_int g_block; /* handlers block on g_release while set */

static const json_field k_thing[] = {
    {"quantity", JF_POS_INT, true, 0, 0},
    {"name", JF_STRING, false, 1, 32},
    {NULL, 0, false, 0, 0},
};

static void h_get_thing(http_req *req, void *ctx)
{
    (void)ctx;
    int64_t id;
    if (http_req_param_id(req, "id", &id))
        return;
    int64_t limit;
    if (http_req_query_int(req, "limit", false, 10, 1, 100, &limit))
        return;
    http_respond_json(req, 200,
                      json_pack("{s:I, s:I}", "id", (json_int_t)id, "limit", (json_int_t)limit));
}

static void h_post_thing(http_req *req, void *ctx)
{
    (void)ctx;
    json_t *body;
    if (http_req_json(req, k_thing, 0, &body))
        return;
    json_object_set_new(body, "requestId", json_string(http_req_id(req)));
    http_respond_json(req, 201, body);
}

static void h_silent(http_req *req, void *ctx)
{
    (void)req;
    (void)ctx;
}

static void h_metrics(http_req *req, void *ctx)
{
    (void)ctx;
    char *t;
    size_t n;
    if (metrics_render(http_server_metrics(g_srv), &t, &n)) { /* no cmocka asserts off main */
        http_respond_problem(req, 500, HTTP_CODE_INTERNAL, "render failed");
        return;
    }
    http_respond_raw(req, 200, "text/plain; version=0.0.4", t, n);
    free(t);
}

static void block_if_asked(void)
{
    if (atomic_load(&g_block)) {
        sem_post(&g_entered);
        sem_wait(&g_release);
    }
}

static void h_slow(http_req *req, void *ctx)
{
    (void)ctx;
    block_if_asked();
    http_respond_json(req, 200, json_pack("{s:b}", "done", 1));
}

/* Mutating handler with idempotency; body {"fail":true} answers 500. */
static void h_order(http_req *req, void *ctx)
{
    (void)ctx;
    if (idem_begin(req, g_rds, g_service) != IDEM_PROCEED)
        return;
    int n = atomic_fetch_add(&g_runs, 1) + 1;
    block_if_asked();
    size_t len;
    const char *b = http_req_body(req, &len);
    if (strstr(b, "\"fail\"")) {
        http_respond_problem(req, 500, HTTP_CODE_INTERNAL, "induced failure");
        return;
    }
    http_respond_json(req, 201, json_pack("{s:i}", "run", n));
}

/* Mutating handler that sets headers (Location, X-Thing); body {"busy":true} answers 429
 * Busy with Retry-After on its first run. */
static void h_located(http_req *req, void *ctx)
{
    (void)ctx;
    if (idem_begin(req, g_rds, g_service) != IDEM_PROCEED)
        return;
    int n = atomic_fetch_add(&g_runs, 1) + 1;
    size_t len;
    const char *b = http_req_body(req, &len);
    if (strstr(b, "\"busy\"") && n == 1) {
        http_resp_header(req, "Retry-After", "1");
        http_respond_problem(req, 429, HTTP_CODE_BUSY, "busy, retry");
        return;
    }
    char loc[64];
    snprintf(loc, sizeof loc, "/api/things/%d", n);
    http_resp_header(req, "Location", loc);
    http_resp_header(req, "X-Thing", "thing value");
    http_respond_json(req, 201, json_pack("{s:i}", "run", n));
}

/* GET /api/repo-error?rc=N answers http_respond_repo_error(rc) for "widget". */
static void h_repo_error(http_req *req, void *ctx)
{
    (void)ctx;
    int64_t rc;
    if (http_req_query_int(req, "rc", true, 0, -100, 0, &rc))
        return;
    http_respond_repo_error(req, (int)rc, "widget");
}

static rds_pool *g_dead_rds;

static void h_dead_idem(http_req *req, void *ctx)
{
    (void)ctx;
    if (idem_begin(req, g_dead_rds, g_service) != IDEM_PROCEED)
        return;
    http_respond_json(req, 201, json_object());
}

static void h_search(http_req *req, void *ctx)
{
    (void)ctx;
    const char *q;
    if (http_req_query_str(req, "q", true, 8, &q))
        return;
    http_respond_json(req, 200, json_pack("{s:s}", "q", q));
}

static void h_stock(http_req *req, void *ctx)
{
    (void)ctx;
    http_respond_problem_ext(req, 409, "OutOfStock",
                             json_pack("{s:i, s:s}", "available", 1, "status", "ignored"),
                             "only %d left", 1);
}

static int setup(void **s)
{
    (void)s;
    sem_init(&g_entered, 0, 0);
    sem_init(&g_release, 0, 0);
    assert_int_equal(httpc_global_init(), 0);
    char tok[RDS_TOKEN_LEN];
    rds_random_token(tok);
    snprintf(g_service, sizeof g_service, "common-test-%.8s", tok);
    assert_int_equal(
        rds_pool_new("127.0.0.1", (int)cfg_int("REDIS_PORT", 21379, 1, 65535), 8, 0, &g_rds), 0);
    assert_int_equal(
        rds_pool_set_auth(g_rds, cfg_str("REDIS_USERNAME", NULL), cfg_str("REDIS_PASSWORD", NULL)),
        0);
    http_server_config c = {.port = PORT, .threads = 4, .service = "common-test"};
    assert_int_equal(http_server_new(&c, &g_srv), 0);
    assert_int_equal(http_route(g_srv, "GET", "/api/things/{id}", h_get_thing, NULL), 0);
    assert_int_equal(http_route(g_srv, "POST", "/api/things", h_post_thing, NULL), 0);
    assert_int_equal(http_route(g_srv, "PUT", "/api/things/{id}", h_get_thing, NULL), 0);
    assert_int_equal(http_route(g_srv, "GET", "/silent", h_silent, NULL), 0);
    assert_int_equal(http_route(g_srv, "GET", "/metrics", h_metrics, NULL), 0);
    assert_int_equal(http_route(g_srv, "GET", "/slow", h_slow, NULL), 0);
    assert_int_equal(http_route(g_srv, "POST", "/api/orders", h_order, NULL), 0);
    assert_int_equal(http_route(g_srv, "POST", "/api/located", h_located, NULL), 0);
    assert_int_equal(http_route(g_srv, "GET", "/api/repo-error", h_repo_error, NULL), 0);
    assert_int_equal(http_route(g_srv, "POST", "/api/dead", h_dead_idem, NULL), 0);
    assert_int_equal(http_route(g_srv, "GET", "/api/search", h_search, NULL), 0);
    assert_int_equal(http_route(g_srv, "GET", "/api/stock", h_stock, NULL), 0);
    assert_int_equal(rds_pool_new("127.0.0.1", 26075, 1, 300, &g_dead_rds), 0);
    assert_int_equal(http_server_start(g_srv), 0);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    http_server_free(g_srv);
    rds_conn *c;
    if (rds_acquire(g_rds, &c) == 0) {
        const char *keys[] = {"k-replay",     "k-reuse",   "k-inflight", "k-fail",
                              "k-concurrent", "k-located", "k-busy",     "k-longq",
                              "k-layout",     "k-legacy",  "k-legacy2",  "k-flush"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            redisReply *r = rds_command(c, "DEL idempotency:%s:%s", g_service, keys[i]);
            if (r)
                freeReplyObject(r);
        }
        rds_release(g_rds, c);
    }
    rds_pool_free(g_rds);
    rds_pool_free(g_dead_rds);
    httpc_global_cleanup();
    sem_destroy(&g_entered);
    sem_destroy(&g_release);
    return 0;
}

/* ---- helpers ---- */

static json_t *problem_of(const httpc_resp *r)
{
    assert_string_equal(r->content_type, "application/problem+json");
    json_t *j = httpc_resp_json(r);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), r->status);
    assert_non_null(json_object_get(j, "type"));
    assert_non_null(json_object_get(j, "title"));
    return j;
}

static void expect_problem(const httpc_resp *r, long status, const char *code, const char *detail)
{
    assert_int_equal(r->status, status);
    json_t *j = problem_of(r);
    assert_string_equal(json_string_value(json_object_get(j, "code")), code);
    if (detail)
        assert_string_equal(json_string_value(json_object_get(j, "detail")), detail);
    json_decref(j);
}

static void req(const char *method, const char *path, const char *body, const httpc_opts *o,
                httpc_resp *r)
{
    char url[256];
    snprintf(url, sizeof url, BASE "%s", path);
    assert_int_equal(httpc_request(method, url, body, body ? strlen(body) : 0, o, r), 0);
}

/* ---- server answers ---- */

/* The server binds its own listening socket (the connection guard accepts); a failed bind is
 * one JSON log line naming the address, and nothing is printed outside the JSON log
 * (libmicrohttpd logs through our logger only if MHD_OPTION_EXTERNAL_LOGGER is its first
 * option; otherwise it warns "... is not the first option ..." at every start). */
static void second_server_on_same_port_fails_to_start(void **s)
{
    (void)s;
    http_server *other;
    http_server_config c = {.port = PORT, .threads = 1};
    assert_int_equal(http_server_new(&c, &other), 0);
    assert_int_equal(http_route(other, "GET", "/x", h_silent, NULL), 0);
    char path[] = "/tmp/common-http-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    int rc = http_server_start(other);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_int_equal(rc, CM_ERR_IO);
    http_server_free(other);
    char log[8192];
    ssize_t n = pread(fd, log, sizeof log - 1, 0);
    close(fd);
    assert_true(n > 0);
    log[n] = '\0';
    assert_non_null(strstr(log, "\"msg\":\"cannot listen on 127.0.0.1:"));
    assert_non_null(strstr(log, "Address already in use"));
    assert_null(strstr(log, "not the first option"));
}

static void unknown_route_is_404_problem(void **s)
{
    (void)s;
    httpc_resp r;
    req("GET", "/api/nope", NULL, NULL, &r);
    expect_problem(&r, 404, "NotFound", NULL);
    httpc_resp_free(&r);
}

static void wrong_method_is_405_with_allow(void **s)
{
    (void)s;
    httpc_resp r;
    req("DELETE", "/api/things/1", NULL, NULL, &r);
    expect_problem(&r, 405, "MethodNotAllowed", NULL);
    char allow[64];
    assert_non_null(httpc_resp_header(&r, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "GET, PUT");
    httpc_resp_free(&r);
}

static void path_and_query_params(void **s)
{
    (void)s;
    httpc_resp r;
    req("GET", "/api/things/42?limit=5", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *j = httpc_resp_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 42);
    assert_int_equal(json_integer_value(json_object_get(j, "limit")), 5);
    json_decref(j);
    httpc_resp_free(&r);
    const char *bad_ids[] = {"/api/things/abc", "/api/things/0", "/api/things/-1",
                             "/api/things/99999999999999999999", "/api/things/1x"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        req("GET", bad_ids[i], NULL, NULL, &r);
        expect_problem(&r, 400, "ValidationFailed", "id must be a positive integer");
        httpc_resp_free(&r);
    }
    req("GET", "/api/things/1?limit=0", NULL, NULL, &r);
    expect_problem(&r, 400, "ValidationFailed", "limit must be an integer between 1 and 100");
    httpc_resp_free(&r);
}

static void json_body_validated_with_clear_detail(void **s)
{
    (void)s;
    httpc_resp r;
    req("POST", "/api/things", "{\"quantity\":0}", NULL, &r);
    expect_problem(&r, 400, "ValidationFailed", "quantity must be a positive integer");
    httpc_resp_free(&r);
    req("POST", "/api/things", "{\"quantity\":\"2\"}", NULL, &r);
    expect_problem(&r, 400, "ValidationFailed", "quantity must be a positive integer");
    httpc_resp_free(&r);
    req("POST", "/api/things", "{\"quantity\":", NULL, &r);
    assert_int_equal(r.status, 400);
    httpc_resp_free(&r);
    req("POST", "/api/things", NULL, NULL, &r);
    expect_problem(&r, 400, "ValidationFailed", "request body is required");
    httpc_resp_free(&r);
    req("POST", "/api/things", "{\"quantity\":3,\"name\":\"x\"}", NULL, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.content_type, "application/json");
    httpc_resp_free(&r);
}

static void non_json_body_is_415(void **s)
{
    (void)s;
    httpc_resp r;
    httpc_opts o = {.content_type = "text/plain"};
    req("POST", "/api/things", "{\"quantity\":1}", &o, &r);
    expect_problem(&r, 415, "UnsupportedMediaType", NULL);
    httpc_resp_free(&r);
    o.content_type = "application/json; charset=utf-8";
    req("POST", "/api/things", "{\"quantity\":1}", &o, &r);
    assert_int_equal(r.status, 201);
    httpc_resp_free(&r);
}

static void oversize_bodies_are_413(void **s)
{
    (void)s;
    size_t sizes[] = {HTTP_MAX_BODY + 1, 10 * 1024 * 1024};
    for (int i = 0; i < 2; i++) {
        char *big = malloc(sizes[i] + 1);
        memset(big, ' ', sizes[i]);
        big[0] = '{';
        big[sizes[i] - 1] = '}';
        big[sizes[i]] = '\0';
        httpc_resp r;
        req("POST", "/api/things", big, NULL, &r);
        expect_problem(&r, 413, "PayloadTooLarge", NULL);
        httpc_resp_free(&r);
        free(big);
    }
    /* exactly at the limit is read and parsed (and then fails validation, not size) */
    char *edge = malloc(HTTP_MAX_BODY + 1);
    memset(edge, ' ', HTTP_MAX_BODY);
    memcpy(edge, "{\"quantity\":1}", 14);
    edge[HTTP_MAX_BODY] = '\0';
    httpc_resp r;
    req("POST", "/api/things", edge, NULL, &r);
    assert_int_equal(r.status, 201);
    httpc_resp_free(&r);
    free(edge);
}

/* A chunked upload has no Content-Length: the server must discard past the limit. */
static void chunked_oversize_body_is_413(void **s)
{
    (void)s;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *hdr = "POST /api/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    assert_true(write(fd, hdr, strlen(hdr)) > 0);
    static char chunk[65536];
    memset(chunk, ' ', sizeof chunk);
    char line[32];
    bool write_failed = false;
    for (int i = 0; i < 40 && !write_failed; i++) { /* 2.5 MiB */
        int n = snprintf(line, sizeof line, "%x\r\n", (unsigned)sizeof chunk);
        write_failed = write(fd, line, (size_t)n) < 0 || write(fd, chunk, sizeof chunk) < 0 ||
                       write(fd, "\r\n", 2) < 0;
    }
    if (!write_failed)
        assert_true(write(fd, "0\r\n\r\n", 5) == 5);
    char resp[4096];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof resp - 1 && (k = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)k;
    resp[got] = '\0';
    close(fd);
    assert_non_null(strstr(resp, "HTTP/1.1 413"));
    assert_non_null(strstr(resp, "PayloadTooLarge"));
}

static void request_id_is_echoed_or_generated(void **s)
{
    (void)s;
    httpc_resp r;
    httpc_opts o = {.request_id = "req-abc.123"};
    req("POST", "/api/things", "{\"quantity\":1}", &o, &r);
    char rid[80];
    assert_non_null(httpc_resp_header(&r, "X-Request-Id", rid, sizeof rid));
    assert_string_equal(rid, "req-abc.123");
    json_t *j = httpc_resp_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "requestId")), "req-abc.123");
    json_decref(j);
    httpc_resp_free(&r);
    o.request_id = "bad id with spaces";
    req("GET", "/api/things/1", NULL, &o, &r);
    assert_non_null(httpc_resp_header(&r, "X-Request-Id", rid, sizeof rid));
    assert_string_not_equal(rid, "bad id with spaces");
    assert_int_equal(strlen(rid), 16);
    httpc_resp_free(&r);
}

static void handler_without_answer_is_500(void **s)
{
    (void)s;
    httpc_resp r;
    req("GET", "/silent", NULL, NULL, &r);
    expect_problem(&r, 500, "Internal", NULL);
    httpc_resp_free(&r);
}

static void metrics_count_requests_by_route_and_status(void **s)
{
    (void)s;
    httpc_resp r;
    for (int i = 0; i < 3; i++) {
        req("GET", "/api/things/7", NULL, NULL, &r);
        httpc_resp_free(&r);
    }
    req("GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "# TYPE http_requests_total counter"));
    assert_non_null(strstr(
        r.body, "http_requests_total{method=\"GET\",route=\"/api/things/{id}\",status=\"200\"} "));
    assert_non_null(
        strstr(r.body, "http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"));
    assert_non_null(strstr(r.body, "http_request_duration_seconds_bucket{method=\"GET\",route="
                                   "\"/api/things/{id}\",status=\"200\",le=\"+Inf\"}"));
    httpc_resp_free(&r);
}

static void client_reports_transport_errors(void **s)
{
    (void)s;
    httpc_resp r;
    assert_int_equal(httpc_request("GET", "http://127.0.0.1:26079/x", NULL, 0, NULL, &r),
                     CM_ERR_IO);
    assert_int_equal(r.status, 0);
    assert_true(strlen(r.error) > 0);
    httpc_resp_free(&r);
    /* total timeout: the handler is held until after the client gave up */
    atomic_store(&g_block, 1);
    httpc_opts o = {.timeout_ms = 300};
    assert_int_equal(httpc_request("GET", BASE "/slow", NULL, 0, &o, &r), CM_ERR_TIMEOUT);
    httpc_resp_free(&r);
    sem_wait(&g_entered);
    atomic_store(&g_block, 0);
    sem_post(&g_release);
}

static void query_string_helper_and_problem_extras(void **s)
{
    (void)s;
    httpc_resp r;
    req("GET", "/api/search?q=abc", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    httpc_resp_free(&r);
    req("GET", "/api/search", NULL, NULL, &r);
    expect_problem(&r, 400, "ValidationFailed", "q is required");
    httpc_resp_free(&r);
    req("GET", "/api/search?q=123456789", NULL, NULL, &r);
    expect_problem(&r, 400, "ValidationFailed", "q must be at most 8 characters");
    httpc_resp_free(&r);
    req("GET", "/api/stock", NULL, NULL, &r);
    expect_problem(&r, 409, "OutOfStock", "only 1 left");
    json_t *j = httpc_resp_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "available")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 409); /* not overridden */
    assert_string_equal(json_string_value(json_object_get(j, "instance")), "/api/stock");
    json_decref(j);
    httpc_resp_free(&r);
}

/* ---- idempotency ---- */

static void idempotency_store_down_is_503_and_no_key_still_runs(void **s)
{
    (void)s;
    httpc_resp r;
    httpc_opts o = {.idempotency_key = "k-dead"};
    req("POST", "/api/dead", "{}", &o, &r);
    expect_problem(&r, 503, "Unavailable", NULL);
    httpc_resp_free(&r);
    req("POST", "/api/dead", "{}", NULL, &r);
    assert_int_equal(r.status, 201);
    httpc_resp_free(&r);
}

static void post_order(const char *key, const char *body, httpc_resp *r)
{
    httpc_opts o = {.idempotency_key = key};
    req("POST", "/api/orders", body, &o, r);
}

static void same_key_same_request_replays_answer(void **s)
{
    (void)s;
    atomic_store(&g_runs, 0);
    httpc_resp a, b;
    post_order("k-replay", "{\"x\":1}", &a);
    post_order("k-replay", "{\"x\":1}", &b);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);
    assert_string_equal(a.body, b.body);
    assert_string_equal(b.content_type, "application/json");
    char v[16];
    assert_non_null(httpc_resp_header(&b, "Idempotent-Replayed", v, sizeof v));
    assert_null(httpc_resp_header(&a, "Idempotent-Replayed", v, sizeof v));
    assert_int_equal(atomic_load(&g_runs), 1);
    httpc_resp_free(&a);
    httpc_resp_free(&b);
    /* no key: runs every time */
    post_order(NULL, "{\"x\":1}", &a);
    post_order(NULL, "{\"x\":1}", &b);
    assert_int_equal(atomic_load(&g_runs), 3);
    httpc_resp_free(&a);
    httpc_resp_free(&b);
}

static void repository_errors_map_to_404_503_and_500(void **s)
{
    (void)s;
    static const struct {
        int rc;
        long status;
        const char *code;
    } cases[] = {
        {CM_ERR_NOT_FOUND, 404, "NotFound"},  {CM_ERR_IO, 503, "Unavailable"},
        {CM_ERR_TIMEOUT, 503, "Unavailable"}, {CM_ERR_CONFLICT, 503, "Unavailable"},
        {CM_ERR_DB, 500, "Internal"},         {CM_ERR_DUPLICATE, 500, "Internal"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/repo-error?rc=%d", cases[i].rc);
        httpc_resp r;
        req("GET", path, NULL, NULL, &r);
        expect_problem(&r, cases[i].status, cases[i].code,
                       cases[i].status == 404 ? "widget not found" : NULL);
        httpc_resp_free(&r);
    }
}

static void replay_carries_the_headers_the_handler_set(void **s)
{
    (void)s;
    atomic_store(&g_runs, 0);
    httpc_opts o = {.idempotency_key = "k-located"};
    httpc_resp a, b;
    req("POST", "/api/located", "{}", &o, &a);
    req("POST", "/api/located", "{}", &o, &b);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);
    assert_int_equal(atomic_load(&g_runs), 1);
    char va[64], vb[64];
    assert_string_equal(httpc_resp_header(&a, "Location", va, sizeof va), "/api/things/1");
    assert_non_null(httpc_resp_header(&b, "Location", vb, sizeof vb));
    assert_string_equal(vb, va);
    assert_non_null(httpc_resp_header(&b, "X-Thing", vb, sizeof vb));
    assert_string_equal(vb, "thing value");
    assert_non_null(httpc_resp_header(&b, "Idempotent-Replayed", vb, sizeof vb));
    httpc_resp_free(&a);
    httpc_resp_free(&b);
}

static void *post_in_thread_key(void *arg)
{
    httpc_resp *r = arg;
    post_order("k-layout", "{\"x\":1}", r);
    return NULL;
}

static redisReply *redis_cmd(const char *fmt, const char *k)
{
    rds_conn *c;
    assert_int_equal(rds_acquire(g_rds, &c), 0);
    char full[256];
    snprintf(full, sizeof full, "idempotency:%s:%s", g_service, k);
    redisReply *r = rds_command(c, fmt, full);
    assert_non_null(r);
    rds_release(g_rds, c);
    return r;
}

static long long redis_int(const char *fmt, const char *k)
{
    redisReply *r = redis_cmd(fmt, k);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
    freeReplyObject(r);
    return v;
}

/* One string per key (claimed with SET NX GET EX: one command, no script): in flight it
 * expires within IDEM_INFLIGHT_TTL_S, completed after a day. */
static void record_is_one_string_expiring_in_120_s_while_in_flight(void **s)
{
    (void)s;
    atomic_store(&g_block, 1);
    pthread_t t;
    httpc_resp first;
    pthread_create(&t, NULL, post_in_thread_key, &first);
    sem_wait(&g_entered);
    atomic_store(&g_block, 0);
    redisReply *r = redis_cmd("TYPE %s", "k-layout");
    char type[32];
    snprintf(type, sizeof type, "%s", r->type == REDIS_REPLY_STATUS ? r->str : "?");
    freeReplyObject(r);
    long long ttl = redis_int("TTL %s", "k-layout");
    sem_post(&g_release); /* before asserting: a failure must not leave the handler blocked */
    pthread_join(t, NULL);
    assert_string_equal(type, "string");
    assert_true(ttl > 0 && ttl <= IDEM_INFLIGHT_TTL_S);
    assert_int_equal(first.status, 201);
    httpc_resp_free(&first);
    ttl = redis_int("TTL %s", "k-layout");
    assert_true(ttl > IDEM_INFLIGHT_TTL_S && ttl <= IDEM_TTL_S);
}

/* Records written before the string layout (hashes) are still answered from. */
static void record_of_the_hash_layout_is_still_replayed(void **s)
{
    (void)s;
    atomic_store(&g_runs, 0);
    char fp[65];
    idem_fingerprint("POST", "/api/orders", "", "{\"x\":7}", 7, fp);
    rds_conn *c;
    assert_int_equal(rds_acquire(g_rds, &c), 0);
    char k[256];
    snprintf(k, sizeof k, "idempotency:%s:k-legacy", g_service);
    redisReply *r = rds_command(c,
                                "HSET %s state completed fp %s token t status 201 ctype %s "
                                "body %s hdrs %s",
                                k, fp, "application/json", "{\"run\":41}", "Location: /x/41\n");
    assert_non_null(r);
    freeReplyObject(r);
    snprintf(k, sizeof k, "idempotency:%s:k-legacy2", g_service);
    r = rds_command(c, "HSET %s state in_flight fp %s token t", k, fp);
    assert_non_null(r);
    freeReplyObject(r);
    rds_release(g_rds, c);

    httpc_resp a, b, d;
    post_order("k-legacy", "{\"x\":7}", &a);
    assert_int_equal(a.status, 201);
    assert_string_equal(a.body, "{\"run\":41}");
    char v[64];
    assert_string_equal(httpc_resp_header(&a, "Location", v, sizeof v), "/x/41");
    assert_non_null(httpc_resp_header(&a, "Idempotent-Replayed", v, sizeof v));
    post_order("k-legacy", "{\"x\":8}", &b);
    expect_problem(&b, 422, "IdempotencyKeyReused", NULL);
    post_order("k-legacy2", "{\"x\":7}", &d);
    expect_problem(&d, 409, "IdempotencyInFlight", NULL);
    assert_int_equal(atomic_load(&g_runs), 0);
    httpc_resp_free(&a);
    httpc_resp_free(&b);
    httpc_resp_free(&d);
}

/* The completion script runs by its hash; a Redis that forgot it (restart, SCRIPT FLUSH) is
 * sent the text, and the answer is still recorded. */
static void answer_is_recorded_after_redis_forgets_the_script(void **s)
{
    (void)s;
    atomic_store(&g_runs, 0);
    httpc_resp a, b;
    post_order("k-flush", "{\"x\":9}", &a); /* the scripts are known by now */
    assert_int_equal(a.status, 201);
    httpc_resp_free(&a);
    redis_int("DEL %s", "k-flush");
    rds_conn *c;
    assert_int_equal(rds_acquire(g_rds, &c), 0);
    redisReply *r = rds_command(c, "SCRIPT FLUSH");
    assert_non_null(r);
    freeReplyObject(r);
    rds_release(g_rds, c);
    post_order("k-flush", "{\"x\":9}", &a);
    post_order("k-flush", "{\"x\":9}", &b);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);
    assert_string_equal(a.body, b.body);
    char v[16];
    assert_non_null(httpc_resp_header(&b, "Idempotent-Replayed", v, sizeof v));
    assert_int_equal(atomic_load(&g_runs), 2);
    httpc_resp_free(&a);
    httpc_resp_free(&b);
}

/* 429 is retryable by contract: the retry with the same key must run, not replay the 429. */
static void busy_429_is_not_recorded(void **s)
{
    (void)s;
    atomic_store(&g_runs, 0);
    httpc_opts o = {.idempotency_key = "k-busy"};
    httpc_resp a, b, c;
    req("POST", "/api/located", "{\"busy\":true}", &o, &a);
    expect_problem(&a, 429, "Busy", NULL);
    req("POST", "/api/located", "{\"busy\":true}", &o, &b);
    assert_int_equal(b.status, 201);
    req("POST", "/api/located", "{\"busy\":true}", &o, &c);
    assert_int_equal(c.status, 201);
    assert_string_equal(c.body, b.body);
    assert_int_equal(atomic_load(&g_runs), 2);
    httpc_resp_free(&a);
    httpc_resp_free(&b);
    httpc_resp_free(&c);
}

/* The fingerprint covers the whole query, however long: requests that differ only past the
 * first few KiB are different requests. */
static void long_queries_differing_at_the_end_are_different_requests(void **s)
{
    (void)s;
    static char url[8192];
    int n = snprintf(url, sizeof url, BASE "/api/orders?pad=");
    memset(url + n, 'a', 6000);
    snprintf(url + n + 6000, sizeof url - (size_t)n - 6000, "&v=1");
    httpc_opts o = {.idempotency_key = "k-longq"};
    httpc_resp a, b;
    assert_int_equal(httpc_request("POST", url, "{}", 2, &o, &a), 0);
    assert_int_equal(a.status, 201);
    url[strlen(url) - 1] = '2';
    assert_int_equal(httpc_request("POST", url, "{}", 2, &o, &b), 0);
    expect_problem(&b, 422, "IdempotencyKeyReused", NULL);
    httpc_resp_free(&a);
    httpc_resp_free(&b);
}

static void malformed_key_is_400_and_the_handler_does_not_run(void **s)
{
    (void)s;
    atomic_store(&g_runs, 0);
    static char longkey[300];
    memset(longkey, 'k', sizeof longkey - 1);
    const char *bad[] = {"with space", longkey, "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        httpc_resp r;
        post_order(bad[i], "{\"x\":1}", &r);
        expect_problem(&r, 400, "ValidationFailed", NULL);
        httpc_resp_free(&r);
    }
    assert_int_equal(atomic_load(&g_runs), 0);
}

static void same_key_different_body_is_422(void **s)
{
    (void)s;
    httpc_resp a, b;
    post_order("k-reuse", "{\"x\":1}", &a);
    post_order("k-reuse", "{\"x\":2}", &b);
    assert_int_equal(a.status, 201);
    expect_problem(&b, 422, "IdempotencyKeyReused", NULL);
    httpc_resp_free(&a);
    httpc_resp_free(&b);
}

static void *post_in_thread(void *arg)
{
    httpc_resp *r = arg;
    post_order("k-inflight", "{\"x\":1}", r);
    return NULL;
}

static void same_key_while_in_flight_is_409(void **s)
{
    (void)s;
    atomic_store(&g_runs, 0);
    atomic_store(&g_block, 1);
    pthread_t t;
    httpc_resp first, second;
    pthread_create(&t, NULL, post_in_thread, &first);
    sem_wait(&g_entered); /* first request is inside the handler */
    atomic_store(&g_block, 0);
    post_order("k-inflight", "{\"x\":1}", &second);
    expect_problem(&second, 409, "IdempotencyInFlight", NULL);
    sem_post(&g_release);
    pthread_join(t, NULL);
    assert_int_equal(first.status, 201);
    assert_int_equal(atomic_load(&g_runs), 1);
    httpc_resp_free(&first);
    httpc_resp_free(&second);
}

static void failed_5xx_request_can_be_retried(void **s)
{
    (void)s;
    atomic_store(&g_runs, 0);
    httpc_resp a, b;
    post_order("k-fail", "{\"fail\":true}", &a);
    post_order("k-fail", "{\"fail\":true}", &b);
    assert_int_equal(a.status, 500);
    assert_int_equal(b.status, 500);
    assert_int_equal(atomic_load(&g_runs), 2); /* the second ran again instead of 409/replay */
    httpc_resp_free(&a);
    httpc_resp_free(&b);
}

#define NCONC 16
static atomic_int g_go;
static void *concurrent_post(void *arg)
{
    httpc_resp *r = arg;
    while (!atomic_load(&g_go)) {
    }
    httpc_opts o = {.idempotency_key = "k-concurrent"};
    char url[128];
    snprintf(url, sizeof url, BASE "/api/orders");
    if (httpc_request("POST", url, "{\"x\":9}", 7, &o, r))
        r->status = -1;
    return NULL;
}

static void concurrent_same_key_executes_once(void **s)
{
    (void)s;
    atomic_store(&g_runs, 0);
    pthread_t t[NCONC];
    httpc_resp r[NCONC];
    for (int i = 0; i < NCONC; i++)
        pthread_create(&t[i], NULL, concurrent_post, &r[i]);
    atomic_store(&g_go, 1);
    int created = 0, inflight = 0;
    for (int i = 0; i < NCONC; i++) {
        pthread_join(t[i], NULL);
        if (r[i].status == 201)
            created++;
        else if (r[i].status == 409)
            inflight++;
        httpc_resp_free(&r[i]);
    }
    assert_int_equal(atomic_load(&g_runs), 1);
    assert_int_equal(created + inflight, NCONC);
    assert_true(created >= 1);
}

#define LOAD_THREADS 32
#define LOAD_REQS    40
static void *load_worker(void *arg)
{
    atomic_int *ok = arg;
    for (int i = 0; i < LOAD_REQS; i++) {
        httpc_resp r;
        char url[128];
        snprintf(url, sizeof url, BASE "/api/things/%d?limit=%d", i + 1, i % 100 + 1);
        if (httpc_request("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200) {
            json_t *j = httpc_resp_json(&r);
            if (json_integer_value(json_object_get(j, "id")) == i + 1)
                atomic_fetch_add(ok, 1);
            json_decref(j);
        }
        httpc_resp_free(&r);
    }
    return NULL;
}

static void many_concurrent_keepalive_clients_all_answered(void **s)
{
    (void)s;
    atomic_int ok = 0;
    pthread_t t[LOAD_THREADS];
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_create(&t[i], NULL, load_worker, &ok);
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&ok), LOAD_THREADS * LOAD_REQS);
}

static atomic_int g_small_done;
static void *get_slow_on(void *arg)
{
    httpc_resp *r = arg;
    httpc_opts o = {.timeout_ms = 30000};
    if (httpc_request("GET", "http://127.0.0.1:26012/slow", NULL, 0, &o, r))
        r->status = -1;
    atomic_fetch_add(&g_small_done, 1);
    return NULL;
}

static void full_queue_sheds_load_with_503(void **s)
{
    (void)s;
    http_server *small;
    http_server_config c = {.port = 26012, .threads = 1, .max_queue = 1};
    assert_int_equal(http_server_new(&c, &small), 0);
    assert_int_equal(http_route(small, "GET", "/slow", h_slow, NULL), 0);
    assert_int_equal(http_server_start(small), 0);
    atomic_store(&g_block, 1);
    pthread_t ta, tb, tc;
    httpc_resp a, b, c3;
    pthread_create(&ta, NULL, get_slow_on, &a);
    sem_wait(&g_entered); /* the only worker is busy */
    atomic_store(&g_block, 0);
    /* two more: one fills the queue, the other finds it full and is answered at once */
    pthread_create(&tb, NULL, get_slow_on, &b);
    pthread_create(&tc, NULL, get_slow_on, &c3);
    while (atomic_load(&g_small_done) < 1)
        usleep(1000);
    sem_post(&g_release);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tc, NULL);
    assert_int_equal(a.status, 200);
    assert_true((b.status == 200 && c3.status == 503) || (b.status == 503 && c3.status == 200));
    httpc_resp_free(&a);
    httpc_resp_free(&b);
    httpc_resp_free(&c3);
    http_server_free(small);
}

/* ---- connection limits (ports 26013-26015) ---- */

static void h_alive(http_req *req, void *ctx)
{
    (void)ctx;
    http_respond_json(req, 200, json_pack("{s:s}", "status", "UP"));
}

typedef struct get_arg {
    const char *url;
    httpc_resp r;
} get_arg;

static void *get_in_thread(void *arg)
{
    get_arg *a = arg;
    httpc_opts o = {.timeout_ms = 30000};
    if (httpc_request("GET", a->url, NULL, 0, &o, &a->r))
        a->r.status = -1;
    return NULL;
}

static void get_url(const char *url, httpc_resp *r)
{
    httpc_opts o = {.timeout_ms = 10000};
    assert_int_equal(httpc_request("GET", url, NULL, 0, &o, r), 0);
}

/* Blocks `n` requests to url in handlers (g_block); returns with them inside. */
static void block_requests(pthread_t *t, get_arg *a, int n, const char *url)
{
    atomic_store(&g_block, 1);
    for (int i = 0; i < n; i++) {
        a[i].url = url;
        pthread_create(&t[i], NULL, get_in_thread, &a[i]);
        sem_wait(&g_entered);
    }
    atomic_store(&g_block, 0);
}

static void release_requests(pthread_t *t, get_arg *a, int n)
{
    for (int i = 0; i < n; i++)
        sem_post(&g_release);
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].r.status, 200);
        httpc_resp_free(&a[i].r);
    }
}

static void inline_route_answers_while_every_worker_is_busy(void **s)
{
    (void)s;
    http_server *small;
    http_server_config c = {.port = 26013, .threads = 1, .max_queue = 1};
    assert_int_equal(http_server_new(&c, &small), 0);
    assert_int_equal(http_route(small, "GET", "/slow", h_slow, NULL), 0);
    assert_int_equal(http_route(small, "GET", "/alive", h_alive, NULL), 0);
    assert_int_equal(http_route(small, "GET", "/other", h_alive, NULL), 0);
    assert_int_equal(http_route_inline(small, "GET", "/alive"), 0);
    assert_int_equal(http_route_inline(small, "GET", "/nope"), CM_ERR_INVALID);
    assert_int_equal(http_server_start(small), 0);
    pthread_t t[1];
    get_arg a[1] = {0};
    block_requests(t, a, 1, "http://127.0.0.1:26013/slow");
    httpc_resp r, q;
    /* one request waits in the queue: the next ordinary one is shed, the inline one answers */
    get_arg queued = {.url = "http://127.0.0.1:26013/other"};
    pthread_t tq;
    pthread_create(&tq, NULL, get_in_thread, &queued);
    for (int i = 0; i < 200 && http_server_inflight(small) < 2; i++)
        usleep(5000);
    get_url("http://127.0.0.1:26013/other", &q);
    assert_int_equal(q.status, 503);
    get_url("http://127.0.0.1:26013/alive", &r);
    assert_int_equal(r.status, 200);
    httpc_resp_free(&q);
    httpc_resp_free(&r);
    release_requests(t, a, 1);
    pthread_join(tq, NULL);
    assert_int_equal(queued.r.status, 200);
    httpc_resp_free(&queued.r);
    http_server_free(small);
}

static void newcomer_gets_503_at_once_when_every_connection_is_busy(void **s)
{
    (void)s;
    http_server *small;
    http_server_config c = {.port = 26014, .threads = 2, .max_connections = 2};
    assert_int_equal(http_server_new(&c, &small), 0);
    assert_int_equal(http_route(small, "GET", "/slow", h_slow, NULL), 0);
    assert_int_equal(http_server_start(small), 0);
    pthread_t t[2];
    get_arg a[2] = {0};
    block_requests(t, a, 2, "http://127.0.0.1:26014/slow");
    httpc_resp r;
    get_url("http://127.0.0.1:26014/slow", &r);
    expect_problem(&r, 503, HTTP_CODE_UNAVAILABLE, "too many connections, retry later");
    httpc_resp_free(&r);
    release_requests(t, a, 2);
    /* room again */
    get_url("http://127.0.0.1:26014/slow", &r);
    assert_int_equal(r.status, 200);
    httpc_resp_free(&r);
    http_server_free(small);
}

static void request_that_waited_past_its_deadline_is_503_without_running(void **s)
{
    (void)s;
    http_server *small;
    http_server_config c = {.port = 26015, .threads = 1, .request_timeout_ms = 300};
    assert_int_equal(http_server_new(&c, &small), 0);
    assert_int_equal(http_route(small, "GET", "/slow", h_slow, NULL), 0);
    assert_int_equal(http_route(small, "GET", "/count", h_get_thing, NULL), 0);
    assert_int_equal(http_server_start(small), 0);
    pthread_t t[1];
    get_arg a[1] = {0};
    block_requests(t, a, 1, "http://127.0.0.1:26015/slow");
    get_arg late = {.url = "http://127.0.0.1:26015/slow"};
    pthread_t tl;
    pthread_create(&tl, NULL, get_in_thread, &late);
    usleep(600 * 1000); /* it waits behind the blocked worker past its 300 ms deadline */
    sem_post(&g_release);
    pthread_join(t[0], NULL);
    assert_int_equal(a[0].r.status, 200);
    httpc_resp_free(&a[0].r);
    pthread_join(tl, NULL);
    expect_problem(&late.r, 503, HTTP_CODE_UNAVAILABLE,
                   "server busy: the request waited too long, retry later");
    httpc_resp_free(&late.r);
    http_server_free(small);
}

/* ---- drain (last: stops the server) ---- */

static void *slow_in_thread(void *arg)
{
    httpc_resp *r = arg;
    httpc_opts o = {.timeout_ms = 30000};
    if (httpc_request("GET", BASE "/slow", NULL, 0, &o, r))
        r->status = -1;
    return NULL;
}
static void *stop_in_thread(void *arg)
{
    (void)arg;
    http_server_stop(g_srv, 30000);
    return NULL;
}

static void stop_drains_in_flight_request(void **s)
{
    (void)s;
    atomic_store(&g_block, 1);
    pthread_t tc, ts;
    httpc_resp r;
    pthread_create(&tc, NULL, slow_in_thread, &r);
    sem_wait(&g_entered);
    atomic_store(&g_block, 0);
    pthread_create(&ts, NULL, stop_in_thread, NULL);
    usleep(100000); /* let stop begin quiescing; the assertion does not depend on it */
    assert_int_equal(http_server_inflight(g_srv), 1);
    sem_post(&g_release);
    pthread_join(tc, NULL);
    pthread_join(ts, NULL);
    assert_int_equal(r.status, 200);
    httpc_resp_free(&r);
    assert_int_equal(http_server_inflight(g_srv), 0);
    /* no longer accepting */
    assert_int_equal(httpc_request("GET", BASE "/api/things/1", NULL, 0, NULL, &r), CM_ERR_IO);
    httpc_resp_free(&r);
}

int main(void)
{
    stack_secrets_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(second_server_on_same_port_fails_to_start),
        cmocka_unit_test(unknown_route_is_404_problem),
        cmocka_unit_test(wrong_method_is_405_with_allow),
        cmocka_unit_test(path_and_query_params),
        cmocka_unit_test(json_body_validated_with_clear_detail),
        cmocka_unit_test(non_json_body_is_415),
        cmocka_unit_test(oversize_bodies_are_413),
        cmocka_unit_test(chunked_oversize_body_is_413),
        cmocka_unit_test(request_id_is_echoed_or_generated),
        cmocka_unit_test(handler_without_answer_is_500),
        cmocka_unit_test(metrics_count_requests_by_route_and_status),
        cmocka_unit_test(client_reports_transport_errors),
        cmocka_unit_test(query_string_helper_and_problem_extras),
        cmocka_unit_test(idempotency_store_down_is_503_and_no_key_still_runs),
        cmocka_unit_test(same_key_same_request_replays_answer),
        cmocka_unit_test(same_key_different_body_is_422),
        cmocka_unit_test(malformed_key_is_400_and_the_handler_does_not_run),
        cmocka_unit_test(replay_carries_the_headers_the_handler_set),
        cmocka_unit_test(repository_errors_map_to_404_503_and_500),
        cmocka_unit_test(busy_429_is_not_recorded),
        cmocka_unit_test(long_queries_differing_at_the_end_are_different_requests),
        cmocka_unit_test(same_key_while_in_flight_is_409),
        cmocka_unit_test(record_is_one_string_expiring_in_120_s_while_in_flight),
        cmocka_unit_test(record_of_the_hash_layout_is_still_replayed),
        cmocka_unit_test(answer_is_recorded_after_redis_forgets_the_script),
        cmocka_unit_test(failed_5xx_request_can_be_retried),
        cmocka_unit_test(inline_route_answers_while_every_worker_is_busy),
        cmocka_unit_test(newcomer_gets_503_at_once_when_every_connection_is_busy),
        cmocka_unit_test(request_that_waited_past_its_deadline_is_503_without_running),
        cmocka_unit_test(concurrent_same_key_executes_once),
        cmocka_unit_test(many_concurrent_keepalive_clients_all_answered),
        cmocka_unit_test(full_queue_sheds_load_with_503),
        cmocka_unit_test(stop_drains_in_flight_request),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
