/*
 * sched.c - seeded discrete-event scheduler (see sched.h for the model).
 *
 * Every pending completion has a slot (slots[c->sched_pos]) holding its
 * keys, so that the structures below compare and move slot ids in a few
 * compact arrays and never read the completions. How a pick finds its
 * candidates depends on pending_max, fixed at init:
 *
 * Scan mode (pending_max <= SCHED_SCAN_MAX). order holds the pending
 * slots in seq order, dense (a removal moves the later ones down), and
 * scan_due their due times. A pick scans them as the pick was first
 * written, for the earliest due time and the candidates in seq order
 * (one pass, choose_by_scan_mode), among which the strategy decides.
 *
 * Heap mode (more). Besides order, now with holes:
 *   - due_heap: every pending slot, a binary min-heap on (due_us, seq);
 *     its root gives the earliest due time;
 *   - wait_heap: the slots not yet candidates, the same kind of heap;
 *   - order: every pending slot in seq order (submission appends), with
 *     holes where one left; when it is full it is compacted, which costs
 *     O(its capacity) once per three quarters of it appended, so O(1) per
 *     submission;
 *   - the candidates: a bit per entry of order, and a count per block of
 *     SCHED_CAND_BLOCK entries, so that the k-th candidate in seq order
 *     is found by adding up a few block counts, then popcounts of at
 *     most eight words, then a bit in one word: a few hundred bytes, in
 *     cache (a Fenwick tree was tried: its descent is a chain of
 *     dependent loads over kilobytes, each a likely cache miss with
 *     hundreds of connections' state passing through the cache);
 *   - per class (an owner, or ownerless work) the count of candidates and
 *     a bit in class_bits when it has any; for pct, a bit per priority
 *     held by a class with candidates (prio_bits).
 * Since seqs are unique every order is total, so no structure depends on
 * addresses or slot ids.
 *
 * Why the candidates can be kept rather than recomputed. The horizon H =
 * max(earliest due, now) + window never decreases: now never does; a
 * completion submitted later is due at or after now; and a pick moves now
 * to at least the picked completion's due time, itself at least the
 * earliest, so the earliest due of what remains (and of what is submitted
 * next) is at least the old one or at most now. So the set {due <= H}
 * only grows between picks, except by removals: a submission due at or
 * before the last horizon is a candidate at once, and a strategy pick
 * moves every waiting slot due at or before the new H into the
 * candidates (they stay there until picked or cancelled), and then the
 * candidate set is exactly the set a scan would collect. The strategies
 * decide as a scan in seq order did:
 *   random  the k-th smallest seq, for k drawn below the candidate count;
 *   rr      the first class after the last owner (cyclically, ownerless
 *           work in the place of owner_count), its smallest seq;
 *   pct     the class of the highest priority (classes' priorities are
 *           distinct), its smallest seq.
 * A class's smallest seq is its one candidate when it has one (the
 * driver's case: one completion per connection), else found by a scan;
 * with candidates of odd owners, rr and pct scan as well. Each scan makes
 * the scan's decision over the same set, so it is only slower.
 *
 * Both modes: the unlogged completions in a queue of their own (in seq
 * order: submission appends), and, when a pick log is followed, per owner
 * the count of its pending completions and, when there is one, that
 * completion, so that following the log finds an owner's work without a
 * scan.
 *
 * Invariants:
 * - every pending submitted completion c has the slot c->sched_pos, whose
 *   comp is c, and is in order; no other slot is used (a completion
 *   leaving gets WH_COMP_NO_POS; completion.c asserts no scheduled one
 *   finishes behind the scheduler's back); every change goes through this
 *   file; order lists seqs increasing;
 * - heap mode: every pending slot is in due_heap, and is either a
 *   candidate (cand, marked at its place in order and counted in its
 *   class) or waiting (in wait_heap, due after horizon_us);
 * - every candidate is due at or before horizon_us, and horizon_us never
 *   decreases (asserted at each strategy pick, in both modes);
 * - class_count[k] is the number of candidates of class k, its bit in
 *   class_bits is set exactly when that is not 0, and class_one[k], when
 *   not SCHED_NONE, is the only one of them; under pct, prio_bits has the
 *   bit of class k's priority exactly when class_count[k] is not 0, and
 *   prio_class maps that priority back to k;
 * - while following a pick log (follow set, from init on):
 *   owner_pending_count[o] is the number of pending slots whose owner is
 *   o, and owner_pending[o], when not NULL, is the only one of them
 *   (without a log nothing asks, and they stay zero);
 * - unlogged_pending is the length of the unlogged queue;
 * - now_us never decreases;
 * - every decision depends only on the seeded streams, seq order and due
 *   times: the same seed and the same submissions give the same picks;
 * - with a tape, picks holds one logged pick per step (steps == its
 *   count at every return of sched_pick), and follow_next <= follow_count.
 * The hot loop allocates nothing: every table is sized at init from
 * pending_max, the owner count and the PCT depth.
 */
#include "sched.h"

#include "tape.h"

#include <string.h>

/* Up to this many pending completions (pending_max), the pick scans
 * them all, as it was first written, over a dense array in seq order:
 * for a few dozen, a pass over a few cache lines costs less than
 * keeping the heaps and the bit sets (measured with bank at 16 connections:
 * about 300 instructions a pick against 900). Beyond it, heap mode. The
 * two decide alike (test_sched checks both against the same model). */
