/*
 * world.c - one seeded run: setup, the scheduler loop, hang detection,
 * teardown, and the trace hash of everything that happened.
 *
 * The rooms of the world (world_int.h names them all): the connection
 * driver is in conn.c, the commit order in commit.c, faults in fault.c,
 * crash and recovery in recover.c, evidence detectors in evidence.c.
 *
 * How a run goes: world_run draws the seed's fault plan, creates the
 * simulated VFS (its hooks are trace_vfs here and conn_hook_yield in
 * conn.c), runs the workload's setup on the main context, starts every
 * connection (conn_step until its first wait), then loops: the scheduler
 * picks a due completion, the pick is folded into the trace hash, the
 * completion finishes, and its callback steps its connection on
 * (conn_on_complete); between picks the fault plan may crash, reopen,
 * flip a bit or fill the disk (fault_tick). The loop ends when every
 * connection has closed, or on a hang (nothing due, or no transaction
 * finished for hang_steps picks), which unwinds every connection
 * (recover_drain). Committed transactions are then renumbered by
 * visibility (commit_renumber).
 *
 * Determinism: all choices come from seeded streams (scheduler, latency,
 * per-connection workload streams, SQLite's PRNG reseeded through the
 * simulated xRandomness at the start of every run); the clock is the
 * scheduler's. The trace hash folds every pick, every VFS operation and
 * every driver event; the same seed and configuration give the same hash.
 */
#include "world_int.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "digest.h"
#include "fiber.h"

/* ------------------------------------------------------------------ */
/* Trace                                                              */
/* ------------------------------------------------------------------ */

uint64_t world__str_hash(const char *s)
{
	return s == NULL ? 0 : wh_fnv1a_str(WH_FNV1A_BASIS_V0, s);
}

enum world_file_role world__file_role(const struct world *w, const char *file)
{
	if (world__file_is(w, file, ""))
		return WORLD_FILE_DB;
	if (world__file_is(w, file, "-wal"))
		return WORLD_FILE_WAL;
	if (world__file_is(w, file, "-journal"))
		return WORLD_FILE_JOURNAL;
	return WORLD_FILE_OTHER;
}

/* The hash and role of a file name (NULL: none), from the cache when it
 * holds the same text at the same address (struct world_name). The
 * returned entry is valid until the next call. (Driver events' names,
 * "stmt" and the like, are hashed each time: a few bytes hash faster than
 * they compare.) */
static const struct world_name *name_lookup(struct world *w, const char *file)
{
	static const struct world_name none = {.ptr = NULL, .hash = 0, .role = WORLD_FILE_OTHER};
	if (file == NULL)
		return &none;
	/* The address's bits, mixed (string literals sit a few bytes
	 * apart), pick a slot. */
	uint64_t mixed = (uint64_t)(uintptr_t)file * 0x9e3779b97f4a7c15ULL;
	struct world_name *e = &w->names[mixed >> 60];
	_Static_assert(WORLD_NAME_CACHE == 16, "the slot is the top 4 bits");
	if (e->ptr == file && strcmp(e->text, file) == 0)
		return e;
	size_t len = strlen(file);
	e->ptr = NULL;
	e->hash = world__str_hash(file);
	e->role = world__file_role(w, file);
	if (len < sizeof e->text) {
		memcpy(e->text, file, len + 1);
		e->ptr = file;
	}
	/* A long name is answered, not kept. */
	WH_ASSERT(e->ptr == file || len >= sizeof e->text);
	return e;
}

