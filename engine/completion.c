/*
 * completion.c - the lifecycle of one outstanding simulated operation, and
 * groups that finish when all of their children have (see completion.h for
 * the contract).
 *
 * State machine of a completion:
 *
 *     IDLE --start--> PENDING --complete--> OK
 *       |                |------fail------> FAILED
 *       |                `-----cancel-----> CANCELLED
 *       `---------------------cancel-----> CANCELLED
 *
 * Every transition out of PENDING (or the cancel of a never-submitted
 * completion) goes through comp_finish(), which is the only place that
 * writes a final state. It runs in this order:
 *   1. record state, error and result;
 *   2. unlink `link` (the scheduler's queue of unlogged work) and, for a
 *      child, unlink `sibling` from the parent group's children list and
 *      clear `parent`;
 *   3. run the callback (at most once: a finished completion never reaches
 *      comp_finish again);
 *   4. notify the parent group, using only values copied before step 3.
 * Step 2 comes before the callback so that the callback may reinitialise,
 * resubmit or free the completion; step 4 uses copies because after step 3
 * the memory may already belong to somebody else. A child's own callback
 * therefore always runs before its group learns that it finished.
 *
 * Groups. A group's completion is PENDING from wh_group_init() on. Its
 * children list holds the children that have not finished yet: a finished
 * child is unlinked at once, because its owner may reuse its memory from its
 * callback while the group is still waiting for others. child_count and
 * finished_count count every child ever added and finished. While the group
 * is pending, comp.error holds the first child error in finishing order (0 if
 * none yet) and comp.result the sum of the results of children that finished
 * OK. The group finishes when it is sealed and finished_count == child_count:
 *   - OK if no child failed;
 *   - CANCELLED if the first child error was WH_ECANCELLED, so that the
 *     invariant "state CANCELLED <=> error WH_ECANCELLED" holds for groups as
 *     for plain completions;
 *   - FAILED with the first child error otherwise.
 * A failed child does not finish the group early (no short-circuit): the
 * group still waits for every child, whose buffers must be released.
 *
 * Cancelling a group cancels every unfinished child (recursively for nested
 * groups), then finishes the group as CANCELLED whatever its children
 * reported: the caller asked for cancellation and gets it. Cancellation does
 * not need a seal. While the cancel loop runs, `cancelling` stops the last
 * child from finishing the group underneath the loop (the group's callback
 * could free the group while the loop still reads its list); the loop
 * finishes the group itself once the list is empty.
 *
 * Invariants:
 * - a completion in a final state is never linked through `link` or
 *   `sibling`, and has parent == NULL;
 * - a pending child c has c->parent == g and sits in g->children;
 * - for a group, finished_count <= child_count, and the number of entries in
 *   children equals child_count - finished_count;
 * - a group is never its own ancestor (checked on add).
 * Sequence numbers and due times are the scheduler's business; this file
 * only resets them on init.
 */
#include "completion.h"

/* Nesting bound for the ancestor walk in wh_group_add(); cycles are refused
 * there, so this bound is a sanity limit, not a feature. */
#define GROUP_DEPTH_MAX 4096u

static const char *const op_names[] = {
	[WH_OP_OPEN] = "open",
	[WH_OP_CLOSE] = "close",
	[WH_OP_DELETE] = "delete",
	[WH_OP_ACCESS] = "access",
	[WH_OP_FULLPATH] = "fullpath",
	[WH_OP_READ] = "read",
	[WH_OP_WRITE] = "write",
	[WH_OP_TRUNCATE] = "truncate",
	[WH_OP_SYNC] = "sync",
	[WH_OP_FILESIZE] = "filesize",
	[WH_OP_LOCK] = "lock",
	[WH_OP_UNLOCK] = "unlock",
	[WH_OP_CHECK_RESERVED] = "check_reserved",
	[WH_OP_FILE_CONTROL] = "file_control",
	[WH_OP_SHM_MAP] = "shm_map",
	[WH_OP_SHM_LOCK] = "shm_lock",
	[WH_OP_SHM_BARRIER] = "shm_barrier",
	[WH_OP_SHM_UNMAP] = "shm_unmap",
	[WH_OP_FETCH] = "fetch",
	[WH_OP_UNFETCH] = "unfetch",
	[WH_OP_SLEEP] = "sleep",
	[WH_OP_THINK] = "think",
	[WH_OP_GROUP] = "group",
};
/* A kind added to the enum without a name here would make the table too
 * short; a hole in the middle is caught by the NULL check in wh_op_name(). */
_Static_assert(sizeof op_names / sizeof op_names[0] == WH_OP__COUNT,
	       "op_names must name every enum wh_op_kind");

