/* test_temporal_flow.c - the event-ordered runtime against the real dev server: cancellation
 * from the official CLI with cleanup in a detached section, a signal-vs-timer race, continue-as-
 * new, a code change made safe by tc_wf_patched while a run is in flight, the fail-workflow
 * policy, the unknown-query answer. argv[1] is the temporal CLI. */
#include "tc_test_util.h"

#include <stdatomic.h>

static const char *g_cli;
static tc_client *g_client;
static const tc_activity_options k_quick = {.start_to_close_ms = 5000};

static atomic_int n_undo, n_forward, n_cancelled_beats;

/* ---- activities ---- */

static void act_noop(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    const char *type = tc_activity_type(ctx);
    if (strncmp(type, "Undo", 4) == 0)
        atomic_fetch_add(&n_undo, 1);
    else
        atomic_fetch_add(&n_forward, 1);
    char out[64];
    snprintf(out, sizeof out, "\"%s\"", type);
    tc_activity_complete(ctx, out);
}

/* Heartbeats until cancelled (then acknowledges), at most 60 s. */
static void act_wait(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    for (int i = 0; i < 300; i++) {
        tc_error err = {0};
        if (tc_activity_heartbeat(ctx, NULL, &err) == TC_ERR_CANCELLED) {
            atomic_fetch_add(&n_cancelled_beats, 1);
            tc_activity_report_cancelled(ctx);
            return;
        }
        tt_sleep_ms(200);
    }
    tc_activity_complete(ctx, NULL);
}

/* ---- workflows ---- */

/* A saga: Reserve, then Wait (until cancelled); on cancellation the compensations run LIFO in
 * a detached section and the run ends CANCELED. */
static void wf_saga(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_activity_options wait = {.start_to_close_ms = 120000,
                                .heartbeat_timeout_ms = 2000,
                                .cancel_mode = TC_CANCEL_WAIT_COMPLETED};
    int rc = tc_wf_activity(ctx, "Reserve", NULL, &k_quick, NULL);
    if (rc == TC_OK)
        rc = tc_wf_activity(ctx, "Wait", NULL, &wait, NULL);
    if (rc == TC_OK) {
        tc_wf_complete(ctx, "\"done\"");
        return;
    }
    if (!tc_wf_cancel_requested(ctx)) {
        tc_wf_fail(ctx, "StepFailed", tc_code_name(rc), true);
        return;
    }
    tc_wf_log(ctx, TC_LOG_INFO, "cancelled: compensating");
    tc_wf_detached_begin(ctx);
    int a = tc_wf_activity(ctx, "UndoWait", NULL, &k_quick, NULL);
    int b = tc_wf_activity(ctx, "UndoReserve", NULL, &k_quick, NULL);
    tc_wf_detached_end(ctx);
    if (a != TC_OK || b != TC_OK) {
        tc_wf_fail(ctx, "CompensationFailed", "an undo failed", false);
        return;
    }
    tc_wf_report_cancelled(ctx);
}

/* Timer of input ms against signal "go": completes with the winner. */
static void wf_race(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    const char *in = tc_wf_input(ctx, 0);
    tc_future *fs[2] = {tc_wf_timer_start(ctx, in ? atoll(in) : 2000),
                        tc_wf_signal_next(ctx, "go")};
    size_t i;
    if (tc_wf_wait_any(ctx, fs, 2, &i) != TC_OK)
        return;
    if (i == 0) {
        tc_wf_complete(ctx, "\"timer\"");
        return;
    }
    tc_future_cancel(ctx, fs[0]);
    tc_wf_complete(ctx, "\"signal\"");
}

/* Counts to 3 through continue-as-new. */
static void wf_count(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    const char *in = tc_wf_input(ctx, 0);
    int n = in ? atoi(in) : 0;
    if (tc_wf_activity(ctx, "Tick", NULL, &k_quick, NULL) != TC_OK)
        return;
    if (n >= 3) {
        tc_wf_complete(ctx, in);
        return;
    }
    char next[16];
    snprintf(next, sizeof next, "%d", n + 1);
    tc_wf_continue_as_new(ctx, next, NULL);
}

