/* test_temporal_schedule.c - schedules against the dev server, cross-checked with
 * `temporal schedule describe` and visibility queries: create (interval, calendar, cron),
 * describe, pause / unpause, trigger, backfill, update, list, delete. */
#include "tc_cli.h"
#include "test_workflows.h"

#include <time.h>

static tc_client *g_c;
static tc_worker *g_w;
static char g_queue[96];

static int group_setup(void **s)
{
    (void)s;
    g_c = tt_client();
    g_w = tt_worker(g_c, g_queue, sizeof g_queue, "tc-sched", NULL);
    return g_w ? 0 : -1;
}

static int group_teardown(void **s)
{
    (void)s;
    tc_worker_free(g_w);
    tc_client_free(g_c);
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Workflows a schedule started (their memo-free search attribute TemporalScheduledById). */
static int64_t runs_of(const char *sid, const char *status)
{
    char q[256];
    snprintf(q, sizeof q, "TemporalScheduledById = '%s'%s%s%s", sid,
             status ? " AND ExecutionStatus = '" : "", status ? status : "", status ? "'" : "");
    int64_t n = 0;
    tc_error err = {0};
    TT_OK(tc_workflow_count(g_c, q, &n, &err));
    return n;
}

/* Polls until the schedule has taken at least want actions (bounded). */
static int64_t actions_at_least(const char *sid, int64_t want)
{
    tc_schedule_info si;
    tc_error err = {0};
    int64_t n = -1;
    for (int i = 0; i < 300; i++) {
        TT_OK(tc_schedule_describe(g_c, sid, &si, &err));
        n = si.action_count;
        tc_schedule_info_clear(&si);
        if (n >= want)
            break;
        tt_sleep_ms(100);
    }
    return n;
}

static int64_t completed_runs_at_least(const char *sid, int64_t want)
{
    int64_t n = -1;
    for (int i = 0; i < 300; i++) {
        n = runs_of(sid, "Completed");
        if (n >= want)
            break;
        tt_sleep_ms(100);
    }
    return n;
}

static void hourly(tc_schedule_options *o, const tc_schedule_interval *iv, const char *wid)
{
    memset(o, 0, sizeof *o);
    o->intervals = iv;
    o->n_intervals = 1;
    o->workflow_id = wid;
    o->workflow_type = "Greet";
    o->task_queue = g_queue;
    o->input_json = "\"schedule\"";
    o->overlap = TC_OVERLAP_ALLOW_ALL;
    o->catchup_window_ms = 10 * 60 * 1000;
    o->paused = true;
    o->notes = "created paused by the test";
}

static void create_describe_and_the_cli_agree(void **s)
{
    (void)s;
    char sid[96];
    tt_unique(sid, sizeof sid, "sched");
    tc_schedule_interval iv = {.every_ms = 3600 * 1000, .offset_ms = 60 * 1000};
    tc_schedule_options o;
    hourly(&o, &iv, sid);
    tc_error err = {0};
    TT_OK(tc_schedule_create(g_c, sid, &o, &err));
    assert_int_equal(tc_schedule_create(g_c, sid, &o, &err), TC_ERR_ALREADY_STARTED);

    tc_schedule_info si;
    TT_OK(tc_schedule_describe(g_c, sid, &si, &err));
    assert_true(si.paused);
    assert_string_equal(si.notes, "created paused by the test");
    assert_string_equal(si.workflow_type, "Greet");
    assert_string_equal(si.workflow_id, sid);
    assert_string_equal(si.task_queue, g_queue);
    assert_int_equal(si.overlap, TC_OVERLAP_ALLOW_ALL);
    assert_int_equal(si.catchup_window_ms, 600000);
    assert_int_equal(si.n_intervals, 1);
    assert_int_equal(si.interval_ms, 3600000);
    assert_int_equal(si.remaining_actions, -1);
    assert_int_equal(si.action_count, 0);
    assert_true(si.n_next > 0); /* future times are listed even while paused */
    assert_int_equal(si.next_action_ms[0] % 3600000, 60000);
    tc_schedule_info_clear(&si);

    char *out = tt_cli(NULL, "schedule describe --schedule-id %s --output json", sid);
    assert_non_null(strstr(out, "SCHEDULE_OVERLAP_POLICY_ALLOW_ALL"));
    assert_non_null(strstr(out, "created paused by the test"));
    assert_non_null(strstr(out, "\"interval\": \"3600s\""));
    assert_non_null(strstr(out, "\"paused\": true"));
    free(out);
    TT_OK(tc_schedule_delete(g_c, sid, &err));
}

static void trigger_runs_the_workflow_and_pause_state_is_kept(void **s)
{
    (void)s;
    char sid[96];
    tt_unique(sid, sizeof sid, "trigger");
    tc_schedule_interval iv = {.every_ms = 3600 * 1000};
    tc_schedule_options o;
    hourly(&o, &iv, sid);
    tc_error err = {0};
    TT_OK(tc_schedule_create(g_c, sid, &o, &err));
    TT_OK(tc_schedule_trigger(g_c, sid, TC_OVERLAP_UNSPECIFIED, &err)); /* even while paused */
    assert_true(actions_at_least(sid, 1) >= 1);
    assert_true(completed_runs_at_least(sid, 1) >= 1); /* Greet ran on our worker */

    TT_OK(tc_schedule_unpause(g_c, sid, "go", &err));
    tc_schedule_info si;
    TT_OK(tc_schedule_describe(g_c, sid, &si, &err));
    assert_false(si.paused);
    assert_string_equal(si.notes, "go");
    tc_schedule_info_clear(&si);
    char *out = tt_cli(NULL, "schedule describe --schedule-id %s --output json", sid);
    assert_null(strstr(out, "\"paused\": true"));
    free(out);

    TT_OK(tc_schedule_pause(g_c, sid, "maintenance", &err));
    TT_OK(tc_schedule_describe(g_c, sid, &si, &err));
    assert_true(si.paused);
    assert_string_equal(si.notes, "maintenance");
    tc_schedule_info_clear(&si);
    out = tt_cli(NULL, "schedule describe --schedule-id %s --output json", sid);
    assert_non_null(strstr(out, "\"paused\": true"));
    assert_non_null(strstr(out, "maintenance"));
    free(out);
    TT_OK(tc_schedule_delete(g_c, sid, &err));
}

static void backfill_runs_each_missed_action(void **s)
{
    (void)s;
    char sid[96];
    tt_unique(sid, sizeof sid, "backfill");
    tc_schedule_interval iv = {.every_ms = 3600 * 1000};
    tc_schedule_options o;
    hourly(&o, &iv, sid);
    tc_error err = {0};
    TT_OK(tc_schedule_create(g_c, sid, &o, &err));
    /* Three whole hours in the past: exactly three hourly actions fall in [start, end). */
    int64_t hour = 3600 * 1000;
    int64_t end = (now_ms() / hour - 1) * hour + 1;
    int64_t start = end - 3 * hour;
    TT_OK(tc_schedule_backfill(g_c, sid, start, end, TC_OVERLAP_ALLOW_ALL, &err));
    assert_true(completed_runs_at_least(sid, 3) >= 3);
    assert_int_equal(actions_at_least(sid, 3), 3);
    assert_int_equal(runs_of(sid, NULL), 3);
    assert_int_equal(tc_schedule_backfill(g_c, sid, end, start, TC_OVERLAP_ALLOW_ALL, &err),
                     TC_ERR_INVALID);
    TT_OK(tc_schedule_delete(g_c, sid, &err));
}

static void update_replaces_the_spec_with_calendar_and_cron(void **s)
{
    (void)s;
    char sid[96];
    tt_unique(sid, sizeof sid, "update");
    tc_schedule_interval iv = {.every_ms = 3600 * 1000};
    tc_schedule_options o;
    hourly(&o, &iv, sid);
    tc_error err = {0};
    TT_OK(tc_schedule_create(g_c, sid, &o, &err));

    tc_schedule_calendar cal = {.hour = "5", .minute = "30", .day_of_week = "MON-FRI"};
    const char *cron[] = {"15 22 * * SUN", NULL};
    o.intervals = NULL;
    o.n_intervals = 0;
    o.calendars = &cal;
    o.n_calendars = 1;
    o.cron = cron;
    o.overlap = TC_OVERLAP_SKIP;
    o.notes = "weekdays 05:30 and sundays 22:15";
    o.remaining_actions = 10;
    TT_OK(tc_schedule_update(g_c, sid, &o, &err));

    tc_schedule_info si;
    TT_OK(tc_schedule_describe(g_c, sid, &si, &err));
    assert_int_equal(si.n_intervals, 0);
    assert_int_equal(si.n_calendars, 2);
    printf("# calendars: %s\n", si.calendars_text);
    assert_non_null(strstr(si.calendars_text, "minute=30 hour=5"));
    assert_non_null(strstr(si.calendars_text, "minute=15 hour=22"));
    assert_non_null(strstr(si.calendars_text, "day_of_week=1-5/1"));
    assert_int_equal(si.overlap, TC_OVERLAP_SKIP);
    assert_int_equal(si.remaining_actions, 10);
    assert_string_equal(si.notes, "weekdays 05:30 and sundays 22:15");
    /* Every next time is 05:30 on a weekday or 22:15 on a Sunday (UTC). */
    assert_true(si.n_next > 0);
    for (size_t i = 0; i < si.n_next; i++) {
        time_t t = (time_t)(si.next_action_ms[i] / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        bool weekday = tm.tm_hour == 5 && tm.tm_min == 30 && tm.tm_wday >= 1 && tm.tm_wday <= 5;
        bool sunday = tm.tm_hour == 22 && tm.tm_min == 15 && tm.tm_wday == 0;
        assert_true(weekday || sunday);
    }
    tc_schedule_info_clear(&si);
    char *out = tt_cli(NULL, "schedule describe --schedule-id %s --output json", sid);
    assert_non_null(strstr(out, "structuredCalendar"));
    assert_non_null(strstr(out, "\"remainingActions\": \"10\""));
    free(out);
    TT_OK(tc_schedule_delete(g_c, sid, &err));
}

static void list_finds_the_schedule_and_delete_removes_it(void **s)
{
    (void)s;
    char sid[96];
    tt_unique(sid, sizeof sid, "listed");
    tc_schedule_interval iv = {.every_ms = 3600 * 1000};
    tc_schedule_options o;
    hourly(&o, &iv, sid);
    o.notes = "find me";
    tc_error err = {0};
    TT_OK(tc_schedule_create(g_c, sid, &o, &err));
    bool found = false;
    for (int i = 0; i < 300 && !found; i++) {
        uint8_t *token = NULL;
        size_t token_len = 0;
        do {
            tc_schedule_page pg;
            TT_OK(tc_schedule_list(g_c, NULL, 50, token, token_len, &pg, &err));
            free(token);
            token = NULL;
            for (size_t k = 0; k < pg.n; k++)
                if (strcmp(pg.items[k].schedule_id, sid) == 0) {
                    found = true;
                    assert_string_equal(pg.items[k].workflow_type, "Greet");
                    assert_true(pg.items[k].paused);
                }
            token = pg.next_token;
            token_len = pg.next_token_len;
            pg.next_token = NULL;
            tc_schedule_page_clear(&pg);
        } while (token);
        if (!found)
            tt_sleep_ms(100);
    }
    assert_true(found);
    char *out = tt_cli(NULL, "schedule list");
    assert_non_null(strstr(out, sid));
    free(out);
    TT_OK(tc_schedule_delete(g_c, sid, &err));
    tc_schedule_info si;
    assert_int_equal(tc_schedule_describe(g_c, sid, &si, &err), TC_ERR_NOT_FOUND);
    int st = 0;
    out = tt_cli(&st, "schedule describe --schedule-id %s", sid);
    assert_int_not_equal(st, 0);
    free(out);
}

static void invalid_schedules_are_refused(void **s)
{
    (void)s;
    tc_error err = {0};
    tc_schedule_options o = {.workflow_id = "x", .task_queue = "q"};
    assert_int_equal(tc_schedule_create(g_c, "bad", &o, &err), TC_ERR_INVALID); /* no type */
    o.workflow_type = "Greet";
    tc_schedule_interval zero = {0};
    o.intervals = &zero;
    o.n_intervals = 1;
    assert_int_equal(tc_schedule_create(g_c, "bad", &o, &err), TC_ERR_INVALID);
    o.n_intervals = 0;
    assert_int_equal(tc_schedule_create(g_c, "", &o, &err), TC_ERR_INVALID);
    const char *cron[] = {"not a cron", NULL};
    o.cron = cron;
    char sid[96];
    tt_unique(sid, sizeof sid, "badcron");
    assert_int_equal(tc_schedule_create(g_c, sid, &o, &err), TC_ERR_INVALID); /* the server */
    printf("# bad cron: %s\n", err.text);
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 1, "TEMPORAL_CLI");
    g_tt_cli = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_describe_and_the_cli_agree),
        cmocka_unit_test(trigger_runs_the_workflow_and_pause_state_is_kept),
        cmocka_unit_test(backfill_runs_each_missed_action),
        cmocka_unit_test(update_replaces_the_spec_with_calendar_and_cron),
        cmocka_unit_test(list_finds_the_schedule_and_delete_removes_it),
        cmocka_unit_test(invalid_schedules_are_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
