/*
 * expr.c - the expression language of \set, \if and \sleep, and the
 * seeded generators behind it.
 *
 * Grammar (loosest binding first), close to pgbench's:
 *   expr    := and (OR and)*
 *   and     := not (AND not)*
 *   not     := NOT not | cmp
 *   cmp     := add [(= | == | <> | != | < | <= | > | >=) add]
 *            | add IS [NOT] NULL
 *   add     := mul ((+ | -) mul)*
 *   mul     := concat ((* | / | %) concat)*
 *   concat  := unary (|| unary)*
 *   unary   := (- | +) unary | primary
 *   primary := INTEGER | DOUBLE | 'text' | NULL | TRUE | FALSE | :name
 *            | FUNCTION '(' [expr (',' expr)*] ')' | '(' expr ')'
 * A "--" starts a comment that runs to the end of the line.
 *
 * Values are SQLite's (struct wh_value). Evaluation never fails: like SQL,
 * anything impossible (NULL operand, division by zero, overflow, an empty
 * random() range, a text where a number is needed) gives NULL, and NULL is
 * false in \if. Constant arguments that make a generator impossible are
 * rejected when the file loads instead, with their line and column.
 *
 * Generators (all draw only from the connection's stream, env->rng):
 *   random(lo, hi)                uniform integer in [lo, hi];
 *   random_exponential(lo, hi, p) P(x) proportional to exp(-p (x-lo)/n),
 *                                 n = hi-lo+1, p > 0: invert the truncated
 *                                 exponential CDF on one uniform draw;
 *   random_gaussian(lo, hi, p)    a normal deviate z (Box-Muller), redrawn
 *                                 until |z| < p, mapped linearly from
 *                                 [-p, p) onto [lo, hi]; p >= 2;
 *   random_zipfian(lo, hi, s)     P(k) proportional to 1/k^s for rank
 *                                 k = x-lo+1, 1.001 <= s <= 1000: Devroye's
 *                                 rejection method for the Zipf law
 *                                 (Non-Uniform Random Variate Generation,
 *                                 X.6.1), ranks past n rejected;
 *   unique()                      conn_id + 1 + k * WL_UNIQUE_STRIDE for the
 *                                 connection's k-th call: distinct across
 *                                 the run and independent of the order in
 *                                 which connections draw;
 *   random_text(n), random_blob(n)  n random characters (a-z, 2-7) / bytes;
 *   choose(a, b, ...)             one argument, uniformly; only it is
 *                                 evaluated.
 * The same semantics as pgbench for the first four (parameter ranges
 * included), written from their documented definitions. Rejection loops
 * are bounded by WL_GEN_MAX_TRIES; the probability of reaching the bound
 * with valid parameters is below 2^-1000, and then the low bound is drawn.
 *
 * Recursion depth is bounded at parse time (WL_MAX_EXPR_DEPTH), so
 * evaluation recursion is bounded too.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl_int.h"

/* ------------------------------------------------------------------ */
/* Trees                                                               */
/* ------------------------------------------------------------------ */

enum node_op {
	N_CONST,
	N_REF,
	N_NEG,
	N_NOT,
	N_ISNULL,
	N_NOTNULL,
	N_ADD,
	N_SUB,
	N_MUL,
	N_DIV,
	N_MOD,
	N_CONCAT,
	N_EQ,
	N_NE,
	N_LT,
	N_LE,
	N_GT,
	N_GE,
	N_AND,
	N_OR,
	N_CALL,
};

enum fn_id {
	F_RANDOM,
	F_EXPONENTIAL,
	F_GAUSSIAN,
	F_ZIPFIAN,
	F_UNIQUE,
	F_TEXT,
	F_BLOB,
	F_CHOOSE,
	F_ABS,
	F_LEAST,
	F_GREATEST,
	F_INT,
	F_DOUBLE,
};

struct fn_def {
	const char *name;
	enum fn_id id;
	uint32_t min_args;
	uint32_t max_args;
};

static const struct fn_def fn_defs[] = {
	{"random", F_RANDOM, 2, 2},
	{"random_exponential", F_EXPONENTIAL, 3, 3},
	{"random_gaussian", F_GAUSSIAN, 3, 3},
	{"random_zipfian", F_ZIPFIAN, 3, 3},
	{"unique", F_UNIQUE, 0, 0},
	{"random_text", F_TEXT, 1, 1},
	{"random_blob", F_BLOB, 1, 1},
	{"choose", F_CHOOSE, 1, WL_MAX_CALL_ARGS},
	{"abs", F_ABS, 1, 1},
	{"least", F_LEAST, 1, WL_MAX_CALL_ARGS},
	{"greatest", F_GREATEST, 1, WL_MAX_CALL_ARGS},
	{"int", F_INT, 1, 1},
	{"double", F_DOUBLE, 1, 1},
};

struct wl__node {
	enum node_op op;
	enum fn_id fn;               /* N_CALL */
	struct wh_value k;           /* N_CONST (owned) */
	struct wl__ref ref;          /* N_REF */
	struct wl__node *a, *b;      /* operands */
	struct wl__node **args;      /* N_CALL */
	uint32_t argc;
};

static struct wl__node *node_new(enum node_op op)
{
	struct wl__node *n = wh_calloc(1, sizeof *n);
	n->op = op;
	n->k.type = SQLITE_NULL;
	return n;
}

void wl__expr_free(struct wl__node *n)
{
	if (n == NULL)
		return;
	wl__expr_free(n->a);
	wl__expr_free(n->b);
	for (uint32_t k = 0; k < n->argc; k++)
		wl__expr_free(n->args[k]);
	free(n->args);
	wh_value_free(&n->k);
	free(n);
}

