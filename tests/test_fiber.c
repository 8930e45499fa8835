/*
 * test_fiber.c - unit tests for fibers (engine/fiber.c and the x86-64
 * switch in engine/fiber_x86_64.S).
 *
 * Fibers record what they observe into plain structs; every cmocka assertion
 * runs on the main context afterwards. An assertion failing inside a fiber
 * would longjmp from the fiber's stack into the test runner and leave the
 * fiber machinery in the middle of a switch, spoiling later tests.
 *
 * Register tests clobber every callee-saved general register with inline
 * assembly on one side of the switch (x86-64 only) while the other side keeps
 * values live across it; the compiler keeps such values in callee-saved
 * registers at -O2, so a switch that fails to restore them corrupts them.
 * Guard-page tests read /proc/self/maps (and /proc/self/smaps for what a
 * stack holds), and a forked child overflows its fiber stack and must
 * fault inside the page just below the stack (located
 * from the fiber's own geometry, not from the maps). Programmer errors are
 * checked in forked children that must die by SIGABRT.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fiber.h"
#include "wh.h"

#define KIB 1024u

static size_t page_bytes(void)
{
	long page = sysconf(_SC_PAGESIZE);
	assert_true(page > 0);
	return (size_t)page;
}

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* Find the /proc/self/maps entry containing addr (or, with end_at set, the
 * one ending exactly at addr). Returns true and fills lo, hi and perms. */
static bool maps_find(uintptr_t addr, bool end_at, uintptr_t *lo,
		      uintptr_t *hi, char perms[5])
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	assert_non_null(fp);
	while (!found && fgets(line, sizeof line, fp) != NULL) {
		unsigned long a = 0, b = 0;
		char p[5] = {0};
		if (sscanf(line, "%lx-%lx %4s", &a, &b, p) != 3)
			continue;
		if (end_at ? b == addr : (a <= addr && addr < b)) {
			*lo = a;
			*hi = b;
			memcpy(perms, p, 5);
			found = true;
		}
	}
	fclose(fp);
	return found;
}

/* Run fn in a forked child whose stderr goes into buf (NUL-terminated);
 * returns the wait status. cmocka's signal handlers are reset so that
 * signals really kill the child. */
