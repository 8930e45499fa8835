/*
 * world_int.h - what the files of the world share: the connection, the
 * world and the functions each room offers the others. Not an API: the
 * contract is world.h.
 *
 * The rooms:
 *   world.c     setup, the run loop, teardown, the trace hash, VFS hooks
 *               that need no connection;
 *   conn.c      the connection driver: the call protocol (how a
 *               connection runs an SQLite call and waits inside it) and
 *               the state machine conn_step;
 *   commit.c    the commit order (commit points), whether a failed
 *               COMMIT can have committed, the oracle's first guess, the
 *               unsafe point of journal modes MEMORY and OFF;
 *   fault.c     the seed's fault plan, I/O fault injection, allocation
 *               failures, the scheduled faults between picks;
 *   recover.c   killing connections (crash, hang), power loss, clean
 *               reopens, recovery;
 *   evidence.c  detectors of known causes (world_evidence);
 *   threads.c   the threads target: a pthread per connection running
 *               the same driver, the world's lock, the watchdog;
 *   realvfs.c   its shim over the target's unix VFS: the notes the
 *               driver and the commit order need, I/O faults;
 *   procs.c     the processes target: a process per connection over
 *               threads.c's loop, its watchdog, the histories' return.
 *
 * Single-threaded in the simulation: every function here runs on the
 * world's thread (the main context or a connection's fiber); only the
 * allocator hooks of fault.c are reached from other threads, and they
 * check their own arm. On the threads target every function here runs
 * under the world's lock (struct threads_state.mu), which a connection's
 * thread lets go only inside its SQLite calls (threads.c); on the
 * processes target the same lock is shared by the processes.
 */
#ifndef WH_WORLD_INT_H
#define WH_WORLD_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "world.h"

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

/* The SQLite call a connection hands to its runner. */
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

struct world;
struct conn;

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

/*
 * How a connection runs an SQLite call and waits inside it: the seam
 * between the driver and what carries a connection. The driver only ever
 * resumes a connection's call from the main context and, from inside the
 * call, parks it after submitting its completion (conn_submit); the
 * scheduler's pick of that completion leads to the next resume. Today a
 * connection is a fiber on the world's one thread (conn_fiber_runner); a
 * target with a real thread per connection fills the same four slots
 * with a thread and a baton.
 */
struct conn_runner {
	/* Make c's context, which runs conn_call_main(c). 0, or -1 when it
	 * cannot be made (no memory for a stack). */
	int (*start)(struct conn *c, size_t stack_bytes);
	/* Free c's context: its call has finished or it never ran. */
	void (*stop)(struct conn *c);
	/* Main context: run c's call until it finishes or parks. */
	void (*resume)(struct conn *c);
	/* Inside c's call: give control back until the next resume. */
	void (*park)(struct conn *c);
	/* Main context: c will be resumed soon; a hint to bring what that
	 * touches into the cache (changes nothing). NULL: no hint. */
	void (*prefetch)(struct conn *c);
};

