/* log.c — JSON-lines logging to stderr with per-thread request/saga context, and a rate limit
 * per call site for warnings and errors (a flood becomes a few lines and a count).
 * Must not allocate on the heap per line beyond a stack buffer, nor interleave lines. */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cm_log.h"

#define LOG_LINE_MAX 4096

static char g_service[64] = "unknown";
static cm_log_level g_min = CM_LOG_INFO;

/* Rate limit (log_set_rate_limit): each call site (its format string) of a warn or error line
 * may write `g_rl_lines` lines per `g_rl_window_ms`; the rest are counted and reported in one
 * line when the site's window ends. Open addressing on the format pointer; a full table
 * leaves new sites unlimited. */
#define LOG_SITES 256
typedef struct log_site {
    const char *fmt; /* NULL: free slot */
    cm_log_level level;
    int64_t window_start_ms;
    unsigned lines; /* written in the current window */
    unsigned long long suppressed;
} log_site;
static pthread_mutex_t g_rl_mu = PTHREAD_MUTEX_INITIALIZER;
static log_site g_sites[LOG_SITES];
static int g_rl_lines = LOG_RATE_LINES_DEFAULT;
static _Atomic int g_rl_window_ms = LOG_RATE_WINDOW_MS_DEFAULT;
static _Atomic int64_t g_rl_last_sweep_ms;

static _Thread_local char tl_request_id[128];
static _Thread_local char tl_saga_id[128];

void log_init(const char *service, cm_log_level min_level)
{
    snprintf(g_service, sizeof g_service, "%s", service ? service : "unknown");
    g_min = min_level;
}

void log_set_rate_limit(int lines, int window_ms)
{
    pthread_mutex_lock(&g_rl_mu);
    g_rl_lines = lines > 0 ? lines : 0;
    g_rl_window_ms = window_ms > 0 ? window_ms : LOG_RATE_WINDOW_MS_DEFAULT;
    memset(g_sites, 0, sizeof g_sites);
    pthread_mutex_unlock(&g_rl_mu);
}

cm_log_level log_level_parse(const char *s)
{
    if (!s)
        return CM_LOG_INFO;
    if (!strcasecmp(s, "debug"))
        return CM_LOG_DEBUG;
    if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
        return CM_LOG_WARN;
    if (!strcasecmp(s, "error"))
        return CM_LOG_ERROR;
    return CM_LOG_INFO;
}

void log_set_request_id(const char *id)
{
    snprintf(tl_request_id, sizeof tl_request_id, "%s", id ? id : "");
}

void log_set_saga_id(const char *id)
{
    snprintf(tl_saga_id, sizeof tl_saga_id, "%s", id ? id : "");
}

const char *log_request_id(void)
{
    return tl_request_id[0] ? tl_request_id : NULL;
}

const char *log_saga_id(void)
{
    return tl_saga_id[0] ? tl_saga_id : NULL;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0 if the bytes there are not one. s[0] >= 0x80. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0; /* also stops at the NUL */
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* Append `s` JSON-escaped to buf at *pos, never past cap-2 (room for the closing "}\n").
 * Bytes that are not UTF-8 (a client's percent-decoded path, say) become U+FFFD, so every
 * line stays valid JSON. */
static void put_escaped(char *buf, size_t cap, size_t *pos, const char *s)
{
    for (; *s && *pos + 8 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x80) {
            size_t n = utf8_len((const unsigned char *)s);
            if (n == 0) {
                memcpy(buf + *pos, "\\ufffd", 6);
                *pos += 6;
            } else {
                memcpy(buf + *pos, s, n);
                *pos += n;
                s += n - 1;
            }
        } else if (ch == '"' || ch == '\\') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = (char)ch;
        } else if (ch == '\n') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = 'n';
        } else if (ch < 0x20) {
            *pos += (size_t)snprintf(buf + *pos, cap - *pos, "\\u%04x", ch);
        } else {
            buf[(*pos)++] = (char)ch;
        }
    }
}

static void put_raw(char *buf, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n + 4 >= cap)
        n = cap > *pos + 4 ? cap - *pos - 4 : 0;
    memcpy(buf + *pos, s, n);
    *pos += n;
}

static const char *level_name(cm_log_level l)
{
    switch (l) {
    case CM_LOG_DEBUG: return "debug";
    case CM_LOG_WARN: return "warn";
    case CM_LOG_ERROR: return "error";
    default: return "info";
    }
}

/* Writes one line. `with_context`: add this thread's request/saga ids; `suppressed` > 0 adds
 * a "suppressed" member (a rate-limit report). */
