/*
 * simvfs.h - the simulated VFS: in-memory files behind a named sqlite3_vfs
 * (iVersion 3) whose every method is a yield point of the scheduler.
 *
 * The VFS knows nothing about fibers or scheduling. Before performing a
 * method it calls hooks.yield(), which parks the calling connection until the
 * scheduler picks that operation; the method then runs atomically on the
 * in-memory state (the world is single-threaded) and reports itself through
 * hooks.trace(). Outside any connection (setup, final check) yield returns at
 * once. Time, sleep and randomness come from the hooks, never the OS.
 *
 * Semantics follow SQLite's unix VFS: lock levels SHARED/RESERVED/PENDING/
 * EXCLUSIVE on a per-name "inode" shared by every handle on that name,
 * non-blocking (conflicts return SQLITE_BUSY); shm regions per database with
 * SQLITE_SHM_NLOCK slots of shared/exclusive locks; the shm content is reset
 * when its last mapping goes away; xFetch pointers stay valid while the file
 * grows (the file buffer is a fixed virtual reservation).
 *
 * Each file keeps written-but-not-synced data apart from its synced image, so
 * power loss can be modelled on top of it.
 */
#ifndef WH_SIMVFS_H
#define WH_SIMVFS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "completion.h"
#include "prng.h"
#include "sqlapi.h"

struct simvfs;

struct simvfs_hooks {
	void *ctx;
	/* Park the caller until the scheduler picks this operation. `file` is
	 * the file's name (NULL for VFS-level calls), `arg` an op-specific
	 * argument (offset, lock level, shm slot...). Returns SQLITE_OK, or an
	 * SQLite error code that the method must return instead of running
	 * (fault injection). For WH_OP_SLEEP, `arg` is the sleep in µs; for
	 * WH_OP_SHM_LOCK it is ofst | n << 8 | flags << 16. */
	int (*yield)(void *ctx, enum wh_op_kind kind, const char *file,
		     int64_t arg);
	/* Report a finished method: op, file, two op-specific arguments
	 * (offset and amount, lock level and 0...) and the SQLite rc. */
	void (*trace)(void *ctx, enum wh_op_kind kind, const char *file,
		      int64_t a, int64_t b, int rc);
	/* Simulated clock, microseconds since the simulated epoch. */
	uint64_t (*now_us)(void *ctx);
	/* Fill out[0..n) with seeded bytes. */
	void (*randomness)(void *ctx, int n, unsigned char *out);
};

/* Whose view of the locks a handle has (--lock-model). The unix VFS
 * answers xCheckReservedLock from two places: locks above SHARED that any
 * connection of the same process holds (its per-inode record), then the
 * RESERVED byte of the file as other processes hold it (fcntl). So a
 * connection of the same process that keeps PENDING from a refused
 * EXCLUSIVE (asked straight from SHARED, as a hot-journal rollback does)
 * reads as "reserved" in its own process, and not from another. */
enum simvfs_lock_model {
	SIMVFS_LOCKS_THREAD,  /* every handle in one process (default) */
	SIMVFS_LOCKS_PROCESS, /* each handle in a process of its own */
};

struct simvfs_config {
	int sector_size;          /* xSectorSize; default 4096 */
	int device_characteristics; /* xDeviceCharacteristics flags */
	uint64_t max_file_bytes;  /* per-file virtual reservation; writes past
				     it fail with SQLITE_FULL */
	uint32_t yield_mask;      /* bit (1u << kind) set: that op yields;
				     default all ops */
	const struct wh_sqlapi *api; /* the library to register with;
					default (and NULL) the linked one */
	enum simvfs_lock_model lock_model; /* default THREAD */
};

/* Fill defaults: sector 4096, SQLITE_IOCAP_POWERSAFE_OVERWRITE |
 * SQLITE_IOCAP_SAFE_APPEND-free unix-like characteristics, 256 MiB, all
 * kinds yield. */
void simvfs_config_default(struct simvfs_config *cfg);

/* Create a VFS named `name` and register it (not as the default VFS) in
 * cfg->api's library. Returns SQLITE_OK or an SQLite error code. The
 * hooks struct is copied. */
/* Hooks for a private VFS that reads or repairs a run's files outside
 * any run (the shrinker's check of a window's files, the rollback of a
 * hot journal before a run from files): nothing yields, time stands
 * still and "random" bytes are zeros (a read or a rollback draws none).
 * Nothing done through them reaches a run. */
extern const struct simvfs_hooks simvfs_hooks_still;

int simvfs_create(struct simvfs **out, const char *name,
		  const struct simvfs_config *cfg,
		  const struct simvfs_hooks *hooks);
/* Register the same VFS (same files, locks and hooks) in a second
 * library under the same name, through a struct of its own: a library
 * writes its list link into the struct it registers, so one struct never
 * goes to two libraries. Each handle remembers the library that opened
 * it, whose sqlite3_mprintf makes (and whose sqlite3_free frees) the
 * strings its xFileControl returns. At most one extra library; not one
 * the VFS is already in (asserted). Returns SQLITE_OK or an SQLite
 * error code. */
