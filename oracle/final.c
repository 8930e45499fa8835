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
 * Target checks (oracle__target_checks): PRAGMA integrity_check must give
 * exactly one row 'ok'; PRAGMA foreign_key_check no row; every invariant's
 * first column of its first row must be true (non-zero, SQLite's notion:
 * NULL and text that is not a non-zero number are false).
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
	memset(f, 0, sizeof *f);
}

/* Runs sql (with an optional text parameter) and captures every row.
 * Returns the primary rc (SQLITE_DONE on success). */
static int query_all(sqlite3 *db, const char *sql, const char *param,
		     struct oracle__result *out)
{
	oracle__result_reset(out);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		out->rc = rc & 0xff;
		return out->rc;
	}
	if (param != NULL)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		oracle__result_add_row(out, st);
	out->col_count = (uint32_t)sqlite3_column_count(st);
	sqlite3_finalize(st);
	out->rc = rc & 0xff;
	return out->rc;
}

static const char *cell_text(const struct oracle__result *r, uint32_t row,
			     uint32_t col)
{
	const struct wh_value *v = &r->cells[(uint64_t)row * r->col_count + col];
	return v->type == SQLITE_TEXT ? (const char *)v->p : NULL;
}

static void unreadable(struct oracle__final *f, const char *side,
		       const char *what, sqlite3 *db)
{
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "cannot read %s on the %s: %s", what, side,
			   sqlite3_errmsg(db));
	text_add(f, oracle__buf_take(&b));
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

static void row_track(struct oracle__final *f, const char *table,
		      int64_t rowid, sqlite3_stmt *tgt, sqlite3_stmt *ref)
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
		oracle__result_add_row(&d->target, tgt);
	if (ref != NULL)
		oracle__result_add_row(&d->ref, ref);
}

