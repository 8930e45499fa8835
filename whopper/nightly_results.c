/*
 * nightly_results.c - one finished run as a record: how a child's exit is
 * classified and given a failure signature, how a record is written to and
 * read back from results.jsonl, and how records fold into the aggregate the
 * reports are drawn from.
 *
 * Classification of a finished child (first rule that matches):
 *   killed after --run-timeout            -> hang   new      "hang"
 *   died by a signal                      -> crash  new      "crash:SIGSEGV:f1|f2|f3"
 *   a replay that exited 2 (refused)      -> pass   pass     stale: not a failure
 *   exit 0 with a JSON verdict but "fail" -> pass   expected "expected:REASON" when
 *                                                            triage says expected
 *                                                   (e.g. --faults bitflip), else pass
 *   exit 1, JSON verdict "fail"           -> fail   known    triage.signature
 *                                                            ("known:ID") when triage
 *                                                            says known
 *                                                   new      triage.signature
 *                                                            ("new:KINDS@FEATURES")
 *                                                   new      without a triage object:
 *                                                            "violation:KIND:TEMPLATES"
 *                                                            or "violation:KIND:workload=W"
 *   anything else (exit 3, no JSON, ...)  -> error  new      "error:exit=N:first stderr line"
 * A replay that exited 3 because its trace diverged from the recording
 * (the binary changed since) but printed its verdict is classified by that
 * verdict, as if it had exited 0 or 1, and marked diverged.
 *
 * The label comes from the child's JSON "triage" object (the triage
 * contract of `run --json`): "label", "signature", "known" (catalogued
 * findings, each with id, title, in_range), "expected" (reasons), and
 * "applicable" (the catalogue ids whose configuration the run had). A child
 * without one (an older whopper, an old corpus entry re-run) keeps the old
 * rule: every failure is new. Whatever ended the child abnormally (a crash,
 * a hang, an error exit) is new: nothing vouches for it.
 *
 * Signatures deduplicate failures across runs, so they must not carry
 * anything that changes from run to run or build to build: no seeds,
 * transaction numbers, addresses or offsets. For a checked run the child's
 * triage.signature is used as it is (the replay files and the shrinker use
 * the same one); without a triage object, the run's own "signature" with
 * "violation:" before it, or failing that KIND is the first violation not
 * marked "expected" and TEMPLATES its sorted statement templates when the
 * JSON lists them ("templates"). Crash frames are symbol names only (frames
 * without a symbol are skipped); digits in error lines become N.
 *
 * Invariants of a record: it has a signature exactly when its label is not
 * pass; a pass label comes only with a pass status.
 *
 * Invariants of the aggregate: a matrix index and a replay entry are each
 * folded in at most once (nl_agg_add refuses duplicates), every result
 * with a signature is counted in exactly one nl_sig, and every matrix run
 * in exactly one by_status and one by_label count.
 */
#include <errno.h>
#include <string.h>

#include "nightly_int.h"

/* ---------------------------------------------------------------------
 * Statuses and signals
 * ------------------------------------------------------------------- */

static const char *const status_names[NL_STATUS__COUNT] = {"pass", "fail", "hang", "crash",
							    "error"};

const char *nl_status_name(enum nl_status s)
{
	WH_ASSERT(s < NL_STATUS__COUNT);
	return status_names[s];
}

int nl_status_parse(const char *name)
{
	for (int i = 0; i < NL_STATUS__COUNT; i++)
		if (name && strcmp(name, status_names[i]) == 0)
			return i;
	return -1;
}

static void signal_name(int sig, char out[16])
{
	static const char *const names[] = {
		NULL,   "HUP",  "INT",  "QUIT", "ILL",  "TRAP", "ABRT", "BUS",
		"FPE",  "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
	};
	if (sig > 0 && (size_t)sig < sizeof names / sizeof names[0])
		snprintf(out, 16, "SIG%s", names[sig]);
	else
		snprintf(out, 16, "SIG%d", sig);
}

static const char *const label_names[NL_LABEL__COUNT] = {"pass", "new", "known", "expected"};

const char *nl_label_name(enum nl_label l)
{
	WH_ASSERT(l < NL_LABEL__COUNT);
	return label_names[l];
}

int nl_label_parse(const char *name)
{
	for (int i = 0; i < NL_LABEL__COUNT; i++)
		if (name && strcmp(name, label_names[i]) == 0)
			return i;
	return -1;
}

bool nl_label_worse(enum nl_label a, enum nl_label b)
{
	/* Severity by label: pass 0, expected 1, known 2, new 3. */
	static const int severity[NL_LABEL__COUNT] = {0, 3, 2, 1};
	WH_ASSERT(a < NL_LABEL__COUNT);
	WH_ASSERT(b < NL_LABEL__COUNT);
	return severity[a] > severity[b];
}

static const char *const outcome_names[NL_OUTCOME__COUNT] = {
	"still failing", "failing differently", "fixed", "stale"};
static const char *const outcome_keys[NL_OUTCOME__COUNT] = {
	"still_failing", "failing_differently", "fixed", "stale"};

const char *nl_outcome_name(enum nl_outcome o)
{
	WH_ASSERT(o < NL_OUTCOME__COUNT);
	return outcome_names[o];
}

const char *nl_outcome_key(enum nl_outcome o)
{
	WH_ASSERT(o < NL_OUTCOME__COUNT);
	return outcome_keys[o];
}

enum nl_outcome nl_outcome_of(bool stale, const char *signature, const char *expect)
{
	if (stale) {
		WH_ASSERT(signature == NULL); /* a refused replay did not run */
		return NL_OUTCOME_STALE;
	}
	if (signature == NULL)
		return NL_OUTCOME_FIXED;
	if (expect && strcmp(signature, expect) == 0)
		return NL_OUTCOME_STILL_FAILING;
	return NL_OUTCOME_CHANGED;
}

/* ---------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------- */

static void findings_free(struct nl_finding *f, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(f[i].id);
		free(f[i].title);
	}
	free(f);
}

static void finding_push(struct nl_result *r, const char *id, const char *title, bool in_range)
{
	WH_ASSERT(id != NULL);
	r->findings = wh_realloc(r->findings, (r->finding_count + 1) * sizeof *r->findings);
	r->findings[r->finding_count++] =
		(struct nl_finding){wh_strdup(id), wh_strdup(title ? title : ""), in_range};
}

void nl_result_free(struct nl_result *r)
{
	findings_free(r->findings, r->finding_count);
	nl_strv_free(&r->reasons);
	nl_strv_free(&r->applicable);
	free(r->entry);
	free(r->expect);
	free(r->replay_file);
	free(r->shard);
	nl_strv_free(&r->args);
	free(r->hook);
	free(r->signature);
	free(r->verdict);
	free(r->trace_hash);
	free(r->sqlite_version);
	free(r->sqlite_source_id);
	free(r->detail);
	nl_strv_free(&r->frames);
	free(r->coverage);
	memset(r, 0, sizeof *r);
}

