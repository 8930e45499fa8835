/*
 * history.h - what a run did: written by the connection driver (world.c,
 * conn.c), read by the oracle.
 *
 * The connection driver records every transaction: its statements (SQL,
 * bound parameters, result rows, changes, return code), its outcome, its
 * begin/end simulated times and its place in the global event order, and
 * for committed transactions its position in the commit order (the order
 * in which COMMIT, or an autocommit statement, returned success).
 *
 * Real-time windows use a global event counter that advances at every
 * begin, commit start and end: a transaction R began after T committed iff
 * T.end_event < R.begin_event.
 *
 * Ownership: the history owns every string and value it holds (copied in);
 * hist_free releases all of it. Transactions are referenced by index (id ==
 * index in txns[]), stable for the history's lifetime. The texts of
 * statements (sql, tmpl) and transaction names are kept once per distinct
 * text met in a row at one address (a workload hands the same template's
 * text again and again): statements share them, nothing may change or
 * free one, and they live until hist_free.
 */
#ifndef WH_HISTORY_H
#define WH_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "value.h"

enum hist_begin {
	HIST_BEGIN_AUTOCOMMIT, /* one statement, no BEGIN */
	HIST_BEGIN_DEFERRED,
	HIST_BEGIN_IMMEDIATE,
	HIST_BEGIN_EXCLUSIVE,
};

enum hist_outcome {
	HIST_RUNNING,       /* never finished (run stopped or hung) */
	HIST_COMMITTED,     /* COMMIT or autocommit statement succeeded */
	HIST_ABORTED,       /* rolled back (busy, error, or by the workload) */
	HIST_INDETERMINATE, /* COMMIT failed with an I/O error or was cut by
			       a crash: may or may not have happened */
};

struct hist_stmt {
	char *sql;                 /* statement text as executed (shared) */
	char *tmpl;                /* template name ("transfer.debit") or NULL
				      (shared) */
	uint32_t param_count;      /* bound parameters */
	struct wh_value *params;   /* param_count values, ?1.. in order */
	int rc;                    /* final SQLite rc: SQLITE_DONE, or the
				      (extended) error code */
	int64_t changes;           /* sqlite3_changes() after it, if DONE */
	uint32_t col_count;        /* result columns */
	uint32_t row_count;        /* result rows */
	struct wh_value *cells;    /* row_count * col_count, row-major */
	bool ordered;              /* rows compare in order (ORDER BY) rather
				      than as a multiset */
	uint64_t event;            /* global event at which it finished */
	uint32_t flags;            /* HIST_STMT_* (set by the driver after
				      hist_stmt_add) */
};

/* The statement's result depends on the environment (e.g. PRAGMA
 * wal_checkpoint's counters, page counts): replay it on the reference but
 * do not compare its rows or changes. */
#define HIST_STMT_NOCHECK 0x1u
/* The statement does not change logical content and must not run on the
 * reference (e.g. PRAGMA incremental_vacuum): skip it in replay. */
#define HIST_STMT_NOREPLAY 0x2u
/* The statement ended with an I/O-type error (or was cut by a crash) in a
 * transaction that is INDETERMINATE: its changes may have committed. When
 * the oracle settles the transaction as committed it must replay this
 * statement (ignoring the recorded rc and rows); as not committed, skip. */
#define HIST_STMT_UNCERTAIN 0x4u

struct hist_txn {
	uint32_t id;               /* index in history.txns */
	int conn;                  /* connection id */
	char *name;                /* template name ("transfer") (shared) */
	enum hist_begin begin;     /* how it began */
	enum hist_outcome outcome;
	int64_t commit_index;      /* 0-based commit position, or -1. The
				      driver renumbers committed txns by
				      visibility (visible_event, else
				      end_event) when the run ends */
	uint64_t begin_event;      /* global event at BEGIN (or first stmt) */
	uint64_t commit_event;     /* global event at COMMIT start, or 0 */
	uint64_t end_event;        /* global event when it finished */
	uint64_t visible_event;    /* global event at which its commit became
				      visible to others (the first release,
				      inside COMMIT, of its own write-lock
				      hold), or 0 when not observed
				      (read-only, no VFS) */
	uint64_t begin_us;         /* simulated time at begin */
	uint64_t end_us;           /* simulated time at end */
	int end_rc;                /* rc of COMMIT/ROLLBACK or the error that
				      aborted it */
	bool commit_hint;          /* INDETERMINATE only: the driver saw its
				      commit point pass before it failed (the
				      rollback journal finalised, or its
				      process died after it let the write lock
				      go inside COMMIT). A guess, not a fact: a
				      hot-journal rollback may still undo it */
	bool undone;               /* INDETERMINATE only: certainly not
				      committed (commit.c): its failed COMMIT
				      left its journal hot, and another
				      connection's recovery played it back
				      to the end and finalised it before any
				      other journal replaced it; or it was
				      latent and a later WAL write went over
				      its commit frame before any recovery */
	bool latent;               /* INDETERMINATE only: its COMMIT failed
				      after its WAL commit frame was whole,
				      still holding the WAL write lock, so the
				      wal-index never showed it: if it
				      committed, it shows from the next
				      recovery (a crash, a reopen, the end of
				      the run) on, not to readers before */
	uint32_t stmt_count;
	uint32_t stmt_cap;
	struct hist_stmt *stmts;
};

