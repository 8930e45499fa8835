#!/bin/sh
# End-to-end tests of following a recording: plain `replay` detects a run
# that left the recording (exit 3, naming the first divergence);
# `replay --follow` on the recording's own SQLite reproduces it exactly
# and, on another SQLite (WH_TARGET_LIB, WH_TARGET_LIB_OLD, else the
# builds under build/sqlite, as in e2e_target.sh), names the first
# divergence or follows fully; `versions` tabulates the libraries, and
# with --finding measures a catalogue entry and prints its lines.
# Tests that need another SQLite print "ok N - # SKIP" without one.
#
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines.
set -u
W=${1:-bin/whopper}
. "$(dirname "$0")/tap.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-cc}

# A replay file edited by hand reads as corrupt (its checksum); this
# helper recomputes the checksum as replay.c does, so that an edit reads
# fine and only the run can tell.
cat >"$tmp/resum.c" <<'EOC'
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "wh.h"
#include "prng.h"
int main(int argc, char **argv)
{
	static char buf[1 << 26];
	FILE *f = fopen(argv[1], "rb");
	if (argc != 2 || f == NULL)
		return 2;
	size_t len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[len] = '\0';
	char *end = strstr(buf, "\nchecksum ");
	if (end == NULL)
		return 2;
	end++;
	uint64_t h = WH_FNV1A_BASIS_V0;
	for (char *p = buf; p < end; p++)
		h = (h ^ (unsigned char)*p) * WH_FNV1A_PRIME;
	f = fopen(argv[1], "wb");
	fwrite(buf, 1, (size_t)(end - buf), f);
	fprintf(f, "checksum %016llx\n", (unsigned long long)wh_mix64(h));
	return fclose(f) != 0;
}
EOC
"$cc" -std=c11 -I"$root/engine" $(pkg-config --cflags sqlite3 2>/dev/null) -o "$tmp/resum" "$tmp/resum.c"
check $? "the checksum helper builds"

# --- plain replay detects a divergence ---------------------------------------
RUN="--seed 3 --workload default --connections 4 --txns 200"
# shellcheck disable=SC2086
"$W" run $RUN --record "$tmp/a.whop" --quiet
cp "$tmp/a.whop" "$tmp/b.whop"
"$tmp/resum" "$tmp/b.whop" && cmp -s "$tmp/a.whop" "$tmp/b.whop"
check $? "the helper's checksum is the one whopper wrote"
# Connection 0's first workload draw, changed: it runs another transaction.
awk '/^track 1000 /{print; getline; sub(/^[0-9a-f]+/, ($1 == "0") ? "ffffffff" : "0"); print; next} {print}' \
	"$tmp/a.whop" >"$tmp/b.whop" && "$tmp/resum" "$tmp/b.whop" && ! cmp -s "$tmp/a.whop" "$tmp/b.whop"
check $? "an edited tape with its checksum recomputed"
"$W" replay "$tmp/a.whop" --quiet
check $? "the unedited recording replays (exit 0)"
"$W" replay "$tmp/b.whop" --quiet >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 3 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "replay diverged: trace hash" "$tmp/err" &&
	grep -q "first divergence from the recorded picks: step [0-9]* of [0-9]*, t=[0-9]* us" "$tmp/err"
check $? "replay of the edited tape exits 3 naming the first divergence (exit $rc: $(cat "$tmp/err"))"

# --- replay --follow on the recording's SQLite --------------------------------
"$W" replay "$tmp/a.whop" --follow --quiet >"$tmp/f.txt"
rc=$?
[ $rc -eq 0 ] && grep -q "^follow: trace hash [0-9a-f]*, as recorded$" "$tmp/f.txt" &&
	grep -q "^follow: first divergence: none (followed all [0-9]* recorded picks)$" "$tmp/f.txt"
check $? "replay --follow on the same SQLite: the same trace hash, no divergence"
BUG="--seed 1 --workload bank --connections 8 --txns 300 --journal delete --vfs-bug no-locks"
# shellcheck disable=SC2086
"$W" run $BUG --record "$tmp/bug.whop" --quiet
"$W" replay "$tmp/bug.whop" --follow --quiet >"$tmp/f.txt"
rc=$?
sig=$(sed -n 's/^signature //p' "$tmp/bug.whop")
[ $rc -eq 1 ] && grep -q "^follow: SQLite .*: fails $sig; recorded on SQLite .*: fails $sig$" "$tmp/f.txt" &&
	grep -q "as recorded$" "$tmp/f.txt" && grep -q "^follow: first divergence: none" "$tmp/f.txt"
check $? "a failing recording followed on its SQLite fails the same way (exit $rc, $sig)"

# --- versions --finding on the linked SQLite -------------------------------------
# The stale-schema finding's corpus flags, recorded in full: on its own
# SQLite the row fails with it and the catalogue lines follow.
linked=$("$W" run --seed 1 --txns 5 | sed -n 's/.*(linked: \([^,]*\),.*/\1/p')
STALE="--seed 1 --workload ddl-churn --journal truncate --connections 7 --txns 2000 --scheduler rr --pragma page_size=1024"
# shellcheck disable=SC2086
"$W" run $STALE --record "$tmp/stale.whop" --quiet
"$W" versions "$tmp/stale.whop" "$linked" --seeds 1 --finding stale-schema-no-such-table >"$tmp/v.txt" 2>"$tmp/err"
rc=$?
v=$(sed -n 's/^\(3\.[0-9]*\.[0-9]*\) .*/\1/p' "$tmp/v.txt")
num=$(echo "$v" | awk -F. '{ printf "%d", $1 * 1000000 + $2 * 1000 + $3 }')
[ $rc -eq 0 ] && [ -n "$v" ] && grep -q "^$v .* fails  known:stale-schema-no-such-table .* [01]/1 fail, [01] with it, " "$tmp/v.txt" &&
	grep -q "^catalogue lines for stale-schema-no-such-table:$" "$tmp/v.txt" &&
	grep -q "^versions $num-$" "$tmp/v.txt" &&
	grep -Eq "^measured [0-9]{4}-[0-9]{2}-[0-9]{2} $v=fails,[01]/1$" "$tmp/v.txt"
