/* common_unit_http1.c — common's own HTTP/1.1 client: the response parser on its own (framing by
 * length, chunks and close; interim answers; what it refuses), and httpc_request against a
 * scripted peer on a loopback socket of this process (the request bytes it writes, keep-alive
 * reuse, a kept connection the peer closed, no repeat on a new one, timeouts, header checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cm_error.h"
#include "cm_httpc.h"
#include "http1_resp.h"

/* ---- parser -------------------------------------------------------------------------------- */

/* Parses s whole, then again one byte at a time; both must agree. Returns the result code. */
static int parse(const char *s, bool head_req, size_t max, h1_resp *out)
{
    size_t n = strlen(s), used = 0;
    h1_resp_init(out, head_req, max);
    int rc = h1_resp_feed(out, s, n, &used);
    if (rc == H1_MORE)
        rc = h1_resp_eof(out) == H1_DONE ? H1_DONE : H1_MORE;
    h1_resp b;
    h1_resp_init(&b, head_req, max);
    int rb = H1_MORE;
    for (size_t i = 0; i < n && rb == H1_MORE; i++)
        rb = h1_resp_feed(&b, s + i, 1, NULL);
    if (rb == H1_MORE)
        rb = h1_resp_eof(&b) == H1_DONE ? H1_DONE : H1_MORE;
    assert_int_equal(rb, rc);
    if (rc == H1_DONE) {
        assert_int_equal(b.status, out->status);
        assert_int_equal(b.body_len, out->body_len);
        if (b.body_len)
            assert_memory_equal(b.body, out->body, b.body_len);
    }
    h1_resp_free(&b);
    return rc;
}

static void test_length_body(void **st)
{
    (void)st;
    h1_resp r;
    size_t used = 0;
    const char *s = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                    "Content-Length: 7\r\n\r\n{\"a\":1}HTTP/1.1 200";
    h1_resp_init(&r, false, 1024);
    assert_int_equal(h1_resp_feed(&r, s, strlen(s), &used), H1_DONE);
    assert_int_equal(used, strlen(s) - strlen("HTTP/1.1 200")); /* the rest is not this answer */
    assert_int_equal(r.status, 201);
    assert_true(r.keep_alive);
    assert_string_equal(r.body, "{\"a\":1}");
    assert_non_null(strstr(r.head, "Content-Type: application/json\r\n"));
    h1_resp_free(&r);
}

static void test_chunked(void **st)
{
    (void)st;
    h1_resp r;
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
                           "4;ext=1\r\nWiki\r\n5 \r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
                           "0\r\nX-Trailer: 1\r\n\r\n",
                           false, 1024, &r),
                     H1_DONE);
    assert_string_equal(r.body, "Wikipedia in\r\n\r\nchunks.");
    assert_true(r.keep_alive);
    h1_resp_free(&r);
    /* bare LF line ends are read too */
    assert_int_equal(
        parse("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", false, 1024, &r),
        H1_DONE);
    assert_string_equal(r.body, "abc");
    h1_resp_free(&r);
}

static void test_interim_and_no_body(void **st)
{
    (void)st;
    h1_resp r;
    assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
                           "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
                           false, 1024, &r),
                     H1_DONE);
    assert_int_equal(r.status, 204);
    assert_null(r.body);
    assert_null(strstr(r.head, "Link")); /* the kept block is the final answer's */
    assert_non_null(strstr(r.head, "X-A: 1"));
    h1_resp_free(&r);
    /* HEAD: a Content-Length describes a body that is not sent */
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", true, 1024, &r),
                     H1_DONE);
    assert_int_equal(r.body_len, 0);
    h1_resp_free(&r);
}

