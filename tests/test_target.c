/*
 * test_target.c - the target SQLite as a table of entry points
 * (engine/sqlapi.h): the linked table is complete, a path to the linked
 * library is the linked table, the simulated VFS registered in two
 * libraries serves one set of files (each library's strings made by that
 * library), pragmas that must come first are told apart, and an
 * encrypting SQLite (SQLCipher) gets its key before anything reads the
 * database, whose file the linked SQLite then cannot read.
 *
 * The tests that need a second library find it as tests/e2e_target.sh
 * does ($WH_TARGET_LIB, else the newest build/sqlite/VERSION/; for
 * SQLCipher $WH_SQLCIPHER_LIB, else Debian's libsqlcipher.so.0) and are
 * skipped (cmocka's SKIPPED, counted by the test runner) without one;
 * with WH_REQUIRE_TARGET_LIB=1 a missing library fails instead.
 */
#include "test_util.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "oracle.h"
#include "oracle_world.h"
#include "workloads.h"
#include "world.h"

#define SQLCIPHER_DEBIAN "/usr/lib/x86_64-linux-gnu/libsqlcipher.so.0"

/* Skip, or fail under WH_REQUIRE_TARGET_LIB=1, when a library is absent. */
static void absent(const char *what)
{
	const char *req = getenv("WH_REQUIRE_TARGET_LIB");
	if (req != NULL && strcmp(req, "1") == 0)
		fail_msg("%s: not found and WH_REQUIRE_TARGET_LIB=1", what);
	print_message("not run: %s not found\n", what);
	skip();
}

/* Compare dotted versions numerically (for the newest build). */
static int version_cmp(const char *a, const char *b)
{
	for (;;) {
		char *ea, *eb;
		long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
		if (x != y)
			return x < y ? -1 : 1;
		if (*ea != '.' || *eb != '.')
			return (*ea == '.') - (*eb == '.');
		a = ea + 1;
		b = eb + 1;
	}
}

/* The second SQLite to test on, or NULL. path is filled. */
static const struct wh_sqlapi *second_sqlite(char *path, size_t len)
{
	const char *env = getenv("WH_TARGET_LIB");
	path[0] = '\0';
	if (env != NULL && *env != '\0') {
		snprintf(path, len, "%s", env);
	} else {
		DIR *d = opendir("build/sqlite");
		struct dirent *e;
		char best[256] = "";
		while (d != NULL && (e = readdir(d)) != NULL) {
			if (e->d_name[0] < '0' || e->d_name[0] > '9' || strstr(e->d_name, "-debug"))
				continue;
			if (best[0] == '\0' || version_cmp(e->d_name, best) > 0)
				snprintf(best, sizeof best, "%s", e->d_name);
		}
		if (d != NULL)
			closedir(d);
		if (best[0] != '\0')
			snprintf(path, len, "build/sqlite/%s/libsqlite3.so", best);
	}
	const struct wh_sqlapi *api = NULL;
	char err[1024];
	if (path[0] == '\0' || wh_sqlapi_load(path, &api, err, sizeof err) != 0)
		return NULL;
	return api;
}

/* Every required entry point of the linked table is there, and the
 * identity names the linked library. */
static void test_linked_table(void **state)
{
	(void)state;
	const struct wh_sqlapi *api = &wh_sqlapi_linked;
#define CHECK_FIELD(name) assert_non_null(api->name);
	WH_SQLAPI_REQUIRED(CHECK_FIELD)
#undef CHECK_FIELD
	assert_true(api->linked);
	assert_string_equal(wh_sqlapi_version(api), sqlite3_libversion());
	assert_int_equal(wh_sqlapi_version_number(api), sqlite3_libversion_number());
	assert_string_equal(wh_sqlapi_source_id(api), sqlite3_sourceid());
	assert_true(strlen(wh_sqlapi_path(api)) > 0);
	/* The options hash is a function of the library: asked twice, the
	 * same. */
	assert_true(wh_sqlapi_options_hash(api) == wh_sqlapi_options_hash(api));
}

