/* test_temporal_history_json.c - proto3 JSON histories: what `temporal workflow show -o json`
 * writes for runs of several shapes loads into the same events as the binary history we fetch
 * ("stack" mode), and bad input is refused with its place, never a crash ("unit" mode). */
#include "tc_cli.h"
#include "test_workflows.h"

static tc_client *g_c;
static tc_worker *g_w;
static char g_queue[96], g_goqueue[96];
static const char *g_dir = ".";
static const char *g_peer;
static pid_t g_peer_pid;

/* Runs of two workers: ours (Greet, Chain from test_workflows.c) and the official Go SDK peer
 * (Mixed: timer, activities, local activity, side effect, upserts, child workflow, signal,
 * failures), so the JSON covers what an official SDK writes too. */
static int stack_setup(void **s)
{
    (void)s;
    g_c = tt_client();
    g_w = tt_worker(g_c, g_queue, sizeof g_queue, "tc-hjson", NULL);
    tt_unique(g_goqueue, sizeof g_goqueue, "tc-hjson-go");
    g_peer_pid = tt_gopeer_start(g_peer, g_goqueue);
    return g_w && g_peer_pid > 0 ? 0 : -1;
}

static int stack_teardown(void **s)
{
    (void)s;
    tt_gopeer_stop(g_peer_pid);
    tc_worker_free(g_w);
    tc_client_free(g_c);
    return 0;
}

/* Writes `temporal workflow show -o json` of the run to a file; returns its path (static). */
static const char *cli_json(const char *wid, const char *rid)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s.json", g_dir, wid);
    char *out = tt_cli(NULL, "workflow show --workflow-id %s --run-id %s --output json", wid, rid);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(out, f);
    fclose(f);
    free(out);
    return path;
}

/* Loads the CLI's JSON of a run and compares it event by event with the binary history. */
static void check_run(const char *wid, const char *rid, size_t *types_seen)
{
    tc_error err = {0};
    tc_history *bin = NULL, *js = NULL;
    TT_OK(tc_workflow_history(g_c, wid, rid, &bin, &err));
    const char *path = cli_json(wid, rid);
    if (tc_history_load_json(path, &js, &err) != TC_OK)
        fail_msg("load %s: %s", path, err.text);
    assert_int_equal(tc_history_length(js), tc_history_length(bin));
    if (tc_history_compare(bin, js, &err) != TC_OK)
        fail_msg("%s: %s", wid, err.text);
    for (size_t i = 0; i < tc_history_length(js); i++) {
        int t = tc_history_event_type(js, i);
        if (t > 0 && t < 64)
            types_seen[t] = 1;
    }
    tc_history_free(bin);
    tc_history_free(js);
}

