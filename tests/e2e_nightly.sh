#!/bin/sh
# End-to-end tests of `whopper nightly`: crashing and hanging children are
# reported and the job goes on; shards are disjoint and together are the
# unsharded job (and merge back into it); junit.xml is well-formed with the
# right counts; the matrix draws several fault profiles, and a --faults
# bitflip run that exits 0 is a pass; the corpus is replayed first and
# reported still failing or fixed, both for old .args entries and for replay
# files: a failing configuration (the known non-serializable one) leaves a
# .whop entry in the corpus that the next job replays first and reports as
# still failing, its new signature is shrunk (SQL and swimlane inline in
# report.html), junit.xml carries the replay command, and an entry that
# `whopper replay` refuses is stale, not a failure; an interrupted job
# resumed loses and duplicates no result line; bad usage exits 2 with a
# one-line error naming the flag.
# Every run is small (-- --txns 30..60); the whole script takes seconds
# (about three times as long under the ASan build).
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines.
set -u
W=${1:-bin/whopper}
. "$(dirname "$0")/tap.sh"

# "INDEX ARGS TRACE_HASH" of every run line of results.jsonl files: what a
# run is (its arguments) and what it did (its trace hash).
runs_of() {
	grep -h '"kind": "run"' "$@" |
		sed 's/.*"index": \([0-9]*\),.*"trace_hash": \("[0-9a-f]*"\|null\),.*"args": \(\[[^]]*\]\).*/\1 \3 \2/' |
		sort -n
}
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
# Wait until file $1 has at least $2 lines (up to 20 s).
wait_lines() {
	i=0
	while [ "$(lines "$1")" -lt "$2" ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
# Value of attribute $2 on the first line of file $1 that holds element $3.
xml_attr() { grep -m1 "<$3 " "$1" | sed -n "s/.* $2=\"\([0-9]*\)\".*/\1/p"; }

# --- a crashing and a hanging child -----------------------------------
out=$tmp/ch
"$W" nightly --runs 6 --seed 11 --jobs 2 --out "$out" --run-timeout 1 \
	--test-hook-run 1=crash --test-hook-run 3=hang -- --txns 50 >"$tmp/ch.out" 2>"$tmp/ch.err"
rc=$?
[ $rc -eq 1 ]; check $? "a new crash and hang make the job exit 1 (got $rc)"
[ "$(lines "$out/results.jsonl")" -eq 6 ]; check $? "the job finishes every run despite them"
grep '"index": 1,' "$out/results.jsonl" | grep -q '"status": "crash", "signature": "crash:SIGSEGV:cmd_run"'
check $? "the crashing child is reported as a crash with its signal and top frame"
grep '"index": 1,' "$out/results.jsonl" | grep -q '"signal": 11,.*"frames": \["cmd_run"'
check $? "the crash carries the backtrace the child printed"
grep '"index": 3,' "$out/results.jsonl" | grep -q '"status": "hang", "signature": "hang"'
check $? "the hanging child is killed after --run-timeout and reported as a hang"
others=$(grep -v '"index": [13],' "$out/results.jsonl" | grep -c '"status": "\(crash\|hang\)"')
[ "$others" -eq 0 ]; check $? "the test hook reaches only the runs it names"
grep -q 'WHOPPER_TEST_HOOK=crash .*run --seed' "$tmp/ch.out"
check $? "a new signature is printed with its repro command"
for f in results.jsonl summary.json junit.xml report.html job.json; do
	[ -s "$out/$f" ] || nok "output $f written"
done
ok "every output file is written"
ls -a "$out" | grep -q '\.tmp'; [ $? -ne 0 ]; check $? "no temporary file is left in --out"

# --- junit.xml ----------------------------------------------------------
j=$out/junit.xml
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$j" 2>/dev/null
	check $? "junit.xml is well-formed XML (python3)"
elif command -v xmllint >/dev/null 2>&1; then
	xmllint --noout "$j" 2>/dev/null
	check $? "junit.xml is well-formed XML (xmllint)"
else
	[ "$(grep -c '<testcase ' "$j")" -eq "$(grep -c '</testcase>' "$j")" ]
	check $? "junit.xml opens and closes every testcase (grep)"
fi
sigs=$(grep -h '"kind": "run"' "$out/results.jsonl" | sed -n 's/.*"status": "\([a-z]*\)", "signature": "\([^"]*\)".*/\1 \2/p' | sort -u)
want_err=$(printf '%s\n' "$sigs" | grep -c '^\(crash\|hang\|error\) ')
want_fail=$(printf '%s\n' "$sigs" | grep -c '^fail ')
want_tests=$((want_err + want_fail + 1))
[ "$(xml_attr "$j" tests testsuite)" = "$want_tests" ] &&
	[ "$(xml_attr "$j" errors testsuite)" = "$want_err" ] &&
	[ "$(xml_attr "$j" failures testsuite)" = "$want_fail" ] &&
	[ "$(grep -c '<testcase ' "$j")" -eq "$want_tests" ] &&
	[ "$(grep -c '<error ' "$j")" -eq "$want_err" ]
check $? "junit.xml counts one testcase per signature plus one for passes ($want_tests tests, $want_err errors, $want_fail failures)"
grep -q '<error type="crash" message="new: 1 run; first at index 1, seed [0-9]*">repro: WHOPPER_TEST_HOOK=crash ' "$j"
check $? "a junit failure carries the repro command"
grep -q '<svg' "$out/report.html" && grep -q 'crash:SIGSEGV:cmd_run' "$out/report.html" &&
	! sed 's/xmlns="[^"]*"//g' "$out/report.html" | grep -q 'https\?://\|<script\|<link'
check $? "report.html is a static page (no network) with inline plots and the signatures"

# --- shards ---------------------------------------------------------------
"$W" nightly --runs 10 --seed 5 --jobs 2 --out "$tmp/full" -- --txns 50 >/dev/null 2>&1
full_rc=$?
for s in 0 1 2; do
	"$W" nightly --runs 10 --seed 5 --jobs 2 --shard $s/3 --out "$tmp/s$s" -- --txns 50 >/dev/null 2>&1
done
runs_of "$tmp/full/results.jsonl" >"$tmp/full.runs"
runs_of "$tmp/s0/results.jsonl" "$tmp/s1/results.jsonl" "$tmp/s2/results.jsonl" >"$tmp/union.runs"
[ "$(lines "$tmp/full.runs")" -eq 10 ] && cmp -s "$tmp/full.runs" "$tmp/union.runs"
check $? "shards 0/3, 1/3, 2/3 together are the unsharded job (indices, arguments, trace hashes)"
[ -z "$(cut -d' ' -f1 "$tmp/union.runs" | uniq -d)" ]
check $? "shards are disjoint"
bad=0
for s in 0 1 2; do
	runs_of "$tmp/s$s/results.jsonl" | awk -v s=$s '$1 % 3 != s { bad = 1 } END { exit bad }' || bad=1
done
[ $bad -eq 0 ]; check $? "shard I/N runs exactly the indices i with i % N == I"
"$W" nightly merge --out "$tmp/merged" "$tmp/s2" "$tmp/s0" "$tmp/s1" >/dev/null 2>&1
rc=$?
[ $rc -eq $full_rc ] && runs_of "$tmp/merged/results.jsonl" | cmp -s - "$tmp/full.runs" &&
	grep -q '"runs": 10,' "$tmp/merged/summary.json"
check $? "nightly merge combines the shards into the unsharded job's results"
cov_full=$(grep -o '"coverage_points": [0-9]*' "$tmp/full/summary.json")
cov_merged=$(grep -o '"coverage_points": [0-9]*' "$tmp/merged/summary.json")
[ -n "$cov_full" ] && [ "$cov_full" = "$cov_merged" ] && [ "$cov_full" != '"coverage_points": 0' ]
check $? "the job's interleaving coverage (the points its runs reached together) is the same merged from shards ($cov_merged)"
"$W" nightly merge --out "$tmp/m2" "$tmp/s0" "$tmp/s0" >/dev/null 2>&1; rc=$?
"$W" nightly merge --out "$tmp/m3" "$tmp/s0" "$tmp/full" >/dev/null 2>&1; rc2=$?
[ $rc -eq 2 ] && [ $rc2 -eq 2 ]; check $? "merge refuses a shard twice and directories of different jobs (exit 2)"
profiles=$(grep -o '"faults": "[a-z]*"' "$tmp/full/results.jsonl" | sort -u | wc -l)
[ "$profiles" -ge 3 ] && ! grep -q '"faults": "bitflip"' "$tmp/full/results.jsonl"
check $? "the matrix draws fault profiles per run ($profiles of none/io/crash/chaos in 10 runs; never bitflip)"
"$W" nightly --runs 6 --seed 62 --jobs 2 --out "$tmp/bf" -- --faults bitflip --txns 30 >/dev/null 2>&1
rc=$?
zero=$(grep -c '"exit_code": 0,' "$tmp/bf/results.jsonl")
expected=$(grep '"exit_code": 0,' "$tmp/bf/results.jsonl" | grep -vc '"violations": 0,')
[ "$(grep -c '"faults": "bitflip"' "$tmp/bf/results.jsonl")" -eq 6 ] && [ "$zero" -gt 0 ] &&
	[ "$expected" -gt 0 ] && [ "$(grep '"exit_code": 0,' "$tmp/bf/results.jsonl" | grep -vc '"status": "pass"')" -eq 0 ] &&
	{ [ $rc -eq 0 ] || [ "$zero" -lt 6 ]; }
check $? "-- --faults bitflip reaches every run; one that exits 0 is a pass, expected findings and all ($zero of 6, $expected with findings)"
"$W" nightly --runs 10 --seed 5 --dry-run -- --txns 50 >"$tmp/dry1"
"$W" nightly --runs 10 --seed 5 --dry-run -- --txns 50 >"$tmp/dry2"
cmp -s "$tmp/dry1" "$tmp/dry2" && [ "$(lines "$tmp/dry1")" -eq 10 ] &&
	[ "$(cut -d' ' -f2- "$tmp/dry1" | sort -u | wc -l)" -eq 10 ]
check $? "the matrix is a pure function of the base seed and index (dry runs agree)"

# --- corpus -----------------------------------------------------------------
c=$tmp/corpus
"$W" nightly --runs 4 --seed 21 --out "$tmp/c1" --corpus "$c" --test-hook-run 2=crash -- --txns 50 >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && [ "$(ls "$c" | grep -c '^crash-.*\.args$')" -eq 1 ]
check $? "a new failure is kept in the corpus as one entry per signature"
"$W" nightly --runs 4 --seed 22 --jobs 2 --out "$tmp/c2" --corpus "$c" -- --txns 50 >"$tmp/c2.out" 2>&1
rc=$?
first_kind=$(head -1 "$tmp/c2/results.jsonl" | sed 's/^{"kind": "\([a-z]*\)".*/\1/')
replay_end=$(grep '"kind": "replay"' "$tmp/c2/results.jsonl" | sed 's/.*"finished_at": \([0-9.]*\).*/\1/' | sort -g | tail -1)
run_start=$(grep '"kind": "run"' "$tmp/c2/results.jsonl" | sed 's/.*"started_at": \([0-9.]*\),.*/\1/' | sort -g | head -1)
[ "$first_kind" = replay ] && awk -v a="$replay_end" -v b="$run_start" 'BEGIN { exit !(a <= b) }'
check $? "the corpus is replayed first: every replay ends before the first run starts"
grep '"kind": "replay"' "$tmp/c2/results.jsonl" | grep -q '"status": "crash", "signature": "crash:SIGSEGV:cmd_run", "label": "new", "in_corpus": true' &&
	grep -q '"outcome": "still failing"' "$tmp/c2/summary.json"
check $? "a corpus entry that still fails is reported as still failing and known"
[ $rc -eq 0 ] || grep -q 'NEW' "$tmp/c2.out"
check $? "a known failure alone does not make the job exit 1"
for e in "$c"/*.args; do
	grep -v '^hook ' "$e" >"$tmp/entry" && cat "$tmp/entry" >"$e"
done
"$W" nightly --runs 4 --seed 23 --out "$tmp/c3" --corpus "$c" -- --txns 50 >/dev/null 2>&1
grep -q '"outcome": "fixed"' "$tmp/c3/summary.json" && grep -q 'still_failing": 0' "$tmp/c3/summary.json"
check $? "a corpus entry that passes now is reported as fixed"

# --- corpus of replay files, auto-shrink --------------------------------------
# The known non-serializable configuration: every run fails.
bad="--target memory-shared --pragma read_uncommitted=1 --workload bank --connections 4 --txns 60"
fc=$tmp/fcorpus
# shellcheck disable=SC2086 # $bad is a list of flags
"$W" nightly --runs 3 --seed 51 --jobs 2 --out "$tmp/f1" --corpus "$fc" --shrink-time 30 -- $bad \
	>"$tmp/f1.out" 2>&1
rc=$?
f1_sigs=$(grep -o '"signature": "new:[^"]*"' "$tmp/f1/results.jsonl" | sort -u | wc -l)
whops=$(ls "$fc" | grep -c '\.whop$')
sidecars=0
for e in "$fc"/*.whop; do [ -s "${e%.whop}.sig" ] && sidecars=$((sidecars + 1)); done
[ $rc -eq 1 ] && [ "$f1_sigs" -ge 1 ] && [ "$whops" -eq "$f1_sigs" ] && [ "$sidecars" -eq "$whops" ] &&
	[ "$(ls "$fc" | grep -c '\.args$')" -eq 0 ]
check $? "each new failing signature is kept in the corpus as a replay file with a sidecar ($whops for $f1_sigs signatures)"
[ ! -e "$tmp/f1/scratch" ] && [ "$(ls "$tmp/f1/repro" | grep -c '\.whop$')" -eq "$f1_sigs" ]
check $? "run recordings are moved or deleted: one replay file per signature in repro/, no scratch/ left"
repro=$(sed -n 's/.*<failure type="fail" message="new: [^"]*">repro: \([^&]* replay [^ &]*\.whop\)$/\1/p' "$tmp/f1/junit.xml" | head -1)
[ -n "$repro" ] && [ "$(grep -c '<failure type="fail" message="new: [^"]*">repro: [^<]* replay [^<]*\.whop$' "$tmp/f1/junit.xml")" -eq "$f1_sigs" ]
check $? "junit.xml failures carry the replay command ($repro)"
# shellcheck disable=SC2086 # the command as printed, split into words
$repro --quiet >/dev/null 2>&1
[ $? -eq 1 ]; check $? "the replay command reproduces the failure"
svg_b64=$(grep -o 'src="data:image/svg+xml;base64,[A-Za-z0-9+/=]*"' "$tmp/f1/report.html" | head -1 |
	sed 's/^src="data:image\/svg+xml;base64,//; s/"$//')
[ "$(ls "$tmp/f1/shrunk" | grep -c '\.sql$')" -eq "$f1_sigs" ] &&
	[ "$(grep -c '<pre class="sql">' "$tmp/f1/report.html")" -eq "$f1_sigs" ] &&
	grep -q '^-- ^^^ VIOLATION' "$tmp/f1/report.html" &&
	[ "$(grep -c 'src="data:image/svg+xml;base64,' "$tmp/f1/report.html")" -eq "$f1_sigs" ] &&
	printf '%s' "$svg_b64" | base64 -d 2>/dev/null | grep -q '<svg' &&
	! sed 's/xmlns="[^"]*"//g' "$tmp/f1/report.html" | grep -q 'https\?://\|<script\|<link'
check $? "each new signature is shrunk: report.html shows its SQL (escaped) and swimlane (data: URI) inline"
shrunk=$(ls "$tmp/f1/shrunk"/*.whop | head -1)
"$W" replay "$shrunk" --quiet >/dev/null 2>&1
[ $? -eq 1 ] && grep -q "shrunk: .* replay $shrunk" "$tmp/f1/junit.xml"
check $? "the shrunk replay file still fails, and junit.xml names it"
"$W" nightly --runs 2 --seed 52 --jobs 2 --out "$tmp/f2" --corpus "$fc" -- --txns 40 >/dev/null 2>&1
first=$(head -1 "$tmp/f2/results.jsonl")
replays=$(grep -c '"kind": "replay"' "$tmp/f2/results.jsonl")
replay_end=$(grep '"kind": "replay"' "$tmp/f2/results.jsonl" | sed 's/.*"finished_at": \([0-9.]*\).*/\1/' | sort -g | tail -1)
run_start=$(grep '"kind": "run"' "$tmp/f2/results.jsonl" | sed 's/.*"started_at": \([0-9.]*\),.*/\1/' | sort -g | head -1)
case $first in *'"kind": "replay"'*'"replay_file": "'"$fc"/*.whop'"'*) first_ok=0 ;; *) first_ok=1 ;; esac
[ $first_ok -eq 0 ] && [ "$replays" -eq "$whops" ] && awk -v a="$replay_end" -v b="$run_start" 'BEGIN { exit !(a <= b) }' &&
	[ "$(grep '"kind": "replay"' "$tmp/f2/results.jsonl" | grep -c '"in_corpus": true,.*"outcome": "still failing"')" -eq "$whops" ] &&
	grep -q "\"still_failing\": $whops," "$tmp/f2/summary.json"
check $? "the next job replays the corpus's replay files first and reports each as still failing"
cp -r "$fc" "$tmp/fcorpus2"
for e in "$tmp/fcorpus2"/*.whop; do
	sed 's/^sqlite-version .*/sqlite-version 0.0.1/' "$e" >"$tmp/entry" && cat "$tmp/entry" >"$e"
	break
done
"$W" nightly --runs 2 --seed 52 --jobs 2 --out "$tmp/f3" --corpus "$tmp/fcorpus2" -- --txns 40 >/dev/null 2>&1
rc=$?
[ "$(grep -c '"outcome": "stale"' "$tmp/f3/results.jsonl")" -eq 1 ] && grep -q '"stale": 1,' "$tmp/f3/summary.json" &&
	[ "$(xml_attr "$tmp/f3/junit.xml" skipped testsuite)" = 1 ] &&
	grep '"outcome": "stale"' "$tmp/f3/results.jsonl" | grep -q '"status": "pass", "signature": null' &&
	{ [ $rc -eq 0 ] || grep -q '"new": true' "$tmp/f3/summary.json"; }
check $? "a corpus entry that whopper replay refuses is reported stale (junit skipped), not as a failure"
# shellcheck disable=SC2086
"$W" nightly --runs 2 --seed 53 --out "$tmp/f4" --shrink-time 0 -- $bad >/dev/null 2>&1
[ "$(ls "$tmp/f4/shrunk" | wc -l)" -eq 0 ] && grep -q 'not shrunk: --shrink-time below one second' "$tmp/f4/report.html" &&
	grep -q '"shrink_time_s": 0.000' "$tmp/f4/job.json"
check $? "--shrink-time 0 turns the shrinker off"

# --- labels, exit status, budget ---------------------------------------------
# A planted defect is new: exit 1, new signatures listed first.
"$W" nightly --runs 4 --seed 3 --jobs 2 --out "$tmp/pl" --shrink-time 0 -- --vfs-bug no-locks --txns 100 \
	>"$tmp/pl.out" 2>&1
rc=$?
first_sig=$(grep -m1 '^    {"signature": ' "$tmp/pl/summary.json")
first_line=$(grep -m1 '^  [A-Za-z]\{3,8\} *[a-z:]' "$tmp/pl.out")
[ $rc -eq 1 ] && case $first_sig in *'"label": "new"'*'"new": true'*) true ;; *) false ;; esac &&
	case $first_line in '  NEW '*) true ;; *) false ;; esac &&
	grep -q '"new_signatures": [1-9]' "$tmp/pl/summary.json" &&
	tail -1 "$tmp/pl.out" | grep -q '^  totals: 4 runs: [0-9]* pass, [0-9]* known, [0-9]* expected, [1-9][0-9]* new; [1-9][0-9]* new signature'
