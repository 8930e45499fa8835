/*
 * test_nightly.c - how `whopper nightly` labels a finished child
 * (whopper/nightly_results.c): the child's JSON "triage" object gives the
 * label (new, known with its catalogue ids, expected with its reasons) and
 * the signature; a child without one keeps the old rule (every failure is
 * new); crashes, hangs and error exits are new whatever they printed. A
 * record written to results.jsonl reads back with its label, findings and
 * reasons, and a line of an older nightly (no label, "known" meaning "in
 * the corpus") still reads. The aggregate counts runs per label, makes
 * only a new signature that was not in the corpus turn the night red, and
 * counts, per catalogued finding, the runs it applied to and the runs
 * that showed it. The matrix does not draw a workload for a target that
 * cannot run it (\requires), and moves no other draw for it. --explore's
 * pool takes a run that reached a new coverage point and not one that did
 * not, folds a generation in index order whatever order its runs ended
 * in, and draws a run's arguments as a pure function of the pool and the
 * index.
 *
 * The nightly's sources live with the command-line sources, which the test
 * binaries do not link, so the files needed are compiled in here; the
 * three CLI functions they call are stubbed below.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightly_explore.c"
#include "nightly_json.c"
#include "nightly_matrix.c"
#include "nightly_results.c"
#include "nightly_targets.c"
#include "nightly_util.c"

/* ------------------------------------------------------------------ */
/* Stubs for the CLI functions the nightly's files refer to            */
/* ------------------------------------------------------------------ */

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return WH_EXIT_USAGE;
}

/* Enough JSON escaping for these tests' strings (no control characters). */
void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

const char *nl_exe_display(void)
{
	return "whopper";
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* A matrix run of index `index` classified from a child that exited with
 * exit_status and printed json on stdout. */
static void classify_run(struct nl_result *r, int64_t index, int64_t exit_status,
			 const char *json)
{
	memset(r, 0, sizeof *r);
	r->kind = NL_KIND_RUN;
	r->index = index;
	r->shard = wh_strdup("0/1");
	nl_strv_push(&r->args, "run");
	nl_strv_push(&r->args, "--seed");
	nl_strv_push(&r->args, "7");
	nl_strv_push(&r->args, "--json");
	nl_classify(r, exit_status, 0, false, json, strlen(json), "", "bank");
}

/* r written as a results.jsonl line and read back into out. */
static void round_trip(const struct nl_result *r, struct nl_result *out)
{
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);
	assert_non_null(m);
	nl_result_write(m, r);
	fclose(m);
	struct nl_json *j = nl_json_parse(line, len);
	assert_non_null(j);
	assert_int_equal(nl_result_read(j, out), 0);
	nl_json_free(j);
	free(line);
}

static const char known_json[] =
	"{\"seed\": 7, \"verdict\": \"fail\", \"trace_hash\": \"00000000000000aa\","
	" \"violations\": [{\"kind\": \"setup_failed\", \"label\": \"known\","
	" \"finding\": \"stale-schema\", \"detail\": \"no such table: t\"}],"
	" \"signature\": \"known:stale-schema\","
	" \"triage\": {\"label\": \"known\", \"signature\": \"known:stale-schema\","
	" \"known\": [{\"id\": \"stale-schema\", \"title\": \"stale schema after a busy read lock\","
	" \"in_range\": true, \"violations\": 1}], \"expected\": [], \"new\": 0,"
	" \"applicable\": [\"stale-schema\", \"hot-journal\"],"
	" \"sqlite_version\": \"3.40.1\", \"sqlite_version_number\": 3040001}}";

static const char expected_json[] =
	"{\"seed\": 7, \"verdict\": \"pass\", \"trace_hash\": \"00000000000000bb\","
	" \"violations\": [{\"kind\": \"read_mismatch\", \"expected\": true, \"label\": \"expected\","
	" \"reason\": \"bitflip-no-checksums\", \"detail\": \"a flipped bit\"}],"
	" \"signature\": \"expected:bitflip-no-checksums\","
	" \"triage\": {\"label\": \"expected\", \"signature\": \"expected:bitflip-no-checksums\","
	" \"known\": [], \"expected\": [{\"reason\": \"bitflip-no-checksums\", \"violations\": 1}],"
	" \"new\": 0, \"applicable\": [\"hot-journal\"]}}";

