/*
 * elle.h - export a run's history as an Elle (Jepsen) EDN history, so that
 * elle-cli can cross-check a list-append or rw-register workload.
 *
 * The file holds one EDN map per line: for every transaction one :invoke
 * and one completion (:ok committed, :fail aborted, :info indeterminate or
 * still running), indexed 0..2n-1 in event order. See elle.c for the
 * mapping of statements to micro-operations and of connections to Elle
 * processes.
 */
#ifndef WH_ELLE_H
#define WH_ELLE_H

#include <stddef.h>

#include "history.h"
#include "workload.h"

/* Write h as an Elle EDN history to path, using wl's Elle map (wl->shape,
 * wl->elle_ops); wl must be the workload that produced h.
 *
 * The file is written under a temporary name next to path and renamed into
 * place only when complete: on any failure nothing exists under path (a
 * previous file there is left as it was) and no temporary file remains.
 *
 * Returns 0, or 2 with a one-line message in err (NUL-terminated,
 * truncated to err_len) when the workload declares no Elle shape, when a
 * mapped key or value is not an integer, or when path cannot be written.
 * Neither h nor wl is modified; the caller keeps ownership of both. */
int elle_write(const char *path, const struct history *h, const struct workload *wl,
	       char *err, size_t err_len);

#endif /* WH_ELLE_H */