check $? "a planted defect (--vfs-bug no-locks) exits 1, new signatures first in summary.json and on the console, totals last"
# Reports keep the order new, known, expected (whatever this night found).
ranks=$(sed -n 's/^    {"signature": .*"label": "\([a-z]*\)", .*"new": \([a-z]*\),.*/\1 \2/p' "$tmp/pl/summary.json" |
	sed 's/^new true$/0/; s/^new false$/1/; s/^known .*/2/; s/^expected .*/3/')
[ -n "$ranks" ] && [ "$ranks" = "$(printf '%s\n' "$ranks" | sort -n)" ]
check $? "summary.json lists signatures new, then new-in-corpus, known, expected"

# Known and expected failures alone leave the night green. Needs children
# that print the triage object (`run --json`); older ones label nothing.
if "$W" run --seed 1 --txns 10 --json 2>/dev/null | grep -q '"triage": {'; then
	"$W" nightly --runs 6 --seed 62 --jobs 2 --out "$tmp/ex" -- --faults bitflip --txns 30 >"$tmp/ex.out" 2>&1
	rc=$?
	exp_runs=$(sed -n 's/.*"totals": {"runs": [0-9]*, "pass": [0-9]*, "new": \([0-9]*\), "known": \([0-9]*\), "expected": \([0-9]*\),.*/\1 \2 \3/p' "$tmp/ex/summary.json")
	[ $rc -eq 0 ] && [ "${exp_runs%% *}" = 0 ] && [ "${exp_runs##* }" -gt 0 ] &&
		grep -q '<skipped type="expected" message="expected: ' "$tmp/ex/junit.xml" &&
		[ "$(xml_attr "$tmp/ex/junit.xml" failures testsuite)" = 0 ] &&
		[ "$(ls "$tmp/ex/shrunk" | wc -l)" -eq 0 ]
	check $? "a night whose only failures are expected (--faults bitflip) exits 0; they are counted (new known expected: $exp_runs), junit-skipped, not shrunk"
	grep -q '"label": "expected", "in_corpus": false, "findings": \[\], "reasons": \["bitflip-no-checksums"' "$tmp/ex/results.jsonl"
	check $? "results.jsonl lines carry the label and the reason"
	"$W" nightly merge --out "$tmp/exm" "$tmp/ex" >"$tmp/exm.out" 2>&1
	rc=$?
	# The same lines: the job writes them as runs finish (two at a time),
	# the merge in run order.
	sort "$tmp/ex/results.jsonl" >"$tmp/ex.sorted"
	sort "$tmp/exm/results.jsonl" >"$tmp/exm.sorted"
	[ $rc -eq 0 ] && grep -q '"expected": [1-9]' "$tmp/exm/summary.json" &&
		cmp -s "$tmp/ex.sorted" "$tmp/exm.sorted"
	check $? "nightly merge keeps the labels (exit 0, the same lines, expected runs counted)"
