/*
 * shrink_sql.c - MIN.sql, the readable repro `whopper shrink` writes:
 * the setup, then every statement of the shrunk run in the order it
 * finished across all connections (the history's global event order),
 * with BEGIN/COMMIT/ROLLBACK, the bound values inline as SQL literals, a
 * comment line at every switch of connection, each read's result, and
 * the violating read annotated with what it observed against what the
 * serial reference gives.
 *
 * Algorithm: collect one entry per BEGIN, statement, end of transaction
 * and crash, sort them by event number (unique, so the order is total and
 * deterministic), print. Nothing here reads a clock or an address.
 *
 * Then, per connection, where it was parked inside a VFS call while other
 * connections finished statements: what a SQLite developer needs to see
 * the race. From the replay's trace: a VFS line of connection X is logged
 * when the call runs, after X was resumed, so X was parked in that call
 * since its previous line. Only spans whose previous line was inside a
 * SQLite call (another VFS call, or the start of a BEGIN/COMMIT) count:
 * a span that began at the end of a statement may have been the pause
 * between statements, not a VFS call.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "shrink_int.h"

/* ------------------------------------------------------------------ */
/* Inline values                                                       */
/* ------------------------------------------------------------------ */

/* A bounded string builder: keeps what fits, notes what did not. */
struct sink {
	char *buf;
	size_t cap;
	size_t len;
	bool truncated;
};

static void sink_put(struct sink *s, const char *p, size_t n)
{
	WH_ASSERT(s->cap > 0);
	for (size_t i = 0; i < n; i++) {
		if (s->len + 1 >= s->cap) {
			s->truncated = true;
			break;
		}
		s->buf[s->len++] = p[i];
	}
	s->buf[s->len] = '\0';
}

static void sink_str(struct sink *s, const char *p)
{
	sink_put(s, p, strlen(p));
}

static void sink_value(struct sink *s, const struct wh_value *v)
{
	char small[128];
	int n = wh_value_format(v, small, (int)sizeof small);
	WH_ASSERT(n >= 0);
	if ((size_t)n < sizeof small) {
		sink_put(s, small, (size_t)n);
		return;
	}
	char *big = wh_malloc((size_t)n + 1);
	wh_value_format(v, big, n + 1);
	sink_put(s, big, (size_t)n);
	free(big);
}

/* Mark a truncated result with "..." at its end. */
static char *sink_finish(struct sink *s)
{
	if (s->truncated && s->cap >= 4) {
		size_t at = s->len < s->cap - 4 ? s->len : s->cap - 4;
		memcpy(s->buf + at, "...", 4);
	}
	return s->buf;
}

char *shrink_inline_sql(const struct hist_stmt *st, char *buf, size_t cap)
{
	struct sink s = {buf, cap, 0, false};
	buf[0] = '\0';
	const char *p = st->sql ? st->sql : "";
	char quote = 0;          /* inside '...', "...", `...` or [...] */
	uint32_t next_anon = 1;  /* what a bare ? binds to */
	while (*p) {
		char c = *p;
		if (quote) {
			sink_put(&s, p, 1);
			p++;
			if (c == quote)
				quote = 0;
			continue;
		}
		if (c == '\'' || c == '"' || c == '`' || c == '[') {
			quote = c == '[' ? ']' : c;
			sink_put(&s, p, 1);
			p++;
			continue;
		}
		if (c == '-' && p[1] == '-') {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			sink_put(&s, p, n);
			p += n;
			continue;
		}
		if (c == '?') {
			const char *q = p + 1;
			uint32_t idx = 0;
			while (*q >= '0' && *q <= '9' && idx < 100000)
				idx = idx * 10 + (uint32_t)(*q++ - '0');
			if (q == p + 1)
				idx = next_anon;
			if (idx >= 1 && idx <= st->param_count) {
				sink_value(&s, &st->params[idx - 1]);
				next_anon = idx + 1;
				p = q;
				continue;
			}
		}
		sink_put(&s, p, 1);
		p++;
	}
	return sink_finish(&s);
}

