/*
 * realvfs.c - the threads target's shim: a VFS registered under the
 * run's own name (res->vfs_name) over the target SQLite's "unix" VFS,
 * delegating every method to it, which notes what the driver and the
 * commit order need and injects the io profile's faults.
 *
 * Notes. For an op of a connection's thread (threads__current), the shim
 * does under the world's lock what the simulated VFS's trace hook does
 * (world.c, trace_vfs): commit_note_op with the same encoding (a lock's
 * level asked and the level left; a shm lock's slot, and count << 8 |
 * flags; an offset and size...), the op counters, the trace line. So the
 * commit point follows the simulation's rule (commit.c): the first
 * release, inside COMMIT, of the transaction's write-lock hold, an
 * xUnlock of the database file below RESERVED or the release of the WAL
 * write lock (shm slot 0). A release runs with the world's lock held
 * across the real call and its note: between the moment the lock is free
 * and the history event that records it, no other connection can record
 * anything, so the visibility order is the order in which the writers
 * really held the lock. Every other op is noted after the real call
 * returns. Ops of the main thread (the setup) are delegated, not noted.
 *
 * Faults (--faults io). Before an op of a kind the seed's plan enables,
 * fault_io (fault.c) draws from the connection's own stream and may fail
 * it without calling the real VFS, as the simulation's yield hook does,
 * and such an op is not noted (the simulated VFS never sees it either).
 * The disk-full window opens and closes as transactions finish (the
 * plan's quota_from_txn, quota_to_txn); while open, a write that would
 * grow the database's files (the real sizes) past what they held when it
 * opened plus a page fails with SQLITE_FULL, and is noted, as the
 * simulated VFS traces its quota's refusals.
 *
 * Files. A file's note name is res->db_path with the file's suffix
 * ("-wal", "-journal", "-shm"), found by comparing the name SQLite opens
 * with the main database's name as SQLite first opened it (the setup, on
 * the main thread, before any connection thread), so world__file_is
 * recognises it whatever form SQLite gives the path. Other files (temp
 * files) have none.
 *
 * The drain (after a hang, threads.c): every op fails at once with an
 * I/O error, but the releases (xClose, xUnlock, a shm unlock,
 * xShmUnmap), which run, so an unwound connection lets its locks and
 * descriptors go; xSleep returns at once.
 *
 * Processes (procs.c): the shim is registered before the fork, so every
 * connection's process has it; what it keeps under the world's lock (the
 * disk-full window, the planted loss) is in a shared page (struct
 * realvfs_shared) and the world's lock is the processes' (threads.c).
 *
 * Planted defects (world_plant, tests): a dropped COMMIT's page writes,
 * locks granted without being taken, a crashing thread, a hanging one;
 * each marked where it acts.
 *
 * Invariants: a method calls its real counterpart at most once, and never
 * after an injected fault or under the drain (releases aside); a file's
 * lock_level is touched only by the thread that owns the connection
 * (files belong to one connection); the world's lock is never held when
 * the shim takes it (a connection's thread lets it go for its SQLite
 * calls).
 */
#include "world_int.h"

#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

/* What the shim keeps under the world's lock: in a MAP_SHARED page of its
 * own, so that on the processes target every connection's process sees
 * one window and one planted loss (threads see it as any memory). */
struct realvfs_shared {
	uint64_t quota_bytes;        /* the disk-full window's cap on the
					files' total size; 0: none */
	int plant_conn;              /* WORLD_PLANT_LOST_WRITE: the
					connection whose COMMIT's page writes
					are being dropped, or -1 */
	uint64_t plant_dropped;      /* ... writes dropped in that hold */
	int plant_first;             /* the first connection that lost a
					COMMIT's writes, or -1 */
	bool plant_over;             /* another one has lost one since */
};

struct realvfs {
	sqlite3_vfs base;            /* registered; pAppData is this */
	sqlite3_vfs *real;           /* the target's unix VFS */
	struct world *w;
	char *db_name;               /* the main database's name as SQLite
					opened it first, or NULL */
	struct realvfs_shared *sh;   /* under the world's lock (mapped) */
};

