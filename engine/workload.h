/*
 * workload.h - the interface between the connection driver and what
 * connections run: a setup, transactions drawn from weighted templates,
 * and end-of-run invariants.
 *
 * Declared here, at the bottom, and implemented above: the engine drives
 * any struct workload without knowing who built it (the way SQLite
 * declares sqlite3_vfs and lets others implement it). The built-in
 * workloads and the workload-file loader live in workloads/ (workloads.h).
 *
 * A workload is an interpreter behind a small vtable. For each connection
 * the driver creates a state (conn_new). For each transaction it asks for a
 * template (txn_begin), then repeatedly for the next action (txn_next),
 * handing back the result of the statement it just ran, so a template can
 * read a value and write something derived from it (pgbench's \gset), sleep
 * in simulated time, branch, commit or roll back.
 *
 * Randomness: every draw comes from the `rng` the driver passes in (the
 * connection's seeded stream); a workload keeps no other source.
 * Re-entrancy: the driver calls txn_begin/txn_next exactly once per step
 * (never again on resume), so a workload may advance its state freely.
 * When a transaction ends the driver says how (txn_end), so a workload
 * may keep per-connection state that follows only committed work.
 */
#ifndef WH_WORKLOAD_H
#define WH_WORKLOAD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "prng.h"
#include "value.h"

#define WL_MAX_PARAMS 32

/* Compose a workload for any SQLite: every include is kept. */
#define WL_SQLITE_ANY INT_MAX

enum wl_action_kind {
	WL_ACT_STMT,     /* run sql with params */
	WL_ACT_SLEEP,    /* pause sleep_us of simulated time */
	WL_ACT_COMMIT,   /* end the transaction with COMMIT */
	WL_ACT_ROLLBACK, /* end the transaction with ROLLBACK (aborted) */
};

struct wl_action {
	enum wl_action_kind kind;
	const char *sql;               /* WL_ACT_STMT; valid until next call */
	const char *tmpl;              /* statement template name, e.g.
					  "transfer.debit" (signatures) */
	uint32_t param_count;          /* bound as ?1..?n */
	const struct wh_value *params; /* valid until the next call */
	uint64_t sleep_us;             /* WL_ACT_SLEEP */
	uint32_t flags;                /* HIST_STMT_NOCHECK/NOREPLAY */
};

struct workload;

struct wl_ops {
	/* Per-connection state; conn_id is 0-based. Never NULL. */
	void *(*conn_new)(const struct workload *wl, uint32_t conn_id);
	void (*conn_free)(void *cs);
	/* Choose the next transaction: its template name (static for the
	 * workload's lifetime) and how it begins. For HIST_BEGIN_AUTOCOMMIT
	 * the transaction is exactly one WL_ACT_STMT. */
	void (*txn_begin)(void *cs, struct wh_prng *rng, const char **name,
			  enum hist_begin *begin);
	/* The next action. prev is the statement just run (its rows, rc), or
	 * NULL before the first. Called only while the previous statement
	 * succeeded; an error aborts the transaction in the driver. */
	void (*txn_next)(void *cs, struct wh_prng *rng, const struct hist_stmt *prev,
			 struct wl_action *out);
	/* The transaction txn_begin chose has ended with outcome (never
	 * HIST_RUNNING): called once, after its last action, whatever
	 * ended it (COMMIT, ROLLBACK, an error, a crash). It draws nothing.
	 * NULL: the workload keeps no state across transactions that
	 * depends on how they ended. */
	void (*txn_end)(void *cs, enum hist_outcome outcome);
};

/* Elle micro-operations a statement stands for, when the workload
 * declares a shape (\shape list-append | rw-register). */
enum wl_elle_kind {
	WL_ELLE_READ,   /* list-append: every row's first column, in order,
			   is the list under the key; rw-register: the first
			   row's first column is the value (no row: nil) */
	WL_ELLE_APPEND, /* list-append: [:append key value] */
	WL_ELLE_WRITE,  /* rw-register: [:w key value] */
};

