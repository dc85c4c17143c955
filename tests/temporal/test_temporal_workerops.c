/* test_temporal_workerops.c - no server: an activity's failure re-raised whole and untyped
 * failures kept untyped, the timeout type of an activity timeout, the run information of the
 * started event, memo and search attributes carried over continue-as-new, custom workflow
 * metrics (replay-safe, checked), the metrics registry and its text, and the bad input of the
 * worker's stop, metrics, async completion and version calls. */
#include "metrics.h"
#include "rt_util.h"

#include <jansson.h>

/* ---- an activity's failure, whole ---- */

typedef struct fail_state {
    int rc;
    char ftype[64];
    int timeout_type;
} fail_state;

/* Runs activity "Pay" and, when it fails, re-raises its failure (as returning the error does in
 * the official SDKs). */
static void wf_reraise(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    fail_state *st = state;
    tc_activity_options o = {.start_to_close_ms = 1000};
    tc_future *f = tc_wf_activity_start(ctx, "Pay", NULL, &o);
    tc_wf_result r;
    st->rc = tc_future_get(ctx, f, &r);
    snprintf(st->ftype, sizeof st->ftype, "%s", r.failure_type ? r.failure_type : "(null)");
    st->timeout_type = (int)r.timeout_type;
    if (st->rc == TC_ERR_FAILED)
        tc_wf_fail_future(ctx, f);
    else if (st->rc == TC_OK)
        tc_wf_complete(ctx, r.result_json);
}

static const Temporal__Api__Failure__V1__Failure *
fail_command_failure(const tc_run *r, Temporal__Api__Command__V1__Command **m)
{
    rt_expect(r, "FailWorkflowExecution::");
    *m = rt_unpack(rt_cmd(r, 0));
    return (*m)->fail_workflow_execution_command_attributes->failure;
}

/* 1 started, 2-4 task, 5 activity "5" (Pay) scheduled (*scheduled), 6 its attempt started. */
static hb *pay_started(int64_t *scheduled)
{
    hb *b = hb_new();
    hb_started(b, "W", NULL);
    hb_wft(b);
    *scheduled = hb_act_scheduled(b, "5", "Pay");
    hb_act_started(b, *scheduled);
    return b;
}

static void activity_failure_is_reraised_as_activity_failure_caused_by_it(void **state)
{
    (void)state;
    int64_t s;
    hb *b = pay_started(&s);
    /* the attempt failed with a plain error: no failure type */
    hb_act_failed(b, s, "", "activity attempt 5 failed", false);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_reraise, sizeof(fail_state));
    const fail_state *st = r->state;
    assert_int_equal(st->rc, TC_ERR_FAILED);
    assert_string_equal(st->ftype, ""); /* not "Error": an untyped failure stays untyped */
    Temporal__Api__Command__V1__Command *m;
    const Temporal__Api__Failure__V1__Failure *f = fail_command_failure(r, &m);
    assert_int_equal(f->failure_info_case,
                     TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_ACTIVITY_FAILURE_INFO);
    const Temporal__Api__Failure__V1__ActivityFailureInfo *ai = f->activity_failure_info;
    assert_string_equal(ai->activity_type->name, "Pay");
    assert_string_equal(ai->activity_id, "5");
    assert_int_equal(ai->scheduled_event_id, s);
    assert_non_null(f->cause);
    assert_int_equal(f->cause->failure_info_case,
                     TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO);
    assert_string_equal(f->cause->message, "activity attempt 5 failed");
    assert_string_equal(f->cause->application_failure_info->type, "");
    temporal__api__command__v1__command__free_unpacked(m, NULL);
    rt_drive_free(&dr);
}

