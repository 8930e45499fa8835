/*
 * threads.c - the threads target (WORLD_TARGET_THREADS): every connection
 * on a pthread of its own, SQLite's own unix VFS on real files in
 * cfg->dir, behind the shim of realvfs.c; the same workloads, driver,
 * history and commit order as the simulation, the interleaving the
 * operating system's. The processes target (WORLD_TARGET_PROCESSES) is
 * the same with a process per connection: this file keeps what both
 * share (the world's lock, the connection's loop, the runner), procs.c
 * the processes' own (fork, the watchdog, the histories' return).
 *
 * How a run goes: threads_run builds a world as world_run does (the
 * seed's fault plan, the history, the workload's setup on the main
 * thread) but with no scheduler and no simulated VFS: the shim, named
 * res->vfs_name, wraps the target's "unix" VFS. Each connection's thread
 * then runs conn.c's driver, conn_step, in a loop. The thread runner below
 * runs an SQLite call to its end at once (conn_call_run), and a wait the
 * driver asks for (conn_submit) is a pause the thread takes itself: none
 * between statements or transactions, the workload's \sleep as real time,
 * a millisecond before a failed open or ROLLBACK is retried. The main
 * thread is the watchdog: when no transaction finishes for
 * cfg->watchdog_ms of wall time it reports a hang, drains (the shim fails
 * every call but the releases at once, so a thread inside SQLite unwinds
 * and closes), and waits a grace period; threads that still do not end
 * are left running and the result says so (world_result.threads_stuck).
 *
 * The shared page. The world's lock, the drain flag and each connection's
 * last op live in one MAP_SHARED anonymous mapping (struct
 * threads_shared), so that they are the same memory in every process of
 * a processes run (threads run in one, where it changes nothing). There
 * the lock is process-shared and robust: a process that dies holding it
 * leaves it to the next taker, who marks it consistent (the parent has
 * seen the death and ends the run unchecked). The world's fields that
 * connections of different processes must agree on, each process having
 * its own copy of the world, are copied in from the page as a process
 * takes the lock and back out as it lets it go (threads_pull,
 * threads_push): the history's event counter, commit count and unsafe
 * point, the transaction quota (txns_started, txns_finished) and the
 * disk-full window's state. So under the lock every process sees what a
 * thread would: one counter, one quota. A process also publishes its
 * connection's driver state there, for the parent's hang report.
 *
 * Invariants:
 * - The world's lock (threads_shared.mu) is held by a connection's thread
 *   at all times but inside its SQLite calls (threads_resume lets it go
 *   around conn_call_run) and its pauses. So the driver's state machine,
 *   the workload's draws, the history, the counters and the trace are
 *   used by one thread at a time, exactly as on the world's one thread in
 *   the simulation; the SQLite calls of different connections overlap as
 *   in any application. The shim takes the lock for its notes. On the
 *   processes target "thread" reads "process", and the world's fields
 *   listed above are equal in every process while it holds the lock.
 * - History events are therefore taken in one real-time order: a
 *   transaction's begin before its BEGIN (or autocommit statement) runs,
 *   its COMMIT start before COMMIT runs, its end after the call returned;
 *   its commit point in the shim with the lock held across the real
 *   release of the write lock and its note (realvfs.c). The oracle's
 *   windows and commit order mean what they mean in the simulation.
 * - Not reproducible: the values each connection draws come from the
 *   seed (its stream WH_STREAM_CONN + id, its fault stream
 *   WH_STREAM_FAULTS_CONN + id), but which call runs when is the OS's, so
 *   the results of statements, and with them later draws, differ from
 *   run to run. The trace hash folds what happened and is no claim.
 * - The io profile here is I/O errors by op kind and the disk-full
 *   window (realvfs.c); allocation failures are left out: SQLite's
 *   allocator is process-wide and its wrapper draws from the world's one
 *   fault stream (fault.c), which several threads cannot share in any
 *   meaningful order.
 */
#include "world_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
/* After the project's headers: the system <sched.h> it brings defines
 * SCHED_RR as a macro, which must come after engine/sched.h's enum. */
#include <pthread.h>

/* One connection's part of the shared page. */
struct threads_slot {
	_Atomic int last_op;         /* its last VFS op kind (the hang
					report, a crash), WH_OP__COUNT: none */
	_Atomic int state;           /* processes: its driver state as it
					last let the world's lock go */
	atomic_bool in_call;         /* ... and whether that was to make an
					SQLite call */
};

