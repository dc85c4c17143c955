/* test_temporal_client.c - client calls against the dev server, cross-checked with the official
 * `temporal` CLI: memo and search attributes, describe, list / count by query, signal-with-start,
 * cancel, reset, delete, and tc_workflow_result following a run chain. The workflows run on
 * the official Go SDK worker in tests/temporal/gopeer. */
#include "tc_cli.h"
#include "test_workflows.h"

#include <jansson.h>

static tc_client *g_c;
static pid_t g_peer_pid;
static const char *g_peer;
static char g_queue[96];

/* The workflows these tests run (TwoSignals, FailFirstRun, GoGreet) live in the Go SDK peer. */
static int group_setup(void **s)
{
    (void)s;
    g_c = tt_client();
    tt_unique(g_queue, sizeof g_queue, "tc-client");
    g_peer_pid = tt_gopeer_start(g_peer, g_queue);
    return g_peer_pid > 0 ? 0 : -1;
}

static int group_teardown(void **s)
{
    (void)s;
    tt_gopeer_stop(g_peer_pid);
    tc_client_free(g_c);
    return 0;
}

/* Starts a workflow no worker polls for (its task queue is its id). */
static void start_idle(const char *wid, const char *memo, const char *sa, char *rid)
{
    tc_error err = {0};
    tc_start_options so = {.workflow_id = wid,
                           .workflow_type = "Idle",
                           .task_queue = wid,
                           .memo_json = memo,
                           .search_attributes_json = sa};
    if (tc_workflow_start(g_c, &so, rid, 64, NULL, &err) != TC_OK)
        fail_msg("start %s: %s", wid, err.text);
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("not JSON (%s): %s", je.text, text);
    return v;
}

static void memo_and_search_attributes_round_trip(void **s)
{
    (void)s;
    char wid[96], rid[64], kw[96], sa[1024];
    tt_unique(wid, sizeof wid, "memo-sa");
    tt_unique(kw, sizeof kw, "kw");
    snprintf(sa, sizeof sa,
             "{\"CustomKeywordField\":\"%s\",\"CustomIntField\":42,\"CustomBoolField\":true,"
             "\"CustomDoubleField\":1.5,\"CustomKeywordListField\":[\"a\",\"b\"],"
             "\"CustomDatetimeField\":\"2024-01-02T03:04:05Z\",\"SagaStuck\":false}",
             kw);
    start_idle(wid, "{\"customer\":\"c-1\",\"lines\":[1,2]}", sa, rid);

    tc_workflow_info info;
    tc_error err = {0};
    TT_OK(tc_workflow_describe_info(g_c, wid, NULL, &info, &err));
    assert_int_equal(info.status, TC_WF_RUNNING);
    assert_string_equal(info.run_id, rid);
    assert_string_equal(info.workflow_type, "Idle");
    assert_true(info.start_time_ms > 0);
    json_t *memo = parse(info.memo_json);
    json_t *want_memo = parse("{\"customer\":\"c-1\",\"lines\":[1,2]}");
    assert_true(json_equal(memo, want_memo));
    json_t *got = parse(info.search_attributes_json);
    assert_string_equal(json_string_value(json_object_get(got, "CustomKeywordField")), kw);
    assert_int_equal(json_integer_value(json_object_get(got, "CustomIntField")), 42);
    assert_true(json_is_true(json_object_get(got, "CustomBoolField")));
    assert_true(json_real_value(json_object_get(got, "CustomDoubleField")) == 1.5);
    assert_int_equal(json_array_size(json_object_get(got, "CustomKeywordListField")), 2);
    assert_true(json_is_false(json_object_get(got, "SagaStuck")));
    assert_non_null(strstr(json_string_value(json_object_get(got, "CustomDatetimeField")),
                           "2024-01-02T03:04:05"));
    json_decref(memo);
    json_decref(want_memo);
    json_decref(got);
    tc_workflow_info_clear(&info);

    /* The official CLI sees the same memo and search attributes. */
    char *out = tt_cli(NULL, "workflow describe --workflow-id %s --output json", wid);
    assert_non_null(strstr(out, "\"customer\": \"c-1\"")); /* memo, decoded by the CLI */
    free(out);
    out = tt_cli(NULL, "workflow describe --workflow-id %s", wid);
    assert_non_null(strstr(out, kw)); /* search attributes with their "type" metadata */
    assert_non_null(strstr(out, "KeywordList"));
    free(out);
    TT_OK(tc_workflow_terminate(g_c, wid, NULL, "test done", &err));
}

