/* replay.c - tc_replay_history: a recorded history replayed against a workflow function through
 * the worker's own path (tc_run_feed) with no server, reporting the first disagreement. */
#include "wf_run.h"

#include <stdio.h>
#include <string.h>

/* The command closes the run (completes, fails, cancels or continues it as new). */
static bool closing(const tc_cmd *c)
{
    int t = c->kind->event_type;
    return t == TC_ET(WORKFLOW_EXECUTION_COMPLETED) || t == TC_ET(WORKFLOW_EXECUTION_FAILED) ||
           t == TC_ET(WORKFLOW_EXECUTION_CANCELED) ||
           t == TC_ET(WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
}

int tc_replay_history(const tc_history *h, tc_workflow_fn fn, void *state, size_t state_size,
                      void *user, tc_error *err)
{
    tc_run_setup setup = {.fn = fn, .user = user, .state_size = state_size};
    return tc_replay_setup(h, &setup, state, state_size, err);
}

int tc_replay_setup(const tc_history *h, const tc_run_setup *setup, void *state, size_t state_size,
                    tc_error *err)
{
    if (!h || !setup->fn)
        return tc_seterr(err, TC_ERR_INVALID, "history and fn are required");
    const char *wid = "replay";
    if (h->n && h->events[0]->event_type == TC_ET(WORKFLOW_EXECUTION_STARTED) &&
        tc_event_attrs_ok(h->events[0]) &&
        *h->events[0]->workflow_execution_started_event_attributes->workflow_id)
        wid = h->events[0]->workflow_execution_started_event_attributes->workflow_id;
    tc_run *r = tc_run_new(wid, "replay", setup);
    if (!r)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    /* Every completed workflow task is replayed, as a worker does on a cache miss; a task still
     * running at the end of the history is not (its commands were never recorded). */
    int rc = tc_run_feed(r, h->events, h->n, 0, err);
    if (rc == TC_OK && r->fail_code)
        rc = tc_seterr(err, r->fail_code, "%s", r->fail_text);
    if (rc == TC_OK) {
        tc_cmd *const *cmds;
        size_t n = tc_run_new_commands(r, &cmds);
        for (size_t i = 0; i < n; i++) {
            if (cmds[i]->state != CMD_SENT)
                continue;
            /* A run that settled before its close (settle_before_close) has its closing
             * command recorded by the task after the one whose code made it: a history of the
             * run still open (no event of it closed the run: r->closed is false), cut before
             * that task completed, ends without it. */
            if (closing(cmds[i]) && !r->closed)
                continue;
            /* The last task made a command its WorkflowTaskCompleted did not record. */
            if (*cmds[i]->id)
                rc = tc_seterr(err, TC_ERR_NONDETERMINISM,
                               "the workflow code made %s(id=%s%s%s) but history ends without it",
                               cmds[i]->kind->name, cmds[i]->id, *cmds[i]->type ? ", type=" : "",
                               cmds[i]->type);
            else
                rc = tc_seterr(err, TC_ERR_NONDETERMINISM,
                               "the workflow code made %s but history ends without it",
                               cmds[i]->kind->name);
            break;
        }
    }
    if (state && state_size && r->state)
        memcpy(state, r->state, state_size < setup->state_size ? state_size : setup->state_size);
    tc_run_free(r);
    return rc;
}
