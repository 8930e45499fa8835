/*
 * fiber.c - stackful coroutines for simulated connections (see fiber.h).
 *
 * Model. Each OS thread has one main context and any number of fibers. The
 * main context resumes a fiber; the fiber runs until it yields or its
 * function returns, and control comes back to the resume call. Fibers never
 * resume each other, so a switch always goes main -> fiber or fiber -> main
 * and one saved main context per thread is enough.
 *
 * Fiber life:   created --resume--> running --yield--> parked --resume--> ...
 *                                      `--function returns--> finished
 * A finished fiber switches back to its resumer one last time and is never
 * resumed again; only wh_fiber_destroy() may follow.
 *
 * Switching. On x86-64 ELF the switch is wh__fiber_switch() in
 * fiber_x86_64.S: it saves the callee-saved registers, the MXCSR and the x87
 * control word on the current stack, stores the stack pointer, loads the
 * other one and pops the same frame from there. A fresh fiber's stack is
 * prepared with such a frame whose return address is wh__fiber_trampoline,
 * which calls fiber_main(fiber). Elsewhere ucontext is used (slower: it also
 * saves the signal mask with a system call, but it builds everywhere).
 *
 * Stacks. mmap'd as one region: the lowest page is PROT_NONE (the guard), the
 * rest read-write, reserved without a commitment of memory (MAP_NORESERVE)
 * and touched lazily: a page costs memory only once the fiber reaches it.
 * (SQLite on a connection's fiber reaches a few pages of the default
 * 256 KiB.) Overflowing the stack faults on the guard page instead of
 * silently corrupting whatever lies below. Stacks are registered with
 * valgrind when its header is available (the client requests cost nothing
 * outside valgrind), and every switch is announced to AddressSanitizer when
 * it is compiled in, so both tools know which stack is live.
 *
 * AddressSanitizer protocol (sanitizer/common_interface_defs.h): before a
 * switch, __sanitizer_start_switch_fiber(&save, bottom, size) names the
 * target stack; right after arriving, __sanitizer_finish_switch_fiber(save,
 * &old_bottom, &old_size) completes it. A finished fiber passes NULL as save
 * so ASan frees its fake stack. The main stack's bounds are learnt from the
 * first finish on a fiber and reused when a fiber switches back.
 *
 * Invariants (per thread):
 * - fiber_thread.current is NULL exactly while the main context runs;
 * - only the current fiber has a live (unsaved) stack; every other created,
 *   unfinished fiber has a valid saved context;
 * - a finished fiber is never resumed, and the running fiber is never
 *   destroyed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_STACK */
#endif

#include "fiber.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wh.h"

/* WH_FIBER_FORCE_UCONTEXT builds the portable path on x86-64 too, so that
 * it can be tested where development happens. */
#if defined(__x86_64__) && defined(__ELF__) && !defined(WH_FIBER_FORCE_UCONTEXT)
#define WH_FIBER_ASM 1
#else
#define WH_FIBER_ASM 0
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define WH_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WH_FIBER_ASAN 1
#endif
#endif
#ifndef WH_FIBER_ASAN
#define WH_FIBER_ASAN 0
#endif
#if WH_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define WH_FIBER_VALGRIND 1
#endif
#endif
#ifndef WH_FIBER_VALGRIND
#define WH_FIBER_VALGRIND 0
#endif

struct wh_fiber {
#if WH_FIBER_ASM
	void *sp;                /* saved stack pointer while not running */
#else
	ucontext_t uc;           /* saved context while not running */
#endif
	wh_fiber_fn fn;          /* function run on first resume */
	void *arg;               /* its argument */
	unsigned char *map_base; /* start of the mapping (the guard page) */
	size_t map_bytes;        /* guard page + stack */
	unsigned char *stack_lo; /* lowest usable stack byte */
	size_t stack_bytes;      /* usable stack, excluding the guard */
	bool finished;           /* function returned; never resume again */
	const void *thread;      /* identity of the creating thread */
	unsigned valgrind_id;    /* from VALGRIND_STACK_REGISTER, or 0 */
	void *asan_fake_stack;   /* ASan fake-stack handle while parked */
};

