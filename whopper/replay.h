/*
 * replay.h - replay files (see replay.c for the format).
 */
#ifndef WH_REPLAY_H
#define WH_REPLAY_H

#include <stdint.h>

#include "cli.h"
#include "tape.h"

struct replay_file {
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
	int argc;                   /* run flags, without output-only ones */
	char **argv;
	uint64_t trace_hash;
	char verdict[8];
	char signature[512];
	char *setup_sql;            /* setup run instead of the workload's
				       (the shrinker's collapsed prefix),
				       or NULL */
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
 * source id or compile options, naming both - or a changed workload). */
int replay_check_compatible(const char *path, const struct replay_file *rf,
			    const struct workload *wl, const struct wh_sqlapi *api, char *err,
			    size_t len);
/* Run options from the file's arguments (and skips). 0 or an exit code. */
int replay_opts(const struct replay_file *rf, struct run_opts *o);
uint64_t replay_workload_hash(const struct workload *wl);

#endif
