/*
 * test_history.c - unit tests of the history recorder and the value
 * helpers (engine/history.c, engine/value.c).
 *
 * Each test builds its own history on the stack (crashes included) and
 * frees it; the value tests use literals only. Under valgrind or ASan the
 * deep-copy tests also prove that the history owns what it stores (the
 * caller's buffers are overwritten or freed before the history is read).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

static struct wh_value I(int64_t v)
{
	return (struct wh_value){ .type = SQLITE_INTEGER, .i = v };
}

static struct wh_value F(double v)
{
	return (struct wh_value){ .type = SQLITE_FLOAT, .f = v };
}

static struct wh_value T(const char *s)
{
	return (struct wh_value){ .type = SQLITE_TEXT,
				  .n = (uint32_t)strlen(s),
				  .p = (unsigned char *)s };
}

static struct wh_value B(const void *p, uint32_t n)
{
	return (struct wh_value){ .type = SQLITE_BLOB, .n = n,
				  .p = (unsigned char *)p };
}

static struct wh_value N(void)
{
	return (struct wh_value){ .type = SQLITE_NULL };
}

/* The event counter advances at begin, statement, commit start and end;
 * commit indexes follow hist_txn_end calls, only for COMMITTED. */
static void test_events_and_commit_order(void **state)
{
	(void)state;
	struct history h;
	hist_init(&h);
	struct hist_txn *a = hist_txn_begin(&h, 1, "a", HIST_BEGIN_DEFERRED, 10);
	struct hist_txn *b = hist_txn_begin(&h, 2, "b", HIST_BEGIN_IMMEDIATE, 11);
	assert_int_equal(a->begin_event, 1);
	assert_int_equal(b->begin_event, 2);
	assert_int_equal(a->id, 0);
	assert_int_equal(b->id, 1);
	struct hist_stmt *s = hist_stmt_add(&h, a, "SELECT 1", NULL, NULL, 0,
					    SQLITE_DONE, 0, 0, 0, NULL, false);
	assert_int_equal(s->event, 3);
	hist_txn_commit_start(&h, b);
	assert_int_equal(b->commit_event, 4);
	hist_txn_end(&h, b, HIST_COMMITTED, SQLITE_OK, 20);
	assert_int_equal(b->end_event, 5);
	assert_int_equal(b->end_us, 20);
	hist_txn_commit_start(&h, a);
	hist_txn_end(&h, a, HIST_COMMITTED, SQLITE_OK, 21);
	assert_int_equal(b->commit_index, 0);
	assert_int_equal(a->commit_index, 1);
	struct hist_txn *c = hist_txn_begin(&h, 3, NULL, HIST_BEGIN_AUTOCOMMIT, 30);
	hist_txn_end(&h, c, HIST_ABORTED, SQLITE_BUSY, 31);
	struct hist_txn *d = hist_txn_begin(&h, 3, NULL, HIST_BEGIN_DEFERRED, 32);
	hist_txn_commit_start(&h, d);
	hist_txn_end(&h, d, HIST_INDETERMINATE, SQLITE_IOERR, 33);
	assert_int_equal(c->commit_index, -1);
	assert_int_equal(d->commit_index, -1);
	assert_int_equal(c->outcome, HIST_ABORTED);
	assert_int_equal(c->end_rc, SQLITE_BUSY);
	assert_int_equal(h.commit_count, 2);
	assert_int_equal(h.event, 12);
	assert_int_equal(h.txn_count, 4);
	assert_ptr_equal(h.txns[3], d);
	hist_free(&h);
}

/* Statements own deep copies of SQL, parameters and cells: the caller's
 * buffers may change right after the call. */