static bool stmt_row_equal(sqlite3_stmt *a, sqlite3_stmt *b)
{
	int n = sqlite3_column_count(a);
	if (n != sqlite3_column_count(b))
		return false;
	for (int k = 0; k < n; k++) {
		int type = sqlite3_column_type(a, k);
		if (type != sqlite3_column_type(b, k))
			return false;
		switch (type) {
		case SQLITE_INTEGER:
			if (sqlite3_column_int64(a, k) != sqlite3_column_int64(b, k))
				return false;
			break;
		case SQLITE_FLOAT:
			if (sqlite3_column_double(a, k) != sqlite3_column_double(b, k))
				return false;
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB: {
			const void *pa = sqlite3_column_blob(a, k);
			const void *pb = sqlite3_column_blob(b, k);
			int na = sqlite3_column_bytes(a, k);
			int nb = sqlite3_column_bytes(b, k);
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
	sqlite3_stmt *tgt = NULL, *ref = NULL;
	if (sqlite3_prepare_v2(c->target, sql, -1, &tgt, NULL) != SQLITE_OK) {
		unreadable(f, "target", table, c->target);
		goto out_free_sql;
	}
	if (sqlite3_prepare_v2(c->ref.db, sql, -1, &ref, NULL) != SQLITE_OK) {
		unreadable(f, "reference", table, c->ref.db);
		goto out_finalize;
	}
	int rt = sqlite3_step(tgt), rr = sqlite3_step(ref);
	uint64_t diffs = 0, untracked = 0;
	while (rt == SQLITE_ROW || rr == SQLITE_ROW) {
		int64_t kt = rt == SQLITE_ROW ? sqlite3_column_int64(tgt, 0) : 0;
		int64_t kr = rr == SQLITE_ROW ? sqlite3_column_int64(ref, 0) : 0;
		int cmp = rt != SQLITE_ROW ? 1 : rr != SQLITE_ROW ? -1
					   : (kt > kr) - (kt < kr);
		if (cmp < 0) {
			diffs++;
			untracked += f->row_count == FINAL_ROWS_TRACKED;
			row_track(f, table, kt, tgt, NULL);
			rt = sqlite3_step(tgt);
		} else if (cmp > 0) {
			diffs++;
			untracked += f->row_count == FINAL_ROWS_TRACKED;
			row_track(f, table, kr, NULL, ref);
			rr = sqlite3_step(ref);
		} else {
			if (!stmt_row_equal(tgt, ref)) {
				diffs++;
				untracked += f->row_count == FINAL_ROWS_TRACKED;
				row_track(f, table, kt, tgt, ref);
			}
			rt = sqlite3_step(tgt);
			rr = sqlite3_step(ref);
		}
	}
	f->diff_total += diffs - untracked;
	if (rt != SQLITE_DONE)
		unreadable(f, "target", table, c->target);
	if (rr != SQLITE_DONE)
		unreadable(f, "reference", table, c->ref.db);
	if (untracked > 0) {
		oracle__buf_printf(&b, "table %s: %llu more differing rows not analysed",
				   table, (unsigned long long)untracked);
		text_add(f, oracle__buf_take(&b));
		f->diff_total += untracked - 1;
	}
out_finalize:
	sqlite3_finalize(ref);
	sqlite3_finalize(tgt);
out_free_sql:
	free(sql);
}

/* Reads sql whole on both sides and compares as sorted multisets. */
static void compare_multiset(struct oracle__ctx *c, struct oracle__final *f,
			     const char *sql, const char *what)
{
	struct oracle__result tgt = { 0 }, ref = { 0 };
	if (query_all(c->target, sql, NULL, &tgt) != SQLITE_DONE) {
		unreadable(f, "target", what, c->target);
		goto out_free;
	}
	if (query_all(c->ref.db, sql, NULL, &ref) != SQLITE_DONE) {
		unreadable(f, "reference", what, c->ref.db);
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
	int rc = query_all(c->ref.db,
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
	if (query_all(c->ref.db,
		      "SELECT name FROM pragma_index_info(?1) ORDER BY seqno",
		      idx, &cols) != SQLITE_DONE ||
	    cols.row_count == 0)
		goto out_free;
	int rc = query_all(c->ref.db,
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

int oracle__final_compare(struct oracle__ctx *c, struct oracle__final *f)
{
	WH_ASSERT(c->target != NULL);
	WH_ASSERT(c->ref.db != NULL);
	memset(f, 0, sizeof *f);

	/* Schema first: tables are compared only where both sides have
	 * them, so a missing table shows up here. */
	compare_multiset(c, f,
			 "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE substr(name, 1, 7) <> 'sqlite_'",
			 "schema");

	struct oracle__result tt = { 0 }, rt = { 0 };
	static const char tables_sql[] =
		"SELECT name FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name";
	if (query_all(c->target, tables_sql, NULL, &tt) != SQLITE_DONE)
		unreadable(f, "target", "sqlite_schema", c->target);
	else if (query_all(c->ref.db, tables_sql, NULL, &rt) != SQLITE_DONE)
		unreadable(f, "reference", "sqlite_schema", c->ref.db);
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
	    query_all(c->ref.db,
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

static bool value_true(sqlite3_stmt *st)
{
	switch (sqlite3_column_type(st, 0)) {
	case SQLITE_INTEGER:
		return sqlite3_column_int64(st, 0) != 0;
	case SQLITE_NULL:
		return false;
	default:
		return sqlite3_column_double(st, 0) != 0.0;
	}
}

static void check_invariant(struct oracle__ctx *c, uint32_t k)
{
	const char *sql = c->cfg->invariants[k];
	struct oracle__buf b = { 0 };
	sqlite3_stmt *st = NULL;
	oracle__buf_printf(&b, "invariant %u `%s` ", k, sql);
	int rc = sqlite3_prepare_v2(c->target, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && st != NULL)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && value_true(st))
		goto out_finalize;
	if (rc == SQLITE_ROW) {
		struct oracle__result one = { 0 };
		oracle__result_add_row(&one, st);
		oracle__buf_printf(&b, "is false on the target: it returned ");
		oracle__buf_value(&b, &one.cells[0]);
		oracle__result_free(&one);
	} else if (rc == SQLITE_DONE || st == NULL) {
		oracle__buf_printf(&b, "returned no row on the target");
	} else {
		oracle__buf_printf(&b, "failed on the target: %s",
				   sqlite3_errmsg(c->target));
	}
	oracle__report_add(c, "invariant", oracle__buf_take(&b), NULL, 0);
out_finalize:
	oracle__buf_free(&b);
	sqlite3_finalize(st);
}

void oracle__target_checks(struct oracle__ctx *c)
{
	WH_ASSERT(c->target != NULL);
	struct oracle__result r = { 0 };
	struct oracle__buf b = { 0 };

	int rc = query_all(c->target, "PRAGMA integrity_check", NULL, &r);
	bool ok = rc == SQLITE_DONE && r.row_count == 1 &&
		  cell_text(&r, 0, 0) != NULL &&
		  strcmp(cell_text(&r, 0, 0), "ok") == 0;
	if (!ok) {
		oracle__buf_printf(&b, "PRAGMA integrity_check on the target: ");
		if (rc != SQLITE_DONE)
			oracle__buf_printf(&b, "failed: %s",
					   sqlite3_errmsg(c->target));
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

	rc = query_all(c->target, "PRAGMA foreign_key_check", NULL, &r);
	if (rc != SQLITE_DONE || r.row_count > 0) {
		oracle__buf_printf(&b, "PRAGMA foreign_key_check on the target: ");
		if (rc != SQLITE_DONE)
			oracle__buf_printf(&b, "failed: %s",
					   sqlite3_errmsg(c->target));
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
		check_invariant(c, k);
}
