/*
 * explain.c - names what went wrong: for every transaction that matched
 * nowhere it was allowed to, and every row whose final value differs,
 * finds the anomaly and the transactions behind it.
 *
 * It replays the plan once more on a fresh reference (only when something
 * failed) and, while passing each position, runs probes that leave no
 * trace (savepoints rolled back):
 *
 *   - Placement: each statement of a failing transaction T is evaluated at
 *     every position of a bounded range [a, b] around its allowed window
 *     (statements before it executed first, in the same probe), recording
 *     where it would have returned what the run observed, and a digest of
 *     what it returns at each position.
 *   - Change points: the same for every writer whose step lies in [a, b)
 *     ("nodes"). A statement's result changes between positions c and c+1
 *     only because step c's writes touched what it reads, which gives the
 *     dependency edges without any model of the workload:
 *        X -wr-> Y  X is the last change point before the position Y read at
 *        Y -rw-> X  X is the first change point at or after it (other than
 *                   Y itself)
 *        X -ww-> Y  both wrote a common row (update hook), X first.
 *     Every transaction that matched at its commit position only has
 *     edges that go forward in the serial order, so a cycle must go
 *     through T; the shortest one through T is found by breadth-first
 *     search over nodes in step order (deterministic) and named:
 *        T -rw-> X -ww-> T (or its mirror)  lost_update
 *        two or more rw edges               write_skew (G2)
 *        exactly one rw edge                read_skew (G-single)
 *        none                               dirty_read (G1c: T saw a
 *                                           write that committed after it)
 *   - Dirty reads: at each allowed position, for a few transactions X that
 *     overlapped T in real time and were not yet applied there, apply a
 *     prefix of X's statements (longest first) and evaluate T: a match
 *     means T observed X's writes; X aborted: aborted_read (G1a); X still
 *     running, or committed but only later: dirty_read; a strict prefix of
 *     a committed X whose later statements overwrite a row the prefix
 *     wrote: intermediate_read (G1b, T read a non-final version); any
 *     other strict prefix of a committed X: dirty_read (T saw X half
 *     done).
 *   - Stale schema: when the first mismatching statement of T was
 *     observed failing with SQLITE_ERROR, at each allowed position where
 *     it is probed (after T's statements before it) the identifiers of
 *     its text are looked up in the reference's schema. If one names a
 *     table, index or view that exists at every such position, T failed
 *     on the schema its connection had cached, not on the data (SQLite
 *     then reports "no such table" for a table that exists: see
 *     tests/test_findings.c): stale_schema_error, naming T alone. This
 *     comes first: the dirty-read search would otherwise "explain" the
 *     error by a writer's prefix that dropped the table.
 *   A cycle is preferred when every statement of T matches some committed
 *   state (T saw committed data, only not all from one state); otherwise
 *   the dirty-read search comes first. What nothing explains is a
 *   read_mismatch, with expected and observed results.
 *
 *   - Final rows: every write to a differing row is recorded with the row
 *     as it was before. A target row equal to the row before committed X
 *     wrote it is a lost_commit of X (and of later writers of that row);
 *     a target row that an aborted or unfinished transaction's statements
 *     reproduce on the final reference is a phantom_commit; the rest are
 *     final_state differences.
 *
 * Crashes: a failing transaction's range is clamped to its epoch (it
 * could see no state across a crash), and the replay resumes at each crash
 * from the position the check run found (o->crashes), rebuilding the
 * reference as the sweep did; tracked final rows forget the writers a
 * crash lost. Statements that are not compared (HIST_STMT_NOCHECK, or
 * skipped) add no dependency edges: their results may change with any
 * write.
 *
 * Bounds: XP_DEEP_MAX failures get the full treatment (the others are
 * reported with expected versus observed only); ranges are at most
 * XP_RANGE_MAX positions; XP_CANDIDATES_MAX dirty candidates with at most
 * one probe per writing statement prefix; XP_PHANTOM_MAX phantom
 * candidates. All loops run in position, step or id order.
 */
#include <stdlib.h>
#include <string.h>

#include "oracle_int.h"

#define XP_MARGIN 12         /* positions examined beyond a window */
#define XP_RANGE_MAX 48      /* positions examined per failure */
#define XP_DEEP_MAX 16       /* failures explained in depth */
#define XP_STMTS_MAX 16      /* statements of a node examined */
#define XP_CANDIDATES_MAX 16 /* dirty-read candidates per failure */
#define XP_PHANTOM_MAX 64    /* unfinished writers tried on final rows */
#define XP_CHAIN_SHOWN 4     /* later lost writers named per row */

enum { XP_WW = 1, XP_WR = 2, XP_RW = 4 };

/* A transaction whose reads are examined at every position of a range. */
struct xp_node {
	uint32_t txn;
	uint32_t step;       /* its step when it changes the state, or
				ORACLE_NONE */
	uint32_t n;          /* statements examined */
	uint64_t *digest;    /* [(pos - a) * n + stmt] */
};

struct xp_task {
	const struct oracle__failure *f;
	const struct hist_txn *t;
	bool deep;                    /* full explanation, else shallow */
	uint32_t lo, hi;              /* allowed positions */
	uint32_t a, b;                /* examined positions, inclusive */
	bool *match;                  /* [(pos - a) * stmt_count + stmt] */
	struct oracle__result expected; /* at best_pos, best_stmt */
	bool have_expected;
	struct xp_node *nodes;        /* [0] = T, then steps in [a, b) */
	uint32_t node_count;
	uint32_t *node_at;            /* step - a -> node, or ORACLE_NONE */
	uint32_t *cands;              /* dirty-read candidates */
	uint32_t cand_count;
	bool dirty_found;
	uint32_t dirty_txn;           /* whose writes explain the reads */
	uint32_t dirty_prefix;        /* how many of its statements */
	uint32_t dirty_pos;           /* at which position */
	bool dirty_overwritten;       /* X's later statements overwrote a row
					 of the prefix T saw (G1b) */
	bool schema_candidate;        /* the first mismatching statement was
					 observed failing with SQLITE_ERROR */
	uint32_t schema_checked;      /* allowed positions where the objects
					 it names were looked up */
	uint32_t schema_found;        /* of them, where one exists */
	uint32_t schema_first;        /* first and last such position */
	uint32_t schema_last;
	char *schema_name;            /* the first existing object it names
					 (owned), or NULL */
};

/* A write set, sorted by (table, rowid). */
struct xp_wset {
	struct oracle__write *w;
	uint32_t n;
};

struct xp_writer {
	uint32_t txn;
	uint32_t step;                /* its step */
	struct oracle__result pre;    /* the row before it wrote */
};

struct xp_row {
	const struct oracle__rowdiff *d;
	int tix;                      /* index in ref.tables, or -1 */
	struct oracle__result cur;    /* the row on the reference now */
	struct xp_writer *writers;
	uint32_t writer_count;
	uint32_t lost;                /* first lost writer, or ORACLE_NONE */
	uint32_t phantom;             /* txn that reproduces it, or NONE */
};

/* A probe to run at a position: the sweep walks these in (pos, task)
 * order, so its cost follows the probes, not tasks times positions. */
