#!/bin/sh
# End-to-end tests of the whopper binary: the CLI contract, exit codes,
# determinism of the trace hash, and that bad input writes nothing.
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines.
set -u
W=${1:-bin/whopper}
. "$(dirname "$0")/tap.sh"
hash_of() { sed -n 's/.*"trace_hash": "\([0-9a-f]*\)".*/\1/p'; }

out=$("$W" run --seed 7 --workload bank --connections 8 --txns 300 --json)
rc=$?
check $rc "run --json exits 0 on an honest run"
for key in seed workload verdict trace_hash stats txns_committed txns_aborted statements vfs_ops sim_time_ms timing run_s check_s violations repro; do
	echo "$out" | grep -q "\"$key\"" || { nok "json has key $key"; continue; }
done
ok "json has every key of the CLI contract"
echo "$out" | grep -q '"verdict": "pass"'; check $? "honest run verdict is pass"

h1=$(echo "$out" | hash_of)
h2=$("$W" run --seed 7 --workload bank --connections 8 --txns 300 --json | hash_of)
h3=$("$W" run --seed 8 --workload bank --connections 8 --txns 300 --json | hash_of)
[ -n "$h1" ] && [ "$h1" = "$h2" ]; check $? "same seed and flags give the same trace hash ($h1)"
[ -n "$h3" ] && [ "$h1" != "$h3" ]; check $? "another seed gives another trace hash"

echo "$out" | grep -q '"check_concurrent": true'
check $? "an honest fault-free run is checked by the concurrent check"
s1=$("$W" run --seed 7 --workload bank --connections 8 --txns 300 --json --serial-check)
echo "$s1" | grep -q '"check_concurrent": false' && [ "$(echo "$s1" | hash_of)" = "$h1" ] &&
	echo "$s1" | grep -q '"verdict": "pass"'
check $? "--serial-check: the same trace hash and verdict, checked after the run"
v1=$("$W" run --seed 2 --workload bank --connections 4 --txns 200 --vfs-bug no-shm-locks --json |
	sed -n 's/.*"verdict": "\([a-z]*\)".*/\1/p')
v2=$("$W" run --seed 2 --workload bank --connections 4 --txns 200 --vfs-bug no-shm-locks --json --serial-check |
	sed -n 's/.*"verdict": "\([a-z]*\)".*/\1/p')
[ "$v1" = fail ] && [ "$v2" = fail ]; check $? "a planted lock bug fails with and without the concurrent check"

"$W" run --connections 0 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- '--connections' "$tmp/err"
check $? "a bad flag value is a one-line error naming the flag, exit 2"
"$W" run --no-such-flag >/dev/null 2>&1; [ $? -eq 2 ]; check $? "an unknown flag exits 2"
"$W" run --workload nope >/dev/null 2>&1; [ $? -eq 2 ]; check $? "an unknown workload exits 2"

"$W" run --seed 3 --txns 50 --trace "$tmp/t.txt" --quiet; rc=$?
[ $rc -eq 0 ] && grep -q 'op=write' "$tmp/t.txt" && grep -q 'op=shm_lock' "$tmp/t.txt"
check $? "--trace writes one line per event"
"$W" run --seed 3 --txns 50 --trace "$tmp/nodir/t.txt" --quiet 2>/dev/null; rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/nodir" ]; check $? "an unwritable --trace path exits 2 and writes nothing"
ls "$tmp" | grep -q tmp; [ $? -ne 0 ]; check $? "no temporary trace file is left behind"

"$W" workloads list | grep -q '^bank'; check $? "workloads list names bank"

# --- \requires: the SQLite a workload needs ---------------------------
"$W" workloads list | grep -q '^ddl-churn .*\[SQLite 3\.35\.0+\]$' &&
	"$W" workloads list | grep -q '^list-append .*keys$'
