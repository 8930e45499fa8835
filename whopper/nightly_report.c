/*
 * nightly_report.c - the three reports of a nightly job, drawn from the
 * aggregate of its results: summary.json (for machines), junit.xml (for CI
 * test views) and report.html (for people: a static page, no network, CSS
 * and SVG inline).
 *
 * Per signature the reports give its repro command (`whopper replay FILE`
 * when a replay file was kept for it, else the run's command line) and,
 * when it was shrunk, the shrunk replay command; report.html also shows the
 * shrunk MIN.sql (escaped, in a <pre>) and the swimlane MIN.svg (an <img>
 * with a base64 data: URI, so the picture's markup cannot interact with the
 * page, and the page stays one self-contained file). Files too large to
 * inline (NL_INLINE_SQL_MAX, NL_INLINE_SVG_MAX) are linked by relative path
 * instead. Corpus replays are listed with their outcome; stale ones (the
 * replay was refused) are junit "skipped" test cases, not failures.
 *
 * Every report is written to a temporary file and renamed into place
 * (nl_write_atomic), so a reader sees the previous version or the new one,
 * never half of one. Text that came from children (violation details,
 * frames, signatures, the shrunk SQL) is untrusted: it goes through json_str
 * or nl_xml_text so the documents stay well-formed whatever a child printed.
 *
 * Signatures are shown by label (nl_sig_rank): new failures first, with
 * everything needed to chase them (repro, detail, backtrace, shrunk SQL and
 * swimlane); then new ones kept in the corpus by an earlier night; then
 * known SQLite findings (runs, catalogue id, title, whether the SQLite
 * tested is in the versions recorded for it); then expected ones (runs,
 * reason). Known and expected failures are junit "skipped" test cases, as
 * test runners report expected failures, so they never turn a CI view red,
 * just as they never change the exit status. Each catalogued finding the
 * night's configurations applied to is listed as "seen in K of N applicable
 * runs" or "not seen in N applicable runs": a known bug that stops showing
 * is news, if not a failure.
 *
 * Ordering, so two reports of the same results are identical: signatures
 * by rank, then by count (descending), then by name; catalogued findings
 * by id; configurations by failures (descending), then by key; dimension
 * values by name, numbers in numeric order.
 */
#include <errno.h>
#include <string.h>

#include "nightly_int.h"

/* ---------------------------------------------------------------------
 * Ordering
 * ------------------------------------------------------------------- */

int nl_sig_rank(const struct nl_sig *s)
{
	WH_ASSERT(s->label != NL_LABEL_PASS);
	WH_ASSERT(!s->is_new || s->label == NL_LABEL_NEW);
	switch (s->label) {
	case NL_LABEL_NEW:
		return s->is_new ? 0 : 1;
	case NL_LABEL_KNOWN:
		return 2;
	case NL_LABEL_EXPECTED:
	case NL_LABEL_PASS:
	case NL_LABEL__COUNT:
		break;
	}
	return 3;
}

static int cmp_sig(const void *pa, const void *pb, void *ctx)
{
	const struct nl_sig *a = &((const struct nl_sig *)ctx)[*(const size_t *)pa];
	const struct nl_sig *b = &((const struct nl_sig *)ctx)[*(const size_t *)pb];
	int ra = nl_sig_rank(a), rb = nl_sig_rank(b);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->signature, b->signature);
}

static uint64_t failures_of(const struct nl_tally *t)
{
	uint64_t n = 0;
	for (int s = NL_FAIL; s < NL_STATUS__COUNT; s++)
		n += t->by_status[s];
	return n;
}

static uint64_t runs_of(const struct nl_tally *t)
{
	return t->by_status[NL_PASS] + failures_of(t);
}

static int cmp_config(const void *pa, const void *pb, void *ctx)
{
	const struct nl_tally *a = &((const struct nl_tally *)ctx)[*(const size_t *)pa];
	const struct nl_tally *b = &((const struct nl_tally *)ctx)[*(const size_t *)pb];
	uint64_t fa = failures_of(a), fb = failures_of(b);
	if (fa != fb)
		return fa > fb ? -1 : 1;
	return strcmp(a->key, b->key);
}

