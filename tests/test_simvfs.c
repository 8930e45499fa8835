/*
 * test_simvfs.c - the simulated VFS, first at the sqlite3_io_methods level
 * (files, locks, shm, durability log, xFetch), then under real SQLite
 * connections (WAL, rollback journal, temp files, mmap), with trivial hooks:
 * yield counts calls per kind and can inject one error, the clock is a
 * counter that xSleep advances, randomness is a counter fill.
 *
 * Connections here run one after another (no scheduler), so interleavings
 * are written out by hand: a reader's open snapshot, a writer stuck at
 * PENDING, and so on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "simvfs.h"

/* Internal to simvfs.c (not in the header): 1 if the synced image equals
 * the live data, 0 if not, -1 if the file does not exist. */
int simvfs__synced_equals_live(struct simvfs *vfs, const char *name);

#define TEST_VFS "simvfs-test"
#define TEMP_PREFIX "/simvfs-temp/"
#define DB_FLAGS                                                            \
	(SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)

/* ------------------------------------------------------------------------
 * Hooks and fixture
 * --------------------------------------------------------------------- */

struct world {
	uint64_t yields[WH_OP__COUNT]; /* yield calls per kind */
	uint64_t traces[WH_OP__COUNT]; /* trace calls per kind */
	uint64_t now_us;               /* the clock; sleeps advance it */
	uint64_t rand_counter;         /* next randomness byte seed */
	uint64_t trace_hash;           /* FNV-1a over every trace */
	int temp_opens;                /* OPEN traces of anonymous files */
	int fail_kind;                 /* inject on this kind, or -1 */
	int fail_rc;                   /* the code injected */
};

static int hook_yield(void *ctx, enum wh_op_kind kind, const char *file,
		      int64_t arg)
{
	struct world *w = ctx;
	(void)file;
	w->yields[kind]++;
	if (kind == WH_OP_SLEEP)
		w->now_us += (uint64_t)arg;
	if ((int)kind == w->fail_kind)
		return w->fail_rc;
	return SQLITE_OK;
}

static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 0x100000001b3ULL;
	}
}

static void hook_trace(void *ctx, enum wh_op_kind kind, const char *file,
		       int64_t a, int64_t b, int rc)
{
	struct world *w = ctx;
	w->traces[kind]++;
	if (kind == WH_OP_OPEN && file != NULL &&
	    strncmp(file, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0)
		w->temp_opens++;
	int k = (int)kind;
	hash_bytes(&w->trace_hash, &k, sizeof(k));
	hash_bytes(&w->trace_hash, &a, sizeof(a));
	hash_bytes(&w->trace_hash, &b, sizeof(b));
	hash_bytes(&w->trace_hash, &rc, sizeof(rc));
	if (file != NULL)
		hash_bytes(&w->trace_hash, file, strlen(file));
}

static uint64_t hook_now_us(void *ctx)
{
	return ((struct world *)ctx)->now_us;
}

static void hook_randomness(void *ctx, int n, unsigned char *out)
{
	struct world *w = ctx;
	for (int i = 0; i < n; i++)
		out[i] = (unsigned char)(w->rand_counter++ * 131u + 7u);
}

/* Raw handles and connections a test has open. A failing cmocka assertion
 * longjmps out of the test; teardown closes what is left so the VFS can
 * still be destroyed and the remaining tests run. One fixture exists at a
 * time, so the registry is file-wide. */
#define OPEN_MAX 16
static sqlite3_file *open_files[OPEN_MAX];
static sqlite3 *open_dbs[OPEN_MAX];

static void file_track(sqlite3_file *f)
{
	for (int i = 0; i < OPEN_MAX; i++)
		if (open_files[i] == NULL) {
			open_files[i] = f;
			return;
		}
	fail_msg("more than %d raw handles open", OPEN_MAX);
}

static void file_untrack(sqlite3_file *f)
{
	for (int i = 0; i < OPEN_MAX; i++)
		if (open_files[i] == f) {
			open_files[i] = NULL;
			return;
		}
	fail_msg("handle %p is not open", (void *)f);
}

static void db_track(sqlite3 *db)
{
	for (int i = 0; i < OPEN_MAX; i++)
		if (open_dbs[i] == NULL) {
			open_dbs[i] = db;
			return;
		}
	fail_msg("more than %d connections open", OPEN_MAX);
}

static void db_untrack(sqlite3 *db)
{
	for (int i = 0; i < OPEN_MAX; i++)
		if (open_dbs[i] == db) {
			open_dbs[i] = NULL;
			return;
		}
	fail_msg("connection %p is not open", (void *)db);
}

struct fx {
	struct world w;
	struct simvfs *vfs;
	sqlite3_vfs *base;
};

static struct fx *fx_new(const struct simvfs_config *cfg)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->w.fail_kind = -1;
	fx->w.trace_hash = 0xcbf29ce484222325ULL;
	struct simvfs_config def;
	simvfs_config_default(&def);
	struct simvfs_hooks hooks = {
		.ctx = &fx->w,
		.yield = hook_yield,
		.trace = hook_trace,
		.now_us = hook_now_us,
		.randomness = hook_randomness,
	};
	assert_int_equal(simvfs_create(&fx->vfs, TEST_VFS, cfg ? cfg : &def,
				       &hooks),
			 SQLITE_OK);
	fx->base = simvfs_sqlite(fx->vfs);
	assert_ptr_equal(sqlite3_vfs_find(TEST_VFS), fx->base);
	return fx;
}

static void fx_free(struct fx *fx)
{
	/* Leftovers exist only when a test failed half-way. */
	fx->w.fail_kind = -1;
	for (int i = 0; i < OPEN_MAX; i++) {
		if (open_dbs[i] != NULL)
			sqlite3_close_v2(open_dbs[i]);
		open_dbs[i] = NULL;
	}
	for (int i = 0; i < OPEN_MAX; i++) {
		if (open_files[i] != NULL) {
			open_files[i]->pMethods->xClose(open_files[i]);
			free(open_files[i]);
		}
		open_files[i] = NULL;
	}
	simvfs_destroy(fx->vfs);
	assert_null(sqlite3_vfs_find(TEST_VFS));
	free(fx);
}

static int fx_setup(void **state)
{
	*state = fx_new(NULL);
	return 0;
}

static int fx_setup_small(void **state)
{
	struct simvfs_config cfg;
	simvfs_config_default(&cfg);
	cfg.max_file_bytes = 65536;
	*state = fx_new(&cfg);
	return 0;
}

static int fx_teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* ------------------------------------------------------------------------
 * Helpers: raw handles and SQL
 * --------------------------------------------------------------------- */

static sqlite3_file *h_open(struct fx *fx, const char *name, int flags,
			    int *rc_out)
{
	sqlite3_file *f = calloc(1, (size_t)fx->base->szOsFile);
	assert_non_null(f);
	int out_flags = -1;
	int rc = fx->base->xOpen(fx->base, name, f, flags, &out_flags);
	if (rc_out != NULL)
		*rc_out = rc;
	if (rc != SQLITE_OK) {
		assert_null(f->pMethods); /* SQLite must not call xClose */
		free(f);
		return NULL;
	}
	file_track(f);
	assert_int_equal(out_flags, flags);
	return f;
}

