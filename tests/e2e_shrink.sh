#!/bin/sh
# End-to-end tests of replay files and the shrinker: record a failing run
# of the dirty-read configuration, shrink it to at most 12 statements
# within 60 s, replay the result (it still fails the same way), shrink
# twice for identical outputs, refuse corrupt and truncated files (exit
# 2), replay 20 honest recordings with identical trace hashes, render
# MIN.svg in headless Chromium when it is installed, and do the same
# record -> shrink -> replay for each planted VFS bug once `run` has them.
# The binary is $1. Prints TAP-style "ok N - ..." / "not ok N - ...".
set -u
W=${1:-bin/whopper}
. "$(dirname "$0")/tap.sh"
json_statements() { sed -n 's/.*"statements": \([0-9]*\).*/\1/p'; }
json_kind() { sed -n 's/.*"violations": \[{"kind": "\([a-z_]*\)".*/\1/p'; }
json_hash() { sed -n 's/.*"trace_hash": "\([0-9a-f]*\)".*/\1/p'; }
signature_of() { sed -n 's/^signature //p' "$1"; }
# The class a violation kind belongs to (shrink.c's bug_kinds).
bug_class() {
	case $1 in
	lost_commit | lost_update | phantom_commit | final_state) echo data-loss ;;
	read_mismatch | aborted_read | intermediate_read | dirty_read | read_skew | write_skew) echo wrong-read ;;
	integrity_check | foreign_key_check | invariant | recovery_*) echo corruption ;;
	stale_schema_error | hang | setup_failed) echo error ;;
	*) echo "$1" ;;
	esac
}

# Record a failing run of configuration "$@" into $tmp/$name.whop, trying
# seeds 1..20; prints the seed, or nothing.
record_failing() {
	name=$1
	shift
	for s in $(seq 1 20); do
		"$W" run --seed "$s" "$@" --quiet --record "$tmp/$name.whop" >/dev/null 2>&1
		if [ $? -eq 1 ]; then
			echo "$s"
			return
		fi
	done
}

