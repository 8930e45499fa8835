/*
 * test_elle.c - the Elle EDN export (oracle/elle.c).
 *
 * Hand-built histories pin the exact lines: micro-operations per shape,
 * :ok/:fail/:info, reads nil in invokes, only succeeded statements in :ok,
 * event-order indexes, running transactions last, fresh processes after a
 * crash and after :info. Real runs (list-append and rw-register, 4
 * connections, 100 transactions, with and without crashes) are checked
 * with a small EDN reader written here: every line one well-formed map of
 * the six keys, one :invoke and one completion per transaction, :index
 * 0..2n-1 in order, no process with two operations outstanding. Errors
 * (no shape, a non-integer key, an unwritable path) return 2 and leave no
 * file, not even a temporary one.
 */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elle.h"
#include "workloads.h"
#include "world.h"

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

struct tmpdir {
	char dir[64];
	char path[128]; /* dir/h.edn */
};

static void tmpdir_make(struct tmpdir *d)
{
	snprintf(d->dir, sizeof d->dir, "/tmp/test_elle.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof d->path, "%s/h.edn", d->dir);
}

/* Entries in the directory besides . and .. */
static int tmpdir_entries(const struct tmpdir *d)
{
	DIR *dp = opendir(d->dir);
	assert_non_null(dp);
	int n = 0;
	for (struct dirent *e; (e = readdir(dp)) != NULL;)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

/* Removes h.edn and the directory; fails if anything else was left. */
static void tmpdir_remove(struct tmpdir *d)
{
	unlink(d->path);
	assert_int_equal(tmpdir_entries(d), 0);
	assert_int_equal(rmdir(d->dir), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (size_t n; (n = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ */
/* Hand-built histories                                                */
/* ------------------------------------------------------------------ */

static const struct wl_elle_op *op_of(const struct workload *wl, const char *tmpl)
{
	for (uint32_t k = 0; k < wl->elle_op_count; k++)
		if (strcmp(wl->elle_ops[k].tmpl, tmpl) == 0)
			return &wl->elle_ops[k];
	fail_msg("workload '%s' maps no statement '%s'", wl->name, tmpl);
	return NULL;
}

/* Record statement tmpl of wl with its key and value bound where the map
 * says (other parameters 0), and one result column of row_count cells. */
static void stmt_cells(struct history *h, struct hist_txn *t, const struct workload *wl,
		       const char *tmpl, int64_t key, int64_t value, int rc,
		       const struct wh_value *cells, uint32_t row_count)
{
	const struct wl_elle_op *op = op_of(wl, tmpl);
	struct wh_value params[4];
	memset(params, 0, sizeof params);
	uint32_t n = op->key_param > op->value_param ? op->key_param : op->value_param;
	assert_true(n >= 1 && n <= 4);
	for (uint32_t k = 0; k < n; k++)
		params[k].type = SQLITE_INTEGER;
	params[op->key_param - 1].i = key;
	if (op->value_param)
		params[op->value_param - 1].i = value;
	hist_stmt_add(h, t, "SELECT 1", tmpl, params, n, rc, 0, 1, row_count, cells, true);
}

/* The same with integer rows. */
static void stmt_rows(struct history *h, struct hist_txn *t, const struct workload *wl,
		      const char *tmpl, int64_t key, int64_t value, int rc, const int64_t *rows,
		      uint32_t row_count)
{
	struct wh_value cells[8];
	memset(cells, 0, sizeof cells);
	assert_true(row_count <= 8);
	for (uint32_t k = 0; k < row_count; k++) {
		cells[k].type = SQLITE_INTEGER;
		cells[k].i = rows[k];
	}
	stmt_cells(h, t, wl, tmpl, key, value, rc, row_count ? cells : NULL, row_count);
}

static void expect_file(const char *path, const char *want)
{
	char *got = slurp(path);
	assert_string_equal(got, want);
	free(got);
}

/* list-append: appends and reads (lists in row order, empty as []), reads
 * nil in invokes, an invoke listing every statement the transaction ran
 * (also those run after later events), the failed statement of an
 * aborted transaction in its :fail value, a transaction without mapped statements as [], :info for
 * indeterminate, a new process after :info, the running one last at the
 * history's latest time. */
static void test_list_append_lines(void **state)
{
	(void)state;
	const struct workload *wl = wl_find("list-append");
	assert_non_null(wl);
	struct history h;
	hist_init(&h);
	static const int64_t r127[] = {1, 2, 7};
	static const int64_t r5[] = {5};

	struct hist_txn *t0 = hist_txn_begin(&h, 0, "txn", HIST_BEGIN_DEFERRED, 10);
	stmt_rows(&h, t0, wl, "txn.a1", 3, 7, SQLITE_DONE, NULL, 0);
	stmt_rows(&h, t0, wl, "txn.r2", 4, 0, SQLITE_DONE, r127, 3);
	struct hist_txn *t1 = hist_txn_begin(&h, 1, "txn", HIST_BEGIN_IMMEDIATE, 11);
	stmt_rows(&h, t1, wl, "txn.r1", 3, 0, SQLITE_DONE, NULL, 0);
	hist_txn_commit_start(&h, t0);
	hist_txn_end(&h, t0, HIST_COMMITTED, SQLITE_OK, 15);
	stmt_rows(&h, t1, wl, "txn.a2", 4, 9, SQLITE_BUSY, NULL, 0);
	hist_txn_end(&h, t1, HIST_ABORTED, SQLITE_BUSY, 20);

	struct hist_txn *t2 = hist_txn_begin(&h, 0, "txn", HIST_BEGIN_DEFERRED, 21);
	hist_stmt_add(&h, t2, "SELECT 1", "txn.unmapped", NULL, 0, SQLITE_DONE, 0, 0, 0, NULL,
		      false);
	hist_stmt_add(&h, t2, "SELECT 2", NULL, NULL, 0, SQLITE_DONE, 0, 0, 0, NULL, false);
	hist_txn_end(&h, t2, HIST_COMMITTED, SQLITE_OK, 22);

	struct hist_txn *t3 = hist_txn_begin(&h, 1, "txn", HIST_BEGIN_DEFERRED, 23);
	stmt_rows(&h, t3, wl, "txn.a1", 1, 11, SQLITE_DONE, NULL, 0);
	hist_txn_commit_start(&h, t3);
	hist_txn_end(&h, t3, HIST_INDETERMINATE, SQLITE_IOERR, 25);

	struct hist_txn *t4 = hist_txn_begin(&h, 1, "read_two", HIST_BEGIN_DEFERRED, 30);
	stmt_rows(&h, t4, wl, "read_two.r1", 2, 0, SQLITE_DONE, r5, 1);
	struct hist_txn *t5 = hist_txn_begin(&h, 0, "read_two", HIST_BEGIN_DEFERRED, 31);
	stmt_rows(&h, t5, wl, "read_two.r1", 2, 0, SQLITE_DONE, NULL, 0);
	stmt_rows(&h, t5, wl, "read_two.r2", 6, 0, SQLITE_DONE, r5, 1);
	hist_txn_end(&h, t5, HIST_COMMITTED, SQLITE_OK, 40);
	/* t4 never ends: RUNNING */

	struct tmpdir d;
	tmpdir_make(&d);
	char err[256] = "x";
	assert_int_equal(elle_write(d.path, &h, wl, err, sizeof err), 0);
	assert_string_equal(err, "");
	expect_file(d.path,
		    "{:type :invoke, :f :txn, :value [[:append 3 7] [:r 4 nil]], :process 0, :time 10000, :index 0}\n"
		    "{:type :invoke, :f :txn, :value [[:r 3 nil] [:append 4 9]], :process 1, :time 11000, :index 1}\n"
		    "{:type :ok, :f :txn, :value [[:append 3 7] [:r 4 [1 2 7]]], :process 0, :time 15000, :index 2}\n"
		    "{:type :fail, :f :txn, :value [[:r 3 nil] [:append 4 9]], :process 1, :time 20000, :index 3}\n"
		    "{:type :invoke, :f :txn, :value [], :process 0, :time 21000, :index 4}\n"
		    "{:type :ok, :f :txn, :value [], :process 0, :time 22000, :index 5}\n"
		    "{:type :invoke, :f :txn, :value [[:append 1 11]], :process 1, :time 23000, :index 6}\n"
		    "{:type :info, :f :txn, :value [[:append 1 11]], :process 1, :time 25000, :index 7}\n"
		    "{:type :invoke, :f :txn, :value [[:r 2 nil]], :process 3, :time 30000, :index 8}\n"
		    "{:type :invoke, :f :txn, :value [[:r 2 nil] [:r 6 nil]], :process 0, :time 31000, :index 9}\n"
		    "{:type :ok, :f :txn, :value [[:r 2 []] [:r 6 [5]]], :process 0, :time 40000, :index 10}\n"
		    "{:type :info, :f :txn, :value [[:r 2 nil]], :process 3, :time 40000, :index 11}\n");
	tmpdir_remove(&d);
	hist_free(&h);
}

/* rw-register: [:w k v], reads of the first row (no row or NULL: nil),
 * an autocommit write, an empty history, and a crash giving every
 * connection a fresh process (conn + crashes * conn_slots). */
static void test_rw_register_lines(void **state)
{
	(void)state;
	const struct workload *wl = wl_find("rw-register");
	assert_non_null(wl);
	struct tmpdir d;
	tmpdir_make(&d);
	char err[256];

	struct history h;
	hist_init(&h);
	assert_int_equal(elle_write(d.path, &h, wl, err, sizeof err), 0);
	expect_file(d.path, ""); /* no transactions, no lines */

	static const int64_t r5[] = {5, 8};
	struct hist_txn *t0 = hist_txn_begin(&h, 1, "write_one", HIST_BEGIN_AUTOCOMMIT, 1);
	hist_txn_commit_start(&h, t0);
	stmt_rows(&h, t0, wl, "write_one.w", 2, 5, SQLITE_DONE, NULL, 0);
	hist_txn_end(&h, t0, HIST_COMMITTED, SQLITE_DONE, 2);

	struct hist_txn *t1 = hist_txn_begin(&h, 0, "txn", HIST_BEGIN_DEFERRED, 3);
	stmt_rows(&h, t1, wl, "txn.r1", 2, 0, SQLITE_DONE, r5, 2);
	stmt_rows(&h, t1, wl, "txn.r2", 3, 0, SQLITE_DONE, NULL, 0);
	struct wh_value null_cell = {.type = SQLITE_NULL};
	stmt_cells(&h, t1, wl, "txn.r3", 4, 0, SQLITE_DONE, &null_cell, 1);
	stmt_rows(&h, t1, wl, "txn.w3", 1, 9, SQLITE_DONE, NULL, 0);
	hist_txn_commit_start(&h, t1);
	hist_txn_end(&h, t1, HIST_COMMITTED, SQLITE_OK, 6);

	struct hist_txn *t2 = hist_txn_begin(&h, 1, "txn", HIST_BEGIN_DEFERRED, 7);
	stmt_rows(&h, t2, wl, "txn.w1", 2, 6, SQLITE_DONE, NULL, 0);
	hist_txn_commit_start(&h, t2);
	hist_txn_end(&h, t2, HIST_INDETERMINATE, SQLITE_IOERR, 8); /* cut by the crash */
	hist_crash_add(&h, HIST_CRASH_POWER_LOSS);

	struct hist_txn *t3 = hist_txn_begin(&h, 0, "txn", HIST_BEGIN_DEFERRED, 9);
	stmt_rows(&h, t3, wl, "txn.r1", 2, 0, SQLITE_DONE, r5, 1);
	hist_txn_end(&h, t3, HIST_COMMITTED, SQLITE_OK, 10);
	struct hist_txn *t4 = hist_txn_begin(&h, 1, "txn", HIST_BEGIN_DEFERRED, 11);
	hist_txn_end(&h, t4, HIST_ABORTED, SQLITE_BUSY, 12);

	assert_int_equal(elle_write(d.path, &h, wl, err, sizeof err), 0);
	expect_file(d.path,
		    "{:type :invoke, :f :txn, :value [[:w 2 5]], :process 1, :time 1000, :index 0}\n"
		    "{:type :ok, :f :txn, :value [[:w 2 5]], :process 1, :time 2000, :index 1}\n"
		    "{:type :invoke, :f :txn, :value [[:r 2 nil] [:r 3 nil] [:r 4 nil] [:w 1 9]], :process 0, :time 3000, :index 2}\n"
		    "{:type :ok, :f :txn, :value [[:r 2 5] [:r 3 nil] [:r 4 nil] [:w 1 9]], :process 0, :time 6000, :index 3}\n"
		    "{:type :invoke, :f :txn, :value [[:w 2 6]], :process 1, :time 7000, :index 4}\n"
		    "{:type :info, :f :txn, :value [[:w 2 6]], :process 1, :time 8000, :index 5}\n"
		    "{:type :invoke, :f :txn, :value [[:r 2 nil]], :process 2, :time 9000, :index 6}\n"
		    "{:type :ok, :f :txn, :value [[:r 2 5]], :process 2, :time 10000, :index 7}\n"
		    "{:type :invoke, :f :txn, :value [], :process 5, :time 11000, :index 8}\n"
		    "{:type :fail, :f :txn, :value [], :process 5, :time 12000, :index 9}\n");
	tmpdir_remove(&d);
	hist_free(&h);
}

/* A workload without a shape: exit-style 2, the one-line message, and no
 * file (nor a temporary one). */
static void test_no_shape(void **state)
{
	(void)state;
	struct history h;
	hist_init(&h);
	struct hist_txn *t = hist_txn_begin(&h, 0, "transfer", HIST_BEGIN_DEFERRED, 1);
	hist_txn_end(&h, t, HIST_COMMITTED, SQLITE_OK, 2);
	struct tmpdir d;
	tmpdir_make(&d);
	char err[256] = "";
	assert_int_equal(elle_write(d.path, &h, wl_find("bank"), err, sizeof err), 2);
	assert_string_equal(err,
			    "workload 'bank' declares no Elle shape (\\shape list-append|rw-register)");
	assert_int_equal(tmpdir_entries(&d), 0);
	/* a short buffer is truncated, never overrun */
	char small[8];
	assert_int_equal(elle_write(d.path, &h, wl_find("default"), small, sizeof small), 2);
	assert_string_equal(small, "workloa");
	assert_int_equal(elle_write(d.path, &h, wl_find("default"), NULL, 0), 2);
	assert_int_equal(tmpdir_entries(&d), 0);
	tmpdir_remove(&d);
	hist_free(&h);
}

/* A path in a missing directory, or a directory in the way of the rename:
 * 2, "cannot write 'PATH': ...", one line, no temporary file left. */
static void test_unwritable_path(void **state)
{
	(void)state;
	struct history h;
	hist_init(&h);
	struct tmpdir d;
	tmpdir_make(&d);
	char path[192];
	snprintf(path, sizeof path, "%s/missing/h.edn", d.dir);
	char err[256] = "";
	assert_int_equal(elle_write(path, &h, wl_find("list-append"), err, sizeof err), 2);
	char want[256];
	snprintf(want, sizeof want, "cannot write '%s': ", path);
	assert_memory_equal(err, want, strlen(want));
	assert_null(strchr(err, '\n'));
	assert_int_equal(tmpdir_entries(&d), 0);
	/* a directory in the way: the rename fails, the temporary goes */
	assert_int_equal(mkdir(d.path, 0700), 0);
	assert_int_equal(elle_write(d.path, &h, wl_find("list-append"), err, sizeof err), 2);
	snprintf(want, sizeof want, "cannot write '%s': ", d.path);
	assert_memory_equal(err, want, strlen(want));
	assert_int_equal(tmpdir_entries(&d), 1);
	assert_int_equal(rmdir(d.path), 0);
	tmpdir_remove(&d);
	hist_free(&h);
}

/* A key Elle cannot represent (text) and a list cell that is NULL: 2 with
 * the transaction and statement named; an existing file is left as it
 * was and no temporary file remains. */
static void test_non_integer(void **state)
{
	(void)state;
	const struct workload *wl = wl_find("list-append");
	struct tmpdir d;
	tmpdir_make(&d);
	FILE *f = fopen(d.path, "w");
	assert_non_null(f);
	fputs("previous\n", f);
	fclose(f);

	struct history h;
	hist_init(&h);
	struct hist_txn *t = hist_txn_begin(&h, 0, "txn", HIST_BEGIN_DEFERRED, 1);
	const struct wl_elle_op *op = op_of(wl, "txn.a1");
	struct wh_value params[2] = {{.type = SQLITE_INTEGER, .i = 1},
				     {.type = SQLITE_INTEGER, .i = 2}};
	params[op->key_param - 1] =
		(struct wh_value){.type = SQLITE_TEXT, .n = 3, .p = (unsigned char *)"abc"};
	hist_stmt_add(&h, t, "INSERT", "txn.a1", params, 2, SQLITE_DONE, 1, 0, 0, NULL, false);
	hist_txn_end(&h, t, HIST_COMMITTED, SQLITE_OK, 2);
	char err[256] = "";
	assert_int_equal(elle_write(d.path, &h, wl, err, sizeof err), 2);
	char want[128];
	snprintf(want, sizeof want,
		 "transaction 0 statement 'txn.a1': the Elle key ?%u is not an integer",
		 op->key_param);
	assert_string_equal(err, want);
	expect_file(d.path, "previous\n");
	assert_int_equal(tmpdir_entries(&d), 1);
	hist_free(&h);

	hist_init(&h);
	t = hist_txn_begin(&h, 0, "txn", HIST_BEGIN_DEFERRED, 1);
	struct wh_value cells[2] = {{.type = SQLITE_INTEGER, .i = 4}, {.type = SQLITE_NULL}};
	stmt_cells(&h, t, wl, "txn.r1", 1, 0, SQLITE_DONE, cells, 2);
	hist_txn_end(&h, t, HIST_COMMITTED, SQLITE_OK, 2);
	assert_int_equal(elle_write(d.path, &h, wl, err, sizeof err), 2);
	assert_string_equal(err,
			    "transaction 0 statement 'txn.r1': row 2 of an Elle read is not an integer");
	expect_file(d.path, "previous\n");
	/* the same transaction aborted never shows its reads: it exports */
	hist_free(&h);
	hist_init(&h);
	t = hist_txn_begin(&h, 0, "txn", HIST_BEGIN_DEFERRED, 1);
	stmt_cells(&h, t, wl, "txn.r1", 1, 0, SQLITE_DONE, cells, 2);
	hist_txn_end(&h, t, HIST_ABORTED, SQLITE_BUSY, 2);
	assert_int_equal(elle_write(d.path, &h, wl, err, sizeof err), 0);
	expect_file(d.path,
		    "{:type :invoke, :f :txn, :value [[:r 1 nil]], :process 0, :time 1000, :index 0}\n"
		    "{:type :fail, :f :txn, :value [[:r 1 nil]], :process 0, :time 2000, :index 1}\n");
	tmpdir_remove(&d);
	hist_free(&h);
}

/* ------------------------------------------------------------------ */
/* A small EDN reader                                                  */
/* ------------------------------------------------------------------ */

/* Enough of EDN for these files: nil, true, false, integers, keywords,
 * vectors and maps, separated by whitespace or commas. One line is one
 * value; the reader builds a tree in a fixed pool and reports the first
 * error with its column. */
enum edn_kind { EDN_NIL, EDN_BOOL, EDN_INT, EDN_KEYWORD, EDN_VECTOR, EDN_MAP };

#define EDN_NODES_MAX 8192
#define EDN_DEPTH_MAX 16

struct edn_node {
	enum edn_kind kind;
	int64_t i;            /* EDN_INT, EDN_BOOL */
	const char *start;    /* the value's text */
	size_t len;
	int first_child;      /* vector elements / map keys and values, or -1 */
	int next_sibling;     /* or -1 */
	uint32_t count;       /* children */
};

struct edn_reader {
	const char *s;        /* the line (NUL-terminated, no newline) */
	size_t at;
	struct edn_node nodes[EDN_NODES_MAX];
	int node_count;
	char err[160];
};

static bool edn_is_delim(char c)
{
	return c == '\0' || c == ' ' || c == ',' || c == '\t' || c == ']' || c == '}' ||
	       c == '[' || c == '{';
}

static bool edn_is_sym(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-_?!*+./<>=", c) != NULL;
}

static void edn_skip_ws(struct edn_reader *r)
{
	while (r->s[r->at] == ' ' || r->s[r->at] == ',' || r->s[r->at] == '\t')
		r->at++;
}

static int edn_error(struct edn_reader *r, const char *what)
{
	if (r->err[0] == '\0')
		snprintf(r->err, sizeof r->err, "column %zu: %s", r->at + 1, what);
	return -1;
}

static int edn_read(struct edn_reader *r, int depth);

/* Children until `close`; returns the first child or -1. */
static int edn_read_seq(struct edn_reader *r, int depth, char close, uint32_t *count)
{
	int first = -1, last = -1;
	*count = 0;
	for (;;) {
		edn_skip_ws(r);
		if (r->s[r->at] == close) {
			r->at++;
			return first;
		}
		if (r->s[r->at] == '\0')
			return edn_error(r, "unclosed vector or map"), -2;
		int k = edn_read(r, depth + 1);
		if (k < 0)
			return -2;
		if (last >= 0)
			r->nodes[last].next_sibling = k;
		else
			first = k;
		last = k;
		(*count)++;
	}
}

/* Read one value at r->at; returns its node index or -1. */
static int edn_read(struct edn_reader *r, int depth)
{
	if (depth > EDN_DEPTH_MAX)
		return edn_error(r, "nested too deep");
	if (r->node_count == EDN_NODES_MAX)
		return edn_error(r, "too many values");
	edn_skip_ws(r);
	int k = r->node_count++;
	struct edn_node *n = &r->nodes[k];
	memset(n, 0, sizeof *n);
	n->first_child = n->next_sibling = -1;
	n->start = r->s + r->at;
	char c = r->s[r->at];
	if (c == '[' || c == '{') {
		r->at++;
		uint32_t count;
		int first = edn_read_seq(r, depth, c == '[' ? ']' : '}', &count);
		if (first == -2)
			return -1;
		n = &r->nodes[k];
		n->kind = c == '[' ? EDN_VECTOR : EDN_MAP;
		n->first_child = first;
		n->count = count;
		if (n->kind == EDN_MAP && count % 2 != 0)
			return edn_error(r, "a map with a key and no value");
	} else if (c == ':') {
		r->at++;
		char first = r->s[r->at];
		if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z')))
			return edn_error(r, "a keyword must start with a letter");
		while (edn_is_sym(r->s[r->at]))
			r->at++;
		n->kind = EDN_KEYWORD;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		size_t digits_at = r->at + (c == '-');
		if (!(r->s[digits_at] >= '0' && r->s[digits_at] <= '9'))
			return edn_error(r, "a sign without digits");
		if (r->s[digits_at] == '0' && r->s[digits_at + 1] >= '0' && r->s[digits_at + 1] <= '9')
			return edn_error(r, "an integer with a leading zero");
		errno = 0;
		char *end;
		long long v = strtoll(r->s + r->at, &end, 10);
		if (errno != 0)
			return edn_error(r, "an integer out of range");
		r->at = (size_t)(end - r->s);
		n->kind = EDN_INT;
		n->i = v;
	} else {
		static const char *const words[] = {"nil", "true", "false"};
		size_t w;
		for (w = 0; w < 3; w++) {
			size_t len = strlen(words[w]);
			if (strncmp(r->s + r->at, words[w], len) == 0 &&
			    edn_is_delim(r->s[r->at + len])) {
				r->at += len;
				break;
			}
		}
		if (w == 3)
			return edn_error(r, "not a value");
		n->kind = w == 0 ? EDN_NIL : EDN_BOOL;
		n->i = w == 1;
	}
	n = &r->nodes[k];
	n->len = (size_t)(r->s + r->at - n->start);
	if (!edn_is_delim(r->s[r->at]))
		return edn_error(r, "no delimiter after a value");
	return k;
}

static bool edn_text_is(const struct edn_node *n, const char *text)
{
	return n->len == strlen(text) && memcmp(n->start, text, n->len) == 0;
}

/* One line: exactly one map. Returns its node index, or -1 with r->err. */
static int edn_read_line(struct edn_reader *r, const char *line)
{
	memset(r->err, 0, sizeof r->err);
	r->s = line;
	r->at = 0;
	r->node_count = 0;
	int top = edn_read(r, 0);
	if (top < 0)
		return -1;
	edn_skip_ws(r);
	if (r->s[r->at] != '\0')
		return edn_error(r, "more than one value on the line");
	if (r->nodes[top].kind != EDN_MAP)
		return edn_error(r, "the line is not a map");
	/* map keys are distinct */
	for (int a = r->nodes[top].first_child; a >= 0; a = r->nodes[r->nodes[a].next_sibling].next_sibling)
		for (int b = r->nodes[r->nodes[a].next_sibling].next_sibling; b >= 0;
		     b = r->nodes[r->nodes[b].next_sibling].next_sibling)
			if (r->nodes[a].len == r->nodes[b].len &&
			    memcmp(r->nodes[a].start, r->nodes[b].start, r->nodes[a].len) == 0)
				return edn_error(r, "a map key twice");
	return top;
}

/* The value under keyword key in map m, or NULL. */
static const struct edn_node *edn_get(const struct edn_reader *r, int m, const char *key)
{
	for (int k = r->nodes[m].first_child; k >= 0;) {
		int v = r->nodes[k].next_sibling;
		if (r->nodes[k].kind == EDN_KEYWORD && edn_text_is(&r->nodes[k], key))
			return &r->nodes[v];
		k = r->nodes[v].next_sibling;
	}
	return NULL;
}

/* The reader itself: what it accepts and what it refuses. */
static void test_edn_reader(void **state)
{
	(void)state;
	static struct edn_reader r;
	static const char *const good[] = {
		"{}",
		"{:a 1, :b [nil true false -3 [] {}], :c {:d [[:r 1 [2 3]]]}}",
		"{:type :ok :index 0}",
	};
	for (size_t k = 0; k < sizeof good / sizeof good[0]; k++)
		if (edn_read_line(&r, good[k]) < 0)
			fail_msg("refused %s: %s", good[k], r.err);
	static const char *const bad[] = {
		"",          "{:a}",      "{:a 1",      "{:a [1 2}", "{:a 1}}",   "[1 2]",
		"{:a 01}",   "{:a -}",    "{:a nul}",   "{:a 1x}",   "{:1 2}",    "{:a 1 :a 2}",
		"{:a 99999999999999999999}", "{} {}",   "{:a \"s\"}",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		if (edn_read_line(&r, bad[k]) >= 0)
			fail_msg("accepted %s", bad[k]);
}

/* ------------------------------------------------------------------ */
/* Checking an exported run                                            */
/* ------------------------------------------------------------------ */

struct proc_state {
	uint64_t process;
	char *invoked;            /* the outstanding invoke's :value, or NULL */
};

struct check_totals {
	uint64_t lines;
	uint64_t ok, fail, info;
	uint64_t reads_observed;  /* :r with a value in :ok completions */
	uint64_t renumbered;      /* operations on a process >= conn_slots */
};

/* Checks a micro-op vector: [[:append k v] | [:r k X] | [:w k v] ...];
 * X is nil when !observed, else a vector of integers (list-append) or an
 * integer or nil (rw-register). Returns the number of micro-ops. */
static uint32_t check_value(const struct edn_reader *r, const struct edn_node *v,
			    bool list_append, bool observed, uint64_t *reads_observed)
{
	assert_int_equal(v->kind, EDN_VECTOR);
	for (int k = v->first_child; k >= 0; k = r->nodes[k].next_sibling) {
		const struct edn_node *op = &r->nodes[k];
		assert_int_equal(op->kind, EDN_VECTOR);
		assert_int_equal(op->count, 3);
		const struct edn_node *f = &r->nodes[op->first_child];
		const struct edn_node *key = &r->nodes[f->next_sibling];
		const struct edn_node *x = &r->nodes[key->next_sibling];
		assert_int_equal(f->kind, EDN_KEYWORD);
		assert_int_equal(key->kind, EDN_INT);
		if (edn_text_is(f, ":r")) {
			if (!observed) {
				assert_int_equal(x->kind, EDN_NIL);
			} else if (list_append) {
				assert_int_equal(x->kind, EDN_VECTOR);
				for (int e = x->first_child; e >= 0; e = r->nodes[e].next_sibling)
					assert_int_equal(r->nodes[e].kind, EDN_INT);
				(*reads_observed)++;
			} else {
				assert_true(x->kind == EDN_INT || x->kind == EDN_NIL);
				(*reads_observed)++;
			}
		} else {
			assert_true(edn_text_is(f, list_append ? ":append" : ":w"));
			assert_int_equal(x->kind, EDN_INT);
		}
	}
	return v->count;
}

/* The exported file of history h: well-formed EDN, one map of the six
 * keys per line, :index 0..2n-1 in order, time never going back, per
 * process invoke and completion alternating (never two outstanding), one
 * completion per transaction with the history's outcome counts, and
 * :fail/:info values equal to what was invoked. */
static void check_export(const char *path, const struct history *h, bool list_append,
			 struct check_totals *tot)
{
	static struct edn_reader r;
	char *text = slurp(path);
	uint32_t conn_slots = 1;
	uint64_t want_ok = 0, want_fail = 0, want_info = 0;
	for (uint32_t id = 0; id < h->txn_count; id++) {
		const struct hist_txn *t = h->txns[id];
		if ((uint32_t)t->conn + 1 > conn_slots)
			conn_slots = (uint32_t)t->conn + 1;
		want_ok += t->outcome == HIST_COMMITTED;
		want_fail += t->outcome == HIST_ABORTED;
		want_info += t->outcome == HIST_INDETERMINATE || t->outcome == HIST_RUNNING;
	}
	struct proc_state *procs = calloc(2 * (size_t)h->txn_count + 1, sizeof *procs);
	assert_non_null(procs);
	uint32_t proc_count = 0;
	uint64_t index = 0, ok = 0, fail = 0, info = 0, time_prev = 0;
	size_t text_len = strlen(text);
	assert_true(text_len == 0 || text[text_len - 1] == '\n');
	for (char *line = text, *nl; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		int m = edn_read_line(&r, line);
		if (m < 0)
			fail_msg("line %" PRIu64 " is not EDN (%s): %s", index + 1, r.err, line);
		assert_int_equal(r.nodes[m].count, 12); /* six keys */
		const struct edn_node *type = edn_get(&r, m, ":type");
		const struct edn_node *f = edn_get(&r, m, ":f");
		const struct edn_node *value = edn_get(&r, m, ":value");
		const struct edn_node *process = edn_get(&r, m, ":process");
		const struct edn_node *time = edn_get(&r, m, ":time");
		const struct edn_node *idx = edn_get(&r, m, ":index");
		assert_true(type && f && value && process && time && idx);
		assert_true(edn_text_is(f, ":txn"));
		assert_int_equal(idx->kind, EDN_INT);
		assert_int_equal(idx->i, index);
		assert_int_equal(process->kind, EDN_INT);
		assert_true(process->i >= 0);
		assert_int_equal(time->kind, EDN_INT);
		assert_true(time->i >= (int64_t)time_prev);
		time_prev = (uint64_t)time->i;
		if ((uint64_t)process->i >= conn_slots)
			tot->renumbered++;

		uint32_t p;
		for (p = 0; p < proc_count; p++)
			if (procs[p].process == (uint64_t)process->i)
				break;
		if (p == proc_count) {
			procs[proc_count].process = (uint64_t)process->i;
			proc_count++;
		}
		char *val = strndup(value->start, value->len);
		assert_non_null(val);
		if (edn_text_is(type, ":invoke")) {
			if (procs[p].invoked != NULL)
				fail_msg("line %" PRIu64 ": process %" PRId64
					 " invokes with an operation outstanding",
					 index + 1, process->i);
			check_value(&r, value, list_append, false, &tot->reads_observed);
			procs[p].invoked = val;
		} else {
			if (procs[p].invoked == NULL)
				fail_msg("line %" PRIu64 ": process %" PRId64
					 " completes with nothing outstanding",
					 index + 1, process->i);
			if (edn_text_is(type, ":ok")) {
				ok++;
				uint32_t n = check_value(&r, value, list_append, true,
							 &tot->reads_observed);
				uint32_t invoked = 0;
				for (const char *c = procs[p].invoked; *c; c++)
					invoked += c[0] == '[' && c[1] == ':';
				assert_true(n <= invoked);
			} else {
				assert_true(edn_text_is(type, ":fail") || edn_text_is(type, ":info"));
				fail += edn_text_is(type, ":fail");
				info += edn_text_is(type, ":info");
				assert_string_equal(val, procs[p].invoked);
			}
			free(procs[p].invoked);
			procs[p].invoked = NULL;
			free(val);
		}
		index++;
	}
	assert_int_equal(index, 2 * (uint64_t)h->txn_count);
	assert_int_equal(ok, want_ok);
	assert_int_equal(fail, want_fail);
	assert_int_equal(info, want_info);
	for (uint32_t p = 0; p < proc_count; p++)
		if (procs[p].invoked != NULL)
			fail_msg("process %" PRIu64 " is left with an invoke outstanding",
				 procs[p].process);
	tot->lines += index;
	tot->ok += ok;
	tot->fail += fail;
	tot->info += info;
	free(procs);
	free(text);
}

/* One run of workload name, exported and checked. */
static void run_export(const char *name, uint64_t seed, enum world_faults faults,
		       struct check_totals *tot, uint64_t *crashes)
{
	const struct workload *wl = wl_find(name);
	assert_non_null(wl);
	struct world_config cfg;
	world_config_default(&cfg);
	cfg.seed = seed;
	cfg.workload = wl;
	cfg.conn_count = 4;
	cfg.txn_count = 100;
	cfg.faults = faults;
	struct world_result res;
	assert_int_equal(world_run(&cfg, &res), 0);
	assert_int_equal(res.history.txn_count, 100);
	*crashes += res.history.crash_count;
	struct tmpdir d;
	tmpdir_make(&d);
	char err[256] = "";
	if (elle_write(d.path, &res.history, wl, err, sizeof err) != 0)
		fail_msg("seed %" PRIu64 ": %s", seed, err);
	assert_int_equal(tmpdir_entries(&d), 1); /* no temporary left */
	check_export(d.path, &res.history, strcmp(wl->shape, "list-append") == 0, tot);
	tmpdir_remove(&d);
	world_result_free(&res);
}

/* list-append, 4 connections, 100 transactions, 5 seeds: well-formed, one
 * invoke and one completion per transaction, real reads observed. */
static void test_run_list_append(void **state)
{
	(void)state;
	struct check_totals tot;
	memset(&tot, 0, sizeof tot);
	uint64_t crashes = 0;
	for (uint64_t seed = 1; seed <= 5; seed++)
		run_export("list-append", seed, WORLD_FAULTS_NONE, &tot, &crashes);
	assert_int_equal(tot.lines, 5 * 200);
	assert_true(tot.ok > 0);
	assert_true(tot.reads_observed > 0);
	assert_int_equal(tot.renumbered, 0); /* no crash, no :info: no renumbering */
}

/* rw-register, the same. */
static void test_run_rw_register(void **state)
{
	(void)state;
	struct check_totals tot;
	memset(&tot, 0, sizeof tot);
	uint64_t crashes = 0;
	for (uint64_t seed = 1; seed <= 5; seed++)
		run_export("rw-register", seed, WORLD_FAULTS_NONE, &tot, &crashes);
	assert_int_equal(tot.lines, 5 * 200);
	assert_true(tot.ok > 0);
	assert_true(tot.reads_observed > 0);
}

/* Runs with power losses (and chaos): connections come back as new
 * processes, :info appears, and still no process ever has two
 * operations outstanding. */
static void test_run_crashes(void **state)
{
	(void)state;
	struct check_totals tot;
	memset(&tot, 0, sizeof tot);
	uint64_t crashes = 0;
	for (uint64_t seed = 1; seed <= 6; seed++) {
		run_export("list-append", seed, WORLD_FAULTS_CRASH, &tot, &crashes);
		run_export("rw-register", seed, WORLD_FAULTS_CHAOS, &tot, &crashes);
	}
	assert_true(crashes > 0);
	assert_true(tot.renumbered > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_append_lines),
		cmocka_unit_test(test_rw_register_lines),
		cmocka_unit_test(test_no_shape),
		cmocka_unit_test(test_unwritable_path),
		cmocka_unit_test(test_non_integer),
		cmocka_unit_test(test_edn_reader),
		cmocka_unit_test(test_run_list_append),
		cmocka_unit_test(test_run_rw_register),
		cmocka_unit_test(test_run_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
