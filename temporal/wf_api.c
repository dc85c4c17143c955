/* wf_api.c - the workflow API of temporal.h (tc_wf_*, tc_future_*): futures and waits,
 * conditions, signals, queries, coroutines, cancellation scopes, endings, deterministic values,
 * information and logging. Runs on workflow coroutines; must not touch the network. */
#include "wf_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A blocking call is only valid on the coroutine the ctx belongs to. */
static bool on_own_coroutine(const tc_wf_ctx *ctx)
{
    return ctx && ctx->run->current == ctx;
}

static void oom(tc_wf_ctx *ctx, const char *what)
{
    tc_run_fail(ctx->run, TC_ERR_NOMEM, "out of memory: %s", what);
    tc_sched_park(ctx);
}

/* ---- futures ---- */

static int code_of(const tc_future *f)
{
    switch (f->state) {
    case FUT_OK: return TC_OK;
    case FUT_FAILED: return TC_ERR_FAILED;
    default: return TC_ERR_CANCELLED;
    }
}

static void fill(const tc_future *f, tc_wf_result *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    out->event_id = f->event_id;
    if (f->state == FUT_OK) {
        out->n_values = f->n_values;
        out->values = (const char *const *)f->values;
        out->result_json = f->n_values ? f->values[0] : "null";
    } else {
        out->failure_type = f->ftype;
        out->failure_message = f->fmsg;
        out->non_retryable = f->non_retryable;
        out->timeout_type = (tc_timeout_type)f->timeout_type;
    }
}

/* Blocks the calling workflow coroutine until any of fs (all of them, with all) is ready; what
 * says what it waits on, for stack traces. False when the run is torn down (tc_sched_block). */
static bool block_on(tc_wf_ctx *ctx, tc_future *const *fs, size_t n, bool all, const char *what)
{
    ctx->wfs = fs;
    ctx->wn = n;
    ctx->wall = all;
    return tc_sched_block(ctx, what);
}

int tc_future_get(tc_wf_ctx *ctx, tc_future *f, tc_wf_result *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!f)
        return TC_ERR_INVALID;
    if (f->state == FUT_PENDING) {
        if (!on_own_coroutine(ctx))
            return TC_ERR_STATE;
        ctx->one = f;
        if (!block_on(ctx, &ctx->one, 1, false, "waiting for a future"))
            return TC_ERR_CANCELLED;
    }
    fill(f, out);
    return code_of(f);
}

bool tc_future_ready(const tc_future *f)
{
    return f && f->state != FUT_PENDING;
}

/* A set of futures to wait for: every entry given, and the call on its own coroutine. */
static int check_set(const tc_wf_ctx *ctx, tc_future *const *fs, size_t n)
{
    if (n && !fs)
        return TC_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!fs[i])
            return TC_ERR_INVALID;
    return on_own_coroutine(ctx) ? TC_OK : TC_ERR_STATE;
}

int tc_wf_wait_any(tc_wf_ctx *ctx, tc_future *const *fs, size_t n, size_t *index)
{
    int rc = n == 0 ? TC_ERR_INVALID : check_set(ctx, fs, n);
    if (rc != TC_OK)
        return rc;
    if (!block_on(ctx, fs, n, false, "waiting for any of several futures"))
        return TC_ERR_CANCELLED;
    /* The first to become ready in history order, whatever its place in the array. */
    size_t best = n;
    for (size_t i = 0; i < n; i++)
        if (fs[i]->state != FUT_PENDING && (best == n || fs[i]->seq < fs[best]->seq))
            best = i;
    if (index)
        *index = best;
    return TC_OK;
}

int tc_wf_wait_all(tc_wf_ctx *ctx, tc_future *const *fs, size_t n)
{
    int rc = n == 0 ? TC_OK : check_set(ctx, fs, n);
    if (rc != TC_OK || n == 0)
        return rc;
    if (!block_on(ctx, fs, n, true, "waiting for all of several futures"))
        return TC_ERR_CANCELLED;
    for (size_t i = 0; i < n; i++)
        if (code_of(fs[i]) != TC_OK)
            return code_of(fs[i]);
    return TC_OK;
}

int tc_future_cancel(tc_wf_ctx *ctx, tc_future *f)
{
    if (!ctx || !f)
        return TC_ERR_INVALID;
    if (f->state != FUT_PENDING || ctx->run->destroying)
        return TC_OK;
    if (f->kind == FK_SIGNAL)
        tc_signal_unclaim(ctx->run, f);
    else if (f->cmd && f->cmd->kind->cancel)
        f->cmd->kind->cancel(ctx->run, f->cmd);
    return TC_OK;
}

