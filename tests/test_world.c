/*
 * test_world.c - SQLite on the simulated VFS under the scheduler, end to
 * end without the oracle: integrity and the bank invariant across seeds,
 * write-lock exclusion by schedule, interleaving inside transactions,
 * exactly-once recording under yields at every step, trace determinism.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workloads.h"
#include "world.h"

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void check_final_db(struct world_result *r)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(r->db_path, &db, SQLITE_OPEN_READWRITE,
					 r->vfs_name),
			 SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(query_int(db, "SELECT sum(balance) FROM accounts"), 10000);
	sqlite3_close(db);
}

static void base_config(struct world_config *cfg, uint64_t seed)
{
	world_config_default(cfg);
	cfg->seed = seed;
	cfg->workload = wl_find("bank");
	cfg->conn_count = 8;
	cfg->txn_count = 120;
}

/* SQLite's allocations come back zeroed once whopper's allocator wrapper
 * is in (world_global_init): a block freed full of bytes and allocated
 * again reads as zeros, and a grown block's new bytes too. Under a broken
 * VFS (--vfs-bug no-shm-locks) SQLite reads memory it never wrote
 * (valgrind: sqlite3WalFindFrame), and what it found there came from the
 * heap's history, which the oracle's second thread changes: the same seed
 * gave two trace hashes. Fails if the wrapper stops zeroing. */
static void test_sqlite_allocations_zeroed(void **state)
{
	(void)state;
	assert_int_equal(world_global_init(), 0);
	for (int round = 0; round < 8; round++) {
		unsigned char *p = sqlite3_malloc(200);
		assert_non_null(p);
		memset(p, 0xab, 200);
		sqlite3_free(p);
		unsigned char *q = sqlite3_malloc(200);
		assert_non_null(q);
		for (int k = 0; k < 200; k++)
			assert_int_equal(q[k], 0);
		memset(q, 0xcd, 200);
		unsigned char *r = sqlite3_realloc(q, 4000);
		assert_non_null(r);
		for (int k = 0; k < 200; k++)
			assert_int_equal(r[k], 0xcd);
		for (int k = 200; k < 4000; k++)
			if (r[k] != 0)
				fail_msg("byte %d of a grown block is %d", k, r[k]);
		sqlite3_free(r);
	}
}

/* 8 connections, 50 seeds: integrity_check ok and the total unchanged,
 * with real concurrency (some busy aborts, several commits each). */
static void test_bank_50_seeds(void **state)
{
	(void)state;
	uint64_t busy = 0;
	for (uint64_t seed = 1; seed <= 50; seed++) {
		struct world_config cfg;
		struct world_result r;
		base_config(&cfg, seed);
		assert_int_equal(world_run(&cfg, &r), 0);
		assert_int_equal(r.finding_count, 0);
		assert_int_equal(r.stats.txns_committed + r.stats.txns_aborted, 120);
		assert_true(r.stats.txns_committed > 60);
		busy += r.stats.busy;
		check_final_db(&r);
		world_result_free(&r);
	}
	assert_true(busy > 0); /* the connections really contended */
}

/* Same seed twice: same hash; 50 seeds: 50 distinct hashes. */
static void test_determinism(void **state)
{
	(void)state;
	uint64_t hashes[50];
	for (uint64_t seed = 0; seed < 50; seed++) {
		struct world_config cfg;
		struct world_result r1, r2;
		base_config(&cfg, seed + 1000);
		cfg.txn_count = 60;
		assert_int_equal(world_run(&cfg, &r1), 0);
		assert_int_equal(world_run(&cfg, &r2), 0);
		assert_true(r1.trace_hash == r2.trace_hash);
		assert_true(r1.stats.vfs_ops == r2.stats.vfs_ops);
		/* Interleaving coverage is part of what a replay reproduces. */
		assert_true(r1.coverage.points > 0);
		assert_int_equal(r1.coverage.points, r2.coverage.points);
		assert_memory_equal(r1.coverage.map, r2.coverage.map, sizeof r1.coverage.map);
		hashes[seed] = r1.trace_hash;
		world_result_free(&r1);
		world_result_free(&r2);
	}
	for (int i = 0; i < 50; i++)
		for (int j = i + 1; j < 50; j++)
			assert_true(hashes[i] != hashes[j]);
}

/* Coverage counts calls made while another connection is parked in a
 * call on the same file: one connection alone reaches no point; the
 * points set are exactly as many as counted; more connections reach
 * points one alone cannot. */
