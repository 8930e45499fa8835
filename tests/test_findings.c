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
 *
 * Finding 2 (SQLite 3.40.1, rollback-journal modes, several connections
 * in one process): a hot journal is taken for a live one, and the
 * database is corrupted. A connection that finds a hot journal asks for
 * EXCLUSIVE without passing through RESERVED (pagerSharedLock says why:
 * so that nobody takes its RESERVED for a live journal), but when that
 * fails because another connection holds SHARED, the unix VFS leaves it
 * holding PENDING until the pager unlocks, and unixCheckReservedLock
 * reports any lock above SHARED held in the same process as "reserved".
 * A connection checking the journal in that window (hasHotJournal) sees
 * "reserved", concludes the journal belongs to a live writer, reads the
 * half-written database, and when it later writes, starts its own
 * journal over the hot one: the rollback is lost for good. The simulated
 * VFS follows unix here (a refused EXCLUSIVE keeps PENDING; CheckReserved
 * counts it). Found by the nightly (default mix, journal truncate,
 * --faults chaos: a COMMIT whose database write failed and whose rollback
 * failed too left the hot journal); the final database fails
 * integrity_check (rows missing from their indexes). I/O faults alone
 * are enough: any COMMIT that wrote the database and then failed to
 * finalise (or roll back) its journal leaves one; the pinned run is
 * delete-heavy under --faults io. A connection misled this way may also
 * only read the half-written database, or a committed-then-failed COMMIT
 * may stand while the application was told it failed.
 *
 * Finding 3 (SQLite 3.40.1, WAL mode; SQLite documents it as the WAL-reset
 * bug, 3.7.0 to 3.51.2): a checkpoint that read the wal-index header
 * before another connection reset the WAL backfills from the new WAL as
 * if it were the old one and marks the old frame count checkpointed.
 * sqlite3WalCheckpoint reads the header once it holds the checkpoint
 * lock; a writer's reset (walRestartLog) takes read locks 1-4, not that
 * lock, so it can come next; walCheckpoint then sees the live nBackfill
 * (0) below its stale frame count, copies what the new WAL's hash tables
 * hold and sets nBackfill to the stale count. Readers then find every
 * frame checkpointed and read pages from the database file: commits in
 * the new WAL vanish from their view. In the simulation the checkpointer
 * parks in the xUnfetch it makes right after reading a changed header,
 * and the writer resets the WAL meanwhile. Found by the nightly
 * (rw-register, 11 connections, seed 5809801856334177889): every later
 * read of a register returned a value two commits old.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "oracle_world.h"
#include "simvfs.h"
#include "workloads.h"
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

/* Scans the trace for the race: a connection asks for EXCLUSIVE straight
 * from SHARED (to roll a hot journal back) and is refused, keeping PENDING
 * (lock a=4 ... b=3 rc=5); while it holds it and no other connection
 * holds more than SHARED, another connection's access() finds the journal
 * (b=1) and its CheckReservedLock says "reserved" (a=1); without
 * unlocking, that connection then reads the database or writes a
 * journal: it took the hot journal for a live one. A live writer's
 * refused EXCLUSIVE (asked from RESERVED) does not count: its journal is
 * live. Returns how many times. */
static int count_hot_journal_misreads(const char *trace)
{
	enum { MAXC = 64 };
	bool journal_seen[MAXC] = { false }, misled[MAXC] = { false };
	int level[MAXC] = { 0 };
	int pending = -1, found = 0;
	const char *line = trace;
	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		char buf[512];
		snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf - 1 ? n : sizeof buf - 1), line);
		line = end ? end + 1 : NULL;
		const char *cp = strstr(buf, " conn=");
		const char *ap = strstr(buf, " a=");
		const char *bp = strstr(buf, " b=");
		if (cp == NULL || ap == NULL || bp == NULL)
			continue;
		int conn = atoi(cp + 6), a = atoi(ap + 3), b = atoi(bp + 3);
		if (conn < 0 || conn >= MAXC)
			continue;
		bool db = strstr(buf, "file=whopper.db ") != NULL;
		bool journal = strstr(buf, "file=whopper.db-journal ") != NULL;
		if (db && strstr(buf, " op=lock ")) {
			if (a == 4 && b == 3 && strstr(buf, " rc=5") && level[conn] == 1)
				pending = conn; /* refused EXCLUSIVE from SHARED */
			level[conn] = b;
		} else if (db && strstr(buf, " op=unlock ")) {
			if (conn == pending)
				pending = -1;
			level[conn] = b;
			misled[conn] = false;
			journal_seen[conn] = false;
		} else if (journal && strstr(buf, " op=access ")) {
			journal_seen[conn] = b == 1;
		} else if (db && strstr(buf, " op=check_reserved ")) {
			bool others_shared = true;
			for (int k = 0; k < MAXC; k++)
				others_shared &= k == pending || level[k] <= 1;
			misled[conn] = journal_seen[conn] && pending >= 0 && pending != conn &&
				       others_shared && a == 1;
		} else if (misled[conn] && ((db && strstr(buf, " op=read ")) ||
					    (journal && strstr(buf, " op=write ")))) {
			found++;
			misled[conn] = false;
		}
	}
	return found;
}

