/* query.c - features/query: workflows with the query handlers of the upstream Go features,
 * each waiting for signals so the harness can query them while they run. */
#include "features.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int answer(char **result_json, const char *json)
{
    *result_json = strdup(json);
    return *result_json ? TC_OK : TC_ERR_NOMEM;
}

/* Waits for the signal "finish" (its argument is ignored). */
static void wait_finish(tc_wf_ctx *ctx)
{
    tc_wf_result r;
    if (tc_wf_signal_recv(ctx, "finish", &r) != TC_OK)
        tc_wf_report_cancelled(ctx);
}

/* ---- query/successful_query: counterQ answers how many counterInc signals came (of 5) ---- */

typedef struct counter_state {
    int counter;
} counter_state;

static int counter_query(const void *state, const char *const *args, size_t n_args, void *user,
                         char **result_json, tc_error *err)
{
    (void)args, (void)n_args, (void)user, (void)err;
    char buf[32];
    snprintf(buf, sizeof buf, "%d", ((const counter_state *)state)->counter);
    return answer(result_json, buf);
}

static void successful_query_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    counter_state *st = state;
    tc_wf_set_query_handler(ctx, "counterQ", counter_query, NULL);
    for (int i = 0; i < 5; i++) {
        tc_wf_result r;
        if (tc_wf_signal_recv(ctx, "counterInc", &r) != TC_OK) {
            tc_wf_report_cancelled(ctx);
            return;
        }
        st->counter++;
    }
}

/* ---- query/unexpected_query_type_name: no handler at all ---- */

static void finish_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    wait_finish(ctx);
}

/* ---- query/unexpected_arguments: theQuery(int) answers "got N"; as in Go, an extra argument
 * is dropped and a missing one is the zero value ---- */

static int the_query(const void *state, const char *const *args, size_t n_args, void *user,
                     char **result_json, tc_error *err)
{
    (void)state, (void)user;
    json_int_t a = 0;
    if (n_args > 0) {
        json_t *j = json_loads(args[0], JSON_DECODE_ANY, NULL);
        int ok = json_is_integer(j);
        if (ok)
            a = json_integer_value(j);
        json_decref(j);
        if (!ok) {
            snprintf(err->text, sizeof err->text, "theQuery: argument %s is not an integer",
                     args[0]);
            return TC_ERR_INVALID;
        }
    }
    char buf[64];
    snprintf(buf, sizeof buf, "\"got %lld\"", (long long)a);
    return answer(result_json, buf);
}

static void unexpected_arguments_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_set_query_handler(ctx, "theQuery", the_query, NULL);
    wait_finish(ctx);
}

/* ---- query/timeout_due_to_no_active_workers: somequery answers true ---- */

static int some_query(const void *state, const char *const *args, size_t n_args, void *user,
                      char **result_json, tc_error *err)
{
    (void)state, (void)args, (void)n_args, (void)user, (void)err;
    return answer(result_json, "true");
}

static void some_query_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_set_query_handler(ctx, "somequery", some_query, NULL);
    wait_finish(ctx);
}

/* ---- table ---- */

static const feat_workflow successful_wf[] = {
    {"Workflow", successful_query_workflow, sizeof(counter_state)}, {NULL, NULL, 0}};
static const feat_workflow finish_wf[] = {{"Workflow", finish_workflow, 0}, {NULL, NULL, 0}};
static const feat_workflow args_wf[] = {{"Workflow", unexpected_arguments_workflow, 0},
                                        {NULL, NULL, 0}};
static const feat_workflow some_wf[] = {{"Workflow", some_query_workflow, 0}, {NULL, NULL, 0}};

const feature feat_query_features[] = {
    {"query/successful_query", successful_wf, NULL},
    {"query/unexpected_query_type_name", finish_wf, NULL},
    {"query/unexpected_arguments", args_wf, NULL},
    {"query/timeout_due_to_no_active_workers", some_wf, NULL},
    {NULL, NULL, NULL},
};
