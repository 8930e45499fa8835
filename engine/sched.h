/*
 * sched.h - the seeded, single-threaded discrete-event scheduler.
 *
 * Every simulated operation is a completion submitted with a due time drawn
 * from a per-kind latency distribution. At each tick the scheduler forms the
 * candidate set - pending completions due no later than the earliest due
 * time plus a reorder window - and the strategy picks one:
 *   random  uniform among candidates;
 *   rr      the candidate whose owner follows the last picked owner;
 *   pct     the candidate whose owner has the highest priority, with d-1
 *           priority change points drawn over an estimated k steps
 *           (probabilistic concurrency testing; bound 1/(n*k^(d-1))).
 * The clock advances to the picked completion's due time (never backwards).
 * Candidates are taken in submission (seq) order, so no decision depends
 * on addresses. Every pick is folded into the trace hash by the caller.
 *
 * Cost. A pick costs O(log n) for n pending completions, however many
 * are candidates: the horizon (earliest due time or now, whichever is
 * later, plus the window) never moves back, so a completion, once a
 * candidate, stays one until it is picked. Pending completions wait in a
 * heap on due time until the horizon reaches them, then join the
 * candidates, marked in seq order in bit sets that find the k-th in a few steps;
 * rr and pct find their owner through bit sets over owners and
 * priorities. A connection whose completion is due past the horizon (one
 * sleeping in its busy handler, say) costs nothing until it comes due.
 * The decision is the one a scan of every pending completion in seq
 * order would make: the same candidate set, the same order, the same
 * draw.
 *
 * With a tape, the schedule is recorded as what happened, so that an
 * edited run keeps the interleaving of what survives the edit:
 *   - every pick is logged on the WH_STREAM_PICKS track as the picked
 *     completion's owner and op kind (sched_pick_encode), not as a raw
 *     draw;
 *   - latency draws are kept per owner (WH_STREAM_LATENCY_CONN + owner),
 *     so removing one connection's transaction does not shift another
 *     connection's latencies.
 * When the tape holds a pick log, sched_pick follows it: the next logged
 * owner runs if it has a pending completion (each owner has at most one);
 * logged picks whose owner has none (closed, or removed by an edit) are
 * skipped; the strategy decides only once the log is used up. Each
 * logged pick also carries its completion's mark, where in its owner's
 * own work the call was made: whether it is the owner's first since it
 * began a transaction (or opened), which workload action of that
 * transaction it belongs to, and how many calls of its op kind the owner
 * made before it in that action (the driver sets them, conn.c). An edit
 * changes how many calls an owner makes in an action (a page not read
 * again, another busy retry, a statement skipped): following by position
 * alone would then hand every later logged pick of that owner to the
 * wrong call, and the race the log holds would be lost. With marks the
 * follower realigns at every call: a logged pick of a call the owner has
 * gone past (a later action, or a later call of the same kind, or, for
 * another kind, one whose own pick comes later in the same action) is
 * skipped; an owner whose pending call comes before its logged pick (an
 * earlier action, or a call the action's log does not hold) runs it at
 * that pick's turn, the pick staying for the call after. A log without
 * marks, from an older recording, is followed by position. On an
 * unedited tape every logged owner is pending at its turn, so the replay
 * makes the same picks as the recorded run. A completion marked unlogged
 * (the opening of a run that starts mid-way from a shrinker's collapsed
 * prefix) is picked before all others, in submission order, and is
 * neither logged nor counted as a step: so the log holds only the
 * window's events, which a cut from another run's log can then follow.
 * A run without a tape draws exactly as it always did: the per-owner
 * tracks only file the shared latency stream's draws under the owner
 * that made them.
 *
 * Divergence. While following a log the scheduler notes the first logged
 * pick it could not make as logged: its owner had nothing pending, or had
 * a completion of another op kind pending, or the log ended while the run
 * went on. Noting never changes a pick, so a plain replay can name where
 * it first left the recording. A run told to follow strictly (the tape was
 * recorded on another SQLite, whose calls may differ) stops following at
 * that pick and lets the strategy decide from there: past a divergence the
 * log describes another run, and skipping through it would only pick
 * owners by accident. The check sits in the following path only: a run
 * without a log never reaches it.
 */
