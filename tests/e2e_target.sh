#!/bin/sh
# End-to-end tests of --target-lib: whopper driving an SQLite library
# other than the one it is linked with.
#
# Always run: libraries whopper must refuse (a stub lacking entry points,
# a stub too old, a path that does not load), each a one-line error naming
# the library, exit 2, nothing written.
#
# Run when a second SQLite is built (scripts/build-sqlite.sh; the library
# is $WH_TARGET_LIB, else the newest build/sqlite/VERSION/libsqlite3.so;
# a debug build is $WH_TARGET_LIB_DEBUG, else the newest -debug one; one
# older than 3.37.0 is $WH_TARGET_LIB_OLD, else the first built below that):
# a run on it passes and names its version in the summary and --json, is
# deterministic, records a replay file that names it and replays only on
# it; a planted defect is caught on it as on the linked SQLite; crash
# recovery runs through it; nightly and shrink pass it on; with a debug
# build, SQLite's own assert() firing is a crash the nightly reports; an
# old SQLite runs on the fallbacks for what it lacks; SQLCipher runs with
# its key first (or, in a sanitizer build, is refused for lacking
# -Bsymbolic).
# Without the library those tests print one "ok N - # SKIP" line each;
# with WH_REQUIRE_TARGET_LIB=1 (CI) a missing library fails instead.
#
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines.
set -u
W=${1:-bin/whopper}
. "$(dirname "$0")/tap.sh"
json_field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p"; }
hash_of() { sed -n 's/.*"trace_hash": "\([0-9a-f]*\)".*/\1/p' | head -1; }
root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-cc}

# --- libraries whopper refuses ------------------------------------------------
# Stubs with a few sqlite3_* symbols, linked as the build script links a real
# one (-Bsymbolic: sanitizer builds of whopper insist on it).
cat >"$tmp/stub.c" <<'EOF'
#ifndef STUB_VERSION
#define STUB_VERSION 3045000
#endif
const char *sqlite3_libversion(void) { return "stub"; }
int sqlite3_libversion_number(void) { return STUB_VERSION; }
const char *sqlite3_sourceid(void) { return "stub"; }
int sqlite3_open_v2(const char *name, void **db, int flags, const char *vfs)
{
	(void)name; (void)flags; (void)vfs;
	*db = 0;
	return 1;
}
EOF
"$cc" -fPIC -shared -Wl,-Bsymbolic -o "$tmp/libmissing.so" "$tmp/stub.c" &&
	"$cc" -fPIC -shared -Wl,-Bsymbolic -DSTUB_VERSION=3006023 -o "$tmp/libold.so" "$tmp/stub.c"
check $? "the stub libraries build"

"$W" run --seed 1 --txns 10 --target-lib "$tmp/libmissing.so" --record "$tmp/x.whop" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "libmissing.so" "$tmp/err" &&
	grep -q "lacks sqlite3_initialize" "$tmp/err" && [ ! -s "$tmp/out" ] && [ ! -e "$tmp/x.whop" ]
check $? "a library lacking an entry point is refused: one line naming it and the symbol, exit 2, nothing written ($(cat "$tmp/err"))"
"$W" run --seed 1 --txns 10 --target-lib "$tmp/libold.so" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "libold.so: SQLite 3.6.23 is too old" "$tmp/err"
check $? "a library older than the VFS needs is refused, naming its version ($(cat "$tmp/err"))"
"$W" run --seed 1 --txns 10 --target-lib "$tmp/nonexistent.so" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "nonexistent.so: cannot load" "$tmp/err"
check $? "a path that does not load is refused in one line, exit 2"
"$W" nightly --runs 2 --out "$tmp/nbad" --target-lib "$tmp/libmissing.so" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "lacks sqlite3_initialize" "$tmp/err" &&
	[ ! -e "$tmp/nbad" ]
check $? "nightly refuses the library before any run, writing nothing"
"$W" nightly --runs 2 --out "$tmp/nbad" -- --target-lib "$tmp/libmissing.so" >/dev/null 2>&1
[ $? -eq 2 ] && [ ! -e "$tmp/nbad" ]
check $? "nightly: --target-lib among the run flags is a usage error (it is the job's option)"

