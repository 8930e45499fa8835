/*
 * conn.c - the connection driver: how a simulated connection runs its
 * SQLite calls and its transactions.
 *
 * How a connection moves:
 *   conn_step() is a resumable state machine on the main context:
 *     OPEN -> THINK -> PLAN -> BEGIN -> (GAP -> STMT)* -> COMMIT -> THINK ...
 *     ... -> ROLLBACK on error/busy; CLOSE when the txn quota is used up.
 *   Each state that calls SQLite does it through conn_call(), which hands
 *   the call to the connection's runner and resumes it. When SQLite calls
 *   a VFS method, the yield hook (conn_hook_yield) submits a completion to
 *   the scheduler and parks the call; conn_call() then returns WH_PENDING
 *   and conn_step() returns it. When the scheduler finishes that
 *   completion, its callback re-enters conn_step() in the same state,
 *   conn_call() resumes the call, and so on until the SQLite call returns.
 *
 * The runner (struct conn_runner, world_int.h) is the seam for what
 * carries a connection: a fiber on the world's one thread
 * (conn_fiber_runner, at the end of this file), or on the threads target
 * a pthread of its own (threads.c): there a call runs to its end at
 * once, without the world's lock, and a wait (conn_submit) is a pause
 * the thread takes itself, as no scheduler runs.
 *
 * Invariants:
 * - Re-entrancy: conn_step() mutates the history and counters only after
 *   a call has returned WH_DONE, in the same block as the state
 *   transition, so a resumed state never records twice.
 * - A connection waits on one completion at a time (c->comp), so the
 *   scheduler holds at most one per connection.
 * - A transaction ends (conn_txn_end) only between calls, never while one
 *   is active.
 */
#include "world_int.h"

#include <inttypes.h>
#include <string.h>

#include "fiber.h"

/* ------------------------------------------------------------------ */
/* The call side: what runs inside a connection's call                */
/* ------------------------------------------------------------------ */

void conn_clear_cells(struct conn *c)
{
	for (uint32_t i = 0; i < c->cell_count; i++)
		wh_value_free(&c->cells[i]);
	c->cell_count = 0;
	c->col_count = 0;
	c->changes = 0;
}

static void value_from_column(const struct wh_sqlapi *api, struct wh_value *v, sqlite3_stmt *st,
			      int col)
{
	memset(v, 0, sizeof *v);
	v->type = api->column_type(st, col);
	switch (v->type) {
	case SQLITE_INTEGER:
		v->i = api->column_int64(st, col);
		break;
	case SQLITE_FLOAT:
		v->f = api->column_double(st, col);
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *p = v->type == SQLITE_TEXT
					? (const void *)api->column_text(st, col)
					: api->column_blob(st, col);
		v->n = (uint32_t)api->column_bytes(st, col);
		v->p = wh_malloc(v->n + 1);
		if (v->n)
			memcpy(v->p, p, v->n);
		v->p[v->n] = 0;
		break;
	}
	default:
		v->type = SQLITE_NULL;
	}
}

void conn_clear_params(struct conn *c)
{
	for (uint32_t i = 0; i < c->param_count; i++)
		wh_value_free(&c->params[i]);
	c->param_count = 0;
}

/* Prepare, bind, step to the end, collect every row. Runs on the fiber and
 * may park inside any SQLite call. */
