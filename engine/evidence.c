/*
 * evidence.c - detectors of known causes: counters of events that name a
 * root cause by what happened (struct world_evidence), for the triage of
 * a run's failures. They watch the VFS ops the run makes and never change
 * the run, its draws or its trace hash.
 *
 * Invariants: a detector reads only the op, its file's role, its
 * arguments and result, and its own state; each counts an event once and
 * keeps the history event of the first (the triage scopes a finding to
 * what came after it).
 */
#include "world_int.h"

#include <inttypes.h>
#include <string.h>

/* A connection's lock level changes; above_shared counts the connections
 * holding more than SHARED, so the race check needs no scan. */
static void hj_set_level(struct hot_journal_watch *hj, int conn, int64_t level)
{
	hj->above_shared -= hj->level[conn] > SQLITE_LOCK_SHARED;
	hj->level[conn] = (uint8_t)level;
	hj->above_shared += hj->level[conn] > SQLITE_LOCK_SHARED;
}

/*
 * Evidence of SQLite's hot-journal race (the finding pinned in
 * tests/test_findings.c, catalogued as hot-journal-taken-for-live): a
 * connection asks for EXCLUSIVE straight from SHARED (to roll a hot
 * journal back) and is refused, keeping PENDING until it unlocks; while it
 * does and no other connection holds more than SHARED, another
 * connection's access() finds the journal and its check_reserved answers
 * "reserved"; without unlocking, that connection then reads the database
 * or writes a journal: it took the hot journal for a live one. Each such
 * read or write counts once, and the history event of the first is kept
 * (the triage scopes the finding to what came after it). A live writer's
 * refused EXCLUSIVE (asked from RESERVED) does not count: its journal is
 * live and "reserved" is the truth. The same rule as the trace scan of
 * that test, on the same events, so the two agree; it only counts, never
 * touches the trace hash or the run.
 */
static void hot_journal_note(struct world *w, int conn, enum wh_op_kind kind,
			     enum world_file_role role, int64_t a, int64_t b, int rc)
{
	struct hot_journal_watch *hj = &w->hj;
	bool db = role == WORLD_FILE_DB;
	bool journal = role == WORLD_FILE_JOURNAL;
	if (db && kind == WH_OP_LOCK) {
		if (a == SQLITE_LOCK_EXCLUSIVE && b == SQLITE_LOCK_PENDING && rc == SQLITE_BUSY &&
		    hj->level[conn] == SQLITE_LOCK_SHARED)
			hj->pending_plus1 = conn + 1;
		hj_set_level(hj, conn, b);
	} else if (db && kind == WH_OP_UNLOCK) {
		if (hj->pending_plus1 == conn + 1)
			hj->pending_plus1 = 0;
		hj_set_level(hj, conn, b);
		hj->misled[conn] = false;
		hj->journal_seen[conn] = false;
	} else if (journal && kind == WH_OP_ACCESS) {
		hj->journal_seen[conn] = b == 1;
	} else if (db && kind == WH_OP_CHECK_RESERVED) {
		/* Above SHARED: at most the PENDING holder. */
		uint32_t pending_above = hj->pending_plus1 != 0 &&
					 hj->level[hj->pending_plus1 - 1] > SQLITE_LOCK_SHARED;
		bool others_shared = hj->above_shared == pending_above;
		hj->misled[conn] = hj->journal_seen[conn] && hj->pending_plus1 != 0 &&
				   hj->pending_plus1 != conn + 1 && others_shared && a == 1;
	} else if (hj->misled[conn] && ((db && kind == WH_OP_READ) ||
					(journal && kind == WH_OP_WRITE))) {
		if (w->res->evidence.hot_journal_taken_for_live++ == 0)
			w->res->evidence.hot_journal_first_event = w->res->history.event;
		hj->misled[conn] = false;
	}
	WH_ASSERT(hj->pending_plus1 >= 0 && hj->pending_plus1 <= WORLD_MAX_CONNS);
}

