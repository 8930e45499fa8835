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

/* The state of one merge, from the command line to the reports. */
struct merge {
	const char *out;         /* --out DIR (borrowed from argv) */
	const char *corpus;      /* --corpus DIR or NULL (borrowed) */
	struct nl_strv dirs;     /* the shard directories, as given */
	struct nl_job_file *jobs; /* job.json of each shard read so far */
	size_t job_count;        /* entries of jobs filled (freed at the end) */
	bool *seen_shard;        /* by shard number, once the count is known */
	struct nl_agg agg;       /* every shard's results folded together */
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

/* Parse the command line into m->out, m->corpus and m->dirs. 0 (with
 * *help set when --help was printed: nothing more to do), or the usage
 * exit code after a message. */
static int merge_parse_args(struct merge *m, int argc, char **argv, bool *help)
{
	*help = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(merge_help, stdout);
			*help = true;
			return 0;
		} else if (strcmp(a, "--out") == 0 || strcmp(a, "--corpus") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0')
				return cli_usage_error("%s: missing DIR", a);
			*(strcmp(a, "--out") == 0 ? &m->out : &m->corpus) = argv[++i];
		} else if (strncmp(a, "--", 2) == 0) {
			return cli_usage_error("nightly merge: unknown option '%s'", a);
		} else {
			nl_strv_push(&m->dirs, a);
		}
	}
	if (m->dirs.count == 0)
		return cli_usage_error("nightly merge: no shard directories given");
	return 0;
}

/* Read shard directory d: its job.json, which must match the first
 * shard's and name a shard not seen yet, then its results.jsonl into
 * m->agg (and the line list). 0, or the exit code after a message. */
static int merge_load_shard(struct merge *m, size_t d)
{
	const char *dir = m->dirs.v[d];
	WH_ASSERT(d == m->job_count);
	if (same_dir(dir, m->out))
		return cli_usage_error("--out: '%s' is also an input of the merge", m->out);
	int jr = nl_job_file_read(dir, &m->jobs[d]);
	if (jr != 0)
		return jr == 1 ? cli_usage_error("nightly merge: '%s' holds no nightly job (no job.json)", dir)
			       : WH_EXIT_USAGE;
	m->job_count++;
	const char *diff = d ? job_mismatch(&m->jobs[0], &m->jobs[d]) : NULL;
	if (diff)
		return cli_usage_error("nightly merge: '%s' is not a shard of the job in '%s' (%s differs)",
				       dir, m->dirs.v[0], diff);
	if (m->seen_shard == NULL)
		m->seen_shard = wh_calloc(m->jobs[0].shard_n, sizeof *m->seen_shard);
	if (m->seen_shard[m->jobs[d].shard_i])
		return cli_usage_error("nightly merge: shard %u/%u appears twice ('%s')",
				       m->jobs[d].shard_i, m->jobs[d].shard_n, dir);
	m->seen_shard[m->jobs[d].shard_i] = true;
	char path[4096];
	snprintf(path, sizeof path, "%s/results.jsonl", dir);
	nl_strv_push(&m->paths, path);
	m->current_file = d;
	off_t valid;
	int lr = nl_results_load(path, &m->agg, &valid, collect_line, m);
	if (lr != 0)
		return lr == -2 ? WH_EXIT_USAGE : WH_EXIT_INTERNAL;
	return 0;
}

/* The shards present as "I/N,..." into *shards; returns how many of the
 * job's shards are missing (after a warning: the report is partial). */
static size_t merge_shard_list(const struct merge *m, struct nl_buf *shards)
{
	WH_ASSERT(m->job_count == m->dirs.count && m->seen_shard != NULL);
	uint32_t shard_n = m->jobs[0].shard_n;
	size_t missing = 0;
	for (uint32_t s = 0; s < shard_n; s++) {
		if (m->seen_shard[s])
			nl_buf_printf(shards, "%s%u/%u", shards->len ? "," : "", s, shard_n);
		else
			missing++;
	}
	if (missing)
		fprintf(stderr, "whopper: nightly merge: warning: %zu of %u shards missing; the report is partial\n",
			missing, shard_n);
	return missing;
}

/* --corpus DIR: keep each new signature there, as a single unsharded job
 * would have. 0, or -1 after a message. */
static int merge_keep_corpus(const struct merge *m)
{
	struct nl_corpus_entry *unused = NULL;
	size_t unused_count = 0;
	int rc = nl_corpus_load(m->corpus, &unused, &unused_count); /* creates DIR */
	nl_corpus_entries_free(unused, unused_count);
	for (size_t i = 0; i < m->agg.sig_count && rc == 0; i++) {
		const struct nl_sig *s = &m->agg.sigs[i];
		if (s->is_new)
			rc = nl_corpus_keep(m->corpus, &s->rep,
					    s->recording ? s->recording : s->rep.replay_file,
					    m->jobs[0].base_seed);
	}
	return rc != 0 ? -1 : 0;
}

/* The merged reports (unless the merge already failed) and the console's
 * closing lines. Returns the exit code, rc unless the reports failed. */
