/*
 * test_stream.c - the oracle's concurrent check (oracle/stream.c).
 *
 * The promise under test: with a stream the verdict is exactly the one
 * oracle_check gives without it, and on honest fault-free runs the stream
 * is what produced it (rep.streamed), so the check after the run is only
 * the tail. Hand-built histories drive the stream through the history's
 * observer, call by call, as the driver does: a clean one is streamed; a
 * read that matches only a state its window excludes (a read "from the
 * future", which the stream alone cannot rule out: it does not know the
 * window's end while the run goes on) must still be reported, which
 * fails if oracle.c stops confirming the stream against the real plan; a
 * crash recovered to the state at its step is streamed (with a writer it
 * cut included when the recovered state has it), one that lost a commit
 * is left to oracle_check; an indeterminate commit is streamed as not
 * committed, and left to oracle_check's search when a later read shows
 * it did commit.
 * Engine runs compare the whole report with and without the stream, and
 * the run's trace hash, which the stream must not change.
 */
#include "test_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "digest.h"
#include "oracle.h"
#include "oracle_world.h"
#include "workloads.h"
#include "world.h"

static const char KV[] =
	"CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER);"
	"INSERT INTO kv VALUES(1, 0), (2, 0);";

static const char READ1[] = "SELECT v FROM kv WHERE k = ?1";
static const char WRITE1[] = "UPDATE kv SET v = ?2 WHERE k = ?1";

/* ------------------------------------------------------------------ */
/* Hand-built histories                                                 */
/* ------------------------------------------------------------------ */

struct sfx {
	struct history h;
	struct oracle_config cfg;
	struct oracle_stream *s;
};

static void sfx_init(struct sfx *f)
{
	assert_int_equal(world_global_init(), 0);
	memset(f, 0, sizeof *f);
	hist_init(&f->h);
	hist_set_setup(&f->h, KV);
	f->s = oracle_stream_start(&f->h, &f->cfg);
	assert_non_null(f->s);
	f->h.observer = oracle_stream_observer(f->s);
}

static void ival(struct wh_value *v, int64_t i)
{
	memset(v, 0, sizeof *v);
	v->type = SQLITE_INTEGER;
	v->i = i;
}

static void read1(struct history *h, struct hist_txn *t, int64_t k, int64_t seen)
{
	struct wh_value p, cell;
	ival(&p, k);
	ival(&cell, seen);
	hist_stmt_add(h, t, READ1, "read", &p, 1, SQLITE_DONE, 0, 1, 1, &cell, false);
}

static void write1(struct history *h, struct hist_txn *t, int64_t k, int64_t v)
{
	struct wh_value p[2];
	ival(&p[0], k);
	ival(&p[1], v);
	hist_stmt_add(h, t, WRITE1, "write", p, 2, SQLITE_DONE, 1, 0, 0, NULL, false);
}

/* A committed writer k := v, begun and ended now. */
static void writer(struct history *h, int conn, int64_t k, int64_t v)
{
	struct hist_txn *t = hist_txn_begin(h, conn, "w", HIST_BEGIN_IMMEDIATE, 0);
	write1(h, t, k, v);
	hist_txn_commit_start(h, t);
	hist_txn_end(h, t, HIST_COMMITTED, SQLITE_OK, 0);
}

/* Two writers and readers overlapping them, all consistent: the stream
 * proves it, and the report is oracle_check's. */