static bool is_integer(const char *s, size_t n)
{
	size_t i = s[0] == '-' ? 1 : 0;
	if (i == n)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "dimension=value" keys: by dimension, then value (numbers numerically). */
static int cmp_dim(const void *pa, const void *pb, void *ctx)
{
	const char *a = ((const struct nl_tally *)ctx)[*(const size_t *)pa].key;
	const char *b = ((const struct nl_tally *)ctx)[*(const size_t *)pb].key;
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");
	int c = strncmp(a, b, la < lb ? la : lb);
	if (c != 0 || la != lb)
		return c != 0 ? c : (la < lb ? -1 : 1);
	const char *va = a + la + (a[la] == '='), *vb = b + lb + (b[lb] == '=');
	if (is_integer(va, strlen(va)) && is_integer(vb, strlen(vb))) {
		long long x = strtoll(va, NULL, 10), y = strtoll(vb, NULL, 10);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return strcmp(va, vb);
}

static size_t *sorted_order(size_t n, const void *base,
			    int (*cmp)(const void *, const void *, void *))
{
	size_t *order = wh_malloc((n ? n : 1) * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof *order, cmp, (void *)base);
	return order;
}

static int cmp_catalogue(const void *pa, const void *pb, void *ctx)
{
	const struct nl_catalogue_tally *c = ctx;
	return strcmp(c[*(const size_t *)pa].id, c[*(const size_t *)pb].id);
}

struct report_ctx {
	const struct nl_agg *a;
	const struct nl_job_info *info;
	size_t *sig_order;
	size_t *config_order;
	size_t *dim_order;
	size_t *catalogue_order;
};

void nl_catalogue_note(const struct nl_catalogue_tally *c, char *out, size_t size)
{
	WH_ASSERT(c->seen_runs <= c->applicable_runs);
	if (c->seen_runs > 0)
		snprintf(out, size, "seen in %llu of %llu applicable run%s",
			 (unsigned long long)c->seen_runs, (unsigned long long)c->applicable_runs,
			 c->applicable_runs == 1 ? "" : "s");
	else
		snprintf(out, size, "not seen in %llu applicable run%s",
			 (unsigned long long)c->applicable_runs, c->applicable_runs == 1 ? "" : "s");
}

/* Child-given text: escaped for XML/HTML, or as it is for the console. */
static void put_text(FILE *f, const char *s, bool xml)
{
	if (xml)
		nl_xml_text(f, s);
	else
		fputs(s, f);
}

/* What a known or expected signature is about: "ID: title (in or outside
 * the recorded version range)" per catalogued finding, or the reasons,
 * joined by "; ". Nothing for a new one. */
static void sig_about(FILE *f, const struct nl_sig *s, bool xml)
{
	if (s->label == NL_LABEL_KNOWN) {
		for (size_t i = 0; i < s->rep.finding_count; i++) {
			const struct nl_finding *fi = &s->rep.findings[i];
			fputs(i ? "; " : "", f);
			put_text(f, fi->id, xml);
			fputs(fi->title[0] ? ": " : "", f);
			put_text(f, fi->title, xml);
			fputs(fi->in_range ? " (in the recorded version range)"
					   : " (outside the recorded version range)",
			      f);
		}
	} else if (s->label == NL_LABEL_EXPECTED) {
		for (size_t i = 0; i < s->rep.reasons.count; i++) {
			fputs(i ? "; " : "", f);
			put_text(f, s->rep.reasons.v[i], xml);
		}
	}
}

void nl_budget_line(FILE *f, const struct nl_budget *b)
{
	double over_s = b->wall_s - b->time_s;
	if (over_s <= 0)
		fprintf(f, "within --time %.0f s (took %.1f s)", b->time_s, b->wall_s);
	else
		fprintf(f, "took %.1f s, %.1f s past --time %.0f s", b->wall_s, over_s, b->time_s);
	for (size_t i = 0; i < b->late->count; i++)
		fprintf(f, "%s%s", i ? "; " : ": ", b->late->v[i]);
	if (over_s > 0 && b->late->count == 0)
		fputs(": the job's own work after its last child (corpus, reports)", f);
	if (b->killed->count)
		fprintf(f, "; %zu run%s in flight when the runs' time was up killed, not counted",
			b->killed->count, b->killed->count == 1 ? "" : "s");
}

void nl_sig_about(FILE *f, const struct nl_sig *s)
{
	sig_about(f, s, false);
}

void nl_print_totals(FILE *f, const struct nl_agg *a)
{
	size_t *order = sorted_order(a->catalogue_count, a->catalogue, cmp_catalogue);
	for (size_t k = 0; k < a->catalogue_count; k++) {
		const struct nl_catalogue_tally *c = &a->catalogue[order[k]];
		char note[96];
		nl_catalogue_note(c, note, sizeof note);
		fprintf(f, "  catalogued %s: %s%s%s\n", c->id, note, c->title[0] ? " -- " : "",
			c->title);
	}
	free(order);
	nl_targets_console(f, a);
	fprintf(f, "  coverage: %llu of %d interleaving points reached (a call made while another connection was parked in a call on the same file)\n",
		(unsigned long long)a->coverage_points, COVERAGE_POINTS);
	if (a->mutation_runs > 0)
		fprintf(f, "  explore: %llu of %llu runs were mutations of runs that reached new coverage\n",
			(unsigned long long)a->mutation_runs, (unsigned long long)a->run_count);
	fprintf(f, "  totals: %llu runs: %llu pass, %llu known, %llu expected, %llu new; %llu new signature%s\n",
		(unsigned long long)a->run_count, (unsigned long long)a->by_label[NL_LABEL_PASS],
		(unsigned long long)a->by_label[NL_LABEL_KNOWN],
		(unsigned long long)a->by_label[NL_LABEL_EXPECTED],
		(unsigned long long)a->by_label[NL_LABEL_NEW],
		(unsigned long long)nl_agg_new_count(a), nl_agg_new_count(a) == 1 ? "" : "s");
}

static void repro_of(FILE *f, const struct nl_sig *s, const struct nl_job_info *info)
{
	nl_sig_repro(f, s, info->exe_display);
}

/* "EXE replay SHRUNK" for a shrunk signature. */
static void shrunk_repro_of(FILE *f, const struct nl_sig *s, const struct nl_job_info *info)
{
	WH_ASSERT(s->shrunk != NULL);
	nl_shell_arg(f, info->exe_display);
	fputs(" replay ", f);
	nl_shell_arg(f, s->shrunk);
	nl_target_arg(f, &s->rep);
}

/* A command printed by fn into a new string (free it). */
static char *command_string(void (*fn)(FILE *, const struct nl_sig *, const struct nl_job_info *),
			    const struct nl_sig *s, const struct nl_job_info *info)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	WH_ASSERT(m != NULL);
	fn(m, s, info);
	fclose(m);
	WH_ASSERT(text != NULL);
	return text;
}

/* nl_budget_line into a new string (free it). */
static char *budget_text(const struct nl_budget *b)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	WH_ASSERT(m != NULL);
	nl_budget_line(m, b);
	fclose(m);
	WH_ASSERT(text != NULL);
	return text;
}

static size_t stale_count(const struct nl_agg *a)
{
	size_t counts[NL_OUTCOME__COUNT];
	nl_agg_outcome_counts(a, counts);
	return counts[NL_OUTCOME_STALE];
}

/* ---------------------------------------------------------------------
 * summary.json
 * ------------------------------------------------------------------- */

static void json_tally(FILE *f, const struct nl_tally *t)
{
	fprintf(f, "{\"runs\": %llu", (unsigned long long)runs_of(t));
	for (int s = 0; s < NL_STATUS__COUNT; s++)
		fprintf(f, ", \"%s\": %llu", nl_status_name((enum nl_status)s),
			(unsigned long long)t->by_status[s]);
	fputc('}', f);
}

/* A JSON array of strings on one line: ["a", "b"]. */
static void json_str_list(FILE *f, const struct nl_strv *v)
{
	fputc('[', f);
	for (size_t i = 0; i < v->count; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, v->v[i]);
	}
	fputc(']', f);
}

static void json_str_or_null(FILE *f, const char *s)
{
	if (s)
		json_str(f, s);
	else
		fputs("null", f);
}

/* The job's parameters and how it ended: the opening members. */
static void summary_job(FILE *f, const struct nl_agg *a, const struct nl_job_info *info)
{
	char started[32], finished[32];
	nl_iso8601(a->first_started_at, started);
	nl_iso8601(a->last_finished_at, finished);
	fprintf(f, "{\n  \"base_seed\": %llu,\n  \"shard\": ", (unsigned long long)info->base_seed);
	json_str(f, info->shard);
	fputs(",\n  \"sqlite\": ", f);
	if (info->target)
		cli_target_json(f, info->target);
	else
		fputs("null", f);
	fprintf(f, ",\n  \"mode\": \"%s\",\n  \"runs_planned\": %llu,\n  \"time_s\": %.3f,\n",
		info->mode, (unsigned long long)info->runs_planned, info->time_s);
	/* The pool is known only to the job that explored (a merge: 0). */
	fprintf(f, "  \"explore\": %s,\n  \"explore_pool\": %zu,\n", info->explore ? "true" : "false",
		info->explore_pool);
	fprintf(f, "  \"stop_reason\": \"%s\",\n  \"complete\": %s,\n  \"exit_code\": %d,\n",
		info->stop_reason, info->complete ? "true" : "false", info->exit_code);
	fprintf(f, "  \"wall_s\": %.3f,\n  \"started_at\": \"%s\",\n  \"finished_at\": \"%s\",\n",
		info->wall_s, started, finished);
}

/* How a --time job kept to its budget, with the line people read. */
static void summary_budget(FILE *f, const struct nl_budget *b)
{
	double over_s = b->wall_s - b->time_s;
	fprintf(f, "  \"budget\": {\"time_s\": %.3f, \"wall_s\": %.3f, \"over_s\": %.3f, \"within\": %s, \"shrink_reserve_s\": %.3f, \"killed_not_counted\": ",
		b->time_s, b->wall_s, over_s > 0 ? over_s : 0.0, over_s > 0 ? "false" : "true",
		b->reserve_s);
	json_str_list(f, b->killed);
	fputs(", \"late\": ", f);
	json_str_list(f, b->late);
	fputs(", \"text\": ", f);
	char *text = budget_text(b);
	json_str(f, text);
	free(text);
	fputs("},\n", f);
}