static int run_in_child(void (*fn)(void), char *buf, size_t buf_bytes)
{
	int fds[2];

	assert_true(buf_bytes > 0);
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn();
		_exit(0);
	}
	close(fds[1]);
	size_t used = 0;
	for (;;) {
		ssize_t n = read(fds[0], buf + used, buf_bytes - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == buf_bytes - 1)
			break; /* enough to judge; the rest is ignored */
	}
	buf[used] = '\0';
	close(fds[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* True if fn, run in a child, stops at an always-on assertion (SIGABRT)
 * whose message contains `expr`, so that the intended check fired rather
 * than some later one. */
static bool dies_by_assertion(void (*fn)(void), const char *expr)
{
	char err[4096];
	int status = run_in_child(fn, err, sizeof err);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
	       strstr(err, "assertion failed") != NULL &&
	       strstr(err, expr) != NULL;
}

/* ------------------------------------------------------------------------
 * Ordering
 * ---------------------------------------------------------------------- */

struct trace {
	char events[64][4]; /* short labels in the order they happened */
	int count;          /* events recorded */
	struct wh_fiber *seen_current; /* wh_fiber_current() inside the fiber */
};

static void trace_add(struct trace *t, const char *label)
{
	if (t->count < 64) {
		snprintf(t->events[t->count], sizeof t->events[0], "%s", label);
		t->count++;
	}
}

static void ping_pong_fiber(void *arg)
{
	struct trace *t = arg;

	t->seen_current = wh_fiber_current();
	trace_add(t, "f1");
	wh_fiber_yield();
	trace_add(t, "f2");
	wh_fiber_yield();
	trace_add(t, "f3");
}

/* Resume and yield alternate strictly: main and fiber events interleave one
 * by one, the fiber finishes only after its function returns, and
 * wh_fiber_current() is the fiber inside it and NULL outside. */
static void test_ping_pong_order(void **state)
{
	(void)state;
	struct trace t = {0};
	struct wh_fiber *f = NULL;
	static const char *const expected[] = {"m0", "f1", "m1", "f2",
					       "m2", "f3", "m3"};

	assert_int_equal(wh_fiber_create(&f, 0, ping_pong_fiber, &t), 0);
	assert_null(wh_fiber_current());
	trace_add(&t, "m0");
	wh_fiber_resume(f);
	assert_false(wh_fiber_is_finished(f));
	trace_add(&t, "m1");
	wh_fiber_resume(f);
	assert_false(wh_fiber_is_finished(f));
	trace_add(&t, "m2");
	wh_fiber_resume(f);
	assert_true(wh_fiber_is_finished(f));
	trace_add(&t, "m3");

	assert_null(wh_fiber_current());
	assert_ptr_equal(t.seen_current, f);
	assert_int_equal(t.count, 7);
	for (int i = 0; i < 7; i++)
		assert_string_equal(t.events[i], expected[i]);
	wh_fiber_destroy(f);
}

#define MANY_FIBERS 100
#define MANY_STEPS 10

struct many {
	int log[MANY_FIBERS * MANY_STEPS]; /* id * 1000 + step */
	int count;                         /* entries in log */
};

struct many_arg {
	struct many *shared; /* common log */
	int id;              /* fiber number */
};

static void many_fiber(void *arg)
{
	struct many_arg *a = arg;

	/* step lives on this fiber's own stack across yields. */
	for (int step = 0; step < MANY_STEPS; step++) {
		a->shared->log[a->shared->count++] = a->id * 1000 + step;
		wh_fiber_yield();
	}
}

/* Many fibers resumed round-robin interleave exactly in resume order, each
 * keeping its own progress on its own stack, and all finish. */
static void test_many_fibers_interleaved(void **state)
{
	(void)state;
	static struct many shared;
	struct many_arg args[MANY_FIBERS];
	struct wh_fiber *f[MANY_FIBERS];

	memset(&shared, 0, sizeof shared);
	for (int i = 0; i < MANY_FIBERS; i++) {
		args[i].shared = &shared;
		args[i].id = i;
		assert_int_equal(wh_fiber_create(&f[i], 64 * KIB, many_fiber,
						 &args[i]),
				 0);
	}
	/* A prefetch before each resume (fresh or parked) changes nothing. */
	for (int round = 0; round < MANY_STEPS; round++)
		for (int i = 0; i < MANY_FIBERS; i++) {
			wh_fiber_prefetch(f[i]);
			wh_fiber_resume(f[i]);
		}
	for (int i = 0; i < MANY_FIBERS; i++) {
		assert_false(wh_fiber_is_finished(f[i]));
		wh_fiber_resume(f[i]); /* leaves the loop and returns */
		assert_true(wh_fiber_is_finished(f[i]));
	}
	assert_int_equal(shared.count, MANY_FIBERS * MANY_STEPS);
	for (int k = 0; k < shared.count; k++)
		assert_int_equal(shared.log[k],
				 (k % MANY_FIBERS) * 1000 + k / MANY_FIBERS);
	for (int i = 0; i < MANY_FIBERS; i++)
		wh_fiber_destroy(f[i]);
}

static void count_runs_fiber(void *arg)
{
	int *runs = arg;
	(*runs)++;
}

/* A fiber whose function returns at once is finished after one resume and
 * ran exactly once; a never-resumed fiber can be destroyed. */
static void test_fiber_finishing(void **state)
{
	(void)state;
	struct wh_fiber *f = NULL, *unused = NULL;
	int runs = 0;

	assert_int_equal(wh_fiber_create(&f, 0, count_runs_fiber, &runs), 0);
	assert_int_equal(runs, 0); /* creating does not run it */
	assert_false(wh_fiber_is_finished(f));
	wh_fiber_resume(f);
	assert_int_equal(runs, 1);
	assert_true(wh_fiber_is_finished(f));
	assert_null(wh_fiber_current());
	wh_fiber_destroy(f);

	assert_int_equal(wh_fiber_create(&unused, 0, count_runs_fiber, &runs),
			 0);
	wh_fiber_destroy(unused);
	assert_int_equal(runs, 1);
}

static void yield_forever_fiber(void *arg)
{
	int *yields = arg;
	for (;;) {
		(*yields)++;
		wh_fiber_yield();
	}
}

/* A fiber parked mid-function can be destroyed, and fibers created
 * afterwards (possibly on the same addresses) run normally. */
static void test_destroy_parked_fiber(void **state)
{
	(void)state;
	int yields = 0;

	for (int round = 0; round < 50; round++) {
		struct wh_fiber *f = NULL;
		assert_int_equal(
			wh_fiber_create(&f, 0, yield_forever_fiber, &yields),
			0);
		wh_fiber_resume(f);
		wh_fiber_resume(f);
		assert_false(wh_fiber_is_finished(f));
		wh_fiber_destroy(f);
	}
	assert_int_equal(yields, 100);
}

/* Stack sizes are rounded up to whole pages and at least the minimum. */
static void test_stack_size_rounding(void **state)
{
	(void)state;
	size_t page = page_bytes();
	struct wh_fiber *f = NULL;

	assert_int_equal(wh_fiber_create(&f, 0, count_runs_fiber, NULL), 0);
	assert_int_equal(wh_fiber_stack_bytes(f), WH_FIBER_STACK_MIN);
	wh_fiber_destroy(f);
	assert_int_equal(wh_fiber_create(&f, WH_FIBER_STACK_MIN + 1,
					 count_runs_fiber, NULL),
			 0);
	assert_int_equal(wh_fiber_stack_bytes(f), WH_FIBER_STACK_MIN + page);
	wh_fiber_destroy(f);
	assert_int_equal(wh_fiber_create(&f, WH_FIBER_STACK_DEFAULT,
					 count_runs_fiber, NULL),
			 0);
	assert_int_equal(wh_fiber_stack_bytes(f), WH_FIBER_STACK_DEFAULT);
	wh_fiber_destroy(f);
}

/* ------------------------------------------------------------------------
 * Stack depth and guard page
 * ---------------------------------------------------------------------- */

struct deep {
	uintptr_t top;        /* frame address at the fiber's entry */
	size_t target_bytes;  /* recurse until this much stack is used */
	size_t max_used;      /* deepest use observed */
	unsigned max_level;   /* deepest recursion level */
	uint64_t checksum;    /* sum of every frame's buffer, verified */
};

#define DEEP_FRAME_BYTES 1024u
#define DEEP_LEVEL_MAX 100000u

/* Each level fills a buffer, recurses, then sums the buffer: a frame
 * clobbered by deeper levels (or a too-small stack) changes the sum. */
__attribute__((noinline)) static uint64_t deep_recurse(struct deep *d,
							unsigned level)
{
	volatile unsigned char buf[DEEP_FRAME_BYTES];
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uint64_t sum = 0;

	for (unsigned i = 0; i < DEEP_FRAME_BYTES; i++)
		buf[i] = (unsigned char)(level + i);
	size_t used = d->top - here;
	if (used > d->max_used)
		d->max_used = used;
	if (level > d->max_level)
		d->max_level = level;
	if (used < d->target_bytes && level < DEEP_LEVEL_MAX)
		sum = deep_recurse(d, level + 1);
	for (unsigned i = 0; i < DEEP_FRAME_BYTES; i++)
		sum += buf[i];
	return sum;
}

static void deep_fiber(void *arg)
{
	struct deep *d = arg;

	d->top = (uintptr_t)__builtin_frame_address(0);
	d->checksum = deep_recurse(d, 0);
}

/* Recursion using most (at least 192 KiB) of a 256 KiB stack works and
 * every frame keeps its contents. */
static void test_deep_recursion(void **state)
{
	(void)state;
	struct deep d = {.target_bytes = 200 * KIB};
	struct wh_fiber *f = NULL;

	assert_int_equal(wh_fiber_create(&f, 256 * KIB, deep_fiber, &d), 0);
	wh_fiber_resume(f);
	assert_true(wh_fiber_is_finished(f));
	assert_true(d.max_used >= 192 * KIB);
	assert_true(d.max_used < 256 * KIB);

	uint64_t expected = 0;
	for (unsigned level = 0; level <= d.max_level; level++)
		for (unsigned i = 0; i < DEEP_FRAME_BYTES; i++)
			expected += (unsigned char)(level + i);
	assert_int_equal(d.checksum, expected);
	wh_fiber_destroy(f);
}

static void where_fiber(void *arg)
{
	uintptr_t *where = arg;
	*where = (uintptr_t)__builtin_frame_address(0);
}

/* Directly below the fiber's read-write stack lies an inaccessible
 * (---p) mapping of at least one page: the guard. */
static void test_guard_page_mapped(void **state)
{
	(void)state;
	uintptr_t where = 0, lo = 0, hi = 0, glo = 0, ghi = 0;
	char perms[5] = {0}, gperms[5] = {0};
	struct wh_fiber *f = NULL;

	assert_int_equal(wh_fiber_create(&f, 128 * KIB, where_fiber, &where),
			 0);
	wh_fiber_resume(f);
	assert_true(where != 0);
	assert_true(maps_find(where, false, &lo, &hi, perms));
	assert_true(perms[0] == 'r' && perms[1] == 'w');
	/* The stack mapping may merge with a neighbour above it, never
	 * below: the guard is there. */
	assert_true(where - lo < wh_fiber_stack_bytes(f));
	assert_true(maps_find(lo, true, &glo, &ghi, gperms));
	assert_string_equal(gperms, "---p");
	assert_true(ghi - glo >= page_bytes());
	wh_fiber_destroy(f);
}

/* The stack mapping holding addr, from /proc/self/smaps: its resident KiB
 * and whether it is marked "nr" (MAP_NORESERVE). False when not found. */
static bool smaps_stack(uintptr_t addr, unsigned long *rss_kib, bool *noreserve)
{
	FILE *fp = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;

	assert_non_null(fp);
	while (fgets(line, sizeof line, fp) != NULL) {
		unsigned long a = 0, b = 0;
		char dash;
		if (sscanf(line, "%lx%c%lx ", &a, &dash, &b) == 3 && dash == '-') {
			if (found)
				break; /* past the block of interest */
			in = a <= addr && addr < b;
			continue;
		}
		if (!in)
			continue;
		if (strncmp(line, "Rss:", 4) == 0)
			*rss_kib = strtoul(line + 4, NULL, 10);
		if (strncmp(line, "VmFlags:", 8) == 0) {
			*noreserve = strstr(line, " nr") != NULL;
			found = true;
		}
	}
	fclose(fp);
	return found;
}

/* A stack is reserved, not committed, and touched lazily: a 1 MiB stack
 * whose fiber ran a little holds a few pages, and its mapping is marked
 * MAP_NORESERVE (so a thousand of them do not count against the commit
 * limit). */
static void test_stack_reserved_lazily(void **state)
{
	(void)state;
	uintptr_t where = 0;
	unsigned long rss_kib = ~0ul;
	bool noreserve = false;
	struct wh_fiber *f = NULL;

	assert_int_equal(wh_fiber_create(&f, 1024 * KIB, where_fiber, &where), 0);
	wh_fiber_resume(f);
	assert_true(where != 0);
	assert_true(smaps_stack(where, &rss_kib, &noreserve));
	assert_true(noreserve);
	assert_true(rss_kib <= 64);
	wh_fiber_destroy(f);
}

static volatile uintptr_t guard_lo; /* guard page of the overflowing fiber */
static volatile uintptr_t guard_hi;

static void on_segv(int sig, siginfo_t *info, void *ucontext)
{
	(void)sig;
	(void)ucontext;
	uintptr_t a = (uintptr_t)info->si_addr;
	_exit(a >= guard_lo && a < guard_hi ? 42 : 43);
}

__attribute__((noinline)) static uint64_t overflow_recurse(unsigned level)
{
	volatile unsigned char buf[512];

	for (unsigned i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)level;
	/* Not a tail call: the sum needs this frame after the callee. */
	uint64_t sum = level < DEEP_LEVEL_MAX ? overflow_recurse(level + 1) : 0;
	return sum + buf[level % sizeof buf];
}

static void overflow_fiber(void *arg)
{
	(void)arg;
	size_t page = page_bytes();
	uintptr_t where = (uintptr_t)__builtin_frame_address(0);

	/* The entry frames sit within the top page of the stack, so rounding
	 * up gives the stack's top; its bottom follows from its size. The
	 * guard is computed from the fiber's geometry, not from the maps, so
	 * a missing guard (stack mapping reaching lower) is noticed. */
	uintptr_t top = (where + page) & ~(uintptr_t)(page - 1);
	uintptr_t lo = top - wh_fiber_stack_bytes(wh_fiber_current());
	guard_lo = lo - page;
	guard_hi = lo;
	overflow_recurse(0);
	_exit(45); /* the stack did not run out: impossible */
}

static void overflow_child(void)
{
	static unsigned char alt_stack[64 * 1024];
	stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack};
	struct sigaction sa;
	struct wh_fiber *f = NULL;

	if (sigaltstack(&ss, NULL) != 0)
		_exit(46);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) != 0)
		_exit(47);
	if (wh_fiber_create(&f, WH_FIBER_STACK_MIN, overflow_fiber, NULL) != 0)
		_exit(48);
	wh_fiber_resume(f);
}

