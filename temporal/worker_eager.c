/* worker_eager.c - eager workflow start, the worker's side: the client's list of started workers,
 * slots reserved for a start's first workflow task, and a thread per task handed over, joined
 * before the worker stops. Must not poll or make calls of its own. */
#include "worker_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct eager_slot {
    struct tc_worker *w;
    tc_wf_task *task;
    pthread_t th;
    bool busy;     /* reserved, or its task runs */
    bool joinable; /* th ran a task and was not joined yet */
} eager_slot;

/* Called with c->eager_mu held: a free slot of a started worker of c for this queue and type. */
static eager_slot *find_slot(tc_client *c, const char *task_queue, const char *type)
{
    for (size_t i = 0; i < c->n_eager_workers; i++) {
        tc_worker *w = c->eager_workers[i];
        if (atomic_load(&w->stop) || strcmp(w->task_queue, task_queue) != 0 ||
            !tc_reg_workflow(w, type))
            continue;
        pthread_mutex_lock(&w->emu);
        for (size_t k = 0; k < w->n_eslots; k++)
            if (!w->eslots[k].busy) {
                w->eslots[k].busy = true;
                pthread_mutex_unlock(&w->emu);
                atomic_fetch_add(&w->st_eager_wf_req, 1);
                return &w->eslots[k];
            }
        pthread_mutex_unlock(&w->emu);
    }
    return NULL;
}

static void *reserve(tc_client *c, const char *task_queue, const char *type)
{
    if (!task_queue || !type)
        return NULL;
    pthread_mutex_lock(&c->eager_mu);
    eager_slot *s = find_slot(c, task_queue, type);
    pthread_mutex_unlock(&c->eager_mu);
    return s;
}

static void release(void *slot)
{
    eager_slot *s = slot;
    pthread_mutex_lock(&s->w->emu);
    s->busy = false;
    pthread_cond_broadcast(&s->w->ecv_free);
    pthread_mutex_unlock(&s->w->emu);
}

static void *slot_main(void *arg)
{
    eager_slot *s = arg;
    tc_wft_handle(s->w, s->task);
    protobuf_c_message_free_unpacked(&s->task->base, NULL);
    s->task = NULL;
    release(s);
    return NULL;
}

/* The task runs on a thread of the slot (the previous one, done, is joined first), so the
 * start call that received it returns at once. */
static void run(void *slot, ProtobufCMessage *task)
{
    eager_slot *s = slot;
    if (s->joinable) {
        pthread_join(s->th, NULL);
        s->joinable = false;
    }
    s->task = (tc_wf_task *)task;
    atomic_fetch_add(&s->w->st_eager_wf, 1); /* counted when taken, before it can complete */
    if (pthread_create(&s->th, NULL, slot_main, s) == 0) {
        s->joinable = true;
        return;
    }
    slot_main(s); /* no thread: on the caller's, rather than losing the task */
}

int tc_eager_register(tc_worker *w, tc_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n_pollers; i++)
        n += w->pollers[i].kind != POLL_ACTIVITY;
    w->eslots = calloc(n ? n : 1, sizeof *w->eslots);
    if (!w->eslots)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    w->n_eslots = n ? n : 1;
    for (size_t i = 0; i < w->n_eslots; i++)
        w->eslots[i].w = w;
    tc_client *c = w->c;
    pthread_mutex_lock(&c->eager_mu);
    if (c->n_eager_workers == c->cap_eager_workers) {
        size_t nc = c->cap_eager_workers ? c->cap_eager_workers * 2 : 2;
        tc_worker **p = realloc(c->eager_workers, nc * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&c->eager_mu);
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        }
        c->eager_workers = p;
        c->cap_eager_workers = nc;
    }
    c->eager_workers[c->n_eager_workers++] = w;
    c->eager_reserve = reserve;
    c->eager_run = run;
    c->eager_release = release;
    pthread_mutex_unlock(&c->eager_mu);
    w->eager_registered = true;
    return TC_OK;
}

void tc_eager_unregister(tc_worker *w)
{
    if (!w->eager_registered)
        return;
    w->eager_registered = false;
    tc_client *c = w->c;
    pthread_mutex_lock(&c->eager_mu);
    for (size_t i = 0; i < c->n_eager_workers; i++)
        if (c->eager_workers[i] == w) {
            memmove(&c->eager_workers[i], &c->eager_workers[i + 1],
                    (c->n_eager_workers - i - 1) * sizeof *c->eager_workers);
            c->n_eager_workers--;
            break;
        }
    pthread_mutex_unlock(&c->eager_mu);
    /* No new reservation can find w now; wait for the ones taken and the tasks running. */
    pthread_mutex_lock(&w->emu);
    for (;;) {
        bool busy = false;
        for (size_t i = 0; i < w->n_eslots; i++)
            busy |= w->eslots[i].busy;
        if (!busy)
            break;
        pthread_cond_wait(&w->ecv_free, &w->emu);
    }
    pthread_mutex_unlock(&w->emu);
    for (size_t i = 0; i < w->n_eslots; i++)
        if (w->eslots[i].joinable) {
            pthread_join(w->eslots[i].th, NULL);
            w->eslots[i].joinable = false;
        }
}
