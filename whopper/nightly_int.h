/*
 * nightly_int.h - the contract between the files of `whopper nightly`
 * (nightly.c: options and the job's event loop, which also runs the
 * shrinker children; nightly_jobfile.c: job.json; nightly_matrix.c: the
 * configuration matrix; nightly_json.c: a small JSON reader;
 * nightly_util.c: buffers, maps, files, output helpers; nightly_results.c:
 * result records and their aggregation; nightly_corpus.c: the failure
 * corpus and the per-signature files kept in --out; nightly_report.c:
 * summary.json, junit.xml, report.html; nightly_merge.c: `nightly merge`).
 *
 * Ownership: every struct here owns the strings it points to unless a field
 * comment says "borrowed"; each has a _free function that releases them and
 * leaves the struct zeroed. Nothing here is used by the simulated path, so
 * wall-clock time and allocation are fine.
 *
 * Files a job keeps per failure signature, all named by nl_artifact_stem
 * (STATUS-HASH, HASH = FNV-1a of the signature):
 *   OUT/repro/STEM.whop    the replay file of the signature's representative
 *                          matrix run (runs are recorded into OUT/scratch/;
 *                          the recording is moved here or deleted as the run
 *                          ends, so disk use stays one file per signature)
 *   OUT/shrunk/STEM.whop   `whopper shrink` of the above, with STEM.sql and
 *                          STEM.svg beside it
 *   CORPUS/STEM.whop       the same replay file, kept for later nightlies,
 *                          with a sidecar CORPUS/STEM.sig naming the signature
 *   CORPUS/STEM.args       a failure without a replay file (crash, hang,
 *                          error): the run's arguments, re-run to replay it
 */
#ifndef WH_NIGHTLY_INT_H
#define WH_NIGHTLY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli.h"

/* ---------------------------------------------------------------------
 * Limits
 * ------------------------------------------------------------------- */

#define NL_RUNS_MAX 100000000ULL       /* --runs bound: the done-bitset stays < 13 MB */
#define NL_SHARDS_MAX 100000u          /* --shard I/N bound on N */
#define NL_JOBS_MAX 256u               /* --jobs bound */
#define NL_HOOKS_MAX 64u               /* hidden --test-hook-run, repeatable */
#define NL_TARGETS_MAX 8               /* --target-lib, repeatable */
#define NL_USER_FLAGS_MAX 256u         /* arguments after `--` */
#define NL_FRAMES_MAX 3u               /* frames in a crash signature */
#define NL_BACKTRACE_KEEP 12u          /* frames kept in a result line */
#define NL_DETAIL_MAX 600u             /* bytes of a violation detail kept */
#define NL_STDOUT_MAX (64u << 20)      /* a child's JSON larger than this is cut */
#define NL_STDERR_MAX (1u << 20)       /* stderr kept: head and tail of this */
#define NL_STDERR_HEAD (16u << 10)     /* ... of which the head */
#define NL_LINE_MAX (64u << 20)        /* longest results.jsonl line read back */
#define NL_SHRINK_TIME_DEFAULT_S 60.0  /* --shrink-time default, per signature */
#define NL_INLINE_SQL_MAX (256u << 10) /* MIN.sql larger than this: linked, not inlined */
#define NL_INLINE_SVG_MAX (1u << 20)   /* MIN.svg likewise */

_Static_assert(NL_STDERR_HEAD * 4 <= NL_STDERR_MAX,
	       "the stderr tail must stay larger than its head");

/* ---------------------------------------------------------------------
 * Small containers (nightly_util.c)
 * ------------------------------------------------------------------- */

