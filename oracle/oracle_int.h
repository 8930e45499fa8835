/*
 * oracle_int.h - internals shared by the oracle's files (ref.c, oracle.c,
 * crash.c, final.c, explain.c). Not a public API: the contract is
 * oracle.h.
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
 *   crash     a crash (power loss) or clean reopen of the history. It is a
 *             step of its own, between the steps of the transactions that
 *             began before it and those that began after; applying it
 *             restores the reference to the state the target recovered to
 *             (a position of its epoch), so the commits that follow are
 *             replayed from there.
 *   epoch     the steps and transactions between two crashes. Every
 *             transaction lies in one epoch (all connections die at a
 *             crash), and its allowed positions never leave it.
 *   batch     the committed transactions applied inside the reference's
 *             current long transaction (ref.c), replayed again when a
 *             statement rolls it back.
 */
#ifndef WH_ORACLE_INT_H
#define WH_ORACLE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "history.h"
#include "oracle.h"
#include "wh.h"

#define ORACLE_NONE UINT32_MAX  /* no step / no statement / matched */
#define ORACLE_UNINTERNED UINT64_MAX /* stmt_base of a txn not interned */
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
/* Appends the current row of st, a linked-SQLite statement, to r
 * (values copied). */
void oracle__result_add_row(struct oracle__result *r, sqlite3_stmt *st);
/* The same for a statement of api's library (the target's, when the
 * oracle reads the target through it). */
void oracle__result_add_row_with(struct oracle__result *r, const struct wh_sqlapi *api,
				 sqlite3_stmt *st);

/* ------------------------------------------------------------------ */
/* The reference database (ref.c)                                       */
/* ------------------------------------------------------------------ */

/* One distinct statement text; statements are prepared once per
 * reference database and reused (the cache is indexed by id, assigned in
 * first-appearance order, so its structure never depends on hashing).
 * The classification below is learned through the authorizer while the
 * text is prepared (ref_authorize), once per reference. */
struct oracle__sql {
	const char *text;        /* borrowed from the history */
	uint32_t len;            /* strlen(text) */
	uint32_t hash;           /* text_hash(text) */
	sqlite3_stmt *stmt;      /* prepared on the current reference */
	signed char readonly;    /* sqlite3_stmt_readonly: 1, 0, -1 unknown
				    (did not prepare when classified) */
	signed char dml;         /* 1 when INSERT/UPDATE/DELETE at top level
				    and no schema change, so that
				    sqlite3_changes means something */
	bool ddl;                /* creates, drops or alters a schema object
				    (DROP TABLE deletes rows, yet leaves
				    sqlite3_changes stale: never dml) */
	bool savepoint;          /* SAVEPOINT, RELEASE or ROLLBACK TO, which
				    SQLite calls read-only */
	bool solo;               /* must run outside any transaction: BEGIN,
				    COMMIT, ROLLBACK, ATTACH, DETACH, VACUUM,
				    a PRAGMA that sets something */
	signed char ro_class;    /* readonly as classified on the setup
				    state (what txn_ro is built from) */
	bool keep;               /* the flags above came from a successful
				    prepare on the setup state (the stream's
				    classifier): preparing on the reference
				    leaves them; cleared when it closes */
};

/* A row changed while the update hook was recording. */
struct oracle__write {
	uint32_t table;          /* index into oracle__ref.tables */
	int64_t rowid;
};

/* Bits of one recorded statement, fixed for the whole check (see
 * oracle__stmt_skipped and its siblings). */
#define ORACLE_SB_SKIPPED 0x1u   /* never run, never compared */
#define ORACLE_SB_UNCERTAIN 0x2u /* runs only when applied as committed */
#define ORACLE_SB_COMPARED 0x4u  /* its result is compared */

/* Committed transactions applied inside one long transaction on the
 * reference before it is committed (see ref.c, "Transactions on the
 * reference"); bounds the replay after a statement rolled it back. */
