/*
 * builtin.c - the built-in workloads and the public entry points that find
 * or load a workload.
 *
 * The built-in files (the .sql files of workloads/) are embedded at build time
 * (scripts/embed-workloads.sh writes wl__builtin_files[]). Each is loaded
 * the first time someone asks for it, with its default parameters, and
 * kept for the life of the process; a built-in that fails to load is a
 * programmer error (the test suite loads them all), so it stops the
 * program with the loader's message.
 *
 * Listing order: "default" first, then the others in file-name order (the
 * generator receives them sorted).
 *
 * Workloads loaded through wl_resolve (files, or built-ins with --param)
 * are also kept until exit, in a list, so that callers may hold the
 * pointer freely; wl_load_text/wl_load_file hand ownership to the caller.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rcname.h"
#include "wl_int.h"

#define WL_MAX_BUILTINS 64

static struct wl__prog *builtin_cache[WL_MAX_BUILTINS];
static struct wl__prog **kept;       /* wl_resolve loads, until exit */
static uint32_t kept_count;

const struct wl__builtin_file *wl__builtin_file_find(const char *name)
{
	for (uint32_t k = 0; k < wl__builtin_file_count; k++)
		if (strcmp(wl__builtin_files[k].name, name) == 0)
			return &wl__builtin_files[k];
	return NULL;
}

/* The file index of the index-th built-in in listing order. */
static int listing_file(uint32_t index)
{
	WH_ASSERT(wl__builtin_file_count <= WL_MAX_BUILTINS);
	const struct wl__builtin_file *def = wl__builtin_file_find("default");
	if (def != NULL) {
		uint32_t d = (uint32_t)(def - wl__builtin_files);
		if (index == 0)
			return (int)d;
		index--;
		if (index >= d)
			index++;
	}
	return index < wl__builtin_file_count ? (int)index : -1;
}

static const struct workload *builtin_at_file(uint32_t f)
{
	WH_ASSERT(f < wl__builtin_file_count);
	if (builtin_cache[f] == NULL) {
		const struct wl__builtin_file *bf = &wl__builtin_files[f];
		char msg[512];
		struct wl__err e = {msg, sizeof msg, false};
		if (wl__load(bf->name, bf->path, bf->text, bf->len, NULL, 0, WL_SQLITE_ANY,
			     &builtin_cache[f], &e) != 0)
			wh_assert_fail(__FILE__, __LINE__, "a built-in workload loads", msg);
	}
	return &builtin_cache[f]->pub;
}

const struct workload *wl_builtin(uint32_t index)
{
	int f = listing_file(index);
	return f < 0 ? NULL : builtin_at_file((uint32_t)f);
}

const struct workload *wl_find(const char *name)
{
	const struct wl__builtin_file *bf = wl__builtin_file_find(name);
	if (bf == NULL)
		return NULL;
	return builtin_at_file((uint32_t)(bf - wl__builtin_files));
}

/* The workload name of a path: its base name without ".sql". */
static void name_of(const char *origin, char *out, size_t cap)
{
	const char *base = strrchr(origin, '/');
	base = base ? base + 1 : origin;
	size_t n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".sql") == 0)
		n -= 4;
	if (n == 0) {
		base = "workload";
		n = strlen(base);
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, base, n);
	out[n] = '\0';
}

int wl_load_text(const char *origin, const char *text, size_t len,
		 const char *const *params, uint32_t param_count, int sqlite_version,
		 struct workload **out, char *err, size_t err_len)
{
	char name[WL_MAX_NAME];
	name_of(origin, name, sizeof name);
	struct wl__err e = {err, err_len, false};
	struct wl__prog *p = NULL;
	if (wl__load(name, origin, text, len, params, param_count, sqlite_version, &p, &e) != 0)
		return 2;
	*out = &p->pub;
	return 0;
}

