#!/bin/sh
# End-to-end tests of `whopper run --elle FILE`: the Elle EDN export of a
# run's history for the list-append and rw-register workloads. Each
# transaction gives one :invoke line and one completion line (:ok, :fail or
# :info); a workload without an Elle shape, or an unwritable path, exits 2
# and writes nothing. Until the flag is wired into `whopper run`, the
# script reports a single skip.
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines.
set -u
W=${1:-bin/whopper}
. "$(dirname "$0")/tap.sh"
count() { grep -c -- "$1" "$2"; }

if ! "$W" run --help | grep -q -- '--elle'; then
	echo "ok 1 - # SKIP --elle not wired yet"
	echo "1..1"
	exit 0
fi

TXNS=200
for wl in list-append rw-register; do
	f="$tmp/$wl.edn"
	"$W" run --seed 11 --workload $wl --connections 4 --txns $TXNS --elle "$f" --quiet; rc=$?
	[ $rc -eq 0 ] && [ -s "$f" ]; check $? "$wl: run --elle exits 0 and writes the file"
	[ "$(wc -l <"$f")" -eq $((2 * TXNS)) ]
	check $? "$wl: two lines per transaction ($((2 * TXNS)))"
	[ "$(count '^{:type :invoke, :f :txn, :value \[.*\], :process [0-9]*, :time [0-9]*, :index [0-9]*}$' "$f")" -eq $TXNS ]
	check $? "$wl: one :invoke per transaction, every key in place"
	[ "$(count '^{:type :\(ok\|fail\|info\), :f :txn, :value \[.*\], :process [0-9]*, :time [0-9]*, :index [0-9]*}$' "$f")" -eq $TXNS ]
	check $? "$wl: one completion per transaction"
	sed -n 's/.*:index \([0-9]*\)}$/\1/p' "$f" | awk '$1 != NR - 1 { bad = 1 } END { exit bad }'
	check $? "$wl: :index counts 0..$((2 * TXNS - 1)) in order"
	# Per process, invokes and completions alternate, starting with an invoke.
	awk '{ match($0, /:process [0-9]+/); p = substr($0, RSTART + 9, RLENGTH - 9)
	       inv = ($0 ~ /^{:type :invoke/)
	       if (inv == open[p]) bad = 1; open[p] = inv }
	     END { for (p in open) if (open[p]) bad = 1; exit bad }' "$f"
	check $? "$wl: no process has two operations outstanding"
	[ "$(count '^{:type :ok' "$f")" -gt 0 ]; check $? "$wl: some transactions committed"
done
grep -q '\[:append [0-9-]* [0-9-]*\]' "$tmp/list-append.edn" &&
	grep -q '\[:r [0-9-]* \[[0-9 -]*\]\]' "$tmp/list-append.edn"
check $? "list-append: appends and observed list reads"
grep -q '\[:w [0-9-]* [0-9-]*\]' "$tmp/rw-register.edn" &&
	grep -q '\[:r [0-9-]* \(nil\|[0-9-]*\)\]' "$tmp/rw-register.edn"
check $? "rw-register: writes and reads"

"$W" run --seed 11 --workload list-append --connections 4 --txns $TXNS --elle "$tmp/again.edn" --quiet
cmp -s "$tmp/list-append.edn" "$tmp/again.edn"; check $? "the same seed exports the same file"

"$W" run --seed 11 --workload list-append --connections 4 --txns 100 --faults crash \
	--elle "$tmp/crash.edn" --quiet; rc=$?
[ $rc -ne 2 ] && [ "$(wc -l <"$tmp/crash.edn")" -eq 200 ]
check $? "a run with crashes still exports two lines per transaction"

"$W" run --seed 1 --workload bank --txns 50 --elle "$tmp/bank.edn" --quiet >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "declares no Elle shape" "$tmp/err" &&
	[ ! -e "$tmp/bank.edn" ]
check $? "a workload without a shape: one-line error, exit 2, no file"

"$W" run --seed 1 --workload list-append --txns 50 --elle "$tmp/nodir/h.edn" --quiet >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/nodir" ]; check $? "an unwritable --elle path exits 2 and writes nothing"
ls "$tmp" | grep -q tmp; [ $? -ne 0 ]; check $? "no temporary file is left behind"

echo "1..$n"
[ $fails -eq 0 ]
