/*
 * nightly_matrix.c - the configuration matrix of `whopper nightly`: which
 * arguments run number `index` of a job gets.
 *
 * Swarm-style drawing: instead of enumerating the cross product of every
 * knob (which no night would finish), each run draws every knob on its own,
 * and optional knobs (the pragmas) are switched on or off per run, so some
 * runs exercise a knob while others leave SQLite's default alone; over many
 * runs every combination of pairs shows up.
 *
 * Determinism: a run's arguments are a pure function of (base seed, index,
 * the job's workload list, the flags after `--`). Each knob k of run i
 * draws
 *
 *     row(i)     = splitmix64 output number i+1 of a stream seeded with base
 *     draw(i, k) = splitmix64 output number k+1 of a stream seeded with row(i)
 *
 * so knobs are independent of one another: adding a knob (or a fault profile
 * to the list) never shifts what older knobs draw for the same run. Shards
 * and resumed jobs rely on this: they compute run i alone.
 *
 * Fault profiles (`run --faults`) are drawn with weights: none 4, io 2,
 * crash 2, chaos 1 of 9, so most runs still test the plain concurrency
 * paths while a good share injects I/O errors, power loss or both. The
 * "bitflip" profile is never drawn: it corrupts a page on purpose, its
 * findings are expected (such a run exits 0), so it only runs when the
 * user asks for it with `-- --faults bitflip`. The lock model (`run
 * --lock-model`) is process in 1 run of 4: each connection then sees the
 * others' locks as another process would. The device (`run --device`)
 * lacks powersafe overwrite in 1 run of 8.
 *
 * Flags after `--` go to every run and override drawn ones: a drawn flag the
 * user also gives is dropped (a drawn --pragma only when the user sets the
 * same pragma), so the child sees each knob once.
 *
 * Requirements (\requires): a target whose SQLite is older than a
 * workload needs (or than the linked one, the oracle's reference) would
 * only report the statements it cannot prepare, so the workload is not
 * drawn for it: where the row's draw names such a workload, that run
 * draws again among the workloads its target can run, on a knob of its
 * own (so no other knob moves, and a job whose targets meet every
 * requirement draws exactly what it drew before). nl_matrix_plan works
 * out which pairs those are, from the workloads and the targets alone.
 */
#include <string.h>
#include <strings.h>

#include "nightly_int.h"
#include "prng.h"

/* ---------------------------------------------------------------------
 * The knobs and their values
 * ------------------------------------------------------------------- */

