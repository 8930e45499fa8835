/*
 * crash.c - durability: what a crash or a clean reopen may lose, and
 * whether the recovered database kept it.
 *
 * The driver records, for every crash, a digest of the database as a new
 * process recovered it (oracle_digest, defined here). The oracle computes
 * the same digest of its reference at the states the target could have
 * recovered to and picks the one that matches:
 *
 *   - Candidates are the positions of the crash's epoch, from its first
 *     state (what the previous crash recovered to) to the state with
 *     every step before the crash. Positions with the same state version
 *     share one digest. The search goes by levels, each a sweep of its
 *     own, run only while a crash is left unmatched: level 0 compares what
 *     the promise allows (for a reopen, ALL or NONE the states after the
 *     epoch's last committed writer, i.e. the trailing indeterminate
 *     writers either way; for PREFIX the last ORACLE_CRASH_QUICK_STATES
 *     states); level 1 the last ORACLE_CRASH_STATES_MID states and the
 *     epoch's first; level 2 the last ORACLE_CRASH_STATES_MAX and, at the
 *     crash, the aborted or unfinished writers of the epoch, each applied
 *     (as prefixes ending in a write) on top of the pre-crash state, as
 *     the source of a phantom. So an honest run costs a digest or two per
 *     crash, and a lossier one pays in proportion to what it lost.
 *   - The latest matching position wins (fewest commits lost). When none
 *     matches, the replay resumes from the pre-crash state, as if nothing
 *     had been lost, so that later checks see what was promised.
 *   - Resuming from an earlier position rebuilds the reference from the
 *     setup (oracle__crash_rebuild), leaving out the lost steps of every
 *     crash so far. It costs one replay without checks per lossy crash;
 *     no snapshots are kept, so memory does not grow with the history.
 *
 * Verdicts (oracle__crash_report), for the plan the search settled on:
 *   recovery_failed   the recovered database could not be opened or read
 *                     (recovered_rc);
 *   lost_commit       it equals a state that lacks committed writers the
 *                     promise required (reopen, ALL and NONE require every
 *                     commit of the epoch; PREFIX any prefix). The lost
 *                     committed transactions are named;
 *   phantom_commit    it equals the pre-crash state plus statements of a
 *                     transaction that never committed;
 *   recovery_state    it equals no state compared, and no phantom
 *                     explains it.
 * Commits lost where the promise allows it (PREFIX) are listed in the
 * report's lost_txns and note, not as violations. Which violations are
 * expected (NONE after a power loss, bit flips) is decided in oracle.c.
 *
 * The digest is SipHash-2-4 (fixed key) over a tagged stream: schema
 * entries, then per table its name and every row (rowid first) with each
 * value's type tag, length and bytes. Tags and lengths keep different
 * contents from forming the same stream; ordering by name, rowid or all
 * columns keeps it independent of insertion order and page layout. The
 * reference's digests (oracle__ref_digest) produce the same stream from
 * statements kept on the reference, since preparing them would cost more
 * than reading a small database.
 */
#include <stdlib.h>
#include <string.h>

#include "oracle_int.h"

/* ------------------------------------------------------------------ */
/* The hash                                                             */
/* ------------------------------------------------------------------ */

struct digest_hash {
	uint64_t v0, v1, v2, v3;   /* SipHash state */
	uint64_t tail;             /* pending bytes, little-endian */
	uint32_t tail_len;         /* 0..7 pending bytes */
	uint64_t total;            /* bytes absorbed */
};

static uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sip_round(struct digest_hash *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

static void hash_init(struct digest_hash *s)
{
	/* A fixed key: the digest must be the same in every process. */
	const uint64_t k0 = 0x77686f707065722dull, k1 = 0x6469676573742d31ull;
	memset(s, 0, sizeof *s);
	s->v0 = k0 ^ 0x736f6d6570736575ull;
	s->v1 = k1 ^ 0x646f72616e646f6dull;
	s->v2 = k0 ^ 0x6c7967656e657261ull;
	s->v3 = k1 ^ 0x7465646279746573ull;
}

static void hash_word(struct digest_hash *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

static void hash_bytes(struct digest_hash *s, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t k = 0; k < n; k++) {
		s->tail |= (uint64_t)c[k] << (8 * s->tail_len);
		if (++s->tail_len == 8) {
			hash_word(s, s->tail);
			s->tail = 0;
			s->tail_len = 0;
		}
	}
	s->total += n;
}

static void hash_u8(struct digest_hash *s, unsigned char v)
{
	hash_bytes(s, &v, 1);
}

static void hash_u64(struct digest_hash *s, uint64_t v)
{
	unsigned char le[8];
	for (int k = 0; k < 8; k++)
		le[k] = (unsigned char)(v >> (8 * k));
	hash_bytes(s, le, sizeof le);
}

static uint64_t hash_final(struct digest_hash *s)
{
	WH_ASSERT(s->tail_len < 8);
	uint64_t b = (s->total << 56) | s->tail;
	s->v3 ^= b;
	sip_round(s);
	sip_round(s);
	s->v0 ^= b;
	s->v2 ^= 0xff;
	for (int k = 0; k < 4; k++)
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* Folds column i of the current row: a type tag, then the value (text
 * and blobs with their length first). */
static void hash_column(struct digest_hash *s, sqlite3_stmt *st, int i)
{
	int type = sqlite3_column_type(st, i);
	switch (type) {
	case SQLITE_INTEGER:
		hash_u8(s, 'i');
		hash_u64(s, (uint64_t)sqlite3_column_int64(st, i));
		return;
	case SQLITE_FLOAT: {
		double f = sqlite3_column_double(st, i);
		uint64_t bits;
		_Static_assert(sizeof bits == sizeof f, "double is 64 bits");
		memcpy(&bits, &f, sizeof bits);
		hash_u8(s, 'f');
		hash_u64(s, bits);
		return;
	}
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *p = type == SQLITE_TEXT
					? (const void *)sqlite3_column_text(st, i)
					: sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);
		WH_ASSERT(n >= 0);
		hash_u8(s, type == SQLITE_TEXT ? 't' : 'b');
		hash_u64(s, (uint64_t)n);
		if (n > 0)
			hash_bytes(s, p, (size_t)n);
		return;
	}
	case SQLITE_NULL:
		hash_u8(s, 'n');
		return;
	}
	WH_UNREACHABLE();
}

/* Folds every row of st (each row tagged, with its width; then the row
 * count), leaving st reset. Returns SQLITE_OK or the error. */
static int hash_stmt(struct digest_hash *s, sqlite3_stmt *st)
{
	uint64_t rows = 0;
	int cols = sqlite3_column_count(st);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		hash_u8(s, 'R');
		hash_u64(s, (uint64_t)cols);
		for (int i = 0; i < cols; i++)
			hash_column(s, st, i);
		rows++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return rc;
	hash_u8(s, 'E');
	hash_u64(s, rows);
	return SQLITE_OK;
}

/* ------------------------------------------------------------------ */
/* Public: digest and durability                                        */
/* ------------------------------------------------------------------ */

static const char digest_schema_sql[] =
	"SELECT type, name, tbl_name, sql FROM sqlite_schema"
	" WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name, type";
static const char digest_tables_sql[] =
	"SELECT name, type, wr, ncol FROM pragma_table_list"
	" WHERE schema = 'main' AND type IN ('table', 'shadow', 'virtual')"
	" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";

/* The rows of one table, in an order that depends on content only. */
static char *table_query(const char *name, bool without_rowid, int ncol)
{
	struct oracle__buf b = { 0 };
	if (!without_rowid) {
		oracle__buf_printf(&b, "SELECT _rowid_, * FROM ");
		oracle__buf_ident(&b, name);
		oracle__buf_printf(&b, " ORDER BY _rowid_");
		return oracle__buf_take(&b);
	}
	/* No rowid: the primary key is among the columns, so ordering by
	 * all of them is a total order (ties would be one row). */
	oracle__buf_printf(&b, "SELECT * FROM ");
	oracle__buf_ident(&b, name);
	for (int k = 1; k <= ncol; k++)
		oracle__buf_printf(&b, "%s%d", k == 1 ? " ORDER BY " : ", ", k);
	return oracle__buf_take(&b);
}

/* A prepared statement for sql: from the cache when there is one (kept,
 * reset after use), else fresh (the caller finalizes it). */