/* The pinned run: seed 60 of delete-heavy, 6 connections, 600
 * transactions, truncate journal, I/O faults. */
static void hot_journal_config(struct world_config *cfg)
{
	world_config_default(cfg);
	cfg->seed = 60;
	cfg->workload = wl_find("delete-heavy");
	cfg->conn_count = 6;
	cfg->txn_count = 600;
	cfg->journal_mode = "truncate";
	cfg->faults = WORLD_FAULTS_IO;
}

static void test_hot_journal_taken_for_live(void **state)
{
	(void)state;
	char *trace = NULL;
	size_t trace_len = 0;
	FILE *tf = open_memstream(&trace, &trace_len);
	assert_non_null(tf);
	struct world_config cfg;
	hot_journal_config(&cfg);
	cfg.trace = tf;
	struct world_result r;
	assert_int_equal(world_run(&cfg, &r), 0);
	assert_int_equal(fclose(tf), 0);
	struct oracle_config oc;
	oracle_config_for_world(&cfg, &r, 8, &oc);
	struct oracle_report rep;
	assert_int_equal(oracle_check(&r.history, &oc, &rep), 0);
	bool corrupt = false;
	for (uint32_t k = 0; k < rep.violation_count; k++)
		corrupt |= strcmp(rep.violations[k].kind, "integrity_check") == 0;
	/* The finding: the database ends corrupt, and the trace shows why. */
	assert_true(corrupt);
	assert_true(count_hot_journal_misreads(trace) >= 1);
	/* The engine's always-on detector (the evidence the catalogue of known
	 * findings recognises it by) sees the same race, as often. */
	assert_true(r.evidence.hot_journal_taken_for_live >= 1);
	assert_int_equal(r.evidence.hot_journal_taken_for_live,
			 count_hot_journal_misreads(trace));
	oracle_report_free(&rep);
	world_result_free(&r);
	free(trace);
}

/* The race needs the in-process view of the locks: the same run with
 * each connection in a process of its own (--lock-model process) never
 * takes a hot journal for a live one, and its database ends intact. */
static void test_hot_journal_needs_one_process(void **state)
{
	(void)state;
	struct world_config cfg;
	hot_journal_config(&cfg);
	cfg.lock_model = SIMVFS_LOCKS_PROCESS;
	struct world_result r;
	assert_int_equal(world_run(&cfg, &r), 0);
	assert_int_equal(r.evidence.hot_journal_taken_for_live, 0);
	assert_true(r.stats.faults_injected > 0);
	struct oracle_config oc;
	oracle_config_for_world(&cfg, &r, 8, &oc);
	struct oracle_report rep;
	assert_int_equal(oracle_check(&r.history, &oc, &rep), 0);
	for (uint32_t k = 0; k < rep.violation_count; k++)
		assert_string_not_equal(rep.violations[k].kind, "integrity_check");
	oracle_report_free(&rep);
	world_result_free(&r);
}

/* Checkpoints that backfilled with a header read before a WAL reset,
 * counted from the trace alone (the shm lock lines: a = slot, b = n << 8 |
 * flags): a connection takes the checkpoint lock (slot 1), another resets
 * the WAL (read locks 1-4 exclusive at once), then the first takes
 * read-lock 0 exclusive and writes the database before it lets the
 * checkpoint lock go. */