/* The shared page (see the top). */
struct threads_shared {
	pthread_mutex_t mu;          /* the world's lock */
	atomic_bool draining;        /* after a hang: every VFS call but
					releases fails at once, sleeps end */
	/* processes: the world's fields every process must agree on, as
	 * the last holder of the lock left them (threads_push) */
	_Atomic uint64_t event;      /* history.event */
	_Atomic uint64_t commit_count; /* history.commit_count */
	_Atomic uint64_t unsafe_event; /* history.unsafe_event */
	_Atomic uint64_t txns_started;
	_Atomic uint64_t txns_finished; /* also read by the parent's
					   watchdog, without the lock */
	_Atomic int quota_state;
	struct threads_slot slots[]; /* conn_count */
};

struct threads_state {
	struct threads_shared *sh;   /* the shared page, mapped */
	size_t sh_bytes;             /* its size */
	bool procs;                  /* the processes target */
	pthread_cond_t cv;           /* threads: signalled as a connection
					thread ends */
	uint32_t live;               /* threads: connection threads not yet
					ended */
	pthread_t *tids;             /* threads: conn_count of them */
	uint32_t started;            /* threads created */
	uint64_t start_ns;           /* CLOCK_MONOTONIC at the start */
	struct realvfs *vfs;         /* the shim */
};

/* The connection whose thread this is (NULL: the main thread). */
static _Thread_local struct conn *threads_current;

/* The longest real pause a workload's \sleep becomes (its own cap is a
 * simulated minute: a real one would only slow the run). */
#define THREADS_SLEEP_MAX_US 100000u
/* The pause before a failed open or ROLLBACK is tried again. */
#define THREADS_RETRY_PAUSE_US 1000u
/* How often the watchdog looks. */
#define THREADS_WATCH_EVERY_NS 100000000u
/* The longest a drained run waits for its threads to end. */
#define THREADS_DRAIN_GRACE_MS_MAX 10000u

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t threads__now_us(const struct world *w)
{
	WH_ASSERT(w->threads != NULL);
	return (mono_ns() - w->threads->start_ns) / 1000u;
}

struct conn *threads__current(void)
{
	return threads_current;
}

void threads__set_current(struct conn *c)
{
	threads_current = c;
}

/* Processes, the lock just taken: this process's copy of the world's
 * shared fields becomes the page's. */
void threads__pull(struct world *w)
{
	struct threads_shared *sh = w->threads->sh;
	struct history *h = &w->res->history;
	h->event = atomic_load_explicit(&sh->event, memory_order_relaxed);
	h->commit_count = atomic_load_explicit(&sh->commit_count, memory_order_relaxed);
	h->unsafe_event = atomic_load_explicit(&sh->unsafe_event, memory_order_relaxed);
	w->txns_started = atomic_load_explicit(&sh->txns_started, memory_order_relaxed);
	w->txns_finished = atomic_load_explicit(&sh->txns_finished, memory_order_relaxed);
	w->quota_state = atomic_load_explicit(&sh->quota_state, memory_order_relaxed);
}

/* Processes, the lock about to be let go: the page takes this process's
 * copy (which only this process can have moved since the pull: it held
 * the lock), and the connection's state for the parent's reports. */
static void threads_push(struct world *w, bool to_call)
{
	struct threads_shared *sh = w->threads->sh;
	const struct history *h = &w->res->history;
	/* The counters only ever grow. */
	WH_ASSERT(h->event >= atomic_load_explicit(&sh->event, memory_order_relaxed));
	WH_ASSERT(w->txns_finished >= atomic_load_explicit(&sh->txns_finished, memory_order_relaxed));
	atomic_store_explicit(&sh->event, h->event, memory_order_relaxed);
	atomic_store_explicit(&sh->commit_count, h->commit_count, memory_order_relaxed);
	atomic_store_explicit(&sh->unsafe_event, h->unsafe_event, memory_order_relaxed);
	atomic_store_explicit(&sh->txns_started, w->txns_started, memory_order_relaxed);
	atomic_store_explicit(&sh->txns_finished, w->txns_finished, memory_order_relaxed);
	atomic_store_explicit(&sh->quota_state, w->quota_state, memory_order_relaxed);
	const struct conn *c = threads_current;
	if (c != NULL) {
		atomic_store_explicit(&sh->slots[c->id].state, (int)c->state, memory_order_relaxed);
		atomic_store_explicit(&sh->slots[c->id].in_call, to_call, memory_order_relaxed);
	}
	/* Trace lines go out in the lock's order, not in each process's
	 * buffer's. */
	if (w->cfg->trace != NULL)
		fflush(w->cfg->trace);
}

