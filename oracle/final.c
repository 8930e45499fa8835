/*
 * final.c - the target database after the run against the reference after
 * the serial replay, plus the checks that need only the target.
 *
 * Comparison (oracle__final_compare), reference at its final position:
 *   - schema: (type, name, tbl_name, sql) of every user entry must agree;
 *   - tables present on both sides, in name order: a rowid table is
 *     streamed from both sides ordered by rowid and merged, so memory stays
 *     constant however large it is; each differing row is counted and the
 *     first ones are kept (both versions) for the explanation pass, which
 *     names lost and phantom commits. A WITHOUT ROWID table has no key the
 *     oracle can rely on, so both sides are read whole and compared as
 *     sorted multisets;
 *   - every index whose columns are plain columns: its visible rows,
 *     `SELECT cols[, rowid] FROM t INDEXED BY idx`, which SQLite answers
 *     from the index b-tree alone, as sorted multisets. Expression and
 *     partial indexes are skipped (INDEXED BY cannot scan a partial index
 *     without its WHERE clause).
 * Everything that is not a tracked row becomes a text for a final_state
 * violation. A target that cannot be read is such a text as well: it is a
 * finding about the run, not a failure of the oracle.
 *
 * Two libraries: the reference is always the linked SQLite; the target
 * is read through c->tapi (oracle_config.target_api), so every statement
 * on the target side goes through that table and every one on the
 * reference side through the linked symbols, never crossed. The target
 * side's SQL names sqlite_master, not its newer alias, so an older target
 * library can answer it.
 *
 * Target checks (oracle__target_checks): PRAGMA integrity_check must give
 * exactly one row 'ok'; PRAGMA foreign_key_check no row; every invariant's
 * first column of its first row must be true (non-zero, SQLite's notion:
 * NULL and text that is not a non-zero number are false). An invariant the
 * target fails is also evaluated on the reference at its final position
 * (taken with the final comparison, under the plan reported): false there
 * too, the workload's invariant does not hold for a serial execution and
 * the report says the workload is the likely cause (reference_invariant);
 * written in the idiom `SELECT count(*) = 0 FROM ...`, the rows it counts
 * on the target are shown.
 */
#include <stdlib.h>
#include <string.h>

#include "oracle_int.h"

/* Differing rows kept for the explanation pass (over all tables). */
#define FINAL_ROWS_TRACKED 64
/* Rows or messages shown per difference text. */
#define FINAL_SHOWN 3

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static void text_add(struct oracle__final *f, char *text)
{
	f->texts = wh_realloc(f->texts, (f->text_count + 1) * sizeof *f->texts);
	f->texts[f->text_count++] = text;
	f->diff_total++;
}

void oracle__final_free(struct oracle__final *f)
{
	for (uint32_t k = 0; k < f->row_count; k++) {
		free(f->rows[k].table);
		oracle__result_free(&f->rows[k].target);
		oracle__result_free(&f->rows[k].ref);
	}
	free(f->rows);
	for (uint32_t k = 0; k < f->text_count; k++)
		free(f->texts[k]);
	free(f->texts);
	for (uint32_t k = 0; k < f->ref_invariant_count; k++)
		free(f->ref_invariants[k]);
	free(f->ref_invariants);
	memset(f, 0, sizeof *f);
}

/* Runs sql (with an optional text parameter) on db, a connection of
 * api's library, and captures every row. Returns the primary rc
 * (SQLITE_DONE on success). */
static int query_all(const struct wh_sqlapi *api, sqlite3 *db, const char *sql,
		     const char *param, struct oracle__result *out)
{
	oracle__result_reset(out);
	sqlite3_stmt *st = NULL;
	int rc = api->prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		out->rc = rc & 0xff;
		return out->rc;
	}
	if (param != NULL)
		api->bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	while ((rc = api->step(st)) == SQLITE_ROW)
		oracle__result_add_row_with(out, api, st);
	out->col_count = (uint32_t)api->column_count(st);
	api->finalize(st);
	out->rc = rc & 0xff;
	return out->rc;
}

/* The reference's side of query_all. */
static int ref_query(struct oracle__ctx *c, const char *sql, const char *param,
		     struct oracle__result *out)
{
	return query_all(&wh_sqlapi_linked, c->ref.db, sql, param, out);
}

/* The target's side of query_all. */
static int target_query(struct oracle__ctx *c, const char *sql, const char *param,
			struct oracle__result *out)
{
	return query_all(c->tapi, c->target, sql, param, out);
}

