/* update.c - features/update (all but client_interceptor): workflows with the update handlers,
 * validators, arguments and results of the harness's Go reference worker (update/basic_async:
 * the Python one), each waiting for its shutdown signal. */
#include "features.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long arg_long(const tc_update_info *u, size_t i)
{
    return i < u->n_args ? strtol(u->args[i], NULL, 10) : 0;
}

/* The argument i as a string (caller frees), "" when it is not a JSON string. */
static char *arg_string(const tc_update_info *u, size_t i)
{
    json_t *j = i < u->n_args ? json_loads(u->args[i], JSON_DECODE_ANY, NULL) : NULL;
    char *s = strdup(json_string_value(j) ? json_string_value(j) : "");
    json_decref(j);
    return s;
}

static void complete_long(tc_wf_ctx *ctx, long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    tc_wf_update_complete(ctx, buf);
}

/* Waits for the signal name, then completes the run with result_json (NULL: none). */
static void shutdown_on(tc_wf_ctx *ctx, const char *name, const char *result_json)
{
    if (tc_wf_signal_recv(ctx, name, NULL) == TC_OK)
        tc_wf_complete(ctx, result_json);
    else
        tc_wf_report_cancelled(ctx);
}

/* ---- update/activities: updateActivity runs five SomeActivity (6 each) ---- */

static void update_activity_sum(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)state, (void)u, (void)user;
    tc_activity_options o = {.start_to_close_ms = 5000};
    tc_future *fs[5];
    for (int i = 0; i < 5; i++)
        fs[i] = tc_wf_activity_start(ctx, "SomeActivity", NULL, &o);
    long total = 0;
    for (int i = 0; i < 5; i++) {
        tc_wf_result r;
        if (tc_future_get(ctx, fs[i], &r) != TC_OK) {
            tc_wf_update_fail(ctx, r.failure_type, r.failure_message, r.non_retryable);
            return;
        }
        total += strtol(r.result_json, NULL, 10);
    }
    complete_long(ctx, total);
}

static void activities_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_set_update_handler(ctx, "updateActivity", update_activity_sum, NULL, NULL);
    shutdown_on(ctx, "shutdown_signal", NULL);
}

static void some_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, "6");
}

/* ---- update/async_accepted: theUpdate(duration ns, disposition) ---- */

static void the_update(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)state, (void)user;
    if (arg_long(u, 1) == 1) {
        tc_wf_update_fail(ctx, "Error", "I was told I should fail", false);
        return;
    }
    /* a Go time.Duration: nanoseconds */
    if (tc_wf_sleep(ctx, arg_long(u, 0) / 1000000) == TC_OK)
        tc_wf_update_complete(ctx, "123");
}

static void async_accepted_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_set_update_handler(ctx, "theUpdate", the_update, NULL, NULL);
    shutdown_on(ctx, "shutdown_signal", NULL);
}

/* ---- update/basic and update/basic_async: the handler sets what the run waits for ---- */

typedef struct basic_state {
    char result[256];
    bool set;
} basic_state;

static bool basic_set(void *arg)
{
    return ((const basic_state *)arg)->set;
}

static void basic_update(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    basic_state *st = state;
    char *arg = arg_string(u, 0);
    snprintf(st->result, sizeof st->result, "%s", arg ? arg : "");
    st->set = st->result[0] != '\0';
    char out[300];
    if (user) { /* basic_async (Python): a fixed result */
        tc_wf_update_complete(ctx, "\"update-result\"");
    } else {
        snprintf(out, sizeof out, "update-result:%s", st->result);
        char *j = feat_json_string(out);
        tc_wf_update_complete(ctx, j);
        free(j);
    }
    free(arg);
}

static void basic_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    basic_state *st = state;
    tc_wf_set_update_handler(ctx, "my-update-name", basic_update, NULL, NULL);
    if (tc_wf_await(ctx, basic_set, st) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    char out[300];
    snprintf(out, sizeof out, "workflow-result:%s", st->result);
    feat_complete_json(ctx, json_string(out));
}

static bool basic_async_validate(const void *state, const tc_update_info *u, void *user,
                                 tc_update_reject *rej)
{
    (void)state, (void)user;
    if (u->n_args && feat_json_is_string(u->args[0], "bad-update-arg")) {
        snprintf(rej->message, sizeof rej->message, "Invalid Update argument");
        return false;
    }
    return true;
}