struct conn {
	struct world *w;
	int id;
	sqlite3 *db;
	struct wh_fiber *fiber;      /* its context (conn_fiber_runner) */
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
	int8_t cov_class;            /* file class of the VFS call it is
					parked in (coverage.c), -1: none */
	uint8_t cov_kind;            /* and that call's op kind */
	bool in_commit;              /* a COMMIT (or autocommit statement) is
					in flight */
	bool holds_db_write_lock;    /* RESERVED or above on the main db */
	bool holds_wal_write_lock;   /* the WAL write lock (shm slot 0) */
	bool wrote_under_lock;       /* wrote pages during the current hold
					of the write lock */
	bool hold_predates_commit;   /* the current hold began before the
					COMMIT call: the txn's own writes */
	uint8_t db_lock_level;       /* its lock on the database file, as
					the last lock/unlock left it */
	bool hold_is_recovery;       /* the current hold began with EXCLUSIVE
					asked straight from SHARED: SQLite
					rolling back a hot journal (its own
					writes always take RESERVED first),
					never this transaction's commit */
	uint64_t quiet_release;      /* history event of the last release,
					inside COMMIT, of a hold that wrote
					nothing, or 0 (see commit_note_op) */
	/* what the COMMIT in flight did, to tell whether a failed one can
	 * have committed (commit_uncertain) */
	bool commit_fault_seen;      /* an I/O fault was injected into it */
	bool commit_fault_wal_io;    /* ... and the first hit a WAL write
					before a commit frame was whole: it
					came before the commit point */
	int64_t commit_frame_at;     /* WAL offset of the first frame header
					with a commit mark it wrote, or -1 */
	int64_t commit_frame_end;    /* where that frame's page ended */
	bool commit_frame_whole;     /* ... and that frame's page followed:
					recovery finds the commit from here
					on, whatever fails after (commit_fate) */
	bool commit_latent;          /* its first failure was a WAL write or
					sync after that, under the WAL write
					lock: before the wal-index showed the
					commit (COMMIT_LATENT) */
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
	struct wh_track *fault_track;/* its fault decisions' track on the
					tape, once first needed (fault.c),
					or NULL */
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
	/* where the connection is in its own work, for the pick log's
	 * marks (sched.h): set at an open and at every transaction's
	 * think, counted at every workload action */
	bool mark_new_txn;           /* no logged completion since then */
	uint32_t mark_action;        /* workload actions in this transaction */
	uint16_t mark_kind_count[WH_OP__COUNT]; /* logged calls per op kind in
						   this action */
	uint32_t param_count;
	struct wh_value params[WL_MAX_PARAMS]; /* owned copies */
	/* result of the last CALL_STMT, filled on the fiber */
	struct wh_value *cells;
	uint32_t cell_count;
	uint32_t cell_cap;
	uint32_t col_count;
	int64_t changes;
	/* Virtual-machine steps of the statement running (counted by the
	 * progress handler), and whether it was stopped for going past the
	 * step budget (world.h). */
	uint64_t vm_steps;
	bool runaway;
	/* threads target only */
	struct wh_prng fault_rng;    /* its own fault stream
					(WH_STREAM_FAULTS_CONN + id): each
					thread draws alone */
	enum wh_op_kind wait_kind;   /* the pause conn_submit asked for: */
	uint64_t wait_us;            /* ... the thread takes it (threads.c) */
};

/* Calls parked per file class and op kind (coverage.c). */
struct coverage_state {
	uint16_t parked[COVERAGE_FILES][WH_OP__COUNT];
	uint32_t mask[COVERAGE_FILES]; /* bit per kind with parked > 0 */
};
_Static_assert(WH_OP__COUNT <= 32, "a kind mask fits 32 bits");
_Static_assert(WORLD_MAX_CONNS < UINT16_MAX, "parked counts fit 16 bits");
/* What a file is to the run: the database, its WAL or rollback journal
 * (the database's name with "-wal" or "-journal"), or another. */
enum world_file_role {
	WORLD_FILE_OTHER,
	WORLD_FILE_DB,
	WORLD_FILE_WAL,
	WORLD_FILE_JOURNAL,
};

/* The role of a file name (NULL: other), by comparing it with the
 * database's. trace_vfs keeps the answers for the names it meets. */
enum world_file_role world__file_role(const struct world *w, const char *file);

/* A file name the trace met: its hash (world__str_hash) and role, kept so
 * that the few names a run uses are not hashed and compared again at
 * every VFS call. A cached entry answers only for the same address
 * holding the same text (compared): the memory of a freed name can come
 * back holding another. */
#define WORLD_NAME_TEXT 48
#define WORLD_NAME_CACHE 16
_Static_assert((WORLD_NAME_CACHE & (WORLD_NAME_CACHE - 1)) == 0, "a power of two");
struct world_name {
	const char *ptr;             /* the address it was met at, or NULL */
	uint64_t hash;               /* world__str_hash of the text */
	enum world_file_role role;
	char text[WORLD_NAME_TEXT];  /* the text, for the comparison */
};

/* State of the WAL-reset race detector (evidence_note_op). Zeroed with
 * the world. */
struct wal_reset_watch {
	uint64_t resets;                   /* WAL resets seen so far */
	uint64_t header_at[WORLD_MAX_CONNS]; /* resets when the connection
						last read the wal-index
						header for its checkpoint */
	bool ckpt[WORLD_MAX_CONNS];        /* it holds the checkpoint lock */
	bool backfilling[WORLD_MAX_CONNS]; /* ... and read-lock 0 exclusive:
					      its backfill has begun */
};

/* State of the hot-journal race detector (evidence_note_op). Zeroed with
 * the world: no locks, no PENDING kept, nothing seen. */
