/*
 * ref.c - the oracle's reference database: a private in-memory SQLite on
 * which recorded statements are re-executed and compared with what the
 * run observed.
 *
 * Statement cache: every distinct SQL text of the history is interned once
 * (open addressing on a word-at-a-time hash, ids handed out in
 * first-appearance order) and each recorded statement maps to its id, so
 * the replay finds its prepared statement by array index. The hash table
 * is only probed, never iterated, so nothing observable depends on hash
 * order. Statements are prepared lazily on the current reference and
 * reused (reset and rebound) for every execution: preparing is far more
 * expensive than stepping a small statement. What the predicates below
 * say of each recorded statement (skipped, uncertain, compared) is
 * computed once, in the same pass (stmt_bits).
 *
 * Classification, learned while a text is prepared, from the permissions
 * SQLite asks the authorizer for (top level only) and from its first
 * word: readonly (sqlite3_stmt_readonly); dml, rows written by the
 * statement itself, unless it is DDL: only then is sqlite3_changes its
 * own (DROP TABLE asks to DELETE the table's rows, yet leaves the count
 * stale); ddl; savepoint (SAVEPOINT, RELEASE, ROLLBACK TO, which SQLite
 * calls read-only); solo, a statement that must run outside any
 * transaction (transaction control, ATTACH, DETACH, VACUUM, a PRAGMA that
 * sets something).
 *
 * What "matches" means for one statement (oracle__ref_stmt):
 *   - a recorded rc that is an environmental error (BUSY, LOCKED, IOERR,
 *     FULL, NOMEM, INTERRUPT, ABORT, CORRUPT, ...) says nothing about the
 *     data, and SQLite undid the failing statement (or the whole
 *     transaction), so the statement is skipped: not run, not compared;
 *   - otherwise primary rc codes must be equal (DONE vs a deterministic
 *     error such as CONSTRAINT, which the reference must reproduce from
 *     the same state); on success, the changes count for DML statements,
 *     the column count when there are rows, and the rows: in order when
 *     the statement was recorded as ordered, else as multisets sorted by
 *     wh_value_cmp.
 * A value matches only if type and value are identical (1 is not 1.0):
 * the same SQLite produced both sides.
 *
 * Statement flags set by the driver: HIST_STMT_NOREPLAY statements are
 * skipped exactly like environmental errors (oracle__stmt_skipped is the
 * one predicate every file uses); HIST_STMT_NOCHECK statements run on the
 * reference for their effect, whatever their recorded rc, but always
 * match (oracle__stmt_compared is false for them, so the explanation
 * ignores their results as well). HIST_STMT_UNCERTAIN statements (an
 * I/O-type error, or a crash, in a transaction left indeterminate) may
 * have taken effect: they run uncompared when the transaction is applied
 * as committed (oracle__ref_apply sets r->applying) and are skipped
 * otherwise. Without the flag, the failed statement of an indeterminate
 * autocommit transaction is taken as uncertain too: it was its own
 * commit.
 *
 * Transactions on the reference. Committing costs as much as a small
 * transaction's statements, so committed transactions are applied inside
 * one long transaction (BEGIN once, COMMIT every ORACLE_BATCH_MAX of
 * them: the batch), and probes run inside it too, in SAVEPOINT wh_probe
 * unless they only read. Three things a real COMMIT does are kept:
 *   - savepoints a transaction left open are released (its statements
 *     run inside SAVEPOINT wh_txn, released after them);
 *   - a deferred foreign key left dangling fails the COMMIT (or the
 *     autocommit statement): after each transaction the deferred count is
 *     read (SQLITE_DBSTATUS_DEFERRED_FKS), and when it is not zero the
 *     transaction is applied again on its own, below;
 *   - DBFLAG_SchemaChange is cleared: while a schema change is
 *     uncommitted, every ROLLBACK TO (each probe) makes SQLite reload the
 *     schema and reprepare every statement, so the long transaction is
 *     committed right after a transaction or probe that ran DDL.
 * When a statement rolls the long transaction back (ON CONFLICT
 * ROLLBACK, RAISE(ROLLBACK), an error that rolls back), the reference is
 * at the state where it began: the batch since is applied again
 * (outer_recover), which is deterministic, and at most ORACLE_BATCH_MAX
 * transactions. A transaction whose batched application cannot stand for
 * its commit is applied once more on its own (apply_alone: BEGIN ...
 * COMMIT between transactions, as the run did), after the long
 * transaction was rolled back and its batch re-applied and committed;
 * so is a solo one, from the start.
 *
 * The update hook records (table, rowid) of changed rows only while
 * hook_on is set; the explanation pass uses it for write sets. It never
 * sees WITHOUT ROWID tables (an SQLite limitation), so write-write
 * dependencies on such tables are not derived.
 *
 * Divisions: text building, captured results, interning, opening,
 * running statements, transactions on the reference.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_int.h"
#include "prng.h"

/* Rows printed in a detail before "... N rows". */
#define BUF_ROWS_SHOWN 4
/* Characters of a value printed in a detail. */
#define BUF_VALUE_CHARS 40
/* Characters of SQL printed in a detail. */
#define BUF_SQL_CHARS 200
/* Texts whose loads are issued ahead of the one being interned. */
#define ORACLE_INTERN_AHEAD 16

/* ------------------------------------------------------------------ */
/* Text building                                                       */
/* ------------------------------------------------------------------ */

static void buf_reserve(struct oracle__buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 128;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->p = wh_realloc(b->p, cap);
	b->cap = cap;
}

void oracle__buf_printf(struct oracle__buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	WH_ASSERT(n >= 0);
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	int m = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	WH_ASSERT_EQ(m, n);
	b->len += (size_t)n;
}

void oracle__buf_value(struct oracle__buf *b, const struct wh_value *v)
{
	char lit[BUF_VALUE_CHARS + 1];
	int n = wh_value_format(v, lit, sizeof lit);
	if (n < (int)sizeof lit)
		oracle__buf_printf(b, "%s", lit);
	else
		oracle__buf_printf(b, "%.*s...", BUF_VALUE_CHARS - 3, lit);
}

void oracle__buf_row(struct oracle__buf *b, const struct wh_value *row,
		     uint32_t col_count)
{
	oracle__buf_printf(b, "(");
	for (uint32_t k = 0; k < col_count; k++) {
		if (k > 0)
			oracle__buf_printf(b, ", ");
		oracle__buf_value(b, &row[k]);
	}
	oracle__buf_printf(b, ")");
}

void oracle__buf_rows(struct oracle__buf *b, const struct wh_value *cells,
		      uint32_t col_count, uint32_t row_count)
{
	oracle__buf_printf(b, "[");
	for (uint32_t r = 0; r < row_count && r < BUF_ROWS_SHOWN; r++) {
		if (r > 0)
			oracle__buf_printf(b, ", ");
		oracle__buf_row(b, cells + (uint64_t)r * col_count, col_count);
	}
	if (row_count > BUF_ROWS_SHOWN)
		oracle__buf_printf(b, ", ... %u rows", row_count);
	oracle__buf_printf(b, "]");
}

static const char *outcome_name(enum hist_outcome o)
{
	switch (o) {
	case HIST_RUNNING:
		return "still running";
	case HIST_COMMITTED:
		return "committed";
	case HIST_ABORTED:
		return "aborted";
	case HIST_INDETERMINATE:
		return "indeterminate";
	}
	WH_UNREACHABLE();
}

void oracle__buf_txn(struct oracle__buf *b, const struct hist_txn *t)
{
	oracle__buf_printf(b, "T%u (conn %d, %s, %s", t->id, t->conn,
			   t->name ? t->name : "unnamed",
			   outcome_name(t->outcome));
	if (t->outcome == HIST_COMMITTED)
		oracle__buf_printf(b, " #%lld", (long long)t->commit_index);
	oracle__buf_printf(b, ")");
}

