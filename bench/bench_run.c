/*
 * bench_run.c - the engine's speed: what a scheduled event costs from 16
 * to 1,024 connections, the throughput of 16 connections against a serial
 * baseline measured in the same process, and the memory each connection
 * costs. Every figure that has a target is a ratio of two measurements
 * taken in this one run.
 *
 * 1. Scaling: a WAL bank run with 16, 256 and 1,024 connections (each in
 *    a forked child, before the parent has grown, so that peaks of
 *    resident memory do not mix; two rounds of children over the counts,
 *    each count keeping its best figures), printed side by side:
 *      - statements per second (best of 2 x 3 plain runs);
 *      - scheduled events (picks) per statement, and the wall-clock cost
 *        of one event split into the engine's and SQLite's own (best of
 *        2 x 3 runs with the world's profile, struct world_profile; the
 *        cost of its clock reads, calibrated here, is taken out of the
 *        engine's share);
 *      - busy-handler sleeps and busy aborts per committed transaction:
 *        the workload's own lock contention, which many connections on
 *        one bank make heavy;
 *      - peak resident memory per connection (getrusage), and of it the
 *        page cache SQLite held.
 *    Then the slowdown from 16 connections to the others, split into
 *    events per statement (contention) and cost per event (engine and
 *    SQLite apart). Targets: the engine's cost per event at 1,024
 *    connections within 1.5 times its cost at 16, and at most 128 KiB per
 *    connection beyond the page cache.
 * 2. A 16-connection WAL bank run on the simulated VFS (every VFS call a
 *    scheduled yield) against a baseline: the same statements (committed
 *    transactions in commit order, each in its own transaction)
 *    re-executed serially on one connection on a fresh simulated VFS, with
 *    no scheduler and no fibers. Ratio = simulated rate / serial rate
 *    (best of five each, taken in turns); target >= 0.75. Printed with
 *    it: the split of the simulated run's time into SQLite's own and the
 *    engine's, the ratio an engine costing nothing would reach, and a
 *    second baseline replaying the transactions on the run's own 16
 *    connections in turn (what sharing costs without interleaving).
 * Wall clock is used here only to measure; nothing simulated reads it.
 * Exit status 1 when a target is missed, naming it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workloads.h"
#include "world.h"

#define RATIO_TARGET 0.75
#define RATIO_REPS 5
#define ENGINE_SCALE_TARGET 1.5
#define RSS_PER_CONN_TARGET_KIB 128.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ */
/* Scaling                                                            */
/* ------------------------------------------------------------------ */

#define SCALE_COUNTS 3
static const uint32_t scale_conns[SCALE_COUNTS] = {16, 256, 1024};
#define SCALE_TXNS 8000
#define SCALE_SEED 42

/* What a child measures for one connection count (written to a pipe). */
struct scale_result {
	uint32_t conns;
	double statements_per_s;   /* best plain run */
	double engine_ns_per_event;/* best profiled run */
	double sqlite_ns_per_event;
	double events_per_statement;
	uint64_t statements, events, committed, aborted, busy_sleeps;
	double rss_kib_per_conn;   /* peak minus the child's start, per
				      connection */
	double cache_kib_per_conn; /* SQLite's page cache at close */
};

/* Nanoseconds one profile clock read costs (a clock_gettime): taken out
 * of the engine's share, as the reads are the profile's, not the
 * engine's. */
static double clock_read_ns(void)
{
	struct timespec ts;
	const int n = 1000000;
	double t0 = now_s();
	for (int i = 0; i < n; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (now_s() - t0) * 1e9 / n;
}

/* Resident memory now, in KiB (0 when /proc is not there). */
static double rss_now_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1024.0;
}

static struct world_config scale_config(uint32_t conns)
{
	struct world_config cfg;
	world_config_default(&cfg);
	cfg.workload = wl_find("bank");
	cfg.conn_count = conns;
	cfg.txn_count = SCALE_TXNS;
	cfg.seed = SCALE_SEED;
	return cfg;
}

/* In a child: plain runs and profiled ones of conns connections, in
 * turn (the same seed: the same schedule each time), SCALE_REPS each: the
 * best of each kind, as other work on the machine only ever adds time. */
