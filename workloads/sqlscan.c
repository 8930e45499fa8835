/*
 * sqlscan.c - a small SQL tokenizer for workload files, and the checker
 * that keeps SQL the oracle cannot replay out of a workload.
 *
 * Tokenizer: enough of SQLite's lexical grammar to find statement ends
 * (';' outside literals and comments), workload variables (:name) and
 * meta-commands (a backslash outside literals ends the SQL text), and to
 * point at a token by line and column. It never interprets SQL further
 * than keywords; SQLite itself prepares the statement later (loader.c).
 *
 * Checker: the oracle replays every committed statement on a fresh
 * in-memory reference database and compares results. So a statement must
 * give the same answer there as in the run, given the same database
 * state. That rules out, by token:
 *   - randomness: random(), randomblob();
 *   - time: 'now', CURRENT_TIME/DATE/TIMESTAMP, date/time functions with
 *     no time argument;
 *   - per-connection state: changes(), total_changes(),
 *     last_insert_rowid() (the reference runs every connection's
 *     statements on one connection);
 *   - page layout: sqlite_offset(), the rootpage column of sqlite_schema
 *     (including SELECT * from it);
 *   - other files: ATTACH, DETACH, VACUUM INTO, TEMP objects (one
 *     connection's temp schema is not another's), load_extension().
 * Pragmas are the other source of trouble. In templates a small list is
 * allowed: read-only schema queries; wal_checkpoint (its counters depend
 * on the WAL: NOCHECK), page_count/freelist_count/data_version/
 * schema_version (NOCHECK), incremental_vacuum (layout only: NOREPLAY).
 * Connection settings belong in \pragma, journal_mode and synchronous
 * are the run's flags, and writable_schema and the directory pragmas are
 * refused everywhere.
 *
 * Invariant: every token lies inside the scanned text (off + len <= len)
 * and a token's line/col is where its first byte is.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wl_int.h"

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

int wl__errf(struct wl__err *e, const char *origin, uint32_t line,
	     uint32_t col, const char *fmt, ...)
{
	if (e == NULL || e->set || e->buf == NULL || e->cap == 0) {
		if (e != NULL)
			e->set = true;
		return -1;
	}
	size_t n = 0;
	int k;
	if (line > 0 && col > 0)
		k = snprintf(e->buf, e->cap, "%s:%u:%u: ", origin, line, col);
	else if (line > 0)
		k = snprintf(e->buf, e->cap, "%s:%u: ", origin, line);
	else
		k = snprintf(e->buf, e->cap, "%s: ", origin);
	if (k > 0)
		n = (size_t)k < e->cap ? (size_t)k : e->cap - 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->cap - n, fmt, ap);
	va_end(ap);
	/* One line, always: a message quoting input must not break it. */
	for (char *p = e->buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	e->set = true;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Tokenizer                                                           */
/* ------------------------------------------------------------------ */

void wl__scan_init(struct wl__scan *sc, const char *s, size_t len)
{
	sc->s = s;
	sc->len = len;
	sc->pos = 0;
	sc->line = 1;
	sc->line_start = 0;
}

uint32_t wl__scan_col(const struct wl__scan *sc)
{
	WH_ASSERT(sc->pos >= sc->line_start);
	return (uint32_t)(sc->pos - sc->line_start + 1);
}

/* Advance one byte, keeping line and line_start right. */
static void adv(struct wl__scan *sc)
{
	WH_ASSERT(sc->pos < sc->len);
	if (sc->s[sc->pos] == '\n') {
		sc->line++;
		sc->line_start = sc->pos + 1;
	}
	sc->pos++;
}

static int peek(const struct wl__scan *sc, size_t ahead)
{
	return sc->pos + ahead < sc->len ? (unsigned char)sc->s[sc->pos + ahead] : -1;
}

static bool is_ident_start(int c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static bool is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

int wl__scan_skip(struct wl__scan *sc, struct wl__err *e, const char *origin)
{
	for (;;) {
		int c = peek(sc, 0);
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		    c == '\v') {
			adv(sc);
		} else if (c == '-' && peek(sc, 1) == '-') {
			while (sc->pos < sc->len && sc->s[sc->pos] != '\n')
				adv(sc);
		} else if (c == '/' && peek(sc, 1) == '*') {
			uint32_t line = sc->line, col = wl__scan_col(sc);
			adv(sc);
			adv(sc);
			while (sc->pos < sc->len && !(peek(sc, 0) == '*' && peek(sc, 1) == '/'))
				adv(sc);
			if (sc->pos >= sc->len)
				return wl__errf(e, origin, line, col,
						"unterminated /* comment");
			adv(sc);
			adv(sc);
		} else {
			return 0;
		}
	}
}

/* Consume a literal closed by `close`, where a doubled close is an
 * escaped one ('it''s'). Returns 0 or -1 at the end of the text. */
static int scan_quoted(struct wl__scan *sc, int close)
{
	adv(sc); /* the opening quote */
	while (sc->pos < sc->len) {
		int c = peek(sc, 0);
		adv(sc);
		if (c == close) {
			if (close != ']' && peek(sc, 0) == close) {
				adv(sc);
				continue;
			}
			return 0;
		}
	}
	return -1;
}

/* A number at sc: digits, dots, exponents and hex. Precision is
 * SQLite's business; the token only has to end in the right place. */
static void scan_number(struct wl__scan *sc)
{
	while (isalnum(peek(sc, 0)) || peek(sc, 0) == '.' || peek(sc, 0) == '_' ||
	       ((peek(sc, 0) == '+' || peek(sc, 0) == '-') &&
		(sc->s[sc->pos - 1] == 'e' || sc->s[sc->pos - 1] == 'E')))
		adv(sc);
}

/* Punctuation c at sc: one character, or one of SQLite's two-character
 * operators (and ->>). */
static void scan_punct(struct wl__scan *sc, int c)
{
	static const char *const two[] = {"||", "<=", ">=", "==", "!=", "<>",
					  "<<", ">>", "->"};
	adv(sc);
	for (size_t k = 0; k < sizeof two / sizeof two[0]; k++) {
		if (c == two[k][0] && peek(sc, 0) == two[k][1]) {
			adv(sc);
			if (k == 8 && peek(sc, 0) == '>')
				adv(sc); /* ->> */
			break;
		}
	}
}

int wl__scan_token(struct wl__scan *sc, struct wl__tok *t, struct wl__err *e,
		   const char *origin)
{
	if (wl__scan_skip(sc, e, origin) != 0)
		return -1;
	if (sc->pos >= sc->len)
		return 0;
	t->off = (uint32_t)sc->pos;
	t->line = sc->line;
	t->col = wl__scan_col(sc);
	int c = peek(sc, 0);
	if (c == '\'' || c == '"' || c == '`' || c == '[') {
		int close = c == '[' ? ']' : c;
		if (scan_quoted(sc, close) != 0)
			return wl__errf(e, origin, t->line, t->col,
					c == '\'' ? "unterminated string literal"
						  : "unterminated quoted identifier");
		t->kind = c == '\'' ? WL_TK_STRING : WL_TK_QWORD;
	} else if ((c == 'x' || c == 'X') && peek(sc, 1) == '\'') {
		adv(sc);
		if (scan_quoted(sc, '\'') != 0)
			return wl__errf(e, origin, t->line, t->col,
					"unterminated blob literal");
		t->kind = WL_TK_BLOB;
	} else if (is_ident_start(c)) {
		while (is_ident_char(peek(sc, 0)))
			adv(sc);
		t->kind = WL_TK_WORD;
	} else if ((c >= '0' && c <= '9') ||
		   (c == '.' && peek(sc, 1) >= '0' && peek(sc, 1) <= '9')) {
		scan_number(sc);
		t->kind = WL_TK_NUMBER;
	} else if (c == ':' && is_ident_start(peek(sc, 1))) {
		adv(sc);
		while (is_ident_char(peek(sc, 0)) && peek(sc, 0) != '$')
			adv(sc);
		t->kind = WL_TK_VAR;
	} else if (c == '?' || ((c == '$' || c == '@' || c == ':') &&
				(is_ident_char(peek(sc, 1))))) {
		adv(sc);
		while (is_ident_char(peek(sc, 0)))
			adv(sc);
		t->kind = WL_TK_SQLPARAM;
	} else if (c == ';') {
		adv(sc);
		t->kind = WL_TK_SEMI;
	} else if (c == '\\') {
		adv(sc);
		t->kind = WL_TK_BACKSLASH;
	} else {
		scan_punct(sc, c);
		t->kind = WL_TK_PUNCT;
	}
	t->len = (uint32_t)(sc->pos - t->off);
	WH_ASSERT(t->len > 0);
	WH_ASSERT(t->off + t->len <= sc->len);
	return 1;
}

bool wl__tok_is(const char *text, const struct wl__tok *t, const char *kw)
{
	size_t n = strlen(kw);
	return t->kind == WL_TK_WORD && t->len == n &&
	       strncasecmp(text + t->off, kw, n) == 0;
}

/* ------------------------------------------------------------------ */
/* The checker                                                         */
/* ------------------------------------------------------------------ */

/* Functions whose result is not a function of the database state. */
static const char *const banned_functions[] = {
	"random", "randomblob", "changes", "total_changes", "last_insert_rowid",
	"sqlite_offset", "load_extension",
};

/* Date and time functions: without a time-value argument they read the
 * clock (date() is date('now')). */
static const char *const time_functions[] = {
	"date", "time", "datetime", "julianday", "unixepoch", "strftime",
};

/* Pragmas a template may run, with the flags they imply. */
struct pragma_rule {
	const char *name;
	uint32_t flags;
};

static const struct pragma_rule template_pragmas[] = {
	{"wal_checkpoint", HIST_STMT_NOCHECK},
	{"page_count", HIST_STMT_NOCHECK},
	{"freelist_count", HIST_STMT_NOCHECK},
	{"data_version", HIST_STMT_NOCHECK},
	{"schema_version", HIST_STMT_NOCHECK},
	{"incremental_vacuum", HIST_STMT_NOREPLAY},
	{"integrity_check", 0},
	{"quick_check", 0},
	{"foreign_key_check", 0},
	{"foreign_key_list", 0},
	{"table_info", 0},
	{"table_xinfo", 0},
	{"table_list", 0},
	{"index_list", 0},
	{"index_info", 0},
	{"index_xinfo", 0},
	{"user_version", 0},
};

/* Pragmas that no SQL in a workload may set: the run's flags own them. */
static const char *const run_pragmas[] = {
	"journal_mode", "synchronous", "locking_mode",
};

/* Pragmas no workload may run at all: they reach outside the database or
 * let SQL corrupt it. */
static const char *const unsafe_pragmas[] = {
	"writable_schema", "temp_store_directory", "data_store_directory",
};

static bool word_in(const char *text, const struct wl__tok *t,
		    const char *const *list, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (wl__tok_is(text, t, list[k]))
			return true;
	return false;
}

static bool tok_is_punct(const char *text, const struct wl__tok *t, char c)
{
	return t->kind == WL_TK_PUNCT && t->len == 1 && text[t->off] == c;
}

/* The string literal's content (without quotes) equals s, ignoring case
 * and surrounding blanks. */
static bool string_is(const char *text, const struct wl__tok *t, const char *s)
{
	if (t->kind != WL_TK_STRING || t->len < 2)
		return false;
	const char *p = text + t->off + 1;
	size_t n = t->len - 2;
	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	return n == strlen(s) && strncasecmp(p, s, n) == 0;
}

/* Number of arguments of the call whose '(' is toks[open], and whether it
 * is closed. Counts top-level commas. */
static uint32_t call_args(const char *text, const struct wl__tok *toks,
			  uint32_t count, uint32_t open)
{
	uint32_t depth = 0, args = 0;
	bool any = false;
	for (uint32_t k = open; k < count; k++) {
		const struct wl__tok *t = &toks[k];
		if (tok_is_punct(text, t, '(')) {
			depth++;
			if (depth == 1)
				continue;
		} else if (tok_is_punct(text, t, ')')) {
			depth--;
			if (depth == 0)
				return any ? args + 1 : 0;
		} else if (depth == 1 && tok_is_punct(text, t, ',')) {
			args++;
		}
		if (depth >= 1)
			any = true;
	}
	return any ? args + 1 : 0;
}

/* The pragma named by toks[k] (after optional "schema."), lower-cased
 * into buf. */
static void pragma_name(const char *text, const struct wl__tok *toks,
			uint32_t count, uint32_t k, char *buf, size_t cap)
{
	if (k + 2 < count && tok_is_punct(text, &toks[k + 1], '.'))
		k += 2;
	size_t n = 0;
	if (k < count && toks[k].kind == WL_TK_WORD)
		for (; n + 1 < cap && n < toks[k].len; n++)
			buf[n] = (char)tolower((unsigned char)text[toks[k].off + n]);
	buf[n] = '\0';
}

static const struct pragma_rule *template_pragma(const char *name)
{
	for (size_t k = 0; k < sizeof template_pragmas / sizeof template_pragmas[0]; k++)
		if (strcmp(name, template_pragmas[k].name) == 0)
			return &template_pragmas[k];
	return NULL;
}

static bool name_in(const char *name, const char *const *list, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(name, list[k]) == 0)
			return true;
	return false;
}

