/* hist_families.h - crafted history events of the child workflow, external workflow and update
 * families, and update request messages as a poll response carries them, for the unit tests.
 * Test code only; builds on hist_builder.h. */
#ifndef HIST_FAMILIES_H
#define HIST_FAMILIES_H

#include "hist_builder.h"

#include "temporal/api/protocol/v1/message.pb-c.h"

/* Child workflows: each returns or takes the StartChildWorkflowExecutionInitiated event id. */
int64_t hbf_child_initiated(hb *b, const char *workflow_id, const char *workflow_type);
void hbf_child_start_failed(hb *b, int64_t initiated, int cause);
int64_t hbf_child_started(hb *b, int64_t initiated, const char *run_id);
void hbf_child_completed(hb *b, int64_t initiated, int64_t started, const char *result_json);
void hbf_child_failed(hb *b, int64_t initiated, int64_t started, const char *type,
                      const char *message, const char *details_json);
void hbf_child_canceled(hb *b, int64_t initiated, int64_t started);
void hbf_child_timed_out(hb *b, int64_t initiated, int64_t started);
void hbf_child_terminated(hb *b, int64_t initiated, int64_t started);

/* Other workflows: signal and cancel requests and their outcomes. */
int64_t hbf_signal_initiated(hb *b, const char *workflow_id, const char *signal_name,
                             bool child_only);
void hbf_signaled(hb *b, int64_t initiated);
void hbf_signal_failed(hb *b, int64_t initiated, int cause);
int64_t hbf_cancel_initiated(hb *b, const char *workflow_id, bool child_only);
void hbf_cancel_requested(hb *b, int64_t initiated);
void hbf_cancel_failed(hb *b, int64_t initiated, int cause);

/* Updates. accepted: with_request false leaves accepted_request out (an admitted update). */
int64_t hbf_update_accepted(hb *b, const char *update_id, const char *name, const char *arg_json,
                            bool with_request);
void hbf_update_completed(hb *b, const char *update_id, int64_t accepted, const char *result_json);
void hbf_update_admitted(hb *b, const char *update_id, const char *name, const char *arg_json);

/* An update request message (heap; free with ..._message__free_unpacked). arg_json NULL: no
 * argument. */
Temporal__Api__Protocol__V1__Message *hbf_update_request(const char *update_id, const char *name,
                                                         const char *arg_json, int64_t seq);

#endif
