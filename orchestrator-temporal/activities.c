/* activities.c - the ten saga activities: one attempt of one saga step per activity task,
 * through saga/ (never a direct service call). Maps saga outcomes onto Temporal failures:
 * business errors are non-retryable ApplicationFailures, everything else is retried by the server. */
#include "ot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_log.h"
#include "cm_metrics.h"

/* What every activity execution needs; one per worker, read-only after registration. */
static struct ot_activity_env {
    struct saga_client *client;
    metrics_registry *metrics;
} g_env;

static void count(const char *type, const char *outcome)
{
    char labels[128];
    if (g_env.metrics == NULL)
        return;
    snprintf(labels, sizeof labels, "activity=\"%s\",outcome=\"%s\"", type, outcome);
    metrics_counter_add(g_env.metrics, "saga_activities_total",
                        "Saga activity attempts by activity type and outcome (ok, business, "
                        "retryable)",
                        labels, 1);
}

/* A retryable failure: saga_step_retries_total{step,outcome} (the answer: http_<status>,
 * in_flight, transport - as orchestrator-pure counts them) and the live retry entry. */
static void retried(tc_activity_ctx *ctx, const char *type, const char *wid,
                    const saga_error_t *err)
{
    char labels[128], outcome[24];
    saga_retry_outcome(err, outcome, sizeof outcome);
    if (g_env.metrics != NULL) {
        snprintf(labels, sizeof labels, "step=\"%s\",outcome=\"%s\"", type, outcome);
        metrics_counter_add(g_env.metrics, "saga_step_retries_total",
                            "Saga step attempts that failed retryably, by step and answer", labels,
                            1);
    }
    saga_step_t step = saga_step_from_name(type);
    if (wid != NULL && step != SAGA_STEP_NONE)
        ot_live_retry(wid, step, tc_activity_attempt(ctx), err->message);
}

static void run_activity(tc_activity_ctx *ctx, void *user)
{
    const struct ot_activity_env *env = user;
    const char *type = tc_activity_type(ctx);
    const char *wid = tc_activity_workflow_id(ctx);
    const char *input = tc_activity_input(ctx, 0);
    char *out = NULL;
    saga_error_t err;

    log_set_saga_id(wid);
    if (input == NULL) {
        tc_activity_fail(ctx, SAGA_TYPE_INVALID_REQUEST, "activity input is missing", true);
        goto out;
    }
    int rc = saga_step_run_json(env->client, type, input, &out, &err);
    if (rc == SAGA_OK || rc == SAGA_ERR_BUSINESS || rc == SAGA_ERR_INVALID)
        ot_live_retry_end(wid, saga_step_from_name(type)); /* the step ended */
    switch (rc) {
    case SAGA_OK:
        tc_activity_complete(ctx, out);
        count(type, "ok");
        log_debug("activity %s ok (attempt %d)", type, tc_activity_attempt(ctx));
        break;
    case SAGA_ERR_BUSINESS:
    case SAGA_ERR_INVALID:
        /* Retrying cannot change the answer: non_retryable, and the workflow compensates. */
        log_info("activity %s business failure %s: %s", type, err.type, err.message);
        tc_activity_fail(ctx, err.type[0] ? err.type : SAGA_TYPE_INVALID_REQUEST, err.message,
                         true);
        count(type, "business");
        break;
    default:
        log_warn("activity %s attempt %d failed (retryable, http %d): %s", type,
                 tc_activity_attempt(ctx), err.http_status, err.message);
        tc_activity_fail(ctx, SAGA_TYPE_RETRYABLE, err.message[0] ? err.message : "out of memory",
                         false);
        count(type, "retryable");
        retried(ctx, type, wid, &err);
        break;
    }
out:
    free(out);
    log_set_saga_id(NULL);
}

int ot_activities_register(tc_worker *w, struct saga_client *client,
                           struct metrics_registry *metrics, tc_error *err)
{
    g_env.client = client;
    g_env.metrics = metrics;
    for (int s = 0; s < SAGA_STEP_COUNT; s++) {
        int rc = tc_worker_register_activity(w, saga_step_activity((saga_step_t)s), run_activity,
                                             &g_env, err);
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}
