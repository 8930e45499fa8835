/*
 * fault.c - the faults a seed injects: its plan (swarm testing: a random
 * subset of the profile's kinds is on), I/O faults at the yield point,
 * allocation failures through SQLite's allocator, and the scheduled ones
 * (power loss, clean reopen, bit flip, disk-full window) between picks.
 *
 * Invariants: every decision draws from the fault stream (w->fault_rng)
 * in the deterministic order ops are made; allocation failures are armed
 * only while a live target connection's call runs on the world's thread.
 */
#include "world_int.h"

#include <inttypes.h>
#include <string.h>

#include <stdlib.h>

/* I/O fault injection for the op a connection is about to make: the
 * seed's plan says which kinds may fail and how often; a persistent fault
 * keeps failing the same kind for a few ops. Decisions draw from the fault
 * stream in the deterministic order ops are made. */
/* A connection's fault decisions draw from the shared fault stream, so a
 * run without a tape draws exactly as it always did; on a tape they are
 * filed under (replaying: taken from) the connection's own track, made
 * when first needed, so that cutting another connection's work does not
 * move this one's faults (latencies do the same: sched.c). Returns the
 * track to put back. */
static struct wh_track *fault_track_enter(struct world *w, struct conn *c)
{
	struct wh_track *saved = w->fault_rng.track;
	if (w->cfg->tape != NULL) {
		/* Found (or made) once, at the first decision as before, and
		 * kept: the tape's tracks never move, and finding one is a
		 * search of them all, at every allocation SQLite makes. */
		if (c->fault_track == NULL)
			c->fault_track = wh_tape_track(w->cfg->tape,
						       WH_STREAM_FAULTS_CONN + (uint64_t)c->id);
		WH_ASSERT(c->fault_track->stream == WH_STREAM_FAULTS_CONN + (uint64_t)c->id);
		w->fault_rng.track = c->fault_track;
	}
	return saved;
}

int fault_io(struct world *w, struct conn *c, enum wh_op_kind kind, const char *file,
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
	} else {
		/* On real threads each connection draws from its own stream:
		 * the shared one would be drawn in whatever order the OS ran
		 * them (and under the world's lock only by chance). */
		struct wh_prng *r = w->threads != NULL ? &c->fault_rng : &w->fault_rng;
		struct wh_track *saved = fault_track_enter(w, c);
		if (wh_prng_below(r, 1000000) < w->plan.io_per_million) {
			hit = true;
			if (w->plan.persistent && wh_prng_chance(r, 1, 4)) {
				c->persist_kind = kind;
				c->persist_left = (uint32_t)wh_prng_range(r, 1, 16);
			}
		}
		w->fault_rng.track = saved;
	}
	int code = hit ? simvfs_fault_code(kind) : SQLITE_OK;
	if (code != SQLITE_OK && c->in_commit && !c->commit_fault_seen) {
		c->commit_fault_seen = true;
		bool wal = world__file_is(w, file, "-wal");
		c->commit_fault_wal_io = kind == WH_OP_WRITE && wal && !c->commit_frame_whole;
		c->commit_latent = commit_failure_latent(c, kind, wal);
	}
	if (code != SQLITE_OK) {
		/* A failed change of the database file, or any I/O error once
		 * the writer has changed it (a cache spill, a commit under way):
		 * the pager then gives up (its error state), and with it the
		 * in-memory journal, without playing it back. A fault before
		 * the file was touched leaves nothing to undo. */
		if (((kind == WH_OP_WRITE || kind == WH_OP_TRUNCATE || kind == WH_OP_SYNC) &&
		     world__file_is(w, file, "")) ||
		    c->wrote_under_lock)
			commit_note_unsafe(w, c);
		w->res->stats.faults_injected++;
		w->res->stats.faults_by_kind[kind]++;
		world__trace_fold(w, 0xfa17ULL ^ ((uint64_t)kind << 8) ^ ((uint64_t)(uint32_t)c->id << 20));
		/* The op never reaches the VFS, so it has no op= line: say
		 * what failed, for whoever attributes a finding. */
		if (w->cfg->trace)
			fprintf(w->cfg->trace, "t=%" PRIu64 " conn=%d fault=%s file=%s a=%" PRId64
					       " rc=%d\n",
				world__now_us(w), c->id, wh_op_name(kind), file ? file : "-", arg,
				code);
	}
	return code;
}

/* SQLite's allocator is process-wide. The wrapper fails allocations only
 * while a target connection's fiber runs (armed in conn_call), never for
 * the oracle's reference or whopper's own setup, and only when the seed's
 * plan turned allocation failures on. Transient: each allocation draws.
 * Armed per thread: the oracle's concurrent check allocates from its own
 * thread at any moment and must neither fail nor draw from the run's
 * stream.
 *
 * Each library has its own allocator, and SQLite's hooks carry no
 * context: the wrapper installed in one library must forward to that
 * library's previous allocator. So there is one slot per library, each
 * with its own set of functions (FAULT_SLOT below) bound to that slot's
 * saved methods. A process drives a few libraries (`whopper versions`: a
 * ladder of them) at most FAULT_SLOTS. */