else
	echo "# skipped: the children print no triage object, so nothing is labelled known or expected"
fi

# --time bounds the whole job, shrinking included; the deadline is asserted
# with generous slack (a loaded 2-core machine, sanitizer builds).
t0=$(date +%s)
"$W" nightly --time 10 --shrink-time 30 --seed 3 --jobs 2 --out "$tmp/bud" -- --vfs-bug no-locks \
	>"$tmp/bud.out" 2>&1
rc=$?
t1=$(date +%s)
took=$((t1 - t0))
killed_ok=0
for k in $(grep -o '"killed_not_counted": \[[^]]*\]' "$tmp/bud/summary.json" | grep -o 'run [0-9]*' | cut -d' ' -f2); do
	grep -q "\"index\": $k," "$tmp/bud/results.jsonl" && killed_ok=1
done
[ $rc -eq 1 ] && [ $took -le 20 ] && [ $killed_ok -eq 0 ] &&
	grep -q '"budget": {"time_s": 10.000,' "$tmp/bud/summary.json" &&
	grep -q '^  budget: \(within --time 10 s\|took [0-9.]* s, [0-9.]* s past --time 10 s: .\)' "$tmp/bud.out" &&
	grep -q '<p class="\(ok\|bad\)">Budget: ' "$tmp/bud/report.html"
