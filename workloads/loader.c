/*
 * loader.c - workload files: parse, check, compile, compose.
 *
 * The format (workloads/README.md teaches it; this is the grammar):
 *
 *   file        := declaration* section*
 *   declaration := \description TEXT
 *                | \param NAME DEFAULT          (integer, number or 'text')
 *                | \pragma NAME=VALUE           (every connection + reference)
 *                | \shape list-append | rw-register
 *                | \include BUILTIN [@W] [NAME=VALUE]...
 *                | \requires sqlite VERSION [REASON]  (VERSION: X.Y[.Z])
 *                | \persist NAME [INITIAL]    (a connection's variable that
 *                                             outlives its transactions)
 *   section     := \setup SQL;...
 *                | \transaction NAME [@W] [KIND[:W]]... body
 *                | \invariants SQL;...          (each returns one true row)
 *   KIND        := deferred | immediate | exclusive | autocommit
 *   body        := ( SQL; modifier* | \set NAME EXPR | \sleep EXPR [us|ms|s]
 *                  | \if EXPR | \elif EXPR | \else | \endif | \rollback )*
 *   modifier    := \gset [PREFIX] | \name LABEL | \nocheck | \noreplay
 *                | \elle read :KEY | \elle append :KEY :VALUE
 *                | \elle write :KEY :VALUE
 *                | \expect CODE...         (also before a template's
 *                                            first statement: all of it)
 * SQL statements end with ';' (a trigger body's inner ';' do not count:
 * sqlite3_complete decides), or with a modifier on the same line, as
 * pgbench ends a query with \gset. :NAME in SQL is a parameter, a
 * \persist variable, :client_id or a variable of the transaction; in
 * templates it becomes a bound ?N, in setup and invariants (parameters
 * only) an SQL literal.
 *
 * Loading runs in two phases so that each error names its line:
 *   phase 1 (parse_*): lines, statements, meta-commands into a `raw` file,
 *     with every syntactic rule and the SQL checker (sqlscan.c) applied;
 *   phase 2 (build_*): parameter values (defaults, then --param), a
 *     scratch in-memory database on which the setup runs statement by
 *     statement and every template statement is prepared (syntax errors,
 *     \gset column names), the invariants must hold on the fresh setup,
 *     then names are resolved and template bodies compiled to code
 *     (interp.c runs it).
 * \include loads another built-in (recursively, bounded) as a unit under a
 * name prefix ("bank/transfer"); the program composes the units' pragmas
 * (a conflict is an error), setups (includes first, in order, then the
 * file's own) and invariants, and checks the composition again on a
 * scratch database (so two units creating one table is an error).
 *
 * \requires: a unit's own requirement is its highest \requires line. A
 * unit made of includes only needs, besides, the least any include needs
 * (with none of them it has nothing to run). The load is for one SQLite
 * version: an include that needs more is loaded and checked like any
 * other (a bad file is an error whatever the version), then left out, so
 * the composition is a function of the files, the parameters and that
 * version alone; the others keep their weights.
 *
 * Invariant: a load either returns a complete program or frees everything
 * it built and leaves *out untouched ("never half-loads").
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcname.h"
#include "sqlapi.h"
#include "wl_int.h"

#define GROW(arr, count, cap)                                               \
	do {                                                                \
		if ((count) == (cap)) {                                     \
			(cap) = (cap) ? (cap) * 2 : 8;                      \
			(arr) = wh_realloc((arr), (cap) * sizeof *(arr));   \
		}                                                           \
	} while (0)

#define NONE UINT32_MAX

static uint64_t validation_budget = 50u * 1000 * 1000;

void wl__set_validation_budget(uint64_t vm_steps)
{
	validation_budget = vm_steps;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = wh_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static bool is_name(const char *s, size_t n, bool dash)
{
	if (n == 0 || n >= WL_MAX_NAME)
		return false;
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t k = 1; k < n; k++)
		if (!(isalnum((unsigned char)s[k]) || s[k] == '_' || (dash && s[k] == '-')))
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Phase 1: the raw file                                               */
/* ------------------------------------------------------------------ */

enum raw_kind {
	R_STMT,
	R_SET,
	R_SLEEP,
	R_IF,
	R_ELIF,
	R_ELSE,
	R_ENDIF,
	R_ROLLBACK,
};

struct raw_stmt {
	uint32_t off, len;           /* text, from the first to the last token */
	uint32_t line, col;
	struct wl__tok *toks;        /* without the final ';' */
	uint32_t tok_count;
	struct wl__sql_info info;
	bool gset;
	char gset_prefix[WL_MAX_NAME];
	uint32_t gset_line, gset_col;
	char label[WL_MAX_NAME];     /* "" = by position */
	uint32_t label_line;
	uint32_t flags;              /* \nocheck, \noreplay */
	int elle_kind;               /* WL_ELLE_* or WL_ELLE_NONE */
	char elle_key[WL_MAX_NAME];
	char elle_value[WL_MAX_NAME];
	uint32_t elle_line, elle_col;
	uint32_t expect_count;       /* \expect codes */
	int expect[WL_MAX_EXPECT];
};

struct raw_item {
	enum raw_kind kind;
	uint32_t line, col;
	struct raw_stmt *stmt;       /* R_STMT */
	uint32_t arg_off, arg_len;   /* expression text (R_SET, R_SLEEP, R_IF,
					R_ELIF) */
	uint32_t arg_col;
	char name[WL_MAX_NAME];      /* R_SET */
	uint64_t unit_us;            /* R_SLEEP */
};

struct raw_tmpl {
	char name[WL_MAX_NAME];
	uint32_t line;
	uint32_t weight;
	uint32_t begin_weight[4];
	struct raw_item *items;
	uint32_t item_count, item_cap;
	uint32_t expect_count;       /* \expect before the first statement */
	int expect[WL_MAX_EXPECT];
	/* \if nesting while parsing */
	uint32_t if_depth;
	uint32_t if_line[WL_MAX_IF_DEPTH];
	bool if_else[WL_MAX_IF_DEPTH];
};

struct raw_param {
	char name[WL_MAX_NAME];
	struct wh_value value;
	uint32_t line;
};

struct raw_pragma {
	char *text;                  /* "name=value", name lower-cased */
	size_t name_len;
	uint32_t line;
};

struct raw_include {
	char name[WL_MAX_NAME];
	uint32_t weight;
	uint32_t line;
	char **params;               /* "NAME=VALUE" from the \include line */
	uint32_t param_count;
};

enum section { SEC_NONE, SEC_SETUP, SEC_TXN, SEC_INVARIANTS };

/* The highest \requires of a file (version 0: none). */
struct raw_requires {
	int version;                 /* sqlite3_libversion_number() form */
	char *reason;                /* the rest of the line, trimmed */
	uint32_t line;
};

struct raw {
	const char *origin;
	const char *text;
	size_t len;
	char *description;
	char *shape;
	uint32_t shape_line;
	struct raw_requires requires;
	struct raw_param *params;
	uint32_t param_count, param_cap;
	struct raw_param *persists;  /* \persist NAME [INITIAL] (NULL when
					none is given) */
	uint32_t persist_count, persist_cap;
	struct raw_pragma *pragmas;
	uint32_t pragma_count, pragma_cap;
	struct raw_include *includes;
	uint32_t include_count, include_cap;
	struct raw_stmt **setup;
	uint32_t setup_count, setup_cap;
	uint32_t setup_line;
	struct raw_stmt **invariants;
	uint32_t invariant_count, invariant_cap;
	uint32_t invariants_line;
	struct raw_tmpl *tmpls;
	uint32_t tmpl_count, tmpl_cap;
	enum section section;
	bool templates_have_ddl;
	uint32_t open_end_line;      /* where a statement that a meta-command */
	uint32_t open_end_col;       /* ended without ';' lacks it */
};

static void raw_stmt_free(struct raw_stmt *s)
{
	if (s == NULL)
		return;
	free(s->toks);
	free(s);
}

static void raw_free(struct raw *r)
{
	free(r->description);
	free(r->shape);
	free(r->requires.reason);
	for (uint32_t k = 0; k < r->param_count; k++)
		wh_value_free(&r->params[k].value);
	free(r->params);
	for (uint32_t k = 0; k < r->persist_count; k++)
		wh_value_free(&r->persists[k].value);
	free(r->persists);
	for (uint32_t k = 0; k < r->pragma_count; k++)
		free(r->pragmas[k].text);
	free(r->pragmas);
	for (uint32_t k = 0; k < r->include_count; k++) {
		for (uint32_t j = 0; j < r->includes[k].param_count; j++)
			free(r->includes[k].params[j]);
		free(r->includes[k].params);
	}
	free(r->includes);
	for (uint32_t k = 0; k < r->setup_count; k++)
		raw_stmt_free(r->setup[k]);
	free(r->setup);
	for (uint32_t k = 0; k < r->invariant_count; k++)
		raw_stmt_free(r->invariants[k]);
	free(r->invariants);
	for (uint32_t k = 0; k < r->tmpl_count; k++) {
		struct raw_tmpl *t = &r->tmpls[k];
		for (uint32_t j = 0; j < t->item_count; j++)
			raw_stmt_free(t->items[j].stmt);
		free(t->items);
	}
	free(r->tmpls);
}

/* One meta-command line: "\cmd args" up to the end of the line. */
struct meta {
	uint32_t line;
	uint32_t col;                /* of the backslash */
	size_t line_start;           /* offset of the line's first byte */
	char cmd[WL_MAX_NAME];
	size_t args;                 /* offset of the arguments */
	size_t end;                  /* offset past them (no newline, no \r) */
	bool after_open_stmt;        /* it ended an SQL text without ';' */
};

struct word {
	size_t off;
	size_t len;
	uint32_t col;
};

#define META_MAX_WORDS 24

static uint32_t meta_col(const struct meta *m, size_t off)
{
	return (uint32_t)(off - m->line_start + 1);
}

/* Split a meta-command's arguments at blanks; 'quoted text' is one word
 * (quotes kept); "--" ends the line. */
static int split_words(const struct raw *r, const struct meta *m, struct word *w,
		       uint32_t *count, struct wl__err *e)
{
	const char *s = r->text;
	size_t k = m->args;
	*count = 0;
	for (;;) {
		while (k < m->end && (s[k] == ' ' || s[k] == '\t'))
			k++;
		if (k >= m->end || (s[k] == '-' && k + 1 < m->end && s[k + 1] == '-'))
			return 0;
		if (*count == META_MAX_WORDS)
			return wl__errf(e, r->origin, m->line, meta_col(m, k),
					"too many arguments to \\%s", m->cmd);
		size_t start = k;
		if (s[k] == '\'') {
			k++;
			for (;;) {
				if (k >= m->end)
					return wl__errf(e, r->origin, m->line, meta_col(m, start),
							"unterminated string");
				if (s[k] == '\'' && k + 1 < m->end && s[k + 1] == '\'') {
					k += 2;
					continue;
				}
				if (s[k] == '\'')
					break;
				k++;
			}
			k++;
		} else {
			while (k < m->end && s[k] != ' ' && s[k] != '\t')
				k++;
		}
		w[*count] = (struct word){start, k - start, meta_col(m, start)};
		(*count)++;
	}
}

static bool word_eq(const struct raw *r, const struct word *w, const char *s)
{
	return w->len == strlen(s) && strncasecmp(r->text + w->off, s, w->len) == 0;
}

/* A literal: 'text', an integer or a number. */
static int parse_literal(const char *s, size_t n, struct wh_value *v)
{
	memset(v, 0, sizeof *v);
	v->type = SQLITE_NULL;
	if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'') {
		v->type = SQLITE_TEXT;
		v->p = wh_malloc(n);
		uint32_t len = 0;
		for (size_t k = 1; k + 1 < n; k++) {
			v->p[len++] = (unsigned char)s[k];
			if (s[k] == '\'')
				k++;
		}
		v->p[len] = '\0';
		v->n = len;
		return 0;
	}
	char buf[64];
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	errno = 0;
	long long i = strtoll(buf, &end, 10);
	if (*end == '\0' && errno == 0) {
		v->type = SQLITE_INTEGER;
		v->i = i;
		return 0;
	}
	errno = 0;
	double f = strtod(buf, &end);
	if (*end == '\0' && errno == 0 && isfinite(f) && end != buf) {
		v->type = SQLITE_FLOAT;
		v->f = f;
		return 0;
	}
	return -1;
}

static struct raw_tmpl *cur_tmpl(struct raw *r)
{
	WH_ASSERT(r->section == SEC_TXN);
	WH_ASSERT(r->tmpl_count > 0);
	return &r->tmpls[r->tmpl_count - 1];
}

/* Leaving a template: every \if must be closed. */
static int close_section(struct raw *r, struct wl__err *e)
{
	if (r->section != SEC_TXN)
		return 0;
	struct raw_tmpl *t = cur_tmpl(r);
	if (t->if_depth > 0)
		return wl__errf(e, r->origin, t->if_line[t->if_depth - 1], 0,
				"\\if without \\endif in transaction '%s'", t->name);
	uint32_t stmts = 0;
	for (uint32_t k = 0; k < t->item_count; k++)
		stmts += t->items[k].kind == R_STMT;
	if (stmts == 0)
		return wl__errf(e, r->origin, t->line, 0,
				"transaction '%s' has no SQL statement", t->name);
	return 0;
}

