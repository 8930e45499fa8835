/*
 * triage.c - the catalogue of known findings in SQLite, and the triage of
 * a checked run against it.
 *
 * Catalogue. Text in the line format documented at the top of
 * oracle/known-findings.txt (embedded in the binary as
 * triage__builtin_text by scripts/embed-findings.sh), plus the files users
 * give with --known. Parsing is all or nothing per text: entries go into a
 * scratch catalogue and are appended only when the whole text parsed and
 * none of its ids is already present, so a bad file leaves the catalogue
 * as it was and the message names the first bad line (NAME:LINE).
 *
 * Triage of one run (triage_run), in this order:
 *   1. World findings (hang, setup_failed...) are new: they are whopper's
 *      view of the run, not an oracle verdict an entry could explain.
 *   2. An oracle violation marked expected keeps that label and its
 *      reason (the configuration makes SQLite promise less).
 *   3. Otherwise the first recognised entry, in catalogue order, whose
 *      "explains" covers the violation's kind labels it known.
 *   4. Anything else is new.
 * An entry is recognised when its configuration conditions hold (journal
 * mode, fault profile, target, device, lock model), the run had its minimum of power
 * losses, and every evidence line holds (a violation kind present and not
 * excused, or an engine evidence counter at least 1). The SQLite version
 * does not decide recognition: a match outside the entry's measured range
 * is still known, with in_range false (a version older than the ladder
 * measured, or between the newest one seen with it and the first seen
 * without it: the range was not measured there, the bug may well be
 * there). A match on the version the entry was measured fixed in, or a
 * newer one, is a regression: its violations are new (the entry named,
 * signature "new:regression:ID"), so the run fails as news. A planted
 * VFS defect (--vfs-bug) voids every entry: that run tests the defect,
 * and nothing it shows may be excused as SQLite's.
 *
 * Invariants: the result depends only on the catalogue (its order), the
 * configuration, the world result and the report, never on addresses;
 * every list in the result is sorted by a string key, and the signature is
 * built from sorted lists. Each violation gets exactly one label, and the
 * counts in known[] (regressions apart), expected[] and new_count add up
 * to label_count.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "triage.h"
#include "wh.h"

/* The embedded oracle/known-findings.txt (generated source). */
extern const char triage__builtin_text[];
extern const size_t triage__builtin_len;
extern const char triage__builtin_name[];

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static const char *const counter_names[] = {
	[TRIAGE_COUNTER_HOT_JOURNAL_TAKEN_FOR_LIVE] = "hot_journal_taken_for_live",
	[TRIAGE_COUNTER_WAL_RESET_STALE_CHECKPOINT] = "wal_reset_stale_checkpoint",
	[TRIAGE_COUNTER_TORN_OUTSIDE_WRITE] = "torn_outside_write",
	[TRIAGE_COUNTER_TXN_LOST_UNDER_STATEMENT] = "txn_lost_under_statement",
};
_Static_assert(sizeof counter_names / sizeof counter_names[0] == TRIAGE_COUNTER__COUNT,
	       "one name per evidence counter");

const char *triage_counter_name(enum triage_counter c)
{
	WH_ASSERT((unsigned)c < TRIAGE_COUNTER__COUNT);
	return counter_names[c];
}

uint64_t triage_counter_value(const struct world_evidence *e, enum triage_counter c)
{
	WH_ASSERT(e != NULL);
	switch (c) {
	case TRIAGE_COUNTER_HOT_JOURNAL_TAKEN_FOR_LIVE:
		return e->hot_journal_taken_for_live;
	case TRIAGE_COUNTER_WAL_RESET_STALE_CHECKPOINT:
		return e->wal_reset_stale_checkpoint;
	case TRIAGE_COUNTER_TORN_OUTSIDE_WRITE:
		return e->torn_outside_write;
	case TRIAGE_COUNTER_TXN_LOST_UNDER_STATEMENT:
		return e->txn_lost_under_statement;
	case TRIAGE_COUNTER__COUNT:
		break;
	}
	WH_UNREACHABLE();
}

/* The history event counter at the first event a counter counted (0:
 * none, or a counter that keeps no event). */
static uint64_t counter_first_event(const struct world_evidence *e, enum triage_counter c)
{
	switch (c) {
	case TRIAGE_COUNTER_HOT_JOURNAL_TAKEN_FOR_LIVE:
		return e->hot_journal_first_event;
	case TRIAGE_COUNTER_WAL_RESET_STALE_CHECKPOINT:
		return e->wal_reset_first_event;
	case TRIAGE_COUNTER_TORN_OUTSIDE_WRITE:
		return e->torn_outside_first_event;
	case TRIAGE_COUNTER_TXN_LOST_UNDER_STATEMENT:
		return e->txn_lost_first_event;
	case TRIAGE_COUNTER__COUNT:
		break;
	}
	WH_UNREACHABLE();
}

/* Journal modes an entry may name; bit i of journal_mask is modes[i]. */
static const char *const journal_modes[] = {"wal", "delete", "truncate", "persist", "memory",
					    "off"};
#define JOURNAL_MODE_COUNT (sizeof journal_modes / sizeof journal_modes[0])

static const char *const target_names[] = {
	[WORLD_TARGET_SIM] = "sim",
	[WORLD_TARGET_MEMORY_SHARED] = "memory-shared",
	[WORLD_TARGET_THREADS] = "threads",
	[WORLD_TARGET_PROCESSES] = "processes",
};
#define TARGET_COUNT (sizeof target_names / sizeof target_names[0])

/* Fault profiles, in enum world_faults order (world_faults_name). */
#define FAULTS_COUNT (WORLD_FAULTS_BITFLIP + 1)

static const char *const label_names[] = {
	[TRIAGE_PASS] = "pass",
	[TRIAGE_EXPECTED] = "expected",
	[TRIAGE_KNOWN] = "known",
	[TRIAGE_NEW] = "new",
};

const char *triage_label_name(enum triage_label l)
{
	WH_ASSERT((unsigned)l < sizeof label_names / sizeof label_names[0]);
	return label_names[l];
}

