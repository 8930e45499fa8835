/*
 * nightly_corpus.c - the failure corpus of `whopper nightly --corpus DIR`
 * (one entry per failure signature ever found, replayed at the start of
 * every nightly and reported as still failing, failing differently, fixed
 * or stale), and the names of the files a job keeps per signature.
 *
 * Entry formats, told apart by the file suffix:
 *
 *   STEM.whop + STEM.sig   (format 2) a replay file written by `whopper run
 *       --record`, replayed with `whopper replay STEM.whop --json`, and a
 *       small text sidecar naming the signature it was kept for ("signature"
 *       line; "status" and "found" lines are for people). Without a sidecar
 *       the signature is read from the replay file's own "signature" line.
 *       The recorded run flags ("arg" lines of the replay file's header)
 *       give the replay's configuration and seed in results.jsonl.
 *   STEM.args              (format 1) the failure's signature and the full
 *       argument list of the run, one "arg" line each; replayed by
 *       re-running those arguments (runs are deterministic). Entries of
 *       earlier nightlies stay readable, and failures that leave no replay
 *       file (a crash, a hang, an error exit: the child never got to write
 *       it) are still kept this way.
 *
 * A replay `whopper replay` refuses (another whopper or SQLite version, a
 * changed workload, a corrupt file: exit 2) is reported as stale, not as a
 * failure (nightly_results.c); the entry is left alone.
 *
 * STEM is "STATUS-HASH" with HASH the FNV-1a of the signature
 * (nl_artifact_stem), so an entry's name is a function of its signature
 * alone and a signature is kept once however many jobs or shards find it.
 * The same stem names the job's own copies in --out (repro/, shrunk/), where
 * nl_sig_find_artifacts looks for them.
 *
 * Invariants: entries are written atomically (temp file + rename) and never
 * rewritten; a .whop entry's sidecar is written before the replay file and
 * removed again if the copy fails, so a listed .whop never lacks its
 * signature for long; entries are listed in name order, which is the order
 * in which shards split them.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "nightly_int.h"

#define ARGS_SUFFIX ".args"
#define WHOP_SUFFIX ".whop"
#define SIDECAR_SUFFIX ".sig"
#define HEADER_LINES_MAX 4096u /* header lines read from a replay file */

void nl_artifact_stem(enum nl_status status, const char *signature, char out[NL_STEM_MAX])
{
	WH_ASSERT(signature != NULL);
	/* A run that passed has a signature only when all its violations
	 * were expected: "pass-..." would misname what the file holds. */
	int n = snprintf(out, NL_STEM_MAX, "%s-%016llx",
			 status == NL_PASS ? "expected" : nl_status_name(status),
			 (unsigned long long)nl_fnv1a(signature));
	WH_ASSERT(n > 0 && (unsigned)n < NL_STEM_MAX);
}

static void entry_clear(struct nl_corpus_entry *e)
{
	free(e->name);
	free(e->path);
	free(e->signature);
	nl_strv_free(&e->args);
	free(e->hook);
	free(e->library);
	memset(e, 0, sizeof *e);
}

void nl_corpus_entries_free(struct nl_corpus_entry *e, size_t count)
{
	for (size_t i = 0; i < count; i++)
		entry_clear(&e[i]);
	free(e);
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t len = strlen(name), sl = strlen(suffix);
	return len > sl && strcmp(name + len - sl, suffix) == 0;
}

/* Parse a format 1 entry. 0, or -1 when it is not a well-formed entry. */
static int args_entry_read(const char *path, struct nl_corpus_entry *e)
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

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The "%XX" escapes of a replay file's "arg" lines, undone in place.
 * False on a malformed escape. */
static bool unescape_in_place(char *s)
{
	char *out = s;
	for (const char *p = s; *p; p++) {
		if (*p != '%') {
			*out++ = *p;
			continue;
		}
		unsigned v = 0;
		for (int k = 1; k <= 2; k++) {
			int d = hex_digit(p[k]);
			if (d < 0)
				return false; /* also stops at the NUL */
			v = v * 16 + (unsigned)d;
		}
		if (v == 0)
			return false;
		*out++ = (char)v;
		p += 2;
	}
	*out = '\0';
	return true;
}

/* The header of a replay file: its recorded run flags (after "run"), the
 * SQLite library it names (sqlite-library, NULL when it names none) and
 * the signature it recorded, as the nightly spells it (a triage signature,
 * "new:...", "known:..." or "expected:...", as it is; an older child's
 * "KIND:TEMPLATES" as "violation:KIND:TEMPLATES"), or NULL for a passing
 * recording. Only the header is read (up to the
 * first "track" line); the replay itself checks the rest. 0, or -1 when
 * the file is not a replay file. */
