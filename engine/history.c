/*
 * history.c - recording what a run did (written by the connection driver,
 * read by the oracle); the engine's lowest record of a run.
 *
 * The history is a growable array of transaction pointers (id == index),
 * each transaction a growable array of statements. Everything handed in is
 * deep-copied, so the driver may reuse its buffers as soon as a call
 * returns; hist_free releases all of it.
 *
 * Event order: one global counter, advanced (pre-increment) at every
 * transaction begin, statement, COMMIT start and transaction end. Events
 * are therefore unique and strictly increasing in call order, and the
 * oracle derives real-time windows from them alone: R began after T
 * finished iff T.end_event < R.begin_event.
 *
 * Commit order: hist_txn_end hands out commit_index 0, 1, 2... to COMMITTED
 * transactions in the order it is called, which is the order in which
 * COMMIT (or an autocommit statement) returned success. That is only a
 * provisional order: when the run ends the driver renumbers committed
 * transactions by visibility (visible_event, else end_event), because two
 * COMMITs may return in the opposite order of their commit points. The
 * oracle therefore never assumes that end_event grows with commit_index.
 *
 * Crashes: hist_crash_add appends to crashes[] (one reallocation per
 * crash: a run has a handful) and takes an event of its own, its place in
 * real-time order; the driver ends the transactions the crash killed
 * before recording it. The returned pointer is valid until the next
 * hist_crash_add or hist_free; the driver fills in the recovery fields
 * right away.
 *
 * Merging (hist_merge, the processes target): two histories of one
 * counter are zipped by begin_event, which is the order hist_txn_begin
 * would have handed out ids in had one history recorded both; texts move
 * with their owner array, so no statement's pointer changes.
 *
 * Unsafe point: hist_mark_unsafe takes an event of its own too, once, so
 * that "ended after it" is a plain comparison of events; the oracle reads
 * unsafe_event only after the run (the observer is not told).
 *
 * Values (parameters and cells) are struct wh_value, copied with
 * wh_value_copy (value.c).
 *
 * Texts (statement SQL, template and transaction names) are copied once
 * per text handed in repeatedly at one address: texts[] owns every copy,
 * and text_seen remembers, by the address given, the copy last made
 * (hist_text). A workload hands its templates' texts from the same
 * memory each time, so a run of a million statements holds each text
 * once instead of a million times, and a statement costs a comparison
 * instead of two allocations. A cached copy is used only when the text
 * at that address is still the same (compared), so a buffer reused for
 * another text gets a copy of its own. Copies are never changed, so the
 * oracle's thread reads them while the run appends.
 */
#include "history.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "wh.h"

/* Growth bounds: a history is at most this many transactions/statements
 * (far above any run; the counters are 32-bit). */
#define HIST_TXN_MAX (UINT32_MAX / 2)
#define HIST_STMT_MAX (UINT32_MAX / 2)
/* Crashes and reopens per history (a run has a handful). */
#define HIST_CRASH_MAX 65536u

/* ------------------------------------------------------------------ */
/* History                                                              */
/* ------------------------------------------------------------------ */

void hist_init(struct history *h)
{
	WH_ASSERT(h != NULL);
	memset(h, 0, sizeof *h);
}

/* The history's copy of s (NULL for NULL): the one made last for the
 * same text handed in at the same address, else a new one. Saves a copy
 * and an allocation per statement, and the memory they would hold. */
static char *hist_text(struct history *h, const char *s)
{
	_Static_assert((HIST_TEXT_SEEN & (HIST_TEXT_SEEN - 1)) == 0, "a power of two");
	if (s == NULL)
		return NULL;
	struct hist_text_seen *e = &h->text_seen[((uintptr_t)s >> 4) & (HIST_TEXT_SEEN - 1)];
	if (e->given == s && strcmp(e->copy, s) == 0)
		return e->copy;
	if (h->text_count == h->text_cap) {
		WH_ASSERT(h->text_cap < UINT32_MAX / 2);
		h->text_cap = h->text_cap ? h->text_cap * 2 : 64;
		h->texts = wh_realloc(h->texts, h->text_cap * sizeof *h->texts);
	}
	char *copy = wh_strdup(s);
	h->texts[h->text_count++] = copy;
	e->given = s;
	e->copy = copy;
	WH_ASSERT(strcmp(copy, s) == 0);
	return copy;
}

static void stmt_free(struct hist_stmt *s)
{
	for (uint32_t k = 0; k < s->param_count; k++)
		wh_value_free(&s->params[k]);
	free(s->params);
	uint64_t cells = (uint64_t)s->row_count * s->col_count;
	for (uint64_t k = 0; k < cells; k++)
		wh_value_free(&s->cells[k]);
	free(s->cells);
}