static int count_stale_checkpoints(const char *trace)
{
	enum { MAXC = 64 };
	int resets = 0, found = 0;
	int header_at[MAXC];
	bool ckpt[MAXC] = {false}, backfilling[MAXC] = {false};
	for (const char *line = trace; line != NULL && *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		char buf[512];
		snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf - 1 ? n : sizeof buf - 1), line);
		line = end ? end + 1 : NULL;
		const char *cp = strstr(buf, " conn=");
		const char *ap = strstr(buf, " a=");
		const char *bp = strstr(buf, " b=");
		if (cp == NULL || ap == NULL || bp == NULL || strstr(buf, " rc=0") == NULL)
			continue;
		int conn = atoi(cp + 6), a = atoi(ap + 3), b = atoi(bp + 3);
		if (conn < 0 || conn >= MAXC)
			continue;
		int locks = b >> 8, flags = b & 0xff;
		if (strstr(buf, " op=shm_lock file=whopper.db ")) {
			bool excl_lock = flags == (SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE);
			if (excl_lock && a == 4 && locks == 4) {
				resets++;
			} else if (excl_lock && a == 1) {
				ckpt[conn] = true;
				backfilling[conn] = false;
				header_at[conn] = resets;
			} else if (excl_lock && a == 0 && ckpt[conn]) {
				header_at[conn] = resets;
			} else if (excl_lock && a == 3 && ckpt[conn]) {
				backfilling[conn] = true;
			} else if ((flags & SQLITE_SHM_UNLOCK) && a <= 1 && a + locks > 1) {
				ckpt[conn] = backfilling[conn] = false;
			}
		} else if (strstr(buf, " op=write file=whopper.db ") && backfilling[conn] &&
			   header_at[conn] != resets) {
			found++;
			backfilling[conn] = false;
		}
	}
	return found;
}

/* The nightly's run, as it printed it: rw-register, 11 connections, 2000
 * transactions, WAL, synchronous=OFF, PCT depth 2, power losses, the
 * cross-process lock view and three pragmas. The race comes long before
 * the first power loss; neither setting it needs is exotic (every commit
 * tries a checkpoint with wal_autocheckpoint=1). */
static void wal_reset_config(struct world_config *cfg)
{
	world_config_default(cfg);
	cfg->seed = 5809801856334177889ull;
	cfg->workload = wl_find("rw-register");
	cfg->conn_count = 11;
	cfg->txn_count = 2000;
	cfg->journal_mode = "wal";
	cfg->synchronous = "off";
	cfg->strategy = SCHED_PCT;
	cfg->pct_depth = 2;
	cfg->faults = WORLD_FAULTS_CRASH;
	cfg->lock_model = SIMVFS_LOCKS_PROCESS;
	cfg->pragmas[0] = "mmap_size=65536";
	cfg->pragmas[1] = "wal_autocheckpoint=1";
	cfg->pragmas[2] = "page_size=65536";
	cfg->pragma_count = 3;
}

static void test_wal_reset_checkpoint_race(void **state)
{
	(void)state;
	char *trace = NULL;
	size_t trace_len = 0;
	FILE *tf = open_memstream(&trace, &trace_len);
	assert_non_null(tf);
	struct world_config cfg;
	wal_reset_config(&cfg);
	cfg.trace = tf;
	struct world_result r;
	assert_int_equal(world_run(&cfg, &r), 0);
	assert_int_equal(fclose(tf), 0);
	/* The race, in the trace and in the engine's detector alike. */
	assert_true(count_stale_checkpoints(trace) >= 1);
	assert_int_equal(r.evidence.wal_reset_stale_checkpoint, count_stale_checkpoints(trace));
	assert_true(r.evidence.wal_reset_first_event > 0);
	struct oracle_config oc;
	oracle_config_for_world(&cfg, &r, 8, &oc);
	struct oracle_report rep;
	assert_int_equal(oracle_check(&r.history, &oc, &rep), 0);
	/* Its damage: reads of old values after it, before any power loss,
	 * so no configuration excuses them. */
	uint64_t first_crash = r.history.crash_count > 0 ? r.history.crashes[0].event : UINT64_MAX;
	bool unexcused_read = false;
	for (uint32_t k = 0; k < rep.violation_count; k++) {
		const struct oracle_violation *v = &rep.violations[k];
		for (uint32_t j = 0; j < v->txn_count && !v->expected; j++) {
			const struct hist_txn *t = r.history.txns[v->txns[j]];
			unexcused_read |= t->end_event > r.evidence.wal_reset_first_event &&
					  t->end_event < first_crash;
		}
	}
	assert_true(unexcused_read);
	oracle_report_free(&rep);
	world_result_free(&r);
	free(trace);
}

/* The configuration make run found it in: ddl-churn, 10 connections,
 * WAL, synchronous OFF, round-robin, chaos faults (allocation failures
 * among them), a process each, mmap on. */
static void schema_retry_config(struct world_config *cfg)
{
	world_config_default(cfg);
	cfg->seed = 10080809369526570024ull;
	cfg->workload = wl_find("ddl-churn");
	cfg->conn_count = 10;
	cfg->txn_count = 2000;
	cfg->journal_mode = "wal";
	cfg->synchronous = "off";
	cfg->strategy = SCHED_RR;
	cfg->faults = WORLD_FAULTS_CHAOS;
	cfg->lock_model = SIMVFS_LOCKS_PROCESS;
	cfg->pragmas[0] = "mmap_size=268435456";
	cfg->pragma_count = 1;
}

