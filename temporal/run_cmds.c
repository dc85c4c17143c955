/* run_cmds.c - the commands a run's code made: the queue waiting for history to record them,
 * the index of recorded ones, the event ids the next ones will get, and decoding of event
 * payloads. Must not know any particular command kind or run code. */
#include "wf_run.h"

#include <stdlib.h>
#include <string.h>

void tc_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

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
 * ids when it predicts a command's event id, and so must we to give the same ids (the flags
 * are set per lookahead event when the activation starts). */
static bool skippable_at(const tc_run *r, int64_t id)
{
    return tc_look_at(r, id) && r->look_uncounted[id - r->look_first];
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
    return tc_pb_pack(&cmd->base, len);
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