static char *dup_or_null(const char *s)
{
	return s ? wh_strdup(s) : NULL;
}

void nl_result_copy(struct nl_result *dst, const struct nl_result *src)
{
	WH_ASSERT(dst != src);
	*dst = *src; /* scalars */
	dst->entry = dup_or_null(src->entry);
	dst->expect = dup_or_null(src->expect);
	dst->replay_file = dup_or_null(src->replay_file);
	dst->shard = dup_or_null(src->shard);
	nl_strv_copy(&dst->args, &src->args);
	dst->hook = dup_or_null(src->hook);
	dst->signature = dup_or_null(src->signature);
	dst->verdict = dup_or_null(src->verdict);
	dst->trace_hash = dup_or_null(src->trace_hash);
	dst->sqlite_version = dup_or_null(src->sqlite_version);
	dst->sqlite_source_id = dup_or_null(src->sqlite_source_id);
	dst->detail = dup_or_null(src->detail);
	nl_strv_copy(&dst->frames, &src->frames);
	dst->coverage = NULL;
	if (src->coverage_count > 0) {
		dst->coverage = wh_malloc(src->coverage_count * sizeof *dst->coverage);
		memcpy(dst->coverage, src->coverage, src->coverage_count * sizeof *dst->coverage);
	}
	dst->findings = NULL;
	dst->finding_count = 0;
	for (size_t i = 0; i < src->finding_count; i++)
		finding_push(dst, src->findings[i].id, src->findings[i].title,
			     src->findings[i].in_range);
	nl_strv_copy(&dst->reasons, &src->reasons);
	nl_strv_copy(&dst->applicable, &src->applicable);
}

static void write_str_or_null(FILE *f, const char *s)
{
	if (s)
		json_str(f, s);
	else
		fputs("null", f);
}

static void write_strv(FILE *f, const struct nl_strv *v)
{
	fputc('[', f);
	for (size_t i = 0; i < v->count; i++) {
		if (i)
			fputs(", ", f);
		json_str(f, v->v[i]);
	}
	fputc(']', f);
}

void nl_target_arg(FILE *f, const struct nl_result *r)
{
	/* The last one wins, as in the child's parsing. */
	const char *lib = NULL;
	for (size_t i = 0; i + 1 < r->args.count; i++)
		if (strcmp(r->args.v[i], "--target-lib") == 0)
			lib = r->args.v[i + 1];
	if (lib == NULL)
		return;
	fputs(" --target-lib ", f);
	nl_shell_arg(f, lib);
}

void nl_result_repro(FILE *f, const struct nl_result *r, const char *exe_display)
{
	if (r->replay_file) {
		nl_shell_arg(f, exe_display);
		fputs(" replay ", f);
		nl_shell_arg(f, r->replay_file);
		nl_target_arg(f, r);
		return;
	}
	if (r->hook) {
		fputs("WHOPPER_TEST_HOOK=", f);
		nl_shell_arg(f, r->hook);
		fputc(' ', f);
	}
	nl_shell_arg(f, exe_display);
	for (size_t i = 0; i < r->args.count; i++) {
		if (strcmp(r->args.v[i], "--json") == 0)
			continue; /* a person reading the repro wants the summary */
		fputc(' ', f);
		nl_shell_arg(f, r->args.v[i]);
	}
}

/* "findings": the catalogued findings the run showed. */
static void write_findings(FILE *f, const struct nl_result *r)
{
	fputs(", \"findings\": [", f);
	for (size_t i = 0; i < r->finding_count; i++) {
		fputs(i ? ", {\"id\": " : "{\"id\": ", f);
		json_str(f, r->findings[i].id);
		fputs(", \"title\": ", f);
		json_str(f, r->findings[i].title);
		fprintf(f, ", \"in_range\": %s}", r->findings[i].in_range ? "true" : "false");
	}
	fputc(']', f);
}

/* The members only a replay has: its entry, what it was kept for, its
 * file and what replaying it said. */
static void write_replay_members(FILE *f, const struct nl_result *r)
{
	WH_ASSERT(r->kind == NL_KIND_REPLAY);
	fputs(", \"entry\": ", f);
	json_str(f, r->entry);
	fputs(", \"expect\": ", f);
	write_str_or_null(f, r->expect);
	fputs(", \"replay_file\": ", f);
	write_str_or_null(f, r->replay_file);
	fprintf(f, ", \"outcome\": \"%s\", \"stale\": %s, \"diverged\": %s",
		nl_outcome_name(nl_outcome_of(r->stale, r->signature, r->expect)),
		r->stale ? "true" : "false", r->diverged ? "true" : "false");
}

/* "config": the configuration the run's arguments describe, for people
 * and scripts reading the file (the reader does not need it). */
static void write_config(FILE *f, const struct nl_strv *args)
{
	struct nl_config c;
	nl_config_from_args(args, &c);
	fputs(", \"config\": {\"workload\": ", f);
	json_str(f, c.workload);
	fputs(", \"journal\": ", f);
	json_str(f, c.journal);
	fputs(", \"synchronous\": ", f);
	json_str(f, c.synchronous);
	fputs(", \"connections\": ", f);
	json_str(f, c.connections);
	fputs(", \"scheduler\": ", f);
	json_str(f, c.scheduler);
	fputs(", \"txns\": ", f);
	json_str(f, c.txns);
	fputs(", \"faults\": ", f);
	json_str(f, c.faults);
	fputs(", \"target_lib\": ", f);
	write_str_or_null(f, c.target_lib);
	for (size_t p = 0; p < c.pragma_count; p++) {
		fputs(", ", f);
		json_str(f, c.pragma_names[p]);
		fputs(": ", f);
		write_str_or_null(f, c.pragma_values[p]);
	}
	fputc('}', f);
}

/* "repro": the command line that reproduces the run. */
static void write_repro(FILE *f, const struct nl_result *r)
{
	char *repro = NULL;
	size_t repro_len = 0;
	FILE *m = open_memstream(&repro, &repro_len);
	WH_ASSERT(m != NULL);
	nl_result_repro(m, r, nl_exe_display());
	fclose(m);
	fputs(", \"repro\": ", f);
	json_str(f, repro);
	free(repro);
}

