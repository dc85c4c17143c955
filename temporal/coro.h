/* coro.h - stackful coroutines for workflow code: each on its own mmap'd stack with a guard
 * page, switched with ucontext and annotated for AddressSanitizer. Knows nothing of workflows. */
#ifndef TEMPORAL_CORO_H
#define TEMPORAL_CORO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tc_coro tc_coro;
typedef void (*tc_coro_fn)(void *arg);

#define TC_CORO_DEFAULT_STACK (256u * 1024u)
#define TC_CORO_MIN_STACK     (32u * 1024u)

/* Creates a coroutine that will run fn(arg) on a stack of stack_size bytes (0 = default,
 * rounded up to pages, at least TC_CORO_MIN_STACK) below a PROT_NONE guard page, so an
 * overflow faults instead of corrupting memory. Nothing runs until tc_coro_resume. Returns
 * NULL when out of memory. */
tc_coro *tc_coro_new(size_t stack_size, tc_coro_fn fn, void *arg);

/* Runs co until it calls tc_coro_yield or fn returns. Must not be called from inside co. A
 * suspended coroutine may be resumed from another thread than the one that suspended it. */
void tc_coro_resume(tc_coro *co);

/* From inside co: suspends it and returns to the tc_coro_resume call that ran it. */
void tc_coro_yield(tc_coro *co);

/* True once fn returned. */
bool tc_coro_done(const tc_coro *co);

/* Frees co and its stack. A coroutine suspended in the middle of fn is abandoned: its frames
 * are not unwound (callers unwind it first if they can). NULL is fine. */
void tc_coro_free(tc_coro *co);

/* Bytes of stack co has touched so far (pages resident), for measurements. */
size_t tc_coro_stack_resident(const tc_coro *co);

#endif