enum knob {
	KNOB_SEED,
	KNOB_WORKLOAD,
	KNOB_JOURNAL,
	KNOB_SYNCHRONOUS,
	KNOB_CONNECTIONS,
	KNOB_SCHEDULER,
	KNOB_PCT_DEPTH,
	KNOB_TXNS,
	KNOB_FAULTS,
	KNOB_PRAGMA_ON,  /* + pragma number: is the pragma set in this run */
	KNOB_PRAGMA_VAL = KNOB_PRAGMA_ON + 16, /* + pragma number: its value */
	KNOB_WORKLOAD_OTHER = KNOB_PRAGMA_VAL + 16, /* a workload the target can
						       run, when the row's
						       cannot */
	KNOB_LOCK_MODEL,
	KNOB_DEVICE,
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const journal_modes[] = {"wal", "delete", "truncate", "persist", "memory"};
static const char *const sync_levels[] = {"off", "normal", "full", "extra"};
static const char *const schedulers[] = {"random", "rr", "pct"};
static const char *const txn_counts[] = {"250", "500", "1000", "2000"};
#define CONNECTIONS_MIN 2
#define CONNECTIONS_MAX 16
#define PCT_DEPTH_MAX 5

/* Fault profiles drawn per run, with their weights; "none" is never
 * passed on the command line (it is run's default). */
struct weighted {
	const char *name;
	uint32_t weight;
};
static const struct weighted fault_profiles[] = {
	{"none", 4},
	{"io", 2},
	{"crash", 2},
	{"chaos", 1},
};

/* Lock models (--lock-model): the connections of one process (run's
 * default, not passed), or each in a process of its own. Most runs keep
 * the in-process view, where the hot-journal race lives. */
static const struct weighted lock_models[] = {
	{"thread", 3},
	{"process", 1},
};

/* Devices (--device): powersafe overwrite (run's default, as the unix
 * VFS, not passed) or not, where a torn write may damage its whole
 * sector: the catalogue's wal-non-powersafe-commit-loss lives there. */
static const struct weighted devices[] = {
	{"powersafe", 7},
	{"non-powersafe", 1},
};

struct pragma_knob {
	const char *name;
	const char *const *values;
	size_t value_count;
};

/* cache_size: tiny caches force spills mid-transaction; negative = KiB. */
static const char *const cache_sizes[] = {"10", "100", "2000", "-512"};
/* mmap_size: 0 turns memory-mapped I/O off; larger values use xFetch. */
static const char *const mmap_sizes[] = {"0", "65536", "1048576", "268435456"};
/* wal_autocheckpoint: 0 never checkpoints, 1 checkpoints at every commit. */
static const char *const autocheckpoints[] = {"0", "1", "10", "100", "10000"};
static const char *const page_sizes[] = {"512", "1024", "4096", "16384", "65536"};

static const struct pragma_knob pragma_knobs[] = {
	{"cache_size", cache_sizes, COUNT_OF(cache_sizes)},
	{"mmap_size", mmap_sizes, COUNT_OF(mmap_sizes)},
	{"wal_autocheckpoint", autocheckpoints, COUNT_OF(autocheckpoints)},
	{"page_size", page_sizes, COUNT_OF(page_sizes)},
};

_Static_assert(COUNT_OF(pragma_knobs) <= 16, "pragma knobs must fit below KNOB_PRAGMA_VAL");
_Static_assert(COUNT_OF(pragma_knobs) <= COUNT_OF(((struct nl_config *)0)->pragma_names),
	       "nl_config must hold every pragma knob");
_Static_assert(COUNT_OF(pragma_knobs) + 16 <= WORLD_MAX_PRAGMAS,
	       "drawn pragmas leave room for the user's");

/* The run flags of `whopper run` that take a value. Unknown flags are
 * passed through; the child rejects what it does not know (exit 2). */
static const char *const value_flags[] = {
	"--seed",        "--workload",   "--connections", "--txns",         "--journal",
	"--synchronous", "--scheduler",  "--pct-depth",   "--target",       "--pragma",
	"--param",       "--faults",     "--vfs-bug",     "--stack-size",   "--busy-timeout",
	"--reorder-window", "--yield-ops", "--trace",     "--elle",         "--record",
	"--sector-size", "--target-lib", "--device",   "--step-budget",  "--lock-model",
	"--time-limit",
};

bool nl_run_flag_takes_value(const char *name)
{
	for (size_t i = 0; i < COUNT_OF(value_flags); i++)
		if (strcmp(name, value_flags[i]) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------------
 * Drawing
 * ------------------------------------------------------------------- */

static uint64_t draw(uint64_t base_seed, uint64_t index, uint64_t knob)
{
	const uint64_t golden = 0x9e3779b97f4a7c15ULL;
	uint64_t row = wh_mix64(base_seed + golden * (index + 1));
	return wh_mix64(row + golden * (knob + 1));
}

/* Uniform choice among n. The modulo bias is below n/2^64: irrelevant for
 * lists of a few entries, and it keeps the function obviously pure. */
static size_t pick(uint64_t base_seed, uint64_t index, uint64_t knob, size_t n)
{
	WH_ASSERT(n > 0);
	size_t v = (size_t)(draw(base_seed, index, knob) % n);
	WH_ASSERT(v < n);
	return v;
}

/* A name from a weighted list: each entry with probability weight/total. */
static const char *pick_weighted(uint64_t base_seed, uint64_t index, uint64_t knob,
				 const struct weighted *list, size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		WH_ASSERT(list[i].weight > 0);
		total += list[i].weight;
	}
	uint64_t v = draw(base_seed, index, knob) % total;
	for (size_t i = 0; i < n; i++) {
		if (v < list[i].weight)
			return list[i].name;
		v -= list[i].weight;
	}
	WH_UNREACHABLE(); /* v < total, the sum of the weights */
}

/* A flag/value pair of an argument list; value NULL for a bare flag. */
struct flag {
	const char *name;
	const char *value;
};

/* Split an argument list into flags. Returns the number of flags, at most
 * max (the rest ignored). Unknown flags take the next argument as their
 * value unless it looks like a flag itself. */
static size_t split_flags(char *const *argv, size_t argc, struct flag *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < argc && n < max; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = nl_run_flag_takes_value(a) ||
			     (strcmp(a, "--json") != 0 && strcmp(a, "--quiet") != 0 &&
			      strncmp(a, "--", 2) == 0 && next && strncmp(next, "--", 2) != 0);
		out[n].name = a;
		out[n].value = takes ? next : NULL;
		if (takes && next)
			i++;
		n++;
	}
	return n;
}

/* The NAME of "NAME=VALUE" compared case-insensitively, as SQLite does. */
static bool same_pragma(const char *a, const char *b)
{
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");
	return la == lb && strncasecmp(a, b, la) == 0;
}

static bool user_overrides(const struct flag *user, size_t user_count, const char *name,
			   const char *value)
{
	for (size_t i = 0; i < user_count; i++) {
		if (strcmp(user[i].name, name) != 0)
			continue;
		if (strcmp(name, "--pragma") != 0)
			return true;
		if (user[i].value && value && same_pragma(user[i].value, value))
			return true;
	}
	return false;
}

/* The workload run `index` (of matrix row `row`) draws: the row's pick,
 * or, when its target cannot run that one, a pick among those it can. */
static const char *pick_workload(const struct nl_matrix *m, uint64_t row, uint64_t index)
{
	size_t n = m->workloads.count;
	size_t w = pick(m->base_seed, row, KNOB_WORKLOAD, n);
	size_t tc = m->targets.count ? m->targets.count : 1;
	size_t t = (size_t)(index % tc);
	if (m->cannot_run == NULL || !m->cannot_run[w * tc + t])
		return m->workloads.v[w];
	size_t can = 0;
	for (size_t k = 0; k < n; k++)
		can += !m->cannot_run[k * tc + t];
	WH_ASSERT(can > 0); /* nl_matrix_plan refuses a target that can run none */
	size_t want = pick(m->base_seed, row, KNOB_WORKLOAD_OTHER, can);
	for (size_t k = 0; k < n; k++)
		if (!m->cannot_run[k * tc + t] && want-- == 0)
			return m->workloads.v[k];
	WH_UNREACHABLE(); /* want < can, the number of workloads it can run */
}

void nl_matrix_args(const struct nl_matrix *m, uint64_t index, struct nl_strv *argv,
		    uint64_t *seed_out)
{
	WH_ASSERT(m->workloads.count > 0);
	WH_ASSERT(argv->count == 0);
	uint64_t b = m->base_seed;
	/* With several target libraries, runs come in rows of one per
	 * target: index = row * T + t. Every run of a row draws from the row,
	 * so the targets run the same configurations and seeds, and their
	 * failure rates compare like for like. One target (or none): the row
	 * is the index, the draws are those of a job without targets. */
	uint64_t target_count = m->targets.count;
	uint64_t row = target_count > 1 ? index / target_count : index;
	char seed[24], conns[8], depth[8];
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)draw(b, row, KNOB_SEED));
	snprintf(conns, sizeof conns, "%zu",
		 CONNECTIONS_MIN + pick(b, row, KNOB_CONNECTIONS,
					CONNECTIONS_MAX - CONNECTIONS_MIN + 1));
	snprintf(depth, sizeof depth, "%zu", 1 + pick(b, row, KNOB_PCT_DEPTH, PCT_DEPTH_MAX));
	const char *sched = schedulers[pick(b, row, KNOB_SCHEDULER, COUNT_OF(schedulers))];
	const char *faults =
		pick_weighted(b, row, KNOB_FAULTS, fault_profiles, COUNT_OF(fault_profiles));
	const char *locks =
		pick_weighted(b, row, KNOB_LOCK_MODEL, lock_models, COUNT_OF(lock_models));
	const char *device = pick_weighted(b, row, KNOB_DEVICE, devices, COUNT_OF(devices));

	/* Drawn flags, in a fixed order so the argument list is stable. */
	struct flag drawn[16 + COUNT_OF(pragma_knobs)];
	char pragma_buf[COUNT_OF(pragma_knobs)][64];
	size_t n = 0;
	drawn[n++] = (struct flag){"--seed", seed};
	drawn[n++] = (struct flag){"--workload", pick_workload(m, row, index)};
	drawn[n++] = (struct flag){"--connections", conns};
	drawn[n++] = (struct flag){
		"--txns", txn_counts[pick(b, row, KNOB_TXNS, COUNT_OF(txn_counts))]};
	drawn[n++] = (struct flag){
		"--journal", journal_modes[pick(b, row, KNOB_JOURNAL, COUNT_OF(journal_modes))]};
	drawn[n++] = (struct flag){
		"--synchronous",
		sync_levels[pick(b, row, KNOB_SYNCHRONOUS, COUNT_OF(sync_levels))]};
	drawn[n++] = (struct flag){"--scheduler", sched};
	if (strcmp(sched, "pct") == 0)
		drawn[n++] = (struct flag){"--pct-depth", depth};
	if (strcmp(faults, "none") != 0)
		drawn[n++] = (struct flag){"--faults", faults};
	if (strcmp(locks, "thread") != 0)
		drawn[n++] = (struct flag){"--lock-model", locks};
	if (strcmp(device, "powersafe") != 0)
		drawn[n++] = (struct flag){"--device", device};
	struct flag user[NL_USER_FLAGS_MAX];
	size_t user_count =
		split_flags(m->user_flags.v, m->user_flags.count, user, NL_USER_FLAGS_MAX);
	bool encrypting = false;
	for (size_t i = 0; i < user_count; i++)
		encrypting |= strcmp(user[i].name, "--pragma") == 0 && user[i].value != NULL &&
			      world_pragma_opens(user[i].value);
	for (size_t p = 0; p < COUNT_OF(pragma_knobs); p++) {
		if (pick(b, row, KNOB_PRAGMA_ON + p, 2) == 0)
			continue; /* swarm: this knob stays at SQLite's default */
		const struct pragma_knob *k = &pragma_knobs[p];
		/* An encrypting SQLite (the job's run flags give a key) sets its
		 * page size with its own pragma (SQLCipher: cipher_page_size);
		 * page_size on an encrypted database only tests a misuse.
		 * (Each knob's draw depends on the seed, row and knob alone:
		 * leaving one out moves no other.) */
		if (encrypting && strcmp(k->name, "page_size") == 0)
			continue;
		snprintf(pragma_buf[p], sizeof pragma_buf[p], "%s=%s", k->name,
			 k->values[pick(b, row, KNOB_PRAGMA_VAL + p, k->value_count)]);
		drawn[n++] = (struct flag){"--pragma", pragma_buf[p]};
	}
	WH_ASSERT(n <= COUNT_OF(drawn));

	nl_strv_push(argv, "run");
	for (size_t i = 0; i < n; i++) {
		if (user_overrides(user, user_count, drawn[i].name, drawn[i].value))
			continue;
		nl_strv_push(argv, drawn[i].name);
		nl_strv_push(argv, drawn[i].value);
	}
	for (size_t i = 0; i < m->user_flags.count; i++)
		nl_strv_push(argv, m->user_flags.v[i]);
	if (target_count > 0) {
		nl_strv_push(argv, "--target-lib");
		nl_strv_push(argv, m->targets.v[index % target_count]);
	}
	nl_strv_push(argv, "--json");

	/* The run's seed is whatever its argument list says (the user may
	 * have fixed it with `-- --seed N`). */
	*seed_out = 0;
	for (size_t i = 1; i + 1 < argv->count; i++)
		if (strcmp(argv->v[i], "--seed") == 0)
			*seed_out = strtoull(argv->v[i + 1], NULL, 10);
}

