/*
 * workloads.c - `whopper workloads list | show NAME | check FILE`.
 *
 *   list           every built-in: name and description, "default" first,
 *                  and the SQLite it needs when it declares one;
 *   show NAME|FILE the workload's source text, preceded by a comment
 *                  header with its origin, the SQLite it needs, what its
 *                  includes need (left out of runs on an older SQLite),
 *                  parameters in effect, pragmas, shape and content hash;
 *   check FILE     load the file (a path, or a built-in name) with
 *                  optional --param NAME=VALUE overrides, exactly as `run`
 *                  would: exit 0 and a one-line summary when it is valid,
 *                  exit 2 and "FILE:LINE[:COL]: message" on stderr when it
 *                  is not (nothing is run).
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

#define WL_CLI_MAX_PARAMS 64

static const char workloads_help[] =
	"usage: whopper workloads list\n"
	"       whopper workloads show NAME|FILE [--param NAME=VALUE]...\n"
	"       whopper workloads check FILE [--param NAME=VALUE]...\n"
	"\n"
	"  list   the built-in workloads\n"
	"  show   a workload's source, with its parameters in effect\n"
	"  check  load a workload file and report the first error as\n"
	"         FILE:LINE[:COL]: message (exit 2), or exit 0 when valid\n"
	"\n"
	"workloads/README.md describes the file format.\n";

/* argv[i..] holds --param NAME=VALUE pairs. Returns 0 or an exit code. */
static int parse_params(int argc, char **argv, int i, const char **params,
			uint32_t *count)
{
	*count = 0;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--param") != 0)
			return cli_usage_error("workloads: unknown option '%s'", argv[i]);
		if (i + 1 >= argc || strchr(argv[i + 1], '=') == NULL)
			return cli_usage_error("--param: expected NAME=VALUE");
		if (*count == WL_CLI_MAX_PARAMS)
			return cli_usage_error("--param: at most %d", WL_CLI_MAX_PARAMS);
		params[(*count)++] = argv[++i];
	}
	return 0;
}

/* "SQLite 3.35.0 (ALTER TABLE DROP COLUMN), workloads/ddl-churn.sql:20" */
static void print_requirement(const struct wl_requirement *r)
{
	char v[32];
	wl_version_text(r->version, v, sizeof v);
	printf("SQLite %s%s%s%s, %s:%u", v, r->reason[0] ? " (" : "", r->reason,
	       r->reason[0] ? ")" : "", r->origin, r->line);
}

static void print_header(const struct workload *wl)
{
	printf("-- %s: %s\n", wl->name, wl->description);
	bool builtin = wl_find(wl->name) == wl;
	printf("-- origin: %s%s\n", wl->origin ? wl->origin : "?",
	       builtin ? " (built into the binary)" : "");
	if (wl->requires.version != 0) {
		printf("-- requires ");
		print_requirement(&wl->requires);
		printf("\n");
	}
	for (uint32_t k = 0; k < wl->include_need_count; k++) {
		printf("-- include %s requires ", wl->include_needs[k].name);
		print_requirement(&wl->include_needs[k].needs);
		printf(": left out on an older SQLite\n");
	}
	for (uint32_t k = 0; k < wl->param_count; k++)
		printf("-- param %s\n", wl->params[k]);
	for (uint32_t k = 0; k < wl->pragma_count; k++)
		printf("-- pragma %s\n", wl->pragmas[k]);
	if (wl->shape)
		printf("-- shape %s (%u statements mapped)\n", wl->shape, wl->elle_op_count);
	printf("-- content hash %016" PRIx64 "\n", wl->content_hash);
}

int cmd_workloads(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(workloads_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? WH_EXIT_USAGE : WH_EXIT_PASS;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "list") == 0) {
		if (argc > 2)
			return cli_usage_error("workloads list: unexpected argument '%s'", argv[2]);
		for (uint32_t i = 0; wl_builtin(i) != NULL; i++) {
			const struct workload *wl = wl_builtin(i);
			char v[32] = "";
			if (wl->requires.version != 0)
				wl_version_text(wl->requires.version, v, sizeof v);
			printf("%-14s %s%s%s%s\n", wl->name, wl->description,
			       v[0] ? " [SQLite " : "", v, v[0] ? "+]" : "");
		}
		return WH_EXIT_PASS;
	}
	if (strcmp(sub, "show") != 0 && strcmp(sub, "check") != 0)
		return cli_usage_error("workloads: unknown subcommand '%s'", sub);
	if (argc < 3)
		return cli_usage_error("workloads %s: missing %s", sub,
				       sub[0] == 's' ? "NAME" : "FILE");
	const char *params[WL_CLI_MAX_PARAMS];
	uint32_t param_count = 0;
	int rc = parse_params(argc, argv, 3, params, &param_count);
	if (rc != 0)
		return rc;
	const struct workload *wl = NULL;
	char err[1024];
	if (wl_resolve_with_params(argv[2], params, param_count, WL_SQLITE_ANY, &wl, err,
				   sizeof err) != 0) {
		/* The message starts with FILE:LINE: it is the whole line. */
		fprintf(stderr, "%s\n", err);
		return WH_EXIT_USAGE;
	}
	if (strcmp(sub, "check") == 0) {
		printf("%s: ok: workload '%s', %u parameter%s, %u invariant%s%s%s\n",
		       argv[2], wl->name, wl->param_count, wl->param_count == 1 ? "" : "s",
		       wl->invariant_count, wl->invariant_count == 1 ? "" : "s",
		       wl->shape ? ", shape " : "", wl->shape ? wl->shape : "");
		return WH_EXIT_PASS;
	}
	print_header(wl);
	fputs(wl->source ? wl->source : "", stdout);
	return WH_EXIT_PASS;
}
