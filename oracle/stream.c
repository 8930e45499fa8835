/*
 * stream.c - the oracle's concurrent check: the first sweep of oracle.c,
 * run on a second thread while the run that writes the history is still
 * going, so that when the run ends only the tail of the replay is left.
 *
 * Re-executing every committed transaction costs a fixed share of a run
 * (the engine runs SQLite only a few times slower than the bare library
 * does), so no serial replay after the run can be cheap next to it. The
 * history is append-only and a transaction that ended never changes again
 * (but for commit_index, which this file never reads), so the replay can
 * follow the run at a short distance.
 *
 * Feed. The history's observer (hist_observer) tells of every begin, end
 * and crash, in event order, from the run's thread. Events go into a
 * queue under a mutex; the thread is woken every STREAM_BATCH events and
 * at the end, so the run pays a lock per event and a wake-up per batch.
 * Nothing flows back: the run never waits for the check and never reads
 * anything it computes, so the run, its trace and its hash are the same
 * with or without it.
 *
 * What the thread proves. What a sweep proves under the plan oracle.c
 * builds (plan_build) in which the indeterminate writers oracle__indet_guess
 * names (the driver saw their commit point pass) committed and no other
 * did (but one a crash's recovered state shows, below): every anchored
 * (committed writer) transaction matches at its own step, every window
 * transaction (read-only, aborted, or an indeterminate writer taken as
 * not committed) matches at some position of its window, and every crash
 * recovered to the reference's state at the crash. Under I/O faults most
 * cut COMMITs did not commit, so that plan usually passes; one that does
 * proves the history, whatever the other plans would give.
 *
 * It computes the same serial order and the same lower window bounds
 * (lo) as plan_build, incrementally, from what has ended so far:
 *
 *   frontier F  every committed transaction (or indeterminate writer,
 *               placed by the same key) whose commit key (visible event,
 *               else end event) is below F has ended and been seen:
 *               F = min(begin event of a running transaction, last event
 *               seen + 1), since a key is always later than its
 *               transaction's begin, and anything not begun yet comes
 *               later than every event seen. Pending commits with a key
 *               below F take their positions, in key order: the steps.
 *   lo          max over steps that ended before R began of their value
 *               (s + 1 for a writer, the position after the last
 *               committed writer for a read-only commit, none for an
 *               indeterminate writer assumed not committed), as
 *               plan_build has it (lo_before). R's lo is known once no
 *               pending commit ended before R began.
 *   blocking    a writer step k is applied only when no transaction that
 *               may still get lo <= k is unknown: every running or not yet
 *               placed transaction has a lower bound of lo above k (from
 *               the steps already final). A transaction not begun yet
 *               gets lo above every writer already applied.
 *
 * Crashes (stream_crash): all connections die at a crash, so every
 * transaction of the epoch has ended when it is told (with the digest of
 * the recovered database). The epoch is swept to its end and the
 * reference's digest compared with the recovered one; when they differ,
 * the epoch's last writer, if it is an indeterminate one that nothing
 * after it depends on (no writer and no window match after its step),
 * is applied, as its COMMIT may have reached the disk before the crash
 * cut it; then they must agree. The crash takes its step, and windows of
 * the next epoch start after it. A crash that lost a commit (even where
 * the durability promise allows it) or whose recovery failed is left to
 * oracle_check: the stream gives up.
 *
 * A window transaction is evaluated, as in the sweep, at every new state
 * from its lo on until it matches; a match at state version v counts at
 * position max(lo, first position of v). No upper bound is known while
 * the run goes on: after STREAM_TRIES states without a match, or on any
 * mismatch of an anchored transaction, the stream gives up. A window
 * placed after the reference moved past its lo is fine only if no writer
 * was applied since lo (same state); otherwise the stream gives up.
 *
 * Trust. The stream's result is used only if it is complete (every
 * transaction ended, nothing gave up) and oracle.c, after the run, finds
 * it agrees with the real plan: the same steps (crashes included) in the
 * same order, the same no-ops, and every window transaction matched at a
 * position inside its real window [lo, hi] (stream_agrees). Then the reference, at the final
 * state, is the one the final-state comparison uses, and the verdict is
 * what the full sweep would have found: a pass. In every other case the
 * check runs from scratch as it always did, so the stream can make the
 * check faster, never different.
 *
 * Threads. The reference database and everything below the "thread's
 * own" line belong to the stream's thread until oracle__stream_finish
 * joins it; SQLite runs in multi-thread mode (world_global_init), each
 * connection used by one thread at a time. The reference opens with the
 * VFS that was the default when the stream started (the run registers
 * its simulated VFS as the default for a moment) and never draws from
 * SQLite's PRNG (ref.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_int.h"

/* Events queued before the thread is woken. */
#define STREAM_BATCH 256
/* States a window transaction is evaluated at without matching before
 * the stream gives up (the full sweep then finds out why). */