/* Per-thread switching state. */
struct fiber_thread {
	struct wh_fiber *current; /* running fiber, NULL in the main context */
#if WH_FIBER_ASM
	void *main_sp;            /* main context's saved stack pointer */
#else
	ucontext_t main_uc;       /* main context while a fiber runs */
#endif
	const void *main_stack_lo; /* ASan: main stack bottom */
	size_t main_stack_bytes;   /* ASan: main stack size */
};

static _Thread_local struct fiber_thread fiber_thread;

#if WH_FIBER_ASM
/* In fiber_x86_64.S. */
void wh__fiber_switch(void **save_sp, void *load_sp);
void wh__fiber_trampoline(void);
#endif

/* ------------------------------------------------------------------------
 * Sanitizer hooks (no-ops unless AddressSanitizer is compiled in)
 * ---------------------------------------------------------------------- */

static inline void asan_start_switch(void **fake_stack_save,
				     const void *bottom, size_t size)
{
#if WH_FIBER_ASAN
	__sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
	(void)fake_stack_save;
	(void)bottom;
	(void)size;
#endif
}

static inline void asan_finish_switch(void *fake_stack_save,
				      const void **bottom_old,
				      size_t *size_old)
{
#if WH_FIBER_ASAN
	__sanitizer_finish_switch_fiber(fake_stack_save, bottom_old, size_old);
#else
	(void)fake_stack_save;
	(void)bottom_old;
	(void)size_old;
#endif
}

/* ------------------------------------------------------------------------
 * Context switch primitives
 * ---------------------------------------------------------------------- */

static _Noreturn void fiber_main(struct wh_fiber *f);

#if WH_FIBER_ASM

/* Lay out the frame wh__fiber_switch pops (see fiber_x86_64.S) so that the
 * first switch "returns" into the trampoline with r12 = f, r13 = entry. */
static void ctx_prepare(struct wh_fiber *f)
{
	uintptr_t top = (uintptr_t)(f->stack_lo + f->stack_bytes);
	WH_ASSERT(top % 16 == 0);

	/* Eight frame slots plus 16 bytes of padding: after the switch has
	 * popped the frame and returned, rsp = top - 16, which is 0 mod 16
	 * as the trampoline's call needs. */
	uint64_t *frame = (uint64_t *)(top - 80);
	uint32_t mxcsr = __builtin_ia32_stmxcsr();
	uint16_t fpu_cw = 0;
	__asm__ volatile("fnstcw %0" : "=m"(fpu_cw));

	/* The fiber starts with the creating thread's FP control state. */
	frame[0] = (uint64_t)mxcsr | ((uint64_t)fpu_cw << 32);
	frame[1] = 0;                           /* r15 */
	frame[2] = 0;                           /* r14 */
	frame[3] = (uint64_t)(uintptr_t)&fiber_main; /* r13: entry */
	frame[4] = (uint64_t)(uintptr_t)f;      /* r12: its argument */
	frame[5] = 0;                           /* rbx */
	frame[6] = 0;                           /* rbp: ends frame chains */
	frame[7] = (uint64_t)(uintptr_t)&wh__fiber_trampoline;
	frame[8] = 0;                           /* padding */
	frame[9] = 0;
	f->sp = frame;
	WH_ASSERT((uintptr_t)f->sp % 16 == 0);
}

static inline void ctx_enter(struct wh_fiber *f)
{
	wh__fiber_switch(&fiber_thread.main_sp, f->sp);
}

static inline void ctx_leave(struct wh_fiber *f)
{
	wh__fiber_switch(&f->sp, fiber_thread.main_sp);
}

#else /* ucontext */

