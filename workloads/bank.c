/*
 * bank.c - the first built-in workload, coded in C: transfers between
 * accounts and read-only audits of the total.
 *
 * Transfers are read-modify-write: the debit reads the source balance and
 * writes back a value computed from what it read, so a lost update changes
 * the total. Single-statement transfers run in autocommit mode. Audits read
 * every balance in one snapshot. Invariant: the total never changes.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "wh.h"
#include "workload.h"

#define BANK_ACCOUNTS 10
#define BANK_INITIAL 1000

static const char bank_setup[] =
	"CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);\n"
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<10)\n"
	"INSERT INTO accounts SELECT i, 1000 FROM n;\n";

static const char *const bank_invariants[] = {
	"SELECT sum(balance) = 10000 FROM accounts",
	"SELECT count(*) = 10 FROM accounts",
};

_Static_assert(BANK_ACCOUNTS * BANK_INITIAL == 10000,
	       "invariant text must match the setup");

enum bank_txn { BANK_TRANSFER, BANK_AUDIT, BANK_QUICK };

struct bank_conn {
	enum bank_txn txn;
	uint32_t step;                 /* actions issued in this txn */
	int64_t from, to, amount;
	struct wh_value params[3];
};

static void *bank_conn_new(const struct workload *wl, uint32_t conn_id)
{
	(void)wl;
	(void)conn_id;
	return wh_calloc(1, sizeof(struct bank_conn));
}

static void bank_conn_free(void *cs)
{
	free(cs);
}

static void bank_txn_begin(void *cs, struct wh_prng *rng, const char **name,
			   enum hist_begin *begin)
{
	struct bank_conn *b = cs;
	uint64_t pick = wh_prng_below(rng, 10);
	b->from = wh_prng_range(rng, 1, BANK_ACCOUNTS);
	b->to = wh_prng_range(rng, 1, BANK_ACCOUNTS - 1);
	if (b->to >= b->from)
		b->to++; /* distinct accounts */
	b->amount = wh_prng_range(rng, 1, 50);
	b->step = 0;
	if (pick < 6) {
		b->txn = BANK_TRANSFER;
		*name = "transfer";
		*begin = wh_prng_chance(rng, 1, 3) ? HIST_BEGIN_IMMEDIATE
						   : HIST_BEGIN_DEFERRED;
	} else if (pick < 9) {
		b->txn = BANK_AUDIT;
		*name = "audit";
		*begin = HIST_BEGIN_DEFERRED;
	} else {
		b->txn = BANK_QUICK;
		*name = "quick_transfer";
		*begin = HIST_BEGIN_AUTOCOMMIT;
	}
}

static void set_int(struct wh_value *v, int64_t i)
{
	memset(v, 0, sizeof *v);
	v->type = SQLITE_INTEGER;
	v->i = i;
}

static void stmt(struct wl_action *out, const char *sql, const char *tmpl,
		 uint32_t nparams, const struct wh_value *params)
{
	out->kind = WL_ACT_STMT;
	out->sql = sql;
	out->tmpl = tmpl;
	out->param_count = nparams;
	out->params = params;
}

static void bank_txn_next(void *cs, struct wh_prng *rng, const struct hist_stmt *prev,
			  struct wl_action *out)
{
	struct bank_conn *b = cs;
	(void)rng;
	memset(out, 0, sizeof *out);
	uint32_t step = b->step++;
	switch (b->txn) {
	case BANK_TRANSFER:
		if (step == 0) {
			set_int(&b->params[0], b->from);
			stmt(out, "SELECT balance FROM accounts WHERE id = ?1",
			     "transfer.read", 1, b->params);
		} else if (step == 1) {
			/* \gset: debit what was read, not what is there now */
			int64_t seen = 0;
			if (prev && prev->row_count > 0 && prev->cells[0].type == SQLITE_INTEGER)
				seen = prev->cells[0].i;
			set_int(&b->params[0], seen - b->amount);
			set_int(&b->params[1], b->from);
			stmt(out, "UPDATE accounts SET balance = ?1 WHERE id = ?2",
			     "transfer.debit", 2, b->params);
		} else if (step == 2) {
			set_int(&b->params[0], b->amount);
			set_int(&b->params[1], b->to);
			stmt(out, "UPDATE accounts SET balance = balance + ?1 WHERE id = ?2",
			     "transfer.credit", 2, b->params);
		} else {
			out->kind = WL_ACT_COMMIT;
		}
		break;
	case BANK_AUDIT:
		if (step == 0)
			stmt(out, "SELECT sum(balance) FROM accounts", "audit.sum", 0, NULL);
		else if (step == 1)
			stmt(out, "SELECT id, balance FROM accounts ORDER BY id", "audit.scan",
			     0, NULL);
		else
			out->kind = WL_ACT_COMMIT;
		break;
	case BANK_QUICK:
		WH_ASSERT_EQ(step, 0);
		set_int(&b->params[0], b->from);
		set_int(&b->params[1], b->to);
		set_int(&b->params[2], b->amount);
		stmt(out,
		     "UPDATE accounts SET balance = balance + "
		     "(CASE WHEN id = ?1 THEN -?3 ELSE ?3 END) WHERE id IN (?1, ?2)",
		     "quick_transfer.move", 3, b->params);
		break;
	}
}

static const struct wl_ops bank_ops = {
	.conn_new = bank_conn_new,
	.conn_free = bank_conn_free,
	.txn_begin = bank_txn_begin,
	.txn_next = bank_txn_next,
};

static const struct workload bank = {
	.name = "bank",
	.description = "transfers (read-modify-write) and audits; total invariant",
	.setup_sql = bank_setup,
	.invariants = bank_invariants,
	.invariant_count = sizeof bank_invariants / sizeof bank_invariants[0],
	.ops = &bank_ops,
};

/* Until workload files land, "default" is the bank workload. */
static const struct workload bank_default = {
	.name = "default",
	.description = "the default mix (currently: bank)",
	.setup_sql = bank_setup,
	.invariants = bank_invariants,
	.invariant_count = sizeof bank_invariants / sizeof bank_invariants[0],
	.ops = &bank_ops,
};

static const struct workload *const builtins[] = {&bank_default, &bank};

const struct workload *wl_builtin(uint32_t index)
{
	if (index >= sizeof builtins / sizeof builtins[0])
		return NULL;
	return builtins[index];
}

const struct workload *wl_find(const char *name)
{
	for (uint32_t i = 0; wl_builtin(i) != NULL; i++)
		if (strcmp(wl_builtin(i)->name, name) == 0)
			return wl_builtin(i);
	return NULL;
}

int wl_resolve(const char *name_or_path, const struct workload **out, char *err,
	       size_t err_len)
{
	*out = wl_find(name_or_path);
	if (*out != NULL)
		return 0;
	snprintf(err, err_len, "unknown workload '%s' (see 'whopper workloads list')",
		 name_or_path);
	return 2;
}
