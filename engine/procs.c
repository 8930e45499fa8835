/*
 * procs.c - the processes target (WORLD_TARGET_PROCESSES): the threads
 * target's run with each connection in a process of its own, so that the
 * POSIX locks SQLite's unix VFS takes are arbitrated by the kernel as
 * between applications. (Within one process the unix VFS shares one lock
 * per file among its connections through its inode table, and only its
 * own bookkeeping tells them apart.)
 *
 * How a run goes: threads_run builds the world, registers the shim and
 * runs the workload's setup in the run's process, as for threads; then
 * procs__run forks one process per connection. Each runs threads.c's
 * connection loop (threads__conn_loop), the same driver, shim and history
 * code as a thread would, under the world's lock, which threads.c keeps
 * process-shared; the world's fields the connections must agree on (the
 * event counter, the quota...) travel through its shared page. The fork,
 * not libuv's spawn: a connection's process must inherit the world (the
 * loaded workload, the driver's state, the registered shim), which a
 * spawned program (fork and exec) would have to rebuild; libuv has no
 * fork without exec.
 *
 * The return. A connection's process records its transactions in its own
 * copy of the history, each event stamped from the shared counter. When
 * its connection has closed it writes them, with its counters and its
 * findings, to a file of its own in the run's directory (procs_write) and
 * exits 0. The run's process, once every connection's process has ended,
 * reads each file into a history of its own, merges them by begin event
 * (hist_merge: ids in begin order, as one history would have numbered
 * them), sums the counters and adds the findings; the files are removed.
 *
 * The watch. The run's process never takes the world's lock: it polls a
 * pipe whose write end only the connection processes hold (end of file:
 * all have ended), every PROCS_WATCH_MS reaps those that ended and looks
 * at the shared count of finished transactions.
 * - A connection process that dies of a signal, or exits with another
 *   status than 0, is a "crash" finding naming it, the signal, and the
 *   state and last VFS op it published; the others are killed at once
 *   (SIGKILL) and nothing is checked (res->history_lost): the lost
 *   process may have committed what its history would have said.
 * - No transaction finished for cfg->watchdog_ms: a "hang" finding with
 *   every connection's state; the run is drained (threads.c) and waits
 *   threads__drain_grace_ms. Processes that unwind send their histories
 *   back and the run is checked as a drained threads run is; those that
 *   do not end are killed, and with their histories lost nothing is
 *   checked.
 *
 * Invariants: every process forked is reaped before procs__run returns
 * (none outlives the run); a connection process never returns into the
 * caller's code (it ends in _exit, so nothing the run's process buffered
 * or registered runs twice); the merged history is built only when every
 * connection process exited 0, so it is all of the run's or nothing.
 */
#include "world_int.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How often the run's process looks at its connection processes. */
#define PROCS_WATCH_MS 100
/* A connection process's exit status when it could not write its
 * history back. */
#define PROCS_EXIT_WRITE 3
/* Marks the start and the end of a history file (a file cut short, by a
 * full disk say, lacks the second). */
#define PROCS_MAGIC 0x31534f5250485721ull
/* Bounds a reader trusts no more than it must: the longest text or
 * value, the most statements, values or findings. */
#define PROCS_BYTES_MAX (1u << 30)
#define PROCS_COUNT_MAX (1u << 28)

