/* continue_as_new.c - features/continue_as_new: a run that continues as itself once, and a
 * run whose continue-as-new must wait for a signal that arrives while it is being sent. */
#include "features.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- continue_as_new/continue_as_same (Go): continue as new once with the same input ---- */

static void continue_as_same_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    const char *input = tc_wf_input(ctx, 0);
    if (tc_wf_continued_run_id(ctx) != NULL) { /* the continued run */
        tc_wf_complete(ctx, input);
        return;
    }
    tc_wf_continue_as_new(ctx, input, NULL);
}

/* ---- continue_as_new/signals_block_continue_as_new: the argument is {"continued": bool,
 * "signals": [...]}; the first run continues as new at once with the signals delivered so far
 * (taken without blocking), the continued run returns them ---- */

static void signals_block_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    const char *input = tc_wf_input(ctx, 0);
    json_t *in = input ? json_loads(input, 0, NULL) : NULL;
    json_t *signals = json_object_get(in, "signals");
    if (!json_is_object(in) || !json_is_array(signals)) {
        json_decref(in);
        tc_wf_fail(ctx, "BadInput", "want {\"continued\": bool, \"signals\": [...]}", true);
        return;
    }
    char *json = NULL;
    if (json_is_true(json_object_get(in, "continued"))) {
        json = json_dumps(signals, JSON_COMPACT);
        if (json)
            tc_wf_complete(ctx, json);
    } else {
        for (;;) {
            tc_future *f = tc_wf_signal_next(ctx, "signal");
            tc_wf_result r;
            if (!tc_future_ready(f) || tc_future_get(ctx, f, &r) != TC_OK) {
                tc_future_cancel(ctx, f);
                break;
            }
            json_array_append_new(signals, json_loads(r.result_json, JSON_DECODE_ANY, NULL));
        }
        json_object_set_new(in, "continued", json_true());
        json = json_dumps(in, JSON_COMPACT);
        if (json)
            tc_wf_continue_as_new(ctx, json, NULL);
    }
    json_decref(in);
    if (!json)
        tc_wf_panic(ctx, "out of memory");
    free(json);
}

static const feat_workflow same_wf[] = {{"Workflow", continue_as_same_workflow, 0},
                                        {NULL, NULL, 0}};
static const feat_workflow block_wf[] = {{"Workflow", signals_block_workflow, 0}, {NULL, NULL, 0}};

const feature feat_continue_as_new_features[] = {
    {"continue_as_new/continue_as_same", same_wf, NULL},
    {"continue_as_new/signals_block_continue_as_new", block_wf, NULL},
    {NULL, NULL, NULL},
};
