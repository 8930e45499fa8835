/*
 * test_workloads.c - workload files: the parser's errors (one broken file
 * per error class, each naming file:line[:col]), the generators'
 * distributions and determinism, the interpreter (\gset read-modify-write,
 * \if/\elif/\else, \rollback, unique()), --param overrides (own and
 * routed to includes), \requires (its errors, includes left out for an
 * older SQLite, the built-ins' declarations), the Elle map and statement
 * flags, and every built-in run end to end: 6 connections, 20 seeds,
 * under the oracle, with no violation and no finding.
 *
 * The interpreter is driven directly (no world) by a small serial
 * executor on an in-memory SQLite: it runs what txn_next asks for and
 * hands the statement back as `prev`, as the driver does.
 */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "oracle_world.h"
#include "rcname.h"
#include "wl_int.h"
#include "workloads.h"
#include "world.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static struct workload *load_ok(const char *text, const char *const *params,
				uint32_t param_count)
{
	struct workload *wl = NULL;
	char err[512];
	int rc = wl_load_text("t.sql", text, strlen(text), params, param_count, WL_SQLITE_ANY,
			      &wl, err, sizeof err);
	if (rc != 0)
		fail_msg("unexpected load error: %s", err);
	assert_non_null(wl);
	return wl;
}

/* Loads text expecting an error that starts with `where` ("t.sql:3:5: ")
 * and contains `what`; *out must stay untouched. */
static void expect_error(const char *text, const char *const *params,
			 uint32_t param_count, const char *where, const char *what)
{
	struct workload *sentinel = (struct workload *)(uintptr_t)0x5a5a;
	struct workload *wl = sentinel;
	char err[512] = "";
	int rc = wl_load_text("t.sql", text, strlen(text), params, param_count, WL_SQLITE_ANY,
			      &wl, err, sizeof err);
	if (rc != 2 || strncmp(err, where, strlen(where)) != 0 || strstr(err, what) == NULL)
		fail_msg("for input:\n%s\nwanted rc 2, \"%s...%s\"; got rc %d, \"%s\"", text,
			 where, what, rc, err);
	assert_ptr_equal(wl, sentinel); /* never half-loaded */
	assert_null(strchr(err, '\n'));
}

/* A statement result in the driver's shape, built by the serial executor. */
struct result {
	struct hist_stmt st;
	struct wh_value cells[256];
};

static void result_free(struct result *r)
{
	for (uint32_t k = 0; k < r->st.row_count * r->st.col_count && k < 256; k++)
		wh_value_free(&r->cells[k]);
	memset(&r->st, 0, sizeof r->st);
}

static void bind_all(sqlite3_stmt *ps, const struct wl_action *a)
{
	for (uint32_t k = 0; k < a->param_count; k++) {
		const struct wh_value *v = &a->params[k];
		int i = (int)k + 1;
		switch (v->type) {
		case SQLITE_INTEGER:
			sqlite3_bind_int64(ps, i, v->i);
			break;
		case SQLITE_FLOAT:
			sqlite3_bind_double(ps, i, v->f);
			break;
		case SQLITE_TEXT:
			sqlite3_bind_text(ps, i, (const char *)v->p, (int)v->n, SQLITE_TRANSIENT);
			break;
		case SQLITE_BLOB:
			sqlite3_bind_blob(ps, i, v->n ? (const void *)v->p : "", (int)v->n,
					  SQLITE_TRANSIENT);
			break;
		default:
			sqlite3_bind_null(ps, i);
		}
	}
}

/* Run one statement action; rows (up to the cell capacity) into r. */
static int exec_action(sqlite3 *db, const struct wl_action *a, struct result *r)
{
	sqlite3_stmt *ps = NULL;
	memset(&r->st, 0, sizeof r->st);
	r->st.cells = r->cells;
	int rc = sqlite3_prepare_v2(db, a->sql, -1, &ps, NULL);
	if (rc != SQLITE_OK)
		return rc;
	bind_all(ps, a);
	r->st.col_count = (uint32_t)sqlite3_column_count(ps);
	while ((rc = sqlite3_step(ps)) == SQLITE_ROW) {
		if ((r->st.row_count + 1) * r->st.col_count > 256)
			continue;
		for (uint32_t c = 0; c < r->st.col_count; c++) {
			struct wh_value *v = &r->cells[r->st.row_count * r->st.col_count + c];
			memset(v, 0, sizeof *v);
			v->type = sqlite3_column_type(ps, (int)c);
			if (v->type == SQLITE_INTEGER) {
				v->i = sqlite3_column_int64(ps, (int)c);
			} else if (v->type == SQLITE_FLOAT) {
				v->f = sqlite3_column_double(ps, (int)c);
			} else if (v->type == SQLITE_TEXT || v->type == SQLITE_BLOB) {
				const void *p = v->type == SQLITE_TEXT
							? (const void *)sqlite3_column_text(ps, (int)c)
							: sqlite3_column_blob(ps, (int)c);
				v->n = (uint32_t)sqlite3_column_bytes(ps, (int)c);
				v->p = malloc(v->n + 1);
				memcpy(v->p, p ? p : "", v->n);
				v->p[v->n] = 0;
			}
		}
		r->st.row_count++;
	}
	sqlite3_finalize(ps);
	r->st.rc = rc == SQLITE_DONE ? SQLITE_DONE : rc;
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static sqlite3 *open_setup(const struct workload *wl)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (uint32_t k = 0; k < wl->pragma_count; k++) {
		char sql[256];
		snprintf(sql, sizeof sql, "PRAGMA %s", wl->pragmas[k]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	assert_int_equal(sqlite3_exec(db, wl->setup_sql, NULL, NULL, NULL), SQLITE_OK);
	return db;
}

struct serial_stats {
	uint32_t committed, aborted, rolled_back, statements, sleeps;
};

/* Run txn_count transactions serially, round-robin over conn_count
 * connections. log (optional) receives one line per action. */
static struct serial_stats serial_run(const struct workload *wl, sqlite3 *db,
				      uint64_t seed, uint32_t conn_count,
				      uint32_t txn_count, FILE *log)
{
	struct serial_stats s = {0};
	void *cs[8];
	struct wh_prng rng[8];
	assert_true(conn_count <= 8);
	for (uint32_t c = 0; c < conn_count; c++) {
		cs[c] = wl->ops->conn_new(wl, c);
		wh_prng_seed(&rng[c], seed, WH_STREAM_CONN + c);
	}
	for (uint32_t t = 0; t < txn_count; t++) {
		uint32_t c = t % conn_count;
		const char *name;
		enum hist_begin begin;
		wl->ops->txn_begin(cs[c], &rng[c], &name, &begin);
		if (log)
			fprintf(log, "txn %s begin=%d\n", name, (int)begin);
		if (begin != HIST_BEGIN_AUTOCOMMIT)
			assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
		struct result prev;
		memset(&prev, 0, sizeof prev);
		bool have_prev = false;
		for (uint32_t step = 0;; step++) {
			assert_true(step < 10000);
			struct wl_action a;
			wl->ops->txn_next(cs[c], &rng[c], have_prev ? &prev.st : NULL, &a);
			if (a.kind == WL_ACT_STMT) {
				result_free(&prev);
				s.statements++;
				int rc = exec_action(db, &a, &prev);
				have_prev = true;
				if (log) {
					fprintf(log, "  %s rc=%d", a.tmpl, rc);
					for (uint32_t k = 0; k < a.param_count; k++)
						if (a.params[k].type == SQLITE_INTEGER)
							fprintf(log, " ?%u=%lld", k + 1,
								(long long)a.params[k].i);
					fprintf(log, "\n");
				}
				if (rc != SQLITE_OK) {
					if (!sqlite3_get_autocommit(db))
						sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
					s.aborted++;
					wl->ops->txn_end(cs[c], HIST_ABORTED);
					break;
				}
				if (begin == HIST_BEGIN_AUTOCOMMIT) {
					s.committed++;
					wl->ops->txn_end(cs[c], HIST_COMMITTED);
					break;
				}
			} else if (a.kind == WL_ACT_SLEEP) {
				s.sleeps++;
			} else if (a.kind == WL_ACT_COMMIT) {
				assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
						 SQLITE_OK);
				s.committed++;
				wl->ops->txn_end(cs[c], HIST_COMMITTED);
				break;
			} else {
				assert_int_equal(a.kind, WL_ACT_ROLLBACK);
				assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
						 SQLITE_OK);
				s.rolled_back++;
				wl->ops->txn_end(cs[c], HIST_ABORTED);
				if (log)
					fprintf(log, "  rollback\n");
				break;
			}
		}
		result_free(&prev);
	}
	for (uint32_t c = 0; c < conn_count; c++)
		wl->ops->conn_free(cs[c]);
	return s;
}

static void check_invariants(const struct workload *wl, sqlite3 *db)
{
	for (uint32_t k = 0; k < wl->invariant_count; k++) {
		sqlite3_stmt *ps = NULL;
		assert_int_equal(sqlite3_prepare_v2(db, wl->invariants[k], -1, &ps, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(ps), SQLITE_ROW);
		if (sqlite3_column_int64(ps, 0) == 0)
			fail_msg("%s: invariant failed: %s", wl->name, wl->invariants[k]);
		sqlite3_finalize(ps);
	}
	sqlite3_stmt *ps = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &ps, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(ps), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(ps, 0), "ok");
	sqlite3_finalize(ps);
}

/* ------------------------------------------------------------------ */
/* The built-in table                                                  */
/* ------------------------------------------------------------------ */

/* At least the eleven required built-ins plus default; default lists
 * first; each has a description, setup, template and invariant; names are
 * unique and wl_find agrees with the listing. */
static void test_builtins_listed(void **state)
{
	(void)state;
	static const char *const required[] = {
		"default", "bank", "counter", "list-append", "rw-register", "inventory",
		"index-heavy", "blobs", "ddl-churn", "checkpoints", "savepoints",
		"delete-heavy", "job-queue"};
	uint32_t n = 0;
	while (wl_builtin(n) != NULL)
		n++;
	assert_true(n >= 13);
	assert_string_equal(wl_builtin(0)->name, "default");
	for (size_t k = 0; k < sizeof required / sizeof required[0]; k++) {
		const struct workload *wl = wl_find(required[k]);
		if (wl == NULL)
			fail_msg("built-in %s missing", required[k]);
		assert_string_equal(wl->name, required[k]);
		assert_non_null(wl->description);
		assert_true(strlen(wl->setup_sql) > 0);
		assert_true(wl->invariant_count > 0);
		assert_ptr_equal(wl->ops, &wl__interp_ops);
		assert_non_null(wl->source);
	}
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = i + 1; j < n; j++)
			assert_true(strcmp(wl_builtin(i)->name, wl_builtin(j)->name) != 0);
	assert_null(wl_find("no-such-workload"));
	const struct workload *out = NULL;
	char err[256];
	assert_int_equal(wl_resolve("bank", &out, err, sizeof err), 0);
	assert_ptr_equal(out, wl_find("bank"));
	assert_int_equal(wl_resolve("nope", &out, err, sizeof err), 2);
	assert_non_null(strstr(err, "unknown workload 'nope'"));
	assert_int_equal(wl_resolve("/no/such/file.sql", &out, err, sizeof err), 2);
	assert_non_null(strstr(err, "/no/such/file.sql: cannot open"));
}

