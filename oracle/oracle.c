/*
 * oracle.c - proves a run's history serializable, or names who broke it.
 *
 * Algorithm (one "check run" under a plan, see oracle_int.h for terms):
 *
 *   1. Plan. Committed transactions form the serial order, in commit_index
 *      order, which the driver assigns by visibility (the first release,
 *      inside COMMIT, of the transaction's own write-lock hold), not by
 *      when COMMIT returned. An
 *      indeterminate writer (COMMIT cut by an I/O error or a crash) is
 *      placed by the same key (its own release of the lock, else when it
 *      ended: ctx_indets), and is either applied there or treated as a
 *      no-op, as the plan says. Each crash is a step between the transactions that began
 *      before it and those that began after (see crash.c). A committed or
 *      assumed-committed writer is anchored at its step. Every other
 *      transaction with statements (read-only committed, aborted, running,
 *      indeterminate assumed not committed) gets a window [lo, hi]:
 *        lo = max(s + 1) over steps s that happened and ended before it
 *             began (it sees a commit that returned before it began, and
 *             everything ordered before that one);
 *        hi = max(s + 1) over state-changing steps whose COMMIT (or
 *             autocommit statement) started before it ended (it may see a
 *             commit in progress, nothing that started later);
 *      both clamped to its epoch (plan_build says more). Nothing here
 *      assumes that commit_index order is end order: every bound is a
 *      maximum over events, answered by binary search (struct event_max).
 *
 *   2. Sweep. One pass over positions 0..S on a fresh reference database
 *      (the first sweep reuses the one ctx_init opened to classify the
 *      statements, with its prepared statements). At position k every
 *      window transaction with lo <= k that has not matched yet is
 *      evaluated (in a savepoint rolled back afterwards unless it only
 *      reads); the first position where all its replayed statements match
 *      ends its search; if none up to hi does, it is a failure. A window
 *      transaction is not re-evaluated while the state has not changed
 *      (no-op steps). Then step k is applied for good, comparing every
 *      statement: a mismatch makes the anchored transaction a failure at
 *      its commit position. Steps are applied inside one long transaction
 *      on the reference, committed now and then (ref.c says how it stands
 *      for each transaction's own COMMIT). So each transaction costs one
 *      evaluation per distinct state in its window, and the replay as a
 *      whole is linear in the history. At a crash step the recovered
 *      digest picks the position the target resumed from and the
 *      reference is rebuilt there (crash.c); a run whose crashes match
 *      none of the few states compared first is swept again at the next
 *      search level (more states).

      The first sweep may already have been done, on a second thread
      while the run went on (stream.c): when that stream is complete
      and agrees with the plan (the same steps, every window transaction
      matched inside its window: stream_agrees), the sweep is skipped and
      its reference, at the final state, is the one compared below;
      otherwise the sweep runs here from scratch, as without a stream.
 *
 *      Evaluating a window transaction first at its likeliest position
 *      (after the commits visible before its first statement finished)
 *      was measured and dropped: the sweep cannot go back, so the ~0.4%
 *      of transactions whose snapshot came earlier (it is taken when the
 *      first statement starts, which the history does not record) would
 *      need a second replay, which costs more than the evaluations saved.
 *
 *   3. Final state (when the caller names the target): every table and
 *      index of the target against the reference at position S.
 *
 *   4. Indeterminate transactions are settled by search over plans, each
 *      judged by a full check run (so what later reads, crashes and the
 *      final state show decides). The first plan is the guess
 *      (oracle__indet_guess: committed when the driver saw its commit
 *      point pass, hist_txn.commit_hint, else not), when it has any
 *      writer committed; then the plan where every indeterminate writer
 *      committed; if those fail, the opposite plan (none committed) is
 *      run too and the best one is the starting point: under I/O faults
 *      most cut COMMITs did not commit, and a search that flips a few of
 *      many from the wrong end cannot get there. While failures remain, `indeterminate_budget` of them are
 *      explored, those whose step comes nearest before a failure of the
 *      best plan so far (a commit can only change what follows it): with
 *      at most 4, every combination (at most 18 runs in all); beyond,
 *      every combination of the 4 nearest first (two writers may explain
 *      a read only together, one committed and the other not), then two
 *      passes flipping one at a time and keeping a flip when it improves
 *      the score (failures no configuration excuses, then all failures
 *      plus differing final rows plus crashes recovered to no allowed
 *      state, ties broken by how far failing transactions got), the
 *      second pass picking afresh since the failures moved, i.e. at most
 *      2 * budget + 18 runs. When a plan passes, the history is
 *      proven whatever the budget. When failures remain and indeterminate
 *      transactions were left unexplored, gave_up is set and the note says
 *      so (the search within the budget is a heuristic beyond 3, not
 *      exhaustive). Two shortcuts leave the search's path and its best
 *      plan as they were: a plan's sweep takes each window evaluation
 *      and crash-search digest from the best plan's sweep (a crash
 *      level's from the level before) where both applied the same steps
 *      before it and resolved every crash before it alike (memo_lookup,
 *      crashes_alike: an evaluation or a digest is a function of the
 *      state; flips are mostly late, so most of a sweep is the best
 *      one's again), and it stops as soon as it scores worse than the
 *      best plan (sweep_cut: failures only add up once every crash is
 *      behind it), since try_plan would drop it anyway. The report counts
 *      plans, plans cut, evaluations and digests reused (oracle_report);
 *      oracle_config.search_plain turns both off.
 *
 *   5. Failures and final differences are explained (explain.c) under the
 *      best plan, crash verdicts are added (crash.c), then the target's
 *      integrity_check, foreign_key_check and invariants run (final.c).
 *      Last, violations the configuration explains are labelled expected
 *      (report_finish: bit flips, no durability promise, or journal mode
 *      MEMORY past the history's unsafe point).
 *
 * Violation kinds (each names the transactions involved):
 *   read anomalies (explain.c): aborted_read (G1a), intermediate_read
 *     (G1b), dirty_read (G1c, or a write seen before its commit),
 *     lost_update, write_skew (G2), read_skew (G-single), read_mismatch
 *     (nothing above explains it), stale_schema_error (an SQL error on a
 *     table, index or view that exists at every allowed position: the
 *     connection ran on a stale cached schema, an SQLite finding);
 *   content (explain.c, final.c): lost_commit, phantom_commit,
 *     final_state, integrity_check, foreign_key_check, invariant;
 *   crashes (crash.c): recovery_failed, recovery_state, and lost_commit
 *     or phantom_commit across a crash.
 *
 * Statements of aborted transactions: only what was recorded is replayed.
 * A statement whose recorded error is environmental (BUSY, IOERR...) is
 * skipped, since the error says nothing about the data and SQLite undid
 * the statement; a deterministic error (CONSTRAINT...) is compared, since
 * it is a read of the state like any other. Statements the driver flags
 * HIST_STMT_NOREPLAY are skipped the same way; HIST_STMT_NOCHECK ones are
 * replayed but never compared (ref.c).
 *
 * Determinism: no clocks, no randomness; every list is ordered by
 * position, transaction id or interned statement id, never by address.
 */
#include <stdlib.h>
#include <string.h>

#include "oracle_int.h"

/* Indeterminate writers explored both ways when the config says 0. */
#define ORACLE_BUDGET_DEFAULT 8
/* Violations kept in a report; more are counted in the note. */
#define ORACLE_VIOLATIONS_MAX 1000

/* ------------------------------------------------------------------ */
/* Report                                                               */
/* ------------------------------------------------------------------ */

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

uint32_t oracle__report_add(struct oracle__ctx *c, const char *kind,
			    char *detail, const uint32_t *txns,
			    uint32_t txn_count)
{
	struct oracle_report *r = c->report;
	WH_ASSERT(kind != NULL && detail != NULL);
	WH_ASSERT(txn_count == 0 || txns != NULL);
	if (r->violation_count >= ORACLE_VIOLATIONS_MAX) {
		c->dropped++;
		free(detail);
		return ORACLE_NONE;
	}
	r->violations = wh_realloc(r->violations, (r->violation_count + 1) *
							  sizeof *r->violations);
	uint32_t index = r->violation_count++;
	struct oracle_violation *v = &r->violations[index];
	v->expected = false;
	v->expected_reason = NULL;
	v->kind = wh_strdup(kind);
	v->detail = detail;
	v->txns = wh_malloc((txn_count ? txn_count : 1) * sizeof *v->txns);
	if (txn_count > 0) {
		memcpy(v->txns, txns, txn_count * sizeof *v->txns);
		qsort(v->txns, txn_count, sizeof *v->txns, u32_cmp);
	}
	uint32_t n = 0;
	for (uint32_t k = 0; k < txn_count; k++)
		if (n == 0 || v->txns[n - 1] != v->txns[k])
			v->txns[n++] = v->txns[k];
	v->txn_count = n;
	return index;
}

void oracle_report_free(struct oracle_report *r)
{
	if (r == NULL)
		return;
	for (uint32_t k = 0; k < r->violation_count; k++) {
		free(r->violations[k].kind);
		free(r->violations[k].detail);
		free(r->violations[k].txns);
	}
	free(r->violations);
	free(r->note);
	free(r->lost_txns);
	memset(r, 0, sizeof *r);
}

void oracle__report_note(struct oracle_report *r, const char *text)
{
	struct oracle__buf b = { 0 };
	if (r->note != NULL)
		oracle__buf_printf(&b, "%s; ", r->note);
	oracle__buf_printf(&b, "%s", text);
	free(r->note);
	r->note = oracle__buf_take(&b);
}

/* ------------------------------------------------------------------ */
/* Event tables                                                         */
/* ------------------------------------------------------------------ */

/* "The largest value among entries whose event is before e": entries are
 * sorted by event and each value replaced by the running maximum, so one
 * binary search answers. Used for indeterminate slots and window bounds,
 * which are all of the form max(position + 1) over transactions with an
 * event before another one; no order between events and positions is
 * assumed. */
