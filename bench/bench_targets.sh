#!/bin/sh
# bench_targets.sh - the simulation against real threads and real
# processes, side by side: what simulating buys, as measured ratios.
#
#   sh bench/bench_targets.sh [WHOPPER]        (make bench-targets)
#
# Four columns: the simulation with --lock-model thread (connections of
# one process, the default) and --lock-model process, --target threads
# and --target processes (SQLite's unix VFS on real files). Rows:
#
#   txns/s       committed transactions per CPU-second and per wall-clock
#                second of a bank run (8 connections, 2000 transactions,
#                WAL, seed 1)
#   then, per bug, CPU-seconds to first detection: runs of one
#   configuration with seeds 1, 2, 3... until a run shows the bug, their
#   CPU-seconds (the whole process tree's, children included) summed; a
#   cell that reaches its cap without it prints ">..." with the runs made.
#     no-locks     a planted VFS defect: every lock granted, never taken
#                  (sim: --vfs-bug no-locks; real: the shim's
#                  WHOPPER_TEST_HOOK=threads-no-locks), bank 8x1000,
#                  delete journal; shown by any failure
#     lost-write   a planted defect of the real targets' shim: one
#                  COMMIT's database writes dropped
#                  (WHOPPER_TEST_HOOK=threads-lost-write); the
#                  simulation's nearest, --vfs-bug lying-fsync, needs a
#                  power loss, which the real targets cannot inject, so
#                  its cells are "n/a"
#     stale-schema the catalogued stale-schema-no-such-table (ddl-churn
#                  7x2000, truncate, page_size=1024): a stale_schema_error
#     hot-journal  hot-journal-taken-for-live (delete-heavy 12x1000,
#                  truncate, I/O faults): the simulation's evidence
#                  counter; on real files (no counter there) any failure
#                  of that honest configuration
#     wal-reset    wal-reset-checkpoint-race (rw-register 11x2000, WAL,
#                  synchronous=OFF, wal_autocheckpoint=1, mmap): the
#                  evidence counter; on real files any failure
#   wal-non-powersafe-commit-loss is left out: no run reaches it (see
#   tests/corpus/README), and real files cannot lose power.
#
# Real runs are not reproducible (the OS interleaves them), so their
# figures vary from one measurement to the next; the simulation's are the
# same runs every time. Nothing is enforced: this is a measurement.
# BUDGET (default 120 CPU-seconds) caps each cell, and WALL_CAP (default
# 4 x BUDGET seconds) its wall-clock time: a real run spends most of its
# time asleep on busy locks, so a CPU budget alone could take hours. The
# columns run side by side (the real ones mostly wait); the whole table
# takes at most about 5 x WALL_CAP of wall time, 40 minutes with the
# defaults. COLUMNS_RUN picks columns (default: all four).
#
# Exit status: 0 measured; 2 bad usage.
set -u
W=${1:-bin/whopper}
budget=${BUDGET:-120}
wall_cap=${WALL_CAP:-$((budget * 4))}
cols=${COLUMNS_RUN:-sim-thread sim-process threads processes}
case $budget$wall_cap in *[!0-9]* | '') echo "bench_targets: BUDGET and WALL_CAP are whole seconds" >&2; exit 2 ;; esac
[ -x "$W" ] || { echo "bench_targets: $W: not built (make)" >&2; exit 2; }
command -v python3 >/dev/null 2>&1 || { echo "bench_targets: needs python3 (apt-get install python3)" >&2; exit 2; }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

# The runner: runs a command with its output in a file and prints the CPU
# seconds it and its children used, and its wall-clock seconds.
cat >"$tmp/cpu_run.py" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
with open(sys.argv[1], "wb") as f:
    subprocess.run(sys.argv[2:], stdout=f, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %.3f" % (r.ru_utime + r.ru_stime, time.monotonic() - t0))
PY
cpu_run() { python3 "$tmp/cpu_run.py" "$@"; }

# target_flags COLUMN: the flags that select the column's target.
target_flags() {
	case $1 in
	sim-thread) echo "--lock-model thread" ;;
	sim-process) echo "--lock-model process" ;;
	threads) echo "--target threads" ;;
	processes) echo "--target processes" ;;
	esac
}

is_real() { [ "$1" = threads ] || [ "$1" = processes ]; }

