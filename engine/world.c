/*
 * world.c - one seeded run: the connection driver state machines, the
 * fiber-call protocol that runs SQLite on each connection's fiber, the VFS
 * hooks that turn every SQLite file operation into a scheduled completion,
 * the scheduler loop, hang detection and the trace hash.
 *
 * How a connection moves:
 *   conn_step() is a resumable state machine on the main context:
 *     OPEN -> THINK -> PLAN -> BEGIN -> (GAP -> STMT)* -> COMMIT -> THINK ...
 *     ... -> ROLLBACK on error/busy; CLOSE when the txn quota is used up.
 *   Each state that calls SQLite does it through conn_call(), which hands
 *   the call to the connection's fiber and resumes it. When SQLite calls a
 *   VFS method, the yield hook submits a completion to the scheduler and
 *   parks the fiber; conn_call() then returns WH_PENDING and conn_step()
 *   returns it. When the scheduler finishes that completion, its callback
 *   re-enters conn_step() in the same state, conn_call() resumes the fiber,
 *   and so on until the SQLite call returns.
 *
 * Re-entrancy rule: conn_step() mutates the history and counters only after
 * a call has returned WH_DONE, in the same block as the state transition,
 * so a resumed state never records twice.
 *
 * Determinism: all choices come from seeded streams (scheduler, latency,
 * per-connection workload streams, SQLite's PRNG reseeded through the
 * simulated xRandomness at the start of every run); the clock is the
 * scheduler's. The trace hash folds every pick and every VFS operation.
 */
#include "world.h"

#include <inttypes.h>
#include <string.h>

#include "fiber.h"
#include "digest.h"

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

enum call_op {
	CALL_OPEN,
	CALL_EXEC,
	CALL_STMT,
	CALL_CLOSE,
};

enum conn_state {
	CS_OPEN,
	CS_OPEN_RETRY, /* a failed open waits before trying again */
	CS_THINK,      /* submit the pause before the next transaction */
	CS_THINK_WAIT, /* the pause finished */
	CS_PLAN,
	CS_BEGIN,
	CS_NEXT,       /* ask the workload for the next action */
	CS_SLEEP_WAIT, /* a workload sleep finished */
	CS_GAP,        /* submit the pause before a statement */
	CS_GAP_WAIT,
	CS_STMT,
	CS_COMMIT,
	CS_ROLLBACK,
	CS_CLOSE,
	CS_CLOSED,
};

static const char *const conn_state_names[] = {
	[CS_OPEN] = "open", [CS_OPEN_RETRY] = "open", [CS_THINK] = "think", [CS_THINK_WAIT] = "think",
	[CS_PLAN] = "plan", [CS_BEGIN] = "begin", [CS_NEXT] = "next",
	[CS_SLEEP_WAIT] = "sleep", [CS_GAP] = "gap",
	[CS_GAP_WAIT] = "gap", [CS_STMT] = "statement", [CS_COMMIT] = "commit",
	[CS_ROLLBACK] = "rollback", [CS_CLOSE] = "close", [CS_CLOSED] = "closed",
};

struct world;

#define PLAN_MAX_ROUNDS 4

/* What faults this seed injects: drawn once per run from the fault stream,
 * a random subset of the profile's kinds (swarm testing). */
struct fault_plan {
	uint32_t io_mask;            /* op kinds that may fail */
	uint32_t io_per_million;     /* chance per op of an enabled kind */
	bool persistent;             /* a fault may stick for a few ops */
	uint32_t alloc_per_million;  /* allocation failure chance, 0: off */
	uint64_t quota_from_txn;     /* disk-full window [from, to) in txns */
	uint64_t quota_to_txn;
	uint32_t crash_count;
	uint64_t crash_at[PLAN_MAX_ROUNDS];  /* txns finished, ascending */
	uint32_t reopen_count;
	uint64_t reopen_at[PLAN_MAX_ROUNDS];
	bool bitflip;
	uint64_t bitflip_at;
};

struct conn {
	struct world *w;
	int id;
	sqlite3 *db;
	struct wh_fiber *fiber;
	struct wh_prng rng;          /* this connection's workload stream */
	struct wh_completion comp;   /* the one completion it waits on */
	enum conn_state state;
	/* fiber-call protocol */
	enum call_op call_op;        /* the call in flight */
	bool call_active;            /* a call was handed to the fiber */
	bool call_done;              /* the fiber finished it */
	int call_rc;                 /* its SQLite result */
	const char *call_sql;        /* CALL_EXEC text */
	enum wh_op_kind parked_kind; /* last VFS op it parked in (hang report) */
	bool in_commit;              /* a COMMIT (or autocommit statement) is
					in flight */
	bool holds_db_write_lock;    /* RESERVED or above on the main db */
	bool holds_wal_write_lock;   /* the WAL write lock (shm slot 0) */
	bool wrote_under_lock;       /* wrote pages during the current hold
					of the write lock */
	bool hold_predates_commit;   /* the current hold began before the
					COMMIT call: the txn's own writes */
	uint64_t quiet_release;      /* history event of the last release,
					inside COMMIT, of a hold that wrote
					nothing, or 0 (see note_commit_point) */
	/* what the COMMIT in flight did, to tell whether a failed one can
	 * have committed (commit_uncertain) */
	bool commit_fault_seen;      /* an I/O fault was injected into it */
	bool commit_fault_wal_io;    /* ... and the first hit a WAL write:
					frames are written only before the
					commit point (a WAL sync also happens
					in the checkpoint after it) */
	bool commit_wrote_db;        /* it wrote or synced the database file */
	bool commit_op_failed;       /* an op of the COMMIT in flight failed
					with an I/O error or a full disk */
	bool finalized_first;        /* ... before any fault: the commit's
					own finalisation, not the one that
					ends a rollback after the fault (the
					commit_hint guess) */
	bool journal_finalized;      /* it finalised the rollback journal:
					the commit point of rollback modes */
	bool commit_wrote;           /* held a write lock at some point of
					the COMMIT in flight: only then can
					a failed COMMIT have committed */
	bool dead;                   /* its process died: every VFS call
					fails at once, nothing is scheduled */
	bool parked_for_reopen;      /* closed by a clean reopen round */
	uint32_t open_failures;      /* consecutive failed opens */
	enum wh_op_kind persist_kind;/* a persistent fault's op kind */
	uint32_t persist_left;       /* ops of that kind still to fail */
	struct wh_completion closed; /* finishes when it closes for a reopen */
	/* the transaction in progress */
	void *wl_state;              /* the workload's per-connection state */
	const char *txn_name;        /* template name */
	enum hist_begin begin;       /* how it began */
	struct hist_txn *txn;
	int abort_rc;                /* why the txn is being rolled back */
	/* the statement to run: copied from the workload's action */
	const char *stmt_sql;
	const char *stmt_tmpl;
	uint32_t stmt_flags;         /* HIST_STMT_* */
	uint32_t stmt_actions;       /* statement actions drawn in this txn */
	bool last_skipped;           /* the last statement action was skipped */
	uint32_t param_count;
	struct wh_value params[WL_MAX_PARAMS]; /* owned copies */
	/* result of the last CALL_STMT, filled on the fiber */
	struct wh_value *cells;
	uint32_t cell_count;
	uint32_t cell_cap;
	uint32_t col_count;
	int64_t changes;
};

/* State of the hot-journal race detector (hot_journal_note). Zeroed with
 * the world: no locks, no PENDING kept, nothing seen. */
struct hot_journal_watch {
	int pending_plus1;                     /* 1 + the connection keeping
						  PENDING from an EXCLUSIVE
						  asked straight from SHARED
						  and refused, or 0: none */
	uint8_t level[WORLD_MAX_CONNS];        /* each connection's lock on
						  the database file, as its
						  last lock/unlock left it */
	bool journal_seen[WORLD_MAX_CONNS];    /* its access() found the
						  journal, since its last
						  unlock of the database */
	bool misled[WORLD_MAX_CONNS];          /* its check_reserved then
						  said "reserved" while the
						  only such lock was that
						  PENDING */
};