void hist_free(struct history *h)
{
	WH_ASSERT(h != NULL);
	for (uint32_t i = 0; i < h->txn_count; i++) {
		struct hist_txn *t = h->txns[i];
		WH_ASSERT_EQ(t->id, i);
		for (uint32_t k = 0; k < t->stmt_count; k++)
			stmt_free(&t->stmts[k]);
		free(t->stmts);
		free(t);
	}
	free(h->txns);
	for (uint32_t i = 0; i < h->text_count; i++)
		free(h->texts[i]);
	free(h->texts);
	free(h->setup_sql);
	free(h->crashes);
	memset(h, 0, sizeof *h);
}

void hist_set_setup(struct history *h, const char *sql)
{
	WH_ASSERT(h != NULL);
	free(h->setup_sql);
	h->setup_sql = sql != NULL ? wh_strdup(sql) : NULL;
}

struct hist_txn *hist_txn_begin(struct history *h, int conn, const char *name,
				enum hist_begin begin, uint64_t now_us)
{
	WH_ASSERT(h != NULL);
	WH_ASSERT(begin >= HIST_BEGIN_AUTOCOMMIT && begin <= HIST_BEGIN_EXCLUSIVE);
	WH_ASSERT(h->txn_count < HIST_TXN_MAX);
	if (h->txn_count == h->txn_cap) {
		h->txn_cap = h->txn_cap ? h->txn_cap * 2 : 16;
		h->txns = wh_realloc(h->txns, h->txn_cap * sizeof *h->txns);
	}
	struct hist_txn *t = wh_calloc(1, sizeof *t);
	t->id = h->txn_count;
	t->conn = conn;
	t->name = hist_text(h, name);
	t->begin = begin;
	t->outcome = HIST_RUNNING;
	t->commit_index = -1;
	t->begin_event = ++h->event;
	t->begin_us = now_us;
	h->txns[h->txn_count++] = t;
	if (h->observer != NULL && h->observer->on_begin != NULL)
		h->observer->on_begin(h->observer->arg, t);
	return t;
}

struct hist_stmt *hist_stmt_add(struct history *h, struct hist_txn *t,
				const char *sql, const char *tmpl,
				const struct wh_value *params,
				uint32_t param_count, int rc, int64_t changes,
				uint32_t col_count, uint32_t row_count,
				const struct wh_value *cells, bool ordered)
{
	WH_ASSERT(h != NULL);
	WH_ASSERT(t != NULL && t->id < h->txn_count && h->txns[t->id] == t);
	WH_ASSERT(t->outcome == HIST_RUNNING);
	WH_ASSERT(sql != NULL);
	WH_ASSERT(param_count == 0 || params != NULL);
	uint64_t cell_count = (uint64_t)row_count * col_count;
	WH_ASSERT(cell_count == 0 || cells != NULL);
	WH_ASSERT(cell_count < SIZE_MAX / sizeof(struct wh_value));
	WH_ASSERT(t->stmt_count < HIST_STMT_MAX);

	if (t->stmt_count == t->stmt_cap) {
		t->stmt_cap = t->stmt_cap ? t->stmt_cap * 2 : 4;
		t->stmts = wh_realloc(t->stmts, t->stmt_cap * sizeof *t->stmts);
	}
	struct hist_stmt *s = &t->stmts[t->stmt_count++];
	memset(s, 0, sizeof *s);
	s->sql = hist_text(h, sql);
	s->tmpl = hist_text(h, tmpl);
	s->param_count = param_count;
	s->params = param_count ? wh_malloc(param_count * sizeof *s->params) : NULL;
	for (uint32_t k = 0; k < param_count; k++)
		wh_value_copy(&s->params[k], &params[k]);
	s->rc = rc;
	s->changes = changes;
	s->col_count = col_count;
	s->row_count = row_count;
	s->cells = cell_count ? wh_malloc(cell_count * sizeof *s->cells) : NULL;
	for (uint64_t k = 0; k < cell_count; k++)
		wh_value_copy(&s->cells[k], &cells[k]);
	s->ordered = ordered;
	s->event = ++h->event;
	return s;
}

void hist_txn_commit_start(struct history *h, struct hist_txn *t)
{
	WH_ASSERT(h != NULL);
	WH_ASSERT(t != NULL && t->id < h->txn_count && h->txns[t->id] == t);
	WH_ASSERT(t->outcome == HIST_RUNNING);
	t->commit_event = ++h->event;
}

