/*
 * run_templates.c - what each transaction template of a workload did in
 * a run: attempts, commits, aborts (chosen by the workload, busy,
 * expected errors, unexpected errors) by result code, indeterminate
 * commits and the simulated latency of its commits; printed in `run`'s
 * summary and `--json`.
 *
 * Why: a template whose every attempt fails (a constraint it always
 * violates, a typo in a table name) gives a passing run with most of its
 * transactions aborted, and nothing else says which template or why.
 *
 * Which errors are expected: BUSY and LOCKED always (counted apart as
 * busy: the concurrency's own answer); the codes the workload declares
 * with \expect for the statement that failed, or for its whole template
 * (workloads/README.md); and in a run with --faults, the errors faults
 * cause (I/O errors, a full disk, allocation failures, a damaged or
 * unreadable file). Any other error is unexpected: each template that
 * had one is a warning in the summary naming the codes, with the first
 * transaction, statement and values of each ("unexpected_errors" in
 * --json). A template that never committed in at least RT_WARN_ATTEMPTS
 * attempts with an unexpected error among its aborts is a warning too,
 * and the outcome "never_commits"; one whose aborts were all expected is
 * not warned about.
 *
 * Invariants: everything is computed from the history after the run, so
 * it never changes the run; templates are listed by name and codes by
 * value, the first of each by transaction id, so the output is a
 * function of the run alone.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rcname.h"
#include "run_templates.h"

#define RT_WARN_ATTEMPTS 3

static int rt_name_cmp(const void *a, const void *b)
{
	const struct rt_template *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static bool rc_is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* Errors that injected faults cause, whatever the workload does. */
static bool rc_from_faults(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
	case SQLITE_FULL:
	case SQLITE_CORRUPT:
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
	case SQLITE_PROTOCOL:
	case SQLITE_READONLY:
		return true;
	default:
		return false;
	}
}

static struct rt_template *find_or_add(struct rt_stats *st, const char *name)
{
	for (uint32_t i = 0; i < st->count; i++)
		if (strcmp(st->t[i].name, name) == 0)
			return &st->t[i];
	st->t = wh_realloc(st->t, (st->count + 1) * sizeof *st->t);
	struct rt_template *t = &st->t[st->count++];
	memset(t, 0, sizeof *t);
	t->name = name;
	return t;
}

/* Transactions are visited in id order, so the first one counted for a
 * code is its first. */
static void count_code(struct rt_template *t, const struct hist_txn *x,
		       const struct hist_stmt *failed, bool expected)
{
	WH_ASSERT(t->code_count <= RT_MAX_CODES);
	WH_ASSERT(failed == NULL || failed->rc == x->end_rc);
	for (uint32_t i = 0; i < t->code_count; i++)
		if (t->codes[i].rc == x->end_rc && t->codes[i].expected == expected) {
			t->codes[i].n++;
			return;
		}
	if (t->code_count < RT_MAX_CODES) {
		t->codes[t->code_count++] = (struct rt_code){x->end_rc, expected, 1, x->id, failed};
	} else {
		t->other_codes++;
	}
}

static int code_cmp(const void *a, const void *b)
{
	const struct rt_code *x = a, *y = b;
	if (x->rc != y->rc)
		return (x->rc > y->rc) - (x->rc < y->rc);
	return (int)x->expected - (int)y->expected;
}

