/*
 * crash.c - durability: what a crash or a clean reopen may lose, and
 * whether the recovered database kept it.
 *
 * The driver records, for every crash, a digest of the database as a new
 * process recovered it (digest_db, engine/digest.c). The oracle computes
 * the same digest of its reference at the states the target could have
 * recovered to and picks the one that matches:
 *
 *   - Candidates are the positions of the crash's epoch, from its first
 *     state (what the previous crash recovered to) to the state with
 *     every step before the crash. Positions with the same state version
 *     share one digest. The search goes by levels, each a sweep of its
 *     own, run only while a crash is left unmatched: level 0 compares what
 *     the promise allows (for a reopen, ALL or NONE the states after the
 *     epoch's last committed writer, i.e. the trailing indeterminate
 *     writers either way; for PREFIX the last ORACLE_CRASH_QUICK_STATES
 *     states); level 1 the last ORACLE_CRASH_STATES_MID states and the
 *     epoch's first; level 2 the last ORACLE_CRASH_STATES_MAX and, at the
 *     crash, the aborted or unfinished writers of the epoch, each applied
 *     (as prefixes ending in a write) on top of the pre-crash state, as
 *     the source of a phantom. So an honest run costs a digest or two per
 *     crash, and a lossier one pays in proportion to what it lost.
 *   - The latest matching position wins (fewest commits lost). When no
 *     level matches, the last states of the previous epoch are tried
 *     (oracle__crash_lost_earlier: a power loss may take commits that the
 *     previous recovery showed). When none matches, the replay resumes
 *     from the pre-crash state, as if nothing had been lost, so that
 *     later checks see what was promised.
 *   - Resuming from an earlier position rebuilds the reference from the
 *     setup (oracle__crash_rebuild), leaving out the lost steps of every
 *     crash so far. It costs one replay without checks per lossy crash;
 *     no snapshots are kept, so memory does not grow with the history.
 *
 * Verdicts (oracle__crash_report), for the plan the search settled on:
 *   recovery_failed   the recovered database could not be opened or read
 *                     (recovered_rc);
 *   lost_commit       it equals a state that lacks committed writers the
 *                     promise required (reopen, ALL and NONE require every
 *                     commit of the epoch; PREFIX any prefix), or a state
 *                     of the previous epoch that lacks some the previous
 *                     recovery had shown. The lost committed transactions
 *                     are named;
 *   phantom_commit    it equals the pre-crash state plus statements of a
 *                     transaction that never committed;
 *   recovery_state    it equals no state compared, and no phantom
 *                     explains it.
 * Commits lost where the promise allows it (PREFIX) are listed in the
 * report's lost_txns and note, not as violations. Which violations are
 * expected (NONE after a power loss, bit flips) is decided in oracle.c.
 *
 * The digest (engine/digest.c) folds the schema and every row in an order
 * that depends on content only. The reference's digests
 * (oracle__ref_digest) produce the same stream from statements kept on
 * the reference, since preparing them would cost more than reading a
 * small database.
 */
#include <stdlib.h>
#include <string.h>

#include "oracle_int.h"

/* ------------------------------------------------------------------ */
/* Durability                                                           */
/* ------------------------------------------------------------------ */

int oracle__ref_digest(struct oracle__ref *r, uint64_t *out)
{
	WH_ASSERT(r->db != NULL);
	WH_ASSERT(out != NULL);
	/* The same stream as digest_db, with statements kept across calls:
	 * preparing dominates the cost of a small database, and the sweep
	 * digests many states. No read transaction of its own: the reference
	 * has one connection and nothing else writes to it. */
	return digest_db_cached(r->db, &r->digests, out);
}

