/*
 * world.h - one seeded run: simulated VFS, clock, scheduler, connections
 * (a fiber and a driver state machine each), the history they record and
 * the trace hash of everything that happened.
 *
 * Lifecycle: world_run() sets up the database (setup SQL on the main
 * context), starts every connection, runs the scheduler until all
 * connections have closed or nothing can progress, and returns with the
 * history and the simulated VFS still alive so the oracle can open the
 * final database. world_result_free() releases both.
 */
#ifndef WH_WORLD_H
#define WH_WORLD_H

#include <stdio.h>

#include "history.h"
#include "sched.h"
#include "sqlapi.h"
#include "tape.h"
#include "simvfs.h"
#include "workload.h"

enum world_target {
	WORLD_TARGET_SIM,           /* one database on the simulated VFS */
	WORLD_TARGET_MEMORY_SHARED, /* in-memory shared-cache database;
				       statement-granularity interleaving */
	WORLD_TARGET_THREADS,       /* real files in cfg->dir through the
				       target's own unix VFS (a thin shim
				       records and injects), each connection
				       on a pthread of its own: the OS
				       interleaves, so a run is not
				       reproducible (threads.c) */
	WORLD_TARGET_PROCESSES,     /* the same, each connection in a
				       process of its own, so the kernel
				       arbitrates the POSIX locks as between
				       applications (procs.c) */
};

/* Real files through SQLite's unix VFS (threads or processes)? */
static inline bool world_target_is_real(enum world_target t)
{
	return t == WORLD_TARGET_THREADS || t == WORLD_TARGET_PROCESSES;
}

/* Planted defects of the threads and processes targets (tests only;
 * WHOPPER_TEST_HOOK): a checker that never sees one of them fail is not
 * checking this path. "Thread" below is the connection's process on the
 * processes target. */
enum world_plant {
	WORLD_PLANT_NONE,
	WORLD_PLANT_LOST_WRITE, /* the shim drops the database-file page
				   writes of one COMMIT (after the tenth
				   commit) and says they were written: a
				   committed transaction lost. Rollback
				   journal modes only (a WAL commit writes
				   no database page) */
	WORLD_PLANT_CRASH,      /* the last connection's thread dies of
				   SIGSEGV at its first VFS op */
	WORLD_PLANT_HANG,       /* connection 0 stops at its first VFS op
				   until the watchdog drains */
	WORLD_PLANT_HANG_HARD,  /* ... and never returns, drained or not */
	WORLD_PLANT_NO_LOCKS,   /* the shim grants every database-file and
				   shm lock without taking it (and says no
				   one holds RESERVED): the simulation's
				   --vfs-bug no-locks on real files */
};

/* A path the threads target's files may have (cfg->dir + the file). */
#define WORLD_PATH_MAX 1024

/* Fault profiles (--faults). Each seed draws a random subset of the
 * profile's fault kinds (swarm testing): some on, the rest off. */
enum world_faults {
	WORLD_FAULTS_NONE,
	WORLD_FAULTS_IO,      /* I/O errors by op kind, a full disk,
				 allocation failures */
	WORLD_FAULTS_CRASH,   /* power loss and recovery, several rounds */
	WORLD_FAULTS_CHAOS,   /* io + crash + clean reopens + latency spikes */
	WORLD_FAULTS_BITFLIP, /* a flipped bit in a file (no checksums:
				 findings are expected) */
};

const char *world_faults_name(enum world_faults f);
/* Parse a profile name; -1 when unknown. */
int world_faults_parse(const char *s);

#define WORLD_MAX_PRAGMAS 32
#define WORLD_MAX_CONNS 1024

/* A statement the shrinker removed: the stmt-th statement action of the
 * transaction with history id txn is not run. */
struct world_skip {
	uint32_t txn;
	uint32_t stmt;
};

