/*
 * cli.h - shared pieces of the command-line front end: exit codes, the
 * run options every run-like command understands, and small output helpers.
 */
#ifndef WH_CLI_H
#define WH_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "world.h"

/* Exit codes of every command. */
enum {
	WH_EXIT_PASS = 0,    /* all checks passed */
	WH_EXIT_FINDING = 1, /* a check failed */
	WH_EXIT_USAGE = 2,   /* bad usage or input */
	WH_EXIT_INTERNAL = 3 /* whopper itself failed */
};

#define WHOPPER_VERSION "0.1.0"

struct run_opts {
	struct world_config cfg;
	const char *workload_name;
	const char *trace_path;
	bool json;
	bool quiet;
};

int cmd_run(int argc, char **argv);
int cmd_workloads(int argc, char **argv);
int cmd_nightly(int argc, char **argv);

/* Print "whopper: <msg>" to stderr and return WH_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write s as a JSON string literal (with quotes). */
void json_str(FILE *f, const char *s);

#endif /* WH_CLI_H */