#define STREAM_TRIES 64
/* The key of a latent commit until the crash that places it is told
 * (above every event, below complete()'s limit). */
#define STREAM_LATENT_KEY (UINT64_MAX - 1)

enum stream_ev_kind { STREAM_BEGIN, STREAM_END, STREAM_CRASH };

struct stream_ev {
	enum stream_ev_kind kind;
	uint32_t id;              /* transaction id */
	uint64_t event;           /* begin event (STREAM_BEGIN), crash event */
	const struct hist_txn *t; /* the ended transaction (STREAM_END) */
	uint64_t digest;          /* recovered digest (STREAM_CRASH) */
	int rc;                   /* recovery rc (STREAM_CRASH) */
};

struct stream_running {
	uint32_t id;
	uint64_t begin;
};

struct stream_pend {
	uint64_t key;             /* commit key: visible, else end event */
	uint32_t id;
	bool indet;               /* an indeterminate writer, assumed not
				     committed: a step that changes nothing
				     and vouches for nothing */
};

struct stream_win {
	uint32_t id;
	uint32_t lo;
	uint32_t tries;           /* states evaluated without a match */
	uint64_t version;         /* state of the last evaluation */
	bool tried;
};

struct oracle_stream {
	/* Shared, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct stream_ev *q;
	uint32_t q_count;
	uint32_t q_cap;
	bool finished;            /* the run ended: no more events */
	bool stop;                /* given up (or crash): events dropped */
	bool sleeping;            /* the thread waits on cv */
	bool joined;
	pthread_t thread;
	struct hist_observer observer;

	/* Set before the thread starts, then read-only. */
	struct oracle_config cfg;
	char *vfs;

	/* The thread's own. */
	struct history mirror;    /* ended transactions by id (NULL gaps);
				     setup_sql borrowed from the run's */
	const struct history *run_history;
	bool ref_ready;
	struct oracle__stream_result res;
	struct stream_running *running;
	uint32_t running_count;
	uint32_t running_cap;
	struct stream_pend *pend;  /* sorted by key */
	uint32_t pend_count;
	uint32_t pend_cap;
	uint64_t *step_end;        /* end event of each step */
	uint32_t *step_val;        /* its value for lo (see above) */
	uint32_t step_cap;
	uint32_t after_writer;
	bool *step_indet;          /* the step is an indeterminate writer */
	uint32_t epoch;            /* crashes passed */
	uint32_t epoch_first;      /* first position of the current epoch */
	uint32_t epoch_match;      /* highest position a window of the
				      current epoch matched at */
	uint32_t k;                /* the reference is at position k */
	uint64_t version;          /* state version at k */
	uint32_t *version_pos;     /* version -> its first position */
	uint64_t version_cap;
	struct stream_win *unplaced; /* ended, lo not known yet */
	uint32_t unplaced_count;
	uint32_t unplaced_cap;
	struct stream_win *waiting;  /* lo known and above k */
	uint32_t waiting_count;
	uint32_t waiting_cap;
	struct stream_win *active;   /* evaluated at every new state */
	uint32_t active_count;
	uint32_t active_cap;
	uint32_t txn_cap;            /* entries in txn_ro and match_pos */
	uint64_t e_seen;             /* last event seen */
	bool gave_up;
};