check $? "--time 10 --shrink-time 30 with a planted bug ends in ${took} s (at most 20 allowed); runs killed at the deadline are not counted; the budget is reported"

# --- interrupt and resume ---------------------------------------------------
# Deterministic: one job at a time, run 3 hangs (hook), so after 3 lines the
# job is certainly mid-way when SIGINT arrives.
r=$tmp/r
"$W" nightly --runs 12 --seed 31 --jobs 1 --out "$r" --run-timeout 60 \
	--test-hook-run 3=hang -- --txns 50 >/dev/null 2>&1 &
pid=$!
wait_lines "$r/results.jsonl" 3
sleep 0.2
kill -INT $pid
wait $pid
rc=$?
# Exit 3 (the job did not finish), or 1 if its first runs found something new.
{ [ $rc -eq 3 ] || { [ $rc -eq 1 ] && grep -q '"new": true' "$r/summary.json"; }; } &&
	[ "$(lines "$r/results.jsonl")" -eq 3 ] && grep -q '"stop_reason": "interrupted"' "$r/summary.json"
check $? "SIGINT stops the job (exit $rc), keeping its finished runs and reports, dropping the killed one"
printf '{"kind": "run", "index": 4, "se' >>"$r/results.jsonl" # a torn line, as after a hard kill
"$W" nightly --resume --out "$r" >/dev/null 2>&1
rc=$?
"$W" nightly --runs 12 --seed 31 --out "$tmp/rref" -- --txns 50 >/dev/null 2>&1
ref_rc=$?
[ $rc -eq $ref_rc ] && [ "$(lines "$r/results.jsonl")" -eq 12 ] &&
	runs_of "$r/results.jsonl" | cmp -s - "$(runs_of "$tmp/rref/results.jsonl" >"$tmp/rref.runs"; echo "$tmp/rref.runs")"
