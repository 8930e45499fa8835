/*
 * test_completion.c - unit tests for completions and completion groups
 * (engine/completion.c).
 *
 * Each test builds its completions on the stack, drives them by hand and
 * checks what the callbacks observed. A probe attached as callback data
 * records how often the callback ran and the state it saw at that moment;
 * a shared event log records the order in which callbacks ran across
 * completions. Programmer errors (assertions) are checked in a forked child
 * that must die by SIGABRT.
 *
 * Invariant of the harness: every test starts with an empty event log
 * (reset by the per-test setup), so tests do not depend on each other.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "completion.h"

#define EVENT_LOG_MAX 64

/* Order in which callbacks ran, as probe ids. */
static int event_log[EVENT_LOG_MAX];
static int event_count;

struct probe {
	int id;                    /* written to the event log */
	int calls;                 /* callback invocations */
	enum wh_comp_state state;  /* state seen inside the callback */
	int error;                 /* error seen inside the callback */
	int64_t result;            /* result seen inside the callback */
	bool reuse;                /* callback reinitialises and restarts c */
	struct wh_queue *requeue;  /* with reuse: queue to put c back on */
};

static int reset_log(void **state)
{
	(void)state;
	event_count = 0;
	memset(event_log, 0, sizeof event_log);
	return 0;
}

static void probe_cb(struct wh_completion *c, void *data)
{
	struct probe *p = data;

	p->calls++;
	p->state = c->state;
	p->error = c->error;
	p->result = c->result;
	if (event_count < EVENT_LOG_MAX)
		event_log[event_count++] = p->id;
	if (p->reuse) {
		p->reuse = false; /* once */
		wh_completion_init(c, c->kind, probe_cb, p);
		wh_completion_start(c);
		if (p->requeue != NULL)
			wh_queue_insert_tail(p->requeue, &c->link);
	}
}

static void start_probed(struct wh_completion *c, enum wh_op_kind kind,
			 struct probe *p, int id)
{
	memset(p, 0, sizeof *p);
	p->id = id;
	wh_completion_init(c, kind, probe_cb, p);
	wh_completion_start(c);
}

static void group_probed(struct wh_group *g, struct probe *p, int id)
{
	memset(p, 0, sizeof *p);
	p->id = id;
	wh_group_init(g, probe_cb, p);
}

static size_t queue_length(const struct wh_queue *h)
{
	size_t n = 0;
	const struct wh_queue *q;

	for (q = h->next; q != h && n < 1000; q = q->next)
		n++;
	return n;
}

/* Run fn in a forked child; true if it stopped at an always-on assertion
 * (SIGABRT) whose message contains `expr`, so that the intended check fired
 * rather than some later one. cmocka's SIGABRT handler is reset first so
 * that abort() really kills the child. */
static bool dies_by_assertion(void (*fn)(void), const char *expr)
{
	char err[4096];
	size_t used = 0;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn();
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], err + used, sizeof err - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == sizeof err - 1)
			break;
	}
	err[used] = '\0';
	close(fds[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
	       strstr(err, "assertion failed") != NULL &&
	       strstr(err, expr) != NULL;
}

/* ------------------------------------------------------------------------
 * Single completions
 * ---------------------------------------------------------------------- */

/* Completing twice runs the callback once and keeps the first result. */
static void test_complete_is_idempotent(void **state)
{
	(void)state;
	struct wh_completion c;
	struct probe p;

	start_probed(&c, WH_OP_READ, &p, 1);
	assert_true(wh_completion_is_pending(&c));
	wh_completion_complete(&c, 4096);
	wh_completion_complete(&c, 17);
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.state, WH_COMP_OK);
	assert_int_equal(p.result, 4096);
	assert_int_equal(c.result, 4096);
	assert_int_equal(c.error, 0);
	assert_true(wh_completion_is_finished(&c));
	assert_false(wh_completion_is_pending(&c));
}

