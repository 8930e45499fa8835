/*
 * commit.c - the commit order, and what a failed COMMIT can have done.
 *
 * Every VFS op a connection finishes passes through commit_note_op, which
 * tracks its write-lock holds and, inside a COMMIT, the commit point; the
 * driver asks commit_fate when a COMMIT fails and commit_hint for the
 * oracle's first guess about an INDETERMINATE transaction; commit_renumber
 * puts committed transactions in visibility order when the run ends.
 * Nothing here draws, folds the trace or schedules: only the history and
 * the connection's commit flags change.
 */
#include "world_int.h"

#include <inttypes.h>
#include <string.h>
/*
 * The commit point. A COMMIT makes more VFS calls after its effects become
 * visible (unlocks, the WAL auto-checkpoint...), and another writer can
 * commit and return in between, so the order in which COMMITs return is not
 * the serialization order. SQLite serializes writers by one write lock: the
 * WAL write lock (shm slot 0, exclusive) or RESERVED-and-above on the main
 * database file in rollback modes. The first release inside a COMMIT of a
 * hold during which pages were written is right after its commit point and
 * before any later writer's commit, so that order is the writers'
 * serialization order.
 */

/* A WAL write inside COMMIT finished: note the first frame with a commit
 * mark and whether its page followed. SQLite writes a frame as two writes,
 * its 24-byte header (after the WAL's own 32-byte header) and then its
 * page; bytes 4..7 of the header, big-endian, are the database size in
 * pages after a commit, 0 in other frames. Only the simulated VFS can show
 * the bytes; elsewhere nothing is noted (the unix VFS has powersafe
 * overwrite, so no WAL write follows the commit frame: see commit_fate).
 * Reads the file, nothing else: no draw, no fold. */
static void note_wal_frame(struct world *w, struct conn *c, int64_t offset, int64_t amount)
{
	if (c->commit_frame_at >= 0) {
		if (!c->commit_frame_whole && offset == c->commit_frame_at + 24) {
			c->commit_frame_whole = true;
			c->commit_frame_end = offset + amount;
		}
		return;
	}
	if (w->res->vfs == NULL || amount != 24 || offset < 32)
		return;
	char name[WORLD_PATH_MAX + 8];
	int n = snprintf(name, sizeof name, "%s-wal", w->res->db_path);
	WH_ASSERT(n > 0 && (size_t)n < sizeof name);
	unsigned char hdr[8];
	if (simvfs_file_read(w->res->vfs, name, offset, hdr, sizeof hdr) != (int64_t)sizeof hdr)
		return;
	uint32_t db_pages = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 |
			    (uint32_t)hdr[6] << 8 | hdr[7];
	if (db_pages != 0)
		c->commit_frame_at = offset;
	WH_ASSERT(!c->commit_frame_whole);
}

static bool journal_is_file(const struct world *w);

/* A journal op that ends a journal's life as a journal: deleted,
 * truncated to nothing, or its header rewritten from offset 0 (persist
 * mode zeroes it; a new transaction's first header write starts a new
 * journal over the old one). */
static bool journal_finalises(enum wh_op_kind kind, int64_t a)
{
	return kind == WH_OP_DELETE || (kind == WH_OP_TRUNCATE && a == 0) ||
	       (kind == WH_OP_WRITE && a == 0);
}

/*
 * Who undoes a failed COMMIT's writes. A rollback-mode COMMIT that wrote
 * the database and failed before finalising its journal is INDETERMINATE
 * (commit_fate): its pages stand until some connection plays the hot
 * journal back. When a connection in a recovery hold (EXCLUSIVE straight
 * from SHARED: SQLite rolling a hot journal back) finalises the journal,
 * the playback ran to its end: the owner certainly did not commit, and
 * is marked undone for the oracle. When any other journal finalisation
 * or a new journal's header comes first (a writer that took the hot
 * journal for a live one and wrote over it: the catalogued hot-journal
 * race), the owner's pages may stand, and it stays indeterminate. The
 * owner is forgotten either way; a power loss forgets it too (the
 * recovery that follows runs outside any connection and may find the
 * journal torn or gone).
 */
