/*
 * digest.h - a 64-bit digest of a database's logical content.
 *
 * What it covers: every table of sqlite_schema (by name, sqlite_%
 * excluded), every row in rowid order (or all columns for WITHOUT ROWID),
 * every value. The schema entries themselves (type, name, tbl_name, sql)
 * are folded in too, so a lost CREATE or DROP changes the digest; virtual
 * tables contribute their schema entry only (their shadow tables hold the
 * content). Equal content gives equal digests on any two databases.
 *
 * The driver digests what a crash recovery left (history.h, struct
 * hist_crash); the oracle digests its reference at the states the target
 * could have recovered to, and compares.
 */
#ifndef WH_DIGEST_H
#define WH_DIGEST_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* Statements digest_db_cached keeps on one connection. */
struct digest_table {
	char *name;              /* table name, owned */
	bool wr;                 /* WITHOUT ROWID when prepared */
	int ncol;                /* columns when prepared */
	sqlite3_stmt *st;        /* its rows in digest order */
};

struct digest_cache {
	sqlite3_stmt *schema;      /* schema entries */
	sqlite3_stmt *tables_list; /* tables with shape */
	struct digest_table *tables; /* table_count, by first use */
	uint32_t table_count;
};

/* The digest of db's content into *out (0 on failure). Read-only: runs in
 * its own read transaction when db has none open, else inside the open
 * one. Returns SQLITE_OK or the SQLite error. db is a connection of the
 * linked SQLite. */
int digest_db(sqlite3 *db, uint64_t *out);
/* The same for a connection of api's library (engine/sqlapi.h). */
struct wh_sqlapi;
int digest_db_with(const struct wh_sqlapi *api, sqlite3 *db, uint64_t *out);
/* The same stream, with statements kept in dc across calls (a zeroed
 * cache to start; release with digest_cache_free before db closes). No
 * read transaction of its own: for a connection nothing else writes to.
 * A linked-SQLite connection (the oracle's reference). */
int digest_db_cached(sqlite3 *db, struct digest_cache *dc, uint64_t *out);
void digest_cache_free(struct digest_cache *dc);

#endif /* WH_DIGEST_H */
