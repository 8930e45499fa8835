/*
 * interp.c - runs a compiled workload: the wl_ops every loaded workload
 * uses.
 *
 * Per connection (struct wl__conn): the variables of the transaction in
 * progress, its template and program counter, a pending \gset, the
 * connection's unique() counter, and its \persist variables: one array
 * for every unit of the program (each unit's at its persist_base), set to
 * their initial values when the connection starts.
 *
 * \persist variables keep what a committed transaction left: txn_begin
 * saves them, and txn_end puts the saved values back when the transaction
 * did not commit (aborted, or its COMMIT failed or may not have happened),
 * so a connection remembers a job it claimed only when the claim
 * committed. Without txn_end calls (a caller that does not report
 * outcomes) they keep whatever the last transaction left.
 *
 * txn_begin walks the include tree from the root: at each unit it draws
 * one entry (a template or an included unit) with probability weight /
 * total_weight, until it reaches a template; then it draws the begin kind
 * among the template's kinds. Variables start as NULL.
 *
 * txn_next first stores the previous statement's first row if that
 * statement carried \gset (the driver hands it back as `prev`), then
 * executes instructions until one produces an action:
 *   SET     evaluate, assign, continue;
 *   IF      evaluate, jump past the branch when false, continue;
 *   JUMP    continue at the target (always forward);
 *   STMT    bind the statement's :names as ?1..?n: WL_ACT_STMT;
 *   SLEEP   WL_ACT_SLEEP of expr * unit microseconds (NULL or negative:
 *           0; capped at WL_MAX_SLEEP_US);
 *   ROLLBACK WL_ACT_ROLLBACK;
 * and past the last instruction, WL_ACT_COMMIT. Jumps only go forward, so
 * one call runs at most code_count instructions and a transaction ends.
 *
 * :client_id is the connection's number (conn_id, from 0), as pgbench's.
 *
 * Randomness: only the rng the driver passes in (the connection's seeded
 * stream). unique() needs no shared state: its values are spaced by the
 * connection count bound (see expr.c).
 */
#include <sqlite3.h>
#include <string.h>

#include "wl_int.h"
#include "world.h"

_Static_assert(WL_UNIQUE_STRIDE == WORLD_MAX_CONNS,
	       "unique() spaces its values by the driver's connection limit");

struct wl__conn {
	const struct wl__prog *prog;
	uint32_t conn_id;
	uint64_t unique_next;        /* k of the next unique() */
	const struct wl__tmpl *tmpl; /* the transaction in progress */
	enum hist_begin begin;
	uint32_t pc;                 /* next instruction */
	const struct wl__stmt *pending_gset; /* store prev's row first */
	struct wh_value *vars;       /* prog->max_vars values */
	struct wh_value *persist;    /* prog->persist_count values */
	struct wh_value *persist_saved; /* as the transaction in progress
					   began */
	struct wh_value client_id;   /* :client_id, an integer */
	struct wh_value params[WL_MAX_PARAMS]; /* shallow: valid until the
						  next call */
};

static void vars_reset(struct wl__conn *c)
{
	for (uint32_t k = 0; k < c->prog->max_vars; k++) {
		wh_value_free(&c->vars[k]);
		c->vars[k].type = SQLITE_NULL;
	}
}

/* The \persist variables of unit u and of every unit it includes to
 * their initial values. */
static void persist_start(struct wl__conn *c, const struct wl__unit *u, uint32_t depth)
{
	WH_ASSERT(depth <= WL_MAX_INCLUDE_DEPTH);
	WH_ASSERT(u->persist_base + u->persist_count <= c->prog->persist_count);
	for (uint32_t k = 0; k < u->persist_count; k++)
		wh_value_copy(&c->persist[u->persist_base + k], &u->persist_init[k]);
	for (uint32_t k = 0; k < u->include_count; k++)
		persist_start(c, u->includes[k].unit, depth + 1);
}

static void *interp_conn_new(const struct workload *wl, uint32_t conn_id)
{
	WH_ASSERT(wl->ops == &wl__interp_ops);
	WH_ASSERT(conn_id < WL_UNIQUE_STRIDE);
	/* A workload whose requirement the SQLite it was composed for does
	 * not meet may have nothing to draw: callers refuse to run it. */
	WH_ASSERT(wl_requirement_met(&wl->requires, wl->composed_for));
	struct wl__conn *c = wh_calloc(1, sizeof *c);
	c->prog = wl->impl;
	c->conn_id = conn_id;
	c->vars = wh_calloc(c->prog->max_vars + 1, sizeof *c->vars);
	for (uint32_t k = 0; k <= c->prog->max_vars; k++)
		c->vars[k].type = SQLITE_NULL;
	uint32_t np = c->prog->persist_count;
	c->persist = wh_calloc(np + 1, sizeof *c->persist);
	c->persist_saved = wh_calloc(np + 1, sizeof *c->persist_saved);
	for (uint32_t k = 0; k <= np; k++) {
		c->persist[k].type = SQLITE_NULL;
		c->persist_saved[k].type = SQLITE_NULL;
	}
	persist_start(c, c->prog->root, 0);
	c->client_id.type = SQLITE_INTEGER;
	c->client_id.i = conn_id;
	return c;
}