static const char new_json[] =
	"{\"seed\": 7, \"verdict\": \"fail\", \"trace_hash\": \"00000000000000cc\","
	" \"violations\": [{\"kind\": \"lost_update\", \"label\": \"new\", \"detail\": \"T3 lost\"}],"
	" \"signature\": \"new:lost_update@wal,none,vfs-bug=no-locks\","
	" \"triage\": {\"label\": \"new\", \"signature\": \"new:lost_update@wal,none,vfs-bug=no-locks\","
	" \"known\": [], \"expected\": [], \"new\": 1, \"applicable\": [\"hot-journal\"]}}";

/* What an older child prints: no triage object. */
static const char old_json[] =
	"{\"seed\": 7, \"verdict\": \"fail\", \"trace_hash\": \"00000000000000dd\","
	" \"violations\": [{\"kind\": \"lost_update\", \"expected\": false, \"detail\": \"T3 lost\"}],"
	" \"signature\": \"lost_update:transfer.debit\"}";

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

/* A known finding: label known, the child's signature as it is, the
 * catalogue entry with its title and version range. */
static void test_known_label(void **state)
{
	(void)state;
	struct nl_result r;
	classify_run(&r, 0, WH_EXIT_FINDING, known_json);
	assert_int_equal(r.status, NL_FAIL);
	assert_int_equal(r.label, NL_LABEL_KNOWN);
	assert_string_equal(r.signature, "known:stale-schema");
	assert_int_equal(r.finding_count, 1);
	assert_string_equal(r.findings[0].id, "stale-schema");
	assert_string_equal(r.findings[0].title, "stale schema after a busy read lock");
	assert_true(r.findings[0].in_range);
	assert_int_equal(r.applicable.count, 2);
	assert_string_equal(r.detail, "no such table: t");
	nl_result_free(&r);
}

/* Only expected violations: the child exits 0, the run is labelled
 * expected with its reason, and it gets a signature to be counted by. */
static void test_expected_label(void **state)
{
	(void)state;
	struct nl_result r;
	classify_run(&r, 0, WH_EXIT_PASS, expected_json);
	assert_int_equal(r.status, NL_PASS);
	assert_int_equal(r.label, NL_LABEL_EXPECTED);
	assert_string_equal(r.signature, "expected:bitflip-no-checksums");
	assert_int_equal(r.reasons.count, 1);
	assert_string_equal(r.reasons.v[0], "bitflip-no-checksums");
	nl_result_free(&r);

	/* The same without a signature from the child: built from the reasons. */
	const char *no_sig =
		"{\"verdict\": \"pass\", \"violations\": [], \"triage\": {\"label\": \"expected\","
		" \"expected\": [{\"reason\": \"no-durability-promise\"}, {\"reason\": \"bitflip-no-checksums\"}]}}";
	classify_run(&r, 0, WH_EXIT_PASS, no_sig);
	assert_int_equal(r.label, NL_LABEL_EXPECTED);
	assert_string_equal(r.signature, "expected:bitflip-no-checksums+no-durability-promise");
	nl_result_free(&r);
}

/* New, and the fallbacks: without a triage object every failure is new
 * under the old "violation:" signature; an exit 1 that claims to be
 * expected is not believed; a crash is new whatever it printed first. */
static void test_new_and_fallbacks(void **state)
{
	(void)state;
	struct nl_result r;
	classify_run(&r, 0, WH_EXIT_FINDING, new_json);
	assert_int_equal(r.label, NL_LABEL_NEW);
	assert_string_equal(r.signature, "new:lost_update@wal,none,vfs-bug=no-locks");
	nl_result_free(&r);

	classify_run(&r, 0, WH_EXIT_FINDING, old_json);
	assert_int_equal(r.status, NL_FAIL);
	assert_int_equal(r.label, NL_LABEL_NEW);
	assert_string_equal(r.signature, "violation:lost_update:transfer.debit");
	assert_int_equal(r.finding_count, 0);
	nl_result_free(&r);

	classify_run(&r, 0, WH_EXIT_FINDING, expected_json);
	assert_int_equal(r.label, NL_LABEL_NEW);
	nl_result_free(&r);

	memset(&r, 0, sizeof r);
	r.kind = NL_KIND_RUN;
	nl_classify(&r, 0, 11, false, known_json, strlen(known_json), "", "bank");
	assert_int_equal(r.status, NL_CRASH);
	assert_int_equal(r.label, NL_LABEL_NEW);
	assert_string_equal(r.signature, "crash:SIGSEGV");
	nl_result_free(&r);

	classify_run(&r, 0, WH_EXIT_PASS, "{\"verdict\": \"pass\", \"violations\": []}");
	assert_int_equal(r.label, NL_LABEL_PASS);
	assert_null(r.signature);
	nl_result_free(&r);
}

