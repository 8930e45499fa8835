/*
 * oracle_int.h - internals shared by the oracle's files (ref.c, oracle.c,
 * final.c, explain.c). Not a public API: the contract is oracle.h.
 *
 * Vocabulary used throughout:
 *   step      one entry of the serial order the oracle replays: a committed
 *             transaction (in commit_index order) or an indeterminate writer
 *             placed where its COMMIT started. A step is a "noop" when it
 *             cannot change the state (read-only, or an indeterminate writer
 *             assumed not to have happened).
 *   position  state k = the reference after the first k steps; positions
 *             run 0..step_count.
 *   anchored  a transaction that must match at its own step's position
 *             (a committed or assumed-committed writer).
 *   window    a transaction that must match at some position in [lo, hi]
 *             (read-only committed, aborted, running, or an indeterminate
 *             writer assumed not to have happened).
 *   failure   a transaction that matched nowhere it was allowed to.
 */
#ifndef WH_ORACLE_INT_H
#define WH_ORACLE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "oracle.h"
#include "wh.h"

#define ORACLE_NONE UINT32_MAX  /* no step / no statement / matched */
#define ORACLE_SKIPPED (-1)     /* result rc of a statement not replayed */

/* ------------------------------------------------------------------ */
/* Text building (ref.c)                                               */
/* ------------------------------------------------------------------ */

struct oracle__buf {
	char *p;      /* NUL-terminated text, or NULL while empty */
	size_t len;   /* bytes used, excluding the terminator */
	size_t cap;   /* bytes allocated */
};

