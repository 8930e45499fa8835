/*
 * digest.c - a digest of a database's logical content, equal for equal
 * content on any two databases: what a crash recovery left (the driver
 * records it in the history) against the states the oracle rebuilds.
 *
 * The digest is SipHash-2-4 (fixed key) over a tagged stream: schema
 * entries, then per table its name and every row (rowid first) with each
 * value's type tag, length and bytes. Tags and lengths keep different
 * contents from forming the same stream; ordering by name, rowid or all
 * columns keeps it independent of insertion order and page layout. A cache
 * keeps the statements across calls (digest_db_cached), since preparing
 * them costs more than reading a small database.
 *
 * Two libraries digest: the target's, for what a recovery left
 * (digest_db_with its table), and the linked one, for the oracle's
 * reference. The SQL is written so that both give the same stream on
 * every version a target may be: sqlite_master rather than its alias,
 * and before pragma_table_list (3.37.0) the table list and each table's
 * shape come from sqlite_master and a probe instead. The query texts are
 * built in whopper's memory, never by a library's printf, so no string
 * crosses from one library's allocator to another's.
 *
 * Invariant: the stream depends on content only (never on page layout,
 * insertion order, which statements prepared it or which library read
 * it), so digest_db, digest_db_with and digest_db_cached agree on one
 * database.
 */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlapi.h"
#include "wh.h"

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

/* Absorbs 8 bytes, v's least significant first, wherever the stream is
 * within its current word: the first 8 - tail_len of them complete the
 * word, the others become the new tail (as many as before). The same as
 * absorbing them one by one, in one SipHash compression: the digest of a
 * large database is mostly this. */
static void hash_u64(struct digest_hash *s, uint64_t v)
{
	uint32_t shift = 8 * s->tail_len;
	if (shift == 0) {
		hash_word(s, v);
	} else {
		hash_word(s, s->tail | v << shift);
		s->tail = v >> (64 - shift);
	}
	s->total += 8;
}

static void hash_u8(struct digest_hash *s, unsigned char v)
{
	s->tail |= (uint64_t)v << (8 * s->tail_len);
	if (++s->tail_len == 8) {
		hash_word(s, s->tail);
		s->tail = 0;
		s->tail_len = 0;
	}
	s->total++;
}

