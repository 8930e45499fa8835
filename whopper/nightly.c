/*
 * nightly.c - `whopper nightly`: the stress job people run every night.
 *
 * The job runs many seeded `whopper run` children over a configuration
 * matrix (nightly_matrix.c), --jobs at a time, and writes what they found
 * into --out DIR: results.jsonl (one line per finished run, appended and
 * flushed as each run ends: the job's source of truth), then summary.json,
 * junit.xml and report.html (nightly_report.c), each written atomically.
 *
 * Children are spawned with libuv from /proc/self/exe (the very binary that
 * runs the job, even if it is rebuilt meanwhile; see choose_spawn_file),
 * each in its own session so a terminal's Ctrl-C reaches only the job. Each
 * child gets a pipe for stdout (its one JSON object) and for stderr (the
 * crash handler's backtrace), and a timer: after --run-timeout it is sent
 * SIGABRT, so its crash handler prints where it hung, and SIGKILL two
 * seconds later. (A job killed with SIGKILL cannot stop its children; they
 * end on their own, each bounded by its transaction count.)
 *
 * Replay files: every matrix run records itself (`run --record
 * DIR/scratch/run-INDEX.whop`; the flag is added at spawn time and is not
 * part of the run's arguments in results.jsonl). When the run ends, its
 * recording is moved to DIR/repro/STEM.whop if the run becomes its failure
 * signature's representative (nl_agg_would_represent: the lowest index),
 * and deleted otherwise (every pass, every later run of a known signature).
 * So disk use is one replay file per signature plus one per running child,
 * and DIR/repro/STEM.whop is always the recording of the representative
 * the reports name. The move happens before the result line is written: a
 * job killed in between re-runs that index on --resume, which records the
 * same bytes again.
 *
 * The job's state machine (one libuv loop, no threads):
 *
 *   START --> REPLAY --> MATRIX --> SHRINK --> DONE
 *
 *   START   options checked, --out prepared (a new job writes job.json; a
 *           resumed one reads it and results.jsonl, cutting a torn last
 *           line); DIR/scratch/ emptied.
 *   REPLAY  this shard's corpus entries are replayed first (`whopper replay
 *           FILE.whop --json`, or the recorded arguments of an old .args
 *           entry); the matrix waits until all of them finished, so every
 *           nightly reports its known failures (still failing, failing
 *           differently, fixed, stale) before anything new.
 *   MATRIX  run indices of this shard (i % N == I) not yet in results.jsonl
 *           are launched in increasing order while fewer than --jobs run,
 *           until --runs are done (running children finish) or the runs'
 *           time under --time is up (running children are killed and not
 *           counted: see "Budget").
 *   SHRINK  each new signature whose representative left a replay file,
 *           and that has no shrunk repro yet, is shrunk: `whopper shrink
 *           DIR/repro/STEM.whop --out DIR/shrunk/STEM.whop --time-limit
 *           BUDGET` in the same --jobs slots, after the runs (so the
 *           representative is final and a shrink never competes with
 *           runs). Known and expected signatures are not shrunk. A shrink
 *           that fails or is cut leaves no file in DIR/shrunk/; the reports
 *           say why.
 *   DONE    no child left: new signatures are kept in the corpus (the
 *           representative's replay file, or an .args entry when there is
 *           none), the reports are written, DIR/scratch/ is removed, the
 *           exit status is chosen.
 *
 * Budget: --time bounds the whole session, shrinking included. Replays and
 * runs stop at the deadline, less a shrinking reserve (min(--shrink-time,
 * a quarter of --time)) once a new signature waits to be shrunk; children
 * still running then are killed a tick early and not counted (--resume
 * runs them again). Each shrink gets the time left, shared among the waves
 * of shrinks still to start, at most --shrink-time; one that would get
 * less than a second is skipped with a note. A shrinker is killed a few
 * seconds past its own budget. Whatever ended past the deadline is named
 * in the reports and on the console with how late it was.
 *
 * A failure stop (SIGINT/SIGTERM, a job error, a run rejecting the user's
 * run flags) skips to DONE, killing the running children; a killed child's
 * run is not a result: it is not written, and --resume runs it again.
 * SIGINT/SIGTERM during SHRINK only cuts the shrinking short: every run is
 * done by then, so the job ends as if it had no shrink budget left.
 *
 * Invariants:
 *   - A matrix run's arguments depend on (base seed, index) only, so a
 *     shard, a resumed job and a merge all agree on what run i is. Under
 *     --explore they depend on the earlier generations' results too
 *     (nightly_explore.c): a generation's runs are launched only once
 *     every earlier generation has ended and been folded into the pool,
 *     so --jobs still changes nothing; shards and --resume are refused.
 *   - results.jsonl holds each finished run exactly once: an index found in
 *     it is never launched again, a line is written only for a child that
 *     ended by itself (or by the run timeout), and a line is complete before
 *     the next one starts (one fwrite + fflush per line; a torn last line
 *     from a hard kill is cut on resume).
 *   - A slot (one child) is freed only after the close callbacks of all
 *     four of its libuv handles have run.
 *   - Nothing in the matrix or in the children's arguments reads a clock;
 *     wall time only measures runs and stamps results.
 *
 * Labels: each result is labelled new, known (a catalogued SQLite finding)
 * or expected (the configuration excuses it) from the child's triage
 * object (nightly_results.c). Only new signatures are shrunk and kept in
 * the corpus; known and expected ones are counted and reported after the
 * new ones.
 *
 * Exit status: 0 no new failure (known and expected failures never count);
 * 1 a new failure whose signature is not in the corpus; 2 bad usage
 * (including run flags a child rejected); 3 the job itself failed or was
 * interrupted before it finished.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "nightly_int.h"
/* After nightly_int.h: engine/sched.h's enum must be declared before the
 * system <sched.h> defines SCHED_RR as a macro (see nightly_uv.h). */
#include "nightly_uv.h"

extern char **environ;

static const char nightly_help[] =
	"usage: whopper nightly --runs N | --time SECONDS [OPTIONS] [-- RUN-FLAGS...]\n"
	"       whopper nightly merge [--out DIR] [--corpus DIR] DIR...\n"
	"\n"
	"Runs many seeded 'whopper run' children over a matrix of workloads,\n"
	"journal modes, synchronous levels, fault profiles, connection counts,\n"
	"schedulers, lock models, devices and pragmas (cache_size, mmap_size,\n"
	"wal_autocheckpoint, page_size), drawn per run from the base seed and\n"
	"the run's index.\n"
	"\n"
	"  --runs N               run indices 0..N-1 (this shard's share of them)\n"
	"  --time SECONDS         the whole job, shrinking included, in SECONDS: once\n"
	"                         a new failure waits, runs stop early enough to\n"
	"                         leave shrinking min(--shrink-time, a quarter);\n"
	"                         runs still going then are killed, not counted;\n"
	"                         the reports say what ran past it and by how much;\n"
	"                         with --resume, SECONDS more\n"
	"  --jobs N               children at a time (default: online CPUs)\n"
	"  --shard I/N            only indices i with i % N == I (and corpus entries\n"
	"                         likewise); needs an explicit --seed so all shards\n"
	"                         draw the same matrix\n"
	"  --seed BASE            base seed of the matrix (default: the clock; it is\n"
	"                         printed and stored in DIR/job.json)\n"
	"  --workloads A,B,...    workloads to draw from (default: every built-in);\n"
	"                         one a target's SQLite is too old for (\\requires)\n"
	"                         is not drawn for it, and the reports say so\n"
	"  --corpus DIR           replay DIR's failures first; keep new ones there\n"
	"                         (as replay files: DIR/STATUS-HASH.whop)\n"
	"  --known FILE           more catalogued findings, passed (as an absolute\n"
	"                         path) to every run, replay and shrink\n"
	"  --target-lib PATH      the SQLite library the runs target (see 'whopper\n"
	"                         run --help'), loaded once here to check it, then\n"
	"                         passed (as an absolute path) to every run, replay\n"
	"                         and shrink; the reports name its version.\n"
	"                         Repeatable (up to 8): the libraries become a\n"
	"                         matrix dimension, runs in rows of one per library\n"
	"                         (same flags and seed), and the reports give each\n"
	"                         signature's runs and CPU seconds per library\n"
	"  --out DIR              where results go (default ./nightly-out); must not\n"
	"                         hold another job unless --resume is given\n"
	"  --resume               continue the job in --out DIR: finished runs are\n"
	"                         kept, the others run; options default to the job's\n"
	"  --run-timeout SECONDS  a run still going after this is a hang (default 300)\n"
	"  --shrink-time SECONDS  after the runs, shrink each new failure for at most\n"
	"                         this long ('whopper shrink', --jobs at a time;\n"
	"                         default 60, whole seconds, 0: off); known and\n"
	"                         expected ones are not shrunk\n"
	"  --dry-run              print each run's arguments (--runs only) and exit\n"
	"  --explore              steer the runs by coverage: in generations of 16,\n"
	"                         runs that reached new interleaving points join a\n"
	"                         pool, and 3 of 4 later runs mutate a pool member\n"
	"                         (new seed, and maybe another scheduler, more\n"
	"                         connections, faults, transactions or reorder\n"
	"                         window); deterministic from --seed whatever\n"
	"                         --jobs; not with --shard or --resume\n"
	"  -- RUN-FLAGS...        passed to every run, overriding the drawn flag\n"
	"\n"
	"merge: combines the results.jsonl of shard directories into one report\n"
	"  in --out DIR (default ./nightly-merged); --corpus DIR keeps the merged\n"
	"  new failures there.\n"
	"\n"
	"Outputs in DIR: results.jsonl (a line per finished run), summary.json,\n"
	"junit.xml, report.html, job.json (the job's parameters, for --resume),\n"
	"repro/ (a replay file per failure signature: whopper replay FILE) and\n"
	"shrunk/ (the shrunk replay file, its SQL and its swimlane picture).\n"
	"SIGINT/SIGTERM stops the job, keeping every finished run (while the\n"
	"shrinker runs, only the shrinking stops).\n"
	"\n"
	"Each failure is labelled new, known (a catalogued SQLite finding) or\n"
	"expected (the configuration excuses it), as the run's triage says;\n"
	"reports list new failures first, then known, then expected ones.\n"
	"\n"
	"exit status: 0 no new failure (known and expected failures never turn\n"
	"the night red), 1 a new failure (its signature not in the corpus),\n"
	"2 bad usage, 3 the job itself failed or was interrupted.\n";

#define RUN_TIMEOUT_DEFAULT_S 300.0
#define KILL_GRACE_MS 2000
#define TICK_MS 250
#define LOG_INTERVAL_S 60.0
#define SHRINK_GRACE_S 30.0 /* a shrink still going this long past its budget is killed */
/* Under --time, a shrink still going this long past its (shorter) budget
 * is killed: the shrinker looks at the clock every few candidates, then
 * verifies its result by one replay, which takes about a run's time. */
#define SHRINK_DEADLINE_GRACE_S 3.0
/* Under --time, at most this share of the budget is kept for shrinking:
 * the shrinker's first seconds give most of its reduction, and the runs
 * are what find things. */
#define SHRINK_RESERVE_SHARE 0.25
/* Seconds of the budget kept for what follows the last child: corpus
 * copies and the reports. */