struct world {
	const struct world_config *cfg;
	struct world_result *res;
	struct sched sched;
	struct wh_prng vfs_rng;      /* xRandomness */
	struct conn *conns;
	struct conn *running;        /* connection whose fiber runs, or NULL */
	uint32_t live_conns;
	uint64_t txns_started;
	uint64_t txns_finished;
	uint64_t steps_since_progress;
	bool draining;               /* unwinding after a hang: every VFS
					call fails at once */
	bool finished;               /* the run is over: VFS calls (from the
					oracle) neither yield nor trace */
	uint64_t hash;
	/* faults: the seed's swarm plan and its stream */
	struct fault_plan plan;
	struct wh_prng fault_rng;
	uint32_t crash_next;         /* next entry of plan.crash_at */
	uint32_t reopen_next;
	bool bitflip_done;
	int quota_state;             /* disk-full window: 0 before, 1 open,
					2 closed */
	bool reopening;              /* a reopen round is draining */
	bool reopen_ready;           /* ... and every connection has closed */
	struct wh_group reopen_group;
	struct hot_journal_watch hj; /* evidence: see hot_journal_note */
};

/* ------------------------------------------------------------------ */
/* Trace                                                               */
/* ------------------------------------------------------------------ */

static void trace_fold(struct world *w, uint64_t v)
{
	w->hash = wh_mix64(w->hash ^ v) + 0x9e3779b97f4a7c15ULL;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	if (s == NULL)
		return 0;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

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
/* Is file the database (suffix "") or one of its -wal/-journal files? */
static bool file_is(const struct world *w, const char *file, const char *suffix)
{
	size_t n = strlen(w->res->db_path);
	return file != NULL && strncmp(file, w->res->db_path, n) == 0 &&
	       strcmp(file + n, suffix) == 0;
}

static void note_commit_point(struct world *w, struct conn *c,
			      enum wh_op_kind kind, const char *file, int64_t a,
			      int64_t b, int rc)
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
				     (prim == SQLITE_IOERR && rc != SQLITE_IOERR_SHORT_READ)))
			c->commit_op_failed = true;
		return;
	}
	if (c->in_commit) {
		/* The rollback journal is finalised (deleted, truncated to
		 * nothing, or its header zeroed after the database was written):
		 * from here on the commit stands, unless a fault came first:
		 * then it is the rollback that played the journal back and
		 * finalised it (that one only clears finalized_first). */
		bool journal = file_is(w, file, "-journal");
		if ((kind == WH_OP_WRITE || kind == WH_OP_SYNC) && file_is(w, file, "")) {
			c->commit_wrote_db = true;
		} else if (journal && (kind == WH_OP_DELETE ||
				       (kind == WH_OP_TRUNCATE && a == 0) ||
				       (kind == WH_OP_WRITE && a == 0 && c->commit_wrote_db))) {
			c->finalized_first |= !c->commit_fault_seen && !c->commit_op_failed;
			c->journal_finalized = true;
		}
	}
	if ((kind == WH_OP_LOCK || kind == WH_OP_UNLOCK) && file != NULL &&
	    strcmp(file, w->res->db_path) == 0) {
		c->holds_db_write_lock = b >= SQLITE_LOCK_RESERVED;
	} else if (kind == WH_OP_SHM_LOCK && a == 0) {
		int flags = (int)(b & 0xff);
		if (flags & SQLITE_SHM_EXCLUSIVE)
			c->holds_wal_write_lock = (flags & SQLITE_SHM_LOCK) != 0;
	} else if (kind == WH_OP_WRITE && was_holding) {
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
	if (c->in_commit && holding)
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
	    c->txn->visible_event == 0) {
		if (c->wrote_under_lock || c->hold_predates_commit)
			c->txn->visible_event = ++w->res->history.event;
		else
			c->quiet_release = ++w->res->history.event;
	}
	if (!holding) {
		c->wrote_under_lock = false;
		c->hold_predates_commit = false;
	}
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
			     const char *file, int64_t a, int64_t b, int rc)
{
	struct hot_journal_watch *hj = &w->hj;
	if (conn < 0)
		return; /* setup, recovery: not a connection of the run */
	WH_ASSERT(conn < WORLD_MAX_CONNS);
	bool db = file_is(w, file, "");
	bool journal = file_is(w, file, "-journal");
	if (db && kind == WH_OP_LOCK) {
		if (a == SQLITE_LOCK_EXCLUSIVE && b == SQLITE_LOCK_PENDING && rc == SQLITE_BUSY &&
		    hj->level[conn] == SQLITE_LOCK_SHARED)
			hj->pending_plus1 = conn + 1;
		hj->level[conn] = (uint8_t)b;
	} else if (db && kind == WH_OP_UNLOCK) {
		if (hj->pending_plus1 == conn + 1)
			hj->pending_plus1 = 0;
		hj->level[conn] = (uint8_t)b;
		hj->misled[conn] = false;
		hj->journal_seen[conn] = false;
	} else if (journal && kind == WH_OP_ACCESS) {
		hj->journal_seen[conn] = b == 1;
	} else if (db && kind == WH_OP_CHECK_RESERVED) {
		bool others_shared = true;
		for (uint32_t k = 0; k < w->cfg->conn_count && others_shared; k++)
			others_shared = (int)k + 1 == hj->pending_plus1 ||
					hj->level[k] <= SQLITE_LOCK_SHARED;
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

/*
 * Where journal modes MEMORY and OFF stop promising anything. Their
 * rollback journal lives in the writer's memory (or nowhere): a writer
 * whose database writes fail may be unable to undo them, and the undo
 * record is gone once its pager gives up or its process dies, so SQLite
 * documents that the database may be left corrupt. The first injected
 * failure of a write, truncate or sync of the database file (an I/O error
 * or a full disk) by a connection holding the write lock (RESERVED or
 * above), or inside a COMMIT that took it, and the first power loss while
 * a connection holds it, mark that point in the history
 * (hist_mark_unsafe, once); the oracle labels what ended after it. Any
 * other fault (a read, a lock, an allocation) leaves the file as it was
 * and the in-memory journal able to undo what was written; a fault on a
 * reader, or a power loss while nobody writes, leaves the synced file as
 * it was: no mark. Only the history
 * changes here: no draw, no trace fold, no scheduling decision.
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

static void note_unsafe(struct world *w, const struct conn *c)
{
	if (c == NULL || w->res->history.unsafe_event != 0 || !journal_in_memory(w))
		return;
	if (conn_is_writing(c))
		hist_mark_unsafe(&w->res->history);
}

static void trace_vfs(void *ctx, enum wh_op_kind kind, const char *file,
		      int64_t a, int64_t b, int rc)
{
	struct world *w = ctx;
	if (w->finished)
		return;
	/* The disk-full window refuses writes here (injected faults never
	 * reach the VFS's trace): before the lock state moves. */
	if ((rc & 0xff) == SQLITE_FULL && file_is(w, file, ""))
		note_unsafe(w, w->running);
	if (w->running)
		note_commit_point(w, w->running, kind, file, a, b, rc);
	hot_journal_note(w, w->running ? w->running->id : -1, kind, file, a, b, rc);
	int conn = w->running ? w->running->id : -1;
	w->res->stats.vfs_ops++;
	w->res->stats.disk_full += (rc & 0xff) == SQLITE_FULL;
	w->res->stats.vfs_ops_by_kind[kind]++;
	trace_fold(w, ((uint64_t)(uint32_t)conn << 32) | ((uint64_t)kind << 16) |
			      (uint16_t)rc);
	trace_fold(w, str_hash(file));
	trace_fold(w, (uint64_t)a);
	trace_fold(w, (uint64_t)b);
	if (w->cfg->trace)
		fprintf(w->cfg->trace,
			"t=%" PRIu64 " conn=%d op=%s file=%s a=%" PRId64
			" b=%" PRId64 " rc=%d\n",
			w->sched.now_us, conn, wh_op_name(kind),
			file ? file : "-", a, b, rc);
}

static void trace_stmt(struct world *w, struct conn *c, const char *what,
		       const char *sql, int rc)
{
	trace_fold(w, str_hash(what) ^ ((uint64_t)(uint32_t)c->id << 40));
	trace_fold(w, (uint64_t)(uint32_t)rc);
	if (w->cfg->trace)
		fprintf(w->cfg->trace, "t=%" PRIu64 " conn=%d %s rc=%d sql=%s txn=%d\n",
			w->sched.now_us, c->id, what, rc, sql ? sql : "-", c->txn ? (int)c->txn->id : -1);
}

/* ------------------------------------------------------------------ */
/* VFS hooks                                                           */
/* ------------------------------------------------------------------ */

static void conn_on_complete(struct wh_completion *comp, void *data);

/* I/O fault injection for the op a connection is about to make: the
 * seed's plan says which kinds may fail and how often; a persistent fault
 * keeps failing the same kind for a few ops. Decisions draw from the fault
 * stream in the deterministic order ops are made. */
static int maybe_fault(struct world *w, struct conn *c, enum wh_op_kind kind, const char *file,
		       int64_t arg)
{
	if ((w->plan.io_mask & (1u << kind)) == 0)
		return SQLITE_OK;
	/* Releasing a shm lock cannot fail on a real system (and SQLite
	 * ignores the result): failing it would leak the lock. */
	if (kind == WH_OP_SHM_LOCK && ((arg >> 16) & SQLITE_SHM_UNLOCK))
		return SQLITE_OK;
	bool hit = false;
	if (c->persist_left > 0 && c->persist_kind == kind) {
		c->persist_left--;
		hit = true;
	} else if (wh_prng_below(&w->fault_rng, 1000000) < w->plan.io_per_million) {
		hit = true;
		if (w->plan.persistent && wh_prng_chance(&w->fault_rng, 1, 4)) {
			c->persist_kind = kind;
			c->persist_left = (uint32_t)wh_prng_range(&w->fault_rng, 1, 16);
		}
	}
	int code = hit ? simvfs_fault_code(kind) : SQLITE_OK;
	if (code != SQLITE_OK && c->in_commit && !c->commit_fault_seen) {
		c->commit_fault_seen = true;
		c->commit_fault_wal_io = kind == WH_OP_WRITE && file_is(w, file, "-wal");
	}
	if (code != SQLITE_OK) {
		/* Only a failed change of the database file can leave it
		 * half-written for the in-memory journal to fail to undo. */
		if ((kind == WH_OP_WRITE || kind == WH_OP_TRUNCATE || kind == WH_OP_SYNC) &&
		    file_is(w, file, ""))
			note_unsafe(w, c);
		w->res->stats.faults_injected++;
		w->res->stats.faults_by_kind[kind]++;
		trace_fold(w, 0xfa17ULL ^ ((uint64_t)kind << 8) ^ ((uint64_t)(uint32_t)c->id << 20));
		/* The op never reaches the VFS, so it has no op= line: say
		 * what failed, for whoever attributes a finding. */
		if (w->cfg->trace)
			fprintf(w->cfg->trace, "t=%" PRIu64 " conn=%d fault=%s file=%s a=%" PRId64
					       " rc=%d\n",
				w->sched.now_us, c->id, wh_op_name(kind), file ? file : "-", arg,
				code);
	}
	return code;
}

static int hook_yield(void *ctx, enum wh_op_kind kind, const char *file,
		      int64_t arg)
{
	struct world *w = ctx;
	struct conn *c = w->running;
	(void)file;
	if (w->finished)
		return SQLITE_OK;
	if (w->draining || (c != NULL && c->dead))
		return kind == WH_OP_SLEEP ? SQLITE_OK : SQLITE_IOERR;
	if (c == NULL)
		return SQLITE_OK; /* main context: setup and final checks */
	int fault = maybe_fault(w, c, kind, file, arg);
	if (fault != SQLITE_OK)
		return fault;
	uint64_t delay = kind == WH_OP_SLEEP ? (uint64_t)(arg > 0 ? arg : 0)
					     : sched_latency_us(&w->sched, kind, c->id);
	wh_completion_init(&c->comp, kind, conn_on_complete, c);
	c->comp.owner = c->id;
	c->parked_kind = kind;
	sched_submit(&w->sched, &c->comp, delay);
	wh_fiber_yield();
	/* Resumed by conn_call() after the scheduler finished the completion
	 * (or by the drain after a hang). */
	if (w->draining && c->comp.state == WH_COMP_PENDING)
		return SQLITE_IOERR;
	WH_ASSERT(wh_completion_is_finished(&c->comp));
	return c->comp.state == WH_COMP_OK ? SQLITE_OK : SQLITE_IOERR;
}

static uint64_t hook_now_us(void *ctx)
{
	struct world *w = ctx;
	return w->sched.now_us;
}

static void hook_randomness(void *ctx, int n, unsigned char *out)
{
	struct world *w = ctx;
	for (int i = 0; i < n; i++)
		out[i] = (unsigned char)wh_prng_next(&w->vfs_rng);
}

/* ------------------------------------------------------------------ */
/* Allocation failures                                                 */
/* ------------------------------------------------------------------ */

/* SQLite's allocator is process-wide. The wrapper fails allocations only
 * while a target connection's fiber runs (armed in conn_call), never for
 * the oracle's reference or whopper's own setup, and only when the seed's
 * plan turned allocation failures on. Transient: each allocation draws.
 * Armed per thread: the oracle's concurrent check allocates from its own
 * thread at any moment and must neither fail nor draw from the run's
 * stream. */
static sqlite3_mem_methods default_mem;
static _Thread_local struct world *alloc_armed;

static bool alloc_should_fail(void)
{
	struct world *w = alloc_armed;
	if (w == NULL || w->plan.alloc_per_million == 0)
		return false;
	if (wh_prng_below(&w->fault_rng, 1000000) >= w->plan.alloc_per_million)
		return false;
	w->res->stats.alloc_failures++;
	return true;
}

static void *fault_malloc(int n)
{
	return alloc_should_fail() ? NULL : default_mem.xMalloc(n);
}

static void *fault_realloc(void *p, int n)
{
	return alloc_should_fail() ? NULL : default_mem.xRealloc(p, n);
}

static void fault_free(void *p)
{
	default_mem.xFree(p);
}

static int fault_size(void *p)
{
	return default_mem.xSize(p);
}

static int fault_roundup(int n)
{
	return default_mem.xRoundup(n);
}

static int fault_init(void *app)
{
	(void)app;
	return default_mem.xInit(default_mem.pAppData);
}

static void fault_shutdown(void *app)
{
	(void)app;
	default_mem.xShutdown(default_mem.pAppData);
}

/* ------------------------------------------------------------------ */
/* The fiber side                                                      */
/* ------------------------------------------------------------------ */

static void conn_clear_cells(struct conn *c)
{
	for (uint32_t i = 0; i < c->cell_count; i++)
		wh_value_free(&c->cells[i]);
	c->cell_count = 0;
	c->col_count = 0;
	c->changes = 0;
}

static void value_from_column(struct wh_value *v, sqlite3_stmt *st, int col)
{
	memset(v, 0, sizeof *v);
	v->type = sqlite3_column_type(st, col);
	switch (v->type) {
	case SQLITE_INTEGER:
		v->i = sqlite3_column_int64(st, col);
		break;
	case SQLITE_FLOAT:
		v->f = sqlite3_column_double(st, col);
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *p = v->type == SQLITE_TEXT
					? (const void *)sqlite3_column_text(st, col)
					: sqlite3_column_blob(st, col);
		v->n = (uint32_t)sqlite3_column_bytes(st, col);
		v->p = wh_malloc(v->n + 1);
		if (v->n)
			memcpy(v->p, p, v->n);
		v->p[v->n] = 0;
		break;
	}
	default:
		v->type = SQLITE_NULL;
	}
}