static const char *cell_text(const struct oracle__result *r, uint32_t row,
			     uint32_t col)
{
	const struct wh_value *v = &r->cells[(uint64_t)row * r->col_count + col];
	return v->type == SQLITE_TEXT ? (const char *)v->p : NULL;
}

static void unreadable(struct oracle__final *f, const char *side, const char *what,
		       const struct wh_sqlapi *api, sqlite3 *db)
{
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "cannot read %s on the %s: %s", what, side,
			   api->errmsg(db));
	text_add(f, oracle__buf_take(&b));
}

static void target_unreadable(struct oracle__ctx *c, struct oracle__final *f,
			      const char *what)
{
	unreadable(f, "target", what, c->tapi, c->target);
}

static void ref_unreadable(struct oracle__ctx *c, struct oracle__final *f, const char *what)
{
	unreadable(f, "reference", what, &wh_sqlapi_linked, c->ref.db);
}

/* Rows only on one side of two sorted multisets, shown briefly. */
static uint64_t multiset_diff(const struct oracle__result *tgt,
			      const struct oracle__result *ref,
			      struct oracle__buf *b)
{
	uint32_t cols = ref->col_count;
	WH_ASSERT(tgt->row_count == 0 || ref->row_count == 0 ||
		  tgt->col_count == ref->col_count);
	struct oracle__rowref *a = oracle__rows_sorted(tgt->cells, cols,
						       tgt->row_count);
	struct oracle__rowref *r = oracle__rows_sorted(ref->cells, cols,
						       ref->row_count);
	uint32_t i = 0, j = 0, shown = 0;
	uint64_t diffs = 0;
	while (i < tgt->row_count || j < ref->row_count) {
		int c = i == tgt->row_count   ? 1
			: j == ref->row_count ? -1
					      : oracle__row_cmp(a[i].v, r[j].v, cols);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		diffs++;
		if (shown++ < FINAL_SHOWN) {
			oracle__buf_printf(b, "%s%s ", shown > 1 ? "; " : "",
					   c < 0 ? "only in target" : "only in reference");
			oracle__buf_row(b, c < 0 ? a[i].v : r[j].v, cols);
		}
		if (c < 0)
			i++;
		else
			j++;
	}
	if (diffs > FINAL_SHOWN)
		oracle__buf_printf(b, "; %llu rows differ in all",
				   (unsigned long long)diffs);
	free(a);
	free(r);
	return diffs;
}

/* ------------------------------------------------------------------ */
/* Tables                                                               */
/* ------------------------------------------------------------------ */

/* tgt: a statement of tapi's library, or NULL; ref: the reference's. */
static void row_track(struct oracle__final *f, const char *table, int64_t rowid,
		      const struct wh_sqlapi *tapi, sqlite3_stmt *tgt, sqlite3_stmt *ref)
{
	if (f->row_count == FINAL_ROWS_TRACKED)
		return;
	if (f->row_count == f->row_cap) {
		f->row_cap = f->row_cap ? f->row_cap * 2 : 8;
		f->rows = wh_realloc(f->rows, f->row_cap * sizeof *f->rows);
	}
	struct oracle__rowdiff *d = &f->rows[f->row_count++];
	memset(d, 0, sizeof *d);
	d->table = wh_strdup(table);
	d->rowid = rowid;
	if (tgt != NULL)
		oracle__result_add_row_with(&d->target, tapi, tgt);
	if (ref != NULL)
		oracle__result_add_row(&d->ref, ref);
}

/* a: a statement of aapi's library; b: the reference's. */
static bool stmt_row_equal(const struct wh_sqlapi *aapi, sqlite3_stmt *a, sqlite3_stmt *b)
{
	const struct wh_sqlapi *bapi = &wh_sqlapi_linked;
	int n = aapi->column_count(a);
	if (n != bapi->column_count(b))
		return false;
	for (int k = 0; k < n; k++) {
		int type = aapi->column_type(a, k);
		if (type != bapi->column_type(b, k))
			return false;
		switch (type) {
		case SQLITE_INTEGER:
			if (aapi->column_int64(a, k) != bapi->column_int64(b, k))
				return false;
			break;
		case SQLITE_FLOAT:
			if (aapi->column_double(a, k) != bapi->column_double(b, k))
				return false;
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB: {
			const void *pa = aapi->column_blob(a, k);
			const void *pb = bapi->column_blob(b, k);
			int na = aapi->column_bytes(a, k);
			int nb = bapi->column_bytes(b, k);
			if (na != nb || (na > 0 && memcmp(pa, pb, (size_t)na) != 0))
				return false;
			break;
		}
		default:
			break;
		}
	}
	return true;
}

