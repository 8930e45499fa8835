/*
 * nightly_explore.c - `whopper nightly --explore`: runs steered by the
 * interleaving coverage earlier runs reached.
 *
 * Why: the plain matrix draws every run afresh, so a configuration that
 * reached a rare interleaving (a connection parked in a call while others
 * ran whole transactions, a hot journal under I/O faults) is drawn again
 * only by chance. Races live in such rare regions; running more of their
 * neighbours finds them sooner, as coverage-guided fuzzers do.
 *
 * Algorithm. Runs go in generations of NL_EXPLORE_GENERATION_RUNS
 * indices: generation g holds indices [g*G, (g+1)*G). When every run of a
 * generation has finished, its results are folded in index order: a run
 * that reached a coverage point no earlier folded run reached joins the
 * pool (its arguments, its index, how many points it reached first). Runs
 * of generation g are launched only once generations 0..g-1 are folded,
 * so the pool a run sees is a function of the earlier generations alone.
 *
 * A run of generation 0, or any run while the pool is empty, is the plain
 * matrix's run of the same index. Otherwise its index draws (from the base
 * seed and the index only, on knobs of their own) whether it is a fresh
 * matrix row (1 in 4) or a mutation of a pool member (3 in 4); the member
 * is drawn with a weight for the rarity of the points it reached first
 * (member_energy: the sum over them of 1 / how many folded runs reached
 * each). A member whose points later runs keep reaching has been mined;
 * one whose points stay rare sits in a region few runs get to, where the
 * races hide. (A uniform draw spent most mutations on the commonest
 * regions: the first measurement of --explore found the stale-schema
 * finding slower than the plain matrix.) A mutation keeps the member's
 * flags, draws a new --seed (new values and a new schedule) and, with
 * weights, changes one more knob: the scheduler
 * (and PCT depth), the connection count (8-16), the fault profile, the
 * transaction count or the reorder window. A knob the user fixed after
 * `--` is never mutated.
 *
 * Determinism: a run's arguments depend on (base seed, index, the matrix,
 * the pool), and the pool on the arguments and coverage of earlier
 * generations, which are themselves deterministic (coverage is identical
 * on replay). So the job's runs are the same whatever --jobs is and
 * whatever order children end in. The exceptions are wall-clock ones: a
 * run killed by --run-timeout reports no coverage, and a --time job stops
 * mid-generation.
 *
 * Invariants: pool members are in increasing index order; the seen set
 * holds exactly the points of the folded runs, and hits[p] counts the
 * folded runs that reached point p; pending holds only results
 * of the open generation (folded_generations).
 */
#include <string.h>

#include "nightly_int.h"
#include "prng.h"

/* Knobs of an explore draw. Far above the matrix's knobs, so a draw here
 * never equals one of the matrix's for the same index. */
