/*
 * wl_int.h - internals shared by the workload loader (loader.c), the SQL
 * scanner (sqlscan.c), the expression language (expr.c), the interpreter
 * (interp.c) and the built-in table (builtin.c). Nothing outside
 * workloads/ includes this header, except the loader's fuzz target.
 *
 * Life of a workload file:
 *   text --(loader.c, phase 1: lines, statements, meta-commands)--> raw unit
 *        --(phase 2: parameters, scratch database, names, code)---> unit
 *        --(composition: includes, pragmas, setup, invariants)-----> program
 * A program is what `struct workload.impl` points at; interp.c runs it.
 * Everything a program holds is owned by it and freed by wl__prog_free.
 *
 * Naming: wl_ is public (workload.h), wl__ is shared inside workloads/.
 */
#ifndef WH_WL_INT_H
#define WH_WL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "prng.h"
#include "wh.h"
#include "workloads.h"

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

#define WL_MAX_FILE_BYTES (1u << 20)    /* a workload file */
#define WL_MAX_VALUE_BYTES (1u << 20)   /* a generated text or blob */
#define WL_MAX_NAME 64                  /* names: params, vars, templates */
#define WL_MAX_VARS 256                 /* variables per file */
#define WL_MAX_DECLS 256                /* params, pragmas, includes,
					   persists */
#define WL_MAX_TEMPLATES 256            /* templates per file */
#define WL_MAX_ITEMS 4096               /* lines of code per template */
#define WL_MAX_IF_DEPTH 16              /* nested \if */
#define WL_MAX_EXPR_DEPTH 64            /* nested expression terms */
#define WL_MAX_CALL_ARGS 16             /* arguments of one function */
#define WL_MAX_INCLUDE_DEPTH 4          /* \include nesting */
#define WL_MAX_WEIGHT 1000000u          /* @weight and begin-kind weights */
#define WL_MAX_SLEEP_US 60000000ull     /* one \sleep: a simulated minute */
#define WL_MAX_EXPECT 16                /* \expect codes per statement or
					   template */
#define WL_GEN_MAX_TRIES (1u << 20)     /* rejection-sampling bound */
/* Connection stride of unique(): ids below it keep the values distinct.
 * It equals the driver's connection limit (asserted in interp.c). */
#define WL_UNIQUE_STRIDE 1024

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* The first error of a load, formatted "ORIGIN:LINE[:COL]: message". */
struct wl__err {
	char *buf;      /* caller's buffer */
	size_t cap;     /* its size */
	bool set;       /* an error was recorded (later ones are dropped) */
};

/* Record an error (only the first one sticks). line 0 omits the line,
 * col 0 the column. Always returns -1 so callers can `return wl__errf()`. */
