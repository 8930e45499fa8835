#!/bin/sh
# Runs every cmocka test binary given as arguments, then the end-to-end
# tests of the binary, and prints one closing line "N passed, N failed".
# Tests that could not run here (TAP "ok N - # SKIP why", cmocka's
# SKIPPED: a second SQLite library not built, say) are not counted as
# passed: the lines before the closing one list them and say how many
# were skipped.
# Exit status is non-zero when any test failed or a binary crashed.
#
# The suites are independent (each makes its own temporary directories),
# so they run TEST_JOBS at a time (default: the number of processors);
# each one's output is kept apart and printed whole, in the order given,
# so the log reads the same whatever the machine's speed.
set -u
jobs=${TEST_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
passed=0
failed=0
skipped=0
status=0
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# One job per line: "INDEX KIND COMMAND"; KIND is cmocka or e2e.
i=0
list="$dir/jobs"
: >"$list"
for t in "$@"; do
	i=$((i + 1))
	echo "$i cmocka $t" >>"$list"
done
for e in tests/e2e*.sh; do
	i=$((i + 1))
	echo "$i e2e $e" >>"$list"
done

# Longest first would need timings; the order given already puts the slow
# suites early enough that two lanes finish close together.
# shellcheck disable=SC2016
xargs -P "$jobs" -L 1 sh -c '
	d=$1 n=$2 kind=$3 cmd=$4
	if [ "$kind" = e2e ]; then sh "$cmd" "${WHOPPER:-bin/whopper}" >"$d/$n.log" 2>&1
	else "$cmd" >"$d/$n.log" 2>&1; fi
	echo $? >"$d/$n.rc"
' sh "$dir" <"$list" || :

while read -r n kind cmd; do
	echo "== $cmd"
	log="$dir/$n.log"
	cat "$log"
	rc=$(cat "$dir/$n.rc" 2>/dev/null || echo 127)
	k=0
	if [ "$kind" = e2e ]; then
		p=$(grep '^ok ' "$log" | grep -vc '^ok [0-9]* - # SKIP')
		k=$(grep -c '^ok [0-9]* - # SKIP' "$log")
		grep '^ok [0-9]* - # SKIP' "$log" | sed "s|^ok [0-9]* - # SKIP|skipped: $cmd:|" >>"$dir/skips"
		f=$(grep -c '^not ok ' "$log")
		[ "$f" -eq 0 ] && [ "$rc" -eq 0 ] || status=1
	else
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		k=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		awk -v cmd="$cmd" '/^\[  SKIPPED \] [0-9]+ test\(s\), listed below:/ { on = 1; next }
			on && /^\[  SKIPPED \] / { print "skipped: " cmd ": " $4; next } { on = 0 }' \
			"$log" >>"$dir/skips"
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		if [ "$rc" -ne 0 ]; then
			status=1
			if [ "$f" -eq 0 ]; then
				echo "!! $cmd exited with status $rc"
				f=1
			fi
		fi
	fi
	passed=$((passed + p))
	skipped=$((skipped + k))
	failed=$((failed + f))
done <"$list"
echo
[ ! -s "$dir/skips" ] || cat "$dir/skips"
echo "$skipped skipped"
echo "$passed passed, $failed failed"
exit $status