static void test_coverage(void **state)
{
	(void)state;
	struct world_config cfg;
	struct world_result one, many;
	base_config(&cfg, 77);
	cfg.txn_count = 60;
	cfg.conn_count = 1;
	assert_int_equal(world_run(&cfg, &one), 0);
	assert_int_equal(one.coverage.points, 0);
	cfg.conn_count = 6;
	assert_int_equal(world_run(&cfg, &many), 0);
	uint32_t bits = 0;
	for (size_t i = 0; i < sizeof many.coverage.map; i++)
		bits += (uint32_t)__builtin_popcount(many.coverage.map[i]);
	assert_int_equal(bits, many.coverage.points);
	assert_true(many.coverage.points > 10);
	world_result_free(&one);
	world_result_free(&many);
}

/* A workload of two exclusive writers: BEGIN EXCLUSIVE, four bumps. */
static void *writer_new(const struct workload *wl, uint32_t id)
{
	(void)wl;
	(void)id;
	return calloc(1, sizeof(uint32_t));
}

static void writer_begin(void *cs, struct wh_prng *rng, const char **name,
			 enum hist_begin *begin)
{
	(void)rng;
	*(uint32_t *)cs = 0;
	*name = "writer";
	*begin = HIST_BEGIN_EXCLUSIVE;
}

static void writer_next(void *cs, struct wh_prng *rng, const struct hist_stmt *prev,
			struct wl_action *out)
{
	(void)rng;
	(void)prev;
	uint32_t *step = cs;
	memset(out, 0, sizeof *out);
	if ((*step)++ < 4) {
		out->kind = WL_ACT_STMT;
		out->sql = "UPDATE accounts SET balance = balance + 1 WHERE id = 1";
		out->tmpl = "writer.bump";
	} else {
		out->kind = WL_ACT_COMMIT;
	}
}

static const struct wl_ops writer_ops = {
	.conn_new = writer_new,
	.conn_free = free,
	.txn_begin = writer_begin,
	.txn_next = writer_next,
};

static const struct workload writers = {
	.name = "writers",
	.description = "two exclusive writers",
	.setup_sql = "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER);"
		     "INSERT INTO accounts VALUES(1, 0);",
	.ops = &writer_ops,
};

/* Two writers: whenever their transactions overlap exactly one proceeds
 * and the other gets SQLITE_BUSY; the outcome is a function of the seed. */
static void test_two_writers_exclusion(void **state)
{
	(void)state;
	int overlapped = 0;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		int outcome[2];
		for (int rep = 0; rep < 2; rep++) {
			struct world_config cfg;
			struct world_result r;
			world_config_default(&cfg);
			cfg.seed = seed;
			cfg.workload = &writers;
			cfg.conn_count = 2;
			cfg.txn_count = 2;
			cfg.busy_timeout_ms = 0;
			cfg.reorder_window_us = 2000;
			assert_int_equal(world_run(&cfg, &r), 0);
			const struct history *h = &r.history;
			assert_int_equal(h->txn_count, 2);
			int committed = 0, busy = 0;
			for (uint32_t i = 0; i < 2; i++) {
				committed += h->txns[i]->outcome == HIST_COMMITTED;
				busy += h->txns[i]->outcome == HIST_ABORTED &&
					(h->txns[i]->end_rc & 0xff) == SQLITE_BUSY;
			}
			/* Never both writing at once: each txn either committed
			 * whole or was refused with BUSY (a refusal can also come
			 * from the other connection's WAL recovery at open). */
			assert_int_equal(committed + busy, 2);
			outcome[rep] = busy;
			sqlite3 *db = NULL;
			assert_int_equal(sqlite3_open_v2(r.db_path, &db, SQLITE_OPEN_READONLY,
							 r.vfs_name),
					 SQLITE_OK);
			assert_int_equal(query_int(db, "SELECT balance FROM accounts"),
					 4 * committed);
			sqlite3_close(db);
			world_result_free(&r);
		}
		assert_int_equal(outcome[0], outcome[1]);
		overlapped += outcome[0] == 1;
	}
	assert_true(overlapped > 0);
	assert_true(overlapped < 40);
}

struct trace_scan {
	bool between_txn;    /* another conn's op inside BEGIN..COMMIT */
	bool inside_commit;  /* another conn's op between two ops of one COMMIT */
};

/* Scan a trace: for each connection, track whether it is inside a
 * transaction or inside COMMIT, and look for other connections' VFS ops. */
