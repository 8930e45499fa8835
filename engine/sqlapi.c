/*
 * sqlapi.c - the tables of SQLite entry points (sqlapi.h): the linked one,
 * filled from the linked symbols at compile time, and libraries loaded at
 * run time with dlopen.
 *
 * Loading. dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND): RTLD_NOW so a
 * library with unresolved symbols fails here, not in the middle of a run;
 * RTLD_LOCAL so its symbols never satisfy anyone else's; RTLD_DEEPBIND so
 * its own calls to sqlite3_* reach itself and not the linked SQLite that
 * is already in the global scope (the two export the same names).
 * AddressSanitizer refuses RTLD_DEEPBIND (its interceptors must come
 * first), so sanitizer builds drop it and rely on the library having been
 * linked with -Wl,-Bsymbolic, which binds those calls at link time; a
 * library without that flag is refused there, naming the reason. Each
 * entry point is looked up by name from one table (sqlapi_syms), so the
 * list in sqlapi.h is the only list.
 *
 * Invariants: a loaded table is complete (every required entry point
 * non-NULL) and its version is at least WH_SQLAPI_VERSION_MIN; tables are
 * never freed (a library's global configuration points at whopper's
 * allocator hooks and VFS until exit); one file gives one table.
 */
#include "sqlapi.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "wh.h"

/* AddressSanitizer refuses RTLD_DEEPBIND. GCC says so with a macro,
 * clang with __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define SQLAPI_NO_DEEPBIND 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SQLAPI_NO_DEEPBIND 1
#endif
#endif
#ifndef SQLAPI_NO_DEEPBIND
#define SQLAPI_NO_DEEPBIND 0
#endif

const struct wh_sqlapi wh_sqlapi_linked = {
#define SQLAPI_LINKED(name) .name = sqlite3_##name,
	WH_SQLAPI_REQUIRED(SQLAPI_LINKED)
	WH_SQLAPI_OPTIONAL(SQLAPI_LINKED)
#undef SQLAPI_LINKED
	.linked = true,
};

/* One entry per entry point: its symbol and where its pointer goes. */
struct sqlapi_sym {
	const char *symbol;   /* "sqlite3_open_v2" */
	size_t offset;        /* of its field in struct wh_sqlapi */
	bool required;
};

static const struct sqlapi_sym sqlapi_syms[] = {
#define SQLAPI_REQ(name) {"sqlite3_" #name, offsetof(struct wh_sqlapi, name), true},
#define SQLAPI_OPT(name) {"sqlite3_" #name, offsetof(struct wh_sqlapi, name), false},
	WH_SQLAPI_REQUIRED(SQLAPI_REQ)
	WH_SQLAPI_OPTIONAL(SQLAPI_OPT)
#undef SQLAPI_REQ
#undef SQLAPI_OPT
};

/* Libraries loaded so far: one table per dlopen handle. A process loads
 * a handful (a run one, a test a few). */
#define SQLAPI_LOADED_MAX 16
static struct {
	void *handle;
	struct wh_sqlapi *api;
} sqlapi_loaded[SQLAPI_LOADED_MAX];
static size_t sqlapi_loaded_count;

/* ------------------------------------------------------------------ */
/* Identity                                                             */
/* ------------------------------------------------------------------ */

const char *wh_sqlapi_version(const struct wh_sqlapi *api)
{
	return api->libversion();
}

int wh_sqlapi_version_number(const struct wh_sqlapi *api)
{
	return api->libversion_number();
}

const char *wh_sqlapi_source_id(const struct wh_sqlapi *api)
{
	return api->sourceid();
}

/* The file that holds fn's code, or NULL. */
static const char *file_of(void (*fn)(void))
{
	Dl_info info;
	void *addr;
	_Static_assert(sizeof addr == sizeof fn, "code and data pointers have one size");
	memcpy(&addr, &fn, sizeof addr);
	if (dladdr(addr, &info) == 0 || info.dli_fname == NULL || info.dli_fname[0] == '\0')
		return NULL;
	return info.dli_fname;
}

const char *wh_sqlapi_path(const struct wh_sqlapi *api)
{
	if (!api->linked)
		return api->path;
	/* Found on first use, then kept: the dynamic linker's answer does
	 * not change while the process lives. */
	static char linked_path[4096];
	if (linked_path[0] == '\0') {
		const char *f = file_of((void (*)(void))api->libversion);
		const char *self = file_of((void (*)(void))wh_sqlapi_path);
		bool is_static = f == NULL || (self != NULL && strcmp(f, self) == 0);
		snprintf(linked_path, sizeof linked_path, "%s", is_static ? "linked" : f);
	}
	return linked_path;
}

static uint64_t options_hash_of(const struct wh_sqlapi *api)
{
	if (api->compileoption_get == NULL)
		return 0;
	uint64_t h = WH_FNV1A_BASIS;
	const char *opt;
	/* Bounded: a library lists a few dozen options. */
	for (int i = 0; i < 100000 && (opt = api->compileoption_get(i)) != NULL; i++)
		h = wh_fnv1a_byte(wh_fnv1a_str(h, opt), '\n');
	return h;
}

