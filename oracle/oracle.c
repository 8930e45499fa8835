/*
 * oracle.c - proves a run's history serializable, or names who broke it.
 *
 * Algorithm (one "check run" under a plan, see oracle_int.h for terms):
 *
 *   1. Plan. Committed transactions form the serial order, in commit_index
 *      order; an indeterminate writer (COMMIT cut by an I/O error or a
 *      crash) is placed where its COMMIT started, i.e. after every commit
 *      that had finished by then, and is either applied there or treated
 *      as a no-op, as the plan says. A committed or assumed-committed
 *      writer is anchored at its step. Every other transaction with
 *      statements (read-only committed, aborted, running, indeterminate
 *      assumed not committed) gets a window of positions [lo, hi]:
 *        lo = the longest prefix of steps that had all ended before it
 *             began (a transaction sees everything committed before it);
 *        hi = the last step whose COMMIT (or autocommit statement) had
 *             started before it ended (it may see nothing committed later).
 *
 *   2. Sweep. One pass over positions 0..S on a fresh reference database.
 *      At position k every window transaction with lo <= k that has not
 *      matched yet is evaluated (in a savepoint rolled back afterwards
 *      unless it is read-only); the first position where all its replayed
 *      statements match ends its search; if none up to hi does, it is a
 *      failure. A window transaction is not re-evaluated while the state
 *      has not changed (no-op steps). Then step k is applied for good,
 *      comparing every statement: a mismatch makes the anchored
 *      transaction a failure at its commit position. So each transaction
 *      costs one evaluation per distinct state in its window, and the
 *      replay as a whole is linear in the history.
 *
 *   3. Final state (when the caller names the target): every table and
 *      index of the target against the reference at position S.
 *
 *   4. Indeterminate transactions are settled by search over plans, each
 *      judged by a full check run (so what later reads and the final state
 *      show decides). The first plan assumes every indeterminate writer
 *      committed. While failures remain, the first `indeterminate_budget`
 *      of them (slot order) are explored: with at most 3, every
 *      combination (at most 8 runs); beyond, two passes flipping one at a
 *      time and keeping a flip when it improves the score (failures plus
 *      differing final rows, ties broken by how far failing transactions
 *      got), i.e. at most 2 * budget + 1 runs. When a plan passes, the
 *      history is proven whatever the budget. When failures remain and
 *      indeterminate transactions were left unexplored, gave_up is set and
 *      the note says so (the search within the budget is a heuristic
 *      beyond 3, not exhaustive).
 *
 *   5. Failures and final differences are explained (explain.c) under the
 *      best plan, then the target's integrity_check, foreign_key_check and
 *      invariants run (final.c).
 *
 * Statements of aborted transactions: only what was recorded is replayed.
 * A statement whose recorded error is environmental (BUSY, IOERR...) is
 * skipped, since the error says nothing about the data and SQLite undid
 * the statement; a deterministic error (CONSTRAINT...) is compared, since
 * it is a read of the state like any other.
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

void oracle__report_add(struct oracle__ctx *c, const char *kind,
			char *detail, const uint32_t *txns,
			uint32_t txn_count)
{
	struct oracle_report *r = c->report;
	WH_ASSERT(kind != NULL && detail != NULL);
	WH_ASSERT(txn_count == 0 || txns != NULL);
	if (r->violation_count >= ORACLE_VIOLATIONS_MAX) {
		c->dropped++;
		free(detail);
		return;
	}
	r->violations = wh_realloc(r->violations, (r->violation_count + 1) *
							  sizeof *r->violations);
	struct oracle_violation *v = &r->violations[r->violation_count++];
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
	memset(r, 0, sizeof *r);
}

static void report_note(struct oracle_report *r, const char *text)
{
	struct oracle__buf b = { 0 };
	if (r->note != NULL)
		oracle__buf_printf(&b, "%s; ", r->note);
	oracle__buf_printf(&b, "%s", text);
	free(r->note);
	r->note = oracle__buf_take(&b);
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

/* Largest L in [0, n] with prefmax[L] < event; prefmax is non-decreasing
 * and prefmax[0] == 0. */
static uint32_t prefix_before(const uint64_t *prefmax, uint32_t n,
			      uint64_t event)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;
		if (prefmax[mid] < event)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

