/* Metrics registry rendering in Prometheus text format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cm_metrics.h"

static char *render(metrics_registry *r)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(metrics_render(r, &out, &len), 0);
    assert_int_equal(strlen(out), len);
    return out;
}

static void counter_renders_help_type_and_sum(void **s)
{
    (void)s;
    metrics_registry *r = metrics_new();
    metrics_counter_add(r, "jobs_total", "Jobs done", "kind=\"a\"", 1);
    metrics_counter_add(r, "jobs_total", "Jobs done", "kind=\"a\"", 2);
    metrics_counter_add(r, "jobs_total", "Jobs done", "kind=\"b\"", 1);
    metrics_counter_add(r, "jobs_total", "Jobs done", "kind=\"b\"", -5); /* ignored */
    char *t = render(r);
    assert_string_equal(t, "# HELP jobs_total Jobs done\n"
                           "# TYPE jobs_total counter\n"
                           "jobs_total{kind=\"a\"} 3\n"
                           "jobs_total{kind=\"b\"} 1\n");
    free(t);
    metrics_free(r);
}

static void histogram_buckets_are_cumulative(void **s)
{
    (void)s;
    metrics_registry *r = metrics_new();
    metrics_histogram_observe(r, "lat_seconds", "Latency", "route=\"/x\"", 0.003);
    metrics_histogram_observe(r, "lat_seconds", "Latency", "route=\"/x\"", 0.2);
    metrics_histogram_observe(r, "lat_seconds", "Latency", "route=\"/x\"", 50);
    char *t = render(r);
    assert_non_null(strstr(t, "# TYPE lat_seconds histogram\n"));
    assert_non_null(strstr(t, "lat_seconds_bucket{route=\"/x\",le=\"0.001\"} 0\n"));
    assert_non_null(strstr(t, "lat_seconds_bucket{route=\"/x\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(t, "lat_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"));
    assert_non_null(strstr(t, "lat_seconds_bucket{route=\"/x\",le=\"0.25\"} 2\n"));
    assert_non_null(strstr(t, "lat_seconds_bucket{route=\"/x\",le=\"10\"} 2\n"));
    assert_non_null(strstr(t, "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t, "lat_seconds_count{route=\"/x\"} 3\n"));
    assert_non_null(strstr(t, "lat_seconds_sum{route=\"/x\"} 50.203"));
    free(t);
    metrics_free(r);
}

static void families_sorted_and_unlabelled_series(void **s)
{
    (void)s;
    metrics_registry *r = metrics_new();
    metrics_gauge_set(r, "zz_gauge", "Z", NULL, 7);
    metrics_gauge_set(r, "zz_gauge", "Z", NULL, 4);
    metrics_counter_add(r, "aa_total", "A", "", 1);
    metrics_counter_add(r, "aa_total", "A", NULL, 1);
    /* a different type under an existing name is ignored */
    metrics_counter_add(r, "zz_gauge", "Z", NULL, 1);
    char *t = render(r);
    assert_string_equal(t, "# HELP aa_total A\n# TYPE aa_total counter\naa_total 2\n"
                           "# HELP zz_gauge Z\n# TYPE zz_gauge gauge\nzz_gauge 4\n");
    free(t);
    metrics_free(r);
}

static void label_values_are_escaped(void **s)
{
    (void)s;
    char out[64];
    assert_string_equal(metrics_escape_label("a\"b\\c\nd", out, sizeof out), "a\\\"b\\\\c\\nd");
    char small[4];
    metrics_escape_label("abcdef", small, sizeof small);
    assert_int_equal(strlen(small), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counter_renders_help_type_and_sum),
        cmocka_unit_test(histogram_buckets_are_cumulative),
        cmocka_unit_test(families_sorted_and_unlabelled_series),
        cmocka_unit_test(label_values_are_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