check $? "--resume finishes the job: no result lost, none duplicated, same runs as uninterrupted"
# Timing-dependent variant: SIGTERM at an arbitrary moment with two jobs.
t=$tmp/t
"$W" nightly --runs 30 --seed 41 --jobs 2 --out "$t" -- --txns 400 >/dev/null 2>&1 &
pid=$!
wait_lines "$t/results.jsonl" 4
kill -TERM $pid 2>/dev/null
wait $pid
"$W" nightly --resume --out "$t" >/dev/null 2>&1
[ "$(lines "$t/results.jsonl")" -eq 30 ] &&
	[ "$(runs_of "$t/results.jsonl" | cut -d' ' -f1 | uniq | wc -l)" -eq 30 ]
check $? "SIGTERM at any moment, then --resume: every index exactly once"
"$W" nightly --resume --out "$t" --seed 42 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- '--seed' "$tmp/err"; check $? "--resume refuses flags that contradict the job"

# --- bad usage --------------------------------------------------------------
usage_case() { # expected-flag description args...
	flag=$1
	what=$2
	shift 2
	"$W" nightly "$@" >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(lines "$tmp/err")" -eq 1 ] && grep -q -- "$flag" "$tmp/err"
	check $? "$what: exit 2 with a one-line error naming $flag"
}
usage_case --jobs "--jobs 0" --runs 2 --jobs 0 --out "$tmp/u"
usage_case --shard "--shard 3/3" --runs 2 --seed 1 --shard 3/3 --out "$tmp/u"
usage_case --shard "--shard without --seed" --runs 2 --shard 0/2 --out "$tmp/u"
usage_case --time "--runs with --time" --runs 2 --time 5 --out "$tmp/u"
usage_case --runs "neither --runs nor --time" --out "$tmp/u"
usage_case --bogus "an unknown option" --runs 2 --bogus
usage_case --workloads "an unknown workload" --runs 2 --workloads bank,nope --out "$tmp/u"
usage_case --trace "a run flag every run would clobber" --runs 2 --out "$tmp/u" -- --trace x
usage_case --out "--out holding another job" --runs 2 --out "$tmp/full"
usage_case --resume "--resume without a job" --resume --out "$tmp/empty"
usage_case --known "--known naming no file" --runs 2 --known "$tmp/no-such-catalogue" --out "$tmp/u"
usage_case --connections "run flags a child rejects" --runs 2 --out "$tmp/u2" -- --connections 0
"$W" nightly --help | grep -q -- '--run-timeout' && ! "$W" nightly --help | grep -q -- '--test-hook'
check $? "--help documents the flags but not the test hook"

