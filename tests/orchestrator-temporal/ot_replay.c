/* ot_replay.c - test helper: fetches a finished OrderWorkflow history from the server and
 * replays it against ot_order_workflow (must match), and against a deliberately different
 * workflow (must be reported as non-deterministic, proving the check can fail).
 * Usage: ot_replay <workflowId>   (TEMPORAL_ADDRESS as for the daemon). Exit 0 = both held. */
#include <stdio.h>
#include <string.h>

#include "ot.h"

/* The saga with ReserveStock left out: its commands diverge from any real history at step 2. */
static void skipping_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    static const char *const steps[] = {"CreateOrder", "CreatePayment"};
    tc_activity_options o = {.start_to_close_ms = 30000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        o.activity_id = i == 0 ? "createOrder" : "createPayment";
        if (tc_wf_activity(ctx, steps[i], tc_wf_input(ctx, 0), &o, NULL) != TC_WF_DONE)
            return;
    }
    tc_wf_complete(ctx, "{}");
}

int main(int argc, char **argv)
{
    tc_client *c = NULL;
    tc_history *h = NULL;
    tc_error err;
    ot_wf_state st;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <workflowId>\n", argv[0]);
        return 2;
    }
    if (tc_client_new(NULL, &c, &err) != TC_OK ||
        tc_workflow_history(c, argv[1], NULL, &h, &err) != TC_OK) {
        fprintf(stderr, "history of %s: %s\n", argv[1], err.text);
        goto out;
    }
    memset(&st, 0, sizeof st);
    if (tc_replay_history(h, ot_order_workflow, &st, sizeof st, NULL, &err) != TC_OK) {
        fprintf(stderr, "replay of %s disagrees with OrderWorkflow: %s\n", argv[1], err.text);
        goto out;
    }
    if (!st.finished) {
        fprintf(stderr, "replay of %s did not reach the end of the saga\n", argv[1]);
        goto out;
    }
    if (tc_replay_history(h, skipping_workflow, NULL, 0, NULL, &err) != TC_ERR_STATE) {
        fprintf(stderr, "a workflow without ReserveStock replayed %s without complaint\n", argv[1]);
        goto out;
    }
    printf("%s: replay ok (%zu events, success=%d, orderId=%lld, paymentId=%lld)\n", argv[1],
           tc_history_length(h), st.success, (long long)st.st.order_id,
           (long long)st.st.payment_id);
    rc = 0;
out:
    tc_history_free(h);
    tc_client_free(c);
    return rc;
}
