/* poll.c - the long poll both task kinds share: one PollWorkflowTaskQueue or
 * PollActivityTaskQueue call that a shutdown can cancel (or the server complete), with the
 * worker's back-off after an error and the poll's metrics. Must not handle the task it
 * returns. */
#include "metrics.h"
#include "worker_internal.h"

#include <string.h>
#include <time.h>

/* True when the reply carries a task (a non-empty task_token): an expired long poll, or one the
 * server completed at a shutdown, is an empty reply. */
static bool has_task(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *fd =
        m ? protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "task_token") : NULL;
    return fd && ((const ProtobufCBinaryData *)((const char *)m + fd->offset))->len > 0;
}

static void count_outcome(tc_worker *w, poller *p, bool task)
{
    static const char *const names[][2] = {
        /* [kind][task] */
        {"temporal_workflow_task_queue_poll_empty", "temporal_workflow_task_queue_poll_succeed"},
        {"temporal_workflow_task_queue_poll_empty", "temporal_workflow_task_queue_poll_succeed"},
        {"temporal_activity_poll_no_task", "temporal_activity_task_received"},
    };
    tc_labels l;
    tc_labels_init(&l);
    tc_labels_append(&l, w->metric_labels);
    tc_labels_add(&l, "poller_type",
                  p->kind == POLL_ACTIVITY    ? "activity_task"
                  : p->kind == POLL_WF_STICKY ? "sticky_workflow_task"
                                              : "workflow_task");
    tc_metrics_record(w->metrics, TC_MK_COUNTER, names[p->kind][task],
                      task ? "Polls that returned a task" : "Polls that returned no task", &l, 1,
                      NULL);
}

int tc_worker_poll(tc_worker *w, poller *p, const char *rpc, const ProtobufCMessage *rq,
                   const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
    tc_error err = {0};
    *resp = NULL;
    /* Counted under pmu against the stop flag: a stop either sees this poll in flight (and may
     * wait for the server to complete it) or this poll never starts. */
    pthread_mutex_lock(&w->pmu);
    if (atomic_load(&w->stop)) {
        pthread_mutex_unlock(&w->pmu);
        return TC_ERR_CANCELLED;
    }
    w->polls_active++;
    pthread_mutex_unlock(&w->pmu);
    tc_worker_note_poll(w);
    tc_rpc_scope scope = {w->metrics, w->metric_labels};
    const tc_rpc_scope *old = tc_rpc_scope_set(&scope);
    int rc = tc_rpc(w->c, rpc, rq, resp_desc, resp, TC_POLL_TIMEOUT_MS, TC_RPC_NO_RETRY, &p->cancel,
                    &err);
    tc_rpc_scope_set(old);
    pthread_mutex_lock(&w->pmu);
    if (--w->polls_active == 0)
        pthread_cond_broadcast(&w->pcv);
    pthread_mutex_unlock(&w->pmu);
    if (rc == TC_OK)
        count_outcome(w, p, has_task(*resp));
    if (rc == TC_ERR_CANCELLED)
        atomic_fetch_add(&w->st_polls_cancelled, 1);
    /* An expired long poll or a shutdown cancelling it is no error; anything else waits 1 s
     * so a broken connection does not turn the poller into a busy loop. */
    if (rc != TC_OK && rc != TC_ERR_TIMEOUT && rc != TC_ERR_CANCELLED && !atomic_load(&w->stop)) {
        tc_logf(&w->log, TC_LOG_WARN, NULL, NULL, NULL, "%s: %s", rpc, err.text);
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    return rc;
}