struct realvfs_file {
	sqlite3_file base;           /* pMethods: &realvfs_io, or NULL when
					the real open failed */
	struct realvfs *vfs;
	char *note_name;             /* owned; NULL: not one of the
					database's files */
	bool is_db;                  /* the main database file */
	int lock_level;              /* its lock, as the last lock or unlock
					left it */
	sqlite3_file *real;          /* the unix file, right after this */
};

_Static_assert(sizeof(struct realvfs_file) % 8 == 0, "the real file after it is aligned");

static struct realvfs *vfs_of(sqlite3_vfs *vfs)
{
	return vfs->pAppData;
}

/* ------------------------------------------------------------------ */
/* Gate and notes                                                      */
/* ------------------------------------------------------------------ */

static bool op_is_release(enum wh_op_kind kind, int64_t arg)
{
	return kind == WH_OP_CLOSE || kind == WH_OP_UNLOCK || kind == WH_OP_SHM_UNMAP ||
	       (kind == WH_OP_SHM_LOCK && ((arg >> 16) & SQLITE_SHM_UNLOCK));
}

/* The planted crash and hangs, at a connection's first VFS op (its open:
 * every connection makes one, however fast the others use up the
 * transactions). */
static void plant_stop(struct world *w, const struct conn *c)
{
	enum world_plant p = w->cfg->plant;
	if (p == WORLD_PLANT_CRASH && (uint32_t)c->id == w->cfg->conn_count - 1)
		raise(SIGSEGV);
	if ((p == WORLD_PLANT_HANG || p == WORLD_PLANT_HANG_HARD) && c->id == 0) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 10000000};
		/* Planted: until drained, or for ever. */
		while (p == WORLD_PLANT_HANG_HARD || !threads__draining(w))
			nanosleep(&ts, NULL);
	}
}

/* Before op `kind` on file `name` (arg as fault_io takes it): SQLITE_OK
 * to run it, or the code to return without running it (an injected
 * fault, the drain). *cp: the calling thread's connection, or NULL (the
 * main thread: nothing is injected or noted). */
static int gate(struct realvfs *v, enum wh_op_kind kind, const char *name, int64_t arg,
		struct conn **cp)
{
	struct conn *c = threads__current();
	*cp = c;
	if (c == NULL)
		return SQLITE_OK;
	struct world *w = v->w;
	WH_ASSERT(c->w == w);
	threads__mark_op(c, kind);
	if (w->cfg->plant != WORLD_PLANT_NONE)
		plant_stop(w, c);
	if (threads__draining(w))
		return op_is_release(kind, arg) ? SQLITE_OK : SQLITE_IOERR;
	/* The plan is drawn before the threads start: read-only now. */
	if ((w->plan.io_mask & (1u << kind)) == 0)
		return SQLITE_OK;
	threads__lock(w);
	int rc = fault_io(w, c, kind, name, arg);
	threads__unlock(w);
	return rc;
}

/* The world's lock held: what trace_vfs does for a connection's op. */
static void note_locked(struct realvfs *v, struct conn *c, enum wh_op_kind kind, const char *name,
			int64_t a, int64_t b, int rc)
{
	struct world *w = v->w;
	WH_ASSERT(c != NULL);
	WH_ASSERT((unsigned)kind < WH_OP__COUNT);
	/* A full disk under a writer of journal modes MEMORY and OFF, before
	 * its lock state moves (as trace_vfs). */
	if ((rc & 0xff) == SQLITE_FULL && world__file_is(w, name, ""))
		commit_note_unsafe(w, c);
	commit_note_op(w, c, kind, world__file_role(w, name), a, b, rc);
	struct world_stats *s = &w->res->stats;
	s->vfs_ops++;
	s->disk_full += (rc & 0xff) == SQLITE_FULL;
	s->vfs_ops_by_kind[kind]++;
	if (w->cfg->trace)
		fprintf(w->cfg->trace,
			"t=%" PRIu64 " conn=%d op=%s file=%s a=%" PRId64 " b=%" PRId64 " rc=%d\n",
			world__now_us(w), c->id, wh_op_name(kind), name ? name : "-", a, b, rc);
}

