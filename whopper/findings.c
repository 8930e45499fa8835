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
 *
 * `whopper findings range VERSION=RESULT...` prints the versions (and
 * fixed) lines a measurement implies (triage_measure_range, the rule the
 * parser checks a "measured" line against), for scripts that measure a
 * finding without `whopper versions --finding`.
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
	"       whopper findings range VERSION=RESULT...\n"
	"\n"
	"list: print the catalogue of known findings in SQLite that runs are\n"
	"triaged with: id, SQLite versions (the version it was fixed in and\n"
	"the measurement they come from, when known), title and the test that\n"
	"pins it. --known FILE adds entries in the same format (see README.md,\n"
	"'Triage'). --target-lib PATH: say which entries apply to that SQLite\n"
	"library's version instead of the linked one's.\n"
	"range: print the 'versions' line (and 'fixed', when a newer version\n"
	"was measured without it) that a measurement implies, oldest version\n"
	"first: RESULT is fails, passes, K/N (K of N seeds showed it),\n"
	"fails,K/N or passes,0/N, as on a catalogue 'measured' line.\n";

/* `findings range TOKEN...`: the catalogue lines a measurement implies,
 * by the rule the catalogue parser checks them with. */
static int findings_range(int argc, char **argv, int first)
{
	struct triage_measure m[64];
	uint32_t n = 0;
	for (int i = first; i < argc; i++) {
		const char *why = NULL;
		if (n == sizeof m / sizeof m[0])
			return cli_usage_error("findings range: more than %zu versions",
					       sizeof m / sizeof m[0]);
		if (!triage_measure_parse(argv[i], &m[n], &why))
			return cli_usage_error("findings range: '%s': %s", argv[i], why);
		if (n > 0 && m[n].version <= m[n - 1].version)
			return cli_usage_error("findings range: '%s': versions go oldest first, each once",
					       argv[i]);
		n++;
	}
	if (n == 0)
		return cli_usage_error("findings range: expected VERSION=RESULT... (try 'whopper findings --help')");
	int lo, hi, fixed;
	if (!triage_measure_range(m, n, &lo, &hi, &fixed))
		return cli_usage_error("findings range: no version shows the finding, so there is no range");
	if (hi == 0) {
		printf("versions %d-\n", lo);
	} else {
		printf("versions %d-%d\n", lo, hi);
		printf("fixed %d\n", fixed);
	}
	return WH_EXIT_PASS;
}

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

/* "  measured: DATE on 3.39.1=fails 3.40.1=fails,37/1000 ..." */
static void print_measured(FILE *f, const struct triage_entry *e)
{
	WH_ASSERT(e->measured_count > 0);
	WH_ASSERT(e->measured_date[0] != '\0');
	fprintf(f, "  measured: %s on", e->measured_date);
	for (uint32_t i = 0; i < e->measured_count; i++) {
		char token[64];
		triage_measure_format(&e->measured[i], token, sizeof token);
		fprintf(f, " %s", token);
	}
	fputc('\n', f);
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
		} else if (strcmp(argv[i], "range") == 0 && !list && i == 1) {
			return findings_range(argc, argv, i + 1);
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
		printf(")%s\n", triage_version_regressed(e, version)   ? ", a regression on this SQLite"
			       : triage_version_in_range(e, version) ? ""
								     : ", not this SQLite");
		if (e->version_fixed != 0) {
			char fixed[32];
			triage_version_format(e->version_fixed, fixed, sizeof fixed);
			printf("  fixed in: %s (%d; a match there or later is a regression, new)\n", fixed,
			       e->version_fixed);
		}
		if (e->measured_count > 0)
			print_measured(stdout, e);
		for (int t = 0; t < 2; t++) {
			const struct triage_differential *d = &e->differential[t];
			printf("  real %s: %s%s%s\n", triage_diff_targets[t],
			       triage_diff_result_text(d->result), d->detail ? ": " : "",
			       d->detail ? d->detail : "");
		}
		printf("  title: %s\n  test: %s\n  source: %s\n", e->title, e->test, e->source);
	}
	return WH_EXIT_PASS;
}