const char *wh_op_name(enum wh_op_kind kind)
{
	size_t index = kind;

	WH_ASSERT(index < WH_OP__COUNT);
	const char *name = op_names[index];
	WH_ASSERT(name != NULL);
	return name;
}

static bool comp_state_is_final(enum wh_comp_state state)
{
	return state == WH_COMP_OK || state == WH_COMP_FAILED ||
	       state == WH_COMP_CANCELLED;
}


/* Set every field to its IDLE value. The memory may be uninitialised (first
 * use) so nothing is read from it; "not pending" cannot be checked here and
 * stays the caller's obligation. */
static void comp_reset(struct wh_completion *c, enum wh_op_kind kind,
		       wh_completion_cb cb, void *data)
{
	size_t index = kind;

	WH_ASSERT(c != NULL);
	WH_ASSERT(index < WH_OP__COUNT);
	c->kind = kind;
	c->state = WH_COMP_IDLE;
	c->error = 0;
	c->result = 0;
	c->due_us = 0;
	c->seq = 0;
	c->sched_pos = WH_COMP_NO_POS;
	c->owner = -1;
	c->unlogged = false;
	c->mark = 0;
	c->cb = cb;
	c->data = data;
	c->parent = NULL;
	wh_queue_init(&c->link);
	wh_queue_init(&c->sibling);
}

void wh_completion_init(struct wh_completion *c, enum wh_op_kind kind,
			wh_completion_cb cb, void *data)
{
	/* A group's completion lives inside a struct wh_group and is reached
	 * from it by container_of; a free-standing one would be corrupt. */
	WH_ASSERT(kind != WH_OP_GROUP);
	comp_reset(c, kind, cb, data);
	WH_ASSERT(c->state == WH_COMP_IDLE);
}


static void group_child_finished(struct wh_group *g, int error,
				 int64_t result);

/* The single exit from PENDING (or IDLE, for a cancel). See the file comment
 * for why the steps come in this order. */
static void comp_finish(struct wh_completion *c, enum wh_comp_state state,
			int error, int64_t result)
{
	WH_ASSERT(comp_state_is_final(state));
	WH_ASSERT(c->state == WH_COMP_PENDING ||
		  (c->state == WH_COMP_IDLE && state == WH_COMP_CANCELLED));
	WH_ASSERT((state == WH_COMP_OK) == (error == 0));
	/* A scheduled completion leaves the scheduler first (sched_pick or
	 * sched_cancel): finished behind its back, it would stay in the
	 * pending heap and be picked again. */
	WH_ASSERT(c->sched_pos == WH_COMP_NO_POS);

	c->state = state;
	c->error = error;
	c->result = result;

	/* An unlinked node points at itself, so removing it again is a no-op:
	 * no need to know whether the scheduler had queued it. */
	wh_queue_remove(&c->link);

	struct wh_group *parent = c->parent;
	if (parent != NULL) {
		WH_ASSERT(!wh_queue_empty(&c->sibling));
		wh_queue_remove(&c->sibling);
		c->parent = NULL;
	}

	wh_completion_cb cb = c->cb;
	void *data = c->data;
	if (cb != NULL)
		cb(c, data);
	/* From here on `c` may have been reused or freed by its owner. */

	if (parent != NULL)
		group_child_finished(parent, error, result);
}

void wh_completion_complete(struct wh_completion *c, int64_t result)
{
	WH_ASSERT(c != NULL);
	if (wh_completion_is_finished(c))
		return; /* the first outcome wins */
	/* A group's outcome is made by its children, never set from outside. */
	WH_ASSERT(c->kind != WH_OP_GROUP);
	WH_ASSERT(c->state == WH_COMP_PENDING);
	comp_finish(c, WH_COMP_OK, 0, result);
}

void wh_completion_fail(struct wh_completion *c, int error)
{
	WH_ASSERT(c != NULL);
	WH_ASSERT(error < 0);
	if (wh_completion_is_finished(c))
		return; /* the first outcome wins */
	WH_ASSERT(c->kind != WH_OP_GROUP);
	WH_ASSERT(c->state == WH_COMP_PENDING);
	comp_finish(c, WH_COMP_FAILED, error, c->result);
}

void wh_completion_cancel(struct wh_completion *c)
{
	WH_ASSERT(c != NULL);
	if (wh_completion_is_finished(c))
		return; /* the first outcome wins */
	if (c->kind == WH_OP_GROUP) {
		wh_group_cancel(wh_container_of(c, struct wh_group, comp));
		return;
	}
	/* Cancelling a never-submitted completion is allowed: its owner gets
	 * the callback it would have had and may then reuse the memory. */
	WH_ASSERT(c->state == WH_COMP_PENDING || c->state == WH_COMP_IDLE);
	comp_finish(c, WH_COMP_CANCELLED, WH_ECANCELLED, c->result);
}