char *shrink_rows_text(const struct hist_stmt *st, char *buf, size_t cap)
{
	struct sink s = {buf, cap, 0, false};
	buf[0] = '\0';
	if (st->col_count == 0) {
		char num[48];
		snprintf(num, sizeof num, "changes %lld", (long long)st->changes);
		sink_str(&s, num);
		return sink_finish(&s);
	}
	if (st->row_count == 0) {
		sink_str(&s, "no rows");
		return sink_finish(&s);
	}
	const uint32_t shown = st->row_count < 8 ? st->row_count : 8;
	for (uint32_t r = 0; r < shown; r++) {
		sink_str(&s, r ? ", (" : "(");
		for (uint32_t c = 0; c < st->col_count; c++) {
			if (c)
				sink_str(&s, ", ");
			sink_value(&s, &st->cells[(size_t)r * st->col_count + c]);
		}
		sink_str(&s, ")");
	}
	if (shown < st->row_count) {
		char more[64];
		snprintf(more, sizeof more, ", ... (%u rows)", st->row_count);
		sink_str(&s, more);
	}
	return sink_finish(&s);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Print text as "-- " comment lines wrapped near `width` columns. */
static void comment_wrapped(FILE *f, const char *prefix, const char *text, size_t width)
{
	const char *p = text;
	while (*p) {
		size_t n = strlen(p);
		if (n > width) {
			size_t cut = width;
			while (cut > width / 2 && p[cut] != ' ')
				cut--;
			if (p[cut] != ' ')
				cut = width;
			n = cut;
		}
		fprintf(f, "-- %s", prefix);
		for (size_t i = 0; i < n; i++)
			fputc(p[i] == '\n' ? ' ' : p[i], f);
		fputc('\n', f);
		p += n;
		while (*p == ' ')
			p++;
	}
}

/* An argument as a shell word (quoted when it needs to be). */
static void shell_word(FILE *f, const char *a)
{
	if (*a != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789-_=.,/:+@%") == strlen(a)) {
		fputs(a, f);
		return;
	}
	fputc('\'', f);
	for (; *a; a++) {
		if (*a == '\'')
			fputs("'\\''", f);
		else
			fputc(*a, f);
	}
	fputc('\'', f);
}

static const char *begin_sql(enum hist_begin b)
{
	switch (b) {
	case HIST_BEGIN_IMMEDIATE:
		return "BEGIN IMMEDIATE;";
	case HIST_BEGIN_EXCLUSIVE:
		return "BEGIN EXCLUSIVE;";
	case HIST_BEGIN_DEFERRED:
	case HIST_BEGIN_AUTOCOMMIT:
		break;
	}
	return "BEGIN;";
}

static bool named_by_violation(const struct shrink_view *v, uint32_t id)
{
	for (uint32_t i = 0; i < v->txn_count; i++)
		if (v->txns[i] == id)
			return true;
	return false;
}

/* One SQL line: statement text, then its comment; a long or multi-line
 * statement gets the comment on the line before it. */
static void sql_line(FILE *f, const char *sql, const char *comment)
{
	size_t n = strlen(sql);
	while (n > 0 && (sql[n - 1] == ' ' || sql[n - 1] == '\n' || sql[n - 1] == ';'))
		n--;
	bool inline_comment = n <= 56 && memchr(sql, '\n', n) == NULL;
	if (!inline_comment)
		fprintf(f, "-- %s\n", comment);
	fprintf(f, "%.*s;", (int)n, sql);
	if (inline_comment)
		fprintf(f, "%*s-- %s", (int)(58 - n), "", comment);
	fputc('\n', f);
}

/* ------------------------------------------------------------------ */
/* The file                                                            */
/* ------------------------------------------------------------------ */

enum sql_ev_kind {
	EV_BEGIN,
	EV_STMT,
	EV_END,
	EV_CRASH,
};

struct sql_ev {
	uint64_t event;       /* global event number: the sort key */
	enum sql_ev_kind kind;
	uint32_t txn;         /* history id (EV_CRASH: crash index) */
	uint32_t stmt;        /* EV_STMT: statement index */
};

static int sql_ev_cmp(const void *a, const void *b)
{
	const struct sql_ev *x = a, *y = b;
	return (x->event > y->event) - (x->event < y->event);
}

static void write_header(FILE *f, const struct shrink_view *v)
{
	const struct world_result *res = v->res;
	const struct world_config *cfg = &v->opts->cfg;
	fprintf(f, "-- whopper shrink: a minimal repro\n");
	fprintf(f, "-- failure:  %s\n", v->signature);
	fprintf(f, "-- replay:   whopper replay ");
	shell_word(f, v->whop_path);
	fprintf(f, "\n-- shrunk from ");
	shell_word(f, v->source_path);
	fprintf(f, "\n-- run:      whopper run");
	for (int i = 0; i < v->argc; i++) {
		fputc(' ', f);
		shell_word(f, v->argv[i]);
	}
	fputc('\n', f);
	if (v->skip_count > 0)
		fprintf(f, "--            (the replay file also skips %u statements the workload would have run)\n",
			v->skip_count);
	fprintf(f, "-- size:     %llu statements, %u transactions, %u connections\n",
		(unsigned long long)res->stats.statements, res->history.txn_count,
		cfg->conn_count);
	fprintf(f, "--\n");
	if (v->kind) {
		fprintf(f, "-- %s:\n", v->kind);
		comment_wrapped(f, "  ", v->detail ? v->detail : "", 74);
		fprintf(f, "--\n");
	}
	if (cfg->target == WORLD_TARGET_SIM)
		fprintf(f, "-- target: one database file on the simulated VFS, journal_mode=%s, synchronous=%s\n",
			cfg->journal_mode, cfg->synchronous);
	else
		fprintf(f, "-- target: one shared-cache in-memory database\n");
	fprintf(f, "-- every connection opens it and first runs:\n");
	for (uint32_t i = 0; i < cfg->workload->pragma_count; i++)
		fprintf(f, "--   PRAGMA %s;\n", cfg->workload->pragmas[i]);
	for (uint32_t i = 0; i < cfg->pragma_count; i++)
		fprintf(f, "--   PRAGMA %s;\n", cfg->pragmas[i]);
	bool opens_first = cfg->image != NULL && strcasecmp(cfg->journal_mode, "wal") != 0;
	if (cfg->setup_sql != NULL && (cfg->image == NULL || opens_first))
		fprintf(f, "--   SELECT count(*) FROM sqlite_schema;  (reads the schema, as the\n"
			   "--   connections of the original run had before the window)\n");
	else if (cfg->workload->pragma_count + cfg->pragma_count == 0)
		fprintf(f, "--   (no pragmas)\n");
	fprintf(f, "-- Below, statements are in the order they finished across all\n"
		   "-- connections; \"-- [conn N]\" marks each switch to another connection.\n"
		   "-- Bound values are inlined as SQL literals; \"->\" shows each result.\n\n");
	if (cfg->image != NULL) {
		fprintf(f, "-- the run starts from files, not from SQL: the original run's files\n"
			   "-- at the start of the racing window, written beside this file:\n");
		for (uint32_t i = 0; i < cfg->image->count; i++)
			fprintf(f, "--   %s.%s (%lld bytes)\n", v->stem, cfg->image->files[i].name,
				(long long)cfg->image->files[i].size);
		if (opens_first)
			fprintf(f, "-- The connections open (and read the schema, above) on the\n"
				   "-- database as the journal rolled back leaves it, as the original\n"
				   "-- ones had opened before the writer that left the journal began;\n"
				   "-- then, before the first statement below, these files take its\n"
				   "-- place (copy them over %s...). A journal beside the database\n"
				   "-- that no connection holds a lock for is hot: the first reader\n"
				   "-- rolls it back. Rolled back, they hold exactly this committed\n"
				   "-- state:\n",
				cfg->image->count ? cfg->image->files[0].name : "");
		else
			fprintf(f, "-- (copy them to %s... before any connection opens). Opened,\n"
				   "-- they hold exactly this committed state:\n",
				cfg->image->count ? cfg->image->files[0].name : "");
	} else if (cfg->setup_sql != NULL)
		fprintf(f, "-- setup, once, before any connection opens: the state the original\n"
			   "-- run's transactions before the racing window had committed:\n");
	else
		fprintf(f, "-- setup, once, before any connection opens:\n");
	const char *setup = res->history.setup_sql ? res->history.setup_sql : "";
	size_t n = strlen(setup);
	while (n > 0 && (setup[n - 1] == '\n' || setup[n - 1] == ' '))
		n--;
	fprintf(f, "%.*s\n", (int)n, setup);
}

static void write_stmt(FILE *f, const struct shrink_view *v, const struct hist_txn *t,
		       uint32_t j)
{
	const struct hist_stmt *s = &t->stmts[j];
	char sql[4096], rows[1024], comment[1400];
	shrink_inline_sql(s, sql, sizeof sql);
	if ((s->rc & 0xff) == SQLITE_DONE || (s->rc & 0xff) == SQLITE_OK)
		shrink_rows_text(s, rows, sizeof rows);
	else
		snprintf(rows, sizeof rows, "error: %s", sqlite3_errstr(s->rc));
	bool autocommit = t->begin == HIST_BEGIN_AUTOCOMMIT;
	snprintf(comment, sizeof comment, "T%u %s%s%s -> %s", t->id, s->tmpl ? s->tmpl : "?",
		 autocommit ? " (autocommit)" : "",
		 autocommit && named_by_violation(v, t->id) ? " [named by the violation]" : "",
		 rows);
	sql_line(f, sql, comment);
	if (v->read_txn == t->id && v->read_stmt == j) {
		fprintf(f, "-- ^^^ VIOLATION %s: this read", v->kind ? v->kind : "?");
		if (v->observed[0])
			fprintf(f, " observed %s", v->observed);
		fputc('\n', f);
		if (v->expected[0])
			fprintf(f, "-- ^^^ but the serial reference gives %s\n", v->expected);
	}
}

static void write_end(FILE *f, const struct shrink_view *v, const struct hist_txn *t)
{
	char comment[512];
	const char *why = t->end_rc != SQLITE_OK ? sqlite3_errstr(t->end_rc) : NULL;
	if (t->begin == HIST_BEGIN_AUTOCOMMIT) {
		/* the statement was its own commit: only a failure is news */
		if (t->outcome == HIST_INDETERMINATE)
			fprintf(f, "-- T%u: the autocommit statement may or may not have committed (%s)\n",
				t->id, why ? why : "?");
		else if (t->outcome == HIST_ABORTED)
			fprintf(f, "-- T%u: the autocommit statement failed (%s)\n", t->id,
				why ? why : "?");
	} else if (t->outcome == HIST_COMMITTED) {
		snprintf(comment, sizeof comment, "T%u %s committed (commit #%lld), t=%.3f ms",
			 t->id, t->name ? t->name : "?", (long long)t->commit_index,
			 (double)t->end_us / 1000.0);
		sql_line(f, "COMMIT", comment);
	} else if (t->outcome == HIST_INDETERMINATE) {
		snprintf(comment, sizeof comment, "T%u %s: COMMIT failed (%s): may or may not have committed",
			 t->id, t->name ? t->name : "?", why ? why : "?");
		sql_line(f, "COMMIT", comment);
	} else {
		snprintf(comment, sizeof comment, "T%u %s aborted: %s, t=%.3f ms", t->id,
			 t->name ? t->name : "?", why ? why : "rolled back by the workload",
			 (double)t->end_us / 1000.0);
		sql_line(f, "ROLLBACK", comment);
	}
	if (v->read_txn == t->id && v->read_stmt == SHRINK_NONE)
		fprintf(f, "-- ^^^ VIOLATION %s: T%u is the transaction the oracle could not place\n",
			v->kind ? v->kind : "?", t->id);
}

/* ------------------------------------------------------------------ */
/* Parked points                                                       */
/* ------------------------------------------------------------------ */

#define PARK_OTHERS_MAX 8   /* statements of others named per point */

/* One trace line, parsed. */
struct park_line {
	uint64_t t_us;
	int conn;             /* -1: none */
	bool is_op;           /* a VFS call (op=NAME) */
	char word[32];        /* op name, or the step word (stmt, commit...) */
	char file[96];
	long long a, b;
	int txn;              /* statement lines: the transaction, or -1 */
};

static bool park_parse(const char *p, size_t len, struct park_line *pl)
{
	char buf[400];
	size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	memset(pl, 0, sizeof *pl);
	pl->txn = -1;
	unsigned long long t;
	int conn, used = 0;
	if (sscanf(buf, "t=%llu conn=%d %31s %n", &t, &conn, pl->word, &used) != 3 || used == 0)
		return false;
	pl->t_us = t;
	pl->conn = conn;
	if (strncmp(pl->word, "op=", 3) == 0) {
		pl->is_op = true;
		memmove(pl->word, pl->word + 3, strlen(pl->word + 3) + 1);
		if (sscanf(buf + used, "file=%95s a=%lld b=%lld", pl->file, &pl->a, &pl->b) != 3)
			return false;
		return true;
	}
	const char *tx = strstr(buf + used, " txn=");
	if (tx == NULL && strncmp(buf + used, "txn=", 4) == 0)
		tx = buf + used - 1;
	if (tx != NULL)
		pl->txn = atoi(tx + 5);
	return true;
}

static const char *lock_level_name(long long level)
{
	static const char *const names[] = {"NONE", "SHARED", "RESERVED", "PENDING", "EXCLUSIVE"};
	return level >= 0 && level <= 4 ? names[level] : "?";
}

/* The call as a SQLite developer would name it. */
static void park_call(const struct park_line *pl, char *out, size_t cap)
{
	const char *w = pl->word;
	if (strcmp(w, "read") == 0 || strcmp(w, "write") == 0)
		snprintf(out, cap, "x%c%s(%s, offset %lld, %lld bytes)", w[0] - 32, w + 1, pl->file,
			 pl->a, pl->b);
	else if (strcmp(w, "lock") == 0 || strcmp(w, "unlock") == 0)
		snprintf(out, cap, "x%c%s(%s, %s)", w[0] - 32, w + 1, pl->file,
			 lock_level_name(pl->a));
	else if (strcmp(w, "shm_lock") == 0)
		snprintf(out, cap, "xShmLock(%s, slot %lld, n %lld, %s %s)", pl->file, pl->a,
			 pl->b >> 8, (pl->b & SQLITE_SHM_LOCK) ? "lock" : "unlock",
			 (pl->b & SQLITE_SHM_EXCLUSIVE) ? "exclusive" : "shared");
	else if (strcmp(w, "truncate") == 0)
		snprintf(out, cap, "xTruncate(%s, %lld bytes)", pl->file, pl->a);
	else if (strcmp(w, "sync") == 0)
		snprintf(out, cap, "xSync(%s)", pl->file);
	else if (strcmp(w, "sleep") == 0)
		snprintf(out, cap, "xSleep (busy handler)");
	else if (strcmp(w, "file_control") == 0)
		snprintf(out, cap, "xFileControl(%s, op %lld)", pl->file, pl->a);
	else {
		static const char *const names[][2] = {
			{"open", "xOpen"},         {"close", "xClose"},
			{"delete", "xDelete"},     {"access", "xAccess"},
			{"fullpath", "xFullPathname"}, {"filesize", "xFileSize"},
			{"check_reserved", "xCheckReservedLock"}, {"shm_map", "xShmMap"},
			{"shm_barrier", "xShmBarrier"}, {"shm_unmap", "xShmUnmap"},
			{"fetch", "xFetch"},       {"unfetch", "xUnfetch"},
		};
		const char *name = w;
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strcmp(names[i][0], w) == 0)
				name = names[i][1];
		snprintf(out, cap, "%s(%s)", name, pl->file);
	}
}

