/* cm_metrics.h — a small metrics registry rendered in Prometheus text format
 * (exposition format 0.0.4). Counters, gauges and histograms with fixed buckets. */
#ifndef CM_METRICS_H
#define CM_METRICS_H

#include <stddef.h>

typedef struct metrics_registry metrics_registry;

/* Histogram bucket upper bounds in seconds, shared by every histogram. */
#define METRICS_BUCKETS                                                      \
    {                                                                        \
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0 \
    }
#define METRICS_NBUCKETS 12

/* New empty registry (owned; free with metrics_free). NULL on out-of-memory. */
metrics_registry *metrics_new(void);
void metrics_free(metrics_registry *reg);

/* `name` is a Prometheus metric name, `help` its HELP text (the first call for a name
 * fixes help and type), `labels` the label set without braces, e.g.
 * `route="/api/orders",status="201"`, or NULL/"" for none. Label values must already
 * be escaped (use metrics_escape_label). All are thread-safe; a series is created on first use.
 * Mixing types under one name is a programming error and is ignored. */
void metrics_counter_add(metrics_registry *reg, const char *name, const char *help,
                         const char *labels, double v);
void metrics_gauge_set(metrics_registry *reg, const char *name, const char *help,
                       const char *labels, double v);
void metrics_histogram_observe(metrics_registry *reg, const char *name, const char *help,
                               const char *labels, double value);

/* Copy `in` to `out` (size n, always NUL-terminated) escaping \ " and newline
 * as the text format requires. Returns `out`. */
char *metrics_escape_label(const char *in, char *out, size_t n);

/* Render every series: "# HELP", "# TYPE", then samples; histograms get _bucket{le=..}
 * (cumulative, ending with le="+Inf"), _sum and _count. Series sorted by name then labels
 * so output is stable. *out is malloc'd (caller frees), NUL-terminated, *len its length.
 * Returns 0 or CM_ERR_NOMEM. */
int metrics_render(metrics_registry *reg, char **out, size_t *len);

#endif