static struct raw_item *add_item(struct raw *r, enum raw_kind kind, uint32_t line,
				 uint32_t col, struct wl__err *e)
{
	struct raw_tmpl *t = cur_tmpl(r);
	if (t->item_count == WL_MAX_ITEMS) {
		wl__errf(e, r->origin, line, col, "transaction '%s' is too long (at most %u lines of code)",
			 t->name, WL_MAX_ITEMS);
		return NULL;
	}
	GROW(t->items, t->item_count, t->item_cap);
	struct raw_item *it = &t->items[t->item_count++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	it->line = line;
	it->col = col;
	return it;
}

/* The statement a modifier applies to: the template's last item. */
static struct raw_stmt *modifier_target(struct raw *r, const struct meta *m,
					struct wl__err *e)
{
	if (r->section != SEC_TXN) {
		wl__errf(e, r->origin, m->line, m->col,
			 "\\%s applies to a statement of a transaction template", m->cmd);
		return NULL;
	}
	struct raw_tmpl *t = cur_tmpl(r);
	if (t->item_count == 0 || t->items[t->item_count - 1].kind != R_STMT) {
		wl__errf(e, r->origin, m->line, m->col,
			 "\\%s must directly follow the SQL statement it applies to", m->cmd);
		return NULL;
	}
	return t->items[t->item_count - 1].stmt;
}

static int copy_name(const struct raw *r, const struct meta *m, const struct word *w,
		     char *out, bool dash, const char *what, struct wl__err *e)
{
	const char *s = r->text + w->off;
	size_t n = w->len;
	if (!is_name(s, n, dash))
		return wl__errf(e, r->origin, m->line, w->col,
				"invalid %s '%.*s' (letters, digits and _%s; starting with a letter)",
				what, (int)(n > 40 ? 40 : n), s, dash ? " or -" : "");
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* ":name" in a meta-command argument (\elle). */
static int copy_var(const struct raw *r, const struct meta *m, const struct word *w,
		    char *out, struct wl__err *e)
{
	if (w->len < 2 || r->text[w->off] != ':')
		return wl__errf(e, r->origin, m->line, w->col, "expected a :variable");
	struct word inner = {w->off + 1, w->len - 1, w->col + 1};
	return copy_name(r, m, &inner, out, false, "variable name", e);
}

static int parse_weight(const struct raw *r, const struct meta *m, const char *s,
			size_t n, uint32_t col, uint32_t *out, struct wl__err *e)
{
	char buf[16];
	if (n == 0 || n >= sizeof buf)
		return wl__errf(e, r->origin, m->line, col, "invalid weight '%.*s'",
				(int)(n > 20 ? 20 : n), s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	errno = 0;
	unsigned long v = strtoul(buf, &end, 10);
	if (*end != '\0' || errno != 0 || !isdigit((unsigned char)buf[0]) || v == 0 ||
	    v > WL_MAX_WEIGHT)
		return wl__errf(e, r->origin, m->line, col,
				"invalid weight '%s' (an integer from 1 to %u)", buf,
				WL_MAX_WEIGHT);
	*out = (uint32_t)v;
	return 0;
}

/* \description TEXT: the rest of the line, trimmed. */
static int decl_description(struct raw *r, const struct meta *m, struct wl__err *e)
{
	const char *s = r->text;
	size_t a = m->args, b = m->end;
	while (a < b && (s[a] == ' ' || s[a] == '\t'))
		a++;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
		b--;
	if (r->description != NULL)
		return wl__errf(e, r->origin, m->line, m->col, "second \\description");
	if (a == b)
		return wl__errf(e, r->origin, m->line, m->col, "\\description needs a text");
	r->description = xstrndup(s + a, b - a);
	return 0;
}

/* A parameter or \persist variable name must be free: neither
 * :client_id nor declared before (as either). 0 or -1. */
static int decl_name_taken(const struct raw *r, const struct meta *m, const struct word *w,
			   const char *name, struct wl__err *e)
{
	if (strcmp(name, WL_CLIENT_ID) == 0)
		return wl__errf(e, r->origin, m->line, w->col,
				"'%s' is taken: :%s is the connection's number", name, WL_CLIENT_ID);
	for (uint32_t k = 0; k < r->param_count; k++)
		if (strcmp(r->params[k].name, name) == 0)
			return wl__errf(e, r->origin, m->line, w->col,
					"'%s' already declared at line %u (\\param)", name,
					r->params[k].line);
	for (uint32_t k = 0; k < r->persist_count; k++)
		if (strcmp(r->persists[k].name, name) == 0)
			return wl__errf(e, r->origin, m->line, w->col,
					"'%s' already declared at line %u (\\persist)", name,
					r->persists[k].line);
	return 0;
}

/* \persist NAME [INITIAL]: a variable each connection keeps across its
 * transactions, INITIAL (a literal, or NULL) when it starts. */
static int decl_persist(struct raw *r, const struct meta *m, const struct word *w,
			uint32_t nw, struct wl__err *e)
{
	const char *s = r->text;
	if (nw < 1 || nw > 2)
		return wl__errf(e, r->origin, m->line, m->col,
				"usage: \\persist NAME [INITIAL] (INITIAL: NULL, an integer, a number or 'text'; default NULL)");
	if (r->persist_count == WL_MAX_DECLS)
		return wl__errf(e, r->origin, m->line, m->col, "too many \\persist variables");
	struct raw_param p;
	memset(&p, 0, sizeof p);
	p.value.type = SQLITE_NULL;
	if (copy_name(r, m, &w[0], p.name, false, "variable name", e) != 0)
		return -1;
	if (decl_name_taken(r, m, &w[0], p.name, e) != 0)
		return -1;
	if (nw == 2 && !word_eq(r, &w[1], "null") &&
	    parse_literal(s + w[1].off, w[1].len, &p.value) != 0)
		return wl__errf(e, r->origin, m->line, w[1].col,
				"invalid initial value '%.*s' (NULL, an integer, a number or 'text')",
				(int)(w[1].len > 40 ? 40 : w[1].len), s + w[1].off);
	p.line = m->line;
	GROW(r->persists, r->persist_count, r->persist_cap);
	r->persists[r->persist_count++] = p;
	return 0;
}

/* \param NAME DEFAULT: a new parameter, typed by its default. */
static int decl_param(struct raw *r, const struct meta *m, const struct word *w, uint32_t nw,
		      struct wl__err *e)
{
	const char *s = r->text;
	if (nw != 2)
		return wl__errf(e, r->origin, m->line, m->col,
				"usage: \\param NAME DEFAULT (an integer, a number or 'text')");
	if (r->param_count == WL_MAX_DECLS)
		return wl__errf(e, r->origin, m->line, m->col, "too many parameters");
	struct raw_param p;
	memset(&p, 0, sizeof p);
	if (copy_name(r, m, &w[0], p.name, false, "parameter name", e) != 0)
		return -1;
	if (decl_name_taken(r, m, &w[0], p.name, e) != 0)
		return -1;
	if (parse_literal(s + w[1].off, w[1].len, &p.value) != 0)
		return wl__errf(e, r->origin, m->line, w[1].col,
				"invalid default '%.*s' (an integer, a number or 'text')",
				(int)(w[1].len > 40 ? 40 : w[1].len), s + w[1].off);
	p.line = m->line;
	GROW(r->params, r->param_count, r->param_cap);
	r->params[r->param_count++] = p;
	return 0;
}

/* Pragmas a workload may not set: the run's flags own the first three,
 * auto_vacuum needs a VACUUM (so it belongs in the setup), the rest are
 * unsafe. name is the lower-cased name, name_len long. */
static int pragma_not_owned(const struct raw *r, const struct meta *m, const char *name,
			    size_t name_len, struct wl__err *e)
{
	static const char *const owned[] = {"journal_mode", "synchronous",
					    "locking_mode", "writable_schema",
					    "temp_store_directory",
					    "data_store_directory", "auto_vacuum"};
	for (size_t k = 0; k < sizeof owned / sizeof owned[0]; k++)
		if (name_len == strlen(owned[k]) && strncmp(name, owned[k], strlen(owned[k])) == 0)
			return wl__errf(e, r->origin, m->line, m->col,
					"\\pragma %s is not allowed (%s)", owned[k],
					k < 3 ? "the run's flags set it"
					: k == 6 ? "set it in \\setup, followed by VACUUM"
						 : "unsafe");
	return 0;
}

/* \pragma NAME=VALUE, blanks allowed around '=': stored as "name=value"
 * with the name lower-cased, once per name. */
static int decl_pragma(struct raw *r, const struct meta *m, struct wl__err *e)
{
	const char *s = r->text;
	char buf[128];
	size_t n = 0;
	for (size_t k = m->args; k < m->end; k++) {
		if (s[k] == '-' && k + 1 < m->end && s[k + 1] == '-')
			break;
		if (s[k] == ' ' || s[k] == '\t')
			continue;
		if (n + 1 >= sizeof buf)
			return wl__errf(e, r->origin, m->line, m->col, "\\pragma too long");
		buf[n++] = s[k];
	}
	buf[n] = '\0';
	char *eq = strchr(buf, '=');
	if (eq == NULL || eq == buf || eq[1] == '\0')
		return wl__errf(e, r->origin, m->line, m->col, "usage: \\pragma NAME=VALUE");
	if (!is_name(buf, (size_t)(eq - buf), false))
		return wl__errf(e, r->origin, m->line, m->col, "invalid pragma name");
	for (char *p = eq + 1; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.' ||
		      *p == '+'))
			return wl__errf(e, r->origin, m->line, m->col,
					"invalid pragma value '%s' (a word or a number)", eq + 1);
	for (char *p = buf; p < eq; p++)
		*p = (char)tolower((unsigned char)*p);
	if (pragma_not_owned(r, m, buf, (size_t)(eq - buf), e) != 0)
		return -1;
	for (uint32_t k = 0; k < r->pragma_count; k++)
		if (r->pragmas[k].name_len == (size_t)(eq - buf) &&
		    strncmp(r->pragmas[k].text, buf, r->pragmas[k].name_len) == 0)
			return wl__errf(e, r->origin, m->line, m->col,
					"pragma already declared at line %u", r->pragmas[k].line);
	if (r->pragma_count == WL_MAX_DECLS)
		return wl__errf(e, r->origin, m->line, m->col, "too many pragmas");
	GROW(r->pragmas, r->pragma_count, r->pragma_cap);
	r->pragmas[r->pragma_count++] =
		(struct raw_pragma){wh_strdup(buf), (size_t)(eq - buf), m->line};
	return 0;
}

/* \shape list-append | rw-register, at most once. */
static int decl_shape(struct raw *r, const struct meta *m, const struct word *w, uint32_t nw,
		      struct wl__err *e)
{
	if (nw != 1 || !(word_eq(r, &w[0], "list-append") || word_eq(r, &w[0], "rw-register")))
		return wl__errf(e, r->origin, m->line, m->col,
				"usage: \\shape list-append | rw-register");
	if (r->shape != NULL)
		return wl__errf(e, r->origin, m->line, m->col, "second \\shape");
	r->shape = xstrndup(r->text + w[0].off, w[0].len);
	for (char *p = r->shape; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	r->shape_line = m->line;
	return 0;
}

/* \include BUILTIN [@WEIGHT] [NAME=VALUE]...: each built-in once; its
 * parameters are kept as written, checked when it is loaded. */
static int decl_include(struct raw *r, const struct meta *m, const struct word *w,
			uint32_t nw, struct wl__err *e)
{
	const char *s = r->text;
	if (nw < 1)
		return wl__errf(e, r->origin, m->line, m->col,
				"usage: \\include BUILTIN [@WEIGHT] [NAME=VALUE]...");
	if (r->include_count == WL_MAX_DECLS)
		return wl__errf(e, r->origin, m->line, m->col, "too many includes");
	struct raw_include inc;
	memset(&inc, 0, sizeof inc);
	inc.weight = 1;
	inc.line = m->line;
	if (copy_name(r, m, &w[0], inc.name, true, "workload name", e) != 0)
		return -1;
	for (uint32_t k = 0; k < r->include_count; k++)
		if (strcmp(r->includes[k].name, inc.name) == 0)
			return wl__errf(e, r->origin, m->line, w[0].col,
					"'%s' already included at line %u", inc.name,
					r->includes[k].line);
	GROW(r->includes, r->include_count, r->include_cap);
	r->includes[r->include_count++] = inc;
	struct raw_include *ip = &r->includes[r->include_count - 1];
	for (uint32_t k = 1; k < nw; k++) {
		const char *a = s + w[k].off;
		if (a[0] == '@') {
			if (parse_weight(r, m, a + 1, w[k].len - 1, w[k].col, &ip->weight, e) != 0)
				return -1;
			continue;
		}
		const char *eq = memchr(a, '=', w[k].len);
		if (eq == NULL || eq == a)
			return wl__errf(e, r->origin, m->line, w[k].col,
					"expected @WEIGHT or NAME=VALUE, got '%.*s'",
					(int)(w[k].len > 40 ? 40 : w[k].len), a);
		ip->params = wh_realloc(ip->params, (ip->param_count + 1) * sizeof *ip->params);
		ip->params[ip->param_count++] = xstrndup(a, w[k].len);
	}
	return 0;
}

int wl_version_parse(const char *s, size_t n, int *out)
{
	/* X.Y or X.Y.Z, each part one to three digits: SQLite's version
	 * number is X * 1000000 + Y * 1000 + Z. */
	int part[3] = {0, 0, 0};
	uint32_t parts = 0;
	size_t k = 0;
	while (parts < 3) {
		size_t digits = 0;
		while (k < n && isdigit((unsigned char)s[k]) && digits < 4) {
			part[parts] = part[parts] * 10 + (s[k] - '0');
			k++;
			digits++;
		}
		if (digits == 0 || digits > 3)
			return -1;
		parts++;
		if (k == n)
			break;
		if (s[k] != '.')
			return -1;
		k++;
	}
	if (k != n || parts < 2 || part[0] != 3)
		return -1;
	*out = part[0] * 1000000 + part[1] * 1000 + part[2];
	return 0;
}

void wl_version_text(int version, char *buf, size_t len)
{
	snprintf(buf, len, "%d.%d.%d", version / 1000000, version / 1000 % 1000, version % 1000);
}

/* \requires sqlite VERSION [REASON]: the rest of the line after the
 * version is the reason, free text like \description's. Several lines
 * may name several features; the highest version is the requirement (the
 * first of equal ones keeps its reason). */
static int decl_requires(struct raw *r, const struct meta *m, struct wl__err *e)
{
	const char *s = r->text;
	size_t k = m->args;
	struct word w[2];
	for (uint32_t i = 0; i < 2; i++) {
		while (k < m->end && (s[k] == ' ' || s[k] == '\t'))
			k++;
		size_t start = k;
		while (k < m->end && s[k] != ' ' && s[k] != '\t')
			k++;
		if (k == start)
			return wl__errf(e, r->origin, m->line, m->col,
					"usage: \\requires sqlite VERSION [REASON] (e.g. \\requires sqlite 3.35.0 ALTER TABLE DROP COLUMN)");
		w[i] = (struct word){start, k - start, meta_col(m, start)};
	}
	if (!word_eq(r, &w[0], "sqlite"))
		return wl__errf(e, r->origin, m->line, w[0].col,
				"\\requires: unknown product '%.*s' (only 'sqlite')",
				(int)(w[0].len > 40 ? 40 : w[0].len), s + w[0].off);
	int version;
	if (wl_version_parse(s + w[1].off, w[1].len, &version) != 0)
		return wl__errf(e, r->origin, m->line, w[1].col,
				"\\requires: invalid SQLite version '%.*s' (3.MINOR or 3.MINOR.PATCH, e.g. 3.35.0)",
				(int)(w[1].len > 40 ? 40 : w[1].len), s + w[1].off);
	if (version <= WH_SQLAPI_VERSION_MIN) {
		char min[32];
		wl_version_text(WH_SQLAPI_VERSION_MIN, min, sizeof min);
		return wl__errf(e, r->origin, m->line, w[1].col,
				"\\requires sqlite %.*s: whopper drives no SQLite older than %s anyway: drop the line",
				(int)w[1].len, s + w[1].off, min);
	}
	size_t a = k, b = m->end;
	while (a < b && (s[a] == ' ' || s[a] == '\t'))
		a++;
	if (version <= r->requires.version)
		return 0;
	free(r->requires.reason);
	r->requires = (struct raw_requires){version, xstrndup(s + a, b - a), m->line};
	return 0;
}

/* Declarations (before the first section). */
static int meta_declaration(struct raw *r, const struct meta *m, struct word *w,
			    uint32_t nw, struct wl__err *e)
{
	if (r->section != SEC_NONE || r->setup_line || r->invariants_line ||
	    r->tmpl_count)
		return wl__errf(e, r->origin, m->line, m->col,
				"\\%s is a declaration: it must come before the first section (\\setup, \\transaction, \\invariants)",
				m->cmd);
	if (strcmp(m->cmd, "description") == 0)
		return decl_description(r, m, e);
	if (strcmp(m->cmd, "param") == 0)
		return decl_param(r, m, w, nw, e);
	if (strcmp(m->cmd, "pragma") == 0)
		return decl_pragma(r, m, e);
	if (strcmp(m->cmd, "shape") == 0)
		return decl_shape(r, m, w, nw, e);
	if (strcmp(m->cmd, "requires") == 0)
		return decl_requires(r, m, e);
	if (strcmp(m->cmd, "persist") == 0)
		return decl_persist(r, m, w, nw, e);
	WH_ASSERT(strcmp(m->cmd, "include") == 0);
	return decl_include(r, m, w, nw, e);
}

static int meta_transaction(struct raw *r, const struct meta *m, struct word *w,
			    uint32_t nw, struct wl__err *e)
{
	static const char *const kinds[4] = {
		[HIST_BEGIN_AUTOCOMMIT] = "autocommit", [HIST_BEGIN_DEFERRED] = "deferred",
		[HIST_BEGIN_IMMEDIATE] = "immediate", [HIST_BEGIN_EXCLUSIVE] = "exclusive",
	};
	if (nw < 1)
		return wl__errf(e, r->origin, m->line, m->col,
				"usage: \\transaction NAME [@WEIGHT] [deferred|immediate|exclusive|autocommit[:WEIGHT]]...");
	if (r->tmpl_count == WL_MAX_TEMPLATES)
		return wl__errf(e, r->origin, m->line, m->col, "too many transaction templates");
	struct raw_tmpl t;
	memset(&t, 0, sizeof t);
	t.line = m->line;
	t.weight = 1;
	if (copy_name(r, m, &w[0], t.name, true, "transaction name", e) != 0)
		return -1;
	for (uint32_t k = 0; k < r->tmpl_count; k++)
		if (strcmp(r->tmpls[k].name, t.name) == 0)
			return wl__errf(e, r->origin, m->line, w[0].col,
					"transaction '%s' already defined at line %u", t.name,
					r->tmpls[k].line);
	bool any_kind = false;
	for (uint32_t k = 1; k < nw; k++) {
		const char *a = r->text + w[k].off;
		if (a[0] == '@') {
			if (parse_weight(r, m, a + 1, w[k].len - 1, w[k].col, &t.weight, e) != 0)
				return -1;
			continue;
		}
		const char *colon = memchr(a, ':', w[k].len);
		size_t klen = colon ? (size_t)(colon - a) : w[k].len;
		int kind = -1;
		for (int j = 0; j < 4; j++)
			if (klen == strlen(kinds[j]) && strncasecmp(a, kinds[j], klen) == 0)
				kind = j;
		if (kind < 0)
			return wl__errf(e, r->origin, m->line, w[k].col,
					"unknown begin kind '%.*s' (deferred, immediate, exclusive or autocommit)",
					(int)(klen > 40 ? 40 : klen), a);
		uint32_t kw = 1;
		if (colon != NULL &&
		    parse_weight(r, m, colon + 1, w[k].len - klen - 1, w[k].col, &kw, e) != 0)
			return -1;
		if (t.begin_weight[kind] != 0)
			return wl__errf(e, r->origin, m->line, w[k].col,
					"begin kind '%s' given twice", kinds[kind]);
		t.begin_weight[kind] = kw;
		any_kind = true;
	}
	if (!any_kind)
		t.begin_weight[HIST_BEGIN_DEFERRED] = 1;
	if (t.begin_weight[HIST_BEGIN_AUTOCOMMIT] != 0 &&
	    (t.begin_weight[1] | t.begin_weight[2] | t.begin_weight[3]) != 0)
		return wl__errf(e, r->origin, m->line, m->col,
				"autocommit cannot be mixed with other begin kinds: an autocommit template is one statement");
	if (close_section(r, e) != 0)
		return -1;
	GROW(r->tmpls, r->tmpl_count, r->tmpl_cap);
	r->tmpls[r->tmpl_count++] = t;
	r->section = SEC_TXN;
	return 0;
}

/* The expression of \set, \if, \elif and \sleep: the rest of the line. */
static int expr_arg(const struct raw *r, const struct meta *m, size_t from,
		    struct raw_item *it, struct wl__err *e)
{
	const char *s = r->text;
	while (from < m->end && (s[from] == ' ' || s[from] == '\t'))
		from++;
	if (from >= m->end)
		return wl__errf(e, r->origin, m->line, m->col, "\\%s needs an expression",
				m->cmd);
	it->arg_off = (uint32_t)from;
	it->arg_len = (uint32_t)(m->end - from);
	it->arg_col = meta_col(m, from);
	return 0;
}

/* \set NAME EXPRESSION */
static int body_set(struct raw *r, const struct meta *m, const struct word *w, uint32_t nw,
		    struct wl__err *e)
{
	if (nw < 2)
		return wl__errf(e, r->origin, m->line, m->col, "usage: \\set NAME EXPRESSION");
	struct raw_item *it = add_item(r, R_SET, m->line, m->col, e);
	if (it == NULL || copy_name(r, m, &w[0], it->name, false, "variable name", e) != 0)
		return -1;
	return expr_arg(r, m, w[0].off + w[0].len, it, e);
}

/* \sleep EXPRESSION [us | ms | s]: seconds unless a unit ends the line. */
static int body_sleep(struct raw *r, const struct meta *m, const struct word *w, uint32_t nw,
		      struct wl__err *e)
{
	static const struct {
		const char *name;
		uint64_t us;
	} units[] = {{"us", 1}, {"ms", 1000}, {"s", 1000000}};
	struct raw_item *it = add_item(r, R_SLEEP, m->line, m->col, e);
	if (it == NULL)
		return -1;
	if (nw == 0)
		return wl__errf(e, r->origin, m->line, m->col,
				"usage: \\sleep EXPRESSION [us | ms | s]");
	it->unit_us = 1000000;
	size_t end = w[nw - 1].off + w[nw - 1].len;
	if (nw >= 2) {
		for (size_t k = 0; k < 3; k++)
			if (word_eq(r, &w[nw - 1], units[k].name)) {
				it->unit_us = units[k].us;
				end = w[nw - 1].off;
			}
	}
	struct meta m2 = *m;
	m2.end = end;
	return expr_arg(r, &m2, m->args, it, e);
}

/* \if EXPRESSION opens a level (bounded); \elif EXPRESSION continues the
 * innermost one, before its \else. */
static int body_if(struct raw *r, struct raw_tmpl *t, const struct meta *m, struct wl__err *e)
{
	bool is_if = m->cmd[0] == 'i';
	if (is_if && t->if_depth == WL_MAX_IF_DEPTH)
		return wl__errf(e, r->origin, m->line, m->col, "\\if nested too deeply");
	if (!is_if && t->if_depth == 0)
		return wl__errf(e, r->origin, m->line, m->col, "\\elif without \\if");
	if (!is_if && t->if_else[t->if_depth - 1])
		return wl__errf(e, r->origin, m->line, m->col, "\\elif after \\else");
	struct raw_item *it = add_item(r, is_if ? R_IF : R_ELIF, m->line, m->col, e);
	if (it == NULL || expr_arg(r, m, m->args, it, e) != 0)
		return -1;
	if (is_if) {
		t->if_line[t->if_depth] = m->line;
		t->if_else[t->if_depth] = false;
		t->if_depth++;
	}
	return 0;
}

static int meta_body(struct raw *r, const struct meta *m, struct word *w, uint32_t nw,
		     struct wl__err *e)
{
	if (r->section != SEC_TXN)
		return wl__errf(e, r->origin, m->line, m->col,
				"\\%s belongs inside a transaction template (after \\transaction)",
				m->cmd);
	struct raw_tmpl *t = cur_tmpl(r);
	if (strcmp(m->cmd, "set") == 0)
		return body_set(r, m, w, nw, e);
	if (strcmp(m->cmd, "sleep") == 0)
		return body_sleep(r, m, w, nw, e);
	if (strcmp(m->cmd, "if") == 0 || strcmp(m->cmd, "elif") == 0)
		return body_if(r, t, m, e);
	if (nw != 0)
		return wl__errf(e, r->origin, m->line, w[0].col, "\\%s takes no argument",
				m->cmd);
	if (strcmp(m->cmd, "else") == 0) {
		if (t->if_depth == 0)
			return wl__errf(e, r->origin, m->line, m->col, "\\else without \\if");
		if (t->if_else[t->if_depth - 1])
			return wl__errf(e, r->origin, m->line, m->col, "second \\else for one \\if");
		t->if_else[t->if_depth - 1] = true;
		return add_item(r, R_ELSE, m->line, m->col, e) ? 0 : -1;
	}
	if (strcmp(m->cmd, "endif") == 0) {
		if (t->if_depth == 0)
			return wl__errf(e, r->origin, m->line, m->col, "\\endif without \\if");
		t->if_depth--;
		return add_item(r, R_ENDIF, m->line, m->col, e) ? 0 : -1;
	}
	WH_ASSERT(strcmp(m->cmd, "rollback") == 0);
	return add_item(r, R_ROLLBACK, m->line, m->col, e) ? 0 : -1;
}

/* \expect CODE...: result codes into codes[] (*count so far, several
 * lines add up). A code is a name of rcname.h's table, in any case, with
 * or without SQLITE_; a primary code stands for its whole class. BUSY and
 * LOCKED are refused: every statement may meet them (the concurrency's
 * own answer), and they are counted apart as busy. 0 or -1. */
static int expect_codes(struct raw *r, const struct meta *m, const struct word *w, uint32_t nw,
			int *codes, uint32_t *count, struct wl__err *e)
{
	WH_ASSERT(*count <= WL_MAX_EXPECT);
	WH_ASSERT(nw <= META_MAX_WORDS);
	if (nw == 0)
		return wl__errf(e, r->origin, m->line, m->col,
				"usage: \\expect CODE... (SQLite result codes: constraint, constraint_unique, SQLITE_ABORT, ...)");
	for (uint32_t k = 0; k < nw; k++) {
		const char *s = r->text + w[k].off;
		int n = (int)(w[k].len > 40 ? 40 : w[k].len);
		int rc;
		if (!wh_rc_lookup(s, w[k].len, &rc)) {
			bool prefixed = w[k].len > 7 && strncasecmp(s, "SQLITE_", 7) == 0;
			struct wl__suggest sg;
			wl__suggest_init(&sg, prefixed ? s + 7 : s, prefixed ? w[k].len - 7 : w[k].len);
			char lower[WL_MAX_NAME];
			const char *name;
			for (size_t j = 0; (name = wh_rc_name_at(j)) != NULL; j++)
				wl__suggest_try(&sg, name + 7);
			if (sg.best != NULL && !prefixed) {
				/* offered as the author writes: bare, lower case */
				size_t j = 0;
				for (; sg.best[j] != '\0' && j + 1 < sizeof lower; j++)
					lower[j] = (char)tolower((unsigned char)sg.best[j]);
				lower[j] = '\0';
				sg.best = lower;
			}
			char hint[96];
			if (sg.best != NULL)
				return wl__errf(e, r->origin, m->line, w[k].col,
						"\\expect: unknown result code '%.*s'%s", n, s,
						wl__suggest_text(&sg, prefixed ? "SQLITE_" : "", hint,
								 sizeof hint));
			return wl__errf(e, r->origin, m->line, w[k].col,
					"\\expect: unknown result code '%.*s' (an SQLite result code name: constraint, constraint_unique, SQLITE_ABORT, ...)",
					n, s);
		}
		int primary = rc & 0xff;
		if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
			return wl__errf(e, r->origin, m->line, w[k].col,
					"\\expect %.*s: BUSY and LOCKED are always expected (any statement may meet them; they are counted as busy): drop it",
					n, s);
		if (primary == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE ||
		    primary == SQLITE_NOTICE || primary == SQLITE_WARNING)
			return wl__errf(e, r->origin, m->line, w[k].col,
					"\\expect %.*s: not an error code", n, s);
		for (uint32_t j = 0; j < *count; j++)
			if (codes[j] == rc)
				return wl__errf(e, r->origin, m->line, w[k].col,
						"\\expect %.*s given twice", n, s);
		if (*count == WL_MAX_EXPECT)
			return wl__errf(e, r->origin, m->line, w[k].col,
					"too many \\expect codes (at most %u)", WL_MAX_EXPECT);
		codes[(*count)++] = rc;
	}
	return 0;
}

/* \expect right after a statement is the statement's; before the
 * template's first statement, the whole template's (any statement of it,
 * BEGIN and COMMIT: a deferred foreign key fails at COMMIT). */
static int meta_expect(struct raw *r, const struct meta *m, struct word *w, uint32_t nw,
		       struct wl__err *e)
{
	if (r->section != SEC_TXN)
		return wl__errf(e, r->origin, m->line, m->col,
				"\\expect belongs to a transaction template: after a statement (its errors), or before the first statement (the whole template's)");
	struct raw_tmpl *t = cur_tmpl(r);
	bool any_stmt = false;
	for (uint32_t k = 0; k < t->item_count; k++)
		any_stmt |= t->items[k].kind == R_STMT;
	if (!any_stmt)
		return expect_codes(r, m, w, nw, t->expect, &t->expect_count, e);
	if (t->items[t->item_count - 1].kind != R_STMT)
		return wl__errf(e, r->origin, m->line, m->col,
				"\\expect must directly follow the SQL statement it applies to (or come before the template's first statement, for all of them)");
	struct raw_stmt *st = t->items[t->item_count - 1].stmt;
	return expect_codes(r, m, w, nw, st->expect, &st->expect_count, e);
}

static int meta_modifier(struct raw *r, const struct meta *m, struct word *w,
			 uint32_t nw, struct wl__err *e)
{
	if (strcmp(m->cmd, "expect") == 0)
		return meta_expect(r, m, w, nw, e);
	struct raw_stmt *st = modifier_target(r, m, e);
	if (st == NULL)
		return -1;
	if (strcmp(m->cmd, "gset") == 0) {
		if (st->gset)
			return wl__errf(e, r->origin, m->line, m->col, "second \\gset");
		if (nw > 1)
			return wl__errf(e, r->origin, m->line, m->col, "usage: \\gset [PREFIX]");
		if (nw == 1 && copy_name(r, m, &w[0], st->gset_prefix, false, "prefix", e) != 0)
			return -1;
		st->gset = true;
		st->gset_line = m->line;
		st->gset_col = m->col;
		return 0;
	}
	if (strcmp(m->cmd, "name") == 0) {
		if (nw != 1)
			return wl__errf(e, r->origin, m->line, m->col, "usage: \\name LABEL");
		if (st->label[0] != '\0')
			return wl__errf(e, r->origin, m->line, m->col, "second \\name");
		st->label_line = m->line;
		return copy_name(r, m, &w[0], st->label, true, "label", e);
	}
	if (strcmp(m->cmd, "nocheck") == 0 || strcmp(m->cmd, "noreplay") == 0) {
		if (nw != 0)
			return wl__errf(e, r->origin, m->line, w[0].col, "\\%s takes no argument",
					m->cmd);
		st->flags |= m->cmd[2] == 'c' ? HIST_STMT_NOCHECK : HIST_STMT_NOREPLAY;
		return 0;
	}
	WH_ASSERT(strcmp(m->cmd, "elle") == 0);
	if (st->elle_kind != WL_ELLE_NONE)
		return wl__errf(e, r->origin, m->line, m->col, "second \\elle for one statement");
	if (nw < 2)
		return wl__errf(e, r->origin, m->line, m->col,
				"usage: \\elle read :KEY | \\elle append :KEY :VALUE | \\elle write :KEY :VALUE");
	int kind = word_eq(r, &w[0], "read")     ? WL_ELLE_READ
		   : word_eq(r, &w[0], "append") ? WL_ELLE_APPEND
		   : word_eq(r, &w[0], "write")  ? WL_ELLE_WRITE
						 : -1;
	if (kind < 0)
		return wl__errf(e, r->origin, m->line, w[0].col,
				"unknown Elle operation (read, append or write)");
	if (nw != (kind == WL_ELLE_READ ? 2u : 3u))
		return wl__errf(e, r->origin, m->line, m->col,
				kind == WL_ELLE_READ ? "usage: \\elle read :KEY"
						     : "usage: \\elle append|write :KEY :VALUE");
	if (copy_var(r, m, &w[1], st->elle_key, e) != 0)
		return -1;
	if (kind != WL_ELLE_READ && copy_var(r, m, &w[2], st->elle_value, e) != 0)
		return -1;
	st->elle_kind = kind;
	st->elle_line = m->line;
	st->elle_col = m->col;
	return 0;
}

static bool cmd_in(const char *cmd, const char *const *list, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(cmd, list[k]) == 0)
			return true;
	return false;
}

/* Read the meta-command at sc (a backslash) into m: its name (lower
 * case), where its arguments start and end. sc moves to the end of the
 * line, not past the newline, so line tracking stays right. */
static void meta_scan(const struct raw *r, struct wl__scan *sc, bool after_open_stmt,
		      struct meta *m)
{
	const char *s = r->text;
	memset(m, 0, sizeof *m);
	m->line = sc->line;
	m->col = wl__scan_col(sc);
	m->line_start = sc->line_start;
	m->after_open_stmt = after_open_stmt;
	WH_ASSERT(s[sc->pos] == '\\');
	size_t k = sc->pos + 1, n = 0;
	while (k < r->len && (isalpha((unsigned char)s[k]) || s[k] == '_')) {
		if (n + 1 < sizeof m->cmd)
			m->cmd[n++] = (char)tolower((unsigned char)s[k]);
		k++;
	}
	m->cmd[n] = '\0';
	m->args = k;
	while (k < r->len && s[k] != '\n')
		k++;
	m->end = k;
	while (m->end > m->args && (s[m->end - 1] == '\r' || s[m->end - 1] == ' ' ||
				    s[m->end - 1] == '\t'))
		m->end--;
	sc->pos = k;
}

/* \set's words: only the name is a word; the expression keeps its
 * spaces, and counts as one more word when present. */
static void set_words(const struct raw *r, const struct meta *m, struct word *w, uint32_t *nw)
{
	const char *s = r->text;
	size_t a = m->args;
	while (a < m->end && (s[a] == ' ' || s[a] == '\t'))
		a++;
	size_t b = a;
	while (b < m->end && s[b] != ' ' && s[b] != '\t')
		b++;
	if (b > a) {
		w[0] = (struct word){a, b - a, meta_col(m, a)};
		*nw = 1;
		while (b < m->end && (s[b] == ' ' || s[b] == '\t'))
			b++;
		*nw += b < m->end;
	}
}

/* \setup or \invariants: a section that appears once. */
static int meta_section(struct raw *r, const struct meta *m, const struct word *w, uint32_t nw,
			struct wl__err *e)
{
	bool setup = m->cmd[0] == 's';
	if (nw != 0)
		return wl__errf(e, r->origin, m->line, w[0].col, "\\%s takes no argument", m->cmd);
	uint32_t *seen = setup ? &r->setup_line : &r->invariants_line;
	if (*seen)
		return wl__errf(e, r->origin, m->line, m->col,
				"second \\%s section (the first is at line %u)", m->cmd, *seen);
	if (close_section(r, e) != 0)
		return -1;
	*seen = m->line;
	r->section = setup ? SEC_SETUP : SEC_INVARIANTS;
	return 0;
}

/* sc is at a backslash; consume the line and act on it. */
static int parse_meta(struct raw *r, struct wl__scan *sc, bool after_open_stmt,
		      struct wl__err *e)
{
	static const char *const decls[] = {"description", "param", "pragma", "shape",
					    "include", "requires", "persist"};
	static const char *const body[] = {"set", "sleep", "if", "elif", "else",
					   "endif", "rollback"};
	static const char *const mods[] = {"gset", "name", "nocheck", "noreplay", "elle",
					   "expect"};
	static const char *const sections[] = {"setup", "invariants", "transaction"};
	const char *s = r->text;
	struct meta m;
	meta_scan(r, sc, after_open_stmt, &m);
	if (m.cmd[0] == '\0')
		return wl__errf(e, r->origin, m.line, m.col,
				"a backslash must start a meta-command (\\set, \\if, ...)");
	if (m.args < m.end && !(s[m.args] == ' ' || s[m.args] == '\t'))
		return wl__errf(e, r->origin, m.line, m.col, "unknown meta-command '\\%s%c'",
				m.cmd, s[m.args]);
	bool is_mod = cmd_in(m.cmd, mods, sizeof mods / sizeof mods[0]);
	if (after_open_stmt && !is_mod)
		return wl__errf(e, r->origin, r->open_end_line, r->open_end_col,
				"SQL statement not terminated by ';' before \\%s (line %u)", m.cmd,
				m.line);
	struct word w[META_MAX_WORDS];
	uint32_t nw = 0;
	/* Free text (an expression, a description, a reason) is not split
	 * into words: a quote in it is no string. */
	bool is_expr = strcmp(m.cmd, "set") == 0 || strcmp(m.cmd, "if") == 0 ||
		       strcmp(m.cmd, "elif") == 0 || strcmp(m.cmd, "description") == 0 ||
		       strcmp(m.cmd, "requires") == 0;
	if (!is_expr && split_words(r, &m, w, &nw, e) != 0)
		return -1;
	if (strcmp(m.cmd, "set") == 0)
		set_words(r, &m, w, &nw);
	if (cmd_in(m.cmd, decls, sizeof decls / sizeof decls[0]))
		return meta_declaration(r, &m, w, nw, e);
	if (cmd_in(m.cmd, body, sizeof body / sizeof body[0]))
		return meta_body(r, &m, w, nw, e);
	if (is_mod)
		return meta_modifier(r, &m, w, nw, e);
	if (strcmp(m.cmd, "setup") == 0 || strcmp(m.cmd, "invariants") == 0)
		return meta_section(r, &m, w, nw, e);
	if (strcmp(m.cmd, "transaction") == 0)
		return meta_transaction(r, &m, w, nw, e);
	struct wl__suggest sg;
	wl__suggest_init(&sg, m.cmd, strlen(m.cmd));
	const char *const *lists[] = {decls, body, mods, sections};
	size_t sizes[] = {sizeof decls / sizeof decls[0], sizeof body / sizeof body[0],
			  sizeof mods / sizeof mods[0], sizeof sections / sizeof sections[0]};
	for (size_t l = 0; l < 4; l++)
		for (size_t k = 0; k < sizes[l]; k++)
			wl__suggest_try(&sg, lists[l][k]);
	char hint[WL_MAX_NAME + 32];
	return wl__errf(e, r->origin, m.line, m.col, "unknown meta-command '\\%s'%s", m.cmd,
			wl__suggest_text(&sg, "\\", hint, sizeof hint));
}

/* Where the ';' after token t belongs: the line and column just past its
 * last byte. */
static void tok_end(const struct raw *r, const struct wl__tok *t, uint32_t *line,
		    uint32_t *col)
{
	*line = t->line;
	*col = t->col;
	for (uint32_t k = t->off; k < t->off + t->len; k++) {
		if (r->text[k] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* The tokens of the statement st starting at sc, up to its ';' (not
 * kept) or to a modifier's backslash on the same line (*open_end set, sc
 * left at the backslash). 0, or -1 with the error set. */
static int stmt_tokens(struct raw *r, struct wl__scan *sc, struct raw_stmt *st, bool *open_end,
		       struct wl__err *e)
{
	uint32_t cap = 0;
	bool trigger = false;
	for (;;) {
		struct wl__tok t;
		int k = wl__scan_token(sc, &t, e, r->origin);
		if (k < 0)
			return -1;
		if (k == 0) {
			uint32_t line = st->line, col = st->col;
			if (st->tok_count > 0)
				tok_end(r, &st->toks[st->tok_count - 1], &line, &col);
			return wl__errf(e, r->origin, line, col,
					"SQL statement not terminated by ';'");
		}
		if (t.kind == WL_TK_BACKSLASH) {
			sc->pos = t.off; /* the meta-command parser starts here */
			*open_end = true;
			return 0;
		}
		if (t.kind == WL_TK_SEMI) {
			if (!trigger)
				return 0;
			/* Inside CREATE TRIGGER ... BEGIN ... END a ';' ends
			 * the trigger only where SQLite's shell would. */
			char *text = xstrndup(r->text + st->off, t.off + 1 - st->off);
			bool done = sqlite3_complete(text) != 0;
			free(text);
			if (done)
				return 0;
		}
		GROW(st->toks, st->tok_count, cap);
		st->toks[st->tok_count++] = t;
		if (st->tok_count == 2 || st->tok_count == 3)
			trigger |= wl__tok_is(r->text, &st->toks[0], "create") &&
				   wl__tok_is(r->text, &t, "trigger");
	}
}

/* Check a statement as its section allows and file it there: the setup,
 * the invariants or the current template. 0 (st is owned there now), or
 * -1 with the error set (st is still the caller's). */
static int stmt_file(struct raw *r, struct raw_stmt *st, struct wl__err *e)
{
	enum wl__sql_ctx ctx;
	switch (r->section) {
	case SEC_NONE:
		return wl__errf(e, r->origin, st->line, st->col,
				"SQL outside a section: start one with \\setup, \\transaction NAME or \\invariants");
	case SEC_SETUP:
		ctx = WL_SQL_SETUP;
		break;
	case SEC_TXN:
		ctx = WL_SQL_TEMPLATE;
		break;
	default:
		ctx = WL_SQL_INVARIANT;
		break;
	}
	if (wl__sql_check(r->text, st->toks, st->tok_count, ctx, &st->info, e, r->origin) != 0)
		return -1;
	if (r->section == SEC_SETUP) {
		GROW(r->setup, r->setup_count, r->setup_cap);
		r->setup[r->setup_count++] = st;
	} else if (r->section == SEC_INVARIANTS) {
		GROW(r->invariants, r->invariant_count, r->invariant_cap);
		r->invariants[r->invariant_count++] = st;
	} else {
		struct raw_item *it = add_item(r, R_STMT, st->line, st->col, e);
		if (it == NULL)
			return -1;
		it->stmt = st;
		r->templates_have_ddl |= st->info.is_ddl;
	}
	return 0;
}

/* An SQL statement starts at sc. Collect it up to ';' (or a modifier). */
static int parse_statement(struct raw *r, struct wl__scan *sc, struct wl__err *e)
{
	struct raw_stmt *st = wh_calloc(1, sizeof *st);
	bool open_end = false;
	st->elle_kind = WL_ELLE_NONE;
	st->line = sc->line;
	st->col = wl__scan_col(sc);
	st->off = (uint32_t)sc->pos;
	if (stmt_tokens(r, sc, st, &open_end, e) != 0)
		goto out_free;
	if (st->tok_count == 0) {
		/* a lone ';' */
		raw_stmt_free(st);
		return open_end ? parse_meta(r, sc, false, e) : 0;
	}
	const struct wl__tok *last = &st->toks[st->tok_count - 1];
	st->len = last->off + last->len - st->off;
	tok_end(r, last, &r->open_end_line, &r->open_end_col);
	if (stmt_file(r, st, e) != 0)
		goto out_free;
	if (open_end)
		return parse_meta(r, sc, true, e);
	return 0;
out_free:
	raw_stmt_free(st);
	return -1;
}

static int parse_file(struct raw *r, struct wl__err *e)
{
	struct wl__scan sc;
	wl__scan_init(&sc, r->text, r->len);
	if (memchr(r->text, '\0', r->len) != NULL)
		return wl__errf(e, r->origin, 0, 0, "the file contains a NUL byte");
	for (uint32_t guard = 0;; guard++) {
		WH_ASSERT(guard <= r->len); /* each round consumes input */
		if (wl__scan_skip(&sc, e, r->origin) != 0)
			return -1;
		if (sc.pos >= sc.len)
			break;
		int rc = r->text[sc.pos] == '\\' ? parse_meta(r, &sc, false, e)
						  : parse_statement(r, &sc, e);
		if (rc != 0)
			return -1;
	}
	if (close_section(r, e) != 0)
		return -1;
	if (r->tmpl_count == 0 && r->include_count == 0)
		return wl__errf(e, r->origin, 0, 0,
				"no transaction templates (add one with \\transaction NAME)");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Phase 2: the scratch database                                       */
/* ------------------------------------------------------------------ */

struct scratch {
	sqlite3 *db;
	uint64_t calls_left;         /* progress callbacks before interrupt */
};

#define SCRATCH_PROGRESS_OPS 1000

static int scratch_progress(void *arg)
{
	struct scratch *s = arg;
	if (s->calls_left == 0)
		return 1;
	s->calls_left--;
	return 0;
}

static int scratch_authorize(void *arg, int action, const char *a3, const char *a4,
			     const char *dbname, const char *trigger)
{
	(void)arg;
	(void)a4;
	(void)dbname;
	(void)trigger;
	/* Defence in depth: the SQL checker already refuses these. VACUUM
	 * attaches a temporary database named "" internally: allowed. */
	if (action == SQLITE_ATTACH && a3 != NULL && a3[0] != '\0')
		return SQLITE_DENY;
	if (action == SQLITE_FUNCTION && a3 != NULL && strcasecmp(a3, "load_extension") == 0)
		return SQLITE_DENY;
	return SQLITE_OK;
}

static void scratch_close(struct scratch *s)
{
	if (s->db != NULL)
		sqlite3_close(s->db);
	s->db = NULL;
}

/* A fresh in-memory database with the given pragmas applied. */
static int scratch_open(struct scratch *s, char *const *pragmas, const uint32_t *lines,
			const char *const *origins, uint32_t count, struct wl__err *e,
			const char *origin)
{
	memset(s, 0, sizeof *s);
	s->calls_left = validation_budget / SCRATCH_PROGRESS_OPS;
	int rc = sqlite3_open_v2(":memory:", &s->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		scratch_close(s);
		return wl__errf(e, origin, 0, 0, "cannot open a scratch database: %s",
				sqlite3_errstr(rc));
	}
	sqlite3_progress_handler(s->db, SCRATCH_PROGRESS_OPS, scratch_progress, s);
	sqlite3_set_authorizer(s->db, scratch_authorize, s);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, 64 << 20);
	sqlite3_exec(s->db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL);
	for (uint32_t k = 0; k < count; k++) {
		char *sql = sqlite3_mprintf("PRAGMA %s", pragmas[k]);
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
		sqlite3_free(sql);
		if (rc != SQLITE_OK) {
			wl__errf(e, origins[k], lines[k], 0, "\\pragma %s: %s", pragmas[k],
				 sqlite3_errmsg(s->db));
			scratch_close(s);
			return -1;
		}
	}
	return 0;
}

static const char *scratch_errmsg(const struct scratch *s, int rc)
{
	if (rc == SQLITE_INTERRUPT)
		return "exceeds the load-time check budget of SQLite steps (an endless recursive query?)";
	return sqlite3_errmsg(s->db);
}

/* Run one invariant: it must hold on the current state. */
static int scratch_invariant(struct scratch *s, const char *sql, const char *origin,
			     uint32_t line, struct wl__err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK || st == NULL) {
		wl__errf(e, origin, line, 0, "invariant: %s",
			 st == NULL && rc == SQLITE_OK ? "empty" : scratch_errmsg(s, rc));
		sqlite3_finalize(st);
		return -1;
	}
	if (!sqlite3_stmt_readonly(st) || sqlite3_column_count(st) < 1) {
		sqlite3_finalize(st);
		return wl__errf(e, origin, line, 0,
				"invariant: must be a read-only query returning a value");
	}
	rc = sqlite3_step(st);
	bool holds = rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
		     sqlite3_column_int64(st, 0) != 0;
	char got[64];
	if (rc == SQLITE_ROW)
		snprintf(got, sizeof got, "%s",
			 sqlite3_column_type(st, 0) == SQLITE_NULL
				 ? "NULL"
				 : (const char *)sqlite3_column_text(st, 0));
	else if (rc == SQLITE_DONE)
		snprintf(got, sizeof got, "no row");
	else
		snprintf(got, sizeof got, "error: %.50s", scratch_errmsg(s, rc));
	sqlite3_finalize(st);
	if (!holds)
		return wl__errf(e, origin, line, 0,
				"invariant does not hold right after the setup (got %s)", got);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Phase 2: building a unit                                            */
/* ------------------------------------------------------------------ */

struct builder {
	struct raw *r;
	struct wl__unit *u;
	struct wl__err *e;
	struct scratch sc;
	uint32_t *var_stamp;         /* per var: template index + 1 where it
					was last assigned */
	uint32_t tmpl_index;
	uint32_t depth;              /* include depth */
	int sqlite_version;          /* includes needing more are left out */
};

static int find_param(const struct wl__unit *u, const char *name)
{
	for (uint32_t k = 0; k < u->param_count; k++)
		if (strcmp(u->param_names[k], name) == 0)
			return (int)k;
	return -1;
}

static int find_var(const struct wl__unit *u, const char *name)
{
	for (uint32_t k = 0; k < u->var_count; k++)
		if (strcmp(u->var_names[k], name) == 0)
			return (int)k;
	return -1;
}

static int find_persist(const struct wl__unit *u, const char *name)
{
	for (uint32_t k = 0; k < u->persist_count; k++)
		if (strcmp(u->persist_names[k], name) == 0)
			return (int)k;
	return -1;
}

/* The names :name may have meant, for "did you mean": what this point
 * of the template can read. */
static void suggest_names(const struct builder *b, struct wl__suggest *sg)
{
	const struct wl__unit *u = b->u;
	for (uint32_t k = 0; k < u->param_count; k++)
		wl__suggest_try(sg, u->param_names[k]);
	for (uint32_t k = 0; k < u->persist_count; k++)
		wl__suggest_try(sg, u->persist_names[k]);
	wl__suggest_try(sg, WL_CLIENT_ID);
	for (uint32_t k = 0; k < u->var_count; k++)
		if (b->var_stamp[k] == b->tmpl_index + 1)
			wl__suggest_try(sg, u->var_names[k]);
}

/* :name in a template: a parameter, a \\persist variable, :client_id, or
 * a variable this template assigned earlier. An unknown name is an error
 * that offers the closest known one, or says when another template sets
 * it (variables start as NULL in every transaction). */
static int resolve_name(void *ctx, const char *name, uint32_t line, uint32_t col,
			struct wl__ref *ref)
{
	struct builder *b = ctx;
	int k = find_param(b->u, name);
	if (k >= 0) {
		*ref = (struct wl__ref){WL_REF_PARAM, (uint32_t)k};
		return 0;
	}
	k = find_persist(b->u, name);
	if (k >= 0) {
		*ref = (struct wl__ref){WL_REF_PERSIST, (uint32_t)k};
		return 0;
	}
	if (strcmp(name, WL_CLIENT_ID) == 0) {
		*ref = (struct wl__ref){WL_REF_CLIENT_ID, 0};
		return 0;
	}
	k = find_var(b->u, name);
	if (k >= 0 && b->var_stamp[k] == b->tmpl_index + 1) {
		*ref = (struct wl__ref){WL_REF_VAR, (uint32_t)k};
		return 0;
	}
	if (k >= 0)
		return wl__errf(b->e, b->r->origin, line, col,
				"unknown variable :%s here: another template sets it, but variables start as NULL in every transaction (declare it with \\persist %s to keep a connection's value across its transactions)",
				name, name);
	struct wl__suggest sg;
	wl__suggest_init(&sg, name, strlen(name));
	suggest_names(b, &sg);
	char hint[WL_MAX_NAME + 32];
	if (sg.best != NULL)
		return wl__errf(b->e, b->r->origin, line, col, "unknown variable :%s%s", name,
				wl__suggest_text(&sg, ":", hint, sizeof hint));
	return wl__errf(b->e, b->r->origin, line, col,
			"unknown variable :%s (not a \\param or \\persist, and not set by \\set or \\gset earlier in this transaction)",
			name);
}

/* Assign a variable in the current template: a \\persist one, or one of
 * the transaction's, created on first use. */
static int define_var(struct builder *b, const char *name, uint32_t line, uint32_t col,
		      struct wl__ref *ref)
{
	struct wl__unit *u = b->u;
	if (find_param(u, name) >= 0)
		return wl__errf(b->e, b->r->origin, line, col,
				"'%s' is a parameter; a transaction cannot assign it", name);
	if (strcmp(name, WL_CLIENT_ID) == 0)
		return wl__errf(b->e, b->r->origin, line, col,
				":%s is the connection's number; a transaction cannot assign it",
				name);
	int k = find_persist(u, name);
	if (k >= 0) {
		*ref = (struct wl__ref){WL_REF_PERSIST, (uint32_t)k};
		return 0;
	}
	k = find_var(u, name);
	if (k < 0) {
		if (u->var_count == WL_MAX_VARS)
			return wl__errf(b->e, b->r->origin, line, col, "too many variables");
		k = (int)u->var_count++;
		u->var_names[k] = wh_strdup(name);
	}
	b->var_stamp[k] = b->tmpl_index + 1;
	*ref = (struct wl__ref){WL_REF_VAR, (uint32_t)k};
	return 0;
}

/* --param values: typed by the declared default. */
static int apply_override(struct builder *b, const char *nv, const char *where)
{
	struct wl__unit *u = b->u;
	const char *eq = strchr(nv, '=');
	if (eq == NULL || eq == nv)
		return wl__errf(b->e, where, 0, 0, "--param '%s': expected NAME=VALUE", nv);
	size_t n = (size_t)(eq - nv);
	char name[WL_MAX_NAME];
	if (n >= sizeof name)
		return wl__errf(b->e, where, 0, 0, "--param: name too long");
	memcpy(name, nv, n);
	name[n] = '\0';
	int k = find_param(u, name);
	if (k < 0) {
		char list[256] = "";
		size_t len = 0;
		for (uint32_t j = 0; j < u->param_count && len + 2 < sizeof list; j++)
			len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
						j ? ", " : "", u->param_names[j]);
		if (len >= sizeof list)
			len = sizeof list - 1;
		return wl__errf(b->e, where, 0, 0, "unknown parameter '%s' (%s%s)", name,
				u->param_count ? "declared: " : "this workload declares none",
				list);
	}
	const char *val = eq + 1;
	struct wh_value *v = &u->param_values[k];
	uint32_t line = b->r->params[k].line;
	char *end;
	errno = 0;
	if (v->type == SQLITE_INTEGER) {
		long long i = strtoll(val, &end, 10);
		if (*val == '\0' || *end != '\0' || errno != 0)
			return wl__errf(b->e, b->r->origin, line, 0,
					"--param %s=%s: not an integer (the parameter is declared here)",
					name, val);
		v->i = i;
	} else if (v->type == SQLITE_FLOAT) {
		double f = strtod(val, &end);
		if (*val == '\0' || *end != '\0' || errno != 0 || !isfinite(f))
			return wl__errf(b->e, b->r->origin, line, 0,
					"--param %s=%s: not a number (the parameter is declared here)",
					name, val);
		v->f = f;
	} else {
		WH_ASSERT(v->type == SQLITE_TEXT);
		wh_value_free(v);
		v->type = SQLITE_TEXT;
		v->n = (uint32_t)strlen(val);
		v->p = (unsigned char *)wh_strdup(val);
	}
	return 0;
}

/* SQL with :params replaced by literals (setup, invariants). rep_len,
 * when given (st->tok_count entries), receives each :param token's
 * literal length at its token's index, for stmt_pos. */
static int substitute(struct builder *b, const struct raw_stmt *st, char **out,
		      uint32_t *rep_len)
{
	const char *s = b->r->text;
	struct wl__unit *u = b->u;
	size_t cap = st->len + 64, len = 0;
	char *buf = wh_malloc(cap);
	uint32_t at = st->off;
	for (uint32_t k = 0; k <= st->tok_count; k++) {
		const struct wl__tok *t = k < st->tok_count ? &st->toks[k] : NULL;
		uint32_t upto = t ? t->off : st->off + st->len;
		char lit[64];
		const char *piece = NULL;
		size_t piece_len = 0;
		char *quoted = NULL;
		if (t != NULL && t->kind == WL_TK_VAR) {
			char name[WL_MAX_NAME];
			size_t n = t->len - 1 < sizeof name - 1 ? t->len - 1 : sizeof name - 1;
			memcpy(name, s + t->off + 1, n);
			name[n] = '\0';
			int p = find_param(u, name);
			if (p < 0) {
				free(buf);
				return wl__errf(b->e, b->r->origin, t->line, t->col,
						"unknown parameter :%s (setup and invariants can use \\param values only)",
						name);
			}
			const struct wh_value *v = &u->param_values[p];
			if (v->type == SQLITE_INTEGER) {
				snprintf(lit, sizeof lit, "%lld", (long long)v->i);
			} else if (v->type == SQLITE_FLOAT) {
				snprintf(lit, sizeof lit, "%.17g", v->f);
				if (strpbrk(lit, ".eEin") == NULL)
					strcat(lit, ".0"); /* stays a REAL in SQL */
			}
			if (v->type == SQLITE_TEXT) {
				quoted = sqlite3_mprintf("%Q", (const char *)v->p);
				piece = quoted;
			} else {
				piece = lit;
			}
			piece_len = strlen(piece);
		}
		size_t need = len + (upto - at) + piece_len + 1;
		if (need > cap) {
			cap = need * 2;
			buf = wh_realloc(buf, cap);
		}
		memcpy(buf + len, s + at, upto - at);
		len += upto - at;
		if (piece != NULL) {
			memcpy(buf + len, piece, piece_len);
			len += piece_len;
			at = t->off + t->len;
			if (rep_len != NULL)
				rep_len[k] = (uint32_t)piece_len;
		} else {
			at = upto;
		}
		sqlite3_free(quoted);
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Where in the file an SQLite error points                            */
/* ------------------------------------------------------------------ */

/* The byte offset in the SQL text of the last error SQLite reported on
 * db (sqlite3_error_offset, SQLite 3.38 and later), or -1: none known. */
static int error_offset(sqlite3 *db)
{
#if SQLITE_VERSION_NUMBER >= 3038000
	return sqlite3_error_offset(db);
#else
	(void)db;
	return -1;
#endif
}

/* The line and column of file offset `at`, counted from the start of
 * statement rs (at lies inside it). */
static void file_pos(const struct raw *r, const struct raw_stmt *rs, uint32_t at,
		     uint32_t *line, uint32_t *col)
{
	WH_ASSERT(at >= rs->off);
	WH_ASSERT(at <= rs->off + rs->len);
	*line = rs->line;
	*col = rs->col;
	for (uint32_t k = rs->off; k < at; k++) {
		if (r->text[k] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* The file offset of byte `off` of statement rs's rewritten text
 * (sql: its :names replaced): the text between :names is the file's, a
 * replacement stands for its :name token. rep_len gives each
 * replacement's length by token index; NULL: they are ?N, measured in
 * sql. An offset past the end is the statement's end. */
static uint32_t rewritten_to_file(const struct raw_stmt *rs, const char *sql,
				  const uint32_t *rep_len, uint32_t off)
{
	uint32_t at = rs->off, out = 0;
	WH_ASSERT(sql != NULL);
	WH_ASSERT(rs->tok_count > 0);
	for (uint32_t k = 0; k < rs->tok_count; k++) {
		const struct wl__tok *t = &rs->toks[k];
		if (t->kind != WL_TK_VAR)
			continue;
		uint32_t same = t->off - at;
		if (off < out + same)
			return at + (off - out);
		out += same;
		uint32_t n = 0;
		if (rep_len != NULL) {
			n = rep_len[k];
		} else {
			WH_ASSERT(sql[out] == '?');
			for (n = 1; sql[out + n] >= '0' && sql[out + n] <= '9'; n++)
				;
		}
		if (off < out + n)
			return t->off;
		out += n;
		at = t->off + t->len;
	}
	uint32_t end = rs->off + rs->len;
	return at + (off - out) < end ? at + (off - out) : end;
}

/* Where an SQLite error in statement rs points: *line and *col (left as
 * the statement's start when SQLite gives no offset), and in hint, for a
 * syntax error at the first token of a later line, the likely cause: the
 * line before it lacks its ';'. */
static void stmt_error_pos(const struct raw *r, const struct raw_stmt *rs, const char *sql,
			   const uint32_t *rep_len, sqlite3 *db, const char *msg,
			   uint32_t *line, uint32_t *col, char *hint, size_t hint_cap)
{
	*line = rs->line;
	*col = rs->col;
	hint[0] = '\0';
	int off = error_offset(db);
	if (strcmp(msg, "incomplete input") == 0 && rs->tok_count > 0) {
		/* the statement stops where SQLite wanted more */
		tok_end(r, &rs->toks[rs->tok_count - 1], line, col);
		return;
	}
	if (off < 0 || (size_t)off > strlen(sql))
		return;
	uint32_t at = rewritten_to_file(rs, sql, rep_len, (uint32_t)off);
	file_pos(r, rs, at, line, col);
	if (strncmp(msg, "near \"", 6) != 0)
		return;
	for (uint32_t k = 1; k < rs->tok_count; k++)
		if (rs->toks[k].off == at && rs->toks[k].line > rs->toks[k - 1].line) {
			snprintf(hint, hint_cap, " (is the ';' missing at the end of line %u?)",
				 rs->toks[k - 1].line);
			return;
		}
}

/* Prepare errors that a changing schema explains (only tolerated when the
 * templates themselves run DDL). */
static bool schema_dependent_error(const char *msg)
{
	static const char *const prefixes[] = {"no such table", "no such column",
					       "no such index", "duplicate column name"};
	for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++)
		if (strncmp(msg, prefixes[k], strlen(prefixes[k])) == 0)
			return true;
	return strstr(msg, "already exists") != NULL;
}

/* The statement's SQL with each :name replaced by ?N, one number per
 * distinct name (st->params lists them in order), into st->sql. 0, or -1
 * with the error set (st->sql stays NULL). */
static int stmt_number_params(struct builder *b, const struct raw_stmt *rs, struct wl__stmt *st)
{
	const char *s = b->r->text;
	const char *origin = b->r->origin;
	size_t cap = rs->len + 16 * rs->tok_count + 16, len = 0;
	char *sql = wh_malloc(cap);
	uint32_t at = rs->off;
	for (uint32_t k = 0; k <= rs->tok_count; k++) {
		const struct wl__tok *tk = k < rs->tok_count ? &rs->toks[k] : NULL;
		uint32_t upto = tk ? tk->off : rs->off + rs->len;
		memcpy(sql + len, s + at, upto - at);
		len += upto - at;
		at = upto;
		if (tk == NULL || tk->kind != WL_TK_VAR)
			continue;
		char name[WL_MAX_NAME];
		if (tk->len - 1 >= sizeof name) {
			free(sql);
			return wl__errf(b->e, origin, tk->line, tk->col, "variable name too long");
		}
		memcpy(name, s + tk->off + 1, tk->len - 1);
		name[tk->len - 1] = '\0';
		struct wl__ref ref;
		if (resolve_name(b, name, tk->line, tk->col, &ref) != 0) {
			free(sql);
			return -1;
		}
		uint32_t idx = 0;
		while (idx < st->param_count && !(st->params[idx].kind == ref.kind &&
						   st->params[idx].index == ref.index))
			idx++;
		if (idx == st->param_count) {
			if (st->param_count == WL_MAX_PARAMS) {
				free(sql);
				return wl__errf(b->e, origin, tk->line, tk->col,
						"more than %d distinct variables in one statement",
						WL_MAX_PARAMS);
			}
			st->params[st->param_count++] = ref;
		}
		len += (size_t)snprintf(sql + len, cap - len, "?%u", idx + 1);
		at = tk->off + tk->len;
	}
	WH_ASSERT(len < cap);
	sql[len] = '\0';
	st->sql = sql;
	return 0;
}

/* \gset: each result column of the prepared ps becomes a variable
 * (PREFIX + column name), assigned by this statement. 0 or -1. */
static int stmt_gset_vars(struct builder *b, const struct raw_stmt *rs, struct wl__stmt *st,
			  sqlite3_stmt *ps)
{
	const char *origin = b->r->origin;
	int cols = sqlite3_column_count(ps);
	if (cols == 0)
		return wl__errf(b->e, origin, rs->gset_line, rs->gset_col,
				"\\gset on a statement that returns no columns");
	st->gset_vars = wh_calloc((size_t)cols, sizeof *st->gset_vars);
	st->gset_count = (uint32_t)cols;
	for (int c = 0; c < cols; c++) {
		const char *cn = sqlite3_column_name(ps, c);
		char name[WL_MAX_NAME * 2];
		snprintf(name, sizeof name, "%s%s", rs->gset_prefix, cn ? cn : "");
		if (!is_name(name, strlen(name), false))
			return wl__errf(b->e, origin, rs->gset_line, rs->gset_col,
					"\\gset: column '%.40s' is not a variable name (name it with AS)",
					cn ? cn : "");
		if (define_var(b, name, rs->gset_line, rs->gset_col, &st->gset_vars[c]) != 0)
			return -1;
	}
	return 0;
}

/* Prepare st->sql against the setup's schema on the scratch database: one
 * statement, whose parameters are all ours; a prepare error is tolerated
 * only when the templates run DDL and a changing schema explains it (and
 * no \gset needs the columns). 0 or -1. */
static int stmt_prepare(struct builder *b, const struct raw_stmt *rs, struct wl__stmt *st)
{
	const char *origin = b->r->origin;
	sqlite3_stmt *ps = NULL;
	const char *tail = NULL;
	int rc = sqlite3_prepare_v2(b->sc.db, st->sql, -1, &ps, &tail);
	if (rc == SQLITE_OK && ps == NULL)
		return wl__errf(b->e, origin, rs->line, rs->col, "empty statement");
	if (rc == SQLITE_OK && tail != NULL && *tail != '\0') {
		sqlite3_finalize(ps);
		return wl__errf(b->e, origin, rs->line, rs->col,
				"more than one statement (a trigger body needs CREATE TRIGGER ... BEGIN ... END;)");
	}
	if (rc != SQLITE_OK) {
		const char *msg = scratch_errmsg(&b->sc, rc);
		uint32_t line, col;
		char hint[64];
		stmt_error_pos(b->r, rs, st->sql, NULL, b->sc.db, msg, &line, &col, hint,
			       sizeof hint);
		if (!b->r->templates_have_ddl || !schema_dependent_error(msg) || rs->gset)
			return wl__errf(b->e, origin, line, col, "%s%s%s", msg, hint,
					rs->gset ? " (\\gset needs the statement to prepare against the setup's schema)"
						 : "");
	} else if ((uint32_t)sqlite3_bind_parameter_count(ps) != st->param_count) {
		sqlite3_finalize(ps);
		return wl__errf(b->e, origin, rs->line, rs->col,
				"statement uses parameters the workload cannot bind");
	}
	/* The gset messages may quote a column name: finalize after them. */
	int gset_rc = rs->gset ? stmt_gset_vars(b, rs, st, ps) : 0;
	sqlite3_finalize(ps);
	return gset_rc;
}

/* \elle: the statement's Elle operation, whose key (and value) must be
 * bound by this statement, in the declared \shape. 0 or -1. */
static int stmt_elle(struct builder *b, const struct raw_stmt *rs, struct wl__stmt *st)
{
	const char *origin = b->r->origin;
	const char *shape = b->r->shape;
	WH_ASSERT(rs->elle_kind != WL_ELLE_NONE);
	if (shape == NULL)
		return wl__errf(b->e, origin, rs->elle_line, rs->elle_col,
				"\\elle needs a \\shape declaration");
	bool la = strcmp(shape, "list-append") == 0;
	if (rs->elle_kind == WL_ELLE_APPEND && !la)
		return wl__errf(b->e, origin, rs->elle_line, rs->elle_col,
				"\\elle append belongs to a list-append shape; rw-register uses write");
	if (rs->elle_kind == WL_ELLE_WRITE && la)
		return wl__errf(b->e, origin, rs->elle_line, rs->elle_col,
				"\\elle write belongs to an rw-register shape; list-append uses append");
	const char *names[2] = {rs->elle_key, rs->elle_value};
	uint32_t *slots[2] = {&st->elle_key, &st->elle_value};
	for (int j = 0; j < (rs->elle_kind == WL_ELLE_READ ? 1 : 2); j++) {
		struct wl__ref ref;
		if (resolve_name(b, names[j], rs->elle_line, rs->elle_col, &ref) != 0)
			return -1;
		for (uint32_t p = 0; p < st->param_count; p++)
			if (st->params[p].kind == ref.kind && st->params[p].index == ref.index)
				*slots[j] = p + 1;
		if (*slots[j] == 0)
			return wl__errf(b->e, origin, rs->elle_line, rs->elle_col,
					"\\elle: :%s is not used by the statement above", names[j]);
	}
	st->elle_kind = rs->elle_kind;
	return 0;
}

/* Compile one template statement: its SQL with numbered parameters,
 * checked by preparing it, its \gset variables, its name ("template.label",
 * the label by position unless \name gives one) and its Elle operation.
 * *out owns st from the start, so a failure leaves nothing to free here. */
static int build_stmt(struct builder *b, const struct raw_tmpl *rt, struct wl__tmpl *t,
		      const struct raw_stmt *rs, uint32_t ordinal, struct wl__stmt **out)
{
	const char *origin = b->r->origin;
	struct wl__stmt *st = wh_calloc(1, sizeof *st);
	*out = st; /* owned by the instruction from here on */
	st->elle_kind = WL_ELLE_NONE;
	st->flags = rs->flags | rs->info.flags;
	_Static_assert(sizeof st->expect == sizeof rs->expect, "\\expect codes fit");
	st->expect_count = rs->expect_count;
	memcpy(st->expect, rs->expect, sizeof st->expect);
	bool autocommit = rt->begin_weight[HIST_BEGIN_AUTOCOMMIT] != 0;
	if (rs->info.is_checkpoint && !autocommit)
		return wl__errf(b->e, origin, rs->line, rs->col,
				"PRAGMA wal_checkpoint fails inside a transaction (SQLITE_LOCKED): give it an autocommit template");
	if (rs->info.is_savepoint && autocommit)
		return wl__errf(b->e, origin, rs->line, rs->col,
				"savepoints need a transaction: not in an autocommit template");
	if (stmt_number_params(b, rs, st) != 0 || stmt_prepare(b, rs, st) != 0)
		return -1;
	char label[WL_MAX_NAME];
	if (rs->label[0])
		snprintf(label, sizeof label, "%s", rs->label);
	else
		snprintf(label, sizeof label, "%u", ordinal);
	size_t tn = strlen(t->name) + 1 + strlen(label) + 1;
	st->tmpl = wh_malloc(tn);
	snprintf(st->tmpl, tn, "%s.%s", t->name, label);
	if (rs->elle_kind != WL_ELLE_NONE)
		return stmt_elle(b, rs, st);
	return 0;
}

static struct wl__ins *emit(struct wl__tmpl *t, enum wl__ins_kind kind)
{
	struct wl__ins *ins = &t->code[t->code_count++];
	memset(ins, 0, sizeof *ins);
	ins->kind = kind;
	return ins;
}

static int build_expr(struct builder *b, const struct raw_item *it, struct wl__node **out)
{
	return wl__expr_parse(b->r->text + it->arg_off, it->arg_len, it->line, it->arg_col,
			      b->r->origin, resolve_name, b, out, b->e);
}

/* One \if level while compiling: the IF whose target is still open, and
 * the JUMPs to the \endif, chained through their target fields until the
 * \endif patches them (classic back-patching). */
struct if_level {
	uint32_t pending_if;         /* index of the IF to patch, or NONE */
	uint32_t jump_chain;         /* last JUMP to patch, or NONE */
};

/* One template being compiled: the \if levels still open and the
 * statements compiled so far. */
struct tmpl_ctx {
	struct builder *b;
	const struct raw_tmpl *rt;
	struct wl__tmpl *t;
	bool autocommit;                         /* one statement, \set lines before it */
	struct if_level levels[WL_MAX_IF_DEPTH]; /* open \if levels, innermost last */
	uint32_t depth;                          /* entries of levels in use */
	uint32_t ordinal;                        /* statements compiled so far */
};

/* The template's name (under the unit's prefix), weights and an empty
 * code array large enough for its items. */
static void tmpl_start(struct builder *b, const struct raw_tmpl *rt, struct wl__tmpl *t)
{
	size_t n = strlen(b->u->prefix) + strlen(rt->name) + 1;
	t->name = wh_malloc(n);
	snprintf(t->name, n, "%s%s", b->u->prefix, rt->name);
	t->weight = rt->weight;
	t->unit = b->u;
	memcpy(t->begin_weight, rt->begin_weight, sizeof t->begin_weight);
	for (int k = 0; k < 4; k++)
		t->begin_total += t->begin_weight[k];
	_Static_assert(sizeof t->expect == sizeof rt->expect, "\\expect codes fit");
	t->expect_count = rt->expect_count;
	memcpy(t->expect, rt->expect, sizeof t->expect);
	/* Each \elif and \else adds one JUMP: at most twice the items. */
	t->code = wh_calloc(2 * (size_t)rt->item_count + 1, sizeof *t->code);
}

/* Item k, a statement: at most one in an autocommit template (and no
 * \gset there, nothing would run after it); its \name unique. */
static int tmpl_stmt(struct tmpl_ctx *c, uint32_t k)
{
	struct builder *b = c->b;
	const struct raw_item *it = &c->rt->items[k];
	const char *origin = b->r->origin;
	if (c->autocommit && c->ordinal > 0)
		return wl__errf(b->e, origin, it->line, it->col,
				"an autocommit template has exactly one statement: outside BEGIN each statement is a transaction of its own (give this one a template of its own, with \\persist to carry a value over, or make the template deferred to run both in one transaction)");
	if (c->autocommit && it->stmt->gset)
		return wl__errf(b->e, origin, it->stmt->gset_line, it->stmt->gset_col,
				"\\gset in an autocommit template: nothing runs after it");
	struct wl__ins *ins = emit(c->t, WL_INS_STMT);
	int rc = build_stmt(b, c->rt, c->t, it->stmt, ++c->ordinal, &ins->stmt);
	for (uint32_t j = 0; rc == 0 && j < k; j++) {
		const struct raw_item *o = &c->rt->items[j];
		if (o->kind == R_STMT && it->stmt->label[0] &&
		    strcmp(o->stmt->label, it->stmt->label) == 0)
			rc = wl__errf(b->e, origin, it->stmt->label_line, 0,
				      "statement name '%s' used twice in '%s'", it->stmt->label,
				      c->rt->name);
	}
	return rc;
}

/* \elif or \else: a JUMP to the \endif (chained until it is known) ends
 * the branch before, the open IF now jumps here, and an \elif opens its
 * own IF. */
static int tmpl_branch(struct tmpl_ctx *c, const struct raw_item *it)
{
	struct wl__tmpl *t = c->t;
	WH_ASSERT(c->depth > 0);
	struct if_level *lv = &c->levels[c->depth - 1];
	WH_ASSERT(lv->pending_if != NONE);
	uint32_t at = t->code_count;
	emit(t, WL_INS_JUMP)->target = lv->jump_chain;
	lv->jump_chain = at;
	t->code[lv->pending_if].target = t->code_count;
	lv->pending_if = NONE;
	if (it->kind != R_ELIF)
		return 0;
	lv->pending_if = t->code_count;
	struct wl__ins *ins = emit(t, WL_INS_IF);
	return build_expr(c->b, it, &ins->expr);
}

/* \endif: the open IF and every chained JUMP of the level land here. */
static void tmpl_endif(struct tmpl_ctx *c)
{
	struct wl__tmpl *t = c->t;
	WH_ASSERT(c->depth > 0);
	struct if_level *lv = &c->levels[--c->depth];
	if (lv->pending_if != NONE)
		t->code[lv->pending_if].target = t->code_count;
	for (uint32_t j = lv->jump_chain, guard = 0; j != NONE; guard++) {
		WH_ASSERT(guard < t->code_count);
		WH_ASSERT(t->code[j].kind == WL_INS_JUMP);
		uint32_t prev = t->code[j].target;
		t->code[j].target = t->code_count;
		j = prev;
	}
}

/* Compile item k of the template into code. 0 or -1. */
static int tmpl_item(struct tmpl_ctx *c, uint32_t k)
{
	struct builder *b = c->b;
	struct wl__tmpl *t = c->t;
	const struct raw_item *it = &c->rt->items[k];
	struct wl__ins *ins;
	int rc = 0;
	if (c->autocommit && it->kind != R_SET && it->kind != R_STMT)
		return wl__errf(b->e, b->r->origin, it->line, it->col,
				"an autocommit template is one statement, with \\set lines before it: no \\if, \\sleep or \\rollback");
	switch (it->kind) {
	case R_SET:
		ins = emit(t, WL_INS_SET);
		rc = build_expr(b, it, &ins->expr);
		if (rc == 0)
			rc = define_var(b, it->name, it->line, it->col, &ins->var);
		break;
	case R_STMT:
		rc = tmpl_stmt(c, k);
		break;
	case R_SLEEP:
		ins = emit(t, WL_INS_SLEEP);
		ins->unit_us = it->unit_us;
		rc = build_expr(b, it, &ins->expr);
		break;
	case R_IF:
		WH_ASSERT(c->depth < WL_MAX_IF_DEPTH);
		c->levels[c->depth].jump_chain = NONE;
		c->levels[c->depth].pending_if = t->code_count;
		ins = emit(t, WL_INS_IF);
		rc = build_expr(b, it, &ins->expr);
		c->depth++;
		break;
	case R_ELIF:
	case R_ELSE:
		rc = tmpl_branch(c, it);
		break;
	case R_ENDIF:
		tmpl_endif(c);
		break;
	case R_ROLLBACK:
		emit(t, WL_INS_ROLLBACK);
		break;
	}
	return rc;
}

static int build_tmpl(struct builder *b, uint32_t index)
{
	const struct raw_tmpl *rt = &b->r->tmpls[index];
	struct wl__tmpl *t = &b->u->tmpls[index];
	b->tmpl_index = index;
	tmpl_start(b, rt, t);
	struct tmpl_ctx c = {
		.b = b,
		.rt = rt,
		.t = t,
		.autocommit = t->begin_weight[HIST_BEGIN_AUTOCOMMIT] != 0,
	};
	for (uint32_t k = 0; k < rt->item_count; k++)
		if (tmpl_item(&c, k) != 0)
			return -1;
	WH_ASSERT_EQ(c.depth, 0);
	WH_ASSERT(t->code_count <= 2 * rt->item_count + 1);
	if (c.autocommit && (t->code_count == 0 || t->code[t->code_count - 1].kind != WL_INS_STMT))
		return wl__errf(b->e, b->r->origin, rt->line, 0,
				"an autocommit template must end with its statement");
	return 0;
}

static int load_unit(const char *name, const char *prefix, const char *origin,
		     const char *text, size_t len, const char *const *params,
		     uint32_t param_count, uint32_t depth, int sqlite_version,
		     struct wl__unit **out, struct wl__err *e);

/* Copy requirement r into owned strings (the unit it came from may be
 * freed). */
static void need_copy(struct wl__inc_need *n, const struct wl_requirement *r)
{
	n->reason = wh_strdup(r->reason ? r->reason : "");
	n->origin = wh_strdup(r->origin ? r->origin : "");
	n->needs = (struct wl_requirement){r->version, n->reason, n->origin, r->line};
}

/* Included built-ins: parameters from the \include line, then the ones
 * routed from the command line ("INCLUDE/NAME=VALUE"). An include that
 * needs more than the load's SQLite version is checked, noted in
 * inc_needs and left out. */
static int build_includes(struct builder *b, const char *const *params,
			  uint32_t param_count)
{
	struct raw *r = b->r;
	struct wl__unit *u = b->u;
	for (uint32_t k = 0; k < r->include_count; k++) {
		const struct raw_include *ri = &r->includes[k];
		if (b->depth + 1 > WL_MAX_INCLUDE_DEPTH)
			return wl__errf(b->e, r->origin, ri->line, 0, "\\include nested too deeply (a cycle?)");
		const struct wl__builtin_file *f = wl__builtin_file_find(ri->name);
		if (f == NULL)
			return wl__errf(b->e, r->origin, ri->line, 0,
					"\\include %s: no such built-in workload (see 'whopper workloads list')",
					ri->name);
		const char **sub = wh_calloc(ri->param_count + param_count + 1, sizeof *sub);
		uint32_t n = 0;
		for (uint32_t j = 0; j < ri->param_count; j++)
			sub[n++] = ri->params[j];
		size_t nl = strlen(ri->name);
		for (uint32_t j = 0; j < param_count; j++)
			if (strncmp(params[j], ri->name, nl) == 0 && params[j][nl] == '/')
				sub[n++] = params[j] + nl + 1;
		char *pfx = wh_malloc(strlen(u->prefix) + nl + 2);
		sprintf(pfx, "%s%s/", u->prefix, ri->name);
		struct wl__unit *child = NULL;
		int rc = load_unit(f->name, pfx, f->path, f->text, f->len, sub, n, b->depth + 1,
				   b->sqlite_version, &child, b->e);
		pfx[strlen(pfx) - 1] = '\0'; /* the include's name: no final '/' */
		if (rc == 0) {
			struct wl__inc_need *in = &u->inc_needs[u->inc_need_count++];
			in->name = pfx;
			pfx = NULL;
			need_copy(in, &child->needs);
			if (!wl_requirement_met(&child->needs, b->sqlite_version)) {
				wl__unit_free(child);
				child = NULL;
			}
			in->unit = child;
		}
		free(pfx);
		free(sub);
		if (rc != 0) {
			/* Say where the include came from (each level adds
			 * its own). */
			if (b->e->buf != NULL) {
				size_t used = strlen(b->e->buf);
				snprintf(b->e->buf + used, b->e->cap - used,
					 " (included from %s:%u)", r->origin, ri->line);
			}
			return -1;
		}
		if (child != NULL)
			u->includes[u->include_count++] = (struct wl__include){child, ri->weight};
	}
	WH_ASSERT(u->inc_need_count == r->include_count);
	return 0;
}

/* Parameters (with the \\persist variables' initial values): the
 * declared defaults, then the overrides. An override
 * "INCLUDE/NAME=VALUE" is routed to the include (build_includes), which
 * must exist; the others are the unit's own. 0 or -1. */
static int unit_params(struct builder *b, const char *const *params, uint32_t param_count)
{
	struct raw *r = b->r;
	struct wl__unit *u = b->u;
	u->param_names = wh_calloc(r->param_count + 1, sizeof *u->param_names);
	u->param_values = wh_calloc(r->param_count + 1, sizeof *u->param_values);
	for (uint32_t k = 0; k < r->param_count; k++) {
		u->param_names[k] = wh_strdup(r->params[k].name);
		wh_value_copy(&u->param_values[k], &r->params[k].value);
		u->param_count++;
	}
	u->persist_names = wh_calloc(r->persist_count + 1, sizeof *u->persist_names);
	u->persist_init = wh_calloc(r->persist_count + 1, sizeof *u->persist_init);
	for (uint32_t k = 0; k < r->persist_count; k++) {
		u->persist_names[k] = wh_strdup(r->persists[k].name);
		wh_value_copy(&u->persist_init[k], &r->persists[k].value);
		u->persist_count++;
	}
	for (uint32_t k = 0; k < param_count; k++) {
		const char *slash = strchr(params[k], '/');
		const char *eq = strchr(params[k], '=');
		if (slash != NULL && (eq == NULL || slash < eq)) {
			bool found = false;
			for (uint32_t j = 0; j < r->include_count; j++) {
				size_t nl = strlen(r->includes[j].name);
				found |= (size_t)(slash - params[k]) == nl &&
					 strncmp(params[k], r->includes[j].name, nl) == 0;
			}
			if (!found)
				return wl__errf(b->e, r->origin, 0, 0,
						"--param %s: this workload has no \\include of that name",
						params[k]);
			continue;
		}
		if (apply_override(b, params[k], r->origin) != 0)
			return -1;
	}
	return 0;
}

/* The pragmas, and the setup and invariants with the parameters'
 * values substituted. An auto_vacuum pragma in the setup must be
 * followed by a VACUUM there. 0 or -1. */
static int unit_sql(struct builder *b)
{
	struct raw *r = b->r;
	struct wl__unit *u = b->u;
	u->pragmas = wh_calloc(r->pragma_count + 1, sizeof *u->pragmas);
	u->pragma_lines = wh_calloc(r->pragma_count + 1, sizeof *u->pragma_lines);
	for (uint32_t k = 0; k < r->pragma_count; k++) {
		u->pragmas[k] = wh_strdup(r->pragmas[k].text);
		u->pragma_lines[k] = r->pragmas[k].line;
		u->pragma_count++;
	}
	u->setup_sql = wh_calloc(r->setup_count + 1, sizeof *u->setup_sql);
	u->setup_lines = wh_calloc(r->setup_count + 1, sizeof *u->setup_lines);
	uint32_t auto_vacuum_line = 0;
	for (uint32_t k = 0; k < r->setup_count; k++) {
		if (substitute(b, r->setup[k], &u->setup_sql[k], NULL) != 0)
			return -1;
		u->setup_lines[k] = r->setup[k]->line;
		u->setup_count++;
		if (r->setup[k]->info.sets_auto_vacuum)
			auto_vacuum_line = r->setup[k]->line;
		if (r->setup[k]->info.is_vacuum)
			auto_vacuum_line = 0;
	}
	if (auto_vacuum_line != 0)
		return wl__errf(b->e, r->origin, auto_vacuum_line, 0,
				"PRAGMA auto_vacuum takes effect on an existing (WAL) database only through VACUUM: follow it with VACUUM in the setup");
	u->invariants = wh_calloc(r->invariant_count + 1, sizeof *u->invariants);
	u->invariant_lines = wh_calloc(r->invariant_count + 1, sizeof *u->invariant_lines);
	for (uint32_t k = 0; k < r->invariant_count; k++) {
		if (substitute(b, r->invariants[k], &u->invariants[k], NULL) != 0)
			return -1;
		u->invariant_lines[k] = r->invariants[k]->line;
		u->invariant_count++;
	}
	return 0;
}

/* Setup statement k failed with rc on the scratch database: the error,
 * at the token SQLite names when it names one (FILE:LINE:COL), else at
 * the statement's line. Always -1. */
static int setup_error(struct builder *b, uint32_t k, int rc)
{
	const struct raw_stmt *rs = b->r->setup[k];
	const char *msg = scratch_errmsg(&b->sc, rc);
	char *sql = NULL;
	uint32_t *rep_len = wh_calloc(rs->tok_count + 1, sizeof *rep_len);
	/* The text that ran, again, to learn where each literal went. */
	int src = substitute(b, rs, &sql, rep_len);
	WH_ASSERT_EQ(src, 0);
	WH_ASSERT(strcmp(sql, b->u->setup_sql[k]) == 0);
	uint32_t line = rs->line, col = 0;
	char hint[64] = "";
	if (error_offset(b->sc.db) >= 0)
		stmt_error_pos(b->r, rs, sql, rep_len, b->sc.db, msg, &line, &col, hint,
			       sizeof hint);
	int ret = wl__errf(b->e, b->r->origin, line, col, "setup: %s%s", msg, hint);
	free(sql);
	free(rep_len);
	return ret;
}

/* Open the scratch database with the pragmas, run the setup on it and
 * check that every invariant holds right after. The database stays open
 * for the templates to prepare against. 0 or -1. */
static int unit_scratch_setup(struct builder *b)
{
	struct wl__unit *u = b->u;
	const char *origin = b->r->origin;
	const char **origins = wh_calloc(u->pragma_count + 1, sizeof *origins);
	for (uint32_t k = 0; k < u->pragma_count; k++)
		origins[k] = origin;
	int rc = scratch_open(&b->sc, u->pragmas, u->pragma_lines, origins, u->pragma_count,
			      b->e, origin);
	free(origins);
	if (rc != 0)
		return -1;
	for (uint32_t k = 0; k < u->setup_count; k++) {
		rc = sqlite3_exec(b->sc.db, u->setup_sql[k], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return setup_error(b, k, rc);
	}
	for (uint32_t k = 0; k < u->invariant_count; k++)
		if (scratch_invariant(&b->sc, u->invariants[k], origin, u->invariant_lines[k],
				      b->e) != 0)
			return -1;
	return 0;
}

/* Compile every template; a declared \shape needs some statement to
 * carry \elle. 0 or -1. */
static int unit_templates(struct builder *b)
{
	struct raw *r = b->r;
	struct wl__unit *u = b->u;
	u->var_names = wh_calloc(WL_MAX_VARS, sizeof *u->var_names);
	b->var_stamp = wh_calloc(WL_MAX_VARS, sizeof *b->var_stamp);
	u->tmpls = wh_calloc(r->tmpl_count + 1, sizeof *u->tmpls);
	for (uint32_t k = 0; k < r->tmpl_count; k++) {
		u->tmpl_count++;
		if (build_tmpl(b, k) != 0)
			return -1;
		u->total_weight += u->tmpls[k].weight;
	}
	if (r->shape != NULL) {
		bool any = false;
		for (uint32_t k = 0; k < u->tmpl_count; k++)
			for (uint32_t j = 0; j < u->tmpls[k].code_count; j++)
				any |= u->tmpls[k].code[j].kind == WL_INS_STMT &&
				       u->tmpls[k].code[j].stmt->elle_kind != WL_ELLE_NONE;
		if (!any)
			return wl__errf(b->e, r->origin, r->shape_line, 0,
					"\\shape %s declared but no statement carries \\elle", r->shape);
	}
	return 0;
}

/* What the unit needs to run at all (wl__unit.needs): its own
 * requirement, raised for a unit without templates to the least that any
 * include needs. From the files alone, whatever the load's version. */
static void unit_needs(struct wl__unit *u)
{
	u->needs = u->own;
	if (u->tmpl_count > 0)
		return;
	WH_ASSERT(u->inc_need_count > 0); /* parse_file: templates or includes */
	const struct wl_requirement *least = &u->inc_needs[0].needs;
	for (uint32_t k = 1; k < u->inc_need_count; k++)
		if (u->inc_needs[k].needs.version < least->version)
			least = &u->inc_needs[k].needs;
	if (least->version > u->needs.version)
		u->needs = *least;
}

static int build_unit(struct builder *b, const char *const *params, uint32_t param_count)
{
	struct raw *r = b->r;
	struct wl__unit *u = b->u;
	u->description = wh_strdup(r->description ? r->description : "(no description)");
	u->shape = r->shape ? wh_strdup(r->shape) : NULL;
	if (r->requires.version != 0) {
		u->own_reason = wh_strdup(r->requires.reason);
		u->own = (struct wl_requirement){r->requires.version, u->own_reason, u->origin,
						 r->requires.line};
	}
	if (unit_params(b, params, param_count) != 0 || unit_sql(b) != 0 ||
	    unit_scratch_setup(b) != 0 || unit_templates(b) != 0)
		return -1;
	scratch_close(&b->sc);
	u->includes = wh_calloc(r->include_count + 1, sizeof *u->includes);
	u->inc_needs = wh_calloc(r->include_count + 1, sizeof *u->inc_needs);
	if (build_includes(b, params, param_count) != 0)
		return -1;
	for (uint32_t k = 0; k < u->include_count; k++)
		u->total_weight += u->includes[k].weight;
	unit_needs(u);
	/* Something to draw unless the unit itself cannot run here (then
	 * its includer leaves it out, or the caller refuses the root). */
	WH_ASSERT(u->total_weight > 0 || !wl_requirement_met(&u->needs, b->sqlite_version));
	return 0;
}

static void unit_free_tmpl(struct wl__tmpl *t)
{
	for (uint32_t k = 0; k < t->code_count; k++) {
		struct wl__ins *ins = &t->code[k];
		wl__expr_free(ins->expr);
		if (ins->stmt != NULL) {
			free(ins->stmt->sql);
			free(ins->stmt->tmpl);
			free(ins->stmt->gset_vars);
			free(ins->stmt);
		}
	}
	free(t->code);
	free(t->name);
}

void wl__unit_free(struct wl__unit *u)
{
	if (u == NULL)
		return;
	free(u->name);
	free(u->prefix);
	free(u->origin);
	free(u->text);
	free(u->description);
	free(u->shape);
	for (uint32_t k = 0; k < u->param_count; k++) {
		free(u->param_names[k]);
		wh_value_free(&u->param_values[k]);
	}
	free(u->param_names);
	free(u->param_values);
	for (uint32_t k = 0; k < u->var_count; k++)
		free(u->var_names[k]);
	free(u->var_names);
	for (uint32_t k = 0; k < u->persist_count; k++) {
		free(u->persist_names[k]);
		wh_value_free(&u->persist_init[k]);
	}
	free(u->persist_names);
	free(u->persist_init);
	for (uint32_t k = 0; k < u->pragma_count; k++)
		free(u->pragmas[k]);
	free(u->pragmas);
	free(u->pragma_lines);
	for (uint32_t k = 0; k < u->setup_count; k++)
		free(u->setup_sql[k]);
	free(u->setup_sql);
	free(u->setup_lines);
	for (uint32_t k = 0; k < u->invariant_count; k++)
		free(u->invariants[k]);
	free(u->invariants);
	free(u->invariant_lines);
	for (uint32_t k = 0; k < u->tmpl_count; k++)
		unit_free_tmpl(&u->tmpls[k]);
	free(u->tmpls);
	for (uint32_t k = 0; k < u->include_count; k++)
		wl__unit_free(u->includes[k].unit);
	free(u->includes);
	for (uint32_t k = 0; k < u->inc_need_count; k++) {
		free(u->inc_needs[k].name);
		free(u->inc_needs[k].reason);
		free(u->inc_needs[k].origin);
	}
	free(u->inc_needs);
	free(u->own_reason);
	free(u);
}

static int load_unit(const char *name, const char *prefix, const char *origin,
		     const char *text, size_t len, const char *const *params,
		     uint32_t param_count, uint32_t depth, int sqlite_version,
		     struct wl__unit **out, struct wl__err *e)
{
	if (len > WL_MAX_FILE_BYTES)
		return wl__errf(e, origin, 0, 0, "file too large (at most %u bytes)",
				WL_MAX_FILE_BYTES);
	struct wl__unit *u = wh_calloc(1, sizeof *u);
	u->name = wh_strdup(name);
	u->prefix = wh_strdup(prefix);
	u->origin = wh_strdup(origin);
	u->text = xstrndup(text, len);
	u->text_len = len;
	struct raw r;
	memset(&r, 0, sizeof r);
	r.origin = u->origin;
	r.text = u->text;
	r.len = len;
	struct builder b;
	memset(&b, 0, sizeof b);
	b.r = &r;
	b.u = u;
	b.e = e;
	b.depth = depth;
	b.sqlite_version = sqlite_version;
	int rc = parse_file(&r, e);
	if (rc == 0)
		rc = build_unit(&b, params, param_count);
	scratch_close(&b.sc);
	free(b.var_stamp);
	raw_free(&r);
	if (rc != 0) {
		WH_ASSERT(e->set);
		wl__unit_free(u);
		return -1;
	}
	*out = u;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Composition: the program                                            */
/* ------------------------------------------------------------------ */

struct compose {
	struct wl__prog *p;
	struct wl__err *e;
	/* flattened, pointers into units */
	const char **setup;
	const char **setup_origin;
	uint32_t *setup_line;
	uint32_t setup_count, setup_cap;
	const char **inv_origin;
	uint32_t *inv_line;
	uint32_t inv_count, inv_cap;
	const char **pragma_origin;
	uint32_t *pragma_line;
	uint32_t pragma_count, pragma_cap;
	uint32_t param_cap, elle_cap, expect_cap;
	uint32_t need_cap;
	uint64_t hash;
	uint32_t unit_count;
};

static void hash_bytes(uint64_t *h, const char *s, size_t n)
{
	*h = wh_fnv1a_byte(wh_fnv1a(*h, s, n), 0xff); /* then a separator */
}

/* The unit's pragmas into the program: one value per name across units;
 * the same pragma twice is fine, two values are a conflict. 0 or -1. */
static int compose_pragmas(struct compose *c, const struct wl__unit *u)
{
	struct wl__prog *p = c->p;
	for (uint32_t k = 0; k < u->pragma_count; k++) {
		const char *pr = u->pragmas[k];
		size_t nl = (size_t)(strchr(pr, '=') - pr);
		bool dup = false;
		for (uint32_t j = 0; j < c->pragma_count; j++) {
			const char *o = p->pragmas[j];
			if (strncmp(o, pr, nl) != 0 || o[nl] != '=')
				continue;
			if (strcasecmp(o, pr) != 0)
				return wl__errf(c->e, u->origin, u->pragma_lines[k], 0,
						"\\pragma %s conflicts with %s from %s:%u", pr, o,
						c->pragma_origin[j], c->pragma_line[j]);
			dup = true;
		}
		if (dup)
			continue;
		if (c->pragma_count == c->pragma_cap) {
			c->pragma_cap = c->pragma_cap ? c->pragma_cap * 2 : 8;
			p->pragmas = wh_realloc(p->pragmas, c->pragma_cap * sizeof *p->pragmas);
			c->pragma_origin = wh_realloc(c->pragma_origin,
						      c->pragma_cap * sizeof *c->pragma_origin);
			c->pragma_line = wh_realloc(c->pragma_line,
						    c->pragma_cap * sizeof *c->pragma_line);
		}
		p->pragmas[c->pragma_count] = u->pragmas[k];
		c->pragma_origin[c->pragma_count] = u->origin;
		c->pragma_line[c->pragma_count] = u->pragma_lines[k];
		c->pragma_count++;
	}
	return 0;
}

/* The unit's setup statements and invariants, appended with where each
 * came from (for compose_check's messages). */
static void compose_sql(struct compose *c, const struct wl__unit *u)
{
	struct wl__prog *p = c->p;
	for (uint32_t k = 0; k < u->setup_count; k++) {
		if (c->setup_count == c->setup_cap) {
			c->setup_cap = c->setup_cap ? c->setup_cap * 2 : 16;
			c->setup = wh_realloc(c->setup, c->setup_cap * sizeof *c->setup);
			c->setup_origin = wh_realloc(c->setup_origin,
						     c->setup_cap * sizeof *c->setup_origin);
			c->setup_line = wh_realloc(c->setup_line, c->setup_cap * sizeof *c->setup_line);
		}
		c->setup[c->setup_count] = u->setup_sql[k];
		c->setup_origin[c->setup_count] = u->origin;
		c->setup_line[c->setup_count] = u->setup_lines[k];
		c->setup_count++;
	}
	for (uint32_t k = 0; k < u->invariant_count; k++) {
		if (c->inv_count == c->inv_cap) {
			c->inv_cap = c->inv_cap ? c->inv_cap * 2 : 16;
			p->invariants = wh_realloc(p->invariants, c->inv_cap * sizeof *p->invariants);
			c->inv_origin = wh_realloc(c->inv_origin, c->inv_cap * sizeof *c->inv_origin);
			c->inv_line = wh_realloc(c->inv_line, c->inv_cap * sizeof *c->inv_line);
		}
		p->invariants[c->inv_count] = u->invariants[k];
		c->inv_origin[c->inv_count] = u->origin;
		c->inv_line[c->inv_count] = u->invariant_lines[k];
		c->inv_count++;
	}
}

/* The parameters in effect as "PREFIX/NAME=VALUE", for `workloads show`
 * and repro lines. */
static void compose_params(struct compose *c, const struct wl__unit *u)
{
	struct wl__prog *p = c->p;
	for (uint32_t k = 0; k < u->param_count; k++) {
		if (p->pub.param_count == c->param_cap) {
			c->param_cap = c->param_cap ? c->param_cap * 2 : 8;
			p->params = wh_realloc(p->params, c->param_cap * sizeof *p->params);
		}
		char val[128];
		const struct wh_value *v = &u->param_values[k];
		if (v->type == SQLITE_INTEGER)
			snprintf(val, sizeof val, "%lld", (long long)v->i);
		else if (v->type == SQLITE_FLOAT)
			snprintf(val, sizeof val, "%.17g", v->f);
		else
			snprintf(val, sizeof val, "%s", (const char *)v->p);
		size_t n = strlen(u->prefix) + strlen(u->param_names[k]) + strlen(val) + 2;
		char *s = wh_malloc(n);
		snprintf(s, n, "%s%s=%s", u->prefix, u->param_names[k], val);
		p->params[p->pub.param_count++] = s;
	}
}

/* The Elle map: each statement carrying \elle, by template name. */
static void compose_elle(struct compose *c, const struct wl__unit *u)
{
	struct wl__prog *p = c->p;
	for (uint32_t k = 0; k < u->tmpl_count; k++) {
		const struct wl__tmpl *t = &u->tmpls[k];
		for (uint32_t j = 0; j < t->code_count; j++) {
			const struct wl__stmt *st = t->code[j].stmt;
			if (t->code[j].kind != WL_INS_STMT || st->elle_kind == WL_ELLE_NONE)
				continue;
			if (p->elle_count == c->elle_cap) {
				c->elle_cap = c->elle_cap ? c->elle_cap * 2 : 8;
				p->elle_ops = wh_realloc(p->elle_ops, c->elle_cap * sizeof *p->elle_ops);
			}
			p->elle_ops[p->elle_count++] = (struct wl_elle_op){
				st->tmpl, (enum wl_elle_kind)st->elle_kind, st->elle_key,
				st->elle_value};
		}
	}
}

static void expect_push(struct compose *c, const char *name, bool whole, const int *codes,
			uint32_t count)
{
	struct wl__prog *p = c->p;
	WH_ASSERT(count > 0 && count <= WL_MAX_EXPECT);
	if (p->expect_count == c->expect_cap) {
		c->expect_cap = c->expect_cap ? c->expect_cap * 2 : 8;
		p->expects = wh_realloc(p->expects, c->expect_cap * sizeof *p->expects);
	}
	p->expects[p->expect_count++] = (struct wl_expect){name, whole, codes, count};
}

/* The \expect declarations: each template's own, then its statements',
 * by the names the history records. */
static void compose_expect(struct compose *c, const struct wl__unit *u)
{
	for (uint32_t k = 0; k < u->tmpl_count; k++) {
		const struct wl__tmpl *t = &u->tmpls[k];
		if (t->expect_count > 0)
			expect_push(c, t->name, true, t->expect, t->expect_count);
		for (uint32_t j = 0; j < t->code_count; j++) {
			const struct wl__stmt *st = t->code[j].stmt;
			if (t->code[j].kind == WL_INS_STMT && st->expect_count > 0)
				expect_push(c, st->tmpl, false, st->expect, st->expect_count);
		}
	}
}

/* The includes with a requirement, in include order and depth first:
 * a kept include's own includes follow it, a left-out one's are gone
 * with it. */
static void compose_needs(struct compose *c, const struct wl__unit *u)
{
	struct wl__prog *p = c->p;
	for (uint32_t k = 0; k < u->inc_need_count; k++) {
		const struct wl__inc_need *in = &u->inc_needs[k];
		if (in->needs.version != 0) {
			if (p->pub.include_need_count == c->need_cap) {
				c->need_cap = c->need_cap ? c->need_cap * 2 : 8;
				p->include_needs = wh_realloc(p->include_needs,
							      c->need_cap * sizeof *p->include_needs);
			}
			p->include_needs[p->pub.include_need_count++] =
				(struct wl_include_need){in->name, in->needs, in->unit == NULL};
			p->pub.left_out_count += in->unit == NULL;
		}
		if (in->unit != NULL)
			compose_needs(c, in->unit);
	}
}

/* Fold a unit into the program, its includes first (depth first, in
 * order): content hash, variables, pragmas, setup, invariants,
 * parameters and the Elle map. 0 or -1. */
static int compose_unit(struct compose *c, struct wl__unit *u)
{
	struct wl__prog *p = c->p;
	c->unit_count++;
	hash_bytes(&c->hash, u->text, u->text_len);
	if (u->var_count > p->max_vars)
		p->max_vars = u->var_count;
	/* The units' \\persist variables share one array per connection. */
	u->persist_base = p->persist_count;
	p->persist_count += u->persist_count;
	for (uint32_t k = 0; k < u->include_count; k++)
		if (compose_unit(c, u->includes[k].unit) != 0)
			return -1;
	if (compose_pragmas(c, u) != 0)
		return -1;
	compose_sql(c, u);
	compose_params(c, u);
	compose_elle(c, u);
	compose_expect(c, u);
	return 0;
}

/* With includes, the composed setup and invariants run once more on one
 * scratch database: units must not collide. */
static int compose_check(struct compose *c)
{
	struct wl__prog *p = c->p;
	struct scratch sc;
	if (scratch_open(&sc, p->pragmas, c->pragma_line, c->pragma_origin, c->pragma_count,
			 c->e, p->root->origin) != 0)
		return -1;
	int rc = 0;
	for (uint32_t k = 0; k < c->setup_count && rc == 0; k++) {
		int src = sqlite3_exec(sc.db, c->setup[k], NULL, NULL, NULL);
		if (src != SQLITE_OK)
			rc = wl__errf(c->e, c->setup_origin[k], c->setup_line[k], 0,
				      "setup, composed into %s: %s", p->root->origin,
				      scratch_errmsg(&sc, src));
	}
	for (uint32_t k = 0; k < c->inv_count && rc == 0; k++)
		rc = scratch_invariant(&sc, p->invariants[k], c->inv_origin[k], c->inv_line[k],
				       c->e);
	scratch_close(&sc);
	return rc;
}

void wl__prog_free(struct wl__prog *p)
{
	if (p == NULL)
		return;
	wl__unit_free(p->root);
	free(p->setup_sql);
	free(p->invariants);
	free(p->pragmas);
	for (uint32_t k = 0; k < p->pub.param_count; k++)
		free(p->params[k]);
	free(p->params);
	free(p->elle_ops);
	free(p->expects);
	free(p->include_needs);
	free(p);
}

int wl__load(const char *name, const char *origin, const char *text, size_t len,
	     const char *const *params, uint32_t param_count, int sqlite_version,
	     struct wl__prog **out, struct wl__err *e)
{
	struct wl__unit *root = NULL;
	if (load_unit(name, "", origin, text, len, params, param_count, 0, sqlite_version,
		      &root, e) != 0)
		return -1;
	struct wl__prog *p = wh_calloc(1, sizeof *p);
	p->root = root;
	struct compose c;
	memset(&c, 0, sizeof c);
	c.p = p;
	c.e = e;
	c.hash = WH_FNV1A_BASIS_V0;
	int rc = compose_unit(&c, root);
	compose_needs(&c, root);
	if (rc == 0 && root->include_count > 0)
		rc = compose_check(&c);
	if (rc == 0) {
		size_t n = 1;
		for (uint32_t k = 0; k < c.setup_count; k++)
			n += strlen(c.setup[k]) + 2;
		p->setup_sql = wh_malloc(n);
		size_t at = 0;
		for (uint32_t k = 0; k < c.setup_count; k++)
			at += (size_t)sprintf(p->setup_sql + at, "%s;\n", c.setup[k]);
		p->setup_sql[at] = '\0';
		p->pub.name = root->name;
		p->pub.description = root->description;
		p->pub.setup_sql = p->setup_sql;
		p->pub.invariants = (const char *const *)p->invariants;
		p->pub.invariant_count = c.inv_count;
		p->pub.pragmas = (const char *const *)p->pragmas;
		p->pub.pragma_count = c.pragma_count;
		p->pub.ops = &wl__interp_ops;
		p->pub.impl = p;
		p->pub.shape = root->shape;
		p->pub.elle_ops = p->elle_ops;
		p->pub.elle_op_count = p->elle_count;
		p->pub.content_hash = c.hash;
		p->pub.source = root->text;
		p->pub.origin = root->origin;
		p->pub.params = (const char *const *)p->params;
		p->pub.requires = root->needs;
		p->pub.composed_for = sqlite_version;
		p->pub.include_needs = p->include_needs;
		p->pub.expects = p->expects;
		p->pub.expect_count = p->expect_count;
	}
	free(c.setup);
	free(c.setup_origin);
	free(c.setup_line);
	free(c.inv_origin);
	free(c.inv_line);
	free(c.pragma_origin);
	free(c.pragma_line);
	if (rc != 0) {
		wl__prog_free(p);
		return -1;
	}
	*out = p;
	return 0;
}
