/*
 * world.c - one seeded run: the connection driver state machines, the
 * fiber-call protocol that runs SQLite on each connection's fiber, the VFS
 * hooks that turn every SQLite file operation into a scheduled completion,
 * the scheduler loop, hang detection and the trace hash.
 *
 * How a connection moves:
 *   conn_step() is a resumable state machine on the main context:
 *     OPEN -> THINK -> PLAN -> BEGIN -> (GAP -> STMT)* -> COMMIT -> THINK ...
 *     ... -> ROLLBACK on error/busy; CLOSE when the txn quota is used up.
 *   Each state that calls SQLite does it through conn_call(), which hands
 *   the call to the connection's fiber and resumes it. When SQLite calls a
 *   VFS method, the yield hook submits a completion to the scheduler and
 *   parks the fiber; conn_call() then returns WH_PENDING and conn_step()
 *   returns it. When the scheduler finishes that completion, its callback
 *   re-enters conn_step() in the same state, conn_call() resumes the fiber,
 *   and so on until the SQLite call returns.
 *
 * Re-entrancy rule: conn_step() mutates the history and counters only after
 * a call has returned WH_DONE, in the same block as the state transition,
 * so a resumed state never records twice.
 *
 * Determinism: all choices come from seeded streams (scheduler, latency,
 * per-connection workload streams, SQLite's PRNG reseeded through the
 * simulated xRandomness at the start of every run); the clock is the
 * scheduler's. The trace hash folds every pick and every VFS operation.
 */
#include "world.h"

#include <inttypes.h>
#include <string.h>

#include "fiber.h"

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

enum call_op {
	CALL_OPEN,
	CALL_EXEC,
	CALL_STMT,
	CALL_CLOSE,
};

enum conn_state {
	CS_OPEN,
	CS_THINK,      /* submit the pause before the next transaction */
	CS_THINK_WAIT, /* the pause finished */
	CS_PLAN,
	CS_BEGIN,
	CS_NEXT,       /* ask the workload for the next action */
	CS_SLEEP_WAIT, /* a workload sleep finished */
	CS_GAP,        /* submit the pause before a statement */
	CS_GAP_WAIT,
	CS_STMT,
	CS_COMMIT,
	CS_ROLLBACK,
	CS_CLOSE,
	CS_CLOSED,
};

static const char *const conn_state_names[] = {
	[CS_OPEN] = "open", [CS_THINK] = "think", [CS_THINK_WAIT] = "think",
	[CS_PLAN] = "plan", [CS_BEGIN] = "begin", [CS_NEXT] = "next",
	[CS_SLEEP_WAIT] = "sleep", [CS_GAP] = "gap",
	[CS_GAP_WAIT] = "gap", [CS_STMT] = "statement", [CS_COMMIT] = "commit",
	[CS_ROLLBACK] = "rollback", [CS_CLOSE] = "close", [CS_CLOSED] = "closed",
};

struct world;

struct conn {
	struct world *w;
	int id;
	sqlite3 *db;
	struct wh_fiber *fiber;
	struct wh_prng rng;          /* this connection's workload stream */
	struct wh_completion comp;   /* the one completion it waits on */
	enum conn_state state;
	/* fiber-call protocol */
	enum call_op call_op;        /* the call in flight */
	bool call_active;            /* a call was handed to the fiber */
	bool call_done;              /* the fiber finished it */
	int call_rc;                 /* its SQLite result */
	const char *call_sql;        /* CALL_EXEC text */
	enum wh_op_kind parked_kind; /* last VFS op it parked in (hang report) */
	bool in_commit;              /* a COMMIT (or autocommit statement) is
					in flight */
	bool holds_db_write_lock;    /* RESERVED or above on the main db */
	/* the transaction in progress */
	void *wl_state;              /* the workload's per-connection state */
	const char *txn_name;        /* template name */
	enum hist_begin begin;       /* how it began */
	struct hist_txn *txn;
	int abort_rc;                /* why the txn is being rolled back */
	/* the statement to run: copied from the workload's action */
	const char *stmt_sql;
	const char *stmt_tmpl;
	uint32_t stmt_flags;         /* HIST_STMT_* */
	uint32_t param_count;
	struct wh_value params[WL_MAX_PARAMS]; /* owned copies */
	/* result of the last CALL_STMT, filled on the fiber */
	struct wh_value *cells;
	uint32_t cell_count;
	uint32_t cell_cap;
	uint32_t col_count;
	int64_t changes;
};