# Shrink $tmp/$name.whop into $tmp/$name/MIN.whop and check: within 60 s,
# at most 12 statements, the replay fails with a violation of the same class
# (data loss, wrong read, corruption, error) as the recording
shrink_and_check() {
	name=$1
	mkdir -p "$tmp/$name"
	kind0=$("$W" replay "$tmp/$name.whop" --json 2>/dev/null | json_kind)
	t0=$(date +%s)
	"$W" shrink "$tmp/$name.whop" --out "$tmp/$name/MIN.whop" --time-limit 60 --quiet
	rc=$?
	t1=$(date +%s)
	secs=$((t1 - t0))
	[ $rc -eq 0 ] && [ -s "$tmp/$name/MIN.whop" ] && [ -s "$tmp/$name/MIN.sql" ] &&
		[ -s "$tmp/$name/MIN.svg" ] && [ $secs -le 60 ]
	check $? "$name: shrink exits 0 within 60 s (${secs} s) and writes MIN.whop, MIN.sql, MIN.svg"
	out=$("$W" replay "$tmp/$name/MIN.whop" --json 2>/dev/null)
	rc=$?
	stmts=$(echo "$out" | json_statements)
	[ -n "$stmts" ] && [ "$stmts" -le 12 ]
	check $? "$name: the shrunk run has at most 12 statements ($stmts)"
	kind1=$(echo "$out" | json_kind)
	[ $rc -eq 1 ] && [ -n "$kind0" ] && [ "$(bug_class "$kind0")" = "$(bug_class "$kind1")" ]
	check $? "$name: the shrunk run replays and still fails with a $(bug_class "$kind0") violation like $kind0 (got '$kind1', exit $rc)"
	s0=$(signature_of "$tmp/$name.whop")
	s1=$(signature_of "$tmp/$name/MIN.whop")
	k0=${s0#*:}
	k1=${s1#*:}
	[ -n "$s1" ] && [ "$(bug_class "${k0%%@*}")" = "$(bug_class "${k1%%@*}")" ]
	check $? "$name: the shrunk file keeps the bug class of $s0 ($s1)"
}

# --- the dirty-read configuration -----------------------------------
DIRTY="--target memory-shared --pragma read_uncommitted=1 --workload bank --connections 4 --txns 60"
# shellcheck disable=SC2086
seed=$(record_failing dirty $DIRTY)
[ -n "$seed" ]
check $? "the dirty-read configuration fails within 20 seeds (seed ${seed:-none})"
if [ -n "$seed" ]; then
	shrink_and_check dirty

	grep -q '^-- ^^^ VIOLATION ' "$tmp/dirty/MIN.sql" &&
		grep -q '^-- ^^^ but the serial reference gives ' "$tmp/dirty/MIN.sql"
	check $? "MIN.sql annotates the violating read with observed versus expected"
	grep -q '^-- \[conn [0-9]*\]$' "$tmp/dirty/MIN.sql" && grep -q '^BEGIN' "$tmp/dirty/MIN.sql" &&
		grep -Eq '^(COMMIT|ROLLBACK);' "$tmp/dirty/MIN.sql" && ! grep -q '?[0-9]' "$tmp/dirty/MIN.sql"
	check $? "MIN.sql marks connection switches, shows BEGIN/COMMIT and inlines every bound value"

	grep -q 'xmlns="http://www.w3.org/2000/svg"' "$tmp/dirty/MIN.svg" &&
		grep -q 'VIOLATING READ' "$tmp/dirty/MIN.svg" && tail -n 1 "$tmp/dirty/MIN.svg" | grep -q '^</svg>$'
	check $? "MIN.svg is a standalone SVG with the violating read highlighted"
	if command -v xmllint >/dev/null 2>&1; then
		xmllint --noout "$tmp/dirty/MIN.svg" 2>/dev/null
		check $? "MIN.svg is well-formed XML"
	else
		skip "xmllint not installed"
	fi
	if [ -x /usr/bin/chromium ]; then
		profile=$(mktemp -d)
		timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu \
			--disable-background-networking --disable-component-update --disable-sync \
			--no-first-run --user-data-dir="$profile" --window-size=1400,1000 \
			--screenshot="$tmp/min.png" "file://$tmp/dirty/MIN.svg" >/dev/null 2>&1
		rm -rf "$profile"
		size=$(wc -c <"$tmp/min.png" 2>/dev/null || echo 0)
		[ "$size" -gt 10000 ] && [ "$(head -c 4 "$tmp/min.png" | tail -c 3)" = "PNG" ]
		check $? "MIN.svg renders in headless Chromium ($size byte PNG)"
	else
		skip "chromium not installed"
	fi

	# Determinism: the same input gives byte-identical outputs.
	mkdir -p "$tmp/again"
	"$W" shrink "$tmp/dirty.whop" --out "$tmp/again/MIN.whop" --time-limit 60 --quiet
	cmp -s "$tmp/dirty/MIN.whop" "$tmp/again/MIN.whop" &&
		cmp -s "$tmp/dirty/MIN.sql" "$tmp/again/MIN.sql" &&
		cmp -s "$tmp/dirty/MIN.svg" "$tmp/again/MIN.svg"
	check $? "shrinking twice gives identical MIN.whop, MIN.sql and MIN.svg"

	# A shrunk file shrinks again (to no more statements).
	mkdir -p "$tmp/twice"
	"$W" shrink "$tmp/dirty/MIN.whop" --out "$tmp/twice/MIN.whop" --time-limit 60 --quiet
	rc=$?
	s2=$("$W" replay "$tmp/twice/MIN.whop" --json 2>/dev/null | json_statements)
	[ $rc -eq 0 ] && [ -n "$s2" ] && [ "$s2" -le "$stmts" ]
	check $? "a shrunk file shrinks again to no more statements ($s2)"

	# Corrupt and truncated files are input errors; nothing is written.
	bytes=$(wc -c <"$tmp/dirty.whop")
	head -c $((bytes / 2)) "$tmp/dirty.whop" >"$tmp/trunc.whop"
	sed 's/^verdict fail$/verdict pass/' "$tmp/dirty.whop" >"$tmp/corrupt.whop"
	printf 'whopper-replay 3\n\001\002\000garbage' >"$tmp/binary.whop"
	sed 's/^whopper-replay [0-9]*$/whopper-replay 1/' "$tmp/dirty.whop" >"$tmp/version.whop"
	for f in trunc corrupt binary version; do
		"$W" replay "$tmp/$f.whop" >/dev/null 2>"$tmp/err"
		rc=$?
		[ $rc -eq 2 ] && grep -q "$f.whop:[0-9]*:" "$tmp/err"
		check $? "replay of a $f file exits 2 naming FILE:LINE ($(head -c 100 "$tmp/err"))"
		"$W" shrink "$tmp/$f.whop" --out "$tmp/$f-min.whop" >/dev/null 2>"$tmp/err"
		rc=$?
		[ $rc -eq 2 ] && grep -q "$f.whop:[0-9]*:" "$tmp/err" && [ ! -e "$tmp/$f-min.whop" ] &&
			[ ! -e "$tmp/$f-min.sql" ]
		check $? "shrink of a $f file exits 2 naming FILE:LINE and writes nothing"
	done
	"$W" shrink "$tmp/dirty.whop" >/dev/null 2>&1
	[ $? -eq 2 ]
	check $? "shrink without --out exits 2"
	"$W" shrink "$tmp/no-such.whop" --out "$tmp/x.whop" >/dev/null 2>&1
	[ $? -eq 2 ]
	check $? "shrink of a missing file exits 2"
	"$W" shrink "$tmp/dirty.whop" --out "$tmp/x.whop" --match dirty_read,no_such_kind >/dev/null 2>&1
	[ $? -eq 2 ] && [ ! -e "$tmp/x.whop" ]
	check $? "shrink --match with an unknown kind exits 2 and writes nothing"
	mkdir -p "$tmp/match"
	"$W" shrink "$tmp/dirty.whop" --out "$tmp/match/MIN.whop" --match "$kind0" --time-limit 60 --quiet
	rc=$?
	k=$("$W" replay "$tmp/match/MIN.whop" --json 2>/dev/null | json_kind)
	[ $rc -eq 0 ] && [ "$k" = "$kind0" ]
	check $? "shrink --match $kind0 keeps exactly that kind ($k)"
fi

# A passing recording has nothing to shrink: input error, nothing written.
"$W" run --seed 1 --workload bank --connections 2 --txns 20 --quiet --record "$tmp/pass.whop"
"$W" shrink "$tmp/pass.whop" --out "$tmp/pass-min.whop" >/dev/null 2>&1
[ $? -eq 2 ] && [ ! -e "$tmp/pass-min.whop" ]
check $? "shrinking a passing recording exits 2 and writes nothing"

# --- 20 honest recordings replay with identical trace hashes -----------
bad=0
for s in $(seq 1 20); do
	case $((s % 4)) in
	0) cfg="--workload bank --connections 3 --txns 40" ;;
	1) cfg="--workload default --connections 2 --txns 40" ;;
	2) cfg="--workload bank --connections 3 --txns 40 --journal delete" ;;
	*) cfg="--workload counter --connections 4 --txns 40 --scheduler pct" ;;
	esac
	# shellcheck disable=SC2086
	out=$("$W" run --seed "$s" $cfg --json --record "$tmp/h$s.whop" 2>/dev/null)
	rc1=$?
	h1=$(echo "$out" | json_hash)
	h2=$("$W" replay "$tmp/h$s.whop" --json 2>/dev/null | json_hash)
	if [ -z "$h1" ] || [ "$h1" != "$h2" ] || [ $rc1 -ne 0 ]; then
		bad=$((bad + 1))
		echo "# seed $s ($cfg): recorded $h1, replayed $h2"
	fi