struct indet_key {
	uint32_t slot;
	uint64_t commit_event;
	uint32_t txn;
};

static int indet_key_cmp(const void *a, const void *b)
{
	const struct indet_key *x = a, *y = b;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->commit_event != y->commit_event)
		return x->commit_event < y->commit_event ? -1 : 1;
	return x->txn < y->txn ? -1 : x->txn > y->txn ? 1 : 0;
}

static void ctx_fini(struct oracle__ctx *c)
{
	oracle__ref_fini(&c->ref);
	if (c->target != NULL)
		sqlite3_close(c->target);
	free(c->txn_ro);
	free(c->by_commit);
	free(c->indets);
	free(c->indet_slot);
}

/* Indexes the history. Returns 0, or -1 with the reason in the note. */
static int ctx_init(struct oracle__ctx *c)
{
	const struct history *h = c->h;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		if (h->txns[i] == NULL || h->txns[i]->id != i) {
			report_note(c->report, "oracle: history: transaction ids are not their indexes");
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
			report_note(c->report, "oracle: history: commit indexes are not 0..N-1 without repeats");
			return -1;
		}
		c->by_commit[t->commit_index] = i;
	}

	oracle__ref_init(&c->ref, h, c->cfg);
	if (oracle__ref_open(&c->ref) != 0) {
		report_note(c->report, c->ref.error);
		return -1;
	}
	oracle__ref_classify(&c->ref);
	c->txn_ro = wh_malloc((h->txn_count ? h->txn_count : 1) *
			      sizeof *c->txn_ro);
	for (uint32_t i = 0; i < h->txn_count; i++)
		c->txn_ro[i] = oracle__txn_readonly(&c->ref, h->txns[i]);

	/* Slot of an indeterminate writer: commits that had ended when its
	 * COMMIT started (it held the write lock from its first write, so no
	 * other writer could commit in between). */
	uint64_t *prefmax = wh_malloc(((size_t)c->commit_count + 1) *
				      sizeof *prefmax);
	prefmax[0] = 0;
	for (uint32_t k = 0; k < c->commit_count; k++) {
		uint64_t e = h->txns[c->by_commit[k]]->end_event;
		prefmax[k + 1] = e > prefmax[k] ? e : prefmax[k];
	}
	struct indet_key *keys = NULL;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		if (!indeterminate_writer(c, t))
			continue;
		uint64_t start = t->commit_event ? t->commit_event
						 : t->begin_event;
		keys = wh_realloc(keys, (c->indet_count + 1) * sizeof *keys);
		keys[c->indet_count++] = (struct indet_key){
			prefix_before(prefmax, c->commit_count, start), start, i
		};
	}
	free(prefmax);
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
	return 0;
}

/* ------------------------------------------------------------------ */
/* Plans                                                                */
/* ------------------------------------------------------------------ */

struct start_key {
	uint64_t start;    /* COMMIT start event of a step */
	uint32_t after;    /* its position + 1 */
};

static int start_key_cmp(const void *a, const void *b)
{
	const struct start_key *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->after < y->after ? -1 : x->after > y->after ? 1 : 0;
}

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

/* Builds the plan for the given assumption about each indeterminate
 * writer (included[k] for c->indets[k]; copied). */
static void plan_build(const struct oracle__ctx *c, const bool *included,
		       struct oracle__plan *p)
{
	const struct history *h = c->h;
	uint32_t n = h->txn_count ? h->txn_count : 1;
	memset(p, 0, sizeof *p);
	p->step_count = c->commit_count + c->indet_count;
	p->steps = wh_malloc((p->step_count + 1) * sizeof *p->steps);
	p->step_of = wh_malloc(n * sizeof *p->step_of);
	p->role = wh_calloc(n, sizeof *p->role);
	p->lo = wh_calloc(n, sizeof *p->lo);
	p->hi = wh_calloc(n, sizeof *p->hi);
	p->included = wh_malloc((c->indet_count + 1) * sizeof *p->included);
	for (uint32_t i = 0; i < h->txn_count; i++)
		p->step_of[i] = ORACLE_NONE;