/* An ActivityTaskTimedOut whose failure is a TimeoutFailure of the given type. */
static void timed_out(hb *b, int64_t scheduled, int timeout_type)
{
    Temporal__Api__History__V1__ActivityTaskTimedOutEventAttributes *a =
        HB_ANSWER(b, ACTIVITY_TASK_TIMED_OUT, "scheduled_event_id", scheduled, NULL, 0);
    a->retry_state = TEMPORAL__API__ENUMS__V1__RETRY_STATE__RETRY_STATE_TIMEOUT;
    Temporal__Api__Failure__V1__Failure *f = hb_calloc(sizeof *f);
    temporal__api__failure__v1__failure__init(f);
    f->message = hb_strdup("activity Heartbeat timeout");
    f->source = hb_strdup("Server");
    f->stack_trace = hb_strdup("");
    f->encoded_attributes = NULL;
    Temporal__Api__Failure__V1__TimeoutFailureInfo *ti = hb_calloc(sizeof *ti);
    temporal__api__failure__v1__timeout_failure_info__init(ti);
    ti->timeout_type = (Temporal__Api__Enums__V1__TimeoutType)timeout_type;
    f->failure_info_case = TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TIMEOUT_FAILURE_INFO;
    f->timeout_failure_info = ti;
    a->failure = f;
}

static void activity_timeout_tells_its_timeout_type(void **state)
{
    (void)state;
    int64_t s;
    hb *b = pay_started(&s);
    timed_out(b, s, TC_TIMEOUT_HEARTBEAT);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_reraise, sizeof(fail_state));
    const fail_state *st = r->state;
    assert_int_equal(st->rc, TC_ERR_FAILED);
    assert_string_equal(st->ftype, "TimeoutError");
    assert_int_equal(st->timeout_type, TC_TIMEOUT_HEARTBEAT);
    /* re-raised: ActivityFailure caused by the TimeoutFailure */
    Temporal__Api__Command__V1__Command *m;
    const Temporal__Api__Failure__V1__Failure *f = fail_command_failure(r, &m);
    assert_non_null(f->activity_failure_info);
    assert_int_equal(f->activity_failure_info->retry_state,
                     TEMPORAL__API__ENUMS__V1__RETRY_STATE__RETRY_STATE_TIMEOUT);
    assert_int_equal(f->cause->timeout_failure_info->timeout_type, TC_TIMEOUT_HEARTBEAT);
    temporal__api__command__v1__command__free_unpacked(m, NULL);
    rt_drive_free(&dr);
}

/* ---- run information ---- */

static Temporal__Api__Common__V1__WorkflowExecution *execution(const char *id, const char *run)
{
    Temporal__Api__Common__V1__WorkflowExecution *x = hb_calloc(sizeof *x);
    temporal__api__common__v1__workflow_execution__init(x);
    x->workflow_id = hb_strdup(id);
    x->run_id = hb_strdup(run);
    return x;
}