static void basic_async_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    basic_state *st = state;
    tc_wf_set_update_handler(ctx, "my_update", basic_update, basic_async_validate, (void *)1);
    if (tc_wf_await(ctx, basic_set, st) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    feat_complete_json(ctx, json_string(st->result));
}

/* ---- update/deduplication: incrementCount, executed once per update id ---- */

typedef struct count_state {
    long counter;
} count_state;

static void increment_count(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)u, (void)user;
    count_state *st = state;
    long v = ++st->counter;
    if (tc_wf_sleep(ctx, 1000) == TC_OK)
        complete_long(ctx, v);
}

static void count_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_set_update_handler(ctx, "incrementCount", increment_count, NULL, NULL);
    shutdown_on(ctx, "shutdown_signal", NULL);
}

/* ---- update/non_durable_reject: negative values are rejected by the validator ---- */

static bool non_negative(const void *state, const tc_update_info *u, void *user,
                         tc_update_reject *rej)
{
    (void)state, (void)user;
    long v = arg_long(u, 0);
    if (v >= 0)
        return true;
    snprintf(rej->message, sizeof rej->message, "expected non-negative value (%ld)", v);
    return false;
}

static void add_value(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)user;
    count_state *st = state;
    st->counter += arg_long(u, 0);
    complete_long(ctx, st->counter);
}

static void non_durable_reject_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    count_state *st = state;
    tc_wf_set_update_handler(ctx, "updateActivity", add_value, non_negative, NULL);
    if (tc_wf_signal_recv(ctx, "shutdown_signal", NULL) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    feat_complete_json(ctx, json_integer(st->counter));
}

/* ---- update/self: an activity sends update! to its own workflow ---- */

static void self_update(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)u, (void)user;
    snprintf(((basic_state *)state)->result, sizeof((basic_state *)state)->result, "called");
    tc_wf_update_complete(ctx, NULL);
}

static void self_update_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    basic_state *st = state;
    snprintf(st->result, sizeof st->result, "not called");
    tc_wf_set_update_handler(ctx, "update!", self_update, NULL, NULL);
    const char *nr[] = {"PermissionDenied", NULL};
    tc_retry_policy rp = {.non_retryable_error_types = nr};
    tc_activity_options o = {.start_to_close_ms = 5000, .retry = &rp};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "SelfUpdateActivity", tc_wf_input(ctx, 0), &o, &r) != TC_OK) {
        feat_fail_with(ctx, &r);
        return;
    }
    if (strcmp(st->result, "called") != 0) {
        feat_fail(ctx, "expected state == \"called\" but found \"%s\"", st->result);
        return;
    }
    feat_complete_json(ctx, json_string(st->result));
}

static void self_update_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_update_request rq = {.workflow_id = tc_activity_workflow_id(ctx),
                            .run_id = tc_activity_run_id(ctx),
                            .update_name = "update!",
                            .timeout_ms = 4000};
    tc_update_outcome out;
    tc_error err = {0};
    int rc = tc_workflow_update(feat_client(), &rq, &out, &err);
    if (rc != TC_OK)
        tc_activity_fail(ctx, tc_code_name(rc), err.text, false);
    tc_update_outcome_clear(&out);
}

/* ---- update/task_failure: a handler that fails its task once per process, a validator that
 * "panics" (rejects with a PanicError) ---- */

#define PANIC_MESSAGE "fear not, dear examiner of logs, for this panic was intentional"

/* Process state on purpose, as upstream's: the handler fails its task on its first execution
 * in this process only (set before a replay: the live worker had failed once). */
static atomic_bool panicked_once;

static void panic_from_exec(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)state, (void)u, (void)user;
    bool no = false;
    if (atomic_compare_exchange_strong(&panicked_once, &no, true))
        tc_wf_panic(ctx, "%s", PANIC_MESSAGE);
    tc_wf_update_complete(ctx, NULL);
}

static bool panic_validator(const void *state, const tc_update_info *u, void *user,
                            tc_update_reject *rej)
{
    (void)state, (void)u, (void)user;
    snprintf(rej->type, sizeof rej->type, "PanicError");
    snprintf(rej->message, sizeof rej->message, "update validator panic: %s", PANIC_MESSAGE);
    return false;
}

