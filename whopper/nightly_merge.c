/*
 * nightly_merge.c - `whopper nightly merge [--out DIR] [--corpus DIR] DIR...`:
 * combine the outputs of the shards of one job (a CI matrix, a Kubernetes
 * Indexed Job) into one results.jsonl and one set of reports.
 *
 * The inputs must be shards of the same job: same base seed, mode, --runs,
 * shard count, workloads and run flags (their job.json files say so), each
 * shard at most once. Their results must not overlap: a run index or a
 * replayed corpus entry found twice means the directories are not disjoint
 * shards, which is refused rather than counted twice. The merged
 * results.jsonl lists replays first (by entry name), then runs by index, so
 * merging the same shards always gives the same bytes whatever order the
 * shards finished in.
 *
 * "New" is decided by the shards: each result line carries its label (new,
 * known, expected, as the child's triage said) and whether its signature
 * was in the shard's corpus when it began, and the merge reads them back
 * as they are. The merged exit status is 1 only for a new signature
 * outside the corpus, as a shard's; --corpus DIR keeps the merged new
 * failures in DIR, as a single unsharded job would have.
 *
 * The files a shard kept per signature (its repro/ replay files and its
 * shrunk/ repros) stay where they are: the merged report names them in the
 * shard directories, looking first in the directory of the shard that ran
 * the signature's representative, then in the others. The merge itself
 * shrinks nothing.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "nightly_int.h"

static const char merge_help[] =
	"usage: whopper nightly merge [--out DIR] [--corpus DIR] DIR...\n"
	"\n"
	"Combines the results of nightly shard directories (each written by\n"
	"'whopper nightly --shard I/N --out DIR') into one results.jsonl,\n"
	"summary.json, junit.xml and report.html.\n"
	"\n"
	"  --out DIR      where the merged outputs go (default ./nightly-merged;\n"
	"                 must not be one of the inputs)\n"
	"  --corpus DIR   keep the merged new failures in this corpus\n"
	"\n"
	"exit status: 0 no new failure (known and expected failures included),\n"
	"1 a new failure, 2 bad usage (not shards of one job, overlapping\n"
	"shards), 3 the merge itself failed.\n";

/* Where one result line lies, for writing them back in order. */
struct line_ref {
	bool is_replay;
	int64_t index;  /* runs */
	char *entry;    /* replays */
	size_t file_no; /* into merge.paths */
	off_t offset;
	size_t len;
};

struct merge {
	struct nl_strv paths;    /* results.jsonl of each input */
	struct line_ref *lines;
	size_t line_count, line_cap;
	size_t current_file;     /* file being loaded */
};

static void collect_line(void *ctx, const struct nl_result *r, off_t offset, size_t len)
{
	struct merge *m = ctx;
	if (m->line_count == m->line_cap) {
		m->line_cap = m->line_cap ? m->line_cap * 2 : 256;
		m->lines = wh_realloc(m->lines, m->line_cap * sizeof *m->lines);
	}
	m->lines[m->line_count++] = (struct line_ref){
		.is_replay = r->kind == NL_KIND_REPLAY,
		.index = r->index,
		.entry = r->entry ? wh_strdup(r->entry) : NULL,
		.file_no = m->current_file,
		.offset = offset,
		.len = len,
	};
}

static int cmp_line(const void *pa, const void *pb)
{
	const struct line_ref *a = pa, *b = pb;
	if (a->is_replay != b->is_replay)
		return a->is_replay ? -1 : 1;
	if (a->is_replay)
		return strcmp(a->entry, b->entry);
	return a->index < b->index ? -1 : a->index > b->index;
}

static int fill_results(FILE *f, void *ctx)
{
	const struct merge *m = ctx;
	FILE **in = wh_calloc(m->paths.count, sizeof *in);
	char *buf = NULL;
	size_t cap = 0;
	int rc = 0;
	for (size_t i = 0; i < m->line_count && rc == 0; i++) {
		const struct line_ref *l = &m->lines[i];
		if (in[l->file_no] == NULL && (in[l->file_no] = fopen(m->paths.v[l->file_no], "r")) == NULL) {
			fprintf(stderr, "whopper: nightly merge: cannot read '%s': %s\n",
				m->paths.v[l->file_no], strerror(errno));
			rc = -1;
			break;
		}
		WH_ASSERT(l->len > 0); /* a line holds at least its newline */
		if (l->len > cap) {
			cap = l->len;
			buf = wh_realloc(buf, cap);
		}
		if (fseeko(in[l->file_no], l->offset, SEEK_SET) != 0 ||
		    fread(buf, 1, l->len, in[l->file_no]) != l->len || buf[l->len - 1] != '\n') {
			fprintf(stderr, "whopper: nightly merge: '%s' changed while merging\n",
				m->paths.v[l->file_no]);
			rc = -1;
			break;
		}
		fwrite(buf, 1, l->len, f);
	}
	for (size_t i = 0; i < m->paths.count; i++)
		if (in[i])
			fclose(in[i]);
	free(in);
	free(buf);
	return rc;
}