/* makecontext passes only int arguments; the fiber being started is the
 * current one, so it is read from the thread state instead. */
static void ctx_entry(void)
{
	fiber_main(fiber_thread.current);
}

static void ctx_prepare(struct wh_fiber *f)
{
	int rc = getcontext(&f->uc);
	WH_ASSERT_EQ(rc, 0);
	f->uc.uc_stack.ss_sp = f->stack_lo;
	f->uc.uc_stack.ss_size = f->stack_bytes;
	f->uc.uc_link = NULL; /* fiber_main never returns */
	makecontext(&f->uc, ctx_entry, 0);
}

static inline void ctx_enter(struct wh_fiber *f)
{
	int rc = swapcontext(&fiber_thread.main_uc, &f->uc);
	WH_ASSERT_EQ(rc, 0);
}

static inline void ctx_leave(struct wh_fiber *f)
{
	int rc = swapcontext(&f->uc, &fiber_thread.main_uc);
	WH_ASSERT_EQ(rc, 0);
}

#endif

/* ------------------------------------------------------------------------
 * Fiber lifecycle
 * ---------------------------------------------------------------------- */

/* First code run on a fiber's stack. Runs the function, then leaves for
 * good: the saved context is never resumed. */
static _Noreturn void fiber_main(struct wh_fiber *f)
{
	/* Arriving from the main context: learn its stack for the way back. */
	asan_finish_switch(NULL, &fiber_thread.main_stack_lo,
			   &fiber_thread.main_stack_bytes);
	WH_ASSERT(fiber_thread.current == f);
	WH_ASSERT(!f->finished);

	f->fn(f->arg);

	WH_ASSERT(fiber_thread.current == f);
	f->finished = true;
	/* NULL: this stack is done, ASan may free its fake stack. */
	asan_start_switch(NULL, fiber_thread.main_stack_lo,
			  fiber_thread.main_stack_bytes);
	ctx_leave(f);
	WH_UNREACHABLE();
}

static size_t page_size_bytes(void)
{
	long page = sysconf(_SC_PAGESIZE);

	WH_ASSERT(page > 0);
	size_t bytes = (size_t)page;
	WH_ASSERT((bytes & (bytes - 1)) == 0);
	WH_ASSERT(bytes % 16 == 0);
	return bytes;
}

int wh_fiber_create(struct wh_fiber **out, size_t stack_bytes, wh_fiber_fn fn,
		    void *arg)
{
	WH_ASSERT(out != NULL);
	WH_ASSERT(fn != NULL);
	*out = NULL;

	size_t page = page_size_bytes();
	if (stack_bytes < WH_FIBER_STACK_MIN)
		stack_bytes = WH_FIBER_STACK_MIN;
	if (stack_bytes > SIZE_MAX - 2 * page) {
		errno = ENOMEM;
		return -1;
	}
	stack_bytes = (stack_bytes + page - 1) / page * page;
	size_t map_bytes = stack_bytes + page;

	/* MAP_NORESERVE: a thousand connections reserve a quarter of a GiB
	 * of stack between them and touch a few KiB each; without it the
	 * whole reservation would count against the commit limit once made
	 * writable (and fail where overcommit is strict about it). */
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
#ifdef MAP_STACK
	flags |= MAP_STACK;
#endif
	/* Map everything inaccessible, then open up all but the lowest page:
	 * the guard exists from the first moment the stack does. */
	void *base = mmap(NULL, map_bytes, PROT_NONE, flags, -1, 0);
	if (base == MAP_FAILED)
		return -1;
	unsigned char *map_base = base;
	if (mprotect(map_base + page, stack_bytes, PROT_READ | PROT_WRITE) != 0) {
		int saved = errno;
		munmap(base, map_bytes);
		errno = saved;
		return -1;
	}

	struct wh_fiber *f = wh_calloc(1, sizeof *f);
	f->fn = fn;
	f->arg = arg;
	f->map_base = map_base;
	f->map_bytes = map_bytes;
	f->stack_lo = map_base + page;
	f->stack_bytes = stack_bytes;
	f->finished = false;
	f->thread = &fiber_thread;
#if WH_FIBER_VALGRIND
	f->valgrind_id = VALGRIND_STACK_REGISTER(f->stack_lo,
						 f->stack_lo + f->stack_bytes);
#endif
	ctx_prepare(f);
	*out = f;
	return 0;
}

