/* signal.c - features/signal: the signal features' workflows and activities, with the names of
 * the upstream implementation each comes from (Go, else Python, TypeScript or PHP). */
#include "features.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- signal/basic (Python): handler my_signal sets the state the run waits for ---- */

typedef struct basic_state {
    char value[256]; /* the signal's JSON argument; "" until it came */
} basic_state;

static void my_signal(tc_wf_ctx *ctx, void *state, const char *name, const tc_wf_result *signal,
                      void *user)
{
    (void)ctx, (void)name, (void)user;
    basic_state *st = state;
    snprintf(st->value, sizeof st->value, "%s", signal->result_json ? signal->result_json : "");
}

static bool basic_has_value(void *arg)
{
    const basic_state *st = arg;
    return st->value[0] != '\0' && !feat_json_is_string(st->value, "");
}

static void basic_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    tc_wf_set_signal_handler(ctx, "my_signal", my_signal, NULL);
    if (tc_wf_await(ctx, basic_has_value, state) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    tc_wf_complete(ctx, ((basic_state *)state)->value);
}

/* ---- signal/activities (TypeScript): the handler of mySignal runs five activities ---- */

#define SIGNAL_ACTIVITIES 5

typedef struct activities_state {
    long total;
    bool failed;
} activities_state;

static void my_signal_activities(tc_wf_ctx *ctx, void *state, const char *name,
                                 const tc_wf_result *signal, void *user)
{
    (void)name, (void)signal, (void)user;
    activities_state *st = state;
    tc_activity_options o = {.start_to_close_ms = 5000};
    tc_future *fs[SIGNAL_ACTIVITIES];
    for (int i = 0; i < SIGNAL_ACTIVITIES; i++)
        fs[i] = tc_wf_activity_start(ctx, "myActivity", NULL, &o);
    if (tc_wf_wait_all(ctx, fs, SIGNAL_ACTIVITIES) != TC_OK) {
        st->failed = true;
        return;
    }
    long sum = 0;
    for (int i = 0; i < SIGNAL_ACTIVITIES; i++) {
        tc_wf_result r;
        tc_future_get(ctx, fs[i], &r);
        sum += strtol(r.result_json, NULL, 10);
    }
    st->total = sum;
}

static bool activities_done(void *arg)
{
    const activities_state *st = arg;
    return st->total > 0 || st->failed;
}

static void activities_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    activities_state *st = state;
    tc_wf_set_signal_handler(ctx, "mySignal", my_signal_activities, NULL);
    if (tc_wf_await(ctx, activities_done, st) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    if (st->failed) {
        feat_fail(ctx, "an activity of the signal handler failed");
        return;
    }
    char out[32];
    snprintf(out, sizeof out, "%ld", st->total);
    tc_wf_complete(ctx, out);
}

static void my_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, "6");
}

/* ---- signal/prevent_close (PHP): returns [values added by "add", replaying at start] ---- */

#define MAX_VALUES 16

typedef struct prevent_state {
    long values[MAX_VALUES];
    int n;
} prevent_state;

static void add_signal(tc_wf_ctx *ctx, void *state, const char *name, const tc_wf_result *signal,
                       void *user)
{
    (void)ctx, (void)name, (void)user;
    prevent_state *st = state;
    if (st->n < MAX_VALUES && signal->result_json)
        st->values[st->n++] = strtol(signal->result_json, NULL, 10);
}

static bool has_values(void *arg)
{
    return ((const prevent_state *)arg)->n > 0;
}

static void prevent_close_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    prevent_state *st = state;
    bool replay = tc_wf_is_replaying(ctx); /* the PHP feature's deliberate non-determinism */
    tc_wf_set_signal_handler(ctx, "add", add_signal, NULL);
    if (tc_wf_await(ctx, has_values, st) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    json_t *vals = json_array();
    for (int i = 0; i < st->n; i++)
        json_array_append_new(vals, json_integer(st->values[i]));
    feat_complete_json(ctx, json_pack("[o,b]", vals, replay));
}

/* ---- signal/external (Go): returns the data of the signal external_signal_channel ---- */

static void external_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_result r;
    if (tc_wf_signal_recv(ctx, "external_signal_channel", &r) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    tc_wf_complete(ctx, r.result_json);
}

/* ---- signal/signal_with_start: its input plus the values of the first two "add" signals (the
 * harness's signal-with-start delivers the first) ---- */

static void add_signals_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    const char *input = tc_wf_input(ctx, 0);
    long total = input ? strtol(input, NULL, 10) : 0;
    for (int i = 0; i < 2; i++) {
        tc_wf_result r;
        if (tc_wf_signal_recv(ctx, "add", &r) != TC_OK) {
            tc_wf_report_cancelled(ctx);
            return;
        }
        total += r.result_json ? strtol(r.result_json, NULL, 10) : 0;
    }
    char out[32];
    snprintf(out, sizeof out, "%ld", total);
    tc_wf_complete(ctx, out);
}

/* ---- table ---- */

static const feat_workflow basic_wf[] = {{"Workflow", basic_workflow, sizeof(basic_state)},
                                         {NULL, NULL, 0}};
static const feat_workflow activities_wf[] = {
    {"workflow", activities_workflow, sizeof(activities_state)}, {NULL, NULL, 0}};
static const feat_activity activities_act[] = {{"myActivity", my_activity}, {NULL, NULL}};
static const feat_workflow prevent_wf[] = {
    {"Workflow", prevent_close_workflow, sizeof(prevent_state)}, {NULL, NULL, 0}};
static const feat_workflow external_wf[] = {{"Workflow", external_workflow, 0}, {NULL, NULL, 0}};
static const feat_workflow with_start_wf[] = {{"Workflow", add_signals_workflow, 0},
                                              {NULL, NULL, 0}};

const feature feat_signal_features[] = {
    {"signal/basic", basic_wf, NULL},
    {"signal/activities", activities_wf, activities_act},
    {"signal/prevent_close", prevent_wf, NULL},
    {"signal/external", external_wf, NULL},
    {"signal/signal_with_start", with_start_wf, NULL},
    /* signal/workflow_to_workflow and signal/child_workflow need external signals and child
     * workflows, which the C SDK does not have yet. */
    {NULL, NULL, NULL},
};