/* PRAGMA statements: where they may appear and what they imply. */
static int check_pragma(const char *text, const struct wl__tok *toks,
			uint32_t count, enum wl__sql_ctx ctx,
			struct wl__sql_info *info, struct wl__err *e,
			const char *origin)
{
	char name[WL_MAX_NAME];
	pragma_name(text, toks, count, 1, name, sizeof name);
	const struct wl__tok *at = count > 1 ? &toks[1] : &toks[0];
	info->is_pragma = true;
	if (name[0] == '\0')
		return wl__errf(e, origin, at->line, at->col, "PRAGMA without a name");
	if (name_in(name, run_pragmas, sizeof run_pragmas / sizeof run_pragmas[0]))
		return wl__errf(e, origin, at->line, at->col,
				"PRAGMA %s is set by the run (--journal, --synchronous); a workload may not change it",
				name);
	if (name_in(name, unsafe_pragmas, sizeof unsafe_pragmas / sizeof unsafe_pragmas[0]))
		return wl__errf(e, origin, at->line, at->col, "PRAGMA %s is not allowed in a workload",
				name);
	if (strcmp(name, "auto_vacuum") == 0)
		info->sets_auto_vacuum = true;
	if (ctx == WL_SQL_SETUP)
		return 0;
	const struct pragma_rule *r = template_pragma(name);
	if (r == NULL)
		return wl__errf(e, origin, at->line, at->col,
				"PRAGMA %s may not run inside a %s (connection settings go in a \\pragma declaration)",
				name, ctx == WL_SQL_TEMPLATE ? "transaction" : "invariant");
	info->flags |= r->flags;
	info->is_checkpoint = strcmp(name, "wal_checkpoint") == 0;
	if (ctx == WL_SQL_INVARIANT && r->flags != 0)
		return wl__errf(e, origin, at->line, at->col,
				"PRAGMA %s has an environment-dependent result and cannot be an invariant",
				name);
	return 0;
}