static void note(struct realvfs *v, struct conn *c, enum wh_op_kind kind, const char *name,
		 int64_t a, int64_t b, int rc)
{
	if (c == NULL)
		return;
	threads__lock(v->w);
	note_locked(v, c, kind, name, a, b, rc);
	threads__unlock(v->w);
}

/* The database's name with this suffix, as notes name it (owned), or
 * NULL when name is not one of the database's files. */
static char *note_name_for(const struct realvfs *v, const char *name)
{
	if (name == NULL || v->db_name == NULL)
		return NULL;
	size_t n = strlen(v->db_name);
	if (strncmp(name, v->db_name, n) != 0)
		return NULL;
	const char *suffix = name + n;
	if (*suffix != '\0' && strcmp(suffix, "-wal") != 0 && strcmp(suffix, "-journal") != 0 &&
	    strcmp(suffix, "-shm") != 0)
		return NULL;
	size_t len = strlen(v->w->res->db_path) + strlen(suffix) + 1;
	char *s = wh_malloc(len);
	snprintf(s, len, "%s%s", v->w->res->db_path, suffix);
	return s;
}

/* ------------------------------------------------------------------ */
/* The disk-full window and the planted lost write                     */
/* ------------------------------------------------------------------ */

/* The database's files' total size now (the quota's measure). */
static uint64_t files_bytes(const struct realvfs *v)
{
	static const char *const suffixes[] = {"", "-wal", "-journal"};
	char path[WORLD_PATH_MAX + 16];
	uint64_t total = 0;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		struct stat st;
		snprintf(path, sizeof path, "%s%s", v->w->res->db_path, suffixes[i]);
		if (stat(path, &st) == 0 && st.st_size > 0)
			total += (uint64_t)st.st_size;
	}
	return total;
}

/* The world's lock held: open or close the window as the plan says
 * (fault_tick's rule, with the real sizes), then may f grow to `end`?
 * Staying the same size or shrinking is always allowed. */
static bool quota_allows(struct realvfs_file *f, int64_t end)
{
	struct realvfs *v = f->vfs;
	struct world *w = v->w;
	const struct fault_plan *p = &w->plan;
	WH_ASSERT(w->quota_state >= 0 && w->quota_state <= 2);
	if (w->quota_state == 0 && p->quota_to_txn > p->quota_from_txn &&
	    w->txns_finished >= p->quota_from_txn) {
		v->sh->quota_bytes = files_bytes(v) + 4096;
		w->quota_state = 1;
	} else if (w->quota_state == 1 && w->txns_finished >= p->quota_to_txn) {
		v->sh->quota_bytes = 0;
		w->quota_state = 2;
	}
	if (v->sh->quota_bytes == 0)
		return true;
	sqlite3_int64 size = 0;
	if (f->real->pMethods->xFileSize(f->real, &size) != SQLITE_OK || end <= size)
		return true;
	return files_bytes(v) + (uint64_t)(end - size) <= v->sh->quota_bytes;
}

/* WORLD_PLANT_LOST_WRITE, the world's lock held: drop this write? From
 * the first COMMIT after the tenth commit on, every COMMIT loses its
 * database page writes but the first page's (the header and change
 * counter, which is written, so the other connections do reread the
 * pages they would find stale), until one of a second connection has:
 * the shim says they were written. Not one COMMIT alone: its writer keeps
 * the lost pages in its cache and, writing next, would write them again.
 * The second connection reads the first one's pages stale from the file
 * and writes its own change over them, so that COMMIT is lost for good. */