/* ---------------------------------------------------------------------
 * Requirements: which targets cannot run which workloads
 * ------------------------------------------------------------------- */

void nl_skips_free(struct nl_skips *s)
{
	for (size_t i = 0; i < s->count; i++) {
		struct nl_skip *x = &s->v[i];
		free(x->workload);
		free(x->include);
		free(x->library);
		free(x->version);
		free(x->needs);
		free(x->reason);
		free(x->declared_at);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}

static void skip_add(struct nl_skips *s, const char *workload, const char *include,
		     const char *library, int version, const struct wl_requirement *r)
{
	s->v = wh_realloc(s->v, (s->count + 1) * sizeof *s->v);
	struct nl_skip *x = &s->v[s->count++];
	char v[32], needs[32];
	wl_version_text(version, v, sizeof v);
	wl_version_text(r->version, needs, sizeof needs);
	struct nl_buf at = {0};
	nl_buf_printf(&at, "%s:%u", r->origin, r->line);
	*x = (struct nl_skip){
		.workload = wh_strdup(workload),
		.include = include ? wh_strdup(include) : NULL,
		.library = wh_strdup(library),
		.version = wh_strdup(v),
		.needs = wh_strdup(needs),
		.reason = wh_strdup(r->reason),
		.declared_at = at.data,
	};
}

/* "needs SQLite 3.35.0 (ALTER TABLE DROP COLUMN), workloads/ddl-churn.sql:17" */
static void needs_text(char *buf, size_t len, const struct wl_requirement *r)
{
	char v[32];
	wl_version_text(r->version, v, sizeof v);
	snprintf(buf, len, "needs SQLite %s%s%s%s, %s:%u", v, r->reason[0] ? " (" : "", r->reason,
		 r->reason[0] ? ")" : "", r->origin, r->line);
}

int nl_matrix_plan(struct nl_matrix *m, struct nl_skips *skips, char *err, size_t err_len)
{
	WH_ASSERT(m->workloads.count > 0);
	memset(skips, 0, sizeof *skips);
	free(m->cannot_run);
	m->cannot_run = NULL;
	/* A --workload among the run flags overrides every drawn one. */
	struct flag user[NL_USER_FLAGS_MAX];
	size_t user_count =
		split_flags(m->user_flags.v, m->user_flags.count, user, NL_USER_FLAGS_MAX);
	const char *fixed = NULL;
	for (size_t i = 0; i < user_count; i++)
		if (strcmp(user[i].name, "--workload") == 0 && user[i].value != NULL)
			fixed = user[i].value;
	const char *const *names = fixed ? &fixed : (const char *const *)m->workloads.v;
	size_t wc = fixed ? 1 : m->workloads.count;
	size_t tc = m->targets.count ? m->targets.count : 1;
	int ref_v = wh_sqlapi_version_number(&wh_sqlapi_linked);
	int *tv = wh_calloc(tc, sizeof *tv);
	uint8_t *cannot = wh_calloc(wc * tc, 1);
	bool any = false;
	int rc = 0;
	for (size_t t = 0; t < tc && rc == 0; t++) {
		const struct wh_sqlapi *api = &wh_sqlapi_linked;
		char why[1024];
		if (m->targets.count > 0 &&
		    wh_sqlapi_load(m->targets.v[t], &api, why, sizeof why) != 0) {
			snprintf(err, err_len, "--target-lib: %s", why);
			rc = -1;
			break;
		}
		tv[t] = wh_sqlapi_version_number(api) < ref_v ? wh_sqlapi_version_number(api) : ref_v;
	}
	for (size_t k = 0; k < wc && rc == 0; k++) {
		const struct workload *wl;
		char why[512];
		if (wl_resolve(names[k], &wl, why, sizeof why) != 0) {
			snprintf(err, err_len, "--workload %s: %s", names[k], why);
			rc = -1;
			break;
		}
		for (size_t t = 0; t < tc && rc == 0; t++) {
			const char *lib = m->targets.count ? m->targets.v[t] : NL_TARGET_LINKED;
			if (!wl_requirement_met(&wl->requires, tv[t])) {
				cannot[k * tc + t] = 1;
				any = true;
				skip_add(skips, names[k], NULL, lib, tv[t], &wl->requires);
				continue;
			}
			const struct workload *composed;
			if (wl_resolve_with_params(names[k], NULL, 0, tv[t], &composed, why,
						   sizeof why) != 0) {
				snprintf(err, err_len, "--workload %s: %s", names[k], why);
				rc = -1;
				break;
			}
			for (uint32_t i = 0; i < composed->include_need_count; i++)
				if (composed->include_needs[i].left_out)
					skip_add(skips, names[k], composed->include_needs[i].name, lib,
						 tv[t], &composed->include_needs[i].needs);
		}
	}
	/* A target that can run none of them: the job would draw nothing
	 * for it. */
	for (size_t t = 0; t < tc && rc == 0; t++) {
		size_t can = 0;
		for (size_t k = 0; k < wc; k++)
			can += !cannot[k * tc + t];
		if (can > 0)
			continue;
		const char *lib = m->targets.count ? m->targets.v[t] : "the linked SQLite";
		char v[32];
		wl_version_text(tv[t], v, sizeof v);
		if (fixed) {
			const struct workload *wl;
			char why[512], needs[600];
			int wrc = wl_resolve(fixed, &wl, why, sizeof why); /* resolved above */
			WH_ASSERT_EQ(wrc, 0);
			needs_text(needs, sizeof needs, &wl->requires);
			snprintf(err, err_len, "--: --workload %s %s; %s is SQLite %s", fixed, needs, lib,
				 v);
		} else {
			struct nl_buf b = {0};
			nl_buf_printf(&b, "--workloads: none of them can run on %s (SQLite %s):", lib, v);
			for (size_t k = 0; k < wc; k++) {
				const struct workload *wl;
				char why[512], needs[32];
				int wrc = wl_resolve(names[k], &wl, why, sizeof why);
				WH_ASSERT_EQ(wrc, 0); /* resolved above */
				wl_version_text(wl->requires.version, needs, sizeof needs);
				nl_buf_printf(&b, "%s %s needs %s", k ? "," : "", names[k], needs);
			}
			snprintf(err, err_len, "%s", b.data);
			nl_buf_free(&b);
		}
		rc = -1;
	}
	free(tv);
	if (rc != 0 || fixed != NULL || !any) {
		/* No draw to change: the drawn --workload is the user's, or
		 * every target runs every workload. */
		free(cannot);
		if (rc != 0)
			nl_skips_free(skips);
		return rc;
	}
	WH_ASSERT(!fixed && wc == m->workloads.count);
	m->cannot_run = cannot;
	return 0;
}

/* ---------------------------------------------------------------------
 * The user's run flags
 * ------------------------------------------------------------------- */

int nl_matrix_check_user_flags(const struct nl_strv *flags)
{
	if (flags->count > NL_USER_FLAGS_MAX)
		return cli_usage_error("--: at most %u run arguments", NL_USER_FLAGS_MAX);
	for (size_t i = 0; i < flags->count; i++) {
		const char *a = flags->v[i];
		if (strchr(a, '\n') != NULL)
			return cli_usage_error("--: a run argument holds a newline");
		if (strncmp(a, "--", 2) != 0)
			return cli_usage_error("--: unexpected run argument '%s' (run flags start with --)",
					       a);
		if (strcmp(a, "--help") == 0)
			return cli_usage_error("--: --help is not a run flag for nightly");
		if (strcmp(a, "--target-lib") == 0)
			return cli_usage_error("--: --target-lib is an option of nightly itself (before --), which loads it once and passes it to every run, replay and shrink");
		if (strcmp(a, "--trace") == 0 || strcmp(a, "--elle") == 0 ||
		    strcmp(a, "--record") == 0)
			return cli_usage_error("--: %s FILE would be written by every run; add it to a repro command instead",
					       a);
		if (!nl_run_flag_takes_value(a))
			continue;
		if (i + 1 >= flags->count)
			return cli_usage_error("--: %s: missing value", a);
		const char *v = flags->v[++i];
		if (strcmp(a, "--pragma") == 0 && (strchr(v, '=') == NULL || v[0] == '='))
			return cli_usage_error("--: --pragma: expected NAME=VALUE, got '%s'", v);
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Reading a configuration back from arguments
 * ------------------------------------------------------------------- */

void nl_config_from_args(const struct nl_strv *argv, struct nl_config *c)
{
	memset(c, 0, sizeof *c);
	c->workload = "default";
	c->journal = "wal";
	c->synchronous = "full";
	c->scheduler = "random";
	c->pct_depth = "3";
	c->connections = "4";
	c->txns = "1000";
	c->faults = "none";
	c->target = "sim";
	c->pragma_count = COUNT_OF(pragma_knobs);
	for (size_t p = 0; p < c->pragma_count; p++)
		c->pragma_names[p] = pragma_knobs[p].name;

	size_t skip = argv->count > 0 && strcmp(argv->v[0], "run") == 0 ? 1 : 0;
	struct flag flags[NL_USER_FLAGS_MAX + 64];
	size_t n = split_flags(argv->v + skip, argv->count - skip, flags, COUNT_OF(flags));
	/* Later flags win, as in `run`'s own parser. */
	for (size_t i = 0; i < n; i++) {
		const char *name = flags[i].name, *v = flags[i].value;
		if (v == NULL)
			continue;
		if (strcmp(name, "--workload") == 0)
			c->workload = v;
		else if (strcmp(name, "--journal") == 0)
			c->journal = v;
		else if (strcmp(name, "--synchronous") == 0)
			c->synchronous = v;
		else if (strcmp(name, "--scheduler") == 0)
			c->scheduler = v;
		else if (strcmp(name, "--pct-depth") == 0)
			c->pct_depth = v;
		else if (strcmp(name, "--connections") == 0)
			c->connections = v;
		else if (strcmp(name, "--txns") == 0)
			c->txns = v;
		else if (strcmp(name, "--faults") == 0)
			c->faults = v;
		else if (strcmp(name, "--target") == 0)
			c->target = v;
		else if (strcmp(name, "--target-lib") == 0)
			c->target_lib = v;
		else if (strcmp(name, "--pragma") == 0)
			for (size_t p = 0; p < c->pragma_count; p++)
				if (strchr(v, '=') && same_pragma(v, c->pragma_names[p]))
					c->pragma_values[p] = strchr(v, '=') + 1;
	}
}

void nl_config_key(const struct nl_config *c, struct nl_buf *out)
{
	nl_buf_printf(out, "%s/%s/%s/%s", c->workload,
		      strcmp(c->target, "sim") == 0 ? c->journal : c->target, c->synchronous,
		      c->scheduler);
	if (strcmp(c->faults, "none") != 0)
		nl_buf_printf(out, "/%s", c->faults);
}