/* Table-valued pragma functions (pragma_table_info(...)) follow the same
 * rules as PRAGMA statements. */
static int check_pragma_function(const char *text, const struct wl__tok *t,
				 enum wl__sql_ctx ctx, struct wl__sql_info *info,
				 struct wl__err *e, const char *origin)
{
	char name[WL_MAX_NAME];
	size_t n = 0;
	for (uint32_t k = 7; k < t->len && n + 1 < sizeof name; k++)
		name[n++] = (char)tolower((unsigned char)text[t->off + k]);
	name[n] = '\0';
	const struct pragma_rule *r = template_pragma(name);
	if (r == NULL || (r->flags & HIST_STMT_NOREPLAY) != 0)
		return wl__errf(e, origin, t->line, t->col,
				"pragma function pragma_%s is not allowed in a workload",
				name);
	if (r->flags != 0 && ctx == WL_SQL_INVARIANT)
		return wl__errf(e, origin, t->line, t->col,
				"pragma_%s has an environment-dependent result and cannot be an invariant",
				name);
	info->flags |= r->flags;
	return 0;
}

/* One statement being checked, and what the check learns about it. */
struct sql_check {
	const char *text;            /* the whole file the tokens point into */
	const struct wl__tok *toks;  /* the statement, without its ';' */
	uint32_t count;              /* tokens, at least one */
	enum wl__sql_ctx ctx;        /* the section it appears in */
	struct wl__sql_info *info;   /* filled by the check */
	struct wl__err *e;
	const char *origin;
};

