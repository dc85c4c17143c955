/* worker_ops.c - features of the worker's operations: activity/shutdown (activities told that the
 * worker stops, then cancelled after its graceful timeout) and telemetry/metrics (the worker's
 * Prometheus text, with custom workflow and activity counters, served over HTTP on
 * FEATURE_METRICS_ADDR for the harness to scrape). */
#include "features.h"

#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- activity/shutdown (Go): on the worker's stop CancelSuccess succeeds, CancelFailure fails
 * "worker is shutting down", CancelIgnore ignores it and times out (schedule-to-close) ---- */

static void shutdown_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    static const tc_retry_policy once = {.maximum_attempts = 1};
    tc_activity_options graceful = {.schedule_to_close_ms = 30000, .retry = &once};
    tc_activity_options ignore = {.schedule_to_close_ms = 300, .retry = &once};
    tc_future *f0 = tc_wf_activity_start(ctx, "CancelSuccess", NULL, &graceful);
    tc_future *f1 = tc_wf_activity_start(ctx, "CancelFailure", NULL, &graceful);
    tc_future *f2 = tc_wf_activity_start(ctx, "CancelIgnore", NULL, &ignore);
    tc_wf_result r;
    if (tc_future_get(ctx, f0, &r) != TC_OK) {
        feat_fail(ctx, "expected activity to succeed, got %s", r.failure_message);
        return;
    }
    if (tc_future_get(ctx, f1, &r) != TC_ERR_FAILED || !r.failure_message ||
        !strstr(r.failure_message, "worker is shutting down")) {
        feat_fail(ctx, "expected activity to fail with 'worker is shutting down', got %s",
                  r.failure_message ? r.failure_message : r.result_json);
        return;
    }
    if (tc_future_get(ctx, f2, &r) != TC_ERR_FAILED ||
        r.timeout_type != TC_TIMEOUT_SCHEDULE_TO_CLOSE) {
        feat_fail(ctx, "expected activity to fail with ScheduleToClose timeout, got %s",
                  r.failure_message ? r.failure_message : r.result_json);
        return;
    }
    tc_wf_complete(ctx, "\"done\"");
}

static void cancel_success(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_wait_worker_stop(ctx, -1);
    tc_activity_complete(ctx, NULL);
}

static void cancel_failure(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_wait_worker_stop(ctx, -1);
    tc_activity_fail(ctx, "", "worker is shutting down", false);
}

/* Ignores the stop and the cancellation that follows the graceful timeout: the stop waits for
 * it (a C thread cannot be abandoned as a goroutine is), its answer comes too late. */
static void cancel_ignore(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    feat_sleep_ms(5000);
    tc_activity_complete(ctx, NULL);
}

/* ---- telemetry/metrics (Go): counters of the SDK and of the code ---- */

static const tc_metric_label k_mytag[] = {{"mytag", "mytagvalue"}};

static void metrics_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    if (tc_wf_metric(ctx, TC_METRIC_COUNTER, "my_workflow_counter", k_mytag, 1, 2) != TC_OK) {
        tc_wf_panic(ctx, "my_workflow_counter refused");
        return;
    }
    tc_activity_options o = {.schedule_to_close_ms = 60000};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "CommaJoin", "[\"foo\",\"bar\"]", &o, &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    json_t *next = json_pack("[o,s]", json_loads(r.result_json, JSON_DECODE_ANY, NULL), "baz");
    char *in = next ? json_dumps(next, JSON_COMPACT) : NULL;
    json_decref(next);
    if (!in) {
        tc_wf_panic(ctx, "out of memory");
        return;
    }
    int rc = tc_wf_activity(ctx, "CommaJoin", in, &o, &r);
    free(in);
    if (rc != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    tc_wf_complete(ctx, r.result_json);
}