/* A fail after a complete is ignored: state, error and callback count stay. */
static void test_fail_after_complete_is_ignored(void **state)
{
	(void)state;
	struct wh_completion c;
	struct probe p;

	start_probed(&c, WH_OP_WRITE, &p, 1);
	wh_completion_complete(&c, 512);
	wh_completion_fail(&c, WH_EIOERR);
	assert_int_equal(p.calls, 1);
	assert_int_equal(c.state, WH_COMP_OK);
	assert_int_equal(c.error, 0);
	assert_int_equal(c.result, 512);
}

/* The first failure wins over later failures and completions. */
static void test_first_fail_wins(void **state)
{
	(void)state;
	struct wh_completion c;
	struct probe p;

	start_probed(&c, WH_OP_SYNC, &p, 1);
	wh_completion_fail(&c, WH_EIOERR);
	wh_completion_fail(&c, WH_EBUSY);
	wh_completion_complete(&c, 1);
	wh_completion_cancel(&c);
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.state, WH_COMP_FAILED);
	assert_int_equal(p.error, WH_EIOERR);
	assert_int_equal(c.error, WH_EIOERR);
}

/* Cancel still completes: the callback runs once and sees CANCELLED with
 * WH_ECANCELLED; a late completion is ignored. */
static void test_cancel_runs_callback_with_ecancelled(void **state)
{
	(void)state;
	struct wh_completion c;
	struct probe p;

	start_probed(&c, WH_OP_LOCK, &p, 1);
	wh_completion_cancel(&c);
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.state, WH_COMP_CANCELLED);
	assert_int_equal(p.error, WH_ECANCELLED);
	wh_completion_complete(&c, 1);
	wh_completion_cancel(&c);
	assert_int_equal(p.calls, 1);
	assert_int_equal(c.state, WH_COMP_CANCELLED);
}

/* A cancel after a completion is ignored. */
static void test_cancel_after_complete_is_ignored(void **state)
{
	(void)state;
	struct wh_completion c;
	struct probe p;

	start_probed(&c, WH_OP_READ, &p, 1);
	wh_completion_complete(&c, 3);
	wh_completion_cancel(&c);
	assert_int_equal(p.calls, 1);
	assert_int_equal(c.state, WH_COMP_OK);
	assert_int_equal(c.error, 0);
}

/* A never-submitted (IDLE) completion can be cancelled and gets its
 * callback. */
static void test_cancel_idle_completion(void **state)
{
	(void)state;
	struct wh_completion c;
	struct probe p = {.id = 1};

	wh_completion_init(&c, WH_OP_SLEEP, probe_cb, &p);
	assert_int_equal(c.state, WH_COMP_IDLE);
	assert_false(wh_completion_is_pending(&c));
	assert_false(wh_completion_is_finished(&c));
	wh_completion_cancel(&c);
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.state, WH_COMP_CANCELLED);
}

/* Cancelling a queued completion unlinks it from the (scheduler) queue and
 * leaves its neighbours linked. */
static void test_cancel_unlinks_from_queue(void **state)
{
	(void)state;
	struct wh_queue pending;
	struct wh_completion c[3];
	struct probe p[3];

	wh_queue_init(&pending);
	for (int i = 0; i < 3; i++) {
		start_probed(&c[i], WH_OP_WRITE, &p[i], i);
		wh_queue_insert_tail(&pending, &c[i].link);
	}
	wh_completion_cancel(&c[1]);
	assert_int_equal(queue_length(&pending), 2);
	assert_ptr_equal(pending.next, &c[0].link);
	assert_ptr_equal(c[0].link.next, &c[2].link);
	assert_true(wh_queue_empty(&c[1].link));
	assert_int_equal(p[1].calls, 1);
}

/* Completing or failing a queued completion unlinks it too. */
static void test_finish_unlinks_from_queue(void **state)
{
	(void)state;
	struct wh_queue pending;
	struct wh_completion a, b;
	struct probe pa, pb;

	wh_queue_init(&pending);
	start_probed(&a, WH_OP_READ, &pa, 1);
	start_probed(&b, WH_OP_READ, &pb, 2);
	wh_queue_insert_tail(&pending, &a.link);
	wh_queue_insert_tail(&pending, &b.link);
	wh_completion_complete(&a, 1);
	assert_int_equal(queue_length(&pending), 1);
	wh_completion_fail(&b, WH_EIOERR);
	assert_true(wh_queue_empty(&pending));
	assert_true(wh_queue_empty(&a.link));
	assert_true(wh_queue_empty(&b.link));
}