# With a key among the run flags (an encrypting SQLite: SQLCipher sets its
# page size its own way), the matrix draws no page_size; without, it does.
"$W" nightly --runs 24 --seed 5 --jobs 2 --out "$tmp/enc" -- --txns 30 --pragma "key='k'" >/dev/null 2>&1
"$W" nightly --runs 24 --seed 5 --jobs 2 --out "$tmp/plain" -- --txns 30 >/dev/null 2>&1
! grep -q 'page_size=' "$tmp/enc/results.jsonl" && grep -q 'page_size=' "$tmp/plain/results.jsonl" &&
	grep -q 'cache_size=' "$tmp/enc/results.jsonl"
check $? "a job whose run flags give a key draws no page_size (the other pragmas still)"

# --- --explore ----------------------------------------------------------
# Three generations (16 + 16 + 8 runs): the later two draw from the pool
# the earlier ones built, so --jobs 2 (children ending in any order) must
# draw the very runs --jobs 1 draws.
"$W" nightly --explore --runs 40 --seed 9 --jobs 1 --shrink-time 0 --out "$tmp/ex1" -- --txns 40 >"$tmp/ex1.out" 2>&1
"$W" nightly --explore --runs 40 --seed 9 --jobs 2 --shrink-time 0 --out "$tmp/ex2" -- --txns 40 >"$tmp/ex2.out" 2>&1
[ "$(runs_of "$tmp/ex1/results.jsonl" | wc -l)" -eq 40 ] &&
	[ "$(runs_of "$tmp/ex1/results.jsonl")" = "$(runs_of "$tmp/ex2/results.jsonl")" ]