void nl_result_write(FILE *f, const struct nl_result *r)
{
	WH_ASSERT(r->kind == NL_KIND_RUN || r->kind == NL_KIND_REPLAY);
	WH_ASSERT((r->label == NL_LABEL_PASS) == (r->signature == NULL));
	WH_ASSERT(r->label != NL_LABEL_PASS || r->status == NL_PASS);
	if (r->kind == NL_KIND_RUN)
		fprintf(f, "{\"kind\": \"run\", \"index\": %lld", (long long)r->index);
	else
		fputs("{\"kind\": \"replay\", \"index\": null", f);
	fprintf(f, ", \"seed\": %llu, \"status\": \"%s\", \"signature\": ",
		(unsigned long long)r->seed, nl_status_name(r->status));
	write_str_or_null(f, r->signature);
	fprintf(f, ", \"label\": \"%s\", \"in_corpus\": %s", nl_label_name(r->label),
		r->in_corpus ? "true" : "false");
	write_findings(f, r);
	fputs(", \"reasons\": ", f);
	write_strv(f, &r->reasons);
	fputs(", \"applicable\": ", f);
	write_strv(f, &r->applicable);
	if (r->kind == NL_KIND_REPLAY)
		write_replay_members(f, r);
	fputs(", \"shard\": ", f);
	write_str_or_null(f, r->shard);
	if (r->exit_code >= 0)
		fprintf(f, ", \"exit_code\": %d", r->exit_code);
	else
		fputs(", \"exit_code\": null", f);
	fprintf(f, ", \"signal\": %d, \"verdict\": ", r->term_signal);
	write_str_or_null(f, r->verdict);
	fputs(", \"trace_hash\": ", f);
	write_str_or_null(f, r->trace_hash);
	fputs(", \"sqlite_version\": ", f);
	write_str_or_null(f, r->sqlite_version);
	fputs(", \"sqlite_source_id\": ", f);
	write_str_or_null(f, r->sqlite_source_id);
	fprintf(f, ", \"cpu_s\": %.6f", r->cpu_s);
	fputs(", \"coverage\": [", f);
	for (uint32_t i = 0; i < r->coverage_count; i++)
		fprintf(f, "%s%u", i ? ", " : "", r->coverage[i]);
	fputs("]", f);
	/* Only for --explore mutations, so plain jobs' lines are unchanged. */
	if (r->mutation)
		fprintf(f, ", \"explore_parent\": %llu", (unsigned long long)r->parent);
	fprintf(f, ", \"violations\": %u, \"detail\": ", r->violation_count);
	write_str_or_null(f, r->detail);
	fputs(", \"frames\": ", f);
	write_strv(f, &r->frames);
	fprintf(f, ", \"run_s\": %.6f, \"started_at\": %.6f, \"finished_at\": %.6f", r->run_s,
		r->started_at, r->finished_at);
	write_config(f, &r->args);
	fputs(", \"hook\": ", f);
	write_str_or_null(f, r->hook);
	fputs(", \"args\": ", f);
	write_strv(f, &r->args);
	write_repro(f, r);
	fputs("}\n", f);
}

static char *json_dup(const struct nl_json *j, const char *key)
{
	return dup_or_null(nl_json_str(nl_json_get(j, key)));
}

static int read_strv(const struct nl_json *arr, struct nl_strv *out)
{
	if (arr == NULL || arr->type != NL_JSON_ARR)
		return -1;
	for (size_t i = 0; i < arr->count; i++) {
		const char *s = nl_json_str(&arr->items[i]);
		if (s == NULL)
			return -1;
		nl_strv_push(out, s);
	}
	return 0;
}

/* A string list that may be absent (lines of an older nightly), but not
 * malformed. 0 or -1. */
/* An array of interleaving points (ascending, below COVERAGE_POINTS)
 * into r; absent: none. 0, or -1 when it is malformed. */
static int read_coverage(const struct nl_json *arr, struct nl_result *r)
{
	r->coverage = NULL;
	r->coverage_count = 0;
	if (arr == NULL)
		return 0;
	if (arr->type != NL_JSON_ARR || arr->count > COVERAGE_POINTS)
		return -1;
	r->coverage = wh_malloc((arr->count ? arr->count : 1) * sizeof *r->coverage);
	for (size_t i = 0; i < arr->count; i++) {
		uint64_t v;
		if (!nl_json_u64(&arr->items[i], &v) || v >= COVERAGE_POINTS ||
		    (i > 0 && v <= r->coverage[i - 1]))
			return -1;
		r->coverage[r->coverage_count++] = (uint32_t)v;
	}
	return 0;
}

static int read_optional_strv(const struct nl_json *j, const char *key, struct nl_strv *out)
{
	return nl_json_get(j, key) ? read_strv(nl_json_get(j, key), out) : 0;
}

/* "kind", with the run's index or the replay's entry members. 0 or -1. */
static int read_kind(const struct nl_json *j, struct nl_result *r)
{
	const char *kind = nl_json_str(nl_json_get(j, "kind"));
	if (kind == NULL)
		return -1;
	if (strcmp(kind, "run") == 0) {
		r->kind = NL_KIND_RUN;
		if (!nl_json_i64(nl_json_get(j, "index"), &r->index) || r->index < 0)
			return -1;
	} else if (strcmp(kind, "replay") == 0) {
		r->kind = NL_KIND_REPLAY;
		r->index = -1;
		r->entry = json_dup(j, "entry");
		r->expect = json_dup(j, "expect");
		r->replay_file = json_dup(j, "replay_file");
		nl_json_bool(nl_json_get(j, "stale"), &r->stale);
		nl_json_bool(nl_json_get(j, "diverged"), &r->diverged);
		if (r->entry == NULL)
			return -1;
	} else {
		return -1;
	}
	return 0;
}

/* "signature" and "label", which must agree (a signature exactly when
 * the label is not pass, a pass label only with a pass status), and
 * "in_corpus". 0 or -1. */
static int read_label(const struct nl_json *j, struct nl_result *r)
{
	r->signature = json_dup(j, "signature");
	/* Lines of an older nightly have no label: their rule was that every
	 * failure is new, and "known" meant what "in_corpus" means now. */
	int label = nl_label_parse(nl_json_str(nl_json_get(j, "label")));
	if (nl_json_get(j, "label") == NULL)
		label = r->status == NL_PASS ? NL_LABEL_PASS : NL_LABEL_NEW;
	if (label < 0)
		return -1;
	r->label = (enum nl_label)label;
	if ((r->label == NL_LABEL_PASS) != (r->signature == NULL) ||
	    (r->label == NL_LABEL_PASS && r->status != NL_PASS) || (r->stale && r->signature))
		return -1;
	if (!nl_json_bool(nl_json_get(j, "in_corpus"), &r->in_corpus))
		nl_json_bool(nl_json_get(j, "known"), &r->in_corpus);
	return 0;
}

/* "findings", "reasons" and "applicable": the triage's lists. 0 or -1. */
static int read_triage_lists(const struct nl_json *j, struct nl_result *r)
{
	const struct nl_json *fs = nl_json_get(j, "findings");
	for (size_t i = 0; fs && fs->type == NL_JSON_ARR && i < fs->count; i++) {
		const char *id = nl_json_str(nl_json_get(&fs->items[i], "id"));
		bool in_range = false;
		nl_json_bool(nl_json_get(&fs->items[i], "in_range"), &in_range);
		if (id == NULL)
			return -1;
		finding_push(r, id, nl_json_str(nl_json_get(&fs->items[i], "title")), in_range);
	}
	if (read_optional_strv(j, "reasons", &r->reasons) != 0 ||
	    read_optional_strv(j, "applicable", &r->applicable) != 0)
		return -1;
	return 0;
}