static void hot_journal_finalised(struct world *w, const struct conn *c)
{
	if (w->hot_owner_plus1 == 0)
		return;
	uint32_t id = w->hot_owner_plus1 - 1;
	w->hot_owner_plus1 = 0;
	WH_ASSERT(id < w->res->history.txn_count);
	struct hist_txn *t = w->res->history.txns[id];
	if (c->hold_is_recovery && t->outcome == HIST_INDETERMINATE)
		t->undone = true;
}

void commit_note_hot_owner(struct world *w, const struct conn *c)
{
	if (journal_is_file(w) && c->commit_wrote_db && !c->journal_finalized)
		w->hot_owner_plus1 = c->txn->id + 1;
}

/*
 * Latent commits that can no longer show. A latent commit's frames lie
 * past the wal-index's end, where the next writer writes its own: once a
 * successful WAL write starts before its commit frame's end (the next
 * transaction's frames, or a new WAL header after a reset), the
 * checksum chain or the salt no longer leads a recovery to that commit
 * frame; a truncate below its end or the WAL's deletion takes it too.
 * The transaction then certainly did not commit: marked undone for the
 * oracle, as a played-back hot journal's owner is. Until then only a
 * recovery decides it (the oracle places it there), after which it is
 * forgotten.
 */
void commit_note_latent(struct world *w, const struct conn *c)
{
	WH_ASSERT(c->txn->latent && c->commit_frame_whole);
	if (w->latent_count == w->latent_cap) {
		w->latent_cap = w->latent_cap ? 2 * w->latent_cap : 8;
		w->latent = wh_realloc(w->latent, w->latent_cap * sizeof *w->latent);
	}
	w->latent[w->latent_count++] = (struct latent_commit){ c->txn->id, c->commit_frame_end };
}

void commit_forget_latent(struct world *w)
{
	w->latent_count = 0;
}

static void latent_overwritten(struct world *w, enum wh_op_kind kind, int64_t a)
{
	uint32_t kept = 0;
	for (uint32_t i = 0; i < w->latent_count; i++) {
		const struct latent_commit *l = &w->latent[i];
		bool gone = kind == WH_OP_DELETE ||
			    ((kind == WH_OP_WRITE || kind == WH_OP_TRUNCATE) && a < l->frame_end);
		if (!gone) {
			w->latent[kept++] = *l;
			continue;
		}
		struct hist_txn *t = w->res->history.txns[l->txn];
		WH_ASSERT(t->outcome == HIST_INDETERMINATE && t->latent);
		t->undone = true;
	}
	w->latent_count = kept;
}