#define FINISH_MARGIN_S 0.5

/* =====================================================================
 * Options
 * =================================================================== */

struct hook {
	uint64_t index;   /* matrix run it applies to */
	const char *kind; /* "crash" or "hang" (borrowed from argv) */
};

struct nl_opts {
	bool has_runs;
	uint64_t runs;
	bool has_time;
	double time_s;
	bool jobs_given;
	uint32_t jobs;
	bool shard_given;
	uint32_t shard_i, shard_n;
	bool seed_given;
	uint64_t base_seed;
	bool workloads_given;
	struct nl_strv workloads;
	const char *corpus;       /* borrowed from argv, or from the job file */
	char *corpus_owned;       /* set when corpus comes from job.json */
	const char *out;
	char *known_file;         /* --known FILE, made absolute (owned) */
	struct nl_strv target_libs; /* --target-lib FILE, made absolute, in the
				       order given: the matrix's targets */
	const struct wh_sqlapi *target; /* the runs' one SQLite: the linked one
					   without --target-lib, NULL with
					   several (the reports tally them) */
	bool resume;
	bool dry_run;
	bool explore;             /* --explore: runs steered by coverage */
	double run_timeout_s;
	bool shrink_time_given;
	double shrink_time_s;     /* per new signature; 0: no shrinking */
	struct hook hooks[NL_HOOKS_MAX];
	size_t hook_count;
	bool user_flags_given;
	struct nl_strv user_flags;
};

static void opts_free(struct nl_opts *o)
{
	nl_strv_free(&o->workloads);
	nl_strv_free(&o->user_flags);
	free(o->corpus_owned);
	free(o->known_file);
	nl_strv_free(&o->target_libs);
}

/* --target-lib FILE (repeatable: each library is a value of the matrix's
 * target dimension): loaded here, so a library whopper cannot drive is
 * refused before any child runs, and its identity is at hand for the
 * reports. Absolute in the children's arguments, like --known; a library
 * given twice counts once. */
static int add_target_lib(struct nl_opts *o, const char *v)
{
	if (v == NULL || *v == '\0')
		return cli_usage_error("--target-lib: missing PATH");
	char *abs = realpath(v, NULL);
	if (abs == NULL)
		return cli_usage_error("--target-lib: %s: cannot load: %s", v, strerror(errno));
	for (size_t i = 0; i < o->target_libs.count; i++) {
		if (strcmp(o->target_libs.v[i], abs) == 0) {
			free(abs);
			return 0;
		}
	}
	if (o->target_libs.count == NL_TARGETS_MAX) {
		free(abs);
		return cli_usage_error("--target-lib: at most %d libraries", NL_TARGETS_MAX);
	}
	char err[1024];
	const struct wh_sqlapi *api;
	if (wh_sqlapi_load(abs, &api, err, sizeof err) != 0) {
		free(abs);
		return cli_usage_error("--target-lib: %s", err);
	}
	nl_strv_push(&o->target_libs, abs);
	o->target = o->target_libs.count == 1 ? api : NULL;
	free(abs);
	return 0;
}

/* A duration in seconds ("90", "0.5") in [lo, hi]: 0 or a usage error. */
static int parse_seconds(const char *flag, const char *s, double lo, double hi, double *out)
{
	if (s == NULL)
		return cli_usage_error("%s: missing value", flag);
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
		return cli_usage_error("%s: expected seconds in [%g, %g], got '%s'", flag, lo, hi, s);
	*out = v;
	return 0;
}

static int parse_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (s == NULL)
		return cli_usage_error("%s: missing value", flag);
	char *end;
	errno = 0;
	unsigned long long v = s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
	if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0' || v < lo || v > hi)
		return cli_usage_error("%s: expected a number in [%llu, %llu], got '%s'", flag,
				       (unsigned long long)lo, (unsigned long long)hi, s);
	*out = v;
	return 0;
}

static int parse_shard(const char *s, uint32_t *i, uint32_t *n)
{
	if (s == NULL)
		return cli_usage_error("--shard: missing value");
	unsigned long long a, b;
	char *end;
	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		goto out_bad;
	a = strtoull(s, &end, 10);
	if (errno != 0 || *end != '/' || end[1] < '0' || end[1] > '9')
		goto out_bad;
	b = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0' || b < 1 || b > NL_SHARDS_MAX || a >= b)
		goto out_bad;
	*i = (uint32_t)a;
	*n = (uint32_t)b;
	return 0;
out_bad:
	return cli_usage_error("--shard: expected I/N with 0 <= I < N <= %u, got '%s'",
			       NL_SHARDS_MAX, s);
}

static int parse_workloads(const char *s, struct nl_strv *out)
{
	if (s == NULL || *s == '\0')
		return cli_usage_error("--workloads: missing value");
	const char *p = s;
	for (;;) {
		size_t len = strcspn(p, ",");
		char name[1024];
		if (len == 0 || len >= sizeof name)
			return cli_usage_error("--workloads: bad list '%s'", s);
		memcpy(name, p, len);
		name[len] = '\0';
		const struct workload *wl;
		char err[512];
		if (strchr(name, '\n') || wl_resolve(name, &wl, err, sizeof err) != 0)
			return cli_usage_error("--workloads: %s", strchr(name, '\n') ? "newline in a name" : err);
		nl_strv_push(out, name);
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return 0;
}

static int parse_hook(const char *s, struct nl_opts *o)
{
	if (s == NULL)
		return cli_usage_error("--test-hook-run: missing value");
	char *end;
	errno = 0;
	unsigned long long idx = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '=' ||
	    (strcmp(end + 1, "crash") != 0 && strcmp(end + 1, "hang") != 0))
		return cli_usage_error("--test-hook-run: expected INDEX=crash|hang, got '%s'", s);
	if (o->hook_count == NL_HOOKS_MAX)
		return cli_usage_error("--test-hook-run: at most %u", NL_HOOKS_MAX);
	o->hooks[o->hook_count++] = (struct hook){idx, end + 1};
	return 0;
}

/* argv[0] is "nightly". Returns 0, -1 after --help, or an exit code. */
static int parse_opts(int argc, char **argv, struct nl_opts *o)
{
	o->out = "nightly-out";
	o->target = &wh_sqlapi_linked;
	o->run_timeout_s = RUN_TIMEOUT_DEFAULT_S;
	o->shrink_time_s = NL_SHRINK_TIME_DEFAULT_S;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n = 0;
		int rc = 0;
		if (strcmp(a, "--") == 0) {
			o->user_flags_given = true;
			for (int k = i + 1; k < argc; k++)
				nl_strv_push(&o->user_flags, argv[k]);
			break;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(nightly_help, stdout);
			return -1;
		} else if (strcmp(a, "--resume") == 0) {
			o->resume = true;
			continue;
		} else if (strcmp(a, "--dry-run") == 0) {
			o->dry_run = true;
			continue;
		} else if (strcmp(a, "--explore") == 0) {
			o->explore = true;
			continue;
		} else if (strcmp(a, "--runs") == 0) {
			rc = parse_u64(a, v, 1, NL_RUNS_MAX, &o->runs);
			o->has_runs = true;
		} else if (strcmp(a, "--time") == 0) {
			rc = parse_seconds(a, v, 0.001, 7 * 86400.0, &o->time_s);
			o->has_time = true;
		} else if (strcmp(a, "--jobs") == 0) {
			rc = parse_u64(a, v, 1, NL_JOBS_MAX, &n);
			o->jobs = (uint32_t)n;
			o->jobs_given = true;
		} else if (strcmp(a, "--shard") == 0) {
			rc = parse_shard(v, &o->shard_i, &o->shard_n);
			o->shard_given = true;
		} else if (strcmp(a, "--seed") == 0) {
			rc = parse_u64(a, v, 0, UINT64_MAX, &o->base_seed);
			o->seed_given = true;
		} else if (strcmp(a, "--workloads") == 0) {
			nl_strv_free(&o->workloads);
			rc = parse_workloads(v, &o->workloads);
			o->workloads_given = true;
		} else if (strcmp(a, "--corpus") == 0) {
			if (v == NULL || *v == '\0')
				return cli_usage_error("--corpus: missing DIR");
			o->corpus = v;
		} else if (strcmp(a, "--known") == 0) {
			/* Absolute: the children run from the job's directory, but
			 * a repro command may be pasted anywhere. */
			if (v == NULL || *v == '\0')
				return cli_usage_error("--known: missing FILE");
			char *abs = realpath(v, NULL);
			if (abs == NULL)
				return cli_usage_error("--known: cannot read '%s': %s", v, strerror(errno));
			free(o->known_file);
			o->known_file = abs;
		} else if (strcmp(a, "--target-lib") == 0) {
			rc = add_target_lib(o, v);
		} else if (strcmp(a, "--out") == 0) {
			if (v == NULL || *v == '\0')
				return cli_usage_error("--out: missing DIR");
			o->out = v;
		} else if (strcmp(a, "--run-timeout") == 0) {
			rc = parse_seconds(a, v, 0.01, 86400.0, &o->run_timeout_s);
		} else if (strcmp(a, "--shrink-time") == 0) {
			rc = parse_seconds(a, v, 0, 86400.0, &o->shrink_time_s);
			o->shrink_time_given = true;
		} else if (strcmp(a, "--test-hook-run") == 0) {
			/* Hidden: the nightly's own tests make run INDEX crash or
			 * hang through WHOPPER_TEST_HOOK in that child only. */
			rc = parse_hook(v, o);
		} else {
			return cli_usage_error("nightly: unknown option '%s' (try 'whopper nightly --help')",
					       a);
		}
		if (rc != 0)
			return rc;
		i++; /* consumed the value */
	}
	if (o->has_runs && o->has_time)
		return cli_usage_error("--time: give either --runs or --time, not both");
	if (!o->resume && !o->has_runs && !o->has_time)
		return cli_usage_error("nightly: --runs N or --time SECONDS is required");
	if (o->dry_run && (o->has_time || o->resume))
		return cli_usage_error("--dry-run: needs --runs and a new job");
	/* An explore run's arguments depend on the results of every earlier
	 * generation: a shard sees only its own, a dry run none, and a
	 * resumed job would have to rebuild the pool from results.jsonl
	 * (not done yet). */
	if (o->explore && o->shard_given)
		return cli_usage_error("--explore: cannot be combined with --shard (its runs depend on every earlier run's coverage)");
	if (o->explore && o->resume)
		return cli_usage_error("--explore: cannot be combined with --resume yet");
	if (o->explore && o->dry_run)
		return cli_usage_error("--explore: cannot be combined with --dry-run (its runs depend on earlier runs' results)");
	if (!o->resume && o->shard_given && !o->seed_given)
		return cli_usage_error("--shard: needs an explicit --seed so every shard draws the same matrix");
	if (o->user_flags_given) {
		int rc = nl_matrix_check_user_flags(&o->user_flags);
		if (rc != 0)
			return rc;
	}
	if (!o->shard_given) {
		o->shard_i = 0;
		o->shard_n = 1;
	}
	if (!o->jobs_given) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		o->jobs = cpus < 1 ? 1 : cpus > (long)NL_JOBS_MAX ? NL_JOBS_MAX : (uint32_t)cpus;
	}
	return 0;
}

