/* test_workflows.c - workflows and activities used by the temporal bridge tests. Deterministic
 * workflow code only calls tc_wf_*; activities do the side effects. Test code only. */
#include "test_workflows.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const tc_activity_options k_act = {.start_to_close_ms = 5000};

void wf_greet(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_wf_result r;
    const char *in = tc_wf_input(ctx, 0);
    if (tc_wf_activity(ctx, "Hello", in ? in : "\"nobody\"", &k_act, &r) != TC_OK) {
        tc_wf_fail(ctx, r.failure_type, r.failure_message, false);
        return;
    }
    tc_wf_complete(ctx, r.result_json);
}

void wf_greet_changed(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_wf_result r;
    if (tc_wf_activity(ctx, "Hi", tc_wf_input(ctx, 0), &k_act, &r) != TC_OK) {
        tc_wf_fail(ctx, r.failure_type, r.failure_message, false);
        return;
    }
    tc_wf_complete(ctx, r.result_json);
}

void tw_complete_outcome(tc_wf_ctx *ctx, int rc, const tc_wf_result *r)
{
    char out[512];
    if (rc == TC_OK)
        snprintf(out, sizeof out, "{\"ok\":true,\"result\":%s}", r->result_json);
    else
        snprintf(out, sizeof out, "{\"ok\":false,\"type\":\"%s\",\"nr\":%s}", r->failure_type,
                 r->non_retryable ? "true" : "false");
    tc_wf_complete(ctx, out);
}

void tw_fail_until(tc_activity_ctx *ctx, int until)
{
    if (tc_activity_attempt(ctx) < until) {
        tc_activity_fail(ctx, "Transient", "try again", false);
        return;
    }
    char out[16];
    snprintf(out, sizeof out, "%d", tc_activity_attempt(ctx));
    tc_activity_complete(ctx, out);
}

void act_hello(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    json_t *in = json_loads(tc_activity_input(ctx, 0) ? tc_activity_input(ctx, 0) : "null",
                            JSON_DECODE_ANY, NULL);
    char msg[256];
    snprintf(msg, sizeof msg, "Hello, %s!", json_is_string(in) ? json_string_value(in) : "?");
    json_t *out = json_string(msg);
    char *s = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
    tc_activity_complete(ctx, s);
    free(s);
    json_decref(out);
    json_decref(in);
}

static int input_int(const char *json, const char *key, int def)
{
    json_t *j = json ? json_loads(json, 0, NULL) : NULL;
    json_t *v = j ? json_object_get(j, key) : NULL;
    int n = json_is_integer(v) ? (int)json_integer_value(v) : def;
    json_decref(j);
    return n;
}

void wf_chain(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    chain_state *st = state;
    int n = input_int(tc_wf_input(ctx, 0), "n", 3);
    char in[32];
    for (int i = 0; i < n; i++) {
        snprintf(in, sizeof in, "%d", st->done);
        tc_wf_result r;
        if (tc_wf_activity(ctx, "Inc", in, &k_act, &r) != TC_OK) {
            tc_wf_fail(ctx, r.failure_type, r.failure_message, false);
            return;
        }
        st->done = atoi(r.result_json);
    }
    char out[64];
    snprintf(out, sizeof out, "{\"sum\":%d}", st->done);
    tc_wf_complete(ctx, out);
}

void act_inc(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    const char *in = tc_activity_input(ctx, 0);
    char out[32];
    snprintf(out, sizeof out, "%d", (in ? atoi(in) : 0) + 1);
    tc_activity_complete(ctx, out);
}

int q_chain_progress(const void *state, const char *const *args, size_t n_args, void *user,
                     char **out, tc_error *err)
{
    (void)args;
    (void)n_args;
    (void)user;
    (void)err;
    const chain_state *st = state;
    char buf[64];
    snprintf(buf, sizeof buf, "{\"done\":%d}", st ? st->done : -1);
    *out = strdup(buf);
    return TC_OK;
}

void wf_steps(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    const char *in = tc_wf_input(ctx, 0);
    int n = input_int(in, "n", 3);
    json_t *j = in ? json_loads(in, 0, NULL) : NULL;
    const char *dir = json_string_value(json_object_get(j, "dir"));
    tc_activity_options o = {.start_to_close_ms = 3000};
    tc_retry_policy rp = {
        .initial_interval_ms = 200, .backoff_coefficient = 1.0, .maximum_interval_ms = 200};
    o.retry = &rp;
    for (int i = 1; i <= n; i++) {
        json_t *a = json_pack("{s:s, s:i}", "dir", dir ? dir : "/nonexistent", "step", i);
        char *s = json_dumps(a, JSON_COMPACT);
        tc_wf_result r;
        int rc = tc_wf_activity(ctx, "Step", s, &o, &r);
        free(s);
        json_decref(a);
        if (rc != TC_OK) {
            json_decref(j);
            tc_wf_fail(ctx, r.failure_type, r.failure_message, false);
            return;
        }
    }
    json_decref(j);
    char out[64];
    snprintf(out, sizeof out, "{\"steps\":%d}", n);
    tc_wf_complete(ctx, out);
}