/* What the run's process keeps of each connection process. */
struct procs_child {
	pid_t pid;                   /* 0: not forked */
	bool reaped;
	bool killed;                 /* by the run's process (SIGKILL) */
	int status;                  /* waitpid's, once reaped */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Where connection id's history goes (cap bytes at path). */
static void procs_path(const struct world *w, uint32_t id, char *path, size_t cap)
{
	int n = snprintf(path, cap, "%s/whopper-conn-%u.hist", w->cfg->dir, id);
	WH_ASSERT(n > 0 && (size_t)n < cap);
}

/* ------------------------------------------------------------------ */
/* The history file                                                    */
/* ------------------------------------------------------------------ */

/* Native byte order and layout: the same binary writes and reads it, on
 * one machine, within one run. A text is its length and bytes, or
 * UINT32_MAX for NULL. */

static void put(FILE *f, const void *p, size_t n)
{
	fwrite(p, 1, n, f);
}

static void put_u32(FILE *f, uint32_t v)
{
	put(f, &v, sizeof v);
}

static void put_u64(FILE *f, uint64_t v)
{
	put(f, &v, sizeof v);
}

static void put_text(FILE *f, const char *s)
{
	if (s == NULL) {
		put_u32(f, UINT32_MAX);
		return;
	}
	size_t n = strlen(s);
	WH_ASSERT(n < PROCS_BYTES_MAX);
	put_u32(f, (uint32_t)n);
	put(f, s, n);
}

static void put_value(FILE *f, const struct wh_value *v)
{
	put_u32(f, (uint32_t)v->type);
	put_u64(f, (uint64_t)v->i);
	put(f, &v->f, sizeof v->f);
	bool bytes = v->type == SQLITE_TEXT || v->type == SQLITE_BLOB;
	WH_ASSERT(!bytes || v->n == 0 || v->p != NULL);
	put_u32(f, bytes ? v->n : 0);
	if (bytes && v->n > 0)
		put(f, v->p, v->n);
}

/* In a connection process, its connection closed: write what it did to
 * path. 0, or -1 when the file cannot be written whole. */
static int procs_write(const struct world *w, const char *path, uint32_t findings_from)
{
	const struct world_result *res = w->res;
	const struct history *h = &res->history;
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	put_u64(f, PROCS_MAGIC);
	put(f, &res->stats, sizeof res->stats);
	WH_ASSERT(res->finding_count >= findings_from);
	put_u32(f, res->finding_count - findings_from);
	for (uint32_t i = findings_from; i < res->finding_count; i++) {
		put_text(f, res->findings[i].kind);
		put_text(f, res->findings[i].detail);
	}
	put_u64(f, h->unsafe_event);
	put_u32(f, h->txn_count);
	for (uint32_t i = 0; i < h->txn_count; i++) {
		const struct hist_txn *t = h->txns[i];
		put_u32(f, (uint32_t)t->conn);
		put_text(f, t->name);
		put_u32(f, (uint32_t)t->begin);
		put_u32(f, (uint32_t)t->outcome);
		put_u64(f, t->begin_event);
		put_u64(f, t->commit_event);
		put_u64(f, t->end_event);
		put_u64(f, t->visible_event);
		put_u64(f, t->begin_us);
		put_u64(f, t->end_us);
		put_u32(f, (uint32_t)t->end_rc);
		put_u32(f, t->commit_hint);
		put_u32(f, t->stmt_count);
		for (uint32_t k = 0; k < t->stmt_count; k++) {
			const struct hist_stmt *s = &t->stmts[k];
			put_text(f, s->sql);
			put_text(f, s->tmpl);
			put_u32(f, s->param_count);
			for (uint32_t j = 0; j < s->param_count; j++)
				put_value(f, &s->params[j]);
			put_u32(f, (uint32_t)s->rc);
			put_u64(f, (uint64_t)s->changes);
			put_u32(f, s->col_count);
			put_u32(f, s->row_count);
			uint64_t cells = (uint64_t)s->row_count * s->col_count;
			for (uint64_t j = 0; j < cells; j++)
				put_value(f, &s->cells[j]);
			put_u32(f, s->ordered);
			put_u64(f, s->event);
			put_u32(f, s->flags);
		}
	}
	put_u64(f, PROCS_MAGIC);
	bool ok = !ferror(f);
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* A reader: once bad, every later get reads zeros and fails alike. */
struct procs_reader {
	FILE *f;
	bool bad;
};

static void get(struct procs_reader *r, void *p, size_t n)
{
	if (!r->bad && fread(p, 1, n, r->f) != n)
		r->bad = true;
	if (r->bad)
		memset(p, 0, n);
}

static uint32_t get_u32(struct procs_reader *r)
{
	uint32_t v;
	get(r, &v, sizeof v);
	return v;
}

static uint64_t get_u64(struct procs_reader *r)
{
	uint64_t v;
	get(r, &v, sizeof v);
	return v;
}

/* A count no larger than max (else the reader goes bad, and 0). */
static uint32_t get_count(struct procs_reader *r, uint32_t max)
{
	uint32_t n = get_u32(r);
	if (n > max)
		r->bad = true;
	return r->bad ? 0 : n;
}

/* A text, owned by the caller (NULL for NULL, or once bad). */
static char *get_text(struct procs_reader *r)
{
	uint32_t n = get_u32(r);
	if (r->bad || n == UINT32_MAX)
		return NULL;
	if (n >= PROCS_BYTES_MAX) {
		r->bad = true;
		return NULL;
	}
	char *s = wh_malloc((size_t)n + 1);
	get(r, s, n);
	s[n] = '\0';
	return s;
}

/* A value into v, its bytes owned by v (free with wh_value_free). */
static void get_value(struct procs_reader *r, struct wh_value *v)
{
	memset(v, 0, sizeof *v);
	v->type = (int)get_u32(r);
	v->i = (int64_t)get_u64(r);
	get(r, &v->f, sizeof v->f);
	v->n = get_count(r, PROCS_BYTES_MAX);
	bool bytes = v->type == SQLITE_TEXT || v->type == SQLITE_BLOB;
	if (!bytes && v->n != 0)
		r->bad = true;
	if (r->bad || !bytes) {
		v->type = r->bad ? SQLITE_NULL : v->type;
		v->n = 0;
		return;
	}
	v->p = wh_malloc((size_t)v->n + 1);
	get(r, v->p, v->n);
	v->p[v->n] = '\0';
}

static struct wh_value *get_values(struct procs_reader *r, uint64_t count)
{
	if (count == 0 || r->bad)
		return NULL;
	struct wh_value *v = wh_calloc(count, sizeof *v);
	for (uint64_t i = 0; i < count; i++)
		get_value(r, &v[i]);
	return v;
}

static void free_values(struct wh_value *v, uint64_t count)
{
	for (uint64_t i = 0; v != NULL && i < count; i++)
		wh_value_free(&v[i]);
	free(v);
}

/* One statement into t of h (the history's API copies it in), with the
 * recorded event and flags. */
static void read_stmt(struct procs_reader *r, struct history *h, struct hist_txn *t)
{
	char *sql = get_text(r);
	char *tmpl = get_text(r);
	uint32_t param_count = get_count(r, PROCS_COUNT_MAX);
	struct wh_value *params = get_values(r, param_count);
	int rc = (int)get_u32(r);
	int64_t changes = (int64_t)get_u64(r);
	uint32_t col_count = get_count(r, PROCS_COUNT_MAX);
	uint32_t row_count = get_count(r, PROCS_COUNT_MAX);
	uint64_t cell_count = (uint64_t)col_count * row_count;
	if (cell_count > PROCS_COUNT_MAX)
		r->bad = true;
	struct wh_value *cells = get_values(r, r->bad ? 0 : cell_count);
	bool ordered = get_u32(r) != 0;
	uint64_t event = get_u64(r);
	uint32_t flags = get_u32(r);
	if (!r->bad && sql != NULL) {
		struct hist_stmt *s = hist_stmt_add(h, t, sql, tmpl, params, param_count, rc, changes,
						    col_count, row_count, cells, ordered);
		s->event = event;
		s->flags = flags;
	} else {
		r->bad = true;
	}
	free_values(params, param_count);
	free_values(cells, r->bad ? 0 : cell_count);
	free(sql);
	free(tmpl);
}

/* One transaction into h, as the connection process recorded it. */
static void read_txn(struct procs_reader *r, struct history *h, uint32_t conn_count)
{
	uint32_t conn = get_u32(r);
	char *name = get_text(r);
	uint32_t begin = get_u32(r);
	uint32_t outcome = get_u32(r);
	uint64_t begin_event = get_u64(r);
	uint64_t commit_event = get_u64(r);
	uint64_t end_event = get_u64(r);
	uint64_t visible_event = get_u64(r);
	uint64_t begin_us = get_u64(r);
	uint64_t end_us = get_u64(r);
	int end_rc = (int)get_u32(r);
	bool commit_hint = get_u32(r) != 0;
	uint32_t stmt_count = get_count(r, PROCS_COUNT_MAX);
	if (r->bad || conn >= conn_count || begin > HIST_BEGIN_EXCLUSIVE ||
	    outcome > HIST_INDETERMINATE) {
		r->bad = true;
		free(name);
		return;
	}
	struct hist_txn *t =
		hist_txn_begin(h, (int)conn, name, (enum hist_begin)begin, begin_us);
	free(name);
	t->begin_event = begin_event;
	for (uint32_t k = 0; k < stmt_count && !r->bad; k++)
		read_stmt(r, h, t);
	t->commit_event = commit_event;
	if (outcome != HIST_RUNNING)
		hist_txn_end(h, t, (enum hist_outcome)outcome, end_rc, end_us);
	/* What hist_txn_end stamped from this history's own counter gives
	 * way to the shared counter's, as recorded. */
	t->end_event = end_event;
	t->end_us = end_us;
	t->end_rc = end_rc;
	t->visible_event = visible_event;
	t->commit_hint = commit_hint;
	if (end_event > h->event)
		h->event = end_event;
	if (visible_event > h->event)
		h->event = visible_event;
}

/* Sum the counters of a connection process into the run's: every field
 * is a count but the plan's kinds (fault_kinds_on, the run's own), and
 * scheduler steps and simulated time, none here. */
static void procs_add_stats(struct world_stats *to, const struct world_stats *from)
{
	_Static_assert(offsetof(struct world_stats, fault_kinds_on) % sizeof(uint64_t) == 0,
		       "the counts before fault_kinds_on are whole uint64_t");
	enum { counts = offsetof(struct world_stats, fault_kinds_on) / sizeof(uint64_t) };
	uint64_t a[counts], b[counts];
	memcpy(a, to, sizeof a);
	memcpy(b, from, sizeof b);
	for (size_t i = 0; i < counts; i++)
		a[i] += b[i];
	memcpy(to, a, sizeof a);
}

/* Read connection id's file (path) into the run: its history merged into
 * res->history, its counters summed, its findings added. 0, or -1 when
 * the file is missing or not whole (then nothing of it is taken). */
static int procs_read(struct world *w, const char *path)
{
	struct procs_reader r = {.f = fopen(path, "rb")};
	if (r.f == NULL)
		return -1;
	struct history ch;
	hist_init(&ch);
	struct world_stats stats;
	if (get_u64(&r) != PROCS_MAGIC)
		r.bad = true;
	get(&r, &stats, sizeof stats);
	uint32_t finding_count = get_count(&r, PROCS_COUNT_MAX);
	char **findings = finding_count ? wh_calloc(2u * finding_count, sizeof *findings) : NULL;
	for (uint32_t i = 0; i < 2u * finding_count; i++)
		findings[i] = get_text(&r);
	ch.unsafe_event = get_u64(&r);
	uint32_t txn_count = get_count(&r, PROCS_COUNT_MAX);
	for (uint32_t i = 0; i < txn_count && !r.bad; i++)
		read_txn(&r, &ch, w->cfg->conn_count);
	if (get_u64(&r) != PROCS_MAGIC)
		r.bad = true;
	fclose(r.f);
	if (!r.bad) {
		hist_merge(&w->res->history, &ch);
		procs_add_stats(&w->res->stats, &stats);
		for (uint32_t i = 0; i < finding_count; i++)
			if (findings[2 * i] != NULL && findings[2 * i + 1] != NULL)
				world__add_finding(w->res, findings[2 * i], findings[2 * i + 1]);
	}
	for (uint32_t i = 0; i < 2u * finding_count; i++)
		free(findings[i]);
	free(findings);
	hist_free(&ch);
	return r.bad ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* A connection's process                                              */
/* ------------------------------------------------------------------ */

static _Noreturn void procs_child(struct world *w, struct conn *c, int watch_fd)
{
	/* The write end of the watch pipe stays open until the exit: its
	 * closing is what the run's process waits for. */
	close(watch_fd);
	struct world_result *res = w->res;
	/* Its own counters only; its findings after those it inherited. */
	memset(&res->stats, 0, sizeof res->stats);
	uint32_t findings_from = res->finding_count;
	WH_ASSERT_EQ(res->history.txn_count, 0);
	threads__set_current(c);
	threads__lock(w);
	threads__conn_loop(c);
	threads__unlock(w);
	WH_ASSERT(c->db == NULL);
	char path[WORLD_PATH_MAX + 32];
	procs_path(w, (uint32_t)c->id, path, sizeof path);
	int rc = procs_write(w, path, findings_from);
	if (w->cfg->trace != NULL)
		fflush(w->cfg->trace);
	/* Not exit(): the run's process registered what runs at its exit,
	 * and buffered what it alone may write. */
	_exit(rc == 0 ? 0 : PROCS_EXIT_WRITE);
}

/* ------------------------------------------------------------------ */
/* The watch                                                           */
/* ------------------------------------------------------------------ */

struct procs_watch {
	struct world *w;
	struct procs_child *kids;    /* conn_count */
	uint32_t started;            /* forked */
	uint32_t live;               /* forked, not reaped */
	bool lost;                   /* a process died: nothing is checked */
};

/* Kill every connection process not yet reaped or killed. */
static void procs_kill_all(struct procs_watch *pw)
{
	for (uint32_t i = 0; i < pw->started; i++) {
		struct procs_child *k = &pw->kids[i];
		if (!k->reaped && !k->killed) {
			kill(k->pid, SIGKILL);
			k->killed = true;
		}
	}
}

/* Connection i's process ended with status: report it unless it ended
 * well or the run's process killed it. */
static void procs_ended(struct procs_watch *pw, uint32_t i)
{
	struct procs_child *k = &pw->kids[i];
	WH_ASSERT(k->reaped);
	int st = k->status;
	if (k->killed || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
		return;
	struct world *w = pw->w;
	char msg[1024];
	char how[160];
	if (WIFSIGNALED(st))
		snprintf(how, sizeof how, "died of signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else if (WIFEXITED(st) && WEXITSTATUS(st) == PROCS_EXIT_WRITE)
		snprintf(how, sizeof how, "could not write its history back (exit status %d)",
			 WEXITSTATUS(st));
	else
		snprintf(how, sizeof how, "exited with status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	/* Where it was, as it last published it. */
	char where[256];
	threads__describe_conn(w, i, where, sizeof where);
	snprintf(msg, sizeof msg,
		 "connection %u's process %s, %s: its history is lost, so the other connection processes were stopped and nothing was checked",
		 i, how, where);
	world__add_finding(w->res, "crash", msg);
	pw->lost = true;
	procs_kill_all(pw);
}

/* Reap what has ended (all of it when wait_all: they are ending). */
static void procs_reap(struct procs_watch *pw, bool wait_all)
{
	for (uint32_t i = 0; i < pw->started; i++) {
		struct procs_child *k = &pw->kids[i];
		if (k->reaped)
			continue;
		pid_t got;
		while ((got = waitpid(k->pid, &k->status, wait_all ? 0 : WNOHANG)) < 0 &&
		       errno == EINTR)
			;
		if (got == 0)
			continue;
		/* Ours, so waitpid can fail only if someone else reaped it. */
		WH_ASSERT_EQ(got, k->pid);
		k->reaped = true;
		WH_ASSERT(pw->live > 0);
		pw->live--;
		procs_ended(pw, i);
	}
}

/* Until every connection process has ended: watch for deaths and
 * hangs (the top of the file). Bounded: each pass waits at most
 * PROCS_WATCH_MS; the watchdog fires after watchdog_ms without a
 * finished transaction, and a grace later every process is killed. */
static void procs_watch(struct procs_watch *pw, int watch_fd)
{
	struct world *w = pw->w;
	const uint64_t limit_ms = w->cfg->watchdog_ms;
	uint64_t done = threads__txns_finished(w);
	uint64_t since = mono_ms();
	uint64_t grace_end = 0; /* 0: not drained */
	char msg[4096];
	bool eof = false;
	while (pw->live > 0) {
		if (!eof) {
			struct pollfd p = {.fd = watch_fd, .events = POLLIN};
			int rc = poll(&p, 1, PROCS_WATCH_MS);
			char byte;
			/* Nobody writes to it: readable means every write end
			 * has closed, every connection process has ended. */
			if (rc > 0 && read(watch_fd, &byte, 1) == 0)
				eof = true;
		}
		procs_reap(pw, eof);
		uint64_t now = mono_ms();
		if (pw->live == 0)
			break;
		if (grace_end != 0) {
			if (now < grace_end)
				continue;
			int n = (int)strlen(msg);
			snprintf(msg + n, sizeof msg - (size_t)n,
				 " %u connection process%s did not end when drained (%u ms): killed, and the history with %s, so nothing was checked",
				 pw->live, pw->live == 1 ? "" : "es", threads__drain_grace_ms(w),
				 pw->live == 1 ? "it" : "them");
			procs_kill_all(pw);
			pw->lost = true;
			procs_reap(pw, true);
			world__add_finding(w->res, "hang", msg);
			return;
		}
		uint64_t finished = threads__txns_finished(w);
		if (finished != done) {
			done = finished;
			since = now;
			continue;
		}
		if (now - since < limit_ms || pw->lost)
			continue;
		int n = snprintf(msg, sizeof msg,
				 "no transaction finished for %u ms of wall time (the watchdog; %" PRIu64
				 " of %" PRIu64 " done);",
				 w->cfg->watchdog_ms, finished, w->cfg->txn_count);
		threads__describe(w, msg, sizeof msg, n);
		threads__drain(w);
		grace_end = now + threads__drain_grace_ms(w);
	}
	if (grace_end != 0) {
		int n = (int)strlen(msg);
		snprintf(msg + n, sizeof msg - (size_t)n, " every connection unwound when drained");
		world__add_finding(w->res, "hang", msg);
	}
}

/* ------------------------------------------------------------------ */
/* The run                                                             */
/* ------------------------------------------------------------------ */

void procs__run(struct world *w)
{
	const struct world_config *cfg = w->cfg;
	struct world_result *res = w->res;
	/* Nothing recorded yet: each process's history is its own. */
	WH_ASSERT_EQ(res->history.txn_count, 0);
	WH_ASSERT(res->history.observer == NULL);
	struct procs_watch pw = {.w = w, .kids = wh_calloc(cfg->conn_count, sizeof *pw.kids)};
	int fds[2];
	if (pipe(fds) != 0) {
		world__add_finding(res, "setup_failed", "cannot make the watch pipe");
		res->history_lost = true;
		free(pw.kids);
		return;
	}
	/* Nothing buffered may be written by a child as well. */
	fflush(NULL);
	for (uint32_t i = 0; i < cfg->conn_count; i++) {
		pid_t pid = fork();
		if (pid == 0)
			procs_child(w, &w->conns[i], fds[0]);
		if (pid < 0) {
			char msg[256];
			snprintf(msg, sizeof msg, "cannot fork connection %u's process: %s", i,
				 strerror(errno));
			world__add_finding(res, "setup_failed", msg);
			pw.lost = true;
			procs_kill_all(&pw);
			break;
		}
		pw.kids[i].pid = pid;
		pw.started++;
		pw.live++;
	}
	close(fds[1]);
	procs_watch(&pw, fds[0]);
	close(fds[0]);
	WH_ASSERT_EQ(pw.live, 0);

	/* Every process ended: the page holds the last holder's fields. */
	char path[WORLD_PATH_MAX + 32];
	for (uint32_t i = 0; i < pw.started && !pw.lost; i++) {
		procs_path(w, i, path, sizeof path);
		if (procs_read(w, path) != 0) {
			char msg[2 * WORLD_PATH_MAX + 256];
			snprintf(msg, sizeof msg,
				 "connection %u's process ended but its history could not be read back from %s; nothing was checked",
				 i, path);
			world__add_finding(res, "crash", msg);
			pw.lost = true;
		}
	}
	for (uint32_t i = 0; i < pw.started; i++) {
		procs_path(w, i, path, sizeof path);
		unlink(path);
	}
	if (pw.lost) {
		/* A part is missing: keep none of it (the oracle must not see
		 * a history without the transactions the lost part ran). */
		hist_free(&res->history);
		hist_init(&res->history);
		hist_set_setup(&res->history, cfg->workload->setup_sql);
		res->history_lost = true;
	} else {
		/* Both sides of the return agree: the shared counters saw
		 * every commit and event the files hold. */
		uint64_t commits = res->history.commit_count;
		uint64_t event = res->history.event;
		threads__pull(w);
		WH_ASSERT_EQ(res->history.commit_count, commits);
		WH_ASSERT(res->history.event >= event);
	}
	free(pw.kids);
}
