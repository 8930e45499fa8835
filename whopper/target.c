/*
 * target.c - `--target-lib PATH`: which SQLite library a command's runs
 * target, and how its identity is shown (summary line, JSON object, the
 * words of a refusal).
 *
 * The process has one target, the linked SQLite until --target-lib names
 * another; run_parse_opts starts every run's options from it, so a replay
 * file's recorded flags (which never hold --target-lib: the header names
 * the library instead) run on the library the command was given. Like
 * the --known catalogue, the choice lives until the process exits.
 *
 * The oracle's reference never follows it: it stays on the linked SQLite
 * (engine/sqlapi.h).
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static const struct wh_sqlapi *target_api = &wh_sqlapi_linked;
static const char *target_given; /* the first --target-lib, or NULL */

const struct wh_sqlapi *cli_target(void)
{
	return target_api;
}

int cli_target_lib(const char *path, const struct wh_sqlapi **out)
{
	if (path == NULL || *path == '\0')
		return cli_usage_error("--target-lib: missing PATH");
	/* One library per process: its configuration (allocator hooks, VFS
	 * registrations) is process-wide, and a second would be ambiguous. */
	if (target_given != NULL && strcmp(target_given, path) != 0)
		return cli_usage_error("--target-lib: given twice ('%s', then '%s'): one target per command",
				       target_given, path);
	char err[1024];
	const struct wh_sqlapi *api;
	if (wh_sqlapi_load(path, &api, err, sizeof err) != 0)
		return cli_usage_error("--target-lib: %s", err);
	target_given = path;
	target_api = api;
	if (out != NULL)
		*out = api;
	return 0;
}

void cli_target_describe(const struct wh_sqlapi *api, char *buf, size_t len)
{
	snprintf(buf, len, "SQLite %s (%s%s, source %s, options %016" PRIx64 ")",
		 wh_sqlapi_version(api), api->linked ? "linked: " : "", wh_sqlapi_path(api),
		 wh_sqlapi_source_id(api), wh_sqlapi_options_hash(api));
}

void cli_target_json(FILE *f, const struct wh_sqlapi *api)
{
	fprintf(f, "{\"version\": ");
	json_str(f, wh_sqlapi_version(api));
	fprintf(f, ", \"version_number\": %d, \"source_id\": ", wh_sqlapi_version_number(api));
	json_str(f, wh_sqlapi_source_id(api));
	fprintf(f, ", \"library\": ");
	json_str(f, wh_sqlapi_path(api));
	fprintf(f, ", \"linked\": %s, \"options_hash\": \"%016" PRIx64 "\"}",
		api->linked ? "true" : "false", wh_sqlapi_options_hash(api));
}
