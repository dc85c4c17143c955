/* slots.c — lending pool slots to threads (slots.h). Must not touch what a slot holds: the
 * pools do, between take and give. */
#include "slots.h"

#include <stdlib.h>

#include "cm_error.h"
#include "cm_log.h"

static time_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

int slots_init(slots *p, int n)
{
    p->n = n;
    p->s = calloc((size_t)n, sizeof *p->s);
    if (p->s == NULL)
        return CM_ERR_NOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return 0;
}

void slots_destroy(slots *p, const char *owner)
{
    if (p->s == NULL)
        return;
    for (int i = 0; i < p->n; i++)
        if (p->s[i].lent)
            log_error("%s: connection %d still borrowed", owner, i);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->s);
    p->s = NULL;
}

int slots_take(slots *p, int *idle_s)
{
    int pick = -1;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        for (int i = 0; i < p->n && pick < 0; i++)
            if (!p->s[i].lent && p->s[i].open)
                pick = i;
        for (int i = 0; i < p->n && pick < 0; i++)
            if (!p->s[i].lent)
                pick = i;
        if (pick >= 0)
            break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    p->s[pick].lent = true;
    *idle_s = p->s[pick].returned > 0 ? (int)(mono_s() - p->s[pick].returned) : 0;
    pthread_mutex_unlock(&p->mu);
    return pick;
}

void slots_give(slots *p, int i, bool open)
{
    time_t now = mono_s();
    pthread_mutex_lock(&p->mu);
    p->s[i].lent = false;
    p->s[i].open = open;
    p->s[i].returned = now;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