#define ORACLE_BATCH_MAX 256

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
	uint8_t *stmt_bits;            /* ORACLE_SB_* of each recorded
					  statement, same index */
	uint64_t *stmt_base;           /* txn id -> first index in stmt_sql,
					  or ORACLE_UNINTERNED */
	uint32_t base_cap;             /* entries in stmt_base */
	uint64_t stmt_total;           /* entries used in stmt_sql/stmt_bits */
	uint64_t stmt_cap;             /* entries allocated in them */
	const char *vfs;               /* VFS the reference opens with (NULL:
					  the default) */
	sqlite3 *classifier;           /* the setup state, never changed, to
					  classify texts interned after the
					  reference moved on (the stream), or
					  NULL */
	uint64_t rand_state;           /* random() on the reference */
	sqlite3_stmt *sp_open;         /* SAVEPOINT wh_probe */
	sqlite3_stmt *sp_undo;         /* ROLLBACK TO wh_probe */
	sqlite3_stmt *sp_release;      /* RELEASE wh_probe */
	sqlite3_stmt *txn_open;        /* SAVEPOINT wh_txn */
	sqlite3_stmt *txn_release;     /* RELEASE wh_txn */
	sqlite3_stmt *begin;
	sqlite3_stmt *commit;
	sqlite3_stmt *rollback;
	struct oracle__sql *auth_target; /* statement being prepared */
	bool hook_on;                  /* update hook records into writes */
	bool applying;                 /* inside oracle__ref_apply: uncertain
					  statements run */
	bool pristine;                 /* holds the setup state: nothing was
					  applied since oracle__ref_open */
	bool in_outer;                 /* the long transaction is open */
	bool ddl_run;                  /* a schema change ran in it: commit
					  it at the next chance (see ref.c) */
	uint32_t *batch;               /* txns applied inside it, in order */
	uint32_t batch_count;          /* at most ORACLE_BATCH_MAX */
	struct oracle__write *writes;
	uint32_t write_count;
	uint32_t write_cap;
	char **tables;                 /* table names seen by the hook */
	uint32_t table_count;
	struct oracle__result scratch; /* unordered multi-row compares */
	struct oracle__result probe;   /* digests of uncaptured statements */
	struct digest_cache digests; /* oracle__ref_digest's */
	char *error;                   /* why open failed, owned */
	/* The step budget (oracle_config.step_budget), metered only while
	 * a statement of the history runs (oracle__ref_stmt): the oracle's
	 * own queries are not the workload's. */
	bool metering;
	uint64_t vm_steps;             /* of the statement metered */
	const struct hist_stmt *metered; /* that statement */
	uint32_t metered_txn;
	char *runaway;                 /* the first one stopped, described
					  (owned), or NULL */
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
/* An empty statement cache, for transactions interned one at a time
 * (oracle__ref_add_txn) as a running history publishes them. */
void oracle__ref_init_empty(struct oracle__ref *r, const struct history *h,
			    const struct oracle_config *cfg);
/* Interns the statements of t, once (a second call does nothing); ids
 * need not come in order. Returns the first new text id: texts
 * [returned, r->sql_count) are new. */
uint32_t oracle__ref_add_txn(struct oracle__ref *r, const struct hist_txn *t);
/* Whether t's statements are interned. */
bool oracle__ref_has_txn(const struct oracle__ref *r, const struct hist_txn *t);
/* Classifies texts [from, r->sql_count) on a private database holding
 * the setup state (opened on first use), exactly as oracle__ref_classify
 * does on a pristine reference, so the reference itself may have moved
 * on. Returns 0, or -1 with r->error set. */
int oracle__ref_classify_from(struct oracle__ref *r, uint32_t from);
void oracle__ref_fini(struct oracle__ref *r);
/* r was moved (copied to a new address, the old one dropped): points the
 * callbacks of its databases (authorizer, update hook, functions) at it. */
void oracle__ref_moved(struct oracle__ref *r);
/* Opens a fresh reference: pragmas, setup SQL. Returns 0, or -1 with
 * r->error set. Closes a previous one first. */
int oracle__ref_open(struct oracle__ref *r);
void oracle__ref_close(struct oracle__ref *r);
/* Prepares every interned text to learn readonly and dml flags. */
void oracle__ref_classify(struct oracle__ref *r);
/* Whether the recorded rc says nothing about the database state (busy,
 * I/O error...), so the statement is neither replayed nor compared. */
bool oracle__rc_environmental(int rc);
/* Statement j of t is skipped (flagged HIST_STMT_NOREPLAY, or an
 * environmental error that is neither NOCHECK nor uncertain): never run,
 * never compared. */
bool oracle__stmt_skipped(const struct hist_txn *t, uint32_t j);
/* Statement j of t may have committed although it failed: flagged
 * HIST_STMT_UNCERTAIN, or the failed statement of an indeterminate
 * autocommit transaction. It runs, uncompared, only when its transaction
 * is applied as committed. */
