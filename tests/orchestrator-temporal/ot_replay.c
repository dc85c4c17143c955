/* ot_replay.c - test helper: fetches a finished OrderWorkflow history from the server and
 * replays it against ot_order_workflow (must match), and against a deliberately different
 * workflow (must be reported as non-deterministic, proving the check can fail).
 * Also saves histories as fixtures and replays saved ones without a server (usage in main).
 * TEMPORAL_ADDRESS as for the daemon. Exit 0 = both held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ot.h"
#include "temporal/api/enums/v1/event_type.pb-c.h"

/* The saga with ReserveStock left out: its commands diverge from any real history at step 2. */
static void skipping_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    static const char *const steps[] = {"CreateOrder", "CreatePayment"};
    tc_activity_options o = {.start_to_close_ms = 30000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        o.activity_id = i == 0 ? "createOrder" : "createPayment";
        if (tc_wf_activity(ctx, steps[i], tc_wf_input(ctx, 0), &o, NULL) != TC_OK)
            return;
    }
    tc_wf_complete(ctx, "{}");
}

/* The saga's forward steps, counting how often an input is built: replaying a successful run
 * must build each step's input once (when it is scheduled), never again on later workflow
 * tasks. The confirms are scheduled together (as OrderWorkflow does) or one at a time (as it
 * did before they ran concurrently, *concurrent == 0), matching the history replayed. */
static int g_builds;

static char *count_build(void *arg)
{
    (void)arg;
    g_builds++;
    return strdup("{}");
}

static char *no_options(void *arg)
{
    (void)arg;
    return strdup("{}");
}

static void lazy_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    const int *concurrent = user;
    tc_activity_options o = {.start_to_close_ms = 30000};
    tc_future *confirms[SAGA_FORWARD_COUNT];
    size_t n = 0;
    /* Runs since the patch record it and their options, and start the stuck timer right after
     * CreateOrder (OrderWorkflow's first task); a happy run ends before the timer fires. */
    bool v2 = tc_wf_patched(ctx, OT_PATCH_V2);
    const char *opts;
    if (v2 && tc_wf_side_effect(ctx, no_options, NULL, &opts) != TC_OK)
        return;
    for (saga_step_t s = SAGA_STEP_CREATE_ORDER; s != SAGA_STEP_NONE; s = saga_step_next(s)) {
        o.activity_id = saga_step_key(s);
        if (v2 && s == SAGA_STEP_CREATE_ORDER) {
            char *in = count_build(NULL);
            tc_future *f = tc_wf_activity_start(ctx, saga_step_activity(s), in, &o);
            free(in);
            tc_wf_timer_start(ctx, 60000);
            if (tc_future_get(ctx, f, NULL) != TC_OK)
                return;
        } else if (*concurrent && saga_step_after_pivot(s)) {
            char *in = count_build(NULL);
            confirms[n++] = tc_wf_activity_start(ctx, saga_step_activity(s), in, &o);
            free(in);
        } else if (tc_wf_activity_lazy(ctx, saga_step_activity(s), count_build, NULL, &o, NULL) !=
                   TC_OK) {
            return;
        }
    }
    if (tc_wf_wait_all(ctx, confirms, n) == TC_OK)
        tc_wf_complete(ctx, "{}");
}

/* 1 when some workflow task of h scheduled three activities at once (the confirms). */
static int confirms_scheduled_together(const tc_history *h)
{
    int run = 0;
    for (size_t i = 0; i < tc_history_length(h); i++) {
        int t = tc_history_event_type(h, i);
        run = t == TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                  ? run + 1
                  : 0;
        if (run >= 3)
            return 1;
    }
    return 0;
}

/* Replays h against OrderWorkflow (must match and finish) and the divergent workflow (must be
 * refused). Returns 0 when both held. */
static int check(const char *name, const tc_history *h)
{
    tc_error err;
    ot_wf_state st;
    memset(&st, 0, sizeof st);
    if (tc_replay_history(h, ot_order_workflow, &st, sizeof st, NULL, &err) != TC_OK) {
        fprintf(stderr, "replay of %s disagrees with OrderWorkflow: %s\n", name, err.text);
        return 1;
    }
    int success = st.m.phase == SAGA_PHASE_COMPLETED;
    if (!st.finished) {
        fprintf(stderr, "replay of %s did not reach the end of the saga\n", name);
        return 1;
    }
    if (tc_replay_history(h, skipping_workflow, NULL, 0, NULL, &err) != TC_ERR_NONDETERMINISM) {
        fprintf(stderr, "a workflow without ReserveStock replayed %s without complaint\n", name);
        return 1;
    }
    if (success && !st.local) { /* the lazy variant schedules activities: remote runs only */
        int concurrent = confirms_scheduled_together(h);
        g_builds = 0;
        if (tc_replay_history(h, lazy_workflow, NULL, 0, &concurrent, &err) != TC_OK) {
            fprintf(stderr, "lazy replay of %s failed: %s\n", name, err.text);
            return 1;
        }
        if (g_builds != SAGA_FORWARD_COUNT) {
            fprintf(stderr, "lazy replay of %s built %d inputs, want %d (one per step)\n", name,
                    g_builds, SAGA_FORWARD_COUNT);
            return 1;
        }
    }
    printf("%s: replay ok (%zu events, mode=%s, success=%d, cancelled=%d, confirms together=%d, "
           "orderId=%lld, paymentId=%lld)\n",
           name, tc_history_length(h), st.local ? "local" : "remote", success, st.cancelled,
           confirms_scheduled_together(h), (long long)st.st.order_id, (long long)st.st.payment_id);
    return 0;
}

/* ot_replay <workflowId>            fetch from the server and check
 * ot_replay --save <workflowId> <f> fetch, check, and save the history to file f
 * ot_replay --file <f>              check a saved history (no server) */
int main(int argc, char **argv)
{
    tc_client *c = NULL;
    tc_history *h = NULL;
    tc_error err;
    int rc = 1;
    const char *wid = NULL, *save = NULL, *file = NULL;

    if (argc == 2 && argv[1][0] != '-')
        wid = argv[1];
    else if (argc == 4 && strcmp(argv[1], "--save") == 0)
        wid = argv[2], save = argv[3];
    else if (argc == 3 && strcmp(argv[1], "--file") == 0)
        file = argv[2];
    else {
        fprintf(stderr, "usage: %s <workflowId> | --save <workflowId> <file> | --file <file>\n",
                argv[0]);
        return 2;
    }
    if (file != NULL) {
        if (tc_history_load(file, &h, &err) != TC_OK) {
            fprintf(stderr, "load %s: %s\n", file, err.text);
            goto out;
        }
    } else if (tc_client_new(NULL, &c, &err) != TC_OK ||
               tc_workflow_history(c, wid, NULL, &h, &err) != TC_OK) {
        fprintf(stderr, "history of %s: %s\n", wid, err.text);
        goto out;
    }
    rc = check(file != NULL ? file : wid, h);
    if (rc == 0 && save != NULL && tc_history_save(h, save, &err) != TC_OK) {
        fprintf(stderr, "save %s: %s\n", save, err.text);
        rc = 1;
    }
out:
    tc_history_free(h);
    tc_client_free(c);
    return rc;
}
