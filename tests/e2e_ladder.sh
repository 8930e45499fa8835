#!/bin/sh
# End-to-end tests of the version ladder and of measuring a finding on it:
# scripts/sqlite-ladder.sh (usage errors in one line, exit 2; rungs built
# into directories named by version and source id, printed oldest first
# whatever the order given, reused without a rebuild; a release not built
# is an error naming it without --fetch, and npm is not run; with --fetch
# npm is run once and the build reused afterwards), scripts/build-sqlite.sh
# --no-fetch, `whopper findings range`, the shipped catalogue's measured
# lines in `findings list`, and scripts/measure-finding.sh (usage errors;
# the stale-schema recipe, and the WAL recipe through LD_LIBRARY_PATH, on
# the linked SQLite).
#
# The rungs are fake amalgamations: a few lines with SQLite's version and
# source id #defines, which is all the scripts read; npm is a stub on PATH
# that packs one, so nothing here uses the network.
#
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines.
set -u
W=${1:-bin/whopper}
. "$(dirname "$0")/tap.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
L="sh $root/scripts/sqlite-ladder.sh"
M="sh $root/scripts/measure-finding.sh"

# fake DIR VERSION HASH: DIR/sqlite3.c, an "amalgamation" of that version.
fake() {
	mkdir -p "$1"
	cat >"$1/sqlite3.c" <<EOF
#define SQLITE_VERSION        "$2"
#define SQLITE_SOURCE_ID      "2026-01-01 00:00:00 $3"
int fake_sqlite_marker(void) { return 1; }
EOF
}
fake "$tmp/new" 3.45.1 e876e51a0ed5aaaa
fake "$tmp/old" 3.39.1 7c16541a0efbbbbb
fake "$tmp/old2" 3.39.1 0123456789abcccc

# --- usage ---------------------------------------------------------------------
usage_case() {
	want=$1
	shift
	$L "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ] && grep -q -- "$want" "$tmp/err"
	check $? "sqlite-ladder $*: one line, exit 2 (exit $rc: $(cat "$tmp/err"))"
}
usage_case "unknown option '--bogus'" --bogus
usage_case "^usage: " --opt
usage_case "^usage: " --cache
usage_case "'-O9'" --opt -O9 "$tmp/old/sqlite3.c"
usage_case "'latest' is neither a better-sqlite3 release" latest
usage_case "'1..2' is neither" 1..2
usage_case "no such readable file" --cache "$tmp/c" "$tmp/none/sqlite3.c"
$L --help | grep -q "^  *--fetch "
check $? "sqlite-ladder --help documents --fetch"

# --- local amalgamations --------------------------------------------------------
C=$tmp/cache
$L --opt -O0 --cache "$C" "$tmp/new/sqlite3.c" "$tmp/old/sqlite3.c" "$tmp/old2/sqlite3.c" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
printf '%s\n' "$C/3.39.1-7c16541a0efb/libsqlite3.so" "$C/3.39.1-0123456789ab/libsqlite3.so" \
	"$C/3.45.1-e876e51a0ed5/libsqlite3.so" >"$tmp/want"
[ $rc -eq 0 ] && cmp -s "$tmp/out" "$tmp/want" &&
	grep -q "^source_id 2026-01-01 00:00:00 0123456789abcccc$" "$C/3.39.1-0123456789ab/build-info" &&
	grep -q "^flags -O0 " "$C/3.45.1-e876e51a0ed5/build-info"
check $? "a ladder of three: named by version and source id, oldest first, one version's two check-ins in the order given (exit $rc: $(tr '\n' ' ' <"$tmp/out"))"
touch "$tmp/mark"
sleep 1
$L --opt -O0 --cache "$C" "$tmp/old/sqlite3.c" "$tmp/new/sqlite3.c" "$tmp/old2/sqlite3.c" \
	>"$tmp/out2" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && cmp -s "$tmp/out2" "$tmp/want" && [ -z "$(find "$C" -newer "$tmp/mark" -name libsqlite3.so)" ] &&
	[ "$(grep -c "already built" "$tmp/err")" -eq 3 ]
check $? "built again in another order: the same list, nothing rebuilt (exit $rc)"
$L --opt -O0 --cache "$C" "$tmp/new/sqlite3.c" "$tmp/new/sqlite3.c" >"$tmp/out" 2>/dev/null
[ "$(wc -l <"$tmp/out")" -eq 1 ]
check $? "a rung given twice is printed once"
$L --opt -O1 --cache "$C" "$tmp/new/sqlite3.c" >"$tmp/out" 2>/dev/null &&
	grep -q "^flags -O1 " "$C/3.45.1-e876e51a0ed5/build-info"
check $? "other compile options rebuild the rung"

# --- releases: npm only with --fetch ----------------------------------------------
# A stub npm: "npm pack --silent better-sqlite3@V" packs a fake amalgamation
# of SQLite 3.46.1 as release V does, and logs each call.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/npm" <<EOF
#!/bin/sh
echo "\$*" >>"$tmp/npm.log"
mkdir -p package/deps/sqlite3
cp "$tmp/pkg.c" package/deps/sqlite3/sqlite3.c
tar -czf better-sqlite3-x.tgz package
EOF
chmod +x "$tmp/bin/npm"
fake "$tmp/pkg" 3.46.1 c9c2ab54ba1fdddd
mv "$tmp/pkg/sqlite3.c" "$tmp/pkg.c"
: >"$tmp/npm.log"
PATH=$tmp/bin:$PATH $L --opt -O0 --cache "$C" "$tmp/new/sqlite3.c" 11.3.0 9.9.9 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ] && [ ! -s "$tmp/npm.log" ] &&
	grep -q "not built in $C: 11.3.0 9.9.9 .*--fetch" "$tmp/err"
