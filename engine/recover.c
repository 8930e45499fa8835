/*
 * recover.c - when a connection's process dies, and what comes back: the
 * unwinding of a dead connection (a power loss, or the end of a hung
 * run), power loss itself, clean reopen rounds, and the recovery a new
 * process makes, recorded in the history with a digest of what survived.
 *
 * Invariants: a dead connection's VFS calls fail at once and are never
 * scheduled; every connection of the old process is dead before the new
 * one opens the database; recovery runs on the main context (no yields).
 */
#include "world_int.h"

#include <inttypes.h>
#include <string.h>

#include "digest.h"

/* Unwind a connection whose process died (a crash, or the end of a hung
 * run): its pending completion is cancelled, every further VFS call fails
 * at once without being scheduled, the SQLite call in flight returns, its
 * open transaction ends (INDETERMINATE when it was inside COMMIT: it may
 * have committed; ABORTED otherwise) and the handle is closed. */
void recover_kill(struct world *w, struct conn *c, bool record_txn)
{
	bool cut_stmt = c->call_active && c->call_op == CALL_STMT;
	c->dead = true;
	evidence_conn_killed(w, c->id);
	if (wh_completion_is_pending(&c->comp))
		sched_cancel(&w->sched, &c->comp);
	for (int guard = 0; c->call_active; guard++) {
		/* Each resume fails one more VFS call; a call makes at most a
		 * bounded number of them once everything fails. */
		WH_ASSERT(guard < 100000);
		w->running = c;
		w->runner->resume(c);
		w->running = NULL;
		if (c->call_done)
			c->call_active = false;
	}
	bool uncertain = c->in_commit && c->commit_wrote;
	if (c->txn != NULL && record_txn && cut_stmt) {
		/* The statement the crash cut still goes into the history: if
		 * it was an autocommit write past its commit point, its effects
		 * survive and the oracle must be able to replay it. */
		struct hist_stmt *hs = hist_stmt_add(
			&w->res->history, c->txn, c->stmt_sql, c->stmt_tmpl, c->params,
			c->param_count, c->call_rc == SQLITE_DONE ? SQLITE_IOERR : c->call_rc,
			0, 0, 0, NULL, conn_sql_is_ordered(c->stmt_sql));
		hs->flags = c->stmt_flags | (uncertain ? HIST_STMT_UNCERTAIN : 0);
		w->res->stats.statements++;
	}
	if (c->txn != NULL && record_txn)
		conn_txn_end(c, uncertain ? HIST_INDETERMINATE : HIST_ABORTED, SQLITE_IOERR);
	if (c->db != NULL) {
		c->call_op = CALL_CLOSE;
		c->call_active = true;
		c->call_done = false;
		w->running = c;
		w->runner->resume(c);
		w->running = NULL;
		WH_ASSERT(c->call_done);
		c->call_active = false;
	}
	WH_ASSERT(c->db == NULL);
	c->in_commit = false;
	c->holds_db_write_lock = false;
	c->holds_wal_write_lock = false;
	c->wrote_under_lock = false;
	c->hold_predates_commit = false;
	c->hold_is_recovery = false;
	c->db_lock_level = SQLITE_LOCK_NONE;
	c->persist_left = 0;
	conn_clear_cells(c);
}

/* After a hang, unwind every parked SQLite call so every connection
 * closes; transactions in flight stay RUNNING in the history. */
void recover_drain(struct world *w)
{
	w->draining = true;
	for (uint32_t i = 0; i < w->cfg->conn_count; i++)
		recover_kill(w, &w->conns[i], false);
}

/* Open the database as a new process would, on the main context (no
 * yields: this is where SQLite recovers a hot journal or a WAL), and
 * record the crash with a digest of what survived. */
