/* log.c — JSON-lines logging to stderr with per-thread request/saga context.
 * Must not allocate on the heap per line beyond a stack buffer, nor interleave lines. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cm_log.h"

#define LOG_LINE_MAX 4096

static char g_service[64] = "unknown";
static cm_log_level g_min = CM_LOG_INFO;

static _Thread_local char tl_request_id[128];
static _Thread_local char tl_saga_id[128];

void log_init(const char *service, cm_log_level min_level)
{
    snprintf(g_service, sizeof g_service, "%s", service ? service : "unknown");
    g_min = min_level;
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

void log_vmsg(cm_log_level level, const char *fmt, va_list ap)
{
    if (level < g_min)
        return;
    char msg[LOG_LINE_MAX / 2];
    vsnprintf(msg, sizeof msg, fmt, ap);

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
    if (tl_request_id[0]) {
        put_raw(line, sizeof line, &pos, "\",\"request_id\":\"");
        put_escaped(line, sizeof line, &pos, tl_request_id);
    }
    if (tl_saga_id[0]) {
        put_raw(line, sizeof line, &pos, "\",\"saga_id\":\"");
        put_escaped(line, sizeof line, &pos, tl_saga_id);
    }
    put_raw(line, sizeof line, &pos, "\",\"msg\":\"");
    put_escaped(line, sizeof line, &pos, msg);
    line[pos++] = '"';
    line[pos++] = '}';
    line[pos++] = '\n';
    /* One write per line: POSIX keeps writes to the same pipe below PIPE_BUF atomic. */
    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;
}

void log_msg(cm_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