struct wl_elle_op {
	const char *tmpl;              /* the statement's template name, as
					  recorded in hist_stmt.tmpl */
	enum wl_elle_kind kind;
	uint32_t key_param;            /* 1-based ?N bound to the key */
	uint32_t value_param;          /* 1-based ?N bound to the value
					  (APPEND, WRITE), 0 for READ */
};

/* Errors a workload says a statement, or a whole template, may end with
 * (`\expect CODE...`, workloads/README.md): such an abort is the workload
 * working as written, not a sign of a mistake in it. Only the run's
 * report reads them; they never change what a run does. */
struct wl_expect {
	const char *name;              /* a statement's recorded name
					  (hist_stmt.tmpl, "book.take"), or a
					  template's (hist_txn.name, "book"):
					  then every statement of it, BEGIN and
					  COMMIT */
	bool whole_template;           /* name is a template's */
	const int *codes;              /* code_count result codes; a primary
					  code (below 256) stands for each
					  extended code of its class */
	uint32_t code_count;
};

/* An SQLite version a workload needs: its file says so with
 * `\requires sqlite VERSION [REASON]` (workloads/README.md). An SQLite
 * older than that cannot even prepare some of its statements, which would
 * fail on the target and succeed on the reference: false findings. */
struct wl_requirement {
	int version;                   /* as sqlite3_libversion_number(),
					  e.g. 3035000; 0: no requirement */
	const char *reason;            /* the declaration's text after the
					  version ("ALTER TABLE DROP COLUMN"),
					  "" when it gives none */
	const char *origin;            /* the file that declares it */
	uint32_t line;                 /* the \requires line there */
};

/* An included workload (at any depth) that has a requirement, and
 * whether the composition left it out: it is left out, with everything
 * it includes, when the SQLite the workload was composed for is older
 * than it needs (the other entries keep their weights). */
struct wl_include_need {
	const char *name;              /* as its templates are prefixed,
					  without the final '/': "ddl-churn",
					  "mix/ddl-churn" */
	struct wl_requirement needs;
	bool left_out;
};

struct workload {
	const char *name;
	const char *description;
	const char *setup_sql;         /* run once before connections */
	const char *const *invariants; /* SQL returning one true row */
	uint32_t invariant_count;
	const char *const *pragmas;    /* "foreign_keys=ON", applied on every
					  connection and the reference */
	uint32_t pragma_count;
	const struct wl_ops *ops;
	void *impl;                    /* the implementation's data */
	/* Added with workload files (all may be NULL/0 for a C workload): */
	const char *shape;             /* "list-append", "rw-register", or
					  NULL: no Elle shape declared */
	const struct wl_elle_op *elle_ops; /* statement -> micro-op map */
	uint32_t elle_op_count;
	uint64_t content_hash;         /* FNV-1a of the file's text and of
					  the text of every file it
					  includes and the composition kept
					  (not of --param values) */
	const char *source;            /* the file's text */
	const char *origin;            /* its path ("workloads/bank.sql" for
					  a built-in) */
	const char *const *params;     /* every parameter with its value in
					  effect, "NAME=VALUE"; included
					  files' as "INCLUDE/NAME=VALUE" */
	uint32_t param_count;
	/* Added with \requires (0/NULL for a C workload): */
	struct wl_requirement requires; /* what this workload needs to run at
					  all: its highest \requires, or for a
					  workload made of includes only, the
					  least any of them needs if that is
					  more */
	int composed_for;              /* the SQLite version number the
					  includes were chosen for, or
					  WL_SQLITE_ANY */
	const struct wl_include_need *include_needs; /* in include order,
					  depth first */
	uint32_t include_need_count;
	uint32_t left_out_count;       /* entries of include_needs left out */
	/* Added with \expect (NULL/0 for a C workload): */
	const struct wl_expect *expects; /* in file order, includes first */
	uint32_t expect_count;
};

/* Does SQLite version `version` meet requirement r? */
static inline bool wl_requirement_met(const struct wl_requirement *r, int version)
{
	return r->version <= version;
}

#endif /* WH_WORKLOAD_H */