/* A started event of a continued cron child, with a memo {"note": {"k": 1}}. */
static void started_child(hb *b)
{
    Temporal__Api__History__V1__HistoryEvent *e =
        hb_add(b, TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *a = hb_calloc(sizeof *a);
    temporal__api__history__v1__workflow_execution_started_event_attributes__init(a);
    a->workflow_type = hb_calloc(sizeof *a->workflow_type);
    temporal__api__common__v1__workflow_type__init(a->workflow_type);
    a->workflow_type->name = hb_strdup("Info");
    a->task_queue = hb_calloc(sizeof *a->task_queue);
    temporal__api__taskqueue__v1__task_queue__init(a->task_queue);
    a->task_queue->name = hb_strdup("unit-queue");
    a->attempt = 3;
    a->first_execution_run_id = hb_strdup("run-first");
    a->continued_execution_run_id = hb_strdup("run-before");
    a->original_execution_run_id = hb_strdup("run-original");
    a->cron_schedule = hb_strdup("@every 2s");
    a->parent_workflow_namespace = hb_strdup("parent-ns");
    a->parent_workflow_execution = execution("parent-wf", "parent-run");
    a->root_workflow_execution = execution("root-wf", "root-run");
    a->workflow_execution_timeout = hb_calloc(sizeof(Google__Protobuf__Duration));
    google__protobuf__duration__init(a->workflow_execution_timeout);
    a->workflow_execution_timeout->seconds = 60;
    a->memo = hb_calloc(sizeof *a->memo);
    temporal__api__common__v1__memo__init(a->memo);
    a->memo->n_fields = 1;
    a->memo->fields = hb_calloc(sizeof(void *));
    a->memo->fields[0] = hb_calloc(sizeof(Temporal__Api__Common__V1__Memo__FieldsEntry));
    temporal__api__common__v1__memo__fields_entry__init(a->memo->fields[0]);
    a->memo->fields[0]->key = hb_strdup("note");
    const char *v[] = {"{\"k\":1}"};
    Temporal__Api__Common__V1__Payloads *ps = hb_payloads(v, 1);
    a->memo->fields[0]->value = ps->payloads[0];
    ps->n_payloads = 0; /* moved into the memo entry */
    free(ps->payloads);
    free(ps);
    e->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_STARTED_EVENT_ATTRIBUTES;
    e->workflow_execution_started_event_attributes = a;
}

/* Completes with everything tc_wf_get_info says, as a JSON object. */
static void wf_info(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_info i;
    tc_wf_get_info(ctx, &i);
    json_t *o = json_pack(
        "{s:s?,s:s?,s:i,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:I,s:b}", "type",
        i.workflow_type, "queue", i.task_queue, "attempt", i.attempt, "first", i.first_run_id,
        "continued", i.continued_run_id, "original", i.original_run_id, "pns", i.parent_namespace,
        "pwf", i.parent_workflow_id, "prun", i.parent_run_id, "rwf", i.root_workflow_id, "rrun",
        i.root_run_id, "cron", i.cron_schedule, "memo", i.memo_json, "sa", i.search_attributes_json,
        "exec_ms", (json_int_t)i.execution_timeout_ms, "same",
        tc_wf_continued_run_id(ctx) == i.continued_run_id);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    tc_wf_complete(ctx, s);
    free(s);
}

static char *complete_result(const tc_run *r)
{
    Temporal__Api__Command__V1__Command *m = rt_unpack(rt_cmd(r, 0));
    const Temporal__Api__Common__V1__Payloads *ps =
        m->complete_workflow_execution_command_attributes->result;
    char *s = strndup((const char *)ps->payloads[0]->data.data, ps->payloads[0]->data.len);
    temporal__api__command__v1__command__free_unpacked(m, NULL);
    return s;
}

static void run_info_comes_from_the_started_event(void **state)
{
    (void)state;
    hb *b = hb_new();
    started_child(b);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_info, 0);
    rt_expect(r, "CompleteWorkflowExecution::");
    char *got = complete_result(r);
    assert_string_equal(
        got, "{\"attempt\":3,\"continued\":\"run-before\",\"cron\":\"@every 2s\",\"exec_ms\":60000,"
             "\"first\":\"run-first\",\"memo\":\"{\\\"note\\\":{\\\"k\\\":1}}\",\"original\":"
             "\"run-original\",\"pns\":\"parent-ns\",\"prun\":\"parent-run\",\"pwf\":"
             "\"parent-wf\",\"queue\":\"unit-queue\",\"rrun\":\"root-run\",\"rwf\":\"root-wf\","
             "\"sa\":\"{}\",\"same\":true,\"type\":\"Info\"}");
    free(got);
    rt_drive_free(&dr);
}

static void first_run_has_no_continued_run_id(void **state)
{
    (void)state;
    hb *b = hb_new();
    hb_started(b, "Info", NULL);
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_info, 0);
    char *got = complete_result(r);
    json_t *o = json_loads(got, 0, NULL);
    assert_non_null(o);
    assert_true(json_is_null(json_object_get(o, "continued")));
    assert_true(json_is_null(json_object_get(o, "pwf")));
    assert_true(json_is_null(json_object_get(o, "cron")));
    assert_string_equal(json_string_value(json_object_get(o, "memo")), "{}");
    assert_int_equal(json_integer_value(json_object_get(o, "attempt")), 1);
    json_decref(o);
    free(got);
    rt_drive_free(&dr);
}

/* ---- continue-as-new carries the memo and search attributes ---- */

static void wf_continue(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    if (tc_wf_upsert_memo(ctx, "{\"added\":true}") != TC_OK)
        return;
    tc_wf_continue_as_new(ctx, "1", NULL);
}