check $? "workloads list shows what a built-in needs (nothing when it needs no more than whopper drives)"
"$W" workloads show default >"$tmp/show.txt"
grep -q '^-- include ddl-churn requires SQLite 3.35.0 (ALTER TABLE DROP COLUMN), workloads/ddl-churn.sql:[0-9]*: left out on an older SQLite$' "$tmp/show.txt" &&
	"$W" workloads show rw-register | grep -q '^-- requires SQLite 3.24.0 (UPSERT: INSERT ... ON CONFLICT DO UPDATE), workloads/rw-register.sql:[0-9]*$'
check $? "workloads show names the workload's requirement and its includes'"
printf '%s\n' '\description needs a future SQLite' '\requires sqlite 3.99.0 a feature from the future' \
	'\transaction t' 'SELECT 1;' >"$tmp/future.sql"
"$W" run --seed 1 --txns 10 --workload "$tmp/future.sql" --record "$tmp/future.whop" >"$tmp/out" 2>"$tmp/err"; rc=$?
linked=$("$W" run --seed 1 --txns 1 --json | sed -n 's/.*"sqlite": {"version": "\([^"]*\)".*/\1/p')
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ] && [ ! -e "$tmp/future.whop" ] &&
	grep -q "^whopper: --workload $tmp/future.sql: $tmp/future.sql:2: needs SQLite 3.99.0 (a feature from the future); the target is SQLite $linked (" "$tmp/err"
check $? "run of a workload needing a newer SQLite: one line naming its requires line, the versions and why, exit 2, nothing written"
printf '%s\n' '\requires sqlite three' '\transaction t' 'SELECT 1;' >"$tmp/badreq.sql"
"$W" workloads check "$tmp/badreq.sql" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "^$tmp/badreq.sql:1:18: \\\\requires: invalid SQLite version 'three'" "$tmp/err"
check $? "a bad requires line is a FILE:LINE:COL error, exit 2"
"$W" run --seed 4 --txns 200 --json | grep -q '"includes_left_out": \[\]'
check $? "--json: includes_left_out is empty when the target meets every requirement"
"$W" run --help | grep -q -- '--pct-depth'; check $? "run --help documents the flags"

for j in delete truncate persist memory; do
	"$W" run --seed 5 --txns 150 --connections 4 --journal $j --quiet; check $? "journal mode $j passes the oracle"
done
for s in rr pct; do
	"$W" run --seed 5 --txns 150 --connections 4 --scheduler $s --quiet; check $? "scheduler $s passes the oracle"
done

# --- triage: known findings, --known files --------------------------
"$W" run --seed 3 --txns 20 --device tin >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- '--device' "$tmp/err"
check $? "an unknown --device: one line naming the flag, exit 2"
"$W" run --seed 3 --txns 20 --journal wal --device non-powersafe 2>&1 | grep -q -- 'repro: .*--device non-powersafe'
check $? "a run on a non-powersafe device says so in its repro line"
# After a power loss the recovery check opens the database alone; its
# close must not end the WAL (as the last connection out it would
# checkpoint and delete it, and no run would go on with a WAL that
# survived a crash): the restarted connections find the WAL and rebuild
# its index among themselves, reading it before anyone writes to it.
"$W" run --seed 3 --workload counter --connections 4 --txns 300 --journal wal --faults crash \
	--trace "$tmp/crash.trace" --quiet
awk '/ power-loss lost=/ { inrec = 1 }
inrec && /conn=-1 op=delete file=whopper.db-wal/ { bad = 1 }
/ recovered rc=0/ { inrec = 0; n++; after = 1; next }
after && /conn=[0-9]+ op=(read|write) file=whopper.db-wal/ { if ($3 == "op=read") reads++; after = 0 }
END { exit !(n > 0 && !bad && reads == n) }' "$tmp/crash.trace"
check $? "a WAL survives the recovery check after each power loss, and the restarted connections read it first"
# synchronous=OFF: a commit is visible before it is durable. This seed
# has a reader see the write of a COMMIT that a power loss then cuts and
# takes away, which SQLite does not promise against there (it was
# labelled new before the rule covered it). The oracle may explain it as
# an aborted read (G1a) or, taking the cut COMMIT as committed and lost
# in the power loss, as reads after it that the lost commit spoils; either
# way every violation is expected and none new.
out=$("$W" run --seed 317 --workload counter --connections 16 --txns 500 --journal wal --synchronous off \
	--scheduler pct --pct-depth 3 --faults chaos --json)
rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q '"expected": true, "label": "expected", "reason": "no-durability-promise"' &&
	! echo "$out" | grep -q '"label": "new"' &&
	echo "$out" | grep -q '"signature": "expected:no-durability-promise"'
check $? "synchronous=OFF: a read of a commit a power loss cut and took away is expected, not new (exit $rc)"
# A statement that never ends (and never yields to the scheduler) is
# stopped at the step budget and reported; the run goes on and ends.
printf '%s\n' '\description an endless recursive query' '\setup' \
	'CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER NOT NULL);' 'INSERT INTO t VALUES (1, 0);' \
	'\transaction bump @3' 'UPDATE t SET v = v + 1 WHERE id = 1;' \
	'\transaction forever @1' \
	'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r;' \
	>"$tmp/loop.sql"
timeout 120 "$W" run --seed 1 --workload "$tmp/loop.sql" --connections 3 --txns 20 --step-budget 200000 --json >"$tmp/loop.json" 2>/dev/null; rc=$?
[ $rc -eq 1 ] && grep -q '"kind": "runaway_statement"' "$tmp/loop.json" &&
	grep -q 'did not finish within 200000 virtual-machine steps' "$tmp/loop.json" &&
	grep -q '"signature": "new:runaway_statement@' "$tmp/loop.json"
check $? "a statement that never ends is stopped at --step-budget and reported as runaway_statement (exit 1)"
timeout 120 "$W" run --seed 1 --workload "$tmp/loop.sql" --connections 3 --txns 20 --step-budget 200000 2>&1 | grep -q -- 'repro: .*--step-budget 200000'
check $? "the repro line keeps a non-default --step-budget"
# Without a step budget, --time-limit is the backstop: it names the phase
# and exits 1 as for a hang, leaving no half-written trace.
timeout 120 "$W" run --seed 1 --workload "$tmp/loop.sql" --connections 3 --txns 20 --step-budget 0 \
	--time-limit 2 --trace "$tmp/tl.trace" >"$tmp/tl.out" 2>"$tmp/tl.err"; rc=$?
[ $rc -eq 1 ] && grep -q '^whopper: --time-limit 2 s reached while the connections ran: a hang .*repro: bin/whopper run --seed 1 ' "$tmp/tl.err" &&
	[ ! -e "$tmp/tl.trace" ] && [ -z "$(find "$tmp" -name 'tl.trace.tmp*')" ]
check $? "--time-limit stops a run that never ends, naming the phase, exit 1, no trace left half-written (exit $rc)"
# A template whose every attempt fails is named, with its error, in the
# summary and in --json, although the run itself passes.
printf '%s\n' '\description a template that always violates a constraint' '\setup' \
	'CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER NOT NULL UNIQUE);' 'INSERT INTO t VALUES (1, 1);' \
	'\transaction bump @3' 'UPDATE t SET v = v + 1 WHERE id = 1;' \
	'\transaction dup @1' 'INSERT INTO t(v) SELECT v FROM t WHERE id = 1;' >"$tmp/dup.sql"
"$W" run --seed 1 --workload "$tmp/dup.sql" --connections 3 --txns 60 >"$tmp/dup.out" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q 'WARNING template dup never committed in [0-9]* attempts (SQLITE_CONSTRAINT_UNIQUE x[0-9]* unexpected)' "$tmp/dup.out" &&
	! grep -q 'WARNING template bump' "$tmp/dup.out"
