/*
 * sched.c - seeded discrete-event scheduler (see sched.h for the model).
 *
 * The pending set. heap[0, pending_count) holds exactly the submitted,
 * unfinished completions as a binary min-heap on (due_us, seq): a slot's
 * key is never less than its parent's. Since seqs are unique the key
 * order is total, so the heap's shape depends only on the order of
 * submissions and removals, never on addresses. A pick needs every
 * completion due at or before its horizon; because a parent is due no
 * later than its children, those form a subtree at the top of the heap,
 * which a breadth-first walk from the root collects without visiting
 * more than two non-candidates per candidate. The strategies then decide
 * over the candidates in seq order, as they always have:
 *   random  the k-th smallest seq for k drawn below the candidate count
 *           (found by selection, not a full sort);
 *   rr/pct  the best key, the smallest seq among equal keys.
 * Besides the heap: the unlogged completions in a queue of their own (in
 * seq order: submission appends), and per owner the count of its pending
 * completions and, when there is one, that completion, so that
 * following a pick log finds an owner's work without a scan. (The driver
 * never has more than one per owner; a caller that does, or an owner
 * outside 0..owner_count-1, makes that look-up scan the heap.)
 *
 * Invariants:
 * - every pending submitted completion c is in heap[c->sched_pos], and no
 *   other completion is in the heap (a completion leaving it gets
 *   WH_COMP_NO_POS; completion.c asserts no scheduled one finishes behind
 *   the scheduler's back); every change goes through this file;
 * - owner_pending_count[o] is the number of slots whose owner is o, and
 *   owner_pending[o], when not NULL, is the only one of them;
 * - unlogged_pending is the length of the unlogged queue;
 * - now_us never decreases;
 * - every decision depends only on the seeded streams, seq order and due
 *   times: the same seed and the same submissions give the same picks;
 * - with a tape, picks holds one logged pick per step (steps == its
 *   count at every return of sched_pick), and follow_next <= follow_count.
 * The hot loop allocates nothing: the heap, the candidate buffer
 * (pending_max entries each), the per-owner tables and the PCT tables are
 * sized at init.
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
	wh_queue_init(&s->unlogged);
	s->next_seq = 1;
	s->last_owner = -1;
	if (s->cfg.pending_max == 0)
		s->cfg.pending_max = cfg->owner_count + 8;
	/* Heap indices are uint32_t and WH_COMP_NO_POS is none of them. */
	WH_ASSERT(s->cfg.pending_max < WH_COMP_NO_POS / 2);
	s->heap = wh_calloc(s->cfg.pending_max, sizeof *s->heap);
	s->cand = wh_calloc(s->cfg.pending_max, sizeof *s->cand);
	s->owner_pending = wh_calloc(cfg->owner_count, sizeof *s->owner_pending);
	s->owner_pending_count = wh_calloc(cfg->owner_count, sizeof *s->owner_pending_count);
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
	free(s->heap);
	free(s->cand);
	free(s->owner_pending);
	free(s->owner_pending_count);
	free(s->follow);
	free(s->latency_tracks);
	s->heap = NULL;
	s->owner_pending = NULL;
	s->owner_pending_count = NULL;
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

/* ------------------------------------------------------------------ */
/* The pending heap                                                   */
/* ------------------------------------------------------------------ */

static inline bool slot_before(const struct sched_slot *a, const struct sched_slot *b)
{
	return a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq);
}

/* Put v at index i and tell its completion where it is. */
static inline void heap_put(struct sched *s, uint32_t i, struct sched_slot v)
{
	s->heap[i] = v;
	v.comp->sched_pos = i;
}

/* Place v, meant for index i, where the heap order wants it above i. */
static void heap_sift_up(struct sched *s, uint32_t i, struct sched_slot v)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!slot_before(&v, &s->heap[parent]))
			break;
		heap_put(s, i, s->heap[parent]);
		i = parent;
	}
	heap_put(s, i, v);
}

