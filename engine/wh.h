/*
 * wh.h - shared vocabulary of the engine: return codes of resumable
 * functions, the error-code table, always-on assertions, intrusive queues.
 *
 * Every engine function that may wait for simulated I/O returns an int:
 *   WH_DONE (0)      finished, outputs valid;
 *   WH_PENDING (>0)  waiting on a completion stored where the caller finds
 *                    it; call again with the same arguments once it is done;
 *   WH_E* (<0)       an operating error (see WH_ERRNO_MAP).
 */
#ifndef WH_H
#define WH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define WH_DONE 0
#define WH_PENDING 1

/* One table of error codes; names and messages are generated from it. */
#define WH_ERRNO_MAP(X)                                                     \
	X(BUSY, -1, "database is busy")                                     \
	X(IOERR, -2, "simulated I/O error")                                 \
	X(CANCELLED, -3, "operation cancelled")                             \
	X(NOMEM, -4, "out of memory")                                       \
	X(HANG, -5, "no connection can make progress")                      \
	X(SQL, -6, "SQL error")                                             \
	X(INVAL, -7, "invalid argument")                                    \
	X(CRASHED, -8, "simulated process died")

enum wh_errno {
#define WH_ERRNO_ENUM(name, code, msg) WH_E##name = (code),
	WH_ERRNO_MAP(WH_ERRNO_ENUM)
#undef WH_ERRNO_ENUM
};

const char *wh_strerror(int code);
const char *wh_errname(int code);

/* Propagate "pending or error" to the caller; continue only on WH_DONE. */
#define RETURN_IF_PENDING(expr)                                             \
	do {                                                                \
		int wh_rc_ = (expr);                                        \
		if (wh_rc_ != WH_DONE)                                      \
			return wh_rc_;                                      \
	} while (0)

/*
 * Always-on assertions: a broken invariant is a programmer error and stops
 * the program with file, line, expression (and values for the _EQ forms).
 */
_Noreturn void wh_assert_fail(const char *file, int line, const char *expr,
			      const char *detail);
_Noreturn void wh_assert_fail_i64(const char *file, int line,
				  const char *expr, long long a, long long b);

#define WH_ASSERT(expr)                                                     \
	((expr) ? (void)0 : wh_assert_fail(__FILE__, __LINE__, #expr, NULL))
#define WH_ASSERT_EQ(a, b)                                                  \
	(((long long)(a) == (long long)(b))                                 \
		 ? (void)0                                                  \
		 : wh_assert_fail_i64(__FILE__, __LINE__, #a " == " #b,     \
				      (long long)(a), (long long)(b)))
#define WH_UNREACHABLE() wh_assert_fail(__FILE__, __LINE__, "unreachable", NULL)

/* Allocation that never returns NULL (out of memory is fatal for whopper
 * itself; simulated allocation failures go through SQLite's hooks). */
void *wh_malloc(size_t n);
void *wh_calloc(size_t count, size_t size);
void *wh_realloc(void *p, size_t n);
char *wh_strdup(const char *s);

/* Intrusive doubly linked queue, libuv style: the link lives in the struct,
 * wh_container_of gets back to it. An unlinked node points at itself. */
struct wh_queue {
	struct wh_queue *next;
	struct wh_queue *prev;
};

#define wh_container_of(ptr, type, member)                                  \
	((type *)((char *)(ptr)-offsetof(type, member)))

static inline void wh_queue_init(struct wh_queue *q)
{
	q->next = q;
	q->prev = q;
}
static inline bool wh_queue_empty(const struct wh_queue *q)
{
	return q->next == q;
}
static inline void wh_queue_insert_tail(struct wh_queue *h, struct wh_queue *q)
{
	q->next = h;
	q->prev = h->prev;
	h->prev->next = q;
	h->prev = q;
}
static inline void wh_queue_remove(struct wh_queue *q)
{
	q->prev->next = q->next;
	q->next->prev = q->prev;
	q->next = q;
	q->prev = q;
}
#define WH_QUEUE_FOREACH(q, h) for ((q) = (h)->next; (q) != (h); (q) = (q)->next)

/* FNV-1a, 64-bit, whopper's one implementation of it: folds bytes into
 * h, starting from a basis:
 *   WH_FNV1A_BASIS     FNV's offset basis;
 *   WH_FNV1A_BASIS_V0  one digit short of it, the basis the trace hash,
 *                      workload content hashes and replay-file checksums
 *                      were first recorded with. Kept: changing it would
 *                      change every hash already recorded. */
#define WH_FNV1A_BASIS 14695981039346656037ULL
#define WH_FNV1A_BASIS_V0 1469598103934665603ULL
#define WH_FNV1A_PRIME 1099511628211ULL

static inline uint64_t wh_fnv1a_byte(uint64_t h, unsigned char b)
{
	return (h ^ b) * WH_FNV1A_PRIME;
}
static inline uint64_t wh_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = wh_fnv1a_byte(h, b[i]);
	return h;
}
/* The bytes of s up to its terminator (not included). */
static inline uint64_t wh_fnv1a_str(uint64_t h, const char *s)
{
	for (const unsigned char *b = (const unsigned char *)s; *b; b++)
		h = wh_fnv1a_byte(h, *b);
	return h;
}

#endif /* WH_H */