/* Overflowing a fiber stack faults inside its guard page (the forked child
 * exits 42 from its SIGSEGV handler) instead of running past it. */
static void test_guard_page_stops_overflow(void **state)
{
	(void)state;
	char err[4096];
	int status = run_in_child(overflow_child, err, sizeof err);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 42);
}

/* ------------------------------------------------------------------------
 * Registers and floating point across switches
 * ---------------------------------------------------------------------- */

/* Overwrite every callee-saved general register except rbp (which the
 * compiler may need as frame pointer). Whoever relied on them must get them
 * back from the switch. */
static inline void clobber_callee_saved(void)
{
#if defined(__x86_64__)
	__asm__ volatile("movabsq $0x5a5a5a5a5a5a5a5a, %%rbx\n\t"
			 "movabsq $0x1212121212121212, %%r12\n\t"
			 "movabsq $0x1313131313131313, %%r13\n\t"
			 "movabsq $0x1414141414141414, %%r14\n\t"
			 "movabsq $0x1515151515151515, %%r15\n\t"
			 :
			 :
			 : "rbx", "r12", "r13", "r14", "r15");
#endif
}

static void clobber_fiber(void *arg)
{
	int *rounds = arg;

	for (int i = 0; i < *rounds; i++) {
		clobber_callee_saved();
		wh_fiber_yield();
	}
}