void oracle__buf_stmt(struct oracle__buf *b, const struct hist_txn *t,
		      uint32_t j)
{
	WH_ASSERT(j < t->stmt_count);
	const struct hist_stmt *s = &t->stmts[j];
	size_t n = strlen(s->sql);
	oracle__buf_printf(b, "statement %u `%.*s%s`", j,
			   (int)(n > BUF_SQL_CHARS ? BUF_SQL_CHARS : n), s->sql,
			   n > BUF_SQL_CHARS ? "..." : "");
	if (s->param_count > 0) {
		oracle__buf_printf(b, " with ");
		oracle__buf_row(b, s->params, s->param_count);
	}
}

void oracle__buf_ident(struct oracle__buf *b, const char *name)
{
	oracle__buf_printf(b, "\"");
	for (const char *p = name; *p; p++)
		oracle__buf_printf(b, *p == '"' ? "\"\"" : "%c", *p);
	oracle__buf_printf(b, "\"");
}

char *oracle__buf_take(struct oracle__buf *b)
{
	char *p = b->p != NULL ? b->p : wh_strdup("");
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void oracle__buf_free(struct oracle__buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Captured results                                                    */
/* ------------------------------------------------------------------ */

void oracle__result_reset(struct oracle__result *r)
{
	uint64_t cells = (uint64_t)r->row_count * r->col_count;
	WH_ASSERT(cells <= r->cell_cap);
	for (uint64_t k = 0; k < cells; k++)
		wh_value_free(&r->cells[k]);
	r->rc = SQLITE_DONE;
	r->changes = 0;
	r->col_count = 0;
	r->row_count = 0;
}

void oracle__result_free(struct oracle__result *r)
{
	oracle__result_reset(r);
	free(r->cells);
	memset(r, 0, sizeof *r);
}

/* Copies column i of the current row of st. */
static void col_copy(const struct wh_sqlapi *api, sqlite3_stmt *st, int i, struct wh_value *out)
{
	memset(out, 0, sizeof *out);
	out->type = api->column_type(st, i);
	switch (out->type) {
	case SQLITE_INTEGER:
		out->i = api->column_int64(st, i);
		break;
	case SQLITE_FLOAT:
		out->f = api->column_double(st, i);
		break;
	case SQLITE_TEXT: {
		const unsigned char *p = api->column_text(st, i);
		int n = api->column_bytes(st, i);
		WH_ASSERT(n >= 0);
		out->n = (uint32_t)n;
		out->p = wh_malloc((size_t)n + 1);
		if (n > 0)
			memcpy(out->p, p, (size_t)n);
		out->p[n] = '\0';
		break;
	}
	case SQLITE_BLOB: {
		const void *p = api->column_blob(st, i);
		int n = api->column_bytes(st, i);
		WH_ASSERT(n >= 0);
		out->n = (uint32_t)n;
		out->p = wh_malloc(n > 0 ? (size_t)n : 1);
		if (n > 0)
			memcpy(out->p, p, (size_t)n);
		break;
	}
	case SQLITE_NULL:
		break;
	default:
		WH_UNREACHABLE();
	}
}

void oracle__result_add_row_with(struct oracle__result *r, const struct wh_sqlapi *api,
				  sqlite3_stmt *st)
{
	uint32_t cols = (uint32_t)api->column_count(st);
	WH_ASSERT(r->row_count == 0 || r->col_count == cols);
	r->col_count = cols;
	uint64_t need = (uint64_t)(r->row_count + 1) * cols;
	if (need > r->cell_cap) {
		uint64_t cap = r->cell_cap ? r->cell_cap : 16;
		while (cap < need)
			cap *= 2;
		r->cells = wh_realloc(r->cells, cap * sizeof *r->cells);
		r->cell_cap = cap;
	}
	struct wh_value *row = r->cells + (uint64_t)r->row_count * cols;
	for (uint32_t k = 0; k < cols; k++)
		col_copy(api, st, (int)k, &row[k]);
	r->row_count++;
}

void oracle__result_add_row(struct oracle__result *r, sqlite3_stmt *st)
{
	oracle__result_add_row_with(r, &wh_sqlapi_linked, st);
}

int oracle__row_cmp(const struct wh_value *a, const struct wh_value *b,
		    uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		int c = wh_value_cmp(&a[k], &b[k]);
		if (c != 0)
			return c;
	}
	return 0;
}

static int rowref_cmp(const void *a, const void *b)
{
	const struct oracle__rowref *x = a, *y = b;
	WH_ASSERT_EQ(x->n, y->n);
	return oracle__row_cmp(x->v, y->v, x->n);
}

struct oracle__rowref *oracle__rows_sorted(const struct wh_value *cells,
					   uint32_t cols, uint32_t rows)
{
	struct oracle__rowref *rr = wh_malloc((rows ? rows : 1) * sizeof *rr);
	for (uint32_t k = 0; k < rows; k++) {
		rr[k].v = cells + (uint64_t)k * cols;
		rr[k].n = cols;
	}
	qsort(rr, rows, sizeof *rr, rowref_cmp);
	return rr;
}

static uint64_t fnv_value(uint64_t h, const struct wh_value *v)
{
	unsigned char type = (unsigned char)v->type;
	h = wh_fnv1a(h, &type, 1);
	switch (v->type) {
	case SQLITE_INTEGER:
		return wh_fnv1a(h, &v->i, sizeof v->i);
	case SQLITE_FLOAT:
		return wh_fnv1a(h, &v->f, sizeof v->f);
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		h = wh_fnv1a(h, &v->n, sizeof v->n);
		return v->n ? wh_fnv1a(h, v->p, v->n) : h;
	}
	return h;
}

uint64_t oracle__result_digest(const struct oracle__result *r, bool ordered)
{
	uint64_t h = WH_FNV1A_BASIS;
	h = wh_fnv1a(h, &r->rc, sizeof r->rc);
	h = wh_fnv1a(h, &r->changes, sizeof r->changes);
	h = wh_fnv1a(h, &r->row_count, sizeof r->row_count);
	if (r->row_count == 0)
		return h;
	h = wh_fnv1a(h, &r->col_count, sizeof r->col_count);
	struct oracle__rowref *rr = NULL;
	if (!ordered && r->row_count > 1)
		rr = oracle__rows_sorted(r->cells, r->col_count, r->row_count);
	for (uint32_t k = 0; k < r->row_count; k++) {
		const struct wh_value *row =
			rr ? rr[k].v : r->cells + (uint64_t)k * r->col_count;
		for (uint32_t c = 0; c < r->col_count; c++)
			h = fnv_value(h, &row[c]);
	}
	free(rr);
	return h;
}

/* ------------------------------------------------------------------ */
/* Interning                                                           */
/* ------------------------------------------------------------------ */

/* A hash of n bytes of s, eight at a time: interning hashes every
 * recorded statement, so this runs once per statement of the history. */
static uint32_t text_hash(const char *s, size_t n)
{
	const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xc2b2ae3d27d4eb4full;
	uint64_t h = k1 ^ (uint64_t)n;
	size_t k = 0;
	for (; k + 8 <= n; k += 8) {
		uint64_t w;
		memcpy(&w, s + k, sizeof w);
		h = (h ^ (w * k2)) * k1;
		h ^= h >> 29;
	}
	uint64_t tail = 0;
	memcpy(&tail, s + k, n - k);
	h = (h ^ (tail * k2)) * k1;
	h ^= h >> 32;
	h *= k2;
	h ^= h >> 29;
	return (uint32_t)h;
}

static void slots_rebuild(struct oracle__ref *r, uint32_t cap)
{
	free(r->slots);
	r->slots = wh_calloc(cap, sizeof *r->slots);
	r->slot_cap = cap;
	for (uint32_t id = 0; id < r->sql_count; id++) {
		uint32_t k = r->sqls[id].hash & (cap - 1);
		while (r->slots[k] != 0)
			k = (k + 1) & (cap - 1);
		r->slots[k] = id + 1;
	}
}

static uint32_t intern(struct oracle__ref *r, const char *text)
{
	/* Keep the load under one half so probes stay short. */
	if ((r->sql_count + 1) * 2 > r->slot_cap)
		slots_rebuild(r, r->slot_cap ? r->slot_cap * 2 : 64);
	size_t len = strlen(text);
	WH_ASSERT(len < UINT32_MAX);
	uint32_t hash = text_hash(text, len);
	uint32_t k = hash & (r->slot_cap - 1);
	for (uint32_t probes = 0; probes < r->slot_cap; probes++) {
		uint32_t id1 = r->slots[k];
		if (id1 == 0)
			break;
		const struct oracle__sql *q = &r->sqls[id1 - 1];
		if (q->hash == hash && q->len == len &&
		    memcmp(q->text, text, len) == 0)
			return id1 - 1;
		k = (k + 1) & (r->slot_cap - 1);
	}
	WH_ASSERT(r->slots[k] == 0);
	if (r->sql_count == r->sql_cap) {
		r->sql_cap = r->sql_cap ? r->sql_cap * 2 : 32;
		r->sqls = wh_realloc(r->sqls, r->sql_cap * sizeof *r->sqls);
	}
	uint32_t id = r->sql_count++;
	r->sqls[id] = (struct oracle__sql){ .text = text, .len = (uint32_t)len,
					    .hash = hash, .readonly = -1 };
	r->slots[k] = id + 1;
	return id;
}

/* The ORACLE_SB_* bits of statement j of t: exactly what the predicates
 * oracle__stmt_uncertain, _skipped and _compared (below) say, in one
 * pass over the statement. */
static uint8_t stmt_bits_of(const struct hist_txn *t, uint32_t j)
{
	WH_ASSERT(j < t->stmt_count);
	const struct hist_stmt *s = &t->stmts[j];
	bool noreplay = (s->flags & HIST_STMT_NOREPLAY) != 0;
	bool nocheck = (s->flags & HIST_STMT_NOCHECK) != 0;
	bool env = oracle__rc_environmental(s->rc);
	bool unsure = t->outcome == HIST_INDETERMINATE ||
		      (t->outcome == HIST_RUNNING && t->commit_event != 0);
	bool uncertain = !noreplay &&
			 ((s->flags & HIST_STMT_UNCERTAIN) != 0 ||
			  (unsure && t->begin == HIST_BEGIN_AUTOCOMMIT &&
			   j + 1 == t->stmt_count && !nocheck && env));
	bool skipped = noreplay || (!nocheck && !uncertain && env);
	bool compared = !nocheck && !uncertain && !env;
	WH_ASSERT(!(uncertain && skipped));
	WH_ASSERT(!compared || !uncertain);
	return (uint8_t)((skipped ? ORACLE_SB_SKIPPED : 0) |
			 (uncertain ? ORACLE_SB_UNCERTAIN : 0) |
			 (compared ? ORACLE_SB_COMPARED : 0));
}

/* Grows stmt_base to hold txn ids below n; new entries are uninterned. */
static void base_reserve(struct oracle__ref *r, uint64_t n)
{
	if (n <= r->base_cap)
		return;
	uint64_t cap = r->base_cap ? r->base_cap : 64;
	while (cap < n)
		cap *= 2;
	WH_ASSERT(cap <= UINT32_MAX);
	r->stmt_base = wh_realloc(r->stmt_base, cap * sizeof *r->stmt_base);
	for (uint64_t k = r->base_cap; k < cap; k++)
		r->stmt_base[k] = ORACLE_UNINTERNED;
	r->base_cap = (uint32_t)cap;
}

/* Grows stmt_sql and stmt_bits to hold n entries. */
static void stmts_reserve(struct oracle__ref *r, uint64_t n)
{
	if (n <= r->stmt_cap && r->stmt_sql != NULL)
		return;
	uint64_t cap = r->stmt_cap ? r->stmt_cap : 256;
	while (cap < n)
		cap *= 2;
	WH_ASSERT(cap < SIZE_MAX / sizeof *r->stmt_sql);
	r->stmt_sql = wh_realloc(r->stmt_sql, cap * sizeof *r->stmt_sql);
	r->stmt_bits = wh_realloc(r->stmt_bits, cap);
	r->stmt_cap = cap;
}

/* random() and randomblob() on the reference never match the run's
 * values anyway; they are replaced so that the oracle never draws from
 * SQLite's process-wide PRNG, which the simulation's WAL salts come
 * from while the oracle's concurrent check runs. */
#define ORACLE_RAND_SEED 0x6f7261636c65ull

static void init_common(struct oracle__ref *r, const struct history *h,
			const struct oracle_config *cfg)
{
	memset(r, 0, sizeof *r);
	r->h = h;
	r->cfg = cfg;
	r->rand_state = ORACLE_RAND_SEED;
	r->batch = wh_malloc(ORACLE_BATCH_MAX * sizeof *r->batch);
}

void oracle__ref_init(struct oracle__ref *r, const struct history *h,
		      const struct oracle_config *cfg)
{
	init_common(r, h, cfg);
	base_reserve(r, (uint64_t)h->txn_count + 1);
	uint64_t total = 0;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		r->stmt_base[i] = total;
		total += h->txns[i]->stmt_count;
	}
	stmts_reserve(r, total ? total : 1);
	r->stmt_total = total;
	/* Interning is bound by memory latency: every text is an allocation
	 * of its own, cold, and hashing it stalls the loop on each. So the
	 * texts are first gathered in order (cheap: the statement arrays
	 * are contiguous), then hashed with the loads of those ahead issued
	 * early. */
	const char **texts = wh_malloc((total ? total : 1) * sizeof *texts);
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		uint64_t base = r->stmt_base[i];
		for (uint32_t j = 0; j < t->stmt_count; j++) {
			texts[base + j] = t->stmts[j].sql;
			r->stmt_bits[base + j] = stmt_bits_of(t, j);
		}
	}
	for (uint64_t k = 0; k < total; k++) {
		if (k + ORACLE_INTERN_AHEAD < total)
			__builtin_prefetch(texts[k + ORACLE_INTERN_AHEAD]);
		r->stmt_sql[k] = intern(r, texts[k]);
	}
	free(texts);
}