enum explore_knob {
	XKNOB_MUTATE = 1000, /* fresh row or mutation */
	XKNOB_UNUSED_1001,   /* no longer drawn; kept so the knobs below
				draw as they did */
	XKNOB_MEMBER,        /* which member */
	XKNOB_SEED,          /* the mutation's --seed */
	XKNOB_OPERATOR,      /* which knob it changes besides the seed */
	XKNOB_VALUE,         /* the new value */
	XKNOB_DEPTH,         /* PCT depth when the scheduler becomes pct */
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t xdraw(uint64_t base_seed, uint64_t index, uint64_t knob)
{
	/* The same construction as the matrix's draw (nightly_matrix.c),
	 * with a different golden step so the streams stay apart. */
	const uint64_t step = 0xd1b54a32d192ed03ULL;
	uint64_t row = wh_mix64(base_seed ^ (step * (index + 1)));
	return wh_mix64(row + step * (knob + 1));
}

static size_t xpick(uint64_t base_seed, uint64_t index, uint64_t knob, size_t n)
{
	WH_ASSERT(n > 0);
	size_t v = (size_t)(xdraw(base_seed, index, knob) % n);
	WH_ASSERT(v < n);
	return v;
}

/* ---------------------------------------------------------------------
 * Mutation operators
 * ------------------------------------------------------------------- */

enum explore_op {
	XOP_SEED_ONLY,
	XOP_SCHEDULER,
	XOP_CONNECTIONS,
	XOP_FAULTS,
	XOP_TXNS,
	XOP_REORDER,
	XOP__COUNT
};

/* Weights of the operators: most mutations keep the configuration and
 * only draw a new seed, since the configuration is what reached the rare
 * region; the others move one knob to its neighbourhood. */
static const uint32_t op_weights[XOP__COUNT] = {4, 2, 1, 1, 1, 1};

static const char *const op_flags[XOP__COUNT] = {
	NULL, "--scheduler", "--connections", "--faults", "--txns", "--reorder-window",
};

static const char *const x_schedulers[] = {"random", "rr", "pct"};
static const char *const x_faults[] = {"none", "io", "io", "crash", "chaos"};
static const char *const x_txns[] = {"1000", "1500", "2000"};
static const char *const x_reorder[] = {"100", "500", "2000", "10000"};

/* Index of the value of flag `name` in argv (its last occurrence, as the
 * child's parser lets later flags win), or 0 when absent. */
static size_t args_find(const struct nl_strv *argv, const char *name)
{
	size_t at = 0;
	for (size_t i = 1; i + 1 < argv->count; i++)
		if (strcmp(argv->v[i], name) == 0 && argv->v[i + 1] != NULL)
			at = i + 1;
	return at;
}

/* Set flag `name` to value: replace its last value, or insert the pair
 * before the closing "--json". */
static void args_set(struct nl_strv *argv, const char *name, const char *value)
{
	size_t at = args_find(argv, name);
	if (at != 0) {
		free(argv->v[at]);
		argv->v[at] = wh_strdup(value);
		return;
	}
	WH_ASSERT(argv->count > 0);
	WH_ASSERT_EQ(strcmp(argv->v[argv->count - 1], "--json"), 0);
	free(argv->v[--argv->count]);
	nl_strv_push(argv, name);
	nl_strv_push(argv, value);
	nl_strv_push(argv, "--json");
}

/* Remove every occurrence of flag `name` and its value. */
static void args_remove(struct nl_strv *argv, const char *name)
{
	size_t w = 0;
	for (size_t i = 0; i < argv->count; i++) {
		if (i > 0 && i + 1 < argv->count && strcmp(argv->v[i], name) == 0) {
			free(argv->v[i]);
			free(argv->v[i + 1]);
			i++;
			continue;
		}
		argv->v[w++] = argv->v[i];
	}
	argv->count = w;
}

static bool user_fixed(const struct nl_matrix *m, const char *name)
{
	for (size_t i = 0; i < m->user_flags.count; i++)
		if (strcmp(m->user_flags.v[i], name) == 0)
			return true;
	return false;
}

static enum explore_op pick_op(uint64_t b, uint64_t index)
{
	uint32_t total = 0;
	for (size_t k = 0; k < XOP__COUNT; k++)
		total += op_weights[k];
	uint32_t v = (uint32_t)(xdraw(b, index, XKNOB_OPERATOR) % total);
	for (size_t k = 0; k < XOP__COUNT; k++) {
		if (v < op_weights[k])
			return (enum explore_op)k;
		v -= op_weights[k];
	}
	WH_UNREACHABLE(); /* v < total, the sum of the weights */
}

/* Turn argv (a copy of a member's arguments) into mutation `index`. */
static void mutate(const struct nl_matrix *m, uint64_t index, struct nl_strv *argv)
{
	uint64_t b = m->base_seed;
	char buf[32];
	if (!user_fixed(m, "--seed")) {
		snprintf(buf, sizeof buf, "%llu", (unsigned long long)xdraw(b, index, XKNOB_SEED));
		args_set(argv, "--seed", buf);
	}
	enum explore_op op = pick_op(b, index);
	if (op == XOP_SEED_ONLY || user_fixed(m, op_flags[op]))
		return;
	const char *value = NULL;
	switch (op) {
	case XOP_SCHEDULER:
		value = x_schedulers[xpick(b, index, XKNOB_VALUE, COUNT_OF(x_schedulers))];
		args_remove(argv, "--pct-depth");
		if (strcmp(value, "pct") == 0 && !user_fixed(m, "--pct-depth")) {
			snprintf(buf, sizeof buf, "%zu", 1 + xpick(b, index, XKNOB_DEPTH, 5));
			args_set(argv, "--pct-depth", buf);
		}
		break;
	case XOP_CONNECTIONS:
		snprintf(buf, sizeof buf, "%zu", 8 + xpick(b, index, XKNOB_VALUE, 9));
		value = buf;
		break;
	case XOP_FAULTS:
		value = x_faults[xpick(b, index, XKNOB_VALUE, COUNT_OF(x_faults))];
		if (strcmp(value, "none") == 0) {
			args_remove(argv, "--faults"); /* run's default */
			return;
		}
		break;
	case XOP_TXNS:
		value = x_txns[xpick(b, index, XKNOB_VALUE, COUNT_OF(x_txns))];
		break;
	case XOP_REORDER:
		value = x_reorder[xpick(b, index, XKNOB_VALUE, COUNT_OF(x_reorder))];
		break;
	case XOP_SEED_ONLY:
	case XOP__COUNT:
		WH_UNREACHABLE();
	}
	WH_ASSERT(value != NULL);
	args_set(argv, op_flags[op], value);
}

/* ---------------------------------------------------------------------
 * The pool
 * ------------------------------------------------------------------- */

void nl_explore_init(struct nl_explore *e, uint64_t generation_runs, uint64_t run_limit)
{
	WH_ASSERT(generation_runs > 0);
	memset(e, 0, sizeof *e);
	e->generation_runs = generation_runs;
	e->run_limit = run_limit;
	e->pending = wh_calloc(generation_runs, sizeof *e->pending);
	e->pending_have = wh_calloc(generation_runs, sizeof *e->pending_have);
}

void nl_explore_free(struct nl_explore *e)
{
	for (size_t i = 0; i < e->pool_count; i++) {
		nl_strv_free(&e->pool[i].args);
		free(e->pool[i].points);
	}
	free(e->hits);
	free(e->pool);
	for (uint64_t i = 0; i < e->generation_runs; i++)
		if (e->pending_have[i])
			nl_result_free(&e->pending[i]);
	free(e->pending);
	free(e->pending_have);
	nl_bitset_free(&e->seen);
	memset(e, 0, sizeof *e);
}

bool nl_explore_ready(const struct nl_explore *e, uint64_t index)
{
	return index / e->generation_runs <= e->folded_generations;
}

bool nl_explore_fold(struct nl_explore *e, const struct nl_result *r)
{
	WH_ASSERT(r->kind == NL_KIND_RUN);
	WH_ASSERT(e->pool_count == 0 || e->pool[e->pool_count - 1].index < (uint64_t)r->index);
	uint32_t fresh = 0;
	uint32_t *points = NULL;
	for (uint32_t i = 0; i < r->coverage_count; i++) {
		uint32_t p = r->coverage[i];
		e->hits = nl_grow_zeroed(e->hits, &e->hits_len, p, sizeof *e->hits, 1024);
		if (e->hits[p] < UINT32_MAX)
			e->hits[p]++;
		if (nl_bitset_test(&e->seen, p))
			continue;
		nl_bitset_set(&e->seen, p);
		if (points == NULL)
			points = wh_malloc(r->coverage_count * sizeof *points);
		points[fresh++] = p;
	}
	if (fresh == 0)
		return false;
	if (e->pool_count == e->pool_cap) {
		e->pool_cap = e->pool_cap ? 2 * e->pool_cap : 64;
		e->pool = wh_realloc(e->pool, e->pool_cap * sizeof *e->pool);
	}
	struct nl_explore_member *x = &e->pool[e->pool_count++];
	memset(x, 0, sizeof *x);
	nl_strv_copy(&x->args, &r->args);
	x->index = (uint64_t)r->index;
	x->new_points = fresh;
	x->points = points;
	return true;
}

/* A member's energy: the rarity of the points it reached first, as many
 * runs since have reached each (1 / hits, in fixed point). A member
 * whose points every mutation now reaches has little left to give; one
 * whose points stay rare is where the region is still unexplored, as
 * the schedules of coverage-guided fuzzers weigh rare paths. Integers
 * only: the choice must not depend on rounding. */
#define ENERGY_ONE 65536u

static uint64_t member_energy(const struct nl_explore *e, const struct nl_explore_member *x)
{
	uint64_t sum = 0;
	for (uint32_t k = 0; k < x->new_points; k++) {
		uint32_t h = x->points[k] < e->hits_len ? e->hits[x->points[k]] : 0;
		sum += ENERGY_ONE / (h ? h : 1);
	}
	return sum ? sum : 1;
}

/* A member drawn with probability proportional to its energy. */
static size_t pick_by_energy(const struct nl_explore *e, uint64_t b, uint64_t index)
{
	uint64_t total = 0;
	for (size_t i = 0; i < e->pool_count; i++)
		total += member_energy(e, &e->pool[i]);
	uint64_t v = xdraw(b, index, XKNOB_MEMBER) % total;
	for (size_t i = 0; i < e->pool_count; i++) {
		uint64_t w = member_energy(e, &e->pool[i]);
		if (v < w)
			return i;
		v -= w;
	}
	WH_UNREACHABLE(); /* v < total, the sum of the energies */
}

/* Runs in the open generation: G, or fewer for the last one of a --runs
 * job. */
static uint64_t open_generation_size(const struct nl_explore *e)
{
	uint64_t first = e->folded_generations * e->generation_runs;
	WH_ASSERT(first < e->run_limit);
	uint64_t left = e->run_limit - first;
	return left < e->generation_runs ? left : e->generation_runs;
}

void nl_explore_add(struct nl_explore *e, const struct nl_result *r)
{
	WH_ASSERT(r->kind == NL_KIND_RUN && r->index >= 0);
	uint64_t index = (uint64_t)r->index;
	WH_ASSERT_EQ(index / e->generation_runs, e->folded_generations);
	uint64_t slot = index % e->generation_runs;
	WH_ASSERT(!e->pending_have[slot]);
	nl_result_copy(&e->pending[slot], r);
	e->pending_have[slot] = true;
	e->pending_count++;
	if (e->pending_count < open_generation_size(e))
		return;
	/* Complete: fold in index order, whatever order the runs ended in. */
	for (uint64_t k = 0; k < e->pending_count; k++) {
		WH_ASSERT(e->pending_have[k]);
		nl_explore_fold(e, &e->pending[k]);
		nl_result_free(&e->pending[k]);
		e->pending_have[k] = false;
	}
	e->pending_count = 0;
	e->folded_generations++;
}

void nl_explore_args(const struct nl_matrix *m, const struct nl_explore *e, uint64_t index,
		     struct nl_strv *argv, uint64_t *seed_out, int64_t *parent_out)
{
	WH_ASSERT(nl_explore_ready(e, index));
	WH_ASSERT(argv->count == 0);
	uint64_t b = m->base_seed;
	*parent_out = -1;
	if (e->pool_count == 0 || index < e->generation_runs ||
	    xpick(b, index, XKNOB_MUTATE, 4) == 0) {
		nl_matrix_args(m, index, argv, seed_out);
		return;
	}
	/* Only members of folded generations: the pool grows only when a
	 * generation is folded, and this run's generation is not. */
	size_t n = e->pool_count;
	size_t member = pick_by_energy(e, b, index);
	WH_ASSERT(member < n);
	const struct nl_explore_member *x = &e->pool[member];
	WH_ASSERT(x->index < index);
	nl_strv_copy(argv, &x->args);
	mutate(m, index, argv);
	*parent_out = (int64_t)x->index;
	size_t at = args_find(argv, "--seed");
	*seed_out = at ? strtoull(argv->v[at], NULL, 10) : 0;
}