struct world_config {
	uint64_t seed;
	const struct workload *workload;
	uint32_t conn_count;
	uint64_t txn_count;            /* transactions attempted, all conns */
	const char *journal_mode;      /* "wal", "delete", ... */
	const char *synchronous;       /* "off", "normal", "full", "extra" */
	enum sched_strategy strategy;
	uint32_t pct_depth;
	enum world_target target;
	const struct wh_sqlapi *api;   /* the SQLite under test (sqlapi.h):
					  the driver, setup and recovery run
					  on it; NULL: the linked one */
	const char *pragmas[WORLD_MAX_PRAGMAS]; /* "NAME=VALUE" */
	uint32_t pragma_count;
	size_t stack_bytes;            /* fiber stack size */
	uint32_t busy_timeout_ms;      /* simulated busy timeout */
	uint64_t reorder_window_us;
	uint32_t yield_mask;           /* op kinds that yield; 0 = all */
	uint64_t hang_steps;           /* picks without a finished txn that
					  count as a hang */
	uint64_t step_budget;          /* virtual-machine steps one target
					  statement may take before it is
					  stopped and reported (a runaway
					  query never yields: without this
					  the whole run would stop); 0:
					  unbounded */
	enum world_faults faults;
	enum simvfs_bug vfs_bug;       /* planted defect (tests) */
	int sector_size;               /* simulated device; 0: 4096 */
	int device_characteristics;    /* SQLITE_IOCAP_*; -1: VFS default */
	enum simvfs_lock_model lock_model; /* connections in one process
					      (default) or one each */
	/* The threads and processes targets (world_target_is_real) only: */
	const char *dir;               /* an existing directory where the
					  database files go (whopper.db and
					  its -wal, -shm, -journal) */
	uint32_t watchdog_ms;          /* wall time without a finished
					  transaction that counts as a hang
					  (the threads are drained, and the
					  run reports it) */
	enum world_plant plant;        /* planted defect (tests) */
	FILE *trace;                   /* readable trace, or NULL */
	/* Setup SQL run instead of the workload's, or NULL. The shrinker
	 * sets it when it collapses the start of a run into the state it
	 * built (shrink_setup.c); the history records what ran, so the
	 * oracle's reference starts from the same state. */
	const char *setup_sql;
	/* With setup_sql set the run starts mid-way, from the state a
	 * prefix of another run built, and every connection reads the
	 * schema as it opens, as it would have in that prefix: a connection
	 * that had never read it would make calls the prefix's own
	 * connections did not (and could hide a stale-schema race). */
	/* Files the run starts from (simvfs.h, images): loaded instead of
	 * running any setup on the target, for a collapsed prefix whose
	 * state lives in the files alone (a hot journal). setup_sql must
	 * then hold the committed state they hold, for the oracle's
	 * reference. With a rollback journal the connections open and read
	 * the schema on the database as the journal rolled back leaves it,
	 * and the files take its place once every opening is over (world.c,
	 * image_after_opens: opened on the files, the first connection
	 * would roll the journal back before the window's transactions race
	 * for it); in WAL mode the files are there first and the
	 * connections do not read the schema as they open. NULL: none. */
	const struct simvfs_image *image;
	/* Images to take (simvfs_image_take) as the history records the
	 * begin of a transaction whose begin event is one of snap_events
	 * (ascending); snap_images[k] stays empty when the files were not
	 * quiescent then. Never influences the run. */
	const uint64_t *snap_events;
	uint32_t snap_count;
	struct simvfs_image *snap_images;
	const struct world_skip *skips; /* sorted by (txn, stmt) */
	uint32_t skip_count;
	struct wh_tape *tape;          /* choice stream to record into, or
					  (rewound) to replay; NULL: none */
	bool follow_strict;            /* the tape was recorded on another
					  SQLite: follow its pick log only
					  up to the first divergence
					  (sched.h), then the strategy */
	/* Progress callback, called after each finished transaction (never
	 * influences the run). */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	/* Called with progress_ctx when a connection has opened (and after
	 * each reopen); never influences the run. The shrinker marks there
	 * where a connection's own work starts on the tape. NULL: none. */
	void (*opened)(void *ctx, int conn);
	void *progress_ctx;
	/* Told of every transaction begin/end and crash as the history
	 * records them (the oracle's concurrent check); never influences
	 * the run. NULL: none. */
	const struct hist_observer *observer;
	/* The wall-clock split (bench), or NULL: not taken. */
	struct world_profile *profile;
};

/* A wall-clock split of a run, for benchmarks (bench/bench_run.c): the
 * time the connections spent in SQLite's own code, apart from the
 * engine's (the scheduler, switches, the simulated VFS's methods, the
 * driver, the history, the trace hash). Taking it reads a clock twice per
 * VFS call and never changes the run. Filled by world_run when the
 * config points at one (zeroed first). */
struct world_profile {
	uint64_t run_ns;          /* the scheduler loop, from the first
				     connection's start to the last close */
	uint64_t sqlite_ns;       /* of it, inside SQLite's code: from a
				     call's start, or the return of a VFS
				     method, to the next VFS method or the
				     call's return */
	uint64_t clock_reads;     /* clock reads taken for sqlite_ns (their
				     cost is in run_ns, mostly outside
				     sqlite_ns) */
	uint64_t cache_bytes;     /* page cache the connections held as
				     they closed (SQLITE_DBSTATUS_CACHE_USED,
				     summed; 0 when the library lacks
				     sqlite3_db_status) */
};