/* Built-ins that default leaves out: job-queue came after default, and
 * mixing it in would change every run of default (its setup, its draws:
 * trace hashes, and recordings of it, which replay refuses once the
 * workload changed). */
static bool kept_out_of_default(const char *name)
{
	return strcmp(name, "job-queue") == 0;
}

/* The default mix holds every other built-in's templates under a prefix
 * (but those kept out), their invariants and merged pragmas; the hash
 * covers all of them. */
static void test_default_mix(void **state)
{
	(void)state;
	const struct workload *d = wl_find("default");
	const struct wl__prog *p = d->impl;
	uint32_t n = 0, kept_out = 0;
	for (; wl_builtin(n) != NULL; n++)
		kept_out += kept_out_of_default(wl_builtin(n)->name);
	assert_int_equal(kept_out, 1);
	assert_int_equal(p->root->include_count, n - 1 - kept_out);
	uint32_t invariants = 0;
	for (uint32_t i = 1; i < n; i++)
		if (!kept_out_of_default(wl_builtin(i)->name))
			invariants += wl_builtin(i)->invariant_count;
	assert_int_equal(d->invariant_count, invariants);
	bool fk = false, ckpt = false;
	for (uint32_t k = 0; k < d->pragma_count; k++) {
		fk |= strcmp(d->pragmas[k], "foreign_keys=ON") == 0;
		ckpt |= strncmp(d->pragmas[k], "wal_autocheckpoint=", 19) == 0;
	}
	assert_true(fk && ckpt);
	assert_non_null(strstr(d->setup_sql, "CREATE TABLE accounts"));
	assert_non_null(strstr(d->setup_sql, "CREATE TABLE dh_rows"));
	assert_true(d->content_hash != wl_find("bank")->content_hash);
	/* templates come out prefixed, from several includes */
	void *cs = d->ops->conn_new(d, 0);
	struct wh_prng rng;
	wh_prng_seed(&rng, 5, WH_STREAM_CONN);
	bool bank = false, ck = false;
	for (int k = 0; k < 400; k++) {
		const char *name;
		enum hist_begin b;
		d->ops->txn_begin(cs, &rng, &name, &b);
		assert_non_null(strchr(name, '/'));
		bank |= strncmp(name, "bank/", 5) == 0;
		ck |= strncmp(name, "checkpoints/", 12) == 0;
	}
	assert_true(bank && ck);
	d->ops->conn_free(cs);
}

/* Every built-in runs 300 transactions serially on an in-memory database
 * (no concurrency): its invariants and integrity_check hold, and most
 * transactions commit. */
static void test_builtins_serial(void **state)
{
	(void)state;
	for (uint32_t i = 0; wl_builtin(i) != NULL; i++) {
		const struct workload *wl = wl_builtin(i);
		sqlite3 *db = open_setup(wl);
		check_invariants(wl, db);
		struct serial_stats s = serial_run(wl, db, 42 + i, 3, 300, NULL);
		check_invariants(wl, db);
		if (s.committed < 150)
			fail_msg("%s: only %u of 300 committed serially", wl->name, s.committed);
		sqlite3_close(db);
	}
}

/* ------------------------------------------------------------------ */
/* Parser errors: one broken file per error class                      */
/* ------------------------------------------------------------------ */

struct bad_file {
	const char *text;
	const char *where;   /* expected prefix */
	const char *what;    /* expected substring */
};

