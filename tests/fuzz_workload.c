/*
 * fuzz_workload.c - libFuzzer target for the workload loader and
 * interpreter (`make fuzz`).
 *
 * Input: a workload file's text, optionally followed by a NUL and
 * NUL-separated --param values ("NAME=VALUE"), at most 4 of them.
 *
 * For every input the loader must either return a workload or a one-line
 * error naming its origin, never crash, leak or hang (the scratch database
 * gets a small SQLite step budget and heap limit here). A loaded workload
 * is then run through the interpreter for a few connections and
 * transactions, with made-up statement results handed back as `prev`
 * (random column counts and types, sometimes no row), and must end every
 * transaction within a bounded number of steps.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl_int.h"

#define FUZZ_MAX_PARAMS 4
#define FUZZ_CONNS 3
#define FUZZ_TXNS 24
#define FUZZ_OLD_SQLITE 3015002 /* Debian's SQLCipher: several built-ins need more */

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "fuzz_workload: check failed: %s (line %d)\n", \
				#cond, __LINE__);                           \
			abort();                                            \
		}                                                           \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A setup may build big tables or loop: keep each input cheap. */
	sqlite3_hard_heap_limit64(256 << 20);
	wl__set_validation_budget(2u * 1000 * 1000);
	return 0;
}

/* A made-up result for statement st: 0..3 columns, 0..2 rows. */
static void fake_result(struct wh_prng *rng, struct hist_stmt *st, struct wh_value *cells)
{
	static unsigned char text[] = "fuzz";
	memset(st, 0, sizeof *st);
	st->rc = SQLITE_DONE;
	st->col_count = (uint32_t)wh_prng_below(rng, 4);
	st->row_count = st->col_count ? (uint32_t)wh_prng_below(rng, 3) : 0;
	st->cells = cells;
	for (uint32_t k = 0; k < st->col_count * st->row_count; k++) {
		memset(&cells[k], 0, sizeof cells[k]);
		switch (wh_prng_below(rng, 4)) {
		case 0:
			cells[k].type = SQLITE_INTEGER;
			cells[k].i = (int64_t)wh_prng_next(rng);
			break;
		case 1:
			cells[k].type = SQLITE_FLOAT;
			cells[k].f = wh_prng_double(rng) * 1e6;
			break;
		case 2:
			cells[k].type = SQLITE_TEXT;
			cells[k].p = text;
			cells[k].n = 4;
			break;
		default:
			cells[k].type = SQLITE_NULL;
		}
	}
}

static void exercise(const struct workload *wl)
{
	void *cs[FUZZ_CONNS];
	struct wh_prng rng[FUZZ_CONNS], results;
	wh_prng_seed(&results, 7, 1);
	for (uint32_t c = 0; c < FUZZ_CONNS; c++) {
		cs[c] = wl->ops->conn_new(wl, c);
		wh_prng_seed(&rng[c], 1, WH_STREAM_CONN + c);
	}
	for (uint32_t t = 0; t < FUZZ_TXNS; t++) {
		uint32_t c = t % FUZZ_CONNS;
		const char *name;
		enum hist_begin begin;
		wl->ops->txn_begin(cs[c], &rng[c], &name, &begin);
		CHECK(name != NULL && name[0] != '\0');
		struct hist_stmt prev;
		struct wh_value cells[6];
		bool have_prev = false;
		for (uint32_t step = 0;; step++) {
			CHECK(step < 100000);
			struct wl_action a;
			wl->ops->txn_next(cs[c], &rng[c], have_prev ? &prev : NULL, &a);
			if (a.kind == WL_ACT_STMT) {
				CHECK(a.sql != NULL && a.tmpl != NULL);
				CHECK(a.param_count <= WL_MAX_PARAMS);
				for (uint32_t k = 0; k < a.param_count; k++)
					CHECK(a.params[k].type >= SQLITE_INTEGER &&
					      a.params[k].type <= SQLITE_NULL);
				fake_result(&results, &prev, cells);
				have_prev = true;
				if (begin == HIST_BEGIN_AUTOCOMMIT)
					break;
				continue;
			}
			CHECK(begin != HIST_BEGIN_AUTOCOMMIT);
			if (a.kind == WL_ACT_SLEEP) {
				CHECK(a.sleep_us <= WL_MAX_SLEEP_US);
				continue;
			}
			CHECK(a.kind == WL_ACT_COMMIT || a.kind == WL_ACT_ROLLBACK);
			break;
		}
		/* Every outcome in turn, so \persist values are both kept and
		 * put back. */
		static const enum hist_outcome outcomes[] = {HIST_COMMITTED, HIST_ABORTED,
							     HIST_INDETERMINATE};
		wl->ops->txn_end(cs[c], outcomes[t % 3]);
	}
	for (uint32_t c = 0; c < FUZZ_CONNS; c++)
		wl->ops->conn_free(cs[c]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(data, '\0', size);
	size_t text_len = nul ? (size_t)(nul - text) : size;
	/* parameters: NUL-separated after the text, copied to C strings */
	char *params[FUZZ_MAX_PARAMS];
	uint32_t param_count = 0;
	for (size_t at = text_len + 1; at < size && param_count < FUZZ_MAX_PARAMS;) {
		const char *end = memchr(text + at, '\0', size - at);
		size_t n = end ? (size_t)(end - (text + at)) : size - at;
		params[param_count] = malloc(n + 1);
		memcpy(params[param_count], text + at, n);
		params[param_count][n] = '\0';
		param_count++;
		at += n + 1;
	}
	struct workload *wl = NULL;
	char err[512] = "";
	int rc = wl_load_text("fuzz.sql", text, text_len, (const char *const *)params,
			      param_count, WL_SQLITE_ANY, &wl, err, sizeof err);
	if (rc == 0) {
		CHECK(wl != NULL);
		CHECK(wl->setup_sql != NULL);
		exercise(wl);
		wl_free(wl);
		/* Composed for an old SQLite, includes needing more are left
		 * out; the file is valid whatever the version, and what is
		 * left runs when the workload's own requirement is met. */
		wl = NULL;
		CHECK(wl_load_text("fuzz.sql", text, text_len, (const char *const *)params,
				   param_count, FUZZ_OLD_SQLITE, &wl, err, sizeof err) == 0);
		CHECK(wl->left_out_count <= wl->include_need_count);
		if (wl_requirement_met(&wl->requires, FUZZ_OLD_SQLITE))
			exercise(wl);
		wl_free(wl);
	} else {
		CHECK(rc == 2);
		CHECK(wl == NULL);
		CHECK(err[0] != '\0');
		CHECK(strchr(err, '\n') == NULL);
		CHECK(strncmp(err, "fuzz.sql", 8) == 0 || strncmp(err, "workloads/", 10) == 0);
	}
	for (uint32_t k = 0; k < param_count; k++)
		free(params[k]);
	return 0;
}
