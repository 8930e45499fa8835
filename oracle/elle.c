/*
 * elle.c - a run's history as an Elle (Jepsen) EDN history, for workloads
 * that declare a shape (\shape list-append | rw-register), so that elle-cli
 * can cross-check what the oracle concluded.
 *
 * Format: one EDN map per line, nothing else in the file:
 *
 *   {:type :invoke, :f :txn, :value [[:append 3 7] [:r 4 nil]], :process 2, :time 12000, :index 0}
 *   {:type :ok, :f :txn, :value [[:append 3 7] [:r 4 [1 2 7]]], :process 2, :time 15000, :index 1}
 *
 * Every transaction of the history yields exactly one :invoke and one
 * completion: :ok when it committed, :fail when it aborted, :info when it
 * is indeterminate (an I/O error or a crash cut its COMMIT) or was still
 * running when the run ended.
 *
 * Micro-operations. A statement stands for one micro-operation when the
 * workload's Elle map (workload.elle_ops) names its template
 * (hist_stmt.tmpl, "template.statement"); other statements stand for none,
 * and a transaction without mapped statements carries an empty vector.
 * Keys and values are the statement's bound parameters ?key_param and
 * ?value_param, which must be integers:
 *   list-append   [:append k v]; a read is [:r k [v1 v2 ...]], the first
 *                 column of every result row, in row order (the workload
 *                 orders them by position);
 *   rw-register   [:w k v]; a read is [:r k v], the first column of the
 *                 first row, nil when there is no row or it is NULL.
 * An :invoke lists the micro-operations of every mapped statement the
 * transaction ran (whatever its rc), with reads as nil. An :ok completion
 * lists only those of statements that succeeded (SQLITE_DONE), reads with
 * what they returned. :fail and :info completions repeat the invoked value:
 * nothing was observed that Elle could rely on.
 *
 * Order and indexes. The history's global event counter orders everything:
 * an :invoke sits at its transaction's begin_event, a completion at its
 * end_event; the two sequences are merged, and transactions still running
 * at the end complete after everything else, in id order. :index counts
 * 0, 1, 2, ... over the whole file in that order. :time is simulated time
 * in nanoseconds (begin_us, end_us; a running transaction's completion
 * takes the latest time in the history).
 *
 * Processes. Elle requires a process to have at most one operation
 * outstanding, and by Jepsen's convention a process whose operation ended
 * in :info is gone: the worker continues as a new process. A connection
 * runs one transaction at a time, but a crash ends every connection's
 * process, and an :info completion ends that connection's process. So a
 * transaction's process is conn + epoch * conn_slots, where conn_slots is
 * one more than the largest connection id in the history and epoch counts
 * the crashes recorded before the transaction began plus the connection's
 * earlier transactions that completed with :info. Distinct (conn, epoch)
 * pairs give distinct processes, and a connection's epoch never goes down.
 *
 * Invariants asserted: transaction ids are their index; begin events grow
 * with the id; a finished transaction ended after it began; a running one
 * has no end event; crashes are in event order; a mapped parameter index
 * is within the statement's parameters. Data that Elle cannot represent
 * (a key, value or read cell that is not an integer) is an operating
 * error: elle_write returns 2 and leaves no file.
 */
#include "elle.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wh.h"

/* Simulated microseconds that still fit in uint64 nanoseconds. */
#define ELLE_US_MAX (UINT64_MAX / 1000u)

/* ------------------------------------------------------------------ */
/* Writer state                                                        */
/* ------------------------------------------------------------------ */

enum elle_value_mode {
	ELLE_VALUE_INVOKED,  /* every mapped statement, reads as nil */
	ELLE_VALUE_OBSERVED, /* succeeded statements only, reads with results */
};

struct elle_writer {
	FILE *f;                      /* the temporary file */
	const struct history *h;      /* what is exported (not owned) */
	const struct workload *wl;    /* its Elle map (not owned) */
	bool list_append;             /* shape: list-append (else rw-register) */
	uint64_t *process_of;         /* txn_count entries: Elle process */
	uint64_t index_next;          /* next :index to hand out */
	uint64_t time_max_us;         /* latest simulated time in the history */
	char *err;                    /* caller's buffer, may be NULL */
	size_t err_len;               /* its size in bytes */
	int rc;                       /* 0, or 2 once an error is recorded */
};

/* A completion's place in event order. */
struct elle_end {
	uint64_t event;               /* end_event, or UINT64_MAX: running */
	uint32_t txn_id;              /* tie-break among running ones */
};