/* A crash (power loss) or a clean reopen during the run. Every
 * connection of the old "process" is gone; transactions in COMMIT at that
 * moment are INDETERMINATE. After recovery the driver opened the database
 * with a fresh connection and recorded a digest of its content
 * (digest_db), so the oracle can find which commit prefix survived. */
enum hist_crash_kind {
	HIST_CRASH_POWER_LOSS, /* unsynced data may be lost */
	HIST_CRASH_REOPEN,     /* clean close and reopen: nothing may be lost */
};

struct hist_crash {
	enum hist_crash_kind kind;
	uint64_t event;            /* global event of the crash */
	uint64_t recovered_digest; /* digest_db of the recovered db */
	int recovered_rc;          /* SQLite rc of the recovery open/digest;
				      not SQLITE_OK: recovery itself failed */
};

/* Told of every transaction begin and end and of every crash, in event
 * order, as they are recorded (oracle_stream checks a run while it runs).
 * A transaction passed to on_end is complete: the driver changes nothing
 * in it afterwards but commit_index (renumbered when the run ends). A
 * crash is told once its recovery is recorded (hist_crash_recovered); a
 * history whose crashes are never told so must not be checked with the
 * observer's conclusions (oracle_check_stream finds the crash missing). */
/* Entries of the history's cache of texts by address (a power of two). */
#define HIST_TEXT_SEEN 256

struct hist_observer {
	void (*on_begin)(void *arg, const struct hist_txn *t);
	void (*on_end)(void *arg, const struct hist_txn *t);
	void (*on_crash)(void *arg, const struct hist_crash *cr);
	void *arg;
};

struct history {
	struct hist_txn **txns;    /* txn_count pointers, id order */
	uint32_t txn_count;
	uint32_t txn_cap;
	uint64_t commit_count;     /* committed transactions so far */
	uint64_t event;            /* global event counter (last used) */
	char *setup_sql;           /* the workload's setup, exactly as run */
	struct hist_crash *crashes; /* crash_count, in event order */
	uint32_t crash_count;
	uint64_t unsafe_event;     /* journal modes MEMORY and OFF: the event
				      (hist_mark_unsafe) from which SQLite no
				      longer promises that a writer can roll
				      back, so the database may be corrupt;
				      0: never reached */
	const struct hist_observer *observer; /* or NULL (not owned) */
	/* The shared texts (see the file comment): every copy, and by the
	 * address it was handed in at, the last copy made of each text
	 * (an entry answers only for the same text, compared). Written
	 * only by the recording thread. */
	char **texts;
	uint32_t text_count;
	uint32_t text_cap;
	struct hist_text_seen {
		const char *given;     /* the address the text came at */
		char *copy;            /* the history's copy */
	} text_seen[HIST_TEXT_SEEN];
};

void hist_init(struct history *h);
void hist_free(struct history *h);
void hist_set_setup(struct history *h, const char *sql);

/* Start a transaction; records begin_event and begin_us. */
struct hist_txn *hist_txn_begin(struct history *h, int conn, const char *name,
				enum hist_begin begin, uint64_t now_us);
/* Append a finished statement (all fields copied). cells may be NULL when
 * row_count or col_count is 0. */
struct hist_stmt *hist_stmt_add(struct history *h, struct hist_txn *t,
				const char *sql, const char *tmpl,
				const struct wh_value *params,
				uint32_t param_count, int rc, int64_t changes,
				uint32_t col_count, uint32_t row_count,
				const struct wh_value *cells, bool ordered);
/* COMMIT is about to be issued: record commit_event. */
void hist_txn_commit_start(struct history *h, struct hist_txn *t);
/* Finish: records end_event/end_us; COMMITTED assigns commit_index. */
void hist_txn_end(struct history *h, struct hist_txn *t,
		  enum hist_outcome outcome, int end_rc, uint64_t now_us);

/* Record a crash or reopen at the current event (advances the counter). */
struct hist_crash *hist_crash_add(struct history *h, enum hist_crash_kind kind);
/* The recovery fields of cr (the last crash) are filled in: tells the
 * observer. */
void hist_crash_recovered(struct history *h, const struct hist_crash *cr);
/* Records, once, that SQLite's rollback promise ended here (a fault hit a
 * writer, or the power failed under one, while the rollback journal lived
 * only in memory): the first call takes an event of its own and sets
 * unsafe_event; later calls change nothing. A transaction whose end_event
 * is above unsafe_event (or that never ended) ended after that point. */
void hist_mark_unsafe(struct history *h);

/* Move every transaction of src, and the texts they share, into h (the
 * processes target gathers its connections' histories so: each process
 * records its own, stamped from one event counter). The result is ordered
 * by begin_event, ids renumbered to match; commit_count is the sum,
 * event the larger, unsafe_event the earlier set one. Neither may have
 * an observer or crashes; their events must come from one counter (no
 * begin_event in both). src is left empty (as hist_init); h keeps its
 * setup. Committed transactions keep their provisional commit_index:
 * renumber by visibility afterwards (commit_renumber). */
void hist_merge(struct history *h, struct history *src);

#endif /* WH_HISTORY_H */
