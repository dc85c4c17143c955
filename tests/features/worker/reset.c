/* reset.c - features/reset/reset_and_delete: a workflow driven by signals that the harness
 * resets to an earlier workflow task, finishes and deletes. */
#include "features.h"

/* Receives "sig" signals until one carries a non-empty string, then completes with "". */
static void reset_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    for (;;) {
        tc_wf_result r;
        if (tc_wf_signal_recv(ctx, "sig", &r) != TC_OK) {
            tc_wf_report_cancelled(ctx);
            return;
        }
        if (!feat_json_is_string(r.result_json, "")) {
            tc_wf_complete(ctx, "\"\"");
            return;
        }
    }
}

static const feat_workflow reset_wf[] = {{"Workflow", reset_workflow, 0}, {NULL, NULL, 0}};

const feature feat_reset_features[] = {
    {"reset/reset_and_delete", reset_wf, NULL},
    {NULL, NULL, NULL},
};
