/*
 * shrink_int.h - what the shrinker (shrink.c) hands to the writers of its
 * human-readable outputs: MIN.sql (shrink_sql.c) and MIN.svg
 * (shrink_svg.c).
 *
 * Ownership: a view only borrows. Everything it points at (the run's
 * result and oracle report, the trace text) belongs to the caller and
 * lives for the duration of the writer call; the writers keep nothing.
 * Both writers are pure functions of the view: no wall clock, no
 * addresses, so the same shrunk run gives byte-identical files.
 */
#ifndef WH_SHRINK_INT_H
#define WH_SHRINK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "oracle.h"

#define SHRINK_NONE UINT32_MAX

struct shrink_view {
	const char *source_path;   /* the replay file that was shrunk */
	const char *whop_path;     /* the shrunk replay file */
	const char *stem;          /* the outputs' stem (MIN for MIN.whop):
				      files the run starts from are written
				      as STEM.NAME */
	const char *signature;     /* failure signature both runs share */
	const struct run_opts *opts; /* options of the shrunk run */
	int argc;                  /* its run flags, as written to the file */
	char *const *argv;
	uint32_t skip_count;       /* statements the shrinker removed */
	const struct world_result *res; /* the shrunk run */
	const struct oracle_report *rep; /* its check, or NULL */
	const char *kind;          /* violation (or finding) kind */
	const char *detail;        /* its readable paragraph */
	const uint32_t *txns;      /* transactions it names */
	uint32_t txn_count;
	uint32_t read_txn;         /* the violating read: history txn id, */
	uint32_t read_stmt;        /* statement index; SHRINK_NONE when the
				      detail does not name one */
	char observed[1024];       /* what the read returned ("" unknown) */
	char expected[1024];       /* what the reference gives ("" unknown) */
	const char *trace;         /* the shrunk run's --trace text */
	size_t trace_len;
};

/* Write MIN.sql / MIN.svg for the view to f. Errors surface through
 * ferror(f); the caller checks. */
void shrink_sql_write(FILE *f, const struct shrink_view *v);
void shrink_svg_write(FILE *f, const struct shrink_view *v);

/* The statement's SQL with every ?N replaced by its bound value as an SQL
 * literal (wh_value_format); placeholders inside quotes are left alone.
 * Writes at most cap bytes including the terminator (truncating with
 * "..."); returns buf. */
char *shrink_inline_sql(const struct hist_stmt *s, char *buf, size_t cap);
/* Result rows as a short readable text "(1000), (990)" / "no rows"
 * (truncated to cap). Returns buf. */
char *shrink_rows_text(const struct hist_stmt *s, char *buf, size_t cap);

/* A collapsed prefix (shrink_setup.c): the state after some of a run's
 * transactions, as setup SQL. */
struct shrink_cut {
	const uint32_t *apply; /* in: history ids of the transactions whose
				  effects the setup holds, in the order to
				  apply them (borrowed) */
	uint32_t apply_count;
	char *setup;           /* out: owned by the caller; NULL when the
				  state could not be rebuilt */
};

/* Fill each cut's setup: base_setup, then the cut's transactions run
 * serially on a private in-memory database after the given pragmas
 * ("NAME=VALUE"). A committed transaction replays its statements that
 * succeeded; an indeterminate one also those whose outcome was uncertain
 * (history.h: HIST_STMT_UNCERTAIN). A cut whose list extends the
 * previous one's goes on from that state. */
void shrink_setup_build(const char *base_setup, const char *const *pragmas,
			uint32_t pragma_count, const struct history *h, struct shrink_cut *cuts,
			uint32_t cut_count);

/* Whether the files hold exactly the state `setup` states: opened by the
 * linked SQLite on a private simulated VFS as a restarted process would
 * (a hot journal rolled back, a WAL read), the database db_name passes
 * integrity_check and dumps to the same text as a fresh database built
 * from setup. Touches no run's VFS, stream or clock. */
bool shrink_image_holds(const struct simvfs_image *img, const char *db_name, const char *setup);

#endif /* WH_SHRINK_INT_H */
