/* test_temporal_messaging.c - child workflows, signals and cancel requests between workflows,
 * updates, signal-with-start and eager workflow start against the Temporal dev server (stack
 * label): every resolution of a child, the four cancellation types as the server records them,
 * update acceptance / rejection / deduplication / async completion with a sticky cache that
 * loses the speculative task, and the first workflow task run from the start response. */
#include <jansson.h>

#include "tc_test_util.h"

#include "temporal/api/enums/v1/event_type.pb-c.h"

static tc_client *g_client;
static tc_worker *g_worker;
static char g_queue[96];

/* ---- workflows ---- */

static char *dup_json_string(const char *s)
{
    json_t *j = json_string(s);
    char *out = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(j);
    return out;
}

static bool is_string(const char *json, const char *s)
{
    json_t *j = json_loads(json ? json : "null", JSON_DECODE_ANY, NULL);
    bool same = json_is_string(j) && strcmp(json_string_value(j), s) == 0;
    json_decref(j);
    return same;
}

static bool finished(void *arg)
{
    return tc_future_ready(arg);
}

/* Kid: its input says what to do. "echo" -> "echoed"; "fail" -> KidError with details;
 * "block" waits for signal "finish" (returns its argument) or its cancellation (ends
 * CANCELED); "stubborn" the same but completes "ignored" when cancelled; "attempt" fails until
 * its third attempt. */
static void wf_kid(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    const char *in = tc_wf_input(ctx, 0);
    if (is_string(in, "echo")) {
        tc_wf_complete(ctx, "\"echoed\"");
    } else if (is_string(in, "fail")) {
        tc_failure f = {.type = "KidError",
                        .message = "kid failed",
                        .non_retryable = true,
                        .details_json = "{\"why\":\"test\"}"};
        tc_wf_fail_failure(ctx, &f);
    } else if (is_string(in, "attempt")) {
        char msg[64];
        snprintf(msg, sizeof msg, "attempt %d", tc_wf_attempt(ctx));
        if (tc_wf_attempt(ctx) < 3) {
            tc_wf_fail(ctx, "Again", msg, false);
            return;
        }
        char *res = dup_json_string(msg);
        tc_wf_complete(ctx, res);
        free(res);
    } else {
        tc_future *sig = tc_wf_signal_next(ctx, "finish");
        tc_future *fs[2] = {sig, tc_wf_cancellation(ctx)};
        size_t i = 0;
        if (tc_wf_wait_any(ctx, fs, 2, &i) != TC_OK)
            return;
        tc_wf_result r;
        if (i == 0 && tc_future_get(ctx, sig, &r) == TC_OK)
            tc_wf_complete(ctx, r.result_json);
        else if (is_string(in, "stubborn"))
            tc_wf_complete(ctx, "\"ignored\"");
        else
            tc_wf_report_cancelled(ctx);
    }
}

/* Completes with a JSON object {"code": tc_code_name, "result": ..., "type": ..., "run": ...}. */
static void complete_with(tc_wf_ctx *ctx, int code, const tc_wf_result *r, const char *run)
{
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(tc_code_name(code)));
    if (code == TC_OK && r->result_json)
        json_object_set_new(o, "result", json_loads(r->result_json, JSON_DECODE_ANY, NULL));
    if (code != TC_OK && r->failure_type)
        json_object_set_new(o, "type", json_string(r->failure_type));
    if (run)
        json_object_set_new(o, "run", json_string(run));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    tc_wf_complete(ctx, s);
    free(s);
}

