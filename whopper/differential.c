/*
 * differential.c - `whopper differential FILE.whop`: does a finding of the
 * simulation happen on real threads too?
 *
 * The simulation is only as good as its model of the real VFS. This
 * command takes a recording's configuration (workload, connections,
 * transactions, journal mode, synchronous, pragmas, parameters, I/O
 * faults) and runs it on `--target threads` (real pthreads, SQLite's unix
 * VFS on real files; `--target processes`, a process per connection, when
 * asked), seed after seed (the recorded seed, then the next
 * ones) within a budget of runs and wall-clock seconds, each in a child
 * `whopper run` process so that a crash or hang of one is that run's
 * result. It reports how many runs showed the recording's signature (its
 * root cause: the same catalogue entry, or the same new violation kinds
 * under the same features), how many failed otherwise, and the first
 * seed of each.
 *
 * Invariants: the simulation's flags (scheduler, device, lock model...)
 * are dropped, since real threads have no such knob; a recording that
 * needs what real threads cannot do (power loss, a planted VFS defect, a
 * bit flip) is refused in one line (exit 2) instead of reporting "not
 * reproduced" for a run that never tried. Exit status: 1 when a run
 * reproduced the finding, 0 when none did, 2 bad usage or input, 3 when
 * a child could not be run at all.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "replay.h"

#define DIFF_ARGS_MAX 256

static const char differential_help[] =
	"usage: whopper differential FILE.whop [--runs N] [--time SECONDS]\n"
	"                            [--target threads|processes]\n"
	"\n"
	"Run a recording's configuration on real threads (run --target\n"
	"threads: pthreads, SQLite's unix VFS on real files), the recorded\n"
	"seed and the next ones, and say whether the recorded finding happens\n"
	"there too: a run with the same signature reproduced it; other failing\n"
	"runs are listed apart. Each run is a child process, so a crash or a\n"
	"hang is that run's result. The simulation's own flags (scheduler,\n"
	"device, lock model...) are dropped; a recording that needs power\n"
	"loss, a planted VFS defect or a bit flip is refused.\n"
	"\n"
	"  --runs N         at most N runs (default 20)\n"
	"  --time SECONDS   stop starting runs after this long (default 120)\n"
	"  --target T       threads (default) or processes (each connection in\n"
	"                   a process of its own: run --target processes)\n"
	"\n"
	"exit status: 1 reproduced in at least one run, 0 in none, 2 bad usage\n"
	"or input, 3 a run could not be started.\n";

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The recording's run flags for a threads run: the simulation-only ones
 * and the seed dropped; NULL with a reason when the recording needs what
 * real threads cannot give. */
static const char *threads_flags(const struct replay_file *rf, const char **out, int *n)
{
	*n = 0;
	for (int i = 0; i < rf->argc; i++) {
		const char *a = rf->argv[i];
		const char *v = i + 1 < rf->argc ? rf->argv[i + 1] : NULL;
		bool takes = v != NULL && a[0] == '-' && v[0] != '-';
		if (strcmp(a, "--vfs-bug") == 0)
			return "it plants a VFS defect, which real files do not have";
		if (strcmp(a, "--faults") == 0 && v != NULL && strcmp(v, "none") != 0 &&
		    strcmp(v, "io") != 0)
			return "its fault profile needs power loss or a flipped bit, which real threads "
			       "cannot inject";
		if (strcmp(a, "--target") == 0 && v != NULL && strcmp(v, "sim") != 0)
			return "it was not recorded on the simulated VFS";
		bool drop = strcmp(a, "--seed") == 0 || run_flag_is_sim_only(a);
		if (!drop) {
			if (*n + 2 >= DIFF_ARGS_MAX)
				return "too many run flags";
			out[(*n)++] = a;
			if (takes)
				out[(*n)++] = v;
		}
		i += takes;
	}
	return NULL;
}

/* The value of the last "KEY": "..." in a JSON text (the run's own
 * top-level signature comes last), copied into buf; "" when absent. */
static void last_string(const char *json, const char *key, char *buf, size_t len)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\": \"", key);
	const char *at = NULL;
	for (const char *p = strstr(json, pat); p != NULL; p = strstr(p + 1, pat))
		at = p;
	buf[0] = '\0';
	if (at == NULL)
		return;
	at += strlen(pat);
	size_t k = 0;
	while (at[k] != '\0' && at[k] != '"' && k + 1 < len) {
		buf[k] = at[k];
		k++;
	}
	buf[k] = '\0';
}

