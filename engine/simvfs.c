/*
 * simvfs.c - the simulated VFS: in-memory files behind a named sqlite3_vfs
 * whose every I/O method is a yield point of the scheduler (see simvfs.h).
 *
 * Purpose. SQLite's file I/O is the unit of interleaving in whopper. Each
 * method first calls hooks.yield(), which parks the calling fiber until the
 * scheduler picks the operation (or returns an injected error, in which case
 * the method returns that code without running), then performs the operation
 * atomically on in-memory state, then reports it through hooks.trace(). The
 * world is single-threaded, so "atomically" needs no mutex: nothing else runs
 * between the yield returning and the method returning.
 *
 * Files. A file is an "inode" found by name (the name exactly as SQLite
 * gives it; xFullPathname copies it unchanged). Every handle opened on a name
 * shares the inode: data, lock state and the shm of a database. Deleting a
 * name unlinks the inode; handles still open keep it alive until the last
 * close (unix unlink semantics), but it can no longer be found by name, so a
 * later open creates a new, empty inode. Anonymous temp files (zName NULL)
 * and SQLITE_OPEN_DELETEONCLOSE files are unlinked right after opening, as
 * the unix VFS does, so they vanish on the last close.
 *
 * Data. Each inode reserves cfg.max_file_bytes of address space once
 * (MAP_NORESERVE: pages cost memory only when touched) so that pointers
 * handed out by xFetch stay valid while the file grows; a write past the
 * reservation fails with SQLITE_FULL. Beside the live data each inode keeps
 * a synced image (what a power loss would leave) and a log of the writes and
 * truncates made since the last xSync. xSync replays the log onto the synced
 * image, so its cost follows what was written, not the file size. Temp
 * files (anonymous or delete-on-close) keep no log: a power loss removes
 * them anyway, and a big sort would otherwise hold its data twice. Each
 * log entry carries a VFS-wide sequence number, so a power loss can replay
 * every file's unsynced mutations in the order they were issued. The sum
 * of all sizes (total_bytes) is kept for the byte quota: a write or
 * truncate that would grow it past the quota fails with SQLITE_FULL before
 * changing anything, as on a full disk; shrinking is always allowed.
 *
 * Lock model (the database file). The unix VFS's in-process rules, exactly:
 * per inode, shared_count handles hold SHARED or more, and at most one
 * handle (the owner) holds RESERVED, PENDING or EXCLUSIVE. The inode's level
 * is the owner's level, else SHARED if shared_count > 0, else NONE. A request
 * from a handle whose own level differs from the inode's level fails with
 * SQLITE_BUSY if the inode is at PENDING or above, or if the request is for
 * more than SHARED. EXCLUSIVE first takes PENDING (unless already held), then
 * fails with SQLITE_BUSY while other SHARED holders remain; the handle keeps
 * PENDING, which turns away new readers until the holders drain. Nothing
 * ever blocks: SQLite's busy handler retries through xSleep. Only live
 * handles are counted: a power loss clears every inode's lock state.
 *
 * Shared memory. Per database inode: regions of the size SQLite asks for
 * (32 KiB), allocated when a handle asks with bExtend, and SQLITE_SHM_NLOCK
 * lock slots, each with a count of SHARED holders and an EXCLUSIVE owner.
 * Each handle keeps its own shared/exclusive masks. When the last handle
 * unmaps, the regions are freed: the unix VFS truncates the -shm file when
 * the next first connection takes its dead-man-switch lock, and a stale
 * wal-index that outlived every connection would produce false findings.
 *
 * Power loss (the model of SQLite's crash-test VFS, decided per sector).
 * For every file that still has a name, the unsynced log is replayed onto
 * the synced image, across files in issue order, with each mutation's fate
 * drawn from the caller's rng. A write is split at sector boundaries
 * (cfg.sector_size); within one sector what reaches the disk is the
 * sector as it was at some moment: a piece is kept only if every earlier
 * unsynced piece of that sector was (a page cache writes back the page as
 * it holds it, every earlier write to it included), so once a piece of a
 * sector is lost or torn, every later piece of it is lost. Each piece is
 *   kept     - its bytes reach the disk,
 *   lost     - the sector keeps what it held before (the synced bytes, or
 *              an earlier unsynced write that was kept),
 *   garbage  - the sector is torn: random bytes over the written piece
 *              with SQLITE_IOCAP_POWERSAFE_OVERWRITE, else over the whole
 *              sector (as far as the file goes), bytes the write never
 *              touched included.
 * Garbage is never drawn when the sector is atomic (SQLITE_IOCAP_ATOMIC,
 * or an ATOMICnnn unit holding whole sectors), nor, under
 * SQLITE_IOCAP_SAFE_APPEND, for a piece reaching past the post-crash end
 * of file; under SAFE_APPEND a piece starting past that end is lost too,
 * so the file grows only over kept appended data, in order. Without
 * SAFE_APPEND the new size may reach the disk without the data (a coin
 * grows the file over lost pieces, which read as zeros). A truncate (any
 * size change) is kept or lost. Under SQLITE_IOCAP_SEQUENTIAL the first
 * piece lost or torn cuts off every later mutation of every file, and
 * xSync makes every file's earlier writes durable, as a flush of an
 * in-order device does. Each crash first draws its odds (keep k/8 with k
 * in 0..8, tear g/16 with g in 0..4) so that runs range from "all lost"
 * to "all kept". The post-crash images then become the live data and the
 * synced images, the logs empty; files without a name (temp files, files
 * deleted while open) empty and are freed when their last handle closes.
 * Directory operations (create, delete) are durable at once.
 *
 * Dead handles. A power loss bumps vfs->generation; a handle from an
 * older generation belongs to the dead process. Its methods neither yield
 * nor run: they fail with their natural extended I/O error (a read
 * zero-fills), except xClose (frees the handle), xUnlock, xShmUnmap,
 * xUnfetch and xShmBarrier, which succeed without effect. A method parked
 * in its yield when the power went resumes dead in the same way; xOpen,
 * xDelete and xAccess parked across a power loss fail too. The crash
 * clears every inode's locks and shm (a new process starts from nothing),
 * but the old regions move to a graveyard instead of being freed: SQLite
 * in the dead connection may still touch them through pointers it holds.
 * The graveyard is freed when the last dead handle closes.
 *
 * Libraries. The VFS is registered in the SQLite library the run targets
 * (cfg.api) and may be registered in one more (simvfs_register_in: the
 * linked SQLite, which reads the target's files for the oracle). Each
 * library links the sqlite3_vfs structs it knows through their pNext, so
 * each registration has a struct of its own (struct simvfs_reg), whose
 * pAppData leads back to the one shared state: same files, locks and
 * hooks whichever library calls. A handle remembers the library that
 * opened it, and strings xFileControl hands back (VFSNAME, TEMPFILENAME)
 * are made by that library's sqlite3_mprintf, since that library frees
 * them with its sqlite3_free.
 *
 * Planted bugs (simvfs_set_bug), for proving the oracle: NO_LOCKS grants
 * every xLock as if the handle were alone (nothing is counted on the
 * inode), NO_SHM_LOCKS grants every xShmLock and records nothing,
 * LYING_FSYNC makes xSync a successful no-op.
 *
 * Invariants (asserted where they are written and where they are read):
 * - bytes of the live data at and past `size` are zero (ftruncate and
 *   file growth read back zeros);
 * - after xSync the synced image has the live size and the log is empty;
 * - owner != NULL implies owner->lock > SHARED, and every handle above NONE
 *   is counted in shared_count; a handle above SHARED is the owner;
 * - shm shared_count[i] equals the number of attached handles whose shared
 *   mask has bit i; excl_owner[i] is the only handle with exclusive bit i,
 *   and then shared_count[i] is 0;
 * - total_bytes is the sum of every inode's size (rechecked at each
 *   power loss and at destroy);
 * - log seqs are unique and increase in issue order, so the crash replay
 *   has one order;
 * - after a power loss every inode's size equals its synced size, its log
 *   is empty, and no lock or shm state is held;
 * - a handle's generation is never newer than the VFS's; the dead handles
 *   are dead_open_count of the open ones, and the shm graveyard is empty
 *   whenever that count is 0;
 * - nothing is iterated by pointer value or hash order: inodes live in a
 *   queue in creation order, locks are per-slot arrays.
 *
 * Trace arguments (a, b) per operation, for whoever reads the trace:
 *   OPEN  flags, out-flags      CLOSE 0, 0         DELETE dirSync, 0
 *   ACCESS flags, result        FULLPATH 0, 0      READ/WRITE offset, amount
 *   TRUNCATE size, 0            SYNC flags, bytes made durable
 *   FILESIZE size, 0            LOCK/UNLOCK requested level, level after
 *   CHECK_RESERVED result, 0    FILE_CONTROL op, 0
 *   SHM_MAP region, mapped(0/1) SHM_LOCK offset, (n << 8) | flags
 *   SHM_BARRIER 0, 0            SHM_UNMAP deleteFlag, 0
 *   FETCH offset, bytes granted (0: caller falls back to xRead)
 *   UNFETCH offset, p != NULL   SLEEP microseconds, 0
 * The yield argument is the first of these where that is an input known
 * before running (flags, offset, size, level, slot, region, op, dirSync,
 * deleteFlag, microseconds), else 0 (CLOSE, FULLPATH, FILESIZE,
 * CHECK_RESERVED, SHM_BARRIER); SHM_LOCK passes ofst | n << 8 | flags << 16
 * so that an injector can tell unlocks apart. VFS-level calls on a name
 * (xOpen, xDelete, xAccess, xFullPathname) pass that name as `file`, so a
 * fault injector can single out journals or WAL files; xSleep passes NULL.
 * An operation refused by the yield hook is not traced (it did not run),
 * except xClose, xShmUnmap and xUnfetch, which always run because SQLite
 * ignores their result, and xShmBarrier and xSleep, which have no result to
 * carry the code; those are traced with the injected code. A call on a dead
 * handle, and an xOpen, xDelete or xAccess parked across a power loss, is
 * traced with the code it returns (b = 0).
 */
#include "simvfs.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wh.h"

/* ------------------------------------------------------------------------
 * Constants and structures
 * --------------------------------------------------------------------- */

#define SIMVFS_PATHNAME_MAX 512
/* Julian day of 2000-01-01 00:00:00 UTC in milliseconds (2451544.5 days):
 * the simulated epoch, so 'now' in SQL is reproducible. */
#define SIMVFS_EPOCH_JD_MS 211813444800000LL
#define SIMVFS_MS_PER_DAY 86400000.0
/* The open-flag bits that say what a file is (main database, WAL...). */
#define SIMVFS_OPEN_TYPE_MASK                                               \
	(SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_TEMP_DB |                        \
	 SQLITE_OPEN_TRANSIENT_DB | SQLITE_OPEN_MAIN_JOURNAL |               \
	 SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_SUBJOURNAL |                 \
	 SQLITE_OPEN_SUPER_JOURNAL | SQLITE_OPEN_WAL)

_Static_assert(WH_OP__COUNT <= 32, "yield_mask has one bit per op kind");
_Static_assert(SQLITE_SHM_NLOCK <= 16, "shm lock masks are 16 bits");

enum simvfs_log_kind {
	SIMVFS_LOG_WRITE,    /* bytes written at offset */
	SIMVFS_LOG_TRUNCATE, /* size set to offset (shrink or grow) */
};

/* One mutation of the live data not yet made durable by xSync. */
struct simvfs_log_entry {
	enum simvfs_log_kind kind; /* write or truncate */
	int64_t offset;            /* write: first byte; truncate: new size */
	int64_t amount;            /* write: bytes; truncate: 0 */
	size_t bytes_at;           /* write: where its bytes sit in log_bytes */
	uint64_t seq;              /* VFS-wide issue order (the crash model
				      replays all files in this order) */
};

struct simvfs_file;

/* A file's identity: what every handle on one name shares. */
struct simvfs_inode {
	struct wh_queue link;  /* in simvfs.inodes, creation order */
	char *name;            /* key while linked; kept for traces after */
	int open_type;         /* SQLITE_OPEN_* type bits of the first open */
	bool linked;           /* findable by name (not deleted) */
	int open_count;        /* handles open on this inode */

	/* live data */
	unsigned char *data;   /* max_file_bytes reservation (mmap) */
	int64_t size;          /* current size in bytes */

	/* durability (only when track_durability) */
	bool track_durability; /* false for temp files: they die at a crash */
	unsigned char *synced; /* image as of the last xSync (malloc) */
	int64_t synced_size;   /* bytes valid in synced */
	size_t synced_cap;     /* bytes allocated for synced */
	struct simvfs_log_entry *log; /* mutations since the last xSync */
	size_t log_count;      /* entries used in log */
	size_t log_cap;        /* entries allocated in log */
	unsigned char *log_bytes; /* data of the logged writes, appended */
	size_t log_bytes_len;  /* bytes used in log_bytes */
	size_t log_bytes_cap;  /* bytes allocated for log_bytes */
	int64_t unsynced_bytes; /* sum of logged write amounts */