static void comma_join(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_metric(ctx, TC_METRIC_COUNTER, "my_activity_counter", k_mytag, 1, 2);
    json_t *in = json_loads(tc_activity_input(ctx, 0), JSON_DECODE_ANY, NULL);
    char out[1024] = "";
    size_t i, n = 0;
    json_t *s;
    json_array_foreach(in, i, s)
    {
        n += (size_t)snprintf(out + n, n < sizeof out ? sizeof out - n : 0, "%s%s", i ? ", " : "",
                              json_string_value(s) ? json_string_value(s) : "");
    }
    json_decref(in);
    json_t *res = json_string(out);
    char *text = json_dumps(res, JSON_ENCODE_ANY);
    json_decref(res);
    tc_activity_complete(ctx, text);
    free(text);
}

/* The worker's metrics over HTTP: one thread answers GET /metrics with tc_worker_metrics_text
 * until stopped. */
static struct {
    int fd;
    int stop_pipe[2];
    pthread_t th;
    bool running;
    tc_worker *w;
} g_http = {.fd = -1};

static void serve_one(int c)
{
    char req[4096];
    size_t got = 0;
    while (got < sizeof req - 1) { /* the request head; its content does not matter */
        ssize_t n = read(c, req + got, sizeof req - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    char *text = NULL;
    tc_error err = {0};
    int rc = tc_worker_metrics_text(g_http.w, &text, &err);
    const char *body = rc == TC_OK ? text : err.text;
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      rc == TC_OK ? "200 OK" : "503 Service Unavailable", strlen(body));
    if (write(c, head, (size_t)hn) == hn) {
        size_t off = 0, len = strlen(body);
        while (off < len) {
            ssize_t n = write(c, body + off, len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
    }
    free(text);
}

static void *http_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[2] = {{g_http.fd, POLLIN, 0}, {g_http.stop_pipe[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0 || (p[1].revents & POLLIN))
            return NULL;
        int c = accept(g_http.fd, NULL, NULL);
        if (c >= 0) {
            serve_one(c);
            close(c);
        }
    }
}

int feat_metrics_serve(tc_worker *w)
{
    const char *addr = getenv("FEATURE_METRICS_ADDR");
    if (!addr)
        return TC_OK; /* nobody scrapes */
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return TC_ERR_INVALID;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return TC_ERR_INVALID;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int ok = fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0 &&
             pipe(g_http.stop_pipe) == 0;
    freeaddrinfo(ai);
    if (!ok) {
        perror("features-worker: metrics listener");
        if (fd >= 0)
            close(fd);
        return TC_ERR_IO;
    }
    g_http.fd = fd;
    g_http.w = w;
    if (pthread_create(&g_http.th, NULL, http_main, NULL) != 0)
        return TC_ERR_NOMEM;
    g_http.running = true;
    return TC_OK;
}

void feat_metrics_stop(void)
{
    if (!g_http.running)
        return;
    if (write(g_http.stop_pipe[1], "x", 1) != 1)
        perror("features-worker: metrics stop");
    pthread_join(g_http.th, NULL);
    close(g_http.fd);
    close(g_http.stop_pipe[0]);
    close(g_http.stop_pipe[1]);
    g_http.running = false;
}

/* ---- tables ---- */

static const feat_workflow shutdown_wf[] = {{"Workflow", shutdown_workflow, 0}, {NULL, NULL, 0}};
static const feat_activity shutdown_act[] = {{"CancelSuccess", cancel_success},
                                             {"CancelFailure", cancel_failure},
                                             {"CancelIgnore", cancel_ignore},
                                             {NULL, NULL}};
static const feat_workflow metrics_wf[] = {{"Workflow", metrics_workflow, 0}, {NULL, NULL, 0}};
static const feat_activity metrics_act[] = {{"CommaJoin", comma_join}, {NULL, NULL}};

const feature feat_worker_ops_features[] = {
    {"activity/shutdown", shutdown_wf, shutdown_act},
    {"telemetry/metrics", metrics_wf, metrics_act},
    {NULL, NULL, NULL},
};