/* Merges a rowid table ordered by rowid from both sides. */
static void compare_rowid_table(struct oracle__ctx *c, struct oracle__final *f,
				const char *table)
{
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "SELECT _rowid_, * FROM ");
	oracle__buf_ident(&b, table);
	oracle__buf_printf(&b, " ORDER BY _rowid_");
	char *sql = oracle__buf_take(&b);
	const struct wh_sqlapi *tapi = c->tapi;
	sqlite3_stmt *tgt = NULL, *ref = NULL;
	if (tapi->prepare_v2(c->target, sql, -1, &tgt, NULL) != SQLITE_OK) {
		target_unreadable(c, f, table);
		goto out_free_sql;
	}
	if (sqlite3_prepare_v2(c->ref.db, sql, -1, &ref, NULL) != SQLITE_OK) {
		ref_unreadable(c, f, table);
		goto out_finalize;
	}
	int rt = tapi->step(tgt), rr = sqlite3_step(ref);
	uint64_t diffs = 0, untracked = 0;
	while (rt == SQLITE_ROW || rr == SQLITE_ROW) {
		int64_t kt = rt == SQLITE_ROW ? tapi->column_int64(tgt, 0) : 0;
		int64_t kr = rr == SQLITE_ROW ? sqlite3_column_int64(ref, 0) : 0;
		int cmp = rt != SQLITE_ROW ? 1 : rr != SQLITE_ROW ? -1
					   : (kt > kr) - (kt < kr);
		if (cmp < 0) {
			diffs++;
			untracked += f->row_count == FINAL_ROWS_TRACKED;
			row_track(f, table, kt, tapi, tgt, NULL);
			rt = tapi->step(tgt);
		} else if (cmp > 0) {
			diffs++;
			untracked += f->row_count == FINAL_ROWS_TRACKED;
			row_track(f, table, kr, tapi, NULL, ref);
			rr = sqlite3_step(ref);
		} else {
			if (!stmt_row_equal(tapi, tgt, ref)) {
				diffs++;
				untracked += f->row_count == FINAL_ROWS_TRACKED;
				row_track(f, table, kt, tapi, tgt, ref);
			}
			rt = tapi->step(tgt);
			rr = sqlite3_step(ref);
		}
	}
	f->diff_total += diffs - untracked;
	if (rt != SQLITE_DONE)
		target_unreadable(c, f, table);
	if (rr != SQLITE_DONE)
		ref_unreadable(c, f, table);
	if (untracked > 0) {
		oracle__buf_printf(&b, "table %s: %llu more differing rows not analysed",
				   table, (unsigned long long)untracked);
		text_add(f, oracle__buf_take(&b));
		f->diff_total += untracked - 1;
	}
out_finalize:
	sqlite3_finalize(ref);
	tapi->finalize(tgt);
out_free_sql:
	free(sql);
}

/* Reads sql whole on both sides and compares as sorted multisets. */
static void compare_multiset(struct oracle__ctx *c, struct oracle__final *f,
			     const char *sql, const char *what)
{
	struct oracle__result tgt = { 0 }, ref = { 0 };
	if (target_query(c, sql, NULL, &tgt) != SQLITE_DONE) {
		target_unreadable(c, f, what);
		goto out_free;
	}
	if (ref_query(c, sql, NULL, &ref) != SQLITE_DONE) {
		ref_unreadable(c, f, what);
		goto out_free;
	}
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "%s: ", what);
	uint64_t diffs = multiset_diff(&tgt, &ref, &b);
	if (diffs > 0) {
		text_add(f, oracle__buf_take(&b));
		f->diff_total += diffs - 1;
	}
	oracle__buf_free(&b);
out_free:
	oracle__result_free(&tgt);
	oracle__result_free(&ref);
}