	/* database file locks */
	int shared_count;      /* handles holding SHARED or more */
	struct simvfs_file *owner; /* handle above SHARED, or NULL */

	/* shared memory (meaningful for a database file only) */
	unsigned char **shm_regions; /* shm_region_count separate blocks */
	int shm_region_count;  /* regions allocated */
	int shm_region_bytes;  /* size of each region, fixed while mapped */
	int shm_map_count;     /* handles attached to the shm */
	int shm_shared_count[SQLITE_SHM_NLOCK]; /* SHARED holders per slot */
	struct simvfs_file *shm_excl_owner[SQLITE_SHM_NLOCK]; /* or NULL */
};

/* SQLite allocates szOsFile bytes per open file; this is that space. */
struct simvfs_file {
	sqlite3_file base;          /* must be first: SQLite's view */
	struct simvfs *vfs;         /* owning VFS */
	const struct wh_sqlapi *api; /* the library that opened it: what it
					allocates for that library (xFileControl
					strings) that library frees */
	struct simvfs_inode *inode; /* the file; NULL once closed */
	uint64_t generation;        /* vfs->generation at open; older: dead */
	int open_flags;             /* SQLITE_OPEN_* given to xOpen */
	int lock;                   /* SQLITE_LOCK_* held on the inode */
	bool reserved_byte;         /* holds the RESERVED byte, as unix
				       does from a RESERVED lock until it
				       drops to SHARED (an EXCLUSIVE taken
				       straight from SHARED never has it) */
	bool shm_attached;          /* counted in inode->shm_map_count */
	uint16_t shm_shared_mask;   /* shm slots held SHARED */
	uint16_t shm_excl_mask;     /* shm slots held EXCLUSIVE */
	int fetch_count;            /* xFetch pointers not yet unfetched */
	int64_t mmap_limit_bytes;   /* SQLITE_FCNTL_MMAP_SIZE; 0: no xFetch */
	int chunk_bytes;            /* SQLITE_FCNTL_CHUNK_SIZE; 0: none */
	bool persist_wal;           /* SQLITE_FCNTL_PERSIST_WAL */
	bool powersafe_overwrite;   /* SQLITE_FCNTL_POWERSAFE_OVERWRITE */
};

/* One registration of the VFS in one SQLite library. Each library links
 * the structs it knows through their pNext field, so a struct belongs to
 * exactly one library: the same files seen from a second library need a
 * second struct (simvfs_register_in). */
struct simvfs_reg {
	sqlite3_vfs base;           /* the struct that library registered */
	struct simvfs *vfs;         /* base.pAppData points at this reg */
	const struct wh_sqlapi *api; /* that library */
};

#define SIMVFS_REGS_MAX 2

struct simvfs {
	struct simvfs_reg regs[SIMVFS_REGS_MAX]; /* regs[0]: cfg.api */
	int reg_count;              /* registrations in use */
	char *name;                 /* every base.zName points here */
	struct simvfs_config cfg;   /* copied at create */
	struct simvfs_hooks hooks;  /* copied at create */
	struct wh_queue inodes;     /* live inodes, creation order */
	int inode_count;            /* entries in inodes */
	int open_count;             /* open handles, all inodes, dead or not */
	uint64_t temp_seq;          /* last number used for a temp name */
	size_t page_bytes;          /* OS page size, for madvise */

	/* faults */
	enum simvfs_bug bug;        /* planted defect, or SIMVFS_BUG_NONE */
	uint64_t quota_bytes;       /* cap on total_bytes; 0: none */
	uint64_t total_bytes;       /* sum of every inode's size */
	uint64_t log_seq;           /* last seq given to a log entry */

	/* power loss */
	uint64_t generation;        /* power losses so far */
	int dead_open_count;        /* open handles from an older generation */
	unsigned char **shm_graveyard; /* old regions dead handles may touch */
	size_t graveyard_count;     /* entries used in shm_graveyard */
	size_t graveyard_cap;       /* entries allocated in shm_graveyard */
};

static const sqlite3_io_methods simvfs_io_methods;

/* ------------------------------------------------------------------------
 * Hook plumbing
 * --------------------------------------------------------------------- */

/* Yield to the scheduler if this kind of operation is a yield point.
 * Returns SQLITE_OK, or the code the method must return without running. */
static int simvfs_yield(struct simvfs *vfs, enum wh_op_kind kind,
			const char *file, int64_t arg)
{
	WH_ASSERT(kind < WH_OP__COUNT);
	if ((vfs->cfg.yield_mask & (1u << kind)) == 0 ||
	    vfs->hooks.yield == NULL)
		return SQLITE_OK;
	return vfs->hooks.yield(vfs->hooks.ctx, kind, file, arg);
}

static void simvfs_trace(struct simvfs *vfs, enum wh_op_kind kind,
			 const char *file, int64_t a, int64_t b, int rc)
{
	if (vfs->hooks.trace != NULL)
		vfs->hooks.trace(vfs->hooks.ctx, kind, file, a, b, rc);
}

static uint64_t simvfs_now_us(struct simvfs *vfs)
{
	/* No hook means a clock stopped at the epoch: still deterministic. */
	return vfs->hooks.now_us ? vfs->hooks.now_us(vfs->hooks.ctx) : 0;
}

static struct simvfs_reg *simvfs_reg_of(sqlite3_vfs *base)
{
	struct simvfs_reg *reg = base->pAppData;
	WH_ASSERT(reg != NULL);
	WH_ASSERT(&reg->base == base);
	return reg;
}

static struct simvfs *simvfs_of(sqlite3_vfs *base)
{
	struct simvfs *vfs = simvfs_reg_of(base)->vfs;
	WH_ASSERT(vfs != NULL);
	return vfs;
}

static struct simvfs_file *simvfs_file_of(sqlite3_file *base)
{
	struct simvfs_file *f = (struct simvfs_file *)base;
	WH_ASSERT(base->pMethods == &simvfs_io_methods);
	WH_ASSERT(f->inode != NULL);
	return f;
}

/* ------------------------------------------------------------------------
 * Inode table
 *
 * A linear scan in creation order: a run has a handful of files (database,
 * journal or WAL, a few temp files), and the order is deterministic.
 * --------------------------------------------------------------------- */

static struct simvfs_inode *inode_find(struct simvfs *vfs, const char *name)
{
	struct wh_queue *q;
	int seen = 0;
	WH_QUEUE_FOREACH(q, &vfs->inodes)
	{
		struct simvfs_inode *ino =
			wh_container_of(q, struct simvfs_inode, link);
		seen++;
		WH_ASSERT(seen <= vfs->inode_count);
		if (ino->linked && strcmp(ino->name, name) == 0)
			return ino;
	}
	return NULL;
}

/* Create a linked, empty inode. Returns NULL if the address space for its
 * data cannot be reserved (the caller reports SQLITE_NOMEM). */