static int conn_do_stmt(struct conn *c)
{
	const struct wh_sqlapi *api = c->w->api;
	sqlite3_stmt *st = NULL;
	conn_clear_cells(c);
	c->vm_steps = 0;
	c->runaway = false;
	int rc = api->prepare_v2(c->db, c->stmt_sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return api->extended_errcode(c->db);
	for (uint32_t i = 0; i < c->param_count; i++)
		wh_value_bind_with(api, st, (int)i + 1, &c->params[i]);
	c->col_count = (uint32_t)api->column_count(st);
	while ((rc = api->step(st)) == SQLITE_ROW) {
		if (c->cell_count + c->col_count > c->cell_cap) {
			c->cell_cap = (c->cell_cap + c->col_count) * 2;
			c->cells = wh_realloc(c->cells, c->cell_cap * sizeof *c->cells);
		}
		for (uint32_t k = 0; k < c->col_count; k++)
			value_from_column(api, &c->cells[c->cell_count++], st, (int)k);
	}
	if (rc == SQLITE_DONE)
		c->changes = wh_sqlapi_changes(api, c->db);
	else
		rc = api->extended_errcode(c->db);
	api->finalize(st);
	return rc;
}

/* SQLite calls this every CONN_PROGRESS_EVERY virtual-machine steps of
 * a statement: past the step budget the statement is stopped
 * (SQLITE_INTERRUPT), so a query that never ends, and never makes a VFS
 * call that would yield, cannot stop the whole run. It reads no clock and
 * draws nothing: the run is the same whether or not it is installed, up
 * to the stop. */
#define CONN_PROGRESS_EVERY 1000

static int conn_progress(void *arg)
{
	struct conn *c = arg;
	c->vm_steps += CONN_PROGRESS_EVERY;
	if (c->w->cfg->step_budget == 0 || c->vm_steps <= c->w->cfg->step_budget)
		return 0;
	c->runaway = true;
	return 1;
}

static int conn_apply_pragmas(struct conn *c)
{
	const struct wh_sqlapi *api = c->w->api;
	const struct world_config *cfg = c->w->cfg;
	char sql[256];
	/* An encrypting SQLite's key before anything reads the database. */
	int rc = world__apply_pragmas(api, c->db, cfg, true);
	if (rc == SQLITE_OK)
		rc = api->busy_timeout(c->db, (int)cfg->busy_timeout_ms);
	api->progress_handler(c->db, CONN_PROGRESS_EVERY, conn_progress, c);
	if (rc == SQLITE_OK && cfg->target != WORLD_TARGET_MEMORY_SHARED) {
		snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", cfg->journal_mode);
		rc = api->exec(c->db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", cfg->synchronous);
		rc = api->exec(c->db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = world__apply_pragmas(api, c->db, cfg, false);
	/* A run from a collapsed prefix (world.h, setup_sql): the schema is
	 * read now, as the prefix's connections had read it; from files,
	 * only while they are not there yet (world.c, image_after_opens). */
	if (rc == SQLITE_OK && cfg->setup_sql != NULL &&
	    (cfg->image == NULL || c->w->image_after_opens))
		rc = api->exec(c->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	return rc;
}

static int conn_do_open(struct conn *c)
{
	const struct wh_sqlapi *api = c->w->api;
	struct world *w = c->w;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	const char *vfs = NULL;
	if (w->cfg->target == WORLD_TARGET_SIM || world_target_is_real(w->cfg->target)) {
		/* Never shared cache on the simulated VFS: its mutexes and
		 * table locks would let one parked fiber block another. (On
		 * real threads: each connection its own cache, as with
		 * separate applications; the VFS is the shim.) */
		vfs = w->res->vfs_name;
		flags |= SQLITE_OPEN_PRIVATECACHE;
	} else {
		flags |= SQLITE_OPEN_URI;
	}
	int rc = api->open_v2(w->res->db_path, &c->db, flags, vfs);
	if (rc == SQLITE_OK)
		rc = conn_apply_pragmas(c);
	if (rc != SQLITE_OK) {
		/* An open can fail under faults; leave no half-open handle. */
		if (c->db != NULL)
			rc = api->extended_errcode(c->db);
		api->close_v2(c->db);
		c->db = NULL;
	}
	return rc;
}

void conn_call_run(struct conn *c)
{
	WH_ASSERT(c->call_active);
	WH_ASSERT(!c->call_done);
	switch (c->call_op) {
	case CALL_OPEN:
		c->call_rc = conn_do_open(c);
		break;
	case CALL_EXEC:
		c->call_rc = c->w->api->exec(c->db, c->call_sql, NULL, NULL, NULL);
		if (c->call_rc != SQLITE_OK)
			c->call_rc = c->w->api->extended_errcode(c->db);
		break;
	case CALL_STMT:
		c->call_rc = conn_do_stmt(c);
		break;
	case CALL_CLOSE:
		if (c->w->cfg->profile != NULL && c->w->api->db_status != NULL) {
			int used = 0, high = 0;
			c->w->api->db_status(c->db, SQLITE_DBSTATUS_CACHE_USED, &used, &high, 0);
			c->w->cfg->profile->cache_bytes += (uint64_t)used;
		}
		c->call_rc = c->w->api->close_v2(c->db);
		c->db = NULL;
		break;
	}
	c->call_done = true;
}

void conn_call_main(struct conn *c)
{
	for (;;) {
		conn_call_run(c);
		c->w->runner->park(c);
	}
}

/* ------------------------------------------------------------------ */
/* The main context's side of a call                                   */
/* ------------------------------------------------------------------ */

/* Hand `op` to the fiber (first call) or resume it (re-entry). WH_DONE
 * with the result in call_rc, or WH_PENDING while parked in the VFS. */
static int conn_call(struct conn *c, enum call_op op)
{
	struct world *w = c->w;
	/* A call starts in SQLite's code; a parked one resumes inside a VFS
	 * method, the engine's, until the method returns (trace_vfs). */
	bool starts = !c->call_active;
	if (starts) {
		c->call_op = op;
		c->call_active = true;
		c->call_done = false;
	}
	WH_ASSERT(c->call_op == op);
	if (w->threads != NULL) {
		/* A thread of its own: the call runs to its end here, and
		 * w->running (one connection at a time) means nothing. */
		w->runner->resume(c);
		WH_ASSERT(c->call_done);
		c->call_active = false;
		return WH_DONE;
	}
	WH_ASSERT(w->running == NULL);
	w->running = c;
	/* Armed only when the plan fails allocations at all: otherwise
	 * every allocation SQLite makes would look the plan up to learn
	 * that it fails none. */
	fault_alloc_arm(c->dead || w->plan.alloc_per_million == 0 ? NULL : c);
	if (starts)
		world__prof_mark(w, true);
	w->runner->resume(c);
	world__prof_mark(w, false);
	fault_alloc_arm(NULL);
	w->running = NULL;
	if (!c->call_done)
		return WH_PENDING;
	c->call_active = false;
	return WH_DONE;
}

static int conn_exec(struct conn *c, const char *sql)
{
	if (!c->call_active)
		c->call_sql = sql;
	return conn_call(c, CALL_EXEC);
}

static bool rc_is_busy(int rc)
{
	int primary = rc & 0xff;
	return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

void conn_submit(struct conn *c, enum wh_op_kind kind, uint64_t delay_us)
{
	if (c->w->threads != NULL) {
		/* No scheduler: the connection's thread takes the pause
		 * itself once conn_step has returned WH_PENDING. */
		c->wait_kind = kind;
		c->wait_us = delay_us;
		c->parked_kind = kind;
		return;
	}
	wh_completion_init(&c->comp, kind, conn_on_complete, c);
	c->comp.owner = c->id;
	/* A run from a collapsed prefix starts mid-way (world.h, setup_sql):
	 * its connections' opening is set-up, not part of the race, and
	 * must not take the pick log's entries meant for the window. */
	c->comp.unlogged = c->w->cfg->setup_sql != NULL &&
			   (c->state == CS_OPEN || c->state == CS_OPEN_RETRY);
	/* Marks are for a pick log, kept only with a tape. An unlogged
	 * completion leaves the transaction start for the first logged one:
	 * the log never sees it. */
	if (c->w->cfg->tape != NULL) {
		uint32_t ord = c->comp.unlogged ? 0 : c->mark_kind_count[kind];
		c->comp.mark =
			sched_mark(c->mark_new_txn && !c->comp.unlogged, c->mark_action, ord);
		if (!c->comp.unlogged) {
			c->mark_new_txn = false;
			if (c->mark_kind_count[kind] < UINT16_MAX)
				c->mark_kind_count[kind]++;
		}
	}
	c->parked_kind = kind;
	sched_submit(&c->w->sched, &c->comp, delay_us);
}

void conn_mark_txn(struct conn *c)
{
	if (c->w->cfg->tape == NULL)
		return; /* no pick log to mark */
	c->mark_new_txn = true;
	c->mark_action = 0;
	memset(c->mark_kind_count, 0, sizeof c->mark_kind_count);
}

static void conn_wait(struct conn *c, enum wh_op_kind kind)
{
	/* Real threads draw no latency: the OS has its own. */
	uint64_t us = c->w->threads != NULL ? 0 : sched_latency_us(&c->w->sched, kind, c->id);
	conn_submit(c, kind, us);
}

/* Rows compare in order only when the statement orders them. */
bool conn_sql_is_ordered(const char *sql)
{
	return strstr(sql, "ORDER BY") != NULL || strstr(sql, "order by") != NULL;
}

void conn_txn_end(struct conn *c, enum hist_outcome outcome, int rc)
{
	struct world *w = c->w;
	if (outcome == HIST_COMMITTED && c->txn->visible_event == 0)
		c->txn->visible_event = c->quiet_release;
	/* A transaction ends between calls: a call still active would go on
	 * inside a transaction the history has closed. */
	WH_ASSERT(!c->call_active);
	WH_ASSERT(c->txn != NULL);
	if (outcome == HIST_INDETERMINATE) {
		c->txn->commit_hint = commit_hint(w, c);
		commit_note_hot_owner(w, c);
		if (c->txn->latent)
			commit_note_latent(w, c);
	}
	c->quiet_release = 0;
	hist_txn_end(&w->res->history, c->txn, outcome, rc, world__now_us(w));
	if (w->cfg->workload->ops->txn_end != NULL)
		w->cfg->workload->ops->txn_end(c->wl_state, outcome);
	if (outcome == HIST_COMMITTED)
		w->res->stats.txns_committed++;
	else if (outcome == HIST_INDETERMINATE)
		w->res->stats.txns_indeterminate++;
	else
		w->res->stats.txns_aborted++;
	world__trace_stmt(w, c, outcome == HIST_COMMITTED ? "txn-commit" : "txn-abort",
			  c->txn_name, rc);
	c->txn = NULL;
	c->in_commit = false;
	w->txns_finished++;
	w->steps_since_progress = 0;
	if (w->cfg->progress)
		w->cfg->progress(w->cfg->progress_ctx, w->txns_finished,
				 w->cfg->txn_count);
}

static const char *begin_sql(enum hist_begin b)
{
	switch (b) {
	case HIST_BEGIN_IMMEDIATE:
		return "BEGIN IMMEDIATE";
	case HIST_BEGIN_EXCLUSIVE:
		return "BEGIN EXCLUSIVE";
	default:
		return "BEGIN";
	}
}

static bool is_skipped(const struct world *w, uint32_t txn, uint32_t stmt)
{
	for (uint32_t i = 0; i < w->cfg->skip_count; i++)
		if (w->cfg->skips[i].txn == txn && w->cfg->skips[i].stmt == stmt)
			return true;
	return false;
}

/* A reopen round waits (through its group) for every connection to close. */
static void conn_note_closed(struct conn *c)
{
	if (wh_completion_is_pending(&c->closed))
		wh_completion_complete(&c->closed, 0);
}

/* What a state's handler tells conn_step's loop. */
enum step {
	STEP_AGAIN,   /* the state moved on: run the next one now */
	STEP_PENDING, /* waiting on c->comp: return WH_PENDING */
	STEP_CLOSED,  /* the connection has closed: return WH_DONE */
};

/* Hand the call to the runner; STEP_AGAIN once it has returned. */
#define STEP_CALL(expr)                                                     \
	do {                                                                \
		if ((expr) != WH_DONE)                                      \
			return STEP_PENDING;                                \
	} while (0)

static enum step step_open(struct conn *c)
{
	struct world *w = c->w;
	STEP_CALL(conn_call(c, CALL_OPEN));
	world__trace_stmt(w, c, "open", NULL, c->call_rc);
	if (c->call_rc == SQLITE_OK) {
		c->open_failures = 0;
		c->state = CS_THINK;
		if (w->cfg->opened != NULL)
			w->cfg->opened(w->cfg->progress_ctx, c->id);
	} else if (++c->open_failures < 64 && w->cfg->faults != WORLD_FAULTS_NONE) {
		c->state = CS_OPEN_RETRY; /* faults: try again */
	} else {
		c->state = CS_CLOSED;
		conn_note_closed(c);
		return STEP_CLOSED;
	}
	return STEP_AGAIN;
}

/* Choose the next transaction, or close (quota used up, or a reopen). */
static enum step step_plan(struct conn *c)
{
	struct world *w = c->w;
	struct world_result *res = w->res;
	if (w->reopening) {
		c->parked_for_reopen = true;
		c->state = CS_CLOSE;
		return STEP_AGAIN;
	}
	if (w->txns_started >= w->cfg->txn_count) {
		c->state = CS_CLOSE;
		return STEP_AGAIN;
	}
	w->txns_started++;
	w->cfg->workload->ops->txn_begin(c->wl_state, &c->rng, &c->txn_name, &c->begin);
	c->txn = hist_txn_begin(&res->history, c->id, c->txn_name, c->begin, world__now_us(w));
	world__snap_at(w, c->txn->begin_event);
	c->stmt_actions = 0;
	c->last_skipped = false;
	if (c->begin == HIST_BEGIN_AUTOCOMMIT) {
		/* the statement is the commit */
		hist_txn_commit_start(&res->history, c->txn);
		commit_begins(c);
		c->state = CS_NEXT;
	} else {
		world__trace_stmt(w, c, "begin-start", c->txn_name, 0);
		c->state = CS_BEGIN;
	}
	return STEP_AGAIN;
}

static enum step step_begin(struct conn *c)
{
	struct world *w = c->w;
	STEP_CALL(conn_exec(c, begin_sql(c->begin)));
	world__trace_stmt(w, c, "begin", begin_sql(c->begin), c->call_rc);
	if (c->call_rc != SQLITE_OK) {
		w->res->stats.busy += rc_is_busy(c->call_rc);
		c->abort_rc = c->call_rc;
		c->state = CS_ROLLBACK;
	} else {
		c->state = CS_NEXT;
	}
	return STEP_AGAIN;
}

/* Take the workload's next action. Called once per step: this state never
 * yields before the workload has been asked, so it is asked once. */
static enum step step_next(struct conn *c)
{
	struct world *w = c->w;
	struct wl_action act;
	const struct hist_stmt *prev =
		c->txn->stmt_count ? &c->txn->stmts[c->txn->stmt_count - 1] : NULL;
	/* After a statement the shrinker removed, the workload sees an empty
	 * result, as if it had returned no row. */
	static const struct hist_stmt skipped_result = {.rc = SQLITE_DONE};
	if (w->cfg->tape != NULL) {
		c->mark_action++; /* a skipped statement counts: its picks stay logged */
		memset(c->mark_kind_count, 0, sizeof c->mark_kind_count);
	}
	if (c->last_skipped)
		prev = &skipped_result;
	w->cfg->workload->ops->txn_next(c->wl_state, &c->rng, prev, &act);
	c->last_skipped = false;
	if (act.kind == WL_ACT_STMT && is_skipped(w, c->txn->id, c->stmt_actions++)) {
		c->last_skipped = true;
		if (c->begin == HIST_BEGIN_AUTOCOMMIT) {
			/* its only statement is gone */
			conn_txn_end(c, HIST_ABORTED, SQLITE_OK);
			c->state = CS_THINK;
		}
		return STEP_AGAIN; /* ask for the next action */
	}
	switch (act.kind) {
	case WL_ACT_STMT:
		WH_ASSERT(act.param_count <= WL_MAX_PARAMS);
		WH_ASSERT(act.sql != NULL);
		conn_clear_params(c);
		c->stmt_sql = act.sql;
		c->stmt_tmpl = act.tmpl;
		c->stmt_flags = act.flags;
		for (uint32_t i = 0; i < act.param_count; i++)
			wh_value_copy(&c->params[i], &act.params[i]);
		c->param_count = act.param_count;
		c->state = CS_GAP;
		return STEP_AGAIN;
	case WL_ACT_SLEEP:
		WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
		conn_submit(c, WH_OP_SLEEP, act.sleep_us);
		c->state = CS_SLEEP_WAIT;
		return STEP_PENDING;
	case WL_ACT_COMMIT:
		WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
		hist_txn_commit_start(&w->res->history, c->txn);
		commit_begins(c);
		world__trace_stmt(w, c, "commit-start", c->txn_name, 0);
		c->state = CS_COMMIT;
		return STEP_AGAIN;
	case WL_ACT_ROLLBACK:
		WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
		c->abort_rc = SQLITE_OK; /* the workload chose it */
		c->state = CS_ROLLBACK;
		return STEP_AGAIN;
	}
	WH_UNREACHABLE();
}

/* Run the statement and record it; an autocommit statement is its own
 * commit. */
/* A statement stopped at the step budget: a finding that names it, its
 * values and where it ran (likely the workload's own query, e.g. a
 * recursive CTE that never ends on the state it met). */
static void conn_note_runaway(struct conn *c)
{
	char msg[1536];
	int n = snprintf(msg, sizeof msg,
			 "statement did not finish within %" PRIu64
			 " virtual-machine steps (conn %d, T%u %s): %.800s",
			 c->w->cfg->step_budget, c->id, c->txn ? c->txn->id : 0,
			 c->stmt_tmpl ? c->stmt_tmpl : "-", c->stmt_sql);
	for (uint32_t i = 0; i < c->param_count && n > 0 && (size_t)n < sizeof msg - 64; i++) {
		char v[64];
		wh_value_format(&c->params[i], v, sizeof v);
		n += snprintf(msg + n, sizeof msg - (size_t)n, "%s?%u=%s", i ? ", " : " with ",
			      i + 1, v);
	}
	world__add_finding(c->w->res, "runaway_statement", msg);
	c->runaway = false;
}

static enum step step_stmt(struct conn *c)
{
	struct world *w = c->w;
	struct world_result *res = w->res;
	STEP_CALL(conn_call(c, CALL_STMT));
	int rc = c->call_rc;
	uint32_t rows = c->col_count ? c->cell_count / c->col_count : 0;
	struct hist_stmt *hs = hist_stmt_add(&res->history, c->txn, c->stmt_sql, c->stmt_tmpl,
					     c->params, c->param_count, rc, c->changes,
					     c->col_count, rows, c->cells,
					     conn_sql_is_ordered(c->stmt_sql));
	hs->flags = c->stmt_flags;
	if (c->runaway)
		conn_note_runaway(c);
	enum commit_fate fate = COMMIT_NOT_DONE;
	if (rc != SQLITE_DONE && c->begin == HIST_BEGIN_AUTOCOMMIT)
		fate = commit_fate(w, c, rc);
	/* its recorded rc and rows do not describe its effects */
	if (fate != COMMIT_NOT_DONE)
		hs->flags |= HIST_STMT_UNCERTAIN;
	conn_clear_cells(c);
	res->stats.statements++;
	world__trace_stmt(w, c, "stmt", c->stmt_sql, rc);
	if (fate != COMMIT_NOT_DONE) {
		/* the statement was its own commit */
		c->txn->latent = fate == COMMIT_LATENT;
		conn_txn_end(c, HIST_INDETERMINATE, rc);
		c->state = CS_THINK;
	} else if (rc != SQLITE_DONE) {
		res->stats.busy += rc_is_busy(rc);
		c->abort_rc = rc;
		c->state = CS_ROLLBACK;
	} else if (c->begin == HIST_BEGIN_AUTOCOMMIT) {
		conn_txn_end(c, HIST_COMMITTED, rc);
		c->state = CS_THINK;
	} else {
		/* A statement of an explicit transaction that succeeded with
		 * the transaction gone: SQLite ended it inside the statement
		 * (an allocation failure closing the statement journal after
		 * SQLITE_SCHEMA rolls everything back, and sqlite3_step's
		 * schema retry then runs the statement on its own). The
		 * history keeps what the application saw; the evidence
		 * counter names the finding (README, catalogue). Reading the
		 * flag does no I/O. */
		if (c->db != NULL && w->api->get_autocommit(c->db) &&
		    res->evidence.txn_lost_under_statement++ == 0)
			res->evidence.txn_lost_first_event = res->history.event;
		c->state = CS_NEXT;
	}
	return STEP_AGAIN;
}

static enum step step_commit(struct conn *c)
{
	struct world *w = c->w;
	STEP_CALL(conn_exec(c, "COMMIT"));
	world__trace_stmt(w, c, "commit", "COMMIT", c->call_rc);
	if (c->call_rc == SQLITE_OK) {
		conn_txn_end(c, HIST_COMMITTED, SQLITE_OK);
		c->state = CS_THINK;
	} else if (commit_fate(w, c, c->call_rc) != COMMIT_NOT_DONE && c->db != NULL &&
		   c->w->api->get_autocommit(c->db)) {
		/* SQLite ended the transaction on an I/O-type error after
		 * taking the write lock. (When it is still open, it certainly
		 * did not commit.) */
		c->txn->latent = commit_fate(w, c, c->call_rc) == COMMIT_LATENT;
		conn_txn_end(c, HIST_INDETERMINATE, c->call_rc);
		c->state = CS_THINK;
	} else {
		w->res->stats.busy += rc_is_busy(c->call_rc);
		c->abort_rc = c->call_rc;
		c->state = CS_ROLLBACK;
	}
	return STEP_AGAIN;
}

static enum step step_rollback(struct conn *c)
{
	struct world *w = c->w;
	/* SQLite may already have rolled back (autocommit on again): then
	 * there is nothing to undo. Reading the flag does no I/O. A ROLLBACK
	 * parked in the VFS is resumed whatever the flag says meanwhile. */
	if (c->call_active || (c->db != NULL && !c->w->api->get_autocommit(c->db))) {
		STEP_CALL(conn_exec(c, "ROLLBACK"));
		world__trace_stmt(w, c, "rollback", "ROLLBACK", c->call_rc);
		if (c->db != NULL && !c->w->api->get_autocommit(c->db)) {
			/* The ROLLBACK failed (an allocation or I/O fault) and
			 * the transaction is still open: it has not ended, and
			 * the next statement would run inside it. Pause, then
			 * try again; a fault that never clears ends as a hang,
			 * a reported result. */
			w->res->stats.rollback_retries++;
			conn_wait(c, WH_OP_THINK);
			return STEP_PENDING;
		}
	}
	/* The transaction ends here, between calls: the ROLLBACK (if any)
	 * has returned and nothing is parked. */
	WH_ASSERT(!c->call_active);
	conn_txn_end(c, HIST_ABORTED, c->abort_rc);
	c->state = CS_THINK;
	return STEP_AGAIN;
}

/* One state of the machine (see the file's opening comment). */
static enum step step_state(struct conn *c)
{
	switch (c->state) {
	case CS_OPEN:
		return step_open(c);
	case CS_OPEN_RETRY:
		conn_wait(c, WH_OP_THINK);
		c->state = CS_OPEN;
		return STEP_PENDING;
	case CS_THINK:
		conn_mark_txn(c);
		conn_wait(c, WH_OP_THINK);
		c->state = CS_THINK_WAIT;
		return STEP_PENDING;
	case CS_THINK_WAIT:
		c->state = CS_PLAN;
		return STEP_AGAIN;
	case CS_PLAN:
		return step_plan(c);
	case CS_BEGIN:
		return step_begin(c);
	case CS_NEXT:
		return step_next(c);
	case CS_SLEEP_WAIT:
		c->state = CS_NEXT;
		return STEP_AGAIN;
	case CS_GAP:
		/* A scheduling point between statements: this is where
		 * statement-granularity targets interleave. */
		conn_wait(c, WH_OP_THINK);
		c->state = CS_GAP_WAIT;
		return STEP_PENDING;
	case CS_GAP_WAIT:
		c->state = CS_STMT;
		return STEP_AGAIN;
	case CS_STMT:
		return step_stmt(c);
	case CS_COMMIT:
		return step_commit(c);
	case CS_ROLLBACK:
		return step_rollback(c);
	case CS_CLOSE:
		STEP_CALL(conn_call(c, CALL_CLOSE));
		world__trace_stmt(c->w, c, "close", NULL, c->call_rc);
		c->state = CS_CLOSED;
		conn_note_closed(c);
		return STEP_CLOSED;
	case CS_CLOSED:
		return STEP_CLOSED;
	}
	WH_UNREACHABLE();
}

int conn_step(struct conn *c)
{
	/* Every pass moves the state on or returns; no state loops on itself
	 * without a wait, so a transaction's worth of passes bounds it. */
	for (uint64_t pass = 0;; pass++) {
		WH_ASSERT(pass < (uint64_t)1 << 32);
		enum step r = step_state(c);
		if (r == STEP_PENDING)
			return WH_PENDING;
		if (r == STEP_CLOSED)
			return WH_DONE;
	}
}

void conn_prefetch(struct conn *c)
{
	/* With hundreds of connections each is stepped rarely and its state
	 * is out of the cache: ask for all of it at once, rather than miss
	 * on one line after another as the step reads them. */
	const unsigned char *p = (const unsigned char *)c;
	for (size_t off = 0; off < offsetof(struct conn, params); off += 64)
		__builtin_prefetch(p + off);
	if (c->call_active && c->w->runner->prefetch != NULL)
		c->w->runner->prefetch(c);
}

void conn_on_complete(struct wh_completion *comp, void *data)
{
	struct conn *c = data;
	(void)comp;
	if (c->w->draining || c->dead)
		return; /* whoever killed it resumes the fiber itself */
	int rc = conn_step(c);
	if (rc == WH_DONE) {
		WH_ASSERT(c->w->live_conns > 0);
		c->w->live_conns--;
	} else {
		WH_ASSERT_EQ(rc, WH_PENDING);
	}
}

/*HOOK_YIELD*/

/* ------------------------------------------------------------------ */
/* Waiting inside a call                                                */
/* ------------------------------------------------------------------ */

/* A VFS method of the running connection is about to run: fail it (a dead
 * connection, a drain, an injected fault) or make it a completion the
 * scheduler orders, and park the call until that completion finishes. */
int conn_hook_yield(void *ctx, enum wh_op_kind kind, const char *file, int64_t arg)
{
	struct world *w = ctx;
	struct conn *c = w->running;
	(void)file;
	if (w->finished)
		return SQLITE_OK;
	if (w->draining || (c != NULL && c->dead))
		return kind == WH_OP_SLEEP ? SQLITE_OK : SQLITE_IOERR;
	if (c == NULL)
		return SQLITE_OK; /* main context: setup and final checks */
	world__prof_mark(w, false);
	int fault = fault_io(w, c, kind, file, arg);
	if (fault != SQLITE_OK) {
		world__prof_mark(w, true); /* the method returns at once */
		return fault;
	}
	uint64_t delay = kind == WH_OP_SLEEP ? (uint64_t)(arg > 0 ? arg : 0)
					     : sched_latency_us(&w->sched, kind, c->id);
	conn_submit(c, kind, delay);
	if (file != NULL)
		coverage_park(w, c, kind, world__file_role(w, file));
	w->runner->park(c);
	coverage_unpark(w, c);
	/* Resumed by conn_call() after the scheduler finished the completion
	 * (or by the drain after a hang). */
	if (w->draining && c->comp.state == WH_COMP_PENDING)
		return SQLITE_IOERR;
	WH_ASSERT(wh_completion_is_finished(&c->comp));
	return c->comp.state == WH_COMP_OK ? SQLITE_OK : SQLITE_IOERR;
}

/* ------------------------------------------------------------------ */
/* The fiber runner                                                     */
/* ------------------------------------------------------------------ */

static void fiber_entry(void *arg)
{
	conn_call_main(arg);
	WH_UNREACHABLE(); /* conn_call_main serves calls until destroyed */
}

static int fiber_start(struct conn *c, size_t stack_bytes)
{
	WH_ASSERT(c->fiber == NULL);
	return wh_fiber_create(&c->fiber, stack_bytes, fiber_entry, c);
}

static void fiber_stop(struct conn *c)
{
	if (c->fiber != NULL)
		wh_fiber_destroy(c->fiber);
	c->fiber = NULL;
}

static void fiber_resume(struct conn *c)
{
	WH_ASSERT(wh_fiber_current() == NULL);
	wh_fiber_resume(c->fiber);
}

static void fiber_park(struct conn *c)
{
	WH_ASSERT(c->call_active);
	wh_fiber_yield();
}

static void fiber_prefetch(struct conn *c)
{
	if (c->fiber != NULL)
		wh_fiber_prefetch(c->fiber);
}

const struct conn_runner conn_fiber_runner = {
	.start = fiber_start,
	.stop = fiber_stop,
	.resume = fiber_resume,
	.park = fiber_park,
	.prefetch = fiber_prefetch,
};
