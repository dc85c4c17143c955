/* query.c - answers a query against a run's state: handlers set by the workflow, then those
 * registered for its type, the built-in __stack_trace, and the official SDKs' failure for an
 * unknown type. Must not change the run. */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tc_handler *find(const tc_handler *h, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name && strcmp(h[i].name, type) == 0)
            return &h[i];
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "unknown queryType X. KnownQueryTypes=[a b c]": the Go SDK's wording, which the UI parses to
 * offer the known types. */
static char *unknown(const tc_run *r, const tc_handler *reg, size_t n_reg, const char *type)
{
    size_t n = 0, cap = 1 + r->n_qhandlers + n_reg, len = 64 + strlen(type);
    const char **names = calloc(cap, sizeof *names);
    if (!names)
        return NULL;
    names[n++] = "__stack_trace";
    for (size_t i = 0; i < r->n_qhandlers; i++)
        names[n++] = r->qhandlers[i].name;
    for (size_t i = 0; i < n_reg; i++)
        if (!find(r->qhandlers, r->n_qhandlers, reg[i].name))
            names[n++] = reg[i].name;
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    char *s = malloc(len);
    if (s) {
        size_t o = (size_t)snprintf(s, len, "unknown queryType %s. KnownQueryTypes=[", type);
        for (size_t i = 0; i < n && o < len; i++)
            o += (size_t)snprintf(s + o, len - o, "%s%s", i ? " " : "", names[i]);
        if (o < len)
            snprintf(s + o, len - o, "]");
    }
    free(names);
    return s;
}

bool tc_query_answer(const tc_run *r, const tc_handler *reg, size_t n_reg, const char *type,
                     const tc_pb_payloads *args, char **json, char **errtext)
{
    *json = NULL;
    *errtext = NULL;
    if (!type)
        type = "";
    if (strcmp(type, "__stack_trace") == 0) {
        *json = tc_sched_describe(r);
        return *json != NULL;
    }
    const tc_handler *h = find(r->qhandlers, r->n_qhandlers, type);
    if (!h)
        h = find(reg, n_reg, type);
    if (!h) {
        *errtext = unknown(r, reg, n_reg, type);
        return false;
    }
    char **argv = NULL;
    size_t argc = 0;
    tc_error e = {0};
    char what[160];
    snprintf(what, sizeof what, "query %s arguments", type);
    if (tc_payloads_decode_all(args, &argv, &argc, what, &e) != TC_OK) {
        *errtext = tc_strdup(e.text);
        return false;
    }
    char *out = NULL;
    int rc = h->qfn(r->state, (const char *const *)argv, argc, h->user, &out, &e);
    tc_strv_free(argv, argc);
    if (rc != TC_OK) {
        free(out);
        *errtext = tc_strdup(e.text[0] ? e.text : tc_code_name(rc));
        return false;
    }
    *json = out ? out : tc_strdup("null");
    return *json != NULL;
}