#define SCHED_SCAN_MAX 64

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
	/* Slot ids and heap indices are uint32_t; neither SCHED_NONE nor
	 * WH_COMP_NO_POS is one of them. */
	_Static_assert(SCHED_NONE == WH_COMP_NO_POS, "one 'no slot' value");
	WH_ASSERT(s->cfg.pending_max < SCHED_NONE / 2);
	uint32_t slot_count = s->cfg.pending_max;
	s->slots = wh_calloc(slot_count, sizeof *s->slots);
	s->free_slots = wh_calloc(slot_count, sizeof *s->free_slots);
	/* Handed out from the top: slot 0 first (not that it matters). */
	for (uint32_t i = 0; i < slot_count; i++)
		s->free_slots[i] = slot_count - 1 - i;
	s->free_count = slot_count;
	s->scan_mode = slot_count <= SCHED_SCAN_MAX;
	if (s->scan_mode) {
		/* order without holes, its due times, and the scan's
		 * candidate buffer */
		s->order_cap = slot_count;
		s->scan_due = wh_calloc(slot_count, sizeof *s->scan_due);
		s->scan_cand = wh_calloc(slot_count, sizeof *s->scan_cand);
	} else {
		s->due_heap = wh_calloc(slot_count, sizeof *s->due_heap);
		s->wait_heap = wh_calloc(slot_count, sizeof *s->wait_heap);
		/* Room for three quarters of appends between compactions. */
		s->order_cap = SCHED_CAND_BLOCK;
		while (s->order_cap < 4 * slot_count)
			s->order_cap *= 2;
		s->cand_bits = wh_calloc(s->order_cap / 64, sizeof *s->cand_bits);
		s->cand_block_count = wh_calloc(s->order_cap / SCHED_CAND_BLOCK,
						sizeof *s->cand_block_count);
	}
	s->order = wh_calloc(s->order_cap, sizeof *s->order);
	uint32_t classes = cfg->owner_count + 1;
	s->class_count = wh_calloc(classes, sizeof *s->class_count);
	s->class_one = wh_calloc(classes, sizeof *s->class_one);
	for (uint32_t i = 0; i < classes; i++)
		s->class_one[i] = SCHED_NONE;
	s->class_bits = wh_calloc((classes + 63) / 64, sizeof *s->class_bits);
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
			for (uint64_t i = 0; i < s->follow_count && !s->follow_marked; i++)
				s->follow_marked = sched_pick_owner(s->follow[i]) >= 0 &&
						   sched_pick_mark(s->follow[i]) != 0;
			s->follow_txn = wh_calloc(cfg->owner_count, sizeof *s->follow_txn);
			/* Each logged pick's owner's next one, from the end. */
			s->follow_next_same = wh_malloc(s->follow_count * sizeof *s->follow_next_same);
			uint64_t *last = wh_malloc(((size_t)cfg->owner_count + 1) * sizeof *last);
			for (uint32_t o = 0; o <= cfg->owner_count; o++)
				last[o] = s->follow_count;
			for (uint64_t i = s->follow_count; i-- > 0;) {
				int o = sched_pick_owner(s->follow[i]);
				uint32_t k = o >= 0 && (uint32_t)o < cfg->owner_count ? (uint32_t)o
										 : cfg->owner_count;
				s->follow_next_same[i] = last[k];
				last[k] = i;
			}
			free(last);
			s->run_txn = wh_calloc(cfg->owner_count, sizeof *s->run_txn);
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
	/* Priorities run from 0 (ownerless work) to d+n-1. */
	s->prio_limit = d + n;
	s->prio_bits = wh_calloc((s->prio_limit + 63) / 64, sizeof *s->prio_bits);
	s->prio_class = wh_calloc(s->prio_limit, sizeof *s->prio_class);
}

