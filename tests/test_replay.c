/*
 * test_replay.c - the choice stream (engine/tape.c) and replay files
 * (whopper/replay.c): a written file reads back field for field; every
 * truncation and every single-byte corruption of a file is an input error
 * (2) whose message names FILE:LINE; a file of another format, whopper or
 * SQLite version, or with a changed workload, is refused; tape replay
 * returns the recorded draws, continues from the PRNG past them, and an
 * edited (zeroed) draw moves its decision to the first option.
 *
 * replay.c lives with the command-line sources, which the test binaries do
 * not link, so it is compiled into this test directly; the CLI functions
 * it calls and these tests never reach are stubbed below.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay.c"

/* ------------------------------------------------------------------ */
/* Stubs for the CLI functions replay.c refers to                      */
/* ------------------------------------------------------------------ */

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return WH_EXIT_USAGE;
}

int run_parse_opts_composed(int argc, char **argv, int compose_for, struct run_opts *o)
{
	(void)argc;
	(void)argv;
	(void)compose_for;
	memset(o, 0, sizeof *o);
	fail_msg("run_parse_opts_composed is not part of these tests");
	return WH_EXIT_INTERNAL;
}

int cli_known_add(const char *path, const struct triage_catalog **out)
{
	(void)path;
	*out = NULL;
	fail_msg("cli_known_add is not part of these tests");
	return WH_EXIT_INTERNAL;
}

/* The process's target: the linked SQLite, as without --target-lib. */
const struct wh_sqlapi *cli_target(void)
{
	return &wh_sqlapi_linked;
}

int cli_target_lib(const char *path, const struct wh_sqlapi **out)
{
	(void)path;
	(void)out;
	fail_msg("cli_target_lib is not part of these tests");
	return WH_EXIT_INTERNAL;
}

