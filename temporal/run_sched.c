/* run_sched.c - the coroutines of a run: spawning, running every runnable one in creation order
 * until all are blocked (deterministic), blocking, and unwinding them when the run is freed.
 * Must not make commands or read history. */
#include "wf_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* After this many blocking calls during teardown a coroutine that keeps looping on its errors
 * is abandoned (its stack is freed without unwinding). */
#define DESTROY_BUDGET 10000u

static void entry(void *arg)
{
    tc_wf_ctx *c = arg;
    tc_run *r = c->run;
    switch (c->kind) {
    case CO_MAIN:
        r->setup.fn(c, r->state, r->setup.user);
        /* Returning ends the run; with no outcome chosen it completes with no result. */
        if (!r->destroying && r->outcome == OUT_NONE)
            r->outcome = OUT_COMPLETE;
        break;
    case CO_GO: c->fn(c, c->arg); break;
    case CO_SIGNAL: {
        tc_wf_result res;
        memset(&res, 0, sizeof res);
        tc_future *f = c->sig;
        res.n_values = f->n_values;
        res.values = (const char *const *)f->values;
        res.result_json = f->n_values ? f->values[0] : "null";
        res.event_id = f->event_id;
        c->sfn(c, r->state, f->signal_name ? f->signal_name : "", &res, c->suser);
        break;
    }
    default: break;
    }
    c->done = true;
    if (c->fut && !r->destroying)
        tc_future_resolve_ok(r, c->fut, NULL, 0, 0);
}

tc_wf_ctx *tc_sched_spawn(tc_run *r, int kind)
{
    if (r->n_coros == r->cap_coros) {
        size_t nc = r->cap_coros ? r->cap_coros * 2 : 4;
        tc_wf_ctx **p = realloc(r->coros, nc * sizeof *p);
        if (!p)
            return NULL;
        r->coros = p;
        r->cap_coros = nc;
    }
    tc_wf_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->run = r;
    c->kind = kind;
    c->co = tc_coro_new(r->setup.stack_size, entry, c);
    if (!c->co) {
        free(c);
        return NULL;
    }
    r->coros[r->n_coros++] = c;
    return c;
}

static bool future_ready(const tc_future *f)
{
    return f->state != FUT_PENDING;
}

static bool runnable(const tc_wf_ctx *c)
{
    const tc_run *r = c->run;
    if (c->done || c->parked)
        return false;
    if (!c->started || r->destroying)
        return true;
    if (c->cond && c->cond(c->carg))
        return true;
    if (c->wake_on_cancel && r->cancel_requested && c->detached == 0)
        return true;
    if (c->wn) {
        size_t ready = 0;
        for (size_t i = 0; i < c->wn; i++)
            ready += future_ready(c->wfs[i]);
        return c->wall ? ready == c->wn : ready > 0;
    }
    return false;
}

static void resume(tc_run *r, tc_wf_ctx *c)
{
    c->started = true;
    r->current = c;
    tc_coro_resume(c->co);
    r->current = NULL;
}

static bool stop(const tc_run *r)
{
    return r->fail_code != 0 || r->outcome != OUT_NONE;
}

void tc_sched_run(tc_run *r)
{
    /* Passes over the coroutines in creation order (those spawned during a pass run in the
     * same pass), until a whole pass finds none runnable: the same order on every replay. */
    bool progress = true;
    while (progress && !stop(r)) {
        progress = false;
        for (size_t i = 0; i < r->n_coros && !stop(r); i++) {
            tc_wf_ctx *c = r->coros[i];
            if (!runnable(c))
                continue;
            resume(r, c);
            progress = true;
        }
    }
}

bool tc_sched_block(tc_wf_ctx *c, const char *what)
{
    tc_run *r = c->run;
    if (r->destroying) {
        /* Teardown: every blocking call fails at once so the code unwinds, within a budget. */
        if (r->destroy_budget++ >= DESTROY_BUDGET)
            tc_sched_park(c);
        return false;
    }
    c->waiting_on = what;
    /* Already satisfied: go on without yielding (the same on every replay). Otherwise the
     * scheduler resumes this coroutine once it is runnable again. */
    while (!runnable(c)) {
        tc_coro_yield(c->co);
        if (r->destroying)
            break;
    }
    c->waiting_on = NULL;
    c->cond = NULL;
    c->wn = 0;
    c->wfs = NULL;
    c->wake_on_cancel = false;
    return !r->destroying;
}

void tc_sched_park(tc_wf_ctx *c)
{
    c->parked = true;
    for (;;)
        tc_coro_yield(c->co); /* never resumed again: its stack is freed with the run */
}

void tc_sched_destroy(tc_run *r)
{
    r->destroying = true;
    /* Let each suspended coroutine unwind: its blocking calls now fail with TC_ERR_CANCELLED,
     * so C code frees what it holds on its error paths. */
    for (size_t i = 0; i < r->n_coros; i++) {
        tc_wf_ctx *c = r->coros[i];
        if (c->started && !c->done && !c->parked) {
            r->current = c;
            tc_coro_resume(c->co);
            r->current = NULL;
        }
    }
    for (size_t i = 0; i < r->n_coros; i++) {
        tc_coro_free(r->coros[i]->co);
        free(r->coros[i]);
    }
    free(r->coros);
    r->coros = NULL;
    r->n_coros = r->cap_coros = 0;
}

char *tc_sched_describe(const tc_run *r)
{
    size_t cap = 256 + r->n_coros * 96, o = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    o += (size_t)snprintf(s + o, cap - o, "\"");
    for (size_t i = 0; i < r->n_coros && o < cap; i++) {
        const tc_wf_ctx *c = r->coros[i];
        const char *kind = c->kind == CO_MAIN ? "workflow"
                           : c->kind == CO_GO ? "coroutine"
                                              : "signal";
        const char *st = c->done         ? "done"
                         : c->parked     ? "failed"
                         : c->waiting_on ? c->waiting_on
                                         : "runnable";
        o += (size_t)snprintf(s + o, cap - o, "%scoroutine %zu (%s): %s", i ? "\\n" : "", i, kind,
                              st);
    }
    if (o < cap)
        snprintf(s + o, cap - o, "\"");
    return s;
}