static const struct bad_file bad_files[] = {
	/* lines and sections */
	{"\\transaction t\n\\frobnicate\nSELECT 1;\n", "t.sql:2:1: ", "unknown meta-command '\\frobnicate'"},
	{"\\transaction t\nSELECT 1 AS x;\n\\gsett\n", "t.sql:3:1: ", "unknown meta-command '\\gsett' (did you mean \\gset?)"},
	{"\\transction t\nSELECT 1;\n", "t.sql:1:1: ", "unknown meta-command '\\transction' (did you mean \\transaction?)"},
	{"SELECT 1;\n", "t.sql:1:1: ", "SQL outside a section"},
	{"\\transaction t\nSELECT 1\n", "t.sql:2:9: ", "not terminated by ';'"},
	{"\\transaction t\nSELECT 'abc;\n", "t.sql:2:8: ", "unterminated string literal"},
	{"\\transaction t\n/* open\nSELECT 1;\n", "t.sql:2:1: ", "unterminated /* comment"},
	{"\\transaction t\nSELECT 1 \\set x 1\n", "t.sql:2:9: ", "not terminated by ';' before \\set (line 2)"},
	{"\\transaction t\nUPDATE a SET x = 1\n  WHERE y = 'a\nb'\n\\transaction u\nSELECT 1;\n", "t.sql:4:3: ", "not terminated by ';' before \\transaction (line 5)"},
	{"\\transaction t\nSELECT 1;\n\\transaction t\nSELECT 2;\n", "t.sql:3:", "transaction 't' already defined at line 1"},
	{"\\transaction t\n", "t.sql:1: ", "has no SQL statement"},
	{"\\setup\nCREATE TABLE a(x);\n", "t.sql: ", "no transaction templates"},
	{"\\setup\n\\setup\n\\transaction t\nSELECT 1;\n", "t.sql:2:1: ", "second \\setup section"},
	{"\\transaction t\nSELECT 1;\n\\param n 1\n", "t.sql:3:1: ", "must come before the first section"},
	/* declarations */
	{"\\param n\n\\transaction t\nSELECT 1;\n", "t.sql:1:1: ", "usage: \\param NAME DEFAULT"},
	{"\\param n abc\n\\transaction t\nSELECT 1;\n", "t.sql:1:10: ", "invalid default 'abc'"},
	{"\\param n 1\n\\param n 2\n\\transaction t\nSELECT 1;\n", "t.sql:2:8: ", "already declared at line 1"},
	{"\\pragma journal_mode=delete\n\\transaction t\nSELECT 1;\n", "t.sql:1:1: ", "journal_mode is not allowed"},
	{"\\pragma nonsense\n\\transaction t\nSELECT 1;\n", "t.sql:1:1: ", "usage: \\pragma NAME=VALUE"},
	{"\\shape graph\n\\transaction t\nSELECT 1;\n", "t.sql:1:1: ", "usage: \\shape"},
	{"\\include nope\n", "t.sql:1: ", "no such built-in workload"},
	{"\\requires\n\\transaction t\nSELECT 1;\n", "t.sql:1:1: ", "usage: \\requires sqlite VERSION [REASON]"},
	{"\\requires sqlite\n\\transaction t\nSELECT 1;\n", "t.sql:1:1: ", "usage: \\requires sqlite VERSION"},
	{"\\requires mysql 8.0\n\\transaction t\nSELECT 1;\n", "t.sql:1:11: ", "unknown product 'mysql' (only 'sqlite')"},
	{"\\requires sqlite 3.x why\n\\transaction t\nSELECT 1;\n", "t.sql:1:18: ", "invalid SQLite version '3.x'"},
	{"\\requires sqlite 4.0.0\n\\transaction t\nSELECT 1;\n", "t.sql:1:18: ", "invalid SQLite version '4.0.0'"},
	{"\\requires sqlite 3\n\\transaction t\nSELECT 1;\n", "t.sql:1:18: ", "invalid SQLite version '3'"},
	{"\\requires sqlite 3.8.4.3\n\\transaction t\nSELECT 1;\n", "t.sql:1:18: ", "invalid SQLite version '3.8.4.3'"},
	{"\\requires sqlite 3.1000\n\\transaction t\nSELECT 1;\n", "t.sql:1:18: ", "invalid SQLite version '3.1000'"},
	{"\\requires sqlite 3.35.\n\\transaction t\nSELECT 1;\n", "t.sql:1:18: ", "invalid SQLite version '3.35.'"},
	{"\\requires sqlite 3.7.17\n\\transaction t\nSELECT 1;\n", "t.sql:1:18: ", "no SQLite older than 3.7.17 anyway: drop the line"},
	{"\\transaction t\nSELECT 1;\n\\requires sqlite 3.9.0\n", "t.sql:3:1: ", "\\requires is a declaration: it must come before the first section"},
	/* transaction headers */
	{"\\transaction t @0\nSELECT 1;\n", "t.sql:1:16: ", "invalid weight '0'"},
	{"\\transaction t eventually\nSELECT 1;\n", "t.sql:1:16: ", "unknown begin kind 'eventually'"},
	{"\\transaction t autocommit immediate\nSELECT 1;\n", "t.sql:1:1: ", "autocommit cannot be mixed"},
	{"\\transaction 9t\nSELECT 1;\n", "t.sql:1:14: ", "invalid transaction name '9t'"},
	/* bodies */
	{"\\transaction t\n\\if 1\nSELECT 1;\n", "t.sql:2: ", "\\if without \\endif"},
	{"\\transaction t\n\\else\nSELECT 1;\n", "t.sql:2:1: ", "\\else without \\if"},
	{"\\transaction t\nSELECT 1;\n\\endif\n", "t.sql:3:1: ", "\\endif without \\if"},
	{"\\transaction t\n\\if 1\n\\else\nSELECT 1;\n\\elif 2\n\\endif\n", "t.sql:5:1: ", "\\elif after \\else"},
	{"\\transaction t\n\\gset\nSELECT 1;\n", "t.sql:2:1: ", "must directly follow the SQL statement"},
	{"\\transaction t\nBEGIN;\nSELECT 1;\n", "t.sql:2:1: ", "transaction control belongs to the template"},
	{"\\transaction t\nSELECT 1;\nCOMMIT;\n", "t.sql:3:1: ", "transaction control belongs to the template"},
	{"\\transaction t autocommit\nSELECT 1;\nSELECT 2;\n", "t.sql:3:1: ", "exactly one statement: outside BEGIN each statement is a transaction of its own"},
	{"\\transaction t autocommit\n\\sleep 1 ms\nSELECT 1;\n", "t.sql:2:1: ", "an autocommit template is one statement"},
	{"\\transaction t\nPRAGMA wal_checkpoint;\n", "t.sql:2:1: ", "PRAGMA wal_checkpoint fails inside a transaction"},
	{"\\transaction t\nPRAGMA foreign_keys = OFF;\n", "t.sql:2:8: ", "PRAGMA foreign_keys may not run inside a transaction"},
	{"\\transaction t autocommit\nSAVEPOINT a;\n", "t.sql:2:1: ", "savepoints need a transaction"},
	/* names and expressions */
	{"\\transaction t\nSELECT :nope;\n", "t.sql:2:8: ", "unknown variable :nope"},
	{"\\transaction u\n\\set x 1\nSELECT :x;\n\\transaction t\nSELECT :x;\n", "t.sql:5:8: ", "unknown variable :x"},
	{"\\transaction t\n\\set x 1 +\nSELECT :x;\n", "t.sql:2:11: ", "expression ends too early"},
	{"\\transaction t\n\\set x 1 2\nSELECT :x;\n", "t.sql:2:10: ", "unexpected text after the expression"},
	{"\\transaction t\n\\set x frob(1)\nSELECT :x;\n", "t.sql:2:8: ", "unknown function 'frob'"},
	{"\\transaction t\n\\set x randon(1, 2)\nSELECT :x;\n", "t.sql:2:8: ", "unknown function 'randon' (did you mean random?)"},
	{"\\transaction t\n\\set x random(1)\nSELECT :x;\n", "t.sql:2:8: ", "random takes 2 arguments, got 1"},
	{"\\transaction t\n\\set x random(5, 1)\nSELECT :x;\n", "t.sql:2:8: ", "empty range"},
	{"\\transaction t\n\\set x random_gaussian(1, 10, 1.5)\nSELECT :x;\n", "t.sql:2:8: ", "parameter must be at least 2.0"},
	{"\\transaction t\n\\set x random_zipfian(1, 10, 1.0)\nSELECT :x;\n", "t.sql:2:8: ", "parameter must be in [1.001, 1000]"},
	{"\\transaction t\n\\set x random_exponential(1, 10, 0)\nSELECT :x;\n", "t.sql:2:8: ", "parameter must be greater than 0"},
	{"\\param n 1\n\\transaction t\n\\set n 2\nSELECT 1;\n", "t.sql:3:1: ", "'n' is a parameter"},
	/* non-deterministic or unreplayable SQL */
	{"\\transaction t\nSELECT random();\n", "t.sql:2:8: ", "random() is not deterministic"},
	{"\\transaction t\nSELECT 1, randomblob(4);\n", "t.sql:2:11: ", "randomblob() is not deterministic"},
	{"\\transaction t\nSELECT date('now');\n", "t.sql:2:13: ", "'now' reads the clock"},
	{"\\transaction t\nSELECT julianday();\n", "t.sql:2:8: ", "julianday() without a time value"},
	{"\\setup\nCREATE TABLE a(t DEFAULT CURRENT_TIMESTAMP);\n\\transaction t\nSELECT 1;\n", "t.sql:2:26: ", "CURRENT_TIMESTAMP reads the clock"},
	{"\\transaction t\nSELECT changes();\n", "t.sql:2:8: ", "changes() is not deterministic"},
	{"\\transaction t\nSELECT last_insert_rowid();\n", "t.sql:2:8: ", "last_insert_rowid() is not deterministic"},
	{"\\transaction t\nSELECT rootpage FROM sqlite_schema;\n", "t.sql:2:8: ", "rootpage differs"},
	{"\\transaction t\nSELECT * FROM sqlite_master;\n", "t.sql:2:8: ", "SELECT * from the schema table"},
	{"\\setup\nATTACH 'x.db' AS x;\n\\transaction t\nSELECT 1;\n", "t.sql:2:1: ", "ATTACH and DETACH"},
	{"\\setup\nCREATE TEMP TABLE a(x);\n\\transaction t\nSELECT 1;\n", "t.sql:2:8: ", "TEMP objects"},
	{"\\transaction t\nSELECT ?1;\n", "t.sql:2:8: ", "SQLite parameter '?1'"},
	{"\\transaction t\nVACUUM;\n", "t.sql:2:1: ", "VACUUM belongs in the setup"},
	/* SQLite's own verdicts on the scratch database */
	{"\\setup\nCREATE TABLE a(x) (y);\n\\transaction t\nSELECT 1;\n", "t.sql:2:", "setup: near \"(\": syntax error"},
	{"\\setup\nCREATE TABLE a(x);\nINSERT INTO b VALUES (1);\n\\transaction t\nSELECT 1;\n", "t.sql:3: ", "setup: no such table: b"},
	{"\\transaction t\nSELEC 1;\n", "t.sql:2:1: ", "near \"SELEC\": syntax error"},
	{"\\transaction t\nSELECT x FROM nowhere;\n", "t.sql:2:1: ", "no such table: nowhere"},
	{"\\transaction t\nSELECT 1 + 1 \\gset\n", "t.sql:2:14: ", "column '1 + 1' is not a variable name"},
	{"\\setup\nPRAGMA auto_vacuum = INCREMENTAL;\nCREATE TABLE a(x);\n\\transaction t\nSELECT 1;\n", "t.sql:2: ", "follow it with VACUUM"},
	{"\\setup\nCREATE TABLE a(x);\n\\transaction t\nSELECT 1;\n\\invariants\nSELECT count(*) = 1 FROM a;\n", "t.sql:6: ", "invariant does not hold right after the setup (got 0)"},
	{"\\setup\nCREATE TABLE a(x);\n\\transaction t\nSELECT 1;\n\\invariants\nDELETE FROM a;\n", "t.sql:6:1: ", "an invariant must be a query"},
	{"\\include bank\n\\setup\nCREATE TABLE accounts(x);\n\\transaction t\nSELECT 1;\n", "t.sql:3: ", "table accounts already exists"},
	/* Elle */
	{"\\transaction t\n\\set k 1\nSELECT :k;\n\\elle read :k\n", "t.sql:4:1: ", "\\elle needs a \\shape declaration"},
	{"\\shape rw-register\n\\transaction t\n\\set k 1\n\\set v 2\nSELECT :k;\n\\elle write :k :v\n", "t.sql:6:1: ", ":v is not used by the statement above"},
	{"\\shape list-append\n\\transaction t\n\\set k 1\nSELECT :k;\n", "t.sql:1: ", "no statement carries \\elle"},
	/* \persist and :client_id */
	{"\\persist\n\\transaction t\nSELECT 1;\n", "t.sql:1:1: ", "usage: \\persist NAME [INITIAL]"},
	{"\\persist j 1 2\n\\transaction t\nSELECT 1;\n", "t.sql:1:1: ", "usage: \\persist NAME [INITIAL]"},
	{"\\persist j abc\n\\transaction t\nSELECT 1;\n", "t.sql:1:12: ", "invalid initial value 'abc'"},
	{"\\persist 1j\n\\transaction t\nSELECT 1;\n", "t.sql:1:10: ", "invalid variable name '1j'"},
	{"\\param j 1\n\\persist j\n\\transaction t\nSELECT 1;\n", "t.sql:2:10: ", "'j' already declared at line 1 (\\param)"},
	{"\\persist j\n\\param j 1\n\\transaction t\nSELECT 1;\n", "t.sql:2:8: ", "'j' already declared at line 1 (\\persist)"},
	{"\\persist client_id\n\\transaction t\nSELECT 1;\n", "t.sql:1:10: ", "'client_id' is taken: :client_id is the connection's number"},
	{"\\param client_id 3\n\\transaction t\nSELECT 1;\n", "t.sql:1:8: ", "'client_id' is taken"},
	{"\\transaction t\n\\persist j\nSELECT 1;\n", "t.sql:2:1: ", "\\persist is a declaration"},
	{"\\transaction t\n\\set client_id 1\nSELECT 1;\n", "t.sql:2:1: ", ":client_id is the connection's number; a transaction cannot assign it"},
	{"\\transaction t\nSELECT 1 AS client_id \\gset\n", "t.sql:2:23: ", ":client_id is the connection's number"},
	{"\\setup\nCREATE TABLE a(x);\nINSERT INTO a VALUES (:client_id);\n\\transaction t\nSELECT 1;\n", "t.sql:3:23: ", "unknown parameter :client_id"},
	{"\\persist seat\n\\transaction t\nSELECT :sest;\n", "t.sql:3:8: ", "unknown variable :sest (did you mean :seat?)"},
	{"\\transaction t\nSELECT :clientid;\n", "t.sql:2:8: ", "unknown variable :clientid (did you mean :client_id?)"},
	{"\\transaction u\n\\set job 1\nSELECT :job;\n\\transaction t\nSELECT :job;\n", "t.sql:5:8: ", "another template sets it, but variables start as NULL in every transaction (declare it with \\persist job"},
	/* \expect */
	{"\\transaction t\nSELECT 1;\n\\expect\n", "t.sql:3:1: ", "usage: \\expect CODE..."},
	{"\\transaction t\nSELECT 1;\n\\expect constraint_uniqe\n", "t.sql:3:9: ", "unknown result code 'constraint_uniqe' (did you mean constraint_unique?)"},
	{"\\transaction t\nSELECT 1;\n\\expect SQLITE_CONSTRANT\n", "t.sql:3:9: ", "(did you mean SQLITE_CONSTRAINT?)"},
	{"\\transaction t\nSELECT 1;\n\\expect frobnicated\n", "t.sql:3:9: ", "unknown result code 'frobnicated' (an SQLite result code name"},
	{"\\transaction t\nSELECT 1;\n\\expect constraint busy\n", "t.sql:3:20: ", "\\expect busy: BUSY and LOCKED are always expected"},
	{"\\transaction t\nSELECT 1;\n\\expect SQLITE_LOCKED_SHAREDCACHE\n", "t.sql:3:9: ", "BUSY and LOCKED are always expected"},
	{"\\transaction t\nSELECT 1;\n\\expect done\n", "t.sql:3:9: ", "\\expect done: not an error code"},
	{"\\transaction t\nSELECT 1;\n\\expect abort\n\\expect ABORT\n", "t.sql:4:9: ", "\\expect ABORT given twice"},
	{"\\transaction t\nSELECT 1;\n\\set x 1\n\\expect abort\n", "t.sql:4:1: ", "\\expect must directly follow the SQL statement it applies to (or come before the template's first statement"},
	{"\\setup\nCREATE TABLE a(x);\n\\expect constraint\n\\transaction t\nSELECT 1;\n", "t.sql:3:1: ", "\\expect belongs to a transaction template"},
};

/* Errors SQLite reports with a position (sqlite3_error_offset, 3.38 and
 * later) point at the token, wherever :names or parameter values moved
 * the text, and a syntax error at the first token of a line suggests the
 * missing ';' of the line before. */
static const struct bad_file bad_positions[] = {
	{"\\transaction t\nSELECT 1\nSELECT 2;\n", "t.sql:3:1: ", "near \"SELECT\": syntax error (is the ';' missing at the end of line 2?)"},
	{"\\setup\nCREATE TABLE a(x, y);\n\\transaction t\nUPDATE a SET x = 1\n WHERE y = 2\nDELETE FROM a;\n", "t.sql:6:1: ", "(is the ';' missing at the end of line 5?)"},
	{"\\setup\nCREATE TABLE a(x, y);\n\\transaction t\n\\set value 1\nSELECT :value, :value, x,\n  zz FROM a;\n", "t.sql:6:3: ", "no such column: zz"},
	{"\\param n 5\n\\param s 'a longer text'\n\\setup\nCREATE TABLE a(x, y, z);\nINSERT INTO a VALUES (:n, :s, nope);\n\\transaction t\nSELECT 1;\n", "t.sql:5:31: ", "setup: no such column: nope"},
	{"\\setup\nCREATE TABLE a(x) (y);\n\\transaction t\nSELECT 1;\n", "t.sql:2:19: ", "setup: near \"(\": syntax error"},
	{"\\transaction t\nSELECT 1 +;\n", "t.sql:2:11: ", "incomplete input"},
	{"\\transaction t\nSELECT 1 + + FROM;\n", "t.sql:2:14: ", "near \"FROM\": syntax error"},
};

static void test_sql_error_positions(void **state)
{
	(void)state;
	if (sqlite3_libversion_number() < 3038000)
		skip(); /* no sqlite3_error_offset(): errors stay at the statement */
	for (size_t k = 0; k < sizeof bad_positions / sizeof bad_positions[0]; k++)
		expect_error(bad_positions[k].text, NULL, 0, bad_positions[k].where,
			     bad_positions[k].what);
}

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof bad_files / sizeof bad_files[0]; k++)
		expect_error(bad_files[k].text, NULL, 0, bad_files[k].where, bad_files[k].what);
}

