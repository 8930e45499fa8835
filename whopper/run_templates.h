/*
 * run_templates.h - per-template statistics of a run (run_templates.c).
 */
#ifndef WH_RUN_TEMPLATES_H
#define WH_RUN_TEMPLATES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "history.h"
#include "workload.h"

#define RT_MAX_CODES 16

/* Aborts with one result code that were all expected, or all not. */
struct rt_code {
	int rc;                    /* extended result code a transaction
				      aborted with */
	bool expected;             /* see rt_template.expected */
	uint64_t n;
	/* The first abort (lowest transaction id) of this code and kind: */
	uint32_t first_txn;
	const struct hist_stmt *first_stmt; /* the statement that failed, or
				      NULL: BEGIN or COMMIT did (borrowed
				      from the history) */
};

struct rt_template {
	const char *name;          /* borrowed from the history */
	uint64_t attempts, committed, aborted, indeterminate;
	uint64_t rolled_back;      /* aborts the workload chose (\rollback) */
	uint64_t busy;             /* aborts with BUSY or LOCKED */
	uint64_t expected;         /* aborts with an error the workload
				      declared (\expect), or that the run's
				      --faults cause (I/O errors, a full
				      disk, allocation failures, damage) */
	uint64_t unexpected;       /* aborts with any other error */
	struct rt_code codes[RT_MAX_CODES]; /* by (code, expected) */
	uint32_t code_count;
	uint64_t other_codes;      /* aborts with codes past RT_MAX_CODES */
	uint64_t p50_us, p99_us, max_us; /* simulated commit latency */
	bool never_commits;        /* the warning (run_templates.c) */
};

struct rt_stats {
	struct rt_template *t;     /* by name */
	uint32_t count;
};

/* From the run's history (which must outlive st: names and statements
 * are borrowed). wl says which errors are expected (NULL: none is);
 * faults: the run injected faults, whose errors are expected too. */
void rt_collect(const struct history *h, const struct workload *wl, bool faults,
		struct rt_stats *st);
void rt_free(struct rt_stats *st);
/* The summary's table and warnings; the --json array. */
void rt_print(FILE *f, const struct rt_stats *st);
void rt_json(FILE *f, const struct rt_stats *st);

#endif
