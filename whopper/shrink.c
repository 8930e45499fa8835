/*
 * shrink.c - `whopper shrink FILE.whop --out MIN.whop`: from a recorded
 * failing run to a small run that fails the same way, plus a readable
 * MIN.sql and a swimlane MIN.svg beside it.
 *
 * What a candidate is. A run is fully described by its flags, the skip
 * list (statements removed: world_skip) and the tape (engine/tape.h): the
 * raw draws of the workload, fault and other streams, each connection's
 * latency draws on its own track, and the pick log - which connection's
 * completion ran at each scheduler step (engine/sched.h). Any edit of
 * those is a valid run: a shortened track continues from its PRNG, a
 * zeroed value moves its decision to the first option, a logged pick
 * whose connection has nothing pending is skipped. So the search only
 * edits and re-runs; it never has to reason about whether an edit is
 * legal.
 *
 * Why the schedule is a log and not raw draws: a raw pick is an index
 * into the candidates of that step, so cutting one transaction shifted
 * the meaning of every later pick and latency, and the interleaving that
 * caused the failure was gone. Cut from the log instead, a transaction's
 * events leave and every other connection's events keep their relative
 * order; its latencies come from its own track, so they do not move.
 *
 * When a candidate counts. It must fail (exit status 1) with the same bug
 * as the input: for a known finding (triage signature "known:ID", triaged
 * with the same catalogue, --known included) the same signature; else its
 * first finding or unexplained violation (what its
 * signature names) of a kind in the class of the input's first one (data
 * loss, wrong read, corruption, error: bug_kinds), or of a kind --match
 * names - and be strictly
 * smaller under the size key, compared lexicographically. Not the same
 * signature: as a run shrinks, the statement templates the violation
 * names (and the exact kind within its class) change while the root
 * cause stays; requiring the same words kept most real findings large.
 * The size key:
 *   statements executed, connections, transactions, injected faults
 *   (I/O faults, allocation failures, crashes, reopens, bit flips),
 *   preemptions (switches away from a connection inside its open
 *   transaction), draws on the tape, the summed bit length of the
 *   draws, then the bytes of a collapsed prefix's setup, and last the
 *   bytes of the files it starts from (the race is what must be small;
 *   the setup is data, and files are kept only where SQL cannot do). After a run the tape holds exactly the draws that run made
 *   (wh_tape_trim), so an accepted candidate is kept as the tape *after*
 *   its run: replaying it reproduces that run exactly.
 *
 * Passes, repeated while any of them makes progress (the progress line
 * counts the prefix as pass 2 of 8):
 *   1 txns      binary search of --txns downward (the run stops early);
 *   p prefix    collapse the start of the run into a setup: every
 *               transaction that began before a window at the end goes
 *               (its draws and picks, as in txn-ddmin), and the setup SQL
 *               becomes a dump of what those transactions committed,
 *               replayed serially (shrink_setup.c); the connections read
 *               the schema as they open, as the originals had. Window
 *               starts are tried from the end backwards on a dense
 *               ladder. Valid only where the removed commits are the
 *               first of the commit order and no crash came before.
 *               Where the SQL setup loses the failure, the same window
 *               is tried from the files at its start (a hot journal
 *               lives only there): taken at the first moment no
 *               connection holds more than SHARED, and used only if,
 *               opened alone, they hold exactly the dump's state, so
 *               files a bug already damaged never become a start (the
 *               window's connections open before the files appear, as
 *               the original ones had: engine/world.c);
 *   2 conns     delta debugging over connections, halves first: their
 *               workload, latency and fault tracks and their logged
 *               picks go, the higher ones are renumbered, --txns loses
 *               their transactions;
 *   3 txn-ddmin delta debugging over whole transactions: a transaction's
 *               draws are cut out of its connection's workload, latency
 *               and fault tracks and its picks out of the log (so the next
 *               transaction of that connection takes its place and
 *               --txns drops by one); a single transaction whose cut loses
 *               the failure, or any when the ranges are unknown, has its
 *               statements skipped instead;
 *   4 stmt-ddmin delta debugging over single statements (skips; never
 *               the first of a transaction, see SHRINK_SKIP_FIRST_ACTION);
 *   5 faults    set FAULTS draws to the "last option" value, then zero
 *               them: for wh_prng_chance and `below(n) < rate` the last
 *               option is "no fault" (zero would mean "fault"), so both
 *               directions are tried and the key keeps the one with
 *               fewer faults;
 *   6 schedule  zero logged picks in halving chunks (a zero names no
 *               connection, so the pick is skipped and that connection's
 *               call waits for its next logged pick; zeroing the tail
 *               hands the rest of the run to the strategy), and PCT
 *               draws; the key prefers fewer preemptions;
 *   7 values    zero, then halve, CONN draws in halving chunks: generator
 *               values move toward their minimum, blobs get shorter.
 * Each pass runs only once every pass above it has nothing left at the
 * current grain: the structural passes 1-4 (and the prefix) remove far
 * more per attempt, and a fault or a pick gone often lets a transaction
 * or a connection go next, while smaller values never do. Passes 5-7
 * start coarse (chunks down to an eighth of a stream) and go finer only
 * when a whole round found nothing (run_passes): a full sweep of a long
 * pick log down to single picks costs thousands of runs, and most of the
 * budget is better spent on the cuts an accepted edit unlocks.
 *
 * Why edits keep the race: the pick log marks each pick with where in
 * its connection's work the call was made (engine/sched.h), so a
 * candidate in which a connection makes more or fewer calls (a page not
 * read again, another busy retry) stays aligned with the log at every
 * workload action and op kind instead of drifting by position. Without
 * that, a single cut before a race moved every later pick of the
 * connections it touched, and the WAL-reset recording stayed above 200
 * statements; with it, 9 statements in 60 s.
 *
 * Per-transaction tape ranges come from the progress callback, which the
 * world calls after every finished transaction: it snapshots the cursor
 * of each connection's workload, latency and fault tracks and the length of the
 * pick log. The k-th call belongs to the transaction with the k-th
 * smallest end_event; its draws and picks are those of its connection
 * since that connection's previous transaction ended.
 *
 * Invariants: `best` is always a candidate that was run and failed with
 * the same bug; every acceptance strictly decreases the size key,
 * which is well-founded, so every pass and the outer loop end. Nothing
 * but the time limit depends on the wall clock: the same input gives the
 * same output. The time limit is checked before every attempt: the search
 * stops when the next attempt (taken to cost as much as the slowest so
 * far) and the final verifying replay would not fit in what is left, or
 * on SIGINT/SIGTERM; either way the best run so far is written. A search
 * cut short may give a larger (still failing) result than one that
 * reached the fixpoint. The passes make the big cuts first (the tail of
 * the transactions, halves of the connections, halves of the
 * transactions), so whatever the budget, it is spent where it removes the
 * most.
 *
 * The result is written, read back, replayed and checked for the same
 * signature and trace hash before MIN.sql and MIN.svg are written from
 * that replay: a shrink never hands back a passing run.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "oracle.h"
#include "replay.h"
#include "shrink_int.h"

#define SHRINK_TIME_LIMIT_DEFAULT_S 300
#define SHRINK_PROGRESS_EVERY_S 5.0  /* between progress lines (no tty) */
#define SHRINK_LOG_MAX (1u << 24)    /* cursor snapshots kept per run */

/* ------------------------------------------------------------------ */
/* Size                                                                */
/* ------------------------------------------------------------------ */

struct shrink_size {
	uint64_t statements;  /* statements executed */
	uint64_t conns;       /* connections */
	uint64_t txns;        /* transactions in the history */
	uint64_t faults;      /* injected faults, crashes, reopens, flips */
	uint64_t preemptions; /* switches away from an open transaction */
	uint64_t tape_values; /* draws the run made */
	uint64_t value_bits;  /* sum of the draws' bit lengths */
	uint64_t setup_bytes; /* setup SQL in place of the workload's (the
				 collapsed prefix), 0 when none: late, so
				 a setup never outweighs the race */
	uint64_t image_bytes; /* files the run starts from: last, so files
				 are kept only where SQL cannot do */
};

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

/* Lexicographic: <0 when a is smaller. */
static int size_cmp(const struct shrink_size *a, const struct shrink_size *b)
{
	const uint64_t x[] = {a->statements, a->conns,	     a->txns,
			      a->faults,     a->preemptions, a->tape_values,
			      a->value_bits, a->setup_bytes, a->image_bytes};
	const uint64_t y[] = {b->statements, b->conns,	     b->txns,
			      b->faults,     b->preemptions, b->tape_values,
			      b->value_bits, b->setup_bytes, b->image_bytes};
	_Static_assert(sizeof x == sizeof(struct shrink_size), "every size field is compared");
	for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
		if (x[i] != y[i])
			return cmp_u64(x[i], y[i]);
	return 0;
}