struct xp_visit {
	uint32_t pos;
	uint32_t task;
};

struct xp {
	struct oracle__ctx *c;
	const struct oracle__plan *p;
	const struct oracle__outcome *o; /* the outcome explained (crashes) */
	struct xp_task *tasks;
	uint32_t task_count;
	struct xp_visit *visits;      /* sorted by (pos, task) */
	uint32_t visit_count;
	struct xp_wset *wsets;        /* step -> write set (tracked only) */
	bool *tracked;                /* step -> record its write set */
	struct xp_row *rows;
	uint32_t row_count;
	uint32_t tables_resolved;     /* ref.tables seen by resolve_rows */
};

/* ------------------------------------------------------------------ */
/* Set-up                                                               */
/* ------------------------------------------------------------------ */

static bool applied_before(const struct oracle__plan *p, uint32_t txn,
			   uint32_t pos)
{
	uint32_t s = p->step_of[txn];
	return s != ORACLE_NONE && !p->steps[s].noop && s < pos;
}

struct cand_key {
	uint64_t distance;
	uint32_t txn;
};

static int cand_key_cmp(const void *a, const void *b)
{
	const struct cand_key *x = a, *y = b;
	if (x->distance != y->distance)
		return x->distance < y->distance ? -1 : 1;
	return x->txn < y->txn ? -1 : x->txn > y->txn ? 1 : 0;
}

/* Writers that overlapped t in real time, nearest begin first. */
static void task_candidates(struct xp *x, struct xp_task *k)
{
	const struct history *h = x->c->h;
	const struct hist_txn *t = k->t;
	uint64_t t_end = t->end_event ? t->end_event : UINT64_MAX;
	struct cand_key *keys = wh_malloc((h->txn_count + 1) * sizeof *keys);
	uint32_t n = 0;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *o = h->txns[i];
		if (i == t->id || o->stmt_count == 0 || x->c->txn_ro[i])
			continue;
		uint64_t o_end = o->end_event ? o->end_event : UINT64_MAX;
		if (o->begin_event >= t_end || o_end <= t->begin_event)
			continue;
		uint64_t d = o->begin_event > t->begin_event
				     ? o->begin_event - t->begin_event
				     : t->begin_event - o->begin_event;
		keys[n++] = (struct cand_key){ d, i };
	}
	qsort(keys, n, sizeof *keys, cand_key_cmp);
	k->cand_count = n < XP_CANDIDATES_MAX ? n : XP_CANDIDATES_MAX;
	k->cands = wh_malloc((k->cand_count + 1) * sizeof *k->cands);
	for (uint32_t j = 0; j < k->cand_count; j++)
		k->cands[j] = keys[j].txn;
	free(keys);
}

static void task_init(struct xp *x, struct xp_task *k,
		      const struct oracle__failure *f, bool deep)
{
	const struct oracle__plan *p = x->p;
	memset(k, 0, sizeof *k);
	k->f = f;
	k->t = x->c->h->txns[f->txn];
	k->deep = deep;
	k->lo = p->lo[f->txn];
	k->hi = p->hi[f->txn];
	WH_ASSERT(k->lo <= k->hi && k->hi <= p->step_count);
	WH_ASSERT(f->best_pos >= k->lo && f->best_pos <= k->hi);
	k->schema_candidate = f->best_stmt < k->t->stmt_count &&
			      oracle__stmt_compared(k->t, f->best_stmt) &&
			      (k->t->stmts[f->best_stmt].rc & 0xff) == SQLITE_ERROR;
	if (!deep)
		return;
	/* The examined range stays in the transaction's epoch: the states
	 * across a crash are not ones it could have seen, and a crash step
	 * is no writer to name. */
	uint32_t epoch = x->c->txn_epoch[f->txn];
	uint32_t first = oracle__epoch_first(x->c, epoch);
	uint32_t last = oracle__epoch_last(x->c, epoch);
	WH_ASSERT(k->lo >= first && k->hi <= last);
	k->a = k->lo > first + XP_MARGIN ? k->lo - XP_MARGIN : first;
	k->b = k->hi + XP_MARGIN < last ? k->hi + XP_MARGIN : last;
	if (k->b - k->a + 1 > XP_RANGE_MAX)
		k->b = k->a + XP_RANGE_MAX - 1;
	uint32_t width = k->b - k->a + 1;
	k->match = wh_calloc((size_t)width * (k->t->stmt_count + 1),
			     sizeof *k->match);
	k->node_at = wh_malloc(width * sizeof *k->node_at);
	k->nodes = wh_calloc(width + 1, sizeof *k->nodes);
	uint32_t own = p->step_of[f->txn];
	if (own != ORACLE_NONE && p->steps[own].noop)
		own = ORACLE_NONE;
	k->nodes[0] = (struct xp_node){ f->txn, own, k->t->stmt_count, NULL };
	k->node_count = 1;
	for (uint32_t s = k->a; s < k->b; s++) {
		k->node_at[s - k->a] = ORACLE_NONE;
		WH_ASSERT(p->steps[s].crash == ORACLE_NONE);
		if (p->steps[s].noop)
			continue;
		x->tracked[s] = true;
		if (s == own) {
			k->node_at[s - k->a] = 0;
			continue;
		}
		const struct hist_txn *y = x->c->h->txns[p->steps[s].txn];
		k->node_at[s - k->a] = k->node_count;
		k->nodes[k->node_count++] = (struct xp_node){
			y->id, s,
			y->stmt_count < XP_STMTS_MAX ? y->stmt_count
						     : XP_STMTS_MAX,
			NULL
		};
	}
	for (uint32_t i = 0; i < k->node_count; i++)
		k->nodes[i].digest = wh_calloc((size_t)width * k->nodes[i].n + 1,
					       sizeof *k->nodes[i].digest);
	task_candidates(x, k);
}

static void task_free(struct xp_task *k)
{
	for (uint32_t i = 0; i < k->node_count; i++)
		free(k->nodes[i].digest);
	free(k->nodes);
	free(k->node_at);
	free(k->match);
	free(k->cands);
	free(k->schema_name);
	oracle__result_free(&k->expected);
}

/* ------------------------------------------------------------------ */
/* Probes                                                               */
/* ------------------------------------------------------------------ */

static void wset_take(struct oracle__ref *r, struct xp_wset *ws);
static bool wsets_meet(const struct xp_wset *a, const struct xp_wset *b);

/* Inside a probe where X's first m statements were applied (their writes
 * in r->writes): do X's remaining statements overwrite any of those rows?
 * Then what T saw was a non-final version (G1b); otherwise T saw a partial
 * state of X. Unknown write sets (WITHOUT ROWID) count as overwritten. */
static bool prefix_overwritten(struct oracle__ref *r, const struct hist_txn *o,
			       uint32_t m)
{
	struct xp_wset pre, post;
	wset_take(r, &pre);
	r->write_count = 0;
	r->hook_on = true;
	for (uint32_t j = m; j < o->stmt_count && !sqlite3_get_autocommit(r->db);
	     j++)
		(void)oracle__ref_stmt(r, o, j, NULL);
	r->hook_on = false;
	wset_take(r, &post);
	bool over = pre.n == 0 || wsets_meet(&pre, &post);
	free(pre.w);
	free(post.w);
	return over;
}