/* Parent: input {"mode": ..., "child": id, "arg": kid input, "target": workflow id}. */
static void wf_parent(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    json_t *in = json_loads(tc_wf_input(ctx, 0), 0, NULL);
    const char *mode = json_string_value(json_object_get(in, "mode"));
    tc_child_options o = {.workflow_id = json_string_value(json_object_get(in, "child")),
                          .parent_close_policy = TC_PARENT_CLOSE_ABANDON,
                          .execution_timeout_ms = 120000,
                          .memo_json = "{\"from\":\"parent\"}",
                          .search_attributes_json = "{\"CustomKeywordField\":\"kid\"}"};
    if (json_integer_value(json_object_get(in, "close")))
        o.parent_close_policy =
            (tc_parent_close_policy)json_integer_value(json_object_get(in, "close"));
    const char *arg = json_string_value(json_object_get(in, "arg"));
    char *arg_json = dup_json_string(arg ? arg : "echo");
    tc_retry_policy rp = {
        .initial_interval_ms = 100, .backoff_coefficient = 1, .maximum_attempts = 3};
    tc_retry_policy once = {.maximum_attempts = 1};
    tc_wf_result r;
    int rc;
    if (strcmp(mode, "retry") == 0)
        o.retry = &rp;
    if (strcmp(mode, "timeout") == 0) {
        o.execution_timeout_ms = 1000;
        o.retry = &once;
    }
    if (strncmp(mode, "cancel:", 7) == 0) {
        const char *m = mode + 7;
        o.cancel_mode = strcmp(m, "try") == 0         ? TC_CHILD_CANCEL_TRY
                        : strcmp(m, "abandon") == 0   ? TC_CHILD_CANCEL_ABANDON
                        : strcmp(m, "requested") == 0 ? TC_CHILD_CANCEL_WAIT_REQUESTED
                                                      : TC_CHILD_CANCEL_WAIT_COMPLETED;
    }
    if (strcmp(mode, "external") == 0 || strcmp(mode, "cancel_external") == 0) {
        const char *target = json_string_value(json_object_get(in, "target"));
        tc_future *f = strcmp(mode, "external") == 0
                           ? tc_wf_signal_external(ctx, target, NULL, "finish", "\"from a peer\"")
                           : tc_wf_cancel_external(ctx, target, NULL);
        rc = tc_future_get(ctx, f, &r);
        complete_with(ctx, rc, &r, NULL);
        goto out;
    }
    tc_child *ch = tc_wf_child_start(ctx, "Kid", arg_json, &o);
    rc = tc_future_get(ctx, tc_child_started(ch), &r);
    if (rc != TC_OK || strcmp(mode, "started") == 0) {
        complete_with(ctx, rc, &r, tc_child_run_id(ch));
        goto out;
    }
    if (strcmp(mode, "signal") == 0 &&
        tc_future_get(ctx, tc_child_signal(ctx, ch, "finish", "\"via handle\""), NULL) != TC_OK)
        goto out;
    if (strncmp(mode, "cancel:", 7) == 0) {
        tc_future_cancel(ctx, tc_child_result(ch));
        if (o.cancel_mode == TC_CHILD_CANCEL_TRY || o.cancel_mode == TC_CHILD_CANCEL_ABANDON) {
            /* the future resolved at once: stay open until the child closed or is let go */
            bool done = tc_future_ready(tc_child_result(ch));
            tc_wf_sleep(ctx, 1);
            if (!done)
                goto out;
        }
    }
    rc = tc_future_get(ctx, tc_child_result(ch), &r);
    if (strcmp(mode, "fail") == 0 && rc == TC_ERR_FAILED) {
        tc_wf_fail_future(ctx, tc_child_result(ch));
        goto out;
    }
    if (strcmp(mode, "twice") == 0 && rc == TC_OK) {
        o.id_reuse_policy = TC_REUSE_REJECT_DUPLICATE;
        tc_child *again = tc_wf_child_start(ctx, "Kid", arg_json, &o);
        rc = tc_future_get(ctx, tc_child_started(again), &r);
    }
    complete_with(ctx, rc, &r, tc_child_run_id(ch));
out:
    free(arg_json);
    json_decref(in);
    (void)finished;
}

/* Updatable: "add" (validator: no negative numbers) adds to a counter and returns it, "slow"
 * sleeps 1 s then returns "slow done", "fail" fails; completes with the counter on "done". */
typedef struct upd_state {
    int counter;
    int add_calls;
} upd_state;

static bool v_add(const void *state, const tc_update_info *u, void *user, tc_update_reject *rej)
{
    (void)state;
    (void)user;
    if (u->n_args && atoi(u->args[0]) < 0) {
        snprintf(rej->type, sizeof rej->type, "Negative");
        snprintf(rej->message, sizeof rej->message, "no negative numbers: %s", u->args[0]);
        return false;
    }
    return true;
}

static void h_add(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)user;
    upd_state *st = state;
    st->add_calls++;
    st->counter += u->n_args ? atoi(u->args[0]) : 1;
    char res[32];
    snprintf(res, sizeof res, "%d", st->counter);
    if (tc_wf_sleep(ctx, 100) != TC_OK) /* blocks: accepted in one task, completed in another */
        return;
    tc_wf_update_complete(ctx, res);
}