void oracle__ref_init_empty(struct oracle__ref *r, const struct history *h,
			    const struct oracle_config *cfg)
{
	init_common(r, h, cfg);
}

bool oracle__ref_has_txn(const struct oracle__ref *r, const struct hist_txn *t)
{
	return t->id < r->base_cap && r->stmt_base[t->id] != ORACLE_UNINTERNED;
}

uint32_t oracle__ref_add_txn(struct oracle__ref *r, const struct hist_txn *t)
{
	uint32_t first = r->sql_count;
	if (oracle__ref_has_txn(r, t))
		return first;
	/* The bits depend on the outcome: only an ended transaction (or
	 * one the run left running for good) is interned. */
	base_reserve(r, (uint64_t)t->id + 1);
	stmts_reserve(r, r->stmt_total + t->stmt_count);
	uint64_t base = r->stmt_total;
	r->stmt_base[t->id] = base;
	for (uint32_t j = 0; j < t->stmt_count; j++) {
		r->stmt_bits[base + j] = stmt_bits_of(t, j);
		r->stmt_sql[base + j] = intern(r, t->stmts[j].sql);
	}
	r->stmt_total += t->stmt_count;
	return first;
}

void oracle__ref_fini(struct oracle__ref *r)
{
	oracle__ref_close(r);
	if (r->classifier != NULL) {
		int rc = sqlite3_close(r->classifier);
		WH_ASSERT_EQ(rc, SQLITE_OK);
	}
	free(r->sqls);
	free(r->slots);
	free(r->stmt_sql);
	free(r->stmt_bits);
	free(r->stmt_base);
	free(r->batch);
	free(r->writes);
	for (uint32_t k = 0; k < r->table_count; k++)
		free(r->tables[k]);
	free(r->tables);
	oracle__result_free(&r->scratch);
	oracle__result_free(&r->probe);
	free(r->error);
	free(r->runaway);
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------ */
/* Opening                                                              */
/* ------------------------------------------------------------------ */

/* PRAGMAs that take an argument and still belong inside a transaction:
 * schema queries, and the two the workloads flag (wal_checkpoint is
 * NOCHECK, incremental_vacuum NOREPLAY). Any other PRAGMA with an
 * argument sets something (foreign_keys=ON is a no-op inside a
 * transaction): solo. */
static bool pragma_in_txn(const char *name)
{
	static const char *const names[] = {
		"foreign_key_check", "foreign_key_list", "incremental_vacuum",
		"index_info",        "index_list",       "index_xinfo",
		"integrity_check",   "quick_check",      "table_info",
		"table_list",        "table_xinfo",      "wal_checkpoint",
	};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
		if (sqlite3_stricmp(name, names[k]) == 0)
			return true;
	return false;
}

/* Classifies the statement being prepared (r->auth_target) from what
 * SQLite asks permission for, top level only (not inside a trigger):
 * rows written in a user table (dml, unless the statement is DDL: DROP
 * TABLE deletes rows, yet sqlite3_changes stays what it was), schema
 * changes (ddl), savepoint statements, and statements that must run
 * outside a transaction (solo). Always allows. */
static int ref_authorize(void *arg, int action, const char *a3, const char *a4,
			 const char *dbname, const char *trigger)
{
	struct oracle__ref *r = arg;
	struct oracle__sql *q = r->auth_target;
	(void)dbname;
	if (q == NULL || trigger != NULL)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
		if (a3 != NULL && strncmp(a3, "sqlite_", 7) != 0)
			q->dml = 1;
		break;
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TABLE:
	case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_TEMP_VIEW:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_CREATE_VIEW:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TABLE:
	case SQLITE_DROP_TEMP_INDEX:
	case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_DROP_TEMP_VIEW:
	case SQLITE_DROP_TRIGGER:
	case SQLITE_DROP_VIEW:
	case SQLITE_ALTER_TABLE:
	case SQLITE_CREATE_VTABLE:
	case SQLITE_DROP_VTABLE:
		q->ddl = true;
		break;
	case SQLITE_SAVEPOINT:
		q->savepoint = true;
		break;
	case SQLITE_TRANSACTION:
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
		q->solo = true;
		break;
	case SQLITE_PRAGMA:
		if (a4 != NULL && a3 != NULL && !pragma_in_txn(a3))
			q->solo = true;
		break;
	default:
		break;
	}
	return SQLITE_OK;
}

