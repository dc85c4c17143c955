/* worker_shutdown.c - features/worker_shutdown/poll_complete_on_shutdown: runs that keep the
 * worker busy with a short timer and a no-op activity while the harness stops it. */
#include "features.h"

static void timer_activity_loop(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    static const tc_retry_policy once = {.maximum_attempts = 1};
    tc_activity_options o = {
        .schedule_to_close_ms = 10000, .start_to_close_ms = 5000, .retry = &once};
    for (;;) {
        if (tc_wf_sleep(ctx, 20) != TC_OK) {
            tc_wf_report_cancelled(ctx);
            return;
        }
        tc_wf_result r;
        int rc = tc_wf_activity(ctx, "NoopActivity", NULL, &o, &r);
        if (rc == TC_ERR_CANCELLED) {
            tc_wf_report_cancelled(ctx);
            return;
        }
        if (rc != TC_OK) {
            feat_fail_with(ctx, &r);
            return;
        }
    }
}

static void noop_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, NULL);
}

static const feat_workflow loop_wf[] = {{"Workflow", timer_activity_loop, 0}, {NULL, NULL, 0}};
static const feat_activity loop_act[] = {{"NoopActivity", noop_activity}, {NULL, NULL}};

const feature feat_worker_shutdown_features[] = {
    {"worker_shutdown/poll_complete_on_shutdown", loop_wf, loop_act},
    {NULL, NULL, NULL},
};
