/*
 * value.c - copied SQLite values: the unit every statement parameter and
 * result cell of the history is made of.
 *
 * A wh_value owns its text or blob bytes (always NUL-terminated, so text
 * can be handed to printf); copies are deep, wh_value_free releases them
 * and leaves a NULL value. wh_value_cmp is a total order (NULL < numbers <
 * TEXT < BLOB; numbers compare by value across INTEGER and FLOAT, an
 * INTEGER before an equal FLOAT so that cmp == 0 means "the same value of
 * the same type"); wh_value_format writes SQL literals a reader can paste
 * back into sqlite3.
 */
#include "value.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "sqlapi.h"
#include "wh.h"

void wh_value_copy(struct wh_value *dst, const struct wh_value *src)
{
	WH_ASSERT(dst != NULL);
	WH_ASSERT(src != NULL);
	*dst = *src;
	dst->p = NULL;
	switch (src->type) {
	case SQLITE_TEXT:
		/* Text keeps a terminator so readers may treat it as a C
		 * string; n excludes it. */
		dst->p = wh_malloc((size_t)src->n + 1);
		if (src->n > 0) {
			WH_ASSERT(src->p != NULL);
			memcpy(dst->p, src->p, src->n);
		}
		dst->p[src->n] = '\0';
		break;
	case SQLITE_BLOB:
		dst->p = wh_malloc(src->n > 0 ? src->n : 1);
		if (src->n > 0) {
			WH_ASSERT(src->p != NULL);
			memcpy(dst->p, src->p, src->n);
		}
		break;
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
	case SQLITE_NULL:
		dst->n = 0;
		break;
	default:
		wh_assert_fail(__FILE__, __LINE__, "value type", "unknown type");
	}
}

void wh_value_free(struct wh_value *v)
{
	if (v == NULL)
		return;
	free(v->p);
	v->p = NULL;
	v->n = 0;
	v->type = SQLITE_NULL;
}

/* Rank of a storage class in the total order. */
static int value_rank(int type)
{
	switch (type) {
	case SQLITE_NULL:
		return 0;
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
		return 1;
	case SQLITE_TEXT:
		return 2;
	case SQLITE_BLOB:
		return 3;
	}
	wh_assert_fail(__FILE__, __LINE__, "value type", "unknown type");
}

/* Compares an integer with a double exactly (no rounding of the integer
 * to double, which would merge distinct large integers). */
static int cmp_int_float(int64_t i, double f)
{
	/* NaN never comes out of SQLite (it becomes NULL); order it below
	 * every integer so the order stays total anyway. */
	if (isnan(f))
		return 1;
	if (f < -9223372036854775808.0)
		return 1;
	if (f >= 9223372036854775808.0)
		return -1;
	/* |f| < 2^63 here, so its integral part is exact in both types. */
	int64_t fi = (int64_t)f;
	if (i < fi)
		return -1;
	if (i > fi)
		return 1;
	double frac = f - (double)fi;
	if (frac > 0)
		return -1;
	if (frac < 0)
		return 1;
	return 0;
}

static int cmp_bytes(const unsigned char *a, uint32_t an,
		     const unsigned char *b, uint32_t bn)
{
	uint32_t n = an < bn ? an : bn;
	int c = n > 0 ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (an != bn)
		return an < bn ? -1 : 1;
	return 0;
}

int wh_value_cmp(const struct wh_value *a, const struct wh_value *b)
{
	WH_ASSERT(a != NULL);
	WH_ASSERT(b != NULL);
	int ra = value_rank(a->type), rb = value_rank(b->type);
	int c;
	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (a->type) {
	case SQLITE_NULL:
		return 0;
	case SQLITE_INTEGER:
		if (b->type == SQLITE_INTEGER)
			return a->i < b->i ? -1 : a->i > b->i ? 1 : 0;
		c = cmp_int_float(a->i, b->f);
		/* Equal numbers: INTEGER first, so that 0 means identical. */
		return c != 0 ? c : -1;
	case SQLITE_FLOAT:
		if (b->type == SQLITE_INTEGER) {
			c = cmp_int_float(b->i, a->f);
			return c != 0 ? -c : 1;
		}
		if (isnan(a->f) || isnan(b->f))
			return isnan(a->f) && isnan(b->f) ? 0
			       : isnan(a->f)              ? -1
							  : 1;
		return a->f < b->f ? -1 : a->f > b->f ? 1 : 0;
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		return cmp_bytes(a->p, a->n, b->p, b->n);
	}
	WH_UNREACHABLE();
}