static int digest_prepare(sqlite3 *db, struct oracle__digest_cache *dc,
			  sqlite3_stmt **slot, const char *sql,
			  sqlite3_stmt **out)
{
	if (dc != NULL && *slot != NULL) {
		*out = *slot;
		return SQLITE_OK;
	}
	int rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
	if (rc == SQLITE_OK && dc != NULL)
		*slot = *out;
	return rc;
}

/* The cached statement of a table, made when first needed (or when its
 * shape changed). */
static int digest_table_stmt(sqlite3 *db, struct oracle__digest_cache *dc,
			     const char *name, bool wr, int ncol,
			     sqlite3_stmt **out)
{
	struct oracle__digest_table *t = NULL;
	for (uint32_t k = 0; k < dc->table_count && t == NULL; k++)
		if (strcmp(dc->tables[k].name, name) == 0)
			t = &dc->tables[k];
	if (t != NULL && (t->wr != wr || t->ncol != ncol)) {
		sqlite3_finalize(t->st);
		t->st = NULL;
	}
	if (t == NULL) {
		WH_ASSERT(dc->table_count < UINT32_MAX / 2);
		dc->tables = wh_realloc(dc->tables, (dc->table_count + 1) *
							    sizeof *dc->tables);
		t = &dc->tables[dc->table_count++];
		*t = (struct oracle__digest_table){ .name = wh_strdup(name) };
	}
	t->wr = wr;
	t->ncol = ncol;
	if (t->st == NULL) {
		char *sql = table_query(name, wr, ncol);
		int rc = sqlite3_prepare_v2(db, sql, -1, &t->st, NULL);
		free(sql);
		if (rc != SQLITE_OK)
			return rc;
	}
	*out = t->st;
	return SQLITE_OK;
}

/* Folds the schema, then every table, into s. dc: statement cache or
 * NULL. */
