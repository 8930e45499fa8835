/*
 * versions.c - `whopper versions FILE.whop LIB...`: which SQLite versions
 * have the recording's bug.
 *
 * Each library is loaded (engine/sqlapi.h) and the recording's tape is
 * replayed on it following the recorded schedule strictly (replay_follow_
 * run): while the library makes the calls the recording made, the run is
 * the recorded one; at the first pick it cannot make as logged the
 * scheduler notes the divergence and its strategy decides from there
 * (engine/sched.h). One row per library, oldest first by version number
 * (ties in the order given): the verdict and signature, the first
 * divergence, and whether it came before the failure. A pass whose
 * schedule diverged before the failure point proves little, so --seeds N
 * then runs N fresh seeds of the same configuration on that library.
 *
 * The failure point is the simulated time by which the first violation's
 * transactions had all ended: the recording's own when one of the
 * libraries is the one it was recorded on and followed it fully, else the
 * row's own failure when it failed; otherwise it is unknown.
 *
 * --finding ID measures a catalogue entry: the seeds then run on every
 * library (rates that compare along the ladder), a seed counts for the
 * finding when its triage signature names ID, and the table ends with the
 * entry's "versions", "fixed" and "measured" lines (the rule is
 * triage_measure_range's, which the catalogue parser checks them with).
 * A library's result there: "fails" when the followed recording showed
 * the finding; "passes" when it ran the recorded schedule past the
 * failure point without it; then ",K/N" for the seeds.
 *
 * Invariants: every library loads and the file reads before any run (bad
 * input writes nothing and exits 2); rows are printed only once every run
 * has ended; the table depends only on the file and the libraries, except
 * the CPU seconds of --seeds and the date on the measured line.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "replay.h"
#include "triage.h"

#define VERSIONS_MAX_LIBS 64

static const char versions_help[] =
	"usage: whopper versions FILE.whop LIB... [--seeds N] [--finding ID]\n"
	"\n"
	"Replay a recording on each SQLite library (oldest first), following\n"
	"the recorded schedule as long as the library makes the same calls\n"
	"(as 'replay --follow'), and print one row per library: version,\n"
	"source id, fails or passes (with the signature), the first divergence\n"
	"from the recorded schedule, and whether it came before the failure.\n"
	"Then the fix window: the last failing and the first passing version.\n"
	"--seeds N: where the schedule diverged before the failure (or it is\n"
	"not known), also run N other seeds of the same configuration on that\n"
	"library and print how many failed and the CPU seconds taken.\n"
	"--finding ID: measure the catalogue entry ID, which the recording\n"
	"shows: the seeds run on every library, those whose signature names ID\n"
	"are counted, and the catalogue's versions, fixed and measured lines\n"
	"for it are printed last.\n"
	"Exit status: 0 the table was printed, 2 bad usage or input, 3 a run\n"
	"could not be run.\n";

struct version_row {
	const char *path;              /* LIB as given */
	const struct wh_sqlapi *api;   /* loaded from it */
	uint32_t given_index;          /* position on the command line */
	struct replay_follow f;        /* the followed replay */
	bool same_as_recorded;         /* the recording's own SQLite */
	bool recording_fails;          /* the file's verdict is "fail" */
	bool same_run;                 /* its trace hash is the file's */
	uint64_t seed_fails;           /* --seeds: runs that failed */
	uint64_t seed_named;           /* --finding: of those, naming it */
	uint64_t seed_runs;            /* --seeds: runs made (0: none) */
	double seed_cpu_s;             /* --seeds: CPU seconds */
};

/* Oldest first; the order given breaks ties (no pointer order). */
static bool row_before(const struct version_row *a, const struct version_row *b)
{
	int va = wh_sqlapi_version_number(a->api), vb = wh_sqlapi_version_number(b->api);
	return va != vb ? va < vb : a->given_index < b->given_index;
}

static bool row_fails(const struct version_row *r)
{
	return r->f.out.exit_code == WH_EXIT_FINDING;
}

/* "yes", "no" or "unknown": did the divergence come before the failure
 * at fail_us (the recording's when ref_known, else the row's own)? "-"
 * when neither the row nor the recording failed. */
static const char *row_preceded(const struct version_row *r, bool ref_known, uint64_t ref_us)
{
	if (!row_fails(r) && !r->recording_fails)
		return "-";
	/* A compact recording has no schedule to follow: the run is only
	 * the same seed and flags, so only the trace hash can say it ran
	 * the recorded one. */
	if (r->f.recorded_steps == 0)
		return r->same_run ? "no" : "unknown";
	if (!replay_follow_diverged(&r->f))
		return "no";
	uint64_t at = replay_follow_time_us(&r->f);
	if (ref_known)
		return at <= ref_us ? "yes" : "no";
	if (r->f.fail_known)
		return at <= r->f.fail_us ? "yes" : "no";
	return "unknown";
}