static void continue_as_new_carries_memo_and_search_attributes(void **state)
{
    (void)state;
    hb *b = hb_new();
    hb_started_full(b, "Loop", NULL, "CustomKeywordField", "\"kw\"", "MemoKey", "\"MemoValue\"");
    rt_drive dr = {.b = b};
    tc_run *r = rt_drive_task(&dr, wf_continue, 0);
    rt_expect(r, "ModifyWorkflowProperties::,ContinueAsNewWorkflowExecution::");
    Temporal__Api__Command__V1__Command *m = rt_unpack(rt_cmd(r, 1));
    const Temporal__Api__Command__V1__ContinueAsNewWorkflowExecutionCommandAttributes *a =
        m->continue_as_new_workflow_execution_command_attributes;
    assert_non_null(a->memo);
    assert_int_equal(a->memo->n_fields, 2); /* the start's and the upserted one */
    for (size_t i = 0; i < a->memo->n_fields; i++) {
        const Temporal__Api__Common__V1__Payload *p = a->memo->fields[i]->value;
        const char *want =
            strcmp(a->memo->fields[i]->key, "MemoKey") == 0 ? "\"MemoValue\"" : "true";
        assert_int_equal(p->data.len, strlen(want));
        assert_memory_equal(p->data.data, want, strlen(want));
    }
    assert_non_null(a->search_attributes);
    assert_int_equal(a->search_attributes->n_indexed_fields, 1);
    assert_string_equal(a->search_attributes->indexed_fields[0]->key, "CustomKeywordField");
    temporal__api__command__v1__command__free_unpacked(m, NULL);
    rt_drive_free(&dr);
}

/* ---- custom workflow metrics ---- */

static int g_metric_rc[3];

static void wf_metric(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_metric_label l[] = {{"mytag", "mytagvalue"}};
    g_metric_rc[0] = tc_wf_metric(ctx, TC_METRIC_COUNTER, "my_workflow_counter", l, 1, 2);
    g_metric_rc[1] = tc_wf_metric(ctx, TC_METRIC_COUNTER, "bad name", NULL, 0, 1);
    tc_metric_label bad[] = {{"__reserved", "x"}};
    g_metric_rc[2] = tc_wf_metric(ctx, TC_METRIC_COUNTER, "ok_name", bad, 1, 1);
    if (tc_wf_sleep(ctx, 1000) != TC_OK)
        return;
}

static void workflow_metrics_are_checked_and_never_recorded_on_replay(void **state)
{
    (void)state;
    hb *b = hb_new();
    hb_started(b, "M", NULL);
    int64_t live = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_metrics *m = tc_metrics_new();
    assert_non_null(m);
    tc_error err = {0};
    /* live: recorded once */
    tc_run_setup s = {.fn = wf_metric, .metrics = m, .metric_labels = "namespace=\"ns\""};
    tc_run *r = tc_run_new("unit-wf", "unit-run", &s);
    assert_int_equal(tc_run_feed(r, h->events, h->n, live, &err), TC_OK);
    assert_int_equal(g_metric_rc[0], TC_OK);
    assert_int_equal(g_metric_rc[1], TC_ERR_INVALID);
    assert_int_equal(g_metric_rc[2], TC_ERR_INVALID);
    tc_run_free(r);
    /* the same task replayed (a cache miss): checked, not recorded */
    hb_wft_complete(b, live);
    hb_timer_started(b, "5", 1000);
    int64_t live2 = hb_wft_start(b);
    tc_history *h2 = hb_history(b);
    memset(g_metric_rc, 0x7f, sizeof g_metric_rc);
    r = tc_run_new("unit-wf", "unit-run", &s);
    assert_int_equal(tc_run_feed(r, h2->events, h2->n, live2, &err), TC_OK);
    assert_int_equal(g_metric_rc[0], TC_OK);
    assert_int_equal(g_metric_rc[1], TC_ERR_INVALID);
    tc_run_free(r);
    tc_sbuf out = {0};
    tc_metrics_render(m, &out);
    assert_non_null(out.s);
    assert_non_null(strstr(out.s, "my_workflow_counter{namespace=\"ns\",workflow_type=\"M\","
                                  "mytag=\"mytagvalue\"} 2\n"));
    assert_null(strstr(out.s, "ok_name"));
    free(out.s);
    tc_metrics_free(m);
    tc_history_free(h);
    tc_history_free(h2);
    hb_free(b);
}

/* ---- the registry ---- */