bool oracle__stmt_uncertain(const struct hist_txn *t, uint32_t j);
/* Statement j of t has its result compared (not NOCHECK, not uncertain,
 * not recorded with an environmental error). A statement that is neither
 * skipped nor compared runs for its effect only. */
bool oracle__stmt_compared(const struct hist_txn *t, uint32_t j);
/* Statement j of t is read-only, or a writer. */
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
/* Applies committed t for good, as if it had committed on its own:
 * inside the long transaction (batched), in its own transaction when it
 * holds a statement that must run outside one (solo), or again in its own
 * when the batched attempt could not stand for that (a statement rolled
 * the long transaction back, or COMMIT would have failed on a deferred
 * foreign key). Returns the first mismatching statement, t->stmt_count
 * when COMMIT failed (*why then holds the message, owned), or
 * ORACLE_NONE. */
uint32_t oracle__ref_apply(struct oracle__ref *r, const struct hist_txn *t,
			   char **why);
/* Commits the long transaction, if open: the reference is then between
 * transactions (for readers that expect that: final compare). */
void oracle__ref_settle(struct oracle__ref *r);
/* SAVEPOINT wh_probe (inside the long transaction, which it opens when
 * needed), then ROLLBACK TO + RELEASE: a probe between them leaves no
 * trace. When a statement of the probe rolled the long transaction back,
 * undo applies its batch again, so the state is as before save. */
void oracle__ref_save(struct oracle__ref *r);
void oracle__ref_undo(struct oracle__ref *r);
/* Runs t's statements [0, n) as a probe that leaves no trace (in a
 * savepoint unless every replayed statement is a plain read). */
uint32_t oracle__ref_try(struct oracle__ref *r, const struct hist_txn *t,
			 uint32_t n, const struct oracle__probe *p);
/* Quotes an identifier for SQL ("a""b"). */
void oracle__buf_ident(struct oracle__buf *b, const char *name);

/* ------------------------------------------------------------------ */
/* Plans and the replay (oracle.c)                                      */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* Crashes and digests (crash.c)                                        */
/* ------------------------------------------------------------------ */

/* What a sweep found at one crash. */
struct oracle__crash_out {
	uint32_t pos;            /* the state the replay resumed from: a
				    position of the crash's epoch (the crash
				    step itself when nothing matched) */
	bool matched;            /* the recovered digest equals the reference
				    at pos */
	uint32_t level;          /* search level (ORACLE_CRASH_LEVELS) */
	bool epoch_first;        /* the epoch's first state was compared */
	uint32_t lo;             /* first position compared (besides the
				    epoch's first) */
	uint32_t states;         /* distinct states compared */
	uint32_t phantom;        /* an unfinished txn whose statements, on
				    top of the pre-crash state, give the
				    recovered digest; or ORACLE_NONE */
	uint32_t phantom_prefix; /* how many of its statements */
	uint32_t undo_from;      /* ORACLE_NONE, or (a power loss right after
				    a clean reopen) a position of the
				    reopen's epoch: the indeterminate writers
				    from there to the reopen are lost here
				    too. A reopen syncs nothing, so a COMMIT
				    that failed after its journal's
				    finalisation but before that was synced
				    is visible at the reopen and undone by
				    the power loss (see crash.c); or (earlier
				    set) a position of the previous epoch */
	bool earlier;            /* undo_from is a loss of commits the
				    previous crash's recovery had shown
				    (oracle__crash_lost_earlier) */
	bool earlier_bad;        /* ... and the promise kept some of them */
};

/* One distinct reference state passed in a crash's epoch. */
struct oracle__state_digest {
	uint32_t first;          /* first position with this state */
	uint32_t last;           /* last position with this state */
	uint64_t version;        /* the sweep's state version */
	uint64_t digest;         /* digest_db of the reference */
};

/* The digests a sweep collects for the crash ending the current epoch. */
struct oracle__crash_search {
	uint32_t crash;          /* crash index */
	uint32_t first;          /* the epoch's first position */
	uint32_t lo;             /* positions >= lo are compared */
	uint32_t level;          /* 0 quick; above, also the epoch's first
				    position */
	struct oracle__state_digest *states;
	uint32_t state_count;
	uint32_t state_cap;
};

enum oracle__role {
	ORACLE_ROLE_NONE,     /* nothing to check (no statements) */
	ORACLE_ROLE_ANCHOR,   /* must match at its own step */
	ORACLE_ROLE_WINDOW,   /* must match somewhere in [lo, hi] */
};