static void cli_json_equals_the_binary_history(void **s)
{
    (void)s;
    size_t types[64] = {0};
    tc_error err = {0};
    char wid[96], rid[64];
    tc_outcome oc;

    /* 1 (Go SDK): timer, activity, local activity, side effect, upserts, child workflow,
     * signal, activity failure, workflow failure; memo, typed search attributes and timeouts on
     * the start event. */
    tt_unique(wid, sizeof wid, "hj-mixed");
    tc_start_options so = {.workflow_id = wid,
                           .workflow_type = "Mixed",
                           .task_queue = g_goqueue,
                           .input_json = "{\"n\":1,\"big\":9007199254740993}",
                           .memo_json = "{\"who\":\"test\",\"list\":[1,2,3]}",
                           .search_attributes_json =
                               "{\"CustomKeywordField\":\"hj\",\"CustomIntField\":-5,"
                               "\"CustomDoubleField\":0.25,\"CustomBoolField\":true}",
                           .execution_timeout_ms = 600000,
                           .run_timeout_ms = 300500};
    TT_OK(tc_workflow_start(g_c, &so, rid, sizeof rid, NULL, &err));
    for (int i = 0; i < 100; i++) { /* signal once it waits for it (history has the activity) */
        tc_workflow_info info;
        TT_OK(tc_workflow_describe_info(g_c, wid, rid, &info, &err));
        int64_t len = info.history_length;
        tc_workflow_info_clear(&info);
        if (len >= 20) /* waiting for the signal after the child workflow */
            break;
        tt_sleep_ms(100);
    }
    TT_OK(tc_workflow_signal(g_c, wid, rid, "go", "{\"please\":true}", &err));
    assert_int_equal(tc_workflow_result(g_c, wid, rid, 30000, &oc, &err), TC_ERR_WORKFLOW_FAILED);
    tc_outcome_clear(&oc);
    check_run(wid, rid, types);

    /* 2 (our worker): a chain of 30 activities. */
    tt_unique(wid, sizeof wid, "hj-chain");
    tc_start_options co = {.workflow_id = wid,
                           .workflow_type = "Chain",
                           .task_queue = g_queue,
                           .input_json = "{\"n\":30}"};
    TT_OK(tc_workflow_start(g_c, &co, rid, sizeof rid, NULL, &err));
    TT_OK(tc_workflow_result(g_c, wid, rid, 60000, &oc, &err));
    tc_outcome_clear(&oc);
    check_run(wid, rid, types);

    /* 3: cancel requested, then terminated, no worker. */
    tt_unique(wid, sizeof wid, "hj-term");
    tc_start_options io = {.workflow_id = wid, .workflow_type = "Idle", .task_queue = wid};
    TT_OK(tc_workflow_start(g_c, &io, rid, sizeof rid, NULL, &err));
    TT_OK(tc_workflow_cancel(g_c, wid, rid, "json test", &err));
    TT_OK(tc_workflow_terminate(g_c, wid, rid, "done with it", &err));
    check_run(wid, rid, types);

    size_t kinds = 0;
    for (size_t t = 0; t < 64; t++)
        kinds += types[t];
    printf("# %zu event types compared\n", kinds);
    assert_true(kinds >= 20);
}

static void a_changed_value_is_reported_with_its_event_and_field(void **s)
{
    (void)s;
    char wid[96], rid[64];
    tc_error err = {0};
    tt_unique(wid, sizeof wid, "hj-greet");
    tc_start_options so = {
        .workflow_id = wid, .workflow_type = "Greet", .task_queue = g_queue, .input_json = "\"J\""};
    TT_OK(tc_workflow_start(g_c, &so, rid, sizeof rid, NULL, &err));
    tc_outcome oc;
    TT_OK(tc_workflow_result(g_c, wid, rid, 30000, &oc, &err));
    tc_outcome_clear(&oc);
    char *json = tt_cli(NULL, "workflow show --workflow-id %s --run-id %s --output json", wid, rid);
    /* "J" is base64 IkoiI: the activity's input and the workflow's input. Change the first. */
    char *p = strstr(json, "\"IkoiIi");
    if (!p)
        p = strstr(json, "\"Iko");
    assert_non_null(p);
    p[2] = 'L'; /* "J" -> "K" */
    tc_history *js = NULL, *bin = NULL;
    if (tc_history_parse_json(json, strlen(json), &js, &err) != TC_OK)
        fail_msg("parse: %s", err.text);
    TT_OK(tc_workflow_history(g_c, wid, rid, &bin, &err));
    assert_int_equal(tc_history_compare(bin, js, &err), TC_ERR_STATE);
    printf("# %s\n", err.text);
    assert_non_null(strstr(err.text, "event 0 (eventId 1)"));
    assert_non_null(
        strstr(err.text, "workflowExecutionStartedEventAttributes.input.payloads[0].data"));

    /* The loaded history replays on the workflow's code like a fetched one. */
    tc_history_free(js);
    free(json);
    json = tt_cli(NULL, "workflow show --workflow-id %s --run-id %s --output json", wid, rid);
    TT_OK(tc_history_parse_json(json, strlen(json), &js, &err));
    TT_OK(tc_replay_history(js, wf_greet, NULL, 0, NULL, &err));
    tc_history_free(js);
    tc_history_free(bin);
    free(json);
}