#define GROW(arr, count, cap)                                               \
	do {                                                                \
		if ((count) == (cap)) {                                     \
			(cap) = (cap) ? (cap) * 2 : 16;                     \
			(arr) = wh_realloc((arr), (size_t)(cap) * sizeof *(arr)); \
		}                                                           \
	} while (0)

/* ------------------------------------------------------------------ */
/* The run's side                                                       */
/* ------------------------------------------------------------------ */

static void push(struct oracle_stream *s, const struct stream_ev *ev)
{
	pthread_mutex_lock(&s->mu);
	if (!s->stop) {
		GROW(s->q, s->q_count, s->q_cap);
		s->q[s->q_count++] = *ev;
		if (s->sleeping && s->q_count >= STREAM_BATCH)
			pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

static void on_begin(void *arg, const struct hist_txn *t)
{
	struct stream_ev ev = { .kind = STREAM_BEGIN, .id = t->id,
				.event = t->begin_event };
	push(arg, &ev);
}

static void on_end(void *arg, const struct hist_txn *t)
{
	struct stream_ev ev = { .kind = STREAM_END, .id = t->id,
				.event = t->end_event, .t = t };
	push(arg, &ev);
}

/* The crash record itself moves when the next crash is added: copied. */
static void on_crash(void *arg, const struct hist_crash *cr)
{
	struct stream_ev ev = { .kind = STREAM_CRASH, .event = cr->event,
				.digest = cr->recovered_digest,
				.rc = cr->recovered_rc };
	push(arg, &ev);
}

/* ------------------------------------------------------------------ */
/* The thread's side                                                    */
/* ------------------------------------------------------------------ */

static void give_up(struct oracle_stream *s)
{
	s->gave_up = true;
}

static void txn_reserve(struct oracle_stream *s, uint32_t id)
{
	if (id < s->txn_cap)
		return;
	uint32_t cap = s->txn_cap ? s->txn_cap : 64;
	while (cap <= id)
		cap *= 2;
	struct oracle__stream_result *r = &s->res;
	r->txn_ro = wh_realloc(r->txn_ro, cap * sizeof *r->txn_ro);
	r->match_pos = wh_realloc(r->match_pos, cap * sizeof *r->match_pos);
	r->included = wh_realloc(r->included, cap * sizeof *r->included);
	for (uint32_t k = s->txn_cap; k < cap; k++) {
		r->txn_ro[k] = false;
		r->match_pos[k] = ORACLE_NONE;
		r->included[k] = false;
	}
	struct history *m = &s->mirror;
	m->txns = wh_realloc(m->txns, cap * sizeof *m->txns);
	for (uint32_t k = s->txn_cap; k < cap; k++)
		m->txns[k] = NULL;
	m->txn_cap = cap;
	s->txn_cap = cap;
}

/* The largest value of a step that ended before event e, or 0. Values
 * mostly grow along the steps, but not always (a read-only commit after
 * an indeterminate writer taken as committed vouches only up to the last
 * committed writer), so the scan goes back from the end and stops only
 * where no earlier step can beat what it has: a step's value is at most
 * its position + 1. */
static uint32_t lo_before(const struct oracle_stream *s, uint64_t e)
{
	uint32_t best = 0;
	for (uint32_t q = s->res.step_count; q > best; q--)
		if (s->step_end[q - 1] < e && s->step_val[q - 1] > best)
			best = s->step_val[q - 1];
	return best;
}

/* A lower bound of lo (exact for a transaction that is placed): no
 * window reaches back before its epoch. */
static uint32_t lo_of(const struct oracle_stream *s, uint64_t begin)
{
	uint32_t lo = lo_before(s, begin);
	return lo > s->epoch_first ? lo : s->epoch_first;
}

static void stream_begin(struct oracle_stream *s, const struct stream_ev *ev)
{
	GROW(s->running, s->running_count, s->running_cap);
	s->running[s->running_count++] =
		(struct stream_running){ ev->id, ev->event };
	if (ev->event > s->e_seen)
		s->e_seen = ev->event;
}

static void stream_end(struct oracle_stream *s, const struct hist_txn *t)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < s->running_count; k++)
		if (s->running[k].id != t->id)
			s->running[n++] = s->running[k];
	WH_ASSERT_EQ(n + 1, s->running_count);
	s->running_count = n;
	if (t->end_event > s->e_seen)
		s->e_seen = t->end_event;
	if (t->outcome != HIST_COMMITTED && t->outcome != HIST_ABORTED &&
	    t->outcome != HIST_INDETERMINATE) {
		give_up(s);
		return;
	}
	struct oracle__ref *ref = &s->res.ref;
	if (!s->ref_ready) {
		/* Set before the run's first event, never changed after. */
		s->mirror.setup_sql = s->run_history->setup_sql;
		oracle__ref_init_empty(ref, &s->mirror, &s->cfg);
		ref->vfs = s->vfs;
		if (oracle__ref_open(ref) != 0) {
			give_up(s);
			return;
		}
		s->ref_ready = true;
	}
	txn_reserve(s, t->id);
	s->mirror.txns[t->id] = (struct hist_txn *)t;
	if (t->id >= s->mirror.txn_count)
		s->mirror.txn_count = t->id + 1;
	uint32_t first = oracle__ref_add_txn(ref, t);
	if (oracle__ref_classify_from(ref, first) != 0) {
		give_up(s);
		return;
	}
	bool ro = oracle__txn_readonly(ref, t);
	s->res.txn_ro[t->id] = ro;
	/* An indeterminate writer has a step too, placed by the same key
	 * (oracle.c: placement_event; it ended, so never its COMMIT start):
	 * before the commits that became visible after it. */
	bool indet = t->outcome == HIST_INDETERMINATE && t->stmt_count > 0 && !ro;
	bool included = indet && oracle__indet_guess(t);
	s->res.included[t->id] = included;
	if (t->outcome == HIST_COMMITTED || indet) {
		/* A latent commit is placed at the next recovery (oracle.c:
		 * placement_event), which is not known yet: stream_crash gives
		 * it that event, or it stays at the end; ties go by id, as
		 * plan_build orders them. */
		uint64_t key = indet && t->latent ? STREAM_LATENT_KEY
			       : t->visible_event ? t->visible_event : t->end_event;
		GROW(s->pend, s->pend_count, s->pend_cap);
		uint32_t at = s->pend_count;
		while (at > 0 && (s->pend[at - 1].key > key ||
				  (s->pend[at - 1].key == key && s->pend[at - 1].id > t->id))) {
			s->pend[at] = s->pend[at - 1];
			at--;
		}
		s->pend[at] = (struct stream_pend){ key, t->id, indet };
		s->pend_count++;
	}
	if (t->stmt_count > 0 && !(t->outcome == HIST_COMMITTED && !ro) &&
	    !included) {
		GROW(s->unplaced, s->unplaced_count, s->unplaced_cap);
		s->unplaced[s->unplaced_count++] =
			(struct stream_win){ .id = t->id };
	}
}