static int merge_report(const struct merge *m, const char *shards, bool complete, bool failed,
			int rc)
{
	const struct nl_agg *agg = &m->agg;
	const struct nl_job_file *job = &m->jobs[0];
	/* The pairs \requires changed, as the shards' job worked them out
	 * (from the job's workloads and libraries alone); not known when a
	 * library is not on this machine. */
	struct nl_matrix mx = {.base_seed = job->base_seed};
	nl_strv_copy(&mx.workloads, &job->workloads);
	nl_strv_copy(&mx.user_flags, &job->user_flags);
	nl_strv_copy(&mx.targets, &job->target_libs);
	struct nl_skips skips;
	char err[1024];
	bool skips_known = mx.workloads.count > 0 && nl_matrix_plan(&mx, &skips, err, sizeof err) == 0;
	if (!skips_known && mx.workloads.count > 0)
		fprintf(stderr, "whopper: nightly merge: warning: the reports cannot say which workloads a target could not run: %s\n",
			err);
	free(mx.cannot_run);
	nl_strv_free(&mx.workloads);
	nl_strv_free(&mx.user_flags);
	nl_strv_free(&mx.targets);
	struct nl_job_info info = {
		.base_seed = job->base_seed,
		.shard = shards ? shards : "",
		.mode = job->time_mode ? "time" : "runs",
		.runs_planned = job->time_mode ? 0 : job->runs,
		.time_s = job->time_mode ? job->time_s : 0,
		.stop_reason = "merged",
		.complete = complete,
		.wall_s = agg->last_finished_at > agg->first_started_at
				  ? agg->last_finished_at - agg->first_started_at
				  : 0,
		.exe_display = nl_exe_display(),
		.exit_code = rc,
		.merged_from = &m->dirs,
		.skips = skips_known ? &skips : NULL,
	};
	if (!failed && nl_reports_write(m->out, agg, &info) != 0)
		rc = WH_EXIT_INTERNAL;
	printf("whopper nightly merge: %zu shard dirs, %llu runs (%llu pass, %llu fail, %llu hang, %llu crash, %llu error), %zu signatures (%llu new)%s; outputs in %s/\n",
	       m->dirs.count, (unsigned long long)agg->run_count,
	       (unsigned long long)agg->by_status[NL_PASS], (unsigned long long)agg->by_status[NL_FAIL],
	       (unsigned long long)agg->by_status[NL_HANG], (unsigned long long)agg->by_status[NL_CRASH],
	       (unsigned long long)agg->by_status[NL_ERROR], agg->sig_count,
	       (unsigned long long)nl_agg_new_count(agg), complete ? "" : ", incomplete", m->out);
	nl_print_totals(stdout, agg);
	if (skips_known)
		nl_skips_free(&skips);
	return rc;
}

static void merge_free(struct merge *m)
{
	free(m->seen_shard);
	for (size_t i = 0; i < m->line_count; i++)
		free(m->lines[i].entry);
	free(m->lines);
	nl_strv_free(&m->paths);
	for (size_t i = 0; i < m->job_count; i++)
		nl_job_file_free(&m->jobs[i]);
	free(m->jobs);
	nl_agg_free(&m->agg);
	nl_strv_free(&m->dirs);
}

int nl_cmd_merge(int argc, char **argv)
{
	struct merge m;
	memset(&m, 0, sizeof m);
	m.out = "nightly-merged";
	struct nl_buf shards = {0};
	bool help;
	int rc = merge_parse_args(&m, argc, argv, &help);
	if (rc != 0 || help)
		goto out_free;
	m.jobs = wh_calloc(m.dirs.count, sizeof *m.jobs);
	for (size_t d = 0; d < m.dirs.count && rc == 0; d++)
		rc = merge_load_shard(&m, d);
	if (rc != 0)
		goto out_free;
	size_t missing = merge_shard_list(&m, &shards);

	/* Replays by entry, then runs by index: the same bytes whatever order
	 * the shards finished in. */
	if (m.line_count > 1)
		qsort(m.lines, m.line_count, sizeof *m.lines, cmp_line);
	if (nl_mkdir_p(m.out) != 0) {
		fprintf(stderr, "whopper: --out: cannot create '%s': %s\n", m.out, strerror(errno));
		rc = WH_EXIT_USAGE;
		goto out_free;
	}
	bool failed = nl_write_atomic(m.out, "results.jsonl", fill_results, &m) != 0;
	for (size_t i = 0; i < m.agg.sig_count; i++)
		find_sig_artifacts(&m.agg.sigs[i], &m.dirs, m.jobs);
	if (m.corpus && !failed)
		failed = merge_keep_corpus(&m) != 0;
	rc = failed ? WH_EXIT_INTERNAL : nl_agg_new_count(&m.agg) ? WH_EXIT_FINDING : WH_EXIT_PASS;
	bool complete = missing == 0 && (m.jobs[0].time_mode || m.agg.run_count == m.jobs[0].runs);
	rc = merge_report(&m, shards.data, complete, failed, rc);
out_free:
	nl_buf_free(&shards);
	merge_free(&m);
	return rc;
}