static bool plant_drops(struct realvfs_file *f, const struct conn *c, int64_t offset)
{
	struct realvfs_shared *p = f->vfs->sh;
	struct world *w = f->vfs->w;
	if (w->cfg->plant != WORLD_PLANT_LOST_WRITE || !f->is_db || offset == 0)
		return false;
	WH_ASSERT((uint32_t)c->id < w->cfg->conn_count);
	/* The history's count is every connection's, in every process. */
	if (p->plant_conn < 0 && !p->plant_over && c->in_commit && c->holds_db_write_lock &&
	    w->res->history.commit_count >= 10) {
		p->plant_conn = c->id;
		if (p->plant_first < 0)
			p->plant_first = c->id;
	}
	if (p->plant_conn != c->id)
		return false;
	p->plant_dropped++;
	return true;
}

/* The world's lock held: c released the database's write lock; a planted
 * loss in its hold is complete (if anything was dropped). */
static void plant_released(struct realvfs *v, const struct conn *c)
{
	struct realvfs_shared *p = v->sh;
	if (p->plant_conn != c->id)
		return;
	WH_ASSERT(v->w->cfg->plant == WORLD_PLANT_LOST_WRITE);
	p->plant_conn = -1;
	if (p->plant_dropped > 0 && c->id != p->plant_first)
		p->plant_over = true;
	if (v->w->cfg->trace)
		fprintf(v->w->cfg->trace, "conn=%d planted: %" PRIu64 " database writes dropped\n",
			c->id, p->plant_dropped);
	p->plant_dropped = 0;
}

/* ------------------------------------------------------------------ */
/* sqlite3_io_methods                                                  */
/* ------------------------------------------------------------------ */

static struct realvfs_file *file_of(sqlite3_file *file)
{
	return (struct realvfs_file *)file;
}

static int rv_close(sqlite3_file *file)
{
	struct realvfs_file *f = file_of(file);
	struct conn *c;
	/* A close always runs (a release): the gate only marks the op. */
	(void)gate(f->vfs, WH_OP_CLOSE, f->note_name, 0, &c);
	int rc = f->real->pMethods->xClose(f->real);
	note(f->vfs, c, WH_OP_CLOSE, f->note_name, 0, 0, rc);
	free(f->note_name);
	f->note_name = NULL;
	return rc;
}

static int rv_read(sqlite3_file *file, void *buf, int amount, sqlite3_int64 offset)
{
	struct realvfs_file *f = file_of(file);
	struct conn *c;
	int rc = gate(f->vfs, WH_OP_READ, f->note_name, offset, &c);
	if (rc != SQLITE_OK)
		return rc;
	rc = f->real->pMethods->xRead(f->real, buf, amount, offset);
	note(f->vfs, c, WH_OP_READ, f->note_name, offset, amount, rc);
	return rc;
}

static int rv_write(sqlite3_file *file, const void *buf, int amount, sqlite3_int64 offset)
{
	struct realvfs_file *f = file_of(file);
	struct realvfs *v = f->vfs;
	struct conn *c;
	int rc = gate(v, WH_OP_WRITE, f->note_name, offset, &c);
	if (rc != SQLITE_OK)
		return rc;
	if (c != NULL) {
		threads__lock(v->w);
		bool drop = plant_drops(f, c, offset);
		if (drop || (amount > 0 && !quota_allows(f, offset + amount))) {
			rc = drop ? SQLITE_OK : SQLITE_FULL;
			note_locked(v, c, WH_OP_WRITE, f->note_name, offset, amount, rc);
			threads__unlock(v->w);
			return rc;
		}
		threads__unlock(v->w);
	}
	rc = f->real->pMethods->xWrite(f->real, buf, amount, offset);
	note(v, c, WH_OP_WRITE, f->note_name, offset, amount, rc);
	return rc;
}

static int rv_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct realvfs_file *f = file_of(file);
	struct conn *c;
	int rc = gate(f->vfs, WH_OP_TRUNCATE, f->note_name, size, &c);
	if (rc != SQLITE_OK)
		return rc;
	rc = f->real->pMethods->xTruncate(f->real, size);
	note(f->vfs, c, WH_OP_TRUNCATE, f->note_name, size, 0, rc);
	return rc;
}

