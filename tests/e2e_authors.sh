#!/bin/sh
# End-to-end tests of what a workload author writes and reads: :client_id
# and \persist variables across a connection's transactions (the
# job-queue built-in under the oracle, honest and with a planted lock
# defect), the load-time errors' positions and suggestions, and run
# --help. (\expect and the per-template statistics: tests/e2e.sh.)
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines.
set -u
W=${1:-bin/whopper}
. "$(dirname "$0")/tap.sh"
verdict_of() { sed -n 's/.*"verdict": "\([a-z]*\)".*/\1/p'; }

# --- :client_id and \persist -------------------------------------------
# Each connection counts its own committed bumps in a \persist variable
# and writes the count into its row (:client_id); the row also counts
# the bumps the database saw. They agree only if the variable forgets
# what a transaction that did not commit gave it (busy aborts here).
printf '%s\n' '\description per-connection counters' '\param workers 4' '\persist n 0' \
	'\setup' 'CREATE TABLE c(worker INTEGER PRIMARY KEY, n INTEGER NOT NULL, log INTEGER NOT NULL);' \
	'WITH RECURSIVE w(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM w WHERE i + 1 < :workers)' \
	'INSERT INTO c SELECT i, 0, 0 FROM w;' \
	'\transaction bump @3 deferred' 'SELECT n AS seen FROM c WHERE worker = :client_id \gset' \
	'\set n :n + 1' 'UPDATE c SET n = :n, log = log + 1 WHERE worker = :client_id;' \
	'\transaction peek @1' 'SELECT sum(log) FROM c;' \
	'\invariants' 'SELECT count(*) = 0 FROM c WHERE n <> log;' \
	'SELECT count(*) IN (0, :workers) FROM c WHERE log > 0;' >"$tmp/count.sql"
"$W" run --seed 1 --workload "$tmp/count.sql" --connections 4 --txns 400 --json >"$tmp/count.json" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && [ "$(verdict_of <"$tmp/count.json")" = pass ] &&
	grep -q '"name": "bump", "attempts": [0-9]*, "committed": [0-9]*, "aborted": [0-9]*, "rolled_back": 0, "busy": [1-9][0-9]*' "$tmp/count.json"
check $? "a \\persist counter keeps only what committed transactions gave it, and :client_id is each connection's own number (exit $rc, busy aborts among them)"
"$W" run --seed 1 --workload "$tmp/count.sql" --connections 3 --txns 60 --json 2>/dev/null | grep -q '"kind": "reference_invariant"'
check $? "with fewer connections than workers some row is never bumped: the invariant over :client_id rows fails (the check can fail)"

# --- the job-queue built-in ---------------------------------------------
# A worker claims a job (UPDATE ... RETURNING into a \persist variable)
# and completes its own claim in a later transaction. The oracle replays
# the recorded bound values, so it needs nothing more to check it.
bad=0
for cfg in "--seed 1" "--seed 2 --journal delete --connections 8" \
	"--seed 3 --scheduler pct" "--seed 4 --faults crash --synchronous normal" \
	"--seed 5 --faults io --journal truncate"; do
	# shellcheck disable=SC2086
	"$W" run --workload job-queue $cfg --json >"$tmp/jq.json" 2>/dev/null; rc=$?
	if [ $rc -ne 0 ] || [ "$(verdict_of <"$tmp/jq.json")" != pass ] ||
		grep -q '"outcome": "\(never_commits\|unexpected_errors\)"' "$tmp/jq.json"; then
		echo "# job-queue $cfg: exit $rc"
		bad=$((bad + 1))
	fi
