#!/bin/sh
# bench_nightly.sh - does `whopper nightly --jobs 2` use a second core, and
# how many runs a second does the nightly make on its default matrix?
#
# Runs one fixed job (16 runs of about 0.3 to 1.6 s each: base seed 1,
# workload bank, 12000 transactions on 8 connections, the rest, fault
# profiles included, drawn by the matrix) with --jobs 1 and with --jobs 2,
# best of two tries each, and prints the wall-time ratio. Every run records
# its replay file (8 MB here), as in any nightly. The shrinker is off
# (--shrink-time 0): it runs after the runs, for a fixed time budget per new
# signature, and would only add the same constant to both sides.
# On a machine with two or more cores the ratio should be near 0.5; the
# script fails when it is above 0.8 (--jobs 2 not clearly faster). The runs'
# own verdicts do not matter here, only that the job itself works (exit 0
# or 1).
#
# Then the nightly's throughput on its default matrix: MATRIX_RUNS runs
# (default 40) drawn from base seed 1 over every built-in workload, with
# --jobs 1 and the shrinker off, best of two tries: runs per second. With
# BASE set to another whopper (an older build, say), the same job runs on
# it too and both rates are printed, with their ratio: before and after
# from one bench run, on the same machine and the same matrix.
# Usage: [BASE=path/to/old/whopper] sh bench/bench_nightly.sh [path/to/whopper]
set -u
W=${1:-bin/whopper}
RUNS=${RUNS:-16}
TXNS=${TXNS:-12000}
MATRIX_RUNS=${MATRIX_RUNS:-40}
BASE=${BASE:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }

# Wall seconds of one nightly job with --jobs $1 (best of two tries).
job_wall() {
	best=
	for try in 1 2; do
		out="$tmp/j$1-$try"
		t0=$(now)
		"$W" nightly --runs "$RUNS" --seed 1 --jobs "$1" --out "$out" --workloads bank \
			--shrink-time 0 -- --txns "$TXNS" --connections 8 >"$tmp/log" 2>&1
		rc=$?
		t1=$(now)
		if [ $rc -gt 1 ]; then
			cat "$tmp/log" >&2
			echo "bench_nightly: nightly --jobs $1 failed (exit $rc)" >&2
			exit 1
		fi
		w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		best=$(awk -v a="${best:-$w}" -v b="$w" 'BEGIN { print (b < a ? b : a) }')
	done
	echo "$best"
}

# Runs per second of the default matrix on whopper $1 (best of two).
matrix_rate() {
	best=
	for try in 1 2; do
		out="$tmp/m-$try"
		rm -rf "$out"
		t0=$(now)
		"$1" nightly --runs "$MATRIX_RUNS" --seed 1 --jobs 1 --out "$out" \
			--shrink-time 0 >"$tmp/log" 2>&1
		rc=$?
		t1=$(now)
		if [ $rc -gt 1 ]; then
			cat "$tmp/log" >&2
			echo "bench_nightly: nightly on $1 failed (exit $rc)" >&2
			exit 1
		fi
		w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		best=$(awk -v a="${best:-$w}" -v b="$w" 'BEGIN { print (b < a ? b : a) }')
	done
	awk -v n="$MATRIX_RUNS" -v w="$best" 'BEGIN { printf "%.2f", n / w }'
}

cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
# Other work on the machine skews the ratio; say how busy it was.
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
w1=$(job_wall 1)
w2=$(job_wall 2)
ratio=$(awk -v a="$w1" -v b="$w2" 'BEGIN { printf "%.2f", b / a }')
echo "nightly: $RUNS runs of 0.3-1.6 s (bank, $TXNS txns, 8 connections, faults drawn, recorded) on $cores cores (load average $load before)"
echo "  --jobs 1: ${w1} s wall"
echo "  --jobs 2: ${w2} s wall"
echo "nightly --jobs 2 vs --jobs 1 wall time ratio: $ratio"
rate=$(matrix_rate "$W")
echo "nightly default matrix ($MATRIX_RUNS runs, base seed 1, every built-in workload, --jobs 1, no shrinking): $rate runs/s ($W)"
if [ -n "$BASE" ]; then
	base_rate=$(matrix_rate "$BASE")
	echo "nightly default matrix, same job: $base_rate runs/s ($BASE)"
	awk -v a="$rate" -v b="$base_rate" 'BEGIN { printf "nightly runs/s %s vs %s: %.2fx\n", ARGV[1], ARGV[2], a / b }' "$W" "$BASE"
fi
if [ "$cores" -lt 2 ]; then
	echo "bench_nightly: one core only; ratio not checked"
	exit 0
fi
awk -v r="$ratio" 'BEGIN { exit !(r <= 0.8) }' || {
	echo "bench_nightly: --jobs 2 is not clearly faster than --jobs 1 (ratio $ratio > 0.8)" >&2
	exit 1
}