/* What kind of statement it is (DDL, VACUUM, savepoint, PRAGMA) and
 * whether its section allows that: no ATTACH, VACUUM only in the setup,
 * no transaction control in a template, only queries as invariants. 0 or
 * -1. */
static int check_kind(const struct sql_check *c)
{
	const char *text = c->text;
	const struct wl__tok *first = &c->toks[0];
	bool is_select = wl__tok_is(text, first, "select") ||
			 wl__tok_is(text, first, "with") ||
			 wl__tok_is(text, first, "values");
	if (wl__tok_is(text, first, "attach") || wl__tok_is(text, first, "detach"))
		return wl__errf(c->e, c->origin, first->line, first->col,
				"ATTACH and DETACH reach other database files; the reference cannot follow");
	if (wl__tok_is(text, first, "create") || wl__tok_is(text, first, "drop") ||
	    wl__tok_is(text, first, "alter"))
		c->info->is_ddl = true;
	if (wl__tok_is(text, first, "vacuum")) {
		c->info->is_vacuum = true;
		for (uint32_t k = 1; k < c->count; k++)
			if (wl__tok_is(text, &c->toks[k], "into"))
				return wl__errf(c->e, c->origin, c->toks[k].line, c->toks[k].col,
						"VACUUM INTO writes another file; not allowed");
		if (c->ctx != WL_SQL_SETUP)
			return wl__errf(c->e, c->origin, first->line, first->col,
					"VACUUM belongs in the setup, not in a transaction");
	}
	bool rollback_to = false;
	if (wl__tok_is(text, first, "rollback")) {
		for (uint32_t k = 1; k < c->count && k < 3; k++)
			rollback_to |= wl__tok_is(text, &c->toks[k], "to");
	}
	if (wl__tok_is(text, first, "savepoint") || wl__tok_is(text, first, "release") ||
	    rollback_to)
		c->info->is_savepoint = true;
	if (c->ctx == WL_SQL_TEMPLATE &&
	    (wl__tok_is(text, first, "begin") || wl__tok_is(text, first, "commit") ||
	     wl__tok_is(text, first, "end") ||
	     (wl__tok_is(text, first, "rollback") && !rollback_to)))
		return wl__errf(c->e, c->origin, first->line, first->col,
				"transaction control belongs to the template: the \\transaction line says how it begins, COMMIT is implicit at its end, \\rollback ends it early");
	if (c->ctx == WL_SQL_INVARIANT && !is_select)
		return wl__errf(c->e, c->origin, first->line, first->col,
				"an invariant must be a query (SELECT, WITH or VALUES)");
	if (wl__tok_is(text, first, "pragma"))
		return check_pragma(text, c->toks, c->count, c->ctx, c->info, c->e, c->origin);
	return 0;
}

