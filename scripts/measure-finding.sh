#!/bin/sh
# Measure a catalogued SQLite finding on a ladder of libraries and print
# its catalogue lines (versions, fixed, measured) for
# oracle/known-findings.txt:
#
#   scripts/measure-finding.sh [--seeds N] ID LIB...
#   scripts/measure-finding.sh hot-journal-taken-for-live \
#       /lib/x86_64-linux-gnu/libsqlite3.so.0 $(scripts/sqlite-ladder.sh)
#
# Each finding has its recipe:
#   stale-schema-no-such-table, hot-journal-taken-for-live: the corpus
#     recording (tests/corpus/stale-schema-7x2000.whop,
#     hot-journal-12x1000.whop) is recorded again in full from its flags
#     on the linked SQLite (the corpus keeps compact files, without the
#     schedule to follow), then `whopper versions FULL LIB... --seeds N
#     --finding ID`: its table, then the lines. Seeds default to 200 and
#     1000 (hot-journal: a race in about one run in twenty).
#   wal-non-powersafe-commit-loss: no whopper run shows it; its pinning
#     test's scenario (tests/test_simvfs.c) runs on each library, the test
#     binary started with that library first on LD_LIBRARY_PATH (as
#     libsqlite3.so.0), with WH_LOSS_SEEDS=N (default 10000) seeds on the
#     devices without powersafe overwrite: "fails" when the pinned seed
#     lost its commit, then how many seeds did. The version the binary
#     reports must be the library's, or the measurement stops.
# Needs bin/whopper and build/tests/test_simvfs (make; make test builds
# the latter): WHOPPER and BUILD name others.
#
# Exit status: 0 measured; 2 bad usage (one line); 3 a run failed.
set -u

usage() {
	echo "usage: scripts/measure-finding.sh [--seeds N] ID LIB..." >&2
	exit 2
}
fail() {
	echo "measure-finding: $1" >&2
	exit "${2:-2}"
}

root=$(cd "$(dirname "$0")/.." && pwd)
W=${WHOPPER:-$root/bin/whopper}
test_bin=${BUILD:-$root/build}/tests/test_simvfs
seeds=
while [ $# -gt 0 ]; do
	case $1 in
	--seeds)
		[ $# -ge 2 ] || usage
		seeds=$2
		shift
		;;
	--help | -h)
		sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*) fail "unknown option '$1' (try --help)" ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 2 ] || usage
id=$1
shift
case $seeds in
'' | *[!0-9]*) [ -z "$seeds" ] || fail "--seeds: expected a count, got '$seeds'" ;;
esac
case $id in
stale-schema-no-such-table) corpus=stale-schema-7x2000 default_seeds=200 ;;
hot-journal-taken-for-live) corpus=hot-journal-12x1000 default_seeds=1000 ;;
wal-non-powersafe-commit-loss) corpus='' default_seeds=10000 ;;
*) fail "no recipe for '$id' (stale-schema-no-such-table, hot-journal-taken-for-live, wal-non-powersafe-commit-loss)" ;;
esac
seeds=${seeds:-$default_seeds}
[ -x "$W" ] || fail "$W: not built (make)"
for lib in "$@"; do
	[ -f "$lib" ] || fail "$lib: no such library"
done

work=$(mktemp -d) || fail "cannot make a temporary directory" 3
trap 'rm -rf "$work"' EXIT INT TERM

if [ -n "$corpus" ]; then
	file=$root/tests/corpus/$corpus.whop
	# The corpus file's flags, one "arg" line each, become the run's.
	set -- "$@" --
	while read -r key value; do
		[ "$key" = arg ] && set -- "$@" "$value"
	done <"$file"
	# Split back: libraries before the "--", the recording's flags after.
	libs=$work/libs
	: >"$libs"
	while [ "$1" != -- ]; do
		echo "$1" >>"$libs"
		shift
	done
	shift
	"$W" run "$@" --record "$work/full.whop" --quiet
	[ -s "$work/full.whop" ] || fail "$corpus: recording it again in full failed" 3
	set --
	while read -r lib; do
		set -- "$@" "$lib"
	done <"$libs"
	"$W" versions "$work/full.whop" "$@" --seeds "$seeds" --finding "$id" || exit 3
	exit 0
fi

[ -x "$test_bin" ] || fail "$test_bin: not built (make test builds it)"
# "NUMBER TOKEN" per library, then sorted oldest first.
: >"$work/rows"
i=0
for lib in "$@"; do
	i=$((i + 1))
	want=$("$W" findings list --target-lib "$lib" | sed -n '1s/.*this is SQLite \([0-9.]*\)).*/\1/p')
	[ -n "$want" ] || fail "$lib: whopper cannot tell its version" 3
	mkdir "$work/$i"
	ln -s "$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")" "$work/$i/libsqlite3.so.0"
	start=$(date +%s)
	LD_LIBRARY_PATH=$work/$i WH_TEST_ONLY=test_sqlite_wal_non_powersafe_loses_commit \
		WH_LOSS_SEEDS=$seeds "$test_bin" >"$work/out" 2>&1
	line=$(sed -n 's/.*wal-non-powersafe-commit-loss: SQLite \([0-9.]*\): \([0-9]*\) of \([0-9]*\) seeds.*/\1 \2 \3/p' "$work/out")
	[ -n "$line" ] || fail "$lib: the test printed no loss rate: $(head -c 300 "$work/out" | tr '\n' ' ')" 3
	got=${line%% *}
	[ "$got" = "$want" ] || fail "$lib: the test ran on SQLite $got, not $want: LD_LIBRARY_PATH did not take" 3
	rate=$(echo "$line" | awk '{ print $2 "/" $3 }')
	word=
	grep -q '^\[       OK \] test_sqlite_wal_non_powersafe_loses_commit' "$work/out" && word=fails,
	number=$(echo "$got" | awk -F. '{ printf "%d\n", $1 * 1000000 + $2 * 1000 + $3 }')
	echo "$number $got=$word$rate" >>"$work/rows"
	printf '%-10s pinned seed 781 %-14s %s seeds lost a commit, %s s wall\n' "$got" \
		"$([ -n "$word" ] && echo "loses one," || echo "keeps them,")" "$rate" \
		"$(($(date +%s) - start))"
done
tokens=$(sort -n -k1,1 "$work/rows" | cut -d' ' -f2 | tr '\n' ' ')
echo "catalogue lines for $id:"
# shellcheck disable=SC2086
"$W" findings range $tokens || exit 3
echo "measured $(date -u +%Y-%m-%d) $tokens" | sed 's/ *$//'
