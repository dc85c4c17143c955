/* metrics.c - the library's metrics registry: series by name and label set in a hash table
 * behind one mutex, rendered in the Prometheus text format; the per-thread RPC scope. Must not
 * call back into the rest of the library (rpc.c calls it). */
#include "metrics.h"
#include "temporal_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_BUCKETS 256
/* Histogram bounds in seconds: the latencies of calls, polls and tasks. */
static const double k_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                  0.5,   1,     2.5,  5,     10,   30,  60};
#define N_BOUNDS (sizeof k_bounds / sizeof k_bounds[0])

typedef struct family {
    char *name;
    const char *help;
    int kind;
} family;

typedef struct series {
    const family *fam;
    char *labels;
    double value;               /* counter, gauge; histogram: the sum */
    uint64_t count;             /* histogram: observations */
    uint64_t buckets[N_BOUNDS]; /* histogram: observations <= bound (not cumulative) */
    struct series *next;
} series;

struct tc_metrics {
    pthread_mutex_t mu;
    series *table[N_BUCKETS];
    size_t n_series;
    family *fams;
    size_t n_fams, cap_fams;
};

tc_metrics *tc_metrics_new(void)
{
    tc_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void tc_metrics_free(tc_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < N_BUCKETS; i++)
        for (series *s = m->table[i], *n; s; s = n) {
            n = s->next;
            free(s->labels);
            free(s);
        }
    for (size_t i = 0; i < m->n_fams; i++)
        free(m->fams[i].name);
    free(m->fams);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* ---- names and labels ---- */

static bool name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
        return true;
    return !first && c >= '0' && c <= '9';
}

static bool name_ok(const char *name, bool colon)
{
    if (!name || !*name || strlen(name) > TC_METRICS_MAX_NAME)
        return false;
    for (const char *p = name; *p; p++)
        if (!name_char(*p, p == name, colon))
            return false;
    return true;
}

bool tc_metrics_name_ok(const char *name)
{
    return name_ok(name, true);
}

void tc_labels_init(tc_labels *l)
{
    l->text[0] = '\0';
    l->len = 0;
    l->bad = false;
}

static void put(tc_labels *l, char c)
{
    if (l->len + 1 >= sizeof l->text) {
        l->bad = true;
        return;
    }
    l->text[l->len++] = c;
    l->text[l->len] = '\0';
}

static void puts_raw(tc_labels *l, const char *s)
{
    for (; *s && !l->bad; s++)
        put(l, *s);
}

/* True when l has key already: key=" at the start or after a ',' (a value's '"' is escaped, so
 * no value can hold that pattern). */
static bool has_key(const tc_labels *l, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = l->text; (p = strstr(p, key)) != NULL; p++)
        if ((p == l->text || p[-1] == ',') && p[k] == '=' && p[k + 1] == '"')
            return true;
    return false;
}

void tc_labels_add(tc_labels *l, const char *key, const char *value)
{
    /* Label names may not contain ':' and names starting with "__" are reserved. */
    if (!name_ok(key, false) || strncmp(key, "__", 2) == 0 || has_key(l, key)) {
        l->bad = true;
        return;
    }
    if (l->len)
        put(l, ',');
    puts_raw(l, key);
    puts_raw(l, "=\"");
    for (const char *p = value ? value : ""; *p && !l->bad; p++) {
        if (*p == '\\' || *p == '"') {
            put(l, '\\');
            put(l, *p);
        } else if (*p == '\n') {
            put(l, '\\');
            put(l, 'n');
        } else {
            put(l, *p);
        }
    }
    put(l, '"');
}

void tc_labels_append(tc_labels *l, const char *rendered)
{
    if (!rendered || !*rendered)
        return;
    if (l->len)
        put(l, ',');
    puts_raw(l, rendered);
}

/* ---- recording ---- */

static size_t hash(const char *name, const char *labels)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = labels; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return (size_t)(h % N_BUCKETS);
}