static void nothing(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)ctx, (void)state, (void)u, (void)user;
}

static void panicky_updates_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_set_update_handler(ctx, "panic_from_exec", panic_from_exec, NULL, NULL);
    tc_wf_set_update_handler(ctx, "panic_from_validate", nothing, panic_validator, NULL);
    shutdown_on(ctx, "shutdown!", NULL);
}

void feat_update_task_failure_before_replay(void)
{
    atomic_store(&panicked_once, true);
}

/* ---- update/validation_replay: the validator fails when called twice in a process ---- */

static atomic_int validations;

static bool validate_once(const void *state, const tc_update_info *u, void *user,
                          tc_update_reject *rej)
{
    (void)state, (void)u, (void)user;
    if (atomic_fetch_add(&validations, 1) + 1 <= 1)
        return true;
    snprintf(rej->message, sizeof rej->message, "failing validation");
    return false;
}

static void do_some_stuff(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)state, (void)u, (void)user;
    tc_activity_options o = {.start_to_close_ms = 5000};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "TheActivity", NULL, &o, &r) == TC_OK)
        tc_wf_update_complete(ctx, NULL);
    else
        tc_wf_update_fail(ctx, r.failure_type, r.failure_message, r.non_retryable);
}

static void validation_replay_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_set_update_handler(ctx, "doSomeStuff", do_some_stuff, validate_once, NULL);
    shutdown_on(ctx, "shutdown_signal", NULL);
}

static void one_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, "1");
}

/* ---- update/worker_restart: fetchAndAdd waits for its activity across a worker restart ---- */

static void fetch_and_add(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)user;
    count_state *st = state;
    tc_activity_options o = {.schedule_to_close_ms = 10000};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "Block", NULL, &o, &r) != TC_OK) {
        tc_wf_update_fail(ctx, r.failure_type, r.failure_message, r.non_retryable);
        return;
    }
    long before = st->counter;
    st->counter += arg_long(u, 0);
    complete_long(ctx, before);
}

static void worker_restart_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    count_state *st = state;
    tc_wf_set_update_handler(ctx, "fetchAndAdd", fetch_and_add, NULL, NULL);
    if (tc_wf_signal_recv(ctx, "shutdown_signal", NULL) != TC_OK) {
        tc_wf_report_cancelled(ctx);
        return;
    }
    feat_complete_json(ctx, json_integer(st->counter));
}

static void block_activity(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, NULL);
}

#define ONE(type, fn, size) \
    (const feat_workflow[]) \
    {                       \
        {type, fn, size},   \
        {                   \
            NULL, NULL, 0   \
        }                   \
    }

const feature feat_update_features[] = {
    {"update/activities", ONE("Workflow", activities_workflow, 0),
     (const feat_activity[]){{"SomeActivity", some_activity}, {NULL, NULL}}},
    {"update/async_accepted", ONE("Workflow", async_accepted_workflow, 0), NULL},
    {"update/basic", ONE("Workflow", basic_workflow, sizeof(basic_state)), NULL},
    {"update/basic_async", ONE("Workflow", basic_async_workflow, sizeof(basic_state)), NULL},
    {"update/deduplication", ONE("Count", count_workflow, sizeof(count_state)), NULL},
    {"update/non_durable_reject",
     ONE("NonDurableReject", non_durable_reject_workflow, sizeof(count_state)), NULL},
    {"update/self", ONE("SelfUpdateWorkflow", self_update_workflow, sizeof(basic_state)),
     (const feat_activity[]){{"SelfUpdateActivity", self_update_activity}, {NULL, NULL}}},
    {"update/task_failure", ONE("PanickyUpdates", panicky_updates_workflow, 0), NULL},
    {"update/validation_replay", ONE("Workflow", validation_replay_workflow, 0),
     (const feat_activity[]){{"TheActivity", one_activity}, {NULL, NULL}}},
    {"update/worker_restart", ONE("Workflow", worker_restart_workflow, sizeof(count_state)),
     (const feat_activity[]){{"Block", block_activity}, {NULL, NULL}}},
    {NULL, NULL, NULL},
};
