/*
 * test_sched.c - the scheduler's strategies, clock and determinism, driven
 * directly with completions (no SQLite).
 */
#include "test_util.h"

#include <string.h>

#include "sched.h"
#include "tape.h"

#define N 64

static struct wh_completion comps[N];

static void submit_n(struct sched *s, int n, int owners, uint64_t delay)
{
	for (int i = 0; i < n; i++) {
		wh_completion_init(&comps[i], WH_OP_READ, NULL, NULL);
		comps[i].owner = i % owners;
		sched_submit(s, &comps[i], delay);
	}
}

/* Picks come out in a valid order and the clock never goes backwards. */
static void test_clock_monotonic(void **state)
{
	(void)state;
	struct sched s;
	struct sched_config cfg = {.pending_max = N, .seed = 9, .owner_count = 4, .reorder_window_us = 5};
	sched_init(&s, &cfg);
	for (int i = 0; i < N; i++) {
		wh_completion_init(&comps[i], WH_OP_READ, NULL, NULL);
		comps[i].owner = i % 4;
		sched_submit(&s, &comps[i], (uint64_t)(N - i) * 3);
	}
	uint64_t last = 0;
	int picked = 0;
	struct wh_completion *c;
	while ((c = sched_pick(&s)) != NULL) {
		assert_true(s.now_us >= last);
		/* Only completions within the window of the earliest are eligible. */
		assert_true(c->due_us <= s.now_us);
		last = s.now_us;
		wh_completion_complete(c, 0);
		picked++;
	}
	assert_int_equal(picked, N);
	sched_free(&s);
}

/* Reorder window 0: strictly earliest due first. */
static void test_no_window_is_fifo_by_due(void **state)
{
	(void)state;
	struct sched s;
	struct sched_config cfg = {.pending_max = N, .seed = 1, .owner_count = 2, .reorder_window_us = 0};
	sched_init(&s, &cfg);
	for (int i = 0; i < 8; i++) {
		wh_completion_init(&comps[i], WH_OP_READ, NULL, NULL);
		comps[i].owner = i % 2;
		sched_submit(&s, &comps[i], (uint64_t)i);
	}
	for (int i = 0; i < 8; i++) {
		struct wh_completion *c = sched_pick(&s);
		assert_ptr_equal(c, &comps[i]);
		wh_completion_complete(c, 0);
	}
	assert_null(sched_pick(&s));
	sched_free(&s);
}

/* rr cycles through owners in order when all are due together. */
static void test_rr_cycles(void **state)
{
	(void)state;
	struct sched s;
	struct sched_config cfg = {.pending_max = N, .seed = 1, .strategy = SCHED_RR, .owner_count = 4,
				   .reorder_window_us = 10};
	sched_init(&s, &cfg);
	submit_n(&s, 16, 4, 0);
	for (int i = 0; i < 16; i++) {
		struct wh_completion *c = sched_pick(&s);
		assert_int_equal(c->owner, i % 4);
		wh_completion_complete(c, 0);
	}
	sched_free(&s);
}

/* pct with depth 1 (no change points) runs one owner's work to exhaustion
 * before any other: strict priorities. */
static void test_pct_priorities(void **state)
{
	(void)state;
	struct sched s;
	struct sched_config cfg = {.pending_max = N, .seed = 5, .strategy = SCHED_PCT, .pct_depth = 1,
				   .owner_count = 4, .reorder_window_us = 10,
				   .pct_steps_estimate = 100};
	sched_init(&s, &cfg);
	submit_n(&s, 16, 4, 0);
	int order[16];
	for (int i = 0; i < 16; i++) {
		struct wh_completion *c = sched_pick(&s);
		order[i] = c->owner;
		wh_completion_complete(c, 0);
	}
	for (int g = 0; g < 4; g++)
		for (int i = 1; i < 4; i++)
			assert_int_equal(order[g * 4 + i], order[g * 4]);
	sched_free(&s);
}

/* random: same seed, same picks; another seed, another order. */
static void test_random_deterministic(void **state)
{
	(void)state;
	int orders[3][N];
	uint64_t seeds[3] = {11, 11, 12};
	for (int r = 0; r < 3; r++) {
		struct sched s;
		struct sched_config cfg = {.pending_max = N, .seed = seeds[r], .owner_count = N,
					   .reorder_window_us = 100};
		sched_init(&s, &cfg);
		submit_n(&s, N, N, 0);
		for (int i = 0; i < N; i++) {
			struct wh_completion *c = sched_pick(&s);
			orders[r][i] = c->owner;
			wh_completion_complete(c, 0);
		}
		sched_free(&s);
	}
	assert_memory_equal(orders[0], orders[1], sizeof orders[0]);
	assert_memory_not_equal(orders[0], orders[2], sizeof orders[0]);
}

/* A cancelled completion leaves the pending set through the scheduler,
 * which keeps its count (not recounted at the next pick): it is never
 * picked. */