/* The side effect is idempotent (O_EXCL marker per step), as a real activity must be under
 * at-least-once delivery; every attempt is logged separately so tests can see retries. */
void act_step(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    json_t *j = json_loads(tc_activity_input(ctx, 0), 0, NULL);
    const char *dir = json_string_value(json_object_get(j, "dir"));
    int step = (int)json_integer_value(json_object_get(j, "step"));
    char path[512];
    snprintf(path, sizeof path, "%s/attempts", dir ? dir : ".");
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%d\n", step);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/step-%d", dir ? dir : ".", step);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd >= 0)
        close(fd);
    else if (errno != EEXIST) {
        tc_activity_fail(ctx, "IOError", strerror(errno), false);
        json_decref(j);
        return;
    }
    json_decref(j);
    /* Slow enough that a test can kill the worker between steps. */
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    tc_activity_complete(ctx, NULL);
}

/* Cancel: start LongBeat (heartbeat timeout 1 s, cancel mode wait-cancellation-completed),
 * sleep 1.5 s, cancel it, report its outcome once it acknowledged. */
tc_future *tw_long_beat_then_sleep(tc_wf_ctx *ctx)
{
    tc_retry_policy rp = {.maximum_attempts = 1};
    tc_activity_options o = {.start_to_close_ms = 60000,
                             .heartbeat_timeout_ms = 1000,
                             .retry = &rp,
                             .cancel_mode = TC_CANCEL_WAIT_COMPLETED};
    tc_future *act = tc_wf_activity_start(ctx, "LongBeat", NULL, &o);
    return tc_wf_sleep(ctx, 1500) == TC_OK ? act : NULL;
}

void wf_cancel(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_future *act = tw_long_beat_then_sleep(ctx);
    if (!act)
        return;
    tc_future_cancel(ctx, act);
    tc_wf_result r;
    int rc = tc_future_get(ctx, act, &r);
    char out[256];
    snprintf(out, sizeof out, "{\"ok\":%s,\"type\":\"%s\"}", rc == TC_OK ? "true" : "false",
             rc == TC_OK ? "" : r.failure_type);
    tc_wf_complete(ctx, out);
}

/* Fan: n Inc activities at once, then their sum. */
void wf_fan(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    chain_state *st = state;
    int n = input_int(tc_wf_input(ctx, 0), "n", 3);
    tc_future **fs = calloc((size_t)n, sizeof *fs);
    if (!fs) {
        tc_wf_fail(ctx, "OutOfMemory", "fan-out", false);
        return;
    }
    for (int i = 0; i < n; i++)
        fs[i] = tc_wf_activity_start(ctx, "Inc", "0", &k_act);
    int rc = tc_wf_wait_all(ctx, fs, (size_t)n);
    for (int i = 0; rc == TC_OK && i < n; i++) {
        tc_wf_result r;
        tc_future_get(ctx, fs[i], &r);
        st->done += atoi(r.result_json);
    }
    free(fs);
    if (rc != TC_OK) {
        tc_wf_fail(ctx, "FanFailed", tc_code_name(rc), false);
        return;
    }
    char out[64];
    snprintf(out, sizeof out, "{\"sum\":%d}", st->done);
    tc_wf_complete(ctx, out);
}

int tw_register_all(tc_worker *w, tc_error *err)
{
    int rc = tc_worker_register_workflow(w, "Greet", wf_greet, 0, NULL, err);
    if (!rc)
        rc = tc_worker_register_workflow(w, "Chain", wf_chain, sizeof(chain_state), NULL, err);
    if (!rc)
        rc = tc_worker_register_query(w, "Chain", "progress", q_chain_progress, NULL, err);
    if (!rc)
        rc = tc_worker_register_workflow(w, "Steps", wf_steps, 0, NULL, err);
    if (!rc)
        rc = tc_worker_register_workflow(w, "Fan", wf_fan, sizeof(chain_state), NULL, err);
    if (!rc)
        rc = tc_worker_register_activity(w, "Hello", act_hello, NULL, err);
    if (!rc)
        rc = tc_worker_register_activity(w, "Inc", act_inc, NULL, err);
    if (!rc)
        rc = tc_worker_register_activity(w, "Step", act_step, NULL, err);
    return rc;
}
