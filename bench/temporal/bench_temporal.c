/* bench_temporal.c - throughput/latency benchmark of the C bridge against a dev server: N
 * workflows of K trivial activities at concurrency C, worker in a child process so its CPU
 * time and peak RSS (getrusage) are its own. Not a test: it prints figures, asserts nothing. */
#include "temporal.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct cfg {
    int n, conc, acts, sticky, wf_pollers, act_pollers;
    bool http, no_eager, local;
    int server_pid;        /* > 0: the Temporal server's CPU is read from /proc around the run */
    const char *go_worker; /* the Go SDK worker (bench/temporal/gobench) instead of ours */
    char queue[128];
    int http_port;
} cfg;

static cfg g;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- worker side (child process) ---- */

static _Thread_local CURL *t_curl;

static void act_noop(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    if (g.http) {
        /* One local HTTP round trip, as a saga step would make; one curl handle per thread. */
        if (!t_curl)
            t_curl = curl_easy_init();
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/", g.http_port);
        curl_easy_setopt(t_curl, CURLOPT_URL, url);
        curl_easy_setopt(t_curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(t_curl, CURLOPT_TIMEOUT_MS, 5000L);
        if (curl_easy_perform(t_curl) != CURLE_OK) {
            tc_activity_fail(ctx, "Http", "request failed", false);
            return;
        }
    }
    tc_activity_complete(ctx, tc_activity_input(ctx, 0));
}

static void wf_bench(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_activity_options o = {.start_to_close_ms = 10000};
    tc_local_activity_options lo = {.start_to_close_ms = 10000};
    for (int i = 0; i < g.acts; i++)
        if ((g.local ? tc_wf_local_activity(ctx, "Noop", "1", &lo, NULL)
                     : tc_wf_activity(ctx, "Noop", "1", &o, NULL)) != TC_OK)
            return;
    tc_wf_complete(ctx, "\"ok\"");
}

/* One thread per connection: curl keeps one keep-alive connection per executor thread. */
static void *http_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static const char resp[] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    char buf[4096];
    ssize_t r;
    /* Each read is one small GET (no body): answer it, until the client closes. */
    while ((r = read(fd, buf, sizeof buf)) > 0)
        if (write(fd, resp, sizeof resp - 1) < 0)
            break;
    close(fd);
    return NULL;
}