static unsigned bit_length(uint64_t v)
{
	unsigned n = 0;
	while (v) {
		n++;
		v >>= 1;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Same bug                                                            */
/* ------------------------------------------------------------------ */

/* A candidate shows the same bug when it fails with a kind of the same
 * class as the input's first unexplained violation: the words (statement
 * templates, the exact kind within a class) may change as the run gets
 * smaller, the root cause does not. --match names the kinds instead. */
enum bug_class {
	BUG_DATA_LOSS,   /* a commit's effects missing or extra at the end */
	BUG_WRONG_READ,  /* a read no serial order explains */
	BUG_CORRUPTION,  /* the database or its recovery is broken */
	BUG_ERROR,       /* an error, hang or failed setup */
};

static const struct {
	const char *kind;
	enum bug_class cls;
} bug_kinds[] = {
	{"lost_commit", BUG_DATA_LOSS},       {"lost_update", BUG_DATA_LOSS},
	{"phantom_commit", BUG_DATA_LOSS},    {"final_state", BUG_DATA_LOSS},
	{"read_mismatch", BUG_WRONG_READ},    {"aborted_read", BUG_WRONG_READ},
	{"intermediate_read", BUG_WRONG_READ}, {"dirty_read", BUG_WRONG_READ},
	{"read_skew", BUG_WRONG_READ},        {"write_skew", BUG_WRONG_READ},
	{"integrity_check", BUG_CORRUPTION},  {"foreign_key_check", BUG_CORRUPTION},
	{"invariant", BUG_CORRUPTION},        {"recovery_state", BUG_CORRUPTION},
	{"recovery_failed", BUG_CORRUPTION},  {"stale_schema_error", BUG_ERROR},
	{"hang", BUG_ERROR},                  {"setup_failed", BUG_ERROR},
	{"runaway_statement", BUG_ERROR},     {"reference_runaway", BUG_ERROR},
	{"reference_invariant", BUG_ERROR},
};

#define BUG_KIND_COUNT (sizeof bug_kinds / sizeof bug_kinds[0])
#define SHRINK_MATCH_MAX 32

/* Index in bug_kinds, or -1 for a kind the table does not know. */
static int bug_kind_index(const char *kind)
{
	for (size_t i = 0; i < BUG_KIND_COUNT; i++)
		if (strcmp(bug_kinds[i].kind, kind) == 0)
			return (int)i;
	return -1;
}

/* The kinds that count as the same bug. */
struct bug_match {
	char kinds[SHRINK_MATCH_MAX][64];
	uint32_t count;
};

static void match_add(struct bug_match *m, const char *kind)
{
	for (uint32_t i = 0; i < m->count; i++)
		if (strcmp(m->kinds[i], kind) == 0)
			return;
	WH_ASSERT(m->count < SHRINK_MATCH_MAX);
	snprintf(m->kinds[m->count++], sizeof m->kinds[0], "%s", kind);
}

/* Every kind of the class of `kind`; just `kind` when it has none. */
static void match_class_of(struct bug_match *m, const char *kind)
{
	int k = bug_kind_index(kind);
	if (k < 0) {
		match_add(m, kind);
		return;
	}
	for (size_t i = 0; i < BUG_KIND_COUNT; i++)
		if (bug_kinds[i].cls == bug_kinds[k].cls)
			match_add(m, bug_kinds[i].kind);
}

static bool match_has(const struct bug_match *m, const char *kind)
{
	for (uint32_t i = 0; i < m->count; i++)
		if (strcmp(m->kinds[i], kind) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Candidates                                                          */
/* ------------------------------------------------------------------ */

/* A run the shrinker can try: the flags it edits, the skips, the tape. */
struct cand {
	uint32_t conn_count;       /* --connections */
	uint64_t txn_count;        /* --txns */
	struct world_skip *skips;  /* sorted by (txn, stmt), no duplicates */
	uint32_t skip_count;
	char *setup;               /* setup SQL replacing the workload's
				      (owned), or NULL */
	struct simvfs_image image; /* files the run starts from (owned;
				      count 0: none); setup then states
				      what they hold */
	struct wh_tape tape;       /* owned */
};

static void cand_init(struct cand *c)
{
	memset(c, 0, sizeof *c);
	wh_tape_init(&c->tape);
}

static void cand_free(struct cand *c)
{
	free(c->skips);
	free(c->setup);
	simvfs_image_free(&c->image);
	wh_tape_free(&c->tape);
	memset(c, 0, sizeof *c);
}

static void cand_copy_meta(struct cand *dst, const struct cand *src)
{
	dst->conn_count = src->conn_count;
	dst->txn_count = src->txn_count;
	dst->skip_count = src->skip_count;
	dst->setup = src->setup ? wh_strdup(src->setup) : NULL;
	simvfs_image_copy(&dst->image, &src->image);
	dst->skips = NULL;
	if (src->skip_count > 0) {
		dst->skips = wh_malloc(src->skip_count * sizeof *dst->skips);
		memcpy(dst->skips, src->skips, src->skip_count * sizeof *dst->skips);
	}
}

static void cand_copy(struct cand *dst, const struct cand *src)
{
	cand_copy_meta(dst, src);
	wh_tape_copy(&dst->tape, &src->tape);
}

static int skip_cmp(const void *a, const void *b)
{
	const struct world_skip *x = a, *y = b;
	if (x->txn != y->txn)
		return x->txn < y->txn ? -1 : 1;
	return (x->stmt > y->stmt) - (x->stmt < y->stmt);
}

/* Sort the skips and drop duplicates: the world expects them sorted. */
static void cand_normalize_skips(struct cand *c)
{
	if (c->skip_count == 0)
		return;
	qsort(c->skips, c->skip_count, sizeof *c->skips, skip_cmp);
	uint32_t o = 1;
	for (uint32_t i = 1; i < c->skip_count; i++)
		if (skip_cmp(&c->skips[i], &c->skips[o - 1]) != 0)
			c->skips[o++] = c->skips[i];
	WH_ASSERT(o <= c->skip_count);
	c->skip_count = o;
}

static void cand_add_skip(struct cand *c, uint32_t txn, uint32_t stmt)
{
	c->skips = wh_realloc(c->skips, (c->skip_count + 1) * sizeof *c->skips);
	c->skips[c->skip_count].txn = txn;
	c->skips[c->skip_count].stmt = stmt;
	c->skip_count++;
}

static const struct wh_track *tape_find(const struct wh_tape *t, uint64_t stream)
{
	for (uint32_t i = 0; i < t->track_count; i++)
		if (t->tracks[i].stream == stream)
			return &t->tracks[i];
	return NULL;
}

static struct wh_track *tape_find_mut(struct wh_tape *t, uint64_t stream)
{
	for (uint32_t i = 0; i < t->track_count; i++)
		if (t->tracks[i].stream == stream)
			return &t->tracks[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* What a run showed                                                   */
/* ------------------------------------------------------------------ */

struct txn_info {
	uint32_t id;          /* history id */
	int conn;             /* its connection */
	uint32_t stmt_count;  /* statements executed */
	uint32_t action_off;  /* its statements' action indexes in
				 run_info.actions */
	/* Its share of the tape, meaningful when run_info.ranges_ok: the
	 * draws [lo, hi) of its connection's workload, latency and fault tracks,
	 * and the pick log positions [lo, hi) of which those whose owner is
	 * its connection are its own. */
	uint64_t draw_lo, draw_hi;
	uint64_t lat_lo, lat_hi;
	uint64_t fault_lo, fault_hi; /* its connection's fault decisions */
	uint64_t pick_lo, pick_hi;
	/* Where it sits in the run, for the prefix pass. */
	uint64_t begin_event, end_event;
	enum hist_outcome outcome;
	uint64_t visible_event;
	bool commit_hint;
	uint32_t end_rank;    /* how many transactions ended before it
				 (UINT32_MAX: it never ended) */
};

struct run_info {
	bool valid;               /* the run got as far as the oracle */
	struct shrink_size size;
	struct txn_info *txns;    /* by history id */
	uint32_t txn_count;
	uint32_t *actions;        /* action index of every executed
				     statement, by transaction */
	uint32_t action_count;
	bool ranges_ok;           /* tape ranges known for every txn */
	uint64_t first_crash;     /* event of the first crash or reopen,
				     UINT64_MAX when none */
	uint64_t *opened_pick;    /* per connection: the pick log's length
				     when it first finished opening
				     (UINT64_MAX: never opened) */
	char primary_kind[64];    /* first finding or unexplained violation */
	bool same_bug;            /* primary_kind is one the bug_match counts */
	/* The fault plan's draws placed among the transactions (power
	 * losses...: world_plan_draw), to keep them there (anchor_plan). */
	struct world_plan_draw plan_draws[WORLD_PLAN_DRAWS_MAX];
	uint32_t plan_draw_count;
};

static void info_free(struct run_info *info)
{
	free(info->txns);
	free(info->actions);
	free(info->opened_pick);
	memset(info, 0, sizeof *info);
}

/* Cursor snapshots taken by the progress callback at every finished
 * transaction: per call, every connection's workload, latency and fault
 * track cursors, then the length of the pick log (LOG_STRIDE values). A
 * fault decision is drawn for each call a connection makes, so a cut that
 * left another transaction's decisions on the track would move every
 * later fault of that connection onto other calls. */
#define LOG_STRIDE(conns) (3 * (uint64_t)(conns) + 1)

struct cursor_log {
	const struct wh_tape *tape;
	uint32_t conn_count;
	uint32_t *track_index;  /* stream slot -> index in tape->tracks (a
				   hint, re-found when it does not match) */
	uint64_t *cursors;
	uint64_t calls;
	uint64_t cap_calls;
	bool off;               /* too many to keep: ranges unknown */
	/* Per connection, its workload, latency, fault and pick-log positions
	 * when it first finished opening (4 per connection, in that order):
	 * its first transaction's share starts there, so cutting that
	 * transaction leaves the open, which every run still makes. */
	uint64_t *opened;
	bool *opened_seen;
};

/* Slot k of a snapshot: 0..n-1 workload tracks, n..2n-1 latency tracks,
 * 2n..3n-1 fault-decision tracks (engine/fault.c), 3n the pick log. */
static uint64_t slot_stream(uint32_t conn_count, uint32_t k)
{
	if (k < conn_count)
		return WH_STREAM_CONN + k;
	if (k < 2 * conn_count)
		return WH_STREAM_LATENCY_CONN + (k - conn_count);
	if (k < 3 * conn_count)
		return WH_STREAM_FAULTS_CONN + (k - 2 * conn_count);
	WH_ASSERT_EQ(k, 3 * conn_count);
	return WH_STREAM_PICKS;
}

static uint64_t log_cursor(struct cursor_log *log, uint32_t k)
{
	const struct wh_tape *t = log->tape;
	uint64_t stream = slot_stream(log->conn_count, k);
	uint32_t i = log->track_index[k];
	if (i >= t->track_count || t->tracks[i].stream != stream) {
		for (i = 0; i < t->track_count && t->tracks[i].stream != stream; i++)
			;
		log->track_index[k] = i;
	}
	return i < t->track_count ? t->tracks[i].cursor : 0;
}

static void log_txn_end(void *ctx, uint64_t done, uint64_t total)
{
	struct cursor_log *log = ctx;
	(void)done;
	(void)total;
	if (log->off)
		return;
	uint64_t stride = LOG_STRIDE(log->conn_count);
	if ((log->calls + 1) * stride > SHRINK_LOG_MAX) {
		log->off = true;
		return;
	}
	if (log->calls == log->cap_calls) {
		log->cap_calls = log->cap_calls ? log->cap_calls * 2 : 64;
		log->cursors = wh_realloc(log->cursors, log->cap_calls * stride * sizeof *log->cursors);
	}
	for (uint32_t k = 0; k < stride; k++)
		log->cursors[log->calls * stride + k] = log_cursor(log, k);
	log->calls++;
}

static void log_opened(void *ctx, int conn)
{
	struct cursor_log *log = ctx;
	uint32_t cc = log->conn_count;
	if (conn < 0 || (uint32_t)conn >= cc || log->opened_seen[conn])
		return;
	log->opened_seen[conn] = true;
	uint32_t c = (uint32_t)conn;
	log->opened[c] = log_cursor(log, c);
	log->opened[cc + c] = log_cursor(log, cc + c);
	log->opened[2 * cc + c] = log_cursor(log, 2 * cc + c);
	/* The pick log's length: a position in the one shared log. */
	log->opened[3 * cc + c] = log_cursor(log, 3 * cc);
}

struct event_ref {
	uint64_t event;
	int conn;
	bool closes;          /* the transaction ends with this event */
};

static int event_ref_cmp(const void *a, const void *b)
{
	const struct event_ref *x = a, *y = b;
	return cmp_u64(x->event, y->event);
}

/* Switches from a connection with an open transaction to another
 * connection, over the global event order. */
static uint64_t count_preemptions(const struct history *h)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < h->txn_count; i++)
		n += 3 + h->txns[i]->stmt_count;
	struct event_ref *ev = wh_malloc((n ? n : 1) * sizeof *ev);
	uint64_t k = 0;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		ev[k++] = (struct event_ref){t->begin_event, t->conn, false};
		for (uint32_t j = 0; j < t->stmt_count; j++)
			ev[k++] = (struct event_ref){t->stmts[j].event, t->conn, false};
		if (t->commit_event != 0)
			ev[k++] = (struct event_ref){t->commit_event, t->conn, false};
		if (t->outcome != HIST_RUNNING)
			ev[k++] = (struct event_ref){t->end_event, t->conn, true};
	}
	WH_ASSERT(k <= n);
	qsort(ev, k, sizeof *ev, event_ref_cmp);
	uint64_t pre = 0;
	for (uint64_t i = 0; i + 1 < k; i++)
		pre += ev[i].conn != ev[i + 1].conn && !ev[i].closes;
	free(ev);
	return pre;
}

struct txn_end_ref {
	uint64_t end_event;
	uint32_t id;
};

static int txn_end_ref_cmp(const void *a, const void *b)
{
	const struct txn_end_ref *x = a, *y = b;
	return cmp_u64(x->end_event, y->end_event);
}

/* Tape ranges: the k-th progress call is the k-th transaction to end. */
static bool assign_ranges(struct run_info *info, const struct history *h,
			  const struct cursor_log *log)
{
	if (log->off)
		return false;
	struct txn_end_ref *ends = wh_malloc((h->txn_count ? h->txn_count : 1) * sizeof *ends);
	uint32_t n = 0;
	for (uint32_t i = 0; i < h->txn_count; i++)
		if (h->txns[i]->outcome != HIST_RUNNING)
			ends[n++] = (struct txn_end_ref){h->txns[i]->end_event, i};
	bool ok = n == log->calls && n == h->txn_count;
	if (ok) {
		qsort(ends, n, sizeof *ends, txn_end_ref_cmp);
		uint32_t cc = log->conn_count;
		uint64_t stride = LOG_STRIDE(cc);
		/* per connection: workload, latency, fault and pick-log
		 * positions at the end of its previous transaction */
		uint64_t *last = wh_calloc(4 * (size_t)cc, sizeof *last);
		memcpy(last, log->opened, 4 * (size_t)cc * sizeof *last);
		for (uint32_t k = 0; k < n && ok; k++) {
			struct txn_info *ti = &info->txns[ends[k].id];
			if (ti->conn < 0 || (uint32_t)ti->conn >= cc) {
				ok = false;
				break;
			}
			uint32_t c = (uint32_t)ti->conn;
			const uint64_t *snap = &log->cursors[(uint64_t)k * stride];
			ti->draw_lo = last[c];
			ti->draw_hi = snap[c];
			ti->lat_lo = last[cc + c];
			ti->lat_hi = snap[cc + c];
			ti->fault_lo = last[2 * cc + c];
			ti->fault_hi = snap[2 * cc + c];
			ti->pick_lo = last[3 * cc + c];
			ti->pick_hi = snap[3 * cc];
			ok = ti->draw_hi >= ti->draw_lo && ti->lat_hi >= ti->lat_lo &&
			     ti->fault_hi >= ti->fault_lo &&
			     ti->pick_hi >= ti->pick_lo;
			last[c] = ti->draw_hi;
			last[cc + c] = ti->lat_hi;
			last[2 * cc + c] = ti->fault_hi;
			last[3 * cc + c] = ti->pick_hi;
		}
		free(last);
	}
	free(ends);
	return ok;
}

/* txn_info.end_rank: the order the transactions ended in, which is the
 * order the world counts them finished (the fault plan's positions). */
static void rank_ends(struct run_info *info)
{
	uint32_t n = info->txn_count;
	struct txn_end_ref *ends = wh_malloc((n ? n : 1) * sizeof *ends);
	uint32_t m = 0;
	for (uint32_t i = 0; i < n; i++) {
		info->txns[i].end_rank = UINT32_MAX;
		if (info->txns[i].outcome != HIST_RUNNING)
			ends[m++] = (struct txn_end_ref){info->txns[i].end_event, i};
	}
	qsort(ends, m, sizeof *ends, txn_end_ref_cmp);
	for (uint32_t k = 0; k < m; k++)
		info->txns[ends[k].id].end_rank = k;
	free(ends);
}

struct eval_ctx {
	const struct bug_match *match; /* NULL: the input's run (no target yet) */
	const struct cand *cand;
	const struct cursor_log *log;
	struct run_info *info;
};

static void inspect_search(void *ctx, const struct run_opts *o, const struct world_result *res,
			   const struct oracle_report *rep)
{
	struct eval_ctx *e = ctx;
	struct run_info *info = e->info;
	const struct history *h = &res->history;
	const struct world_stats *s = &res->stats;
	info->valid = true;
	/* The first finding, else the first unexplained violation: what the
	 * run's signature names (run.c). Only that one decides: a run whose
	 * first failure is another bug, with ours further down, would hand
	 * back a repro that reports the other bug. */
	for (uint32_t i = 0; i < res->finding_count && info->primary_kind[0] == '\0'; i++)
		snprintf(info->primary_kind, sizeof info->primary_kind, "%s", res->findings[i].kind);
	for (uint32_t i = 0; rep && i < rep->violation_count && info->primary_kind[0] == '\0'; i++)
		if (!rep->violations[i].expected)
			snprintf(info->primary_kind, sizeof info->primary_kind, "%s",
				 rep->violations[i].kind);
	info->same_bug = e->match != NULL && info->primary_kind[0] != '\0' &&
			 match_has(e->match, info->primary_kind);
	info->size.statements = s->statements;
	info->size.conns = o->cfg.conn_count;
	info->size.txns = h->txn_count;
	info->size.faults = s->faults_injected + s->alloc_failures + s->disk_full + s->crashes +
			    s->reopens + s->bitflips;
	info->size.preemptions = count_preemptions(h);
	info->size.setup_bytes = e->cand->setup ? strlen(e->cand->setup) : 0;
	for (uint32_t i = 0; i < e->cand->image.count; i++)
		info->size.image_bytes += (uint64_t)e->cand->image.files[i].size;
	info->first_crash = h->crash_count > 0 ? h->crashes[0].event : UINT64_MAX;
	info->plan_draw_count = res->plan_draw_count;
	memcpy(info->plan_draws, res->plan_draws, res->plan_draw_count * sizeof *res->plan_draws);

	info->txn_count = h->txn_count;
	info->txns = wh_calloc(h->txn_count ? h->txn_count : 1, sizeof *info->txns);
	uint64_t total = 0;
	for (uint32_t i = 0; i < h->txn_count; i++)
		total += h->txns[i]->stmt_count;
	WH_ASSERT(total < UINT32_MAX);
	info->actions = wh_malloc((total ? total : 1) * sizeof *info->actions);
	/* The skip list says which actions of a transaction did not run; the
	 * executed statements are the remaining actions, in order. */
	const struct cand *c = e->cand;
	uint32_t sk = 0, off = 0;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		struct txn_info *ti = &info->txns[i];
		WH_ASSERT_EQ(t->id, i);
		ti->id = i;
		ti->conn = t->conn;
		ti->stmt_count = t->stmt_count;
		ti->action_off = off;
		ti->begin_event = t->begin_event;
		ti->end_event = t->end_event;
		ti->outcome = t->outcome;
		ti->visible_event = t->visible_event;
		ti->commit_hint = t->commit_hint;
		while (sk < c->skip_count && c->skips[sk].txn < i)
			sk++;
		uint32_t action = 0;
		for (uint32_t j = 0; j < t->stmt_count; j++) {
			while (sk < c->skip_count && c->skips[sk].txn == i &&
			       c->skips[sk].stmt <= action) {
				if (c->skips[sk].stmt == action)
					action++;
				sk++;
			}
			info->actions[off++] = action++;
		}
	}
	WH_ASSERT_EQ(off, total);
	info->action_count = off;
	rank_ends(info);
	info->ranges_ok = assign_ranges(info, h, e->log);
	uint32_t cc = e->log->conn_count;
	info->opened_pick = wh_malloc((cc ? cc : 1) * sizeof *info->opened_pick);
	for (uint32_t i = 0; i < cc; i++)
		info->opened_pick[i] =
			e->log->opened_seen[i] ? e->log->opened[3 * (size_t)cc + i] : UINT64_MAX;
}

/* ------------------------------------------------------------------ */
/* The search                                                          */
/* ------------------------------------------------------------------ */

struct shrinker {
	const char *in_path;
	struct replay_file rf;      /* the input (its argv backs `opts`) */
	struct run_opts opts;       /* parsed from the input's flags */
	char signature[512];        /* the input's signature */
	struct bug_match match;     /* kinds a candidate must fail with */
	bool match_ready;           /* match is set (after the input's run) */
	bool grain_limited;         /* this round's value passes left chunks
				       finer than their grain untried */
	bool known_target;          /* the input is a known finding and no
				       --match was given: a candidate must
				       show the same catalogue entries (its
				       signature), not just the class */
	char best_signature[512];   /* signature of best */
	struct cand best;           /* smallest failing run so far */
	struct run_info best_info;
	uint64_t best_hash;         /* its trace hash */
	struct shrink_size start_size;
	uint64_t last_value;        /* a raw draw that picks the last option */
	uint64_t attempts;
	uint64_t accepted;
	double deadline_s;          /* monotonic */
	double start_s;
	double slowest_attempt_s;   /* wall time of the slowest run so far */
	double last_progress_s;     /* when the last progress line was shown */
	bool stopped;               /* the time limit was hit, or a signal */
	bool tty;                   /* progress redrawn on a terminal */
	bool progress;              /* progress on stderr (not --quiet) */
	const char *pass;           /* name of the pass running */
};

/* Set by SIGINT/SIGTERM: stop searching and write the best run so far. */
static volatile sig_atomic_t shrink_interrupted;

static void on_interrupt(int sig)
{
	shrink_interrupted = 1;
	/* A second signal ends the process the usual way. */
	signal(sig, SIG_DFL);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The only wall-clock decision: whether to stop. Another attempt must
 * fit before the deadline with room for the final replay, which costs
 * about one attempt too. */
static bool time_up(struct shrinker *sh)
{
	if (!sh->stopped &&
	    (shrink_interrupted || mono_s() + 2 * sh->slowest_attempt_s >= sh->deadline_s))
		sh->stopped = true;
	return sh->stopped;
}

/* Progress on stderr: on a terminal one line redrawn every few attempts
 * and at every success; otherwise a line at a success at most every
 * SHRINK_PROGRESS_EVERY_S, so a log stays short. */
static void show_progress(struct shrinker *sh, bool accepted)
{
	if (!sh->progress)
		return;
	double now = mono_s();
	if (sh->tty ? (!accepted && sh->attempts % 8 != 0)
		    : (!accepted || now - sh->last_progress_s < SHRINK_PROGRESS_EVERY_S))
		return;
	sh->last_progress_s = now;
	const struct shrink_size *s = &sh->best_info.size;
	fprintf(stderr, "%swhopper shrink: %.0f s, pass %s, attempt %" PRIu64 ": %" PRIu64
			" statements, %" PRIu64 " connections, %" PRIu64 " transactions%s",
		sh->tty ? "\r" : "", now - sh->start_s, sh->pass, sh->attempts, s->statements,
		s->conns, s->txns, sh->tty ? "\033[K" : "\n");
}

/* Run c and fill out/info. c's tape is rewound first and afterwards holds
 * exactly the draws the run made. */
static void evaluate(struct shrinker *sh, struct cand *c, struct run_outcome *out,
		     struct run_info *info)
{
	memset(info, 0, sizeof *info);
	struct run_opts o = sh->opts;
	o.cfg.conn_count = c->conn_count;
	o.cfg.txn_count = c->txn_count;
	o.cfg.skips = c->skips;
	o.cfg.skip_count = c->skip_count;
	o.cfg.setup_sql = c->setup;
	o.cfg.image = c->image.count > 0 ? &c->image : NULL;
	o.json = false;
	o.quiet = true;
	o.trace_path = NULL;
	o.record_path = NULL;
	struct cursor_log log = {.tape = &c->tape, .conn_count = c->conn_count};
	uint64_t stride = LOG_STRIDE(c->conn_count);
	log.track_index = wh_malloc(stride * sizeof *log.track_index);
	for (uint64_t i = 0; i < stride; i++)
		log.track_index[i] = UINT32_MAX;
	log.opened = wh_calloc(4 * (size_t)c->conn_count + 1, sizeof *log.opened);
	log.opened_seen = wh_calloc((size_t)c->conn_count + 1, sizeof *log.opened_seen);
	o.cfg.progress = log_txn_end;
	o.cfg.opened = log_opened;
	o.cfg.progress_ctx = &log;
	struct eval_ctx e = {.match = sh->match_ready ? &sh->match : NULL, .cand = c,
			     .log = &log, .info = info};
	wh_tape_rewind(&c->tape);
	run_once(&o, &c->tape, false, out, inspect_search, &e);
	info->size.tape_values = wh_tape_size(&c->tape);
	for (uint32_t t = 0; t < c->tape.track_count; t++)
		for (uint64_t k = 0; k < c->tape.tracks[t].count; k++)
			info->size.value_bits += bit_length(c->tape.tracks[t].values[k]);
	free(log.cursors);
	free(log.track_index);
	free(log.opened);
	free(log.opened_seen);
}

/* Try a candidate; consumes c. True when it failed the same way and is
 * smaller: it then becomes the best. */
static bool try_candidate(struct shrinker *sh, struct cand *c)
{
	if (time_up(sh)) {
		cand_free(c);
		return false;
	}
	sh->attempts++;
	cand_normalize_skips(c);
	struct run_outcome out;
	struct run_info info;
	double t0 = mono_s();
	evaluate(sh, c, &out, &info);
	double took = mono_s() - t0;
	if (took > sh->slowest_attempt_s)
		sh->slowest_attempt_s = took;
	/* A known finding is its catalogue entry: the same signature. Else
	 * the class of the input's first failure (or --match), still new: a
	 * candidate that turned into a known finding shows another bug. */
	bool same = sh->known_target ? strcmp(out.signature, sh->signature) == 0
				     : info.same_bug && (strncmp(sh->signature, "new:", 4) != 0 ||
							 strncmp(out.signature, "new:", 4) == 0);
	bool ok = info.valid && out.exit_code == WH_EXIT_FINDING && same &&
		  size_cmp(&info.size, &sh->best_info.size) < 0;
	if (!ok) {
		info_free(&info);
		cand_free(c);
		show_progress(sh, false);
		return false;
	}
	cand_free(&sh->best);
	sh->best = *c;
	memset(c, 0, sizeof *c);
	info_free(&sh->best_info);
	sh->best_info = info;
	sh->best_hash = out.trace_hash;
	snprintf(sh->best_signature, sizeof sh->best_signature, "%s", out.signature);
	sh->accepted++;
	show_progress(sh, true);
	return true;
}

/* Skips of the best run, with the transactions in `removed` (by id,
 * ascending) dropped and later ids shifted down: the best guess of where
 * they land when those transactions no longer run. */
static void remap_skips(const struct cand *best, struct cand *c, const uint32_t *removed,
			uint32_t removed_count)
{
	free(c->skips);
	c->skips = NULL;
	c->skip_count = 0;
	uint32_t r = 0;
	for (uint32_t i = 0; i < best->skip_count; i++) {
		uint32_t t = best->skips[i].txn;
		while (r < removed_count && removed[r] < t)
			r++;
		if (r < removed_count && removed[r] == t)
			continue;
		cand_add_skip(c, t - r, best->skips[i].stmt);
	}
}

/* A copy of the best tape without the transactions listed (by id,
 * ascending): their workload and latency draws, and their entries of the
 * pick log. What stays keeps its order, so the surviving events of every
 * connection run in the same relative order as before (sched.h). With
 * drop_opens, each connection's picks of its opening go too: a run from
 * a collapsed prefix opens off the log. */
static void tape_without_txns(const struct shrinker *sh, const uint32_t *ids, uint32_t n,
			      bool drop_opens, struct wh_tape *dst)
{
	const struct run_info *info = &sh->best_info;
	const struct wh_tape *src = &sh->best.tape;
	uint32_t cc = sh->best.conn_count;
	wh_tape_init(dst);
	for (uint32_t t = 0; t < src->track_count; t++) {
		const struct wh_track *s = &src->tracks[t];
		struct wh_track *d = wh_tape_track(dst, s->stream);
		bool *drop = wh_calloc(s->count ? s->count : 1, sizeof *drop);
		for (uint32_t i = 0; i < n; i++) {
			const struct txn_info *ti = &info->txns[ids[i]];
			uint64_t conn = (uint64_t)ti->conn;
			uint64_t lo = 0, hi = 0;
			bool picks = false;
			if (s->stream == WH_STREAM_CONN + conn) {
				lo = ti->draw_lo;
				hi = ti->draw_hi;
			} else if (s->stream == WH_STREAM_LATENCY_CONN + conn) {
				lo = ti->lat_lo;
				hi = ti->lat_hi;
			} else if (s->stream == WH_STREAM_FAULTS_CONN + conn) {
				lo = ti->fault_lo;
				hi = ti->fault_hi;
			} else if (s->stream == WH_STREAM_PICKS) {
				lo = ti->pick_lo;
				hi = ti->pick_hi;
				picks = true;
			}
			if (hi > s->count)
				hi = s->count;
			for (uint64_t k = lo; k < hi; k++)
				if (!picks || sched_pick_owner(s->values[k]) == ti->conn)
					drop[k] = true;
		}
		for (uint64_t k = 0; drop_opens && s->stream == WH_STREAM_PICKS && k < s->count; k++) {
			int o = sched_pick_owner(s->values[k]);
			if (o >= 0 && (uint32_t)o < cc && k < info->opened_pick[o])
				drop[k] = true;
		}
		for (uint64_t k = 0; k < s->count; k++)
			if (!drop[k])
				wh_track_push(d, s->values[k]);
		free(drop);
	}
}

/* A copy of the best tape without the connections marked in `gone`
 * (by id): their workload, latency and fault tracks and their picks go, and the
 * connections above each move down, so every survivor keeps its own
 * draws and its place in the pick log. */
static void tape_without_conns(const struct shrinker *sh, const bool *gone, struct wh_tape *dst)
{
	const struct wh_tape *src = &sh->best.tape;
	uint32_t cc = sh->best.conn_count;
	uint32_t *new_id = wh_malloc((cc ? cc : 1) * sizeof *new_id);
	uint32_t next = 0;
	for (uint32_t i = 0; i < cc; i++)
		new_id[i] = gone[i] ? UINT32_MAX : next++;
	wh_tape_init(dst);
	for (uint32_t t = 0; t < src->track_count; t++) {
		const struct wh_track *s = &src->tracks[t];
		uint64_t id = s->stream;
		uint64_t base = 0;
		if (id >= WH_STREAM_CONN && id < WH_STREAM_CONN + cc)
			base = WH_STREAM_CONN;
		else if (id >= WH_STREAM_LATENCY_CONN && id < WH_STREAM_LATENCY_CONN + cc)
			base = WH_STREAM_LATENCY_CONN;
		else if (id >= WH_STREAM_FAULTS_CONN && id < WH_STREAM_FAULTS_CONN + cc)
			base = WH_STREAM_FAULTS_CONN;
		if (base != 0) {
			if (new_id[id - base] == UINT32_MAX)
				continue;
			id = base + new_id[id - base];
		}
		struct wh_track *d = wh_tape_track(dst, id);
		for (uint64_t k = 0; k < s->count; k++) {
			uint64_t v = s->values[k];
			if (s->stream == WH_STREAM_PICKS) {
				int o = sched_pick_owner(v);
				if (o >= 0 && (uint32_t)o < cc) {
					if (new_id[o] == UINT32_MAX)
						continue;
					v = sched_pick_reowned(v, (int)new_id[o]);
				}
			}
			wh_track_push(d, v);
		}
	}
	free(new_id);
}

/* Keep the best run's power losses (reopens, bit flip, disk-full window)
 * where they were in a candidate c with another --txns, or without the
 * transactions in `removed` (by id, ascending). Their plan draws are
 * taken below --txns (engine/fault.c), so the same raw draw would put
 * each at a random other point of the candidate - as often as not before
 * the race, which then never happens: most structural candidates of a
 * run with power losses failed for that alone. A position (transactions
 * finished) loses the removed transactions that had ended by it, and is
 * written back as its own raw draw (a draw below the bound gives itself);
 * one at or past the candidate's bound goes to its last transaction, a
 * length keeps its value within its bound. The candidate is judged by
 * running it, like every other: this only stops the search from moving
 * what it did not mean to. */
static void anchor_plan(const struct shrinker *sh, struct cand *c, const uint32_t *removed,
			uint32_t n)
{
	const struct run_info *info = &sh->best_info;
	struct wh_track *tr = tape_find_mut(&c->tape, WH_STREAM_FAULTS);
	for (uint32_t i = 0; tr != NULL && i < info->plan_draw_count; i++) {
		const struct world_plan_draw *d = &info->plan_draws[i];
		if (d->draw >= tr->count)
			continue;
		uint64_t v = d->value;
		if (d->kind == WORLD_PLAN_AT) {
			uint64_t gone = 0;
			for (uint32_t k = 0; k < n; k++)
				gone += info->txns[removed[k]].end_rank < v;
			v -= gone;
		}
		uint64_t bound = world_plan_draw_bound(d->kind, c->txn_count);
		tr->values[d->draw] = v < bound ? v : bound - 1;
	}
}

/* Pass 1: the smallest --txns that still fails, by binary search. */
static bool pass_txns(struct shrinker *sh)
{
	bool any = false;
	/* From 0: a defect may show with no transaction at all (a setup that
	 * a crash loses). */
	uint64_t lo = 0, hi = sh->best.txn_count;
	if (sh->best_info.txn_count < hi)
		hi = sh->best_info.txn_count;
	while (lo < hi && !sh->stopped) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct cand c;
		cand_init(&c);
		cand_copy(&c, &sh->best);
		c.txn_count = mid;
		uint32_t o = 0;
		for (uint32_t i = 0; i < c.skip_count; i++)
			if (c.skips[i].txn < mid)
				c.skips[o++] = c.skips[i];
		c.skip_count = o;
		anchor_plan(sh, &c, NULL, 0);
		if (try_candidate(sh, &c)) {
			any = true;
			hi = sh->best.txn_count < mid ? sh->best.txn_count : mid;
		} else {
			lo = mid + 1;
		}
	}
	return any;
}

/* ------------------------------------------------------------------ */
/* Pass 2: collapse the prefix                                         */
/* ------------------------------------------------------------------ */

static void cand_to_replay(const struct shrinker *sh, const struct cand *c,
			   struct replay_file *rf);

/* Window starts tried per pass (see pass_prefix). */
#define PREFIX_RUNGS 24

struct prefix_cut {
	uint64_t start;    /* window start: the event the kept part begins at */
	uint32_t *ids;     /* transactions that began before it, ascending */
	uint32_t n;
	uint32_t *apply;   /* of which those whose effects the setup holds,
			      in the order they became visible */
	uint32_t apply_count;
	char *setup;       /* the state they built (shrink_setup.c) */
	struct simvfs_image image; /* the files at the window start, when
				      they were quiescent and hold exactly
				      that state (count 0: not usable) */
};

static int u64_cmp(const void *a, const void *b)
{
	return cmp_u64(*(const uint64_t *)a, *(const uint64_t *)b);
}

/* When a transaction's effects became visible to others: the order the
 * commit order follows (history.h: visible_event, else end_event). */
static uint64_t visible_key(const struct txn_info *ti)
{
	return ti->visible_event != 0 ? ti->visible_event : ti->end_event;
}

/* Whether the setup takes a removed transaction's effects: a commit, or
 * an indeterminate one whose commit point the driver saw pass (its hint;
 * a guess, but the candidate is judged by running it like every other). */
static bool takes_effects(const struct txn_info *ti)
{
	return ti->outcome == HIST_COMMITTED || (ti->outcome == HIST_INDETERMINATE && ti->commit_hint);
}

/* An applied transaction and the order it takes in the setup. */
struct apply_ref {
	uint64_t key; /* visible_key */
	uint32_t id;
};

static int apply_ref_cmp(const void *a, const void *b)
{
	const struct apply_ref *x = a, *y = b;
	if (x->key != y->key)
		return cmp_u64(x->key, y->key);
	return (x->id > y->id) - (x->id < y->id);
}

/* cut->apply in the order the commits became visible. */
static void sort_apply(const struct run_info *info, struct prefix_cut *cut)
{
	uint32_t n = cut->apply_count;
	struct apply_ref *refs = wh_malloc((n ? n : 1) * sizeof *refs);
	for (uint32_t i = 0; i < n; i++)
		refs[i] = (struct apply_ref){visible_key(&info->txns[cut->apply[i]]), cut->apply[i]};
	qsort(refs, n, sizeof *refs, apply_ref_cmp);
	for (uint32_t i = 0; i < n; i++)
		cut->apply[i] = refs[i].id;
	free(refs);
}

/* The transactions a cut at window start `start` removes - every one
 * that began before it, or with keep_open only those that also ended
 * before it (a transaction cannot be half kept: one still open at the
 * start either goes whole or runs again whole from the start of the
 * window; which keeps the race is found by trying) - when they can be
 * folded into a setup: every one of them ended, no crash or reopen came
 * before the window (the state would then depend on what the power loss
 * kept), and every commit that stays became visible after every effect
 * the setup takes, so the serial state the setup holds is where the kept
 * transactions start from. */
static bool prefix_cut_plan(const struct run_info *info, uint64_t start, bool keep_open,
			    struct prefix_cut *cut)
{
	memset(cut, 0, sizeof *cut);
	cut->start = start;
	if (info->first_crash < start)
		return false;
	uint64_t last_applied = 0;
	bool *gone = wh_calloc(info->txn_count ? info->txn_count : 1, sizeof *gone);
	cut->ids = wh_malloc((info->txn_count ? info->txn_count : 1) * sizeof *cut->ids);
	cut->apply = wh_malloc((info->txn_count ? info->txn_count : 1) * sizeof *cut->apply);
	bool ok = true;
	for (uint32_t i = 0; i < info->txn_count && ok; i++) {
		const struct txn_info *ti = &info->txns[i];
		if (ti->begin_event >= start ||
		    (keep_open && (ti->outcome == HIST_RUNNING || ti->end_event >= start)))
			continue;
		ok = ti->outcome != HIST_RUNNING;
		gone[i] = true;
		cut->ids[cut->n++] = i;
		if (takes_effects(ti)) {
			cut->apply[cut->apply_count++] = i;
			if (visible_key(ti) > last_applied)
				last_applied = visible_key(ti);
		}
	}
	for (uint32_t i = 0; i < info->txn_count && ok; i++)
		if (!gone[i] && info->txns[i].outcome == HIST_COMMITTED &&
		    visible_key(&info->txns[i]) < last_applied)
			ok = false;
	free(gone);
	if (!ok || cut->n == 0)
		return false;
	sort_apply(info, cut);
	return true;
}

static void prefix_cut_free(struct prefix_cut *c)
{
	free(c->ids);
	free(c->apply);
	free(c->setup);
	simvfs_image_free(&c->image);
	memset(c, 0, sizeof *c);
}

/* By effects folded in, then by transactions removed. */
static int prefix_cut_cmp(const void *a, const void *b)
{
	const struct prefix_cut *x = a, *y = b;
	if (x->apply_count != y->apply_count)
		return cmp_u64(x->apply_count, y->apply_count);
	return cmp_u64(x->n, y->n);
}

struct prefix_ctx {
	struct prefix_cut *cuts;
	uint32_t n;
	uint64_t *snap_events;       /* the cuts' starts, ascending, once */
	struct simvfs_image *snaps;  /* the files at each of them */
	uint32_t snap_count;
};

/* Inspector of the best run replayed once more: the setups of all cuts
 * from its history (the run's own setup, then its commits). */
static void inspect_prefix(void *ctx, const struct run_opts *o, const struct world_result *res,
			   const struct oracle_report *rep)
{
	(void)rep;
	struct prefix_ctx *p = ctx;
	const char *pragmas[2 * WORLD_MAX_PRAGMAS];
	uint32_t np = 0;
	for (uint32_t i = 0; i < o->cfg.workload->pragma_count && np < 2 * WORLD_MAX_PRAGMAS; i++)
		pragmas[np++] = o->cfg.workload->pragmas[i];
	for (uint32_t i = 0; i < o->cfg.pragma_count && np < 2 * WORLD_MAX_PRAGMAS; i++)
		pragmas[np++] = o->cfg.pragmas[i];
	struct shrink_cut *sc = wh_calloc(p->n ? p->n : 1, sizeof *sc);
	for (uint32_t k = 0; k < p->n; k++) {
		sc[k].apply = p->cuts[k].apply;
		sc[k].apply_count = p->cuts[k].apply_count;
	}
	shrink_setup_build(res->history.setup_sql, pragmas, np, &res->history, sc, p->n);
	for (uint32_t k = 0; k < p->n; k++)
		p->cuts[k].setup = sc[k].setup;
	free(sc);
	/* The files at a cut's start can stand in for its setup only if
	 * they hold exactly the state the setup states (not so when the
	 * prefix already went wrong, or an indeterminate commit went the
	 * other way than the setup guessed). */
	for (uint32_t k = 0; k < p->n; k++) {
		struct prefix_cut *c = &p->cuts[k];
		for (uint32_t i = 0; i < p->snap_count && c->setup != NULL; i++) {
			if (p->snap_events[i] != c->start || p->snaps[i].count == 0)
				continue;
			if (shrink_image_holds(&p->snaps[i], res->db_path, c->setup))
				simvfs_image_copy(&c->image, &p->snaps[i]);
		}
	}
}

/* The files at each cut's start are taken in the same replay that builds
 * the setups, when the run starts from files (or could: only the
 * simulated VFS has them, and only the linked SQLite reads them back to
 * check what they hold; an encrypted database it cannot read). */
static bool prefix_images_possible(const struct shrinker *sh)
{
	const struct run_opts *o = &sh->opts;
	return o->cfg.target == WORLD_TARGET_SIM && (o->cfg.api == NULL || o->cfg.api->linked) &&
	       !world_has_open_pragmas(&o->cfg);
}

static void prefix_snaps_plan(struct prefix_ctx *pc)
{
	pc->snap_events = wh_malloc((pc->n ? pc->n : 1) * sizeof *pc->snap_events);
	for (uint32_t k = 0; k < pc->n; k++)
		pc->snap_events[k] = pc->cuts[k].start;
	qsort(pc->snap_events, pc->n, sizeof *pc->snap_events, u64_cmp);
	uint32_t m = 0;
	for (uint32_t k = 0; k < pc->n; k++)
		if (m == 0 || pc->snap_events[m - 1] != pc->snap_events[k])
			pc->snap_events[m++] = pc->snap_events[k];
	pc->snap_count = m;
	pc->snaps = wh_calloc(m ? m : 1, sizeof *pc->snaps);
}

static void prefix_snaps_free(struct prefix_ctx *pc)
{
	for (uint32_t i = 0; i < pc->snap_count; i++)
		simvfs_image_free(&pc->snaps[i]);
	free(pc->snaps);
	free(pc->snap_events);
}

/* Window starts: begins of transactions, from the end of the run
 * backwards, the first valid one at or before the 1st, 2nd, 4th, 7th,
 * 11th... begin from the end (steps growing by half): the biggest cuts
 * first, a few tries. Whether a cut keeps the failure is not monotone in
 * its size, so the ladder is dense. Returns how many cuts it filled. */
static uint32_t prefix_cuts_list(const struct run_info *info, struct prefix_cut *cuts)
{
	uint64_t *begins = wh_malloc(info->txn_count * sizeof *begins);
	for (uint32_t i = 0; i < info->txn_count; i++)
		begins[i] = info->txns[i].begin_event;
	qsort(begins, info->txn_count, sizeof *begins, u64_cmp);
	uint32_t n = 0;
	uint32_t step = 1;
	for (uint32_t q = info->txn_count; q-- > 1 && n < PREFIX_RUNGS;) {
		if (info->txn_count - q < step)
			continue;
		bool found = false;
		for (int keep_open = 1; keep_open >= 0 && n < PREFIX_RUNGS; keep_open--) {
			struct prefix_cut c;
			if (prefix_cut_plan(info, begins[q], keep_open, &c) &&
			    (n == 0 || cuts[n - 1].n != c.n)) {
				cuts[n++] = c;
				found = true;
			} else {
				prefix_cut_free(&c);
			}
		}
		while (found && info->txn_count - q >= step)
			step += step / 2 + 1;
	}
	free(begins);
	return n;
}

/* Pass 2: replace the transactions before a window at the end of the
 * run by a setup holding what they committed, so that the repro is a
 * short setup plus the transactions that race. The window starts where
 * one of the last-begun transactions began; the smallest window is tried
 * first. Each cut's transactions leave the tape as in the transaction
 * pass, so the kept ones run in the same relative order. */
static bool pass_prefix(struct shrinker *sh)
{
	const struct run_info *info = &sh->best_info;
	if (!info->ranges_ok || info->txn_count < 2)
		return false;
	struct prefix_cut cuts[PREFIX_RUNGS];
	uint32_t n = prefix_cuts_list(info, cuts);
	if (n == 0)
		return false;
	/* Smallest setups first (shrink_setup_build then mostly goes on
	 * from the previous cut's state); they are tried from the last, the
	 * biggest. */
	qsort(cuts, n, sizeof *cuts, prefix_cut_cmp);
	struct prefix_ctx pc = {.cuts = cuts, .n = n};
	bool images = prefix_images_possible(sh);
	if (images)
		prefix_snaps_plan(&pc);
	struct run_opts o = sh->opts;
	o.cfg.conn_count = sh->best.conn_count;
	o.cfg.txn_count = sh->best.txn_count;
	o.cfg.skips = sh->best.skips;
	o.cfg.skip_count = sh->best.skip_count;
	o.cfg.setup_sql = sh->best.setup;
	o.cfg.image = sh->best.image.count > 0 ? &sh->best.image : NULL;
	o.cfg.snap_events = pc.snap_events;
	o.cfg.snap_count = pc.snap_count;
	o.cfg.snap_images = pc.snaps;
	o.json = false;
	o.quiet = true;
	o.trace_path = NULL;
	o.record_path = NULL;
	struct wh_tape tape;
	wh_tape_init(&tape);
	wh_tape_copy(&tape, &sh->best.tape);
	wh_tape_rewind(&tape);
	struct run_outcome out;
	run_once(&o, &tape, false, &out, inspect_prefix, &pc);
	wh_tape_free(&tape);

	if (images)
		prefix_snaps_free(&pc);

	/* Each cut as setup SQL first (a repro in plain SQL), then, when
	 * that passes, from the files at its start: what the SQL cannot
	 * hold (a hot journal) may be what the race needs. */
	bool any = false;
	for (uint32_t i = n; i-- > 0;) {
		struct prefix_cut *c = &cuts[i];
		for (int variant = 0; variant < 2 && !any && !sh->stopped && c->setup != NULL;
		     variant++) {
			if (variant == 1 && c->image.count == 0)
				break;
			struct cand cand;
			cand_init(&cand);
			cand_copy_meta(&cand, &sh->best);
			free(cand.setup);
			cand.setup = wh_strdup(c->setup);
			simvfs_image_free(&cand.image);
			if (variant == 1)
				simvfs_image_copy(&cand.image, &c->image);
			cand.txn_count = cand.txn_count > c->n ? cand.txn_count - c->n : 1;
			remap_skips(&sh->best, &cand, c->ids, c->n);
			tape_without_txns(sh, c->ids, c->n, true, &cand.tape);
			anchor_plan(sh, &cand, c->ids, c->n);
			any = try_candidate(sh, &cand);
		}
		prefix_cut_free(c);
	}
	return any;
}

/* Remove the connections marked in `gone` (at least one survives). */
static bool remove_conns(struct shrinker *sh, const bool *gone)
{
	const struct run_info *info = &sh->best_info;
	uint32_t *ids = wh_malloc((info->txn_count ? info->txn_count : 1) * sizeof *ids);
	uint32_t n = 0, kept = 0;
	for (uint32_t i = 0; i < info->txn_count; i++)
		if (info->txns[i].conn >= 0 && (uint32_t)info->txns[i].conn < sh->best.conn_count &&
		    gone[info->txns[i].conn])
			ids[n++] = i;
	for (uint32_t i = 0; i < sh->best.conn_count; i++)
		kept += !gone[i];
	WH_ASSERT(kept >= 1);
	struct cand c;
	cand_init(&c);
	cand_copy_meta(&c, &sh->best);
	c.conn_count = kept;
	c.txn_count = c.txn_count > n ? c.txn_count - n : 1;
	remap_skips(&sh->best, &c, ids, n);
	tape_without_conns(sh, gone, &c.tape);
	anchor_plan(sh, &c, ids, n);
	free(ids);
	return try_candidate(sh, &c);
}

/* Pass 2: drop connections, the big cuts first: ddmin over connection
 * ids (halves, then quarters, ... then single connections), highest
 * chunk first so the renumbering moves as few survivors as possible. */
static bool pass_conns(struct shrinker *sh)
{
	bool any = false;
	uint32_t chunks = 2;
	while (!sh->stopped && sh->best.conn_count > 1) {
		uint32_t cc = sh->best.conn_count;
		if (chunks > cc)
			chunks = cc;
		bool removed = false;
		bool *gone = wh_calloc(cc, sizeof *gone);
		for (uint32_t i = chunks; i-- > 0 && !sh->stopped && !removed;) {
			uint32_t lo = (uint32_t)((uint64_t)cc * i / chunks);
			uint32_t hi = (uint32_t)((uint64_t)cc * (i + 1) / chunks);
			if (lo >= hi || hi - lo >= cc)
				continue;
			memset(gone, 0, cc * sizeof *gone);
			for (uint32_t k = lo; k < hi; k++)
				gone[k] = true;
			removed = remove_conns(sh, gone);
		}
		free(gone);
		if (removed) {
			any = true;
			chunks = chunks > 2 ? chunks - 1 : 2;
			continue;
		}
		if (chunks >= cc)
			break;
		chunks = chunks * 2 < cc ? chunks * 2 : cc;
	}
	return any;
}

/* Whether the first statement action of a transaction may be skipped.
 * Not yet: the driver hands the workload the previous executed statement
 * as `prev`; with the first one skipped there is none, and a workload
 * that stored that statement's row (\gset) asserts prev != NULL, while an
 * autocommit transaction without its one statement asserts in the
 * driver. Either would abort the whole shrink, so such skips are not
 * generated (whole transactions still go, through their tape ranges).
 * Set to 1 once the driver tolerates them. */
#define SHRINK_SKIP_FIRST_ACTION 1

static bool action_skippable(uint32_t action)
{
	return SHRINK_SKIP_FIRST_ACTION || action != 0;
}

/* An item delta debugging removes: a transaction, or one statement
 * action of a transaction. */
struct item {
	uint32_t txn;
	uint32_t action;
};

typedef uint32_t (*items_fn)(const struct shrinker *sh, struct item *out);
typedef bool (*remove_fn)(struct shrinker *sh, const struct item *items, uint32_t n);

/* ddmin (reduce to complement): split the items into n chunks, try
 * removing each; on success go on over the new best with n-1 chunks,
 * else double n until chunks are single items. Items are re-listed from
 * the best run after every success, because ids shift when it changes.
 * After a success the chunks are tried from where it was, around to the
 * ones before it: those were just tried and kept, and starting over from
 * the first made each success at a fine grain cost a sweep of every
 * chunk before it (quadratic in the items where most must stay). */
static bool ddmin(struct shrinker *sh, items_fn list, remove_fn remove)
{
	bool any = false;
	uint32_t n = 2;
	uint32_t from = 0; /* chunk to try first */
	struct item *items = NULL;
	while (!sh->stopped) {
		uint32_t len = list(sh, NULL);
		if (len == 0)
			break;
		items = wh_realloc(items, len * sizeof *items);
		WH_ASSERT_EQ(list(sh, items), len);
		if (n > len)
			n = len;
		bool removed = false;
		uint32_t at = 0;
		for (uint32_t k = 0; k < n && !sh->stopped && !removed; k++) {
			uint32_t i = (from + k) % n;
			uint32_t lo = (uint32_t)((uint64_t)len * i / n);
			uint32_t hi = (uint32_t)((uint64_t)len * (i + 1) / n);
			WH_ASSERT(hi <= len);
			if (lo < hi && remove(sh, items + lo, hi - lo)) {
				removed = true;
				at = i;
			}
		}
		if (removed) {
			any = true;
			n = n > 2 ? n - 1 : 2;
			from = at < n ? at : 0;
			continue;
		}
		from = 0;
		if (n >= len)
			break;
		n = n * 2 < len ? n * 2 : len;
	}
	free(items);
	return any;
}

/* Statements of a transaction the skip list may remove. */
static uint32_t skippable_count(const struct run_info *info, const struct txn_info *ti)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < ti->stmt_count; k++)
		n += action_skippable(info->actions[ti->action_off + k]);
	return n;
}