static void conn_clear_params(struct conn *c)
{
	for (uint32_t i = 0; i < c->param_count; i++)
		wh_value_free(&c->params[i]);
	c->param_count = 0;
}

/* Prepare, bind, step to the end, collect every row. Runs on the fiber and
 * may park inside any SQLite call. */
static int conn_do_stmt(struct conn *c)
{
	sqlite3_stmt *st = NULL;
	conn_clear_cells(c);
	int rc = sqlite3_prepare_v2(c->db, c->stmt_sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite3_extended_errcode(c->db);
	for (uint32_t i = 0; i < c->param_count; i++)
		wh_value_bind(st, (int)i + 1, &c->params[i]);
	c->col_count = (uint32_t)sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (c->cell_count + c->col_count > c->cell_cap) {
			c->cell_cap = (c->cell_cap + c->col_count) * 2;
			c->cells = wh_realloc(c->cells, c->cell_cap * sizeof *c->cells);
		}
		for (uint32_t k = 0; k < c->col_count; k++)
			value_from_column(&c->cells[c->cell_count++], st, (int)k);
	}
	if (rc == SQLITE_DONE)
		c->changes = sqlite3_changes64(c->db);
	else
		rc = sqlite3_extended_errcode(c->db);
	sqlite3_finalize(st);
	return rc;
}

