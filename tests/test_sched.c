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
	wh_track_push(log, sched_pick_encode(2, WH_OP_READ, 0));
	wh_track_push(log, sched_pick_encode(3, WH_OP_READ, 0)); /* nothing pending */
	wh_track_push(log, sched_pick_encode(0, WH_OP_WRITE, 0));
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

/* One completion of owner `o` of kind k at mark m, submitted due now. */
static void submit_marked(struct sched *s, int i, int o, enum wh_op_kind k, uint32_t m)
{
	wh_completion_init(&comps[i], k, NULL, NULL);
	comps[i].owner = o;
	comps[i].mark = m;
	sched_submit(s, &comps[i], 10);
}

/* A logged pick of the marked-log tests: owner, op kind, mark. */
struct logged {
	int owner;
	enum wh_op_kind kind;
	uint32_t mark;
};

/* Start s (two owners, rr) following a tape whose pick log is `log`. */
static void follow_start(struct sched *s, struct wh_tape *tape, const struct logged *log, size_t n)
{
	wh_tape_init(tape);
	struct wh_track *tr = wh_tape_track(tape, WH_STREAM_PICKS);
	for (size_t i = 0; i < n; i++)
		wh_track_push(tr, sched_pick_encode(log[i].owner, log[i].kind, log[i].mark));
	wh_tape_rewind(tape);
	struct sched_config cfg = {.pending_max = N, .seed = 5, .owner_count = 2, .strategy = SCHED_RR,
				   .tape = tape};
	sched_init(s, &cfg);
}

/* The next pick must be comps[i]; it completes. */
static void expect_pick(struct sched *s, int i)
{
	struct wh_completion *c = sched_pick(s);
	assert_ptr_equal(c, &comps[i]);
	wh_completion_complete(c, 0);
}

/* With marks, an edited run stays aligned with the log at each owner's
 * workload actions: a logged pick for a call the owner no longer makes
 * (it has gone on to its next action) is skipped, and an owner with a
 * call the log does not have (still in an earlier action) runs it at its
 * next logged pick's turn, that pick staying for the call after. Followed
 * by position instead, owner 0's second pick would run its next action's
 * WRITE at once and every later pick would be one call off. */
static void test_follow_marks_resync(void **state)
{
	(void)state;
	const struct logged log[] = {
		{0, WH_OP_READ, sched_mark(true, 1, 0)},
		{0, WH_OP_READ, sched_mark(false, 1, 1)}, /* gone */
		{1, WH_OP_WRITE, sched_mark(true, 1, 0)},
		{0, WH_OP_WRITE, sched_mark(false, 2, 0)},
		{1, WH_OP_READ, sched_mark(false, 2, 0)},
	};
	struct wh_tape tape;
	struct sched s;
	follow_start(&s, &tape, log, 5);
	submit_marked(&s, 0, 0, WH_OP_READ, sched_mark(true, 1, 0));
	submit_marked(&s, 1, 1, WH_OP_WRITE, sched_mark(true, 1, 0));
	expect_pick(&s, 0);
	submit_marked(&s, 2, 0, WH_OP_WRITE, sched_mark(false, 2, 0)); /* action 1 had one call */
	expect_pick(&s, 1); /* owner 0's second logged READ is skipped */
	assert_int_equal(s.follow_skipped, 1);
	submit_marked(&s, 3, 1, WH_OP_READ, sched_mark(false, 1, 0)); /* an extra call in action 1 */
	expect_pick(&s, 2); /* owner 0's WRITE, as logged */
	expect_pick(&s, 3); /* owner 1 catches up at its pick's turn */
	assert_int_equal(s.follow_next, 4); /* ... which stays */
	submit_marked(&s, 4, 1, WH_OP_READ, sched_mark(false, 2, 0));
	expect_pick(&s, 4);
	assert_int_equal(s.follow_next, 5);
	assert_true(s.divergence.seen);
	assert_int_equal(s.divergence.step, 2);
	assert_null(sched_pick(&s));
	/* the new log carries the marks the run made */
	const struct wh_track *got = wh_tape_track(&tape, WH_STREAM_PICKS);
	assert_int_equal(got->count, 5);
	assert_int_equal(sched_pick_mark(got->values[3]), sched_mark(false, 1, 0));
	assert_int_equal(sched_pick_owner(got->values[3]), 1);
	sched_free(&s);
	wh_tape_free(&tape);
}

/* Within one action, calls are matched by op kind and how many of that
 * kind came before: a logged call the run no longer makes is skipped
 * when the run's pending call is logged later in the action (owner 0's
 * WRITE below), and a call logged nowhere in the action runs at the next
 * logged pick's turn, which stays for the call after (owner 0's extra
 * READ). By position, owner 0's SYNC would run at the WRITE's turn,
 * ahead of owner 1, and its extra READ would use up the SYNC's pick. */
