/*
 * sched.c - seeded discrete-event scheduler (see sched.h for the model).
 *
 * Invariants:
 * - `pending` holds exactly the submitted, unfinished completions, in seq
 *   order (submission appends; a pick or sched_cancel unlinks), and
 *   pending_count is its length: every change goes through this file.
 * - now_us never decreases.
 * - Every decision depends only on the seeded streams, seq order and due
 *   times: the same seed and the same submissions give the same picks.
 * - With a tape, picks holds one logged pick per step (steps == its
 *   count at every return of sched_pick), and follow_next <= follow_count.
 * The hot loop allocates nothing: the candidate buffer (pending_max
 * entries) and the PCT tables are sized at init.
 */
#include "sched.h"

#include "tape.h"

#include <string.h>

static const char *const strategy_names[] = {
	[SCHED_RANDOM] = "random",
	[SCHED_RR] = "rr",
	[SCHED_PCT] = "pct",
};

const char *sched_strategy_name(enum sched_strategy s)
{
	WH_ASSERT((unsigned)s < sizeof strategy_names / sizeof strategy_names[0]);
	return strategy_names[s];
}

int sched_strategy_parse(const char *s)
{
	for (unsigned i = 0; i < sizeof strategy_names / sizeof strategy_names[0]; i++)
		if (strcmp(s, strategy_names[i]) == 0)
			return (int)i;
	return -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

void sched_init(struct sched *s, const struct sched_config *cfg)
{
	WH_ASSERT(cfg->owner_count > 0);
	WH_ASSERT(cfg->owner_count <= SCHED_MAX_OWNERS);
	memset(s, 0, sizeof *s);
	s->cfg = *cfg;
	if (s->cfg.pct_depth == 0)
		s->cfg.pct_depth = 1;
	if (s->cfg.pct_steps_estimate == 0)
		s->cfg.pct_steps_estimate = 1;
	wh_queue_init(&s->pending);
	s->next_seq = 1;
	s->last_owner = -1;
	if (s->cfg.pending_max == 0)
		s->cfg.pending_max = cfg->owner_count + 8;
	s->cand = wh_calloc(s->cfg.pending_max, sizeof *s->cand);
	/* Picks and latencies are on the tape as what happened (sched.h):
	 * their streams draw untaped; the log and the per-owner tracks are
	 * attached here. */
	wh_prng_seed(&s->pick_rng, cfg->seed, WH_STREAM_SCHED);
	wh_prng_seed(&s->latency_rng, cfg->seed, WH_STREAM_LATENCY);
	wh_prng_seed_taped(&s->pct_rng, cfg->seed, WH_STREAM_PCT, cfg->tape);
	if (cfg->tape != NULL) {
		struct wh_track *tr = wh_tape_track(cfg->tape, WH_STREAM_PICKS);
		WH_ASSERT(tr->cursor == 0);
		/* The loaded log is followed from a copy; the track itself
		 * records the picks this run makes. */
		if (tr->replay_count > 0) {
			s->follow_count = tr->replay_count;
			s->follow = wh_malloc(s->follow_count * sizeof *s->follow);
			memcpy(s->follow, tr->values, s->follow_count * sizeof *s->follow);
		}
		tr->count = tr->cursor = tr->replay_count = 0;
		s->picks = tr;
		s->latency_tracks = wh_calloc(cfg->owner_count, sizeof *s->latency_tracks);
		for (uint32_t i = 0; i < cfg->owner_count; i++)
			s->latency_tracks[i] =
				wh_tape_track(cfg->tape, WH_STREAM_LATENCY_CONN + i);
	}

	/* PCT: owners get distinct initial priorities d..d+n-1 in a random
	 * permutation; change point i (1-based) lowers the running owner to
	 * d-i, below every initial priority. */
	uint32_t n = s->cfg.owner_count, d = s->cfg.pct_depth;
	s->pct_priority = wh_calloc(n, sizeof *s->pct_priority);
	for (uint32_t i = 0; i < n; i++)
		s->pct_priority[i] = d + i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)wh_prng_below(&s->pct_rng, (uint64_t)i + 1);
		uint32_t t = s->pct_priority[i];
		s->pct_priority[i] = s->pct_priority[j];
		s->pct_priority[j] = t;
	}
	s->pct_change_at = wh_calloc(d, sizeof *s->pct_change_at);
	for (uint32_t i = 0; i + 1 < d; i++)
		s->pct_change_at[i] =
			1 + wh_prng_below(&s->pct_rng, s->cfg.pct_steps_estimate);
	qsort(s->pct_change_at, d - 1, sizeof *s->pct_change_at, cmp_u64);
}

void sched_free(struct sched *s)
{
	free(s->pct_priority);
	free(s->pct_change_at);
	free(s->cand);
	free(s->follow);
	free(s->latency_tracks);
	s->cand = NULL;
	s->follow = NULL;
	s->latency_tracks = NULL;
	s->pct_priority = NULL;
	s->pct_change_at = NULL;
}