/* SQLite ends an explicit transaction under a statement and reports the
 * statement's success: T1024 (BEGIN IMMEDIATE; DROP INDEX IF EXISTS
 * dc_main_a) hits SQLITE_SCHEMA at its OP_Transaction, an injected
 * allocation failure fails the statement journal's rollback, SQLite rolls
 * the whole transaction back (autocommit on) and its schema retry runs
 * the DROP INDEX on its own: DONE. The driver's COMMIT then fails ("no
 * transaction is active"), the history has T1024 aborted, and the index
 * is gone after the next clean reopen: phantom_commit, not excused (no
 * power loss). The engine counts the statement (autocommit on after a
 * successful statement of an explicit transaction). */
static void test_schema_retry_loses_transaction(void **state)
{
	(void)state;
	struct world_config cfg;
	schema_retry_config(&cfg);
	struct world_result r;
	assert_int_equal(world_run(&cfg, &r), 0);
	assert_int_equal(r.evidence.txn_lost_under_statement, 1);
	assert_true(r.evidence.txn_lost_first_event > 0);
	assert_true(r.stats.alloc_failures > 0);
	struct oracle_config oc;
	oracle_config_for_world(&cfg, &r, 64, &oc);
	struct oracle_report rep;
	assert_int_equal(oracle_check(&r.history, &oc, &rep), 0);
	bool phantom = false;
	for (uint32_t k = 0; k < rep.violation_count; k++) {
		const struct oracle_violation *v = &rep.violations[k];
		if (strcmp(v->kind, "phantom_commit") != 0 || v->expected)
			continue;
		for (uint32_t j = 0; j < v->txn_count; j++) {
			const struct hist_txn *t = r.history.txns[v->txns[j]];
			/* the transaction whose statement the counter saw */
			phantom |= t->outcome == HIST_ABORTED && t->stmt_count == 1 &&
				   strstr(t->stmts[0].sql, "DROP INDEX") != NULL;
		}
	}
	assert_true(phantom);
	oracle_report_free(&rep);
	world_result_free(&r);
}

/* The non-powersafe WAL loss in a whole run (bank of counters, 4
 * connections, power losses, a device without powersafe overwrite): the
 * first power loss takes the unsynced tail of T80's padding frame and
 * the recovery ends the WAL at T80's commit frame, mid-sector; the WAL
 * stays (the recovery check leaves it), the next writer appends into that
 * sector, and the second power loss tears it: T80, acknowledged and shown
 * by the first recovery, is gone. Fails if the recovery check ends the WAL
 * (the loss never happens), or if the oracle compares only the second
 * crash's own epoch (it reported recovery_state and a cascade of read
 * mismatches instead of the lost commit). */
static void test_wal_non_powersafe_loss_across_recoveries(void **state)
{
	(void)state;
	struct world_config cfg;
	world_config_default(&cfg);
	cfg.seed = 1355;
	cfg.workload = wl_find("counter");
	cfg.conn_count = 4;
	cfg.txn_count = 300;
	cfg.journal_mode = "wal";
	cfg.faults = WORLD_FAULTS_CRASH;
	cfg.device_characteristics = 0; /* --device non-powersafe */
	struct world_result r;
	assert_int_equal(world_run(&cfg, &r), 0);
	assert_true(r.evidence.torn_outside_write > 0);
	assert_true(r.history.crash_count >= 2);
	struct oracle_config oc;
	oracle_config_for_world(&cfg, &r, 8, &oc);
	struct oracle_report rep;
	assert_int_equal(oracle_check(&r.history, &oc, &rep), 0);
	assert_int_equal(rep.violation_count, 1);
	const struct oracle_violation *v = &rep.violations[0];
	assert_string_equal(v->kind, "lost_commit");
	assert_false(v->expected);
	assert_int_equal(v->txn_count, 1);
	const struct hist_txn *t = r.history.txns[v->txns[0]];
	assert_int_equal(t->outcome, HIST_COMMITTED);
	/* Committed before the first power loss, lost at the second. */
	assert_true(t->end_event < r.history.crashes[0].event);
	assert_non_null(strstr(v->detail, "crash 1 "));
	assert_non_null(strstr(v->detail, "before crash 0, whose recovery had shown them"));
	oracle_report_free(&rep);
	world_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stale_schema_no_such_table),
		cmocka_unit_test(test_hot_journal_taken_for_live),
		cmocka_unit_test(test_hot_journal_needs_one_process),
		cmocka_unit_test(test_wal_reset_checkpoint_race),
		cmocka_unit_test(test_wal_non_powersafe_loss_across_recoveries),
		cmocka_unit_test(test_schema_retry_loses_transaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
