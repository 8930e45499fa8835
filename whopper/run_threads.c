/*
 * run_threads.c - what `whopper run --target threads` (and processes)
 * needs around a run: the directory its real files go in, and a guard
 * process so that a connection thread's crash is a reported result, not a
 * lost run.
 *
 * The directory: --dir DIR (made when missing; refused when it holds a
 * database already, since the workload's setup would then fail or, worse,
 * run on someone's data), else a fresh one under $TMPDIR (or /tmp),
 * removed when the run passes and kept, named in the output, when it
 * fails. It is used by its real path, so the files' names are the ones
 * SQLite computes.
 *
 * The guard. Connections are threads of one process, so a thread that
 * dies of a signal takes the process, and with it the history, down. The
 * run therefore happens in a child; the parent waits. In the child a
 * handler for the crash signals notes, in a page shared with the parent,
 * which connection's thread died, in which driver state and after which
 * VFS op (world_thread_conn & co., async-signal-safe), then lets the
 * signal kill the child as it would have. The parent, seeing the child
 * die, prints the run's result itself: a "crash" finding naming that
 * connection, the files kept; exit 1. A death outside a connection
 * thread is whopper's own failure (exit 3). A child that ends normally
 * printed its own result; its exit status is the run's.
 *
 * On the processes target the run's process forks the connections'
 * processes (engine/procs.c), which inherit the handler: the note is
 * written only by the run's process itself (its pid, noted before the
 * run), since the run's process watches its connection processes and
 * reports their deaths in its own result.
 *
 * Invariants: the parent writes nothing to stdout unless the child died
 * of a signal (the child's output is then at most a progress line); the
 * files of a crashed run are never removed.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* The files a run may leave in its directory. */
static const char *const db_files[] = {"whopper.db", "whopper.db-wal", "whopper.db-shm",
				       "whopper.db-journal"};
#define DB_FILE_COUNT (sizeof db_files / sizeof db_files[0])

/* The target's name as the command line gives it. */
static const char *target_word(const struct run_opts *o)
{
	WH_ASSERT(world_target_is_real(o->cfg.target));
	return o->cfg.target == WORLD_TARGET_PROCESSES ? "processes" : "threads";
}