#define MIX_ROUNDS 1000

/* The arithmetic main keeps live across resumes; also run without any
 * fiber to get the expected values. */
static void main_mix(uint64_t seed, bool with_fiber, struct wh_fiber *f,
		     uint64_t out[6])
{
	uint64_t a = seed, b = seed * 3, c = seed * 5;
	uint64_t d = seed * 7, e = seed * 11, g = seed * 13;

	for (int i = 0; i < MIX_ROUNDS; i++) {
		if (with_fiber)
			wh_fiber_resume(f);
		a += 1;
		b = b * 3 + a;
		c ^= b >> 3;
		d += c;
		e -= d;
		g = g * 5 + e;
	}
	out[0] = a, out[1] = b, out[2] = c;
	out[3] = d, out[4] = e, out[5] = g;
}

/* Main's values held in callee-saved registers survive resuming a fiber
 * that overwrites those registers before every yield. */
static void test_main_registers_preserved(void **state)
{
	(void)state;
	volatile uint64_t seed_source = 0x0123456789abcdefULL;
	uint64_t seed = seed_source;
	uint64_t got[6], expected[6];
	int rounds = MIX_ROUNDS;
	struct wh_fiber *f = NULL;

	assert_int_equal(wh_fiber_create(&f, 0, clobber_fiber, &rounds), 0);
	main_mix(seed, true, f, got);
	main_mix(seed, false, NULL, expected);
	for (int i = 0; i < 6; i++)
		assert_int_equal(got[i], expected[i]);
	wh_fiber_destroy(f);
}

