/*
 * shrink_setup.c - the shrinker's collapsed prefix: the state that the
 * first committed transactions of a run built, written as setup SQL.
 *
 * Most of a failing run is history that only builds up state; the race
 * is in the last few transactions. The shrinker (shrink.c, the prefix
 * pass) cuts every transaction that ended before some point and runs the
 * rest from a setup that recreates what those transactions committed.
 * This file computes that setup: on a private in-memory database of the
 * linked SQLite it runs the run's setup, then the statements of the
 * transactions the cut folds in (shrink.c chooses them: the committed
 * ones, and indeterminate ones whose commit point the driver saw pass),
 * in the order their commits became visible, with their bound values,
 * and at each cut writes the database out as plain SQL (a dump): the
 * CREATE TABLE statements, one INSERT per table with a row per line,
 * then indexes, triggers and views, then the sqlite_sequence and
 * sqlite_stat1 contents and the user_version.
 *
 * The serial replay is the order the oracle's reference uses, so the
 * dump is the state the oracle would have after those commits. The
 * shrinker treats it as a guess like every other edit: the candidate
 * runs from it, and is kept only if it still fails the same way.
 *
 * Invariants: nothing here touches the simulated VFS, the run's PRNG
 * streams or a clock; the output is a function of the history alone
 * (rows are read in rowid or primary-key order), so the same run gives
 * the same setup byte for byte. A cut whose state cannot be rebuilt (a
 * statement that succeeded in the run fails serially, a virtual table, a
 * dump over SHRINK_SETUP_MAX bytes) gets NULL, never a partial setup.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "shrink_int.h"

#define SHRINK_SETUP_MAX (4u << 20) /* bytes of one setup */

/* Runs one recorded statement with its bound values; true when it ends
 * as it did in the run (it succeeded there: only those are replayed). */
static bool apply_stmt(sqlite3 *db, const struct hist_stmt *s)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, s->sql, -1, &st, NULL) != SQLITE_OK || st == NULL) {
		sqlite3_finalize(st);
		return false;
	}
	bool ok = true;
	for (uint32_t i = 0; i < s->param_count && ok; i++)
		ok = wh_value_bind(st, (int)i + 1, &s->params[i]) == SQLITE_OK;
	int rc = SQLITE_ROW;
	while (ok && rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return ok && rc == SQLITE_DONE;
}

