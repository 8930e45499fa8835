/*
 * suggest.c - "did you mean" for the loader's errors: of the names a
 * misspelt word could have meant (meta-commands, variables, functions,
 * result codes), the closest one, if it is close enough to be a typo.
 *
 * Closeness is the edit distance (insertions, deletions, substitutions
 * and swaps of two neighbours, each 1), ignoring case. A candidate is offered when the distance is at
 * most 2 and at most a third of the longer word's length, so "sest"
 * finds "seat" and "gsett" finds "gset", while "x" offers nothing for
 * "y". Ties go to the first candidate tried: callers try them in an order
 * that does not depend on anything but the file.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "wl_int.h"

/* Longer words are never typos of our names (WL_MAX_NAME bounds them). */
#define SUGGEST_MAX_LEN 64

void wl__suggest_init(struct wl__suggest *s, const char *word, size_t len)
{
	memset(s, 0, sizeof *s);
	s->word = word;
	s->len = len;
	s->best_dist = UINT32_MAX;
}

static bool same_char(char x, char y)
{
	return tolower((unsigned char)x) == tolower((unsigned char)y);
}

/* The edit distance of a[0..an) and b[0..bn), case-insensitive, with a
 * swap of two neighbouring letters counting one ("bnak" is 1 from
 * "bank"): the optimal string alignment distance, by three rolling rows
 * of the dynamic programme. Both at most SUGGEST_MAX_LEN. */
static uint32_t edit_distance(const char *a, size_t an, const char *b, size_t bn)
{
	uint32_t rows[3][SUGGEST_MAX_LEN + 1];
	WH_ASSERT(an <= SUGGEST_MAX_LEN);
	WH_ASSERT(bn <= SUGGEST_MAX_LEN);
	for (size_t j = 0; j <= bn; j++)
		rows[0][j] = (uint32_t)j;
	for (size_t i = 1; i <= an; i++) {
		uint32_t *cur = rows[i % 3], *prev = rows[(i - 1) % 3], *prev2 = rows[(i + 1) % 3];
		cur[0] = (uint32_t)i;
		for (size_t j = 1; j <= bn; j++) {
			uint32_t best = prev[j - 1] + (same_char(a[i - 1], b[j - 1]) ? 0u : 1u);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && same_char(a[i - 1], b[j - 2]) &&
			    same_char(a[i - 2], b[j - 1]) && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
	}
	return rows[an % 3][bn];
}

void wl__suggest_try(struct wl__suggest *s, const char *cand)
{
	size_t n = strlen(cand);
	if (s->len == 0 || s->len > SUGGEST_MAX_LEN || n == 0 || n > SUGGEST_MAX_LEN)
		return;
	uint32_t d = edit_distance(s->word, s->len, cand, n);
	size_t longer = n > s->len ? n : s->len;
	if (d == 0 || d > 2 || (size_t)d * 3 > longer || d >= s->best_dist)
		return;
	s->best = cand;
	s->best_dist = d;
}

const char *wl__suggest_text(const struct wl__suggest *s, const char *before, char *buf,
			     size_t cap)
{
	WH_ASSERT(cap > 0);
	buf[0] = '\0';
	if (s->best != NULL)
		snprintf(buf, cap, " (did you mean %s%s?)", before, s->best);
	return buf;
}