static struct simvfs_inode *inode_create(struct simvfs *vfs, const char *name,
					 int open_type, bool track_durability)
{
	void *data = mmap(NULL, (size_t)vfs->cfg.max_file_bytes,
			  PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (data == MAP_FAILED)
		return NULL;
	WH_ASSERT(inode_find(vfs, name) == NULL);
	struct simvfs_inode *ino = wh_calloc(1, sizeof(*ino));
	ino->name = wh_strdup(name);
	ino->open_type = open_type & SIMVFS_OPEN_TYPE_MASK;
	ino->linked = true;
	ino->track_durability = track_durability;
	ino->data = data;
	wh_queue_insert_tail(&vfs->inodes, &ino->link);
	vfs->inode_count++;
	return ino;
}

static void inode_free(struct simvfs *vfs, struct simvfs_inode *ino)
{
	WH_ASSERT_EQ(ino->open_count, 0);
	WH_ASSERT_EQ(ino->shm_map_count, 0);
	WH_ASSERT(ino->shm_regions == NULL);
	WH_ASSERT(vfs->inode_count > 0);
	WH_ASSERT(vfs->total_bytes >= (uint64_t)ino->size);
	vfs->total_bytes -= (uint64_t)ino->size;
	wh_queue_remove(&ino->link);
	vfs->inode_count--;
	munmap(ino->data, (size_t)vfs->cfg.max_file_bytes);
	free(ino->synced);
	free(ino->log);
	free(ino->log_bytes);
	free(ino->name);
	free(ino);
}

/* Remove the name; the inode lives on while handles are open. */
static void inode_unlink(struct simvfs *vfs, struct simvfs_inode *ino)
{
	WH_ASSERT(ino->linked);
	ino->linked = false;
	if (ino->open_count == 0)
		inode_free(vfs, ino);
}

/* A name for an anonymous temp file that no live file uses. The bound holds
 * because at most inode_count names can be taken. */
static char *temp_name_make(struct simvfs *vfs)
{
	char buf[64];
	for (int tries = 0; tries <= vfs->inode_count; tries++) {
		vfs->temp_seq++;
		snprintf(buf, sizeof(buf), "/simvfs-temp/%llu",
			 (unsigned long long)vfs->temp_seq);
		if (inode_find(vfs, buf) == NULL)
			return wh_strdup(buf);
	}
	WH_UNREACHABLE();
}

/* ------------------------------------------------------------------------
 * File data and the durability log
 * --------------------------------------------------------------------- */

/* Zero live bytes [from, to), keeping the "zero past size" invariant.
 * Whole pages are returned to the kernel (they read back as zeros), so
 * shrinking a big file does not keep its memory. */
static void data_zero(struct simvfs *vfs, struct simvfs_inode *ino,
		      int64_t from, int64_t to)
{
	WH_ASSERT(0 <= from);
	WH_ASSERT(from <= to);
	WH_ASSERT((uint64_t)to <= vfs->cfg.max_file_bytes);
	size_t page = vfs->page_bytes;
	size_t lo = ((size_t)from + page - 1) / page * page;
	size_t hi = (size_t)to / page * page;
	if (hi <= lo || hi - lo < 4 * page ||
	    madvise(ino->data + lo, hi - lo, MADV_DONTNEED) != 0) {
		memset(ino->data + from, 0, (size_t)(to - from));
		return;
	}
	memset(ino->data + from, 0, lo - (size_t)from);
	memset(ino->data + hi, 0, (size_t)to - hi);
}

static void log_append(struct simvfs *vfs, struct simvfs_inode *ino,
		       enum simvfs_log_kind kind, int64_t offset,
		       const void *bytes, int64_t amount)
{
	if (!ino->track_durability)
		return;
	if (ino->log_count == ino->log_cap) {
		ino->log_cap = ino->log_cap ? 2 * ino->log_cap : 16;
		ino->log = wh_realloc(ino->log, ino->log_cap * sizeof(*ino->log));
	}
	struct simvfs_log_entry *e = &ino->log[ino->log_count++];
	e->kind = kind;
	e->offset = offset;
	e->amount = amount;
	e->bytes_at = ino->log_bytes_len;
	e->seq = ++vfs->log_seq;
	if (kind != SIMVFS_LOG_WRITE)
		return;
	WH_ASSERT(amount > 0);
	size_t need = ino->log_bytes_len + (size_t)amount;
	if (need > ino->log_bytes_cap) {
		size_t cap = ino->log_bytes_cap ? 2 * ino->log_bytes_cap : 65536;
		while (cap < need)
			cap *= 2;
		ino->log_bytes = wh_realloc(ino->log_bytes, cap);
		ino->log_bytes_cap = cap;
	}
	memcpy(ino->log_bytes + ino->log_bytes_len, bytes, (size_t)amount);
	ino->log_bytes_len = need;
	ino->unsynced_bytes += amount;
}

/* Grow the synced image's allocation to at least `n` bytes. */
static void synced_reserve(struct simvfs *vfs, struct simvfs_inode *ino,
			   int64_t n)
{
	WH_ASSERT((uint64_t)n <= vfs->cfg.max_file_bytes);
	if ((size_t)n <= ino->synced_cap)
		return;
	size_t cap = ino->synced_cap ? 2 * ino->synced_cap : 65536;
	if (cap < (size_t)n)
		cap = (size_t)n;
	if (cap > vfs->cfg.max_file_bytes)
		cap = (size_t)vfs->cfg.max_file_bytes;
	ino->synced = wh_realloc(ino->synced, cap);
	ino->synced_cap = cap;
}

/* Set the synced image's size; growth reads as zeros, like ftruncate. */
static void synced_resize(struct simvfs *vfs, struct simvfs_inode *ino,
			  int64_t n)
{
	if (n > ino->synced_size) {
		synced_reserve(vfs, ino, n);
		memset(ino->synced + ino->synced_size, 0,
		       (size_t)(n - ino->synced_size));
	}
	ino->synced_size = n;
}

/* Replay the log onto the synced image and empty it. Returns the bytes
 * made durable. */
static int64_t durability_sync(struct simvfs *vfs, struct simvfs_inode *ino)
{
	if (!ino->track_durability) {
		WH_ASSERT_EQ(ino->log_count, 0);
		return 0;
	}
	int64_t durable = ino->unsynced_bytes;
	for (size_t i = 0; i < ino->log_count; i++) {
		const struct simvfs_log_entry *e = &ino->log[i];
		if (e->kind == SIMVFS_LOG_TRUNCATE) {
			synced_resize(vfs, ino, e->offset);
			continue;
		}
		WH_ASSERT(e->kind == SIMVFS_LOG_WRITE);
		WH_ASSERT(e->bytes_at + (size_t)e->amount <= ino->log_bytes_len);
		int64_t end = e->offset + e->amount;
		if (e->offset > ino->synced_size)
			synced_resize(vfs, ino, e->offset);
		synced_reserve(vfs, ino, end);
		memcpy(ino->synced + e->offset, ino->log_bytes + e->bytes_at,
		       (size_t)e->amount);
		if (end > ino->synced_size)
			ino->synced_size = end;
	}
	ino->log_count = 0;
	ino->log_bytes_len = 0;
	ino->unsynced_bytes = 0;
	/* The log holds every mutation in order, so replaying it must land
	 * on the live size. */
	WH_ASSERT_EQ(ino->synced_size, ino->size);
	return durable;
}

/* Set the live size, keeping the VFS-wide total (the quota's measure) in
 * step. The caller keeps the bytes past the new size zero. */
static void inode_size_set(struct simvfs *vfs, struct simvfs_inode *ino,
			   int64_t size)
{
	WH_ASSERT(size >= 0);
	WH_ASSERT(vfs->total_bytes >= (uint64_t)ino->size);
	vfs->total_bytes = vfs->total_bytes - (uint64_t)ino->size +
			   (uint64_t)size;
	ino->size = size;
}

/* True if the file may become `size` bytes long under the quota. Staying
 * the same or shrinking is always allowed, even over the quota. */
static bool quota_allows(const struct simvfs *vfs,
			 const struct simvfs_inode *ino, int64_t size)
{
	if (vfs->quota_bytes == 0 || size <= ino->size)
		return true;
	return vfs->total_bytes + (uint64_t)(size - ino->size) <=
	       vfs->quota_bytes;
}

/* Set the live size (shrink or grow) and log it. */
static void data_truncate(struct simvfs *vfs, struct simvfs_inode *ino,
			  int64_t size)
{
	WH_ASSERT(size >= 0);
	WH_ASSERT((uint64_t)size <= vfs->cfg.max_file_bytes);
	if (size < ino->size)
		data_zero(vfs, ino, size, ino->size);
	/* Growth needs no work: bytes past the old size are already zero. */
	inode_size_set(vfs, ino, size);
	log_append(vfs, ino, SIMVFS_LOG_TRUNCATE, size, NULL, 0);
}

static void data_write(struct simvfs *vfs, struct simvfs_inode *ino,
		       const void *buf, int64_t amount, int64_t offset)
{
	WH_ASSERT(offset >= 0);
	WH_ASSERT(amount > 0);
	WH_ASSERT(quota_allows(vfs, ino, offset + amount));
	memcpy(ino->data + offset, buf, (size_t)amount);
	if (offset + amount > ino->size)
		inode_size_set(vfs, ino, offset + amount);
	log_append(vfs, ino, SIMVFS_LOG_WRITE, offset, buf, amount);
}

/* Copy what exists; SQLite requires the rest zero-filled and reported as a
 * short read. */
static int data_read(const struct simvfs_inode *ino, void *buf, int64_t amount,
		     int64_t offset)
{
	WH_ASSERT(offset >= 0);
	WH_ASSERT(amount >= 0);
	int64_t avail = ino->size - offset;
	if (avail < 0)
		avail = 0;
	if (avail > amount)
		avail = amount;
	/* Guarded: past EOF the offset may lie beyond the reservation. */
	if (avail > 0)
		memcpy(buf, ino->data + offset, (size_t)avail);
	if (avail == amount)
		return SQLITE_OK;
	memset((unsigned char *)buf + avail, 0, (size_t)(amount - avail));
	return SQLITE_IOERR_SHORT_READ;
}

/* ------------------------------------------------------------------------
 * Database file locks (unix in-process semantics; see the top comment)
 * --------------------------------------------------------------------- */

static int inode_lock_level(const struct simvfs_inode *ino)
{
	if (ino->owner != NULL) {
		WH_ASSERT(ino->owner->lock > SQLITE_LOCK_SHARED);
		return ino->owner->lock;
	}
	return ino->shared_count > 0 ? SQLITE_LOCK_SHARED : SQLITE_LOCK_NONE;
}

static int lock_acquire(struct simvfs_file *f, int level)
{
	struct simvfs_inode *ino = f->inode;
	if (f->lock >= level)
		return SQLITE_OK;
	/* SQLite's locking protocol, as the unix VFS asserts it. */
	WH_ASSERT(level != SQLITE_LOCK_PENDING);
	WH_ASSERT(f->lock != SQLITE_LOCK_NONE || level == SQLITE_LOCK_SHARED);
	WH_ASSERT(level != SQLITE_LOCK_RESERVED ||
		  f->lock == SQLITE_LOCK_SHARED);
	if (f->vfs->bug == SIMVFS_BUG_NO_LOCKS) {
		/* Planted: as if this handle were alone on the file. The
		 * inode's counts stay untouched, so release needs no care. */
		f->lock = level;
		return SQLITE_OK;
	}

	int ino_level = inode_lock_level(ino);
	/* Another handle holds something that precludes the request. */
	if (f->lock != ino_level &&
	    (ino_level >= SQLITE_LOCK_PENDING || level > SQLITE_LOCK_SHARED))
		return SQLITE_BUSY;

	if (level == SQLITE_LOCK_SHARED) {
		WH_ASSERT(ino_level <= SQLITE_LOCK_RESERVED);
		f->lock = SQLITE_LOCK_SHARED;
		ino->shared_count++;
		return SQLITE_OK;
	}

	/* RESERVED or EXCLUSIVE: f holds SHARED or more and nobody else is
	 * above SHARED (else the check above returned). */
	WH_ASSERT(f->lock >= SQLITE_LOCK_SHARED);
	WH_ASSERT(ino->owner == NULL || ino->owner == f);
	if (level == SQLITE_LOCK_EXCLUSIVE && f->lock < SQLITE_LOCK_PENDING) {
		f->lock = SQLITE_LOCK_PENDING;
		ino->owner = f;
	}
	if (level == SQLITE_LOCK_EXCLUSIVE && ino->shared_count > 1)
		return SQLITE_BUSY; /* keeps PENDING: new readers wait */
	f->lock = level;
	ino->owner = f;
	if (level == SQLITE_LOCK_RESERVED)
		f->reserved_byte = true;
	return SQLITE_OK;
}

static void lock_release(struct simvfs_file *f, int level)
{
	struct simvfs_inode *ino = f->inode;
	WH_ASSERT(level == SQLITE_LOCK_NONE || level == SQLITE_LOCK_SHARED);
	if (f->lock <= level)
		return;
	if (f->vfs->bug == SIMVFS_BUG_NO_LOCKS) {
		f->lock = level; /* nothing was counted on the inode */
		return;
	}
	WH_ASSERT(ino->shared_count > 0);
	if (f->lock > SQLITE_LOCK_SHARED) {
		WH_ASSERT(ino->owner == f);
		ino->owner = NULL;
		f->lock = SQLITE_LOCK_SHARED;
		f->reserved_byte = false;
	}
	if (level == SQLITE_LOCK_NONE) {
		ino->shared_count--;
		f->lock = SQLITE_LOCK_NONE;
	}
}

/* ------------------------------------------------------------------------
 * Shared memory
 * --------------------------------------------------------------------- */

static void shm_attach(struct simvfs_file *f)
{
	if (f->shm_attached)
		return;
	f->shm_attached = true;
	f->shm_shared_mask = 0;
	f->shm_excl_mask = 0;
	f->inode->shm_map_count++;
}

/* Free every region and reset the slots: nobody maps the shm any more. */
static void shm_reset(struct simvfs_inode *ino)
{
	WH_ASSERT_EQ(ino->shm_map_count, 0);
	for (int i = 0; i < ino->shm_region_count; i++)
		free(ino->shm_regions[i]);
	free(ino->shm_regions);
	ino->shm_regions = NULL;
	ino->shm_region_count = 0;
	ino->shm_region_bytes = 0;
	for (int i = 0; i < SQLITE_SHM_NLOCK; i++) {
		WH_ASSERT_EQ(ino->shm_shared_count[i], 0);
		WH_ASSERT(ino->shm_excl_owner[i] == NULL);
	}
}

static void shm_unlock_mask(struct simvfs_file *f, uint16_t mask)
{
	struct simvfs_inode *ino = f->inode;
	for (int i = 0; i < SQLITE_SHM_NLOCK; i++) {
		uint16_t bit = (uint16_t)(1u << i);
		if ((mask & bit) == 0)
			continue;
		if (f->shm_shared_mask & bit) {
			WH_ASSERT(ino->shm_shared_count[i] > 0);
			ino->shm_shared_count[i]--;
		}
		if (f->shm_excl_mask & bit) {
			WH_ASSERT(ino->shm_excl_owner[i] == f);
			ino->shm_excl_owner[i] = NULL;
		}
	}
	f->shm_shared_mask &= (uint16_t)~mask;
	f->shm_excl_mask &= (uint16_t)~mask;
}

/* Drop this handle's mapping and its slot locks; the last one out resets
 * the content. */
static void shm_detach(struct simvfs_file *f)
{
	struct simvfs_inode *ino = f->inode;
	if (!f->shm_attached)
		return;
	shm_unlock_mask(f, (uint16_t)((1u << SQLITE_SHM_NLOCK) - 1u));
	f->shm_attached = false;
	WH_ASSERT(ino->shm_map_count > 0);
	ino->shm_map_count--;
	if (ino->shm_map_count == 0)
		shm_reset(ino);
}

static int shm_lock_apply(struct simvfs_file *f, int ofst, int n, int flags)
{
	struct simvfs_inode *ino = f->inode;
	WH_ASSERT(ofst >= 0);
	WH_ASSERT(n >= 1);
	WH_ASSERT(ofst + n <= SQLITE_SHM_NLOCK);
	uint16_t mask = (uint16_t)(((1u << n) - 1u) << ofst);

	/* Planted: grant everything, record nothing (so unlocking has
	 * nothing to release either). */
	if (f->vfs->bug == SIMVFS_BUG_NO_SHM_LOCKS)
		return SQLITE_OK;
	if (flags & SQLITE_SHM_UNLOCK) {
		shm_unlock_mask(f, mask);
		return SQLITE_OK;
	}
	if (flags & SQLITE_SHM_SHARED) {
		/* An exclusive holder, this handle included, refuses it (as
		 * unix does: its loop does not skip the caller). */
		for (int i = ofst; i < ofst + n; i++)
			if (ino->shm_excl_owner[i] != NULL)
				return SQLITE_BUSY;
		for (int i = ofst; i < ofst + n; i++) {
			uint16_t bit = (uint16_t)(1u << i);
			if ((f->shm_shared_mask & bit) == 0)
				ino->shm_shared_count[i]++;
		}
		f->shm_shared_mask |= mask;
		return SQLITE_OK;
	}
	WH_ASSERT(flags & SQLITE_SHM_EXCLUSIVE);
	/* Any holder at all, this handle included, refuses it. */
	for (int i = ofst; i < ofst + n; i++)
		if (ino->shm_excl_owner[i] != NULL ||
		    ino->shm_shared_count[i] > 0)
			return SQLITE_BUSY;
	for (int i = ofst; i < ofst + n; i++)
		ino->shm_excl_owner[i] = f;
	f->shm_excl_mask |= mask;
	return SQLITE_OK;
}

/* ------------------------------------------------------------------------
 * Dead handles
 *
 * A power loss bumps vfs->generation; a handle opened under an older one
 * belongs to the dead process. Its fields (lock, shm masks, fetch count)
 * are frozen as they were and counted nowhere: the crash reset every
 * inode's lock and shm state, so nothing it does may touch them.
 * --------------------------------------------------------------------- */

static bool file_is_dead(const struct simvfs_file *f)
{
	WH_ASSERT(f->generation <= f->vfs->generation);
	return f->generation != f->vfs->generation;
}

/* What a dead handle's method returns: SQLITE_OK for the methods whose
 * failure SQLite ignores or cannot see (they succeed without effect), the
 * method's natural I/O error for the rest. */
static int dead_code(enum wh_op_kind kind)
{
	switch (kind) {
	case WH_OP_CLOSE:
	case WH_OP_UNLOCK:
	case WH_OP_SHM_BARRIER:
	case WH_OP_SHM_UNMAP:
	case WH_OP_UNFETCH:
		return SQLITE_OK;
	case WH_OP_FILE_CONTROL:
		return SQLITE_IOERR;
	default: {
		int rc = simvfs_fault_code(kind);
		WH_ASSERT(rc != SQLITE_OK);
		return rc;
	}
	}
}

/* Free the old shm regions once no dead handle is left to touch them. */
static void graveyard_release(struct simvfs *vfs)
{
	WH_ASSERT_EQ(vfs->dead_open_count, 0);
	for (size_t i = 0; i < vfs->graveyard_count; i++)
		free(vfs->shm_graveyard[i]);
	free(vfs->shm_graveyard);
	vfs->shm_graveyard = NULL;
	vfs->graveyard_count = 0;
	vfs->graveyard_cap = 0;
}

/* The gate of every sqlite3_io_methods entry that yields. A live handle
 * yields; if power was lost while it was parked there, it died before the
 * method ran. A dead handle neither yields nor runs. Either way *dead is
 * set, the call is traced with the dead code and that code returned.
 * Otherwise returns the yield's answer: SQLITE_OK to run, or an injected
 * fault (not traced here). */
static int file_enter(struct simvfs_file *f, enum wh_op_kind kind,
		      int64_t arg, bool *dead)
{
	int rc = SQLITE_OK;
	*dead = file_is_dead(f);
	if (!*dead) {
		rc = simvfs_yield(f->vfs, kind, f->inode->name, arg);
		*dead = file_is_dead(f);
	}
	if (!*dead)
		return rc;
	rc = dead_code(kind);
	simvfs_trace(f->vfs, kind, f->inode->name, arg, 0, rc);
	return rc;
}

/* ------------------------------------------------------------------------
 * sqlite3_io_methods
 * --------------------------------------------------------------------- */

static int simvfs_io_close(sqlite3_file *file)
{
	struct simvfs_file *f = simvfs_file_of(file);
	struct simvfs *vfs = f->vfs;
	struct simvfs_inode *ino = f->inode;
	/* sqlite3OsClose forgets the handle whatever xClose returns, so the
	 * close runs even when the hook injects a fault; the code is still
	 * returned (and traced) so the fault is visible. */
	bool dead;
	int rc = file_enter(f, WH_OP_CLOSE, 0, &dead);
	if (!dead) {
		/* SQLite unmaps the shm before closing; detaching here as
		 * well keeps a broken caller from pinning a stale
		 * wal-index. */
		shm_detach(f);
		lock_release(f, SQLITE_LOCK_NONE);
		simvfs_trace(vfs, WH_OP_CLOSE, ino->name, 0, 0, rc);
	}
	f->inode = NULL;
	WH_ASSERT(ino->open_count > 0);
	WH_ASSERT(vfs->open_count > 0);
	ino->open_count--;
	vfs->open_count--;
	if (dead) {
		WH_ASSERT(vfs->dead_open_count > 0);
		vfs->dead_open_count--;
		if (vfs->dead_open_count == 0)
			graveyard_release(vfs);
	}
	if (ino->open_count == 0 && !ino->linked)
		inode_free(vfs, ino);
	return rc;
}

static int simvfs_io_read(sqlite3_file *file, void *buf, int amount,
			  sqlite3_int64 offset)
{
	struct simvfs_file *f = simvfs_file_of(file);
	bool dead;
	int rc = file_enter(f, WH_OP_READ, offset, &dead);
	if (dead || rc != SQLITE_OK) {
		/* A refused read hands back zeros, never stale bytes. */
		if (amount > 0)
			memset(buf, 0, (size_t)amount);
		return rc;
	}
	rc = data_read(f->inode, buf, amount, offset);
	simvfs_trace(f->vfs, WH_OP_READ, f->inode->name, offset, amount, rc);
	return rc;
}

static int simvfs_io_write(sqlite3_file *file, const void *buf, int amount,
			   sqlite3_int64 offset)
{
	struct simvfs_file *f = simvfs_file_of(file);
	bool dead;
	int rc = file_enter(f, WH_OP_WRITE, offset, &dead);
	if (dead || rc != SQLITE_OK)
		return rc;
	if (f->open_flags & SQLITE_OPEN_READONLY)
		rc = SQLITE_IOERR_WRITE; /* EBADF under unix */
	else if (offset < 0 || amount < 0 ||
		 (uint64_t)offset + (uint64_t)amount > f->vfs->cfg.max_file_bytes)
		rc = SQLITE_FULL;
	else if (amount > 0 && !quota_allows(f->vfs, f->inode, offset + amount))
		rc = SQLITE_FULL; /* the disk is full: nothing is written */
	else if (amount > 0)
		data_write(f->vfs, f->inode, buf, amount, offset);
	simvfs_trace(f->vfs, WH_OP_WRITE, f->inode->name, offset, amount, rc);
	return rc;
}

static int simvfs_io_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct simvfs_file *f = simvfs_file_of(file);
	bool dead;
	int rc = file_enter(f, WH_OP_TRUNCATE, size, &dead);
	if (dead || rc != SQLITE_OK)
		return rc;
	/* As unix: with a chunk size set, the file is truncated up to a
	 * whole chunk. */
	if (f->chunk_bytes > 0 && size > 0)
		size = (size + f->chunk_bytes - 1) / f->chunk_bytes *
		       f->chunk_bytes;
	if (f->open_flags & SQLITE_OPEN_READONLY)
		rc = SQLITE_IOERR_TRUNCATE;
	else if (size < 0 || (uint64_t)size > f->vfs->cfg.max_file_bytes)
		rc = SQLITE_FULL;
	else if (!quota_allows(f->vfs, f->inode, size))
		rc = SQLITE_FULL;
	else
		data_truncate(f->vfs, f->inode, size);
	simvfs_trace(f->vfs, WH_OP_TRUNCATE, f->inode->name, size, 0, rc);
	return rc;
}