/* Steps of SQLite's virtual machine one statement may take by default:
 * far above what any workload statement needs (a thousand-row insert
 * takes about a hundred thousand), reached by a runaway recursive query
 * within about a second. */
#define WORLD_STEP_BUDGET_DEFAULT 50000000ull

/* Must the pragma "NAME=VALUE" run before anything reads the database?
 * An encrypting SQLite (SQLCipher) needs its key and cipher settings
 * first: key, hexkey, textkey, kdf_iter and cipher*. Every open of the
 * target (connections, setup, recovery, the oracle's final checks) runs
 * them first, in the order given, and the others after journal_mode as
 * always. */
bool world_pragma_opens(const char *name_value);
/* Has cfg (the workload's pragmas or --pragma) any that open? */
bool world_has_open_pragmas(const struct world_config *cfg);
/* Run cfg's opening pragmas on db, a connection of api's library that
 * nothing has read through yet: how another reader of the target's
 * database (the oracle) gets in. SQLITE_OK or the first error. */
struct sqlite3;
int world_open_pragmas(const struct world_config *cfg, const struct wh_sqlapi *api,
		       struct sqlite3 *db);

/* Defaults for every field but the workload, which the caller sets (the
 * engine knows no workload by name: workloads/ does). */
void world_config_default(struct world_config *cfg);

struct world_stats {
	uint64_t txns_committed;
	uint64_t txns_aborted;
	uint64_t txns_indeterminate;
	uint64_t statements;
	uint64_t vfs_ops;
	uint64_t vfs_ops_by_kind[WH_OP__COUNT];
	uint64_t busy;                 /* statements ending in BUSY/LOCKED */
	uint64_t sched_steps;
	uint64_t sim_time_us;
	uint64_t faults_by_kind[WH_OP__COUNT]; /* injected I/O faults */
	uint64_t faults_injected;      /* all injected I/O faults */
	uint64_t alloc_failures;       /* injected allocation failures */
	uint64_t disk_full;            /* writes refused by the quota */
	uint64_t crashes;              /* power losses */
	uint64_t recoveries;           /* successful reopen after a crash */
	uint64_t reopens;              /* clean close-and-reopen rounds */
	uint64_t bitflips;
	uint64_t rollback_retries;     /* ROLLBACKs that failed and left the
					  transaction open, so were retried */
	uint32_t fault_kinds_on;       /* swarm: op kinds that could fail */
};

/* Evidence the engine gathers while a run goes on, for the triage of its
 * failures (oracle/triage.h): counters of events that name a root cause
 * by what happened, not by what the oracle later saw. Gathering it never
 * changes the run or its trace hash. */
struct world_evidence {
	uint64_t hot_journal_taken_for_live; /* reads of the database or
						journal writes by a connection
						that took a hot journal for a
						live one, misled by another's
						kept PENDING (SQLite's
						hot-journal race) */
	uint64_t hot_journal_first_event;    /* history event counter at the
						first of them (0: none) */
	uint64_t wal_reset_stale_checkpoint; /* checkpoints that copied WAL
						frames into the database with
						a wal-index header read before
						another connection reset the
						WAL (SQLite's WAL-reset race) */
	uint64_t wal_reset_first_event;      /* history event counter at the
						first of them (0: none) */
	uint64_t torn_outside_write;         /* power losses whose torn
						writes damaged bytes already
						on the disk around them (a
						device without powersafe
						overwrite) */
	uint64_t torn_outside_first_event;   /* history event counter at the
						first of them (0: none) */
	uint64_t txn_lost_under_statement;   /* statements of an explicit
						transaction that returned
						success with the transaction
						gone (autocommit on after
						them): SQLite ended the
						transaction inside the
						statement and ran the
						statement on its own */
	uint64_t txn_lost_first_event;       /* history event counter at the
						first of them (0: none) */
};

/* Interleaving coverage (engine/coverage.c): the points a run reached,
 * each (op kind of a call that ran, its file's class, the caller's lock on
 * the database, op kind another connection was parked in on the same
 * class of file). Deterministic: a replay reaches the same points. */
enum {
	COVERAGE_FILE_DB,
	COVERAGE_FILE_JOURNAL,
	COVERAGE_FILE_WAL,
	COVERAGE_FILE_OTHER,
	COVERAGE_FILES,
	COVERAGE_LEVELS = 5, /* SQLITE_LOCK_NONE .. EXCLUSIVE */
	COVERAGE_POINTS = WH_OP__COUNT * COVERAGE_FILES * COVERAGE_LEVELS * WH_OP__COUNT,
	COVERAGE_BYTES = (COVERAGE_POINTS + 7) / 8,
};
struct world_coverage {
	uint32_t points;               /* bits set in map */
	uint8_t map[COVERAGE_BYTES];
};