static void test_deep_copy(void **state)
{
	(void)state;
	struct history h;
	hist_init(&h);
	char sql[] = "SELECT ?1, ?2";
	char text[] = "it's";
	unsigned char blob[] = { 0x0a, 0xff };
	struct wh_value params[2] = { T(text), B(blob, 2) };
	struct wh_value cells[4] = { I(1), F(2.5), N(), T(text) };
	struct hist_txn *t = hist_txn_begin(&h, 1, "x", HIST_BEGIN_DEFERRED, 0);
	struct hist_stmt *s = hist_stmt_add(&h, t, sql, "tmpl", params, 2,
					    SQLITE_DONE, 3, 2, 2, cells, true);
	memset(sql, 'x', sizeof sql - 1);
	memset(text, 'y', sizeof text - 1);
	blob[0] = 0;
	assert_string_equal(s->sql, "SELECT ?1, ?2");
	assert_string_equal(s->tmpl, "tmpl");
	assert_int_equal(s->params[0].type, SQLITE_TEXT);
	assert_int_equal(s->params[0].n, 4);
	assert_string_equal((const char *)s->params[0].p, "it's");
	assert_int_equal(s->params[1].p[0], 0x0a);
	assert_int_equal(s->cells[1].type, SQLITE_FLOAT);
	assert_true(s->cells[1].f == 2.5);
	assert_string_equal((const char *)s->cells[3].p, "it's");
	assert_int_equal(s->changes, 3);
	assert_true(s->ordered);
	/* Growth past the first allocation keeps earlier statements. */
	for (int k = 0; k < 40; k++)
		hist_stmt_add(&h, t, "SELECT 2", NULL, NULL, 0, SQLITE_DONE, 0,
			      0, 0, NULL, false);
	assert_int_equal(t->stmt_count, 41);
	assert_string_equal(t->stmts[0].sql, "SELECT ?1, ?2");
	hist_set_setup(&h, "CREATE TABLE a(x)");
	hist_set_setup(&h, "CREATE TABLE b(x)");
	assert_string_equal(h.setup_sql, "CREATE TABLE b(x)");
	hist_free(&h);
	assert_int_equal(h.txn_count, 0);
	assert_null(h.txns);
}

/* A text handed in again at the same address is kept once (statements
 * share the copy); the same buffer holding another text gets a copy of
 * its own, and the earlier statements keep theirs. */
static void test_texts_shared(void **state)
{
	(void)state;
	struct history h;
	hist_init(&h);
	char sql[] = "SELECT 1";
	struct hist_txn *t = hist_txn_begin(&h, 1, "x", HIST_BEGIN_DEFERRED, 0);
	struct hist_stmt *a = hist_stmt_add(&h, t, sql, "tmpl", NULL, 0, SQLITE_DONE, 0, 0,
					    0, NULL, false);
	char *a_sql = a->sql, *a_tmpl = a->tmpl;
	struct hist_stmt *b = hist_stmt_add(&h, t, sql, "tmpl", NULL, 0, SQLITE_DONE, 0, 0,
					    0, NULL, false);
	assert_ptr_equal(b->sql, a_sql);
	assert_ptr_equal(b->tmpl, a_tmpl);
	assert_ptr_not_equal(a_sql, sql);
	memcpy(sql, "SELECT 2", sizeof sql);
	struct hist_stmt *c = hist_stmt_add(&h, t, sql, "tmpl", NULL, 0, SQLITE_DONE, 0, 0,
					    0, NULL, false);
	assert_ptr_not_equal(c->sql, a_sql);
	assert_string_equal(c->sql, "SELECT 2");
	assert_string_equal(t->stmts[0].sql, "SELECT 1");
	assert_string_equal(t->stmts[1].sql, "SELECT 1");
	struct hist_txn *u = hist_txn_begin(&h, 2, "x", HIST_BEGIN_DEFERRED, 0);
	assert_string_equal(u->name, "x");
	hist_free(&h);
	assert_null(h.texts);
}

/* wh_value_copy duplicates text (with a terminator) and blobs. */
static void test_value_copy(void **state)
{
	(void)state;
	struct wh_value d;
	wh_value_copy(&d, &(struct wh_value){ .type = SQLITE_TEXT, .n = 0 });
	assert_int_equal(d.n, 0);
	assert_string_equal((const char *)d.p, "");
	wh_value_free(&d);
	unsigned char raw[3] = { 1, 0, 2 };
	struct wh_value src = B(raw, 3);
	wh_value_copy(&d, &src);
	assert_ptr_not_equal(d.p, raw);
	assert_memory_equal(d.p, raw, 3);
	wh_value_free(&d);
	assert_int_equal(d.type, SQLITE_NULL);
	assert_null(d.p);
}

/* wh_value_cmp is a total order: NULL < numbers (by value across types)
 * < TEXT < BLOB, bytes compared with memcmp, shorter prefix first. */
