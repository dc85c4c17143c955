/* log.c - the library's log lines: one formatting function feeding the log callback of the
 * worker (or the default one line to stderr). Must not block or call back into the library. */
#include "wf_run.h"

#include <stdio.h>

const tc_logger tc_default_logger = {tc_log_stderr, NULL, TC_LOG_INFO};

static const char *level_name(tc_log_level l)
{
    switch (l) {
    case TC_LOG_DEBUG: return "DEBUG";
    case TC_LOG_INFO: return "INFO";
    case TC_LOG_WARN: return "WARN";
    case TC_LOG_ERROR: return "ERROR";
    default: return "LOG";
    }
}

void tc_log_stderr(const tc_log_record *rec, void *user)
{
    (void)user;
    /* One fprintf per line: stdio locks the stream, so lines of threads never interleave. */
    if (rec->workflow_id)
        fprintf(stderr, "temporal-c %s [wf=%s run=%s%s%s] %s\n", level_name(rec->level),
                rec->workflow_id, rec->run_id ? rec->run_id : "-",
                rec->workflow_type ? " type=" : "", rec->workflow_type ? rec->workflow_type : "",
                rec->message);
    else
        fprintf(stderr, "temporal-c %s %s\n", level_name(rec->level), rec->message);
}

void tc_vlogf(const tc_logger *lg, tc_log_level level, const char *workflow_id, const char *run_id,
              const char *workflow_type, const char *fmt, va_list ap)
{
    if (!lg)
        lg = &tc_default_logger;
    if (level < lg->min || !lg->fn)
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    tc_log_record rec = {level, msg, workflow_id, run_id, workflow_type};
    lg->fn(&rec, lg->user);
}

void tc_logf(const tc_logger *lg, tc_log_level level, const char *workflow_id, const char *run_id,
             const char *workflow_type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tc_vlogf(lg, level, workflow_id, run_id, workflow_type, fmt, ap);
    va_end(ap);
}