enum oracle_durability oracle_durability_for(const char *journal_mode,
					     const char *synchronous)
{
	/* NULL means SQLite's defaults: DELETE and FULL. An unknown level
	 * is read as the default FULL, the strictest promise, so that a
	 * misspelling cannot quietly switch the check off. FULL in DELETE
	 * mode counts as ALL although SQLite documents that only EXTRA syncs
	 * the directory after unlinking the journal: the simulated VFS makes
	 * a deletion durable at once (it models no directory entries), so
	 * the difference cannot show yet. When it does, DELETE with FULL
	 * becomes PREFIX (the last commit may roll back). */
	const char *jm = journal_mode != NULL ? journal_mode : "delete";
	const char *sy = synchronous != NULL ? synchronous : "full";
	bool wal = sqlite3_stricmp(jm, "wal") == 0;
	/* MEMORY: a commit syncs the database file before it lets the lock
	 * go, as in the other rollback modes, so a power loss while nobody
	 * writes keeps every acknowledged commit (at the level's promise).
	 * One that cuts a writer finds nothing on disk to undo its partial
	 * writes with: that is the history's unsafe point, which labels what
	 * follows journal-memory-unsafe (report_finish), not a weaker promise
	 * here. OFF promises nothing whatever the sync level: with no journal
	 * at all, even a ROLLBACK or a failed statement may leave changes
	 * behind, and the driver marks no unsafe point for those. */
	if (sqlite3_stricmp(jm, "off") == 0)
		return ORACLE_DURABLE_NONE;
	if (sqlite3_stricmp(sy, "off") == 0 || strcmp(sy, "0") == 0)
		return ORACLE_DURABLE_NONE;
	if (sqlite3_stricmp(sy, "normal") == 0 || strcmp(sy, "1") == 0)
		return wal ? ORACLE_DURABLE_PREFIX : ORACLE_DURABLE_NONE;
	return ORACLE_DURABLE_ALL;
}

/* ------------------------------------------------------------------ */
/* The search                                                           */
/* ------------------------------------------------------------------ */

/* The position from which the last `states` state-changing steps before
 * the crash step of e start (at least the epoch's first). */
static uint32_t last_states(const struct oracle__ctx *c,
			    const struct oracle__plan *p, uint32_t e,
			    uint32_t states)
{
	uint32_t first = oracle__epoch_first(c, e);
	uint32_t k = c->crash_step[e], seen = 0;
	while (k > first && seen < states) {
		k--;
		seen += !p->steps[k].noop;
	}
	if (seen == states)
		while (k > first && p->steps[k - 1].noop)
			k--; /* same state as k */
	return k;
}

static bool crash_requires_all(const struct oracle__ctx *c, uint32_t e)
{
	return c->h->crashes[e].kind == HIST_CRASH_REOPEN ||
	       c->cfg->durability != ORACLE_DURABLE_PREFIX;
}

void oracle__crash_search_begin(const struct oracle__ctx *c,
				const struct oracle__plan *p, uint32_t e,
				uint32_t level, struct oracle__crash_search *cs)
{
	static const uint32_t level_states[ORACLE_CRASH_LEVELS] = {
		0, ORACLE_CRASH_STATES_MID, ORACLE_CRASH_STATES_MAX
	};
	WH_ASSERT(level < ORACLE_CRASH_LEVELS);
	WH_ASSERT(e < c->crash_count);
	WH_ASSERT(p->steps[c->crash_step[e]].crash == e);
	cs->crash = e;
	cs->first = oracle__epoch_first(c, e);
	cs->level = level;
	cs->state_count = 0;
	uint32_t lo = crash_requires_all(c, e)
			      ? c->crash_required[e]
			      : last_states(c, p, e, ORACLE_CRASH_QUICK_STATES);
	if (level > 0) {
		uint32_t d = last_states(c, p, e, level_states[level]);
		lo = d < lo ? d : lo;
	}
	WH_ASSERT(lo >= cs->first && lo <= c->crash_step[e]);
	cs->lo = lo;
}

void oracle__crash_search_free(struct oracle__crash_search *cs)
{
	free(cs->states);
	memset(cs, 0, sizeof *cs);
}

/* The digest an earlier sweep of the same state took at position k
 * (oracle__ctx.memo, as memo_lookup in oracle.c), else false. */
static bool memo_digest(struct oracle__ctx *c, uint32_t k, uint64_t *d)
{
	if (c->memo == NULL || k >= c->memo_to)
		return false;
	const struct oracle__digests *m = &c->memo->digests;
	uint32_t i = oracle__memo_seek(m->pos, m->count, &c->memo_digest_at, k);
	if (i == m->count)
		return false;
	*d = m->d[i];
	return true;
}

