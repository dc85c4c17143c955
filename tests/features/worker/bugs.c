/* bugs.c - features/bugs/go: regressions the Go SDK once had, rerun on the C SDK. */
#include "features.h"

/* ---- bugs/go/activity_start_race: each "resume" signal starts one more activity that nobody
 * waits for; the run's cancellation ends it (completed, as the Go workflow returns nil) ---- */

static void activity_start_race_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_activity_options o = {.start_to_close_ms = 60000};
    tc_future *resume = NULL;
    for (;;) {
        tc_wf_activity_start(ctx, "SleepActivity", NULL, &o);
        if (!resume)
            resume = tc_wf_signal_next(ctx, "resume");
        tc_future *fs[2] = {tc_wf_cancellation(ctx), resume};
        size_t which = 0;
        tc_wf_wait_any(ctx, fs, 2, &which);
        if (which == 0 || tc_wf_cancel_requested(ctx)) {
            tc_wf_complete(ctx, NULL);
            return;
        }
        resume = NULL; /* consumed: the next loop claims the next signal */
    }
}

static void sleep_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    feat_sleep_ms(200);
    tc_activity_complete(ctx, NULL);
}

static const feat_workflow race_wf[] = {{"Workflow", activity_start_race_workflow, 0},
                                        {NULL, NULL, 0}};
static const feat_activity race_act[] = {{"SleepActivity", sleep_activity}, {NULL, NULL}};

const feature feat_bugs_features[] = {
    {"bugs/go/activity_start_race", race_wf, race_act},
    {NULL, NULL, NULL},
};