static void test_value_order(void **state)
{
	(void)state;
	unsigned char b0[] = { 0 }, b1[] = { 0, 1 };
	struct wh_value ordered[] = {
		N(),      F(-1e300), I(INT64_MIN), I(-1), F(-0.5), I(0),
		F(0.5),   I(1),      F(1.5),       I(2),  I(INT64_MAX),
		F(1e19),  T(""),     T("a"),       T("ab"), T("b"),
		B(b0, 0), B(b0, 1),  B(b1, 2),
	};
	size_t n = sizeof ordered / sizeof ordered[0];
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int c = wh_value_cmp(&ordered[i], &ordered[j]);
			int want = i < j ? -1 : i > j ? 1 : 0;
			if ((c > 0) - (c < 0) != want)
				fail_msg("cmp(%zu, %zu) = %d, want %d", i, j, c, want);
		}
	}
	/* Equal numbers of different types: INTEGER first, never equal, so
	 * cmp == 0 means the very same value. */
	assert_true(wh_value_cmp(&(struct wh_value){ .type = SQLITE_INTEGER, .i = 3 },
				 &(struct wh_value){ .type = SQLITE_FLOAT, .f = 3.0 }) < 0);
	assert_true(wh_value_cmp(&(struct wh_value){ .type = SQLITE_FLOAT, .f = 3.0 },
				 &(struct wh_value){ .type = SQLITE_INTEGER, .i = 3 }) > 0);
	/* Large integers are not rounded through double. */
	assert_true(wh_value_cmp(&(struct wh_value){ .type = SQLITE_INTEGER,
						     .i = (INT64_C(1) << 53) + 1 },
				 &(struct wh_value){ .type = SQLITE_FLOAT,
						     .f = 9007199254740992.0 }) > 0);
	assert_int_equal(wh_value_cmp(&ordered[3], &(struct wh_value){ .type = SQLITE_INTEGER, .i = -1 }), 0);
}

/* wh_value_format writes SQL literals and returns the untruncated length. */
static void test_value_format(void **state)
{
	(void)state;
	char buf[64];
	unsigned char blob[] = { 0x0a, 0xff };
	struct {
		struct wh_value v;
		const char *want;
	} cases[] = {
		{ N(), "NULL" },
		{ I(12), "12" },
		{ I(-7), "-7" },
		{ F(1.5), "1.5" },
		{ F(1.0), "1.0" },
		{ F(0.1), "0.1" },
		{ F(1e300), "1e+300" },
		{ T("it's"), "'it''s'" },
		{ T(""), "''" },
		{ B(blob, 2), "X'0aff'" },
		{ B(blob, 0), "X''" },
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		int n = wh_value_format(&cases[k].v, buf, sizeof buf);
		assert_string_equal(buf, cases[k].want);
		assert_int_equal(n, (int)strlen(cases[k].want));
	}
	/* Floats that need 17 digits still read back exactly. */
	double third = 1.0 / 3.0;
	wh_value_format(&(struct wh_value){ .type = SQLITE_FLOAT, .f = third },
			buf, sizeof buf);
	assert_true(strtod(buf, NULL) == third);
	/* Truncation: NUL-terminated within cap, full length returned. */
	char small[5];
	int n = wh_value_format(&(struct wh_value){ .type = SQLITE_TEXT, .n = 6,
						    .p = (unsigned char *)"abcdef" },
				small, sizeof small);
	assert_int_equal(n, 8);
	assert_string_equal(small, "'abc");
	assert_int_equal(wh_value_format(&(struct wh_value){ .type = SQLITE_INTEGER, .i = 5 },
					 NULL, 0),
			 1);
}

/* hist_crash_add takes an event of its own, appends in order and starts
 * with a clean recovery record; hist_free releases the array. */