check $? "releases not built, no --fetch: one line naming them all, exit 2, npm never run ($(cat "$tmp/err"))"
PATH=$tmp/bin:$PATH $L --fetch --opt -O0 --cache "$C" 11.3.0 "$tmp/new/sqlite3.c" >"$tmp/out" 2>"$tmp/err"
rc=$?
printf '%s\n' "$C/3.45.1-e876e51a0ed5/libsqlite3.so" "$C/3.46.1-c9c2ab54ba1f/libsqlite3.so" >"$tmp/want"
[ $rc -eq 0 ] && cmp -s "$tmp/out" "$tmp/want" && [ "$(wc -l <"$tmp/npm.log")" -eq 1 ] &&
	grep -q "^pack --silent better-sqlite3@11.3.0$" "$tmp/npm.log" &&
	grep -q "^origin npm better-sqlite3@11.3.0$" "$C/3.46.1-c9c2ab54ba1f/build-info"
check $? "--fetch: npm packs the release once, its rung takes its place by version (exit $rc)"
PATH=$tmp/bin:$PATH $L --opt -O0 --cache "$C" 11.3.0 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "$C/3.46.1-c9c2ab54ba1f/libsqlite3.so" ] &&
	[ "$(wc -l <"$tmp/npm.log")" -eq 1 ]
check $? "a release built once is reused without --fetch, npm not run again (exit $rc)"
PATH=$tmp/bin:$PATH sh "$root/scripts/build-sqlite.sh" --opt -O1 --cache "$C" --by-source-id --no-fetch --npm 11.3.0 \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 4 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/npm.log")" -eq 1 ] && grep -q "and --no-fetch" "$tmp/err"
check $? "build-sqlite --no-fetch with other flags than the build there: exit 4, no npm (exit $rc)"
sh "$root/scripts/build-sqlite.sh" --no-fetch "$tmp/new/sqlite3.c" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "no-fetch goes with --npm" "$tmp/err"
check $? "build-sqlite --no-fetch without --npm is bad usage"

# --- the catalogue's measurements --------------------------------------------------
"$W" findings range 3.39.1=passes 3.40.1=fails,3/100 3.45.1=0/500 >"$tmp/out"
printf 'versions 3040001-3040001\nfixed 3045001\n' | cmp -s - "$tmp/out"
check $? "findings range: the newest measured lacks it: a closed range and fixed ($(tr '\n' '|' <"$tmp/out"))"
"$W" findings range 3.39.1=1/100 3.40.1=passes 3.45.1=fails >"$tmp/out"
[ "$(cat "$tmp/out")" = "versions 3039001-" ]
check $? "findings range: the newest measured has it: open-ended from the oldest with it"
for bad in "3.40.1=maybe" "3.40.1=0/10" "3.45.1=fails 3.40.1=fails" ""; do
	# shellcheck disable=SC2086
	"$W" findings range $bad >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ]
	check $? "findings range '$bad': one line, exit 2 ($(cat "$tmp/err"))"
done
"$W" findings list >"$tmp/out"
[ "$(grep -c "^  measured: [0-9-]* on 3\.[0-9.]*=" "$tmp/out")" -eq 3 ]
check $? "findings list shows the measurement of each shipped finding"

# --- measure-finding.sh -----------------------------------------------------------
$M >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]
check $? "measure-finding without arguments: one line, exit 2"
$M no-such-finding /dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "no recipe for 'no-such-finding'" "$tmp/err"
check $? "measure-finding: an unknown finding, exit 2"
$M --seeds ten wal-non-powersafe-commit-loss /dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "expected a count" "$tmp/err"
check $? "measure-finding: --seeds wants a count"
linked=$("$W" run --seed 1 --txns 5 | sed -n 's/.*(linked: \([^,]*\),.*/\1/p')
version=$("$W" findings list | sed -n '1s/.*this is SQLite \([0-9.]*\)).*/\1/p')
if [ -n "$linked" ] && [ -f "$linked" ] && [ -x "${BUILD:-$root/build}/tests/test_simvfs" ]; then
	WHOPPER=$W $M --seeds 20 wal-non-powersafe-commit-loss "$linked" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] && grep -q "^$version  *pinned seed 781 " "$tmp/out" &&
		grep -q "^versions 3[0-9]*-" "$tmp/out" &&
		grep -Eq "^measured [0-9]{4}-[0-9]{2}-[0-9]{2} $version=(fails,)?[0-9]+/20$" "$tmp/out"
	check $? "measure-finding runs the WAL scenario on the linked SQLite $version and prints its lines (exit $rc: $(tr '\n' '|' <"$tmp/out") $(cat "$tmp/err"))"
else
	skip "measure-finding on the linked SQLite: no test_simvfs built, or the linked library not found"
fi
if [ -n "$linked" ] && [ -f "$linked" ]; then
	# The corpus file is compact; the recipe records it again in full, so
	# on the linked SQLite it follows the recorded schedule to the end.
	WHOPPER=$W $M --seeds 1 stale-schema-no-such-table "$linked" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] && grep -q "^$version .* fails  known:stale-schema-no-such-table  *none  *no  *[01]/1 fail" "$tmp/out" &&
		grep -q "^versions 3[0-9]*-$" "$tmp/out" &&
		grep -Eq "^measured [0-9]{4}-[0-9]{2}-[0-9]{2} $version=fails,[01]/1$" "$tmp/out"
	check $? "measure-finding records the stale-schema corpus entry in full and measures it with versions --finding (exit $rc: $(tr '\n' '|' <"$tmp/out") $(cat "$tmp/err"))"
else
	skip "measure-finding of a recorded finding: the linked library not found"
fi

echo "1..$n"
[ $fails -eq 0 ]