static int whop_header_read(const char *path, struct nl_strv *args, char **signature,
			    char **library)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = -1;
	nl_strv_push(args, "run");
	for (uint32_t line_no = 0; line_no < HEADER_LINES_MAX && (n = getline(&line, &cap, f)) > 0;
	     line_no++) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (line_no == 0) {
			if (strncmp(line, "whopper-replay ", 15) != 0)
				break;
			rc = 0;
		} else if (strncmp(line, "arg ", 4) == 0) {
			if (!unescape_in_place(line + 4)) {
				rc = -1;
				break;
			}
			nl_strv_push(args, line + 4);
		} else if (strncmp(line, "signature ", 10) == 0 && *signature == NULL) {
			const char *sig = line + 10;
			bool triaged = strncmp(sig, "new:", 4) == 0 ||
				       strncmp(sig, "known:", 6) == 0 ||
				       strncmp(sig, "expected:", 9) == 0;
			if (strcmp(sig, "-") != 0 && *sig != '\0') {
				struct nl_buf b = {0};
				nl_buf_printf(&b, "%s%s", triaged ? "" : "violation:", sig);
				*signature = b.data;
			}
		} else if (strncmp(line, "sqlite-library ", 15) == 0 && *library == NULL) {
			*library = wh_strdup(line + 15);
		} else if (strncmp(line, "track ", 6) == 0 || strncmp(line, "checksum ", 9) == 0) {
			break; /* the choice stream: not needed here */
		}
	}
	free(line);
	fclose(f);
	return rc;
}

/* The "signature" line of a sidecar, or NULL when it has none. */
static char *sidecar_signature(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *line = NULL, *sig = NULL;
	size_t cap = 0;
	ssize_t n;
	while (sig == NULL && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (strncmp(line, "signature ", 10) == 0 && line[10] != '\0')
			sig = wh_strdup(line + 10);
	}
	free(line);
	fclose(f);
	return sig;
}

/* Parse a format 2 entry: DIR/NAME.whop and its sidecar. 0 or -1. */
static int whop_entry_read(const char *dir, const char *name, const char *path,
			   struct nl_corpus_entry *e)
{
	char *from_file = NULL;
	if (whop_header_read(path, &e->args, &from_file, &e->library) != 0) {
		free(from_file);
		return -1;
	}
	char sidecar[4096];
	size_t stem_len = strlen(name) - strlen(WHOP_SUFFIX);
	if (snprintf(sidecar, sizeof sidecar, "%s/%.*s" SIDECAR_SUFFIX, dir, (int)stem_len,
		     name) < (int)sizeof sidecar)
		e->signature = sidecar_signature(sidecar);
	if (e->signature == NULL) {
		e->signature = from_file; /* NULL for a passing recording */
		from_file = NULL;
	}
	free(from_file);
	return e->signature ? 0 : -1;
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
		bool is_whop = has_suffix(de->d_name, WHOP_SUFFIX);
		if (de->d_name[0] == '.' || (!is_whop && !has_suffix(de->d_name, ARGS_SUFFIX)))
			continue; /* temp files start with '.'; sidecars are read with their .whop */
		char path[4096];
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = wh_realloc(v, cap * sizeof *v);
		}
		memset(&v[n], 0, sizeof v[n]);
		v[n].format = is_whop ? NL_ENTRY_WHOP : NL_ENTRY_ARGS;
		int rc = is_whop ? whop_entry_read(dir, de->d_name, path, &v[n])
				 : args_entry_read(path, &v[n]);
		if (rc != 0) {
			fprintf(stderr, "whopper: nightly: warning: skipping malformed corpus entry '%s'\n",
				path);
			entry_clear(&v[n]); /* v[n] is reused for the next file */
			continue;
		}
		v[n].name = wh_strdup(de->d_name);
		v[n].path = wh_strdup(path);
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_entry);
	*out = v;
	*count = n;
	return 0;
}

/* ---------------------------------------------------------------------
 * Keeping a new failure
 * ------------------------------------------------------------------- */

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
	const char *whop_name; /* sidecar: the replay file it describes */
};

static void put_found(FILE *f, const struct keep_ctx *k)
{
	char when[32];
	nl_iso8601(k->r->finished_at, when);
	put_line(f, "signature", k->r->signature);
	put_line(f, "status", nl_status_name(k->r->status));
	fprintf(f, "found %s base-seed %llu index %lld\n", when, (unsigned long long)k->base_seed,
		(long long)k->r->index);
}

static int fill_args_entry(FILE *f, void *ctx)
{
	const struct keep_ctx *k = ctx;
	const struct nl_result *r = k->r;
	fputs("# whopper nightly corpus entry, format 1: the \"arg\" lines are the\n"
	      "# arguments of the failing run (one per line); \"hook\" sets\n"
	      "# WHOPPER_TEST_HOOK for the replay. Delete the file to forget the failure.\n",
	      f);
	put_found(f, k);
	if (r->hook)
		put_line(f, "hook", r->hook);
	for (size_t i = 0; i < r->args.count; i++)
		put_line(f, "arg", r->args.v[i]);
	return 0;
}

