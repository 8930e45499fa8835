/*
 * rcname.c - the table of SQLite result-code names (rcname.h).
 *
 * One X-macro list, WH_RC_MAP(X): X(NAME, value) for every primary and
 * extended result code SQLite documents, up to 3.45's IOERR_IN_PAGE.
 * Names, lookups and the listing are generated from it. The values are
 * written as sqlite3.h writes them (primary | n << 8).
 */
#include "rcname.h"

#include <string.h>
#include <strings.h>

#include "wh.h"

#define WH_RC_EXT(primary, n) ((primary) | ((n) << 8))

#define WH_RC_MAP(X)                                                        \
	X(OK, 0)                                                            \
	X(ERROR, 1)                                                         \
	X(INTERNAL, 2)                                                      \
	X(PERM, 3)                                                          \
	X(ABORT, 4)                                                         \
	X(BUSY, 5)                                                          \
	X(LOCKED, 6)                                                        \
	X(NOMEM, 7)                                                         \
	X(READONLY, 8)                                                      \
	X(INTERRUPT, 9)                                                     \
	X(IOERR, 10)                                                        \
	X(CORRUPT, 11)                                                      \
	X(NOTFOUND, 12)                                                     \
	X(FULL, 13)                                                         \
	X(CANTOPEN, 14)                                                     \
	X(PROTOCOL, 15)                                                     \
	X(EMPTY, 16)                                                        \
	X(SCHEMA, 17)                                                       \
	X(TOOBIG, 18)                                                       \
	X(CONSTRAINT, 19)                                                   \
	X(MISMATCH, 20)                                                     \
	X(MISUSE, 21)                                                       \
	X(NOLFS, 22)                                                        \
	X(AUTH, 23)                                                         \
	X(FORMAT, 24)                                                       \
	X(RANGE, 25)                                                        \
	X(NOTADB, 26)                                                       \
	X(NOTICE, 27)                                                       \
	X(WARNING, 28)                                                      \
	X(ROW, 100)                                                         \
	X(DONE, 101)                                                        \
	X(ERROR_MISSING_COLLSEQ, WH_RC_EXT(1, 1))                           \
	X(ERROR_RETRY, WH_RC_EXT(1, 2))                                     \
	X(ERROR_SNAPSHOT, WH_RC_EXT(1, 3))                                  \
	X(IOERR_READ, WH_RC_EXT(10, 1))                                     \
	X(IOERR_SHORT_READ, WH_RC_EXT(10, 2))                               \
	X(IOERR_WRITE, WH_RC_EXT(10, 3))                                    \
	X(IOERR_FSYNC, WH_RC_EXT(10, 4))                                    \
	X(IOERR_DIR_FSYNC, WH_RC_EXT(10, 5))                                \
	X(IOERR_TRUNCATE, WH_RC_EXT(10, 6))                                 \
	X(IOERR_FSTAT, WH_RC_EXT(10, 7))                                    \
	X(IOERR_UNLOCK, WH_RC_EXT(10, 8))                                   \
	X(IOERR_RDLOCK, WH_RC_EXT(10, 9))                                   \
	X(IOERR_DELETE, WH_RC_EXT(10, 10))                                  \
	X(IOERR_BLOCKED, WH_RC_EXT(10, 11))                                 \
	X(IOERR_NOMEM, WH_RC_EXT(10, 12))                                   \
	X(IOERR_ACCESS, WH_RC_EXT(10, 13))                                  \
	X(IOERR_CHECKRESERVEDLOCK, WH_RC_EXT(10, 14))                       \
	X(IOERR_LOCK, WH_RC_EXT(10, 15))                                    \
	X(IOERR_CLOSE, WH_RC_EXT(10, 16))                                   \
	X(IOERR_DIR_CLOSE, WH_RC_EXT(10, 17))                               \
	X(IOERR_SHMOPEN, WH_RC_EXT(10, 18))                                 \
	X(IOERR_SHMSIZE, WH_RC_EXT(10, 19))                                 \
	X(IOERR_SHMLOCK, WH_RC_EXT(10, 20))                                 \
	X(IOERR_SHMMAP, WH_RC_EXT(10, 21))                                  \
	X(IOERR_SEEK, WH_RC_EXT(10, 22))                                    \
	X(IOERR_DELETE_NOENT, WH_RC_EXT(10, 23))                            \
	X(IOERR_MMAP, WH_RC_EXT(10, 24))                                    \
	X(IOERR_GETTEMPPATH, WH_RC_EXT(10, 25))                             \
	X(IOERR_CONVPATH, WH_RC_EXT(10, 26))                                \
	X(IOERR_VNODE, WH_RC_EXT(10, 27))                                   \
	X(IOERR_AUTH, WH_RC_EXT(10, 28))                                    \
	X(IOERR_BEGIN_ATOMIC, WH_RC_EXT(10, 29))                            \
	X(IOERR_COMMIT_ATOMIC, WH_RC_EXT(10, 30))                           \
	X(IOERR_ROLLBACK_ATOMIC, WH_RC_EXT(10, 31))                         \
	X(IOERR_DATA, WH_RC_EXT(10, 32))                                    \
	X(IOERR_CORRUPTFS, WH_RC_EXT(10, 33))                               \
	X(IOERR_IN_PAGE, WH_RC_EXT(10, 34))                                 \
	X(LOCKED_SHAREDCACHE, WH_RC_EXT(6, 1))                              \
	X(LOCKED_VTAB, WH_RC_EXT(6, 2))                                     \
	X(BUSY_RECOVERY, WH_RC_EXT(5, 1))                                   \
	X(BUSY_SNAPSHOT, WH_RC_EXT(5, 2))                                   \
	X(BUSY_TIMEOUT, WH_RC_EXT(5, 3))                                    \
	X(CANTOPEN_NOTEMPDIR, WH_RC_EXT(14, 1))                             \
	X(CANTOPEN_ISDIR, WH_RC_EXT(14, 2))                                 \
	X(CANTOPEN_FULLPATH, WH_RC_EXT(14, 3))                              \
	X(CANTOPEN_CONVPATH, WH_RC_EXT(14, 4))                              \
	X(CANTOPEN_DIRTYWAL, WH_RC_EXT(14, 5))                              \
	X(CANTOPEN_SYMLINK, WH_RC_EXT(14, 6))                               \
	X(CORRUPT_VTAB, WH_RC_EXT(11, 1))                                   \
	X(CORRUPT_SEQUENCE, WH_RC_EXT(11, 2))                               \
	X(CORRUPT_INDEX, WH_RC_EXT(11, 3))                                  \
	X(READONLY_RECOVERY, WH_RC_EXT(8, 1))                               \
	X(READONLY_CANTLOCK, WH_RC_EXT(8, 2))                               \
	X(READONLY_ROLLBACK, WH_RC_EXT(8, 3))                               \
	X(READONLY_DBMOVED, WH_RC_EXT(8, 4))                                \
	X(READONLY_CANTINIT, WH_RC_EXT(8, 5))                               \
	X(READONLY_DIRECTORY, WH_RC_EXT(8, 6))                              \
	X(ABORT_ROLLBACK, WH_RC_EXT(4, 2))                                  \
	X(CONSTRAINT_CHECK, WH_RC_EXT(19, 1))                               \
	X(CONSTRAINT_COMMITHOOK, WH_RC_EXT(19, 2))                          \
	X(CONSTRAINT_FOREIGNKEY, WH_RC_EXT(19, 3))                          \
	X(CONSTRAINT_FUNCTION, WH_RC_EXT(19, 4))                            \
	X(CONSTRAINT_NOTNULL, WH_RC_EXT(19, 5))                             \
	X(CONSTRAINT_PRIMARYKEY, WH_RC_EXT(19, 6))                          \
	X(CONSTRAINT_TRIGGER, WH_RC_EXT(19, 7))                             \
	X(CONSTRAINT_UNIQUE, WH_RC_EXT(19, 8))                              \
	X(CONSTRAINT_VTAB, WH_RC_EXT(19, 9))                                \
	X(CONSTRAINT_ROWID, WH_RC_EXT(19, 10))                              \
	X(CONSTRAINT_PINNED, WH_RC_EXT(19, 11))                             \
	X(CONSTRAINT_DATATYPE, WH_RC_EXT(19, 12))                           \
	X(NOTICE_RECOVER_WAL, WH_RC_EXT(27, 1))                             \
	X(NOTICE_RECOVER_ROLLBACK, WH_RC_EXT(27, 2))                        \
	X(NOTICE_RBU, WH_RC_EXT(27, 3))                                     \
	X(WARNING_AUTOINDEX, WH_RC_EXT(28, 1))                              \
	X(AUTH_USER, WH_RC_EXT(23, 1))                                      \
	X(OK_LOAD_PERMANENTLY, WH_RC_EXT(0, 1))                             \
	X(OK_SYMLINK, WH_RC_EXT(0, 2))

