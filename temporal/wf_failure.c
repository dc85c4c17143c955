/* wf_failure.c - whole failures in workflows: the failure a future resolved with (kept by its
 * family, run_futures.c) re-raised by tc_wf_fail_future; failures with details. Must not make
 * commands other than the run's end. */
#include "cmd_families.h"

#include <stdlib.h>
#include <string.h>

/* Records the whole failure the run will end with; the closing command carries it. */
static void keep_out_failure(tc_wf_ctx *ctx, uint8_t *packed, size_t len)
{
    tc_run *r = ctx->run;
    if (!packed) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory: workflow failure");
        tc_sched_park(ctx);
    }
    free(r->out_failure_pb);
    r->out_failure_pb = packed;
    r->out_failure_len = len;
}

static bool can_end(const tc_wf_ctx *ctx)
{
    return !ctx->run->destroying && ctx->run->outcome == OUT_NONE;
}

void tc_wf_fail_future(tc_wf_ctx *ctx, const tc_future *f)
{
    if (!ctx || !f || (f->state != FUT_FAILED && f->state != FUT_CANCELLED) || !can_end(ctx))
        return;
    if (f->failure_pb) {
        uint8_t *copy = malloc(f->failure_len ? f->failure_len : 1);
        if (copy && f->failure_len)
            memcpy(copy, f->failure_pb, f->failure_len);
        keep_out_failure(ctx, copy, f->failure_len);
    }
    tc_wf_fail(ctx, f->ftype, f->fmsg, f->non_retryable);
}

void tc_wf_fail_with_details(tc_wf_ctx *ctx, const char *type, const char *message,
                             bool non_retryable, const char *details_json)
{
    if (!ctx || !can_end(ctx))
        return;
    if (details_json) {
        tc_appfail af;
        tc_pl1 det;
        tc_pb_failure *fl = tc_appfail_init(&af, type, message, non_retryable);
        af.info.details = tc_pl1_init(&det, details_json);
        size_t len;
        uint8_t *p = tc_pb_failure_pack(fl, &len);
        keep_out_failure(ctx, p, len);
    }
    tc_wf_fail(ctx, type, message, non_retryable);
}