static void registry_renders_the_prometheus_text_format(void **state)
{
    (void)state;
    tc_metrics *m = tc_metrics_new();
    tc_labels l;
    tc_labels_init(&l);
    tc_labels_add(&l, "q", "a\"b\\c\nd"); /* escaped as the text format wants */
    tc_error err = {0};
    assert_int_equal(tc_metrics_record(m, TC_MK_COUNTER, "c_total", "Help", &l, 1, &err), TC_OK);
    assert_int_equal(tc_metrics_record(m, TC_MK_COUNTER, "c_total", "Help", &l, 2.5, &err), TC_OK);
    assert_int_equal(tc_metrics_record(m, TC_MK_GAUGE, "g", NULL, &l, 7, &err), TC_OK);
    assert_int_equal(tc_metrics_record(m, TC_MK_GAUGE, "g", NULL, &l, 3, &err), TC_OK);
    tc_labels none;
    tc_labels_init(&none);
    assert_int_equal(tc_metrics_record(m, TC_MK_HISTOGRAM, "h", NULL, &none, 0.002, &err), TC_OK);
    assert_int_equal(tc_metrics_record(m, TC_MK_HISTOGRAM, "h", NULL, &none, 100, &err), TC_OK);
    /* bad input */
    assert_int_equal(tc_metrics_record(m, TC_MK_GAUGE, "c_total", NULL, &l, 1, &err),
                     TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "is a counter, not a gauge"));
    assert_int_equal(tc_metrics_record(m, TC_MK_COUNTER, "c_total", NULL, &l, -1, &err),
                     TC_ERR_INVALID);
    assert_int_equal(tc_metrics_record(m, TC_MK_COUNTER, "9starts_with_digit", NULL, &l, 1, &err),
                     TC_ERR_INVALID);
    assert_int_equal(tc_metrics_record(m, 42, "k", NULL, &l, 1, &err), TC_ERR_INVALID);
    tc_labels dup;
    tc_labels_init(&dup);
    tc_labels_add(&dup, "a", "1");
    tc_labels_add(&dup, "a", "2");
    assert_true(dup.bad);
    tc_sbuf out = {0};
    tc_metrics_render(m, &out);
    assert_string_equal(out.s,
                        "# HELP c_total Help\n# TYPE c_total counter\n"
                        "c_total{q=\"a\\\"b\\\\c\\nd\"} 3.5\n"
                        "# HELP g g\n# TYPE g gauge\ng{q=\"a\\\"b\\\\c\\nd\"} 3\n"
                        "# HELP h h\n# TYPE h histogram\n"
                        "h_bucket{le=\"0.001\"} 0\nh_bucket{le=\"0.005\"} 1\n"
                        "h_bucket{le=\"0.01\"} 1\nh_bucket{le=\"0.025\"} 1\n"
                        "h_bucket{le=\"0.05\"} 1\nh_bucket{le=\"0.1\"} 1\n"
                        "h_bucket{le=\"0.25\"} 1\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"1\"} 1\n"
                        "h_bucket{le=\"2.5\"} 1\nh_bucket{le=\"5\"} 1\nh_bucket{le=\"10\"} 1\n"
                        "h_bucket{le=\"30\"} 1\nh_bucket{le=\"60\"} 1\n"
                        "h_bucket{le=\"+Inf\"} 2\nh_sum{} 100.002\nh_count{} 2\n");
    free(out.s);
    tc_metrics_free(m);
}

static void registry_keeps_a_bounded_number_of_series(void **state)
{
    (void)state;
    tc_metrics *m = tc_metrics_new();
    tc_error err = {0};
    int rc = TC_OK;
    for (int i = 0; i <= TC_METRICS_MAX_SERIES && rc == TC_OK; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        tc_labels l;
        tc_labels_init(&l);
        tc_labels_add(&l, "id", v);
        rc = tc_metrics_record(m, TC_MK_COUNTER, "many", NULL, &l, 1, &err);
    }
    assert_int_equal(rc, TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "more than 4096 series"));
    tc_metrics_free(m);
}

/* ---- bad input of the worker's calls ---- */