static void emit(cm_log_level level, const char *msg, bool with_context,
                 unsigned long long suppressed)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char tbuf[64];
    snprintf(tbuf, sizeof tbuf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    char line[LOG_LINE_MAX];
    size_t pos = 0;
    put_raw(line, sizeof line, &pos, "{\"ts\":\"");
    put_raw(line, sizeof line, &pos, tbuf);
    put_raw(line, sizeof line, &pos, "\",\"level\":\"");
    put_raw(line, sizeof line, &pos, level_name(level));
    put_raw(line, sizeof line, &pos, "\",\"service\":\"");
    put_escaped(line, sizeof line, &pos, g_service);
    if (with_context && tl_request_id[0]) {
        put_raw(line, sizeof line, &pos, "\",\"request_id\":\"");
        put_escaped(line, sizeof line, &pos, tl_request_id);
    }
    if (with_context && tl_saga_id[0]) {
        put_raw(line, sizeof line, &pos, "\",\"saga_id\":\"");
        put_escaped(line, sizeof line, &pos, tl_saga_id);
    }
    if (suppressed > 0) {
        char n[48];
        snprintf(n, sizeof n, "\",\"suppressed\":%llu", suppressed);
        put_raw(line, sizeof line, &pos, n);
        put_raw(line, sizeof line, &pos, ",\"msg\":\"");
    } else {
        put_raw(line, sizeof line, &pos, "\",\"msg\":\"");
    }
    put_escaped(line, sizeof line, &pos, msg);
    line[pos++] = '"';
    line[pos++] = '}';
    line[pos++] = '\n';
    /* One write per line: POSIX keeps writes to the same pipe below PIPE_BUF atomic. */
    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A site's report, taken under g_rl_mu and written after it is released. */
typedef struct log_report {
    const char *fmt;
    cm_log_level level;
    unsigned long long n;
    int64_t ms;
} log_report;

static void report(const log_report *r)
{
    char msg[LOG_LINE_MAX / 2];
    snprintf(msg, sizeof msg, "suppressed %llu more lines like \"%.300s\" in the last %.1f s", r->n,
             r->fmt, (double)r->ms / 1000.0);
    emit(r->level, msg, false, r->n);
}

/* Ends the window of a site if it is over: its count goes into *out (n 0 when nothing was
 * suppressed). Caller holds g_rl_mu. */
static void window_roll(log_site *site, int64_t now, log_report *out)
{
    out->n = 0;
    if (now - site->window_start_ms < g_rl_window_ms)
        return;
    if (site->suppressed > 0)
        *out = (log_report){site->fmt, site->level, site->suppressed, now - site->window_start_ms};
    site->window_start_ms = now;
    site->lines = 0;
    site->suppressed = 0;
}

static log_site *site_of(const char *fmt)
{
    size_t h = ((uintptr_t)fmt >> 3) * 2654435761u;
    for (size_t i = 0; i < LOG_SITES; i++) {
        log_site *s = &g_sites[(h + i) % LOG_SITES];
        if (s->fmt == fmt)
            return s;
        if (s->fmt == NULL) {
            s->fmt = fmt;
            return s;
        }
    }
    return NULL;
}

/* Reports every site with lines suppressed whose window has ended (all of them when `all`),
 * so the count of a flood that stopped is not held back until that site logs again. */
static void sweep(int64_t now, bool all)
{
    log_report out[LOG_SITES];
    int n = 0;
    pthread_mutex_lock(&g_rl_mu);
    atomic_store_explicit(&g_rl_last_sweep_ms, now, memory_order_relaxed);
    for (size_t i = 0; i < LOG_SITES; i++) {
        log_site *site = &g_sites[i];
        if (site->fmt == NULL || site->suppressed == 0)
            continue;
        if (all)
            site->window_start_ms = now - g_rl_window_ms;
        window_roll(site, now, &out[n]);
        if (out[n].n > 0)
            n++;
    }
    pthread_mutex_unlock(&g_rl_mu);
    for (int i = 0; i < n; i++)
        report(&out[i]);
}

void log_flush(void)
{
    sweep(mono_ms(), true);
}

/* Decides whether a warn/error line from `fmt` is written now. Returns true to write it. */
static bool admit(cm_log_level level, const char *fmt, int64_t now)
{
    log_report pending = {0};
    bool ok = true;
    pthread_mutex_lock(&g_rl_mu);
    log_site *site = g_rl_lines > 0 ? site_of(fmt) : NULL;
    if (site != NULL) {
        site->level = level;
        window_roll(site, now, &pending);
        if (site->lines < (unsigned)g_rl_lines)
            site->lines++;
        else {
            site->suppressed++;
            ok = false;
        }
    }
    pthread_mutex_unlock(&g_rl_mu);
    if (pending.n > 0)
        report(&pending);
    return ok;
}

void log_vmsg(cm_log_level level, const char *fmt, va_list ap)
{
    if (level < g_min)
        return;
    int64_t now = mono_ms();
    /* Once per window, any line first reports the floods that have ended. */
    if (now - atomic_load_explicit(&g_rl_last_sweep_ms, memory_order_relaxed) >=
        atomic_load_explicit(&g_rl_window_ms, memory_order_relaxed))
        sweep(now, false);
    if (level >= CM_LOG_WARN && !admit(level, fmt, now))
        return;
    char msg[LOG_LINE_MAX / 2];
    vsnprintf(msg, sizeof msg, fmt, ap);
    emit(level, msg, true, 0);
}

void log_msg(cm_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