static uint32_t list_txns(const struct shrinker *sh, struct item *out)
{
	const struct run_info *info = &sh->best_info;
	uint32_t n = 0;
	for (uint32_t i = 0; i < info->txn_count; i++) {
		/* by skips, only a transaction with statements can shrink */
		if (!info->ranges_ok && skippable_count(info, &info->txns[i]) == 0)
			continue;
		if (out)
			out[n] = (struct item){i, 0};
		n++;
	}
	return n;
}

/* Remove transactions: cut their draws from the tape (the connection's
 * next transaction takes the place of each), or, when the ranges are
 * unknown or a single transaction's cut did not keep the failure, skip
 * its statements (the schedule around it then changes less). */
static bool remove_txns(struct shrinker *sh, const struct item *items, uint32_t n)
{
	const struct run_info *info = &sh->best_info;
	struct cand c;
	if (info->ranges_ok) {
		uint32_t *ids = wh_malloc(n * sizeof *ids);
		for (uint32_t i = 0; i < n; i++)
			ids[i] = items[i].txn;
		cand_init(&c);
		cand_copy_meta(&c, &sh->best);
		c.txn_count = c.txn_count > n ? c.txn_count - n : 1;
		remap_skips(&sh->best, &c, ids, n);
		tape_without_txns(sh, ids, n, false, &c.tape);
		anchor_plan(sh, &c, ids, n);
		free(ids);
		if (try_candidate(sh, &c))
			return true;
		if (n > 1)
			return false;
	}
	uint32_t added = 0;
	cand_init(&c);
	cand_copy(&c, &sh->best);
	for (uint32_t i = 0; i < n; i++) {
		const struct txn_info *ti = &info->txns[items[i].txn];
		for (uint32_t k = 0; k < ti->stmt_count; k++) {
			uint32_t action = info->actions[ti->action_off + k];
			if (action_skippable(action)) {
				cand_add_skip(&c, ti->id, action);
				added++;
			}
		}
	}
	if (added == 0) {
		cand_free(&c);
		return false;
	}
	return try_candidate(sh, &c);
}