/* The callback may reinitialise and resubmit its completion; the new round
 * finishes (and calls back) independently of the first. */
static void test_callback_may_reuse_completion(void **state)
{
	(void)state;
	struct wh_queue pending;
	struct wh_completion c;
	struct probe p;

	wh_queue_init(&pending);
	start_probed(&c, WH_OP_READ, &p, 1);
	p.reuse = true;
	p.requeue = &pending;
	wh_queue_insert_tail(&pending, &c.link);
	wh_completion_complete(&c, 10);
	assert_int_equal(p.calls, 1);
	assert_true(wh_completion_is_pending(&c));
	assert_int_equal(queue_length(&pending), 1);
	wh_completion_complete(&c, 20);
	assert_int_equal(p.calls, 2);
	assert_int_equal(p.result, 20);
	assert_true(wh_queue_empty(&pending));
}

/* init resets everything a previous round left, owner included. */
static void test_init_resets_fields(void **state)
{
	(void)state;
	struct wh_completion c;

	memset(&c, 0xa5, sizeof c);
	wh_completion_init(&c, WH_OP_TRUNCATE, NULL, NULL);
	assert_int_equal(c.kind, WH_OP_TRUNCATE);
	assert_int_equal(c.state, WH_COMP_IDLE);
	assert_int_equal(c.error, 0);
	assert_int_equal(c.result, 0);
	assert_int_equal(c.owner, -1);
	assert_null(c.parent);
	assert_null(c.cb);
	assert_true(wh_queue_empty(&c.link));
	assert_true(wh_queue_empty(&c.sibling));
	/* A NULL callback is allowed. */
	wh_completion_start(&c);
	wh_completion_complete(&c, 0);
	assert_int_equal(c.state, WH_COMP_OK);
}

/* wh_op_name gives short lowercase names, distinct for every kind. */
static void test_op_names(void **state)
{
	(void)state;
	assert_string_equal(wh_op_name(WH_OP_READ), "read");
	assert_string_equal(wh_op_name(WH_OP_WRITE), "write");
	assert_string_equal(wh_op_name(WH_OP_SHM_LOCK), "shm_lock");
	assert_string_equal(wh_op_name(WH_OP_SYNC), "sync");
	assert_string_equal(wh_op_name(WH_OP_GROUP), "group");
	for (int i = 0; i < WH_OP__COUNT; i++) {
		const char *name = wh_op_name((enum wh_op_kind)i);
		assert_non_null(name);
		assert_true(name[0] != '\0');
		assert_true(strlen(name) <= 16);
		for (const char *s = name; *s; s++)
			assert_true(islower((unsigned char)*s) || *s == '_');
		for (int j = 0; j < i; j++)
			assert_string_not_equal(
				name, wh_op_name((enum wh_op_kind)j));
	}
}

/* ------------------------------------------------------------------------
 * Groups
 * ---------------------------------------------------------------------- */

/* A group of successful children finishes OK only with the last one, sums
 * their results, and calls back once. */
static void test_group_all_ok(void **state)
{
	(void)state;
	struct wh_group g;
	struct wh_completion c[3];
	struct probe pg, p[3];

	group_probed(&g, &pg, 100);
	assert_true(wh_completion_is_pending(&g.comp));
	assert_int_equal(g.comp.kind, WH_OP_GROUP);
	for (int i = 0; i < 3; i++) {
		start_probed(&c[i], WH_OP_WRITE, &p[i], i);
		wh_group_add(&g, &c[i]);
	}
	wh_group_seal(&g);
	wh_completion_complete(&c[0], 100);
	wh_completion_complete(&c[2], 10);
	assert_int_equal(pg.calls, 0);
	assert_true(wh_completion_is_pending(&g.comp));
	wh_completion_complete(&c[1], 1);
	assert_int_equal(pg.calls, 1);
	assert_int_equal(pg.state, WH_COMP_OK);
	assert_int_equal(g.comp.result, 111);
	assert_int_equal(g.finished_count, 3);
	assert_int_equal(g.child_count, 3);
}

