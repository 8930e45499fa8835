#!/bin/sh
# Runs every cmocka test binary given as arguments, then the end-to-end
# tests of the binary, and prints one closing line "N passed, N failed".
# End-to-end tests that could not run here (TAP "ok N - # SKIP why": a
# second SQLite library not built, say) are not counted as passed: the
# line before the closing one says how many were skipped and lists them.
# Exit status is non-zero when any test failed or a binary crashed.
set -u
passed=0
failed=0
skipped=0
status=0
log=$(mktemp)
skips=$(mktemp)
trap 'rm -f "$log" "$skips"' EXIT
for t in "$@"; do
	echo "== $t"
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ]; then
		status=1
		if [ "$f" -eq 0 ]; then
			echo "!! $t exited with status $rc"
			failed=$((failed + 1))
		fi
	fi
done
for e in tests/e2e*.sh; do
	echo "== $e"
	if sh "$e" "${WHOPPER:-bin/whopper}" >"$log" 2>&1; then :; else status=1; fi
	cat "$log"
	p=$(grep '^ok ' "$log" | grep -vc '^ok [0-9]* - # SKIP')
	k=$(grep -c '^ok [0-9]* - # SKIP' "$log")
	f=$(grep -c '^not ok ' "$log")
	grep '^ok [0-9]* - # SKIP' "$log" | sed "s|^ok [0-9]* - # SKIP|skipped: $e:|" >>"$skips"
	passed=$((passed + p))
	skipped=$((skipped + k))
	failed=$((failed + f))
	[ "$f" -eq 0 ] || status=1
done
echo
cat "$skips"
echo "$skipped skipped"
echo "$passed passed, $failed failed"
exit $status