static void default_workloads(struct nl_strv *out)
{
	for (uint32_t i = 0; wl_builtin(i) != NULL; i++)
		nl_strv_push(out, wl_builtin(i)->name);
	WH_ASSERT(out->count > 0);
}

/* =====================================================================
 * The job's state
 * =================================================================== */

enum phase { PHASE_REPLAY, PHASE_MATRIX, PHASE_SHRINK, PHASE_DONE };

enum stop {
	STOP_NONE,
	STOP_COMPLETE,    /* every run of the shard is done (--runs) */
	STOP_TIME,        /* --time is up */
	STOP_INTERRUPTED, /* SIGINT/SIGTERM */
	STOP_CHILD_USAGE, /* a run rejected the run flags (exit 2) */
	STOP_JOB_ERROR,   /* spawning or writing results failed */
};

static const char *stop_name(enum stop s)
{
	static const char *const names[] = {"running",  "complete",    "time",
					    "interrupted", "bad-run-flags", "job-error"};
	WH_ASSERT((size_t)s < sizeof names / sizeof names[0]);
	return names[s];
}

struct job;

enum slot_kind {
	SLOT_RUN,    /* a matrix run: its result becomes a line */
	SLOT_REPLAY, /* a corpus replay: likewise */
	SLOT_SHRINK, /* `whopper shrink` of a new signature: no line */
};

/* One running child and its four libuv handles. */
struct slot {
	struct job *job;
	struct wh_queue link;   /* in job->running */
	enum slot_kind kind;
	size_t sig_index;       /* SLOT_SHRINK: into job->agg.sigs */
	double budget_s;        /* SLOT_SHRINK: its --time-limit */
	double grace_s;         /* SLOT_SHRINK: killed this long past budget_s */
	char record_path[4096 + 64]; /* SLOT_RUN: DIR/scratch/run-INDEX.whop */
	char shrunk_path[4096 + 64]; /* SLOT_SHRINK: DIR/shrunk/STEM.whop */
	uv_process_t proc;
	uv_pipe_t out_pipe;     /* child's stdout: the JSON result */
	uv_pipe_t err_pipe;     /* child's stderr: messages, backtrace */
	uv_timer_t timer;       /* --run-timeout, then the kill grace */
	int open_handles;       /* handles whose close callback is pending */
	bool exited;            /* exit callback ran */
	bool out_eof, err_eof;  /* pipes drained and closing */
	bool timed_out;         /* the run timeout fired */
	bool discard;           /* killed by the job's stop: not a result */
	bool finished;          /* result recorded (or discarded) */
	int64_t exit_status;
	int term_signal;
	struct nl_buf out;      /* stdout, at most NL_STDOUT_MAX */
	bool out_cut;           /* stdout went over the limit */
	struct nl_buf err;      /* stderr: head and tail, NL_STDERR_MAX */
	double mono_start;      /* spawn time, for run_s */
	char workload[256];     /* for signatures without templates */
	struct nl_result r;     /* the result being built (runs, replays) */
};

struct replay_item {
	const struct nl_corpus_entry *entry; /* borrowed from job->corpus */
	const char *expect;                  /* signature at job start */
};

struct job {
	uv_loop_t loop;
	uv_signal_t sig_int, sig_term;
	uv_timer_t tick;
	bool closing;                 /* loop handles closed: DONE follows */
	const struct nl_opts *o;
	struct nl_matrix matrix;
	bool explore;                 /* --explore: runs drawn by nl_explore_args */
	struct nl_explore pool;       /* --explore: generations folded so far */
	struct nl_skips skips;        /* pairs \requires changes (nl_matrix_plan) */
	bool time_mode;
	uint64_t runs;                /* --runs N (all shards) */
	char shard[32];               /* "I/N" */
	const char *exe_display;
	char spawn_file[4096];        /* see choose_spawn_file */
	char **env_base;              /* environ minus WHOPPER_TEST_HOOK */
	size_t env_count;
	FILE *results;
	char results_path[4096];
	char scratch_dir[4096];       /* DIR/scratch: recordings of running runs */
	char repro_dir[4096];         /* DIR/repro: a recording per signature */
	char shrunk_dir[4096];        /* DIR/shrunk: shrinker outputs */
	struct nl_agg agg;
	struct nl_map corpus_sigs;    /* signatures in the corpus at job start */
	struct nl_corpus_entry *corpus;
	size_t corpus_count;
	struct replay_item *replays;  /* this shard's, not yet recorded */
	size_t replay_count, next_replay;
	size_t *shrinks;              /* sig indices to shrink (SHRINK phase) */
	size_t shrink_count, next_shrink;
	size_t shrinks_done;          /* shrink children finished */
	bool shrink_cut;              /* SIGINT/SIGTERM during SHRINK */
	enum phase phase;
	enum stop stop;
	bool exhausted;               /* no index left to launch */
	uint64_t cursor;              /* next candidate index */
	struct wh_queue running;      /* slots */
	uint32_t running_count;
	char child_usage[512];        /* first stderr line of a run that exited 2 */
	double mono_start, deadline;  /* deadline: --time, monotonic */
	double reserve_s;             /* --time: kept for shrinking (see runs_deadline) */
	struct nl_strv killed;        /* runs/replays killed when their time was up */
	struct nl_strv late;          /* children that ended past the deadline */
	uint64_t session_runs;        /* matrix results written by this session */
	uint64_t expected;            /* runs of this shard (--runs), else 0 */
	uint64_t resumed_runs;        /* runs found in results.jsonl at start */
	bool header_printed;
	bool tty;
	bool progress_shown;
	double last_log;
	char read_buf[64 << 10];      /* shared by all pipes; consumed in read_cb */
};

/* =====================================================================
 * Children: spawn, read, time out, reap
 * =================================================================== */

static void pump(struct job *j);
static void print_header(struct job *j);

static void slot_release(struct slot *s)
{
	struct job *j = s->job;
	WH_ASSERT(s->open_handles == 0);
	WH_ASSERT(s->finished);
	wh_queue_remove(&s->link);
	WH_ASSERT(j->running_count > 0);
	j->running_count--;
	nl_buf_free(&s->out);
	nl_buf_free(&s->err);
	nl_result_free(&s->r);
	free(s);
	pump(j);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct slot *s = h->data;
	WH_ASSERT(s->open_handles > 0);
	if (--s->open_handles == 0)
		slot_release(s);
}

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, on_handle_closed);
}

static void job_fail_stop(struct job *j, enum stop why);

/* A finished matrix run's recording: moved to DIR/repro/STEM.whop when the
 * run becomes its signature's representative, else deleted. A failed move
 * is reported and the recording dropped: the reports then name the run's
 * command line instead, which reproduces it too. */
static void keep_or_drop_recording(struct job *j, struct slot *s)
{
	const struct nl_result *r = &s->r;
	WH_ASSERT(s->kind == SLOT_RUN && s->record_path[0] != '\0');
	if (!nl_file_exists(s->record_path))
		return; /* a crash, hang or error exit writes none */
	if (nl_agg_would_represent(&j->agg, r)) {
		char stem[NL_STEM_MAX], dst[4096 + NL_STEM_MAX + 8];
		nl_artifact_stem(r->status, r->signature, stem);
		snprintf(dst, sizeof dst, "%s/%s.whop", j->repro_dir, stem);
		if (rename(s->record_path, dst) == 0)
			return;
		fprintf(stderr, "whopper: nightly: warning: cannot keep '%s' as '%s': %s\n",
			s->record_path, dst, strerror(errno));
	}
	if (unlink(s->record_path) != 0 && errno != ENOENT)
		fprintf(stderr, "whopper: nightly: warning: cannot remove '%s': %s\n",
			s->record_path, strerror(errno));
}

/* Record one finished run or replay: classify, keep its recording, write
 * its line, fold it in. */
static void record_result(struct job *j, struct slot *s)
{
	struct nl_result *r = &s->r;
	WH_ASSERT(s->kind == SLOT_RUN || s->kind == SLOT_REPLAY);
	r->run_s = nl_mono_now() - s->mono_start;
	r->finished_at = nl_wall_now();
	nl_classify(r, s->exit_status, s->term_signal, s->timed_out, s->out.data ? s->out.data : "",
		    s->out.len, s->err.data ? s->err.data : "", s->workload);
	if (r->kind == NL_KIND_RUN && r->status == NL_ERROR && r->exit_code == WH_EXIT_USAGE) {
		/* The run refused its arguments: the drawn ones are valid, so
		 * the user's run flags (or a workload file) are at fault. */
		if (j->child_usage[0] == '\0')
			snprintf(j->child_usage, sizeof j->child_usage, "%s",
				 r->detail ? r->detail : "exit status 2");
		unlink(s->record_path);
		job_fail_stop(j, STOP_CHILD_USAGE);
		return;
	}
	print_header(j);
	uint32_t unused;
	r->in_corpus = r->signature && nl_map_get(&j->corpus_sigs, r->signature, &unused);
	/* Before the line: see "Replay files" at the top. */
	if (s->kind == SLOT_RUN)
		keep_or_drop_recording(j, s);
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);
	WH_ASSERT(m != NULL);
	nl_result_write(m, r);
	fclose(m);
	WH_ASSERT(len > 0 && line[len - 1] == '\n');
	/* One fwrite and a flush per line, so a kill leaves at most one torn
	 * line at the end, which --resume cuts. */
	if (fwrite(line, 1, len, j->results) != len || fflush(j->results) != 0) {
		fprintf(stderr, "whopper: nightly: cannot write '%s': %s\n", j->results_path,
			strerror(errno));
		free(line);
		job_fail_stop(j, STOP_JOB_ERROR);
		return;
	}
	free(line);
	bool added = nl_agg_add(&j->agg, r);
	WH_ASSERT(added); /* launched runs were absent from results.jsonl */
	if (j->explore && r->kind == NL_KIND_RUN)
		nl_explore_add(&j->pool, r);
	if (r->kind == NL_KIND_RUN)
		j->session_runs++;
}

/* Remove what a shrink that did not succeed may have left. */
static void shrink_remove_outputs(const char *whop_path)
{
	static const char *const suffixes[] = {".whop", ".sql", ".svg", ".trace"};
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		struct nl_buf p = {0};
		nl_sibling_path(whop_path, suffixes[i], &p);
		unlink(p.data);
		nl_buf_free(&p);
	}
}

