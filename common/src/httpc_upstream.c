/* httpc_upstream.c — one service behind several replicas: a parsed list of base URLs, calls
 * spread round-robin and failed over to the next replica. Holds no connection of its own:
 * every attempt goes through httpc_request (per-thread curl handles). */
#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cm_error.h"
#include "cm_httpc.h"

typedef struct replica {
    char base[HTTPC_UPSTREAM_URL_MAX];
    _Atomic int64_t down_until_ms; /* monotonic ms; skipped (tried last) until then */
    atomic_int in_flight;          /* this process's requests to it right now */
    atomic_long requests;
    atomic_long failures;
} replica;

struct httpc_upstream {
    size_t n;
    long cooldown_ms;
    atomic_long failovers;
    replica r[];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return CM_ERR_INVALID;
}

/* Checks "host[:port][/prefix]" (after the scheme) of an entry of length n. Returns NULL when
 * well-formed, else the reason. */
static const char *check_authority(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '[') { /* [IPv6] */
        for (i++; i < n && (isxdigit((unsigned char)s[i]) || s[i] == ':' || s[i] == '.'); i++)
            ;
        if (i >= n || s[i] != ']' || i == 1)
            return "malformed [IPv6] host";
        i++;
    } else {
        size_t h = i;
        for (; i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'); i++)
            ;
        if (i == h)
            return "no host";
    }
    if (i < n && s[i] == ':') {
        long port = 0;
        size_t d = ++i;
        for (; i < n && isdigit((unsigned char)s[i]) && i - d < 6; i++)
            port = port * 10 + (s[i] - '0');
        if (i == d || port < 1 || port > 65535 || (i < n && isdigit((unsigned char)s[i])))
            return "port not in 1-65535";
    }
    if (i < n && s[i] != '/')
        return "unexpected character after host[:port]";
    for (; i < n; i++) { /* path prefix: printable, no query, fragment or blank */
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '?' || c == '#')
            return "path prefix with a blank, '?' or '#'";
    }
    return NULL;
}

/* Normalizes and checks entry `idx` (1-based, for messages) [s, s+n) into dst. */
static int parse_entry(const char *s, size_t n, size_t idx, char *dst, char *err, size_t errlen)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return fail(err, errlen, "entry %zu is empty", idx);
    while (n > 1 && s[n - 1] == '/')
        n--; /* "http://h:1/" and "http://h:1" are the same base */
    if (n >= HTTPC_UPSTREAM_URL_MAX)
        return fail(err, errlen, "entry %zu is longer than %d bytes", idx,
                    HTTPC_UPSTREAM_URL_MAX - 1);
    size_t skip = 0;
    if (n > 7 && !strncmp(s, "http://", 7))
        skip = 7;
    else if (n > 8 && !strncmp(s, "https://", 8))
        skip = 8;
    if (skip == 0)
        return fail(err, errlen, "entry %zu '%.*s': not an http:// or https:// URL", idx,
                    (int)(n > 80 ? 80 : n), s);
    const char *why = check_authority(s + skip, n - skip);
    if (why != NULL)
        return fail(err, errlen, "entry %zu '%.*s': %s", idx, (int)(n > 80 ? 80 : n), s, why);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

int httpc_upstream_new(const char *list, httpc_upstream **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (list == NULL)
        return fail(err, errlen, "no URL list");
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    if (n > HTTPC_UPSTREAM_MAX)
        return fail(err, errlen, "%zu URLs, at most %d", n, HTTPC_UPSTREAM_MAX);
    httpc_upstream *u = calloc(1, sizeof *u + n * sizeof(replica));
    if (u == NULL) {
        fail(err, errlen, "out of memory");
        return CM_ERR_NOMEM;
    }
    u->n = n;
    u->cooldown_ms = HTTPC_UPSTREAM_COOLDOWN_MS;
    const char *p = list;
    for (size_t i = 0; i < n; i++) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (parse_entry(p, len, i + 1, u->r[i].base, err, errlen) != 0) {
            free(u);
            return CM_ERR_INVALID;
        }
        p += len + (comma != NULL);
    }
    *out = u;
    return 0;
}

void httpc_upstream_free(httpc_upstream *u)
{
    free(u);
}

void httpc_upstream_set_cooldown(httpc_upstream *u, long cooldown_ms)
{
    if (u != NULL && cooldown_ms >= 0)
        u->cooldown_ms = cooldown_ms;
}

size_t httpc_upstream_count(const httpc_upstream *u)
{
    return u != NULL ? u->n : 0;
}

const char *httpc_upstream_base(const httpc_upstream *u, size_t i)
{
    return u != NULL && i < u->n ? u->r[i].base : NULL;
}

void httpc_upstream_stats(const httpc_upstream *u, size_t i, long *requests, long *failures)
{
    *requests = *failures = 0;
    if (u == NULL || i >= u->n)
        return;
    *requests = atomic_load_explicit(&u->r[i].requests, memory_order_relaxed);
    *failures = atomic_load_explicit(&u->r[i].failures, memory_order_relaxed);
}

