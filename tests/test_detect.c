/*
 * test_detect.c - the oracle on real runs: honest configurations pass, and
 * the known non-serializable configuration (shared-cache in-memory database
 * with PRAGMA read_uncommitted=1, where SQLite documents dirty reads) is
 * caught within the first 20 seeds.
 */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

#include "oracle.h"
#include "oracle_world.h"
#include "workloads.h"
#include "world.h"

struct verdict {
	uint32_t violations;
	uint32_t findings;
	char first_kind[64];
};

static struct verdict run_checked(struct world_config *cfg)
{
	struct world_result r;
	struct oracle_report rep;
	struct verdict v = {0};
	assert_int_equal(world_run(cfg, &r), 0);
	struct oracle_config oc;
	oracle_config_for_world(cfg, &r, 8, &oc);
	assert_int_equal(oracle_check(&r.history, &oc, &rep), 0);
	v.violations = rep.violation_count;
	v.findings = r.finding_count;
	if (rep.violation_count > 0) {
		snprintf(v.first_kind, sizeof v.first_kind, "%s", rep.violations[0].kind);
		if (getenv("WH_TEST_VERBOSE"))
			fprintf(stderr, "seed %llu: %s: %s\n", (unsigned long long)cfg->seed,
				rep.violations[0].kind, rep.violations[0].detail);
	}
	oracle_report_free(&rep);
	world_result_free(&r);
	return v;
}

static void shared_config(struct world_config *cfg, uint64_t seed, bool dirty)
{
	world_config_default(cfg);
	cfg->seed = seed;
	cfg->workload = wl_find("bank");
	cfg->target = WORLD_TARGET_MEMORY_SHARED;
	cfg->conn_count = 4;
	cfg->txn_count = 60;
	cfg->pragmas[cfg->pragma_count++] =
		dirty ? "read_uncommitted=1" : "read_uncommitted=0";
}

/* read_uncommitted=1 on a shared cache: some of the first 20 seeds must be
 * caught with a dirty-read kind of violation. */
static void test_dirty_reads_caught(void **state)
{
	(void)state;
	int caught = 0;
	for (uint64_t seed = 1; seed <= 20 && caught == 0; seed++) {
		struct world_config cfg;
		shared_config(&cfg, seed, true);
		struct verdict v = run_checked(&cfg);
		if (v.violations > 0) {
			caught++;
			/* A read anomaly, named as precisely as the oracle can:
			 * a dirty read of a transaction that later committed
			 * can also surface as read skew. */
			static const char *const read_kinds[] = {
				"dirty_read", "intermediate_read", "aborted_read",
				"read_skew", "read_mismatch", NULL};
			bool named = false;
			for (int k = 0; read_kinds[k]; k++)
				named |= strcmp(v.first_kind, read_kinds[k]) == 0;
			assert_true(named);
		}
	}
	assert_true(caught > 0);
}

/* The same configuration with read_uncommitted=0: 100 seeds pass. */
static void test_shared_cache_honest_passes(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 100; seed++) {
		struct world_config cfg;
		shared_config(&cfg, seed, false);
		struct verdict v = run_checked(&cfg);
		assert_int_equal(v.findings, 0);
		assert_int_equal(v.violations, 0);
	}
}

/* Honest runs on the simulated VFS pass the oracle: every journal mode and
 * scheduler, several seeds each. */
static void test_sim_honest_passes(void **state)
{
	(void)state;
	static const char *const journals[] = {"wal", "delete", "truncate", "persist",
					       "memory"};
	for (int j = 0; j < 5; j++) {
		for (int s = 0; s < 3; s++) {
			for (uint64_t seed = 1; seed <= 4; seed++) {
				struct world_config cfg;
				world_config_default(&cfg);
				cfg.seed = seed * 31 + (uint64_t)j;
				cfg.workload = wl_find("bank");
				cfg.conn_count = 6;
				cfg.txn_count = 150;
				cfg.journal_mode = journals[j];
				cfg.strategy = (enum sched_strategy)s;
				struct verdict v = run_checked(&cfg);
				assert_int_equal(v.findings, 0);
				assert_int_equal(v.violations, 0);
			}
		}
	}
}

/* The indeterminate search's shortcuts (oracle.c): a plan's sweep takes
 * its window evaluations and crash-search digests from the best plan's
 * sweep where the two apply the same steps and resolved every crash
 * before alike (memo_lookup, crash.c), and stops once it can no longer
 * beat the best plan (sweep_cut); the report is the one the search gives
 * when every plan is swept from scratch to its end: the same violations
 * (kind, transactions, detail), expected labels, note and plans. */
static void check_shortcuts(const struct world_config *cfg, bool crashes)
{
	struct world_result r;
	assert_int_equal(world_run(cfg, &r), 0);
	assert_true(crashes == (r.stats.crashes > 0));
	struct oracle_config oc;
	oracle_config_for_world(cfg, &r, 64, &oc);
	struct oracle_report cut, full;
	assert_int_equal(oracle_check(&r.history, &oc, &cut), 0);
	oc.search_plain = true;
	assert_int_equal(oracle_check(&r.history, &oc, &full), 0);
	assert_true(cut.plans > 2);
	assert_true(cut.plans_cut > 0);
	assert_true(cut.evals_reused > 0);
	assert_true(!crashes || cut.digests_reused > 0);
	assert_int_equal(full.plans_cut, 0);
	assert_true(full.evals_reused == 0 && full.digests_reused == 0);
	assert_int_equal(cut.plans, full.plans);
	assert_int_equal(cut.violation_count, full.violation_count);
	for (uint32_t k = 0; k < cut.violation_count; k++) {
		const struct oracle_violation *a = &cut.violations[k], *b = &full.violations[k];
		assert_string_equal(a->kind, b->kind);
		assert_string_equal(a->detail, b->detail);
		assert_int_equal(a->txn_count, b->txn_count);
		assert_memory_equal(a->txns, b->txns, a->txn_count * sizeof *a->txns);
		assert_true(a->expected == b->expected);
	}
	assert_true(cut.gave_up == full.gave_up);
	assert_true((cut.note == NULL) == (full.note == NULL));
	if (cut.note != NULL)
		assert_string_equal(cut.note, full.note);
	assert_int_equal(cut.txns_checked, full.txns_checked);
	assert_int_equal(cut.lost_txn_count, full.lost_txn_count);
	oracle_report_free(&cut);
	oracle_report_free(&full);
	world_result_free(&r);
}

/* A planted shm-lock defect under I/O faults (a failing history with
 * indeterminate writers, no crash), and power losses in journal mode
 * MEMORY (crashes, and plans that lose). */
static void test_plan_search_shortcuts(void **state)
{
	(void)state;
	struct world_config cfg;
	world_config_default(&cfg);
	cfg.seed = 4;
	cfg.workload = wl_find("bank");
	cfg.conn_count = 6;
	cfg.txn_count = 300;
	cfg.faults = WORLD_FAULTS_IO;
	cfg.vfs_bug = SIMVFS_BUG_NO_SHM_LOCKS;
	check_shortcuts(&cfg, false);
	world_config_default(&cfg);
	cfg.seed = 4;
	cfg.workload = wl_find("savepoints");
	cfg.conn_count = 5;
	cfg.txn_count = 400;
	cfg.journal_mode = "memory";
	cfg.synchronous = "extra";
	cfg.faults = WORLD_FAULTS_CHAOS;
	check_shortcuts(&cfg, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirty_reads_caught),
		cmocka_unit_test(test_shared_cache_honest_passes),
		cmocka_unit_test(test_sim_honest_passes),
		cmocka_unit_test(test_plan_search_shortcuts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