static int conn_apply_pragmas(struct conn *c)
{
	const struct world_config *cfg = c->w->cfg;
	char sql[256];
	int rc = sqlite3_busy_timeout(c->db, (int)cfg->busy_timeout_ms);
	if (rc == SQLITE_OK && cfg->target == WORLD_TARGET_SIM) {
		snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", cfg->journal_mode);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", cfg->synchronous);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	}
	for (uint32_t i = 0; rc == SQLITE_OK && i < cfg->workload->pragma_count; i++) {
		snprintf(sql, sizeof sql, "PRAGMA %s", cfg->workload->pragmas[i]);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	}
	for (uint32_t i = 0; rc == SQLITE_OK && i < cfg->pragma_count; i++) {
		snprintf(sql, sizeof sql, "PRAGMA %s", cfg->pragmas[i]);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	}
	return rc;
}

static int conn_do_open(struct conn *c)
{
	struct world *w = c->w;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	const char *vfs = NULL;
	if (w->cfg->target == WORLD_TARGET_SIM) {
		/* Never shared cache on the simulated VFS: its mutexes and
		 * table locks would let one parked fiber block another. */
		vfs = w->res->vfs_name;
		flags |= SQLITE_OPEN_PRIVATECACHE;
	} else {
		flags |= SQLITE_OPEN_URI;
	}
	int rc = sqlite3_open_v2(w->res->db_path, &c->db, flags, vfs);
	if (rc == SQLITE_OK)
		rc = conn_apply_pragmas(c);
	if (rc != SQLITE_OK) {
		/* An open can fail under faults; leave no half-open handle. */
		if (c->db != NULL)
			rc = sqlite3_extended_errcode(c->db);
		sqlite3_close_v2(c->db);
		c->db = NULL;
	}
	return rc;
}

static void conn_fiber_main(void *arg)
{
	struct conn *c = arg;
	for (;;) {
		WH_ASSERT(c->call_active);
		WH_ASSERT(!c->call_done);
		switch (c->call_op) {
		case CALL_OPEN:
			c->call_rc = conn_do_open(c);
			break;
		case CALL_EXEC:
			c->call_rc = sqlite3_exec(c->db, c->call_sql, NULL, NULL, NULL);
			if (c->call_rc != SQLITE_OK)
				c->call_rc = sqlite3_extended_errcode(c->db);
			break;
		case CALL_STMT:
			c->call_rc = conn_do_stmt(c);
			break;
		case CALL_CLOSE:
			c->call_rc = sqlite3_close_v2(c->db);
			c->db = NULL;
			break;
		}
		c->call_done = true;
		wh_fiber_yield();
	}
}

/* Hand `op` to the fiber (first call) or resume it (re-entry). WH_DONE
 * with the result in call_rc, or WH_PENDING while parked in the VFS. */
static int conn_call(struct conn *c, enum call_op op)
{
	struct world *w = c->w;
	if (!c->call_active) {
		c->call_op = op;
		c->call_active = true;
		c->call_done = false;
	}
	WH_ASSERT(c->call_op == op);
	WH_ASSERT(w->running == NULL);
	w->running = c;
	alloc_armed = c->dead ? NULL : w;
	wh_fiber_resume(c->fiber);
	alloc_armed = NULL;
	w->running = NULL;
	if (!c->call_done)
		return WH_PENDING;
	c->call_active = false;
	return WH_DONE;
}

static int conn_exec(struct conn *c, const char *sql)
{
	if (!c->call_active)
		c->call_sql = sql;
	return conn_call(c, CALL_EXEC);
}

/* ------------------------------------------------------------------ */
/* The driver state machine (main context)                             */
/* ------------------------------------------------------------------ */