/* The family of name, created with kind when absent; NULL out of memory. Under m->mu. */
static family *family_of(tc_metrics *m, const char *name, int kind, const char *help)
{
    for (size_t i = 0; i < m->n_fams; i++)
        if (strcmp(m->fams[i].name, name) == 0)
            return &m->fams[i];
    if (m->n_fams == m->cap_fams) {
        size_t nc = m->cap_fams ? m->cap_fams * 2 : 32;
        family *f = realloc(m->fams, nc * sizeof *f);
        if (!f)
            return NULL;
        /* series point into the array: re-point them after it moved */
        for (size_t b = 0; b < N_BUCKETS; b++)
            for (series *s = m->table[b]; s; s = s->next)
                s->fam = f + (s->fam - m->fams);
        m->fams = f;
        m->cap_fams = nc;
    }
    family *f = &m->fams[m->n_fams];
    if (!(f->name = strdup(name)))
        return NULL;
    f->kind = kind;
    f->help = help;
    m->n_fams++;
    return f;
}

static const char *kind_name(int kind)
{
    return kind == TC_MK_COUNTER ? "counter" : kind == TC_MK_GAUGE ? "gauge" : "histogram";
}

static int validate(int kind, const char *name, const tc_labels *labels, double v, tc_error *err)
{
    if (kind != TC_MK_COUNTER && kind != TC_MK_GAUGE && kind != TC_MK_HISTOGRAM)
        return tc_seterr(err, TC_ERR_INVALID, "metric %.*s: unknown kind %d", TC_METRICS_MAX_NAME,
                         name ? name : "", kind);
    if (!tc_metrics_name_ok(name))
        return tc_seterr(err, TC_ERR_INVALID, "metric name \"%.*s\" is not a Prometheus name",
                         TC_METRICS_MAX_NAME, name ? name : "");
    if (labels->bad)
        return tc_seterr(err, TC_ERR_INVALID,
                         "metric %s: a label name is invalid or the labels exceed %d bytes", name,
                         TC_METRICS_MAX_LABELS);
    if (kind == TC_MK_COUNTER && !(v >= 0))
        return tc_seterr(err, TC_ERR_INVALID, "metric %s: a counter only grows (got %g)", name, v);
    return TC_OK;
}

int tc_metrics_check(int kind, const char *name, const tc_labels *labels, double v)
{
    return validate(kind, name, labels, v, NULL);
}

int tc_metrics_record(tc_metrics *m, int kind, const char *name, const char *help,
                      const tc_labels *labels, double v, tc_error *err)
{
    if (!m)
        return TC_OK;
    int rc = validate(kind, name, labels, v, err);
    if (rc != TC_OK)
        return rc;
    pthread_mutex_lock(&m->mu);
    size_t b = hash(name, labels->text);
    series *s = m->table[b];
    while (s && (strcmp(s->fam->name, name) != 0 || strcmp(s->labels, labels->text) != 0))
        s = s->next;
    if (!s) {
        family *f = family_of(m, name, kind, help);
        if (!f) {
            rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
            goto out;
        }
        if (f->kind != kind) {
            rc = tc_seterr(err, TC_ERR_INVALID, "metric %s is a %s, not a %s", name,
                           kind_name(f->kind), kind_name(kind));
            goto out;
        }
        if (m->n_series >= TC_METRICS_MAX_SERIES) {
            rc = tc_seterr(err, TC_ERR_INVALID, "metric %s: more than %d series", name,
                           TC_METRICS_MAX_SERIES);
            goto out;
        }
        if (!(s = calloc(1, sizeof *s)) || !(s->labels = strdup(labels->text))) {
            free(s);
            rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
            goto out;
        }
        s->fam = f;
        s->next = m->table[b];
        m->table[b] = s;
        m->n_series++;
    } else if (s->fam->kind != kind) {
        rc = tc_seterr(err, TC_ERR_INVALID, "metric %s is a %s, not a %s", name,
                       kind_name(s->fam->kind), kind_name(kind));
        goto out;
    }
    if (kind == TC_MK_GAUGE) {
        s->value = v;
    } else {
        s->value += v;
        if (kind == TC_MK_HISTOGRAM) {
            s->count++;
            for (size_t i = 0; i < N_BOUNDS; i++)
                if (v <= k_bounds[i]) {
                    s->buckets[i]++;
                    break;
                }
        }
    }
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* ---- rendering ---- */

void tc_sbuf_printf(tc_sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = (b->cap ? b->cap * 2 : 4096);
        while (nc < b->len + (size_t)n + 1)
            nc *= 2;
        char *p = realloc(b->s, nc);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = nc;
    }
}