struct accumulate {
	bool yield;        /* false: compute the expected values directly */
	int rounds;        /* iterations, one yield each */
	uint64_t seed;     /* distinct per fiber */
	uint64_t ints[4];  /* integer accumulators at the end */
	double doubles[4]; /* floating-point accumulators at the end */
};

static void accumulate_fn(void *arg)
{
	struct accumulate *acc = arg;
	uint64_t x0 = acc->seed, x1 = acc->seed ^ 0xffff, x2 = 3, x3 = 4;
	double d0 = 0.5 + (double)(acc->seed % 7), d1 = 1.25, d2 = -3.0;
	double d3 = 1e-3;

	for (int i = 0; i < acc->rounds; i++) {
		x0 = x0 * 6364136223846793005ULL + 1442695040888963407ULL;
		x1 += x0 >> 7;
		x2 ^= x1 * 31;
		x3 += x2 + (uint64_t)i;
		d0 += 0.1;
		d1 *= 1.0001;
		d2 -= d0 * 0.5;
		d3 += d1 / (double)(i + 1);
		if (acc->yield)
			wh_fiber_yield();
	}
	acc->ints[0] = x0, acc->ints[1] = x1;
	acc->ints[2] = x2, acc->ints[3] = x3;
	acc->doubles[0] = d0, acc->doubles[1] = d1;
	acc->doubles[2] = d2, acc->doubles[3] = d3;
}

#define ACC_FIBERS 4
#define ACC_ROUNDS 500

/* Integer and double accumulators of several interleaved fibers survive
 * their yields bit for bit, while main clobbers callee-saved registers and
 * does floating-point work between resumes. */
static void test_fiber_state_preserved(void **state)
{
	(void)state;
	struct accumulate acc[ACC_FIBERS], expected[ACC_FIBERS];
	struct wh_fiber *f[ACC_FIBERS];
	volatile double noise = 0.0;

	for (int k = 0; k < ACC_FIBERS; k++) {
		memset(&acc[k], 0, sizeof acc[k]);
		acc[k].yield = true;
		acc[k].rounds = ACC_ROUNDS;
		acc[k].seed = 1000003u * (uint64_t)(k + 1);
		expected[k] = acc[k];
		expected[k].yield = false;
		accumulate_fn(&expected[k]);
		assert_int_equal(
			wh_fiber_create(&f[k], 0, accumulate_fn, &acc[k]), 0);
	}
	for (int round = 0; round <= ACC_ROUNDS; round++) {
		for (int k = 0; k < ACC_FIBERS; k++) {
			clobber_callee_saved();
			noise = noise * 0.5 + 3.75 / (double)(round + k + 1);
			wh_fiber_resume(f[k]);
		}
	}
	for (int k = 0; k < ACC_FIBERS; k++) {
		assert_true(wh_fiber_is_finished(f[k]));
		for (int i = 0; i < 4; i++) {
			assert_int_equal(acc[k].ints[i], expected[k].ints[i]);
			assert_memory_equal(&acc[k].doubles[i],
					    &expected[k].doubles[i],
					    sizeof(double));
		}
		wh_fiber_destroy(f[k]);
	}
}

