/*
 * test_triage.c - the catalogue of known findings (oracle/triage.c) and
 * the triage of runs against it.
 *
 * What it proves:
 *   - the shipped catalogue parses and holds the entries the README names;
 *     a good user file parses field for field; every kind of bad line is
 *     rejected with NAME:LINE and leaves the catalogue as it was;
 *   - version ranges: bounds inclusive, open upper end, and a match
 *     outside the range is still known with in_range false; a match on
 *     the version an entry was measured fixed in, or later, is a
 *     regression: new, naming the entry ("new:regression:ID");
 *   - measurements: "fixed" and "measured" lines parse, and the parser
 *     holds the versions and fixed lines to what the measurement implies
 *     (the oldest version with the finding; open-ended when the newest
 *     measured has it, else fixed in the next one measured);
 *   - the pinned stale-schema run (ddl-churn) is labelled known by its
 *     oracle kind, with a signature free of statement template names;
 *   - the pinned hot-journal run is labelled known by the engine's
 *     evidence counter, and only by it (without the evidence its
 *     violations are new);
 *   - the WAL non-powersafe commit loss is labelled known from its
 *     configuration (set through the library: the CLI has no device
 *     flag), its power losses and its lost_commit;
 *   - planted defects (--vfs-bug no-locks, no-shm-locks, lying-fsync, in
 *     WAL and in a rollback mode, with faults none and io, or crash for
 *     the lying fsync) and memory-shared dirty reads stay new: with the
 *     shipped catalogue and with a greedy one whose entries would explain
 *     any kind, no violation is absorbed.
 * Each pinned run fails the test if its detector or matcher is removed:
 * the label would be new instead of known (or known instead of new).
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oracle.h"
#include "oracle_world.h"
#include "triage.h"
#include "workloads.h"
#include "world.h"

/* A run, its report and its triage, freed together. */
struct checked {
	struct world_config cfg;
	struct world_result res;
	struct oracle_report rep;
	struct triage_result tri;
};

static void check_run(struct checked *c, const struct triage_catalog *cat)
{
	assert_int_equal(world_run(&c->cfg, &c->res), 0);
	struct oracle_config oc;
	oracle_config_for_world(&c->cfg, &c->res, 64, &oc);
	assert_int_equal(oracle_check(&c->res.history, &oc, &c->rep), 0);
	triage_run(cat, &c->cfg, &c->res, &c->rep, sqlite3_libversion_number(), &c->tri);
}

static void checked_free(struct checked *c)
{
	triage_result_free(&c->tri);
	oracle_report_free(&c->rep);
	world_result_free(&c->res);
}