static int simvfs_io_sync(sqlite3_file *file, int flags)
{
	struct simvfs_file *f = simvfs_file_of(file);
	struct simvfs *vfs = f->vfs;
	bool dead;
	int rc = file_enter(f, WH_OP_SYNC, flags, &dead);
	if (dead || rc != SQLITE_OK)
		return rc;
	int64_t durable = 0;
	if (vfs->bug == SIMVFS_BUG_LYING_FSYNC) {
		/* Planted: report success, leave everything unsynced. */
	} else if (vfs->cfg.device_characteristics & SQLITE_IOCAP_SEQUENTIAL) {
		/* A sequential device writes in issue order, so the flush
		 * that makes this file's writes durable makes every earlier
		 * write of every file durable too. */
		struct wh_queue *q;
		int seen = 0;
		WH_QUEUE_FOREACH(q, &vfs->inodes)
		{
			seen++;
			WH_ASSERT(seen <= vfs->inode_count);
			durable += durability_sync(
				vfs, wh_container_of(q, struct simvfs_inode,
						     link));
		}
	} else {
		durable = durability_sync(vfs, f->inode);
	}
	simvfs_trace(f->vfs, WH_OP_SYNC, f->inode->name, flags, durable, rc);
	return rc;
}

static int simvfs_io_file_size(sqlite3_file *file, sqlite3_int64 *size_out)
{
	struct simvfs_file *f = simvfs_file_of(file);
	*size_out = 0;
	bool dead;
	int rc = file_enter(f, WH_OP_FILESIZE, 0, &dead);
	if (dead || rc != SQLITE_OK)
		return rc;
	*size_out = f->inode->size;
	simvfs_trace(f->vfs, WH_OP_FILESIZE, f->inode->name, f->inode->size, 0,
		     rc);
	return rc;
}

static int simvfs_io_lock(sqlite3_file *file, int level)
{
	struct simvfs_file *f = simvfs_file_of(file);
	bool dead;
	int rc = file_enter(f, WH_OP_LOCK, level, &dead);
	if (dead || rc != SQLITE_OK)
		return rc;
	rc = lock_acquire(f, level);
	simvfs_trace(f->vfs, WH_OP_LOCK, f->inode->name, level, f->lock, rc);
	return rc;
}

static int simvfs_io_unlock(sqlite3_file *file, int level)
{
	struct simvfs_file *f = simvfs_file_of(file);
	bool dead;
	int rc = file_enter(f, WH_OP_UNLOCK, level, &dead);
	if (dead || rc != SQLITE_OK)
		return rc; /* dead: SQLITE_OK, and nothing is released */
	lock_release(f, level);
	simvfs_trace(f->vfs, WH_OP_UNLOCK, f->inode->name, level, f->lock, rc);
	return rc;
}

static int simvfs_io_check_reserved(sqlite3_file *file, int *result)
{
	struct simvfs_file *f = simvfs_file_of(file);
	*result = 0;
	bool dead;
	int rc = file_enter(f, WH_OP_CHECK_RESERVED, 0, &dead);
	if (dead || rc != SQLITE_OK)
		return rc;
	/* Any handle, the caller included, as unix reports it within one
	 * process; a handle in a process of its own sees its own lock and
	 * the RESERVED byte of the others (simvfs.h, lock models). Under the
	 * planted NO_LOCKS every handle is alone, so only its own counts. */
	const struct simvfs_file *owner = f->inode->owner;
	if (f->vfs->bug == SIMVFS_BUG_NO_LOCKS)
		*result = f->lock >= SQLITE_LOCK_RESERVED;
	else if (f->vfs->cfg.lock_model == SIMVFS_LOCKS_PROCESS)
		*result = f->lock >= SQLITE_LOCK_RESERVED ||
			  (owner != NULL && owner != f && owner->reserved_byte);
	else
		*result = inode_lock_level(f->inode) >= SQLITE_LOCK_RESERVED;
	simvfs_trace(f->vfs, WH_OP_CHECK_RESERVED, f->inode->name, *result, 0,
		     rc);
	return rc;
}

/* Get or set a boolean file-control flag the unix way: a negative argument
 * queries, anything else sets; the current value is written back. */
static void fcntl_flag(bool *flag, void *arg)
{
	int *v = arg;
	if (*v < 0)
		*v = *flag;
	else
		*flag = *v != 0;
}

static int file_control_run(struct simvfs_file *f, int op, void *arg)
{
	struct simvfs *vfs = f->vfs;
	struct simvfs_inode *ino = f->inode;
	switch (op) {
	case SQLITE_FCNTL_LOCKSTATE:
		*(int *)arg = f->lock;
		return SQLITE_OK;
	case SQLITE_FCNTL_LAST_ERRNO:
		*(int *)arg = 0;
		return SQLITE_OK;
	case SQLITE_FCNTL_CHUNK_SIZE:
		f->chunk_bytes = *(int *)arg;
		return SQLITE_OK;
	case SQLITE_FCNTL_SIZE_HINT: {
		/* As unix: only with a chunk size does a hint grow the file
		 * (to whole chunks); otherwise it is advice to ignore. */
		int64_t hint = *(sqlite3_int64 *)arg;
		if (f->chunk_bytes <= 0)
			return SQLITE_OK;
		int64_t want = (hint + f->chunk_bytes - 1) / f->chunk_bytes *
			       f->chunk_bytes;
		if (want <= ino->size)
			return SQLITE_OK;
		if ((uint64_t)want > vfs->cfg.max_file_bytes ||
		    !quota_allows(vfs, ino, want))
			return SQLITE_FULL;
		data_truncate(vfs, ino, want);
		return SQLITE_OK;
	}
	case SQLITE_FCNTL_PERSIST_WAL:
		fcntl_flag(&f->persist_wal, arg);
		return SQLITE_OK;
	case SQLITE_FCNTL_POWERSAFE_OVERWRITE:
		fcntl_flag(&f->powersafe_overwrite, arg);
		return SQLITE_OK;
	case SQLITE_FCNTL_VFSNAME:
		*(char **)arg = f->api->mprintf("%s", vfs->name);
		return SQLITE_OK;
	case SQLITE_FCNTL_TEMPFILENAME: {
		char *name = temp_name_make(vfs);
		*(char **)arg = f->api->mprintf("%s", name);
		free(name);
		return SQLITE_OK;
	}
	case SQLITE_FCNTL_HAS_MOVED:
		/* Moved means the name no longer leads to this inode. */
		*(int *)arg = !ino->linked;
		return SQLITE_OK;
	case SQLITE_FCNTL_EXTERNAL_READER:
		/* No other process exists in the simulation. */
		*(int *)arg = 0;
		return SQLITE_OK;
	case SQLITE_FCNTL_MMAP_SIZE: {
		/* As unix: write back the old limit; change it only for a
		 * non-negative value and while no fetched page is out. */
		sqlite3_int64 *v = arg;
		int64_t limit = *v;
		*v = f->mmap_limit_bytes;
		if (limit >= 0 && f->fetch_count == 0)
			f->mmap_limit_bytes = limit;
		return SQLITE_OK;
	}
	default:
		/* SQLITE_FCNTL_PRAGMA lands here on purpose: NOTFOUND tells
		 * SQLite to run the pragma itself. Hints (SYNC,
		 * COMMIT_PHASETWO, BUSYHANDLER, OVERWRITE...) need nothing. */
		return SQLITE_NOTFOUND;
	}
}