static void threads_lock_mutex(struct threads_state *ts)
{
	int rc = pthread_mutex_lock(&ts->sh->mu);
	if (rc == EOWNERDEAD) {
		/* Processes: one died holding the lock. Its parent reports it
		 * and ends the run unchecked; until then the others go on. */
		WH_ASSERT(ts->procs);
		rc = pthread_mutex_consistent(&ts->sh->mu);
	}
	WH_ASSERT_EQ(rc, 0);
}

void threads__lock(struct world *w)
{
	threads_lock_mutex(w->threads);
	if (w->threads->procs)
		threads__pull(w);
}

/* Let the lock go; to_call: for an SQLite call (the hang report says so). */
static void threads_unlock_for(struct world *w, bool to_call)
{
	if (w->threads->procs)
		threads_push(w, to_call);
	WH_ASSERT_EQ(pthread_mutex_unlock(&w->threads->sh->mu), 0);
}

void threads__unlock(struct world *w)
{
	threads_unlock_for(w, false);
}

bool threads__draining(const struct world *w)
{
	return atomic_load(&w->threads->sh->draining);
}

void threads__drain(struct world *w)
{
	atomic_store(&w->threads->sh->draining, true);
}

uint64_t threads__txns_finished(const struct world *w)
{
	return atomic_load_explicit(&w->threads->sh->txns_finished, memory_order_relaxed);
}

void threads__mark_op(const struct conn *c, enum wh_op_kind kind)
{
	atomic_store_explicit(&c->w->threads->sh->slots[c->id].last_op, (int)kind,
			      memory_order_relaxed);
}

int world_thread_conn(void)
{
	const struct conn *c = threads_current;
	return c != NULL ? c->id : -1;
}

const char *world_thread_state(void)
{
	const struct conn *c = threads_current;
	if (c == NULL || (unsigned)c->state > CS_CLOSED)
		return "";
	return world__conn_state_names[c->state];
}