static int journal_index(const char *mode)
{
	for (unsigned i = 0; mode != NULL && i < JOURNAL_MODE_COUNT; i++)
		if (strcasecmp(mode, journal_modes[i]) == 0)
			return (int)i;
	return -1;
}

const char *triage_journal_class(const char *journal_mode)
{
	int j = journal_index(journal_mode);
	if (j == 0)
		return "wal";
	if (j >= 1 && j <= 3)
		return "rollback";
	if (j >= 4)
		return "memory";
	return "unknown";
}

/* Parse a non-negative decimal of at most 9 digits (versions, counts). */
static bool parse_num(const char *s, const char *end, int *out)
{
	if (s == end || end - s > 9)
		return false;
	int v = 0;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return true;
}

void triage_version_format(int version, char *buf, size_t len)
{
	WH_ASSERT(len >= 16);
	snprintf(buf, len, "%d.%d.%d", version / 1000000, version / 1000 % 1000, version % 1000);
}

bool triage_version_in_range(const struct triage_entry *e, int version)
{
	WH_ASSERT(e->version_lo > 0);
	WH_ASSERT(e->version_hi == 0 || e->version_hi >= e->version_lo);
	return version >= e->version_lo && (e->version_hi == 0 || version <= e->version_hi);
}

bool triage_version_regressed(const struct triage_entry *e, int version)
{
	WH_ASSERT(e->version_fixed == 0 || e->version_hi != 0);
	WH_ASSERT(e->version_fixed == 0 || e->version_fixed > e->version_hi);
	return e->version_fixed != 0 && version >= e->version_fixed;
}

int triage_version_parse(const char *s)
{
	int part[3];
	const char *p = s;
	for (int i = 0; i < 3; i++) {
		const char *end = p + strspn(p, "0123456789");
		if (end == p || end - p > 3 || !parse_num(p, end, &part[i]))
			return -1;
		if (i < 2 && *end != '.')
			return -1;
		p = i < 2 ? end + 1 : end;
	}
	if (*p != '\0' || part[0] != 3)
		return -1;
	return part[0] * 1000000 + part[1] * 1000 + part[2];
}

/* ------------------------------------------------------------------ */
/* Measurements                                                        */
/* ------------------------------------------------------------------ */

bool triage_measure_has(const struct triage_measure *m)
{
	WH_ASSERT(m->seeds_failed <= m->seeds);
	WH_ASSERT(m->word != TRIAGE_MEASURE_PASSES || m->seeds_failed == 0);
	return m->word == TRIAGE_MEASURE_FAILS || m->seeds_failed > 0;
}

bool triage_measure_range(const struct triage_measure *m, uint32_t count, int *lo, int *hi,
			  int *fixed)
{
	int first = -1, last = -1;
	for (uint32_t i = 0; i < count; i++) {
		WH_ASSERT(i == 0 || m[i].version > m[i - 1].version);
		if (triage_measure_has(&m[i])) {
			if (first < 0)
				first = (int)i;
			last = (int)i;
		}
	}
	if (first < 0)
		return false;
	*lo = m[first].version;
	/* Open-ended when the newest version measured has it: nothing newer
	 * was seen without it. */
	bool open = (uint32_t)last == count - 1;
	*hi = open ? 0 : m[last].version;
	*fixed = open ? 0 : m[last + 1].version;
	WH_ASSERT(*hi == 0 || *hi >= *lo);
	return true;
}

bool triage_measure_parse(const char *token, struct triage_measure *m, const char **why)
{
	memset(m, 0, sizeof *m);
	const char *eq = strchr(token, '=');
	char version[16];
	if (eq == NULL || (size_t)(eq - token) >= sizeof version) {
		*why = "expected VERSION=RESULT";
		return false;
	}
	memcpy(version, token, (size_t)(eq - token));
	version[eq - token] = '\0';
	m->version = triage_version_parse(version);
	if (m->version < 0) {
		*why = "the version is not MAJOR.MINOR.PATCH of SQLite 3";
		return false;
	}
	const char *r = eq + 1;
	if (strncmp(r, "fails", 5) == 0) {
		m->word = TRIAGE_MEASURE_FAILS;
		r += 5;
	} else if (strncmp(r, "passes", 6) == 0) {
		m->word = TRIAGE_MEASURE_PASSES;
		r += 6;
	}
	if (m->word != TRIAGE_MEASURE_NONE) {
		if (*r == '\0')
			return true;
		if (*r != ',') {
			*why = "expected fails, passes, K/N, fails,K/N or passes,0/N";
			return false;
		}
		r++;
	}
	const char *slash = strchr(r, '/');
	int k, n;
	if (slash == NULL || !parse_num(r, slash, &k) || !parse_num(slash + 1, slash + strlen(slash), &n)) {
		*why = "expected fails, passes, K/N, fails,K/N or passes,0/N";
		return false;
	}
	if (n == 0 || k > n) {
		*why = "a rate K/N needs 0 <= K <= N and N > 0";
		return false;
	}
	if (m->word == TRIAGE_MEASURE_PASSES && k > 0) {
		*why = "it passes, yet seeds show it: say fails or give the rate alone";
		return false;
	}
	m->seeds_failed = (uint32_t)k;
	m->seeds = (uint32_t)n;
	return true;
}

void triage_measure_format(const struct triage_measure *m, char *buf, size_t len)
{
	WH_ASSERT(len >= 64);
	char v[16];
	triage_version_format(m->version, v, sizeof v);
	const char *word = m->word == TRIAGE_MEASURE_FAILS    ? "fails"
			   : m->word == TRIAGE_MEASURE_PASSES ? "passes"
							      : "";
	if (m->seeds == 0)
		snprintf(buf, len, "%s=%s", v, word);
	else
		snprintf(buf, len, "%s=%s%s%u/%u", v, word, *word ? "," : "", m->seeds_failed,
			 m->seeds);
	WH_ASSERT(m->seeds > 0 || *word != '\0');
}

/* ------------------------------------------------------------------ */
/* Catalogue: parsing                                                  */
/* ------------------------------------------------------------------ */

void triage_catalog_init(struct triage_catalog *cat)
{
	memset(cat, 0, sizeof *cat);
}