/* results.jsonl keeps the label, the findings and the reasons; a line of
 * an older nightly reads with the old meaning. */
static void test_line_round_trip(void **state)
{
	(void)state;
	struct nl_result r, back;
	classify_run(&r, 4, WH_EXIT_FINDING, known_json);
	r.in_corpus = true;
	round_trip(&r, &back);
	assert_int_equal(back.label, NL_LABEL_KNOWN);
	assert_true(back.in_corpus);
	assert_string_equal(back.signature, "known:stale-schema");
	assert_int_equal(back.finding_count, 1);
	assert_string_equal(back.findings[0].title, "stale schema after a busy read lock");
	assert_true(back.findings[0].in_range);
	assert_int_equal(back.applicable.count, 2);
	nl_result_free(&back);
	nl_result_free(&r);

	/* The child's coverage comes along, and the job unites it. */
	static const char cov_json[] =
		"{\"seed\": 7, \"verdict\": \"pass\", \"trace_hash\": \"00000000000000cc\","
		" \"coverage\": {\"points\": 3, \"reached\": [4, 90, 1000]}, \"violations\": [],"
		" \"signature\": \"\"}";
	classify_run(&r, 6, WH_EXIT_PASS, cov_json);
	assert_int_equal(r.coverage_count, 3);
	round_trip(&r, &back);
	assert_int_equal(back.coverage_count, 3);
	assert_int_equal(back.coverage[2], 1000);
	struct nl_agg agg;
	memset(&agg, 0, sizeof agg);
	assert_true(nl_agg_add(&agg, &back));
	back.index = 7;
	back.coverage[0] = 5; /* one new point, two seen */
	assert_true(nl_agg_add(&agg, &back));
	assert_int_equal(agg.coverage_points, 4);
	nl_agg_free(&agg);
	nl_result_free(&back);
	nl_result_free(&r);

	classify_run(&r, 5, WH_EXIT_PASS, expected_json);
	round_trip(&r, &back);
	assert_int_equal(back.label, NL_LABEL_EXPECTED);
	assert_int_equal(back.status, NL_PASS);
	assert_string_equal(back.reasons.v[0], "bitflip-no-checksums");
	nl_result_free(&back);
	nl_result_free(&r);

	const char old_line[] =
		"{\"kind\": \"run\", \"index\": 2, \"seed\": 9, \"status\": \"fail\","
		" \"signature\": \"violation:x:y\", \"known\": true, \"args\": [\"run\"]}";
	struct nl_json *j = nl_json_parse(old_line, strlen(old_line));
	assert_non_null(j);
	assert_int_equal(nl_result_read(j, &back), 0);
	assert_int_equal(back.label, NL_LABEL_NEW);
	assert_true(back.in_corpus);
	nl_result_free(&back);
	nl_json_free(j);

	/* A pass label with a failing status contradicts itself. */
	const char bad_line[] =
		"{\"kind\": \"run\", \"index\": 2, \"seed\": 9, \"status\": \"fail\","
		" \"signature\": \"violation:x:y\", \"label\": \"pass\", \"args\": [\"run\"]}";
	j = nl_json_parse(bad_line, strlen(bad_line));
	assert_non_null(j);
	assert_int_equal(nl_result_read(j, &back), -1);
	nl_json_free(j);
}

/* Only a new signature not in the corpus reddens the night; runs are
 * counted per label; each catalogued finding is counted over the runs it
 * applied to. */