static void trace_vfs(void *ctx, enum wh_op_kind kind, const char *file,
		      int64_t a, int64_t b, int rc)
{
	struct world *w = ctx;
	if (w->finished)
		return;
	if (w->running)
		world__prof_mark(w, false);
	const struct world_name *name = name_lookup(w, file);
	/* The disk-full window refuses writes here (injected faults never
	 * reach the VFS's trace): before the lock state moves. */
	if ((rc & 0xff) == SQLITE_FULL && name->role == WORLD_FILE_DB)
		commit_note_unsafe(w, w->running);
	if (w->running)
		commit_note_op(w, w->running, kind, name->role, a, b, rc);
	evidence_note_op(w, w->running ? w->running->id : -1, kind, name->role, a, b, rc);
	if (w->running != NULL)
		coverage_note(w, w->running, kind, name->role);
	if (w->snap_pending)
		world__snap_try(w);
	int conn = w->running ? w->running->id : -1;
	w->res->stats.vfs_ops++;
	w->res->stats.disk_full += (rc & 0xff) == SQLITE_FULL;
	w->res->stats.vfs_ops_by_kind[kind]++;
	world__trace_fold(w, ((uint64_t)(uint32_t)conn << 32) | ((uint64_t)kind << 16) |
			  (uint16_t)rc);
	world__trace_fold(w, name->hash);
	world__trace_fold(w, (uint64_t)a);
	world__trace_fold(w, (uint64_t)b);
	if (w->cfg->trace)
		fprintf(w->cfg->trace,
			"t=%" PRIu64 " conn=%d op=%s file=%s a=%" PRId64
			" b=%" PRId64 " rc=%d\n",
			w->sched.now_us, conn, wh_op_name(kind),
			file ? file : "-", a, b, rc);
	if (w->running)
		world__prof_mark(w, true); /* the method returns to SQLite */
}

void world__trace_stmt(struct world *w, struct conn *c, const char *what,
		       const char *sql, int rc)
{
	world__trace_fold(w, world__str_hash(what) ^ ((uint64_t)(uint32_t)c->id << 40));
	world__trace_fold(w, (uint64_t)(uint32_t)rc);
	if (w->cfg->trace)
		fprintf(w->cfg->trace, "t=%" PRIu64 " conn=%d %s rc=%d sql=%s txn=%d\n",
			world__now_us(w), c->id, what, rc, sql ? sql : "-", c->txn ? (int)c->txn->id : -1);
}

/* ------------------------------------------------------------------ */
/* VFS hooks (no connection)                                          */
/* ------------------------------------------------------------------ */

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
/* Setup                                                              */
/* ------------------------------------------------------------------ */

void world__add_finding(struct world_result *r, const char *kind, const char *detail)
{
	r->findings = wh_realloc(r->findings,
				 (r->finding_count + 1) * sizeof *r->findings);
	r->findings[r->finding_count].kind = wh_strdup(kind);
	r->findings[r->finding_count].detail = wh_strdup(detail);
	r->finding_count++;
}

int world_lib_init(const struct wh_sqlapi *api)
{
	/* The libraries configured so far: each once per process (the
	 * allocator hooks cannot be installed twice). */
	static const struct wh_sqlapi *done[8];
	static size_t done_count;
	for (size_t i = 0; i < done_count; i++)
		if (done[i] == api)
			return 0;
	if (done_count == sizeof done / sizeof done[0])
		return WH_EINVAL;
	/* The simulation runs every connection on one OS thread, while the
	 * oracle's concurrent check runs its reference database on another.
	 * Multi-thread mode: SQLite's global state (allocator, page cache,
	 * VFS list, PRNG) is guarded, but no connection has a mutex, so a
	 * fiber parked inside SQLite (in a VFS call) holds none that another
	 * connection's fiber could block on. The global mutexes are never
	 * held across a VFS call of a private-cache connection. */
	api->shutdown();
	/* A library built single-threaded (SQLITE_THREADSAFE=0) refuses the
	 * mode and needs none: only the world's thread uses a target (the
	 * oracle's second thread uses the linked SQLite). */
	if (api->threadsafe() != 0 && api->config(SQLITE_CONFIG_MULTITHREAD) != SQLITE_OK)
		return WH_EINVAL;
	/* Allocation failures go through SQLite's own allocator hooks. */
	if (fault_alloc_install(api) != 0)
		return WH_EINVAL;
	api->config(SQLITE_CONFIG_URI, 1);
	api->config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (api->initialize() != SQLITE_OK)
		return WH_EINVAL;
	done[done_count++] = api;
	return 0;
}

