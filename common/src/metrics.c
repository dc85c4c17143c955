/* metrics.c — counters, gauges and fixed-bucket histograms rendered as Prometheus text.
 * Must stay small and lock for short moments only: one mutex, linear lookups, no I/O. */
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "cm_log.h"
#include "util.h"
#include "cm_metrics.h"

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } m_type;

static const double k_buckets[METRICS_NBUCKETS] = METRICS_BUCKETS;

typedef struct m_series {
    char *labels;
    double value;                                /* counter / gauge */
    unsigned long long counts[METRICS_NBUCKETS]; /* histogram, non-cumulative */
    unsigned long long count;
    double sum;
} m_series;

typedef struct m_family {
    char *name;
    char *help;
    m_type type;
    m_series *series;
    size_t n, cap;
} m_family;

struct metrics_registry {
    pthread_mutex_t mu;
    m_family *fams;
    size_t n, cap;
};

metrics_registry *metrics_new(void)
{
    metrics_registry *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void metrics_free(metrics_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        for (size_t j = 0; j < r->fams[i].n; j++)
            free(r->fams[i].series[j].labels);
        free(r->fams[i].series);
        free(r->fams[i].name);
        free(r->fams[i].help);
    }
    free(r->fams);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* Find or create the series; NULL on OOM or type clash. Caller holds mu. */
static m_series *get_series(metrics_registry *r, const char *name, const char *help, m_type type,
                            const char *labels)
{
    if (!labels)
        labels = "";
    m_family *f = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->fams[i].name, name)) {
            f = &r->fams[i];
            break;
        }
    if (!f) {
        if (r->n == r->cap) {
            m_family *nf = cm_grow(r->fams, &r->cap, sizeof *nf, 16);
            if (!nf)
                return NULL;
            r->fams = nf;
        }
        f = &r->fams[r->n];
        memset(f, 0, sizeof *f);
        f->name = strdup(name);
        f->help = strdup(help ? help : name);
        f->type = type;
        if (!f->name || !f->help) {
            free(f->name);
            free(f->help);
            return NULL;
        }
        r->n++;
    }
    if (f->type != type)
        return NULL;
    for (size_t j = 0; j < f->n; j++)
        if (!strcmp(f->series[j].labels, labels))
            return &f->series[j];
    if (f->n == f->cap) {
        m_series *ns = cm_grow(f->series, &f->cap, sizeof *ns, 8);
        if (!ns)
            return NULL;
        f->series = ns;
    }
    m_series *s = &f->series[f->n];
    memset(s, 0, sizeof *s);
    s->labels = strdup(labels);
    if (!s->labels)
        return NULL;
    f->n++;
    return s;
}

void metrics_counter_add(metrics_registry *r, const char *name, const char *help,
                         const char *labels, double v)
{
    if (!r || !(v >= 0))
        return;
    pthread_mutex_lock(&r->mu);
    m_series *s = get_series(r, name, help, M_COUNTER, labels);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&r->mu);
}

void metrics_gauge_set(metrics_registry *r, const char *name, const char *help, const char *labels,
                       double v)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    m_series *s = get_series(r, name, help, M_GAUGE, labels);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&r->mu);
}

void metrics_histogram_observe(metrics_registry *r, const char *name, const char *help,
                               const char *labels, double value)
{
    if (!r || isnan(value))
        return;
    pthread_mutex_lock(&r->mu);
    m_series *s = get_series(r, name, help, M_HISTOGRAM, labels);
    if (s) {
        for (int i = 0; i < METRICS_NBUCKETS; i++)
            if (value <= k_buckets[i]) {
                s->counts[i]++;
                break;
            }
        s->count++;
        s->sum += value;
    }
    pthread_mutex_unlock(&r->mu);
}

char *metrics_escape_label(const char *in, char *out, size_t n)
{
    size_t o = 0;
    if (n == 0)
        return out;
    for (; in && *in && o + 2 < n; in++) {
        if (*in == '\\' || *in == '"') {
            out[o++] = '\\';
            out[o++] = *in;
        } else if (*in == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- rendering into a growable buffer ---- */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)k < b->cap - b->len) {
            b->len += (size_t)k;
            return;
        }
        size_t cap = (b->cap + (size_t)k + 1) * 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static int cmp_fam(const void *a, const void *b)
{
    return strcmp(((const m_family *)a)->name, ((const m_family *)b)->name);
}
static int cmp_series(const void *a, const void *b)
{
    return strcmp(((const m_series *)a)->labels, ((const m_series *)b)->labels);
}

/* Prometheus wants +Inf/-Inf/NaN spelled that way; %.17g gives exact round-trips. */
static void fmt_value(char *out, size_t n, double v)
{
    if (isnan(v))
        snprintf(out, n, "NaN");
    else if (isinf(v))
        snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
    else
        snprintf(out, n, "%.17g", v);
}

static void render_histogram(sbuf *b, const m_family *f, const m_series *s)
{
    const char *sep = s->labels[0] ? "," : "";
    unsigned long long cum = 0;
    for (int i = 0; i < METRICS_NBUCKETS; i++) {
        cum += s->counts[i];
        sb_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, s->labels, sep, k_buckets[i], cum);
    }
    sb_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, s->labels, sep, s->count);
    char v[64];
    fmt_value(v, sizeof v, s->sum);
    if (s->labels[0]) {
        sb_printf(b, "%s_sum{%s} %s\n", f->name, s->labels, v);
        sb_printf(b, "%s_count{%s} %llu\n", f->name, s->labels, s->count);
    } else {
        sb_printf(b, "%s_sum %s\n", f->name, v);
        sb_printf(b, "%s_count %llu\n", f->name, s->count);
    }
}

int metrics_render(metrics_registry *r, char **out, size_t *len)
{
    sbuf b = {0};
    b.p = malloc(4096);
    if (!b.p)
        return CM_ERR_NOMEM;
    b.cap = 4096;
    b.p[0] = '\0';
    pthread_mutex_lock(&r->mu);
    qsort(r->fams, r->n, sizeof *r->fams, cmp_fam);
    for (size_t i = 0; i < r->n; i++) {
        m_family *f = &r->fams[i];
        qsort(f->series, f->n, sizeof *f->series, cmp_series);
        static const char *const tn[] = {"counter", "gauge", "histogram"};
        sb_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, tn[f->type]);
        for (size_t j = 0; j < f->n; j++) {
            const m_series *s = &f->series[j];
            if (f->type == M_HISTOGRAM) {
                render_histogram(&b, f, s);
                continue;
            }
            char v[64];
            fmt_value(v, sizeof v, s->value);
            if (s->labels[0])
                sb_printf(&b, "%s{%s} %s\n", f->name, s->labels, v);
            else
                sb_printf(&b, "%s %s\n", f->name, v);
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (b.oom) {
        free(b.p);
        return CM_ERR_NOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