static uint32_t list_stmts(const struct shrinker *sh, struct item *out)
{
	const struct run_info *info = &sh->best_info;
	uint32_t n = 0;
	for (uint32_t i = 0; i < info->txn_count; i++) {
		const struct txn_info *ti = &info->txns[i];
		for (uint32_t k = 0; k < ti->stmt_count; k++) {
			uint32_t action = info->actions[ti->action_off + k];
			if (!action_skippable(action))
				continue;
			if (out)
				out[n] = (struct item){i, action};
			n++;
		}
	}
	return n;
}

static bool remove_stmts(struct shrinker *sh, const struct item *items, uint32_t n)
{
	struct cand c;
	cand_init(&c);
	cand_copy(&c, &sh->best);
	for (uint32_t i = 0; i < n; i++)
		cand_add_skip(&c, items[i].txn, items[i].action);
	return try_candidate(sh, &c);
}

enum value_edit {
	EDIT_ZERO,  /* the first option */
	EDIT_HALVE, /* a smaller raw value */
	EDIT_LAST,  /* the last option (see last_option_value) */
};

static uint64_t edit_value(const struct shrinker *sh, enum value_edit e, uint64_t v)
{
	switch (e) {
	case EDIT_ZERO:
		return 0;
	case EDIT_HALVE:
		return v >> 1;
	case EDIT_LAST:
		return sh->last_value;
	}
	WH_UNREACHABLE();
}