static void test_until_close(void **st)
{
    (void)st;
    h1_resp r;
    assert_int_equal(parse("HTTP/1.1 200 OK\r\n\r\nall of it", false, 1024, &r), H1_DONE);
    assert_string_equal(r.body, "all of it");
    assert_false(r.keep_alive);
    h1_resp_free(&r);
    assert_int_equal(parse("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 1024, &r),
                     H1_DONE);
    assert_false(r.keep_alive); /* 1.0 without keep-alive */
    h1_resp_free(&r);
    assert_int_equal(
        parse("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
              false, 1024, &r),
        H1_DONE);
    assert_false(r.keep_alive);
    h1_resp_free(&r);
    /* cut short: a length or a chunk not complete at the close is an error */
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", false, 1024, &r),
                     H1_MORE);
    h1_resp_free(&r);
    assert_int_equal(
        parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", false, 1024, &r),
        H1_MORE);
    h1_resp_free(&r);
}

static void test_refused(void **st)
{
    (void)st;
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 600 What\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx",
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\x01z\r\nContent-Length: 0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h1_resp r;
        int rc = parse(bad[i], false, 1024, &r);
        if (rc != H1_BAD && rc != H1_MORE)
            fail_msg("answer %zu: %d", i, rc);
        assert_int_not_equal(rc, H1_DONE);
        h1_resp_free(&r);
    }
}

static void test_limits(void **st)
{
    (void)st;
    h1_resp r;
    assert_int_equal(
        parse("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789a", false, 10, &r),
        H1_TOO_BIG);
    h1_resp_free(&r);
    assert_int_equal(
        parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false, 10, &r),
        H1_TOO_BIG);
    h1_resp_free(&r);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "6\r\n012345\r\n5\r\n6789a\r\n0\r\n\r\n",
                           false, 10, &r),
                     H1_TOO_BIG);
    h1_resp_free(&r);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "fffffffffffffffffffffff\r\n",
                           false, 10, &r),
                     H1_TOO_BIG);
    h1_resp_free(&r);
    size_t big = H1_HEAD_MAX + 100;
    char *s = malloc(big + 64);
    assert_non_null(s);
    int n = snprintf(s, 64, "HTTP/1.1 200 OK\r\nX: ");
    memset(s + n, 'a', big);
    strcpy(s + n + big, "\r\n\r\n");
    h1_resp_init(&r, false, 10);
    assert_int_equal(h1_resp_feed(&r, s, strlen(s), NULL), H1_TOO_BIG);
    h1_resp_free(&r);
    free(s);
}

/* ---- scripted peer ------------------------------------------------------------------------- */

enum { KEEP, CLOSE_AFTER, CLOSE_SILENT, HANG };

typedef struct answer {
    const char *bytes;
    int then;
} answer;

typedef struct peer {
    int lfd, port;
    pthread_t th;
    const answer *script;
    size_t n, next;
    atomic_int accepts;
    atomic_bool stop;
    char last[8192]; /* the last request's bytes */
    size_t last_len;
} peer;

/* Reads one request (head and Content-Length body), then copies it to p->last (the test reads
 * it between its calls); 0, or -1 when the connection closed. */
static int read_request(peer *p, int fd)
{
    char buf[sizeof p->last];
    size_t len = 0;
    for (;;) {
        char *end = NULL;
        if (len) {
            buf[len] = '\0';
            end = strstr(buf, "\r\n\r\n");
        }
        if (end) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
            if (len >= want) {
                memcpy(p->last, buf, len + 1);
                p->last_len = len;
                return 0;
            }
        }
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 100) == 0) {
            if (atomic_load(&p->stop))
                return -1;
            continue;
        }
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
}

static void *peer_main(void *arg)
{
    peer *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = {.fd = p->lfd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int fd = accept(p->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&p->accepts, 1);
        while (read_request(p, fd) == 0 && p->next < p->n) {
            const answer *a = &p->script[p->next++];
            if (a->then == CLOSE_SILENT)
                break;
            if (a->then == HANG) {
                while (!atomic_load(&p->stop) && read_request(p, fd) == 0) {
                }
                break;
            }
            ssize_t w = send(fd, a->bytes, strlen(a->bytes), MSG_NOSIGNAL);
            (void)w;
            if (a->then == CLOSE_AFTER)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void peer_start(peer *p, const answer *script, size_t n)
{
    memset(p, 0, sizeof *p);
    p->script = script;
    p->n = n;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(p->lfd, 8), 0);
    socklen_t al = sizeof a;
    getsockname(p->lfd, (struct sockaddr *)&a, &al);
    p->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&p->th, NULL, peer_main, p), 0);
}