static _Thread_local struct conn *alloc_armed;

#define FAULT_SLOTS 16

struct fault_slot {
	const struct wh_sqlapi *api;   /* the library, NULL: free */
	sqlite3_mem_methods prev;      /* its allocator before the wrapper */
};

static struct fault_slot fault_slots[FAULT_SLOTS];

static bool alloc_should_fail(void)
{
	struct conn *c = alloc_armed;
	if (c == NULL)
		return false;
	/* Armed only with allocation failures in the plan (conn_call). */
	WH_ASSERT(c->w->plan.alloc_per_million != 0);
	struct world *w = c->w;
	struct wh_track *saved = fault_track_enter(w, c);
	bool fail = wh_prng_below(&w->fault_rng, 1000000) < w->plan.alloc_per_million;
	w->fault_rng.track = saved;
	if (!fail)
		return false;
	w->res->stats.alloc_failures++;
	return true;
}

/* One slot's wrapper functions: the shared logic above, forwarding to the
 * slot's saved allocator. Every block comes back zeroed (a grown block's
 * new bytes too): an honest SQLite never reads memory it did not write,
 * so this changes nothing there, but under a broken VFS (a planted
 * defect, or a bug) it may (valgrind shows sqlite3WalFindFrame doing so
 * with --vfs-bug no-shm-locks), and what it found was the heap's history,
 * which the oracle's second thread changes at its own pace: the same seed
 * gave two trace hashes. Zeros keep the run a function of its seed. */
#define FAULT_SLOT(n)                                                                    \
	static void *fault_malloc_##n(int b)                                             \
	{                                                                                \
		void *p = alloc_should_fail() ? NULL : fault_slots[n].prev.xMalloc(b);   \
		if (p != NULL)                                                           \
			memset(p, 0, (size_t)b);                                         \
		return p;                                                                \
	}                                                                                \
	static void *fault_realloc_##n(void *p, int b)                                   \
	{                                                                                \
		if (alloc_should_fail())                                                 \
			return NULL;                                                     \
		int old = p != NULL ? fault_slots[n].prev.xSize(p) : 0;                  \
		void *q = fault_slots[n].prev.xRealloc(p, b);                            \
		if (q != NULL && b > old)                                                \
			memset((char *)q + old, 0, (size_t)(b - old));                   \
		return q;                                                                \
	}                                                                                \
	static void fault_free_##n(void *p)                                              \
	{                                                                                \
		fault_slots[n].prev.xFree(p);                                            \
	}                                                                                \
	static int fault_size_##n(void *p)                                               \
	{                                                                                \
		return fault_slots[n].prev.xSize(p);                                     \
	}                                                                                \
	static int fault_roundup_##n(int b)                                              \
	{                                                                                \
		return fault_slots[n].prev.xRoundup(b);                                  \
	}                                                                                \
	static int fault_init_##n(void *app)                                             \
	{                                                                                \
		(void)app;                                                               \
		return fault_slots[n].prev.xInit(fault_slots[n].prev.pAppData);          \
	}                                                                                \
	static void fault_shutdown_##n(void *app)                                        \
	{                                                                                \
		(void)app;                                                               \
		fault_slots[n].prev.xShutdown(fault_slots[n].prev.pAppData);             \
	}
FAULT_SLOT(0)
FAULT_SLOT(1)
FAULT_SLOT(2)
FAULT_SLOT(3)
FAULT_SLOT(4)
FAULT_SLOT(5)
FAULT_SLOT(6)
FAULT_SLOT(7)
FAULT_SLOT(8)
FAULT_SLOT(9)
FAULT_SLOT(10)
FAULT_SLOT(11)
FAULT_SLOT(12)
FAULT_SLOT(13)
FAULT_SLOT(14)
FAULT_SLOT(15)
#undef FAULT_SLOT

#define FAULT_SLOT_METHODS(n)                                                            \
	{                                                                                \
		.xMalloc = fault_malloc_##n, .xFree = fault_free_##n,                    \
		.xRealloc = fault_realloc_##n, .xSize = fault_size_##n,                  \
		.xRoundup = fault_roundup_##n, .xInit = fault_init_##n,                  \
		.xShutdown = fault_shutdown_##n,                                         \
	}
static const sqlite3_mem_methods fault_slot_methods[FAULT_SLOTS] = {
	FAULT_SLOT_METHODS(0),	FAULT_SLOT_METHODS(1),	FAULT_SLOT_METHODS(2),
	FAULT_SLOT_METHODS(3),	FAULT_SLOT_METHODS(4),	FAULT_SLOT_METHODS(5),
	FAULT_SLOT_METHODS(6),	FAULT_SLOT_METHODS(7),	FAULT_SLOT_METHODS(8),
	FAULT_SLOT_METHODS(9),	FAULT_SLOT_METHODS(10), FAULT_SLOT_METHODS(11),
	FAULT_SLOT_METHODS(12), FAULT_SLOT_METHODS(13), FAULT_SLOT_METHODS(14),
	FAULT_SLOT_METHODS(15),
};
#undef FAULT_SLOT_METHODS