static void test_clean_history_is_streamed(void **state)
{
	(void)state;
	struct sfx f;
	sfx_init(&f);
	writer(&f.h, 1, 1, 10);
	struct hist_txn *r = hist_txn_begin(&f.h, 2, "r", HIST_BEGIN_DEFERRED, 0);
	read1(&f.h, r, 1, 10);
	writer(&f.h, 1, 2, 20);   /* commits while r is open */
	read1(&f.h, r, 2, 0);     /* r's snapshot predates it */
	hist_txn_commit_start(&f.h, r);
	hist_txn_end(&f.h, r, HIST_COMMITTED, SQLITE_OK, 0);
	struct hist_txn *a = hist_txn_begin(&f.h, 3, "a", HIST_BEGIN_DEFERRED, 0);
	read1(&f.h, a, 2, 20);
	hist_txn_end(&f.h, a, HIST_ABORTED, SQLITE_BUSY, 0);

	struct oracle_report rep, plain;
	assert_int_equal(oracle_check_stream(&f.h, &f.cfg, f.s, &rep), 0);
	assert_int_equal(oracle_check(&f.h, &f.cfg, &plain), 0);
	assert_int_equal(rep.violation_count, 0);
	assert_true(rep.streamed);
	assert_false(plain.streamed);
	assert_int_equal(rep.txns_checked, plain.txns_checked);
	assert_int_equal(rep.txns_checked, 4);
	oracle_report_free(&rep);
	oracle_report_free(&plain);
	hist_free(&f.h);
}

/* T0 reads v = 1 and ends before T1, which writes it, even begins: T0's
 * window is position 0 only. The stream, which cannot know where a
 * window ends while the run goes on, sees T0 match once T1 is applied;
 * oracle.c must find that position outside T0's window and check from
 * scratch. */
static void test_read_from_the_future_is_caught(void **state)
{
	(void)state;
	struct sfx f;
	sfx_init(&f);
	struct hist_txn *t0 = hist_txn_begin(&f.h, 1, "r", HIST_BEGIN_DEFERRED, 0);
	read1(&f.h, t0, 1, 1);
	hist_txn_commit_start(&f.h, t0);
	hist_txn_end(&f.h, t0, HIST_COMMITTED, SQLITE_OK, 0);
	writer(&f.h, 2, 1, 1);

	struct oracle_report rep, plain;
	assert_int_equal(oracle_check_stream(&f.h, &f.cfg, f.s, &rep), 0);
	assert_int_equal(oracle_check(&f.h, &f.cfg, &plain), 0);
	assert_false(rep.streamed);
	assert_int_equal(rep.violation_count, plain.violation_count);
	assert_true(rep.violation_count >= 1);
	assert_string_equal(rep.violations[0].kind, plain.violations[0].kind);
	assert_int_equal(rep.violations[0].txn_count, plain.violations[0].txn_count);
	assert_int_equal(rep.violations[0].txns[0], 0);
	oracle_report_free(&rep);
	oracle_report_free(&plain);
	hist_free(&f.h);
}

/* An anchored transaction that does not match: the stream gives up, the
 * check from scratch names it. */
static void test_lost_update_is_caught(void **state)
{
	(void)state;
	struct sfx f;
	sfx_init(&f);
	writer(&f.h, 1, 1, 5);
	struct hist_txn *t = hist_txn_begin(&f.h, 2, "rw", HIST_BEGIN_DEFERRED, 0);
	read1(&f.h, t, 1, 0); /* must see 5 at its commit position */
	write1(&f.h, t, 1, 1);
	hist_txn_commit_start(&f.h, t);
	hist_txn_end(&f.h, t, HIST_COMMITTED, SQLITE_OK, 0);

	struct oracle_report rep, plain;
	assert_int_equal(oracle_check_stream(&f.h, &f.cfg, f.s, &rep), 0);
	assert_int_equal(oracle_check(&f.h, &f.cfg, &plain), 0);
	assert_false(rep.streamed);
	assert_true(rep.violation_count >= 1);
	assert_int_equal(rep.violation_count, plain.violation_count);
	assert_string_equal(rep.violations[0].kind, plain.violations[0].kind);
	oracle_report_free(&rep);
	oracle_report_free(&plain);
	hist_free(&f.h);
}

/* The digest of KV after sql, as the driver digests the recovered file. */
static uint64_t digest_of(const char *sql)
{
	sqlite3 *db = NULL;
	uint64_t d = 0;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, KV, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(digest_db(db, &d), SQLITE_OK);
	sqlite3_close(db);
	return d;
}

