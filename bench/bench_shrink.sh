#!/bin/sh
# bench_shrink.sh - does the shrinker bring real findings down to a
# repro a person can read?
#
# Shrinks every recording of the committed corpus (tests/corpus/*.whop:
# the planted VFS bugs and a SQLite finding at nightly scale, see
# tests/corpus/README) with a 60 s limit each and prints, per entry, the
# statements and connections before and after and the seconds taken. The
# target: every entry at most 20 statements within 60 s, and the median
# at most 12. The script fails (exit 1) naming what missed. The shrinker
# is deterministic, so the figures only vary where the time limit cut a
# search short on a slower machine.
# Usage: sh bench/bench_shrink.sh [path/to/whopper]   (LIMIT=seconds)
set -u
W=${1:-bin/whopper}
LIMIT=${LIMIT:-60}
MAX_STMTS=20
MAX_MEDIAN=12
dir=$(dirname "$0")/../tests/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

json_num() { sed -n "s/.*\"$1\": \\([0-9]*\\).*/\\1/p"; }
arg_of() { awk -v k="$2" 'p { print $2; exit } $1 == "arg" && $2 == k { p = 1 }' "$1"; }

printf '%-34s %10s %10s %6s %6s %6s  %s\n' entry stmts-in stmts-out conn-in conn-out secs result
missed=""
all=""
for f in "$dir"/*.whop; do
	name=$(basename "$f" .whop)
	s0=$("$W" replay "$f" --json 2>/dev/null | json_num statements)
	c0=$(arg_of "$f" --connections)
	t0=$(date +%s.%N)
	"$W" shrink "$f" --out "$tmp/$name.whop" --time-limit "$LIMIT" --quiet >/dev/null 2>"$tmp/err"
	rc=$?
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	if [ $rc -ne 0 ]; then
		printf '%-34s %10s %10s %6s %6s %6s  %s\n' "$name" "$s0" - "$c0" - "$secs" \
			"shrink exited $rc: $(head -c 200 "$tmp/err")"
		missed="$missed $name"
		continue
	fi
	s1=$("$W" replay "$tmp/$name.whop" --json 2>/dev/null | json_num statements)
	c1=$(arg_of "$tmp/$name.whop" --connections)
	ok=ok
	if [ -z "$s1" ] || [ "$s1" -gt $MAX_STMTS ] ||
		[ "$(awk -v s="$secs" -v l="$LIMIT" 'BEGIN { print (s > l + 1) }')" = 1 ]; then
		ok="MISSED (at most $MAX_STMTS statements within $LIMIT s)"
		missed="$missed $name"
	fi
	printf '%-34s %10s %10s %6s %6s %6s  %s\n' "$name" "$s0" "$s1" "$c0" "$c1" "$secs" "$ok"
	all="$all ${s1:-999999}"
done
median=$(echo "$all" | tr ' ' '\n' | sed '/^$/d' | sort -n |
	awk '{ v[NR] = $1 } END { if (NR == 0) print 999999; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "median statements after shrinking: $median (target at most $MAX_MEDIAN)"
if [ "$(awk -v m="$median" -v t=$MAX_MEDIAN 'BEGIN { print (m > t) }')" = 1 ]; then
	missed="$missed median"
fi
if [ -n "$missed" ]; then
	echo "bench_shrink: missed:$missed"
	exit 1
fi