/* snprintf-like sink: writes what fits, counts everything. */
struct fmt_sink {
	char *buf;
	int cap;
	int len;
};

static void sink_bytes(struct fmt_sink *s, const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (s->len + 1 < s->cap)
			s->buf[s->len] = p[k];
		s->len++;
	}
}

static void sink_str(struct fmt_sink *s, const char *p)
{
	sink_bytes(s, p, strlen(p));
}

/* Shortest of %.15g / %.17g that reads back to the same double, always
 * with a decimal point or exponent so it reads back as a FLOAT. */
static void format_double(double f, char *out, size_t cap)
{
	if (isnan(f)) {
		snprintf(out, cap, "NULL");
		return;
	}
	if (isinf(f)) {
		snprintf(out, cap, "%s", f > 0 ? "1e999" : "-1e999");
		return;
	}
	snprintf(out, cap, "%.15g", f);
	if (strtod(out, NULL) != f)
		snprintf(out, cap, "%.17g", f);
	if (strpbrk(out, ".e") == NULL) {
		size_t n = strlen(out);
		if (n + 3 <= cap)
			memcpy(out + n, ".0", 3);
	}
}

int wh_value_format(const struct wh_value *v, char *buf, int cap)
{
	WH_ASSERT(v != NULL);
	WH_ASSERT(cap == 0 || buf != NULL);
	struct fmt_sink s = { buf, cap, 0 };
	char num[64];
	static const char hex[] = "0123456789abcdef";

	switch (v->type) {
	case SQLITE_NULL:
		sink_str(&s, "NULL");
		break;
	case SQLITE_INTEGER:
		snprintf(num, sizeof num, "%lld", (long long)v->i);
		sink_str(&s, num);
		break;
	case SQLITE_FLOAT:
		format_double(v->f, num, sizeof num);
		sink_str(&s, num);
		break;
	case SQLITE_TEXT:
		sink_str(&s, "'");
		for (uint32_t k = 0; k < v->n; k++) {
			char ch = (char)v->p[k];
			/* A quote inside an SQL string literal is doubled. */
			if (ch == '\'')
				sink_str(&s, "''");
			else
				sink_bytes(&s, &ch, 1);
		}
		sink_str(&s, "'");
		break;
	case SQLITE_BLOB:
		sink_str(&s, "X'");
		for (uint32_t k = 0; k < v->n; k++) {
			char pair[2] = { hex[v->p[k] >> 4], hex[v->p[k] & 15] };
			sink_bytes(&s, pair, 2);
		}
		sink_str(&s, "'");
		break;
	default:
		wh_assert_fail(__FILE__, __LINE__, "value type", "unknown type");
	}
	if (cap > 0)
		buf[s.len < cap ? s.len : cap - 1] = '\0';
	return s.len;
}

int wh_value_bind_with(const struct wh_sqlapi *api, sqlite3_stmt *st, int idx,
		       const struct wh_value *v)
{
	switch (v->type) {
	case SQLITE_INTEGER:
		return api->bind_int64(st, idx, v->i);
	case SQLITE_FLOAT:
		return api->bind_double(st, idx, v->f);
	case SQLITE_TEXT:
		return api->bind_text(st, idx, v->p ? (const char *)v->p : "", (int)v->n,
				      SQLITE_STATIC);
	case SQLITE_BLOB:
		return api->bind_blob(st, idx, v->n ? v->p : (const void *)"", (int)v->n,
				      SQLITE_STATIC);
	default:
		return api->bind_null(st, idx);
	}
}

int wh_value_bind(sqlite3_stmt *st, int idx, const struct wh_value *v)
{
	return wh_value_bind_with(&wh_sqlapi_linked, st, idx, v);
}