static int simvfs_io_file_control(sqlite3_file *file, int op, void *arg)
{
	struct simvfs_file *f = simvfs_file_of(file);
	bool dead;
	int rc = file_enter(f, WH_OP_FILE_CONTROL, op, &dead);
	if (dead || rc != SQLITE_OK)
		return rc;
	rc = file_control_run(f, op, arg);
	simvfs_trace(f->vfs, WH_OP_FILE_CONTROL, f->inode->name, op, 0, rc);
	return rc;
}

/* xSectorSize and xDeviceCharacteristics are not yield points: they touch
 * no state, the pager calls them on almost every transaction to size
 * journal headers and WAL frames, and a yield there would only add
 * scheduling noise without a real-world counterpart (the unix VFS answers
 * both from memory without a system call). */
static int simvfs_io_sector_size(sqlite3_file *file)
{
	struct simvfs_file *f = simvfs_file_of(file);
	return f->vfs->cfg.sector_size;
}

static int simvfs_io_device_characteristics(sqlite3_file *file)
{
	struct simvfs_file *f = simvfs_file_of(file);
	int flags = f->vfs->cfg.device_characteristics &
		    ~SQLITE_IOCAP_POWERSAFE_OVERWRITE;
	if (f->powersafe_overwrite)
		flags |= SQLITE_IOCAP_POWERSAFE_OVERWRITE;
	return flags;
}

static int simvfs_io_shm_map(sqlite3_file *file, int region, int region_bytes,
			     int extend, void volatile **out)
{
	struct simvfs_file *f = simvfs_file_of(file);
	struct simvfs_inode *ino = f->inode;
	*out = NULL;
	bool dead;
	int rc = file_enter(f, WH_OP_SHM_MAP, region, &dead);
	if (dead || rc != SQLITE_OK)
		return rc;
	WH_ASSERT(region >= 0);
	WH_ASSERT(region_bytes > 0);
	shm_attach(f);
	if (ino->shm_region_count == 0)
		ino->shm_region_bytes = region_bytes;
	/* SQLite always asks for one region size (32 KiB). */
	WH_ASSERT_EQ(ino->shm_region_bytes, region_bytes);
	if (region >= ino->shm_region_count && extend) {
		ino->shm_regions = wh_realloc(
			ino->shm_regions,
			(size_t)(region + 1) * sizeof(*ino->shm_regions));
		for (int i = ino->shm_region_count; i <= region; i++)
			ino->shm_regions[i] = wh_calloc(1, (size_t)region_bytes);
		ino->shm_region_count = region + 1;
	}
	/* Without bExtend a missing region is "not there yet": NULL, OK. */
	if (region < ino->shm_region_count)
		*out = ino->shm_regions[region];
	simvfs_trace(f->vfs, WH_OP_SHM_MAP, ino->name, region, *out != NULL,
		     rc);
	return rc;
}

static int simvfs_io_shm_lock(sqlite3_file *file, int ofst, int n, int flags)
{
	struct simvfs_file *f = simvfs_file_of(file);
	bool dead;
	/* The yield argument carries the flags too, so a fault injector can
	 * spare unlocks (they cannot fail on a real system). */
	int rc = file_enter(f, WH_OP_SHM_LOCK,
			    (int64_t)ofst | ((int64_t)n << 8) | ((int64_t)flags << 16), &dead);
	if (dead || rc != SQLITE_OK)
		return rc;
	if (!f->shm_attached)
		rc = SQLITE_IOERR_SHMLOCK; /* as unix: no shm, no shm locks */
	else
		rc = shm_lock_apply(f, ofst, n, flags);
	simvfs_trace(f->vfs, WH_OP_SHM_LOCK, f->inode->name, ofst,
		     ((int64_t)n << 8) | flags, rc);
	return rc;
}

static void simvfs_io_shm_barrier(sqlite3_file *file)
{
	struct simvfs_file *f = simvfs_file_of(file);
	/* One thread runs, so no fence is needed; the barrier exists only as
	 * a point where another connection may run. An injected error has
	 * nowhere to go (xShmBarrier returns void) and is traced. */
	bool dead;
	int rc = file_enter(f, WH_OP_SHM_BARRIER, 0, &dead);
	if (!dead)
		simvfs_trace(f->vfs, WH_OP_SHM_BARRIER, f->inode->name, 0, 0,
			     rc);
}

static int simvfs_io_shm_unmap(sqlite3_file *file, int delete_flag)
{
	struct simvfs_file *f = simvfs_file_of(file);
	/* The WAL code ignores xShmUnmap's result, so the unmap runs even
	 * when the hook injects a fault: skipping it would leave the
	 * wal-index mapped forever. deleteFlag needs no action: the content
	 * is reset when the last mapping goes, whatever the flag. */
	bool dead;
	int rc = file_enter(f, WH_OP_SHM_UNMAP, delete_flag, &dead);
	if (dead)
		return rc; /* SQLITE_OK: the crash already dropped the shm */
	shm_detach(f);
	simvfs_trace(f->vfs, WH_OP_SHM_UNMAP, f->inode->name, delete_flag, 0,
		     rc);
	return rc;
}

static int simvfs_io_fetch(sqlite3_file *file, sqlite3_int64 offset,
			   int amount, void **out)
{
	struct simvfs_file *f = simvfs_file_of(file);
	struct simvfs_inode *ino = f->inode;
	*out = NULL;
	bool dead;
	int rc = file_enter(f, WH_OP_FETCH, offset, &dead);
	if (dead || rc != SQLITE_OK)
		return rc;
	WH_ASSERT(offset >= 0);
	WH_ASSERT(amount > 0);
	/* A NULL pointer with SQLITE_OK sends SQLite to xRead; that is the
	 * answer beyond the file's end or the mmap limit, as under unix. */
	int64_t end = offset + amount;
	if (f->mmap_limit_bytes > 0 && end <= ino->size &&
	    end <= f->mmap_limit_bytes) {
		*out = ino->data + offset;
		f->fetch_count++;
	}
	simvfs_trace(f->vfs, WH_OP_FETCH, ino->name, offset,
		     *out ? amount : 0, rc);
	return rc;
}

static int simvfs_io_unfetch(sqlite3_file *file, sqlite3_int64 offset,
			     void *p)
{
	struct simvfs_file *f = simvfs_file_of(file);
	/* The pager ignores xUnfetch's result, so the release runs even when
	 * the hook injects a fault: a lost release would leave fetch_count
	 * high and freeze the mmap limit. */
	bool dead;
	int rc = file_enter(f, WH_OP_UNFETCH, offset, &dead);
	if (dead)
		return rc; /* SQLITE_OK: its pages are counted nowhere now */
	if (p != NULL) {
		WH_ASSERT(f->fetch_count > 0);
		WH_ASSERT(p == f->inode->data + offset);
		f->fetch_count--;
	} else {
		/* p == NULL: "drop the whole mapping", which SQLite sends
		 * only when no fetched page is out. Nothing to unmap: the
		 * reservation lives as long as the inode. */
		WH_ASSERT_EQ(f->fetch_count, 0);
	}
	simvfs_trace(f->vfs, WH_OP_UNFETCH, f->inode->name, offset, p != NULL,
		     rc);
	return rc;
}

static const sqlite3_io_methods simvfs_io_methods = {
	.iVersion = 3,
	.xClose = simvfs_io_close,
	.xRead = simvfs_io_read,
	.xWrite = simvfs_io_write,
	.xTruncate = simvfs_io_truncate,
	.xSync = simvfs_io_sync,
	.xFileSize = simvfs_io_file_size,
	.xLock = simvfs_io_lock,
	.xUnlock = simvfs_io_unlock,
	.xCheckReservedLock = simvfs_io_check_reserved,
	.xFileControl = simvfs_io_file_control,
	.xSectorSize = simvfs_io_sector_size,
	.xDeviceCharacteristics = simvfs_io_device_characteristics,
	.xShmMap = simvfs_io_shm_map,
	.xShmLock = simvfs_io_shm_lock,
	.xShmBarrier = simvfs_io_shm_barrier,
	.xShmUnmap = simvfs_io_shm_unmap,
	.xFetch = simvfs_io_fetch,
	.xUnfetch = simvfs_io_unfetch,
};

/* ------------------------------------------------------------------------
 * sqlite3_vfs methods
 * --------------------------------------------------------------------- */

static int simvfs_open(sqlite3_vfs *base, sqlite3_filename name,
		       sqlite3_file *file, int flags, int *out_flags)
{
	struct simvfs *vfs = simvfs_of(base);
	const struct wh_sqlapi *api = simvfs_reg_of(base)->api;
	struct simvfs_file *f = (struct simvfs_file *)file;
	/* pMethods stays NULL unless the open succeeds, so SQLite does not
	 * call xClose on a failed open. */
	memset(f, 0, sizeof(*f));
	if (out_flags != NULL)
		*out_flags = 0;
	uint64_t generation = vfs->generation;
	int rc = simvfs_yield(vfs, WH_OP_OPEN, name, flags);
	if (rc != SQLITE_OK)
		return rc;
	if (vfs->generation != generation) {
		/* Power was lost while the open was parked: the caller is of
		 * the dead process and must not create a file in the new
		 * image. */
		rc = SQLITE_CANTOPEN;
		simvfs_trace(vfs, WH_OP_OPEN, name, flags, 0, rc);
		return rc;
	}

	struct simvfs_inode *ino = NULL;
	char *temp_name = NULL;
	bool anonymous = name == NULL;
	if (anonymous) {
		temp_name = temp_name_make(vfs);
		ino = inode_create(vfs, temp_name, flags, false);
		if (ino == NULL)
			rc = SQLITE_NOMEM;
	} else if (strlen(name) > SIMVFS_PATHNAME_MAX) {
		rc = SQLITE_CANTOPEN;
	} else {
		ino = inode_find(vfs, name);
		bool create = (flags & SQLITE_OPEN_CREATE) != 0;
		if (ino != NULL && create && (flags & SQLITE_OPEN_EXCLUSIVE)) {
			ino = NULL;
			rc = SQLITE_CANTOPEN; /* O_EXCL on an existing file */
		} else if (ino == NULL && !create) {
			rc = SQLITE_CANTOPEN;
		} else if (ino == NULL) {
			ino = inode_create(
				vfs, name, flags,
				(flags & SQLITE_OPEN_DELETEONCLOSE) == 0);
			if (ino == NULL)
				rc = SQLITE_NOMEM;
		}
	}

	if (rc == SQLITE_OK) {
		f->base.pMethods = &simvfs_io_methods;
		f->vfs = vfs;
		f->api = api;
		f->inode = ino;
		f->generation = vfs->generation;
		f->open_flags = flags;
		f->lock = SQLITE_LOCK_NONE;
		f->powersafe_overwrite = (vfs->cfg.device_characteristics &
					  SQLITE_IOCAP_POWERSAFE_OVERWRITE) != 0;
		ino->open_count++;
		vfs->open_count++;
		/* As unix: a delete-on-close file is unlinked at once, so no
		 * other open can find it and it vanishes on the last close. */
		if (anonymous || (flags & SQLITE_OPEN_DELETEONCLOSE))
			inode_unlink(vfs, ino);
		if (out_flags != NULL)
			*out_flags = flags;
	}
	simvfs_trace(vfs, WH_OP_OPEN, ino ? ino->name : name, flags,
		     rc == SQLITE_OK ? flags : 0, rc);
	free(temp_name);
	return rc;
}

static int simvfs_delete(sqlite3_vfs *base, const char *name, int dir_sync)
{
	struct simvfs *vfs = simvfs_of(base);
	uint64_t generation = vfs->generation;
	int rc = simvfs_yield(vfs, WH_OP_DELETE, name, dir_sync);
	if (rc != SQLITE_OK)
		return rc;
	/* dirSync asks that the deletion be durable; directory entries are
	 * not modelled yet, so a deletion is durable at once. */
	struct simvfs_inode *ino = inode_find(vfs, name);
	if (vfs->generation != generation)
		rc = SQLITE_IOERR_DELETE; /* parked across a power loss: the
					     dead process deletes nothing */
	else if (ino == NULL)
		rc = SQLITE_IOERR_DELETE_NOENT;
	else
		inode_unlink(vfs, ino);
	simvfs_trace(vfs, WH_OP_DELETE, name, dir_sync, 0, rc);
	return rc;
}

static int simvfs_access(sqlite3_vfs *base, const char *name, int flags,
			 int *result)
{
	struct simvfs *vfs = simvfs_of(base);
	*result = 0;
	uint64_t generation = vfs->generation;
	int rc = simvfs_yield(vfs, WH_OP_ACCESS, name, flags);
	if (rc != SQLITE_OK)
		return rc;
	const struct simvfs_inode *ino = inode_find(vfs, name);
	if (vfs->generation != generation)
		rc = SQLITE_IOERR_ACCESS; /* parked across a power loss */
	else if (flags == SQLITE_ACCESS_EXISTS)
		/* The unix VFS reports a zero-size regular file as missing
		 * (its unixAccess tests st_size > 0); SQLite relies on it
		 * for empty -wal and -journal files and copes either way. */
		*result = ino != NULL && ino->size > 0;
	else
		*result = ino != NULL; /* READWRITE, READ: every file is */
	simvfs_trace(vfs, WH_OP_ACCESS, name, flags, *result, rc);
	return rc;
}

