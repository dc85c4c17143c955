/* worker_replay.c - tc_worker_replay_history: a recorded history replayed on what a worker
 * registered for its workflow type (function, state size, update handlers). No server. */
#include "worker_internal.h"

int tc_worker_replay_history(const tc_worker *w, const tc_history *h, void *state,
                             size_t state_size, tc_error *err)
{
    if (!w || !h)
        return tc_seterr(err, TC_ERR_INVALID, "worker and history are required");
    const tc_pb_event *first = h->n ? h->events[0] : NULL;
    const char *type = first && first->event_type == TC_ET(WORKFLOW_EXECUTION_STARTED) &&
                               tc_event_attrs_ok(first) &&
                               first->workflow_execution_started_event_attributes->workflow_type
                           ? first->workflow_execution_started_event_attributes->workflow_type->name
                           : NULL;
    const wf_reg *reg = tc_reg_workflow(w, type);
    if (!reg)
        return tc_seterr(err, TC_ERR_INVALID, "workflow type %s is not registered on this worker",
                         type ? type : "(no WorkflowExecutionStarted event)");
    tc_run_setup setup = {.fn = reg->fn,
                          .user = reg->user,
                          .state_size = reg->state_size,
                          .log = &w->log,
                          .updates = reg->updates,
                          .n_updates = reg->n_updates};
    return tc_replay_setup(h, &setup, state, state_size, err);
}
