/*
 * workloads.h - the workloads whopper ships and the loader of workload
 * files: how a name or a path given to --workload becomes a struct
 * workload (the interface the driver runs, declared in engine/workload.h).
 */
#ifndef WH_WORKLOADS_H
#define WH_WORKLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workload.h"

/* Resolve --workload: a built-in name, or a path to a workload file (any
 * argument containing '/' or ending in ".sql"), composed for any SQLite
 * (WL_SQLITE_ANY: every include kept). Returns 0 with *out set (a
 * built-in is static; a loaded file lives until process exit), or 2 with
 * a one-line message "FILE:LINE: ..." in err. */
int wl_resolve(const char *name_or_path, const struct workload **out, char *err,
	       size_t err_len);

/* The same with parameter overrides, each "NAME=VALUE" as given to
 * --param (an included workload's parameter is "INCLUDE/NAME=VALUE"),
 * composed for SQLite version sqlite_version (a version number such as
 * 3015002, or WL_SQLITE_ANY): an include that needs a newer SQLite
 * (\requires) is left out, and listed in include_needs. Whether the
 * workload itself can run there (wl->requires) is the caller's to
 * check. With no overrides, a built-in that leaves nothing out is the
 * shared static one; otherwise a new workload is loaded, which lives
 * until process exit. An unknown name or a value of the wrong type is an
 * error (2, message in err); nothing is half-loaded. */
int wl_resolve_with_params(const char *name_or_path, const char *const *params,
			   uint32_t param_count, int sqlite_version,
			   const struct workload **out, char *err, size_t err_len);

/* Load a workload from text, composed for sqlite_version (as above).
 * origin names it in messages ("FILE:LINE: ..."); the workload is named
 * after origin's base name without ".sql". \include may name built-ins
 * only. Returns 0 with *out (free it with wl_free), or 2 with the
 * message in err and *out untouched. */
int wl_load_text(const char *origin, const char *text, size_t len,
		 const char *const *params, uint32_t param_count, int sqlite_version,
		 struct workload **out, char *err, size_t err_len);
/* Load a workload file (at most 1 MiB). Same contract as wl_load_text. */
int wl_load_file(const char *path, const char *const *params,
		 uint32_t param_count, int sqlite_version, struct workload **out,
		 char *err, size_t err_len);
/* Free a workload from wl_load_text/wl_load_file. NULL is a no-op. */
void wl_free(struct workload *wl);

/* Did the workload declare (\expect) that a transaction of template
 * txn_name may abort with result code rc in its statement named
 * stmt_name (hist_stmt.tmpl), or, stmt_name NULL, at BEGIN or COMMIT
 * (where only the template's own declaration counts)? A workload that
 * declares nothing expects nothing. */
bool wl_expected(const struct workload *wl, const char *txn_name, const char *stmt_name,
		 int rc);

/* An SQLite version "3.MINOR" or "3.MINOR.PATCH" (s[0..n)) as a version
 * number (3.35.0 is 3035000): 0, or -1 when it is not one. */
int wl_version_parse(const char *s, size_t n, int *out);
/* A version number as text, "3.35.0". */
void wl_version_text(int version, char *buf, size_t len);

/* Built-in workloads by name ("bank", "default"), composed for any
 * SQLite; NULL if unknown. */
const struct workload *wl_find(const char *name);
/* Iterate built-ins: returns NULL past the end. */
const struct workload *wl_builtin(uint32_t index);

#endif /* WH_WORKLOADS_H */