#define SCALE_REPS 3
static void scale_child(uint32_t conns, double clock_ns, int out_fd)
{
	struct scale_result sr = {.conns = conns, .engine_ns_per_event = 1e18,
				  .sqlite_ns_per_event = 1e18};
	double start_kib = rss_now_kib();
	double best_s = 1e18;
	struct world_profile prof;
	for (int rep = 0; rep < 2 * SCALE_REPS; rep++) {
		struct world_config cfg = scale_config(conns);
		struct world_result r;
		bool profiled = rep % 2 == 1;
		cfg.profile = profiled ? &prof : NULL;
		double t0 = now_s();
		if (world_run(&cfg, &r) != 0)
			exit(3);
		double dt = now_s() - t0;
		sr.statements = r.stats.statements;
		sr.events = r.stats.sched_steps;
		sr.committed = r.stats.txns_committed;
		sr.aborted = r.stats.txns_aborted;
		sr.busy_sleeps = r.stats.vfs_ops_by_kind[WH_OP_SLEEP];
		if (!profiled && dt < best_s)
			best_s = dt;
		if (profiled) {
			double events = (double)r.stats.sched_steps;
			double engine = (double)prof.run_ns - (double)prof.sqlite_ns -
					(double)prof.clock_reads * clock_ns;
			if (engine / events < sr.engine_ns_per_event) {
				sr.engine_ns_per_event = engine / events;
				sr.sqlite_ns_per_event = (double)prof.sqlite_ns / events;
			}
			sr.cache_kib_per_conn = (double)prof.cache_bytes / 1024.0 / conns;
		}
		world_result_free(&r);
	}
	sr.statements_per_s = (double)sr.statements / best_s;
	sr.events_per_statement = (double)sr.events / (double)sr.statements;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	sr.rss_kib_per_conn = ((double)ru.ru_maxrss - start_kib) / conns;
	if (write(out_fd, &sr, sizeof sr) != (ssize_t)sizeof sr)
		exit(3);
	exit(0);
}

/* The children run in SCALE_ROUNDS rounds over the connection counts
 * (16, 256, 1,024, 16, ...), and each count keeps its best figures over
 * the rounds: noise on a shared machine comes in spells, and a spell
 * that fell on one count's only child would decide the 1,024 / 16 ratio.
 * Peak memory stays per child (each is a fresh fork); the smallest peak
 * is kept like the other figures. */
