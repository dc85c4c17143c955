/* test_workflows.h - workflows and activities shared by the temporal bridge tests, the replay
 * unit tests and the test worker program. Test code only. */
#ifndef TEST_WORKFLOWS_H
#define TEST_WORKFLOWS_H

#include "temporal.h"

/* Greet: input "name" -> activity Hello -> "Hello, name!" */
void wf_greet(tc_wf_ctx *ctx, void *state, void *user);
/* Greet changed: calls Hi instead of Hello (non-determinism against Greet histories). */
void wf_greet_changed(tc_wf_ctx *ctx, void *state, void *user);
void act_hello(tc_activity_ctx *ctx, void *user);

/* Chain: input {"n":N} -> N sequential Inc activities -> {"sum":N}. state: chain_state. */
typedef struct chain_state {
    int done;
} chain_state;
void wf_chain(tc_wf_ctx *ctx, void *state, void *user);
void act_inc(tc_activity_ctx *ctx, void *user);
int q_chain_progress(const void *state, const char *const *args, size_t n_args, void *user,
                     char **out, tc_error *err);

/* Fan: input {"n":N} -> N Inc activities in parallel -> {"sum":N}. state: chain_state. */
void wf_fan(tc_wf_ctx *ctx, void *state, void *user);

/* Steps: input {"dir":"...","n":N} -> N activities Step, each creating <dir>/step-<i> once
 * (O_EXCL) and appending to <dir>/attempts; result {"steps":N}. */
void wf_steps(tc_wf_ctx *ctx, void *state, void *user);
void act_step(tc_activity_ctx *ctx, void *user);

/* Cancel: LongBeat activity (heartbeat timeout 1 s, wait-cancellation-completed), 1.5 s timer,
 * cancel the activity, complete with {"ok":false,"type":"CanceledError"} once it acknowledged
 * (the LongBeat activity lives in the stack test). */
void wf_cancel(tc_wf_ctx *ctx, void *state, void *user);
/* Cancel's first steps: LongBeat started as above, then the 1.5 s sleep. Returns the activity's
 * future, or NULL when the sleep did not end normally (the run is ending). */
tc_future *tw_long_beat_then_sleep(tc_wf_ctx *ctx);

/* A flaky activity's body: fails the attempts below until (retryable "Transient"), then completes
 * with the attempt number. */
void tw_fail_until(tc_activity_ctx *ctx, int until);

/* Completes the run with an activity's outcome (rc and r of tc_wf_activity or
 * tc_wf_local_activity) as JSON: {"ok":true,"result":R}, or {"ok":false,"type":T,"nr":B}. */
void tw_complete_outcome(tc_wf_ctx *ctx, int rc, const tc_wf_result *r);

/* Register everything above on w (Greet, Chain, Steps + their activities). */
int tw_register_all(tc_worker *w, tc_error *err);

#endif