uint64_t wh_sqlapi_options_hash(const struct wh_sqlapi *api)
{
	if (!api->linked)
		return api->options_hash;
	static uint64_t linked_hash;
	static bool linked_hash_known;
	if (!linked_hash_known) {
		linked_hash = options_hash_of(api);
		linked_hash_known = true;
	}
	return linked_hash;
}

/* ------------------------------------------------------------------ */
/* Loading                                                              */
/* ------------------------------------------------------------------ */

/* Was the library linked with -Bsymbolic (DT_SYMBOLIC, or DF_SYMBOLIC in
 * DT_FLAGS)? */
static bool linked_symbolic(void *handle)
{
	struct link_map *lm = NULL;
	if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL || lm->l_ld == NULL)
		return false;
	/* Bounded by the dynamic section, which ends with DT_NULL. */
	for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_SYMBOLIC)
			return true;
		if (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_SYMBOLIC) != 0)
			return true;
	}
	return false;
}

/* Fill api from handle. 0, or -1 with the reason in err: too old when it
 * says its version (that explains a missing entry point best), else the
 * first missing entry point. */
static int resolve_symbols(void *handle, const char *path, struct wh_sqlapi *api, char *err,
			   size_t err_len)
{
	const char *first_missing = NULL;
	unsigned missing = 0;
	for (size_t i = 0; i < sizeof sqlapi_syms / sizeof sqlapi_syms[0]; i++) {
		const struct sqlapi_sym *s = &sqlapi_syms[i];
		void *sym = dlsym(handle, s->symbol);
		if (sym == NULL && s->required) {
			if (first_missing == NULL)
				first_missing = s->symbol;
			missing++;
		}
		/* POSIX's way from a dlsym result to a function pointer: the
		 * bytes of the pointer, copied. */
		void (*fn)(void);
		_Static_assert(sizeof fn == sizeof sym, "code and data pointers have one size");
		memcpy(&fn, &sym, sizeof fn);
		memcpy((char *)api + s->offset, &fn, sizeof fn);
	}
	if (api->libversion_number != NULL && api->libversion_number() < WH_SQLAPI_VERSION_MIN) {
		snprintf(err, err_len, "%s: SQLite %d.%d.%d is too old: whopper needs 3.7.17 or later (its simulated VFS is version 3, with xFetch and xUnfetch)",
			 path, api->libversion_number() / 1000000, api->libversion_number() / 1000 % 1000,
			 api->libversion_number() % 1000);
		return -1;
	}
	if (missing == 0)
		return 0;
	if (missing == 1)
		snprintf(err, err_len, "%s: not an SQLite library whopper can drive: it lacks %s",
			 path, first_missing);
	else
		snprintf(err, err_len, "%s: not an SQLite library whopper can drive: it lacks %s (and %u more entry points)",
			 path, first_missing, missing - 1);
	return -1;
}

int wh_sqlapi_load(const char *path, const struct wh_sqlapi **out, char *err, size_t err_len)
{
	WH_ASSERT(path != NULL);
	WH_ASSERT(out != NULL);
	*out = NULL;
	int flags = RTLD_NOW | RTLD_LOCAL;
	if (!SQLAPI_NO_DEEPBIND)
		flags |= RTLD_DEEPBIND;
	void *handle = dlopen(path, flags);
	if (handle == NULL) {
		const char *why = dlerror();
		snprintf(err, err_len, "%s: cannot load: %s", path, why ? why : "unknown error");
		return -1;
	}
	for (size_t i = 0; i < sqlapi_loaded_count; i++) {
		if (sqlapi_loaded[i].handle == handle) {
			dlclose(handle); /* drop the extra reference */
			*out = sqlapi_loaded[i].api;
			return 0;
		}
	}
	struct wh_sqlapi *api = wh_calloc(1, sizeof *api);
	if (resolve_symbols(handle, path, api, err, err_len) != 0)
		goto out_close;
	const char *file = file_of((void (*)(void))api->libversion);
	const char *linked_file = file_of((void (*)(void))wh_sqlapi_linked.libversion);
	if (api->libversion == wh_sqlapi_linked.libversion ||
	    (file != NULL && linked_file != NULL && strcmp(file, linked_file) == 0)) {
		/* The path names the linked SQLite itself: drive it as such (a
		 * second registration of one VFS struct would corrupt its list). */
		free(api);
		dlclose(handle);
		*out = &wh_sqlapi_linked;
		return 0;
	}
	if (SQLAPI_NO_DEEPBIND && !linked_symbolic(handle)) {
		snprintf(err, err_len, "%s: not linked with -Wl,-Bsymbolic: this sanitizer build cannot load it with RTLD_DEEPBIND, so its calls to itself would reach the linked SQLite",
			 path);
		goto out_close;
	}
	if (sqlapi_loaded_count == SQLAPI_LOADED_MAX) {
		snprintf(err, err_len, "%s: cannot load: more than %d SQLite libraries in one process",
			 path, SQLAPI_LOADED_MAX);
		goto out_close;
	}
	api->path = wh_strdup(file ? file : path);
	api->options_hash = options_hash_of(api);
	sqlapi_loaded[sqlapi_loaded_count].handle = handle;
	sqlapi_loaded[sqlapi_loaded_count].api = api;
	sqlapi_loaded_count++;
	*out = api;
	return 0;
out_close:
	free(api);
	dlclose(handle);
	return -1;
}
