/*
 * run.c - `whopper run`: parse the run flags, run one seeded world, check
 * it with the oracle, print a summary (or one JSON object) and exit with
 * the documented status.
 *
 * Every run is triaged (oracle/triage.h): each violation is labelled new,
 * known (an entry of the catalogue of known findings) or expected, and the
 * run's label decides the exit status (1 for new or known, 0 for pass or
 * only expected) and its signature (the one replay files and the shrinker
 * keep).
 *
 * Wall-clock time is measured here only for timing.run_s/check_s, which are
 * reported but never folded into the trace hash. A --trace file is written
 * to a temporary name and renamed into place at the end, so a failed or
 * interrupted run leaves nothing half-written under the requested name.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fiber.h"
#include "elle.h"
#include "oracle.h"
#include "oracle_world.h"
#include "run_templates.h"
#include "triage.h"

static const char run_help[] =
	"usage: whopper run [OPTIONS]\n"
	"\n"
	"  --seed N               run seed (default 1)\n"
	"  --workload NAME|FILE   a built-in workload's name (default 'default';\n"
	"                         see 'whopper workloads list') or a workload\n"
	"                         file's path (with a '/' or ending in .sql;\n"
	"                         the format: workloads/README.md)\n"
	"  --connections N        simulated connections (default 4, max 1024)\n"
	"  --txns N               transactions attempted in all (default 1000)\n"
	"  --journal MODE         wal|delete|truncate|persist|memory (default wal)\n"
	"  --synchronous LEVEL    off|normal|full|extra (default full)\n"
	"  --scheduler S          random|rr|pct (default random)\n"
	"  --pct-depth D          PCT bug depth d >= 1 (default 3)\n"
	"  --target T             sim (simulated VFS, default), memory-shared\n"
	"                         (in-memory shared cache, statement interleaving)\n"
	"                         or threads (real files through SQLite's unix VFS,\n"
	"                         each connection on a thread of its own: the OS\n"
	"                         interleaves, so the run is not reproducible;\n"
	"                         faults none or io only, no --record, no\n"
	"                         simulation flags) or processes (the same, each\n"
	"                         connection in a process of its own: the kernel\n"
	"                         arbitrates the POSIX locks)\n"
	"  --dir DIR              threads, processes: where the database files go\n"
	"                         (made if missing; must not hold a whopper.db\n"
	"                         already);\n"
	"                         default a fresh temporary directory, removed when\n"
	"                         the run passes, kept and named when it fails\n"
	"  --watchdog SECONDS     threads, processes: wall time without a finished\n"
	"                         transaction that ends the run as a hang\n"
	"                         (default 60)\n"
	"  --pragma NAME=VALUE    applied on every connection (repeatable)\n"
	"  --param NAME=VALUE     workload parameter (repeatable); an included\n"
	"                         workload's as INCLUDE/NAME=VALUE\n"
	"  --faults PROFILE       none|io|crash|chaos|bitflip (default none): io =\n"
	"                         I/O errors, a full disk, allocation failures;\n"
	"                         crash = power loss and recovery; chaos = io,\n"
	"                         crash, clean reopens and latency spikes; bitflip\n"
	"                         = a flipped bit (findings expected). Each seed\n"
	"                         turns on a random subset of the kinds.\n"
	"  --vfs-bug NAME         plant a VFS defect (tests): no-locks,\n"
	"                         no-shm-locks, lying-fsync\n"
	"  --sector-size BYTES    simulated sector size (default 4096)\n"
	"  --device KIND          powersafe (default, as the unix VFS) or\n"
	"                         non-powersafe: a torn write may damage the\n"
	"                         whole sector, not only the bytes written\n"
	"  --lock-model MODEL     thread (default: every connection in one\n"
	"                         process, as the unix VFS sees threads) or\n"
	"                         process (each connection in a process of its\n"
	"                         own: another's PENDING is not 'reserved')\n"
	"  --stack-size BYTES     fiber stack per connection (default 262144)\n"
	"  --busy-timeout MS      busy timeout (default 50 simulated ms; threads,\n"
	"                         processes: 1000 real ms)\n"
	"  --time-limit SECONDS   a backstop in wall-clock time for the run and\n"
	"                         its check: past it, whopper says which phase\n"
	"                         it was in, and exits 1 as for a hang (default\n"
	"                         none; the step budget ends runaway statements\n"
	"                         first)\n"
	"  --step-budget N        virtual-machine steps one statement may take\n"
	"                         before it is stopped and reported as a\n"
	"                         runaway_statement (default 50000000; 0: none)\n"
	"  --reorder-window US    scheduler reorder window (default 20)\n"
	"  --yield-ops LIST       narrow the yield points to these ops, comma\n"
	"                         separated (e.g. lock,shm_lock); default all\n"
	"  --trace FILE           one line per event: VFS calls, statements,\n"
	"                         transaction ends, faults, crashes (the\n"
	"                         format: README.md, 'The trace')\n"
	"  --record FILE.whop     write a replay file (whopper replay FILE.whop)\n"
	"  --record-compact       with --record: leave the draws out of the file\n"
	"                         (a replay makes them again from the seed); a\n"
	"                         few hundred bytes instead of megabytes\n"
	"  --elle FILE            write the history in Elle's EDN format (for\n"
	"                         workloads that declare a list-append or\n"
	"                         rw-register shape)\n"
	"  --json                 one JSON object on stdout\n"
	"  --quiet                no progress line or summary\n"
	"  --serial-check         run the oracle only after the run, on this\n"
	"                         thread (default: it follows the run on a\n"
	"                         second thread; the verdict is the same)\n"
	"  --known FILE           more known findings to triage with, in the\n"
	"                         catalogue's format (repeatable; see\n"
	"                         'whopper findings list')\n"
	"  --target-lib PATH      run the connections on this SQLite shared\n"
	"                         library (dlopen; any build of the sqlite3 API,\n"
	"                         e.g. from scripts/build-sqlite.sh) instead of\n"
	"                         the linked one; the oracle stays on the linked\n"
	"                         SQLite. A workload needing a newer SQLite than\n"
	"                         either (\\requires) is refused; an included one\n"
	"                         is left out of the composition\n"
	"\n"
	"exit status: 0 all checks passed (or only expected violations), 1 a\n"
	"check failed (a new or known finding), 2 bad usage, 3 whopper itself\n"
	"failed.\n";

static int parse_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi,
		     uint64_t *out)
{
	char *end;
	errno = 0;
	if (s == NULL)
		return cli_usage_error("%s: missing value", flag);
	if (*s == '-' || *s == '\0')
		return cli_usage_error("%s: expected a number in [%" PRIu64 ", %" PRIu64
				       "], got '%s'", flag, lo, hi, s);
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return cli_usage_error("%s: expected a number in [%" PRIu64 ", %" PRIu64
				       "], got '%s'", flag, lo, hi, s);
	*out = v;
	return 0;
}

static int parse_choice(const char *flag, const char *s,
			const char *const *choices, const char **out)
{
	if (s == NULL)
		return cli_usage_error("%s: missing value", flag);
	for (int i = 0; choices[i]; i++)
		if (strcmp(s, choices[i]) == 0) {
			*out = choices[i];
			return 0;
		}
	return cli_usage_error("%s: unknown value '%s'", flag, s);
}

static int parse_yield_ops(const char *s, uint32_t *mask)
{
	char buf[512];
	if (s == NULL)
		return cli_usage_error("--yield-ops: missing value");
	if (strlen(s) >= sizeof buf)
		return cli_usage_error("--yield-ops: list too long");
	strcpy(buf, s);
	*mask = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int k;
		for (k = 0; k < WH_OP__COUNT; k++)
			if (strcmp(tok, wh_op_name((enum wh_op_kind)k)) == 0)
				break;
		if (k == WH_OP__COUNT)
			return cli_usage_error("--yield-ops: unknown operation '%s'", tok);
		*mask |= 1u << k;
	}
	if (*mask == 0)
		return cli_usage_error("--yield-ops: empty list");
	return 0;
}

static const char *const journal_modes[] = {"wal", "delete", "truncate", "persist",
					    "memory", NULL};
static const char *const sync_levels[] = {"off", "normal", "full", "extra", NULL};
static const char *const targets[] = {"sim", "memory-shared", "threads", "processes", NULL};

/* The threads target's busy timeout unless --busy-timeout says: real
 * milliseconds, long enough that eight writers queue rather than abort. */