void oracle__buf_printf(struct oracle__buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An SQL literal, abbreviated past 40 characters. */
void oracle__buf_value(struct oracle__buf *b, const struct wh_value *v);
/* "(v1, v2, ...)" */
void oracle__buf_row(struct oracle__buf *b, const struct wh_value *row,
		     uint32_t col_count);
/* "[(..), (..)]", at most a few rows, then "... N rows". */
void oracle__buf_rows(struct oracle__buf *b, const struct wh_value *cells,
		      uint32_t col_count, uint32_t row_count);
/* Describes transaction t: "T12 (conn 3, transfer, aborted)". */
void oracle__buf_txn(struct oracle__buf *b, const struct hist_txn *t);
/* Describes statement j of t: "statement 2 `SQL` with (1, 'a')". */
void oracle__buf_stmt(struct oracle__buf *b, const struct hist_txn *t,
		      uint32_t j);
/* Hands over the text (never NULL) and empties the buffer. */
char *oracle__buf_take(struct oracle__buf *b);
void oracle__buf_free(struct oracle__buf *b);

/* ------------------------------------------------------------------ */
/* Captured results (ref.c)                                            */
/* ------------------------------------------------------------------ */

struct oracle__result {
	int rc;                  /* primary rc (SQLITE_DONE on success) or
				    ORACLE_SKIPPED */
	int64_t changes;         /* rows changed, for DML only (else 0) */
	uint32_t col_count;
	uint32_t row_count;
	struct wh_value *cells;  /* row_count * col_count, owned */
	uint64_t cell_cap;       /* allocated cells */
};

void oracle__result_reset(struct oracle__result *r);
void oracle__result_free(struct oracle__result *r);
/* A 64-bit digest of r, rows sorted first unless ordered. Only used to
 * spot where a result changes while explaining, never for a verdict. */
uint64_t oracle__result_digest(const struct oracle__result *r, bool ordered);
/* Total order of rows of n values (wh_value_cmp column by column). */
int oracle__row_cmp(const struct wh_value *a, const struct wh_value *b,
		    uint32_t n);
/* A row for sorting: qsort has no context argument, so each element
 * carries its width. */
struct oracle__rowref {
	const struct wh_value *v;  /* first value of the row */
	uint32_t n;                /* values in the row */
};
/* The rows of cells sorted by oracle__row_cmp (caller frees). */
struct oracle__rowref *oracle__rows_sorted(const struct wh_value *cells,
					   uint32_t col_count,
					   uint32_t row_count);
/* Appends the current row of st to r (values copied). */
void oracle__result_add_row(struct oracle__result *r, sqlite3_stmt *st);

/* ------------------------------------------------------------------ */
/* The reference database (ref.c)                                       */
/* ------------------------------------------------------------------ */

/* One distinct statement text; statements are prepared once per
 * reference database and reused (the cache is indexed by id, assigned in
 * first-appearance order, so its structure never depends on hashing). */
struct oracle__sql {
	const char *text;        /* borrowed from the history */
	sqlite3_stmt *stmt;      /* prepared on the current reference */
	signed char readonly;    /* sqlite3_stmt_readonly: 1, 0, -1 unknown
				    (did not prepare when classified) */
	signed char dml;         /* 1 when INSERT/UPDATE/DELETE at top level,
				    so that sqlite3_changes means something */
};

/* A row changed while the update hook was recording. */
struct oracle__write {
	uint32_t table;          /* index into oracle__ref.tables */
	int64_t rowid;
};

struct oracle__ref {
	sqlite3 *db;                   /* the reference, or NULL */
	const struct history *h;
	const struct oracle_config *cfg;
	struct oracle__sql *sqls;      /* interned texts, id order */
	uint32_t sql_count;
	uint32_t sql_cap;
	uint32_t *slots;               /* open-addressing table of id + 1 */
	uint32_t slot_cap;             /* power of two */
	uint32_t *stmt_sql;            /* sql id of each recorded statement */
	uint64_t *stmt_base;           /* txn id -> first index in stmt_sql */
	sqlite3_stmt *sp_open;         /* SAVEPOINT wh_probe */
	sqlite3_stmt *sp_undo;         /* ROLLBACK TO wh_probe */
	sqlite3_stmt *sp_release;      /* RELEASE wh_probe */
	sqlite3_stmt *begin;
	sqlite3_stmt *commit;
	sqlite3_stmt *rollback;
	struct oracle__sql *auth_target; /* statement being prepared */
	bool hook_on;                  /* update hook records into writes */
	struct oracle__write *writes;
	uint32_t write_count;
	uint32_t write_cap;
	char **tables;                 /* table names seen by the hook */
	uint32_t table_count;
	struct oracle__result scratch; /* unordered multi-row compares */
	struct oracle__result probe;   /* digests of uncaptured statements */
	char *error;                   /* why open failed, owned */
};

/* Statement probe options for oracle__ref_exec. */
struct oracle__probe {
	bool stop_early;               /* stop at the first mismatch */
	bool *match;                   /* per statement: matched (or NULL) */
	uint64_t *digest;              /* per statement digest (or NULL) */
	uint32_t capture_stmt;         /* which statement to capture */
	struct oracle__result *capture; /* its result (or NULL) */
};

/* Interns every statement text of h (once per check). */
void oracle__ref_init(struct oracle__ref *r, const struct history *h,
		      const struct oracle_config *cfg);
void oracle__ref_fini(struct oracle__ref *r);
/* Opens a fresh reference: pragmas, setup SQL. Returns 0, or -1 with
 * r->error set. Closes a previous one first. */
int oracle__ref_open(struct oracle__ref *r);
void oracle__ref_close(struct oracle__ref *r);
/* Prepares every interned text to learn readonly and dml flags. */
void oracle__ref_classify(struct oracle__ref *r);
/* Whether the recorded rc says nothing about the database state (busy,
 * I/O error...), so the statement is neither replayed nor compared. */
bool oracle__rc_environmental(int rc);
/* Statement j of t is skipped, read-only, or a writer. */
bool oracle__stmt_skipped(const struct hist_txn *t, uint32_t j);
bool oracle__stmt_readonly(const struct oracle__ref *r,
			   const struct hist_txn *t, uint32_t j);
/* Statement j of t changes rows itself (its changes count is compared). */
bool oracle__stmt_dml(const struct oracle__ref *r, const struct hist_txn *t,
		      uint32_t j);
/* Every replayed statement of t is read-only. */
bool oracle__txn_readonly(const struct oracle__ref *r,
			  const struct hist_txn *t);
/* Runs statement j of t; true when it matches the recorded outcome
 * (always true for a skipped statement). cap (optional) receives the
 * reference's result. */
bool oracle__ref_stmt(struct oracle__ref *r, const struct hist_txn *t,
		      uint32_t j, struct oracle__result *cap);
/* Runs statements [0, n) of t in the current transaction context.
 * Returns the first mismatching index, or ORACLE_NONE. p may be NULL
 * (run all, no capture). */
uint32_t oracle__ref_exec(struct oracle__ref *r, const struct hist_txn *t,
			  uint32_t n, const struct oracle__probe *p);
/* Applies committed t for good (BEGIN ... COMMIT unless autocommit).
 * Returns the first mismatching statement, t->stmt_count when COMMIT
 * failed (*why then holds the message, owned), or ORACLE_NONE. */
uint32_t oracle__ref_apply(struct oracle__ref *r, const struct hist_txn *t,
			   char **why);
/* SAVEPOINT / ROLLBACK TO + RELEASE around a probe. */
void oracle__ref_save(struct oracle__ref *r);
void oracle__ref_undo(struct oracle__ref *r);
/* Runs t's statements [0, n) as a probe that leaves no trace. */
uint32_t oracle__ref_try(struct oracle__ref *r, const struct hist_txn *t,
			 uint32_t n, const struct oracle__probe *p);
/* Quotes an identifier for SQL ("a""b"). */
void oracle__buf_ident(struct oracle__buf *b, const char *name);

/* ------------------------------------------------------------------ */
/* Plans and the replay (oracle.c)                                      */
/* ------------------------------------------------------------------ */

enum oracle__role {
	ORACLE_ROLE_NONE,     /* nothing to check (no statements) */
	ORACLE_ROLE_ANCHOR,   /* must match at its own step */
	ORACLE_ROLE_WINDOW,   /* must match somewhere in [lo, hi] */
};

struct oracle__step {
	uint32_t txn;         /* transaction id */
	bool noop;            /* cannot change the state */
};

/* One assignment of the indeterminate transactions, and what follows
 * from it: the serial order and every transaction's allowed positions. */
struct oracle__plan {
	struct oracle__step *steps;
	uint32_t step_count;
	uint32_t *step_of;    /* txn -> its step, or ORACLE_NONE */
	uint8_t *role;        /* txn -> enum oracle__role */
	uint32_t *lo;         /* txn -> first allowed position */
	uint32_t *hi;         /* txn -> last allowed position */
	uint32_t *windows;    /* window txns sorted by (lo, id) */
	uint32_t window_count;
	bool *included;       /* per indeterminate writer: assumed committed */
};

struct oracle__failure {
	uint32_t txn;
	bool anchored;        /* failed at its commit position */
	uint32_t best_pos;    /* position where the longest prefix matched */
	uint32_t best_stmt;   /* first mismatching statement there
				 (stmt_count: COMMIT failed) */
	char *why;            /* COMMIT's error on the reference, or NULL */
};

/* A row whose final value differs between target and reference. */
struct oracle__rowdiff {
	char *table;
	int64_t rowid;
	struct oracle__result target; /* 0 or 1 row: _rowid_, * */
	struct oracle__result ref;    /* 0 or 1 row */
};

/* What the final-state comparison found (per plan). */
struct oracle__final {
	struct oracle__rowdiff *rows;  /* first rows of rowid tables */
	uint32_t row_count;
	uint32_t row_cap;
	char **texts;                  /* other differences, one per table,
					  index or schema entry */
	uint32_t text_count;
	uint64_t diff_total;           /* every differing row or entry */
};

/* Everything a check run produced under one plan. */
struct oracle__outcome {
	struct oracle__failure *failures; /* by txn id */
	uint32_t failure_count;
	uint32_t failure_cap;
	struct oracle__final final;
};

struct oracle__ctx {
	const struct history *h;
	const struct oracle_config *cfg;
	struct oracle__ref ref;
	sqlite3 *target;              /* opened read-only, or NULL */
	bool *txn_ro;                 /* txn -> all replayed stmts read-only */
	uint32_t commit_count;
	uint32_t *by_commit;          /* commit index -> txn id */
	uint32_t indet_count;
	uint32_t *indets;             /* indeterminate writers, slot order */
	uint32_t *indet_slot;         /* commits that precede each */
	struct oracle_report *report;
	uint32_t dropped;             /* violations past ORACLE_VIOLATIONS_MAX */
};

/* Adds a violation to the report (detail is taken over; txns copied,
 * sorted and de-duplicated). */
void oracle__report_add(struct oracle__ctx *c, const char *kind,
			char *detail, const uint32_t *txns,
			uint32_t txn_count);
/* Whether transaction t's outcome and plan make it a committed one. */
bool oracle__txn_happened(const struct oracle__ctx *c,
			  const struct oracle__plan *p, uint32_t txn);
/* Replays every step of p on a fresh reference (left at the final state).
 * Returns 0, or -1 when the reference could not be opened. */
int oracle__sweep(struct oracle__ctx *c, const struct oracle__plan *p,
		  struct oracle__outcome *out);

/* ------------------------------------------------------------------ */
/* Final state (final.c) and explanations (explain.c)                  */
/* ------------------------------------------------------------------ */

/* Compares every table and index of the target with the reference (at
 * its final state). A side that cannot be read is itself a difference
 * (a text saying why), so this returns 0; -1 is kept for oracle
 * failures. */
int oracle__final_compare(struct oracle__ctx *c, struct oracle__final *f);
void oracle__final_free(struct oracle__final *f);
/* integrity_check, foreign_key_check and the invariants on the target. */
void oracle__target_checks(struct oracle__ctx *c);
/* Replays p once more to name what went wrong; adds the violations for
 * o's failures and final-state differences. Returns 0 or -1. */
int oracle__explain(struct oracle__ctx *c, const struct oracle__plan *p,
		    const struct oracle__outcome *o);

#endif /* WH_ORACLE_INT_H */