void sched_free(struct sched *s)
{
	free(s->pct_priority);
	free(s->pct_change_at);
	free(s->slots);
	free(s->free_slots);
	free(s->due_heap);
	free(s->wait_heap);
	free(s->order);
	free(s->cand_bits);
	free(s->cand_block_count);
	free(s->scan_cand);
	free(s->scan_due);
	free(s->class_count);
	free(s->class_one);
	free(s->class_bits);
	free(s->prio_bits);
	free(s->prio_class);
	free(s->owner_pending);
	free(s->owner_pending_count);
	free(s->follow);
	free(s->follow_txn);
	free(s->follow_next_same);
	free(s->run_txn);
	free(s->latency_tracks);
	s->slots = NULL;
	s->free_slots = NULL;
	s->due_heap = NULL;
	s->wait_heap = NULL;
	s->order = NULL;
	s->cand_bits = NULL;
	s->cand_block_count = NULL;
	s->scan_cand = NULL;
	s->scan_due = NULL;
	s->class_count = NULL;
	s->class_one = NULL;
	s->class_bits = NULL;
	s->prio_bits = NULL;
	s->prio_class = NULL;
	s->owner_pending = NULL;
	s->owner_pending_count = NULL;
	s->follow = NULL;
	s->follow_txn = NULL;
	s->follow_next_same = NULL;
	s->run_txn = NULL;
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
/* Heaps of slot ids                                                  */
/* ------------------------------------------------------------------ */

/* The two heaps differ only in their array and in the slot field that
 * remembers the index. */
struct heap_ref {
	uint32_t *ids;             /* the heap's array */
	uint32_t *count;           /* its length */
	bool due;                  /* due_heap (due_pos), else wait_pos */
};

static inline struct heap_ref due_heap(struct sched *s)
{
	return (struct heap_ref){.ids = s->due_heap, .count = &s->pending_count, .due = true};
}

static inline struct heap_ref wait_heap(struct sched *s)
{
	return (struct heap_ref){.ids = s->wait_heap, .count = &s->wait_count, .due = false};
}

static inline bool slot_before(const struct sched *s, uint32_t a, uint32_t b)
{
	const struct sched_slot *x = &s->slots[a], *y = &s->slots[b];
	return x->due_us < y->due_us || (x->due_us == y->due_us && x->seq < y->seq);
}

/* Put slot id at index i of h and remember it there. */
static inline void heap_put(struct sched *s, struct heap_ref h, uint32_t i, uint32_t id)
{
	h.ids[i] = id;
	if (h.due)
		s->slots[id].due_pos = i;
	else
		s->slots[id].wait_pos = i;
}

/* Place id, meant for index i, where the order wants it above i. */
static void heap_sift_up(struct sched *s, struct heap_ref h, uint32_t i, uint32_t id)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!slot_before(s, id, h.ids[parent]))
			break;
		heap_put(s, h, i, h.ids[parent]);
		i = parent;
	}
	heap_put(s, h, i, id);
}

/* Place id, meant for index i, where the order wants it below i. */
static void heap_sift_down(struct sched *s, struct heap_ref h, uint32_t i, uint32_t id)
{
	uint32_t n = *h.count;
	for (;;) {
		uint32_t child = 2 * i + 1;
		if (child >= n)
			break;
		if (child + 1 < n && slot_before(s, h.ids[child + 1], h.ids[child]))
			child++;
		if (!slot_before(s, h.ids[child], id))
			break;
		heap_put(s, h, i, h.ids[child]);
		i = child;
	}
	heap_put(s, h, i, id);
}

static void heap_push(struct sched *s, struct heap_ref h, uint32_t id)
{
	WH_ASSERT(*h.count < s->cfg.pending_max);
	(*h.count)++;
	heap_sift_up(s, h, *h.count - 1, id);
}

/* Take the entry at index i out of h. */
static void heap_remove_at(struct sched *s, struct heap_ref h, uint32_t i)
{
	WH_ASSERT(i < *h.count);
	uint32_t last = --(*h.count);
	if (i == last)
		return;
	/* The last entry fills the hole, then moves up or down. */
	uint32_t id = h.ids[last];
	if (i > 0 && slot_before(s, id, h.ids[(i - 1) / 2]))
		heap_sift_up(s, h, i, id);
	else
		heap_sift_down(s, h, i, id);
}

/* ------------------------------------------------------------------ */
/* Seq order and the candidates in it                                 */
/* ------------------------------------------------------------------ */

_Static_assert(SCHED_CAND_BLOCK % 64 == 0, "a block is whole words");

/* Set bits of a word. By hand: the baseline x86-64 has no popcount
 * instruction, and the compiler's fallback is a call. */
static inline uint32_t popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (uint32_t)((x * 0x0101010101010101ULL) >> 56);
}

/* Mark order index i a candidate (on) or not. */
static void cand_mark(struct sched *s, uint32_t i, bool on)
{
	WH_ASSERT(i < s->order_cap);
	uint64_t bit = (uint64_t)1 << (i % 64);
	WH_ASSERT(((s->cand_bits[i / 64] & bit) != 0) == !on);
	if (on) {
		s->cand_bits[i / 64] |= bit;
		s->cand_block_count[i / SCHED_CAND_BLOCK]++;
	} else {
		s->cand_bits[i / 64] &= ~bit;
		s->cand_block_count[i / SCHED_CAND_BLOCK]--;
	}
}

/* The order index of the candidate whose seq is the k-th smallest (from
 * 0): the block by its count, the word by popcounts, then the bit. */
static uint32_t cand_find(const struct sched *s, uint32_t k)
{
	WH_ASSERT(k < s->cand_count);
	uint32_t blocks = s->order_cap / SCHED_CAND_BLOCK, b = 0;
	while (k >= s->cand_block_count[b]) {
		k -= s->cand_block_count[b++];
		WH_ASSERT(b < blocks);
	}
	uint32_t w = b * (SCHED_CAND_BLOCK / 64);
	for (;;) {
		uint32_t n = popcount64(s->cand_bits[w]);
		if (k < n)
			break;
		k -= n;
		w++;
		WH_ASSERT(w < (b + 1) * (SCHED_CAND_BLOCK / 64));
	}
	/* The k-th set bit of the word: whole bytes first, then bits. */
	uint64_t word = s->cand_bits[w];
	uint32_t base = 0;
	for (uint32_t n; k >= (n = popcount64(word & 0xff)); k -= n) {
		word >>= 8;
		base += 8;
	}
	for (; k > 0; k--)
		word &= word - 1; /* drops the lowest set bit */
	WH_ASSERT(word != 0);
	uint32_t i = w * 64 + base + (uint32_t)__builtin_ctzll(word);
	WH_ASSERT(i < s->order_len);
	return i;
}

