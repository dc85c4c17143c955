/* rt_util.h - helpers for the runtime unit tests: drive a run through crafted history with the
 * runtime's own entry points (as a worker task or a replay) and inspect the commands it made.
 * Test code only; header-only so each test stays one file. */
#ifndef RT_UTIL_H
#define RT_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hist_builder.h"
#include "wf_run.h"

/* A run fed with h up to `started` (the task being answered; 0 = replay completed tasks). */
static inline tc_run *rt_task(tc_history *h, int64_t started, tc_workflow_fn fn, size_t state_size,
                              void *user, int *rc_out, tc_error *err)
{
    tc_run_setup s = {.fn = fn, .user = user, .state_size = state_size};
    tc_run *r = tc_run_new("unit-wf", "unit-run", &s);
    assert_non_null(r);
    int rc = tc_run_feed(r, h->events, h->n, started, err);
    if (rc_out)
        *rc_out = rc;
    else if (rc != TC_OK)
        fail_msg("feed: %s", err->text);
    return r;
}

/* The history of a new run of workflow_type up to its first workflow task, started (its event
 * id in *started). Owned by the caller. */
static inline tc_history *rt_first_task_history(const char *workflow_type, int64_t *started)
{
    hb *b = hb_new();
    hb_started(b, workflow_type, NULL);
    *started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    hb_free(b);
    return h;
}

/* Continues a cached run with more events (a sticky task). */
static inline int rt_more(tc_run *r, tc_history *h, int64_t started, tc_error *err)
{
    return tc_run_feed(r, h->events, h->n, started, err);
}

/* The i-th new command: its kind name, id and type ("" when none). */
static inline const tc_cmd *rt_cmd(const tc_run *r, size_t i)
{
    tc_cmd *const *cmds;
    size_t n = tc_run_new_commands(r, &cmds);
    if (i >= n)
        fail_msg("only %zu new commands, wanted #%zu", n, i);
    return cmds[i];
}

static inline size_t rt_ncmds(const tc_run *r)
{
    tc_cmd *const *cmds;
    return tc_run_new_commands(r, &cmds);
}

/* Unpacks a command's packed form (caller frees with ..._free_unpacked). */
static inline Temporal__Api__Command__V1__Command *rt_unpack(const tc_cmd *c)
{
    assert_non_null(c->packed);
    Temporal__Api__Command__V1__Command *m =
        temporal__api__command__v1__command__unpack(NULL, c->packed_len, c->packed);
    assert_non_null(m);
    return m;
}

/* Asserts the list of new commands as "Kind:id:type,Kind:id:type". */
static inline void rt_expect(const tc_run *r, const char *want)
{
    char got[2048] = "";
    size_t o = 0;
    for (size_t i = 0; i < rt_ncmds(r); i++) {
        const tc_cmd *c = rt_cmd(r, i);
        o += (size_t)snprintf(got + o, sizeof got - o, "%s%s:%s:%s", i ? "," : "", c->kind->name,
                              c->id, c->type);
    }
    if (strcmp(got, want) != 0)
        fail_msg("commands:\n  got  %s\n  want %s", got, want);
}

#define RT_DRIVE_MAX 8

/* A run driven task by task through a crafted history: its builder (set b, and user for the
 * workflow function, before the first task), every history handed to the run (it may point into
 * them until it is freed), the run, and the started event id of its latest task. */
typedef struct {
    hb *b;
    void *user;
    tc_run *r;
    int64_t started;
    tc_history *h[RT_DRIVE_MAX];
    size_t nh;
} rt_drive;

/* Starts a workflow task at the end of d->b and hands the history so far to the run: the first
 * time to a new run of fn (state_size bytes of state), later to the same run (a sticky task).
 * A feed error fails the test. Returns the run. */
static inline tc_run *rt_drive_task(rt_drive *d, tc_workflow_fn fn, size_t state_size)
{
    if (d->nh == RT_DRIVE_MAX)
        fail_msg("more than %d tasks", RT_DRIVE_MAX);
    d->started = hb_wft_start(d->b);
    tc_history *h = d->h[d->nh++] = hb_history(d->b);
    tc_error err = {0};
    if (!d->r)
        d->r = rt_task(h, d->started, fn, state_size, d->user, NULL, &err);
    else if (rt_more(d->r, h, d->started, &err) != TC_OK)
        fail_msg("feed: %s", err.text);
    return d->r;
}

/* Frees the run, then the histories, then the builder. */
static inline void rt_drive_free(rt_drive *d)
{
    tc_run_free(d->r);
    for (size_t i = 0; i < d->nh; i++)
        tc_history_free(d->h[i]);
    hb_free(d->b);
}

static inline char *rt_strdup(const char *s)
{
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

#endif
