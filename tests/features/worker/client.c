/* client.c - features/client: the C worker's own connection is what these features test (the
 * HTTP CONNECT proxy from FEATURE_HTTP_PROXY, see main.c); the workflow only returns "done". */
#include "features.h"

static void done_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_complete(ctx, "\"done\"");
}

static const feat_workflow done_wf[] = {{"Workflow", done_workflow, 0}, {NULL, NULL, 0}};

const feature feat_client_features[] = {
    {"client/http_proxy", done_wf, NULL},
    {"client/http_proxy_auth", done_wf, NULL},
    {NULL, NULL, NULL},
};