static void bad_memo_or_search_attributes_are_refused(void **s)
{
    (void)s;
    tc_error err = {0};
    char rid[64];
    tc_start_options so = {.workflow_id = "never-started",
                           .workflow_type = "Idle",
                           .task_queue = "never",
                           .memo_json = "{\"a\":"};
    assert_int_equal(tc_workflow_start(g_c, &so, rid, sizeof rid, NULL, &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "memo: invalid JSON at line 1"));
    so.memo_json = "[1,2]";
    assert_int_equal(tc_workflow_start(g_c, &so, rid, sizeof rid, NULL, &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "expected a JSON object"));
    so.memo_json = NULL;
    so.search_attributes_json = "{\"a\":1,\"a\":2}";
    assert_int_equal(tc_workflow_start(g_c, &so, rid, sizeof rid, NULL, &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "search attributes"));
    /* Unregistered name, and a value of the wrong type: the server refuses both. */
    char wid[96];
    tt_unique(wid, sizeof wid, "bad-sa");
    so.workflow_id = wid;
    so.search_attributes_json = "{\"NoSuchAttributeX\":\"v\"}";
    assert_int_equal(tc_workflow_start(g_c, &so, rid, sizeof rid, NULL, &err), TC_ERR_INVALID);
    printf("# unregistered: %s\n", err.text);
    so.search_attributes_json = "{\"CustomIntField\":\"not a number\"}";
    assert_int_equal(tc_workflow_start(g_c, &so, rid, sizeof rid, NULL, &err), TC_ERR_INVALID);
    printf("# wrong type: %s\n", err.text);
}

/* Polls the count until it reaches want (visibility is eventually consistent). */
static int64_t count_until(const char *query, int64_t want)
{
    int64_t n = -1;
    tc_error err = {0};
    for (int i = 0; i < 300; i++) {
        TT_OK(tc_workflow_count(g_c, query, &n, &err));
        if (n == want)
            break;
        tt_sleep_ms(100);
    }
    return n;
}

static void list_and_count_by_query_follow_pages(void **s)
{
    (void)s;
    char tag[96], sa[256], query[256], wids[3][96], rid[64];
    tt_unique(tag, sizeof tag, "list");
    snprintf(sa, sizeof sa, "{\"CustomKeywordField\":\"%s\",\"CustomIntField\":7}", tag);
    for (int i = 0; i < 3; i++) {
        tt_unique(wids[i], sizeof wids[i], "listed");
        start_idle(wids[i], NULL, sa, rid);
    }
    snprintf(query, sizeof query, "CustomKeywordField = '%s' AND ExecutionStatus = 'Running'", tag);
    assert_int_equal(count_until(query, 3), 3);

    int seen[3] = {0};
    size_t pages = 0, total = 0;
    tc_workflow_page pg;
    uint8_t *token = NULL;
    size_t token_len = 0;
    tc_error err = {0};
    do {
        TT_OK(tc_workflow_list(g_c, query, 2, token, token_len, &pg, &err));
        free(token);
        token = NULL;
        pages++;
        for (size_t i = 0; i < pg.n; i++) {
            total++;
            for (int k = 0; k < 3; k++)
                if (strcmp(pg.items[i].workflow_id, wids[k]) == 0)
                    seen[k]++;
            assert_non_null(strstr(pg.items[i].search_attributes_json, tag));
            assert_int_equal(pg.items[i].status, TC_WF_RUNNING);
        }
        if (pg.next_token) {
            token = pg.next_token; /* take it over */
            token_len = pg.next_token_len;
            pg.next_token = NULL;
        }
        tc_workflow_page_clear(&pg);
    } while (token);
    assert_int_equal(total, 3);
    assert_true(pages >= 2); /* 3 runs at 2 a page */
    for (int k = 0; k < 3; k++)
        assert_int_equal(seen[k], 1);

    /* The CLI's own query finds and counts the same runs. */
    char *out = tt_cli(NULL, "workflow count --query \"%s\"", query);
    assert_non_null(strstr(out, "3"));
    free(out);
    out = tt_cli(NULL, "workflow list --query \"%s\"", query);
    for (int k = 0; k < 3; k++)
        assert_non_null(strstr(out, wids[k]));
    free(out);
    for (int k = 0; k < 3; k++)
        TT_OK(tc_workflow_terminate(g_c, wids[k], NULL, NULL, &err));
    snprintf(query, sizeof query, "CustomKeywordField = '%s' AND ExecutionStatus = 'Terminated'",
             tag);
    assert_int_equal(count_until(query, 3), 3);
}

