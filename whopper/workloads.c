/*
 * workloads.c - `whopper workloads list | show NAME`: the built-in
 * workloads and what they do.
 */
#include <string.h>

#include "cli.h"

int cmd_workloads(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		printf("usage: whopper workloads list | show NAME\n");
		return argc < 2 ? WH_EXIT_USAGE : WH_EXIT_PASS;
	}
	if (strcmp(argv[1], "list") == 0) {
		for (uint32_t i = 0; wl_builtin(i) != NULL; i++)
			printf("%-12s %s\n", wl_builtin(i)->name,
			       wl_builtin(i)->description);
		return WH_EXIT_PASS;
	}
	if (strcmp(argv[1], "show") == 0) {
		if (argc < 3)
			return cli_usage_error("workloads show: missing NAME");
		const struct workload *wl = wl_find(argv[2]);
		if (wl == NULL)
			return cli_usage_error("workloads show: unknown workload '%s'",
					       argv[2]);
		printf("-- %s: %s\n-- setup\n%s", wl->name, wl->description,
		       wl->setup_sql);
		for (uint32_t i = 0; i < wl->invariant_count; i++)
			printf("-- invariant\n%s;\n", wl->invariants[i]);
		return WH_EXIT_PASS;
	}
	return cli_usage_error("workloads: unknown subcommand '%s'", argv[1]);
}
