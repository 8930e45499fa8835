/*
 * tape.c - the choice stream (see tape.h).
 *
 * Invariants: a track's cursor never exceeds its count; in replay mode the
 * values before `replay_count` came from the loaded tape and every draw past
 * them replaces what was there, so after a run and wh_tape_trim, count ==
 * the number of draws the run made (unused trailing values of an edited
 * tape are dropped). Tracks are kept in first-use order, which is
 * deterministic for a given run.
 */
#include "tape.h"

#include <string.h>

#include "wh.h"

void wh_tape_init(struct wh_tape *t)
{
	memset(t, 0, sizeof *t);
}

void wh_tape_free(struct wh_tape *t)
{
	for (uint32_t i = 0; i < t->track_count; i++)
		free(t->tracks[i].values);
	free(t->tracks);
	memset(t, 0, sizeof *t);
}

void wh_tape_rewind(struct wh_tape *t)
{
	t->replaying = true;
	for (uint32_t i = 0; i < t->track_count; i++) {
		t->tracks[i].cursor = 0;
		t->tracks[i].replay_count = t->tracks[i].count;
	}
}

struct wh_track *wh_tape_track(struct wh_tape *t, uint64_t stream)
{
	for (uint32_t i = 0; i < t->track_count; i++)
		if (t->tracks[i].stream == stream)
			return &t->tracks[i];
	WH_ASSERT(t->track_count < WH_TAPE_MAX_TRACKS);
	/* A seeded stream keeps a pointer to its track (prng.h), so tracks
	 * must never move: the array is allocated once, at its bound. */
	if (t->tracks == NULL) {
		t->track_cap = WH_TAPE_MAX_TRACKS;
		t->tracks = wh_malloc(t->track_cap * sizeof *t->tracks);
	}
	WH_ASSERT(t->track_count < t->track_cap);
	struct wh_track *tr = &t->tracks[t->track_count++];
	memset(tr, 0, sizeof *tr);
	tr->stream = stream;
	return tr;
}

void wh_track_push(struct wh_track *tr, uint64_t v)
{
	if (tr->count == tr->cap) {
		tr->cap = tr->cap ? tr->cap * 2 : 64;
		tr->values = wh_realloc(tr->values, tr->cap * sizeof *tr->values);
	}
	tr->values[tr->count++] = v;
}

uint64_t wh_track_draw(struct wh_track *tr, uint64_t fresh)
{
	WH_ASSERT(tr->cursor <= tr->count);
	if (tr->cursor < tr->replay_count) {
		/* replayed value: it stays where it is */
		return tr->values[tr->cursor++];
	}
	/* past the replayed part: record the fresh draw, dropping whatever
	 * an edited tape left beyond this point */
	tr->count = tr->cursor;
	wh_track_push(tr, fresh);
	tr->cursor++;
	return fresh;
}

void wh_track_log(struct wh_track *tr, uint64_t v)
{
	WH_ASSERT(tr->replay_count == 0);
	WH_ASSERT(tr->cursor == tr->count);
	wh_track_push(tr, v);
	tr->cursor = tr->count;
}

void wh_tape_trim(struct wh_tape *t)
{
	for (uint32_t i = 0; i < t->track_count; i++) {
		struct wh_track *tr = &t->tracks[i];
		tr->count = tr->cursor;
		tr->replay_count = tr->cursor;
	}
}

uint64_t wh_tape_size(const struct wh_tape *t)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < t->track_count; i++)
		n += t->tracks[i].count;
	return n;
}

void wh_tape_copy(struct wh_tape *dst, const struct wh_tape *src)
{
	wh_tape_init(dst);
	dst->replaying = src->replaying;
	for (uint32_t i = 0; i < src->track_count; i++) {
		const struct wh_track *s = &src->tracks[i];
		struct wh_track *d = wh_tape_track(dst, s->stream);
		for (uint64_t k = 0; k < s->count; k++)
			wh_track_push(d, s->values[k]);
		d->cursor = s->cursor;
		d->replay_count = s->replay_count;
	}
}