int run_once(struct run_opts *o, struct wh_tape *tape, bool print, struct run_outcome *out,
	     run_inspect_fn inspect, void *inspect_ctx)
{
	(void)o;
	(void)tape;
	(void)print;
	(void)inspect;
	(void)inspect_ctx;
	memset(out, 0, sizeof *out);
	fail_msg("run_once is not part of these tests");
	return WH_EXIT_INTERNAL;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* The corruption tests write thousands of small files: /dev/shm keeps
 * them off the disk when it exists. */
static char *temp_path(void)
{
	char *p = wh_strdup(access("/dev/shm", W_OK) == 0 ? "/dev/shm/test_replay_XXXXXX"
							  : "/tmp/test_replay_XXXXXX");
	int fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
	return p;
}

/* A replay file with every kind of line: args needing escapes, skips,
 * tracks empty, short and spanning several value lines. */
static void sample_file(struct replay_file *rf)
{
	replay_file_init(rf);
	snprintf(rf->workload, sizeof rf->workload, "bank");
	rf->workload_hash = 0x0123456789abcdefULL;
	rf->workload_for = 3015002;
	static const char *const args[] = {"--seed", "7", "--pragma", "a=100%\nb", "--txns",
					   "60"};
	rf->argc = (int)(sizeof args / sizeof args[0]);
	rf->argv = wh_calloc((size_t)rf->argc + 1, sizeof *rf->argv);
	for (int i = 0; i < rf->argc; i++)
		rf->argv[i] = wh_strdup(args[i]);
	rf->trace_hash = 0xfeedfacecafebeefULL;
	snprintf(rf->verdict, sizeof rf->verdict, "fail");
	snprintf(rf->signature, sizeof rf->signature, "new:dirty_read@wal,none");
	rf->skip_count = 2;
	rf->skips = wh_malloc(2 * sizeof *rf->skips);
	rf->skips[0] = (struct world_skip){3, 1};
	rf->skips[1] = (struct world_skip){12, 0};
	wh_tape_track(&rf->tape, WH_STREAM_FAULTS); /* stays empty */
	struct wh_track *t = wh_tape_track(&rf->tape, WH_STREAM_PICKS);
	for (uint64_t k = 0; k < 19; k++)
		wh_track_push(t, k * 0x9e3779b97f4a7c15ULL);
	t = wh_tape_track(&rf->tape, WH_STREAM_CONN + 2);
	wh_track_push(t, 0);
	wh_track_push(t, UINT64_MAX);
	/* A shrunk run from files: 200 bytes with a zero chunk in the
	 * middle (left out of the file) and a short last chunk, and an
	 * empty journal. */
	rf->setup_sql = wh_strdup("CREATE TABLE t(x);\n");
	rf->image.count = 2;
	rf->image.files = wh_calloc(2, sizeof *rf->image.files);
	rf->image.files[0] = (struct simvfs_image_file){wh_strdup("a.db"), wh_calloc(200, 1), 200};
	for (int i = 0; i < 200; i++)
		if (i < 64 || i >= 128)
			rf->image.files[0].data[i] = (unsigned char)(i * 7 + 1);
	rf->image.files[1] = (struct simvfs_image_file){wh_strdup("a.db-journal"), wh_calloc(1, 1), 0};
}

static char *write_sample(size_t *len)
{
	struct replay_file rf;
	sample_file(&rf);
	char *path = temp_path();
	assert_int_equal(replay_write(path, &rf), 0);
	replay_file_free(&rf);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fclose(f);
	return path;
}

static char *slurp(const char *path, size_t len)
{
	char *buf = wh_malloc(len + 1);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, len, f), len);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static void spit(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* The message starts "PATH:LINE: " with LINE a number. */
static void assert_names_file_line(const char *err, const char *path)
{
	size_t n = strlen(path);
	if (strncmp(err, path, n) != 0 || err[n] != ':')
		fail_msg("error does not start with '%s:': %s", path, err);
	char *end;
	long line = strtol(err + n + 1, &end, 10);
	if (end == err + n + 1 || *end != ':' || line < 0)
		fail_msg("error does not name a line: %s", err);
}

/* ------------------------------------------------------------------ */
/* Replay files                                                        */
/* ------------------------------------------------------------------ */

/* Everything written comes back: header, escaped args, skips, tracks. */
static void test_round_trip(void **state)
{
	(void)state;
	struct replay_file a, b;
	sample_file(&a);
	char *path = temp_path();
	assert_int_equal(replay_write(path, &a), 0);
	char err[512] = "";
	assert_int_equal(replay_read(path, &b, err, sizeof err), 0);
	assert_string_equal(b.whopper_version, a.whopper_version);
	assert_string_equal(b.sqlite_version, a.sqlite_version);
	assert_string_equal(b.sqlite_source_id, a.sqlite_source_id);
	assert_string_equal(b.sqlite_options, a.sqlite_options);
	assert_string_equal(b.sqlite_library, a.sqlite_library);
	assert_string_equal(b.sqlite_source_id, sqlite3_sourceid());
	assert_string_equal(b.workload, "bank");
	assert_true(b.workload_hash == a.workload_hash);
	assert_int_equal(b.workload_for, 3015002);
	assert_int_equal(b.argc, a.argc);
	for (int i = 0; i < a.argc; i++)
		assert_string_equal(b.argv[i], a.argv[i]);
	assert_true(b.trace_hash == a.trace_hash);
	assert_string_equal(b.verdict, "fail");
	assert_string_equal(b.signature, a.signature);
	assert_int_equal(b.skip_count, 2);
	assert_int_equal(b.skips[1].txn, 12);
	assert_int_equal(b.skips[0].stmt, 1);
	assert_string_equal(b.setup_sql, a.setup_sql);
	assert_true(simvfs_image_equal(&a.image, &b.image));
	assert_int_equal(b.tape.track_count, a.tape.track_count);
	for (uint32_t t = 0; t < a.tape.track_count; t++) {
		const struct wh_track *x = &a.tape.tracks[t];
		const struct wh_track *y = wh_tape_track(&b.tape, x->stream);
		assert_int_equal(y->count, x->count);
		for (uint64_t k = 0; k < x->count; k++)
			assert_true(y->values[k] == x->values[k]);
	}
	/* and writing what was read gives the same bytes */
	char *again = temp_path();
	assert_int_equal(replay_write(again, &b), 0);
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	size_t len = (size_t)ftell(f);
	fclose(f);
	char *x = slurp(path, len), *y = slurp(again, len);
	assert_memory_equal(x, y, len);
	free(x);
	free(y);
	replay_file_free(&a);
	replay_file_free(&b);
	unlink(path);
	unlink(again);
	free(path);
	free(again);
}

/* A tape's values are written by hand as printf's %PRIx64 would (the
 * bytes, and so the checksum, of every replay file depend on it): the
 * edges of each digit count, and values of every bit length. */
static void test_hex_like_printf(void **state)
{
	(void)state;
	char got[32], want[32];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 4096; i++) {
		uint64_t v;
		if (i < 64)
			v = (uint64_t)1 << i; /* 1, 2, 4 ... */
		else if (i < 128)
			v = ((uint64_t)1 << (i - 64)) - 1; /* 0, 1, 3 ... */
		else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			v = x >> (i % 64);
		}
		size_t n = hex_u64(got, v);
		got[n] = '\0';
		snprintf(want, sizeof want, "%" PRIx64, v);
		assert_string_equal(got, want);
	}
}