/* A shrink child ended: note its result on the signature. */
static void record_shrink(struct job *j, struct slot *s)
{
	WH_ASSERT(s->kind == SLOT_SHRINK);
	WH_ASSERT(s->sig_index < j->agg.sig_count);
	struct nl_sig *sig = &j->agg.sigs[s->sig_index];
	struct nl_buf note = {0};
	struct nl_buf svg = {0};
	nl_sibling_path(s->shrunk_path, ".svg", &svg);
	bool ok = !s->discard && !s->timed_out && s->term_signal == 0 &&
		  s->exit_status == WH_EXIT_PASS && nl_file_exists(s->shrunk_path) &&
		  nl_file_exists(svg.data);
	nl_buf_free(&svg);
	const char *out = s->out.data ? s->out.data : "";
	const char *err = s->err.data ? s->err.data : "";
	size_t out_line = strcspn(out, "\n"), err_line = strcspn(err, "\n");
	if (ok) {
		free(sig->shrunk);
		sig->shrunk = wh_strdup(s->shrunk_path);
		nl_buf_append(&note, out, out_line); /* "whopper shrink: SIG: 137 -> 5 statements, ..." */
	} else {
		shrink_remove_outputs(s->shrunk_path);
		if (s->discard)
			nl_buf_puts(&note, "not shrunk: the job was interrupted");
		else if (s->timed_out)
			nl_buf_printf(&note, "not shrunk: the shrinker was still going %.0f s past its budget of %.0f s; killed",
				      s->grace_s, s->budget_s);
		else if (s->term_signal)
			nl_buf_printf(&note, "not shrunk: the shrinker died by signal %d: %.*s",
				      s->term_signal, (int)(err_line < 400 ? err_line : 400), err);
		else
			nl_buf_printf(&note, "not shrunk: the shrinker exited %lld: %.*s",
				      (long long)s->exit_status, (int)(err_line < 400 ? err_line : 400),
				      err);
	}
	free(sig->shrink_note);
	sig->shrink_note = note.data ? note.data : wh_strdup("shrunk");
	j->shrinks_done++;
}

/* Under --time, a child that ended past the deadline is named in the
 * reports with how late it was (none should: runs are killed before it,
 * shrinks get what is left; a shrinker slow to stop is the usual one). */
static void note_lateness(struct job *j, const struct slot *s)
{
	double over_s = nl_mono_now() - j->deadline;
	if (!j->time_mode || over_s <= 0)
		return;
	struct nl_buf what = {0};
	if (s->kind == SLOT_SHRINK)
		nl_buf_printf(&what, "shrink of %s", j->agg.sigs[s->sig_index].signature);
	else if (s->kind == SLOT_RUN)
		nl_buf_printf(&what, "run %lld", (long long)s->r.index);
	else
		nl_buf_printf(&what, "replay of %s", s->r.entry);
	nl_buf_printf(&what, ": ended %.1f s past the budget", over_s);
	nl_strv_push(&j->late, what.data);
	nl_buf_free(&what);
}

static void maybe_finish(struct slot *s)
{
	if (!s->exited || !s->out_eof || !s->err_eof || s->finished)
		return;
	s->finished = true;
	note_lateness(s->job, s);
	if (s->kind == SLOT_SHRINK)
		record_shrink(s->job, s);
	else if (!s->discard)
		record_result(s->job, s);
	else if (s->kind == SLOT_RUN)
		unlink(s->record_path); /* killed by the job's stop: not a result */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct slot *s = h->data;
	(void)suggested;
	*buf = uv_buf_init(s->job->read_buf, sizeof s->job->read_buf);
}

/* Keep stderr's head (the first messages) and its tail (the backtrace is
 * printed last), dropping the middle of a child that prints too much. */
static void err_append(struct nl_buf *b, const char *p, size_t n)
{
	nl_buf_append(b, p, n);
	if (b->len <= NL_STDERR_MAX)
		return;
	size_t tail_start = b->len - NL_STDERR_MAX / 2;
	WH_ASSERT(tail_start > NL_STDERR_HEAD);
	memmove(b->data + NL_STDERR_HEAD, b->data + tail_start, b->len - tail_start);
	b->len = NL_STDERR_HEAD + (b->len - tail_start);
	b->data[b->len] = '\0';
	WH_ASSERT(b->len <= NL_STDERR_MAX);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct slot *s = stream->data;
	bool is_out = stream == (uv_stream_t *)&s->out_pipe;
	if (nread > 0) {
		if (is_out) {
			if (s->out.len + (size_t)nread <= NL_STDOUT_MAX)
				nl_buf_append(&s->out, buf->base, (size_t)nread);
			else
				s->out_cut = true;
		} else {
			err_append(&s->err, buf->base, (size_t)nread);
		}
		return;
	}
	if (nread == 0)
		return; /* EAGAIN */
	/* UV_EOF or a read error: either way this pipe is done. */
	if (is_out)
		s->out_eof = true;
	else
		s->err_eof = true;
	close_handle((uv_handle_t *)stream);
	maybe_finish(s);
}

static void on_exit_cb(uv_process_t *proc, int64_t exit_status, int term_signal)
{
	struct slot *s = proc->data;
	s->exited = true;
	s->exit_status = exit_status;
	s->term_signal = term_signal;
	uv_timer_stop(&s->timer);
	close_handle((uv_handle_t *)&s->timer);
	close_handle((uv_handle_t *)proc);
	maybe_finish(s);
}

static void on_kill_grace(uv_timer_t *t)
{
	struct slot *s = t->data;
	if (!s->exited)
		uv_process_kill(&s->proc, SIGKILL);
}

static void on_run_timeout(uv_timer_t *t)
{
	struct slot *s = t->data;
	if (s->exited)
		return;
	/* SIGABRT first: the child's crash handler prints where it hung.
	 * SIGKILL follows if the handler cannot run (stuck signal mask). */
	s->timed_out = true;
	uv_process_kill(&s->proc, SIGABRT);
	uv_timer_start(&s->timer, on_kill_grace, KILL_GRACE_MS, 0);
}

/* Kill every running child; their runs are not results. */
static void kill_all(struct job *j)
{
	struct wh_queue *q;
	WH_QUEUE_FOREACH(q, &j->running)
	{
		struct slot *s = wh_container_of(q, struct slot, link);
		if (s->finished)
			continue;
		s->discard = true;
		if (!s->exited)
			uv_process_kill(&s->proc, SIGKILL);
	}
}

static void job_fail_stop(struct job *j, enum stop why)
{
	WH_ASSERT(why == STOP_CHILD_USAGE || why == STOP_JOB_ERROR || why == STOP_INTERRUPTED);
	if (j->stop == STOP_CHILD_USAGE || j->stop == STOP_JOB_ERROR)
		return; /* the first failure explains the job */
	j->stop = why;
	kill_all(j);
}

/* The child's environment: the job's, without WHOPPER_TEST_HOOK unless this
 * run is hooked, so a hook reaches only the run it names. */
static char **child_env(const struct job *j, const char *hook, char *hook_buf, size_t hook_len)
{
	char **env = wh_calloc(j->env_count + 2, sizeof *env);
	memcpy(env, j->env_base, j->env_count * sizeof *env);
	if (hook) {
		snprintf(hook_buf, hook_len, "WHOPPER_TEST_HOOK=%s", hook);
		env[j->env_count] = hook_buf;
	}
	return env;
}

/* Start a child with arguments args (after the binary's name), the
 * environment hook (or NULL) and a timer of timeout_s. 0, or -1 after a
 * message; on failure the slot's handles are closing and it releases
 * itself. */
static int slot_spawn(struct job *j, struct slot *s, const struct nl_strv *args,
		      const char *hook, double timeout_s)
{
	WH_ASSERT(args->count > 0);
	WH_ASSERT(timeout_s > 0);
	s->job = j;
	s->mono_start = nl_mono_now();
	s->r.started_at = nl_wall_now();
	s->proc.data = s->out_pipe.data = s->err_pipe.data = s->timer.data = s;
	wh_queue_insert_tail(&j->running, &s->link);
	j->running_count++;
	if (s->kind != SLOT_SHRINK) {
		struct nl_config c;
		nl_config_from_args(&s->r.args, &c);
		snprintf(s->workload, sizeof s->workload, "%s", c.workload);
	}

	WH_ASSERT(uv_pipe_init(&j->loop, &s->out_pipe, 0) == 0);
	WH_ASSERT(uv_pipe_init(&j->loop, &s->err_pipe, 0) == 0);
	WH_ASSERT(uv_timer_init(&j->loop, &s->timer) == 0);
	s->open_handles = 3;

	char **argv = wh_calloc(args->count + 2, sizeof *argv);
	argv[0] = (char *)j->exe_display; /* uv_spawn takes char **; not written */
	memcpy(argv + 1, args->v, args->count * sizeof *argv);
	char hook_buf[64];
	char **env = child_env(j, hook, hook_buf, sizeof hook_buf);
	uv_stdio_container_t stdio[3];
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&s->out_pipe;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&s->err_pipe;
	uv_process_options_t po;
	memset(&po, 0, sizeof po);
	po.exit_cb = on_exit_cb;
	po.file = j->spawn_file;
	po.args = argv;
	po.env = env;
	/* Its own session: a terminal's Ctrl-C reaches only the job, which
	 * then stops its children itself (and discards their runs). */
	po.flags = UV_PROCESS_DETACHED;
	po.stdio_count = 3;
	po.stdio = stdio;
	int rc = uv_spawn(&j->loop, &s->proc, &po);
	free(argv);
	free(env);
	s->open_handles++; /* the process handle must be closed even on failure */
	if (rc != 0) {
		fprintf(stderr, "whopper: nightly: cannot start a child: %s\n", uv_strerror(rc));
		s->finished = true;
		s->exited = s->out_eof = s->err_eof = true;
		close_handle((uv_handle_t *)&s->proc);
		close_handle((uv_handle_t *)&s->out_pipe);
		close_handle((uv_handle_t *)&s->err_pipe);
		close_handle((uv_handle_t *)&s->timer);
		return -1;
	}
	WH_ASSERT(uv_read_start((uv_stream_t *)&s->out_pipe, on_alloc, on_read) == 0);
	WH_ASSERT(uv_read_start((uv_stream_t *)&s->err_pipe, on_alloc, on_read) == 0);
	uint64_t timeout_ms = (uint64_t)(timeout_s * 1000.0);
	uv_timer_start(&s->timer, on_run_timeout, timeout_ms ? timeout_ms : 1, 0);
	return 0;
}

/* --known FILE for a child, when the job has one. Added at spawn time,
 * like --record: it changes how a failure is labelled, not the run. */
static void push_known(const struct job *j, struct nl_strv *args)
{
	if (j->o->known_file == NULL)
		return;
	nl_strv_push(args, "--known");
	nl_strv_push(args, j->o->known_file);
}

/* --target-lib LIB for a child, when lib is not NULL. A matrix run has it
 * in its drawn arguments (nightly_matrix.c); a replay file names its
 * library in its header, and the replay must be given it on the command
 * line. */
static void push_target(const char *lib, struct nl_strv *args)
{
	if (lib == NULL)
		return;
	nl_strv_push(args, "--target-lib");
	nl_strv_push(args, lib);
}

/* The library a corpus entry is replayed on: the one it was recorded on
 * when the job targets it; else the job's first target, where the replay
 * is refused as recorded elsewhere (stale, like an entry from another
 * SQLite version); without targets, the linked SQLite (NULL). */
static const char *replay_target(const struct job *j, const struct nl_corpus_entry *e)
{
	const struct nl_strv *libs = &j->o->target_libs;
	for (size_t i = 0; e->library != NULL && i < libs->count; i++)
		if (strcmp(libs->v[i], e->library) == 0)
			return libs->v[i];
	return libs->count > 0 ? libs->v[0] : NULL;
}

/* The --target-lib in args, or NULL (the last one, as run parses it). */
static const char *target_in(const struct nl_strv *args)
{
	const char *lib = NULL;
	for (size_t i = 0; i + 1 < args->count; i++)
		if (strcmp(args->v[i], "--target-lib") == 0)
			lib = args->v[i + 1];
	return lib;
}