/* Tries X's prefixes, longest first, then T; records the first match. */
static void probe_dirty(struct xp *x, struct xp_task *k, uint32_t pos)
{
	struct oracle__ref *r = &x->c->ref;
	const struct oracle__probe quick = { .stop_early = true,
					     .capture_stmt = ORACLE_NONE };
	for (uint32_t ci = 0; ci < k->cand_count && !k->dirty_found; ci++) {
		const struct hist_txn *o = x->c->h->txns[k->cands[ci]];
		if (applied_before(x->p, o->id, pos))
			continue;
		uint32_t n = o->stmt_count < XP_STMTS_MAX ? o->stmt_count
							  : XP_STMTS_MAX;
		for (uint32_t m = n; m >= 1 && !k->dirty_found; m--) {
			/* Only prefixes ending in a write give a new state. */
			if (oracle__stmt_skipped(o, m - 1) ||
			    oracle__stmt_uncertain(o, m - 1) ||
			    oracle__stmt_readonly(r, o, m - 1))
				continue;
			oracle__ref_save(r);
			r->write_count = 0;
			r->hook_on = true;
			(void)oracle__ref_exec(r, o, m, NULL);
			r->hook_on = false;
			if (sqlite3_get_autocommit(r->db)) {
				/* X's prefix ended the probe's transaction (OR
				 * ROLLBACK): nothing to evaluate T against. */
				oracle__ref_undo(r);
				continue;
			}
			uint32_t miss = oracle__ref_exec(r, k->t, k->t->stmt_count,
							 &quick);
			if (miss == ORACLE_NONE) {
				k->dirty_found = true;
				k->dirty_txn = o->id;
				k->dirty_prefix = m;
				k->dirty_pos = pos;
				k->dirty_overwritten = prefix_overwritten(r, o, m);
			}
			oracle__ref_undo(r);
		}
	}
}

/* The next identifier of an SQL text from *pp (bare, "quoted", `quoted`
 * or [quoted]) into out, truncated to cap - 1 bytes; literals, comments,
 * parameters, numbers and punctuation are skipped. Returns false at the
 * end of the text. */