done
[ $bad -eq 0 ]
check $? "20 recorded runs replay with identical trace hashes ($bad differ)"

# --- planted VFS bugs -------------------------------------------------
if "$W" run --help 2>/dev/null | grep -q -- '--vfs-bug'; then
	for bug in no-locks no-shm-locks lying-fsync; do
		# The signature keeps every new violation kind: 60 transactions
		# without locks show six kinds, which no run of 12 statements
		# shows together; 20 show four.
		txns=60
		case $bug in
		no-locks) extra="--journal delete"; txns=20 ;;
		no-shm-locks) extra="" ;;
		lying-fsync) extra="--faults crash --journal delete" ;;
		esac
		# shellcheck disable=SC2086
		seed=$(record_failing "$bug" --workload bank --connections 4 --txns $txns --vfs-bug "$bug" $extra)
		if [ -z "$seed" ]; then
			nok "--vfs-bug $bug: a failing seed within 20 seeds"
			continue
		fi
		ok "--vfs-bug $bug: seed $seed fails"
		shrink_and_check "$bug"
	done
else
	skip "run has no --vfs-bug yet: planted-bug shrinks not tested"
fi

# --- a nightly-scale finding from the corpus (bench/bench_shrink.sh
# shrinks them all) ---------------------------------------------------
corpus=$(dirname "$0")/corpus/no-locks-8x1000.whop
if [ -f "$corpus" ]; then
	mkdir -p "$tmp/corpus"
	"$W" shrink "$corpus" --out "$tmp/corpus/MIN.whop" --time-limit 60 --quiet
	rc=$?
	st=$("$W" replay "$tmp/corpus/MIN.whop" --json 2>/dev/null | json_statements)
	[ $rc -eq 0 ] && [ -n "$st" ] && [ "$st" -le 20 ]
	check $? "the corpus's no-locks run (8 connections, 1000 transactions) shrinks to at most 20 statements ($st)"
	grep -q '^-- conn [0-9]* was parked inside a VFS call' "$tmp/corpus/MIN.sql"
	check $? "its MIN.sql shows where a connection was parked inside a VFS call"