/* Versions of one workflow: v1 runs A, waits for "go", completes "A". v2 patched: B on new
 * runs, A on runs that passed this point under v1. */
static void wf_v1(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    if (tc_wf_activity(ctx, "A", NULL, &k_quick, NULL) != TC_OK ||
        tc_wf_signal_recv(ctx, "go", NULL) != TC_OK)
        return;
    tc_wf_complete(ctx, "\"A\"");
}

static void wf_v2(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    const char *step = tc_wf_patched(ctx, "use-b") ? "B" : "A";
    if (tc_wf_activity(ctx, step, NULL, &k_quick, NULL) != TC_OK ||
        tc_wf_signal_recv(ctx, "go", NULL) != TC_OK)
        return;
    tc_wf_complete(ctx, step[0] == 'B' ? "\"B\"" : "\"A\"");
}

/* Upserts a search attribute and a memo field, then reads them back. */
static void wf_props(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    if (tc_wf_upsert_search_attributes(ctx, "{\"TcFlowStatus\":\"paid\"}") != TC_OK ||
        tc_wf_upsert_memo(ctx, "{\"note\":\"from C\"}") != TC_OK)
        return;
    char out[256];
    snprintf(out, sizeof out, "[%s,%s]", tc_wf_search_attribute(ctx, "TcFlowStatus"),
             tc_wf_memo(ctx, "note"));
    tc_wf_complete(ctx, out);
}

static void wf_panic(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_wf_panic(ctx, "cannot go on: %s", "broken invariant");
}

static int q_answer(const void *state, const char *const *args, size_t n_args, void *user,
                    char **out, tc_error *err)
{
    (void)state;
    (void)args;
    (void)user;
    (void)err;
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", n_args);
    *out = strdup(buf);
    return TC_OK;
}

/* ---- helpers ---- */

static tc_worker *worker(const char *queue, tc_workflow_fn versioned, tc_task_failure_policy pol)
{
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_worker_options o = {.task_queue = queue,
                           .sticky_schedule_to_start_ms = 2000,
                           .task_failure_policy = pol,
                           .max_concurrent_activities = 8};
    if (tc_worker_new(g_client, &o, &w, &err) ||
        tc_worker_register_workflow(w, "Saga", wf_saga, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Race", wf_race, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Count", wf_count, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Panic", wf_panic, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Props", wf_props, 0, NULL, &err) ||
        tc_worker_register_query(w, "Race", "nargs", q_answer, NULL, &err) ||
        (versioned && tc_worker_register_workflow(w, "Versioned", versioned, 0, NULL, &err)))
        fail_msg("worker: %s", err.text);
    static const char *const acts[] = {"Reserve", "UndoWait", "UndoReserve", "Tick", "A", "B"};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (tc_worker_register_activity(w, acts[i], act_noop, NULL, &err))
            fail_msg("worker: %s", err.text);
    if (tc_worker_register_activity(w, "Wait", act_wait, NULL, &err) || tc_worker_start(w, &err))
        fail_msg("worker: %s", err.text);
    return w;
}

/* tt_start on this suite's client; wid has 128 bytes. */
static void start(const char *queue, const char *type, const char *input, char *wid, char *rid)
{
    tt_start(g_client, queue, type, input, wid, 128, rid);
}

static tc_history *history(const char *wid, const char *rid)
{
    tc_history *h = NULL;
    TT_OK(tc_workflow_history(g_client, wid, rid, &h, &e_));
    return h;
}

/* Waits (bounded) until the run's history holds an event of type t. */
static void wait_event(const char *wid, const char *rid, int t)
{
    for (int i = 0; i < 300; i++) {
        tc_history *h = history(wid, rid);
        long at = tt_find_event(h, t, 0);
        tc_history_free(h);
        if (at >= 0)
            return;
        tt_sleep_ms(100);
    }
    fail_msg("event type %d never appeared in %s", t, wid);
}

#define EV_ACTIVITY_STARTED   11
#define EV_CANCEL_REQUESTED   20
#define EV_ACTIVITY_SCHEDULED 10