/* ------------------------------------------------------------------ */
/* Parser                                                              */
/* ------------------------------------------------------------------ */

enum etok {
	ET_END,
	ET_INT,
	ET_DOUBLE,
	ET_STRING,
	ET_VAR,
	ET_WORD,
	ET_OP,        /* one or two characters in text */
	ET_LPAREN,
	ET_RPAREN,
	ET_COMMA,
};

struct parser {
	const char *src;
	size_t len;
	size_t pos;
	uint32_t line;
	uint32_t col0;               /* column of src[0] */
	const char *origin;
	wl__resolve_fn resolve;
	void *rctx;
	struct wl__err *e;
	uint32_t depth;
	/* the current token */
	enum etok tok;
	size_t tok_off;
	size_t tok_len;
	int64_t tok_int;
	double tok_double;
};

static uint32_t tok_col(const struct parser *p)
{
	return p->col0 + (uint32_t)p->tok_off;
}

static int perr(struct parser *p, const char *fmt, const char *arg)
{
	char msg[256];
	snprintf(msg, sizeof msg, fmt, arg ? arg : "");
	return wl__errf(p->e, p->origin, p->line, tok_col(p), "%s", msg);
}

static bool op_is(const struct parser *p, const char *op)
{
	return p->tok == ET_OP && p->tok_len == strlen(op) &&
	       memcmp(p->src + p->tok_off, op, p->tok_len) == 0;
}

static bool word_is(const struct parser *p, const char *w)
{
	return p->tok == ET_WORD && p->tok_len == strlen(w) &&
	       strncasecmp(p->src + p->tok_off, w, p->tok_len) == 0;
}

/* A number at p->pos: digits, an optional fraction and exponent; an
 * integer unless either is there. */
static int lex_number(struct parser *p)
{
	const char *s = p->src;
	size_t end = p->pos;
	bool dbl = false;
	while (end < p->len && isdigit((unsigned char)s[end]))
		end++;
	if (end < p->len && s[end] == '.') {
		dbl = true;
		end++;
		while (end < p->len && isdigit((unsigned char)s[end]))
			end++;
	}
	if (end < p->len && (s[end] == 'e' || s[end] == 'E')) {
		size_t e2 = end + 1;
		if (e2 < p->len && (s[e2] == '+' || s[e2] == '-'))
			e2++;
		if (e2 < p->len && isdigit((unsigned char)s[e2])) {
			dbl = true;
			end = e2;
			while (end < p->len && isdigit((unsigned char)s[end]))
				end++;
		}
	}
	char buf[64];
	size_t n = end - p->pos;
	p->tok_len = n;
	if (n >= sizeof buf)
		return perr(p, "number too long", NULL);
	memcpy(buf, s + p->pos, n);
	buf[n] = '\0';
	p->pos = end;
	if (dbl) {
		p->tok = ET_DOUBLE;
		p->tok_double = strtod(buf, NULL);
		if (!isfinite(p->tok_double))
			return perr(p, "number out of range", NULL);
		return 0;
	}
	p->tok = ET_INT;
	errno = 0;
	unsigned long long v = strtoull(buf, NULL, 10);
	/* 9223372036854775808 only makes sense negated: keep it as
	 * INT64_MIN for parse_unary to fold, and let parse_primary reject
	 * it alone. */
	if (errno == ERANGE || v > (unsigned long long)INT64_MAX + 1)
		return perr(p, "integer out of range", NULL);
	p->tok_int = v > (unsigned long long)INT64_MAX ? INT64_MIN : (int64_t)v;
	return 0;
}

/* A 'text' literal at p->pos ('' inside stands for one quote). */
static int lex_string(struct parser *p)
{
	const char *s = p->src;
	size_t k = p->pos + 1;
	for (;;) {
		if (k >= p->len) {
			p->tok_len = 1;
			return perr(p, "unterminated string", NULL);
		}
		if (s[k] == '\'') {
			if (k + 1 < p->len && s[k + 1] == '\'') {
				k += 2;
				continue;
			}
			break;
		}
		k++;
	}
	p->tok = ET_STRING;
	p->tok_len = k + 1 - p->pos;
	p->pos = k + 1;
	return 0;
}

/* A name at p->pos + skip (letters, digits, _): a :variable (skip 1) or
 * a word (skip 0). */
static int lex_name(struct parser *p, enum etok kind, size_t skip)
{
	const char *s = p->src;
	size_t k = p->pos + skip;
	while (k < p->len && (isalnum((unsigned char)s[k]) || s[k] == '_'))
		k++;
	p->tok = kind;
	p->tok_len = k - p->pos;
	p->pos = k;
	return 0;
}

/* Punctuation c (already consumed): parentheses, comma, one-character
 * operators, and those that may take a second character (== <= <> >=
 * != ||; ! and | alone are errors). */
static int lex_punct(struct parser *p, unsigned char c)
{
	const char *s = p->src;
	switch (c) {
	case '(':
		p->tok = ET_LPAREN;
		return 0;
	case ')':
		p->tok = ET_RPAREN;
		return 0;
	case ',':
		p->tok = ET_COMMA;
		return 0;
	case '+':
	case '-':
	case '*':
	case '/':
	case '%':
		p->tok = ET_OP;
		return 0;
	case '=':
	case '<':
	case '>':
	case '!':
	case '|':
		p->tok = ET_OP;
		if (p->pos < p->len) {
			char d = s[p->pos];
			if ((c == '=' && d == '=') || (c == '<' && (d == '=' || d == '>')) ||
			    (c == '>' && d == '=') || (c == '!' && d == '=') ||
			    (c == '|' && d == '|')) {
				p->pos++;
				p->tok_len = 2;
			}
		}
		if ((c == '!' || c == '|') && p->tok_len == 1)
			break;
		return 0;
	default:
		break;
	}
	char what[2] = {(char)c, 0};
	return perr(p, "unexpected character '%s'", isprint(c) ? what : "?");
}