struct event_max {
	uint64_t event;
	uint32_t value;
};

static int event_max_cmp(const void *a, const void *b)
{
	const struct event_max *x = a, *y = b;
	if (x->event != y->event)
		return x->event < y->event ? -1 : 1;
	return x->value < y->value ? -1 : x->value > y->value ? 1 : 0;
}

/* Sorts n elements of size bytes that are nearly in order already (the
 * event tables follow the commit order, which is close to event order;
 * windows come in id order, close to lo order): an insertion sort while
 * it moves few elements, qsort beyond. cmp must be a total order, so the
 * result does not depend on which sort ran. */
static void sort_nearly(void *base, uint32_t n, size_t size,
			int (*cmp)(const void *, const void *))
{
	unsigned char tmp[32];
	WH_ASSERT(size <= sizeof tmp);
	unsigned char *v = base;
	uint64_t moves = 0, budget = 8 * (uint64_t)n + 64;
	for (uint32_t k = 1; k < n; k++) {
		if (cmp(v + (k - 1) * size, v + k * size) <= 0)
			continue;
		memcpy(tmp, v + k * size, size);
		uint32_t j = k;
		while (j > 0 && cmp(v + (j - 1) * size, tmp) > 0 &&
		       moves++ < budget)
			j--;
		memmove(v + (j + 1) * size, v + j * size, (k - j) * size);
		memcpy(v + j * size, tmp, size);
		if (moves > budget) {
			qsort(base, n, size, cmp); /* far from sorted */
			return;
		}
	}
}

static void event_max_build(struct event_max *v, uint32_t n)
{
	sort_nearly(v, n, sizeof *v, event_max_cmp);
	for (uint32_t k = 1; k < n; k++)
		if (v[k].value < v[k - 1].value)
			v[k].value = v[k - 1].value;
}

/* The running maximum of the last entry with event < e, or 0. */
static uint32_t event_max_before(const struct event_max *v, uint32_t n,
				 uint64_t e)
{
	uint32_t a = 0, b = n;
	while (a < b) {
		uint32_t mid = a + (b - a) / 2;
		if (v[mid].event < e)
			a = mid + 1;
		else
			b = mid;
	}
	WH_ASSERT(a == 0 || v[a - 1].event < e);
	WH_ASSERT(a == n || v[a].event >= e);
	return a > 0 ? v[a - 1].value : 0;
}

/* ------------------------------------------------------------------ */
/* Context                                                              */
/* ------------------------------------------------------------------ */

static bool indeterminate_writer(const struct oracle__ctx *c,
				 const struct hist_txn *t)
{
	/* A transaction left running inside COMMIT (the run stopped or hung
	 * there) may have committed just as well as an indeterminate one. */
	bool unsure = t->outcome == HIST_INDETERMINATE ||
		      (t->outcome == HIST_RUNNING && t->commit_event != 0);
	return unsure && t->stmt_count > 0 && !c->txn_ro[t->id];
}

bool oracle__indet_guess(const struct hist_txn *t)
{
	return t->outcome == HIST_INDETERMINATE && t->commit_hint;
}

/* When a committed transaction became visible to others: the last
 * release of the write lock inside its COMMIT, else (not observed) when
 * COMMIT returned. The driver orders commit_index by this key. */
static uint64_t visibility_event(const struct hist_txn *t)
{
	return t->visible_event != 0 ? t->visible_event : t->end_event;
}

/* When a writer's commit could first be seen: its COMMIT started (an
 * autocommit statement has no COMMIT: from its beginning). */
static uint64_t commit_start_event(const struct hist_txn *t)
{
	return t->commit_event != 0 ? t->commit_event : t->begin_event;
}

/* The event a writer is placed by: when its commit became visible
 * (visible_event), else when it ended, else (still running inside
 * COMMIT) when its COMMIT started. For a committed transaction this is
 * visibility_event, the commit order's key. */
static uint32_t crashes_before(const struct history *h, uint64_t e);

static uint64_t placement_event(const struct history *h, const struct hist_txn *t)
{
	/* A latent commit (hist_txn.latent) shows at the next recovery:
	 * placed after every commit visible before it, or at the end. */
	if (t->latent) {
		WH_ASSERT(t->outcome == HIST_INDETERMINATE);
		WH_ASSERT(t->end_event != 0);
		uint32_t next = crashes_before(h, t->end_event);
		return next < h->crash_count ? h->crashes[next].event : UINT64_MAX;
	}
	return t->visible_event != 0 ? t->visible_event
	       : t->end_event != 0   ? t->end_event
				     : commit_start_event(t);
}

/* Crashes before event e (crash events are strictly increasing). */
static uint32_t crashes_before(const struct history *h, uint64_t e)
{
	uint32_t a = 0, b = h->crash_count;
	while (a < b) {
		uint32_t mid = a + (b - a) / 2;
		if (h->crashes[mid].event < e)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

uint32_t oracle__epoch_first(const struct oracle__ctx *c, uint32_t e)
{
	WH_ASSERT(e <= c->crash_count);
	return e == 0 ? 0 : c->crash_step[e - 1] + 1;
}

uint32_t oracle__epoch_last(const struct oracle__ctx *c, uint32_t e)
{
	WH_ASSERT(e <= c->crash_count);
	return e == c->crash_count ? c->order_count : c->crash_step[e];
}

struct indet_key {
	uint32_t slot;
	uint64_t at;          /* the event it is placed by */
	uint32_t txn;
};

static int indet_key_cmp(const void *a, const void *b)
{
	const struct indet_key *x = a, *y = b;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->txn < y->txn ? -1 : x->txn > y->txn ? 1 : 0;
}

static void ctx_fini(struct oracle__ctx *c)
{
	oracle__stream_result_free(c->stream);
	oracle__ref_fini(&c->ref);
	if (c->target != NULL)
		c->tapi->close(c->target);
	free(c->txn_ro);
	free(c->by_commit);
	free(c->indets);
	free(c->indet_slot);
	free(c->txn_epoch);
	free(c->order);
	free(c->crash_step);
	free(c->crash_required);
}

static int ctx_fail(struct oracle__ctx *c, struct oracle__buf *b)
{
	char *msg = oracle__buf_take(b);
	oracle__report_note(c->report, msg);
	free(msg);
	return -1;
}

/* Checks the crashes and assigns every transaction its epoch. Returns 0,
 * or -1 with the reason in the note. */
static int ctx_epochs(struct oracle__ctx *c)
{
	const struct history *h = c->h;
	struct oracle__buf b = { 0 };
	c->crash_count = h->crash_count;
	c->first_power_loss = ORACLE_NONE;
	for (uint32_t e = 0; e < h->crash_count; e++) {
		const struct hist_crash *cr = &h->crashes[e];
		if (cr->kind != HIST_CRASH_POWER_LOSS &&
		    cr->kind != HIST_CRASH_REOPEN) {
			oracle__buf_printf(&b, "oracle: history: crash %u has an unknown kind %d", e, (int)cr->kind);
			return ctx_fail(c, &b);
		}
		if (e > 0 && h->crashes[e - 1].event >= cr->event) {
			oracle__buf_printf(&b, "oracle: history: crash %u is not after crash %u in event order", e, e - 1);
			return ctx_fail(c, &b);
		}
		if (cr->kind == HIST_CRASH_POWER_LOSS &&
		    c->first_power_loss == ORACLE_NONE)
			c->first_power_loss = e;
	}
	c->txn_epoch = wh_malloc(((size_t)h->txn_count + 1) *
				 sizeof *c->txn_epoch);
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		c->txn_epoch[i] = crashes_before(h, t->begin_event);
		/* Every connection dies at a crash: nothing that began before
		 * it can have committed after it. */
		if (t->outcome == HIST_COMMITTED &&
		    crashes_before(h, t->end_event) != c->txn_epoch[i]) {
			oracle__buf_printf(&b, "oracle: history: T%u began before crash %u but committed after it",
					   i, c->txn_epoch[i]);
			return ctx_fail(c, &b);
		}
	}
	return 0;
}

/* Places the indeterminate writers, by the same key as the commit order:
 * after every commit that became visible before it released the write
 * lock inside its COMMIT (visible_event), had it committed. When that
 * release was not observed (the transaction ended, or was killed, still
 * holding the lock), after every commit visible before it ended: a
 * writer that released the lock before then cannot have held it at the
 * same time, so it released it before this one took it and precedes it.
 * (Its COMMIT start would be too early a key for an autocommit
 * statement, which takes the lock somewhere inside its "COMMIT", after
 * others may have committed.) One still running inside COMMIT is placed
 * by its COMMIT start. A writer whose own release was not observed is
 * keyed by when its COMMIT returned, later than the release: it may be
 * placed after an indeterminate one it preceded, the same imprecision
 * the commit order itself has without lock tracing. */
static void ctx_indets(struct oracle__ctx *c)
{
	const struct history *h = c->h;
	struct event_max *vis = wh_malloc(((size_t)c->commit_count + 1) *
					  sizeof *vis);
	for (uint32_t k = 0; k < c->commit_count; k++)
		vis[k] = (struct event_max){
			visibility_event(h->txns[c->by_commit[k]]), k + 1
		};
	event_max_build(vis, c->commit_count);
	struct indet_key *keys = NULL;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		if (!indeterminate_writer(c, t))
			continue;
		uint64_t at = placement_event(h, t);
		keys = wh_realloc(keys, (c->indet_count + 1) * sizeof *keys);
		keys[c->indet_count++] = (struct indet_key){
			event_max_before(vis, c->commit_count, at), at, i
		};
	}
	free(vis);
	if (c->indet_count > 0)
		qsort(keys, c->indet_count, sizeof *keys, indet_key_cmp);
	c->indets = wh_malloc((c->indet_count ? c->indet_count : 1) *
			      sizeof *c->indets);
	c->indet_slot = wh_malloc((c->indet_count ? c->indet_count : 1) *
				  sizeof *c->indet_slot);
	for (uint32_t k = 0; k < c->indet_count; k++) {
		c->indets[k] = keys[k].txn;
		c->indet_slot[k] = keys[k].slot;
	}
	free(keys);
}