static void header(tc_sbuf *out, const char *name, const char *help, const char *type)
{
    tc_sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help ? help : name, name, type);
}

void tc_metrics_render_one(tc_sbuf *out, bool first, const char *type, const char *name,
                           const char *help, const tc_labels *labels, double v)
{
    if (first)
        header(out, name, help, type);
    tc_sbuf_printf(out, "%s{%s} %.17g\n", name, labels->text, v);
}

static int cmp_series(const void *a, const void *b)
{
    const series *x = *(series *const *)a, *y = *(series *const *)b;
    int c = strcmp(x->fam->name, y->fam->name);
    return c ? c : strcmp(x->labels, y->labels);
}

static void render_histogram(tc_sbuf *out, const series *s)
{
    const char *sep = *s->labels ? "," : "";
    uint64_t cum = 0;
    for (size_t i = 0; i < N_BOUNDS; i++) {
        cum += s->buckets[i];
        tc_sbuf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", s->fam->name, s->labels, sep,
                       k_bounds[i], (unsigned long long)cum);
    }
    tc_sbuf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", s->fam->name, s->labels, sep,
                   (unsigned long long)s->count);
    tc_sbuf_printf(out, "%s_sum{%s} %.17g\n%s_count{%s} %llu\n", s->fam->name, s->labels, s->value,
                   s->fam->name, s->labels, (unsigned long long)s->count);
}

void tc_metrics_render(tc_metrics *m, tc_sbuf *out)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    series **all = m->n_series ? malloc(m->n_series * sizeof *all) : NULL;
    size_t n = 0;
    if (m->n_series && !all) {
        out->oom = true;
        goto out;
    }
    for (size_t b = 0; b < N_BUCKETS; b++)
        for (series *s = m->table[b]; s; s = s->next)
            all[n++] = s;
    qsort(all, n, sizeof *all, cmp_series);
    for (size_t i = 0; i < n; i++) {
        const series *s = all[i];
        if (i == 0 || s->fam != all[i - 1]->fam)
            header(out, s->fam->name, s->fam->help, kind_name(s->fam->kind));
        if (s->fam->kind == TC_MK_HISTOGRAM)
            render_histogram(out, s);
        else
            tc_sbuf_printf(out, "%s{%s} %.17g\n", s->fam->name, s->labels, s->value);
    }
out:
    pthread_mutex_unlock(&m->mu);
    free(all);
}

/* ---- the RPC scope of a thread ---- */

static _Thread_local const tc_rpc_scope *t_scope;

const tc_rpc_scope *tc_rpc_scope_set(const tc_rpc_scope *s)
{
    const tc_rpc_scope *old = t_scope;
    t_scope = s;
    return old;
}

void tc_metrics_rpc_done(const char *rpc, bool long_poll, int rc, int64_t elapsed_us)
{
    const tc_rpc_scope *s = t_scope;
    if (!s || !s->m)
        return;
    tc_labels l;
    tc_labels_init(&l);
    tc_labels_add(&l, "operation", rpc);
    tc_labels_append(&l, s->labels);
    const char *base = long_poll ? "temporal_long_request" : "temporal_request";
    char name[64];
    tc_metrics_record(s->m, TC_MK_COUNTER, base,
                      long_poll ? "Long polls made (task polls)" : "WorkflowService calls made", &l,
                      1, NULL);
    /* A poll cancelled by a shutdown or expired without a task is no failure. */
    if (rc != TC_OK && !(long_poll && (rc == TC_ERR_CANCELLED || rc == TC_ERR_TIMEOUT))) {
        snprintf(name, sizeof name, "%s_failure", base);
        tc_metrics_record(s->m, TC_MK_COUNTER, name, "Calls that failed", &l, 1, NULL);
    }
    snprintf(name, sizeof name, "%s_latency", base);
    tc_metrics_record(s->m, TC_MK_HISTOGRAM, name, "Call latency in seconds", &l,
                      (double)elapsed_us / 1e6, NULL);
}