long httpc_upstream_failovers(const httpc_upstream *u)
{
    return u != NULL ? atomic_load_explicit(&u->failovers, memory_order_relaxed) : 0;
}

static bool repeat_safe(const char *method, const httpc_opts *opts)
{
    static const char *const safe[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
    if (opts != NULL && opts->idempotency_key != NULL && opts->idempotency_key[0] != '\0')
        return true;
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
        if (!strcmp(method, safe[i]))
            return true;
    return false;
}

/* splitmix64's finaliser: every bit of the result depends on every bit of z. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A per-thread xorshift generator: the pick needs spread, not secrecy. The seed is mixed, and
 * numbered per thread: threads started in the same second share the clock's and their
 * thread-local address's low bits, and an unmixed seed gave their first picks the same replica. */
static uint64_t next_random(void)
{
    static _Thread_local uint64_t x;
    static atomic_uint_fast64_t seeds;
    if (x == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t n = atomic_fetch_add_explicit(&seeds, 1, memory_order_relaxed);
        x = mix64(((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
                  mix64((uint64_t)(uintptr_t)&x ^ ((uint64_t)getpid() << 40)) ^
                  (n * 0x9e3779b97f4a7c15ULL));
        if (x == 0)
            x = 0x9e3779b97f4a7c15ULL;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return mix64(x);
}

/* Fills order[] with the replicas to try. The first is the less busy of two picked at random
 * among those not cooling down (the "power of two choices": spread like random, but a slow
 * replica, holding more requests in flight, gets fewer); then the rest of those in list order
 * after it, then the cooling ones (so a call still goes out when every replica failed).
 * Random, not round-robin: a saga's fixed call pattern (two inventory calls per saga) would
 * otherwise land every saga's calls on the same replica. */
static void attempt_order(httpc_upstream *u, size_t *order)
{
    int64_t now = now_ms();
    size_t live[HTTPC_UPSTREAM_MAX], nlive = 0, k = 0;
    bool cooling[HTTPC_UPSTREAM_MAX] = {false};
    for (size_t i = 0; i < u->n; i++) {
        cooling[i] = atomic_load_explicit(&u->r[i].down_until_ms, memory_order_relaxed) > now;
        if (!cooling[i])
            live[nlive++] = i;
    }
    size_t start = 0;
    if (nlive > 0) {
        uint64_t rnd = next_random();
        size_t a = live[rnd % nlive], b = live[(rnd >> 32) % nlive];
        int fa = atomic_load_explicit(&u->r[a].in_flight, memory_order_relaxed);
        int fb = atomic_load_explicit(&u->r[b].in_flight, memory_order_relaxed);
        start = fb < fa ? b : a;
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < u->n; j++) {
            size_t i = (start + j) % u->n;
            if (cooling[i] == (pass == 1))
                order[k++] = i;
        }
}

int httpc_upstream_request(httpc_upstream *u, const char *method, const char *path,
                           const char *body, size_t len, const httpc_opts *opts, httpc_resp *out)
{
    memset(out, 0, sizeof *out);
    if (u == NULL || u->n == 0 || method == NULL || path == NULL ||
        (path[0] != '/' && path[0] != '\0'))
        return CM_ERR_INVALID;
    size_t order[HTTPC_UPSTREAM_MAX];
    attempt_order(u, order);
    bool safe = repeat_safe(method, opts);
    char url[HTTPC_UPSTREAM_URL_MAX + 2048];
    int rc = CM_ERR_INVALID;
    for (size_t k = 0; k < u->n; k++) {
        replica *r = &u->r[order[k]];
        if (snprintf(url, sizeof url, "%s%s", r->base, path) >= (int)sizeof url)
            return CM_ERR_INVALID;
        if (k > 0) {
            httpc_resp_free(out);
            atomic_fetch_add_explicit(&u->failovers, 1, memory_order_relaxed);
        }
        atomic_fetch_add_explicit(&r->requests, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->in_flight, 1, memory_order_relaxed);
        rc = httpc_request(method, url, body, len, opts, out);
        atomic_fetch_sub_explicit(&r->in_flight, 1, memory_order_relaxed);
        bool again;
        if (rc == 0) { /* it answered: alive, whatever the status */
            atomic_store_explicit(&r->down_until_ms, 0, memory_order_relaxed);
            again = out->status >= 500 && safe;
        } else if (rc == CM_ERR_IO || rc == CM_ERR_TIMEOUT) {
            atomic_fetch_add_explicit(&r->failures, 1, memory_order_relaxed);
            atomic_store_explicit(&r->down_until_ms, now_ms() + u->cooldown_ms,
                                  memory_order_relaxed);
            again = !out->sent || safe;
        } else {
            again = false; /* out of memory or a bad argument: another replica will not help */
        }
        if (!again)
            break;
    }
    return rc;
}
