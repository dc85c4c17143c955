/* tc_test_util.h - helpers for the temporal bridge stack tests: unique names, an in-process
 * worker, bounded waits. Test code only; header-only to keep each test one file. */
#ifndef TC_TEST_UTIL_H
#define TC_TEST_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
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

/* Checks that the program got at least n arguments, named in usage ("TEMPORAL_CLI GOPEER");
 * without them, prints a usage line and exits with status 2. */
static inline void tt_args(int argc, char **argv, int n, const char *usage)
{
    if (argc < n + 1) {
        fprintf(stderr, "usage: %s %s\n", argv[0], usage);
        exit(2);
    }
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

/* The group set-up and tear-down of a stack test with one client, one worker and one queue of
 * its own: defines setup() and teardown() over the file's g_client, g_queue and g_worker; the
 * queue is named after prefix and start_worker_call starts the worker on g_queue. */
#define TT_GROUP_FIXTURES(prefix, start_worker_call)  \
    static int setup(void **s)                        \
    {                                                 \
        (void)s;                                      \
        g_client = tt_client();                       \
        tt_unique(g_queue, sizeof g_queue, (prefix)); \
        g_worker = (start_worker_call);               \
        return 0;                                     \
    }                                                 \
    static int teardown(void **s)                     \
    {                                                 \
        (void)s;                                      \
        tc_worker_free(g_worker);                     \
        tc_client_free(g_client);                     \
        return 0;                                     \
    }

/* Starts a workflow of type on queue, input_json its input (may be NULL), with a fresh id named
 * after the type (written to wid, cap bytes) and a workflow task timeout of task_timeout_ms (0:
 * the server's); its run id goes to rid (64 bytes). Fails the test when the server refuses. */
static inline void tt_start_with(tc_client *c, const char *queue, const char *type,
                                 const char *input_json, int64_t task_timeout_ms, char *wid,
                                 size_t cap, char *rid)
{
    tc_error err = {0};
    tt_unique(wid, cap, type);
    tc_start_options o = {.workflow_id = wid,
                          .workflow_type = type,
                          .task_queue = queue,
                          .input_json = input_json,
                          .task_timeout_ms = task_timeout_ms};
    if (tc_workflow_start(c, &o, rid, 64, NULL, &err) != TC_OK)
        fail_msg("start %s: %s", type, err.text);
}

/* tt_start_with a 5 s workflow task timeout. */
static inline void tt_start(tc_client *c, const char *queue, const char *type,
                            const char *input_json, char *wid, size_t cap, char *rid)
{
    tt_start_with(c, queue, type, input_json, 5000, wid, cap, rid);
}

/* Waits up to timeout_ms for the run's result, which must be a close other than completion
 * with the given status (TC_WF_FAILED, TC_WF_CANCELED, ...); *out keeps the outcome for more
 * checks (release it with tc_outcome_clear). */
static inline void tt_expect_closed(tc_client *c, const char *wid, const char *rid, int timeout_ms,
                                    tc_wf_status status, tc_outcome *out)
{
    tc_error err = {0};
    assert_int_equal(tc_workflow_result(c, wid, rid, timeout_ms, out, &err),
                     TC_ERR_WORKFLOW_FAILED);
    assert_int_equal(out->status, status);
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

/* ---- the worker's metrics (tc_worker_metrics_text) ---- */

/* The sum of the samples of metric `name` whose labels hold every `key="value"` of want
 * (NULL-terminated). */
static inline double tt_metric_sum(const char *text, const char *name, const char *const *want)
{
    double sum = 0;
    size_t n = strlen(name);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && strncmp(line, name, n) == 0 && line[n] == '{') {
            const char *close = memchr(line, '}', len);
            bool all = close != NULL;
            for (const char *const *w = want; all && w && *w; w++) {
                const char *hit = strstr(line, *w);
                all = hit && hit < close;
            }
            if (all)
                sum += strtod(close + 1, NULL);
        }
        line = end ? end + 1 : NULL;
    }
    return sum;
}

static inline double tt_worker_metric(tc_worker *w, const char *name, const char *const *want)
{
    char *text = NULL;
    tc_error err = {0};
    if (tc_worker_metrics_text(w, &text, &err) != TC_OK)
        fail_msg("metrics: %s", err.text);
    double v = tt_metric_sum(text, name, want);
    free(text);
    return v;
}

/* The metric once it reached at least `at_least` (the worker records a call when its answer
 * came, which may be just after the workflow's result is visible to the client); after 10 s,
 * whatever it is. */
static inline double tt_settled_metric(tc_worker *w, const char *name, const char *const *want,
                                       double at_least)
{
    double v = tt_worker_metric(w, name, want);
    for (int i = 0; i < 200 && v < at_least; i++) {
        tt_sleep_ms(50);
        v = tt_worker_metric(w, name, want);
    }
    return v;
}

#endif