/* Appends a step; returns its position. */
static uint32_t step_add(struct oracle_stream *s, uint32_t id, uint32_t crash,
			 bool noop, bool indet, uint64_t end)
{
	struct oracle__stream_result *r = &s->res;
	uint32_t st = r->step_count;
	if (st == s->step_cap) {
		s->step_cap = s->step_cap ? s->step_cap * 2 : 256;
		r->steps = wh_realloc(r->steps, s->step_cap * sizeof *r->steps);
		r->step_noop = wh_realloc(r->step_noop,
					  s->step_cap * sizeof *r->step_noop);
		r->step_crash = wh_realloc(r->step_crash,
					   s->step_cap * sizeof *r->step_crash);
		s->step_indet = wh_realloc(s->step_indet,
					   s->step_cap * sizeof *s->step_indet);
		s->step_end = wh_realloc(s->step_end,
					 s->step_cap * sizeof *s->step_end);
		s->step_val = wh_realloc(s->step_val,
					 s->step_cap * sizeof *s->step_val);
	}
	r->steps[st] = id;
	r->step_noop[st] = noop;
	r->step_crash[st] = crash;
	s->step_indet[st] = indet;
	s->step_end[st] = end;
	s->step_val[st] = noop ? s->after_writer : st + 1;
	/* plan_build: a read-only commit vouches up to the last committed
	 * writer, never an indeterminate one */
	if (!noop && !indet)
		s->after_writer = st + 1;
	r->step_count++;
	return st;
}