/* Edit one stream's draws in chunks of halving size, down to the
 * stream's length halved `halvings` times: every chunk the edit changes
 * is tried once per chunk size. */
static bool pass_values(struct shrinker *sh, uint64_t stream, enum value_edit e, uint32_t halvings)
{
	bool any = false;
	const struct wh_track *tr = tape_find(&sh->best.tape, stream);
	uint64_t len = tr ? tr->count : 0;
	uint64_t least = halvings < 64 ? len >> halvings : 0;
	if (least > 1)
		sh->grain_limited = true; /* single draws are left for a finer round */
	for (uint64_t size = len; size > 0 && size >= least && !sh->stopped; size /= 2) {
		for (uint64_t start = 0; !sh->stopped; start += size) {
			tr = tape_find(&sh->best.tape, stream);
			if (tr == NULL || start >= tr->count)
				break;
			uint64_t end = start + size < tr->count ? start + size : tr->count;
			bool changes = false;
			for (uint64_t k = start; k < end && !changes; k++)
				changes = edit_value(sh, e, tr->values[k]) != tr->values[k];
			if (!changes)
				continue;
			struct cand c;
			cand_init(&c);
			cand_copy(&c, &sh->best);
			struct wh_track *d = tape_find_mut(&c.tape, stream);
			WH_ASSERT(d != NULL);
			for (uint64_t k = start; k < end; k++)
				d->values[k] = edit_value(sh, e, d->values[k]);
			any |= try_candidate(sh, &c);
		}
	}
	return any;
}