int nl_result_read(const struct nl_json *j, struct nl_result *r)
{
	memset(r, 0, sizeof *r);
	int status = nl_status_parse(nl_json_str(nl_json_get(j, "status")));
	if (status < 0)
		return -1;
	r->status = (enum nl_status)status;
	if (read_kind(j, r) != 0 || !nl_json_u64(nl_json_get(j, "seed"), &r->seed) ||
	    read_strv(nl_json_get(j, "args"), &r->args) != 0 || read_label(j, r) != 0 ||
	    read_triage_lists(j, r) != 0)
		goto out_malformed;
	r->shard = json_dup(j, "shard");
	r->hook = json_dup(j, "hook");
	int64_t v;
	r->exit_code = nl_json_i64(nl_json_get(j, "exit_code"), &v) ? (int)v : -1;
	r->term_signal = nl_json_i64(nl_json_get(j, "signal"), &v) ? (int)v : 0;
	r->violation_count = nl_json_i64(nl_json_get(j, "violations"), &v) ? (uint32_t)v : 0;
	r->verdict = json_dup(j, "verdict");
	r->trace_hash = json_dup(j, "trace_hash");
	r->sqlite_version = json_dup(j, "sqlite_version");
	r->sqlite_source_id = json_dup(j, "sqlite_source_id");
	nl_json_num(nl_json_get(j, "cpu_s"), &r->cpu_s);
	if (read_coverage(nl_json_get(j, "coverage"), r) != 0)
		goto out_malformed;
	r->mutation = nl_json_u64(nl_json_get(j, "explore_parent"), &r->parent);
	r->detail = json_dup(j, "detail");
	if (read_optional_strv(j, "frames", &r->frames) != 0)
		goto out_malformed;
	nl_json_num(nl_json_get(j, "run_s"), &r->run_s);
	nl_json_num(nl_json_get(j, "started_at"), &r->started_at);
	nl_json_num(nl_json_get(j, "finished_at"), &r->finished_at);
	return 0;

out_malformed:
	nl_result_free(r);
	return -1;
}

/* ---------------------------------------------------------------------
 * Classifying a child
 * ------------------------------------------------------------------- */

/* Parse the child's stdout: the whole of it, else its last non-empty line
 * (a child might print something before its JSON). NULL if neither. */
static struct nl_json *parse_child_json(const char *text, size_t len)
{
	if (len == 0)
		return NULL;
	struct nl_json *j = nl_json_parse(text, len);
	if (j)
		return j;
	size_t end = len;
	while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' '))
		end--;
	size_t start = end;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	if (start == 0 || start == end)
		return NULL;
	return nl_json_parse(text + start, end - start);
}

static bool is_libc_module(const char *module)
{
	const char *base = strrchr(module, '/');
	base = base ? base + 1 : module;
	return strncmp(base, "libc.so", 7) == 0 || strncmp(base, "libc-", 5) == 0 ||
	       strncmp(base, "libpthread", 10) == 0 || strncmp(base, "ld-linux", 8) == 0;
}

/* Frames that say where a failure was reported, not where it happened. */
static bool is_reporting_frame(const char *name)
{
	return strncmp(name, "wh_assert_fail", 14) == 0 || strcmp(name, "__assert_fail") == 0 ||
	       strcmp(name, "abort") == 0;
}

static bool is_bottom_frame(const char *name)
{
	return strcmp(name, "main") == 0 || strcmp(name, "__libc_start_main") == 0 ||
	       strcmp(name, "__libc_start_call_main") == 0 || strcmp(name, "_start") == 0;
}

/* Frames printed by the crash handler after its "backtrace:" line, as
 * backtrace_symbols_fd writes them: "MODULE(SYMBOL+0xOFF) [0xADDR]" or
 * "MODULE(+0xOFF) [0xADDR]". The first two are the handler itself and the
 * kernel's signal trampoline; then libc frames of raise/abort/__assert_fail
 * are skipped too, so the top frame is the code that failed. Each kept
 * frame is its symbol, or "MODULE(+0xOFF)" (for the report only). */
static void parse_frames(const char *stderr_text, struct nl_strv *frames, struct nl_strv *named)
{
	const char *p = NULL;
	for (const char *q = stderr_text; (q = strstr(q, "backtrace:\n")) != NULL; q++)
		p = q + strlen("backtrace:\n"); /* the last backtrace wins */
	if (p == NULL)
		return;
	size_t line_no = 0;
	bool top = true;
	while (*p && frames->count < NL_BACKTRACE_KEEP) {
		size_t len = strcspn(p, "\n");
		char line[512];
		size_t n = len < sizeof line - 1 ? len : sizeof line - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		p += len + (p[len] == '\n');
		char *open = strchr(line, '(');
		char *close = open ? strchr(open, ')') : NULL;
		if (open == NULL || close == NULL)
			break; /* past the backtrace */
		if (line_no++ < 2)
			continue; /* crash handler, signal trampoline */
		*open = '\0';
		*close = '\0';
		const char *module = line, *sym = open + 1;
		char *plus = strchr(sym, '+');
		if (plus)
			*plus = '\0';
		if (top && is_libc_module(module))
			continue;
		top = false;
		const char *base = strrchr(module, '/');
		base = base ? base + 1 : module;
		if (*sym) {
			nl_strv_push(frames, sym);
			if (named->count < NL_FRAMES_MAX && !is_bottom_frame(sym) &&
			    !is_reporting_frame(sym))
				nl_strv_push(named, sym);
		} else {
			char buf[600];
			snprintf(buf, sizeof buf, "%s(+%s)", base, plus ? plus + 1 : "?");
			nl_strv_push(frames, buf);
		}
	}
}