int world_global_init(void)
{
	return world_lib_init(&wh_sqlapi_linked);
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
	cfg->step_budget = WORLD_STEP_BUDGET_DEFAULT;
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
	const struct wh_sqlapi *api = w->api;
	sqlite3_vfs *prev = api->vfs_find(NULL);
	unsigned char b;
	api->vfs_register(simvfs_sqlite(w->res->vfs), 1);
	api->randomness(0, NULL);
	api->randomness(1, &b);
	api->vfs_register(prev, 1);
}

static const char *world_setup_sql(const struct world_config *cfg)
{
	return cfg->setup_sql != NULL ? cfg->setup_sql : cfg->workload->setup_sql;
}

bool world_pragma_opens(const char *name_value)
{
	size_t n = strcspn(name_value, "=");
	static const char *const exact[] = {"key", "hexkey", "textkey", "kdf_iter"};
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (n == strlen(exact[i]) && strncasecmp(name_value, exact[i], n) == 0)
			return true;
	return n >= 6 && strncasecmp(name_value, "cipher", 6) == 0;
}

int world__apply_pragmas(const struct wh_sqlapi *api, sqlite3 *db, const struct world_config *cfg,
			 bool opening)
{
	/* The workload's first, then --pragma's: a later one wins. */
	const char *const *lists[2] = {cfg->workload->pragmas, cfg->pragmas};
	const uint32_t counts[2] = {cfg->workload->pragma_count, cfg->pragma_count};
	char sql[256];
	int rc = SQLITE_OK;
	for (int l = 0; l < 2; l++) {
		for (uint32_t i = 0; rc == SQLITE_OK && i < counts[l]; i++) {
			if (world_pragma_opens(lists[l][i]) != opening)
				continue;
			snprintf(sql, sizeof sql, "PRAGMA %s", lists[l][i]);
			rc = api->exec(db, sql, NULL, NULL, NULL);
		}
	}
	return rc;
}

int world_open_pragmas(const struct world_config *cfg, const struct wh_sqlapi *api, sqlite3 *db)
{
	return world__apply_pragmas(api, db, cfg, true);
}

bool world_has_open_pragmas(const struct world_config *cfg)
{
	for (uint32_t i = 0; i < cfg->workload->pragma_count; i++)
		if (world_pragma_opens(cfg->workload->pragmas[i]))
			return true;
	for (uint32_t i = 0; i < cfg->pragma_count; i++)
		if (world_pragma_opens(cfg->pragmas[i]))
			return true;
	return false;
}

/* Take the pending image if the files are quiescent now. */
void world__snap_try(struct world *w)
{
	WH_ASSERT(w->snap_pending && w->snap_next < w->cfg->snap_count);
	if (simvfs_image_take(w->res->vfs, &w->cfg->snap_images[w->snap_next])) {
		w->snap_next++;
		w->snap_pending = false;
	}
}

/* An image asked for at a transaction's begin is taken then, or at the
 * first quiescent moment after it (with a dozen connections a writer is
 * nearly always mid-way): until the next image is due. The files may
 * then hold more than the transactions that began before the event did
 * (a commit, a hot journal left by a transaction that began after it);
 * the shrinker checks what they hold before it uses them (shrink.c). */
void world__snap_at(struct world *w, uint64_t begin_event)
{
	const struct world_config *cfg = w->cfg;
	if (w->res->vfs == NULL)
		return;
	while (w->snap_next < cfg->snap_count && cfg->snap_events[w->snap_next] < begin_event) {
		w->snap_next++;
		w->snap_pending = false;
	}
	if (w->snap_next < cfg->snap_count && cfg->snap_events[w->snap_next] == begin_event) {
		w->snap_pending = true;
		world__snap_try(w);
	}
}