static void test_aggregate(void **state)
{
	(void)state;
	struct nl_agg a;
	memset(&a, 0, sizeof a);
	struct nl_result r;
	classify_run(&r, 0, WH_EXIT_FINDING, known_json);
	assert_true(nl_agg_add(&a, &r));
	nl_result_free(&r);
	classify_run(&r, 1, WH_EXIT_PASS, expected_json);
	assert_true(nl_agg_add(&a, &r));
	nl_result_free(&r);
	assert_int_equal(nl_agg_new_count(&a), 0);

	classify_run(&r, 2, WH_EXIT_FINDING, new_json);
	r.in_corpus = true; /* kept by an earlier night: not news */
	assert_true(nl_agg_add(&a, &r));
	nl_result_free(&r);
	assert_int_equal(nl_agg_new_count(&a), 0);
	classify_run(&r, 3, WH_EXIT_FINDING, old_json);
	assert_true(nl_agg_add(&a, &r));
	nl_result_free(&r);
	assert_int_equal(nl_agg_new_count(&a), 1);

	assert_int_equal(a.run_count, 4);
	assert_int_equal(a.by_label[NL_LABEL_KNOWN], 1);
	assert_int_equal(a.by_label[NL_LABEL_EXPECTED], 1);
	assert_int_equal(a.by_label[NL_LABEL_NEW], 2);
	assert_int_equal(a.by_label[NL_LABEL_PASS], 0);
	assert_int_equal(a.by_status[NL_PASS], 1);
	assert_int_equal(a.sig_count, 4);

	/* stale-schema: applicable to run 0 only, seen there; hot-journal:
	 * applicable to runs 0, 1 and 2, never seen. */
	assert_int_equal(a.catalogue_count, 2);
	uint32_t i = 0;
	assert_true(nl_map_get(&a.catalogue_index, "stale-schema", &i));
	assert_int_equal(a.catalogue[i].applicable_runs, 1);
	assert_int_equal(a.catalogue[i].seen_runs, 1);
	assert_string_equal(a.catalogue[i].title, "stale schema after a busy read lock");
	assert_true(nl_map_get(&a.catalogue_index, "hot-journal", &i));
	assert_int_equal(a.catalogue[i].applicable_runs, 3);
	assert_int_equal(a.catalogue[i].seen_runs, 0);
	nl_agg_free(&a);
}

/* ------------------------------------------------------------------ */
/* The matrix and \requires                                            */
/* ------------------------------------------------------------------ */

static const char *const mx_workloads[] = {"bank", "ddl-churn", "default"};
static const char *const mx_targets[] = {"/lib/a.so", "/lib/b.so"};

static void mx_init(struct nl_matrix *m)
{
	memset(m, 0, sizeof *m);
	m->base_seed = 20261206;
	for (size_t k = 0; k < 3; k++)
		nl_strv_push(&m->workloads, mx_workloads[k]);
	for (size_t k = 0; k < 2; k++)
		nl_strv_push(&m->targets, mx_targets[k]);
	nl_strv_push(&m->user_flags, "--txns");
	nl_strv_push(&m->user_flags, "50");
}

static void mx_free(struct nl_matrix *m)
{
	nl_strv_free(&m->workloads);
	nl_strv_free(&m->targets);
	nl_strv_free(&m->user_flags);
	free(m->cannot_run);
	m->cannot_run = NULL;
}

static const char *arg_after(const struct nl_strv *argv, const char *flag)
{
	for (size_t i = 0; i + 1 < argv->count; i++)
		if (strcmp(argv->v[i], flag) == 0)
			return argv->v[i + 1];
	return NULL;
}

/* A workload a target cannot run is never drawn for it; where the row
 * drew it, that run draws another workload and nothing else changes; the
 * other target's runs, and a table where every target runs everything,
 * draw exactly what they drew without one. */
static void test_matrix_requirements(void **state)
{
	(void)state;
	struct nl_matrix plain, skip;
	mx_init(&plain);
	mx_init(&skip);
	skip.cannot_run = wh_calloc(3 * 2, 1);
	uint32_t redrawn = 0, other = 0;
	for (uint64_t i = 0; i < 600; i++) {
		struct nl_strv a = {0}, b = {0};
		uint64_t sa, sb;
		nl_matrix_args(&plain, i, &a, &sa);
		nl_matrix_args(&skip, i, &b, &sb); /* all zero: nothing changes */
		assert_true(nl_strv_equal(&a, &b));
		nl_strv_free(&b);
		skip.cannot_run[1 * 2 + 1] = 1; /* ddl-churn on target b */
		nl_matrix_args(&skip, i, &b, &sb);
		skip.cannot_run[1 * 2 + 1] = 0;
		assert_true(sa == sb);
		const char *wa = arg_after(&a, "--workload"), *wb = arg_after(&b, "--workload");
		assert_non_null(wa);
		assert_non_null(wb);
		assert_string_equal(arg_after(&b, "--target-lib"), mx_targets[i % 2]);
		if (i % 2 == 1)
			assert_string_not_equal(wb, "ddl-churn");
		if (i % 2 == 0 || strcmp(wa, "ddl-churn") != 0) {
			assert_true(nl_strv_equal(&a, &b));
			other += i % 2 == 0 && strcmp(wa, "ddl-churn") == 0;
		} else {
			/* Only the workload differs. */
			assert_int_equal(a.count, b.count);
			for (size_t k = 0; k < a.count; k++)
				if (a.v[k] != wa)
					assert_string_equal(a.v[k], b.v[k]);
			redrawn++;
		}
		nl_strv_free(&a);
		nl_strv_free(&b);
	}
	/* A third of 300 rows draws ddl-churn: target b redraws those,
	 * target a runs them. */
	assert_true(redrawn > 60 && redrawn < 140);
	assert_int_equal(other, redrawn);
	mx_free(&plain);
	mx_free(&skip);
}