#define RUN_THREADS_BUSY_MS 1000u
/* Its watchdog unless --watchdog says. */
#define RUN_THREADS_WATCHDOG_S 60u

/* Flags that steer only the simulation: refused on the threads target
 * rather than silently ignored. */
bool run_flag_is_sim_only(const char *flag)
{
	static const char *const sim_only[] = {
		"--scheduler",	    "--pct-depth",	"--sector-size", "--device",
		"--lock-model",	    "--stack-size",	"--reorder-window", "--yield-ops",
		"--record-compact", "--time-limit", NULL, /* threads: --watchdog */
	};
	for (int i = 0; sim_only[i] != NULL; i++)
		if (strcmp(flag, sim_only[i]) == 0)
			return true;
	return false;
}

static const char *target_name(enum world_target t)
{
	switch (t) {
	case WORLD_TARGET_SIM:
		return "sim";
	case WORLD_TARGET_MEMORY_SHARED:
		return "memory-shared";
	case WORLD_TARGET_THREADS:
		return "threads";
	case WORLD_TARGET_PROCESSES:
		return "processes";
	}
	WH_UNREACHABLE();
}

/* What --target threads and processes cannot do, checked once every flag
 * is read. 0, or WH_EXIT_USAGE after the one-line error. */
static int check_threads_opts(struct run_opts *o)
{
	struct world_config *c = &o->cfg;
	if (!world_target_is_real(c->target)) {
		if (o->dir_arg != NULL)
			return cli_usage_error("--dir: only with --target threads or processes");
		return 0;
	}
	const char *t = target_name(c->target);
	if (c->faults != WORLD_FAULTS_NONE && c->faults != WORLD_FAULTS_IO)
		return cli_usage_error("--faults %s: not on --target %s (none or io: a real power loss or bit flip is not injected)",
				       world_faults_name(c->faults), t);
	if (c->vfs_bug != SIMVFS_BUG_NONE)
		return cli_usage_error("--vfs-bug: the simulated VFS's; not on --target %s", t);
	if (o->record_path != NULL)
		return cli_usage_error("--record: a --target %s run is not reproducible (OS scheduling): there is no tape to record",
				       t);
	if (o->sim_flag != NULL)
		return cli_usage_error("%s: steers the simulation; not on --target %s", o->sim_flag, t);
	if (o->target_lib != NULL)
		return cli_usage_error("--target-lib: not on --target %s yet (the linked SQLite only)", t);
	if (!o->busy_given)
		c->busy_timeout_ms = RUN_THREADS_BUSY_MS;
	return 0;
}

int run_parse_opts(int argc, char **argv, struct run_opts *o)
{
	return run_parse_opts_composed(argc, argv, 0, o);
}

/* Parse argv (argv[0] is the command name). Returns 0, -1 after --help,
 * or an exit code. */