done
[ $bad -eq 0 ]; check $? "job-queue passes the oracle on honest configurations, with no unexpected error"
"$W" run --workload job-queue --seed 1 --txns 300 --trace "$tmp/jq.trace" --quiet; rc=$?
claims=$(grep -c "stmt rc=101 sql=UPDATE jq_jobs SET state = 'claimed'" "$tmp/jq.trace")
done_=$(grep -c "stmt rc=101 sql=INSERT INTO jq_done" "$tmp/jq.trace")
[ $rc -eq 0 ] && [ "$claims" -gt 20 ] && [ "$done_" -gt 20 ]
check $? "job-queue workers claim jobs and complete their own claims ($claims claims, $done_ completions)"
"$W" run --workload job-queue --seed 1 --connections 6 --journal delete --vfs-bug no-locks --json >"$tmp/jqbug.json" 2>/dev/null; rc=$?
[ $rc -eq 1 ] && [ "$(verdict_of <"$tmp/jqbug.json")" = fail ]
check $? "job-queue fails with --vfs-bug no-locks: two workers claim one job (exit $rc)"

# workloads/README.md's job queue, as the README shows it: its summary
# lines are the ones printed there.
readme=$(dirname "$0")/../workloads/README.md
sed -n '/^`jobs.sql`:$/,/^```$/p' "$readme" | sed '1,3d;$d' >"$tmp/jobs.sql"
grep -v '^.expect constraint_trigger$' "$tmp/jobs.sql" >"$tmp/jobs-noexpect.sql"
"$W" run --workload "$tmp/jobs-noexpect.sql" --seed 1 --connections 4 --txns 500 >"$tmp/jobs1.out" 2>&1; rc1=$?
"$W" run --workload "$tmp/jobs.sql" --seed 1 --connections 4 --txns 500 >"$tmp/jobs2.out" 2>&1; rc2=$?
# The README's line matching $1 (one, not empty) is in output file $2.
shown() {
	line=$(sed -n "$1" "$readme" | sed 's/^    //')
	[ -n "$line" ] && [ "$(echo "$line" | wc -l)" -eq 1 ] && grep -qF -- "$line" "$2"
}
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ "$(wc -l <"$tmp/jobs.sql")" -gt 30 ] &&
	shown '/^      WARNING template cancel aborted/p' "$tmp/jobs1.out" &&
	shown '/^        cancel  *61  *5  *56: 0 \/ 1 \/ 0 \/ 55/p' "$tmp/jobs1.out" &&
	shown '/^        cancel  *61  *5  *56: 0 \/ 1 \/ 55 \/ 0/p' "$tmp/jobs2.out" &&
	! grep -q WARNING "$tmp/jobs2.out"
check $? "workloads/README.md's job queue prints what the README shows, without and with the line that expects the trigger's error"

# --- load-time errors: one line FILE:LINE:COL, exit 2 -------------------
printf '%s\n' '\setup' 'CREATE TABLE t(a INTEGER, b INTEGER);' '\transaction bump' \
	'UPDATE t SET a = a + 1' 'SELECT b FROM t;' >"$tmp/semi.sql"
"$W" workloads check "$tmp/semi.sql" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	grep -q "semi.sql:5:1: near \"SELECT\": syntax error (is the ';' missing at the end of line 4?)$" "$tmp/err"
check $? "a missing ';' is reported at the token it ran into, naming the line that lacks it (exit $rc: $(cat "$tmp/err"))"
printf '%s\n' '\transaction t' '\gest' 'SELECT 1;' >"$tmp/meta.sql"
"$W" workloads check "$tmp/meta.sql" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "meta.sql:2:1: unknown meta-command '.gest' (did you mean .gset?)$" "$tmp/err"
check $? "an unknown meta-command offers the closest one ($(cat "$tmp/err"))"
"$W" run --workload job-quuee >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "unknown workload 'job-quuee' (did you mean job-queue?)$" "$tmp/err"
check $? "an unknown workload name offers the closest built-in ($(cat "$tmp/err"))"
"$W" run --help | grep -q -- '--workload NAME|FILE' && "$W" run --help | grep -q 'INCLUDE/NAME=VALUE'
check $? "run --help says --workload takes a file's path too, and how to set an include's parameter"

echo "1..$n"
[ $fails -eq 0 ]