/* Runs by label (what the night is judged by), then by how the children
 * ended. */
static void summary_totals(FILE *f, const struct nl_agg *a)
{
	fprintf(f, "  \"totals\": {\"runs\": %llu", (unsigned long long)a->run_count);
	for (int l = 0; l < NL_LABEL__COUNT; l++)
		fprintf(f, ", \"%s\": %llu", nl_label_name((enum nl_label)l),
			(unsigned long long)a->by_label[l]);
	fprintf(f, ", \"signatures\": %zu, \"new_signatures\": %llu, \"coverage_points\": %llu, \"explore_mutations\": %llu, \"status\": {",
		a->sig_count, (unsigned long long)nl_agg_new_count(a),
		(unsigned long long)a->coverage_points, (unsigned long long)a->mutation_runs);
	for (int s = 0; s < NL_STATUS__COUNT; s++)
		fprintf(f, "%s\"%s\": %llu", s ? ", " : "", nl_status_name((enum nl_status)s),
			(unsigned long long)a->by_status[s]);
	fputs("}},\n", f);
}

static void summary_catalogue(FILE *f, const struct report_ctx *ctx)
{
	const struct nl_agg *a = ctx->a;
	fputs("  \"catalogue\": [", f);
	for (size_t k = 0; k < a->catalogue_count; k++) {
		const struct nl_catalogue_tally *c = &a->catalogue[ctx->catalogue_order[k]];
		char note[96];
		nl_catalogue_note(c, note, sizeof note);
		fputs(k ? ",\n    {\"id\": " : "\n    {\"id\": ", f);
		json_str(f, c->id);
		fputs(", \"title\": ", f);
		json_str(f, c->title);
		fprintf(f, ", \"applicable_runs\": %llu, \"seen_runs\": %llu, \"seen\": %s, \"note\": \"%s\"}",
			(unsigned long long)c->applicable_runs, (unsigned long long)c->seen_runs,
			c->seen_runs ? "true" : "false", note);
	}
	fputs(a->catalogue_count ? "\n  ],\n" : "],\n", f);
}

static void summary_replays(FILE *f, const struct nl_agg *a)
{
	size_t counts[NL_OUTCOME__COUNT];
	nl_agg_outcome_counts(a, counts);
	fprintf(f, "  \"replays\": {\"total\": %zu", a->replay_count);
	for (int k = 0; k < NL_OUTCOME__COUNT; k++)
		fprintf(f, ", \"%s\": %zu", nl_outcome_key((enum nl_outcome)k), counts[k]);
	fputs(", \"entries\": [", f);
	for (size_t i = 0; i < a->replay_count; i++) {
		const struct nl_replay_outcome *o = &a->replays[i];
		fputs(i ? ",\n    {\"entry\": " : "\n    {\"entry\": ", f);
		json_str(f, o->entry);
		fputs(", \"expect\": ", f);
		json_str(f, o->expect ? o->expect : "");
		fprintf(f, ", \"outcome\": \"%s\", \"status\": \"%s\", \"diverged\": %s, \"signature\": ",
			nl_outcome_name(o->outcome), nl_status_name(o->status),
			o->diverged ? "true" : "false");
		json_str_or_null(f, o->signature);
		if (o->detail) {
			fputs(", \"detail\": ", f);
			json_str(f, o->detail);
		}
		fputc('}', f);
	}
	fputs(a->replay_count ? "\n  ]},\n" : "]},\n", f);
}

/* What excuses a signature: the catalogued findings of a known one, the
 * reasons of an expected one (both lists are present, empty otherwise). */
static void summary_sig_excuses(FILE *f, const struct nl_sig *s)
{
	fputs(", \"findings\": [", f);
	for (size_t i = 0; s->label == NL_LABEL_KNOWN && i < s->rep.finding_count; i++) {
		const struct nl_finding *fi = &s->rep.findings[i];
		fputs(i ? ", {\"id\": " : "{\"id\": ", f);
		json_str(f, fi->id);
		fputs(", \"title\": ", f);
		json_str(f, fi->title);
		fprintf(f, ", \"in_range\": %s}", fi->in_range ? "true" : "false");
	}
	fputs("], \"reasons\": ", f);
	if (s->label == NL_LABEL_EXPECTED)
		json_str_list(f, &s->rep.reasons);
	else
		fputs("[]", f);
}

/* The shrunk replay file of a signature, the SQL and picture beside it,
 * and the command that replays it. */
static void summary_sig_shrunk(FILE *f, const struct nl_sig *s, const struct nl_job_info *info)
{
	WH_ASSERT(s->shrunk != NULL);
	struct nl_buf sql = {0}, svg = {0};
	nl_sibling_path(s->shrunk, ".sql", &sql);
	nl_sibling_path(s->shrunk, ".svg", &svg);
	fputs("{\"replay_file\": ", f);
	json_str(f, s->shrunk);
	fputs(", \"sql\": ", f);
	json_str(f, sql.data);
	fputs(", \"svg\": ", f);
	json_str(f, svg.data);
	fputs(", \"repro\": ", f);
	char *cmd = command_string(shrunk_repro_of, s, info);
	json_str(f, cmd);
	free(cmd);
	fputc('}', f);
	nl_buf_free(&sql);
	nl_buf_free(&svg);
}

/* One element of "signatures"; k is its place in the list. */
static void summary_sig(FILE *f, const struct nl_sig *s, size_t k, const struct nl_job_info *info)
{
	fputs(k ? ",\n    {\"signature\": " : "\n    {\"signature\": ", f);
	json_str(f, s->signature);
	fprintf(f, ", \"label\": \"%s\", \"status\": \"%s\", \"count\": %llu, \"new\": %s",
		nl_label_name(s->label), nl_status_name(s->status), (unsigned long long)s->count,
		s->is_new ? "true" : "false");
	summary_sig_excuses(f, s);
	if (s->rep.kind == NL_KIND_RUN)
		fprintf(f, ", \"first_index\": %lld", (long long)s->rep.index);
	else {
		fputs(", \"corpus_entry\": ", f);
		json_str(f, s->rep.entry);
	}
	fprintf(f, ", \"seed\": %llu, \"repro\": ", (unsigned long long)s->rep.seed);
	char *repro = command_string(repro_of, s, info);
	json_str(f, repro);
	free(repro);
	fputs(", \"replay_file\": ", f);
	json_str_or_null(f, s->recording ? s->recording : s->rep.replay_file);
	fputs(", \"detail\": ", f);
	json_str(f, s->rep.detail ? s->rep.detail : "");
	fputs(", \"frames\": ", f);
	json_str_list(f, &s->rep.frames);
	fputs(", \"shrunk\": ", f);
	if (s->shrunk)
		summary_sig_shrunk(f, s, info);
	else
		fputs("null", f);
	fputs(", \"shrink_note\": ", f);
	json_str_or_null(f, s->shrink_note);
	fputc('}', f);
}

static void summary_by_config(FILE *f, const struct report_ctx *ctx)
{
	const struct nl_agg *a = ctx->a;
	fputs("  \"by_config\": {", f);
	for (size_t k = 0; k < a->config_count; k++) {
		const struct nl_tally *t = &a->configs[ctx->config_order[k]];
		fputs(k ? ",\n    " : "\n    ", f);
		json_str(f, t->key);
		fputs(": ", f);
		json_tally(f, t);
	}
	fputs(a->config_count ? "\n  },\n" : "},\n", f);
}