static void digests_push(struct oracle__digests *ds, uint32_t k, uint64_t d)
{
	if (ds->count == ds->cap) {
		ds->cap = ds->cap ? 2 * ds->cap : 64;
		ds->pos = wh_realloc(ds->pos, ds->cap * sizeof *ds->pos);
		ds->d = wh_realloc(ds->d, ds->cap * sizeof *ds->d);
	}
	ds->pos[ds->count] = k;
	ds->d[ds->count] = d;
	ds->count++;
}

int oracle__crash_observe(struct oracle__ctx *c,
			  struct oracle__crash_search *cs, uint32_t k,
			  uint64_t version, struct oracle__outcome *out)
{
	WH_ASSERT(k >= cs->first && k <= c->crash_step[cs->crash]);
	if (k < cs->lo && !(cs->level > 0 && k == cs->first))
		return SQLITE_OK;
	if (cs->state_count > 0 &&
	    cs->states[cs->state_count - 1].version == version) {
		/* Same state (no-op steps since): one digest serves. */
		cs->states[cs->state_count - 1].last = k;
		return SQLITE_OK;
	}
	uint64_t d;
	if (memo_digest(c, k, &d)) {
		c->report->digests_reused++;
	} else {
		int rc = oracle__ref_digest(&c->ref, &d);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (c->memo_record)
		digests_push(&out->digests, k, d);
	if (cs->state_count == cs->state_cap) {
		cs->state_cap = cs->state_cap ? cs->state_cap * 2 : 16;
		cs->states = wh_realloc(cs->states,
					cs->state_cap * sizeof *cs->states);
	}
	cs->states[cs->state_count++] =
		(struct oracle__state_digest){ k, k, version, d };
	return SQLITE_OK;
}

struct suspect_key {
	uint64_t end;
	uint32_t txn;
};

static int suspect_cmp(const void *a, const void *b)
{
	const struct suspect_key *x = a, *y = b;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1; /* latest first */
	return x->txn < y->txn ? -1 : x->txn > y->txn ? 1 : 0;
}

/* Which aborted or unfinished writer of the epoch, applied on top of the
 * pre-crash state (the reference now), gives the recovered digest. */
static int find_phantom(struct oracle__ctx *c, const struct oracle__plan *p,
			uint32_t e, struct oracle__crash_out *out)
{
	const struct history *h = c->h;
	struct oracle__ref *r = &c->ref;
	uint64_t want = h->crashes[e].recovered_digest;
	struct suspect_key *keys = wh_malloc((h->txn_count + 1) * sizeof *keys);
	uint32_t n = 0;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		if (c->txn_epoch[i] != e || t->stmt_count == 0 || c->txn_ro[i] ||
		    p->step_of[i] != ORACLE_NONE ||
		    (t->outcome != HIST_ABORTED && t->outcome != HIST_RUNNING))
			continue;
		keys[n++] = (struct suspect_key){
			t->end_event ? t->end_event : UINT64_MAX, i
		};
	}
	qsort(keys, n, sizeof *keys, suspect_cmp);
	int rc = SQLITE_OK;
	for (uint32_t k = 0; k < n && k < ORACLE_CRASH_PHANTOMS_MAX &&
			     out->phantom == ORACLE_NONE && rc == SQLITE_OK;
	     k++) {
		const struct hist_txn *t = h->txns[keys[k].txn];
		uint32_t m = t->stmt_count < ORACLE_CRASH_PHANTOM_STMTS
				     ? t->stmt_count
				     : ORACLE_CRASH_PHANTOM_STMTS;
		for (; m >= 1 && out->phantom == ORACLE_NONE && rc == SQLITE_OK;
		     m--) {
			/* Only prefixes ending in a write give a new state. */
			if (oracle__stmt_skipped(t, m - 1) ||
			    oracle__stmt_uncertain(t, m - 1) ||
			    oracle__stmt_readonly(r, t, m - 1))
				continue;
			oracle__ref_save(r);
			(void)oracle__ref_exec(r, t, m, NULL);
			uint64_t d = 0;
			if (!sqlite3_get_autocommit(r->db))
				rc = oracle__ref_digest(r, &d);
			else
				d = ~want; /* the prefix rolled itself back */
			if (rc == SQLITE_OK && d == want) {
				out->phantom = t->id;
				out->phantom_prefix = m;
			}
			oracle__ref_undo(r);
		}
	}
	free(keys);
	return rc;
}