int world_thread_op(void)
{
	const struct conn *c = threads_current;
	if (c == NULL || c->w->threads == NULL)
		return WH_OP__COUNT;
	return atomic_load_explicit(&c->w->threads->sh->slots[c->id].last_op, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* The runner: a call runs at once, without the world's lock           */
/* ------------------------------------------------------------------ */

/* The thread is made once every connection exists (threads_run). */
static int threads_start(struct conn *c, size_t stack_bytes)
{
	(void)c;
	(void)stack_bytes;
	return 0;
}

static void threads_stop(struct conn *c)
{
	(void)c;
}

/* On c's own thread, the world's lock held: run the call with the lock let
 * go, so other connections run meanwhile, and take it back. */
static void threads_resume(struct conn *c)
{
	WH_ASSERT(threads_current == c);
	WH_ASSERT(c->call_active);
	threads_unlock_for(c->w, true);
	conn_call_run(c);
	threads__lock(c->w);
	WH_ASSERT(c->call_done);
}

/* Nothing parks: the shim never hands control away. */
static void threads_park(struct conn *c)
{
	(void)c;
	WH_UNREACHABLE();
}

static const struct conn_runner threads_runner = {
	.start = threads_start,
	.stop = threads_stop,
	.resume = threads_resume,
	.park = threads_park,
};

/* ------------------------------------------------------------------ */
/* A connection's thread                                               */
/* ------------------------------------------------------------------ */

/* The pause the driver asked for (conn_submit) when conn_step returned
 * WH_PENDING, in microseconds: the scheduler's think times and gaps are
 * the simulation's, so they are none here. */
static uint64_t threads_pause_us(const struct conn *c)
{
	WH_ASSERT(!c->call_active);
	WH_ASSERT(c->wait_kind == WH_OP_SLEEP || c->wait_kind == WH_OP_THINK);
	if (c->wait_kind == WH_OP_SLEEP)
		return c->wait_us < THREADS_SLEEP_MAX_US ? c->wait_us : THREADS_SLEEP_MAX_US;
	/* A failed open (CS_OPEN_RETRY moved on to CS_OPEN) or a failed
	 * ROLLBACK retried: a fault that persists is not retried in a tight
	 * loop. */
	if (c->state == CS_OPEN || c->state == CS_ROLLBACK)
		return THREADS_RETRY_PAUSE_US;
	return 0;
}

static void pause_us(uint64_t us)
{
	struct timespec ts = {.tv_sec = (time_t)(us / 1000000u),
			      .tv_nsec = (long)(us % 1000000u) * 1000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

void threads__conn_loop(struct conn *c)
{
	struct world *w = c->w;
	WH_ASSERT(threads_current == c);
	/* Bounded by the transaction quota: every pass finishes a pause, and
	 * a transaction's worth of them moves the connection on (conn_step's
	 * own bound), or the drain ends it. */
	for (;;) {
		if (threads__draining(w)) {
			/* A hang: unwind as a dead process would; what is in
			 * flight stays RUNNING in the history (recover_drain). */
			recover_kill(w, c, false);
			break;
		}
		int rc = conn_step(c);
		if (rc == WH_DONE)
			break;
		WH_ASSERT_EQ(rc, WH_PENDING);
		uint64_t us = threads_pause_us(c);
		threads__unlock(w);
		if (us > 0)
			pause_us(us);
		else
			sched_yield();
		threads__lock(w);
	}
}

static void *threads_conn_main(void *arg)
{
	struct conn *c = arg;
	struct world *w = c->w;
	struct threads_state *ts = w->threads;
	threads_current = c;
	threads__lock(w);
	threads__conn_loop(c);
	WH_ASSERT(ts->live > 0);
	ts->live--;
	pthread_cond_signal(&ts->cv);
	threads__unlock(w);
	threads_current = NULL;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The watchdog                                                        */
/* ------------------------------------------------------------------ */

uint32_t threads__drain_grace_ms(const struct world *w)
{
	return w->cfg->watchdog_ms < THREADS_DRAIN_GRACE_MS_MAX ? w->cfg->watchdog_ms
								: THREADS_DRAIN_GRACE_MS_MAX;
}

/* Wait on ts->cv (the lock held) for a thread to end, at most ns. */
static void threads_wait(struct threads_state *ts, uint64_t ns)
{
	struct timespec ts_abs;
	clock_gettime(CLOCK_MONOTONIC, &ts_abs);
	uint64_t t = (uint64_t)ts_abs.tv_nsec + ns;
	ts_abs.tv_sec += (time_t)(t / 1000000000u);
	ts_abs.tv_nsec = (long)(t % 1000000000u);
	pthread_cond_timedwait(&ts->cv, &ts->sh->mu, &ts_abs);
}

int threads__describe_conn(const struct world *w, uint32_t i, char *buf, size_t cap)
{
	const struct threads_state *ts = w->threads;
	WH_ASSERT(i < w->cfg->conn_count);
	const struct conn *c = &w->conns[i];
	const struct threads_slot *slot = &ts->sh->slots[i];
	int op = atomic_load_explicit(&slot->last_op, memory_order_relaxed);
	/* A process's own copy of its connection is not this one: what it
	 * published is. */
	int state = ts->procs ? atomic_load_explicit(&slot->state, memory_order_relaxed)
			      : (int)c->state;
	bool in_call = ts->procs ? atomic_load_explicit(&slot->in_call, memory_order_relaxed)
				 : c->call_active;
	WH_ASSERT(state >= 0 && state <= CS_CLOSED);
	return snprintf(buf, cap, "%s%s%s%s", world__conn_state_names[state],
			in_call ? " in an SQLite call" : "", op < WH_OP__COUNT ? ", last VFS op " : "",
			op < WH_OP__COUNT ? wh_op_name((enum wh_op_kind)op) : "");
}

/* Each connection's state, whether it is inside an SQLite call, and the
 * last VFS op its thread made, after msg's first n bytes. */
static void threads_describe(const struct world *w, char *msg, size_t cap, int n)
{
	for (uint32_t i = 0; i < w->cfg->conn_count && n > 0 && (size_t)n < cap - 96; i++) {
		n += snprintf(msg + n, cap - (size_t)n, " conn %u: ", i);
		if ((size_t)n < cap)
			n += threads__describe_conn(w, i, msg + n, cap - (size_t)n);
		if ((size_t)n < cap)
			n += snprintf(msg + n, cap - (size_t)n, ";");
	}
}

void threads__describe(const struct world *w, char *msg, size_t cap, int n)
{
	threads_describe(w, msg, cap, n);
}

/* The lock held: wait until every connection thread has ended, or
 * report a hang and drain. Returns with the lock held; sets
 * res->threads_stuck when threads did not end even drained. Bounded:
 * each wait ends within THREADS_WATCH_EVERY_NS, and either a transaction
 * finishes (at most txn_count of them) or the watchdog fires. */
static void threads_watch(struct world *w)
{
	struct threads_state *ts = w->threads;
	const uint64_t limit_ns = (uint64_t)w->cfg->watchdog_ms * 1000000u;
	uint64_t done = w->txns_finished;
	uint64_t since = mono_ns();
	while (ts->live > 0) {
		threads_wait(ts, THREADS_WATCH_EVERY_NS);
		uint64_t now = mono_ns();
		if (w->txns_finished != done) {
			done = w->txns_finished;
			since = now;
			continue;
		}
		if (now - since < limit_ns)
			continue;
		char msg[4096];
		int n = snprintf(msg, sizeof msg,
				 "no transaction finished for %u ms of wall time (the watchdog; %" PRIu64
				 " of %" PRIu64 " done);",
				 w->cfg->watchdog_ms, w->txns_finished, w->cfg->txn_count);
		threads_describe(w, msg, sizeof msg, n);
		/* Drained calls fail at once: a thread that can still run
		 * unwinds within moments. */
		threads__drain(w);
		uint32_t grace_ms = threads__drain_grace_ms(w);
		uint64_t end = now + (uint64_t)grace_ms * 1000000u;
		while (ts->live > 0 && mono_ns() < end)
			threads_wait(ts, THREADS_WATCH_EVERY_NS);
		n = (int)strlen(msg);
		if (ts->live > 0) {
			snprintf(msg + n, sizeof msg - (size_t)n,
				 " %u connection thread%s did not end when drained (%u ms): left running, the history and files unchecked",
				 ts->live, ts->live == 1 ? "" : "s", grace_ms);
			w->res->threads_stuck = true;
		} else {
			snprintf(msg + n, sizeof msg - (size_t)n,
				 " every connection unwound when drained");
		}
		world__add_finding(w->res, "hang", msg);
		return;
	}
}

/* ------------------------------------------------------------------ */
/* The run                                                             */
/* ------------------------------------------------------------------ */

/* Start a thread per connection, the lock held (they wait for it). A
 * thread that cannot be made is a setup_failed finding; those made run
 * on, and the rest never start. */
static void threads_start_all(struct world *w)
{
	struct threads_state *ts = w->threads;
	for (uint32_t i = 0; i < w->cfg->conn_count; i++) {
		if (pthread_create(&ts->tids[i], NULL, threads_conn_main, &w->conns[i]) != 0) {
			world__add_finding(w->res, "setup_failed", "cannot start a connection thread");
			/* The ones started close at their next plan. */
			w->txns_started = w->cfg->txn_count;
			break;
		}
		ts->started++;
		ts->live++;
	}
}

static void threads_state_free(struct world *w)
{
	struct threads_state *ts = w->threads;
	pthread_mutex_destroy(&ts->sh->mu);
	if (!ts->procs)
		pthread_cond_destroy(&ts->cv);
	munmap(ts->sh, ts->sh_bytes);
	free(ts->tids);
	free(ts);
	w->threads = NULL;
}

/* The state, its shared page mapped and the lock made (process-shared
 * and robust for processes), or NULL when the page cannot be mapped. */
static struct threads_state *threads_state_new(uint32_t conn_count, bool procs)
{
	size_t bytes = sizeof(struct threads_shared) + conn_count * sizeof(struct threads_slot);
	struct threads_shared *sh =
		mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return NULL;
	/* A fresh anonymous mapping is zeroed: every counter starts at 0. */
	struct threads_state *ts = wh_calloc(1, sizeof *ts);
	ts->sh = sh;
	ts->sh_bytes = bytes;
	ts->procs = procs;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	if (procs) {
		WH_ASSERT_EQ(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED), 0);
		WH_ASSERT_EQ(pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST), 0);
	}
	WH_ASSERT_EQ(pthread_mutex_init(&sh->mu, &ma), 0);
	pthread_mutexattr_destroy(&ma);
	if (!procs) {
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&ts->cv, &ca);
		pthread_condattr_destroy(&ca);
		ts->tids = wh_calloc(conn_count, sizeof *ts->tids);
	}
	for (uint32_t i = 0; i < conn_count; i++) {
		atomic_init(&sh->slots[i].last_op, WH_OP__COUNT);
		atomic_init(&sh->slots[i].state, CS_OPEN);
		atomic_init(&sh->slots[i].in_call, false);
	}
	atomic_init(&sh->draining, false);
	ts->start_ns = mono_ns();
	return ts;
}

int threads_run(const struct world_config *cfg, struct world_result *res,
		const struct wh_sqlapi *api)
{
	WH_ASSERT(world_target_is_real(cfg->target));
	bool procs = cfg->target == WORLD_TARGET_PROCESSES;
	/* Processes: the history comes back at the end (procs.c), and the
	 * fork must find no other thread inside SQLite. */
	WH_ASSERT(!procs || cfg->observer == NULL);
	WH_ASSERT(cfg->dir != NULL);
	WH_ASSERT(cfg->faults == WORLD_FAULTS_NONE || cfg->faults == WORLD_FAULTS_IO);
	/* What only a reproducible run has: a tape, a shrinker's cuts. */
	WH_ASSERT(cfg->tape == NULL && cfg->image == NULL && cfg->setup_sql == NULL);
	WH_ASSERT(cfg->skip_count == 0 && cfg->snap_count == 0);
	WH_ASSERT(cfg->watchdog_ms > 0);
	struct world *w = wh_calloc(1, sizeof *w);
	res->world = w;
	w->cfg = cfg;
	w->res = res;
	w->api = api;
	w->runner = &threads_runner;
	w->hash = wh_mix64(cfg->seed ^ 0x77686f70ULL);
	hist_init(&res->history);
	hist_set_setup(&res->history, cfg->workload->setup_sql);
	res->history.observer = cfg->observer;
	wh_prng_seed(&w->fault_rng, cfg->seed, WH_STREAM_FAULTS);
	fault_plan_draw(w);
	w->plan.alloc_per_million = 0; /* see the top of the file */
	w->threads = threads_state_new(cfg->conn_count, procs);
	if (w->threads == NULL) {
		world__add_finding(res, "setup_failed", "cannot map the connections' shared page");
		return WH_ENOMEM;
	}
	struct threads_state *ts = w->threads;

	static unsigned serial;
	snprintf(res->vfs_name, sizeof res->vfs_name, "whopper-%s-%u", procs ? "procs" : "threads",
		 ++serial);
	int rc = 0;
	if (snprintf(res->db_path, sizeof res->db_path, "%s/whopper.db", cfg->dir) >=
	    (int)sizeof res->db_path) {
		world__add_finding(res, "setup_failed", "the directory's path is too long");
		rc = WH_EINVAL;
		goto out_state;
	}
	rc = realvfs_create(w, &ts->vfs);
	if (rc != 0) {
		world__add_finding(res, "setup_failed", "cannot register the shim over the unix VFS");
		goto out_state;
	}
	rc = world__setup_db(w);
	if (rc == 0)
		rc = world__create_conns(w);
	if (rc != 0)
		goto out_conns;
	for (uint32_t i = 0; i < cfg->conn_count; i++)
		wh_prng_seed(&w->conns[i].fault_rng, cfg->seed, WH_STREAM_FAULTS_CONN + i);

	if (procs) {
		procs__run(w);
		commit_renumber(&res->history);
		res->trace_hash = w->hash;
		goto out_conns;
	}
	threads__lock(w);
	threads_start_all(w);
	threads_watch(w);
	commit_renumber(&res->history);
	res->trace_hash = w->hash;
	if (res->threads_stuck) {
		/* Keep the lock: a stuck thread that comes back blocks on it
		 * and changes nothing the caller reads. Nothing is freed. */
		return 0;
	}
	threads__unlock(w);
	for (uint32_t i = 0; i < ts->started; i++)
		pthread_join(ts->tids[i], NULL);
out_conns:
	if (w->conns != NULL)
		world__free_conns(w);
	realvfs_destroy(ts->vfs);
out_state:
	threads_state_free(w);
	return rc;
}
