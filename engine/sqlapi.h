/*
 * sqlapi.h - the SQLite a run targets, as a table of entry points: the
 * seam that lets whopper drive any library with the sqlite3 C API, not
 * only the one it was linked with.
 *
 * Two kinds of table:
 *   wh_sqlapi_linked   the SQLite whopper was linked with (filled from the
 *                      linked symbols at compile time). The oracle's
 *                      reference always runs on it, whatever the target:
 *                      a bug in the target cannot hide itself by agreeing
 *                      with itself.
 *   wh_sqlapi_load()   a shared library loaded at run time (dlopen, each
 *                      entry point found by dlsym). Loaded once per
 *                      process and never unloaded: the library's global
 *                      configuration points at whopper's allocator hooks
 *                      and VFS.
 *
 * Everything on the target path calls through the table: the connection
 * driver, setup, recovery, statement binds, the digest of a recovered
 * database, the simulated VFS's registration (and its sqlite3_mprintf
 * results, freed by the library that asked), the allocator hooks, the
 * PRNG reseed, initialize/shutdown/config.
 *
 * Rules a caller keeps:
 *   - Memory one library allocated is freed by that library (its
 *     sqlite3_free): the tables never mix.
 *   - A sqlite3_vfs struct is registered in one library only: each
 *     library writes its own list link (pNext) into the struct.
 *   - An sqlite3 or sqlite3_stmt handle is used only with the table that
 *     made it.
 *
 * Identity: version string and number, source id, a hash of the compile
 * options (so a debug build and a plain build of one version differ) and
 * the file it came from. Replay files record it; a recording is replayed
 * only on the same identity.
 */
#ifndef WH_SQLAPI_H
#define WH_SQLAPI_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every entry point the target path calls, by its name without the
 * sqlite3_ prefix. A library lacking one of these is refused. The field
 * types come from the linked header's prototypes (__typeof__), so the
 * table cannot drift from them. */
#define WH_SQLAPI_REQUIRED(X)                                               \
	X(libversion) X(libversion_number) X(sourceid)                      \
	X(initialize) X(shutdown) X(config) X(threadsafe) X(randomness)     \
	X(vfs_find) X(vfs_register) X(vfs_unregister)                       \
	X(mprintf) X(free)                                                  \
	X(open_v2) X(close_v2) X(close) X(exec) X(errmsg) X(errstr)         \
	X(extended_errcode) X(busy_timeout) X(get_autocommit) X(changes)    \
	X(progress_handler)                                                 \
	X(prepare_v2) X(step) X(reset) X(finalize)                          \
	X(column_count) X(column_type) X(column_int) X(column_int64)        \
	X(column_double) X(column_text) X(column_blob) X(column_bytes)      \
	X(bind_int64) X(bind_double) X(bind_text) X(bind_blob) X(bind_null)

/* Entry points with a fallback, so that older builds and forks still run:
 *   changes64         (3.37.0) falls back to sqlite3_changes;
 *   compileoption_get (absent under SQLITE_OMIT_COMPILEOPTION_DIAGS): the
 *                     identity then has no options hash (0);
 *   db_status         (bench only): without it a run's profile (world.h)
 *                     has no page cache size;
 *   db_config         without it (or without the option a caller
 *                     asks for, e.g. NO_CKPT_ON_CLOSE before 3.16.2) the
 *                     caller goes without. */
#define WH_SQLAPI_OPTIONAL(X) X(changes64) X(compileoption_get) X(db_status) X(db_config)

/* The oldest SQLite whopper can drive: the simulated VFS is version 3
 * (xFetch/xUnfetch, 3.7.17); sqlite3_close_v2 (3.7.14) and sqlite3_errstr
 * (3.7.15) are older still. */
#define WH_SQLAPI_VERSION_MIN 3007017

struct wh_sqlapi {
#define WH_SQLAPI_FIELD(name) __typeof__(sqlite3_##name) *name;
	WH_SQLAPI_REQUIRED(WH_SQLAPI_FIELD)
	WH_SQLAPI_OPTIONAL(WH_SQLAPI_FIELD) /* may be NULL */
#undef WH_SQLAPI_FIELD
	bool linked;          /* the linked SQLite (wh_sqlapi_linked) */
	const char *path;     /* the file it was loaded from (owned by the
				 table, lives until exit); NULL when linked:
				 see wh_sqlapi_path */
	uint64_t options_hash; /* hash of the compile options; 0 when linked:
				  see wh_sqlapi_options_hash */
};

/* The SQLite whopper was linked with. */
extern const struct wh_sqlapi wh_sqlapi_linked;

/* Load the library at path (RTLD_NOW | RTLD_LOCAL, and RTLD_DEEPBIND
 * except in AddressSanitizer builds, which refuse it: there the library
 * must be linked with -Wl,-Bsymbolic so that its calls to itself stay
 * inside it, and one that is not is refused). Returns 0 with *out set,
 * or -1 with a one-line reason in err naming the library and what is
 * wrong (cannot load, a missing entry point, too old). Loading the same
 * file twice gives the same table; a path that resolves to the linked
 * SQLite itself gives &wh_sqlapi_linked. Main thread only. */
int wh_sqlapi_load(const char *path, const struct wh_sqlapi **out, char *err, size_t err_len);

/* Identity. The version string, e.g. "3.40.1". */
const char *wh_sqlapi_version(const struct wh_sqlapi *api);
int wh_sqlapi_version_number(const struct wh_sqlapi *api);
const char *wh_sqlapi_source_id(const struct wh_sqlapi *api);
/* The file the library's code lives in (for the linked SQLite, the
 * shared object the dynamic linker found, or "linked" when it is static). */
const char *wh_sqlapi_path(const struct wh_sqlapi *api);
/* FNV-1a over the compile options, one per line (0 when the library does
 * not list them). */
uint64_t wh_sqlapi_options_hash(const struct wh_sqlapi *api);
/* Is sqlite3_changes64 there? Else sqlite3_changes, widened. */
static inline int64_t wh_sqlapi_changes(const struct wh_sqlapi *api, sqlite3 *db)
{
	return api->changes64 != NULL ? (int64_t)api->changes64(db) : (int64_t)api->changes(db);
}

#endif /* WH_SQLAPI_H */