/* First non-empty line of s, cut to max bytes (new string), or NULL. */
static char *first_line(const char *s, size_t max)
{
	while (*s == '\n' || *s == '\r' || *s == ' ')
		s++;
	if (*s == '\0')
		return NULL;
	size_t n = strcspn(s, "\r\n");
	char *line = wh_malloc(n + 1);
	memcpy(line, s, n);
	line[n] = '\0';
	char *cut = nl_strndup_utf8(line, max);
	free(line);
	return cut;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "violation:..." for a failed run. When `run --json` prints its own
 * "signature" (the one its replay files and the shrinker use), that is it.
 * Otherwise the same rule rebuilt from the violations: the first violation
 * not marked "expected", its kind, and the sorted distinct statement
 * templates it lists ("templates"), else the workload's name. */
static char *violation_signature(const struct nl_json *j, const struct nl_json *viol,
				 const char *workload)
{
	struct nl_buf sig = {0};
	const char *own = nl_json_str(nl_json_get(j, "signature"));
	if (own && *own) {
		nl_buf_printf(&sig, "violation:%s", own);
		return sig.data;
	}
	const struct nl_json *first = NULL;
	for (size_t i = 0; viol && i < viol->count && first == NULL; i++) {
		bool expected = false;
		nl_json_bool(nl_json_get(&viol->items[i], "expected"), &expected);
		if (!expected && nl_json_str(nl_json_get(&viol->items[i], "kind")))
			first = &viol->items[i];
	}
	const char *kind = first ? nl_json_str(nl_json_get(first, "kind")) : NULL;
	struct nl_strv tmpl = {0};
	const struct nl_json *t = nl_json_get(first, "templates");
	for (size_t k = 0; t && t->type == NL_JSON_ARR && k < t->count; k++)
		if (nl_json_str(&t->items[k]))
			nl_strv_push(&tmpl, nl_json_str(&t->items[k]));
	nl_buf_printf(&sig, "violation:%s:", kind ? kind : "unknown");
	if (tmpl.count == 0) {
		nl_buf_printf(&sig, "workload=%s", workload);
	} else {
		qsort(tmpl.v, tmpl.count, sizeof *tmpl.v, cmp_str);
		for (size_t i = 0; i < tmpl.count; i++) {
			if (i > 0 && strcmp(tmpl.v[i], tmpl.v[i - 1]) == 0)
				continue; /* sorted, so duplicates are adjacent */
			nl_buf_printf(&sig, "%s%s", i ? "," : "", tmpl.v[i]);
		}
	}
	nl_strv_free(&tmpl);
	return sig.data;
}

/* The child's "triage" object (see the top of this file): fills r's
 * findings, reasons and applicable ids, and returns the run label it
 * gives, or -1 when j has no usable triage object (an older child). */
static int read_triage(const struct nl_json *j, struct nl_result *r)
{
	WH_ASSERT(r->finding_count == 0 && r->reasons.count == 0);
	const struct nl_json *t = nl_json_get(j, "triage");
	if (t == NULL || t->type != NL_JSON_OBJ)
		return -1;
	int label = nl_label_parse(nl_json_str(nl_json_get(t, "label")));
	if (label < 0)
		return -1;
	const struct nl_json *known = nl_json_get(t, "known");
	for (size_t i = 0; known && known->type == NL_JSON_ARR && i < known->count; i++) {
		const char *id = nl_json_str(nl_json_get(&known->items[i], "id"));
		bool in_range = false;
		nl_json_bool(nl_json_get(&known->items[i], "in_range"), &in_range);
		if (id && *id)
			finding_push(r, id, nl_json_str(nl_json_get(&known->items[i], "title")),
				     in_range);
	}
	const struct nl_json *exp = nl_json_get(t, "expected");
	for (size_t i = 0; exp && exp->type == NL_JSON_ARR && i < exp->count; i++) {
		const char *reason = nl_json_str(nl_json_get(&exp->items[i], "reason"));
		if (reason && *reason)
			nl_strv_push(&r->reasons, reason);
	}
	/* Ids, or objects with an "id": either spelling is accepted. */
	const struct nl_json *app = nl_json_get(t, "applicable");
	for (size_t i = 0; app && app->type == NL_JSON_ARR && i < app->count; i++) {
		const char *id = nl_json_str(&app->items[i]);
		if (id == NULL)
			id = nl_json_str(nl_json_get(&app->items[i], "id"));
		if (id && *id)
			nl_strv_push(&r->applicable, id);
	}
	return label;
}

/* triage.signature, when the child gave a non-empty one (a new string). */
static char *triage_signature(const struct nl_json *j)
{
	const char *sig = nl_json_str(nl_json_get(nl_json_get(j, "triage"), "signature"));
	return sig && *sig ? wh_strdup(sig) : NULL;
}

/* "expected:R1+R2" from the reasons, sorted, for a child that said
 * expected but gave no signature. */
static char *expected_signature(const struct nl_strv *reasons)
{
	struct nl_strv sorted = {0};
	nl_strv_copy(&sorted, reasons);
	if (sorted.count > 1)
		qsort(sorted.v, sorted.count, sizeof *sorted.v, cmp_str);
	struct nl_buf b = {0};
	nl_buf_puts(&b, "expected:");
	for (size_t i = 0; i < sorted.count; i++)
		if (i == 0 || strcmp(sorted.v[i], sorted.v[i - 1]) != 0)
			nl_buf_printf(&b, "%s%s", i ? "+" : "", sorted.v[i]);
	if (sorted.count == 0)
		nl_buf_puts(&b, "unknown");
	nl_strv_free(&sorted);
	return b.data;
}

/* Detail of the first violation whose "label" (or, from an older child,
 * "expected" flag) says it is what the run's label is about, else of the
 * first one. */
static const char *first_detail(const struct nl_json *viol, enum nl_label label)
{
	for (size_t i = 0; viol && i < viol->count; i++) {
		const struct nl_json *v = &viol->items[i];
		int l = nl_label_parse(nl_json_str(nl_json_get(v, "label")));
		bool expected = false;
		nl_json_bool(nl_json_get(v, "expected"), &expected);
		if (l < 0)
			l = expected ? NL_LABEL_EXPECTED : NL_LABEL_NEW;
		if (l == (int)label && nl_json_str(nl_json_get(v, "detail")))
			return nl_json_str(nl_json_get(v, "detail"));
	}
	return viol && viol->count ? nl_json_str(nl_json_get(&viol->items[0], "detail")) : NULL;
}

/* What a finished child left to classify it by. */
struct child_exit {
	int64_t exit_status;         /* as judged: a diverged replay's is its verdict's */
	int term_signal;             /* 0 unless it died by a signal */
	bool timed_out;              /* killed by --run-timeout */
	const char *stderr_text;     /* its kept stderr */
	const struct nl_json *j;     /* its JSON result, or NULL */
	const char *verdict;         /* j's "verdict", or NULL */
	const struct nl_json *viol;  /* j's "violations" array, or NULL */
	const char *workload;        /* for signatures without templates */
};

/* A replay whose trace diverged from its recording (the binary changed
 * since) exits 3, but when it printed a checked verdict the run it led to
 * was checked all the same: true when that is the case. */
static bool replay_diverged(const struct nl_result *r, const struct child_exit *c)
{
	return r->kind == NL_KIND_REPLAY && !c->timed_out && !c->term_signal &&
	       c->exit_status == WH_EXIT_INTERNAL && c->verdict &&
	       (strcmp(c->verdict, "pass") == 0 || strcmp(c->verdict, "fail") == 0) &&
	       strstr(c->stderr_text, "replay diverged") != NULL;
}

/* Died by a signal: "crash:SIGNAME:f1|f2|f3" from the named frames, and a
 * detail with the top frame and what the child said before dying. */
static void classify_crash(struct nl_result *r, const struct child_exit *c,
			   const struct nl_strv *named)
{
	WH_ASSERT(c->term_signal != 0);
	char sig[16];
	signal_name(c->term_signal, sig);
	struct nl_buf b = {0};
	nl_buf_printf(&b, "crash:%s", sig);
	for (size_t i = 0; i < named->count; i++)
		nl_buf_printf(&b, "%c%s", i ? '|' : ':', named->v[i]);
	r->status = NL_CRASH;
	r->signature = b.data;
	struct nl_buf d = {0};
	nl_buf_printf(&d, "died by signal %d (%s)", c->term_signal, sig);
	if (r->frames.count)
		nl_buf_printf(&d, " in %s", r->frames.v[0]);
	/* What the child said before dying (an assertion's expression and
	 * place), unless it is the crash handler's own line. */
	char *line = first_line(c->stderr_text, NL_DETAIL_MAX);
	if (line && strncmp(line, "whopper: fatal signal", 21) != 0)
		nl_buf_printf(&d, ": %s", line);
	free(line);
	r->detail = d.data;
}

/* The child judged its run acceptable: "pass", or violations its
 * configuration excuses (bitflip without checksums...), which are
 * reported, but never fail the night. A child that exits 0 yet says new
 * or known breaks the contract (those exit 1); its exit status is
 * believed. */
static void classify_accepted(struct nl_result *r, const struct child_exit *c)
{
	r->status = NL_PASS;
	if (read_triage(c->j, r) != NL_LABEL_EXPECTED)
		return;
	r->label = NL_LABEL_EXPECTED;
	r->signature = triage_signature(c->j);
	if (r->signature == NULL)
		r->signature = expected_signature(&r->reasons);
	const char *d = first_detail(c->viol, NL_LABEL_EXPECTED);
	r->detail = nl_strndup_utf8(d ? d : "expected violations", NL_DETAIL_MAX);
}

/* A check failed (exit 1, verdict fail): known when the triage says so,
 * else new, under the triage's signature or one rebuilt from the
 * violations. */
static void classify_failed(struct nl_result *r, const struct child_exit *c)
{
	r->status = NL_FAIL;
	int label = read_triage(c->j, r);
	/* Only a triage object can excuse a failure; "expected" or "pass"
	 * with exit 1 contradict the contract and stay new. */
	r->label = label == NL_LABEL_KNOWN ? NL_LABEL_KNOWN : NL_LABEL_NEW;
	r->signature = label >= 0 ? triage_signature(c->j) : NULL;
	if (r->signature == NULL)
		r->signature = violation_signature(c->j, c->viol, c->workload);
	const char *d = first_detail(c->viol, r->label);
	r->detail = nl_strndup_utf8(d ? d : "verdict fail without violations", NL_DETAIL_MAX);
}

/* Anything else (exit 3, no JSON, an unexpected status):
 * "error:exit=N:first stderr line", with the line's numbers (pids, sizes,
 * positions, which vary run to run) as N. */
static void classify_error(struct nl_result *r, const struct child_exit *c)
{
	r->status = NL_ERROR;
	char *line = first_line(c->stderr_text, 160);
	struct nl_buf b = {0};
	nl_buf_printf(&b, "error:exit=%lld:", (long long)c->exit_status);
	bool in_digits = false;
	for (const char *p = line ? line : "no JSON result"; *p; p++) {
		bool digit = *p >= '0' && *p <= '9';
		if (digit && !in_digits)
			nl_buf_puts(&b, "N");
		else if (!digit)
			nl_buf_append(&b, p, 1);
		in_digits = digit;
	}
	r->signature = b.data;
	struct nl_buf d = {0};
	nl_buf_printf(&d, "exit status %lld%s%s", (long long)c->exit_status,
		      line ? ": " : " without a JSON result", line ? line : "");
	r->detail = d.data;
	free(line);
}

void nl_classify(struct nl_result *r, int64_t exit_status, int term_signal, bool timed_out,
		 const char *stdout_text, size_t stdout_len, const char *stderr_text,
		 const char *workload)
{
	WH_ASSERT(r->signature == NULL && r->detail == NULL);
	r->exit_code = term_signal ? -1 : (int)exit_status;
	r->term_signal = term_signal;
	struct nl_json *j = parse_child_json(stdout_text, stdout_len);
	struct child_exit c = {
		.exit_status = exit_status,
		.term_signal = term_signal,
		.timed_out = timed_out,
		.stderr_text = stderr_text,
		.j = j,
		.verdict = nl_json_str(nl_json_get(j, "verdict")),
		.viol = nl_json_get(j, "violations"),
		.workload = workload,
	};
	if (c.viol && c.viol->type != NL_JSON_ARR)
		c.viol = NULL;
	r->verdict = dup_or_null(c.verdict);
	r->trace_hash = dup_or_null(nl_json_str(nl_json_get(j, "trace_hash")));
	const struct nl_json *sqlite = nl_json_get(j, "sqlite");
	r->sqlite_version = dup_or_null(nl_json_str(nl_json_get(sqlite, "version")));
	r->sqlite_source_id = dup_or_null(nl_json_str(nl_json_get(sqlite, "source_id")));
	nl_json_num(nl_json_get(nl_json_get(j, "timing"), "cpu_s"), &r->cpu_s);
	/* A child too old or too broken to say: no points. */
	if (read_coverage(nl_json_get(nl_json_get(j, "coverage"), "reached"), r) != 0) {
		free(r->coverage);
		r->coverage = NULL;
		r->coverage_count = 0;
	}
	r->violation_count = c.viol ? (uint32_t)c.viol->count : 0;
	if (replay_diverged(r, &c)) {
		r->diverged = true;
		c.exit_status = strcmp(c.verdict, "pass") == 0 ? WH_EXIT_PASS : WH_EXIT_FINDING;
	}

	struct nl_strv named = {0};
	if (timed_out || term_signal)
		parse_frames(stderr_text, &r->frames, &named);
	if (timed_out) {
		r->status = NL_HANG;
		r->signature = wh_strdup("hang");
		r->detail = wh_strdup("no result within --run-timeout; killed");
	} else if (term_signal) {
		classify_crash(r, &c, &named);
	} else if (r->kind == NL_KIND_REPLAY && c.exit_status == WH_EXIT_USAGE) {
		/* Refused: recorded by another whopper or SQLite version, a
		 * changed workload, a corrupt file. Nothing was tested. */
		r->status = NL_PASS;
		r->stale = true;
		char *line = first_line(stderr_text, NL_DETAIL_MAX);
		r->detail = line ? line : wh_strdup("refused (exit status 2)");
	} else if (c.exit_status == WH_EXIT_PASS && c.verdict && strcmp(c.verdict, "fail") != 0 &&
		   strcmp(c.verdict, "error") != 0) {
		classify_accepted(r, &c);
	} else if (c.exit_status == WH_EXIT_FINDING && c.verdict && strcmp(c.verdict, "fail") == 0) {
		classify_failed(r, &c);
	} else {
		classify_error(r, &c);
	}
	if (r->status != NL_PASS && r->status != NL_FAIL)
		r->label = NL_LABEL_NEW; /* nothing vouches for a crash, hang or error */
	nl_strv_free(&named);
	nl_json_free(j);
	WH_ASSERT((r->label == NL_LABEL_PASS) == (r->signature == NULL));
	WH_ASSERT(r->label == NL_LABEL_PASS || r->label == NL_LABEL_EXPECTED ||
		  r->status != NL_PASS);
}

/* ---------------------------------------------------------------------
 * Aggregation
 * ------------------------------------------------------------------- */

#define GROW(arr, count, cap)                                                   \
	do {                                                                    \
		if ((count) == (cap)) {                                         \
			(cap) = (cap) ? (cap) * 2 : 16;                         \
			(arr) = wh_realloc((arr), (cap) * sizeof *(arr));       \
		}                                                               \
	} while (0)

static void tally(struct nl_tally **arr, size_t *count, size_t *cap, struct nl_map *index,
		  const char *key, enum nl_status s)
{
	uint32_t i;
	if (!nl_map_get(index, key, &i)) {
		GROW(*arr, *count, *cap);
		i = (uint32_t)*count;
		memset(&(*arr)[i], 0, sizeof (*arr)[i]);
		(*arr)[i].key = wh_strdup(key);
		(*count)++;
		nl_map_put(index, key, i);
	}
	WH_ASSERT(i < *count);
	(*arr)[i].by_status[s]++;
}

/* Does candidate make a better representative than current? Replays (the
 * corpus's own reproducer) first, then the lowest matrix index, so the
 * choice does not depend on the order in which parallel runs finished. */
static bool better_rep(const struct nl_result *candidate, const struct nl_result *current)
{
	if (candidate->kind != current->kind)
		return candidate->kind == NL_KIND_REPLAY;
	if (candidate->kind == NL_KIND_REPLAY)
		return strcmp(candidate->entry, current->entry) < 0;
	return candidate->index < current->index;
}

static int32_t add_signature(struct nl_agg *a, const struct nl_result *r)
{
	uint32_t i;
	if (!nl_map_get(&a->sig_index, r->signature, &i)) {
		GROW(a->sigs, a->sig_count, a->sig_cap);
		i = (uint32_t)a->sig_count++;
		struct nl_sig *s = &a->sigs[i];
		memset(s, 0, sizeof *s);
		s->signature = wh_strdup(r->signature);
		s->status = r->status;
		s->label = r->label;
		s->first_finished_at = r->finished_at;
		nl_result_copy(&s->rep, r);
		nl_map_put(&a->sig_index, r->signature, i);
	} else if (better_rep(r, &a->sigs[i].rep)) {
		nl_result_free(&a->sigs[i].rep);
		nl_result_copy(&a->sigs[i].rep, r);
	}
	struct nl_sig *s = &a->sigs[i];
	s->count++;
	if (nl_label_worse(r->label, s->label))
		s->label = r->label;
	/* A signature in the corpus was new on an earlier night, which was
	 * red then; it stays listed as new, but it does not redden this one. */
	s->is_new |= r->label == NL_LABEL_NEW && !r->in_corpus;
	WH_ASSERT(s->label != NL_LABEL_PASS);
	if (r->finished_at < s->first_finished_at)
		s->first_finished_at = r->finished_at;
	return (int32_t)i;
}

static struct nl_catalogue_tally *catalogue_entry(struct nl_agg *a, const char *id)
{
	uint32_t i;
	if (!nl_map_get(&a->catalogue_index, id, &i)) {
		GROW(a->catalogue, a->catalogue_count, a->catalogue_cap);
		i = (uint32_t)a->catalogue_count++;
		memset(&a->catalogue[i], 0, sizeof a->catalogue[i]);
		a->catalogue[i].id = wh_strdup(id);
		a->catalogue[i].title = wh_strdup("");
		nl_map_put(&a->catalogue_index, id, i);
	}
	WH_ASSERT(i < a->catalogue_count);
	return &a->catalogue[i];
}

/* Count, per catalogued finding, the matrix run r among those it applies
 * to, and among those that showed it. A finding a run showed counts as
 * applicable even if the run did not list it (a user's catalogue entry the
 * child cannot judge applicability for), so seen <= applicable always. */
static void tally_catalogue(struct nl_agg *a, const struct nl_result *r)
{
	for (size_t k = 0; k < r->finding_count; k++) {
		struct nl_catalogue_tally *c = catalogue_entry(a, r->findings[k].id);
		bool repeated = false;
		for (size_t m = 0; m < k && !repeated; m++)
			repeated = strcmp(r->findings[m].id, r->findings[k].id) == 0;
		if (repeated)
			continue;
		if (c->title[0] == '\0' && r->findings[k].title[0] != '\0') {
			free(c->title);
			c->title = wh_strdup(r->findings[k].title);
		}
		c->in_range = r->findings[k].in_range;
		c->applicable_runs++;
		c->seen_runs++;
	}
	for (size_t k = 0; k < r->applicable.count; k++) {
		bool counted = false;
		for (size_t m = 0; m < r->finding_count && !counted; m++)
			counted = strcmp(r->findings[m].id, r->applicable.v[k]) == 0;
		for (size_t m = 0; m < k && !counted; m++)
			counted = strcmp(r->applicable.v[m], r->applicable.v[k]) == 0;
		if (!counted)
			catalogue_entry(a, r->applicable.v[k])->applicable_runs++;
	}
}

bool nl_agg_add(struct nl_agg *a, const struct nl_result *r)
{
	uint32_t found;
	if (r->kind == NL_KIND_RUN) {
		WH_ASSERT(r->index >= 0);
		if (nl_bitset_test(&a->done, (uint64_t)r->index))
			return false;
		nl_bitset_set(&a->done, (uint64_t)r->index);
	} else {
		WH_ASSERT(r->entry != NULL);
		if (nl_map_get(&a->replay_index, r->entry, &found))
			return false;
		GROW(a->replays, a->replay_count, a->replay_cap);
		struct nl_replay_outcome *o = &a->replays[a->replay_count];
		o->entry = wh_strdup(r->entry);
		o->expect = dup_or_null(r->expect);
		o->status = r->status;
		o->signature = dup_or_null(r->signature);
		o->outcome = nl_outcome_of(r->stale, r->signature, r->expect);
		o->diverged = r->diverged;
		o->detail = r->stale ? dup_or_null(r->detail) : NULL;
		nl_map_put(&a->replay_index, r->entry, (uint32_t)a->replay_count);
		a->replay_count++;
	}
	if (r->kind == NL_KIND_RUN && r->mutation)
		a->mutation_runs++;
	for (uint32_t i = 0; i < r->coverage_count; i++) {
		if (!nl_bitset_test(&a->coverage, r->coverage[i])) {
			nl_bitset_set(&a->coverage, r->coverage[i]);
			a->coverage_points++;
		}
	}
	int32_t sig_id = r->signature ? add_signature(a, r) : -1;
	if (a->first_started_at == 0 || (r->started_at > 0 && r->started_at < a->first_started_at))
		a->first_started_at = r->started_at;
	if (r->finished_at > a->last_finished_at)
		a->last_finished_at = r->finished_at;
	if (r->kind == NL_KIND_REPLAY)
		return true;

	a->run_count++;
	a->by_status[r->status]++;
	a->by_label[r->label]++;
	nl_targets_add(&a->targets, r, sig_id);
	tally_catalogue(a, r);
	struct nl_config c;
	nl_config_from_args(&r->args, &c);
	struct nl_buf key = {0};
	nl_config_key(&c, &key);
	tally(&a->configs, &a->config_count, &a->config_cap, &a->config_index, key.data,
	      r->status);
	const char *dims[][2] = {
		{"workload", c.workload},       {"journal", c.journal},
		{"synchronous", c.synchronous}, {"scheduler", c.scheduler},
		{"connections", c.connections}, {"txns", c.txns},
		{"faults", c.faults},
	};
	for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
		key.len = 0;
		nl_buf_printf(&key, "%s=%s", dims[d][0], dims[d][1]);
		tally(&a->dims, &a->dim_count, &a->dim_cap, &a->dim_index, key.data, r->status);
	}
	for (size_t p = 0; p < c.pragma_count; p++) {
		key.len = 0;
		nl_buf_printf(&key, "%s=%s", c.pragma_names[p],
			      c.pragma_values[p] ? c.pragma_values[p] : "default");
		tally(&a->dims, &a->dim_count, &a->dim_cap, &a->dim_index, key.data, r->status);
	}
	nl_buf_free(&key);
	GROW(a->points, a->point_count, a->point_cap);
	a->points[a->point_count++] = (struct nl_point){r->finished_at, sig_id};
	return true;
}

