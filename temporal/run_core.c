/* run_core.c - a workflow run's data: creation and teardown, futures and their resolution order,
 * the queue of commands the code made and the index of recorded ones. Pure computation: no
 * network I/O, no knowledge of particular command kinds. */
#include "local_activity.h"
#include "wf_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tc_run *tc_run_new(const char *workflow_id, const char *run_id, const tc_run_setup *setup)
{
    tc_run *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->setup = *setup;
    if (!r->setup.log)
        r->setup.log = &tc_default_logger;
    r->workflow_id = tc_strdup(workflow_id ? workflow_id : "");
    r->run_id = tc_strdup(run_id ? run_id : "");
    r->workflow_type = tc_strdup("");
    r->task_queue = tc_strdup("");
    r->first_run_id = tc_strdup("");
    if (setup->state_size)
        r->state = calloc(1, setup->state_size);
    if (!r->workflow_id || !r->run_id || !r->workflow_type || !r->task_queue || !r->first_run_id ||
        (setup->state_size && !r->state)) {
        tc_run_free(r);
        return NULL;
    }
    return r;
}

void tc_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void kv_free(tc_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].json);
    }
    free(kv);
}

static void handlers_free(tc_handler *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(h[i].name);
    free(h);
}

void tc_run_free(tc_run *r)
{
    if (!r)
        return;
    /* Coroutines first: unwinding them may still read futures and state. */
    tc_sched_destroy(r);
    tc_la_free_all(r);
    for (size_t i = 0; i < r->n_all; i++) {
        free(r->all[i]->id);
        free(r->all[i]->type);
        free(r->all[i]->packed);
        free(r->all[i]);
    }
    free(r->all);
    free(r->pending);
    free(r->recorded);
    for (tc_future *f = r->futures, *n; f; f = n) {
        n = f->next;
        tc_strv_free(f->values, f->n_values);
        free(f->ftype);
        free(f->fmsg);
        free(f->signal_name);
        free(f);
    }
    free(r->sigbuf);
    free(r->claims);
    handlers_free(r->shandlers, r->n_shandlers);
    handlers_free(r->qhandlers, r->n_qhandlers);
    for (size_t i = 0; i < r->n_patches; i++)
        free(r->patches[i].id);
    free(r->patches);
    kv_free(r->sa, r->n_sa);
    kv_free(r->memo, r->n_memo);
    tc_strv_free(r->inputs, r->n_inputs);
    tc_strv_free(r->out_inputs, r->n_out_inputs);
    free(r->out_result);
    free(r->out_ftype);
    free(r->out_fmsg);
    free((char *)r->out_can.workflow_type);
    free((char *)r->out_can.task_queue);
    free(r->workflow_id);
    free(r->run_id);
    free(r->workflow_type);
    free(r->task_queue);
    free(r->first_run_id);
    free(r->state);
    free(r);
}

int tc_run_fail(tc_run *r, int code, const char *fmt, ...)
{
    if (r->fail_code)
        return code;
    r->fail_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->fail_text, sizeof r->fail_text, fmt, ap);
    va_end(ap);
    return code;
}

bool tc_run_live(const tc_run *r)
{
    return !r->replaying && !r->destroying;
}

/* ---- futures ---- */

tc_future *tc_future_new(tc_run *r, int kind)
{
    tc_future *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->kind = kind;
    f->next = r->futures;
    r->futures = f;
    return f;
}

void tc_future_resolve_values(tc_run *r, tc_future *f, char **values, size_t n, int64_t event_id)
{
    if (f->state != FUT_PENDING) {
        tc_strv_free(values, n);
        return;
    }
    f->state = FUT_OK;
    f->seq = ++r->seq;
    f->event_id = event_id;
    f->values = values;
    f->n_values = n;
}

void tc_future_resolve_ok(tc_run *r, tc_future *f, const char *const *values, size_t n,
                          int64_t event_id)
{
    char **copy = NULL;
    if (f->state != FUT_PENDING)
        return;
    if (n) {
        copy = calloc(n, sizeof *copy);
        for (size_t i = 0; copy && i < n; i++)
            if (!(copy[i] = tc_strdup(values[i] ? values[i] : "null"))) {
                tc_strv_free(copy, i);
                copy = NULL;
            }
        if (!copy) {
            tc_run_fail(r, TC_ERR_NOMEM, "out of memory resolving a future");
            n = 0;
        }
    }
    tc_future_resolve_values(r, f, copy, n, event_id);
}

