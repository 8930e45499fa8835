/*
 * value.h - a copied SQLite value, the engine's unit of statement
 * parameters and result cells (the history, the workloads and the oracle
 * all speak it).
 *
 * Ownership: a wh_value owns its text or blob bytes; wh_value_copy makes a
 * deep copy, wh_value_free releases the bytes and leaves an SQL NULL.
 * (The wh_ prefix: values are engine vocabulary, like wh_queue, not a part
 * of the history module, whose own names carry hist_.)
 */
#ifndef WH_VALUE_H
#define WH_VALUE_H

#include <stdint.h>

/* A copied SQLite value. type is SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT,
 * SQLITE_BLOB or SQLITE_NULL. Text and blobs are owned (text is also
 * NUL-terminated; n excludes the terminator). */
struct wh_value {
	int type;
	int64_t i;
	double f;
	uint32_t n;
	unsigned char *p;
};

struct sqlite3_stmt;
struct wh_sqlapi;
/* Bind v to parameter idx (1-based) of st, a statement of the linked
 * SQLite; an empty blob binds as an empty blob, never as NULL. Returns the
 * SQLite rc. The statement keeps pointing at v's bytes (SQLITE_STATIC): v
 * must outlive the step. */
int wh_value_bind(struct sqlite3_stmt *st, int idx, const struct wh_value *v);
/* The same for a statement of api's library (engine/sqlapi.h). */
int wh_value_bind_with(const struct wh_sqlapi *api, struct sqlite3_stmt *st, int idx,
		       const struct wh_value *v);
void wh_value_copy(struct wh_value *dst, const struct wh_value *src);
void wh_value_free(struct wh_value *v);
/* Total order used for multiset compares: type, then value. */
int wh_value_cmp(const struct wh_value *a, const struct wh_value *b);
/* Append a readable SQL literal for v to buf (NUL-terminated, truncated
 * to cap). Returns bytes that would have been written. */
int wh_value_format(const struct wh_value *v, char *buf, int cap);

#endif /* WH_VALUE_H */