static const char *hook_for(const struct nl_opts *o, uint64_t index)
{
	for (size_t i = 0; i < o->hook_count; i++)
		if (o->hooks[i].index == index)
			return o->hooks[i].kind;
	return NULL;
}

static int launch_run(struct job *j, uint64_t index)
{
	struct slot *s = wh_calloc(1, sizeof *s);
	s->kind = SLOT_RUN;
	s->r.kind = NL_KIND_RUN;
	s->r.index = (int64_t)index;
	s->r.shard = wh_strdup(j->shard);
	if (j->explore) {
		int64_t parent;
		nl_explore_args(&j->matrix, &j->pool, index, &s->r.args, &s->r.seed, &parent);
		s->r.mutation = parent >= 0;
		s->r.parent = parent >= 0 ? (uint64_t)parent : 0;
	} else {
		nl_matrix_args(&j->matrix, index, &s->r.args, &s->r.seed);
	}
	const char *hook = hook_for(j->o, index);
	s->r.hook = hook ? wh_strdup(hook) : NULL;
	snprintf(s->record_path, sizeof s->record_path, "%s/run-%llu.whop", j->scratch_dir,
		 (unsigned long long)index);
	/* --record only on the command line: it names a scratch file, not the
	 * run, so it stays out of r.args (and of results.jsonl). */
	struct nl_strv args;
	nl_strv_copy(&args, &s->r.args);
	nl_strv_push(&args, "--record");
	nl_strv_push(&args, s->record_path);
	push_known(j, &args);
	int rc = slot_spawn(j, s, &args, s->r.hook, j->o->run_timeout_s);
	nl_strv_free(&args);
	return rc;
}

static int launch_replay(struct job *j, const struct replay_item *it)
{
	struct slot *s = wh_calloc(1, sizeof *s);
	s->kind = SLOT_REPLAY;
	s->r.kind = NL_KIND_REPLAY;
	s->r.index = -1;
	s->r.entry = wh_strdup(it->entry->name);
	s->r.expect = wh_strdup(it->expect);
	s->r.shard = wh_strdup(j->shard);
	nl_corpus_replay_setup(it->entry, &s->r);
	const char *lib = s->r.replay_file ? replay_target(j, it->entry) : target_in(&s->r.args);
	if (s->r.replay_file)
		push_target(lib, &s->r.args);
	struct nl_strv args = {0};
	if (s->r.replay_file) {
		nl_strv_push(&args, "replay");
		nl_strv_push(&args, s->r.replay_file);
		nl_strv_push(&args, "--json");
		push_target(lib, &args);
	} else {
		nl_strv_copy(&args, &s->r.args);
	}
	push_known(j, &args);
	int rc = slot_spawn(j, s, &args, s->r.hook, j->o->run_timeout_s);
	nl_strv_free(&args);
	return rc;
}

/* Shrink signature sig_index for at most budget_s (whole seconds, >= 1:
 * what `whopper shrink --time-limit` takes). */
static int launch_shrink(struct job *j, size_t sig_index, double budget_s)
{
	WH_ASSERT(sig_index < j->agg.sig_count);
	WH_ASSERT(budget_s >= 1);
	const struct nl_sig *sig = &j->agg.sigs[sig_index];
	WH_ASSERT(sig->recording != NULL);
	struct slot *s = wh_calloc(1, sizeof *s);
	s->kind = SLOT_SHRINK;
	s->sig_index = sig_index;
	s->budget_s = (double)(uint64_t)budget_s;
	s->grace_s = j->time_mode ? SHRINK_DEADLINE_GRACE_S : SHRINK_GRACE_S;
	char stem[NL_STEM_MAX], budget[32];
	nl_artifact_stem(sig->status, sig->signature, stem);
	snprintf(s->shrunk_path, sizeof s->shrunk_path, "%s/%s.whop", j->shrunk_dir, stem);
	snprintf(budget, sizeof budget, "%llu", (unsigned long long)s->budget_s);
	struct nl_strv args = {0};
	nl_strv_push(&args, "shrink");
	nl_strv_push(&args, sig->recording);
	nl_strv_push(&args, "--out");
	nl_strv_push(&args, s->shrunk_path);
	nl_strv_push(&args, "--time-limit");
	nl_strv_push(&args, budget);
	push_known(j, &args);
	push_target(target_in(&sig->rep.args), &args);
	int rc = slot_spawn(j, s, &args, NULL, s->budget_s + s->grace_s);
	nl_strv_free(&args);
	return rc;
}

/* The next index of this shard not yet in results.jsonl. Under --explore,
 * false with *wait set when that index's generation may not be drawn yet
 * (an earlier one is still running): the cursor stays, and the slot that
 * completes the generation pumps again. */
static bool next_index(struct job *j, uint64_t *out, bool *wait)
{
	const uint64_t limit = j->time_mode ? (uint64_t)INT64_MAX : j->runs;
	*wait = false;
	while (j->cursor < limit) {
		uint64_t i = j->cursor;
		if (j->explore && !nl_explore_ready(&j->pool, i)) {
			WH_ASSERT(j->running_count > 0); /* they complete the generation */
			*wait = true;
			return false;
		}
		j->cursor += j->o->shard_n;
		if (!nl_bitset_test(&j->agg.done, i)) {
			WH_ASSERT(i % j->o->shard_n == j->o->shard_i);
			*out = i;
			return true;
		}
	}
	return false;
}

/* =====================================================================
 * The loop: pump, tick, signals
 * =================================================================== */

static void close_loop_handles(struct job *j)
{
	if (j->closing)
		return;
	j->closing = true;
	uv_close((uv_handle_t *)&j->sig_int, NULL);
	uv_close((uv_handle_t *)&j->sig_term, NULL);
	uv_close((uv_handle_t *)&j->tick, NULL);
}

static bool is_failure_stop(enum stop s)
{
	return s == STOP_INTERRUPTED || s == STOP_CHILD_USAGE || s == STOP_JOB_ERROR;
}

/* Point each signature at the files kept for it in --out. */
static void find_artifacts(struct job *j)
{
	struct nl_strv dirs = {0};
	nl_strv_push(&dirs, j->o->out);
	for (size_t i = 0; i < j->agg.sig_count; i++)
		nl_sig_find_artifacts(&j->agg.sigs[i], &dirs);
	nl_strv_free(&dirs);
}

static void set_note(struct nl_sig *sig, const char *note)
{
	free(sig->shrink_note);
	sig->shrink_note = wh_strdup(note);
}

/* The SHRINK phase's work: every new signature with a replay file and no
 * shrunk repro yet (one from an earlier session of this job counts). The
 * others get a note saying why they are not shrunk. */
static void plan_shrinks(struct job *j)
{
	WH_ASSERT(j->shrinks == NULL);
	find_artifacts(j);
	j->shrinks = wh_calloc(j->agg.sig_count ? j->agg.sig_count : 1, sizeof *j->shrinks);
	for (size_t i = 0; i < j->agg.sig_count; i++) {
		struct nl_sig *sig = &j->agg.sigs[i];
		if (!sig->is_new || sig->shrunk)
			continue;
		if (j->o->shrink_time_s < 1)
			set_note(sig, "not shrunk: --shrink-time below one second");
		else if (sig->recording == NULL && sig->rep.kind == NL_KIND_REPLAY)
			set_note(sig, "not shrunk: first seen replaying a corpus entry, whose replay file was kept for another signature");
		else if (sig->recording == NULL)
			set_note(sig, "not shrunk: the run left no replay file (it crashed, hung or exited with an error)");
		else
			j->shrinks[j->shrink_count++] = i;
	}
	WH_ASSERT(j->shrink_count <= j->agg.sig_count);
}

/* Will the SHRINK phase have work? A new signature whose representative
 * is a run that failed a check (crashes, hangs and errors leave no replay
 * file to shrink). */
static bool shrink_waiting(const struct job *j)
{
	if (j->o->shrink_time_s < 1)
		return false;
	for (size_t i = 0; i < j->agg.sig_count; i++) {
		const struct nl_sig *sig = &j->agg.sigs[i];
		if (sig->is_new && sig->rep.kind == NL_KIND_RUN && sig->status == NL_FAIL)
			return true;
	}
	return false;
}

/* Under --time, when runs and replays must stop: the deadline, less the
 * shrinking reserve once there is something to shrink. So a night without
 * a new failure runs for all of --time, and one with a new failure still
 * has time to shrink it. */
static double runs_deadline(const struct job *j)
{
	WH_ASSERT(j->time_mode);
	return j->deadline - (shrink_waiting(j) ? j->reserve_s : 0);
}

/* Under --time, once the runs' time is up: every run and replay still
 * going is killed and not counted (--resume would run it again), so the
 * deadline holds whatever run-timeout they had. Called a tick early (see
 * on_tick), so they are gone by then. */
static void kill_runs_at_deadline(struct job *j)
{
	struct wh_queue *q;
	WH_QUEUE_FOREACH(q, &j->running)
	{
		struct slot *s = wh_container_of(q, struct slot, link);
		if (s->finished || s->discard || s->kind == SLOT_SHRINK)
			continue;
		s->discard = true;
		if (!s->exited)
			uv_process_kill(&s->proc, SIGKILL);
		struct nl_buf what = {0};
		if (s->kind == SLOT_RUN)
			nl_buf_printf(&what, "run %lld", (long long)s->r.index);
		else
			nl_buf_printf(&what, "replay of %s", s->r.entry);
		nl_strv_push(&j->killed, what.data);
		nl_buf_free(&what);
	}
}

/* What the next shrink may have, under --time: the time left (less the
 * finishing margin) shared among the waves of shrinks still to start
 * (--jobs at a time), each capped by --shrink-time. Without --time, just
 * --shrink-time. */
static double shrink_budget(const struct job *j)
{
	WH_ASSERT(j->next_shrink < j->shrink_count);
	if (!j->time_mode)
		return j->o->shrink_time_s;
	size_t left = j->shrink_count - j->next_shrink;
	size_t waves = (left + j->o->jobs - 1) / j->o->jobs;
	double share = (j->deadline - nl_mono_now() - FINISH_MARGIN_S) / (double)waves;
	return share < j->o->shrink_time_s ? share : j->o->shrink_time_s;
}

/* Launch one child of the current phase if one may be launched. True when
 * it started one (or tried to: a failed spawn stops the job). */
static bool launch_one(struct job *j)
{
	if (is_failure_stop(j->stop))
		return false;
	uint64_t index;
	switch (j->phase) {
	case PHASE_REPLAY:
		if (j->next_replay == j->replay_count)
			return false; /* the matrix waits for every replay to end */
		if (j->time_mode && nl_mono_now() >= runs_deadline(j)) {
			j->stop = j->stop == STOP_NONE ? STOP_TIME : j->stop;
			return false;
		}
		if (launch_replay(j, &j->replays[j->next_replay++]) != 0)
			job_fail_stop(j, STOP_JOB_ERROR);
		return true;
	case PHASE_MATRIX:
		if (j->stop != STOP_NONE || j->exhausted)
			return false;
		if (j->time_mode && nl_mono_now() >= runs_deadline(j)) {
			j->stop = STOP_TIME;
			kill_runs_at_deadline(j);
			return false;
		}
		bool wait;
		if (!next_index(j, &index, &wait)) {
			j->exhausted = !wait;
			return false;
		}
		if (launch_run(j, index) != 0)
			job_fail_stop(j, STOP_JOB_ERROR);
		return true;
	case PHASE_SHRINK:
		while (!j->shrink_cut && j->next_shrink < j->shrink_count) {
			double budget_s = shrink_budget(j);
			size_t sig_index = j->shrinks[j->next_shrink++];
			if (budget_s < 1) {
				set_note(&j->agg.sigs[sig_index],
					 "not shrunk: --time left less than a second for it");
				j->shrinks_done++;
				continue;
			}
			if (launch_shrink(j, sig_index, budget_s) != 0)
				job_fail_stop(j, STOP_JOB_ERROR);
			return true;
		}
		return false;
	case PHASE_DONE:
		return false;
	}
	WH_UNREACHABLE();
}

