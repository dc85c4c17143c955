/* App bootstrap in a child process: /health, /ready (MySQL + Redis pings), /metrics,
 * SIGTERM -> drain, stop hooks run, exit 0; /ready is 503 when Redis is unreachable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "../support/stack_secrets.h"

static int g_pipe[2];

static void on_stop(void *ctx)
{
    (void)ctx;
    ssize_t w = write(g_pipe[1], "S", 1);
    (void)w;
}

static void h_hello(http_req *req, void *ctx)
{
    (void)ctx;
    http_respond_json(req, 200, json_pack("{s:s}", "hello", "world"));
}

static pid_t spawn(int port, int redis_port)
{
    assert_int_equal(pipe(g_pipe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char p[16], rp[16];
        snprintf(p, sizeof p, "%d", port);
        snprintf(rp, sizeof rp, "%d", redis_port);
        setenv("PORT", p, 1);
        setenv("REDIS_PORT", rp, 1);
        setenv("HTTP_THREADS", "2", 1);
        app *a;
        if (app_new(&a, "common-app-test", 21099, "common_test"))
            _exit(10);
        db_pool *db;
        rds_pool *rds;
        if (app_db(a, &db) || app_redis(a, &rds))
            _exit(11);
        if (http_route(app_server(a), "GET", "/hello", h_hello, NULL))
            _exit(12);
        app_on_stop(a, on_stop, NULL);
        int rc = app_run(a);
        app_free(a);
        _exit(rc);
    }
    close(g_pipe[1]);
    return pid;
}

static long get(int port, const char *path, httpc_resp *r)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    if (httpc_request("GET", url, NULL, 0, NULL, r))
        return -1;
    return r->status;
}

static void wait_healthy(int port)
{
    for (int i = 0; i < 1000; i++) { /* bounded wait for the child to listen */
        httpc_resp r;
        long st = get(port, "/health", &r);
        httpc_resp_free(&r);
        if (st == 200)
            return;
        usleep(10000);
    }
    fail_msg("daemon on port %d never became healthy", port);
}

static void health_ready_metrics_and_clean_sigterm(void **s)
{
    (void)s;
    int port = 26021;
    pid_t pid = spawn(port, (int)cfg_int("REDIS_PORT", 21379, 1, 65535));
    wait_healthy(port);
    httpc_resp r;
    assert_int_equal(get(port, "/hello", &r), 200);
    httpc_resp_free(&r);
    assert_int_equal(get(port, "/ready", &r), 200);
    httpc_resp_free(&r);
    assert_int_equal(get(port, "/metrics", &r), 200);
    assert_non_null(strstr(r.content_type, "text/plain"));
    assert_non_null(
        strstr(r.body, "http_requests_total{method=\"GET\",route=\"/hello\",status=\"200\"} 1"));
    assert_non_null(
        strstr(r.body, "http_request_duration_seconds_count{method=\"GET\",route=\"/hello\""));
    assert_non_null(strstr(r.body, "http_requests_in_flight 1\n")); /* the /metrics request */
    httpc_resp_free(&r);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char c = 0;
    assert_int_equal(read(g_pipe[0], &c, 1), 1); /* stop hook ran */
    assert_int_equal(c, 'S');
    close(g_pipe[0]);
}

static void ready_is_503_when_redis_is_down(void **s)
{
    (void)s;
    int port = 26022;
    pid_t pid = spawn(port, 26074);
    wait_healthy(port);
    httpc_resp r;
    assert_int_equal(get(port, "/ready", &r), 503);
    json_t *j = httpc_resp_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "code")), "Unavailable");
    assert_string_equal(json_string_value(json_object_get(j, "detail")), "redis unreachable");
    json_decref(j);
    httpc_resp_free(&r);
    kill(pid, SIGINT);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(g_pipe[0]);
}

/* Bytes the child wrote into the hook pipe until it closed (one per hook run). */
static int hook_runs(void)
{
    int n = 0;
    char c;
    while (read(g_pipe[0], &c, 1) == 1)
        n++;
    close(g_pipe[0]);
    return n;
}

/* A daemon that fails after registering a hook but before app_run: app_free runs the hook,
 * so its thread is stopped before the pools it uses are freed. */
static void app_free_runs_hooks_app_run_never_ran(void **s)
{
    (void)s;
    assert_int_equal(pipe(g_pipe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        app *a;
        if (app_new(&a, "common-app-test", 26024, "common_test"))
            _exit(10);
        if (app_on_stop(a, on_stop, NULL))
            _exit(11);
        app_free(a);
        _exit(0);
    }
    close(g_pipe[1]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(hook_runs(), 1);
}

static void port_in_use_returns_error_after_stop_hooks(void **s)
{
    (void)s;
    int port = 26023;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    pid_t pid = spawn(port, (int)cfg_int("REDIS_PORT", 21379, 1, 65535));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_int_equal(hook_runs(), 1); /* ran although start failed, and only once */
    close(fd);
}

int main(void)
{
    stack_secrets_load();
    httpc_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_ready_metrics_and_clean_sigterm),
        cmocka_unit_test(ready_is_503_when_redis_is_down),
        cmocka_unit_test(port_in_use_returns_error_after_stop_hooks),
        cmocka_unit_test(app_free_runs_hooks_app_run_never_ran),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    httpc_global_cleanup();
    return rc;
}