/* The wal-index locks (SQLite's wal.c): slot 0 the writer's, 1 the
 * checkpointer's, 3 + i read-lock i of WAL_NREADER (5). */
#define WAL_SLOT_WRITE 0
#define WAL_SLOT_CKPT 1
#define WAL_SLOT_READ0 3
#define WAL_SLOT_READ1 4
#define WAL_READERS_BUT_0 4

/*
 * Evidence of SQLite's WAL-reset race (catalogued as
 * wal-reset-checkpoint-race; SQLite documents it as "the WAL-reset bug",
 * 3.7.0 to 3.51.2): a checkpointer reads the wal-index header right after
 * it takes the checkpoint lock (and again after the writer lock, in the
 * blocking modes); a writer may then reset the WAL (walRestartLog: read
 * locks 1-4 exclusive at once, then the header's frame count and
 * nBackfill go to 0), since a reset does not take the checkpoint lock.
 * The checkpointer compares the live nBackfill (now 0) with its stale
 * frame count, backfills from the new WAL as if it were the old one and
 * sets nBackfill to the old count: later readers take pages from the
 * database file that the WAL holds newer versions of. A fixed SQLite
 * checks the WAL's salt once it holds read-lock 0 and backfills nothing.
 * So the count is: a database write by a connection that holds the
 * checkpoint lock and read-lock 0 exclusive, whose header was read before
 * the last reset; once per checkpoint.
 */
static void wal_reset_note(struct world *w, int conn, enum wh_op_kind kind,
			   enum world_file_role role, int64_t a, int64_t b, int rc)
{
	struct wal_reset_watch *wr = &w->wr;
	if (role != WORLD_FILE_DB)
		return;
	if (kind == WH_OP_SHM_LOCK) {
		int n = (int)(b >> 8), flags = (int)(b & 0xff);
		bool lock = (flags & SQLITE_SHM_LOCK) != 0 && rc == SQLITE_OK;
		bool excl = (flags & SQLITE_SHM_EXCLUSIVE) != 0;
		if (lock && excl && a == WAL_SLOT_READ1 && n == WAL_READERS_BUT_0) {
			wr->resets++; /* walRestartLog; the header follows at once */
		} else if (lock && excl && a == WAL_SLOT_CKPT && n == 1) {
			wr->ckpt[conn] = true;
			wr->backfilling[conn] = false;
			wr->header_at[conn] = wr->resets;
		} else if (lock && excl && a == WAL_SLOT_WRITE && wr->ckpt[conn]) {
			wr->header_at[conn] = wr->resets; /* read again after it */
		} else if (lock && excl && a == WAL_SLOT_READ0 && wr->ckpt[conn]) {
			wr->backfilling[conn] = true;
		} else if ((flags & SQLITE_SHM_UNLOCK) != 0 && a <= WAL_SLOT_CKPT &&
			   a + n > WAL_SLOT_CKPT) {
			wr->ckpt[conn] = false;
			wr->backfilling[conn] = false;
		}
	} else if (kind == WH_OP_WRITE && rc == SQLITE_OK && wr->backfilling[conn] &&
		   wr->header_at[conn] != wr->resets) {
		wr->backfilling[conn] = false; /* once per checkpoint */
		if (w->res->evidence.wal_reset_stale_checkpoint++ == 0)
			w->res->evidence.wal_reset_first_event = w->res->history.event;
	}
}

void evidence_conn_killed(struct world *w, int conn)
{
	WH_ASSERT(conn >= 0 && conn < WORLD_MAX_CONNS);
	w->wr.ckpt[conn] = false; /* its locks went with it */
	w->wr.backfilling[conn] = false;
}

void evidence_note_op(struct world *w, int conn, enum wh_op_kind kind,
		      enum world_file_role role, int64_t a, int64_t b, int rc)
{
	if (conn < 0)
		return; /* setup, recovery: not a connection of the run */
	WH_ASSERT(conn < WORLD_MAX_CONNS);
	hot_journal_note(w, conn, kind, role, a, b, rc);
	wal_reset_note(w, conn, kind, role, a, b, rc);
}
