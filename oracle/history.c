/*
 * history.c - recording what a run did, for the oracle.
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
 * Unsafe point: hist_mark_unsafe takes an event of its own too, once, so
 * that "ended after it" is a plain comparison of events; the oracle reads
 * unsafe_event only after the run (the observer is not told).
 *
 * Values: wh_value_cmp is a total order (NULL < numbers < TEXT < BLOB;
 * numbers compare by value across INTEGER and FLOAT, an INTEGER before an
 * equal FLOAT so that cmp == 0 means "the same value of the same type");
 * wh_value_format writes SQL literals a reader can paste back into sqlite3.
 */
#include "history.h"

#include <math.h>
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
/* Values                                                               */
/* ------------------------------------------------------------------ */

void wh_value_copy(struct wh_value *dst, const struct wh_value *src)
{
	WH_ASSERT(dst != NULL);
	WH_ASSERT(src != NULL);
	*dst = *src;
	dst->p = NULL;
	switch (src->type) {
	case SQLITE_TEXT:
		/* Text keeps a terminator so readers may treat it as a C
		 * string; n excludes it. */
		dst->p = wh_malloc((size_t)src->n + 1);
		if (src->n > 0) {
			WH_ASSERT(src->p != NULL);
			memcpy(dst->p, src->p, src->n);
		}
		dst->p[src->n] = '\0';
		break;
	case SQLITE_BLOB:
		dst->p = wh_malloc(src->n > 0 ? src->n : 1);
		if (src->n > 0) {
			WH_ASSERT(src->p != NULL);
			memcpy(dst->p, src->p, src->n);
		}
		break;
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
	case SQLITE_NULL:
		dst->n = 0;
		break;
	default:
		wh_assert_fail(__FILE__, __LINE__, "value type", "unknown type");
	}
}

void wh_value_free(struct wh_value *v)
{
	if (v == NULL)
		return;
	free(v->p);
	v->p = NULL;
	v->n = 0;
	v->type = SQLITE_NULL;
}

/* Rank of a storage class in the total order. */
static int value_rank(int type)
{
	switch (type) {
	case SQLITE_NULL:
		return 0;
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
		return 1;
	case SQLITE_TEXT:
		return 2;
	case SQLITE_BLOB:
		return 3;
	}
	wh_assert_fail(__FILE__, __LINE__, "value type", "unknown type");
}

/* Compares an integer with a double exactly (no rounding of the integer
 * to double, which would merge distinct large integers). */
static int cmp_int_float(int64_t i, double f)
{
	/* NaN never comes out of SQLite (it becomes NULL); order it below
	 * every integer so the order stays total anyway. */
	if (isnan(f))
		return 1;
	if (f < -9223372036854775808.0)
		return 1;
	if (f >= 9223372036854775808.0)
		return -1;
	/* |f| < 2^63 here, so its integral part is exact in both types. */
	int64_t fi = (int64_t)f;
	if (i < fi)
		return -1;
	if (i > fi)
		return 1;
	double frac = f - (double)fi;
	if (frac > 0)
		return -1;
	if (frac < 0)
		return 1;
	return 0;
}

static int cmp_bytes(const unsigned char *a, uint32_t an,
		     const unsigned char *b, uint32_t bn)
{
	uint32_t n = an < bn ? an : bn;
	int c = n > 0 ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (an != bn)
		return an < bn ? -1 : 1;
	return 0;
}

int wh_value_cmp(const struct wh_value *a, const struct wh_value *b)
{
	WH_ASSERT(a != NULL);
	WH_ASSERT(b != NULL);
	int ra = value_rank(a->type), rb = value_rank(b->type);
	int c;
	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (a->type) {
	case SQLITE_NULL:
		return 0;
	case SQLITE_INTEGER:
		if (b->type == SQLITE_INTEGER)
			return a->i < b->i ? -1 : a->i > b->i ? 1 : 0;
		c = cmp_int_float(a->i, b->f);
		/* Equal numbers: INTEGER first, so that 0 means identical. */
		return c != 0 ? c : -1;
	case SQLITE_FLOAT:
		if (b->type == SQLITE_INTEGER) {
			c = cmp_int_float(b->i, a->f);
			return c != 0 ? -c : 1;
		}
		if (isnan(a->f) || isnan(b->f))
			return isnan(a->f) && isnan(b->f) ? 0
			       : isnan(a->f)              ? -1
							  : 1;
		return a->f < b->f ? -1 : a->f > b->f ? 1 : 0;
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		return cmp_bytes(a->p, a->n, b->p, b->n);
	}
	WH_UNREACHABLE();
}

