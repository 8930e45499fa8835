/*
 * bench_oracle.c - how long the oracle takes to check a large valid
 * history, against the time it took to produce that history.
 *
 * Workload (bank-like): 100 accounts; 90% transfers (SELECT the source
 * balance, then two UPDATEs; rolled back when the balance is short), 10%
 * audits (SELECT sum(bal) and one account's balance). The history is
 * produced by actually executing the transactions serially on an
 * in-memory SQLite and recording what each statement returned, so it is
 * valid by construction and the oracle must pass it. To give read-only
 * transactions real windows, an audit begins, then up to three transfers
 * run to completion, and only then does the audit read (it must match a
 * later position than the one it began at, as in a concurrent run).
 *
 * Output: the check time for N committed transactions (limit 5 s), the
 * time to produce the history (baseline) and their ratio. Then the same
 * with crashes: CRASHES power losses evenly spread, each losing the last
 * CRASH_LOST_COMMITS commits (the producer restores a snapshot taken that
 * many commits earlier, as a WAL with synchronous=NORMAL may), checked
 * with durability PREFIX. That loss is larger than the quick search, so
 * it measures the deep search and the rebuilds (crash.c); the oracle must
 * pass it too, with the lost commits listed, under the same limit.
 *
 * Last, the issue's other number: checking costs at most 10% of the run
 * that produced the history. Real engine runs (world_run, as `whopper
 * run` does them) of the bank workload (8 connections, 20000
 * transactions) and of the default mix (8 connections, 5000), without
 * faults and with --faults chaos (I/O errors, power losses and reopens:
 * indeterminate commits and crashes), each run and checked three times
 * (same seed, same history) in each of two ways:
 * with the concurrent check (oracle/stream.c, the default of `whopper
 * run`), which must have been the one used, and with the serial check
 * after the run (`--serial-check`), the baseline measured in the same
 * process. The best run time and the best check time of each give its
 * ratio; the worst concurrent ratio of the three is printed as
 * "oracle check / run ratio: R (limit 0.10)". Also printed: the serial
 * ratios, what the check thread costs the run (run time with it over
 * run time without), and the savepoints workload, whose O(n^2) audits
 * make replay as costly as the run itself (not in the limit).
 *
 * Then the indeterminate search (oracle.c, plans): four runs whose check
 * settles indeterminate commits over many plans (I/O faults with planted
 * VFS defects or SQLite's hot-journal race, and power losses in journal
 * mode MEMORY), each checked with the search's shortcuts (evaluations
 * and digests reused from the best plan's sweep, losing plans cut) and
 * with oracle_config.search_plain, the same search swept from scratch,
 * the baseline measured in the same process. Printed: each check time,
 * and "plan search plain / shortcuts: R" over all four. The two reports
 * must be the same (violations, kinds, details): exit 1 otherwise.
 *
 * Exit status 1 when over a limit, when the oracle reports a violation
 * where none is expected, or when the two searches disagree; 3 when
 * something fails to run. Deterministic: a fixed-seed
 * xorshift picks the transactions, the engine runs are seeded; only the
 * timings vary.
 *
 *   bench_oracle [COMMITTED_TXNS [CRASHES]]   (default 100000, 3)
 *   bench_oracle --ratio                      (the engine runs only)
 *   bench_oracle --plans                      (the plan search only)
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "digest.h"
#include "oracle.h"
#include "oracle_world.h"
#include "workloads.h"
#include "world.h"

#define ACCOUNTS 100
#define LIMIT_S 5.0
#define AUDIT_LAG_MAX 3   /* transfers run inside an audit's window */
#define CRASH_LOST_COMMITS 40 /* commits each crash loses */
#define CRASHES_MAX 64
#define RATIO_LIMIT 0.10  /* check time / run time */
#define RATIO_REPEATS 3   /* runs (and checks) per workload; best counts */

static const char SETUP[] =
	"CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER NOT NULL);"
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)"
	" INSERT INTO acct SELECT i, 1000 FROM n;";

static const char SQL_BAL[] = "SELECT bal FROM acct WHERE id = ?1";
static const char SQL_DEBIT[] = "UPDATE acct SET bal = bal - ?2 WHERE id = ?1";
static const char SQL_CREDIT[] = "UPDATE acct SET bal = bal + ?2 WHERE id = ?1";
static const char SQL_SUM[] = "SELECT sum(bal) FROM acct";