/* A threads run's signature names its target among the features
 * ("new:lost_update@wal,none,target=threads"); the recording's does not:
 * compared without it. */
static void drop_target_feature(char *sig)
{
	static const char *const forms[] = {",target=threads",	 "target=threads,",
					    "target=threads",	 ",target=processes",
					    "target=processes,", "target=processes"};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		char *at = strstr(sig, forms[i]);
		if (at != NULL) {
			size_t n = strlen(forms[i]);
			memmove(at, at + n, strlen(at + n) + 1);
			return;
		}
	}
}

struct diff_run {
	int status;          /* the child's exit code, or 128 + signal */
	char signature[512]; /* its signature ("" when it passed) */
};

/* One threads run of the flags with seed, in a child process whose
 * stdout (its --json) is read whole. 0, or -1 when it cannot start. */
static int run_child(const char *self, const char *target, const char *const *flags, int n,
		     uint64_t seed, struct diff_run *r)
{
	const char *argv[DIFF_ARGS_MAX + 12];
	char seed_text[24];
	snprintf(seed_text, sizeof seed_text, "%" PRIu64, seed);
	int k = 0;
	argv[k++] = self;
	argv[k++] = "run";
	for (int i = 0; i < n; i++)
		argv[k++] = flags[i];
	argv[k++] = "--seed";
	argv[k++] = seed_text;
	argv[k++] = "--target";
	argv[k++] = target;
	argv[k++] = "--json";
	argv[k] = NULL;
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	/* fork and exec, not posix_spawn: <spawn.h> brings the system's
	 * <sched.h>, whose SCHED_RR macro clashes with the engine's. */
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (dup2(fd[1], 1) < 0 || (null >= 0 && dup2(null, 2) < 0))
			_exit(127);
		close(fd[0]);
		execv(self, (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	size_t cap = 65536, len = 0;
	char *out = wh_malloc(cap);
	ssize_t got;
	while ((got = read(fd[0], out + len, cap - len - 1)) > 0 ||
	       (got < 0 && errno == EINTR)) {
		if (got < 0)
			continue;
		len += (size_t)got;
		if (cap - len < 4096) {
			cap *= 2;
			out = wh_realloc(out, cap);
		}
	}
	out[len] = '\0';
	close(fd[0]);
	int wst = 0;
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + (WIFSIGNALED(wst) ? WTERMSIG(wst) : 0);
	last_string(out, "signature", r->signature, sizeof r->signature);
	if (r->status != 0 && r->status != 1 && r->signature[0] == '\0')
		snprintf(r->signature, sizeof r->signature, "exit %d", r->status);
	free(out);
	return 0;
}

static int parse_args(int argc, char **argv, const char **path, uint64_t *runs, double *secs,
		      const char **target)
{
	*path = NULL;
	*runs = 20;
	*secs = 120;
	*target = "threads";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(differential_help, stdout);
			return -1;
		} else if (strcmp(a, "--runs") == 0 || strcmp(a, "--time") == 0) {
			unsigned long long n = v ? strtoull(v, &end, 10) : 0;
			if (v == NULL || *v == '\0' || *end != '\0' || n == 0 || n > 1000000)
				return cli_usage_error("%s: expected a number from 1 to 1000000, got '%s'", a,
						       v ? v : "");
			if (a[2] == 'r')
				*runs = n;
			else
				*secs = (double)n;
			i++;
		} else if (strcmp(a, "--target") == 0) {
			if (v == NULL || (strcmp(v, "threads") != 0 && strcmp(v, "processes") != 0))
				return cli_usage_error("--target: threads or processes, got '%s'",
						       v ? v : "");
			*target = v;
			i++;
		} else if (a[0] == '-') {
			return cli_usage_error("differential: unknown option '%s' (try --help)", a);
		} else if (*path != NULL) {
			return cli_usage_error("differential: more than one FILE.whop given");
		} else {
			*path = a;
		}
	}
	if (*path == NULL)
		return cli_usage_error("differential: missing FILE.whop");
	return 0;
}