/* A knob of its own drawn over `runs` runs: `flag` appears only with
 * `value` (the default is never passed), between lo and hi times; the
 * user's own flag (with `user_value`) overrides the draw. */
static void check_knob(const char *flag, const char *value, uint64_t runs, uint32_t lo,
		       uint32_t hi, const char *user_value)
{
	struct nl_matrix m;
	mx_init(&m);
	uint32_t drawn = 0;
	for (uint64_t i = 0; i < runs; i++) {
		struct nl_strv a = {0};
		uint64_t seed;
		nl_matrix_args(&m, i, &a, &seed);
		const char *v = arg_after(&a, flag);
		if (v != NULL) {
			assert_string_equal(v, value);
			drawn++;
		}
		nl_strv_free(&a);
	}
	assert_true(drawn > lo && drawn < hi);
	assert_true(nl_run_flag_takes_value(flag));
	nl_strv_push(&m.user_flags, flag);
	nl_strv_push(&m.user_flags, user_value);
	for (uint64_t i = 0; i < 40; i++) {
		struct nl_strv a = {0};
		uint64_t seed;
		nl_matrix_args(&m, i, &a, &seed);
		assert_string_equal(arg_after(&a, flag), user_value);
		nl_strv_free(&a);
	}
	mx_free(&m);
}

/* The lock model is a knob of its own: about a quarter of the runs get
 * --lock-model process (thread, run's default, is never passed); the
 * user's own --lock-model overrides the draw. */
static void test_matrix_lock_model(void **state)
{
	(void)state;
	check_knob("--lock-model", "process", 400, 60, 140, "thread");
}

/* The device is a knob of its own: about one run in eight gets --device
 * non-powersafe (powersafe, run's default, is never passed); the user's
 * own --device overrides the draw. */
static void test_matrix_device(void **state)
{
	(void)state;
	check_knob("--device", "non-powersafe", 800, 60, 140, "powersafe");
}

/* A synthetic finished run: index, arguments (the matrix's), coverage. */
static void explore_result(struct nl_result *r, const struct nl_matrix *m, uint64_t index,
			   const uint32_t *points, uint32_t count)
{
	memset(r, 0, sizeof *r);
	r->kind = NL_KIND_RUN;
	r->index = (int64_t)index;
	nl_matrix_args(m, index, &r->args, &r->seed);
	r->coverage = count ? malloc(count * sizeof *points) : NULL;
	if (count)
		memcpy(r->coverage, points, count * sizeof *points);
	r->coverage_count = count;
}

/* A generation of 4 runs, ended in the order 3, 1, 0, 2: nothing is
 * folded (and generation 1 may not be drawn) until the last one ends;
 * then, in index order, run 0 (points 5, 9) joins, run 1 (point 9, which
 * run 0 reached) does not, run 2 (no points) does not, run 3 (point 7)
 * joins, though it ended first. */