static void crash(struct history *h, enum hist_crash_kind kind, const char *sql)
{
	struct hist_crash *cr = hist_crash_add(h, kind);
	cr->recovered_digest = digest_of(sql);
	hist_crash_recovered(h, cr);
}

/* Crashes whose recovered state is the reference's at the crash are
 * streamed, an indeterminate writer cut by the crash included when the
 * recovered state has it; a crash that lost a commit is oracle_check's
 * (the same report either way). */
static void test_crashes(void **state)
{
	(void)state;
	for (int variant = 0; variant < 3; variant++) {
		struct sfx f;
		sfx_init(&f);
		f.cfg.durability = ORACLE_DURABLE_ALL;
		writer(&f.h, 1, 1, 10);
		if (variant == 1) {
			/* cut by the crash, yet on disk */
			struct hist_txn *t = hist_txn_begin(&f.h, 2, "w",
							    HIST_BEGIN_IMMEDIATE, 0);
			write1(&f.h, t, 2, 7);
			hist_txn_commit_start(&f.h, t);
			hist_txn_end(&f.h, t, HIST_INDETERMINATE, SQLITE_IOERR, 0);
		}
		const char *recovered[] = {
			"UPDATE kv SET v = 10 WHERE k = 1",
			"UPDATE kv SET v = 10 WHERE k = 1; UPDATE kv SET v = 7 WHERE k = 2",
			"SELECT 1", /* lost T0 */
		};
		crash(&f.h, variant == 0 ? HIST_CRASH_REOPEN : HIST_CRASH_POWER_LOSS,
		      recovered[variant]);
		writer(&f.h, 3, 2, 3);
		struct hist_txn *r = hist_txn_begin(&f.h, 4, "r", HIST_BEGIN_DEFERRED, 0);
		read1(&f.h, r, 2, 3);
		hist_txn_commit_start(&f.h, r);
		hist_txn_end(&f.h, r, HIST_COMMITTED, SQLITE_OK, 0);
		struct oracle_report rep, plain;
		assert_int_equal(oracle_check_stream(&f.h, &f.cfg, f.s, &rep), 0);
		assert_int_equal(oracle_check(&f.h, &f.cfg, &plain), 0);
		assert_int_equal(rep.streamed, variant < 2);
		assert_int_equal(rep.violation_count, plain.violation_count);
		assert_int_equal(rep.violation_count, variant == 2 ? 1 : 0);
		if (variant == 2)
			assert_string_equal(rep.violations[0].kind, plain.violations[0].kind);
		assert_int_equal(rep.txns_checked, plain.txns_checked);
		oracle_report_free(&rep);
		oracle_report_free(&plain);
		hist_free(&f.h);
	}
}

/* An indeterminate writer: the stream proves the plan where it did not
 * commit. When a later read shows it did, that plan fails, the stream
 * is dropped and oracle_check's search finds the one where it did. */
static void test_indeterminate_writer(void **state)
{
	(void)state;
	for (int seen = 0; seen < 2; seen++) {
		struct sfx f;
		sfx_init(&f);
		writer(&f.h, 1, 1, 10);
		struct hist_txn *t = hist_txn_begin(&f.h, 2, "w", HIST_BEGIN_IMMEDIATE, 0);
		write1(&f.h, t, 2, 7);
		hist_txn_commit_start(&f.h, t);
		hist_txn_end(&f.h, t, HIST_INDETERMINATE, SQLITE_IOERR_FSYNC, 0);
		struct hist_txn *r = hist_txn_begin(&f.h, 3, "r", HIST_BEGIN_DEFERRED, 0);
		read1(&f.h, r, 2, seen ? 7 : 0);
		hist_txn_commit_start(&f.h, r);
		hist_txn_end(&f.h, r, HIST_COMMITTED, SQLITE_OK, 0);
		struct oracle_report rep, plain;
		assert_int_equal(oracle_check_stream(&f.h, &f.cfg, f.s, &rep), 0);
		assert_int_equal(oracle_check(&f.h, &f.cfg, &plain), 0);
		assert_int_equal(rep.streamed, !seen);
		assert_int_equal(rep.violation_count, 0);
		assert_int_equal(plain.violation_count, 0);
		assert_int_equal(rep.txns_checked, plain.txns_checked);
		oracle_report_free(&rep);
		oracle_report_free(&plain);
		hist_free(&f.h);
	}
}