/* More than WL_MAX_PARAMS distinct variables in one statement. */
static void test_too_many_variables(void **state)
{
	(void)state;
	char text[4096] = "\\transaction t\n";
	size_t n = strlen(text);
	for (int k = 0; k <= WL_MAX_PARAMS; k++)
		n += (size_t)snprintf(text + n, sizeof text - n, "\\set v%d %d\n", k, k);
	n += (size_t)snprintf(text + n, sizeof text - n, "SELECT 0");
	for (int k = 0; k <= WL_MAX_PARAMS; k++)
		n += (size_t)snprintf(text + n, sizeof text - n, " + :v%d", k);
	snprintf(text + n, sizeof text - n, ";\n");
	expect_error(text, NULL, 0, "t.sql:35:", "more than 32 distinct variables");
}

/* ------------------------------------------------------------------ */
/* Parameters                                                          */
/* ------------------------------------------------------------------ */

static const char param_file[] =
	"\\param rows 3\n"
	"\\param ratio 0.5\n"
	"\\param label 'x'\n"
	"\\setup\n"
	"CREATE TABLE p(i INTEGER PRIMARY KEY, r REAL, l TEXT);\n"
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)\n"
	"INSERT INTO p SELECT i, :ratio, :label FROM n;\n"
	"\\transaction t\n"
	"SELECT :rows, :ratio, :label;\n"
	"\\invariants\n"
	"SELECT count(*) = :rows FROM p;\n";

/* --param overrides the defaults everywhere: bound in templates, literal
 * in setup and invariants; typed by the default; unknown names and bad
 * values are errors naming the declaration. */
static void test_param_overrides(void **state)
{
	(void)state;
	struct workload *wl = load_ok(param_file, NULL, 0);
	assert_non_null(strstr(wl->setup_sql, "i < 3)"));
	assert_non_null(strstr(wl->invariants[0], "= 3 FROM p"));
	assert_int_equal(wl->param_count, 3);
	assert_string_equal(wl->params[0], "rows=3");
	wl_free(wl);

	const char *const over[] = {"rows=7", "ratio=2", "label=it's"};
	wl = load_ok(param_file, over, 3);
	assert_non_null(strstr(wl->setup_sql, "i < 7)"));
	assert_non_null(strstr(wl->setup_sql, "2.0, 'it''s'"));
	assert_non_null(strstr(wl->invariants[0], "= 7 FROM p"));
	sqlite3 *db = open_setup(wl);
	check_invariants(wl, db);
	/* in a template the values are bound parameters */
	void *cs = wl->ops->conn_new(wl, 0);
	struct wh_prng rng;
	wh_prng_seed(&rng, 1, WH_STREAM_CONN);
	const char *name;
	enum hist_begin b;
	struct wl_action a;
	wl->ops->txn_begin(cs, &rng, &name, &b);
	wl->ops->txn_next(cs, &rng, NULL, &a);
	assert_int_equal(a.kind, WL_ACT_STMT);
	assert_string_equal(a.sql, "SELECT ?1, ?2, ?3");
	assert_int_equal(a.param_count, 3);
	assert_int_equal(a.params[0].i, 7);
	assert_true(a.params[1].type == SQLITE_FLOAT && a.params[1].f == 2.0);
	assert_string_equal((const char *)a.params[2].p, "it's");
	wl->ops->conn_free(cs);
	sqlite3_close(db);
	wl_free(wl);

	const char *const unknown[] = {"colums=3"};
	expect_error(param_file, unknown, 1, "t.sql: ",
		     "unknown parameter 'colums' (declared: rows, ratio, label)");
	const char *const bad_int[] = {"rows=many"};
	expect_error(param_file, bad_int, 1, "t.sql:1: ", "--param rows=many: not an integer");
	const char *const bad_num[] = {"ratio=half"};
	expect_error(param_file, bad_num, 1, "t.sql:2: ", "--param ratio=half: not a number");
	const char *const no_eq[] = {"rows"};
	expect_error(param_file, no_eq, 1, "t.sql: ", "expected NAME=VALUE");
	/* the new values must still satisfy the invariants after the setup
	 * (here the recursive query inserts one row whatever the bound) */
	const char *const zero[] = {"rows=0"};
	expect_error(param_file, zero, 1, "t.sql:11: ",
		     "invariant does not hold right after the setup (got 0)");
}

/* Parameters of included workloads: from the \include line and routed
 * from --param INCLUDE/NAME=VALUE; a built-in with params is a new
 * workload. */
static void test_param_include_routing(void **state)
{
	(void)state;
	const char text[] = "\\include bank @2 initial=500\n"
			    "\\include counter\n";
	const char *const over[] = {"bank/accounts=4"};
	struct workload *wl = load_ok(text, over, 1);
	bool found = false;
	for (uint32_t k = 0; k < wl->invariant_count; k++)
		found |= strstr(wl->invariants[k], "= 4 * 500 FROM accounts") != NULL;
	assert_true(found);
	bool listed = false;
	for (uint32_t k = 0; k < wl->param_count; k++)
		listed |= strcmp(wl->params[k], "bank/accounts=4") == 0;
	assert_true(listed);
	wl_free(wl);
	const char *const stray[] = {"blobs/slots=3"};
	expect_error(text, stray, 1, "t.sql: ", "no \\include of that name");
	const char *const bad[] = {"bank/nothing=3"};
	expect_error(text, bad, 1, "workloads/bank.sql: ", "unknown parameter 'nothing'");

	const struct workload *b = NULL;
	char err[256];
	const char *const acc[] = {"accounts=12"};
	assert_int_equal(wl_resolve_with_params("bank", acc, 1, WL_SQLITE_ANY, &b, err, sizeof err), 0);
	assert_true(b != wl_find("bank"));
	assert_non_null(strstr(b->invariants[0], "12 * 1000"));
	assert_int_equal(wl_resolve_with_params("bank", bad, 1, WL_SQLITE_ANY, &b, err, sizeof err), 2);
}

/* ------------------------------------------------------------------ */
/* \\requires                                                           */
/* ------------------------------------------------------------------ */

#define SQLCIPHER_SQLITE 3015002 /* the SQLite in Debian's SQLCipher 3.4.1 */

/* A file's requirement is its highest \\requires (the first of equal
 * ones), with the line and the reason as written; versions parse and
 * print as SQLite's numbers. */
static void test_requires_declared(void **state)
{
	(void)state;
	struct workload *wl = load_ok("-- a comment line\n"
				      "\\requires sqlite 3.9.0 an index on an expression\n"
				      "\\requires SQLite 3.35.0   ALTER TABLE DROP COLUMN (SQLite's)  \n"
				      "\\requires sqlite 3.35 same version, later line\n"
				      "\\requires sqlite 3.16 pragma_table_info()\n"
				      "\\transaction t\nSELECT 1;\n",
				      NULL, 0);
	assert_int_equal(wl->requires.version, 3035000);
	assert_string_equal(wl->requires.reason, "ALTER TABLE DROP COLUMN (SQLite's)");
	assert_string_equal(wl->requires.origin, "t.sql");
	assert_int_equal(wl->requires.line, 3);
	assert_true(wl_requirement_met(&wl->requires, 3035000));
	assert_false(wl_requirement_met(&wl->requires, 3034001));
	assert_int_equal(wl->include_need_count, 0);
	wl_free(wl);
	wl = load_ok("\\requires sqlite 3.30\n\\transaction t\nSELECT 1;\n", NULL, 0);
	assert_int_equal(wl->requires.version, 3030000);
	assert_string_equal(wl->requires.reason, "");
	wl_free(wl);
	wl = load_ok("\\transaction t\nSELECT 1;\n", NULL, 0);
	assert_int_equal(wl->requires.version, 0);
	assert_true(wl_requirement_met(&wl->requires, 3007017));
	wl_free(wl);
	int v = 0;
	assert_int_equal(wl_version_parse("3.8.4", 5, &v), 0);
	assert_int_equal(v, 3008004);
	assert_int_equal(wl_version_parse("3.45", 4, &v), 0);
	assert_int_equal(v, 3045000);
	assert_int_equal(wl_version_parse("3.45.1x", 7, &v), -1);
	assert_int_equal(wl_version_parse("", 0, &v), -1);
	char buf[32];
	wl_version_text(3015002, buf, sizeof buf);
	assert_string_equal(buf, "3.15.2");
}

/* Composed for an older SQLite, an include that needs more is left out
 * with everything it brings (setup, invariants, templates, pragmas), the
 * others keep their weights, and include_needs says what and why; the
 * composition for any SQLite keeps everything. */
static void test_requires_leaves_includes_out(void **state)
{
	(void)state;
	const char text[] = "\\include rw-register @2\n"
			    "\\include bank @3\n"
			    "\\transaction own\nSELECT 1;\n";
	struct workload *all = load_ok(text, NULL, 0);
	assert_int_equal(all->left_out_count, 0);
	assert_int_equal(all->composed_for, WL_SQLITE_ANY);
	assert_int_equal(((const struct wl__prog *)all->impl)->root->total_weight, 6);
	assert_non_null(strstr(all->setup_sql, "CREATE TABLE rw_regs"));

	struct workload *old = NULL;
	char err[256];
	assert_int_equal(wl_load_text("t.sql", text, strlen(text), NULL, 0, SQLCIPHER_SQLITE, &old,
				      err, sizeof err),
			 0);
	assert_int_equal(old->composed_for, SQLCIPHER_SQLITE);
	assert_true(wl_requirement_met(&old->requires, SQLCIPHER_SQLITE));
	assert_int_equal(old->include_need_count, 2);
	assert_int_equal(old->left_out_count, 1);
	const struct wl_include_need *rw = &old->include_needs[0], *bank = &old->include_needs[1];
	assert_string_equal(rw->name, "rw-register");
	assert_true(rw->left_out);
	assert_int_equal(rw->needs.version, 3024000);
	assert_string_equal(rw->needs.origin, "workloads/rw-register.sql");
	assert_non_null(strstr(rw->needs.reason, "UPSERT"));
	assert_string_equal(bank->name, "bank");
	assert_false(bank->left_out);
	assert_int_equal(bank->needs.version, 3008003);
	const struct wl__prog *p = old->impl;
	assert_int_equal(p->root->include_count, 1);
	assert_int_equal(p->root->total_weight, 4); /* own 1 + bank 3 */
	assert_null(strstr(old->setup_sql, "rw_regs"));
	assert_non_null(strstr(old->setup_sql, "CREATE TABLE accounts"));
	for (uint32_t k = 0; k < old->invariant_count; k++)
		assert_null(strstr(old->invariants[k], "rw_regs"));
	assert_int_equal(old->elle_op_count, 0); /* rw-register's map went with it */
	void *cs = old->ops->conn_new(old, 0);
	struct wh_prng rng;
	wh_prng_seed(&rng, 11, WH_STREAM_CONN);
	uint32_t own = 0, banks = 0;
	for (int k = 0; k < 800; k++) {
		const char *name;
		enum hist_begin b;
		old->ops->txn_begin(cs, &rng, &name, &b);
		assert_true(strncmp(name, "rw-register/", 12) != 0);
		own += strcmp(name, "own") == 0;
		banks += strncmp(name, "bank/", 5) == 0;
	}
	old->ops->conn_free(cs);
	/* weights unchanged: own 1 against bank's 3 */
	assert_int_equal(own + banks, 800);
	assert_true(own > 140 && own < 260);
	wl_free(old);
	wl_free(all);
}