bool nl_agg_would_represent(const struct nl_agg *a, const struct nl_result *r)
{
	if (r->signature == NULL)
		return false;
	uint32_t i;
	if (!nl_map_get(&a->sig_index, r->signature, &i))
		return true;
	WH_ASSERT(i < a->sig_count);
	return better_rep(r, &a->sigs[i].rep);
}

void nl_agg_outcome_counts(const struct nl_agg *a, size_t counts[NL_OUTCOME__COUNT])
{
	for (int o = 0; o < NL_OUTCOME__COUNT; o++)
		counts[o] = 0;
	for (size_t i = 0; i < a->replay_count; i++) {
		WH_ASSERT(a->replays[i].outcome < NL_OUTCOME__COUNT);
		counts[a->replays[i].outcome]++;
	}
}

void nl_sig_repro(FILE *f, const struct nl_sig *s, const char *exe_display)
{
	if (s->recording == NULL) {
		nl_result_repro(f, &s->rep, exe_display);
		return;
	}
	nl_shell_arg(f, exe_display);
	fputs(" replay ", f);
	nl_shell_arg(f, s->recording);
	nl_target_arg(f, &s->rep);
}

uint64_t nl_agg_new_count(const struct nl_agg *a)
{
	uint64_t n = 0;
	for (size_t i = 0; i < a->sig_count; i++)
		n += a->sigs[i].is_new;
	return n;
}

