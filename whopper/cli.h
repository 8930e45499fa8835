/*
 * cli.h - shared pieces of the command-line front end: exit codes, the
 * run options every run-like command understands, and small output helpers.
 */
#ifndef WH_CLI_H
#define WH_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "workloads.h"
#include "world.h"

/* Exit codes of every command. */
enum {
	WH_EXIT_PASS = 0,    /* all checks passed */
	WH_EXIT_FINDING = 1, /* a check failed */
	WH_EXIT_USAGE = 2,   /* bad usage or input */
	WH_EXIT_INTERNAL = 3 /* whopper itself failed */
};

#define WHOPPER_VERSION "0.1.0"

#define RUN_MAX_PARAMS 64

struct run_opts {
	struct world_config cfg;
	const char *params[RUN_MAX_PARAMS]; /* --param NAME=VALUE */
	uint32_t param_count;
	const char *vfs_bug_name;
	const char *workload_name;
	const char *target_lib;     /* --target-lib PATH as given, or NULL
				       (cfg.api is the loaded library) */
	const char *trace_path;
	const char *record_path;
	bool record_compact;        /* --record-compact: no draws in the file */
	const char *elle_path;
	/* The replay file the run came from, when the flags alone do not
	 * make it (a shrunk run: a collapsed prefix, removed statements):
	 * the repro line names the file then. NULL: a plain run. */
	const char *replay_path;
	bool json;
	bool quiet;
	bool serial_check;  /* --serial-check: no concurrent oracle */
	uint64_t time_limit_s; /* --time-limit: wall-clock backstop of a
				  run and its check; 0: none */
	/* --target threads and processes (run_threads.c): */
	const char *dir_arg;        /* --dir DIR as given, or NULL */
	char dir[WORLD_PATH_MAX - 16]; /* the directory in use (its real
				       path); cfg.dir points here */
	bool dir_temp;              /* made for this run: removed on pass */
	bool dir_removed;           /* ... and it was */
	const char *sim_flag;       /* the first simulation-only flag given
				       (--scheduler...), or NULL */
	bool busy_given;            /* --busy-timeout was given */
	/* Catalogue of known findings the run is triaged with (--known
	 * FILE adds to the shipped one); NULL: the shipped one. Not part of
	 * the run: replay files do not record it. */
	const struct triage_catalog *catalog;
};

/* What one run ended with. */
struct run_outcome {
	int exit_code;        /* WH_EXIT_* */
	char verdict[8];      /* "pass", "fail", "error" */
	uint64_t trace_hash;
	char signature[512];  /* triage signature ("new:...", "known:...",
				 "expected:..."), "" when it passed */
	char label[12];       /* triage label: pass, expected, known, new */
	uint64_t txns;
	uint64_t statements;
};

struct oracle_report;
typedef void (*run_inspect_fn)(void *ctx, const struct run_opts *o,
			       const struct world_result *res,
			       const struct oracle_report *rep);

/* Parse `run` flags (argv[0] is the command name). 0, -1 after --help, or
 * an exit code (after printing the one-line error). */
int run_parse_opts(int argc, char **argv, struct run_opts *o);
/* The same, with the workload's includes chosen for SQLite version
 * compose_for (WL_SQLITE_ANY keeps them all; a replay composes the
 * workload as its recording did) instead of for the older of the target
 * and the oracle's reference (0). Either way a workload whose own
 * requirement that older one does not meet is refused (exit 2). */
int run_parse_opts_composed(int argc, char **argv, int compose_for, struct run_opts *o);
/* One run and its check. tape: NULL, or a tape to record into / replay
 * (rewound). print: summary/JSON/trace as the options say; otherwise
 * silent. inspect (may be NULL) sees the result before it is freed.
 * Returns the exit code (also in out). */
int run_once(struct run_opts *o, struct wh_tape *tape, bool print, struct run_outcome *out,
	     run_inspect_fn inspect, void *inspect_ctx);

/* The command line that reproduces the run (on the threads target: the
 * same configuration). */
void run_print_repro(FILE *f, const struct run_opts *o);

/* --target threads and processes (run_threads.c). */
/* The directory the files go in: --dir's (made if missing; refused when
 * it holds a database already) or a fresh temporary one, as a real path
 * in o->dir. 0, or WH_EXIT_USAGE after the one-line error. */
int run_threads_prepare_dir(struct run_opts *o);
/* Remove the files of a passed run and the directory made for it. True
 * when the directory is gone. */
bool run_threads_remove_dir(const struct run_opts *o);
/* Run body(o) in a child process and wait for it: a child that dies of a
 * signal is reported (a connection thread's crash: a "crash" finding,
 * exit 1; elsewhere whopper failed, exit 3). Returns body's exit code in
 * the child (which should then return it from main) and the outcome in
 * the parent. */
int run_threads_guarded(struct run_opts *o, int (*body)(struct run_opts *o));

/* Replay files (replay.c). */
int replay_check_writable(const char *path);
int replay_save(const char *path, int argc, char **argv, const struct run_opts *o,
		const struct wh_tape *tape, const struct run_outcome *out);

int cmd_run(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_shrink(int argc, char **argv);
int cmd_workloads(int argc, char **argv);
int cmd_nightly(int argc, char **argv);
int cmd_versions(int argc, char **argv);
int cmd_differential(int argc, char **argv);
/* Does this run flag steer only the simulation (refused on --target
 * threads)? */
bool run_flag_is_sim_only(const char *flag);
int cmd_findings(int argc, char **argv);

/* --known FILE (findings.c): add FILE's entries to the process's
 * command-line catalogue (the shipped entries first), kept until exit,
 * and point *out at it. 0, or WH_EXIT_USAGE after printing the one-line
 * "FILE:LINE: message" (the catalogue is then unchanged). */
struct triage_catalog;
int cli_known_add(const char *path, const struct triage_catalog **out);

/* --target-lib PATH (target.c): load the library (engine/sqlapi.h) and
 * make it the process's target, which every later run_parse_opts starts
 * from; *out (may be NULL) is set to it. 0, or WH_EXIT_USAGE after the
 * one-line refusal naming the library and why (cannot load, a missing
 * entry point, too old, a second different --target-lib). */
int cli_target_lib(const char *path, const struct wh_sqlapi **out);
/* The process's target: the linked SQLite unless --target-lib said. */
const struct wh_sqlapi *cli_target(void);
/* "SQLite 3.40.1 (PATH, source ..., options HASH)" into buf. */
void cli_target_describe(const struct wh_sqlapi *api, char *buf, size_t len);
/* The identity as a JSON object: version, version_number, source_id,
 * library, linked, options_hash. */
void cli_target_json(FILE *f, const struct wh_sqlapi *api);

/* Print "whopper: <msg>" to stderr and return WH_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write s as a JSON string literal (with quotes). */
void json_str(FILE *f, const char *s);

#endif /* WH_CLI_H */