/* Nested includes are named by their path; a unit made of includes only
 * needs the least any of them needs, and on an SQLite older than that it
 * cannot run (the caller refuses it); a file's own requirement is only
 * reported, not enforced, by the loader. */
static void test_requires_nested_and_unrunnable(void **state)
{
	(void)state;
	const char nested[] = "\\include default\n";
	struct workload *wl = NULL;
	char err[256];
	assert_int_equal(wl_load_text("t.sql", nested, strlen(nested), NULL, 0, SQLCIPHER_SQLITE,
				      &wl, err, sizeof err),
			 0);
	assert_true(wl_requirement_met(&wl->requires, SQLCIPHER_SQLITE));
	assert_int_equal(wl->left_out_count, 2);
	uint32_t seen = 0;
	for (uint32_t k = 0; k < wl->include_need_count; k++) {
		const struct wl_include_need *n = &wl->include_needs[k];
		assert_int_equal(strncmp(n->name, "default/", 8), 0);
		assert_int_equal(n->left_out, n->needs.version > SQLCIPHER_SQLITE);
		seen += strcmp(n->name, "default/ddl-churn") == 0 && n->left_out;
		seen += strcmp(n->name, "default/rw-register") == 0 && n->left_out;
	}
	assert_int_equal(seen, 2);
	wl_free(wl);

	const char only[] = "\\include ddl-churn\n\\include rw-register\n";
	wl = NULL;
	assert_int_equal(wl_load_text("t.sql", only, strlen(only), NULL, 0, SQLCIPHER_SQLITE, &wl,
				      err, sizeof err),
			 0);
	assert_int_equal(wl->requires.version, 3024000); /* the least of 3.35.0, 3.24.0 */
	assert_string_equal(wl->requires.origin, "workloads/rw-register.sql");
	assert_false(wl_requirement_met(&wl->requires, wl->composed_for));
	assert_int_equal(wl->left_out_count, 2);
	wl_free(wl);
	/* Included by another file, such a unit is left out whole. */
	const char outer[] = "\\include default @1\n\\transaction t\nSELECT 1;\n";
	wl = NULL;
	assert_int_equal(wl_load_text("t.sql", outer, strlen(outer), NULL, 0, 3007017, &wl, err,
				      sizeof err),
			 0);
	/* On the oldest SQLite whopper drives, only list-append is left. */
	const struct wl__prog *p = wl->impl;
	assert_int_equal(p->root->include_count, 1);
	assert_int_equal(p->root->includes[0].unit->include_count, 1);
	assert_string_equal(p->root->includes[0].unit->includes[0].unit->name, "list-append");
	assert_int_equal(wl->left_out_count, 10);
	wl_free(wl);

	const char own[] = "\\requires sqlite 3.30.0 NULLS FIRST\n\\include bank\n"
			   "\\transaction t\nSELECT 1;\n";
	wl = NULL;
	assert_int_equal(wl_load_text("t.sql", own, strlen(own), NULL, 0, SQLCIPHER_SQLITE, &wl,
				      err, sizeof err),
			 0);
	assert_false(wl_requirement_met(&wl->requires, SQLCIPHER_SQLITE));
	assert_int_equal(wl->requires.line, 1);
	assert_int_equal(wl->left_out_count, 0);
	wl_free(wl);
}

/* The built-ins declare what they need (measured: on the SQLite just
 * below, one of their statements fails to prepare), default needs nothing
 * of its own, and a built-in composed for an SQLite that leaves nothing
 * out is the shared copy, so its runs are those of any SQLite. */
static void test_requires_builtins(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int version;
	} want[] = {
		{"default", 0},          {"bank", 3008003},        {"blobs", 3008003},
		{"checkpoints", 3008003}, {"counter", 3008003},    {"ddl-churn", 3035000},
		{"delete-heavy", 3008003}, {"index-heavy", 3009000}, {"inventory", 3008003},
		{"list-append", 0},      {"rw-register", 3024000}, {"savepoints", 3008003},
	};
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		const struct workload *wl = wl_find(want[k].name);
		assert_non_null(wl);
		if (wl->requires.version != want[k].version)
			fail_msg("%s requires %d, wanted %d", want[k].name, wl->requires.version,
				 want[k].version);
	}
	const struct workload *d = wl_find("default");
	assert_int_equal(d->include_need_count, 10);
	assert_int_equal(d->left_out_count, 0);
	const struct workload *out = NULL;
	char err[256];
	assert_int_equal(wl_resolve_with_params("default", NULL, 0, 3040001, &out, err, sizeof err),
			 0);
	assert_ptr_equal(out, d);
	assert_int_equal(wl_resolve_with_params("default", NULL, 0, 3035000, &out, err, sizeof err),
			 0);
	assert_ptr_equal(out, d);
	assert_int_equal(wl_resolve_with_params("default", NULL, 0, SQLCIPHER_SQLITE, &out, err,
						sizeof err),
			 0);
	assert_true(out != d);
	assert_int_equal(out->composed_for, SQLCIPHER_SQLITE);
	assert_int_equal(out->left_out_count, 2);
	assert_int_equal(out->invariant_count, d->invariant_count - wl_find("ddl-churn")->invariant_count -
						       wl_find("rw-register")->invariant_count);
	assert_int_equal(wl_resolve_with_params("ddl-churn", NULL, 0, SQLCIPHER_SQLITE, &out, err,
						sizeof err),
			 0);
	assert_ptr_equal(out, wl_find("ddl-churn")); /* refusing it is run's */
}

/* ------------------------------------------------------------------ */
/* The interpreter                                                     */
/* ------------------------------------------------------------------ */

/* \gset: the UPDATE binds a value computed from what the SELECT returned
 * (read-modify-write), and a later statement sees the stored columns. */
static void test_gset_read_modify_write(void **state)
{
	(void)state;
	struct workload *wl = load_ok(
		"\\setup\n"
		"CREATE TABLE acct(id INTEGER PRIMARY KEY, balance INTEGER);\n"
		"INSERT INTO acct VALUES (1, 100);\n"
		"\\transaction debit\n"
		"\\set amount 7\n"
		"SELECT balance, id AS who FROM acct WHERE id = 1 \\gset\n"
		"UPDATE acct SET balance = :balance - :amount WHERE id = :who;\n"
		"\\set seen :balance\n"
		"SELECT :seen;\n",
		NULL, 0);
	void *cs = wl->ops->conn_new(wl, 0);
	struct wh_prng rng;
	wh_prng_seed(&rng, 3, WH_STREAM_CONN);
	const char *name;
	enum hist_begin b;
	wl->ops->txn_begin(cs, &rng, &name, &b);
	assert_string_equal(name, "debit");
	assert_int_equal(b, HIST_BEGIN_DEFERRED);
	struct wl_action a;
	wl->ops->txn_next(cs, &rng, NULL, &a);
	assert_int_equal(a.kind, WL_ACT_STMT);
	assert_string_equal(a.tmpl, "debit.1");
	/* hand back a row as the driver would: balance 100, who 1 */
	struct wh_value cells[2] = {{.type = SQLITE_INTEGER, .i = 100},
				    {.type = SQLITE_INTEGER, .i = 1}};
	struct hist_stmt prev = {.rc = SQLITE_DONE, .col_count = 2, .row_count = 1,
				 .cells = cells};
	wl->ops->txn_next(cs, &rng, &prev, &a);
	assert_int_equal(a.kind, WL_ACT_STMT);
	assert_string_equal(a.sql, "UPDATE acct SET balance = ?1 - ?2 WHERE id = ?3");
	assert_int_equal(a.params[0].i, 100);
	assert_int_equal(a.params[1].i, 7);
	assert_int_equal(a.params[2].i, 1);
	struct hist_stmt upd = {.rc = SQLITE_DONE, .changes = 1};
	wl->ops->txn_next(cs, &rng, &upd, &a);
	assert_int_equal(a.kind, WL_ACT_STMT);
	assert_int_equal(a.params[0].i, 100);
	wl->ops->txn_next(cs, &rng, &upd, &a);
	assert_int_equal(a.kind, WL_ACT_COMMIT);

	/* no row: the variables read as NULL */
	wl->ops->txn_begin(cs, &rng, &name, &b);
	wl->ops->txn_next(cs, &rng, NULL, &a);
	struct hist_stmt empty = {.rc = SQLITE_DONE, .col_count = 2};
	wl->ops->txn_next(cs, &rng, &empty, &a);
	assert_int_equal(a.params[0].type, SQLITE_NULL);
	assert_int_equal(a.params[1].i, 7);
	wl->ops->conn_free(cs);

	/* and on a real database the debit sticks */
	sqlite3 *db = open_setup(wl);
	serial_run(wl, db, 9, 1, 3, NULL);
	sqlite3_stmt *ps;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT balance FROM acct", -1, &ps, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(ps), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(ps, 0), 100 - 3 * 7);
	sqlite3_finalize(ps);
	sqlite3_close(db);
	wl_free(wl);
}

static const char branch_file[] =
	"\\param p 5\n"
	"\\transaction t\n"
	"\\set x :p\n"
	"\\set nothing NULL\n"
	"\\if :x < 10\n"
	"SELECT 'small';\n"
	"\\elif :x < 100\n"
	"SELECT 'medium';\n"
	"\\if :x = 50\n"
	"SELECT 'fifty';\n"
	"\\endif\n"
	"\\else\n"
	"SELECT 'large';\n"
	"\\rollback\n"
	"\\endif\n"
	"\\if :nothing IS NULL AND NOT (1 = 2)\n"
	"SELECT 'after';\n"
	"\\endif\n";

/* Runs one transaction of branch_file with p=value; writes the SQL texts
 * and the final action into buf. */
static void run_branch(const char *value, char *buf, size_t cap)
{
	char p[32];
	snprintf(p, sizeof p, "p=%s", value);
	const char *const params[] = {p};
	struct workload *wl = load_ok(branch_file, params, 1);
	void *cs = wl->ops->conn_new(wl, 0);
	struct wh_prng rng;
	wh_prng_seed(&rng, 1, WH_STREAM_CONN);
	const char *name;
	enum hist_begin b;
	wl->ops->txn_begin(cs, &rng, &name, &b);
	struct hist_stmt ok = {.rc = SQLITE_DONE};
	size_t n = 0;
	buf[0] = '\0';
	for (int k = 0; k < 10; k++) {
		struct wl_action a;
		wl->ops->txn_next(cs, &rng, k ? &ok : NULL, &a);
		if (a.kind == WL_ACT_STMT) {
			n += (size_t)snprintf(buf + n, cap - n, "%s|", a.sql);
			continue;
		}
		snprintf(buf + n, cap - n, a.kind == WL_ACT_COMMIT ? "COMMIT" : "ROLLBACK");
		break;
	}
	wl->ops->conn_free(cs);
	wl_free(wl);
}

/* \if / \elif / \else pick one branch, nest, and \rollback ends the
 * transaction early; NULL is false, IS NULL and NOT work. */
