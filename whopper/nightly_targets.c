/*
 * nightly_targets.c - the SQLite libraries a job targets, as a matrix
 * dimension: per target, how many runs it had, what they cost in CPU
 * seconds, and how many of them failed with each signature, so a report
 * can say how often each bug shows on each library.
 *
 * A run's target is the --target-lib in its arguments (the matrix puts it
 * there: nightly_matrix.c), or the linked SQLite when there is none; its
 * version and source id are what the child reported (results.jsonl
 * "sqlite_version", "sqlite_source_id"), so a merge of shards computes
 * the same tallies from the lines alone. A run's cost is the CPU seconds
 * the child reported (timing.cpu_s); a child that died without a report
 * (a crash, a hang, an older whopper) counts its wall seconds instead,
 * which for a one-thread run is close.
 *
 * With several targets, the matrix runs them in rows (one run per target,
 * the same drawn configuration and seed), so the rates compare like for
 * like. The per-target tables are shown when the results hold at least
 * two targets; summary.json always lists them.
 *
 * Invariants: the sum of the targets' runs is the aggregate's matrix run
 * count; a target's failures are its runs that carry a signature, each
 * counted once in the per-signature counts (sig_runs) of that target.
 * Output is ordered by library path and by the reports' signature order,
 * never by arrival, so it does not depend on which child finished first.
 */
#include <stdlib.h>
#include <string.h>

#include "nightly_int.h"

/* The library of a run: its last --target-lib (as run parses it). */
static const char *target_of(const struct nl_result *r)
{
	const char *lib = NULL;
	for (size_t i = 0; i + 1 < r->args.count; i++)
		if (strcmp(r->args.v[i], "--target-lib") == 0)
			lib = r->args.v[i + 1];
	return lib ? lib : NL_TARGET_LINKED;
}

void nl_targets_add(struct nl_targets *t, const struct nl_result *r, int32_t sig_id)
{
	WH_ASSERT(r->kind == NL_KIND_RUN);
	WH_ASSERT((sig_id >= 0) == (r->signature != NULL));
	const char *lib = target_of(r);
	uint32_t i;
	if (!nl_map_get(&t->index, lib, &i)) {
		if (t->count == t->cap) {
			t->cap = t->cap ? 2 * t->cap : 4;
			t->v = wh_realloc(t->v, t->cap * sizeof *t->v);
		}
		i = (uint32_t)t->count++;
		t->v[i] = (struct nl_target_tally){.library = wh_strdup(lib)};
		nl_map_put(&t->index, lib, i);
	}
	struct nl_target_tally *x = &t->v[i];
	/* The first run that says which SQLite it ran on names the target. */
	if (x->version == NULL && r->sqlite_version != NULL) {
		x->version = wh_strdup(r->sqlite_version);
		x->source_id = r->sqlite_source_id ? wh_strdup(r->sqlite_source_id) : NULL;
	}
	x->runs++;
	x->cpu_s += r->cpu_s > 0 ? r->cpu_s : r->run_s;
	if (sig_id < 0)
		return;
	x->failures++;
	if ((size_t)sig_id >= x->sig_cap) {
		size_t cap = x->sig_cap ? x->sig_cap : 8;
		while (cap <= (size_t)sig_id)
			cap *= 2;
		x->sig_runs = wh_realloc(x->sig_runs, cap * sizeof *x->sig_runs);
		memset(x->sig_runs + x->sig_cap, 0, (cap - x->sig_cap) * sizeof *x->sig_runs);
		x->sig_cap = cap;
	}
	x->sig_runs[sig_id]++;
}

void nl_targets_free(struct nl_targets *t)
{
	for (size_t i = 0; i < t->count; i++) {
		free(t->v[i].library);
		free(t->v[i].version);
		free(t->v[i].source_id);
		free(t->v[i].sig_runs);
	}
	free(t->v);
	nl_map_free(&t->index);
	memset(t, 0, sizeof *t);
}

uint64_t nl_target_sig_runs(const struct nl_target_tally *x, size_t sig_id)
{
	return sig_id < x->sig_cap ? x->sig_runs[sig_id] : 0;
}

static int cmp_library(const void *pa, const void *pb, void *ctx)
{
	const struct nl_target_tally *v = ctx;
	return strcmp(v[*(const size_t *)pa].library, v[*(const size_t *)pb].library);
}

size_t *nl_targets_order(const struct nl_targets *t)
{
	size_t *order = wh_malloc((t->count ? t->count : 1) * sizeof *order);
	for (size_t i = 0; i < t->count; i++)
		order[i] = i;
	qsort_r(order, t->count, sizeof *order, cmp_library, t->v);
	return order;
}

/* "one per 12.3 CPU s": the CPU cost of one failure with this signature
 * on this target, the rate the report compares. */
static void rate_text(FILE *f, const struct nl_target_tally *x, uint64_t k)
{
	if (k == 0)
		fprintf(f, "none in %.1f CPU s", x->cpu_s);
	else
		fprintf(f, "one per %.1f CPU s", x->cpu_s / (double)k);
}