/* ---- activities and timers ---- */

tc_future *tc_wf_activity_start(tc_wf_ctx *ctx, const char *activity_type, const char *input_json,
                                const tc_activity_options *opts)
{
    const char *one[1] = {input_json};
    if (opts && opts->n_inputs)
        return tc_activity_start(ctx, activity_type, opts->inputs, opts->n_inputs, NULL, NULL,
                                 opts);
    return tc_activity_start(ctx, activity_type, one, input_json ? 1 : 0, NULL, NULL, opts);
}

int tc_wf_activity(tc_wf_ctx *ctx, const char *activity_type, const char *input_json,
                   const tc_activity_options *opts, tc_wf_result *out)
{
    return tc_future_get(ctx, tc_wf_activity_start(ctx, activity_type, input_json, opts), out);
}

int tc_wf_activity_lazy(tc_wf_ctx *ctx, const char *activity_type, tc_wf_input_fn make_input,
                        void *arg, const tc_activity_options *opts, tc_wf_result *out)
{
    tc_future *f = tc_activity_start(ctx, activity_type, NULL, 0, make_input, arg, opts);
    return tc_future_get(ctx, f, out);
}

tc_future *tc_wf_timer_start(tc_wf_ctx *ctx, int64_t duration_ms)
{
    return tc_timer_start(ctx, duration_ms);
}

int tc_wf_sleep(tc_wf_ctx *ctx, int64_t duration_ms)
{
    return tc_future_get(ctx, tc_timer_start(ctx, duration_ms), NULL);
}

/* ---- conditions ---- */

static bool cancelled_here(const tc_wf_ctx *ctx)
{
    return ctx->run->cancel_requested && ctx->detached == 0;
}

/* Whether an await is over before it blocks, with *rc: TC_OK when cond holds, TC_ERR_CANCELLED
 * when the run is cancelled here, TC_ERR_STATE off the workflow's own coroutine. */
static bool await_settled(tc_wf_ctx *ctx, tc_wf_cond_fn cond, void *arg, int *rc)
{
    if (cond(arg))
        *rc = TC_OK;
    else if (cancelled_here(ctx))
        *rc = TC_ERR_CANCELLED;
    else if (!on_own_coroutine(ctx))
        *rc = TC_ERR_STATE;
    else
        return false;
    return true;
}

int tc_wf_await(tc_wf_ctx *ctx, tc_wf_cond_fn cond, void *arg)
{
    if (!cond)
        return TC_ERR_INVALID;
    for (;;) {
        int rc;
        if (await_settled(ctx, cond, arg, &rc))
            return rc;
        ctx->cond = cond;
        ctx->carg = arg;
        ctx->wake_on_cancel = true;
        if (!tc_sched_block(ctx, "waiting for a condition"))
            return TC_ERR_CANCELLED;
    }
}

int tc_wf_await_timeout(tc_wf_ctx *ctx, int64_t timeout_ms, tc_wf_cond_fn cond, void *arg)
{
    int rc;
    if (!cond)
        return TC_ERR_INVALID;
    if (await_settled(ctx, cond, arg, &rc))
        return rc;
    tc_future *timer = tc_timer_start(ctx, timeout_ms);
    for (;;) {
        if (cond(arg)) {
            tc_future_cancel(ctx, timer); /* CancelTimer, as the official SDKs do */
            return TC_OK;
        }
        if (cancelled_here(ctx))
            return TC_ERR_CANCELLED;
        if (timer->state != FUT_PENDING)
            return timer->state == FUT_OK ? TC_ERR_TIMEOUT : TC_ERR_CANCELLED;
        ctx->cond = cond;
        ctx->carg = arg;
        ctx->one = timer;
        ctx->wake_on_cancel = true;
        if (!block_on(ctx, &ctx->one, 1, false, "waiting for a condition with a timeout"))
            return TC_ERR_CANCELLED;
    }
}

/* ---- signals and queries ---- */

tc_future *tc_wf_signal_next(tc_wf_ctx *ctx, const char *name)
{
    tc_run *r = ctx->run;
    tc_future *f;
    if (!name)
        name = "";
    if (r->destroying || cancelled_here(ctx)) {
        if (!(f = tc_future_new(r, FK_SIGNAL)))
            oom(ctx, "signal future");
        tc_future_resolve_fail(r, f, FUT_CANCELLED, "CanceledError", "signal wait cancelled", false,
                               0);
        return f;
    }
    if (!(f = tc_signal_claim(r, name, ctx->detached > 0)))
        oom(ctx, "signal future");
    return f;
}