static void *http_server(void *arg)
{
    int lfd = *(int *)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_t th;
        if (pthread_create(&th, NULL, http_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(th);
        else
            close(fd);
    }
}

static int worker_main(int out_fd)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t th;
    int lfd = -1;
    if (g.http) {
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof a;
        bind(lfd, (struct sockaddr *)&a, sizeof a);
        listen(lfd, 64);
        getsockname(lfd, (struct sockaddr *)&a, &al);
        g.http_port = ntohs(a.sin_port);
        pthread_create(&th, NULL, http_server, &lfd);
        pthread_detach(th);
    }
    tc_error err = {0};
    tc_client *c = NULL;
    tc_worker *w = NULL;
    tc_worker_options o = {.task_queue = g.queue,
                           .sticky_cache_size = g.sticky ? 0 : -1,
                           .workflow_pollers = g.wf_pollers,
                           .activity_pollers = g.act_pollers,
                           .no_eager_activities = g.no_eager};
    int rc = tc_client_new(NULL, &c, &err);
    if (!rc)
        rc = tc_worker_new(c, &o, &w, &err);
    if (!rc)
        rc = tc_worker_register_workflow(w, "Bench", wf_bench, 0, NULL, &err);
    if (!rc)
        rc = tc_worker_register_activity(w, "Noop", act_noop, NULL, &err);
    if (!rc)
        rc = tc_worker_run(w, &err);
    if (rc) {
        fprintf(stderr, "bench worker: %s\n", err.text);
        return 1;
    }
    tc_worker_stats st;
    tc_worker_get_stats(w, &st);
    tc_worker_free(w);
    tc_client_free(c);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    dprintf(out_fd, "%lld %lld %ld %llu %llu %llu %lld %llu %llu %ld %ld\n",
            (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss,
            (unsigned long long)st.sticky_hits, (unsigned long long)st.sticky_misses,
            (unsigned long long)st.workflow_tasks, (long long)st.first_poll_us,
            (unsigned long long)st.eager_requested, (unsigned long long)st.eager_activity_tasks,
            ru.ru_nvcsw, ru.ru_nivcsw);
    return 0;
}

/* The Go SDK worker (bench/temporal/gobench): the same workflow and activity, exec'd in the
 * child; its figures come from wait4's rusage (no task counters). */
static void go_worker_exec(void)
{
    char acts[16];
    snprintf(acts, sizeof acts, "%d", g.acts);
    execl(g.go_worker, g.go_worker, "-task-queue", g.queue, "-activities", acts, "-mode",
          g.local ? "local" : "remote", "-http", g.http ? "true" : "false", (char *)NULL);
    perror("bench: exec go worker");
    _exit(127);
}

/* utime + stime of a process in microseconds (/proc/PID/stat), -1 when unreadable. */
static long long proc_cpu_us(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)((ut + st) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* ---- driver side ---- */

static tc_client *g_client;
static atomic_int g_next, g_failed;
static int64_t *g_lat;
static char g_prefix[128];

static void *driver(void *arg)
{
    (void)arg;
    for (;;) {
        int i = atomic_fetch_add(&g_next, 1);
        if (i >= g.n)
            return NULL;
        char wid[160], rid[64];
        snprintf(wid, sizeof wid, "%s-%d", g_prefix, i);
        tc_start_options o = {.workflow_id = wid, .workflow_type = "Bench", .task_queue = g.queue};
        tc_error err = {0};
        int64_t t0 = now_us();
        tc_outcome out;
        if (tc_workflow_start(g_client, &o, rid, sizeof rid, NULL, &err) != TC_OK ||
            tc_workflow_result(g_client, wid, rid, 120000, &out, &err) != TC_OK) {
            fprintf(stderr, "bench: %s: %s\n", wid, err.text);
            atomic_fetch_add(&g_failed, 1);
            g_lat[i] = -1;
            continue;
        }
        tc_outcome_clear(&out);
        g_lat[i] = now_us() - t0;
    }
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    g.n = 200;
    g.conc = 10;
    g.acts = 1;
    g.sticky = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            g.n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            g.conc = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-a") && i + 1 < argc)
            g.acts = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-sticky"))
            g.sticky = 0;
        else if (!strcmp(argv[i], "-w") && i + 1 < argc)
            g.wf_pollers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-p") && i + 1 < argc)
            g.act_pollers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--http"))
            g.http = true;
        else if (!strcmp(argv[i], "--no-eager"))
            g.no_eager = true;
        else if (!strcmp(argv[i], "--local"))
            g.local = true;
        else if (!strcmp(argv[i], "--server-pid") && i + 1 < argc)
            g.server_pid = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--go-worker") && i + 1 < argc)
            g.go_worker = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [-n N] [-c CONCURRENCY] [-a ACTIVITIES] [--no-sticky] "
                    "[-w WF_POLLERS] [-p ACT_POLLERS] [--http] [--no-eager] [--local] "
                    "[--server-pid PID] [--go-worker PATH]\n",
                    argv[0]);
            return 2;
        }
    }
    snprintf(g.queue, sizeof g.queue, "bench-%ld-%ld", (long)getpid(), (long)time(NULL));
    snprintf(g_prefix, sizeof g_prefix, "%s", g.queue);
    int pfd[2];
    if (pipe(pfd) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        if (g.go_worker)
            go_worker_exec();
        _exit(worker_main(pfd[1]));
    }
    close(pfd[1]);
    tc_error err = {0};
    if (tc_client_new(NULL, &g_client, &err) || tc_client_wait_ready(g_client, 30000, &err)) {
        fprintf(stderr, "bench: server: %s\n", err.text);
        kill(pid, SIGTERM);
        return 1;
    }
    g_lat = calloc((size_t)g.n, sizeof *g_lat);
    pthread_t *th = calloc((size_t)g.conc, sizeof *th);
    long long server0 = g.server_pid > 0 ? proc_cpu_us(g.server_pid) : -1;
    int64_t t0 = now_us();
    for (int i = 0; i < g.conc; i++)
        pthread_create(&th[i], NULL, driver, NULL);
    for (int i = 0; i < g.conc; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(now_us() - t0) / 1e6;
    long long server1 = g.server_pid > 0 ? proc_cpu_us(g.server_pid) : -1;
    kill(pid, SIGTERM);
    char line[256] = "";
    FILE *f = fdopen(pfd[0], "r");
    if ((!f || !fgets(line, sizeof line, f)) && !g.go_worker)
        fprintf(stderr, "bench: no figures from the worker\n");
    if (f)
        fclose(f);
    int st;
    struct rusage cru;
    wait4(pid, &st, 0, &cru);
    long long ut = 0, stime = 0, fp = -1;
    long rss = 0;
    unsigned long long hits = 0, miss = 0, wft = 0, ereq = 0, eager = 0;
    long vcsw = 0, ivcsw = 0;
    sscanf(line, "%lld %lld %ld %llu %llu %llu %lld %llu %llu %ld %ld", &ut, &stime, &rss, &hits,
           &miss, &wft, &fp, &ereq, &eager, &vcsw, &ivcsw);
    if (g.go_worker) { /* no report on the pipe: the kernel's account of the child */
        ut = (long long)cru.ru_utime.tv_sec * 1000000 + cru.ru_utime.tv_usec;
        stime = (long long)cru.ru_stime.tv_sec * 1000000 + cru.ru_stime.tv_usec;
        rss = cru.ru_maxrss;
        vcsw = cru.ru_nvcsw;
        ivcsw = cru.ru_nivcsw;
    }
    int ok = 0;
    for (int i = 0; i < g.n; i++)
        if (g_lat[i] >= 0)
            g_lat[ok++] = g_lat[i];
    qsort(g_lat, (size_t)ok, sizeof *g_lat, cmp64);
    double p50 = ok ? (double)g_lat[ok / 2] / 1000.0 : 0;
    double p99 = ok ? (double)g_lat[(ok * 99) / 100 < ok ? (ok * 99) / 100 : ok - 1] / 1000.0 : 0;
    printf("task_queue=%s (workflow ids %s-0..%d)\n", g.queue, g_prefix, g.n - 1);
    printf("worker=%s mode=%s workflows=%d activities_each=%d concurrency=%d sticky=%s http=%s "
           "failed=%d\n",
           g.go_worker ? "go-sdk" : "c", g.local ? "local" : "remote", g.n, g.acts, g.conc,
           g.sticky ? "on" : "off", g.http ? "on" : "off", atomic_load(&g_failed));
    printf("throughput=%.1f workflows/s  p50=%.1f ms  p99=%.1f ms\n", ok / secs, p50, p99);
    printf("worker_cpu=%.1f ms total (user %.1f + sys %.1f) = %.2f ms/workflow  "
           "peak_rss=%.1f MiB  first_poll=%.1f ms\n",
           (double)(ut + stime) / 1000.0, ut / 1000.0, stime / 1000.0,
           ok ? (double)(ut + stime) / 1000.0 / ok : 0, rss / 1024.0, fp / 1000.0);
    printf("workflow_tasks=%llu sticky_hits=%llu sticky_misses=%llu eager_requested=%llu "
           "eager_activity_tasks=%llu\n",
           wft, hits, miss, ereq, eager);
    /* Context switches: on a busy box most of the worker's CPU is the kernel moving work
     * between threads, so they explain CPU figures the instruction counts do not. */
    printf("worker_context_switches voluntary=%ld (%.1f/workflow) involuntary=%ld\n", vcsw,
           ok ? (double)vcsw / ok : 0.0, ivcsw);
    if (server0 >= 0 && server1 >= 0)
        printf("server_cpu=%.1f ms total = %.2f ms/workflow\n",
               (double)(server1 - server0) / 1000.0,
               ok ? (double)(server1 - server0) / 1000.0 / ok : 0);
    free(th);
    free(g_lat);
    tc_client_free(g_client);
    return atomic_load(&g_failed) ? 1 : 0;
}