/* "by_dimension": the "dimension=value" tallies as one object per
 * dimension; dim_order keeps a dimension's values together, so an object
 * opens whenever the dimension changes. Closes the document. */
static void summary_by_dimension(FILE *f, const struct report_ctx *ctx)
{
	const struct nl_agg *a = ctx->a;
	fputs("  \"by_dimension\": {", f);
	const char *open_dim = NULL;
	size_t open_len = 0;
	for (size_t k = 0; k < a->dim_count; k++) {
		const struct nl_tally *t = &a->dims[ctx->dim_order[k]];
		size_t dl = strcspn(t->key, "=");
		if (open_dim == NULL || dl != open_len || strncmp(open_dim, t->key, dl) != 0) {
			fputs(open_dim ? "},\n    \"" : "\n    \"", f);
			fwrite(t->key, 1, dl, f); /* dimension names are ours: plain ASCII */
			fputs("\": {", f);
			open_dim = t->key;
			open_len = dl;
		} else {
			fputs(", ", f);
		}
		json_str(f, t->key + dl + (t->key[dl] == '='));
		fputs(": ", f);
		json_tally(f, t);
	}
	fputs(open_dim ? "}\n  }\n}\n" : "}\n}\n", f);
}

/* "skipped": the (workload, target) pairs \requires changed: a workload
 * never drawn for a target (include null), or run there without an
 * include. null when not known (a merge whose libraries do not load). */
static void summary_skips(FILE *f, const struct nl_skips *skips)
{
	fputs("  \"skipped\": ", f);
	if (skips == NULL) {
		fputs("null,\n", f);
		return;
	}
	fputc('[', f);
	for (size_t i = 0; i < skips->count; i++) {
		const struct nl_skip *x = &skips->v[i];
		fputs(i ? ",\n    {\"workload\": " : "\n    {\"workload\": ", f);
		json_str(f, x->workload);
		fputs(", \"include\": ", f);
		json_str_or_null(f, x->include);
		fputs(", \"library\": ", f);
		json_str(f, x->library);
		fputs(", \"sqlite_version\": ", f);
		json_str(f, x->version);
		fputs(", \"needs\": ", f);
		json_str(f, x->needs);
		fputs(", \"reason\": ", f);
		json_str(f, x->reason);
		fputs(", \"declared_at\": ", f);
		json_str(f, x->declared_at);
		fputc('}', f);
	}
	fputs(skips->count ? "\n  ],\n" : "],\n", f);
}

static int fill_summary(FILE *f, void *vctx)
{
	const struct report_ctx *ctx = vctx;
	const struct nl_agg *a = ctx->a;
	const struct nl_job_info *info = ctx->info;
	summary_job(f, a, info);
	fputs("  \"targets\": ", f);
	nl_targets_json(f, a, ctx->sig_order);
	fputs(",\n", f);
	summary_skips(f, info->skips);
	if (info->budget)
		summary_budget(f, info->budget);
	if (info->merged_from) {
		fputs("  \"merged_from\": ", f);
		json_str_list(f, info->merged_from);
		fputs(",\n", f);
	}
	summary_totals(f, a);
	summary_catalogue(f, ctx);
	summary_replays(f, a);
	fputs("  \"signatures\": [", f);
	for (size_t k = 0; k < a->sig_count; k++)
		summary_sig(f, &a->sigs[ctx->sig_order[k]], k, info);
	fputs(a->sig_count ? "\n  ],\n" : "],\n", f);
	summary_by_config(f, ctx);
	summary_by_dimension(f, ctx);
	return 0;
}

/* ---------------------------------------------------------------------
 * junit.xml
 * ------------------------------------------------------------------- */

static bool is_error_status(enum nl_status s)
{
	return s == NL_HANG || s == NL_CRASH || s == NL_ERROR;
}

/* The counts junit's two opening elements carry. One test case per
 * signature, one for the passing runs, one per stale corpus entry. */
struct junit_counts {
	size_t tests;    /* test cases in all */
	size_t failures; /* new signatures that failed a check */
	size_t errors;   /* new signatures that hung, crashed or erred */
	size_t skipped;  /* known and expected signatures, stale entries */
	uint64_t passes; /* passing matrix runs and corpus replays now fixed */
};

static void junit_count(const struct nl_agg *a, struct junit_counts *c)
{
	size_t excused = 0;
	*c = (struct junit_counts){0};
	for (size_t i = 0; i < a->sig_count; i++) {
		if (a->sigs[i].label != NL_LABEL_NEW)
			excused++;
		else if (is_error_status(a->sigs[i].status))
			c->errors++;
		else
			c->failures++;
	}
	c->skipped = stale_count(a) + excused;
	c->tests = a->sig_count + 1 + stale_count(a);
	c->passes = a->by_label[NL_LABEL_PASS];
	for (size_t i = 0; i < a->replay_count; i++)
		c->passes += a->replays[i].outcome == NL_OUTCOME_FIXED;
	WH_ASSERT(c->failures + c->errors + excused == a->sig_count);
}

/* The opening elements, the job's properties and the one test case that
 * stands for every passing run. */
static void junit_head(FILE *f, const struct nl_agg *a, const struct nl_job_info *info,
		       const struct junit_counts *c)
{
	char started[32];
	nl_iso8601(a->first_started_at, started);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<testsuites name=\"whopper nightly\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
		c->tests, c->failures, c->errors, c->skipped, info->wall_s);
	fprintf(f, "  <testsuite name=\"whopper.nightly\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\" timestamp=\"%s\">\n",
		c->tests, c->failures, c->errors, c->skipped, info->wall_s, started);
	fprintf(f, "    <properties>\n      <property name=\"base_seed\" value=\"%llu\"/>\n",
		(unsigned long long)info->base_seed);
	fputs("      <property name=\"shard\" value=\"", f);
	nl_xml_text(f, info->shard);
	fprintf(f, "\"/>\n      <property name=\"stop_reason\" value=\"%s\"/>\n",
		info->stop_reason);
	if (info->target) {
		char target[1024];
		cli_target_describe(info->target, target, sizeof target);
		fputs("      <property name=\"sqlite\" value=\"", f);
		nl_xml_text(f, target);
		fputs("\"/>\n", f);
	}
	fputs("    </properties>\n", f);
	fprintf(f, "    <testcase classname=\"whopper.nightly\" name=\"passing runs\" time=\"%.3f\">\n",
		info->wall_s);
	fprintf(f, "      <system-out>%llu runs passed (%llu matrix runs, %llu corpus replays now fixed)</system-out>\n    </testcase>\n",
		(unsigned long long)c->passes, (unsigned long long)a->by_label[NL_LABEL_PASS],
		(unsigned long long)(c->passes - a->by_label[NL_LABEL_PASS]));
}

/* A signature's <testcase> tag: classed by its label when excused, by its
 * status when new, and named by the signature. */
static void junit_case_open(FILE *f, const struct nl_sig *s)
{
	bool excuse = s->label != NL_LABEL_NEW;
	fprintf(f, "    <testcase classname=\"whopper.nightly.%s\" name=\"",
		excuse ? nl_label_name(s->label) : nl_status_name(s->status));
	nl_xml_text(f, s->signature);
	fprintf(f, "\" time=\"%.3f\">\n", s->rep.run_s);
}