static void test_explore_pool(void **state)
{
	(void)state;
	struct nl_matrix m;
	mx_init(&m);
	struct nl_explore e;
	nl_explore_init(&e, 4, 6);
	static const uint32_t p0[] = {5, 9}, p1[] = {9}, p3[] = {7};
	struct nl_result r[4];
	explore_result(&r[0], &m, 0, p0, 2);
	explore_result(&r[1], &m, 1, p1, 1);
	explore_result(&r[2], &m, 2, NULL, 0);
	explore_result(&r[3], &m, 3, p3, 1);
	assert_true(nl_explore_ready(&e, 3));
	assert_false(nl_explore_ready(&e, 4));
	static const int order[] = {3, 1, 0};
	for (size_t k = 0; k < 3; k++) {
		nl_explore_add(&e, &r[order[k]]);
		assert_int_equal(e.pool_count, 0);
		assert_false(nl_explore_ready(&e, 4));
	}
	nl_explore_add(&e, &r[2]);
	assert_true(nl_explore_ready(&e, 4));
	assert_int_equal(e.pool_count, 2);
	assert_int_equal(e.pool[0].index, 0);
	assert_int_equal(e.pool[0].new_points, 2);
	assert_int_equal(e.pool[1].index, 3);
	assert_int_equal(e.pool[1].new_points, 1);
	assert_true(nl_strv_equal(&e.pool[1].args, &r[3].args));
	/* The last generation is short (runs 4 and 5 of 6): it folds when
	 * its two runs are in. A run reaching only seen points stays out. */
	struct nl_result r4, r5;
	static const uint32_t p4[] = {5, 7}, p5[] = {1, 5};
	explore_result(&r4, &m, 4, p4, 2);
	explore_result(&r5, &m, 5, p5, 2);
	nl_explore_add(&e, &r5);
	nl_explore_add(&e, &r4);
	assert_int_equal(e.folded_generations, 2);
	assert_int_equal(e.pool_count, 3);
	assert_int_equal(e.pool[2].index, 5);
	for (size_t k = 0; k < 4; k++)
		nl_result_free(&r[k]);
	nl_result_free(&r4);
	nl_result_free(&r5);
	nl_explore_free(&e);
	mx_free(&m);
}

/* A mutation's parent is drawn by the rarity of the points it reached
 * first: member 1's point 2 stays rare (no later run reaches it), member
 * 0's point 1 is reached by every other run of the generation, so member
 * 1 is drawn far more often (drawn uniformly, the two would be even). */
static void test_explore_energy(void **state)
{
	(void)state;
	struct nl_matrix m;
	mx_init(&m);
	struct nl_explore e;
	nl_explore_init(&e, 512, 1024);
	for (uint64_t i = 0; i < 512; i++) {
		uint32_t point = i == 1 ? 2 : 1;
		struct nl_result r;
		explore_result(&r, &m, i, &point, 1);
		nl_explore_add(&e, &r);
		nl_result_free(&r);
	}
	assert_int_equal(e.pool_count, 2);
	uint32_t drawn[2] = {0, 0};
	for (uint64_t i = 512; i < 1024; i++) {
		struct nl_strv a = {0};
		uint64_t seed;
		int64_t parent;
		nl_explore_args(&m, &e, i, &a, &seed, &parent);
		if (parent >= 0) {
			assert_true(parent <= 1);
			drawn[parent]++;
		}
		nl_strv_free(&a);
	}
	assert_true(drawn[0] + drawn[1] > 200); /* 3 in 4 are mutations */
	assert_true(drawn[1] > 4 * drawn[0]);
	nl_explore_free(&e);
	mx_free(&m);
}

/* nl_explore_args: generation 0 is the matrix; later runs are a pure
 * function of (pool, index): drawn twice they agree; a mutation copies a
 * pool member of an earlier generation with a new --seed and keeps the
 * user's --txns; fresh rows are the matrix's run of the same index. */