else
	nok "tests/corpus/no-locks-8x1000.whop is missing"
fi

# --- the stale-schema finding: the prefix collapses into a setup ------
corpus=$(dirname "$0")/corpus/stale-schema-7x2000.whop
if [ -f "$corpus" ]; then
	mkdir -p "$tmp/stale"
	"$W" shrink "$corpus" --out "$tmp/stale/MIN.whop" --time-limit 60 --quiet
	rc=$?
	out=$("$W" replay "$tmp/stale/MIN.whop" --json 2>/dev/null)
	rrc=$?
	st=$(echo "$out" | json_statements)
	[ $rc -eq 0 ] && [ $rrc -eq 1 ] && [ -n "$st" ] && [ "$st" -le 20 ] &&
		[ "$(signature_of "$tmp/stale/MIN.whop")" = "$(signature_of "$corpus")" ]
	check $? "the corpus's stale-schema run (7 connections, 2000 transactions) shrinks to at most 20 statements ($st) and replays as the same known finding"
	grep -q '^setup INSERT INTO' "$tmp/stale/MIN.whop" &&
		grep -q '^-- run.s transactions before the racing window had committed' "$tmp/stale/MIN.sql" &&
		grep -q 'SELECT count(\*) FROM sqlite_schema' "$tmp/stale/MIN.sql"
	check $? "its start collapsed into a setup holding the committed state (replay file and MIN.sql)"
	# The setup is part of the file: tampering with it is caught.
	sed 's/^setup INSERT INTO/setup INSERT OR IGNORE INTO/' "$tmp/stale/MIN.whop" >"$tmp/stale/bad.whop"
	"$W" replay "$tmp/stale/bad.whop" >/dev/null 2>"$tmp/stale/err"
	[ $? -eq 2 ] && grep -q 'checksum' "$tmp/stale/err"
	check $? "a replay file whose setup was edited is refused (exit 2, checksum)"
else
	nok "tests/corpus/stale-schema-7x2000.whop is missing"
fi

