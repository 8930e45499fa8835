/*
 * prng.c - xoshiro256** seeded through splitmix64 (see prng.h).
 * Invariant: a stream's state is never all zero (splitmix64 output of four
 * consecutive values cannot all be zero).
 */
#include "prng.h"

#include "tape.h"
#include "wh.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void wh_prng_seed(struct wh_prng *p, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ wh_mix64(stream + 0x51ed270b27f6ad3bULL);
	for (int i = 0; i < 4; i++)
		p->s[i] = splitmix64(&x);
	p->track = NULL;
	WH_ASSERT((p->s[0] | p->s[1] | p->s[2] | p->s[3]) != 0);
}

void wh_prng_seed_taped(struct wh_prng *p, uint64_t seed, uint64_t stream,
			struct wh_tape *tape)
{
	wh_prng_seed(p, seed, stream);
	if (tape != NULL)
		p->track = wh_tape_track(tape, stream);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t wh_prng_next(struct wh_prng *p)
{
	uint64_t *s = p->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	/* Every decision of a run flows through here, so this is where the
	 * choice stream is recorded or replayed. */
	return p->track ? wh_track_draw(p->track, result) : result;
}

uint64_t wh_prng_below(struct wh_prng *p, uint64_t bound)
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

int64_t wh_prng_range(struct wh_prng *p, int64_t lo, int64_t hi)
{
	WH_ASSERT(lo <= hi);
	uint64_t span = (uint64_t)hi - (uint64_t)lo;
	if (span == UINT64_MAX)
		return (int64_t)wh_prng_next(p);
	return (int64_t)((uint64_t)lo + wh_prng_below(p, span + 1));
}

double wh_prng_double(struct wh_prng *p)
{
	return (double)(wh_prng_next(p) >> 11) * 0x1.0p-53;
}

int wh_prng_chance(struct wh_prng *p, uint64_t num, uint64_t den)
{
	WH_ASSERT(den > 0);
	return wh_prng_below(p, den) < num;
}