check $? "a template that never commits is a warning in the summary, naming its error; a healthy one is not"
"$W" run --seed 1 --workload "$tmp/dup.sql" --connections 3 --txns 60 --json >"$tmp/dup.json" 2>/dev/null
grep -q '"name": "dup", "attempts": [0-9]*, "committed": 0,.*"abort_codes": {"2067": [0-9]*}, "expected_abort_codes": {}, "unexpected_abort_codes": {"2067": [0-9]*}, .*"outcome": "never_commits"' "$tmp/dup.json" &&
	grep -q '"name": "bump", .*"outcome": "ok"' "$tmp/dup.json"
check $? "--json lists every template with its attempts, commits and abort codes, and labels the one that never commits"
# An error the workload declares with \expect is the workload working as
# written: the template that always meets it is not warned about. An
# error it does not declare is named as unexpected, with the first
# transaction, statement and values that met it.
sed 's/^INSERT INTO t(v) SELECT v FROM t WHERE id = 1;$/& \\expect constraint_unique/' "$tmp/dup.sql" >"$tmp/dupx.sql"
printf '%s\n' '\transaction clash @1' '\set id random(1, 1)' \
	'INSERT INTO t(id, v) VALUES (:id, 100);' '\expect constraint_unique' >>"$tmp/dupx.sql"
"$W" run --seed 1 --workload "$tmp/dupx.sql" --connections 3 --txns 60 >"$tmp/dupx.out" 2>&1; rc=$?
[ $rc -eq 0 ] && ! grep -q 'WARNING template dup' "$tmp/dupx.out" &&
	grep -q '^    dup  *[0-9]*      0  *[0-9]*: 0 / [0-9]* / [1-9][0-9]* / 0, 0;' "$tmp/dupx.out" &&
	grep -q 'WARNING template clash never committed in [0-9]* attempts (SQLITE_CONSTRAINT_PRIMARYKEY x[0-9]* unexpected)' "$tmp/dupx.out" &&
	grep -q "WARNING template clash aborted with errors it does not .expect: SQLITE_CONSTRAINT_PRIMARYKEY x[0-9]* (first T[0-9]* clash.1 with ?1=1)" "$tmp/dupx.out"
check $? "an error the workload declares expected is not warned about; an undeclared one is named as unexpected with its first statement and values (exit $rc)"
"$W" run --seed 1 --workload "$tmp/dupx.sql" --connections 3 --txns 60 --json >"$tmp/dupx.json" 2>/dev/null
grep -q '"name": "dup", .*"expected_abort_codes": {"2067": [0-9]*}, "unexpected_abort_codes": {}, "unexpected_errors": \[\], "outcome": "ok"' "$tmp/dupx.json" &&
	grep -q '"name": "clash", .*"unexpected_abort_codes": {"1555": [0-9]*}, "unexpected_errors": \[{"code": 1555, "name": "SQLITE_CONSTRAINT_PRIMARYKEY", "count": [0-9]*, "first_txn": [0-9]*, "statement": "clash.1", "params": \["1"\]}\], "outcome": "never_commits"' "$tmp/dupx.json"
check $? "--json lists expected and unexpected abort codes per template, with the first statement of each unexpected one"
"$W" run --seed 1 --workload inventory --connections 6 --txns 400 >"$tmp/invx.out" 2>&1
"$W" run --seed 1 --workload inventory --connections 6 --txns 400 --faults io >>"$tmp/invx.out" 2>&1
! grep -q WARNING "$tmp/invx.out" && grep -q '^    signup .* / [1-9][0-9]* / 0, 0;' "$tmp/invx.out"
check $? "the built-ins declare the errors they meet by design (inventory: no warning, its constraint errors expected), and under --faults the faults' errors are expected"
# A failing invariant shows the rows it counts and says whether the
# serial reference fails it too: an invariant no serial execution keeps
# is the workload's mistake, not the database's.
printf '%s\n' '\description an invariant that serial execution breaks' '\setup' \
	'CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER NOT NULL);' 'INSERT INTO t VALUES (1, 0), (2, 0);' \
	'\transaction bump @1' 'UPDATE t SET v = v + 1 WHERE id = 1;' \
	'\invariants' 'SELECT count(*) = 0 FROM t WHERE v > 3;' >"$tmp/inv.sql"