static void interp_conn_free(void *cs)
{
	struct wl__conn *c = cs;
	if (c == NULL)
		return;
	vars_reset(c);
	free(c->vars);
	for (uint32_t k = 0; k < c->prog->persist_count; k++) {
		wh_value_free(&c->persist[k]);
		wh_value_free(&c->persist_saved[k]);
	}
	free(c->persist);
	free(c->persist_saved);
	free(c);
}

/* An index in [0, n) drawn by weight (zero weights are never drawn); no
 * draw when only one index has weight. */
static uint32_t pick_weighted(struct wh_prng *rng, const uint32_t *weights, uint32_t n,
			      uint64_t total)
{
	WH_ASSERT(n > 0 && total > 0);
	for (uint32_t k = 0; k < n; k++)
		if (weights[k] == total)
			return k;
	uint64_t r = wh_prng_below(rng, total);
	for (uint32_t k = 0; k < n; k++) {
		if (r < weights[k])
			return k;
		r -= weights[k];
	}
	WH_UNREACHABLE();
}

static void interp_txn_begin(void *cs, struct wh_prng *rng, const char **name,
			     enum hist_begin *begin)
{
	struct wl__conn *c = cs;
	const struct wl__unit *u = c->prog->root;
	const struct wl__tmpl *t = NULL;
	for (uint32_t depth = 0; t == NULL; depth++) {
		WH_ASSERT(depth <= WL_MAX_INCLUDE_DEPTH);
		uint32_t n = u->tmpl_count + u->include_count;
		WH_ASSERT(n > 0);
		uint64_t r = n == 1 ? 0 : wh_prng_below(rng, u->total_weight);
		uint32_t k = 0;
		for (; k < u->tmpl_count; k++) {
			if (r < u->tmpls[k].weight) {
				t = &u->tmpls[k];
				break;
			}
			r -= u->tmpls[k].weight;
		}
		if (t != NULL)
			break;
		for (k = 0; k < u->include_count; k++) {
			if (r < u->includes[k].weight)
				break;
			r -= u->includes[k].weight;
		}
		WH_ASSERT(k < u->include_count);
		u = u->includes[k].unit;
	}
	c->tmpl = t;
	c->begin = (enum hist_begin)pick_weighted(rng, t->begin_weight, 4, t->begin_total);
	WH_ASSERT(t->begin_weight[c->begin] > 0);
	c->pc = 0;
	c->pending_gset = NULL;
	vars_reset(c);
	for (uint32_t k = 0; k < c->prog->persist_count; k++) {
		wh_value_free(&c->persist_saved[k]);
		wh_value_copy(&c->persist_saved[k], &c->persist[k]);
	}
	*name = t->name;
	*begin = c->begin;
}

/* Where an assignment goes: a transaction variable or one of the
 * connection's \persist variables (of the template's unit). */
static struct wh_value *var_slot(struct wl__conn *c, const struct wl__ref *ref)
{
	uint32_t at;
	switch (ref->kind) {
	case WL_REF_VAR:
		WH_ASSERT(ref->index < c->prog->max_vars);
		return &c->vars[ref->index];
	case WL_REF_PERSIST:
		at = c->tmpl->unit->persist_base + ref->index;
		WH_ASSERT(ref->index < c->tmpl->unit->persist_count);
		WH_ASSERT(at < c->prog->persist_count);
		return &c->persist[at];
	case WL_REF_PARAM:
	case WL_REF_CLIENT_ID:
		break;
	}
	WH_UNREACHABLE(); /* the loader lets nothing assign those */
}

/* What :name reads in a statement (a shallow copy is bound). */
static const struct wh_value *ref_value(struct wl__conn *c, const struct wl__ref *ref)
{
	switch (ref->kind) {
	case WL_REF_PARAM:
		WH_ASSERT(ref->index < c->tmpl->unit->param_count);
		return &c->tmpl->unit->param_values[ref->index];
	case WL_REF_CLIENT_ID:
		return &c->client_id;
	case WL_REF_VAR:
	case WL_REF_PERSIST:
		return var_slot(c, ref);
	}
	WH_UNREACHABLE();
}

/* \gset: the first row of prev into the variables (no row: NULL). */
static void store_row(struct wl__conn *c, const struct wl__stmt *st,
		      const struct hist_stmt *prev)
{
	WH_ASSERT(prev != NULL);
	WH_ASSERT(st->gset_count > 0);
	bool row = prev->row_count > 0 && prev->cells != NULL;
	for (uint32_t k = 0; k < st->gset_count; k++) {
		struct wh_value *v = var_slot(c, &st->gset_vars[k]);
		wh_value_free(v);
		v->type = SQLITE_NULL;
		/* A schema change may have altered the column count since the
		 * file was loaded: missing columns read as NULL. */
		if (row && k < prev->col_count)
			wh_value_copy(v, &prev->cells[k]);
	}
}

