/*
 * oracle.h - after a run, prove its history serializable, or name the
 * transactions that broke it.
 *
 * Checks, in order: serial replay of committed transactions in commit order
 * on a fresh in-memory reference database (every statement's rows, changes
 * and rc must match; read-only and aborted transactions must match the
 * reference at some commit position inside their real-time window);
 * indeterminate transactions settled both ways within a budget; final-state
 * compare of every table of the target against the reference;
 * PRAGMA integrity_check and foreign_key_check on the target; workload
 * invariants. The oracle never writes to the target database (when the
 * run left a hot journal, SQLite rolls it back as the oracle opens the
 * target, and the report's note says so). Crashes recorded in the
 * history are checked against the durability promise (oracle_config.
 * durability). Violations the configuration explains are labelled
 * expected, with the reason (ORACLE_EXPECTED_*).
 */
#ifndef WH_ORACLE_H
#define WH_ORACLE_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "history.h"
#include "sqlapi.h"

/* What SQLite promises after power loss, per journal mode and
 * synchronous level (see oracle_durability_for). */
enum oracle_durability {
	ORACLE_DURABLE_ALL,    /* FULL/EXTRA: every acknowledged commit
				  survives, nothing rolled back appears */
	ORACLE_DURABLE_PREFIX, /* NORMAL in WAL: consistent, equal to a
				  prefix of the commit order */
	ORACLE_DURABLE_NONE,   /* OFF (and NORMAL in rollback modes): no
				  promise; findings are labelled expected */
};

/* The promise for a journal mode ("wal", "delete", ...) and synchronous
 * level ("off", "normal", "full", "extra"). */
enum oracle_durability oracle_durability_for(const char *journal_mode,
					     const char *synchronous);

struct oracle_config {
	const char *target_path;   /* target database name, or NULL to skip
				      the final-state checks */
	const char *target_vfs;    /* VFS to open it with (NULL: default) */
	const struct wh_sqlapi *target_api; /* the library to open it with
					       (NULL: the linked SQLite,
					       which the reference always
					       runs on) */
	/* Called right after each open of the target, before anything
	 * reads it (an encrypting SQLite's key), or NULL. Returns
	 * SQLITE_OK or the error, which fails the open. */
	int (*target_prepare)(void *ctx, const struct wh_sqlapi *api, sqlite3 *db);
	void *target_prepare_ctx;
	const char *const *invariants; /* SQL each returning one row whose
					  first column must be true */
	uint32_t invariant_count;
	const char *const *ref_pragmas; /* "foreign_keys=ON"... applied to
					   the reference before setup */
	uint32_t ref_pragma_count;
	uint64_t step_budget;      /* virtual-machine steps one statement of
				      the history may take on the reference
				      (0: unbounded): past it the statement
				      is stopped and the check reports
				      reference_runaway, not a hang */
	uint32_t indeterminate_budget; /* max indeterminate txns explored
					  both ways; past it: gave_up */
	enum oracle_durability durability; /* what survives a power loss */
	bool bitflips;             /* bit flips were injected: findings are
				      labelled expected (no checksums) */
	bool search_plain;         /* every plan of the indeterminate search
				      swept from scratch and to its end: no
				      evaluation taken from an earlier
				      plan's sweep, no plan cut once it can
				      no longer win (tests: the report is
				      the same either way) */
};

/* Why a violation is expected (oracle_violation.expected_reason): static
 * ids, stable across versions (reports and the nightly group by them). */
/* Bit flips were injected: SQLite has no page checksums. */
#define ORACLE_EXPECTED_BITFLIP "bitflip-no-checksums"
/* After a power loss where the synchronous level promises nothing (OFF,
 * or NORMAL outside WAL). */
#define ORACLE_EXPECTED_NO_DURABILITY "no-durability-promise"
/* Journal mode MEMORY or OFF, once a fault or a power loss hit a writer
 * (history.unsafe_event): the rollback journal was not on disk, so SQLite
 * does not promise that the writer's changes are undone. */
#define ORACLE_EXPECTED_JOURNAL_MEMORY "journal-memory-unsafe"

struct oracle_violation {
	bool expected;     /* expected under the configuration (bit flips,
			      synchronous=OFF, journal_mode=MEMORY after a
			      fault): reported, not a failure */
	const char *expected_reason; /* when expected: one of the
					ORACLE_EXPECTED_* ids naming the
					documented reason, else NULL */
	char *kind;        /* "read_skew", "lost_commit", ... (see oracle.c) */
	char *detail;      /* one readable paragraph */
	uint32_t *txns;    /* transaction ids involved */
	uint32_t txn_count;
};

struct oracle_report {
	struct oracle_violation *violations;
	uint32_t violation_count;
	bool gave_up;      /* indeterminate budget exceeded: not fully proven */
	char *note;        /* why it gave up, commits lost at crashes where
			      the durability promise allowed it, or NULL */
	uint64_t txns_checked;
	uint32_t *lost_txns;   /* committed transactions lost at a crash where
				  the promise allowed it (not violations),
				  sorted ids, owned; NULL when none */
	uint32_t lost_txn_count;
	bool streamed;     /* the concurrent check's replay was confirmed
			      and used (not part of the verdict) */	uint32_t plans;    /* plans the indeterminate search ran after the
			      first (not part of the verdict) */
	uint32_t plans_cut;/* of them, stopped once they could no longer
			      beat the best plan so far */
	uint64_t evals_reused; /* window evaluations taken from an earlier
				  sweep of the same states */
	uint64_t digests_reused; /* crash-search digests likewise */
};

/* Run every check. Returns 0 when the checks ran (pass or fail is in the
 * report), or -1 if the oracle itself could not run (message in report
 * note). The caller frees the report with oracle_report_free. */
int oracle_check(const struct history *h, const struct oracle_config *cfg,
		 struct oracle_report *out);
void oracle_report_free(struct oracle_report *r);

/* The concurrent check (stream.c): started before a run, told of the
 * run's history as it grows (hand oracle_stream_observer(s) to the run:
 * world_config.observer), it replays on a second thread while the run
 * goes on; oracle_check_stream then only finishes and confirms it. The
 * verdict is the one oracle_check gives: a stream that cannot prove the
 * run (crashes, indeterminate commits, a failure) is dropped and the
 * check runs from scratch. cfg is copied, but what its pointers point to
 * must live until the stream is finished. Returns NULL when no stream
 * can start (then check with oracle_check). */
struct oracle_stream;
struct oracle_stream *oracle_stream_start(const struct history *h,
					  const struct oracle_config *cfg);
const struct hist_observer *oracle_stream_observer(struct oracle_stream *s);
/* oracle_check, using (and freeing) stream s (NULL: oracle_check). */
int oracle_check_stream(const struct history *h,
			const struct oracle_config *cfg,
			struct oracle_stream *s, struct oracle_report *out);
/* Frees a stream that is not handed to oracle_check_stream. */
void oracle_stream_free(struct oracle_stream *s);

#endif /* WH_ORACLE_H */