static void h_slow(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)state;
    (void)u;
    (void)user;
    if (tc_wf_sleep(ctx, 1000) == TC_OK)
        tc_wf_update_complete(ctx, "\"slow done\"");
}

static void h_fail(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)state;
    (void)u;
    (void)user;
    tc_wf_update_fail(ctx, "Refused", "the handler refused", false);
}

static void wf_updatable(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    upd_state *st = state;
    tc_wf_set_update_handler(ctx, "add", h_add, v_add, NULL);
    tc_wf_set_update_handler(ctx, "slow", h_slow, NULL, NULL);
    if (tc_wf_signal_recv(ctx, "done", NULL) != TC_OK)
        return;
    char res[32];
    snprintf(res, sizeof res, "%d", st->counter);
    tc_wf_complete(ctx, res);
}

/* Adder: its input plus the first two "add" signals (signal-with-start). */
static void wf_adder(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    int total = atoi(tc_wf_input(ctx, 0) ? tc_wf_input(ctx, 0) : "0");
    for (int i = 0; i < 2; i++) {
        tc_wf_result r;
        if (tc_wf_signal_recv(ctx, "add", &r) != TC_OK)
            return;
        total += atoi(r.result_json);
    }
    char res[32];
    snprintf(res, sizeof res, "%d", total);
    tc_wf_complete(ctx, res);
}

static void wf_hello(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    tc_wf_complete(ctx, "\"Hello World\"");
}

/* ---- helpers ---- */

