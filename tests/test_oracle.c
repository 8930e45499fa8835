/*
 * test_oracle.c - conformance tests of the oracle (oracle/oracle.c and its
 * helpers) on hand-built histories; no engine involved.
 *
 * Each test builds a history with the history API over a small schema
 * (given as setup SQL), runs oracle_check and asserts either a clean pass
 * or the exact violation kind with the exact transaction ids. Tests that
 * need a final state write a target database file in a fresh mkdtemp
 * directory under /tmp, removed afterwards. Crash tests record what the
 * target recovered to as the digest_db of an in-memory database built
 * from SQL (crash_to), as the driver does with the recovered file; tests
 * of the visibility order renumber commit_index as the driver does at the
 * end of a run (renumber).
 *
 * A section checks what the reference's long transaction must keep of
 * each transaction's own COMMIT (savepoints left open, deferred foreign
 * keys, statements that must run alone, rollbacks that take the batch
 * with them) and the statement kinds behind it (DROP is no DML, SAVEPOINT
 * is no plain read); planted versions of those bugs fail them.
 *
 * Event order matters: the order of the hist_* calls below is the real-time
 * order the oracle sees, so interleavings are written out call by call.
 * Invariant of the harness: each test owns its history, config, report and
 * temp directory; nothing is shared between tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "history.h"
#include "oracle.h"

static const char KV[] =
	"CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
	"INSERT INTO kv VALUES(1, 0), (2, 0);";

static const char READ1[] = "SELECT v FROM kv WHERE k = ?1";
static const char WRITE1[] = "UPDATE kv SET v = ?2 WHERE k = ?1";

/* ------------------------------------------------------------------ */
/* Harness                                                              */
/* ------------------------------------------------------------------ */

struct fx {
	struct history h;
	struct oracle_config cfg;
	struct oracle_report rep;
	char dir[64];              /* temp directory, or "" */
	char path[128];            /* target database path */
};

static void fx_init(struct fx *f, const char *setup)
{
	memset(f, 0, sizeof *f);
	hist_init(&f->h);
	hist_set_setup(&f->h, setup);
}

/* Writes a target database file holding the result of sql. */
static void fx_target(struct fx *f, const char *sql)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/whopper-oracle-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/target.db", f->dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "target sql: %s\n", err ? err : "?");
	sqlite3_free(err);
	assert_int_equal(rc, SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	f->cfg.target_path = f->path;
}

static void fx_dump(const struct fx *f)
{
	for (uint32_t k = 0; k < f->rep.violation_count; k++) {
		const struct oracle_violation *v = &f->rep.violations[k];
		fprintf(stderr, "  violation %s [", v->kind);
		for (uint32_t j = 0; j < v->txn_count; j++)
			fprintf(stderr, "%sT%u", j ? " " : "", v->txns[j]);
		fprintf(stderr, "]: %s\n", v->detail);
	}
	if (f->rep.note)
		fprintf(stderr, "  note: %s\n", f->rep.note);
}

static void fx_check(struct fx *f)
{
	int rc = oracle_check(&f->h, &f->cfg, &f->rep);
	if (rc != 0 || getenv("ORACLE_TEST_VERBOSE"))
		fx_dump(f);
	assert_int_equal(rc, 0);
}

static void fx_free(struct fx *f)
{
	oracle_report_free(&f->rep);
	hist_free(&f->h);
	if (f->dir[0] != '\0') {
		char p[160];
		const char *suffix[] = { "", "-journal", "-wal", "-shm" };
		for (size_t k = 0; k < 4; k++) {
			snprintf(p, sizeof p, "%s%s", f->path, suffix[k]);
			unlink(p);
		}
		rmdir(f->dir);
	}
}

static void expect_pass(struct fx *f)
{
	if (f->rep.violation_count != 0)
		fx_dump(f);
	assert_int_equal(f->rep.violation_count, 0);
	assert_false(f->rep.gave_up);
}

/* Exactly one violation of kind, naming exactly the given txns (sorted). */
static const struct oracle_violation *expect_kind(struct fx *f, const char *kind,
						  uint32_t txn_count, ...)
{
	const struct oracle_violation *found = NULL;
	uint32_t matches = 0;
	for (uint32_t k = 0; k < f->rep.violation_count; k++) {
		if (strcmp(f->rep.violations[k].kind, kind) == 0) {
			found = &f->rep.violations[k];
			matches++;
		}
	}
	if (matches != 1)
		fx_dump(f);
	assert_int_equal(matches, 1);
	if (found->txn_count != txn_count)
		fx_dump(f);
	assert_int_equal(found->txn_count, txn_count);
	va_list ap;
	va_start(ap, txn_count);
	for (uint32_t j = 0; j < txn_count; j++)
		assert_int_equal(found->txns[j], va_arg(ap, unsigned));
	va_end(ap);
	assert_non_null(found->detail);
	return found;
}

static struct wh_value I(int64_t v)
{
	return (struct wh_value){ .type = SQLITE_INTEGER, .i = v };
}

static struct hist_txn *begin(struct fx *f, int conn)
{
	return hist_txn_begin(&f->h, conn, "t", HIST_BEGIN_DEFERRED, 0);
}

/* SELECT v FROM kv WHERE k = ?1 returning v. */
static void read1(struct fx *f, struct hist_txn *t, int64_t k, int64_t v)
{
	struct wh_value p = I(k), cell = I(v);
	hist_stmt_add(&f->h, t, READ1, "read", &p, 1, SQLITE_DONE, 0, 1, 1,
		      &cell, false);
}

/* UPDATE kv SET v = ?2 WHERE k = ?1, one row changed (or rc). */
static void write1_rc(struct fx *f, struct hist_txn *t, int64_t k, int64_t v,
		      int rc)
{
	struct wh_value p[2] = { I(k), I(v) };
	hist_stmt_add(&f->h, t, WRITE1, "write", p, 2, rc,
		      rc == SQLITE_DONE ? 1 : 0, 0, 0, NULL, false);
}

static void write1(struct fx *f, struct hist_txn *t, int64_t k, int64_t v)
{
	write1_rc(f, t, k, v, SQLITE_DONE);
}

/* A statement without parameters returning integer rows. */
static void rows(struct fx *f, struct hist_txn *t, const char *sql,
		 int64_t changes, uint32_t cols, uint32_t nrows,
		 const int64_t *cells, bool ordered)
{
	struct wh_value v[16];
	assert_true(cols * nrows <= 16);
	for (uint32_t k = 0; k < cols * nrows; k++)
		v[k] = I(cells[k]);
	hist_stmt_add(&f->h, t, sql, NULL, NULL, 0, SQLITE_DONE, changes, cols,
		      nrows, v, ordered);
}

/* A statement without parameters, recorded with rc and changes. */
static void stmt_rc(struct fx *f, struct hist_txn *t, const char *sql, int rc,
		    int64_t changes)
{
	hist_stmt_add(&f->h, t, sql, NULL, NULL, 0, rc, changes, 0, 0, NULL,
		      false);
}

static void commit(struct fx *f, struct hist_txn *t)
{
	hist_txn_commit_start(&f->h, t);
	hist_txn_end(&f->h, t, HIST_COMMITTED, SQLITE_OK, 0);
}

static void rollback(struct fx *f, struct hist_txn *t)
{
	hist_txn_end(&f->h, t, HIST_ABORTED, SQLITE_OK, 0);
}

static void cut(struct fx *f, struct hist_txn *t)
{
	hist_txn_commit_start(&f->h, t);
	hist_txn_end(&f->h, t, HIST_INDETERMINATE, SQLITE_IOERR, 0);
}

/* The write lock of t's COMMIT is released now (as the driver sees it). */
static void visible(struct fx *f, struct hist_txn *t)
{
	t->visible_event = ++f->h.event;
}

static uint64_t vis_key(const struct hist_txn *t)
{
	return t->visible_event ? t->visible_event : t->end_event;
}

/* Renumbers commit_index by visibility, as the driver does at the end of
 * a run (insertion sort: a handful of transactions). */
static void renumber(struct fx *f)
{
	struct hist_txn *v[32];
	uint32_t n = 0;
	for (uint32_t i = 0; i < f->h.txn_count; i++)
		if (f->h.txns[i]->outcome == HIST_COMMITTED)
			v[n++] = f->h.txns[i];
	assert_true(n <= 32);
	for (uint32_t k = 1; k < n; k++)
		for (uint32_t j = k; j > 0 && vis_key(v[j - 1]) > vis_key(v[j]); j--) {
			struct hist_txn *tmp = v[j];
			v[j] = v[j - 1];
			v[j - 1] = tmp;
		}
	for (uint32_t k = 0; k < n; k++)
		v[k]->commit_index = (int64_t)k;
}