static void strv_free(char **v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void entry_free(struct triage_entry *e)
{
	free(e->id);
	free(e->title);
	strv_free(e->evidence_kinds, e->evidence_kind_count);
	strv_free(e->explains, e->explains_count);
	free(e->measured);
	free(e->mechanism);
	for (int t = 0; t < 2; t++)
		free(e->differential[t].detail);
	free(e->test);
	free(e->source);
	memset(e, 0, sizeof *e);
}

void triage_catalog_free(struct triage_catalog *cat)
{
	for (uint32_t i = 0; i < cat->entry_count; i++)
		entry_free(&cat->entries[i]);
	free(cat->entries);
	memset(cat, 0, sizeof *cat);
}

static const struct triage_entry *catalog_find(const struct triage_catalog *cat,
					       const char *id)
{
	for (uint32_t i = 0; i < cat->entry_count; i++)
		if (strcmp(cat->entries[i].id, id) == 0)
			return &cat->entries[i];
	return NULL;
}

struct parser {
	const char *name;          /* file name for messages */
	int line;                  /* 1-based number of the current line */
	char *err;
	size_t err_len;
	struct triage_catalog got; /* entries parsed so far */
	struct triage_entry *cur;  /* the entry being filled, or NULL */
	int cur_line;              /* line of its "finding" */
	bool have_versions;
	bool have_target;
	bool have_fixed;
	int measured_line;         /* line of its "measured", 0: none */
};

static int parse_error(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int parse_error(struct parser *p, int line, const char *fmt, ...)
{
	int n = snprintf(p->err, p->err_len, "%s:%d: ", p->name, line);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->err_len)
		vsnprintf(p->err + n, p->err_len - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_id(const char *s)
{
	if (*s == '\0' || *s == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static bool is_kind(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static void strv_push(char ***v, uint32_t *n, const char *s)
{
	*v = wh_realloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = wh_strdup(s);
}

/* The versions and fixed lines of the current entry say what its
 * measured line implies, so the two cannot drift apart. */
static int entry_check_measured(struct parser *p)
{
	const struct triage_entry *e = p->cur;
	int lo, hi, fixed;
	if (!triage_measure_range(e->measured, e->measured_count, &lo, &hi, &fixed))
		return parse_error(p, p->measured_line, "'measured': no version shows finding '%s', so it gives no range",
				   e->id);
	if (lo == e->version_lo && hi == e->version_hi && fixed == e->version_fixed)
		return 0;
	char want[96];
	if (hi == 0)
		snprintf(want, sizeof want, "'versions %d-' and no 'fixed'", lo);
	else
		snprintf(want, sizeof want, "'versions %d-%d' and 'fixed %d'", lo, hi, fixed);
	return parse_error(p, p->measured_line, "'measured': finding '%s' was measured as %s",
			   e->id, want);
}

/* The required fields of the current entry are there. */
static int entry_finish(struct parser *p)
{
	struct triage_entry *e = p->cur;
	if (e == NULL)
		return 0;
	static const char *const need[] = {"title", "versions", "evidence", "explains",
					   "mechanism", "test"};
	bool have[] = {e->title != NULL, p->have_versions,
		       e->evidence_kind_count > 0 || e->evidence_counters != 0,
		       e->explains_all || e->explains_count > 0, e->mechanism != NULL,
		       e->test != NULL};
	_Static_assert(sizeof need / sizeof need[0] == sizeof have / sizeof have[0],
		       "one flag per required key");
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (!have[i])
			return parse_error(p, p->cur_line, "finding '%s' has no '%s' line", e->id,
					   need[i]);
	if (e->version_fixed != 0 && (e->version_hi == 0 || e->version_fixed <= e->version_hi))
		return parse_error(p, p->cur_line, "finding '%s': 'fixed %d' needs a 'versions' range that ends before it",
				   e->id, e->version_fixed);
	if (p->measured_line != 0 && entry_check_measured(p) != 0)
		return -1;
	if (!p->have_target)
		e->target_mask = 1u << WORLD_TARGET_SIM;
	p->cur = NULL;
	return 0;
}

/* Each word of a list value, as a NUL-terminated token, into fn. */
typedef int (*word_fn)(struct parser *p, const char *key, const char *word);

static int each_word(struct parser *p, const char *key, const char *value, word_fn fn)
{
	char buf[4096]; /* a line's most (a long ladder's "measured") */
	if (strlen(value) >= sizeof buf)
		return parse_error(p, p->line, "'%s': value too long", key);
	strcpy(buf, value);
	int n = 0;
	for (char *save = NULL, *w = strtok_r(buf, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save), n++)
		if (fn(p, key, w) != 0)
			return -1;
	WH_ASSERT(n > 0); /* callers pass a non-empty value */
	return 0;
}

static int word_journal(struct parser *p, const char *key, const char *w)
{
	int j = journal_index(w);
	if (j < 0 || strcmp(w, journal_modes[j]) != 0)
		return parse_error(p, p->line, "'%s': unknown journal mode '%s' (wal, delete, truncate, persist, memory, off)",
				   key, w);
	p->cur->journal_mask |= 1u << j;
	return 0;
}

static int word_faults(struct parser *p, const char *key, const char *w)
{
	int f = world_faults_parse(w);
	if (f < 0)
		return parse_error(p, p->line, "'%s': unknown fault profile '%s' (none, io, crash, chaos, bitflip)",
				   key, w);
	p->cur->faults_mask |= 1u << f;
	return 0;
}

static int word_target(struct parser *p, const char *key, const char *w)
{
	for (unsigned t = 0; t < TARGET_COUNT; t++)
		if (strcmp(w, target_names[t]) == 0) {
			p->cur->target_mask |= 1u << t;
			return 0;
		}
	return parse_error(p, p->line, "'%s': unknown target '%s' (sim, memory-shared)", key, w);
}

static int word_explains(struct parser *p, const char *key, const char *w)
{
	struct triage_entry *e = p->cur;
	if (strcmp(w, "*") == 0) {
		if (e->explains_count > 0 || e->explains_all)
			return parse_error(p, p->line, "'%s': '*' stands alone", key);
		e->explains_all = true;
		return 0;
	}
	if (e->explains_all)
		return parse_error(p, p->line, "'%s': '*' stands alone", key);
	if (!is_kind(w))
		return parse_error(p, p->line, "'%s': '%s' is not a violation kind (a-z, 0-9, '_')",
				   key, w);
	strv_push(&e->explains, &e->explains_count, w);
	return 0;
}

static int parse_versions(struct parser *p, const char *v)
{
	struct triage_entry *e = p->cur;
	const char *dash = strchr(v, '-');
	int lo = 0, hi = 0;
	if (dash == NULL || !parse_num(v, dash, &lo) || lo < 3000000 ||
	    (dash[1] != '\0' && !parse_num(dash + 1, dash + strlen(dash), &hi)))
		return parse_error(p, p->line, "'versions': expected LO-HI or LO- in sqlite3_libversion_number() form (e.g. 3040001-), got '%s'",
				   v);
	if (dash[1] != '\0' && hi < lo)
		return parse_error(p, p->line, "'versions': the range %d-%d is empty", lo, hi);
	e->version_lo = lo;
	e->version_hi = hi;
	p->have_versions = true;
	return 0;
}

static int parse_evidence(struct parser *p, const char *v)
{
	struct triage_entry *e = p->cur;
	char what[16], arg[128], extra[2];
	if (sscanf(v, "%15s %127s %1s", what, arg, extra) != 2)
		return parse_error(p, p->line, "'evidence': expected 'kind KIND' or 'counter NAME', got '%s'",
				   v);
	if (strcmp(what, "kind") == 0) {
		if (!is_kind(arg))
			return parse_error(p, p->line, "'evidence': '%s' is not a violation kind (a-z, 0-9, '_')",
					   arg);
		strv_push(&e->evidence_kinds, &e->evidence_kind_count, arg);
		return 0;
	}
	if (strcmp(what, "counter") == 0) {
		for (int c = 0; c < TRIAGE_COUNTER__COUNT; c++)
			if (strcmp(arg, counter_names[c]) == 0) {
				e->evidence_counters |= 1u << c;
				return 0;
			}
		return parse_error(p, p->line,
				   "'evidence': unknown counter '%s' (hot_journal_taken_for_live, "
				   "wal_reset_stale_checkpoint, torn_outside_write, txn_lost_under_statement)",
				   arg);
	}
	return parse_error(p, p->line, "'evidence': expected 'kind KIND' or 'counter NAME', got '%s'", v);
}

/* A single-valued text field, given once. */
static int set_once(struct parser *p, const char *key, char **field, const char *v)
{
	if (*field != NULL)
		return parse_error(p, p->line, "'%s' given twice in finding '%s'", key, p->cur->id);
	*field = wh_strdup(v);
	return 0;
}

/* "finding ID": closes the entry before and opens a new one, with its
 * source line. */
static int parse_finding(struct parser *p, const char *v)
{
	if (entry_finish(p) != 0)
		return -1;
	if (!is_id(v))
		return parse_error(p, p->line, "'finding': '%s' is not an id (a-z, 0-9, '-')", v);
	if (catalog_find(&p->got, v) != NULL)
		return parse_error(p, p->line, "finding '%s' appears twice", v);
	p->got.entries = wh_realloc(p->got.entries,
				    (p->got.entry_count + 1) * sizeof *p->got.entries);
	p->cur = &p->got.entries[p->got.entry_count++];
	memset(p->cur, 0, sizeof *p->cur);
	p->cur->id = wh_strdup(v);
	char src[512];
	snprintf(src, sizeof src, "%s:%d", p->name, p->line);
	p->cur->source = wh_strdup(src);
	p->cur_line = p->line;
	p->have_versions = false;
	p->have_target = false;
	p->have_fixed = false;
	p->measured_line = 0;
	return 0;
}

/* "fixed VERSION": the first version measured without the finding. */
static int parse_fixed(struct parser *p, const char *v)
{
	int fixed;
	if (p->have_fixed)
		return parse_error(p, p->line, "'fixed' given twice in finding '%s'", p->cur->id);
	if (!parse_num(v, v + strlen(v), &fixed) || fixed < 3000000)
		return parse_error(p, p->line, "'fixed': expected a version in sqlite3_libversion_number() form (e.g. 3046000), got '%s'",
				   v);
	p->cur->version_fixed = fixed;
	p->have_fixed = true;
	return 0;
}

static bool is_date(const char *s)
{
	static const char shape[] = "dddd-dd-dd";
	for (size_t i = 0; i < sizeof shape - 1; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return false;
	return s[sizeof shape - 1] == '\0';
}

static int word_measure(struct parser *p, const char *key, const char *w)
{
	struct triage_entry *e = p->cur;
	if (e->measured_date[0] == '\0') {
		if (!is_date(w))
			return parse_error(p, p->line, "'%s': expected a date YYYY-MM-DD first, got '%s'",
					   key, w);
		memcpy(e->measured_date, w, sizeof e->measured_date);
		return 0;
	}
	struct triage_measure m;
	const char *why = NULL;
	if (!triage_measure_parse(w, &m, &why))
		return parse_error(p, p->line, "'%s': '%s': %s", key, w, why);
	if (e->measured_count > 0 && m.version <= e->measured[e->measured_count - 1].version)
		return parse_error(p, p->line, "'%s': '%s': versions go oldest first, each once", key,
				   w);
	e->measured = wh_realloc(e->measured, (e->measured_count + 1) * sizeof *e->measured);
	e->measured[e->measured_count++] = m;
	return 0;
}

/* "measured DATE VERSION=RESULT...": when and on which ladder the range
 * was measured. */
static int parse_measured(struct parser *p, const char *key, const char *v)
{
	if (p->measured_line != 0)
		return parse_error(p, p->line, "'measured' given twice in finding '%s'", p->cur->id);
	p->measured_line = p->line;
	if (each_word(p, key, v, word_measure) != 0)
		return -1;
	if (p->cur->measured_count == 0)
		return parse_error(p, p->line, "'measured': expected a date and at least one VERSION=RESULT");
	return 0;
}

const char *const triage_diff_targets[2] = {"threads", "processes"};

const char *triage_diff_result_text(enum triage_diff_result r)
{
	switch (r) {
	case TRIAGE_DIFF_NONE:
		return "not recorded";
	case TRIAGE_DIFF_REPRODUCED:
		return "reproduced";
	case TRIAGE_DIFF_NOT_REPRODUCED:
		return "not reproduced";
	case TRIAGE_DIFF_NOT_APPLICABLE:
		return "not applicable";
	}
	WH_UNREACHABLE();
}

/* "differential TARGET RESULT DETAIL": what the finding gave on a real
 * target (threads or processes): reproduced, not-reproduced or
 * not-applicable, and how it was tried (budget, runs, date). */
static int parse_differential(struct parser *p, const char *v)
{
	struct triage_entry *e = p->cur;
	char target[16], result[24];
	int used = 0;
	if (sscanf(v, "%15s %23s %n", target, result, &used) != 2 || v[used] == '\0')
		return parse_error(p, p->line, "'differential': expected TARGET RESULT DETAIL (threads|processes, reproduced|not-reproduced|not-applicable, then how it was tried), got '%s'",
				   v);
	int t = strcmp(target, "threads") == 0 ? 0 : strcmp(target, "processes") == 0 ? 1 : -1;
	if (t < 0)
		return parse_error(p, p->line, "'differential': target '%s' is not threads or processes",
				   target);
	enum triage_diff_result r = strcmp(result, "reproduced") == 0 ? TRIAGE_DIFF_REPRODUCED
				    : strcmp(result, "not-reproduced") == 0 ? TRIAGE_DIFF_NOT_REPRODUCED
				    : strcmp(result, "not-applicable") == 0 ? TRIAGE_DIFF_NOT_APPLICABLE
									     : TRIAGE_DIFF_NONE;
	if (r == TRIAGE_DIFF_NONE)
		return parse_error(p, p->line, "'differential': result '%s' is not reproduced, not-reproduced or not-applicable",
				   result);
	if (e->differential[t].result != TRIAGE_DIFF_NONE)
		return parse_error(p, p->line, "'differential %s' given twice in finding '%s'", target,
				   e->id);
	e->differential[t].result = r;
	e->differential[t].detail = wh_strdup(v + used);
	return 0;
}

/* The keys whose value is one word or a number: device, lock-model,
 * crashes. */
static int parse_scalar(struct parser *p, const char *key, const char *v)
{
	struct triage_entry *e = p->cur;
	if (strcmp(key, "lock-model") == 0) {
		if (strcmp(v, "thread") == 0)
			e->lock_model = TRIAGE_LOCKS_THREAD;
		else if (strcmp(v, "process") == 0)
			e->lock_model = TRIAGE_LOCKS_PROCESS;
		else
			return parse_error(p, p->line, "'lock-model': expected thread or process, got '%s'",
					   v);
		return 0;
	}
	if (strcmp(key, "device") == 0) {
		if (strcmp(v, "powersafe") == 0)
			e->device = TRIAGE_DEVICE_POWERSAFE;
		else if (strcmp(v, "non-powersafe") == 0)
			e->device = TRIAGE_DEVICE_NON_POWERSAFE;
		else
			return parse_error(p, p->line, "'device': expected powersafe or non-powersafe, got '%s'",
					   v);
		return 0;
	}
	WH_ASSERT(strcmp(key, "crashes") == 0);
	int c;
	if (!parse_num(v, v + strlen(v), &c))
		return parse_error(p, p->line, "'crashes': expected a number, got '%s'", v);
	e->crashes_min = (uint32_t)c;
	return 0;
}

/* A key of the current entry (every key but "finding"). */
static int parse_entry_key(struct parser *p, const char *key, const char *v)
{
	if (p->cur == NULL)
		return parse_error(p, p->line, "'%s' before the first 'finding' line", key);
	struct triage_entry *e = p->cur;
	if (strcmp(key, "title") == 0)
		return set_once(p, key, &e->title, v);
	if (strcmp(key, "test") == 0) {
		if (strchr(v, ':') == NULL || strpbrk(v, " \t") != NULL)
			return parse_error(p, p->line, "'test': expected FILE:FUNCTION, got '%s'", v);
		return set_once(p, key, &e->test, v);
	}
	if (strcmp(key, "versions") == 0) {
		if (p->have_versions)
			return parse_error(p, p->line, "'versions' given twice in finding '%s'", e->id);
		return parse_versions(p, v);
	}
	if (strcmp(key, "fixed") == 0)
		return parse_fixed(p, v);
	if (strcmp(key, "measured") == 0)
		return parse_measured(p, key, v);
	if (strcmp(key, "journal") == 0)
		return each_word(p, key, v, word_journal);
	if (strcmp(key, "faults") == 0)
		return each_word(p, key, v, word_faults);
	if (strcmp(key, "target") == 0) {
		p->have_target = true;
		return each_word(p, key, v, word_target);
	}
	if (strcmp(key, "explains") == 0)
		return each_word(p, key, v, word_explains);
	if (strcmp(key, "device") == 0 || strcmp(key, "lock-model") == 0 ||
	    strcmp(key, "crashes") == 0)
		return parse_scalar(p, key, v);
	if (strcmp(key, "evidence") == 0)
		return parse_evidence(p, v);
	if (strcmp(key, "differential") == 0)
		return parse_differential(p, v);
	if (strcmp(key, "mechanism") == 0) {
		/* Repeated lines join with newlines. */
		size_t old = e->mechanism ? strlen(e->mechanism) : 0;
		e->mechanism = wh_realloc(e->mechanism, old + strlen(v) + 2);
		if (old > 0)
			e->mechanism[old++] = '\n';
		strcpy(e->mechanism + old, v);
		return 0;
	}
	return parse_error(p, p->line, "unknown key '%s'", key);
}

static int parse_line(struct parser *p, char *line)
{
	/* Trailing blanks (and a CR from another system) are not content. */
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		line[--n] = '\0';
	const char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	char key[32];
	size_t k = strcspn(s, " \t");
	if (k >= sizeof key)
		return parse_error(p, p->line, "unknown key '%.*s'", (int)k, s);
	memcpy(key, s, k);
	key[k] = '\0';
	const char *v = s + k;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '\0')
		return parse_error(p, p->line, "'%s': missing value", key);
	if (strcmp(key, "finding") == 0)
		return parse_finding(p, v);
	return parse_entry_key(p, key, v);
}

int triage_catalog_add_text(struct triage_catalog *cat, const char *name, const char *text,
			    char *err, size_t err_len)
{
	WH_ASSERT(cat != NULL && text != NULL);
	struct parser p = {.name = name, .err = err, .err_len = err_len};
	triage_catalog_init(&p.got);
	int rc = 0;
	const char *s = text;
	while (rc == 0 && *s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		p.line++;
		if (n >= 4096) {
			rc = parse_error(&p, p.line, "line too long");
			break;
		}
		char buf[4096];
		memcpy(buf, s, n);
		buf[n] = '\0';
		rc = parse_line(&p, buf);
		s = nl ? nl + 1 : s + n;
	}
	if (rc == 0)
		rc = entry_finish(&p);
	if (rc == 0 && p.got.entry_count == 0)
		rc = parse_error(&p, p.line > 0 ? p.line : 1, "no 'finding' entry");
	for (uint32_t i = 0; rc == 0 && i < p.got.entry_count; i++) {
		const struct triage_entry *old = catalog_find(cat, p.got.entries[i].id);
		if (old != NULL) {
			int line = atoi(strrchr(p.got.entries[i].source, ':') + 1);
			rc = parse_error(&p, line, "finding '%s' is already in the catalogue (%s)",
					 old->id, old->source);
		}
	}
	if (rc != 0) {
		triage_catalog_free(&p.got);
		return -1;
	}
	cat->entries = wh_realloc(cat->entries,
				  (cat->entry_count + p.got.entry_count) * sizeof *cat->entries);
	memcpy(cat->entries + cat->entry_count, p.got.entries,
	       p.got.entry_count * sizeof *p.got.entries);
	cat->entry_count += p.got.entry_count;
	free(p.got.entries); /* the strings moved into cat */
	return 0;
}

int triage_catalog_add_file(struct triage_catalog *cat, const char *path, char *err,
			    size_t err_len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	size_t cap = 1 << 14, len = 0, n;
	char *buf = wh_malloc(cap);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			WH_ASSERT(cap < ((size_t)1 << 30));
			cap *= 2;
			buf = wh_realloc(buf, cap);
		}
	}
	bool read_error = ferror(f) != 0;
	fclose(f);
	buf[len] = '\0';
	int rc;
	if (read_error) {
		snprintf(err, err_len, "%s: cannot read", path);
		rc = -1;
	} else if (memchr(buf, '\0', len) != NULL) {
		/* The line of the first NUL, for the message. */
		int line = 1;
		for (const char *q = buf; *q; q++)
			line += *q == '\n';
		snprintf(err, err_len, "%s:%d: binary content", path, line);
		rc = -1;
	} else {
		rc = triage_catalog_add_text(cat, path, buf, err, err_len);
	}
	free(buf);
	return rc;
}

void triage_catalog_add_builtin(struct triage_catalog *cat)
{
	char err[512];
	WH_ASSERT(strlen(triage__builtin_text) == triage__builtin_len);
	if (triage_catalog_add_text(cat, triage__builtin_name, triage__builtin_text, err,
				    sizeof err) != 0)
		wh_assert_fail(__FILE__, __LINE__, "the shipped catalogue parses", err);
}

const struct triage_catalog *triage_builtin(void)
{
	static struct triage_catalog cat;
	static bool loaded;
	if (!loaded) {
		triage_catalog_init(&cat);
		triage_catalog_add_builtin(&cat);
		loaded = true;
	}
	WH_ASSERT(cat.entry_count > 0);
	return &cat;
}

/* ------------------------------------------------------------------ */
/* Triage of a run                                                     */
/* ------------------------------------------------------------------ */

/* Journal, faults, target, device and lock model: what the run was
 * configured with. */
static bool config_holds(const struct triage_entry *e, const struct world_config *cfg)
{
	if (cfg->vfs_bug != SIMVFS_BUG_NONE)
		return false; /* a planted defect voids every entry */
	int j = journal_index(cfg->journal_mode);
	if (e->journal_mask != 0 && (j < 0 || (e->journal_mask & (1u << j)) == 0))
		return false;
	if (e->faults_mask != 0 && (e->faults_mask & (1u << cfg->faults)) == 0)
		return false;
	if ((e->target_mask & (1u << cfg->target)) == 0)
		return false;
	bool powersafe = cfg->device_characteristics < 0 ||
			 (cfg->device_characteristics & SQLITE_IOCAP_POWERSAFE_OVERWRITE) != 0;
	if (e->device == TRIAGE_DEVICE_POWERSAFE && !powersafe)
		return false;
	if (e->device == TRIAGE_DEVICE_NON_POWERSAFE && powersafe)
		return false;
	if (e->lock_model == TRIAGE_LOCKS_THREAD && cfg->lock_model != SIMVFS_LOCKS_THREAD)
		return false;
	if (e->lock_model == TRIAGE_LOCKS_PROCESS && cfg->lock_model != SIMVFS_LOCKS_PROCESS)
		return false;
	return true;
}

static bool kind_present(const struct oracle_report *rep, const char *kind)
{
	for (uint32_t i = 0; rep != NULL && i < rep->violation_count; i++)
		if (!rep->violations[i].expected && strcmp(rep->violations[i].kind, kind) == 0)
			return true;
	return false;
}

static bool recognised(const struct triage_entry *e, const struct world_config *cfg,
		       const struct world_result *res, const struct oracle_report *rep)
{
	if (!config_holds(e, cfg) || res->stats.crashes < e->crashes_min)
		return false;
	WH_ASSERT(e->evidence_kind_count > 0 || e->evidence_counters != 0);
	for (uint32_t k = 0; k < e->evidence_kind_count; k++)
		if (!kind_present(rep, e->evidence_kinds[k]))
			return false;
	for (int c = 0; c < TRIAGE_COUNTER__COUNT; c++)
		if ((e->evidence_counters & (1u << c)) != 0 &&
		    triage_counter_value(&res->evidence, (enum triage_counter)c) == 0)
			return false;
	return true;
}

/* Kinds that judge the database's content, not what one transaction
 * read: a cause at work before the run ended can explain them whatever
 * transactions they name. */
static bool kind_is_content(const char *kind)
{
	static const char *const kinds[] = {
		"lost_commit",     "phantom_commit",  "final_state",    "recovery_state",
		"recovery_failed", "integrity_check", "foreign_key_check", "invariant",
	};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (strcmp(kind, kinds[k]) == 0)
			return true;
	return false;
}

/* An entry recognised by an evidence counter explains a read anomaly only
 * when one of the transactions it names ended after the counter first saw
 * the cause at work (or never ended): a wrong read that was over before
 * the race happened cannot be the race's doing, and must stay new. */
static bool in_scope(const struct triage_entry *e, const struct oracle_violation *v,
		     const struct world_result *res)
{
	uint64_t since = 0;
	for (int c = 0; c < TRIAGE_COUNTER__COUNT; c++) {
		if ((e->evidence_counters & (1u << c)) == 0)
			continue;
		uint64_t first = counter_first_event(&res->evidence, (enum triage_counter)c);
		if (first != 0 && (since == 0 || first < since))
			since = first;
	}
	if (since == 0 || v->txn_count == 0 || kind_is_content(v->kind))
		return true;
	for (uint32_t k = 0; k < v->txn_count; k++) {
		if (v->txns[k] >= res->history.txn_count)
			return true; /* not in this history: nothing to scope by */
		uint64_t end = res->history.txns[v->txns[k]]->end_event;
		if (end == 0 || end > since)
			return true;
	}
	return false;
}

static bool explains(const struct triage_entry *e, const char *kind)
{
	if (e->explains_all)
		return true;
	for (uint32_t k = 0; k < e->explains_count; k++)
		if (strcmp(e->explains[k], kind) == 0)
			return true;
	return false;
}

static int cmp_known(const void *a, const void *b)
{
	const struct triage_known *x = a, *y = b;
	return strcmp(x->entry->id, y->entry->id);
}

static int cmp_expected(const void *a, const void *b)
{
	const struct triage_expected *x = a, *y = b;
	return strcmp(x->reason, y->reason);
}

/* Append s to out (a bounded signature); the result stays NUL-terminated
 * and is cut, never overrun, when it does not fit. */
static void sig_add(char *out, size_t len, const char *s)
{
	size_t used = strlen(out);
	WH_ASSERT(used < len);
	snprintf(out + used, len - used, "%s", s);
}

/* Gravity of a kind, for the one that names a new failure: whole-run
 * failures, then damage to the database, then lost writes, then wrong
 * reads, then errors; a kind not listed comes last (by name). */
static unsigned kind_rank(const char *kind)
{
	static const char *const order[] = {
		"hang",           "setup_failed",     "reference_runaway", "reference_invariant",
		"recovery_failed",
		"integrity_check",
		"recovery_state", "lost_commit",      "phantom_commit",    "lost_update",
		"final_state",    "dirty_read",       "aborted_read",      "intermediate_read",
		"write_skew",     "read_skew",        "read_mismatch",     "foreign_key_check",
		"invariant",      "stale_schema_error", "runaway_statement",
	};
	for (unsigned k = 0; k < sizeof order / sizeof order[0]; k++)
		if (strcmp(kind, order[k]) == 0)
			return k;
	return sizeof order / sizeof order[0];
}

static void make_signature(struct triage_result *r, const struct world_config *cfg,
			   const char **new_kinds, uint32_t new_kind_count)
{
	char *out = r->signature;
	size_t len = sizeof r->signature;
	out[0] = '\0';
	switch (r->label) {
	case TRIAGE_PASS:
		return;
	case TRIAGE_EXPECTED:
		sig_add(out, len, "expected:");
		for (uint32_t i = 0; i < r->expected_count; i++) {
			sig_add(out, len, i ? "+" : "");
			sig_add(out, len, r->expected[i].reason);
		}
		return;
	case TRIAGE_KNOWN:
		sig_add(out, len, "known:");
		for (uint32_t i = 0; i < r->known_count; i++) {
			sig_add(out, len, i ? "+" : "");
			sig_add(out, len, r->known[i].entry->id);
		}
		return;
	case TRIAGE_NEW:
		break;
	}
	WH_ASSERT(new_kind_count > 0);
	/* A regression names its entries: that is the root cause to chase,
	 * whatever kinds it produced this time. */
	bool regressed = false;
	for (uint32_t i = 0; i < r->known_count; i++) {
		if (!r->known[i].regression)
			continue;
		sig_add(out, len, regressed ? "+" : "new:regression:");
		sig_add(out, len, r->known[i].entry->id);
		regressed = true;
	}
	if (regressed)
		return;
	/* One kind names the failure: the gravest of the new ones. The
	 * other kinds a root cause brings along vary from seed to seed (a
	 * lost update here, a read that matches no state there), so the set
	 * would split one cause into many signatures. */
	const char *primary = new_kinds[0];
	for (uint32_t i = 1; i < new_kind_count; i++)
		if (kind_rank(new_kinds[i]) < kind_rank(primary) ||
		    (kind_rank(new_kinds[i]) == kind_rank(primary) &&
		     strcmp(new_kinds[i], primary) < 0))
			primary = new_kinds[i];
	sig_add(out, len, "new:");
	sig_add(out, len, primary);
	sig_add(out, len, "@");
	sig_add(out, len, triage_journal_class(cfg->journal_mode));
	sig_add(out, len, ",");
	sig_add(out, len, world_faults_name(cfg->faults));
	if (cfg->vfs_bug != SIMVFS_BUG_NONE) {
		sig_add(out, len, ",vfs-bug=");
		sig_add(out, len, simvfs_bug_names[cfg->vfs_bug]);
	}
	if (cfg->target == WORLD_TARGET_MEMORY_SHARED)
		sig_add(out, len, ",target=memory-shared");
	if (cfg->target == WORLD_TARGET_THREADS)
		sig_add(out, len, ",target=threads");
	if (cfg->target == WORLD_TARGET_PROCESSES)
		sig_add(out, len, ",target=processes");
}

/* Count one more violation excused by reason (listed once per reason). */
static void count_expected(struct triage_result *out, const char *reason)
{
	uint32_t k = 0;
	while (k < out->expected_count && strcmp(out->expected[k].reason, reason) != 0)
		k++;
	if (k == out->expected_count)
		out->expected[out->expected_count++].reason = reason;
	out->expected[k].violations++;
}

/* Count one more violation recognised as catalogue entry e (listed once
 * per entry, with whether the SQLite tested is in its version range and
 * whether it is a regression there). */
static void count_known(struct triage_result *out, const struct triage_entry *e)
{
	uint32_t k = 0;
	while (k < out->known_count && out->known[k].entry != e)
		k++;
	if (k == out->known_count) {
		out->known[out->known_count].entry = e;
		out->known[out->known_count].in_range =
			triage_version_in_range(e, out->sqlite_version_number);
		out->known[out->known_count].regression =
			triage_version_regressed(e, out->sqlite_version_number);
		out->known_count++;
	}
	out->known[k].violations++;
}

/* One run being triaged. */
struct triage_ctx {
	const struct triage_catalog *cat;
	const bool *rec;                 /* per entry: this run recognises it */
	const struct world_config *cfg;
	const struct world_result *res;
	struct triage_result *out;
};

/* Label one oracle violation: expected when the configuration excuses
 * it (never on a planted VFS defect: the defect, not the configuration,
 * may be what broke the promise), known when a recognised entry explains
 * it and has it in scope, else new. A recognised entry on a version at
 * or past the one it was measured fixed in makes the violation new, with
 * the entry named: a fix that came undone is news, and a night that shows
 * it must not pass as known. True when new. */
static bool label_violation(const struct triage_ctx *t, const struct oracle_violation *v,
			    struct triage_vlabel *l)
{
	const struct triage_catalog *cat = t->cat;
	if (v->expected && t->cfg->vfs_bug == SIMVFS_BUG_NONE) {
		l->label = TRIAGE_EXPECTED;
		l->reason = v->expected_reason ? v->expected_reason : "expected";
		count_expected(t->out, l->reason);
		return false;
	}
	for (uint32_t e = 0; e < cat->entry_count && l->entry == NULL; e++)
		if (t->rec[e] && explains(&cat->entries[e], v->kind) &&
		    in_scope(&cat->entries[e], v, t->res))
			l->entry = &cat->entries[e];
	if (l->entry == NULL) {
		l->label = TRIAGE_NEW;
		return true;
	}
	count_known(t->out, l->entry);
	if (triage_version_regressed(l->entry, t->out->sqlite_version_number)) {
		l->label = TRIAGE_NEW;
		return true;
	}
	l->label = TRIAGE_KNOWN;
	return false;
}

/* The run's label, the most severe of its violations', checked against
 * the counts: every violation is new, known or expected (a regression's
 * violations are counted under its entry and as new). */
static void run_label(struct triage_result *out)
{
	uint32_t known_violations = 0, expected_violations = 0;
	for (uint32_t k = 0; k < out->known_count; k++)
		if (!out->known[k].regression)
			known_violations += out->known[k].violations;
	for (uint32_t k = 0; k < out->expected_count; k++)
		expected_violations += out->expected[k].violations;
	WH_ASSERT_EQ(out->new_count + known_violations + expected_violations, out->label_count);
	out->label = out->new_count > 0        ? TRIAGE_NEW
		     : out->known_count > 0    ? TRIAGE_KNOWN
		     : out->expected_count > 0 ? TRIAGE_EXPECTED
					       : TRIAGE_PASS;
}

void triage_run(const struct triage_catalog *cat, const struct world_config *cfg,
		const struct world_result *res, const struct oracle_report *rep,
		int sqlite_version_number, struct triage_result *out)
{
	WH_ASSERT(cat != NULL && cfg != NULL && res != NULL && out != NULL);
	memset(out, 0, sizeof *out);
	out->sqlite_version_number = sqlite_version_number;
	triage_version_format(sqlite_version_number, out->sqlite_version,
			      sizeof out->sqlite_version);

	/* Which entries this run recognises, decided once per entry. */
	bool *rec = wh_calloc(cat->entry_count + 1, sizeof *rec);
	out->applicable = wh_calloc(cat->entry_count + 1, sizeof *out->applicable);
	for (uint32_t i = 0; i < cat->entry_count; i++) {
		const struct triage_entry *e = &cat->entries[i];
		rec[i] = recognised(e, cfg, res, rep);
		if (config_holds(e, cfg) && triage_version_in_range(e, sqlite_version_number))
			out->applicable[out->applicable_count++] = e;
	}

	uint32_t vcount = rep ? rep->violation_count : 0;
	out->label_count = res->finding_count + vcount;
	out->labels = wh_calloc(out->label_count + 1, sizeof *out->labels);
	out->known = wh_calloc(cat->entry_count + 1, sizeof *out->known);
	out->expected = wh_calloc(vcount + 1, sizeof *out->expected);
	const char **new_kinds = wh_calloc(out->label_count + 1, sizeof *new_kinds);
	uint32_t new_kind_count = 0;

	/* The engine's own findings are always new. */
	for (uint32_t i = 0; i < res->finding_count; i++) {
		out->labels[i].label = TRIAGE_NEW;
		new_kinds[new_kind_count++] = res->findings[i].kind;
	}
	const struct triage_ctx t = {cat, rec, cfg, res, out};
	for (uint32_t i = 0; i < vcount; i++) {
		const struct oracle_violation *v = &rep->violations[i];
		if (label_violation(&t, v, &out->labels[res->finding_count + i]))
			new_kinds[new_kind_count++] = v->kind;
	}
	out->new_count = new_kind_count;
	qsort(out->known, out->known_count, sizeof *out->known, cmp_known);
	qsort(out->expected, out->expected_count, sizeof *out->expected, cmp_expected);
	run_label(out);
	make_signature(out, cfg, new_kinds, new_kind_count);
	WH_ASSERT((out->label == TRIAGE_PASS) == (out->signature[0] == '\0'));
	free(new_kinds);
	free(rec);
}

void triage_result_free(struct triage_result *r)
{
	free(r->labels);
	free(r->known);
	free(r->expected);
	free(r->applicable);
	memset(r, 0, sizeof *r);
}