static void test_conditional(void **state)
{
	(void)state;
	char buf[512];
	run_branch("5", buf, sizeof buf);
	assert_string_equal(buf, "SELECT 'small'|SELECT 'after'|COMMIT");
	run_branch("42", buf, sizeof buf);
	assert_string_equal(buf, "SELECT 'medium'|SELECT 'after'|COMMIT");
	run_branch("50", buf, sizeof buf);
	assert_string_equal(buf, "SELECT 'medium'|SELECT 'fifty'|SELECT 'after'|COMMIT");
	run_branch("500", buf, sizeof buf);
	assert_string_equal(buf, "SELECT 'large'|ROLLBACK");
}

/* Expressions evaluate like SQL: integer arithmetic with pgbench's
 * precedence, NULL for the impossible (division by zero, overflow, text in
 * arithmetic), three-valued AND/OR, concatenation, functions. */
static void test_expressions(void **state)
{
	(void)state;
	struct workload *wl = load_ok(
		"\\transaction t autocommit\n"
		"\\set a 7 / 2 + 10 % 4 * -1\n"
		"\\set b 1 / 0\n"
		"\\set c 'k' || 12 || '-' || 1.5\n"
		"\\set d 9223372036854775807 + 1\n"
		"\\set e greatest(3, 9, -2) - least(4, 1.5)\n"
		"\\set f choose(5, 5, 5) -- a comment\n"
		"\\set g (2 > 1) + (2 >= 3) + ('a' < 'b') + (NULL IS NULL) + (3 <> 3)\n"
		"\\set h int(7.9) + abs(-3) + double(1)\n"
		"\\set i 'a' + 1\n"
		"\\set j (1 OR NULL) + (0 AND NULL) * 10\n"
		"\\set k NULL AND 1\n"
		"\\set l -9223372036854775808\n"
		"SELECT :a, :b, :c, :d, :e, :f, :g, :h, :i, :j, :k, :l;\n",
		NULL, 0);
	void *cs = wl->ops->conn_new(wl, 0);
	struct wh_prng rng;
	wh_prng_seed(&rng, 1, WH_STREAM_CONN);
	const char *name;
	enum hist_begin b;
	struct wl_action a;
	wl->ops->txn_begin(cs, &rng, &name, &b);
	wl->ops->txn_next(cs, &rng, NULL, &a);
	assert_int_equal(a.param_count, 12);
	const struct wh_value *v = a.params;
	assert_true(v[0].type == SQLITE_INTEGER && v[0].i == 1);
	assert_int_equal(v[1].type, SQLITE_NULL);
	assert_true(v[2].type == SQLITE_TEXT);
	assert_string_equal((const char *)v[2].p, "k12-1.5");
	assert_int_equal(v[3].type, SQLITE_NULL);
	assert_true(v[4].type == SQLITE_FLOAT && v[4].f == 7.5);
	assert_true(v[5].type == SQLITE_INTEGER && v[5].i == 5);
	assert_true(v[6].type == SQLITE_INTEGER && v[6].i == 3);
	assert_true(v[7].type == SQLITE_FLOAT && v[7].f == 11.0);
	assert_int_equal(v[8].type, SQLITE_NULL);
	assert_true(v[9].type == SQLITE_INTEGER && v[9].i == 1);
	assert_int_equal(v[10].type, SQLITE_NULL);
	assert_true(v[11].type == SQLITE_INTEGER && v[11].i == INT64_MIN);
	wl->ops->conn_free(cs);
	wl_free(wl);
}

/* unique(): distinct across connections and transactions, and a function
 * of (connection, count) alone, not of the interleaving. */
static void test_unique_counter(void **state)
{
	(void)state;
	struct workload *wl = load_ok("\\transaction t autocommit\n"
				      "\\set u unique()\n"
				      "SELECT :u;\n",
				      NULL, 0);
	enum { CONNS = 5, TXNS = 40 };
	int64_t seen[CONNS * TXNS];
	uint32_t n = 0;
	void *cs[CONNS];
	struct wh_prng rng[CONNS];
	for (uint32_t c = 0; c < CONNS; c++) {
		cs[c] = wl->ops->conn_new(wl, c);
		wh_prng_seed(&rng[c], 77, WH_STREAM_CONN + c);
	}
	/* connection 3 runs first, then the rest interleaved backwards */
	for (uint32_t t = 0; t < CONNS * TXNS; t++) {
		uint32_t c = t < TXNS ? 3 : (CONNS - 1 - t % CONNS);
		if (c == 3 && t >= TXNS)
			c = 0;
		const char *name;
		enum hist_begin b;
		struct wl_action a;
		wl->ops->txn_begin(cs[c], &rng[c], &name, &b);
		assert_int_equal(b, HIST_BEGIN_AUTOCOMMIT);
		wl->ops->txn_next(cs[c], &rng[c], NULL, &a);
		int64_t u = a.params[0].i;
		assert_int_equal((u - 1) % WL_UNIQUE_STRIDE, c);
		for (uint32_t k = 0; k < n; k++)
			assert_true(seen[k] != u);
		seen[n++] = u;
	}
	/* the first value of connection 3 is the same whoever ran before */
	assert_int_equal(seen[0], 4);
	for (uint32_t c = 0; c < CONNS; c++)
		wl->ops->conn_free(cs[c]);
	wl_free(wl);
}

/* ------------------------------------------------------------------ */
/* Generators                                                          */
/* ------------------------------------------------------------------ */

/* pgbench's distributions, roughly: exponential mass near lo, gaussian
 * mass in the middle, zipfian rank ratios 2^s, uniform means. */
static void test_generator_distributions(void **state)
{
	(void)state;
	enum { N = 200000 };
	struct wh_prng rng;
	wh_prng_seed(&rng, 11, WH_STREAM_CONN);
	/* exponential, p = 5 on [1, 100]: P(x <= 20) = (1 - e^-1) / (1 - e^-5) */
	uint32_t low = 0;
	for (int k = 0; k < N; k++) {
		int64_t x = wl__gen_exponential(&rng, 1, 100, 5.0);
		assert_true(x >= 1 && x <= 100);
		low += x <= 20;
	}
	double want = (1 - exp(-1.0)) / (1 - exp(-5.0));
	assert_true(fabs((double)low / N - want) < 0.01);
	/* gaussian, p = 2.5 on [0, 999]: the middle 40% holds
	 * P(|z| < 1) / P(|z| < 2.5) = 0.6827 / 0.9876 */
	uint32_t mid = 0;
	double sum = 0;
	for (int k = 0; k < N; k++) {
		int64_t x = wl__gen_gaussian(&rng, 0, 999, 2.5);
		assert_true(x >= 0 && x <= 999);
		mid += x >= 300 && x < 700;
		sum += (double)x;
	}
	assert_true(fabs((double)mid / N - 0.6827 / 0.9876) < 0.01);
	assert_true(fabs(sum / N - 499.5) < 3);
	/* zipfian, s = 1.5 on [1, 1000]: count(1)/count(2) = 2^1.5 */
	uint32_t c1 = 0, c2 = 0, c4 = 0;
	for (int k = 0; k < N; k++) {
		int64_t x = wl__gen_zipfian(&rng, 1, 1000, 1.5);
		assert_true(x >= 1 && x <= 1000);
		c1 += x == 1;
		c2 += x == 2;
		c4 += x == 4;
	}
	assert_true(fabs((double)c1 / c2 - pow(2, 1.5)) < 0.2);
	assert_true(fabs((double)c2 / c4 - pow(2, 1.5)) < 0.3);
	/* a range of one value and a huge range stay inside */
	assert_int_equal(wl__gen_zipfian(&rng, 7, 7, 1.001), 7);
	assert_int_equal(wl__gen_exponential(&rng, -3, -3, 0.1), -3);
	for (int k = 0; k < 100; k++) {
		int64_t x = wl__gen_gaussian(&rng, INT64_MIN / 2, INT64_MAX / 2, 2.0);
		assert_true(x >= INT64_MIN / 2 && x <= INT64_MAX / 2);
	}
}

/* Values drawn through a workload: the same seed gives the same values,
 * another seed others; random() is uniform; text and blobs have the size
 * asked for. */
static void test_generators_deterministic(void **state)
{
	(void)state;
	struct workload *wl = load_ok(
		"\\transaction t autocommit\n"
		"\\set a random(1, 1000)\n"
		"\\set b random_zipfian(1, 50, 1.2)\n"
		"\\set c random_text(random(0, 40))\n"
		"\\set d random_blob(33)\n"
		"\\set e choose('x', 'y', 'z')\n"
		"SELECT :a, :b, :c, :d, :e;\n",
		NULL, 0);
	int64_t first[2][100];
	for (int pass = 0; pass < 3; pass++) {
		void *cs = wl->ops->conn_new(wl, 0);
		struct wh_prng rng;
		wh_prng_seed(&rng, pass < 2 ? 1234 : 999, WH_STREAM_CONN);
		double sum = 0;
		uint32_t diff = 0;
		for (int k = 0; k < 100; k++) {
			const char *name;
			enum hist_begin b;
			struct wl_action a;
			wl->ops->txn_begin(cs, &rng, &name, &b);
			wl->ops->txn_next(cs, &rng, NULL, &a);
			assert_int_equal(a.param_count, 5);
			int64_t v = a.params[0].i;
			assert_true(v >= 1 && v <= 1000);
			sum += (double)v;
			assert_int_equal(a.params[2].type, SQLITE_TEXT);
			assert_true(a.params[2].n <= 40);
			for (uint32_t j = 0; j < a.params[2].n; j++)
				assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz234567",
						       a.params[2].p[j]));
			assert_int_equal(a.params[3].type, SQLITE_BLOB);
			assert_int_equal(a.params[3].n, 33);
			assert_non_null(strchr("xyz", a.params[4].p[0]));
			if (pass < 2)
				first[pass][k] = v;
			else
				diff += v != first[0][k];
		}
		if (pass == 2)
			assert_true(diff > 90);
		assert_true(fabs(sum / 100 - 500) < 100);
		wl->ops->conn_free(cs);
	}
	assert_memory_equal(first[0], first[1], sizeof first[0]);
	wl_free(wl);
}

/* ------------------------------------------------------------------ */
/* Flags, shape, hash                                                  */
/* ------------------------------------------------------------------ */

/* Finds the first statement of a built-in whose SQL contains needle. */
static const struct wl__stmt *find_stmt(const char *workload, const char *needle)
{
	const struct wl__prog *p = wl_find(workload)->impl;
	const struct wl__unit *u = p->root;
	for (uint32_t t = 0; t < u->tmpl_count; t++)
		for (uint32_t k = 0; k < u->tmpls[t].code_count; k++) {
			const struct wl__ins *ins = &u->tmpls[t].code[k];
			if (ins->kind == WL_INS_STMT && strstr(ins->stmt->sql, needle))
				return ins->stmt;
		}
	return NULL;
}

/* wal_checkpoint is NOCHECK, incremental_vacuum NOREPLAY, automatically;
 * \nocheck / \noreplay set them by hand; ordinary statements carry none. */