/* snprintf-like sink: writes what fits, counts everything. */
struct fmt_sink {
	char *buf;
	int cap;
	int len;
};

static void sink_bytes(struct fmt_sink *s, const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (s->len + 1 < s->cap)
			s->buf[s->len] = p[k];
		s->len++;
	}
}

static void sink_str(struct fmt_sink *s, const char *p)
{
	sink_bytes(s, p, strlen(p));
}

/* Shortest of %.15g / %.17g that reads back to the same double, always
 * with a decimal point or exponent so it reads back as a FLOAT. */
static void format_double(double f, char *out, size_t cap)
{
	if (isnan(f)) {
		snprintf(out, cap, "NULL");
		return;
	}
	if (isinf(f)) {
		snprintf(out, cap, "%s", f > 0 ? "1e999" : "-1e999");
		return;
	}
	snprintf(out, cap, "%.15g", f);
	if (strtod(out, NULL) != f)
		snprintf(out, cap, "%.17g", f);
	if (strpbrk(out, ".e") == NULL) {
		size_t n = strlen(out);
		if (n + 3 <= cap)
			memcpy(out + n, ".0", 3);
	}
}

int wh_value_format(const struct wh_value *v, char *buf, int cap)
{
	WH_ASSERT(v != NULL);
	WH_ASSERT(cap == 0 || buf != NULL);
	struct fmt_sink s = { buf, cap, 0 };
	char num[64];
	static const char hex[] = "0123456789abcdef";

	switch (v->type) {
	case SQLITE_NULL:
		sink_str(&s, "NULL");
		break;
	case SQLITE_INTEGER:
		snprintf(num, sizeof num, "%lld", (long long)v->i);
		sink_str(&s, num);
		break;
	case SQLITE_FLOAT:
		format_double(v->f, num, sizeof num);
		sink_str(&s, num);
		break;
	case SQLITE_TEXT:
		sink_str(&s, "'");
		for (uint32_t k = 0; k < v->n; k++) {
			char ch = (char)v->p[k];
			/* A quote inside an SQL string literal is doubled. */
			if (ch == '\'')
				sink_str(&s, "''");
			else
				sink_bytes(&s, &ch, 1);
		}
		sink_str(&s, "'");
		break;
	case SQLITE_BLOB:
		sink_str(&s, "X'");
		for (uint32_t k = 0; k < v->n; k++) {
			char pair[2] = { hex[v->p[k] >> 4], hex[v->p[k] & 15] };
			sink_bytes(&s, pair, 2);
		}
		sink_str(&s, "'");
		break;
	default:
		wh_assert_fail(__FILE__, __LINE__, "value type", "unknown type");
	}
	if (cap > 0)
		buf[s.len < cap ? s.len : cap - 1] = '\0';
	return s.len;
}

/* ------------------------------------------------------------------ */
/* History                                                              */
/* ------------------------------------------------------------------ */

void hist_init(struct history *h)
{
	WH_ASSERT(h != NULL);
	memset(h, 0, sizeof *h);
}

static void stmt_free(struct hist_stmt *s)
{
	free(s->sql);
	free(s->tmpl);
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
		free(t->name);
		free(t);
	}
	free(h->txns);
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
	t->name = name != NULL ? wh_strdup(name) : NULL;
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
	s->sql = wh_strdup(sql);
	s->tmpl = tmpl != NULL ? wh_strdup(tmpl) : NULL;
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

int wh_value_bind(sqlite3_stmt *st, int idx, const struct wh_value *v)
{
	switch (v->type) {
	case SQLITE_INTEGER:
		return sqlite3_bind_int64(st, idx, v->i);
	case SQLITE_FLOAT:
		return sqlite3_bind_double(st, idx, v->f);
	case SQLITE_TEXT:
		return sqlite3_bind_text(st, idx, v->p ? (const char *)v->p : "", (int)v->n,
					 SQLITE_STATIC);
	case SQLITE_BLOB:
		return sqlite3_bind_blob(st, idx, v->n ? v->p : (const void *)"", (int)v->n,
					 SQLITE_STATIC);
	default:
		return sqlite3_bind_null(st, idx);
	}
}