static void record_recovery(struct world *w, enum hist_crash_kind kind)
{
	struct hist_crash *cr = hist_crash_add(&w->res->history, kind);
	const struct wh_sqlapi *api = w->api; /* the new process runs the target */
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_PRIVATECACHE;
	int rc = api->open_v2(w->res->db_path, &db, flags, w->res->vfs_name);
	if (rc == SQLITE_OK)
		rc = world__apply_pragmas(api, db, w->cfg, true); /* a key */
	if (rc == SQLITE_OK)
		rc = digest_db_with(api, db, &cr->recovered_digest);
	cr->recovered_rc = rc;
	/* The check must not be the one to end the WAL: as the last
	 * connection out, its close would checkpoint and delete the WAL, and
	 * no run would ever go on with a WAL that survived a power loss (the
	 * restarted connections then rebuild its index among themselves, as an
	 * application's connections do after a crash, and a second crash can
	 * find a recovered WAL's tail). Only in WAL mode: elsewhere the
	 * option changes nothing but one file control SQLite makes. Only
	 * after a power loss, whose survivors are on the disk already: a
	 * clean reopen is a clean close, whose last checkpoint makes every
	 * commit before it durable (under synchronous=NORMAL the WAL is
	 * synced by nothing else), as the oracle promises of it. */
	if (db != NULL && api->db_config != NULL && kind == HIST_CRASH_POWER_LOSS &&
	    strcmp(w->cfg->journal_mode, "wal") == 0)
		api->db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
	api->close_v2(db);
	hist_crash_recovered(&w->res->history, cr);
	world__trace_fold(w, cr->recovered_digest ^ (uint64_t)(uint32_t)rc);
	if (w->cfg->trace)
		fprintf(w->cfg->trace, "t=%" PRIu64 " %s recovered rc=%d digest=%016" PRIx64 "\n",
			w->sched.now_us, kind == HIST_CRASH_POWER_LOSS ? "power-loss" : "reopen",
			rc, cr->recovered_digest);
	if (rc == SQLITE_OK && kind == HIST_CRASH_POWER_LOSS)
		w->res->stats.recoveries++;
}

/* Restart every connection that the crash or reopen took down. */
static void restart_conns(struct world *w, bool only_reopened)
{
	for (uint32_t i = 0; i < w->cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		if (only_reopened ? !c->parked_for_reopen : c->state == CS_CLOSED)
			continue;
		c->dead = false;
		c->parked_for_reopen = false;
		c->open_failures = 0;
		c->state = CS_OPEN;
		conn_mark_txn(c);
		if (only_reopened)
			w->live_conns++;
		if (conn_step(c) == WH_DONE)
			w->live_conns--;
	}
}

/* Power loss: the simulated device loses unsynced data, every connection
 * of the old process dies, a new process opens what survived. */
void recover_power_loss(struct world *w)
{
	struct simvfs_crash_stats st;
	simvfs_power_loss(w->res->vfs, &w->fault_rng, &st);
	w->res->stats.crashes++;
	w->hot_owner_plus1 = 0; /* commit.c: recovery decides it now */
	commit_forget_latent(w);
	if (st.torn_outside > 0 && w->res->evidence.torn_outside_write++ == 0)
		w->res->evidence.torn_outside_first_event = w->res->history.event;
	world__trace_fold(w, 0xc4a5ULL ^ st.sectors_lost ^ (st.sectors_kept << 20) ^
			  (st.sectors_garbage << 40));
	if (w->cfg->trace)
		fprintf(w->cfg->trace,
			"t=%" PRIu64 " power-loss lost=%" PRIu64 " kept=%" PRIu64
			" garbage=%" PRIu64 " files=%u\n",
			w->sched.now_us, st.sectors_lost, st.sectors_kept,
			st.sectors_garbage, st.files_affected);
	/* Before anyone dies: the transactions the crash cuts end after the
	 * point it marks. */
	for (uint32_t i = 0; i < w->cfg->conn_count; i++)
		if (w->conns[i].state != CS_CLOSED)
			commit_note_unsafe(w, &w->conns[i]);
	for (uint32_t i = 0; i < w->cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		if (c->state != CS_CLOSED)
			recover_kill(w, c, true);
	}
	record_recovery(w, HIST_CRASH_POWER_LOSS);
	restart_conns(w, false);
}

/* The reopen group finished: every connection has closed cleanly. The
 * reopen itself runs at the next tick of the main loop, not inside the
 * last connection's step. */
static void on_all_closed(struct wh_completion *comp, void *data)
{
	struct world *w = data;
	(void)comp;
	w->reopen_ready = true;
}

void recover_finish_reopen(struct world *w)
{
	w->reopen_ready = false;
	w->reopening = false;
	w->res->stats.reopens++;
	commit_forget_latent(w); /* the recovery decides them */
	record_recovery(w, HIST_CRASH_REOPEN);
	restart_conns(w, true);
}

/* Clean reopen: connections finish their transaction and close (a group
 * waits for all of them), then all reopen. */
void recover_start_reopen(struct world *w)
{
	w->reopening = true;
	wh_group_init(&w->reopen_group, on_all_closed, w);
	for (uint32_t i = 0; i < w->cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		if (c->state == CS_CLOSED)
			continue;
		wh_completion_init(&c->closed, WH_OP_CLOSE, NULL, NULL);
		wh_group_add(&w->reopen_group, &c->closed);
	}
	wh_group_seal(&w->reopen_group);
}