void nl_targets_json(FILE *f, const struct nl_agg *a, const size_t *sig_order)
{
	const struct nl_targets *t = &a->targets;
	size_t *order = nl_targets_order(t);
	fputc('[', f);
	for (size_t k = 0; k < t->count; k++) {
		const struct nl_target_tally *x = &t->v[order[k]];
		fputs(k ? ",\n    {\"library\": " : "\n    {\"library\": ", f);
		json_str(f, x->library);
		fputs(", \"version\": ", f);
		if (x->version)
			json_str(f, x->version);
		else
			fputs("null", f);
		fputs(", \"source_id\": ", f);
		if (x->source_id)
			json_str(f, x->source_id);
		else
			fputs("null", f);
		fprintf(f, ", \"runs\": %llu, \"failures\": %llu, \"cpu_s\": %.3f, \"signatures\": [",
			(unsigned long long)x->runs, (unsigned long long)x->failures, x->cpu_s);
		bool first = true;
		for (size_t s = 0; s < a->sig_count; s++) {
			uint64_t n = nl_target_sig_runs(x, sig_order[s]);
			if (n == 0)
				continue;
			fputs(first ? "{\"signature\": " : ", {\"signature\": ", f);
			json_str(f, a->sigs[sig_order[s]].signature);
			fprintf(f, ", \"runs\": %llu, \"cpu_s_per_failure\": %.3f}", (unsigned long long)n,
				x->cpu_s / (double)n);
			first = false;
		}
		fputs("]}", f);
	}
	fputs(t->count ? "\n  ]" : "]", f);
	free(order);
}

void nl_targets_html(FILE *f, const struct nl_agg *a, const size_t *sig_order)
{
	const struct nl_targets *t = &a->targets;
	if (t->count < 2)
		return;
	size_t *order = nl_targets_order(t);
	fputs("<h2>Targets</h2>\n<p>Each SQLite library ran the same drawn configurations and seeds (one run per library per row of the matrix). Per signature: the runs on each library that failed with it, and the CPU time per such failure.</p>\n<table><tr><th>signature</th>",
	      f);
	for (size_t k = 0; k < t->count; k++) {
		const struct nl_target_tally *x = &t->v[order[k]];
		fputs("<th>", f);
		nl_xml_text(f, x->version ? x->version : "?");
		fputs("<br><code>", f);
		nl_xml_text(f, x->library);
		fprintf(f, "</code><br>%llu runs, %llu failing, %.1f CPU s</th>",
			(unsigned long long)x->runs, (unsigned long long)x->failures, x->cpu_s);
	}
	fputs("</tr>\n", f);
	for (size_t s = 0; s < a->sig_count; s++) {
		const struct nl_sig *sig = &a->sigs[sig_order[s]];
		fputs("<tr><td><code>", f);
		nl_xml_text(f, sig->signature);
		fputs("</code></td>", f);
		for (size_t k = 0; k < t->count; k++) {
			const struct nl_target_tally *x = &t->v[order[k]];
			uint64_t n = nl_target_sig_runs(x, sig_order[s]);
			fprintf(f, "<td%s>%llu of %llu; ", n ? " class=\"bad\"" : "",
				(unsigned long long)n, (unsigned long long)x->runs);
			rate_text(f, x, n);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	free(order);
}

static int cmp_sig_name(const void *pa, const void *pb, void *ctx)
{
	const struct nl_sig *v = ctx;
	return strcmp(v[*(const size_t *)pa].signature, v[*(const size_t *)pb].signature);
}

void nl_targets_console(FILE *f, const struct nl_agg *a)
{
	const struct nl_targets *t = &a->targets;
	if (t->count < 2)
		return;
	size_t *order = nl_targets_order(t);
	size_t *sig_order = wh_malloc((a->sig_count ? a->sig_count : 1) * sizeof *sig_order);
	for (size_t s = 0; s < a->sig_count; s++)
		sig_order[s] = s;
	qsort_r(sig_order, a->sig_count, sizeof *sig_order, cmp_sig_name, a->sigs);
	for (size_t k = 0; k < t->count; k++) {
		const struct nl_target_tally *x = &t->v[order[k]];
		fprintf(f, "  target %s %s: %llu runs, %llu failing, %.1f CPU s",
			x->version ? x->version : "?", x->library, (unsigned long long)x->runs,
			(unsigned long long)x->failures, x->cpu_s);
		bool first = true;
		for (size_t s = 0; s < a->sig_count; s++) {
			uint64_t n = nl_target_sig_runs(x, sig_order[s]);
			if (n == 0)
				continue;
			fprintf(f, "%s%s %llu (", first ? "; " : ", ",
				a->sigs[sig_order[s]].signature, (unsigned long long)n);
			rate_text(f, x, n);
			fputc(')', f);
			first = false;
		}
		fputc('\n', f);
	}
	free(sig_order);
	free(order);
}