int tc_wf_signal_recv(tc_wf_ctx *ctx, const char *name, tc_wf_result *out)
{
    return tc_future_get(ctx, tc_wf_signal_next(ctx, name), out);
}

int tc_wf_set_signal_handler(tc_wf_ctx *ctx, const char *name, tc_signal_fn fn, void *user)
{
    return tc_signal_set_handler(ctx->run, name, fn, user);
}

int tc_wf_set_query_handler(tc_wf_ctx *ctx, const char *query_type, tc_query_fn fn, void *user)
{
    tc_run *r = ctx->run;
    tc_handler *h;
    if (!query_type)
        return TC_ERR_INVALID;
    if (!fn) {
        tc_handler_remove(r->qhandlers, &r->n_qhandlers, query_type);
        return TC_OK;
    }
    if (tc_handler_put(&r->qhandlers, &r->n_qhandlers, query_type, &h) != TC_OK)
        return TC_ERR_NOMEM;
    h->qfn = fn;
    h->user = user;
    return TC_OK;
}

/* ---- coroutines and cancellation ---- */

tc_future *tc_wf_go(tc_wf_ctx *ctx, tc_wf_coroutine_fn fn, void *arg)
{
    tc_run *r = ctx->run;
    tc_future *f = tc_future_new(r, FK_CORO);
    if (!f)
        oom(ctx, "coroutine");
    if (!fn || r->destroying) {
        tc_future_resolve_ok(r, f, NULL, 0, 0);
        return f;
    }
    tc_wf_ctx *c = tc_sched_spawn(r, CO_GO);
    if (!c)
        oom(ctx, "coroutine");
    c->fn = fn;
    c->arg = arg;
    c->detached = ctx->detached;
    c->fut = f;
    return f;
}

bool tc_wf_cancel_requested(const tc_wf_ctx *ctx)
{
    return ctx->run->cancel_requested;
}

tc_future *tc_wf_cancellation(tc_wf_ctx *ctx)
{
    tc_run *r = ctx->run;
    if (!r->cancel_future) {
        if (!(r->cancel_future = tc_future_new(r, FK_CANCEL)))
            oom(ctx, "cancellation future");
        r->cancel_future->detached = true;
        if (r->cancel_requested)
            tc_future_resolve_ok(r, r->cancel_future, NULL, 0, 0);
    }
    return r->cancel_future;
}

void tc_wf_detached_begin(tc_wf_ctx *ctx)
{
    ctx->detached++;
}

void tc_wf_detached_end(tc_wf_ctx *ctx)
{
    if (ctx->detached > 0)
        ctx->detached--;
}

/* ---- endings ---- */

static bool can_end(const tc_wf_ctx *ctx)
{
    return !ctx->run->destroying && ctx->run->outcome == OUT_NONE;
}

void tc_wf_complete(tc_wf_ctx *ctx, const char *result_json)
{
    if (!can_end(ctx))
        return;
    if (result_json && !(ctx->run->out_result = tc_strdup(result_json)))
        oom(ctx, "workflow result");
    ctx->run->outcome = OUT_COMPLETE;
}

void tc_wf_fail(tc_wf_ctx *ctx, const char *type, const char *message, bool non_retryable)
{
    tc_run *r = ctx->run;
    if (!can_end(ctx))
        return;
    r->out_ftype = tc_strdup(type ? type : "Error");
    r->out_fmsg = tc_strdup(message ? message : "");
    if (!r->out_ftype || !r->out_fmsg)
        oom(ctx, "workflow failure");
    r->out_nr = non_retryable;
    r->outcome = OUT_FAIL;
}

void tc_wf_report_cancelled(tc_wf_ctx *ctx)
{
    if (can_end(ctx))
        ctx->run->outcome = OUT_CANCEL;
}

void tc_wf_continue_as_new(tc_wf_ctx *ctx, const char *input_json, const tc_continue_options *opts)
{
    tc_run *r = ctx->run;
    if (!can_end(ctx))
        return;
    const char *one[1] = {input_json};
    const char *const *in = one;
    size_t n = input_json ? 1 : 0;
    if (opts && opts->n_inputs) {
        in = opts->inputs;
        n = opts->n_inputs;
    }
    if (n && !(r->out_inputs = calloc(n, sizeof *r->out_inputs)))
        oom(ctx, "continue-as-new input");
    for (size_t i = 0; i < n; i++) {
        if (!(r->out_inputs[i] = tc_strdup(in[i] ? in[i] : "null")))
            oom(ctx, "continue-as-new input");
        r->n_out_inputs++;
    }
    if (opts) {
        r->out_can.run_timeout_ms = opts->run_timeout_ms;
        r->out_can.task_timeout_ms = opts->task_timeout_ms;
        if ((opts->workflow_type && !(r->out_can.workflow_type = tc_strdup(opts->workflow_type))) ||
            (opts->task_queue && !(r->out_can.task_queue = tc_strdup(opts->task_queue))))
            oom(ctx, "continue-as-new options");
    }
    r->outcome = OUT_CONTINUE;
}