/* Does a triage signature name catalogue entry id: "known:A+B" or
 * "new:regression:A+B" with id one of the names? */
static bool signature_names(const char *sig, const char *id)
{
	const char *list = NULL;
	if (strncmp(sig, "known:", 6) == 0)
		list = sig + 6;
	else if (strncmp(sig, "new:regression:", 15) == 0)
		list = sig + 15;
	size_t n = strlen(id);
	WH_ASSERT(n > 0);
	for (const char *p = list; p != NULL;) {
		if (strncmp(p, id, n) == 0 && (p[n] == '\0' || p[n] == '+'))
			return true;
		p = strchr(p, '+');
		p = p != NULL ? p + 1 : NULL;
	}
	return false;
}

/* N seeds after the recorded one, same flags, no tape; those whose
 * signature names finding (when not NULL) are counted apart. */
static int row_seeds(struct version_row *r, const struct replay_file *rf, uint64_t seeds,
		     const char *finding)
{
	clock_t c0 = clock();
	for (uint64_t i = 0; i < seeds; i++) {
		struct run_opts o;
		int rc = replay_opts(rf, &o);
		if (rc != 0)
			return rc;
		o.cfg.api = r->api;
		o.target_lib = r->path;
		o.cfg.seed += 1 + i;
		struct run_outcome out;
		rc = run_once(&o, NULL, false, &out, NULL, NULL);
		if (rc == WH_EXIT_INTERNAL || rc == WH_EXIT_USAGE)
			return rc;
		r->seed_fails += rc == WH_EXIT_FINDING;
		r->seed_named += finding != NULL && signature_names(out.signature, finding);
		r->seed_runs++;
	}
	r->seed_cpu_s = (double)(clock() - c0) / CLOCKS_PER_SEC;
	WH_ASSERT_EQ(r->seed_runs, seeds);
	return 0;
}

static bool same_identity(const struct replay_file *rf, const struct wh_sqlapi *api)
{
	char opts[20];
	snprintf(opts, sizeof opts, "%016" PRIx64, wh_sqlapi_options_hash(api));
	return strcmp(rf->sqlite_version, wh_sqlapi_version(api)) == 0 &&
	       strcmp(rf->sqlite_source_id, wh_sqlapi_source_id(api)) == 0 &&
	       (rf->sqlite_options[0] == '\0' || strcmp(rf->sqlite_options, opts) == 0);
}

static void print_table(const char *path, const struct replay_file *rf, struct version_row *rows,
			uint32_t n, bool ref_known, uint64_t ref_us, bool seeds, const char *finding)
{
	printf("versions: %s, recorded on SQLite %s: %s%s\n", path, rf->sqlite_version,
	       strcmp(rf->verdict, "fail") == 0 ? "fails " : "passes",
	       strcmp(rf->verdict, "fail") == 0 ? rf->signature : "");
	if (ref_known)
		printf("failure point: t=%" PRIu64 " us (the recording's, on its own SQLite)\n", ref_us);
	printf("%-10s %-30s %-6s %-44s %-22s %-8s%s\n", "version", "source id", "result",
	       "signature", "divergence", "before", seeds ? " seeds" : "");
	for (uint32_t i = 0; i < n; i++) {
		const struct version_row *r = &rows[i];
		char div[64] = "none";
		if (r->f.recorded_steps == 0)
			snprintf(div, sizeof div, "unknown");
		else if (replay_follow_diverged(&r->f))
			snprintf(div, sizeof div, "step %" PRIu64 "/%" PRIu64, replay_follow_step(&r->f),
				 r->f.recorded_steps);
		char seed_col[96] = "";
		if (r->seed_runs > 0 && finding != NULL)
			snprintf(seed_col, sizeof seed_col,
				 " %" PRIu64 "/%" PRIu64 " fail, %" PRIu64 " with it, %.1f s CPU",
				 r->seed_fails, r->seed_runs, r->seed_named, r->seed_cpu_s);
		else if (r->seed_runs > 0)
			snprintf(seed_col, sizeof seed_col, " %" PRIu64 "/%" PRIu64 " fail, %.1f s CPU",
				 r->seed_fails, r->seed_runs, r->seed_cpu_s);
		else if (seeds)
			snprintf(seed_col, sizeof seed_col, " -");
		printf("%-10s %-30.30s %-6s %-44s %-22s %-8s%s\n", wh_sqlapi_version(r->api),
		       wh_sqlapi_source_id(r->api), row_fails(r) ? "fails" : "passes",
		       row_fails(r) ? r->f.out.signature : "-", div,
		       row_preceded(r, ref_known, ref_us), seed_col);
	}
	/* The fix window: the newest failing version, and the oldest passing
	 * one after it. */
	int last_fail = -1, first_pass = -1;
	for (uint32_t i = 0; i < n; i++)
		if (row_fails(&rows[i]))
			last_fail = (int)i;
	for (uint32_t i = (uint32_t)(last_fail + 1); i < n; i++)
		if (!row_fails(&rows[i])) {
			first_pass = (int)i;
			break;
		}
	if (last_fail < 0)
		printf("fix window: no library fails\n");
	else if (first_pass < 0)
		printf("fix window: last failing %s, no passing version after it\n",
		       wh_sqlapi_version(rows[last_fail].api));
	else
		printf("fix window: last failing %s, first passing %s%s\n",
		       wh_sqlapi_version(rows[last_fail].api), wh_sqlapi_version(rows[first_pass].api),
		       strcmp(row_preceded(&rows[first_pass], ref_known, ref_us), "yes") == 0
			       ? " (its schedule diverged before the failure: the pass may be luck)"
			       : "");
}

