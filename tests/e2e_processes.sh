#!/bin/sh
# End-to-end tests of `whopper run --target processes`: each connection in
# a process of its own on real files, the histories merged back for the
# same oracle as the simulation's.
#
# What it proves: a short run of every built-in workload passes the
# oracle (WAL), and bank with 8 connections on a rollback journal and
# under the io fault profile; the history really comes back (transactions
# checked, the commits counted across processes, every connection in the
# trace); the output says the run is not reproducible and removes its own
# directory on a pass; the oracle is live on this path (the shim that
# drops committed page writes fails the run, the same run without it
# passes); a connection process that dies of a signal is a reported crash
# naming it and the signal, its files kept; a hanging connection process
# is a reported hang, whether it unwinds when drained or must be killed;
# what the target cannot do is refused in one line; differential runs a
# recording on processes when asked.
#
# The planted defects are the threads target's (WHOPPER_TEST_HOOK,
# test-only), acting in the connection's process. Timing: nothing here
# sleeps; the hang tests wait for the one-second watchdog.
#
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines.
set -u
W=${1:-bin/whopper}
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/real_shim.sh"
json_field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" | head -1; }
json_num() { sed -n "s/.*\"$1\": \\([0-9]*\\).*/\\1/p" | head -1; }
TMPDIR=$tmp
export TMPDIR
# A guard against a test hanging for ever if the watchdog itself broke.
limit() { if command -v timeout >/dev/null 2>&1; then timeout 120 "$@"; else "$@"; fi; }

# --- honest runs ---------------------------------------------------------------
for wl in $("$W" workloads list | awk '{print $1}'); do
	out=$(limit "$W" run --target processes --seed 1 --workload "$wl" --connections 4 --txns 40 --json)
	rc=$?
	checked=$(echo "$out" | sed -n 's/.*"txns_checked": \([0-9]*\).*/\1/p')
	[ $rc -eq 0 ] && echo "$out" | grep -q '"verdict": "pass"' && [ "${checked:-0}" -gt 0 ]
	check $? "$wl, 4 connection processes (WAL): the oracle passes it (${checked:-0} txns checked)"
done

out=$(limit "$W" run --target processes --seed 1 --workload bank --connections 8 --txns 120 --journal delete --json)
rc=$?
dir=$(echo "$out" | json_field dir)
committed=$(echo "$out" | json_num txns_committed)
# The per-template counts come from the merged history.
attempts=$(echo "$out" | grep -o '"attempts": [0-9]*' | awk '{s += $2} END {print s + 0}')
[ $rc -eq 0 ] && echo "$out" | grep -q '"verdict": "pass"' && [ "${committed:-0}" -gt 0 ] && [ "$attempts" -eq 120 ]
check $? "bank, 8 connection processes, journal delete: passes, all 120 transactions in the merged history ($committed committed)"
echo "$out" | grep -q '"trace_hash": null' && echo "$out" | grep -q '"reproducible": false' &&
	echo "$out" | grep -q '"target": "processes"' && echo "$out" | grep -q '"coverage": null'
check $? "--json says the run is not reproducible, names the target, claims no trace hash or coverage"
[ -n "$dir" ] && case $dir in "$tmp"/whopper-processes-*) true ;; *) false ;; esac &&
	[ ! -e "$dir" ] && echo "$out" | grep -q '"dir_kept": false'
check $? "the run's own directory ($dir) is removed once it passed"

for j in wal delete; do
	out=$(limit "$W" run --target processes --seed 12 --workload bank --connections 8 --txns 120 --journal $j --faults io --json)
	rc=$?
	faults=$(echo "$out" | json_num faults_injected)
	full=$(echo "$out" | json_num disk_full)
	[ $rc -eq 0 ] && echo "$out" | grep -q '"verdict": "pass"' && [ $((faults + full)) -gt 0 ]
	check $? "--faults io, journal $j: $faults I/O faults and $full disk-full refusals injected, the oracle passes it"
done

out=$(limit "$W" run --target processes --seed 2 --workload counter --connections 3 --txns 30 --trace "$tmp/trace")
rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q '^whopper run: seed 2, workload counter, 3 connections, processes, wal/full' &&
	echo "$out" | grep -q '^  not reproducible: OS scheduling' &&
	echo "$out" | grep -q '^  same configuration (not the same run): bin/whopper run --target processes' &&
	grep -q ' conn=0 op=' "$tmp/trace" && grep -q ' conn=1 op=' "$tmp/trace" && grep -q ' conn=2 op=' "$tmp/trace" &&
	[ "$(grep -c 'txn-commit\|txn-abort' "$tmp/trace")" -eq 30 ]
check $? "the summary names the target; --trace holds every connection process's VFS ops and all 30 transaction ends"

# --- the oracle is live on this path ----------------------------------------------
# A shim that grants every lock without taking it (the simulation's
# --vfs-bug no-locks, on real files): the connections write over each
# other, on a rollback journal and on WAL alike, where honest bank runs
# on this target pass (the tests above).
for j in delete wal; do
	check_no_locks_shim processes $j
done

for j in delete truncate; do
	out=$(WHOPPER_TEST_HOOK=threads-lost-write limit "$W" run --target processes --seed 1 --workload bank \
		--connections 8 --txns 200 --journal $j --synchronous off --json)
	rc=$?
	dir=$(echo "$out" | json_field dir)
	kinds=$(echo "$out" | grep -o '"kind": "[a-z_]*"' | sort -u | tr '\n' ' ')
	[ $rc -eq 1 ] && echo "$out" | grep -Eq '"kind": "(read_mismatch|lost_update|lost_commit|final_state|dirty_read|phantom_commit)"' &&
		! echo "$out" | grep -Eq '"kind": "(hang|crash|setup_failed)"' && [ -s "$dir/whopper.db" ]
	check $? "a shim that drops committed page writes (journal $j) fails the oracle ($kinds), files kept"
	out=$(limit "$W" run --target processes --seed 1 --workload bank --connections 8 --txns 200 --journal $j \
		--synchronous off --json)
	echo "$out" | grep -q '"verdict": "pass"'
	check $? "the same run without the planted defect passes (journal $j)"
