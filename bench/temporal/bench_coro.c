/* bench_coro.c - costs of the workflow runtime's coroutines, no server: the time of one
 * switch into a workflow coroutine and back, and the memory a live run keeps in the sticky
 * cache (its touched stack pages and its heap). Not a test: prints figures, asserts nothing. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coro.h"
#include "hist_builder.h"
#include "wf_run.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static tc_coro *g_co;
static long g_rounds;

static void pingpong(void *arg)
{
    (void)arg;
    for (long i = 0; i < g_rounds; i++)
        tc_coro_yield(g_co);
}

/* A saga-sized workflow: n sequential activities with a JSON argument each, blocked on the
 * last one; its locals are what a real workflow keeps on its stack. */
static void wf_steps(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state;
    (void)user;
    static const tc_activity_options o = {.start_to_close_ms = 30000};
    char in[256];
    for (int i = 0; i < 8; i++) {
        snprintf(in, sizeof in, "{\"step\":%d,\"order\":\"order-%d\",\"amount\":20000}", i, i);
        tc_wf_result r;
        if (tc_wf_activity(ctx, "Step", in, &o, &r) != TC_OK)
            return;
    }
    tc_wf_complete(ctx, "\"done\"");
}

/* History of a run whose first `done` steps completed: the next one is pending. */
static tc_history *steps_history(int done, int64_t *started)
{
    hb *b = hb_new();
    hb_started(b, "Steps", "{}");
    *started = hb_wft_start(b);
    for (int i = 0; i < done; i++) {
        hb_wft_complete(b, *started);
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)hb_next_id(b));
        int64_t a = hb_act_scheduled(b, id, "Step");
        hb_act_started(b, a);
        hb_act_completed(b, a, "{\"ok\":true}");
        *started = hb_wft_start(b);
    }
    tc_history *h = hb_history(b);
    hb_free(b);
    return h;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 2000000;
    int runs = argc > 2 ? atoi(argv[2]) : 1000;

    /* 1. switch cost: resume + yield is two switches */
    g_rounds = rounds;
    g_co = tc_coro_new(0, pingpong, NULL);
    int64_t t0 = now_ns();
    for (long i = 0; i <= rounds; i++)
        tc_coro_resume(g_co);
    int64_t t1 = now_ns();
    tc_coro_free(g_co);
    printf("coroutine switch: %.1f ns (resume+yield %.1f ns, %ld round trips)\n",
           (double)(t1 - t0) / (2.0 * (double)rounds), (double)(t1 - t0) / (double)rounds, rounds);

    /* 2. a live run in the cache: replay 3 completed steps, blocked on the 4th */
    int64_t started;
    tc_history *h = steps_history(3, &started);
    tc_run **kept = calloc((size_t)runs, sizeof *kept);
    struct mallinfo2 before = mallinfo2();
    size_t stack = 0;
    t0 = now_ns();
    for (int i = 0; i < runs; i++) {
        tc_run_setup s = {wf_steps, NULL, 0, 0, NULL};
        tc_error err;
        kept[i] = tc_run_new("bench", "bench-run", &s);
        if (!kept[i] || tc_run_feed(kept[i], h->events, h->n, started, &err) != TC_OK) {
            fprintf(stderr, "run %d failed\n", i);
            return 1;
        }
        stack += tc_coro_stack_resident(kept[i]->coros[0]->co);
    }
    t1 = now_ns();
    struct mallinfo2 after = mallinfo2();
    printf("live run blocked after 3 activities (%zu events): replay from event 1 %.1f us, "
           "heap %.0f B, stack touched %.0f B (of %u KiB mapped)\n",
           h->n, (double)(t1 - t0) / 1000.0 / runs,
           (double)(after.uordblks - before.uordblks) / runs, (double)stack / runs,
           TC_CORO_DEFAULT_STACK / 1024);
    t0 = now_ns();
    for (int i = 0; i < runs; i++)
        tc_run_free(kept[i]); /* unwinds the blocked coroutine */
    t1 = now_ns();
    printf("evicting a live run (unwind + free): %.1f us\n", (double)(t1 - t0) / 1000.0 / runs);
    free(kept);
    tc_history_free(h);
    return 0;
}