static void peer_stop(peer *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->th, NULL);
    close(p->lfd);
}

static int call(peer *p, const char *method, const char *path, const char *body,
                const httpc_opts *o, httpc_resp *r)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p->port, path);
    return httpc_request(method, url, body, body ? strlen(body) : 0, o, r);
}

#define OK_A "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n[\"a\"]"
#define OK_B "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n[\"b\"]"

static void test_request_bytes_and_reuse(void **st)
{
    (void)st;
    static const answer script[] = {{OK_A, KEEP}, {OK_B, KEEP}, {OK_A, KEEP}};
    peer p;
    peer_start(&p, script, 3);
    httpc_opts o = {.idempotency_key = "k-1", .bearer_token = "tok.en", .request_id = "rid-9"};
    httpc_resp r;
    assert_int_equal(call(&p, "POST", "/api/x?y=1", "{\"n\":1}", &o, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "[\"a\"]");
    assert_string_equal(r.content_type, "application/json");
    p.last[p.last_len] = '\0';
    char want[128];
    snprintf(want, sizeof want, "POST /api/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", p.port);
    assert_true(!strncmp(p.last, want, strlen(want)));
    assert_non_null(strstr(p.last, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(p.last, "\r\nContent-Length: 7\r\n"));
    assert_non_null(strstr(p.last, "\r\nIdempotency-Key: k-1\r\n"));
    assert_non_null(strstr(p.last, "\r\nAuthorization: Bearer tok.en\r\n"));
    assert_non_null(strstr(p.last, "\r\nX-Request-Id: rid-9\r\n"));
    assert_non_null(strstr(p.last, "\r\n\r\n{\"n\":1}"));
    httpc_resp_free(&r);
    /* a POST without a body says so with a length of 0; a GET sends none */
    assert_int_equal(call(&p, "POST", "", NULL, NULL, &r), 0);
    p.last[p.last_len] = '\0';
    assert_true(!strncmp(p.last, "POST / HTTP/1.1\r\n", 17));
    assert_non_null(strstr(p.last, "\r\nContent-Length: 0\r\n"));
    httpc_resp_free(&r);
    assert_int_equal(call(&p, "GET", "/g", NULL, NULL, &r), 0);
    p.last[p.last_len] = '\0';
    assert_null(strstr(p.last, "Content-Length"));
    httpc_resp_free(&r);
    assert_int_equal(atomic_load(&p.accepts), 1); /* one connection carried all three */
    peer_stop(&p);
}

static void test_closed_keep_alive_is_redialled(void **st)
{
    (void)st;
    /* the second request meets a kept connection the peer then closes without answering:
     * it is made again, once, on a new connection */
    static const answer script[] = {{OK_A, KEEP}, {"", CLOSE_SILENT}, {OK_B, KEEP}};
    peer p;
    peer_start(&p, script, 3);
    httpc_resp r;
    assert_int_equal(call(&p, "GET", "/1", NULL, NULL, &r), 0);
    httpc_resp_free(&r);
    assert_int_equal(call(&p, "GET", "/2", NULL, NULL, &r), 0);
    assert_string_equal(r.body, "[\"b\"]");
    httpc_resp_free(&r);
    assert_int_equal(atomic_load(&p.accepts), 2);
    peer_stop(&p);
    /* Connection: close is honoured: the next request dials anew */
    static const answer s2[] = {
        {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", KEEP}, {OK_B, KEEP}};
    peer_start(&p, s2, 2);
    assert_int_equal(call(&p, "GET", "/1", NULL, NULL, &r), 0);
    httpc_resp_free(&r);
    assert_int_equal(call(&p, "GET", "/2", NULL, NULL, &r), 0);
    httpc_resp_free(&r);
    assert_int_equal(atomic_load(&p.accepts), 2);
    peer_stop(&p);
}

static void test_fresh_connection_not_repeated(void **st)
{
    (void)st;
    /* on a new connection, a close without an answer is reported, not repeated: the request
     * reached the peer (sent = 1), which may have acted on it */
    static const answer script[] = {{"", CLOSE_SILENT}, {OK_B, KEEP}};
    peer p;
    peer_start(&p, script, 2);
    httpc_resp r;
    assert_int_equal(call(&p, "POST", "/once", "{}", NULL, &r), CM_ERR_IO);
    assert_int_equal(r.sent, 1);
    assert_non_null(strstr(r.error, "Empty reply"));
    httpc_resp_free(&r);
    assert_int_equal(atomic_load(&p.accepts), 1);
    peer_stop(&p);
}

static void test_malformed_and_timeout(void **st)
{
    (void)st;
    static const answer script[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", KEEP},
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", CLOSE_AFTER},
        {"", HANG}};
    peer p;
    peer_start(&p, script, 3);
    httpc_resp r;
    assert_int_equal(call(&p, "GET", "/m", NULL, NULL, &r), CM_ERR_IO);
    assert_int_equal(r.sent, 1);
    httpc_resp_free(&r);
    assert_int_equal(call(&p, "GET", "/short", NULL, NULL, &r), CM_ERR_IO);
    assert_non_null(strstr(r.error, "incomplete"));
    httpc_resp_free(&r);
    httpc_opts o = {.timeout_ms = 300};
    assert_int_equal(call(&p, "GET", "/hang", NULL, &o, &r), CM_ERR_TIMEOUT);
    assert_int_equal(r.sent, 1);
    httpc_resp_free(&r);
    assert_int_equal(atomic_load(&p.accepts), 3); /* a broken connection is never kept */
    peer_stop(&p);
}

static void test_host_name_resolved(void **st)
{
    (void)st;
    /* a name: every address it resolves to is tried (localhost may give ::1 first, where the
     * peer does not listen) and the Host header carries the name as written */
    static const answer script[] = {{OK_A, KEEP}};
    peer p;
    peer_start(&p, script, 1);
    char url[64];
    snprintf(url, sizeof url, "http://localhost:%d/n", p.port);
    httpc_resp r;
    assert_int_equal(httpc_request("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    char want[64];
    snprintf(want, sizeof want, "\r\nHost: localhost:%d\r\n", p.port);
    assert_non_null(strstr(p.last, want));
    httpc_resp_free(&r);
    peer_stop(&p);
}

static void test_checked_before_sending(void **st)
{
    (void)st;
    peer p;
    peer_start(&p, NULL, 0);
    httpc_resp r;
    httpc_opts o = {.idempotency_key = "k\r\nX-Evil: 1"};
    assert_int_equal(call(&p, "POST", "/x", "{}", &o, &r), CM_ERR_INVALID);
    httpc_resp_free(&r);
    httpc_opts o2 = {.bearer_token = "a b"};
    assert_int_equal(call(&p, "GET", "/x", NULL, &o2, &r), CM_ERR_INVALID);
    httpc_resp_free(&r);
    assert_int_equal(call(&p, "GE T", "/x", NULL, NULL, &r), CM_ERR_INVALID);
    httpc_resp_free(&r);
    usleep(100 * 1000);
    assert_int_equal(atomic_load(&p.accepts), 0);
    peer_stop(&p);
    /* refused: nothing sent, so a replica may be tried even for a POST */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", p.port);
    assert_int_equal(httpc_request("POST", url, "{}", 2, NULL, &r), CM_ERR_IO);
    assert_int_equal(r.sent, 0);
    assert_non_null(strstr(r.error, "Connection refused"));
    httpc_resp_free(&r);
}

int main(void)
{
    httpc_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length_body),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_interim_and_no_body),
        cmocka_unit_test(test_until_close),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_request_bytes_and_reuse),
        cmocka_unit_test(test_closed_keep_alive_is_redialled),
        cmocka_unit_test(test_fresh_connection_not_repeated),
        cmocka_unit_test(test_malformed_and_timeout),
        cmocka_unit_test(test_host_name_resolved),
        cmocka_unit_test(test_checked_before_sending),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    httpc_global_cleanup();
    return rc;
}