static int rv_sync(sqlite3_file *file, int flags)
{
	struct realvfs_file *f = file_of(file);
	struct conn *c;
	int rc = gate(f->vfs, WH_OP_SYNC, f->note_name, flags, &c);
	if (rc != SQLITE_OK)
		return rc;
	rc = f->real->pMethods->xSync(f->real, flags);
	note(f->vfs, c, WH_OP_SYNC, f->note_name, flags, 0, rc);
	return rc;
}

static int rv_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct realvfs_file *f = file_of(file);
	struct conn *c;
	int rc = gate(f->vfs, WH_OP_FILESIZE, f->note_name, 0, &c);
	if (rc != SQLITE_OK)
		return rc;
	rc = f->real->pMethods->xFileSize(f->real, size);
	note(f->vfs, c, WH_OP_FILESIZE, f->note_name, rc == SQLITE_OK ? *size : 0, 0, rc);
	return rc;
}

static int rv_lock(sqlite3_file *file, int level)
{
	struct realvfs_file *f = file_of(file);
	struct conn *c;
	WH_ASSERT(level > SQLITE_LOCK_NONE && level <= SQLITE_LOCK_EXCLUSIVE);
	int rc = gate(f->vfs, WH_OP_LOCK, f->note_name, level, &c);
	if (rc != SQLITE_OK)
		return rc;
	/* Planted: granted, never taken. */
	rc = f->vfs->w->cfg->plant == WORLD_PLANT_NO_LOCKS ? SQLITE_OK
							     : f->real->pMethods->xLock(f->real, level);
	/* The unix VFS grants a level at or below the one held as it is. */
	if (rc == SQLITE_OK && level > f->lock_level)
		f->lock_level = level;
	note(f->vfs, c, WH_OP_LOCK, f->note_name, level, f->lock_level, rc);
	return rc;
}

/* A release: the world's lock is held across it and its note (see the
 * top: nothing may be recorded between the two). */
static int rv_unlock(sqlite3_file *file, int level)
{
	struct realvfs_file *f = file_of(file);
	struct realvfs *v = f->vfs;
	struct conn *c;
	/* SQLite only ever unlocks to SHARED or to nothing. */
	WH_ASSERT(level == SQLITE_LOCK_NONE || level == SQLITE_LOCK_SHARED);
	int rc = gate(v, WH_OP_UNLOCK, f->note_name, level, &c);
	if (rc != SQLITE_OK)
		return rc;
	bool planted = v->w->cfg->plant == WORLD_PLANT_NO_LOCKS; /* nothing to let go */
	if (c == NULL) {
		rc = planted ? SQLITE_OK : f->real->pMethods->xUnlock(f->real, level);
		if (rc == SQLITE_OK)
			f->lock_level = level;
		return rc;
	}
	threads__lock(v->w);
	rc = planted ? SQLITE_OK : f->real->pMethods->xUnlock(f->real, level);
	if (rc == SQLITE_OK && level < f->lock_level)
		f->lock_level = level;
	note_locked(v, c, WH_OP_UNLOCK, f->note_name, level, f->lock_level, rc);
	if (f->is_db && f->lock_level < SQLITE_LOCK_RESERVED)
		plant_released(v, c);
	threads__unlock(v->w);
	return rc;
}

static int rv_check_reserved(sqlite3_file *file, int *result)
{
	struct realvfs_file *f = file_of(file);
	struct conn *c;
	*result = 0;
	int rc = gate(f->vfs, WH_OP_CHECK_RESERVED, f->note_name, 0, &c);
	if (rc != SQLITE_OK)
		return rc;
	if (f->vfs->w->cfg->plant != WORLD_PLANT_NO_LOCKS) /* planted: nobody */
		rc = f->real->pMethods->xCheckReservedLock(f->real, result);
	note(f->vfs, c, WH_OP_CHECK_RESERVED, f->note_name, *result, 0, rc);
	return rc;
}

/* File controls, the sector size and the device characteristics are the
 * unix VFS's answers, unnoted: no commit rule reads them, and they are
 * frequent. */