void tc_wf_panic(tc_wf_ctx *ctx, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt ? fmt : "tc_wf_panic", ap);
    va_end(ap);
    tc_run_fail(ctx->run, TC_ERR_TASK_FAILED, "workflow panic: %s", msg);
    tc_sched_park(ctx);
}

/* ---- versioning and properties ---- */

bool tc_wf_patched(tc_wf_ctx *ctx, const char *patch_id)
{
    return patch_id && tc_patch_call(ctx, patch_id, false);
}

void tc_wf_deprecate_patch(tc_wf_ctx *ctx, const char *patch_id)
{
    if (patch_id)
        tc_patch_call(ctx, patch_id, true);
}

int tc_wf_upsert_search_attributes(tc_wf_ctx *ctx, const char *json_object)
{
    return tc_props_upsert(ctx, false, json_object);
}

int tc_wf_upsert_memo(tc_wf_ctx *ctx, const char *json_object)
{
    return tc_props_upsert(ctx, true, json_object);
}

static const char *kv_get(const tc_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(kv[i].key, name) == 0)
            return kv[i].json;
    return NULL;
}

const char *tc_wf_search_attribute(const tc_wf_ctx *ctx, const char *name)
{
    return kv_get(ctx->run->sa, ctx->run->n_sa, name);
}

const char *tc_wf_memo(const tc_wf_ctx *ctx, const char *name)
{
    return kv_get(ctx->run->memo, ctx->run->n_memo, name);
}

/* ---- deterministic values ---- */

int64_t tc_wf_now_ms(const tc_wf_ctx *ctx)
{
    return ctx->run->now_ms;
}

uint64_t tc_wf_random(tc_wf_ctx *ctx)
{
    /* splitmix64: small, fast, and its sequence depends only on the seed. */
    uint64_t z = (ctx->run->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void tc_wf_uuid(tc_wf_ctx *ctx, char out[37])
{
    uint64_t hi = tc_wf_random(ctx), lo = tc_wf_random(ctx);
    hi = (hi & ~0xf000ull) | 0x4000ull;                           /* version 4 */
    lo = (lo & ~(0xc000000000000000ull)) | 0x8000000000000000ull; /* variant 10 */
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
             (unsigned)((hi >> 16) & 0xffff), (unsigned)(hi & 0xffff), (unsigned)(lo >> 48),
             (unsigned long long)(lo & 0xffffffffffffull));
}

int tc_wf_side_effect(tc_wf_ctx *ctx, tc_side_effect_fn fn, void *arg, const char **json_out)
{
    const char *dummy;
    return tc_side_effect_call(ctx, fn, arg, json_out ? json_out : &dummy);
}

/* ---- information and logging ---- */

size_t tc_wf_input_count(const tc_wf_ctx *ctx)
{
    return ctx->run->n_inputs;
}

const char *tc_wf_input(const tc_wf_ctx *ctx, size_t i)
{
    return i < ctx->run->n_inputs ? ctx->run->inputs[i] : NULL;
}

const char *tc_wf_workflow_id(const tc_wf_ctx *ctx)
{
    return ctx->run->workflow_id;
}

const char *tc_wf_run_id(const tc_wf_ctx *ctx)
{
    return ctx->run->run_id;
}

const char *tc_wf_workflow_type(const tc_wf_ctx *ctx)
{
    return ctx->run->workflow_type;
}

const char *tc_wf_task_queue(const tc_wf_ctx *ctx)
{
    return ctx->run->task_queue;
}

int tc_wf_attempt(const tc_wf_ctx *ctx)
{
    return ctx->run->attempt;
}

bool tc_wf_is_replaying(const tc_wf_ctx *ctx)
{
    return ctx->run->replaying;
}

void tc_wf_log(tc_wf_ctx *ctx, tc_log_level level, const char *fmt, ...)
{
    tc_run *r = ctx->run;
    if (r->replaying || r->destroying || !fmt)
        return;
    va_list ap;
    va_start(ap, fmt);
    tc_vlogf(r->setup.log, level, r->workflow_id, r->run_id, r->workflow_type, fmt, ap);
    va_end(ap);
}
