#!/bin/sh
# End-to-end tests of `whopper run --target threads`: real threads on real
# files, the same history and oracle as the simulation.
#
# What it proves: a short run of every built-in workload passes the
# oracle; honest runs of bank with 8 connections pass the oracle
# on WAL and on a rollback journal, with and without the io fault
# profile; the output says the run is not reproducible, gives no trace
# hash, and removes its own temporary directory on a pass (keeps --dir's);
# the oracle is live on this path (a shim that drops committed page
# writes fails the run, where the same run without it passes); a hanging
# connection is a reported hang within the watchdog, whether it unwinds
# when drained or not; a crashing connection thread is a reported crash
# naming it, with its files kept; what the target cannot do is refused in
# one line, exit 2, writing nothing.
#
# The planted defects come from WHOPPER_TEST_HOOK (test-only): each test
# fails if its detector (the oracle, the watchdog, the guard process) is
# taken away. Timing: nothing here sleeps; the hang tests wait for the
# one-second watchdog.
#
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines.
set -u
W=${1:-bin/whopper}
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/real_shim.sh"
json_field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" | head -1; }
json_num() { sed -n "s/.*\"$1\": \\([0-9]*\\).*/\\1/p" | head -1; }
# The temporary directories the runs make go under $tmp (removed on exit).
TMPDIR=$tmp
export TMPDIR
# A guard against a test hanging for ever if the watchdog itself broke.
limit() { if command -v timeout >/dev/null 2>&1; then timeout 120 "$@"; else "$@"; fi; }

# --- honest runs ---------------------------------------------------------------
for wl in $("$W" workloads list | awk '{print $1}'); do
	out=$(limit "$W" run --target threads --seed 1 --workload "$wl" --connections 4 --txns 40 --json)
	rc=$?
	checked=$(echo "$out" | sed -n 's/.*"txns_checked": \([0-9]*\).*/\1/p')
	[ $rc -eq 0 ] && echo "$out" | grep -q '"verdict": "pass"' && [ "${checked:-0}" -gt 0 ]
	check $? "$wl, 4 connection threads (WAL): the oracle passes it (${checked:-0} txns checked)"
done
for j in wal delete; do
	out=$(limit "$W" run --target threads --seed 1 --workload bank --connections 8 --txns 120 --journal $j --json)
	rc=$?
	dir=$(echo "$out" | json_field dir)
	[ $rc -eq 0 ] && echo "$out" | grep -q '"verdict": "pass"' &&
		[ "$(echo "$out" | json_num txns_committed)" -gt 0 ] &&
		[ "$(echo "$out" | json_num statements)" -gt 0 ]
	check $? "bank, 8 connections on real threads, journal $j: the oracle passes it"
	echo "$out" | grep -q '"trace_hash": null' && echo "$out" | grep -q '"reproducible": false' &&
		echo "$out" | grep -q '"not_reproducible": "OS scheduling"' && echo "$out" | grep -q '"target": "threads"' &&
		echo "$out" | grep -q '"coverage": null'
	check $? "journal $j: --json says the run is not reproducible and claims no trace hash or coverage"
	[ -n "$dir" ] && case $dir in "$tmp"/whopper-threads-*) true ;; *) false ;; esac &&
		[ ! -e "$dir" ] && echo "$out" | grep -q '"dir_kept": false'
	check $? "journal $j: the run's own directory ($dir) is removed once it passed"
done

out=$(limit "$W" run --target threads --seed 2 --workload bank --connections 4 --txns 100)
rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q '^  not reproducible: OS scheduling' &&
	echo "$out" | grep -q '^  files: .* (removed: the run passed)' && ! echo "$out" | grep -q 'trace hash' &&
	echo "$out" | grep -q '^  same configuration (not the same run): bin/whopper run --target threads'
check $? "the summary says not reproducible, names the files, prints no trace hash"

# Seed 12's plan turns on I/O errors of several kinds and the disk-full
# window (the plan is the seed's; how many faults land is the OS's).
for j in wal delete; do
	out=$(limit "$W" run --target threads --seed 12 --workload bank --connections 8 --txns 120 --journal $j --faults io --json)
	rc=$?
	faults=$(echo "$out" | json_num faults_injected)
	full=$(echo "$out" | json_num disk_full)
	[ $rc -eq 0 ] && echo "$out" | grep -q '"verdict": "pass"' && [ $((faults + full)) -gt 0 ]
	check $? "--faults io, journal $j: $faults I/O faults and $full disk-full refusals injected, the oracle passes it"
done

