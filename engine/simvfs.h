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
#include <stdint.h>

#include "completion.h"

struct simvfs;

struct simvfs_hooks {
	void *ctx;
	/* Park the caller until the scheduler picks this operation. `file` is
	 * the file's name (NULL for VFS-level calls), `arg` an op-specific
	 * argument (offset, lock level, shm slot...). Returns SQLITE_OK, or an
	 * SQLite error code that the method must return instead of running
	 * (fault injection). For WH_OP_SLEEP, `arg` is the sleep in µs. */
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

struct simvfs_config {
	int sector_size;          /* xSectorSize; default 4096 */
	int device_characteristics; /* xDeviceCharacteristics flags */
	uint64_t max_file_bytes;  /* per-file virtual reservation; writes past
				     it fail with SQLITE_FULL */
	uint32_t yield_mask;      /* bit (1u << kind) set: that op yields;
				     default all ops */
};

/* Fill defaults: sector 4096, SQLITE_IOCAP_POWERSAFE_OVERWRITE |
 * SQLITE_IOCAP_SAFE_APPEND-free unix-like characteristics, 256 MiB, all
 * kinds yield. */
void simvfs_config_default(struct simvfs_config *cfg);

/* Create and register a VFS named `name` (not as the default VFS). Returns
 * SQLITE_OK or an SQLite error code. The hooks struct is copied. */
int simvfs_create(struct simvfs **out, const char *name,
		  const struct simvfs_config *cfg,
		  const struct simvfs_hooks *hooks);
/* Unregister and free every file. All connections must be closed. */
void simvfs_destroy(struct simvfs *vfs);
sqlite3_vfs *simvfs_sqlite(struct simvfs *vfs);

/* Introspection for tests and the oracle (no yields, no trace). */
/* Current size of the named file, or -1 if it does not exist. */
int64_t simvfs_file_size(struct simvfs *vfs, const char *name);
/* Bytes written to the named file since its last sync, or -1. */
int64_t simvfs_unsynced_bytes(struct simvfs *vfs, const char *name);
/* Number of files that currently exist (open or not deleted). */
int simvfs_file_count(struct simvfs *vfs);

#endif /* WH_SIMVFS_H */