/* A raw draw v with v % n == n - 1 for every bound n the engine uses for
 * yes/no and rate decisions (2, 3, 4, ..., 1000, 9000, 1000000): the lcm
 * of them all, minus one. It stays far below any rejection limit. */
static uint64_t last_option_value(void)
{
	static const uint64_t fixed[] = {1000000, 9000, 1000};
	uint64_t l = 1;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		uint64_t a = l, b = fixed[i];
		while (b) {
			uint64_t t = a % b;
			a = b;
			b = t;
		}
		l = l / a * fixed[i];
	}
	for (uint64_t m = 2; m < 64; m++) {
		uint64_t a = l, b = m;
		while (b) {
			uint64_t t = a % b;
			a = b;
			b = t;
		}
		uint64_t f = m / a;
		if (l > (UINT64_MAX >> 1) / f)
			break;
		l *= f;
	}
	WH_ASSERT(l % 1000000 == 0);
	return l - 1;
}

/* How finely the value passes cut at first (chunks down to a stream's
 * length halved this many times), and how much finer each round that
 * found nothing at that grain goes. A full sweep of a long pick log down
 * to single picks costs thousands of runs; coarse chunks first leave the
 * budget to the structural passes that any accepted edit may unlock. */
#define SHRINK_GRAIN_FIRST 3
#define SHRINK_GRAIN_STEP 3

static void run_passes(struct shrinker *sh)
{
	/* Each round either accepts a strictly smaller candidate, makes the
	 * value passes' grain finer (up to single draws), or ends the loop;
	 * the size key is well-founded and the grain bounded, so this
	 * terminates. */
	uint32_t grain = SHRINK_GRAIN_FIRST;
	for (;;) {
		bool changed = false;
		sh->grain_limited = false;
		sh->pass = "1/8 txns";
		changed |= !time_up(sh) && pass_txns(sh);
		sh->pass = "2/8 prefix";
		changed |= !time_up(sh) && pass_prefix(sh);
		sh->pass = "3/8 connections";
		changed |= !time_up(sh) && pass_conns(sh);
		sh->pass = "4/8 transactions";
		changed |= !time_up(sh) && ddmin(sh, list_txns, remove_txns);
		sh->pass = "5/8 statements";
		changed |= !time_up(sh) && ddmin(sh, list_stmts, remove_stmts);
		if (changed)
			continue;
		/* Faults before the schedule: a power loss gone may let whole
		 * transactions go with it. */
		sh->pass = "6/8 faults";
		changed |= !time_up(sh) && pass_values(sh, WH_STREAM_FAULTS, EDIT_LAST, grain);
		changed |= !time_up(sh) && pass_values(sh, WH_STREAM_FAULTS, EDIT_ZERO, grain);
		if (changed)
			continue;
		sh->pass = "7/8 schedule";
		changed |= !time_up(sh) && pass_values(sh, WH_STREAM_PICKS, EDIT_ZERO, grain);
		changed |= !time_up(sh) && pass_values(sh, WH_STREAM_PCT, EDIT_ZERO, grain);
		if (changed)
			continue;
		/* Values last: smaller values make a repro easier to read,
		 * and never let anything else go. */
		sh->pass = "8/8 values";
		for (uint32_t i = 0; i < sh->best.conn_count && !sh->stopped; i++) {
			changed |= pass_values(sh, WH_STREAM_CONN + i, EDIT_ZERO, grain);
			changed |= pass_values(sh, WH_STREAM_CONN + i, EDIT_HALVE, grain);
		}
		if (sh->stopped)
			break;
		if (!changed) {
			if (!sh->grain_limited)
				break; /* single draws were tried: the fixpoint */
			grain += SHRINK_GRAIN_STEP;
		}
	}
	if (sh->tty)
		fputs("\r\033[K", stderr);
}

/* ------------------------------------------------------------------ */
/* The result: replay file, verification, MIN.sql and MIN.svg          */
/* ------------------------------------------------------------------ */

/* The input's run flags with --txns and --connections set to the
 * shrunk values (appended when the input did not give them). */