mkdir "$tmp/mine"
limit "$W" run --target threads --seed 3 --workload counter --connections 4 --txns 60 --dir "$tmp/mine" --quiet
rc=$?
[ $rc -eq 0 ] && [ -s "$tmp/mine/whopper.db" ]
check $? "--dir DIR: the database is made there and kept after a pass"
"$W" run --target threads --txns 10 --dir "$tmp/mine" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q 'already holds whopper.db' "$tmp/err" && [ ! -s "$tmp/out" ]
check $? "--dir holding a database already is refused in one line, exit 2"

# A shim that grants every lock without taking it (the simulation's
# --vfs-bug no-locks, on real files): the connections write over each
# other, on a rollback journal and on WAL alike, where honest bank runs
# on this target pass (the tests above).
for j in delete wal; do
	check_no_locks_shim threads $j
done

# --- the oracle is live on this path ----------------------------------------------
# A rollback journal: a WAL commit writes no database page to drop. No
# syncs, only to be quick (the plant does not depend on them).
for j in delete truncate; do
	out=$(WHOPPER_TEST_HOOK=threads-lost-write limit "$W" run --target threads --seed 1 --workload bank \
		--connections 8 --txns 200 --journal $j --synchronous off --json)
	rc=$?
	dir=$(echo "$out" | json_field dir)
	kinds=$(echo "$out" | grep -o '"kind": "[a-z_]*"' | sort -u | tr '\n' ' ')
	[ $rc -eq 1 ] && echo "$out" | grep -q '"verdict": "fail"' &&
		echo "$out" | grep -Eq '"kind": "(read_mismatch|lost_update|lost_commit|final_state|dirty_read|phantom_commit)"' &&
		! echo "$out" | grep -Eq '"kind": "(hang|crash|setup_failed)"'
	check $? "a shim that drops committed page writes (journal $j) fails the oracle ($kinds)"
	[ -s "$dir/whopper.db" ] && echo "$out" | grep -q '"dir_kept": true'
	check $? "journal $j: the failed run's files are kept in $dir"
done
for j in delete truncate; do
	out=$(limit "$W" run --target threads --seed 1 --workload bank --connections 8 --txns 200 --journal $j \
		--synchronous off --json)
	echo "$out" | grep -q '"verdict": "pass"'
	check $? "the same run without the planted defect passes (journal $j)"
done

# --- hangs and crashes are results ---------------------------------------------------
# Connection 0 stops at its first VFS op (its open); the others finish (a
# short busy timeout) and the one-second watchdog fires.
out=$(WHOPPER_TEST_HOOK=threads-hang limit "$W" run --target threads --seed 1 --workload bank \
	--connections 3 --txns 30 --busy-timeout 20 --watchdog 1 --json)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q '"kind": "hang"' && echo "$out" | grep -q 'conn 0: open in an SQLite call, last VFS op open' &&
	echo "$out" | grep -q 'every connection unwound when drained' && echo "$out" | grep -q '"dir_kept": true'
check $? "a hanging connection is reported as a hang by the watchdog, drained, its files kept"
out=$(WHOPPER_TEST_HOOK=threads-hang-hard limit "$W" run --target threads --seed 1 --workload bank \
	--connections 3 --txns 30 --busy-timeout 20 --watchdog 1 --json)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q '"kind": "hang"' && echo "$out" | grep -q 'did not end when drained' &&
	echo "$out" | grep -q '"verdict": "fail"'
check $? "a connection that never returns, even drained, is a reported hang and the run ends"

out=$(WHOPPER_TEST_HOOK=threads-crash limit "$W" run --target threads --seed 1 --workload bank \
	--connections 2 --txns 50 --json 2>"$tmp/err")
rc=$?
dir=$(echo "$out" | json_field dir)
[ $rc -eq 1 ] && echo "$out" | grep -q '"verdict": "fail"' && echo "$out" | grep -q '"kind": "crash"' &&
	echo "$out" | grep -q "connection 1's thread died of signal 11" && [ -d "$dir" ]
check $? "a connection thread that crashes is a reported crash naming it, its files kept"
out=$(WHOPPER_TEST_HOOK=threads-crash limit "$W" run --target threads --seed 1 --workload bank \
	--connections 2 --txns 50 2>/dev/null)
echo "$out" | grep -q "FINDING \\[new\\] crash: connection 1's thread" && echo "$out" | grep -q '^  files: .* (kept)'
check $? "the summary reports the crash too"

