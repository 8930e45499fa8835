/*
 * tape.h - the run's choice stream: every raw draw of every seeded stream,
 * recorded so a run can be replayed exactly, and edited so the shrinker can
 * look for a smaller run that fails the same way.
 *
 * Each PRNG stream (scheduler picks, latencies, PCT, xRandomness, faults,
 * one per connection's workload) has its own track of raw 64-bit values.
 * Recording appends each value the stream draws. Replaying returns the
 * track's values in order instead of the PRNG's; when a track runs out the
 * stream continues from its PRNG (so an edited, shorter track still gives
 * a valid run) and keeps recording, so after any run the tape holds exactly
 * the choices that run made. Because every decision is a function of raw
 * draws, any tape is a valid run: edits change the run, never break it.
 *
 * One track is not raw draws but a log: WH_STREAM_PICKS holds, for every
 * scheduler pick, which connection's completion ran (see sched.h). The
 * scheduler follows it when replaying and records the picks it made.
 *
 * Smaller raw values mean earlier choices: wh_prng_below(n) maps 0 to 0,
 * so zeroing a value moves that decision to its first option.
 */
#ifndef WH_TAPE_H
#define WH_TAPE_H

#include <stdbool.h>
#include <stdint.h>

/* Room for the fixed streams plus two per connection (workload and
 * latency), at up to 1024 connections. */
#define WH_TAPE_MAX_TRACKS 3100

struct wh_track {
	uint64_t stream;      /* stream id (enum wh_stream, or CONN + i) */
	uint64_t *values;     /* recorded / to replay */
	uint64_t count;       /* values held */
	uint64_t cap;
	uint64_t cursor;      /* replay: next value to return */
	uint64_t replay_count;/* replay: values given (before recording
				 resumed past them) */
};

struct wh_tape {
	struct wh_track *tracks;  /* by first use; found by stream id */
	uint32_t track_count;
	uint32_t track_cap;
	bool replaying;           /* values given are returned first */
};

void wh_tape_init(struct wh_tape *t);
void wh_tape_free(struct wh_tape *t);
/* Prepare a recorded or loaded tape for replay: rewind every track. */
void wh_tape_rewind(struct wh_tape *t);
/* The track of a stream, created empty on first use. */
struct wh_track *wh_tape_track(struct wh_tape *t, uint64_t stream);
/* Append a value to a track (recording, or building a tape by hand). */
void wh_track_push(struct wh_track *tr, uint64_t v);
/* Draw: the next replayed value when there is one, else `fresh`; either
 * way the value is what the run used, and the track records it. */
uint64_t wh_track_draw(struct wh_track *tr, uint64_t fresh);
/* Append a logged value (not a draw): the track's cursor stays at its end,
 * so wh_tape_trim keeps it. Only for a track that is not being replayed. */
void wh_track_log(struct wh_track *tr, uint64_t v);
/* After a replayed run: drop values the run did not reach, so the tape
 * holds exactly the draws that run made. */
void wh_tape_trim(struct wh_tape *t);
/* Total values over all tracks. */
uint64_t wh_tape_size(const struct wh_tape *t);
/* Deep copy. */
void wh_tape_copy(struct wh_tape *dst, const struct wh_tape *src);

#endif /* WH_TAPE_H */