/* The group keeps the first error in finishing order (not adding order),
 * even when a later child fails differently. */
static void test_group_keeps_first_error(void **state)
{
	(void)state;
	struct wh_group g;
	struct wh_completion c[3];
	struct probe pg, p[3];

	group_probed(&g, &pg, 100);
	for (int i = 0; i < 3; i++) {
		start_probed(&c[i], WH_OP_WRITE, &p[i], i);
		wh_group_add(&g, &c[i]);
	}
	wh_group_seal(&g);
	wh_completion_fail(&c[2], WH_EIOERR); /* added last, finishes first */
	wh_completion_fail(&c[0], WH_EBUSY);
	wh_completion_complete(&c[1], 1);
	assert_int_equal(pg.calls, 1);
	assert_int_equal(pg.state, WH_COMP_FAILED);
	assert_int_equal(pg.error, WH_EIOERR);
}

/* No short-circuit: after a child error the group stays pending (no
 * callback) until every child has finished. */
static void test_group_no_short_circuit(void **state)
{
	(void)state;
	struct wh_group g;
	struct wh_completion c[3];
	struct probe pg, p[3];

	group_probed(&g, &pg, 100);
	for (int i = 0; i < 3; i++) {
		start_probed(&c[i], WH_OP_READ, &p[i], i);
		wh_group_add(&g, &c[i]);
	}
	wh_group_seal(&g);
	wh_completion_fail(&c[0], WH_EIOERR);
	assert_true(wh_completion_is_pending(&g.comp));
	assert_int_equal(pg.calls, 0);
	/* The other children were not cancelled by the error. */
	assert_true(wh_completion_is_pending(&c[1]));
	assert_true(wh_completion_is_pending(&c[2]));
	wh_completion_complete(&c[1], 1);
	assert_int_equal(pg.calls, 0);
	wh_completion_complete(&c[2], 1);
	assert_int_equal(pg.calls, 1);
	assert_int_equal(pg.error, WH_EIOERR);
	assert_int_equal(p[1].state, WH_COMP_OK);
}

/* Groups nest: an inner group is a child of an outer one; the inner error
 * becomes the outer error and callbacks run inner before outer. */
static void test_group_nested(void **state)
{
	(void)state;
	struct wh_group outer, inner;
	struct wh_completion leaf, a, b;
	struct probe po, pi, pl, pa, pb;

	group_probed(&outer, &po, 100);
	group_probed(&inner, &pi, 50);
	wh_group_add(&outer, &inner.comp);
	start_probed(&leaf, WH_OP_SYNC, &pl, 3);
	wh_group_add(&outer, &leaf);
	wh_group_seal(&outer);
	start_probed(&a, WH_OP_WRITE, &pa, 1);
	start_probed(&b, WH_OP_WRITE, &pb, 2);
	wh_group_add(&inner, &a);
	wh_group_add(&inner, &b);
	wh_group_seal(&inner);

	wh_completion_complete(&a, 1);
	wh_completion_fail(&b, WH_EIOERR);
	assert_int_equal(pi.calls, 1);
	assert_int_equal(pi.state, WH_COMP_FAILED);
	assert_int_equal(pi.error, WH_EIOERR);
	assert_int_equal(po.calls, 0); /* leaf still pending */
	wh_completion_complete(&leaf, 1);
	assert_int_equal(po.calls, 1);
	assert_int_equal(po.state, WH_COMP_FAILED);
	assert_int_equal(po.error, WH_EIOERR);
	/* a, b, inner, leaf, outer. */
	assert_int_equal(event_count, 5);
	assert_int_equal(event_log[0], 1);
	assert_int_equal(event_log[1], 2);
	assert_int_equal(event_log[2], 50);
	assert_int_equal(event_log[3], 3);
	assert_int_equal(event_log[4], 100);
}