static uint64_t latency_draw(struct sched *s, enum wh_op_kind kind);

uint64_t sched_latency_us(struct sched *s, enum wh_op_kind kind, int owner)
{
	if (s->latency_tracks == NULL)
		return latency_draw(s, kind);
	/* The shared stream draws; the value is filed under (or, replaying,
	 * taken from) the owner's own track. */
	WH_ASSERT(owner >= 0);
	WH_ASSERT((uint32_t)owner < s->cfg.owner_count);
	WH_ASSERT(s->latency_rng.track == NULL);
	s->latency_rng.track = s->latency_tracks[owner];
	uint64_t us = latency_draw(s, kind);
	s->latency_rng.track = NULL;
	return us;
}

static uint64_t latency_draw(struct sched *s, enum wh_op_kind kind)
{
	struct wh_prng *r = &s->latency_rng;
	/* Heavy tail: a connection must sometimes stay parked inside one call
	 * while others run whole transactions. */
	uint32_t stall = s->cfg.stall_per_mille ? s->cfg.stall_per_mille : 10;
	if (wh_prng_chance(r, stall, 1000))
		return 1000 + wh_prng_below(r, 9000);
	switch (kind) {
	case WH_OP_SYNC:
		return 50 + wh_prng_below(r, 200);
	case WH_OP_WRITE:
	case WH_OP_TRUNCATE:
		return 5 + wh_prng_below(r, 30);
	case WH_OP_READ:
		return 2 + wh_prng_below(r, 20);
	case WH_OP_THINK:
		return wh_prng_below(r, 50);
	default:
		return 1 + wh_prng_below(r, 8);
	}
}

void sched_submit(struct sched *s, struct wh_completion *c, uint64_t delay_us)
{
	WH_ASSERT(c->state == WH_COMP_IDLE);
	WH_ASSERT(wh_queue_empty(&c->link));
	WH_ASSERT(s->pending_count < s->cfg.pending_max);
	wh_completion_start(c);
	c->due_us = s->now_us + delay_us;
	c->seq = s->next_seq++;
	wh_queue_insert_tail(&s->pending, &c->link);
	s->pending_count++;
	s->unlogged_pending += c->unlogged;
}

void sched_cancel(struct sched *s, struct wh_completion *c)
{
	WH_ASSERT(c->seq != 0 && c->seq < s->next_seq); /* submitted here */
	if (wh_completion_is_pending(c) && !wh_queue_empty(&c->link)) {
		WH_ASSERT(s->pending_count > 0);
		wh_queue_remove(&c->link);
		s->pending_count--;
		WH_ASSERT(!c->unlogged || s->unlogged_pending > 0);
		s->unlogged_pending -= c->unlogged;
	}
	wh_completion_cancel(c);
	WH_ASSERT(wh_queue_empty(&c->link));
}

static uint32_t owner_priority(const struct sched *s, int owner)
{
	if (owner < 0 || (uint32_t)owner >= s->cfg.owner_count)
		return 0; /* ownerless work runs last among equals */
	return s->pct_priority[owner];
}

/* The pending completion of owner (each has at most one), or NULL. */
static struct wh_completion *pending_of(struct sched *s, int owner)
{
	struct wh_queue *q;
	WH_QUEUE_FOREACH(q, &s->pending)
	{
		struct wh_completion *c = wh_container_of(q, struct wh_completion, link);
		if (c->owner == owner)
			return c;
	}
	return NULL;
}

/* Note the first divergence from the followed log (sched.h); later ones
 * are consequences of it and are not noted. */
static void note_divergence(struct sched *s, int owner, int logged_kind,
			    const struct wh_completion *pending)
{
	WH_ASSERT(s->follow != NULL);
	if (s->divergence.seen)
		return;
	s->divergence = (struct sched_divergence){
		.seen = true,
		.step = s->steps + 1,
		.now_us = s->now_us,
		.owner = owner,
		.logged_kind = logged_kind,
		.pending_kind = pending != NULL ? (int)pending->kind : -1,
	};
}

/* The next logged pick whose owner has a pending completion, skipping
 * the others; NULL once the log is used up. Strict following ends at the
 * first pick that cannot be made as logged. */
static struct wh_completion *follow_log(struct sched *s)
{
	while (s->follow_next < s->follow_count) {
		uint64_t v = s->follow[s->follow_next++];
		int owner = sched_pick_owner(v);
		struct wh_completion *c = pending_of(s, owner);
		if (c != NULL && c->kind == sched_pick_kind(v))
			return c;
		note_divergence(s, owner, (int)sched_pick_kind(v), c);
		if (s->cfg.follow_strict) {
			s->follow_next = s->follow_count;
			return NULL;
		}
		if (c != NULL)
			return c;
		s->follow_skipped++;
	}
	WH_ASSERT(s->follow_next == s->follow_count);
	if (s->follow != NULL && !s->divergence.seen)
		note_divergence(s, -1, -1, NULL); /* the run outlives the log */
	return NULL;
}