struct bank {
	sqlite3 *db;
	sqlite3_stmt *bal, *debit, *credit, *sum, *begin, *commit, *rollback;
	struct history h;
	uint64_t rng;
	uint64_t now_us;   /* a fake clock for the history's times */
	uint32_t crash_count;               /* crashes to inject */
	uint64_t crash_at[CRASHES_MAX];     /* commit counts they happen at */
	uint32_t crash_next;                /* next crash */
	sqlite3 *snap;     /* the state CRASH_LOST_COMMITS before the next
			      crash, or NULL */
	uint64_t transfers; /* committed transfers (writers) so far */
	uint64_t lost;     /* committed transfers lost by all crashes (the
			      audits lost with them change nothing) */
};

static uint64_t rnd(struct bank *b)
{
	/* xorshift64*: deterministic, good enough to pick accounts. */
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 2685821657736338717ull;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(struct bank *b, const char *what)
{
	fprintf(stderr, "bench_oracle: %s: %s\n", what,
		b->db ? sqlite3_errmsg(b->db) : "?");
	exit(3);
}

static sqlite3_stmt *prep(struct bank *b, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK)
		die(b, sql);
	return st;
}

/* Runs st with integer parameters and records it in t. Returns the
 * first column of the first row (or 0). */
static int64_t run(struct bank *b, struct hist_txn *t, sqlite3_stmt *st,
		   const char *sql, int64_t p1, int64_t p2, int np)
{
	struct wh_value params[2] = {
		{ .type = SQLITE_INTEGER, .i = p1 },
		{ .type = SQLITE_INTEGER, .i = p2 },
	};
	for (int k = 0; k < np; k++)
		sqlite3_bind_int64(st, k + 1, params[k].i);
	struct wh_value cell = { .type = SQLITE_NULL };
	uint32_t rows = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_INTEGER)
			cell = (struct wh_value){ .type = SQLITE_INTEGER,
						  .i = sqlite3_column_int64(st, 0) };
		rows++;
	}
	if (rc != SQLITE_DONE || rows > 1)
		die(b, sql);
	int64_t changes = sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes(b->db);
	sqlite3_reset(st);
	hist_stmt_add(&b->h, t, sql, NULL, params, (uint32_t)np, rc, changes,
		      rows ? 1 : 0, rows, rows ? &cell : NULL, false);
	return cell.type == SQLITE_INTEGER ? cell.i : 0;
}

static void control(struct bank *b, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die(b, sqlite3_sql(st));
	sqlite3_reset(st);
}

/* One transfer; returns whether it committed. */
static int transfer(struct bank *b)
{
	int64_t from = (int64_t)(rnd(b) % ACCOUNTS) + 1;
	int64_t to = (int64_t)(rnd(b) % ACCOUNTS) + 1;
	int64_t amount = (int64_t)(rnd(b) % 400) + 1;
	b->now_us += 10;
	struct hist_txn *t = hist_txn_begin(&b->h, (int)(from % 8), "transfer",
					    HIST_BEGIN_DEFERRED, b->now_us);
	control(b, b->begin);
	int64_t bal = run(b, t, b->bal, SQL_BAL, from, 0, 1);
	run(b, t, b->debit, SQL_DEBIT, from, amount, 2);
	if (bal < amount) {
		/* Insufficient funds: the workload rolls back. */
		control(b, b->rollback);
		hist_txn_end(&b->h, t, HIST_ABORTED, SQLITE_OK, b->now_us);
		return 0;
	}
	run(b, t, b->credit, SQL_CREDIT, to, amount, 2);
	hist_txn_commit_start(&b->h, t);
	control(b, b->commit);
	hist_txn_end(&b->h, t, HIST_COMMITTED, SQLITE_OK, b->now_us);
	b->transfers++;
	return 1;
}

/* Copies the whole of src into dst (in-memory databases). */
static void copy_db(struct bank *b, sqlite3 *dst, sqlite3 *src)
{
	sqlite3_backup *bk = sqlite3_backup_init(dst, "main", src, "main");
	if (bk == NULL || sqlite3_backup_step(bk, -1) != SQLITE_DONE)
		die(b, "backup");
	if (sqlite3_backup_finish(bk) != SQLITE_OK)
		die(b, "backup finish");
}

/* Between transactions: snapshot the state a crash will go back to, or
 * crash (restore it and record the recovered digest). */
