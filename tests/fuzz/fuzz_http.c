/* fuzz_http.c - the HTTP request path as a client reaches it: the input is sent as raw bytes
 * on a real connection to an in-process server (libmicrohttpd parsing, the connection guard,
 * routing, headers, query strings, Idempotency-Key, JSON bodies) carrying the real routes of
 * service-order, service-inventory and service-payment (their MySQL and Redis are unreachable,
 * so a valid request ends in a 503) and a route that reads every request accessor. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cm_auth.h"
#include "cm_db.h"
#include "cm_http.h"
#include "cm_idem.h"
#include "cm_log.h"
#include "cm_redis.h"
#include "gateway.h"
#include "inventory.h"
#include "order.h"
#include "payment.h"
#include "../../service-inventory/routes.h"
#include "../../service-order/routes.h"
#include "../../service-payment/routes.h"

#define FUZZ_MAX_REQUEST   (64 * 1024)
#define FUZZ_FIRST_BYTE_MS 50   /* a complete request is answered within this */
#define FUZZ_IO_MS         2000 /* gap allowed inside an answer */

static int g_port;

/* The seeds carry these (Authorization: Bearer ...), so a mutated request reaches the
 * handlers behind the token check as often as it is refused by it. */
#define FUZZ_SERVICE_TOKEN "fuzz-service-token-0123456789"
#define FUZZ_ADMIN_TOKEN   "fuzz-admin-token-0123456789"

static const json_field k_all[] = {
    {"n", JF_INT, false, -5, 5},       {"p", JF_POS_INT, false, 0, 100},
    {"s", JF_STRING, false, 0, 8},     {"b", JF_BOOL, false, 0, 0},
    {"x", JF_NUMBER, false, 0, 0},     {"o", JF_OBJECT, false, 0, 0},
    {"a", JF_ARRAY, false, 0, 0},      {"any", JF_ANY, false, 0, 0},
    {"req", JF_STRING, true, 1, 1024}, {NULL, 0, false, 0, 0},
};

/* Reads every accessor a handler may use, then answers with what it found. */
static void h_echo(http_req *req, void *ctx)
{
    (void)ctx;
    int64_t id = 0, q = 0;
    const char *s = NULL;
    if (http_req_param_id(req, "id", &id) ||
        http_req_query_int(req, "q", false, 0, -100, 100, &q) ||
        http_req_query_str(req, "s", false, 64, &s))
        return;
    json_t *o = json_pack("{s:I, s:I, s:s?, s:s?, s:s?, s:s}", "id", (json_int_t)id, "q",
                          (json_int_t)q, "s", s, "key", http_req_idempotency_key(req), "ua",
                          http_req_header(req, "User-Agent"), "rid", http_req_id(req));
    size_t len = 0;
    http_req_body(req, &len);
    if (len > 0) {
        json_t *body = NULL;
        if (http_req_json(req, k_all, JSON_V_REJECT_UNKNOWN, &body)) {
            json_decref(o);
            return;
        }
        json_decref(body);
    }
    http_req_set_saga_id(req, http_req_path(req));
    http_resp_header(req, "X-Route", http_req_route(req));
    http_respond_json(req, 200, o);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
        getsockname(fd, (struct sockaddr *)&a, &len))
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz-http", CM_LOG_ERROR);
    log_set_rate_limit(1, 60000);
    static db_pool *db;
    static rds_pool *rds;
    static fake_pg_t pg;
    db_config dc = {.host = "127.0.0.1", .port = 1, .user = "x", .password = "x", .pool_size = 2};
    if (db_pool_new(&dc, &db) || rds_pool_new("127.0.0.1", 1, 2, 50, &rds))
        abort();
    fpg_init(&pg, 1000000, 0, 0.0, NULL);
    static auth *au;
    char why[256];
    if (auth_new(FUZZ_SERVICE_TOKEN, FUZZ_ADMIN_TOKEN, false, AUTH_SERVICE | AUTH_ADMIN, why,
                 sizeof why, &au))
        abort();
    static order_routes_t orders;
    static inv_routes_t inv;
    static pay_routes_t pay;
    orders = (order_routes_t){.db = db, .rds = rds, .auth = au, .service = "fuzz-order"};
    inv = (inv_routes_t){.db = db, .rds = rds, .auth = au, .service = "fuzz-inventory"};
    pay = (pay_routes_t){.db = db,
                         .rds = rds,
                         .auth = au,
                         .pg = &pg,
                         .service = "fuzz-payment",
                         .pg_concurrency = 1,
                         .pg_lease_ms = 1000};
    g_port = free_port();
    /* A short header deadline closes the connections libmicrohttpd leaves open after a
     * malformed request and a half-close, so such an input costs 300 ms, not a timeout. */
    http_server_config c = {.port = g_port,
                            .threads = 2,
                            .max_body = 4096,
                            .header_timeout_ms = 300,
                            .body_timeout_ms = 300};
    static http_server *srv;
    if (http_server_new(&c, &srv) || order_routes_register(srv, &orders) ||
        inv_routes_register(srv, &inv) || pay_routes_register(srv, &pay) ||
        http_route(srv, "GET", "/echo/{id}", h_echo, NULL) ||
        http_route(srv, "POST", "/echo/{id}", h_echo, NULL) ||
        http_route(srv, "GET", "/health", h_echo, NULL) ||
        http_route_inline(srv, "GET", "/health") || http_server_start(srv))
        abort();
    return 0;
}

/* Waits up to ms for fd to be readable. */
static int readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

/* connect(2) that survives a signal: libFuzzer's timer (SIGALRM) can interrupt it, and the
 * connection then completes in the background. 0 or -1 with errno set. */
static int connect_to(int fd, const struct sockaddr_in *a)
{
    if (connect(fd, (const struct sockaddr *)a, sizeof *a) == 0)
        return 0;
    if (errno != EINTR)
        return -1;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof err;
    for (int i = 0; i < 100 && poll(&p, 1, FUZZ_IO_MS) < 0 && errno == EINTR; i++) {
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        errno = err ? err : errno;
        return -1;
    }
    return 0;
}

/* True once buf holds a whole answer: its header and Content-Length bytes of body. */
static int answer_complete(const char *buf, size_t n)
{
    const char *end = memmem(buf, n, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end - buf) + 4;
    const char *cl = memmem(buf, head, "Content-Length: ", 16);
    size_t want = cl != NULL ? strtoul(cl + 16, NULL, 10) : 0;
    return n >= head + want;
}

/* Sends the input, then reads the first answer. libmicrohttpd does not close a connection
 * on a half-close, so the answer's own length ends the read, and silence: an incomplete
 * request gets no answer (the server's header deadline closes it later). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_REQUEST)
        return 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)g_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect_to(fd, &a) != 0) {
        perror("fuzz_http: connect"); /* the server stopped accepting: that is a finding */
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server answered and closed early (413, 400) */
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    static char buf[FUZZ_MAX_REQUEST];
    size_t n = 0;
    while (n < sizeof buf && readable(fd, n == 0 ? FUZZ_FIRST_BYTE_MS : FUZZ_IO_MS)) {
        ssize_t got = recv(fd, buf + n, sizeof buf - n, 0);
        if (got <= 0)
            break;
        n += (size_t)got;
        if (n >= 5 && memcmp(buf, "HTTP/", 5) != 0)
            abort(); /* whatever it answers must be HTTP */
        if (answer_complete(buf, n))
            break;
    }
    close(fd);
    return 0;
}