/* Per connection while walking the trace. */
struct park_conn {
	bool in_call;         /* its last line was inside a SQLite call */
	uint64_t since_us;    /* time of its last line */
	uint32_t others;      /* statements others finished since */
	char names[PARK_OTHERS_MAX][48]; /* the first of them */
};

static void write_parked(FILE *f, const struct shrink_view *v)
{
	uint32_t cc = v->opts->cfg.conn_count;
	if (v->trace_len == 0 || cc < 2)
		return;
	struct park_conn *pc = wh_calloc(cc, sizeof *pc);
	bool any = false;
	for (uint32_t want = 0; want < cc; want++) {
		memset(pc, 0, cc * sizeof *pc);
		bool header = false;
		for (size_t pos = 0; pos < v->trace_len;) {
			const char *p = v->trace + pos;
			const char *nl = memchr(p, '\n', v->trace_len - pos);
			size_t len = nl ? (size_t)(nl - p) : v->trace_len - pos;
			pos += len + 1;
			struct park_line pl;
			if (!park_parse(p, len, &pl) || pl.conn < 0 || (uint32_t)pl.conn >= cc)
				continue;
			struct park_conn *me = &pc[pl.conn];
			if ((uint32_t)pl.conn == want && pl.is_op && me->in_call && me->others > 0) {
				if (!header) {
					fprintf(f, "\n-- conn %u was parked inside a VFS call while others finished statements:\n",
						want);
					header = true;
				}
				char call[256];
				park_call(&pl, call, sizeof call);
				fprintf(f, "--   %s, t=%.3f..%.3f ms, while", call,
					(double)me->since_us / 1000.0, (double)pl.t_us / 1000.0);
				uint32_t shown = me->others < PARK_OTHERS_MAX ? me->others : PARK_OTHERS_MAX;
				for (uint32_t k = 0; k < shown; k++)
					fprintf(f, "%s %s", k ? "," : "", me->names[k]);
				if (me->others > shown)
					fprintf(f, " and %u more", me->others - shown);
				fputc('\n', f);
				any = true;
			}
			/* A statement finished by pl.conn counts for everyone else. */
			bool stmt_end = !pl.is_op && (strcmp(pl.word, "stmt") == 0 ||
						      strcmp(pl.word, "begin") == 0 ||
						      strcmp(pl.word, "commit") == 0 ||
						      strcmp(pl.word, "rollback") == 0);
			if (stmt_end) {
				for (uint32_t o = 0; o < cc; o++) {
					if (o == (uint32_t)pl.conn)
						continue;
					if (pc[o].others < PARK_OTHERS_MAX)
						snprintf(pc[o].names[pc[o].others], sizeof pc[o].names[0],
							 "conn %d T%d %s", pl.conn, pl.txn, pl.word);
					pc[o].others++;
				}
			}
			me->since_us = pl.t_us;
			me->others = 0;
			me->in_call = pl.is_op || strstr(pl.word, "-start") != NULL;
		}
	}
	if (any)
		fprintf(f, "-- (a call is logged when it runs, so the connection waited in it over the\n"
			   "-- whole span; the gaps between statements are not counted)\n");
	free(pc);
}

