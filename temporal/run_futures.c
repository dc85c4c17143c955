/* run_futures.c - futures of a run and their resolution order (the order of the events that
 * resolved them), and the run's task failure record. Must not make commands or run code. */
#include "wf_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tc_run_fail(tc_run *r, int code, const char *fmt, ...)
{
    if (r->fail_code)
        return code;
    r->fail_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->fail_text, sizeof r->fail_text, fmt, ap);
    va_end(ap);
    return code;
}

bool tc_run_live(const tc_run *r)
{
    return !r->replaying && !r->destroying;
}

/* ---- futures ---- */

tc_future *tc_future_new(tc_run *r, int kind)
{
    tc_future *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->kind = kind;
    f->next = r->futures;
    r->futures = f;
    return f;
}

void tc_future_resolve_values(tc_run *r, tc_future *f, char **values, size_t n, int64_t event_id)
{
    if (f->state != FUT_PENDING) {
        tc_strv_free(values, n);
        return;
    }
    f->state = FUT_OK;
    f->seq = ++r->seq;
    f->event_id = event_id;
    f->values = values;
    f->n_values = n;
}

void tc_future_resolve_ok(tc_run *r, tc_future *f, const char *const *values, size_t n,
                          int64_t event_id)
{
    char **copy = NULL;
    if (f->state != FUT_PENDING)
        return;
    if (n) {
        copy = calloc(n, sizeof *copy);
        for (size_t i = 0; copy && i < n; i++)
            if (!(copy[i] = tc_strdup(values[i] ? values[i] : "null"))) {
                tc_strv_free(copy, i);
                copy = NULL;
            }
        if (!copy) {
            tc_run_fail(r, TC_ERR_NOMEM, "out of memory resolving a future");
            n = 0;
        }
    }
    tc_future_resolve_values(r, f, copy, n, event_id);
}

void tc_future_resolve_fail(tc_run *r, tc_future *f, int state, const char *type,
                            const char *message, bool non_retryable, int64_t event_id)
{
    if (f->state != FUT_PENDING)
        return;
    f->state = state;
    f->seq = ++r->seq;
    f->event_id = event_id;
    f->ftype = tc_strdup(type ? type : "");
    f->fmsg = tc_strdup(message ? message : "");
    f->non_retryable = non_retryable;
    if (!f->ftype || !f->fmsg)
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory resolving a future");
}
