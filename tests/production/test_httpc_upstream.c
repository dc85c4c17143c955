/* common's replica-aware HTTP client (httpc_upstream_*): URL-list parsing, and spreading and
 * failover against real HTTP servers made with common's server (ports 28001-28009). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

/* ---- URL lists ------------------------------------------------------------------------------- */

static httpc_upstream *parse_ok(const char *list, size_t n)
{
    httpc_upstream *u = NULL;
    char err[256] = "";
    if (httpc_upstream_new(list, &u, err, sizeof err) != 0)
        fail_msg("'%s' refused: %s", list, err);
    assert_int_equal(httpc_upstream_count(u), n);
    return u;
}

static void parse_bad(const char *list, const char *expect_in_message)
{
    httpc_upstream *u = (httpc_upstream *)1;
    char err[256] = "";
    assert_int_equal(httpc_upstream_new(list, &u, err, sizeof err), CM_ERR_INVALID);
    assert_null(u);
    if (strstr(err, expect_in_message) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", list, err, expect_in_message);
}

static void url_list_entries_are_normalized(void **s)
{
    (void)s;
    httpc_upstream *u = parse_ok("http://127.0.0.1:21082", 1);
    assert_string_equal(httpc_upstream_base(u, 0), "http://127.0.0.1:21082");
    assert_null(httpc_upstream_base(u, 1));
    httpc_upstream_free(u);

    u = parse_ok(" http://127.0.0.1:21082/ ,http://localhost:22082,https://svc-a.example/prefix/",
                 3);
    assert_string_equal(httpc_upstream_base(u, 0), "http://127.0.0.1:21082");
    assert_string_equal(httpc_upstream_base(u, 1), "http://localhost:22082");
    assert_string_equal(httpc_upstream_base(u, 2), "https://svc-a.example/prefix");
    httpc_upstream_free(u);

    u = parse_ok("http://[::1]:8080,http://service-order", 2);
    assert_string_equal(httpc_upstream_base(u, 0), "http://[::1]:8080");
    assert_string_equal(httpc_upstream_base(u, 1), "http://service-order");
    httpc_upstream_free(u);
}

static void malformed_url_list_names_the_entry(void **s)
{
    (void)s;
    parse_bad("", "entry 1 is empty");
    parse_bad("http://a:1,,http://b:2", "entry 2 is empty");
    parse_bad("http://a:1,", "entry 2 is empty");
    parse_bad("http://a:1,ftp://b:2", "entry 2 'ftp://b:2': not an http:// or https:// URL");
    parse_bad("127.0.0.1:21082", "entry 1 '127.0.0.1:21082': not an http");
    parse_bad("http://", "not an http");
    parse_bad("http://:80", "no host");
    parse_bad("http://a:0", "port not in 1-65535");
    parse_bad("http://a:65536", "port not in 1-65535");
    parse_bad("http://a:1234567", "port not in 1-65535");
    parse_bad("http://a:", "port not in 1-65535");
    parse_bad("http://a:80x", "unexpected character");
    parse_bad("http://a b:80", "unexpected character");
    parse_bad("http://a:80/p?q=1", "path prefix");
    parse_bad("http://[::1:80", "IPv6");

    char big[HTTPC_UPSTREAM_URL_MAX + 32];
    snprintf(big, sizeof big, "http://%0*d", HTTPC_UPSTREAM_URL_MAX, 0);
    parse_bad(big, "longer than");

    char many[(HTTPC_UPSTREAM_MAX + 1) * 20] = "";
    for (int i = 0; i <= HTTPC_UPSTREAM_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%shttp://h:%d", i ? "," : "",
                 1000 + i);
    parse_bad(many, "at most");
}

/* ---- real servers ------------------------------------------------------------------------- */

#define NSERVERS 3
typedef struct backend {
    int port;
    atomic_int status;   /* answer of POST/GET /echo */
    atomic_int delay_ms; /* sleep before answering */
    atomic_int hits;
    http_server *srv;
} backend;

static backend g_b[NSERVERS] = {{.port = 28001}, {.port = 28002}, {.port = 28003}};
#define DEAD_URL "http://127.0.0.1:28009" /* nothing listens there */

static void h_echo(http_req *req, void *ctx)
{
    backend *b = ctx;
    atomic_fetch_add(&b->hits, 1);
    int d = atomic_load(&b->delay_ms);
    if (d > 0) {
        struct timespec ts = {d / 1000, (long)(d % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    int st = atomic_load(&b->status);
    if (st >= 500) {
        http_respond_problem(req, st, HTTP_CODE_UNAVAILABLE, "asked to fail");
        return;
    }
    http_respond_json(req, st, json_pack("{s:i}", "port", b->port));
}

static int setup(void **s)
{
    (void)s;
    assert_int_equal(httpc_global_init(), 0);
    for (int i = 0; i < NSERVERS; i++) {
        http_server_config c = {.port = g_b[i].port, .threads = 2, .service = "upstream-test"};
        assert_int_equal(http_server_new(&c, &g_b[i].srv), 0);
        assert_int_equal(http_route(g_b[i].srv, "GET", "/echo", h_echo, &g_b[i]), 0);
        assert_int_equal(http_route(g_b[i].srv, "POST", "/echo", h_echo, &g_b[i]), 0);
        assert_int_equal(http_server_start(g_b[i].srv), 0);
    }
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    for (int i = 0; i < NSERVERS; i++)
        http_server_free(g_b[i].srv);
    httpc_global_cleanup();
    return 0;
}

static void reset(void)
{
    for (int i = 0; i < NSERVERS; i++) {
        atomic_store(&g_b[i].status, 200);
        atomic_store(&g_b[i].delay_ms, 0);
        atomic_store(&g_b[i].hits, 0);
    }
}

static httpc_upstream *group(const char *list)
{
    httpc_upstream *u = NULL;
    char err[256];
    assert_int_equal(httpc_upstream_new(list, &u, err, sizeof err), 0);
    httpc_upstream_set_cooldown(u, 600000); /* no expiry during a test: no timing in asserts */
    return u;
}

/* One call; returns the HTTP status (0 on a transport error, *rc_out gets the code). */
static long call(httpc_upstream *u, const char *method, const char *key, long timeout_ms,
                 int *rc_out)
{
    httpc_opts o = {.idempotency_key = key, .timeout_ms = timeout_ms};
    httpc_resp r;
    const char *body = strcmp(method, "POST") == 0 ? "{}" : NULL;
    int rc = httpc_upstream_request(u, method, "/echo", body, body ? 2 : 0, &o, &r);
    long st = rc == 0 ? r.status : 0;
    httpc_resp_free(&r);
    if (rc_out)
        *rc_out = rc;
    return st;
}

static void calls_are_spread_over_every_replica(void **s)
{
    (void)s;
    reset();
    httpc_upstream *u = group("http://127.0.0.1:28001,http://127.0.0.1:28002,"
                              "http://127.0.0.1:28003");
    for (int i = 0; i < 300; i++)
        assert_int_equal(call(u, "GET", NULL, 0, NULL), 200);
    /* Random picks: 100 each on average; under 50 is six standard deviations off. */
    for (int i = 0; i < NSERVERS; i++)
        assert_true(atomic_load(&g_b[i].hits) >= 50);
    assert_int_equal(httpc_upstream_failovers(u), 0);
    httpc_upstream_free(u);
}

static void *one_call(void *u)
{
    assert_int_equal(call(u, "GET", NULL, 0, NULL), 200);
    return NULL;
}

/* The first pick of a fresh thread is as random as any: sagas whose calls each come from a
 * new or little-used thread spread too. 64 threads, one after another, one call each, over two
 * replicas: fewer than 12 on one is over six standard deviations off. */
static void first_calls_of_fresh_threads_are_spread(void **s)
{
    (void)s;
    reset();
    httpc_upstream *u = group("http://127.0.0.1:28001,http://127.0.0.1:28002");
    for (int i = 0; i < 64; i++) {
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, one_call, u), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
    }
    for (int i = 0; i < 2; i++)
        assert_true(atomic_load(&g_b[i].hits) >= 12);
    httpc_upstream_free(u);
}

static void refused_replica_is_skipped_even_for_a_post_without_key(void **s)
{
    (void)s;
    reset();
    httpc_upstream *u = group(DEAD_URL ",http://127.0.0.1:28001");
    for (int i = 0; i < 40; i++)
        assert_int_equal(call(u, "POST", NULL, 0, NULL), 200);
    assert_int_equal(atomic_load(&g_b[0].hits), 40);
    long req, fails;
    httpc_upstream_stats(u, 0, &req, &fails);
    /* Tried once (every call picks it first half the time until then); then cooling down, it
     * comes after the live replica, which answers. */
    assert_int_equal(req, 1);
    assert_int_equal(fails, 1);
    assert_int_equal(httpc_upstream_failovers(u), 1);
    httpc_upstream_free(u);
}

static void a_5xx_fails_over_only_when_the_repeat_is_safe(void **s)
{
    (void)s;
    reset();
    atomic_store(&g_b[0].status, 503);
    httpc_upstream *u = group("http://127.0.0.1:28001,http://127.0.0.1:28002");
    for (int i = 0; i < 20; i++) /* with a key: every call ends on the healthy replica */
        assert_int_equal(call(u, "POST", "k-1", 0, NULL), 200);
    assert_int_equal(atomic_load(&g_b[1].hits), 20);
    /* A 5xx does not cool a replica down: it was picked first about half the time. */
    assert_int_equal(httpc_upstream_failovers(u), atomic_load(&g_b[0].hits));
    assert_true(atomic_load(&g_b[0].hits) >= 1);

    reset();
    atomic_store(&g_b[0].status, 503);
    int a503 = 0;
    for (int i = 0; i < 20; i++) /* without a key: a POST is never sent twice */
        a503 += call(u, "POST", NULL, 0, NULL) == 503;
    assert_true(a503 >= 1);
    assert_int_equal(atomic_load(&g_b[0].hits), a503);
    assert_int_equal(atomic_load(&g_b[1].hits), 20 - a503);

    for (int i = 0; i < 10; i++) /* GET is safe to repeat */
        assert_int_equal(call(u, "GET", NULL, 0, NULL), 200);
    httpc_upstream_free(u);
}

static void a_timeout_fails_over_only_when_the_repeat_is_safe(void **s)
{
    (void)s;
    reset();
    atomic_store(&g_b[0].delay_ms, 1500);
    httpc_upstream *u = group("http://127.0.0.1:28001,http://127.0.0.1:28002");
    httpc_upstream_set_cooldown(u, 0); /* keep the slow replica first in turn */
    int rc = 0;
    /* Calls start on a random replica: find one that starts on the slow one. */
    long st;
    do {
        atomic_store(&g_b[1].hits, 0);
        st = call(u, "POST", NULL, 300, &rc);
    } while (st == 200 && atomic_load(&g_b[0].hits) == 0);
    assert_int_equal(rc, CM_ERR_TIMEOUT); /* sent, maybe executed: not repeated */
    assert_int_equal(atomic_load(&g_b[1].hits), 0);
    atomic_store(&g_b[0].hits, 0);
    do { /* with a key the same start ends on the other replica */
        st = call(u, "POST", "k-2", 300, &rc);
    } while (atomic_load(&g_b[0].hits) == 0);
    assert_int_equal(rc, 0);
    assert_int_equal(st, 200);
    assert_true(atomic_load(&g_b[1].hits) >= 1);
    httpc_upstream_free(u);
}

static void a_4xx_is_an_answer_not_a_failure(void **s)
{
    (void)s;
    reset();
    atomic_store(&g_b[0].status, 409);
    atomic_store(&g_b[1].status, 409);
    httpc_upstream *u = group("http://127.0.0.1:28001,http://127.0.0.1:28002");
    for (int i = 0; i < 4; i++)
        assert_int_equal(call(u, "POST", "k-3", 0, NULL), 409);
    assert_int_equal(atomic_load(&g_b[0].hits) + atomic_load(&g_b[1].hits), 4);
    assert_int_equal(httpc_upstream_failovers(u), 0);
    httpc_upstream_free(u);
}

static void all_replicas_down_is_a_transport_error_after_one_try_each(void **s)
{
    (void)s;
    httpc_upstream *u = group(DEAD_URL ",http://127.0.0.1:28008");
    int rc = 0;
    assert_int_equal(call(u, "POST", "k-4", 0, &rc), 0);
    assert_int_equal(rc, CM_ERR_IO);
    long req, fails;
    for (size_t i = 0; i < 2; i++) {
        httpc_upstream_stats(u, i, &req, &fails);
        assert_int_equal(req, 1);
        assert_int_equal(fails, 1);
    }
    /* Both cooling down: still tried (a group never refuses a call by itself). */
    assert_int_equal(call(u, "GET", NULL, 0, &rc), 0);
    assert_int_equal(rc, CM_ERR_IO);
    httpc_upstream_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_list_entries_are_normalized),
        cmocka_unit_test(malformed_url_list_names_the_entry),
        cmocka_unit_test(calls_are_spread_over_every_replica),
        cmocka_unit_test(first_calls_of_fresh_threads_are_spread),
        cmocka_unit_test(refused_replica_is_skipped_even_for_a_post_without_key),
        cmocka_unit_test(a_5xx_fails_over_only_when_the_repeat_is_safe),
        cmocka_unit_test(a_timeout_fails_over_only_when_the_repeat_is_safe),
        cmocka_unit_test(a_4xx_is_an_answer_not_a_failure),
        cmocka_unit_test(all_replicas_down_is_a_transport_error_after_one_try_each),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