/* The candidate (slot id) whose seq is the k-th smallest. */
static uint32_t cand_select(const struct sched *s, uint32_t k)
{
	uint32_t id = s->order[cand_find(s, k)];
	WH_ASSERT(id != SCHED_NONE);
	WH_ASSERT(s->slots[id].cand);
	return id;
}

/* Close the holes of order, in place and in order, and count the
 * candidates again. */
static void order_compact(struct sched *s)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i < s->order_len; i++) {
		uint32_t id = s->order[i];
		if (id == SCHED_NONE)
			continue;
		s->order[j] = id;
		s->slots[id].order_pos = j;
		j++;
	}
	WH_ASSERT_EQ(j, s->pending_count);
	s->order_len = j;
	memset(s->cand_bits, 0, s->order_cap / 64 * sizeof *s->cand_bits);
	memset(s->cand_block_count, 0,
	       s->order_cap / SCHED_CAND_BLOCK * sizeof *s->cand_block_count);
	for (uint32_t i = 0; i < j; i++)
		if (s->slots[s->order[i]].cand)
			cand_mark(s, i, true);
}

/* Append slot id (just submitted: the largest seq) to order. */
static void order_append(struct sched *s, uint32_t id)
{
	if (s->order_len == s->order_cap)
		order_compact(s);
	/* Compaction leaves at most pending_max <= order_cap / 4 entries. */
	WH_ASSERT(s->order_len < s->order_cap);
	WH_ASSERT(s->order_len == 0 ||
		  s->order[s->order_len - 1] == SCHED_NONE ||
		  s->slots[s->order[s->order_len - 1]].seq < s->slots[id].seq);
	s->order[s->order_len] = id;
	s->slots[id].order_pos = s->order_len++;
}

/* ------------------------------------------------------------------ */
/* Classes: who has candidates                                        */
/* ------------------------------------------------------------------ */

/* The class of an owner: itself, owner_count for ownerless work, or
 * SCHED_NONE for an odd owner. */
static inline uint32_t class_of(const struct sched *s, int owner)
{
	if (owner >= 0 && (uint32_t)owner < s->cfg.owner_count)
		return (uint32_t)owner;
	return owner == -1 ? s->cfg.owner_count : SCHED_NONE;
}

static uint32_t owner_priority(const struct sched *s, int owner)
{
	if (owner < 0 || (uint32_t)owner >= s->cfg.owner_count)
		return 0; /* ownerless work runs last among equals */
	return s->pct_priority[owner];
}

static inline uint32_t class_priority(const struct sched *s, uint32_t k)
{
	return k < s->cfg.owner_count ? s->pct_priority[k] : 0;
}