/* A run from files (world.h, image): they replace the setup. */
static int world_load_image(struct world *w)
{
	int rc = simvfs_image_load(w->res->vfs, w->cfg->image);
	if (rc != SQLITE_OK) {
		world__add_finding(w->res, "setup_failed", "the setup's files do not fit the VFS");
		return WH_ESQL;
	}
	return 0;
}

/*
 * When the files of a run from files appear. With a rollback journal the
 * files are what a failed writer left (a database with pages of its
 * transaction written and the hot journal that undoes them), and the
 * window's connections had opened, and read the schema, long before that
 * writer began. So here they open on the database as the journal rolled
 * back leaves it (the committed state, byte for byte what the rollback
 * will restore), read the schema as in any run from a setup, and the
 * files as they were replace it once the last opening is over, before
 * the window's first logged pick. Opened on the files themselves, each
 * connection's PRAGMA journal_mode would take a read lock and find the
 * journal hot, and the first would roll it back during the opening: the
 * state the race needs would be gone before the window began. In WAL
 * mode the files are there from the start: an open there is what a
 * restart does (it reads the WAL back), and the WAL holds committed
 * transactions, not a writer's leftovers.
 */
static bool image_after_opens(const struct world_config *cfg)
{
	return strcasecmp(cfg->journal_mode, "wal") != 0;
}

/* The database of cfg->image with its hot journal rolled back, by the
 * linked SQLite on a scratch VFS (a journal's format is SQLite's, the
 * same in every version a run can target); the journal, now cold, is
 * left out. Returns 0, or WH_ESQL when the files cannot be opened. */
static int world_image_rolled_back(const struct world_config *cfg, const char *db_name,
				   struct simvfs_image *out)
{
	static uint64_t serial;
	char name[48];
	snprintf(name, sizeof name, "whopper-scratch-%" PRIu64, ++serial);
	struct simvfs_config vc;
	simvfs_config_default(&vc);
	const struct wh_sqlapi *api = &wh_sqlapi_linked;
	struct simvfs *vfs = NULL;
	memset(out, 0, sizeof *out);
	if (simvfs_create(&vfs, name, &vc, &simvfs_hooks_still) != SQLITE_OK)
		return WH_ESQL;
	bool ok = simvfs_image_load(vfs, cfg->image) == SQLITE_OK;
	sqlite3 *db = NULL;
	ok = ok && api->open_v2(db_name, &db, SQLITE_OPEN_READWRITE, name) == SQLITE_OK;
	ok = ok && api->exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) ==
			   SQLITE_OK;
	api->close_v2(db);
	struct simvfs_image all = {0};
	ok = ok && simvfs_image_take(vfs, &all);
	simvfs_destroy(vfs);
	for (uint32_t i = 0; ok && i < all.count; i++) {
		if (strcmp(all.files[i].name, db_name) != 0)
			continue;
		out->files = wh_calloc(1, sizeof *out->files);
		out->count = 1;
		out->files[0] = all.files[i];
		all.files[i] = (struct simvfs_image_file){0};
	}
	simvfs_image_free(&all);
	return ok && out->count == 1 ? 0 : WH_ESQL;
}

/* Before the opens: the database as the journal rolled back leaves it. */
static int world_load_image_early(struct world *w)
{
	struct simvfs_image clean;
	int rc = world_image_rolled_back(w->cfg, w->res->db_path, &clean);
	if (rc == 0 && simvfs_image_load(w->res->vfs, &clean) != SQLITE_OK)
		rc = WH_ESQL;
	simvfs_image_free(&clean);
	if (rc != 0)
		world__add_finding(w->res, "setup_failed",
				   "the setup's files cannot be opened and rolled back");
	return rc;
}

/* The opening is over when nothing unlogged is pending (conn.c: every
 * wait of an opening connection is unlogged in a run from a setup, and
 * unlogged completions are picked first). */
static void world_load_image_late(struct world *w)
{
	WH_ASSERT(w->cfg->setup_sql != NULL);
	if (w->sched.unlogged_pending > 0)
		return;
	w->image_after_opens = false;
	if (world_load_image(w) != 0)
		recover_drain(w); /* setup_failed is reported */
}

