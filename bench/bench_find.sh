#!/bin/sh
# bench_find.sh - how many CPU-seconds the nightly needs to find each bug,
# plain and with --explore.
#
#   sh bench/bench_find.sh [WHOPPER]      (make bench-find)
#
# For each base seed 1..SEEDS and each mode (plain, --explore) it runs
# `whopper nightly --seed B --shrink-time 0 ...` and reads results.jsonl
# as it grows. A finding's cost for that seed is the sum of the children's
# CPU seconds (cpu_s) over runs 0..k, k the first run whose signature
# names it, counted only once every run below k has finished: so the
# figure depends on the base seed alone, not on --jobs or the wall clock
# (the runs a job draws are the same whatever --jobs is, --explore's
# included). A seed whose runs pass CAP CPU-seconds without it counts as
# CAP. The job is stopped (SIGTERM) as soon as every finding it looks for
# is settled.
#
# Findings: every catalogued SQLite one (stale-schema-no-such-table,
# hot-journal-taken-for-live, wal-reset-checkpoint-race,
# wal-non-powersafe-commit-loss, schema-retry-loses-transaction), all from
# one job of the default matrix,
# which draws every configuration they need (the WAL-reset race and the
# non-powersafe loss are rare: WAL with power losses, checkpoints racing
# resets, a non-powersafe device in one run of eight; the lost
# transaction needs an allocation failure at one statement's retry); the planted VFS defects (--vfs-bug no-locks,
# no-shm-locks, lying-fsync), one job each, the defect passed to every run
# of the default matrix (so connections, transactions and faults are
# drawn), found at the first run labelled new.
#
# It prints, per finding, the median over the seeds for each mode, how
# many seeds hit the cap, and plain/explore (above 1: --explore faster).
# No number is enforced: this is a measurement, not a gate.
#
# Environment: BENCH_FIND_SEEDS (default 10), BENCH_FIND_CAP (CPU seconds,
# default 60), BENCH_FIND_JOBS (children at a time, default 2),
# BENCH_FIND_FIRST (the first base seed, default 1: seeds FIRST..FIRST+SEEDS-1),
# BENCH_FIND_FIGURES (a file to which every seed's figure is copied, one
# line each: "finding mode cpu_s capped seed", to compare variants seed by
# seed).
# It takes at most SEEDS x 2 modes x 4 jobs x CAP CPU-seconds; in practice
# about SEEDS x 2 x (CAP + 5) CPU-seconds: the SQLite job of each seed and
# mode runs to the cap unless all four findings show (the WAL-reset race
# and the non-powersafe loss are rare), the planted defects show in the
# first runs. With the defaults: 955 s of wall time on a 2-core machine
# (16 minutes). BENCH_FIND_MODES (default "plain explore") measures one
# mode alone, as when only --explore changed.
#
# Exit status: 0 measured; 2 bad usage; 3 a job failed to start.
set -u

W=${1:-bin/whopper}
seeds=${BENCH_FIND_SEEDS:-10}
cap=${BENCH_FIND_CAP:-60}
jobs=${BENCH_FIND_JOBS:-2}
modes=${BENCH_FIND_MODES:-plain explore}
first=${BENCH_FIND_FIRST:-1}
figures_out=${BENCH_FIND_FIGURES:-}
case $seeds$jobs$first in *[!0-9]* | '') echo "bench_find: BENCH_FIND_SEEDS, BENCH_FIND_JOBS and BENCH_FIND_FIRST are counts" >&2; exit 2 ;; esac
case $cap in *[!0-9.]* | '') echo "bench_find: BENCH_FIND_CAP is CPU seconds" >&2; exit 2 ;; esac
[ -x "$W" ] || { echo "bench_find: $W: not built (make)" >&2; exit 2; }

work=$(mktemp -d) || exit 3
trap 'rm -rf "$work"' EXIT INT TERM