static char **shrunk_args(const struct replay_file *rf, const struct cand *c, int *argc_out)
{
	char **argv = wh_calloc((size_t)rf->argc + 5, sizeof *argv);
	int n = 0;
	bool have_txns = false, have_conns = false;
	char num[32];
	for (int i = 0; i < rf->argc; i++) {
		const char *a = rf->argv[i];
		argv[n++] = wh_strdup(a);
		if (i + 1 < rf->argc && strcmp(a, "--txns") == 0) {
			snprintf(num, sizeof num, "%" PRIu64, c->txn_count);
			argv[n++] = wh_strdup(num);
			have_txns = true;
			i++;
		} else if (i + 1 < rf->argc && strcmp(a, "--connections") == 0) {
			snprintf(num, sizeof num, "%u", c->conn_count);
			argv[n++] = wh_strdup(num);
			have_conns = true;
			i++;
		}
	}
	if (!have_conns) {
		argv[n++] = wh_strdup("--connections");
		snprintf(num, sizeof num, "%u", c->conn_count);
		argv[n++] = wh_strdup(num);
	}
	if (!have_txns) {
		argv[n++] = wh_strdup("--txns");
		snprintf(num, sizeof num, "%" PRIu64, c->txn_count);
		argv[n++] = wh_strdup(num);
	}
	WH_ASSERT(n <= rf->argc + 4);
	*argc_out = n;
	return argv;
}

/* Text between `from` and the first of the stop strings (or the end). */
static void copy_until(const char *from, const char *const *stops, char *out, size_t cap)
{
	size_t n = strlen(from);
	for (size_t i = 0; stops[i]; i++) {
		const char *p = strstr(from, stops[i]);
		if (p && (size_t)(p - from) < n)
			n = (size_t)(p - from);
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, from, n);
	out[n] = '\0';
}

/* Which read broke, from the oracle's paragraph: describe_mismatch writes
 * "T<id> (conn ..) does not match at its commit ..: statement <j> `sql`
 * .. observed <rows> but the reference gives <rows>" (or "matches no
 * position in its window"). The oracle does not expose these as fields
 * yet, so they are parsed here; anything unparsed leaves them unknown. */
static void find_read(const char *detail, struct shrink_view *v)
{
	v->read_txn = SHRINK_NONE;
	v->read_stmt = SHRINK_NONE;
	v->observed[0] = v->expected[0] = '\0';
	if (detail == NULL)
		return;
	static const char *const markers[] = {" does not match at its commit ",
					      " matches no position in its window ", NULL};
	const char *p = NULL;
	for (int i = 0; markers[i] && p == NULL; i++)
		p = strstr(detail, markers[i]);
	if (p == NULL)
		return;
	for (const char *q = p; q-- > detail;) {
		if (*q != 'T' || q[1] < '0' || q[1] > '9')
			continue;
		char *end;
		unsigned long id = strtoul(q + 1, &end, 10);
		if (strncmp(end, " (conn ", 7) == 0 && id < UINT32_MAX) {
			v->read_txn = (uint32_t)id;
			break;
		}
	}
	const char *st = strstr(p, ": statement ");
	if (st == NULL)
		return;
	char *end;
	unsigned long j = strtoul(st + 12, &end, 10);
	if (end == st + 12 || j >= UINT32_MAX)
		return;
	v->read_stmt = (uint32_t)j;
	const char *obs = strstr(end, " observed ");
	const char *exp = obs ? strstr(obs, " but the reference gives ") : NULL;
	if (obs == NULL || exp == NULL)
		return;
	size_t n = (size_t)(exp - (obs + 10));
	if (n >= sizeof v->observed)
		n = sizeof v->observed - 1;
	memcpy(v->observed, obs + 10, n);
	v->observed[n] = '\0';
	static const char *const stops[] = {"; that result", NULL};
	copy_until(exp + 25, stops, v->expected, sizeof v->expected);
}

struct final_ctx {
	struct shrinker *sh;
	const char *trace_path;     /* the replay's --trace file */
	const char *whop_path;
	int argc;
	char **argv;
	char *sql;                  /* MIN.sql, MIN.svg contents */
	size_t sql_len;
	char *svg;
	size_t svg_len;
	bool trace_ok;
};

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0, got;
	char *buf = wh_malloc(cap);
	while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap) {
			WH_ASSERT(cap < ((size_t)1 << 40));
			cap *= 2;
			buf = wh_realloc(buf, cap);
		}
	}
	bool err = ferror(f) != 0;
	fclose(f);
	if (err) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* MIN.whop -> MIN (the stem MIN.sql and MIN.svg are named from). */
static void out_stem(const char *out, char *stem, size_t cap)
{
	size_t n = strlen(out);
	if (n > 5 && strcmp(out + n - 5, ".whop") == 0)
		n -= 5;
	if (n >= cap)
		n = cap - 1;
	memcpy(stem, out, n);
	stem[n] = '\0';
}

static void inspect_final(void *ctx, const struct run_opts *o, const struct world_result *res,
			  const struct oracle_report *rep)
{
	struct final_ctx *fc = ctx;
	struct shrink_view v;
	memset(&v, 0, sizeof v);
	v.source_path = fc->sh->in_path;
	/* MIN.sql and MIN.svg sit beside MIN.whop: name it without its
	 * directory, so the files do not depend on where they were written. */
	const char *slash = strrchr(fc->whop_path, '/');
	v.whop_path = slash ? slash + 1 : fc->whop_path;
	/* The stem likewise: MIN.whop -> MIN. */
	char stem[PATH_MAX];
	out_stem(v.whop_path, stem, sizeof stem);
	v.stem = stem;
	v.signature = fc->sh->best_signature;
	v.opts = o;
	v.argc = fc->argc;
	v.argv = fc->argv;
	v.skip_count = o->cfg.skip_count;
	v.res = res;
	v.rep = rep;
	if (res->finding_count > 0) {
		v.kind = res->findings[0].kind;
		v.detail = res->findings[0].detail;
	} else {
		for (uint32_t i = 0; rep && i < rep->violation_count; i++) {
			const struct oracle_violation *x = &rep->violations[i];
			if (x->expected)
				continue;
			v.kind = x->kind;
			v.detail = x->detail;
			v.txns = x->txns;
			v.txn_count = x->txn_count;
			break;
		}
	}
	find_read(v.detail, &v);
	if (v.read_txn == SHRINK_NONE && v.txn_count > 0)
		v.read_txn = v.txns[0];
	size_t trace_len = 0;
	char *trace = read_all(fc->trace_path, &trace_len);
	fc->trace_ok = trace != NULL;
	v.trace = trace ? trace : "";
	v.trace_len = trace ? trace_len : 0;

	FILE *f = open_memstream(&fc->sql, &fc->sql_len);
	WH_ASSERT(f != NULL);
	shrink_sql_write(f, &v);
	fclose(f);
	f = open_memstream(&fc->svg, &fc->svg_len);
	WH_ASSERT(f != NULL);
	shrink_svg_write(f, &v);
	fclose(f);
	free(trace);
}