/* ------------------------------------------------------------------------
 * Groups
 * ---------------------------------------------------------------------- */

void wh_group_init(struct wh_group *g, wh_completion_cb cb, void *data)
{
	WH_ASSERT(g != NULL);
	comp_reset(&g->comp, WH_OP_GROUP, cb, data);
	g->comp.state = WH_COMP_PENDING;
	wh_queue_init(&g->children);
	g->child_count = 0;
	g->finished_count = 0;
	g->sealed = false;
	g->cancelling = false;
	WH_ASSERT(wh_completion_is_pending(&g->comp));
}

/* Finish the group if nothing more can happen to it. */
static void group_maybe_finish(struct wh_group *g)
{
	WH_ASSERT(wh_completion_is_pending(&g->comp));
	WH_ASSERT(g->finished_count <= g->child_count);
	if (!g->sealed || g->cancelling)
		return; /* more children may come, or the cancel loop finishes */
	if (g->finished_count != g->child_count)
		return; /* no short-circuit: wait for every child */
	WH_ASSERT(wh_queue_empty(&g->children));

	int error = g->comp.error;
	enum wh_comp_state state = WH_COMP_OK;
	if (error == WH_ECANCELLED)
		state = WH_COMP_CANCELLED;
	else if (error != 0)
		state = WH_COMP_FAILED;
	comp_finish(&g->comp, state, error, g->comp.result);
}

static void group_child_finished(struct wh_group *g, int error,
				 int64_t result)
{
	WH_ASSERT(wh_completion_is_pending(&g->comp));
	WH_ASSERT(g->finished_count < g->child_count);
	g->finished_count++;
	if (error == 0)
		g->comp.result += result;
	else if (g->comp.error == 0)
		g->comp.error = error; /* first error in finishing order */
	group_maybe_finish(g);
}

/* Refuse to make a group its own ancestor: the finish notification would
 * then loop forever. */
static void group_assert_not_ancestor(const struct wh_group *g,
				      const struct wh_completion *child)
{
	const struct wh_group *ancestor = g;
	uint32_t depth = 0;

	while (ancestor != NULL) {
		WH_ASSERT(depth < GROUP_DEPTH_MAX);
		WH_ASSERT(&ancestor->comp != child);
		ancestor = ancestor->comp.parent;
		depth++;
	}
}

void wh_group_add(struct wh_group *g, struct wh_completion *child)
{
	WH_ASSERT(g != NULL);
	WH_ASSERT(child != NULL);
	WH_ASSERT(wh_completion_is_pending(&g->comp));
	WH_ASSERT(!g->sealed);
	WH_ASSERT(child->state == WH_COMP_IDLE ||
		  child->state == WH_COMP_PENDING);
	WH_ASSERT(child->parent == NULL);
	WH_ASSERT(wh_queue_empty(&child->sibling));
	WH_ASSERT(g->child_count < UINT32_MAX);
	group_assert_not_ancestor(g, child);

	if (child->state == WH_COMP_IDLE)
		wh_completion_start(child);
	child->parent = g;
	wh_queue_insert_tail(&g->children, &child->sibling);
	g->child_count++;
	WH_ASSERT(g->finished_count < g->child_count);
}

void wh_group_seal(struct wh_group *g)
{
	WH_ASSERT(g != NULL);
	WH_ASSERT(!g->sealed);
	g->sealed = true;
	/* A group cancelled before its seal has already finished. */
	if (wh_completion_is_pending(&g->comp))
		group_maybe_finish(g);
}

void wh_group_cancel(struct wh_group *g)
{
	WH_ASSERT(g != NULL);
	if (wh_completion_is_finished(&g->comp))
		return;
	/* Re-entered from a child's callback: the outer loop below already
	 * cancels everything. */
	if (g->cancelling)
		return;
	WH_ASSERT(wh_completion_is_pending(&g->comp));
	g->cancelling = true;

	/* Take the head each time rather than walking the list: each cancel
	 * unlinks its child, and callbacks may add children (which are then
	 * cancelled too). Every pass finishes one distinct child, so the pass
	 * count is bounded by the number of children ever added. */
	uint32_t passes = 0;
	while (!wh_queue_empty(&g->children)) {
		WH_ASSERT(passes < g->child_count);
		struct wh_completion *child = wh_container_of(
			g->children.next, struct wh_completion, sibling);
		WH_ASSERT(child->parent == g);
		WH_ASSERT(wh_completion_is_pending(child));
		/* The callback may free or reuse the child: not read after. */
		wh_completion_cancel(child);
		passes++;
	}
	WH_ASSERT_EQ(g->finished_count, g->child_count);

	g->cancelling = false;
	comp_finish(&g->comp, WH_COMP_CANCELLED, WH_ECANCELLED, g->comp.result);
}