static void maybe_crash(struct bank *b)
{
	if (b->crash_next == b->crash_count)
		return;
	uint64_t at = b->crash_at[b->crash_next];
	if (b->snap == NULL && b->h.commit_count + CRASH_LOST_COMMITS >= at) {
		if (sqlite3_open(":memory:", &b->snap) != SQLITE_OK)
			die(b, "open snapshot");
		copy_db(b, b->snap, b->db);
		b->lost -= b->transfers;
	}
	if (b->snap == NULL || b->h.commit_count < at)
		return;
	copy_db(b, b->db, b->snap);
	sqlite3_close(b->snap);
	b->snap = NULL;
	b->lost += b->transfers;
	struct hist_crash *cr = hist_crash_add(&b->h, HIST_CRASH_POWER_LOSS);
	cr->recovered_rc = digest_db(b->db, &cr->recovered_digest);
	if (cr->recovered_rc != SQLITE_OK)
		die(b, "digest");
	b->crash_next++;
}

static void produce(struct bank *b, uint64_t committed)
{
	while (b->h.commit_count < committed) {
		maybe_crash(b);
		if (rnd(b) % 10 != 0) {
			transfer(b);
			continue;
		}
		b->now_us += 10;
		struct hist_txn *a = hist_txn_begin(&b->h, 9, "audit",
						    HIST_BEGIN_DEFERRED,
						    b->now_us);
		uint64_t lag = rnd(b) % (AUDIT_LAG_MAX + 1);
		for (uint64_t k = 0; k < lag && b->h.commit_count + 1 < committed; k++)
			transfer(b);
		control(b, b->begin);
		run(b, a, b->sum, SQL_SUM, 0, 0, 0);
		run(b, a, b->bal, SQL_BAL, (int64_t)(rnd(b) % ACCOUNTS) + 1, 0, 1);
		hist_txn_commit_start(&b->h, a);
		control(b, b->commit);
		hist_txn_end(&b->h, a, HIST_COMMITTED, SQLITE_OK, b->now_us);
	}
}

/* Produces a history of `committed` commits with `crashes` crashes and
 * checks it. Returns the exit status (0 pass). */
static int bench(uint64_t committed, uint32_t crashes)
{
	struct bank b = { .rng = 0x9e3779b97f4a7c15ull };
	hist_init(&b.h);
	hist_set_setup(&b.h, SETUP);
	b.crash_count = crashes;
	for (uint32_t k = 0; k < crashes; k++)
		b.crash_at[k] = committed * (k + 1) / (crashes + 1);

	double t0 = now_s();
	if (sqlite3_open(":memory:", &b.db) != SQLITE_OK)
		die(&b, "open");
	if (sqlite3_exec(b.db, SETUP, NULL, NULL, NULL) != SQLITE_OK)
		die(&b, "setup");
	b.bal = prep(&b, SQL_BAL);
	b.debit = prep(&b, SQL_DEBIT);
	b.credit = prep(&b, SQL_CREDIT);
	b.sum = prep(&b, SQL_SUM);
	b.begin = prep(&b, "BEGIN");
	b.commit = prep(&b, "COMMIT");
	b.rollback = prep(&b, "ROLLBACK");
	produce(&b, committed);
	double produce_s = now_s() - t0;

	struct oracle_report rep;
	struct oracle_config cfg = { .durability = ORACLE_DURABLE_PREFIX };
	double t1 = now_s();
	int rc = oracle_check(&b.h, &cfg, &rep);
	double check_s = now_s() - t1;

	uint64_t statements = 0;
	for (uint32_t i = 0; i < b.h.txn_count; i++)
		statements += b.h.txns[i]->stmt_count;
	if (crashes == 0)
		printf("oracle: %llu committed txns checked in %.3f s (limit %.0f s)\n",
		       (unsigned long long)b.h.commit_count, check_s, LIMIT_S);
	else
		printf("oracle with %u crashes (%llu commits lost, %u listed): %llu committed txns checked in %.3f s (limit %.0f s)\n",
		       b.h.crash_count, (unsigned long long)b.lost,
		       rc == 0 ? rep.lost_txn_count : 0,
		       (unsigned long long)b.h.commit_count, check_s, LIMIT_S);
	printf("produce: %llu committed txns (%u in all, %llu statements) produced in %.3f s (baseline)\n",
	       (unsigned long long)b.h.commit_count, b.h.txn_count,
	       (unsigned long long)statements, produce_s);
	printf("ratio check/produce: %.2f\n", check_s / produce_s);

	int status = 0;
	if (rc != 0) {
		fprintf(stderr, "bench_oracle: oracle failed: %s\n",
			rep.note ? rep.note : "?");
		status = 3;
	} else if (rep.violation_count > 0) {
		fprintf(stderr, "bench_oracle: valid history reported invalid: %s: %s\n",
			rep.violations[0].kind, rep.violations[0].detail);
		status = 1;
	} else if (rep.lost_txn_count != b.lost) {
		fprintf(stderr, "bench_oracle: %llu commits lost, the oracle listed %u\n",
			(unsigned long long)b.lost, rep.lost_txn_count);
		status = 1;
	} else if (check_s > LIMIT_S) {
		fprintf(stderr, "bench_oracle: over the limit\n");
		status = 1;
	}
	oracle_report_free(&rep);
	sqlite3_stmt *sts[] = { b.bal, b.debit, b.credit, b.sum,
				b.begin, b.commit, b.rollback };
	for (size_t k = 0; k < sizeof sts / sizeof sts[0]; k++)
		sqlite3_finalize(sts[k]);
	sqlite3_close(b.snap);
	sqlite3_close(b.db);
	hist_free(&b.h);
	return status;
}