static void compare_table(struct oracle__ctx *c, struct oracle__final *f,
			  const char *table)
{
	struct oracle__result wr = { 0 };
	int rc = ref_query(c,
			   "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
			   table, &wr);
	bool without_rowid = rc == SQLITE_DONE && wr.row_count == 1 &&
			     wr.cells[0].type == SQLITE_INTEGER &&
			     wr.cells[0].i != 0;
	oracle__result_free(&wr);
	if (!without_rowid) {
		compare_rowid_table(c, f, table);
		return;
	}
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "SELECT * FROM ");
	oracle__buf_ident(&b, table);
	char *sql = oracle__buf_take(&b);
	oracle__buf_printf(&b, "table %s (WITHOUT ROWID)", table);
	char *what = oracle__buf_take(&b);
	compare_multiset(c, f, sql, what);
	free(what);
	free(sql);
}

/* Index-visible rows of idx, when it is made of plain columns. */
static void compare_index(struct oracle__ctx *c, struct oracle__final *f,
			  const char *idx, const char *table)
{
	struct oracle__result cols = { 0 }, wr = { 0 };
	struct oracle__buf b = { 0 };
	if (ref_query(c,
		      "SELECT name FROM pragma_index_info(?1) ORDER BY seqno",
		      idx, &cols) != SQLITE_DONE ||
	    cols.row_count == 0)
		goto out_free;
	int rc = ref_query(c,
			   "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
			   table, &wr);
	bool with_rowid = rc == SQLITE_DONE && wr.row_count == 1 &&
			  wr.cells[0].type == SQLITE_INTEGER && wr.cells[0].i == 0;
	oracle__buf_printf(&b, "SELECT ");
	for (uint32_t k = 0; k < cols.row_count; k++) {
		const char *name = cell_text(&cols, k, 0);
		if (name == NULL)
			goto out_free; /* an expression column */
		if (k > 0)
			oracle__buf_printf(&b, ", ");
		oracle__buf_ident(&b, name);
	}
	/* The rowid is stored in every entry: still answered by the index. */
	if (with_rowid)
		oracle__buf_printf(&b, ", _rowid_");
	oracle__buf_printf(&b, " FROM ");
	oracle__buf_ident(&b, table);
	oracle__buf_printf(&b, " INDEXED BY ");
	oracle__buf_ident(&b, idx);
	/* Ordered by the index's columns: the same multiset, but an older
	 * target's planner uses INDEXED BY only for a scan that some term
	 * (here the ORDER BY) can use the index for ("no query solution"
	 * otherwise). */
	for (uint32_t k = 0; k < cols.row_count; k++) {
		oracle__buf_printf(&b, k == 0 ? " ORDER BY " : ", ");
		oracle__buf_ident(&b, cell_text(&cols, k, 0));
	}
	char *sql = oracle__buf_take(&b);
	/* Partial indexes cannot be scanned this way: skip what does not
	 * prepare on the reference. */
	sqlite3_stmt *probe = NULL;
	if (sqlite3_prepare_v2(c->ref.db, sql, -1, &probe, NULL) == SQLITE_OK) {
		oracle__buf_printf(&b, "index %s on %s", idx, table);
		char *what = oracle__buf_take(&b);
		compare_multiset(c, f, sql, what);
		free(what);
	}
	sqlite3_finalize(probe);
	free(sql);
out_free:
	oracle__buf_free(&b);
	oracle__result_free(&cols);
	oracle__result_free(&wr);
}

/* ------------------------------------------------------------------ */
/* Entry points                                                         */
/* ------------------------------------------------------------------ */

static void ref_invariants(struct oracle__ctx *c, struct oracle__final *f);

int oracle__final_compare(struct oracle__ctx *c, struct oracle__final *f)
{
	WH_ASSERT(c->target != NULL);
	WH_ASSERT(c->ref.db != NULL);
	memset(f, 0, sizeof *f);
	ref_invariants(c, f);

	/* Schema first: tables are compared only where both sides have
	 * them, so a missing table shows up here. */
	compare_multiset(c, f,
			 "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE substr(name, 1, 7) <> 'sqlite_'",
			 "schema");

	struct oracle__result tt = { 0 }, rt = { 0 };
	static const char tables_sql[] =
		"SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name";
	if (target_query(c, tables_sql, NULL, &tt) != SQLITE_DONE)
		target_unreadable(c, f, "sqlite_schema");
	else if (ref_query(c, tables_sql, NULL, &rt) != SQLITE_DONE)
		ref_unreadable(c, f, "sqlite_schema");
	else {
		/* Both lists are sorted by name (BINARY): merge them. */
		uint32_t i = 0, j = 0;
		while (i < tt.row_count && j < rt.row_count) {
			int cmp = wh_value_cmp(&tt.cells[i], &rt.cells[j]);
			if (cmp == 0)
				compare_table(c, f, cell_text(&rt, j, 0));
			i += cmp <= 0;
			j += cmp >= 0;
		}
	}
	oracle__result_free(&tt);

	struct oracle__result idx = { 0 };
	if (rt.row_count > 0 &&
	    ref_query(c,
		      "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' ORDER BY name",
		      NULL, &idx) == SQLITE_DONE) {
		for (uint32_t k = 0; k < idx.row_count; k++) {
			const char *name = cell_text(&idx, k, 0);
			const char *table = cell_text(&idx, k, 1);
			if (name != NULL && table != NULL)
				compare_index(c, f, name, table);
		}
	}
	oracle__result_free(&idx);
	oracle__result_free(&rt);
	return 0;
}