/* A row as a catalogue measurement; false (with why) when it says
 * nothing decisive and no seeds ran. The followed run decides alone when
 * it showed the finding, or when it held the recorded schedule to the
 * failure point and passed; a run that failed otherwise (a new violation
 * names the signature, hiding what else it recognised) decides nothing. */
static bool row_measure(const struct version_row *r, bool ref_known, uint64_t ref_us,
			const char *finding, struct triage_measure *m, const char **why)
{
	memset(m, 0, sizeof *m);
	m->version = wh_sqlapi_version_number(r->api);
	bool held = strcmp(row_preceded(r, ref_known, ref_us), "no") == 0;
	if (row_fails(r) && signature_names(r->f.out.signature, finding))
		m->word = TRIAGE_MEASURE_FAILS;
	else if (held && !row_fails(r) && r->seed_named == 0)
		m->word = TRIAGE_MEASURE_PASSES;
	m->seeds_failed = (uint32_t)r->seed_named;
	m->seeds = (uint32_t)r->seed_runs;
	WH_ASSERT(m->seeds_failed <= m->seeds);
	if (m->word == TRIAGE_MEASURE_NONE && m->seeds == 0) {
		*why = "the recording did not show it there, nor pass on its schedule, and no seeds ran (give --seeds N)";
		return false;
	}
	return true;
}

/* The catalogue lines of the measurement: versions, fixed, measured. */
static void print_catalogue(const struct version_row *rows, uint32_t n, bool ref_known,
			    uint64_t ref_us, const char *finding)
{
	WH_ASSERT(n > 0 && n <= VERSIONS_MAX_LIBS);
	struct triage_measure *m = wh_calloc(n, sizeof *m);
	printf("catalogue lines for %s:\n", finding);
	for (uint32_t i = 0; i < n; i++) {
		const char *why = NULL;
		if (!row_measure(&rows[i], ref_known, ref_us, finding, &m[i], &why)) {
			printf("  none: SQLite %s says nothing: %s\n", wh_sqlapi_version(rows[i].api),
			       why);
			goto out_free;
		}
		if (i > 0 && m[i].version == m[i - 1].version) {
			printf("  none: two libraries are SQLite %s; a measurement has one per version\n",
			       wh_sqlapi_version(rows[i].api));
			goto out_free;
		}
	}
	int lo, hi, fixed;
	if (!triage_measure_range(m, n, &lo, &hi, &fixed)) {
		printf("  none: no library shows %s\n", finding);
		goto out_free;
	}
	if (hi == 0)
		printf("versions %d-\n", lo);
	else
		printf("versions %d-%d\nfixed %d\n", lo, hi, fixed);
	time_t now = time(NULL);
	struct tm tm;
	char date[16];
	strftime(date, sizeof date, "%Y-%m-%d", gmtime_r(&now, &tm));
	printf("measured %s", date);
	for (uint32_t i = 0; i < n; i++) {
		char token[64];
		triage_measure_format(&m[i], token, sizeof token);
		printf(" %s", token);
	}
	printf("\n");
out_free:
	free(m);
}