static void test_crash_add(void **state)
{
	(void)state;
	struct history h;
	hist_init(&h);
	struct hist_txn *t = hist_txn_begin(&h, 1, "a", HIST_BEGIN_DEFERRED, 0);
	hist_txn_end(&h, t, HIST_ABORTED, SQLITE_IOERR, 1);
	struct hist_crash *c0 = hist_crash_add(&h, HIST_CRASH_POWER_LOSS);
	assert_int_equal(c0->event, 3);
	assert_int_equal(c0->kind, HIST_CRASH_POWER_LOSS);
	assert_int_equal(c0->recovered_rc, SQLITE_OK);
	assert_int_equal(c0->recovered_digest, 0);
	c0->recovered_digest = 42;
	struct hist_crash *c1 = hist_crash_add(&h, HIST_CRASH_REOPEN);
	assert_int_equal(c1->event, 4);
	assert_int_equal(h.crash_count, 2);
	assert_int_equal(h.crashes[0].recovered_digest, 42);
	assert_int_equal(h.crashes[1].kind, HIST_CRASH_REOPEN);
	assert_int_equal(h.event, 4);
	struct hist_txn *u = hist_txn_begin(&h, 1, "b", HIST_BEGIN_DEFERRED, 2);
	assert_int_equal(u->begin_event, 5);
	/* Statement flags start clear; the driver sets them afterwards. */
	struct hist_stmt *s = hist_stmt_add(&h, u, "PRAGMA page_count", NULL,
					    NULL, 0, SQLITE_DONE, 0, 0, 0, NULL,
					    false);
	assert_int_equal(s->flags, 0);
	hist_free(&h);
	assert_null(h.crashes);
	assert_int_equal(h.crash_count, 0);
}

/* Two histories stamped from one counter (as two connection processes
 * record them) merge into the one a single recorder would have made:
 * ids in begin order, statements and texts carried over intact, the
 * commit count summed, the counter and unsafe point combined; the
 * source is left empty and freeing both frees everything once. */
static void test_merge(void **state)
{
	(void)state;
	struct history h, src;
	hist_init(&h);
	hist_init(&src);
	hist_set_setup(&h, "CREATE TABLE t(x)");
	/* Events as a shared counter would hand them out: h's connection
	 * begins at 1 and 5, src's at 3. */
	struct hist_txn *a = hist_txn_begin(&h, 0, "a", HIST_BEGIN_DEFERRED, 0);
	a->begin_event = 1;
	struct wh_value v = T("hello");
	hist_stmt_add(&h, a, "SELECT ?1", "a.sel", &v, 1, SQLITE_DONE, 0, 1, 1, &v, false);
	hist_txn_end(&h, a, HIST_COMMITTED, SQLITE_OK, 1);
	a->end_event = 2;
	struct hist_txn *c = hist_txn_begin(&h, 0, "c", HIST_BEGIN_DEFERRED, 2);
	c->begin_event = 5;
	hist_txn_end(&h, c, HIST_ABORTED, SQLITE_BUSY, 3);
	c->end_event = 6;
	h.event = 6;
	struct hist_txn *b = hist_txn_begin(&src, 1, "b", HIST_BEGIN_IMMEDIATE, 1);
	b->begin_event = 3;
	hist_stmt_add(&src, b, "UPDATE t SET x = 1", "b.upd", NULL, 0, SQLITE_DONE, 1, 0, 0, NULL,
		      false);
	hist_txn_end(&src, b, HIST_COMMITTED, SQLITE_OK, 2);
	b->end_event = 4;
	src.event = 7;
	src.unsafe_event = 7;

	hist_merge(&h, &src);
	assert_int_equal(h.txn_count, 3);
	assert_ptr_equal(h.txns[0], a);
	assert_ptr_equal(h.txns[1], b);
	assert_ptr_equal(h.txns[2], c);
	for (uint32_t i = 0; i < h.txn_count; i++)
		assert_int_equal(h.txns[i]->id, i);
	assert_int_equal(h.commit_count, 2);
	assert_int_equal(h.event, 7);
	assert_int_equal(h.unsafe_event, 7);
	assert_string_equal(h.setup_sql, "CREATE TABLE t(x)");
	assert_string_equal(b->name, "b");
	assert_string_equal(b->stmts[0].sql, "UPDATE t SET x = 1");
	assert_string_equal(b->stmts[0].tmpl, "b.upd");
	assert_string_equal((const char *)a->stmts[0].cells[0].p, "hello");
	assert_int_equal(src.txn_count, 0);
	assert_null(src.txns);
	assert_null(src.texts);
	/* The merged history goes on recording: the next id follows. */
	struct hist_txn *d = hist_txn_begin(&h, 1, "b", HIST_BEGIN_DEFERRED, 4);
	assert_int_equal(d->id, 3);
	assert_ptr_equal(h.txns[3], d);
	hist_free(&src);
	hist_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_and_commit_order),
		cmocka_unit_test(test_deep_copy),
		cmocka_unit_test(test_texts_shared),
		cmocka_unit_test(test_value_copy),
		cmocka_unit_test(test_value_order),
		cmocka_unit_test(test_value_format),
		cmocka_unit_test(test_crash_add),
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
