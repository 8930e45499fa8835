/*
 * evidence.c - detectors of known causes: counters of events that name a
 * root cause by what happened (struct world_evidence), for the triage of
 * a run's failures. They watch the VFS ops the run makes and never change
 * the run, its draws or its trace hash.
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
void evidence_note_op(struct world *w, int conn, enum wh_op_kind kind,
		      enum world_file_role role, int64_t a, int64_t b, int rc)
{
	struct hot_journal_watch *hj = &w->hj;
	if (conn < 0)
		return; /* setup, recovery: not a connection of the run */
	WH_ASSERT(conn < WORLD_MAX_CONNS);
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