static int digest_tables(struct digest_hash *s, sqlite3 *db,
			 struct oracle__digest_cache *dc)
{
	sqlite3_stmt *schema = NULL, *tables = NULL;
	hash_u8(s, 'S');
	int rc = digest_prepare(db, dc, dc ? &dc->schema : NULL,
				digest_schema_sql, &schema);
	if (rc == SQLITE_OK)
		rc = hash_stmt(s, schema);
	if (dc == NULL)
		sqlite3_finalize(schema);
	if (rc != SQLITE_OK)
		return rc;
	rc = digest_prepare(db, dc, dc ? &dc->tables_list : NULL,
			    digest_tables_sql, &tables);
	if (rc != SQLITE_OK)
		return rc;
	while (rc == SQLITE_OK && (rc = sqlite3_step(tables)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(tables, 0);
		const char *type = (const char *)sqlite3_column_text(tables, 1);
		WH_ASSERT(name != NULL && type != NULL);
		hash_u8(s, 'T');
		hash_column(s, tables, 0);
		rc = SQLITE_OK;
		/* A virtual table's content lives in its shadow tables, which
		 * are digested as tables; reading it would need its module. */
		if (strcmp(type, "virtual") == 0)
			continue;
		bool wr = sqlite3_column_int(tables, 2) != 0;
		int ncol = sqlite3_column_int(tables, 3);
		sqlite3_stmt *rows = NULL;
		if (dc != NULL) {
			rc = digest_table_stmt(db, dc, name, wr, ncol, &rows);
		} else {
			char *sql = table_query(name, wr, ncol);
			rc = sqlite3_prepare_v2(db, sql, -1, &rows, NULL);
			free(sql);
		}
		if (rc == SQLITE_OK)
			rc = hash_stmt(s, rows);
		if (dc == NULL)
			sqlite3_finalize(rows);
	}
	sqlite3_reset(tables);
	if (dc == NULL)
		sqlite3_finalize(tables);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int oracle_digest(sqlite3 *db, uint64_t *out)
{
	WH_ASSERT(db != NULL);
	WH_ASSERT(out != NULL);
	*out = 0;
	/* One read transaction, so the digest is of one snapshot. */
	bool own = sqlite3_get_autocommit(db) != 0;
	int rc = own ? sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) : SQLITE_OK;
	if (rc != SQLITE_OK)
		return rc;
	struct digest_hash s;
	hash_init(&s);
	rc = digest_tables(&s, db, NULL);
	if (own && !sqlite3_get_autocommit(db)) {
		int crc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (crc != SQLITE_OK)
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = crc;
	}
	if (rc == SQLITE_OK)
		*out = hash_final(&s);
	return rc;
}

int oracle__ref_digest(struct oracle__ref *r, uint64_t *out)
{
	WH_ASSERT(r->db != NULL);
	WH_ASSERT(out != NULL);
	/* The same stream as oracle_digest, with statements kept across
	 * calls: preparing dominates the cost of a small database, and the
	 * sweep digests many states. No read transaction of its own: the
	 * reference has one connection and nothing else writes to it. */
	struct digest_hash s;
	hash_init(&s);
	int rc = digest_tables(&s, r->db, &r->digests);
	*out = rc == SQLITE_OK ? hash_final(&s) : 0;
	return rc;
}

void oracle__digest_cache_free(struct oracle__digest_cache *dc)
{
	sqlite3_finalize(dc->schema);
	sqlite3_finalize(dc->tables_list);
	for (uint32_t k = 0; k < dc->table_count; k++) {
		sqlite3_finalize(dc->tables[k].st);
		free(dc->tables[k].name);
	}
	free(dc->tables);
	memset(dc, 0, sizeof *dc);
}

enum oracle_durability oracle_durability_for(const char *journal_mode,
					     const char *synchronous)
{
	/* NULL means SQLite's defaults: DELETE and FULL. An unknown level
	 * is read as the default FULL, the strictest promise, so that a
	 * misspelling cannot quietly switch the check off. FULL in DELETE
	 * mode counts as ALL although SQLite documents that only EXTRA syncs
	 * the directory after unlinking the journal: the simulated VFS makes
	 * a deletion durable at once (it models no directory entries), so
	 * the difference cannot show yet. When it does, DELETE with FULL
	 * becomes PREFIX (the last commit may roll back). */
	const char *jm = journal_mode != NULL ? journal_mode : "delete";
	const char *sy = synchronous != NULL ? synchronous : "full";
	bool wal = sqlite3_stricmp(jm, "wal") == 0;
	/* MEMORY: a commit syncs the database file before it lets the lock
	 * go, as in the other rollback modes, so a power loss while nobody
	 * writes keeps every acknowledged commit (at the level's promise).
	 * One that cuts a writer finds nothing on disk to undo its partial
	 * writes with: that is the history's unsafe point, which labels what
	 * follows journal-memory-unsafe (report_finish), not a weaker promise
	 * here. OFF promises nothing whatever the sync level: with no journal
	 * at all, even a ROLLBACK or a failed statement may leave changes
	 * behind, and the driver marks no unsafe point for those. */
	if (sqlite3_stricmp(jm, "off") == 0)
		return ORACLE_DURABLE_NONE;
	if (sqlite3_stricmp(sy, "off") == 0 || strcmp(sy, "0") == 0)
		return ORACLE_DURABLE_NONE;
	if (sqlite3_stricmp(sy, "normal") == 0 || strcmp(sy, "1") == 0)
		return wal ? ORACLE_DURABLE_PREFIX : ORACLE_DURABLE_NONE;
	return ORACLE_DURABLE_ALL;
}

/* ------------------------------------------------------------------ */
/* The search                                                           */
/* ------------------------------------------------------------------ */

/* The position from which the last `states` state-changing steps before
 * the crash step of e start (at least the epoch's first). */
static uint32_t last_states(const struct oracle__ctx *c,
			    const struct oracle__plan *p, uint32_t e,
			    uint32_t states)
{
	uint32_t first = oracle__epoch_first(c, e);
	uint32_t k = c->crash_step[e], seen = 0;
	while (k > first && seen < states) {
		k--;
		seen += !p->steps[k].noop;
	}
	if (seen == states)
		while (k > first && p->steps[k - 1].noop)
			k--; /* same state as k */
	return k;
}

static bool crash_requires_all(const struct oracle__ctx *c, uint32_t e)
{
	return c->h->crashes[e].kind == HIST_CRASH_REOPEN ||
	       c->cfg->durability != ORACLE_DURABLE_PREFIX;
}

void oracle__crash_search_begin(const struct oracle__ctx *c,
				const struct oracle__plan *p, uint32_t e,
				uint32_t level, struct oracle__crash_search *cs)
{
	static const uint32_t level_states[ORACLE_CRASH_LEVELS] = {
		0, ORACLE_CRASH_STATES_MID, ORACLE_CRASH_STATES_MAX
	};
	WH_ASSERT(level < ORACLE_CRASH_LEVELS);
	WH_ASSERT(e < c->crash_count);
	WH_ASSERT(p->steps[c->crash_step[e]].crash == e);
	cs->crash = e;
	cs->first = oracle__epoch_first(c, e);
	cs->level = level;
	cs->state_count = 0;
	uint32_t lo = crash_requires_all(c, e)
			      ? c->crash_required[e]
			      : last_states(c, p, e, ORACLE_CRASH_QUICK_STATES);
	if (level > 0) {
		uint32_t d = last_states(c, p, e, level_states[level]);
		lo = d < lo ? d : lo;
	}
	WH_ASSERT(lo >= cs->first && lo <= c->crash_step[e]);
	cs->lo = lo;
}

void oracle__crash_search_free(struct oracle__crash_search *cs)
{
	free(cs->states);
	memset(cs, 0, sizeof *cs);
}

int oracle__crash_observe(struct oracle__ctx *c,
			  struct oracle__crash_search *cs, uint32_t k,
			  uint64_t version)
{
	WH_ASSERT(k >= cs->first && k <= c->crash_step[cs->crash]);
	if (k < cs->lo && !(cs->level > 0 && k == cs->first))
		return SQLITE_OK;
	if (cs->state_count > 0 &&
	    cs->states[cs->state_count - 1].version == version) {
		/* Same state (no-op steps since): one digest serves. */
		cs->states[cs->state_count - 1].last = k;
		return SQLITE_OK;
	}
	uint64_t d;
	int rc = oracle__ref_digest(&c->ref, &d);
	if (rc != SQLITE_OK)
		return rc;
	if (cs->state_count == cs->state_cap) {
		cs->state_cap = cs->state_cap ? cs->state_cap * 2 : 16;
		cs->states = wh_realloc(cs->states,
					cs->state_cap * sizeof *cs->states);
	}
	cs->states[cs->state_count++] =
		(struct oracle__state_digest){ k, k, version, d };
	return SQLITE_OK;
}

struct suspect_key {
	uint64_t end;
	uint32_t txn;
};

static int suspect_cmp(const void *a, const void *b)
{
	const struct suspect_key *x = a, *y = b;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1; /* latest first */
	return x->txn < y->txn ? -1 : x->txn > y->txn ? 1 : 0;
}

/* Which aborted or unfinished writer of the epoch, applied on top of the
 * pre-crash state (the reference now), gives the recovered digest. */
static int find_phantom(struct oracle__ctx *c, const struct oracle__plan *p,
			uint32_t e, struct oracle__crash_out *out)
{
	const struct history *h = c->h;
	struct oracle__ref *r = &c->ref;
	uint64_t want = h->crashes[e].recovered_digest;
	struct suspect_key *keys = wh_malloc((h->txn_count + 1) * sizeof *keys);
	uint32_t n = 0;
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		if (c->txn_epoch[i] != e || t->stmt_count == 0 || c->txn_ro[i] ||
		    p->step_of[i] != ORACLE_NONE ||
		    (t->outcome != HIST_ABORTED && t->outcome != HIST_RUNNING))
			continue;
		keys[n++] = (struct suspect_key){
			t->end_event ? t->end_event : UINT64_MAX, i
		};
	}
	qsort(keys, n, sizeof *keys, suspect_cmp);
	int rc = SQLITE_OK;
	for (uint32_t k = 0; k < n && k < ORACLE_CRASH_PHANTOMS_MAX &&
			     out->phantom == ORACLE_NONE && rc == SQLITE_OK;
	     k++) {
		const struct hist_txn *t = h->txns[keys[k].txn];
		uint32_t m = t->stmt_count < ORACLE_CRASH_PHANTOM_STMTS
				     ? t->stmt_count
				     : ORACLE_CRASH_PHANTOM_STMTS;
		for (; m >= 1 && out->phantom == ORACLE_NONE && rc == SQLITE_OK;
		     m--) {
			/* Only prefixes ending in a write give a new state. */
			if (oracle__stmt_skipped(t, m - 1) ||
			    oracle__stmt_uncertain(t, m - 1) ||
			    oracle__stmt_readonly(r, t, m - 1))
				continue;
			oracle__ref_save(r);
			(void)oracle__ref_exec(r, t, m, NULL);
			uint64_t d = 0;
			if (!sqlite3_get_autocommit(r->db))
				rc = oracle__ref_digest(r, &d);
			else
				d = ~want; /* the prefix rolled itself back */
			if (rc == SQLITE_OK && d == want) {
				out->phantom = t->id;
				out->phantom_prefix = m;
			}
			oracle__ref_undo(r);
		}
	}
	free(keys);
	return rc;
}

