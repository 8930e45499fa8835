/*
 * run_templates.h - per-template statistics of a run (run_templates.c).
 */
#ifndef WH_RUN_TEMPLATES_H
#define WH_RUN_TEMPLATES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "history.h"

#define RT_MAX_CODES 8

struct rt_code {
	int rc;     /* extended result code a transaction aborted with */
	uint64_t n;
};

struct rt_template {
	const char *name;          /* borrowed from the history */
	uint64_t attempts, committed, aborted, indeterminate;
	uint64_t busy;             /* aborts with BUSY or LOCKED */
	uint64_t errors;           /* aborts with any other error */
	struct rt_code codes[RT_MAX_CODES]; /* aborts by code, by value */
	uint32_t code_count;
	uint64_t other_codes;      /* aborts with codes past RT_MAX_CODES */
	uint64_t p50_us, p99_us, max_us; /* simulated commit latency */
	bool never_commits;        /* the warning (run_templates.c) */
};

struct rt_stats {
	struct rt_template *t;     /* by name */
	uint32_t count;
};

/* From the run's history (which must outlive st: names are borrowed). */
void rt_collect(const struct history *h, struct rt_stats *st);
void rt_free(struct rt_stats *st);
/* The summary's table and warnings; the --json array. */
void rt_print(FILE *f, const struct rt_stats *st);
void rt_json(FILE *f, const struct rt_stats *st);

#endif