/* Write buf to path through a temporary name. 0 or -1 after a message. */
static int write_file(const char *path, const char *buf, size_t len)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp) {
		fprintf(stderr, "whopper: %s: path too long\n", path);
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		fprintf(stderr, "whopper: cannot write '%s': %s\n", path, strerror(errno));
		return -1;
	}
	size_t n = fwrite(buf, 1, len, f);
	if (fclose(f) != 0 || n != len || rename(tmp, path) != 0) {
		fprintf(stderr, "whopper: cannot write '%s': %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The replay file of a candidate (rf initialised here; the caller sets
 * what the run gave: trace hash, verdict, signature). */
static void cand_to_replay(const struct shrinker *sh, const struct cand *c,
			   struct replay_file *rf)
{
	replay_file_init(rf);
	snprintf(rf->workload, sizeof rf->workload, "%s", sh->rf.workload);
	rf->workload_hash = sh->rf.workload_hash;
	rf->workload_for = sh->rf.workload_for; /* composed as recorded */
	rf->argv = shrunk_args(&sh->rf, c, &rf->argc);
	rf->setup_sql = c->setup ? wh_strdup(c->setup) : NULL;
	simvfs_image_copy(&rf->image, &c->image);
	if (c->skip_count > 0) {
		rf->skips = wh_malloc(c->skip_count * sizeof *rf->skips);
		memcpy(rf->skips, c->skips, c->skip_count * sizeof *rf->skips);
		rf->skip_count = c->skip_count;
	}
	/* Every track is kept, the empty ones too, so the file lists every
	 * stream the run seeded (an empty track replays like a missing one). */
	for (uint32_t t = 0; t < c->tape.track_count; t++) {
		const struct wh_track *s = &c->tape.tracks[t];
		struct wh_track *d = wh_tape_track(&rf->tape, s->stream);
		for (uint64_t k = 0; k < s->count; k++)
			wh_track_push(d, s->values[k]);
	}
}

/* Write the best run as out, replay it from the file, and write MIN.sql
 * and MIN.svg from that replay. WH_EXIT_PASS, or an exit code after a
 * message (nothing left under out then). */
static int write_result(struct shrinker *sh, const char *out, const char *stem)
{
	struct replay_file w;
	cand_to_replay(sh, &sh->best, &w);
	w.trace_hash = sh->best_hash;
	snprintf(w.verdict, sizeof w.verdict, "fail");
	snprintf(w.signature, sizeof w.signature, "%s", sh->best_signature);
	int rc = replay_write(out, &w) == 0 ? WH_EXIT_PASS : WH_EXIT_INTERNAL;
	struct replay_file back;
	memset(&back, 0, sizeof back);
	char err[1024] = "";
	if (rc == WH_EXIT_PASS && replay_read(out, &back, err, sizeof err) != 0) {
		fprintf(stderr, "whopper: shrink: cannot read back %s\n", err);
		rc = WH_EXIT_INTERNAL;
	}
	struct run_opts o;
	if (rc == WH_EXIT_PASS && (replay_opts(&back, &o) != 0 ||
				   replay_check_compatible(out, &back, &o.cfg, o.cfg.api,
							   err, sizeof err) != 0)) {
		fprintf(stderr, "whopper: shrink: %s: the written file does not replay: %s\n", out,
			err);
		rc = WH_EXIT_INTERNAL;
	}
	char trace_path[PATH_MAX];
	struct final_ctx fc = {.sh = sh, .trace_path = trace_path, .whop_path = out,
			       .argc = back.argc, .argv = back.argv};
	if (rc == WH_EXIT_PASS &&
	    snprintf(trace_path, sizeof trace_path, "%s.trace", stem) >= (int)sizeof trace_path) {
		fprintf(stderr, "whopper: %s: path too long\n", stem);
		rc = WH_EXIT_INTERNAL;
	}
	if (rc == WH_EXIT_PASS) {
		/* The verifying replay also captures the trace (VFS ticks for
		 * the picture); the trace never changes the run. */
		o.quiet = true;
		o.json = false;
		o.trace_path = trace_path;
		o.catalog = sh->opts.catalog;
		wh_tape_rewind(&back.tape);
		struct run_outcome ro;
		run_once(&o, &back.tape, true, &ro, inspect_final, &fc);
		unlink(trace_path);
		if (ro.exit_code != WH_EXIT_FINDING || strcmp(ro.signature, sh->best_signature) != 0 ||
		    ro.trace_hash != sh->best_hash || !fc.trace_ok || fc.sql == NULL ||
		    fc.svg == NULL) {
			fprintf(stderr, "whopper: shrink: replaying %s gave verdict %s, signature '%s', trace hash %016" PRIx64 "; expected fail, '%s', %016" PRIx64 ": not writing a result that does not reproduce\n",
				out, ro.verdict, ro.signature, ro.trace_hash, sh->best_signature,
				sh->best_hash);
			rc = WH_EXIT_INTERNAL;
		}
	}
	char path[PATH_MAX];
	if (rc == WH_EXIT_PASS &&
	    (snprintf(path, sizeof path, "%s.sql", stem) >= (int)sizeof path ||
	     write_file(path, fc.sql, fc.sql_len) != 0))
		rc = WH_EXIT_INTERNAL;
	if (rc == WH_EXIT_PASS &&
	    (snprintf(path, sizeof path, "%s.svg", stem) >= (int)sizeof path ||
	     write_file(path, fc.svg, fc.svg_len) != 0))
		rc = WH_EXIT_INTERNAL;
	/* The files the run starts from, as STEM.NAME: a database and its
	 * journal keep their pairing (MIN.whopper.db, MIN.whopper.db-journal),
	 * so the sqlite3 shell opening the first finds the second. */
	for (uint32_t i = 0; rc == WH_EXIT_PASS && i < sh->best.image.count; i++) {
		const struct simvfs_image_file *f = &sh->best.image.files[i];
		if (snprintf(path, sizeof path, "%s.%s", stem, f->name) >= (int)sizeof path ||
		    write_file(path, (const char *)f->data, (size_t)f->size) != 0)
			rc = WH_EXIT_INTERNAL;
	}
	if (rc != WH_EXIT_PASS)
		unlink(out);
	free(fc.sql);
	free(fc.svg);
	replay_file_free(&back);
	replay_file_free(&w);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */

static const char shrink_help[] =
	"usage: whopper shrink FILE.whop --out MIN.whop [--time-limit SECONDS]\n"
	"                      [--match KIND[,KIND]...] [--quiet] [--known FILE]...\n"
	"                      [--target-lib PATH]\n"
	"\n"
	"Search for a smaller run that fails with the same bug as the recorded\n"
	"one (for a known finding: the same catalogue entry): fewer transactions, connections, statements, preemptions, smaller\n"
	"values, fewer faults. The same bug is a violation (or finding) of the\n"
	"same class as the recording's first one: data loss (lost_commit,\n"
	"lost_update, phantom_commit, final_state), wrong read (read_mismatch,\n"
	"aborted_read, intermediate_read, dirty_read, read_skew, write_skew),\n"
	"corruption (integrity_check, foreign_key_check, invariant,\n"
	"recovery_state, recovery_failed) or error (stale_schema_error, hang,\n"
	"setup_failed); the statement templates may change. Writes MIN.whop\n"
	"(replay it with 'whopper replay'; it holds the shrunk run's signature),\n"
	"MIN.sql (the statements in the order they ran, values inline, the\n"
	"violating read annotated) and MIN.svg (one lane per connection). A\n"
	"repro whose race needs state that only files hold (a hot journal)\n"
	"starts from the files at the start of its window: they are in\n"
	"MIN.whop and written beside it as MIN.NAME (MIN.whopper.db ...).\n"
	"\n"
	"  --out MIN.whop         the shrunk replay file (required)\n"
	"  --time-limit SECONDS   stop searching after this long (default 300);\n"
	"                         the search is deterministic, but a search cut\n"
	"                         short by the limit may end with a larger result\n"
	"  --match KIND[,KIND]    count only these violation kinds as the same\n"
	"                         bug (instead of the recording's class)\n"
	"  --quiet                no progress line or summary\n"
	"  --known FILE           more known findings, as given to the run that\n"
	"                         recorded FILE.whop (repeatable)\n"
	"  --target-lib PATH      the SQLite library FILE.whop was recorded on,\n"
	"                         when it was not the linked one\n"
	"\n"
	"exit status: 0 a smaller-or-equal failing run was written and verified\n"
	"by replaying it, 2 bad usage, an unreadable file or a recorded run that\n"
	"passed, 3 whopper itself failed (the result did not reproduce).\n";

/* --match KIND[,KIND]: every kind must be one the table knows. */
static int parse_match(const char *v, struct bug_match *m)
{
	memset(m, 0, sizeof *m);
	const char *p = v;
	while (*p) {
		size_t n = strcspn(p, ",");
		char kind[64];
		if (n == 0 || n >= sizeof kind)
			return cli_usage_error("shrink: --match: expected KIND[,KIND], got '%s'", v);
		memcpy(kind, p, n);
		kind[n] = '\0';
		if (bug_kind_index(kind) < 0)
			return cli_usage_error("shrink: --match: unknown violation kind '%s' (see 'whopper shrink --help')",
					       kind);
		match_add(m, kind);
		p += n;
		if (*p == ',')
			p++;
	}
	if (m->count == 0)
		return cli_usage_error("shrink: --match: expected KIND[,KIND], got '%s'", v);
	return 0;
}

static int parse_args(int argc, char **argv, const char **in, const char **out,
		      uint64_t *limit_s, bool *quiet, struct bug_match *match,
		      const struct triage_catalog **catalog)
{
	memset(match, 0, sizeof *match);
	*in = *out = NULL;
	*limit_s = SHRINK_TIME_LIMIT_DEFAULT_S;
	*quiet = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(shrink_help, stdout);
			return -1;
		} else if (strcmp(a, "--out") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0')
				return cli_usage_error("shrink: --out: missing FILE");
			*out = argv[++i];
		} else if (strcmp(a, "--time-limit") == 0) {
			const char *v = i + 1 < argc ? argv[++i] : "";
			char *end = NULL;
			unsigned long long n = 0;
			errno = 0;
			if (*v >= '0' && *v <= '9')
				n = strtoull(v, &end, 10);
			if (end == NULL || *end != '\0' || errno != 0 || n < 1 || n > 31536000)
				return cli_usage_error("shrink: --time-limit: expected seconds in [1, 31536000], got '%s'",
						       v);
			*limit_s = n;
		} else if (strcmp(a, "--quiet") == 0) {
			*quiet = true;
		} else if (strcmp(a, "--known") == 0) {
			int rc = cli_known_add(i + 1 < argc ? argv[i + 1] : NULL, catalog);
			if (rc != 0)
				return rc;
			i++;
		} else if (strcmp(a, "--target-lib") == 0) {
			/* The process's target: replay_opts starts every
			 * candidate's options from it. */
			int rc = cli_target_lib(i + 1 < argc ? argv[i + 1] : NULL, NULL);
			if (rc != 0)
				return rc;
			i++;
		} else if (strcmp(a, "--match") == 0) {
			int rc = parse_match(i + 1 < argc ? argv[++i] : "", match);
			if (rc != 0)
				return rc;
		} else if (a[0] == '-') {
			return cli_usage_error("shrink: unknown option '%s' (try 'whopper shrink --help')",
					       a);
		} else if (*in == NULL) {
			*in = a;
		} else {
			return cli_usage_error("shrink: more than one input file given");
		}
	}
	if (*in == NULL)
		return cli_usage_error("shrink: missing FILE.whop");
	if (*out == NULL)
		return cli_usage_error("shrink: missing --out MIN.whop");
	return 0;
}

int cmd_shrink(int argc, char **argv)
{
	const char *in, *out;
	uint64_t limit_s;
	bool quiet;
	const struct triage_catalog *catalog = NULL;
	struct bug_match match;
	int rc = parse_args(argc, argv, &in, &out, &limit_s, &quiet, &match, &catalog);
	if (rc == -1)
		return WH_EXIT_PASS;
	if (rc != 0)
		return rc;
	char stem[PATH_MAX];
	out_stem(out, stem, sizeof stem);
	if (strlen(stem) + 8 >= sizeof stem)
		return cli_usage_error("shrink: --out: path too long");
	rc = replay_check_writable(out);
	if (rc != 0)
		return rc;

	struct shrinker *sh = wh_calloc(1, sizeof *sh);
	sh->in_path = in;
	sh->start_s = mono_s();
	sh->deadline_s = sh->start_s + (double)limit_s;
	sh->progress = !quiet;
	sh->tty = !quiet && isatty(2);
	sh->pass = "0/8 replay";
	sh->last_value = last_option_value();
	cand_init(&sh->best);
	char err[1024] = "";
	rc = replay_read(in, &sh->rf, err, sizeof err);
	if (rc != 0) {
		free(sh);
		return cli_usage_error("%s", err);
	}
	rc = replay_opts(&sh->rf, &sh->opts);
	sh->opts.catalog = catalog; /* every candidate is triaged with it */
	if (rc == 0)
		rc = replay_check_compatible(in, &sh->rf, &sh->opts.cfg, sh->opts.cfg.api,
					     err, sizeof err);
	if (rc != 0) {
		if (err[0])
			cli_usage_error("%s", err);
		rc = WH_EXIT_USAGE;
		goto out_free;
	}
	if (strcmp(sh->rf.verdict, "fail") != 0 || sh->rf.signature[0] == '\0') {
		rc = cli_usage_error("shrink: %s: the recorded run did not fail (verdict %s): nothing to shrink",
				     in, sh->rf.verdict);
		goto out_free;
	}
	snprintf(sh->signature, sizeof sh->signature, "%s", sh->rf.signature);

	/* The input is the first best: replay it exactly as recorded. */
	sh->best.conn_count = sh->opts.cfg.conn_count;
	sh->best.txn_count = sh->opts.cfg.txn_count;
	if (sh->rf.skip_count > 0) {
		sh->best.skips = wh_malloc(sh->rf.skip_count * sizeof *sh->best.skips);
		memcpy(sh->best.skips, sh->rf.skips, sh->rf.skip_count * sizeof *sh->best.skips);
		sh->best.skip_count = sh->rf.skip_count;
	}
	sh->best.setup = sh->rf.setup_sql ? wh_strdup(sh->rf.setup_sql) : NULL;
	simvfs_image_copy(&sh->best.image, &sh->rf.image);
	wh_tape_copy(&sh->best.tape, &sh->rf.tape);
	struct run_outcome ro;
	double t0 = mono_s();
	evaluate(sh, &sh->best, &ro, &sh->best_info);
	sh->slowest_attempt_s = mono_s() - t0;
	sh->attempts = 1;
	sh->best_hash = ro.trace_hash;
	if (ro.exit_code == WH_EXIT_INTERNAL || ro.trace_hash != sh->rf.trace_hash) {
		fprintf(stderr, "whopper: shrink: %s does not replay: trace hash %016" PRIx64
				" but the recording has %016" PRIx64 "\n",
			in, ro.trace_hash, sh->rf.trace_hash);
		rc = WH_EXIT_INTERNAL;
		goto out_free;
	}
	if (ro.exit_code != WH_EXIT_FINDING || strcmp(ro.signature, sh->signature) != 0) {
		fprintf(stderr, "whopper: shrink: %s replays with signature '%s', the recording says '%s'\n",
			in, ro.signature, sh->signature);
		rc = WH_EXIT_INTERNAL;
		goto out_free;
	}
	/* The target: the kinds given, or the class of the input's first. */
	snprintf(sh->best_signature, sizeof sh->best_signature, "%s", ro.signature);
	sh->match = match;
	sh->known_target = match.count == 0 && strncmp(sh->signature, "known:", 6) == 0;
	if (sh->match.count == 0)
		match_class_of(&sh->match, sh->best_info.primary_kind);
	sh->match_ready = true;
	sh->start_size = sh->best_info.size;
	/* The replay leaves the input's sizes (txns, conns) in best; the
	 * passes only ever shrink from here. An interrupt stops the search,
	 * not the program: the best run so far is still written. */
	shrink_interrupted = 0;
	void (*old_int)(int) = signal(SIGINT, on_interrupt);
	void (*old_term)(int) = signal(SIGTERM, on_interrupt);
	run_passes(sh);
	signal(SIGINT, old_int);
	signal(SIGTERM, old_term);

	rc = write_result(sh, out, stem);
	if (rc == WH_EXIT_PASS && !quiet) {
		const struct shrink_size *a = &sh->start_size, *b = &sh->best_info.size;
		printf("whopper shrink: %s: %" PRIu64 " -> %" PRIu64 " statements, %" PRIu64
		       " -> %" PRIu64 " transactions, %" PRIu64 " -> %" PRIu64
		       " connections, %" PRIu64 " -> %" PRIu64 " preemptions; %" PRIu64
		       " attempts (%" PRIu64 " kept) in %.1f s%s; shrunk run: %s; wrote %s, %s.sql, %s.svg\n",
		       sh->signature, a->statements, b->statements, a->txns, b->txns, a->conns,
		       b->conns, a->preemptions, b->preemptions, sh->attempts, sh->accepted,
		       mono_s() - sh->start_s,
		       !sh->stopped	     ? ""
		       : shrink_interrupted ? " (interrupted: the search stopped early)"
					    : " (time limit reached: the search stopped early)",
		       sh->best_signature, out, stem, stem);
	}

out_free:
	info_free(&sh->best_info);
	cand_free(&sh->best);
	replay_file_free(&sh->rf);
	free(sh);
	return rc;
}