/* Growable byte buffer; data is always NUL-terminated when non-NULL. */
struct nl_buf {
	char *data; /* owned; NULL while empty */
	size_t len; /* bytes used, not counting the NUL */
	size_t cap; /* bytes allocated */
};
void nl_buf_append(struct nl_buf *b, const void *p, size_t n);
void nl_buf_puts(struct nl_buf *b, const char *s);
void nl_buf_printf(struct nl_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void nl_buf_free(struct nl_buf *b);

/* Growable vector of owned strings. */
struct nl_strv {
	char **v;     /* owned strings, owned array */
	size_t count; /* strings in v */
	size_t cap;   /* slots allocated */
};
void nl_strv_push(struct nl_strv *s, const char *str);
void nl_strv_copy(struct nl_strv *dst, const struct nl_strv *src);
bool nl_strv_equal(const struct nl_strv *a, const struct nl_strv *b);
void nl_strv_free(struct nl_strv *s);

/* String -> index map (open addressing, FNV-1a); keys are owned copies. */
struct nl_map {
	char **keys;      /* owned; NULL marks an empty slot */
	uint32_t *values; /* value of keys[i] */
	size_t count;     /* keys stored */
	size_t cap;       /* slots, a power of two (or 0) */
};
/* Returns true and sets *value when key is present. */
bool nl_map_get(const struct nl_map *m, const char *key, uint32_t *value);
/* Insert key (must be absent). */
void nl_map_put(struct nl_map *m, const char *key, uint32_t value);
void nl_map_free(struct nl_map *m);

/* Growable bit set over non-negative indices (which runs are done). */
struct nl_bitset {
	uint64_t *words; /* owned */
	size_t word_count;
};
bool nl_bitset_test(const struct nl_bitset *b, uint64_t i);
void nl_bitset_set(struct nl_bitset *b, uint64_t i);
/* p (an array of *len elements of elem bytes, or NULL and 0) grown by
 * doubling from `first` until index i fits, the new elements zero; the
 * array's new address (*len updated). */
void *nl_grow_zeroed(void *p, size_t *len, uint64_t i, size_t elem, size_t first);
void nl_bitset_free(struct nl_bitset *b);

uint64_t nl_fnv1a(const char *s);
double nl_wall_now(void);      /* CLOCK_REALTIME seconds (timestamps in files) */
double nl_mono_now(void);      /* CLOCK_MONOTONIC seconds (durations) */
void nl_iso8601(double epoch_s, char out[32]);
/* Create DIR and its missing parents (mode 0777 & umask). 0 or -1 (errno). */
int nl_mkdir_p(const char *dir);
/* Write DIR/NAME through DIR/.NAME.tmpPID and rename(2), so a reader never
 * sees a half-written file. fill returns 0 or -1; on any failure the temp
 * file is removed, a one-line message is printed and -1 returned. */
int nl_write_atomic(const char *dir, const char *name, int (*fill)(FILE *f, void *ctx),
		    void *ctx);
/* Copy the file src to DIR/NAME through nl_write_atomic. 0, or -1 after
 * a one-line message (nothing is left at DIR/NAME). */
int nl_copy_atomic(const char *src, const char *dir, const char *name);
/* The whole of a regular file of at most max_bytes, NUL-terminated (a new
 * buffer; *len_out gets its length). NULL with errno set when it cannot
 * be read, or with errno EFBIG when it is larger than max_bytes. */
char *nl_read_file(const char *path, size_t max_bytes, size_t *len_out);
bool nl_file_exists(const char *path);
/* whop_path with a trailing ".whop" replaced by suffix (".sql", ".svg"),
 * appended to out: the files `whopper shrink` writes beside MIN.whop. */
void nl_sibling_path(const char *whop_path, const char *suffix, struct nl_buf *out);
/* Remove every entry of the flat directory dir, then dir itself; a missing
 * dir is fine. 0, or -1 with errno from the first failure. */
int nl_remove_flat_dir(const char *dir);
/* Bytes as base64 (RFC 4648, with padding), for data: URIs. */
void nl_base64(FILE *f, const unsigned char *p, size_t n);
/* Text escaped for XML/HTML element content and attribute values: &<>"'
 * escaped, control characters other than \t \n \r and invalid UTF-8 bytes
 * replaced by '?', so the document stays well-formed whatever a child
 * printed. */
void nl_xml_text(FILE *f, const char *s);
/* Shell-quoted argument (bare when it is made of safe characters). */
void nl_shell_arg(FILE *f, const char *s);
/* Copy at most max bytes of s, cut on a UTF-8 boundary, "..." appended
 * when cut. Returns a new string. */
char *nl_strndup_utf8(const char *s, size_t max);

/* ---------------------------------------------------------------------
 * JSON reader (nightly_json.c)
 * ------------------------------------------------------------------- */

enum nl_json_type {
	NL_JSON_NULL,
	NL_JSON_BOOL,
	NL_JSON_NUM,
	NL_JSON_STR,
	NL_JSON_ARR,
	NL_JSON_OBJ,
};

/* One parsed value. Numbers keep their text so 64-bit seeds survive. */
struct nl_json {
	enum nl_json_type type;
	bool boolean;          /* NL_JSON_BOOL */
	char *text;            /* NL_JSON_NUM: the literal; NL_JSON_STR: decoded UTF-8 */
	struct nl_json *items; /* NL_JSON_ARR/OBJ: count values */
	char **keys;           /* NL_JSON_OBJ: count keys, parallel to items */
	size_t count;          /* items (and keys) */
};

/* Parse exactly one JSON value (surrounding whitespace allowed). Returns
 * NULL on a syntax error, trailing garbage or nesting deeper than 64. The
 * result is freed with nl_json_free. */
struct nl_json *nl_json_parse(const char *text, size_t len);
void nl_json_free(struct nl_json *v);
/* Member of an object (first match), or NULL when absent / not an object. */
const struct nl_json *nl_json_get(const struct nl_json *obj, const char *key);
/* The string, or NULL when v is NULL or not a string. */
const char *nl_json_str(const struct nl_json *v);
bool nl_json_u64(const struct nl_json *v, uint64_t *out);
bool nl_json_i64(const struct nl_json *v, int64_t *out);
bool nl_json_num(const struct nl_json *v, double *out);
bool nl_json_bool(const struct nl_json *v, bool *out);

/* ---------------------------------------------------------------------
 * The matrix (nightly_matrix.c)
 * ------------------------------------------------------------------- */

/* What a job draws from; everything a run's arguments depend on. */
struct nl_matrix {
	uint64_t base_seed;        /* the job's --seed */
	struct nl_strv workloads;  /* names or paths to draw from (non-empty) */
	struct nl_strv user_flags; /* arguments after `--`, appended to every run */
	struct nl_strv targets;    /* --target-lib paths: run index i targets
				      targets[i % count], its other flags
				      drawn from row i / count (empty: the
				      linked SQLite, drawn from i) */
	uint8_t *cannot_run;       /* owned; workloads.count rows of
				      max(1, targets.count) entries: 1 when
				      that target's SQLite does not meet the
				      workload's \requires (nl_matrix_plan),
				      so the workload is not drawn for it;
				      NULL: every target runs every workload */
};

/* The full argument list of matrix run `index` ("run", ..., "--json"), a
 * pure function of (m->base_seed, index, m->workloads, m->user_flags,
 * m->targets, m->cannot_run): no clock, no global state. *seed_out gets
 * the run's --seed. */
void nl_matrix_args(const struct nl_matrix *m, uint64_t index, struct nl_strv *argv,
		    uint64_t *seed_out);

/* A (workload, target) pair that \requires changes, for the reports:
 * the target cannot run the workload at all (include NULL: it is never
 * drawn for that target), or runs it without an include. */
struct nl_skip {
	char *workload;    /* as the matrix lists it */
	char *include;     /* the include left out, or NULL: the whole workload */
	char *library;     /* --target-lib path, or NL_TARGET_LINKED */
	char *version;     /* the SQLite its runs compose for ("3.15.2"): the
			      older of the target and the linked one */
	char *needs;       /* the version required ("3.35.0") */
	char *reason;      /* the \requires reason, "" when none */
	char *declared_at; /* "workloads/ddl-churn.sql:17" */
};
struct nl_skips {
	struct nl_skip *v; /* workload by workload, target by target */
	size_t count;
};
void nl_skips_free(struct nl_skips *s);
/* Set m->cannot_run from the workloads' requirements and the targets'
 * versions (the older of each target and the linked SQLite), and list
 * the pairs changed in *skips. A --workload among the run flags stands
 * for the matrix's list. Loads each workload and target again (cheap:
 * both are cached). 0, or -1 with a one-line message in err when a
 * workload or library does not load, or when a target can run none of
 * the workloads (the job could draw nothing for it). */
int nl_matrix_plan(struct nl_matrix *m, struct nl_skips *skips, char *err, size_t err_len);
/* Check the arguments after `--`: 0, or prints a one-line error naming the
 * flag and returns WH_EXIT_USAGE. */
int nl_matrix_check_user_flags(const struct nl_strv *flags);
/* True when `name` (e.g. "--txns") is a run flag that takes a value. */
bool nl_run_flag_takes_value(const char *name);

/* The configuration a run argument list describes (the defaults of `run`
 * filled in). Fields are borrowed from the argument list or static. */
struct nl_config {
	const char *workload;
	const char *journal;
	const char *synchronous;
	const char *scheduler;
	const char *pct_depth;
	const char *connections;
	const char *txns;
	const char *faults;
	const char *target;
	const char *target_lib;       /* --target-lib PATH, or NULL: linked */
	const char *pragma_names[8];  /* the matrix's pragma knobs, in order */
	const char *pragma_values[8]; /* value given, or NULL when off */
	size_t pragma_count;          /* entries in the two arrays above */
};
void nl_config_from_args(const struct nl_strv *argv, struct nl_config *c);
/* "workload/journal/synchronous/scheduler/faults", the per-configuration key. */
void nl_config_key(const struct nl_config *c, struct nl_buf *out);

/* ---------------------------------------------------------------------
 * Result records (nightly_results.c)
 * ------------------------------------------------------------------- */

enum nl_status {
	NL_PASS,  /* exit 0, verdict pass */
	NL_FAIL,  /* exit 1, a check failed (violations) */
	NL_HANG,  /* killed by --run-timeout */
	NL_CRASH, /* died by a signal */
	NL_ERROR, /* anything else: exit 3, no JSON, unexpected status */
	NL_STATUS__COUNT
};
const char *nl_status_name(enum nl_status s);
/* -1 when the name is unknown. */
int nl_status_parse(const char *name);

enum nl_kind {
	NL_KIND_RUN,    /* a matrix run, identified by its index */
	NL_KIND_REPLAY, /* a corpus entry replayed, identified by its name */
};

/* What replaying a corpus entry says about the failure it was kept for. */
enum nl_outcome {
	NL_OUTCOME_STILL_FAILING, /* failed again with the same signature */
	NL_OUTCOME_CHANGED,       /* failed, but with another signature */
	NL_OUTCOME_FIXED,         /* passed */
	NL_OUTCOME_STALE,         /* refused (exit 2: another whopper or SQLite
				     version, a changed workload, a bad file);
				     not a failure */
	NL_OUTCOME__COUNT
};
/* "still failing", "failing differently", "fixed", "stale". */
const char *nl_outcome_name(enum nl_outcome o);
/* The summary.json key of an outcome count: "still_failing", ... */
const char *nl_outcome_key(enum nl_outcome o);
enum nl_outcome nl_outcome_of(bool stale, const char *signature, const char *expect);

/* How a failure is triaged (the child's JSON "triage" object, see
 * nl_classify): a run label, the most severe of its violations' labels. A
 * child without a triage object (an older whopper, a crash, a hang) is new
 * whenever it is not a pass. Ordered from most to least severe after pass,
 * so the larger of two labels is never the more severe one: see
 * nl_label_worse. */
enum nl_label {
	NL_LABEL_PASS,     /* no violation at all */
	NL_LABEL_NEW,      /* a violation nobody explained: the night is red */
	NL_LABEL_KNOWN,    /* only violations of catalogued SQLite findings */
	NL_LABEL_EXPECTED, /* only violations the configuration excuses */
	NL_LABEL__COUNT
};
/* "pass", "new", "known", "expected". */
const char *nl_label_name(enum nl_label l);
/* -1 when the name is unknown. */
int nl_label_parse(const char *name);
/* True when a is more severe than b (new, then known, then expected, then
 * pass). */
bool nl_label_worse(enum nl_label a, enum nl_label b);

/* A catalogued SQLite finding a run showed (an element of triage.known). */
struct nl_finding {
	char *id;      /* catalogue id */
	char *title;   /* one line; "" when the child gave none */
	bool in_range; /* the SQLite tested is in the versions recorded for it */
};

/* One finished run: exactly one results.jsonl line. */
struct nl_result {
	enum nl_kind kind;
	int64_t index;          /* matrix index; -1 for a replay */
	char *entry;            /* replay: corpus entry name */
	char *expect;           /* replay: the signature the entry was kept for */
	char *replay_file;      /* replay of a .whop entry: its path (the child
				   runs `replay FILE --json`; args then hold the
				   recorded run flags); else NULL */
	bool stale;             /* replay refused (exit 2): status pass, no
				   signature, detail says why */
	bool diverged;          /* replay ran, but its trace differed from the
				   recording: classified by its verdict */
	uint64_t seed;          /* the run's --seed */
	char *shard;            /* "I/N" */
	struct nl_strv args;    /* the child's arguments after the binary */
	char *hook;             /* WHOPPER_TEST_HOOK value given to the child, or NULL */
	enum nl_status status;
	int exit_code;          /* -1 when it died by a signal */
	int term_signal;        /* 0 unless it died by a signal */
	char *signature;        /* NULL exactly when label is pass */
	bool in_corpus;         /* signature was in the corpus when the job began */
	enum nl_label label;    /* pass only with status pass; a status other
				   than pass and fail is always new */
	struct nl_finding *findings; /* triage.known: catalogued findings seen */
	size_t finding_count;
	struct nl_strv reasons; /* triage.expected: reason ids of excused violations */
	struct nl_strv applicable; /* triage.applicable: catalogue ids whose
				      configuration this run had */
	char *verdict;          /* from the child's JSON, or NULL */
	char *trace_hash;       /* from the child's JSON, or NULL */
	char *sqlite_version;   /* the target's, from the child's JSON ("sqlite"),
				   or NULL (a crash, an older child) */
	char *sqlite_source_id; /* likewise */
	double cpu_s;           /* the child's CPU seconds (its JSON's
				   timing.cpu_s), or 0 when it gave none */
	uint32_t *coverage;     /* interleaving points it reached (its
				   JSON's coverage.reached), ascending */
	uint32_t coverage_count;
	bool mutation;          /* --explore: the run mutates pool member
				   `parent` (nightly_explore.c); false: a
				   matrix row */
	uint64_t parent;        /* mutation only: the member's run index */
	uint32_t violation_count;
	char *detail;           /* first violation / error line, cut to NL_DETAIL_MAX */
	struct nl_strv frames;  /* crash/hang: backtrace frames (symbolic) */
	double run_s;           /* the child's wall time, spawn to exit */
	double started_at;      /* epoch seconds */
	double finished_at;     /* epoch seconds */
};
void nl_result_free(struct nl_result *r);
void nl_result_copy(struct nl_result *dst, const struct nl_result *src);
/* One JSON line with the trailing newline. */
void nl_result_write(FILE *f, const struct nl_result *r);
/* Fill r from a parsed line. 0, or -1 when a required field is missing. */
int nl_result_read(const struct nl_json *j, struct nl_result *r);
/* The repro command line: "EXE replay FILE" for a .whop replay, else
 * "[WHOPPER_TEST_HOOK=x ]EXE ARGS" without --json. */
void nl_result_repro(FILE *f, const struct nl_result *r, const char *exe_display);
/* " --target-lib PATH" when r's arguments name a target library (a replay
 * must be given it again: the file names the library, it does not load
 * it), else nothing. */
void nl_target_arg(FILE *f, const struct nl_result *r);

/* Classify a finished child and derive its signature. stdout_text is the
 * child's stdout (may be empty or garbage), stderr_text its kept stderr.
 * Fills status, label, exit_code, term_signal, signature, findings,
 * reasons, applicable, verdict, trace_hash, violation_count, detail,
 * frames, and for replays (r->kind set by the caller) stale and diverged.
 * workload names the run's workload for signatures without statement
 * templates. */
void nl_classify(struct nl_result *r, int64_t exit_status, int term_signal, bool timed_out,
		 const char *stdout_text, size_t stdout_len, const char *stderr_text,
		 const char *workload);

/* Per-signature aggregate. */
struct nl_sig {
	char *signature;
	enum nl_status status;      /* status of the runs that carry it */
	uint64_t count;             /* results with this signature */
	enum nl_label label;        /* the most severe label of its results
				       (one signature is one label, as the
				       signature names it, but a child may lie) */
	bool is_new;                /* label new and some result carrying it
				       was not in the corpus: the night is red */
	struct nl_result rep;       /* representative: replays first, then lowest index */
	double first_finished_at;   /* when it was first seen */
	/* Files kept for it, set by the job or the merge (nl_sig_find_artifacts)
	 * after aggregation; NULL when there are none. Paths as repro commands
	 * name them. */
	char *recording;            /* OUT/repro/STEM.whop: the rep's replay file */
	char *shrunk;               /* OUT/shrunk/STEM.whop (.sql, .svg beside it) */
	char *shrink_note;          /* the shrinker's summary, or why not shrunk */
};
/* The repro command of a signature: "EXE replay RECORDING" when it has a
 * recording, else its representative's (nl_result_repro). */
void nl_sig_repro(FILE *f, const struct nl_sig *s, const char *exe_display);


/* Per-key status counts (configurations, dimension values). */
struct nl_tally {
	char *key;
	uint64_t by_status[NL_STATUS__COUNT];
};

/* The few numbers the plot needs per result. */
struct nl_point {
	double finished_at; /* epoch seconds */
	int32_t sig_id;     /* index into sigs, -1 for a pass */
};

/* A corpus replay outcome. */
struct nl_replay_outcome {
	char *entry;
	char *expect;           /* the entry's recorded signature */
	enum nl_status status;
	char *signature;        /* what it did this time (NULL: passed or stale) */
	enum nl_outcome outcome;
	bool diverged;          /* see nl_result */
	char *detail;           /* stale: why the replay was refused */
};

/* How often a catalogued finding showed, over the matrix runs whose
 * configuration it applies to: a known bug that stops showing (on a new
 * SQLite, say) is news, even though it never fails the night. */
struct nl_catalogue_tally {
	char *id;                 /* catalogue id */
	char *title;              /* from the first run that showed it, or "" */
	bool in_range;            /* as that run said */
	uint64_t applicable_runs; /* runs that listed it applicable or showed it */
	uint64_t seen_runs;       /* of those, runs that showed it */
};

/* Per target library (nightly_targets.c): a matrix dimension. */
#define NL_TARGET_LINKED "linked" /* the key of runs without --target-lib */
struct nl_target_tally {
	char *library;       /* --target-lib path, or NL_TARGET_LINKED */
	char *version;       /* as its first reporting child said, or NULL */
	char *source_id;     /* likewise */
	uint64_t runs;       /* matrix runs on it */
	uint64_t failures;   /* of those, runs with a signature */
	double cpu_s;        /* their CPU seconds (wall seconds for a child
				that reported none) */
	uint64_t *sig_runs;  /* per signature id (nl_agg.sigs): its runs here */
	size_t sig_cap;      /* entries allocated in sig_runs (zero past) */
};
struct nl_targets {
	struct nl_target_tally *v; /* in order of first appearance */
	size_t count, cap;
	struct nl_map index;       /* library -> v[] */
};

struct nl_agg {
	uint64_t by_status[NL_STATUS__COUNT]; /* matrix runs only */
	uint64_t by_label[NL_LABEL__COUNT];   /* matrix runs only */
	uint64_t run_count;                   /* matrix runs */
	struct nl_sig *sigs;                  /* in order of first appearance */
	size_t sig_count, sig_cap;
	struct nl_map sig_index;
	struct nl_tally *configs;             /* per configuration key */
	size_t config_count, config_cap;
	struct nl_map config_index;
	struct nl_tally *dims;                /* "dimension=value" keys */
	size_t dim_count, dim_cap;
	struct nl_map dim_index;
	struct nl_point *points;              /* matrix runs, in arrival order */
	size_t point_count, point_cap;
	struct nl_replay_outcome *replays;
	size_t replay_count, replay_cap;
	struct nl_map replay_index;           /* entry name -> replays[] */
	struct nl_catalogue_tally *catalogue; /* in order of first appearance */
	size_t catalogue_count, catalogue_cap;
	struct nl_map catalogue_index;        /* id -> catalogue[] */
	struct nl_targets targets;            /* matrix runs per target library */
	struct nl_bitset done;                /* matrix indices present */
	struct nl_bitset coverage;            /* interleaving points any run
						 reached (engine/coverage.c) */
	uint64_t coverage_points;             /* bits set in coverage */
	uint64_t mutation_runs;               /* matrix runs that were
						 --explore mutations */
	double first_started_at;              /* 0 until a result arrives */
	double last_finished_at;
};
/* Fold one result in. Returns false (and adds nothing) when it duplicates
 * a matrix index or a replay entry already present. */
bool nl_agg_add(struct nl_agg *a, const struct nl_result *r);
/* Would r become the representative of its signature if added to a? True
 * when r has a signature and it is absent or r beats the current
 * representative (the rule nl_agg_add applies). */
bool nl_agg_would_represent(const struct nl_agg *a, const struct nl_result *r);
/* Replays of a per outcome. */
void nl_agg_outcome_counts(const struct nl_agg *a, size_t counts[NL_OUTCOME__COUNT]);
void nl_agg_free(struct nl_agg *a);
uint64_t nl_agg_new_count(const struct nl_agg *a);

/* Fold matrix run r, whose signature is sigs[sig_id] (-1: none), into its
 * target's tally (nightly_targets.c). */
void nl_targets_add(struct nl_targets *t, const struct nl_result *r, int32_t sig_id);
void nl_targets_free(struct nl_targets *t);
/* Runs of target x with signature sig_id. */
uint64_t nl_target_sig_runs(const struct nl_target_tally *x, size_t sig_id);
/* Indices into t->v by library path (free it). */
size_t *nl_targets_order(const struct nl_targets *t);
/* summary.json's "targets" array: each target with its runs, failures,
 * CPU seconds and per-signature runs, signatures in sig_order. */
void nl_targets_json(FILE *f, const struct nl_agg *a, const size_t *sig_order);
/* report.html's "Targets" table (signature rows, a column per target with
 * its failures and CPU seconds per failure); nothing under two targets. */
void nl_targets_html(FILE *f, const struct nl_agg *a, const size_t *sig_order);
/* One console line per target (nothing under two targets). */
void nl_targets_console(FILE *f, const struct nl_agg *a);

/* Read a results.jsonl, folding each line into agg and calling each_line
 * (may be NULL) with where the line lies in the file. A last line without its newline (a job
 * killed mid-write) is ignored and its offset returned in *valid_len so the
 * caller can cut it. Returns 0; -1 with a message on a malformed line or an
 * I/O error; -2 with a message when a run index or replay entry appears a
 * second time (in this file or in one loaded earlier into the same agg).
 * A missing file is an empty one. */
int nl_results_load(const char *path, struct nl_agg *agg, off_t *valid_len,
		    void (*each_line)(void *ctx, const struct nl_result *r, off_t offset,
				      size_t len),
		    void *ctx);

/* ---------------------------------------------------------------------
 * --explore: runs steered by coverage (nightly_explore.c)
 * ------------------------------------------------------------------- */

#define NL_EXPLORE_GENERATION_RUNS 16u /* runs per generation */

/* A run that reached coverage points no earlier run had reached. */
struct nl_explore_member {
	struct nl_strv args; /* its arguments ("run" ... "--json"), owned */
	uint64_t index;      /* its run index */
	uint32_t new_points; /* points it reached first */
	uint32_t *points;    /* which (new_points of them), owned */
};

struct nl_explore {
	uint64_t generation_runs;          /* G: generation g is [g*G, (g+1)*G) */
	uint64_t run_limit;                /* --runs N, or UINT64_MAX under --time */
	struct nl_bitset seen;             /* points of the folded runs */
	uint32_t *hits;                    /* per point: folded runs that
					      reached it (hits_len entries) */
	size_t hits_len;
	struct nl_explore_member *pool;    /* in increasing index order */
	size_t pool_count, pool_cap;
	uint64_t folded_generations;       /* generations folded into the pool */
	struct nl_result *pending;         /* G slots (index % G): finished runs
					      of the open generation */
	bool *pending_have;                /* which slots hold a result */
	uint64_t pending_count;            /* slots holding one */
};

void nl_explore_init(struct nl_explore *e, uint64_t generation_runs, uint64_t run_limit);
void nl_explore_free(struct nl_explore *e);
/* True when run `index` may be drawn now: every earlier generation is
 * folded. */
bool nl_explore_ready(const struct nl_explore *e, uint64_t index);
/* Fold one run into the pool (runs must come in increasing index order):
 * true when it reached a point no earlier folded run reached, and so
 * joined the pool. */
bool nl_explore_fold(struct nl_explore *e, const struct nl_result *r);
/* Hand a finished run of the open generation over (any order; r is
 * copied); when the generation is complete its runs are folded in index
 * order and the next generation opens. */
void nl_explore_add(struct nl_explore *e, const struct nl_result *r);
/* The arguments of run `index` (which must be ready): the matrix's run
 * `index`, or a mutation of a pool member (*parent_out its run index, else
 * -1). A pure function of (m, the pool, index). *seed_out gets its --seed. */
void nl_explore_args(const struct nl_matrix *m, const struct nl_explore *e, uint64_t index,
		     struct nl_strv *argv, uint64_t *seed_out, int64_t *parent_out);

/* ---------------------------------------------------------------------
 * Corpus (nightly_corpus.c)
 * ------------------------------------------------------------------- */

enum nl_entry_format {
	NL_ENTRY_WHOP, /* STEM.whop (+ STEM.sig): replayed with `whopper replay` */
	NL_ENTRY_ARGS, /* STEM.args: the run's arguments, re-run (format 1) */
};

struct nl_corpus_entry {
	char *name;           /* file name inside the corpus directory */
	char *path;           /* DIR/name */
	enum nl_entry_format format;
	char *signature;      /* the failure it was kept for */
	struct nl_strv args;  /* the run's arguments, "run" first: from the .args
				 file, or the recorded flags of the .whop */
	char *hook;           /* .args only: WHOPPER_TEST_HOOK for the replay */
	char *library;        /* .whop: the SQLite library its header names
				 (sqlite-library), or NULL */
};

/* Every entry in DIR (created when missing), sorted by name. Unreadable
 * or malformed entries are skipped with a warning. 0, or -1 with a
 * message when DIR cannot be created or read. */
int nl_corpus_load(const char *dir, struct nl_corpus_entry **out, size_t *count);
void nl_corpus_entries_free(struct nl_corpus_entry *e, size_t count);
/* Keep a new failure whose representative is r: a copy of the replay file
 * `recording` as DIR/STEM.whop with its sidecar DIR/STEM.sig, or, when
 * recording is NULL or unreadable, DIR/STEM.args with r's arguments.
 * Nothing is written when DIR already holds an entry for the signature.
 * 0, or -1 with a message. */
int nl_corpus_keep(const char *dir, const struct nl_result *r, const char *recording,
		   uint64_t base_seed);
/* How the job replays an entry: sets r->args, r->hook, r->replay_file and
 * r->seed (r is otherwise filled by the caller). */
void nl_corpus_replay_setup(const struct nl_corpus_entry *e, struct nl_result *r);

#define NL_STEM_MAX 48u
/* "STATUS-HASH": the stem of every file kept for a signature. */
void nl_artifact_stem(enum nl_status status, const char *signature, char out[NL_STEM_MAX]);
/* Set s->recording (DIR/repro/STEM.whop, only when the representative is
 * a matrix run) and s->shrunk (DIR/shrunk/STEM.whop, only when STEM.svg,
 * the shrinker's last output, is there too) from the first of the job
 * directories dirs that holds each; either stays NULL when none does.
 * Replaces what was set before. */
void nl_sig_find_artifacts(struct nl_sig *s, const struct nl_strv *dirs);

/* ---------------------------------------------------------------------
 * Reports (nightly_report.c)
 * ------------------------------------------------------------------- */

/* How a --time job kept to its budget. Borrowed. */
struct nl_budget {
	double time_s;                /* --time: the whole session, shrinking included */
	double wall_s;                /* what the session took */
	double reserve_s;             /* kept for shrinking once a new signature waited */
	const struct nl_strv *killed; /* runs and replays in flight when the runs'
					 time was up: killed, not counted ("run 12") */
	const struct nl_strv *late;   /* children that ended past the budget, each
					 with how far ("shrink of SIG: 1.2 s") */
};

/* Facts about the job the reports print besides the results. Borrowed. */
struct nl_job_info {
	uint64_t base_seed;
	const char *shard;         /* "I/N" (or "merged") */
	const char *mode;          /* "runs" or "time" */
	uint64_t runs_planned;     /* --runs N (all shards), 0 in time mode */
	double time_s;             /* --time, 0 in runs mode */
	const char *stop_reason;   /* "complete", "time", "interrupted", ... */
	bool complete;             /* every planned run is present */
	double wall_s;             /* this session's wall time */
	const char *exe_display;   /* how repro commands name the binary */
	int exit_code;             /* what the command exits with */
	const struct nl_strv *merged_from; /* merge: input dirs, else NULL */
	const struct wh_sqlapi *target;    /* the SQLite the runs target
					      (--target-lib, else the linked
					      one); NULL: not known (merge) */
	const struct nl_budget *budget;    /* --time jobs, else NULL */
	const struct nl_skips *skips;      /* pairs \requires changed
					      (nl_matrix_plan); NULL: not
					      known */
	bool explore;                      /* --explore: runs steered by coverage */
	size_t explore_pool;               /* --explore: runs in the pool at the end */
};
/* The budget in one line for people, no newline: "within --time 60 s
 * (took 58.2 s)" or "took 63.0 s, 3.0 s past --time 60 s: ...". */
void nl_budget_line(FILE *f, const struct nl_budget *b);

/* Write summary.json, junit.xml and report.html into dir, each atomically.
 * 0, or -1 after printing a message. */
int nl_reports_write(const char *dir, const struct nl_agg *a, const struct nl_job_info *info);
/* Where a signature goes in every report: 0 new (reddens the night), 1 new
 * but kept in the corpus by an earlier night, 2 known, 3 expected. */
int nl_sig_rank(const struct nl_sig *s);
/* The console's closing lines, shared by the job and the merge: each
 * catalogued finding's count ("seen in K of N applicable runs"), then the
 * totals by label and the new signatures. */
void nl_print_totals(FILE *f, const struct nl_agg *a);
/* For the console: what excuses a known or expected signature ("ID:
 * title (in the recorded version range)", or the reasons). */
void nl_sig_about(FILE *f, const struct nl_sig *s);
/* "seen in K of N applicable runs" or "not seen in N applicable runs". */
void nl_catalogue_note(const struct nl_catalogue_tally *c, char *out, size_t size);

/* ---------------------------------------------------------------------
 * job.json: a job's parameters, for --resume and merge (nightly_jobfile.c)
 * ------------------------------------------------------------------- */

struct nl_snapshot_entry {
	char *name;      /* corpus entry file name */
	char *signature; /* its signature when the job began */
};

struct nl_job_file {
	uint64_t base_seed;
	bool time_mode;                     /* --time (else --runs) */
	uint64_t runs;                      /* --runs N, all shards */
	double time_s;                      /* --time SECONDS */
	double shrink_time_s;               /* --shrink-time (60 when absent) */
	bool explore;                       /* --explore (a --resume refuses it) */
	uint32_t shard_i, shard_n;
	struct nl_strv workloads;
	struct nl_strv user_flags;          /* after `--` */
	char *corpus;                       /* --corpus DIR or NULL */
	char *known_file;                   /* --known FILE (absolute) or NULL */
	struct nl_strv target_libs;         /* --target-lib FILE (absolute) */
	struct nl_snapshot_entry *snapshot; /* the corpus when the job began */
	size_t snapshot_count;
	double created_at;                  /* epoch seconds */
};

/* Read DIR/job.json. 0; 1 when the file does not exist; -1 after a
 * message when it is unreadable or malformed. */
int nl_job_file_read(const char *dir, struct nl_job_file *jf);
/* Writes jf (a const struct nl_job_file *) as job.json: an nl_write_atomic
 * fill function. */
int nl_job_file_fill(FILE *f, void *jf);
void nl_job_file_free(struct nl_job_file *jf);

/* ---------------------------------------------------------------------
 * Entry points (nightly.c, nightly_merge.c)
 * ------------------------------------------------------------------- */

/* `whopper nightly merge [--out DIR] DIR...`; argv[0] is "merge". */
int nl_cmd_merge(int argc, char **argv);
/* How repro commands name the binary: a path relative to the working
 * directory when the binary lies below it, else absolute. Static storage. */
const char *nl_exe_display(void);

#endif /* WH_NIGHTLY_INT_H */