#if defined(__x86_64__)
/* Rounding-control fields: MXCSR bits 13-14, x87 control word bits 10-11. */
#define MXCSR_RC_MASK 0x6000u
#define MXCSR_RC_UP 0x4000u
#define MXCSR_RC_DOWN 0x2000u
#define FPU_RC_MASK 0x0c00u
#define FPU_RC_UP 0x0800u
#define FPU_RC_DOWN 0x0400u

static uint32_t mxcsr_get(void)
{
	return __builtin_ia32_stmxcsr();
}

static void mxcsr_set(uint32_t v)
{
	__builtin_ia32_ldmxcsr(v);
}

static uint16_t fpu_cw_get(void)
{
	uint16_t cw = 0;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	return cw;
}

static void fpu_cw_set(uint16_t cw)
{
	__asm__ volatile("fldcw %0" : : "m"(cw));
}

struct fp_modes {
	uint32_t mxcsr_after_yield; /* fiber's MXCSR when resumed */
	uint16_t cw_after_yield;    /* fiber's x87 CW when resumed */
};

static void fp_mode_fiber(void *arg)
{
	struct fp_modes *m = arg;
	uint32_t mxcsr = mxcsr_get();
	uint16_t cw = fpu_cw_get();

	mxcsr_set((mxcsr & ~MXCSR_RC_MASK) | MXCSR_RC_UP);
	fpu_cw_set((uint16_t)((cw & ~FPU_RC_MASK) | FPU_RC_UP));
	wh_fiber_yield();
	m->mxcsr_after_yield = mxcsr_get();
	m->cw_after_yield = fpu_cw_get();
	mxcsr_set(mxcsr);
	fpu_cw_set(cw);
}
#endif

/* The MXCSR and x87 control word are per context: a rounding mode set in
 * a fiber does not leak to main, and main's does not leak into the fiber. */
static void test_fp_control_per_context(void **state)
{
	(void)state;
#if defined(__x86_64__)
	struct fp_modes m = {0};
	struct wh_fiber *f = NULL;
	uint32_t mxcsr0 = mxcsr_get();
	uint16_t cw0 = fpu_cw_get();

	assert_int_equal(wh_fiber_create(&f, 0, fp_mode_fiber, &m), 0);
	wh_fiber_resume(f);
	uint32_t mxcsr_main = mxcsr_get();
	uint16_t cw_main = fpu_cw_get();
	/* Main switches to round-down before resuming. */
	mxcsr_set((mxcsr0 & ~MXCSR_RC_MASK) | MXCSR_RC_DOWN);
	fpu_cw_set((uint16_t)((cw0 & ~FPU_RC_MASK) | FPU_RC_DOWN));
	wh_fiber_resume(f);
	uint32_t mxcsr_end = mxcsr_get();
	uint16_t cw_end = fpu_cw_get();
	mxcsr_set(mxcsr0);
	fpu_cw_set(cw0);

	assert_int_equal(mxcsr_main & MXCSR_RC_MASK, mxcsr0 & MXCSR_RC_MASK);
	assert_int_equal(cw_main & FPU_RC_MASK, cw0 & FPU_RC_MASK);
	assert_int_equal(m.mxcsr_after_yield & MXCSR_RC_MASK, MXCSR_RC_UP);
	assert_int_equal(m.cw_after_yield & FPU_RC_MASK, FPU_RC_UP);
	assert_int_equal(mxcsr_end & MXCSR_RC_MASK, MXCSR_RC_DOWN);
	assert_int_equal(cw_end & FPU_RC_MASK, FPU_RC_DOWN);
	assert_true(wh_fiber_is_finished(f));
	wh_fiber_destroy(f);
#else
	skip();
#endif
}

/* ------------------------------------------------------------------------
 * The x86-64 switch primitive itself
 *
 * The C-level register tests above can only see registers that neither
 * wh_fiber_resume() nor wh_fiber_yield() happen to save in their own
 * prologues, which depends on the compiler. Here the switch is driven from
 * assembly: test_switch_marked() loads marks into every callee-saved
 * register (rbp included), switches to a peer that overwrites all of them
 * and switches back, and returns the OR of (register XOR mark), 0 when every
 * register came back intact. The peer's first frame is laid out as
 * fiber_x86_64.S documents, entering through wh__fiber_trampoline.
 * ---------------------------------------------------------------------- */