/* Best-of-RATIO_REPEATS times of one way of checking. */
struct ratio_times {
	double run_s;      /* the run (with the stream thread, if any) */
	double check_s;    /* after the run, until the verdict */
};

/* One engine run of a workload as `whopper run` configures it, checked
 * as it checks it: with the concurrent check (stream) or, as
 * `--serial-check` does, only after the run. Keeps the best times in *t.
 * Returns the exit status. */
static int ratio_run(const char *workload, uint32_t conns, uint64_t txns,
		     enum world_faults faults, bool stream, struct ratio_times *t,
		     uint32_t *txn_count)
{
	struct world_config cfg;
	world_config_default(&cfg);
	cfg.workload = wl_find(workload);
	cfg.conn_count = conns;
	cfg.txn_count = txns;
	cfg.faults = faults;
	cfg.seed = 7;
	if (cfg.workload == NULL) {
		fprintf(stderr, "bench_oracle: no workload %s\n", workload);
		return 3;
	}
	struct world_result res;
	memset(&res, 0, sizeof res);
	struct oracle_config pre = {
		.ref_pragmas = cfg.workload->pragmas,
		.ref_pragma_count = cfg.workload->pragma_count,
	};
	double t0 = now_s();
	struct oracle_stream *s = stream ? oracle_stream_start(&res.history, &pre) : NULL;
	cfg.observer = oracle_stream_observer(s);
	int rc = world_run(&cfg, &res);
	double run_s = now_s() - t0;
	if (rc != 0 || res.finding_count > 0) {
		fprintf(stderr, "bench_oracle: %s run failed (rc %d, %u findings)\n",
			workload, rc, res.finding_count);
		oracle_stream_free(s);
		world_result_free(&res);
		return 3;
	}
	struct oracle_config oc;
	oracle_config_for_world(&cfg, &res, 64, &oc);
	struct oracle_report rep;
	double t1 = now_s();
	rc = oracle_check_stream(&res.history, &oc, s, &rep);
	double check_s = now_s() - t1;
	int status = 0;
	if (rc != 0) {
		fprintf(stderr, "bench_oracle: oracle failed on %s: %s\n",
			workload, rep.note ? rep.note : "?");
		status = 3;
	} else if (rep.violation_count > 0) {
		fprintf(stderr, "bench_oracle: honest %s run reported invalid: %s: %s\n",
			workload, rep.violations[0].kind, rep.violations[0].detail);
		status = 1;
	} else if (stream && !rep.streamed) {
		/* Then this would time the serial check under another name. */
		fprintf(stderr, "bench_oracle: %s: the concurrent check was not used\n",
			workload);
		status = 1;
	}
	*txn_count = res.history.txn_count;
	oracle_report_free(&rep);
	world_result_free(&res);
	t->run_s = run_s < t->run_s ? run_s : t->run_s;
	t->check_s = check_s < t->check_s ? check_s : t->check_s;
	return status;
}