/* A sealed empty group finishes OK at once, calling back exactly once. */
static void test_group_empty_sealed_finishes_at_once(void **state)
{
	(void)state;
	struct wh_group g;
	struct probe pg;

	group_probed(&g, &pg, 100);
	assert_int_equal(pg.calls, 0);
	wh_group_seal(&g);
	assert_int_equal(pg.calls, 1);
	assert_int_equal(pg.state, WH_COMP_OK);
	assert_true(wh_completion_is_finished(&g.comp));
}

/* Children added and all finished before the seal: the group waits for the
 * seal, then finishes at once. */
static void test_group_finishes_at_seal(void **state)
{
	(void)state;
	struct wh_group g;
	struct wh_completion c[2];
	struct probe pg, p[2];

	group_probed(&g, &pg, 100);
	for (int i = 0; i < 2; i++) {
		start_probed(&c[i], WH_OP_READ, &p[i], i);
		wh_group_add(&g, &c[i]);
	}
	wh_completion_complete(&c[0], 5);
	wh_completion_complete(&c[1], 6);
	assert_true(wh_completion_is_pending(&g.comp));
	assert_int_equal(pg.calls, 0);
	/* Still open: another child may join after the first ones finished. */
	struct wh_completion late;
	struct probe pl;
	start_probed(&late, WH_OP_READ, &pl, 2);
	wh_group_add(&g, &late);
	wh_completion_complete(&late, 7);
	assert_int_equal(pg.calls, 0);
	wh_group_seal(&g);
	assert_int_equal(pg.calls, 1);
	assert_int_equal(pg.state, WH_COMP_OK);
	assert_int_equal(pg.result, 18);
}

/* Cancelling a group cancels every unfinished child (each calls back once
 * with WH_ECANCELLED and leaves the scheduler queue), leaves finished
 * children alone, and finishes the group as cancelled. */
static void test_group_cancel_cancels_every_child(void **state)
{
	(void)state;
	struct wh_queue pending;
	struct wh_group g;
	struct wh_completion c[4];
	struct probe pg, p[4];

	wh_queue_init(&pending);
	group_probed(&g, &pg, 100);
	for (int i = 0; i < 4; i++) {
		start_probed(&c[i], WH_OP_WRITE, &p[i], i);
		wh_queue_insert_tail(&pending, &c[i].link);
		wh_group_add(&g, &c[i]);
	}
	wh_group_seal(&g);
	wh_completion_complete(&c[1], 1);
	wh_group_cancel(&g);
	assert_int_equal(pg.calls, 1);
	assert_int_equal(pg.state, WH_COMP_CANCELLED);
	assert_int_equal(pg.error, WH_ECANCELLED);
	assert_int_equal(p[1].calls, 1);
	assert_int_equal(p[1].state, WH_COMP_OK);
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		assert_int_equal(p[i].calls, 1);
		assert_int_equal(p[i].state, WH_COMP_CANCELLED);
		assert_int_equal(p[i].error, WH_ECANCELLED);
	}
	assert_true(wh_queue_empty(&pending));
	assert_true(wh_queue_empty(&g.children));
	/* Cancelling again changes nothing. */
	wh_group_cancel(&g);
	assert_int_equal(pg.calls, 1);
	/* The group callback came last. */
	assert_int_equal(event_log[event_count - 1], 100);
}

/* Cancel through the group's completion reaches nested grandchildren, and
 * works on an unsealed group. */
static void test_group_cancel_nested_via_completion(void **state)
{
	(void)state;
	struct wh_group outer, inner;
	struct wh_completion a, b;
	struct probe po, pi, pa, pb;

	group_probed(&outer, &po, 100);
	group_probed(&inner, &pi, 50);
	start_probed(&a, WH_OP_SHM_LOCK, &pa, 1);
	start_probed(&b, WH_OP_SHM_LOCK, &pb, 2);
	wh_group_add(&inner, &a);
	wh_group_add(&outer, &inner.comp);
	wh_group_add(&outer, &b);
	/* Neither group is sealed. */
	wh_completion_cancel(&outer.comp);
	assert_int_equal(pa.state, WH_COMP_CANCELLED);
	assert_int_equal(pb.state, WH_COMP_CANCELLED);
	assert_int_equal(pi.calls, 1);
	assert_int_equal(pi.state, WH_COMP_CANCELLED);
	assert_int_equal(po.calls, 1);
	assert_int_equal(po.state, WH_COMP_CANCELLED);
	/* Sealing a cancelled group is harmless. */
	wh_group_seal(&inner);
	assert_int_equal(pi.calls, 1);
}