static void test_cancelled_not_picked(void **state)
{
	(void)state;
	struct sched s;
	struct sched_config cfg = {.pending_max = N, .seed = 3, .owner_count = 2,
				   .reorder_window_us = 100};
	sched_init(&s, &cfg);
	submit_n(&s, 4, 2, 0);
	sched_cancel(&s, &comps[2]);
	assert_int_equal(s.pending_count, 3);
	assert_int_equal(comps[2].state, WH_COMP_CANCELLED);
	int seen = 0;
	struct wh_completion *c;
	while ((c = sched_pick(&s)) != NULL) {
		assert_ptr_not_equal(c, &comps[2]);
		wh_completion_complete(c, 0);
		seen++;
	}
	assert_int_equal(seen, 3);
	sched_free(&s);
}

/* Latencies have a heavy tail: some stalls of milliseconds, mostly µs. */
static void test_latency_heavy_tail(void **state)
{
	(void)state;
	struct sched s;
	struct sched_config cfg = {.pending_max = N, .seed = 3, .owner_count = 1};
	sched_init(&s, &cfg);
	int stalls = 0, fast = 0;
	for (int i = 0; i < 10000; i++) {
		uint64_t l = sched_latency_us(&s, WH_OP_READ, 0);
		stalls += l >= 1000;
		fast += l < 50;
	}
	assert_true(stalls > 30 && stalls < 300);
	assert_true(fast > 9000);
	sched_free(&s);
}

/* A tape's pick log is followed: the logged owner runs even when the
 * strategy would pick another (here its completion is not even due
 * first), a logged owner with nothing pending is skipped, the strategy
 * decides once the log is used up, and the track afterwards holds the
 * picks made. Latency draws are filed per owner, and replaying them
 * gives each owner its own values back whatever the order of draws. */
static void test_follow_pick_log(void **state)
{
	(void)state;
	struct wh_tape tape;
	wh_tape_init(&tape);
	struct wh_track *log = wh_tape_track(&tape, WH_STREAM_PICKS);
	wh_track_push(log, sched_pick_encode(2, WH_OP_READ));
	wh_track_push(log, sched_pick_encode(3, WH_OP_READ)); /* nothing pending */
	wh_track_push(log, sched_pick_encode(0, WH_OP_WRITE));
	wh_tape_rewind(&tape);
	struct sched s;
	struct sched_config cfg = {.pending_max = N, .seed = 5, .owner_count = 4, .strategy = SCHED_RR,
				   .tape = &tape};
	sched_init(&s, &cfg);
	for (int i = 0; i < 3; i++) {
		wh_completion_init(&comps[i], WH_OP_READ, NULL, NULL);
		comps[i].owner = i;
		sched_submit(&s, &comps[i], (uint64_t)(i + 1) * 100);
	}
	struct wh_completion *c = sched_pick(&s);
	assert_ptr_equal(c, &comps[2]);
	assert_int_equal(s.now_us, 300);
	wh_completion_complete(c, 0);
	c = sched_pick(&s);
	assert_ptr_equal(c, &comps[0]);
	assert_int_equal(s.follow_skipped, 1);
	wh_completion_complete(c, 0);
	c = sched_pick(&s); /* the log is used up: rr after owner 0 */
	assert_ptr_equal(c, &comps[1]);
	wh_completion_complete(c, 0);
	assert_null(sched_pick(&s));
	const struct wh_track *got = wh_tape_track(&tape, WH_STREAM_PICKS);
	assert_int_equal(got->count, 3);
	assert_int_equal(sched_pick_owner(got->values[0]), 2);
	assert_int_equal(sched_pick_owner(got->values[1]), 0);
	assert_int_equal(sched_pick_kind(got->values[1]), WH_OP_READ);
	assert_int_equal(sched_pick_owner(got->values[2]), 1);

	/* latencies: owner 1 draws, then owner 0; replayed in the other
	 * order, each owner still gets its own first value */
	uint64_t a = sched_latency_us(&s, WH_OP_WRITE, 1);
	uint64_t b = sched_latency_us(&s, WH_OP_WRITE, 0);
	sched_free(&s);
	wh_tape_trim(&tape);
	wh_tape_rewind(&tape);
	sched_init(&s, &cfg);
	assert_int_equal(sched_latency_us(&s, WH_OP_WRITE, 0), b);
	assert_int_equal(sched_latency_us(&s, WH_OP_WRITE, 1), a);
	sched_free(&s);
	wh_tape_free(&tape);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock_monotonic),
		cmocka_unit_test(test_no_window_is_fifo_by_due),
		cmocka_unit_test(test_rr_cycles),
		cmocka_unit_test(test_pct_priorities),
		cmocka_unit_test(test_random_deterministic),
		cmocka_unit_test(test_cancelled_not_picked),
		cmocka_unit_test(test_latency_heavy_tail),
		cmocka_unit_test(test_follow_pick_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