/* A known or expected signature: a skipped test case, with what excuses
 * it. */
static void junit_excused_case(FILE *f, const struct nl_sig *s, const struct nl_job_info *info)
{
	WH_ASSERT(s->label != NL_LABEL_NEW);
	junit_case_open(f, s);
	fprintf(f, "      <skipped type=\"%s\" message=\"%s: %llu run%s; ", nl_label_name(s->label),
		nl_label_name(s->label), (unsigned long long)s->count, s->count == 1 ? "" : "s");
	sig_about(f, s, true);
	fputs("\">repro: ", f);
	char *repro = command_string(repro_of, s, info);
	nl_xml_text(f, repro);
	free(repro);
	fputs("</skipped>\n    </testcase>\n", f);
}

/* A new signature: a failure (or an error, for a hang, crash or error)
 * whose text holds the repro commands, the detail and the backtrace. */
static void junit_failure_case(FILE *f, const struct nl_sig *s, const struct nl_job_info *info)
{
	WH_ASSERT(s->label == NL_LABEL_NEW);
	const char *tag = is_error_status(s->status) ? "error" : "failure";
	junit_case_open(f, s);
	fprintf(f, "      <%s type=\"%s\" message=\"", tag, nl_status_name(s->status));
	fprintf(f, "%s: %llu run%s; ", s->is_new ? "new" : "new, in the corpus",
		(unsigned long long)s->count, s->count == 1 ? "" : "s");
	if (s->rep.kind == NL_KIND_RUN)
		fprintf(f, "first at index %lld, seed %llu", (long long)s->rep.index,
			(unsigned long long)s->rep.seed);
	else {
		fputs("corpus entry ", f);
		nl_xml_text(f, s->rep.entry);
	}
	fputs("\">repro: ", f);
	char *repro = command_string(repro_of, s, info);
	nl_xml_text(f, repro);
	free(repro);
	fputs("\n", f);
	if (s->shrunk) {
		char *cmd = command_string(shrunk_repro_of, s, info);
		fputs("shrunk: ", f);
		nl_xml_text(f, cmd);
		fputs("\n", f);
		free(cmd);
	}
	nl_xml_text(f, s->rep.detail);
	for (size_t i = 0; i < s->rep.frames.count; i++) {
		fputs("\n  at ", f);
		nl_xml_text(f, s->rep.frames.v[i]);
	}
	fprintf(f, "</%s>\n    </testcase>\n", tag);
}

/* Stale corpus entries (the replay was refused): skipped test cases. */
static void junit_stale_cases(FILE *f, const struct nl_agg *a)
{
	for (size_t i = 0; i < a->replay_count; i++) {
		const struct nl_replay_outcome *o = &a->replays[i];
		if (o->outcome != NL_OUTCOME_STALE)
			continue;
		fputs("    <testcase classname=\"whopper.nightly.corpus\" name=\"", f);
		nl_xml_text(f, o->entry);
		fputs("\" time=\"0\">\n      <skipped message=\"stale corpus entry: ", f);
		nl_xml_text(f, o->detail ? o->detail : "replay refused");
		fputs("\"/>\n    </testcase>\n", f);
	}
}

static int fill_junit(FILE *f, void *vctx)
{
	const struct report_ctx *ctx = vctx;
	const struct nl_agg *a = ctx->a;
	struct junit_counts counts;
	junit_count(a, &counts);
	junit_head(f, a, ctx->info, &counts);
	for (size_t k = 0; k < a->sig_count; k++) {
		const struct nl_sig *s = &a->sigs[ctx->sig_order[k]];
		if (s->label != NL_LABEL_NEW)
			junit_excused_case(f, s, ctx->info);
		else
			junit_failure_case(f, s, ctx->info);
	}
	junit_stale_cases(f, a);
	fputs("  </testsuite>\n</testsuites>\n", f);
	return 0;
}

/* ---------------------------------------------------------------------
 * report.html
 * ------------------------------------------------------------------- */

static int cmp_point(const void *pa, const void *pb)
{
	const struct nl_point *a = pa, *b = pb;
	if (a->finished_at != b->finished_at)
		return a->finished_at < b->finished_at ? -1 : 1;
	return a->sig_id - b->sig_id;
}

#define PLOT_W 640
#define PLOT_H 180
#define PLOT_BINS 48
#define PAD_L 56
#define PAD_R 16
#define PAD_T 24
#define PAD_B 34

/* One line chart: ys over xs (seconds since the start), both >= 0. */
static void svg_chart(FILE *f, const char *title, const char *y_unit, const double *xs,
		      const double *ys, size_t n, double x_max, const char *color, bool steps)
{
	double y_max = 0;
	for (size_t i = 0; i < n; i++)
		y_max = ys[i] > y_max ? ys[i] : y_max;
	if (y_max <= 0)
		y_max = 1;
	if (x_max <= 0)
		x_max = 1;
	double w = PLOT_W - PAD_L - PAD_R, h = PLOT_H - PAD_T - PAD_B;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
		PLOT_W, PLOT_H, PLOT_W, PLOT_H);
	fprintf(f, "<title>%s</title>\n", title);
	fprintf(f, "<text x=\"%d\" y=\"16\" class=\"t\">%s</text>\n", PAD_L, title);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>\n", PAD_L,
		PAD_T, PAD_L, PLOT_H - PAD_B);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>\n", PAD_L,
		PLOT_H - PAD_B, PLOT_W - PAD_R, PLOT_H - PAD_B);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"l\" text-anchor=\"end\">%.3g</text>\n",
		PAD_L - 4, PAD_T + 4, y_max);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"l\" text-anchor=\"end\">0</text>\n",
		PAD_L - 4, PLOT_H - PAD_B);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"l\" text-anchor=\"end\">%s</text>\n",
		PAD_L - 4, PAD_T + 16, y_unit);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"l\">0 s</text>\n", PAD_L,
		PLOT_H - PAD_B + 14);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"l\" text-anchor=\"end\">%.1f s</text>\n",
		PLOT_W - PAD_R, PLOT_H - PAD_B + 14, x_max);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"l\" text-anchor=\"middle\">time since the job began</text>\n",
		PAD_L + (int)(w / 2), PLOT_H - 4);
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
	double prev_y = PLOT_H - PAD_B;
	for (size_t i = 0; i < n; i++) {
		double x = PAD_L + w * (xs[i] / x_max);
		double y = PLOT_H - PAD_B - h * (ys[i] / y_max);
		if (steps && i > 0)
			fprintf(f, "%.1f,%.1f ", x, prev_y);
		fprintf(f, "%.1f,%.1f ", x, y);
		prev_y = y;
	}
	fputs("\"/>\n</svg>\n", f);
}