# detect COLUMN BUG: "CPU s (run K)", ">..." or "n/a".
detect() {
	col=$1 bug=$2
	tf=$(target_flags "$col")
	hook=""
	case $bug in
	no-locks)
		cfg="--workload bank --connections 8 --txns 1000 --journal delete"
		if is_real "$col"; then hook=threads-no-locks; else cfg="$cfg --vfs-bug no-locks"; fi
		want=fail ;;
	lost-write)
		is_real "$col" || { printf 'n/a'; return; }
		cfg="--workload bank --connections 8 --txns 1000 --journal delete --synchronous off"
		hook=threads-lost-write want=fail ;;
	stale-schema)
		cfg="--workload ddl-churn --connections 7 --txns 2000 --journal truncate --pragma page_size=1024"
		is_real "$col" || cfg="$cfg --scheduler rr"
		want=stale_schema_error ;;
	hot-journal)
		cfg="--workload delete-heavy --connections 12 --txns 1000 --journal truncate --faults io"
		if is_real "$col"; then want=fail; else want=hot_journal; fi ;;
	wal-reset)
		cfg="--workload rw-register --connections 11 --txns 2000 --journal wal --synchronous off"
		cfg="$cfg --pragma wal_autocheckpoint=1 --pragma mmap_size=65536"
		if is_real "$col"; then
			want=fail
		else
			want=wal_reset cfg="$cfg --scheduler pct --pct-depth 2"
		fi ;;
	esac
	total=0 wall=0 k=0
	while awk -v t="$total" -v b="$budget" -v w="$wall" -v m="$wall_cap" \
		'BEGIN { exit !(t < b && w < m) }'; do
		k=$((k + 1))
		# shellcheck disable=SC2086
		cw=$(WHOPPER_TEST_HOOK=$hook cpu_run "$tmp/out.$col" "$W" run --seed $k $cfg $tf --json)
		total=$(echo "$cw" | awk -v t="$total" '{ printf "%.3f", t + $1 }')
		wall=$(echo "$cw" | awk -v t="$wall" '{ printf "%.3f", t + $2 }')
		hit=0
		case $want in
		fail) grep -q '"verdict": "fail"' "$tmp/out.$col" && hit=1 ;;
		stale_schema_error) grep -q '"kind": "stale_schema_error"' "$tmp/out.$col" && hit=1 ;;
		hot_journal) grep -q '"hot_journal_taken_for_live": [1-9]' "$tmp/out.$col" && hit=1 ;;
		wal_reset) grep -q '"wal_reset_stale_checkpoint": [1-9]' "$tmp/out.$col" && hit=1 ;;
		esac
		if [ $hit -eq 1 ]; then
			printf '%.1f s (run %d)' "$total" "$k"
			return
		fi
	done
	if awk -v w="$wall" -v m="$wall_cap" 'BEGIN { exit !(w >= m) }'; then
		printf '>%.1f s (%d runs, %d s wall)' "$total" "$k" "$wall_cap"
	else
		printf '>%d s (%d runs)' "$budget" "$k"
	fi
}

# throughput COLUMN: committed transactions per CPU-second and per
# wall-clock second.
throughput() {
	col=$1
	# shellcheck disable=SC2046
	cw=$(cpu_run "$tmp/out.$col" "$W" run --seed 1 --workload bank --connections 8 --txns 2000 \
		--journal wal $(target_flags "$col") --json)
	n=$(sed -n 's/.*"txns_committed": \([0-9]*\).*/\1/p' "$tmp/out.$col" | head -1)
	echo "$cw" | awk -v n="${n:-0}" '{ if ($1 > 0 && $2 > 0) printf "%.0f / %.0f", n / $1, n / $2; else printf "-" }'
}

bugs="no-locks lost-write stale-schema hot-journal wal-reset"
# Each column in a process of its own: the real targets mostly wait, so
# columns side by side cost little; each column counts its own runs' CPU.
for col in $cols; do
	{
		throughput "$col"
		echo
		for bug in $bugs; do
			detect "$col" "$bug"
			echo
		done
	} >"$tmp/col.$col" &
done
wait
printf '%-16s' ""
for col in $cols; do printf ' | %-30s' "$col"; done
printf '\n'
row=1
for name in "txns/s cpu/wall" $bugs; do
	printf '%-16s' "$name"
	for col in $cols; do printf ' | %-30s' "$(sed -n "${row}p" "$tmp/col.$col")"; done
	printf '\n'
	row=$((row + 1))
done
echo "(CPU-seconds to first detection over runs with seeds 1, 2, ...; a cell stops at $budget CPU-s or $wall_cap s of wall time)"