static int fill_sidecar(FILE *f, void *ctx)
{
	const struct keep_ctx *k = ctx;
	fprintf(f, "# whopper nightly corpus entry, format 2: the failure %s was kept for.\n"
		   "# Replay it with 'whopper replay %s'. Delete both files to forget it.\n",
		k->whop_name, k->whop_name);
	put_found(f, k);
	return 0;
}

int nl_corpus_keep(const char *dir, const struct nl_result *r, const char *recording,
		   uint64_t base_seed)
{
	WH_ASSERT(r->signature != NULL);
	WH_ASSERT(r->args.count > 0);
	char stem[NL_STEM_MAX];
	nl_artifact_stem(r->status, r->signature, stem);
	char whop_name[64], sig_name[64], args_name[64], path[4096];
	snprintf(whop_name, sizeof whop_name, "%s" WHOP_SUFFIX, stem);
	snprintf(sig_name, sizeof sig_name, "%s" SIDECAR_SUFFIX, stem);
	snprintf(args_name, sizeof args_name, "%s" ARGS_SUFFIX, stem);
	const char *names[] = {whop_name, args_name};
	for (size_t i = 0; i < 2; i++) {
		if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path) {
			fprintf(stderr, "whopper: nightly: --corpus: path too long: %s\n", dir);
			return -1;
		}
		if (access(path, F_OK) == 0)
			return 0; /* this signature is kept already */
	}
	struct keep_ctx k = {r, base_seed, whop_name};
	if (recording == NULL || !nl_file_exists(recording))
		return nl_write_atomic(dir, args_name, fill_args_entry, &k);
	if (nl_write_atomic(dir, sig_name, fill_sidecar, &k) != 0)
		return -1;
	if (nl_copy_atomic(recording, dir, whop_name) != 0) {
		snprintf(path, sizeof path, "%s/%s", dir, sig_name);
		unlink(path);
		return -1;
	}
	return 0;
}

void nl_corpus_replay_setup(const struct nl_corpus_entry *e, struct nl_result *r)
{
	WH_ASSERT(r->args.count == 0);
	WH_ASSERT(e->args.count > 0 && strcmp(e->args.v[0], "run") == 0);
	bool has_json = false;
	for (size_t i = 0; i < e->args.count; i++) {
		nl_strv_push(&r->args, e->args.v[i]);
		has_json |= strcmp(e->args.v[i], "--json") == 0;
	}
	if (e->format == NL_ENTRY_WHOP) {
		/* args are the recorded flags, for the record; the child runs
		 * `replay FILE --json`. */
		r->replay_file = wh_strdup(e->path);
	} else {
		if (!has_json)
			nl_strv_push(&r->args, "--json");
		r->hook = e->hook ? wh_strdup(e->hook) : NULL;
	}
	r->seed = 0;
	for (size_t i = 1; i + 1 < r->args.count; i++)
		if (strcmp(r->args.v[i], "--seed") == 0)
			r->seed = strtoull(r->args.v[i + 1], NULL, 10);
}

/* ---------------------------------------------------------------------
 * The files a job keeps per signature
 * ------------------------------------------------------------------- */

static char *find_in_dirs(const struct nl_strv *dirs, const char *sub, const char *stem)
{
	for (size_t d = 0; d < dirs->count; d++) {
		struct nl_buf b = {0};
		nl_buf_printf(&b, "%s/%s/%s" WHOP_SUFFIX, dirs->v[d], sub, stem);
		if (nl_file_exists(b.data))
			return b.data;
		nl_buf_free(&b);
	}
	return NULL;
}

void nl_sig_find_artifacts(struct nl_sig *s, const struct nl_strv *dirs)
{
	WH_ASSERT(s->signature != NULL);
	char stem[NL_STEM_MAX];
	nl_artifact_stem(s->status, s->signature, stem);
	free(s->recording);
	free(s->shrunk);
	/* A replayed entry is its own replay file (the rep's replay_file). */
	s->recording = s->rep.kind == NL_KIND_RUN ? find_in_dirs(dirs, "repro", stem)
						  : NULL;
	s->shrunk = find_in_dirs(dirs, "shrunk", stem);
	if (s->shrunk) {
		/* The shrinker writes MIN.whop, then MIN.sql, then MIN.svg:
		 * without the picture the shrink did not finish. */
		struct nl_buf svg = {0};
		nl_sibling_path(s->shrunk, ".svg", &svg);
		if (!nl_file_exists(svg.data)) {
			free(s->shrunk);
			s->shrunk = NULL;
		}
		nl_buf_free(&svg);
	}
}
