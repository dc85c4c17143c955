/* activity_heartbeat.h - throttled activity heartbeats and the worker's stop as running activities
 * see it (activity_heartbeat.c). Private to the worker. */
#ifndef TEMPORAL_ACTIVITY_HEARTBEAT_H
#define TEMPORAL_ACTIVITY_HEARTBEAT_H

#include "worker_internal.h"

/* The heartbeat state of one running activity task. */
typedef struct tc_hb tc_hb;

/* Registers the state of task t (borrowed until tc_hb_end) before its function runs; labels
 * (copied) tag the heartbeat calls the heartbeat thread makes for it in the worker's metrics.
 * NULL out of memory. Executor threads. */
tc_hb *tc_hb_begin(struct tc_worker *w, const tc_act_task *t, const char *labels);
/* Unregisters it (waiting for a heartbeat call in flight for it) and returns the latest details
 * recorded, sent or not (malloc'd, caller frees; NULL when none): a failure carries them as
 * last_heartbeat_details, so the next attempt resumes from them. NULL h is fine. */
char *tc_hb_end(tc_hb *h);
/* A heartbeat with details (JSON, may be NULL): sent now when the throttle interval (0.8 x the
 * heartbeat timeout, at most 60 s; 30 s without a timeout) is over, else kept so the heartbeat
 * thread sends the latest details when it is. TC_OK, TC_ERR_CANCELLED (cancel requested by
 * the server, or the worker's graceful stop timeout passed), TC_ERR_NOT_FOUND (the server no
 * longer knows the activity), or the call's error. */
int tc_hb_record(tc_hb *h, const char *details_json, tc_error *err);
/* TC_ACTIVITY_CANCEL_* (temporal_worker.h). */
int tc_hb_cancel_reason(tc_hb *h);

/* The worker's side: set up / tear down the lock and conditions (tc_worker_new / free), the
 * heartbeat thread (tc_worker_start; stopped after the executors are joined). */
int tc_hb_init(struct tc_worker *w);
void tc_hb_destroy(struct tc_worker *w);
int tc_hb_start(struct tc_worker *w, tc_error *err);
void tc_hb_stop(struct tc_worker *w);

/* The stop began (w->stop is set): wakes activities waiting for it. */
void tc_hb_worker_stopping(struct tc_worker *w);
/* The graceful timeout passed: every running activity (and any started later) is cancelled
 * with reason WORKER_SHUTDOWN. */
void tc_hb_cancel_all(struct tc_worker *w);
/* Blocks until the worker is stopping (true) or timeout_ms passed (false; negative: no
 * timeout). */
bool tc_hb_wait_stop(struct tc_worker *w, int timeout_ms);

#endif