"$W" run --seed 1 --workload "$tmp/inv.sql" --connections 2 --txns 10 --json >"$tmp/inv.json" 2>/dev/null; rc=$?
[ $rc -eq 1 ] && grep -q '"kind": "reference_invariant"' "$tmp/inv.json" &&
	grep -q 'is false on the target: it returned 0; rows it counts: (1, 10); on the serial reference too (it returned 0), .*the workload is the likely cause' "$tmp/inv.json" &&
	! grep -q '"kind": "invariant"' "$tmp/inv.json"
check $? "an invariant the serial reference fails too is reference_invariant (the workload's mistake), with the rows it counts"
"$W" run --seed 1 --workload inventory --connections 6 --txns 400 --vfs-bug no-locks --journal delete --json >"$tmp/inv2.json" 2>/dev/null
grep -q '"kind": "invariant", .*is false on the target: it returned 0; rows it counts[^;]*: ([0-9]*, [0-9]*, [0-9]*, .[a-z]*.)[^;]*; the serial reference holds it' "$tmp/inv2.json"
check $? "an invariant only the target fails (a planted lock defect) shows the rows it counts and that the serial reference holds it"
# Interleaving coverage: printed per run, the same on replay.
"$W" run --seed 4 --workload bank --connections 6 --txns 120 --record "$tmp/cov.whop" --json >"$tmp/cov1.json" 2>/dev/null
"$W" replay "$tmp/cov.whop" --json >"$tmp/cov2.json" 2>/dev/null
c1=$(grep -o '"coverage": {"points": [0-9]*, "reached": \[[0-9, ]*\]}' "$tmp/cov1.json")
c2=$(grep -o '"coverage": {"points": [0-9]*, "reached": \[[0-9, ]*\]}' "$tmp/cov2.json")
[ -n "$c1" ] && [ "$c1" = "$c2" ] && ! echo "$c1" | grep -q '"points": 0,'
check $? "--json prints the run's interleaving coverage, and a replay reaches the same points"
"$W" findings list >"$tmp/list"
[ $? -eq 0 ] && grep -q '^stale-schema-no-such-table$' "$tmp/list" &&
	grep -q '^hot-journal-taken-for-live$' "$tmp/list" &&
	grep -q '^wal-non-powersafe-commit-loss$' "$tmp/list" && grep -q 'test: tests/test_findings.c:' "$tmp/list"
check $? "findings list prints the shipped catalogue with versions, titles and tests"
STALE="--workload ddl-churn --journal truncate --connections 7 --txns 2000 --scheduler rr --pragma page_size=1024 --seed 1"
# shellcheck disable=SC2086
out=$("$W" run $STALE --json)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q '"label": "known", "finding": "stale-schema-no-such-table"' &&
	echo "$out" | grep -q '"triage": {"label": "known", "signature": "known:stale-schema-no-such-table"' &&
	echo "$out" | grep -q '}, "signature": "known:stale-schema-no-such-table", "repro"' &&
	echo "$out" | grep -q '"evidence": {"hot_journal_taken_for_live": 0, "wal_reset_stale_checkpoint": 0, "torn_outside_write": 0, "txn_lost_under_statement": 0}'
check $? "the stale-schema run is labelled known in --json, exit 1 (exit $rc)"
# shellcheck disable=SC2086
"$W" run $STALE | grep -q '^  VIOLATION \[known: stale-schema-no-such-table\] stale_schema_error: ' &&
	"$W" run $STALE | grep -q '^  triage: known (stale-schema-no-such-table: '
check $? "the summary labels each violation and prints the triage line"
printf 'finding mine\ntitle t\nversions 3000000-3000001\njournal truncate\nevidence kind stale_schema_error\nexplains stale_schema_error\nmechanism m\ntest a.c:b\n' >"$tmp/mine.txt"
printf 'finding mine\ntitle t\nversions soon\n' >"$tmp/bad.txt"
# shellcheck disable=SC2086
"$W" run $STALE --known "$tmp/bad.txt" --record "$tmp/bad.whop" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "bad.txt:3: 'versions'" "$tmp/err" &&
	[ ! -e "$tmp/bad.whop" ] && [ ! -s "$tmp/out" ]