/* Nothing runs and the current phase has nothing left to launch: move on.
 * False when the job is done. */
static bool next_phase(struct job *j)
{
	WH_ASSERT(j->running_count == 0);
	if (is_failure_stop(j->stop)) {
		j->phase = PHASE_DONE;
		return false;
	}
	switch (j->phase) {
	case PHASE_REPLAY:
		j->phase = PHASE_MATRIX;
		return true;
	case PHASE_MATRIX:
		if (j->stop == STOP_NONE) {
			WH_ASSERT(j->exhausted);
			j->stop = STOP_COMPLETE;
		}
		plan_shrinks(j);
		j->phase = PHASE_SHRINK;
		return true;
	case PHASE_SHRINK:
	case PHASE_DONE:
		j->phase = PHASE_DONE;
		return false;
	}
	WH_UNREACHABLE();
}

/* Launch what may be launched; end the loop when nothing runs and nothing
 * is left. Called at start, on every freed slot, on every tick and signal. */
static void pump(struct job *j)
{
	if (j->closing)
		return;
	/* Each pass either leaves children running or moves one phase on, so
	 * there are at most as many passes as phases. */
	for (int pass = 0;; pass++) {
		WH_ASSERT(pass <= PHASE_DONE + 1);
		while (j->running_count < j->o->jobs && launch_one(j))
			;
		if (j->running_count > 0)
			return;
		if (!next_phase(j))
			break;
	}
	WH_ASSERT(j->phase == PHASE_DONE);
	close_loop_handles(j);
}

/* The job's one-line header on stderr. Printed once the first run has
 * been accepted (first result or first tick), so that run flags a child
 * rejects still give a one-line usage error. */
static void print_header(struct job *j)
{
	if (j->header_printed)
		return;
	j->header_printed = true;
	const struct nl_opts *o = j->o;
	fprintf(stderr, "whopper nightly: base seed %llu, shard %s, ", (unsigned long long)o->base_seed,
		j->shard);
	if (j->time_mode)
		fprintf(stderr, "%.0f s", o->time_s);
	else
		fprintf(stderr, "%llu runs (%llu in this shard, %llu done before)",
			(unsigned long long)o->runs, (unsigned long long)j->expected,
			(unsigned long long)j->resumed_runs);
	fprintf(stderr, ", %u jobs, %zu corpus replays, out %s\n", o->jobs, j->replay_count, o->out);
	char target[1024];
	if (o->target_libs.count == 0) {
		cli_target_describe(&wh_sqlapi_linked, target, sizeof target);
		fprintf(stderr, "whopper nightly: target %s\n", target);
	}
	for (size_t i = 0; i < o->target_libs.count; i++) {
		const struct wh_sqlapi *api;
		char err[1024];
		/* Loaded when the options were parsed: this finds it again. */
		int lrc = wh_sqlapi_load(o->target_libs.v[i], &api, err, sizeof err);
		WH_ASSERT_EQ(lrc, 0);
		cli_target_describe(api, target, sizeof target);
		fprintf(stderr, "whopper nightly: target %s\n", target);
	}
	for (size_t i = 0; i < j->skips.count; i++) {
		const struct nl_skip *x = &j->skips.v[i];
		if (x->include)
			fprintf(stderr, "whopper nightly: %s runs without %s on %s", x->workload,
				x->include, x->library);
		else
			fprintf(stderr, "whopper nightly: %s is not drawn for %s", x->workload,
				x->library);
		fprintf(stderr, " (SQLite %s): needs %s%s%s%s, %s\n", x->version, x->needs,
			x->reason[0] ? " (" : "", x->reason, x->reason[0] ? ")" : "", x->declared_at);
	}
}

static void format_duration(double s, char out[32])
{
	if (s < 0 || s > 1e7) {
		strcpy(out, "?");
		return;
	}
	unsigned long t = (unsigned long)(s + 0.5);
	if (t >= 3600)
		snprintf(out, 32, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(out, 32, "%lu:%02lu", t / 60, t % 60);
}

static void progress(struct job *j, bool force_log)
{
	double now = nl_mono_now();
	double elapsed = now - j->mono_start;
	double rate = elapsed > 0 ? (double)j->session_runs / elapsed : 0;
	uint64_t failed = j->agg.run_count - j->agg.by_status[NL_PASS];
	double left;
	if (j->time_mode)
		left = j->deadline > now ? j->deadline - now : 0;
	else
		left = rate > 0 ? (double)(j->expected - j->agg.run_count) / rate : -1;
	char left_s[32];
	format_duration(left < 0 ? -1 : left, left_s);
	char line[256];
	if (j->phase == PHASE_SHRINK)
		snprintf(line, sizeof line, "whopper nightly: %llu runs done; shrinking new signatures: %zu of %zu done (at most %.0f s each)",
			 (unsigned long long)j->agg.run_count, j->shrinks_done, j->shrink_count,
			 j->o->shrink_time_s);
	else if (j->time_mode)
		snprintf(line, sizeof line, "whopper nightly: %llu runs, %llu failed (%llu new signatures), %.1f runs/s, %s left",
			 (unsigned long long)j->agg.run_count, (unsigned long long)failed,
			 (unsigned long long)nl_agg_new_count(&j->agg), rate, left_s);
	else
		snprintf(line, sizeof line, "whopper nightly: %llu/%llu runs, %llu failed (%llu new signatures), %.1f runs/s, %s left",
			 (unsigned long long)j->agg.run_count, (unsigned long long)j->expected,
			 (unsigned long long)failed, (unsigned long long)nl_agg_new_count(&j->agg),
			 rate, left_s);
	if (j->tty) {
		fprintf(stderr, "\r%s\033[K", line);
		j->progress_shown = true;
	} else if (force_log || now - j->last_log >= LOG_INTERVAL_S) {
		/* Logs (cron, CI) get a line now and then instead. */
		fprintf(stderr, "%s\n", line);
		j->last_log = now;
	}
}

static void on_tick(uv_timer_t *t)
{
	struct job *j = t->data;
	print_header(j);
	progress(j, false);
	/* The runs' time is up within a tick: stop them now rather than up
	 * to a tick late, so the deadline is kept, not overrun by a tick. */
	if (j->time_mode && (j->phase == PHASE_REPLAY || j->phase == PHASE_MATRIX) &&
	    nl_mono_now() + TICK_MS / 1000.0 >= runs_deadline(j) && !is_failure_stop(j->stop)) {
		if (j->stop == STOP_NONE)
			j->stop = STOP_TIME;
		kill_runs_at_deadline(j);
	}
	pump(j); /* notices --time running out while every slot is busy */
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct job *j = h->data;
	if (j->progress_shown)
		fputs("\r\033[K", stderr);
	if (j->phase == PHASE_SHRINK) {
		/* Every run is done: only the shrinking is cut short. */
		if (j->shrink_cut)
			return;
		fprintf(stderr, "whopper: nightly: %s: stopping the shrinker; every run is done\n",
			signum == SIGINT ? "SIGINT" : "SIGTERM");
		j->shrink_cut = true;
		kill_all(j);
		pump(j);
		return;
	}
	if (j->stop == STOP_INTERRUPTED)
		return;
	fprintf(stderr, "whopper: nightly: %s: stopping; finished runs are kept (continue with --resume)\n",
		signum == SIGINT ? "SIGINT" : "SIGTERM");
	job_fail_stop(j, STOP_INTERRUPTED);
	pump(j);
}

/* =====================================================================
 * Preparing --out and the corpus
 * =================================================================== */

static bool file_nonempty(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size > 0;
}

static void build_env(struct job *j)
{
	size_t n = 0;
	while (environ[n])
		n++;
	j->env_base = wh_calloc(n + 1, sizeof *j->env_base);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "WHOPPER_TEST_HOOK=", 18) != 0)
			j->env_base[j->env_count++] = environ[i];
}

/* New job: check DIR holds no other job, snapshot the corpus, write
 * job.json. Returns 0 or an exit code. */
static int prepare_new(struct job *j, struct nl_opts *o, struct nl_job_file *jf)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/results.jsonl", o->out);
	if (file_nonempty(path))
		return cli_usage_error("--out: '%s' already holds a job (use --resume to continue it, or another --out)",
				       o->out);
	if (!o->seed_given)
		o->base_seed = (uint64_t)nl_wall_now(); /* printed and stored */
	memset(jf, 0, sizeof *jf);
	jf->base_seed = o->base_seed;
	jf->time_mode = o->has_time;
	jf->runs = o->runs;
	jf->time_s = o->time_s;
	jf->shrink_time_s = o->shrink_time_s;
	jf->explore = o->explore;
	jf->shard_i = o->shard_i;
	jf->shard_n = o->shard_n;
	nl_strv_copy(&jf->workloads, &o->workloads);
	nl_strv_copy(&jf->user_flags, &o->user_flags);
	jf->corpus = o->corpus ? wh_strdup(o->corpus) : NULL;
	jf->known_file = o->known_file ? wh_strdup(o->known_file) : NULL;
	nl_strv_copy(&jf->target_libs, &o->target_libs);
	jf->created_at = nl_wall_now();
	jf->snapshot = wh_calloc(j->corpus_count ? j->corpus_count : 1, sizeof *jf->snapshot);
	for (size_t i = 0; i < j->corpus_count; i++) {
		jf->snapshot[i].name = wh_strdup(j->corpus[i].name);
		jf->snapshot[i].signature = wh_strdup(j->corpus[i].signature);
	}
	jf->snapshot_count = j->corpus_count;
	if (nl_write_atomic(o->out, "job.json", nl_job_file_fill, jf) != 0)
		return WH_EXIT_INTERNAL;
	/* "e": close-on-exec, so the children do not inherit the file. */
	j->results = fopen(j->results_path, "we");
	if (j->results == NULL) {
		fprintf(stderr, "whopper: nightly: cannot write '%s': %s\n", j->results_path,
			strerror(errno));
		return WH_EXIT_INTERNAL;
	}
	return 0;
}

static bool strv_same(const struct nl_strv *a, const struct nl_strv *b)
{
	return nl_strv_equal(a, b);
}

/* Resumed job: the job file supplies what was not given and must agree
 * with what was; results.jsonl is loaded (a torn last line cut). Returns 0
 * or an exit code. */