/* Token k, wherever it is in the statement: nothing the reference would
 * see differently (SQLite parameters, the clock, non-deterministic
 * functions, rootpage, TEMP objects, forbidden pragma functions). 0 or
 * -1. */
static int check_token(const struct sql_check *c, uint32_t k)
{
	const char *text = c->text;
	const struct wl__tok *t = &c->toks[k];
	bool call = k + 1 < c->count && tok_is_punct(text, &c->toks[k + 1], '(');
	if (t->kind == WL_TK_SQLPARAM)
		return wl__errf(c->e, c->origin, t->line, t->col,
				"SQLite parameter '%.*s' cannot be bound by a workload; use a :variable",
				(int)t->len, text + t->off);
	if (string_is(text, t, "now"))
		return wl__errf(c->e, c->origin, t->line, t->col,
				"'now' reads the clock: the reference would see another time");
	if (t->kind != WL_TK_WORD)
		return 0;
	if (wl__tok_is(text, t, "current_time") || wl__tok_is(text, t, "current_date") ||
	    wl__tok_is(text, t, "current_timestamp"))
		return wl__errf(c->e, c->origin, t->line, t->col,
				"%.*s reads the clock: the reference would see another time",
				(int)t->len, text + t->off);
	if (call && word_in(text, t, banned_functions,
			    sizeof banned_functions / sizeof banned_functions[0]))
		return wl__errf(c->e, c->origin, t->line, t->col,
				"%.*s() is not deterministic: its result would differ on the reference (draw values with \\set instead)",
				(int)t->len, text + t->off);
	if (call && word_in(text, t, time_functions,
			    sizeof time_functions / sizeof time_functions[0])) {
		uint32_t args = call_args(text, c->toks, c->count, k + 1);
		uint32_t need = wl__tok_is(text, t, "strftime") ? 2 : 1;
		if (args < need)
			return wl__errf(c->e, c->origin, t->line, t->col,
					"%.*s() without a time value reads the clock",
					(int)t->len, text + t->off);
	}
	if (wl__tok_is(text, t, "rootpage"))
		return wl__errf(c->e, c->origin, t->line, t->col,
				"rootpage differs between the database and the reference");
	if ((wl__tok_is(text, t, "temp") || wl__tok_is(text, t, "temporary")) && k > 0 &&
	    wl__tok_is(text, &c->toks[0], "create"))
		return wl__errf(c->e, c->origin, t->line, t->col,
				"TEMP objects belong to one connection; the reference runs every connection on one");
	if (t->len > 7 && strncasecmp(text + t->off, "pragma_", 7) == 0)
		return check_pragma_function(text, t, c->ctx, c->info, c->e, c->origin);
	return 0;
}