	/* Merge commits and indeterminate writers (slot = commits before). */
	uint32_t s = 0, ii = 0;
	for (uint32_t k = 0; k <= c->commit_count; k++) {
		while (ii < c->indet_count && c->indet_slot[ii] == k) {
			p->included[ii] = included[ii];
			p->steps[s] = (struct oracle__step){ c->indets[ii],
							     !included[ii] };
			p->step_of[c->indets[ii]] = s++;
			ii++;
		}
		if (k == c->commit_count)
			break;
		uint32_t txn = c->by_commit[k];
		p->steps[s] = (struct oracle__step){ txn, c->txn_ro[txn] };
		p->step_of[txn] = s++;
	}
	WH_ASSERT_EQ(s, p->step_count);
	WH_ASSERT_EQ(ii, c->indet_count);

	/* Window bounds from events; no-op steps cannot change the state,
	 * so they take no part (end 0, start never). */
	uint64_t *prefmax = wh_malloc(((size_t)p->step_count + 1) *
				      sizeof *prefmax);
	struct start_key *starts = wh_malloc((p->step_count + 1) *
					     sizeof *starts);
	uint32_t start_count = 0;
	prefmax[0] = 0;
	for (s = 0; s < p->step_count; s++) {
		const struct hist_txn *t = h->txns[p->steps[s].txn];
		uint64_t end = t->end_event ? t->end_event : UINT64_MAX;
		if (p->steps[s].noop)
			end = 0;
		prefmax[s + 1] = end > prefmax[s] ? end : prefmax[s];
		if (!p->steps[s].noop)
			starts[start_count++] = (struct start_key){
				t->commit_event ? t->commit_event
						: t->begin_event,
				s + 1
			};
	}
	qsort(starts, start_count, sizeof *starts, start_key_cmp);
	for (uint32_t k = 1; k < start_count; k++)
		if (starts[k].after < starts[k - 1].after)
			starts[k].after = starts[k - 1].after;

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
		uint32_t lo = prefix_before(prefmax, p->step_count,
					    t->begin_event);
		uint64_t end = t->end_event ? t->end_event : UINT64_MAX;
		/* Last start strictly before end: binary search. */
		uint32_t a = 0, b = start_count;
		while (a < b) {
			uint32_t mid = a + (b - a) / 2;
			if (starts[mid].start < end)
				a = mid + 1;
			else
				b = mid;
		}
		uint32_t hi = a > 0 ? starts[a - 1].after : 0;
		p->lo[i] = lo;
		p->hi[i] = hi > lo ? hi : lo;
		WH_ASSERT(p->hi[i] <= p->step_count);
		wk[p->window_count++] = (struct window_key){ lo, i };
	}
	qsort(wk, p->window_count, sizeof *wk, window_key_cmp);
	p->windows = wh_malloc((p->window_count + 1) * sizeof *p->windows);
	for (uint32_t k = 0; k < p->window_count; k++)
		p->windows[k] = wk[k].txn;
	free(wk);
	free(starts);
	free(prefmax);
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