#ifndef WH_SCHED_H
#define WH_SCHED_H

#include "completion.h"
#include "prng.h"

enum sched_strategy {
	SCHED_RANDOM,
	SCHED_RR,
	SCHED_PCT,
};

const char *sched_strategy_name(enum sched_strategy s);
/* Parse "random" | "rr" | "pct"; returns -1 when unknown. */
int sched_strategy_parse(const char *s);

#define SCHED_MAX_OWNERS 4096

struct sched_config {
	uint64_t seed;
	enum sched_strategy strategy;
	uint32_t pct_depth;        /* d >= 1 */
	uint64_t pct_steps_estimate; /* k: expected number of picks */
	uint32_t owner_count;      /* n: connections */
	uint64_t reorder_window_us; /* candidates: due <= min_due + window */
	struct wh_tape *tape;      /* choice stream, or NULL */
	uint32_t stall_per_mille;  /* chance of a millisecond stall per op
				      (0: the default of 10, i.e. 1%) */
	uint32_t pending_max;      /* most completions pending at once
				      (0: owner_count + 8; a connection
				      waits on one at a time) */
	bool follow_strict;        /* stop following the log at its first
				      divergence (see above) */
};

/* The first logged pick a following run could not make as logged. */
struct sched_divergence {
	bool seen;                 /* a divergence was noted */
	uint64_t step;             /* the step (1-based) of that pick */
	uint64_t now_us;           /* simulated time at it */
	int owner;                 /* the logged owner; -1 also when the log
				      had ended (logged_kind -1) */
	int logged_kind;           /* op kind in the log; -1: the log had
				      ended and the run went on */
	int pending_kind;          /* op kind the owner had pending; -1:
				      nothing pending */
};

/* A pending completion's entry: its keys and its places in the
 * scheduler's structures (sched.c), so that comparing and moving them
 * never reads the completion itself. Indices are SCHED_NONE when absent. */
struct sched_slot {
	uint64_t due_us;           /* the completion's due time */
	uint64_t seq;              /* its seq */
	struct wh_completion *comp;/* the completion (NULL: a free slot);
				      comp->sched_pos is this slot's id */
	int owner;                 /* comp->owner at submission */
	bool cand;                 /* a candidate, else waiting (in the
				      wait heap) */
	bool unlogged;             /* comp->unlogged at submission */
	uint32_t due_pos;          /* index in the due heap */
	uint32_t wait_pos;         /* index in the wait heap, or SCHED_NONE */
	uint32_t order_pos;        /* index in order */
};

#define SCHED_NONE UINT32_MAX
/* Entries of order per candidate count (sched.c): eight words of bits. */
#define SCHED_CAND_BLOCK 512