/* A child's own callback runs before its group learns it finished. */
static void test_group_child_callback_before_group(void **state)
{
	(void)state;
	struct wh_group g;
	struct wh_completion c;
	struct probe pg, p;

	group_probed(&g, &pg, 100);
	start_probed(&c, WH_OP_READ, &p, 1);
	wh_group_add(&g, &c);
	wh_group_seal(&g);
	wh_completion_complete(&c, 1);
	assert_int_equal(event_count, 2);
	assert_int_equal(event_log[0], 1);
	assert_int_equal(event_log[1], 100);
}

/* A child may reuse its memory from its callback while the group still
 * waits for its siblings; the group's list stays intact. */
static void test_group_child_reused_in_callback(void **state)
{
	(void)state;
	struct wh_group g;
	struct wh_completion c[3];
	struct probe pg, p[3];

	group_probed(&g, &pg, 100);
	for (int i = 0; i < 3; i++) {
		start_probed(&c[i], WH_OP_WRITE, &p[i], i);
		wh_group_add(&g, &c[i]);
	}
	wh_group_seal(&g);
	p[1].reuse = true; /* reinitialised (not a child any more) */
	wh_completion_complete(&c[1], 1);
	assert_null(c[1].parent);
	assert_true(wh_completion_is_pending(&c[1]));
	assert_int_equal(queue_length(&g.children), 2);
	wh_completion_complete(&c[0], 1);
	wh_completion_complete(&c[2], 1);
	assert_int_equal(pg.calls, 1);
	assert_int_equal(pg.state, WH_COMP_OK);
	/* The reused completion is independent of the finished group. */
	wh_completion_complete(&c[1], 1);
	assert_int_equal(p[1].calls, 2);
	assert_int_equal(pg.calls, 1);
}

/* Adding an IDLE child starts it; a PENDING one is taken as is. */
static void test_group_add_starts_idle_child(void **state)
{
	(void)state;
	struct wh_group g;
	struct wh_completion idle, pending;
	struct probe pg, pi, pp;

	group_probed(&g, &pg, 100);
	memset(&pi, 0, sizeof pi);
	wh_completion_init(&idle, WH_OP_READ, probe_cb, &pi);
	start_probed(&pending, WH_OP_READ, &pp, 2);
	wh_group_add(&g, &idle);
	wh_group_add(&g, &pending);
	assert_int_equal(idle.state, WH_COMP_PENDING);
	assert_ptr_equal(idle.parent, &g);
	assert_ptr_equal(pending.parent, &g);
	assert_int_equal(g.child_count, 2);
	assert_int_equal(queue_length(&g.children), 2);
	wh_group_cancel(&g);
	assert_int_equal(pi.calls, 1);
	assert_int_equal(pp.calls, 1);
}

/* A child cancelled on its own is the group's first error, so the group
 * finishes cancelled (state CANCELLED always goes with WH_ECANCELLED). */
static void test_group_child_cancelled_alone(void **state)
{
	(void)state;
	struct wh_group g;
	struct wh_completion c[2];
	struct probe pg, p[2];

	group_probed(&g, &pg, 100);
	for (int i = 0; i < 2; i++) {
		start_probed(&c[i], WH_OP_LOCK, &p[i], i);
		wh_group_add(&g, &c[i]);
	}
	wh_group_seal(&g);
	wh_completion_cancel(&c[0]);
	assert_true(wh_completion_is_pending(&g.comp));
	wh_completion_fail(&c[1], WH_EBUSY);
	assert_int_equal(pg.state, WH_COMP_CANCELLED);
	assert_int_equal(pg.error, WH_ECANCELLED);
}