/* workload-for is written only when includes were left out, and read
 * back as the version; a file without it composes with every include
 * (0), and a malformed one is an input error naming its line. */
static void test_workload_for(void **state)
{
	(void)state;
	struct replay_file a, b;
	sample_file(&a);
	a.workload_for = 0;
	char *path = temp_path();
	assert_int_equal(replay_write(path, &a), 0);
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	size_t len = (size_t)ftell(f);
	fclose(f);
	char *text = slurp(path, len);
	assert_null(strstr(text, "workload-for"));
	char err[512] = "";
	assert_int_equal(replay_read(path, &b, err, sizeof err), 0);
	assert_int_equal(b.workload_for, 0);
	replay_file_free(&b);
	/* A bad version on the line, spliced in after the workload line. */
	char *at = strstr(text, "\narg ");
	assert_non_null(at);
	size_t head = (size_t)(at + 1 - text);
	const char bad[] = "workload-for three\n";
	char *edited = wh_malloc(len + sizeof bad);
	memcpy(edited, text, head);
	memcpy(edited + head, bad, sizeof bad - 1);
	memcpy(edited + head + sizeof bad - 1, text + head, len - head);
	spit(path, edited, len + sizeof bad - 1);
	assert_int_equal(replay_read(path, &b, err, sizeof err), 2);
	assert_names_file_line(err, path);
	assert_non_null(strstr(err, "malformed workload-for line"));
	free(edited);
	free(text);
	replay_file_free(&a);
	unlink(path);
	free(path);
}

/* Every proper prefix of a file (cut mid-line or at a line end) is an
 * input error naming the file and a line; nothing is left in rf. */
static void test_truncated(void **state)
{
	(void)state;
	size_t len;
	char *path = write_sample(&len);
	char *full = slurp(path, len);
	char *cut = temp_path();
	for (size_t n = 0; n < len; n++) {
		spit(cut, full, n);
		struct replay_file rf;
		char err[512] = "";
		assert_int_equal(replay_read(cut, &rf, err, sizeof err), 2);
		assert_names_file_line(err, cut);
		assert_int_equal(rf.argc, 0);
		assert_int_equal(rf.tape.track_count, 0);
	}
	unlink(cut);
	unlink(path);
	free(cut);
	free(path);
	free(full);
}

/* Changing any one byte is an input error naming the file and a line:
 * the checksum covers every byte, and the parser refuses what it cannot
 * read before it gets there. */
static void test_corrupt_any_byte(void **state)
{
	(void)state;
	size_t len;
	char *path = write_sample(&len);
	char *full = slurp(path, len);
	char *bad = temp_path();
	static const char subst[] = {'0', 'f', ' ', '\n', 'x', '\0'};
	for (size_t i = 0; i < len; i++) {
		for (size_t s = 0; s < sizeof subst; s++) {
			if (full[i] == subst[s])
				continue;
			char keep = full[i];
			full[i] = subst[s];
			spit(bad, full, len);
			full[i] = keep;
			struct replay_file rf;
			char err[512] = "";
			int rc = replay_read(bad, &rf, err, sizeof err);
			if (rc != 2)
				fail_msg("byte %zu set to 0x%02x was accepted: ...%.40s...", i, (unsigned char)subst[s], full + (i > 20 ? i - 20 : 0));
			assert_names_file_line(err, bad);
		}
	}
	unlink(bad);
	unlink(path);
	free(bad);
	free(path);
	free(full);
}