int simvfs_register_in(struct simvfs *vfs, const struct wh_sqlapi *api);
/* Unregister from every library and free every file. All connections
 * must be closed. */
void simvfs_destroy(struct simvfs *vfs);
/* The struct registered in cfg->api's library. */
sqlite3_vfs *simvfs_sqlite(struct simvfs *vfs);

/* ---- Faults, power loss, planted bugs ---------------------------- */

/* Planted defects, so tests can prove the oracle sees what it must. */
enum simvfs_bug {
	SIMVFS_BUG_NONE,
	SIMVFS_BUG_NO_LOCKS,     /* xLock always grants */
	SIMVFS_BUG_NO_SHM_LOCKS, /* xShmLock never excludes */
	SIMVFS_BUG_LYING_FSYNC,  /* xSync reports success, syncs nothing */
};
/* NO_LOCKS: xLock grants every level at once, as if each handle were alone
 * on the file (xCheckReservedLock reports only the caller's own lock).
 * NO_SHM_LOCKS: xShmLock returns SQLITE_OK and records nothing.
 * LYING_FSYNC: xSync returns SQLITE_OK and leaves the data unsynced, so a
 * power loss can lose it. A change into or out of NO_LOCKS or NO_SHM_LOCKS
 * requires that no live handle is open (asserted): locks granted under one
 * rule cannot be released under the other. LYING_FSYNC may change at any
 * time. */
void simvfs_set_bug(struct simvfs *vfs, enum simvfs_bug bug);
/* The defects' names (--vfs-bug), indexed by enum simvfs_bug, NULL after
 * the last: "none", "no-locks", "no-shm-locks", "lying-fsync". */
extern const char *const simvfs_bug_names[];

/* A byte quota over the sum of all file sizes (0: none). A write or
 * truncate that would grow the total past it fails with SQLITE_FULL,
 * as a full disk does. */
void simvfs_set_quota(struct simvfs *vfs, uint64_t total_bytes);

struct simvfs_crash_stats {
	uint64_t sectors_lost;    /* unsynced sectors that reverted */
	uint64_t sectors_kept;    /* unsynced sectors that survived */
	uint64_t sectors_garbage; /* unsynced sectors torn into garbage */
	uint32_t files_affected;  /* files that had unsynced data */
	uint64_t torn_outside;    /* bytes on the disk before the crash,
				     outside the write being torn, that
				     its tear damaged (only without
				     powersafe overwrite) */
};

/* Power loss. Every byte written but not synced may be lost, kept, or
 * (per sector) replaced with garbage, under the VFS's sector size and
 * device characteristics (SQLITE_IOCAP_ATOMIC*: a sector is never torn;
 * POWERSAFE_OVERWRITE: damage stays inside the written sectors;
 * SAFE_APPEND: appended data never shows up as garbage; SEQUENTIAL: once
 * one write is lost, every later one is too). Unsynced truncates and size
 * changes may also be lost. Shared memory is lost. Temp files vanish. The
 * live image of each file becomes its post-crash image (synced := live).
 * Every handle open at the time is dead from now on: each later method on
 * it fails with SQLITE_IOERR (xClose, xShmUnmap, xUnfetch and xUnlock
 * succeed without effect) and never touches the new image; its locks are
 * gone. Decisions draw only from rng. */
/* Details of the model (simvfs.c's opening comment has the full story):
 * - Decisions are made per sector of each unsynced write, replaying every
 *   file's unsynced writes and truncates onto its synced image in the
 *   order they were issued across all files. A lost sector keeps what it
 *   held before that write. Each power loss first draws its own odds of
 *   keeping and of tearing, so some crashes lose nearly everything and
 *   some nearly nothing.
 * - A dead handle's failing methods return the extended code of the
 *   method (simvfs_fault_code), xFileControl SQLITE_IOERR; xShmBarrier
 *   does nothing. A failed xRead zero-fills the buffer.
 * - With SQLITE_IOCAP_SEQUENTIAL, xSync makes every file's earlier writes
 *   durable (the device writes in order, so a flush covers them all).
 * - Directory operations (create, delete) are durable at once. Files
 *   deleted while open vanish with the temp files.
 * - out may be NULL. */
void simvfs_power_loss(struct simvfs *vfs, struct wh_prng *rng,
		       struct simvfs_crash_stats *out);

/* The caller's side of a power loss (the VFS cannot tell which caller
 * belongs to the dead process):
 * - A method parked in hooks.yield when the power fails resumes dead: it
 *   does not run and fails as above (a VFS-level xOpen with
 *   SQLITE_CANTOPEN, xDelete with SQLITE_IOERR_DELETE, xAccess with
 *   SQLITE_IOERR_ACCESS).
 * - A dead handle's methods neither yield nor run; they are traced with
 *   the code they return.
 * - VFS-level calls (xOpen, xDelete, xAccess) carry no handle: those a dead
 *   connection makes after the crash must be refused by the yield hook,
 *   or the dead process could delete the new process's hot journal. Run
 *   nothing on a dead connection but its rollback and close.
 * - Shared-memory regions of the old process stay allocated (SQLite may
 *   still touch them through pointers it holds) until the last dead
 *   handle is closed; every dead connection must be closed before
 *   simvfs_destroy. */