struct world {
	const struct world_config *cfg;
	struct world_result *res;
	struct sched sched;
	struct wh_prng vfs_rng;      /* xRandomness */
	struct conn *conns;
	struct conn *running;        /* connection whose fiber runs, or NULL */
	uint32_t live_conns;
	uint64_t txns_started;
	uint64_t txns_finished;
	uint64_t steps_since_progress;
	bool draining;               /* unwinding after a hang: every VFS
					call fails at once */
	bool finished;               /* the run is over: VFS calls (from the
					oracle) neither yield nor trace */
	uint64_t hash;
};

/* ------------------------------------------------------------------ */
/* Trace                                                               */
/* ------------------------------------------------------------------ */

static void trace_fold(struct world *w, uint64_t v)
{
	w->hash = wh_mix64(w->hash ^ v) + 0x9e3779b97f4a7c15ULL;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	if (s == NULL)
		return 0;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/*
 * The commit point. A COMMIT makes more VFS calls after its effects become
 * visible (unlocks, the WAL auto-checkpoint...), and another writer can
 * commit and return in between, so the order in which COMMITs return is not
 * the serialization order. SQLite serializes writers by one write lock: the
 * WAL write lock (shm slot 0, exclusive) or RESERVED-and-above on the main
 * database file in rollback modes. The last release of that lock inside a
 * COMMIT is after its commit point and before any later writer's commit, so
 * that order is the writers' serialization order.
 */
static void note_commit_point(struct world *w, struct conn *c,
			      enum wh_op_kind kind, const char *file, int64_t a,
			      int64_t b, int rc)
{
	bool released = false;
	if (rc != SQLITE_OK)
		return;
	if ((kind == WH_OP_LOCK || kind == WH_OP_UNLOCK) && file != NULL &&
	    strcmp(file, w->res->db_path) == 0) {
		bool holds = b >= SQLITE_LOCK_RESERVED;
		released = c->holds_db_write_lock && !holds;
		c->holds_db_write_lock = holds;
	} else if (kind == WH_OP_SHM_LOCK && a == 0) {
		int flags = (int)(b & 0xff);
		released = (flags & SQLITE_SHM_UNLOCK) && (flags & SQLITE_SHM_EXCLUSIVE);
	}
	/* The last release counts: an autocommit statement may take and
	 * drop the lock while retrying (a stale WAL snapshot) before it
	 * commits, and nothing re-takes it after its commit point. */
	if (released && c->in_commit && c->txn != NULL)
		c->txn->visible_event = ++w->res->history.event;
}

static void trace_vfs(void *ctx, enum wh_op_kind kind, const char *file,
		      int64_t a, int64_t b, int rc)
{
	struct world *w = ctx;
	if (w->finished)
		return;
	if (w->running)
		note_commit_point(w, w->running, kind, file, a, b, rc);
	int conn = w->running ? w->running->id : -1;
	w->res->stats.vfs_ops++;
	w->res->stats.vfs_ops_by_kind[kind]++;
	trace_fold(w, ((uint64_t)(uint32_t)conn << 32) | ((uint64_t)kind << 16) |
			      (uint16_t)rc);
	trace_fold(w, str_hash(file));
	trace_fold(w, (uint64_t)a);
	trace_fold(w, (uint64_t)b);
	if (w->cfg->trace)
		fprintf(w->cfg->trace,
			"t=%" PRIu64 " conn=%d op=%s file=%s a=%" PRId64
			" b=%" PRId64 " rc=%d\n",
			w->sched.now_us, conn, wh_op_name(kind),
			file ? file : "-", a, b, rc);
}

static void trace_stmt(struct world *w, struct conn *c, const char *what,
		       const char *sql, int rc)
{
	trace_fold(w, str_hash(what) ^ ((uint64_t)(uint32_t)c->id << 40));
	trace_fold(w, (uint64_t)(uint32_t)rc);
	if (w->cfg->trace)
		fprintf(w->cfg->trace, "t=%" PRIu64 " conn=%d %s rc=%d sql=%s\n",
			w->sched.now_us, c->id, what, rc, sql ? sql : "-");
}

/* ------------------------------------------------------------------ */
/* VFS hooks                                                           */
/* ------------------------------------------------------------------ */

static void conn_on_complete(struct wh_completion *comp, void *data);

static int hook_yield(void *ctx, enum wh_op_kind kind, const char *file,
		      int64_t arg)
{
	struct world *w = ctx;
	struct conn *c = w->running;
	(void)file;
	if (w->finished)
		return SQLITE_OK;
	if (w->draining)
		return kind == WH_OP_SLEEP ? SQLITE_OK : SQLITE_IOERR;
	if (c == NULL)
		return SQLITE_OK; /* main context: setup and final checks */
	uint64_t delay = kind == WH_OP_SLEEP ? (uint64_t)(arg > 0 ? arg : 0)
					     : sched_latency_us(&w->sched, kind);
	wh_completion_init(&c->comp, kind, conn_on_complete, c);
	c->comp.owner = c->id;
	c->parked_kind = kind;
	sched_submit(&w->sched, &c->comp, delay);
	wh_fiber_yield();
	/* Resumed by conn_call() after the scheduler finished the completion
	 * (or by the drain after a hang). */
	if (w->draining && c->comp.state == WH_COMP_PENDING)
		return SQLITE_IOERR;
	WH_ASSERT(wh_completion_is_finished(&c->comp));
	return c->comp.state == WH_COMP_OK ? SQLITE_OK : SQLITE_IOERR;
}

static uint64_t hook_now_us(void *ctx)
{
	struct world *w = ctx;
	return w->sched.now_us;
}

static void hook_randomness(void *ctx, int n, unsigned char *out)
{
	struct world *w = ctx;
	for (int i = 0; i < n; i++)
		out[i] = (unsigned char)wh_prng_next(&w->vfs_rng);
}

/* ------------------------------------------------------------------ */
/* The fiber side                                                      */
/* ------------------------------------------------------------------ */

static void conn_clear_cells(struct conn *c)
{
	for (uint32_t i = 0; i < c->cell_count; i++)
		wh_value_free(&c->cells[i]);
	c->cell_count = 0;
	c->col_count = 0;
	c->changes = 0;
}

static void value_from_column(struct wh_value *v, sqlite3_stmt *st, int col)
{
	memset(v, 0, sizeof *v);
	v->type = sqlite3_column_type(st, col);
	switch (v->type) {
	case SQLITE_INTEGER:
		v->i = sqlite3_column_int64(st, col);
		break;
	case SQLITE_FLOAT:
		v->f = sqlite3_column_double(st, col);
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *p = v->type == SQLITE_TEXT
					? (const void *)sqlite3_column_text(st, col)
					: sqlite3_column_blob(st, col);
		v->n = (uint32_t)sqlite3_column_bytes(st, col);
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

static void conn_clear_params(struct conn *c)
{
	for (uint32_t i = 0; i < c->param_count; i++)
		wh_value_free(&c->params[i]);
	c->param_count = 0;
}

static void bind_value(sqlite3_stmt *st, int idx, const struct wh_value *v)
{
	switch (v->type) {
	case SQLITE_INTEGER:
		sqlite3_bind_int64(st, idx, v->i);
		break;
	case SQLITE_FLOAT:
		sqlite3_bind_double(st, idx, v->f);
		break;
	case SQLITE_TEXT:
		sqlite3_bind_text(st, idx, (const char *)v->p, (int)v->n, SQLITE_STATIC);
		break;
	case SQLITE_BLOB:
		sqlite3_bind_blob(st, idx, v->p, (int)v->n, SQLITE_STATIC);
		break;
	default:
		sqlite3_bind_null(st, idx);
	}
}

/* Prepare, bind, step to the end, collect every row. Runs on the fiber and
 * may park inside any SQLite call. */
static int conn_do_stmt(struct conn *c)
{
	sqlite3_stmt *st = NULL;
	conn_clear_cells(c);
	int rc = sqlite3_prepare_v2(c->db, c->stmt_sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite3_extended_errcode(c->db);
	for (uint32_t i = 0; i < c->param_count; i++)
		bind_value(st, (int)i + 1, &c->params[i]);
	c->col_count = (uint32_t)sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (c->cell_count + c->col_count > c->cell_cap) {
			c->cell_cap = (c->cell_cap + c->col_count) * 2;
			c->cells = wh_realloc(c->cells, c->cell_cap * sizeof *c->cells);
		}
		for (uint32_t k = 0; k < c->col_count; k++)
			value_from_column(&c->cells[c->cell_count++], st, (int)k);
	}
	if (rc == SQLITE_DONE)
		c->changes = sqlite3_changes64(c->db);
	else
		rc = sqlite3_extended_errcode(c->db);
	sqlite3_finalize(st);
	return rc;
}

static int conn_apply_pragmas(struct conn *c)
{
	const struct world_config *cfg = c->w->cfg;
	char sql[256];
	int rc = sqlite3_busy_timeout(c->db, (int)cfg->busy_timeout_ms);
	if (rc == SQLITE_OK && cfg->target == WORLD_TARGET_SIM) {
		snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", cfg->journal_mode);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", cfg->synchronous);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	}
	for (uint32_t i = 0; rc == SQLITE_OK && i < cfg->workload->pragma_count; i++) {
		snprintf(sql, sizeof sql, "PRAGMA %s", cfg->workload->pragmas[i]);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	}
	for (uint32_t i = 0; rc == SQLITE_OK && i < cfg->pragma_count; i++) {
		snprintf(sql, sizeof sql, "PRAGMA %s", cfg->pragmas[i]);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	}
	return rc;
}

static int conn_do_open(struct conn *c)
{
	struct world *w = c->w;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	const char *vfs = NULL;
	if (w->cfg->target == WORLD_TARGET_SIM) {
		/* Never shared cache on the simulated VFS: its mutexes and
		 * table locks would let one parked fiber block another. */
		vfs = w->res->vfs_name;
		flags |= SQLITE_OPEN_PRIVATECACHE;
	} else {
		flags |= SQLITE_OPEN_URI;
	}
	int rc = sqlite3_open_v2(w->res->db_path, &c->db, flags, vfs);
	if (rc == SQLITE_OK)
		rc = conn_apply_pragmas(c);
	return rc;
}

static void conn_fiber_main(void *arg)
{
	struct conn *c = arg;
	for (;;) {
		WH_ASSERT(c->call_active);
		WH_ASSERT(!c->call_done);
		switch (c->call_op) {
		case CALL_OPEN:
			c->call_rc = conn_do_open(c);
			break;
		case CALL_EXEC:
			c->call_rc = sqlite3_exec(c->db, c->call_sql, NULL, NULL, NULL);
			if (c->call_rc != SQLITE_OK)
				c->call_rc = sqlite3_extended_errcode(c->db);
			break;
		case CALL_STMT:
			c->call_rc = conn_do_stmt(c);
			break;
		case CALL_CLOSE:
			c->call_rc = sqlite3_close_v2(c->db);
			c->db = NULL;
			break;
		}
		c->call_done = true;
		wh_fiber_yield();
	}
}

/* Hand `op` to the fiber (first call) or resume it (re-entry). WH_DONE
 * with the result in call_rc, or WH_PENDING while parked in the VFS. */
static int conn_call(struct conn *c, enum call_op op)
{
	struct world *w = c->w;
	if (!c->call_active) {
		c->call_op = op;
		c->call_active = true;
		c->call_done = false;
	}
	WH_ASSERT(c->call_op == op);
	WH_ASSERT(w->running == NULL);
	w->running = c;
	wh_fiber_resume(c->fiber);
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

/* ------------------------------------------------------------------ */
/* The driver state machine (main context)                             */
/* ------------------------------------------------------------------ */

static bool rc_is_busy(int rc)
{
	int primary = rc & 0xff;
	return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

static void conn_wait_us(struct conn *c, enum wh_op_kind kind, uint64_t delay_us)
{
	wh_completion_init(&c->comp, kind, conn_on_complete, c);
	c->comp.owner = c->id;
	c->parked_kind = kind;
	sched_submit(&c->w->sched, &c->comp, delay_us);
}

static void conn_wait(struct conn *c, enum wh_op_kind kind)
{
	conn_wait_us(c, kind, sched_latency_us(&c->w->sched, kind));
}

/* Rows compare in order only when the statement orders them. */
static bool sql_is_ordered(const char *sql)
{
	return strstr(sql, "ORDER BY") != NULL || strstr(sql, "order by") != NULL;
}

static void conn_txn_end(struct conn *c, enum hist_outcome outcome, int rc)
{
	struct world *w = c->w;
	hist_txn_end(&w->res->history, c->txn, outcome, rc, w->sched.now_us);
	if (outcome == HIST_COMMITTED)
		w->res->stats.txns_committed++;
	else
		w->res->stats.txns_aborted++;
	trace_stmt(w, c, outcome == HIST_COMMITTED ? "txn-commit" : "txn-abort",
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

static int conn_step(struct conn *c)
{
	struct world *w = c->w;
	struct world_result *res = w->res;
	for (;;) {
		switch (c->state) {
		case CS_OPEN:
			RETURN_IF_PENDING(conn_call(c, CALL_OPEN));
			trace_stmt(w, c, "open", NULL, c->call_rc);
			c->state = c->call_rc == SQLITE_OK ? CS_THINK : CS_CLOSE;
			break;
		case CS_THINK:
			conn_wait(c, WH_OP_THINK);
			c->state = CS_THINK_WAIT;
			return WH_PENDING;
		case CS_THINK_WAIT:
			c->state = CS_PLAN;
			break;
		case CS_PLAN:
			if (w->txns_started >= w->cfg->txn_count) {
				c->state = CS_CLOSE;
				break;
			}
			w->txns_started++;
			w->cfg->workload->ops->txn_begin(c->wl_state, &c->rng, &c->txn_name,
							 &c->begin);
			c->txn = hist_txn_begin(&res->history, c->id, c->txn_name, c->begin,
						w->sched.now_us);
			if (c->begin == HIST_BEGIN_AUTOCOMMIT) {
				/* the statement is the commit */
				hist_txn_commit_start(&res->history, c->txn);
				c->in_commit = true;
				c->state = CS_NEXT;
			} else {
				trace_stmt(w, c, "begin-start", c->txn_name, 0);
				c->state = CS_BEGIN;
			}
			break;
		case CS_BEGIN:
			RETURN_IF_PENDING(conn_exec(c, begin_sql(c->begin)));
			trace_stmt(w, c, "begin", begin_sql(c->begin), c->call_rc);
			if (c->call_rc != SQLITE_OK) {
				res->stats.busy += rc_is_busy(c->call_rc);
				c->abort_rc = c->call_rc;
				c->state = CS_ROLLBACK;
			} else {
				c->state = CS_NEXT;
			}
			break;
		case CS_NEXT: {
			/* Called once per step: this state never yields. */
			struct wl_action act;
			const struct hist_stmt *prev =
				c->txn->stmt_count ? &c->txn->stmts[c->txn->stmt_count - 1]
						   : NULL;
			w->cfg->workload->ops->txn_next(c->wl_state, &c->rng, prev, &act);
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
				break;
			case WL_ACT_SLEEP:
				WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
				conn_wait_us(c, WH_OP_SLEEP, act.sleep_us);
				c->state = CS_SLEEP_WAIT;
				return WH_PENDING;
			case WL_ACT_COMMIT:
				WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
				hist_txn_commit_start(&res->history, c->txn);
				c->in_commit = true;
				trace_stmt(w, c, "commit-start", c->txn_name, 0);
				c->state = CS_COMMIT;
				break;
			case WL_ACT_ROLLBACK:
				WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
				c->abort_rc = SQLITE_OK; /* the workload chose it */
				c->state = CS_ROLLBACK;
				break;
			}
			break;
		}
		case CS_SLEEP_WAIT:
			c->state = CS_NEXT;
			break;
		case CS_GAP:
			/* A scheduling point between statements: this is
			 * where statement-granularity targets interleave. */
			conn_wait(c, WH_OP_THINK);
			c->state = CS_GAP_WAIT;
			return WH_PENDING;
		case CS_GAP_WAIT:
			c->state = CS_STMT;
			break;
		case CS_STMT: {
			RETURN_IF_PENDING(conn_call(c, CALL_STMT));
			int rc = c->call_rc;
			uint32_t rows = c->col_count ? c->cell_count / c->col_count : 0;
			struct hist_stmt *hs = hist_stmt_add(
				&res->history, c->txn, c->stmt_sql, c->stmt_tmpl, c->params,
				c->param_count, rc, c->changes, c->col_count, rows, c->cells,
				sql_is_ordered(c->stmt_sql));
			hs->flags = c->stmt_flags;
			conn_clear_cells(c);
			res->stats.statements++;
			trace_stmt(w, c, "stmt", c->stmt_sql, rc);
			if (rc != SQLITE_DONE) {
				res->stats.busy += rc_is_busy(rc);
				c->abort_rc = rc;
				c->state = CS_ROLLBACK;
			} else if (c->begin == HIST_BEGIN_AUTOCOMMIT) {
				conn_txn_end(c, HIST_COMMITTED, rc);
				c->state = CS_THINK;
			} else {
				c->state = CS_NEXT;
			}
			break;
		}
		case CS_COMMIT:
			RETURN_IF_PENDING(conn_exec(c, "COMMIT"));
			trace_stmt(w, c, "commit", "COMMIT", c->call_rc);
			if (c->call_rc == SQLITE_OK) {
				conn_txn_end(c, HIST_COMMITTED, SQLITE_OK);
				c->state = CS_THINK;
			} else {
				res->stats.busy += rc_is_busy(c->call_rc);
				c->abort_rc = c->call_rc;
				c->state = CS_ROLLBACK;
			}
			break;
		case CS_ROLLBACK:
			/* SQLite may already have rolled back (autocommit on
			 * again): then there is nothing to undo. Reading the
			 * flag does no I/O. */
			if (c->db != NULL && !sqlite3_get_autocommit(c->db)) {
				RETURN_IF_PENDING(conn_exec(c, "ROLLBACK"));
				trace_stmt(w, c, "rollback", "ROLLBACK", c->call_rc);
			}
			conn_txn_end(c, HIST_ABORTED, c->abort_rc);
			c->state = CS_THINK;
			break;
		case CS_CLOSE:
			RETURN_IF_PENDING(conn_call(c, CALL_CLOSE));
			trace_stmt(w, c, "close", NULL, c->call_rc);
			c->state = CS_CLOSED;
			return WH_DONE;
		case CS_CLOSED:
			return WH_DONE;
		}
	}
}

static void conn_on_complete(struct wh_completion *comp, void *data)
{
	struct conn *c = data;
	(void)comp;
	if (c->w->draining)
		return; /* the drain resumes fibers itself */
	int rc = conn_step(c);
	if (rc == WH_DONE) {
		WH_ASSERT(c->w->live_conns > 0);
		c->w->live_conns--;
	} else {
		WH_ASSERT_EQ(rc, WH_PENDING);
	}
}

/* ------------------------------------------------------------------ */
/* Setup, the run loop, teardown                                       */
/* ------------------------------------------------------------------ */

static void add_finding(struct world_result *r, const char *kind,
			const char *detail)
{
	r->findings = wh_realloc(r->findings,
				 (r->finding_count + 1) * sizeof *r->findings);
	r->findings[r->finding_count].kind = wh_strdup(kind);
	r->findings[r->finding_count].detail = wh_strdup(detail);
	r->finding_count++;
}

int world_global_init(void)
{
	static bool done;
	if (done)
		return 0;
	/* The simulation runs every connection on one OS thread, so SQLite
	 * needs no mutex; with none, a fiber parked inside SQLite can never
	 * be re-entered through a mutex another connection holds. */
	sqlite3_shutdown();
	if (sqlite3_config(SQLITE_CONFIG_SINGLETHREAD) != SQLITE_OK)
		return WH_EINVAL;
	sqlite3_config(SQLITE_CONFIG_URI, 1);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_initialize() != SQLITE_OK)
		return WH_EINVAL;
	done = true;
	return 0;
}

void world_config_default(struct world_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->seed = 1;
	cfg->workload = wl_find("default");
	cfg->conn_count = 4;
	cfg->txn_count = 1000;
	cfg->journal_mode = "wal";
	cfg->synchronous = "full";
	cfg->strategy = SCHED_RANDOM;
	cfg->pct_depth = 3;
	cfg->target = WORLD_TARGET_SIM;
	cfg->stack_bytes = WH_FIBER_STACK_DEFAULT;
	cfg->busy_timeout_ms = 50;
	cfg->reorder_window_us = 20;
	cfg->hang_steps = 2000000;
}

/* SQLite's PRNG is process-global and seeded once from the default VFS's
 * xRandomness. Reset it and reseed it from this run's stream, so WAL salts
 * and the like depend on the seed alone, not on earlier runs. */
static void reseed_sqlite_prng(struct world *w)
{
	sqlite3_vfs *prev = sqlite3_vfs_find(NULL);
	unsigned char b;
	sqlite3_vfs_register(simvfs_sqlite(w->res->vfs), 1);
	sqlite3_randomness(0, NULL);
	sqlite3_randomness(1, &b);
	sqlite3_vfs_register(prev, 1);
}

static int world_setup_db(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	const char *vfs = NULL;
	char sql[128];
	if (cfg->target == WORLD_TARGET_SIM)
		vfs = w->res->vfs_name;
	else
		flags |= SQLITE_OPEN_URI;
	int rc = sqlite3_open_v2(w->res->db_path, &db, flags, vfs);
	if (rc == SQLITE_OK && cfg->target == WORLD_TARGET_SIM) {
		snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", cfg->journal_mode);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	for (uint32_t i = 0; rc == SQLITE_OK && i < cfg->workload->pragma_count; i++) {
		snprintf(sql, sizeof sql, "PRAGMA %s", cfg->workload->pragmas[i]);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	for (uint32_t i = 0; rc == SQLITE_OK && i < cfg->pragma_count; i++) {
		snprintf(sql, sizeof sql, "PRAGMA %s", cfg->pragmas[i]);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, cfg->workload->setup_sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		char msg[512];
		snprintf(msg, sizeof msg, "workload setup failed: %s",
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		add_finding(w->res, "setup_failed", msg);
		sqlite3_close_v2(db);
		return WH_ESQL;
	}
	if (cfg->target == WORLD_TARGET_MEMORY_SHARED)
		w->res->keepalive = db; /* the shared in-memory db lives on */
	else
		sqlite3_close_v2(db);
	return 0;
}

static void report_hang(struct world *w, const char *why)
{
	char msg[4096];
	int n = snprintf(msg, sizeof msg, "%s after %" PRIu64 " steps at t=%" PRIu64
			 "us;", why, w->sched.steps, w->sched.now_us);
	for (uint32_t i = 0; i < w->cfg->conn_count && n < (int)sizeof msg - 64; i++) {
		const struct conn *c = &w->conns[i];
		n += snprintf(msg + n, sizeof msg - (size_t)n, " conn %u: %s%s%s;", i,
			      conn_state_names[c->state],
			      c->call_active ? " parked in " : "",
			      c->call_active ? wh_op_name(c->parked_kind) : "");
	}
	add_finding(w->res, "hang", msg);
}

/* After a hang, unwind every parked SQLite call: further VFS calls fail at
 * once, so each call returns an error, and every connection closes. */
static void world_drain(struct world *w)
{
	w->draining = true;
	for (uint32_t i = 0; i < w->cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		if (wh_completion_is_pending(&c->comp))
			wh_completion_cancel(&c->comp);
		for (int guard = 0; c->call_active && guard < 1000; guard++) {
			w->running = c;
			wh_fiber_resume(c->fiber);
			w->running = NULL;
			if (c->call_done)
				c->call_active = false;
		}
		WH_ASSERT(!c->call_active);
		if (c->db != NULL) {
			c->call_op = CALL_CLOSE;
			c->call_active = true;
			c->call_done = false;
			w->running = c;
			wh_fiber_resume(c->fiber);
			w->running = NULL;
			WH_ASSERT(c->call_done);
			c->call_active = false;
		}
	}
}

static uint64_t visibility_key(const struct hist_txn *t)
{
	return t->visible_event ? t->visible_event : t->end_event;
}

static int cmp_visibility(const void *a, const void *b)
{
	uint64_t x = visibility_key(*(struct hist_txn *const *)a);
	uint64_t y = visibility_key(*(struct hist_txn *const *)b);
	return (x > y) - (x < y);
}

/* Commit positions follow visibility, not the order COMMITs returned (see
 * note_commit_point). Keys are distinct history events, so the order is
 * total and needs no tie-break. */
static void renumber_commits(struct history *h)
{
	struct hist_txn **v = wh_calloc(h->commit_count + 1, sizeof *v);
	uint64_t n = 0;
	for (uint32_t i = 0; i < h->txn_count; i++)
		if (h->txns[i]->outcome == HIST_COMMITTED)
			v[n++] = h->txns[i];
	WH_ASSERT_EQ(n, h->commit_count);
	qsort(v, n, sizeof *v, cmp_visibility);
	for (uint64_t k = 0; k < n; k++)
		v[k]->commit_index = (int64_t)k;
	free(v);
}

int world_run(const struct world_config *cfg, struct world_result *res)
{
	int rc = world_global_init();
	if (rc != 0)
		return rc;
	WH_ASSERT(cfg->conn_count > 0 && cfg->conn_count <= WORLD_MAX_CONNS);
	WH_ASSERT(cfg->workload != NULL);
	memset(res, 0, sizeof *res);
	/* The world outlives this call: the VFS hooks point at it while the
	 * oracle reads the final database. world_result_free frees it. */
	struct world *w = wh_calloc(1, sizeof *w);
	res->world = w;
	w->cfg = cfg;
	w->res = res;
	w->hash = wh_mix64(cfg->seed ^ 0x77686f70ULL);
	hist_init(&res->history);
	hist_set_setup(&res->history, cfg->workload->setup_sql);
	wh_prng_seed(&w->vfs_rng, cfg->seed, WH_STREAM_VFS_RANDOM);

	struct sched_config sc = {
		.seed = cfg->seed,
		.strategy = cfg->strategy,
		.pct_depth = cfg->pct_depth,
		/* k: about 40 picks per transaction in WAL mode */
		.pct_steps_estimate = cfg->txn_count * 40 + 1,
		.owner_count = cfg->conn_count,
		.reorder_window_us = cfg->reorder_window_us,
	};
	sched_init(&w->sched, &sc);
	res->pct_n = cfg->conn_count;
	res->pct_k = sc.pct_steps_estimate;

	/* The VFS name is unique per world so runs never share files. */
	static uint64_t world_serial;
	snprintf(res->vfs_name, sizeof res->vfs_name, "whopper-sim-%" PRIu64,
		 ++world_serial);
	if (cfg->target == WORLD_TARGET_SIM) {
		snprintf(res->db_path, sizeof res->db_path, "whopper.db");
	} else {
		snprintf(res->db_path, sizeof res->db_path,
			 "file:whopper-%" PRIu64 "?mode=memory&cache=shared",
			 world_serial);
	}
	struct simvfs_config vc;
	simvfs_config_default(&vc);
	if (cfg->yield_mask)
		vc.yield_mask = cfg->yield_mask;
	struct simvfs_hooks hooks = {
		.ctx = w,
		.yield = hook_yield,
		.trace = trace_vfs,
		.now_us = hook_now_us,
		.randomness = hook_randomness,
	};
	if (simvfs_create(&res->vfs, res->vfs_name, &vc, &hooks) != SQLITE_OK) {
		sched_free(&w->sched);
		return WH_EINVAL;
	}
	reseed_sqlite_prng(w);

	rc = world_setup_db(w);
	if (rc != 0)
		goto out_sched;

	w->conns = wh_calloc(cfg->conn_count, sizeof *w->conns);
	for (uint32_t i = 0; i < cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		c->w = w;
		c->id = (int)i;
		c->state = CS_OPEN;
		wh_prng_seed(&c->rng, cfg->seed, WH_STREAM_CONN + i);
		c->wl_state = cfg->workload->ops->conn_new(cfg->workload, i);
		wh_completion_init(&c->comp, WH_OP_THINK, conn_on_complete, c);
		if (wh_fiber_create(&c->fiber, cfg->stack_bytes, conn_fiber_main, c) != 0) {
			add_finding(res, "setup_failed", "cannot map a fiber stack");
			rc = WH_ENOMEM;
			goto out_conns;
		}
	}

	/* Every connection starts with an open, itself a series of yields. */
	w->live_conns = cfg->conn_count;
	for (uint32_t i = 0; i < cfg->conn_count; i++) {
		if (conn_step(&w->conns[i]) == WH_DONE)
			w->live_conns--;
	}

	while (w->live_conns > 0) {
		struct wh_completion *comp = sched_pick(&w->sched);
		if (comp == NULL) {
			report_hang(w, "every connection is parked and nothing is due");
			world_drain(w);
			break;
		}
		trace_fold(w, ((uint64_t)(uint32_t)comp->owner << 32) ^ comp->kind ^
				      (comp->due_us << 8));
		if (++w->steps_since_progress > cfg->hang_steps) {
			/* comp stays pending, unlinked: the drain cancels it */
			report_hang(w, "no transaction finished");
			world_drain(w);
			break;
		}
		wh_completion_complete(comp, 0);
	}

	renumber_commits(&res->history);
out_conns:
	w->finished = true;
	w->running = NULL;
	res->stats.sched_steps = w->sched.steps;
	res->stats.sim_time_us = w->sched.now_us;
	res->trace_hash = w->hash;
	for (uint32_t i = 0; i < cfg->conn_count; i++) {
		struct conn *c = &w->conns[i];
		if (c->fiber)
			wh_fiber_destroy(c->fiber);
		conn_clear_cells(c);
		conn_clear_params(c);
		free(c->cells);
		if (c->wl_state)
			cfg->workload->ops->conn_free(c->wl_state);
	}
	free(w->conns);
	w->conns = NULL;
out_sched:
	w->finished = true;
	sched_free(&w->sched);
	return rc;
}

void world_result_free(struct world_result *r)
{
	hist_free(&r->history);
	for (uint32_t i = 0; i < r->finding_count; i++) {
		free(r->findings[i].kind);
		free(r->findings[i].detail);
	}
	free(r->findings);
	if (r->keepalive)
		sqlite3_close_v2(r->keepalive);
	if (r->vfs)
		simvfs_destroy(r->vfs);
	free(r->world);
	memset(r, 0, sizeof *r);
}