static int simvfs_full_pathname(sqlite3_vfs *base, const char *name,
				int out_bytes, char *out)
{
	struct simvfs *vfs = simvfs_of(base);
	int rc = simvfs_yield(vfs, WH_OP_FULLPATH, name, 0);
	if (rc != SQLITE_OK)
		return rc;
	/* Names are keys, not paths: the full name is the name as given. */
	size_t n = strlen(name) + 1;
	if (out_bytes <= 0 || n > (size_t)out_bytes)
		rc = SQLITE_CANTOPEN;
	else
		memcpy(out, name, n);
	simvfs_trace(vfs, WH_OP_FULLPATH, name, 0, 0, rc);
	return rc;
}

/* Loadable extensions are not part of the simulated world. */
static void *simvfs_dl_open(sqlite3_vfs *base, const char *path)
{
	(void)base;
	(void)path;
	return NULL;
}

static void simvfs_dl_error(sqlite3_vfs *base, int bytes, char *out)
{
	(void)base;
	if (bytes > 0)
		snprintf(out, (size_t)bytes, "%s",
			 "simvfs: loadable extensions are not supported");
}

static void (*simvfs_dl_sym(sqlite3_vfs *base, void *handle,
			    const char *symbol))(void)
{
	(void)base;
	(void)handle;
	(void)symbol;
	return NULL;
}

static void simvfs_dl_close(sqlite3_vfs *base, void *handle)
{
	(void)base;
	(void)handle;
}

static int simvfs_randomness(sqlite3_vfs *base, int bytes, char *out)
{
	struct simvfs *vfs = simvfs_of(base);
	if (bytes <= 0)
		return 0;
	if (vfs->hooks.randomness != NULL)
		vfs->hooks.randomness(vfs->hooks.ctx, bytes,
				      (unsigned char *)out);
	else
		memset(out, 0, (size_t)bytes); /* deterministic fallback */
	return bytes;
}

/* Simulated time passes in the scheduler, not here: the yield is the sleep.
 * An injected error cannot be returned (xSleep returns the time slept). */
static int simvfs_sleep(sqlite3_vfs *base, int microseconds)
{
	struct simvfs *vfs = simvfs_of(base);
	int rc = simvfs_yield(vfs, WH_OP_SLEEP, NULL, microseconds);
	simvfs_trace(vfs, WH_OP_SLEEP, NULL, microseconds, 0, rc);
	return microseconds;
}

static int simvfs_current_time_int64(sqlite3_vfs *base, sqlite3_int64 *out)
{
	struct simvfs *vfs = simvfs_of(base);
	*out = SIMVFS_EPOCH_JD_MS + (sqlite3_int64)(simvfs_now_us(vfs) / 1000);
	return SQLITE_OK;
}

static int simvfs_current_time(sqlite3_vfs *base, double *out)
{
	sqlite3_int64 ms = 0;
	int rc = simvfs_current_time_int64(base, &ms);
	*out = (double)ms / SIMVFS_MS_PER_DAY;
	return rc;
}

static int simvfs_get_last_error(sqlite3_vfs *base, int bytes, char *out)
{
	(void)base;
	if (bytes > 0)
		out[0] = '\0';
	return 0;
}

/* The system-call override interface exists for SQLite's own test
 * harness; there are no system calls here to override. */
static int simvfs_set_system_call(sqlite3_vfs *base, const char *name,
				  sqlite3_syscall_ptr fn)
{
	(void)base;
	(void)name;
	(void)fn;
	return SQLITE_NOTFOUND;
}

static sqlite3_syscall_ptr simvfs_get_system_call(sqlite3_vfs *base,
						  const char *name)
{
	(void)base;
	(void)name;
	return NULL;
}