/* Unlink the picked completion and move the clock to its due time
 * (never backwards). */
static void take(struct sched *s, struct wh_completion *c)
{
	wh_queue_remove(&c->link);
	s->pending_count--;
	WH_ASSERT(!c->unlogged || s->unlogged_pending > 0);
	s->unlogged_pending -= c->unlogged;
	if (c->due_us > s->now_us)
		s->now_us = c->due_us;
}

struct wh_completion *sched_pick(struct sched *s)
{
	struct wh_queue *q;
	uint64_t min_due = UINT64_MAX;
	uint32_t count = 0;

	/* Pass 1: the earliest due time; the count is checked, not
	 * recomputed (every change of the queue goes through here). */
	WH_QUEUE_FOREACH(q, &s->pending)
	{
		struct wh_completion *c = wh_container_of(q, struct wh_completion, link);
		WH_ASSERT(c->state == WH_COMP_PENDING);
		if (c->due_us < min_due)
			min_due = c->due_us;
		count++;
	}
	WH_ASSERT_EQ(count, s->pending_count);
	if (count == 0)
		return NULL;
	if (s->unlogged_pending > 0) {
		/* Set-up work first, in submission order, off the log: no
		 * draw, no step (sched.h). Only a run that starts mid-way has
		 * any, so the others never scan for it. */
		struct wh_completion *unlogged = NULL;
		WH_QUEUE_FOREACH(q, &s->pending)
		{
			struct wh_completion *c = wh_container_of(q, struct wh_completion, link);
			if (c->unlogged) {
				unlogged = c;
				break;
			}
		}
		WH_ASSERT(unlogged != NULL);
		take(s, unlogged);
		return unlogged;
	}

	struct wh_completion *chosen = follow_log(s);
	if (chosen != NULL)
		goto picked;

	/* Pass 2: the candidates, in seq order, into the buffer sized at
	 * init (count <= pending_max, asserted at submit). */
	WH_ASSERT(count <= s->cfg.pending_max);
	uint64_t horizon = (min_due > s->now_us ? min_due : s->now_us) +
			   s->cfg.reorder_window_us;
	uint32_t ncand = 0;
	WH_QUEUE_FOREACH(q, &s->pending)
	{
		struct wh_completion *c = wh_container_of(q, struct wh_completion, link);
		if (c->due_us <= horizon)
			s->cand[ncand++] = c;
	}
	WH_ASSERT(ncand > 0);
	WH_ASSERT(ncand <= count);

	switch (s->cfg.strategy) {
	case SCHED_RANDOM:
		chosen = ncand == 1 ? s->cand[0]
				    : s->cand[wh_prng_below(&s->pick_rng, ncand)];
		break;
	case SCHED_RR: {
		/* Smallest cyclic distance from the last owner; the first in
		 * seq order wins a tie within one owner. */
		int64_t best = INT64_MAX;
		int64_t n = (int64_t)s->cfg.owner_count + 1;
		for (uint32_t i = 0; i < ncand; i++) {
			int64_t dist = ((int64_t)s->cand[i]->owner - s->last_owner - 1) % n;
			if (dist < 0)
				dist += n;
			if (dist < best) {
				best = dist;
				chosen = s->cand[i];
			}
		}
		break;
	}
	case SCHED_PCT: {
		uint32_t best = 0;
		for (uint32_t i = 0; i < ncand; i++) {
			uint32_t p = owner_priority(s, s->cand[i]->owner);
			if (chosen == NULL || p > best) {
				best = p;
				chosen = s->cand[i];
			}
		}
		break;
	}
	}
picked:
	WH_ASSERT(chosen != NULL);
	WH_ASSERT(chosen->state == WH_COMP_PENDING);

	s->steps++;
	if (s->cfg.strategy == SCHED_PCT && chosen->owner >= 0 &&
	    (uint32_t)chosen->owner < s->cfg.owner_count) {
		while (s->pct_change_next + 1 < s->cfg.pct_depth &&
		       s->pct_change_at[s->pct_change_next] <= s->steps) {
			s->pct_change_next++;
			s->pct_priority[chosen->owner] =
				s->cfg.pct_depth - s->pct_change_next;
		}
	}
	take(s, chosen);
	s->last_owner = chosen->owner;
	if (s->picks != NULL) {
		wh_track_log(s->picks, sched_pick_encode(chosen->owner, chosen->kind));
		WH_ASSERT_EQ(s->picks->count, s->steps);
	}
	return chosen;
}