static void outcome_free(struct oracle__outcome *o)
{
	for (uint32_t k = 0; k < o->failure_count; k++)
		free(o->failures[k].why);
	free(o->failures);
	oracle__final_free(&o->final);
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

int oracle__sweep(struct oracle__ctx *c, const struct oracle__plan *p,
		  struct oracle__outcome *out)
{
	const struct history *h = c->h;
	if (oracle__ref_open(&c->ref) != 0) {
		report_note(c->report, c->ref.error);
		return -1;
	}
	struct active *act = wh_malloc((p->window_count + 1) * sizeof *act);
	uint32_t act_count = 0, wi = 0;
	uint64_t version = 0; /* advances with every state-changing step */
	const struct oracle__probe probe = { .stop_early = true,
					     .capture_stmt = ORACLE_NONE };

	for (uint32_t k = 0; k <= p->step_count; k++) {
		while (wi < p->window_count && p->lo[p->windows[wi]] == k) {
			act[act_count++] = (struct active){ .txn = p->windows[wi] };
			wi++;
		}
		uint32_t keep = 0;
		for (uint32_t a = 0; a < act_count; a++) {
			struct active e = act[a];
			WH_ASSERT(p->lo[e.txn] <= k && k <= p->hi[e.txn]);
			if (!e.tried || e.version != version) {
				const struct hist_txn *t = h->txns[e.txn];
				uint32_t m = oracle__ref_try(&c->ref, t,
							     t->stmt_count,
							     &probe);
				if (m == ORACLE_NONE)
					continue; /* matched: done */
				if (!e.tried || m > e.best_stmt) {
					e.best_stmt = m;
					e.best_pos = k;
				}
				e.tried = true;
				e.version = version;
			}
			if (p->hi[e.txn] == k) {
				failure_add(out, e.txn, false, e.best_pos,
					    e.best_stmt, NULL);
				continue;
			}
			act[keep++] = e;
		}
		act_count = keep;
		if (k == p->step_count)
			break;
		const struct oracle__step *st = &p->steps[k];
		if (st->noop)
			continue;
		char *why = NULL;
		uint32_t m = oracle__ref_apply(&c->ref, h->txns[st->txn], &why);
		if (m != ORACLE_NONE)
			failure_add(out, st->txn, true, k, m, why);
		version++;
	}
	WH_ASSERT_EQ(act_count, 0);
	WH_ASSERT_EQ(wi, p->window_count);
	free(act);
	if (out->failure_count > 1)
		qsort(out->failures, out->failure_count, sizeof *out->failures,
		      failure_cmp);
	return 0;
}

/* One check run: sweep, then the final-state comparison. */
static int check_run(struct oracle__ctx *c, const bool *included,
		     struct oracle__outcome *out)
{
	struct oracle__plan p;
	plan_build(c, included, &p);
	memset(out, 0, sizeof *out);
	int rc = oracle__sweep(c, &p, out);
	if (rc == 0 && c->target != NULL)
		rc = oracle__final_compare(c, &out->final);
	plan_free(&p);
	return rc;
}

/* How bad an outcome is: failing transactions plus differing final rows;
 * between equally many, the one whose failing transactions got further
 * (longer matching prefixes) is closer to the truth. That tie-break is
 * what lets a single flip show progress when two indeterminate
 * transactions spoil the same reads. */
struct score {
	uint64_t bad;
	uint64_t matched;
};

static struct score outcome_score(const struct oracle__outcome *o)
{
	struct score sc = { o->failure_count + o->final.diff_total, 0 };
	for (uint32_t k = 0; k < o->failure_count; k++)
		sc.matched += o->failures[k].best_stmt;
	return sc;
}

static bool score_better(struct score a, struct score b)
{
	return a.bad < b.bad || (a.bad == b.bad && a.matched > b.matched);
}

/* Runs included (a candidate plan) and keeps it in *best when better;
 * otherwise restores included from best_included. */
static int try_plan(struct oracle__ctx *c, bool *included, bool *best_included,
		    struct oracle__outcome *best)
{
	struct oracle__outcome other;
	int rc = check_run(c, included, &other);
	if (rc == 0 && score_better(outcome_score(&other), outcome_score(best))) {
		outcome_free(best);
		*best = other;
		memcpy(best_included, included, c->indet_count * sizeof *included);
	} else {
		outcome_free(&other);
		memcpy(included, best_included, c->indet_count * sizeof *included);
	}
	return rc;
}

/* Settles the indeterminate writers: see the file comment. Up to 3
 * explored transactions, every combination is tried (at most 8 runs);
 * beyond, two passes of single flips. Stops as soon as a plan passes. */
static int settle(struct oracle__ctx *c, uint32_t explored, bool *included,
		  struct oracle__outcome *best)
{
	bool *best_included = wh_malloc((c->indet_count + 1) *
					sizeof *best_included);
	memcpy(best_included, included, c->indet_count * sizeof *included);
	int rc = 0;
	if (explored <= 3) {
		for (uint32_t mask = 1; rc == 0 && mask < (1u << explored) &&
					outcome_score(best).bad > 0;
		     mask++) {
			for (uint32_t k = 0; k < explored; k++)
				included[k] = !(mask >> k & 1);
			rc = try_plan(c, included, best_included, best);
		}
	} else {
		for (int pass = 0; pass < 2 && rc == 0; pass++) {
			struct score before = outcome_score(best);
			for (uint32_t k = 0; rc == 0 && k < explored &&
					     outcome_score(best).bad > 0;
			     k++) {
				included[k] = !included[k];
				rc = try_plan(c, included, best_included, best);
			}
			if (!score_better(outcome_score(best), before))
				break;
		}
	}
	memcpy(included, best_included, c->indet_count * sizeof *included);
	free(best_included);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                          */
/* ------------------------------------------------------------------ */

int oracle_check(const struct history *h, const struct oracle_config *cfg,
		 struct oracle_report *out)
{
	WH_ASSERT(h != NULL);
	WH_ASSERT(out != NULL);
	static const struct oracle_config defaults;
	memset(out, 0, sizeof *out);
	struct oracle__ctx c = { .h = h, .cfg = cfg ? cfg : &defaults,
				 .report = out };
	int rc = ctx_init(&c);
	if (rc == 0 && c.cfg->target_path != NULL) {
		int orc = sqlite3_open_v2(c.cfg->target_path, &c.target,
					  SQLITE_OPEN_READONLY,
					  c.cfg->target_vfs);
		if (orc != SQLITE_OK) {
			struct oracle__buf b = { 0 };
			oracle__buf_printf(&b, "oracle: cannot open target %s: %s",
					   c.cfg->target_path,
					   c.target ? sqlite3_errmsg(c.target)
						    : sqlite3_errstr(orc));
			char *msg = oracle__buf_take(&b);
			report_note(out, msg);
			free(msg);
			rc = -1;
		}
	}
	if (rc != 0) {
		ctx_fini(&c);
		return -1;
	}

	/* Settle indeterminate writers: start from "all happened", flip one
	 * at a time while that strictly helps (see the file comment). */
	bool *included = wh_malloc((c.indet_count + 1) * sizeof *included);
	for (uint32_t k = 0; k < c.indet_count; k++)
		included[k] = true;
	struct oracle__outcome best;
	rc = check_run(&c, included, &best);
	uint32_t budget = c.cfg->indeterminate_budget
				  ? c.cfg->indeterminate_budget
				  : ORACLE_BUDGET_DEFAULT;
	uint32_t explored = c.indet_count < budget ? c.indet_count : budget;
	if (rc == 0 && outcome_score(&best).bad > 0 && explored > 0)
		rc = settle(&c, explored, included, &best);
	if (rc == 0 && outcome_score(&best).bad > 0 && c.indet_count > explored) {
		out->gave_up = true;
		struct oracle__buf b = { 0 };
		oracle__buf_printf(&b, "indeterminate budget exceeded: %u indeterminate transactions, only the first %u were settled both ways (the rest were assumed committed), so the failures below may have another explanation; assumed committed:",
				   c.indet_count, explored);
		for (uint32_t k = 0, shown = 0; k < c.indet_count && shown < 16; k++)
			if (included[k] && ++shown)
				oracle__buf_printf(&b, " T%u", c.indets[k]);
		oracle__buf_printf(&b, "; assumed not committed:");
		for (uint32_t k = 0, shown = 0; k < c.indet_count && shown < 16; k++)
			if (!included[k] && ++shown)
				oracle__buf_printf(&b, " T%u", c.indets[k]);
		char *msg = oracle__buf_take(&b);
		report_note(out, msg);
		free(msg);
	}

	if (rc == 0) {
		struct oracle__plan p;
		plan_build(&c, included, &p);
		for (uint32_t i = 0; i < h->txn_count; i++)
			out->txns_checked += p.role[i] != ORACLE_ROLE_NONE;
		if (best.failure_count > 0 || best.final.row_count > 0 ||
		    best.final.text_count > 0)
			rc = oracle__explain(&c, &p, &best);
		plan_free(&p);
	}
	if (rc == 0 && c.target != NULL)
		oracle__target_checks(&c);
	if (c.dropped > 0) {
		struct oracle__buf b = { 0 };
		oracle__buf_printf(&b, "%u further violations not listed",
				   c.dropped);
		char *msg = oracle__buf_take(&b);
		report_note(out, msg);
		free(msg);
	}
	outcome_free(&best);
	free(included);
	ctx_fini(&c);
	return rc == 0 ? 0 : -1;
}