/* Files that are not replay files, or of another format version. */
static void test_wrong_format(void **state)
{
	(void)state;
	char *path = temp_path();
	struct replay_file rf;
	char err[512];

	spit(path, "hello\n", 6);
	assert_int_equal(replay_read(path, &rf, err, sizeof err), 2);
	assert_names_file_line(err, path);
	assert_non_null(strstr(err, ":1: not a whopper replay file"));

	spit(path, "whopper-replay 1\n", 17); /* the old format */
	assert_int_equal(replay_read(path, &rf, err, sizeof err), 2);
	assert_non_null(strstr(err, ":1: replay format 1 is not supported"));

	spit(path, "\x7f" "ELF\0\1", 6);
	assert_int_equal(replay_read(path, &rf, err, sizeof err), 2);
	assert_names_file_line(err, path);

	unlink(path);
	assert_int_equal(replay_read(path, &rf, err, sizeof err), 2);
	assert_non_null(strstr(err, path));
	free(path);
}

/* Data after the checksum line, and a track with more values than it
 * declares, are refused with their line. */
static void test_extra_data(void **state)
{
	(void)state;
	size_t len;
	char *path = write_sample(&len);
	char *full = slurp(path, len);
	char *bad = temp_path();
	char *more = wh_malloc(len + 16);
	memcpy(more, full, len);
	memcpy(more + len, "track 9 0\n", 10);
	spit(bad, more, len + 10);
	struct replay_file rf;
	char err[512];
	assert_int_equal(replay_read(bad, &rf, err, sizeof err), 2);
	assert_names_file_line(err, bad);
	assert_non_null(strstr(err, "after the checksum"));
	unlink(bad);
	unlink(path);
	free(more);
	free(bad);
	free(path);
	free(full);
}

/* The lines of a file image, each broken in one way, under a checksum
 * that holds: every one is refused naming its line. */
static void test_image_lines(void **state)
{
	(void)state;
	size_t len;
	char *path = write_sample(&len);
	char *full = slurp(path, len);
	char *at = strstr(full, "\ndata 128 ");
	assert_non_null(at);
	at++;
	char *end = strchr(at, '\n') + 1;
	char *sum = strstr(full, "\nchecksum ") + 1;
	static const struct {
		const char *line;
		const char *says;
	} bad[] = {
		{"data 190 00112233445566778899aabbccddeeff\n", "past the end of file 'a.db'"},
		{"data 128 0g\n", "malformed data line"},
		{"data 128 012\n", "malformed data line"},
		{"data -1 00\n", "malformed data line"},
		{"data 128\n", "malformed data line"},
		{"file a.db 10\n", "appears twice"},
		{"file 0.db 10\n", "out of order"},
		{"file b.db -4\n", "malformed file line"},
		{"file b.db 99999999999\n", "larger than"},
	};
	char *bad_path = temp_path();
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		char buf[8192];
		int n = snprintf(buf, sizeof buf, "%.*s%s%.*s", (int)(at - full), full,
				 bad[k].line, (int)(sum - end), end);
		assert_true(n > 0 && (size_t)n < sizeof buf - 40);
		uint64_t h = wh_fnv1a(WH_FNV1A_BASIS_V0, buf, (size_t)n);
		n += snprintf(buf + n, sizeof buf - (size_t)n, "checksum %016" PRIx64 "\n",
			      wh_mix64(h));
		spit(bad_path, buf, (size_t)n);
		struct replay_file rf;
		char err[512] = "";
		assert_int_equal(replay_read(bad_path, &rf, err, sizeof err), 2);
		assert_names_file_line(err, bad_path);
		if (strstr(err, bad[k].says) == NULL)
			fail_msg("%s: '%s' gave '%s'", bad[k].line, bad[k].says, err);
	}
	/* Files need the setup that states what they hold. */
	char *setup = strstr(full, "\nsetup ") + 1;
	char *after = strchr(setup, '\n') + 1;
	char buf[8192];
	int n = snprintf(buf, sizeof buf, "%.*s%.*s", (int)(setup - full), full, (int)(sum - after),
			 after);
	uint64_t h = wh_fnv1a(WH_FNV1A_BASIS_V0, buf, (size_t)n);
	n += snprintf(buf + n, sizeof buf - (size_t)n, "checksum %016" PRIx64 "\n", wh_mix64(h));
	spit(bad_path, buf, (size_t)n);
	struct replay_file rf;
	char err[512] = "";
	assert_int_equal(replay_read(bad_path, &rf, err, sizeof err), 2);
	assert_non_null(strstr(err, "files without the setup"));
	unlink(bad_path);
	unlink(path);
	free(bad_path);
	free(path);
	free(full);
}

