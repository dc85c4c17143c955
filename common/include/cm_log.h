/* cm_log.h — JSON-lines logging to stderr: one object per line with
 * ts, level, msg, service, and request_id / saga_id when the calling thread knows them.
 * Warnings and errors are rate-limited per call site (log_set_rate_limit). */
#ifndef CM_LOG_H
#define CM_LOG_H

#include <stdarg.h>

typedef enum { CM_LOG_DEBUG = 0, CM_LOG_INFO, CM_LOG_WARN, CM_LOG_ERROR } cm_log_level;

/* Set the service name written in every line and the minimum level.
 * Call once from main before threads start (the app bootstrap does it). */
void log_init(const char *service, cm_log_level min_level);

/* Rate limit of warn and error lines: each call site (identified by its format string) may
 * write `lines` lines per `window_ms`; further lines of that site are counted, not written,
 * and when its window ends one line {"level":<its level>,"suppressed":N,"msg":"suppressed N
 * more lines like \"<format>\" ..."} reports them (written by the next line of that site or of
 * any site, or by log_flush). lines 0 turns the limit off; window_ms <= 0 means the default.
 * Debug and info lines (the access log) are never limited. Any thread. */
#define LOG_RATE_LINES_DEFAULT     20
#define LOG_RATE_WINDOW_MS_DEFAULT 1000
void log_set_rate_limit(int lines, int window_ms);

/* Writes the reports of every site with lines suppressed so far (at stop). Any thread. */
void log_flush(void);

/* Parse "debug" | "info" | "warn" | "error" (case-insensitive); unknown -> CM_LOG_INFO. */
cm_log_level log_level_parse(const char *s);

/* Per-thread context added to every line this thread writes. Strings are copied
 * (truncated to 127 bytes); NULL clears. The HTTP server sets the request id for the
 * duration of a handler and clears both afterwards; a handler that learns the saga id
 * calls log_set_saga_id(). */
void log_set_request_id(const char *request_id);
void log_set_saga_id(const char *saga_id);
const char *log_request_id(void); /* this thread's current request id or NULL */
const char *log_saga_id(void);    /* this thread's current saga id or NULL */

/* printf-style; the message is JSON-escaped. Any thread; one write(2) per line so
 * lines from different threads never interleave. */
void log_msg(cm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(cm_log_level level, const char *fmt, va_list ap);

#define log_debug(...) log_msg(CM_LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(CM_LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(CM_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(CM_LOG_ERROR, __VA_ARGS__)

#endif