int wl__errf(struct wl__err *e, const char *origin, uint32_t line,
	     uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* ------------------------------------------------------------------ */
/* "Did you mean" (suggest.c)                                          */
/* ------------------------------------------------------------------ */

/* The closest of the candidates tried to a misspelt word, if it is close
 * enough to be a typo of it (suggest.c says how close). */
struct wl__suggest {
	const char *word;            /* the word as written (not owned) */
	size_t len;
	const char *best;            /* the closest candidate so far, or NULL
					(points at the caller's string) */
	uint32_t best_dist;          /* its edit distance */
};

void wl__suggest_init(struct wl__suggest *s, const char *word, size_t len);
/* Consider cand (NUL-terminated; it must outlive s). */
void wl__suggest_try(struct wl__suggest *s, const char *cand);
/* " (did you mean BEFORE+BEST?)" into buf, or "" when nothing is close:
 * ready to append to a message. Returns buf. */
const char *wl__suggest_text(const struct wl__suggest *s, const char *before, char *buf,
			     size_t cap);

/* ------------------------------------------------------------------ */
/* SQL scanning (sqlscan.c)                                            */
/* ------------------------------------------------------------------ */

enum wl__tok_kind {
	WL_TK_WORD,      /* keyword or bare identifier */
	WL_TK_QWORD,     /* "quoted", `quoted` or [bracketed] identifier */
	WL_TK_STRING,    /* 'string literal' */
	WL_TK_NUMBER,    /* numeric literal */
	WL_TK_BLOB,      /* x'...' */
	WL_TK_VAR,       /* :name, a workload variable or parameter */
	WL_TK_SQLPARAM,  /* ?, ?NNN, $x, @x: SQLite's own parameter forms */
	WL_TK_PUNCT,     /* operators and punctuation, one or two chars */
	WL_TK_SEMI,      /* ; */
	WL_TK_BACKSLASH, /* \ outside quotes: a meta-command starts */
};

struct wl__tok {
	enum wl__tok_kind kind;
	uint32_t off;    /* byte offset in the text */
	uint32_t len;    /* bytes */
	uint32_t line;   /* 1-based */
	uint32_t col;    /* 1-based byte column */
};

/* A cursor over a text with line tracking. */
struct wl__scan {
	const char *s;
	size_t len;
	size_t pos;
	uint32_t line;
	size_t line_start; /* offset of the current line's first byte */
};

void wl__scan_init(struct wl__scan *sc, const char *s, size_t len);
/* Skip white space and comments. Returns 0, or -1 on an unterminated
 * block comment (error recorded against origin). */
int wl__scan_skip(struct wl__scan *sc, struct wl__err *e, const char *origin);
/* The next token after white space and comments: 1 with *t set, 0 at the
 * end of the text, -1 on an unterminated literal (error recorded). */
int wl__scan_token(struct wl__scan *sc, struct wl__tok *t, struct wl__err *e,
		   const char *origin);
uint32_t wl__scan_col(const struct wl__scan *sc);

/* Case-insensitive compare of a WORD token with a keyword. */
bool wl__tok_is(const char *text, const struct wl__tok *t, const char *kw);

/* Where an SQL statement may appear; the rules differ a little. */
enum wl__sql_ctx {
	WL_SQL_SETUP,
	WL_SQL_TEMPLATE,
	WL_SQL_INVARIANT,
};

/* What the checker learnt about one statement. */
struct wl__sql_info {
	uint32_t flags;       /* HIST_STMT_NOCHECK / NOREPLAY implied */
	bool is_ddl;          /* CREATE, DROP, ALTER */
	bool is_savepoint;    /* SAVEPOINT, RELEASE, ROLLBACK TO */
	bool is_checkpoint;   /* PRAGMA wal_checkpoint */
	bool is_pragma;       /* a PRAGMA statement */
	bool sets_auto_vacuum; /* PRAGMA auto_vacuum = ... */
	bool is_vacuum;       /* VACUUM */
};

/* Check one statement's tokens (text is the whole file) for SQL whose
 * result could differ between the run and the reference (random(),
 * 'now', ...), for statements that do not belong in ctx (BEGIN in a
 * template, ATTACH anywhere, ...), and classify it. Returns 0, or -1 with
 * the error recorded at the offending token. */
int wl__sql_check(const char *text, const struct wl__tok *toks, uint32_t count,
		  enum wl__sql_ctx ctx, struct wl__sql_info *info,
		  struct wl__err *e, const char *origin);

/* ------------------------------------------------------------------ */
/* Expressions (expr.c)                                                */
/* ------------------------------------------------------------------ */

enum wl__ref_kind {
	WL_REF_PARAM,     /* a run parameter (constant for the run) */
	WL_REF_VAR,       /* a per-transaction variable */
	WL_REF_PERSIST,   /* a connection's variable that outlives its
			     transactions (\persist) */
	WL_REF_CLIENT_ID, /* :client_id, the connection's number (index 0) */
};

struct wl__ref {
	enum wl__ref_kind kind;
	uint32_t index;   /* into the unit's params, vars or persists */
};

/* The name :client_id reads (pgbench's): the connection's number, from 0.
 * No parameter or variable may take it. */
#define WL_CLIENT_ID "client_id"

struct wl__node;      /* an expression tree (opaque outside expr.c) */

/* Resolves a :name while an expression is compiled. Returns 0 with *ref
 * set, or -1 after recording an error (unknown name). */
typedef int (*wl__resolve_fn)(void *ctx, const char *name, uint32_t line,
			      uint32_t col, struct wl__ref *ref);

/* Parse src[0..len) (which sits at line/col of origin) into a tree.
 * Returns 0 with *out, or -1 with the error recorded. Constant generator
 * arguments are range-checked here. */
int wl__expr_parse(const char *src, size_t len, uint32_t line, uint32_t col,
		   const char *origin, wl__resolve_fn resolve, void *rctx,
		   struct wl__node **out, struct wl__err *e);
void wl__expr_free(struct wl__node *n);

/* What an expression reads while it runs. */
struct wl__env {
	const struct wh_value *params;  /* the unit's parameter values */
	const struct wh_value *vars;    /* the transaction's variables */
	const struct wh_value *persist; /* the connection's \persist
					   variables of the unit */
	struct wh_prng *rng;            /* the connection's stream */
	uint32_t conn_id;               /* unique(), :client_id */
	uint64_t *unique_next;          /* the connection's unique() counter */
};

/* Evaluate into *out (owned by the caller: wh_value_free it). Never
 * fails: impossible arithmetic or arguments give NULL (documented in
 * README.md). */
void wl__expr_eval(const struct wl__node *n, const struct wl__env *env,
		   struct wh_value *out);
/* SQL-like truth: a non-zero number is true; NULL, text and blobs are
 * false. */
bool wl__value_truthy(const struct wh_value *v);

/* The generators, exposed for the distribution tests. Arguments must be
 * valid (lo <= hi, parameter in range); see expr.c for the algorithms. */
int64_t wl__gen_exponential(struct wh_prng *rng, int64_t lo, int64_t hi,
			    double param);
int64_t wl__gen_gaussian(struct wh_prng *rng, int64_t lo, int64_t hi,
			 double param);
int64_t wl__gen_zipfian(struct wh_prng *rng, int64_t lo, int64_t hi,
			double param);
/* Valid parameter ranges, as pgbench documents them. */
#define WL_GAUSSIAN_MIN_PARAM 2.0
#define WL_ZIPFIAN_MIN_PARAM 1.001
#define WL_ZIPFIAN_MAX_PARAM 1000.0

/* ------------------------------------------------------------------ */
/* Compiled workloads                                                  */
/* ------------------------------------------------------------------ */

enum wl__ins_kind {
	WL_INS_SET,       /* var = expr */
	WL_INS_STMT,      /* run a statement */
	WL_INS_SLEEP,     /* sleep expr * unit_us */
	WL_INS_IF,        /* if !expr: jump to target */
	WL_INS_JUMP,      /* jump to target (forward only) */
	WL_INS_ROLLBACK,  /* end the transaction with ROLLBACK */
};

enum wl__elle_none { WL_ELLE_NONE = -1 };

struct wl__stmt {
	char *sql;                   /* rewritten text: :name became ?N */
	char *tmpl;                  /* full statement name, e.g.
					"bank/transfer.debit" */
	uint32_t param_count;        /* distinct :names, bound ?1..?n */
	struct wl__ref params[WL_MAX_PARAMS];
	uint32_t flags;              /* HIST_STMT_* */
	uint32_t gset_count;         /* result columns stored, 0 = none */
	struct wl__ref *gset_vars;   /* per column: a VAR or a PERSIST */
	int elle_kind;               /* enum wl_elle_kind or WL_ELLE_NONE */
	uint32_t elle_key;           /* 1-based ?N of the key */
	uint32_t elle_value;         /* 1-based ?N of the value, or 0 */
	uint32_t expect_count;       /* \expect codes after the statement */
	int expect[WL_MAX_EXPECT];   /* result codes (rcname.h: a primary
					code stands for its class) */
};

struct wl__ins {
	enum wl__ins_kind kind;
	struct wl__ref var;          /* SET: a VAR or a PERSIST */
	struct wl__node *expr;       /* SET, SLEEP, IF */
	uint32_t target;             /* IF, JUMP: next instruction index */
	uint64_t unit_us;            /* SLEEP */
	struct wl__stmt *stmt;       /* STMT */
};

struct wl__unit;

struct wl__tmpl {
	char *name;                  /* full name, e.g. "bank/transfer" */
	uint32_t weight;             /* share among its unit's entries */
	uint32_t begin_weight[4];    /* by enum hist_begin */
	uint32_t begin_total;        /* sum of begin_weight */
	struct wl__ins *code;
	uint32_t code_count;
	struct wl__unit *unit;       /* for params and vars */
	uint32_t expect_count;       /* \expect before the first statement:
					any statement's and COMMIT's */
	int expect[WL_MAX_EXPECT];
};

struct wl__include {
	struct wl__unit *unit;
	uint32_t weight;             /* share among the includer's entries */
};

/* What a direct \include needs, kept or left out (one per \include line,
 * in file order). The strings are copies: a left-out unit is freed. */
struct wl__inc_need {
	char *name;                  /* prefixed, without the final '/':
					"ddl-churn", "mix/ddl-churn" */
	char *reason;                /* owned; needs.reason points here */
	char *origin;                /* owned; needs.origin points here */
	struct wl_requirement needs; /* the included unit's needs (version
					0: none) */
	struct wl__unit *unit;       /* the kept unit (also in includes[]),
					or NULL: left out */
};

struct wl__unit {
	char *name;                  /* workload name ("bank", file stem) */
	char *prefix;                /* "" at top level, "bank/" included */
	char *origin;                /* for messages: "workloads/bank.sql" */
	char *text;                  /* the file, NUL-terminated */
	size_t text_len;
	char *description;
	char *shape;                 /* "list-append", "rw-register" or NULL */
	uint32_t param_count;
	char **param_names;
	struct wh_value *param_values;
	uint32_t var_count;
	char **var_names;
	uint32_t persist_count;      /* \persist declarations */
	char **persist_names;
	struct wh_value *persist_init; /* each one's value when a connection
					  starts */
	uint32_t persist_base;       /* where the unit's start in a
					connection's persist array (set when
					composed) */
	uint32_t pragma_count;
	char **pragmas;              /* "name=value", name lower-cased */
	uint32_t *pragma_lines;
	uint32_t setup_count;
	char **setup_sql;            /* parameters substituted */
	uint32_t *setup_lines;
	uint32_t invariant_count;
	char **invariants;           /* parameters substituted */
	uint32_t *invariant_lines;
	uint32_t tmpl_count;
	struct wl__tmpl *tmpls;
	uint32_t include_count;
	struct wl__include *includes; /* the kept ones */
	uint32_t inc_need_count;
	struct wl__inc_need *inc_needs; /* every \include line */
	char *own_reason;            /* of its highest \requires */
	struct wl_requirement own;   /* its highest \requires (version 0:
					none); strings point at own_reason and
					origin */
	struct wl_requirement needs; /* to run at all: own, or for a unit of
					includes only the least an include
					needs if more (see workload.h) */
	uint64_t total_weight;       /* templates + kept includes; 0 only
					when needs is not met */
};

/* A loaded workload: the public struct plus everything behind it. */
struct wl__prog {
	struct workload pub;         /* what callers see; pub.impl == this */
	struct wl__unit *root;
	uint32_t max_vars;           /* largest var_count in the tree */
	uint32_t persist_count;      /* every unit's \persist, in one array
					per connection */
	char *setup_sql;             /* composed */
	char **invariants;           /* composed (pointers into units) */
	char **pragmas;              /* merged (pointers into units) */
	char **params;               /* "[prefix]name=value", owned */
	struct wl_elle_op *elle_ops; /* tmpl pointers into units */
	uint32_t elle_count;
	struct wl_expect *expects;   /* name and code pointers into units */
	uint32_t expect_count;
	struct wl_include_need *include_needs; /* pointers into units */
};

void wl__unit_free(struct wl__unit *u);
void wl__prog_free(struct wl__prog *p);

/* interp.c: the vtable every loaded workload uses. */
extern const struct wl_ops wl__interp_ops;

/* ------------------------------------------------------------------ */
/* Built-in files (generated at build time, see scripts/)               */
/* ------------------------------------------------------------------ */

struct wl__builtin_file {
	const char *name;            /* "bank" */
	const char *path;            /* "workloads/bank.sql" */
	const char *text;            /* NUL-terminated */
	size_t len;                  /* bytes, without the NUL */
};

extern const struct wl__builtin_file wl__builtin_files[];
extern const uint32_t wl__builtin_file_count;

/* The built-in file called name, or NULL. */
const struct wl__builtin_file *wl__builtin_file_find(const char *name);

/* Loader entry used for both files and built-ins: origin names the text
 * in messages, name is the workload's name. Includes that need more than
 * sqlite_version (a version number, or WL_SQLITE_ANY) are loaded and
 * checked, then left out of the composition; the root's own requirement
 * is only reported (pub.requires): refusing to run is the caller's. */
int wl__load(const char *name, const char *origin, const char *text,
	     size_t len, const char *const *params, uint32_t param_count,
	     int sqlite_version, struct wl__prog **out, struct wl__err *e);

/* Bound on SQLite virtual-machine steps while a workload's setup and
 * invariants run on the scratch database at load time (a setup that loops
 * forever must not hang `workloads check`). The fuzz target lowers it. */
void wl__set_validation_budget(uint64_t vm_steps);

#endif /* WH_WL_INT_H */