int cmd_differential(int argc, char **argv)
{
	const char *path;
	uint64_t runs;
	double secs;
	const char *target;
	int rc = parse_args(argc, argv, &path, &runs, &secs, &target);
	if (rc != 0)
		return rc == -1 ? WH_EXIT_PASS : rc;
	struct replay_file rf;
	char err[1024];
	if (replay_read(path, &rf, err, sizeof err) != 0)
		return cli_usage_error("%s", err);
	struct run_opts o;
	rc = replay_opts(&rf, &o);
	const char *flags[DIFF_ARGS_MAX];
	int n = 0;
	const char *why = rc == 0 ? threads_flags(&rf, flags, &n) : NULL;
	if (rc == 0 && why == NULL && (rf.setup_sql != NULL || rf.skip_count > 0))
		why = "it is a shrunk run (a collapsed prefix or removed statements), which only a "
		      "replay makes: give the recording it was shrunk from";
	if (rc == 0 && why != NULL)
		rc = cli_usage_error("%s: cannot be tried on real threads: %s", path, why);
	if (rc != 0) {
		replay_file_free(&rf);
		return rc;
	}
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl <= 0) {
		replay_file_free(&rf);
		fprintf(stderr, "whopper: differential: cannot find this program: %s\n", strerror(errno));
		return WH_EXIT_INTERNAL;
	}
	self[sl] = '\0';
	const char *want = rf.signature;
	printf("differential: %s (seed %" PRIu64 ", signature %s) on real %s\n", path,
	       o.cfg.seed, want[0] ? want : "none: the recording passed",
	       strcmp(target, "processes") == 0 ? "processes" : "threads");
	double t0 = mono_s();
	uint64_t done = 0, same = 0, other = 0, first_same = 0, first_other = 0;
	char other_sig[512] = "";
	int exit_code = WH_EXIT_PASS;
	while (done < runs && mono_s() - t0 < secs) {
		uint64_t seed = o.cfg.seed + done;
		struct diff_run r;
		if (run_child(self, target, flags, n, seed, &r) != 0) {
			fprintf(stderr, "whopper: differential: cannot start a run: %s\n", strerror(errno));
			exit_code = WH_EXIT_INTERNAL;
			break;
		}
		done++;
		bool failed = r.status != 0 || r.signature[0] != '\0';
		char bare[512];
		snprintf(bare, sizeof bare, "%s", r.signature);
		drop_target_feature(bare);
		bool hit = failed && want[0] != '\0' && strcmp(bare, want) == 0;
		printf("  run %" PRIu64 " seed %" PRIu64 ": %s\n", done, seed,
		       !failed ? "pass" : r.signature);
		if (hit && same++ == 0)
			first_same = seed;
		if (failed && !hit && other++ == 0) {
			first_other = seed;
			snprintf(other_sig, sizeof other_sig, "%s", r.signature);
		}
		if (r.status == WH_EXIT_USAGE) {
			exit_code = WH_EXIT_USAGE; /* the child refused: say so, stop */
			break;
		}
	}
	double took = mono_s() - t0;
	if (same > 0)
		printf("result: reproduced in %" PRIu64 " of %" PRIu64 " runs (first: seed %" PRIu64 ")",
		       same, done, first_same);
	else
		printf("result: not reproduced in %" PRIu64 " runs", done);
	if (other > 0)
		printf("; %" PRIu64 " failed otherwise (first: seed %" PRIu64 ", %s)", other,
		       first_other, other_sig);
	printf("; %.1f s\n", took);
	/* A catalogued finding's result is recorded in its entry: the line
	 * to add (oracle/known-findings.txt, "differential"). */
	if (strncmp(want, "known:", 6) == 0 && exit_code == WH_EXIT_PASS)
		printf("catalogue: finding %s: differential %s %s in %" PRIu64 " runs, %.1f s wall (whopper differential, seeds from %" PRIu64 ")\n",
		       want + 6, strcmp(target, "processes") == 0 ? "processes" : "threads",
		       same > 0 ? "reproduced" : "not-reproduced", done, took, o.cfg.seed);
	replay_file_free(&rf);
	if (exit_code != WH_EXIT_PASS)
		return exit_code;
	return same > 0 ? WH_EXIT_FINDING : WH_EXIT_PASS;
}