static bool rc_is_busy(int rc)
{
	int primary = rc & 0xff;
	return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
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

static void conn_wait_us(struct conn *c, enum wh_op_kind kind, uint64_t delay_us)
{
	wh_completion_init(&c->comp, kind, conn_on_complete, c);
	c->comp.owner = c->id;
	c->parked_kind = kind;
	sched_submit(&c->w->sched, &c->comp, delay_us);
}

static void conn_wait(struct conn *c, enum wh_op_kind kind)
{
	conn_wait_us(c, kind, sched_latency_us(&c->w->sched, kind, c->id));
}

/* Rows compare in order only when the statement orders them. */
static bool sql_is_ordered(const char *sql)
{
	return strstr(sql, "ORDER BY") != NULL || strstr(sql, "order by") != NULL;
}

/* The rollback-journal modes with a journal file, whose finalisation is
 * the commit point. */
static bool journal_is_file(const struct world *w)
{
	const char *jm = w->cfg->journal_mode;
	return strcmp(jm, "delete") == 0 || strcmp(jm, "truncate") == 0 ||
	       strcmp(jm, "persist") == 0;
}

static void conn_txn_end(struct conn *c, enum hist_outcome outcome, int rc)
{
	struct world *w = c->w;
	if (outcome == HIST_COMMITTED && c->txn->visible_event == 0)
		c->txn->visible_event = c->quiet_release;
	if (outcome == HIST_INDETERMINATE) {
		/* The oracle's first guess (oracle__indet_guess): it tries
		 * this transaction as committed first. */
		c->txn->commit_hint = (journal_is_file(w) && c->finalized_first) ||
				      (c->dead && c->txn->visible_event != 0);
	}
	c->quiet_release = 0;
	hist_txn_end(&w->res->history, c->txn, outcome, rc, w->sched.now_us);
	if (outcome == HIST_COMMITTED)
		w->res->stats.txns_committed++;
	else if (outcome == HIST_INDETERMINATE)
		w->res->stats.txns_indeterminate++;
	else
		w->res->stats.txns_aborted++;
	trace_stmt(w, c, outcome == HIST_COMMITTED ? "txn-commit" : "txn-abort",
		   c->txn_name, rc);
	c->txn = NULL;
	c->in_commit = false;
	w->txns_finished++;
	w->steps_since_progress = 0;
	if (w->cfg->progress)
		w->cfg->progress(w->cfg->progress_ctx, w->txns_finished,
				 w->cfg->txn_count);
}

static const char *begin_sql(enum hist_begin b)
{
	switch (b) {
	case HIST_BEGIN_IMMEDIATE:
		return "BEGIN IMMEDIATE";
	case HIST_BEGIN_EXCLUSIVE:
		return "BEGIN EXCLUSIVE";
	default:
		return "BEGIN";
	}
}

static bool is_skipped(const struct world *w, uint32_t txn, uint32_t stmt)
{
	for (uint32_t i = 0; i < w->cfg->skip_count; i++)
		if (w->cfg->skips[i].txn == txn && w->cfg->skips[i].stmt == stmt)
			return true;
	return false;
}

/* A reopen round waits (through its group) for every connection to close. */
static void conn_note_closed(struct conn *c)
{
	if (wh_completion_is_pending(&c->closed))
		wh_completion_complete(&c->closed, 0);
}

enum commit_fate {
	COMMIT_NOT_DONE,  /* certainly did not commit */
	COMMIT_UNCERTAIN, /* may or may not have committed */
};

/* A COMMIT (or an autocommit statement) failed with rc. Did it commit all
 * the same? Not if the error is a refusal or it never held the write lock.
 * In the rollback-journal modes with a journal file, the commit point is
 * the journal's finalisation (deleted, truncated to nothing, header zeroed
 * after the database was written and synced); an injected I/O fault that
 * stopped the commit before it wrote the database file leaves nothing
 * committed, after that it is uncertain (see below). In WAL mode frames
 * are written only before the commit point, so a fault injected on a WAL
 * write came before it (a WAL sync also happens in the auto-checkpoint,
 * after the commit). Anything else (an allocation failure, a fault after
 * the WAL commit point, journal modes memory and off) stays uncertain. */
static enum commit_fate commit_fate(const struct world *w, const struct conn *c, int rc)
{
	if (!rc_is_uncertain(rc) || !c->commit_wrote)
		return COMMIT_NOT_DONE;
	const char *jm = w->cfg->journal_mode;
	bool rollback = journal_is_file(w);
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

static void conn_commit_begins(struct conn *c)
{
	c->in_commit = true;
	c->quiet_release = 0;
	c->commit_wrote = c->holds_db_write_lock || c->holds_wal_write_lock;
	c->hold_predates_commit = c->commit_wrote;
	c->commit_fault_seen = false;
	c->commit_fault_wal_io = false;
	c->commit_wrote_db = false;
	c->journal_finalized = false;
	c->finalized_first = false;
	c->commit_op_failed = false;
}

static int conn_step(struct conn *c)
{
	struct world *w = c->w;
	struct world_result *res = w->res;
	for (;;) {
		switch (c->state) {
		case CS_OPEN:
			RETURN_IF_PENDING(conn_call(c, CALL_OPEN));
			trace_stmt(w, c, "open", NULL, c->call_rc);
			if (c->call_rc == SQLITE_OK) {
				c->open_failures = 0;
				c->state = CS_THINK;
			} else if (++c->open_failures < 64 &&
				   w->cfg->faults != WORLD_FAULTS_NONE) {
				c->state = CS_OPEN_RETRY; /* faults: try again */
			} else {
				c->state = CS_CLOSED;
				conn_note_closed(c);
				return WH_DONE;
			}
			break;
		case CS_OPEN_RETRY:
			conn_wait(c, WH_OP_THINK);
			c->state = CS_OPEN;
			return WH_PENDING;
		case CS_THINK:
			conn_wait(c, WH_OP_THINK);
			c->state = CS_THINK_WAIT;
			return WH_PENDING;
		case CS_THINK_WAIT:
			c->state = CS_PLAN;
			break;
		case CS_PLAN:
			if (w->reopening) {
				c->parked_for_reopen = true;
				c->state = CS_CLOSE;
				break;
			}
			if (w->txns_started >= w->cfg->txn_count) {
				c->state = CS_CLOSE;
				break;
			}
			w->txns_started++;
			w->cfg->workload->ops->txn_begin(c->wl_state, &c->rng, &c->txn_name,
							 &c->begin);
			c->txn = hist_txn_begin(&res->history, c->id, c->txn_name, c->begin,
						w->sched.now_us);
			c->stmt_actions = 0;
			c->last_skipped = false;
			if (c->begin == HIST_BEGIN_AUTOCOMMIT) {
				/* the statement is the commit */
				hist_txn_commit_start(&res->history, c->txn);
				conn_commit_begins(c);
				c->state = CS_NEXT;
			} else {
				trace_stmt(w, c, "begin-start", c->txn_name, 0);
				c->state = CS_BEGIN;
			}
			break;
		case CS_BEGIN:
			RETURN_IF_PENDING(conn_exec(c, begin_sql(c->begin)));
			trace_stmt(w, c, "begin", begin_sql(c->begin), c->call_rc);
			if (c->call_rc != SQLITE_OK) {
				res->stats.busy += rc_is_busy(c->call_rc);
				c->abort_rc = c->call_rc;
				c->state = CS_ROLLBACK;
			} else {
				c->state = CS_NEXT;
			}
			break;
		case CS_NEXT: {
			/* Called once per step: this state never yields. */
			struct wl_action act;
			const struct hist_stmt *prev =
				c->txn->stmt_count ? &c->txn->stmts[c->txn->stmt_count - 1]
						   : NULL;
			/* After a statement the shrinker removed, the workload
			 * sees an empty result, as if it had returned no row. */
			static const struct hist_stmt skipped_result = {.rc = SQLITE_DONE};
			if (c->last_skipped)
				prev = &skipped_result;
			w->cfg->workload->ops->txn_next(c->wl_state, &c->rng, prev, &act);
			c->last_skipped = false;
			if (act.kind == WL_ACT_STMT &&
			    is_skipped(w, c->txn->id, c->stmt_actions++)) {
				c->last_skipped = true;
				if (c->begin == HIST_BEGIN_AUTOCOMMIT) {
					/* its only statement is gone */
					conn_txn_end(c, HIST_ABORTED, SQLITE_OK);
					c->state = CS_THINK;
				}
				break; /* ask for the next action */
			}
			switch (act.kind) {
			case WL_ACT_STMT:
				WH_ASSERT(act.param_count <= WL_MAX_PARAMS);
				WH_ASSERT(act.sql != NULL);
				conn_clear_params(c);
				c->stmt_sql = act.sql;
				c->stmt_tmpl = act.tmpl;
				c->stmt_flags = act.flags;
				for (uint32_t i = 0; i < act.param_count; i++)
					wh_value_copy(&c->params[i], &act.params[i]);
				c->param_count = act.param_count;
				c->state = CS_GAP;
				break;
			case WL_ACT_SLEEP:
				WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
				conn_wait_us(c, WH_OP_SLEEP, act.sleep_us);
				c->state = CS_SLEEP_WAIT;
				return WH_PENDING;
			case WL_ACT_COMMIT:
				WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
				hist_txn_commit_start(&res->history, c->txn);
				conn_commit_begins(c);
				trace_stmt(w, c, "commit-start", c->txn_name, 0);
				c->state = CS_COMMIT;
				break;
			case WL_ACT_ROLLBACK:
				WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
				c->abort_rc = SQLITE_OK; /* the workload chose it */
				c->state = CS_ROLLBACK;
				break;
			}
			break;
		}
		case CS_SLEEP_WAIT:
			c->state = CS_NEXT;
			break;
		case CS_GAP:
			/* A scheduling point between statements: this is
			 * where statement-granularity targets interleave. */
			conn_wait(c, WH_OP_THINK);
			c->state = CS_GAP_WAIT;
			return WH_PENDING;
		case CS_GAP_WAIT:
			c->state = CS_STMT;
			break;
		case CS_STMT: {
			RETURN_IF_PENDING(conn_call(c, CALL_STMT));
			int rc = c->call_rc;
			uint32_t rows = c->col_count ? c->cell_count / c->col_count : 0;
			struct hist_stmt *hs = hist_stmt_add(
				&res->history, c->txn, c->stmt_sql, c->stmt_tmpl, c->params,
				c->param_count, rc, c->changes, c->col_count, rows, c->cells,
				sql_is_ordered(c->stmt_sql));
			hs->flags = c->stmt_flags;
			enum commit_fate fate = COMMIT_NOT_DONE;
			if (rc != SQLITE_DONE && c->begin == HIST_BEGIN_AUTOCOMMIT)
				fate = commit_fate(w, c, rc);
			/* its recorded rc and rows do not describe its effects */
			if (fate != COMMIT_NOT_DONE)
				hs->flags |= HIST_STMT_UNCERTAIN;
			conn_clear_cells(c);
			res->stats.statements++;
			trace_stmt(w, c, "stmt", c->stmt_sql, rc);
			if (fate != COMMIT_NOT_DONE) {
				/* the statement was its own commit */
				conn_txn_end(c, HIST_INDETERMINATE, rc);
				c->state = CS_THINK;
			} else if (rc != SQLITE_DONE) {
				res->stats.busy += rc_is_busy(rc);
				c->abort_rc = rc;
				c->state = CS_ROLLBACK;
			} else if (c->begin == HIST_BEGIN_AUTOCOMMIT) {
				conn_txn_end(c, HIST_COMMITTED, rc);
				c->state = CS_THINK;
			} else {
				c->state = CS_NEXT;
			}
			break;
		}
		case CS_COMMIT:
			RETURN_IF_PENDING(conn_exec(c, "COMMIT"));
			trace_stmt(w, c, "commit", "COMMIT", c->call_rc);
			if (c->call_rc == SQLITE_OK) {
				conn_txn_end(c, HIST_COMMITTED, SQLITE_OK);
				c->state = CS_THINK;
			} else if (commit_fate(w, c, c->call_rc) != COMMIT_NOT_DONE &&
				   c->db != NULL && sqlite3_get_autocommit(c->db)) {
				/* SQLite ended the transaction on an I/O-type
				 * error after taking the write lock. (When it is
				 * still open, it certainly did not commit.) */
				conn_txn_end(c, HIST_INDETERMINATE, c->call_rc);
				c->state = CS_THINK;
			} else {
				res->stats.busy += rc_is_busy(c->call_rc);
				c->abort_rc = c->call_rc;
				c->state = CS_ROLLBACK;
			}
			break;
		case CS_ROLLBACK:
			/* SQLite may already have rolled back (autocommit on
			 * again): then there is nothing to undo. Reading the
			 * flag does no I/O. A ROLLBACK parked in the VFS is
			 * resumed whatever the flag says meanwhile. */
			if (c->call_active ||
			    (c->db != NULL && !sqlite3_get_autocommit(c->db))) {
				RETURN_IF_PENDING(conn_exec(c, "ROLLBACK"));
				trace_stmt(w, c, "rollback", "ROLLBACK", c->call_rc);
				if (c->db != NULL && !sqlite3_get_autocommit(c->db)) {
					/* The ROLLBACK failed (an allocation or
					 * I/O fault) and the transaction is still
					 * open: it has not ended, and the next
					 * statement would run inside it. Pause,
					 * then try again; a fault that never
					 * clears ends as a hang, a reported
					 * result. */
					res->stats.rollback_retries++;
					conn_wait(c, WH_OP_THINK);
					return WH_PENDING;
				}
			}
			WH_ASSERT(!c->call_active);
			conn_txn_end(c, HIST_ABORTED, c->abort_rc);
			c->state = CS_THINK;
			break;
		case CS_CLOSE:
			RETURN_IF_PENDING(conn_call(c, CALL_CLOSE));
			trace_stmt(w, c, "close", NULL, c->call_rc);
			c->state = CS_CLOSED;
			conn_note_closed(c);
			return WH_DONE;
		case CS_CLOSED:
			return WH_DONE;
		}
	}
}

static void conn_on_complete(struct wh_completion *comp, void *data)
{
	struct conn *c = data;
	(void)comp;
	if (c->w->draining || c->dead)
		return; /* whoever killed it resumes the fiber itself */
	int rc = conn_step(c);
	if (rc == WH_DONE) {
		WH_ASSERT(c->w->live_conns > 0);
		c->w->live_conns--;
	} else {
		WH_ASSERT_EQ(rc, WH_PENDING);
	}
}

/* ------------------------------------------------------------------ */
/* Setup, the run loop, teardown                                       */
/* ------------------------------------------------------------------ */

static void add_finding(struct world_result *r, const char *kind,
			const char *detail)
{
	r->findings = wh_realloc(r->findings,
				 (r->finding_count + 1) * sizeof *r->findings);
	r->findings[r->finding_count].kind = wh_strdup(kind);
	r->findings[r->finding_count].detail = wh_strdup(detail);
	r->finding_count++;
}

int world_global_init(void)
{
	static bool done;
	if (done)
		return 0;
	/* The simulation runs every connection on one OS thread, while the
	 * oracle's concurrent check runs its reference database on another.
	 * Multi-thread mode: SQLite's global state (allocator, page cache,
	 * VFS list, PRNG) is guarded, but no connection has a mutex, so a
	 * fiber parked inside SQLite (in a VFS call) holds none that another
	 * connection's fiber could block on. The global mutexes are never
	 * held across a VFS call of a private-cache connection. */
	sqlite3_shutdown();
	if (sqlite3_config(SQLITE_CONFIG_MULTITHREAD) != SQLITE_OK)
		return WH_EINVAL;
	/* Allocation failures go through SQLite's own allocator hooks. */
	static sqlite3_mem_methods fault_mem = {
		.xMalloc = fault_malloc, .xFree = fault_free, .xRealloc = fault_realloc,
		.xSize = fault_size, .xRoundup = fault_roundup, .xInit = fault_init,
		.xShutdown = fault_shutdown,
	};
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &default_mem) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_MALLOC, &fault_mem) != SQLITE_OK)
		return WH_EINVAL;
	sqlite3_config(SQLITE_CONFIG_URI, 1);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_initialize() != SQLITE_OK)
		return WH_EINVAL;
	done = true;
	return 0;
}