# --- refusals ---------------------------------------------------------------------
# A directory of their own: the failed runs above kept theirs.
mkdir "$tmp/refusals"
refused() { # DESCRIPTION PATTERN ARGS...
	desc=$1 pat=$2
	shift 2
	TMPDIR=$tmp/refusals "$W" run --target threads --txns 10 "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "$pat" "$tmp/err" && [ ! -s "$tmp/out" ]
	check $? "$desc is refused in one line, exit 2 ($(cat "$tmp/err"))"
}
refused "--faults crash" "--faults crash" --faults crash
refused "--faults chaos" "--faults chaos" --faults chaos
refused "--faults bitflip" "--faults bitflip" --faults bitflip
refused "--vfs-bug" "--vfs-bug" --vfs-bug no-locks
refused "--scheduler" "--scheduler: steers the simulation" --scheduler pct
refused "--record" "not reproducible" --record "$tmp/x.whop"
[ ! -e "$tmp/x.whop" ]
check $? "a refused --record writes no file"
"$W" run --dir "$tmp/d2" --txns 10 >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- '--dir: only with --target threads' "$tmp/err" && [ ! -e "$tmp/d2" ]
check $? "--dir without --target threads is refused"
[ -z "$(ls "$tmp/refusals")" ]
check $? "refused runs leave no temporary directory"

# --- differential: a recorded finding tried on real threads -----------
"$W" differential "$(dirname "$0")/corpus/lying-fsync-8x1000.whop" >"$tmp/dout" 2>"$tmp/derr"
[ $? -eq 2 ] && [ "$(wc -l <"$tmp/derr")" -eq 1 ] && [ ! -s "$tmp/dout" ] &&
	grep -q 'cannot be tried on real threads: it plants a VFS defect' "$tmp/derr"
check $? "differential refuses a recording that needs what real threads cannot do, in one line (exit 2)"
"$W" differential "$(dirname "$0")/corpus/min/hot-journal-files.whop" >/dev/null 2>"$tmp/derr"
[ $? -eq 2 ] && grep -q 'it is a shrunk run' "$tmp/derr"
check $? "differential refuses a shrunk run (only a replay makes it)"
"$W" run --seed 3 --workload bank --connections 4 --txns 40 --scheduler pct --record "$tmp/bank.whop" --quiet
limit "$W" differential "$tmp/bank.whop" --runs 2 >"$tmp/dout" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^  run 1 seed 3: pass$' "$tmp/dout" && grep -q '^  run 2 seed 4: pass$' "$tmp/dout" &&
	grep -q '^result: not reproduced in 2 runs; ' "$tmp/dout"
check $? "differential runs the recording's configuration on real threads, the recorded seed and the next (exit $rc)"
limit "$W" differential "$(dirname "$0")/corpus/stale-schema-7x2000.whop" --runs 1 >"$tmp/dout" 2>&1
grep -E -q '^catalogue: finding stale-schema-no-such-table: differential threads (reproduced|not-reproduced) in 1 runs, [0-9.]+ s wall' "$tmp/dout"
check $? "differential of a catalogued finding prints the catalogue's differential line for it"
"$W" run --seed 1 --workload bank --connections 8 --txns 200 --journal delete --synchronous off \
	--record "$tmp/bankd.whop" --quiet
WHOPPER_TEST_HOOK=threads-lost-write limit "$W" differential "$tmp/bankd.whop" --runs 2 >"$tmp/dout" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '; 2 failed otherwise (first: seed 1, new:' "$tmp/dout"
check $? "runs failing with another signature are counted apart, not as reproducing it (exit $rc)"

# A finding that does not depend on the interleaving (an invariant no
# serial execution keeps) shows on real threads as in the simulation.
printf '%s\n' '\description an invariant that serial execution breaks' '\setup' \
	'CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER NOT NULL);' 'INSERT INTO t VALUES (1, 0), (2, 0);' \
	'\transaction bump @1' 'UPDATE t SET v = v + 1 WHERE id = 1;' \
	'\invariants' 'SELECT count(*) = 0 FROM t WHERE v > 3;' >"$tmp/inv.sql"
"$W" run --seed 1 --workload "$tmp/inv.sql" --connections 2 --txns 10 --record "$tmp/inv.whop" --quiet
limit "$W" differential "$tmp/inv.whop" --runs 2 >"$tmp/dout" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q '^result: reproduced in 2 of 2 runs (first: seed 1)' "$tmp/dout"
check $? "a finding the threads target shows too is reported reproduced (its target feature aside), exit 1 (exit $rc)"

"$W" run --help >"$tmp/help"
grep -q -- '--dir DIR' "$tmp/help" && grep -q -- '--watchdog SECONDS' "$tmp/help" && grep -q 'or threads' "$tmp/help"
check $? "run --help documents --target threads, --dir and --watchdog"

echo "1..$n"
[ $fails -eq 0 ]
