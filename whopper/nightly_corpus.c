/*
 * nightly_corpus.c - the failure corpus of `whopper nightly --corpus DIR`:
 * one entry per failure signature ever found, replayed at the start of
 * every nightly and reported as still failing or fixed.
 *
 * Entry format (for now): `run --record FILE.whop` and `whopper replay` do
 * not exist yet, so an entry is a small text file DIR/STATUS-HASH.args
 * holding the failure's signature and the full argument list of the run,
 * one argument per "arg" line; a replay re-runs those arguments. Runs are
 * deterministic, so re-running the arguments replays the run. Only
 * nl_corpus_keep and nl_corpus_replay_args know this format: switching to
 * .whop files changes those two functions (and the file suffix) and nothing
 * else.
 *
 * Invariants: an entry's name is a function of its signature alone (HASH is
 * FNV-1a of the signature), so a signature is kept once however many jobs
 * or shards find it; entries are written atomically (temp file + rename) and
 * never rewritten; entries are listed in name order, which is the order in
 * which shards split them.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "nightly_int.h"

#define ENTRY_SUFFIX ".args"

void nl_corpus_entries_free(struct nl_corpus_entry *e, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(e[i].name);
		free(e[i].signature);
		nl_strv_free(&e[i].args);
		free(e[i].hook);
	}
	free(e);
}

/* Parse one entry file. 0, or -1 when it is not a well-formed entry. */
static int entry_read(const char *path, struct nl_corpus_entry *e)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (strncmp(line, "arg ", 4) == 0)
			nl_strv_push(&e->args, line + 4);
		else if (strncmp(line, "signature ", 10) == 0 && e->signature == NULL)
			e->signature = wh_strdup(line + 10);
		else if (strncmp(line, "hook ", 5) == 0 && e->hook == NULL)
			e->hook = wh_strdup(line + 5);
		/* "#" comments, "status" and "found" are for people. */
	}
	free(line);
	bool io_error = ferror(f);
	fclose(f);
	if (io_error || e->signature == NULL || e->args.count == 0 ||
	    strcmp(e->args.v[0], "run") != 0)
		return -1;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct nl_corpus_entry *)a)->name,
		      ((const struct nl_corpus_entry *)b)->name);
}

int nl_corpus_load(const char *dir, struct nl_corpus_entry **out, size_t *count)
{
	*out = NULL;
	*count = 0;
	if (nl_mkdir_p(dir) != 0) {
		fprintf(stderr, "whopper: nightly: --corpus: cannot create '%s': %s\n", dir,
			strerror(errno));
		return -1;
	}
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "whopper: nightly: --corpus: cannot read '%s': %s\n", dir,
			strerror(errno));
		return -1;
	}
	struct nl_corpus_entry *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		size_t sl = strlen(ENTRY_SUFFIX);
		if (de->d_name[0] == '.' || len <= sl ||
		    strcmp(de->d_name + len - sl, ENTRY_SUFFIX) != 0)
			continue; /* temp files start with '.' */
		char path[4096];
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = wh_realloc(v, cap * sizeof *v);
		}
		memset(&v[n], 0, sizeof v[n]);
		if (entry_read(path, &v[n]) != 0) {
			fprintf(stderr, "whopper: nightly: warning: skipping malformed corpus entry '%s'\n",
				path);
			free(v[n].signature); /* v[n] is reused for the next file */
			nl_strv_free(&v[n].args);
			free(v[n].hook);
			continue;
		}
		v[n].name = wh_strdup(de->d_name);
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_entry);
	*out = v;
	*count = n;
	return 0;
}

/* One line of text with newlines flattened (signatures come from child
 * output and must not break the line format). */
static void put_line(FILE *f, const char *key, const char *value)
{
	fputs(key, f);
	fputc(' ', f);
	for (const char *p = value; *p; p++)
		fputc(*p == '\n' || *p == '\r' ? ' ' : *p, f);
	fputc('\n', f);
}

struct keep_ctx {
	const struct nl_result *r;
	uint64_t base_seed;
};

static int fill_entry(FILE *f, void *ctx)
{
	const struct keep_ctx *k = ctx;
	const struct nl_result *r = k->r;
	char when[32];
	nl_iso8601(r->finished_at, when);
	fputs("# whopper nightly corpus entry, format 1: the \"arg\" lines are the\n"
	      "# arguments of the failing run (one per line); \"hook\" sets\n"
	      "# WHOPPER_TEST_HOOK for the replay. Delete the file to forget the failure.\n",
	      f);
	put_line(f, "signature", r->signature);
	put_line(f, "status", nl_status_name(r->status));
	fprintf(f, "found %s base-seed %llu index %lld\n", when, (unsigned long long)k->base_seed,
		(long long)r->index);
	if (r->hook)
		put_line(f, "hook", r->hook);
	for (size_t i = 0; i < r->args.count; i++)
		put_line(f, "arg", r->args.v[i]);
	return 0;
}

int nl_corpus_keep(const char *dir, const struct nl_result *r, uint64_t base_seed)
{
	WH_ASSERT(r->signature != NULL);
	WH_ASSERT(r->args.count > 0);
	char name[64];
	snprintf(name, sizeof name, "%s-%016llx" ENTRY_SUFFIX, nl_status_name(r->status),
		 (unsigned long long)nl_fnv1a(r->signature));
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
		fprintf(stderr, "whopper: nightly: --corpus: path too long: %s\n", dir);
		return -1;
	}
	if (access(path, F_OK) == 0)
		return 0; /* this signature is kept already */
	struct keep_ctx k = {r, base_seed};
	return nl_write_atomic(dir, name, fill_entry, &k);
}

void nl_corpus_replay_args(const struct nl_corpus_entry *e, struct nl_strv *argv,
			   const char **hook)
{
	WH_ASSERT(argv->count == 0);
	WH_ASSERT(e->args.count > 0);
	bool has_json = false;
	for (size_t i = 0; i < e->args.count; i++) {
		nl_strv_push(argv, e->args.v[i]);
		has_json |= strcmp(e->args.v[i], "--json") == 0;
	}
	if (!has_json)
		nl_strv_push(argv, "--json");
	*hook = e->hook;
}

/* HOOK(shrink): once `whopper shrink FILE.whop --out MIN.whop --time-limit S`
 * exists, run it here (as one more child of the job's loop, within
 * budget_s) on the corpus entry of each new signature, and give the report
 * MIN.sql and MIN.svg (the shrunk SQL and the swimlane picture). Until then
 * nothing is shrunk and the report says so. */
bool nl_shrink_hook(const struct nl_result *rep, double budget_s, char **shrunk_path)
{
	WH_ASSERT(rep->signature != NULL);
	WH_ASSERT(budget_s >= 0);
	*shrunk_path = NULL;
	return false;
}