/* A well-formed file from another whopper or SQLite version, or for a
 * workload whose content changed, reads but is refused for replay. */
static void test_incompatible(void **state)
{
	(void)state;
	const struct workload *wl = NULL;
	char err[512];
	assert_int_equal(wl_resolve("bank", &wl, err, sizeof err), 0);
	struct world_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.workload = wl;
	cfg.journal_mode = "wal";
	cfg.faults = WORLD_FAULTS_NONE;
	struct replay_file a, b;
	char *path = temp_path();

	sample_file(&a);
	a.workload_hash = replay_workload_hash(wl);
	assert_int_equal(replay_write(path, &a), 0);
	assert_int_equal(replay_read(path, &b, err, sizeof err), 0);
	assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err, sizeof err), 0);
	replay_file_free(&b);

	snprintf(a.whopper_version, sizeof a.whopper_version, "9.9.9");
	assert_int_equal(replay_write(path, &a), 0);
	assert_int_equal(replay_read(path, &b, err, sizeof err), 0);
	assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err, sizeof err), 2);
	assert_non_null(strstr(err, "whopper 9.9.9"));
	replay_file_free(&b);

	snprintf(a.whopper_version, sizeof a.whopper_version, "%s", WHOPPER_VERSION);
	snprintf(a.sqlite_version, sizeof a.sqlite_version, "3.0.0");
	assert_int_equal(replay_write(path, &a), 0);
	assert_int_equal(replay_read(path, &b, err, sizeof err), 0);
	assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err, sizeof err), 2);
	assert_non_null(strstr(err, "SQLite 3.0.0"));
	replay_file_free(&b);

	/* The same version from another source, or built with other compile
	 * options (a debug build), is another SQLite: refused, both named. */
	snprintf(a.sqlite_version, sizeof a.sqlite_version, "%s", sqlite3_libversion());
	snprintf(a.sqlite_source_id, sizeof a.sqlite_source_id, "2000-01-01 00:00:00 0123");
	assert_int_equal(replay_write(path, &a), 0);
	assert_int_equal(replay_read(path, &b, err, sizeof err), 0);
	assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err, sizeof err), 2);
	assert_non_null(strstr(err, "source 2000-01-01 00:00:00 0123"));
	assert_non_null(strstr(err, sqlite3_sourceid()));
	replay_file_free(&b);
	snprintf(a.sqlite_source_id, sizeof a.sqlite_source_id, "%s", sqlite3_sourceid());
	snprintf(a.sqlite_options, sizeof a.sqlite_options, "0000000000000001");
	assert_int_equal(replay_write(path, &a), 0);
	assert_int_equal(replay_read(path, &b, err, sizeof err), 0);
	assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err, sizeof err), 2);
	assert_non_null(strstr(err, "options 0000000000000001"));
	replay_file_free(&b);
	/* A file from before the identity lines is compared by version; the
	 * library's path is never compared (another machine's differs). */
	a.sqlite_source_id[0] = '\0';
	a.sqlite_options[0] = '\0';
	snprintf(a.sqlite_library, sizeof a.sqlite_library, "/elsewhere/libsqlite3.so");
	assert_int_equal(replay_write(path, &a), 0);
	assert_int_equal(replay_read(path, &b, err, sizeof err), 0);
	assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err, sizeof err), 0);
	replay_file_free(&b);

	/* Older tapes of runs with power losses meant another run (format
	 * 5: a power loss kept any subset of a sector's unsynced writes;
	 * format 4: the recovery check also ended the WAL): refused, in any
	 * journal mode; the rest still read. */
	assert_int_equal(replay_write(path, &a), 0);
	assert_int_equal(replay_read(path, &b, err, sizeof err), 0);
	assert_int_equal(b.format, REPLAY_FORMAT);
	for (int k = 0; k < 8; k++) {
		b.format = k < 4 ? REPLAY_FORMAT_NO_CRASH : REPLAY_FORMAT_NO_WAL_CRASH;
		cfg.faults = k % 2 ? WORLD_FAULTS_CRASH : WORLD_FAULTS_CHAOS;
		cfg.journal_mode = k % 4 < 2 ? "wal" : "truncate";
		err[0] = '\0';
		assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err,
							 sizeof err),
				 2);
		assert_non_null(strstr(err, "a run with power losses went on differently"));
		assert_non_null(strstr(err, path));
	}
	cfg.faults = WORLD_FAULTS_IO;
	cfg.journal_mode = "wal";
	b.format = REPLAY_FORMAT_NO_CRASH;
	assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err, sizeof err), 0);
	b.format = REPLAY_FORMAT_NO_WAL_CRASH;
	assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err, sizeof err), 0);
	b.format = REPLAY_FORMAT;
	cfg.faults = WORLD_FAULTS_CRASH;
	assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err, sizeof err), 0);
	replay_file_free(&b);

	a.workload_hash ^= 1;
	assert_int_equal(replay_write(path, &a), 0);
	assert_int_equal(replay_read(path, &b, err, sizeof err), 0);
	assert_int_equal(replay_check_compatible(path, &b, &cfg, &wh_sqlapi_linked, err, sizeof err), 2);
	assert_non_null(strstr(err, "changed since the recording"));
	replay_file_free(&b);

	replay_file_free(&a);
	unlink(path);
	free(path);
}