#if defined(__x86_64__) && defined(__ELF__) && !defined(WH_FIBER_FORCE_UCONTEXT)
#include <sys/mman.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TEST_VALGRIND 1
#endif
#endif

struct switch_pair {
	void *main_sp; /* offset 0: saved by the switch on the main side */
	void *peer_sp; /* offset 8: saved by the switch on the peer side */
};

void wh__fiber_switch(void **save_sp, void *load_sp);
void wh__fiber_trampoline(void);
uint64_t test_switch_marked(struct switch_pair *pair);
void test_switch_peer(struct switch_pair *pair);

__asm__(".text\n"
	".globl test_switch_marked\n"
	".type test_switch_marked, @function\n"
	"test_switch_marked:\n"
	/* Keep our own caller's registers: this is an ordinary function. */
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n" /* 0 mod 16 at the call */
	"	movabsq $0x0b0b0b0b0b0b0b01, %rbp\n"
	"	movabsq $0x0b0b0b0b0b0b0b02, %rbx\n"
	"	movabsq $0x0b0b0b0b0b0b0b03, %r12\n"
	"	movabsq $0x0b0b0b0b0b0b0b04, %r13\n"
	"	movabsq $0x0b0b0b0b0b0b0b05, %r14\n"
	"	movabsq $0x0b0b0b0b0b0b0b06, %r15\n"
	"	movq 8(%rdi), %rsi\n" /* load pair->peer_sp; save into main_sp */
	"	call wh__fiber_switch\n"
	"	xorl %eax, %eax\n"
	"	movabsq $0x0b0b0b0b0b0b0b01, %rcx\n"
	"	xorq %rbp, %rcx\n"
	"	orq %rcx, %rax\n"
	"	movabsq $0x0b0b0b0b0b0b0b02, %rcx\n"
	"	xorq %rbx, %rcx\n"
	"	orq %rcx, %rax\n"
	"	movabsq $0x0b0b0b0b0b0b0b03, %rcx\n"
	"	xorq %r12, %rcx\n"
	"	orq %rcx, %rax\n"
	"	movabsq $0x0b0b0b0b0b0b0b04, %rcx\n"
	"	xorq %r13, %rcx\n"
	"	orq %rcx, %rax\n"
	"	movabsq $0x0b0b0b0b0b0b0b05, %rcx\n"
	"	xorq %r14, %rcx\n"
	"	orq %rcx, %rax\n"
	"	movabsq $0x0b0b0b0b0b0b0b06, %rcx\n"
	"	xorq %r15, %rcx\n"
	"	orq %rcx, %rax\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size test_switch_marked, .-test_switch_marked\n"

	/* Entered by the trampoline with rdi = pair; never returns. */
	".globl test_switch_peer\n"
	".type test_switch_peer, @function\n"
	"test_switch_peer:\n"
	"	pushq %rdi\n" /* 0 mod 16 from here on */
	"1:\n"
	"	movabsq $0x7777777777777771, %rbp\n"
	"	movabsq $0x7777777777777772, %rbx\n"
	"	movabsq $0x7777777777777773, %r12\n"
	"	movabsq $0x7777777777777774, %r13\n"
	"	movabsq $0x7777777777777775, %r14\n"
	"	movabsq $0x7777777777777776, %r15\n"
	"	movq (%rsp), %rax\n"
	"	leaq 8(%rax), %rdi\n" /* save into pair->peer_sp */
	"	movq (%rax), %rsi\n"  /* load pair->main_sp */
	"	call wh__fiber_switch\n"
	"	jmp 1b\n"
	".size test_switch_peer, .-test_switch_peer\n");

/* Every callee-saved register (rbp rbx r12-r15) of the switching side comes
 * back intact from the switch primitive, across repeated round trips to a
 * peer that overwrites all of them. */
