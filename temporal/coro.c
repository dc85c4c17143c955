/* coro.c - stackful coroutines on ucontext: mmap'd stacks with a guard page, a small pool of
 * free stacks, AddressSanitizer fiber annotations. Must not know anything about workflows. */
#include "coro.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TC_ASAN 1
#endif
#endif

#ifdef TC_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define SWITCH_START(save, bottom, size)  __sanitizer_start_switch_fiber((save), (bottom), (size))
#define SWITCH_FINISH(save, bottom, size) __sanitizer_finish_switch_fiber((save), (bottom), (size))
#define UNPOISON(p, n)                    __asan_unpoison_memory_region((p), (n))
#else
#define SWITCH_START(save, bottom, size)  ((void)(save), (void)(bottom), (void)(size))
#define SWITCH_FINISH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define UNPOISON(p, n)                    ((void)(p), (void)(n))
#endif

struct tc_coro {
    ucontext_t ctx;    /* the coroutine while suspended */
    ucontext_t caller; /* the tc_coro_resume that runs it */
    char *map;         /* guard page + stack */
    size_t map_size;
    char *stack;
    size_t stack_size;
    tc_coro_fn fn;
    void *arg;
    bool done;
    /* AddressSanitizer: the coroutine's fake stack while it is suspended, and the bounds of
     * the stack it returns to (the resumer's, which can be another thread each time). */
    void *fake_stack;
    const void *caller_bottom;
    size_t caller_size;
};

/* Free stacks kept for reuse: mmap + mprotect + munmap per coroutine would cost more than the
 * workflow code of a short run. Only stacks of one size are pooled (the size used first). */
#define POOL_MAX 32
static pthread_mutex_t g_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_pool[POOL_MAX];
static size_t g_pool_n, g_pool_size;

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096u;
}

static char *stack_get(size_t map_size)
{
    char *m = NULL;
    pthread_mutex_lock(&g_pool_mu);
    if (g_pool_n > 0 && g_pool_size == map_size)
        m = g_pool[--g_pool_n];
    pthread_mutex_unlock(&g_pool_mu);
    if (m)
        return m;
    m = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1,
             0);
    if (m == MAP_FAILED)
        return NULL;
    /* The stack grows down: the lowest page faults on overflow. */
    if (mprotect(m, page_size(), PROT_NONE) != 0) {
        munmap(m, map_size);
        return NULL;
    }
    return m;
}

static void stack_put(char *m, size_t map_size)
{
    size_t pg = page_size();
    /* Frames of the last coroutine may have left poisoned redzones behind. */
    UNPOISON(m + pg, map_size - pg);
    pthread_mutex_lock(&g_pool_mu);
    if (g_pool_size == 0)
        g_pool_size = map_size;
    if (g_pool_size == map_size && g_pool_n < POOL_MAX) {
        g_pool[g_pool_n++] = m;
        m = NULL;
    }
    pthread_mutex_unlock(&g_pool_mu);
    if (m)
        munmap(m, map_size);
}

/* makecontext passes int arguments only: the pointer travels in two halves. */
static void trampoline(unsigned hi, unsigned lo)
{
    tc_coro *co = (tc_coro *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
    SWITCH_FINISH(NULL, &co->caller_bottom, &co->caller_size);
    co->fn(co->arg);
    co->done = true;
    /* NULL: this fiber is gone, ASan may drop its fake stack. */
    SWITCH_START(NULL, co->caller_bottom, co->caller_size);
    setcontext(&co->caller);
}

/* getcontext returns twice in principle: kept apart so no caller variable lives across it.
 * (The context it saves is only ever entered through makecontext's trampoline.) */
static __attribute__((noinline)) int make(tc_coro *const co)
{
    if (getcontext(&co->ctx) != 0)
        return -1;
    co->ctx.uc_stack.ss_sp = co->stack;
    co->ctx.uc_stack.ss_size = co->stack_size;
    co->ctx.uc_link = NULL;
    uintptr_t p = (uintptr_t)co;
    makecontext(&co->ctx, (void (*)(void))trampoline, 2, (unsigned)(p >> 32),
                (unsigned)(p & 0xffffffffu));
    return 0;
}

tc_coro *tc_coro_new(size_t stack_size, tc_coro_fn fn, void *arg)
{
    size_t pg = page_size();
    if (stack_size == 0)
        stack_size = TC_CORO_DEFAULT_STACK;
    if (stack_size < TC_CORO_MIN_STACK)
        stack_size = TC_CORO_MIN_STACK;
    stack_size = (stack_size + pg - 1) / pg * pg;
    /* Not calloc: the two ucontext_t (about 2 KiB) are filled by getcontext / swapcontext. */
    tc_coro *co = malloc(sizeof *co);
    if (!co)
        return NULL;
    co->done = false;
    co->fake_stack = NULL;
    co->caller_bottom = NULL;
    co->caller_size = 0;
    co->map_size = stack_size + pg;
    co->map = stack_get(co->map_size);
    if (!co->map) {
        free(co);
        return NULL;
    }
    co->stack = co->map + pg;
    co->stack_size = stack_size;
    co->fn = fn;
    co->arg = arg;
    if (make(co) != 0) {
        stack_put(co->map, co->map_size);
        free(co);
        return NULL;
    }
    return co;
}

void tc_coro_resume(tc_coro *co)
{
    void *fake = NULL;
    if (co->done)
        return;
    SWITCH_START(&fake, co->stack, co->stack_size);
    swapcontext(&co->caller, &co->ctx);
    SWITCH_FINISH(fake, NULL, NULL);
}

void tc_coro_yield(tc_coro *co)
{
    SWITCH_START(&co->fake_stack, co->caller_bottom, co->caller_size);
    swapcontext(&co->ctx, &co->caller);
    SWITCH_FINISH(co->fake_stack, &co->caller_bottom, &co->caller_size);
}

bool tc_coro_done(const tc_coro *co)
{
    return co->done;
}

void tc_coro_free(tc_coro *co)
{
    if (!co)
        return;
    stack_put(co->map, co->map_size);
    free(co);
}

size_t tc_coro_stack_resident(const tc_coro *co)
{
    size_t pg = page_size(), n = co->stack_size / pg, resident = 0;
    unsigned char *vec = malloc(n ? n : 1);
    if (!vec)
        return 0;
    if (mincore(co->stack, co->stack_size, vec) == 0)
        for (size_t i = 0; i < n; i++)
            resident += (vec[i] & 1) ? pg : 0;
    free(vec);
    return resident;
}