/* Where ctx_order is in the serial order it builds. */
struct order_cursor {
	uint32_t s;           /* next entry */
	uint32_t epoch;       /* crashes placed so far */
	uint32_t last_txn;    /* the last transaction placed */
};

static void order_crash(struct oracle__ctx *c, struct order_cursor *oc)
{
	c->crash_step[oc->epoch] = oc->s;
	c->order[oc->s++] = (struct oracle__slot){ ORACLE_NONE, oc->epoch,
						   ORACLE_NONE };
	oc->epoch++;
}

/* Appends txn, after the crashes that precede it. Returns 0, or -1
 * (note) when a crash already placed follows its beginning. */
static int order_txn(struct oracle__ctx *c, struct order_cursor *oc,
		     uint32_t txn, uint32_t indet)
{
	uint32_t te = c->txn_epoch[txn];
	if (te < oc->epoch) {
		struct oracle__buf b = { 0 };
		oracle__buf_printf(&b, "oracle: history: commit order crosses crash %u: T%u began before it but is ordered after T%u, which began after it",
				   te, txn, oc->last_txn);
		return ctx_fail(c, &b);
	}
	while (oc->epoch < te)
		order_crash(c, oc);
	c->order[oc->s++] = (struct oracle__slot){ txn, ORACLE_NONE, indet };
	oc->last_txn = txn;
	return 0;
}

/* The serial order shared by every plan: commits in commit_index order,
 * each indeterminate writer before the commit at its slot, and each crash
 * between the last transaction that began before it and the first that
 * began after. Returns 0, or -1 (note) when the commit order crosses a
 * crash, which a consistent history cannot do. */
static int ctx_order(struct oracle__ctx *c)
{
	const struct history *h = c->h;
	c->order_count = c->commit_count + c->indet_count + c->crash_count;
	c->order = wh_malloc(((size_t)c->order_count + 1) * sizeof *c->order);
	c->crash_step = wh_malloc(((size_t)c->crash_count + 1) *
				  sizeof *c->crash_step);
	c->crash_required = wh_malloc(((size_t)c->crash_count + 1) *
				      sizeof *c->crash_required);
	struct order_cursor oc = { 0, 0, ORACLE_NONE };
	uint32_t ii = 0;
	for (uint32_t k = 0; k <= c->commit_count; k++) {
		for (; ii < c->indet_count && c->indet_slot[ii] == k; ii++)
			if (order_txn(c, &oc, c->indets[ii], ii) != 0)
				return -1;
		if (k == c->commit_count)
			break;
		if (order_txn(c, &oc, c->by_commit[k], ORACLE_NONE) != 0)
			return -1;
	}
	while (oc.epoch < c->crash_count)
		order_crash(c, &oc);
	WH_ASSERT_EQ(oc.s, c->order_count);
	WH_ASSERT_EQ(ii, c->indet_count);

	/* What a crash must keep when its promise is "everything": up to
	 * its epoch's last committed writer. */
	for (uint32_t e = 0; e < c->crash_count; e++) {
		uint32_t req = oracle__epoch_first(c, e);
		for (uint32_t q = req; q < c->crash_step[e]; q++) {
			uint32_t txn = c->order[q].txn;
			WH_ASSERT(txn != ORACLE_NONE);
			if (h->txns[txn]->outcome == HIST_COMMITTED &&
			    !c->txn_ro[txn])
				req = q + 1;
		}
		c->crash_required[e] = req;
	}
	return 0;
}

/* Indexes the history. Returns 0, or -1 with the reason in the note. */
static int ctx_init(struct oracle__ctx *c)
{
	const struct history *h = c->h;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		if (h->txns[i] == NULL || h->txns[i]->id != i) {
			oracle__report_note(c->report, "oracle: history: transaction ids are not their indexes");
			return -1;
		}
		if (h->txns[i]->outcome == HIST_COMMITTED)
			c->commit_count++;
	}
	c->by_commit = wh_malloc((c->commit_count ? c->commit_count : 1) *
				 sizeof *c->by_commit);
	for (uint32_t k = 0; k < c->commit_count; k++)
		c->by_commit[k] = ORACLE_NONE;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		if (t->outcome != HIST_COMMITTED)
			continue;
		if (t->commit_index < 0 ||
		    t->commit_index >= (int64_t)c->commit_count ||
		    c->by_commit[t->commit_index] != ORACLE_NONE) {
			oracle__report_note(c->report, "oracle: history: commit indexes are not 0..N-1 without repeats");
			return -1;
		}
		c->by_commit[t->commit_index] = i;
	}

	if (c->stream != NULL) {
		/* The stream's reference, at the final state, with every
		 * text interned and classified on the setup state (the same
		 * classification oracle__ref_classify gives). */
		c->ref = c->stream->ref;
		memset(&c->stream->ref, 0, sizeof c->stream->ref);
		c->ref.h = h;
		c->ref.cfg = c->cfg;
		oracle__ref_moved(&c->ref);
	} else {
		oracle__ref_init(&c->ref, h, c->cfg);
		if (oracle__ref_open(&c->ref) != 0) {
			oracle__report_note(c->report, c->ref.error);
			return -1;
		}
		oracle__ref_classify(&c->ref);
	}
	c->txn_ro = wh_malloc((h->txn_count ? h->txn_count : 1) *
			      sizeof *c->txn_ro);
	for (uint32_t i = 0; i < h->txn_count; i++)
		c->txn_ro[i] = oracle__txn_readonly(&c->ref, h->txns[i]);
	if (ctx_epochs(c) != 0)
		return -1;
	ctx_indets(c);
	return ctx_order(c);
}

/* ------------------------------------------------------------------ */
/* Plans                                                                */
/* ------------------------------------------------------------------ */

struct window_key {
	uint32_t lo;
	uint32_t txn;
};

static int window_key_cmp(const void *a, const void *b)
{
	const struct window_key *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->txn < y->txn ? -1 : x->txn > y->txn ? 1 : 0;
}

static void plan_free(struct oracle__plan *p)
{
	free(p->steps);
	free(p->step_of);
	free(p->role);
	free(p->lo);
	free(p->hi);
	free(p->windows);
	free(p->included);
	memset(p, 0, sizeof *p);
}

bool oracle__txn_happened(const struct oracle__ctx *c,
			  const struct oracle__plan *p, uint32_t txn)
{
	const struct hist_txn *t = c->h->txns[txn];
	if (t->outcome == HIST_COMMITTED)
		return true;
	return p->step_of[txn] != ORACLE_NONE &&
	       !p->steps[p->step_of[txn]].noop;
}

/* The events a plan's window bounds are maxima over (see plan_build). */
struct plan_events {
	struct event_max *ends;   /* (end event, position it vouches for) */
	struct event_max *starts; /* (COMMIT start event, position after it) */
	uint32_t end_count, start_count;
};

/* The plan's arrays, empty: no transaction has a step or a role yet. */
static void plan_alloc(const struct oracle__ctx *c, const bool *included,
		       struct oracle__plan *p)
{
	const struct history *h = c->h;
	uint32_t n = h->txn_count ? h->txn_count : 1;
	memset(p, 0, sizeof *p);
	p->step_count = c->order_count;
	p->steps = wh_malloc((p->step_count + 1) * sizeof *p->steps);
	p->step_of = wh_malloc(n * sizeof *p->step_of);
	p->role = wh_calloc(n, sizeof *p->role);
	p->lo = wh_calloc(n, sizeof *p->lo);
	p->hi = wh_calloc(n, sizeof *p->hi);
	p->included = wh_malloc((c->indet_count + 1) * sizeof *p->included);
	for (uint32_t i = 0; i < h->txn_count; i++)
		p->step_of[i] = ORACLE_NONE;
	for (uint32_t k = 0; k < c->indet_count; k++)
		p->included[k] = included[k];
}

/* The steps, in order: crashes, and transactions applied or no-ops as
 * included says; and the events the window bounds are drawn from, sorted
 * for event_max_before. */
static void plan_steps(const struct oracle__ctx *c, const bool *included,
		       struct oracle__plan *p, struct plan_events *ev)
{
	const struct history *h = c->h;
	ev->ends = wh_malloc((p->step_count + 1) * sizeof *ev->ends);
	ev->starts = wh_malloc((p->step_count + 1) * sizeof *ev->starts);
	ev->end_count = ev->start_count = 0;
	uint32_t after_writer = 0; /* position after the last committed writer */
	for (uint32_t s = 0; s < p->step_count; s++) {
		const struct oracle__slot *o = &c->order[s];
		if (o->crash != ORACLE_NONE) {
			p->steps[s] = (struct oracle__step){ ORACLE_NONE,
							     o->crash, true };
			continue;
		}
		/* One the driver saw undone (hist_txn.undone: its hot
		 * journal played back to its end, or its latent commit
		 * written over) is settled: not committed, in every plan (it
		 * keeps its slot, as in the stream's sweep, which may have
		 * seen it end before it was undone). */
		bool happened = o->indet == ORACLE_NONE ||
				(included[o->indet] && !h->txns[o->txn]->undone);
		bool noop = !happened || c->txn_ro[o->txn];
		p->steps[s] = (struct oracle__step){ o->txn, ORACLE_NONE, noop };
		p->step_of[o->txn] = s;
		const struct hist_txn *t = h->txns[o->txn];
		/* What an ended step vouches for. A writer (committed, or
		 * assumed so) held the write lock, so whatever precedes it
		 * had committed before it could. A committed reader held no
		 * lock: it vouches for the commits before it (their locks
		 * were released before it ended) but not for an assumed
		 * indeterminate writer placed just before it, whose commit
		 * point may have come after; so it vouches up to the last
		 * committed writer only. */
		/* A latent commit's end vouches for nothing: readers that
		 * began after it did not see it (hist_txn.latent). */
		if (happened && t->end_event != 0 && !t->latent)
			ev->ends[ev->end_count++] = (struct event_max){
				t->end_event, noop ? after_writer : s + 1
			};
		if (!noop && o->indet == ORACLE_NONE)
			after_writer = s + 1;
		if (!noop)
			ev->starts[ev->start_count++] = (struct event_max){
				commit_start_event(t), s + 1
			};
	}
	event_max_build(ev->ends, ev->end_count);
	event_max_build(ev->starts, ev->start_count);
}