struct hot_journal_watch {
	int pending_plus1;                     /* 1 + the connection keeping
						  PENDING from an EXCLUSIVE
						  asked straight from SHARED
						  and refused, or 0: none */
	uint8_t level[WORLD_MAX_CONNS];        /* each connection's lock on
						  the database file, as its
						  last lock/unlock left it */
	uint32_t above_shared;                 /* connections whose level is
						  above SHARED */
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
	struct hot_journal_watch hj; /* evidence: see evidence_note_op */
	struct wal_reset_watch wr;   /* evidence: see evidence_note_op */
	struct coverage_state cov;   /* parks, for coverage_note */
	uint32_t snap_next;          /* next of cfg->snap_events to take */
	bool snap_pending;           /* it is due: taken at the first
					quiescent moment */
	bool image_after_opens;      /* cfg->image is loaded once every
					connection has opened (world.c) */
	uint32_t hot_owner_plus1;    /* 1 + the INDETERMINATE transaction
					whose failed COMMIT left the rollback
					journal hot, or 0 (commit.c) */
	struct latent_commit {       /* latent commits a recovery could
					still find (commit.c) */
		uint32_t txn;
		int64_t frame_end;   /* its commit frame's end in the WAL */
	} *latent;
	uint32_t latent_count, latent_cap;
	const struct conn_runner *runner; /* how connections run calls */
	const struct wh_sqlapi *api; /* the target SQLite: every call of the
					target path goes through it */
	struct threads_state *threads; /* the threads target's shared state,
					  or NULL: the simulation */
	struct world_name names[WORLD_NAME_CACHE]; /* see struct world_name */
	/* The wall-clock split (cfg->profile): whether SQLite's own code
	 * runs since the last boundary, and the clock there. */
	bool prof_in_sqlite;
	uint64_t prof_since_ns;
};

/* What the threads of a threads run share: threads.c's, opaque here
 * (<pthread.h> would bring the system <sched.h>, whose SCHED_RR macro
 * must come after engine/sched.h's enum). */
struct threads_state;
struct realvfs;

/* ------------------------------------------------------------------ */
/* world.c                                                             */
/* ------------------------------------------------------------------ */

uint64_t threads__now_us(const struct world *w);

/* The clock transactions are stamped with (begin_us, end_us) and trace
 * lines carry: the scheduler's simulated time, or on the threads target
 * wall time since the run started. */
static inline uint64_t world__now_us(const struct world *w)
{
	return w->threads != NULL ? threads__now_us(w) : w->sched.now_us;
}

/* Profiling (world.h, struct world_profile). A boundary between SQLite's
 * code and the engine's: into SQLite (to_sqlite) at a call's start and a
 * VFS method's return, out of it at a VFS method's start and a call's
 * return or park. Only a change of side reads the clock. */
static inline void world__prof_mark(struct world *w, bool to_sqlite)
{
	struct world_profile *p = w->cfg->profile;
	if (p == NULL || w->prof_in_sqlite == to_sqlite)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	p->clock_reads++;
	if (w->prof_in_sqlite)
		p->sqlite_ns += t - w->prof_since_ns;
	w->prof_in_sqlite = to_sqlite;
	w->prof_since_ns = t;
}

/* Fold v into the trace hash. */
static inline void world__trace_fold(struct world *w, uint64_t v)
{
	w->hash = wh_mix64(w->hash ^ v) + 0x9e3779b97f4a7c15ULL;
}

/* Is file the database (suffix "") or one of its -wal/-journal files? */
static inline bool world__file_is(const struct world *w, const char *file, const char *suffix)
{
	size_t n = strlen(w->res->db_path);
	return file != NULL && strncmp(file, w->res->db_path, n) == 0 &&
	       strcmp(file + n, suffix) == 0;
}

/* Fold a driver event of c (what: "open", "stmt", "txn-commit"...) and
 * its rc into the trace hash, and write the trace line. */
void world__trace_stmt(struct world *w, struct conn *c, const char *what, const char *sql,
		       int rc);
/* Each driver state's name in reports ("statement", "commit"...). */
extern const char *const world__conn_state_names[CS_CLOSED + 1];
/* Record a finding of the run (kind and detail copied). */
void world__add_finding(struct world_result *r, const char *kind, const char *detail);
/* Take the images cfg->snap_events asks for at this begin event. */
void world__snap_at(struct world *w, uint64_t begin_event);
void world__snap_try(struct world *w);
/* A 64-bit hash of a string for the trace (0 for NULL). */
uint64_t world__str_hash(const char *s);
/* Open the database once on the main context and run the workload's
 * setup (or cfg->setup_sql) on it. 0, or WH_ESQL with a setup_failed
 * finding. */
int world__setup_db(struct world *w);
/* Every connection's state (its workload stream WH_STREAM_CONN + id, its
 * workload state) and context (w->runner->start). 0, or WH_ENOMEM with a
 * setup_failed finding; what was made is freed by world__free_conns
 * either way. */
int world__create_conns(struct world *w);
void world__free_conns(struct world *w);
/* Run cfg's pragmas ("PRAGMA NAME=VALUE": the workload's, then
 * --pragma's) on db, a connection of api's library: those that must come
 * first (opening, world_pragma_opens) or all the others. SQLITE_OK or the
 * first error. */