/* ---- unit: bad input ---- */

static void expect_refused(const char *json, const char *needle)
{
    tc_history *h = NULL;
    tc_error err = {0};
    int rc = tc_history_parse_json(json, strlen(json), &h, &err);
    printf("# %s\n", err.text);
    assert_int_equal(rc, TC_ERR_INVALID);
    assert_null(h);
    if (!strstr(err.text, needle))
        fail_msg("\"%s\" not in \"%s\"", needle, err.text);
}

#define EV1 "{\"eventId\":\"1\",\"eventType\":\"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED\""

static void bad_json_is_refused_with_its_place(void **s)
{
    (void)s;
    expect_refused("{\"events\": [", "line 1 column");
    expect_refused("", "line 1 column");
    expect_refused("[1,2]", "(root): expected an object");
    expect_refused("{\"evnts\": []}", "at evnts: unknown field");
    expect_refused("{\"events\": [" EV1 ",\"bogus\":1}]}", "at events[0].bogus: unknown field");
    expect_refused("{\"events\": [{\"eventId\": true}]}",
                   "at events[0].eventId: expected an integer");
    expect_refused("{\"events\": [{\"eventId\": \"12x\"}]}", "expected an integer, got \"12x\"");
    expect_refused("{\"events\": [{\"eventType\": \"EVENT_TYPE_NOPE\"}]}",
                   "unknown enum value \"EVENT_TYPE_NOPE\"");
    expect_refused("{\"events\": [" EV1 ",\"eventTime\":\"yesterday\"}]}",
                   "at events[0].eventTime: expected an RFC 3339 timestamp");
    expect_refused("{\"events\": [" EV1 ",\"workflowExecutionStartedEventAttributes\":"
                   "{\"workflowRunTimeout\":\"10m\"}}]}",
                   "workflowRunTimeout: duration \"10m\" must end in s");
    expect_refused("{\"events\": [" EV1 ",\"workflowExecutionStartedEventAttributes\":"
                   "{\"input\":{\"payloads\":[{\"data\":\"@@@\"}]}}}]}",
                   "input.payloads[0].data: invalid base64");
    expect_refused("{\"events\": [" EV1 ",\"workflowExecutionStartedEventAttributes\":{},"
                   "\"workflowExecutionCompletedEventAttributes\":{}}]}",
                   "a second member of a oneof");
    expect_refused("{\"events\": [" EV1 "}, {\"eventId\":\"3\"}]}",
                   "events[1]: eventId 3 where 2 was expected");
    expect_refused("{\"events\": {}}", "at events: expected an array");
    expect_refused("{\"events\": [" EV1 ",\"workflowExecutionStartedEventAttributes\":"
                   "{\"memo\":{\"fields\":[1]}}}]}",
                   "memo.fields: expected an object (map)");
    expect_refused("{\"events\": [{\"eventId\": \"99999999999999999999\"}]}",
                   "expected an integer");
    expect_refused("{\"events\": [{\"eventId\": 1.5}]}", "expected an integer");
    expect_refused("{\"a\":1,\"a\":2}", "duplicate");
    /* Deep nesting (failure causes) stops at the parser's depth limit, not the stack. */
    size_t depth = 5000, n = 0;
    char *deep = malloc(depth * 12 + 64);
    assert_non_null(deep);
    n += (size_t)sprintf(deep, "{\"events\":[");
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(deep + n, "{\"a\":");
    n += (size_t)sprintf(deep + n, "1");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '}';
    n += (size_t)sprintf(deep + n, "]}");
    tc_history *h = NULL;
    tc_error err = {0};
    assert_int_equal(tc_history_parse_json(deep, n, &h, &err), TC_ERR_INVALID);
    printf("# deep: %s\n", err.text);
    free(deep);
}