/* Each transaction with statements is an anchor at its step (when it
 * changes the state there) or gets a window [lo, hi] inside its epoch;
 * windows are listed by lo, then transaction id. */
static void plan_windows(const struct oracle__ctx *c, struct oracle__plan *p,
			 const struct plan_events *ev)
{
	const struct history *h = c->h;
	uint32_t n = h->txn_count ? h->txn_count : 1;
	struct window_key *wk = wh_malloc(n * sizeof *wk);
	p->window_count = 0;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		if (t->stmt_count == 0)
			continue;
		uint32_t st = p->step_of[i];
		if (st != ORACLE_NONE && !p->steps[st].noop) {
			p->role[i] = ORACLE_ROLE_ANCHOR;
			p->lo[i] = p->hi[i] = st;
			continue;
		}
		p->role[i] = ORACLE_ROLE_WINDOW;
		uint32_t first = oracle__epoch_first(c, c->txn_epoch[i]);
		uint32_t last = oracle__epoch_last(c, c->txn_epoch[i]);
		uint32_t lo = event_max_before(ev->ends, ev->end_count, t->begin_event);
		uint64_t end = t->end_event ? t->end_event : UINT64_MAX;
		uint32_t hi = event_max_before(ev->starts, ev->start_count, end);
		lo = lo > first ? lo : first;
		hi = hi < last ? hi : last;
		WH_ASSERT(lo <= last);
		p->lo[i] = lo;
		p->hi[i] = hi > lo ? hi : lo;
		WH_ASSERT(p->hi[i] <= p->step_count);
		wk[p->window_count++] = (struct window_key){ lo, i };
	}
	sort_nearly(wk, p->window_count, sizeof *wk, window_key_cmp);
	p->windows = wh_malloc((p->window_count + 1) * sizeof *p->windows);
	for (uint32_t k = 0; k < p->window_count; k++)
		p->windows[k] = wk[k].txn;
	free(wk);
}

/* Builds the plan for the given assumption about each indeterminate
 * writer (included[k] for c->indets[k]; copied).
 *
 * Window bounds, for a transaction R of epoch e:
 *   lo = max(s + 1) over steps s of transactions that happened and ended
 *        before R began: R sees a commit that returned before it began,
 *        and everything ordered before that commit, which became visible
 *        earlier still (the order is by visibility). Since commit_index
 *        follows visibility rather than end order, the steps before s
 *        need not all have ended: a prefix rule ("every step before lo
 *        had ended") would be too lax. A committed read-only step counts
 *        up to the last committed writer before it (see plan_steps).
 *   hi = max(s + 1) over state-changing steps whose COMMIT (or
 *        autocommit statement) started before R ended, at least lo: R
 *        may see a commit in progress, and what precedes it, but nothing
 *        that started later.
 * Both stay inside R's epoch: [epoch_first(e), epoch_last(e)]. Crash
 * steps take part in neither (the epoch bounds stand for them). */
static void plan_build(const struct oracle__ctx *c, const bool *included,
		       struct oracle__plan *p)
{
	struct plan_events ev;
	plan_alloc(c, included, p);
	plan_steps(c, included, p, &ev);
	plan_windows(c, p, &ev);
	free(ev.starts);
	free(ev.ends);
}

/* ------------------------------------------------------------------ */
/* The sweep                                                            */
/* ------------------------------------------------------------------ */

static void failure_add(struct oracle__outcome *o, uint32_t txn, bool anchored,
			uint32_t pos, uint32_t stmt, char *why)
{
	if (o->failure_count == o->failure_cap) {
		o->failure_cap = o->failure_cap ? o->failure_cap * 2 : 16;
		o->failures = wh_realloc(o->failures,
					 o->failure_cap * sizeof *o->failures);
	}
	o->failures[o->failure_count++] =
		(struct oracle__failure){ txn, anchored, pos, stmt, why };
}

static int failure_cmp(const void *a, const void *b)
{
	const struct oracle__failure *x = a, *y = b;
	return x->txn < y->txn ? -1 : x->txn > y->txn ? 1 : 0;
}

static void evals_free(struct oracle__evals *ev)
{
	free(ev->txn);
	free(ev->pos);
	free(ev->m);
	memset(ev, 0, sizeof *ev);
}

static void outcome_free(struct oracle__outcome *o)
{
	evals_free(&o->evals);
	free(o->digests.pos);
	free(o->digests.d);
	for (uint32_t k = 0; k < o->failure_count; k++)
		free(o->failures[k].why);
	free(o->failures);
	free(o->crashes);
	oracle__final_free(&o->final);
	plan_free(&o->plan);
	memset(o, 0, sizeof *o);
}

/* A window transaction still searching for its position. */
struct active {
	uint32_t txn;
	uint32_t best_pos;     /* where the longest prefix matched */
	uint32_t best_stmt;    /* first mismatch there */
	uint64_t version;      /* state version of the last evaluation */
	bool tried;            /* evaluated at least once */
};

/* Evaluates e at position k (state version) unless it was evaluated on
 * this very state already. Returns true when every replayed statement
 * matched; otherwise keeps the lowest position of the longest matching
 * prefix. */
/* What an earlier sweep's evaluation of txn at position k gave, when
 * that sweep's state there was this one's (k below memo_to: the same
 * steps applied before k, every crash before it resolved alike);
 * MEMO_MISS when it has none. An evaluation is a function of the state
 * and the transaction alone (ref_try runs it in a savepoint it rolls
 * back), so the plans of the indeterminate search, which mostly differ
 * from the best one by a late flip, need not evaluate their common
 * prefix again. Lookups come in increasing k, so a cursor walks the memo
 * once per sweep. */
#define MEMO_MISS (ORACLE_NONE - 1)

uint32_t oracle__memo_seek(const uint32_t *pos, uint32_t count, uint32_t *at, uint32_t k)
{
	while (*at < count && pos[*at] < k)
		++*at;
	return *at < count && pos[*at] == k ? *at : count;
}

static uint32_t memo_lookup(struct oracle__ctx *c, uint32_t txn, uint32_t k)
{
	const struct oracle__evals *ev = c->memo != NULL ? &c->memo->evals : NULL;
	if (ev == NULL || k >= c->memo_to)
		return MEMO_MISS;
	for (uint32_t i = oracle__memo_seek(ev->pos, ev->count, &c->memo_at, k);
	     i < ev->count && ev->pos[i] == k; i++)
		if (ev->txn[i] == txn)
			return ev->m[i];
	return MEMO_MISS;
}

static void evals_push(struct oracle__evals *ev, uint32_t txn, uint32_t k, uint32_t m)
{
	if (ev->count == ev->cap) {
		ev->cap = ev->cap ? 2 * ev->cap : 256;
		ev->txn = wh_realloc(ev->txn, ev->cap * sizeof *ev->txn);
		ev->pos = wh_realloc(ev->pos, ev->cap * sizeof *ev->pos);
		ev->m = wh_realloc(ev->m, ev->cap * sizeof *ev->m);
	}
	ev->txn[ev->count] = txn;
	ev->pos[ev->count] = k;
	ev->m[ev->count] = m;
	ev->count++;
}

static bool active_eval(struct oracle__ctx *c, struct oracle__evals *rec, struct active *e,
			uint32_t k, uint64_t version)
{
	static const struct oracle__probe probe = {
		.stop_early = true, .capture_stmt = ORACLE_NONE
	};
	if (e->tried && e->version == version)
		return false;
	const struct hist_txn *t = c->h->txns[e->txn];
	uint32_t m = memo_lookup(c, e->txn, k);
	if (m == MEMO_MISS)
		m = oracle__ref_try(&c->ref, t, t->stmt_count, &probe);
	else
		c->report->evals_reused++;
	if (c->memo_record)
		evals_push(rec, e->txn, k, m);
	if (m == ORACLE_NONE)
		return true;
	WH_ASSERT(m < t->stmt_count);
	if (!e->tried || m > e->best_stmt) {
		e->best_stmt = m;
		e->best_pos = k;
	}
	e->tried = true;
	e->version = version;
	return false;
}

static int sweep_digest_failed(struct oracle__ctx *c, int rc)
{
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "oracle: reference database: digest: %s",
			   sqlite3_errstr(rc));
	return ctx_fail(c, &b);
}

/* Whether sweep a resolved crashes 0..e as b did: where each resumed from
 * and what it undid, all the rebuild after them depends on
 * (oracle__crash_rebuild). */
static bool crashes_alike(const struct oracle__outcome *a, const struct oracle__outcome *b,
			  uint32_t e)
{
	if (a->crashes_done <= e || b->crashes_done <= e)
		return false;
	for (uint32_t j = 0; j <= e; j++) {
		const struct oracle__crash_out *x = &a->crashes[j], *y = &b->crashes[j];
		if (x->pos != y->pos || x->matched != y->matched || x->undo_from != y->undo_from ||
		    x->earlier != y->earlier)
			return false;
	}
	return true;
}

/* At crash step k: settles where the target recovered to and resumes the
 * reference from there. Returns 0 or -1 (note). */