int world__apply_pragmas(const struct wh_sqlapi *api, sqlite3 *db, const struct world_config *cfg,
			 bool opening);

/* ------------------------------------------------------------------ */
/* conn.c: the driver                                                  */
/* ------------------------------------------------------------------ */

extern const struct conn_runner conn_fiber_runner;

/* The body of a connection's context: runs each call handed to it. */
void conn_call_main(struct conn *c);
/* Run the call handed to c (call_op) to its end, on the caller's stack:
 * its result in call_rc, call_done set. */
void conn_call_run(struct conn *c);
/* Drive c until it waits (WH_PENDING) or has closed (WH_DONE). */
int conn_step(struct conn *c);
/* c's completion was picked and is about to finish: a hint to bring
 * what stepping c on touches into the cache (changes nothing). The run
 * loop gives it with more than WORLD_PREFETCH_FROM connections. */
void conn_prefetch(struct conn *c);
#define WORLD_PREFETCH_FROM 64
/* The scheduler finished c's completion: step c on. */
void conn_on_complete(struct wh_completion *comp, void *data);
/* Submit c's one completion, due delay_us from now. */
void conn_submit(struct conn *c, enum wh_op_kind kind, uint64_t delay_us);
/* The connection begins a transaction (or opens): the next logged
 * completion carries the transaction-start mark (sched.h). */
void conn_mark_txn(struct conn *c);
/* The simvfs yield hook: inject a fault or park the caller. */
int conn_hook_yield(void *ctx, enum wh_op_kind kind, const char *file, int64_t arg);
/* End c's transaction with outcome; no call may be active. */
void conn_txn_end(struct conn *c, enum hist_outcome outcome, int rc);
void conn_clear_cells(struct conn *c);
void conn_clear_params(struct conn *c);
/* Rows compare in order only when the statement orders them. */
bool conn_sql_is_ordered(const char *sql);

/* ------------------------------------------------------------------ */
/* commit.c: commit order and fate                                     */
/* ------------------------------------------------------------------ */

enum commit_fate {
	COMMIT_NOT_DONE,  /* certainly did not commit */
	COMMIT_UNCERTAIN, /* may or may not have committed */
	COMMIT_LATENT,    /* may have committed, but only a recovery can
			     show it (hist_txn.latent) */
};

/* A VFS op of c on a file of that role finished with rc: track its
 * write-lock holds and its COMMIT's commit point. */
void commit_note_op(struct world *w, struct conn *c, enum wh_op_kind kind,
		    enum world_file_role role, int64_t a, int64_t b, int rc);
/* A COMMIT (or an autocommit statement) starts on c. */
void commit_begins(struct conn *c);
/* A COMMIT of c failed with rc: can it have committed? */
enum commit_fate commit_fate(const struct world *w, const struct conn *c, int rc);
/* Would the first failure of c's COMMIT, an op of that kind (on the WAL
 * or not), leave its commit latent (COMMIT_LATENT)? */
bool commit_failure_latent(const struct conn *c, enum wh_op_kind kind, bool wal);
/* The oracle's first guess for c's INDETERMINATE transaction. */
bool commit_hint(const struct world *w, const struct conn *c);
/* c's transaction ends INDETERMINATE: note it as the hot journal's owner
 * when its COMMIT wrote the database and never finalised its journal. */
void commit_note_hot_owner(struct world *w, const struct conn *c);
/* c's transaction ends INDETERMINATE with a latent commit: watch its
 * commit frame until a recovery (commit_forget_latent) or an overwrite. */
void commit_note_latent(struct world *w, const struct conn *c);
/* A recovery ran (power loss, reopen): it decided every latent commit. */
void commit_forget_latent(struct world *w);
/* Mark the history's unsafe point when c writes in journal mode MEMORY
 * or OFF (c may be NULL: no connection). */
void commit_note_unsafe(struct world *w, const struct conn *c);
/* Renumber committed transactions by visibility (run end). */
void commit_renumber(struct history *h);

/* ------------------------------------------------------------------ */
/* fault.c                                                             */
/* ------------------------------------------------------------------ */

/* Draw the seed's plan into w->plan (from w->fault_rng). */
void fault_plan_draw(struct world *w);
/* The I/O fault for the op c is about to make: SQLITE_OK or the code. */
int fault_io(struct world *w, struct conn *c, enum wh_op_kind kind, const char *file,
	     int64_t arg);
/* Install the allocator wrapper in api's library (once per library,
 * after its sqlite3_shutdown, before its sqlite3_initialize). 0, or -1
 * when the library refused it or too many libraries have one. */