static tc_worker *start_worker(const char *queue, int cache)
{
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_worker_options o = {
        .task_queue = queue, .sticky_cache_size = cache, .log_level = TC_LOG_WARN};
    if (tc_worker_new(g_client, &o, &w, &err) ||
        tc_worker_register_workflow(w, "Kid", wf_kid, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Parent", wf_parent, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Updatable", wf_updatable, sizeof(upd_state), NULL, &err) ||
        tc_worker_register_update(w, "Updatable", "fail", h_fail, NULL, NULL, &err) ||
        tc_worker_register_workflow(w, "Adder", wf_adder, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Hello", wf_hello, 0, NULL, &err) ||
        tc_worker_start(w, &err))
        fail_msg("worker: %s", err.text);
    return w;
}

TT_GROUP_FIXTURES("msg", start_worker(g_queue, 0))

/* Starts wf_type with input and returns its outcome (caller clears). */
static int run_wf(const char *wf_type, const char *wid, const char *input, tc_outcome *out)
{
    tc_error err = {0};
    char run[64];
    tc_start_options so = {.workflow_id = wid,
                           .workflow_type = wf_type,
                           .task_queue = g_queue,
                           .input_json = input,
                           .execution_timeout_ms = 120000};
    if (tc_workflow_start(g_client, &so, run, sizeof run, NULL, &err) != TC_OK)
        fail_msg("start %s: %s", wf_type, err.text);
    return tc_workflow_result(g_client, wid, run, 90000, out, &err);
}

/* Runs Parent with {"mode": mode, "child": <wid>-child, "arg": arg}; returns its JSON result
 * (caller frees) and its workflow id in wid. */
static json_t *run_parent(const char *mode, const char *arg, char *wid, size_t cap)
{
    tt_unique(wid, cap, "parent");
    char child[160], input[512];
    snprintf(child, sizeof child, "%s-child", wid);
    snprintf(input, sizeof input, "{\"mode\":\"%s\",\"child\":\"%s\",\"arg\":\"%s\"}", mode, child,
             arg);
    tc_outcome out;
    int rc = run_wf("Parent", wid, input, &out);
    if (rc != TC_OK)
        fail_msg("parent %s: %s %s %s", mode, tc_code_name(rc),
                 out.failure_type ? out.failure_type : "",
                 out.failure_message ? out.failure_message : "");
    json_t *j = json_loads(out.result_json, 0, NULL);
    tc_outcome_clear(&out);
    assert_non_null(j);
    return j;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

#define EV(x) TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_##x
#define EV_REQUEST_CANCEL_EXTERNAL_INITIATED \
    EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
#define EV_EXTERNAL_CANCEL_REQUESTED EV(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
#define EV_START_CHILD_FAILED        EV(START_CHILD_WORKFLOW_EXECUTION_FAILED)
#define EV_UPDATE_ACCEPTED           EV(WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
#define EV_UPDATE_REJECTED           EV(WORKFLOW_EXECUTION_UPDATE_REJECTED)
#define EV_UPDATE_COMPLETED          EV(WORKFLOW_EXECUTION_UPDATE_COMPLETED)

/* ---- children ---- */

static void child_results_failures_and_starts(void **s)
{
    (void)s;
    char wid[128];
    json_t *j = run_parent("result", "echo", wid, sizeof wid);
    assert_string_equal(jstr(j, "code"), "TC_OK");
    assert_string_equal(jstr(j, "result"), "echoed");
    assert_int_equal(strlen(jstr(j, "run")), 36);
    json_decref(j);
    j = run_parent("twice", "echo", wid, sizeof wid);
    assert_string_equal(jstr(j, "code"), "TC_ERR_FAILED");
    assert_string_equal(jstr(j, "type"), "WorkflowExecutionAlreadyStarted");
    tc_history *h = tt_history(g_client, wid, NULL);
    assert_int_equal(tt_count_events(h, EV_START_CHILD_FAILED), 1);
    tc_history_free(h);
    json_decref(j);
    j = run_parent("retry", "attempt", wid, sizeof wid);
    assert_string_equal(jstr(j, "result"), "attempt 3");
    json_decref(j);
    j = run_parent("timeout", "block", wid, sizeof wid);
    assert_string_equal(jstr(j, "code"), "TC_ERR_FAILED");
    assert_string_equal(jstr(j, "type"), "TimeoutError");
    json_decref(j);
    /* a child's failure re-raised: the parent fails with the child's type and message */
    tt_unique(wid, sizeof wid, "parent");
    char input[256];
    snprintf(input, sizeof input, "{\"mode\":\"fail\",\"child\":\"%s-child\",\"arg\":\"fail\"}",
             wid);
    tc_outcome out;
    assert_int_equal(run_wf("Parent", wid, input, &out), TC_ERR_WORKFLOW_FAILED);
    assert_int_equal(out.status, TC_WF_FAILED);
    assert_string_equal(out.failure_type, "KidError"); /* the cause of the ChildWorkflowFailure */
    assert_string_equal(out.failure_message, "kid failed");
    tc_outcome_clear(&out);
}

/* What the server does to a child when its parent (mode "started": it completes as soon as the
 * child started) closes, per policy; the child carries the parent's memo and search attribute. */
static void parent_close_policies(void **s)
{
    (void)s;
    const tc_parent_close_policy policies[3] = {
        TC_PARENT_CLOSE_TERMINATE, TC_PARENT_CLOSE_REQUEST_CANCEL, TC_PARENT_CLOSE_ABANDON};
    const tc_wf_status want[3] = {TC_WF_TERMINATED, TC_WF_CANCELED, TC_WF_RUNNING};
    for (int i = 0; i < 3; i++) {
        char wid[128], child[160], input[512];
        tt_unique(wid, sizeof wid, "closing");
        snprintf(child, sizeof child, "%s-child", wid);
        snprintf(input, sizeof input,
                 "{\"mode\":\"started\",\"child\":\"%s\",\"arg\":\"block\",\"close\":%d}", child,
                 (int)policies[i]);
        tc_outcome out;
        tc_error err = {0};
        assert_int_equal(run_wf("Parent", wid, input, &out), TC_OK);
        tc_outcome_clear(&out);
        if (want[i] == TC_WF_RUNNING) {
            tc_workflow_info info;
            TT_OK(tc_workflow_describe_info(g_client, child, NULL, &info, &e_));
            assert_int_equal(info.status, TC_WF_RUNNING);
            assert_non_null(strstr(info.memo_json, "\"from\":\"parent\""));
            assert_non_null(strstr(info.search_attributes_json, "\"CustomKeywordField\":\"kid\""));
            tc_workflow_info_clear(&info);
            TT_OK(tc_workflow_terminate(g_client, child, NULL, "test", &e_));
            continue;
        }
        assert_int_equal(tc_workflow_result(g_client, child, NULL, 60000, &out, &err),
                         TC_ERR_WORKFLOW_FAILED);
        assert_int_equal(out.status, want[i]);
        tc_outcome_clear(&out);
    }
}

static void child_signal_through_the_handle(void **s)
{
    (void)s;
    char wid[128];
    json_t *j = run_parent("signal", "block", wid, sizeof wid);
    assert_string_equal(jstr(j, "result"), "via handle");
    json_decref(j);
}

static void child_cancellation_types(void **s)
{
    (void)s;
    char wid[128], child[160];
    /* try: the request goes out, the parent's future resolves at once */
    json_t *j = run_parent("cancel:try", "block", wid, sizeof wid);
    assert_string_equal(jstr(j, "code"), "TC_ERR_CANCELLED");
    json_decref(j);
    tc_history *h = tt_history(g_client, wid, NULL);
    assert_int_equal(tt_count_events(h, EV_REQUEST_CANCEL_EXTERNAL_INITIATED), 1);
    tc_history_free(h);
    snprintf(child, sizeof child, "%s-child", wid);
    tc_outcome out;
    tc_error err = {0};
    assert_int_equal(tc_workflow_result(g_client, child, NULL, 60000, &out, &err),
                     TC_ERR_WORKFLOW_FAILED);
    assert_int_equal(out.status, TC_WF_CANCELED);
    tc_outcome_clear(&out);
    /* wait requested: resolved once the server recorded the request */
    j = run_parent("cancel:requested", "block", wid, sizeof wid);
    assert_string_equal(jstr(j, "code"), "TC_ERR_CANCELLED");
    json_decref(j);
    h = tt_history(g_client, wid, NULL);
    assert_true(tt_find_event(h, EV_EXTERNAL_CANCEL_REQUESTED, 0) >= 0);
    tc_history_free(h);
    /* wait completed: the child ignores the cancellation, the parent gets its result */
    j = run_parent("cancel:completed", "stubborn", wid, sizeof wid);
    assert_string_equal(jstr(j, "code"), "TC_OK");
    assert_string_equal(jstr(j, "result"), "ignored");
    json_decref(j);
    /* abandon: no request, the child runs on */
    j = run_parent("cancel:abandon", "block", wid, sizeof wid);
    assert_string_equal(jstr(j, "code"), "TC_ERR_CANCELLED");
    json_decref(j);
    h = tt_history(g_client, wid, NULL);
    assert_int_equal(tt_count_events(h, EV_REQUEST_CANCEL_EXTERNAL_INITIATED), 0);
    tc_history_free(h);
    snprintf(child, sizeof child, "%s-child", wid);
    tc_description d;
    TT_OK(tc_workflow_describe(g_client, child, NULL, &d, &e_));
    assert_int_equal(d.status, TC_WF_RUNNING);
    TT_OK(tc_workflow_signal(g_client, child, NULL, "finish", "\"let go\"", &e_));
    assert_int_equal(tc_workflow_result(g_client, child, NULL, 60000, &out, &err), TC_OK);
    assert_string_equal(out.result_json, "\"let go\"");
    tc_outcome_clear(&out);
}

/* ---- other workflows ---- */

static void signals_and_cancel_requests_between_workflows(void **s)
{
    (void)s;
    char target[128], wid[128], input[512];
    tc_error err = {0};
    tt_unique(target, sizeof target, "target");
    tc_start_options so = {.workflow_id = target,
                           .workflow_type = "Kid",
                           .task_queue = g_queue,
                           .input_json = "\"block\""};
    TT_OK(tc_workflow_start(g_client, &so, NULL, 0, NULL, &e_));
    tt_unique(wid, sizeof wid, "sender");
    snprintf(input, sizeof input, "{\"mode\":\"external\",\"target\":\"%s\"}", target);
    tc_outcome out;
    assert_int_equal(run_wf("Parent", wid, input, &out), TC_OK);
    assert_non_null(strstr(out.result_json, "\"TC_OK\""));
    tc_outcome_clear(&out);
    assert_int_equal(tc_workflow_result(g_client, target, NULL, 60000, &out, &err), TC_OK);
    assert_string_equal(out.result_json, "\"from a peer\"");
    tc_outcome_clear(&out);
    /* to a workflow that does not exist */
    tt_unique(wid, sizeof wid, "sender");
    snprintf(input, sizeof input, "{\"mode\":\"external\",\"target\":\"no-such-%s\"}", wid);
    assert_int_equal(run_wf("Parent", wid, input, &out), TC_OK);
    assert_non_null(strstr(out.result_json, "ExternalWorkflowExecutionNotFound"));
    tc_outcome_clear(&out);
    /* a cancel request */
    tt_unique(target, sizeof target, "target");
    TT_OK(tc_workflow_start(g_client, &so, NULL, 0, NULL, &e_));
    tt_unique(wid, sizeof wid, "canceller");
    snprintf(input, sizeof input, "{\"mode\":\"cancel_external\",\"target\":\"%s\"}", target);
    assert_int_equal(run_wf("Parent", wid, input, &out), TC_OK);
    assert_non_null(strstr(out.result_json, "\"TC_OK\""));
    tc_outcome_clear(&out);
    assert_int_equal(tc_workflow_result(g_client, target, NULL, 60000, &out, &err),
                     TC_ERR_WORKFLOW_FAILED);
    assert_int_equal(out.status, TC_WF_CANCELED);
    tc_outcome_clear(&out);
}

static void signal_with_start_starts_once_and_signals_twice(void **s)
{
    (void)s;
    char wid[128], run1[64], run2[64];
    tt_unique(wid, sizeof wid, "adder");
    bool started = false;
    tc_start_options so = {
        .workflow_id = wid, .workflow_type = "Adder", .task_queue = g_queue, .input_json = "1"};
    TT_OK(tc_workflow_signal_with_start(g_client, &so, "add", "10", run1, sizeof run1, &started,
                                        &e_));
    assert_true(started);
    so.input_json = "1000";
    TT_OK(tc_workflow_signal_with_start(g_client, &so, "add", "100", run2, sizeof run2, &started,
                                        &e_));
    assert_false(started);
    assert_string_equal(run1, run2);
    tc_outcome out;
    tc_error err = {0};
    assert_int_equal(tc_workflow_result(g_client, wid, run1, 60000, &out, &err), TC_OK);
    assert_string_equal(out.result_json, "111");
    tc_outcome_clear(&out);
}

/* ---- updates ---- */

static int update(const char *wid, const char *name, const char *id, const char *arg,
                  tc_update_stage wait, tc_update_outcome *out)
{
    tc_update_request rq = {.workflow_id = wid,
                            .update_name = name,
                            .update_id = id,
                            .input_json = arg,
                            .wait = wait,
                            .timeout_ms = 60000};
    tc_error err = {0};
    return tc_workflow_update(g_client, &rq, out, &err);
}

static void updates_against_the_server(tc_worker *w, const char *queue)
{
    char wid[128], run[64];
    tt_unique(wid, sizeof wid, "updatable");
    tc_start_options so = {.workflow_id = wid, .workflow_type = "Updatable", .task_queue = queue};
    TT_OK(tc_workflow_start(g_client, &so, run, sizeof run, NULL, &e_));
    tc_update_outcome out;
    /* accepted and completed (the handler blocks in between) */
    assert_int_equal(update(wid, "add", NULL, "5", TC_UPDATE_WAIT_COMPLETED, &out), TC_OK);
    assert_true(out.accepted && out.completed);
    assert_string_equal(out.result_json, "5");
    tc_update_outcome_clear(&out);
    /* rejected by the validator: no event */
    assert_int_equal(update(wid, "add", NULL, "-1", TC_UPDATE_WAIT_COMPLETED, &out), TC_ERR_FAILED);
    assert_string_equal(out.failure_type, "Negative");
    assert_string_equal(out.failure_message, "no negative numbers: -1");
    tc_update_outcome_clear(&out);
    /* unknown name: rejected naming the known ones */
    assert_int_equal(update(wid, "nope", NULL, NULL, TC_UPDATE_WAIT_COMPLETED, &out),
                     TC_ERR_FAILED);
    assert_non_null(strstr(out.failure_message, "unknown update nope. KnownUpdates=["));
    tc_update_outcome_clear(&out);
    /* the same update id twice: one execution, the same answer */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(update(wid, "add", "same-id", "2", TC_UPDATE_WAIT_COMPLETED, &out), TC_OK);
        assert_string_equal(out.result_json, "7");
        tc_update_outcome_clear(&out);
    }
    /* async: accepted first, the result later */
    assert_int_equal(update(wid, "slow", "slow-1", NULL, TC_UPDATE_WAIT_ACCEPTED, &out), TC_OK);
    assert_true(out.accepted);
    assert_false(out.completed);
    tc_update_outcome_clear(&out);
    tc_error err = {0};
    assert_int_equal(tc_workflow_update_result(g_client, wid, NULL, "slow-1", 60000, &out, &err),
                     TC_OK);
    assert_string_equal(out.result_json, "\"slow done\"");
    tc_update_outcome_clear(&out);
    /* a handler registered for the type that fails its update */
    assert_int_equal(update(wid, "fail", NULL, NULL, TC_UPDATE_WAIT_COMPLETED, &out),
                     TC_ERR_FAILED);
    assert_string_equal(out.failure_type, "Refused");
    tc_update_outcome_clear(&out);
    TT_OK(tc_workflow_signal(g_client, wid, NULL, "done", NULL, &e_));
    tc_outcome res;
    assert_int_equal(tc_workflow_result(g_client, wid, run, 60000, &res, &err), TC_OK);
    assert_string_equal(res.result_json, "7");
    tc_outcome_clear(&res);
    tc_history *h = tt_history(g_client, wid, NULL);
    assert_int_equal(tt_count_events(h, EV_UPDATE_ACCEPTED), 4); /* add, add(same-id), slow, fail */
    assert_int_equal(tt_count_events(h, EV_UPDATE_COMPLETED), 4);
    assert_int_equal(tt_count_events(h, EV_UPDATE_REJECTED), 0);
    /* its history replays on the worker's registration, with the type's update handlers */
    upd_state st = {0};
    assert_int_equal(tc_worker_replay_history(w, h, &st, sizeof st, &err), TC_OK);
    assert_int_equal(st.counter, 7);
    assert_int_equal(st.add_calls, 2);
    tc_history_free(h);
}

static void updates_with_a_sticky_cache(void **s)
{
    (void)s;
    updates_against_the_server(g_worker, g_queue);
}

/* A one-run cache and no cache: every rejected (speculative, dropped) task and every eviction
 * makes the next task rebuild the run from history. */
static void updates_without_a_cache(void **s)
{
    (void)s;
    char queue[96];
    tt_unique(queue, sizeof queue, "msg-nocache");
    for (int cache = 1; cache >= -1; cache -= 2) {
        tc_worker *w = start_worker(queue, cache);
        updates_against_the_server(w, queue);
        tc_worker_free(w);
    }
}

/* ---- eager start ---- */

static void eager_start_runs_the_first_task_from_the_response(void **s)
{
    (void)s;
    char wid[128], run[64];
    tt_unique(wid, sizeof wid, "eager");
    tc_worker_stats before, after;
    tc_worker_get_stats(g_worker, &before);
    bool eager = false;
    tc_start_options so = {.workflow_id = wid,
                           .workflow_type = "Hello",
                           .task_queue = g_queue,
                           .task_timeout_ms = 3600000,
                           .request_eager_start = true,
                           .eager_started = &eager};
    TT_OK(tc_workflow_start(g_client, &so, run, sizeof run, NULL, &e_));
    assert_true(eager);
    tc_outcome out;
    tc_error err = {0};
    assert_int_equal(tc_workflow_result(g_client, wid, run, 30000, &out, &err), TC_OK);
    assert_string_equal(out.result_json, "\"Hello World\"");
    tc_outcome_clear(&out);
    tc_worker_get_stats(g_worker, &after);
    assert_int_equal(after.eager_workflow_requested - before.eager_workflow_requested, 1);
    assert_int_equal(after.eager_workflow_tasks - before.eager_workflow_tasks, 1);
    /* a type no local worker runs: an ordinary start, no slot asked for */
    tt_unique(wid, sizeof wid, "eager");
    so.workflow_id = wid;
    so.workflow_type = "NotHere";
    TT_OK(tc_workflow_start(g_client, &so, run, sizeof run, NULL, &e_));
    assert_false(eager);
    tc_worker_get_stats(g_worker, &before);
    assert_int_equal(before.eager_workflow_requested, after.eager_workflow_requested);
    TT_OK(tc_workflow_terminate(g_client, wid, run, "test", &e_));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(child_results_failures_and_starts),
        cmocka_unit_test(parent_close_policies),
        cmocka_unit_test(child_signal_through_the_handle),
        cmocka_unit_test(child_cancellation_types),
        cmocka_unit_test(signals_and_cancel_requests_between_workflows),
        cmocka_unit_test(signal_with_start_starts_once_and_signals_twice),
        cmocka_unit_test(updates_with_a_sticky_cache),
        cmocka_unit_test(updates_without_a_cache),
        cmocka_unit_test(eager_start_runs_the_first_task_from_the_response),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