# settle FILE PATTERN...: one line per pattern, "found CPU", "capped CAP"
# or "wait". A pattern is a catalogue id (matched in the signature) or
# "new" (the first run labelled new).
settle() {
	file=$1
	shift
	awk -v cap="$cap" -v pats="$*" '
	{
		if (!match($0, /"index": [0-9]+/)) next
		i = substr($0, RSTART + 9, RLENGTH - 9) + 0
		have[i] = 1
		c = 0
		if (match($0, /"cpu_s": [0-9.]+/)) c = substr($0, RSTART + 9, RLENGTH - 9) + 0
		cpu[i] = c
		sig = ""
		if (match($0, /"signature": "[^"]*"/)) sig = substr($0, RSTART + 14, RLENGTH - 15)
		lab = ""
		if (match($0, /"label": "[^"]*"/)) lab = substr($0, RSTART + 10, RLENGTH - 11)
		n = split(pats, p, " ")
		for (k = 1; k <= n; k++) {
			hit = (p[k] == "new") ? (lab == "new") : (index(sig, p[k]) > 0)
			if (hit && (!(k in first) || i < first[k])) first[k] = i
		}
	}
	END {
		n = split(pats, p, " ")
		for (k = 1; k <= n; k++) {
			sum = 0
			out = "wait"
			for (i = 0; ; i++) {
				if (!(i in have)) break
				sum += cpu[i]
				if (sum >= cap) { out = "capped " cap; break }
				if ((k in first) && i == first[k]) { out = "found " sum; break }
			}
			print out
		}
	}' "$file"
}

# measure NAME MODE SEED PATTERNS -- RUNFLAGS...: runs one job until each
# pattern is settled; appends "NAME-PATTERN MODE VALUE CAPPED" lines to
# $work/figures.
measure() {
	name=$1 mode=$2 seed=$3 pats=$4
	shift 5
	out="$work/$name-$mode-$seed"
	explore=
	[ "$mode" = explore ] && explore=--explore
	"$W" nightly --runs 100000 --seed "$seed" --jobs "$jobs" --shrink-time 0 $explore \
		--out "$out" -- "$@" >"$out.log" 2>&1 &
	pid=$!
	while :; do
		sleep 0.5
		alive=1
		kill -0 "$pid" 2>/dev/null || alive=0
		[ -f "$out/results.jsonl" ] || { [ $alive = 1 ] && continue; break; }
		r=$(settle "$out/results.jsonl" $pats)
		case $r in *wait*) [ $alive = 1 ] && continue ;; esac
		break
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ ! -f "$out/results.jsonl" ]; then
		echo "bench_find: the job for $name $mode seed $seed wrote no results:" >&2
		cat "$out.log" >&2
		exit 3
	fi
	r=$(settle "$out/results.jsonl" $pats)
	set -- $pats
	echo "$r" | while read -r how v; do
		[ "$how" = wait ] && { how=capped; v=$cap; } # the job ended first
		echo "$name-$1 $mode $v $([ "$how" = capped ] && echo 1 || echo 0) $seed"
		shift
	done >>"$work/figures"
	rm -rf "$out" "$out.log"
}

start=$(date +%s)
s=$first
while [ "$s" -lt $((first + seeds)) ]; do
	for mode in $modes; do
		measure sqlite "$mode" "$s" "stale-schema-no-such-table hot-journal-taken-for-live wal-reset-checkpoint-race wal-non-powersafe-commit-loss schema-retry-loses-transaction" --
		for bug in no-locks no-shm-locks lying-fsync; do
			measure "$bug" "$mode" "$s" new -- --vfs-bug "$bug"
		done
	done
	s=$((s + 1))
done

echo "bench_find: CPU seconds to first detection, median over $seeds base seeds ($first-$((first + seeds - 1))), cap $cap CPU-s, --jobs $jobs ($(($(date +%s) - start)) s wall)"
printf '%-30s %14s %14s %8s\n' finding plain explore ratio
for f in sqlite-stale-schema-no-such-table sqlite-hot-journal-taken-for-live \
	sqlite-wal-reset-checkpoint-race sqlite-wal-non-powersafe-commit-loss \
	sqlite-schema-retry-loses-transaction no-locks-new no-shm-locks-new lying-fsync-new; do
	for mode in plain explore; do
		awk -v f="$f" -v m="$mode" '$1 == f && $2 == m { print $3 " " $4 }' "$work/figures" |
			sort -n | awk '{ v[NR] = $1; c += $2 } END {
				if (NR == 0) { print "- 0"; exit }
				med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "%.2f %d\n", med, c }' >"$work/$mode.med"
	done
	read -r pm pc <"$work/plain.med"
	read -r em ec <"$work/explore.med"
	label=$(echo "$f" | sed 's/^sqlite-//; s/-new$/ (--vfs-bug)/')
	awk -v l="$label" -v pm="$pm" -v pc="$pc" -v em="$em" -v ec="$ec" 'BEGIN {
		r = (em > 0 && pm != "-") ? sprintf("%.2f", pm / em) : "-"
		printf "%-30s %8s (%2d c) %8s (%2d c) %8s\n", l, pm, pc, em, ec, r }'
done
echo "(N c): seeds capped, counted as the cap; ratio: plain / explore median"
if [ -n "$figures_out" ]; then
	cp "$work/figures" "$figures_out" || echo "bench_find: cannot write $figures_out" >&2
fi
