/* bench_pure.c - closed-loop load generator for POST /api/pure/orders: N client threads, each
 * with one keep-alive connection, send orders back to back for a fixed time and report
 * throughput and latency percentiles. Measures; asserts nothing. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_SAMPLES 2000000

typedef struct worker {
    pthread_t t;
    const char *url;
    long long product_id;
    double until;
    double *lat_ms;
    size_t n, cap;
    long ok, failed, errors;
} worker_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct body {
    char buf[4096];
    size_t len;
} body_t;

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
    body_t *b = ud;
    size_t k = s * n;
    size_t room = sizeof b->buf - 1 - b->len;
    memcpy(b->buf + b->len, p, k < room ? k : room);
    b->len += k < room ? k : room;
    b->buf[b->len] = '\0';
    return k;
}

static void *run(void *arg)
{
    worker_t *w = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char json[256];
    snprintf(json, sizeof json,
             "{\"customerId\":1,\"productId\":%lld,\"quantity\":1,\"amount\":1000}", w->product_id);
    curl_easy_setopt(h, CURLOPT_URL, w->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    while (now_s() < w->until) {
        body_t b = {.len = 0};
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        double t0 = now_s();
        CURLcode rc = curl_easy_perform(h);
        double ms = (now_s() - t0) * 1000.0;
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (rc != CURLE_OK) {
            w->errors++;
            continue;
        }
        if (code == 200 && strstr(b.buf, "\"success\":true") != NULL)
            w->ok++;
        else
            w->failed++;
        if (w->n < w->cap)
            w->lat_ms[w->n++] = ms;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr,
                "usage: %s URL CONCURRENCY SECONDS PRODUCT_ID [PRODUCTS]\n"
                "  client i orders product PRODUCT_ID + i %% PRODUCTS (default 1)\n",
                argv[0]);
        return 2;
    }
    const char *url = argv[1];
    int conc = atoi(argv[2]);
    double secs = atof(argv[3]);
    long long pid = atoll(argv[4]);
    int products = argc > 5 ? atoi(argv[5]) : 1;
    if (conc < 1 || conc > 1024 || secs <= 0 || products < 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_ALL);
    worker_t *ws = calloc((size_t)conc, sizeof *ws);
    if (ws == NULL)
        return 1;
    double start = now_s();
    for (int i = 0; i < conc; i++) {
        ws[i] = (worker_t){.url = url,
                           .product_id = pid + i % products,
                           .until = start + secs,
                           .cap = BENCH_MAX_SAMPLES / (size_t)conc};
        ws[i].lat_ms = malloc(ws[i].cap * sizeof(double));
        if (ws[i].lat_ms == NULL)
            return 1;
        pthread_create(&ws[i].t, NULL, run, &ws[i]);
    }
    long ok = 0, failed = 0, errors = 0;
    size_t n = 0;
    for (int i = 0; i < conc; i++) {
        pthread_join(ws[i].t, NULL);
        ok += ws[i].ok;
        failed += ws[i].failed;
        errors += ws[i].errors;
        n += ws[i].n;
    }
    double elapsed = now_s() - start;
    double *all = malloc((n > 0 ? n : 1) * sizeof(double));
    size_t k = 0;
    for (int i = 0; i < conc; i++) {
        memcpy(all + k, ws[i].lat_ms, ws[i].n * sizeof(double));
        k += ws[i].n;
        free(ws[i].lat_ms);
    }
    qsort(all, n, sizeof(double), cmp);
#define PCT(p) (n > 0 ? all[(size_t)((double)(n - 1) * (p))] : 0.0)
    printf("{\"products\":%d,\"concurrency\":%d,\"seconds\":%.1f,\"completed\":%ld,\"failed\":%ld,"
           "\"errors\":%ld,\"orders_per_s\":%.1f,\"p50_ms\":%.2f,\"p95_ms\":%.2f,"
           "\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
           products, conc, elapsed, ok, failed, errors, (double)ok / elapsed, PCT(0.50), PCT(0.95),
           PCT(0.99), n > 0 ? all[n - 1] : 0.0);
    free(all);
    free(ws);
    curl_global_cleanup();
    return 0;
}
