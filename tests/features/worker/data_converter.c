/* data_converter.c - features/data_converter/{json,empty}: payloads as the workflow writes them
 * (the harness compares them in history). */
#include "features.h"

#include <string.h>

/* ---- data_converter/json (Go): echo the argument ---- */

static void json_echo_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_complete(ctx, tc_wf_input(ctx, 0));
}

/* ---- data_converter/empty (Go): call an activity with one null argument, return nothing ----
 * The Go workflow passes nil, which its converter writes as a binary/null payload. SDK gap: the
 * C SDK writes every argument as json/plain (a JSON null becomes data "null"), so the payload
 * in history is not the binary/null one the feature expects. */

static void empty_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_activity_options o = {.start_to_close_ms = 60000};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "Activity", "null", &o, &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    tc_wf_complete(ctx, NULL);
}

static void null_input_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    const char *in = tc_activity_input(ctx, 0);
    if (in && strcmp(in, "null") != 0) {
        tc_activity_fail(ctx, "BadResult", "Activity input should be nil", true);
        return;
    }
    tc_activity_complete(ctx, NULL);
}

static const feat_workflow json_wf[] = {{"Workflow", json_echo_workflow, 0}, {NULL, NULL, 0}};
static const feat_workflow empty_wf[] = {{"Workflow", empty_workflow, 0}, {NULL, NULL, 0}};
static const feat_activity empty_act[] = {{"Activity", null_input_activity}, {NULL, NULL}};

const feature feat_data_converter_features[] = {
    {"data_converter/json", json_wf, NULL},
    {"data_converter/empty", empty_wf, empty_act},
    {NULL, NULL, NULL},
};