int oracle__crash_resolve(struct oracle__ctx *c, const struct oracle__plan *p,
			  const struct oracle__crash_search *cs,
			  struct oracle__crash_out *out)
{
	uint32_t e = cs->crash;
	const struct hist_crash *cr = &c->h->crashes[e];
	uint32_t step = c->crash_step[e];
	/* No probe is open: the reference is at the pre-crash state, inside
	 * its long transaction or between transactions. */
	WH_ASSERT(c->ref.in_outer == !sqlite3_get_autocommit(c->ref.db));
	WH_ASSERT(cs->state_count == 0 ||
		  cs->states[cs->state_count - 1].last == step);
	*out = (struct oracle__crash_out){
		.pos = step,
		.level = cs->level,
		.epoch_first = cs->level > 0 || cs->lo == cs->first,
		.lo = cs->lo,
		.states = cs->state_count,
		.phantom = ORACLE_NONE,
		.undo_from = ORACLE_NONE,
	};
	if (cr->recovered_rc != SQLITE_OK)
		return SQLITE_OK; /* nothing to compare: resume as promised */
	for (uint32_t k = cs->state_count; k-- > 0;) {
		if (cs->states[k].digest == cr->recovered_digest) {
			out->pos = cs->states[k].last;
			out->matched = true;
			return SQLITE_OK;
		}
	}
	return cs->level == ORACLE_CRASH_LEVELS - 1 ? find_phantom(c, p, e, out)
						   : SQLITE_OK;
}

/*
 * A power loss right after a clean reopen (nothing written between) may
 * undo what the reopen showed: the reopen syncs nothing, so a COMMIT that
 * failed after finalising its journal but before syncing that (truncate
 * mode: the truncate done, its sync failed) is visible at the reopen, and
 * the power loss brings the journal back and rolls it back. SQLite told
 * that COMMIT it failed, so losing it breaks no promise. Only the epoch's
 * trailing indeterminate writers (after its last committed one,
 * crash_required) can go this way. When the recovered digest equals the
 * state before some of them, crash e matches at its own step with
 * undo_from set, and the reference is rebuilt without them; otherwise it
 * is rebuilt as it was. Returns 0, or -1 when the reference failed.
 */
int oracle__crash_undo_reopen(struct oracle__ctx *c, const struct oracle__plan *p,
			      struct oracle__crash_out *co, uint32_t e)
{
	const struct history *h = c->h;
	struct oracle__crash_out *out = &co[e];
	if (e == 0 || out->matched || h->crashes[e].recovered_rc != SQLITE_OK ||
	    h->crashes[e].kind != HIST_CRASH_POWER_LOSS ||
	    h->crashes[e - 1].kind != HIST_CRASH_REOPEN || !co[e - 1].matched ||
	    co[e - 1].pos != c->crash_step[e - 1])
		return 0;
	uint32_t prev = c->crash_step[e - 1], step = c->crash_step[e];
	for (uint32_t s = prev + 1; s < step; s++)
		if (!p->steps[s].noop)
			return 0; /* something was written since the reopen */
	bool tried = false;
	for (uint32_t q = prev; q-- > c->crash_required[e - 1];) {
		if (p->steps[q].noop)
			continue;
		tried = true;
		if (oracle__crash_rebuild(c, p, co, q) != 0)
			return -1;
		uint64_t d = 0;
		if (oracle__ref_digest(&c->ref, &d) != SQLITE_OK)
			return -1;
		if (d == h->crashes[e].recovered_digest) {
			out->matched = true;
			out->pos = step;
			out->undo_from = q;
			break;
		}
	}
	if (tried && oracle__crash_rebuild(c, p, co, step) != 0)
		return -1;
	return 0;
}

static uint32_t lost_steps(const struct oracle__ctx *c, const struct oracle__plan *p, uint32_t e,
			   uint32_t pos, uint32_t *committed, uint32_t *committed_count);

/* State-changing steps of the previous epoch that crash e's recovery
 * may be found to have lost (each costs a digest). */