void nl_agg_free(struct nl_agg *a)
{
	for (size_t i = 0; i < a->sig_count; i++) {
		free(a->sigs[i].signature);
		nl_result_free(&a->sigs[i].rep);
		free(a->sigs[i].recording);
		free(a->sigs[i].shrunk);
		free(a->sigs[i].shrink_note);
	}
	free(a->sigs);
	for (size_t i = 0; i < a->config_count; i++)
		free(a->configs[i].key);
	free(a->configs);
	for (size_t i = 0; i < a->dim_count; i++)
		free(a->dims[i].key);
	free(a->dims);
	for (size_t i = 0; i < a->replay_count; i++) {
		free(a->replays[i].entry);
		free(a->replays[i].expect);
		free(a->replays[i].signature);
		free(a->replays[i].detail);
	}
	free(a->replays);
	for (size_t i = 0; i < a->catalogue_count; i++) {
		free(a->catalogue[i].id);
		free(a->catalogue[i].title);
	}
	free(a->catalogue);
	nl_map_free(&a->catalogue_index);
	free(a->points);
	nl_map_free(&a->sig_index);
	nl_map_free(&a->config_index);
	nl_map_free(&a->dim_index);
	nl_map_free(&a->replay_index);
	nl_targets_free(&a->targets);
	nl_bitset_free(&a->done);
	nl_bitset_free(&a->coverage);
	memset(a, 0, sizeof *a);
}

