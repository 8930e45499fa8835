/*
 * test_shrink_setup.c - the shrinker's collapsed prefix (whopper/
 * shrink_setup.c): the setup it writes for a cut rebuilds exactly the
 * state that the run's setup plus the cut's transactions make, for the
 * schema features a workload may use (AUTOINCREMENT, rowid tables whose
 * rowids have gaps, generated columns, WITHOUT ROWID, indexes, views,
 * triggers that must not fire on the dump's own INSERTs, user_version);
 * a statement that failed in the run is not replayed; an indeterminate
 * transaction's uncertain statement is; a cut whose state cannot be
 * rebuilt gets no setup.
 *
 * shrink_setup.c lives with the command-line sources, which the test
 * binaries do not link, so it is compiled into this test directly.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shrink_setup.c"

static const char base[] =
	"CREATE TABLE a(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);\n"
	"CREATE TABLE b(x, y, z AS (x + 1));\n"
	"CREATE TABLE c(k TEXT PRIMARY KEY, v) WITHOUT ROWID;\n"
	"CREATE INDEX b_x ON b(x);\n"
	"CREATE VIEW vb AS SELECT x FROM b;\n"
	"CREATE TRIGGER ta AFTER INSERT ON a BEGIN INSERT INTO c VALUES ('t' || new.id, new.v); END;\n";

/* Every row of the database's tables (and the trigger's effect when one
 * row is added to a), as one text: what two databases must share. */
static char *content(sqlite3 *db)
{
	static const char *const q[] = {
		"SELECT group_concat(quote(id) || ':' || quote(v), ',') FROM a",
		"SELECT group_concat(quote(rowid) || ':' || quote(x) || ':' || quote(y) || ':' || quote(z), ',') FROM b",
		"SELECT group_concat(quote(k) || ':' || quote(v), ',') FROM c",
		"SELECT group_concat(name || ':' || seq, ',') FROM sqlite_sequence",
		"SELECT group_concat(type || ':' || name, ',') FROM (SELECT * FROM sqlite_schema ORDER BY name)",
		"PRAGMA user_version",
		"SELECT count(*) FROM vb",
	};
	size_t cap = 4096, len = 0;
	char *out = wh_malloc(cap);
	out[0] = '\0';
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(db, q[i], -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		const char *t = (const char *)sqlite3_column_text(st, 0);
		int n = snprintf(out + len, cap - len, "%s|", t ? t : "NULL");
		assert_true(n > 0 && (size_t)n < cap - len);
		len += (size_t)n;
		sqlite3_finalize(st);
	}
	return out;
}

static sqlite3 *mem_db(void)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 NULL),
			 SQLITE_OK);
	return db;
}

static void stmt(struct history *h, struct hist_txn *t, const char *sql, const char *text,
		 int rc)
{
	struct wh_value p = {.type = SQLITE_TEXT};
	if (text != NULL) {
		p.p = (unsigned char *)text; /* copied by hist_stmt_add */
		p.n = (uint32_t)strlen(text);
	}
	hist_stmt_add(h, t, sql, NULL, text ? &p : NULL, text ? 1 : 0, rc, 0, 0, 0, NULL, false);
}

/* A run's history: T0 commits (inserts with a gap in b's rowids, a
 * failed statement, user_version), T1 aborts, T2 is indeterminate with an
 * uncertain statement. */
static void make_history(struct history *h)
{
	hist_init(h);
	hist_set_setup(h, base);
	struct hist_txn *t0 = hist_txn_begin(h, 0, "t0", HIST_BEGIN_DEFERRED, 0);
	stmt(h, t0, "INSERT INTO a(v) VALUES (?1)", "one", SQLITE_DONE);
	stmt(h, t0, "INSERT INTO a(v) VALUES (?1)", "two", SQLITE_DONE);
	stmt(h, t0, "DELETE FROM a WHERE v = 'two'", NULL, SQLITE_DONE);
	stmt(h, t0, "INSERT INTO b(x, y) VALUES (1, X'00ff'), (3, 4.5), (5, NULL)", NULL,
	     SQLITE_DONE);
	stmt(h, t0, "DELETE FROM b WHERE x = 3", NULL, SQLITE_DONE);
	/* failed in the run: its changes were undone, so not replayed */
	stmt(h, t0, "INSERT INTO a(v) VALUES ('failed')", NULL, SQLITE_CONSTRAINT);
	stmt(h, t0, "PRAGMA user_version = 7", NULL, SQLITE_DONE);
	hist_txn_end(h, t0, HIST_COMMITTED, SQLITE_OK, 1);
	struct hist_txn *t1 = hist_txn_begin(h, 1, "t1", HIST_BEGIN_DEFERRED, 2);
	stmt(h, t1, "INSERT INTO a(v) VALUES ('aborted')", NULL, SQLITE_DONE);
	hist_txn_end(h, t1, HIST_ABORTED, SQLITE_BUSY, 3);
	struct hist_txn *t2 = hist_txn_begin(h, 1, "t2", HIST_BEGIN_DEFERRED, 4);
	stmt(h, t2, "INSERT INTO a(v) VALUES ('maybe')", NULL, SQLITE_IOERR_WRITE);
	t2->stmts[0].flags |= HIST_STMT_UNCERTAIN;
	hist_txn_end(h, t2, HIST_INDETERMINATE, SQLITE_IOERR_WRITE, 5);
}