void wh_fiber_destroy(struct wh_fiber *f)
{
	if (f == NULL)
		return;
	/* Unmapping the stack we run on would crash on the next instruction. */
	WH_ASSERT(fiber_thread.current != f);
	WH_ASSERT(f->thread == &fiber_thread);
#if WH_FIBER_VALGRIND
	VALGRIND_STACK_DEREGISTER(f->valgrind_id);
#endif
#if WH_FIBER_ASAN
	/* A parked fiber leaves poisoned redzones of its live frames in the
	 * shadow; a later mapping at the same address must not inherit them. */
	ASAN_UNPOISON_MEMORY_REGION(f->stack_lo, f->stack_bytes);
#endif
	int rc = munmap(f->map_base, f->map_bytes);
	WH_ASSERT_EQ(rc, 0);
	free(f);
}

void wh_fiber_resume(struct wh_fiber *f)
{
	WH_ASSERT(f != NULL);
	/* Only the main context resumes: fibers do not nest. */
	WH_ASSERT(fiber_thread.current == NULL);
	WH_ASSERT(!f->finished);
	WH_ASSERT(f->thread == &fiber_thread);

	void *main_fake_stack = NULL;
	fiber_thread.current = f;
	asan_start_switch(&main_fake_stack, f->stack_lo, f->stack_bytes);
	ctx_enter(f);
	asan_finish_switch(main_fake_stack, NULL, NULL);

	/* Back from a yield or from the fiber's end. */
	WH_ASSERT(fiber_thread.current == f);
	fiber_thread.current = NULL;
}

void wh_fiber_yield(void)
{
	struct wh_fiber *f = fiber_thread.current;

	/* Yielding from the main context has nowhere to go. */
	WH_ASSERT(f != NULL);
	WH_ASSERT(!f->finished);

	asan_start_switch(&f->asan_fake_stack, fiber_thread.main_stack_lo,
			  fiber_thread.main_stack_bytes);
	ctx_leave(f);
	asan_finish_switch(f->asan_fake_stack, &fiber_thread.main_stack_lo,
			   &fiber_thread.main_stack_bytes);

	/* Resumed: wh_fiber_resume set current before switching here. */
	WH_ASSERT(fiber_thread.current == f);
}

/* Cache lines above a parked fiber's saved stack pointer that a resume
 * returns through: the switch frame, then its callers' frames. */
#define FIBER_PREFETCH_LINES 8

void wh_fiber_prefetch(const struct wh_fiber *f)
{
	WH_ASSERT(f != NULL);
	__builtin_prefetch(f);
#if WH_FIBER_ASM
	/* The load of f->sp waits for f's line; the prefetches then go out
	 * together. A fiber never resumed has its first frame there too. */
	const unsigned char *sp = f->sp;
	const unsigned char *top = f->stack_lo + f->stack_bytes;
	for (int i = 0; i < FIBER_PREFETCH_LINES && sp + 64 * i < top; i++)
		__builtin_prefetch(sp + 64 * i);
#endif
}

struct wh_fiber *wh_fiber_current(void)
{
	return fiber_thread.current;
}

bool wh_fiber_is_finished(const struct wh_fiber *f)
{
	WH_ASSERT(f != NULL);
	return f->finished;
}

size_t wh_fiber_stack_bytes(const struct wh_fiber *f)
{
	WH_ASSERT(f != NULL);
	WH_ASSERT(f->stack_bytes >= WH_FIBER_STACK_MIN);
	return f->stack_bytes;
}