/* ---------------------------------------------------------------------
 * Reading results.jsonl back
 * ------------------------------------------------------------------- */

int nl_results_load(const char *path, struct nl_agg *agg, off_t *valid_len,
		    void (*each_line)(void *ctx, const struct nl_result *r, off_t offset,
				      size_t len),
		    void *ctx)
{
	*valid_len = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "whopper: nightly: cannot read '%s': %s\n", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	off_t offset = 0;
	int rc = 0;
	for (size_t line_no = 1; (n = getline(&line, &cap, f)) > 0; line_no++) {
		if (line[n - 1] != '\n')
			break; /* cut short by a kill mid-write: not a result */
		if ((size_t)n > NL_LINE_MAX) {
			fprintf(stderr, "whopper: nightly: %s:%zu: line too long\n", path, line_no);
			rc = -1;
			break;
		}
		struct nl_json *j = nl_json_parse(line, (size_t)n - 1);
		struct nl_result r;
		if (j == NULL || nl_result_read(j, &r) != 0) {
			nl_json_free(j);
			fprintf(stderr, "whopper: nightly: %s:%zu: malformed result line\n", path,
				line_no);
			rc = -1;
			break;
		}
		nl_json_free(j);
		if (!nl_agg_add(agg, &r)) {
			if (r.kind == NL_KIND_RUN)
				fprintf(stderr, "whopper: nightly: %s:%zu: run %lld appears twice (overlapping shards?)\n",
					path, line_no, (long long)r.index);
			else
				fprintf(stderr, "whopper: nightly: %s:%zu: replay of %s appears twice\n",
					path, line_no, r.entry);
			nl_result_free(&r);
			rc = -2;
			break;
		}
		if (each_line)
			each_line(ctx, &r, offset, (size_t)n);
		nl_result_free(&r);
		offset += n;
		*valid_len = offset;
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "whopper: nightly: cannot read '%s': %s\n", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}
