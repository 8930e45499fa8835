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