/* The file of the linked SQLite, loaded by path, is the linked table: a
 * second table over the same code would register the VFS struct of one
 * library twice. A missing file is refused, naming it. */
static void test_load_linked_and_missing(void **state)
{
	(void)state;
	const struct wh_sqlapi *api = NULL;
	char err[1024] = "";
	const char *linked = wh_sqlapi_path(&wh_sqlapi_linked);
	if (strcmp(linked, "linked") != 0) {
		assert_int_equal(wh_sqlapi_load(linked, &api, err, sizeof err), 0);
		assert_ptr_equal(api, &wh_sqlapi_linked);
	}
	assert_int_equal(wh_sqlapi_load("/nonexistent/libsqlite3.so", &api, err, sizeof err), -1);
	assert_null(api);
	assert_non_null(strstr(err, "/nonexistent/libsqlite3.so: cannot load"));
}

/* Only an encrypting SQLite's opening pragmas come first. */
static void test_pragma_opens(void **state)
{
	(void)state;
	assert_true(world_pragma_opens("key='secret'"));
	assert_true(world_pragma_opens("KEY='x'"));
	assert_true(world_pragma_opens("hexkey=00ff"));
	assert_true(world_pragma_opens("cipher_page_size=4096"));
	assert_true(world_pragma_opens("kdf_iter=4000"));
	assert_false(world_pragma_opens("keyboard=1"));
	assert_false(world_pragma_opens("cache_size=10"));
	assert_false(world_pragma_opens("page_size=1024"));
	assert_false(world_pragma_opens("journal_mode=wal"));
}

/* VFSNAME through api's library: the VFS answers each library with a
 * string that library made (its sqlite3_mprintf), which the caller frees
 * with that library's sqlite3_free. (Two default allocators over malloc
 * would survive a mix-up here; a library with its own allocator would
 * not, hence the rule, which this checks at least holds for the name.)
 * file_control is that library's sqlite3_file_control (no entry point of
 * the target path, so not in the table). */
static void check_vfsname(const struct wh_sqlapi *api,
			  int (*file_control)(sqlite3 *, const char *, int, void *),
			  const struct world_result *r)
{
	sqlite3 *db = NULL;
	assert_int_equal(api->open_v2(r->db_path, &db, SQLITE_OPEN_READONLY, r->vfs_name),
			 SQLITE_OK);
	assert_int_equal(api->exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL),
			 SQLITE_OK);
	char *name = NULL;
	assert_int_equal(file_control(db, "main", SQLITE_FCNTL_VFSNAME, &name), SQLITE_OK);
	assert_non_null(name);
	assert_string_equal(name, r->vfs_name);
	api->free(name);
	api->close_v2(db);
}

/* A run on a second SQLite: its files are one set, seen from the target
 * (which wrote them) and from the linked SQLite (which reads them for the
 * oracle) through two structs, and both find the same content. */
static void test_vfs_in_two_libraries(void **state)
{
	(void)state;
	char path[1024];
	const struct wh_sqlapi *api = second_sqlite(path, sizeof path);
	if (api == NULL || api->linked) {
		absent("a second SQLite (scripts/build-sqlite.sh)");
		return;
	}
	struct world_config cfg;
	world_config_default(&cfg);
	cfg.seed = 11;
	cfg.workload = wl_find("bank");
	cfg.conn_count = 4;
	cfg.txn_count = 100;
	cfg.api = api;
	struct world_result r;
	assert_int_equal(world_run(&cfg, &r), 0);
	assert_int_equal(r.finding_count, 0);
	uint64_t d_target = 0, d_linked = 0;
	sqlite3 *db = NULL;
	assert_int_equal(api->open_v2(r.db_path, &db, SQLITE_OPEN_READONLY, r.vfs_name), SQLITE_OK);
	assert_int_equal(digest_db_with(api, db, &d_target), SQLITE_OK);
	api->close_v2(db);
	assert_int_equal(sqlite3_open_v2(r.db_path, &db, SQLITE_OPEN_READONLY, r.vfs_name),
			 SQLITE_OK);
	assert_int_equal(digest_db(db, &d_linked), SQLITE_OK);
	sqlite3_close(db);
	assert_true(d_target == d_linked);
	assert_true(d_target != 0);
	check_vfsname(&wh_sqlapi_linked, sqlite3_file_control, &r);
	void *handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(handle);
	void *sym = dlsym(handle, "sqlite3_file_control");
	assert_non_null(sym);
	int (*file_control)(sqlite3 *, const char *, int, void *);
	memcpy(&file_control, &sym, sizeof sym);
	check_vfsname(api, file_control, &r);
	dlclose(handle);
	world_result_free(&r);
}