#define CRASH_EARLIER_MAX 64

/*
 * A power loss may lose commits that the previous recovery showed. After
 * a recovery the WAL stays (the restarted connections go on appending to
 * it); on a device without powersafe overwrite a tear of the sector the
 * next transaction writes into can damage the last commit frame the
 * recovery found, and the next recovery ends the WAL before it: the
 * recovered database is then a state of the previous epoch, which the
 * epoch's own candidates never include (that crash's report would be
 * recovery_state, and every read after it a mismatch). Tried after every
 * level failed, on the last CRASH_EARLIER_MAX states of the previous
 * epoch that its recovery kept: the reference is rebuilt once without
 * them and brought forward a step at a time, a digest per state, and the
 * latest state that matches wins (fewest commits lost).
 */
int oracle__crash_lost_earlier(struct oracle__ctx *c, const struct oracle__plan *p,
			       struct oracle__crash_out *co, uint32_t e)
{
	const struct history *h = c->h;
	struct oracle__crash_out *out = &co[e];
	if (e == 0 || out->matched || out->phantom != ORACLE_NONE ||
	    out->undo_from != ORACLE_NONE || h->crashes[e].recovered_rc != SQLITE_OK ||
	    h->crashes[e].kind != HIST_CRASH_POWER_LOSS || !co[e - 1].matched ||
	    co[e - 1].undo_from != ORACLE_NONE)
		return 0;
	uint32_t first = oracle__epoch_first(c, e - 1), end = co[e - 1].pos;
	uint32_t lo = end, seen = 0;
	while (lo > first && seen < CRASH_EARLIER_MAX) {
		lo--;
		seen += !p->steps[lo].noop;
	}
	if (seen == 0)
		return 0;
	uint32_t pos_was = out->pos;
	out->undo_from = lo;
	out->pos = oracle__epoch_first(c, e);
	out->earlier = true;
	if (oracle__crash_rebuild(c, p, co, c->crash_step[e]) != 0)
		return -1;
	uint64_t want = h->crashes[e].recovered_digest;
	uint32_t best = ORACLE_NONE;
	for (uint32_t q = lo; q < end; q++) {
		/* The reference holds every kept step before q. */
		if (q == lo || !p->steps[q - 1].noop) {
			uint64_t d = 0;
			if (oracle__ref_digest(&c->ref, &d) != SQLITE_OK)
				return -1;
			if (d == want)
				best = q;
		}
		if (!p->steps[q].noop) {
			char *why = NULL;
			(void)oracle__ref_apply(&c->ref, h->txns[p->steps[q].txn], &why);
			free(why);
		}
	}
	if (best == ORACLE_NONE) {
		out->undo_from = ORACLE_NONE;
		out->pos = pos_was;
		out->earlier = false;
		return oracle__crash_rebuild(c, p, co, c->crash_step[e]);
	}
	out->undo_from = best;
	out->matched = true;
	uint32_t *lost = wh_malloc((p->step_count + 1) * sizeof *lost);
	uint32_t n;
	lost_steps(c, p, e, best, lost, &n);
	free(lost);
	out->earlier_bad = n > 0 && crash_requires_all(c, e);
	/* pos is before the crash step: the caller rebuilds from it. */
	return 0;
}

bool oracle__crash_allowed(const struct oracle__ctx *c, uint32_t e,
			   uint32_t pos)
{
	WH_ASSERT(e < c->crash_count);
	WH_ASSERT(pos <= c->crash_step[e]);
	return !crash_requires_all(c, e) || pos >= c->crash_required[e];
}

/* Is step s (of crash e's epoch) undone by the power loss that followed
 * the clean reopen ending that epoch (undo_from)? Only crashes at or
 * before upto count: rebuilding to a crash step is rebuilding what that
 * crash left. */
static bool undone_later(const struct oracle__ctx *c, const struct oracle__crash_out *co,
			 uint32_t e, uint32_t s, uint32_t upto)
{
	uint32_t n = e + 1;
	return n < c->crash_count && c->crash_step[n] <= upto &&
	       co[n].undo_from != ORACLE_NONE && s >= co[n].undo_from;
}