struct oracle__step {
	uint32_t txn;         /* transaction id, or ORACLE_NONE (a crash) */
	uint32_t crash;       /* crash index of a crash step, or ORACLE_NONE */
	bool noop;            /* applies no transaction (a crash step is a
				 noop that may restore an earlier state) */
};

/* An entry of the serial order, the same for every plan (plans differ
 * only in which entries are no-ops). */
struct oracle__slot {
	uint32_t txn;         /* transaction id, or ORACLE_NONE (a crash) */
	uint32_t crash;       /* crash index, or ORACLE_NONE */
	uint32_t indet;       /* index in indets, or ORACLE_NONE */
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
	char **ref_invariants;         /* per invariant, how it fails on
					  the reference at its final
					  position ("returned 0"), NULL
					  where it holds; NULL: not taken */
	uint32_t ref_invariant_count;
};

/* Everything a check run produced under one plan. */
/* A sweep's evaluations of window transactions: at position pos[i],
 * transaction txn[i] gave m[i] (oracle__ref_try), in the order made (pos
 * ascending). */
struct oracle__evals {
	uint32_t *txn, *pos, *m;
	uint32_t count, cap;
};

/* The digests a sweep took for crash searches (oracle__crash_observe):
 * the reference at position pos[i] digested to d[i], pos ascending. */
struct oracle__digests {
	uint32_t *pos;
	uint64_t *d;
	uint32_t count, cap;
};

struct oracle__outcome {
	struct oracle__evals evals;       /* for later plans' sweeps to reuse
					     where their state is the same
					     (oracle.c, memo_lookup) */
	struct oracle__digests digests;   /* likewise (crash.c) */
	uint32_t crashes_done;            /* crashes the sweep resolved */
	struct oracle__failure *failures; /* by txn id */
	uint32_t failure_count;
	uint32_t failure_cap;
	struct oracle__final final;
	struct oracle__crash_out *crashes; /* crash_count entries */
	uint32_t crash_bad;               /* crashes whose recovered state is
					     no allowed position */
	bool unmatched;                   /* the sweep stopped at a crash it
					     could not match: search again at
					     the next level (the outcome is
					     incomplete) */
	bool cut;                         /* the sweep stopped because it could
					     no longer beat the plan search's
					     best (oracle__ctx.bound): the
					     outcome is incomplete, and only
					     worse */
	struct oracle__plan plan;         /* the plan it was found under
					     (owned; kept for the report) */
};

struct oracle__stream_result;

struct oracle__ctx {
	const struct history *h;
	const struct oracle_config *cfg;
	const struct oracle__outcome *memo; /* a sweep of the same states up
					 to memo_to (exclusive): its
					 evaluations and digests stand for
					 this one's (oracle.c) */
	uint32_t memo_to;
	uint32_t memo_at;             /* where the evaluation lookups left
					 off in memo (oracle__memo_seek) */
	uint32_t memo_digest_at;      /* and the digest lookups (crash.c) */
	bool memo_record;             /* a sweep records its evaluations and
					 digests for later sweeps */
	bool bound_set;               /* a plan search's sweep: stop it once
					 it cannot beat bound_hard, bound_bad
					 (oracle.c, sweep_cut) */
	uint64_t bound_hard, bound_bad;
	struct oracle__ref ref;
	sqlite3 *target;              /* opened read-only, or NULL */
	const struct wh_sqlapi *tapi; /* the library target was opened with
					 (cfg->target_api, or the linked) */
	bool *txn_ro;                 /* txn -> all replayed stmts read-only */
	uint32_t commit_count;
	uint32_t *by_commit;          /* commit index -> txn id */
	uint32_t indet_count;
	uint32_t *indets;             /* indeterminate writers, slot order */
	uint32_t *indet_slot;         /* commits that precede each */
	uint32_t crash_count;         /* history crashes */
	uint32_t *txn_epoch;          /* txn -> crashes before its begin */
	struct oracle__slot *order;   /* the serial order, order_count */
	uint32_t order_count;         /* commits + indeterminate + crashes */
	uint32_t *crash_step;         /* crash -> its step */
	uint32_t *crash_required;     /* crash -> position after the last
					 committed writer of its epoch */
	uint32_t first_power_loss;    /* crash index, or ORACLE_NONE */
	uint32_t crash_viol_begin;    /* the crash verdicts' violations: */
	uint32_t crash_viol_end;      /* [begin, end) in the report */
	struct oracle_report *report;
	uint32_t dropped;             /* violations past ORACLE_VIOLATIONS_MAX */
	struct oracle__stream_result *stream; /* what the concurrent check
					 proved, until the first check run
					 confirms or drops it (owned) */
};