void shrink_sql_write(FILE *f, const struct shrink_view *v)
{
	const struct history *h = &v->res->history;
	write_header(f, v);

	size_t cap = (size_t)h->crash_count + 1;
	for (uint32_t i = 0; i < h->txn_count; i++)
		cap += 2 + h->txns[i]->stmt_count;
	struct sql_ev *ev = wh_malloc(cap * sizeof *ev);
	size_t n = 0;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		if (t->begin != HIST_BEGIN_AUTOCOMMIT)
			ev[n++] = (struct sql_ev){t->begin_event, EV_BEGIN, i, 0};
		for (uint32_t j = 0; j < t->stmt_count; j++)
			ev[n++] = (struct sql_ev){t->stmts[j].event, EV_STMT, i, j};
		if (t->outcome != HIST_RUNNING)
			ev[n++] = (struct sql_ev){t->end_event, EV_END, i, 0};
	}
	for (uint32_t i = 0; i < h->crash_count; i++)
		ev[n++] = (struct sql_ev){h->crashes[i].event, EV_CRASH, i, 0};
	WH_ASSERT(n <= cap);
	qsort(ev, n, sizeof *ev, sql_ev_cmp);

	int conn = -1;
	for (size_t k = 0; k < n; k++) {
		if (ev[k].kind == EV_CRASH) {
			const struct hist_crash *c = &h->crashes[ev[k].txn];
			fprintf(f, "\n-- *** %s: every connection is gone; the database is reopened (recovery rc %d)\n",
				c->kind == HIST_CRASH_POWER_LOSS ? "power loss" : "clean close and reopen",
				c->recovered_rc);
			conn = -1;
			continue;
		}
		const struct hist_txn *t = h->txns[ev[k].txn];
		if (t->conn != conn) {
			fprintf(f, "\n-- [conn %d]\n", t->conn);
			conn = t->conn;
		}
		switch (ev[k].kind) {
		case EV_BEGIN: {
			char comment[512];
			snprintf(comment, sizeof comment, "T%u %s, t=%.3f ms%s", t->id,
				 t->name ? t->name : "?", (double)t->begin_us / 1000.0,
				 named_by_violation(v, t->id) ? "  [named by the violation]" : "");
			sql_line(f, begin_sql(t->begin), comment);
			break;
		}
		case EV_STMT:
			write_stmt(f, v, t, ev[k].stmt);
			break;
		case EV_END:
			write_end(f, v, t);
			break;
		case EV_CRASH:
			WH_UNREACHABLE();
		}
	}
	free(ev);
	write_parked(f, v);
	fprintf(f, "\n-- end of the run\n");
}