/* Flip one bit at a seeded offset of a seeded non-empty file (in both the
 * live and the synced image). Writes a description ("whopper.db offset
 * 8197 bit 3") to desc. Returns 0, or -1 when no file has data.
 * Candidates are the files that exist by name and survive a crash (temp
 * files never); a main database or WAL is chosen when there is one. The
 * bit is flipped in every version of the byte the VFS holds (live data,
 * synced image, unsynced writes), so it survives a sync and a power loss
 * alike. Draws only from rng. */
int simvfs_bitflip(struct simvfs *vfs, struct wh_prng *rng, char *desc,
		   size_t desc_len);

/* The code a real VFS returns when an operation of this kind fails, for
 * the yield hook's fault injection; 0 for kinds that cannot fail (or whose
 * failure SQLite ignores):
 *   OPEN      SQLITE_CANTOPEN           CLOSE     SQLITE_IOERR_CLOSE
 *   DELETE    SQLITE_IOERR_DELETE       ACCESS    SQLITE_IOERR_ACCESS
 *   FULLPATH  SQLITE_CANTOPEN_FULLPATH  READ      SQLITE_IOERR_READ
 *   WRITE     SQLITE_IOERR_WRITE        TRUNCATE  SQLITE_IOERR_TRUNCATE
 *   SYNC      SQLITE_IOERR_FSYNC        FILESIZE  SQLITE_IOERR_FSTAT
 *   LOCK      SQLITE_IOERR_LOCK         UNLOCK    SQLITE_IOERR_UNLOCK
 *   CHECK_RESERVED SQLITE_IOERR_CHECKRESERVEDLOCK
 *   SHM_MAP   SQLITE_IOERR_SHMMAP       SHM_LOCK  SQLITE_IOERR_SHMLOCK
 *   FETCH     SQLITE_IOERR_MMAP
 *   FILE_CONTROL, SHM_BARRIER, SHM_UNMAP, UNFETCH, SLEEP, THINK, GROUP: 0.
 * (The unix VFS says SQLITE_IOERR_RDLOCK when a SHARED request fails; a
 * hook that wants that can test the yield argument, the level.) An
 * injected read fault leaves the caller's buffer zeroed; SQLITE_FULL (a
 * full disk) is also a valid answer for WRITE and TRUNCATE. */
int simvfs_fault_code(enum wh_op_kind kind);

/* ---- Images: the files at one moment ---------------------------- */

/* The files at one moment of a run, so another run can start from them
 * (the shrinker's collapsed prefix when the state lives in the files
 * alone, as a hot journal does). Only files that exist by name and
 * survive a crash (no temp files); shared memory is not part of it (the
 * first connection to open rebuilds it, as after a restart). */
struct simvfs_image_file {
	char *name;
	unsigned char *data;
	int64_t size;
};
struct simvfs_image {
	struct simvfs_image_file *files; /* sorted by name */
	uint32_t count;
};

/* The live contents of every file, if the files are quiescent: no handle
 * holds a database lock above SHARED or an exclusive shm lock (no writer,
 * checkpointer or recovery is mid-way), and no handle of a process lost
 * to a power loss is open. Returns false (out empty) when they are not.
 * Unsynced data is taken as written: the image is what a process that
 * restarts without a power loss finds. */
bool simvfs_image_take(struct simvfs *vfs, struct simvfs_image *out);
/* Create the image's files, synced. A file of the image that exists is
 * replaced in place (its handles then see the image's bytes); it must be
 * unlocked, unmapped and fully synced (asserted). Returns SQLITE_OK,
 * SQLITE_FULL when a file is larger than the VFS allows, or
 * SQLITE_NOMEM. */
int simvfs_image_load(struct simvfs *vfs, const struct simvfs_image *img);
void simvfs_image_copy(struct simvfs_image *dst, const struct simvfs_image *src);
void simvfs_image_free(struct simvfs_image *img);
/* Byte-equal images (same names, sizes and contents). */
bool simvfs_image_equal(const struct simvfs_image *a, const struct simvfs_image *b);

/* Introspection for tests and the oracle (no yields, no trace). */
/* Current size of the named file, or -1 if it does not exist. */
int64_t simvfs_file_size(struct simvfs *vfs, const char *name);
/* Bytes written to the named file since its last sync, or -1. */
int64_t simvfs_unsynced_bytes(struct simvfs *vfs, const char *name);
/* Copy up to n bytes of the named file's live data from offset into buf;
 * returns the number copied (0 past the end), or -1 if no such file. */
int64_t simvfs_file_read(struct simvfs *vfs, const char *name, int64_t offset, void *buf,
			 int64_t n);
/* Number of files that currently exist (open or not deleted). */
int simvfs_file_count(struct simvfs *vfs);

#endif /* WH_SIMVFS_H */