/* A committed transaction's statements, as one serial transaction. */
static bool apply_txn(sqlite3 *db, const struct hist_txn *t)
{
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return false;
	bool ok = true;
	for (uint32_t i = 0; i < t->stmt_count && ok; i++) {
		const struct hist_stmt *s = &t->stmts[i];
		/* A failed statement undid its own changes, unless it was cut
		 * by an I/O error in a commit that may have happened (then
		 * it is taken as done, as the oracle does when it settles the
		 * transaction as committed); a NOREPLAY one changes nothing
		 * the oracle compares (history.h). */
		bool uncertain = t->outcome == HIST_INDETERMINATE &&
				 (s->flags & HIST_STMT_UNCERTAIN) != 0;
		if ((s->rc != SQLITE_DONE && !uncertain) || (s->flags & HIST_STMT_NOREPLAY) != 0)
			continue;
		ok = apply_stmt(db, s);
	}
	if (sqlite3_exec(db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		ok = false;
	return ok;
}

/* Rows of one query, each row's first column as text, in order. */
typedef bool (*row_fn)(void *ctx, sqlite3_stmt *st);

static bool each_row(sqlite3 *db, const char *sql, row_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return false;
	}
	int rc;
	bool ok = true;
	while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ok = fn(ctx, st);
	if (ok && rc != SQLITE_DONE)
		ok = false;
	sqlite3_finalize(st);
	return ok;
}

struct dump {
	sqlite3 *db;
	sqlite3_str *out;
	bool failed;
};

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

/* Whether the table keeps its rowid apart from its columns: a rowid
 * table without an INTEGER PRIMARY KEY alias, and no column that
 * _rowid_ would name instead. Those rowids are written out too, since
 * later statements and the oracle's digests may see them. */
static bool keeps_rowid(sqlite3 *db, const char *table)
{
	char *sql = sqlite3_mprintf(
		"SELECT (SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = %Q) = 0"
		" AND ((SELECT count(*) FROM pragma_table_info(%Q) WHERE pk > 0) != 1"
		"  OR (SELECT upper(type) FROM pragma_table_info(%Q) WHERE pk > 0) != 'INTEGER'),"
		" (SELECT count(*) FROM pragma_table_info(%Q)"
		"  WHERE lower(name) IN ('rowid', '_rowid_', 'oid'))",
		table, table, table, table);
	sqlite3_stmt *st = NULL;
	bool keep = false;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		keep = sqlite3_column_int(st, 0) != 0 && sqlite3_column_int(st, 1) == 0;
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return keep;
}

struct cols {
	sqlite3_str *names;  /* "a", "b" */
	sqlite3_str *quoted; /* quote("a") || ', ' || quote("b") */
	int count;
};

static bool add_col(void *ctx, sqlite3_stmt *st)
{
	struct cols *c = ctx;
	const char *name = col_text(st, 0);
	sqlite3_str_appendf(c->names, "%s\"%w\"", c->count ? ", " : "", name);
	sqlite3_str_appendf(c->quoted, "%squote(\"%w\")", c->count ? " || ', ' || " : "", name);
	c->count++;
	return true;
}

struct rows {
	struct dump *d;
	const char *head; /* INSERT INTO ... VALUES */
	int n;
};

static bool add_row(void *ctx, sqlite3_stmt *st)
{
	struct rows *r = ctx;
	sqlite3_str_appendf(r->d->out, "%s\n  (%s)", r->n ? "," : r->head, col_text(st, 0));
	r->n++;
	return sqlite3_str_length(r->d->out) < (int)SHRINK_SETUP_MAX;
}

/* The table's rows as one INSERT, a row per line. Generated and hidden
 * columns are left out (they cannot be written). */
static bool dump_rows(struct dump *d, const char *table)
{
	struct cols c = {.names = sqlite3_str_new(d->db), .quoted = sqlite3_str_new(d->db)};
	bool rowid = keeps_rowid(d->db, table);
	if (rowid) {
		sqlite3_str_appendall(c.names, "_rowid_");
		sqlite3_str_appendall(c.quoted, "quote(_rowid_)");
		c.count++;
	}
	char *q = sqlite3_mprintf("SELECT name FROM pragma_table_xinfo(%Q) WHERE hidden = 0 ORDER BY cid",
				  table);
	bool ok = each_row(d->db, q, add_col, &c);
	sqlite3_free(q);
	char *names = sqlite3_str_finish(c.names);
	char *quoted = sqlite3_str_finish(c.quoted);
	if (ok && c.count > 0 && names != NULL && quoted != NULL) {
		char *head = sqlite3_mprintf("INSERT INTO \"%w\"(%s) VALUES", table, names);
		char *sel = sqlite3_mprintf("SELECT %s FROM \"%w\"%s", quoted, table,
					    rowid ? " ORDER BY _rowid_" : "");
		struct rows r = {.d = d, .head = head};
		ok = head != NULL && sel != NULL && each_row(d->db, sel, add_row, &r);
		if (r.n > 0)
			sqlite3_str_appendall(d->out, ";\n");
		sqlite3_free(head);
		sqlite3_free(sel);
	}
	sqlite3_free(names);
	sqlite3_free(quoted);
	return ok;
}

/* Phase of the schema walk: tables with their rows, then what depends
 * on them (indexes built once, triggers that must not fire on the
 * dump's own INSERTs, views). */
struct schema_walk {
	struct dump *d;
	bool tables;
};

static bool add_object(void *ctx, sqlite3_stmt *st)
{
	struct schema_walk *w = ctx;
	const char *type = col_text(st, 0);
	const char *name = col_text(st, 1);
	const char *sql = col_text(st, 2);
	bool is_table = strcmp(type, "table") == 0;
	if (is_table != w->tables || strncmp(name, "sqlite_", 7) == 0)
		return true;
	/* A virtual table's data lives in its shadow tables, which this
	 * walk would copy twice: not rebuilt. */
	if (is_table && sqlite3_strnicmp(sql, "CREATE VIRTUAL", 14) == 0)
		return false;
	sqlite3_str_appendf(w->d->out, "%s;\n", sql);
	return !is_table || dump_rows(w->d, name);
}

static bool add_sequence(void *ctx, sqlite3_stmt *st)
{
	struct dump *d = ctx;
	sqlite3_str_appendf(d->out, "INSERT INTO sqlite_sequence(name, seq) VALUES(%Q, %lld);\n",
			    col_text(st, 0), sqlite3_column_int64(st, 1));
	return true;
}

static bool add_stat(void *ctx, sqlite3_stmt *st)
{
	struct dump *d = ctx;
	const char *idx = (const char *)sqlite3_column_text(st, 1);
	sqlite3_str_appendf(d->out, "INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES(%Q, %Q, %Q);\n",
			    col_text(st, 0), idx, col_text(st, 2));
	return true;
}

static bool has_table(sqlite3 *db, const char *name)
{
	char *q = sqlite3_mprintf("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = %Q",
				  name);
	sqlite3_stmt *st = NULL;
	bool yes = sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK &&
		   sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	sqlite3_free(q);
	return yes;
}

/* The database as setup SQL (owned by the caller), or NULL. */
static char *dump_db(sqlite3 *db)
{
	struct dump d = {.db = db, .out = sqlite3_str_new(db)};
	static const char objects[] =
		"SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid";
	struct schema_walk tables = {.d = &d, .tables = true};
	struct schema_walk rest = {.d = &d, .tables = false};
	bool ok = each_row(db, objects, add_object, &tables) &&
		  each_row(db, objects, add_object, &rest);
	if (ok && has_table(db, "sqlite_sequence")) {
		sqlite3_str_appendall(d.out, "DELETE FROM sqlite_sequence;\n");
		ok = each_row(db, "SELECT name, seq FROM sqlite_sequence ORDER BY name", add_sequence,
			      &d);
	}
	if (ok && has_table(db, "sqlite_stat1")) {
		/* ANALYZE of the schema table alone creates sqlite_stat1
		 * without computing statistics; the recorded ones follow. */
		sqlite3_str_appendall(d.out, "ANALYZE sqlite_schema;\nDELETE FROM sqlite_stat1;\n");
		ok = each_row(db, "SELECT tbl, idx, stat FROM sqlite_stat1 ORDER BY tbl, idx",
			      add_stat, &d);
	}
	sqlite3_stmt *st = NULL;
	if (ok && sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) != 0)
		sqlite3_str_appendf(d.out, "PRAGMA user_version=%lld;\n", sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	ok = ok && sqlite3_str_errcode(d.out) == SQLITE_OK &&
	     sqlite3_str_length(d.out) < (int)SHRINK_SETUP_MAX;
	char *text = sqlite3_str_finish(d.out);
	char *copy = ok && text != NULL ? wh_strdup(text) : NULL;
	sqlite3_free(text);
	return copy;
}

/* A fresh database holding base_setup, after the pragmas; NULL when the
 * setup fails. */
static sqlite3 *open_base(const char *base_setup, const char *const *pragmas,
			  uint32_t pragma_count)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	/* The run's pragmas first: some change what a statement does
	 * (foreign_keys, recursive_triggers); the rest are harmless here. */
	for (uint32_t i = 0; i < pragma_count; i++) {
		char *q = sqlite3_mprintf("PRAGMA %s", pragmas[i]);
		sqlite3_exec(db, q, NULL, NULL, NULL);
		sqlite3_free(q);
	}
	if (sqlite3_exec(db, base_setup ? base_setup : "", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

void shrink_setup_build(const char *base_setup, const char *const *pragmas,
			uint32_t pragma_count, const struct history *h, struct shrink_cut *cuts,
			uint32_t cut_count)
{
	sqlite3 *db = NULL;
	const struct shrink_cut *prev = NULL;
	for (uint32_t k = 0; k < cut_count; k++) {
		struct shrink_cut *c = &cuts[k];
		c->setup = NULL;
		/* Go on from the previous state when this list extends it. */
		uint32_t from = 0;
		if (db != NULL && prev != NULL && prev->apply_count <= c->apply_count &&
		    memcmp(prev->apply, c->apply, prev->apply_count * sizeof *c->apply) == 0) {
			from = prev->apply_count;
		} else {
			sqlite3_close(db);
			db = open_base(base_setup, pragmas, pragma_count);
		}
		bool ok = db != NULL;
		for (uint32_t i = from; ok && i < c->apply_count; i++) {
			WH_ASSERT(c->apply[i] < h->txn_count);
			ok = apply_txn(db, h->txns[c->apply[i]]);
		}
		if (ok) {
			c->setup = dump_db(db);
			prev = c;
		} else {
			sqlite3_close(db);
			db = NULL;
			prev = NULL;
		}
	}
	sqlite3_close(db);
}

static bool integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
		  sqlite3_step(st) == SQLITE_ROW &&
		  strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0 &&
		  sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	return ok;
}

bool shrink_image_holds(const struct simvfs_image *img, const char *db_name, const char *setup)
{
	/* Unique per process: a name is registered only while this runs. */
	static uint64_t serial;
	char name[48];
	snprintf(name, sizeof name, "whopper-image-%llu", (unsigned long long)++serial);
	struct simvfs_config cfg;
	simvfs_config_default(&cfg);
	struct simvfs *vfs = NULL;
	if (simvfs_create(&vfs, name, &cfg, &simvfs_hooks_still) != SQLITE_OK)
		return false;
	bool ok = simvfs_image_load(vfs, img) == SQLITE_OK;
	sqlite3 *db = NULL;
	ok = ok && sqlite3_open_v2(db_name, &db, SQLITE_OPEN_READWRITE, name) == SQLITE_OK;
	ok = ok && integrity_ok(db);
	char *dump = ok ? dump_db(db) : NULL;
	ok = dump != NULL && strcmp(dump, setup) == 0;
	free(dump);
	sqlite3_close(db);
	simvfs_destroy(vfs);
	return ok;
}