# --- a second SQLite ----------------------------------------------------------
# The newest built version, plain and debug.
newest() { ls -d "$root"/build/sqlite/*/ 2>/dev/null | sed 's|/$||' | "$@" | sort -V | tail -n 1; }
lib=${WH_TARGET_LIB:-}
[ -n "$lib" ] || lib=$(newest grep -v -- '-debug$')
[ -z "$lib" ] || [ -n "${WH_TARGET_LIB:-}" ] || lib=$lib/libsqlite3.so
dlib=${WH_TARGET_LIB_DEBUG:-}
[ -n "$dlib" ] || dlib=$(newest grep -- '-debug$')
[ -z "$dlib" ] || [ -n "${WH_TARGET_LIB_DEBUG:-}" ] || dlib=$dlib/libsqlite3.so
# A test that needs a library not found: $2 says where one comes from.
need() {
	why=${2:-no library built (scripts/build-sqlite.sh)}
	if [ "${WH_REQUIRE_TARGET_LIB:-0}" = 1 ]; then
		nok "$1: $why (WH_REQUIRE_TARGET_LIB=1)"
	else
		skip "$1: $why"
	fi
}

RUN="--seed 4 --workload default --connections 4 --txns 300"
if [ -n "$lib" ] && [ -f "$lib" ]; then
	# shellcheck disable=SC2086
	"$W" run $RUN --target-lib "$lib" --json >"$tmp/a.json"
	rc=$?
	version=$(json_field version <"$tmp/a.json")
	# shellcheck disable=SC2086
	"$W" run $RUN --target-lib "$lib" >"$tmp/a.txt"
	[ $rc -eq 0 ] && grep -q '"verdict": "pass"' "$tmp/a.json" && [ -n "$version" ] &&
		grep -q "\"library\": \"$lib\", \"linked\": false" "$tmp/a.json" &&
		grep -q "^  target: SQLite $version ($lib, source " "$tmp/a.txt" &&
		grep -q "^  repro: .* --target-lib $lib$" "$tmp/a.txt"
	check $? "a run on the second SQLite ($version) passes and names it in the summary, the repro and --json"
	# shellcheck disable=SC2086
	h1=$(hash_of <"$tmp/a.json")
	# shellcheck disable=SC2086
	h2=$("$W" run $RUN --target-lib "$lib" --json | hash_of)
	[ -n "$h1" ] && [ "$h1" = "$h2" ]
	check $? "same seed, flags and library: the same trace hash ($h1)"

	# shellcheck disable=SC2086
	"$W" run $RUN --faults chaos --target-lib "$lib" --record "$tmp/t.whop" --quiet
	rc=$?
	grep -q "^sqlite-version $version$" "$tmp/t.whop" && grep -q "^sqlite-library $lib$" "$tmp/t.whop" &&
		grep -q '^sqlite-source-id ' "$tmp/t.whop" && ! grep -q '^arg --target-lib' "$tmp/t.whop"
	check $? "the replay file's header names the library, its version and source id (exit $rc)"
	"$W" replay "$tmp/t.whop" >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "recorded with SQLite $version ($lib" "$tmp/err" &&
		grep -q "this is SQLite $("$W" run --seed 1 --txns 1 --json | json_field version)" "$tmp/err"
	check $? "a recording on the second SQLite is refused on the linked one, naming both ($(cut -c1-160 "$tmp/err")...)"
	"$W" replay "$tmp/t.whop" --target-lib "$lib" --quiet
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 1 ]
	check $? "... and replays on it with --target-lib (exit $rc, same trace hash)"
	# shellcheck disable=SC2086
	"$W" run $RUN --record "$tmp/linked.whop" --quiet
	"$W" replay "$tmp/linked.whop" --target-lib "$lib" >/dev/null 2>"$tmp/err"
	[ $? -eq 2 ] && grep -q "this is SQLite $version ($lib" "$tmp/err"
	check $? "a recording on the linked SQLite is refused on the second one"

	BUG="--seed 1 --workload bank --connections 8 --txns 300 --journal delete --vfs-bug no-locks"
	# shellcheck disable=SC2086
	s1=$("$W" run $BUG --json | json_field signature)
	# shellcheck disable=SC2086
	s2=$("$W" run $BUG --target-lib "$lib" --json --record "$tmp/bug.whop" | json_field signature)
	case $s1 in new:*vfs-bug=no-locks) s1_ok=0 ;; *) s1_ok=1 ;; esac
	case $s2 in new:*vfs-bug=no-locks) s2_ok=0 ;; *) s2_ok=1 ;; esac
	[ $s1_ok -eq 0 ] && [ $s2_ok -eq 0 ]
	check $? "a planted --vfs-bug no-locks is caught on the second SQLite as on the linked one ($s2; $s1)"
	"$W" shrink "$tmp/bug.whop" --out "$tmp/min.whop" --time-limit 5 --quiet --target-lib "$lib"
	rc=$?
	[ $rc -eq 0 ] && grep -q "^sqlite-library $lib$" "$tmp/min.whop" &&
		"$W" replay "$tmp/min.whop" --target-lib "$lib" --quiet
	[ $? -eq 1 ] && [ $rc -eq 0 ]
	check $? "shrink --target-lib shrinks on the second SQLite; the result names it and still fails"

	# shellcheck disable=SC2086
	out=$("$W" run --seed 6 --workload bank --connections 4 --txns 300 --faults crash --target-lib "$lib" --json)
	rc=$?
	[ $rc -eq 0 ] && echo "$out" | grep -q '"crashes": [1-9]' && echo "$out" | grep -q '"recoveries": [1-9]'
	check $? "power losses on the second SQLite: it recovers its own journal, the oracle agrees"
	# shellcheck disable=SC2086
	"$W" run --seed 2 --target memory-shared --txns 200 --target-lib "$lib" --quiet
	check $? "--target memory-shared on the second SQLite: the oracle reads its in-memory database through it"

	"$W" nightly --runs 3 --seed 9 --jobs 2 --out "$tmp/n1" --target-lib "$lib" --shrink-time 0 -- --txns 100 \
		>/dev/null 2>"$tmp/nerr"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 1 ]
	n_rc=$?
	[ $n_rc -eq 0 ] && [ "$(grep -c "\"--target-lib\", \"$lib\"" "$tmp/n1/results.jsonl")" -eq 3 ] &&
		grep -q "\"sqlite\": {\"version\": \"$version\"" "$tmp/n1/summary.json" &&
		grep -q "Target: SQLite $version ($lib" "$tmp/n1/report.html" &&
		grep -q "<property name=\"sqlite\" value=\"SQLite $version" "$tmp/n1/junit.xml" &&
		grep -q "\"target_libs\": \\[\"$lib\"\\]" "$tmp/n1/job.json" && grep -q "target SQLite $version" "$tmp/nerr"
	check $? "nightly --target-lib runs every child on it and names it in results, summary, report and junit"
else
	for t in "a run on a second SQLite" "the same trace hash on it" "its replay file's header" \
		"refused replay on the linked SQLite" "replay with --target-lib" "linked recording refused on it" \
		"a planted defect caught on it" "shrink --target-lib" "power losses on it" \
		"memory-shared on it" "nightly --target-lib"; do
		need "$t"
	done
fi

# Two libraries at once: the target is a matrix dimension. Runs come in
# rows, one per library, with the same drawn flags and seed; the reports
# tally each library's runs, failures and CPU seconds per signature.
if [ -n "$lib" ] && [ -f "$lib" ] && [ -n "$dlib" ] && [ -f "$dlib" ]; then
	"$W" nightly --runs 6 --seed 17 --jobs 2 --out "$tmp/n3" --target-lib "$lib" --target-lib "$dlib" \
		--shrink-time 0 -- --txns 100 >"$tmp/n3.out" 2>&1
	rc=$?
	pairs_ok=0
	for i in 0 2 4; do
		a=$(grep "\"index\": $i," "$tmp/n3/results.jsonl")
		b=$(grep "\"index\": $((i + 1))," "$tmp/n3/results.jsonl")
		sa=$(echo "$a" | sed -n 's/.*"seed": \([0-9]*\),.*/\1/p')
		sb=$(echo "$b" | sed -n 's/.*"seed": \([0-9]*\),.*/\1/p')
		[ -n "$sa" ] && [ "$sa" = "$sb" ] && echo "$a" | grep -q "\"target_lib\": \"$lib\"" &&
			echo "$b" | grep -q "\"target_lib\": \"$dlib\"" || pairs_ok=1
	done
	[ $rc -eq 0 ] && [ $pairs_ok -eq 0 ] &&
		[ "$(grep -c "\"sqlite_version\": \"$version\", \"sqlite_source_id\": \"" "$tmp/n3/results.jsonl")" -eq 6 ] &&
		grep -q "\"library\": \"$lib\", \"version\": \"$version\".*\"runs\": 3, \"failures\": 0, \"cpu_s\": " "$tmp/n3/summary.json" &&
		grep -q "\"library\": \"$dlib\", \"version\": \"$version\".*\"runs\": 3, " "$tmp/n3/summary.json" &&
		grep -q '<h2>Targets</h2>' "$tmp/n3/report.html" &&
		grep -q "^  target $version $lib: 3 runs, 0 failing, " "$tmp/n3.out" &&
		tail -n 1 "$tmp/n3.out" | grep -q '^  totals: 6 runs'
	check $? "nightly with two --target-lib: rows pair the libraries (same seed), each line names its library and version, the reports tally runs, failures and CPU seconds per library"
else
	need "nightly with two --target-lib"
fi

# The corpus remembers the library: a failure kept on one library replays
# on it the next night, and is stale for a job that targets another.
if [ -n "$lib" ] && [ -f "$lib" ] && [ -n "$dlib" ] && [ -f "$dlib" ]; then
	PLANT="--workload bank --connections 8 --txns 200 --journal delete --vfs-bug no-locks --faults none"
	# shellcheck disable=SC2086
	"$W" nightly --runs 1 --seed 3 --out "$tmp/c1" --corpus "$tmp/corpus" --target-lib "$lib" \
		--shrink-time 0 -- $PLANT >/dev/null 2>&1
	rc1=$?
	# shellcheck disable=SC2086
	"$W" nightly --runs 1 --seed 4 --out "$tmp/c2" --corpus "$tmp/corpus" --target-lib "$lib" \
		--shrink-time 0 -- $PLANT >/dev/null 2>&1
	# shellcheck disable=SC2086
	"$W" nightly --runs 1 --seed 4 --out "$tmp/c3" --corpus "$tmp/corpus" --target-lib "$dlib" \
		--shrink-time 0 -- $PLANT >/dev/null 2>&1
	[ $rc1 -eq 1 ] && ls "$tmp"/corpus/*.whop >/dev/null 2>&1 &&
		grep '"kind": "replay"' "$tmp/c2/results.jsonl" | grep -q '"outcome": "still failing"' &&
		grep '"kind": "replay"' "$tmp/c2/results.jsonl" | grep -q "\"repro\": \"[^\"]* replay [^\"]* --target-lib $lib\"" &&
		grep '"kind": "replay"' "$tmp/c3/results.jsonl" | grep -q '"outcome": "stale"'
	check $? "a corpus failure kept on one library replays on it (still failing), and is stale for a job on another"
else
	need "the corpus remembers the library"
fi

# An SQLite older than 3.37.0 ($WH_TARGET_LIB_OLD, else the first one built
# under build/sqlite): no sqlite3_changes64 (the driver falls back to
# sqlite3_changes) and no pragma_table_list (the digest of a recovered
# database falls back to sqlite_master and a probe per table). The oracle
# checks every statement's change count and every recovery's digest
# against the linked SQLite's, so a wrong fallback fails these runs.
olib=${WH_TARGET_LIB_OLD:-}
if [ -z "$olib" ]; then
	for f in "$root"/build/sqlite/*/libsqlite3.so; do
		v=$(basename "$(dirname "$f")")
		v=${v%-debug}
		[ -f "$f" ] && [ "$v" != 3.37.0 ] &&
			[ "$(printf '%s\n3.37.0\n' "$v" | sort -V | head -n 1)" = "$v" ] && olib=$f && break
	done
fi
if [ -n "$olib" ] && [ -f "$olib" ]; then
	# shellcheck disable=SC2086
	out=$("$W" run --seed 1 --workload default --connections 4 --txns 300 --faults crash --target-lib "$olib" --json)
	rc=$?
	v=$(echo "$out" | json_field version)
	[ $rc -eq 0 ] && echo "$out" | grep -q '"recoveries": [1-9]' &&
		echo "$out" | grep -q '"version_number": 303[0-6]'
	check $? "SQLite $v (before sqlite3_changes64 and pragma_table_list): change counts and recovered digests agree with the reference"
	"$W" run --seed 2 --target memory-shared --txns 200 --target-lib "$olib" --quiet
	check $? "SQLite $v: the oracle's final checks read its in-memory database through it"
else
	for t in "an SQLite before 3.37.0: fallbacks" "an SQLite before 3.37.0: memory-shared"; do
		need "$t"
	done
fi

# SQLCipher (Debian's libsqlcipher0: SQLCipher 3.4.1 on SQLite 3.15.2), an
# encrypting fork: its key is a pragma that must come before anything
# reads the database, and only it can read the file. Debian links it
# without -Bsymbolic, which a sanitizer build of whopper (no
# RTLD_DEEPBIND) must refuse, naming the reason.
clib=${WH_SQLCIPHER_LIB:-/usr/lib/x86_64-linux-gnu/libsqlcipher.so.0}
case "${BUILD:-}:$W" in build-san:* | *build-san/*) san=1 ;; *) san=0 ;; esac
if [ -f "$clib" ] && [ $san -eq 1 ]; then
	"$W" run --seed 1 --txns 10 --target-lib "$clib" >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "not linked with -Wl,-Bsymbolic" "$tmp/err"
	check $? "a sanitizer build refuses a library linked without -Bsymbolic (SQLCipher), naming the reason"
	skip "SQLCipher runs: not in a sanitizer build (the library lacks -Bsymbolic)"
	skip "SQLCipher: a workload's requirements: not in a sanitizer build"
elif [ -f "$clib" ]; then
	KEY="--pragma key='whopper' --pragma kdf_iter=64"
	# shellcheck disable=SC2086
	out=$("$W" run --seed 5 --workload bank --connections 4 --txns 300 --faults crash $KEY --target-lib "$clib" --json)
	rc=$?
	# shellcheck disable=SC2086
	h2=$("$W" run --seed 5 --workload bank --connections 4 --txns 300 --faults crash $KEY --target-lib "$clib" --json | hash_of)
	[ $rc -eq 0 ] && echo "$out" | grep -q '"recoveries": [1-9]' && echo "$out" | grep -q '"version": "3.15.2"' &&
		[ "$(echo "$out" | hash_of)" = "$h2" ]
	check $? "SQLCipher with a key: setup, connections, recovery and the oracle's final checks open with the key first; deterministic"
	# shellcheck disable=SC2086
	"$W" run --seed 2 --workload inventory --connections 4 --txns 200 --faults chaos --journal delete $KEY \
		--target-lib "$clib" --quiet
	check $? "SQLCipher with a key under chaos faults in a rollback journal mode passes the oracle"
	# SQLite 3.15.2 cannot prepare ddl-churn's DROP COLUMN (3.35.0) nor
	# rw-register's UPSERT (3.24.0): run refuses the one, default leaves
	# both out and still passes, and a replay composes it the same way.
	# shellcheck disable=SC2086
	"$W" run --seed 1 --workload ddl-churn --txns 50 $KEY --target-lib "$clib" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ] &&
		grep -q "^whopper: --workload ddl-churn: workloads/ddl-churn.sql:[0-9]*: needs SQLite 3.35.0 (ALTER TABLE DROP COLUMN); the target is SQLite 3.15.2 ($clib)$" "$tmp/err"
	check $? "SQLCipher (SQLite 3.15.2): run of ddl-churn is refused in one line naming the requirement and the target, exit 2"
	# shellcheck disable=SC2086
	out=$("$W" run --seed 3 --workload default --connections 4 --txns 400 $KEY --target-lib "$clib" --json --record "$tmp/c.whop")
	rc=$?
	# shellcheck disable=SC2086
	"$W" run --seed 3 --workload default --connections 4 --txns 400 $KEY --target-lib "$clib" >"$tmp/c.txt"
	[ $rc -eq 0 ] && echo "$out" | grep -q '"includes_left_out": \[{"include": "rw-register", "needs": "3.24.0", "reason": "UPSERT[^"]*", "declared_at": "workloads/rw-register.sql:[0-9]*"}, {"include": "ddl-churn", "needs": "3.35.0", ' &&
		! echo "$out" | grep -q '"ddl-churn/' && ! echo "$out" | grep -q '"rw-register/' &&
		echo "$out" | grep -q '"bank/transfer"' &&
		grep -q '^  left out (need a newer SQLite): rw-register (3.24.0: UPSERT.*), ddl-churn (3.35.0: ALTER TABLE DROP COLUMN, workloads/ddl-churn.sql:[0-9]*)$' "$tmp/c.txt" &&
		grep -q '^workload-for 3.15.2$' "$tmp/c.whop"
	check $? "SQLCipher: default leaves out rw-register and ddl-churn (summary, --json, the replay file say so) and passes"
	"$W" replay "$tmp/c.whop" --target-lib "$clib" --quiet
	check $? "SQLCipher: the recording of default replays on it, composed as recorded (same trace hash)"
	# shellcheck disable=SC2086
	"$W" run --seed 1 --workload default --connections 8 --txns 300 --journal delete --vfs-bug no-locks $KEY \
		--target-lib "$clib" --record "$tmp/cbug.whop" --quiet
	rc=$?
	"$W" shrink "$tmp/cbug.whop" --out "$tmp/cmin.whop" --time-limit 5 --quiet --target-lib "$clib"
	src=$?
	grep -q '^workload-for 3.15.2$' "$tmp/cmin.whop" && "$W" replay "$tmp/cmin.whop" --target-lib "$clib" --quiet
	[ $? -eq 1 ] && [ $rc -eq 1 ] && [ $src -eq 0 ]
	check $? "SQLCipher: a shrunk recording of default keeps its composition (workload-for) and still fails"
	# A finding in SQLCipher 3.4.1, pinned: it reads its key-derivation
	# salt from bytes 0-15 of the database file at every open, not
	# through the pager and WAL. A WAL checkpoint may rewrite page 1
	# without a sync (SQLite allows it: the WAL still holds the page);
	# a power loss that tears that write leaves garbage SQLite itself
	# recovers from the WAL, but SQLCipher derives the wrong key: "file
	# is not a database". (13 of seeds 1-150 of these flags fail so on
	# SQLCipher; none on a plain SQLite 3.15.)
	# shellcheck disable=SC2086
	"$W" run --seed 7800266445112804930 --workload default --connections 3 --txns 250 --journal wal \
		--synchronous full --scheduler pct --pct-depth 4 --faults crash $KEY --target-lib "$clib" \
		--json >"$tmp/salt.json" 2>/dev/null
	[ $? -eq 1 ] && grep -q '"kind": "recovery_failed", .*file is not a database (rc 26)' "$tmp/salt.json"
	check $? "SQLCipher's salt read past the WAL: a power loss tearing an unsynced page-1 write makes the database unreadable to it (pinned seed)"
	# A second one: under injected allocation failures,
	# sqlcipher_cipher_ctx_copy copies the whole read context into the
	# write context, then fails on a later allocation; the write
	# context still points at the read context's keyspec, which is freed
	# twice (valgrind: double free in sqlcipher_codec_ctx_free of a block
	# from sqlcipher_codec_key_derive). The corrupted heap kills the run.
	# shellcheck disable=SC2086
	# (Seed 9 since power losses keep only a prefix of each sector's
	# writes, replay format 6; valgrind shows the same invalid free in
	# sqlcipher_codec_ctx_free.)
	"$W" run --seed 9 --workload delete-heavy --connections 16 --txns 500 \
		--journal memory --synchronous normal --scheduler pct --pct-depth 1 --faults chaos $KEY \
		--target-lib "$clib" >/dev/null 2>"$tmp/df.err"
	rc=$?
	{ [ $rc -eq 134 ] || [ $rc -eq 139 ]; } && grep -q '^whopper: fatal signal' "$tmp/df.err"
	check $? "SQLCipher's double free of a key context under allocation failures kills the run (pinned seed, exit $rc)"
	# The nightly draws neither for it, and says so.
	"$W" nightly --runs 200 --seed 11 --dry-run --workloads ddl-churn,rw-register,bank,default \
		--target-lib "$clib" -- --txns 60 >"$tmp/dry"
	[ "$(wc -l <"$tmp/dry")" -eq 200 ] && ! grep -q -- '--workload ddl-churn\|--workload rw-register' "$tmp/dry" &&
		grep -q -- '--workload bank' "$tmp/dry" && grep -q -- '--workload default' "$tmp/dry"
	check $? "nightly --dry-run on SQLCipher: 200 runs, none of ddl-churn or rw-register"
	# shellcheck disable=SC2086
	"$W" nightly --runs 4 --seed 11 --jobs 2 --out "$tmp/nc" --workloads ddl-churn,rw-register,bank,default \
		--target-lib "$clib" --shrink-time 0 -- --txns 60 $KEY >/dev/null 2>"$tmp/nerr"
	rc=$?
	{ [ $rc -eq 0 ] || [ $rc -eq 1 ]; } && [ "$(grep -c '"kind": "run"' "$tmp/nc/results.jsonl")" -eq 4 ] &&
		! grep -q '"--workload", "ddl-churn"\|"--workload", "rw-register"' "$tmp/nc/results.jsonl" &&
		grep -q '^whopper nightly: ddl-churn is not drawn for .*libsqlcipher.* (SQLite 3.15.2): needs 3.35.0 (ALTER TABLE DROP COLUMN), workloads/ddl-churn.sql:[0-9]*$' "$tmp/nerr" &&
		grep -q '^whopper nightly: default runs without rw-register on .*libsqlcipher.* (SQLite 3.15.2): needs 3.24.0 ' "$tmp/nerr" &&
		grep -q '{"workload": "rw-register", "include": null, "library": "[^"]*libsqlcipher[^"]*", "sqlite_version": "3.15.2", "needs": "3.24.0", ' "$tmp/nc/summary.json" &&
		grep -q '{"workload": "default", "include": "ddl-churn", ' "$tmp/nc/summary.json" &&
		grep -q 'is not drawn for <code>[^<]*libsqlcipher' "$tmp/nc/report.html"
	check $? "nightly on SQLCipher: the pairs it skips are named on the console, in summary.json and report.html (exit $rc)"
	"$W" nightly --runs 2 --out "$tmp/nc2" --workloads ddl-churn --target-lib "$clib" >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "none of them can run on .*libsqlcipher.* (SQLite 3.15.2): ddl-churn needs 3.35.0" "$tmp/err" &&
		[ ! -e "$tmp/nc2" ]
	check $? "nightly refuses a target that can run none of the workloads, writing nothing"
else
	need "SQLCipher refused or run" "no $clib (Debian: libsqlcipher0)"
	need "SQLCipher runs" "no $clib (Debian: libsqlcipher0)"
	need "SQLCipher: ddl-churn refused" "no $clib (Debian: libsqlcipher0)"
	need "SQLCipher: default leaves includes out" "no $clib (Debian: libsqlcipher0)"
	need "SQLCipher: a recording of default replays" "no $clib (Debian: libsqlcipher0)"
	need "SQLCipher: a shrunk recording of default keeps its composition" "no $clib (Debian: libsqlcipher0)"
	need "SQLCipher: nightly --dry-run draws what it can run" "no $clib (Debian: libsqlcipher0)"
	need "SQLCipher: nightly names the pairs it skips" "no $clib (Debian: libsqlcipher0)"
	need "SQLCipher: nightly refuses a target that can run nothing" "no $clib (Debian: libsqlcipher0)"
fi

# A debug build: SQLite's own assertions are on. The planted no-shm-locks
# defect lets two checkpointers race in the WAL index, and this seed drives
# SQLite into a state its assert() in walRestartLog rejects: the run dies by
# SIGABRT, and the nightly reports the crash with the assertion text.
if [ -n "$dlib" ] && [ -f "$dlib" ]; then
	CRASH="--seed 5 --workload default --connections 8 --txns 300 --vfs-bug no-shm-locks --journal wal"
	# shellcheck disable=SC2086
	"$W" run $CRASH --target-lib "$dlib" --quiet >/dev/null 2>"$tmp/aerr"
	rc=$?
	[ $rc -gt 128 ] && grep -q "Assertion .* failed" "$tmp/aerr" && grep -q "fatal signal 6" "$tmp/aerr"
	check $? "a debug SQLite's assert() firing kills the run by SIGABRT with its message (exit $rc)"
	# shellcheck disable=SC2086
	"$W" run --seed 4 --txns 200 --target-lib "$dlib" --quiet
	check $? "an honest run on the debug SQLite passes (no assertion fires)"
	# The drawn flags are overridden by the user's; the matrix still adds
	# pragmas, so the crash is looked for in what the child reported.
	# shellcheck disable=SC2086
	"$W" nightly --runs 1 --seed 1 --out "$tmp/n2" --target-lib "$dlib" --shrink-time 0 -- $CRASH \
		--faults none --scheduler random --synchronous full >/dev/null 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q '"status": "crash"' "$tmp/n2/results.jsonl" &&
		grep -q 'Assertion' "$tmp/n2/results.jsonl"
	check $? "nightly: the assert()-killed run is a crash, its detail holds the assertion (exit $rc)"
else
	for t in "assert() kills the run" "an honest run on the debug SQLite" "nightly reports the assert() crash"; do
		need "$t"
	done
fi

echo "1..$n"
[ $fails -eq 0 ]
