/*
 * completion.h - the record of one outstanding simulated operation, and
 * groups that aggregate several completions into one.
 *
 * Contract (see the project's async I/O model):
 * - A completion is initialised IDLE, becomes PENDING when submitted, and
 *   finishes exactly once as OK, FAILED or CANCELLED. Completing is
 *   idempotent: the first complete/fail/cancel wins, later ones are ignored,
 *   and the callback runs exactly once.
 * - A cancelled completion still completes (state CANCELLED, error
 *   WH_ECANCELLED) and its callback runs; its memory may be reused only after
 *   that callback has run.
 * - While pending, a completion may sit in at most one queue through `link`
 *   (the scheduler's queue of unlogged work). Finishing it unlinks it, so
 *   an owner may reuse it from inside its callback.
 * - Ties between completions are broken by `seq`, never by address.
 *
 * Groups: a group finishes when every child has finished. The first child
 * error (in finishing order) is the group's error, but the group still waits
 * for every child (no short-circuit). Groups nest: a group's `comp` can be a
 * child of another group. A sealed empty group finishes at once. Cancelling
 * a group cancels every unfinished child; each completes as cancelled.
 */
#ifndef WH_COMPLETION_H
#define WH_COMPLETION_H

#include "wh.h"

enum wh_op_kind {
	WH_OP_OPEN,
	WH_OP_CLOSE,
	WH_OP_DELETE,
	WH_OP_ACCESS,
	WH_OP_FULLPATH,
	WH_OP_READ,
	WH_OP_WRITE,
	WH_OP_TRUNCATE,
	WH_OP_SYNC,
	WH_OP_FILESIZE,
	WH_OP_LOCK,
	WH_OP_UNLOCK,
	WH_OP_CHECK_RESERVED,
	WH_OP_FILE_CONTROL,
	WH_OP_SHM_MAP,
	WH_OP_SHM_LOCK,
	WH_OP_SHM_BARRIER,
	WH_OP_SHM_UNMAP,
	WH_OP_FETCH,
	WH_OP_UNFETCH,
	WH_OP_SLEEP, /* xSleep / busy wait: simulated time passes */
	WH_OP_THINK, /* a connection's pause between transactions */
	WH_OP_GROUP,
	WH_OP__COUNT
};

const char *wh_op_name(enum wh_op_kind kind);

enum wh_comp_state {
	WH_COMP_IDLE,      /* initialised, not submitted */
	WH_COMP_PENDING,   /* submitted, not finished */
	WH_COMP_OK,        /* finished successfully */
	WH_COMP_FAILED,    /* finished with an error */
	WH_COMP_CANCELLED, /* finished because it was cancelled */
};

struct wh_completion;
struct wh_group;

/* sched_pos of a completion no scheduler holds. */
#define WH_COMP_NO_POS UINT32_MAX
typedef void (*wh_completion_cb)(struct wh_completion *c, void *data);

struct wh_completion {
	enum wh_op_kind kind;     /* what the operation is */
	enum wh_comp_state state; /* lifecycle, see above */
	int error;                /* WH_E* when FAILED/CANCELLED, else 0 */
	int64_t result;           /* bytes moved or op-specific result */
	uint64_t due_us;          /* simulated time at which it is due */
	uint64_t seq;             /* monotonically increasing; breaks ties */
	uint32_t sched_pos;       /* its place in the scheduler's pending
				     heap while it is there, else
				     WH_COMP_NO_POS (the scheduler's
				     business, as seq and due_us are) */
	int owner;                /* connection id, or -1 */
	bool unlogged;            /* picked ahead of the rest, and neither
				     logged nor taken from a pick log: the
				     opening of a run that starts mid-way
				     (sched.h) */
	uint32_t mark;            /* where in its owner's work it was made,
				     for a pick log (sched_pick_mark): bit
				     0 set on the first since the owner
				     began a transaction, above it the
				     workload action of that transaction */
	wh_completion_cb cb;      /* runs once when finished; may be NULL */
	void *data;               /* user data for cb */
	struct wh_group *parent;  /* group this is a child of, or NULL */
	struct wh_queue link;     /* the scheduler's queue of unlogged
				     completions (while one is pending) */
	struct wh_queue sibling;  /* parent group's children list */
};

/* Prepare a completion for (re)use; it must not be pending. */
void wh_completion_init(struct wh_completion *c, enum wh_op_kind kind,
			wh_completion_cb cb, void *data);
/* The three below are inline: the scheduler and the driver ask them a
 * few times per scheduled event. */

/* IDLE -> PENDING. */
static inline void wh_completion_start(struct wh_completion *c)
{
	WH_ASSERT(c != NULL);
	WH_ASSERT(c->state == WH_COMP_IDLE);
	c->state = WH_COMP_PENDING;
}

static inline bool wh_completion_is_pending(const struct wh_completion *c)
{
	WH_ASSERT(c != NULL);
	return c->state == WH_COMP_PENDING;
}

static inline bool wh_completion_is_finished(const struct wh_completion *c)
{
	WH_ASSERT(c != NULL);
	return c->state == WH_COMP_OK || c->state == WH_COMP_FAILED ||
	       c->state == WH_COMP_CANCELLED;
}
/* Finish as OK with `result`; ignored if already finished. */
void wh_completion_complete(struct wh_completion *c, int64_t result);
/* Finish as FAILED with `error` (< 0); ignored if already finished. */
void wh_completion_fail(struct wh_completion *c, int error);
/* Finish as CANCELLED; ignored if already finished. For a group, cancels
 * every unfinished child (the group then finishes as cancelled). */
void wh_completion_cancel(struct wh_completion *c);

struct wh_group {
	struct wh_completion comp; /* the group's own completion */
	struct wh_queue children;  /* unfinished children (a finished child
				      is unlinked so its memory may be
				      reused from its callback) */
	uint32_t child_count;      /* children added */
	uint32_t finished_count;   /* children finished */
	bool sealed;               /* no more children will be added */
	bool cancelling;           /* cancel in progress */
};

/* Initialise the group; its completion becomes PENDING at once. */
void wh_group_init(struct wh_group *g, wh_completion_cb cb, void *data);
/* Add a child (IDLE or PENDING, not finished). Starts it if IDLE. */
void wh_group_add(struct wh_group *g, struct wh_completion *child);
/* No more children; if all (possibly zero) have finished, the group
 * finishes now. */
void wh_group_seal(struct wh_group *g);
/* Cancel every unfinished child; the group finishes as cancelled once all
 * children have (which is immediately for synchronous cancels). */
void wh_group_cancel(struct wh_group *g);

#endif /* WH_COMPLETION_H */