# --- the hot-journal race: a repro that starts from files -------------
# The race needs a hot journal, which lives only in the files, so the
# shrinker collapsed its prefix into the files at the window start (made
# by: whopper shrink of `run --seed 60 --workload delete-heavy
# --connections 6 --txns 300 --journal truncate --faults io`). Replaying
# it loads them; shrinking it again writes them beside MIN.whop.
min=$(dirname "$0")/corpus/min/hot-journal-files.whop
if [ -f "$min" ]; then
	mkdir -p "$tmp/files"
	"$W" replay "$min" --json >"$tmp/files/replay.json" 2>/dev/null
	rc=$?
	st=$(json_statements <"$tmp/files/replay.json")
	[ $rc -eq 1 ] && grep -q '"signature": "known:hot-journal-taken-for-live"' "$tmp/files/replay.json" &&
		[ -n "$st" ] && [ "$st" -le 20 ] && grep -q '^file whopper.db-journal [1-9]' "$min" &&
		grep -q '"repro": "bin/whopper replay .*hot-journal-files.whop"' "$tmp/files/replay.json"
	check $? "a shrunk hot-journal repro ($st statements) starts from a database and its hot journal, replays as the known finding and names the file as its repro"
	"$W" shrink "$min" --out "$tmp/files/MIN.whop" --time-limit 20 --quiet
	rc=$?
	[ $rc -eq 0 ] && [ -s "$tmp/files/MIN.whopper.db" ] && [ -s "$tmp/files/MIN.whopper.db-journal" ] &&
		grep -q '^-- the run starts from files, not from SQL' "$tmp/files/MIN.sql" &&
		grep -q '^--   MIN.whopper.db-journal ([0-9]* bytes)' "$tmp/files/MIN.sql" &&
		grep -q 'SELECT count(\*) FROM sqlite_schema;  (reads the schema' "$tmp/files/MIN.sql" &&
		grep -q '^-- The connections open (and read the schema, above) on the' "$tmp/files/MIN.sql"
	check $? "shrinking it writes the files beside MIN.whop (MIN.whopper.db, MIN.whopper.db-journal) and MIN.sql names them and says the connections open first"
	# Why the repro holds: the window's connections open before the hot
	# journal appears (as the original run's had, long before the writer
	# that left it failed); opened on the files, the first of them would
	# roll the journal back and the race would be gone. In the trace,
	# every opening is over before any connection finds the journal.
	"$W" replay "$min" --trace "$tmp/files/trace" >/dev/null 2>&1
	last_open=$(grep -n ' open rc=0 sql=-' "$tmp/files/trace" | tail -1 | cut -d: -f1)
	first_hot=$(grep -n 'op=access file=whopper.db-journal a=0 b=1' "$tmp/files/trace" | head -1 | cut -d: -f1)
	[ -n "$last_open" ] && [ -n "$first_hot" ] && [ "$last_open" -lt "$first_hot" ] &&
		[ "$(grep -c ' open rc=0 sql=-' "$tmp/files/trace")" -eq "$(awk '$1 == "arg" && p { print $2; exit } $2 == "--connections" { p = 1 }' "$min")" ]
	check $? "its connections all open before any of them finds the hot journal"
	# A format-3 file with files opened its connections on them: it would
	# replay as something else, so it is refused in one line naming it.
	sed '1s/^whopper-replay [0-9]*$/whopper-replay 3/' "$min" >"$tmp/files/old.whop"
	"$W" replay "$tmp/files/old.whop" >/dev/null 2>"$tmp/files/olderr"
	[ $? -eq 2 ] && [ "$(wc -l <"$tmp/files/olderr")" -eq 1 ] &&
		grep -q 'old.whop:[0-9]*: a run from files in replay format 3' "$tmp/files/olderr"
	check $? "a format-3 recording that starts from files is refused (exit 2, file and line)"
	# A byte of the files changed (a valid hex digit) is caught.
	awk '!done && /^data / { c = substr($0, length($0)); $0 = substr($0, 1, length($0) - 1) (c == "0" ? "1" : "0"); done = 1 } { print }' "$min" >"$tmp/files/bad.whop"
	! cmp -s "$min" "$tmp/files/bad.whop" && "$W" replay "$tmp/files/bad.whop" >/dev/null 2>"$tmp/files/err"
	[ $? -eq 2 ] && grep -q 'checksum' "$tmp/files/err"
	check $? "a replay file whose files were edited is refused (exit 2, checksum)"
else
	nok "tests/corpus/min/hot-journal-files.whop is missing"
fi

echo "1..$n"
[ $fails -eq 0 ]