/* SQLCipher: with a key among the pragmas, every open of the target runs
 * it first, so setup, connections and recovery work; the file it wrote is
 * encrypted (the linked SQLite, and the target without the key, find no
 * database in it); the oracle, given the target library and the key,
 * passes the run. */
static void test_sqlcipher_key_first(void **state)
{
	(void)state;
	const char *path = getenv("WH_SQLCIPHER_LIB");
	if (path == NULL || *path == '\0')
		path = SQLCIPHER_DEBIAN;
	const struct wh_sqlapi *api = NULL;
	char err[1024];
	if (wh_sqlapi_load(path, &api, err, sizeof err) != 0) {
		/* Debian's package is not linked with -Bsymbolic, which a
		 * sanitizer build (no RTLD_DEEPBIND) requires. */
		if (strstr(err, "-Bsymbolic") != NULL) {
			print_message("not run: %s\n", err);
			skip();
		}
		absent("SQLCipher (libsqlcipher0)");
		return;
	}
	struct world_config cfg;
	world_config_default(&cfg);
	cfg.seed = 5;
	cfg.workload = wl_find("bank");
	cfg.conn_count = 4;
	cfg.txn_count = 150;
	cfg.faults = WORLD_FAULTS_CRASH;
	cfg.api = api;
	cfg.pragmas[cfg.pragma_count++] = "cache_size=50";
	cfg.pragmas[cfg.pragma_count++] = "key='whopper-test'";
	/* SQLCipher derives the key at every open (64000 rounds by default):
	 * a few rounds keep the test fast, under valgrind too. */
	cfg.pragmas[cfg.pragma_count++] = "kdf_iter=64";
	struct world_result r;
	assert_int_equal(world_run(&cfg, &r), 0);
	assert_int_equal(r.finding_count, 0);
	assert_true(r.stats.recoveries > 0);

	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(r.db_path, &db, SQLITE_OPEN_READONLY, r.vfs_name),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL),
			 SQLITE_NOTADB);
	sqlite3_close(db);
	assert_int_equal(api->open_v2(r.db_path, &db, SQLITE_OPEN_READONLY, r.vfs_name), SQLITE_OK);
	assert_int_equal(api->exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL),
			 SQLITE_NOTADB);
	api->close_v2(db);

	struct oracle_config oc;
	oracle_config_for_world(&cfg, &r, 64, &oc);
	assert_ptr_equal(oc.target_api, api);
	struct oracle_report rep;
	assert_int_equal(oracle_check(&r.history, &oc, &rep), 0);
	for (uint32_t i = 0; i < rep.violation_count; i++)
		print_message("violation %s: %s\n", rep.violations[i].kind, rep.violations[i].detail);
	assert_int_equal(rep.violation_count, 0);
	oracle_report_free(&rep);
	world_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linked_table),
		cmocka_unit_test(test_load_linked_and_missing),
		cmocka_unit_test(test_pragma_opens),
		cmocka_unit_test(test_vfs_in_two_libraries),
		cmocka_unit_test(test_sqlcipher_key_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