done

# --- crashes and hangs are results -------------------------------------------------
# The last connection's process dies of SIGSEGV at its first VFS op.
out=$(WHOPPER_TEST_HOOK=threads-crash limit "$W" run --target processes --seed 1 --workload bank \
	--connections 2 --txns 50 --json 2>"$tmp/err")
rc=$?
dir=$(echo "$out" | json_field dir)
[ $rc -eq 1 ] && echo "$out" | grep -q '"verdict": "fail"' && echo "$out" | grep -q '"kind": "crash"' &&
	echo "$out" | grep -q "connection 1's process died of signal 11 (Segmentation fault), open in an SQLite call, last VFS op open" &&
	echo "$out" | grep -q '"txns_checked": 0' && [ -d "$dir" ] && [ "$(echo "$out" | grep -c '"kind"')" -eq 1 ]
check $? "a connection process that dies of a signal is one reported crash naming it and the signal, nothing checked, files kept"
out=$(WHOPPER_TEST_HOOK=threads-crash limit "$W" run --target processes --seed 1 --workload bank \
	--connections 2 --txns 50 2>/dev/null)
echo "$out" | grep -q "FINDING \\[new\\] crash: connection 1's process died of signal 11" && echo "$out" | grep -q '^  files: .* (kept)'
check $? "the summary reports the crash too"

# Connection 0 stops at its first VFS op; the others finish and the
# one-second watchdog fires.
out=$(WHOPPER_TEST_HOOK=threads-hang limit "$W" run --target processes --seed 1 --workload bank \
	--connections 3 --txns 30 --busy-timeout 20 --watchdog 1 --json)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q '"kind": "hang"' && echo "$out" | grep -q 'conn 0: open in an SQLite call, last VFS op open' &&
	echo "$out" | grep -q 'every connection unwound when drained' && echo "$out" | grep -q '"dir_kept": true'
check $? "a hanging connection process is reported as a hang by the watchdog, drained, its files kept"
out=$(WHOPPER_TEST_HOOK=threads-hang-hard limit "$W" run --target processes --seed 1 --workload bank \
	--connections 3 --txns 30 --busy-timeout 20 --watchdog 1 --json)
rc=$?
dir=$(echo "$out" | json_field dir)
[ $rc -eq 1 ] && echo "$out" | grep -q '"kind": "hang"' &&
	echo "$out" | grep -q '1 connection process did not end when drained (1000 ms): killed' &&
	echo "$out" | grep -q '"txns_checked": 0' && [ -d "$dir" ] && [ -z "$(ls "$dir" | grep '\.hist$')" ]
check $? "a connection process that never returns, even drained, is killed and reported; nothing checked, no history file left"

# --- refusals ---------------------------------------------------------------------
mkdir "$tmp/refusals"
refused() { # DESCRIPTION PATTERN ARGS...
	desc=$1 pat=$2
	shift 2
	TMPDIR=$tmp/refusals "$W" run --target processes --txns 10 "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "$pat" "$tmp/err" && [ ! -s "$tmp/out" ]
	check $? "$desc is refused in one line, exit 2 ($(cat "$tmp/err"))"
}
refused "--faults crash" "--faults crash: not on --target processes" --faults crash
refused "--record" "a --target processes run is not reproducible" --record "$tmp/x.whop"
refused "--scheduler" "--scheduler: steers the simulation; not on --target processes" --scheduler pct
[ -z "$(ls "$tmp/refusals")" ] && [ ! -e "$tmp/x.whop" ]
check $? "refused runs leave no temporary directory and no file"

# --- differential on processes ------------------------------------------------------
"$W" run --seed 3 --workload bank --connections 4 --txns 40 --record "$tmp/bank.whop" --quiet
limit "$W" differential "$tmp/bank.whop" --runs 2 --target processes >"$tmp/dout" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^differential: .* on real processes$' "$tmp/dout" &&
	grep -q '^  run 1 seed 3: pass$' "$tmp/dout" && grep -q '^  run 2 seed 4: pass$' "$tmp/dout"
check $? "differential --target processes runs the recording's configuration in connection processes (exit $rc)"
"$W" run --seed 1 --workload bank --connections 8 --txns 200 --journal delete --synchronous off \
	--record "$tmp/bankd.whop" --quiet
WHOPPER_TEST_HOOK=threads-lost-write limit "$W" differential "$tmp/bankd.whop" --runs 1 --target processes >"$tmp/dout" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '; 1 failed otherwise (first: seed 1, new:.*target=processes)' "$tmp/dout"
check $? "its failing runs carry the processes target in their signature (exit $rc)"
"$W" differential "$tmp/bank.whop" --target sim >"$tmp/dout" 2>"$tmp/derr"
[ $? -eq 2 ] && [ "$(wc -l <"$tmp/derr")" -eq 1 ] && grep -q -- '--target: threads or processes' "$tmp/derr"
check $? "differential refuses another --target in one line"

"$W" run --help >"$tmp/help"
grep -q 'or processes (the same, each' "$tmp/help" && grep -q -- '--dir DIR              threads, processes' "$tmp/help"
check $? "run --help documents --target processes"

echo "1..$n"
[ $fails -eq 0 ]