static sqlite3_file *h_open_ok(struct fx *fx, const char *name, int flags)
{
	int rc = -1;
	sqlite3_file *f = h_open(fx, name, flags, &rc);
	assert_int_equal(rc, SQLITE_OK);
	return f;
}

static void h_close(sqlite3_file *f)
{
	file_untrack(f);
	assert_int_equal(f->pMethods->xClose(f), SQLITE_OK);
	free(f);
}

static int h_write(sqlite3_file *f, const void *buf, int n, int64_t off)
{
	return f->pMethods->xWrite(f, buf, n, off);
}

static int h_read(sqlite3_file *f, void *buf, int n, int64_t off)
{
	return f->pMethods->xRead(f, buf, n, off);
}

static int64_t h_size(sqlite3_file *f)
{
	sqlite3_int64 n = -1;
	assert_int_equal(f->pMethods->xFileSize(f, &n), SQLITE_OK);
	return n;
}

static int h_lockstate(sqlite3_file *f)
{
	int level = -1;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_LOCKSTATE, &level),
		SQLITE_OK);
	return level;
}

static int h_reserved(sqlite3_file *f)
{
	int r = -1;
	assert_int_equal(f->pMethods->xCheckReservedLock(f, &r), SQLITE_OK);
	return r;
}

static int h_access(struct fx *fx, const char *name, int flags)
{
	int r = -1;
	assert_int_equal(fx->base->xAccess(fx->base, name, flags, &r),
			 SQLITE_OK);
	return r;
}

static void *h_shm_map(sqlite3_file *f, int region, int extend)
{
	void volatile *p = (void *)f; /* poison: must be overwritten */
	assert_int_equal(f->pMethods->xShmMap(f, region, 32768, extend, &p),
			 SQLITE_OK);
	return (void *)p;
}

static sqlite3 *db_open(const char *name)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(name, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 TEST_VFS);
	assert_int_equal(rc, SQLITE_OK);
	db_track(db);
	return db;
}

static void db_close(sqlite3 *db)
{
	db_untrack(db);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int db_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void db_exec_ok(sqlite3 *db, const char *sql)
{
	int rc = db_exec(db, sql);
	if (rc != SQLITE_OK)
		print_error("%s: %s\n", sql, sqlite3_errmsg(db));
	assert_int_equal(rc, SQLITE_OK);
}

/* Run a one-row query; returns its step rc and copies column 0 as text. */
static int db_query(sqlite3 *db, const char *sql, char *out, size_t out_bytes)
{
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(out, out_bytes, "%s", t ? (const char *)t : "NULL");
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static long long db_query_int(sqlite3 *db, const char *sql)
{
	char buf[64];
	int rc = db_query(db, sql, buf, sizeof(buf));
	if (rc != SQLITE_OK)
		print_error("%s: %s\n", sql, sqlite3_errmsg(db));
	assert_int_equal(rc, SQLITE_OK);
	return strtoll(buf, NULL, 10);
}

static void db_assert_integrity(sqlite3 *db)
{
	char buf[256];
	assert_int_equal(db_query(db, "PRAGMA integrity_check", buf,
				  sizeof(buf)),
			 SQLITE_OK);
	assert_string_equal(buf, "ok");
}

static void db_insert_rows(sqlite3 *db, int first, int count)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT %d UNION ALL SELECT i+1 "
		 "FROM c WHERE i < %d) INSERT INTO t(x, y) SELECT i, "
		 "printf('row-%%08d-%%s', i, hex(zeroblob(40))) FROM c",
		 first, first + count - 1);
	db_exec_ok(db, sql);
}

/* ------------------------------------------------------------------------
 * File data
 * --------------------------------------------------------------------- */

/* Proves write/read/truncate/size agree, a gap and a regrown tail read back
 * as zeros, and a read past EOF zero-fills with SQLITE_IOERR_SHORT_READ. */
