/* data_converter.c - features/data_converter: payloads as the workflow writes them (the
 * harness compares them in history): JSON, null, binary and protobuf values through the
 * converter chain, the base64 codec, encoded failures. */
#include "features.h"

#include <string.h>

/* ---- data_converter/json (Go): echo the argument ---- */

static void json_echo_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_complete(ctx, tc_wf_input(ctx, 0));
}

/* ---- data_converter/empty (Go): call an activity with one null argument, return nothing ----
 * The Go workflow passes nil, which its converter writes as a binary/null payload; so does the
 * C SDK's converter chain for the JSON null. */

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

/* ---- data_converter/failure (Go): fail with a cause; the client encodes failure attributes */

static void failure_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_failure cause = {.message = "cause error"};
    tc_failure main = {.type = "customType", .message = "main error", .cause = &cause};
    tc_wf_fail_failure(ctx, &main);
}

/* data_converter/{binary,codec,binary_protobuf,json_protobuf} echo their argument: typed
 * values come and go in their reserved form, so the payload returned is the argument's. */

static const feat_workflow failure_wf[] = {{"Workflow", failure_workflow, 0}, {NULL, NULL, 0}};

static const feat_workflow json_wf[] = {{"Workflow", json_echo_workflow, 0}, {NULL, NULL, 0}};
static const feat_workflow empty_wf[] = {{"Workflow", empty_workflow, 0}, {NULL, NULL, 0}};
static const feat_activity empty_act[] = {{"Activity", null_input_activity}, {NULL, NULL}};

const feature feat_data_converter_features[] = {
    {"data_converter/json", json_wf, NULL},
    {"data_converter/empty", empty_wf, empty_act},
    {"data_converter/binary", json_wf, NULL},
    {"data_converter/binary_protobuf", json_wf, NULL},
    {"data_converter/json_protobuf", json_wf, NULL},
    {"data_converter/codec", json_wf, NULL},
    {"data_converter/failure", failure_wf, NULL},
    {NULL, NULL, NULL},
};