static int rv_file_control(sqlite3_file *file, int op, void *arg)
{
	struct realvfs_file *f = file_of(file);
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int rv_sector_size(sqlite3_file *file)
{
	struct realvfs_file *f = file_of(file);
	return f->real->pMethods->xSectorSize(f->real);
}

static int rv_device_characteristics(sqlite3_file *file)
{
	struct realvfs_file *f = file_of(file);
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int rv_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
	struct realvfs_file *f = file_of(file);
	struct conn *c;
	*out = NULL;
	if (f->real->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMMAP;
	int rc = gate(f->vfs, WH_OP_SHM_MAP, f->note_name, region, &c);
	if (rc != SQLITE_OK)
		return rc;
	rc = f->real->pMethods->xShmMap(f->real, region, size, extend, out);
	note(f->vfs, c, WH_OP_SHM_MAP, f->note_name, region, *out != NULL, rc);
	return rc;
}

/* A shm unlock is a release: held across as rv_unlock. */
static int rv_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct realvfs_file *f = file_of(file);
	struct realvfs *v = f->vfs;
	struct conn *c;
	if (f->real->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMLOCK;
	/* The arg carries the flags, as the simulated VFS's yield does, so
	 * fault_io spares unlocks. */
	int64_t arg = (int64_t)offset | ((int64_t)n << 8) | ((int64_t)flags << 16);
	int rc = gate(v, WH_OP_SHM_LOCK, f->note_name, arg, &c);
	if (rc != SQLITE_OK)
		return rc;
	bool release = (flags & SQLITE_SHM_UNLOCK) != 0 && c != NULL;
	if (release)
		threads__lock(v->w);
	rc = v->w->cfg->plant == WORLD_PLANT_NO_LOCKS ? SQLITE_OK /* planted */
						       : f->real->pMethods->xShmLock(f->real, offset, n, flags);
	if (release) {
		note_locked(v, c, WH_OP_SHM_LOCK, f->note_name, offset, ((int64_t)n << 8) | flags,
			    rc);
		threads__unlock(v->w);
	} else {
		note(v, c, WH_OP_SHM_LOCK, f->note_name, offset, ((int64_t)n << 8) | flags, rc);
	}
	return rc;
}

/* A barrier is a memory fence: delegated, unnoted (it is no I/O). */
static void rv_shm_barrier(sqlite3_file *file)
{
	struct realvfs_file *f = file_of(file);
	if (f->real->pMethods->iVersion >= 2)
		f->real->pMethods->xShmBarrier(f->real);
}

static int rv_shm_unmap(sqlite3_file *file, int delete_flag)
{
	struct realvfs_file *f = file_of(file);
	struct conn *c;
	if (f->real->pMethods->iVersion < 2)
		return SQLITE_OK;
	(void)gate(f->vfs, WH_OP_SHM_UNMAP, f->note_name, delete_flag, &c); /* a release */
	int rc = f->real->pMethods->xShmUnmap(f->real, delete_flag);
	note(f->vfs, c, WH_OP_SHM_UNMAP, f->note_name, delete_flag, 0, rc);
	return rc;
}

/* Memory-mapped reads (mmap_size) go to the unix VFS as they are. */
static int rv_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
	struct realvfs_file *f = file_of(file);
	*out = NULL;
	if (f->real->pMethods->iVersion < 3)
		return SQLITE_OK;
	return f->real->pMethods->xFetch(f->real, offset, amount, out);
}

static int rv_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *p)
{
	struct realvfs_file *f = file_of(file);
	if (f->real->pMethods->iVersion < 3)
		return SQLITE_OK;
	return f->real->pMethods->xUnfetch(f->real, offset, p);
}