/* Whether text begins with keyword (case-insensitive), after blanks and
 * comments. */
static bool first_keyword_is(const char *text, const char *keyword)
{
	const char *p = text;
	size_t len = strlen(text);
	for (size_t guard = 0; *p != '\0'; guard++) {
		WH_ASSERT(guard <= len); /* each round consumes a byte */
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		    *p == '\f') {
			p++;
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			p = end != NULL ? end + 2 : p + strlen(p);
		} else {
			break;
		}
	}
	size_t n = strlen(keyword);
	return sqlite3_strnicmp(p, keyword, (int)n) == 0 &&
	       !(p[n] == '_' || (p[n] >= '0' && p[n] <= '9') ||
		 ((p[n] | 0x20) >= 'a' && (p[n] | 0x20) <= 'z'));
}

static void ref_update_hook(void *arg, int op, const char *dbname,
			    const char *table, sqlite3_int64 rowid)
{
	struct oracle__ref *r = arg;
	(void)op;
	if (!r->hook_on || strcmp(dbname, "main") != 0)
		return;
	uint32_t k = 0;
	while (k < r->table_count && strcmp(r->tables[k], table) != 0)
		k++;
	if (k == r->table_count) {
		r->tables = wh_realloc(r->tables,
				       (r->table_count + 1) * sizeof *r->tables);
		r->tables[r->table_count++] = wh_strdup(table);
	}
	if (r->write_count == r->write_cap) {
		r->write_cap = r->write_cap ? r->write_cap * 2 : 64;
		r->writes = wh_realloc(r->writes,
				       r->write_cap * sizeof *r->writes);
	}
	r->writes[r->write_count++] = (struct oracle__write){ k, rowid };
}

static int ref_fail(struct oracle__ref *r, const char *what, const char *msg)
{
	free(r->error);
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "oracle: reference database: %s: %s", what,
			   msg ? msg : "unknown error");
	r->error = oracle__buf_take(&b);
	return -1;
}

static sqlite3_stmt *ref_control(struct oracle__ref *r, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
	/* The control statements are constant text: failing to prepare
	 * them is a programmer error, not an operating one. */
	WH_ASSERT_EQ(rc, SQLITE_OK);
	WH_ASSERT(st != NULL);
	return st;
}

static void fn_random(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct oracle__ref *r = sqlite3_user_data(ctx);
	(void)argc;
	(void)argv;
	sqlite3_result_int64(ctx, (sqlite3_int64)wh_mix64(++r->rand_state));
}