/* ------------------------------------------------------------------ */
/* The tape                                                            */
/* ------------------------------------------------------------------ */

/* Recording then replaying a stream gives the same draws; past the end of
 * a shortened track the stream continues from its PRNG (the same values
 * an untaped stream gives there) and records them. */
static void test_tape_replay_and_continue(void **state)
{
	(void)state;
	struct wh_tape tape;
	wh_tape_init(&tape);
	struct wh_prng p, plain;
	uint64_t want[40];
	wh_prng_seed_taped(&p, 42, WH_STREAM_SCHED, &tape);
	for (int i = 0; i < 40; i++)
		want[i] = wh_prng_next(&p);
	assert_int_equal(wh_tape_size(&tape), 40);

	tape.tracks[0].count = 25; /* an edited, shorter track */
	wh_tape_rewind(&tape);
	wh_prng_seed_taped(&p, 42, WH_STREAM_SCHED, &tape);
	wh_prng_seed(&plain, 42, WH_STREAM_SCHED);
	for (int i = 0; i < 40; i++) {
		uint64_t fresh = wh_prng_next(&plain);
		uint64_t got = wh_prng_next(&p);
		assert_true(got == want[i]);
		assert_true(got == fresh);
	}
	wh_tape_trim(&tape);
	assert_int_equal(tape.tracks[0].count, 40);
	wh_tape_free(&tape);
}

/* A zeroed draw picks the first option; unreached draws are trimmed. */
static void test_tape_zero_and_trim(void **state)
{
	(void)state;
	struct wh_tape tape;
	wh_tape_init(&tape);
	struct wh_track *t = wh_tape_track(&tape, WH_STREAM_CONN);
	for (int i = 0; i < 10; i++)
		wh_track_push(t, 0);
	wh_tape_rewind(&tape);
	struct wh_prng p;
	wh_prng_seed_taped(&p, 1, WH_STREAM_CONN, &tape);
	assert_int_equal(wh_prng_below(&p, 7), 0);
	assert_int_equal(wh_prng_range(&p, 5, 9), 5);
	assert_true(wh_prng_chance(&p, 1, 2));
	wh_tape_trim(&tape);
	assert_int_equal(wh_tape_size(&tape), 3);

	struct wh_tape copy;
	wh_tape_copy(&copy, &tape);
	assert_int_equal(wh_tape_size(&copy), 3);
	assert_true(wh_tape_track(&copy, WH_STREAM_CONN)->values[2] == 0);
	wh_tape_free(&copy);
	wh_tape_free(&tape);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hex_like_printf),
		cmocka_unit_test(test_workload_for),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt_any_byte),
		cmocka_unit_test(test_wrong_format),
		cmocka_unit_test(test_extra_data),
		cmocka_unit_test(test_image_lines),
		cmocka_unit_test(test_incompatible),
		cmocka_unit_test(test_tape_replay_and_continue),
		cmocka_unit_test(test_tape_zero_and_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