static void test_file_roundtrip(void **state)
{
	struct fx *fx = *state;
	sqlite3_file *f = h_open_ok(fx, "a.db", DB_FLAGS);
	unsigned char buf[64];

	assert_int_equal(h_size(f), 0);
	assert_int_equal(h_write(f, "hello", 5, 0), SQLITE_OK);
	assert_int_equal(h_write(f, "xyz", 3, 8192), SQLITE_OK);
	assert_int_equal(h_size(f), 8195);
	assert_int_equal(simvfs_file_size(fx->vfs, "a.db"), 8195);

	assert_int_equal(h_read(f, buf, 5, 0), SQLITE_OK);
	assert_memory_equal(buf, "hello", 5);
	memset(buf, 0xAA, sizeof(buf));
	assert_int_equal(h_read(f, buf, 4, 4096), SQLITE_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(buf[i], 0); /* the gap */

	memset(buf, 0xAA, sizeof(buf));
	assert_int_equal(h_read(f, buf, 10, 8190), SQLITE_IOERR_SHORT_READ);
	assert_int_equal(buf[2], 'x');
	assert_int_equal(buf[4], 'z');
	for (int i = 5; i < 10; i++)
		assert_int_equal(buf[i], 0);
	memset(buf, 0xAA, sizeof(buf));
	assert_int_equal(h_read(f, buf, 8, 100000), SQLITE_IOERR_SHORT_READ);
	for (int i = 0; i < 8; i++)
		assert_int_equal(buf[i], 0);

	assert_int_equal(f->pMethods->xTruncate(f, 4), SQLITE_OK);
	assert_int_equal(h_size(f), 4);
	memset(buf, 0xAA, sizeof(buf));
	assert_int_equal(h_read(f, buf, 8, 0), SQLITE_IOERR_SHORT_READ);
	assert_memory_equal(buf, "hell\0\0\0\0", 8);

	/* Growing again must not resurrect the truncated bytes. */
	assert_int_equal(f->pMethods->xTruncate(f, 9000), SQLITE_OK);
	assert_int_equal(h_size(f), 9000);
	memset(buf, 0xAA, sizeof(buf));
	assert_int_equal(h_read(f, buf, 8, 8190), SQLITE_OK);
	for (int i = 0; i < 8; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(h_read(f, buf, 1, 4), SQLITE_OK);
	assert_int_equal(buf[0], 0);
	h_close(f);
	assert_int_equal(simvfs_file_size(fx->vfs, "a.db"), 9000);
}

/* Proves big truncates return pages and still read back as zeros (the
 * madvise path), across a page-unaligned boundary. */
static void test_big_truncate_zeroes(void **state)
{
	struct fx *fx = *state;
	sqlite3_file *f = h_open_ok(fx, "big.db", DB_FLAGS);
	size_t n = 1u << 20;
	unsigned char *pat = malloc(n);
	assert_non_null(pat);
	memset(pat, 0x5A, n);
	assert_int_equal(h_write(f, pat, (int)n, 0), SQLITE_OK);
	assert_int_equal(f->pMethods->xTruncate(f, 1234), SQLITE_OK);
	assert_int_equal(f->pMethods->xTruncate(f, (sqlite3_int64)n),
			 SQLITE_OK);
	memset(pat, 0xAA, n);
	assert_int_equal(h_read(f, pat, (int)n, 0), SQLITE_OK);
	for (size_t i = 0; i < n; i++)
		if (pat[i] != (i < 1234 ? 0x5A : 0))
			fail_msg("byte %zu is %d", i, pat[i]);
	free(pat);
	h_close(f);
}

/* Proves writes and truncates past max_file_bytes fail with SQLITE_FULL
 * and leave the file as it was. */
static void test_write_past_max_is_full(void **state)
{
	struct fx *fx = *state;
	sqlite3_file *f = h_open_ok(fx, "small.db", DB_FLAGS);
	char buf[32] = "0123456789012345678901234567890";
	assert_int_equal(h_write(f, buf, 20, 65536 - 20), SQLITE_OK);
	assert_int_equal(h_write(f, buf, 20, 65536 - 10), SQLITE_FULL);
	assert_int_equal(f->pMethods->xTruncate(f, 65537), SQLITE_FULL);
	assert_int_equal(h_size(f), 65536);
	h_close(f);
}

/* ------------------------------------------------------------------------
 * Names and lifetimes
 * --------------------------------------------------------------------- */

/* Proves CREATE/EXCLUSIVE/CANTOPEN, DELETE_NOENT, unix xAccess (a zero-size
 * file does not "exist"), and xFullPathname copying the name. */
static void test_open_flags_and_access(void **state)
{
	struct fx *fx = *state;
	int rc = -1;
	assert_null(h_open(fx, "missing.db",
			   SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_READWRITE, &rc));
	assert_int_equal(rc, SQLITE_CANTOPEN);
	assert_int_equal(fx->base->xDelete(fx->base, "missing.db", 0),
			 SQLITE_IOERR_DELETE_NOENT);
	assert_int_equal(h_access(fx, "missing.db", SQLITE_ACCESS_EXISTS), 0);
	assert_int_equal(h_access(fx, "missing.db", SQLITE_ACCESS_READWRITE),
			 0);

	sqlite3_file *f = h_open_ok(fx, "e.db-journal",
				    SQLITE_OPEN_MAIN_JOURNAL |
					    SQLITE_OPEN_READWRITE |
					    SQLITE_OPEN_CREATE);
	assert_null(h_open(fx, "e.db-journal",
			   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				   SQLITE_OPEN_EXCLUSIVE,
			   &rc));
	assert_int_equal(rc, SQLITE_CANTOPEN);
	assert_int_equal(h_access(fx, "e.db-journal", SQLITE_ACCESS_EXISTS),
			 0);
	assert_int_equal(h_access(fx, "e.db-journal", SQLITE_ACCESS_READWRITE),
			 1);
	assert_int_equal(h_write(f, "j", 1, 0), SQLITE_OK);
	assert_int_equal(h_access(fx, "e.db-journal", SQLITE_ACCESS_EXISTS),
			 1);
	h_close(f);

	/* A read-only handle cannot write. */
	f = h_open_ok(fx, "e.db-journal",
		      SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_READONLY);
	assert_int_equal(h_write(f, "j", 1, 0), SQLITE_IOERR_WRITE);
	h_close(f);
	assert_int_equal(fx->base->xDelete(fx->base, "e.db-journal", 1),
			 SQLITE_OK);
	assert_int_equal(simvfs_file_count(fx->vfs), 0);

	char out[513];
	assert_int_equal(fx->base->xFullPathname(fx->base, "rel/x.db",
						 (int)sizeof(out), out),
			 SQLITE_OK);
	assert_string_equal(out, "rel/x.db");
	assert_int_equal(fx->base->xFullPathname(fx->base, "rel/x.db", 4, out),
			 SQLITE_CANTOPEN);
}

/* Proves unix unlink semantics: a deleted file stays readable through open
 * handles, is gone by name, reports HAS_MOVED, and is freed at last close;
 * anonymous and DELETEONCLOSE files vanish on close. */
static void test_delete_while_open(void **state)
{
	struct fx *fx = *state;
	sqlite3_file *f = h_open_ok(fx, "d.db", DB_FLAGS);
	assert_int_equal(h_write(f, "data", 4, 0), SQLITE_OK);
	assert_int_equal(simvfs_file_count(fx->vfs), 1);
	int moved = -1;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_HAS_MOVED, &moved),
		SQLITE_OK);
	assert_int_equal(moved, 0);

	assert_int_equal(fx->base->xDelete(fx->base, "d.db", 0), SQLITE_OK);
	assert_int_equal(simvfs_file_size(fx->vfs, "d.db"), -1);
	assert_int_equal(h_access(fx, "d.db", SQLITE_ACCESS_EXISTS), 0);
	assert_int_equal(simvfs_file_count(fx->vfs), 1); /* still open */
	char buf[4];
	assert_int_equal(h_read(f, buf, 4, 0), SQLITE_OK);
	assert_memory_equal(buf, "data", 4);
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_HAS_MOVED, &moved),
		SQLITE_OK);
	assert_int_equal(moved, 1);

	/* The name now leads to a new, empty file. */
	sqlite3_file *g = h_open_ok(fx, "d.db", DB_FLAGS);
	assert_int_equal(h_size(g), 0);
	assert_int_equal(simvfs_file_count(fx->vfs), 2);
	h_close(f);
	assert_int_equal(simvfs_file_count(fx->vfs), 1);
	h_close(g);
	assert_int_equal(simvfs_file_count(fx->vfs), 1);

	/* Anonymous temp file: usable, counted while open, gone after. */
	int traces_before = fx->w.temp_opens;
	sqlite3_file *t = h_open_ok(fx, NULL,
				    SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_READWRITE |
					    SQLITE_OPEN_CREATE |
					    SQLITE_OPEN_DELETEONCLOSE);
	assert_int_equal(fx->w.temp_opens, traces_before + 1);
	assert_int_equal(h_write(t, "tmp", 3, 0), SQLITE_OK);
	assert_int_equal(t->pMethods->xSync(t, SQLITE_SYNC_NORMAL), SQLITE_OK);
	assert_int_equal(simvfs_file_count(fx->vfs), 2);
	h_close(t);
	assert_int_equal(simvfs_file_count(fx->vfs), 1);

	/* DELETEONCLOSE on a named file: unlinked at once, as unix does. */
	t = h_open_ok(fx, "doc.tmp",
		      SQLITE_OPEN_TRANSIENT_DB | SQLITE_OPEN_READWRITE |
			      SQLITE_OPEN_CREATE | SQLITE_OPEN_DELETEONCLOSE);
	assert_int_equal(simvfs_file_size(fx->vfs, "doc.tmp"), -1);
	assert_int_equal(simvfs_file_count(fx->vfs), 2);
	h_close(t);
	assert_int_equal(simvfs_file_count(fx->vfs), 1);
}

/* ------------------------------------------------------------------------
 * Locks
 * --------------------------------------------------------------------- */

/* Proves the unix lock rules with handles on one name: shared readers,
 * one RESERVED, EXCLUSIVE left at PENDING while a reader remains (and
 * PENDING turning new readers away), EXCLUSIVE refused outright while
 * another handle holds RESERVED, and xCheckReservedLock. */