/* The p-th percentile (0..100) of n sorted values, nearest rank. */
static uint64_t percentile(const uint64_t *v, uint32_t n, unsigned p)
{
	if (n == 0)
		return 0;
	uint64_t rank = ((uint64_t)p * n + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

/* The statement an aborted transaction failed in: its last one, when
 * that ended with the code the transaction did; NULL when something else
 * ended it (BEGIN or COMMIT failed, a crash killed the connection, the
 * workload rolled back). */
static const struct hist_stmt *failed_stmt(const struct hist_txn *x)
{
	if (x->stmt_count == 0 || x->end_rc == SQLITE_OK)
		return NULL;
	const struct hist_stmt *s = &x->stmts[x->stmt_count - 1];
	return s->rc != SQLITE_DONE && s->rc == x->end_rc ? s : NULL;
}

/* One aborted transaction into its template's counts. */
static void count_abort(struct rt_template *t, const struct hist_txn *x,
			const struct workload *wl, bool faults)
{
	WH_ASSERT(x->outcome == HIST_ABORTED);
	t->aborted++;
	const struct hist_stmt *failed = failed_stmt(x);
	bool expected = true;
	if (x->end_rc == SQLITE_OK) {
		t->rolled_back++;
	} else if (rc_is_busy(x->end_rc)) {
		t->busy++;
	} else if ((wl != NULL && x->name != NULL &&
		    wl_expected(wl, x->name, failed ? failed->tmpl : NULL, x->end_rc)) ||
		   (faults && rc_from_faults(x->end_rc))) {
		t->expected++;
	} else {
		t->unexpected++;
		expected = false;
	}
	count_code(t, x, failed, expected);
}

void rt_collect(const struct history *h, const struct workload *wl, bool faults,
		struct rt_stats *st)
{
	memset(st, 0, sizeof *st);
	uint64_t **lat = NULL; /* per template, its commit latencies */
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *x = h->txns[i];
		WH_ASSERT_EQ(x->id, i);
		struct rt_template *t = find_or_add(st, x->name ? x->name : "-");
		uint32_t k = (uint32_t)(t - st->t);
		lat = wh_realloc(lat, st->count * sizeof *lat);
		if (k + 1 == st->count && t->attempts == 0)
			lat[k] = NULL;
		t->attempts++;
		switch (x->outcome) {
		case HIST_COMMITTED:
			t->committed++;
			lat[k] = wh_realloc(lat[k], (t->committed) * sizeof **lat);
			lat[k][t->committed - 1] = x->end_us - x->begin_us;
			break;
		case HIST_ABORTED:
			count_abort(t, x, wl, faults);
			break;
		case HIST_INDETERMINATE:
			t->indeterminate++;
			break;
		case HIST_RUNNING:
			break;
		}
	}
	for (uint32_t k = 0; k < st->count; k++) {
		struct rt_template *t = &st->t[k];
		WH_ASSERT_EQ(t->aborted, t->rolled_back + t->busy + t->expected + t->unexpected);
		if (t->committed > 0) {
			qsort(lat[k], t->committed, sizeof *lat[k], u64_cmp);
			t->p50_us = percentile(lat[k], (uint32_t)t->committed, 50);
			t->p99_us = percentile(lat[k], (uint32_t)t->committed, 99);
			t->max_us = lat[k][t->committed - 1];
		}
		free(lat[k]);
		qsort(t->codes, t->code_count, sizeof *t->codes, code_cmp);
		t->never_commits = t->committed == 0 && t->attempts >= RT_WARN_ATTEMPTS &&
				   t->unexpected > 0;
	}
	free(lat);
	if (st->count > 1)
		qsort(st->t, st->count, sizeof *st->t, rt_name_cmp);
}

void rt_free(struct rt_stats *st)
{
	free(st->t);
	memset(st, 0, sizeof *st);
}

/* "SQLITE_CONSTRAINT_UNIQUE", or the number for a code the table does
 * not know. */
static const char *code_name(int rc, char *buf, size_t cap)
{
	const char *name = wh_rc_name(rc);
	if (name != NULL)
		return name;
	snprintf(buf, cap, "code %d", rc);
	return buf;
}

/* Where a code first came: "T12 book.take with ?1=3, ?2=5", or "T12,
 * not in a statement" (COMMIT, or a crash that killed the connection). */
static void first_text(FILE *f, const struct rt_code *c)
{
	fprintf(f, "first T%u", c->first_txn);
	if (c->first_stmt == NULL) {
		fprintf(f, ", not in a statement (COMMIT, or a crash)");
		return;
	}
	fprintf(f, " ");
	fprintf(f, "%s", c->first_stmt->tmpl ? c->first_stmt->tmpl : "-");
	for (uint32_t i = 0; i < c->first_stmt->param_count && i < 8; i++) {
		char v[48];
		wh_value_format(&c->first_stmt->params[i], v, sizeof v);
		fprintf(f, "%s?%u=%s", i ? ", " : " with ", i + 1, v);
	}
	if (c->first_stmt->param_count > 8)
		fprintf(f, ", ...");
}

/* The codes of a template's aborts, one kind of them. */
static void codes_text(FILE *f, const struct rt_template *t, bool unexpected_only, bool first)
{
	uint32_t shown = 0;
	for (uint32_t i = 0; i < t->code_count; i++) {
		const struct rt_code *c = &t->codes[i];
		if (c->rc == SQLITE_OK || (unexpected_only && c->expected))
			continue;
		char buf[32];
		fprintf(f, "%s%s x%" PRIu64, shown++ ? ", " : "", code_name(c->rc, buf, sizeof buf),
			c->n);
		if (!c->expected && !unexpected_only)
			fprintf(f, " unexpected");
		if (first) {
			fprintf(f, " (");
			first_text(f, c);
			fprintf(f, ")");
		}
	}
	if (t->other_codes > 0)
		fprintf(f, ", other codes x%" PRIu64, t->other_codes);
}

void rt_print(FILE *f, const struct rt_stats *st)
{
	if (st->count == 0)
		return;
	fprintf(f, "  templates (attempts, committed, aborted: \\rollback / busy / expected / unexpected errors, indeterminate; commit latency p50/p99 ms):\n");
	for (uint32_t k = 0; k < st->count; k++) {
		const struct rt_template *t = &st->t[k];
		fprintf(f, "    %-24s %6" PRIu64 " %6" PRIu64 " %6" PRIu64 ": %" PRIu64 " / %" PRIu64
			   " / %" PRIu64 " / %" PRIu64 ", %" PRIu64 "; %.3f/%.3f\n",
			t->name, t->attempts, t->committed, t->aborted, t->rolled_back, t->busy,
			t->expected, t->unexpected, t->indeterminate, (double)t->p50_us / 1000.0,
			(double)t->p99_us / 1000.0);
	}
	for (uint32_t k = 0; k < st->count; k++) {
		const struct rt_template *t = &st->t[k];
		if (t->never_commits) {
			fprintf(f, "  WARNING template %s never committed in %" PRIu64 " attempts (",
				t->name, t->attempts);
			codes_text(f, t, false, false);
			fprintf(f, "): the workload, not the database, is the likely cause\n");
		}
		if (t->unexpected > 0) {
			fprintf(f, "  WARNING template %s aborted with errors it does not \\expect: ",
				t->name);
			codes_text(f, t, true, true);
			fprintf(f, "\n");
		}
	}
}

/* {"CODE": N, ...} of the aborts whose expected flag is `expected`;
 * both kinds when all is set. Codes are merged across kinds. */
static void codes_json(FILE *f, const struct rt_template *t, bool all, bool expected)
{
	fprintf(f, "{");
	bool any = false;
	for (uint32_t i = 0; i < t->code_count;) {
		int rc = t->codes[i].rc;
		uint64_t n = 0;
		for (; i < t->code_count && t->codes[i].rc == rc; i++)
			if (all || t->codes[i].expected == expected)
				n += t->codes[i].n;
		if (n == 0)
			continue;
		fprintf(f, "%s\"%d\": %" PRIu64, any ? ", " : "", rc, n);
		any = true;
	}
	fprintf(f, "}");
}

/* [{"code", "name", "count", "first_txn", "statement", "params"}] of the
 * unexpected codes; statement null when none failed (COMMIT,
 * a crash). */
static void unexpected_json(FILE *f, const struct rt_template *t)
{
	fprintf(f, "[");
	bool any = false;
	for (uint32_t i = 0; i < t->code_count; i++) {
		const struct rt_code *c = &t->codes[i];
		if (c->expected)
			continue;
		char buf[32];
		fprintf(f, "%s{\"code\": %d, \"name\": ", any ? ", " : "", c->rc);
		json_str(f, code_name(c->rc, buf, sizeof buf));
		fprintf(f, ", \"count\": %" PRIu64 ", \"first_txn\": %u, \"statement\": ", c->n,
			c->first_txn);
		if (c->first_stmt == NULL || c->first_stmt->tmpl == NULL)
			fprintf(f, "null");
		else
			json_str(f, c->first_stmt->tmpl);
		fprintf(f, ", \"params\": [");
		for (uint32_t p = 0; c->first_stmt != NULL && p < c->first_stmt->param_count; p++) {
			char v[128];
			wh_value_format(&c->first_stmt->params[p], v, sizeof v);
			fprintf(f, "%s", p ? ", " : "");
			json_str(f, v);
		}
		fprintf(f, "]}");
		any = true;
	}
	fprintf(f, "]");
}

void rt_json(FILE *f, const struct rt_stats *st)
{
	fprintf(f, "[");
	for (uint32_t k = 0; k < st->count; k++) {
		const struct rt_template *t = &st->t[k];
		fprintf(f, "%s{\"name\": ", k ? ", " : "");
		json_str(f, t->name);
		fprintf(f, ", \"attempts\": %" PRIu64 ", \"committed\": %" PRIu64
			   ", \"aborted\": %" PRIu64 ", \"rolled_back\": %" PRIu64 ", \"busy\": %" PRIu64
			   ", \"errors\": %" PRIu64 ", \"expected\": %" PRIu64 ", \"unexpected\": %" PRIu64
			   ", \"indeterminate\": %" PRIu64 ", \"commit_latency_ms\": {\"p50\": %.3f"
			   ", \"p99\": %.3f, \"max\": %.3f}, \"abort_codes\": ",
			t->attempts, t->committed, t->aborted, t->rolled_back, t->busy,
			t->expected + t->unexpected, t->expected, t->unexpected, t->indeterminate,
			(double)t->p50_us / 1000.0, (double)t->p99_us / 1000.0,
			(double)t->max_us / 1000.0);
		codes_json(f, t, true, false);
		fprintf(f, ", \"expected_abort_codes\": ");
		codes_json(f, t, false, true);
		fprintf(f, ", \"unexpected_abort_codes\": ");
		codes_json(f, t, false, false);
		fprintf(f, ", \"unexpected_errors\": ");
		unexpected_json(f, t);
		fprintf(f, ", \"outcome\": \"%s\"}",
			t->never_commits    ? "never_commits"
			: t->unexpected > 0 ? "unexpected_errors"
					    : "ok");
	}
	fprintf(f, "]");
}
