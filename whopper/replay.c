/*
 * replay.c - replay files: `whopper run --record FILE.whop` writes one,
 * `whopper replay FILE.whop` reproduces the run exactly.
 *
 * Format (text, line-oriented, so a file can be read and diffed):
 *
 *   whopper-replay 6
 *   whopper-version 0.1.0
 *   whopper-commit 1a2b3c4
 *   sqlite-version 3.40.1
 *   sqlite-source-id 2022-12-28 14:03:47 df5c...   the target's identity
 *   sqlite-options 5e2f...              (engine/sqlapi.h); these three
 *   sqlite-library /usr/lib/.../libsqlite3.so.0    lines are optional
 *   workload default 9f0c...            name and content hash
 *   workload-for 3.15.2                 (optional) the SQLite whose
 *                                       version chose the includes, when
 *                                       some were left out (\requires)
 *   arg --seed                          the run flags, one per line
 *   arg 7                               (% escapes: %25 %0A)
 *   trace-hash 04198cab487d0056         what the run produced
 *   verdict fail
 *   signature new:lost_update@wal,none     the triage signature (run.c)
 *   setup CREATE TABLE t(x);            setup SQL that replaces the
 *   setup INSERT INTO t VALUES(1);      workload's, one line each (%
 *                                       escapes; only shrunk runs)
 *   file whopper.db 8192                files a shrunk run starts from
 *   data 0 53514c69746520666f726d6174   (engine/simvfs.h, images): a
 *                                       file's name and size, then its
 *                                       bytes as hex at an offset, 64 per
 *                                       line; zero runs are left out
 *   skip 12 1                           statements the shrinker removed
 *   track 1000 2                        stream id, value count
 *   0 1f
 *   ...                                 values in hex, up to 8 per line
 *
 * Tracks (engine/prng.h): 1000 + i connection i's workload draws, 3000 + i
 * its latency draws, 5000 + i its fault decisions, 7 the pick log (owner + 1 above 5 bits of op kind,
 * one per scheduler step), 3-6 the other streams' raw draws.
 *   checksum 5e1d...                    over every byte before this line
 *
 * Refusal rules: another format version, whopper version, SQLite (version,
 * and when the file names them source id and compile options: the
 * library's path may differ, as on another machine) or a changed workload
 * is refused with a message naming both sides;
 * a corrupt or truncated file (bad checksum, missing lines, malformed
 * values) is an input error "FILE:LINE: ..." with exit status 2. A file
 * is written to a temporary name and renamed, never half-written.
 *
 * A replay composes the workload as the recording did (workload-for, or
 * every include), whatever SQLite it runs on: replay --follow and
 * `versions` run the recorded statements, and the workload hash checks
 * that the composition is the same.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "oracle.h"
#include "replay.h"

/* Format 2: picks are a log of what ran (stream 7) and latencies are kept
 * per connection (3000 + id) instead of raw draws of streams 1 and 2
 * (engine/sched.h). Format 3: a connection's fault decisions are kept on
 * its own track (5000 + id) instead of the shared stream 4 (engine/
 * fault.c), and a shrunk run may carry "setup" lines. The lines are
 * unchanged, but an older tape means something else, so such files are
 * refused, not misread. Format 4: a run from files in a rollback-journal
 * mode opens its connections before the files appear (engine/world.c,
 * image_after_opens); a format-3 file without files means what it did
 * and is read, one with files is refused. Format 5: after a power loss
 * the recovery check leaves the WAL in place (engine/recover.c), so a
 * WAL run with power losses goes on differently; older files of such
 * runs are refused (replay_check_compatible), the others still read.
 * Format 6: a power loss keeps, within one sector, only a prefix of its
 * unsynced writes (engine/simvfs.c), so every run with power losses may
 * go on differently: older files of runs with the crash or chaos profile
 * are refused, the others still read. */
#define REPLAY_FORMAT 6
#define REPLAY_FORMAT_NO_CRASH 5     /* still read unless power losses */
#define REPLAY_FORMAT_NO_WAL_CRASH 4 /* the same */
#define REPLAY_FORMAT_NO_FILES 3 /* still read when it holds no files */

#ifndef WHOPPER_COMMIT
#define WHOPPER_COMMIT "unknown"
#endif

uint64_t replay_workload_hash(const struct workload *wl)
{
	uint64_t h = WH_FNV1A_BASIS_V0;
	const char *parts[3] = {wl->name, wl->setup_sql, wl->description};
	for (int i = 0; i < 3; i++)
		h = wh_fnv1a_str(h, parts[i] ? parts[i] : "");
	for (uint32_t i = 0; i < wl->invariant_count; i++)
		h = wh_fnv1a_str(h, wl->invariants[i]);
	return wh_mix64(h);
}

/* ---------------------------------------------------------------- */
/* Writing                                                          */
/* ---------------------------------------------------------------- */

struct hashed_file {
	FILE *f;
	uint64_t h;
};

static void hf_write(struct hashed_file *hf, const char *s, size_t n)
{
	hf->h = wh_fnv1a(hf->h, s, n);
	fwrite(s, 1, n, hf->f);
}