int run_parse_opts_composed(int argc, char **argv, int compose_for, struct run_opts *o)
{
	memset(o, 0, sizeof *o);
	world_config_default(&o->cfg);
	o->cfg.api = cli_target();
	o->cfg.watchdog_ms = RUN_THREADS_WATCHDOG_S * 1000u;
	o->workload_name = "default";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		int rc = 0;
		if (o->sim_flag == NULL && run_flag_is_sim_only(a))
			o->sim_flag = a;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(run_help, stdout);
			return -1;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		} else if (strcmp(a, "--quiet") == 0) {
			o->quiet = true;
			continue;
		} else if (strcmp(a, "--serial-check") == 0) {
			o->serial_check = true;
			continue;
		} else if (strcmp(a, "--record-compact") == 0) {
			o->record_compact = true;
			continue;
		} else if (strcmp(a, "--seed") == 0) {
			rc = parse_u64(a, v, 0, UINT64_MAX, &o->cfg.seed);
		} else if (strcmp(a, "--workload") == 0) {
			if (v == NULL)
				return cli_usage_error("--workload: missing value");
			o->workload_name = v;
		} else if (strcmp(a, "--connections") == 0) {
			rc = parse_u64(a, v, 1, WORLD_MAX_CONNS, &n);
			o->cfg.conn_count = (uint32_t)n;
		} else if (strcmp(a, "--txns") == 0) {
			rc = parse_u64(a, v, 0, 100000000, &o->cfg.txn_count);
		} else if (strcmp(a, "--journal") == 0) {
			rc = parse_choice(a, v, journal_modes, &o->cfg.journal_mode);
		} else if (strcmp(a, "--synchronous") == 0) {
			rc = parse_choice(a, v, sync_levels, &o->cfg.synchronous);
		} else if (strcmp(a, "--scheduler") == 0) {
			int s = v ? sched_strategy_parse(v) : -1;
			if (s < 0)
				return cli_usage_error("--scheduler: unknown value '%s'",
						       v ? v : "");
			o->cfg.strategy = (enum sched_strategy)s;
		} else if (strcmp(a, "--pct-depth") == 0) {
			rc = parse_u64(a, v, 1, 64, &n);
			o->cfg.pct_depth = (uint32_t)n;
		} else if (strcmp(a, "--target") == 0) {
			const char *t = NULL;
			rc = parse_choice(a, v, targets, &t);
			if (rc == 0)
				o->cfg.target = t == targets[0]	  ? WORLD_TARGET_SIM
						: t == targets[1] ? WORLD_TARGET_MEMORY_SHARED
						: t == targets[2] ? WORLD_TARGET_THREADS
								  : WORLD_TARGET_PROCESSES;
		} else if (strcmp(a, "--dir") == 0) {
			if (v == NULL || *v == '\0')
				return cli_usage_error("--dir: missing DIR");
			o->dir_arg = v;
		} else if (strcmp(a, "--watchdog") == 0) {
			rc = parse_u64(a, v, 1, 86400, &n);
			o->cfg.watchdog_ms = (uint32_t)n * 1000u;
		} else if (strcmp(a, "--pragma") == 0) {
			if (v == NULL || strchr(v, '=') == NULL || v[0] == '=' ||
			    strpbrk(v, ";\n") != NULL)
				return cli_usage_error("--pragma: expected NAME=VALUE, got '%s'",
						       v ? v : "");
			if (o->cfg.pragma_count == WORLD_MAX_PRAGMAS)
				return cli_usage_error("--pragma: at most %d", WORLD_MAX_PRAGMAS);
			o->cfg.pragmas[o->cfg.pragma_count++] = v;
		} else if (strcmp(a, "--faults") == 0) {
			int f = v ? world_faults_parse(v) : -1;
			if (f < 0)
				return cli_usage_error("--faults: unknown profile '%s' (none, io, crash, chaos, bitflip)",
						       v ? v : "");
			o->cfg.faults = (enum world_faults)f;
		} else if (strcmp(a, "--vfs-bug") == 0) {
			const char *b = NULL;
			rc = parse_choice(a, v, simvfs_bug_names, &b);
			for (int k = 0; rc == 0 && simvfs_bug_names[k]; k++)
				if (b == simvfs_bug_names[k])
					o->cfg.vfs_bug = (enum simvfs_bug)k;
			o->vfs_bug_name = b;
		} else if (strcmp(a, "--sector-size") == 0) {
			rc = parse_u64(a, v, 512, 65536, &n);
			if (rc == 0 && (n & (n - 1)) != 0)
				return cli_usage_error("--sector-size: expected a power of two, got '%s'", v);
			o->cfg.sector_size = (int)n;
		} else if (strcmp(a, "--device") == 0) {
			static const char *const devices[] = {"powersafe", "non-powersafe", NULL};
			const char *d = NULL;
			rc = parse_choice(a, v, devices, &d);
			/* -1 keeps the VFS's default, which is powersafe. */
			if (rc == 0)
				o->cfg.device_characteristics = d == devices[0] ? -1 : 0;
		} else if (strcmp(a, "--lock-model") == 0) {
			static const char *const models[] = {"thread", "process", NULL};
			const char *m = NULL;
			rc = parse_choice(a, v, models, &m);
			if (rc == 0)
				o->cfg.lock_model = m == models[0] ? SIMVFS_LOCKS_THREAD
								   : SIMVFS_LOCKS_PROCESS;
		} else if (strcmp(a, "--param") == 0) {
			if (v == NULL || strchr(v, '=') == NULL || v[0] == '=')
				return cli_usage_error("--param: expected NAME=VALUE, got '%s'",
						       v ? v : "");
			if (o->param_count == RUN_MAX_PARAMS)
				return cli_usage_error("--param: at most %d", RUN_MAX_PARAMS);
			o->params[o->param_count++] = v;
		} else if (strcmp(a, "--stack-size") == 0) {
			rc = parse_u64(a, v, 65536, 64u << 20, &n);
			o->cfg.stack_bytes = (size_t)n;
		} else if (strcmp(a, "--time-limit") == 0) {
			rc = parse_u64(a, v, 1, 86400 * 7, &o->time_limit_s);
		} else if (strcmp(a, "--step-budget") == 0) {
			rc = parse_u64(a, v, 0, UINT64_MAX / 2, &o->cfg.step_budget);
		} else if (strcmp(a, "--busy-timeout") == 0) {
			rc = parse_u64(a, v, 0, 3600000, &n);
			o->cfg.busy_timeout_ms = (uint32_t)n;
			o->busy_given = true;
		} else if (strcmp(a, "--reorder-window") == 0) {
			rc = parse_u64(a, v, 0, 10000000, &o->cfg.reorder_window_us);
		} else if (strcmp(a, "--yield-ops") == 0) {
			rc = parse_yield_ops(v, &o->cfg.yield_mask);
		} else if (strcmp(a, "--elle") == 0) {
			if (v == NULL || *v == '\0')
				return cli_usage_error("--elle: missing FILE");
			o->elle_path = v;
		} else if (strcmp(a, "--record") == 0) {
			if (v == NULL || *v == '\0')
				return cli_usage_error("--record: missing FILE");
			o->record_path = v;
		} else if (strcmp(a, "--trace") == 0) {
			if (v == NULL || *v == '\0')
				return cli_usage_error("--trace: missing FILE");
			o->trace_path = v;
		} else if (strcmp(a, "--known") == 0) {
			rc = cli_known_add(v, &o->catalog);
		} else if (strcmp(a, "--target-lib") == 0) {
			rc = cli_target_lib(v, &o->cfg.api);
			o->target_lib = v;
		} else {
			return cli_usage_error("run: unknown option '%s' (try 'whopper run --help')",
					       a);
		}
		if (rc != 0)
			return rc;
		i++; /* consumed the value */
	}
	char err[512];
	/* Composed for the older of the target and the oracle's reference
	 * (the linked SQLite): a statement either cannot prepare fails on
	 * one side only, which reads as a finding. */
	int target_v = wh_sqlapi_version_number(o->cfg.api);
	int ref_v = wh_sqlapi_version_number(&wh_sqlapi_linked);
	int v = target_v < ref_v ? target_v : ref_v;
	if (wl_resolve_with_params(o->workload_name, o->params, o->param_count,
				   compose_for != 0 ? compose_for : v, &o->cfg.workload, err,
				   sizeof err) != 0)
		return cli_usage_error("--workload: %s", err);
	const struct wl_requirement *req = &o->cfg.workload->requires;
	if (!wl_requirement_met(req, v)) {
		char needs[32];
		wl_version_text(req->version, needs, sizeof needs);
		const struct wh_sqlapi *short_api = target_v == v ? o->cfg.api : &wh_sqlapi_linked;
		return cli_usage_error("--workload %s: %s:%u: needs SQLite %s%s%s%s; %s is SQLite %s (%s)",
				       o->workload_name, req->origin, req->line, needs,
				       req->reason[0] ? " (" : "", req->reason,
				       req->reason[0] ? ")" : "",
				       short_api == o->cfg.api ? "the target" : "the oracle's reference",
				       wh_sqlapi_version(short_api), wh_sqlapi_path(short_api));
	}
	if (o->elle_path && o->cfg.workload->shape == NULL)
		return cli_usage_error("--elle: workload '%s' declares no Elle shape (\\shape list-append|rw-register)",
				       o->workload_name);
	return check_threads_opts(o);
}