int world__setup_db(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	const struct wh_sqlapi *api = w->api;
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	const char *vfs = NULL;
	char sql[128];
	if (cfg->target != WORLD_TARGET_MEMORY_SHARED)
		vfs = w->res->vfs_name; /* the simulated VFS, or the shim */
	else
		flags |= SQLITE_OPEN_URI;
	int rc = api->open_v2(w->res->db_path, &db, flags, vfs);
	if (rc == SQLITE_OK)
		rc = world__apply_pragmas(api, db, cfg, true);
	if (rc == SQLITE_OK && cfg->target != WORLD_TARGET_MEMORY_SHARED) {
		snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", cfg->journal_mode);
		rc = api->exec(db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = world__apply_pragmas(api, db, cfg, false);
	if (rc == SQLITE_OK)
		rc = api->exec(db, world_setup_sql(cfg), NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		char msg[512];
		snprintf(msg, sizeof msg, "workload setup failed: %s",
			 db ? api->errmsg(db) : api->errstr(rc));
		world__add_finding(w->res, "setup_failed", msg);
		api->close_v2(db);
		return WH_ESQL;
	}
	if (cfg->target == WORLD_TARGET_MEMORY_SHARED)
		w->res->keepalive = db; /* the shared in-memory db lives on */
	else
		api->close_v2(db);
	return 0;
}

const char *const world__conn_state_names[CS_CLOSED + 1] = {
	[CS_OPEN] = "open", [CS_OPEN_RETRY] = "open", [CS_THINK] = "think", [CS_THINK_WAIT] = "think",
	[CS_PLAN] = "plan", [CS_BEGIN] = "begin", [CS_NEXT] = "next",
	[CS_SLEEP_WAIT] = "sleep", [CS_GAP] = "gap",
	[CS_GAP_WAIT] = "gap", [CS_STMT] = "statement", [CS_COMMIT] = "commit",
	[CS_ROLLBACK] = "rollback", [CS_CLOSE] = "close", [CS_CLOSED] = "closed",
};

static void report_hang(struct world *w, const char *why)
{
	char msg[4096];
	int n = snprintf(msg, sizeof msg, "%s after %" PRIu64 " steps at t=%" PRIu64
			 "us;", why, w->sched.steps, w->sched.now_us);
	for (uint32_t i = 0; i < w->cfg->conn_count && n < (int)sizeof msg - 64; i++) {
		const struct conn *c = &w->conns[i];
		n += snprintf(msg + n, sizeof msg - (size_t)n, " conn %u: %s%s%s;", i,
			      world__conn_state_names[c->state],
			      c->call_active ? " parked in " : "",
			      c->call_active ? wh_op_name(c->parked_kind) : "");
	}
	world__add_finding(w->res, "hang", msg);
}

/* ------------------------------------------------------------------ */
/* The run loop, teardown                                             */
/* ------------------------------------------------------------------ */

_Static_assert(WH_STREAM_LATENCY_CONN >= WH_STREAM_CONN + WORLD_MAX_CONNS,
	       "connection streams and latency tracks do not overlap");
_Static_assert(WH_STREAM_FAULTS_CONN >= WH_STREAM_LATENCY_CONN + WORLD_MAX_CONNS,
	       "latency and fault tracks do not overlap");
_Static_assert(3 * WORLD_MAX_CONNS + 16 <= WH_TAPE_MAX_TRACKS,
	       "a tape has room for every stream of a run");

/* The scheduler, seeded from the run. */
static void world_start_sched(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	struct world_result *res = w->res;
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
		.follow_strict = cfg->follow_strict,
	};
	sched_init(&w->sched, &sc);
	res->pct_n = cfg->conn_count;
	res->pct_k = sc.pct_steps_estimate;
}

/* The simulated VFS, named uniquely, its hooks pointing at w. Returns 0
 * or WH_EINVAL. */
static int world_create_vfs(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	struct world_result *res = w->res;
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
	vc.api = w->api;
	if (cfg->yield_mask)
		vc.yield_mask = cfg->yield_mask;
	if (cfg->sector_size > 0)
		vc.sector_size = cfg->sector_size;
	if (cfg->device_characteristics >= 0)
		vc.device_characteristics = cfg->device_characteristics;
	vc.lock_model = cfg->lock_model;
	struct simvfs_hooks hooks = {
		.ctx = w,
		.yield = conn_hook_yield,
		.trace = trace_vfs,
		.now_us = hook_now_us,
		.randomness = hook_randomness,
	};
	if (simvfs_create(&res->vfs, res->vfs_name, &vc, &hooks) != SQLITE_OK)
		return WH_EINVAL;
	/* The oracle reads the files the target left with the linked SQLite
	 * (its own library), through a registration of its own. */
	if (!w->api->linked &&
	    simvfs_register_in(res->vfs, &wh_sqlapi_linked) != SQLITE_OK) {
		simvfs_destroy(res->vfs);
		res->vfs = NULL;
		return WH_EINVAL;
	}
	return 0;
}

int world__create_conns(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	w->conns = wh_calloc(cfg->conn_count, sizeof *w->conns);
	for (uint32_t i = 0; i < cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		c->w = w;
		c->id = (int)i;
		c->state = CS_OPEN;
		conn_mark_txn(c);
		c->cov_class = -1;
		wh_prng_seed_taped(&c->rng, cfg->seed, WH_STREAM_CONN + i, cfg->tape);
		c->wl_state = cfg->workload->ops->conn_new(cfg->workload, i);
		wh_completion_init(&c->comp, WH_OP_THINK, conn_on_complete, c);
		if (w->runner->start(c, cfg->stack_bytes) != 0) {
			world__add_finding(w->res, "setup_failed", "cannot map a fiber stack");
			return WH_ENOMEM;
		}
	}
	return 0;
}

/* The run: every connection starts with an open (itself a series of
 * yields), then the scheduler picks until all have closed or none can go
 * on. */
static void world_loop(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	w->live_conns = cfg->conn_count;
	for (uint32_t i = 0; i < cfg->conn_count; i++) {
		if (conn_step(&w->conns[i]) == WH_DONE)
			w->live_conns--;
	}
	/* Bounded: every pick counts towards hang_steps unless a transaction
	 * finishes, and the transaction quota is finite. */
	while (w->live_conns > 0 || w->reopen_ready) {
		if (w->reopen_ready) {
			recover_finish_reopen(w);
			continue;
		}
		if (w->image_after_opens)
			world_load_image_late(w);
		struct wh_completion *comp = sched_pick(&w->sched);
		if (comp == NULL) {
			report_hang(w, "every connection is parked and nothing is due");
			recover_drain(w);
			break;
		}
		/* Every scheduled completion is a connection's own (conn_submit).
		 * A few dozen connections' state stays in the cache, where
		 * asking for it would only cost instructions. */
		struct conn *c = comp->data;
		WH_ASSERT(comp == &c->comp);
		if (cfg->conn_count > WORLD_PREFETCH_FROM)
			conn_prefetch(c);
		world__trace_fold(w, ((uint64_t)(uint32_t)comp->owner << 32) ^ comp->kind ^
				  (comp->due_us << 8));
		if (++w->steps_since_progress > cfg->hang_steps) {
			/* comp stays pending, unlinked: the drain cancels it */
			report_hang(w, "no transaction finished");
			recover_drain(w);
			break;
		}
		wh_completion_complete(comp, 0);
		if (cfg->faults != WORLD_FAULTS_NONE)
			fault_tick(w);
	}
	/* No connection got past its opening: the files are still what the
	 * oracle's final check reads. */
	if (w->image_after_opens) {
		w->image_after_opens = false;
		(void)world_load_image(w);
	}
}

void world__free_conns(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	for (uint32_t i = 0; i < cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		w->runner->stop(c);
		conn_clear_cells(c);
		conn_clear_params(c);
		free(c->cells);
		if (c->wl_state)
			cfg->workload->ops->conn_free(c->wl_state);
	}
	free(w->conns);
	free(w->latent);
	w->latent = NULL;
	w->latent_count = w->latent_cap = 0;
	w->conns = NULL;
}

int world_run(const struct world_config *cfg, struct world_result *res)
{
	/* Zeroed first: world_result_free must work on any return. */
	memset(res, 0, sizeof *res);
	const struct wh_sqlapi *api = cfg->api ? cfg->api : &wh_sqlapi_linked;
	int rc = world_lib_init(api);
	if (rc != 0)
		return rc;
	WH_ASSERT(cfg->conn_count > 0 && cfg->conn_count <= WORLD_MAX_CONNS);
	WH_ASSERT(cfg->workload != NULL);
	if (world_target_is_real(cfg->target))
		return threads_run(cfg, res, api);
	/* The world outlives this call: the VFS hooks point at it while the
	 * oracle reads the final database. world_result_free frees it. */
	struct world *w = wh_calloc(1, sizeof *w);
	res->world = w;
	w->cfg = cfg;
	w->res = res;
	w->runner = &conn_fiber_runner;
	w->api = api;
	w->hash = wh_mix64(cfg->seed ^ 0x77686f70ULL);
	hist_init(&res->history);
	hist_set_setup(&res->history, world_setup_sql(cfg));
	res->history.observer = cfg->observer;
	wh_prng_seed_taped(&w->vfs_rng, cfg->seed, WH_STREAM_VFS_RANDOM, cfg->tape);
	wh_prng_seed_taped(&w->fault_rng, cfg->seed, WH_STREAM_FAULTS, cfg->tape);
	fault_plan_draw(w);
	world_start_sched(w);
	if (world_create_vfs(w) != 0) {
		sched_free(&w->sched);
		return WH_EINVAL;
	}
	reseed_sqlite_prng(w);
	simvfs_set_bug(res->vfs, cfg->vfs_bug);
	if (cfg->target != WORLD_TARGET_SIM)
		memset(&w->plan, 0, sizeof w->plan); /* no VFS: no I/O faults */

	if (cfg->image != NULL && cfg->target == WORLD_TARGET_SIM) {
		w->image_after_opens = image_after_opens(cfg);
		rc = w->image_after_opens ? world_load_image_early(w) : world_load_image(w);
	} else {
		rc = world__setup_db(w);
	}
	if (rc != 0)
		goto out_sched;
	rc = world__create_conns(w);
	if (rc == 0) {
		struct timespec t0, t1;
		if (cfg->profile != NULL) {
			memset(cfg->profile, 0, sizeof *cfg->profile);
			clock_gettime(CLOCK_MONOTONIC, &t0);
		}
		world_loop(w);
		if (cfg->profile != NULL) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			cfg->profile->run_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
					       (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
		}
		commit_renumber(&res->history);
		if (cfg->tape)
			wh_tape_trim(cfg->tape);
	}
	w->finished = true;
	w->running = NULL;
	res->stats.sched_steps = w->sched.steps;
	res->stats.sim_time_us = w->sched.now_us;
	res->divergence = w->sched.divergence;
	res->follow_used = w->sched.follow_next;
	res->trace_hash = w->hash;
	world__free_conns(w);
out_sched:
	w->finished = true;
	sched_free(&w->sched);
	return rc;
}

void world_result_free(struct world_result *r)
{
	/* Threads still run on all of it (world.h): leave it to them. */
	if (r->threads_stuck)
		return;
	hist_free(&r->history);
	for (uint32_t i = 0; i < r->finding_count; i++) {
		free(r->findings[i].kind);
		free(r->findings[i].detail);
	}
	free(r->findings);
	if (r->keepalive) {
		const struct world *w = r->world;
		WH_ASSERT(w != NULL);
		w->api->close_v2(r->keepalive);
	}
	if (r->vfs)
		simvfs_destroy(r->vfs);
	free(r->world);
	memset(r, 0, sizeof *r);
}
