/* The logger's rate limit: a flood of one warning becomes a few lines and a count, info lines
 * (the access log) are never limited, and every line stays one JSON object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm_log.h"

/* stderr goes to a temporary file while a test logs; lines() reads it back. */
static FILE *g_out;
static int g_saved = -1;

static int capture_start(void **s)
{
    (void)s;
    g_out = tmpfile();
    assert_non_null(g_out);
    fflush(stderr);
    g_saved = dup(2);
    dup2(fileno(g_out), 2);
    log_init("svc-log", CM_LOG_INFO);
    return 0;
}

static int capture_stop(void **s)
{
    (void)s;
    log_set_rate_limit(LOG_RATE_LINES_DEFAULT, LOG_RATE_WINDOW_MS_DEFAULT);
    dup2(g_saved, 2);
    close(g_saved);
    fclose(g_out);
    return 0;
}

/* Every line written so far, parsed (each must be one JSON object). Caller decrefs. */
static json_t *lines(void)
{
    json_t *all = json_array();
    char buf[8192];
    rewind(g_out);
    while (fgets(buf, sizeof buf, g_out) != NULL) {
        json_error_t e;
        json_t *o = json_loads(buf, 0, &e);
        if (!json_is_object(o))
            fail_msg("not one JSON object per line: %s (%s)", buf, e.text);
        json_array_append_new(all, o);
    }
    return all;
}

static size_t count_msg_prefix(json_t *all, const char *prefix)
{
    size_t n = 0, i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        const char *m = json_string_value(json_object_get(o, "msg"));
        if (m != NULL && strncmp(m, prefix, strlen(prefix)) == 0)
            n++;
    }
    return n;
}

static json_t *report_line(json_t *all)
{
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        if (json_object_get(o, "suppressed") != NULL)
            return o;
    }
    return NULL;
}

/* One call site for every flood line, as a daemon's loop has. */
static void refused(int i)
{
    log_warn("request %d refused: queue full", i);
}

static void repeated_warnings_are_limited_and_counted(void **s)
{
    (void)s;
    log_set_rate_limit(5, 300);
    for (int i = 0; i < 1000; i++)
        refused(i);
    usleep(400 * 1000);
    log_info("later"); /* any later line reports the ended flood */
    json_t *all = lines();
    assert_int_equal(count_msg_prefix(all, "request "), 5);
    json_t *r = report_line(all);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "suppressed")), 995);
    assert_string_equal(json_string_value(json_object_get(r, "level")), "warn");
    assert_non_null(
        strstr(json_string_value(json_object_get(r, "msg")), "request %d refused: queue full"));
    assert_int_equal(count_msg_prefix(all, "later"), 1);
    json_decref(all);
}

static void the_site_writes_again_in_its_next_window(void **s)
{
    (void)s;
    log_set_rate_limit(3, 200);
    for (int i = 0; i < 10; i++)
        refused(i);
    usleep(300 * 1000);
    for (int i = 0; i < 10; i++)
        refused(i);
    log_flush();
    json_t *all = lines();
    assert_int_equal(count_msg_prefix(all, "request "), 6);
    size_t reports = 0, i;
    json_int_t total = 0;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        if (json_object_get(o, "suppressed") != NULL) {
            reports++;
            total += json_integer_value(json_object_get(o, "suppressed"));
        }
    }
    assert_int_equal(reports, 2);
    assert_int_equal(total, 14);
    json_decref(all);
}

static void info_lines_and_other_sites_are_not_limited(void **s)
{
    (void)s;
    log_set_rate_limit(2, 60000);
    for (int i = 0; i < 300; i++)
        log_info("GET /x -> 200 in %d ms", i);
    for (int i = 0; i < 5; i++)
        refused(i);
    log_warn("another warning");
    log_error("an error");
    json_t *all = lines();
    assert_int_equal(count_msg_prefix(all, "GET /x"), 300);
    assert_int_equal(count_msg_prefix(all, "request "), 2);
    assert_int_equal(count_msg_prefix(all, "another warning"), 1);
    assert_int_equal(count_msg_prefix(all, "an error"), 1);
    assert_null(report_line(all)); /* the window is still open: nothing reported yet */
    json_decref(all);
    log_flush();
    all = lines();
    assert_int_equal(json_integer_value(json_object_get(report_line(all), "suppressed")), 3);
    json_decref(all);
}

static void limit_zero_writes_everything(void **s)
{
    (void)s;
    log_set_rate_limit(0, 0);
    for (int i = 0; i < 200; i++)
        refused(i);
    json_t *all = lines();
    assert_int_equal(count_msg_prefix(all, "request "), 200);
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(repeated_warnings_are_limited_and_counted, capture_start,
                                        capture_stop),
        cmocka_unit_test_setup_teardown(the_site_writes_again_in_its_next_window, capture_start,
                                        capture_stop),
        cmocka_unit_test_setup_teardown(info_lines_and_other_sites_are_not_limited, capture_start,
                                        capture_stop),
        cmocka_unit_test_setup_teardown(limit_zero_writes_everything, capture_start, capture_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