static void fn_randomblob(sqlite3_context *ctx, int argc,
			  sqlite3_value **argv)
{
	struct oracle__ref *r = sqlite3_user_data(ctx);
	(void)argc;
	sqlite3_int64 n = sqlite3_value_int64(argv[0]);
	if (n < 1)
		n = 1;
	if (n > 1 << 20) {
		sqlite3_result_error_toobig(ctx);
		return;
	}
	unsigned char *p = sqlite3_malloc64((sqlite3_uint64)n);
	if (p == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	for (sqlite3_int64 k = 0; k < n; k++)
		p[k] = (unsigned char)wh_mix64(++r->rand_state);
	sqlite3_result_blob64(ctx, p, (sqlite3_uint64)n, sqlite3_free);
}

static void db_bind(struct oracle__ref *r, sqlite3 *db);

/* Every REF_PROGRESS_EVERY virtual-machine steps: a history statement
 * past the step budget is stopped (SQLITE_INTERRUPT), and the first one
 * is kept to be reported. A statement that ends on the target can loop
 * forever on the reference (a recursive query over a state the target
 * never had), and the check would then never end. */
#define REF_PROGRESS_EVERY 1000

static int ref_progress(void *arg)
{
	struct oracle__ref *r = arg;
	if (!r->metering || r->cfg == NULL || r->cfg->step_budget == 0)
		return 0;
	r->vm_steps += REF_PROGRESS_EVERY;
	if (r->vm_steps <= r->cfg->step_budget)
		return 0;
	if (r->runaway == NULL) {
		struct oracle__buf b = { 0 };
		oracle__buf_printf(&b,
				   "statement did not finish on the serial reference within %" PRIu64
				   " virtual-machine steps: T%u `%.300s`; the workload is the likely cause (the reads that depend on it are not fully checked)",
				   r->cfg->step_budget, r->metered_txn,
				   r->metered ? r->metered->sql : "?");
		r->runaway = oracle__buf_take(&b);
	}
	return 1;
}

/* A database holding the setup state: the reference, or the classifier.
 * Temporary storage stays in memory (no temporary file through any VFS,
 * no name drawn from SQLite's PRNG); the workload's pragmas come after,
 * so one of them may still say otherwise. Returns 0, or -1 with
 * r->error set (*db is then closed). */
static int db_open_setup(struct oracle__ref *r, sqlite3 **db)
{
	int rc = sqlite3_open_v2(":memory:", db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 r->vfs);
	if (rc != SQLITE_OK) {
		sqlite3_close(*db);
		*db = NULL;
		return ref_fail(r, "open", sqlite3_errstr(rc));
	}
	db_bind(r, *db);
	const char *what = "temp_store";
	rc = sqlite3_exec(*db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL);
	const struct oracle_config *cfg = r->cfg;
	for (uint32_t k = 0; rc == SQLITE_OK && cfg != NULL &&
			     k < cfg->ref_pragma_count; k++) {
		struct oracle__buf b = { 0 };
		oracle__buf_printf(&b, "PRAGMA %s", cfg->ref_pragmas[k]);
		char *sql = oracle__buf_take(&b);
		rc = sqlite3_exec(*db, sql, NULL, NULL, NULL);
		free(sql);
		what = cfg->ref_pragmas[k];
	}
	if (rc == SQLITE_OK && r->h->setup_sql != NULL) {
		rc = sqlite3_exec(*db, r->h->setup_sql, NULL, NULL, NULL);
		what = "setup SQL";
	}
	if (rc != SQLITE_OK) {
		ref_fail(r, what, sqlite3_errmsg(*db));
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	return 0;
}

/* The callbacks db holds point at r. */
static void db_bind(struct oracle__ref *r, sqlite3 *db)
{
	sqlite3_create_function_v2(db, "random", 0, SQLITE_UTF8, r, fn_random,
				   NULL, NULL, NULL);
	sqlite3_create_function_v2(db, "randomblob", 1, SQLITE_UTF8, r,
				   fn_randomblob, NULL, NULL, NULL);
	sqlite3_set_authorizer(db, ref_authorize, r);
	sqlite3_progress_handler(db, REF_PROGRESS_EVERY, ref_progress, r);
	if (db == r->db)
		sqlite3_update_hook(db, ref_update_hook, r);
}

void oracle__ref_moved(struct oracle__ref *r)
{
	if (r->db != NULL)
		db_bind(r, r->db);
	if (r->classifier != NULL)
		db_bind(r, r->classifier);
}

int oracle__ref_open(struct oracle__ref *r)
{
	oracle__ref_close(r);
	if (db_open_setup(r, &r->db) != 0)
		return -1;
	r->sp_open = ref_control(r, "SAVEPOINT wh_probe");
	r->sp_undo = ref_control(r, "ROLLBACK TO wh_probe");
	r->sp_release = ref_control(r, "RELEASE wh_probe");
	r->txn_open = ref_control(r, "SAVEPOINT wh_txn");
	r->txn_release = ref_control(r, "RELEASE wh_txn");
	r->begin = ref_control(r, "BEGIN");
	r->commit = ref_control(r, "COMMIT");
	r->rollback = ref_control(r, "ROLLBACK");
	r->in_outer = false;
	r->batch_count = 0;
	r->ddl_run = false;
	r->pristine = true;
	return 0;
}

void oracle__ref_close(struct oracle__ref *r)
{
	if (r->db == NULL)
		return;
	for (uint32_t id = 0; id < r->sql_count; id++) {
		sqlite3_finalize(r->sqls[id].stmt);
		r->sqls[id].stmt = NULL;
		/* the next reference classifies afresh, as it prepares */
		r->sqls[id].keep = false;
	}
	digest_cache_free(&r->digests);
	sqlite3_stmt **ctl[] = { &r->sp_open,  &r->sp_undo,     &r->sp_release,
				 &r->txn_open, &r->txn_release, &r->begin,
				 &r->commit,   &r->rollback };
	for (size_t k = 0; k < sizeof ctl / sizeof ctl[0]; k++) {
		sqlite3_finalize(*ctl[k]);
		*ctl[k] = NULL;
	}
	/* An open long transaction goes with the database (in memory). */
	int rc = sqlite3_close(r->db);
	WH_ASSERT_EQ(rc, SQLITE_OK);
	r->db = NULL;
	r->in_outer = false;
	r->batch_count = 0;
	r->pristine = false;
}

/* Prepares q on db, learning its classification on the way. Returns the
 * SQLite rc; *out is the statement (NULL on error or for empty text). */
static int prepare_classified(struct oracle__ref *r, sqlite3 *db,
			      struct oracle__sql *q, sqlite3_stmt **out)
{
	/* DDL by its first word as well: DROP TABLE IF EXISTS prepared
	 * while the table is absent asks no permission, yet drops it when
	 * it runs later (reprepared, without classification). VACUUM asks
	 * none at all. */
	q->dml = 0;
	q->ddl = first_keyword_is(q->text, "create") ||
		 first_keyword_is(q->text, "drop") ||
		 first_keyword_is(q->text, "alter");
	q->savepoint = false;
	q->solo = first_keyword_is(q->text, "vacuum");
	r->auth_target = q;
	*out = NULL;
	int rc = sqlite3_prepare_v2(db, q->text, (int)q->len + 1, out, NULL);
	r->auth_target = NULL;
	if (q->ddl)
		q->dml = 0;
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*out);
		*out = NULL;
		return rc;
	}
	if (*out != NULL)
		q->readonly = sqlite3_stmt_readonly(*out) ? 1 : 0;
	else
		q->readonly = 1;
	return rc;
}

/* The prepared statement for id, or NULL with *rc set (a prepare error,
 * or SQLITE_OK for text holding no statement). */
static sqlite3_stmt *ref_prepare(struct oracle__ref *r, uint32_t id, int *rc)
{
	WH_ASSERT(id < r->sql_count);
	struct oracle__sql *q = &r->sqls[id];
	*rc = SQLITE_OK;
	if (q->stmt != NULL)
		return q->stmt;
	if (!q->keep) {
		*rc = prepare_classified(r, r->db, q, &q->stmt);
		return q->stmt;
	}
	/* Classified on the setup state already: the flags stay as the
	 * pristine reference would have learned them. */
	*rc = sqlite3_prepare_v2(r->db, q->text, (int)q->len + 1, &q->stmt,
				 NULL);
	if (*rc != SQLITE_OK) {
		sqlite3_finalize(q->stmt);
		q->stmt = NULL;
	}
	return q->stmt;
}

void oracle__ref_classify(struct oracle__ref *r)
{
	WH_ASSERT(r->db != NULL);
	for (uint32_t id = 0; id < r->sql_count; id++) {
		int rc;
		(void)ref_prepare(r, id, &rc);
		r->sqls[id].ro_class = r->sqls[id].readonly;
	}
}