/* A statement that reads the schema table must not SELECT * from it:
 * that includes rootpage. 0 or -1. */
static int check_schema_star(const struct sql_check *c)
{
	const char *text = c->text;
	bool mentions_schema = false;
	for (uint32_t k = 0; k < c->count; k++)
		if (wl__tok_is(text, &c->toks[k], "sqlite_schema") ||
		    wl__tok_is(text, &c->toks[k], "sqlite_master") ||
		    wl__tok_is(text, &c->toks[k], "sqlite_temp_schema") ||
		    wl__tok_is(text, &c->toks[k], "sqlite_temp_master"))
			mentions_schema = true;
	if (!mentions_schema)
		return 0;
	for (uint32_t k = 0; k < c->count; k++) {
		if (tok_is_punct(text, &c->toks[k], '*') &&
		    !(k > 0 && tok_is_punct(text, &c->toks[k - 1], '(')))
			return wl__errf(c->e, c->origin, c->toks[k].line, c->toks[k].col,
					"SELECT * from the schema table includes rootpage, which differs on the reference; name the columns");
	}
	return 0;
}

int wl__sql_check(const char *text, const struct wl__tok *toks, uint32_t count,
		  enum wl__sql_ctx ctx, struct wl__sql_info *info,
		  struct wl__err *e, const char *origin)
{
	memset(info, 0, sizeof *info);
	WH_ASSERT(count > 0);
	const struct wl__tok *first = &toks[0];
	if (first->kind != WL_TK_WORD)
		return wl__errf(e, origin, first->line, first->col,
				"a statement must start with an SQL keyword");
	struct sql_check c = {text, toks, count, ctx, info, e, origin};
	if (check_kind(&c) != 0)
		return -1;
	for (uint32_t k = 0; k < count; k++)
		if (check_token(&c, k) != 0)
			return -1;
	return check_schema_star(&c);
}
