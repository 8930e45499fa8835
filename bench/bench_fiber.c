/*
 * bench_fiber.c - cost of one fiber switch, against an indirect function
 * call measured in the same run.
 *
 * Method: a fiber yields in a loop while the main context resumes it; each
 * resume + yield round trip is two switches, so the cost of one switch is
 * the elapsed time over 2 * round trips. The baseline calls a non-inlinable
 * function through a volatile function pointer the same number of times as
 * there are switches. Each measurement is repeated and the fastest run is
 * kept, which filters out preemption by other processes. Wall-clock time
 * (CLOCK_MONOTONIC) is fine here: benchmarks are outside the simulated path,
 * whose time is simulated.
 *
 * Output: the switch cost in ns with its limit, and the switch/call ratio,
 * which is the figure to compare across machines. Exits 1 if a switch costs
 * more than SWITCH_LIMIT_NS (a WAL transaction makes about 18 VFS calls, so
 * switches must stay far below the cost of the I/O they stand for), 2 if a
 * fiber cannot be created.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "fiber.h"
#include "wh.h"

#define SWITCH_COUNT 10000000u /* switches per timed run */
#define ROUND_TRIPS (SWITCH_COUNT / 2u)
#define WARMUP_ROUND_TRIPS 100000u
#define REPEATS 3
#define SWITCH_LIMIT_NS 500.0

_Static_assert(SWITCH_COUNT % 2u == 0, "a round trip is two switches");

static uint64_t now_ns(void)
{
	struct timespec ts;
	int rc = clock_gettime(CLOCK_MONOTONIC, &ts);

	WH_ASSERT_EQ(rc, 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct ping {
	uint64_t round_trips; /* yields to make before returning */
	uint64_t yields;      /* yields made, checked afterwards */
};

static void ping_fiber(void *arg)
{
	struct ping *p = arg;

	for (uint64_t i = 0; i < p->round_trips; i++) {
		p->yields++;
		wh_fiber_yield();
	}
}

/* Nanoseconds for `round_trips` resume+yield round trips, excluding fiber
 * creation and the final resume that lets the fiber return. Returns 0 if
 * the fiber cannot be created. */
static uint64_t time_round_trips(uint64_t round_trips)
{
	struct ping p = {.round_trips = round_trips, .yields = 0};
	struct wh_fiber *f = NULL;

	if (wh_fiber_create(&f, WH_FIBER_STACK_DEFAULT, ping_fiber, &p) != 0)
		return 0;
	uint64_t start = now_ns();
	for (uint64_t i = 0; i < round_trips; i++)
		wh_fiber_resume(f);
	uint64_t elapsed = now_ns() - start;
	wh_fiber_resume(f); /* leaves the loop and finishes */
	WH_ASSERT(wh_fiber_is_finished(f));
	WH_ASSERT_EQ(p.yields, round_trips);
	wh_fiber_destroy(f);
	return elapsed > 0 ? elapsed : 1;
}

/* The baseline callee: not inlinable, and reached through a volatile
 * pointer so the compiler cannot see the target at the call site. */
__attribute__((noinline)) static void baseline_callee(uint64_t *counter)
{
	(*counter)++;
	__asm__ volatile("" : : : "memory");
}

static void (*volatile baseline_fn)(uint64_t *) = baseline_callee;

static uint64_t time_calls(uint64_t calls)
{
	uint64_t counter = 0;
	uint64_t start = now_ns();

	for (uint64_t i = 0; i < calls; i++)
		baseline_fn(&counter);
	uint64_t elapsed = now_ns() - start;
	WH_ASSERT_EQ(counter, calls);
	return elapsed > 0 ? elapsed : 1;
}

int main(void)
{
	uint64_t best_switch_ns = UINT64_MAX;
	uint64_t best_call_ns = UINT64_MAX;

	if (time_round_trips(WARMUP_ROUND_TRIPS) == 0) {
		perror("bench_fiber: cannot create a fiber");
		return 2;
	}
	for (int r = 0; r < REPEATS; r++) {
		uint64_t s = time_round_trips(ROUND_TRIPS);
		if (s == 0) {
			perror("bench_fiber: cannot create a fiber");
			return 2;
		}
		uint64_t c = time_calls(SWITCH_COUNT);
		if (s < best_switch_ns)
			best_switch_ns = s;
		if (c < best_call_ns)
			best_call_ns = c;
	}

	double switch_ns = (double)best_switch_ns / (double)SWITCH_COUNT;
	double call_ns = (double)best_call_ns / (double)SWITCH_COUNT;
	printf("fiber switch: %.1f ns (limit %.0f ns)\n", switch_ns,
	       SWITCH_LIMIT_NS);
	printf("indirect function call: %.2f ns\n", call_ns);
	printf("fiber switch vs direct function call ratio: %.1f\n",
	       switch_ns / call_ns);
	if (switch_ns > SWITCH_LIMIT_NS) {
		fprintf(stderr,
			"bench_fiber: a fiber switch costs %.1f ns, more than the %.0f ns limit\n",
			switch_ns, SWITCH_LIMIT_NS);
		return 1;
	}
	return 0;
}