/* The next token into p->tok (ET_END at the end or at a "--" comment).
 * 0, or -1 with the error set. */
static int next(struct parser *p)
{
	const char *s = p->src;
	while (p->pos < p->len && (s[p->pos] == ' ' || s[p->pos] == '\t' ||
				   s[p->pos] == '\r'))
		p->pos++;
	if (p->pos + 1 < p->len && s[p->pos] == '-' && s[p->pos + 1] == '-')
		p->pos = p->len;
	p->tok_off = p->pos;
	if (p->pos >= p->len) {
		p->tok = ET_END;
		p->tok_len = 0;
		return 0;
	}
	unsigned char c = (unsigned char)s[p->pos];
	if (isdigit(c) || (c == '.' && p->pos + 1 < p->len &&
			   isdigit((unsigned char)s[p->pos + 1])))
		return lex_number(p);
	if (c == '\'')
		return lex_string(p);
	if (c == ':' && p->pos + 1 < p->len &&
	    (isalpha((unsigned char)s[p->pos + 1]) || s[p->pos + 1] == '_'))
		return lex_name(p, ET_VAR, 1);
	if (isalpha(c) || c == '_')
		return lex_name(p, ET_WORD, 0);
	p->tok_len = 1;
	p->pos++;
	return lex_punct(p, c);
}

static int parse_expr(struct parser *p, struct wl__node **out);

static int enter(struct parser *p)
{
	if (++p->depth > WL_MAX_EXPR_DEPTH)
		return perr(p, "expression nested too deeply", NULL);
	return 0;
}

static bool is_const_int(const struct wl__node *n)
{
	return n->op == N_CONST && n->k.type == SQLITE_INTEGER;
}

static bool is_const_num(const struct wl__node *n, double *v)
{
	if (n->op != N_CONST)
		return false;
	if (n->k.type == SQLITE_INTEGER)
		*v = (double)n->k.i;
	else if (n->k.type == SQLITE_FLOAT)
		*v = n->k.f;
	else
		return false;
	return true;
}

/* Reject generator calls whose constant arguments can never work. */
static int check_call(struct parser *p, const struct wl__node *n, uint32_t line,
		      uint32_t col)
{
	const char *origin = p->origin;
	if (n->fn == F_RANDOM || n->fn == F_EXPONENTIAL || n->fn == F_GAUSSIAN ||
	    n->fn == F_ZIPFIAN) {
		for (uint32_t k = 0; k < 2; k++)
			if (n->args[k]->op == N_CONST && !is_const_int(n->args[k]))
				return wl__errf(p->e, origin, line, col,
						"random bounds must be integers");
		if (is_const_int(n->args[0]) && is_const_int(n->args[1]) &&
		    n->args[0]->k.i > n->args[1]->k.i)
			return wl__errf(p->e, origin, line, col,
					"empty range: lower bound %lld is above upper bound %lld",
					(long long)n->args[0]->k.i, (long long)n->args[1]->k.i);
		double v;
		if (n->argc == 3 && n->args[2]->op == N_CONST && !is_const_num(n->args[2], &v))
			return wl__errf(p->e, origin, line, col,
					"the distribution parameter must be a number");
		if (n->argc == 3 && is_const_num(n->args[2], &v)) {
			if (n->fn == F_EXPONENTIAL && !(v > 0.0))
				return wl__errf(p->e, origin, line, col,
						"random_exponential: parameter must be greater than 0 (got %g)",
						v);
			if (n->fn == F_GAUSSIAN && !(v >= WL_GAUSSIAN_MIN_PARAM))
				return wl__errf(p->e, origin, line, col,
						"random_gaussian: parameter must be at least %.1f (got %g)",
						WL_GAUSSIAN_MIN_PARAM, v);
			if (n->fn == F_ZIPFIAN &&
			    !(v >= WL_ZIPFIAN_MIN_PARAM && v <= WL_ZIPFIAN_MAX_PARAM))
				return wl__errf(p->e, origin, line, col,
						"random_zipfian: parameter must be in [%.3f, %.0f] (got %g)",
						WL_ZIPFIAN_MIN_PARAM, WL_ZIPFIAN_MAX_PARAM, v);
		}
	}
	if ((n->fn == F_TEXT || n->fn == F_BLOB) && n->args[0]->op == N_CONST) {
		if (!is_const_int(n->args[0]) || n->args[0]->k.i < 0 ||
		    n->args[0]->k.i > (int64_t)WL_MAX_VALUE_BYTES)
			return wl__errf(p->e, origin, line, col,
					"size must be an integer from 0 to %u", WL_MAX_VALUE_BYTES);
	}
	return 0;
}

