/*
 * prng.h - the run's seeded pseudo-random numbers.
 *
 * xoshiro256** streams, each derived from the run seed and a stream id with
 * splitmix64, so that adding draws to one purpose (say latencies) never
 * shifts another (say workload values). Nothing in the simulated path may
 * use any other source of randomness.
 */
#ifndef WH_PRNG_H
#define WH_PRNG_H

#include <stdint.h>

#include "tape.h"
#include "wh.h"

struct wh_prng {
	uint64_t s[4];
	struct wh_track *track; /* choice-stream track, or NULL */
};

/* Stream ids: one per purpose. Connection streams are WH_STREAM_CONN + id.
 * On a tape, latency draws are kept per connection (WH_STREAM_LATENCY_CONN
 * + id) and scheduler picks as what was picked (WH_STREAM_PICKS), not as
 * raw draws, so that an edited tape keeps each connection's latencies and
 * the relative order of the surviving events (see sched.h); so are the
 * fault decisions made for a connection's calls (WH_STREAM_FAULTS_CONN +
 * id; the world's own, such as when the power fails, stay on
 * WH_STREAM_FAULTS). A fresh run
 * draws exactly as before: only what the tape holds differs. */
enum wh_stream {
	WH_STREAM_SCHED = 1,    /* never on a tape (picks are: WH_STREAM_PICKS) */
	WH_STREAM_LATENCY = 2,  /* on a tape per connection only */
	WH_STREAM_VFS_RANDOM = 3,
	WH_STREAM_FAULTS = 4,
	WH_STREAM_PCT = 5,
	WH_STREAM_SETUP = 6,
	WH_STREAM_PICKS = 7,    /* log of picks: sched_pick_encode values */
	WH_STREAM_CONN = 1000,
	WH_STREAM_LATENCY_CONN = 3000,
	WH_STREAM_FAULTS_CONN = 5000, /* on a tape: a connection's own
					 fault decisions (fault.c) */
};

/* Seed a stream (detached from any tape). */
void wh_prng_seed(struct wh_prng *p, uint64_t seed, uint64_t stream);
/* Seed and, when tape is not NULL, route every draw through the stream's
 * track of the tape (recorded, or replayed: see tape.h). */
void wh_prng_seed_taped(struct wh_prng *p, uint64_t seed, uint64_t stream,
			struct wh_tape *tape);
/* Uniform in [lo, hi] inclusive. */
int64_t wh_prng_range(struct wh_prng *p, int64_t lo, int64_t hi);
/* Uniform double in [0, 1). */
double wh_prng_double(struct wh_prng *p);

/* The draws below are inline: the engine makes a few per scheduled event
 * (latencies, picks), mostly with constant bounds, which the compiler
 * then turns from divisions into multiplications. */

static inline uint64_t wh_prng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* The next raw draw (xoshiro256**). */
static inline uint64_t wh_prng_next(struct wh_prng *p)
{
	uint64_t *s = p->s;
	uint64_t result = wh_prng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = wh_prng_rotl(s[3], 45);
	/* Every decision of a run flows through here, so this is where the
	 * choice stream is recorded or replayed. */
	return p->track ? wh_track_draw(p->track, result) : result;
}

/* Uniform in [0, bound) without modulo bias; bound > 0. */
static inline uint64_t wh_prng_below(struct wh_prng *p, uint64_t bound)
{
	WH_ASSERT(bound > 0);
	/* Rejection sampling: draws below `limit` map uniformly. */
	uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
	for (int tries = 0; tries < 1000; tries++) {
		uint64_t v = wh_prng_next(p);
		if (v < limit)
			return v % bound;
	}
	WH_UNREACHABLE(); /* probability < 2^-1000 */
}

/* True with probability num/den. */
static inline int wh_prng_chance(struct wh_prng *p, uint64_t num, uint64_t den)
{
	WH_ASSERT(den > 0);
	return wh_prng_below(p, den) < num;
}

/* 64-bit mixing used by the trace hash (splitmix64 finaliser). */
static inline uint64_t wh_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

#endif /* WH_PRNG_H */