check $? "an --explore job draws the same runs (arguments, trace hashes) with --jobs 1 and --jobs 2"
muts=$(grep -c '"explore_parent"' "$tmp/ex1/results.jsonl")
early=$(grep '"explore_parent"' "$tmp/ex1/results.jsonl" | grep -c '"index": \([0-9]\|1[0-5]\),')
[ "$muts" -gt 0 ] && [ "$early" -eq 0 ] &&
	[ "$(grep '"explore_parent"' "$tmp/ex1/results.jsonl" | sed 's/.*"index": \([0-9]*\),.*"explore_parent": \([0-9]*\),.*/\1 \2/' |
		awk '$2 >= int($1 / 16) * 16' | wc -l)" -eq 0 ]
check $? "--explore mutates pool members from earlier generations only ($muts mutations, none in generation 0)"
grep -q "explore: $muts of 40 runs were mutations" "$tmp/ex1.out" &&
	grep -q '"explore": true' "$tmp/ex1/summary.json" &&
	grep -q "\"explore_mutations\": $muts," "$tmp/ex1/summary.json"
check $? "the console and summary.json say the job explored and how many runs were mutations"
usage_case --explore "--explore with --shard" --explore --runs 2 --seed 1 --shard 0/2 --out "$tmp/u"
usage_case --explore "--explore with --resume" --explore --resume --out "$tmp/ex1"
"$W" nightly --resume --out "$tmp/ex1" >/dev/null 2>"$tmp/ex-resume.err"
[ $? -eq 2 ] && [ "$(wc -l <"$tmp/ex-resume.err")" -eq 1 ] && grep -q 'explore' "$tmp/ex-resume.err"
check $? "--resume of an --explore job is refused in one line (exit 2)"
echo "1..$n"
[ $fails -eq 0 ]