/* Steps: pending commits whose key is below the frontier (and below
 * limit), in key order. */
static void finalize_steps(struct oracle_stream *s, uint64_t limit)
{
	uint64_t f = limit;
	for (uint32_t k = 0; k < s->running_count; k++)
		if (s->running[k].begin < f)
			f = s->running[k].begin;
	uint32_t taken = 0;
	struct oracle__stream_result *r = &s->res;
	while (taken < s->pend_count && s->pend[taken].key < f) {
		bool indet = s->pend[taken].indet;
		uint32_t id = s->pend[taken++].id;
		bool happened = !indet || r->included[id];
		/* An assumed-not-committed writer did not happen: it vouches
		 * for no position (UINT64_MAX: never ended before anything). */
		step_add(s, id, ORACLE_NONE, r->txn_ro[id] || !happened, indet,
			 happened ? s->mirror.txns[id]->end_event : UINT64_MAX);
	}
	/* Nothing taken may mean nothing pending, with no buffer yet: a
	 * null pointer is undefined for memmove even with a zero count. */
	if (taken > 0)
		memmove(s->pend, s->pend + taken, (s->pend_count - taken) * sizeof *s->pend);
	s->pend_count -= taken;
}

static void activate(struct oracle_stream *s, struct stream_win w)
{
	GROW(s->active, s->active_count, s->active_cap);
	s->active[s->active_count++] = w;
}

/* Window transactions whose lo is now known go to waiting (lo above the
 * reference's position) or straight to active. */
static void place_windows(struct oracle_stream *s)
{
	uint64_t pend_end = UINT64_MAX;
	for (uint32_t k = 0; k < s->pend_count; k++) {
		uint64_t e = s->mirror.txns[s->pend[k].id]->end_event;
		if (e < pend_end)
			pend_end = e;
	}
	uint32_t keep = 0;
	for (uint32_t u = 0; u < s->unplaced_count; u++) {
		struct stream_win w = s->unplaced[u];
		uint64_t begin = s->mirror.txns[w.id]->begin_event;
		if (pend_end < begin) {
			s->unplaced[keep++] = w;
			continue;
		}
		w.lo = lo_of(s, begin);
		if (w.lo > s->k) {
			GROW(s->waiting, s->waiting_count, s->waiting_cap);
			s->waiting[s->waiting_count++] = w;
		} else if (s->version_pos[s->version] <= w.lo) {
			activate(s, w); /* the reference still holds state lo */
		} else {
			give_up(s); /* a writer was applied after its lo */
			return;
		}
	}
	s->unplaced_count = keep;
}

