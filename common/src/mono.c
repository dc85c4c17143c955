/* mono.c — CLOCK_MONOTONIC helpers (cm_mono.h). */
#include "cm_mono.h"

#include "cm_error.h"

int64_t mono_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec mono_deadline(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void mono_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

int mono_thread_start(mono_thread *t, void *(*fn)(void *), void *arg)
{
    t->stopping = 0;
    pthread_mutex_init(&t->mu, NULL);
    mono_cond_init(&t->cv);
    if (pthread_create(&t->thread, NULL, fn, arg) != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        return CM_ERR_NOMEM;
    }
    return 0;
}

int mono_sleep_unless(pthread_mutex_t *mu, pthread_cond_t *cv, const int *flag, int64_t ms)
{
    struct timespec until = mono_deadline(ms);
    pthread_mutex_lock(mu);
    while (!*flag)
        if (pthread_cond_timedwait(cv, mu, &until) != 0)
            break;
    int set = *flag;
    pthread_mutex_unlock(mu);
    return set;
}

int mono_thread_wait(mono_thread *t, int64_t ms)
{
    return mono_sleep_unless(&t->mu, &t->cv, &t->stopping, ms);
}

int mono_thread_stopping(mono_thread *t)
{
    pthread_mutex_lock(&t->mu);
    int stop = t->stopping;
    pthread_mutex_unlock(&t->mu);
    return stop;
}

void mono_thread_stop(mono_thread *t)
{
    pthread_mutex_lock(&t->mu);
    t->stopping = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}
