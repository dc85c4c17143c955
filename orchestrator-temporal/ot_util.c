/* ot_util.c - pure helpers of orchestrator-temporal: new workflow ids and status names (the
 * contract's JSON shapes and ids from keys are saga/'s). No I/O except reading randomness for
 * new ids; no Temporal or HTTP calls. */
#include "ot.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int ot_workflow_id_new(char *buf, size_t cap)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    int n = snprintf(buf, cap,
                     OT_ID_PREFIX
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                     b[12], b[13], b[14], b[15]);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

const char *ot_status_name(int status)
{
    switch (status) {
    case TC_WF_RUNNING: return "RUNNING";
    case TC_WF_COMPLETED: return "COMPLETED";
    case TC_WF_FAILED: return "FAILED";
    case TC_WF_CANCELED: return "CANCELED";
    case TC_WF_TERMINATED: return "TERMINATED";
    case TC_WF_CONTINUED_AS_NEW: return "CONTINUED_AS_NEW";
    case TC_WF_TIMED_OUT: return "TIMED_OUT";
    default: return "UNKNOWN";
    }
}