static int prepare_resume(struct job *j, struct nl_opts *o, struct nl_job_file *jf)
{
	int rc = nl_job_file_read(o->out, jf);
	if (rc == 1)
		return cli_usage_error("--resume: no job in '%s' (job.json is missing)", o->out);
	if (rc != 0)
		return WH_EXIT_INTERNAL;
	if (jf->explore)
		return cli_usage_error("--resume: the job in '%s' ran --explore, which cannot be resumed yet",
				       o->out);
	if (o->seed_given && o->base_seed != jf->base_seed)
		return cli_usage_error("--resume: --seed %llu differs from the job's %llu",
				       (unsigned long long)o->base_seed,
				       (unsigned long long)jf->base_seed);
	if (o->has_runs && (jf->time_mode || o->runs != jf->runs))
		return cli_usage_error("--resume: --runs differs from the job's (%s %llu)",
				       jf->time_mode ? "--time" : "--runs",
				       (unsigned long long)jf->runs);
	if (o->has_time && !jf->time_mode)
		return cli_usage_error("--resume: --time given, but the job runs --runs %llu",
				       (unsigned long long)jf->runs);
	if (o->shard_given && (o->shard_i != jf->shard_i || o->shard_n != jf->shard_n))
		return cli_usage_error("--resume: --shard %u/%u differs from the job's %u/%u",
				       o->shard_i, o->shard_n, jf->shard_i, jf->shard_n);
	if (o->workloads_given && !strv_same(&o->workloads, &jf->workloads))
		return cli_usage_error("--resume: --workloads differs from the job's");
	if (o->user_flags_given && !strv_same(&o->user_flags, &jf->user_flags))
		return cli_usage_error("--resume: the run flags after -- differ from the job's");
	if (o->corpus && (jf->corpus == NULL || strcmp(o->corpus, jf->corpus) != 0))
		return cli_usage_error("--resume: --corpus differs from the job's");
	if (o->known_file && (jf->known_file == NULL || strcmp(o->known_file, jf->known_file) != 0))
		return cli_usage_error("--resume: --known differs from the job's");
	if (o->known_file == NULL && jf->known_file)
		o->known_file = wh_strdup(jf->known_file);
	if (o->target_libs.count > 0 && !strv_same(&o->target_libs, &jf->target_libs))
		return cli_usage_error("--resume: --target-lib differs from the job's");
	for (size_t i = 0; o->target_libs.count == 0 && i < jf->target_libs.count; i++) {
		int trc = add_target_lib(o, jf->target_libs.v[i]);
		if (trc != 0)
			return trc;
	}
	o->base_seed = jf->base_seed;
	o->seed_given = true;
	o->runs = jf->runs;
	o->has_runs = !jf->time_mode;
	if (jf->time_mode && !o->has_time) {
		o->has_time = true;
		o->time_s = jf->time_s;
	}
	o->shard_i = jf->shard_i;
	o->shard_n = jf->shard_n;
	if (!o->shrink_time_given)
		o->shrink_time_s = jf->shrink_time_s;
	nl_strv_free(&o->workloads);
	nl_strv_copy(&o->workloads, &jf->workloads);
	nl_strv_free(&o->user_flags);
	nl_strv_copy(&o->user_flags, &jf->user_flags);
	if (jf->corpus && o->corpus == NULL) {
		o->corpus_owned = wh_strdup(jf->corpus);
		o->corpus = o->corpus_owned;
	}

	off_t valid = 0;
	rc = nl_results_load(j->results_path, &j->agg, &valid, NULL, NULL);
	if (rc != 0)
		return WH_EXIT_INTERNAL;
	if (access(j->results_path, F_OK) == 0 && truncate(j->results_path, valid) != 0) {
		fprintf(stderr, "whopper: nightly: cannot repair '%s': %s\n", j->results_path,
			strerror(errno));
		return WH_EXIT_INTERNAL;
	}
	j->results = fopen(j->results_path, "ae");
	if (j->results == NULL) {
		fprintf(stderr, "whopper: nightly: cannot write '%s': %s\n", j->results_path,
			strerror(errno));
		return WH_EXIT_INTERNAL;
	}
	return 0;
}

/* DIR/scratch (emptied: leftovers of a killed session are no results),
 * DIR/repro and DIR/shrunk. 0 or an exit code. */
static int prepare_dirs(struct job *j, const struct nl_opts *o)
{
	struct {
		char *path;
		const char *name;
	} dirs[] = {
		{j->scratch_dir, "scratch"},
		{j->repro_dir, "repro"},
		{j->shrunk_dir, "shrunk"},
	};
	_Static_assert(sizeof j->scratch_dir == sizeof j->repro_dir &&
			       sizeof j->repro_dir == sizeof j->shrunk_dir,
		       "the job's directories share one size");
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if (snprintf(dirs[i].path, sizeof j->scratch_dir, "%s/%s", o->out, dirs[i].name) >=
		    (int)sizeof j->scratch_dir) {
			fprintf(stderr, "whopper: --out: path too long: %s\n", o->out);
			return WH_EXIT_USAGE;
		}
		if ((i == 0 && nl_remove_flat_dir(dirs[i].path) != 0) || nl_mkdir_p(dirs[i].path) != 0) {
			fprintf(stderr, "whopper: nightly: cannot prepare '%s': %s\n", dirs[i].path,
				strerror(errno));
			return WH_EXIT_INTERNAL;
		}
	}
	return 0;
}

/* This shard's replays: snapshot entries at positions p % N == I, present
 * in the corpus directory and not yet recorded. */
static void plan_replays(struct job *j, const struct nl_job_file *jf)
{
	j->replays = wh_calloc(jf->snapshot_count ? jf->snapshot_count : 1, sizeof *j->replays);
	for (size_t p = 0; p < jf->snapshot_count; p++) {
		uint32_t unused;
		if (!nl_map_get(&j->corpus_sigs, jf->snapshot[p].signature, &unused))
			nl_map_put(&j->corpus_sigs, jf->snapshot[p].signature, (uint32_t)p);
		if (p % j->o->shard_n != j->o->shard_i ||
		    nl_map_get(&j->agg.replay_index, jf->snapshot[p].name, &unused))
			continue;
		for (size_t c = 0; c < j->corpus_count; c++) {
			if (strcmp(j->corpus[c].name, jf->snapshot[p].name) != 0)
				continue;
			j->replays[j->replay_count++] =
				(struct replay_item){&j->corpus[c], jf->snapshot[p].signature};
			break;
		}
	}
}

/* =====================================================================
 * The end: corpus, reports, exit status
 * =================================================================== */

static uint64_t shard_run_count(uint64_t runs, uint32_t i, uint32_t n)
{
	return runs > i ? (runs - i + n - 1) / n : 0;
}

static void print_summary(const struct job *j, double wall_s, const char *out)
{
	const struct nl_agg *a = &j->agg;
	printf("whopper nightly: %llu runs (%llu this session, %.1f runs/s): %llu pass, %llu fail, %llu hang, %llu crash, %llu error\n",
	       (unsigned long long)a->run_count, (unsigned long long)j->session_runs,
	       wall_s > 0 ? (double)j->session_runs / wall_s : 0.0,
	       (unsigned long long)a->by_status[NL_PASS], (unsigned long long)a->by_status[NL_FAIL],
	       (unsigned long long)a->by_status[NL_HANG], (unsigned long long)a->by_status[NL_CRASH],
	       (unsigned long long)a->by_status[NL_ERROR]);
	if (a->replay_count) {
		size_t counts[NL_OUTCOME__COUNT];
		nl_agg_outcome_counts(a, counts);
		printf("  corpus: %zu replayed", a->replay_count);
		for (int k = 0; k < NL_OUTCOME__COUNT; k++)
			printf(", %zu %s", counts[k], nl_outcome_name((enum nl_outcome)k));
		putchar('\n');
	}
	/* The reports' order: new signatures first, with their repro and
	 * shrunk files; then the ones excused, one line each. */
	size_t *order = wh_malloc((a->sig_count ? a->sig_count : 1) * sizeof *order);
	size_t n = 0;
	for (int rank = 0; rank <= 3; rank++)
		for (size_t i = 0; i < a->sig_count; i++)
			if (nl_sig_rank(&a->sigs[i]) == rank)
				order[n++] = i;
	WH_ASSERT(n == a->sig_count);
	for (size_t k = 0; k < n; k++) {
		const struct nl_sig *s = &a->sigs[order[k]];
		static const char *const tags[] = {"NEW     ", "new     ", "known   ", "expected"};
		printf("  %s %s (%llu run%s)", tags[nl_sig_rank(s)], s->signature,
		       (unsigned long long)s->count, s->count == 1 ? "" : "s");
		if (s->label == NL_LABEL_KNOWN || s->label == NL_LABEL_EXPECTED) {
			fputs(": ", stdout);
			nl_sig_about(stdout, s);
		} else if (!s->is_new) {
			fputs(": in the corpus since an earlier night", stdout);
		}
		fputc('\n', stdout);
		if (!s->is_new)
			continue;
		fputs("        repro: ", stdout);
		nl_sig_repro(stdout, s, j->exe_display);
		fputc('\n', stdout);
		if (s->shrunk) {
			struct nl_buf sql = {0};
			nl_sibling_path(s->shrunk, ".sql", &sql);
			fputs("        shrunk: ", stdout);
			nl_shell_arg(stdout, j->exe_display);
			fputs(" replay ", stdout);
			nl_shell_arg(stdout, s->shrunk);
			nl_target_arg(stdout, &s->rep);
			printf(" (SQL: %s)\n", sql.data);
			nl_buf_free(&sql);
		} else if (s->shrink_note) {
			printf("        %s\n", s->shrink_note);
		}
	}
	free(order);
	printf("  stopped: %s; outputs in %s/ (results.jsonl, summary.json, junit.xml, report.html)\n",
	       stop_name(j->stop), out);
}

