#!/bin/sh
# Runs every cmocka test binary given as arguments, then the end-to-end
# tests of the binary, and prints one closing line "N passed, N failed".
# Exit status is non-zero when any test failed or a binary crashed.
set -u
passed=0
failed=0
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
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
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -eq 0 ] || status=1
done
echo
echo "$passed passed, $failed failed"
exit $status