static bool value_true(const struct wh_sqlapi *api, sqlite3_stmt *st)
{
	switch (api->column_type(st, 0)) {
	case SQLITE_INTEGER:
		return api->column_int64(st, 0) != 0;
	case SQLITE_NULL:
		return false;
	default:
		return api->column_double(st, 0) != 0.0;
	}
}

/* How the invariant sql fails on db (a connection of api's library):
 * "it returned 0", "it returned no row", "it failed: MESSAGE"; NULL when
 * it holds. Owned by the caller. */
static char *invariant_failure(const struct wh_sqlapi *api, sqlite3 *db, const char *sql)
{
	struct oracle__buf b = { 0 };
	sqlite3_stmt *st = NULL;
	int rc = api->prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && st != NULL)
		rc = api->step(st);
	if (rc == SQLITE_ROW && value_true(api, st)) {
		api->finalize(st);
		return NULL;
	}
	if (rc == SQLITE_ROW) {
		struct oracle__result one = { 0 };
		oracle__result_add_row_with(&one, api, st);
		oracle__buf_printf(&b, "it returned ");
		oracle__buf_value(&b, &one.cells[0]);
		oracle__result_free(&one);
	} else if (rc == SQLITE_DONE || st == NULL) {
		oracle__buf_printf(&b, "it returned no row");
	} else {
		oracle__buf_printf(&b, "it failed: %s", api->errmsg(db));
	}
	api->finalize(st);
	return oracle__buf_take(&b);
}

/* Each invariant on the reference at its final position (with the final
 * comparison, so under the plan that comparison belongs to). */
static void ref_invariants(struct oracle__ctx *c, struct oracle__final *f)
{
	uint32_t n = c->cfg->invariant_count;
	f->ref_invariants = wh_calloc(n ? n : 1, sizeof *f->ref_invariants);
	f->ref_invariant_count = n;
	for (uint32_t k = 0; k < n; k++)
		f->ref_invariants[k] =
			invariant_failure(&wh_sqlapi_linked, c->ref.db, c->cfg->invariants[k]);
}

/* The invariant in the idiom `SELECT count(*) = 0 FROM rest`: rest (the
 * rows it counts), else NULL. Case and blanks as SQL allows. */
static const char *counted_rows(const char *sql)
{
	static const char *const words[] = {"select", "count", "(", "*", ")", "=", "0", "from"};
	const char *p = sql;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		size_t n = strlen(words[i]);
		if (strncasecmp(p, words[i], n) != 0)
			return NULL;
		p += n;
	}
	return *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ? p : NULL;
}

/* Up to FINAL_SHOWN of the rows an invariant in the count idiom counts
 * on the target, appended to b. */
static void show_counted_rows(struct oracle__ctx *c, struct oracle__buf *b, const char *sql)
{
	const char *rest = counted_rows(sql);
	if (rest == NULL)
		return;
	size_t n = strlen(rest);
	while (n > 0 && (rest[n - 1] == ';' || rest[n - 1] == ' ' || rest[n - 1] == '\n'))
		n--;
	struct oracle__buf q = { 0 };
	oracle__buf_printf(&q, "SELECT * FROM %.*s LIMIT %d", (int)n, rest, FINAL_SHOWN + 1);
	char *rows_sql = oracle__buf_take(&q);
	struct oracle__result r = { 0 };
	if (target_query(c, rows_sql, NULL, &r) == SQLITE_DONE && r.row_count > 0) {
		oracle__buf_printf(b, "; rows it counts%s: ",
				   r.row_count > FINAL_SHOWN ? " (the first ones)" : "");
		for (uint32_t k = 0; k < r.row_count && k < FINAL_SHOWN; k++) {
			if (k > 0)
				oracle__buf_printf(b, ", ");
			oracle__buf_row(b, r.cells + (uint64_t)k * r.col_count, r.col_count);
		}
	}
	oracle__result_free(&r);
	free(rows_sql);
}