int oracle__crash_resolve(struct oracle__ctx *c, const struct oracle__plan *p,
			  const struct oracle__crash_search *cs,
			  struct oracle__crash_out *out)
{
	uint32_t e = cs->crash;
	const struct hist_crash *cr = &c->h->crashes[e];
	uint32_t step = c->crash_step[e];
	/* No probe is open: the reference is at the pre-crash state, inside
	 * its long transaction or between transactions. */
	WH_ASSERT(c->ref.in_outer == !sqlite3_get_autocommit(c->ref.db));
	WH_ASSERT(cs->state_count == 0 ||
		  cs->states[cs->state_count - 1].last == step);
	*out = (struct oracle__crash_out){
		.pos = step,
		.level = cs->level,
		.epoch_first = cs->level > 0 || cs->lo == cs->first,
		.lo = cs->lo,
		.states = cs->state_count,
		.phantom = ORACLE_NONE,
	};
	if (cr->recovered_rc != SQLITE_OK)
		return SQLITE_OK; /* nothing to compare: resume as promised */
	for (uint32_t k = cs->state_count; k-- > 0;) {
		if (cs->states[k].digest == cr->recovered_digest) {
			out->pos = cs->states[k].last;
			out->matched = true;
			return SQLITE_OK;
		}
	}
	return cs->level == ORACLE_CRASH_LEVELS - 1 ? find_phantom(c, p, e, out)
						   : SQLITE_OK;
}

