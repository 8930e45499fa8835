#!/bin/sh
# Build a ladder of SQLite shared libraries, every rung with the same
# compile options, and print their paths oldest first, one a line, for
#
#   bin/whopper versions FILE.whop $(scripts/sqlite-ladder.sh)
#
#   scripts/sqlite-ladder.sh [--fetch] [--debug] [--opt LEVEL] [--cache DIR] [RUNG...]
#
#   RUNG           a better-sqlite3 release (digits and dots: 12.9.0),
#                  whose amalgamation is built, or the path of an
#                  amalgamation's sqlite3.c (a path has a '/' or ends in
#                  .c). Default: the releases 7.6.2 9.4.0 11.3.0 12.9.0
#                  13.2.0, which ship SQLite 3.39.1, 3.45.1, 3.46.1,
#                  3.53.0 and 3.54.1
#   --fetch        fetch the releases not built yet (npm pack, through
#                  scripts/build-sqlite.sh --npm). Without it nothing is
#                  fetched: a release not built yet is an error naming
#                  it, before anything is built
#   --debug        every rung with -DSQLITE_DEBUG (build-sqlite.sh)
#   --opt LEVEL    every rung at this optimisation (default -O2)
#   --cache DIR    where the libraries go (default build/sqlite-ladder
#                  beside this script's repository)
#
# Each rung lands in DIR/VERSION-ID[-debug]/libsqlite3.so, ID the first
# 12 hex digits of its source id's check-in hash (build-sqlite.sh
# --by-source-id), so two check-ins of one version are two rungs; a
# library already built from the same source with the same flags is
# reused, a release's without fetching it again. The paths are printed
# sorted by SQLite version (rungs of one version in the order given),
# each once, on stdout; everything else goes to stderr. `whopper
# versions` sorts its libraries too, so another library (the system's
# SQLite) can simply be added to the command line.
#
# Environment: CC and SQLITE_CFLAGS as for build-sqlite.sh.
# Exit status: 0 every rung built or reused; 2 bad usage, a release not
# built without --fetch, or a bad sqlite3.c (one line); 3 a fetch or a
# build failed.
set -u

usage() {
	echo "usage: scripts/sqlite-ladder.sh [--fetch] [--debug] [--opt LEVEL] [--cache DIR] [RUNG...]" >&2
	exit 2
}
fail() {
	echo "sqlite-ladder: $1" >&2
	exit "${2:-2}"
}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
default_rungs="7.6.2 9.4.0 11.3.0 12.9.0 13.2.0"
fetch=0
debug=
opt=-O2
cache=$root/build/sqlite-ladder
work=$(mktemp -d) || fail "cannot make a temporary directory" 3
trap 'rm -rf "$work"' EXIT INT TERM
# One rung a line: "npm VERSION" or "path FILE" (a path may hold blanks).
: >"$work/rungs"

add_rung() {
	case $1 in
	*/* | *.c) printf 'path %s\n' "$1" >>"$work/rungs" ;;
	'' | .* | *. | *..* | *[!0-9.]*)
		fail "'$1' is neither a better-sqlite3 release (such as 12.9.0) nor the path of a sqlite3.c (with a '/' or ending in .c)"
		;;
	*) printf 'npm %s\n' "$1" >>"$work/rungs" ;;
	esac
}

while [ $# -gt 0 ]; do
	case $1 in
	--fetch) fetch=1 ;;
	--debug) debug=--debug ;;
	--opt)
		[ $# -ge 2 ] || usage
		opt=$2
		shift
		;;
	--cache)
		[ $# -ge 2 ] || usage
		cache=$2
		shift
		;;
	--help | -h)
		sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*) fail "unknown option '$1' (try --help)" ;;
	*) add_rung "$1" ;;
	esac
	shift
done
# Checked here, not by the first build: a bad level would otherwise stop
# the ladder after a fetch.
case $opt in
-O0 | -O1 | -O2 | -O3 | -Os | -Og) ;;
*) fail "--opt: expected -O0, -O1, -O2, -O3, -Os or -Og, got '$opt'" ;;
esac
if [ ! -s "$work/rungs" ]; then
	for v in $default_rungs; do
		add_rung "$v"
	done
fi

# build RUNG-KIND RUNG [--no-fetch]: build-sqlite.sh with the ladder's
# options; its exit status, the library's path in $work/lib.
build() {
	kind=$1
	what=$2
	shift 2
	if [ "$kind" = npm ]; then
		set -- "$@" --npm "$what"
	else
		set -- "$@" "$what"
	fi
	# A build's progress shows; a look in the cache (--no-fetch) is
	# quiet unless it failed otherwise than by finding nothing.
	# shellcheck disable=SC2086
	case $* in
	*--no-fetch*)
		sh "$here/build-sqlite.sh" $debug --opt "$opt" --cache "$cache" --by-source-id "$@" \
			>"$work/lib" 2>"$work/err"
		;;
	*) sh "$here/build-sqlite.sh" $debug --opt "$opt" --cache "$cache" --by-source-id "$@" >"$work/lib" ;;
	esac
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 4 ] || [ ! -s "$work/err" ] || cat "$work/err" >&2
	return $rc
}

# Without --fetch, every release must be there before anything is built:
# one message naming all that are not, rather than a half-built ladder.
if [ $fetch -eq 0 ]; then
	missing=
	while read -r kind what; do
		[ "$kind" = npm ] || continue
		build npm "$what" --no-fetch
		case $? in
		0) ;;
		4) missing="$missing $what" ;;
		*) exit 3 ;;
		esac
	done <"$work/rungs"
	[ -z "$missing" ] ||
		fail "not built in $cache:$missing (better-sqlite3 releases; add --fetch to fetch them with npm)"
fi

# "VERSION-NUMBER INDEX PATH" per rung, then sorted: by version, then in
# the order given.
index=0
: >"$work/built"
while read -r kind what; do
	index=$((index + 1))
	: >"$work/err"
	if [ "$kind" = npm ] && [ $fetch -eq 0 ]; then
		build npm "$what" --no-fetch
	else
		build "$kind" "$what"
	fi
	rc=$?
	[ $rc -eq 0 ] || exit $rc
	lib=$(tail -n 1 "$work/lib")
	version=$(sed -n 's/^version //p' "$(dirname "$lib")/build-info")
	[ -n "$version" ] || fail "$lib: its build-info names no version" 3
	number=$(echo "$version" | awk -F. '{ printf "%d\n", $1 * 1000000 + $2 * 1000 + $3 }')
	printf '%s %s %s\n' "$number" "$index" "$lib" >>"$work/built"
	echo "sqlite-ladder: SQLite $version from $what" >&2
done <"$work/rungs"
sort -n -k1,1 -k2,2 "$work/built" | cut -d' ' -f3- | awk '!seen[$0]++'