void commit_note_op(struct world *w, struct conn *c, enum wh_op_kind kind,
		    enum world_file_role role, int64_t a, int64_t b, int rc)
{
	/* A dead connection's calls are SQLite unwinding against handles
	 * that no longer reach the files (an unlock there "succeeds" without
	 * effect): nothing it does is a commit point. */
	if (c->dead)
		return;
	bool was_holding = c->holds_db_write_lock || c->holds_wal_write_lock;
	if (rc != SQLITE_OK) {
		/* A write refused for a full disk (the quota, not an injected
		 * fault) makes SQLite roll back like an injected fault does. */
		int prim = rc & 0xff;
		if (c->in_commit && (prim == SQLITE_FULL ||
				     (prim == SQLITE_IOERR && rc != SQLITE_IOERR_SHORT_READ))) {
			if (!c->commit_fault_seen && !c->commit_op_failed)
				c->commit_latent = commit_failure_latent(c, kind,
									 role == WORLD_FILE_WAL);
			c->commit_op_failed = true;
		}
		return;
	}
	if (role == WORLD_FILE_JOURNAL && journal_finalises(kind, a))
		hot_journal_finalised(w, c);
	if (role == WORLD_FILE_WAL && w->latent_count > 0)
		latent_overwritten(w, kind, a);
	if (c->in_commit) {
		/* The rollback journal is finalised (deleted, truncated to
		 * nothing, or its header zeroed after the database was written):
		 * from here on the commit stands, unless a fault came first:
		 * then it is the rollback that played the journal back and
		 * finalised it (that one only clears finalized_first). */
		bool journal = role == WORLD_FILE_JOURNAL;
		if (kind == WH_OP_WRITE && role == WORLD_FILE_WAL)
			note_wal_frame(w, c, a, b);
		if ((kind == WH_OP_WRITE || kind == WH_OP_SYNC) && role == WORLD_FILE_DB) {
			c->commit_wrote_db = true;
		} else if (journal && (kind == WH_OP_DELETE ||
				       (kind == WH_OP_TRUNCATE && a == 0) ||
				       (kind == WH_OP_WRITE && a == 0 && c->commit_wrote_db))) {
			c->finalized_first |= !c->commit_fault_seen && !c->commit_op_failed;
			c->journal_finalized = true;
		}
	}
	if ((kind == WH_OP_LOCK || kind == WH_OP_UNLOCK) && role == WORLD_FILE_DB) {
		if (!was_holding && kind == WH_OP_LOCK && a == SQLITE_LOCK_EXCLUSIVE &&
		    c->db_lock_level == SQLITE_LOCK_SHARED && b == SQLITE_LOCK_EXCLUSIVE)
			c->hold_is_recovery = true;
		c->db_lock_level = (uint8_t)b;
		c->holds_db_write_lock = b >= SQLITE_LOCK_RESERVED;
	} else if (kind == WH_OP_SHM_LOCK && a == 0) {
		int flags = (int)(b & 0xff);
		if (flags & SQLITE_SHM_EXCLUSIVE)
			c->holds_wal_write_lock = (flags & SQLITE_SHM_LOCK) != 0;
	} else if (kind == WH_OP_WRITE && was_holding && !c->hold_is_recovery) {
		/* Pages reached the WAL or the database file under the lock:
		 * this hold can carry a commit. */
		c->wrote_under_lock = true;
	}
	bool holding = c->holds_db_write_lock || c->holds_wal_write_lock;
	if (!was_holding && holding) {
		c->wrote_under_lock = false; /* a new hold starts clean */
		/* What an autocommit statement did before taking the lock for
		 * its own writes (rolling back another's hot journal, which
		 * writes the database and finalises that journal) is not its
		 * commit. */
		c->commit_wrote_db = false;
		c->finalized_first = false;
	}
	if (c->in_commit && holding && !c->hold_is_recovery)
		c->commit_wrote = true;
	/* The first release, inside COMMIT, of the transaction's own hold
	 * (taken before COMMIT, or one that wrote pages) is the one right
	 * after the commit point. Earlier holds that wrote nothing (an
	 * autocommit statement retrying a stale WAL snapshot) and later ones
	 * (a checkpoint taking the lock after the commit) are not it.
	 * But a writer that changes nothing (an autocommit UPDATE whose
	 * WHERE matches no row) holds the lock, reads the latest state
	 * under it and lets it go without writing: the last such release
	 * is its commit point when no hold of its COMMIT wrote
	 * (conn_txn_end), not the moment COMMIT returned, which may come
	 * after later writers committed. */
	if (was_holding && !holding && c->in_commit && c->txn != NULL &&
	    c->txn->visible_event == 0 && !c->hold_is_recovery) {
		if (c->wrote_under_lock || c->hold_predates_commit)
			c->txn->visible_event = ++w->res->history.event;
		else
			c->quiet_release = ++w->res->history.event;
	}
	if (!holding) {
		c->wrote_under_lock = false;
		c->hold_predates_commit = false;
		c->hold_is_recovery = false;
	}
}

