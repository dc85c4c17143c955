/* eager.c - features/eager_workflow/successful_start: the worker's process starts the workflow
 * itself with eager start (the starter and the worker must share a client) and reports whether
 * the first workflow task came back in the start response. */
#include "features.h"

#include <stdio.h>
#include <stdlib.h>

static void hello_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_complete(ctx, "\"Hello World\"");
}

/* FEATURE_START_WORKFLOW_ID (set by the harness): start it eagerly, print "FEATURE-REPORT
 * eager=N" with N the starts whose first task this worker received in the response. */
int feat_eager_start(tc_client *c, const char *task_queue)
{
    const char *id = getenv("FEATURE_START_WORKFLOW_ID");
    if (!id || !*id)
        return TC_OK;
    bool eager = false;
    tc_start_options so = {.workflow_id = id,
                           .workflow_type = "Workflow",
                           .task_queue = task_queue,
                           .task_timeout_ms = 3600 * 1000, /* a retried task would hang */
                           .execution_timeout_ms = 60 * 1000,
                           .request_eager_start = true,
                           .eager_started = &eager};
    tc_error err = {0};
    int rc = tc_workflow_start(c, &so, NULL, 0, NULL, &err);
    if (rc != TC_OK)
        fprintf(stderr, "features-worker: eager start of %s: %s\n", id, err.text);
    printf("FEATURE-REPORT eager=%d\n", eager ? 1 : 0);
    fflush(stdout);
    return rc;
}

const feature feat_eager_features[] = {
    {"eager_workflow/successful_start",
     (const feat_workflow[]){{"Workflow", hello_workflow, 0}, {NULL, NULL, 0}}, NULL},
    {NULL, NULL, NULL},
};