/* Whether a transaction not placed yet may still get lo <= k. */
static bool blocked(const struct oracle_stream *s, uint32_t k)
{
	for (uint32_t q = 0; q < s->running_count; q++)
		if (lo_of(s, s->running[q].begin) <= k)
			return true;
	for (uint32_t u = 0; u < s->unplaced_count; u++)
		if (lo_of(s, s->mirror.txns[s->unplaced[u].id]->begin_event) <= k)
			return true;
	return false;
}

static void eval_actives(struct oracle_stream *s)
{
	static const struct oracle__probe probe = {
		.stop_early = true, .capture_stmt = ORACLE_NONE
	};
	uint32_t keep = 0;
	for (uint32_t a = 0; a < s->active_count && !s->gave_up; a++) {
		struct stream_win w = s->active[a];
		if (w.tried && w.version == s->version) {
			s->active[keep++] = w;
			continue;
		}
		const struct hist_txn *t = s->mirror.txns[w.id];
		uint32_t m = oracle__ref_try(&s->res.ref, t, t->stmt_count, &probe);
		if (m == ORACLE_NONE) {
			uint32_t first = s->version_pos[s->version];
			uint32_t pos = w.lo > first ? w.lo : first;
			s->res.match_pos[w.id] = pos;
			if (pos > s->epoch_match)
				s->epoch_match = pos;
			continue;
		}
		if (++w.tries > STREAM_TRIES)
			give_up(s);
		w.tried = true;
		w.version = s->version;
		s->active[keep++] = w;
	}
	s->active_count = keep;
}

static void version_next(struct oracle_stream *s)
{
	s->version++;
	if (s->version >= s->version_cap) {
		s->version_cap = s->version_cap ? s->version_cap * 2 : 256;
		s->version_pos = wh_realloc(s->version_pos, s->version_cap *
								sizeof *s->version_pos);
	}
	s->version_pos[s->version] = s->k;
}

/* Sweeps as far as what has ended allows; limit bounds the commit keys
 * that may take their steps (UINT64_MAX at the end of the run). */
static void advance(struct oracle_stream *s, uint64_t limit)
{
	if (!s->ref_ready)
		return;
	finalize_steps(s, limit);
	place_windows(s);
	struct oracle__stream_result *r = &s->res;
	while (!s->gave_up) {
		uint32_t keep = 0;
		for (uint32_t q = 0; q < s->waiting_count; q++) {
			if (s->waiting[q].lo <= s->k)
				activate(s, s->waiting[q]);
			else
				s->waiting[keep++] = s->waiting[q];
		}
		s->waiting_count = keep;
		eval_actives(s);
		if (s->gave_up || s->k == r->step_count)
			break;
		uint32_t id = r->steps[s->k];
		if (r->step_noop[s->k]) {
			s->k++; /* read-only, or assumed not committed */
			continue;
		}
		if (blocked(s, s->k))
			break;
		char *why = NULL;
		uint32_t m = oracle__ref_apply(&r->ref, s->mirror.txns[id], &why);
		free(why);
		if (m != ORACLE_NONE) {
			give_up(s); /* a failure: oracle.c explains it */
			break;
		}
		s->k++;
		version_next(s);
	}
}

/* After the last event: everything is final. */
static void complete(struct oracle_stream *s)
{
	if (s->gave_up || s->running_count > 0)
		return;
	if (!s->ref_ready) {
		give_up(s); /* nothing ended: nothing to hand over */
		return;
	}
	advance(s, UINT64_MAX);
	if (s->gave_up || s->unplaced_count > 0 || s->waiting_count > 0 ||
	    s->active_count > 0 || s->pend_count > 0 ||
	    s->k != s->res.step_count)
		return;
	oracle__ref_settle(&s->res.ref);
	s->res.complete = true;
}

/* The recovered state differs from the reference at the end of the
 * epoch: was the epoch's last writer, indeterminate (its COMMIT cut by
 * the crash) and taken as not committed, committed after all? Only when
 * nothing after it changed the state and no window matched after it, so
 * that applying it now is applying it at its step. Returns true when the
 * reference then equals the recovered state (the writer is included). */