static const struct {
	const char *name;           /* with the "SQLITE_" prefix */
	int rc;
} rc_table[] = {
#define WH_RC_ENTRY(name, value) {"SQLITE_" #name, (value)},
	WH_RC_MAP(WH_RC_ENTRY)
#undef WH_RC_ENTRY
};

#define RC_TABLE_COUNT (sizeof rc_table / sizeof rc_table[0])
#define RC_PREFIX_LEN 7 /* "SQLITE_" */

const char *wh_rc_name(int rc)
{
	switch (rc) {
#define WH_RC_CASE(name, value)                                             \
	case (value):                                                       \
		return "SQLITE_" #name;
		WH_RC_MAP(WH_RC_CASE)
#undef WH_RC_CASE
	}
	return NULL;
}

bool wh_rc_lookup(const char *s, size_t n, int *rc)
{
	if (n > RC_PREFIX_LEN && strncasecmp(s, "SQLITE_", RC_PREFIX_LEN) == 0) {
		s += RC_PREFIX_LEN;
		n -= RC_PREFIX_LEN;
	}
	for (size_t k = 0; k < RC_TABLE_COUNT; k++) {
		const char *bare = rc_table[k].name + RC_PREFIX_LEN;
		if (strlen(bare) == n && strncasecmp(bare, s, n) == 0) {
			*rc = rc_table[k].rc;
			WH_ASSERT(wh_rc_name(*rc) == rc_table[k].name ||
				  strcmp(wh_rc_name(*rc), rc_table[k].name) == 0);
			return true;
		}
	}
	return false;
}

const char *wh_rc_name_at(size_t index)
{
	return index < RC_TABLE_COUNT ? rc_table[index].name : NULL;
}