static int cli(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static const char *addr(void)
{
    const char *a = getenv("TEMPORAL_ADDRESS");
    return a && *a ? a : "127.0.0.1:21733";
}

/* ---- tests ---- */

static void cli_cancel_runs_cleanup_and_ends_canceled(void **s)
{
    (void)s;
    char queue[128], wid[128], rid[64];
    tt_unique(queue, sizeof queue, "tc-flow-cancel");
    tc_worker *w = worker(queue, NULL, TC_TASK_FAILURE_RETRY);
    atomic_store(&n_undo, 0);
    atomic_store(&n_cancelled_beats, 0);
    start(queue, "Saga", NULL, wid, rid);
    /* Wait runs (its heartbeats carry the cancellation) once Reserve is done */
    for (int i = 0; i < 300; i++) {
        tc_history *h = history(wid, rid);
        long first = tt_find_event(h, EV_ACTIVITY_STARTED, 0);
        long second = first >= 0 ? tt_find_event(h, EV_ACTIVITY_STARTED, (size_t)first + 1) : -1;
        tc_history_free(h);
        if (second >= 0)
            break;
        tt_sleep_ms(100);
    }
    assert_int_equal(cli("'%s' workflow cancel --address %s --workflow-id %s >/dev/null 2>&1",
                         g_cli, addr(), wid),
                     0);
    tc_outcome out;
    tt_expect_closed(g_client, wid, rid, 60000, TC_WF_CANCELED, &out);
    tc_outcome_clear(&out);
    assert_int_equal(atomic_load(&n_undo), 2);
    assert_int_equal(atomic_load(&n_cancelled_beats), 1);
    /* the compensations were scheduled after the cancel request, in LIFO order */
    tc_history *h = history(wid, rid);
    long cr = tt_find_event(h, EV_CANCEL_REQUESTED, 0);
    assert_true(cr > 0);
    long u1 = tt_find_event(h, EV_ACTIVITY_SCHEDULED, (size_t)cr);
    long u2 = u1 > 0 ? tt_find_event(h, EV_ACTIVITY_SCHEDULED, (size_t)u1 + 1) : -1;
    assert_true(u1 > cr && u2 > u1);
    tc_history_free(h);
    /* the cancellation through the C client works the same way */
    start(queue, "Saga", NULL, wid, rid);
    wait_event(wid, rid, EV_ACTIVITY_STARTED);
    tt_sleep_ms(300);
    TT_OK(tc_workflow_cancel(g_client, wid, rid, "test", &e_));
    tt_expect_closed(g_client, wid, rid, 60000, TC_WF_CANCELED, &out);
    tc_outcome_clear(&out);
    tc_worker_free(w);
}

static void signal_and_timer_race_picks_the_first(void **s)
{
    (void)s;
    char queue[128], wid[128], rid[64];
    tt_unique(queue, sizeof queue, "tc-flow-race");
    tc_worker *w = worker(queue, NULL, TC_TASK_FAILURE_RETRY);
    tc_outcome out;
    tc_error err = {0};
    /* the signal long before the 30 s timer */
    start(queue, "Race", "30000", wid, rid);
    TT_OK(tc_workflow_signal(g_client, wid, rid, "go", "1", &e_));
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, &out, &err));
    assert_string_equal(out.result_json, "\"signal\"");
    tc_outcome_clear(&out);
    /* the query answers with every argument the client sent (one) */
    char *ans = NULL;
    TT_OK(tc_workflow_query(g_client, wid, rid, "nargs", "\"x\"", &ans, &e_));
    assert_string_equal(ans, "1");
    free(ans);
    /* an unknown query: the official SDKs' wording, listing the known types */
    assert_int_equal(tc_workflow_query(g_client, wid, rid, "nope", NULL, &ans, &err),
                     TC_ERR_QUERY_FAILED);
    assert_non_null(
        strstr(err.text, "unknown queryType nope. KnownQueryTypes=[__stack_trace nargs]"));
    /* no signal: the 200 ms timer wins */
    start(queue, "Race", "200", wid, rid);
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, &out, &err));
    assert_string_equal(out.result_json, "\"timer\"");
    tc_outcome_clear(&out);
    tc_worker_free(w);
}