int wl_load_file(const char *path, const char *const *params, uint32_t param_count,
		 int sqlite_version, struct workload **out, char *err, size_t err_len)
{
	struct wl__err e = {err, err_len, false};
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		wl__errf(&e, path, 0, 0, "cannot open: %s", strerror(errno));
		return 2;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		wl__errf(&e, path, 0, 0, "not a regular file");
		return 2;
	}
	if (st.st_size > (off_t)WL_MAX_FILE_BYTES) {
		fclose(f);
		wl__errf(&e, path, 0, 0, "file too large (at most %u bytes)", WL_MAX_FILE_BYTES);
		return 2;
	}
	size_t cap = (size_t)st.st_size + 1;
	char *buf = wh_malloc(cap);
	size_t n = fread(buf, 1, cap, f);
	bool bad = ferror(f) != 0 || n == cap; /* grew while read */
	fclose(f);
	if (bad) {
		free(buf);
		wl__errf(&e, path, 0, 0, "read error or file changed while read");
		return 2;
	}
	int rc = wl_load_text(path, buf, n, params, param_count, sqlite_version, out, err,
			      err_len);
	free(buf);
	return rc;
}

void wl_free(struct workload *wl)
{
	if (wl == NULL)
		return;
	WH_ASSERT(wl->ops == &wl__interp_ops);
	struct wl__prog *p = wl->impl;
	WH_ASSERT(&p->pub == wl);
	wl__prog_free(p);
}

static bool looks_like_path(const char *s)
{
	size_t n = strlen(s);
	return strchr(s, '/') != NULL || (n > 4 && strcmp(s + n - 4, ".sql") == 0);
}

/* Would composing wl for sqlite_version leave an include out? */
static bool leaves_out(const struct workload *wl, int sqlite_version)
{
	for (uint32_t k = 0; k < wl->include_need_count; k++)
		if (!wl_requirement_met(&wl->include_needs[k].needs, sqlite_version))
			return true;
	return false;
}

int wl_resolve_with_params(const char *name_or_path, const char *const *params,
			   uint32_t param_count, int sqlite_version,
			   const struct workload **out, char *err, size_t err_len)
{
	struct workload *wl = NULL;
	int rc;
	if (looks_like_path(name_or_path)) {
		rc = wl_load_file(name_or_path, params, param_count, sqlite_version, &wl, err,
				  err_len);
	} else {
		const struct wl__builtin_file *bf = wl__builtin_file_find(name_or_path);
		if (bf == NULL) {
			struct wl__suggest sg;
			wl__suggest_init(&sg, name_or_path, strlen(name_or_path));
			for (uint32_t k = 0; k < wl__builtin_file_count; k++)
				wl__suggest_try(&sg, wl__builtin_files[k].name);
			char hint[WL_MAX_NAME + 32];
			if (sg.best != NULL)
				snprintf(err, err_len, "unknown workload '%s'%s", name_or_path,
					 wl__suggest_text(&sg, "", hint, sizeof hint));
			else
				snprintf(err, err_len,
					 "unknown workload '%s' (see 'whopper workloads list'; a file's path needs a '/' or the .sql ending)",
					 name_or_path);
			return 2;
		}
		/* The shared copy keeps every include: it serves any SQLite
		 * that needs none left out (the same program, so a run's
		 * trace does not depend on which SQLite asked). */
		if (param_count == 0 && !leaves_out(wl_find(name_or_path), sqlite_version)) {
			*out = wl_find(name_or_path);
			return 0;
		}
		struct wl__err e = {err, err_len, false};
		struct wl__prog *p = NULL;
		rc = wl__load(bf->name, bf->path, bf->text, bf->len, params, param_count,
			      sqlite_version, &p, &e) != 0 ? 2 : 0;
		if (rc == 0)
			wl = &p->pub;
	}
	if (rc != 0)
		return rc;
	kept = wh_realloc(kept, (kept_count + 1) * sizeof *kept);
	kept[kept_count++] = wl->impl;
	*out = wl;
	return 0;
}

int wl_resolve(const char *name_or_path, const struct workload **out, char *err,
	       size_t err_len)
{
	return wl_resolve_with_params(name_or_path, NULL, 0, WL_SQLITE_ANY, out, err, err_len);
}

bool wl_expected(const struct workload *wl, const char *txn_name, const char *stmt_name,
		 int rc)
{
	WH_ASSERT(wl->expect_count == 0 || wl->expects != NULL);
	for (uint32_t k = 0; k < wl->expect_count; k++) {
		const struct wl_expect *x = &wl->expects[k];
		const char *name = x->whole_template ? txn_name : stmt_name;
		if (name == NULL || strcmp(x->name, name) != 0)
			continue;
		for (uint32_t j = 0; j < x->code_count; j++)
			if (wh_rc_matches(x->codes[j], rc))
				return true;
	}
	return false;
}