static void html_plots(FILE *f, const struct nl_agg *a)
{
	size_t n = a->point_count;
	if (n == 0) {
		fputs("<p>No matrix runs yet.</p>\n", f);
		return;
	}
	struct nl_point *pts = wh_malloc(n * sizeof *pts);
	memcpy(pts, a->points, n * sizeof *pts);
	qsort(pts, n, sizeof *pts, cmp_point); /* merged shards interleave */
	double t0 = a->first_started_at > 0 ? a->first_started_at : pts[0].finished_at;
	double span = pts[n - 1].finished_at - t0;
	if (span <= 0)
		span = 1e-3;
	/* About ten runs per bin at least, so the rate is not mostly noise. */
	size_t bin_count = n / 10;
	bin_count = bin_count < 4 ? 4 : bin_count > PLOT_BINS ? PLOT_BINS : bin_count;
	double bin_w = span / (double)bin_count;
	double xs[PLOT_BINS], rate[PLOT_BINS];
	size_t bins[PLOT_BINS] = {0};
	for (size_t i = 0; i < n; i++) {
		double t = pts[i].finished_at - t0;
		size_t b = t <= 0 ? 0 : (size_t)(t / bin_w);
		bins[b < bin_count ? b : bin_count - 1]++;
	}
	for (size_t b = 0; b < bin_count; b++) {
		xs[b] = ((double)b + 0.5) * bin_w;
		rate[b] = (double)bins[b] / bin_w;
	}
	svg_chart(f, "Throughput", "runs/s", xs, rate, bin_count, span, "#2b6cb0", false);

	/* Cumulative findings: distinct signatures first seen by time t. */
	double *fx = wh_malloc((n + 2) * sizeof *fx), *fy = wh_malloc((n + 2) * sizeof *fy);
	bool *seen = wh_calloc(a->sig_count ? a->sig_count : 1, sizeof *seen);
	size_t m = 0, distinct = 0;
	fx[m] = 0;
	fy[m++] = 0;
	for (size_t i = 0; i < n; i++) {
		int32_t s = pts[i].sig_id;
		if (s < 0 || seen[s])
			continue;
		seen[s] = true;
		distinct++;
		fx[m] = pts[i].finished_at - t0;
		fy[m++] = (double)distinct;
	}
	fx[m] = span;
	fy[m] = (double)distinct;
	m++;
	svg_chart(f, "Cumulative findings (distinct signatures)", "found", fx, fy, m, span,
		  "#c53030", true);
	free(seen);
	free(fx);
	free(fy);
	free(pts);
}

static void html_tally_row(FILE *f, const char *label, const struct nl_tally *t)
{
	fputs("<tr><td><code>", f);
	nl_xml_text(f, label);
	fprintf(f, "</code></td><td>%llu</td>", (unsigned long long)runs_of(t));
	for (int s = 0; s < NL_STATUS__COUNT; s++)
		fprintf(f, "<td%s>%llu</td>", s != NL_PASS && t->by_status[s] ? " class=\"bad\"" : "",
			(unsigned long long)t->by_status[s]);
	fputs("</tr>\n", f);
}

static void html_tally_head(FILE *f, const char *first)
{
	fprintf(f, "<table><tr><th>%s</th><th>runs</th>", first);
	for (int s = 0; s < NL_STATUS__COUNT; s++)
		fprintf(f, "<th>%s</th>", nl_status_name((enum nl_status)s));
	fputs("</tr>\n", f);
}

/* MIN.sql of a shrunk signature, escaped in a <pre>; too large or
 * unreadable: its path. */
static void html_shrunk_sql(FILE *f, const struct nl_sig *s)
{
	struct nl_buf path = {0};
	nl_sibling_path(s->shrunk, ".sql", &path);
	size_t len;
	char *sql = nl_read_file(path.data, NL_INLINE_SQL_MAX, &len);
	int read_errno = errno;
	fputs("<details open><summary>Shrunk SQL <code>", f);
	nl_xml_text(f, path.data);
	fputs("</code></summary>\n", f);
	if (sql) {
		fputs("<pre class=\"sql\">", f);
		nl_xml_text(f, sql); /* a NUL inside cuts it short: fine for a view */
		fputs("</pre>\n", f);
	} else {
		fprintf(f, "<p>Not inlined: %s.</p>\n",
			read_errno == EFBIG ? "larger than the inline limit" : strerror(read_errno));
	}
	fputs("</details>\n", f);
	free(sql);
	nl_buf_free(&path);
}

/* MIN.svg of a shrunk signature as an <img> with a data: URI (base64, so
 * nothing in it needs escaping and none of its markup reaches the page). */
static void html_shrunk_svg(FILE *f, const struct nl_sig *s)
{
	struct nl_buf path = {0};
	nl_sibling_path(s->shrunk, ".svg", &path);
	size_t len;
	char *svg = nl_read_file(path.data, NL_INLINE_SVG_MAX, &len);
	int read_errno = errno;
	fputs("<p>Swimlane <code>", f);
	nl_xml_text(f, path.data);
	fputs("</code>:</p>\n", f);
	if (svg) {
		fputs("<img class=\"swimlane\" alt=\"swimlane picture of the shrunk run: one lane per connection, time downward\" src=\"data:image/svg+xml;base64,",
		      f);
		nl_base64(f, (const unsigned char *)svg, len);
		fputs("\">\n", f);
	} else {
		fprintf(f, "<p>Not inlined: %s.</p>\n",
			read_errno == EFBIG ? "larger than the inline limit" : strerror(read_errno));
	}
	free(svg);
	nl_buf_free(&path);
}

/* The known (or expected) signatures, which come next in sig_order from
 * *k on: one table row each (runs, what excuses it, the signature, its
 * repro), *k moved past them. */