/* Digest of a fresh in-memory database holding the result of sql. */
static uint64_t digest_of(const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	uint64_t d = 0;
	assert_int_equal(digest_db(db, &d), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return d;
}

/* Records a crash (or reopen) after which the database holds what sql
 * builds from nothing. */
static void crash_to(struct fx *f, enum hist_crash_kind kind, const char *sql)
{
	uint64_t d = digest_of(sql);
	struct hist_crash *cr = hist_crash_add(&f->h, kind);
	cr->recovered_digest = d;
	cr->recovered_rc = SQLITE_OK;
}

/* Whether the report lists txn among the commits lost as allowed. */
static bool lost_listed(const struct fx *f, uint32_t txn)
{
	for (uint32_t k = 0; k < f->rep.lost_txn_count; k++)
		if (f->rep.lost_txns[k] == txn)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Clean histories                                                      */
/* ------------------------------------------------------------------ */

/* A writer then a reader that sees its write pass, and both are checked. */
/* A statement that finished on the target but not on the reference
 * within the step budget (here a long recursive count, recorded as if it
 * had ended) is stopped there and reported as reference_runaway, naming
 * it: the check ends instead of running for ever. Without a budget the
 * same history passes. */
static void test_reference_step_budget(void **state)
{
	(void)state;
	static const char *const count =
		"WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 300000) "
		"SELECT count(*) FROM r";
	for (int budget = 0; budget < 2; budget++) {
		struct fx f;
		fx_init(&f, KV);
		f.cfg.step_budget = budget ? 10000 : 0;
		struct hist_txn *t = begin(&f, 1);
		struct wh_value cell = I(300000);
		hist_stmt_add(&f.h, t, count, "count", NULL, 0, SQLITE_DONE, 0, 1, 1, &cell,
			      false);
		commit(&f, t);
		fx_check(&f);
		if (!budget) {
			expect_pass(&f);
		} else {
			bool found = false;
			for (uint32_t k = 0; k < f.rep.violation_count; k++)
				found |= strcmp(f.rep.violations[k].kind, "reference_runaway") == 0 &&
					 strstr(f.rep.violations[k].detail, "within 10000 ") != NULL &&
					 strstr(f.rep.violations[k].detail, "WITH RECURSIVE") != NULL;
			if (!found)
				fx_dump(&f);
			assert_true(found);
		}
		fx_free(&f);
	}
}

static void test_pass_serial(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *w = begin(&f, 1);
	write1(&f, w, 1, 5);
	commit(&f, w);
	struct hist_txn *r = begin(&f, 2);
	read1(&f, r, 1, 5);
	read1(&f, r, 2, 0);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	assert_int_equal(f.rep.txns_checked, 2);
	fx_free(&f);
}

/* A long reader whose snapshot is an intermediate position of its window
 * (after W1, before W2 and W3) passes: the sweep tries every position. */
static void test_pass_window_intermediate(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *r = begin(&f, 9);
	struct hist_txn *w1 = begin(&f, 1);
	write1(&f, w1, 1, 1);
	commit(&f, w1);
	read1(&f, r, 1, 1);
	struct hist_txn *w2 = begin(&f, 1);
	write1(&f, w2, 1, 2);
	commit(&f, w2);
	struct hist_txn *w3 = begin(&f, 1);
	write1(&f, w3, 2, 3);
	commit(&f, w3);
	read1(&f, r, 2, 0);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* A write is visible from the moment its COMMIT (or its autocommit
 * statement) starts: a reader that ends after that, but before it
 * returned, may see it (and here even commits before it in commit order). */
static void test_pass_commit_visible_before_return(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *w = begin(&f, 1);
	write1(&f, w, 1, 3);
	hist_txn_commit_start(&f.h, w);
	struct hist_txn *r = begin(&f, 2);
	read1(&f, r, 1, 3);
	commit(&f, r);
	hist_txn_end(&f.h, w, HIST_COMMITTED, SQLITE_OK, 0);
	struct hist_txn *a = hist_txn_begin(&f.h, 1, "a", HIST_BEGIN_AUTOCOMMIT, 0);
	struct hist_txn *r2 = begin(&f, 2);
	read1(&f, r2, 2, 4);
	commit(&f, r2);
	write1(&f, a, 2, 4);
	hist_txn_end(&f.h, a, HIST_COMMITTED, SQLITE_OK, 0);
	fx_check(&f);
	expect_pass(&f);
	assert_int_equal(r->commit_index, 0);
	assert_int_equal(r2->commit_index, 2);
	fx_free(&f);
}

/* Autocommit statements (no BEGIN, no COMMIT start) replay one by one. */
static void test_pass_autocommit(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *a = hist_txn_begin(&f.h, 1, "a", HIST_BEGIN_AUTOCOMMIT, 0);
	write1(&f, a, 1, 7);
	hist_txn_end(&f.h, a, HIST_COMMITTED, SQLITE_OK, 0);
	a = hist_txn_begin(&f.h, 2, "a", HIST_BEGIN_AUTOCOMMIT, 0);
	read1(&f, a, 1, 7);
	hist_txn_end(&f.h, a, HIST_COMMITTED, SQLITE_OK, 0);
	a = hist_txn_begin(&f.h, 1, "a", HIST_BEGIN_AUTOCOMMIT, 0);
	rows(&f, a, "INSERT INTO kv VALUES(3, 1)", 1, 0, 0, NULL, false);
	hist_txn_end(&f.h, a, HIST_COMMITTED, SQLITE_OK, 0);
	a = hist_txn_begin(&f.h, 2, "a", HIST_BEGIN_AUTOCOMMIT, 0);
	rows(&f, a, "SELECT count(*), sum(v) FROM kv", 0, 2, 1,
	     (const int64_t[]){ 3, 8 }, false);
	hist_txn_end(&f.h, a, HIST_COMMITTED, SQLITE_OK, 0);
	fx_check(&f);
	expect_pass(&f);
	assert_int_equal(f.rep.txns_checked, 4);
	fx_free(&f);
}

/* An aborted writer whose reads were consistent (at the state before a
 * concurrent commit) passes, and its writes do not reach later readers. */
static void test_pass_aborted_consistent(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *a = begin(&f, 1);
	read1(&f, a, 1, 0);
	write1(&f, a, 2, 9);
	struct hist_txn *w = begin(&f, 2);
	write1(&f, w, 1, 4);
	commit(&f, w);
	read1(&f, a, 2, 9); /* its own write */
	rollback(&f, a);
	struct hist_txn *r = begin(&f, 3);
	read1(&f, r, 1, 4);
	read1(&f, r, 2, 0);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* Statements that failed: a constraint error is replayed and must match;
 * a BUSY statement is skipped; rows of an unordered read compare as a
 * multiset. */
static void test_pass_errors_and_multiset(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *t = begin(&f, 1);
	hist_stmt_add(&f.h, t, "INSERT INTO kv VALUES(1, 9)", NULL, NULL, 0,
		      SQLITE_CONSTRAINT_PRIMARYKEY, 0, 0, 0, NULL, false);
	write1_rc(&f, t, 2, 8, SQLITE_BUSY);
	write1(&f, t, 2, 3);
	commit(&f, t);
	struct hist_txn *r = begin(&f, 2);
	rows(&f, r, "SELECT k, v FROM kv", 0, 2, 2,
	     (const int64_t[]){ 2, 3, 1, 0 }, false);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* Unordered rows compare as multisets: rows in another order than the
 * reference's pass (test_pass_errors_and_multiset), a different multiset
 * is a mismatch, whether the difference is the first row or a later
 * one. */
static void test_multiset_mismatch(void **state)
{
	(void)state;
	static const int64_t wrong[2][4] = { { 2, 0, 1, 5 }, { 1, 0, 2, 5 } };
	for (int k = 0; k < 2; k++) {
		struct fx f;
		fx_init(&f, KV);
		struct hist_txn *r = begin(&f, 1);
		rows(&f, r, "SELECT k, v FROM kv", 0, 2, 2, wrong[k], false);
		commit(&f, r);
		fx_check(&f);
		expect_kind(&f, "read_mismatch", 1, 0u);
		assert_int_equal(f.rep.violation_count, 1);
		fx_free(&f);
	}
}

/* A statement that rolls its whole transaction back (OR ROLLBACK) is
 * evaluated without leaving a trace on the reference. */
static void test_pass_or_rollback(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *a = begin(&f, 1);
	write1(&f, a, 2, 7);
	hist_stmt_add(&f.h, a, "INSERT OR ROLLBACK INTO kv VALUES(1, 5)", NULL,
		      NULL, 0, SQLITE_CONSTRAINT_PRIMARYKEY, 0, 0, 0, NULL, false);
	rollback(&f, a);
	struct hist_txn *r = begin(&f, 2);
	read1(&f, r, 2, 0);
	read1(&f, r, 1, 0);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* An indeterminate commit that did happen: a later reader and the final
 * state both show it. */
static void test_pass_indeterminate_happened(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	fx_target(&f, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		      "INSERT INTO kv VALUES(1, 5), (2, 0);");
	struct hist_txn *i = begin(&f, 1);
	write1(&f, i, 1, 5);
	cut(&f, i);
	struct hist_txn *r = begin(&f, 2);
	read1(&f, r, 1, 5);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* An indeterminate commit that did not happen: a later reader and the
 * final state both lack it. */
static void test_pass_indeterminate_not(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	fx_target(&f, KV);
	struct hist_txn *i = begin(&f, 1);
	write1(&f, i, 1, 5);
	cut(&f, i);
	struct hist_txn *r = begin(&f, 2);
	read1(&f, r, 1, 0);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* A transaction left inside COMMIT when the run stopped may have
 * committed: a reader that saw it passes, as does an empty transaction. */
static void test_pass_running_in_commit(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *e = begin(&f, 3);
	commit(&f, e);
	struct hist_txn *i = begin(&f, 1);
	write1(&f, i, 2, 8);
	hist_txn_commit_start(&f.h, i);
	struct hist_txn *r = begin(&f, 2);
	read1(&f, r, 2, 8);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	assert_int_equal(i->outcome, HIST_RUNNING);
	fx_free(&f);
}

/* An autocommit statement that failed with an I/O error is its own
 * indeterminate commit: it is replayed when assumed committed (a reader
 * saw it) and left out when not (a reader did not), though an I/O error
 * on any other statement means it is skipped. */
static void test_indeterminate_autocommit(void **state)
{
	(void)state;
	for (int happened = 0; happened <= 1; happened++) {
		struct fx f;
		fx_init(&f, KV);
		struct hist_txn *a = hist_txn_begin(&f.h, 1, "a",
						    HIST_BEGIN_AUTOCOMMIT, 0);
		hist_txn_commit_start(&f.h, a);
		write1_rc(&f, a, 2, 6, SQLITE_IOERR_FSYNC);
		hist_txn_end(&f.h, a, HIST_INDETERMINATE, SQLITE_IOERR_FSYNC, 0);
		struct hist_txn *r = begin(&f, 2);
		read1(&f, r, 2, happened ? 6 : 0);
		commit(&f, r);
		fx_check(&f);
		expect_pass(&f);
		fx_free(&f);
	}
}

/* A statement flagged HIST_STMT_UNCERTAIN (an I/O error inside a
 * transaction left indeterminate) runs, uncompared, when the transaction
 * is settled committed, and not otherwise: a reader that saw both writes
 * passes, and so does one that saw neither. */
static void test_uncertain_statement(void **state)
{
	(void)state;
	for (int happened = 0; happened <= 1; happened++) {
		struct fx f;
		fx_init(&f, KV);
		struct hist_txn *i = begin(&f, 1);
		write1(&f, i, 1, 4);
		struct wh_value p[2] = { I(2), I(6) };
		struct hist_stmt *s = hist_stmt_add(&f.h, i, WRITE1, "write", p, 2,
						    SQLITE_IOERR_WRITE, 0, 0, 0,
						    NULL, false);
		s->flags = HIST_STMT_UNCERTAIN;
		cut(&f, i);
		struct hist_txn *r = begin(&f, 2);
		read1(&f, r, 1, happened ? 4 : 0);
		read1(&f, r, 2, happened ? 6 : 0);
		commit(&f, r);
		fx_check(&f);
		expect_pass(&f);
		fx_free(&f);
	}
}

/* An indeterminate autocommit statement waited for the write lock while
 * T1 committed and T2 read; it released the lock (visible_event) only
 * after T2, and did commit (T3 saw it). Placed by that release it comes
 * after T1 and T2 and everything passes; placed by its start it would
 * precede T1, and no plan would explain both readers. */
static void test_indeterminate_placed_by_release(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *a = hist_txn_begin(&f.h, 1, "a", HIST_BEGIN_AUTOCOMMIT,
					    0); /* T0 */
	hist_txn_commit_start(&f.h, a);
	struct hist_txn *w = begin(&f, 2); /* T1 */
	write1(&f, w, 1, 1);
	hist_txn_commit_start(&f.h, w);
	visible(&f, w);
	hist_txn_end(&f.h, w, HIST_COMMITTED, SQLITE_OK, 0);
	struct hist_txn *r = begin(&f, 3); /* T2 */
	read1(&f, r, 1, 1);
	read1(&f, r, 2, 0);
	commit(&f, r);
	visible(&f, a);
	write1_rc(&f, a, 2, 9, SQLITE_IOERR_FSYNC);
	a->stmts[0].flags = HIST_STMT_UNCERTAIN;
	hist_txn_end(&f.h, a, HIST_INDETERMINATE, SQLITE_IOERR_FSYNC, 0);
	struct hist_txn *r2 = begin(&f, 3); /* T3 */
	read1(&f, r2, 2, 9);
	commit(&f, r2);
	renumber(&f);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* Four indeterminate commits, alternately happened and not, so neither
 * "all committed" nor "none committed" explains the reader and two must
 * be flipped: the default budget finds the plan; a budget of 1 gives up
 * and says so. */
static void test_indeterminate_budget(void **state)
{
	(void)state;
	static const char kv4[] =
		"CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		"INSERT INTO kv VALUES(1, 0), (2, 0), (3, 0), (4, 0);";
	for (int budget = 0; budget <= 1; budget++) {
		struct fx f;
		fx_init(&f, kv4);
		f.cfg.indeterminate_budget = (uint32_t)budget;
		for (int k = 1; k <= 4; k++) {
			struct hist_txn *i = begin(&f, k);
			write1(&f, i, k, 5);
			cut(&f, i);
		}
		struct hist_txn *r = begin(&f, 9);
		for (int k = 1; k <= 4; k++)
			read1(&f, r, k, k % 2 ? 5 : 0);
		commit(&f, r);
		fx_check(&f);
		if (budget == 0) {
			expect_pass(&f);
		} else {
			assert_true(f.rep.gave_up);
			assert_non_null(f.rep.note);
			assert_non_null(strstr(f.rep.note, "indeterminate"));
			assert_true(f.rep.violation_count > 0);
		}
		fx_free(&f);
	}
}

/* Past the budget, the writers explored are those just before the
 * failure: here the one that spoils the reader is the last of ten, which
 * slot order would never reach with a budget of 2. */
static void test_indeterminate_explore_near_failure(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	f.cfg.indeterminate_budget = 2;
	for (int k = 0; k < 10; k++) {
		struct hist_txn *i = begin(&f, 1);
		write1(&f, i, 1, 100 + k);
		cut(&f, i);
	}
	struct hist_txn *i = begin(&f, 2);
	write1(&f, i, 2, 7);
	cut(&f, i);
	struct hist_txn *r = begin(&f, 3);
	read1(&f, r, 1, 109);
	read1(&f, r, 2, 0);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* Many indeterminate commits, none of which happened (as under I/O
 * faults): far past the budget, the "none committed" starting plan
 * proves the history without search. */
static void test_indeterminate_none_happened(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	f.cfg.indeterminate_budget = 2;
	for (int k = 0; k < 12; k++) {
		struct hist_txn *i = begin(&f, 1);
		write1(&f, i, 1 + k % 2, 100 + k);
		cut(&f, i);
		struct hist_txn *r = begin(&f, 2);
		read1(&f, r, 1, 0);
		read1(&f, r, 2, 0);
		commit(&f, r);
	}
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* A clean final state with index, integrity and foreign-key checks and a
 * true invariant passes. */
static void test_pass_final_state(void **state)
{
	(void)state;
	static const char setup[] =
		"CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		"CREATE INDEX kv_v ON kv(v);"
		"CREATE TABLE w(a TEXT PRIMARY KEY, b BLOB) WITHOUT ROWID;"
		"INSERT INTO kv VALUES(1, 0), (2, 0);";
	struct fx f;
	fx_init(&f, setup);
	fx_target(&f, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		      "CREATE INDEX kv_v ON kv(v);"
		      "CREATE TABLE w(a TEXT PRIMARY KEY, b BLOB) WITHOUT ROWID;"
		      "INSERT INTO kv VALUES(1, 0), (2, 6);"
		      "INSERT INTO w VALUES('x', X'00ff');");
	const char *inv[] = { "SELECT sum(v) = 6 FROM kv" };
	f.cfg.invariants = inv;
	f.cfg.invariant_count = 1;
	struct hist_txn *t = begin(&f, 1);
	write1(&f, t, 2, 6);
	rows(&f, t, "INSERT INTO w VALUES('x', X'00ff')", 1, 0, 0, NULL, false);
	commit(&f, t);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* ------------------------------------------------------------------ */
/* Anomalies                                                            */
/* ------------------------------------------------------------------ */

/* G1a: a reader observes a value written only by a transaction that then
 * aborted. */
static void test_aborted_read(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *a = begin(&f, 1); /* T0 */
	write1(&f, a, 1, 5);
	struct hist_txn *r = begin(&f, 2); /* T1 */
	read1(&f, r, 1, 5);
	commit(&f, r);
	rollback(&f, a);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	expect_kind(&f, "aborted_read", 2, 0u, 1u);
	fx_free(&f);
}

/* G1b: a reader observes the first of two writes of one committed
 * transaction to the same row. */
static void test_intermediate_read(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *w = begin(&f, 1); /* T0 */
	write1(&f, w, 1, 1);
	struct hist_txn *r = begin(&f, 2); /* T1 */
	read1(&f, r, 1, 1);
	commit(&f, r);
	write1(&f, w, 1, 2);
	commit(&f, w);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	expect_kind(&f, "intermediate_read", 2, 0u, 1u);
	fx_free(&f);
}

/* Errors are reads too: a primary-key violation caused only by the row of
 * an aborted insert is an aborted read (the rc is compared). */
static void test_aborted_read_by_constraint(void **state)
{
	(void)state;
	static const char ins[] = "INSERT INTO kv VALUES(3, 0)";
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *a = begin(&f, 1); /* T0 */
	rows(&f, a, ins, 1, 0, 0, NULL, false);
	struct hist_txn *t = begin(&f, 2); /* T1 */
	hist_stmt_add(&f.h, t, ins, NULL, NULL, 0, SQLITE_CONSTRAINT_PRIMARYKEY,
		      0, 0, 0, NULL, false);
	write1(&f, t, 1, 1);
	commit(&f, t);
	rollback(&f, a);
	fx_check(&f);
	const struct oracle_violation *v =
		expect_kind(&f, "aborted_read", 2, 0u, 1u);
	assert_non_null(strstr(v->detail, "observed error constraint failed"));
	assert_int_equal(f.rep.violation_count, 1);
	fx_free(&f);
}

/* Dirty read: a reader observes the write of a transaction that was still
 * running when the run stopped. */
static void test_dirty_read_running(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *w = begin(&f, 1); /* T0, never finishes */
	write1(&f, w, 1, 7);
	struct hist_txn *r = begin(&f, 2); /* T1 */
	read1(&f, r, 1, 7);
	read1(&f, r, 2, 0);
	commit(&f, r);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	expect_kind(&f, "dirty_read", 2, 0u, 1u);
	fx_free(&f);
}

/* Lost update: two transactions read v = 0 and both write v + 1; both
 * commit. */
static void test_lost_update(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *t1 = begin(&f, 1); /* T0 */
	struct hist_txn *t2 = begin(&f, 2); /* T1 */
	read1(&f, t1, 1, 0);
	read1(&f, t2, 1, 0);
	write1(&f, t1, 1, 1);
	commit(&f, t1);
	write1(&f, t2, 1, 1);
	commit(&f, t2);
	fx_check(&f);
	const struct oracle_violation *v = expect_kind(&f, "lost_update", 2, 0u, 1u);
	assert_non_null(strstr(v->detail, "T1 -rw-> T0 -ww-> T1"));
	assert_int_equal(f.rep.violation_count, 1);
	fx_free(&f);
}

/* Write skew (G2): each reads both rows and writes a different one. */
static void test_write_skew(void **state)
{
	(void)state;
	static const char both[] = "SELECT k, v FROM kv ORDER BY k";
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *t1 = begin(&f, 1); /* T0 */
	struct hist_txn *t2 = begin(&f, 2); /* T1 */
	rows(&f, t1, both, 0, 2, 2, (const int64_t[]){ 1, 0, 2, 0 }, true);
	rows(&f, t2, both, 0, 2, 2, (const int64_t[]){ 1, 0, 2, 0 }, true);
	write1(&f, t1, 1, 1);
	write1(&f, t2, 2, 1);
	commit(&f, t1);
	commit(&f, t2);
	fx_check(&f);
	const struct oracle_violation *v = expect_kind(&f, "write_skew", 2, 0u, 1u);
	assert_non_null(strstr(v->detail, "-rw->"));
	assert_int_equal(f.rep.violation_count, 1);
	fx_free(&f);
}

/* Read skew (G-single): a read-only transaction sees k1 before and k2
 * after a transaction that updated both. */
static void test_read_skew(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *r = begin(&f, 1); /* T0 */
	read1(&f, r, 1, 0);
	struct hist_txn *w = begin(&f, 2); /* T1 */
	write1(&f, w, 1, 1);
	write1(&f, w, 2, 1);
	commit(&f, w);
	read1(&f, r, 2, 1);
	commit(&f, r);
	fx_check(&f);
	const struct oracle_violation *v = expect_kind(&f, "read_skew", 2, 0u, 1u);
	assert_non_null(strstr(v->detail, "T0 -rw-> T1 -wr-> T0"));
	assert_int_equal(f.rep.violation_count, 1);
	fx_free(&f);
}

/* A read of a value nobody wrote: read_mismatch with observed versus
 * expected rows in the detail. */
static void test_read_mismatch(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *r = begin(&f, 1);
	read1(&f, r, 1, 42);
	commit(&f, r);
	fx_check(&f);
	const struct oracle_violation *v = expect_kind(&f, "read_mismatch", 1, 0u);
	assert_non_null(strstr(v->detail, "observed [(42)]"));
	assert_non_null(strstr(v->detail, "the reference gives [(0)]"));
	assert_int_equal(f.rep.violation_count, 1);
	fx_free(&f);
}

/* A stale read: the reader began after a commit yet saw the state before
 * it; it is reported with the position whose state it saw. */
static void test_stale_read(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *w = begin(&f, 1);
	write1(&f, w, 1, 1);
	commit(&f, w);
	struct hist_txn *r = begin(&f, 2);
	read1(&f, r, 1, 0);
	commit(&f, r);
	fx_check(&f);
	const struct oracle_violation *v = expect_kind(&f, "read_mismatch", 1, 1u);
	assert_non_null(strstr(v->detail, "is what the state at position 0 (initial state) gives"));
	fx_free(&f);
}

/* A committed writer whose changes count differs at its commit position
 * is a violation, and ordered rows compare in order. */
static void test_changes_and_order_mismatch(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *t = begin(&f, 1); /* T0 */
	rows(&f, t, "UPDATE kv SET v = v + 1", 5, 0, 0, NULL, false);
	commit(&f, t);
	struct hist_txn *r = begin(&f, 1); /* T1 */
	rows(&f, r, "SELECT k, v FROM kv ORDER BY k", 0, 2, 2,
	     (const int64_t[]){ 2, 1, 1, 1 }, true);
	commit(&f, r);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 2);
	assert_string_equal(f.rep.violations[0].kind, "read_mismatch");
	assert_int_equal(f.rep.violations[0].txns[0], 0);
	assert_non_null(strstr(f.rep.violations[0].detail, "changes 5"));
	assert_string_equal(f.rep.violations[1].kind, "read_mismatch");
	assert_int_equal(f.rep.violations[1].txns[0], 1);
	fx_free(&f);
}

/* Lost commit: the target lacks the effect of a committed transaction. */
static void test_lost_commit(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	fx_target(&f, KV);
	struct hist_txn *t = begin(&f, 1); /* T0 */
	write1(&f, t, 1, 1);
	commit(&f, t);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	expect_kind(&f, "lost_commit", 1, 0u);
	fx_free(&f);
}

/* Phantom commit: the target holds the effect of an aborted transaction. */
static void test_phantom_commit(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	fx_target(&f, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		      "INSERT INTO kv VALUES(1, 1), (2, 9), (3, 3);");
	struct hist_txn *t = begin(&f, 1); /* T0 */
	write1(&f, t, 1, 1);
	commit(&f, t);
	struct hist_txn *a = begin(&f, 2); /* T1 */
	write1(&f, a, 2, 9);
	rows(&f, a, "INSERT INTO kv VALUES(3, 3)", 1, 0, 0, NULL, false);
	rollback(&f, a);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	expect_kind(&f, "phantom_commit", 1, 1u);
	fx_free(&f);
}

/* A final value no transaction explains is a final_state difference
 * naming the row's last writer. */
static void test_final_state(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	fx_target(&f, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		      "INSERT INTO kv VALUES(1, 42), (2, 0);");
	struct hist_txn *t = begin(&f, 1); /* T0 */
	write1(&f, t, 1, 1);
	commit(&f, t);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	const struct oracle_violation *v = expect_kind(&f, "final_state", 1, 0u);
	assert_non_null(strstr(v->detail, "(1, 1, 42)"));
	fx_free(&f);
}

/* A dangling reference on the target fails foreign_key_check. */
static void test_foreign_key_check(void **state)
{
	(void)state;
	static const char setup[] =
		"CREATE TABLE p(id INTEGER PRIMARY KEY);"
		"CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id));"
		"INSERT INTO c VALUES(1, 99);";
	struct fx f;
	fx_init(&f, setup);
	fx_target(&f, setup);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	expect_kind(&f, "foreign_key_check", 0);
	fx_free(&f);
}

/* An invariant that returns 0 on the target is a violation; one that
 * returns 1 is not. */
static void test_invariant(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	fx_target(&f, KV);
	const char *inv[] = { "SELECT count(*) = 2 FROM kv",
			      "SELECT sum(v) = 100 FROM kv" };
	f.cfg.invariants = inv;
	f.cfg.invariant_count = 2;
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	/* Target and reference agree, and both fail it: the workload's. */
	const struct oracle_violation *v = expect_kind(&f, "reference_invariant", 0);
	assert_non_null(strstr(v->detail, "sum(v) = 100"));
	assert_non_null(strstr(v->detail, "the workload is the likely cause"));
	fx_free(&f);
}

/* An invariant only the target fails (its final state differs): an
 * invariant violation that lists the rows it counts and says the serial
 * reference holds it. */
static void test_invariant_target_only(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	fx_target(&f, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		      "INSERT INTO kv VALUES(1, 42), (2, 0);");
	const char *inv[] = { "SELECT count(*) = 0 FROM kv WHERE v > 10" };
	f.cfg.invariants = inv;
	f.cfg.invariant_count = 1;
	fx_check(&f);
	expect_kind(&f, "final_state", 0);
	const struct oracle_violation *v = expect_kind(&f, "invariant", 0);
	assert_non_null(strstr(v->detail, "rows it counts: (1, 42)"));
	assert_non_null(strstr(v->detail, "the serial reference holds it"));
	fx_free(&f);
}

/* An index whose entries disagree with its table fails integrity_check
 * (and its index-visible rows differ from the reference's). */
static void test_integrity_check(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "CREATE TABLE t(a, b); CREATE INDEX ti ON t(b);"
		    "INSERT INTO t VALUES(1, 2), (3, 4);");
	/* Built on a, then relabelled as an index on b. */
	fx_target(&f, "CREATE TABLE t(a, b); CREATE INDEX ti ON t(a);"
		      "INSERT INTO t VALUES(1, 2), (3, 4);"
		      "PRAGMA writable_schema = ON;"
		      "UPDATE sqlite_schema SET sql = 'CREATE INDEX ti ON t(b)' WHERE name = 'ti';");
	fx_check(&f);
	expect_kind(&f, "integrity_check", 0);
	const struct oracle_violation *v = expect_kind(&f, "final_state", 0);
	assert_non_null(strstr(v->detail, "index ti"));
	fx_free(&f);
}

/* Copies file src to dst (both paths), whole. */
static void copy_file(const char *src, const char *dst)
{
	FILE *in = fopen(src, "rb");
	assert_non_null(in);
	FILE *out = fopen(dst, "wb");
	assert_non_null(out);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* A target left with a hot journal (a transaction that spilled pages into
 * the file, cut before its commit) cannot be read read-only; the oracle
 * lets SQLite roll it back and checks the recovered state, which passes,
 * saying so in the note. */
static void test_target_hot_journal(void **state)
{
	(void)state;
	static const char big[] =
		"CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		"CREATE TABLE pad(x BLOB);"
		"INSERT INTO kv VALUES(1, 1), (2, 0);"
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
		" INSERT INTO pad SELECT zeroblob(1000) FROM n;";
	struct fx f;
	fx_init(&f, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		    "CREATE TABLE pad(x BLOB);"
		    "INSERT INTO kv VALUES(1, 0), (2, 0);"
		    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
		    " INSERT INTO pad SELECT zeroblob(1000) FROM n;");
	fx_target(&f, big);
	/* Build the hot journal on a scratch copy, then move it in place. */
	char scratch[160], journal[170], target_journal[170];
	snprintf(scratch, sizeof scratch, "%s/scratch.db", f.dir);
	snprintf(journal, sizeof journal, "%s-journal", scratch);
	snprintf(target_journal, sizeof target_journal, "%s-journal", f.path);
	copy_file(f.path, scratch);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(scratch, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA cache_size = 2; BEGIN;"
				      "UPDATE pad SET x = zeroblob(1001);"
				      "UPDATE kv SET v = 99;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	copy_file(scratch, f.path);
	copy_file(journal, target_journal);
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	unlink(scratch);
	struct hist_txn *w = begin(&f, 1);
	write1(&f, w, 1, 1);
	commit(&f, w);
	fx_check(&f);
	expect_pass(&f);
	assert_non_null(f.rep.note);
	assert_non_null(strstr(f.rep.note, "hot journal"));
	fx_free(&f);
}

/* A setup the reference cannot run makes the oracle itself fail (-1)
 * with the reason in the note. */
static void test_bad_setup(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "CREATE TABLE");
	int rc = oracle_check(&f.h, &f.cfg, &f.rep);
	assert_int_equal(rc, -1);
	assert_non_null(f.rep.note);
	assert_non_null(strstr(f.rep.note, "setup"));
	fx_free(&f);
}

/* The SQLite finding of tests/test_findings.c: a connection whose cached
 * schema is stale, and whose schema check cannot get a read lock, fails
 * with SQLITE_ERROR "no such table" for a table that exists. Here T0's
 * INSERT into side failed so while side existed at every state T0 could
 * see (before and after T1 dropped and created it again). T1's first
 * statement alone would reproduce the error (side dropped), which made
 * it look like T0 read T1's intermediate state: the kind is
 * stale_schema_error, naming T0 alone and the table. */
static void test_stale_schema_error(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		    "INSERT INTO kv VALUES(1, 0), (2, 0);"
		    "CREATE TABLE side(x INTEGER);");
	struct hist_txn *t = begin(&f, 1); /* T0 */
	read1(&f, t, 1, 0);
	struct hist_txn *d = begin(&f, 2); /* T1 */
	stmt_rc(&f, d, "DROP TABLE side", SQLITE_DONE, 0);
	stmt_rc(&f, d, "CREATE TABLE side(x INTEGER)", SQLITE_DONE, 0);
	stmt_rc(&f, t, "INSERT INTO \"side\"(x) VALUES(1)", SQLITE_ERROR, 0);
	commit(&f, d);
	rollback(&f, t);
	fx_check(&f);
	const struct oracle_violation *v =
		expect_kind(&f, "stale_schema_error", 1, 0u);
	assert_non_null(strstr(v->detail, "although side exists in the reference at every allowed position where it ran (0..1, 2 compared)"));
	assert_non_null(strstr(v->detail, "schema its connection had cached"));
	assert_int_equal(f.rep.violation_count, 1);
	fx_free(&f);
}

/* An SQL error from a statement that names no existing table, index or
 * view is no stale schema: a read_mismatch. */
static void test_error_without_table_not_stale(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *t = begin(&f, 1);
	stmt_rc(&f, t, "SELECT 'kv' AS \"nokv\", 1 + 1 -- kv", SQLITE_ERROR, 0);
	rollback(&f, t);
	fx_check(&f);
	expect_kind(&f, "read_mismatch", 1, 0u);
	assert_int_equal(f.rep.violation_count, 1);
	fx_free(&f);
}

/* ------------------------------------------------------------------ */
/* Statement flags                                                      */
/* ------------------------------------------------------------------ */

/* A NOCHECK statement is replayed for its effect (a later reader sees
 * its write) but its recorded result, here a wrong changes count and a
 * wrong row, is not compared, in an anchored and in a window txn. */
static void test_nocheck_not_compared(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *w = begin(&f, 1);
	struct wh_value p[2] = { I(1), I(7) };
	struct hist_stmt *s = hist_stmt_add(&f.h, w, WRITE1, "write", p, 2,
					    SQLITE_DONE, 5, 0, 0, NULL, false);
	s->flags = HIST_STMT_NOCHECK;
	commit(&f, w);
	struct hist_txn *r = begin(&f, 2);
	read1(&f, r, 1, 7);
	struct wh_value k2 = I(2), odd = I(1234);
	s = hist_stmt_add(&f.h, r, READ1, "read", &k2, 1, SQLITE_DONE, 0, 1, 1,
			  &odd, false);
	s->flags = HIST_STMT_NOCHECK;
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* A NOREPLAY statement is not run on the reference: its write (which a
 * real incremental_vacuum would not have) stays out of later states. */
static void test_noreplay_not_run(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *w = begin(&f, 1);
	write1(&f, w, 2, 3);
	struct wh_value p[2] = { I(1), I(9) };
	struct hist_stmt *s = hist_stmt_add(&f.h, w, WRITE1, "write", p, 2,
					    SQLITE_DONE, 1, 0, 0, NULL, false);
	s->flags = HIST_STMT_NOREPLAY;
	commit(&f, w);
	struct hist_txn *r = begin(&f, 2);
	read1(&f, r, 1, 0);
	read1(&f, r, 2, 3);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* ------------------------------------------------------------------ */
/* Statement kinds and the reference's long transaction                 */
/* ------------------------------------------------------------------ */

/* DROP TABLE and DROP VIEW leave sqlite3_changes() at the connection's
 * previous count: the run recorded 0 (nothing ran on that connection
 * before), the reference still holds T0's 1. They are DDL, not DML:
 * their changes count is not compared. (The authorizer reports DROP
 * TABLE as a DELETE on the table, which once made it DML.) */
static void test_drop_changes_not_compared(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		    "INSERT INTO kv VALUES(1, 0), (2, 0);"
		    "CREATE TABLE side(x); INSERT INTO side VALUES(1);"
		    "CREATE VIEW vv AS SELECT k FROM kv;");
	struct hist_txn *w = begin(&f, 1); /* T0 */
	write1(&f, w, 1, 5);
	commit(&f, w);
	struct hist_txn *d = begin(&f, 2); /* T1 */
	stmt_rc(&f, d, "DROP TABLE side", SQLITE_DONE, 0);
	stmt_rc(&f, d, "DROP VIEW vv", SQLITE_DONE, 0);
	commit(&f, d);
	struct hist_txn *r = begin(&f, 3); /* T2 */
	read1(&f, r, 1, 5);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* An aborted transaction whose only replayed statement is a SAVEPOINT
 * (the writes around it were refused BUSY): SQLite calls SAVEPOINT
 * read-only, but the probe must still run it in the oracle's own
 * savepoint. Without that, sp stays open on the reference (once: the
 * reference was left inside a transaction and an assertion tripped):
 * T1's write lands inside it, and T2's ROLLBACK TO sp, which failed in
 * the run (T2 never opened sp), undoes that write there. */
static void test_probe_savepoints_only(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *a = begin(&f, 1); /* T0 */
	write1_rc(&f, a, 1, 7, SQLITE_BUSY);
	stmt_rc(&f, a, "SAVEPOINT sp", SQLITE_DONE, 0);
	write1_rc(&f, a, 2, 7, SQLITE_BUSY);
	struct hist_txn *w = begin(&f, 2); /* T1 */
	write1(&f, w, 1, 3);
	commit(&f, w);
	rollback(&f, a);
	struct hist_txn *r = begin(&f, 3); /* T2 */
	stmt_rc(&f, r, "ROLLBACK TO sp", SQLITE_ERROR, 0);
	read1(&f, r, 1, 3);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* A committed transaction that left savepoint a open (its COMMIT
 * released it in the run) must not leave it open on the reference,
 * where committed transactions share one long transaction: T1's
 * RELEASE a failed in the run and must fail there too. */
static void test_apply_savepoint_left_open(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *t0 = begin(&f, 1); /* T0 */
	stmt_rc(&f, t0, "SAVEPOINT a", SQLITE_DONE, 0);
	write1(&f, t0, 1, 1);
	commit(&f, t0);
	struct hist_txn *t1 = begin(&f, 2); /* T1 */
	write1(&f, t1, 2, 2);
	stmt_rc(&f, t1, "RELEASE a", SQLITE_ERROR, 0);
	commit(&f, t1);
	struct hist_txn *r = begin(&f, 3); /* T2 */
	read1(&f, r, 1, 1);
	read1(&f, r, 2, 2);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* An aborted probe whose OR ROLLBACK statement rolls back the
 * reference's long transaction, after more committed transactions than
 * one batch holds: the reference re-applies the batch since the last
 * commit, so the reader after it still sees every write. */
static void test_or_rollback_after_batch(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	const int64_t writes = 300; /* more than ORACLE_BATCH_MAX */
	for (int64_t k = 1; k <= writes; k++) {
		struct hist_txn *w = begin(&f, 1);
		write1(&f, w, 1 + k % 2, k);
		commit(&f, w);
	}
	struct hist_txn *a = begin(&f, 2);
	write1(&f, a, 2, 77);
	stmt_rc(&f, a, "INSERT OR ROLLBACK INTO kv VALUES(1, 5)",
		SQLITE_CONSTRAINT_PRIMARYKEY, 0);
	rollback(&f, a);
	struct hist_txn *r = begin(&f, 3);
	read1(&f, r, 1, writes);     /* even k wrote key 1 */
	read1(&f, r, 2, writes - 1); /* odd k wrote key 2 */
	commit(&f, r);
	struct hist_txn *w = begin(&f, 1);
	write1(&f, w, 1, 1000);
	commit(&f, w);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

static const char FK_DEFERRED[] =
	"CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
	"INSERT INTO kv VALUES(1, 0), (2, 0);"
	"CREATE TABLE p(id INTEGER PRIMARY KEY);"
	"CREATE TABLE c(pid INTEGER REFERENCES p(id)"
	" DEFERRABLE INITIALLY DEFERRED);";

/* Deferred foreign keys are checked at COMMIT, which the reference's
 * long transaction does not run per transaction: a transaction that
 * leaves a dangling reference must still fail its COMMIT there (here
 * one the run wrongly reports committed), and its effects must not
 * stay; one that fixes the reference before committing passes. */
static void test_deferred_fk_commit(void **state)
{
	(void)state;
	static const char *const pragmas[] = { "foreign_keys=ON" };
	for (int dangling = 0; dangling <= 1; dangling++) {
		struct fx f;
		fx_init(&f, FK_DEFERRED);
		f.cfg.ref_pragmas = pragmas;
		f.cfg.ref_pragma_count = 1;
		struct hist_txn *w = begin(&f, 1); /* T0 */
		write1(&f, w, 1, 1);
		commit(&f, w);
		struct hist_txn *t = begin(&f, 2); /* T1 */
		write1(&f, t, 2, 2);
		stmt_rc(&f, t, "INSERT INTO c VALUES(7)", SQLITE_DONE, 1);
		if (!dangling)
			stmt_rc(&f, t, "INSERT INTO p VALUES(7)", SQLITE_DONE, 1);
		commit(&f, t);
		struct hist_txn *r = begin(&f, 3); /* T2 */
		read1(&f, r, 1, 1);
		read1(&f, r, 2, dangling ? 0 : 2);
		commit(&f, r);
		fx_check(&f);
		if (!dangling) {
			expect_pass(&f);
		} else {
			const struct oracle_violation *v =
				expect_kind(&f, "read_mismatch", 1, 1u);
			assert_non_null(strstr(v->detail, "its COMMIT fails on the reference: FOREIGN KEY constraint failed"));
			assert_int_equal(f.rep.violation_count, 1);
		}
		fx_free(&f);
	}
}

/* Statements that must run outside any transaction (VACUUM fails inside
 * one; a PRAGMA that sets something) are applied between transactions,
 * what they set is seen by later readers, and the committed writes
 * around them are kept. */
static void test_solo_statement(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *w = begin(&f, 1); /* T0 */
	write1(&f, w, 1, 4);
	commit(&f, w);
	struct hist_txn *v = hist_txn_begin(&f.h, 2, "t", HIST_BEGIN_AUTOCOMMIT, 0);
	stmt_rc(&f, v, "VACUUM", SQLITE_DONE, 0);
	commit(&f, v);
	struct hist_txn *p = hist_txn_begin(&f.h, 2, "t", HIST_BEGIN_AUTOCOMMIT, 0);
	stmt_rc(&f, p, "PRAGMA user_version = 7", SQLITE_DONE, 0);
	commit(&f, p);
	struct hist_txn *r = begin(&f, 3); /* T3 */
	read1(&f, r, 1, 4);
	rows(&f, r, "PRAGMA user_version", 0, 1, 1, (const int64_t[]){ 7 },
	     false);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* ------------------------------------------------------------------ */
/* Commit order by visibility                                           */
/* ------------------------------------------------------------------ */

/* W0 becomes visible before W1, but W1's COMMIT returns first; R began
 * after W1 returned, so it must see both: the state after W1 passes, the
 * initial state is a stale read. A prefix rule for lo ("every earlier
 * step had ended": W0 had not) would accept the stale read. */
static void test_visibility_order_window(void **state)
{
	(void)state;
	for (int stale = 0; stale <= 1; stale++) {
		struct fx f;
		fx_init(&f, KV);
		struct hist_txn *w0 = begin(&f, 1); /* T0 */
		write1(&f, w0, 1, 1);
		hist_txn_commit_start(&f.h, w0);
		visible(&f, w0);
		struct hist_txn *w1 = begin(&f, 2); /* T1 */
		write1(&f, w1, 2, 2);
		hist_txn_commit_start(&f.h, w1);
		visible(&f, w1);
		hist_txn_end(&f.h, w1, HIST_COMMITTED, SQLITE_OK, 0);
		struct hist_txn *r = begin(&f, 3); /* T2 */
		read1(&f, r, 1, stale ? 0 : 1);
		read1(&f, r, 2, stale ? 0 : 2);
		commit(&f, r);
		hist_txn_end(&f.h, w0, HIST_COMMITTED, SQLITE_OK, 0);
		assert_int_equal(w1->commit_index, 0); /* end order */
		renumber(&f);
		assert_int_equal(w0->commit_index, 0); /* visibility order */
		assert_int_equal(w1->commit_index, 1);
		fx_check(&f);
		if (!stale) {
			expect_pass(&f);
		} else {
			assert_int_equal(f.rep.violation_count, 1);
			expect_kind(&f, "read_mismatch", 1, 2u);
		}
		fx_free(&f);
	}
}

/* ------------------------------------------------------------------ */
/* Crashes                                                              */
/* ------------------------------------------------------------------ */

static const char KV_10[] =
	"CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
	"INSERT INTO kv VALUES(1, 1), (2, 0);";
static const char KV_12[] =
	"CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
	"INSERT INTO kv VALUES(1, 1), (2, 2);";

/* Two acknowledged commits (T0 k1=1, T1 k2=2), then a power loss after
 * which only T0 survived, then T2 reads k1, k2 as recovered. */
static void lose_second(struct fx *f, int64_t read_k2)
{
	struct hist_txn *w0 = begin(f, 1);
	write1(f, w0, 1, 1);
	commit(f, w0);
	struct hist_txn *w1 = begin(f, 2);
	write1(f, w1, 2, 2);
	commit(f, w1);
	crash_to(f, HIST_CRASH_POWER_LOSS, KV_10);
	struct hist_txn *r = begin(f, 1);
	read1(f, r, 1, 1);
	read1(f, r, 2, read_k2);
	commit(f, r);
}

/* Durability ALL: an acknowledged commit missing after power loss is a
 * lost_commit naming it, and the reader after the crash, who saw the
 * recovered state, is consistent (replay resumed from there). */
static void test_crash_all_lost_commit(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	f.cfg.durability = ORACLE_DURABLE_ALL;
	lose_second(&f, 0);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	const struct oracle_violation *v = expect_kind(&f, "lost_commit", 1, 1u);
	assert_false(v->expected);
	assert_non_null(strstr(v->detail, "crash 0 (power loss"));
	assert_int_equal(f.rep.lost_txn_count, 0);
	fx_free(&f);
}

/* Durability PREFIX: the same loss is allowed; it is listed (lost_txns
 * and note), not reported, and the reader after the crash passes only
 * because the replay resumed from the recovered prefix. */
static void test_crash_prefix_lost_noted(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	f.cfg.durability = ORACLE_DURABLE_PREFIX;
	lose_second(&f, 0);
	fx_check(&f);
	expect_pass(&f);
	assert_int_equal(f.rep.lost_txn_count, 1);
	assert_true(lost_listed(&f, 1));
	assert_non_null(f.rep.note);
	assert_non_null(strstr(f.rep.note, "T1"));
	fx_free(&f);
}

/* Durability NONE: the loss is reported, but labelled expected. */
static void test_crash_none_expected(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	f.cfg.durability = ORACLE_DURABLE_NONE;
	lose_second(&f, 0);
	fx_check(&f);
	const struct oracle_violation *v = expect_kind(&f, "lost_commit", 1, 1u);
	assert_true(v->expected);
	assert_non_null(strstr(v->detail, "expected under synchronous=OFF"));
	fx_free(&f);
}

/* Durability ALL, everything survived: no finding; commits after the
 * crash replay on top of the recovered state (T2 adds to T1's value),
 * and the final state agrees. */
static void test_crash_all_full_prefix(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	fx_target(&f, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		      "INSERT INTO kv VALUES(1, 1), (2, 12);");
	struct hist_txn *w0 = begin(&f, 1);
	write1(&f, w0, 1, 1);
	commit(&f, w0);
	struct hist_txn *w1 = begin(&f, 2);
	write1(&f, w1, 2, 2);
	commit(&f, w1);
	crash_to(&f, HIST_CRASH_POWER_LOSS, KV_12);
	struct hist_txn *w2 = begin(&f, 1);
	rows(&f, w2, "UPDATE kv SET v = v + 10 WHERE k = 2", 1, 0, 0, NULL, false);
	commit(&f, w2);
	struct hist_txn *r = begin(&f, 2);
	read1(&f, r, 2, 12);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	assert_int_equal(f.rep.lost_txn_count, 0);
	fx_free(&f);
}

/* Explanations after a lossy crash (PREFIX): a reader that saw the lost
 * T1's value is a read_mismatch described from the recovered state, and
 * the final target lacking the post-crash T3 is T3's lost_commit (T1,
 * lost as allowed, is listed, not blamed). */
static void test_crash_explained(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	f.cfg.durability = ORACLE_DURABLE_PREFIX;
	fx_target(&f, KV_10);
	struct hist_txn *w0 = begin(&f, 1); /* T0 */
	write1(&f, w0, 1, 1);
	commit(&f, w0);
	struct hist_txn *w1 = begin(&f, 2); /* T1 */
	write1(&f, w1, 2, 2);
	commit(&f, w1);
	crash_to(&f, HIST_CRASH_POWER_LOSS, KV_10);
	struct hist_txn *r = begin(&f, 2); /* T2 */
	read1(&f, r, 2, 2);
	commit(&f, r);
	struct hist_txn *w3 = begin(&f, 1); /* T3 */
	write1(&f, w3, 1, 5);
	commit(&f, w3);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 2);
	const struct oracle_violation *v = expect_kind(&f, "read_mismatch", 1, 2u);
	assert_non_null(strstr(v->detail, "position 3 (recovered after crash 0: state after T0)"));
	assert_non_null(strstr(v->detail, "the reference gives [(0)]"));
	expect_kind(&f, "lost_commit", 1, 3u);
	assert_int_equal(f.rep.lost_txn_count, 1);
	assert_true(lost_listed(&f, 1));
	fx_free(&f);
}

/* Two power losses in a row (PREFIX), each losing the commit before it:
 * the second epoch starts from the first recovery, and the reader after
 * both sees only T0; T1 and T2 are listed as lost. */
static void test_crash_twice(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	f.cfg.durability = ORACLE_DURABLE_PREFIX;
	struct hist_txn *w0 = begin(&f, 1); /* T0 */
	write1(&f, w0, 1, 1);
	commit(&f, w0);
	struct hist_txn *w1 = begin(&f, 2); /* T1 */
	write1(&f, w1, 2, 2);
	commit(&f, w1);
	crash_to(&f, HIST_CRASH_POWER_LOSS, KV_10);
	struct hist_txn *w2 = begin(&f, 1); /* T2 */
	rows(&f, w2, "UPDATE kv SET v = v + 10 WHERE k = 1", 1, 0, 0, NULL, false);
	commit(&f, w2);
	crash_to(&f, HIST_CRASH_POWER_LOSS, KV_10);
	struct hist_txn *r = begin(&f, 2); /* T3 */
	read1(&f, r, 1, 1);
	read1(&f, r, 2, 0);
	commit(&f, r);
	fx_check(&f);
	expect_pass(&f);
	assert_int_equal(f.rep.lost_txn_count, 2);
	assert_true(lost_listed(&f, 1));
	assert_true(lost_listed(&f, 2));
	fx_free(&f);
}

/* A clean reopen keeps everything whatever the sync level: a missing
 * commit is a lost_commit even with durability PREFIX. */
static void test_crash_reopen_lost_commit(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	f.cfg.durability = ORACLE_DURABLE_PREFIX;
	struct hist_txn *w0 = begin(&f, 1);
	write1(&f, w0, 1, 1);
	commit(&f, w0);
	crash_to(&f, HIST_CRASH_REOPEN, KV);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	const struct oracle_violation *v = expect_kind(&f, "lost_commit", 1, 0u);
	assert_non_null(strstr(v->detail, "clean reopen"));
	fx_free(&f);
}

/* A transaction inside COMMIT at the power loss is indeterminate: with
 * durability ALL the recovered state may hold it or not, and the reader
 * after the crash sees whichever it was. */
static void test_crash_indeterminate_either_way(void **state)
{
	(void)state;
	for (int present = 0; present <= 1; present++) {
		struct fx f;
		fx_init(&f, KV);
		f.cfg.durability = ORACLE_DURABLE_ALL;
		struct hist_txn *w0 = begin(&f, 1);
		write1(&f, w0, 1, 1);
		commit(&f, w0);
		struct hist_txn *i = begin(&f, 2);
		write1(&f, i, 2, 2);
		cut(&f, i); /* killed inside COMMIT */
		crash_to(&f, HIST_CRASH_POWER_LOSS, present ? KV_12 : KV_10);
		struct hist_txn *r = begin(&f, 3);
		read1(&f, r, 2, present ? 2 : 0);
		commit(&f, r);
		fx_check(&f);
		expect_pass(&f);
		assert_int_equal(f.rep.lost_txn_count, 0);
		fx_free(&f);
	}
}

/* An autocommit statement cut by the power loss (recorded with the error
 * the dead connection got) may have committed: the recovered state with
 * its write passes, and so does the one without. */
static void test_crash_autocommit_in_flight(void **state)
{
	(void)state;
	for (int present = 0; present <= 1; present++) {
		struct fx f;
		fx_init(&f, KV);
		struct hist_txn *w0 = begin(&f, 1);
		write1(&f, w0, 1, 1);
		commit(&f, w0);
		struct hist_txn *a = hist_txn_begin(&f.h, 2, "a",
						    HIST_BEGIN_AUTOCOMMIT, 0);
		hist_txn_commit_start(&f.h, a);
		write1_rc(&f, a, 2, 2, SQLITE_IOERR);
		hist_txn_end(&f.h, a, HIST_INDETERMINATE, SQLITE_IOERR, 0);
		crash_to(&f, HIST_CRASH_POWER_LOSS, present ? KV_12 : KV_10);
		fx_check(&f);
		expect_pass(&f);
		fx_free(&f);
	}
}

/* An autocommit statement started before T1 committed and T2 read, then
 * was cut by the power loss with no lock release observed; it did commit
 * (the recovered state has it). Placed by its end it follows T1 and T2
 * and everything passes; placed by its start it would precede them, and
 * no plan would explain both T2 and the recovered state. */
static void test_crash_autocommit_placed_by_end(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *a = hist_txn_begin(&f.h, 1, "a", HIST_BEGIN_AUTOCOMMIT,
					    0); /* T0 */
	hist_txn_commit_start(&f.h, a);
	struct hist_txn *w = begin(&f, 2); /* T1 */
	write1(&f, w, 1, 1);
	hist_txn_commit_start(&f.h, w);
	visible(&f, w);
	hist_txn_end(&f.h, w, HIST_COMMITTED, SQLITE_OK, 0);
	struct hist_txn *r = begin(&f, 3); /* T2 */
	read1(&f, r, 1, 1);
	read1(&f, r, 2, 0);
	commit(&f, r);
	write1_rc(&f, a, 2, 2, SQLITE_IOERR);
	a->stmts[0].flags = HIST_STMT_UNCERTAIN;
	hist_txn_end(&f.h, a, HIST_INDETERMINATE, SQLITE_IOERR, 0);
	crash_to(&f, HIST_CRASH_POWER_LOSS, KV_12);
	renumber(&f);
	fx_check(&f);
	expect_pass(&f);
	fx_free(&f);
}

/* The effects of a transaction that was still running (killed, not in
 * COMMIT) in the recovered database are a phantom_commit naming it. */
static void test_crash_phantom(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *w0 = begin(&f, 1); /* T0 */
	write1(&f, w0, 1, 1);
	commit(&f, w0);
	struct hist_txn *a = begin(&f, 2); /* T1 */
	write1(&f, a, 2, 2);
	rollback(&f, a); /* killed by the crash */
	crash_to(&f, HIST_CRASH_POWER_LOSS, KV_12);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	expect_kind(&f, "phantom_commit", 1, 1u);
	fx_free(&f);
}

/* A recovered state that is no prefix and no phantom: recovery_state. */
static void test_crash_recovery_state(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	struct hist_txn *w0 = begin(&f, 1);
	write1(&f, w0, 1, 1);
	commit(&f, w0);
	crash_to(&f, HIST_CRASH_POWER_LOSS,
		 "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		 "INSERT INTO kv VALUES(1, 77), (2, 0);");
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 1);
	const struct oracle_violation *v = expect_kind(&f, "recovery_state", 0);
	assert_false(v->expected);
	fx_free(&f);
}

/* A recovery that failed (recovered_rc) is recovery_failed; with
 * durability NONE after a power loss it is labelled expected. */
static void test_crash_recovery_failed(void **state)
{
	(void)state;
	for (int none = 0; none <= 1; none++) {
		struct fx f;
		fx_init(&f, KV);
		f.cfg.durability = none ? ORACLE_DURABLE_NONE : ORACLE_DURABLE_ALL;
		struct hist_txn *w0 = begin(&f, 1);
		write1(&f, w0, 1, 1);
		commit(&f, w0);
		struct hist_crash *cr = hist_crash_add(&f.h, HIST_CRASH_POWER_LOSS);
		cr->recovered_rc = SQLITE_CORRUPT;
		fx_check(&f);
		assert_int_equal(f.rep.violation_count, 1);
		const struct oracle_violation *v =
			expect_kind(&f, "recovery_failed", 0);
		assert_int_equal(v->expected, none);
		fx_free(&f);
	}
}

/* Journal mode MEMORY: the point where SQLite stopped promising rollback
 * (history.unsafe_event) splits the run. T0's bad read ended before it
 * and stays a failure; T2, which began before the point but ended after
 * it, and the final state (a corrupt row) are labelled
 * journal-memory-unsafe, saying why. Fails if the rule is removed (T2 and
 * the final state unexpected) or widened to the whole run (T0 expected). */
static void test_journal_memory_unsafe_point(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	fx_target(&f, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		      "INSERT INTO kv VALUES(1, 99), (2, 0);");
	struct hist_txn *t0 = begin(&f, 1); /* T0 */
	read1(&f, t0, 1, 42);
	commit(&f, t0);
	struct hist_txn *t2 = begin(&f, 3); /* T1 */
	hist_mark_unsafe(&f.h);
	uint64_t point = f.h.unsafe_event;
	assert_true(point != 0);
	hist_mark_unsafe(&f.h); /* once: a later fault moves nothing */
	assert_int_equal(f.h.unsafe_event, point);
	struct hist_txn *w = begin(&f, 2); /* T2 */
	write1(&f, w, 1, 1);
	commit(&f, w);
	read1(&f, t2, 2, 77);
	commit(&f, t2);
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 3);
	const struct oracle_violation *v = expect_kind(&f, "final_state", 1, 2u);
	assert_true(v->expected);
	assert_string_equal(v->expected_reason, ORACLE_EXPECTED_JOURNAL_MEMORY);
	assert_non_null(strstr(v->detail, "expected under journal_mode=MEMORY or OFF"));
	uint32_t before = 0, after = 0;
	for (uint32_t k = 0; k < f.rep.violation_count; k++) {
		const struct oracle_violation *x = &f.rep.violations[k];
		if (strcmp(x->kind, "read_mismatch") != 0)
			continue;
		assert_int_equal(x->txn_count, 1);
		if (x->txns[0] == 0) {
			before++;
			assert_false(x->expected);
			assert_null(x->expected_reason);
			assert_null(strstr(x->detail, "expected under"));
		} else {
			after++;
			assert_int_equal(x->txns[0], 1);
			assert_true(x->expected);
			assert_string_equal(x->expected_reason,
					    ORACLE_EXPECTED_JOURNAL_MEMORY);
		}
	}
	assert_int_equal(before, 1);
	assert_int_equal(after, 1);
	fx_free(&f);
}

/* Crash verdicts against the unsafe point (durability ALL, as MEMORY
 * with synchronous=FULL promises): a commit lost at a power loss before
 * the point is a failure; the same loss at a power loss after it (or the
 * one that marked it: the driver marks before the crash's own event) is
 * labelled journal-memory-unsafe. With durability NONE the durability
 * rule keeps its own reason. */
static void test_journal_memory_unsafe_crash(void **state)
{
	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		struct fx f;
		fx_init(&f, KV);
		f.cfg.durability = mode == 2 ? ORACLE_DURABLE_NONE : ORACLE_DURABLE_ALL;
		if (mode >= 1)
			hist_mark_unsafe(&f.h);
		lose_second(&f, 0);
		if (mode == 0)
			hist_mark_unsafe(&f.h); /* after the crash */
		fx_check(&f);
		assert_int_equal(f.rep.violation_count, 1);
		const struct oracle_violation *v = expect_kind(&f, "lost_commit", 1, 1u);
		if (mode == 0) {
			assert_false(v->expected);
			assert_null(v->expected_reason);
		} else {
			assert_true(v->expected);
			assert_string_equal(v->expected_reason,
					    mode == 1 ? ORACLE_EXPECTED_JOURNAL_MEMORY
						      : ORACLE_EXPECTED_NO_DURABILITY);
			assert_non_null(strstr(v->detail, mode == 1
					? "expected under journal_mode=MEMORY or OFF"
					: "expected under synchronous=OFF"));
		}
		fx_free(&f);
	}
}

/* With bit flips injected every violation is labelled expected, and says
 * why; bit flips keep their reason past a journal-memory unsafe point. */
static void test_bitflips_expected(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, KV);
	f.cfg.bitflips = true;
	hist_mark_unsafe(&f.h);
	struct hist_txn *r = begin(&f, 1);
	read1(&f, r, 1, 42);
	commit(&f, r);
	crash_to(&f, HIST_CRASH_REOPEN,
		 "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
		 "INSERT INTO kv VALUES(1, 77), (2, 0);");
	fx_check(&f);
	assert_int_equal(f.rep.violation_count, 2);
	for (uint32_t k = 0; k < f.rep.violation_count; k++) {
		assert_true(f.rep.violations[k].expected);
		assert_string_equal(f.rep.violations[k].expected_reason,
				    ORACLE_EXPECTED_BITFLIP);
		assert_non_null(strstr(f.rep.violations[k].detail,
				       "expected under bit flips (SQLite has no page checksums)"));
	}
	expect_kind(&f, "read_mismatch", 1, 0u);
	expect_kind(&f, "recovery_state", 0);
	fx_free(&f);
}

/* The promise per journal mode and synchronous level. */
static void test_durability_for(void **state)
{
	(void)state;
	static const struct {
		const char *jm, *sync;
		enum oracle_durability want;
	} cases[] = {
		{ "wal", "full", ORACLE_DURABLE_ALL },
		{ "wal", "extra", ORACLE_DURABLE_ALL },
		{ "wal", "normal", ORACLE_DURABLE_PREFIX },
		{ "WAL", "NORMAL", ORACLE_DURABLE_PREFIX },
		{ "wal", "off", ORACLE_DURABLE_NONE },
		{ "delete", "full", ORACLE_DURABLE_ALL },
		{ "truncate", "extra", ORACLE_DURABLE_ALL },
		{ "persist", "normal", ORACLE_DURABLE_NONE },
		{ "delete", "normal", ORACLE_DURABLE_NONE },
		{ "delete", "off", ORACLE_DURABLE_NONE },
		{ "memory", "full", ORACLE_DURABLE_ALL },
		{ "memory", "normal", ORACLE_DURABLE_NONE },
		{ "memory", "off", ORACLE_DURABLE_NONE },
		{ "off", "full", ORACLE_DURABLE_NONE },
		{ "wal", "1", ORACLE_DURABLE_PREFIX },
		{ "delete", "2", ORACLE_DURABLE_ALL },
		{ NULL, NULL, ORACLE_DURABLE_ALL },
		{ "wal", NULL, ORACLE_DURABLE_ALL },
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
		if (oracle_durability_for(cases[k].jm, cases[k].sync) != cases[k].want)
			fail_msg("case %zu (%s, %s)", k, cases[k].jm ? cases[k].jm : "NULL",
				 cases[k].sync ? cases[k].sync : "NULL");
}

/* digest_db: equal for equal content whatever the insertion order
 * (same rowids), different for any changed value, type, rowid, row or
 * table. */
static void test_digest(void **state)
{
	(void)state;
	static const char schema[] =
		"CREATE TABLE a(x INTEGER PRIMARY KEY, y, z);"
		"CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID;";
	static const char *const same[] = {
		"INSERT INTO a VALUES(1, 'p', X'00'), (2, 2.5, NULL), (3, 3, 'q');"
		"INSERT INTO w VALUES('m', 1), ('n', 2);",
		"INSERT INTO w VALUES('n', 2), ('m', 1);"
		"INSERT INTO a VALUES(3, 3, 'q'), (1, 'p', X'00'), (2, 2.5, NULL);",
	};
	static const char *const other[] = {
		"INSERT INTO a VALUES(1, 'p', X'00'), (2, 2.5, NULL), (3, 4, 'q');"
		"INSERT INTO w VALUES('m', 1), ('n', 2);",
		"INSERT INTO a VALUES(1, 'p', X'00'), (2, 2.5, NULL), (3, 3.0, 'q');"
		"INSERT INTO w VALUES('m', 1), ('n', 2);",
		"INSERT INTO a VALUES(1, X'70', X'00'), (2, 2.5, NULL), (3, 3, 'q');"
		"INSERT INTO w VALUES('m', 1), ('n', 2);",
		"INSERT INTO a VALUES(1, 'p', X'00'), (2, 2.5, 0), (3, 3, 'q');"
		"INSERT INTO w VALUES('m', 1), ('n', 2);",
		"INSERT INTO a VALUES(1, 'p', X'00'), (2, 2.5, NULL), (4, 3, 'q');"
		"INSERT INTO w VALUES('m', 1), ('n', 2);",
		"INSERT INTO a VALUES(1, 'p', X'00'), (2, 2.5, NULL), (3, 3, 'q');"
		"INSERT INTO w VALUES('m', 1), ('o', 2);",
		"INSERT INTO a VALUES(1, 'p', X'00'), (2, 2.5, NULL), (3, 3, 'q');"
		"INSERT INTO w VALUES('m', 1);",
		"INSERT INTO a VALUES(1, 'p', X'0000'), (2, 2.5, NULL), (3, 3, 'q');"
		"INSERT INTO w VALUES('m', 1), ('n', 2);",
		"INSERT INTO a VALUES(1, 'p', X'00'), (2, 2.5, NULL), (3, 3, 'q');"
		"INSERT INTO w VALUES('m', 1), ('n', 2); CREATE TABLE e(q);",
	};
	char sql[512];
	snprintf(sql, sizeof sql, "%s%s", schema, same[0]);
	uint64_t d0 = digest_of(sql);
	snprintf(sql, sizeof sql, "%s%s", schema, same[1]);
	assert_true(digest_of(sql) == d0);
	for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) {
		snprintf(sql, sizeof sql, "%s%s", schema, other[k]);
		if (digest_of(sql) == d0)
			fail_msg("variant %zu has the same digest", k);
	}
}

/* ------------------------------------------------------------------ */
/* Histories recorded from real SQLite connections                      */
/* ------------------------------------------------------------------ */

/* A few connections to one database, interleaved statement by statement
 * in one thread with a seeded generator: a bank (transfers and audits)
 * whose history is recorded exactly as a driver would. */
#define LIVE_CONNS 4
#define LIVE_ACCOUNTS 8

struct live_conn {
	sqlite3 *db;
	struct hist_txn *t;       /* open transaction, or NULL */
	int kind;                 /* 0 transfer, 1 audit */
	int next;                 /* next statement index */
	int64_t a, b, amount;
};

struct live {
	struct fx *f;
	struct live_conn conns[LIVE_CONNS];
	uint64_t rng;
};

static uint64_t live_rnd(struct live *l)
{
	l->rng ^= l->rng >> 12;
	l->rng ^= l->rng << 25;
	l->rng ^= l->rng >> 27;
	return l->rng * 2685821657736338717ull;
}

/* Runs sql with integer params on c and records it; returns the rc. */
static int live_exec(struct live *l, struct live_conn *c, const char *sql,
		     const int64_t *params, uint32_t np)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	assert_int_equal(rc, SQLITE_OK);
	struct wh_value pv[4], cells[LIVE_ACCOUNTS * 2];
	for (uint32_t k = 0; k < np; k++) {
		pv[k] = I(params[k]);
		sqlite3_bind_int64(st, (int)k + 1, params[k]);
	}
	uint32_t rows = 0, cols = (uint32_t)sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (uint32_t k = 0; k < cols; k++) {
			struct wh_value *v = &cells[rows * cols + k];
			v->type = sqlite3_column_type(st, (int)k);
			v->i = sqlite3_column_int64(st, (int)k);
			assert_true(v->type == SQLITE_INTEGER || v->type == SQLITE_NULL);
		}
		rows++;
		assert_true(rows * cols <= LIVE_ACCOUNTS * 2);
	}
	int64_t changes = sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes(c->db);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		rows = 0;
	hist_stmt_add(&l->f->h, c->t, sql, NULL, pv, np, rc, changes, cols,
		      rows, rows ? cells : NULL, false);
	return rc;
}

static void live_abort(struct live *l, struct live_conn *c, int rc)
{
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	hist_txn_end(&l->f->h, c->t, HIST_ABORTED, rc, 0);
	c->t = NULL;
}

/* One step of connection c: begin, one statement, or commit. */
static void live_step(struct live *l, struct live_conn *c, int conn_id)
{
	if (c->t == NULL) {
		c->kind = live_rnd(l) % 4 == 0;
		c->a = (int64_t)(live_rnd(l) % LIVE_ACCOUNTS) + 1;
		c->b = (int64_t)(live_rnd(l) % LIVE_ACCOUNTS) + 1;
		c->amount = (int64_t)(live_rnd(l) % 50) + 1;
		c->next = 0;
		c->t = hist_txn_begin(&l->f->h, conn_id,
				      c->kind ? "audit" : "transfer",
				      HIST_BEGIN_DEFERRED, 0);
		assert_int_equal(sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL),
				 SQLITE_OK);
		return;
	}
	static const char *transfer[] = {
		"SELECT bal FROM acct WHERE id = ?1",
		"UPDATE acct SET bal = bal - ?2 WHERE id = ?1",
		"UPDATE acct SET bal = bal + ?2 WHERE id = ?1",
	};
	static const char *audit[] = {
		"SELECT sum(bal) FROM acct",
		"SELECT id, bal FROM acct WHERE id IN (?1, ?2)",
	};
	int n = c->kind ? 2 : 3;
	if (c->next < n) {
		int rc;
		if (c->kind) {
			int64_t p[2] = { c->a, c->b };
			rc = live_exec(l, c, audit[c->next], p,
				       c->next == 0 ? 0 : 2);
		} else {
			int64_t p[2] = { c->next == 2 ? c->b : c->a, c->amount };
			rc = live_exec(l, c, transfer[c->next], p,
				       c->next == 0 ? 1 : 2);
		}
		c->next++;
		if (rc != SQLITE_DONE)
			live_abort(l, c, rc);
		return;
	}
	hist_txn_commit_start(&l->f->h, c->t);
	int rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		live_abort(l, c, rc);
		return;
	}
	hist_txn_end(&l->f->h, c->t, HIST_COMMITTED, SQLITE_OK, 0);
	c->t = NULL;
}

/* Runs a live history of steps on name (opened with flags) and checks it.
 * Returns the number of violations. */
static uint32_t live_run(uint64_t seed, const char *name, int flags,
			 bool uncommitted, bool final, int steps)
{
	static const char setup[] =
		"CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER NOT NULL);"
		"INSERT INTO acct VALUES(1,100),(2,100),(3,100),(4,100),"
		"(5,100),(6,100),(7,100),(8,100);";
	struct fx f;
	fx_init(&f, setup);
	struct live l = { .f = &f, .rng = seed * 0x9e3779b97f4a7c15ull + 1 };
	for (int k = 0; k < LIVE_CONNS; k++) {
		assert_int_equal(sqlite3_open_v2(name, &l.conns[k].db, flags, NULL),
				 SQLITE_OK);
		if (k == 0) {
			assert_int_equal(sqlite3_exec(l.conns[0].db, setup, NULL,
						      NULL, NULL),
					 SQLITE_OK);
		}
		if (uncommitted)
			sqlite3_exec(l.conns[k].db, "PRAGMA read_uncommitted = 1",
				     NULL, NULL, NULL);
	}
	for (int s = 0; s < steps; s++) {
		int k = (int)(live_rnd(&l) % LIVE_CONNS);
		live_step(&l, &l.conns[k], k);
	}
	/* Closing rolls back what is still open: those stay RUNNING. */
	for (int k = 0; k < LIVE_CONNS; k++)
		assert_int_equal(sqlite3_close(l.conns[k].db), SQLITE_OK);
	if (final)
		f.cfg.target_path = name;
	fx_check(&f);
	uint32_t n = f.rep.violation_count;
	if (n > 0 && !uncommitted)
		fx_dump(&f);
	fx_free(&f);
	return n;
}

/* Interleaved transactions of real SQLite connections in WAL mode are
 * serializable: 40 seeds of such histories (commits, busy aborts,
 * snapshot reads, transactions left running) must all pass, final state
 * included. */
static void test_live_wal_histories_pass(void **state)
{
	(void)state;
	char dir[] = "/tmp/whopper-oracle-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof path, "%s/live.db", dir);
	for (uint64_t seed = 1; seed <= 40; seed++) {
		unlink(path);
		sqlite3 *db;
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = wal",
					      NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
		uint32_t n = live_run(seed, path,
				      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				      false, true, 600);
		if (n != 0)
			fail_msg("seed %llu: %u violations", (unsigned long long)seed, n);
	}
	char p[96];
	const char *suffix[] = { "", "-wal", "-shm" };
	for (size_t k = 0; k < 3; k++) {
		snprintf(p, sizeof p, "%s%s", path, suffix[k]);
		unlink(p);
	}
	rmdir(dir);
}

/* Shared cache with read_uncommitted = 1 allows dirty reads (documented
 * SQLite behaviour): the oracle must catch some within 20 seeds, and the
 * same histories without read_uncommitted must all pass. */
static void test_live_read_uncommitted_caught(void **state)
{
	(void)state;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_URI | SQLITE_OPEN_SHAREDCACHE;
	uint32_t caught = 0;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		char name[64];
		snprintf(name, sizeof name, "file:whopper_ru_%llu?mode=memory",
			 (unsigned long long)seed);
		caught += live_run(seed, name, flags, true, false, 400) > 0;
		uint32_t honest = live_run(seed, name, flags, false, false, 400);
		if (honest != 0)
			fail_msg("seed %llu without read_uncommitted: %u violations",
				 (unsigned long long)seed, honest);
	}
	if (getenv("ORACLE_TEST_VERBOSE"))
		fprintf(stderr, "  read_uncommitted caught in %u of 20 seeds\n",
			caught);
	assert_true(caught > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass_serial),
		cmocka_unit_test(test_reference_step_budget),
		cmocka_unit_test(test_pass_window_intermediate),
		cmocka_unit_test(test_pass_commit_visible_before_return),
		cmocka_unit_test(test_pass_autocommit),
		cmocka_unit_test(test_pass_aborted_consistent),
		cmocka_unit_test(test_pass_errors_and_multiset),
		cmocka_unit_test(test_multiset_mismatch),
		cmocka_unit_test(test_pass_or_rollback),
		cmocka_unit_test(test_pass_indeterminate_happened),
		cmocka_unit_test(test_pass_indeterminate_not),
		cmocka_unit_test(test_pass_running_in_commit),
		cmocka_unit_test(test_indeterminate_autocommit),
		cmocka_unit_test(test_uncertain_statement),
		cmocka_unit_test(test_indeterminate_placed_by_release),
		cmocka_unit_test(test_indeterminate_budget),
		cmocka_unit_test(test_indeterminate_none_happened),
		cmocka_unit_test(test_indeterminate_explore_near_failure),
		cmocka_unit_test(test_pass_final_state),
		cmocka_unit_test(test_aborted_read),
		cmocka_unit_test(test_intermediate_read),
		cmocka_unit_test(test_aborted_read_by_constraint),
		cmocka_unit_test(test_dirty_read_running),
		cmocka_unit_test(test_lost_update),
		cmocka_unit_test(test_write_skew),
		cmocka_unit_test(test_read_skew),
		cmocka_unit_test(test_read_mismatch),
		cmocka_unit_test(test_stale_read),
		cmocka_unit_test(test_changes_and_order_mismatch),
		cmocka_unit_test(test_stale_schema_error),
		cmocka_unit_test(test_error_without_table_not_stale),
		cmocka_unit_test(test_lost_commit),
		cmocka_unit_test(test_phantom_commit),
		cmocka_unit_test(test_final_state),
		cmocka_unit_test(test_foreign_key_check),
		cmocka_unit_test(test_invariant),
		cmocka_unit_test(test_invariant_target_only),
		cmocka_unit_test(test_integrity_check),
		cmocka_unit_test(test_target_hot_journal),
		cmocka_unit_test(test_bad_setup),
		cmocka_unit_test(test_nocheck_not_compared),
		cmocka_unit_test(test_noreplay_not_run),
		cmocka_unit_test(test_drop_changes_not_compared),
		cmocka_unit_test(test_probe_savepoints_only),
		cmocka_unit_test(test_apply_savepoint_left_open),
		cmocka_unit_test(test_or_rollback_after_batch),
		cmocka_unit_test(test_deferred_fk_commit),
		cmocka_unit_test(test_solo_statement),
		cmocka_unit_test(test_visibility_order_window),
		cmocka_unit_test(test_crash_all_lost_commit),
		cmocka_unit_test(test_crash_prefix_lost_noted),
		cmocka_unit_test(test_crash_none_expected),
		cmocka_unit_test(test_crash_all_full_prefix),
		cmocka_unit_test(test_crash_explained),
		cmocka_unit_test(test_crash_twice),
		cmocka_unit_test(test_crash_reopen_lost_commit),
		cmocka_unit_test(test_crash_indeterminate_either_way),
		cmocka_unit_test(test_crash_autocommit_in_flight),
		cmocka_unit_test(test_crash_autocommit_placed_by_end),
		cmocka_unit_test(test_crash_phantom),
		cmocka_unit_test(test_crash_recovery_state),
		cmocka_unit_test(test_crash_recovery_failed),
		cmocka_unit_test(test_journal_memory_unsafe_point),
		cmocka_unit_test(test_journal_memory_unsafe_crash),
		cmocka_unit_test(test_bitflips_expected),
		cmocka_unit_test(test_durability_for),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_live_wal_histories_pass),
		cmocka_unit_test(test_live_read_uncommitted_caught),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