static const sqlite3_io_methods realvfs_io = {
	.iVersion = 3,
	.xClose = rv_close,
	.xRead = rv_read,
	.xWrite = rv_write,
	.xTruncate = rv_truncate,
	.xSync = rv_sync,
	.xFileSize = rv_file_size,
	.xLock = rv_lock,
	.xUnlock = rv_unlock,
	.xCheckReservedLock = rv_check_reserved,
	.xFileControl = rv_file_control,
	.xSectorSize = rv_sector_size,
	.xDeviceCharacteristics = rv_device_characteristics,
	.xShmMap = rv_shm_map,
	.xShmLock = rv_shm_lock,
	.xShmBarrier = rv_shm_barrier,
	.xShmUnmap = rv_shm_unmap,
	.xFetch = rv_fetch,
	.xUnfetch = rv_unfetch,
};

/* ------------------------------------------------------------------ */
/* sqlite3_vfs                                                         */
/* ------------------------------------------------------------------ */

static int rv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		   int *out_flags)
{
	struct realvfs *v = vfs_of(vfs);
	struct realvfs_file *f = file_of(file);
	WH_ASSERT(v->base.szOsFile == (int)sizeof *f + v->real->szOsFile);
	/* The real file too: its pMethods says below whether it opened. */
	memset(f, 0, (size_t)v->base.szOsFile);
	f->vfs = v;
	f->real = (sqlite3_file *)(f + 1);
	f->is_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
	if (f->is_db && v->db_name == NULL && name != NULL) {
		/* The setup's open, before any connection thread exists. */
		WH_ASSERT(threads__current() == NULL);
		v->db_name = wh_strdup(name);
	}
	f->note_name = note_name_for(v, name);
	struct conn *c;
	int rc = gate(v, WH_OP_OPEN, f->note_name, flags, &c);
	if (rc == SQLITE_OK)
		rc = v->real->xOpen(v->real, name, f->real, flags, out_flags);
	if (rc == SQLITE_OK || f->real->pMethods != NULL)
		note(v, c, WH_OP_OPEN, f->note_name, flags, 0, rc);
	/* SQLite closes a file whose pMethods is set, even after a failed
	 * open: set exactly when the real file needs its close. */
	f->base.pMethods = f->real->pMethods != NULL ? &realvfs_io : NULL;
	if (f->base.pMethods == NULL) {
		free(f->note_name);
		f->note_name = NULL;
	}
	return rc;
}

static int rv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	struct realvfs *v = vfs_of(vfs);
	char *nn = note_name_for(v, name);
	struct conn *c;
	int rc = gate(v, WH_OP_DELETE, nn, sync_dir, &c);
	if (rc == SQLITE_OK) {
		rc = v->real->xDelete(v->real, name, sync_dir);
		note(v, c, WH_OP_DELETE, nn, sync_dir, 0, rc);
	}
	free(nn);
	return rc;
}

static int rv_access(sqlite3_vfs *vfs, const char *name, int flags, int *result)
{
	struct realvfs *v = vfs_of(vfs);
	char *nn = note_name_for(v, name);
	struct conn *c;
	*result = 0;
	int rc = gate(v, WH_OP_ACCESS, nn, flags, &c);
	if (rc == SQLITE_OK) {
		rc = v->real->xAccess(v->real, name, flags, result);
		note(v, c, WH_OP_ACCESS, nn, flags, *result, rc);
	}
	free(nn);
	return rc;
}

static int rv_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	struct realvfs *v = vfs_of(vfs);
	return v->real->xFullPathname(v->real, name, n, out);
}

static void *rv_dl_open(sqlite3_vfs *vfs, const char *name)
{
	return vfs_of(vfs)->real->xDlOpen(vfs_of(vfs)->real, name);
}

static void rv_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	vfs_of(vfs)->real->xDlError(vfs_of(vfs)->real, n, msg);
}

static void (*rv_dl_sym(sqlite3_vfs *vfs, void *handle, const char *sym))(void)
{
	return vfs_of(vfs)->real->xDlSym(vfs_of(vfs)->real, handle, sym);
}

static void rv_dl_close(sqlite3_vfs *vfs, void *handle)
{
	vfs_of(vfs)->real->xDlClose(vfs_of(vfs)->real, handle);
}