/*
 * Where journal modes MEMORY and OFF stop promising anything. Their
 * rollback journal lives in the writer's memory (or nowhere): a writer
 * whose database writes fail may be unable to undo them, and the undo
 * record is gone once its pager gives up or its process dies, so SQLite
 * documents that the database may be left corrupt. The point is marked
 * in the history (hist_mark_unsafe, once) at the first of: an injected
 * failure of a write, truncate or sync of the database file (an I/O error
 * or a full disk) by a connection holding the write lock (RESERVED or
 * above) or inside a COMMIT that took it; any injected I/O error hitting
 * such a writer after it wrote the database file in its current hold (a
 * cache spill, a commit under way): SQLite's pager enters its error state
 * and drops the in-memory journal without playing it back (a read error
 * in a spilled transaction left the database corrupt, nightly seed
 * 16098425751179306291); a power loss while a connection holds the lock.
 * The oracle labels what ended after it. A fault before the writer
 * touched the file, an allocation failure (the pager stays usable and
 * rolls back), a fault on a reader, or a power loss while nobody writes
 * leave the file as it was: no mark. Only the history changes here: no
 * draw, no trace fold, no scheduling decision.
 */
static bool journal_in_memory(const struct world *w)
{
	const char *jm = w->cfg->journal_mode;
	return jm != NULL && (strcmp(jm, "memory") == 0 || strcmp(jm, "off") == 0);
}

static bool conn_is_writing(const struct conn *c)
{
	return !c->dead && (c->holds_db_write_lock || (c->in_commit && c->commit_wrote));
}

void commit_note_unsafe(struct world *w, const struct conn *c)
{
	if (c == NULL || w->res->history.unsafe_event != 0 || !journal_in_memory(w))
		return;
	if (conn_is_writing(c))
		hist_mark_unsafe(&w->res->history);
}

/* Errors after which a commit may or may not have happened: the I/O and
 * resource failures, not the refusals (busy, constraint, SQL errors) that
 * SQLite raises before changing anything. */
static bool rc_is_uncertain(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_NOMEM:
	case SQLITE_CORRUPT:
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
	case SQLITE_PROTOCOL:
		return true;
	default:
		return false;
	}
}

/* The rollback-journal modes with a journal file, whose finalisation is
 * the commit point. */
static bool journal_is_file(const struct world *w)
{
	const char *jm = w->cfg->journal_mode;
	return strcmp(jm, "delete") == 0 || strcmp(jm, "truncate") == 0 ||
	       strcmp(jm, "persist") == 0;
}

/* A COMMIT (or an autocommit statement) failed with rc. Did it commit all
 * the same? Not if the error is a refusal or it never held the write lock.
 * In the rollback-journal modes with a journal file, the commit point is
 * the journal's finalisation (deleted, truncated to nothing, header zeroed
 * after the database was written and synced); an injected I/O fault that
 * stopped the commit before it wrote the database file leaves nothing
 * committed, after that it is uncertain (see below). In WAL mode a fault
 * injected on a WAL write before the commit frame was whole came before
 * the commit point. After it come the WAL's sync and, on a device
 * without powersafe overwrite, the padding: SQLite pads the WAL to a
 * sector boundary with copies of the commit frame (sqlite3WalFrames),
 * syncing at the boundary inside the last copy and then writing its
 * rest. A fault on one of those fails the
 * COMMIT and the wal-index never shows the frames, but the commit frame
 * is in the file (and on the disk once synced): a recovery (after a
 * power loss, or when the last connection has closed) finds it, unless a
 * later writer overwrote it first. Anything else (an allocation failure,
 * a fault after the WAL commit point, journal modes memory and off)
 * stays uncertain. */
bool commit_failure_latent(const struct conn *c, enum wh_op_kind kind, bool wal)
{
	WH_ASSERT(c->in_commit);
	WH_ASSERT(!c->commit_frame_whole || c->commit_frame_at >= 32);
	/* On any device: on a powersafe one the commit frame is the last
	 * write and a failed sync after it leaves it just as latent. Such a
	 * commit is watched until a recovery decides it or a later write
	 * makes it impossible (commit_note_latent). */
	return wal && (kind == WH_OP_WRITE || kind == WH_OP_SYNC) &&
	       c->commit_frame_whole && c->holds_wal_write_lock;
}