static int sweep_crash(struct oracle__ctx *c, const struct oracle__plan *p,
		       struct oracle__crash_search *cs, uint32_t k,
		       uint64_t *version, struct oracle__outcome *out)
{
	uint32_t e = cs->crash;
	WH_ASSERT_EQ(p->steps[k].crash, e);
	int rc = oracle__crash_resolve(c, p, cs, &out->crashes[e]);
	if (rc != SQLITE_OK)
		return sweep_digest_failed(c, rc);
	if (oracle__crash_undo_reopen(c, p, out->crashes, e) != 0 ||
	    (cs->level + 1 == ORACLE_CRASH_LEVELS &&
	     oracle__crash_lost_earlier(c, p, out->crashes, e) != 0)) {
		oracle__report_note(c->report, c->ref.error);
		return -1;
	}
	if (out->crashes[e].undo_from != ORACLE_NONE)
		++*version; /* rebuilt without the undone writers */
	out->crashes_done = e + 1;
	if (c->memo != NULL && k < c->memo_to && !crashes_alike(c->memo, out, e))
		c->memo_to = k + 1; /* the states after this crash differ */
	const struct oracle__crash_out *co = &out->crashes[e];
	bool compared = c->h->crashes[e].recovered_rc == SQLITE_OK;
	out->crash_bad += compared &&
			  (!co->matched || !oracle__crash_allowed(c, e, co->pos) || co->earlier_bad);
	if (compared && !co->matched && cs->level + 1 < ORACLE_CRASH_LEVELS) {
		/* The rest of this sweep would be thrown away. */
		out->unmatched = true;
		return 0;
	}
	if (co->pos < k) {
		if (oracle__crash_rebuild(c, p, out->crashes, k) != 0) {
			oracle__report_note(c->report, c->ref.error);
			return -1;
		}
		++*version;
	}
	return 0;
}

/* One sweep in progress: where it stands and the window transactions
 * still searching for their position. */
struct sweep {
	uint32_t bound_failures;         /* failures counted in bound_hard */
	uint64_t bound_hard;             /* of them, those no configuration
					    excuses (sweep_cut) */
	struct oracle__ctx *c;
	const struct oracle__plan *p;
	struct oracle__outcome *out;
	struct active *act;              /* searching, in order of admission */
	uint32_t act_count;
	uint32_t wi;                     /* next of p->windows to admit */
	uint32_t epoch;                  /* crash steps passed */
	uint64_t version;                /* advances with every state change */
	struct oracle__crash_search cs;  /* the current epoch's crash */
};

/* At position k: admit the windows that open here, then evaluate every
 * searching transaction on the current state. One that matches is done;
 * one whose window closes here without a match is a failure at its best
 * position. */
static void sweep_windows(struct sweep *sw, uint32_t k)
{
	const struct oracle__plan *p = sw->p;
	while (sw->wi < p->window_count && p->lo[p->windows[sw->wi]] == k) {
		sw->act[sw->act_count++] = (struct active){ .txn = p->windows[sw->wi] };
		sw->wi++;
	}
	uint32_t keep = 0;
	for (uint32_t a = 0; a < sw->act_count; a++) {
		struct active e = sw->act[a];
		WH_ASSERT(p->lo[e.txn] <= k && k <= p->hi[e.txn]);
		if (active_eval(sw->c, &sw->out->evals, &e, k, sw->version))
			continue; /* matched: done */
		if (p->hi[e.txn] == k) {
			failure_add(sw->out, e.txn, false, e.best_pos, e.best_stmt, NULL);
			continue;
		}
		sw->act[keep++] = e;
	}
	sw->act_count = keep;
}

/* Step k, a transaction: applied for good, every statement compared (a
 * mismatch fails the anchored transaction here), unless it is a no-op. */
static void sweep_apply(struct sweep *sw, uint32_t k)
{
	const struct oracle__step *st = &sw->p->steps[k];
	WH_ASSERT(st->crash == ORACLE_NONE);
	if (st->noop)
		return;
	char *why = NULL;
	uint32_t m = oracle__ref_apply(&sw->c->ref, sw->c->h->txns[st->txn], &why);
	if (m != ORACLE_NONE)
		failure_add(sw->out, st->txn, true, k, m, why);
	sw->version++;
}

struct score {
	uint64_t hard;
	uint64_t bad;
	uint64_t matched;
};
static bool failure_excusable(const struct oracle__ctx *c, uint32_t txn);
static void score_add_content(const struct oracle__ctx *c, const struct oracle__outcome *o,
			      struct score *sc);

/* Branch and bound for the plan search: whether the sweep so far already
 * scores worse than the best plan's outcome (c->bound_*), first on
 * failures no configuration excuses, then on all of them. Only once
 * every crash is behind the sweep and was matched at this level (so this
 * level's outcome is the plan's, no later level runs): from there on
 * failures, final differences and crashes recovered to no allowed state
 * only add up, so the finished outcome could not score better either
 * (score_better: fewer hard, then fewer bad; the matched tie-break needs
 * equal counts) and try_plan would discard it. The search then takes
 * the same path and keeps the same best outcome: only the runs that
 * lose end sooner. Tested when a failure was added; each failure is
 * judged once (failures are appended, and sorted only after the sweep). */
static bool sweep_cut(struct sweep *sw)
{
	struct oracle__ctx *c = sw->c;
	const struct oracle__outcome *o = sw->out;
	if (!c->bound_set || sw->epoch != c->crash_count || o->failure_count == sw->bound_failures)
		return false;
	for (; sw->bound_failures < o->failure_count; sw->bound_failures++)
		sw->bound_hard += !failure_excusable(c, o->failures[sw->bound_failures].txn);
	struct score a = {sw->bound_hard, o->failure_count, 0};
	score_add_content(c, o, &a);
	return a.hard > c->bound_hard || (a.hard == c->bound_hard && a.bad > c->bound_bad);
}

int oracle__sweep(struct oracle__ctx *c, const struct oracle__plan *p,
		  uint32_t level, struct oracle__outcome *out)
{
	/* The reference ctx_init opened and classified on is still pristine
	 * for the first sweep: its statements are prepared already. */
	if (!c->ref.pristine && oracle__ref_open(&c->ref) != 0) {
		oracle__report_note(c->report, c->ref.error);
		return -1;
	}
	out->crashes = wh_calloc(c->crash_count + 1, sizeof *out->crashes);
	struct sweep sw = {
		.c = c,
		.p = p,
		.out = out,
		.act = wh_malloc((p->window_count + 1) * sizeof *sw.act),
	};
	int rc = 0;
	if (c->crash_count > 0)
		oracle__crash_search_begin(c, p, 0, level, &sw.cs);

	for (uint32_t k = 0; k <= p->step_count && rc == 0; k++) {
		sweep_windows(&sw, k);
		if (sw.epoch < c->crash_count) {
			int drc = oracle__crash_observe(c, &sw.cs, k, sw.version, out);
			if (drc != SQLITE_OK) {
				rc = sweep_digest_failed(c, drc);
				break;
			}
		}
		if (k == p->step_count)
			break;
		if (p->steps[k].crash == ORACLE_NONE) {
			sweep_apply(&sw, k);
			if (sweep_cut(&sw)) {
				out->cut = true;
				break;
			}
			continue;
		}
		/* Windows never span a crash: every transaction of the epoch
		 * has been judged. */
		WH_ASSERT_EQ(sw.act_count, 0);
		rc = sweep_crash(c, p, &sw.cs, k, &sw.version, out);
		if (rc != 0 || out->unmatched)
			break;
		if (++sw.epoch < c->crash_count)
			oracle__crash_search_begin(c, p, sw.epoch, level, &sw.cs);
	}
	oracle__crash_search_free(&sw.cs);
	free(sw.act);
	if (rc != 0)
		return -1;
	oracle__ref_settle(&c->ref);
	if (out->unmatched || out->cut)
		return 0; /* incomplete: the caller searches again, or drops it */
	WH_ASSERT_EQ(sw.act_count, 0);
	WH_ASSERT_EQ(sw.wi, p->window_count);
	WH_ASSERT_EQ(sw.epoch, c->crash_count);
	if (out->failure_count > 1)
		qsort(out->failures, out->failure_count, sizeof *out->failures,
		      failure_cmp);
	return 0;
}

/* Whether the stream's sweep is the one the plan asks for: the same
 * steps in the same order, crashes included, the same ones changing
 * nothing, and every window transaction matched at a position of its
 * window (stream.c says why that is the sweep's pass). */
static bool stream_agrees(const struct oracle__ctx *c,
			  const struct oracle__plan *p,
			  const struct oracle__stream_result *sr)
{
	if (sr->crash_count != c->crash_count ||
	    sr->step_count != p->step_count || sr->txn_count < c->h->txn_count)
		return false;
	for (uint32_t s = 0; s < p->step_count; s++)
		if (p->steps[s].txn != sr->steps[s] ||
		    p->steps[s].crash != sr->step_crash[s] ||
		    p->steps[s].noop != sr->step_noop[s])
			return false;
	for (uint32_t i = 0; i < c->h->txn_count; i++) {
		if (sr->txn_ro[i] != c->txn_ro[i])
			return false;
		if (p->role[i] != ORACLE_ROLE_WINDOW)
			continue;
		uint32_t m = sr->match_pos[i];
		if (m == ORACLE_NONE || m < p->lo[i] || m > p->hi[i])
			return false;
	}
	return true;
}

/* The check run of the plan the stream followed (every indeterminate
 * writer taken as not committed, but those a crash's recovered state
 * showed), taken from the stream when it agrees (*used; out then holds a
 * passing outcome, each crash recovered at its own step, with its
 * final-state comparison). Otherwise the stream is dropped, the
 * reference reopened and classified as ctx_init would have (out is left
 * empty), and nothing else changes. */