static void test_lock_semantics(void **state)
{
	struct fx *fx = *state;
	sqlite3_file *h1 = h_open_ok(fx, "l.db", DB_FLAGS);
	sqlite3_file *h2 = h_open_ok(fx, "l.db", DB_FLAGS);
	sqlite3_file *h3 = h_open_ok(fx, "l.db", DB_FLAGS);

	assert_int_equal(h1->pMethods->xLock(h1, SQLITE_LOCK_SHARED),
			 SQLITE_OK);
	assert_int_equal(h2->pMethods->xLock(h2, SQLITE_LOCK_SHARED),
			 SQLITE_OK);
	assert_int_equal(h_reserved(h2), 0);

	assert_int_equal(h1->pMethods->xLock(h1, SQLITE_LOCK_RESERVED),
			 SQLITE_OK);
	assert_int_equal(h2->pMethods->xLock(h2, SQLITE_LOCK_RESERVED),
			 SQLITE_BUSY);
	assert_int_equal(h_lockstate(h2), SQLITE_LOCK_SHARED);
	assert_int_equal(h_reserved(h2), 1);
	assert_int_equal(h_reserved(h1), 1); /* the holder too, as unix */

	/* h1 goes for EXCLUSIVE while h2 reads: BUSY, and h1 keeps PENDING. */
	assert_int_equal(h1->pMethods->xLock(h1, SQLITE_LOCK_EXCLUSIVE),
			 SQLITE_BUSY);
	assert_int_equal(h_lockstate(h1), SQLITE_LOCK_PENDING);
	assert_int_equal(h3->pMethods->xLock(h3, SQLITE_LOCK_SHARED),
			 SQLITE_BUSY);
	assert_int_equal(h_lockstate(h3), SQLITE_LOCK_NONE);
	/* Retrying while the reader stays is still BUSY, still PENDING. */
	assert_int_equal(h1->pMethods->xLock(h1, SQLITE_LOCK_EXCLUSIVE),
			 SQLITE_BUSY);
	assert_int_equal(h_lockstate(h1), SQLITE_LOCK_PENDING);

	assert_int_equal(h2->pMethods->xUnlock(h2, SQLITE_LOCK_NONE),
			 SQLITE_OK);
	assert_int_equal(h1->pMethods->xLock(h1, SQLITE_LOCK_EXCLUSIVE),
			 SQLITE_OK);
	assert_int_equal(h_lockstate(h1), SQLITE_LOCK_EXCLUSIVE);
	assert_int_equal(h2->pMethods->xLock(h2, SQLITE_LOCK_SHARED),
			 SQLITE_BUSY);

	/* Back to SHARED: readers are welcome again, nobody reserved. */
	assert_int_equal(h1->pMethods->xUnlock(h1, SQLITE_LOCK_SHARED),
			 SQLITE_OK);
	assert_int_equal(h_lockstate(h1), SQLITE_LOCK_SHARED);
	assert_int_equal(h_reserved(h3), 0);
	assert_int_equal(h2->pMethods->xLock(h2, SQLITE_LOCK_SHARED),
			 SQLITE_OK);

	/* EXCLUSIVE requested while another handle holds RESERVED: BUSY at
	 * once, without taking PENDING. */
	assert_int_equal(h2->pMethods->xLock(h2, SQLITE_LOCK_RESERVED),
			 SQLITE_OK);
	assert_int_equal(h1->pMethods->xLock(h1, SQLITE_LOCK_EXCLUSIVE),
			 SQLITE_BUSY);
	assert_int_equal(h_lockstate(h1), SQLITE_LOCK_SHARED);
	assert_int_equal(h3->pMethods->xLock(h3, SQLITE_LOCK_SHARED),
			 SQLITE_OK); /* RESERVED does not block readers */

	/* Closing a handle releases its locks. */
	h_close(h2);
	assert_int_equal(h_reserved(h1), 0);
	assert_int_equal(h1->pMethods->xUnlock(h1, SQLITE_LOCK_NONE),
			 SQLITE_OK);
	assert_int_equal(h3->pMethods->xLock(h3, SQLITE_LOCK_RESERVED),
			 SQLITE_OK);
	assert_int_equal(h3->pMethods->xLock(h3, SQLITE_LOCK_EXCLUSIVE),
			 SQLITE_OK);
	h_close(h3);
	assert_int_equal(h1->pMethods->xLock(h1, SQLITE_LOCK_SHARED),
			 SQLITE_OK);
	assert_int_equal(h1->pMethods->xLock(h1, SQLITE_LOCK_EXCLUSIVE),
			 SQLITE_OK);
	h_close(h1);
}

/* Proves shm slot locks (shared/shared ok, exclusive vs shared and vs
 * exclusive busy), that unmapping releases a handle's slots, that a lock
 * without a mapping is an error as under unix, and that the content is
 * reset once the last handle unmaps. */
static void test_shm(void **state)
{
	struct fx *fx = *state;
	sqlite3_file *h1 = h_open_ok(fx, "s.db", DB_FLAGS);
	sqlite3_file *h2 = h_open_ok(fx, "s.db", DB_FLAGS);
	sqlite3_file *h3 = h_open_ok(fx, "s.db", DB_FLAGS);
	const int S = SQLITE_SHM_LOCK | SQLITE_SHM_SHARED;
	const int X = SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE;
	const int US = SQLITE_SHM_UNLOCK | SQLITE_SHM_SHARED;
	const int UX = SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE;

	assert_int_equal(h3->pMethods->xShmLock(h3, 0, 1, S),
			 SQLITE_IOERR_SHMLOCK);

	assert_null(h_shm_map(h1, 0, 0)); /* not there yet */
	unsigned char *p1 = h_shm_map(h1, 0, 1);
	assert_non_null(p1);
	assert_int_equal(p1[100], 0);
	memcpy(p1 + 100, "wal-index", 9);
	unsigned char *p2 = h_shm_map(h2, 0, 0);
	assert_ptr_equal(p2, p1); /* one shm per database */
	unsigned char *q1 = h_shm_map(h1, 2, 1); /* regions 1 and 2 */
	assert_non_null(q1);
	assert_ptr_equal(h_shm_map(h1, 0, 0), p1); /* stable pointer */
	assert_non_null(h_shm_map(h2, 1, 0));

	assert_int_equal(h1->pMethods->xShmLock(h1, 3, 1, S), SQLITE_OK);
	assert_int_equal(h2->pMethods->xShmLock(h2, 3, 1, S), SQLITE_OK);
	assert_int_equal(h2->pMethods->xShmLock(h2, 4, 1, X), SQLITE_OK);
	assert_int_equal(h1->pMethods->xShmLock(h1, 4, 1, S), SQLITE_BUSY);
	assert_int_equal(h1->pMethods->xShmLock(h1, 4, 1, X), SQLITE_BUSY);
	assert_int_equal(h1->pMethods->xShmLock(h1, 2, 3, X), SQLITE_BUSY);
	assert_int_equal(h2->pMethods->xShmLock(h2, 4, 1, UX), SQLITE_OK);
	assert_int_equal(h2->pMethods->xShmLock(h2, 3, 1, US), SQLITE_OK);
	/* h1 still reads slot 3, so nobody may write-lock it. */
	assert_int_equal(h2->pMethods->xShmLock(h2, 3, 1, X), SQLITE_BUSY);
	assert_int_equal(h1->pMethods->xShmLock(h1, 3, 1, US), SQLITE_OK);
	assert_int_equal(h2->pMethods->xShmLock(h2, 3, 1, X), SQLITE_OK);
	assert_int_equal(h2->pMethods->xShmLock(h2, 3, 1, UX), SQLITE_OK);

	/* h1 unmaps while holding slots 0..2: they are released with it. */
	assert_int_equal(h1->pMethods->xShmLock(h1, 0, 3, X), SQLITE_OK);
	assert_int_equal(h1->pMethods->xShmUnmap(h1, 0), SQLITE_OK);
	assert_int_equal(h2->pMethods->xShmLock(h2, 0, 1, X), SQLITE_OK);
	assert_int_equal(h2->pMethods->xShmLock(h2, 0, 1, UX), SQLITE_OK);
	assert_memory_equal(p2 + 100, "wal-index", 9); /* h2 still maps */

	assert_int_equal(h2->pMethods->xShmUnmap(h2, 1), SQLITE_OK);
	/* The last mapping went away: the wal-index starts over. */
	assert_null(h_shm_map(h3, 0, 0));
	unsigned char *p3 = h_shm_map(h3, 0, 1);
	assert_non_null(p3);
	assert_int_equal(p3[100], 0);
	assert_null(h_shm_map(h3, 1, 0));
	h_close(h1);
	h_close(h2);
	h_close(h3); /* closes with the shm still mapped: freed anyway */
}

