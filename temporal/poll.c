/* poll.c - the long poll both task kinds share: one PollWorkflowTaskQueue or
 * PollActivityTaskQueue call that a shutdown can cancel, with the worker's back-off after an
 * error. Must not handle the task it returns. */
#include "worker_internal.h"

#include <time.h>

int tc_worker_poll(tc_worker *w, poller *p, const char *rpc, const ProtobufCMessage *rq,
                   const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
    tc_error err = {0};
    tc_worker_note_poll(w);
    int rc = tc_rpc(w->c, rpc, rq, resp_desc, resp, TC_POLL_TIMEOUT_MS, TC_RPC_NO_RETRY, &p->cancel,
                    &err);
    /* An expired long poll or a shutdown cancelling it is no error; anything else waits 1 s
     * so a broken connection does not turn the poller into a busy loop. */
    if (rc != TC_OK && rc != TC_ERR_TIMEOUT && rc != TC_ERR_CANCELLED && !atomic_load(&w->stop)) {
        tc_logf(&w->log, TC_LOG_WARN, NULL, NULL, NULL, "%s: %s", rpc, err.text);
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    return rc;
}