static int stream_run(struct oracle__ctx *c, bool *included,
		      struct oracle__outcome *out, bool *used)
{
	*used = false;
	memset(out, 0, sizeof *out);
	for (uint32_t k = 0; k < c->indet_count; k++)
		included[k] = c->stream->included[c->indets[k]];
	plan_build(c, included, &out->plan);
	bool agrees = stream_agrees(c, &out->plan, c->stream);
	oracle__stream_result_free(c->stream);
	c->stream = NULL;
	if (agrees) {
		*used = true;
		c->report->streamed = true;
		out->crashes = wh_calloc(c->crash_count + 1, sizeof *out->crashes);
		for (uint32_t e = 0; e < c->crash_count; e++)
			out->crashes[e] = (struct oracle__crash_out){
				.pos = c->crash_step[e],
				.matched = true,
				.phantom = ORACLE_NONE,
				.undo_from = ORACLE_NONE,
			};
		return c->target != NULL ? oracle__final_compare(c, &out->final) : 0;
	}
	outcome_free(out);
	if (oracle__ref_open(&c->ref) != 0) {
		oracle__report_note(c->report, c->ref.error);
		return -1;
	}
	oracle__ref_classify(&c->ref);
	return 0;
}

/* Positions whose state is the same under plans a and b: up to and
 * including the first step where they differ (the state at position k
 * is what the steps before k made). */
static uint32_t same_states_to(const struct oracle__plan *a, const struct oracle__plan *b)
{
	WH_ASSERT_EQ(a->step_count, b->step_count);
	uint32_t k = 0;
	while (k < a->step_count && a->steps[k].txn == b->steps[k].txn &&
	       a->steps[k].noop == b->steps[k].noop && a->steps[k].crash == b->steps[k].crash)
		k++;
	return k + 1;
}

/* One check run: sweep, then the final-state comparison. A crash whose
 * recovered state matched none of the states compared sends the run
 * round again at the next search level (its result replaces the last),
 * so honest runs pay for a few digests per crash only, and a recovery
 * that lost more pays in proportion.
 *
 * Its sweeps reuse evaluations and digests (memo_lookup, crash.c): the
 * first from `prior`'s (the best plan so far, NULL for none) where the
 * two plans apply the same steps, a later level's from the level before
 * (the same plan); either only while every crash passed was resolved
 * alike (sweep_crash). */
static int check_run(struct oracle__ctx *c, const bool *included,
		     struct oracle__outcome *out, const struct oracle__outcome *prior)
{
	memset(out, 0, sizeof *out);
	plan_build(c, included, &out->plan);
	const struct oracle__plan *p = &out->plan;
	struct oracle__outcome before = {0}; /* the last level's findings */
	/* Only a history with plans to settle or crash levels to search
	 * again sweeps more than once: otherwise nothing would read it. */
	c->memo_record = !c->cfg->search_plain && (c->indet_count > 0 || c->crash_count > 0);
	int rc = 0;
	for (uint32_t level = 0; rc == 0 && level < ORACLE_CRASH_LEVELS; level++) {
		c->memo = NULL;
		c->memo_at = 0;
		c->memo_digest_at = 0;
		if (level > 0) {
			/* The level's findings move to before; the plan stays. */
			outcome_free(&before);
			before = *out;
			memset(&before.plan, 0, sizeof before.plan);
			struct oracle__plan kept = out->plan;
			memset(out, 0, sizeof *out);
			out->plan = kept;
			if (!c->cfg->search_plain) {
				c->memo = &before;
				c->memo_to = UINT32_MAX;
			}
		} else if (prior != NULL && !c->cfg->search_plain) {
			c->memo = prior;
			c->memo_to = same_states_to(&prior->plan, p);
		}
		rc = oracle__sweep(c, p, level, out);
		if (!out->unmatched)
			break;
	}
	c->memo = NULL;
	outcome_free(&before);
	WH_ASSERT(rc != 0 || !out->unmatched);
	WH_ASSERT_EQ(p->step_count, c->order_count);
	if (rc == 0 && c->target != NULL && !out->cut)
		rc = oracle__final_compare(c, &out->final);
	return rc;
}

static bool txn_ended_after(const struct oracle__ctx *c, uint32_t txn,
			    uint64_t e);

/* The two rules report_finish labels by, per transaction a violation
 * names. Without a durability promise, after the first power loss: the
 * transaction began after it, or is an indeterminate writer whose commit
 * point came in an epoch from it on. */
static bool excused_no_durability(const struct oracle__ctx *c, uint32_t txn)
{
	if (c->cfg->durability != ORACLE_DURABLE_NONE || c->first_power_loss == ORACLE_NONE)
		return false;
	const struct hist_txn *t = c->h->txns[txn];
	return t->begin_event > c->h->crashes[c->first_power_loss].event ||
	       (t->outcome == HIST_INDETERMINATE && t->commit_event != 0 &&
		c->txn_epoch[txn] >= c->first_power_loss);
}

/* Journal mode MEMORY past the history's unsafe point: the transaction
 * ended after it (or never did). */
static bool excused_unsafe(const struct oracle__ctx *c, uint32_t txn)
{
	uint64_t unsafe = c->h->unsafe_event;
	return unsafe != 0 && txn_ended_after(c, txn, unsafe);
}

/* Whether the configuration excuses a failure of transaction txn, by the
 * rules report_finish labels violations expected with (bit flips; after
 * the first power loss without a durability promise; past journal
 * MEMORY's unsafe point), content failures (final rows, crashes
 * recovered to no allowed state) with txn ORACLE_NONE. */
static bool failure_excusable(const struct oracle__ctx *c, uint32_t txn)
{
	if (c->cfg->bitflips)
		return true;
	if (txn == ORACLE_NONE)
		return (c->cfg->durability == ORACLE_DURABLE_NONE &&
			c->first_power_loss != ORACLE_NONE) ||
		       c->h->unsafe_event != 0;
	return excused_no_durability(c, txn) || excused_unsafe(c, txn);
}

/* Final differences and crashes recovered to no allowed state, into sc. */
static void score_add_content(const struct oracle__ctx *c, const struct oracle__outcome *o,
			      struct score *sc)
{
	sc->bad += o->final.diff_total + o->crash_bad;
	if (!failure_excusable(c, ORACLE_NONE))
		sc->hard += o->final.diff_total + o->crash_bad;
}

/* How bad an outcome is: first the failures no configuration excuses
 * (a plan that explains every read SQLite still promises beats one that
 * trades them for failures the configuration excuses: under
 * synchronous=OFF a wrong guess about an indeterminate commit before a
 * power loss must not win by making fewer excused mismatches after it);
 * then all of them: failing transactions, differing final rows and
 * crashes recovered to no allowed state; between equally many, the one
 * whose failing transactions got further (longer matching prefixes) is
 * closer to the truth. That tie-break is what lets a single flip show
 * progress when two indeterminate transactions spoil the same reads. */
static struct score outcome_score(const struct oracle__ctx *c,
				  const struct oracle__outcome *o)
{
	struct score sc = { 0, o->failure_count, 0 };
	for (uint32_t k = 0; k < o->failure_count; k++) {
		sc.matched += o->failures[k].best_stmt;
		sc.hard += !failure_excusable(c, o->failures[k].txn);
	}
	score_add_content(c, o, &sc);
	return sc;
}

static bool score_better(struct score a, struct score b)
{
	if (a.hard != b.hard)
		return a.hard < b.hard;
	return a.bad < b.bad || (a.bad == b.bad && a.matched > b.matched);
}

/* Runs included (a candidate plan) and keeps it in *best when better;
 * otherwise restores included from best_included. */
static int try_plan(struct oracle__ctx *c, bool *included, bool *best_included,
		    struct oracle__outcome *best)
{
	struct oracle__outcome other;
	struct score bound = outcome_score(c, best);
	c->bound_set = !c->cfg->search_plain;
	c->bound_hard = bound.hard;
	c->bound_bad = bound.bad;
	int rc = check_run(c, included, &other, best);
	c->bound_set = false;
	c->report->plans++;
	c->report->plans_cut += other.cut;
	WH_ASSERT(rc != 0 || !other.cut || !score_better(outcome_score(c, &other), bound));
	if (rc == 0 && !other.cut && score_better(outcome_score(c, &other), bound)) {
		outcome_free(best);
		*best = other;
		memcpy(best_included, included, c->indet_count * sizeof *included);
	} else {
		outcome_free(&other);
		memcpy(included, best_included, c->indet_count * sizeof *included);
	}
	return rc;
}

/* try_plan with every indeterminate writer committed (value) or none;
 * included keeps the better plan. */
static int try_uniform(struct oracle__ctx *c, bool *included, bool value,
		       struct oracle__outcome *best)
{
	bool *kept = wh_malloc((c->indet_count + 1) * sizeof *kept);
	memcpy(kept, included, c->indet_count * sizeof *kept);
	for (uint32_t k = 0; k < c->indet_count; k++)
		included[k] = value;
	int rc = try_plan(c, included, kept, best);
	free(kept);
	return rc;
}

/* Indeterminate writers whose every assignment settle tries. */
#define SETTLE_ALL_MAX 4

struct explore_key {
	uint32_t distance;  /* positions to the nearest failure after it */
	uint32_t indet;     /* index in c->indets (slot order) */
};

static int explore_key_cmp(const void *a, const void *b)
{
	const struct explore_key *x = a, *y = b;
	if (x->distance != y->distance)
		return x->distance < y->distance ? -1 : 1;
	return x->indet < y->indet ? -1 : x->indet > y->indet ? 1 : 0;
}

/* Which `explored` indeterminate writers the search may flip: those whose
 * step comes nearest before a failure of the best plan so far (a failing
 * read or commit, a crash recovered to no allowed state, a final-state
 * difference at the end), since a commit can only change what follows
 * it; ties, and writers with no failure after them, in slot order.
 * Fills pick[0..explored) with indexes into c->indets. */