/* The fault plan's draws that place something among the transactions
 * (engine/fault.c): a power loss, a reopen, a bit flip, the disk-full
 * window's start (positions: txns finished, drawn below --txns) and the
 * window's length (drawn below --txns / 10 + 1). Their bound is --txns,
 * so the same raw draw lands elsewhere in a run with another --txns; the
 * shrinker rewrites them to keep each where it was (whopper/shrink.c).
 * Filled only when the run has a tape; the draw is an index on its
 * WH_STREAM_FAULTS track. */
enum world_plan_draw_kind {
	WORLD_PLAN_AT,   /* a position: txns finished */
	WORLD_PLAN_SPAN, /* a length in transactions */
};
#define WORLD_PLAN_DRAWS_MAX 12
struct world_plan_draw {
	enum world_plan_draw_kind kind;
	uint64_t draw;  /* index on the WH_STREAM_FAULTS track */
	uint64_t value; /* what it gave */
};
/* The bound such a draw is taken below, in a run of txn_count
 * transactions: the raw draws 0..bound-1 give themselves. */
uint64_t world_plan_draw_bound(enum world_plan_draw_kind kind, uint64_t txn_count);

struct world_finding {
	char *kind;   /* "hang", "setup_failed", ... */
	char *detail;
};

struct world_result {
	struct history history;
	struct world_stats stats;
	struct world_evidence evidence;
	struct world_coverage coverage;
	uint64_t trace_hash;
	struct world_finding *findings;
	uint32_t finding_count;
	struct simvfs *vfs;            /* kept alive for the oracle, or NULL;
					  registered under vfs_name in the
					  target library and, when that is not
					  the linked SQLite, in the linked one
					  too, so the oracle reads the files
					  with its own library */
	char vfs_name[32];
	char db_path[WORLD_PATH_MAX];  /* target name to hand to the oracle */
	void *keepalive;               /* memory-shared: a connection (of the
					  target library) that keeps the
					  database alive */
	uint64_t pct_n, pct_k;         /* PCT bound parameters */
	struct sched_divergence divergence; /* first departure from the
					       tape's pick log (sched.h);
					       unseen without one */
	uint64_t follow_used;          /* logged picks consumed */
	struct world_plan_draw plan_draws[WORLD_PLAN_DRAWS_MAX];
	uint32_t plan_draw_count;      /* see world_plan_draw */
	/* threads target: connection threads were still running when the
	 * run gave up on them (a hang the drain could not unwind). They
	 * own the history, the files and the world still: nothing may
	 * check or free them; world_result_free frees nothing, and the
	 * caller should end the process once it has reported. */
	bool threads_stuck;
	/* processes target: a connection process died (a crash, or killed
	 * after a hang it did not unwind from) and its part of the history
	 * with it. The history holds the others' only, so it must not be
	 * checked; a finding says what happened. */
	bool history_lost;
	void *world;                   /* the run's state, owned */
};

/* Run one world. Returns 0 when the run completed (findings may be
 * present), or a WH_E* code when whopper itself could not run it. A
 * threads run (WORLD_TARGET_THREADS) is the OS's interleaving of real
 * threads: its trace_hash is no reproducibility claim, and a hang ends
 * as a finding after cfg->watchdog_ms of wall time. */
int world_run(const struct world_config *cfg, struct world_result *out);
void world_result_free(struct world_result *r);

/* Process-wide SQLite configuration for the simulation, in one library:
 * multi-thread mode (no connection mutex exists, so no fiber parked
 * inside a call can be entered through one; the oracle's concurrent check
 * uses SQLite from a second thread), the allocation-failure hooks, URIs,
 * no memory statistics. Idempotent per library; world_run calls it for
 * its target. Returns 0 or WH_EINVAL (the library refused). Main thread,
 * before the library's first use by whopper. */
int world_lib_init(const struct wh_sqlapi *api);
/* world_lib_init of the linked SQLite. */
int world_global_init(void);

/* Where the calling thread is, for a crash handler of the threads
 * target: the connection whose thread it is (-1: not a connection
 * thread), the driver state it was in ("statement", "commit"...; "" when
 * none) and the last VFS op it made (WH_OP__COUNT: none).
 * Async-signal-safe: they read thread-local and atomic data only. */
int world_thread_conn(void);
const char *world_thread_state(void);
int world_thread_op(void);

#endif /* WH_WORLD_H */