/* ------------------------------------------------------------------------
 * Durability log and xFetch
 * --------------------------------------------------------------------- */

/* Proves unsynced bytes count every write since the last sync, xSync
 * clears them, and replaying writes/truncates rebuilds the live image. */
static void test_unsynced_bytes(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(simvfs_unsynced_bytes(fx->vfs, "u.db"), -1);
	sqlite3_file *f = h_open_ok(fx, "u.db", DB_FLAGS);
	unsigned char buf[8192];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7);

	assert_int_equal(simvfs_unsynced_bytes(fx->vfs, "u.db"), 0);
	assert_int_equal(h_write(f, buf, 100, 0), SQLITE_OK);
	assert_int_equal(simvfs_unsynced_bytes(fx->vfs, "u.db"), 100);
	assert_int_equal(h_write(f, buf, 50, 10), SQLITE_OK);
	assert_int_equal(simvfs_unsynced_bytes(fx->vfs, "u.db"), 150);
	assert_int_equal(simvfs__synced_equals_live(fx->vfs, "u.db"), 0);
	assert_int_equal(f->pMethods->xSync(f, SQLITE_SYNC_NORMAL), SQLITE_OK);
	assert_int_equal(simvfs_unsynced_bytes(fx->vfs, "u.db"), 0);
	assert_int_equal(simvfs__synced_equals_live(fx->vfs, "u.db"), 1);

	/* Grow with a gap, shrink, overwrite, regrow: the replay must land
	 * on the same bytes as the live data. */
	assert_int_equal(h_write(f, buf, 8192, 20000), SQLITE_OK);
	assert_int_equal(f->pMethods->xTruncate(f, 21000), SQLITE_OK);
	assert_int_equal(h_write(f, buf + 3, 4000, 19000), SQLITE_OK);
	assert_int_equal(f->pMethods->xTruncate(f, 30000), SQLITE_OK);
	assert_int_equal(h_write(f, buf, 10, 5), SQLITE_OK);
	assert_int_equal(simvfs_unsynced_bytes(fx->vfs, "u.db"),
			 8192 + 4000 + 10);
	assert_int_equal(simvfs__synced_equals_live(fx->vfs, "u.db"), 0);
	assert_int_equal(f->pMethods->xSync(f, SQLITE_SYNC_FULL), SQLITE_OK);
	assert_int_equal(simvfs__synced_equals_live(fx->vfs, "u.db"), 1);
	assert_int_equal(simvfs_unsynced_bytes(fx->vfs, "u.db"), 0);

	/* A truncate alone is a change the synced image does not have. */
	assert_int_equal(f->pMethods->xTruncate(f, 0), SQLITE_OK);
	assert_int_equal(simvfs__synced_equals_live(fx->vfs, "u.db"), 0);
	assert_int_equal(f->pMethods->xSync(f, SQLITE_SYNC_NORMAL), SQLITE_OK);
	assert_int_equal(simvfs__synced_equals_live(fx->vfs, "u.db"), 1);
	h_close(f);
}

/* Proves xFetch honours the mmap limit and the file size, and that a
 * fetched pointer stays valid and coherent while the file grows. */
static void test_fetch_stable(void **state)
{
	struct fx *fx = *state;
	sqlite3_file *f = h_open_ok(fx, "m.db", DB_FLAGS);
	unsigned char page[4096];
	memset(page, 0x11, sizeof(page));
	assert_int_equal(h_write(f, page, 4096, 0), SQLITE_OK);
	assert_int_equal(h_write(f, page, 4096, 4096), SQLITE_OK);

	void *p = f; /* poison */
	assert_int_equal(f->pMethods->xFetch(f, 0, 4096, &p), SQLITE_OK);
	assert_null(p); /* limit 0: no mmap */

	sqlite3_int64 limit = 1 << 20;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_MMAP_SIZE, &limit),
		SQLITE_OK);
	assert_int_equal(limit, 0); /* the old value comes back */

	unsigned char *p0 = NULL;
	assert_int_equal(f->pMethods->xFetch(f, 0, 4096, (void **)&p0),
			 SQLITE_OK);
	assert_non_null(p0);
	assert_int_equal(p0[0], 0x11);
	p = f;
	assert_int_equal(f->pMethods->xFetch(f, 8192 - 100, 4096, &p),
			 SQLITE_OK);
	assert_null(p); /* past EOF: xRead instead */

	/* Grow the file by 900 KiB; the pointer must survive. */
	unsigned char *big = calloc(1, 900 * 1024);
	assert_non_null(big);
	assert_int_equal(h_write(f, big, 900 * 1024, 8192), SQLITE_OK);
	free(big);
	unsigned char *p0b = NULL;
	assert_int_equal(f->pMethods->xFetch(f, 0, 4096, (void **)&p0b),
			 SQLITE_OK);
	assert_ptr_equal(p0b, p0);
	memset(page, 0x22, sizeof(page));
	assert_int_equal(h_write(f, page, 4096, 0), SQLITE_OK);
	assert_int_equal(p0[0], 0x22); /* coherent, like MAP_SHARED */

	p = f;
	assert_int_equal(f->pMethods->xFetch(f, (1 << 20) - 100, 4096, &p),
			 SQLITE_OK);
	assert_null(p); /* beyond the mmap limit */

	/* The limit cannot change while pages are out. */
	limit = 0;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_MMAP_SIZE, &limit),
		SQLITE_OK);
	assert_int_equal(limit, 1 << 20);
	limit = -1;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_MMAP_SIZE, &limit),
		SQLITE_OK);
	assert_int_equal(limit, 1 << 20);

	assert_int_equal(f->pMethods->xUnfetch(f, 0, p0), SQLITE_OK);
	assert_int_equal(f->pMethods->xUnfetch(f, 0, p0b), SQLITE_OK);
	assert_int_equal(f->pMethods->xUnfetch(f, 0, NULL), SQLITE_OK);
	limit = 0;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_MMAP_SIZE, &limit),
		SQLITE_OK);
	p = f;
	assert_int_equal(f->pMethods->xFetch(f, 0, 4096, &p), SQLITE_OK);
	assert_null(p);
	assert_true(fx->w.yields[WH_OP_FETCH] >= 6);
	assert_int_equal(fx->w.yields[WH_OP_UNFETCH], 3);
	h_close(f);
}