void tc_future_resolve_fail(tc_run *r, tc_future *f, int state, const char *type,
                            const char *message, bool non_retryable, int64_t event_id)
{
    if (f->state != FUT_PENDING)
        return;
    f->state = state;
    f->seq = ++r->seq;
    f->event_id = event_id;
    f->ftype = tc_strdup(type ? type : "Error");
    f->fmsg = tc_strdup(message ? message : "");
    f->non_retryable = non_retryable;
    if (!f->ftype || !f->fmsg)
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory resolving a future");
}

/* ---- commands ---- */

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 8;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*arr, nc * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

const tc_pb_event *tc_look_at(const tc_run *r, int64_t id)
{
    if (!r->look || id < r->look_first || id >= r->look_first + (int64_t)r->n_look)
        return NULL;
    return r->look[id - r->look_first];
}

/* Version markers of the Go SDK and the TemporalChangeVersion upserts that follow patch
 * markers stand in history without a command of this runtime's: the Go SDK skips their event
 * ids when it predicts a command's event id, and so must we to give the same ids. */
static bool skippable_at(const tc_run *r, int64_t id)
{
    const tc_pb_event *ev = tc_look_at(r, id);
    if (!ev)
        return false;
    const tc_event_rule *rule = tc_event_rule_of((int)ev->event_type);
    return rule->uncounted && rule->uncounted(ev);
}

int64_t tc_cmd_next_event_id(tc_run *r)
{
    while (skippable_at(r, r->next_cmd_event_id))
        r->next_cmd_event_id++;
    return r->next_cmd_event_id;
}

tc_cmd *tc_cmd_add(tc_run *r, const tc_cmd_kind *kind, const char *id, const char *type,
                   uint8_t *packed, size_t packed_len)
{
    tc_cmd *c = calloc(1, sizeof *c);
    if (!c || !grow((void **)&r->all, &r->cap_all, r->n_all + 1, sizeof *r->all) ||
        !grow((void **)&r->pending, &r->cap_pending, r->n_pending + 1, sizeof *r->pending)) {
        free(c);
        free(packed);
        return NULL;
    }
    c->kind = kind;
    c->state = CMD_NEW;
    c->id = tc_strdup(id ? id : "");
    c->type = tc_strdup(type ? type : "");
    c->packed = packed;
    c->packed_len = packed_len;
    r->all[r->n_all++] = c;
    if (!c->id || !c->type)
        return NULL; /* freed with the run */
    r->pending[r->n_pending++] = c;
    tc_cmd_next_event_id(r);
    r->next_cmd_event_id++;
    return c;
}

uint8_t *tc_cmd_pack(const Temporal__Api__Command__V1__Command *cmd, size_t *len)
{
    *len = temporal__api__command__v1__command__get_packed_size(cmd);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        temporal__api__command__v1__command__pack(cmd, buf);
    return buf;
}

void tc_cmd_drop(tc_run *r, tc_cmd *c)
{
    for (size_t i = r->pending_head; i < r->n_pending; i++) {
        if (r->pending[i] != c)
            continue;
        memmove(&r->pending[i], &r->pending[i + 1], (r->n_pending - i - 1) * sizeof *r->pending);
        r->n_pending--;
        break;
    }
    c->state = CMD_DROPPED;
}

tc_cmd *tc_cmd_by_event(const tc_run *r, int64_t event_id)
{
    /* Commands are recorded in event order, so the index is sorted. */
    size_t lo = 0, hi = r->n_recorded;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->recorded[mid]->event_id < event_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->n_recorded && r->recorded[lo]->event_id == event_id ? r->recorded[lo] : NULL;
}

/* ---- payloads of events ---- */

int tc_payloads_decode_all(const tc_pb_payloads *ps, char ***out, size_t *n, const char *what,
                           tc_error *err)
{
    *out = NULL;
    *n = 0;
    size_t np = ps ? ps->n_payloads : 0;
    if (np == 0)
        return TC_OK;
    char **v = calloc(np, sizeof *v);
    if (!v)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < np; i++) {
        tc_error e;
        int rc = tc_payload_decode(ps->payloads[i], &v[i], &e);
        if (rc != TC_OK) {
            tc_strv_free(v, i);
            return tc_seterr(err, rc, "%s: payload %zu: %s", what, i, e.text);
        }
    }
    *out = v;
    *n = np;
    return TC_OK;
}
