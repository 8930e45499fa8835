/*
 * fiber.h - stackful coroutines for simulated connections.
 *
 * Each fiber has its own mmap'd stack with a PROT_NONE guard page below it.
 * Switching saves and restores only callee-saved registers and the stack
 * pointer (no signal-mask system call). Fibers are resumed only from the
 * thread's main context (no nesting): the scheduler resumes one, it runs
 * until it yields or its function returns, and control comes back to the
 * resumer. Stack switches are announced to AddressSanitizer and stacks are
 * registered with valgrind, so both tools understand them.
 *
 * Not thread-safe across threads: every fiber belongs to the OS thread that
 * created it.
 */
#ifndef WH_FIBER_H
#define WH_FIBER_H

#include <stdbool.h>
#include <stddef.h>

struct wh_fiber;
typedef void (*wh_fiber_fn)(void *arg);

#define WH_FIBER_STACK_DEFAULT (256u * 1024u)
#define WH_FIBER_STACK_MIN (64u * 1024u)

/* Create a fiber that runs fn(arg) on its first resume. stack_bytes is
 * rounded up to whole pages (at least WH_FIBER_STACK_MIN). Returns 0, or -1
 * if the stack cannot be mapped (errno set). */
int wh_fiber_create(struct wh_fiber **out, size_t stack_bytes, wh_fiber_fn fn,
		    void *arg);
/* Free a fiber that has finished or was never resumed. Destroying a fiber
 * parked mid-function is allowed only if nothing on its stack owns
 * resources (its stack is simply unmapped). */
void wh_fiber_destroy(struct wh_fiber *f);
/* From the main context: run f until it yields or finishes. */
void wh_fiber_resume(struct wh_fiber *f);
/* From inside a fiber: return control to the resumer. */
void wh_fiber_yield(void);
/* A hint from the main context that f will be resumed soon: start
 * bringing into the cache what the resume reads (the fiber's record and
 * the top of its saved stack, where the frames it returns through are).
 * Changes nothing; with many fibers, each resumed rarely, these are
 * cache misses that the resume would otherwise take one after another. */
void wh_fiber_prefetch(const struct wh_fiber *f);
/* The running fiber, or NULL in the main context. */
struct wh_fiber *wh_fiber_current(void);
bool wh_fiber_is_finished(const struct wh_fiber *f);
/* Bytes of stack the fiber has (excluding the guard page). */
size_t wh_fiber_stack_bytes(const struct wh_fiber *f);

#endif /* WH_FIBER_H */
