/*
 * run_templates.c - what each transaction template of a workload did in
 * a run: attempts, commits, aborts by result code, busy, indeterminate
 * commits and the simulated latency of its commits; printed in `run`'s
 * summary and `--json`.
 *
 * Why: a template whose every attempt fails (a constraint it always
 * violates, a typo in a table name) gives a passing run with most of its
 * transactions aborted, and nothing else says which template or why. A
 * template that never committed in at least RT_WARN_ATTEMPTS attempts,
 * with an error other than busy among its aborts, is a warning in the
 * summary and the outcome "never_commits" in --json.
 *
 * Invariants: everything is computed from the history after the run, so
 * it never changes the run; templates are listed by name and codes by
 * value, so the output is a function of the run alone.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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

static void count_code(struct rt_template *t, int rc)
{
	for (uint32_t i = 0; i < t->code_count; i++)
		if (t->codes[i].rc == rc) {
			t->codes[i].n++;
			return;
		}
	if (t->code_count < RT_MAX_CODES) {
		t->codes[t->code_count].rc = rc;
		t->codes[t->code_count].n = 1;
		t->code_count++;
	} else {
		t->other_codes++;
	}
}

static int code_cmp(const void *a, const void *b)
{
	const struct rt_code *x = a, *y = b;
	return (x->rc > y->rc) - (x->rc < y->rc);
}

/* The p-th percentile (0..100) of n sorted values, nearest rank. */
static uint64_t percentile(const uint64_t *v, uint32_t n, unsigned p)
{
	if (n == 0)
		return 0;
	uint64_t rank = ((uint64_t)p * n + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

void rt_collect(const struct history *h, struct rt_stats *st)
{
	memset(st, 0, sizeof *st);
	uint64_t **lat = NULL; /* per template, its commit latencies */
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *x = h->txns[i];
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
			t->aborted++;
			if (rc_is_busy(x->end_rc))
				t->busy++;
			else if (x->end_rc != SQLITE_OK)
				t->errors++;
			count_code(t, x->end_rc);
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
		if (t->committed > 0) {
			qsort(lat[k], t->committed, sizeof *lat[k], u64_cmp);
			t->p50_us = percentile(lat[k], (uint32_t)t->committed, 50);
			t->p99_us = percentile(lat[k], (uint32_t)t->committed, 99);
			t->max_us = lat[k][t->committed - 1];
		}
		free(lat[k]);
		qsort(t->codes, t->code_count, sizeof *t->codes, code_cmp);
		t->never_commits = t->committed == 0 && t->attempts >= RT_WARN_ATTEMPTS &&
				   t->errors > 0;
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

static void codes_text(FILE *f, const struct rt_template *t)
{
	for (uint32_t i = 0; i < t->code_count; i++)
		fprintf(f, "%s%s (%d) x%" PRIu64, i ? ", " : "", sqlite3_errstr(t->codes[i].rc),
			t->codes[i].rc, t->codes[i].n);
	if (t->other_codes > 0)
		fprintf(f, ", other codes x%" PRIu64, t->other_codes);
}

void rt_print(FILE *f, const struct rt_stats *st)
{
	if (st->count == 0)
		return;
	fprintf(f, "  templates (attempts, committed, aborted: busy / other errors, indeterminate; commit latency p50/p99 ms):\n");
	for (uint32_t k = 0; k < st->count; k++) {
		const struct rt_template *t = &st->t[k];
		fprintf(f, "    %-24s %6" PRIu64 " %6" PRIu64 " %6" PRIu64 ": %" PRIu64 " / %" PRIu64
			   ", %" PRIu64 "; %.3f/%.3f\n",
			t->name, t->attempts, t->committed, t->aborted, t->busy, t->errors,
			t->indeterminate, (double)t->p50_us / 1000.0, (double)t->p99_us / 1000.0);
	}
	for (uint32_t k = 0; k < st->count; k++) {
		const struct rt_template *t = &st->t[k];
		if (!t->never_commits)
			continue;
		fprintf(f, "  WARNING template %s never committed in %" PRIu64 " attempts (", t->name,
			t->attempts);
		codes_text(f, t);
		fprintf(f, "): the workload, not the database, is the likely cause\n");
	}
}

void rt_json(FILE *f, const struct rt_stats *st)
{
	fprintf(f, "[");
	for (uint32_t k = 0; k < st->count; k++) {
		const struct rt_template *t = &st->t[k];
		fprintf(f, "%s{\"name\": ", k ? ", " : "");
		json_str(f, t->name);
		fprintf(f, ", \"attempts\": %" PRIu64 ", \"committed\": %" PRIu64
			   ", \"aborted\": %" PRIu64 ", \"busy\": %" PRIu64 ", \"errors\": %" PRIu64
			   ", \"indeterminate\": %" PRIu64 ", \"commit_latency_ms\": {\"p50\": %.3f"
			   ", \"p99\": %.3f, \"max\": %.3f}, \"abort_codes\": {",
			t->attempts, t->committed, t->aborted, t->busy, t->errors, t->indeterminate,
			(double)t->p50_us / 1000.0, (double)t->p99_us / 1000.0,
			(double)t->max_us / 1000.0);
		for (uint32_t i = 0; i < t->code_count; i++)
			fprintf(f, "%s\"%d\": %" PRIu64, i ? ", " : "", t->codes[i].rc, t->codes[i].n);
		fprintf(f, "}, \"outcome\": \"%s\"}", t->never_commits ? "never_commits" : "ok");
	}
	fprintf(f, "]");
}