/* Place v, meant for index i, where the heap order wants it below i. */
static void heap_sift_down(struct sched *s, uint32_t i, struct sched_slot v)
{
	uint32_t n = s->pending_count;
	for (;;) {
		uint32_t child = 2 * i + 1;
		if (child >= n)
			break;
		if (child + 1 < n && slot_before(&s->heap[child + 1], &s->heap[child]))
			child++;
		if (!slot_before(&s->heap[child], &v))
			break;
		heap_put(s, i, s->heap[child]);
		i = child;
	}
	heap_put(s, i, v);
}

/* Add c to the pending set (heap, owner tables, unlogged queue). */
static void pending_add(struct sched *s, struct wh_completion *c)
{
	WH_ASSERT(c->sched_pos == WH_COMP_NO_POS);
	WH_ASSERT(s->pending_count < s->cfg.pending_max);
	struct sched_slot v = {.due_us = c->due_us, .seq = c->seq, .comp = c, .owner = c->owner};
	s->pending_count++;
	heap_sift_up(s, s->pending_count - 1, v);
	if (c->owner >= 0 && (uint32_t)c->owner < s->cfg.owner_count) {
		uint32_t o = (uint32_t)c->owner;
		/* Known only while it is the only one. */
		s->owner_pending[o] = s->owner_pending_count[o] == 0 ? c : NULL;
		s->owner_pending_count[o]++;
	}
	if (c->unlogged) {
		wh_queue_insert_tail(&s->unlogged, &c->link);
		s->unlogged_pending++;
	}
}

/* Take c, which is in the heap, out of the pending set. */
static void pending_remove(struct sched *s, struct wh_completion *c)
{
	uint32_t i = c->sched_pos;
	WH_ASSERT(i < s->pending_count);
	WH_ASSERT(s->heap[i].comp == c);
	int owner = s->heap[i].owner;
	c->sched_pos = WH_COMP_NO_POS;
	uint32_t last = --s->pending_count;
	if (i != last) {
		/* The last slot fills the hole, then moves up or down. */
		struct sched_slot v = s->heap[last];
		if (i > 0 && slot_before(&v, &s->heap[(i - 1) / 2]))
			heap_sift_up(s, i, v);
		else
			heap_sift_down(s, i, v);
	}
	if (owner >= 0 && (uint32_t)owner < s->cfg.owner_count) {
		uint32_t o = (uint32_t)owner;
		WH_ASSERT(s->owner_pending_count[o] > 0);
		WH_ASSERT(s->owner_pending[o] == NULL || s->owner_pending[o] == c);
		s->owner_pending_count[o]--;
		/* One left: which one is looked up when asked (pending_of). */
		s->owner_pending[o] = NULL;
	}
	if (c->unlogged) {
		WH_ASSERT(s->unlogged_pending > 0);
		WH_ASSERT(!wh_queue_empty(&c->link));
		wh_queue_remove(&c->link);
		s->unlogged_pending--;
	}
}

void sched_submit(struct sched *s, struct wh_completion *c, uint64_t delay_us)
{
	WH_ASSERT(c->state == WH_COMP_IDLE);
	WH_ASSERT(wh_queue_empty(&c->link));
	wh_completion_start(c);
	c->due_us = s->now_us + delay_us;
	c->seq = s->next_seq++;
	pending_add(s, c);
	WH_ASSERT(s->heap[c->sched_pos].comp == c);
}

void sched_cancel(struct sched *s, struct wh_completion *c)
{
	WH_ASSERT(c->seq != 0 && c->seq < s->next_seq); /* submitted here */
	/* sched_pick may already have taken it out (a hang ends the run
	 * between the pick and the completion). */
	if (c->sched_pos != WH_COMP_NO_POS) {
		WH_ASSERT(wh_completion_is_pending(c));
		pending_remove(s, c);
	}
	wh_completion_cancel(c);
	WH_ASSERT(c->sched_pos == WH_COMP_NO_POS);
	WH_ASSERT(wh_queue_empty(&c->link));
}

