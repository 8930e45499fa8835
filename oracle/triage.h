/*
 * triage.h - the catalogue of known findings in SQLite and the triage of
 * a run: every violation labelled new, known (a catalogue entry) or
 * expected (the oracle's own label), the run's label and its signature.
 *
 * The catalogue's line format is documented at the top of
 * oracle/known-findings.txt, which is embedded in the binary; users add
 * entries from files in the same format (--known FILE).
 *
 * Ownership: a catalogue owns its entries and every string in them;
 * triage_catalog_free releases them. A triage_result points into the
 * catalogue it was computed with (entry pointers) and into the oracle
 * report (expected reasons are static strings); it owns only its arrays,
 * released by triage_result_free. The built-in catalogue
 * (triage_builtin) lives until the process exits.
 */
#ifndef WH_TRIAGE_H
#define WH_TRIAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oracle.h"
#include "world.h"

/* Evidence counters an entry may name ("evidence counter NAME"); each is
 * a field of struct world_evidence. */
enum triage_counter {
	TRIAGE_COUNTER_HOT_JOURNAL_TAKEN_FOR_LIVE,
	TRIAGE_COUNTER_WAL_RESET_STALE_CHECKPOINT,
	TRIAGE_COUNTER_TORN_OUTSIDE_WRITE,
	TRIAGE_COUNTER_TXN_LOST_UNDER_STATEMENT,
	TRIAGE_COUNTER__COUNT
};
const char *triage_counter_name(enum triage_counter c);
uint64_t triage_counter_value(const struct world_evidence *e, enum triage_counter c);

enum triage_device {
	TRIAGE_DEVICE_ANY,
	TRIAGE_DEVICE_POWERSAFE,
	TRIAGE_DEVICE_NON_POWERSAFE,
};

/* The lock model a finding needs (--lock-model; engine/simvfs.h). */
enum triage_lock_model {
	TRIAGE_LOCKS_ANY,
	TRIAGE_LOCKS_THREAD,
	TRIAGE_LOCKS_PROCESS,
};

/* What a recording (or a pinning test's scenario) did on one version. */
enum triage_measure_word {
	TRIAGE_MEASURE_NONE,   /* nothing decisive: only the rate says */
	TRIAGE_MEASURE_FAILS,  /* it showed the finding */
	TRIAGE_MEASURE_PASSES, /* it ran the recorded schedule past the
				  failure point without the finding */
};

/* One version of a measurement ("measured" line): what a ladder rung
 * showed. It has the finding when fails, or when seeds_failed > 0. */
struct triage_measure {
	int version;               /* sqlite3_libversion_number() form */
	enum triage_measure_word word;
	uint32_t seeds_failed;     /* K of "K/N": seeds that showed it */
	uint32_t seeds;            /* N; 0: no rate */
};

/* Has this rung the finding? */
bool triage_measure_has(const struct triage_measure *m);
/* The range a measurement implies (ascending versions, at least one with
 * the finding): lo the oldest version with it; hi the newest with it when
 * a newer one was measured without it, else 0 (open-ended); fixed the
 * first version measured after hi (0 when hi is 0). False, and nothing
 * set, when no version has it. */
bool triage_measure_range(const struct triage_measure *m, uint32_t count, int *lo, int *hi,
			  int *fixed);
/* Parse one "VERSION=RESULT" token (RESULT: fails, passes, K/N, fails,K/N
 * or passes,0/N) into m; false with a reason in why (static) when bad. */
bool triage_measure_parse(const char *token, struct triage_measure *m, const char **why);
/* "3.40.1=fails,37/1000" (buf of at least 64 bytes). */
void triage_measure_format(const struct triage_measure *m, char *buf, size_t len);

/* What a finding gave on a real target ("differential" lines). */
enum triage_diff_result {
	TRIAGE_DIFF_NONE = 0,        /* not recorded */
	TRIAGE_DIFF_REPRODUCED,
	TRIAGE_DIFF_NOT_REPRODUCED,
	TRIAGE_DIFF_NOT_APPLICABLE,  /* the target cannot show it */
};

/* The real targets a differential line names (triage_entry.differential). */
extern const char *const triage_diff_targets[2];
/* "reproduced", "not reproduced", "not applicable" (none: "not recorded"). */
const char *triage_diff_result_text(enum triage_diff_result r);

struct triage_entry {
	char *id;                  /* "stale-schema-no-such-table" */
	char *title;               /* one line */
	int version_lo;            /* sqlite3_libversion_number() bounds, */
	int version_hi;            /* inclusive; hi 0: no upper bound */
	int version_fixed;         /* first version without it, > hi; a
				      match from it on is a regression; 0:
				      none known */
	char measured_date[11];    /* "2026-12-06"; "" when not measured */
	struct triage_measure *measured; /* the ladder, ascending versions */
	uint32_t measured_count;
	uint32_t journal_mask;     /* bit per triage journal mode; 0: any */
	uint32_t faults_mask;      /* bit per enum world_faults; 0: any */
	uint32_t target_mask;      /* bit per enum world_target; never 0 */
	enum triage_device device;
	enum triage_lock_model lock_model;
	uint32_t crashes_min;      /* power losses needed; 0: none */
	char **evidence_kinds;     /* violation kinds that must be present */
	uint32_t evidence_kind_count;
	uint32_t evidence_counters; /* bit per enum triage_counter, each >= 1 */
	char **explains;           /* kinds it accounts for */
	uint32_t explains_count;
	bool explains_all;         /* "explains *" */
	char *mechanism;           /* the mechanism lines joined by '\n' */
	/* What trying it on the real targets gave ("differential" lines:
	 * `whopper differential`, bench/bench_targets.sh), per target; NULL
	 * text: never recorded. */
	struct triage_differential {
		enum triage_diff_result result;
		char *detail;              /* budget, runs, date, how */
	} differential[2];             /* [0] threads, [1] processes */
	char *test;                /* "tests/test_findings.c:test_..." */
	char *source;              /* "FILE:LINE" of its "finding" line */
};

