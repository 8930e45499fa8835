/*
 * wh.c - error-code names and messages generated from WH_ERRNO_MAP, the
 * always-on assertion reporter, and allocation wrappers that abort on
 * exhaustion (whopper's own memory is not a simulated resource).
 */
#include "wh.h"

#include <string.h>

const char *wh_strerror(int code)
{
	switch (code) {
	case WH_DONE:
		return "done";
	case WH_PENDING:
		return "pending";
#define WH_ERRNO_MSG(name, c, msg)                                          \
	case c:                                                             \
		return msg;
		WH_ERRNO_MAP(WH_ERRNO_MSG)
#undef WH_ERRNO_MSG
	}
	return "unknown error";
}

const char *wh_errname(int code)
{
	switch (code) {
	case WH_DONE:
		return "DONE";
	case WH_PENDING:
		return "PENDING";
#define WH_ERRNO_NAME(name, c, msg)                                         \
	case c:                                                             \
		return #name;
		WH_ERRNO_MAP(WH_ERRNO_NAME)
#undef WH_ERRNO_NAME
	}
	return "UNKNOWN";
}

void wh_assert_fail(const char *file, int line, const char *expr,
		    const char *detail)
{
	fprintf(stderr, "whopper: assertion failed at %s:%d: %s%s%s\n", file,
		line, expr, detail ? ": " : "", detail ? detail : "");
	fflush(stderr);
	abort();
}

void wh_assert_fail_i64(const char *file, int line, const char *expr,
			long long a, long long b)
{
	fprintf(stderr,
		"whopper: assertion failed at %s:%d: %s (left %lld, right %lld)\n",
		file, line, expr, a, b);
	fflush(stderr);
	abort();
}

static _Noreturn void wh_oom(size_t n)
{
	fprintf(stderr, "whopper: out of memory allocating %zu bytes\n", n);
	fflush(stderr);
	exit(3);
}

void *wh_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		wh_oom(n);
	return p;
}

void *wh_calloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (p == NULL)
		wh_oom(count * size);
	return p;
}

void *wh_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		wh_oom(n);
	return q;
}

char *wh_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = wh_malloc(n);
	memcpy(p, s, n);
	return p;
}
