/* run_signals.c - signals of a run: delivery in history order to a handler coroutine, to the
 * oldest waiting tc_wf_signal_next future, or to a buffer until someone asks. Must not read
 * history or make commands. */
#include "wf_run.h"

#include <stdlib.h>
#include <string.h>

static bool push(void ***arr, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        void **p = realloc(*arr, nc * sizeof *p);
        if (!p)
            return false;
        *arr = p;
        *cap = nc;
    }
    (*arr)[(*n)++] = item;
    return true;
}

static void remove_at(void **arr, size_t *n, size_t i)
{
    memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof *arr);
    (*n)--;
}

static const tc_handler *handler_of(const tc_run *r, const char *name)
{
    const tc_handler *def = NULL;
    for (size_t i = 0; i < r->n_shandlers; i++) {
        if (!r->shandlers[i].name)
            def = &r->shandlers[i];
        else if (strcmp(r->shandlers[i].name, name) == 0)
            return &r->shandlers[i];
    }
    return def;
}

static int start_handler(tc_run *r, const tc_handler *h, tc_future *sig)
{
    tc_wf_ctx *c = tc_sched_spawn(r, CO_SIGNAL);
    if (!c)
        return TC_ERR_NOMEM;
    c->sfn = h->sfn;
    c->suser = h->user;
    c->sig = sig;
    return TC_OK;
}

int tc_signal_deliver(tc_run *r, tc_future *sig)
{
    const tc_handler *h = handler_of(r, sig->signal_name);
    if (h)
        return start_handler(r, h, sig);
    for (size_t i = 0; i < r->n_claims; i++) {
        tc_future *f = r->claims[i];
        if (strcmp(f->signal_name, sig->signal_name) != 0)
            continue;
        remove_at((void **)r->claims, &r->n_claims, i);
        /* The claim takes the signal's values and place in history order. */
        f->state = FUT_OK;
        f->seq = sig->seq;
        f->event_id = sig->event_id;
        f->values = sig->values;
        f->n_values = sig->n_values;
        sig->values = NULL;
        sig->n_values = 0;
        return TC_OK;
    }
    return push((void ***)&r->sigbuf, &r->n_sigbuf, &r->cap_sigbuf, sig) ? TC_OK : TC_ERR_NOMEM;
}

tc_future *tc_signal_claim(tc_run *r, const char *name, bool detached)
{
    for (size_t i = 0; i < r->n_sigbuf; i++) {
        tc_future *f = r->sigbuf[i];
        if (strcmp(f->signal_name, name) == 0) {
            remove_at((void **)r->sigbuf, &r->n_sigbuf, i);
            return f; /* already resolved, with the seq of its arrival */
        }
    }
    tc_future *f = tc_future_new(r, FK_SIGNAL);
    if (!f)
        return NULL;
    f->detached = detached;
    f->signal_name = tc_strdup(name);
    if (!f->signal_name || !push((void ***)&r->claims, &r->n_claims, &r->cap_claims, f))
        return NULL; /* f is freed with the run */
    return f;
}

void tc_signal_unclaim(tc_run *r, tc_future *f)
{
    for (size_t i = 0; i < r->n_claims; i++)
        if (r->claims[i] == f) {
            remove_at((void **)r->claims, &r->n_claims, i);
            tc_future_resolve_fail(r, f, FUT_CANCELLED, "CanceledError", "signal wait cancelled",
                                   false, 0);
            return;
        }
}

int tc_handler_put(tc_handler **arr, size_t *n, const char *name, tc_handler **slot)
{
    size_t i;
    *slot = NULL;
    for (i = 0; i < *n; i++) {
        const char *h = (*arr)[i].name;
        if ((!h && !name) || (h && name && strcmp(h, name) == 0))
            break;
    }
    if (i == *n) {
        tc_handler *p = realloc(*arr, (*n + 1) * sizeof *p);
        if (!p)
            return TC_ERR_NOMEM;
        *arr = p;
        memset(&p[i], 0, sizeof p[i]);
        if (name && !(p[i].name = tc_strdup(name)))
            return TC_ERR_NOMEM;
        (*n)++;
    }
    *slot = &(*arr)[i];
    return TC_OK;
}

void tc_handler_remove(tc_handler *arr, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++) {
        const char *h = arr[i].name;
        if ((!h && !name) || (h && name && strcmp(h, name) == 0)) {
            free(arr[i].name);
            memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof *arr);
            (*n)--;
            return;
        }
    }
}

int tc_signal_set_handler(tc_run *r, const char *name, tc_signal_fn fn, void *user)
{
    if (!fn) {
        tc_handler_remove(r->shandlers, &r->n_shandlers, name);
        return TC_OK;
    }
    tc_handler *h;
    if (tc_handler_put(&r->shandlers, &r->n_shandlers, name, &h) != TC_OK)
        return TC_ERR_NOMEM;
    h->sfn = fn;
    h->user = user;
    /* Hand over what waited for it, in arrival order. */
    for (size_t k = 0; k < r->n_sigbuf;) {
        tc_future *sig = r->sigbuf[k];
        if (handler_of(r, sig->signal_name) != h) {
            k++;
            continue;
        }
        remove_at((void **)r->sigbuf, &r->n_sigbuf, k);
        if (start_handler(r, h, sig) != TC_OK)
            return TC_ERR_NOMEM;
    }
    return TC_OK;
}