/* CPU seconds (user and system) the process has used so far, the
 * oracle's thread included: what a run costs, for the nightly's rates per
 * target. */
static double cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct progress {
	bool on;
	uint64_t step;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	if (done % p->step == 0 || done == total)
		fprintf(stderr, "\rwhopper: %" PRIu64 "/%" PRIu64 " transactions", done,
			total);
}

/* The run's interleaving coverage (engine/coverage.c): how many points,
 * and which (ascending), for a nightly to unite runs. */
static void print_coverage_json(FILE *f, const struct world_coverage *cov)
{
	fprintf(f, "{\"points\": %u, \"reached\": [", cov->points);
	bool first = true;
	for (uint32_t p = 0; p < COVERAGE_POINTS; p++) {
		if ((cov->map[p / 8] >> (p % 8) & 1) == 0)
			continue;
		fprintf(f, "%s%u", first ? "" : ", ", p);
		first = false;
	}
	fprintf(f, "]}");
}

/* The threads and processes targets' line: their own flags, none of the
 * simulation's. */
static void print_repro_threads(FILE *f, const struct run_opts *o)
{
	const struct world_config *c = &o->cfg;
	fprintf(f, "bin/whopper run --target %s --seed %" PRIu64 " --workload %s --connections %u"
		   " --txns %" PRIu64 " --journal %s --synchronous %s",
		target_name(c->target), c->seed, o->workload_name, c->conn_count, c->txn_count, c->journal_mode,
		c->synchronous);
	if (c->faults != WORLD_FAULTS_NONE)
		fprintf(f, " --faults %s", world_faults_name(c->faults));
	for (uint32_t i = 0; i < o->param_count; i++)
		fprintf(f, " --param %s", o->params[i]);
	for (uint32_t i = 0; i < c->pragma_count; i++)
		fprintf(f, " --pragma %s", c->pragmas[i]);
	if (c->step_budget != WORLD_STEP_BUDGET_DEFAULT)
		fprintf(f, " --step-budget %" PRIu64, c->step_budget);
	if (c->busy_timeout_ms != RUN_THREADS_BUSY_MS)
		fprintf(f, " --busy-timeout %u", c->busy_timeout_ms);
	if (c->watchdog_ms != RUN_THREADS_WATCHDOG_S * 1000u)
		fprintf(f, " --watchdog %u", c->watchdog_ms / 1000u);
}

void run_print_repro(FILE *f, const struct run_opts *o)
{
	const struct world_config *c = &o->cfg;
	if (o->replay_path != NULL) {
		/* A shrunk run starts from its file's setup (or files) and
		 * skips statements its flags would run. */
		fprintf(f, "bin/whopper replay %s", o->replay_path);
		return;
	}
	if (world_target_is_real(c->target)) {
		print_repro_threads(f, o);
		return;
	}
	fprintf(f, "bin/whopper run --seed %" PRIu64 " --workload %s --connections %u"
		   " --txns %" PRIu64 " --journal %s --synchronous %s --scheduler %s",
		c->seed, o->workload_name, c->conn_count, c->txn_count, c->journal_mode,
		c->synchronous, sched_strategy_name(c->strategy));
	if (c->strategy == SCHED_PCT)
		fprintf(f, " --pct-depth %u", c->pct_depth);
	if (c->target == WORLD_TARGET_MEMORY_SHARED)
		fprintf(f, " --target memory-shared");
	if (c->faults != WORLD_FAULTS_NONE)
		fprintf(f, " --faults %s", world_faults_name(c->faults));
	if (c->vfs_bug != SIMVFS_BUG_NONE)
		fprintf(f, " --vfs-bug %s", o->vfs_bug_name);
	if (c->sector_size)
		fprintf(f, " --sector-size %d", c->sector_size);
	if (c->device_characteristics == 0)
		fprintf(f, " --device non-powersafe");
	if (c->lock_model == SIMVFS_LOCKS_PROCESS)
		fprintf(f, " --lock-model process");
	for (uint32_t i = 0; i < o->param_count; i++)
		fprintf(f, " --param %s", o->params[i]);
	for (uint32_t i = 0; i < c->pragma_count; i++)
		fprintf(f, " --pragma %s", c->pragmas[i]);
	if (c->step_budget != WORLD_STEP_BUDGET_DEFAULT)
		fprintf(f, " --step-budget %" PRIu64, c->step_budget);
	if (c->busy_timeout_ms != 50)
		fprintf(f, " --busy-timeout %u", c->busy_timeout_ms);
	if (c->reorder_window_us != 20)
		fprintf(f, " --reorder-window %" PRIu64, c->reorder_window_us);
	if (c->stack_bytes != WH_FIBER_STACK_DEFAULT)
		fprintf(f, " --stack-size %zu", c->stack_bytes);
	if (c->api != NULL && !c->api->linked)
		fprintf(f, " --target-lib %s", wh_sqlapi_path(c->api));
}

/* The includes the workload was composed without, as JSON: an array of
 * {include, needs, reason, declared_at}, empty when none. */
static void json_left_out(FILE *f, const struct workload *wl)
{
	fprintf(f, "[");
	bool first = true;
	for (uint32_t k = 0; k < wl->include_need_count; k++) {
		const struct wl_include_need *n = &wl->include_needs[k];
		if (!n->left_out)
			continue;
		char needs[32];
		wl_version_text(n->needs.version, needs, sizeof needs);
		fprintf(f, "%s{\"include\": ", first ? "" : ", ");
		json_str(f, n->name);
		fprintf(f, ", \"needs\": \"%s\", \"reason\": ", needs);
		json_str(f, n->needs.reason);
		char at[1100];
		snprintf(at, sizeof at, "%s:%u", n->needs.origin, n->needs.line);
		fprintf(f, ", \"declared_at\": ");
		json_str(f, at);
		fprintf(f, "}");
		first = false;
	}
	fprintf(f, "]");
}

/* One line naming the includes left out, when there are any. */
static void print_left_out(FILE *f, const struct workload *wl)
{
	if (wl->left_out_count == 0)
		return;
	fprintf(f, "  left out (need a newer SQLite):");
	bool first = true;
	for (uint32_t k = 0; k < wl->include_need_count; k++) {
		const struct wl_include_need *n = &wl->include_needs[k];
		if (!n->left_out)
			continue;
		char needs[32];
		wl_version_text(n->needs.version, needs, sizeof needs);
		fprintf(f, "%s %s (%s%s%s, %s:%u)", first ? "" : ",", n->name, needs,
			n->needs.reason[0] ? ": " : "", n->needs.reason, n->needs.origin,
			n->needs.line);
		first = false;
	}
	fprintf(f, "\n");
}