/* Adds a violation to the report (detail is taken over; txns copied,
 * sorted and de-duplicated). Returns its index in the report, or
 * ORACLE_NONE when the report is full (the violation is counted only). */
uint32_t oracle__report_add(struct oracle__ctx *c, const char *kind,
			    char *detail, const uint32_t *txns,
			    uint32_t txn_count);
/* Appends text to the report's note ("; " between notes). */
void oracle__report_note(struct oracle_report *r, const char *text);
/* First and last position of epoch e (0..crash_count). */
uint32_t oracle__epoch_first(const struct oracle__ctx *c, uint32_t e);
uint32_t oracle__epoch_last(const struct oracle__ctx *c, uint32_t e);
/* The first guess for an indeterminate writer: committed when the
 * driver saw its commit point pass (hist_txn.commit_hint: the rollback
 * journal finalised, or its process died after it let the write lock go
 * inside COMMIT); not committed otherwise (an I/O error inside a WAL
 * COMMIT: SQLite rolls back, and lets the lock go too, so the release
 * alone says nothing). */
bool oracle__indet_guess(const struct hist_txn *t);
/* Whether transaction t's outcome and plan make it a committed one. */
bool oracle__txn_happened(const struct oracle__ctx *c,
			  const struct oracle__plan *p, uint32_t txn);
/* Replays every step of p on a fresh reference (the one ctx_init opened,
 * while still pristine), left at the final state, committed (no long
 * transaction open, for the final compare).
 * At each crash, compares the recovered digest with the reference states
 * of the epoch that the search level covers (crash.c) and resumes from
 * the match; below the last level, a crash that matches nothing stops
 * the sweep with out->unmatched set. Returns 0, or -1 when the reference
 * could not be opened or digested. */
int oracle__sweep(struct oracle__ctx *c, const struct oracle__plan *p,
		  uint32_t level, struct oracle__outcome *out);

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
void oracle__target_checks(struct oracle__ctx *c, const struct oracle__final *f);
/* Replays p once more to name what went wrong; adds the violations for
 * o's failures and final-state differences. Returns 0 or -1. */
int oracle__explain(struct oracle__ctx *c, const struct oracle__plan *p,
		    const struct oracle__outcome *o);

/* Search levels, each a sweep run only when the previous one left a
 * crash unmatched: level 0 compares what the promise allows (reopen and
 * ALL: the states after the epoch's last committed writer; PREFIX and
 * NONE: the last ORACLE_CRASH_QUICK_STATES); level 1 also the last
 * ORACLE_CRASH_STATES_MID and the epoch's first state; level 2 the last
 * ORACLE_CRASH_STATES_MAX, and tries phantoms. */
#define ORACLE_CRASH_LEVELS 3
#define ORACLE_CRASH_QUICK_STATES 16
#define ORACLE_CRASH_STATES_MID 1024
#define ORACLE_CRASH_STATES_MAX 16384
_Static_assert(ORACLE_CRASH_QUICK_STATES < ORACLE_CRASH_STATES_MID &&
		       ORACLE_CRASH_STATES_MID < ORACLE_CRASH_STATES_MAX,
	       "each crash search level compares more states");
/* Unfinished transactions tried as the source of a recovered state. */
#define ORACLE_CRASH_PHANTOMS_MAX 8
/* Statements of such a transaction tried (prefixes). */
#define ORACLE_CRASH_PHANTOM_STMTS 16

/* Starts the digest search for crash e of plan p. */
void oracle__crash_search_begin(const struct oracle__ctx *c,
				const struct oracle__plan *p, uint32_t e,
				uint32_t level, struct oracle__crash_search *cs);
void oracle__crash_search_free(struct oracle__crash_search *cs);
/* The reference is at position k with state version: digests it when k
 * is compared and the state is new. Returns SQLITE_OK or the error of
 * digest_db on the reference. */
int oracle__crash_observe(struct oracle__ctx *c,
			  struct oracle__crash_search *cs, uint32_t k,
			  uint64_t version, struct oracle__outcome *out);
