/*
 * rcname.h - SQLite's result codes by name: "SQLITE_CONSTRAINT_UNIQUE"
 * for 2067 and back.
 *
 * Why a table of our own: SQLite gives a code's message
 * (sqlite3_errstr), never its name, and a workload author writes names
 * (\expect constraint_unique) and reads them in the run's summary. The
 * values are written out (primary | n << 8, as sqlite3.h defines them)
 * rather than taken from the header, so a code a newer SQLite added is
 * named even when whopper is built against an older header; the tests
 * check the table against the header's macros.
 */
#ifndef WH_RCNAME_H
#define WH_RCNAME_H

#include <stdbool.h>
#include <stddef.h>

/* A result code's name with its "SQLITE_" prefix ("SQLITE_BUSY_SNAPSHOT"),
 * or NULL when the table does not know it. */
const char *wh_rc_name(int rc);

/* The code named s[0..n): a name of the table, in any case, with or
 * without the "SQLITE_" prefix ("constraint_unique",
 * "SQLITE_CONSTRAINT_UNIQUE"). Returns true with *rc set, or false. */
bool wh_rc_lookup(const char *s, size_t n, int *rc);

/* The index-th name of the table ("SQLITE_OK" first), or NULL past the
 * end: for listing the names (and suggesting one for a typo). */
const char *wh_rc_name_at(size_t index);

/* Is rc a primary code (no extended bits), which stands for every
 * extended code of its class? */
static inline bool wh_rc_is_primary(int rc)
{
	return rc >= 0 && rc < 256;
}

/* Does code rc fall under `want`: the same code, or want is rc's
 * primary code? */
static inline bool wh_rc_matches(int want, int rc)
{
	return want == rc || (wh_rc_is_primary(want) && (rc & 0xff) == want);
}

#endif /* WH_RCNAME_H */
