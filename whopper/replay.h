/*
 * replay.h - replay files (see replay.c for the format).
 */
#ifndef WH_REPLAY_H
#define WH_REPLAY_H

#include <stdint.h>

#include "cli.h"
#include "tape.h"

struct replay_file {
	int format;                 /* the file's format version */
	char whopper_version[32];
	char whopper_commit[64];
	char sqlite_version[32];
	/* The target's identity beyond its version (engine/sqlapi.h); empty
	 * in files written before whopper recorded it. */
	char sqlite_source_id[160];
	char sqlite_options[20];    /* options hash, 16 hex digits */
	char sqlite_library[1024];  /* the file (informative: not compared) */
	char workload[128];
	uint64_t workload_hash;
	int workload_for;           /* the SQLite version number its includes
				       were chosen for, when that left some
				       out; 0: every include kept */
	int argc;                   /* run flags, without output-only ones */
	char **argv;
	uint64_t trace_hash;
	char verdict[8];
	char signature[512];
	char *setup_sql;            /* setup run instead of the workload's
				       (the shrinker's collapsed prefix),
				       or NULL */
	struct simvfs_image image;  /* files the run starts from (count 0:
				       none; then setup_sql holds their
				       committed state) */
	struct world_skip *skips;   /* statements removed by the shrinker */
	uint32_t skip_count;
	struct wh_tape tape;
};

/* An empty file whose identity is the process's target (cli_target). */
void replay_file_init(struct replay_file *rf);
/* Name api as the SQLite the file was recorded on. */
void replay_file_set_target(struct replay_file *rf, const struct wh_sqlapi *api);
void replay_file_free(struct replay_file *rf);
/* 0, or 2 with "FILE:LINE: message" in err (rf left empty). */
int replay_read(const char *path, struct replay_file *rf, char *err, size_t err_len);
/* 0, or -1 after printing why (nothing is left under path). */
int replay_write(const char *path, const struct replay_file *rf);
/* 0 when this binary can reproduce rf's run on api; else 2 with the
 * reason in err (another whopper version, another SQLite - version,
 * source id or compile options, naming both - a changed workload, or an
 * older format whose tape means another run under cfg: a run with
 * power losses before format 6). api NULL: any SQLite will do (replay
 * --follow, versions). */
int replay_check_compatible(const char *path, const struct replay_file *rf,
			    const struct world_config *cfg, const struct wh_sqlapi *api,
			    char *err, size_t len);
/* Run options from the file's arguments (and skips). 0 or an exit code. */
int replay_opts(const struct replay_file *rf, struct run_opts *o);
uint64_t replay_workload_hash(const struct workload *wl);

/* One replay of a file's tape and what it showed beyond the outcome:
 * where it first left the recording's pick log (engine/sched.h) and
 * when its first failure was complete. */
struct replay_follow {
	struct run_outcome out;       /* the run's outcome */
	uint64_t recorded_steps;      /* picks in the file's log (0: none,
					 as in a --record-compact file) */
	uint64_t steps;               /* picks this run made */
	uint64_t sim_time_us;         /* simulated time at its end */
	struct sched_divergence div;  /* the first divergence noted */
	bool fail_known;              /* a violation's transactions had all
					 ended by fail_us */
	uint64_t fail_us;             /* simulated time the first violation
					 was complete */
};

/* Run rf's tape (a copy: rf is left as it was) with options o. strict:
 * follow the log only up to its first divergence (another SQLite). print
 * as for run_once. Returns the run's exit code (also in f->out). */
int replay_follow_run(const struct replay_file *rf, struct run_opts *o, bool strict, bool print,
		      struct replay_follow *f);
/* Did the run leave the recording: a noted divergence, or it ended
 * before the log did? */
bool replay_follow_diverged(const struct replay_follow *f);
/* Step and simulated time of the first divergence (when diverged). */
uint64_t replay_follow_step(const struct replay_follow *f);
uint64_t replay_follow_time_us(const struct replay_follow *f);
/* "step 812 of 4120, t=10234 us, connection 2: recorded write, here
 * read", or "none (followed all 4120 recorded picks)". */
void replay_follow_describe(const struct replay_follow *f, char *buf, size_t len);

#endif