static void signal_with_start_starts_then_signals_the_same_run(void **s)
{
    (void)s;
    char wid[96], rid1[64], rid2[64];
    tt_unique(wid, sizeof wid, "sws");
    tc_error err = {0};
    bool started = false;
    tc_start_options so = {.workflow_id = wid,
                           .workflow_type = "TwoSignals",
                           .task_queue = g_queue,
                           .memo_json = "{\"via\":\"signal-with-start\"}"};
    TT_OK(tc_workflow_signal_with_start(g_c, &so, "go", "\"first\"", rid1, sizeof rid1, &started,
                                        &err));
    assert_true(started);
    TT_OK(tc_workflow_signal_with_start(g_c, &so, "go", "{\"n\":2}", rid2, sizeof rid2, &started,
                                        &err));
    assert_false(started);
    assert_string_equal(rid1, rid2);
    tc_outcome oc;
    TT_OK(tc_workflow_result(g_c, wid, NULL, 30000, &oc, &err));
    assert_string_equal(oc.result_json, "[\"first\",{\"n\":2}]");
    assert_string_equal(oc.run_id, rid1);
    tc_outcome_clear(&oc);
    tc_workflow_info info;
    TT_OK(tc_workflow_describe_info(g_c, wid, NULL, &info, &err));
    assert_string_equal(info.memo_json, "{\"via\":\"signal-with-start\"}");
    tc_workflow_info_clear(&info);
}

static void cancel_request_is_recorded_in_history(void **s)
{
    (void)s;
    char wid[96], rid[64];
    tt_unique(wid, sizeof wid, "cancel");
    start_idle(wid, NULL, NULL, rid);
    tc_error err = {0};
    TT_OK(tc_workflow_cancel(g_c, wid, rid, "customer changed their mind", &err));
    TT_OK(tc_workflow_cancel(g_c, wid, NULL, NULL, &err)); /* again: harmless */
    tc_history *h = NULL;
    TT_OK(tc_workflow_history(g_c, wid, rid, &h, &err));
    assert_true(tt_find_event(h, 20 /* WORKFLOW_EXECUTION_CANCEL_REQUESTED */, 0) >= 0);
    tc_history_free(h);
    char *out = tt_cli(NULL, "workflow show --workflow-id %s --output json", wid);
    assert_non_null(strstr(out, "customer changed their mind"));
    free(out);
    assert_int_equal(tc_workflow_cancel(g_c, "no-such-workflow-xyz", NULL, NULL, &err),
                     TC_ERR_NOT_FOUND);
    TT_OK(tc_workflow_terminate(g_c, wid, NULL, NULL, &err));
}