/* Both ways of checking, RATIO_REPEATS times each, alternating so that
 * both see the same machine. Sets *ratio to the concurrent check's
 * best check time over its best run time. */
static int ratio_one(const char *workload, uint32_t conns, uint64_t txns,
		     enum world_faults faults, double *ratio)
{
	struct ratio_times conc = { 1e9, 1e9 }, serial = { 1e9, 1e9 };
	uint32_t txn_count = 0;
	for (int rep = 0; rep < RATIO_REPEATS; rep++) {
		int status = ratio_run(workload, conns, txns, faults, true, &conc,
				       &txn_count);
		if (status == 0)
			status = ratio_run(workload, conns, txns, faults, false,
					   &serial, &txn_count);
		if (status != 0)
			return status;
	}
	*ratio = conc.check_s / conc.run_s;
	printf("%s, faults %s, %u connections, %u txns (best of %d):\n"
	       "  concurrent check: run %.3f s, check after it %.3f s: ratio %.3f\n"
	       "  serial check (baseline): run %.3f s, check %.3f s: ratio %.3f\n"
	       "  the check thread's cost to the run: run time x%.2f\n",
	       workload, world_faults_name(faults), conns, txn_count, RATIO_REPEATS,
	       conc.run_s, conc.check_s,
	       *ratio, serial.run_s, serial.check_s, serial.check_s / serial.run_s,
	       conc.run_s / serial.run_s);
	return 0;
}

/* The check/run ratio of real engine runs (see the file comment). */
static int ratio_bench(void)
{
	double bank = 0, mix = 0, chaos = 0, sp = 0;
	int status = ratio_one("bank", 8, 20000, WORLD_FAULTS_NONE, &bank);
	if (status == 0)
		status = ratio_one("default", 8, 5000, WORLD_FAULTS_NONE, &mix);
	if (status == 0)
		status = ratio_one("default", 8, 5000, WORLD_FAULTS_CHAOS, &chaos);
	/* Not in the limit: its audits scan a log that grows with the run,
	 * so replaying them costs about what running them did, and the
	 * check thread falls behind (printed for the record). */
	if (status == 0)
		status = ratio_one("savepoints", 8, 3000, WORLD_FAULTS_NONE, &sp);
	if (status != 0)
		return status;
	double worst = bank > mix ? bank : mix;
	worst = chaos > worst ? chaos : worst;
	printf("oracle check / run ratio: %.3f (limit %.2f; savepoints %.3f, not in the limit)\n",
	       worst, RATIO_LIMIT, sp);
	if (worst > RATIO_LIMIT) {
		fprintf(stderr, "bench_oracle: check/run ratio over the limit\n");
		return 1;
	}
	return 0;
}

/* The plan search's runs: (seed, workload, connections, transactions,
 * journal, synchronous, scheduler, faults, defect, non-powersafe,
 * pragmas). From nightly matrices where the search was the bulk of a
 * run's cost. */
struct plan_case {
	uint64_t seed;
	const char *workload;
	uint32_t conns;
	uint64_t txns;
	const char *journal, *sync;
	enum sched_strategy sched;
	enum world_faults faults;
	enum simvfs_bug bug;
	bool non_powersafe;
	const char *pragmas[2];
};

static const struct plan_case plan_cases[] = {
	{4, "bank", 6, 300, "wal", "full", SCHED_RANDOM, WORLD_FAULTS_IO,
	 SIMVFS_BUG_NO_SHM_LOCKS, false, {NULL, NULL}},
	{4, "savepoints", 5, 400, "memory", "extra", SCHED_RANDOM, WORLD_FAULTS_CHAOS,
	 SIMVFS_BUG_NONE, false, {NULL, NULL}},
	{80936168146433356ULL, "inventory", 13, 2000, "truncate", "extra", SCHED_RR,
	 WORLD_FAULTS_IO, SIMVFS_BUG_NO_LOCKS, false, {"wal_autocheckpoint=100", NULL}},
	/* SQLite's hot-journal race (a known finding) */
	{5346592367826507117ULL, "savepoints", 9, 2000, "delete", "extra", SCHED_RR,
	 WORLD_FAULTS_IO, SIMVFS_BUG_NONE, true, {"cache_size=100", "wal_autocheckpoint=10"}},
};