static const char *simvfs_next_system_call(sqlite3_vfs *base,
					   const char *name)
{
	(void)base;
	(void)name;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Power loss (the crash model is in the opening comment)
 * --------------------------------------------------------------------- */

/* What became of one sector of one unsynced write. */
enum crash_fate {
	CRASH_LOST,    /* the sector keeps what it held before the write */
	CRASH_KEPT,    /* the write's bytes in the sector reached the disk */
	CRASH_GARBAGE, /* the sector was torn: random bytes */
};

/* One power loss in progress. */
struct crash_run {
	struct simvfs *vfs;         /* the VFS losing power */
	struct wh_prng *rng;        /* every decision draws from it */
	struct simvfs_crash_stats *stats; /* filled as sectors are decided */
	int64_t sector_bytes;       /* cfg.sector_size */
	bool atomic;                /* a sector is never torn */
	bool powersafe;             /* a tear stays inside the written bytes */
	bool safe_append;           /* the file never grows over lost data */
	bool sequential;            /* a loss cuts off every later mutation */
	uint64_t keep_eighths;      /* this crash's odds of keeping, /8 */
	uint64_t garbage_sixteenths; /* this crash's odds of tearing, /16 */
	bool cut;                   /* sequential: something was lost, so
				       every later mutation is lost too */
	struct closed_sector {      /* sectors whose content stopped at a
				       lost or torn piece: every later piece
				       of them is lost (see the top) */
		const struct simvfs_inode *ino;
		int64_t sector;
	} *closed;
	size_t closed_count, closed_cap;
};

static bool sector_closed(const struct crash_run *run, const struct simvfs_inode *ino,
			  int64_t sector)
{
	for (size_t i = 0; i < run->closed_count; i++)
		if (run->closed[i].ino == ino && run->closed[i].sector == sector)
			return true;
	return false;
}

static void sector_close(struct crash_run *run, const struct simvfs_inode *ino, int64_t sector)
{
	if (sector_closed(run, ino, sector))
		return;
	if (run->closed_count == run->closed_cap) {
		run->closed_cap = run->closed_cap ? 2 * run->closed_cap : 16;
		run->closed = wh_realloc(run->closed, run->closed_cap * sizeof *run->closed);
	}
	run->closed[run->closed_count++] = (struct closed_sector){ino, sector};
}

/* True if the device writes a whole sector or nothing: SQLITE_IOCAP_ATOMIC,
 * or an ATOMICnnn flag whose unit holds whole sectors. */
static bool crash_sector_atomic(int dc, int64_t sector_bytes)
{
	static const struct {
		int flag;            /* SQLITE_IOCAP_ATOMICnnn */
		int64_t unit_bytes;  /* nnn */
	} units[] = {
		{SQLITE_IOCAP_ATOMIC512, 512},
		{SQLITE_IOCAP_ATOMIC1K, 1024},
		{SQLITE_IOCAP_ATOMIC2K, 2048},
		{SQLITE_IOCAP_ATOMIC4K, 4096},
		{SQLITE_IOCAP_ATOMIC8K, 8192},
		{SQLITE_IOCAP_ATOMIC16K, 16384},
		{SQLITE_IOCAP_ATOMIC32K, 32768},
		{SQLITE_IOCAP_ATOMIC64K, 65536},
	};
	WH_ASSERT(sector_bytes > 0);
	if (dc & SQLITE_IOCAP_ATOMIC)
		return true;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if ((dc & units[i].flag) &&
		    units[i].unit_bytes >= sector_bytes &&
		    units[i].unit_bytes % sector_bytes == 0)
			return true;
	return false;
}

/* Decide one sector of a write whose bytes in the sector start past the
 * post-crash end of the file (starts_past_end) or reach beyond it
 * (ends_past_end). */
static enum crash_fate crash_decide(struct crash_run *run, bool starts_past_end,
				    bool ends_past_end)
{
	WH_ASSERT(!starts_past_end || ends_past_end);
	if (run->cut)
		return CRASH_LOST;
	/* SAFE_APPEND: appended data reaches the disk before the size
	 * grows over it, so data past a lost append never shows up. */
	if (run->safe_append && starts_past_end)
		return CRASH_LOST;
	bool tearable = !run->atomic && !(run->safe_append && ends_past_end);
	if (tearable &&
	    wh_prng_chance(run->rng, run->garbage_sixteenths, 16))
		return CRASH_GARBAGE;
	return wh_prng_chance(run->rng, run->keep_eighths, 8) ? CRASH_KEPT
							      : CRASH_LOST;
}

/* Random bytes over [from, to) of the image being built. */
static void crash_garbage_fill(struct crash_run *run, struct simvfs_inode *ino,
			       int64_t from, int64_t to)
{
	WH_ASSERT(0 <= from);
	WH_ASSERT(from < to);
	WH_ASSERT(to <= ino->synced_size);
	for (int64_t at = from; at < to; at += 8) {
		uint64_t r = wh_prng_next(run->rng);
		int64_t n = to - at < 8 ? to - at : 8;
		memcpy(ino->synced + at, &r, (size_t)n);
	}
}

/* Replay one logged write, sector by sector, onto the image being built
 * (the inode's synced image). */
static void crash_write(struct crash_run *run, struct simvfs_inode *ino,
			const struct simvfs_log_entry *e)
{
	WH_ASSERT(e->kind == SIMVFS_LOG_WRITE);
	WH_ASSERT(e->amount > 0);
	int64_t sector = run->sector_bytes;
	int64_t end = e->offset + e->amount;
	const unsigned char *bytes = ino->log_bytes + e->bytes_at;
	for (int64_t s = e->offset / sector; s * sector < end; s++) {
		int64_t lo = s * sector > e->offset ? s * sector : e->offset;
		int64_t hi = (s + 1) * sector < end ? (s + 1) * sector : end;
		WH_ASSERT(lo < hi);
		/* Drawn even for a closed sector, so that a piece's draw
		 * does not depend on the fates of the pieces before it. */
		enum crash_fate fate = crash_decide(run, lo > ino->synced_size,
						    hi > ino->synced_size);
		if (sector_closed(run, ino, s))
			fate = CRASH_LOST;
		if (fate != CRASH_KEPT)
			sector_close(run, ino, s);
		switch (fate) {
		case CRASH_LOST:
			run->stats->sectors_lost++;
			run->cut = run->sequential;
			break;
		case CRASH_KEPT:
			if (hi > ino->synced_size)
				synced_resize(run->vfs, ino, hi);
			memcpy(ino->synced + lo, bytes + (lo - e->offset),
			       (size_t)(hi - lo));
			run->stats->sectors_kept++;
			break;
		case CRASH_GARBAGE: {
			int64_t on_disk = ino->synced_size;
			/* Without powersafe overwrite, the tear spreads to
			 * the rest of the sector (as far as the file goes),
			 * damaging bytes this write never touched. */
			if (hi > ino->synced_size)
				synced_resize(run->vfs, ino, hi);
			int64_t from = run->powersafe ? lo : s * sector;
			int64_t to = hi;
			if (!run->powersafe) {
				to = (s + 1) * sector;
				if (to > ino->synced_size)
					to = ino->synced_size;
			}
			/* What was already on the disk around the write (a
			 * commit frame synced before it, say): counted, for
			 * the triage's evidence; it changes nothing. */
			int64_t before = (lo < on_disk ? lo : on_disk) - from;
			int64_t after = (to < on_disk ? to : on_disk) - hi;
			run->stats->torn_outside += (uint64_t)(before > 0 ? before : 0) +
						    (uint64_t)(after > 0 ? after : 0);
			crash_garbage_fill(run, ino, from, to);
			run->stats->sectors_garbage++;
			/* A sequential device tears only the sector being
			 * written when the power went. */
			run->cut = run->sequential;
			break;
		}
		}
	}
	/* Without SAFE_APPEND the new size may reach the disk before the
	 * data: the file grows over lost sectors, which read as zeros. */
	if (!run->safe_append && !run->cut && end > ino->synced_size &&
	    wh_prng_chance(run->rng, 1, 2))
		synced_resize(run->vfs, ino, end);
}

/* Replay one logged truncate (a size change, shrink or grow). */
static void crash_truncate(struct crash_run *run, struct simvfs_inode *ino,
			   const struct simvfs_log_entry *e)
{
	WH_ASSERT(e->kind == SIMVFS_LOG_TRUNCATE);
	WH_ASSERT(e->offset >= 0);
	if (!run->cut && wh_prng_chance(run->rng, run->keep_eighths, 8))
		synced_resize(run->vfs, ino, e->offset);
	else
		run->cut = run->sequential;
}

/* Decide every unsynced mutation of every file that survives by name, in
 * the order they were issued across files (so SEQUENTIAL can cut them
 * all at one point), building each post-crash image in its synced
 * image. Returns the number of files that had any. */
static uint32_t crash_replay_logs(struct crash_run *run)
{
	struct simvfs *vfs = run->vfs;
	struct crash_cursor {
		struct simvfs_inode *ino; /* a file with unsynced changes */
		size_t next;              /* its next log entry to decide */
	} *cursors = wh_calloc((size_t)vfs->inode_count + 1, sizeof(*cursors));
	size_t cursor_count = 0;
	size_t entries_left = 0;
	struct wh_queue *q;
	int seen = 0;
	WH_QUEUE_FOREACH(q, &vfs->inodes)
	{
		struct simvfs_inode *ino =
			wh_container_of(q, struct simvfs_inode, link);
		seen++;
		WH_ASSERT(seen <= vfs->inode_count);
		if (!ino->linked || ino->log_count == 0)
			continue;
		cursors[cursor_count++].ino = ino;
		entries_left += ino->log_count;
	}
	/* A merge by seq; a run has a handful of files, so a scan per step
	 * costs nothing next to the bytes copied. */
	for (; entries_left > 0; entries_left--) {
		struct crash_cursor *first = NULL;
		uint64_t first_seq = UINT64_MAX;
		for (size_t i = 0; i < cursor_count; i++) {
			struct crash_cursor *c = &cursors[i];
			if (c->next == c->ino->log_count)
				continue;
			uint64_t seq = c->ino->log[c->next].seq;
			WH_ASSERT(seq != first_seq);
			if (seq < first_seq) {
				first = c;
				first_seq = seq;
			}
		}
		WH_ASSERT(first != NULL);
		const struct simvfs_log_entry *e =
			&first->ino->log[first->next];
		if (e->kind == SIMVFS_LOG_WRITE)
			crash_write(run, first->ino, e);
		else
			crash_truncate(run, first->ino, e);
		first->next++;
	}
	for (size_t i = 0; i < cursor_count; i++)
		WH_ASSERT_EQ(cursors[i].next, cursors[i].ino->log_count);
	free(cursors);
	WH_ASSERT(cursor_count <= UINT32_MAX);
	return (uint32_t)cursor_count;
}

static void log_clear(struct simvfs_inode *ino)
{
	ino->log_count = 0;
	ino->log_bytes_len = 0;
	ino->unsynced_bytes = 0;
}

/* The lock and shm state of the dead process goes with it. Regions that
 * dead handles still map move to the graveyard: SQLite may touch them
 * through pointers it holds until it closes those handles. */
static void crash_drop_process_state(struct simvfs *vfs,
				     struct simvfs_inode *ino)
{
	ino->shared_count = 0;
	ino->owner = NULL;
	if (ino->shm_map_count == 0) {
		WH_ASSERT(ino->shm_regions == NULL);
		return;
	}
	size_t need = vfs->graveyard_count + (size_t)ino->shm_region_count;
	if (need > vfs->graveyard_cap) {
		size_t cap = vfs->graveyard_cap ? 2 * vfs->graveyard_cap : 8;
		while (cap < need)
			cap *= 2;
		vfs->shm_graveyard = wh_realloc(
			vfs->shm_graveyard, cap * sizeof(*vfs->shm_graveyard));
		vfs->graveyard_cap = cap;
	}
	for (int i = 0; i < ino->shm_region_count; i++)
		vfs->shm_graveyard[vfs->graveyard_count++] =
			ino->shm_regions[i];
	WH_ASSERT(vfs->graveyard_count <= vfs->graveyard_cap);
	free(ino->shm_regions);
	ino->shm_regions = NULL;
	ino->shm_region_count = 0;
	ino->shm_region_bytes = 0;
	ino->shm_map_count = 0;
	memset(ino->shm_shared_count, 0, sizeof(ino->shm_shared_count));
	memset(ino->shm_excl_owner, 0, sizeof(ino->shm_excl_owner));
}

/* Make the post-crash image (built in the synced image) the live data. A
 * file no name leads to (a temp file, or one deleted while open) is gone:
 * it empties, and is freed when its dead handles close. */
static void crash_settle_data(struct simvfs *vfs, struct simvfs_inode *ino)
{
	if (!ino->linked) {
		data_zero(vfs, ino, 0, ino->size);
		inode_size_set(vfs, ino, 0);
		ino->synced_size = 0;
		log_clear(ino);
		return;
	}
	/* Only temp files keep no log, and they are never linked. */
	WH_ASSERT(ino->track_durability);
	if (ino->log_count == 0) {
		WH_ASSERT_EQ(ino->synced_size, ino->size);
		return;
	}
	int64_t old_size = ino->size;
	if (ino->synced_size > 0)
		memcpy(ino->data, ino->synced, (size_t)ino->synced_size);
	if (old_size > ino->synced_size)
		data_zero(vfs, ino, ino->synced_size, old_size);
	inode_size_set(vfs, ino, ino->synced_size);
	log_clear(ino);
}

void simvfs_power_loss(struct simvfs *vfs, struct wh_prng *rng,
		       struct simvfs_crash_stats *out)
{
	struct simvfs_crash_stats local;
	struct simvfs_crash_stats *stats = out != NULL ? out : &local;
	memset(stats, 0, sizeof(*stats));
	int dc = vfs->cfg.device_characteristics;
	struct crash_run run = {
		.vfs = vfs,
		.rng = rng,
		.stats = stats,
		.sector_bytes = vfs->cfg.sector_size,
		.atomic = crash_sector_atomic(dc, vfs->cfg.sector_size),
		.powersafe = (dc & SQLITE_IOCAP_POWERSAFE_OVERWRITE) != 0,
		.safe_append = (dc & SQLITE_IOCAP_SAFE_APPEND) != 0,
		.sequential = (dc & SQLITE_IOCAP_SEQUENTIAL) != 0,
	};
	/* Each crash draws its own odds, so runs see everything from "all
	 * lost" to "all kept", not always a half-and-half mix. */
	run.keep_eighths = wh_prng_below(rng, 9);
	run.garbage_sixteenths = wh_prng_below(rng, 5);

	stats->files_affected = crash_replay_logs(&run);
	free(run.closed);

	uint64_t total = 0;
	struct wh_queue *q;
	int seen = 0;
	WH_QUEUE_FOREACH(q, &vfs->inodes)
	{
		struct simvfs_inode *ino =
			wh_container_of(q, struct simvfs_inode, link);
		seen++;
		WH_ASSERT(seen <= vfs->inode_count);
		crash_drop_process_state(vfs, ino);
		crash_settle_data(vfs, ino);
		WH_ASSERT_EQ(ino->size, ino->synced_size);
		total += (uint64_t)ino->size;
	}
	WH_ASSERT_EQ(total, vfs->total_bytes);

	/* Every handle open now belongs to the dead process. */
	vfs->generation++;
	vfs->dead_open_count = vfs->open_count;
	if (vfs->dead_open_count == 0)
		graveyard_release(vfs);
}

/* ------------------------------------------------------------------------
 * Bit flips, planted bugs, quota, fault codes
 * --------------------------------------------------------------------- */

static bool bitflip_candidate(const struct simvfs_inode *ino)
{
	return ino->linked && ino->track_durability && ino->size > 0;
}

static bool bitflip_preferred(const struct simvfs_inode *ino)
{
	return (ino->open_type & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
}

/* Flip `mask` at `offset` in every version of the byte: live, synced, and
 * each unsynced write covering it, so replaying the log still lands on
 * the live data. When the byte the replay would produce is a zero from a
 * size change (no write covers it since), a one-byte write carries the
 * flip into the log. */
static void bitflip_apply(struct simvfs *vfs, struct simvfs_inode *ino,
			  int64_t offset, unsigned char mask)
{
	WH_ASSERT(0 <= offset);
	WH_ASSERT(offset < ino->size);
	ino->data[offset] ^= mask;
	bool from_zero = offset >= ino->synced_size;
	if (!from_zero)
		ino->synced[offset] ^= mask;
	for (size_t i = 0; i < ino->log_count; i++) {
		const struct simvfs_log_entry *e = &ino->log[i];
		if (e->kind == SIMVFS_LOG_TRUNCATE) {
			if (e->offset <= offset)
				from_zero = true;
			continue;
		}
		if (offset < e->offset || offset >= e->offset + e->amount)
			continue;
		ino->log_bytes[e->bytes_at + (size_t)(offset - e->offset)] ^=
			mask;
		from_zero = false;
	}
	if (from_zero)
		log_append(vfs, ino, SIMVFS_LOG_WRITE, offset,
			   ino->data + offset, 1);
}

int simvfs_bitflip(struct simvfs *vfs, struct wh_prng *rng, char *desc,
		   size_t desc_len)
{
	uint64_t candidates = 0;
	uint64_t preferred = 0;
	struct wh_queue *q;
	int seen = 0;
	WH_QUEUE_FOREACH(q, &vfs->inodes)
	{
		const struct simvfs_inode *ino =
			wh_container_of(q, struct simvfs_inode, link);
		seen++;
		WH_ASSERT(seen <= vfs->inode_count);
		if (!bitflip_candidate(ino))
			continue;
		candidates++;
		preferred += bitflip_preferred(ino);
	}
	WH_ASSERT(preferred <= candidates);
	if (candidates == 0) {
		if (desc_len > 0)
			desc[0] = '\0';
		return -1;
	}
	bool only_preferred = preferred > 0;
	uint64_t pick = wh_prng_below(rng, only_preferred ? preferred
							  : candidates);
	struct simvfs_inode *chosen = NULL;
	WH_QUEUE_FOREACH(q, &vfs->inodes)
	{
		struct simvfs_inode *ino =
			wh_container_of(q, struct simvfs_inode, link);
		if (!bitflip_candidate(ino) ||
		    (only_preferred && !bitflip_preferred(ino)))
			continue;
		if (pick == 0) {
			chosen = ino;
			break;
		}
		pick--;
	}
	WH_ASSERT(chosen != NULL);
	int64_t offset = (int64_t)wh_prng_below(rng, (uint64_t)chosen->size);
	int bit = (int)wh_prng_below(rng, 8);
	bitflip_apply(vfs, chosen, offset, (unsigned char)(1u << bit));
	if (desc_len > 0)
		snprintf(desc, desc_len, "%s offset %lld bit %d", chosen->name,
			 (long long)offset, bit);
	return 0;
}

static bool bug_is_lock_bug(enum simvfs_bug bug)
{
	return bug == SIMVFS_BUG_NO_LOCKS || bug == SIMVFS_BUG_NO_SHM_LOCKS;
}

const char *const simvfs_bug_names[] = {
	[SIMVFS_BUG_NONE] = "none",
	[SIMVFS_BUG_NO_LOCKS] = "no-locks",
	[SIMVFS_BUG_NO_SHM_LOCKS] = "no-shm-locks",
	[SIMVFS_BUG_LYING_FSYNC] = "lying-fsync",
	NULL,
};

void simvfs_set_bug(struct simvfs *vfs, enum simvfs_bug bug)
{
	switch (bug) {
	case SIMVFS_BUG_NONE:
	case SIMVFS_BUG_NO_LOCKS:
	case SIMVFS_BUG_NO_SHM_LOCKS:
	case SIMVFS_BUG_LYING_FSYNC:
		break;
	default:
		WH_UNREACHABLE();
	}
	/* Locks granted under one rule cannot be released under the other. */
	if (bug != vfs->bug &&
	    (bug_is_lock_bug(bug) || bug_is_lock_bug(vfs->bug)))
		WH_ASSERT_EQ(vfs->open_count - vfs->dead_open_count, 0);
	vfs->bug = bug;
}

void simvfs_set_quota(struct simvfs *vfs, uint64_t total_bytes)
{
	vfs->quota_bytes = total_bytes;
}

int simvfs_fault_code(enum wh_op_kind kind)
{
	switch (kind) {
	case WH_OP_OPEN:
		return SQLITE_CANTOPEN;
	case WH_OP_CLOSE:
		return SQLITE_IOERR_CLOSE;
	case WH_OP_DELETE:
		return SQLITE_IOERR_DELETE;
	case WH_OP_ACCESS:
		return SQLITE_IOERR_ACCESS;
	case WH_OP_FULLPATH:
		return SQLITE_CANTOPEN_FULLPATH;
	case WH_OP_READ:
		return SQLITE_IOERR_READ;
	case WH_OP_WRITE:
		return SQLITE_IOERR_WRITE;
	case WH_OP_TRUNCATE:
		return SQLITE_IOERR_TRUNCATE;
	case WH_OP_SYNC:
		return SQLITE_IOERR_FSYNC;
	case WH_OP_FILESIZE:
		return SQLITE_IOERR_FSTAT;
	case WH_OP_LOCK:
		return SQLITE_IOERR_LOCK;
	case WH_OP_UNLOCK:
		return SQLITE_IOERR_UNLOCK;
	case WH_OP_CHECK_RESERVED:
		return SQLITE_IOERR_CHECKRESERVEDLOCK;
	case WH_OP_SHM_MAP:
		return SQLITE_IOERR_SHMMAP;
	case WH_OP_SHM_LOCK:
		return SQLITE_IOERR_SHMLOCK;
	case WH_OP_FETCH:
		return SQLITE_IOERR_MMAP;
	/* File controls are mostly hints whose result SQLite ignores, and a
	 * failed PRAGMA fcntl would swallow the pragma; barrier, unmap and
	 * unfetch have no result SQLite looks at; sleep, think and groups
	 * are not I/O. */
	case WH_OP_FILE_CONTROL:
	case WH_OP_SHM_BARRIER:
	case WH_OP_SHM_UNMAP:
	case WH_OP_UNFETCH:
	case WH_OP_SLEEP:
	case WH_OP_THINK:
	case WH_OP_GROUP:
	case WH_OP__COUNT:
		return 0;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------- */

static int still_yield(void *ctx, enum wh_op_kind kind, const char *file, int64_t arg)
{
	(void)ctx, (void)kind, (void)file, (void)arg;
	return SQLITE_OK;
}

static void still_trace(void *ctx, enum wh_op_kind kind, const char *file, int64_t a,
			int64_t b, int rc)
{
	(void)ctx, (void)kind, (void)file, (void)a, (void)b, (void)rc;
}

static uint64_t still_now_us(void *ctx)
{
	(void)ctx;
	return 0;
}

static void still_randomness(void *ctx, int n, unsigned char *out)
{
	(void)ctx;
	memset(out, 0, (size_t)n);
}

const struct simvfs_hooks simvfs_hooks_still = {
	.yield = still_yield,
	.trace = still_trace,
	.now_us = still_now_us,
	.randomness = still_randomness,
};

void simvfs_config_default(struct simvfs_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sector_size = 4096;
	cfg->device_characteristics = SQLITE_IOCAP_POWERSAFE_OVERWRITE;
	cfg->max_file_bytes = 256u * 1024u * 1024u;
	cfg->yield_mask = (uint32_t)((1ull << WH_OP__COUNT) - 1u);
	cfg->api = &wh_sqlapi_linked;
}

/* Fill reg's struct for registration in api's library. */
static void reg_fill(struct simvfs *vfs, struct simvfs_reg *reg, const struct wh_sqlapi *api)
{
	sqlite3_vfs *b = &reg->base;
	memset(reg, 0, sizeof *reg);
	reg->vfs = vfs;
	reg->api = api;
	b->iVersion = 3;
	b->szOsFile = (int)sizeof(struct simvfs_file);
	b->mxPathname = SIMVFS_PATHNAME_MAX;
	b->zName = vfs->name;
	b->pAppData = reg;
	b->xOpen = simvfs_open;
	b->xDelete = simvfs_delete;
	b->xAccess = simvfs_access;
	b->xFullPathname = simvfs_full_pathname;
	b->xDlOpen = simvfs_dl_open;
	b->xDlError = simvfs_dl_error;
	b->xDlSym = simvfs_dl_sym;
	b->xDlClose = simvfs_dl_close;
	b->xRandomness = simvfs_randomness;
	b->xSleep = simvfs_sleep;
	b->xCurrentTime = simvfs_current_time;
	b->xGetLastError = simvfs_get_last_error;
	b->xCurrentTimeInt64 = simvfs_current_time_int64;
	b->xSetSystemCall = simvfs_set_system_call;
	b->xGetSystemCall = simvfs_get_system_call;
	b->xNextSystemCall = simvfs_next_system_call;
}

int simvfs_create(struct simvfs **out, const char *name,
		  const struct simvfs_config *cfg,
		  const struct simvfs_hooks *hooks)
{
	*out = NULL;
	if (name == NULL || cfg == NULL || hooks == NULL ||
	    cfg->sector_size <= 0 || cfg->max_file_bytes == 0 ||
	    cfg->max_file_bytes > (uint64_t)INT64_MAX)
		return SQLITE_MISUSE;
	const struct wh_sqlapi *api = cfg->api ? cfg->api : &wh_sqlapi_linked;
	/* Two VFSes under one name would make sqlite3_vfs_find ambiguous. */
	if (api->vfs_find(name) != NULL)
		return SQLITE_ERROR;

	struct simvfs *vfs = wh_calloc(1, sizeof(*vfs));
	vfs->name = wh_strdup(name);
	vfs->cfg = *cfg;
	vfs->cfg.api = api;
	vfs->hooks = *hooks;
	wh_queue_init(&vfs->inodes);
	long page = sysconf(_SC_PAGESIZE);
	vfs->page_bytes = page > 0 ? (size_t)page : 4096;

	reg_fill(vfs, &vfs->regs[0], api);
	int rc = api->vfs_register(&vfs->regs[0].base, 0);
	if (rc != SQLITE_OK) {
		free(vfs->name);
		free(vfs);
		return rc;
	}
	vfs->reg_count = 1;
	*out = vfs;
	return SQLITE_OK;
}

int simvfs_register_in(struct simvfs *vfs, const struct wh_sqlapi *api)
{
	WH_ASSERT(api != NULL);
	for (int i = 0; i < vfs->reg_count; i++)
		WH_ASSERT(vfs->regs[i].api != api); /* one struct per library */
	WH_ASSERT(vfs->reg_count < SIMVFS_REGS_MAX);
	if (api->vfs_find(vfs->name) != NULL)
		return SQLITE_ERROR;
	struct simvfs_reg *reg = &vfs->regs[vfs->reg_count];
	reg_fill(vfs, reg, api);
	int rc = api->vfs_register(&reg->base, 0);
	if (rc == SQLITE_OK)
		vfs->reg_count++;
	return rc;
}

void simvfs_destroy(struct simvfs *vfs)
{
	if (vfs == NULL)
		return;
	WH_ASSERT_EQ(vfs->open_count, 0);
	/* Each struct leaves the list of the library that holds it. */
	for (int i = vfs->reg_count - 1; i >= 0; i--)
		vfs->regs[i].api->vfs_unregister(&vfs->regs[i].base);
	int bound = vfs->inode_count;
	while (!wh_queue_empty(&vfs->inodes)) {
		WH_ASSERT(bound-- > 0);
		struct simvfs_inode *ino = wh_container_of(
			vfs->inodes.next, struct simvfs_inode, link);
		/* No handle is open, so every live inode is still linked
		 * and no shm is mapped. */
		WH_ASSERT(ino->linked);
		inode_free(vfs, ino);
	}
	WH_ASSERT_EQ(vfs->inode_count, 0);
	WH_ASSERT_EQ(vfs->total_bytes, 0);
	/* Freed when the last dead handle closed. */
	WH_ASSERT(vfs->shm_graveyard == NULL);
	free(vfs->name);
	free(vfs);
}

sqlite3_vfs *simvfs_sqlite(struct simvfs *vfs)
{
	return &vfs->regs[0].base;
}

/* ------------------------------------------------------------------------
 * Images
 * --------------------------------------------------------------------- */

static bool inode_quiescent(const struct simvfs_inode *ino)
{
	if (ino->owner != NULL)
		return false;
	for (int i = 0; i < SQLITE_SHM_NLOCK; i++)
		if (ino->shm_excl_owner[i] != NULL)
			return false;
	return true;
}

static int image_file_cmp(const void *a, const void *b)
{
	const struct simvfs_image_file *x = a, *y = b;
	return strcmp(x->name, y->name);
}

bool simvfs_image_take(struct simvfs *vfs, struct simvfs_image *out)
{
	memset(out, 0, sizeof *out);
	if (vfs->dead_open_count > 0)
		return false;
	struct wh_queue *q;
	WH_QUEUE_FOREACH(q, &vfs->inodes)
	{
		const struct simvfs_inode *ino = wh_container_of(q, struct simvfs_inode, link);
		if (!inode_quiescent(ino))
			return false;
	}
	out->files = wh_calloc((size_t)vfs->inode_count + 1, sizeof *out->files);
	WH_QUEUE_FOREACH(q, &vfs->inodes)
	{
		const struct simvfs_inode *ino = wh_container_of(q, struct simvfs_inode, link);
		if (!ino->linked || !ino->track_durability)
			continue;
		struct simvfs_image_file *f = &out->files[out->count++];
		f->name = wh_strdup(ino->name);
		f->size = ino->size;
		f->data = wh_malloc(ino->size > 0 ? (size_t)ino->size : 1);
		if (ino->size > 0)
			memcpy(f->data, ino->data, (size_t)ino->size);
	}
	/* Creation order depends on the run; names do not. */
	qsort(out->files, out->count, sizeof *out->files, image_file_cmp);
	return true;
}

/* The open type a file of this name had: what SQLite names it after. */
static int image_open_type(const char *name)
{
	size_t n = strlen(name);
	if (n > 8 && strcmp(name + n - 8, "-journal") == 0)
		return SQLITE_OPEN_MAIN_JOURNAL;
	if (n > 4 && strcmp(name + n - 4, "-wal") == 0)
		return SQLITE_OPEN_WAL;
	return SQLITE_OPEN_MAIN_DB;
}

int simvfs_image_load(struct simvfs *vfs, const struct simvfs_image *img)
{
	for (uint32_t i = 0; i < img->count; i++) {
		const struct simvfs_image_file *f = &img->files[i];
		if (f->size < 0 || (uint64_t)f->size > vfs->cfg.max_file_bytes ||
		    strlen(f->name) > SIMVFS_PATHNAME_MAX)
			return SQLITE_FULL;
		/* A file that exists is replaced in place: its handles keep
		 * working and see the new bytes, as after a copy over it. */
		struct simvfs_inode *ino = inode_find(vfs, f->name);
		if (ino != NULL) {
			WH_ASSERT(ino->log_count == 0 && ino->shared_count == 0 &&
				  ino->owner == NULL && ino->shm_map_count == 0);
			data_zero(vfs, ino, 0, ino->size);
			inode_size_set(vfs, ino, 0);
			ino->synced_size = 0;
		} else {
			ino = inode_create(vfs, f->name, image_open_type(f->name), true);
		}
		if (ino == NULL)
			return SQLITE_NOMEM;
		if (f->size > 0)
			memcpy(ino->data, f->data, (size_t)f->size);
		inode_size_set(vfs, ino, f->size);
		/* Synced: the image is what the device holds. */
		synced_resize(vfs, ino, f->size);
		if (f->size > 0)
			memcpy(ino->synced, f->data, (size_t)f->size);
	}
	return SQLITE_OK;
}

void simvfs_image_copy(struct simvfs_image *dst, const struct simvfs_image *src)
{
	dst->count = src->count;
	dst->files = src->count ? wh_calloc(src->count, sizeof *dst->files) : NULL;
	for (uint32_t i = 0; i < src->count; i++) {
		const struct simvfs_image_file *f = &src->files[i];
		dst->files[i].name = wh_strdup(f->name);
		dst->files[i].size = f->size;
		dst->files[i].data = wh_malloc(f->size > 0 ? (size_t)f->size : 1);
		if (f->size > 0)
			memcpy(dst->files[i].data, f->data, (size_t)f->size);
	}
}

void simvfs_image_free(struct simvfs_image *img)
{
	for (uint32_t i = 0; i < img->count; i++) {
		free(img->files[i].name);
		free(img->files[i].data);
	}
	free(img->files);
	memset(img, 0, sizeof *img);
}

bool simvfs_image_equal(const struct simvfs_image *a, const struct simvfs_image *b)
{
	if (a->count != b->count)
		return false;
	for (uint32_t i = 0; i < a->count; i++) {
		const struct simvfs_image_file *x = &a->files[i], *y = &b->files[i];
		if (strcmp(x->name, y->name) != 0 || x->size != y->size ||
		    (x->size > 0 && memcmp(x->data, y->data, (size_t)x->size) != 0))
			return false;
	}
	return true;
}

int64_t simvfs_file_size(struct simvfs *vfs, const char *name)
{
	const struct simvfs_inode *ino = inode_find(vfs, name);
	return ino ? ino->size : -1;
}

int64_t simvfs_unsynced_bytes(struct simvfs *vfs, const char *name)
{
	const struct simvfs_inode *ino = inode_find(vfs, name);
	return ino ? ino->unsynced_bytes : -1;
}

int64_t simvfs_file_read(struct simvfs *vfs, const char *name, int64_t offset, void *buf,
			 int64_t n)
{
	WH_ASSERT(offset >= 0);
	WH_ASSERT(n >= 0);
	const struct simvfs_inode *ino = inode_find(vfs, name);
	if (ino == NULL)
		return -1;
	if (offset >= ino->size)
		return 0;
	int64_t got = ino->size - offset < n ? ino->size - offset : n;
	memcpy(buf, ino->data + offset, (size_t)got);
	return got;
}

int simvfs_file_count(struct simvfs *vfs)
{
	return vfs->inode_count;
}

/* Internal, for tests only (declared by tests/test_simvfs.c, not in the
 * header): 1 if the named file's synced image equals its live data (true
 * right after xSync), 0 if not, -1 if no such file. Costs a full compare. */
int simvfs__synced_equals_live(struct simvfs *vfs, const char *name);
int simvfs__synced_equals_live(struct simvfs *vfs, const char *name)
{
	const struct simvfs_inode *ino = inode_find(vfs, name);
	if (ino == NULL)
		return -1;
	if (ino->synced_size != ino->size)
		return 0;
	if (ino->size == 0)
		return 1;
	return memcmp(ino->synced, ino->data, (size_t)ino->size) == 0;
}
