/* cmd_families.h - the child workflow, external workflow and update command families, and the
 * hooks the runtime calls them through (events, activations, task messages). Not public. */
#ifndef TEMPORAL_CMD_FAMILIES_H
#define TEMPORAL_CMD_FAMILIES_H

#include "wf_run.h"

#include "temporal/api/protocol/v1/message.pb-c.h"

extern const tc_cmd_family tc_family_child, tc_family_external, tc_family_update;

/* ---- cmd_external.c ---- */

/* What an external cancel command does to its future when the target's cancellation was
 * recorded (ExternalWorkflowExecutionCancelRequested) or refused. */
enum {
    EXT_RESOLVE_OK = 0,        /* tc_wf_cancel_external: TC_OK / TC_ERR_FAILED */
    EXT_RESOLVE_CANCELLED = 1, /* a child in TC_CHILD_CANCEL_WAIT_REQUESTED: the future is the
                                  child's result, resolved TC_ERR_CANCELLED on the request and
                                  left to the child's close event on a refusal */
};

/* Makes a SignalExternalWorkflowExecution command (packed when the run is live) whose future
 * (FK_OTHER, detached as given) resolves when history says how it went. NULL out of memory
 * (the run is failed). */
tc_future *tc_external_signal(tc_run *r, const char *workflow_id, const char *run_id,
                              const char *signal_name, const char *const *args, size_t n_args,
                              bool child_only, bool detached);

/* Makes a RequestCancelExternalWorkflowExecution command. fut (may be NULL) is resolved per
 * resolve_mode (EXT_RESOLVE_*). Returns false out of memory (the run is failed). */
bool tc_external_cancel(tc_run *r, const char *workflow_id, const char *run_id, bool child_only,
                        tc_future *fut, int resolve_mode);

/* ---- cmd_update.c: hooks of the runtime ---- */

/* The protocol messages of the workflow task being answered (poll response `messages`): update
 * requests are queued and delivered to the code in the task's live activation, after its
 * events. A message that is not an update request fails the task (TC_ERR_PROTOCOL naming it);
 * a malformed request is rejected when delivered. Called before tc_run_feed. */
int tc_update_incoming(tc_run *r, Temporal__Api__Protocol__V1__Message *const *msgs, size_t n,
                       tc_error *err);
/* A WorkflowExecutionUpdateAdmitted event: its request is queued for the next activation. */
int tc_update_admitted(tc_run *r, const tc_pb_event *ev, tc_error *err);
/* Start of an activation, before the code runs: clears the messages of the previous one and
 * delivers the queued requests (live: with validation) and, on replay, the requests the
 * activation's recorded WorkflowExecutionUpdateAccepted events carry. */
void tc_update_activation_begin(tc_run *r, bool replay);
/* End of an activation (every coroutine blocked): rejects the requests no handler took. */
void tc_update_activation_end(tc_run *r);
/* The protocol messages the last activation made, in order (packed
 * temporal.api.protocol.v1.Message; borrowed from the run). */
size_t tc_update_outgoing(const tc_run *r, uint8_t *const **packed, const size_t **lens);

#endif