static bool reports_same(const struct oracle_report *a, const struct oracle_report *b)
{
	if (a->violation_count != b->violation_count || a->gave_up != b->gave_up ||
	    a->plans != b->plans)
		return false;
	for (uint32_t k = 0; k < a->violation_count; k++)
		if (strcmp(a->violations[k].kind, b->violations[k].kind) != 0 ||
		    strcmp(a->violations[k].detail, b->violations[k].detail) != 0 ||
		    a->violations[k].expected != b->violations[k].expected)
			return false;
	return true;
}

static int plan_bench(void)
{
	double plain_total = 0, fast_total = 0;
	size_t n = sizeof plan_cases / sizeof plan_cases[0];
	for (size_t i = 0; i < n; i++) {
		const struct plan_case *pc = &plan_cases[i];
		struct world_config cfg;
		world_config_default(&cfg);
		cfg.seed = pc->seed;
		cfg.workload = wl_find(pc->workload);
		cfg.conn_count = pc->conns;
		cfg.txn_count = pc->txns;
		cfg.journal_mode = pc->journal;
		cfg.synchronous = pc->sync;
		cfg.strategy = pc->sched;
		cfg.faults = pc->faults;
		cfg.vfs_bug = pc->bug;
		if (pc->non_powersafe)
			cfg.device_characteristics = 0;
		for (int k = 0; k < 2 && pc->pragmas[k] != NULL; k++)
			cfg.pragmas[cfg.pragma_count++] = pc->pragmas[k];
		struct world_result r;
		if (cfg.workload == NULL || world_run(&cfg, &r) != 0)
			return 3;
		struct oracle_config oc;
		oracle_config_for_world(&cfg, &r, 64, &oc);
		struct oracle_report fast, plain;
		double t0 = now_s();
		if (oracle_check(&r.history, &oc, &fast) != 0)
			return 3;
		double t1 = now_s();
		oc.search_plain = true;
		if (oracle_check(&r.history, &oc, &plain) != 0)
			return 3;
		double t2 = now_s();
		bool same = reports_same(&fast, &plain);
		printf("plan search: %s %ux%llu %s %s: %u plans (%u cut, %llu evaluations and %llu digests reused): %.3f s, plain %.3f s%s\n",
		       pc->workload, pc->conns, (unsigned long long)pc->txns, pc->journal,
		       world_faults_name(pc->faults), fast.plans, fast.plans_cut,
		       (unsigned long long)fast.evals_reused,
		       (unsigned long long)fast.digests_reused, t1 - t0, t2 - t1,
		       same ? "" : "  REPORTS DIFFER");
		fast_total += t1 - t0;
		plain_total += t2 - t1;
		oracle_report_free(&fast);
		oracle_report_free(&plain);
		world_result_free(&r);
		if (!same) {
			fprintf(stderr, "bench_oracle: the plan search's shortcuts changed a report\n");
			return 1;
		}
	}
	printf("plan search plain / shortcuts: %.2f (%.3f s / %.3f s over %zu runs)\n",
	       plain_total / fast_total, plain_total, fast_total, n);
	return 0;
}

int main(int argc, char **argv)
{
	/* Before any SQLite use: the engine's process-wide configuration. */
	if (world_global_init() != 0) {
		fprintf(stderr, "bench_oracle: world_global_init failed\n");
		return 3;
	}
	if (argc > 1 && strcmp(argv[1], "--ratio") == 0)
		return ratio_bench();
	if (argc > 1 && strcmp(argv[1], "--plans") == 0)
		return plan_bench();
	uint64_t committed = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
	unsigned long crashes = argc > 2 ? strtoul(argv[2], NULL, 10) : 3;
	if (committed == 0 || crashes > CRASHES_MAX ||
	    (crashes > 0 && committed / (crashes + 1) <= CRASH_LOST_COMMITS)) {
		fprintf(stderr, "usage: bench_oracle [COMMITTED_TXNS [CRASHES]] (CRASHES <= %d, %d commits apart at least) | --ratio\n",
			CRASHES_MAX, CRASH_LOST_COMMITS + 1);
		return 2;
	}
	int status = bench(committed, 0);
	if (status == 0 && crashes > 0)
		status = bench(committed, (uint32_t)crashes);
	/* The ratio runs even when the above failed, so that both numbers
	 * are always printed; the first failure decides the status. */
	int ratio_status = ratio_bench();
	int plan_status = plan_bench();
	return status != 0 ? status : ratio_status != 0 ? ratio_status : plan_status;
}