static uint32_t owner_priority(const struct sched *s, int owner)
{
	if (owner < 0 || (uint32_t)owner >= s->cfg.owner_count)
		return 0; /* ownerless work runs last among equals */
	return s->pct_priority[owner];
}

/* The pending completion of owner with the smallest seq, or NULL. The
 * driver's connections have at most one each, which the owner tables
 * know; otherwise the heap is searched. */
static struct wh_completion *pending_of(struct sched *s, int owner)
{
	bool tabled = owner >= 0 && (uint32_t)owner < s->cfg.owner_count;
	if (tabled) {
		uint32_t o = (uint32_t)owner;
		if (s->owner_pending_count[o] == 0)
			return NULL;
		if (s->owner_pending[o] != NULL)
			return s->owner_pending[o];
	}
	const struct sched_slot *best = NULL;
	for (uint32_t i = 0; i < s->pending_count; i++) {
		const struct sched_slot *v = &s->heap[i];
		if (v->owner == owner && (best == NULL || v->seq < best->seq))
			best = v;
	}
	if (best == NULL)
		return NULL;
	WH_ASSERT(!tabled || s->owner_pending_count[owner] > 0);
	if (tabled && s->owner_pending_count[owner] == 1)
		s->owner_pending[owner] = best->comp;
	return best->comp;
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
	pending_remove(s, c);
	if (c->due_us > s->now_us)
		s->now_us = c->due_us;
}

/* ------------------------------------------------------------------ */
/* Candidates                                                         */
/* ------------------------------------------------------------------ */

/* The heap indices of every completion due at or before horizon, into
 * s->cand; returns their count. Breadth-first from the root: a slot due
 * past the horizon has only such slots below it, so its subtree is not
 * entered. */
static uint32_t collect_candidates(struct sched *s, uint64_t horizon)
{
	uint32_t n = s->pending_count, count = 0;
	uint32_t *cand = s->cand;
	WH_ASSERT(n > 0);
	WH_ASSERT(s->heap[0].due_us <= horizon);
	cand[count++] = 0;
	for (uint32_t k = 0; k < count; k++) {
		uint32_t child = 2 * cand[k] + 1;
		for (uint32_t end = child + 2; child < end && child < n; child++)
			if (s->heap[child].due_us <= horizon)
				cand[count++] = child;
	}
	WH_ASSERT(count <= n);
	return count;
}

static inline uint64_t cand_seq(const struct sched *s, uint32_t i)
{
	return s->heap[s->cand[i]].seq;
}

static inline void cand_swap(struct sched *s, uint32_t i, uint32_t j)
{
	uint32_t t = s->cand[i];
	s->cand[i] = s->cand[j];
	s->cand[j] = t;
}

/* The heap index of the candidate whose seq is the k-th smallest (from
 * 0) among cand[0, count): quickselect, median-of-three pivots, and an
 * insertion sort once a range is short. Seqs are unique, so the answer
 * is the one a sort would give, whatever the pivots. */
static uint32_t select_by_seq(struct sched *s, uint32_t count, uint32_t k)
{
	uint32_t lo = 0, hi = count; /* the answer is in [lo, hi) */
	WH_ASSERT(k < count);
	/* Each pass shrinks [lo, hi) by at least one. */
	for (uint32_t pass = 0; hi - lo > 12; pass++) {
		WH_ASSERT(pass < count);
		uint32_t mid = lo + (hi - lo) / 2;
		/* Order lo, mid, hi-1; the median goes to hi-1 as the pivot. */
		if (cand_seq(s, mid) < cand_seq(s, lo))
			cand_swap(s, mid, lo);
		if (cand_seq(s, hi - 1) < cand_seq(s, lo))
			cand_swap(s, hi - 1, lo);
		if (cand_seq(s, mid) < cand_seq(s, hi - 1))
			cand_swap(s, mid, hi - 1);
		uint64_t pivot = cand_seq(s, hi - 1);
		uint32_t store = lo;
		for (uint32_t i = lo; i + 1 < hi; i++)
			if (cand_seq(s, i) < pivot)
				cand_swap(s, i, store++);
		cand_swap(s, store, hi - 1);
		if (k == store)
			return s->cand[k];
		if (k < store)
			hi = store;
		else
			lo = store + 1;
	}
	for (uint32_t i = lo + 1; i < hi; i++)
		for (uint32_t j = i; j > lo && cand_seq(s, j) < cand_seq(s, j - 1); j--)
			cand_swap(s, j, j - 1);
	return s->cand[k];
}

