/* util.c — small shared helpers (random ids). No state except what the kernel keeps. */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"

void cm_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[64];
    size_t need = (n + 1) / 2;
    if (need > sizeof raw)
        need = sizeof raw;
    if (getrandom(raw, need, 0) != (ssize_t)need) {
        /* getrandom on Linux >= 3.17 does not fail for small sizes; keep a fallback anyway. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)out;
        for (size_t i = 0; i < need; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            raw[i] = (unsigned char)x;
        }
    }
    size_t i;
    for (i = 0; i < n && i / 2 < sizeof raw; i++)
        out[i] = hex[(i % 2) ? (raw[i / 2] & 0xf) : (raw[i / 2] >> 4)];
    out[i] = '\0';
}

int cm_buf_append(char **p, size_t *len, size_t *cap, const void *data, size_t n, size_t first_cap,
                  size_t max_cap)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : first_cap;
        while (c < *len + n + 1)
            c *= 2;
        if (c > max_cap)
            c = max_cap;
        char *np = realloc(*p, c);
        if (!np)
            return -1;
        *p = np;
        *cap = c;
    }
    memcpy(*p + *len, data, n);
    *len += n;
    (*p)[*len] = '\0';
    return 0;
}

void *cm_grow(void *items, size_t *cap, size_t elem, size_t first)
{
    size_t c = *cap ? *cap * 2 : first;
    void *np = realloc(items, c * elem);
    if (np)
        *cap = c;
    return np;
}