enum commit_fate commit_fate(const struct world *w, const struct conn *c, int rc)
{
	if (!rc_is_uncertain(rc) || !c->commit_wrote)
		return COMMIT_NOT_DONE;
	/* The commit frame is in the WAL file, past the wal-index's end:
	 * readers never saw it; a recovery may find it. */
	if (c->commit_latent)
		return COMMIT_LATENT;
	const char *jm = w->cfg->journal_mode;
	bool rollback = journal_is_file(w);
	/* A rollback-mode commit writes the database file (at least the
	 * change counter) and syncs it before it finalises the journal: a
	 * COMMIT that did neither cannot have committed, whatever journal
	 * finalisation its rollback then did. */
	if (rollback && !c->commit_wrote_db)
		return COMMIT_NOT_DONE;
	/* Finalised: most likely committed, but an autocommit statement's
	 * window also covers a hot-journal rollback at its start (which
	 * deletes or truncates a journal too), so this stays uncertain. */
	if (rollback && c->journal_finalized)
		return COMMIT_UNCERTAIN;
	if ((rc & 0xff) == SQLITE_NOMEM || !c->commit_fault_seen)
		return COMMIT_UNCERTAIN;
	if (strcmp(jm, "wal") == 0)
		return c->commit_fault_wal_io ? COMMIT_NOT_DONE : COMMIT_UNCERTAIN;
	/* Rollback modes: a fault before the database file was touched left
	 * it as it was. Once the COMMIT wrote it, only the hot journal's
	 * playback undoes the writes, and SQLite promises that only when a
	 * connection recovers the journal: until then other connections can
	 * read the written pages (the hot-journal race in the catalogue,
	 * where the playback never happens). An I/O error returned by such a
	 * COMMIT is no promise that it did not commit. */
	return rollback && !c->commit_wrote_db ? COMMIT_NOT_DONE : COMMIT_UNCERTAIN;
}

/* The oracle's first guess (oracle__indet_guess tries the transaction as
 * committed first when set): its rollback journal was finalised before any
 * fault, or its process died after its commit became visible. A guess,
 * not a fact: a hot-journal rollback may still undo it. */
bool commit_hint(const struct world *w, const struct conn *c)
{
	WH_ASSERT(c->txn != NULL);
	return (journal_is_file(w) && c->finalized_first) ||
	       (c->dead && c->txn->visible_event != 0);
}

void commit_begins(struct conn *c)
{
	c->in_commit = true;
	c->quiet_release = 0;
	c->commit_wrote = c->holds_db_write_lock || c->holds_wal_write_lock;
	c->hold_predates_commit = c->commit_wrote;
	c->commit_fault_seen = false;
	c->commit_fault_wal_io = false;
	c->commit_frame_at = -1;
	c->commit_frame_end = -1;
	c->commit_frame_whole = false;
	c->commit_latent = false;
	c->commit_wrote_db = false;
	c->journal_finalized = false;
	c->finalized_first = false;
	c->commit_op_failed = false;
}

static uint64_t visibility_key(const struct hist_txn *t)
{
	return t->visible_event ? t->visible_event : t->end_event;
}

static int cmp_visibility(const void *a, const void *b)
{
	uint64_t x = visibility_key(*(struct hist_txn *const *)a);
	uint64_t y = visibility_key(*(struct hist_txn *const *)b);
	return (x > y) - (x < y);
}

/* Commit positions follow visibility, not the order COMMITs returned (see
 * commit_note_op). Keys are distinct history events, so the order is
 * total and needs no tie-break. */
void commit_renumber(struct history *h)
{
	struct hist_txn **v = wh_calloc(h->commit_count + 1, sizeof *v);
	uint64_t n = 0;
	for (uint32_t i = 0; i < h->txn_count; i++)
		if (h->txns[i]->outcome == HIST_COMMITTED)
			v[n++] = h->txns[i];
	WH_ASSERT_EQ(n, h->commit_count);
	qsort(v, n, sizeof *v, cmp_visibility);
	for (uint64_t k = 0; k < n; k++)
		v[k]->commit_index = (int64_t)k;
	free(v);
}
