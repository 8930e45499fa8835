/*
 * findings.c - the catalogue of known findings as the command line sees
 * it: `--known FILE` (run, replay, shrink) adds a user's entries to the
 * shipped ones, and `whopper findings list [--known FILE]` prints the
 * catalogue.
 *
 * The command-line catalogue is built once per process (the shipped
 * entries, then each --known file in the order given) and kept until
 * exit, so run options may point at it freely. A bad file is an input
 * error: one line "FILE:LINE: message", exit status 2, and the command
 * stops before it runs or writes anything.
 */
#include <string.h>

#include "cli.h"
#include "triage.h"

static struct triage_catalog cli_catalog;
static bool cli_catalog_ready;

int cli_known_add(const char *path, const struct triage_catalog **out)
{
	if (path == NULL || *path == '\0')
		return cli_usage_error("--known: missing FILE");
	if (!cli_catalog_ready) {
		triage_catalog_init(&cli_catalog);
		triage_catalog_add_builtin(&cli_catalog);
		cli_catalog_ready = true;
	}
	char err[1024];
	if (triage_catalog_add_file(&cli_catalog, path, err, sizeof err) != 0)
		return cli_usage_error("%s", err);
	WH_ASSERT(cli_catalog.entry_count > 0);
	*out = &cli_catalog;
	return 0;
}

static const char findings_help[] =
	"usage: whopper findings list [--known FILE]... [--target-lib PATH]\n"
	"\n"
	"Print the catalogue of known findings in SQLite that runs are triaged\n"
	"with: id, SQLite versions, title and the test that pins it. --known\n"
	"FILE adds entries in the same format (see README.md, 'Triage').\n"
	"--target-lib PATH: say which entries apply to that SQLite library's\n"
	"version instead of the linked one's.\n";

static void print_versions(FILE *f, const struct triage_entry *e)
{
	char lo[32], hi[32];
	triage_version_format(e->version_lo, lo, sizeof lo);
	if (e->version_hi == 0) {
		fprintf(f, "%s onward", lo);
	} else {
		triage_version_format(e->version_hi, hi, sizeof hi);
		fprintf(f, "%s to %s", lo, hi);
	}
}

int cmd_findings(int argc, char **argv)
{
	const struct triage_catalog *cat = NULL;
	bool list = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(findings_help, stdout);
			return WH_EXIT_PASS;
		} else if (strcmp(argv[i], "--known") == 0) {
			int rc = cli_known_add(i + 1 < argc ? argv[i + 1] : NULL, &cat);
			if (rc != 0)
				return rc;
			i++;
		} else if (strcmp(argv[i], "--target-lib") == 0) {
			int rc = cli_target_lib(i + 1 < argc ? argv[i + 1] : NULL, NULL);
			if (rc != 0)
				return rc;
			i++;
		} else if (strcmp(argv[i], "list") == 0 && !list) {
			list = true;
		} else {
			return cli_usage_error("findings: unexpected argument '%s' (try 'whopper findings --help')",
					       argv[i]);
		}
	}
	if (!list)
		return cli_usage_error("findings: expected 'list' (try 'whopper findings --help')");
	if (cat == NULL)
		cat = triage_builtin();
	int version = wh_sqlapi_version_number(cli_target());
	char this_version[32];
	triage_version_format(version, this_version, sizeof this_version);
	printf("%u known findings (this is SQLite %s)\n", cat->entry_count, this_version);
	for (uint32_t i = 0; i < cat->entry_count; i++) {
		const struct triage_entry *e = &cat->entries[i];
		printf("\n%s\n  versions: ", e->id);
		print_versions(stdout, e);
		printf(" (%d-", e->version_lo);
		if (e->version_hi)
			printf("%d", e->version_hi);
		printf(")%s\n", triage_version_in_range(e, version) ? "" : ", not this SQLite");
		printf("  title: %s\n  test: %s\n  source: %s\n", e->title, e->test, e->source);
	}
	return WH_EXIT_PASS;
}