struct sched {
	struct sched_config cfg;
	struct sched_slot *slots;  /* cfg.pending_max entries */
	uint32_t *free_slots;      /* ids of the free slots (a stack) */
	uint32_t free_count;       /* its height */
	uint32_t *due_heap;        /* every pending slot: a min-heap on
				      (due_us, seq) */
	uint32_t pending_count;    /* entries of due_heap: kept by submit,
				      pick and cancel */
	uint32_t *wait_heap;       /* pending slots not yet candidates: a
				      min-heap on (due_us, seq) */
	uint32_t wait_count;       /* entries of wait_heap */
	uint32_t *order;           /* pending slot ids in seq order, with
				      holes (SCHED_NONE) where one left;
				      order_cap entries */
	uint32_t order_len;        /* entries used (holes included) */
	uint32_t order_cap;        /* a power of two, >= 4 * pending_max
				      and >= SCHED_CAND_BLOCK */
	uint64_t *cand_bits;       /* bit i: order[i] is a candidate
				      (order_cap bits) */
	uint32_t *cand_block_count;/* candidates per SCHED_CAND_BLOCK
				      entries of order */
	bool scan_mode;            /* few pending (sched.c): order is dense,
				      the pick scans it; no heaps, bit sets or
				      classes */
	uint64_t *scan_due;        /* scan mode: the due time of each entry
				      of order */
	uint32_t *scan_cand;       /* scan mode: the pick's candidates */
	uint32_t cand_count;       /* candidates */
	uint64_t horizon_us;       /* horizon of the last strategy pick:
				      every completion due at or before it
				      is a candidate */
	/* Candidates per class: class = the owner (0..owner_count-1), or
	 * owner_count for ownerless work (owner -1); other owners are odd
	 * and send rr and pct to a scan. */
	uint32_t *class_count;     /* candidates per class */
	uint32_t *class_one;       /* the class's one candidate (slot id)
				      when it has exactly one and it is
				      known, else SCHED_NONE */
	uint64_t *class_bits;      /* bit per class: it has candidates */
	uint32_t odd_count;        /* candidates of odd owners */
	uint64_t *prio_bits;       /* pct: bit per priority held by a class
				      with candidates */
	uint32_t *prio_class;      /* pct: the class holding a priority */
	uint32_t prio_limit;       /* pct: priorities are below it */
	struct wh_queue unlogged;  /* unlogged pending completions, by seq
				      (through their link) */
	struct wh_completion **owner_pending; /* per owner: its pending
						 completion when it has
						 exactly one and it is
						 known, else NULL */
	uint32_t *owner_pending_count; /* per owner: completions pending */
	uint64_t now_us;           /* simulated clock */
	uint64_t next_seq;         /* seq of the next submission */
	uint64_t steps;            /* picks so far */
	int last_owner;            /* owner of the last pick (rr) */
	struct wh_prng pick_rng;   /* random strategy */
	struct wh_prng latency_rng;/* due times */
	struct wh_prng pct_rng;    /* pct priorities and change points */
	uint32_t *pct_priority;    /* per owner; higher runs first */
	uint64_t *pct_change_at;   /* d-1 step numbers, ascending */
	uint32_t pct_change_next;  /* index of the next change point */
	struct wh_track *picks;    /* pick log being recorded, or NULL */
	struct wh_track **latency_tracks; /* per owner, or NULL (no tape) */
	uint64_t *follow;          /* pick log to follow (a copy), or NULL */
	uint64_t follow_count;     /* its length */
	uint64_t follow_next;      /* index of the next logged pick */
	uint64_t follow_skipped;   /* logged picks skipped (owner not pending,
				      or past the logged call) */
	bool follow_marked;        /* the log's picks carry marks (older
				      recordings' do not) */
	uint32_t *follow_txn;      /* per owner: transactions begun in the
				      log's picks consumed so far */
	uint32_t *run_txn;         /* per owner: transactions begun in the
				      logged picks this run made */
	uint64_t *follow_next_same; /* per logged pick: the index of its
				       owner's next one (follow_count: none) */
	uint32_t unlogged_pending; /* unlogged completions pending */
	struct sched_divergence divergence; /* first departure from the
					       followed log */
};

/* A logged pick: the op kind, above it owner + 1 (0: ownerless), above
 * that the completion's mark (wh_completion.mark: a transaction-start
 * bit, the workload action within the transaction, and how many calls
 * of the same op kind the owner made before it in that action; both
 * saturated). */
#define SCHED_PICK_KIND_BITS 5
#define SCHED_PICK_OWNER_BITS 13
#define SCHED_PICK_MARK_SHIFT (SCHED_PICK_KIND_BITS + SCHED_PICK_OWNER_BITS)
#define SCHED_MARK_TXN 1u            /* the mark's transaction-start bit */
#define SCHED_MARK_ACTION_BITS 13
#define SCHED_MARK_ACTION_MAX ((1u << SCHED_MARK_ACTION_BITS) - 1) /* actions past
								       it share its mark */