void world_config_default(struct world_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->seed = 1;
	cfg->workload = NULL; /* the caller chooses */
	cfg->conn_count = 4;
	cfg->txn_count = 1000;
	cfg->journal_mode = "wal";
	cfg->synchronous = "full";
	cfg->strategy = SCHED_RANDOM;
	cfg->pct_depth = 3;
	cfg->target = WORLD_TARGET_SIM;
	cfg->stack_bytes = WH_FIBER_STACK_DEFAULT;
	cfg->busy_timeout_ms = 50;
	cfg->reorder_window_us = 20;
	cfg->hang_steps = 2000000;
	cfg->device_characteristics = -1;
}

static const char *const faults_names[] = {
	[WORLD_FAULTS_NONE] = "none", [WORLD_FAULTS_IO] = "io",
	[WORLD_FAULTS_CRASH] = "crash", [WORLD_FAULTS_CHAOS] = "chaos",
	[WORLD_FAULTS_BITFLIP] = "bitflip",
};

const char *world_faults_name(enum world_faults f)
{
	WH_ASSERT((unsigned)f < sizeof faults_names / sizeof faults_names[0]);
	return faults_names[f];
}

int world_faults_parse(const char *s)
{
	for (unsigned i = 0; i < sizeof faults_names / sizeof faults_names[0]; i++)
		if (strcmp(s, faults_names[i]) == 0)
			return (int)i;
	return -1;
}

/* SQLite's PRNG is process-global and seeded once from the default VFS's
 * xRandomness. Reset it and reseed it from this run's stream, so WAL salts
 * and the like depend on the seed alone, not on earlier runs. */
static void reseed_sqlite_prng(struct world *w)
{
	sqlite3_vfs *prev = sqlite3_vfs_find(NULL);
	unsigned char b;
	sqlite3_vfs_register(simvfs_sqlite(w->res->vfs), 1);
	sqlite3_randomness(0, NULL);
	sqlite3_randomness(1, &b);
	sqlite3_vfs_register(prev, 1);
}