static int finish_job(struct job *j, const struct nl_opts *o, double wall_s)
{
	int exit_code;
	bool write_failed = false;
	/* Keep each new signature's representative in the corpus. */
	find_artifacts(j);
	for (size_t i = 0; i < j->agg.sig_count; i++) {
		struct nl_sig *s = &j->agg.sigs[i];
		if (s->is_new && s->shrunk == NULL && s->shrink_note == NULL)
			set_note(s, is_failure_stop(j->stop)
					    ? "not shrunk: the job stopped before the shrinker ran (--resume continues it)"
					    : "not shrunk");
	}
	if (o->corpus && j->stop != STOP_CHILD_USAGE) {
		for (size_t i = 0; i < j->agg.sig_count; i++) {
			const struct nl_sig *s = &j->agg.sigs[i];
			if (!s->is_new)
				continue;
			/* The replay file: the run's recording, or for a failure
			 * first seen replaying an entry, that entry's file. */
			const char *recording = s->recording ? s->recording : s->rep.replay_file;
			if (nl_corpus_keep(o->corpus, &s->rep, recording, o->base_seed) != 0)
				write_failed = true;
		}
	}
	uint64_t new_count = nl_agg_new_count(&j->agg);
	if (j->stop == STOP_CHILD_USAGE) {
		fprintf(stderr, "whopper: --: a run rejected the run flags: %s\n", j->child_usage);
		exit_code = WH_EXIT_USAGE;
	} else if (j->stop == STOP_JOB_ERROR || write_failed) {
		exit_code = WH_EXIT_INTERNAL;
	} else if (new_count > 0) {
		exit_code = WH_EXIT_FINDING;
	} else if (j->stop == STOP_INTERRUPTED) {
		exit_code = WH_EXIT_INTERNAL;
	} else {
		exit_code = WH_EXIT_PASS;
	}
	bool complete = j->time_mode ? j->stop == STOP_TIME : j->agg.run_count == j->expected;
	struct nl_budget budget = {
		.time_s = o->time_s,
		.wall_s = wall_s,
		.reserve_s = j->reserve_s,
		.killed = &j->killed,
		.late = &j->late,
	};
	struct nl_job_info info = {
		.base_seed = o->base_seed,
		.shard = j->shard,
		.mode = j->time_mode ? "time" : "runs",
		.runs_planned = j->runs,
		.time_s = j->time_mode ? o->time_s : 0,
		.stop_reason = stop_name(j->stop),
		.complete = complete,
		.wall_s = wall_s,
		.exe_display = j->exe_display,
		.exit_code = exit_code,
		.merged_from = NULL,
		.budget = j->time_mode ? &budget : NULL,
		.target = o->target,
		.skips = &j->skips,
		.explore = j->explore,
		.explore_pool = j->pool.pool_count,
	};
	if (nl_reports_write(o->out, &j->agg, &info) != 0 && exit_code != WH_EXIT_USAGE)
		exit_code = WH_EXIT_INTERNAL;
	if (j->stop != STOP_CHILD_USAGE) {
		print_summary(j, wall_s, o->out);
		if (j->time_mode) {
			fputs("  budget: ", stdout);
			nl_budget_line(stdout, &budget);
			fputc('\n', stdout);
		}
		nl_print_totals(stdout, &j->agg); /* the last lines, as in the reports */
	}
	return exit_code;
}

/* =====================================================================
 * Entry point
 * =================================================================== */

static int dry_run(const struct nl_opts *o, const struct nl_matrix *m)
{
	for (uint64_t i = o->shard_i; i < o->runs; i += o->shard_n) {
		struct nl_strv argv = {0};
		uint64_t seed;
		nl_matrix_args(m, i, &argv, &seed);
		printf("%llu", (unsigned long long)i);
		for (size_t k = 0; k < argv.count; k++) {
			putchar(' ');
			nl_shell_arg(stdout, argv.v[k]);
		}
		putchar('\n');
		nl_strv_free(&argv);
	}
	return WH_EXIT_PASS;
}

const char *nl_exe_display(void)
{
	static char display[4096];
	if (display[0])
		return display;
	char exe[4096], cwd[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		strcpy(display, "whopper");
		return display;
	}
	exe[n] = '\0';
	/* A rebuilt binary leaves the running one unlinked; name the path. */
	const char deleted[] = " (deleted)";
	size_t dl = sizeof deleted - 1;
	if ((size_t)n > dl && strcmp(exe + n - dl, deleted) == 0)
		exe[n - dl] = '\0';
	size_t cl = getcwd(cwd, sizeof cwd) ? strlen(cwd) : 0;
	if (cl > 1 && strncmp(exe, cwd, cl) == 0 && exe[cl] == '/')
		snprintf(display, sizeof display, "%s", exe + cl + 1);
	else
		snprintf(display, sizeof display, "%s", exe);
	return display;
}

/* What children execute. /proc/self/exe is the very binary running the
 * job, even after a rebuild replaced the file (a night is long; the runs of
 * one job should test one binary). Under an emulator such as valgrind,
 * /proc/self/exe is the emulator, not us: stat tells them apart (the
 * emulator fakes readlink, not stat), and then the path is used. */
static void choose_spawn_file(struct job *j)
{
	struct stat self, by_path;
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
	path[n > 0 ? n : 0] = '\0';
	if (n > 0 && (stat("/proc/self/exe", &self) != 0 || stat(path, &by_path) != 0 ||
		      self.st_ino != by_path.st_ino || self.st_dev != by_path.st_dev))
		snprintf(j->spawn_file, sizeof j->spawn_file, "%s", path);
	else
		snprintf(j->spawn_file, sizeof j->spawn_file, "/proc/self/exe");
}

/* The matrix's workloads, run flags and targets, and which targets cannot
 * run which workloads (\requires). 0, or WH_EXIT_USAGE after the one-line
 * message (a target that can run none of the workloads). */
static int plan_matrix(struct job *j, const struct nl_opts *o)
{
	nl_strv_copy(&j->matrix.workloads, &o->workloads);
	nl_strv_copy(&j->matrix.user_flags, &o->user_flags);
	nl_strv_copy(&j->matrix.targets, &o->target_libs);
	char err[1024];
	if (nl_matrix_plan(&j->matrix, &j->skips, err, sizeof err) != 0)
		return cli_usage_error("%s", err);
	return 0;
}

static int run_job(struct nl_opts *o)
{
	struct job *j = wh_calloc(1, sizeof *j);
	struct nl_job_file jf;
	memset(&jf, 0, sizeof jf);
	int rc = 0;
	j->o = o;
	j->exe_display = nl_exe_display();
	choose_spawn_file(j);
	wh_queue_init(&j->running);
	/* A new job's matrix is checked before anything is written. */
	if (!o->resume) {
		if (o->workloads.count == 0)
			default_workloads(&o->workloads);
		rc = plan_matrix(j, o);
		if (rc != 0)
			goto out_free_job;
	}
	if (nl_mkdir_p(o->out) != 0) {
		fprintf(stderr, "whopper: --out: cannot create '%s': %s\n", o->out, strerror(errno));
		rc = WH_EXIT_USAGE;
		goto out_free_job;
	}
	snprintf(j->results_path, sizeof j->results_path, "%s/results.jsonl", o->out);
	if (o->resume) {
		rc = prepare_resume(j, o, &jf);
		if (rc == 0)
			rc = plan_matrix(j, o);
		if (rc != 0)
			goto out_free_job;
	}
	if (o->corpus && nl_corpus_load(o->corpus, &j->corpus, &j->corpus_count) != 0) {
		rc = WH_EXIT_USAGE;
		goto out_free_job;
	}
	if (!o->resume) {
		rc = prepare_new(j, o, &jf);
		if (rc != 0)
			goto out_free_job;
	}
	rc = prepare_dirs(j, o);
	if (rc != 0)
		goto out_free_job;
	j->time_mode = o->has_time;
	j->runs = o->has_runs ? o->runs : 0;
	j->expected = j->time_mode ? 0 : shard_run_count(o->runs, o->shard_i, o->shard_n);
	j->cursor = o->shard_i;
	snprintf(j->shard, sizeof j->shard, "%u/%u", o->shard_i, o->shard_n);
	j->matrix.base_seed = o->base_seed; /* known now: prepare_new draws it */
	j->explore = o->explore;
	if (j->explore)
		nl_explore_init(&j->pool, NL_EXPLORE_GENERATION_RUNS,
				j->time_mode ? UINT64_MAX : j->runs);
	plan_replays(j, &jf);
	build_env(j);
	j->tty = isatty(2);
	j->resumed_runs = j->agg.run_count;

	WH_ASSERT(uv_loop_init(&j->loop) == 0);
	WH_ASSERT(uv_signal_init(&j->loop, &j->sig_int) == 0);
	WH_ASSERT(uv_signal_init(&j->loop, &j->sig_term) == 0);
	WH_ASSERT(uv_timer_init(&j->loop, &j->tick) == 0);
	j->sig_int.data = j->sig_term.data = j->tick.data = j;
	uv_signal_start(&j->sig_int, on_signal, SIGINT);
	uv_signal_start(&j->sig_term, on_signal, SIGTERM);
	uv_timer_start(&j->tick, on_tick, TICK_MS, TICK_MS);
	j->mono_start = nl_mono_now();
	j->last_log = j->mono_start;
	j->deadline = j->mono_start + (j->time_mode ? o->time_s : 0);
	j->reserve_s = o->shrink_time_s < o->time_s * SHRINK_RESERVE_SHARE
			       ? o->shrink_time_s
			       : o->time_s * SHRINK_RESERVE_SHARE;
	j->phase = PHASE_REPLAY;
	pump(j);
	uv_run(&j->loop, UV_RUN_DEFAULT);
	WH_ASSERT(j->running_count == 0);
	WH_ASSERT(j->closing);
	WH_ASSERT(uv_loop_close(&j->loop) == 0);
	double wall_s = nl_mono_now() - j->mono_start;
	if (j->stop != STOP_CHILD_USAGE)
		print_header(j);
	if (j->progress_shown)
		fputs("\r\033[K", stderr);
	else if (!j->tty && j->session_runs > 0)
		progress(j, true);

	if (fflush(j->results) != 0 || fsync(fileno(j->results)) != 0) {
		fprintf(stderr, "whopper: nightly: cannot write '%s': %s\n", j->results_path,
			strerror(errno));
		j->stop = j->stop == STOP_CHILD_USAGE ? j->stop : STOP_JOB_ERROR;
	}
	rc = finish_job(j, o, wall_s);
	/* Recordings of killed children, shrinker temp files: nothing in
	 * scratch/ is a result. */
	if (nl_remove_flat_dir(j->scratch_dir) != 0)
		fprintf(stderr, "whopper: nightly: warning: cannot remove '%s': %s\n", j->scratch_dir,
			strerror(errno));

out_free_job:
	if (j->results)
		fclose(j->results);
	free(j->env_base);
	free(j->replays);
	free(j->shrinks);
	nl_corpus_entries_free(j->corpus, j->corpus_count);
	nl_strv_free(&j->matrix.workloads);
	nl_strv_free(&j->matrix.user_flags);
	nl_strv_free(&j->matrix.targets);
	free(j->matrix.cannot_run);
	nl_skips_free(&j->skips);
	nl_map_free(&j->corpus_sigs);
	nl_strv_free(&j->killed);
	nl_strv_free(&j->late);
	nl_agg_free(&j->agg);
	if (j->explore)
		nl_explore_free(&j->pool);
	nl_job_file_free(&jf);
	free(j);
	return rc;
}

int cmd_nightly(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "merge") == 0)
		return nl_cmd_merge(argc - 1, argv + 1);
	struct nl_opts o;
	memset(&o, 0, sizeof o);
	int rc = parse_opts(argc, argv, &o);
	if (rc == -1) {
		opts_free(&o);
		return WH_EXIT_PASS;
	}
	if (rc == 0 && o.dry_run) {
		if (!o.seed_given)
			o.base_seed = (uint64_t)nl_wall_now();
		if (o.workloads.count == 0)
			default_workloads(&o.workloads);
		struct nl_matrix m = {.base_seed = o.base_seed};
		nl_strv_copy(&m.workloads, &o.workloads);
		nl_strv_copy(&m.user_flags, &o.user_flags);
		nl_strv_copy(&m.targets, &o.target_libs);
		struct nl_skips skips;
		char err[1024];
		if (nl_matrix_plan(&m, &skips, err, sizeof err) != 0)
			rc = cli_usage_error("%s", err);
		else
			rc = dry_run(&o, &m);
		nl_skips_free(&skips);
		nl_strv_free(&m.workloads);
		nl_strv_free(&m.user_flags);
		nl_strv_free(&m.targets);
		free(m.cannot_run);
	} else if (rc == 0) {
		rc = run_job(&o);
	}
	opts_free(&o);
	return rc;
}