/* The group can be reinitialised from its own callback and used again. */
static int regroup_rounds;
static void regroup_cb(struct wh_completion *c, void *data)
{
	(void)data;
	struct wh_group *g = wh_container_of(c, struct wh_group, comp);
	regroup_rounds++;
	if (regroup_rounds == 1)
		wh_group_init(g, regroup_cb, NULL);
}

static void test_group_reinit_in_callback(void **state)
{
	(void)state;
	struct wh_group g;
	struct wh_completion c;

	regroup_rounds = 0;
	wh_group_init(&g, regroup_cb, NULL);
	wh_completion_init(&c, WH_OP_READ, NULL, NULL);
	wh_group_add(&g, &c);
	wh_group_seal(&g);
	wh_completion_complete(&c, 1);
	assert_int_equal(regroup_rounds, 1);
	assert_true(wh_completion_is_pending(&g.comp));
	assert_int_equal(g.child_count, 0);
	wh_group_seal(&g);
	assert_int_equal(regroup_rounds, 2);
}

/* ------------------------------------------------------------------------
 * Programmer errors stop the program
 * ---------------------------------------------------------------------- */

static void add_to_sealed_group(void)
{
	struct wh_group g;
	struct wh_completion first, late;

	/* One pending child keeps the sealed group pending. */
	wh_group_init(&g, NULL, NULL);
	wh_completion_init(&first, WH_OP_READ, NULL, NULL);
	wh_group_add(&g, &first);
	wh_group_seal(&g);
	wh_completion_init(&late, WH_OP_READ, NULL, NULL);
	wh_group_add(&g, &late);
}

static void add_group_to_itself(void)
{
	struct wh_group outer, inner;

	wh_group_init(&outer, NULL, NULL);
	wh_group_init(&inner, NULL, NULL);
	wh_group_add(&outer, &inner.comp);
	wh_group_add(&inner, &outer.comp);
}

static void complete_idle(void)
{
	struct wh_completion c;

	wh_completion_init(&c, WH_OP_READ, NULL, NULL);
	wh_completion_complete(&c, 1);
}

static void complete_group_directly(void)
{
	struct wh_group g;

	wh_group_init(&g, NULL, NULL);
	wh_completion_complete(&g.comp, 1);
}

static void harmless(void)
{
}

/* Misuse is an assertion: adding to a sealed group, making a group its own
 * ancestor, completing an unsubmitted completion, completing a group from
 * outside. The harmless control proves the harness itself does not abort. */
static void test_misuse_asserts(void **state)
{
	(void)state;
	assert_false(dies_by_assertion(harmless, ""));
	assert_true(dies_by_assertion(add_to_sealed_group, "!g->sealed"));
	assert_true(dies_by_assertion(add_group_to_itself,
				      "&ancestor->comp != child"));
	assert_true(dies_by_assertion(complete_idle,
				      "c->state == WH_COMP_PENDING"));
	assert_true(dies_by_assertion(complete_group_directly,
				      "c->kind != WH_OP_GROUP"));
}

#define T(f) cmocka_unit_test_setup(f, reset_log)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_complete_is_idempotent),
		T(test_fail_after_complete_is_ignored),
		T(test_first_fail_wins),
		T(test_cancel_runs_callback_with_ecancelled),
		T(test_cancel_after_complete_is_ignored),
		T(test_cancel_idle_completion),
		T(test_cancel_unlinks_from_queue),
		T(test_finish_unlinks_from_queue),
		T(test_callback_may_reuse_completion),
		T(test_init_resets_fields),
		T(test_op_names),
		T(test_group_all_ok),
		T(test_group_keeps_first_error),
		T(test_group_no_short_circuit),
		T(test_group_nested),
		T(test_group_empty_sealed_finishes_at_once),
		T(test_group_finishes_at_seal),
		T(test_group_cancel_cancels_every_child),
		T(test_group_cancel_nested_via_completion),
		T(test_group_child_callback_before_group),
		T(test_group_child_reused_in_callback),
		T(test_group_add_starts_idle_child),
		T(test_group_child_cancelled_alone),
		T(test_group_reinit_in_callback),
		T(test_misuse_asserts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