static bool next_ident(const char **pp, char *out, size_t cap)
{
	const char *p = *pp;
	WH_ASSERT(cap > 1);
	while (*p != '\0') {
		unsigned char ch = (unsigned char)*p;
		if (ch == '\'') {
			/* A string literal; '' is a quote inside it. */
			p++;
			while (*p != '\0' && !(p[0] == '\'' && p[1] != '\''))
				p += p[0] == '\'' ? 2 : 1;
			p += *p != '\0';
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			p = end != NULL ? end + 2 : p + strlen(p);
		} else if (ch == '"' || ch == '`' || ch == '[') {
			char close = ch == '[' ? ']' : (char)ch;
			size_t n = 0;
			for (p++; *p != '\0'; p++) {
				if (*p == close && (close == ']' || p[1] != close))
					break;
				if (*p == close)
					p++; /* a doubled quote stands for one */
				if (n + 1 < cap)
					out[n++] = *p;
			}
			p += *p != '\0';
			out[n] = '\0';
			*pp = p;
			return true;
		} else if (ch == '_' || ch >= 0x80 || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z')) {
			size_t n = 0;
			for (; *p == '_' || *p == '$' || (unsigned char)*p >= 0x80 ||
			       ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
			       (*p >= '0' && *p <= '9');
			     p++)
				if (n + 1 < cap)
					out[n++] = *p;
			out[n] = '\0';
			*pp = p;
			return true;
		} else {
			/* Punctuation; a parameter (?1, :name) or a number is
			 * skipped whole so that its letters are no name. */
			bool word = ch == '?' || ch == ':' || ch == '@' ||
				    ch == '$' || (ch >= '0' && ch <= '9');
			p++;
			while (word && (*p == '_' || (*p >= '0' && *p <= '9') ||
					((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
				p++;
		}
	}
	*pp = p;
	return false;
}

/* The first table, index or view of db's schema that sql names, as
 * spelled in the schema (owned), or NULL. */
static char *schema_named(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type IN ('table', 'index', 'view') AND name = ?1 COLLATE NOCASE", -1, &q, NULL) != SQLITE_OK)
		return NULL;
	char *found = NULL;
	char ident[256];
	const char *p = sql;
	while (found == NULL && next_ident(&p, ident, sizeof ident)) {
		sqlite3_bind_text(q, 1, ident, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			found = wh_strdup((const char *)sqlite3_column_text(q, 0));
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	return found;
}

/* At allowed position pos of a task whose failing statement was observed
 * failing with SQLITE_ERROR: does a table, index or view that statement
 * names exist where it would run (after the statements before it)? An
 * error that the reference does not give although the object is there
 * is what a stale cached schema produces (stale_schema_error). */
static void probe_schema(struct xp *x, struct xp_task *k, uint32_t pos)
{
	struct oracle__ref *r = &x->c->ref;
	const struct hist_txn *t = k->t;
	uint32_t j = k->f->best_stmt;
	WH_ASSERT(k->schema_candidate && j < t->stmt_count);
	WH_ASSERT(pos >= k->lo && pos <= k->hi);
	oracle__ref_save(r);
	(void)oracle__ref_exec(r, t, j, NULL);
	if (!sqlite3_get_autocommit(r->db)) {
		char *name = schema_named(r->db, t->stmts[j].sql);
		if (k->schema_checked++ == 0)
			k->schema_first = pos;
		k->schema_last = pos;
		k->schema_found += name != NULL;
		if (k->schema_name == NULL)
			k->schema_name = name;
		else
			free(name);
	}
	oracle__ref_undo(r);
}

static void probe_task(struct xp *x, struct xp_task *k, uint32_t pos)
{
	struct oracle__ref *r = &x->c->ref;
	const struct hist_txn *t = k->t;
	bool capture = pos == k->f->best_pos && k->f->best_stmt < t->stmt_count;
	if (k->schema_candidate && pos >= k->lo && pos <= k->hi)
		probe_schema(x, k, pos);
	if (!k->deep) {
		if (capture) {
			struct oracle__probe pr = { .capture_stmt = k->f->best_stmt,
						    .capture = &k->expected };
			(void)oracle__ref_try(r, t, k->f->best_stmt + 1, &pr);
			k->have_expected = true;
		}
		return;
	}
	if (pos < k->a || pos > k->b) {
		if (capture) {
			struct oracle__probe pr = { .capture_stmt = k->f->best_stmt,
						    .capture = &k->expected };
			(void)oracle__ref_try(r, t, k->f->best_stmt + 1, &pr);
			k->have_expected = true;
		}
		return;
	}
	uint32_t w = pos - k->a;
	for (uint32_t i = 0; i < k->node_count; i++) {
		struct xp_node *nd = &k->nodes[i];
		const struct hist_txn *y = x->c->h->txns[nd->txn];
		struct oracle__probe pr = {
			.digest = nd->digest + (size_t)w * nd->n,
			.capture_stmt = ORACLE_NONE,
		};
		if (i == 0) {
			pr.match = k->match + (size_t)w * t->stmt_count;
			if (capture) {
				pr.capture_stmt = k->f->best_stmt;
				pr.capture = &k->expected;
				k->have_expected = true;
			}
		}
		(void)oracle__ref_try(r, y, nd->n, &pr);
	}
	if (pos >= k->lo && pos <= k->hi && !k->dirty_found)
		probe_dirty(x, k, pos);
}

/* ------------------------------------------------------------------ */
/* Write sets and tracked rows                                          */
/* ------------------------------------------------------------------ */

static int write_cmp(const void *a, const void *b)
{
	const struct oracle__write *x = a, *y = b;
	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	return x->rowid < y->rowid ? -1 : x->rowid > y->rowid ? 1 : 0;
}

static void wset_take(struct oracle__ref *r, struct xp_wset *ws)
{
	if (r->write_count > 1)
		qsort(r->writes, r->write_count, sizeof *r->writes, write_cmp);
	ws->w = wh_malloc((r->write_count + 1) * sizeof *ws->w);
	ws->n = 0;
	for (uint32_t k = 0; k < r->write_count; k++)
		if (ws->n == 0 || write_cmp(&ws->w[ws->n - 1], &r->writes[k]) != 0)
			ws->w[ws->n++] = r->writes[k];
}

static bool wsets_meet(const struct xp_wset *a, const struct xp_wset *b)
{
	uint32_t i = 0, j = 0;
	while (i < a->n && j < b->n) {
		int c = write_cmp(&a->w[i], &b->w[j]);
		if (c == 0)
			return true;
		i += c < 0;
		j += c > 0;
	}
	return false;
}

static void resolve_rows(struct xp *x)
{
	struct oracle__ref *r = &x->c->ref;
	if (x->tables_resolved == r->table_count)
		return;
	for (uint32_t i = 0; i < x->row_count; i++)
		for (uint32_t t = 0; t < r->table_count && x->rows[i].tix < 0; t++)
			if (strcmp(r->tables[t], x->rows[i].d->table) == 0)
				x->rows[i].tix = (int)t;
	x->tables_resolved = r->table_count;
}

/* Reads the row of d on the reference as "_rowid_, *" (0 or 1 row). */
static void row_read(struct oracle__ref *r, const struct oracle__rowdiff *d,
		     struct oracle__result *out)
{
	struct oracle__buf b = { 0 };
	oracle__buf_printf(&b, "SELECT _rowid_, * FROM ");
	oracle__buf_ident(&b, d->table);
	oracle__buf_printf(&b, " WHERE _rowid_ = ?1");
	char *sql = oracle__buf_take(&b);
	sqlite3_stmt *st = NULL;
	oracle__result_reset(out);
	bool hook = r->hook_on;
	r->hook_on = false;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, d->rowid);
		if (sqlite3_step(st) == SQLITE_ROW)
			oracle__result_add_row(out, st);
	}
	sqlite3_finalize(st);
	r->hook_on = hook;
	free(sql);
}

static bool rows_same(const struct oracle__result *a,
		      const struct oracle__result *b)
{
	if (a->row_count != b->row_count)
		return false;
	if (a->row_count == 0)
		return true;
	return a->col_count == b->col_count &&
	       oracle__row_cmp(a->cells, b->cells, a->col_count) == 0;
}

static bool row_written(const struct oracle__ref *r, const struct xp_row *row)
{
	for (uint32_t k = 0; k < r->write_count; k++)
		if ((int)r->writes[k].table == row->tix &&
		    r->writes[k].rowid == row->d->rowid)
			return true;
	return false;
}

/* After step s (of txn) wrote: record each tracked row it touched. */
static void rows_note_writes(struct xp *x, uint32_t txn, uint32_t step)
{
	struct oracle__ref *r = &x->c->ref;
	resolve_rows(x);
	for (uint32_t i = 0; i < x->row_count; i++) {
		struct xp_row *row = &x->rows[i];
		if (row->tix < 0 || !row_written(r, row))
			continue;
		row->writers = wh_realloc(row->writers, (row->writer_count + 1) *
								sizeof *row->writers);
		struct xp_writer *w = &row->writers[row->writer_count++];
		w->txn = txn;
		w->step = step;
		/* The old current row becomes the writer's pre-image. */
		w->pre = row->cur;
		memset(&row->cur, 0, sizeof row->cur);
		row_read(r, row->d, &row->cur);
	}
}

/* Final reference: which unfinished writer reproduces a target row. */
static void rows_phantoms(struct xp *x)
{
	struct oracle__ctx *c = x->c;
	struct oracle__ref *r = &c->ref;
	uint32_t tried = 0;
	struct oracle__result now = { 0 };
	for (uint32_t i = c->h->txn_count; i-- > 0 && tried < XP_PHANTOM_MAX;) {
		const struct hist_txn *t = c->h->txns[i];
		if (t->stmt_count == 0 || c->txn_ro[i] ||
		    oracle__txn_happened(c, x->p, i))
			continue;
		bool open_rows = false;
		for (uint32_t k = 0; k < x->row_count; k++)
			open_rows |= x->rows[k].lost == ORACLE_NONE &&
				     x->rows[k].phantom == ORACLE_NONE;
		if (!open_rows)
			break;
		tried++;
		oracle__ref_save(r);
		r->write_count = 0;
		r->hook_on = true;
		r->applying = true; /* as if it had committed */
		(void)oracle__ref_exec(r, t, t->stmt_count, NULL);
		r->applying = false;
		r->hook_on = false;
		resolve_rows(x);
		for (uint32_t k = 0; k < x->row_count; k++) {
			struct xp_row *row = &x->rows[k];
			if (row->lost != ORACLE_NONE ||
			    row->phantom != ORACLE_NONE || row->tix < 0 ||
			    !row_written(r, row))
				continue;
			row_read(r, row->d, &now);
			if (rows_same(&now, &row->d->target))
				row->phantom = t->id;
		}
		oracle__ref_undo(r);
	}
	oracle__result_free(&now);
}

/* ------------------------------------------------------------------ */
/* The replay                                                           */
/* ------------------------------------------------------------------ */

static int visit_cmp(const void *a, const void *b)
{
	const struct xp_visit *x = a, *y = b;
	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->task < y->task ? -1 : x->task > y->task ? 1 : 0;
}

/* Lists every (position, task) probe: a deep task's range plus its best
 * position, a shallow task's best position only. */
static void visits_build(struct xp *x)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < x->task_count; i++) {
		const struct xp_task *k = &x->tasks[i];
		n += k->deep ? k->b - k->a + 2 : 1;
	}
	x->visits = wh_malloc((n + 1) * sizeof *x->visits);
	for (uint32_t i = 0; i < x->task_count; i++) {
		const struct xp_task *k = &x->tasks[i];
		uint32_t best = k->f->best_pos;
		if (k->deep)
			for (uint32_t pos = k->a; pos <= k->b; pos++)
				x->visits[x->visit_count++] = (struct xp_visit){ pos, i };
		if (!k->deep || best < k->a || best > k->b)
			x->visits[x->visit_count++] = (struct xp_visit){ best, i };
	}
	WH_ASSERT(x->visit_count <= n);
	qsort(x->visits, x->visit_count, sizeof *x->visits, visit_cmp);
}

/* At crash step pos: resume from the state the target recovered to, as
 * the sweep did; the tracked rows forget the writers the crash lost. */
static int explain_crash(struct xp *x, uint32_t pos)
{
	const struct oracle__crash_out *co = &x->o->crashes[x->p->steps[pos].crash];
	if (co->pos == pos)
		return 0;
	WH_ASSERT(co->pos < pos);
	if (oracle__crash_rebuild(x->c, x->p, x->o->crashes, pos) != 0)
		return -1;
	for (uint32_t i = 0; i < x->row_count; i++) {
		struct xp_row *row = &x->rows[i];
		while (row->writer_count > 0 &&
		       row->writers[row->writer_count - 1].step >= co->pos) {
			struct xp_writer *w = &row->writers[--row->writer_count];
			oracle__result_free(&w->pre);
		}
		row_read(&x->c->ref, row->d, &row->cur);
	}
	return 0;
}

static int explain_sweep(struct xp *x)
{
	struct oracle__ctx *c = x->c;
	struct oracle__ref *r = &c->ref;
	const struct oracle__plan *p = x->p;
	if (oracle__ref_open(r) != 0)
		return -1;
	for (uint32_t i = 0; i < x->row_count; i++)
		row_read(r, x->rows[i].d, &x->rows[i].cur);
	uint32_t vi = 0;
	for (uint32_t pos = 0; pos <= p->step_count; pos++) {
		for (; vi < x->visit_count && x->visits[vi].pos == pos; vi++)
			probe_task(x, &x->tasks[x->visits[vi].task], pos);
		if (pos == p->step_count)
			break;
		const struct oracle__step *st = &p->steps[pos];
		if (st->crash != ORACLE_NONE) {
			if (explain_crash(x, pos) != 0)
				return -1;
			continue;
		}
		if (st->noop)
			continue;
		bool record = x->tracked[pos] || x->row_count > 0;
		r->write_count = 0;
		r->hook_on = record;
		char *why = NULL;
		(void)oracle__ref_apply(r, c->h->txns[st->txn], &why);
		free(why);
		r->hook_on = false;
		if (x->tracked[pos])
			wset_take(r, &x->wsets[pos]);
		if (x->row_count > 0 && r->write_count > 0)
			rows_note_writes(x, st->txn, pos);
	}
	WH_ASSERT_EQ(vi, x->visit_count);
	for (uint32_t i = 0; i < x->row_count; i++) {
		struct xp_row *row = &x->rows[i];
		/* The last pre-image equal to the target names the first
		 * writer whose effect is missing. */
		for (uint32_t w = row->writer_count; w-- > 0;) {
			if (rows_same(&row->writers[w].pre, &row->d->target)) {
				row->lost = w;
				break;
			}
		}
	}
	rows_phantoms(x);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Analysis of a failing transaction                                    */
/* ------------------------------------------------------------------ */

/* The matching position of statement j nearest to the allowed window
 * (ties: the earlier one), or ORACLE_NONE. */
static uint32_t placed_at(const struct xp_task *k, uint32_t j)
{
	uint32_t best = ORACLE_NONE, best_d = UINT32_MAX;
	for (uint32_t pos = k->a; pos <= k->b; pos++) {
		if (!k->match[(size_t)(pos - k->a) * k->t->stmt_count + j])
			continue;
		uint32_t d = pos < k->lo ? k->lo - pos
			     : pos > k->hi ? pos - k->hi
					   : 0;
		if (d < best_d) {
			best_d = d;
			best = pos;
		}
	}
	return best;
}

static uint64_t digest_at(const struct xp_task *k, const struct xp_node *nd,
			  uint32_t j, uint32_t pos)
{
	return nd->digest[(size_t)(pos - k->a) * nd->n + j];
}

/* Edges of node u's statement j read at position q. */
static void read_edges(const struct xp_task *k, uint32_t u, uint32_t j,
		       uint32_t q, uint8_t *adj)
{
	const struct xp_node *nd = &k->nodes[u];
	uint32_t n = k->node_count;
	WH_ASSERT(q >= k->a && q <= k->b);
	for (uint32_t c = q; c-- > k->a;) {
		if (digest_at(k, nd, j, c) == digest_at(k, nd, j, c + 1))
			continue;
		uint32_t v = k->node_at[c - k->a];
		if (v == u || v == ORACLE_NONE)
			continue;
		adj[v * n + u] |= XP_WR;
		break;
	}
	for (uint32_t c = q; c < k->b; c++) {
		if (digest_at(k, nd, j, c) == digest_at(k, nd, j, c + 1))
			continue;
		uint32_t v = k->node_at[c - k->a];
		if (v == u || v == ORACLE_NONE)
			continue;
		adj[u * n + v] |= XP_RW;
		break;
	}
}

static const char *edge_label(uint8_t e)
{
	/* Prefer the strongest explanation: ww, then wr, then rw. */
	return (e & XP_WW) ? "ww" : (e & XP_WR) ? "wr" : "rw";
}

/* Finds a shortest cycle through node 0 (breadth-first, neighbours in
 * node order, so the choice is deterministic). Returns its length (0:
 * none), nodes in cyc[0..len) starting with 0, and in lab[i] the label of
 * edge cyc[i] -> cyc[i+1 mod len]. */
static uint32_t find_cycle(const struct xp_task *k, const uint8_t *adj,
			   uint32_t *cyc, uint8_t *lab)
{
	uint32_t n = k->node_count;
	uint32_t *prev = wh_malloc(n * sizeof *prev);
	uint32_t *queue = wh_malloc(n * sizeof *queue);
	for (uint32_t v = 0; v < n; v++)
		prev[v] = ORACLE_NONE;
	uint32_t head = 0, tail = 0, last = ORACLE_NONE;
	queue[tail++] = 0;
	prev[0] = 0;
	while (head < tail && last == ORACLE_NONE) {
		uint32_t u = queue[head++];
		if (u != 0 && adj[u * n] != 0) {
			last = u;
			break;
		}
		for (uint32_t v = 1; v < n; v++) {
			if (adj[u * n + v] == 0 || prev[v] != ORACLE_NONE)
				continue;
			prev[v] = u;
			queue[tail++] = v;
		}
	}
	uint32_t len = 0;
	if (last != ORACLE_NONE) {
		/* Walk back to 0, then reverse into cyc. */
		uint32_t path[XP_RANGE_MAX + 2];
		for (uint32_t v = last; v != 0; v = prev[v]) {
			WH_ASSERT(len < XP_RANGE_MAX + 1);
			path[len++] = v;
		}
		path[len++] = 0;
		for (uint32_t i = 0; i < len; i++)
			cyc[i] = path[len - 1 - i];
		for (uint32_t i = 0; i < len; i++) {
			uint8_t e = adj[cyc[i] * n + cyc[(i + 1) % len]];
			WH_ASSERT(e != 0);
			lab[i] = (e & XP_WW) ? XP_WW : (e & XP_WR) ? XP_WR : XP_RW;
		}
	}
	free(prev);
	free(queue);
	return len;
}

/* "observed X, the reference gives Y at position p" for the first
 * mismatching statement. */
static void describe_result(struct oracle__buf *b, int rc, int64_t changes,
			    bool dml, uint32_t cols, uint32_t rows,
			    const struct wh_value *cells)
{
	if (rc == ORACLE_SKIPPED) {
		oracle__buf_printf(b, "(not replayed)");
		return;
	}
	if ((rc & 0xff) != SQLITE_DONE && (rc & 0xff) != SQLITE_OK &&
	    (rc & 0xff) != SQLITE_ROW) {
		oracle__buf_printf(b, "error %s", sqlite3_errstr(rc));
		return;
	}
	if (rows > 0 || !dml)
		oracle__buf_rows(b, cells, cols, rows);
	if (dml)
		oracle__buf_printf(b, "%schanges %lld", rows > 0 ? " " : "",
				   (long long)changes);
}

/* "position 4 (state after T9)", across crash restores (crash.c). */
static void describe_position(struct oracle__buf *b, const struct xp *x,
			      uint32_t pos)
{
	oracle__buf_position(b, x->p, x->o->crashes, pos);
}

static void describe_mismatch(struct oracle__buf *b, const struct xp *x,
			      const struct xp_task *k)
{
	const struct oracle__ref *r = &x->c->ref;
	const struct hist_txn *t = k->t;
	const struct oracle__failure *f = k->f;
	oracle__buf_txn(b, t);
	if (f->anchored)
		oracle__buf_printf(b, " does not match at its commit ");
	else
		oracle__buf_printf(b, " matches no position in its window %u..%u; the longest matching prefix is at ",
				   k->lo, k->hi);
	describe_position(b, x, f->best_pos);
	if (f->best_stmt >= t->stmt_count) {
		oracle__buf_printf(b, ": its COMMIT fails on the reference: %s",
				   f->why ? f->why : "?");
		return;
	}
	const struct hist_stmt *s = &t->stmts[f->best_stmt];
	bool dml = oracle__stmt_dml(r, t, f->best_stmt);
	oracle__buf_printf(b, ": ");
	oracle__buf_stmt(b, t, f->best_stmt);
	oracle__buf_printf(b, " observed ");
	describe_result(b, s->rc, s->changes, dml, s->col_count, s->row_count,
			s->cells);
	oracle__buf_printf(b, " but the reference gives ");
	if (k->have_expected)
		describe_result(b, k->expected.rc, k->expected.changes, dml,
				k->expected.col_count, k->expected.row_count,
				k->expected.cells);
	else
		oracle__buf_printf(b, "(not captured)");
}

static void describe_cycle(struct oracle__buf *b, const struct xp_task *k,
			   const uint32_t *cyc, const uint8_t *lab,
			   uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		oracle__buf_printf(b, "T%u -%s-> ", k->nodes[cyc[i]].txn,
				   edge_label(lab[i]));
	oracle__buf_printf(b, "T%u", k->nodes[cyc[0]].txn);
}

/* Where the observed result of the first mismatching statement comes
 * from, when a committed state gives it. */
static void describe_source(struct oracle__buf *b, const struct xp *x,
			    const struct xp_task *k)
{
	if (!k->deep || k->f->best_stmt >= k->t->stmt_count)
		return;
	uint32_t q = placed_at(k, k->f->best_stmt);
	if (q == ORACLE_NONE) {
		oracle__buf_printf(b, "; that result matches no state at positions %u..%u, nor any write of the %u overlapping transactions tried",
				   k->a, k->b, k->cand_count);
		return;
	}
	oracle__buf_printf(b, "; that result is what the state at ");
	describe_position(b, x, q);
	oracle__buf_printf(b, " gives");
	/* The last step before q that changed this statement's result wrote
	 * the value it observed. */
	const struct xp_node *nd = &k->nodes[0];
	uint32_t j = k->f->best_stmt;
	for (uint32_t c = q; j < nd->n && c-- > k->a;) {
		if (digest_at(k, nd, j, c) != digest_at(k, nd, j, c + 1)) {
			oracle__buf_printf(b, ", as written by ");
			oracle__buf_txn(b, x->c->h->txns[x->p->steps[c].txn]);
			return;
		}
	}
	if (k->a == 0)
		oracle__buf_printf(b, ", as set up before any transaction");
}

/* A violation being written: its kind, its text and the transactions it
 * names. */
struct xp_finding {
	const char *kind;
	struct oracle__buf b;
	uint32_t txns[XP_RANGE_MAX + 2];
	uint32_t txn_count;
};

/* The dependency edges among the task's nodes: read edges from where
 * each compared statement's result changes (T's statements read where
 * they matched, a node's at its step), and ww edges between steps whose
 * write sets meet. A new n x n matrix (free it). */
static uint8_t *task_edges(const struct xp *x, const struct xp_task *k)
{
	const struct history *h = x->c->h;
	const struct hist_txn *t = k->t;
	uint32_t n = k->node_count;
	uint8_t *adj = wh_calloc((size_t)n * n, 1);
	/* Results that are not compared (environmental ones, such as page
	 * counts) change with every write: no edges. */
	for (uint32_t j = 0; j < t->stmt_count && j < k->nodes[0].n; j++)
		if (oracle__stmt_compared(t, j))
			read_edges(k, 0, j, placed_at(k, j), adj);
	for (uint32_t u = 1; u < n; u++) {
		const struct hist_txn *y = h->txns[k->nodes[u].txn];
		for (uint32_t j = 0; j < k->nodes[u].n; j++)
			if (oracle__stmt_compared(y, j))
				read_edges(k, u, j, k->nodes[u].step, adj);
	}
	for (uint32_t u = 0; u < n; u++) {
		for (uint32_t v = 0; v < n; v++) {
			uint32_t su = k->nodes[u].step, sv = k->nodes[v].step;
			if (u == v || su == ORACLE_NONE || sv == ORACLE_NONE || su >= sv)
				continue;
			if (wsets_meet(&x->wsets[su], &x->wsets[sv]))
				adj[u * n + v] |= XP_WW;
		}
	}
	return adj;
}

/* A shortest dependency cycle through T, when every compared statement
 * of T matches some committed state (T saw committed data, only not all
 * from one state); its length, 0 when there is none or T does not
 * qualify. */
static uint32_t task_cycle(const struct xp *x, const struct xp_task *k, uint32_t *cyc,
			   uint8_t *lab)
{
	bool placed = k->deep;
	for (uint32_t j = 0; k->deep && j < k->t->stmt_count && placed; j++)
		placed = !oracle__stmt_compared(k->t, j) || placed_at(k, j) != ORACLE_NONE;
	if (!placed)
		return 0;
	uint8_t *adj = task_edges(x, k);
	uint32_t len = find_cycle(k, adj, cyc, lab);
	free(adj);
	return len;
}

/* stale_schema_error: T failed with an SQL error on an object that
 * exists at every allowed position where it ran. */
static void explain_stale_schema(const struct xp *x, const struct xp_task *k,
				 struct xp_finding *fd)
{
	const struct hist_txn *t = k->t;
	fd->kind = "stale_schema_error";
	fd->txns[fd->txn_count++] = t->id;
	oracle__buf_printf(&fd->b, "stale schema: ");
	oracle__buf_stmt(&fd->b, t, k->f->best_stmt);
	oracle__buf_printf(&fd->b, " of T%u failed with an SQL error although %s exists in the reference at every allowed position where it ran (%u..%u, %u compared): the statement failed on a schema its connection had cached, not on the database (a stale schema whose check could not take a read lock gives \"no such table\"). ",
			   t->id, k->schema_name, k->schema_first, k->schema_last,
			   k->schema_checked);
	describe_mismatch(&fd->b, x, k);
}

/* A cycle through T, named by its edges: lost_update, write_skew,
 * read_skew or (no rw edge) dirty_read. */
static void explain_cycle(const struct xp *x, const struct xp_task *k, const uint32_t *cyc,
			  const uint8_t *lab, uint32_t len, struct xp_finding *fd)
{
	const struct hist_txn *t = k->t;
	uint32_t rw = 0, ww = 0;
	for (uint32_t i = 0; i < len; i++) {
		rw += lab[i] == XP_RW;
		ww += lab[i] == XP_WW;
		fd->txns[fd->txn_count++] = k->nodes[cyc[i]].txn;
	}
	if (len == 2 && rw == 1 && ww == 1) {
		fd->kind = "lost_update";
		oracle__buf_printf(&fd->b, "lost update: one of them read a row the other then wrote, and wrote it too, unaware of the other's write; cycle ");
	} else if (rw >= 2) {
		fd->kind = "write_skew";
		oracle__buf_printf(&fd->b, "write skew (G2, anti-dependency cycle): each read what another then changed; cycle ");
	} else if (rw == 1) {
		fd->kind = "read_skew";
		oracle__buf_printf(&fd->b, "read skew (G-single): T%u saw some effects of a transaction but not others; cycle ",
				   t->id);
	} else {
		fd->kind = "dirty_read";
		oracle__buf_printf(&fd->b, "dirty read (G1c, circular information flow): T%u saw a write that committed after it; cycle ",
				   t->id);
	}
	describe_cycle(&fd->b, k, cyc, lab, len);
	oracle__buf_printf(&fd->b, ". ");
	describe_mismatch(&fd->b, x, k);
}

/* T's reads are reproduced by a prefix of another transaction O's
 * writes: aborted_read, intermediate_read or dirty_read, by what became
 * of O and how much of it T saw. */
static void explain_dirty(const struct xp *x, const struct xp_task *k, struct xp_finding *fd)
{
	const struct hist_txn *t = k->t;
	const struct hist_txn *o = x->c->h->txns[k->dirty_txn];
	bool happened = oracle__txn_happened(x->c, x->p, o->id);
	uint32_t n = o->stmt_count < XP_STMTS_MAX ? o->stmt_count : XP_STMTS_MAX;
	fd->txns[fd->txn_count++] = t->id;
	fd->txns[fd->txn_count++] = o->id;
	if (!happened && o->outcome != HIST_RUNNING) {
		fd->kind = "aborted_read";
		oracle__buf_printf(&fd->b, "aborted read (G1a): T%u observed writes of T%u, which never committed",
				   t->id, o->id);
	} else if (!happened) {
		fd->kind = "dirty_read";
		oracle__buf_printf(&fd->b, "dirty read: T%u observed writes of T%u, which was still running and never committed",
				   t->id, o->id);
	} else if (k->dirty_prefix < n && k->dirty_overwritten) {
		fd->kind = "intermediate_read";
		oracle__buf_printf(&fd->b, "intermediate read (G1b): T%u observed a non-final write of T%u (one its later statements overwrote)",
				   t->id, o->id);
	} else if (k->dirty_prefix < n) {
		fd->kind = "dirty_read";
		oracle__buf_printf(&fd->b, "dirty read: T%u observed part of the writes of T%u while T%u was in progress (it committed later)",
				   t->id, o->id, o->id);
	} else {
		fd->kind = "dirty_read";
		oracle__buf_printf(&fd->b, "dirty read: T%u observed writes of T%u before T%u committed",
				   t->id, o->id, o->id);
	}
	oracle__buf_printf(&fd->b, " (reproduced by applying the first %u of its statements at ",
			   k->dirty_prefix);
	describe_position(&fd->b, x, k->dirty_pos);
	oracle__buf_printf(&fd->b, ": ");
	oracle__buf_txn(&fd->b, o);
	oracle__buf_printf(&fd->b, "). ");
	describe_mismatch(&fd->b, x, k);
}

/* One violation for a failing transaction, the first explanation that
 * holds: a stale schema, a dependency cycle, a dirty read, else a
 * read_mismatch with where the observed result comes from. */
static void explain_task(struct xp *x, struct xp_task *k)
{
	struct xp_finding fd = { .kind = "read_mismatch" };
	uint32_t cyc[XP_RANGE_MAX + 2];
	uint8_t lab[XP_RANGE_MAX + 2];
	uint32_t len = task_cycle(x, k, cyc, lab);
	if (k->schema_candidate && k->schema_checked > 0 &&
	    k->schema_found == k->schema_checked) {
		explain_stale_schema(x, k, &fd);
	} else if (len > 0) {
		explain_cycle(x, k, cyc, lab, len, &fd);
	} else if (k->dirty_found) {
		explain_dirty(x, k, &fd);
	} else {
		fd.txns[fd.txn_count++] = k->t->id;
		oracle__buf_printf(&fd.b, "read mismatch: ");
		describe_mismatch(&fd.b, x, k);
		describe_source(&fd.b, x, k);
		if (!k->deep)
			oracle__buf_printf(&fd.b, " (not explained further: explanation budget spent)");
	}
	oracle__report_add(x->c, fd.kind, oracle__buf_take(&fd.b), fd.txns, fd.txn_count);
}

/* ------------------------------------------------------------------ */
/* Final rows                                                           */
/* ------------------------------------------------------------------ */

static void describe_row(struct oracle__buf *b, const struct oracle__result *r)
{
	if (r->row_count == 0)
		oracle__buf_printf(b, "no row");
	else
		oracle__buf_row(b, r->cells, r->col_count);
}

/* Groups row findings: one violation per (kind, key txn) or per table. */
struct xp_group {
	const char *kind;
	uint32_t key;                 /* key txn, or ORACLE_NONE */
	const char *table;            /* for final_state */
	struct oracle__buf b;
	uint32_t *txns;
	uint32_t txn_count;
	uint32_t rows;
};

/* The groups, in order of first appearance. */
struct xp_groups {
	struct xp_group *v;
	uint32_t count;
};

static struct xp_group *group_get(struct xp_groups *gs, const char *kind, uint32_t key,
				  const char *table)
{
	for (uint32_t i = 0; i < gs->count; i++) {
		struct xp_group *g = &gs->v[i];
		if (strcmp(g->kind, kind) == 0 && g->key == key &&
		    (table == NULL || strcmp(g->table, table) == 0))
			return g;
	}
	gs->v = wh_realloc(gs->v, (gs->count + 1) * sizeof *gs->v);
	struct xp_group *g = &gs->v[gs->count++];
	memset(g, 0, sizeof *g);
	g->kind = kind;
	g->key = key;
	g->table = table;
	return g;
}

static void group_txn(struct xp_group *g, uint32_t txn)
{
	g->txns = wh_realloc(g->txns, (g->txn_count + 1) * sizeof *g->txns);
	g->txns[g->txn_count++] = txn;
}

/* A row that holds its value from before committed writer row->lost
 * wrote it: lost_commit of that writer (and of the later ones, a few
 * named). */
static void row_lost(const struct xp *x, const struct xp_row *row, struct xp_groups *gs)
{
	const struct oracle__rowdiff *d = row->d;
	uint32_t first = row->writers[row->lost].txn;
	struct xp_group *g = group_get(gs, "lost_commit", first, NULL);
	if (g->rows == 0) {
		oracle__buf_txn(&g->b, x->c->h->txns[first]);
		oracle__buf_printf(&g->b, " committed, but its effects are missing from the final state:");
		group_txn(g, first);
	}
	oracle__buf_printf(&g->b, "%s table %s rowid %lld is ", g->rows ? ";" : "", d->table,
			   (long long)d->rowid);
	describe_row(&g->b, &d->target);
	oracle__buf_printf(&g->b, " on the target, its value before T%u wrote it; the reference has ",
			   first);
	describe_row(&g->b, &d->ref);
	uint32_t later = row->writer_count - row->lost - 1;
	if (later > 0) {
		oracle__buf_printf(&g->b, " (later writers lost as well:");
		for (uint32_t w = row->lost + 1;
		     w < row->writer_count && w <= row->lost + XP_CHAIN_SHOWN; w++) {
			oracle__buf_printf(&g->b, " T%u", row->writers[w].txn);
			group_txn(g, row->writers[w].txn);
		}
		oracle__buf_printf(&g->b, "%s)", later > XP_CHAIN_SHOWN ? " ..." : "");
	}
	g->rows++;
}

/* A row that an unfinished or aborted transaction's statements
 * reproduce: phantom_commit of it. */
static void row_phantom(const struct xp *x, const struct xp_row *row, struct xp_groups *gs)
{
	const struct oracle__rowdiff *d = row->d;
	struct xp_group *g = group_get(gs, "phantom_commit", row->phantom, NULL);
	if (g->rows == 0) {
		oracle__buf_txn(&g->b, x->c->h->txns[row->phantom]);
		oracle__buf_printf(&g->b, " never committed, but its effects are in the final state:");
		group_txn(g, row->phantom);
	}
	oracle__buf_printf(&g->b, "%s table %s rowid %lld is ", g->rows ? ";" : "", d->table,
			   (long long)d->rowid);
	describe_row(&g->b, &d->target);
	oracle__buf_printf(&g->b, " on the target, as T%u's statements produce it; the reference has ",
			   row->phantom);
	describe_row(&g->b, &d->ref);
	g->rows++;
}

/* Any other differing row: final_state, per table, the first three rows
 * shown with their last writer. */
static void row_final(const struct xp_row *row, struct xp_groups *gs)
{
	const struct oracle__rowdiff *d = row->d;
	struct xp_group *g = group_get(gs, "final_state", ORACLE_NONE, d->table);
	if (g->rows == 0)
		oracle__buf_printf(&g->b, "table %s differs from the reference:", d->table);
	if (g->rows < 3) {
		oracle__buf_printf(&g->b, "%s rowid %lld: target ", g->rows ? ";" : "",
				   (long long)d->rowid);
		describe_row(&g->b, &d->target);
		oracle__buf_printf(&g->b, ", reference ");
		describe_row(&g->b, &d->ref);
		if (row->writer_count > 0) {
			uint32_t w = row->writers[row->writer_count - 1].txn;
			oracle__buf_printf(&g->b, " (last written by T%u)", w);
			group_txn(g, w);
		}
	}
	g->rows++;
}

static void explain_rows(struct xp *x)
{
	struct xp_groups gs = { 0 };
	for (uint32_t i = 0; i < x->row_count; i++) {
		const struct xp_row *row = &x->rows[i];
		if (row->lost != ORACLE_NONE)
			row_lost(x, row, &gs);
		else if (row->phantom != ORACLE_NONE)
			row_phantom(x, row, &gs);
		else
			row_final(row, &gs);
	}
	for (uint32_t i = 0; i < gs.count; i++) {
		struct xp_group *g = &gs.v[i];
		if (strcmp(g->kind, "final_state") == 0 && g->rows > 3)
			oracle__buf_printf(&g->b, "; %u rows differ in all", g->rows);
		oracle__report_add(x->c, g->kind, oracle__buf_take(&g->b), g->txns,
				   g->txn_count);
		free(g->txns);
	}
	free(gs.v);
}

/* ------------------------------------------------------------------ */
/* Entry point                                                          */
/* ------------------------------------------------------------------ */

int oracle__explain(struct oracle__ctx *c, const struct oracle__plan *p,
		    const struct oracle__outcome *o)
{
	struct xp x = { .c = c, .p = p, .o = o };
	x.tracked = wh_calloc(p->step_count + 1, sizeof *x.tracked);
	x.wsets = wh_calloc(p->step_count + 1, sizeof *x.wsets);
	x.tasks = wh_calloc(o->failure_count + 1, sizeof *x.tasks);
	for (uint32_t i = 0; i < o->failure_count; i++)
		task_init(&x, &x.tasks[x.task_count++], &o->failures[i],
			  i < XP_DEEP_MAX);
	x.rows = wh_calloc(o->final.row_count + 1, sizeof *x.rows);
	for (uint32_t i = 0; i < o->final.row_count; i++) {
		x.rows[x.row_count++] = (struct xp_row){
			.d = &o->final.rows[i],
			.tix = -1,
			.lost = ORACLE_NONE,
			.phantom = ORACLE_NONE,
		};
	}

	visits_build(&x);
	int rc = explain_sweep(&x);
	if (rc == 0) {
		for (uint32_t i = 0; i < x.task_count; i++)
			explain_task(&x, &x.tasks[i]);
		explain_rows(&x);
		for (uint32_t i = 0; i < o->final.text_count; i++)
			oracle__report_add(c, "final_state",
					   wh_strdup(o->final.texts[i]), NULL, 0);
	}

	for (uint32_t i = 0; i < x.task_count; i++)
		task_free(&x.tasks[i]);
	free(x.tasks);
	free(x.visits);
	for (uint32_t s = 0; s < p->step_count; s++)
		free(x.wsets[s].w);
	free(x.wsets);
	free(x.tracked);
	for (uint32_t i = 0; i < x.row_count; i++) {
		oracle__result_free(&x.rows[i].cur);
		for (uint32_t w = 0; w < x.rows[i].writer_count; w++)
			oracle__result_free(&x.rows[i].writers[w].pre);
		free(x.rows[i].writers);
	}
	free(x.rows);
	if (rc != 0 && c->report->note == NULL)
		c->report->note = wh_strdup(c->ref.error);
	return rc;
}