/* A violation's triage label as JSON members (after its "kind"). */
static void json_vlabel(FILE *f, const struct triage_vlabel *l)
{
	fprintf(f, ", \"label\": \"%s\"", triage_label_name(l->label));
	if (l->label == TRIAGE_KNOWN) {
		fprintf(f, ", \"finding\": ");
		json_str(f, l->entry->id);
	} else if (l->label == TRIAGE_NEW && l->entry != NULL) {
		fprintf(f, ", \"regression\": ");
		json_str(f, l->entry->id);
	} else if (l->label == TRIAGE_EXPECTED) {
		fprintf(f, ", \"reason\": ");
		json_str(f, l->reason);
	}
}

static void json_triage(FILE *f, const struct triage_result *t)
{
	fprintf(f, ", \"triage\": {\"label\": \"%s\", \"signature\": ",
		triage_label_name(t->label));
	json_str(f, t->signature);
	fprintf(f, ", \"known\": [");
	for (uint32_t i = 0; i < t->known_count; i++) {
		fprintf(f, "%s{\"id\": ", i ? ", " : "");
		json_str(f, t->known[i].entry->id);
		fprintf(f, ", \"title\": ");
		json_str(f, t->known[i].entry->title);
		fprintf(f, ", \"in_range\": %s, \"regression\": %s, \"violations\": %u}",
			t->known[i].in_range ? "true" : "false",
			t->known[i].regression ? "true" : "false", t->known[i].violations);
	}
	fprintf(f, "], \"expected\": [");
	for (uint32_t i = 0; i < t->expected_count; i++) {
		fprintf(f, "%s{\"reason\": ", i ? ", " : "");
		json_str(f, t->expected[i].reason);
		fprintf(f, ", \"violations\": %u}", t->expected[i].violations);
	}
	fprintf(f, "], \"new\": %u, \"applicable\": [", t->new_count);
	for (uint32_t i = 0; i < t->applicable_count; i++) {
		fprintf(f, "%s{\"id\": ", i ? ", " : "");
		json_str(f, t->applicable[i]->id);
		fprintf(f, ", \"title\": ");
		json_str(f, t->applicable[i]->title);
		fprintf(f, "}");
	}
	fprintf(f, "], \"sqlite_version\": ");
	json_str(f, t->sqlite_version);
	fprintf(f, ", \"sqlite_version_number\": %d}", t->sqlite_version_number);
}

static void print_json(const struct run_opts *o, const struct world_result *r,
		       const struct oracle_report *rep, const struct triage_result *tri,
		       const char *verdict, double run_s, double check_s)
{
	FILE *f = stdout;
	const struct world_stats *s = &r->stats;
	fprintf(f, "{\"seed\": %" PRIu64 ", \"workload\": ", o->cfg.seed);
	json_str(f, o->workload_name);
	if (world_target_is_real(o->cfg.target)) {
		/* The OS interleaved: no hash names this run's schedule. */
		fprintf(f, ", \"verdict\": \"%s\", \"trace_hash\": null, \"reproducible\": false"
			   ", \"not_reproducible\": \"OS scheduling\", \"dir\": ",
			verdict);
		json_str(f, o->dir);
		fprintf(f, ", \"dir_kept\": %s", o->dir_removed ? "false" : "true");
	} else {
		fprintf(f, ", \"verdict\": \"%s\", \"trace_hash\": \"%016" PRIx64 "\"", verdict,
			r->trace_hash);
	}
	if (world_target_is_real(o->cfg.target))
		/* No scheduler, lock model or PCT: the OS's and the kernel's. */
		fprintf(f, ", \"config\": {\"connections\": %u, \"txns\": %" PRIu64
			   ", \"journal\": \"%s\", \"synchronous\": \"%s\", \"target\": \"%s\""
			   ", \"busy_timeout_ms\": %u, \"watchdog_s\": %u}",
			o->cfg.conn_count, o->cfg.txn_count, o->cfg.journal_mode,
			o->cfg.synchronous, target_name(o->cfg.target), o->cfg.busy_timeout_ms,
			o->cfg.watchdog_ms / 1000u);
	else
		fprintf(f, ", \"config\": {\"connections\": %u, \"txns\": %" PRIu64
			   ", \"journal\": \"%s\", \"synchronous\": \"%s\", \"scheduler\": \"%s\""
			   ", \"target\": \"%s\", \"lock_model\": \"%s\", \"pct\": {\"n\": %" PRIu64
			   ", \"k\": %" PRIu64 ", \"d\": %u}}",
			o->cfg.conn_count, o->cfg.txn_count, o->cfg.journal_mode,
			o->cfg.synchronous, sched_strategy_name(o->cfg.strategy),
			target_name(o->cfg.target),
			o->cfg.lock_model == SIMVFS_LOCKS_PROCESS ? "process" : "thread", r->pct_n,
			r->pct_k, o->cfg.pct_depth);
	fprintf(f, ", \"sqlite\": ");
	cli_target_json(f, o->cfg.api);
	fprintf(f, ", \"includes_left_out\": ");
	json_left_out(f, o->cfg.workload);
	fprintf(f, ", \"stats\": {\"txns_committed\": %" PRIu64
		   ", \"txns_aborted\": %" PRIu64 ", \"statements\": %" PRIu64
		   ", \"vfs_ops\": %" PRIu64 ", \"busy\": %" PRIu64
		   ", \"sched_steps\": %" PRIu64 ", \"sim_time_ms\": %.3f, ",
		s->txns_committed, s->txns_aborted, s->statements, s->vfs_ops, s->busy,
		s->sched_steps, (double)s->sim_time_us / 1000.0);
	fprintf(f, "\"txns_indeterminate\": %" PRIu64 ", \"faults_injected\": %" PRIu64
		   ", \"alloc_failures\": %" PRIu64 ", \"disk_full\": %" PRIu64 ", \"crashes\": %" PRIu64
		   ", \"recoveries\": %" PRIu64 ", \"reopens\": %" PRIu64
		   ", \"bitflips\": %" PRIu64 ", \"faults_by_kind\": {",
		s->txns_indeterminate, s->faults_injected, s->alloc_failures, s->disk_full, s->crashes,
		s->recoveries, s->reopens, s->bitflips);
	bool first = true;
	for (int k = 0; k < WH_OP__COUNT; k++) {
		if (s->faults_by_kind[k] == 0)
			continue;
		fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ",
			wh_op_name((enum wh_op_kind)k), s->faults_by_kind[k]);
		first = false;
	}
	fprintf(f, "}, \"vfs_ops_by_kind\": {");
	first = true;
	for (int k = 0; k < WH_OP__COUNT; k++) {
		if (s->vfs_ops_by_kind[k] == 0)
			continue;
		fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ",
			wh_op_name((enum wh_op_kind)k), s->vfs_ops_by_kind[k]);
		first = false;
	}
	fprintf(f, "}}, \"evidence\": {");
	for (int c = 0; c < TRIAGE_COUNTER__COUNT; c++)
		fprintf(f, "%s\"%s\": %" PRIu64, c ? ", " : "",
			triage_counter_name((enum triage_counter)c),
			triage_counter_value(&r->evidence, (enum triage_counter)c));
	fprintf(f, "}, \"coverage\": ");
	/* Real threads never park inside a call for the engine to see. */
	if (world_target_is_real(o->cfg.target))
		fprintf(f, "null");
	else
		print_coverage_json(f, &r->coverage);
	fprintf(f, ", \"timing\": {\"run_s\": %.6f, \"check_s\": %.6f, \"check_concurrent\": %s"
		   ", \"cpu_s\": %.6f}",
		run_s, check_s, rep != NULL && rep->streamed ? "true" : "false", cpu_s());
	struct rt_stats rts;
	rt_collect(&r->history, o->cfg.workload, o->cfg.faults != WORLD_FAULTS_NONE, &rts);
	fprintf(f, ", \"templates\": ");
	rt_json(f, &rts);
	rt_free(&rts);
	fprintf(f, ", \"violations\": [");
	first = true;
	WH_ASSERT_EQ(tri->label_count, r->finding_count + (rep ? rep->violation_count : 0));
	for (uint32_t i = 0; i < r->finding_count; i++) {
		fprintf(f, "%s{\"kind\": ", first ? "" : ", ");
		json_str(f, r->findings[i].kind);
		json_vlabel(f, &tri->labels[i]);
		fprintf(f, ", \"detail\": ");
		json_str(f, r->findings[i].detail);
		fprintf(f, ", \"txns\": []}");
		first = false;
	}
	for (uint32_t i = 0; rep && i < rep->violation_count; i++) {
		const struct oracle_violation *v = &rep->violations[i];
		fprintf(f, "%s{\"kind\": ", first ? "" : ", ");
		json_str(f, v->kind);
		fprintf(f, ", \"expected\": %s", v->expected ? "true" : "false");
		json_vlabel(f, &tri->labels[r->finding_count + i]);
		fprintf(f, ", \"detail\": ");
		json_str(f, v->detail);
		fprintf(f, ", \"txns\": [");
		for (uint32_t t = 0; t < v->txn_count; t++)
			fprintf(f, "%s%u", t ? ", " : "", v->txns[t]);
		fprintf(f, "]}");
		first = false;
	}
	fprintf(f, "]");
	json_triage(f, tri);
	fprintf(f, ", \"oracle\": {\"txns_checked\": %" PRIu64 ", \"plans\": %u, \"plans_cut\": %u, \"evals_reused\": %" PRIu64 ", \"digests_reused\": %" PRIu64 ", \"gave_up\": %s, \"note\": ",
		rep ? rep->txns_checked : 0, rep ? rep->plans : 0, rep ? rep->plans_cut : 0,
		rep ? rep->evals_reused : 0, rep ? rep->digests_reused : 0,
		rep && rep->gave_up ? "true" : "false");
	json_str(f, rep && rep->note ? rep->note : "");
	fprintf(f, "}, \"signature\": ");
	json_str(f, tri->signature);
	fprintf(f, ", \"repro\": ");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (m) {
		run_print_repro(m, o);
		fclose(m);
		json_str(f, buf);
		free(buf);
	} else {
		json_str(f, "");
	}
	fprintf(f, "}\n");
}