/* The state the setup of `apply` must rebuild, made directly. */
static char *expected(const char *extra)
{
	sqlite3 *db = mem_db();
	assert_int_equal(sqlite3_exec(db, base, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, extra, NULL, NULL, NULL), SQLITE_OK);
	char *c = content(db);
	sqlite3_close(db);
	return c;
}

static char *rebuilt(const char *setup)
{
	sqlite3 *db = mem_db();
	assert_int_equal(sqlite3_exec(db, setup, NULL, NULL, NULL), SQLITE_OK);
	char *c = content(db);
	sqlite3_close(db);
	return c;
}

static const char t0_sql[] =
	"INSERT INTO a(v) VALUES ('one'); INSERT INTO a(v) VALUES ('two');"
	"DELETE FROM a WHERE v = 'two';"
	"INSERT INTO b(x, y) VALUES (1, X'00ff'), (3, 4.5), (5, NULL);"
	"DELETE FROM b WHERE x = 3; PRAGMA user_version = 7;";

static void test_dump_rebuilds_the_state(void **state)
{
	(void)state;
	struct history h;
	make_history(&h);
	const uint32_t only_t0[] = {0};
	const uint32_t t0_t2[] = {0, 2};
	struct shrink_cut cuts[] = {
		{.apply = only_t0, .apply_count = 1},
		{.apply = t0_t2, .apply_count = 2},
	};
	shrink_setup_build(h.setup_sql, NULL, 0, &h, cuts, 2);
	assert_non_null(cuts[0].setup);
	assert_non_null(cuts[1].setup);

	char *want = expected(t0_sql);
	char *got = rebuilt(cuts[0].setup);
	assert_string_equal(got, want);
	/* The trigger did not fire on the dump's INSERT into a: c holds
	 * only what the run's own inserts made it hold. */
	assert_non_null(strstr(got, "'t1':'one'"));
	free(want);
	free(got);

	char *extra = wh_malloc(sizeof t0_sql + 64);
	snprintf(extra, sizeof t0_sql + 64, "%s INSERT INTO a(v) VALUES ('maybe');", t0_sql);
	want = expected(extra);
	got = rebuilt(cuts[1].setup);
	assert_string_equal(got, want);
	assert_non_null(strstr(got, "'maybe'"));
	assert_null(strstr(got, "'aborted'"));
	assert_null(strstr(got, "'failed'"));
	free(extra);
	free(want);
	free(got);
	for (size_t i = 0; i < 2; i++)
		free(cuts[i].setup);
	hist_free(&h);
}

/* A statement that succeeded in the run but fails serially: the state
 * cannot be rebuilt, so the cut gets no setup rather than a wrong one. */
static void test_unrebuildable_cut_has_no_setup(void **state)
{
	(void)state;
	struct history h;
	hist_init(&h);
	hist_set_setup(&h, base);
	struct hist_txn *t = hist_txn_begin(&h, 0, "t", HIST_BEGIN_DEFERRED, 0);
	stmt(&h, t, "INSERT INTO no_such_table VALUES (1)", NULL, SQLITE_DONE);
	hist_txn_end(&h, t, HIST_COMMITTED, SQLITE_OK, 1);
	const uint32_t ids[] = {0};
	struct shrink_cut cut = {.apply = ids, .apply_count = 1};
	shrink_setup_build(h.setup_sql, NULL, 0, &h, &cut, 1);
	assert_null(cut.setup);
	hist_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_rebuilds_the_state),
		cmocka_unit_test(test_unrebuildable_cut_has_no_setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