static bool include_cut_writer(struct oracle_stream *s, uint64_t want)
{
	struct oracle__stream_result *r = &s->res;
	uint32_t at = ORACLE_NONE;
	for (uint32_t q = r->step_count; q > s->epoch_first; q--) {
		/* An undone writer (a played-back hot journal's owner, a
		 * latent commit written over) is final by the time its
		 * epoch's crash is told: the driver marks it before then. */
		if (s->step_indet[q - 1] && r->step_noop[q - 1] &&
		    s->mirror.txns[r->steps[q - 1]]->undone)
			continue;
		if (s->step_indet[q - 1] && r->step_noop[q - 1]) {
			at = q - 1;
			break;
		}
		if (!r->step_noop[q - 1])
			return false; /* a writer follows every candidate */
	}
	if (at == ORACLE_NONE || s->epoch_match > at)
		return false;
	const struct hist_txn *t = s->mirror.txns[r->steps[at]];
	char *why = NULL;
	uint32_t m = oracle__ref_apply(&r->ref, t, &why);
	free(why);
	version_next(s);
	uint64_t d;
	if (m != ORACLE_NONE || oracle__ref_digest(&r->ref, &d) != SQLITE_OK ||
	    d != want)
		return false; /* the reference is spoilt: the caller gives up */
	r->step_noop[at] = false;
	r->included[t->id] = true;
	s->step_end[at] = t->end_event;
	s->step_val[at] = at + 1;
	return true;
}

/* A crash (or clean reopen) and the digest of what the target recovered
 * to. Every transaction of the epoch has ended (the driver ends the ones
 * the crash killed before recording it): the epoch is swept to its end,
 * and the recovered state must be the reference's there, nothing lost
 * (the sweep's quick search resolves such a crash at its own step;
 * anything else, a lost commit even where the promise allows it, is left
 * to oracle_check). Then the crash takes its step and a new epoch
 * begins. */
static void stream_crash(struct oracle_stream *s, const struct stream_ev *ev)
{
	if (s->running_count > 0 || !s->ref_ready || ev->rc != SQLITE_OK) {
		give_up(s);
		return;
	}
	/* The epoch's latent commits take the crash's event (the tail of
	 * the queue: every other key of the epoch is below it) and their
	 * steps, before the crash's own. */
	for (uint32_t q = 0; q < s->pend_count; q++)
		if (s->pend[q].key == STREAM_LATENT_KEY)
			s->pend[q].key = ev->event;
	advance(s, ev->event + 1);
	struct oracle__stream_result *r = &s->res;
	if (s->gave_up || s->pend_count > 0 || s->unplaced_count > 0 ||
	    s->waiting_count > 0 || s->active_count > 0 || s->k != r->step_count) {
		give_up(s);
		return;
	}
	uint64_t d;
	if (oracle__ref_digest(&r->ref, &d) != SQLITE_OK ||
	    (d != ev->digest && !include_cut_writer(s, ev->digest))) {
		give_up(s);
		return;
	}
	step_add(s, ORACLE_NONE, s->epoch, true, false, UINT64_MAX);
	s->k++;
	s->epoch++;
	s->epoch_first = s->k;
	s->epoch_match = 0;
	r->crash_count = s->epoch;
	if (ev->event > s->e_seen)
		s->e_seen = ev->event;
}