static void test_statement_flags(void **state)
{
	(void)state;
	const struct wl__stmt *s = find_stmt("checkpoints", "wal_checkpoint(TRUNCATE)");
	assert_non_null(s);
	assert_int_equal(s->flags, HIST_STMT_NOCHECK);
	s = find_stmt("delete-heavy", "incremental_vacuum(8)");
	assert_non_null(s);
	assert_int_equal(s->flags, HIST_STMT_NOREPLAY);
	s = find_stmt("bank", "UPDATE accounts SET balance = ?1");
	assert_non_null(s);
	assert_int_equal(s->flags, 0);
	assert_string_equal(s->tmpl, "transfer.debit");
	struct workload *wl = load_ok("\\transaction t\n"
				      "SELECT 1;\n\\nocheck\n\\noreplay\n",
				      NULL, 0);
	void *cs = wl->ops->conn_new(wl, 0);
	struct wh_prng rng;
	wh_prng_seed(&rng, 1, WH_STREAM_CONN);
	const char *name;
	enum hist_begin b;
	struct wl_action a;
	wl->ops->txn_begin(cs, &rng, &name, &b);
	wl->ops->txn_next(cs, &rng, NULL, &a);
	assert_int_equal(a.flags, HIST_STMT_NOCHECK | HIST_STMT_NOREPLAY);
	wl->ops->conn_free(cs);
	wl_free(wl);
}

/* The Elle shape and its map: every mapped statement names the ?N of its
 * key and value; reads carry no value. */
static void test_elle_shape(void **state)
{
	(void)state;
	const struct workload *la = wl_find("list-append");
	assert_string_equal(la->shape, "list-append");
	assert_true(la->elle_op_count >= 6);
	uint32_t reads = 0, appends = 0;
	for (uint32_t k = 0; k < la->elle_op_count; k++) {
		const struct wl_elle_op *op = &la->elle_ops[k];
		if (op->kind == WL_ELLE_READ) {
			reads++;
			assert_int_equal(op->value_param, 0);
			assert_int_equal(op->key_param, 1);
		} else {
			assert_int_equal(op->kind, WL_ELLE_APPEND);
			appends++;
			/* INSERT INTO la_items(k, v) VALUES (:k, :v) */
			assert_int_equal(op->key_param, 1);
			assert_int_equal(op->value_param, 2);
		}
	}
	assert_true(reads > 0 && appends > 0);
	const struct workload *rw = wl_find("rw-register");
	assert_string_equal(rw->shape, "rw-register");
	for (uint32_t k = 0; k < rw->elle_op_count; k++)
		assert_true(rw->elle_ops[k].kind != WL_ELLE_APPEND);
	assert_null(wl_find("bank")->shape);
	assert_null(wl_find("default")->shape);
	/* the map's names are the names the history records */
	assert_non_null(strstr(la->elle_ops[0].tmpl, "txn."));
}

/* The result-code table agrees with sqlite3.h wherever the header
 * defines a code, names round-trip, and lookups take any case, with or
 * without the SQLITE_ prefix. */
static void test_rc_names(void **state)
{
	(void)state;
	static const struct {
		int rc;
		const char *name;
	} known[] = {
		{SQLITE_ERROR, "SQLITE_ERROR"},
		{SQLITE_BUSY, "SQLITE_BUSY"},
		{SQLITE_CONSTRAINT, "SQLITE_CONSTRAINT"},
		{SQLITE_DONE, "SQLITE_DONE"},
		{SQLITE_BUSY_SNAPSHOT, "SQLITE_BUSY_SNAPSHOT"},
		{SQLITE_IOERR_SHORT_READ, "SQLITE_IOERR_SHORT_READ"},
		{SQLITE_IOERR_CORRUPTFS, "SQLITE_IOERR_CORRUPTFS"},
		{SQLITE_CONSTRAINT_FOREIGNKEY, "SQLITE_CONSTRAINT_FOREIGNKEY"},
		{SQLITE_CONSTRAINT_UNIQUE, "SQLITE_CONSTRAINT_UNIQUE"},
		{SQLITE_CONSTRAINT_DATATYPE, "SQLITE_CONSTRAINT_DATATYPE"},
		{SQLITE_READONLY_DIRECTORY, "SQLITE_READONLY_DIRECTORY"},
		{SQLITE_ABORT_ROLLBACK, "SQLITE_ABORT_ROLLBACK"},
		{SQLITE_AUTH_USER, "SQLITE_AUTH_USER"},
	};
	for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
		assert_string_equal(wh_rc_name(known[k].rc), known[k].name);
		int rc = -1;
		assert_true(wh_rc_lookup(known[k].name, strlen(known[k].name), &rc));
		assert_int_equal(rc, known[k].rc);
	}
	/* every name of the table round-trips and names one code */
	size_t n = 0;
	for (const char *name; (name = wh_rc_name_at(n)) != NULL; n++) {
		int rc = -1;
		assert_true(wh_rc_lookup(name, strlen(name), &rc));
		assert_string_equal(wh_rc_name(rc), name);
	}
	assert_true(n > 100);
	int rc = -1;
	assert_true(wh_rc_lookup("constraint_unique", 17, &rc));
	assert_int_equal(rc, SQLITE_CONSTRAINT_UNIQUE);
	assert_true(wh_rc_lookup("Sqlite_Abort", 12, &rc));
	assert_int_equal(rc, SQLITE_ABORT);
	assert_false(wh_rc_lookup("SQLITE_", 7, &rc));
	assert_false(wh_rc_lookup("constraint_", 11, &rc));
	assert_null(wh_rc_name(12345));
	/* a primary code stands for its class, an extended one for itself */
	assert_true(wh_rc_matches(SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_UNIQUE));
	assert_true(wh_rc_matches(SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_UNIQUE));
	assert_false(wh_rc_matches(SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_CHECK));
	assert_false(wh_rc_matches(SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT));
	assert_false(wh_rc_matches(SQLITE_ABORT, SQLITE_CONSTRAINT));
}

/* \expect: a template's own codes (before its first statement) cover
 * every statement and COMMIT; a statement's cover that statement only;
 * several lines add up; an include's come under its prefix; a workload
 * that declares nothing expects nothing. */
static void test_expect_declared(void **state)
{
	(void)state;
	struct workload *wl = load_ok("\\setup\nCREATE TABLE a(x UNIQUE, y CHECK (y > 0));\n"
				      "\\transaction t\n"
				      "\\set v 1\n"
				      "\\expect SQLITE_CONSTRAINT_FOREIGNKEY\n"
				      "INSERT INTO a VALUES (:v, 1);\n\\name first\n"
				      "\\expect constraint_unique\n\\expect abort\n"
				      "UPDATE a SET y = 0; \\expect constraint\n"
				      "SELECT 1;\n"
				      "\\transaction u autocommit\n"
				      "INSERT INTO a VALUES (2, 2);\n",
				      NULL, 0);
	assert_int_equal(wl->expect_count, 3);
	assert_string_equal(wl->expects[0].name, "t");
	assert_true(wl->expects[0].whole_template);
	assert_int_equal(wl->expects[0].code_count, 1);
	assert_string_equal(wl->expects[1].name, "t.first");
	assert_false(wl->expects[1].whole_template);
	assert_int_equal(wl->expects[1].code_count, 2);
	assert_string_equal(wl->expects[2].name, "t.2");
	/* the statement's own codes, and the template's, and no others */
	assert_true(wl_expected(wl, "t", "t.first", SQLITE_CONSTRAINT_UNIQUE));
	assert_true(wl_expected(wl, "t", "t.first", SQLITE_ABORT_ROLLBACK));
	assert_true(wl_expected(wl, "t", "t.first", SQLITE_CONSTRAINT_FOREIGNKEY));
	assert_false(wl_expected(wl, "t", "t.first", SQLITE_CONSTRAINT_CHECK));
	assert_true(wl_expected(wl, "t", "t.2", SQLITE_CONSTRAINT_CHECK));
	assert_false(wl_expected(wl, "t", "t.3", SQLITE_CONSTRAINT_CHECK));
	assert_false(wl_expected(wl, "t", "t.3", SQLITE_ERROR));
	/* at COMMIT only the template's declaration counts */
	assert_true(wl_expected(wl, "t", NULL, SQLITE_CONSTRAINT_FOREIGNKEY));
	assert_false(wl_expected(wl, "t", NULL, SQLITE_CONSTRAINT_UNIQUE));
	assert_false(wl_expected(wl, "u", "u.1", SQLITE_CONSTRAINT_UNIQUE));
	/* the interpreter runs the same statements: \expect changes nothing */
	void *cs = wl->ops->conn_new(wl, 0);
	struct wh_prng rng;
	wh_prng_seed(&rng, 1, WH_STREAM_CONN);
	const char *name;
	enum hist_begin b;
	struct wl_action a;
	do
		wl->ops->txn_begin(cs, &rng, &name, &b);
	while (strcmp(name, "t") != 0);
	wl->ops->txn_next(cs, &rng, NULL, &a);
	assert_int_equal(a.kind, WL_ACT_STMT);
	assert_string_equal(a.tmpl, "t.first");
	wl->ops->conn_free(cs);
	wl_free(wl);
	/* included: under the include's name, in the composition */
	wl = load_ok("\\include inventory\n\\transaction t\nSELECT 1;\n", NULL, 0);
	assert_true(wl_expected(wl, "inventory/signup", "inventory/signup.1",
				SQLITE_CONSTRAINT_UNIQUE));
	assert_false(wl_expected(wl, "inventory/signup", "inventory/signup.1",
				 SQLITE_CONSTRAINT_CHECK));
	assert_false(wl_expected(wl, "t", "t.1", SQLITE_CONSTRAINT_UNIQUE));
	wl_free(wl);
	assert_int_equal(wl_find("bank")->expect_count, 0);
	assert_false(wl_expected(wl_find("bank"), "transfer", "transfer.debit", SQLITE_ERROR));
}

/* :client_id is the connection's number, in SQL and in expressions.
 * A \persist variable is the connection's own, starts at its initial
 * value, is readable in every template without an assignment, is
 * assigned by \set and \gset, and keeps what a committed transaction
 * left: txn_end with any other outcome puts back the value the
 * transaction began with. An included unit's \persist variables are its
 * own, even under the same name. */