static void explore_pick(const struct oracle__ctx *c,
			 const struct oracle__outcome *best, uint32_t explored,
			 uint32_t *pick)
{
	WH_ASSERT(explored <= c->indet_count);
	uint32_t n = 0, cap = best->failure_count + c->crash_count + 1;
	uint32_t *fail_pos = wh_malloc(cap * sizeof *fail_pos);
	for (uint32_t k = 0; k < best->failure_count; k++)
		fail_pos[n++] = best->failures[k].best_pos;
	for (uint32_t e = 0; e < c->crash_count; e++) {
		const struct oracle__crash_out *co = &best->crashes[e];
		if (c->h->crashes[e].recovered_rc == SQLITE_OK &&
		    (!co->matched || !oracle__crash_allowed(c, e, co->pos) || co->earlier_bad))
			fail_pos[n++] = c->crash_step[e];
	}
	if (best->final.diff_total > 0)
		fail_pos[n++] = c->order_count;
	WH_ASSERT(n <= cap);
	qsort(fail_pos, n, sizeof *fail_pos, u32_cmp);

	struct explore_key *keys = wh_malloc((c->indet_count + 1) * sizeof *keys);
	uint32_t k = 0;
	for (uint32_t st = 0; st < c->order_count; st++) {
		uint32_t indet = c->order[st].indet;
		if (indet == ORACLE_NONE)
			continue;
		if (c->h->txns[c->order[st].txn]->undone) {
			keys[k++] = (struct explore_key){UINT32_MAX, indet}; /* settled */
			continue;
		}
		/* First failure at or after the position after its step. */
		uint32_t a = 0, b = n;
		while (a < b) {
			uint32_t mid = a + (b - a) / 2;
			if (fail_pos[mid] < st + 1)
				a = mid + 1;
			else
				b = mid;
		}
		keys[k++] = (struct explore_key){
			a < n ? fail_pos[a] - st : UINT32_MAX, indet
		};
	}
	WH_ASSERT_EQ(k, c->indet_count);
	qsort(keys, k, sizeof *keys, explore_key_cmp);
	for (uint32_t j = 0; j < explored; j++)
		pick[j] = keys[j].indet;
	free(keys);
	free(fail_pos);
}

/* Every assignment of pick[0..n) but the current one, the others as
 * best_included has them; stops as soon as a plan passes. */
static int settle_all(struct oracle__ctx *c, uint32_t n, const uint32_t *pick,
		      bool *included, bool *best_included, struct oracle__outcome *best)
{
	WH_ASSERT(n <= SETTLE_ALL_MAX);
	uint32_t current = 0;
	for (uint32_t k = 0; k < n; k++)
		current |= (uint32_t)best_included[pick[k]] << k;
	int rc = 0;
	for (uint32_t mask = 0; rc == 0 && mask < (1u << n) && outcome_score(c, best).bad > 0;
	     mask++) {
		if (mask == current)
			continue;
		for (uint32_t k = 0; k < n; k++)
			included[pick[k]] = (mask >> k & 1) != 0;
		rc = try_plan(c, included, best_included, best);
	}
	return rc;
}

/* Settles the indeterminate writers picked (explore_pick): see the file
 * comment. Up to SETTLE_ALL_MAX, every assignment is tried (at most 15
 * more runs); beyond, first every assignment of the SETTLE_ALL_MAX
 * nearest before a failure, then two passes of single flips, each over a
 * fresh pick. The joint tries come first because two writers that only
 * together explain a read (one committed and the other not, where the
 * plan so far had it the other way round) are never reached by single
 * flips: each alone makes more failures, and is undone. Stops as soon as
 * a plan passes. */
static int settle(struct oracle__ctx *c, uint32_t explored, bool *included,
		  struct oracle__outcome *best)
{
	bool *best_included = wh_malloc((c->indet_count + 1) *
					sizeof *best_included);
	memcpy(best_included, included, c->indet_count * sizeof *included);
	uint32_t *pick = wh_malloc((explored + 1) * sizeof *pick);
	explore_pick(c, best, explored, pick);
	int rc = settle_all(c, explored < SETTLE_ALL_MAX ? explored : SETTLE_ALL_MAX, pick,
			    included, best_included, best);
	if (explored > SETTLE_ALL_MAX) {
		for (int pass = 0; pass < 2 && rc == 0; pass++) {
			struct score before = outcome_score(c, best);
			/* The failures that guide the pick move as flips
			 * succeed: pick again for the second pass. */
			if (pass > 0)
				explore_pick(c, best, explored, pick);
			for (uint32_t k = 0; rc == 0 && k < explored &&
					     outcome_score(c, best).bad > 0;
			     k++) {
				included[pick[k]] = !included[pick[k]];
				rc = try_plan(c, included, best_included, best);
			}
			if (!score_better(outcome_score(c, best), before))
				break;
		}
	}
	memcpy(included, best_included, c->indet_count * sizeof *included);
	free(pick);
	free(best_included);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                          */
/* ------------------------------------------------------------------ */

/* Kinds that judge the target's content rather than what a transaction
 * read: after a power loss without a durability promise, any of them may
 * be the crash's doing. */
static bool kind_is_content(const char *kind)
{
	static const char *const kinds[] = {
		"lost_commit",   "phantom_commit",  "final_state",
		"recovery_state", "recovery_failed", "integrity_check",
		"foreign_key_check", "invariant",
	};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (strcmp(kind, kinds[k]) == 0)
			return true;
	return false;
}

static void violation_suffix(struct oracle_violation *v, const char *why)
{
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "%s (%s)", v->detail, why);
	free(v->detail);
	v->detail = oracle__buf_take(&b);
}

/* The readable reason appended to an expected violation's detail, for
 * each expected_reason id. */
static void violation_expected_why(const struct oracle__ctx *c,
				   struct oracle_violation *v)
{
	WH_ASSERT(v->expected);
	WH_ASSERT(v->expected_reason != NULL);
	if (strcmp(v->expected_reason, ORACLE_EXPECTED_BITFLIP) == 0) {
		violation_suffix(v, "expected under bit flips (SQLite has no page checksums)");
	} else if (strcmp(v->expected_reason, ORACLE_EXPECTED_NO_DURABILITY) == 0) {
		violation_suffix(v, "expected under synchronous=OFF, or NORMAL outside WAL: no durability promise after power loss");
	} else {
		WH_ASSERT(strcmp(v->expected_reason, ORACLE_EXPECTED_JOURNAL_MEMORY) == 0);
		struct oracle__buf b = { 0 };
		oracle__buf_printf(&b, "expected under journal_mode=MEMORY or OFF: a fault or power loss hit a writer at event %llu, and without a rollback journal on disk SQLite does not promise that a transaction it could not finish is undone (the database may be corrupt)",
				   (unsigned long long)c->h->unsafe_event);
		char *why = oracle__buf_take(&b);
		violation_suffix(v, why);
		free(why);
	}
}

/* Whether transaction txn ended after event e (or never ended: it was
 * still going at e). */
static bool txn_ended_after(const struct oracle__ctx *c, uint32_t txn,
			    uint64_t e)
{
	WH_ASSERT(txn < c->h->txn_count);
	const struct hist_txn *t = c->h->txns[txn];
	return t->end_event == 0 || t->end_event > e;
}

/* Labels the violations that the configuration explains, each with one
 * reason (expected_reason), tried in this order:
 *   - with bit flips, every one (SQLite has no page checksums, so a
 *     flipped bit may surface as any anomaly);
 *   - with durability NONE, after the first power loss: the crash
 *     verdicts of power losses and of reopens that followed one (marked
 *     by crash.c), every content kind (final state, integrity, foreign
 *     keys, invariants), and read anomalies of transactions that began
 *     after it, or that name an indeterminate writer (its COMMIT began,
 *     then failed or was cut) of an epoch a power loss ended: without a
 *     sync at commit a commit is visible before it is durable, others
 *     may read it, then the power loss takes it away, and the history
 *     shows reads of a transaction that never committed. Other
 *     anomalies before the first power loss, and reopens before any
 *     power loss, are not excused: synchronous only matters across power
 *     loss, so they remain failures;
 *   - in journal modes MEMORY and OFF, once the run reached the point
 *     where SQLite stopped promising rollback (history.unsafe_event: a
 *     fault or a power loss hit a writer): the crash verdicts of crashes
 *     after it (marked by crash.c), every content kind (the database
 *     may be corrupt from then on, earlier commits included), and read
 *     anomalies naming a transaction that ended after it. Anomalies whose
 *     transactions all ended before it are not excused: until then
 *     SQLite promised what it promises in every mode. */
/* A statement of the history stopped on the reference at the step
 * budget: the check could not finish it, which is said, not hidden. */
static void report_runaway(struct oracle__ctx *c)
{
	const char *what = c->ref.runaway;
	if (what == NULL && c->stream != NULL)
		what = c->stream->ref.runaway;
	if (what != NULL)
		oracle__report_add(c, "reference_runaway", wh_strdup(what), NULL, 0);
}

static void report_finish(struct oracle__ctx *c)
{
	struct oracle_report *r = c->report;
	bool none = c->cfg->durability == ORACLE_DURABLE_NONE &&
		    c->first_power_loss != ORACLE_NONE;
	uint64_t unsafe = c->h->unsafe_event;
	for (uint32_t k = 0; k < r->violation_count; k++) {
		struct oracle_violation *v = &r->violations[k];
		if (c->cfg->bitflips) {
			v->expected = true;
			v->expected_reason = ORACLE_EXPECTED_BITFLIP;
			violation_expected_why(c, v);
			continue;
		}
		/* crash.c judged its own verdicts (v->expected). */
		bool from_crash = k >= c->crash_viol_begin && k < c->crash_viol_end;
		WH_ASSERT(from_crash || !v->expected);
		const char *reason = v->expected ? v->expected_reason : NULL;
		bool content = kind_is_content(v->kind);
		bool crash_caused = none && !from_crash && content;
		for (uint32_t j = 0; none && !from_crash && !crash_caused &&
				     j < v->txn_count;
		     j++)
			crash_caused = excused_no_durability(c, v->txns[j]);
		if (reason == NULL && crash_caused)
			reason = ORACLE_EXPECTED_NO_DURABILITY;
		bool unsafe_caused = unsafe != 0 && !from_crash && content;
		for (uint32_t j = 0; unsafe != 0 && !from_crash && !unsafe_caused &&
				     j < v->txn_count;
		     j++)
			unsafe_caused = excused_unsafe(c, v->txns[j]);
		if (reason == NULL && unsafe_caused)
			reason = ORACLE_EXPECTED_JOURNAL_MEMORY;
		if (reason != NULL) {
			v->expected = true;
			v->expected_reason = reason;
			violation_expected_why(c, v);
		}
	}
	if (r->lost_txn_count > 1) {
		qsort(r->lost_txns, r->lost_txn_count, sizeof *r->lost_txns,
		      u32_cmp);
		uint32_t n = 0;
		for (uint32_t k = 0; k < r->lost_txn_count; k++)
			if (n == 0 || r->lost_txns[n - 1] != r->lost_txns[k])
				r->lost_txns[n++] = r->lost_txns[k];
		r->lost_txn_count = n;
	}
}

