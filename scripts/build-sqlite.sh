#!/bin/sh
# Build an SQLite shared library to test with `whopper run --target-lib`,
# from an amalgamation (sqlite3.c), into a cache directory named by its
# version:
#
#   scripts/build-sqlite.sh [OPTIONS] SQLITE_C
#   scripts/build-sqlite.sh [OPTIONS] [--no-fetch] --npm VERSION
#
#   SQLITE_C       a path to an amalgamation's sqlite3.c
#   --npm VERSION  fetch the amalgamation that the npm package
#                  better-sqlite3@VERSION ships (deps/sqlite3/sqlite3.c,
#                  or in older releases deps/sqlite3.tar.gz), with
#                  `npm pack`; only when asked, never implicitly. A
#                  library already built from that release with the
#                  same flags is kept without fetching anything (an npm
#                  release never changes once published)
#   --no-fetch     with --npm: only the library already built from that
#                  release; without one, exit status 4 and no network
#   --debug        compile with -DSQLITE_DEBUG: SQLite's own assert()s are
#                  on, and one that fires kills the run (SIGABRT), which
#                  the nightly reports as a crash
#   --opt LEVEL    optimisation flag (default -O2; CI uses -O1 or -O0 to
#                  build faster)
#   --cache DIR    where libraries go (default build/sqlite beside this
#                  script's repository)
#   --by-source-id name the directory VERSION-ID[-debug], ID the first 12
#                  hex digits of the source id's check-in hash, so two
#                  check-ins of one version (a trunk build, a release)
#                  do not replace each other (scripts/sqlite-ladder.sh)
#
# The library lands in DIR/VERSION[-debug]/libsqlite3.so (VERSION read
# from the amalgamation's SQLITE_VERSION), with build-info beside it
# (version, source id, flags, where the source came from). It is built
# with -fPIC -shared -Wl,-Bsymbolic: -Bsymbolic binds the library's calls
# to its own sqlite3_* functions at link time, so they never reach the
# SQLite whopper itself is linked with (sanitizer builds of whopper cannot
# load with RTLD_DEEPBIND and refuse a library without it). A library
# already built from the same source id with the same flags is kept, not
# rebuilt. The path of the library is the last line on stdout.
#
# Environment: CC (default cc), SQLITE_CFLAGS (more compile flags).
# Exit status: 0 built or kept; 2 bad usage or input (one line naming the
# file); 3 the build itself failed; 4 --no-fetch and no library built
# from that release. Nothing is left half-written: the
# library is built under a temporary name and renamed into place.
set -u

usage() {
	echo "usage: scripts/build-sqlite.sh [--debug] [--opt LEVEL] [--cache DIR] [--by-source-id] (SQLITE_C | [--no-fetch] --npm VERSION)" >&2
	exit 2
}
fail() {
	echo "build-sqlite: $1" >&2
	exit "${2:-2}"
}

debug=0
opt=-O2
npm_version=
fetch=1
by_source_id=0
src=
root=$(cd "$(dirname "$0")/.." && pwd)
cache=$root/build/sqlite
while [ $# -gt 0 ]; do
	case $1 in
	--debug) debug=1 ;;
	--no-fetch) fetch=0 ;;
	--by-source-id) by_source_id=1 ;;
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
	--npm)
		[ $# -ge 2 ] || usage
		npm_version=$2
		shift
		;;
	--help | -h)
		sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*) fail "unknown option '$1'" ;;
	*)
		[ -z "$src" ] || fail "more than one SQLITE_C given"
		src=$1
		;;
	esac
	shift
done
case $opt in
-O0 | -O1 | -O2 | -O3 | -Os | -Og) ;;
*) fail "--opt: expected -O0, -O1, -O2, -O3, -Os or -Og, got '$opt'" ;;
esac
[ -n "$src" ] || [ -n "$npm_version" ] || usage
[ -z "$src" ] || [ -z "$npm_version" ] || fail "give SQLITE_C or --npm VERSION, not both"

[ $fetch -eq 1 ] || [ -n "$npm_version" ] || fail "--no-fetch goes with --npm VERSION"
if [ -n "$npm_version" ]; then
	case $npm_version in
	*[!0-9A-Za-z.+-]* | '') fail "--npm: expected a version such as 12.9.0, got '$npm_version'" ;;
	esac
fi

cc=${CC:-cc}
# HAVE_USLEEP as a configured build (Debian's, SQLite's own autoconf) has
# it: without it, SQLite before 3.44's default busy handler cannot sleep
# less than a second, so a busy timeout under a second retries nothing
# and almost every contended transaction aborts busy. A ladder built
# without it would show older versions "passing" because they barely run.
flags="$opt -fPIC -shared -Wl,-Bsymbolic -DSQLITE_THREADSAFE=1 -DHAVE_USLEEP=1"
suffix=
if [ $debug -eq 1 ]; then
	flags="$flags -DSQLITE_DEBUG"
	suffix=-debug
fi
[ -z "${SQLITE_CFLAGS:-}" ] || flags="$flags $SQLITE_CFLAGS"

# The directory a library of this version and source id goes to.
dir_name() {
	if [ $by_source_id -eq 1 ]; then
		# "2022-07-13 14:13:12 HASH": the hash's first 12 digits.
		echo "$1-$(echo "$2" | awk '{ print substr($3, 1, 12) }')$suffix"
	else
		echo "$1$suffix"
	fi
}