/* \sleep: the expression's value in the instruction's unit, as
 * microseconds; NULL, negative or not a number is no sleep, and it is
 * capped at WL_MAX_SLEEP_US. */
static void act_sleep(const struct wl__ins *ins, const struct wl__env *env,
		      struct wl_action *out)
{
	struct wh_value v;
	wl__expr_eval(ins->expr, env, &v);
	double us = 0.0;
	if (v.type == SQLITE_INTEGER)
		us = (double)v.i * (double)ins->unit_us;
	else if (v.type == SQLITE_FLOAT)
		us = v.f * (double)ins->unit_us;
	wh_value_free(&v);
	if (!(us > 0.0))
		us = 0.0;
	if (us > (double)WL_MAX_SLEEP_US)
		us = (double)WL_MAX_SLEEP_US;
	out->kind = WL_ACT_SLEEP;
	out->sleep_us = (uint64_t)us;
}

/* A statement: its parameters' current values bound in order (shallow
 * copies, valid until the next call), and a \gset remembered for the
 * row the driver hands back next time. */
static void act_stmt(struct wl__conn *c, const struct wl__stmt *st, struct wl_action *out)
{
	WH_ASSERT(st->param_count <= WL_MAX_PARAMS);
	for (uint32_t k = 0; k < st->param_count; k++)
		c->params[k] = *ref_value(c, &st->params[k]);
	out->kind = WL_ACT_STMT;
	out->sql = st->sql;
	out->tmpl = st->tmpl;
	out->param_count = st->param_count;
	out->params = c->params;
	out->flags = st->flags;
	if (st->gset_count > 0)
		c->pending_gset = st;
}

static void interp_txn_next(void *cs, struct wh_prng *rng, const struct hist_stmt *prev,
			    struct wl_action *out)
{
	struct wl__conn *c = cs;
	const struct wl__tmpl *t = c->tmpl;
	WH_ASSERT(t != NULL);
	memset(out, 0, sizeof *out);
	if (c->pending_gset != NULL) {
		store_row(c, c->pending_gset, prev);
		c->pending_gset = NULL;
	}
	struct wl__env env = {
		.params = t->unit->param_values,
		.vars = c->vars,
		.persist = c->persist + t->unit->persist_base,
		.rng = rng,
		.conn_id = c->conn_id,
		.unique_next = &c->unique_next,
	};
	for (uint32_t steps = 0; c->pc < t->code_count; steps++) {
		WH_ASSERT(steps < t->code_count); /* jumps only go forward */
		const struct wl__ins *ins = &t->code[c->pc++];
		struct wh_value v;
		switch (ins->kind) {
		case WL_INS_SET:
			wl__expr_eval(ins->expr, &env, &v);
			wh_value_free(var_slot(c, &ins->var));
			*var_slot(c, &ins->var) = v;
			break;
		case WL_INS_IF:
			wl__expr_eval(ins->expr, &env, &v);
			WH_ASSERT(ins->target >= c->pc);
			if (!wl__value_truthy(&v))
				c->pc = ins->target;
			wh_value_free(&v);
			break;
		case WL_INS_JUMP:
			WH_ASSERT(ins->target >= c->pc);
			c->pc = ins->target;
			break;
		case WL_INS_SLEEP:
			WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
			act_sleep(ins, &env, out);
			return;
		case WL_INS_ROLLBACK:
			WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
			out->kind = WL_ACT_ROLLBACK;
			return;
		case WL_INS_STMT:
			act_stmt(c, ins->stmt, out);
			return;
		}
	}
	/* An autocommit template is exactly one statement (checked at load),
	 * so the driver never asks past it. */
	WH_ASSERT(c->begin != HIST_BEGIN_AUTOCOMMIT);
	out->kind = WL_ACT_COMMIT;
}

/* The transaction ended: a \persist variable keeps what it was given
 * only when the transaction committed. */
static void interp_txn_end(void *cs, enum hist_outcome outcome)
{
	struct wl__conn *c = cs;
	WH_ASSERT(c->tmpl != NULL); /* one end per begin */
	WH_ASSERT(outcome != HIST_RUNNING);
	if (outcome != HIST_COMMITTED) {
		for (uint32_t k = 0; k < c->prog->persist_count; k++) {
			wh_value_free(&c->persist[k]);
			c->persist[k] = c->persist_saved[k]; /* moved: */
			memset(&c->persist_saved[k], 0, sizeof c->persist_saved[k]);
			c->persist_saved[k].type = SQLITE_NULL;
		}
	}
	c->tmpl = NULL;
	c->pending_gset = NULL;
}

const struct wl_ops wl__interp_ops = {
	.conn_new = interp_conn_new,
	.conn_free = interp_conn_free,
	.txn_begin = interp_txn_begin,
	.txn_next = interp_txn_next,
	.txn_end = interp_txn_end,
};