static void result_follows_the_retry_chain_to_the_second_run(void **s)
{
    (void)s;
    char wid[96], rid[64];
    tt_unique(wid, sizeof wid, "chain");
    tc_error err = {0};
    tc_retry_policy rp = {.initial_interval_ms = 1000, .maximum_attempts = 2};
    tc_start_options so = {
        .workflow_id = wid, .workflow_type = "FailFirstRun", .task_queue = g_queue, .retry = &rp};
    TT_OK(tc_workflow_start(g_c, &so, rid, sizeof rid, NULL, &err));
    tc_outcome oc;
    /* Asked about the first run, the result follows new_execution_run_id to the second. */
    TT_OK(tc_workflow_result(g_c, wid, rid, 60000, &oc, &err));
    assert_string_equal(oc.result_json, "{\"attempt\":2}");
    assert_string_not_equal(oc.run_id, rid);
    tc_workflow_info first;
    TT_OK(tc_workflow_describe_info(g_c, wid, rid, &first, &err));
    assert_int_equal(first.status, TC_WF_FAILED);
    tc_workflow_info_clear(&first);
    char *out = tt_cli(NULL, "workflow describe --workflow-id %s --run-id %s --output json", wid,
                       oc.run_id);
    assert_non_null(strstr(out, "WORKFLOW_EXECUTION_STATUS_COMPLETED"));
    free(out);
    tc_outcome_clear(&oc);
}

static void reset_replays_from_the_first_workflow_task(void **s)
{
    (void)s;
    char wid[96], rid[64], new_rid[64];
    tt_unique(wid, sizeof wid, "reset");
    tc_error err = {0};
    tc_start_options so = {.workflow_id = wid,
                           .workflow_type = "GoGreet",
                           .task_queue = g_queue,
                           .input_json = "\"R\""};
    TT_OK(tc_workflow_start(g_c, &so, rid, sizeof rid, NULL, &err));
    tc_outcome oc;
    TT_OK(tc_workflow_result(g_c, wid, rid, 30000, &oc, &err));
    tc_outcome_clear(&oc);
    tc_history *h = NULL;
    TT_OK(tc_workflow_history(g_c, wid, rid, &h, &err));
    long wtc = tt_find_event(h, TT_EV_WORKFLOW_TASK_COMPLETED, 0);
    assert_true(wtc >= 0);
    tc_history_free(h);
    TT_OK(tc_workflow_reset(g_c, wid, rid, wtc + 1, "test reset", new_rid, sizeof new_rid, &err));
    assert_string_not_equal(new_rid, rid);
    /* The new run re-runs the activity on the worker and completes again. */
    TT_OK(tc_workflow_result(g_c, wid, new_rid, 30000, &oc, &err));
    assert_string_equal(oc.result_json, "\"Hello, R!\"");
    tc_outcome_clear(&oc);
    /* The new run's history records the reset (its reason) where the old run was cut. */
    char *out =
        tt_cli(NULL, "workflow show --workflow-id %s --run-id %s --output json", wid, new_rid);
    assert_non_null(strstr(out, "test reset"));
    free(out);
    assert_int_equal(tc_workflow_reset(g_c, wid, rid, 1, NULL, new_rid, sizeof new_rid, &err),
                     TC_ERR_INVALID); /* event 1 is not a workflow task event */
}

static void delete_removes_the_run(void **s)
{
    (void)s;
    char wid[96], rid[64];
    tt_unique(wid, sizeof wid, "delete");
    start_idle(wid, NULL, NULL, rid);
    tc_error err = {0};
    TT_OK(tc_workflow_delete(g_c, wid, rid, &err));
    int rc = TC_OK;
    for (int i = 0; i < 300 && rc == TC_OK; i++) {
        tc_description d;
        rc = tc_workflow_describe(g_c, wid, rid, &d, &err);
        if (rc == TC_OK)
            tt_sleep_ms(100);
    }
    assert_int_equal(rc, TC_ERR_NOT_FOUND);
    int st = 0;
    char *out = tt_cli(&st, "workflow describe --workflow-id %s", wid);
    assert_int_not_equal(st, 0);
    free(out);
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 2, "TEMPORAL_CLI GOPEER");
    g_tt_cli = argv[1];
    g_peer = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memo_and_search_attributes_round_trip),
        cmocka_unit_test(bad_memo_or_search_attributes_are_refused),
        cmocka_unit_test(list_and_count_by_query_follow_pages),
        cmocka_unit_test(signal_with_start_starts_then_signals_the_same_run),
        cmocka_unit_test(cancel_request_is_recorded_in_history),
        cmocka_unit_test(result_follows_the_retry_chain_to_the_second_run),
        cmocka_unit_test(reset_replays_from_the_first_workflow_task),
        cmocka_unit_test(delete_removes_the_run),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