struct triage_catalog {
	struct triage_entry *entries; /* entry_count, in the order loaded */
	uint32_t entry_count;
};

void triage_catalog_init(struct triage_catalog *cat);
void triage_catalog_free(struct triage_catalog *cat);
/* Parse text (named name in messages) and append its entries to cat.
 * All or nothing: on a bad line, or an id already in cat, nothing is
 * added and err holds "NAME:LINE: message". Returns 0 or -1. */
int triage_catalog_add_text(struct triage_catalog *cat, const char *name, const char *text,
			    char *err, size_t err_len);
/* The same for a file; an unreadable file is "PATH: message". */
int triage_catalog_add_file(struct triage_catalog *cat, const char *path, char *err,
			    size_t err_len);
/* Append the shipped entries (embedded oracle/known-findings.txt). A
 * shipped catalogue that does not parse is a programmer error: it stops
 * the program with the message. */
void triage_catalog_add_builtin(struct triage_catalog *cat);
/* The shipped catalogue, loaded on first use, kept until exit. Not
 * thread-safe on first call. */
const struct triage_catalog *triage_builtin(void);

/* Is version (sqlite3_libversion_number() form) inside the entry's
 * range? */
bool triage_version_in_range(const struct triage_entry *e, int version);
/* Is a match of the entry on this version a regression: the entry has a
 * version it was fixed in, and this is that one or newer? */
bool triage_version_regressed(const struct triage_entry *e, int version);
/* "3.40.1" from 3040001 (buf of at least 16 bytes). */
void triage_version_format(int version, char *buf, size_t len);
/* 3040001 from "3.40.1" (exactly three numbers, major 3); -1 when not a
 * version. */
int triage_version_parse(const char *s);

enum triage_label {
	TRIAGE_PASS,      /* no violation at all */
	TRIAGE_EXPECTED,  /* only violations the configuration excuses */
	TRIAGE_KNOWN,     /* no new one, at least one known */
	TRIAGE_NEW,       /* at least one new violation */
};
const char *triage_label_name(enum triage_label l);

/* The label of one violation. */
struct triage_vlabel {
	enum triage_label label;          /* NEW, KNOWN or EXPECTED */
	const struct triage_entry *entry; /* KNOWN: the entry; NEW: the entry
					     it is a regression of, or NULL */
	const char *reason;               /* EXPECTED: the oracle's static id */
};

/* An entry recognised in the run. On a version at or past the entry's
 * fixed one it is a regression: its violations are new, not known. */
struct triage_known {
	const struct triage_entry *entry;
	bool in_range;             /* this SQLite is inside its versions */
	bool regression;           /* at or past its version_fixed */
	uint32_t violations;       /* violations it recognised */
};

struct triage_expected {
	const char *reason;        /* static id from the oracle */
	uint32_t violations;
};

#define TRIAGE_SIGNATURE_MAX 512

struct triage_result {
	enum triage_label label;
	char signature[TRIAGE_SIGNATURE_MAX]; /* "" for pass */
	/* One per violation: the run's world findings first (always new),
	 * then the oracle report's violations, in their order. */
	struct triage_vlabel *labels;
	uint32_t label_count;
	struct triage_known *known;       /* sorted by id */
	uint32_t known_count;
	struct triage_expected *expected; /* sorted by reason */
	uint32_t expected_count;
	uint32_t new_count;               /* new violations (regressions
					     included) */
	/* Entries whose versions and configuration conditions hold for
	 * this run (recognised or not), catalogue order. */
	const struct triage_entry **applicable;
	uint32_t applicable_count;
	int sqlite_version_number;        /* of the library the run used */
	char sqlite_version[32];
};

/* Triage run res of cfg, whose oracle report is rep (NULL when the
 * oracle did not run: only the world findings are labelled), against
 * catalogue cat, for SQLite version sqlite_version_number (pass
 * sqlite3_libversion_number()). The signature follows the contract in
 * README.md ("Triage"): "known:ID[+ID]", "expected:REASON[+REASON]",
 * "new:regression:ID[+ID]" when a recognised entry regressed, or
 * "new:KIND@JOURNAL-CLASS,FAULTS[,vfs-bug=B][,target=memory-shared]", KIND
 * the gravest of the new kinds (kind_rank in triage.c).
 * Never fails; out is owned by the caller (triage_result_free). */
void triage_run(const struct triage_catalog *cat, const struct world_config *cfg,
		const struct world_result *res, const struct oracle_report *rep,
		int sqlite_version_number, struct triage_result *out);
void triage_result_free(struct triage_result *r);

/* The journal class used in signatures: "wal", "rollback" (delete,
 * truncate, persist) or "memory" (memory, off). */
const char *triage_journal_class(const char *journal_mode);

#endif /* WH_TRIAGE_H */