static void worker_calls_refuse_bad_input(void **state)
{
    (void)state;
    tc_client *c;
    tc_error err = {0};
    tc_client_options co = {.address = "127.0.0.1:1"}; /* no I/O until a call */
    assert_int_equal(tc_client_new(&co, &c, &err), TC_OK);
    tc_worker *w = NULL;
    tc_worker_options bad = {.task_queue = "q", .graceful_stop_timeout_ms = -5};
    assert_int_equal(tc_worker_new(c, &bad, &w, &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "graceful_stop_timeout_ms"));
    tc_worker_options o = {.task_queue = "q"};
    assert_int_equal(tc_worker_new(c, &o, &w, &err), TC_OK);
    assert_int_equal(tc_worker_shutdown(w, 0, &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "graceful timeout must be > 0"));
    assert_int_equal(tc_worker_shutdown(w, -7, &err), TC_ERR_INVALID);
    assert_int_equal(tc_worker_shutdown(w, 1000, &err), TC_ERR_STATE); /* never started */
    assert_int_equal(tc_worker_shutdown(NULL, 1000, &err), TC_ERR_INVALID);
    /* metrics of a worker that has not started: its own labels, zero counts */
    tc_metric_label l[] = {{"kind", "x"}};
    assert_int_equal(tc_worker_metric(w, TC_METRIC_GAUGE, "queue_depth", l, 1, 4, &err), TC_OK);
    assert_int_equal(tc_worker_metric(w, TC_METRIC_GAUGE, "bad-name", NULL, 0, 4, &err),
                     TC_ERR_INVALID);
    assert_int_equal(tc_worker_metric(w, TC_METRIC_GAUGE, "x", NULL, 2, 4, &err), TC_ERR_INVALID);
    char *text = NULL;
    assert_int_equal(tc_worker_metrics_text(w, &text, &err), TC_OK);
    assert_non_null(
        strstr(text, "queue_depth{namespace=\"default\",task_queue=\"q\",kind=\"x\"} 4"));
    assert_non_null(
        strstr(text, "temporal_sticky_cache_size{namespace=\"default\",task_queue=\"q\"} 0"));
    free(text);
    assert_int_equal(tc_worker_metrics_text(NULL, &text, &err), TC_ERR_INVALID);
    assert_int_equal(tc_worker_metrics_text(w, NULL, &err), TC_ERR_INVALID);
    tc_worker_free(w);
    /* async completion without a usable reference: refused before any call */
    tc_activity_ref none = {0};
    assert_int_equal(tc_client_complete_activity(c, &none, "1", &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "a task token, or a workflow id and an activity id"));
    uint8_t tok[1] = {1};
    tc_activity_ref empty = {.task_token = tok, .task_token_len = 0};
    assert_int_equal(tc_client_fail_activity(c, &empty, "T", "m", false, NULL, &err),
                     TC_ERR_INVALID);
    tc_activity_ref no_act = {.workflow_id = "wf"};
    assert_int_equal(tc_client_heartbeat_activity(c, &no_act, NULL, NULL, &err), TC_ERR_INVALID);
    assert_int_equal(tc_client_report_activity_cancelled(c, NULL, &err), TC_ERR_INVALID);
    assert_int_equal(tc_client_complete_activity(NULL, &no_act, NULL, &err), TC_ERR_INVALID);
    tc_client_free(c);
}

static void version_is_the_header_version(void **state)
{
    (void)state;
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", TC_VERSION_MAJOR, TC_VERSION_MINOR, TC_VERSION_PATCH);
    assert_string_equal(TC_VERSION, want);
    assert_string_equal(tc_version(), TC_VERSION);
    assert_int_equal(TC_VERSION_NUMBER,
                     TC_VERSION_MAJOR * 10000 + TC_VERSION_MINOR * 100 + TC_VERSION_PATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(activity_failure_is_reraised_as_activity_failure_caused_by_it),
        cmocka_unit_test(activity_timeout_tells_its_timeout_type),
        cmocka_unit_test(run_info_comes_from_the_started_event),
        cmocka_unit_test(first_run_has_no_continued_run_id),
        cmocka_unit_test(continue_as_new_carries_memo_and_search_attributes),
        cmocka_unit_test(workflow_metrics_are_checked_and_never_recorded_on_replay),
        cmocka_unit_test(registry_renders_the_prometheus_text_format),
        cmocka_unit_test(registry_keeps_a_bounded_number_of_series),
        cmocka_unit_test(worker_calls_refuse_bad_input),
        cmocka_unit_test(version_is_the_header_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