/* ------------------------------------------------------------------ */
/* Engine runs                                                          */
/* ------------------------------------------------------------------ */

struct checked {
	uint64_t trace_hash;
	uint32_t violations;
	uint64_t txns_checked;
	bool streamed;
	char kinds[512];
	char note[256];
};

static struct checked run_checked(const struct world_config *base, bool stream)
{
	struct world_config cfg = *base;
	struct world_result r;
	memset(&r, 0, sizeof r);
	struct oracle_config pre = {
		.ref_pragmas = cfg.workload->pragmas,
		.ref_pragma_count = cfg.workload->pragma_count,
	};
	struct oracle_stream *s = stream ? oracle_stream_start(&r.history, &pre) : NULL;
	cfg.observer = oracle_stream_observer(s);
	assert_int_equal(world_run(&cfg, &r), 0);
	struct oracle_config oc;
	oracle_config_for_world(&cfg, &r, 8, &oc);
	struct oracle_report rep;
	assert_int_equal(oracle_check_stream(&r.history, &oc, s, &rep), 0);
	struct checked c = { .trace_hash = r.trace_hash,
			     .violations = rep.violation_count,
			     .txns_checked = rep.txns_checked,
			     .streamed = rep.streamed };
	size_t used = 0;
	/* kind/transactions/label: the labels must agree too */
	for (uint32_t k = 0; k < rep.violation_count && used + 80 < sizeof c.kinds; k++)
		used += (size_t)snprintf(c.kinds + used, sizeof c.kinds - used, "%s/%u/%s ",
					 rep.violations[k].kind, rep.violations[k].txn_count,
					 rep.violations[k].expected
						 ? rep.violations[k].expected_reason
						 : "new");
	snprintf(c.note, sizeof c.note, "%s", rep.note ? rep.note : "");
	oracle_report_free(&rep);
	world_result_free(&r);
	return c;
}

static void expect_same(const struct world_config *cfg, bool must_stream)
{
	struct checked a = run_checked(cfg, true);
	struct checked b = run_checked(cfg, false);
	if (a.violations != b.violations || strcmp(a.kinds, b.kinds) != 0 ||
	    (must_stream && !a.streamed))
		fprintf(stderr, "%s seed %llu: stream %u [%s] streamed=%d, plain %u [%s]\n",
			cfg->workload->name, (unsigned long long)cfg->seed, a.violations,
			a.kinds, a.streamed, b.violations, b.kinds);
	assert_int_equal(a.trace_hash, b.trace_hash);
	assert_int_equal(a.violations, b.violations);
	assert_string_equal(a.kinds, b.kinds);
	assert_string_equal(a.note, b.note);
	assert_int_equal(a.txns_checked, b.txns_checked);
	assert_false(b.streamed);
	if (must_stream)
		assert_true(a.streamed);
}

/* Honest fault-free runs of every built-in workload: passed by the
 * stream, exactly as without it, with the same trace. */
static void test_engine_runs_streamed(void **state)
{
	(void)state;
	const char *names[] = { "bank", "default", "ddl-churn", "savepoints",
				"list-append", "inventory", "blobs", "checkpoints" };
	for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
		for (uint64_t seed = 1; seed <= 2; seed++) {
			struct world_config cfg;
			world_config_default(&cfg);
			cfg.workload = wl_find(names[n]);
			assert_non_null(cfg.workload);
			cfg.seed = seed;
			cfg.conn_count = 3 + (uint32_t)seed * 2;
			cfg.txn_count = 200;
			if (seed == 2)
				cfg.journal_mode = "delete";
			expect_same(&cfg, true);
		}
	}
}