static void test_client_id_and_persist(void **state)
{
	(void)state;
	struct workload *wl = load_ok("\\persist job\n\\persist n 10\n\\persist tag 'x'\n"
				      "\\transaction t\n"
				      "\\set n :n + :client_id\n"
				      "SELECT :client_id, :job, :n, :tag;\n"
				      "SELECT 41 + :client_id AS job \\gset\n"
				      "SELECT :job;\n",
				      NULL, 0);
	const struct wl__prog *p = wl->impl;
	assert_int_equal(p->persist_count, 3);
	void *cs = wl->ops->conn_new(wl, 3);
	struct wh_prng rng;
	wh_prng_seed(&rng, 1, WH_STREAM_CONN);
	const char *name;
	enum hist_begin b;
	struct wl_action a;
	struct wh_value cell = {.type = SQLITE_INTEGER, .i = 44};
	struct hist_stmt row = {.rc = SQLITE_DONE, .col_count = 1, .row_count = 1, .cells = &cell};
	struct hist_stmt done = {.rc = SQLITE_DONE};
	/* rounds 0, 1 and 3 commit; 2 aborts, 4 is indeterminate: those
	 * leave nothing behind */
	static const enum hist_outcome outcome[] = {HIST_COMMITTED, HIST_COMMITTED, HIST_ABORTED,
						    HIST_COMMITTED, HIST_INDETERMINATE,
						    HIST_COMMITTED};
	int64_t expect_n = 10;
	for (int round = 0; round < 6; round++) {
		wl->ops->txn_begin(cs, &rng, &name, &b);
		wl->ops->txn_next(cs, &rng, NULL, &a);
		assert_int_equal(a.kind, WL_ACT_STMT);
		assert_string_equal(a.sql, "SELECT ?1, ?2, ?3, ?4");
		assert_int_equal(a.params[0].type, SQLITE_INTEGER);
		assert_int_equal(a.params[0].i, 3);
		if (round == 0) {
			assert_int_equal(a.params[1].type, SQLITE_NULL);
		} else {
			assert_int_equal(a.params[1].type, SQLITE_INTEGER);
			assert_int_equal(a.params[1].i, 44);
		}
		expect_n += 3;
		assert_int_equal(a.params[2].i, expect_n);
		assert_int_equal(a.params[3].type, SQLITE_TEXT);
		assert_string_equal((const char *)a.params[3].p, "x");
		wl->ops->txn_next(cs, &rng, &done, &a);
		assert_int_equal(a.kind, WL_ACT_STMT);
		assert_string_equal(a.sql, "SELECT 41 + ?1 AS job");
		wl->ops->txn_next(cs, &rng, &row, &a);
		assert_int_equal(a.kind, WL_ACT_STMT);
		assert_int_equal(a.params[0].i, 44); /* \gset into the persist */
		wl->ops->txn_next(cs, &rng, &done, &a);
		assert_int_equal(a.kind, WL_ACT_COMMIT);
		wl->ops->txn_end(cs, outcome[round]);
		if (outcome[round] != HIST_COMMITTED)
			expect_n -= 3; /* forgotten: the transaction did not commit */
	}
	assert_int_equal(expect_n, 10 + 4 * 3);
	/* a connection of its own starts from the initial values */
	void *other = wl->ops->conn_new(wl, 0);
	wl->ops->txn_begin(other, &rng, &name, &b);
	wl->ops->txn_next(other, &rng, NULL, &a);
	assert_int_equal(a.params[0].i, 0);
	assert_int_equal(a.params[1].type, SQLITE_NULL);
	assert_int_equal(a.params[2].i, 10);
	wl->ops->txn_end(other, HIST_ABORTED);
	wl->ops->conn_free(other);
	wl->ops->conn_free(cs);
	wl_free(wl);

	/* job-queue's job and a root's own "job" are two variables */
	wl = load_ok("\\include job-queue\n\\persist job 7\n\\transaction mine\nSELECT :job;\n",
		     NULL, 0);
	p = wl->impl;
	assert_int_equal(p->persist_count, 2);
	cs = wl->ops->conn_new(wl, 1);
	bool mine = false, queue = false;
	for (int k = 0; k < 200 && !(mine && queue); k++) {
		wl->ops->txn_begin(cs, &rng, &name, &b);
		wl->ops->txn_next(cs, &rng, NULL, &a);
		if (strcmp(name, "mine") == 0) {
			assert_int_equal(a.params[0].i, 7);
			mine = true;
		} else if (strcmp(name, "job-queue/work") == 0) {
			/* its job starts NULL: the claim branch runs */
			assert_non_null(strstr(a.sql, "RETURNING id AS job"));
			queue = true;
		}
		wl->ops->txn_end(cs, HIST_ABORTED);
	}
	assert_true(mine && queue);
	wl->ops->conn_free(cs);
	wl_free(wl);
}

/* The content hash follows the text, not the parameters. */
static void test_content_hash(void **state)
{
	(void)state;
	struct workload *a = load_ok(param_file, NULL, 0);
	const char *const over[] = {"rows=9"};
	struct workload *b = load_ok(param_file, over, 1);
	char other[sizeof param_file + 8];
	snprintf(other, sizeof other, "%s-- x\n", param_file);
	struct workload *c = load_ok(other, NULL, 0);
	assert_true(a->content_hash == b->content_hash);
	assert_true(a->content_hash != c->content_hash);
	wl_free(a);
	wl_free(b);
	wl_free(c);
}

/* A loaded file: same as text, FILE in messages; a directory or a
 * missing file is an error. */
static void test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/wl-test-XXXXXX.sql";
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("\\transaction t\nSELECT 1;\nSELECT :missing;\n", f);
	fclose(f);
	struct workload *wl = NULL;
	char err[512];
	assert_int_equal(wl_load_file(path, NULL, 0, WL_SQLITE_ANY, &wl, err, sizeof err), 2);
	char want[600];
	snprintf(want, sizeof want, "%s:3:8: unknown variable :missing", path);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	f = fopen(path, "w");
	fputs("\\transaction t\nSELECT 1;\n", f);
	fclose(f);
	assert_int_equal(wl_load_file(path, NULL, 0, WL_SQLITE_ANY, &wl, err, sizeof err), 0);
	assert_string_equal(wl->origin, path);
	wl_free(wl);
	remove(path);
	assert_int_equal(wl_load_file("/tmp", NULL, 0, WL_SQLITE_ANY, &wl, err, sizeof err), 2);
	assert_non_null(strstr(err, "/tmp: not a regular file"));
}

/* ------------------------------------------------------------------ */
/* Every built-in under the oracle                                     */
/* ------------------------------------------------------------------ */

#define RUN_SEEDS 20
#define RUN_CONNS 6

/*
 * Runs pass the oracle with the workloads' own pragmas; checkpoints and
 * default keep their small wal_autocheckpoint, whose checkpoint runs inside
 * COMMIT after the commit is visible: the driver orders commits by the
 * release of the write lock, which is what makes that correct.
 */
static const char *run_pragma;
static int run_sqlite_version; /* compose for it; 0: for any SQLite */

static void run_checked(const char *name, uint64_t txns)
{
	const struct workload *wl = wl_find(name);
	char err[256];
	if (run_sqlite_version != 0)
		assert_int_equal(wl_resolve_with_params(name, NULL, 0, run_sqlite_version, &wl, err,
							sizeof err),
				 0);
	assert_non_null(wl);
	uint64_t committed = 0;
	for (uint64_t seed = 1; seed <= RUN_SEEDS; seed++) {
		struct world_config cfg;
		struct world_result r;
		struct oracle_report rep;
		world_config_default(&cfg);
		cfg.seed = seed * 7919 + strlen(name);
		cfg.workload = wl;
		cfg.conn_count = RUN_CONNS;
		cfg.txn_count = txns;
		if (run_pragma != NULL)
			cfg.pragmas[cfg.pragma_count++] = run_pragma;
		assert_int_equal(world_run(&cfg, &r), 0);
		for (uint32_t k = 0; k < r.finding_count; k++)
			fprintf(stderr, "%s seed %llu: finding %s: %s\n", name,
				(unsigned long long)cfg.seed, r.findings[k].kind,
				r.findings[k].detail);
		struct oracle_config oc;
		oracle_config_for_world(&cfg, &r, 8, &oc);
		assert_int_equal(oracle_check(&r.history, &oc, &rep), 0);
		for (uint32_t k = 0; k < rep.violation_count && k < 3; k++)
			fprintf(stderr, "%s seed %llu: violation %s: %s\n", name,
				(unsigned long long)cfg.seed, rep.violations[k].kind,
				rep.violations[k].detail);
		if (r.finding_count != 0 || rep.violation_count != 0)
			fail_msg("%s seed %llu: %u findings, %u violations", name,
				 (unsigned long long)cfg.seed, r.finding_count,
				 rep.violation_count);
		committed += r.stats.txns_committed;
		oracle_report_free(&rep);
		world_result_free(&r);
	}
	/* the workload did real work, not only aborts */
	assert_true(committed > RUN_SEEDS * txns / 3);
}

#define RUN_TEST(fn, name, txns)                                            \
	static void fn(void **state)                                        \
	{                                                                   \
		(void)state;                                                \
		run_pragma = NULL;                                          \
		run_sqlite_version = 0;                                     \
		run_checked(name, txns);                                    \
	}

RUN_TEST(test_run_bank, "bank", 150)
RUN_TEST(test_run_counter, "counter", 150)
RUN_TEST(test_run_list_append, "list-append", 150)
RUN_TEST(test_run_rw_register, "rw-register", 150)
RUN_TEST(test_run_inventory, "inventory", 150)
RUN_TEST(test_run_index_heavy, "index-heavy", 150)
RUN_TEST(test_run_blobs, "blobs", 150)
RUN_TEST(test_run_ddl_churn, "ddl-churn", 150)
RUN_TEST(test_run_checkpoints, "checkpoints", 150)
RUN_TEST(test_run_savepoints, "savepoints", 150)
RUN_TEST(test_run_delete_heavy, "delete-heavy", 150)
RUN_TEST(test_run_default, "default", 300)
RUN_TEST(test_run_job_queue, "job-queue", 150)

/* default as composed for SQLCipher's SQLite (without ddl-churn and
 * rw-register) is a consistent workload of its own: it passes the oracle
 * (here on the linked SQLite). */
static void test_run_default_for_old_sqlite(void **state)
{
	(void)state;
	run_pragma = NULL;
	run_sqlite_version = SQLCIPHER_SQLITE;
	run_checked("default", 300);
	run_sqlite_version = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins_listed),
		cmocka_unit_test(test_default_mix),
		cmocka_unit_test(test_builtins_serial),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_sql_error_positions),
		cmocka_unit_test(test_too_many_variables),
		cmocka_unit_test(test_param_overrides),
		cmocka_unit_test(test_param_include_routing),
		cmocka_unit_test(test_requires_declared),
		cmocka_unit_test(test_requires_leaves_includes_out),
		cmocka_unit_test(test_requires_nested_and_unrunnable),
		cmocka_unit_test(test_requires_builtins),
		cmocka_unit_test(test_gset_read_modify_write),
		cmocka_unit_test(test_conditional),
		cmocka_unit_test(test_expressions),
		cmocka_unit_test(test_unique_counter),
		cmocka_unit_test(test_generator_distributions),
		cmocka_unit_test(test_generators_deterministic),
		cmocka_unit_test(test_statement_flags),
		cmocka_unit_test(test_elle_shape),
		cmocka_unit_test(test_rc_names),
		cmocka_unit_test(test_expect_declared),
		cmocka_unit_test(test_client_id_and_persist),
		cmocka_unit_test(test_content_hash),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_run_bank),
		cmocka_unit_test(test_run_counter),
		cmocka_unit_test(test_run_list_append),
		cmocka_unit_test(test_run_rw_register),
		cmocka_unit_test(test_run_inventory),
		cmocka_unit_test(test_run_index_heavy),
		cmocka_unit_test(test_run_blobs),
		cmocka_unit_test(test_run_ddl_churn),
		cmocka_unit_test(test_run_checkpoints),
		cmocka_unit_test(test_run_savepoints),
		cmocka_unit_test(test_run_delete_heavy),
		cmocka_unit_test(test_run_default),
		cmocka_unit_test(test_run_job_queue),
		cmocka_unit_test(test_run_default_for_old_sqlite),
	};
	/* WH_TEST_FILTER="test_parse*" runs a subset (e.g. under valgrind,
	 * where the 20-seed runs take long). */
	if (getenv("WH_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
