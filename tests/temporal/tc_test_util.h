/* tc_test_util.h - helpers for the temporal bridge stack tests: unique names, an in-process
 * worker, bounded waits. Test code only; header-only to keep each test one file. */
#ifndef TC_TEST_UTIL_H
#define TC_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "temporal.h"

static inline void tt_unique(char *buf, size_t cap, const char *prefix)
{
    static unsigned seq;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, cap, "%s-%ld-%lx-%u", prefix, (long)getpid(),
             (unsigned long)(ts.tv_sec * 1000000000L + ts.tv_nsec) & 0xffffffUL, ++seq);
}

static inline void tt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#define TT_OK(call)                                         \
    do {                                                    \
        tc_error e_ = {0};                                  \
        int rc_ = (call);                                   \
        (void)e_;                                           \
        if (rc_ != TC_OK)                                   \
            fail_msg("%s -> %s", #call, tc_code_name(rc_)); \
    } while (0)

static inline tc_client *tt_client(void)
{
    tc_client *c = NULL;
    tc_error err = {0};
    if (tc_client_new(NULL, &c, &err) != TC_OK)
        fail_msg("client: %s", err.text);
    if (tc_client_wait_ready(c, 30000, &err) != TC_OK)
        fail_msg("server not ready (start it with scripts/stack up): %s", err.text);
    return c;
}

/* Loads <dir>/<name>.history.pb (a recorded fixture), failing the test when it cannot. */
static inline tc_history *tt_load_history(const char *dir, const char *name)
{
    char path[1024];
    tc_history *h = NULL;
    tc_error err = {0};
    snprintf(path, sizeof path, "%s/%s.history.pb", dir, name);
    if (tc_history_load(path, &h, &err) != TC_OK)
        fail_msg("load %s: %s", path, err.text);
    return h;
}

/* The history of a run (run_id NULL: the latest), failing the test when it cannot be read;
 * the caller frees it with tc_history_free. */
static inline tc_history *tt_history(tc_client *c, const char *wid, const char *run_id)
{
    tc_history *h = NULL;
    tc_error err = {0};
    if (tc_workflow_history(c, wid, run_id, &h, &err) != TC_OK)
        fail_msg("history of %s: %s", wid, err.text);
    return h;
}

/* How many events of type t the history holds. */
static inline size_t tt_count_events(const tc_history *h, int t)
{
    size_t n = 0;
    for (size_t i = 0; i < tc_history_length(h); i++)
        n += tc_history_event_type(h, i) == t;
    return n;
}

/* Index of the first event of type t at or after from, or -1. */
static inline long tt_find_event(const tc_history *h, int t, size_t from)
{
    for (size_t i = from; i < tc_history_length(h); i++)
        if (tc_history_event_type(h, i) == t)
            return (long)i;
    return -1;
}

#define TT_EV_WORKFLOW_TASK_COMPLETED 7
#define TT_EV_WORKFLOW_TASK_FAILED    9
#define TT_EV_ACTIVITY_TASK_COMPLETED 12

#endif