static void scan_trace(char *buf, struct trace_scan *out)
{
	enum { MAXC = 16 };
	int in_txn[MAXC] = {0}, in_commit[MAXC] = {0}, commit_ops[MAXC] = {0};
	int other_since_commit_op[MAXC] = {0}, other_in_txn[MAXC] = {0};
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		int conn;
		char *p = strstr(line, "conn=");
		if (p == NULL || sscanf(p, "conn=%d", &conn) != 1 || conn < 0 || conn >= MAXC)
			continue;
		bool vfs = strstr(line, " op=") != NULL;
		if (strstr(line, " begin-start ")) {
			in_txn[conn] = 1;
			other_in_txn[conn] = 0;
		} else if (strstr(line, " commit-start ")) {
			in_commit[conn] = 1;
			commit_ops[conn] = 0;
			other_since_commit_op[conn] = 0;
		} else if (strstr(line, " commit rc=0")) {
			if (in_txn[conn] && other_in_txn[conn])
				out->between_txn = true;
			in_txn[conn] = in_commit[conn] = 0;
		} else if (vfs) {
			for (int c = 0; c < MAXC; c++) {
				if (c == conn)
					continue;
				other_in_txn[c] |= in_txn[c];
				if (in_commit[c] && commit_ops[c] > 0)
					other_since_commit_op[c] = 1;
			}
			if (in_commit[conn]) {
				if (commit_ops[conn] > 0 && other_since_commit_op[conn])
					out->inside_commit = true;
				commit_ops[conn]++;
				other_since_commit_op[conn] = 0;
			}
		}
	}
}

/* Across seeds, some trace shows another connection's VFS operations
 * between one connection's BEGIN and COMMIT, and between two VFS calls of
 * one COMMIT: the interleaving reaches inside transactions. */
static void test_interleaving_inside_txns(void **state)
{
	(void)state;
	struct trace_scan scan = {0};
	for (uint64_t seed = 1; seed <= 20 && !(scan.between_txn && scan.inside_commit);
	     seed++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		assert_non_null(f);
		struct world_config cfg;
		struct world_result r;
		base_config(&cfg, seed);
		cfg.conn_count = 4;
		cfg.txn_count = 40;
		cfg.trace = f;
		assert_int_equal(world_run(&cfg, &r), 0);
		fclose(f);
		scan_trace(buf, &scan);
		free(buf);
		world_result_free(&r);
	}
	assert_true(scan.between_txn);
	assert_true(scan.inside_commit);
}

/* With a yield at every VFS call, every statement and transaction is
 * recorded exactly once: counts agree and each txn has its plan's length. */
static void test_records_exactly_once(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct world_config cfg;
		struct world_result r;
		base_config(&cfg, seed);
		assert_int_equal(world_run(&cfg, &r), 0);
		const struct history *h = &r.history;
		assert_int_equal(h->txn_count, 120);
		uint64_t stmts = 0, committed = 0;
		bool seen[120] = {false};
		for (uint32_t i = 0; i < h->txn_count; i++) {
			const struct hist_txn *t = h->txns[i];
			stmts += t->stmt_count;
			assert_true(t->outcome == HIST_COMMITTED || t->outcome == HIST_ABORTED);
			if (t->outcome != HIST_COMMITTED)
				continue;
			/* commit positions are a permutation: each used once */
			assert_true(t->commit_index >= 0 && t->commit_index < 120);
			assert_false(seen[t->commit_index]);
			seen[t->commit_index] = true;
			committed++;
			uint32_t want = strcmp(t->name, "transfer") == 0 ? 3
					: strcmp(t->name, "audit") == 0 ? 2 : 1;
			assert_int_equal(t->stmt_count, want);
		}
		assert_int_equal(stmts, r.stats.statements);
		assert_int_equal(committed, r.stats.txns_committed);
		assert_int_equal(h->commit_count, committed);
		world_result_free(&r);
	}
}

/* A workload whose transactions only ever sleep: nothing finishes. */
static void *sleeper_new(const struct workload *wl, uint32_t id)
{
	(void)wl;
	(void)id;
	return calloc(1, 1);
}

static void sleeper_begin(void *cs, struct wh_prng *rng, const char **name,
			  enum hist_begin *begin)
{
	(void)cs;
	(void)rng;
	*name = "sleeper";
	*begin = HIST_BEGIN_DEFERRED;
}

static void sleeper_next(void *cs, struct wh_prng *rng, const struct hist_stmt *prev,
			 struct wl_action *out)
{
	(void)cs;
	(void)rng;
	(void)prev;
	memset(out, 0, sizeof *out);
	out->kind = WL_ACT_SLEEP;
	out->sleep_us = 1000;
}

static const struct wl_ops sleeper_ops = {
	.conn_new = sleeper_new,
	.conn_free = free,
	.txn_begin = sleeper_begin,
	.txn_next = sleeper_next,
};

static const struct workload sleepers = {
	.name = "sleepers",
	.description = "never finishes a transaction",
	.setup_sql = "CREATE TABLE t(x);",
	.ops = &sleeper_ops,
};

/* No progress is a finding of kind hang naming each connection's state,
 * and the run still ends (every connection unwound and closed). */