static void good_json_in_every_accepted_form_loads(void **s)
{
    (void)s;
    /* original field names, enum numbers, numbers for int64, url-safe unpadded base64,
     * timestamps with offsets, null as default, empty events */
    const char *json =
        "{\"events\":[{\"event_id\":1,\"eventType\":1,\"eventTime\":\"2024-02-29T23:59:59.5+01:"
        "00\","
        "\"workflowExecutionStartedEventAttributes\":{\"workflowType\":{\"name\":\"W\"},"
        "\"input\":{\"payloads\":[{\"metadata\":{\"encoding\":\"anNvbi9wbGFpbg\"},"
        "\"data\":\"IkoiIg\"}]},\"workflowRunTimeout\":\"1.000000001s\",\"attempt\":null,"
        "\"firstWorkflowTaskBackoff\":\"-0.5s\"}},"
        "{\"eventId\":\"2\",\"eventType\":\"EVENT_TYPE_WORKFLOW_TASK_SCHEDULED\","
        "\"workflowTaskScheduledEventAttributes\":{\"attempt\":\"3\"}}]}";
    tc_history *h = NULL;
    tc_error err = {0};
    if (tc_history_parse_json(json, strlen(json), &h, &err) != TC_OK)
        fail_msg("%s", err.text);
    assert_int_equal(tc_history_length(h), 2);
    assert_int_equal(tc_history_event_type(h, 0), 1);
    assert_int_equal(tc_history_event_type(h, 1), 5);
    /* Saved as binary and loaded back, it is the same history. */
    char path[512];
    snprintf(path, sizeof path, "%s/forms.pb", g_dir);
    TT_OK(tc_history_save(h, path, &err));
    tc_history *b = NULL;
    TT_OK(tc_history_load(path, &b, &err));
    TT_OK(tc_history_compare(h, b, &err));
    tc_history_free(b);
    tc_history_free(h);
    TT_OK(tc_history_parse_json("{\"events\":[]}", 13, &h, &err));
    assert_int_equal(tc_history_length(h), 0);
    tc_history_free(h);
    assert_int_equal(tc_history_load_json("/nonexistent/history.json", &h, &err), TC_ERR_IO);
}

static void a_truncated_cli_file_is_refused(void **s)
{
    (void)s;
    /* A real file cut short at every 97th byte: always an error, never a crash. */
    char path[512];
    const char *src = getenv("TC_FUZZ_SEEDS");
    snprintf(path, sizeof path, "%s/greet.json", src ? src : "tests/fuzz/corpus/fuzz_history_json");
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("seed %s missing", path);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    tc_history *h = NULL;
    tc_error err = {0};
    TT_OK(tc_history_parse_json(buf, n, &h, &err));
    tc_history_free(h);
    for (size_t cut = 1; cut + 2 < n; cut += 97) {
        int rc = tc_history_parse_json(buf, cut, &h, &err);
        assert_int_equal(rc, TC_ERR_INVALID);
        assert_null(h);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s unit|stack WORKDIR [TEMPORAL_CLI GOPEER]\n", argv[0]);
        return 2;
    }
    g_dir = argv[2];
    if (argc > 4) {
        g_tt_cli = argv[3];
        g_peer = argv[4];
    }
    if (strcmp(argv[1], "unit") == 0) {
        const struct CMUnitTest unit[] = {
            cmocka_unit_test(bad_json_is_refused_with_its_place),
            cmocka_unit_test(good_json_in_every_accepted_form_loads),
            cmocka_unit_test(a_truncated_cli_file_is_refused),
        };
        return cmocka_run_group_tests(unit, NULL, NULL);
    }
    const struct CMUnitTest stack[] = {
        cmocka_unit_test(cli_json_equals_the_binary_history),
        cmocka_unit_test(a_changed_value_is_reported_with_its_event_and_field),
    };
    return cmocka_run_group_tests(stack, stack_setup, stack_teardown);
}