/* ------------------------------------------------------------------------
 * File controls, hooks, time
 * --------------------------------------------------------------------- */

/* Proves the file controls SQLite relies on: PRAGMA and unknown ops are
 * NOTFOUND (else every PRAGMA would be swallowed), VFSNAME, TEMPFILENAME,
 * PERSIST_WAL and POWERSAFE_OVERWRITE get/set, CHUNK_SIZE with SIZE_HINT. */
static void test_file_controls(void **state)
{
	struct fx *fx = *state;
	sqlite3_file *f = h_open_ok(fx, "c.db", DB_FLAGS);
	char *args[3] = {NULL, (char *)"journal_mode", NULL};
	assert_int_equal(f->pMethods->xFileControl(f, SQLITE_FCNTL_PRAGMA,
						   args),
			 SQLITE_NOTFOUND);
	assert_null(args[0]);
	assert_int_equal(f->pMethods->xFileControl(f, 9999, NULL),
			 SQLITE_NOTFOUND);

	char *name = NULL;
	assert_int_equal(f->pMethods->xFileControl(f, SQLITE_FCNTL_VFSNAME,
						   &name),
			 SQLITE_OK);
	assert_string_equal(name, TEST_VFS);
	sqlite3_free(name);
	name = NULL;
	assert_int_equal(f->pMethods->xFileControl(
				 f, SQLITE_FCNTL_TEMPFILENAME, &name),
			 SQLITE_OK);
	assert_non_null(name);
	assert_int_equal(strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)), 0);
	sqlite3_free(name);

	int v = -1;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_PERSIST_WAL, &v),
		SQLITE_OK);
	assert_int_equal(v, 0);
	v = 1;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_PERSIST_WAL, &v),
		SQLITE_OK);
	v = -1;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_PERSIST_WAL, &v),
		SQLITE_OK);
	assert_int_equal(v, 1);

	assert_int_equal(f->pMethods->xSectorSize(f), 4096);
	assert_int_equal(f->pMethods->xDeviceCharacteristics(f),
			 SQLITE_IOCAP_POWERSAFE_OVERWRITE);
	v = 0;
	assert_int_equal(f->pMethods->xFileControl(
				 f, SQLITE_FCNTL_POWERSAFE_OVERWRITE, &v),
			 SQLITE_OK);
	assert_int_equal(f->pMethods->xDeviceCharacteristics(f), 0);

	sqlite3_int64 hint = 5000;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_SIZE_HINT, &hint),
		SQLITE_OK);
	assert_int_equal(h_size(f), 0); /* no chunk size: advice only */
	int chunk = 4096;
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_CHUNK_SIZE, &chunk),
		SQLITE_OK);
	assert_int_equal(
		f->pMethods->xFileControl(f, SQLITE_FCNTL_SIZE_HINT, &hint),
		SQLITE_OK);
	assert_int_equal(h_size(f), 8192);
	assert_int_equal(f->pMethods->xTruncate(f, 100), SQLITE_OK);
	assert_int_equal(h_size(f), 4096);
	h_close(f);
}

/* Proves a yield error is returned without running the method (no trace,
 * no effect), that xClose still releases the handle, and that yield_mask
 * turns yields off while traces go on. */
static void test_yield_fault_and_mask(void **state)
{
	struct fx *fx = *state;
	sqlite3_file *f = h_open_ok(fx, "y.db", DB_FLAGS);
	assert_int_equal(h_write(f, "abc", 3, 0), SQLITE_OK);
	uint64_t writes = fx->w.traces[WH_OP_WRITE];

	fx->w.fail_kind = WH_OP_WRITE;
	fx->w.fail_rc = SQLITE_IOERR_WRITE;
	assert_int_equal(h_write(f, "xyz", 3, 0), SQLITE_IOERR_WRITE);
	assert_int_equal(fx->w.traces[WH_OP_WRITE], writes);
	char buf[3];
	assert_int_equal(h_read(f, buf, 3, 0), SQLITE_OK);
	assert_memory_equal(buf, "abc", 3);

	fx->w.fail_kind = WH_OP_LOCK;
	fx->w.fail_rc = SQLITE_IOERR_LOCK;
	assert_int_equal(f->pMethods->xLock(f, SQLITE_LOCK_SHARED),
			 SQLITE_IOERR_LOCK);
	assert_int_equal(h_lockstate(f), SQLITE_LOCK_NONE);

	fx->w.fail_kind = WH_OP_OPEN;
	fx->w.fail_rc = SQLITE_CANTOPEN;
	int rc = -1;
	assert_null(h_open(fx, "y2.db", DB_FLAGS, &rc));
	assert_int_equal(rc, SQLITE_CANTOPEN);
	assert_int_equal(simvfs_file_size(fx->vfs, "y2.db"), -1);

	fx->w.fail_kind = -1;
	assert_int_equal(f->pMethods->xLock(f, SQLITE_LOCK_SHARED), SQLITE_OK);
	assert_int_equal(f->pMethods->xLock(f, SQLITE_LOCK_RESERVED),
			 SQLITE_OK);
	fx->w.fail_kind = WH_OP_CLOSE;
	fx->w.fail_rc = SQLITE_IOERR_CLOSE;
	file_untrack(f);
	assert_int_equal(f->pMethods->xClose(f), SQLITE_IOERR_CLOSE);
	free(f);
	fx->w.fail_kind = -1;
	/* The close ran anyway: its locks are gone. */
	sqlite3_file *g = h_open_ok(fx, "y.db", DB_FLAGS);
	assert_int_equal(g->pMethods->xLock(g, SQLITE_LOCK_SHARED), SQLITE_OK);
	assert_int_equal(g->pMethods->xLock(g, SQLITE_LOCK_EXCLUSIVE),
			 SQLITE_OK);
	h_close(g);

	struct simvfs_config cfg;
	simvfs_config_default(&cfg);
	cfg.yield_mask = 0;
	simvfs_destroy(fx->vfs);
	memset(&fx->w.yields, 0, sizeof(fx->w.yields));
	memset(&fx->w.traces, 0, sizeof(fx->w.traces));
	struct simvfs_hooks hooks = {.ctx = &fx->w,
				     .yield = hook_yield,
				     .trace = hook_trace,
				     .now_us = hook_now_us,
				     .randomness = hook_randomness};
	assert_int_equal(simvfs_create(&fx->vfs, TEST_VFS, &cfg, &hooks),
			 SQLITE_OK);
	fx->base = simvfs_sqlite(fx->vfs);
	f = h_open_ok(fx, "y.db", DB_FLAGS);
	assert_int_equal(h_write(f, "abc", 3, 0), SQLITE_OK);
	h_close(f);
	for (int k = 0; k < WH_OP__COUNT; k++)
		assert_int_equal(fx->w.yields[k], 0);
	assert_int_equal(fx->w.traces[WH_OP_OPEN], 1);
	assert_int_equal(fx->w.traces[WH_OP_WRITE], 1);
	assert_int_equal(fx->w.traces[WH_OP_CLOSE], 1);
}