#define SCHED_MARK_ORD_SHIFT (1 + SCHED_MARK_ACTION_BITS)
#define SCHED_MARK_ORD_MAX 0xffffu   /* calls of a kind past it share one */
_Static_assert(WH_OP__COUNT <= (1 << SCHED_PICK_KIND_BITS), "an op kind fits a logged pick");
_Static_assert(SCHED_MAX_OWNERS < (1 << SCHED_PICK_OWNER_BITS), "an owner fits a logged pick");
_Static_assert(SCHED_MARK_ORD_SHIFT + 16 <= 32, "a mark fits 32 bits");

/* The mark of a completion made at workload action `action` of its
 * owner's transaction, the ord-th (from 0) of its op kind in that
 * action; new_txn on its first since the transaction began. */
static inline uint32_t sched_mark(bool new_txn, uint32_t action, uint32_t ord)
{
	uint32_t a = action < SCHED_MARK_ACTION_MAX ? action : SCHED_MARK_ACTION_MAX;
	uint32_t k = ord < SCHED_MARK_ORD_MAX ? ord : SCHED_MARK_ORD_MAX;
	return (k << SCHED_MARK_ORD_SHIFT) | (a << 1) | (new_txn ? SCHED_MARK_TXN : 0);
}

static inline uint32_t sched_mark_action(uint32_t mark)
{
	return (mark >> 1) & SCHED_MARK_ACTION_MAX;
}

static inline uint32_t sched_mark_ord(uint32_t mark)
{
	return mark >> SCHED_MARK_ORD_SHIFT;
}

static inline uint64_t sched_pick_encode(int owner, enum wh_op_kind kind, uint32_t mark)
{
	uint64_t o = owner < 0 ? 0 : (uint64_t)owner + 1;
	return ((uint64_t)mark << SCHED_PICK_MARK_SHIFT) | (o << SCHED_PICK_KIND_BITS) |
	       (uint64_t)kind;
}

static inline int sched_pick_owner(uint64_t v)
{
	return (int)((v >> SCHED_PICK_KIND_BITS) & ((1u << SCHED_PICK_OWNER_BITS) - 1)) - 1;
}

static inline enum wh_op_kind sched_pick_kind(uint64_t v)
{
	return (enum wh_op_kind)(v & ((1u << SCHED_PICK_KIND_BITS) - 1));
}

static inline uint32_t sched_pick_mark(uint64_t v)
{
	return (uint32_t)(v >> SCHED_PICK_MARK_SHIFT);
}

/* The same pick under another owner (a shrinker renumbering). */
static inline uint64_t sched_pick_reowned(uint64_t v, int owner)
{
	return sched_pick_encode(owner, sched_pick_kind(v), sched_pick_mark(v));
}

void sched_init(struct sched *s, const struct sched_config *cfg);
void sched_free(struct sched *s);
/* Draw a latency in µs for an operation kind of owner (0 <= owner <
 * owner_count when there is a tape): most calls take a few µs, syncs
 * longer, and about 1% stall for milliseconds (heavy tail). */
uint64_t sched_latency_us(struct sched *s, enum wh_op_kind kind, int owner);
/* Submit c (IDLE) as pending, due now + delay_us. At most
 * cfg.pending_max completions are pending at once (asserted). */
void sched_submit(struct sched *s, struct wh_completion *c, uint64_t delay_us);
/* Cancel c, a completion submitted to s: it leaves the pending set (if
 * sched_pick has not already taken it out) and finishes as cancelled.
 * The only way to cancel a scheduled completion: finishing one behind
 * the scheduler's back stops the program (an assertion in completion.c),
 * since it would stay in the pending heap. */
void sched_cancel(struct sched *s, struct wh_completion *c);
/* Pick the next completion per strategy, unlink it and advance the clock.
 * The caller finishes it. Returns NULL when nothing is pending. */
struct wh_completion *sched_pick(struct sched *s);

#endif /* WH_SCHED_H */