static int world_setup_db(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	const char *vfs = NULL;
	char sql[128];
	if (cfg->target == WORLD_TARGET_SIM)
		vfs = w->res->vfs_name;
	else
		flags |= SQLITE_OPEN_URI;
	int rc = sqlite3_open_v2(w->res->db_path, &db, flags, vfs);
	if (rc == SQLITE_OK && cfg->target == WORLD_TARGET_SIM) {
		snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", cfg->journal_mode);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	for (uint32_t i = 0; rc == SQLITE_OK && i < cfg->workload->pragma_count; i++) {
		snprintf(sql, sizeof sql, "PRAGMA %s", cfg->workload->pragmas[i]);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	for (uint32_t i = 0; rc == SQLITE_OK && i < cfg->pragma_count; i++) {
		snprintf(sql, sizeof sql, "PRAGMA %s", cfg->pragmas[i]);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, cfg->workload->setup_sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		char msg[512];
		snprintf(msg, sizeof msg, "workload setup failed: %s",
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		add_finding(w->res, "setup_failed", msg);
		sqlite3_close_v2(db);
		return WH_ESQL;
	}
	if (cfg->target == WORLD_TARGET_MEMORY_SHARED)
		w->res->keepalive = db; /* the shared in-memory db lives on */
	else
		sqlite3_close_v2(db);
	return 0;
}

static void report_hang(struct world *w, const char *why)
{
	char msg[4096];
	int n = snprintf(msg, sizeof msg, "%s after %" PRIu64 " steps at t=%" PRIu64
			 "us;", why, w->sched.steps, w->sched.now_us);
	for (uint32_t i = 0; i < w->cfg->conn_count && n < (int)sizeof msg - 64; i++) {
		const struct conn *c = &w->conns[i];
		n += snprintf(msg + n, sizeof msg - (size_t)n, " conn %u: %s%s%s;", i,
			      conn_state_names[c->state],
			      c->call_active ? " parked in " : "",
			      c->call_active ? wh_op_name(c->parked_kind) : "");
	}
	add_finding(w->res, "hang", msg);
}

static int cmp_u64_asc(const void *a, const void *b);

/* Unwind a connection whose process died (a crash, or the end of a hung
 * run): its pending completion is cancelled, every further VFS call fails
 * at once without being scheduled, the SQLite call in flight returns, its
 * open transaction ends (INDETERMINATE when it was inside COMMIT: it may
 * have committed; ABORTED otherwise) and the handle is closed. */
static void conn_kill(struct world *w, struct conn *c, bool record_txn)
{
	bool cut_stmt = c->call_active && c->call_op == CALL_STMT;
	c->dead = true;
	if (wh_completion_is_pending(&c->comp))
		wh_completion_cancel(&c->comp);
	for (int guard = 0; c->call_active; guard++) {
		/* Each resume fails one more VFS call; a call makes at most a
		 * bounded number of them once everything fails. */
		WH_ASSERT(guard < 100000);
		w->running = c;
		wh_fiber_resume(c->fiber);
		w->running = NULL;
		if (c->call_done)
			c->call_active = false;
	}
	bool uncertain = c->in_commit && c->commit_wrote;
	if (c->txn != NULL && record_txn && cut_stmt) {
		/* The statement the crash cut still goes into the history: if
		 * it was an autocommit write past its commit point, its effects
		 * survive and the oracle must be able to replay it. */
		struct hist_stmt *hs = hist_stmt_add(
			&w->res->history, c->txn, c->stmt_sql, c->stmt_tmpl, c->params,
			c->param_count, c->call_rc == SQLITE_DONE ? SQLITE_IOERR : c->call_rc,
			0, 0, 0, NULL, sql_is_ordered(c->stmt_sql));
		hs->flags = c->stmt_flags | (uncertain ? HIST_STMT_UNCERTAIN : 0);
		w->res->stats.statements++;
	}
	if (c->txn != NULL && record_txn)
		conn_txn_end(c, uncertain ? HIST_INDETERMINATE : HIST_ABORTED, SQLITE_IOERR);
	if (c->db != NULL) {
		c->call_op = CALL_CLOSE;
		c->call_active = true;
		c->call_done = false;
		w->running = c;
		wh_fiber_resume(c->fiber);
		w->running = NULL;
		WH_ASSERT(c->call_done);
		c->call_active = false;
	}
	WH_ASSERT(c->db == NULL);
	c->in_commit = false;
	c->holds_db_write_lock = false;
	c->holds_wal_write_lock = false;
	c->wrote_under_lock = false;
	c->hold_predates_commit = false;
	c->persist_left = 0;
	conn_clear_cells(c);
}

/* After a hang, unwind every parked SQLite call so every connection
 * closes; transactions in flight stay RUNNING in the history. */
static void world_drain(struct world *w)
{
	w->draining = true;
	for (uint32_t i = 0; i < w->cfg->conn_count; i++)
		conn_kill(w, &w->conns[i], false);
}

/* Open the database as a new process would, on the main context (no
 * yields: this is where SQLite recovers a hot journal or a WAL), and
 * record the crash with a digest of what survived. */
static void record_recovery(struct world *w, enum hist_crash_kind kind)
{
	struct hist_crash *cr = hist_crash_add(&w->res->history, kind);
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_PRIVATECACHE;
	int rc = sqlite3_open_v2(w->res->db_path, &db, flags, w->res->vfs_name);
	if (rc == SQLITE_OK)
		rc = digest_db(db, &cr->recovered_digest);
	cr->recovered_rc = rc;
	sqlite3_close_v2(db);
	hist_crash_recovered(&w->res->history, cr);
	trace_fold(w, cr->recovered_digest ^ (uint64_t)(uint32_t)rc);
	if (w->cfg->trace)
		fprintf(w->cfg->trace, "t=%" PRIu64 " %s recovered rc=%d digest=%016" PRIx64 "\n",
			w->sched.now_us, kind == HIST_CRASH_POWER_LOSS ? "power-loss" : "reopen",
			rc, cr->recovered_digest);
	if (rc == SQLITE_OK && kind == HIST_CRASH_POWER_LOSS)
		w->res->stats.recoveries++;
}

/* Restart every connection that the crash or reopen took down. */
static void restart_conns(struct world *w, bool only_reopened)
{
	for (uint32_t i = 0; i < w->cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		if (only_reopened ? !c->parked_for_reopen : c->state == CS_CLOSED)
			continue;
		c->dead = false;
		c->parked_for_reopen = false;
		c->open_failures = 0;
		c->state = CS_OPEN;
		if (only_reopened)
			w->live_conns++;
		if (conn_step(c) == WH_DONE)
			w->live_conns--;
	}
}

/* Power loss: the simulated device loses unsynced data, every connection
 * of the old process dies, a new process opens what survived. */
static void world_power_loss(struct world *w)
{
	struct simvfs_crash_stats st;
	simvfs_power_loss(w->res->vfs, &w->fault_rng, &st);
	w->res->stats.crashes++;
	trace_fold(w, 0xc4a5ULL ^ st.sectors_lost ^ (st.sectors_kept << 20) ^
			      (st.sectors_garbage << 40));
	if (w->cfg->trace)
		fprintf(w->cfg->trace,
			"t=%" PRIu64 " power-loss lost=%" PRIu64 " kept=%" PRIu64
			" garbage=%" PRIu64 " files=%u\n",
			w->sched.now_us, st.sectors_lost, st.sectors_kept,
			st.sectors_garbage, st.files_affected);
	/* Before anyone dies: the transactions the crash cuts end after the
	 * point it marks. */
	for (uint32_t i = 0; i < w->cfg->conn_count; i++)
		if (w->conns[i].state != CS_CLOSED)
			note_unsafe(w, &w->conns[i]);
	for (uint32_t i = 0; i < w->cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		if (c->state != CS_CLOSED)
			conn_kill(w, c, true);
	}
	record_recovery(w, HIST_CRASH_POWER_LOSS);
	restart_conns(w, false);
}

/* The reopen group finished: every connection has closed cleanly. The
 * reopen itself runs at the next tick of the main loop, not inside the
 * last connection's step. */
static void on_all_closed(struct wh_completion *comp, void *data)
{
	struct world *w = data;
	(void)comp;
	w->reopen_ready = true;
}

static void world_finish_reopen(struct world *w)
{
	w->reopen_ready = false;
	w->reopening = false;
	w->res->stats.reopens++;
	record_recovery(w, HIST_CRASH_REOPEN);
	restart_conns(w, true);
}

/* Clean reopen: connections finish their transaction and close (a group
 * waits for all of them), then all reopen. */
static void world_start_reopen(struct world *w)
{
	w->reopening = true;
	wh_group_init(&w->reopen_group, on_all_closed, w);
	for (uint32_t i = 0; i < w->cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		if (c->state == CS_CLOSED)
			continue;
		wh_completion_init(&c->closed, WH_OP_CLOSE, NULL, NULL);
		wh_group_add(&w->reopen_group, &c->closed);
	}
	wh_group_seal(&w->reopen_group);
}

static uint64_t sum_sizes(struct simvfs *vfs, const char *db)
{
	static const char *const suffixes[] = {"", "-wal", "-journal"};
	char name[96];
	uint64_t total = 0;
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "%s%s", db, suffixes[i]);
		int64_t n = simvfs_file_size(vfs, name);
		total += n > 0 ? (uint64_t)n : 0;
	}
	return total;
}

/* Between scheduler steps: start the crash, reopen, bit flip or disk-full
 * window that the plan puts at this point of the run. */
static void world_faults_tick(struct world *w)
{
	struct fault_plan *p = &w->plan;
	uint64_t done = w->txns_finished;
	if (w->reopen_ready)
		world_finish_reopen(w);
	if (w->crash_next < p->crash_count && done >= p->crash_at[w->crash_next] &&
	    !w->reopening && w->live_conns > 0) {
		w->crash_next++;
		world_power_loss(w);
	}
	if (w->reopen_next < p->reopen_count && done >= p->reopen_at[w->reopen_next] &&
	    !w->reopening && w->txns_started < w->cfg->txn_count) {
		w->reopen_next++;
		world_start_reopen(w);
	}
	if (p->bitflip && !w->bitflip_done && done >= p->bitflip_at) {
		char desc[128];
		w->bitflip_done = true;
		if (simvfs_bitflip(w->res->vfs, &w->fault_rng, desc, sizeof desc) == 0) {
			w->res->stats.bitflips++;
			trace_fold(w, str_hash(desc));
			if (w->cfg->trace)
				fprintf(w->cfg->trace, "t=%" PRIu64 " bitflip %s\n",
					w->sched.now_us, desc);
		}
	}
	/* The disk-full window: the quota is set once, just above what the
	 * files hold when it opens, and lifted once when it closes (not
	 * re-set every tick, which would let the disk grow with the files). */
	if (w->quota_state == 0 && p->quota_to_txn > p->quota_from_txn &&
	    done >= p->quota_from_txn) {
		simvfs_set_quota(w->res->vfs, sum_sizes(w->res->vfs, w->res->db_path) + 4096);
		w->quota_state = 1;
	} else if (w->quota_state == 1 && done >= p->quota_to_txn) {
		simvfs_set_quota(w->res->vfs, 0);
		w->quota_state = 2;
	}
}

/* Draw this seed's fault plan (swarm testing: a random subset of the
 * profile's kinds is on). */