/* Proves a second VFS under a taken name is refused and a bad config is a
 * misuse. */
static void test_create_errors(void **state)
{
	struct fx *fx = *state;
	struct simvfs_config cfg;
	simvfs_config_default(&cfg);
	struct simvfs_hooks hooks = {.ctx = &fx->w};
	struct simvfs *other = (struct simvfs *)fx;
	assert_int_equal(simvfs_create(&other, TEST_VFS, &cfg, &hooks),
			 SQLITE_ERROR);
	assert_null(other);
	cfg.max_file_bytes = 0;
	assert_int_equal(simvfs_create(&other, "simvfs-other", &cfg, &hooks),
			 SQLITE_MISUSE);
	assert_null(other);
}

/* Proves xCurrentTime/xCurrentTimeInt64 come from the hook on a fixed
 * epoch (2000-01-01 UTC), down to SQL's 'now', and xRandomness from the
 * hook. */
static void test_time_and_randomness(void **state)
{
	struct fx *fx = *state;
	sqlite3_int64 ms = 0;
	fx->w.now_us = 1500000;
	assert_int_equal(fx->base->xCurrentTimeInt64(fx->base, &ms), SQLITE_OK);
	assert_int_equal(ms, 211813444800000LL + 1500);
	double jd = 0;
	assert_int_equal(fx->base->xCurrentTime(fx->base, &jd), SQLITE_OK);
	assert_true(jd > 2451544.5 + 1.49 / 86400.0);
	assert_true(jd < 2451544.5 + 1.51 / 86400.0);

	sqlite3 *db = db_open("time.db");
	char buf[64];
	assert_int_equal(db_query(db,
				  "SELECT strftime('%Y-%m-%d %H:%M:%f','now')",
				  buf, sizeof(buf)),
			 SQLITE_OK);
	assert_string_equal(buf, "2000-01-01 00:00:01.500");
	fx->w.now_us = 86400ull * 1000000ull * 366; /* 2000 is a leap year */
	assert_int_equal(db_query(db, "SELECT date('now')", buf, sizeof(buf)),
			 SQLITE_OK);
	assert_string_equal(buf, "2001-01-01");
	db_close(db);

	unsigned char r[4];
	fx->w.rand_counter = 0;
	assert_int_equal(fx->base->xRandomness(fx->base, 4, (char *)r), 4);
	assert_int_equal(r[0], 7);
	assert_int_equal(r[1], 138);
	assert_int_equal(fx->base->xSleep(fx->base, 2500), 2500);
	assert_int_equal(fx->w.yields[WH_OP_SLEEP], 1);
}

/* ------------------------------------------------------------------------
 * Real SQLite on the VFS
 * --------------------------------------------------------------------- */

static void assert_saw(const struct world *w, enum wh_op_kind kind)
{
	if (w->yields[kind] == 0)
		fail_msg("no yield of kind %d", (int)kind);
}

/* Proves two WAL connections work on the VFS: a reader keeps its snapshot
 * while the other commits, then sees the rows; integrity holds; every
 * WAL-relevant kind of call went through the yield hook; the WAL is gone
 * and the shm reset after the last close. */
static void test_sqlite_wal_two_connections(void **state)
{
	struct fx *fx = *state;
	sqlite3 *a = db_open("w.db");
	sqlite3 *b = db_open("w.db");
	char buf[64];
	assert_int_equal(db_query(a, "PRAGMA journal_mode=WAL", buf,
				  sizeof(buf)),
			 SQLITE_OK);
	assert_string_equal(buf, "wal");
	db_exec_ok(a, "CREATE TABLE t(x INTEGER PRIMARY KEY, y TEXT)");

	db_exec_ok(b, "BEGIN");
	assert_int_equal(db_query_int(b, "SELECT count(*) FROM t"), 0);

	db_exec_ok(a, "BEGIN");
	db_insert_rows(a, 1, 500);
	db_exec_ok(a, "COMMIT");
	assert_true(simvfs_file_size(fx->vfs, "w.db-wal") > 0);

	assert_int_equal(db_query_int(b, "SELECT count(*) FROM t"), 0);
	db_exec_ok(b, "COMMIT");
	assert_int_equal(db_query_int(b, "SELECT count(*) FROM t"), 500);
	db_exec_ok(b, "UPDATE t SET y = 'b' WHERE x % 7 = 0");
	assert_int_equal(db_query_int(a, "SELECT count(*) FROM t WHERE y='b'"),
			 500 / 7);
	db_assert_integrity(a);
	db_assert_integrity(b);

	assert_saw(&fx->w, WH_OP_READ);
	assert_saw(&fx->w, WH_OP_WRITE);
	assert_saw(&fx->w, WH_OP_SYNC);
	assert_saw(&fx->w, WH_OP_LOCK);
	assert_saw(&fx->w, WH_OP_SHM_LOCK);
	assert_saw(&fx->w, WH_OP_SHM_MAP);
	assert_saw(&fx->w, WH_OP_SHM_BARRIER);
	assert_saw(&fx->w, WH_OP_FILE_CONTROL);

	db_close(a);
	db_close(b);
	/* The last close checkpoints and deletes the WAL... */
	assert_int_equal(simvfs_file_size(fx->vfs, "w.db-wal"), -1);
	assert_int_equal(simvfs_file_count(fx->vfs), 1);
	/* ...and nothing of the wal-index survives. */
	sqlite3_file *h = h_open_ok(fx, "w.db", DB_FLAGS);
	assert_null(h_shm_map(h, 0, 0));
	assert_int_equal(h->pMethods->xShmUnmap(h, 0), SQLITE_OK);
	h_close(h);

	sqlite3 *c = db_open("w.db");
	assert_int_equal(db_query_int(c, "SELECT count(*) FROM t"), 500);
	db_assert_integrity(c);
	db_close(c);
}

/* Proves rollback-journal mode: a reader's SHARED lock makes the writer's
 * COMMIT busy, the writer's PENDING then turns a new reader away (through
 * the busy handler's xSleep), and after the reader leaves the COMMIT goes
 * through; the journal is deleted and no shm call is made. */