static uint64_t load_le64(const unsigned char *c)
{
	uint64_t v;
	memcpy(&v, c, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static void hash_bytes(struct digest_hash *s, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (; n >= 8; c += 8, n -= 8)
		hash_u64(s, load_le64(c));
	for (; n > 0; c++, n--)
		hash_u8(s, *c);
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
static void hash_column(const struct wh_sqlapi *api, struct digest_hash *s, sqlite3_stmt *st,
			int i)
{
	int type = api->column_type(st, i);
	switch (type) {
	case SQLITE_INTEGER:
		hash_u8(s, 'i');
		hash_u64(s, (uint64_t)api->column_int64(st, i));
		return;
	case SQLITE_FLOAT: {
		double f = api->column_double(st, i);
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
					? (const void *)api->column_text(st, i)
					: api->column_blob(st, i);
		int n = api->column_bytes(st, i);
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
static int hash_stmt(const struct wh_sqlapi *api, struct digest_hash *s, sqlite3_stmt *st)
{
	uint64_t rows = 0;
	int cols = api->column_count(st);
	int rc;
	while ((rc = api->step(st)) == SQLITE_ROW) {
		hash_u8(s, 'R');
		hash_u64(s, (uint64_t)cols);
		for (int i = 0; i < cols; i++)
			hash_column(api, s, st, i);
		rows++;
	}
	api->reset(st);
	if (rc != SQLITE_DONE)
		return rc;
	hash_u8(s, 'E');
	hash_u64(s, rows);
	return SQLITE_OK;
}

/* ------------------------------------------------------------------ */
/* Public                                                                */
/* ------------------------------------------------------------------ */

/* sqlite_master, not its newer alias sqlite_schema (3.33.0): the same
 * rows on every version a target may be. */
static const char digest_schema_sql[] =
	"SELECT type, name, tbl_name, sql FROM sqlite_master"
	" WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name, type";
static const char digest_tables_sql[] =
	"SELECT name, type, wr, ncol FROM pragma_table_list"
	" WHERE schema = 'main' AND type IN ('table', 'shadow', 'virtual')"
	" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
/* Before pragma_table_list (3.37.0): the same tables in the same order
 * from sqlite_master (a shadow table is a table there), virtual ones told
 * by their normalised CREATE text; the shape is probed per table
 * (table_shape_probe). */
static const char digest_tables_old_sql[] =
	"SELECT name, CASE WHEN sql LIKE 'CREATE VIRTUAL TABLE%' THEN 'virtual'"
	" ELSE 'table' END, 0, 0 FROM sqlite_master WHERE type = 'table'"
	" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
#define DIGEST_TABLE_LIST_VERSION 3037000

/* SQL text built in whopper's memory. */
struct digest_sql {
	char *buf;   /* NUL-terminated, owned */
	size_t len;  /* bytes before the terminator */
	size_t cap;  /* bytes allocated */
};

static void digest_sql_append(struct digest_sql *q, const char *p, size_t n)
{
	if (q->len + n + 1 > q->cap) {
		q->cap = (q->len + n + 1) * 2;
		q->buf = wh_realloc(q->buf, q->cap);
	}
	memcpy(q->buf + q->len, p, n);
	q->len += n;
	q->buf[q->len] = '\0';
}

static void digest_sql_str(struct digest_sql *q, const char *s)
{
	digest_sql_append(q, s, strlen(s));
}

/* name as an SQL identifier: in double quotes, each one inside doubled. */
static void append_ident(struct digest_sql *q, const char *name)
{
	digest_sql_append(q, "\"", 1);
	for (const char *p = name; *p; p++) {
		digest_sql_append(q, p, 1);
		if (*p == '"')
			digest_sql_append(q, p, 1);
	}
	digest_sql_append(q, "\"", 1);
}

/* The rows of one table, in an order that depends on content only, into
 * q (whopper's own memory: no library's allocator is involved). */
static void table_query(struct digest_sql *q, const char *name, bool without_rowid, int ncol)
{
	if (!without_rowid) {
		digest_sql_str(q, "SELECT _rowid_, * FROM ");
		append_ident(q, name);
		digest_sql_str(q, " ORDER BY _rowid_");
		return;
	}
	/* No rowid: the primary key is among the columns, so ordering by
	 * all of them is a total order (ties would be one row). */
	digest_sql_str(q, "SELECT * FROM ");
	append_ident(q, name);
	for (int k = 1; k <= ncol; k++) {
		char num[24];
		snprintf(num, sizeof num, "%s%d", k == 1 ? " ORDER BY " : ", ", k);
		digest_sql_str(q, num);
	}
}

/* Prepares table_query's statement into *out. */
static int prepare_table_query(const struct wh_sqlapi *api, sqlite3 *db, const char *name,
			       bool wr, int ncol, sqlite3_stmt **out)
{
	struct digest_sql q = {0};
	table_query(&q, name, wr, ncol);
	int rc = api->prepare_v2(db, q.buf, -1, out, NULL);
	free(q.buf);
	return rc;
}

/* A prepared statement for sql: from the cache when there is one (kept,
 * reset after use), else fresh (the caller finalizes it). */
static int digest_prepare(const struct wh_sqlapi *api, sqlite3 *db, struct digest_cache *dc,
			  sqlite3_stmt **slot, const char *sql,
			  sqlite3_stmt **out)
{
	if (dc != NULL && *slot != NULL) {
		*out = *slot;
		return SQLITE_OK;
	}
	int rc = api->prepare_v2(db, sql, -1, out, NULL);
	if (rc == SQLITE_OK && dc != NULL)
		*slot = *out;
	return rc;
}

/* The cached statement of a table, made when first needed (or when its
 * shape changed). */
static int digest_table_stmt(const struct wh_sqlapi *api, sqlite3 *db, struct digest_cache *dc,
			     const char *name, bool wr, int ncol,
			     sqlite3_stmt **out)
{
	struct digest_table *t = NULL;
	for (uint32_t k = 0; k < dc->table_count && t == NULL; k++)
		if (strcmp(dc->tables[k].name, name) == 0)
			t = &dc->tables[k];
	if (t != NULL && (t->wr != wr || t->ncol != ncol)) {
		api->finalize(t->st);
		t->st = NULL;
	}
	if (t == NULL) {
		WH_ASSERT(dc->table_count < UINT32_MAX / 2);
		dc->tables = wh_realloc(dc->tables, (dc->table_count + 1) *
							    sizeof *dc->tables);
		t = &dc->tables[dc->table_count++];
		*t = (struct digest_table){ .name = wh_strdup(name) };
	}
	t->wr = wr;
	t->ncol = ncol;
	if (t->st == NULL) {
		int rc = prepare_table_query(api, db, name, wr, ncol, &t->st);
		if (rc != SQLITE_OK)
			return rc;
	}
	*out = t->st;
	return SQLITE_OK;
}

/* What pragma_table_list says of a table, for a library without it:
 * WITHOUT ROWID when its rows have no _rowid_ to select, and its number
 * of columns. Returns SQLITE_OK or the error. */
static int table_shape_probe(const struct wh_sqlapi *api, sqlite3 *db, const char *name,
			     bool *wr, int *ncol)
{
	struct digest_sql q = {0};
	sqlite3_stmt *st = NULL;
	digest_sql_str(&q, "SELECT * FROM ");
	append_ident(&q, name);
	int rc = api->prepare_v2(db, q.buf, -1, &st, NULL);
	*ncol = rc == SQLITE_OK ? api->column_count(st) : 0;
	api->finalize(st);
	free(q.buf);
	if (rc != SQLITE_OK)
		return rc;
	q = (struct digest_sql){0};
	digest_sql_str(&q, "SELECT _rowid_ FROM ");
	append_ident(&q, name);
	st = NULL;
	*wr = api->prepare_v2(db, q.buf, -1, &st, NULL) != SQLITE_OK;
	api->finalize(st);
	free(q.buf);
	return SQLITE_OK;
}

/* Folds the schema, then every table, into s. dc: statement cache or
 * NULL. */
static int digest_tables(const struct wh_sqlapi *api, struct digest_hash *s, sqlite3 *db,
			 struct digest_cache *dc)
{
	sqlite3_stmt *schema = NULL, *tables = NULL;
	bool old = api->libversion_number() < DIGEST_TABLE_LIST_VERSION;
	hash_u8(s, 'S');
	int rc = digest_prepare(api, db, dc, dc ? &dc->schema : NULL, digest_schema_sql,
				&schema);
	if (rc == SQLITE_OK)
		rc = hash_stmt(api, s, schema);
	if (dc == NULL)
		api->finalize(schema);
	if (rc != SQLITE_OK)
		return rc;
	rc = digest_prepare(api, db, dc, dc ? &dc->tables_list : NULL,
			    old ? digest_tables_old_sql : digest_tables_sql, &tables);
	if (rc != SQLITE_OK)
		return rc;
	while (rc == SQLITE_OK && (rc = api->step(tables)) == SQLITE_ROW) {
		const char *name = (const char *)api->column_text(tables, 0);
		const char *type = (const char *)api->column_text(tables, 1);
		WH_ASSERT(name != NULL && type != NULL);
		hash_u8(s, 'T');
		hash_column(api, s, tables, 0);
		rc = SQLITE_OK;
		/* A virtual table's content lives in its shadow tables, which
		 * are digested as tables; reading it would need its module. */
		if (strcmp(type, "virtual") == 0)
			continue;
		bool wr = api->column_int(tables, 2) != 0;
		int ncol = api->column_int(tables, 3);
		if (old)
			rc = table_shape_probe(api, db, name, &wr, &ncol);
		sqlite3_stmt *rows = NULL;
		if (rc != SQLITE_OK)
			break;
		if (dc != NULL)
			rc = digest_table_stmt(api, db, dc, name, wr, ncol, &rows);
		else
			rc = prepare_table_query(api, db, name, wr, ncol, &rows);
		if (rc == SQLITE_OK)
			rc = hash_stmt(api, s, rows);
		if (dc == NULL)
			api->finalize(rows);
	}
	api->reset(tables);
	if (dc == NULL)
		api->finalize(tables);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int digest_db_with(const struct wh_sqlapi *api, sqlite3 *db, uint64_t *out)
{
	WH_ASSERT(api != NULL);
	WH_ASSERT(db != NULL);
	WH_ASSERT(out != NULL);
	*out = 0;
	/* One read transaction, so the digest is of one snapshot. */
	bool own = api->get_autocommit(db) != 0;
	int rc = own ? api->exec(db, "BEGIN", NULL, NULL, NULL) : SQLITE_OK;
	if (rc != SQLITE_OK)
		return rc;
	struct digest_hash s;
	hash_init(&s);
	rc = digest_tables(api, &s, db, NULL);
	if (own && !api->get_autocommit(db)) {
		int crc = api->exec(db, "COMMIT", NULL, NULL, NULL);
		if (crc != SQLITE_OK)
			(void)api->exec(db, "ROLLBACK", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = crc;
	}
	if (rc == SQLITE_OK)
		*out = hash_final(&s);
	return rc;
}

int digest_db(sqlite3 *db, uint64_t *out)
{
	return digest_db_with(&wh_sqlapi_linked, db, out);
}

int digest_db_cached(sqlite3 *db, struct digest_cache *dc, uint64_t *out)
{
	WH_ASSERT(db != NULL);
	WH_ASSERT(dc != NULL);
	struct digest_hash s;
	hash_init(&s);
	int rc = digest_tables(&wh_sqlapi_linked, &s, db, dc);
	*out = rc == SQLITE_OK ? hash_final(&s) : 0;
	return rc;
}

void digest_cache_free(struct digest_cache *dc)
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
