/* la_workflows.h - workflows with local activities shared by the local activity tests: GoLocal,
 * the C twin of tests/temporal/gola's Go SDK workflow (same local activities, options and
 * order), so histories of either replay on the other. Test code only. */
#ifndef LA_WORKFLOWS_H
#define LA_WORKFLOWS_H

#include <stdio.h>
#include <string.h>

#include "temporal.h"

typedef struct go_local_state {
    char out[256]; /* "a|3|2|OutOfStock|x|y" */
} go_local_state;

/* GoLocal of tests/temporal/gola, in C: the same local activities with the same options. */
static inline void wf_go_local(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    go_local_state *st = state;
    tc_local_activity_options o = {.start_to_close_ms = 10000};
    tc_retry_policy fast = {.initial_interval_ms = 10, .backoff_coefficient = 1.0};
    tc_retry_policy slow = {.initial_interval_ms = 2000, .backoff_coefficient = 1.0};
    const char *type[] = {"Echo", "Flaky", "Flaky", "Refuse"};
    const char *in[] = {"\"a\"", "3", "2", NULL};
    const tc_retry_policy *rp[] = {NULL, &fast, &slow, NULL};
    char part[64];
    tc_wf_result r;
    for (int i = 0; i < 4; i++) {
        o.retry = rp[i];
        int rc = tc_wf_local_activity(ctx, type[i], in[i], &o, &r);
        if (rc == TC_OK && sscanf(r.result_json, "\"%63[^\"]", part) != 1)
            snprintf(part, sizeof part, "%s", r.result_json);
        else if (rc != TC_OK)
            snprintf(part, sizeof part, "%s", r.failure_type);
        strcat(st->out, i ? "|" : "");
        strcat(st->out, part);
    }
    o.retry = NULL;
    tc_future *f[2] = {tc_wf_local_activity_start(ctx, "Echo", "\"x\"", &o),
                       tc_wf_local_activity_start(ctx, "Echo", "\"y\"", &o)};
    for (int i = 0; i < 2; i++) {
        if (tc_future_get(ctx, f[i], &r) != TC_OK)
            return;
        if (sscanf(r.result_json, "\"%63[^\"]", part) == 1) {
            strcat(st->out, "|");
            strcat(st->out, part);
        }
    }
    char json[300];
    snprintf(json, sizeof json, "\"%s\"", st->out);
    tc_wf_complete(ctx, json);
}

#endif