int oracle__crash_rebuild(struct oracle__ctx *c, const struct oracle__plan *p,
			  const struct oracle__crash_out *co, uint32_t upto)
{
	WH_ASSERT(upto <= p->step_count);
	if (oracle__ref_open(&c->ref) != 0)
		return -1;
	uint32_t e = 0; /* the crash ending the epoch of step s */
	for (uint32_t s = 0; s < upto; s++) {
		const struct oracle__step *st = &p->steps[s];
		if (st->crash != ORACLE_NONE) {
			WH_ASSERT_EQ(st->crash, e);
			e++;
			continue;
		}
		if (st->noop)
			continue;
		WH_ASSERT(e < c->crash_count); /* upto is a crash step */
		if (s >= co[e].pos || undone_later(c, co, e, s, upto))
			continue; /* lost at crash e, or at the power loss after it */
		char *why = NULL;
		(void)oracle__ref_apply(&c->ref, c->h->txns[st->txn], &why);
		free(why);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Text and verdicts                                                   */
/* ------------------------------------------------------------------ */

void oracle__buf_position(struct oracle__buf *b, const struct oracle__plan *p,
			  const struct oracle__crash_out *co, uint32_t pos)
{
	WH_ASSERT(pos <= p->step_count);
	/* The last state-changing step before pos names the state; a crash
	 * that resumed from an earlier position jumps there. */
	uint32_t s = pos, crash = ORACLE_NONE;
	for (uint32_t guard = 0; s > 0; guard++) {
		WH_ASSERT(guard <= p->step_count);
		const struct oracle__step *st = &p->steps[s - 1];
		if (st->crash != ORACLE_NONE) {
			if (crash == ORACLE_NONE)
				crash = st->crash;
			s = co != NULL && co[st->crash].pos < s - 1
				    ? co[st->crash].pos
				    : s - 1;
			continue;
		}
		if (!st->noop)
			break;
		s--;
	}
	oracle__buf_printf(b, "position %u (", pos);
	if (crash != ORACLE_NONE)
		oracle__buf_printf(b, "recovered after crash %u: ", crash);
	if (s == 0)
		oracle__buf_printf(b, "initial state)");
	else
		oracle__buf_printf(b, "state after T%u)", p->steps[s - 1].txn);
}

static void buf_crash(struct oracle__buf *b, const struct oracle__ctx *c,
		      uint32_t e)
{
	const struct hist_crash *cr = &c->h->crashes[e];
	oracle__buf_printf(b, "crash %u (%s at event %llu)", e,
			   cr->kind == HIST_CRASH_REOPEN ? "clean reopen"
							 : "power loss",
			   (unsigned long long)cr->event);
}

static const char *promise_text(const struct oracle__ctx *c, uint32_t e)
{
	if (c->h->crashes[e].kind == HIST_CRASH_REOPEN)
		return "a clean close and reopen keeps every commit";
	switch (c->cfg->durability) {
	case ORACLE_DURABLE_ALL:
		return "synchronous=FULL or EXTRA promises that every commit acknowledged before a power loss survives it";
	case ORACLE_DURABLE_PREFIX:
		return "synchronous=NORMAL in WAL mode promises a prefix of the commit order";
	case ORACLE_DURABLE_NONE:
		return "synchronous=OFF (or NORMAL outside WAL) makes no promise across power loss";
	}
	WH_UNREACHABLE();
}

/* Marks violation v (an index from oracle__report_add) as expected when
 * crash e is excused: no durability promise and a power loss at or
 * before it; else, in journal modes MEMORY and OFF, the point where
 * rollback stopped being promised (history.unsafe_event) came before it
 * (the crash found what a writer it could not undo left, or a corrupt
 * file). report_finish adds the readable reason. */
static void crash_expected(struct oracle__ctx *c, uint32_t e, uint32_t v)
{
	if (v == ORACLE_NONE)
		return;
	WH_ASSERT(e < c->crash_count);
	struct oracle_violation *viol = &c->report->violations[v];
	uint64_t unsafe = c->h->unsafe_event;
	if (c->cfg->durability == ORACLE_DURABLE_NONE &&
	    c->first_power_loss != ORACLE_NONE && c->first_power_loss <= e) {
		viol->expected = true;
		viol->expected_reason = ORACLE_EXPECTED_NO_DURABILITY;
	} else if (unsafe != 0 && unsafe < c->h->crashes[e].event) {
		viol->expected = true;
		viol->expected_reason = ORACLE_EXPECTED_JOURNAL_MEMORY;
	}
}

/* Committed (and assumed-committed indeterminate) writers at steps in
 * [pos, crash step): what the recovery left out. */
static uint32_t lost_steps(const struct oracle__ctx *c,
			   const struct oracle__plan *p, uint32_t e,
			   uint32_t pos, uint32_t *committed,
			   uint32_t *committed_count)
{
	uint32_t all = 0;
	*committed_count = 0;
	for (uint32_t s = pos; s < c->crash_step[e]; s++) {
		const struct oracle__step *st = &p->steps[s];
		if (st->noop)
			continue;
		WH_ASSERT(st->txn != ORACLE_NONE);
		all++;
		if (c->h->txns[st->txn]->outcome == HIST_COMMITTED)
			committed[(*committed_count)++] = st->txn;
	}
	return all;
}

static void buf_txns(struct oracle__buf *b, const struct oracle__ctx *c,
		     const uint32_t *txns, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		oracle__buf_printf(b, "%s", k ? ", " : "");
		oracle__buf_txn(b, c->h->txns[txns[k]]);
	}
}

static void report_lost_allowed(struct oracle__ctx *c, uint32_t e,
				const struct oracle__plan *p,
				const struct oracle__outcome *o,
				const uint32_t *txns, uint32_t n)
{
	struct oracle_report *r = c->report;
	r->lost_txns = wh_realloc(r->lost_txns, (r->lost_txn_count + n + 1) *
							sizeof *r->lost_txns);
	memcpy(r->lost_txns + r->lost_txn_count, txns, n * sizeof *txns);
	r->lost_txn_count += n;
	struct oracle__buf b = { 0 };
	buf_crash(&b, c, e);
	oracle__buf_printf(&b, ": recovered to ");
	oracle__buf_position(&b, p, o->crashes, o->crashes[e].pos);
	oracle__buf_printf(&b, "; committed but lost, as %s:", promise_text(c, e));
	for (uint32_t k = 0; k < n; k++)
		oracle__buf_printf(&b, " T%u", txns[k]);
	char *msg = oracle__buf_take(&b);
	oracle__report_note(r, msg);
	free(msg);
}

static void report_unmatched(struct oracle__ctx *c, const struct oracle__plan *p,
			     const struct oracle__outcome *o, uint32_t e)
{
	const struct oracle__crash_out *co = &o->crashes[e];
	const struct hist_crash *cr = &c->h->crashes[e];
	uint32_t step = c->crash_step[e];
	struct oracle__buf b = { 0 };
	uint32_t v;
	buf_crash(&b, c, e);
	if (co->phantom != ORACLE_NONE) {
		const struct hist_txn *t = c->h->txns[co->phantom];
		oracle__buf_printf(&b, ": the recovered database holds effects of ");
		oracle__buf_txn(&b, t);
		oracle__buf_printf(&b, ", which never committed: it equals the reference at ");
		oracle__buf_position(&b, p, o->crashes, step);
		oracle__buf_printf(&b, " plus the first %u of its statements; the replay continues without them",
				   co->phantom_prefix);
		v = oracle__report_add(c, "phantom_commit", oracle__buf_take(&b),
				       &co->phantom, 1);
		crash_expected(c, e, v);
		return;
	}
	oracle__buf_printf(&b, ": the recovered database (digest %016llx) equals no state of the reference: %u distinct states compared, at positions %u..%u",
			   (unsigned long long)cr->recovered_digest, co->states,
			   co->lo, step);
	if (co->lo > oracle__epoch_first(c, e))
		oracle__buf_printf(&b, "%s (the states between were not compared: at most %u per crash)",
				   co->epoch_first ? " and the epoch's first state" : "",
				   ORACLE_CRASH_STATES_MAX);
	oracle__buf_printf(&b, ", and no unfinished transaction of the epoch explains it; %s; the replay continues from ",
			   promise_text(c, e));
	oracle__buf_position(&b, p, o->crashes, step);
	v = oracle__report_add(c, "recovery_state", oracle__buf_take(&b), NULL, 0);
	crash_expected(c, e, v);
}

/* Crash e recovered to a state of the previous epoch (co->earlier): the
 * commits from there on are lost, those the previous recovery had shown
 * first. */
static void report_lost_earlier(struct oracle__ctx *c, const struct oracle__plan *p,
				const struct oracle__outcome *o, uint32_t e)
{
	const struct oracle__crash_out *co = &o->crashes[e];
	uint32_t *lost = wh_malloc((p->step_count + 1) * sizeof *lost);
	uint32_t n;
	uint32_t all = lost_steps(c, p, e, co->undo_from, lost, &n);
	if (!co->earlier_bad) {
		if (n > 0)
			report_lost_allowed(c, e, p, o, lost, n);
		free(lost);
		return;
	}
	struct oracle__buf b = { 0 };
	buf_crash(&b, c, e);
	oracle__buf_printf(&b, ": acknowledged commits missing after recovery: ");
	buf_txns(&b, c, lost, n);
	oracle__buf_printf(&b, "; the recovered database equals the reference at ");
	oracle__buf_position(&b, p, o->crashes, co->undo_from);
	oracle__buf_printf(&b, ", before crash %u, whose recovery had shown them: the last %u writers before it and since (%u committed) are lost; %s",
			   e - 1, all, n, promise_text(c, e));
	uint32_t v = oracle__report_add(c, "lost_commit", oracle__buf_take(&b), lost, n);
	crash_expected(c, e, v);
	free(lost);
}

void oracle__crash_report(struct oracle__ctx *c, const struct oracle__plan *p,
			  const struct oracle__outcome *o)
{
	const struct history *h = c->h;
	uint32_t *lost = wh_malloc((p->step_count + 1) * sizeof *lost);
	for (uint32_t e = 0; e < c->crash_count; e++) {
		const struct hist_crash *cr = &h->crashes[e];
		const struct oracle__crash_out *co = &o->crashes[e];
		struct oracle__buf b = { 0 };
		uint32_t v;
		if (cr->recovered_rc != SQLITE_OK) {
			buf_crash(&b, c, e);
			oracle__buf_printf(&b, ": the database could not be opened or read after recovery: %s (rc %d); the replay continues from ",
					   sqlite3_errstr(cr->recovered_rc),
					   cr->recovered_rc);
			oracle__buf_position(&b, p, o->crashes, co->pos);
			v = oracle__report_add(c, "recovery_failed",
					       oracle__buf_take(&b), NULL, 0);
			crash_expected(c, e, v);
			continue;
		}
		if (!co->matched) {
			report_unmatched(c, p, o, e);
			continue;
		}
		if (co->earlier) {
			report_lost_earlier(c, p, o, e);
			continue;
		}
		if (co->undo_from != ORACLE_NONE) {
			buf_crash(&b, c, e);
			oracle__buf_printf(&b, ": undid the indeterminate writers the clean reopen before it showed (a reopen syncs nothing):");
			for (uint32_t s = co->undo_from; s < c->crash_step[e - 1]; s++)
				if (!p->steps[s].noop)
					oracle__buf_printf(&b, " T%u", p->steps[s].txn);
			char *msg = oracle__buf_take(&b);
			oracle__report_note(c->report, msg);
			free(msg);
		}
		uint32_t n;
		uint32_t all = lost_steps(c, p, e, co->pos, lost, &n);
		if (oracle__crash_allowed(c, e, co->pos)) {
			if (n > 0)
				report_lost_allowed(c, e, p, o, lost, n);
			continue;
		}
		WH_ASSERT(n > 0);
		buf_crash(&b, c, e);
		oracle__buf_printf(&b, ": acknowledged commits missing after recovery: ");
		buf_txns(&b, c, lost, n);
		oracle__buf_printf(&b, "; the recovered database equals the reference at ");
		oracle__buf_position(&b, p, o->crashes, co->pos);
		oracle__buf_printf(&b, ", before the last %u of the epoch's writers (%u committed); %s",
				   all, n, promise_text(c, e));
		v = oracle__report_add(c, "lost_commit", oracle__buf_take(&b),
				       lost, n);
		crash_expected(c, e, v);
	}
	free(lost);
}