static inline void bit_set(uint64_t *bits, uint32_t i, bool on)
{
	if (on)
		bits[i / 64] |= (uint64_t)1 << (i % 64);
	else
		bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* Class k gained or lost its last candidate: its bits follow. */
static void class_mark(struct sched *s, uint32_t k, bool on)
{
	bit_set(s->class_bits, k, on);
	if (s->cfg.strategy == SCHED_PCT) {
		uint32_t p = class_priority(s, k);
		WH_ASSERT(p < s->prio_limit);
		bit_set(s->prio_bits, p, on);
		s->prio_class[p] = k;
	}
}

static void class_add(struct sched *s, uint32_t id)
{
	uint32_t k = class_of(s, s->slots[id].owner);
	if (k == SCHED_NONE) {
		s->odd_count++;
		return;
	}
	/* Known only while it is the only one. */
	s->class_one[k] = s->class_count[k] == 0 ? id : SCHED_NONE;
	if (s->class_count[k]++ == 0)
		class_mark(s, k, true);
}

static void class_remove(struct sched *s, uint32_t id)
{
	uint32_t k = class_of(s, s->slots[id].owner);
	if (k == SCHED_NONE) {
		WH_ASSERT(s->odd_count > 0);
		s->odd_count--;
		return;
	}
	WH_ASSERT(s->class_count[k] > 0);
	WH_ASSERT(s->class_one[k] == SCHED_NONE || s->class_one[k] == id);
	/* One left: which one is looked up when asked (class_first). */
	s->class_one[k] = SCHED_NONE;
	if (--s->class_count[k] == 0)
		class_mark(s, k, false);
}

/* The candidate of class k (which has some) with the smallest seq. */
static uint32_t class_first(struct sched *s, uint32_t k)
{
	WH_ASSERT(s->class_count[k] > 0);
	if (s->class_one[k] != SCHED_NONE)
		return s->class_one[k];
	/* The first in seq order. */
	uint32_t best = SCHED_NONE;
	for (uint32_t i = 0; i < s->order_len && best == SCHED_NONE; i++) {
		uint32_t id = s->order[i];
		if (id != SCHED_NONE && s->slots[id].cand && class_of(s, s->slots[id].owner) == k)
			best = id;
	}
	WH_ASSERT(best != SCHED_NONE);
	if (s->class_count[k] == 1)
		s->class_one[k] = best;
	return best;
}

/* The first class with candidates at or after `from`, cyclically among
 * classes [0, limit). */
static uint32_t bits_next_cyclic(const uint64_t *bits, uint32_t limit, uint32_t from)
{
	uint32_t words = (limit + 63) / 64;
	WH_ASSERT(from < limit);
	/* At most every word once, and the first one twice. */
	for (uint32_t n = 0, w = from / 64; n <= words; n++, w = (w + 1) % words) {
		uint64_t word = bits[w];
		if (n == 0)
			word &= ~(uint64_t)0 << (from % 64);
		if (word != 0)
			return w * 64 + (uint32_t)__builtin_ctzll(word);
	}
	/* The first word again, below `from`. */
	WH_UNREACHABLE();
}

/* The highest set bit below limit. */
static uint32_t bits_highest(const uint64_t *bits, uint32_t limit)
{
	for (uint32_t w = (limit + 63) / 64; w-- > 0;)
		if (bits[w] != 0)
			return w * 64 + 63 - (uint32_t)__builtin_clzll(bits[w]);
	WH_UNREACHABLE();
}

/* ------------------------------------------------------------------ */
/* The pending set                                                    */
/* ------------------------------------------------------------------ */

/* Make a slot (not in the wait heap) a candidate. */
static void make_candidate(struct sched *s, uint32_t id)
{
	struct sched_slot *x = &s->slots[id];
	WH_ASSERT(!x->cand);
	WH_ASSERT(x->wait_pos == SCHED_NONE);
	WH_ASSERT(x->due_us <= s->horizon_us);
	x->cand = true;
	cand_mark(s, x->order_pos, true);
	s->cand_count++;
	class_add(s, id);
}

/* Add c to the pending set: it waits until the horizon reaches it. */
static void pending_add(struct sched *s, struct wh_completion *c)
{
	WH_ASSERT(c->sched_pos == WH_COMP_NO_POS);
	WH_ASSERT(s->free_count > 0);
	uint32_t id = s->free_slots[--s->free_count];
	struct sched_slot *x = &s->slots[id];
	WH_ASSERT(x->comp == NULL);
	*x = (struct sched_slot){
		.due_us = c->due_us, .seq = c->seq, .comp = c, .owner = c->owner,
		.cand = false, .unlogged = c->unlogged, .wait_pos = SCHED_NONE,
	};
	c->sched_pos = id;
	if (s->scan_mode) {
		WH_ASSERT(s->order_len < s->order_cap);
		x->order_pos = s->order_len;
		s->scan_due[s->order_len] = c->due_us;
		s->order[s->order_len++] = id;
		s->pending_count++;
	} else {
		order_append(s, id); /* first: a compaction counts the others */
		heap_push(s, due_heap(s), id);
		/* Due within the last horizon: a candidate already (file
		 * comment); most are, so the wait heap holds only the far
		 * ones. */
		if (c->due_us <= s->horizon_us)
			make_candidate(s, id);
		else
			heap_push(s, wait_heap(s), id);
	}
	if (s->follow != NULL && c->owner >= 0 && (uint32_t)c->owner < s->cfg.owner_count) {
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

/* Take c, which is pending here, out of the pending set. */
/* Take slot id out of the pending set; in scan mode `at` is its index in
 * order when the caller knows it, else SCHED_NONE. Its completion is
 * written (its sched_pos) but read only when it is unlogged: a pick reads
 * the slot, and its completion, likely out of the cache with many
 * connections, arrives meanwhile (sched_pick prefetches it). */
static void pending_remove(struct sched *s, uint32_t id, uint32_t at)
{
	WH_ASSERT(id < s->cfg.pending_max);
	struct sched_slot *x = &s->slots[id];
	struct wh_completion *c = x->comp;
	WH_ASSERT(c != NULL);
	if (s->scan_mode) {
		/* The later ones move down by one: order stays dense. (A
		 * loop: a few entries, where a call to memmove would cost
		 * more than the move.) */
		uint32_t i = at;
		if (i == SCHED_NONE) {
			/* From the end: what goes was mostly submitted last. */
			i = s->order_len;
			while (i > 0 && s->order[i - 1] != id)
				i--;
			WH_ASSERT(i > 0);
			i--;
		}
		WH_ASSERT(i < s->order_len);
		WH_ASSERT(s->order[i] == id);
		for (uint32_t k = i + 1; k < s->order_len; k++) {
			s->order[k - 1] = s->order[k];
			s->scan_due[k - 1] = s->scan_due[k];
		}
		s->order_len--;
		s->pending_count--;
	} else {
		heap_remove_at(s, due_heap(s), x->due_pos);
		WH_ASSERT(s->order[x->order_pos] == id);
		s->order[x->order_pos] = SCHED_NONE;
		if (x->cand) {
			cand_mark(s, x->order_pos, false);
			WH_ASSERT(s->cand_count > 0);
			s->cand_count--;
			class_remove(s, id);
		} else {
			heap_remove_at(s, wait_heap(s), x->wait_pos);
		}
		/* Holes at the end are given back at once. */
		while (s->order_len > 0 && s->order[s->order_len - 1] == SCHED_NONE)
			s->order_len--;
	}
	int owner = x->owner;
	x->comp = NULL;
	c->sched_pos = WH_COMP_NO_POS;
	s->free_slots[s->free_count++] = id;
	if (s->follow != NULL && owner >= 0 && (uint32_t)owner < s->cfg.owner_count) {
		uint32_t o = (uint32_t)owner;
		WH_ASSERT(s->owner_pending_count[o] > 0);
		WH_ASSERT(s->owner_pending[o] == NULL || s->owner_pending[o] == c);
		s->owner_pending_count[o]--;
		/* One left: which one is looked up when asked (pending_of). */
		s->owner_pending[o] = NULL;
	}
	if (x->unlogged) {
		WH_ASSERT(s->unlogged_pending > 0);
		WH_ASSERT(!wh_queue_empty(&c->link));
		wh_queue_remove(&c->link);
		s->unlogged_pending--;
	}
	WH_ASSERT_EQ(s->pending_count + s->free_count, s->cfg.pending_max);
}

void sched_submit(struct sched *s, struct wh_completion *c, uint64_t delay_us)
{
	WH_ASSERT(c->state == WH_COMP_IDLE);
	WH_ASSERT(wh_queue_empty(&c->link));
	WH_ASSERT(s->pending_count < s->cfg.pending_max);
	wh_completion_start(c);
	c->due_us = s->now_us + delay_us;
	c->seq = s->next_seq++;
	pending_add(s, c);
	WH_ASSERT(s->slots[c->sched_pos].comp == c);
}

void sched_cancel(struct sched *s, struct wh_completion *c)
{
	WH_ASSERT(c->seq != 0 && c->seq < s->next_seq); /* submitted here */
	/* sched_pick may already have taken it out (a hang ends the run
	 * between the pick and the completion). */
	if (c->sched_pos != WH_COMP_NO_POS) {
		WH_ASSERT(wh_completion_is_pending(c));
		WH_ASSERT(s->slots[c->sched_pos].comp == c);
		pending_remove(s, c->sched_pos, SCHED_NONE);
	}
	wh_completion_cancel(c);
	WH_ASSERT(c->sched_pos == WH_COMP_NO_POS);
	WH_ASSERT(wh_queue_empty(&c->link));
}

/* The pending completion of owner with the smallest seq, or NULL. The
 * driver's connections have at most one each, which the owner tables
 * know; otherwise the slots are searched. */
static struct wh_completion *pending_of(struct sched *s, int owner)
{
	WH_ASSERT(s->follow != NULL); /* the tables are kept only then */
	bool tabled = owner >= 0 && (uint32_t)owner < s->cfg.owner_count;
	if (tabled) {
		uint32_t o = (uint32_t)owner;
		if (s->owner_pending_count[o] == 0)
			return NULL;
		if (s->owner_pending[o] != NULL)
			return s->owner_pending[o];
	}
	const struct sched_slot *best = NULL;
	for (uint32_t id = 0; id < s->cfg.pending_max; id++) {
		const struct sched_slot *x = &s->slots[id];
		if (x->comp != NULL && x->owner == owner && (best == NULL || x->seq < best->seq))
			best = x;
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

/* A logged pick of owner was used or skipped: count the transaction it
 * began in the log's numbering. */
static void follow_consumed(struct sched *s, int owner, uint64_t v)
{
	if (owner >= 0 && (uint32_t)owner < s->cfg.owner_count)
		s->follow_txn[owner] += sched_pick_mark(v) & SCHED_MARK_TXN;
}

/* Whether owner o's logged picks after index i, in the same action,
 * include c's call (its op kind and ord): the pick at i is then one this
 * run does not make there. */
static bool logged_later(const struct sched *s, uint64_t i, const struct wh_completion *c)
{
	uint32_t action = sched_mark_action(c->mark);
	for (uint64_t j = s->follow_next_same[i]; j < s->follow_count; j = s->follow_next_same[j]) {
		uint32_t m = sched_pick_mark(s->follow[j]);
		if ((m & SCHED_MARK_TXN) != 0 || sched_mark_action(m) != action)
			return false;
		if (sched_pick_kind(s->follow[j]) == c->kind && sched_mark_ord(m) == sched_mark_ord(c->mark))
			return true;
	}
	return false;
}

/* Where the logged pick at index i stands against its owner o's pending
 * call c in the owner's own work: transactions begun (counted over the
 * log's picks consumed and over the run's logged picks), the workload
 * action within the transaction, then within the action the calls of
 * the same op kind. Negative: the run is behind the log (c is a call the
 * recording did not make by then); positive: past it (the recording made
 * a call this run does not); 0: the same call. Calls of different kinds
 * in one action are ordered by whether c's call is logged later in it. */
static int mark_order(const struct sched *s, uint32_t o, uint64_t i, const struct wh_completion *c)
{
	uint64_t logged = s->follow[i];
	uint32_t lm = sched_pick_mark(logged), rm = c->mark;
	uint32_t lt = s->follow_txn[o] + (lm & SCHED_MARK_TXN);
	uint32_t rt = s->run_txn[o] + (rm & SCHED_MARK_TXN);
	if (rt != lt)
		return rt < lt ? -1 : 1;
	uint32_t la = sched_mark_action(lm), ra = sched_mark_action(rm);
	if (ra != la)
		return ra < la ? -1 : 1;
	if (c->kind == sched_pick_kind(logged)) {
		uint32_t lk = sched_mark_ord(lm), rk = sched_mark_ord(rm);
		return rk == lk ? 0 : rk < lk ? -1 : 1;
	}
	return logged_later(s, i, c) ? 1 : -1;
}

/* The next logged pick whose owner has a pending completion, skipping
 * the others; NULL once the log is used up. Strict following ends at the
 * first pick that cannot be made as logged.
 *
 * With marks, an edited run stays aligned with the log at every
 * transaction and workload action of each owner (sched.h): a logged pick
 * whose call the owner has gone past is skipped, and an owner behind its
 * logged pick (more calls in an action than recorded) runs its extra
 * calls at that pick's turn, the pick staying at the head of the log. */
static struct wh_completion *follow_log(struct sched *s)
{
	while (s->follow_next < s->follow_count) {
		uint64_t v = s->follow[s->follow_next];
		int owner = sched_pick_owner(v);
		struct wh_completion *c = pending_of(s, owner);
		int order = 0;
		if (c != NULL && s->follow_marked && owner >= 0 &&
		    (uint32_t)owner < s->cfg.owner_count)
			order = mark_order(s, (uint32_t)owner, s->follow_next, c);
		if (c != NULL && order == 0 && c->kind == sched_pick_kind(v)) {
			s->follow_next++;
			follow_consumed(s, owner, v);
			return c;
		}
		note_divergence(s, owner, (int)sched_pick_kind(v), c);
		if (s->cfg.follow_strict) {
			s->follow_next = s->follow_count;
			return NULL;
		}
		if (c != NULL && order < 0)
			return c; /* catching up; the pick stays */
		s->follow_next++;
		follow_consumed(s, owner, v);
		if (c != NULL && order == 0)
			return c; /* the same place, another op kind */
		s->follow_skipped++;
	}
	WH_ASSERT(s->follow_next == s->follow_count);
	if (s->follow != NULL && !s->divergence.seen)
		note_divergence(s, -1, -1, NULL); /* the run outlives the log */
	return NULL;
}

/* Unlink the picked completion and move the clock to its due time
 * (never backwards). */
static void take(struct sched *s, uint32_t id, uint32_t at)
{
	uint64_t due = s->slots[id].due_us;
	pending_remove(s, id, at);
	if (due > s->now_us)
		s->now_us = due;
}

/* ------------------------------------------------------------------ */
/* The strategies                                                     */
/* ------------------------------------------------------------------ */

/* rr or pct over every candidate, in seq order as first written: for
 * odd owners, which have no class. */
static uint32_t choose_by_scan(struct sched *s)
{
	uint32_t chosen = SCHED_NONE;
	int64_t best_dist = INT64_MAX, n = (int64_t)s->cfg.owner_count + 1;
	uint32_t best_prio = 0;
	for (uint32_t i = 0; i < s->order_len; i++) {
		uint32_t id = s->order[i];
		if (id == SCHED_NONE || !s->slots[id].cand)
			continue;
		int owner = s->slots[id].owner;
		if (s->cfg.strategy == SCHED_RR) {
			int64_t dist = ((int64_t)owner - s->last_owner - 1) % n;
			if (dist < 0)
				dist += n;
			if (dist < best_dist) {
				best_dist = dist;
				chosen = id;
			}
		} else {
			uint32_t p = owner_priority(s, owner);
			if (chosen == SCHED_NONE || p > best_prio) {
				best_prio = p;
				chosen = id;
			}
		}
	}
	WH_ASSERT(chosen != SCHED_NONE);
	return chosen;
}

/* Move the horizon to h; see the file comment for why it never moves
 * back. */
static void horizon_advance(struct sched *s, uint64_t h)
{
	WH_ASSERT(h >= s->horizon_us);
	s->horizon_us = h;
}

/* Scan mode: the pick as first written, over the dense seq order: the
 * earliest due time, the candidates in seq order, the strategy. One pass
 * does the first two: it keeps what is due within the window of the
 * earliest due time seen so far (or of now), a bound that only falls, so
 * it keeps every candidate and perhaps a few more, which a pass over the
 * kept ones then drops. Returns the chosen one's index in order. */
static uint32_t choose_by_scan_mode(struct sched *s)
{
	const uint64_t *due = s->scan_due;
	uint64_t now = s->now_us, window = s->cfg.reorder_window_us;
	uint64_t min_due = UINT64_MAX, bound = UINT64_MAX;
	uint32_t *cand = s->scan_cand, kept = 0;
	const uint32_t n = s->order_len; /* a local: cand's stores cannot move it */
	WH_ASSERT(n > 0);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t d = due[i];
		if (d < min_due) {
			min_due = d;
			bound = (min_due > now ? min_due : now) + window;
		}
		if (d <= bound)
			cand[kept++] = i;
	}
	uint64_t horizon = bound; /* max(earliest due, now) + window */
	horizon_advance(s, horizon);
	/* Indices in order, still in seq order. */
	uint32_t count = 0;
	for (uint32_t k = 0; k < kept; k++)
		if (due[cand[k]] <= horizon)
			cand[count++] = cand[k];
	WH_ASSERT(count > 0);
	uint32_t chosen = cand[0];
	switch (s->cfg.strategy) {
	case SCHED_RANDOM:
		if (count > 1)
			chosen = cand[wh_prng_below(&s->pick_rng, count)];
		break;
	case SCHED_RR: {
		/* Smallest cyclic distance from the last owner; the first in
		 * seq order wins a tie within one owner. */
		int64_t best = INT64_MAX, n = (int64_t)s->cfg.owner_count + 1;
		for (uint32_t i = 0; i < count; i++) {
			int64_t dist = ((int64_t)s->slots[s->order[cand[i]]].owner - s->last_owner - 1) % n;
			if (dist < 0)
				dist += n;
			if (dist < best) {
				best = dist;
				chosen = cand[i];
			}
		}
		break;
	}
	case SCHED_PCT: {
		uint32_t best = owner_priority(s, s->slots[s->order[chosen]].owner);
		for (uint32_t i = 1; i < count; i++) {
			uint32_t p = owner_priority(s, s->slots[s->order[cand[i]]].owner);
			if (p > best) {
				best = p;
				chosen = cand[i];
			}
		}
		break;
	}
	}
	return chosen;
}

/* Heap mode: move the horizon, let the waiting slots it reaches become
 * candidates, and return the strategy's choice among them (a slot id):
 * the completion a scan of them in seq order would choose. */
static uint32_t choose(struct sched *s)
{
	uint64_t min_due = s->slots[s->due_heap[0]].due_us;
	uint64_t horizon = (min_due > s->now_us ? min_due : s->now_us) + s->cfg.reorder_window_us;
	horizon_advance(s, horizon);
	/* Bounded by the waiting count, which drops by one each time. */
	while (s->wait_count > 0 && s->slots[s->wait_heap[0]].due_us <= horizon) {
		uint32_t id = s->wait_heap[0];
		heap_remove_at(s, wait_heap(s), 0);
		s->slots[id].wait_pos = SCHED_NONE;
		make_candidate(s, id);
	}
	uint32_t count = s->cand_count;
	WH_ASSERT(count > 0);
	switch (s->cfg.strategy) {
	case SCHED_RANDOM:
		return cand_select(s, count == 1 ? 0
						 : (uint32_t)wh_prng_below(&s->pick_rng, count));
	case SCHED_RR: {
		if (s->odd_count > 0)
			return choose_by_scan(s);
		/* The smallest cyclic distance (owner - last - 1) mod (n+1),
		 * ownerless work at owner_count: the first class with
		 * candidates from last + 1 on. */
		int64_t n = (int64_t)s->cfg.owner_count + 1;
		int64_t from = ((int64_t)s->last_owner + 1) % n;
		if (from < 0)
			from += n;
		uint32_t k = bits_next_cyclic(s->class_bits, (uint32_t)n, (uint32_t)from);
		return class_first(s, k);
	}
	case SCHED_PCT: {
		if (s->odd_count > 0)
			return choose_by_scan(s);
		/* Priorities of classes are distinct: the highest is one
		 * class's. */
		uint32_t p = bits_highest(s->prio_bits, s->prio_limit);
		uint32_t k = s->prio_class[p];
		WH_ASSERT(s->class_count[k] > 0);
		WH_ASSERT_EQ(class_priority(s, k), p);
		return class_first(s, k);
	}
	}
	WH_UNREACHABLE();
}

/* A change point lowers owner's priority to p: its class's bit moves. */
static void pct_set_priority(struct sched *s, int owner, uint32_t p)
{
	uint32_t k = (uint32_t)owner;
	bool has = s->class_count[k] > 0;
	if (has)
		class_mark(s, k, false);
	s->pct_priority[owner] = p;
	if (has)
		class_mark(s, k, true);
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
		take(s, unlogged->sched_pos, SCHED_NONE);
		return unlogged;
	}

	uint32_t id, at = SCHED_NONE; /* at: its index in order, if known */
	struct wh_completion *followed = follow_log(s);
	if (followed != NULL) {
		id = followed->sched_pos;
	} else if (s->scan_mode) {
		at = choose_by_scan_mode(s);
		id = s->order[at];
	} else {
		id = choose(s);
	}
	WH_ASSERT(id < s->cfg.pending_max);
	/* The slot tells all the pick needs; the completion itself is read
	 * last, once its lines (asked for now) have come. */
	struct wh_completion *chosen = s->slots[id].comp;
	int owner = s->slots[id].owner;
	__builtin_prefetch(chosen);
	__builtin_prefetch((const char *)chosen + sizeof *chosen - 1);

	s->steps++;
	if (s->cfg.strategy == SCHED_PCT && owner >= 0 && (uint32_t)owner < s->cfg.owner_count) {
		while (s->pct_change_next + 1 < s->cfg.pct_depth &&
		       s->pct_change_at[s->pct_change_next] <= s->steps) {
			s->pct_change_next++;
			pct_set_priority(s, owner, s->cfg.pct_depth - s->pct_change_next);
		}
	}
	take(s, id, at);
	s->last_owner = owner;
	WH_ASSERT(chosen->state == WH_COMP_PENDING);
	WH_ASSERT(chosen->sched_pos == WH_COMP_NO_POS);
	WH_ASSERT_EQ(chosen->owner, owner);
	if (s->follow != NULL && owner >= 0 && (uint32_t)owner < s->cfg.owner_count)
		s->run_txn[owner] += chosen->mark & SCHED_MARK_TXN;
	if (s->picks != NULL) {
		wh_track_log(s->picks, sched_pick_encode(owner, chosen->kind, chosen->mark));
		WH_ASSERT_EQ(s->picks->count, s->steps);
	}
	return chosen;
}