static void test_explore_args(void **state)
{
	(void)state;
	struct nl_matrix m;
	mx_init(&m);
	struct nl_explore e;
	nl_explore_init(&e, 4, 100);
	for (uint64_t i = 0; i < 4; i++) {
		uint32_t point = (uint32_t)(10 + i);
		struct nl_strv a = {0}, b = {0};
		uint64_t sa, sb;
		int64_t parent;
		nl_explore_args(&m, &e, i, &a, &sa, &parent);
		nl_matrix_args(&m, i, &b, &sb);
		assert_int_equal(parent, -1);
		assert_true(nl_strv_equal(&a, &b));
		struct nl_result r;
		explore_result(&r, &m, i, &point, 1);
		nl_explore_add(&e, &r);
		nl_result_free(&r);
		nl_strv_free(&a);
		nl_strv_free(&b);
	}
	assert_int_equal(e.pool_count, 4);
	uint32_t mutations = 0;
	for (uint64_t i = 4; i < 8; i++) {
		struct nl_strv a = {0}, b = {0}, c = {0};
		uint64_t sa, sb, sc;
		int64_t pa, pb;
		nl_explore_args(&m, &e, i, &a, &sa, &pa);
		nl_explore_args(&m, &e, i, &b, &sb, &pb);
		assert_true(nl_strv_equal(&a, &b));
		assert_int_equal(pa, pb);
		assert_int_equal(sa, sb);
		assert_string_equal(arg_after(&a, "--txns"), "50");
		assert_string_equal(a.v[a.count - 1], "--json");
		if (pa >= 0) {
			mutations++;
			assert_true(pa < 4);
			nl_matrix_args(&m, (uint64_t)pa, &c, &sc);
			assert_true(sa != sc);
			assert_string_equal(arg_after(&a, "--workload"), arg_after(&c, "--workload"));
		} else {
			nl_matrix_args(&m, i, &c, &sc);
			assert_true(nl_strv_equal(&a, &c));
		}
		nl_strv_free(&a);
		nl_strv_free(&b);
		nl_strv_free(&c);
	}
	/* 3 in 4 are mutations: with this seed, some of the four. */
	assert_true(mutations > 0);
	nl_explore_free(&e);
	mx_free(&m);
}

/* nl_matrix_plan: on the linked SQLite every built-in runs (no table, no
 * pair), a workload needing a newer SQLite than any is refused, and a
 * --workload among the run flags stands for the list. */
static void test_matrix_plan(void **state)
{
	(void)state;
	struct nl_matrix m;
	memset(&m, 0, sizeof m);
	for (size_t k = 0; k < 3; k++)
		nl_strv_push(&m.workloads, mx_workloads[k]);
	struct nl_skips skips;
	char err[1024] = "";
	assert_int_equal(nl_matrix_plan(&m, &skips, err, sizeof err), 0);
	assert_null(m.cannot_run);
	assert_int_equal(skips.count, 0);
	nl_skips_free(&skips);

	char path[] = "/tmp/test_nightly_XXXXXX.sql";
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	const char text[] = "\\requires sqlite 3.99.0 a future feature\n\\transaction t\nSELECT 1;\n";
	assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	struct nl_matrix f;
	memset(&f, 0, sizeof f);
	nl_strv_push(&f.workloads, path);
	assert_int_equal(nl_matrix_plan(&f, &skips, err, sizeof err), -1);
	assert_non_null(strstr(err, "--workloads: none of them can run on the linked SQLite (SQLite "));
	assert_non_null(strstr(err, "needs 3.99.0"));
	assert_int_equal(skips.count, 0);
	nl_strv_push(&f.workloads, "bank");
	assert_int_equal(nl_matrix_plan(&f, &skips, err, sizeof err), 0);
	assert_non_null(f.cannot_run);
	assert_int_equal(f.cannot_run[0], 1);
	assert_int_equal(f.cannot_run[1], 0);
	assert_int_equal(skips.count, 1);
	assert_string_equal(skips.v[0].workload, path);
	assert_null(skips.v[0].include);
	assert_string_equal(skips.v[0].library, NL_TARGET_LINKED);
	assert_string_equal(skips.v[0].needs, "3.99.0");
	assert_string_equal(skips.v[0].reason, "a future feature");
	nl_skips_free(&skips);
	/* With the user's --workload, the drawn one is moot: no table. */
	nl_strv_push(&f.user_flags, "--workload");
	nl_strv_push(&f.user_flags, path);
	assert_int_equal(nl_matrix_plan(&f, &skips, err, sizeof err), -1);
	assert_non_null(strstr(err, "--: --workload "));
	assert_non_null(strstr(err, "needs SQLite 3.99.0 (a future feature)"));
	assert_null(f.cannot_run);
	unlink(path);
	nl_strv_free(&f.workloads);
	nl_strv_free(&f.user_flags);
	nl_strv_free(&m.workloads);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_label),
		cmocka_unit_test(test_expected_label),
		cmocka_unit_test(test_new_and_fallbacks),
		cmocka_unit_test(test_line_round_trip),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_matrix_requirements),
		cmocka_unit_test(test_matrix_plan),
		cmocka_unit_test(test_matrix_lock_model),
		cmocka_unit_test(test_matrix_device),
		cmocka_unit_test(test_explore_pool),
		cmocka_unit_test(test_explore_energy),
		cmocka_unit_test(test_explore_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