/* Runs that fail (a planted lock bug, dirty reads) or that the stream
 * cannot take (faults, crashes): the same report either way. */
static void test_engine_failures_same_report(void **state)
{
	(void)state;
	uint32_t chaos_streamed = 0;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct world_config cfg;
		world_config_default(&cfg);
		cfg.workload = wl_find("bank");
		cfg.seed = seed;
		cfg.conn_count = 4;
		cfg.txn_count = 200;
		cfg.vfs_bug = SIMVFS_BUG_NO_SHM_LOCKS;
		struct checked planted = run_checked(&cfg, true);
		assert_true(planted.violations > 0); /* caught, with the stream */
		expect_same(&cfg, false);
		cfg.vfs_bug = SIMVFS_BUG_NO_LOCKS;
		cfg.journal_mode = "delete";
		expect_same(&cfg, false);

		world_config_default(&cfg);
		cfg.workload = wl_find("bank");
		cfg.seed = seed;
		cfg.conn_count = 4;
		cfg.txn_count = 60;
		cfg.target = WORLD_TARGET_MEMORY_SHARED;
		cfg.pragmas[cfg.pragma_count++] = "read_uncommitted=1";
		expect_same(&cfg, false);

		world_config_default(&cfg);
		cfg.workload = wl_find("default");
		cfg.seed = seed;
		cfg.conn_count = 4;
		cfg.txn_count = 200;
		cfg.faults = seed == 1 ? WORLD_FAULTS_IO : WORLD_FAULTS_CRASH;
		expect_same(&cfg, false);
		/* chaos: I/O faults, crashes and reopens; writers killed
		 * after their commit point are guessed committed */
		cfg.faults = WORLD_FAULTS_CHAOS;
		expect_same(&cfg, false);
		chaos_streamed += run_checked(&cfg, true).streamed;
		cfg.faults = seed == 1 ? WORLD_FAULTS_IO : WORLD_FAULTS_CRASH;
		if (seed <= 2) {
			/* I/O faults and indeterminate commits, or crashes
			 * under FULL: streamed */
			struct checked io = run_checked(&cfg, true);
			assert_int_equal(io.violations, 0);
			assert_true(io.streamed);
		}
	}
	assert_true(chaos_streamed >= 2);
}

/* The run is the same whether the oracle follows it on a second thread
 * or not, even when a broken VFS makes SQLite read memory it never wrote
 * (--vfs-bug no-shm-locks under chaos: sqlite3WalFindFrame reads an
 * uninitialised value); those reads see zeros (world.c's allocator
 * wrapper zeroes), not whatever the heap's history left. Before, this
 * run's trace hash followed the second thread's timing. Skipped under
 * valgrind (WH_TEST_QUICK): a long run. */
static void test_broken_vfs_same_with_stream(void **state)
{
	(void)state;
	if (getenv("WH_TEST_QUICK") != NULL)
		return;
	struct world_config cfg;
	world_config_default(&cfg);
	cfg.workload = wl_find("bank");
	cfg.seed = 1;
	cfg.conn_count = 12;
	cfg.txn_count = 1500;
	cfg.faults = WORLD_FAULTS_CHAOS;
	cfg.vfs_bug = SIMVFS_BUG_NO_SHM_LOCKS;
	struct checked a = run_checked(&cfg, true);
	struct checked b = run_checked(&cfg, false);
	struct checked c = run_checked(&cfg, true);
	assert_int_equal(a.trace_hash, b.trace_hash);
	assert_int_equal(a.trace_hash, c.trace_hash);
}

/* Chaos runs of the default mix where "no indeterminate writer
 * committed" fails (a writer killed by a crash after its commit point
 * is seen by later reads): the guess (oracle__indet_guess) makes them
 * streamed, with the report oracle_check gives; and fault runs in the
 * rollback-journal modes, streamed too. */