static bool same_dir(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	if (realpath(a, ra) == NULL || realpath(b, rb) == NULL)
		return false;
	return strcmp(ra, rb) == 0;
}

/* The files kept for s in the shard directories: the representative's
 * shard first (its repro/ file is the representative's own recording),
 * then the others in the order given. */
static void find_sig_artifacts(struct nl_sig *s, const struct nl_strv *dirs,
			       const struct nl_job_file *jobs)
{
	unsigned rep_shard = 0, shard_n = 0;
	bool known_shard = s->rep.shard && sscanf(s->rep.shard, "%u/%u", &rep_shard, &shard_n) == 2;
	struct nl_strv order = {0};
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t d = 0; d < dirs->count; d++) {
			bool is_rep = known_shard && jobs[d].shard_i == rep_shard;
			if (is_rep == (pass == 0))
				nl_strv_push(&order, dirs->v[d]);
		}
	WH_ASSERT(order.count == dirs->count);
	nl_sig_find_artifacts(s, &order);
	nl_strv_free(&order);
}

/* Is jf a shard of the same job as first? NULL, or what differs. */
static const char *job_mismatch(const struct nl_job_file *first, const struct nl_job_file *jf)
{
	if (jf->base_seed != first->base_seed)
		return "base seed";
	if (jf->time_mode != first->time_mode || jf->runs != first->runs)
		return "--runs/--time";
	if (jf->shard_n != first->shard_n)
		return "shard count";
	if (!nl_strv_equal(&jf->workloads, &first->workloads))
		return "--workloads";
	if (!nl_strv_equal(&jf->user_flags, &first->user_flags))
		return "run flags";
	return NULL;
}