static void test_follow_marks_kinds(void **state)
{
	(void)state;
	const struct logged log[] = {
		{0, WH_OP_READ, sched_mark(true, 1, 0)},
		{0, WH_OP_WRITE, sched_mark(false, 1, 0)}, /* gone */
		{1, WH_OP_READ, sched_mark(true, 1, 0)},
		{0, WH_OP_SYNC, sched_mark(false, 1, 0)},
		{0, WH_OP_SYNC, sched_mark(false, 1, 1)},
	};
	struct wh_tape tape;
	struct sched s;
	follow_start(&s, &tape, log, 5);
	submit_marked(&s, 0, 0, WH_OP_READ, sched_mark(true, 1, 0));
	submit_marked(&s, 1, 1, WH_OP_READ, sched_mark(true, 1, 0));
	expect_pick(&s, 0);
	submit_marked(&s, 2, 0, WH_OP_SYNC, sched_mark(false, 1, 0)); /* no WRITE now */
	expect_pick(&s, 1); /* the WRITE's pick is skipped */
	assert_int_equal(s.follow_skipped, 1);
	expect_pick(&s, 2); /* the SYNC at its own pick */
	submit_marked(&s, 3, 0, WH_OP_READ, sched_mark(false, 1, 1)); /* logged nowhere */
	expect_pick(&s, 3);
	assert_int_equal(s.follow_next, 4); /* the second SYNC's pick stays */
	submit_marked(&s, 4, 0, WH_OP_SYNC, sched_mark(false, 1, 1));
	expect_pick(&s, 4);
	assert_int_equal(s.follow_next, 5);
	sched_free(&s);
	wh_tape_free(&tape);
}

/*
 * The heap-based pick against a model of the pick as it was first
 * written: scan every pending completion in submission order for the
 * earliest due time, take those due within the window of it (or of now)
 * in submission order, and let the strategy choose among them. The model
 * draws from its own copy of the pick stream and reads PCT priorities
 * from the scheduler before each pick, so any difference in the
 * candidate set, their order or the number of draws shows up as a
 * different pick. Submissions, cancels, owners (several per owner,
 * ownerless work, owners past the table), windows, delays and the most
 * pending at once (so both of the scheduler's modes) are drawn from a
 * seeded stream;
 * unlogged completions come first in submission order.
 */
#define MODEL_MAX 256

struct model {
	struct wh_completion *pending[MODEL_MAX]; /* in submission order */
	uint32_t count;
	struct wh_prng pick_rng; /* the scheduler's random stream, copied */
	int last_owner;
};

static void model_remove(struct model *m, const struct wh_completion *c)
{
	for (uint32_t i = 0; i < m->count; i++) {
		if (m->pending[i] == c) {
			memmove(&m->pending[i], &m->pending[i + 1],
				(m->count - i - 1) * sizeof m->pending[0]);
			m->count--;
			return;
		}
	}
	fail_msg("completion not pending in the model");
}

static struct wh_completion *model_pick(struct model *m, const struct sched *s)
{
	if (m->count == 0)
		return NULL;
	for (uint32_t i = 0; i < m->count; i++)
		if (m->pending[i]->unlogged)
			return m->pending[i];
	uint64_t min_due = UINT64_MAX;
	for (uint32_t i = 0; i < m->count; i++)
		if (m->pending[i]->due_us < min_due)
			min_due = m->pending[i]->due_us;
	uint64_t horizon = (min_due > s->now_us ? min_due : s->now_us) + s->cfg.reorder_window_us;
	struct wh_completion *cand[MODEL_MAX];
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->count; i++)
		if (m->pending[i]->due_us <= horizon)
			cand[n++] = m->pending[i];
	struct wh_completion *chosen = NULL;
	if (s->cfg.strategy == SCHED_RANDOM) {
		chosen = n == 1 ? cand[0] : cand[wh_prng_below(&m->pick_rng, n)];
	} else if (s->cfg.strategy == SCHED_RR) {
		int64_t best = INT64_MAX, mod = (int64_t)s->cfg.owner_count + 1;
		for (uint32_t i = 0; i < n; i++) {
			int64_t dist = ((int64_t)cand[i]->owner - m->last_owner - 1) % mod;
			if (dist < 0)
				dist += mod;
			if (dist < best) {
				best = dist;
				chosen = cand[i];
			}
		}
	} else {
		uint32_t best = 0;
		for (uint32_t i = 0; i < n; i++) {
			int o = cand[i]->owner;
			uint32_t p = o < 0 || (uint32_t)o >= s->cfg.owner_count ? 0
										: s->pct_priority[o];
			if (chosen == NULL || p > best) {
				best = p;
				chosen = cand[i];
			}
		}
	}
	return chosen;
}