#define SCALE_ROUNDS 2
static int scale_child_run(uint32_t conns, double clock_ns, struct scale_result *out)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		scale_child(conns, clock_ns, fds[1]);
	}
	close(fds[1]);
	ssize_t got = read(fds[0], out, sizeof *out);
	close(fds[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	if (got != (ssize_t)sizeof *out || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

static int scale_run(struct scale_result *res, double clock_ns)
{
	for (int round = 0; round < SCALE_ROUNDS; round++) {
		for (int i = 0; i < SCALE_COUNTS; i++) {
			struct scale_result one;
			if (scale_child_run(scale_conns[i], clock_ns, &one) != 0)
				return -1;
			if (round == 0) {
				res[i] = one;
				continue;
			}
			/* The same seed: the same run, so only times and memory
			 * differ between rounds. */
			if (one.statements_per_s > res[i].statements_per_s)
				res[i].statements_per_s = one.statements_per_s;
			if (one.engine_ns_per_event + one.sqlite_ns_per_event <
			    res[i].engine_ns_per_event + res[i].sqlite_ns_per_event) {
				res[i].engine_ns_per_event = one.engine_ns_per_event;
				res[i].sqlite_ns_per_event = one.sqlite_ns_per_event;
			}
			if (one.rss_kib_per_conn < res[i].rss_kib_per_conn)
				res[i].rss_kib_per_conn = one.rss_kib_per_conn;
		}
	}
	return 0;
}

static void scale_print(const struct scale_result *r, double clock_ns)
{
	printf("bank, WAL, %d transactions, seed %d; events are scheduler picks; profile clock read %.0f ns (taken out of the engine's share)\n",
	       SCALE_TXNS, SCALE_SEED, clock_ns);
	printf("%-34s", "connections");
	for (int i = 0; i < SCALE_COUNTS; i++)
		printf("%12u", r[i].conns);
	printf("\n");
#define ROW(label, fmt, expr)                                               \
	do {                                                                \
		printf("%-34s", label);                                     \
		for (int i = 0; i < SCALE_COUNTS; i++)                      \
			printf(fmt, (expr));                                \
		printf("\n");                                               \
	} while (0)
	ROW("statements/s", "%12.0f", r[i].statements_per_s);
	ROW("statements", "%12llu", (unsigned long long)r[i].statements);
	ROW("committed transactions", "%12llu", (unsigned long long)r[i].committed);
	ROW("events per statement", "%12.1f", r[i].events_per_statement);
	ROW("engine ns per event", "%12.0f", r[i].engine_ns_per_event);
	ROW("SQLite ns per event", "%12.0f", r[i].sqlite_ns_per_event);
	ROW("busy-handler sleeps per commit", "%12.2f",
	    (double)r[i].busy_sleeps / (double)r[i].committed);
	ROW("busy aborts per commit", "%12.2f", (double)r[i].aborted / (double)r[i].committed);
	ROW("peak RSS KiB per connection", "%12.1f", r[i].rss_kib_per_conn);
	ROW("  of it SQLite page cache", "%12.1f", r[i].cache_kib_per_conn);
	ROW("  beyond the page cache", "%12.1f", r[i].rss_kib_per_conn - r[i].cache_kib_per_conn);
	ROW("engine cost per event vs 16", "%12.2f",
	    r[i].engine_ns_per_event / r[0].engine_ns_per_event);
#undef ROW
	for (int i = 1; i < SCALE_COUNTS; i++) {
		double slow = r[0].statements_per_s / r[i].statements_per_s;
		double contention = r[i].events_per_statement / r[0].events_per_statement;
		double cost = (r[i].engine_ns_per_event + r[i].sqlite_ns_per_event) /
			      (r[0].engine_ns_per_event + r[0].sqlite_ns_per_event);
		printf("16 -> %u connections: %.2fx fewer statements/s = %.2fx events per statement (contention) x %.2fx cost per event (engine %.2fx, SQLite %.2fx)\n",
		       r[i].conns, slow, contention, cost,
		       r[i].engine_ns_per_event / r[0].engine_ns_per_event,
		       r[i].sqlite_ns_per_event / r[0].sqlite_ns_per_event);
	}
}

/* ------------------------------------------------------------------ */
/* 16 connections against a serial baseline                           */
/* ------------------------------------------------------------------ */

/* The serial baselines count the VFS calls SQLite makes (ctx: a
 * uint64_t), so the table can say how much more the simulated run asks
 * of its VFS. */
static int nop_yield(void *ctx, enum wh_op_kind kind, const char *file, int64_t arg)
{
	(void)kind, (void)file, (void)arg;
	(*(uint64_t *)ctx)++;
	return SQLITE_OK;
}
static void nop_trace(void *ctx, enum wh_op_kind kind, const char *file, int64_t a,
		      int64_t b, int rc)
{
	(void)ctx, (void)kind, (void)file, (void)a, (void)b, (void)rc;
}
static uint64_t zero_now(void *ctx)
{
	(void)ctx;
	return 0;
}
static void fill_random(void *ctx, int n, unsigned char *out)
{
	(void)ctx;
	for (int i = 0; i < n; i++)
		out[i] = (unsigned char)(i * 131 + 7);
}

static void bind_all(sqlite3_stmt *st, const struct hist_stmt *s)
{
	for (uint32_t p = 0; p < s->param_count; p++)
		wh_value_bind(st, (int)p + 1, &s->params[p]);
}

/* Re-execute the history's committed statements serially; returns the
 * number of statements executed and the seconds it took. With conns 1
 * every transaction runs on one connection; with more, each runs on the
 * connection that ran it in the simulated run (the same connections
 * sharing one database, taking turns: each sees the others' commits, so
 * its page cache is reset and pages read again as in the simulated run,
 * but nothing interleaves and nobody waits). */
static uint64_t serial_replay(const struct history *h, const char *setup, int conns,
			      double *secs, uint64_t *vfs_calls)
{
	struct simvfs *vfs = NULL;
	struct simvfs_config vc;
	uint64_t calls = 0;
	struct simvfs_hooks hooks = {.ctx = &calls, .yield = nop_yield, .trace = nop_trace,
				     .now_us = zero_now, .randomness = fill_random};
	simvfs_config_default(&vc);
	if (simvfs_create(&vfs, "bench-serial", &vc, &hooks) != SQLITE_OK)
		exit(3);
	sqlite3 **db = calloc((size_t)conns, sizeof *db);
	if (db == NULL)
		exit(3);
	for (int i = 0; i < conns; i++) {
		sqlite3_open_v2("serial.db", &db[i], SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				"bench-serial");
		sqlite3_exec(db[i], "PRAGMA journal_mode=wal; PRAGMA synchronous=full", NULL,
			     NULL, NULL);
		if (i == 0)
			sqlite3_exec(db[i], setup, NULL, NULL, NULL);
	}
	const struct hist_txn **order = calloc(h->commit_count + 1, sizeof *order);
	for (uint32_t i = 0; i < h->txn_count; i++)
		if (h->txns[i]->outcome == HIST_COMMITTED)
			order[h->txns[i]->commit_index] = h->txns[i];
	uint64_t n = 0;
	double t0 = now_s();
	calls = 0;
	for (uint64_t k = 0; k < h->commit_count; k++) {
		const struct hist_txn *t = order[k];
		sqlite3 *d = db[t->conn % conns];
		bool wrap = t->begin != HIST_BEGIN_AUTOCOMMIT;
		if (wrap)
			sqlite3_exec(d, "BEGIN", NULL, NULL, NULL);
		for (uint32_t s = 0; s < t->stmt_count; s++) {
			sqlite3_stmt *st = NULL;
			sqlite3_prepare_v2(d, t->stmts[s].sql, -1, &st, NULL);
			bind_all(st, &t->stmts[s]);
			while (sqlite3_step(st) == SQLITE_ROW)
				;
			sqlite3_finalize(st);
			n++;
		}
		if (wrap)
			sqlite3_exec(d, "COMMIT", NULL, NULL, NULL);
	}
	*secs = now_s() - t0;
	*vfs_calls = calls;
	free(order);
	for (int i = 0; i < conns; i++)
		sqlite3_close(db[i]);
	free(db);
	simvfs_destroy(vfs);
	return n;
}

/* A serial baseline: the best replay of the run's history so far. */
struct serial_result {
	uint64_t statements, vfs_calls;
	double secs;
};

static void serial_best(struct serial_result *sr, const struct history *h, const char *setup,
			int conns)
{
	double dt = 0;
	sr->statements = serial_replay(h, setup, conns, &dt, &sr->vfs_calls);
	if (dt < sr->secs)
		sr->secs = dt;
}

/* The ratio of the simulated rate to the serial one (printed), with
 * where the simulated run's time goes: SQLite's own code (from the
 * world's profile) against the engine's (the scheduler, switches, the
 * simulated VFS's methods, history, trace hash), and a second baseline
 * that runs the same transactions on the run's own connections in turn.
 * The target's baseline runs everything on one connection, whose page
 * cache is never invalidated and which never waits; the simulated run's
 * SQLite does work that one does not (pages read again after another
 * connection's commit, the read-lock protocol's shm locks and barriers,
 * busy-handler retries). The SQLite-only time bounds the ratio an engine
 * costing nothing could reach: printed as the ceiling. */
static double serial_ratio(double clock_ns)
{
	struct world_config cfg;
	struct world_result r;
	world_config_default(&cfg);
	cfg.workload = wl_find("bank");
	cfg.conn_count = 16;
	cfg.txn_count = 20000;
	cfg.seed = 7;
	/* Best of RATIO_REPS for every side, taken in turns (a plain run, a
	 * profiled one of the same seed and so the same schedule, and the
	 * two serial replays), so a noisy neighbour on a shared machine hits
	 * all of them alike and does not decide the ratio. */
	double sim_s = 1e9, sqlite_s = 1e9, engine_s = 1e9;
	struct serial_result one = {.secs = 1e9}, turns = {.secs = 1e9};
	struct world_profile prof;
	struct world_result hist;
	if (world_run(&cfg, &hist) != 0) /* the history the replays run */
		exit(3);
	for (int rep = 0; rep < 2 * RATIO_REPS; rep++) {
		bool profiled = rep % 2 == 1;
		cfg.profile = profiled ? &prof : NULL;
		double t0 = now_s();
		if (world_run(&cfg, &r) != 0)
			exit(3);
		double dt = now_s() - t0;
		world_result_free(&r);
		if (!profiled && dt < sim_s)
			sim_s = dt;
		if (profiled) {
			double sq = (double)prof.sqlite_ns * 1e-9;
			double en = ((double)prof.run_ns - (double)prof.sqlite_ns -
				     (double)prof.clock_reads * clock_ns) * 1e-9;
			if (sq + en < sqlite_s + engine_s)
				sqlite_s = sq, engine_s = en;
			serial_best(&one, &hist.history, cfg.workload->setup_sql, 1);
			serial_best(&turns, &hist.history, cfg.workload->setup_sql,
				    (int)cfg.conn_count);
		}
	}
	r = hist;
	double n = (double)r.stats.statements;
	double sim_rate = n / sim_s;
	double one_rate = (double)one.statements / one.secs;
	double turns_rate = (double)turns.statements / turns.secs;
	printf("simulated 16-connection WAL run: %llu statements (%llu committed txns, %llu vfs ops, %llu yields) in %.3f s: %.0f statements/s\n",
	       (unsigned long long)r.stats.statements,
	       (unsigned long long)r.stats.txns_committed,
	       (unsigned long long)r.stats.vfs_ops,
	       (unsigned long long)r.stats.sched_steps, sim_s, sim_rate);
	printf("serial baseline (same statements, one connection, same VFS, no scheduler): %llu statements in %.3f s: %.0f statements/s\n",
	       (unsigned long long)one.statements, one.secs, one_rate);
	printf("serial on the run's 16 connections in turn (same VFS, no scheduler): %llu statements in %.3f s: %.0f statements/s\n",
	       (unsigned long long)turns.statements, turns.secs, turns_rate);
	printf("%-44s%14s%14s%14s\n", "per statement", "simulated", "serial 16", "serial 1");
	printf("%-44s%14.2f%14.2f%14.2f\n", "VFS calls", (double)r.stats.vfs_ops / n,
	       (double)turns.vfs_calls / (double)turns.statements,
	       (double)one.vfs_calls / (double)one.statements);
	printf("%-44s%14.2f%14.2f%14.2f\n", "µs, all", sim_s * 1e6 / n,
	       turns.secs * 1e6 / (double)turns.statements, one.secs * 1e6 / (double)one.statements);
	printf("%-44s%14.2f\n", "µs in SQLite's own code (profiled run)", sqlite_s * 1e6 / n);
	printf("%-44s%14.2f\n", "µs in the engine and simulated VFS", engine_s * 1e6 / n);
	double ratio = sim_rate / one_rate;
	double ceiling = (n / sqlite_s) / one_rate;
	printf("throughput ratio simulated/serial: %.2f (target >= %.2f); with an engine costing nothing: %.2f (SQLite's own time alone); simulated/serial on 16 connections in turn: %.2f\n",
	       ratio, RATIO_TARGET, ceiling, sim_rate / turns_rate);
	world_result_free(&r);
	return ratio;
}

int main(void)
{
	world_global_init();
	double clock_ns = clock_read_ns();
	struct scale_result sr[SCALE_COUNTS];
	if (scale_run(sr, clock_ns) != 0)
		return 3;
	scale_print(sr, clock_ns);
	double ratio = serial_ratio(clock_ns);

	int missed = 0;
	double scale = sr[SCALE_COUNTS - 1].engine_ns_per_event / sr[0].engine_ns_per_event;
	if (scale > ENGINE_SCALE_TARGET) {
		printf("missed: engine cost per event at %u connections is %.2fx its cost at 16 (target <= %.2f)\n",
		       sr[SCALE_COUNTS - 1].conns, scale, ENGINE_SCALE_TARGET);
		missed = 1;
	}
	double beyond = sr[SCALE_COUNTS - 1].rss_kib_per_conn - sr[SCALE_COUNTS - 1].cache_kib_per_conn;
	if (beyond > RSS_PER_CONN_TARGET_KIB) {
		printf("missed: %.1f KiB per connection beyond the page cache at %u connections (target <= %.0f)\n",
		       beyond, sr[SCALE_COUNTS - 1].conns, RSS_PER_CONN_TARGET_KIB);
		missed = 1;
	}
	if (ratio < RATIO_TARGET) {
		printf("missed: 16-connection / serial ratio %.2f (target >= %.2f)\n", ratio,
		       RATIO_TARGET);
		missed = 1;
	}
	return missed;
}
