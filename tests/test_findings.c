/*
 * test_findings.c - behaviour of the SQLite under test that whopper found,
 * pinned so that a change in it (a fix, or a regression in whopper's
 * detection) is noticed. Each test states the finding and expects it.
 *
 * Finding 1 (SQLite 3.40.1, rollback-journal modes): a statement prepared
 * on a connection whose cached schema is stale fails with SQLITE_ERROR
 * "no such table" for a table that exists, when the schema check cannot
 * get a read lock because a writer holds the database. sqlite3Prepare
 * re-validates the schema cookie only after it opened a read transaction
 * (schemaIsValid); when that open fails with SQLITE_BUSY it returns quietly
 * and the stale error stands, instead of SQLITE_BUSY or SQLITE_SCHEMA.
 * Found by the ddl-churn workload (seed 11938901988916373958, journal
 * truncate, 7 connections, rr scheduler, page_size=1024, 2000 txns),
 * shrunk to 101 statements; the trace shows the preparing connection's
 * SHARED lock refused until its busy timeout ran out, then the error.
 * The oracle reports it as a read that matches no state.
 */
#include "test_util.h"

#include <string.h>

#include "simvfs.h"
#include "world.h"

static int yield_none(void *ctx, enum wh_op_kind kind, const char *file, int64_t arg)
{
	(void)ctx, (void)kind, (void)file, (void)arg;
	return SQLITE_OK;
}

static void trace_none(void *ctx, enum wh_op_kind kind, const char *file, int64_t a,
		       int64_t b, int rc)
{
	(void)ctx, (void)kind, (void)file, (void)a, (void)b, (void)rc;
}

static uint64_t now_zero(void *ctx)
{
	(void)ctx;
	return 0;
}

static void rand_fill(void *ctx, int n, unsigned char *out)
{
	(void)ctx;
	memset(out, 7, (size_t)n);
}

static sqlite3 *open_conn(const char *vfs)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2("finding.db", &db,
					 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						 SQLITE_OPEN_PRIVATECACHE,
					 vfs),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=truncate", NULL, NULL, NULL),
			 SQLITE_OK);
	return db;
}

static void test_stale_schema_no_such_table(void **state)
{
	(void)state;
	assert_int_equal(world_global_init(), 0);
	struct simvfs *vfs = NULL;
	struct simvfs_config cfg;
	struct simvfs_hooks hooks = {.yield = yield_none, .trace = trace_none,
				     .now_us = now_zero, .randomness = rand_fill};
	simvfs_config_default(&cfg);
	assert_int_equal(simvfs_create(&vfs, "finding-vfs", &cfg, &hooks), SQLITE_OK);

	sqlite3 *a = open_conn("finding-vfs");
	sqlite3 *b = open_conn("finding-vfs");
	sqlite3 *c = open_conn("finding-vfs");
	/* a caches a schema without table t */
	assert_int_equal(sqlite3_exec(b, "CREATE TABLE other(x)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(a, "SELECT count(*) FROM other", NULL, NULL, NULL),
			 SQLITE_OK);
	/* b creates t: a's cached schema is now stale */
	assert_int_equal(sqlite3_exec(b, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	/* c holds the database exclusively, so a cannot read the cookie */
	assert_int_equal(sqlite3_exec(c, "BEGIN EXCLUSIVE; INSERT INTO other VALUES(1)", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(a, "INSERT INTO t VALUES(1)", -1, &st, NULL);
	/* The finding: not SQLITE_BUSY, but a false "no such table". */
	assert_int_equal(rc, SQLITE_ERROR);
	assert_non_null(strstr(sqlite3_errmsg(a), "no such table: t"));
	assert_null(st);
	/* Once the writer is gone the same statement prepares: t exists. */
	assert_int_equal(sqlite3_exec(c, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(a, "INSERT INTO t VALUES(1)", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(a);
	sqlite3_close(b);
	sqlite3_close(c);
	simvfs_destroy(vfs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stale_schema_no_such_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