check $? "versions --finding: the row, its seeds counted for the finding, the catalogue lines ($(tr '\n' '|' <"$tmp/v.txt") $(cat "$tmp/err"))"
"$W" versions "$tmp/stale.whop" "$linked" --finding hot-journal-taken-for-live >"$tmp/v.txt" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/v.txt" ] && grep -q "does not name --finding hot-journal-taken-for-live" "$tmp/err"
check $? "versions --finding an entry the recording does not show: one line, exit 2 (exit $rc: $(cat "$tmp/err"))"
# The corpus file is compact: no schedule to follow, but the same SQLite
# runs it to the same trace hash, so its failure stands as "fails" there.
corpus=$root/tests/corpus/stale-schema-7x2000.whop
if [ "$(sed -n 's/^sqlite-version //p' "$corpus")" = "$v" ]; then
	"$W" versions "$corpus" "$linked" --finding stale-schema-no-such-table >"$tmp/v.txt" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] && grep -q "^$v .* fails .* unknown  *no *$" "$tmp/v.txt" && grep -q "^measured .* $v=fails$" "$tmp/v.txt"
	check $? "versions on a compact recording on its own SQLite: divergence unknown, not before the failure (same trace hash), fails ($(tr '\n' '|' <"$tmp/v.txt"))"
else
	skip "versions on a compact corpus recording: it was recorded on another SQLite than the linked $v"
fi

# --- another SQLite -------------------------------------------------------------
libs=
for l in "${WH_TARGET_LIB:-}" "${WH_TARGET_LIB_OLD:-}"; do
	[ -n "$l" ] && [ -f "$l" ] && libs="$libs $l"
done
if [ -z "$libs" ]; then
	for f in "$root"/build/sqlite/*/libsqlite3.so; do
		case $f in *-debug/*) continue ;; esac
		[ -f "$f" ] && libs="$libs $f"
	done
fi
if [ -n "$libs" ]; then
	for l in $libs; do
		"$W" replay "$tmp/a.whop" --follow --quiet --target-lib "$l" >"$tmp/f.txt" 2>"$tmp/err"
		rc=$?
		v=$(sed -n 's/^follow: SQLite \([^ ]*\) .*/\1/p' "$tmp/f.txt")
		[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] &&
			{ grep -q "^follow: first divergence: step [0-9]* of [0-9]*, t=[0-9]* us, connection [0-9]*: recorded [a-z_]*, here [a-z_ ]*$" "$tmp/f.txt" ||
				grep -q "^follow: first divergence: none" "$tmp/f.txt"; }
		check $? "replay --follow on SQLite $v: not refused; it passes and names the first divergence ($(sed -n 's/^follow: first divergence: //p' "$tmp/f.txt"))"
		"$W" replay "$tmp/a.whop" --follow --quiet --target-lib "$l" >"$tmp/g.txt" 2>&1
		cmp -s "$tmp/f.txt" "$tmp/g.txt"
		check $? "replay --follow on SQLite $v is deterministic"
	done
	# shellcheck disable=SC2086
	"$W" versions "$tmp/bug.whop" $libs "$root/$W" --seeds 2 >"$tmp/v.txt" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/v.txt" ]
	check $? "versions: a file that is not a library is refused in one line, exit 2, no table"
	# shellcheck disable=SC2086
	"$W" versions "$tmp/bug.whop" $libs --seeds 2 >"$tmp/v.txt" 2>"$tmp/err"
	rc=$?
	rows=$(grep -c "^3\.[0-9]*\.[0-9]* " "$tmp/v.txt")
	sorted=$(grep "^3\.[0-9]*\.[0-9]* " "$tmp/v.txt" | cut -d' ' -f1 | sort -V | tr '\n' ' ')
	given=$(grep "^3\.[0-9]*\.[0-9]* " "$tmp/v.txt" | cut -d' ' -f1 | tr '\n' ' ')
	[ $rc -eq 0 ] && [ "$rows" -eq "$(echo $libs | wc -w)" ] && [ "$sorted" = "$given" ] &&
		grep -q "^version  *source id  *result  *signature  *divergence  *before  *seeds$" "$tmp/v.txt" &&
		grep -q "^fix window: " "$tmp/v.txt" &&
		! grep "^3\." "$tmp/v.txt" | grep -qv " \(fails  new:\|passes -\)"
	check $? "versions: one row per library, oldest first, fails/passes, divergence, fix window ($(tr '\n' '|' <"$tmp/v.txt"))"
	# shellcheck disable=SC2086
	"$W" versions "$tmp/bug.whop" $libs --seeds 2 2>&1 | grep -v "s CPU" >"$tmp/v2.txt"
	grep -v "s CPU" "$tmp/v.txt" | cmp -s - "$tmp/v2.txt"
	check $? "versions is deterministic (but for CPU seconds)"
else
	skip "replay --follow on another SQLite: no library built (scripts/build-sqlite.sh)"
	skip "versions over other SQLite libraries: no library built (scripts/build-sqlite.sh)"
fi

echo "1..$n"
[ $fails -eq 0 ]