static void continue_as_new_chains_runs(void **s)
{
    (void)s;
    char queue[128], wid[128], rid[64];
    tt_unique(queue, sizeof queue, "tc-flow-can");
    tc_worker *w = worker(queue, NULL, TC_TASK_FAILURE_RETRY);
    start(queue, "Count", "0", wid, rid);
    tc_outcome out;
    tc_error err = {0};
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, &out, &err)); /* follows the chain */
    assert_string_equal(out.result_json, "3");
    assert_string_not_equal(out.run_id, rid);
    tc_outcome_clear(&out);
    tc_description d;
    TT_OK(tc_workflow_describe(g_client, wid, rid, &d, &e_));
    assert_int_equal(d.status, TC_WF_CONTINUED_AS_NEW);
    tc_worker_free(w);
}

static void patched_code_takes_over_a_run_in_flight(void **s)
{
    (void)s;
    char queue[128], old_wid[128], old_rid[64], new_wid[128], new_rid[64];
    tt_unique(queue, sizeof queue, "tc-flow-patch");
    tc_worker *v1 = worker(queue, wf_v1, TC_TASK_FAILURE_RETRY);
    start(queue, "Versioned", NULL, old_wid, old_rid);
    /* v1 ran A and waits for "go" */
    for (int i = 0; i < 300; i++) {
        tc_history *h = history(old_wid, old_rid);
        long c = tt_find_event(h, TT_EV_ACTIVITY_TASK_COMPLETED, 0);
        long t = c >= 0 ? tt_find_event(h, TT_EV_WORKFLOW_TASK_COMPLETED, (size_t)c) : -1;
        tc_history_free(h);
        if (t >= 0)
            break;
        tt_sleep_ms(100);
    }
    tc_worker_free(v1);
    tc_worker *v2 = worker(queue, wf_v2, TC_TASK_FAILURE_RETRY);
    start(queue, "Versioned", NULL, new_wid, new_rid);
    TT_OK(tc_workflow_signal(g_client, old_wid, old_rid, "go", NULL, &e_));
    TT_OK(tc_workflow_signal(g_client, new_wid, new_rid, "go", NULL, &e_));
    tc_outcome out;
    tc_error err = {0};
    /* the run in flight replays its v1 history (no marker: A) and finishes */
    TT_OK(tc_workflow_result(g_client, old_wid, old_rid, 60000, &out, &err));
    assert_string_equal(out.result_json, "\"A\"");
    tc_outcome_clear(&out);
    /* a new run takes the new path and records the marker */
    TT_OK(tc_workflow_result(g_client, new_wid, new_rid, 60000, &out, &err));
    assert_string_equal(out.result_json, "\"B\"");
    tc_outcome_clear(&out);
    tc_worker_stats st;
    tc_worker_get_stats(v2, &st);
    assert_int_equal(st.nondeterminism, 0);
    tc_history *h = history(new_wid, new_rid);
    assert_true(tt_find_event(h, 25 /* MarkerRecorded */, 0) > 0);
    tc_history_free(h);
    const char *dir = getenv("TC_FIXTURE_DIR");
    if (dir && *dir) {
        char path[1024];
        snprintf(path, sizeof path, "%s/patched.history.pb", dir);
        h = history(new_wid, new_rid);
        TT_OK(tc_history_save(h, path, &e_));
        tc_history_free(h);
    }
    tc_worker_free(v2);
}

static char g_warn[1024];
static atomic_int n_warn;

static void capture_log(const tc_log_record *rec, void *user)
{
    (void)user;
    if (rec->level == TC_LOG_WARN && rec->workflow_id && strstr(rec->workflow_id, "Panic")) {
        snprintf(g_warn, sizeof g_warn, "%s %s", rec->workflow_id, rec->message);
        atomic_fetch_add(&n_warn, 1);
    }
}

