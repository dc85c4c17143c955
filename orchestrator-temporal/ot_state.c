/* ot_state.c - where the status endpoint gets a running saga's state (getState's JSON) without
 * waiting for the workflow task in flight: this worker's live state, the query, or the history
 * recorded so far replayed here. Reads only; never changes a run. */
#include "ot.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cm_log.h"

#define OT_QUERY_MS      3000 /* a getState query gives up after this long */
#define OT_QUERY_HELD_MS 1000 /* a workflow task in flight this long is held open by local steps */

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* True when a workflow task of the run has been in flight (its heartbeat chain included) for
 * OT_QUERY_HELD_MS: a query is answered only once that chain ends (the server does not hand
 * queries to a heartbeat), so with a step held it would wait as long as the step. */
static bool task_held(const tc_workflow_info *info)
{
    return info->task_started_ms > 0 && info->task_first_scheduled_ms > 0 &&
           wall_ms() - info->task_first_scheduled_ms >= OT_QUERY_HELD_MS;
}

/* The state OrderWorkflow reaches by replaying the history recorded so far: after the last
 * completed workflow task (with local steps, their last heartbeat), so it may lag the worker
 * by up to one heartbeat (80 % of the task timeout). TC_ERR_NOT_FOUND when no task completed
 * yet. */
static int from_history(tc_client *tc, const char *wid, const char *run_id, char **json,
                        tc_error *err)
{
    tc_history *h = NULL;
    ot_wf_state st;
    memset(&st, 0, sizeof st);
    int rc = tc_workflow_history(tc, wid, run_id, &h, err);
    if (rc == TC_OK)
        rc = tc_replay_history(h, ot_order_workflow, &st, sizeof st, NULL, err);
    tc_history_free(h);
    if (rc == TC_OK && !st.has_input && !st.finished) {
        err->code = rc = TC_ERR_NOT_FOUND;
        snprintf(err->text, sizeof err->text, "no workflow task of %s has completed yet", wid);
    }
    if (rc == TC_OK)
        rc = ot_query_state(&st, NULL, 0, NULL, json, err);
    return rc;
}

int ot_saga_state(tc_client *tc, const tc_workflow_info *info, const char *wid, char **json,
                  const char **source, tc_error *err)
{
    ot_wf_state st;
    *json = NULL;
    if (ot_live_state(wid, &st) && st.local) {
        /* Driven here with local steps: the workflow task running them is in this process,
         * and its state is what a query would answer once that task ends. */
        *source = "worker";
        return ot_query_state(&st, NULL, 0, NULL, json, err);
    }
    if (!task_held(info)) {
        *source = "query";
        int rc = tc_workflow_query_within(tc, wid, info->run_id, OT_QUERY_STATE, NULL, OT_QUERY_MS,
                                          json, err);
        if (rc == TC_OK)
            return rc;
        log_warn("query %s of %s: %s; reading its history", OT_QUERY_STATE, wid, err->text);
    }
    *source = "history";
    return from_history(tc, wid, info->run_id, json, err);
}