int oracle__ref_classify_from(struct oracle__ref *r, uint32_t from)
{
	if (from >= r->sql_count)
		return 0;
	if (r->classifier == NULL && db_open_setup(r, &r->classifier) != 0)
		return -1;
	for (uint32_t id = from; id < r->sql_count; id++) {
		struct oracle__sql *q = &r->sqls[id];
		sqlite3_stmt *st;
		int rc = prepare_classified(r, r->classifier, q, &st);
		sqlite3_finalize(st);
		q->ro_class = q->readonly;
		q->keep = rc == SQLITE_OK;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Running statements                                                   */
/* ------------------------------------------------------------------ */

static int rc_primary(int rc)
{
	rc &= 0xff;
	/* The driver may record the last step's ROW or OK for success. */
	return rc == SQLITE_OK || rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

bool oracle__rc_environmental(int rc)
{
	switch (rc_primary(rc)) {
	case SQLITE_DONE:
	case SQLITE_ERROR:
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
	case SQLITE_AUTH:
		return false;
	}
	return true;
}

bool oracle__stmt_uncertain(const struct hist_txn *t, uint32_t j)
{
	WH_ASSERT(j < t->stmt_count);
	uint32_t flags = t->stmts[j].flags;
	if ((flags & HIST_STMT_NOREPLAY) != 0)
		return false;
	if ((flags & HIST_STMT_UNCERTAIN) != 0)
		return true;
	/* Unflagged, the statement of an indeterminate autocommit
	 * transaction that failed is still its cut commit (a history from
	 * a driver that does not flag it). */
	bool unsure = t->outcome == HIST_INDETERMINATE ||
		      (t->outcome == HIST_RUNNING && t->commit_event != 0);
	return unsure && t->begin == HIST_BEGIN_AUTOCOMMIT &&
	       j + 1 == t->stmt_count && (flags & HIST_STMT_NOCHECK) == 0 &&
	       oracle__rc_environmental(t->stmts[j].rc);
}

bool oracle__stmt_skipped(const struct hist_txn *t, uint32_t j)
{
	WH_ASSERT(j < t->stmt_count);
	uint32_t flags = t->stmts[j].flags;
	if ((flags & HIST_STMT_NOREPLAY) != 0)
		return true;
	if ((flags & HIST_STMT_NOCHECK) != 0 || oracle__stmt_uncertain(t, j))
		return false; /* replayed whatever its rc: its effect counts */
	return oracle__rc_environmental(t->stmts[j].rc);
}

bool oracle__stmt_compared(const struct hist_txn *t, uint32_t j)
{
	WH_ASSERT(j < t->stmt_count);
	return (t->stmts[j].flags & HIST_STMT_NOCHECK) == 0 &&
	       !oracle__stmt_uncertain(t, j) &&
	       !oracle__rc_environmental(t->stmts[j].rc);
}

static uint32_t sql_id(const struct oracle__ref *r, const struct hist_txn *t,
		       uint32_t j)
{
	WH_ASSERT(oracle__ref_has_txn(r, t));
	WH_ASSERT(j < t->stmt_count);
	return r->stmt_sql[r->stmt_base[t->id] + j];
}

/* The ORACLE_SB_* bits of statement j of t, computed once by
 * oracle__ref_init (the predicates above, cached for the hot paths). */
static uint8_t stmt_bits(const struct oracle__ref *r, const struct hist_txn *t,
			 uint32_t j)
{
	WH_ASSERT(oracle__ref_has_txn(r, t));
	WH_ASSERT(j < t->stmt_count);
	return r->stmt_bits[r->stmt_base[t->id] + j];
}

bool oracle__stmt_readonly(const struct oracle__ref *r,
			   const struct hist_txn *t, uint32_t j)
{
	return r->sqls[sql_id(r, t, j)].readonly == 1;
}

bool oracle__stmt_dml(const struct oracle__ref *r, const struct hist_txn *t,
		      uint32_t j)
{
	return r->sqls[sql_id(r, t, j)].dml == 1;
}

bool oracle__txn_readonly(const struct oracle__ref *r,
			  const struct hist_txn *t)
{
	for (uint32_t j = 0; j < t->stmt_count; j++)
		if ((stmt_bits(r, t, j) & ORACLE_SB_SKIPPED) == 0 &&
		    r->sqls[sql_id(r, t, j)].ro_class != 1)
			return false;
	return true;
}

static bool col_equal(sqlite3_stmt *st, int i, const struct wh_value *v)
{
	int type = sqlite3_column_type(st, i);
	if (type != v->type)
		return false;
	switch (type) {
	case SQLITE_INTEGER:
		return sqlite3_column_int64(st, i) == v->i;
	case SQLITE_FLOAT:
		return sqlite3_column_double(st, i) == v->f;
	case SQLITE_TEXT: {
		const unsigned char *p = sqlite3_column_text(st, i);
		int n = sqlite3_column_bytes(st, i);
		return (uint32_t)n == v->n && (n == 0 || memcmp(p, v->p, v->n) == 0);
	}
	case SQLITE_BLOB: {
		const void *p = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);
		return (uint32_t)n == v->n && (n == 0 || memcmp(p, v->p, v->n) == 0);
	}
	case SQLITE_NULL:
		return true;
	}
	WH_UNREACHABLE();
}

static bool row_equal(sqlite3_stmt *st, const struct hist_stmt *s,
		      uint32_t row)
{
	const struct wh_value *rec = s->cells + (uint64_t)row * s->col_count;
	for (uint32_t k = 0; k < s->col_count; k++)
		if (!col_equal(st, (int)k, &rec[k]))
			return false;
	return true;
}

/* Binds s's parameters. SQLITE_STATIC: the history outlives every
 * statement of the reference, so bindings may stay after a run; they are
 * cleared first only when s binds fewer than the statement has (a
 * hand-built history), so that nothing of an earlier run leaks in. */
static int bind_params(sqlite3_stmt *st, const struct hist_stmt *s)
{
	if ((int)s->param_count < sqlite3_bind_parameter_count(st))
		sqlite3_clear_bindings(st);
	for (uint32_t k = 0; k < s->param_count; k++) {
		int rc = wh_value_bind(st, (int)k + 1, &s->params[k]);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Compares the scratch rows (reference) with s's rows as multisets. */
static bool multiset_equal(const struct oracle__result *ref,
			   const struct hist_stmt *s)
{
	WH_ASSERT_EQ(ref->row_count, s->row_count);
	WH_ASSERT_EQ(ref->col_count, s->col_count);
	struct oracle__rowref *a = oracle__rows_sorted(ref->cells, ref->col_count, ref->row_count);
	struct oracle__rowref *b = oracle__rows_sorted(s->cells, s->col_count, s->row_count);
	bool same = true;
	for (uint32_t k = 0; k < s->row_count && same; k++)
		same = oracle__row_cmp(a[k].v, b[k].v, s->col_count) == 0;
	free(a);
	free(b);
	return same;
}

/* A statement replayed for its effect only: a NOCHECK result depends on
 * the environment (page counts, checkpoint counters, or LOCKED for a
 * checkpoint inside a transaction on the in-memory reference), and an
 * uncertain commit's error says nothing of what it would have returned;
 * so nothing is compared (cap, when given, still gets the result). */
static void stmt_effect_only(sqlite3_stmt *st, const struct hist_stmt *s,
			     struct oracle__result *cap)
{
	int rc = bind_params(st, s);
	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (cap != NULL)
				oracle__result_add_row(cap, st);
	sqlite3_reset(st);
	if (cap != NULL) {
		cap->rc = rc_primary(rc);
		if (cap->row_count == 0)
			cap->col_count = (uint32_t)sqlite3_column_count(st);
	}
}

/* One compared statement being run: what its rows showed so far. */
struct stmt_run {
	bool multiset;  /* 2+ rows recorded without ORDER BY: compared sorted
			   when not in the run's order */
	bool copy;      /* its rows are copied to r->scratch for that */
	bool same_rows; /* every row so far equals the recorded one there */
	uint32_t rows;  /* rows returned */
	int rc;         /* of the last step */
};

/* Step the statement to its end, comparing each row positionally with
 * the recorded ones as it comes (or copying it, for a writer with
 * unordered rows). */
static void stmt_stream(struct oracle__ref *r, sqlite3_stmt *st, const struct hist_stmt *s,
			struct oracle__result *cap, struct stmt_run *run)
{
	if (run->copy)
		oracle__result_reset(&r->scratch);
	run->rc = bind_params(st, s);
	if (run->rc != SQLITE_OK)
		return;
	while ((run->rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cap != NULL)
			oracle__result_add_row(cap, st);
		if (run->copy) {
			if (run->rows < s->row_count)
				oracle__result_add_row(&r->scratch, st);
		} else if (run->same_rows &&
			   (run->rows >= s->row_count ||
			    (uint32_t)sqlite3_column_count(st) != s->col_count ||
			    !row_equal(st, s, run->rows))) {
			run->same_rows = false;
		}
		run->rows++;
	}
}

/* A read-only multiset that came in another order: run it again (it
 * changes nothing) to copy its rows for the sorted compare. */
static void stmt_recopy(struct oracle__ref *r, sqlite3_stmt *st, struct stmt_run *run)
{
	WH_ASSERT(run->multiset && !run->copy);
	sqlite3_reset(st);
	oracle__result_reset(&r->scratch);
	uint32_t again = 0;
	while ((run->rc = sqlite3_step(st)) == SQLITE_ROW && again < run->rows) {
		oracle__result_add_row(&r->scratch, st);
		again++;
	}
	WH_ASSERT_EQ(again, run->rows);
	run->copy = true;
}

/* Whether the run's outcome (got, changes, the rows) is the recorded
 * one: the same result code (a deterministic error is all there is to
 * compare), the same change count for DML, the same rows in order, or
 * as a multiset. */
static bool stmt_matches(const struct oracle__ref *r, uint32_t id, const struct hist_stmt *s,
			 const struct stmt_run *run, int got, int64_t changes)
{
	if (got != rc_primary(s->rc))
		return false;
	if (got != SQLITE_DONE)
		return true; /* same deterministic error */
	if (r->sqls[id].dml == 1 && changes != s->changes)
		return false;
	if (run->rows != s->row_count)
		return false;
	if (!run->copy)
		return run->same_rows;
	WH_ASSERT(run->multiset);
	if (r->scratch.col_count != s->col_count)
		return false;
	return multiset_equal(&r->scratch, s);
}

static bool ref_stmt_run(struct oracle__ref *r, const struct hist_txn *t, uint32_t j,
			 struct oracle__result *cap);

bool oracle__ref_stmt(struct oracle__ref *r, const struct hist_txn *t,
		      uint32_t j, struct oracle__result *cap)
{
	r->metering = true;
	r->vm_steps = 0;
	r->metered = &t->stmts[j];
	r->metered_txn = t->id;
	bool same = ref_stmt_run(r, t, j, cap);
	r->metering = false;
	return same;
}

static bool ref_stmt_run(struct oracle__ref *r, const struct hist_txn *t, uint32_t j,
			 struct oracle__result *cap)
{
	WH_ASSERT(r->db != NULL);
	const struct hist_stmt *s = &t->stmts[j];
	uint8_t bits = stmt_bits(r, t, j);
	bool compared = (bits & ORACLE_SB_COMPARED) != 0;
	if (cap != NULL)
		oracle__result_reset(cap);
	/* An uncertain statement runs only as part of its transaction's
	 * assumed commit (oracle__ref_apply). */
	if ((bits & ORACLE_SB_SKIPPED) != 0 ||
	    (!r->applying && (bits & ORACLE_SB_UNCERTAIN) != 0)) {
		if (cap != NULL)
			cap->rc = ORACLE_SKIPPED;
		return true;
	}
	uint32_t id = sql_id(r, t, j);
	int rc;
	sqlite3_stmt *st = ref_prepare(r, id, &rc);
	int want = rc_primary(s->rc);
	r->ddl_run |= r->sqls[id].ddl;
	if (st == NULL) {
		/* A prepare error (or an empty text) is the statement's
		 * outcome: the run saw the same text on the same schema. */
		int got = rc == SQLITE_OK ? SQLITE_DONE : rc_primary(rc);
		if (cap != NULL)
			cap->rc = got;
		if (!compared)
			return true;
		return got == want && (got != SQLITE_DONE || s->row_count == 0);
	}
	if (!compared) {
		stmt_effect_only(st, s, cap);
		return true;
	}
	/* Rows compare positionally, streamed from the statement. A
	 * multiset (2+ rows, no ORDER BY) usually comes in the run's order
	 * too (same plan, same data), so a read-only one is streamed first
	 * as well, and only when that fails is it run again to copy its rows
	 * for a sorted compare (deterministic: it changes nothing). A writer
	 * with unordered rows (RETURNING) cannot run twice: copied at once. */
	struct stmt_run run = { .same_rows = true };
	run.multiset = !s->ordered && s->row_count > 1;
	run.copy = run.multiset && r->sqls[id].readonly != 1;
	stmt_stream(r, st, s, cap, &run);
	if (run.multiset && !run.copy && !run.same_rows && run.rc == SQLITE_DONE &&
	    run.rows == s->row_count)
		stmt_recopy(r, st, &run);
	int got = rc_primary(run.rc);
	int64_t changes = 0;
	if (got == SQLITE_DONE && r->sqls[id].dml == 1)
		changes = sqlite3_changes64(r->db);
	sqlite3_reset(st);
	if (cap != NULL) {
		cap->rc = got;
		cap->changes = changes;
		if (cap->row_count == 0)
			cap->col_count = (uint32_t)sqlite3_column_count(st);
	}
	return stmt_matches(r, id, s, &run, got, changes);
}

uint32_t oracle__ref_exec(struct oracle__ref *r, const struct hist_txn *t,
			  uint32_t n, const struct oracle__probe *p)
{
	WH_ASSERT(n <= t->stmt_count);
	uint32_t first = ORACLE_NONE;
	bool in_txn = !sqlite3_get_autocommit(r->db);
	for (uint32_t j = 0; j < n; j++) {
		if (in_txn && sqlite3_get_autocommit(r->db)) {
			/* A statement (OR ROLLBACK) ended the transaction on
			 * the reference: what follows would autocommit and
			 * corrupt the reference, and cannot be what the run
			 * did inside its transaction. */
			if (first == ORACLE_NONE)
				first = j;
			break;
		}
		struct oracle__result *cap = NULL;
		if (p != NULL && p->capture != NULL && p->capture_stmt == j)
			cap = p->capture;
		else if (p != NULL && p->digest != NULL)
			cap = &r->probe;
		bool ok = oracle__ref_stmt(r, t, j, cap);
		if (p != NULL && p->digest != NULL)
			p->digest[j] = oracle__result_digest(cap,
							     t->stmts[j].ordered);
		if (p != NULL && p->match != NULL)
			p->match[j] = ok;
		if (!ok && first == ORACLE_NONE) {
			first = j;
			if (p != NULL && p->stop_early)
				break;
		}
	}
	return first;
}

/* ------------------------------------------------------------------ */
/* Transactions on the reference                                        */
/* ------------------------------------------------------------------ */

static int step_control(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc;
}

/* Opens the long transaction unless it is open. */
static void outer_begin(struct oracle__ref *r)
{
	if (r->in_outer) {
		WH_ASSERT(!sqlite3_get_autocommit(r->db));
		return;
	}
	WH_ASSERT(sqlite3_get_autocommit(r->db));
	WH_ASSERT_EQ(r->batch_count, 0);
	int rc = step_control(r->begin);
	WH_ASSERT_EQ(rc, SQLITE_DONE);
	r->in_outer = true;
}

void oracle__ref_settle(struct oracle__ref *r)
{
	WH_ASSERT(r->db != NULL);
	if (!r->in_outer) {
		WH_ASSERT(sqlite3_get_autocommit(r->db));
		r->ddl_run = false;
		return;
	}
	/* No deferred foreign key is ever left pending (apply_batched),
	 * so the commit cannot fail. */
	int rc = step_control(r->commit);
	WH_ASSERT_EQ(rc, SQLITE_DONE);
	r->in_outer = false;
	r->batch_count = 0;
	r->ddl_run = false;
}

static bool apply_batched(struct oracle__ref *r, const struct hist_txn *t,
			  uint32_t *first);

/* The long transaction is gone (a statement rolled it back, or
 * apply_batched rolled it back itself): the reference is at the state
 * where it began. Applies its batch again, which ends where it was
 * before. Re-applying is deterministic: each of them applied cleanly the
 * first time. The update hook does not record meanwhile. */
static void outer_recover(struct oracle__ref *r)
{
	WH_ASSERT(r->in_outer);
	WH_ASSERT(sqlite3_get_autocommit(r->db));
	uint32_t n = r->batch_count;
	uint32_t redo[ORACLE_BATCH_MAX];
	_Static_assert(ORACLE_BATCH_MAX <= 4096, "redo fits on the stack");
	memcpy(redo, r->batch, n * sizeof *redo);
	r->in_outer = false;
	r->batch_count = 0;
	bool hook = r->hook_on;
	r->hook_on = false;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t first;
		bool ok = apply_batched(r, r->h->txns[redo[k]], &first);
		WH_ASSERT(ok);
	}
	r->hook_on = hook;
}

/* Whether t holds a statement replayed by apply that must run outside
 * any transaction. */
static bool txn_solo(const struct oracle__ref *r, const struct hist_txn *t,
		     uint32_t n)
{
	for (uint32_t j = 0; j < n; j++)
		if ((stmt_bits(r, t, j) & ORACLE_SB_SKIPPED) == 0 &&
		    r->sqls[sql_id(r, t, j)].solo)
			return true;
	return false;
}

static bool txn_savepoints(const struct oracle__ref *r,
			   const struct hist_txn *t)
{
	for (uint32_t j = 0; j < t->stmt_count; j++)
		if ((stmt_bits(r, t, j) & ORACLE_SB_SKIPPED) == 0 &&
		    r->sqls[sql_id(r, t, j)].savepoint)
			return true;
	return false;
}

static bool deferred_fk_pending(struct oracle__ref *r)
{
	int cur = 0, hi = 0;
	int rc = sqlite3_db_status(r->db, SQLITE_DBSTATUS_DEFERRED_FKS, &cur,
				   &hi, 0);
	WH_ASSERT_EQ(rc, SQLITE_OK);
	return cur != 0;
}

/* Applies t inside the long transaction. Returns false when that cannot
 * stand for t committing on its own: a statement ended the long
 * transaction (ON CONFLICT ROLLBACK), or COMMIT would have failed on a
 * deferred foreign key (which also fails an autocommit statement). Then
 * the long transaction is to be undone by the caller. A transaction with
 * savepoints runs inside SAVEPOINT wh_txn, whose RELEASE closes any it
 * left open, as its COMMIT did in the run. */
static bool apply_batched(struct oracle__ref *r, const struct hist_txn *t,
			  uint32_t *first)
{
	outer_begin(r);
	bool wrap = txn_savepoints(r, t);
	if (wrap) {
		int rc = step_control(r->txn_open);
		WH_ASSERT_EQ(rc, SQLITE_DONE);
	}
	r->applying = true;
	*first = oracle__ref_exec(r, t, t->stmt_count, NULL);
	r->applying = false;
	if (sqlite3_get_autocommit(r->db))
		return false;
	if (wrap && step_control(r->txn_release) != SQLITE_DONE)
		return false; /* a statement of t released wh_txn itself */
	if (deferred_fk_pending(r))
		return false;
	WH_ASSERT(r->batch_count < ORACLE_BATCH_MAX);
	r->batch[r->batch_count++] = t->id;
	if (r->batch_count == ORACLE_BATCH_MAX || r->ddl_run)
		oracle__ref_settle(r);
	return true;
}

/* Applies t in a transaction of its own (BEGIN ... COMMIT unless
 * autocommit), between transactions, as the run did. */
static uint32_t apply_alone(struct oracle__ref *r, const struct hist_txn *t,
			    char **why)
{
	WH_ASSERT(!r->in_outer);
	WH_ASSERT(sqlite3_get_autocommit(r->db));
	bool wrap = t->begin != HIST_BEGIN_AUTOCOMMIT;
	if (wrap) {
		int rc = step_control(r->begin);
		WH_ASSERT_EQ(rc, SQLITE_DONE);
	}
	r->applying = true;
	uint32_t first = oracle__ref_exec(r, t, t->stmt_count, NULL);
	r->applying = false;
	if (wrap) {
		int rc = step_control(r->commit);
		if (rc != SQLITE_DONE) {
			if (first == ORACLE_NONE) {
				first = t->stmt_count;
				*why = wh_strdup(sqlite3_errmsg(r->db));
			}
			if (!sqlite3_get_autocommit(r->db))
				(void)step_control(r->rollback);
		}
	}
	/* Whatever happened, the reference is between transactions again. */
	WH_ASSERT(sqlite3_get_autocommit(r->db));
	r->ddl_run = false;
	return first;
}

uint32_t oracle__ref_apply(struct oracle__ref *r, const struct hist_txn *t,
			   char **why)
{
	WH_ASSERT(r->db != NULL);
	WH_ASSERT(why != NULL);
	*why = NULL;
	r->pristine = false;
	if (txn_solo(r, t, t->stmt_count)) {
		oracle__ref_settle(r);
		return apply_alone(r, t, why);
	}
	uint32_t writes = r->write_count;
	uint32_t first;
	if (apply_batched(r, t, &first))
		return first;
	/* Back to the state before t: roll the long transaction back (a
	 * statement may have done it already), apply its batch again and
	 * commit it; then t on its own, whose outcome is the one to keep. */
	if (!sqlite3_get_autocommit(r->db))
		(void)step_control(r->rollback);
	outer_recover(r);
	oracle__ref_settle(r);
	r->write_count = writes;
	return apply_alone(r, t, why);
}

void oracle__ref_save(struct oracle__ref *r)
{
	WH_ASSERT(r->db != NULL);
	outer_begin(r);
	int rc = step_control(r->sp_open);
	WH_ASSERT_EQ(rc, SQLITE_DONE);
}

/* Ends a probe begun by oracle__ref_save, or by SAVEPOINT wh_probe
 * between transactions (ref_try of a solo transaction). */
void oracle__ref_undo(struct oracle__ref *r)
{
	int rc = step_control(r->sp_undo);
	if (rc == SQLITE_DONE) {
		rc = step_control(r->sp_release);
		WH_ASSERT_EQ(rc, SQLITE_DONE);
	} else if (!sqlite3_get_autocommit(r->db)) {
		/* A statement of the probe released or rolled back to a
		 * savepoint opened before wh_probe (RELEASE of a name the
		 * probe never opened): nothing is left to roll back to but
		 * the transaction's beginning. */
		rc = step_control(r->rollback);
		WH_ASSERT_EQ(rc, SQLITE_DONE);
	}
	/* Else a statement (ON CONFLICT ROLLBACK) ended the transaction
	 * the savepoint was in: the state is back where it began. */
	WH_ASSERT(rc == SQLITE_DONE || sqlite3_get_autocommit(r->db));
	if (r->in_outer && sqlite3_get_autocommit(r->db))
		outer_recover(r);
	WH_ASSERT(r->in_outer == !sqlite3_get_autocommit(r->db));
	if (r->ddl_run)
		oracle__ref_settle(r);
}

uint32_t oracle__ref_try(struct oracle__ref *r, const struct hist_txn *t,
			 uint32_t n, const struct oracle__probe *p)
{
	WH_ASSERT(r->db != NULL);
	WH_ASSERT(n <= t->stmt_count);
	/* A probe made of plain reads leaves no trace: no savepoint, which
	 * is most probes (audits, reads of aborted transactions). Savepoint
	 * statements count as writes here: SQLite calls them read-only, but
	 * one left open would outlive the probe. */
	bool solo = txn_solo(r, t, n);
	bool wrap = solo;
	for (uint32_t j = 0; j < n && !wrap; j++) {
		if ((stmt_bits(r, t, j) & ORACLE_SB_SKIPPED) != 0)
			continue;
		const struct oracle__sql *q = &r->sqls[sql_id(r, t, j)];
		wrap = q->readonly != 1 || q->savepoint;
	}
	if (solo) {
		/* Between transactions, as the old reference did: a probe of
		 * statements that cannot run inside one. */
		oracle__ref_settle(r);
		int rc = step_control(r->sp_open);
		WH_ASSERT_EQ(rc, SQLITE_DONE);
	} else if (wrap) {
		oracle__ref_save(r);
	} else {
		outer_begin(r);
	}
	uint32_t first = oracle__ref_exec(r, t, n, p);
	if (wrap)
		oracle__ref_undo(r);
	else if (sqlite3_get_autocommit(r->db))
		outer_recover(r); /* cannot happen for reads; stay sound */
	return first;
}