check $? "a bad --known file: one line FILE:LINE on stderr, exit 2, nothing written ($(cat "$tmp/err"))"
"$W" findings list --known "$tmp/mine.txt" | grep -q '^mine$'
check $? "findings list --known FILE adds the user's entries"
# What each shipped finding gave on the real targets is recorded.
[ "$(grep -c '^  real threads: not recorded' "$tmp/list")" -eq 0 ] &&
	[ "$(grep -c '^  real processes: not recorded' "$tmp/list")" -eq 0 ] &&
	grep -q '^  real threads: not reproduced: ' "$tmp/list" &&
	grep -q '^  real processes: not applicable: ' "$tmp/list"
check $? "findings list gives every shipped finding's result on real threads and processes"
printf 'finding mine\ntitle t\nversions 3000000-3000001\nevidence kind x\nexplains x\nmechanism m\ntest a.c:b\ndifferential cloud reproduced quickly\n' >"$tmp/badd.txt"
"$W" findings list --known "$tmp/badd.txt" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "badd.txt:8: 'differential': target 'cloud'" "$tmp/err"
check $? "a differential line naming another target: one line FILE:LINE, exit 2"
# An entry measured fixed before this SQLite: a run that shows it is a
# regression, new (exit 1), the entry named; without its fixed line the
# same run is known.
DIRTY="--seed 1 --workload bank --target memory-shared --connections 4 --txns 60 --pragma read_uncommitted=1"
entry='finding old-dirty\ntitle t\nversions 3000000-3000001\n%btarget memory-shared\nevidence kind dirty_read\nexplains *\nmechanism m\ntest a.c:b\n'
# shellcheck disable=SC2059
printf "$entry" 'fixed 3000002\n' >"$tmp/fixed.txt"
# shellcheck disable=SC2059
printf "$entry" '' >"$tmp/unfixed.txt"
# shellcheck disable=SC2086
"$W" run $DIRTY --known "$tmp/fixed.txt" --json >"$tmp/reg.json" 2>/dev/null
rc=$?
[ $rc -eq 1 ] && grep -q '"triage": {"label": "new", "signature": "new:regression:old-dirty"' "$tmp/reg.json" &&
	grep -q '"label": "new", "regression": "old-dirty"' "$tmp/reg.json" &&
	grep -q '"id": "old-dirty", "title": "t", "in_range": false, "regression": true' "$tmp/reg.json"
check $? "a match at or past an entry's fixed version is a regression: new, naming it, in --json (exit $rc)"
# shellcheck disable=SC2086
"$W" run $DIRTY --known "$tmp/fixed.txt" >"$tmp/reg.out" 2>&1
grep -q '^  VIOLATION \[new: regression of old-dirty\] ' "$tmp/reg.out" &&
	grep -q '^  triage: NEW ([0-9]* new violations*; regression of old-dirty: t \[measured fixed in 3.0.2: this is 3\.' "$tmp/reg.out"
check $? "the summary labels a regression's violations and names it on the triage line"
# shellcheck disable=SC2086
"$W" run $DIRTY --known "$tmp/unfixed.txt" --json >"$tmp/reg.json" 2>/dev/null
rc=$?
[ $rc -eq 1 ] && grep -q '"triage": {"label": "known", "signature": "known:old-dirty"' "$tmp/reg.json" &&
	grep -q '"in_range": false, "regression": false' "$tmp/reg.json"
check $? "the same entry without a fixed version: known, out of range, no regression (exit $rc)"
"$W" run --seed 7 --workload bank --connections 8 --txns 300 --json --known "$tmp/mine.txt" | grep -q '"triage": {"label": "pass", "signature": ""'
check $? "an honest run's triage is pass with an empty signature"

echo "1..$n"
[ $fails -eq 0 ]