static void *stream_main(void *arg)
{
	struct oracle_stream *s = arg;
	struct stream_ev *spare = NULL; /* the array the run does not hold */
	uint32_t spare_cap = 0;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->q_count < STREAM_BATCH && !s->finished && !s->stop) {
			s->sleeping = true;
			pthread_cond_wait(&s->cv, &s->mu);
			s->sleeping = false;
		}
		if (s->stop)
			break;
		/* Take the whole queue; the run refills the spare array. */
		struct stream_ev *evs = s->q;
		uint32_t n = s->q_count, evs_cap = s->q_cap;
		bool fin = s->finished;
		s->q = spare;
		s->q_cap = spare_cap;
		s->q_count = 0;
		pthread_mutex_unlock(&s->mu);
		for (uint32_t k = 0; k < n && !s->gave_up; k++) {
			if (evs[k].kind == STREAM_BEGIN)
				stream_begin(s, &evs[k]);
			else if (evs[k].kind == STREAM_END)
				stream_end(s, evs[k].t);
			else
				stream_crash(s, &evs[k]);
		}
		if (!s->gave_up)
			advance(s, s->e_seen + 1);
		if (fin && !s->gave_up)
			complete(s);
		spare = evs;
		spare_cap = evs_cap;
		pthread_mutex_lock(&s->mu);
		if (s->gave_up)
			s->stop = true;
		if (fin || s->stop)
			break;
	}
	pthread_mutex_unlock(&s->mu);
	free(spare);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Starting and finishing                                               */
/* ------------------------------------------------------------------ */

struct oracle_stream *oracle_stream_start(const struct history *h,
					  const struct oracle_config *cfg)
{
	WH_ASSERT(h != NULL);
	sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
	if (vfs == NULL)
		return NULL;
	struct oracle_stream *s = wh_calloc(1, sizeof *s);
	if (cfg != NULL)
		s->cfg = *cfg;
	s->vfs = wh_strdup(vfs->zName);
	s->run_history = h;
	s->observer = (struct hist_observer){ on_begin, on_end, on_crash, s };
	s->version_cap = 256;
	s->version_pos = wh_malloc(s->version_cap * sizeof *s->version_pos);
	s->version_pos[0] = 0;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
		s->joined = true; /* no thread: the stream only drops events */
		s->stop = true;
	}
	return s;
}

const struct hist_observer *oracle_stream_observer(struct oracle_stream *s)
{
	return s != NULL ? &s->observer : NULL;
}

void oracle__stream_result_free(struct oracle__stream_result *r)
{
	if (r == NULL)
		return;
	oracle__ref_fini(&r->ref);
	free(r->steps);
	free(r->step_noop);
	free(r->step_crash);
	free(r->txn_ro);
	free(r->match_pos);
	free(r->included);
	free(r);
}

static void stream_join(struct oracle_stream *s)
{
	if (s->joined)
		return;
	pthread_mutex_lock(&s->mu);
	s->finished = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->joined = true;
}

static void stream_free(struct oracle_stream *s)
{
	free(s->q);
	free(s->vfs);
	free(s->mirror.txns);
	free(s->running);
	free(s->pend);
	free(s->step_end);
	free(s->step_val);
	free(s->step_indet);
	free(s->version_pos);
	free(s->unplaced);
	free(s->waiting);
	free(s->active);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

struct oracle__stream_result *oracle__stream_finish(struct oracle_stream *s)
{
	if (s == NULL)
		return NULL;
	stream_join(s);
	struct oracle__stream_result *r = NULL;
	if (s->res.complete && !s->gave_up) {
		r = wh_malloc(sizeof *r);
		*r = s->res;
		r->txn_count = s->txn_cap;
		/* From here on the reference reads the run's history, which
		 * holds every transaction the mirror did. */
		r->ref.h = s->run_history;
		r->ref.vfs = NULL; /* s->vfs goes; the run is over, so the
				      default VFS is the real one again */
	} else {
		if (s->ref_ready)
			oracle__ref_fini(&s->res.ref);
		free(s->res.steps);
		free(s->res.step_noop);
		free(s->res.step_crash);
		free(s->res.included);
		free(s->res.txn_ro);
		free(s->res.match_pos);
	}
	stream_free(s);
	return r;
}

void oracle_stream_free(struct oracle_stream *s)
{
	oracle__stream_result_free(oracle__stream_finish(s));
}