static int rv_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return vfs_of(vfs)->real->xRandomness(vfs_of(vfs)->real, n, out);
}

/* The busy handler's sleep: real time on the real target, none once
 * drained. */
static int rv_sleep(sqlite3_vfs *vfs, int microseconds)
{
	struct realvfs *v = vfs_of(vfs);
	struct conn *c = threads__current();
	if (c != NULL) {
		threads__mark_op(c, WH_OP_SLEEP);
		if (threads__draining(v->w))
			return microseconds;
	}
	int rc = v->real->xSleep(v->real, microseconds);
	note(v, c, WH_OP_SLEEP, NULL, microseconds, 0, SQLITE_OK);
	return rc;
}

static int rv_current_time(sqlite3_vfs *vfs, double *out)
{
	return vfs_of(vfs)->real->xCurrentTime(vfs_of(vfs)->real, out);
}

static int rv_get_last_error(sqlite3_vfs *vfs, int n, char *msg)
{
	return vfs_of(vfs)->real->xGetLastError(vfs_of(vfs)->real, n, msg);
}

static int rv_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return vfs_of(vfs)->real->xCurrentTimeInt64(vfs_of(vfs)->real, out);
}

static int rv_set_system_call(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr p)
{
	return vfs_of(vfs)->real->xSetSystemCall(vfs_of(vfs)->real, name, p);
}

static sqlite3_syscall_ptr rv_get_system_call(sqlite3_vfs *vfs, const char *name)
{
	return vfs_of(vfs)->real->xGetSystemCall(vfs_of(vfs)->real, name);
}

static const char *rv_next_system_call(sqlite3_vfs *vfs, const char *name)
{
	return vfs_of(vfs)->real->xNextSystemCall(vfs_of(vfs)->real, name);
}

int realvfs_create(struct world *w, struct realvfs **out)
{
	*out = NULL;
	sqlite3_vfs *real = w->api->vfs_find("unix");
	if (real == NULL)
		return WH_EINVAL;
	/* The methods this shim calls exist from version 2 of the struct
	 * (xCurrentTimeInt64); the unix VFS is version 3. */
	if (real->iVersion < 2)
		return WH_EINVAL;
	struct realvfs_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return WH_ENOMEM;
	sh->quota_bytes = 0;
	sh->plant_conn = -1;
	sh->plant_dropped = 0;
	sh->plant_first = -1;
	sh->plant_over = false;
	struct realvfs *v = wh_calloc(1, sizeof *v);
	v->real = real;
	v->w = w;
	v->sh = sh;
	v->base = (sqlite3_vfs){
		.iVersion = real->iVersion >= 3 ? 3 : 2,
		.szOsFile = (int)sizeof(struct realvfs_file) + real->szOsFile,
		.mxPathname = real->mxPathname,
		.zName = w->res->vfs_name,
		.pAppData = v,
		.xOpen = rv_open,
		.xDelete = rv_delete,
		.xAccess = rv_access,
		.xFullPathname = rv_full_pathname,
		.xDlOpen = rv_dl_open,
		.xDlError = rv_dl_error,
		.xDlSym = rv_dl_sym,
		.xDlClose = rv_dl_close,
		.xRandomness = rv_randomness,
		.xSleep = rv_sleep,
		.xCurrentTime = rv_current_time,
		.xGetLastError = rv_get_last_error,
		.xCurrentTimeInt64 = rv_current_time_int64,
		.xSetSystemCall = rv_set_system_call,
		.xGetSystemCall = rv_get_system_call,
		.xNextSystemCall = rv_next_system_call,
	};
	if (w->api->vfs_register(&v->base, 0) != SQLITE_OK) {
		munmap(sh, sizeof *sh);
		free(v);
		return WH_EINVAL;
	}
	*out = v;
	return 0;
}

void realvfs_destroy(struct realvfs *v)
{
	if (v == NULL)
		return;
	v->w->api->vfs_unregister(&v->base);
	free(v->db_name);
	munmap(v->sh, sizeof *v->sh);
	free(v);
}