static void test_pick_matches_scan_model(void **state)
{
	(void)state;
	static struct wh_completion pool[MODEL_MAX];
	struct wh_prng gen;
	wh_prng_seed(&gen, 77, 1);
	for (int round = 0; round < 120; round++) {
		uint32_t owners = 1 + (uint32_t)wh_prng_below(&gen, 40);
		/* a third of the rounds few enough to be scanned (sched.c) */
		uint32_t pending_max = round % 3 == 0 ? 1 + (uint32_t)wh_prng_below(&gen, 48)
						      : MODEL_MAX;
		uint32_t live = 1 + (uint32_t)wh_prng_below(&gen, pending_max);
		struct sched s;
		struct sched_config cfg = {
			.pending_max = pending_max,
			.seed = 1000 + (uint64_t)round,
			.strategy = (enum sched_strategy)((round / 3) % 3),
			.pct_depth = 1 + (uint32_t)(round % 4),
			.pct_steps_estimate = 500,
			.owner_count = owners,
			.reorder_window_us = wh_prng_below(&gen, 4) == 0 ? 0 : wh_prng_below(&gen, 300),
		};
		sched_init(&s, &cfg);
		struct model m = {.last_owner = -1};
		wh_prng_seed(&m.pick_rng, cfg.seed, WH_STREAM_SCHED);
		bool unlogged_round = round % 5 == 4;
		/* Every completion of the pool not pending is free for reuse. */
		for (uint32_t i = 0; i < live; i++)
			wh_completion_init(&pool[i], WH_OP_READ, NULL, NULL);
		for (int step = 0; step < 3000; step++) {
			uint64_t what = wh_prng_below(&gen, 10);
			uint32_t i = (uint32_t)wh_prng_below(&gen, live);
			struct wh_completion *c = &pool[i];
			if (what < 5 && c->state != WH_COMP_PENDING) {
				wh_completion_init(c, (enum wh_op_kind)wh_prng_below(&gen, 8), NULL,
						   NULL);
				/* owners in range, some ownerless, and in odd rounds
				 * some past the table */
				int64_t o = wh_prng_range(&gen, -1, (int64_t)owners - (round % 2 == 0));
				c->owner = (int)o;
				c->unlogged = unlogged_round && wh_prng_below(&gen, 8) == 0;
				/* none, at the edge of the window, or any */
				uint64_t pick = wh_prng_below(&gen, 4);
				uint64_t delay = pick == 0   ? 0
						 : pick == 1 ? cfg.reorder_window_us + wh_prng_below(&gen, 3)
						 : wh_prng_below(&gen, 2000);
				sched_submit(&s, c, delay);
				m.pending[m.count++] = c;
			} else if (what == 5 && c->state == WH_COMP_PENDING) {
				model_remove(&m, c);
				sched_cancel(&s, c);
			} else {
				struct wh_completion *want = model_pick(&m, &s);
				struct wh_completion *got = sched_pick(&s);
				assert_ptr_equal(got, want);
				if (got == NULL)
					continue;
				if (!got->unlogged)
					m.last_owner = got->owner;
				model_remove(&m, got);
				assert_int_equal(s.pending_count, m.count);
				wh_completion_complete(got, 0);
			}
		}
		/* Drain: the rest come out as the model says. */
		for (;;) {
			struct wh_completion *want = model_pick(&m, &s);
			struct wh_completion *got = sched_pick(&s);
			assert_ptr_equal(got, want);
			if (got == NULL)
				break;
			if (!got->unlogged)
				m.last_owner = got->owner;
			model_remove(&m, got);
			wh_completion_complete(got, 0);
		}
		assert_int_equal(m.count, 0);
		sched_free(&s);
	}
}

/* The edge of the horizon, where keeping candidates between picks could
 * go wrong (sched.c): a completion submitted due one microsecond past
 * the last horizon is not a candidate while the horizon stays where it
 * was (the earliest due time is still behind now), however soon it
 * would win. Heap mode (more pending than a scan takes), rr. */
static void test_horizon_edge(void **state)
{
	(void)state;
	static struct wh_completion c[4];
	struct sched s;
	struct sched_config cfg = {.pending_max = 128, .seed = 1, .strategy = SCHED_RR,
				   .owner_count = 4, .reorder_window_us = 10};
	sched_init(&s, &cfg);
	assert_false(s.scan_mode);
	const int owner[4] = {0, 2, 3, 1}; /* A, B, D, then C */
	for (int i = 0; i < 3; i++) {
		wh_completion_init(&c[i], WH_OP_READ, NULL, NULL);
		c[i].owner = owner[i];
		sched_submit(&s, &c[i], 0);
	}
	struct wh_completion *got = sched_pick(&s); /* horizon 0 + 10 */
	assert_ptr_equal(got, &c[0]);
	wh_completion_complete(got, 0);
	wh_completion_init(&c[3], WH_OP_READ, NULL, NULL);
	c[3].owner = owner[3]; /* next in rr order after owner 0 */
	sched_submit(&s, &c[3], cfg.reorder_window_us + 1);
	/* The horizon is still 10: owner 1's completion (due 11) waits. */
	const int want[3] = {1, 2, 3};
	for (int i = 0; i < 3; i++) {
		got = sched_pick(&s);
		assert_ptr_equal(got, &c[want[i]]);
		wh_completion_complete(got, 0);
	}
	assert_int_equal(s.now_us, 11);
	assert_null(sched_pick(&s));
	sched_free(&s);
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
		cmocka_unit_test(test_follow_marks_resync),
		cmocka_unit_test(test_follow_marks_kinds),
		cmocka_unit_test(test_pick_matches_scan_model),
		cmocka_unit_test(test_horizon_edge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
