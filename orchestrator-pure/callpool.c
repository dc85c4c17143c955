/* callpool.c - a FIFO of calls and the helper threads that run them. Helpers are started on
 * demand and never exit before the pool is freed (their HTTP connections stay warm). */
#include "callpool.h"

#include <stdlib.h>

#include "cm_error.h"

struct callpool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a task arrived or stopping */
    callpool_task_t *head, *tail;
    int pending;  /* tasks queued, not yet taken */
    int idle;     /* helpers waiting for work */
    int nthreads; /* helpers started */
    int max_threads;
    int stopping;
    pthread_t *threads;
};

static void *helper(void *arg)
{
    callpool_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->mu);
            p->idle--;
        }
        if (p->head == NULL) /* stopping with nothing left */
            break;
        callpool_task_t *t = p->head;
        p->head = t->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->pending--;
        pthread_mutex_unlock(&p->mu);
        t->fn(t->arg);
        pthread_mutex_lock(&p->mu);
        t->done = 1;
        pthread_cond_signal(&t->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int callpool_new(int max_threads, callpool_t **out)
{
    if (max_threads < 1)
        return CM_ERR_INVALID;
    callpool_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return CM_ERR_NOMEM;
    p->threads = calloc((size_t)max_threads, sizeof *p->threads);
    if (p->threads == NULL) {
        free(p);
        return CM_ERR_NOMEM;
    }
    p->max_threads = max_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    *out = p;
    return 0;
}

int callpool_submit(callpool_t *p, callpool_task_t *t, void (*fn)(void *arg), void *arg)
{
    int rc = 0;
    *t = (callpool_task_t){.fn = fn, .arg = arg};
    pthread_cond_init(&t->cv, NULL);
    pthread_mutex_lock(&p->mu);
    /* Each queued task needs an idle helper of its own, or a new one, so no call waits for
     * another saga's call to end. */
    if (p->pending >= p->idle && p->nthreads < p->max_threads &&
        pthread_create(&p->threads[p->nthreads], NULL, helper, p) == 0)
        p->nthreads++;
    if (p->nthreads == 0 || p->stopping) {
        rc = CM_ERR_BUSY;
    } else {
        if (p->tail != NULL)
            p->tail->next = t;
        else
            p->head = t;
        p->tail = t;
        p->pending++;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mu);
    if (rc != 0)
        pthread_cond_destroy(&t->cv);
    return rc;
}

void callpool_wait(callpool_t *p, callpool_task_t *t)
{
    pthread_mutex_lock(&p->mu);
    while (!t->done)
        pthread_cond_wait(&t->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_cond_destroy(&t->cv);
}

void callpool_free(callpool_t *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}
