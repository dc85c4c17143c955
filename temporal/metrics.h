/* metrics.h - the library's metrics registry (private): counters, gauges and histograms by name
 * and label set, rendered in the Prometheus text format; the per-thread scope that tags the RPCs
 * a worker thread makes. Knows nothing of workers or workflows. */
#ifndef TEMPORAL_METRICS_H
#define TEMPORAL_METRICS_H

#include "temporal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A registry. Thread-safe: any thread may record into it at once. */
typedef struct tc_metrics tc_metrics;

/* Series a registry keeps at most (each name + label set is one): memory stays bounded however
 * many label values user code invents. */
#define TC_METRICS_MAX_SERIES 4096
/* Longest metric or label name, and longest rendered label set. */
#define TC_METRICS_MAX_NAME   128
#define TC_METRICS_MAX_LABELS 1024

/* NULL when out of memory. */
tc_metrics *tc_metrics_new(void);
void tc_metrics_free(tc_metrics *m);

/* A label set being built: key="value" pairs, values escaped as the text format wants. */
typedef struct tc_labels {
    char text[TC_METRICS_MAX_LABELS];
    size_t len;
    bool bad; /* a key that is not a label name, or too long */
} tc_labels;

void tc_labels_init(tc_labels *l);
/* Appends key="value" (value NULL: ""). Sets l->bad on an invalid key or overflow. */
void tc_labels_add(tc_labels *l, const char *key, const char *value);
/* Appends an already rendered label set ("" adds nothing). */
void tc_labels_append(tc_labels *l, const char *rendered);

/* True for a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*, at most TC_METRICS_MAX_NAME). */
bool tc_metrics_name_ok(const char *name);

/* Records v into the series name{labels} of the kind (a counter adds v >= 0, a gauge is set to
 * v, a histogram observes v): creates it on first use. help (static, may be NULL) is kept for
 * the family's first series. TC_ERR_INVALID (with err) for a bad name or labels, a negative
 * counter increment, a name already used with another kind, or the series limit;
 * TC_ERR_NOMEM. */
enum { TC_MK_COUNTER = 1, TC_MK_GAUGE = 2, TC_MK_HISTOGRAM = 3 };
int tc_metrics_record(tc_metrics *m, int kind, const char *name, const char *help,
                      const tc_labels *labels, double v, tc_error *err);

/* tc_metrics_record's checks of its arguments alone (no registry): TC_OK or TC_ERR_INVALID. */
int tc_metrics_check(int kind, const char *name, const tc_labels *labels, double v);

/* A growable text buffer. */
typedef struct tc_sbuf {
    char *s;
    size_t len, cap;
    bool oom;
} tc_sbuf;
void tc_sbuf_printf(tc_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends every series of m in the Prometheus text format (version 0.0.4): one # HELP and
 * # TYPE per family, families by name, series by label set; histograms as _bucket (le),
 * _sum and _count. */
void tc_metrics_render(tc_metrics *m, tc_sbuf *out);

/* Appends one sample line of a metric computed elsewhere (a gauge or counter read from the
 * worker's state), with its # HELP / # TYPE when first is true. */
void tc_metrics_render_one(tc_sbuf *out, bool first, const char *type, const char *name,
                           const char *help, const tc_labels *labels, double v);

/* The RPC scope of the calling thread: while set, every WorkflowService call the thread makes
 * is counted in m as temporal_request / temporal_long_request (polls and other long polls),
 * their _failure and _latency, tagged operation=<rpc> plus labels (rendered, borrowed). */
typedef struct tc_rpc_scope {
    tc_metrics *m;
    const char *labels;
} tc_rpc_scope;

/* Sets the calling thread's scope (NULL: none) and returns the previous one. */
const tc_rpc_scope *tc_rpc_scope_set(const tc_rpc_scope *s);
/* rpc.c, after each call: counts it in the calling thread's scope, if any. */
void tc_metrics_rpc_done(const char *rpc, bool long_poll, int rc, int64_t elapsed_us);

#endif