static void test_sqlite_delete_journal(void **state)
{
	struct fx *fx = *state;
	sqlite3 *a = db_open("j.db");
	sqlite3 *b = db_open("j.db");
	sqlite3 *c = db_open("j.db");
	char buf[64];
	assert_int_equal(db_query(a, "PRAGMA journal_mode=DELETE", buf,
				  sizeof(buf)),
			 SQLITE_OK);
	assert_string_equal(buf, "delete");
	db_exec_ok(a, "CREATE TABLE t(x INTEGER PRIMARY KEY, y TEXT)");
	db_insert_rows(a, 1, 100);

	db_exec_ok(b, "BEGIN");
	assert_int_equal(db_query_int(b, "SELECT count(*) FROM t"), 100);

	db_exec_ok(a, "BEGIN");
	db_insert_rows(a, 101, 300);
	assert_int_equal(db_exec(a, "COMMIT"), SQLITE_BUSY);
	assert_true(simvfs_file_size(fx->vfs, "j.db-journal") > 0);
	assert_int_equal(db_query_int(b, "SELECT count(*) FROM t"), 100);
	db_exec_ok(b, "COMMIT");

	/* a still holds PENDING: a new reader waits, then gives up. */
	sqlite3_busy_timeout(c, 20);
	uint64_t sleeps = fx->w.yields[WH_OP_SLEEP];
	uint64_t t0 = fx->w.now_us;
	assert_int_equal(db_query(c, "SELECT count(*) FROM t", buf,
				  sizeof(buf)),
			 SQLITE_BUSY);
	assert_true(fx->w.yields[WH_OP_SLEEP] > sleeps);
	assert_true(fx->w.now_us - t0 >= 20000);

	db_exec_ok(a, "COMMIT");
	assert_int_equal(simvfs_file_size(fx->vfs, "j.db-journal"), -1);
	assert_int_equal(db_query_int(c, "SELECT count(*) FROM t"), 400);
	db_assert_integrity(c);

	assert_saw(&fx->w, WH_OP_READ);
	assert_saw(&fx->w, WH_OP_WRITE);
	assert_saw(&fx->w, WH_OP_SYNC);
	assert_saw(&fx->w, WH_OP_LOCK);
	assert_saw(&fx->w, WH_OP_UNLOCK);
	assert_saw(&fx->w, WH_OP_DELETE);
	assert_saw(&fx->w, WH_OP_ACCESS);
	assert_int_equal(fx->w.yields[WH_OP_SHM_MAP], 0);
	assert_int_equal(fx->w.yields[WH_OP_SHM_LOCK], 0);
	db_close(a);
	db_close(b);
	db_close(c);
	assert_int_equal(simvfs_file_count(fx->vfs), 1);
}

/* Proves temp files work: a TEMP table and a sort that spills to disk open
 * anonymous files on this VFS, give correct results, and vanish on close. */
static void test_sqlite_temp_files(void **state)
{
	struct fx *fx = *state;
	sqlite3 *db = db_open("tmp.db");
	db_exec_ok(db, "PRAGMA temp_store=FILE");
	db_exec_ok(db, "PRAGMA cache_size=10");
	db_exec_ok(db,
		   "CREATE TEMP TABLE tt AS WITH RECURSIVE c(i) AS (SELECT 1 "
		   "UNION ALL SELECT i+1 FROM c WHERE i < 50000) SELECT i, "
		   "(i * 7919) % 10007 AS k, "
		   "printf('%0100d', i) AS pad FROM c");
	assert_int_equal(db_query_int(db, "SELECT count(*) FROM temp.tt"),
			 50000);
	int temp_opens = fx->w.temp_opens;
	assert_true(temp_opens >= 1); /* the temp database */
	/* A full sort of ~5 MB with a 10-page cache spills to temp files. */
	assert_int_equal(db_query_int(db, "SELECT sum(i * (rn % 13)) FROM "
					  "(SELECT i, row_number() OVER "
					  "(ORDER BY k DESC, pad) AS rn FROM tt)"),
			 db_query_int(db, "SELECT sum(i * (rn % 13)) FROM "
					  "(SELECT i, row_number() OVER "
					  "(ORDER BY k DESC, i) AS rn FROM tt)"));
	assert_true(fx->w.temp_opens > temp_opens);
	assert_true(simvfs_file_count(fx->vfs) >= 2); /* tmp.db + temp db */
	db_close(db);
	assert_int_equal(simvfs_file_count(fx->vfs), 1);
}

/* Proves memory-mapped reads work under SQLite: with mmap_size set, pages
 * come through xFetch/xUnfetch and the database stays consistent. */
static void test_sqlite_mmap(void **state)
{
	struct fx *fx = *state;
	sqlite3 *a = db_open("mm.db");
	sqlite3 *b = db_open("mm.db");
	db_exec_ok(a, "PRAGMA mmap_size=8388608");
	db_exec_ok(b, "PRAGMA mmap_size=8388608");
	db_exec_ok(a, "CREATE TABLE t(x INTEGER PRIMARY KEY, y TEXT)");
	db_insert_rows(a, 1, 2000);
	assert_int_equal(db_query_int(b, "SELECT count(*) FROM t"), 2000);
	db_exec_ok(b, "DELETE FROM t WHERE x % 2 = 0");
	assert_int_equal(db_query_int(a, "SELECT count(*) FROM t"), 1000);
	db_assert_integrity(a);
	assert_saw(&fx->w, WH_OP_FETCH);
	assert_saw(&fx->w, WH_OP_UNFETCH);
	db_close(a);
	db_close(b);
}

/* One WAL run from scratch; returns the trace hash and a hash of the final
 * database bytes. */
static void wal_run(uint64_t *trace_hash, uint64_t *data_hash)
{
	/* Not a cmocka fixture: a failure here leaks the VFS, which is
	 * harmless only because this is the last test. */
	struct fx *fx = fx_new(NULL);
	/* SQLite's own PRNG (WAL salts, journal nonces) is global and seeded
	 * from the default VFS; pin it, or the bytes differ per run. */
	sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, 42, NULL);
	sqlite3 *a = db_open("det.db");
	sqlite3 *b = db_open("det.db");
	db_exec_ok(a, "PRAGMA journal_mode=WAL");
	db_exec_ok(a, "CREATE TABLE t(x INTEGER PRIMARY KEY, y TEXT)");
	db_insert_rows(a, 1, 300);
	db_exec_ok(b, "UPDATE t SET y = randomblob(8) WHERE x % 3 = 0");
	db_insert_rows(b, 301, 100);
	/* Hash the WAL while both are open: it holds the salts. */
	sqlite3_file *h = h_open_ok(fx, "det.db-wal", SQLITE_OPEN_READWRITE |
							     SQLITE_OPEN_WAL);
	int64_t n = h_size(h);
	unsigned char *bytes = malloc((size_t)n);
	assert_non_null(bytes);
	assert_int_equal(h_read(h, bytes, (int)n, 0), SQLITE_OK);
	*data_hash = 0xcbf29ce484222325ULL;
	hash_bytes(data_hash, bytes, (size_t)n);
	free(bytes);
	h_close(h);
	db_close(a);
	db_close(b);
	*trace_hash = fx->w.trace_hash;
	fx_free(fx);
}

/* Proves a run is reproducible: same hooks, same seed, same trace and the
 * same bytes on "disk". */
static void test_deterministic_runs(void **state)
{
	(void)state;
	uint64_t t1, d1, t2, d2;
	wal_run(&t1, &d1);
	wal_run(&t2, &d2);
	assert_int_equal(t1, t2);
	assert_int_equal(d1, d2);
	sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, 0, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_roundtrip, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_big_truncate_zeroes,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_past_max_is_full,
						fx_setup_small, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_flags_and_access,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_delete_while_open,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_semantics, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_shm, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_unsynced_bytes, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_fetch_stable, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_file_controls, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_yield_fault_and_mask,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_time_and_randomness,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_sqlite_wal_two_connections, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_delete_journal,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_temp_files,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_mmap, fx_setup,
						fx_teardown),
		cmocka_unit_test(test_deterministic_runs),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	sqlite3_shutdown(); /* frees SQLite's globals for valgrind */
	return failed;
}
