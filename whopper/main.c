/*
 * main.c - whopper's entry point: dispatches to one command per file
 * (run, workloads; replay, shrink and nightly as they land) and owns the
 * shared helpers for usage errors and JSON strings.
 */
#include <execinfo.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"usage: whopper COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  run        one seeded stress run, checked by the oracle\n"
	"  replay     reproduce a recorded run: replay FILE.whop\n"
	"  shrink     minimise a failing recorded run: shrink FILE.whop --out MIN.whop\n"
	"  versions   which SQLite versions fail a recording: versions FILE.whop LIB...\n"
	"  differential  try a recorded finding on real threads or processes: differential FILE.whop\n"
	"  nightly    many seeds over a configuration matrix, in child processes\n"
	"  workloads  list | show NAME | check FILE\n"
	"  findings   list [--known FILE]: the catalogue of known SQLite findings\n"
	"  version    print the version\n"
	"\n"
	"'whopper COMMAND --help' shows a command's options.\n"
	"exit status: 0 all checks passed, 1 a check failed, 2 bad usage or\n"
	"input, 3 whopper itself failed.\n";

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("whopper: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return WH_EXIT_USAGE;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* A crash of the target (or of whopper) in a run is a result the nightly
 * job reports: print the signal and a backtrace on stderr, then die by the
 * same signal so the parent sees how the child ended. Only async-signal-safe
 * calls here (backtrace is preloaded at install time). */
static void crash_handler(int sig)
{
	void *frames[64];
	static const char head[] = "whopper: fatal signal ";
	char num[8];
	int n = 0, s = sig;
	do {
		num[n++] = (char)('0' + s % 10);
		s /= 10;
	} while (s && n < 7);
	ssize_t ignored = write(2, head, sizeof head - 1);
	while (n > 0)
		ignored = write(2, &num[--n], 1);
	ignored = write(2, "\nbacktrace:\n", 12);
	(void)ignored;
	int depth = backtrace(frames, 64);
	backtrace_symbols_fd(frames, depth, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_crash_handlers(void)
{
	void *warm[1];
	backtrace(warm, 1); /* load libgcc now, not inside the handler */
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = crash_handler;
		sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
		sigaction(sigs[i], &sa, NULL);
	}
}

int main(int argc, char **argv)
{
	install_crash_handlers();
	if (argc < 2) {
		fputs(usage, stderr);
		return WH_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (strcmp(cmd, "shrink") == 0)
		return cmd_shrink(argc - 1, argv + 1);
	if (strcmp(cmd, "versions") == 0)
		return cmd_versions(argc - 1, argv + 1);
	if (strcmp(cmd, "differential") == 0)
		return cmd_differential(argc - 1, argv + 1);
	if (strcmp(cmd, "nightly") == 0)
		return cmd_nightly(argc - 1, argv + 1);
	if (strcmp(cmd, "workloads") == 0)
		return cmd_workloads(argc - 1, argv + 1);
	if (strcmp(cmd, "findings") == 0)
		return cmd_findings(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("whopper %s (SQLite %s)\n", WHOPPER_VERSION, sqlite3_libversion());
		return WH_EXIT_PASS;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return WH_EXIT_PASS;
	}
	return cli_usage_error("unknown command '%s' (try 'whopper --help')", cmd);
}