int fault_alloc_install(const struct wh_sqlapi *api)
{
	int free_slot = -1;
	for (int i = 0; i < FAULT_SLOTS; i++) {
		WH_ASSERT(fault_slots[i].api != api); /* once per library */
		if (fault_slots[i].api == NULL && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -1;
	struct fault_slot *slot = &fault_slots[free_slot];
	/* sqlite3_config copies the methods it is given. */
	if (api->config(SQLITE_CONFIG_GETMALLOC, &slot->prev) != SQLITE_OK ||
	    api->config(SQLITE_CONFIG_MALLOC, &fault_slot_methods[free_slot]) != SQLITE_OK)
		return -1;
	slot->api = api;
	return 0;
}

void fault_alloc_arm(struct conn *c)
{
	alloc_armed = c;
}

static uint64_t sum_sizes(struct simvfs *vfs, const char *db)
{
	static const char *const suffixes[] = {"", "-wal", "-journal"};
	char name[WORLD_PATH_MAX + 16];
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
void fault_tick(struct world *w)
{
	struct fault_plan *p = &w->plan;
	uint64_t done = w->txns_finished;
	if (w->reopen_ready)
		recover_finish_reopen(w);
	if (w->crash_next < p->crash_count && done >= p->crash_at[w->crash_next] &&
	    !w->reopening && w->live_conns > 0) {
		w->crash_next++;
		recover_power_loss(w);
	}
	if (w->reopen_next < p->reopen_count && done >= p->reopen_at[w->reopen_next] &&
	    !w->reopening && w->txns_started < w->cfg->txn_count) {
		w->reopen_next++;
		recover_start_reopen(w);
	}
	if (p->bitflip && !w->bitflip_done && done >= p->bitflip_at) {
		char desc[128];
		w->bitflip_done = true;
		if (simvfs_bitflip(w->res->vfs, &w->fault_rng, desc, sizeof desc) == 0) {
			w->res->stats.bitflips++;
			world__trace_fold(w, world__str_hash(desc));
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

static int cmp_u64_asc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

uint64_t world_plan_draw_bound(enum world_plan_draw_kind kind, uint64_t txn_count)
{
	uint64_t n = txn_count ? txn_count : 1;
	return kind == WORLD_PLAN_SPAN ? n / 10 + 1 : n;
}

/* A plan draw placed among the transactions: drawn below its bound, and
 * noted (with where it sits on the tape) for the shrinker. */
static uint64_t plan_draw_txns(struct world *w, enum world_plan_draw_kind kind)
{
	struct wh_prng *r = &w->fault_rng;
	uint64_t v = wh_prng_below(r, world_plan_draw_bound(kind, w->cfg->txn_count));
	struct world_result *res = w->res;
	if (r->track != NULL && r->track->cursor > 0 &&
	    res->plan_draw_count < WORLD_PLAN_DRAWS_MAX)
		res->plan_draws[res->plan_draw_count++] = (struct world_plan_draw){
			.kind = kind, .draw = r->track->cursor - 1, .value = v};
	return v;
}

/* Draw this seed's fault plan (swarm testing: a random subset of the
 * profile's kinds is on). */
void fault_plan_draw(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	struct fault_plan *p = &w->plan;
	struct wh_prng *r = &w->fault_rng;
	memset(p, 0, sizeof *p);
	w->res->plan_draw_count = 0;
	bool io = cfg->faults == WORLD_FAULTS_IO || cfg->faults == WORLD_FAULTS_CHAOS;
	bool crash = cfg->faults == WORLD_FAULTS_CRASH || cfg->faults == WORLD_FAULTS_CHAOS;
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
			p->quota_from_txn = plan_draw_txns(w, WORLD_PLAN_AT);
			p->quota_to_txn =
				p->quota_from_txn + 1 + plan_draw_txns(w, WORLD_PLAN_SPAN);
		}
	}
	if (crash) {
		p->crash_count = (uint32_t)wh_prng_range(r, 1, 3);
		for (uint32_t i = 0; i < p->crash_count; i++)
			p->crash_at[i] = plan_draw_txns(w, WORLD_PLAN_AT);
		qsort(p->crash_at, p->crash_count, sizeof p->crash_at[0], cmp_u64_asc);
	}
	if (cfg->faults == WORLD_FAULTS_CHAOS) {
		p->reopen_count = (uint32_t)wh_prng_range(r, 0, 2);
		for (uint32_t i = 0; i < p->reopen_count; i++)
			p->reopen_at[i] = plan_draw_txns(w, WORLD_PLAN_AT);
		qsort(p->reopen_at, p->reopen_count, sizeof p->reopen_at[0], cmp_u64_asc);
	}
	if (cfg->faults == WORLD_FAULTS_BITFLIP) {
		p->bitflip = true;
		p->bitflip_at = plan_draw_txns(w, WORLD_PLAN_AT);
	}
	w->res->stats.fault_kinds_on = p->io_mask;
}

