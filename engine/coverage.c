/*
 * coverage.c - interleaving coverage: which VFS call one connection made
 * while another was parked inside which call on the same file, and with
 * which lock the caller held on the database.
 *
 * Races in SQLite's concurrency code need a connection held inside one
 * particular call while others go on (the hot-journal race: a check of the
 * journal while another connection sits between its refused EXCLUSIVE and
 * its unlock). A run's coverage is the set of points
 *
 *   (op kind of the call that ran, class of its file, the caller's lock on
 *    the database file, op kind another connection was parked in on the
 *    same class of file)
 *
 * that it reached (struct world_coverage: a bitmap of COVERAGE_POINTS).
 * File classes: the database, its rollback journal, its WAL, anything else
 * (temp files, the shm mapping's calls name the database). A parked call
 * is one a connection submitted to the scheduler and that has not run yet.
 *
 * Invariants: it only reads what the run did (the call that ran, the
 * parks), never draws, never changes the run or its trace hash, so a
 * replay reaches the same points. Cost per call: one pass over the op
 * kinds parked on that file class (a mask), not over the connections.
 */
#include "world_int.h"

#include <string.h>

/* A file's coverage class from its role (world__file_role): the
 * numbering of points (and so of every map written) stays as it was. */
static int file_class(enum world_file_role role)
{
	switch (role) {
	case WORLD_FILE_DB:
		return COVERAGE_FILE_DB;
	case WORLD_FILE_JOURNAL:
		return COVERAGE_FILE_JOURNAL;
	case WORLD_FILE_WAL:
		return COVERAGE_FILE_WAL;
	case WORLD_FILE_OTHER:
		break;
	}
	return COVERAGE_FILE_OTHER;
}

void coverage_park(struct world *w, struct conn *c, enum wh_op_kind kind,
		   enum world_file_role role)
{
	struct coverage_state *cs = &w->cov;
	WH_ASSERT(c->cov_class < 0);
	int fc = file_class(role);
	c->cov_class = (int8_t)fc;
	c->cov_kind = (uint8_t)kind;
	if (cs->parked[fc][kind]++ == 0)
		cs->mask[fc] |= 1u << kind;
}

void coverage_unpark(struct world *w, struct conn *c)
{
	struct coverage_state *cs = &w->cov;
	if (c->cov_class < 0)
		return;
	int fc = c->cov_class;
	WH_ASSERT(cs->parked[fc][c->cov_kind] > 0);
	if (--cs->parked[fc][c->cov_kind] == 0)
		cs->mask[fc] &= ~(1u << c->cov_kind);
	c->cov_class = -1;
}

void coverage_note(struct world *w, struct conn *c, enum wh_op_kind kind,
		   enum world_file_role role)
{
	struct world_coverage *cov = &w->res->coverage;
	int fc = file_class(role);
	uint32_t level = w->hj.level[c->id];
	WH_ASSERT(level < COVERAGE_LEVELS);
	uint32_t parked = w->cov.mask[fc];
	while (parked != 0) {
		uint32_t p = (uint32_t)__builtin_ctz(parked);
		parked &= parked - 1;
		uint32_t point = (((uint32_t)kind * COVERAGE_FILES + (uint32_t)fc) * COVERAGE_LEVELS +
				  level) * WH_OP__COUNT + p;
		WH_ASSERT(point < COVERAGE_POINTS);
		uint8_t bit = (uint8_t)(1u << (point % 8));
		if ((cov->map[point / 8] & bit) == 0) {
			cov->map[point / 8] |= bit;
			cov->points++;
		}
	}
}