/* Record the first error (a one-line message) and return 2. */
static int elle_fail(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int elle_fail(char *err, size_t err_len, const char *fmt, ...)
{
	if (err != NULL && err_len > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return 2;
}

/* ------------------------------------------------------------------ */
/* Micro-operations                                                    */
/* ------------------------------------------------------------------ */

/* The map entry for a statement's template, or NULL: not an Elle op. The
 * map is small (a few entries per template), so a linear scan is fine. */
static const struct wl_elle_op *elle_op_find(const struct workload *wl, const char *tmpl)
{
	if (tmpl == NULL)
		return NULL;
	for (uint32_t k = 0; k < wl->elle_op_count; k++) {
		WH_ASSERT(wl->elle_ops[k].tmpl != NULL);
		if (strcmp(wl->elle_ops[k].tmpl, tmpl) == 0)
			return &wl->elle_ops[k];
	}
	return NULL;
}

/* The integer bound to ?param_index (1-based), or an error naming what it
 * is (role: "key", "value"). */
static int elle_param(struct elle_writer *w, const struct hist_txn *t,
		      const struct hist_stmt *s, uint32_t param_index, const char *role,
		      int64_t *out)
{
	WH_ASSERT(param_index >= 1);
	WH_ASSERT(param_index <= s->param_count);
	const struct wh_value *v = &s->params[param_index - 1];
	if (v->type != SQLITE_INTEGER) {
		w->rc = elle_fail(w->err, w->err_len,
				  "transaction %" PRIu32 " statement '%s': the Elle %s ?%" PRIu32 " is not an integer",
				  t->id, s->tmpl, role, param_index);
		return w->rc;
	}
	*out = v->i;
	return 0;
}

/* The first column of row `row` as an integer, or *is_null. A NULL cell
 * is allowed only where nil is (register reads). */
static int elle_cell(struct elle_writer *w, const struct hist_txn *t,
		     const struct hist_stmt *s, uint32_t row, bool null_ok, int64_t *out,
		     bool *is_null)
{
	WH_ASSERT(row < s->row_count);
	WH_ASSERT(s->col_count >= 1);
	const struct wh_value *v = &s->cells[(size_t)row * s->col_count];
	*is_null = v->type == SQLITE_NULL;
	if (v->type == SQLITE_INTEGER) {
		*out = v->i;
		return 0;
	}
	if (*is_null && null_ok)
		return 0;
	w->rc = elle_fail(w->err, w->err_len,
			  "transaction %" PRIu32 " statement '%s': row %" PRIu32 " of an Elle read is not an integer",
			  t->id, s->tmpl, row + 1);
	return w->rc;
}

/* Write one micro-operation, "[:append k v]", "[:r k ...]" or "[:w k v]". */
static int elle_op_emit(struct elle_writer *w, const struct hist_txn *t,
			const struct hist_stmt *s, const struct wl_elle_op *op,
			enum elle_value_mode mode)
{
	int64_t key;
	if (elle_param(w, t, s, op->key_param, "key", &key) != 0)
		return w->rc;
	if (op->kind == WL_ELLE_APPEND || op->kind == WL_ELLE_WRITE) {
		WH_ASSERT(op->kind == WL_ELLE_APPEND ? w->list_append : !w->list_append);
		int64_t value;
		if (elle_param(w, t, s, op->value_param, "value", &value) != 0)
			return w->rc;
		fprintf(w->f, "[%s %" PRId64 " %" PRId64 "]",
			op->kind == WL_ELLE_APPEND ? ":append" : ":w", key, value);
		return 0;
	}
	WH_ASSERT_EQ(op->kind, WL_ELLE_READ);
	if (mode == ELLE_VALUE_INVOKED) {
		fprintf(w->f, "[:r %" PRId64 " nil]", key);
		return 0;
	}
	int64_t cell = 0;
	bool is_null = false;
	if (!w->list_append) {
		if (s->row_count > 0 && elle_cell(w, t, s, 0, true, &cell, &is_null) != 0)
			return w->rc;
		if (s->row_count == 0 || is_null)
			fprintf(w->f, "[:r %" PRId64 " nil]", key);
		else
			fprintf(w->f, "[:r %" PRId64 " %" PRId64 "]", key, cell);
		return 0;
	}
	fprintf(w->f, "[:r %" PRId64 " [", key);
	for (uint32_t row = 0; row < s->row_count; row++) {
		if (elle_cell(w, t, s, row, false, &cell, &is_null) != 0)
			return w->rc;
		WH_ASSERT(!is_null);
		fprintf(w->f, row ? " %" PRId64 : "%" PRId64, cell);
	}
	fputs("]]", w->f);
	return 0;
}

/* Write a transaction's :value vector: the micro-operations of its mapped
 * statements in statement order (mode says which, and what reads show). */
static int elle_value_emit(struct elle_writer *w, const struct hist_txn *t,
			   enum elle_value_mode mode)
{
	WH_ASSERT(t->stmt_count == 0 || t->stmts != NULL);
	fputc('[', w->f);
	uint32_t emitted = 0;
	for (uint32_t k = 0; k < t->stmt_count; k++) {
		const struct hist_stmt *s = &t->stmts[k];
		const struct wl_elle_op *op = elle_op_find(w->wl, s->tmpl);
		if (op == NULL)
			continue;
		if (mode == ELLE_VALUE_OBSERVED && s->rc != SQLITE_DONE)
			continue;
		if (emitted++ > 0)
			fputc(' ', w->f);
		if (elle_op_emit(w, t, s, op, mode) != 0)
			return w->rc;
	}
	WH_ASSERT(emitted <= t->stmt_count);
	fputc(']', w->f);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static const char *elle_completion_type(enum hist_outcome outcome)
{
	switch (outcome) {
	case HIST_COMMITTED:
		return ":ok";
	case HIST_ABORTED:
		return ":fail";
	case HIST_INDETERMINATE:
	case HIST_RUNNING:
		return ":info";
	}
	WH_UNREACHABLE();
}

/* Write one line: the transaction's :invoke (completion false) or its
 * completion. */
static int elle_event_emit(struct elle_writer *w, const struct hist_txn *t, bool completion)
{
	const char *type = ":invoke";
	enum elle_value_mode mode = ELLE_VALUE_INVOKED;
	uint64_t time_us = t->begin_us;
	if (completion) {
		type = elle_completion_type(t->outcome);
		if (t->outcome == HIST_COMMITTED)
			mode = ELLE_VALUE_OBSERVED;
		time_us = t->outcome == HIST_RUNNING ? w->time_max_us : t->end_us;
	}
	WH_ASSERT(time_us <= ELLE_US_MAX);
	fprintf(w->f, "{:type %s, :f :txn, :value ", type);
	if (elle_value_emit(w, t, mode) != 0)
		return w->rc;
	fprintf(w->f, ", :process %" PRIu64 ", :time %" PRIu64 ", :index %" PRIu64 "}\n",
		w->process_of[t->id], time_us * 1000u, w->index_next++);
	return 0;
}

/* Fill process_of (see the file comment) and time_max_us; checks the
 * history's ordering invariants on the way. */
static void elle_assign_processes(struct elle_writer *w)
{
	const struct history *h = w->h;
	uint64_t conn_slots = 1;
	for (uint32_t id = 0; id < h->txn_count; id++) {
		WH_ASSERT(h->txns[id]->conn >= 0);
		if ((uint64_t)h->txns[id]->conn + 1 > conn_slots)
			conn_slots = (uint64_t)h->txns[id]->conn + 1;
	}
	WH_ASSERT(conn_slots <= UINT32_MAX);
	uint64_t *info_count = wh_calloc(conn_slots, sizeof *info_count);
	uint32_t crashes_before = 0;
	uint64_t begin_prev = 0;
	w->time_max_us = 0;
	for (uint32_t id = 0; id < h->txn_count; id++) {
		const struct hist_txn *t = h->txns[id];
		WH_ASSERT_EQ(t->id, id);
		WH_ASSERT(id == 0 || t->begin_event > begin_prev);
		begin_prev = t->begin_event;
		while (crashes_before < h->crash_count &&
		       h->crashes[crashes_before].event < t->begin_event) {
			WH_ASSERT(crashes_before == 0 || h->crashes[crashes_before - 1].event <
								 h->crashes[crashes_before].event);
			crashes_before++;
		}
		uint64_t conn = (uint64_t)t->conn;
		uint64_t epoch = crashes_before + info_count[conn];
		w->process_of[id] = conn + epoch * conn_slots;
		if (t->outcome == HIST_INDETERMINATE || t->outcome == HIST_RUNNING)
			info_count[conn]++;
		if (t->begin_us > w->time_max_us)
			w->time_max_us = t->begin_us;
		if (t->outcome != HIST_RUNNING && t->end_us > w->time_max_us)
			w->time_max_us = t->end_us;
	}
	free(info_count);
}

static int elle_end_cmp(const void *a, const void *b)
{
	const struct elle_end *x = a;
	const struct elle_end *y = b;
	if (x->event != y->event)
		return x->event < y->event ? -1 : 1;
	if (x->txn_id != y->txn_id)
		return x->txn_id < y->txn_id ? -1 : 1;
	return 0;
}

/* Write every event: invokes in id (= begin_event) order merged with
 * completions in end_event order, running transactions last. */
static int elle_events_emit(struct elle_writer *w)
{
	const struct history *h = w->h;
	WH_ASSERT(h->event < UINT64_MAX);
	struct elle_end *ends = wh_calloc((size_t)h->txn_count + 1, sizeof *ends);
	for (uint32_t id = 0; id < h->txn_count; id++) {
		const struct hist_txn *t = h->txns[id];
		if (t->outcome == HIST_RUNNING) {
			ends[id].event = UINT64_MAX;
		} else {
			WH_ASSERT(t->end_event > t->begin_event);
			ends[id].event = t->end_event;
		}
		ends[id].txn_id = id;
	}
	qsort(ends, h->txn_count, sizeof *ends, elle_end_cmp);

	uint32_t next_invoke = 0;
	uint32_t next_end = 0;
	while (w->rc == 0 && next_end < h->txn_count) {
		/* Bounded: each round emits one of 2 * txn_count events. */
		WH_ASSERT(w->index_next < 2 * (uint64_t)h->txn_count);
		if (next_invoke < h->txn_count &&
		    h->txns[next_invoke]->begin_event < ends[next_end].event) {
			elle_event_emit(w, h->txns[next_invoke], false);
			next_invoke++;
		} else {
			/* Its invoke is out: it began before it ended. */
			WH_ASSERT(ends[next_end].txn_id < next_invoke);
			elle_event_emit(w, h->txns[ends[next_end].txn_id], true);
			next_end++;
		}
	}
	WH_ASSERT(w->rc != 0 || w->index_next == 2 * (uint64_t)h->txn_count);
	free(ends);
	return w->rc;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

/* Write every line of h to f. Returns 0, or 2 with the message in err. */
static int elle_file_emit(FILE *f, const struct history *h, const struct workload *wl,
			  bool list_append, char *err, size_t err_len)
{
	struct elle_writer w = {
		.f = f,
		.h = h,
		.wl = wl,
		.list_append = list_append,
		.process_of = wh_calloc((size_t)h->txn_count + 1, sizeof(uint64_t)),
		.err = err,
		.err_len = err_len,
	};
	elle_assign_processes(&w);
	int rc = elle_events_emit(&w);
	WH_ASSERT_EQ(rc, w.rc);
	free(w.process_of);
	return rc;
}

int elle_write(const char *path, const struct history *h, const struct workload *wl,
	       char *err, size_t err_len)
{
	WH_ASSERT(path != NULL);
	WH_ASSERT(h != NULL);
	WH_ASSERT(wl != NULL);
	if (err != NULL && err_len > 0)
		err[0] = '\0';
	const char *name = wl->name != NULL ? wl->name : "?";
	if (wl->shape == NULL)
		return elle_fail(err, err_len,
				 "workload '%s' declares no Elle shape (\\shape list-append|rw-register)",
				 name);
	bool list_append = strcmp(wl->shape, "list-append") == 0;
	if (!list_append && strcmp(wl->shape, "rw-register") != 0)
		return elle_fail(err, err_len,
				 "workload '%s' declares an unknown Elle shape '%s' (\\shape list-append|rw-register)",
				 name, wl->shape);
	WH_ASSERT(wl->elle_op_count == 0 || wl->elle_ops != NULL);

	/* The temporary name sits beside path, so rename() never crosses a
	 * file system. */
	size_t tmp_size = strlen(path) + 32;
	char *tmp_path = wh_malloc(tmp_size);
	snprintf(tmp_path, tmp_size, "%s.tmp%ld", path, (long)getpid());
	int rc = 0;
	FILE *f = fopen(tmp_path, "w");
	if (f == NULL) {
		rc = elle_fail(err, err_len, "cannot write '%s': %s", path, strerror(errno));
		goto out_free_tmp_path;
	}

	rc = elle_file_emit(f, h, wl, list_append, err, err_len);
	WH_ASSERT(rc == 0 || rc == 2);

	if (rc == 0 && ferror(f))
		rc = elle_fail(err, err_len, "cannot write '%s': %s", path, strerror(errno));
	if (fclose(f) != 0 && rc == 0)
		rc = elle_fail(err, err_len, "cannot write '%s': %s", path, strerror(errno));
	if (rc == 0 && rename(tmp_path, path) != 0)
		rc = elle_fail(err, err_len, "cannot write '%s': %s", path, strerror(errno));
	if (rc != 0)
		unlink(tmp_path); /* nothing half-written stays behind */
out_free_tmp_path:
	free(tmp_path);
	return rc;
}