static void draw_fault_plan(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	struct fault_plan *p = &w->plan;
	struct wh_prng *r = &w->fault_rng;
	memset(p, 0, sizeof *p);
	bool io = cfg->faults == WORLD_FAULTS_IO || cfg->faults == WORLD_FAULTS_CHAOS;
	bool crash = cfg->faults == WORLD_FAULTS_CRASH || cfg->faults == WORLD_FAULTS_CHAOS;
	uint64_t n = cfg->txn_count ? cfg->txn_count : 1;
	if (io) {
		static const enum wh_op_kind kinds[] = {
			WH_OP_OPEN, WH_OP_READ, WH_OP_WRITE, WH_OP_TRUNCATE, WH_OP_SYNC,
			WH_OP_FILESIZE, WH_OP_LOCK, WH_OP_SHM_MAP, WH_OP_SHM_LOCK};
		for (unsigned i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
			if (wh_prng_chance(r, 1, 2))
				p->io_mask |= 1u << kinds[i];
		p->io_per_million = (uint32_t)wh_prng_range(r, 2000, 20000);
		p->persistent = wh_prng_chance(r, 1, 2);
		if (wh_prng_chance(r, 1, 2))
			p->alloc_per_million = (uint32_t)wh_prng_range(r, 20, 500);
		if (wh_prng_chance(r, 1, 3)) {
			p->quota_from_txn = wh_prng_below(r, n);
			p->quota_to_txn = p->quota_from_txn + 1 + wh_prng_below(r, n / 10 + 1);
		}
	}
	if (crash) {
		p->crash_count = (uint32_t)wh_prng_range(r, 1, 3);
		for (uint32_t i = 0; i < p->crash_count; i++)
			p->crash_at[i] = wh_prng_below(r, n);
		qsort(p->crash_at, p->crash_count, sizeof p->crash_at[0], cmp_u64_asc);
	}
	if (cfg->faults == WORLD_FAULTS_CHAOS) {
		p->reopen_count = (uint32_t)wh_prng_range(r, 0, 2);
		for (uint32_t i = 0; i < p->reopen_count; i++)
			p->reopen_at[i] = wh_prng_below(r, n);
		qsort(p->reopen_at, p->reopen_count, sizeof p->reopen_at[0], cmp_u64_asc);
	}
	if (cfg->faults == WORLD_FAULTS_BITFLIP) {
		p->bitflip = true;
		p->bitflip_at = wh_prng_below(r, n);
	}
	w->res->stats.fault_kinds_on = p->io_mask;
}

static int cmp_u64_asc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
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
 * note_commit_point). Keys are distinct history events, so the order is
 * total and needs no tie-break. */
static void renumber_commits(struct history *h)
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

_Static_assert(WH_STREAM_LATENCY_CONN >= WH_STREAM_CONN + WORLD_MAX_CONNS,
	       "connection streams and latency tracks do not overlap");
_Static_assert(2 * WORLD_MAX_CONNS + 16 <= WH_TAPE_MAX_TRACKS,
	       "a tape has room for every stream of a run");

int world_run(const struct world_config *cfg, struct world_result *res)
{
	int rc = world_global_init();
	if (rc != 0)
		return rc;
	WH_ASSERT(cfg->conn_count > 0 && cfg->conn_count <= WORLD_MAX_CONNS);
	WH_ASSERT(cfg->workload != NULL);
	memset(res, 0, sizeof *res);
	/* The world outlives this call: the VFS hooks point at it while the
	 * oracle reads the final database. world_result_free frees it. */
	struct world *w = wh_calloc(1, sizeof *w);
	res->world = w;
	w->cfg = cfg;
	w->res = res;
	w->hash = wh_mix64(cfg->seed ^ 0x77686f70ULL);
	hist_init(&res->history);
	hist_set_setup(&res->history, cfg->workload->setup_sql);
	res->history.observer = cfg->observer;
	wh_prng_seed_taped(&w->vfs_rng, cfg->seed, WH_STREAM_VFS_RANDOM, cfg->tape);
	wh_prng_seed_taped(&w->fault_rng, cfg->seed, WH_STREAM_FAULTS, cfg->tape);
	draw_fault_plan(w);

	struct sched_config sc = {
		.seed = cfg->seed,
		.strategy = cfg->strategy,
		.pct_depth = cfg->pct_depth,
		/* k: about 40 picks per transaction in WAL mode */
		.pct_steps_estimate = cfg->txn_count * 40 + 1,
		.owner_count = cfg->conn_count,
		.reorder_window_us = cfg->reorder_window_us,
		/* chaos: latency spikes ten times as often */
		.stall_per_mille = cfg->faults == WORLD_FAULTS_CHAOS ? 100 : 10,
		.tape = cfg->tape,
	};
	sched_init(&w->sched, &sc);
	res->pct_n = cfg->conn_count;
	res->pct_k = sc.pct_steps_estimate;

	/* The VFS name is unique per world so runs never share files. */
	static uint64_t world_serial;
	snprintf(res->vfs_name, sizeof res->vfs_name, "whopper-sim-%" PRIu64,
		 ++world_serial);
	if (cfg->target == WORLD_TARGET_SIM) {
		snprintf(res->db_path, sizeof res->db_path, "whopper.db");
	} else {
		snprintf(res->db_path, sizeof res->db_path,
			 "file:whopper-%" PRIu64 "?mode=memory&cache=shared",
			 world_serial);
	}
	struct simvfs_config vc;
	simvfs_config_default(&vc);
	if (cfg->yield_mask)
		vc.yield_mask = cfg->yield_mask;
	if (cfg->sector_size > 0)
		vc.sector_size = cfg->sector_size;
	if (cfg->device_characteristics >= 0)
		vc.device_characteristics = cfg->device_characteristics;
	struct simvfs_hooks hooks = {
		.ctx = w,
		.yield = hook_yield,
		.trace = trace_vfs,
		.now_us = hook_now_us,
		.randomness = hook_randomness,
	};
	if (simvfs_create(&res->vfs, res->vfs_name, &vc, &hooks) != SQLITE_OK) {
		sched_free(&w->sched);
		return WH_EINVAL;
	}
	reseed_sqlite_prng(w);
	simvfs_set_bug(res->vfs, cfg->vfs_bug);
	if (cfg->target != WORLD_TARGET_SIM)
		memset(&w->plan, 0, sizeof w->plan); /* no VFS: no I/O faults */

	rc = world_setup_db(w);
	if (rc != 0)
		goto out_sched;

	w->conns = wh_calloc(cfg->conn_count, sizeof *w->conns);
	for (uint32_t i = 0; i < cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		c->w = w;
		c->id = (int)i;
		c->state = CS_OPEN;
		wh_prng_seed_taped(&c->rng, cfg->seed, WH_STREAM_CONN + i, cfg->tape);
		c->wl_state = cfg->workload->ops->conn_new(cfg->workload, i);
		wh_completion_init(&c->comp, WH_OP_THINK, conn_on_complete, c);
		if (wh_fiber_create(&c->fiber, cfg->stack_bytes, conn_fiber_main, c) != 0) {
			add_finding(res, "setup_failed", "cannot map a fiber stack");
			rc = WH_ENOMEM;
			goto out_conns;
		}
	}

	/* Every connection starts with an open, itself a series of yields. */
	w->live_conns = cfg->conn_count;
	for (uint32_t i = 0; i < cfg->conn_count; i++) {
		if (conn_step(&w->conns[i]) == WH_DONE)
			w->live_conns--;
	}

	while (w->live_conns > 0 || w->reopen_ready) {
		if (w->reopen_ready) {
			world_finish_reopen(w);
			continue;
		}
		struct wh_completion *comp = sched_pick(&w->sched);
		if (comp == NULL) {
			report_hang(w, "every connection is parked and nothing is due");
			world_drain(w);
			break;
		}
		trace_fold(w, ((uint64_t)(uint32_t)comp->owner << 32) ^ comp->kind ^
				      (comp->due_us << 8));
		if (++w->steps_since_progress > cfg->hang_steps) {
			/* comp stays pending, unlinked: the drain cancels it */
			report_hang(w, "no transaction finished");
			world_drain(w);
			break;
		}
		wh_completion_complete(comp, 0);
		if (cfg->faults != WORLD_FAULTS_NONE)
			world_faults_tick(w);
	}

	renumber_commits(&res->history);
	if (cfg->tape)
		wh_tape_trim(cfg->tape);
out_conns:
	w->finished = true;
	w->running = NULL;
	res->stats.sched_steps = w->sched.steps;
	res->stats.sim_time_us = w->sched.now_us;
	res->trace_hash = w->hash;
	for (uint32_t i = 0; i < cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		if (c->fiber)
			wh_fiber_destroy(c->fiber);
		conn_clear_cells(c);
		conn_clear_params(c);
		free(c->cells);
		if (c->wl_state)
			cfg->workload->ops->conn_free(c->wl_state);
	}
	free(w->conns);
	w->conns = NULL;
out_sched:
	w->finished = true;
	sched_free(&w->sched);
	return rc;
}

void world_result_free(struct world_result *r)
{
	hist_free(&r->history);
	for (uint32_t i = 0; i < r->finding_count; i++) {
		free(r->findings[i].kind);
		free(r->findings[i].detail);
	}
	free(r->findings);
	if (r->keepalive)
		sqlite3_close_v2(r->keepalive);
	if (r->vfs)
		simvfs_destroy(r->vfs);
	free(r->world);
	memset(r, 0, sizeof *r);
}