int cmd_versions(int argc, char **argv)
{
	const char *path = NULL;
	const char *lib_paths[VERSIONS_MAX_LIBS];
	uint32_t lib_count = 0;
	uint64_t seeds = 0;
	const char *finding = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(versions_help, stdout);
			return WH_EXIT_PASS;
		} else if (strcmp(argv[i], "--finding") == 0) {
			finding = i + 1 < argc ? argv[++i] : "";
			if (*finding == '\0' || *finding == '-')
				return cli_usage_error("versions: --finding wants a catalogue id, not '%s'",
						       finding);
		} else if (strcmp(argv[i], "--seeds") == 0) {
			char *end = NULL;
			const char *v = i + 1 < argc ? argv[++i] : "";
			unsigned long long n = strtoull(v, &end, 10);
			if (*v < '0' || *v > '9' || *end != '\0' || n > 1000000)
				return cli_usage_error("versions: --seeds wants a count, not '%s'", v);
			seeds = n;
		} else if (argv[i][0] == '-') {
			return cli_usage_error("versions: unknown option '%s'", argv[i]);
		} else if (path == NULL) {
			path = argv[i];
		} else if (lib_count < VERSIONS_MAX_LIBS) {
			lib_paths[lib_count++] = argv[i];
		} else {
			return cli_usage_error("versions: more than %d libraries", VERSIONS_MAX_LIBS);
		}
	}
	if (path == NULL || lib_count == 0)
		return cli_usage_error("versions: usage: whopper versions FILE.whop LIB... [--seeds N] [--finding ID]");

	struct replay_file rf;
	char err[1024];
	int rc = replay_read(path, &rf, err, sizeof err);
	if (rc != 0)
		return cli_usage_error("%s", err);
	struct version_row *rows = wh_calloc(lib_count, sizeof *rows);
	struct run_opts o;
	rc = replay_opts(&rf, &o);
	err[0] = '\0';
	if (rc == 0)
		rc = replay_check_compatible(path, &rf, &o.cfg, NULL, err, sizeof err);
	if (rc != 0 && err[0])
		cli_usage_error("%s", err);
	if (rc == 0 && finding != NULL && !signature_names(rf.signature, finding))
		rc = cli_usage_error("versions: %s: its signature '%s' does not name --finding %s",
				     path, rf.signature, finding);
	for (uint32_t i = 0; i < lib_count && rc == 0; i++) {
		rows[i].path = lib_paths[i];
		rows[i].given_index = i;
		rows[i].recording_fails = strcmp(rf.verdict, "fail") == 0;
		if (wh_sqlapi_load(lib_paths[i], &rows[i].api, err, sizeof err) != 0)
			rc = cli_usage_error("versions: %s", err);
	}
	if (rc != 0)
		goto out_free;
	/* Insertion sort: a few libraries, and stable. */
	for (uint32_t i = 1; i < lib_count; i++)
		for (uint32_t j = i; j > 0 && row_before(&rows[j], &rows[j - 1]); j--) {
			struct version_row t = rows[j];
			rows[j] = rows[j - 1];
			rows[j - 1] = t;
		}

	bool ref_known = false;
	uint64_t ref_us = 0;
	for (uint32_t i = 0; i < lib_count && rc == 0; i++) {
		struct version_row *r = &rows[i];
		rc = replay_opts(&rf, &o);
		if (rc != 0)
			break;
		o.cfg.api = r->api;
		o.target_lib = r->path;
		o.quiet = true;
		int run_rc = replay_follow_run(&rf, &o, true, false, &r->f);
		if (run_rc == WH_EXIT_INTERNAL || run_rc == WH_EXIT_USAGE) {
			rc = cli_usage_error("versions: %s: the replay could not run", r->path);
			rc = WH_EXIT_INTERNAL;
			break;
		}
		r->same_as_recorded = same_identity(&rf, r->api);
		r->same_run = r->f.out.trace_hash == rf.trace_hash;
		if (r->same_as_recorded && !replay_follow_diverged(&r->f) && r->f.fail_known &&
		    !ref_known) {
			ref_known = true;
			ref_us = r->f.fail_us;
		}
	}
	for (uint32_t i = 0; i < lib_count && rc == 0 && seeds > 0; i++)
		if (finding != NULL ||
		    (strcmp(row_preceded(&rows[i], ref_known, ref_us), "no") != 0 &&
		     strcmp(row_preceded(&rows[i], ref_known, ref_us), "-") != 0))
			rc = row_seeds(&rows[i], &rf, seeds, finding);
	if (rc == 0)
		print_table(path, &rf, rows, lib_count, ref_known, ref_us, seeds > 0, finding);
	if (rc == 0 && finding != NULL)
		print_catalogue(rows, lib_count, ref_known, ref_us, finding);
out_free:
	free(rows);
	replay_file_free(&rf);
	return rc;
}
