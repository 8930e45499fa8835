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
	TRIAGE_COUNTER__COUNT
};
const char *triage_counter_name(enum triage_counter c);
uint64_t triage_counter_value(const struct world_evidence *e, enum triage_counter c);

enum triage_device {
	TRIAGE_DEVICE_ANY,
	TRIAGE_DEVICE_POWERSAFE,
	TRIAGE_DEVICE_NON_POWERSAFE,
};

struct triage_entry {
	char *id;                  /* "stale-schema-no-such-table" */
	char *title;               /* one line */
	int version_lo;            /* sqlite3_libversion_number() bounds, */
	int version_hi;            /* inclusive; hi 0: no upper bound */
	uint32_t journal_mask;     /* bit per triage journal mode; 0: any */
	uint32_t faults_mask;      /* bit per enum world_faults; 0: any */
	uint32_t target_mask;      /* bit per enum world_target; never 0 */
	enum triage_device device;
	uint32_t crashes_min;      /* power losses needed; 0: none */
	char **evidence_kinds;     /* violation kinds that must be present */
	uint32_t evidence_kind_count;
	uint32_t evidence_counters; /* bit per enum triage_counter, each >= 1 */
	char **explains;           /* kinds it accounts for */
	uint32_t explains_count;
	bool explains_all;         /* "explains *" */
	char *mechanism;           /* the mechanism lines joined by '\n' */
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
/* "3.40.1" from 3040001 (buf of at least 16 bytes). */
void triage_version_format(int version, char *buf, size_t len);

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
	const struct triage_entry *entry; /* KNOWN: the entry */
	const char *reason;               /* EXPECTED: the oracle's static id */
};

struct triage_known {
	const struct triage_entry *entry;
	bool in_range;             /* this SQLite is inside its versions */
	uint32_t violations;       /* violations it labelled */
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
	uint32_t new_count;               /* new violations */
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
 * README.md ("Triage"): "known:ID[+ID]", "expected:REASON[+REASON]", or
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