bool oracle__crash_allowed(const struct oracle__ctx *c, uint32_t e,
			   uint32_t pos)
{
	WH_ASSERT(e < c->crash_count);
	WH_ASSERT(pos <= c->crash_step[e]);
	return !crash_requires_all(c, e) || pos >= c->crash_required[e];
}

int oracle__crash_rebuild(struct oracle__ctx *c, const struct oracle__plan *p,
			  const struct oracle__crash_out *co, uint32_t upto)
{
	WH_ASSERT(upto <= p->step_count);
	if (oracle__ref_open(&c->ref) != 0)
		return -1;
	uint32_t e = 0; /* the crash ending the epoch of step s */
	for (uint32_t s = 0; s < upto; s++) {
		const struct oracle__step *st = &p->steps[s];
		if (st->crash != ORACLE_NONE) {
			WH_ASSERT_EQ(st->crash, e);
			e++;
			continue;
		}
		if (st->noop)
			continue;
		WH_ASSERT(e < c->crash_count); /* upto is a crash step */
		if (s >= co[e].pos)
			continue; /* lost at crash e */
		char *why = NULL;
		(void)oracle__ref_apply(&c->ref, c->h->txns[st->txn], &why);
		free(why);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Text and verdicts                                                   */
/* ------------------------------------------------------------------ */

void oracle__buf_position(struct oracle__buf *b, const struct oracle__plan *p,
			  const struct oracle__crash_out *co, uint32_t pos)
{
	WH_ASSERT(pos <= p->step_count);
	/* The last state-changing step before pos names the state; a crash
	 * that resumed from an earlier position jumps there. */
	uint32_t s = pos, crash = ORACLE_NONE;
	for (uint32_t guard = 0; s > 0; guard++) {
		WH_ASSERT(guard <= p->step_count);
		const struct oracle__step *st = &p->steps[s - 1];
		if (st->crash != ORACLE_NONE) {
			if (crash == ORACLE_NONE)
				crash = st->crash;
			s = co != NULL && co[st->crash].pos < s - 1
				    ? co[st->crash].pos
				    : s - 1;
			continue;
		}
		if (!st->noop)
			break;
		s--;
	}
	oracle__buf_printf(b, "position %u (", pos);
	if (crash != ORACLE_NONE)
		oracle__buf_printf(b, "recovered after crash %u: ", crash);
	if (s == 0)
		oracle__buf_printf(b, "initial state)");
	else
		oracle__buf_printf(b, "state after T%u)", p->steps[s - 1].txn);
}

static void buf_crash(struct oracle__buf *b, const struct oracle__ctx *c,
		      uint32_t e)
{
	const struct hist_crash *cr = &c->h->crashes[e];
	oracle__buf_printf(b, "crash %u (%s at event %llu)", e,
			   cr->kind == HIST_CRASH_REOPEN ? "clean reopen"
							 : "power loss",
			   (unsigned long long)cr->event);
}

static const char *promise_text(const struct oracle__ctx *c, uint32_t e)
{
	if (c->h->crashes[e].kind == HIST_CRASH_REOPEN)
		return "a clean close and reopen keeps every commit";
	switch (c->cfg->durability) {
	case ORACLE_DURABLE_ALL:
		return "synchronous=FULL or EXTRA promises that every commit acknowledged before a power loss survives it";
	case ORACLE_DURABLE_PREFIX:
		return "synchronous=NORMAL in WAL mode promises a prefix of the commit order";
	case ORACLE_DURABLE_NONE:
		return "synchronous=OFF (or NORMAL outside WAL) makes no promise across power loss";
	}
	WH_UNREACHABLE();
}

/* Marks violation v (an index from oracle__report_add) as expected when
 * crash e is excused: no durability promise and a power loss at or
 * before it; else, in journal modes MEMORY and OFF, the point where
 * rollback stopped being promised (history.unsafe_event) came before it
 * (the crash found what a writer it could not undo left, or a corrupt
 * file). report_finish adds the readable reason. */
static void crash_expected(struct oracle__ctx *c, uint32_t e, uint32_t v)
{
	if (v == ORACLE_NONE)
		return;
	WH_ASSERT(e < c->crash_count);
	struct oracle_violation *viol = &c->report->violations[v];
	uint64_t unsafe = c->h->unsafe_event;
	if (c->cfg->durability == ORACLE_DURABLE_NONE &&
	    c->first_power_loss != ORACLE_NONE && c->first_power_loss <= e) {
		viol->expected = true;
		viol->expected_reason = ORACLE_EXPECTED_NO_DURABILITY;
	} else if (unsafe != 0 && unsafe < c->h->crashes[e].event) {
		viol->expected = true;
		viol->expected_reason = ORACLE_EXPECTED_JOURNAL_MEMORY;
	}
}

/* Committed (and assumed-committed indeterminate) writers at steps in
 * [pos, crash step): what the recovery left out. */
static uint32_t lost_steps(const struct oracle__ctx *c,
			   const struct oracle__plan *p, uint32_t e,
			   uint32_t pos, uint32_t *committed,
			   uint32_t *committed_count)
{
	uint32_t all = 0;
	*committed_count = 0;
	for (uint32_t s = pos; s < c->crash_step[e]; s++) {
		const struct oracle__step *st = &p->steps[s];
		if (st->noop)
			continue;
		WH_ASSERT(st->txn != ORACLE_NONE);
		all++;
		if (c->h->txns[st->txn]->outcome == HIST_COMMITTED)
			committed[(*committed_count)++] = st->txn;
	}
	return all;
}

static void buf_txns(struct oracle__buf *b, const struct oracle__ctx *c,
		     const uint32_t *txns, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		oracle__buf_printf(b, "%s", k ? ", " : "");
		oracle__buf_txn(b, c->h->txns[txns[k]]);
	}
}

static void report_lost_allowed(struct oracle__ctx *c, uint32_t e,
				const struct oracle__plan *p,
				const struct oracle__outcome *o,
				const uint32_t *txns, uint32_t n)
{
	struct oracle_report *r = c->report;
	r->lost_txns = wh_realloc(r->lost_txns, (r->lost_txn_count + n + 1) *
							sizeof *r->lost_txns);
	memcpy(r->lost_txns + r->lost_txn_count, txns, n * sizeof *txns);
	r->lost_txn_count += n;
	struct oracle__buf b = { 0 };
	buf_crash(&b, c, e);
	oracle__buf_printf(&b, ": recovered to ");
	oracle__buf_position(&b, p, o->crashes, o->crashes[e].pos);
	oracle__buf_printf(&b, "; committed but lost, as %s:", promise_text(c, e));
	for (uint32_t k = 0; k < n; k++)
		oracle__buf_printf(&b, " T%u", txns[k]);
	char *msg = oracle__buf_take(&b);
	oracle__report_note(r, msg);
	free(msg);
}

static void report_unmatched(struct oracle__ctx *c, const struct oracle__plan *p,
			     const struct oracle__outcome *o, uint32_t e)
{
	const struct oracle__crash_out *co = &o->crashes[e];
	const struct hist_crash *cr = &c->h->crashes[e];
	uint32_t step = c->crash_step[e];
	struct oracle__buf b = { 0 };
	uint32_t v;
	buf_crash(&b, c, e);
	if (co->phantom != ORACLE_NONE) {
		const struct hist_txn *t = c->h->txns[co->phantom];
		oracle__buf_printf(&b, ": the recovered database holds effects of ");
		oracle__buf_txn(&b, t);
		oracle__buf_printf(&b, ", which never committed: it equals the reference at ");
		oracle__buf_position(&b, p, o->crashes, step);
		oracle__buf_printf(&b, " plus the first %u of its statements; the replay continues without them",
				   co->phantom_prefix);
		v = oracle__report_add(c, "phantom_commit", oracle__buf_take(&b),
				       &co->phantom, 1);
		crash_expected(c, e, v);
		return;
	}
	oracle__buf_printf(&b, ": the recovered database (digest %016llx) equals no state of the reference: %u distinct states compared, at positions %u..%u",
			   (unsigned long long)cr->recovered_digest, co->states,
			   co->lo, step);
	if (co->lo > oracle__epoch_first(c, e))
		oracle__buf_printf(&b, "%s (the states between were not compared: at most %u per crash)",
				   co->epoch_first ? " and the epoch's first state" : "",
				   ORACLE_CRASH_STATES_MAX);
	oracle__buf_printf(&b, ", and no unfinished transaction of the epoch explains it; %s; the replay continues from ",
			   promise_text(c, e));
	oracle__buf_position(&b, p, o->crashes, step);
	v = oracle__report_add(c, "recovery_state", oracle__buf_take(&b), NULL, 0);
	crash_expected(c, e, v);
}

void oracle__crash_report(struct oracle__ctx *c, const struct oracle__plan *p,
			  const struct oracle__outcome *o)
{
	const struct history *h = c->h;
	uint32_t *lost = wh_malloc((p->step_count + 1) * sizeof *lost);
	for (uint32_t e = 0; e < c->crash_count; e++) {
		const struct hist_crash *cr = &h->crashes[e];
		const struct oracle__crash_out *co = &o->crashes[e];
		struct oracle__buf b = { 0 };
		uint32_t v;
		if (cr->recovered_rc != SQLITE_OK) {
			buf_crash(&b, c, e);
			oracle__buf_printf(&b, ": the database could not be opened or read after recovery: %s (rc %d); the replay continues from ",
					   sqlite3_errstr(cr->recovered_rc),
					   cr->recovered_rc);
			oracle__buf_position(&b, p, o->crashes, co->pos);
			v = oracle__report_add(c, "recovery_failed",
					       oracle__buf_take(&b), NULL, 0);
			crash_expected(c, e, v);
			continue;
		}
		if (!co->matched) {
			report_unmatched(c, p, o, e);
			continue;
		}
		uint32_t n;
		uint32_t all = lost_steps(c, p, e, co->pos, lost, &n);
		if (oracle__crash_allowed(c, e, co->pos)) {
			if (n > 0)
				report_lost_allowed(c, e, p, o, lost, n);
			continue;
		}
		WH_ASSERT(n > 0);
		buf_crash(&b, c, e);
		oracle__buf_printf(&b, ": acknowledged commits missing after recovery: ");
		buf_txns(&b, c, lost, n);
		oracle__buf_printf(&b, "; the recovered database equals the reference at ");
		oracle__buf_position(&b, p, o->crashes, co->pos);
		oracle__buf_printf(&b, ", before the last %u of the epoch's writers (%u committed); %s",
				   all, n, promise_text(c, e));
		v = oracle__report_add(c, "lost_commit", oracle__buf_take(&b),
				       lost, n);
		crash_expected(c, e, v);
	}
	free(lost);
}