static void test_chaos_guess_streams(void **state)
{
	(void)state;
	/* Under valgrind (make valgrind sets WH_TEST_QUICK) one seed of each
	 * kind: the memory checker's time is CI's, and make test (plain and
	 * sanitized) runs them all. */
	bool quick = getenv("WH_TEST_QUICK") != NULL;
	const uint64_t seeds[] = { 3, 5, 6 };
	for (size_t k = 0; k < (quick ? 1 : sizeof seeds / sizeof seeds[0]); k++) {
		struct world_config cfg;
		world_config_default(&cfg);
		cfg.workload = wl_find("default");
		cfg.seed = seeds[k];
		cfg.conn_count = 8;
		cfg.txn_count = 2000;
		cfg.faults = WORLD_FAULTS_CHAOS;
		expect_same(&cfg, true);
	}
	/* Rollback-journal modes: a read-only commit after an indeterminate
	 * writer taken as committed vouches for less than that writer (the
	 * stream's lo must be the largest value, not the last one), and a
	 * connection killed by a power loss releases its locks only in the
	 * dead handles (no commit point: the guess must not take it as
	 * committed). Both made these runs fall back to the serial check. */
	const struct {
		uint64_t seed;
		const char *journal;
		enum world_faults faults;
	} rb[] = { { 2, "persist", WORLD_FAULTS_IO },
		   { 6, "truncate", WORLD_FAULTS_IO },
		   { 2, "persist", WORLD_FAULTS_CHAOS },
		   { 1, "persist", WORLD_FAULTS_CHAOS } };
	for (size_t k = 0; k < sizeof rb / sizeof rb[0]; k++) {
		if (quick && k != 0 && k != 3)
			continue; /* an io and a chaos one */
		struct world_config cfg;
		world_config_default(&cfg);
		cfg.workload = wl_find("default");
		cfg.seed = rb[k].seed;
		cfg.conn_count = 5;
		cfg.txn_count = 1000;
		cfg.journal_mode = rb[k].journal;
		cfg.faults = rb[k].faults;
		expect_same(&cfg, true);
	}
}

/* journal_mode=MEMORY under I/O faults and chaos: what follows the
 * unsafe point is labelled journal-memory-unsafe, with or without the
 * stream, the same violations with the same labels. */
static void test_journal_memory_same_labels(void **state)
{
	(void)state;
	const uint64_t seeds[] = { 3, 1 };
	/* Under valgrind (make valgrind sets WH_TEST_QUICK) the chaos seed
	 * alone: it has the I/O faults too, and the memory checker's time is
	 * CI's; make test runs both. */
	size_t n = getenv("WH_TEST_QUICK") ? 1 : sizeof seeds / sizeof seeds[0];
	for (size_t k = 0; k < n; k++) {
		struct world_config cfg;
		world_config_default(&cfg);
		cfg.workload = wl_find("counter");
		cfg.seed = seeds[k];
		cfg.conn_count = 6;
		cfg.txn_count = 400;
		cfg.journal_mode = "memory";
		cfg.faults = seeds[k] == 3 ? WORLD_FAULTS_CHAOS : WORLD_FAULTS_IO;
		expect_same(&cfg, false);
		struct checked a = run_checked(&cfg, true);
		assert_true(a.violations > 0);
		assert_non_null(strstr(a.kinds, "/journal-memory-unsafe "));
		assert_null(strstr(a.kinds, "/new "));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_history_is_streamed),
		cmocka_unit_test(test_read_from_the_future_is_caught),
		cmocka_unit_test(test_lost_update_is_caught),
		cmocka_unit_test(test_crashes),
		cmocka_unit_test(test_indeterminate_writer),
		cmocka_unit_test(test_engine_runs_streamed),
		cmocka_unit_test(test_engine_failures_same_report),
		cmocka_unit_test(test_chaos_guess_streams),
		cmocka_unit_test(test_broken_vfs_same_with_stream),
		cmocka_unit_test(test_journal_memory_same_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