int nl_cmd_merge(int argc, char **argv)
{
	const char *out = "nightly-merged", *corpus = NULL;
	struct nl_strv dirs = {0};
	struct merge m;
	memset(&m, 0, sizeof m);
	struct nl_agg agg;
	memset(&agg, 0, sizeof agg);
	struct nl_job_file *jobs = NULL;
	size_t job_count = 0;
	bool *seen_shard = NULL; /* by shard number, once the count is known */
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(merge_help, stdout);
			goto out_free;
		} else if (strcmp(a, "--out") == 0 || strcmp(a, "--corpus") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0') {
				rc = cli_usage_error("%s: missing DIR", a);
				goto out_free;
			}
			*(strcmp(a, "--out") == 0 ? &out : &corpus) = argv[++i];
		} else if (strncmp(a, "--", 2) == 0) {
			rc = cli_usage_error("nightly merge: unknown option '%s'", a);
			goto out_free;
		} else {
			nl_strv_push(&dirs, a);
		}
	}
	if (dirs.count == 0) {
		rc = cli_usage_error("nightly merge: no shard directories given");
		goto out_free;
	}

	jobs = wh_calloc(dirs.count, sizeof *jobs);
	for (size_t d = 0; d < dirs.count; d++) {
		const char *dir = dirs.v[d];
		if (same_dir(dir, out)) {
			rc = cli_usage_error("--out: '%s' is also an input of the merge", out);
			goto out_free;
		}
		int jr = nl_job_file_read(dir, &jobs[d]);
		if (jr != 0) {
			rc = jr == 1 ? cli_usage_error("nightly merge: '%s' holds no nightly job (no job.json)", dir)
				     : WH_EXIT_USAGE;
			goto out_free;
		}
		job_count++;
		const char *diff = d ? job_mismatch(&jobs[0], &jobs[d]) : NULL;
		if (diff) {
			rc = cli_usage_error("nightly merge: '%s' is not a shard of the job in '%s' (%s differs)",
					     dir, dirs.v[0], diff);
			goto out_free;
		}
		if (seen_shard == NULL)
			seen_shard = wh_calloc(jobs[0].shard_n, sizeof *seen_shard);
		if (seen_shard[jobs[d].shard_i]) {
			rc = cli_usage_error("nightly merge: shard %u/%u appears twice ('%s')",
					     jobs[d].shard_i, jobs[d].shard_n, dir);
			goto out_free;
		}
		seen_shard[jobs[d].shard_i] = true;
		char path[4096];
		snprintf(path, sizeof path, "%s/results.jsonl", dir);
		nl_strv_push(&m.paths, path);
		m.current_file = d;
		off_t valid;
		int lr = nl_results_load(path, &agg, &valid, collect_line, &m);
		if (lr != 0) {
			rc = lr == -2 ? WH_EXIT_USAGE : WH_EXIT_INTERNAL;
			goto out_free;
		}
	}
	WH_ASSERT(job_count == dirs.count && seen_shard != NULL);
	uint32_t shard_n = jobs[0].shard_n;
	size_t missing = 0;
	struct nl_buf shards = {0};
	for (uint32_t s = 0; s < shard_n; s++) {
		if (seen_shard[s])
			nl_buf_printf(&shards, "%s%u/%u", shards.len ? "," : "", s, shard_n);
		else
			missing++;
	}
	if (missing)
		fprintf(stderr, "whopper: nightly merge: warning: %zu of %u shards missing; the report is partial\n",
			missing, shard_n);

	if (m.line_count > 1)
		qsort(m.lines, m.line_count, sizeof *m.lines, cmp_line);
	if (nl_mkdir_p(out) != 0) {
		fprintf(stderr, "whopper: --out: cannot create '%s': %s\n", out, strerror(errno));
		rc = WH_EXIT_USAGE;
		nl_buf_free(&shards);
		goto out_free;
	}
	bool failed = nl_write_atomic(out, "results.jsonl", fill_results, &m) != 0;
	for (size_t i = 0; i < agg.sig_count; i++)
		find_sig_artifacts(&agg.sigs[i], &dirs, jobs);
	uint64_t new_count = nl_agg_new_count(&agg);
	if (corpus && !failed) {
		struct nl_corpus_entry *unused = NULL;
		size_t unused_count = 0;
		failed = nl_corpus_load(corpus, &unused, &unused_count) != 0; /* creates DIR */
		nl_corpus_entries_free(unused, unused_count);
		for (size_t i = 0; i < agg.sig_count && !failed; i++) {
			const struct nl_sig *s = &agg.sigs[i];
			if (s->is_new)
				failed = nl_corpus_keep(corpus, &s->rep,
							s->recording ? s->recording : s->rep.replay_file,
							jobs[0].base_seed) != 0;
		}
	}
	rc = failed ? WH_EXIT_INTERNAL : new_count ? WH_EXIT_FINDING : WH_EXIT_PASS;
	bool complete = missing == 0 &&
			(jobs[0].time_mode || agg.run_count == jobs[0].runs);
	struct nl_job_info info = {
		.base_seed = jobs[0].base_seed,
		.shard = shards.data ? shards.data : "",
		.mode = jobs[0].time_mode ? "time" : "runs",
		.runs_planned = jobs[0].time_mode ? 0 : jobs[0].runs,
		.time_s = jobs[0].time_mode ? jobs[0].time_s : 0,
		.stop_reason = "merged",
		.complete = complete,
		.wall_s = agg.last_finished_at > agg.first_started_at
				  ? agg.last_finished_at - agg.first_started_at
				  : 0,
		.exe_display = nl_exe_display(),
		.exit_code = rc,
		.merged_from = &dirs,
	};
	if (!failed && nl_reports_write(out, &agg, &info) != 0)
		rc = WH_EXIT_INTERNAL;
	printf("whopper nightly merge: %zu shard dirs, %llu runs (%llu pass, %llu fail, %llu hang, %llu crash, %llu error), %zu signatures (%llu new)%s; outputs in %s/\n",
	       dirs.count, (unsigned long long)agg.run_count, (unsigned long long)agg.by_status[NL_PASS],
	       (unsigned long long)agg.by_status[NL_FAIL], (unsigned long long)agg.by_status[NL_HANG],
	       (unsigned long long)agg.by_status[NL_CRASH],
	       (unsigned long long)agg.by_status[NL_ERROR], agg.sig_count,
	       (unsigned long long)new_count, complete ? "" : ", incomplete", out);
	nl_print_totals(stdout, &agg);
	nl_buf_free(&shards);

out_free:
	free(seen_shard);
	for (size_t i = 0; i < m.line_count; i++)
		free(m.lines[i].entry);
	free(m.lines);
	nl_strv_free(&m.paths);
	for (size_t i = 0; i < job_count; i++)
		nl_job_file_free(&jobs[i]);
	free(jobs);
	nl_agg_free(&agg);
	nl_strv_free(&dirs);
	return rc;
}