static int parse_call(struct parser *p, struct wl__node **out)
{
	uint32_t line = p->line, col = tok_col(p);
	char name[WL_MAX_NAME];
	if (p->tok_len >= sizeof name)
		return perr(p, "unknown function", NULL);
	memcpy(name, p->src + p->tok_off, p->tok_len);
	name[p->tok_len] = '\0';
	const struct fn_def *def = NULL;
	for (size_t k = 0; k < sizeof fn_defs / sizeof fn_defs[0]; k++)
		if (strcasecmp(fn_defs[k].name, name) == 0)
			def = &fn_defs[k];
	if (def == NULL) {
		struct wl__suggest sg;
		wl__suggest_init(&sg, name, strlen(name));
		for (size_t k = 0; k < sizeof fn_defs / sizeof fn_defs[0]; k++)
			wl__suggest_try(&sg, fn_defs[k].name);
		char hint[WL_MAX_NAME + 32];
		return wl__errf(p->e, p->origin, p->line, col, "unknown function '%s'%s", name,
				wl__suggest_text(&sg, "", hint, sizeof hint));
	}
	if (next(p) != 0)
		return -1;
	if (p->tok != ET_LPAREN)
		return perr(p, "expected '(' after %s", def->name);
	if (next(p) != 0)
		return -1;
	struct wl__node *n = node_new(N_CALL);
	n->fn = def->id;
	n->args = wh_calloc(WL_MAX_CALL_ARGS, sizeof *n->args);
	*out = n; /* freed by the caller on error */
	if (p->tok != ET_RPAREN) {
		for (;;) {
			if (n->argc == WL_MAX_CALL_ARGS)
				return perr(p, "too many arguments", NULL);
			if (parse_expr(p, &n->args[n->argc]) != 0) {
				n->argc++; /* free what was built */
				return -1;
			}
			n->argc++;
			if (p->tok == ET_COMMA) {
				if (next(p) != 0)
					return -1;
				continue;
			}
			break;
		}
		if (p->tok != ET_RPAREN)
			return perr(p, "expected ',' or ')' in the arguments of %s", def->name);
	}
	if (n->argc < def->min_args || n->argc > def->max_args) {
		if (def->min_args == def->max_args)
			return wl__errf(p->e, p->origin, line, col,
					"%s takes %u argument%s, got %u", def->name,
					def->min_args, def->min_args == 1 ? "" : "s", n->argc);
		return wl__errf(p->e, p->origin, line, col,
				"%s takes %u to %u arguments, got %u", def->name,
				def->min_args, def->max_args, n->argc);
	}
	if (check_call(p, n, line, col) != 0)
		return -1;
	return next(p);
}

static int parse_primary(struct parser *p, struct wl__node **out)
{
	switch (p->tok) {
	case ET_INT:
		*out = node_new(N_CONST);
		(*out)->k.type = SQLITE_INTEGER;
		(*out)->k.i = p->tok_int;
		if (p->tok_int == INT64_MIN)
			return perr(p, "integer out of range", NULL);
		return next(p);
	case ET_DOUBLE:
		*out = node_new(N_CONST);
		(*out)->k.type = SQLITE_FLOAT;
		(*out)->k.f = p->tok_double;
		return next(p);
	case ET_STRING: {
		*out = node_new(N_CONST);
		struct wh_value *v = &(*out)->k;
		v->type = SQLITE_TEXT;
		v->p = wh_malloc(p->tok_len);
		uint32_t n = 0;
		for (size_t k = p->tok_off + 1; k + 1 < p->tok_off + p->tok_len; k++) {
			v->p[n++] = (unsigned char)p->src[k];
			if (p->src[k] == '\'')
				k++; /* '' is one quote */
		}
		v->p[n] = '\0';
		v->n = n;
		return next(p);
	}
	case ET_VAR: {
		char name[WL_MAX_NAME];
		if (p->tok_len - 1 >= sizeof name)
			return perr(p, "variable name too long", NULL);
		memcpy(name, p->src + p->tok_off + 1, p->tok_len - 1);
		name[p->tok_len - 1] = '\0';
		*out = node_new(N_REF);
		if (p->resolve(p->rctx, name, p->line, tok_col(p), &(*out)->ref) != 0)
			return -1;
		return next(p);
	}
	case ET_WORD:
		if (word_is(p, "null") || word_is(p, "true") || word_is(p, "false")) {
			*out = node_new(N_CONST);
			if (!word_is(p, "null")) {
				(*out)->k.type = SQLITE_INTEGER;
				(*out)->k.i = word_is(p, "true");
			}
			return next(p);
		}
		return parse_call(p, out);
	case ET_LPAREN:
		if (next(p) != 0 || parse_expr(p, out) != 0)
			return -1;
		if (p->tok != ET_RPAREN)
			return perr(p, "expected ')'", NULL);
		return next(p);
	case ET_END:
		return perr(p, "expression ends too early", NULL);
	default:
		return perr(p, "expected a value, a :variable or a function", NULL);
	}
}

static int parse_unary(struct parser *p, struct wl__node **out)
{
	if (enter(p) != 0)
		return -1;
	int rc;
	if (op_is(p, "-") || op_is(p, "+")) {
		bool neg = op_is(p, "-");
		rc = next(p);
		if (rc == 0 && neg && p->tok == ET_INT && p->tok_int == INT64_MIN) {
			/* the one literal whose magnitude does not fit */
			*out = node_new(N_CONST);
			(*out)->k.type = SQLITE_INTEGER;
			(*out)->k.i = INT64_MIN;
			rc = next(p);
		} else if (rc == 0) {
			struct wl__node *a = NULL;
			rc = parse_unary(p, &a);
			bool is_const = rc == 0 && a->op == N_CONST;
			if (!neg) {
				*out = a;
			} else if (is_const && a->k.type == SQLITE_INTEGER &&
				   a->k.i != INT64_MIN) {
				a->k.i = -a->k.i; /* fold, so -5 is a constant */
				*out = a;
			} else if (is_const && a->k.type == SQLITE_FLOAT) {
				a->k.f = -a->k.f;
				*out = a;
			} else {
				*out = node_new(N_NEG);
				(*out)->a = a; /* freed with *out on error too */
			}
		}
	} else {
		rc = parse_primary(p, out);
	}
	p->depth--;
	return rc;
}

/* One left-associative binary level. */
struct level {
	const char *ops[4];
	enum node_op nodes[4];
	int (*sub)(struct parser *, struct wl__node **);
};