static void fail_workflow_policy_ends_the_run(void **s)
{
    (void)s;
    char queue[128], wid[128], rid[64];
    tt_unique(queue, sizeof queue, "tc-flow-policy");
    /* the worker's log lines go to the client's callback */
    tc_client *saved = g_client;
    tc_client_options co = {.log_fn = capture_log};
    TT_OK(tc_client_new(&co, &g_client, &e_));
    atomic_store(&n_warn, 0);
    tc_worker *w = worker(queue, NULL, TC_TASK_FAILURE_FAIL_WORKFLOW);
    start(queue, "Panic", NULL, wid, rid);
    tc_outcome out;
    tt_expect_closed(g_client, wid, rid, 60000, TC_WF_FAILED, &out);
    assert_string_equal(out.failure_type, "WorkflowTaskError");
    assert_non_null(strstr(out.failure_message, "broken invariant"));
    tc_outcome_clear(&out);
    tc_worker_free(w);
    tc_client_free(g_client);
    g_client = saved;
    assert_int_equal(atomic_load(&n_warn), 1);
    assert_non_null(strstr(g_warn, wid));
    assert_non_null(strstr(g_warn, "failing the workflow"));
}

static void retry_policy_keeps_the_run_and_shows_the_reason(void **s)
{
    (void)s;
    char queue[128], wid[128], rid[64];
    tt_unique(queue, sizeof queue, "tc-flow-retry");
    tc_worker *w = worker(queue, NULL, TC_TASK_FAILURE_RETRY);
    start(queue, "Panic", NULL, wid, rid);
    wait_event(wid, rid, TT_EV_WORKFLOW_TASK_FAILED);
    tc_description d;
    TT_OK(tc_workflow_describe(g_client, wid, rid, &d, &e_));
    assert_int_equal(d.status, TC_WF_RUNNING);
    /* the reason is in history (and so in the UI) */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "'%s' workflow show --address %s --workflow-id %s --output json 2>&1 | "
             "grep -q 'broken invariant'",
             g_cli, addr(), wid);
    assert_int_equal(system(cmd), 0);
    TT_OK(tc_workflow_terminate(g_client, wid, rid, "test done", &e_));
    tc_worker_free(w);
}

static void upserted_properties_reach_the_server(void **s)
{
    (void)s;
    char queue[128], wid[128], rid[64];
    tt_unique(queue, sizeof queue, "tc-flow-props");
    /* a Keyword attribute of our own (the dev server has no custom ones); "already exists"
     * on a second run is fine */
    cli("'%s' operator search-attribute create --address %s --name TcFlowStatus --type Keyword "
        ">/dev/null 2>&1",
        g_cli, addr());
    tc_worker *w = worker(queue, NULL, TC_TASK_FAILURE_RETRY);
    start(queue, "Props", NULL, wid, rid);
    tc_outcome out;
    tc_error err = {0};
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, &out, &err));
    assert_string_equal(out.result_json, "[\"paid\",\"from C\"]");
    tc_outcome_clear(&out);
    /* the server took both: describe shows them */
    assert_int_equal(cli("'%s' workflow describe --address %s --workflow-id %s --output json "
                         "2>&1 | grep -q 'TcFlowStatus'",
                         g_cli, addr(), wid),
                     0);
    assert_int_equal(cli("'%s' workflow describe --address %s --workflow-id %s --output json "
                         "2>&1 | grep -q 'note'",
                         g_cli, addr(), wid),
                     0);
    tc_worker_free(w);
}

static int setup(void **s)
{
    (void)s;
    g_client = tt_client();
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    tc_client_free(g_client);
    return 0;
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 1, "TEMPORAL_CLI");
    g_cli = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cli_cancel_runs_cleanup_and_ends_canceled),
        cmocka_unit_test(signal_and_timer_race_picks_the_first),
        cmocka_unit_test(continue_as_new_chains_runs),
        cmocka_unit_test(patched_code_takes_over_a_run_in_flight),
        cmocka_unit_test(upserted_properties_reach_the_server),
        cmocka_unit_test(fail_workflow_policy_ends_the_run),
        cmocka_unit_test(retry_policy_keeps_the_run_and_shows_the_reason),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