/* history_ok: the check of the history found nothing (every read
 * matched a serial order, the final states agree), so the reference ran
 * the values a serial execution computes: an invariant it fails too is
 * the workload's. Otherwise the reference replays values computed from
 * reads that went wrong, and its failing says nothing of the workload. */
static void check_invariant(struct oracle__ctx *c, uint32_t k, const struct oracle__final *f,
			    bool history_ok)
{
	const char *sql = c->cfg->invariants[k];
	char *why = invariant_failure(c->tapi, c->target, sql);
	if (why == NULL)
		return;
	const char *ref_why = f != NULL && k < f->ref_invariant_count ? f->ref_invariants[k] : NULL;
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "invariant %u `%s` is false on the target: %s", k, sql, why);
	show_counted_rows(c, &b, sql);
	bool workload = ref_why != NULL && history_ok;
	if (workload)
		oracle__buf_printf(&b, "; on the serial reference too (%s), and every read of the run matched a serial order: it does not hold for a serial execution of the committed transactions, so the workload is the likely cause, not the database",
				   ref_why);
	else if (ref_why != NULL)
		oracle__buf_printf(&b, "; on the serial reference too (%s), which replays values computed from reads that went wrong (the other violations)",
				   ref_why);
	else if (f != NULL && f->ref_invariants != NULL)
		oracle__buf_printf(&b, "; the serial reference holds it");
	oracle__report_add(c, workload ? "reference_invariant" : "invariant", oracle__buf_take(&b),
			   NULL, 0);
	free(why);
}

void oracle__target_checks(struct oracle__ctx *c, const struct oracle__final *f)
{
	bool history_ok = c->report->violation_count == 0 && c->dropped == 0;
	WH_ASSERT(c->target != NULL);
	struct oracle__result r = { 0 };
	struct oracle__buf b = { 0 };

	int rc = target_query(c, "PRAGMA integrity_check", NULL, &r);
	bool ok = rc == SQLITE_DONE && r.row_count == 1 &&
		  cell_text(&r, 0, 0) != NULL &&
		  strcmp(cell_text(&r, 0, 0), "ok") == 0;
	if (!ok) {
		oracle__buf_printf(&b, "PRAGMA integrity_check on the target: ");
		if (rc != SQLITE_DONE)
			oracle__buf_printf(&b, "failed: %s",
					   c->tapi->errmsg(c->target));
		for (uint32_t k = 0; rc == SQLITE_DONE && k < r.row_count &&
				     k < FINAL_SHOWN;
		     k++) {
			const char *msg = cell_text(&r, k, 0);
			oracle__buf_printf(&b, "%s%s", k ? "; " : "",
					   msg ? msg : "?");
		}
		if (rc == SQLITE_DONE && r.row_count > FINAL_SHOWN)
			oracle__buf_printf(&b, "; %u messages in all", r.row_count);
		oracle__report_add(c, "integrity_check", oracle__buf_take(&b),
				   NULL, 0);
	}

	rc = target_query(c, "PRAGMA foreign_key_check", NULL, &r);
	if (rc != SQLITE_DONE || r.row_count > 0) {
		oracle__buf_printf(&b, "PRAGMA foreign_key_check on the target: ");
		if (rc != SQLITE_DONE)
			oracle__buf_printf(&b, "failed: %s",
					   c->tapi->errmsg(c->target));
		else
			oracle__buf_printf(&b, "%u dangling references (table, rowid, parent, fkid): ",
					   r.row_count);
		for (uint32_t k = 0; rc == SQLITE_DONE && k < r.row_count &&
				     k < FINAL_SHOWN;
		     k++) {
			if (k > 0)
				oracle__buf_printf(&b, ", ");
			oracle__buf_row(&b, r.cells + (uint64_t)k * r.col_count,
					r.col_count);
		}
		oracle__report_add(c, "foreign_key_check", oracle__buf_take(&b),
				   NULL, 0);
	}
	oracle__result_free(&r);
	oracle__buf_free(&b);

	for (uint32_t k = 0; k < c->cfg->invariant_count; k++)
		check_invariant(c, k, f, history_ok);
}