static int parse_level(struct parser *p, const struct level *lv, struct wl__node **out)
{
	if (enter(p) != 0)
		return -1;
	if (lv->sub(p, out) != 0)
		return -1;
	for (uint32_t guard = 0;; guard++) {
		WH_ASSERT(guard <= p->len); /* each round consumes a token */
		int hit = -1;
		for (int k = 0; k < 4 && lv->ops[k] != NULL; k++) {
			bool word = isalpha((unsigned char)lv->ops[k][0]);
			if (word ? word_is(p, lv->ops[k]) : op_is(p, lv->ops[k]))
				hit = k;
		}
		if (hit < 0)
			break;
		struct wl__node *n = node_new(lv->nodes[hit]);
		n->a = *out;
		*out = n;
		if (next(p) != 0 || lv->sub(p, &n->b) != 0)
			return -1;
	}
	p->depth--;
	return 0;
}

static int parse_concat(struct parser *p, struct wl__node **out)
{
	static const struct level lv = {{"||"}, {N_CONCAT}, parse_unary};
	return parse_level(p, &lv, out);
}

static int parse_mul(struct parser *p, struct wl__node **out)
{
	static const struct level lv = {{"*", "/", "%"}, {N_MUL, N_DIV, N_MOD}, parse_concat};
	return parse_level(p, &lv, out);
}

static int parse_add(struct parser *p, struct wl__node **out)
{
	static const struct level lv = {{"+", "-"}, {N_ADD, N_SUB}, parse_mul};
	return parse_level(p, &lv, out);
}

static int parse_cmp(struct parser *p, struct wl__node **out)
{
	static const struct {
		const char *op;
		enum node_op node;
	} cmps[] = {{"=", N_EQ}, {"==", N_EQ}, {"<>", N_NE}, {"!=", N_NE},
		    {"<", N_LT}, {"<=", N_LE}, {">", N_GT}, {">=", N_GE}};
	if (parse_add(p, out) != 0)
		return -1;
	if (word_is(p, "is")) {
		if (next(p) != 0)
			return -1;
		bool not = word_is(p, "not");
		if (not && next(p) != 0)
			return -1;
		if (!word_is(p, "null"))
			return perr(p, "expected NULL after IS", NULL);
		struct wl__node *n = node_new(not ? N_NOTNULL : N_ISNULL);
		n->a = *out;
		*out = n;
		return next(p);
	}
	for (size_t k = 0; k < sizeof cmps / sizeof cmps[0]; k++) {
		if (!op_is(p, cmps[k].op))
			continue;
		struct wl__node *n = node_new(cmps[k].node);
		n->a = *out;
		*out = n;
		if (next(p) != 0 || parse_add(p, &n->b) != 0)
			return -1;
		break;
	}
	return 0;
}

static int parse_not(struct parser *p, struct wl__node **out)
{
	if (enter(p) != 0)
		return -1;
	int rc;
	if (word_is(p, "not")) {
		*out = node_new(N_NOT);
		rc = next(p);
		if (rc == 0)
			rc = parse_not(p, &(*out)->a);
	} else {
		rc = parse_cmp(p, out);
	}
	p->depth--;
	return rc;
}

static int parse_and(struct parser *p, struct wl__node **out)
{
	static const struct level lv = {{"and"}, {N_AND}, parse_not};
	return parse_level(p, &lv, out);
}

static int parse_expr(struct parser *p, struct wl__node **out)
{
	static const struct level lv = {{"or"}, {N_OR}, parse_and};
	return parse_level(p, &lv, out);
}