static void test_hang_is_a_finding(void **state)
{
	(void)state;
	struct world_config cfg;
	struct world_result r;
	world_config_default(&cfg);
	cfg.workload = &sleepers;
	cfg.conn_count = 3;
	cfg.txn_count = 10;
	cfg.hang_steps = 500;
	assert_int_equal(world_run(&cfg, &r), 0);
	assert_int_equal(r.finding_count, 1);
	assert_string_equal(r.findings[0].kind, "hang");
	assert_non_null(strstr(r.findings[0].detail, "conn 2: sleep"));
	assert_int_equal(r.stats.txns_committed, 0);
	world_result_free(&r);
}

/* On a tape, a connection's fault decisions are kept on its own track
 * (so that the shrinker cutting one connection's work leaves the others'
 * faults where they were), while a run draws exactly the same faults with
 * or without a tape: same trace hash, same counts. */
static void test_fault_draws_per_connection(void **state)
{
	(void)state;
	struct world_config cfg;
	base_config(&cfg, 11);
	cfg.conn_count = 4;
	cfg.txn_count = 200;
	cfg.journal_mode = "delete";
	cfg.faults = WORLD_FAULTS_IO;
	struct world_result plain, taped;
	assert_int_equal(world_run(&cfg, &plain), 0);
	struct wh_tape tape;
	wh_tape_init(&tape);
	cfg.tape = &tape;
	assert_int_equal(world_run(&cfg, &taped), 0);
	assert_true(plain.trace_hash == taped.trace_hash);
	assert_true(plain.stats.faults_injected == taped.stats.faults_injected);
	uint32_t with_draws = 0;
	for (uint32_t i = 0; i < tape.track_count; i++) {
		uint64_t id = tape.tracks[i].stream;
		if (id >= WH_STREAM_FAULTS_CONN && id < WH_STREAM_FAULTS_CONN + cfg.conn_count)
			with_draws += tape.tracks[i].count > 0;
	}
	assert_int_equal(with_draws, cfg.conn_count);
	world_result_free(&plain);
	world_result_free(&taped);
	wh_tape_free(&tape);
}

/* The fault plan notes where it placed power losses among the
 * transactions (the draw's index on the faults track and its value), and
 * a raw draw below the bound gives itself: what the shrinker relies on to
 * keep a power loss where it was in a candidate with another --txns
 * (shrink.c, anchor_plan). Noting changes nothing in the run. */
static void test_plan_draws_noted(void **state)
{
	(void)state;
	struct world_config cfg;
	base_config(&cfg, 5);
	cfg.conn_count = 4;
	cfg.txn_count = 200;
	cfg.faults = WORLD_FAULTS_CRASH;
	struct world_result plain, taped, again;
	assert_int_equal(world_run(&cfg, &plain), 0);
	struct wh_tape tape;
	wh_tape_init(&tape);
	cfg.tape = &tape;
	assert_int_equal(world_run(&cfg, &taped), 0);
	assert_true(plain.trace_hash == taped.trace_hash);
	assert_int_equal(plain.plan_draw_count, 0); /* no tape, nothing noted */
	assert_true(taped.plan_draw_count >= 1);
	assert_true(taped.plan_draw_count <= 3);
	struct wh_track *tr = wh_tape_track(&tape, WH_STREAM_FAULTS);
	for (uint32_t i = 0; i < taped.plan_draw_count; i++) {
		const struct world_plan_draw *d = &taped.plan_draws[i];
		assert_int_equal(d->kind, WORLD_PLAN_AT);
		assert_true(d->value < cfg.txn_count);
		assert_true(d->draw < tr->count);
	}
	/* The first power loss moved to transaction 150 of a 300-transaction
	 * run by writing 150 as its raw draw. */
	tr->values[taped.plan_draws[0].draw] = 150;
	wh_tape_rewind(&tape);
	cfg.txn_count = 300;
	assert_int_equal(world_run(&cfg, &again), 0);
	bool found = false;
	for (uint32_t i = 0; i < again.plan_draw_count; i++)
		found |= again.plan_draws[i].draw == taped.plan_draws[0].draw &&
			 again.plan_draws[i].value == 150;
	assert_true(found);
	world_result_free(&plain);
	world_result_free(&taped);
	world_result_free(&again);
	wh_tape_free(&tape);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlite_allocations_zeroed),
		cmocka_unit_test(test_bank_50_seeds),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_two_writers_exclusion),
		cmocka_unit_test(test_interleaving_inside_txns),
		cmocka_unit_test(test_records_exactly_once),
		cmocka_unit_test(test_hang_is_a_finding),
		cmocka_unit_test(test_fault_draws_per_connection),
		cmocka_unit_test(test_plan_draws_noted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