/* Opens the target read-only. A run that ended with a hot journal (a
 * rollback that failed under I/O faults) cannot be read that way: SQLite
 * must roll the journal back first, which is a write. Then the target is
 * opened read-write, SQLite recovers it as any later reader would, and
 * the note says so; the oracle itself still writes nothing. Returns 0, or
 * -1 with the reason in the note. */
static int target_open(struct oracle__ctx *c)
{
	const char *path = c->cfg->target_path;
	const struct wh_sqlapi *api = c->tapi;
	int orc = api->open_v2(path, &c->target, SQLITE_OPEN_READONLY,
			       c->cfg->target_vfs);
	if (orc == SQLITE_OK && c->cfg->target_prepare != NULL)
		orc = c->cfg->target_prepare(c->cfg->target_prepare_ctx, api, c->target);
	if (orc == SQLITE_OK) {
		/* Any read error but READONLY is left to the final checks,
		 * which report it as a finding about the target. */
		int prc = api->exec(c->target,
				       "SELECT count(*) FROM sqlite_schema",
				       NULL, NULL, NULL);
		if ((prc & 0xff) == SQLITE_READONLY) {
			api->close(c->target);
			c->target = NULL;
			orc = api->open_v2(path, &c->target,
					   SQLITE_OPEN_READWRITE,
					   c->cfg->target_vfs);
			if (orc == SQLITE_OK && c->cfg->target_prepare != NULL)
				orc = c->cfg->target_prepare(c->cfg->target_prepare_ctx, api,
							     c->target);
			if (orc == SQLITE_OK)
				oracle__report_note(c->report, "target had a hot journal: opened read-write so that SQLite could roll it back before the final checks");
		}
	}
	if (orc == SQLITE_OK)
		return 0;
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "oracle: cannot open target %s: %s", path,
			   c->target ? api->errmsg(c->target)
				     : api->errstr(orc));
	return ctx_fail(c, &b);
}

/* The result of the stream that checked the run as it went, when there
 * was one and it saw every transaction end; otherwise none. */
static void ctx_take_stream(struct oracle__ctx *c, struct oracle_stream *stream)
{
	const struct history *h = c->h;
	c->stream = oracle__stream_finish(stream);
	for (uint32_t i = 0; c->stream != NULL && i < h->txn_count; i++) {
		if (!oracle__ref_has_txn(&c->stream->ref, h->txns[i])) {
			/* a transaction the stream never saw end */
			oracle__stream_result_free(c->stream);
			c->stream = NULL;
		}
	}
}

/* The first plans (see the file comment). A stream proves a pass of one
 * plan (no indeterminate writer committed but those the recovered states
 * showed): then the history is proven, whatever the other plans give.
 * Without a stream's pass: first the guess (oracle__indet_guess), then,
 * if it fails, the better of it, "all happened" and "none happened".
 * best is filled (the caller frees it) whatever the result; 0 or -1. */
static int first_plans(struct oracle__ctx *c, bool *included, struct oracle__outcome *best)
{
	int rc = 0;
	bool streamed = false;
	if (c->stream != NULL) {
		rc = stream_run(c, included, best, &streamed);
		if (streamed && outcome_score(c, best).bad > 0) {
			/* a final-state difference: search as without it */
			outcome_free(best);
			streamed = false;
			c->report->streamed = false;
			if (oracle__ref_open(&c->ref) != 0) {
				oracle__report_note(c->report, c->ref.error);
				rc = -1;
			} else {
				oracle__ref_classify(&c->ref);
			}
		}
	}
	bool guessed = false;
	for (uint32_t k = 0; k < c->indet_count && !streamed; k++) {
		included[k] = oracle__indet_guess(c->h->txns[c->indets[k]]);
		guessed |= included[k];
	}
	if (rc == 0 && !streamed && guessed) {
		rc = check_run(c, included, best, NULL);
		if (rc == 0 && outcome_score(c, best).bad > 0)
			rc = try_uniform(c, included, true, best);
	} else if (rc == 0 && !streamed) {
		for (uint32_t k = 0; k < c->indet_count; k++)
			included[k] = true;
		rc = check_run(c, included, best, NULL);
	}
	if (rc == 0 && outcome_score(c, best).bad > 0 && c->indet_count > 0)
		rc = try_uniform(c, included, false, best);
	return rc;
}

/* The note of a search that gave up: how many indeterminate writers
 * there were, how many were explored, and what the rest were assumed. */
static void note_gave_up(struct oracle__ctx *c, const bool *included, uint32_t explored)
{
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "indeterminate budget exceeded: %u indeterminate transactions, only %u at a time (those nearest before a failure) were settled both ways (the rest kept the best of the first plans: the driver's guess, all committed, or none), so the failures below may have another explanation; assumed committed:",
			   c->indet_count, explored);
	for (uint32_t k = 0, shown = 0; k < c->indet_count && shown < 16; k++)
		if (included[k] && ++shown)
			oracle__buf_printf(&b, " T%u", c->indets[k]);
	oracle__buf_printf(&b, "; assumed not committed:");
	for (uint32_t k = 0, shown = 0; k < c->indet_count && shown < 16; k++)
		if (!included[k] && ++shown)
			oracle__buf_printf(&b, " T%u", c->indets[k]);
	char *msg = oracle__buf_take(&b);
	oracle__report_note(c->report, msg);
	free(msg);
}

/* While the best plan fails, settle up to the budget's indeterminate
 * writers both ways (settle); failures left with writers unexplored set
 * gave_up. 0 or -1. */
static int search_plans(struct oracle__ctx *c, bool *included, struct oracle__outcome *best)
{
	uint32_t budget = c->cfg->indeterminate_budget ? c->cfg->indeterminate_budget
						       : ORACLE_BUDGET_DEFAULT;
	uint32_t explored = c->indet_count < budget ? c->indet_count : budget;
	int rc = 0;
	if (outcome_score(c, best).bad > 0 && explored > 0)
		rc = settle(c, explored, included, best);
	if (rc == 0 && outcome_score(c, best).bad > 0 && c->indet_count > explored) {
		c->report->gave_up = true;
		note_gave_up(c, included, explored);
	}
	return rc;
}

/* The best plan's verdicts into the report: the transactions it checked,
 * the explanation of its failures and final differences, and the crash
 * verdicts (whose range in the violations report_finish needs). 0 or
 * -1. */
static int report_outcome(struct oracle__ctx *c, const bool *included,
			  struct oracle__outcome *best)
{
	struct oracle_report *out = c->report;
	/* The best outcome's plan is the one included describes. */
	const struct oracle__plan *p = &best->plan;
	WH_ASSERT(c->indet_count == 0 ||
		  memcmp(p->included, included, c->indet_count * sizeof *included) == 0);
	for (uint32_t i = 0; i < c->h->txn_count; i++)
		out->txns_checked += p->role[i] != ORACLE_ROLE_NONE;
	int rc = 0;
	if (best->failure_count > 0 || best->final.row_count > 0 || best->final.text_count > 0)
		rc = oracle__explain(c, p, best);
	c->crash_viol_begin = out->violation_count;
	if (rc == 0)
		oracle__crash_report(c, p, best);
	c->crash_viol_end = out->violation_count;
	return rc;
}

int oracle_check(const struct history *h, const struct oracle_config *cfg,
		 struct oracle_report *out)
{
	return oracle_check_stream(h, cfg, NULL, out);
}

int oracle_check_stream(const struct history *h,
			const struct oracle_config *cfg,
			struct oracle_stream *stream, struct oracle_report *out)
{
	WH_ASSERT(h != NULL);
	WH_ASSERT(out != NULL);
	static const struct oracle_config defaults;
	memset(out, 0, sizeof *out);
	struct oracle__ctx c = { .h = h, .cfg = cfg ? cfg : &defaults,
				 .report = out };
	c.tapi = c.cfg->target_api ? c.cfg->target_api : &wh_sqlapi_linked;
	ctx_take_stream(&c, stream);
	int rc = ctx_init(&c);
	if (rc == 0 && c.cfg->target_path != NULL)
		rc = target_open(&c);
	if (rc != 0) {
		ctx_fini(&c);
		return -1;
	}

	/* Settle indeterminate writers: start from the first plans, then
	 * flip while that strictly helps (see the file comment). */
	bool *included = wh_malloc((c.indet_count + 1) * sizeof *included);
	struct oracle__outcome best;
	rc = first_plans(&c, included, &best);
	if (rc == 0)
		rc = search_plans(&c, included, &best);
	if (rc == 0)
		rc = report_outcome(&c, included, &best);
	if (rc == 0 && c.target != NULL)
		oracle__target_checks(&c, &best.final);
	if (rc == 0)
		report_runaway(&c);
	if (rc == 0)
		report_finish(&c);
	if (c.dropped > 0) {
		struct oracle__buf b = { 0 };
		oracle__buf_printf(&b, "%u further violations not listed",
				   c.dropped);
		char *msg = oracle__buf_take(&b);
		oracle__report_note(out, msg);
		free(msg);
	}
	outcome_free(&best);
	free(included);
	ctx_fini(&c);
	return rc == 0 ? 0 : -1;
}