int wl__expr_parse(const char *src, size_t len, uint32_t line, uint32_t col,
		   const char *origin, wl__resolve_fn resolve, void *rctx,
		   struct wl__node **out, struct wl__err *e)
{
	struct parser p = {
		.src = src, .len = len, .line = line, .col0 = col, .origin = origin,
		.resolve = resolve, .rctx = rctx, .e = e,
	};
	struct wl__node *n = NULL;
	int rc = next(&p);
	if (rc == 0 && p.tok == ET_END)
		rc = perr(&p, "missing expression", NULL);
	if (rc == 0)
		rc = parse_expr(&p, &n);
	if (rc == 0 && p.tok != ET_END)
		rc = perr(&p, "unexpected text after the expression", NULL);
	if (rc != 0) {
		wl__expr_free(n);
		return -1;
	}
	WH_ASSERT(n != NULL);
	*out = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Generators                                                          */
/* ------------------------------------------------------------------ */

/* A uniform double in (0, 1]: safe to take the logarithm of. */
static double uniform_open0(struct wh_prng *rng)
{
	return 1.0 - wh_prng_double(rng);
}

/* lo + floor(n * r) for r in [0, 1), kept inside [lo, hi] whatever the
 * rounding. */
static int64_t scale_unit(int64_t lo, int64_t hi, double r)
{
	double n = (double)hi - (double)lo + 1.0;
	double off = floor(n * r);
	if (off < 0.0)
		off = 0.0;
	if (off >= n - 1.0)
		return hi;
	return (int64_t)((uint64_t)lo + (uint64_t)off);
}

int64_t wl__gen_exponential(struct wh_prng *rng, int64_t lo, int64_t hi,
			    double param)
{
	WH_ASSERT(lo <= hi);
	WH_ASSERT(param > 0.0);
	/* CDF on [0, 1): F(r) = (1 - exp(-param r)) / (1 - exp(-param));
	 * solving F(r) = 1 - u for u in (0, 1] gives the line below. */
	double cut = exp(-param);
	double u = uniform_open0(rng);
	double r = -log(cut + (1.0 - cut) * u) / param;
	return scale_unit(lo, hi, r);
}

int64_t wl__gen_gaussian(struct wh_prng *rng, int64_t lo, int64_t hi,
			 double param)
{
	WH_ASSERT(lo <= hi);
	WH_ASSERT(param >= WL_GAUSSIAN_MIN_PARAM);
	for (uint32_t tries = 0; tries < WL_GEN_MAX_TRIES; tries++) {
		double u1 = uniform_open0(rng);
		double u2 = wh_prng_double(rng);
		double z = sqrt(-2.0 * log(u1)) * sin(2.0 * M_PI * u2);
		if (z >= -param && z < param)
			return scale_unit(lo, hi, (z + param) / (2.0 * param));
	}
	return lo;
}

int64_t wl__gen_zipfian(struct wh_prng *rng, int64_t lo, int64_t hi,
			double param)
{
	WH_ASSERT(lo <= hi);
	WH_ASSERT(param >= WL_ZIPFIAN_MIN_PARAM && param <= WL_ZIPFIAN_MAX_PARAM);
	double n = (double)hi - (double)lo + 1.0;
	double s1 = param - 1.0;
	double b = pow(2.0, s1);
	for (uint32_t tries = 0; tries < WL_GEN_MAX_TRIES; tries++) {
		/* Candidate from a dominating density; accept with the ratio
		 * of the Zipf mass to it. */
		double u = uniform_open0(rng);
		double v = wh_prng_double(rng);
		double x = floor(pow(u, -1.0 / s1));
		if (!(x >= 1.0) || x > n)
			continue;
		double t = pow(1.0 + 1.0 / x, s1);
		if (v * x * (t - 1.0) / (b - 1.0) <= t / b)
			return (int64_t)((uint64_t)lo + (uint64_t)(x - 1.0));
	}
	return lo;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */
/* ------------------------------------------------------------------ */

static void set_null(struct wh_value *v)
{
	memset(v, 0, sizeof *v);
	v->type = SQLITE_NULL;
}

static void set_int(struct wh_value *v, int64_t i)
{
	memset(v, 0, sizeof *v);
	v->type = SQLITE_INTEGER;
	v->i = i;
}

static void set_double(struct wh_value *v, double f)
{
	memset(v, 0, sizeof *v);
	if (!isfinite(f)) {
		v->type = SQLITE_NULL;
		return;
	}
	v->type = SQLITE_FLOAT;
	v->f = f;
}

static bool is_num(const struct wh_value *v)
{
	return v->type == SQLITE_INTEGER || v->type == SQLITE_FLOAT;
}

static double num(const struct wh_value *v)
{
	return v->type == SQLITE_INTEGER ? (double)v->i : v->f;
}

/* An integer argument, accepting a double only when it is integral. */
static bool as_int(const struct wh_value *v, int64_t *out)
{
	if (v->type == SQLITE_INTEGER) {
		*out = v->i;
		return true;
	}
	if (v->type == SQLITE_FLOAT && v->f == floor(v->f) && v->f >= -9.2e18 &&
	    v->f <= 9.2e18) {
		*out = (int64_t)v->f;
		return true;
	}
	return false;
}

bool wl__value_truthy(const struct wh_value *v)
{
	if (v->type == SQLITE_INTEGER)
		return v->i != 0;
	if (v->type == SQLITE_FLOAT)
		return v->f != 0.0;
	return false;
}

static void eval_arith(enum node_op op, const struct wh_value *a,
		       const struct wh_value *b, struct wh_value *out)
{
	if (!is_num(a) || !is_num(b)) {
		set_null(out);
		return;
	}
	if (a->type == SQLITE_INTEGER && b->type == SQLITE_INTEGER) {
		int64_t r;
		bool bad = false;
		switch (op) {
		case N_ADD:
			bad = __builtin_add_overflow(a->i, b->i, &r);
			break;
		case N_SUB:
			bad = __builtin_sub_overflow(a->i, b->i, &r);
			break;
		case N_MUL:
			bad = __builtin_mul_overflow(a->i, b->i, &r);
			break;
		case N_DIV:
		case N_MOD:
			bad = b->i == 0 || (a->i == INT64_MIN && b->i == -1);
			r = bad ? 0 : op == N_DIV ? a->i / b->i : a->i % b->i;
			break;
		default:
			WH_UNREACHABLE();
		}
		if (bad)
			set_null(out);
		else
			set_int(out, r);
		return;
	}
	double x = num(a), y = num(b);
	switch (op) {
	case N_ADD:
		set_double(out, x + y);
		break;
	case N_SUB:
		set_double(out, x - y);
		break;
	case N_MUL:
		set_double(out, x * y);
		break;
	case N_DIV:
		if (y == 0.0)
			set_null(out);
		else
			set_double(out, x / y);
		break;
	case N_MOD:
		set_null(out); /* % is for integers */
		break;
	default:
		WH_UNREACHABLE();
	}
}

/* -1, 0, 1, or 2 when the values do not compare (NULL, mixed kinds). */
static int compare(const struct wh_value *a, const struct wh_value *b)
{
	if (is_num(a) && is_num(b)) {
		if (a->type == SQLITE_INTEGER && b->type == SQLITE_INTEGER)
			return a->i < b->i ? -1 : a->i > b->i;
		double x = num(a), y = num(b);
		return x < y ? -1 : x > y;
	}
	bool ta = a->type == SQLITE_TEXT || a->type == SQLITE_BLOB;
	bool tb = b->type == SQLITE_TEXT || b->type == SQLITE_BLOB;
	if (!ta || !tb || a->type != b->type)
		return 2;
	uint32_t n = a->n < b->n ? a->n : b->n;
	int c = n ? memcmp(a->p, b->p, n) : 0;
	if (c != 0)
		return c < 0 ? -1 : 1;
	return a->n < b->n ? -1 : a->n > b->n;
}

/* Text form of a value for ||, as SQLite would print it. */
static uint32_t value_text(const struct wh_value *v, char *buf, size_t cap,
			   const unsigned char **p)
{
	int n = 0;
	if (v->type == SQLITE_INTEGER)
		n = snprintf(buf, cap, "%lld", (long long)v->i);
	else if (v->type == SQLITE_FLOAT)
		n = snprintf(buf, cap, "%.15g", v->f);
	if (v->type == SQLITE_INTEGER || v->type == SQLITE_FLOAT) {
		*p = (const unsigned char *)buf;
		return (uint32_t)n;
	}
	*p = v->p;
	return v->n;
}

static void eval_concat(const struct wh_value *a, const struct wh_value *b,
			struct wh_value *out)
{
	if (a->type == SQLITE_NULL || b->type == SQLITE_NULL) {
		set_null(out);
		return;
	}
	char ba[32], bb[32];
	const unsigned char *pa, *pb;
	uint32_t na = value_text(a, ba, sizeof ba, &pa);
	uint32_t nb = value_text(b, bb, sizeof bb, &pb);
	if ((uint64_t)na + nb > WL_MAX_VALUE_BYTES) {
		set_null(out);
		return;
	}
	memset(out, 0, sizeof *out);
	out->type = a->type == SQLITE_BLOB || b->type == SQLITE_BLOB ? SQLITE_BLOB
								     : SQLITE_TEXT;
	out->n = na + nb;
	out->p = wh_malloc((size_t)out->n + 1);
	if (na)
		memcpy(out->p, pa, na);
	if (nb)
		memcpy(out->p + na, pb, nb);
	out->p[out->n] = '\0';
}

static void gen_bytes(struct wh_prng *rng, int64_t n, bool text,
		      struct wh_value *out)
{
	static const char alphabet[33] = "abcdefghijklmnopqrstuvwxyz234567";
	if (n < 0 || n > (int64_t)WL_MAX_VALUE_BYTES) {
		set_null(out);
		return;
	}
	memset(out, 0, sizeof *out);
	out->type = text ? SQLITE_TEXT : SQLITE_BLOB;
	out->n = (uint32_t)n;
	out->p = wh_malloc((size_t)n + 1);
	uint64_t bits = 0;
	uint32_t left = 0;
	for (uint32_t k = 0; k < out->n; k++) {
		/* 12 characters (5 bits) or 8 bytes per draw */
		if (left == 0) {
			bits = wh_prng_next(rng);
			left = text ? 12 : 8;
		}
		if (text) {
			out->p[k] = (unsigned char)alphabet[bits & 31];
			bits >>= 5;
		} else {
			out->p[k] = (unsigned char)(bits & 0xff);
			bits >>= 8;
		}
		left--;
	}
	out->p[out->n] = '\0';
}

/* least(...) or greatest(...): NULL unless every argument is a number.
 * out is NULL on entry. */
static void eval_least_greatest(const struct wl__node *n, const struct wl__env *env,
				struct wh_value *out)
{
	WH_ASSERT(n->fn == F_LEAST || n->fn == F_GREATEST);
	struct wh_value best, v;
	set_null(&best);
	for (uint32_t k = 0; k < n->argc; k++) {
		wl__expr_eval(n->args[k], env, &v);
		if (!is_num(&v)) {
			wh_value_free(&v);
			wh_value_free(&best);
			return; /* NULL */
		}
		int c = k == 0 ? 0 : compare(&v, &best);
		if (k == 0 || (n->fn == F_LEAST ? c < 0 : c > 0))
			best = v;
	}
	*out = best;
}

/* The functions of at most three arguments, all evaluated first (in
 * order): the generators and the scalar conversions. out is NULL on
 * entry and stays NULL for arguments they cannot use. */
static void eval_fixed_call(const struct wl__node *n, const struct wl__env *env,
			    struct wh_value *out)
{
	struct wh_value a[3];
	uint32_t argc = n->argc;
	WH_ASSERT(argc <= 3);
	for (uint32_t k = 0; k < 3; k++)
		set_null(&a[k]); /* unused slots read as NULL */
	for (uint32_t k = 0; k < argc; k++)
		wl__expr_eval(n->args[k], env, &a[k]);
	int64_t lo, hi;
	bool bounds = argc >= 2 && as_int(&a[0], &lo) && as_int(&a[1], &hi) && lo <= hi;
	double prm = argc == 3 && is_num(&a[2]) ? num(&a[2]) : NAN;
	switch (n->fn) {
	case F_RANDOM:
		if (bounds)
			set_int(out, wh_prng_range(env->rng, lo, hi));
		break;
	case F_EXPONENTIAL:
		if (bounds && prm > 0.0)
			set_int(out, wl__gen_exponential(env->rng, lo, hi, prm));
		break;
	case F_GAUSSIAN:
		if (bounds && prm >= WL_GAUSSIAN_MIN_PARAM)
			set_int(out, wl__gen_gaussian(env->rng, lo, hi, prm));
		break;
	case F_ZIPFIAN:
		if (bounds && prm >= WL_ZIPFIAN_MIN_PARAM && prm <= WL_ZIPFIAN_MAX_PARAM)
			set_int(out, wl__gen_zipfian(env->rng, lo, hi, prm));
		break;
	case F_TEXT:
	case F_BLOB:
		if (as_int(&a[0], &lo))
			gen_bytes(env->rng, lo, n->fn == F_TEXT, out);
		break;
	case F_ABS:
		if (a[0].type == SQLITE_INTEGER && a[0].i != INT64_MIN)
			set_int(out, a[0].i < 0 ? -a[0].i : a[0].i);
		else if (a[0].type == SQLITE_FLOAT)
			set_double(out, fabs(a[0].f));
		break;
	case F_INT:
		if (a[0].type == SQLITE_INTEGER)
			set_int(out, a[0].i);
		else if (a[0].type == SQLITE_FLOAT && a[0].f > -9.2e18 && a[0].f < 9.2e18)
			set_int(out, (int64_t)a[0].f);
		break;
	case F_DOUBLE:
		if (is_num(&a[0]))
			set_double(out, num(&a[0]));
		break;
	default:
		WH_UNREACHABLE();
	}
	for (uint32_t k = 0; k < argc; k++)
		wh_value_free(&a[k]);
}

static void eval_call(const struct wl__node *n, const struct wl__env *env,
		      struct wh_value *out)
{
	set_null(out);
	if (n->fn == F_CHOOSE) {
		/* Only the chosen argument is evaluated (and draws). */
		uint64_t k = wh_prng_below(env->rng, n->argc);
		wl__expr_eval(n->args[k], env, out);
		return;
	}
	if (n->fn == F_UNIQUE) {
		uint64_t k = (*env->unique_next)++;
		set_int(out, (int64_t)(k * WL_UNIQUE_STRIDE + env->conn_id + 1));
		return;
	}
	if (n->fn == F_LEAST || n->fn == F_GREATEST)
		eval_least_greatest(n, env, out);
	else
		eval_fixed_call(n, env, out);
}

/* AND and OR, three-valued as in SQL; the right side is not evaluated
 * once the left decides. */
static void eval_and_or(const struct wl__node *n, const struct wl__env *env,
			struct wh_value *out)
{
	WH_ASSERT(n->op == N_AND || n->op == N_OR);
	struct wh_value a, b;
	wl__expr_eval(n->a, env, &a);
	bool known_a = is_num(&a);
	bool ta = wl__value_truthy(&a);
	wh_value_free(&a);
	if (known_a && (n->op == N_AND ? !ta : ta)) {
		set_int(out, n->op == N_OR);
		return;
	}
	wl__expr_eval(n->b, env, &b);
	bool known_b = is_num(&b);
	bool tb = wl__value_truthy(&b);
	wh_value_free(&b);
	if (known_b && (n->op == N_AND ? !tb : tb))
		set_int(out, n->op == N_OR);
	else if (known_a && known_b)
		set_int(out, n->op == N_AND);
	else
		set_null(out);
}

/* A comparison: 1 or 0, NULL when compare() cannot order a and b. */
static void eval_compare(enum node_op op, const struct wh_value *a, const struct wh_value *b,
			 struct wh_value *out)
{
	int c = compare(a, b);
	if (c == 2) {
		set_null(out);
		return;
	}
	bool r = op == N_EQ ? c == 0 : op == N_NE ? c != 0
		 : op == N_LT ? c < 0 : op == N_LE ? c <= 0
		 : op == N_GT ? c > 0 : c >= 0;
	set_int(out, r);
}

/* A unary or binary operator on its evaluated operands (b is NULL for a
 * unary one). */
static void eval_operator(enum node_op op, const struct wh_value *a, const struct wh_value *b,
			  struct wh_value *out)
{
	switch (op) {
	case N_NEG:
		if (a->type == SQLITE_INTEGER && a->i != INT64_MIN)
			set_int(out, -a->i);
		else if (a->type == SQLITE_FLOAT)
			set_double(out, -a->f);
		else
			set_null(out);
		break;
	case N_NOT:
		if (is_num(a))
			set_int(out, !wl__value_truthy(a));
		else
			set_null(out);
		break;
	case N_ISNULL:
		set_int(out, a->type == SQLITE_NULL);
		break;
	case N_NOTNULL:
		set_int(out, a->type != SQLITE_NULL);
		break;
	case N_ADD:
	case N_SUB:
	case N_MUL:
	case N_DIV:
	case N_MOD:
		eval_arith(op, a, b, out);
		break;
	case N_CONCAT:
		eval_concat(a, b, out);
		break;
	case N_EQ:
	case N_NE:
	case N_LT:
	case N_LE:
	case N_GT:
	case N_GE:
		eval_compare(op, a, b, out);
		break;
	default:
		WH_UNREACHABLE();
	}
}

void wl__expr_eval(const struct wl__node *n, const struct wl__env *env,
		   struct wh_value *out)
{
	WH_ASSERT(n != NULL);
	struct wh_value a, b;
	switch (n->op) {
	case N_CONST:
		wh_value_copy(out, &n->k);
		return;
	case N_REF:
		switch (n->ref.kind) {
		case WL_REF_PARAM:
			wh_value_copy(out, &env->params[n->ref.index]);
			return;
		case WL_REF_VAR:
			wh_value_copy(out, &env->vars[n->ref.index]);
			return;
		case WL_REF_PERSIST:
			wh_value_copy(out, &env->persist[n->ref.index]);
			return;
		case WL_REF_CLIENT_ID:
			set_int(out, (int64_t)env->conn_id);
			return;
		}
		WH_UNREACHABLE();
	case N_CALL:
		eval_call(n, env, out);
		return;
	case N_AND:
	case N_OR:
		eval_and_or(n, env, out);
		return;
	default:
		break;
	}
	wl__expr_eval(n->a, env, &a);
	if (n->b != NULL)
		wl__expr_eval(n->b, env, &b);
	else
		set_null(&b);
	eval_operator(n->op, &a, &b, out);
	wh_value_free(&a);
	wh_value_free(&b);
}