/* "[known: ID]", "[expected: REASON]", "[new: regression of ID]" or
 * "[new]". */
static void print_vlabel(FILE *f, const struct triage_vlabel *l)
{
	if (l->label == TRIAGE_KNOWN)
		fprintf(f, "[known: %s]", l->entry->id);
	else if (l->label == TRIAGE_EXPECTED)
		fprintf(f, "[expected: %s]", l->reason);
	else if (l->entry != NULL)
		fprintf(f, "[new: regression of %s]", l->entry->id);
	else
		fprintf(f, "[new]");
}

/* One line: the run's label and what names it. */
static void print_triage(FILE *f, const struct triage_result *t)
{
	fprintf(f, "  triage: ");
	switch (t->label) {
	case TRIAGE_PASS:
		fprintf(f, "pass\n");
		return;
	case TRIAGE_NEW:
		fprintf(f, "NEW (%u new violation%s", t->new_count, t->new_count == 1 ? "" : "s");
		break;
	case TRIAGE_KNOWN:
		fprintf(f, "known (");
		break;
	case TRIAGE_EXPECTED:
		fprintf(f, "expected (");
		break;
	}
	bool sep = t->label == TRIAGE_NEW;
	for (uint32_t i = 0; i < t->known_count; i++) {
		const struct triage_entry *e = t->known[i].entry;
		if (t->known[i].regression) {
			char fixed[32];
			triage_version_format(e->version_fixed, fixed, sizeof fixed);
			fprintf(f, "%sregression of %s: %s [measured fixed in %s: this is %s]",
				sep ? "; " : "", e->id, e->title, fixed, t->sqlite_version);
			sep = true;
			continue;
		}
		fprintf(f, "%s%s%s: %s", sep ? "; " : "", t->label == TRIAGE_NEW ? "also known " : "",
			e->id, e->title);
		if (!t->known[i].in_range) {
			char lo[32], hi[32];
			triage_version_format(e->version_lo, lo, sizeof lo);
			if (e->version_hi)
				triage_version_format(e->version_hi, hi, sizeof hi);
			fprintf(f, " [outside its known SQLite versions %s%s%s: this is %s]", lo,
				e->version_hi ? " to " : " onward", e->version_hi ? hi : "",
				t->sqlite_version);
		}
		sep = true;
	}
	for (uint32_t i = 0; i < t->expected_count; i++) {
		fprintf(f, "%sexpected: %s", sep ? "; " : "", t->expected[i].reason);
		sep = true;
	}
	fprintf(f, ")\n  signature: %s\n", t->signature);
}