int fault_alloc_install(const struct wh_sqlapi *api);
/* Arm allocation failures for c's calls on this thread (NULL: disarm). */
void fault_alloc_arm(struct conn *c);
/* Between picks: the crash, reopen, bit flip or disk-full window due. */
void fault_tick(struct world *w);

/* ------------------------------------------------------------------ */
/* recover.c                                                           */
/* ------------------------------------------------------------------ */

/* Unwind c, whose process died; record_txn: end its transaction in the
 * history. */
void recover_kill(struct world *w, struct conn *c, bool record_txn);
/* After a hang: unwind every connection. */
void recover_drain(struct world *w);
void recover_power_loss(struct world *w);
void recover_start_reopen(struct world *w);
void recover_finish_reopen(struct world *w);

/* ------------------------------------------------------------------ */
/* evidence.c                                                          */
/* ------------------------------------------------------------------ */

/* coverage.c: a connection parks in a VFS call on file, leaves it (its
 * call runs, fails or is cancelled), and a call runs. */
void coverage_park(struct world *w, struct conn *c, enum wh_op_kind kind,
		   enum world_file_role role);
void coverage_unpark(struct world *w, struct conn *c);
void coverage_note(struct world *w, struct conn *c, enum wh_op_kind kind,
		   enum world_file_role role);

/* A VFS op of connection conn (-1: none) on a file of that role
 * finished: feed the detectors. */
void evidence_note_op(struct world *w, int conn, enum wh_op_kind kind,
		      enum world_file_role role, int64_t a, int64_t b, int rc);
/* Connection conn was killed (a power loss): it holds no lock now. */
void evidence_conn_killed(struct world *w, int conn);

/* ------------------------------------------------------------------ */
/* threads.c                                                           */
/* ------------------------------------------------------------------ */

/* The threads target's run (world_run hands it over after the library is
 * set up): the world, the shim, the setup, a thread per connection, the
 * watchdog. Same contract as world_run. */
int threads_run(const struct world_config *cfg, struct world_result *res,
		const struct wh_sqlapi *api);
/* The connection whose thread calls, or NULL (the main thread). */
struct conn *threads__current(void);
/* The world's lock (threads.c's top says who holds it when). */
void threads__lock(struct world *w);
void threads__unlock(struct world *w);
/* After a hang: every VFS call but the releases fails at once. */
bool threads__draining(const struct world *w);
/* c's thread is about to make a VFS op of this kind (reports). */
void threads__mark_op(const struct conn *c, enum wh_op_kind kind);
/* The calling thread (or process) is c's from now on. */
void threads__set_current(struct conn *c);
/* On c's thread, the world's lock held (and held again on return): run
 * c's driver until it closes, or unwind it once the run is drained. */
void threads__conn_loop(struct conn *c);
/* Start the drain (every VFS call but the releases fails at once). */
void threads__drain(struct world *w);
/* How long a drained run waits for its connections to end. */
uint32_t threads__drain_grace_ms(const struct world *w);
/* Transactions finished so far, all connections (no lock needed). */
uint64_t threads__txns_finished(const struct world *w);
/* Processes: copy the shared page's fields into this process's world
 * (the lock held, or every connection process ended). */
void threads__pull(struct world *w);
/* Each connection's state, whether it is inside an SQLite call, and its
 * last VFS op, appended to msg after its first n bytes (cap in all). */
void threads__describe(const struct world *w, char *msg, size_t cap, int n);
/* The same of connection i alone into buf ("statement in an SQLite call,
 * last VFS op lock"); snprintf's return. */
int threads__describe_conn(const struct world *w, uint32_t i, char *buf, size_t cap);

/* ------------------------------------------------------------------ */
/* procs.c                                                             */
/* ------------------------------------------------------------------ */

/* The processes target's run, after the setup, from threads_run: a
 * process per connection, watched until each has ended; their histories
 * merged into w->res->history, their counters summed, their findings
 * added. A process that dies of a signal or hangs past the drain is a
 * finding and sets res->history_lost. */
void procs__run(struct world *w);

/* ------------------------------------------------------------------ */
/* realvfs.c                                                           */
/* ------------------------------------------------------------------ */

/* Register the shim, named w->res->vfs_name, over api's "unix" VFS;
 * files named after w->res->db_path. 0, or WH_EINVAL (no unix VFS, or
 * the library refused the registration). */
int realvfs_create(struct world *w, struct realvfs **out);
/* Unregister and free it; no file of it may be open. */
void realvfs_destroy(struct realvfs *v);

#endif /* WH_WORLD_INT_H */