int run_threads_prepare_dir(struct run_opts *o)
{
	char made[PATH_MAX];
	if (o->dir_arg != NULL) {
		if (mkdir(o->dir_arg, 0777) != 0 && errno != EEXIST)
			return cli_usage_error("--dir: cannot make '%s': %s", o->dir_arg,
					       strerror(errno));
		snprintf(made, sizeof made, "%s", o->dir_arg);
	} else {
		const char *base = getenv("TMPDIR");
		if (base == NULL || *base == '\0')
			base = "/tmp";
		if (snprintf(made, sizeof made, "%s/whopper-%s-XXXXXX", base, target_word(o)) >=
			    (int)sizeof made ||
		    mkdtemp(made) == NULL)
			return cli_usage_error("--target %s: cannot make a directory under '%s': %s",
					       target_word(o), base, strerror(errno));
		o->dir_temp = true;
	}
	char real[PATH_MAX];
	struct stat st;
	if (realpath(made, real) == NULL || stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
		return cli_usage_error("--dir: '%s' is not a directory", made);
	if (strlen(real) >= sizeof o->dir)
		return cli_usage_error("--dir: '%s' is too long a path (at most %zu bytes)", real,
				       sizeof o->dir - 1);
	for (size_t i = 0; i < DB_FILE_COUNT; i++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/%s", real, db_files[i]);
		if (access(path, F_OK) == 0)
			return cli_usage_error("--dir: '%s' already holds %s (an earlier run's?): remove it or name another directory",
					       real, db_files[i]);
	}
	snprintf(o->dir, sizeof o->dir, "%s", real);
	o->cfg.dir = o->dir;
	return 0;
}

bool run_threads_remove_dir(const struct run_opts *o)
{
	WH_ASSERT(o->dir_temp);
	WH_ASSERT(o->dir[0] == '/');
	for (size_t i = 0; i < DB_FILE_COUNT; i++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/%s", o->dir, db_files[i]);
		unlink(path);
	}
	/* Anything else in it (a temp file SQLite left) keeps it. */
	return rmdir(o->dir) == 0;
}

/* ------------------------------------------------------------------ */
/* The guard                                                           */
/* ------------------------------------------------------------------ */

/* Written by the child's crash handler, read by the parent. */
struct crash_note {
	volatile pid_t run_pid;      /* the run's process: only its own
					crash is noted */
	volatile sig_atomic_t signo; /* 0: no crash noted */
	volatile int conn;           /* -1: not a connection thread */
	volatile int op;             /* last VFS op kind, WH_OP__COUNT: none */
	char state[32];              /* driver state name */
};

static struct crash_note *crash_page;

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

/* Async-signal-safe: stores, a copy, and the signal again (SA_RESETHAND
 * has put the default action back, so it kills the child). */
static void on_crash(int sig)
{
	struct crash_note *n = crash_page;
	if (n != NULL && n->signo == 0 && getpid() == n->run_pid) {
		n->conn = world_thread_conn();
		n->op = world_thread_op();
		const char *s = world_thread_state();
		size_t i = 0;
		for (; s[i] != '\0' && i < sizeof n->state - 1; i++)
			n->state[i] = s[i];
		n->state[i] = '\0';
		n->signo = sig;
	}
	raise(sig);
}

static void install_crash_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
		sigaction(crash_signals[i], &sa, NULL);
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The crash as one line: who, where, which signal. */
static void crash_detail(const struct crash_note *n, int sig, char *buf, size_t len)
{
	const char *op = n->op >= 0 && n->op < WH_OP__COUNT ? wh_op_name((enum wh_op_kind)n->op)
							    : "none";
	snprintf(buf, len,
		 "connection %d's thread died of signal %d (%s) in state '%s', last VFS op %s: the run's process is gone with its history; nothing was checked",
		 n->conn, sig, strsignal(sig), n->state, op);
}

/* The run's result when the child died in a connection thread, as the
 * child would have printed it: summary or JSON. */
static void print_crash(const struct run_opts *o, const char *detail, double run_s)
{
	FILE *f = stdout;
	const struct world_config *c = &o->cfg;
	if (o->json) {
		fprintf(f, "{\"seed\": %" PRIu64 ", \"workload\": ", c->seed);
		json_str(f, o->workload_name);
		fprintf(f, ", \"verdict\": \"fail\", \"trace_hash\": null, \"reproducible\": false"
			   ", \"not_reproducible\": \"OS scheduling\", \"dir\": ");
		json_str(f, o->dir);
		fprintf(f, ", \"dir_kept\": true, \"config\": {\"connections\": %u, \"txns\": %" PRIu64
			   ", \"journal\": \"%s\", \"synchronous\": \"%s\", \"target\": \"%s\"}"
			   ", \"stats\": null, \"timing\": {\"run_s\": %.6f, \"check_s\": 0}"
			   ", \"violations\": [{\"kind\": \"crash\", \"label\": \"new\", \"detail\": ",
			c->conn_count, c->txn_count, c->journal_mode, c->synchronous, target_word(o),
			run_s);
		json_str(f, detail);
		fprintf(f, ", \"txns\": []}], \"repro\": ");
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (m != NULL) {
			run_print_repro(m, o);
			fclose(m);
		}
		json_str(f, buf != NULL ? buf : "");
		free(buf);
		fprintf(f, "}\n");
		return;
	}
	if (o->quiet)
		return;
	fprintf(f, "whopper run: seed %" PRIu64 ", workload %s, %u connections, %s, %s/%s\n",
		c->seed, o->workload_name, c->conn_count, target_word(o), c->journal_mode,
		c->synchronous);
	fprintf(f, "  FINDING [new] crash: %s\n", detail);
	fprintf(f, "  verdict: fail\n");
	fprintf(f, "  not reproducible: OS scheduling (the values come from the seed, the interleaving from the OS)\n");
	fprintf(f, "  files: %s (kept)\n", o->dir);
	fprintf(f, "  timing: run %.3f s\n", run_s);
	fprintf(f, "  same configuration (not the same run): ");
	run_print_repro(f, o);
	fprintf(f, "\n");
}

int run_threads_guarded(struct run_opts *o, int (*body)(struct run_opts *o))
{
	struct crash_note *note = mmap(NULL, sizeof *note, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (note == MAP_FAILED) {
		fprintf(stderr, "whopper: cannot map the crash note: %s\n", strerror(errno));
		return WH_EXIT_INTERNAL;
	}
	note->signo = 0;
	note->conn = -1;
	note->run_pid = 0;
	note->op = WH_OP__COUNT;
	double t0 = wall_s();
	/* Nothing buffered may be written twice. */
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "whopper: cannot fork the run: %s\n", strerror(errno));
		munmap(note, sizeof *note);
		return WH_EXIT_INTERNAL;
	}
	if (pid == 0) {
		note->run_pid = getpid();
		crash_page = note;
		install_crash_handlers();
		int rc = body(o);
		crash_page = NULL;
		munmap(note, sizeof *note);
		return rc;
	}
	int status = 0;
	pid_t got;
	while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	double run_s = wall_s() - t0;
	int rc;
	if (got < 0) {
		fprintf(stderr, "whopper: lost the run's process: %s\n", strerror(errno));
		rc = WH_EXIT_INTERNAL;
	} else if (note->signo != 0 && note->conn >= 0) {
		/* Also when a sanitizer's handler turned the signal into an
		 * exit: the note says it was a crash. */
		char detail[512];
		crash_detail(note, note->signo, detail, sizeof detail);
		print_crash(o, detail, run_s);
		rc = WH_EXIT_FINDING;
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		fprintf(stderr, "whopper: the run's process died of signal %d (%s), no connection thread's crash noted (whopper itself, or killed from outside); files kept in %s\n",
			sig, strsignal(sig), o->dir);
		rc = WH_EXIT_INTERNAL;
	} else {
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : WH_EXIT_INTERNAL;
	}
	munmap(note, sizeof *note);
	return rc;
}