/* The memo's lookups (evaluations in oracle.c, digests in crash.c) come
 * in increasing position, so each walks its record once per sweep with a
 * cursor: moves *at past the entries of pos[0..count) (ascending) below
 * k and returns the first entry at k, or count when there is none. */
uint32_t oracle__memo_seek(const uint32_t *pos, uint32_t count, uint32_t *at, uint32_t k);
/* At the crash step (the reference at the pre-crash state): picks the
 * position the target recovered to, else tries unfinished transactions
 * (last level only). Fills *out; returns SQLITE_OK or a digest error. */
int oracle__crash_resolve(struct oracle__ctx *c, const struct oracle__plan *p,
			  const struct oracle__crash_search *cs,
			  struct oracle__crash_out *out);
/* Whether recovering crash e to position pos keeps what was promised. */
bool oracle__crash_allowed(const struct oracle__ctx *c, uint32_t e,
			   uint32_t pos);
/* Reopens the reference and applies p's steps before upto, leaving out
 * the steps each crash lost (co[e].pos <= step < crash step). Every crash
 * before upto must be resolved in co. Returns 0 or -1 (ref.error). */
/* A power loss right after a clean reopen: does the recovered state
 * lack some of the reopen epoch's trailing indeterminate writers (a
 * reopen syncs nothing)? Sets co[e].matched and undo_from when it does;
 * the reference ends at crash e's step either way. 0 or -1 (ref error). */
int oracle__crash_undo_reopen(struct oracle__ctx *c, const struct oracle__plan *p,
			      struct oracle__crash_out *co, uint32_t e);
/* Crash e matched no state of its epoch: does the recovered database
 * equal a state of the previous epoch, as when a WAL that survived the
 * previous recovery loses frames that recovery had shown (a tear on a
 * device without powersafe overwrite)? Then co[e] matches at its epoch's
 * first position with undo_from (earlier) at that state: every step from
 * there on is lost, and the report names the lost commits. The
 * reference ends at crash e's step either way. 0 or -1 (ref error). */
int oracle__crash_lost_earlier(struct oracle__ctx *c, const struct oracle__plan *p,
			       struct oracle__crash_out *co, uint32_t e);
int oracle__crash_rebuild(struct oracle__ctx *c, const struct oracle__plan *p,
			  const struct oracle__crash_out *co, uint32_t upto);
/* digest_db of the reference, with statements kept in r->digests
 * (freed by oracle__ref_close). Returns SQLITE_OK or the error. */
int oracle__ref_digest(struct oracle__ref *r, uint64_t *out);
/* Adds the crash violations of outcome o, and notes allowed losses. */
void oracle__crash_report(struct oracle__ctx *c, const struct oracle__plan *p,
			  const struct oracle__outcome *o);
/* "position 4 (state after T9)", following crash restores in co. */
void oracle__buf_position(struct oracle__buf *b, const struct oracle__plan *p,
			  const struct oracle__crash_out *co, uint32_t pos);

/* ------------------------------------------------------------------ */
/* The concurrent check (stream.c)                                      */
/* ------------------------------------------------------------------ */

/* What a complete stream proved (see stream.c): a sweep under the plan
 * `included` gives, every transaction matched, every crash recovered to
 * the state at its own step. */
struct oracle__stream_result {
	bool complete;
	struct oracle__ref ref;    /* at the final state, settled; reads the
				      run's history */
	uint32_t *steps;           /* txn id of each position's step */
	bool *step_noop;           /* the step changes nothing: read-only,
				      or an indeterminate writer assumed not
				      to have committed, or a crash */
	uint32_t *step_crash;      /* crash index of a crash step, else
				      ORACLE_NONE */
	uint32_t crash_count;      /* crashes taken */
	bool *included;            /* txn id -> an indeterminate writer
				      taken as committed (the recovered
				      state had it) */
	uint32_t step_count;
	bool *txn_ro;              /* txn id -> read-only (txn_count) */
	uint32_t *match_pos;       /* txn id -> position where a window
				      transaction matched, or ORACLE_NONE */
	uint32_t txn_count;        /* entries in txn_ro and match_pos */
};

/* Ends the stream (no more events), waits for its thread and frees it.
 * Returns what it proved when complete (free with
 * oracle__stream_result_free), else NULL. */
struct oracle__stream_result *oracle__stream_finish(struct oracle_stream *s);
void oracle__stream_result_free(struct oracle__stream_result *r);

#endif /* WH_ORACLE_INT_H */