static void test_switch_primitive_preserves_registers(void **state)
{
	(void)state;
	size_t bytes = 64 * KIB;
	void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	unsigned char *stack_lo = map;
#ifdef TEST_VALGRIND
	unsigned vg_id = VALGRIND_STACK_REGISTER(stack_lo, stack_lo + bytes);
#endif
	struct switch_pair pair = {0};
	uint64_t *frame = (uint64_t *)(stack_lo + bytes - 80);
	uint16_t cw = 0;

	__asm__ volatile("fnstcw %0" : "=m"(cw));
	frame[0] = (uint64_t)__builtin_ia32_stmxcsr() | ((uint64_t)cw << 32);
	frame[1] = 0;                                         /* r15 */
	frame[2] = 0;                                         /* r14 */
	frame[3] = (uint64_t)(uintptr_t)&test_switch_peer;    /* r13 */
	frame[4] = (uint64_t)(uintptr_t)&pair;                /* r12 */
	frame[5] = 0;                                         /* rbx */
	frame[6] = 0;                                         /* rbp */
	frame[7] = (uint64_t)(uintptr_t)&wh__fiber_trampoline; /* ret */
	frame[8] = 0;
	frame[9] = 0;
	pair.peer_sp = frame;

	uint64_t damage = 0;
	for (int round = 0; round < 3; round++)
		damage |= test_switch_marked(&pair);
	assert_int_equal(damage, 0);
	/* The peer really ran: it parked itself on its own stack. */
	assert_true((unsigned char *)pair.peer_sp > stack_lo);
	assert_true((unsigned char *)pair.peer_sp < stack_lo + bytes);
	assert_true(pair.peer_sp != frame);
#ifdef TEST_VALGRIND
	VALGRIND_STACK_DEREGISTER(vg_id);
#endif
	assert_int_equal(munmap(map, bytes), 0);
}
#else
static void test_switch_primitive_preserves_registers(void **state)
{
	(void)state;
	skip(); /* the portable build has no switch primitive of its own */
}
#endif

/* ------------------------------------------------------------------------
 * Programmer errors stop the program
 * ---------------------------------------------------------------------- */

static void noop_fiber(void *arg)
{
	(void)arg;
}

static void yield_from_main(void)
{
	wh_fiber_yield();
}

static void resume_finished(void)
{
	struct wh_fiber *f = NULL;
	if (wh_fiber_create(&f, 0, noop_fiber, NULL) != 0)
		_exit(2);
	wh_fiber_resume(f);
	wh_fiber_resume(f);
}

/* Without the nesting check the inner fiber's yield would land back in
 * this fiber and the child would exit 0. */
static void nested_resume_fiber(void *arg)
{
	wh_fiber_resume(arg);
	_exit(0);
}

static void nested_resume(void)
{
	static int yields;
	struct wh_fiber *inner = NULL, *outer = NULL;
	if (wh_fiber_create(&inner, 0, yield_forever_fiber, &yields) != 0 ||
	    wh_fiber_create(&outer, 0, nested_resume_fiber, inner) != 0)
		_exit(2);
	wh_fiber_resume(outer);
}

static void destroy_self_fiber(void *arg)
{
	(void)arg;
	wh_fiber_destroy(wh_fiber_current());
}

static void destroy_running(void)
{
	struct wh_fiber *f = NULL;
	if (wh_fiber_create(&f, 0, destroy_self_fiber, NULL) != 0)
		_exit(2);
	wh_fiber_resume(f);
}

static void harmless(void)
{
	struct wh_fiber *f = NULL;
	if (wh_fiber_create(&f, 0, noop_fiber, NULL) != 0)
		_exit(2);
	wh_fiber_resume(f);
	wh_fiber_destroy(f);
}

/* Yield from main, resuming a finished fiber, resuming from inside a fiber
 * (nesting) and destroying the running fiber all stop the program; the
 * harmless control proves the harness itself does not abort. */
static void test_misuse_asserts(void **state)
{
	(void)state;
	char err[4096];
	int status = run_in_child(harmless, err, sizeof err);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(dies_by_assertion(yield_from_main, "f != NULL"));
	assert_true(dies_by_assertion(resume_finished, "!f->finished"));
	assert_true(dies_by_assertion(nested_resume,
				      "fiber_thread.current == NULL"));
	assert_true(dies_by_assertion(destroy_running,
				      "fiber_thread.current != f"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_pong_order),
		cmocka_unit_test(test_many_fibers_interleaved),
		cmocka_unit_test(test_fiber_finishing),
		cmocka_unit_test(test_destroy_parked_fiber),
		cmocka_unit_test(test_stack_size_rounding),
		cmocka_unit_test(test_deep_recursion),
		cmocka_unit_test(test_guard_page_mapped),
		cmocka_unit_test(test_stack_reserved_lazily),
		cmocka_unit_test(test_guard_page_stops_overflow),
		cmocka_unit_test(test_main_registers_preserved),
		cmocka_unit_test(test_fiber_state_preserved),
		cmocka_unit_test(test_fp_control_per_context),
		cmocka_unit_test(test_switch_primitive_preserves_registers),
		cmocka_unit_test(test_misuse_asserts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