static void html_excused(FILE *f, const struct report_ctx *ctx, size_t *k, enum nl_label label)
{
	const struct nl_agg *a = ctx->a;
	WH_ASSERT(label == NL_LABEL_KNOWN || label == NL_LABEL_EXPECTED);
	bool known = label == NL_LABEL_KNOWN;
	fprintf(f, "<h2>%s</h2>\n", known ? "Known SQLite findings" : "Expected failures");
	if (*k == a->sig_count || a->sigs[ctx->sig_order[*k]].label != label) {
		fputs("<p>None.</p>\n", f);
		return;
	}
	fprintf(f, "<p>%s</p>\n<table><tr><th>runs</th><th>%s</th><th>signature</th><th>reproduce</th></tr>\n",
		known ? "In the catalogue of known findings: counted, not shrunk, never a reason to fail the night."
		      : "The configuration makes SQLite promise less: counted, not shrunk, never a reason to fail the night.",
		known ? "catalogue id: title (version range)" : "reason");
	for (; *k < a->sig_count && a->sigs[ctx->sig_order[*k]].label == label; (*k)++) {
		const struct nl_sig *s = &a->sigs[ctx->sig_order[*k]];
		fprintf(f, "<tr><td>%llu</td><td>", (unsigned long long)s->count);
		sig_about(f, s, true);
		fputs("</td><td><code>", f);
		nl_xml_text(f, s->signature);
		fputs("</code></td><td><code>", f);
		char *repro = command_string(repro_of, s, ctx->info);
		nl_xml_text(f, repro);
		free(repro);
		fputs("</code></td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* Each catalogued finding the night's runs applied to, seen or not. */
static void html_catalogue(FILE *f, const struct report_ctx *ctx)
{
	const struct nl_agg *a = ctx->a;
	fputs("<h2>Catalogued findings over the night</h2>\n", f);
	if (a->catalogue_count == 0) {
		fputs("<p>No run applied to a catalogued finding (or the runs said nothing about the catalogue).</p>\n",
		      f);
		return;
	}
	fputs("<p>A known finding that stops showing where it applies is news (a fixed or changed SQLite, or a lost detection), though it does not fail the night.</p>\n"
	      "<table><tr><th>catalogue id</th><th>title</th><th>this night</th></tr>\n",
	      f);
	for (size_t i = 0; i < a->catalogue_count; i++) {
		const struct nl_catalogue_tally *c = &a->catalogue[ctx->catalogue_order[i]];
		char note[96];
		nl_catalogue_note(c, note, sizeof note);
		fputs("<tr><td><code>", f);
		nl_xml_text(f, c->id);
		fputs("</code></td><td>", f);
		nl_xml_text(f, c->title);
		fprintf(f, "</td><td%s>%s</td></tr>\n", c->seen_runs ? "" : " class=\"bad\"", note);
	}
	fputs("</table>\n", f);
}

/* The document's head, with the page's only (inline) style sheet. */
static void html_head(FILE *f, const struct nl_job_info *info)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", f);
	fprintf(f, "<title>whopper nightly, base seed %llu</title>\n",
		(unsigned long long)info->base_seed);
	fputs("<style>\n"
	      "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1a202c;max-width:72em}\n"
	      "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #cbd5e0}\n"
	      "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #cbd5e0;padding:.2em .6em;text-align:left;vertical-align:top}\n"
	      "th{background:#edf2f7}.bad{color:#c53030;font-weight:600}.ok{color:#2f855a;font-weight:600}\n"
	      "code,pre{font:12px/1.3 ui-monospace,monospace}pre{white-space:pre-wrap;background:#f7fafc;padding:.4em;margin:.2em 0}\n"
	      ".badge{display:inline-block;padding:0 .4em;border-radius:3px;color:#fff;background:#718096}\n"
	      ".new{background:#c53030}.known{background:#718096}\n"
	      "svg{margin:.5em 1em .5em 0;border:1px solid #e2e8f0}svg .ax{stroke:#4a5568}svg .t{font-size:13px;font-weight:600}svg .l{font-size:11px;fill:#4a5568}\n"
	      "img.swimlane{max-width:100%;border:1px solid #e2e8f0}pre.sql{max-height:40em;overflow:auto}summary{cursor:pointer}\n"
	      "</style>\n</head>\n<body>\n",
	      f);
}

/* The heading (the night's colour) and the job: seed, shard, mode, when,
 * how it stopped, its budget and the shards it was merged from. */
static void html_job(FILE *f, const struct nl_agg *a, const struct nl_job_info *info)
{
	char started[32], finished[32];
	nl_iso8601(a->first_started_at, started);
	nl_iso8601(a->last_finished_at, finished);
	fprintf(f, "<h1>whopper nightly: %s</h1>\n",
		nl_agg_new_count(a) ? "<span class=\"bad\">new failures</span>"
				    : "<span class=\"ok\">no new failure</span>");
	fprintf(f, "<p>Base seed <code>%llu</code>, shard <code>", (unsigned long long)info->base_seed);
	nl_xml_text(f, info->shard);
	fprintf(f, "</code>, %s", info->mode);
	if (strcmp(info->mode, "runs") == 0)
		fprintf(f, " %llu", (unsigned long long)info->runs_planned);
	else
		fprintf(f, " %.0f s", info->time_s);
	fprintf(f, "; from %s to %s; stopped: %s%s; exit status %d.</p>\n", started, finished,
		info->stop_reason, info->complete ? "" : " (incomplete)", info->exit_code);
	if (info->target) {
		char target[1024];
		cli_target_describe(info->target, target, sizeof target);
		fputs("<p>Target: ", f);
		nl_xml_text(f, target);
		fputs(".</p>\n", f);
	}
	if (info->budget) {
		fprintf(f, "<p class=\"%s\">Budget: ", info->budget->wall_s > info->budget->time_s ? "bad" : "ok");
		char *text = budget_text(info->budget);
		nl_xml_text(f, text);
		free(text);
		fputs(".</p>\n", f);
	}
	if (info->merged_from) {
		fputs("<p>Merged from:", f);
		for (size_t i = 0; i < info->merged_from->count; i++) {
			fputs(" <code>", f);
			nl_xml_text(f, info->merged_from->v[i]);
			fputs("</code>", f);
		}
		fputs("</p>\n", f);
	}
}

/* Runs by label and signatures in a table, then how the children ended. */
static void html_totals(FILE *f, const struct nl_agg *a)
{
	uint64_t new_count = nl_agg_new_count(a);
	fputs("<h2>Totals</h2>\n<table><tr><th>runs</th>", f);
	for (int l = 0; l < NL_LABEL__COUNT; l++)
		fprintf(f, "<th>%s</th>", nl_label_name((enum nl_label)l));
	fprintf(f, "<th>signatures</th><th>new signatures</th></tr>\n<tr><td>%llu</td>",
		(unsigned long long)a->run_count);
	for (int l = 0; l < NL_LABEL__COUNT; l++)
		fprintf(f, "<td%s>%llu</td>", l == NL_LABEL_NEW && a->by_label[l] ? " class=\"bad\"" : "",
			(unsigned long long)a->by_label[l]);
	fprintf(f, "<td>%zu</td><td%s>%llu</td></tr></table>\n", a->sig_count,
		new_count ? " class=\"bad\"" : "", (unsigned long long)new_count);
	fputs("<p>How the runs ended:", f);
	for (int s = 0; s < NL_STATUS__COUNT; s++)
		fprintf(f, "%s %llu %s", s ? "," : "", (unsigned long long)a->by_status[s],
			nl_status_name((enum nl_status)s));
	fputs(" (a run whose violations were all expected exits 0: a pass).</p>\n", f);
}

/* What was made of a new signature by the shrinker: the shrunk repro, the
 * shrinker's note, MIN.sql and the swimlane picture; or why it was not
 * shrunk. */
static void html_shrunk(FILE *f, const struct nl_sig *s, const struct nl_job_info *info)
{
	if (s->shrunk) {
		fputs("<p>Shrunk repro:</p><pre>", f);
		char *cmd = command_string(shrunk_repro_of, s, info);
		nl_xml_text(f, cmd);
		free(cmd);
		fputs("</pre>\n", f);
		if (s->shrink_note) {
			fputs("<p><code>", f);
			nl_xml_text(f, s->shrink_note);
			fputs("</code></p>\n", f);
		}
		html_shrunk_sql(f, s);
		html_shrunk_svg(f, s);
	} else if (s->is_new) {
		fputs("<p>", f);
		nl_xml_text(f, s->shrink_note ? s->shrink_note : "not shrunk");
		fputs(".</p>\n", f);
	}
}

/* One new signature, with everything needed to chase it: where it was
 * first seen, its repro, detail, backtrace and what the shrinker made. */
static void html_new_failure(FILE *f, const struct nl_sig *s, const struct nl_job_info *info)
{
	WH_ASSERT(nl_sig_rank(s) <= 1);
	fprintf(f, "<h3><span class=\"badge %s\">%s</span> <span class=\"badge\">%s</span> <code>",
		s->is_new ? "new" : "known", s->is_new ? "new" : "new, in the corpus",
		nl_status_name(s->status));
	nl_xml_text(f, s->signature);
	fprintf(f, "</code></h3>\n<p>%llu run%s; ", (unsigned long long)s->count,
		s->count == 1 ? "" : "s");
	if (s->rep.kind == NL_KIND_RUN)
		fprintf(f, "first at index %lld (seed %llu)", (long long)s->rep.index,
			(unsigned long long)s->rep.seed);
	else {
		fputs("corpus entry <code>", f);
		nl_xml_text(f, s->rep.entry);
		fputs("</code>", f);
	}
	fputs(".</p>\n<p>Reproduce:</p><pre>", f);
	char *repro = command_string(repro_of, s, info);
	nl_xml_text(f, repro);
	free(repro);
	fputs("</pre>\n", f);
	if (s->rep.detail) {
		fputs("<pre>", f);
		nl_xml_text(f, s->rep.detail);
		fputs("</pre>\n", f);
	}
	if (s->rep.frames.count) {
		fputs("<p>Backtrace (top first):</p><pre>", f);
		for (size_t i = 0; i < s->rep.frames.count; i++) {
			nl_xml_text(f, s->rep.frames.v[i]);
			fputc('\n', f);
		}
		fputs("</pre>\n", f);
	}
	html_shrunk(f, s, info);
}

/* The new signatures (ranks 0 and 1), which come first in sig_order:
 * returns how many there were, where the known ones start. */
static size_t html_new_failures(FILE *f, const struct report_ctx *ctx)
{
	const struct nl_agg *a = ctx->a;
	fputs("<h2>New failures</h2>\n", f);
	size_t k = 0;
	if (a->sig_count == 0 || nl_sig_rank(&a->sigs[ctx->sig_order[0]]) > 1)
		fputs("<p>None.</p>\n", f);
	for (; k < a->sig_count && nl_sig_rank(&a->sigs[ctx->sig_order[k]]) <= 1; k++)
		html_new_failure(f, &a->sigs[ctx->sig_order[k]], ctx->info);
	return k;
}

/* Each corpus entry replayed, what it was kept for and what it did now. */
static void html_replays(FILE *f, const struct nl_agg *a)
{
	fputs("<h2>Corpus replays</h2>\n", f);
	if (a->replay_count == 0)
		fputs("<p>No corpus entries replayed.</p>\n", f);
	else
		fputs("<table><tr><th>entry</th><th>kept for</th><th>outcome</th><th>this time</th></tr>\n",
		      f);
	for (size_t i = 0; i < a->replay_count; i++) {
		const struct nl_replay_outcome *o = &a->replays[i];
		fputs("<tr><td><code>", f);
		nl_xml_text(f, o->entry);
		fputs("</code></td><td><code>", f);
		nl_xml_text(f, o->expect);
		const char *cls = o->outcome == NL_OUTCOME_FIXED   ? "ok"
				  : o->outcome == NL_OUTCOME_STALE ? "stale"
								   : "bad";
		fprintf(f, "</code></td><td class=\"%s\">%s%s</td><td><code>", cls,
			nl_outcome_name(o->outcome), o->diverged ? " (replay diverged)" : "");
		/* What it did: its signature, why it was refused, or a pass. */
		const char *did = o->signature ? o->signature : o->detail ? o->detail : "pass";
		nl_xml_text(f, did);
		fputs("</code></td></tr>\n", f);
	}
	if (a->replay_count)
		fputs("</table>\n", f);
}

/* Status counts per configuration, then per knob value. */
static void html_tallies(FILE *f, const struct report_ctx *ctx)
{
	const struct nl_agg *a = ctx->a;
	fputs("<h2>Totals per configuration</h2>\n<p>workload/journal/synchronous/scheduler[/faults]</p>\n", f);
	html_tally_head(f, "configuration");
	for (size_t k = 0; k < a->config_count; k++) {
		const struct nl_tally *t = &a->configs[ctx->config_order[k]];
		html_tally_row(f, t->key, t);
	}
	fputs("</table>\n<h2>Totals per knob value</h2>\n", f);
	html_tally_head(f, "knob=value");
	for (size_t k = 0; k < a->dim_count; k++) {
		const struct nl_tally *t = &a->dims[ctx->dim_order[k]];
		html_tally_row(f, t->key, t);
	}
	fputs("</table>\n", f);
}

/* The pairs \requires changed, one line each, under the job's facts. */
static void html_skips(FILE *f, const struct nl_skips *skips)
{
	if (skips == NULL || skips->count == 0)
		return;
	fputs("<p>Workloads that need a newer SQLite than a target (<code>\\requires</code>):</p>\n<ul>\n", f);
	for (size_t i = 0; i < skips->count; i++) {
		const struct nl_skip *x = &skips->v[i];
		fputs("<li><code>", f);
		nl_xml_text(f, x->workload);
		fputs(x->include ? "</code> runs without <code>" : "</code> is not drawn", f);
		if (x->include)
			nl_xml_text(f, x->include);
		fputs(x->include ? "</code> on <code>" : " for <code>", f);
		nl_xml_text(f, x->library);
		fputs("</code> (SQLite ", f);
		nl_xml_text(f, x->version);
		fputs("): needs ", f);
		nl_xml_text(f, x->needs);
		if (x->reason[0]) {
			fputs(" (", f);
			nl_xml_text(f, x->reason);
			fputc(')', f);
		}
		fputs(", <code>", f);
		nl_xml_text(f, x->declared_at);
		fputs("</code></li>\n", f);
	}
	fputs("</ul>\n", f);
}

static int fill_html(FILE *f, void *vctx)
{
	const struct report_ctx *ctx = vctx;
	const struct nl_agg *a = ctx->a;
	html_head(f, ctx->info);
	html_job(f, a, ctx->info);
	html_skips(f, ctx->info->skips);
	html_totals(f, a);
	fputs("<h2>Throughput and findings</h2>\n", f);
	html_plots(f, a);
	/* Signatures in rank order: new, known, expected. */
	size_t k = html_new_failures(f, ctx);
	html_excused(f, ctx, &k, NL_LABEL_KNOWN);
	html_excused(f, ctx, &k, NL_LABEL_EXPECTED);
	WH_ASSERT(k == a->sig_count);
	html_catalogue(f, ctx);
	nl_targets_html(f, ctx->a, ctx->sig_order);
	html_replays(f, a);
	html_tallies(f, ctx);
	fputs("</body>\n</html>\n", f);
	return 0;
}

/* ---------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------- */

int nl_reports_write(const char *dir, const struct nl_agg *a, const struct nl_job_info *info)
{
	WH_ASSERT(info->shard != NULL && info->mode != NULL && info->stop_reason != NULL);
	struct report_ctx ctx = {
		.a = a,
		.info = info,
		.sig_order = sorted_order(a->sig_count, a->sigs, cmp_sig),
		.config_order = sorted_order(a->config_count, a->configs, cmp_config),
		.dim_order = sorted_order(a->dim_count, a->dims, cmp_dim),
		.catalogue_order = sorted_order(a->catalogue_count, a->catalogue, cmp_catalogue),
	};
	int rc = nl_write_atomic(dir, "summary.json", fill_summary, &ctx);
	if (rc == 0)
		rc = nl_write_atomic(dir, "junit.xml", fill_junit, &ctx);
	if (rc == 0)
		rc = nl_write_atomic(dir, "report.html", fill_html, &ctx);
	free(ctx.sig_order);
	free(ctx.config_order);
	free(ctx.dim_order);
	free(ctx.catalogue_order);
	return rc;
}