# A library built from npm release $1 with these flags, named as this call
# would name it: its path, or nothing. An npm release is immutable, so
# its build-info's origin line identifies the source without fetching it.
npm_cached() {
	for info_file in "$cache"/*/build-info; do
		[ -f "$info_file" ] || continue
		d=$(dirname "$info_file")
		[ -f "$d/libsqlite3.so" ] || continue
		grep -Fqx "origin npm better-sqlite3@$1" "$info_file" || continue
		grep -Fqx "cc $cc" "$info_file" || continue
		grep -Fqx "flags $flags" "$info_file" || continue
		v=$(sed -n 's/^version //p' "$info_file")
		id=$(sed -n 's/^source_id //p' "$info_file")
		[ "$(basename "$d")" = "$(dir_name "$v" "$id")" ] || continue
		echo "$d/libsqlite3.so"
		return 0
	done
	return 1
}

if [ -n "$npm_version" ]; then
	if lib=$(npm_cached "$npm_version"); then
		echo "build-sqlite: $lib is already built from better-sqlite3@$npm_version with these flags" >&2
		echo "$lib"
		exit 0
	fi
	[ $fetch -eq 1 ] ||
		fail "--npm $npm_version: no library built from better-sqlite3@$npm_version with these flags in $cache, and --no-fetch" 4
fi

work=$(mktemp -d) || fail "cannot make a temporary directory" 3
trap 'rm -rf "$work"' EXIT INT TERM

if [ -n "$npm_version" ]; then
	command -v npm >/dev/null 2>&1 || fail "--npm: npm is not installed"
	(cd "$work" && npm pack --silent "better-sqlite3@$npm_version" >pack.out 2>pack.err) ||
		fail "--npm: npm pack better-sqlite3@$npm_version failed: $(head -c 300 "$work/pack.err" | tr '\n' ' ')" 3
	tgz=$(ls "$work"/better-sqlite3-*.tgz 2>/dev/null | head -1)
	[ -n "$tgz" ] || fail "--npm: npm pack better-sqlite3@$npm_version gave no archive" 3
	# Releases since 7.5 ship deps/sqlite3/sqlite3.c; older ones a tarball
	# of it (deps/sqlite3.tar.gz).
	if tar -xzf "$tgz" -C "$work" package/deps/sqlite3/sqlite3.c 2>/dev/null; then
		src=$work/package/deps/sqlite3/sqlite3.c
	elif tar -xzf "$tgz" -C "$work" package/deps/sqlite3.tar.gz 2>/dev/null &&
		tar -xzf "$work/package/deps/sqlite3.tar.gz" -C "$work" sqlite3.c 2>/dev/null; then
		src=$work/sqlite3.c
	else
		fail "--npm: better-sqlite3@$npm_version has neither deps/sqlite3/sqlite3.c nor deps/sqlite3.tar.gz" 3
	fi
	origin="npm better-sqlite3@$npm_version"
else
	[ -f "$src" ] && [ -r "$src" ] || fail "$src: no such readable file"
	origin=$(cd "$(dirname "$src")" && pwd)/$(basename "$src")
fi

# The amalgamation carries sqlite3.h inside it: the version and source id
# are its #defines.
version=$(sed -n 's/^#define SQLITE_VERSION  *"\([0-9][0-9.]*\)".*/\1/p' "$src" | head -1)
source_id=$(sed -n 's/^#define SQLITE_SOURCE_ID  *"\(.*\)".*/\1/p' "$src" | head -1)
[ -n "$version" ] && [ -n "$source_id" ] ||
	fail "$src: not an SQLite amalgamation (no SQLITE_VERSION and SQLITE_SOURCE_ID)"

dir=$cache/$(dir_name "$version" "$source_id")
lib=$dir/libsqlite3.so
info="version $version
source_id $source_id
cc $cc
flags $flags"

if [ -f "$lib" ] && [ -f "$dir/build-info" ] &&
	[ "$(grep -v '^origin ' "$dir/build-info")" = "$info" ]; then
	echo "build-sqlite: $lib is already built from this source with these flags" >&2
	echo "$lib"
	exit 0
fi

mkdir -p "$dir" || fail "$dir: cannot create the directory" 3
echo "build-sqlite: building SQLite $version ($flags) from $origin" >&2
start=$(date +%s)
# shellcheck disable=SC2086
if ! "$cc" $flags -o "$work/libsqlite3.so" "$src" -lpthread -ldl -lm 2>"$work/cc.err"; then
	head -n 5 "$work/cc.err" >&2
	fail "$src: the compiler failed" 3
fi
printf '%s\norigin %s\n' "$info" "$origin" >"$work/build-info"
# No build-info while the library changes: an interrupted move leaves a
# library the next call rebuilds.
rm -f "$dir/build-info"
mv -f "$work/libsqlite3.so" "$lib.tmp$$" && mv -f "$lib.tmp$$" "$lib" &&
	mv -f "$work/build-info" "$dir/build-info" || fail "$dir: cannot write the library" 3
echo "build-sqlite: built $lib in $(($(date +%s) - start)) s" >&2
echo "$lib"