/* The strategy's choice among cand[0, count), as a heap index: the same
 * completion as deciding over the candidates in seq order. */
static uint32_t choose(struct sched *s, uint32_t count)
{
	switch (s->cfg.strategy) {
	case SCHED_RANDOM:
		if (count == 1)
			return s->cand[0];
		return select_by_seq(s, count,
				     (uint32_t)wh_prng_below(&s->pick_rng, count));
	case SCHED_RR: {
		/* Smallest cyclic distance from the last owner; the smallest
		 * seq wins a tie (within one owner). */
		int64_t n = (int64_t)s->cfg.owner_count + 1;
		int64_t best = INT64_MAX;
		uint32_t chosen = s->cand[0];
		for (uint32_t i = 0; i < count; i++) {
			const struct sched_slot *v = &s->heap[s->cand[i]];
			int64_t dist = ((int64_t)v->owner - s->last_owner - 1) % n;
			if (dist < 0)
				dist += n;
			if (dist < best || (dist == best && v->seq < s->heap[chosen].seq)) {
				best = dist;
				chosen = s->cand[i];
			}
		}
		return chosen;
	}
	case SCHED_PCT: {
		/* Highest priority; the smallest seq wins a tie. */
		uint32_t chosen = s->cand[0];
		uint32_t best = owner_priority(s, s->heap[chosen].owner);
		for (uint32_t i = 1; i < count; i++) {
			const struct sched_slot *v = &s->heap[s->cand[i]];
			uint32_t p = owner_priority(s, v->owner);
			if (p > best || (p == best && v->seq < s->heap[chosen].seq)) {
				best = p;
				chosen = s->cand[i];
			}
		}
		return chosen;
	}
	}
	WH_UNREACHABLE();
}

/* ------------------------------------------------------------------ */
/* The pick                                                           */
/* ------------------------------------------------------------------ */

struct wh_completion *sched_pick(struct sched *s)
{
	if (s->pending_count == 0)
		return NULL;
	if (s->unlogged_pending > 0) {
		/* Set-up work first, in submission order, off the log: no
		 * draw, no step (sched.h). Only a run that starts mid-way has
		 * any. */
		WH_ASSERT(!wh_queue_empty(&s->unlogged));
		struct wh_completion *unlogged =
			wh_container_of(s->unlogged.next, struct wh_completion, link);
		WH_ASSERT(unlogged->unlogged);
		WH_ASSERT(unlogged->state == WH_COMP_PENDING);
		take(s, unlogged);
		return unlogged;
	}

	struct wh_completion *chosen = follow_log(s);
	if (chosen == NULL) {
		uint64_t min_due = s->heap[0].due_us;
		uint64_t horizon = (min_due > s->now_us ? min_due : s->now_us) +
				   s->cfg.reorder_window_us;
		uint32_t count = collect_candidates(s, horizon);
		WH_ASSERT(count > 0);
		chosen = s->heap[choose(s, count)].comp;
	}
	WH_ASSERT(chosen != NULL);
	WH_ASSERT(chosen->state == WH_COMP_PENDING);
	WH_ASSERT(chosen->sched_pos < s->pending_count);

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