static void print_summary(const struct run_opts *o, const struct world_result *r,
			  const struct oracle_report *rep, const struct triage_result *tri,
			  const char *verdict, double run_s, double check_s)
{
	FILE *f = stdout;
	const struct world_stats *s = &r->stats;
	bool threads = world_target_is_real(o->cfg.target);
	if (threads)
		fprintf(f, "whopper run: seed %" PRIu64 ", workload %s, %u connections, %s, %s/%s",
			o->cfg.seed, o->workload_name, o->cfg.conn_count, target_name(o->cfg.target),
			o->cfg.journal_mode, o->cfg.synchronous);
	else
		fprintf(f, "whopper run: seed %" PRIu64 ", workload %s, %u connections, %s/%s, "
			   "scheduler %s",
			o->cfg.seed, o->workload_name, o->cfg.conn_count,
			o->cfg.target == WORLD_TARGET_SIM ? o->cfg.journal_mode : "memory-shared",
			o->cfg.synchronous, sched_strategy_name(o->cfg.strategy));
	if (!threads && o->cfg.strategy == SCHED_PCT)
		fprintf(f, " (d=%u, n=%" PRIu64 ", k=%" PRIu64 ")", o->cfg.pct_depth,
			r->pct_n, r->pct_k);
	char sqlite[1024];
	cli_target_describe(o->cfg.api, sqlite, sizeof sqlite);
	fprintf(f, "\n  target: %s\n", sqlite);
	print_left_out(f, o->cfg.workload);
	fprintf(f, "  txns %" PRIu64 " committed, %" PRIu64 " aborted (%" PRIu64
		   " busy); %" PRIu64 " statements; %" PRIu64 " vfs ops; ",
		s->txns_committed, s->txns_aborted, s->busy, s->statements, s->vfs_ops);
	if (threads)
		fprintf(f, "%.0f statements/s of wall time\n",
			run_s > 0 ? (double)s->statements / run_s : 0.0);
	else
		fprintf(f, "sim time %.1f ms\n", (double)s->sim_time_us / 1000.0);
	if (o->cfg.faults != WORLD_FAULTS_NONE)
		fprintf(f, "  faults %s: %" PRIu64 " I/O faults, %" PRIu64
			   " allocation failures, %" PRIu64 " crashes, %" PRIu64
			   " recoveries, %" PRIu64 " reopens, %" PRIu64 " bit flips, %" PRIu64
			   " indeterminate txns\n",
			world_faults_name(o->cfg.faults), s->faults_injected, s->alloc_failures,
			s->crashes, s->recoveries, s->reopens, s->bitflips,
			s->txns_indeterminate);
	struct rt_stats rts;
	rt_collect(&r->history, o->cfg.workload, o->cfg.faults != WORLD_FAULTS_NONE, &rts);
	rt_print(f, &rts);
	rt_free(&rts);
	WH_ASSERT_EQ(tri->label_count, r->finding_count + (rep ? rep->violation_count : 0));
	for (uint32_t i = 0; i < r->finding_count; i++) {
		fprintf(f, "  FINDING ");
		print_vlabel(f, &tri->labels[i]);
		fprintf(f, " %s: %s\n", r->findings[i].kind, r->findings[i].detail);
	}
	for (uint32_t i = 0; rep && i < rep->violation_count; i++) {
		fprintf(f, "  VIOLATION ");
		print_vlabel(f, &tri->labels[r->finding_count + i]);
		fprintf(f, " %s: %s\n", rep->violations[i].kind, rep->violations[i].detail);
	}
	if (rep && rep->gave_up)
		fprintf(f, "  oracle gave up on part of the check: %s\n",
			rep->note ? rep->note : "");
	print_triage(f, tri);
	fprintf(f, "  verdict: %s (%" PRIu64 " txns checked)\n", verdict,
		rep ? rep->txns_checked : 0);
	if (threads) {
		fprintf(f, "  not reproducible: OS scheduling (the values come from the seed, the interleaving from the OS)\n");
		fprintf(f, "  files: %s (%s)\n", o->dir,
			o->dir_removed ? "removed: the run passed" : "kept");
	} else {
		fprintf(f, "  trace hash: %016" PRIx64 "\n", r->trace_hash);
	}
	fprintf(f, "  timing: run %.3f s, check %.3f s\n", run_s, check_s);
	fprintf(f, threads ? "  same configuration (not the same run): " : "  repro: ");
	run_print_repro(f, o);
	fprintf(f, "\n");
}

/* --time-limit: the phase the process is in and what to say when the
 * alarm comes (prepared beforehand: a signal handler may only write). */
static volatile sig_atomic_t limit_phase;
static char limit_msg[3][4096];
static char limit_tmp[PATH_MAX]; /* a trace being written, removed */

static void on_time_limit(int sig)
{
	(void)sig;
	int p = limit_phase;
	if (p < 0 || p > 2)
		p = 0;
	ssize_t n = write(2, limit_msg[p], strlen(limit_msg[p]));
	(void)n;
	if (limit_tmp[0])
		unlink(limit_tmp);
	_exit(WH_EXIT_FINDING);
}

/* Arm the backstop for o (no-op without --time-limit). */
static void time_limit_arm(const struct run_opts *o)
{
	if (o->time_limit_s == 0)
		return;
	static const char *const phase[3] = {
		"while setting up", "while the connections ran",
		"while the oracle checked the run"};
	char *repro = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&repro, &len);
	if (m != NULL) {
		run_print_repro(m, o);
		fclose(m);
	}
	for (int p = 0; p < 3; p++)
		snprintf(limit_msg[p], sizeof limit_msg[p],
			 "whopper: --time-limit %llu s reached %s: a hang (nothing whopper runs should "
			 "take this long); repro: %s\n",
			 (unsigned long long)o->time_limit_s, phase[p], repro ? repro : "?");
	free(repro);
	limit_phase = 0;
	signal(SIGALRM, on_time_limit);
	alarm(o->time_limit_s > UINT32_MAX ? UINT32_MAX : (unsigned)o->time_limit_s);
}