static void hf_printf(struct hashed_file *hf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void hf_printf(struct hashed_file *hf, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	WH_ASSERT(n >= 0 && n < (int)sizeof buf);
	hf_write(hf, buf, (size_t)n);
}

/* v in hex as "%" PRIx64 prints it (lower case, no leading zeros, "0"
 * for 0) at out (room for 16); returns the digits written. By hand: a
 * tape holds a value per draw, hundreds of thousands in a nightly run,
 * and printf's machinery cost as much as the run itself. */
static size_t hex_u64(char *out, uint64_t v)
{
	/* Digits: one per started nibble of the bit length (one for 0). */
	size_t n = (size_t)(67 - __builtin_clzll(v | 1)) / 4;
	WH_ASSERT(n >= 1 && n <= 16);
	for (size_t i = n; i-- > 0; v >>= 4)
		out[i] = "0123456789abcdef"[v & 15];
	WH_ASSERT(v == 0);
	return n;
}

static void escape_arg(const char *in, char *out, size_t len)
{
	size_t o = 0;
	for (; *in && o + 4 < len; in++) {
		if (*in == '%' || *in == '\n' || *in == '\r') {
			o += (size_t)snprintf(out + o, len - o, "%%%02X", (unsigned char)*in);
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* The setup, one "setup" line per line of SQL (a final newline is
 * implied), escaped like arguments but of any length. */
static void write_setup(struct hashed_file *hf, const char *sql)
{
	while (*sql != '\0') {
		size_t n = strcspn(sql, "\n");
		hf_write(hf, "setup ", 6);
		for (size_t i = 0; i < n; i++) {
			if (sql[i] == '%' || sql[i] == '\r')
				hf_printf(hf, "%%%02X", (unsigned char)sql[i]);
			else
				hf_write(hf, sql + i, 1);
		}
		hf_write(hf, "\n", 1);
		sql += n + (sql[n] == '\n');
	}
}

#define IMAGE_CHUNK 64 /* bytes per "data" line */

/* The files a shrunk run starts from: a "file" line each, then "data"
 * lines for its chunks that are not all zero (a database's free space and
 * a journal's unused tail are mostly zeros). */
static void write_image(struct hashed_file *hf, const struct simvfs_image *img)
{
	static const unsigned char zero[IMAGE_CHUNK];
	for (uint32_t i = 0; i < img->count; i++) {
		const struct simvfs_image_file *f = &img->files[i];
		char esc[1024];
		escape_arg(f->name, esc, sizeof esc);
		hf_printf(hf, "file %s %" PRId64 "\n", esc, f->size);
		for (int64_t off = 0; off < f->size; off += IMAGE_CHUNK) {
			size_t n = (size_t)(f->size - off < IMAGE_CHUNK ? f->size - off : IMAGE_CHUNK);
			if (memcmp(f->data + off, zero, n) == 0)
				continue;
			char line[2 * IMAGE_CHUNK + 1];
			for (size_t k = 0; k < n; k++)
				snprintf(line + 2 * k, 3, "%02x", f->data[off + k]);
			hf_printf(hf, "data %" PRId64 " %s\n", off, line);
		}
	}
}

int replay_check_writable(const char *path)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp)
		return cli_usage_error("--record: path too long");
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return cli_usage_error("--record: cannot write '%s': %s", path, strerror(errno));
	fclose(f);
	unlink(tmp);
	return 0;
}

/* Flags that shape the run are kept; output-only flags are not. */
static bool arg_is_output_only(const char *a, bool *takes_value)
{
	/* --known names the catalogue the run is triaged with, not the run:
	 * replay and shrink take their own. */
	/* --target-lib names a file on this machine: the header names the
	 * library by its identity instead, and replay takes its own. */
	/* --time-limit is a backstop on this machine's clock, not the run. */
	*takes_value = strcmp(a, "--record") == 0 || strcmp(a, "--trace") == 0 ||
		       strcmp(a, "--known") == 0 || strcmp(a, "--target-lib") == 0 ||
		       strcmp(a, "--time-limit") == 0;
	return *takes_value || strcmp(a, "--json") == 0 || strcmp(a, "--quiet") == 0 ||
	       strcmp(a, "--record-compact") == 0 ||
	       strcmp(a, "--serial-check") == 0;
}

int replay_write(const char *path, const struct replay_file *rf)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp) {
		fprintf(stderr, "whopper: %s: path too long\n", path);
		return -1;
	}
	struct hashed_file hf = {.f = fopen(tmp, "w"), .h = WH_FNV1A_BASIS_V0};
	if (hf.f == NULL) {
		fprintf(stderr, "whopper: cannot write '%s': %s\n", path, strerror(errno));
		return -1;
	}
	hf_printf(&hf, "whopper-replay %d\n", REPLAY_FORMAT);
	hf_printf(&hf, "whopper-version %s\n", rf->whopper_version);
	hf_printf(&hf, "whopper-commit %s\n", rf->whopper_commit);
	hf_printf(&hf, "sqlite-version %s\n", rf->sqlite_version);
	if (rf->sqlite_source_id[0])
		hf_printf(&hf, "sqlite-source-id %s\n", rf->sqlite_source_id);
	if (rf->sqlite_options[0])
		hf_printf(&hf, "sqlite-options %s\n", rf->sqlite_options);
	if (rf->sqlite_library[0])
		hf_printf(&hf, "sqlite-library %s\n", rf->sqlite_library);
	hf_printf(&hf, "workload %s %016" PRIx64 "\n", rf->workload, rf->workload_hash);
	if (rf->workload_for != 0) {
		char v[32];
		wl_version_text(rf->workload_for, v, sizeof v);
		hf_printf(&hf, "workload-for %s\n", v);
	}
	for (int i = 0; i < rf->argc; i++) {
		char esc[1024];
		escape_arg(rf->argv[i], esc, sizeof esc);
		hf_printf(&hf, "arg %s\n", esc);
	}
	hf_printf(&hf, "trace-hash %016" PRIx64 "\n", rf->trace_hash);
	hf_printf(&hf, "verdict %s\n", rf->verdict);
	hf_printf(&hf, "signature %s\n", rf->signature[0] ? rf->signature : "-");
	if (rf->setup_sql != NULL)
		write_setup(&hf, rf->setup_sql);
	write_image(&hf, &rf->image);
	for (uint32_t i = 0; i < rf->skip_count; i++)
		hf_printf(&hf, "skip %u %u\n", rf->skips[i].txn, rf->skips[i].stmt);
	for (uint32_t t = 0; t < rf->tape.track_count; t++) {
		const struct wh_track *tr = &rf->tape.tracks[t];
		hf_printf(&hf, "track %" PRIu64 " %" PRIu64 "\n", tr->stream, tr->count);
		/* Eight values a line, space-separated: a line at a time. */
		char line[8 * 17];
		size_t used = 0;
		for (uint64_t k = 0; k < tr->count; k++) {
			used += hex_u64(line + used, tr->values[k]);
			bool end = k % 8 == 7 || k + 1 == tr->count;
			line[used++] = end ? '\n' : ' ';
			WH_ASSERT(used <= sizeof line);
			if (end) {
				hf_write(&hf, line, used);
				used = 0;
			}
		}
		WH_ASSERT(used == 0);
	}
	fprintf(hf.f, "checksum %016" PRIx64 "\n", wh_mix64(hf.h));
	if (fclose(hf.f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "whopper: cannot write '%s': %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int replay_save(const char *path, int argc, char **argv, const struct run_opts *o,
		const struct wh_tape *tape, const struct run_outcome *out)
{
	struct replay_file rf;
	replay_file_init(&rf);
	replay_file_set_target(&rf, o->cfg.api);
	rf.argv = wh_calloc((size_t)argc + 1, sizeof *rf.argv);
	for (int i = 0; i < argc; i++) {
		bool takes_value;
		if (arg_is_output_only(argv[i], &takes_value)) {
			i += takes_value;
			continue;
		}
		rf.argv[rf.argc++] = wh_strdup(argv[i]);
	}
	snprintf(rf.workload, sizeof rf.workload, "%s", o->workload_name);
	rf.workload_hash = replay_workload_hash(o->cfg.workload);
	if (o->cfg.workload->left_out_count > 0)
		rf.workload_for = o->cfg.workload->composed_for;
	rf.trace_hash = out->trace_hash;
	snprintf(rf.verdict, sizeof rf.verdict, "%s", out->verdict);
	snprintf(rf.signature, sizeof rf.signature, "%s", out->signature);
	wh_tape_copy(&rf.tape, tape);
	int rc = replay_write(path, &rf);
	replay_file_free(&rf);
	return rc;
}

void replay_file_init(struct replay_file *rf)
{
	memset(rf, 0, sizeof *rf);
	snprintf(rf->whopper_version, sizeof rf->whopper_version, "%s", WHOPPER_VERSION);
	snprintf(rf->whopper_commit, sizeof rf->whopper_commit, "%s", WHOPPER_COMMIT);
	replay_file_set_target(rf, cli_target());
	wh_tape_init(&rf->tape);
}

/* Text that will sit on one header line: no newline may get in. */
static void header_value(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
	for (char *p = dst; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

void replay_file_set_target(struct replay_file *rf, const struct wh_sqlapi *api)
{
	header_value(rf->sqlite_version, sizeof rf->sqlite_version, wh_sqlapi_version(api));
	header_value(rf->sqlite_source_id, sizeof rf->sqlite_source_id, wh_sqlapi_source_id(api));
	snprintf(rf->sqlite_options, sizeof rf->sqlite_options, "%016" PRIx64,
		 wh_sqlapi_options_hash(api));
	header_value(rf->sqlite_library, sizeof rf->sqlite_library, wh_sqlapi_path(api));
}

void replay_file_free(struct replay_file *rf)
{
	for (int i = 0; i < rf->argc; i++)
		free(rf->argv[i]);
	free(rf->argv);
	free(rf->setup_sql);
	simvfs_image_free(&rf->image);
	free(rf->skips);
	wh_tape_free(&rf->tape);
	memset(rf, 0, sizeof *rf);
}

/* ---------------------------------------------------------------- */
/* Reading                                                          */
/* ---------------------------------------------------------------- */

/* A replay file being read: the whole file, where the reader is in it,
 * and what the lines read so far imply about the next one. */
struct reader {
	const char *path;
	char *buf;       /* whole file */
	size_t len;
	size_t pos;
	int line;        /* 1-based number of the line last read */
	char *err;
	size_t err_len;
	uint64_t h;              /* FNV-1a of every line before the checksum line */
	bool have_checksum;      /* the checksum line was read */
	int stage;               /* header lines seen, in order (5: all) */
	long format;             /* the file's format (its first line) */
	int ident_seen;          /* optional identity lines seen, in order */
	struct wh_track *track;  /* the track whose values are being read */
	uint64_t track_left;     /* values it still declares */
};

static int rd_error(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rd_error(struct reader *r, const char *fmt, ...)
{
	int n = snprintf(r->err, r->err_len, "%s:%d: ", r->path, r->line > 0 ? r->line : 1);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < r->err_len)
		vsnprintf(r->err + n, r->err_len - (size_t)n, fmt, ap);
	va_end(ap);
	return 2;
}

/* Next line without its newline, NUL-terminated in place; NULL at EOF. A
 * final line without a newline means a truncated file. */
static char *rd_line(struct reader *r)
{
	if (r->pos >= r->len)
		return NULL;
	char *start = r->buf + r->pos;
	char *nl = memchr(start, '\n', r->len - r->pos);
	r->line++;
	if (nl == NULL)
		return NULL;
	*nl = '\0';
	r->pos = (size_t)(nl - r->buf) + 1;
	return start;
}

static bool unescape_arg(const char *in, char *out, size_t len)
{
	size_t o = 0;
	for (; *in; in++) {
		if (o + 1 >= len)
			return false;
		if (*in == '%') {
			unsigned v;
			if (sscanf(in + 1, "%2X", &v) != 1 || in[1] == '\0' || in[2] == '\0')
				return false;
			out[o++] = (char)v;
			in += 2;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
	return true;
}

/* Appends one unescaped setup line and its newline to rf->setup_sql. */
static bool read_setup_line(struct replay_file *rf, const char *rest)
{
	size_t have = rf->setup_sql ? strlen(rf->setup_sql) : 0;
	size_t cap = strlen(rest) + 1;
	char *line = wh_malloc(cap);
	bool ok = unescape_arg(rest, line, cap);
	if (ok) {
		size_t n = strlen(line);
		rf->setup_sql = wh_realloc(rf->setup_sql, have + n + 2);
		memcpy(rf->setup_sql + have, line, n);
		rf->setup_sql[have + n] = '\n';
		rf->setup_sql[have + n + 1] = '\0';
	}
	free(line);
	return ok;
}

static bool parse_hex64(const char *s, uint64_t *out)
{
	char *end;
	/* Hex digits only: strtoull would also take leading blanks, a sign
	 * or "0x", so a corrupted digit could read as the same value. */
	if (*s == '\0' || strlen(s) > 16 || strspn(s, "0123456789abcdefABCDEF") != strlen(s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool starts(const char *line, const char *key, const char **rest)
{
	size_t n = strlen(key);
	if (strncmp(line, key, n) != 0 || line[n] != ' ')
		return false;
	*rest = line + n + 1;
	return true;
}

/* The whole file into r->buf, NUL-terminated. 0, or 2 with the message
 * in r->err (a file that cannot be opened, or binary content). */
static int rd_slurp(struct reader *r)
{
	FILE *f = fopen(r->path, "rb");
	if (f == NULL) {
		snprintf(r->err, r->err_len, "%s: cannot open: %s", r->path, strerror(errno));
		return 2;
	}
	size_t cap = 1 << 16;
	r->buf = wh_malloc(cap);
	size_t n;
	while ((n = fread(r->buf + r->len, 1, cap - r->len - 1, f)) > 0) {
		r->len += n;
		if (cap - r->len - 1 == 0) {
			WH_ASSERT(cap < ((size_t)1 << 40));
			cap *= 2;
			r->buf = wh_realloc(r->buf, cap);
		}
	}
	fclose(f);
	r->buf[r->len] = '\0';
	if (memchr(r->buf, '\0', r->len) != NULL) {
		free(r->buf);
		r->buf = NULL;
		snprintf(r->err, r->err_len, "%s:1: not a whopper replay file (binary content)",
			 r->path);
		return 2;
	}
	return 0;
}

/* The checksum line (rest: its value), which must match the lines
 * before it and be the last line. 0 or 2. */
static int rd_checksum(struct reader *r, const char *rest)
{
	uint64_t want;
	int rc = 0;
	if (!parse_hex64(rest, &want))
		rc = rd_error(r, "malformed checksum");
	else if (want != wh_mix64(r->h))
		rc = rd_error(r, "checksum mismatch: the file is corrupt");
	r->have_checksum = true;
	if (rc == 0 && rd_line(r) != NULL)
		rc = rd_error(r, "data after the checksum");
	return rc;
}

/* A line of hex values of the current track; no more than it declared.
 * 0 or 2. */
static int rd_track_values(struct reader *r, char *line)
{
	WH_ASSERT(r->track != NULL && r->track_left > 0);
	int rc = 0;
	char *save = NULL;
	for (char *tok = strtok_r(line, " ", &save); tok && rc == 0;
	     tok = strtok_r(NULL, " ", &save)) {
		uint64_t v;
		if (r->track_left == 0)
			rc = rd_error(r, "more values than the track declares");
		else if (!parse_hex64(tok, &v))
			rc = rd_error(r, "malformed value '%s'", tok);
		else {
			wh_track_push(r->track, v);
			r->track_left--;
		}
	}
	return rc;
}

/* The target's identity (engine/sqlapi.h): optional lines, in this order,
 * after sqlite-version (files before them have none). 1 when line is
 * one (rc set), 0 when not. */
static int rd_identity(struct reader *r, const char *line, struct replay_file *rf, int *rc)
{
	static const char *const ident[] = {"sqlite-source-id", "sqlite-options",
					    "sqlite-library"};
	const char *rest = NULL;
	int at = -1;
	for (int k = 0; r->stage == 4 && k < 3; k++)
		if (starts(line, ident[k], &rest))
			at = k;
	if (at < 0)
		return 0;
	if (at < r->ident_seen) {
		*rc = rd_error(r, "'%s' out of order", ident[at]);
		return 1;
	}
	r->ident_seen = at + 1;
	char *dst = at == 0 ? rf->sqlite_source_id : at == 1 ? rf->sqlite_options : rf->sqlite_library;
	size_t cap = at == 0   ? sizeof rf->sqlite_source_id
		     : at == 1 ? sizeof rf->sqlite_options
			       : sizeof rf->sqlite_library;
	uint64_t opt;
	if (strlen(rest) >= cap || (at == 1 && !parse_hex64(rest, &opt)))
		*rc = rd_error(r, "malformed %s line", ident[at]);
	else
		snprintf(dst, cap, "%s", rest);
	return 1;
}

/* The next of the five header lines, which come first and in order. 0
 * or 2. */
static int rd_header(struct reader *r, const char *line, struct replay_file *rf)
{
	static const char *const header[] = {"whopper-replay", "whopper-version", "whopper-commit",
					     "sqlite-version", "workload"};
	WH_ASSERT(r->stage >= 0 && r->stage < 5);
	const char *rest;
	int rc = 0;
	if (!starts(line, header[r->stage], &rest))
		return rd_error(r, r->stage == 0 ? "not a whopper replay file" : "expected '%s'",
				header[r->stage]);
	switch (r->stage) {
	case 0:
		r->format = strtol(rest, NULL, 10);
		rf->format = (int)r->format;
		if ((r->format != REPLAY_FORMAT && r->format != REPLAY_FORMAT_NO_CRASH &&
		     r->format != REPLAY_FORMAT_NO_WAL_CRASH &&
		     r->format != REPLAY_FORMAT_NO_FILES) ||
		    strspn(rest, "0123456789") != strlen(rest))
			rc = rd_error(r, "replay format %s is not supported (this whopper reads format %d)",
				      rest, REPLAY_FORMAT);
		break;
	case 1:
		snprintf(rf->whopper_version, sizeof rf->whopper_version, "%s", rest);
		break;
	case 2:
		snprintf(rf->whopper_commit, sizeof rf->whopper_commit, "%s", rest);
		break;
	case 3:
		snprintf(rf->sqlite_version, sizeof rf->sqlite_version, "%s", rest);
		/* Only what the file says: a file without identity lines is
		 * compared by version. */
		rf->sqlite_source_id[0] = '\0';
		rf->sqlite_options[0] = '\0';
		rf->sqlite_library[0] = '\0';
		break;
	case 4: {
		char name[128];
		char hash[32];
		if (sscanf(rest, "%127s %31s", name, hash) != 2 ||
		    !parse_hex64(hash, &rf->workload_hash))
			rc = rd_error(r, "malformed workload line");
		else
			snprintf(rf->workload, sizeof rf->workload, "%s", name);
		break;
	}
	}
	r->stage++;
	return rc;
}

/* "skip TXN STMT": a statement the shrinker removed. 0 or 2. */
static int rd_skip(struct reader *r, const char *rest, struct replay_file *rf)
{
	unsigned t, k;
	char extra;
	if (sscanf(rest, "%u %u %c", &t, &k, &extra) != 2)
		return rd_error(r, "malformed skip line");
	rf->skips = wh_realloc(rf->skips, (rf->skip_count + 1) * sizeof *rf->skips);
	rf->skips[rf->skip_count].txn = t;
	rf->skips[rf->skip_count].stmt = k;
	rf->skip_count++;
	return 0;
}

/* Largest file a replay file may hold: a shrunk run's files are a
 * database a few transactions old, far below this. */
#define IMAGE_FILE_MAX (64ll << 20)

/* "file NAME SIZE": a file of the image, zero-filled until its data
 * lines come. 0 or 2. */
static int rd_file(struct reader *r, const char *rest, struct replay_file *rf)
{
	char name[1024];
	long long size;
	char extra;
	if (r->format < REPLAY_FORMAT_NO_WAL_CRASH)
		return rd_error(r, "a run from files in replay format %ld opened its connections "
				   "on the files; format %d opens them first (shrink the original "
				   "recording again)",
				r->format, REPLAY_FORMAT_NO_WAL_CRASH);
	size_t n = strcspn(rest, " ");
	if (n == 0 || n >= sizeof name)
		return rd_error(r, "malformed file line");
	memcpy(name, rest, n);
	name[n] = '\0';
	char plain[1024];
	if (!unescape_arg(name, plain, sizeof plain) || rest[n] != ' ' ||
	    sscanf(rest + n + 1, "%lld %c", &size, &extra) != 1 || size < 0 ||
	    strspn(rest + n + 1, "0123456789") != strlen(rest + n + 1))
		return rd_error(r, "malformed file line");
	if (size > IMAGE_FILE_MAX)
		return rd_error(r, "file '%s' is larger than %lld bytes", plain, IMAGE_FILE_MAX);
	struct simvfs_image *img = &rf->image;
	for (uint32_t i = 0; i < img->count; i++)
		if (strcmp(img->files[i].name, plain) == 0)
			return rd_error(r, "file '%s' appears twice", plain);
	if (img->count > 0 && strcmp(img->files[img->count - 1].name, plain) > 0)
		return rd_error(r, "files out of order");
	img->files = wh_realloc(img->files, (img->count + 1) * sizeof *img->files);
	struct simvfs_image_file *f = &img->files[img->count++];
	f->name = wh_strdup(plain);
	f->size = size;
	f->data = wh_calloc(size > 0 ? (size_t)size : 1, 1);
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "data OFFSET HEX": bytes of the last file. 0 or 2. */
static int rd_data(struct reader *r, const char *rest, struct replay_file *rf)
{
	struct simvfs_image *img = &rf->image;
	if (img->count == 0)
		return rd_error(r, "data line before any file line");
	struct simvfs_image_file *f = &img->files[img->count - 1];
	size_t digits = strspn(rest, "0123456789");
	if (digits == 0 || digits > 18 || rest[digits] != ' ')
		return rd_error(r, "malformed data line");
	long long off = strtoll(rest, NULL, 10);
	const char *hex = rest + digits + 1;
	size_t len = strlen(hex);
	if (len == 0 || len % 2 != 0 || len > 2 * IMAGE_CHUNK)
		return rd_error(r, "malformed data line");
	if (off + (long long)(len / 2) > f->size)
		return rd_error(r, "data past the end of file '%s'", f->name);
	for (size_t k = 0; k < len / 2; k++) {
		int hi = hex_digit(hex[2 * k]), lo = hex_digit(hex[2 * k + 1]);
		if (hi < 0 || lo < 0)
			return rd_error(r, "malformed data line");
		f->data[off + (long long)k] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* "track ID COUNT": a new track (each stream at most once), whose COUNT
 * values the following lines hold. 0 or 2. */
static int rd_track(struct reader *r, const char *rest, struct replay_file *rf)
{
	unsigned long long id, count;
	char extra;
	if (sscanf(rest, "%llu %llu %c", &id, &count, &extra) != 2 || count > (1ULL << 32))
		return rd_error(r, "malformed track line");
	int rc = 0;
	for (uint32_t i = 0; i < rf->tape.track_count; i++)
		if (rf->tape.tracks[i].stream == id)
			rc = rd_error(r, "track %llu appears twice", id);
	if (rc == 0 && rf->tape.track_count >= WH_TAPE_MAX_TRACKS)
		rc = rd_error(r, "too many tracks");
	if (rc != 0)
		return rc;
	r->track = wh_tape_track(&rf->tape, id);
	r->track_left = count;
	return 0;
}

/* A line after the header: an argument, the recorded outcome, a line of
 * setup, a skip or the start of a track. 0 or 2. */
static int rd_record(struct reader *r, const char *line, struct replay_file *rf)
{
	const char *rest;
	if (starts(line, "arg", &rest)) {
		char arg[1024];
		if (!unescape_arg(rest, arg, sizeof arg))
			return rd_error(r, "malformed argument");
		rf->argv = wh_realloc(rf->argv, ((size_t)rf->argc + 2) * sizeof *rf->argv);
		rf->argv[rf->argc++] = wh_strdup(arg);
		rf->argv[rf->argc] = NULL;
	} else if (starts(line, "workload-for", &rest)) {
		if (wl_version_parse(rest, strlen(rest), &rf->workload_for) != 0)
			return rd_error(r, "malformed workload-for line");
	} else if (starts(line, "trace-hash", &rest)) {
		if (!parse_hex64(rest, &rf->trace_hash))
			return rd_error(r, "malformed trace hash");
	} else if (starts(line, "verdict", &rest)) {
		snprintf(rf->verdict, sizeof rf->verdict, "%s", rest);
	} else if (starts(line, "signature", &rest)) {
		snprintf(rf->signature, sizeof rf->signature, "%s", strcmp(rest, "-") == 0 ? "" : rest);
	} else if (starts(line, "setup", &rest)) {
		if (!read_setup_line(rf, rest))
			return rd_error(r, "malformed setup line");
	} else if (starts(line, "file", &rest)) {
		return rd_file(r, rest, rf);
	} else if (starts(line, "data", &rest)) {
		return rd_data(r, rest, rf);
	} else if (starts(line, "skip", &rest)) {
		return rd_skip(r, rest, rf);
	} else if (starts(line, "track", &rest)) {
		return rd_track(r, rest, rf);
	} else {
		return rd_error(r, "unexpected line");
	}
	return 0;
}

int replay_read(const char *path, struct replay_file *rf, char *err, size_t err_len)
{
	replay_file_init(rf);
	struct reader r = {.path = path, .err = err, .err_len = err_len, .h = WH_FNV1A_BASIS_V0};
	int rc = rd_slurp(&r);
	if (rc != 0)
		return rc;
	char *line;
	while (rc == 0 && (line = rd_line(&r)) != NULL) {
		const char *rest;
		if (starts(line, "checksum", &rest)) {
			rc = rd_checksum(&r, rest);
			break;
		}
		r.h = wh_fnv1a_byte(wh_fnv1a(r.h, line, strlen(line)), '\n');
		if (r.track_left > 0)
			rc = rd_track_values(&r, line);
		else if (rd_identity(&r, line, rf, &rc))
			continue;
		else if (r.stage < 5)
			rc = rd_header(&r, line, rf);
		else
			rc = rd_record(&r, line, rf);
	}
	if (rc == 0 && r.track_left > 0)
		rc = rd_error(&r, "truncated: a track is missing %llu values",
			      (unsigned long long)r.track_left);
	if (rc == 0 && !r.have_checksum)
		rc = rd_error(&r, "truncated: no checksum line");
	if (rc == 0 && rf->argc == 0)
		rc = rd_error(&r, "no run arguments");
	if (rc == 0 && rf->image.count > 0 && rf->setup_sql == NULL)
		rc = rd_error(&r, "files without the setup that states what they hold");
	free(r.buf);
	if (rc != 0)
		replay_file_free(rf);
	return rc;
}

/* Refuse a file this binary cannot reproduce faithfully. */
int replay_check_compatible(const char *path, const struct replay_file *rf,
			    const struct world_config *cfg, const struct wh_sqlapi *api,
			    char *err, size_t len)
{
	const struct workload *wl = cfg->workload;
	bool crashes = cfg->faults == WORLD_FAULTS_CRASH || cfg->faults == WORLD_FAULTS_CHAOS;
	if (rf->format < REPLAY_FORMAT && crashes) {
		snprintf(err, len, "%s: replay format %d: a run with power losses went on "
				   "differently before format %d (a power loss now keeps only a "
				   "prefix of each sector's unsynced writes; since format 5 the "
				   "recovery check leaves a WAL in place): refusing to replay "
				   "(record the run again)",
			 path, rf->format, REPLAY_FORMAT);
		return 2;
	}
	if (strcmp(rf->whopper_version, WHOPPER_VERSION) != 0) {
		snprintf(err, len, "%s: recorded by whopper %s, this is whopper %s: refusing to replay",
			 path, rf->whopper_version, WHOPPER_VERSION);
		return 2;
	}
	/* The same SQLite is the same version, source id and compile
	 * options (a debug build of one version schedules other VFS calls
	 * than a plain one); the library's path may differ. */
	struct replay_file here;
	memset(&here, 0, sizeof here);
	if (api != NULL)
		replay_file_set_target(&here, api);
	bool differs = api != NULL &&
		       (strcmp(rf->sqlite_version, here.sqlite_version) != 0 ||
			(rf->sqlite_source_id[0] &&
			 strcmp(rf->sqlite_source_id, here.sqlite_source_id) != 0) ||
			(rf->sqlite_options[0] &&
			 strcmp(rf->sqlite_options, here.sqlite_options) != 0));
	if (differs && rf->sqlite_source_id[0] == '\0') {
		snprintf(err, len, "%s: recorded with SQLite %s, this is SQLite %s (%s): refusing to replay",
			 path, rf->sqlite_version, here.sqlite_version, here.sqlite_library);
		return 2;
	}
	if (differs) {
		snprintf(err, len, "%s: recorded with SQLite %s (%s, source %s, options %s), this is SQLite %s (%s, source %s, options %s): refusing to replay (--target-lib names the library to replay on)",
			 path, rf->sqlite_version, rf->sqlite_library[0] ? rf->sqlite_library : "?",
			 rf->sqlite_source_id, rf->sqlite_options[0] ? rf->sqlite_options : "?",
			 here.sqlite_version, here.sqlite_library, here.sqlite_source_id,
			 here.sqlite_options);
		return 2;
	}
	if (replay_workload_hash(wl) != rf->workload_hash) {
		snprintf(err, len, "%s: workload '%s' changed since the recording: refusing to replay",
			 path, rf->workload);
		return 2;
	}
	return 0;
}

/* Build run options from a replay file's arguments. argv storage: the
 * replay file keeps the strings alive. */
int replay_opts(const struct replay_file *rf, struct run_opts *o)
{
	char **argv = wh_calloc((size_t)rf->argc + 2, sizeof *argv);
	argv[0] = (char *)"run";
	for (int i = 0; i < rf->argc; i++)
		argv[i + 1] = rf->argv[i];
	int rc = run_parse_opts_composed(rf->argc + 1, argv,
					 rf->workload_for != 0 ? rf->workload_for : WL_SQLITE_ANY, o);
	free(argv);
	if (rc == -1)
		rc = WH_EXIT_USAGE;
	if (rc == 0) {
		o->cfg.skips = rf->skips;
		o->cfg.skip_count = rf->skip_count;
		o->cfg.setup_sql = rf->setup_sql;
		o->cfg.image = rf->image.count > 0 ? &rf->image : NULL;
	}
	return rc;
}

/* ---------------------------------------------------------------- */
/* Following the recording                                          */
/* ---------------------------------------------------------------- */

/* The simulated time by which the run's first violation was complete:
 * for each violation that is not expected, the latest end of the
 * transactions it involves; the earliest of those. */
static void follow_inspect(void *ctx, const struct run_opts *o, const struct world_result *res,
			   const struct oracle_report *rep)
{
	struct replay_follow *f = ctx;
	(void)o;
	f->steps = res->stats.sched_steps;
	f->sim_time_us = res->stats.sim_time_us;
	f->div = res->divergence;
	WH_ASSERT(!f->div.seen || f->div.step <= f->steps + 1);
	if (rep == NULL)
		return;
	for (uint32_t v = 0; v < rep->violation_count; v++) {
		const struct oracle_violation *vi = &rep->violations[v];
		if (vi->expected || vi->txn_count == 0)
			continue;
		uint64_t done_us = 0;
		for (uint32_t k = 0; k < vi->txn_count; k++) {
			WH_ASSERT(vi->txns[k] < res->history.txn_count);
			const struct hist_txn *t = res->history.txns[vi->txns[k]];
			uint64_t end = t->end_us > t->begin_us ? t->end_us : t->begin_us;
			if (end > done_us)
				done_us = end;
		}
		if (!f->fail_known || done_us < f->fail_us) {
			f->fail_known = true;
			f->fail_us = done_us;
		}
	}
}

int replay_follow_run(const struct replay_file *rf, struct run_opts *o, bool strict, bool print,
		      struct replay_follow *f)
{
	memset(f, 0, sizeof *f);
	for (uint32_t t = 0; t < rf->tape.track_count; t++)
		if (rf->tape.tracks[t].stream == WH_STREAM_PICKS)
			f->recorded_steps = rf->tape.tracks[t].count;
	struct wh_tape tape;
	wh_tape_copy(&tape, &rf->tape);
	wh_tape_rewind(&tape);
	o->cfg.follow_strict = strict;
	int rc = run_once(o, &tape, print, &f->out, follow_inspect, f);
	wh_tape_free(&tape);
	WH_ASSERT_EQ(rc, f->out.exit_code);
	return rc;
}

bool replay_follow_diverged(const struct replay_follow *f)
{
	return f->div.seen || (f->recorded_steps > 0 && f->steps < f->recorded_steps);
}

uint64_t replay_follow_step(const struct replay_follow *f)
{
	WH_ASSERT(replay_follow_diverged(f));
	return f->div.seen ? f->div.step : f->steps + 1;
}

uint64_t replay_follow_time_us(const struct replay_follow *f)
{
	WH_ASSERT(replay_follow_diverged(f));
	return f->div.seen ? f->div.now_us : f->sim_time_us;
}

static const char *kind_name(int kind)
{
	return kind < 0 ? "nothing pending" : wh_op_name((enum wh_op_kind)kind);
}

void replay_follow_describe(const struct replay_follow *f, char *buf, size_t len)
{
	if (f->recorded_steps == 0) {
		snprintf(buf, len, "unknown (the file holds no pick log)");
		return;
	}
	if (!replay_follow_diverged(f)) {
		snprintf(buf, len, "none (followed all %" PRIu64 " recorded picks)", f->recorded_steps);
		return;
	}
	int n = snprintf(buf, len, "step %" PRIu64 " of %" PRIu64 ", t=%" PRIu64 " us, ",
			 replay_follow_step(f), f->recorded_steps, replay_follow_time_us(f));
	if (n < 0 || (size_t)n >= len)
		return;
	if (!f->div.seen)
		snprintf(buf + n, len - (size_t)n, "the run ended; the recording went on");
	else if (f->div.logged_kind < 0)
		snprintf(buf + n, len - (size_t)n, "the recording ended; the run went on");
	else if (f->div.owner < 0)
		snprintf(buf + n, len - (size_t)n, "no connection: recorded %s, here %s",
			 kind_name(f->div.logged_kind), kind_name(f->div.pending_kind));
	else
		snprintf(buf + n, len - (size_t)n, "connection %d: recorded %s, here %s",
			 f->div.owner, kind_name(f->div.logged_kind), kind_name(f->div.pending_kind));
}

/* replay --follow: the outcome, the first divergence, and whether it
 * came before this run's failure (a failure complete before the
 * divergence happened on the recorded schedule). */
static void follow_print(FILE *out, const struct replay_file *rf, const struct run_opts *o,
			 const struct replay_follow *f)
{
	char where[256];
	replay_follow_describe(f, where, sizeof where);
	bool fails = f->out.exit_code == WH_EXIT_FINDING;
	bool rec_fails = strcmp(rf->verdict, "fail") == 0;
	fprintf(out, "follow: SQLite %s (source %.30s): %s%s; recorded on SQLite %s: %s%s\n",
		wh_sqlapi_version(o->cfg.api), wh_sqlapi_source_id(o->cfg.api),
		fails ? "fails " : "passes", fails ? f->out.signature : "", rf->sqlite_version,
		rec_fails ? "fails " : "passes", rec_fails ? rf->signature : "");
	fprintf(out, "follow: trace hash %016" PRIx64 "%s\n", f->out.trace_hash,
		f->out.trace_hash == rf->trace_hash ? ", as recorded" : ", not the recording's");
	fprintf(out, "follow: first divergence: %s\n", where);
	if (!replay_follow_diverged(f))
		return;
	if (f->fail_known)
		fprintf(out, "follow: %s this run's first violation was complete (t=%" PRIu64 " us)\n",
			replay_follow_time_us(f) <= f->fail_us ? "before" : "after", f->fail_us);
	else
		fprintf(out, "follow: this run found no violation to compare with: diverged at step %" PRIu64 " of the recording's %" PRIu64 "\n",
			replay_follow_step(f), f->recorded_steps);
}

static const char replay_help[] =
	"usage: whopper replay FILE.whop [--json] [--quiet] [--trace FILE] [--known FILE]...\n"
	"                      [--target-lib PATH] [--follow]\n"
	"\n"
	"Reproduce a recorded run exactly (same trace hash, same verdict).\n"
	"--known FILE adds known findings to triage it with, as on 'run'.\n"
	"--target-lib PATH replays on that SQLite library (the file names the\n"
	"one it was recorded on). Files from another whopper, another SQLite\n"
	"(version, source id or compile options), or with a changed workload\n"
	"are refused. Exit status as for 'whopper run'; 3 when the replay\n"
	"diverged from the recording (naming where it first did).\n"
	"--follow runs the tape on any SQLite (the refusal is skipped): it\n"
	"follows the recorded schedule while the library makes the same calls,\n"
	"names the first divergence and goes on from the scheduler's strategy;\n"
	"exit status as for 'whopper run'.\n";

int cmd_replay(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false, quiet = false, follow = false;
	const char *trace = NULL;
	const struct triage_catalog *catalog = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(replay_help, stdout);
			return WH_EXIT_PASS;
		} else if (strcmp(argv[i], "--known") == 0) {
			int rc = cli_known_add(i + 1 < argc ? argv[i + 1] : NULL, &catalog);
			if (rc != 0)
				return rc;
			i++;
		} else if (strcmp(argv[i], "--target-lib") == 0) {
			int rc = cli_target_lib(i + 1 < argc ? argv[i + 1] : NULL, NULL);
			if (rc != 0)
				return rc;
			i++;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--quiet") == 0) {
			quiet = true;
		} else if (strcmp(argv[i], "--follow") == 0) {
			follow = true;
		} else if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc) {
			trace = argv[++i];
		} else if (argv[i][0] == '-') {
			return cli_usage_error("replay: unknown option '%s'", argv[i]);
		} else if (path == NULL) {
			path = argv[i];
		} else {
			return cli_usage_error("replay: more than one file given");
		}
	}
	if (path == NULL)
		return cli_usage_error("replay: missing FILE.whop");
	struct replay_file rf;
	char err[1024];
	int rc = replay_read(path, &rf, err, sizeof err);
	if (rc != 0)
		return cli_usage_error("%s", err);
	struct run_opts o;
	rc = replay_opts(&rf, &o);
	if (rf.setup_sql != NULL || rf.skip_count > 0)
		o.replay_path = path;
	if (rc == 0)
		rc = replay_check_compatible(path, &rf, &o.cfg, follow ? NULL : o.cfg.api,
					     err, sizeof err);
	if (rc != 0) {
		if (err[0])
			cli_usage_error("%s", err);
		replay_file_free(&rf);
		return WH_EXIT_USAGE;
	}
	o.json = json;
	o.quiet = quiet;
	o.trace_path = trace;
	o.catalog = catalog;
	struct replay_follow f;
	rc = replay_follow_run(&rf, &o, follow, true, &f);
	if (follow && rc != WH_EXIT_INTERNAL && rc != WH_EXIT_USAGE) {
		follow_print(json ? stderr : stdout, &rf, &o, &f);
	} else if (!follow && rc != WH_EXIT_INTERNAL && f.out.trace_hash != rf.trace_hash) {
		char where[256];
		replay_follow_describe(&f, where, sizeof where);
		fprintf(stderr, "whopper: replay diverged: trace hash %016" PRIx64 " but the recording has %016" PRIx64 "; first divergence from the recorded picks: %s\n",
			f.out.trace_hash, rf.trace_hash, where);
		rc = WH_EXIT_INTERNAL;
	}
	replay_file_free(&rf);
	return rc;
}