static const struct triage_vlabel *label_of_kind(const struct triage_result *t,
						 const struct checked *c, const char *kind)
{
	for (uint32_t i = 0; i < c->rep.violation_count; i++)
		if (strcmp(c->rep.violations[i].kind, kind) == 0)
			return &t->labels[c->res.finding_count + i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Catalogue parsing                                                   */
/* ------------------------------------------------------------------ */

/* The shipped catalogue parses and names the four known root causes,
 * each with its versions, evidence and pinning test. */
static void test_builtin_catalogue(void **state)
{
	(void)state;
	const struct triage_catalog *cat = triage_builtin();
	static const char *const ids[] = {"stale-schema-no-such-table",
					  "hot-journal-taken-for-live",
					  "wal-non-powersafe-commit-loss"};
	assert_int_equal(cat->entry_count, 5);
	for (size_t i = 0; i < 3; i++) {
		const struct triage_entry *e = &cat->entries[i];
		assert_string_equal(e->id, ids[i]);
		/* Measured on 3.39.1 to 3.54.1: in every version, so open-ended
		 * from the oldest measured. */
		assert_int_equal(e->version_lo, 3039001);
		assert_int_equal(e->version_hi, 0);
		assert_int_equal(e->version_fixed, 0);
		assert_int_equal(e->measured_count, 6);
		assert_int_equal(e->measured[0].version, 3039001);
		assert_int_equal(e->measured[5].version, 3054001);
		assert_string_equal(e->measured_date, "2026-12-06");
		assert_true(e->evidence_kind_count > 0 || e->evidence_counters != 0);
		assert_non_null(strstr(e->test, "tests/test_"));
		assert_non_null(e->mechanism);
	}
	assert_true(cat->entries[1].explains_all);
	assert_int_equal(cat->entries[1].evidence_counters,
			 1u << TRIAGE_COUNTER_HOT_JOURNAL_TAKEN_FOR_LIVE);
	assert_int_equal(cat->entries[2].device, TRIAGE_DEVICE_NON_POWERSAFE);
	assert_int_equal(cat->entries[2].crashes_min, 2);
	/* The WAL-reset race: SQLite's own documented range (3.7.0 to
	 * 3.51.2), not a ladder measurement, recognised by its counter. */
	const struct triage_entry *wr = &cat->entries[3];
	assert_string_equal(wr->id, "wal-reset-checkpoint-race");
	assert_int_equal(wr->version_lo, 3007000);
	assert_int_equal(wr->version_hi, 3051002);
	assert_int_equal(wr->measured_count, 0);
	assert_true(wr->explains_all);
	assert_int_equal(wr->evidence_counters, 1u << TRIAGE_COUNTER_WAL_RESET_STALE_CHECKPOINT);
	assert_non_null(strstr(wr->test, "test_wal_reset_checkpoint_race"));
	/* The transaction lost under a statement's schema retry: recognised
	 * by its counter, under the fault profiles that fail allocations. */
	const struct triage_entry *sr = &cat->entries[4];
	assert_string_equal(sr->id, "schema-retry-loses-transaction");
	assert_int_equal(sr->version_lo, 3040001);
	assert_true(sr->explains_all);
	assert_int_equal(sr->evidence_counters, 1u << TRIAGE_COUNTER_TXN_LOST_UNDER_STATEMENT);
	assert_non_null(strstr(sr->test, "test_schema_retry_loses_transaction"));
}

static const char good_text[] =
	"# a comment\n"
	"\n"
	"finding my-bug-1\n"
	"title something breaks\n"
	"versions 3040001-3045001\n"
	"fixed 3046000\n"
	"measured 2026-12-06 3.39.1=passes 3.40.1=fails 3.45.1=fails,3/100 3.46.0=0/100\n"
	"journal wal truncate\n"
	"faults io chaos\n"
	"target sim memory-shared\n"
	"device powersafe\n"
	"crashes 1\n"
	"evidence kind lost_update\n"
	"evidence counter hot_journal_taken_for_live\n"
	"explains lost_update read_skew\n"
	"mechanism line one\n"
	"mechanism line two\n"
	"test tests/test_x.c:test_y\n"
	"finding my-bug-2\r\n"
	"title another   \n"
	"versions 3000000-\n"
	"evidence kind integrity_check\n"
	"explains *\n"
	"mechanism m\n"
	"test t.c:f\n";

/* A file with every key parses field for field, after the shipped
 * entries. */
static void test_good_file(void **state)
{
	(void)state;
	struct triage_catalog cat;
	triage_catalog_init(&cat);
	triage_catalog_add_builtin(&cat);
	char err[256] = "";
	assert_int_equal(triage_catalog_add_text(&cat, "good.txt", good_text, err, sizeof err), 0);
	assert_int_equal(cat.entry_count, 7);
	const struct triage_entry *e = &cat.entries[5];
	assert_string_equal(e->id, "my-bug-1");
	assert_string_equal(e->title, "something breaks");
	assert_int_equal(e->version_lo, 3040001);
	assert_int_equal(e->version_hi, 3045001);
	assert_int_equal(e->version_fixed, 3046000);
	assert_string_equal(e->measured_date, "2026-12-06");
	assert_int_equal(e->measured_count, 4);
	assert_int_equal(e->measured[0].version, 3039001);
	assert_int_equal(e->measured[0].word, TRIAGE_MEASURE_PASSES);
	assert_int_equal(e->measured[1].word, TRIAGE_MEASURE_FAILS);
	assert_int_equal(e->measured[1].seeds, 0);
	assert_int_equal(e->measured[2].word, TRIAGE_MEASURE_FAILS);
	assert_int_equal(e->measured[2].seeds_failed, 3);
	assert_int_equal(e->measured[2].seeds, 100);
	assert_int_equal(e->measured[3].version, 3046000);
	assert_int_equal(e->measured[3].word, TRIAGE_MEASURE_NONE);
	assert_int_equal(e->measured[3].seeds_failed, 0);
	assert_false(triage_measure_has(&e->measured[3]));
	assert_int_equal(e->journal_mask, (1u << 0) | (1u << 2));
	assert_int_equal(e->faults_mask, (1u << WORLD_FAULTS_IO) | (1u << WORLD_FAULTS_CHAOS));
	assert_int_equal(e->target_mask, 3);
	assert_int_equal(e->device, TRIAGE_DEVICE_POWERSAFE);
	assert_int_equal(e->crashes_min, 1);
	assert_int_equal(e->evidence_kind_count, 1);
	assert_string_equal(e->evidence_kinds[0], "lost_update");
	assert_int_equal(e->evidence_counters, 1);
	assert_int_equal(e->explains_count, 2);
	assert_string_equal(e->explains[1], "read_skew");
	assert_string_equal(e->mechanism, "line one\nline two");
	assert_string_equal(e->test, "tests/test_x.c:test_y");
	assert_string_equal(e->source, "good.txt:3");
	e = &cat.entries[6];
	assert_string_equal(e->id, "my-bug-2");
	assert_string_equal(e->title, "another");
	assert_int_equal(e->version_fixed, 0);
	assert_int_equal(e->measured_count, 0);
	assert_int_equal(e->target_mask, 1u << WORLD_TARGET_SIM); /* the default */
	assert_true(e->explains_all);
	assert_int_equal(e->journal_mask, 0);
	triage_catalog_free(&cat);
}

/* Every kind of bad line is refused with NAME:LINE, and nothing of the
 * file is added. */
static void test_bad_lines(void **state)
{
	(void)state;
	static const char entry[] = "finding ok\ntitle t\nversions 3040001-\n"
				    "evidence kind x\nexplains x\nmechanism m\ntest a.c:b\n";
	struct {
		const char *tail;   /* appended after a good entry (7 lines) */
		int line;
		const char *message;
	} cases[] = {
		{"bogus 1\n", 8, "unknown key 'bogus'"},
		{"title\n", 8, "'title': missing value"},
		{"title again\n", 8, "'title' given twice"},
		{"versions 3040001\n", 8, "'versions' given twice"},
		{"finding Bad_Id\n", 8, "is not an id"},
		{"finding ok\n", 8, "appears twice"},
		{"journal wal sideways\n", 8, "unknown journal mode 'sideways'"},
		{"faults io lots\n", 8, "unknown fault profile 'lots'"},
		{"target disk\n", 8, "unknown target 'disk'"},
		{"device fast\n", 8, "expected powersafe or non-powersafe"},
		{"lock-model fiber\n", 8, "'lock-model': expected thread or process"},
		{"crashes two\n", 8, "'crashes': expected a number"},
		{"evidence kind Bad-Kind\n", 8, "is not a violation kind"},
		{"evidence counter nope\n", 8, "unknown counter 'nope'"},
		{"evidence guess lost_update\n", 8, "expected 'kind KIND' or 'counter NAME'"},
		{"explains * lost_update\n", 8, "'*' stands alone"},
		{"test no-function\n", 8, "expected FILE:FUNCTION"},
		{"finding next\ntitle t\nversions 3040001-\nexplains x\nmechanism m\ntest a.c:b\n",
		 8, "finding 'next' has no 'evidence' line"},
		{"finding next\ntitle t\nversions 3040001-\nevidence kind x\nmechanism m\ntest a.c:b\n",
		 8, "has no 'explains' line"},
		{"finding next\ntitle t\nversions 3040001-\nevidence kind x\nexplains x\nmechanism m\n",
		 8, "has no 'test' line"},
		{"finding next\ntitle t\nevidence kind x\nexplains x\nmechanism m\ntest a.c:b\n",
		 8, "has no 'versions' line"},
		{"finding next\ntitle t\nversions 3045001-3040001\n", 10, "is empty"},
		{"finding next\ntitle t\nversions 40001-\n", 10, "expected LO-HI or LO-"},
		{"finding next\ntitle t\nversions 3040001-x\n", 10, "expected LO-HI or LO-"},
		/* fixed: a number, once, after a range that ends before it. */
		{"fixed 3.46.0\n", 8, "'fixed': expected a version"},
		{"fixed 3046000\n", 1, "'fixed 3046000' needs a 'versions' range that ends before it"},
		{"finding next\ntitle t\nversions 3040001-3046000\nfixed 3046000\nevidence kind x\n"
		 "explains x\nmechanism m\ntest a.c:b\n",
		 8, "'fixed 3046000' needs a 'versions' range that ends before it"},
		{"fixed 3046000\nfixed 3046000\n", 9, "'fixed' given twice"},
		/* measured: a date, then versions oldest first with results. */
		{"measured 3.40.1=fails\n", 8, "expected a date YYYY-MM-DD first"},
		{"measured 2026-12-6 3.40.1=fails\n", 8, "expected a date YYYY-MM-DD first"},
		{"measured 2026-12-06\n", 8, "at least one VERSION=RESULT"},
		{"measured 2026-12-06 3.40=fails\n", 8, "not MAJOR.MINOR.PATCH"},
		{"measured 2026-12-06 4.0.0=fails\n", 8, "not MAJOR.MINOR.PATCH"},
		{"measured 2026-12-06 3.40.1\n", 8, "expected VERSION=RESULT"},
		{"measured 2026-12-06 3.40.1=maybe\n", 8, "expected fails, passes, K/N"},
		{"measured 2026-12-06 3.40.1=fails,\n", 8, "expected fails, passes, K/N"},
		{"measured 2026-12-06 3.40.1=fails3/4\n", 8, "expected fails, passes, K/N"},
		{"measured 2026-12-06 3.40.1=3/2\n", 8, "0 <= K <= N and N > 0"},
		{"measured 2026-12-06 3.40.1=0/0\n", 8, "0 <= K <= N and N > 0"},
		{"measured 2026-12-06 3.40.1=passes,2/9\n", 8, "it passes, yet seeds show it"},
		{"measured 2026-12-06 3.45.1=fails 3.40.1=fails\n", 8, "oldest first, each once"},
		{"measured 2026-12-06 3.40.1=fails 3.40.1=fails\n", 8, "oldest first, each once"},
		{"measured 2026-12-06 3.40.1=fails\nmeasured 2026-12-06 3.40.1=fails\n", 9,
		 "'measured' given twice"},
		/* The versions and fixed lines say what the measurement implies. */
		{"measured 2026-12-06 3.40.1=0/10 3.45.1=passes\n", 8,
		 "no version shows finding 'ok'"},
		{"measured 2026-12-06 3.39.1=fails 3.40.1=fails\n", 8,
		 "was measured as 'versions 3039001-' and no 'fixed'"},
		{"measured 2026-12-06 3.40.1=fails 3.45.1=passes\n", 8,
		 "was measured as 'versions 3040001-3040001' and 'fixed 3045001'"},
		{"measured 2026-12-06 3.40.1=2/100 3.45.1=0/100 3.46.1=1/500\n", 0, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct triage_catalog cat;
		triage_catalog_init(&cat);
		triage_catalog_add_builtin(&cat);
		char text[1024], err[512] = "", want[64];
		snprintf(text, sizeof text, "%s%s", entry, cases[i].tail);
		if (cases[i].message == NULL) {
			/* A gap (a version without it inside the range) is
			 * still the range: the good control of the cases. */
			if (triage_catalog_add_text(&cat, "bad.txt", text, err, sizeof err) != 0)
				fail_msg("case %zu: refused: %s", i, err);
			triage_catalog_free(&cat);
			continue;
		}
		assert_int_equal(triage_catalog_add_text(&cat, "bad.txt", text, err, sizeof err), -1);
		snprintf(want, sizeof want, "bad.txt:%d: ", cases[i].line);
		if (strncmp(err, want, strlen(want)) != 0 || strstr(err, cases[i].message) == NULL)
			fail_msg("case %zu: got '%s', want '%s%s'", i, err, want, cases[i].message);
		assert_int_equal(cat.entry_count, 5); /* nothing of bad.txt added */
		triage_catalog_free(&cat);
	}
	/* Before any entry; empty; an id the shipped catalogue has. */
	struct triage_catalog cat;
	triage_catalog_init(&cat);
	triage_catalog_add_builtin(&cat);
	char err[512];
	assert_int_equal(triage_catalog_add_text(&cat, "f", "\ntitle t\n", err, sizeof err), -1);
	assert_non_null(strstr(err, "f:2: 'title' before the first 'finding' line"));
	assert_int_equal(triage_catalog_add_text(&cat, "f", "# nothing\n", err, sizeof err), -1);
	assert_non_null(strstr(err, "f:1: no 'finding' entry"));
	char dup[512];
	snprintf(dup, sizeof dup, "%s%s", entry, "finding hot-journal-taken-for-live\ntitle t\n"
		 "versions 3040001-\nevidence kind x\nexplains x\nmechanism m\ntest a.c:b\n");
	assert_int_equal(triage_catalog_add_text(&cat, "f", dup, err, sizeof err), -1);
	assert_non_null(strstr(err, "f:8: finding 'hot-journal-taken-for-live' is already in the catalogue"));
	assert_int_equal(cat.entry_count, 5);

	/* A file: the path names the line; a missing file names the path. */
	char path[] = "/tmp/test_triage_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs(entry, f);
	fputs("finding two\nversions 1-\n", f);
	fclose(f);
	assert_int_equal(triage_catalog_add_file(&cat, path, err, sizeof err), -1);
	char want[128];
	snprintf(want, sizeof want, "%s:9: 'versions'", path);
	assert_non_null(strstr(err, want));
	unlink(path);
	assert_int_equal(triage_catalog_add_file(&cat, path, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot open"));
	assert_int_equal(cat.entry_count, 5);
	triage_catalog_free(&cat);
}

/* ------------------------------------------------------------------ */
/* Versions                                                            */
/* ------------------------------------------------------------------ */

static void test_version_ranges(void **state)
{
	(void)state;
	struct triage_entry e = {.version_lo = 3040001, .version_hi = 3045001};
	assert_false(triage_version_in_range(&e, 3040000));
	assert_true(triage_version_in_range(&e, 3040001));
	assert_true(triage_version_in_range(&e, 3042000));
	assert_true(triage_version_in_range(&e, 3045001));
	assert_false(triage_version_in_range(&e, 3045002));
	e.version_hi = 0;
	assert_true(triage_version_in_range(&e, 3999999));
	assert_false(triage_version_in_range(&e, 3039004));
	char buf[32];
	triage_version_format(3040001, buf, sizeof buf);
	assert_string_equal(buf, "3.40.1");

	assert_int_equal(triage_version_parse("3.40.1"), 3040001);
	assert_int_equal(triage_version_parse("3.7.17"), 3007017);
	assert_int_equal(triage_version_parse("3.54.12"), 3054012);
	assert_int_equal(triage_version_parse("3.40"), -1);
	assert_int_equal(triage_version_parse("3.40.1.2"), -1);
	assert_int_equal(triage_version_parse("2.8.17"), -1);
	assert_int_equal(triage_version_parse("3.4000.1"), -1);
	assert_int_equal(triage_version_parse("3..1"), -1);
	assert_int_equal(triage_version_parse(""), -1);

	/* A regression is a match on the fixed version or later; between the
	 * range's end and the fix the range was not measured: no regression. */
	e = (struct triage_entry){.version_lo = 3040001, .version_hi = 3045001,
				  .version_fixed = 3046001};
	assert_false(triage_version_regressed(&e, 3045001));
	assert_false(triage_version_regressed(&e, 3046000));
	assert_false(triage_version_in_range(&e, 3046000));
	assert_true(triage_version_regressed(&e, 3046001));
	assert_true(triage_version_regressed(&e, 3054001));
	assert_false(triage_version_regressed(&e, 3039004));
	e.version_fixed = 0;
	assert_false(triage_version_regressed(&e, 3054001));
}

/* The range a measurement implies: from the oldest version with the
 * finding; open-ended when the newest measured has it, else ending at the
 * newest with it and fixed in the next measured. */
static void test_measure_range(void **state)
{
	(void)state;
	struct triage_measure m[4];
	const char *why = NULL;
	const char *tokens[] = {"3.39.1=passes", "3.40.1=fails,3/100", "3.45.1=0/50", "3.46.1=1/50"};
	for (int i = 0; i < 4; i++)
		if (!triage_measure_parse(tokens[i], &m[i], &why))
			fail_msg("%s: %s", tokens[i], why);
	int lo = -1, hi = -1, fixed = -1;
	assert_true(triage_measure_range(m, 4, &lo, &hi, &fixed));
	assert_int_equal(lo, 3040001);
	assert_int_equal(hi, 0);
	assert_int_equal(fixed, 0);
	/* Without the last rung the newest measured lacks it: fixed there. */
	assert_true(triage_measure_range(m, 3, &lo, &hi, &fixed));
	assert_int_equal(lo, 3040001);
	assert_int_equal(hi, 3040001);
	assert_int_equal(fixed, 3045001);
	/* Nothing shows it: no range, nothing written. */
	lo = hi = fixed = -1;
	assert_false(triage_measure_range(m, 1, &lo, &hi, &fixed));
	assert_int_equal(lo, -1);
	/* Formatting gives back the tokens. */
	for (int i = 0; i < 4; i++) {
		char buf[64];
		triage_measure_format(&m[i], buf, sizeof buf);
		assert_string_equal(buf, tokens[i]);
	}
}

/* ------------------------------------------------------------------ */
/* Pinned known findings                                               */
/* ------------------------------------------------------------------ */

/* The stale-schema finding in a ddl-churn run (journal truncate, 7
 * connections, round robin, page_size=1024, seed 1): two transactions
 * fail on a stale schema; both are known, the run is known, and its
 * signature names the entry, no statement template. */
static void stale_config(struct world_config *cfg)
{
	world_config_default(cfg);
	cfg->seed = 1;
	cfg->workload = wl_find("ddl-churn");
	cfg->conn_count = 7;
	cfg->txn_count = 2000;
	cfg->journal_mode = "truncate";
	cfg->strategy = SCHED_RR;
	cfg->pragmas[cfg->pragma_count++] = "page_size=1024";
}

static void test_stale_schema_known(void **state)
{
	(void)state;
	struct checked c;
	memset(&c, 0, sizeof c);
	stale_config(&c.cfg);
	check_run(&c, triage_builtin());
	assert_true(c.rep.violation_count >= 1);
	assert_int_equal(c.tri.label, TRIAGE_KNOWN);
	assert_int_equal(c.tri.new_count, 0);
	assert_int_equal(c.tri.known_count, 1);
	assert_string_equal(c.tri.known[0].entry->id, "stale-schema-no-such-table");
	assert_true(c.tri.known[0].in_range);
	assert_int_equal(c.tri.known[0].violations, c.rep.violation_count);
	assert_string_equal(c.tri.signature, "known:stale-schema-no-such-table");
	for (uint32_t i = 0; i < c.rep.violation_count; i++) {
		assert_string_equal(c.rep.violations[i].kind, "stale_schema_error");
		assert_int_equal(c.tri.labels[i].label, TRIAGE_KNOWN);
	}
	/* No template name in the signature. */
	for (uint32_t t = 0; t < c.res.history.txn_count; t++) {
		const struct hist_txn *x = c.res.history.txns[t];
		for (uint32_t k = 0; k < x->stmt_count; k++)
			if (x->stmts[k].tmpl != NULL)
				assert_null(strstr(c.tri.signature, x->stmts[k].tmpl));
		if (x->name != NULL)
			assert_null(strstr(c.tri.signature, x->name));
	}
	/* Applicable: the stale-schema entry (any mode), not the WAL one nor
	 * the hot-journal one (which needs faults to leave a hot journal). */
	assert_int_equal(c.tri.applicable_count, 1);
	assert_string_equal(c.tri.applicable[0]->id, "stale-schema-no-such-table");

	/* On a SQLite before the entry's range it is still known, flagged
	 * out of range; the signature does not change. */
	struct triage_result old;
	triage_run(triage_builtin(), &c.cfg, &c.res, &c.rep, 3038005, &old);
	assert_int_equal(old.label, TRIAGE_KNOWN);
	assert_false(old.known[0].in_range);
	assert_false(old.known[0].regression);
	assert_string_equal(old.signature, "known:stale-schema-no-such-table");
	assert_int_equal(old.applicable_count, 0);
	assert_string_equal(old.sqlite_version, "3.38.5");
	triage_result_free(&old);

	/* A user entry whose range ends before this SQLite, tried first
	 * (its own catalogue), labels it too, out of range. */
	struct triage_catalog cat;
	triage_catalog_init(&cat);
	char err[256];
	assert_int_equal(triage_catalog_add_text(&cat, "user.txt",
						 "finding user-stale\ntitle t\nversions 3000000-3000001\n"
						 "journal truncate\nevidence kind stale_schema_error\n"
						 "explains stale_schema_error\nmechanism m\ntest a.c:b\n",
						 err, sizeof err),
			 0);
	struct triage_result user;
	triage_run(&cat, &c.cfg, &c.res, &c.rep, sqlite3_libversion_number(), &user);
	assert_int_equal(user.label, TRIAGE_KNOWN);
	assert_string_equal(user.known[0].entry->id, "user-stale");
	assert_false(user.known[0].in_range);
	triage_result_free(&user);
	triage_catalog_free(&cat);

	/* An entry measured fixed before this SQLite: the match is a
	 * regression. Its violations are new, naming the entry, and so is
	 * the run, with a signature that names the entry; between the
	 * range's end and the fix it stays known, out of range. */
	triage_catalog_init(&cat);
	assert_int_equal(triage_catalog_add_text(&cat, "fixed.txt",
						 "finding fixed-stale\ntitle t\nversions 3030000-3035000\n"
						 "fixed 3039000\nevidence kind stale_schema_error\n"
						 "explains stale_schema_error\nmechanism m\ntest a.c:b\n",
						 err, sizeof err),
			 0);
	struct triage_result reg;
	triage_run(&cat, &c.cfg, &c.res, &c.rep, 3040001, &reg);
	assert_int_equal(reg.label, TRIAGE_NEW);
	assert_int_equal(reg.new_count, c.rep.violation_count);
	assert_int_equal(reg.known_count, 1);
	assert_true(reg.known[0].regression);
	assert_false(reg.known[0].in_range);
	assert_int_equal(reg.known[0].violations, c.rep.violation_count);
	assert_string_equal(reg.signature, "new:regression:fixed-stale");
	for (uint32_t i = 0; i < c.rep.violation_count; i++) {
		assert_int_equal(reg.labels[i].label, TRIAGE_NEW);
		assert_non_null(reg.labels[i].entry);
		assert_string_equal(reg.labels[i].entry->id, "fixed-stale");
	}
	triage_result_free(&reg);
	struct triage_result gap;
	triage_run(&cat, &c.cfg, &c.res, &c.rep, 3036000, &gap);
	assert_int_equal(gap.label, TRIAGE_KNOWN);
	assert_false(gap.known[0].regression);
	assert_false(gap.known[0].in_range);
	assert_string_equal(gap.signature, "known:fixed-stale");
	triage_result_free(&gap);
	struct triage_result inside;
	triage_run(&cat, &c.cfg, &c.res, &c.rep, 3035000, &inside);
	assert_int_equal(inside.label, TRIAGE_KNOWN);
	assert_true(inside.known[0].in_range);
	assert_string_equal(inside.signature, "known:fixed-stale");
	assert_int_equal(inside.labels[0].label, TRIAGE_KNOWN);
	triage_result_free(&inside);
	triage_catalog_free(&cat);
	checked_free(&c);
}

/* A DROP TABLE whose COMMIT wrote the database and then failed (I/O
 * faults) left a hot journal; another connection played it back to its
 * end. The driver marks that COMMIT undone, and the oracle no longer
 * weighs it as an indeterminate writer: before, the plan where it
 * committed made fewer failures (one INSERT into the table it dropped,
 * against three statements that failed with "no such table" during the
 * hot window) and a read mismatch was reported new. Now the run is the
 * known stale-schema finding and nothing else. Pinned: the nightly's
 * ddl-churn run (seed 5875050309781038720). Fails if the mark is cleared:
 * the same history without it is new. */
static void test_hot_journal_owner_undone(void **state)
{
	(void)state;
	struct checked c;
	memset(&c, 0, sizeof c);
	world_config_default(&c.cfg);
	c.cfg.seed = 5875050309781038720ull;
	c.cfg.workload = wl_find("ddl-churn");
	c.cfg.conn_count = 14;
	c.cfg.txn_count = 1000;
	c.cfg.journal_mode = "delete";
	c.cfg.synchronous = "off";
	c.cfg.strategy = SCHED_RANDOM;
	c.cfg.faults = WORLD_FAULTS_IO;
	c.cfg.pragmas[0] = "page_size=512";
	c.cfg.pragma_count = 1;
	check_run(&c, triage_builtin());
	uint32_t undone = 0;
	for (uint32_t t = 0; t < c.res.history.txn_count; t++)
		undone += c.res.history.txns[t]->undone;
	assert_true(undone > 0);
	assert_int_equal(c.tri.new_count, 0);
	assert_string_equal(c.tri.signature, "known:stale-schema-no-such-table");

	for (uint32_t t = 0; t < c.res.history.txn_count; t++)
		c.res.history.txns[t]->undone = false;
	struct oracle_config oc;
	oracle_config_for_world(&c.cfg, &c.res, 64, &oc);
	struct oracle_report rep;
	assert_int_equal(oracle_check(&c.res.history, &oc, &rep), 0);
	struct triage_result blind;
	triage_run(triage_builtin(), &c.cfg, &c.res, &rep, sqlite3_libversion_number(), &blind);
	assert_int_equal(blind.label, TRIAGE_NEW);
	triage_result_free(&blind);
	oracle_report_free(&rep);
	checked_free(&c);
}

/* The WAL-reset race (test_findings.c's pinned run, the nightly's):
 * known by the engine's evidence, in its version range; without the
 * evidence the same reads of old values are new. */
static void test_wal_reset_known_by_evidence(void **state)
{
	(void)state;
	struct checked c;
	memset(&c, 0, sizeof c);
	world_config_default(&c.cfg);
	c.cfg.seed = 5809801856334177889ull;
	c.cfg.workload = wl_find("rw-register");
	c.cfg.conn_count = 11;
	c.cfg.txn_count = 2000;
	c.cfg.journal_mode = "wal";
	c.cfg.synchronous = "off";
	c.cfg.strategy = SCHED_PCT;
	c.cfg.pct_depth = 2;
	c.cfg.faults = WORLD_FAULTS_CRASH;
	c.cfg.lock_model = SIMVFS_LOCKS_PROCESS;
	c.cfg.pragmas[0] = "mmap_size=65536";
	c.cfg.pragmas[1] = "wal_autocheckpoint=1";
	c.cfg.pragmas[2] = "page_size=65536";
	c.cfg.pragma_count = 3;
	check_run(&c, triage_builtin());
	assert_true(c.res.evidence.wal_reset_stale_checkpoint >= 1);
	assert_int_equal(c.tri.new_count, 0);
	assert_string_equal(c.tri.signature, "known:wal-reset-checkpoint-race");
	assert_true(c.tri.known[0].in_range);

	struct world_evidence saved = c.res.evidence;
	memset(&c.res.evidence, 0, sizeof c.res.evidence);
	struct triage_result blind;
	triage_run(triage_builtin(), &c.cfg, &c.res, &c.rep, sqlite3_libversion_number(), &blind);
	assert_int_equal(blind.label, TRIAGE_NEW);
	assert_int_equal(blind.known_count, 0);
	triage_result_free(&blind);
	c.res.evidence = saved;
	checked_free(&c);
}

/* The hot-journal race (test_findings.c's pinned run: seed 60,
 * delete-heavy, 6 connections, 600 transactions, truncate, I/O faults):
 * known by the engine's evidence. Without the evidence (counter cleared)
 * the same violations are new: the entry is recognised by what happened,
 * not by the kinds it produced. A read anomaly that was over before the
 * race first showed is not its doing and stays new. */
static void test_hot_journal_known_by_evidence(void **state)
{
	(void)state;
	struct checked c;
	memset(&c, 0, sizeof c);
	world_config_default(&c.cfg);
	c.cfg.seed = 60;
	c.cfg.workload = wl_find("delete-heavy");
	c.cfg.conn_count = 6;
	c.cfg.txn_count = 600;
	c.cfg.journal_mode = "truncate";
	c.cfg.faults = WORLD_FAULTS_IO;
	check_run(&c, triage_builtin());
	assert_true(c.res.evidence.hot_journal_taken_for_live >= 1);
	assert_true(c.res.evidence.hot_journal_first_event > 0);
	assert_non_null(label_of_kind(&c.tri, &c, "integrity_check"));
	assert_int_equal(c.tri.label, TRIAGE_KNOWN);
	assert_int_equal(c.tri.new_count, 0);
	assert_int_equal(c.tri.known_count, 1);
	assert_string_equal(c.tri.known[0].entry->id, "hot-journal-taken-for-live");
	assert_string_equal(c.tri.signature, "known:hot-journal-taken-for-live");
	for (uint32_t i = 0; i < c.tri.label_count; i++)
		assert_int_not_equal(c.tri.labels[i].label, TRIAGE_NEW);

	struct world_evidence saved = c.res.evidence;
	memset(&c.res.evidence, 0, sizeof c.res.evidence);
	struct triage_result blind;
	triage_run(triage_builtin(), &c.cfg, &c.res, &c.rep, sqlite3_libversion_number(), &blind);
	assert_int_equal(blind.label, TRIAGE_NEW);
	assert_int_equal(blind.known_count, 0);
	assert_non_null(strstr(blind.signature, "integrity_check"));
	assert_non_null(strstr(blind.signature, "@rollback,io"));
	triage_result_free(&blind);
	c.res.evidence = saved;

	/* A read anomaly naming only a transaction that ended before the
	 * first counted event is outside the race's reach: new. */
	uint32_t early = UINT32_MAX;
	for (uint32_t t = 0; t < c.res.history.txn_count && early == UINT32_MAX; t++)
		if (c.res.history.txns[t]->end_event != 0 &&
		    c.res.history.txns[t]->end_event < c.res.evidence.hot_journal_first_event)
			early = t;
	assert_int_not_equal(early, UINT32_MAX);
	struct oracle_violation v[2] = {
		{.kind = "integrity_check", .detail = "d"},
		{.kind = "lost_update", .detail = "d", .txns = &early, .txn_count = 1},
	};
	struct oracle_report rep = {.violations = v, .violation_count = 2};
	struct triage_result scoped;
	triage_run(triage_builtin(), &c.cfg, &c.res, &rep, sqlite3_libversion_number(), &scoped);
	assert_int_equal(scoped.labels[c.res.finding_count].label, TRIAGE_KNOWN);
	assert_int_equal(scoped.labels[c.res.finding_count + 1].label, TRIAGE_NEW);
	assert_int_equal(scoped.label, TRIAGE_NEW);
	triage_result_free(&scoped);

	/* Needs the in-process view: told the run had a process per
	 * connection, the entry does not apply (nor is it applicable). */
	c.cfg.lock_model = SIMVFS_LOCKS_PROCESS;
	struct triage_result other;
	triage_run(triage_builtin(), &c.cfg, &c.res, &c.rep, sqlite3_libversion_number(), &other);
	assert_int_equal(other.label, TRIAGE_NEW);
	assert_int_equal(other.known_count, 0);
	for (uint32_t i = 0; i < other.applicable_count; i++)
		assert_string_not_equal(other.applicable[i]->id, "hot-journal-taken-for-live");
	triage_result_free(&other);
	checked_free(&c);
}

/* The WAL commit loss on a device without powersafe overwrite. The run
 * CLI has no device flag, so the library configures it (as
 * tests/test_simvfs.c's pinned test, which shows the loss, does). The
 * run path's crash model has not reproduced the loss in a few hundred
 * seeds, so the run is real (WAL, power losses, the device) and its
 * report carries the lost_commit the pinned test shows: known. The same
 * on a powersafe device, after a single power loss, or in a rollback
 * mode is new. */
static void test_wal_non_powersafe_known(void **state)
{
	(void)state;
	struct world_config cfg;
	world_config_default(&cfg);
	cfg.workload = wl_find("bank");
	cfg.conn_count = 4;
	cfg.txn_count = 300;
	cfg.journal_mode = "wal";
	cfg.faults = WORLD_FAULTS_CRASH;
	cfg.device_characteristics = 0; /* no powersafe overwrite */
	struct world_result res;
	for (cfg.seed = 1;; cfg.seed++) {
		assert_true(cfg.seed <= 60);
		assert_int_equal(world_run(&cfg, &res), 0);
		if (res.stats.crashes >= 2 && res.evidence.torn_outside_write > 0)
			break;
		world_result_free(&res);
	}
	struct oracle_violation v = {.kind = "lost_commit", .detail = "d"};
	struct oracle_report rep = {.violations = &v, .violation_count = 1};
	struct triage_result r;
	triage_run(triage_builtin(), &cfg, &res, &rep, sqlite3_libversion_number(), &r);
	assert_int_equal(r.label, TRIAGE_KNOWN);
	assert_int_equal(r.labels[0].label, TRIAGE_KNOWN);
	assert_string_equal(r.labels[0].entry->id, "wal-non-powersafe-commit-loss");
	assert_string_equal(r.signature, "known:wal-non-powersafe-commit-loss");
	/* Applicable: this one, the stale-schema one (any mode) and the
	 * WAL-reset race (WAL). */
	assert_int_equal(r.applicable_count, 3);
	triage_result_free(&r);

	/* Recognised by the evidence, not by the kind: a lost commit with no
	 * tear reaching outside its write is new. */
	uint64_t torn = res.evidence.torn_outside_write;
	res.evidence.torn_outside_write = 0;
	triage_run(triage_builtin(), &cfg, &res, &rep, sqlite3_libversion_number(), &r);
	assert_int_equal(r.label, TRIAGE_NEW);
	triage_result_free(&r);
	res.evidence.torn_outside_write = torn;

	cfg.device_characteristics = -1; /* the default, powersafe */
	triage_run(triage_builtin(), &cfg, &res, &rep, sqlite3_libversion_number(), &r);
	assert_int_equal(r.label, TRIAGE_NEW);
	assert_string_equal(r.signature, "new:lost_commit@wal,crash");
	triage_result_free(&r);
	cfg.device_characteristics = SQLITE_IOCAP_SEQUENTIAL;
	uint64_t crashes = res.stats.crashes;
	res.stats.crashes = 1;
	triage_run(triage_builtin(), &cfg, &res, &rep, sqlite3_libversion_number(), &r);
	assert_int_equal(r.label, TRIAGE_NEW);
	triage_result_free(&r);
	res.stats.crashes = crashes;
	cfg.journal_mode = "delete";
	triage_run(triage_builtin(), &cfg, &res, &rep, sqlite3_libversion_number(), &r);
	assert_int_equal(r.label, TRIAGE_NEW);
	triage_result_free(&r);
	world_result_free(&res);
}

/* ------------------------------------------------------------------ */
/* Planted defects stay new                                            */
/* ------------------------------------------------------------------ */

/* Entries that would explain any kind of any run, recognised by the
 * kinds planted defects produce: a planted defect must void them. */
static const char greedy_text[] =
	"finding greedy-read\ntitle g\nversions 3000000-\ntarget sim memory-shared\n"
	"evidence kind read_mismatch\nexplains *\nmechanism m\ntest a.c:b\n"
	"finding greedy-update\ntitle g\nversions 3000000-\ntarget sim memory-shared\n"
	"evidence kind lost_update\nexplains *\nmechanism m\ntest a.c:b\n"
	"finding greedy-commit\ntitle g\nversions 3000000-\ntarget sim memory-shared\n"
	"evidence kind lost_commit\nexplains *\nmechanism m\ntest a.c:b\n"
	"finding greedy-final\ntitle g\nversions 3000000-\ntarget sim memory-shared\n"
	"evidence kind final_state\nexplains *\nmechanism m\ntest a.c:b\n";

/* Planted configurations and a seed each fails at (bank, 4 connections,
 * 60 transactions). */
static const struct planted {
	enum simvfs_bug bug;
	const char *journal;
	enum world_faults faults;
	uint64_t seed;
} planted[] = {
	/* no-locks: in a rollback mode every profile shows it; in WAL the
	 * database file's locks matter only around recovery (chaos). */
	{SIMVFS_BUG_NO_LOCKS, "delete", WORLD_FAULTS_NONE, 1},
	{SIMVFS_BUG_NO_LOCKS, "delete", WORLD_FAULTS_IO, 1},
	{SIMVFS_BUG_NO_LOCKS, "wal", WORLD_FAULTS_CHAOS, 3},
	/* no-shm-locks: WAL only (rollback modes map no shared memory). */
	{SIMVFS_BUG_NO_SHM_LOCKS, "wal", WORLD_FAULTS_NONE, 1},
	{SIMVFS_BUG_NO_SHM_LOCKS, "wal", WORLD_FAULTS_IO, 1},
	/* lying-fsync: only a power loss shows it (crash, or chaos which
	 * adds the io faults); chaos in a rollback mode is where the
	 * hot-journal entry applies. */
	{SIMVFS_BUG_LYING_FSYNC, "wal", WORLD_FAULTS_CRASH, 2},
	{SIMVFS_BUG_LYING_FSYNC, "delete", WORLD_FAULTS_CRASH, 1},
	{SIMVFS_BUG_LYING_FSYNC, "wal", WORLD_FAULTS_CHAOS, 1},
	{SIMVFS_BUG_LYING_FSYNC, "delete", WORLD_FAULTS_CHAOS, 1},
};

static void assert_all_new(const struct triage_result *t, const char *what)
{
	if (t->label != TRIAGE_NEW || t->known_count != 0 || t->new_count == 0)
		fail_msg("%s: label %s, %u known, %u new (signature %s)", what,
			 triage_label_name(t->label), t->known_count, t->new_count, t->signature);
	for (uint32_t i = 0; i < t->label_count; i++)
		if (t->labels[i].label == TRIAGE_KNOWN)
			fail_msg("%s: violation %u absorbed by %s", what, i, t->labels[i].entry->id);
}

static void test_planted_defects_stay_new(void **state)
{
	(void)state;
	struct triage_catalog greedy;
	triage_catalog_init(&greedy);
	triage_catalog_add_builtin(&greedy);
	char err[256];
	assert_int_equal(triage_catalog_add_text(&greedy, "greedy", greedy_text, err, sizeof err), 0);
	for (size_t i = 0; i < sizeof planted / sizeof planted[0]; i++) {
		const struct planted *p = &planted[i];
		struct checked c;
		memset(&c, 0, sizeof c);
		world_config_default(&c.cfg);
		c.cfg.seed = p->seed;
		c.cfg.workload = wl_find("bank");
		c.cfg.conn_count = 4;
		c.cfg.txn_count = 60;
		c.cfg.vfs_bug = p->bug;
		c.cfg.journal_mode = p->journal;
		c.cfg.faults = p->faults;
		check_run(&c, triage_builtin());
		char what[128];
		snprintf(what, sizeof what, "bug %d, %s, faults %s, seed %llu", (int)p->bug,
			 p->journal, world_faults_name(p->faults), (unsigned long long)p->seed);
		assert_all_new(&c.tri, what);
		assert_non_null(strstr(c.tri.signature, ",vfs-bug="));
		assert_int_equal(c.tri.applicable_count, 0);
		struct triage_result g;
		triage_run(&greedy, &c.cfg, &c.res, &c.rep, sqlite3_libversion_number(), &g);
		assert_all_new(&g, what);
		assert_string_equal(g.signature, c.tri.signature);
		triage_result_free(&g);
		checked_free(&c);
	}
	triage_catalog_free(&greedy);
}

/* Dirty reads on a memory-shared cache with read_uncommitted=1 are new,
 * even for entries that name the memory-shared target (the greedy ones):
 * shipped entries apply to the simulated VFS only. */
static void test_memory_shared_dirty_reads_stay_new(void **state)
{
	(void)state;
	struct triage_catalog greedy;
	triage_catalog_init(&greedy);
	triage_catalog_add_builtin(&greedy);
	char err[256];
	assert_int_equal(triage_catalog_add_text(&greedy, "greedy", greedy_text, err, sizeof err), 0);
	int failing = 0;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct checked c;
		memset(&c, 0, sizeof c);
		world_config_default(&c.cfg);
		c.cfg.seed = seed;
		c.cfg.workload = wl_find("bank");
		c.cfg.target = WORLD_TARGET_MEMORY_SHARED;
		c.cfg.conn_count = 4;
		c.cfg.txn_count = 60;
		c.cfg.pragmas[c.cfg.pragma_count++] = "read_uncommitted=1";
		check_run(&c, triage_builtin());
		if (c.tri.label_count > 0) {
			failing++;
			assert_all_new(&c.tri, "memory-shared");
			assert_non_null(strstr(c.tri.signature, ",target=memory-shared"));
			assert_int_equal(c.tri.applicable_count, 0);
		}
		checked_free(&c);
	}
	assert_true(failing > 0);
	triage_catalog_free(&greedy);
}

/* The signature rules on a synthetic report: expected reasons sorted and
 * joined; new kinds sorted, distinct, with world findings; features. */
static void test_signature_rules(void **state)
{
	(void)state;
	struct world_config cfg;
	world_config_default(&cfg);
	cfg.journal_mode = "memory";
	cfg.faults = WORLD_FAULTS_IO;
	struct world_result res;
	memset(&res, 0, sizeof res);
	struct oracle_violation v[3] = {
		{.expected = true, .expected_reason = "no-durability-promise", .kind = "lost_commit"},
		{.expected = true, .expected_reason = "journal-memory-unsafe", .kind = "integrity_check"},
		{.expected = true, .expected_reason = "no-durability-promise", .kind = "final_state"},
	};
	struct oracle_report rep = {.violations = v, .violation_count = 3};
	struct triage_result t;
	triage_run(triage_builtin(), &cfg, &res, &rep, 3040001, &t);
	assert_int_equal(t.label, TRIAGE_EXPECTED);
	assert_string_equal(t.signature, "expected:journal-memory-unsafe+no-durability-promise");
	assert_int_equal(t.expected_count, 2);
	assert_int_equal(t.expected[1].violations, 2);
	triage_result_free(&t);

	v[1].expected = false;
	v[2].expected = false;
	struct world_finding f = {.kind = "hang", .detail = "d"};
	res.findings = &f;
	res.finding_count = 1;
	triage_run(triage_builtin(), &cfg, &res, &rep, 3040001, &t);
	assert_int_equal(t.label, TRIAGE_NEW);
	assert_int_equal(t.new_count, 3);
	assert_int_equal(t.labels[0].label, TRIAGE_NEW);
	assert_int_equal(t.labels[1].label, TRIAGE_EXPECTED);
	/* The gravest new kind names it: a hang before corruption. */
	assert_string_equal(t.signature, "new:hang@memory,io");
	triage_result_free(&t);

	res.finding_count = 0;
	memset(&rep, 0, sizeof rep);
	triage_run(triage_builtin(), &cfg, &res, &rep, 3040001, &t);
	assert_int_equal(t.label, TRIAGE_PASS);
	assert_string_equal(t.signature, "");
	triage_result_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_catalogue),
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_version_ranges),
		cmocka_unit_test(test_measure_range),
		cmocka_unit_test(test_signature_rules),
		cmocka_unit_test(test_stale_schema_known),
		cmocka_unit_test(test_hot_journal_known_by_evidence),
		cmocka_unit_test(test_wal_reset_known_by_evidence),
		cmocka_unit_test(test_hot_journal_owner_undone),
		cmocka_unit_test(test_wal_non_powersafe_known),
		cmocka_unit_test(test_planted_defects_stay_new),
		cmocka_unit_test(test_memory_shared_dirty_reads_stay_new),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