int run_once(struct run_opts *o, struct wh_tape *tape, bool print, struct run_outcome *out,
	     run_inspect_fn inspect, void *inspect_ctx)
{
	memset(out, 0, sizeof *out);
	char tmp_trace[PATH_MAX];
	FILE *trace = NULL;
	if (o->trace_path && print) {
		if (snprintf(tmp_trace, sizeof tmp_trace, "%s.tmp%d", o->trace_path,
			     (int)getpid()) >= (int)sizeof tmp_trace)
			return cli_usage_error("--trace: path too long");
		trace = fopen(tmp_trace, "w");
		if (trace == NULL)
			return cli_usage_error("--trace: cannot write '%s': %s", o->trace_path,
					       strerror(errno));
		snprintf(limit_tmp, sizeof limit_tmp, "%s", tmp_trace);
	}
	struct world_config cfg = o->cfg;
	cfg.trace = trace;
	cfg.tape = tape;
	struct progress prog = {.on = print && !o->quiet && !o->json && isatty(2),
				.step = cfg.txn_count / 100 + 1};
	if (prog.on) {
		cfg.progress = on_progress;
		cfg.progress_ctx = &prog;
	}

	struct world_result res;
	/* The oracle follows the run on a second thread (oracle/stream.c);
	 * it only reads what the run has finished with. */
	struct oracle_config stream_cfg = {
		.ref_pragmas = cfg.workload->pragmas,
		.ref_pragma_count = cfg.workload->pragma_count,
	};
	double t0 = wall_s();
	/* Not on the processes target: its history comes back whole at the
	 * end, and its fork must find no other thread inside SQLite. */
	struct oracle_stream *stream =
		o->serial_check || cfg.target == WORLD_TARGET_PROCESSES
			? NULL
			: oracle_stream_start(&res.history, &stream_cfg);
	cfg.observer = oracle_stream_observer(stream);
	limit_phase = 1;
	int rc = world_run(&cfg, &res);
	double t1 = wall_s();
	if (prog.on)
		fputs("\r\033[K", stderr);
	if (rc != 0 && res.finding_count == 0) {
		fprintf(stderr, "whopper: run failed: %s\n", wh_strerror(rc));
		if (trace) {
			fclose(trace);
			unlink(tmp_trace);
		}
		oracle_stream_free(stream);
		world_result_free(&res);
		out->exit_code = WH_EXIT_INTERNAL;
		return WH_EXIT_INTERNAL;
	}

	struct oracle_report rep;
	memset(&rep, 0, sizeof rep);
	int orc = 0;
	bool checked = false;
	/* Threads left running own the files and the history (world.h); a
	 * lost process's part of the history is missing. */
	if (rc == 0 && !res.threads_stuck && !res.history_lost) {
		struct oracle_config oc;
		oracle_config_for_world(&cfg, &res, 64, &oc);
		limit_phase = 2;
		orc = oracle_check_stream(&res.history, &oc, stream, &rep);
		checked = true;
	} else {
		oracle_stream_free(stream);
	}
	double t2 = wall_s();

	/* Every violation labelled new, known or expected; a known bug is
	 * still a failed check, only expected ones are not. */
	struct triage_result tri;
	triage_run(o->catalog ? o->catalog : triage_builtin(), &cfg, &res, checked ? &rep : NULL,
		   wh_sqlapi_version_number(cfg.api), &tri);
	const char *verdict = "pass";
	int exit_code = WH_EXIT_PASS;
	if (orc != 0) {
		fprintf(stderr, "whopper: oracle failed: %s\n", rep.note ? rep.note : "?");
		exit_code = WH_EXIT_INTERNAL;
		verdict = "error";
	} else if (tri.label == TRIAGE_NEW || tri.label == TRIAGE_KNOWN) {
		verdict = "fail";
		exit_code = WH_EXIT_FINDING;
	}
	/* A threads run's own directory goes once the run has passed (the
	 * oracle has closed the files); a failed run's stays for a look. */
	if (world_target_is_real(cfg.target) && o->dir_temp && exit_code == WH_EXIT_PASS &&
	    !res.threads_stuck)
		o->dir_removed = run_threads_remove_dir(o);
	if (print && o->json)
		print_json(o, &res, checked ? &rep : NULL, &tri, verdict, t1 - t0, t2 - t1);
	else if (print && !o->quiet)
		print_summary(o, &res, checked ? &rep : NULL, &tri, verdict, t1 - t0, t2 - t1);

	if (trace) {
		if (fclose(trace) != 0 || rename(tmp_trace, o->trace_path) != 0) {
			fprintf(stderr, "whopper: --trace: cannot write '%s': %s\n",
				o->trace_path, strerror(errno));
			unlink(tmp_trace);
			if (exit_code == WH_EXIT_PASS)
				exit_code = WH_EXIT_INTERNAL;
		}
	}
	if (print && o->elle_path) {
		char err[512];
		if (elle_write(o->elle_path, &res.history, cfg.workload, err, sizeof err) != 0) {
			cli_usage_error("--elle: %s", err);
			exit_code = WH_EXIT_USAGE;
		}
	}
	if (res.threads_stuck) {
		/* Threads still run inside SQLite on the world: nothing can be
		 * freed or waited for. Everything is written: end here. */
		fflush(NULL);
		_exit(exit_code);
	}
	out->exit_code = exit_code;
	snprintf(out->verdict, sizeof out->verdict, "%s", verdict);
	out->trace_hash = res.trace_hash;
	out->txns = res.history.txn_count;
	out->statements = res.stats.statements;
	_Static_assert(sizeof out->signature >= TRIAGE_SIGNATURE_MAX, "the triage signature fits");
	snprintf(out->signature, sizeof out->signature, "%s", tri.signature);
	snprintf(out->label, sizeof out->label, "%s", triage_label_name(tri.label));
	triage_result_free(&tri);
	if (inspect)
		inspect(inspect_ctx, o, &res, checked ? &rep : NULL);
	if (checked)
		oracle_report_free(&rep);
	world_result_free(&res);
	return exit_code;
}

/* A threads or processes run, in the guarded child (run_threads_guarded). */
static int run_threads_body(struct run_opts *o)
{
	struct run_outcome out;
	return run_once(o, NULL, true, &out, NULL, NULL);
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	int rc = run_parse_opts(argc, argv, &o);
	if (rc == -1)
		return WH_EXIT_PASS;
	if (rc != 0)
		return rc;

	/* Test-only hooks for the nightly job's own tests: a child that
	 * crashes or hangs. Only honoured when the variable is set. */
	const char *hook = getenv("WHOPPER_TEST_HOOK");
	if (hook && strcmp(hook, "crash") == 0)
		raise(SIGSEGV);
	if (hook && strcmp(hook, "hang") == 0)
		for (;;)
			pause();

	if (world_target_is_real(o.cfg.target)) {
		/* Test-only planted defects of the threads and processes
		 * targets (world.h); the names are the threads target's. */
		static const struct {
			const char *hook;
			enum world_plant plant;
		} plants[] = {
			{"threads-lost-write", WORLD_PLANT_LOST_WRITE},
			{"threads-crash", WORLD_PLANT_CRASH},
			{"threads-hang", WORLD_PLANT_HANG},
			{"threads-hang-hard", WORLD_PLANT_HANG_HARD},
			{"threads-no-locks", WORLD_PLANT_NO_LOCKS},
		};
		for (size_t i = 0; hook != NULL && i < sizeof plants / sizeof plants[0]; i++)
			if (strcmp(hook, plants[i].hook) == 0)
				o.cfg.plant = plants[i].plant;
		rc = run_threads_prepare_dir(&o);
		if (rc != 0)
			return rc;
		return run_threads_guarded(&o, run_threads_body);
	}

	time_limit_arm(&o);
	struct wh_tape tape;
	wh_tape_init(&tape);
	if (o.record_path) {
		rc = replay_check_writable(o.record_path);
		if (rc != 0)
			return rc;
	}
	if (o.record_compact && o.record_path == NULL)
		return cli_usage_error("--record-compact: needs --record FILE.whop");
	/* A fresh run's draws are all its seed's: a compact file leaves them
	 * out and a replay, running on an empty tape, draws them again (the
	 * trace hash in the file still checks that it did). */
	struct run_outcome out;
	rc = run_once(&o, o.record_path && !o.record_compact ? &tape : NULL, true, &out, NULL,
		      NULL);
	if (o.record_path && out.exit_code != WH_EXIT_INTERNAL &&
	    out.exit_code != WH_EXIT_USAGE) {
		if (replay_save(o.record_path, argc - 1, argv + 1, &o, &tape, &out) != 0 &&
		    rc == WH_EXIT_PASS)
			rc = WH_EXIT_INTERNAL;
	}
	wh_tape_free(&tape);
	return rc;
}