void hist_txn_end(struct history *h, struct hist_txn *t,
		  enum hist_outcome outcome, int end_rc, uint64_t now_us)
{
	WH_ASSERT(h != NULL);
	WH_ASSERT(t != NULL && t->id < h->txn_count && h->txns[t->id] == t);
	WH_ASSERT(t->outcome == HIST_RUNNING);
	WH_ASSERT(outcome == HIST_COMMITTED || outcome == HIST_ABORTED ||
		  outcome == HIST_INDETERMINATE);
	t->outcome = outcome;
	t->end_rc = end_rc;
	t->end_us = now_us;
	t->end_event = ++h->event;
	if (outcome == HIST_COMMITTED) {
		t->commit_index = (int64_t)h->commit_count++;
		WH_ASSERT(t->commit_index >= 0);
	}
	if (h->observer != NULL && h->observer->on_end != NULL)
		h->observer->on_end(h->observer->arg, t);
}

struct hist_crash *hist_crash_add(struct history *h, enum hist_crash_kind kind)
{
	WH_ASSERT(h != NULL);
	WH_ASSERT(kind == HIST_CRASH_POWER_LOSS || kind == HIST_CRASH_REOPEN);
	WH_ASSERT(h->crash_count < HIST_CRASH_MAX);
	h->crashes = wh_realloc(h->crashes,
				(h->crash_count + 1) * sizeof *h->crashes);
	struct hist_crash *cr = &h->crashes[h->crash_count++];
	memset(cr, 0, sizeof *cr);
	cr->kind = kind;
	cr->event = ++h->event;
	cr->recovered_rc = SQLITE_OK;
	WH_ASSERT(h->crash_count == 1 ||
		  h->crashes[h->crash_count - 2].event < cr->event);
	return cr;
}

void hist_crash_recovered(struct history *h, const struct hist_crash *cr)
{
	WH_ASSERT(h != NULL && h->crash_count > 0);
	WH_ASSERT(cr == &h->crashes[h->crash_count - 1]);
	if (h->observer != NULL && h->observer->on_crash != NULL)
		h->observer->on_crash(h->observer->arg, cr);
}

void hist_mark_unsafe(struct history *h)
{
	WH_ASSERT(h != NULL);
	if (h->unsafe_event != 0)
		return;
	h->unsafe_event = ++h->event;
	WH_ASSERT(h->unsafe_event != 0);
}

void hist_merge(struct history *h, struct history *src)
{
	WH_ASSERT(h != NULL && src != NULL && h != src);
	WH_ASSERT(h->observer == NULL && src->observer == NULL);
	WH_ASSERT(h->crash_count == 0 && src->crash_count == 0);
	WH_ASSERT(h->txn_count < HIST_TXN_MAX - src->txn_count);
	uint32_t count = h->txn_count + src->txn_count;
	struct hist_txn **all = wh_malloc(((size_t)count + 1) * sizeof *all);
	uint32_t i = 0, k = 0;
	for (uint32_t n = 0; n < count; n++) {
		bool from_h = k == src->txn_count ||
			      (i < h->txn_count && h->txns[i]->begin_event < src->txns[k]->begin_event);
		struct hist_txn *t = from_h ? h->txns[i++] : src->txns[k++];
		/* One counter: no two transactions began at one event. */
		WH_ASSERT(n == 0 || all[n - 1]->begin_event < t->begin_event);
		t->id = n;
		all[n] = t;
	}
	WH_ASSERT_EQ(i, h->txn_count);
	WH_ASSERT_EQ(k, src->txn_count);
	free(h->txns);
	h->txns = all;
	h->txn_count = count;
	h->txn_cap = count + 1;
	for (uint32_t n = 0; n < src->text_count; n++) {
		if (h->text_count == h->text_cap) {
			WH_ASSERT(h->text_cap < UINT32_MAX / 2);
			h->text_cap = h->text_cap ? h->text_cap * 2 : 64;
			h->texts = wh_realloc(h->texts, h->text_cap * sizeof *h->texts);
		}
		h->texts[h->text_count++] = src->texts[n];
	}
	h->commit_count += src->commit_count;
	if (src->event > h->event)
		h->event = src->event;
	if (src->unsafe_event != 0 && (h->unsafe_event == 0 || src->unsafe_event < h->unsafe_event))
		h->unsafe_event = src->unsafe_event;
	/* What moved is h's now: free only src's arrays. */
	free(src->txns);
	free(src->texts);
	free(src->setup_sql);
	hist_init(src);
}
