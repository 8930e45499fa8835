#!/bin/sh
# trace-hashes.sh - the trace hash of a fixed matrix of runs, one line per
# run: "HASH<TAB>FLAGS". Two builds that must schedule alike (a change
# meant to make the engine faster, say) print the same file:
#
#   sh scripts/trace-hashes.sh OLD/whopper >old.txt
#   sh scripts/trace-hashes.sh bin/whopper >new.txt
#   diff old.txt new.txt && echo "all $(wc -l <new.txt) equal"
#
# The matrix: every built-in workload under every scheduler (pct at
# several depths) and fault profile, in WAL and rollback journal modes;
# connection counts from 2 to 256; the memory-shared target; and the
# replay (pick log followed) of runs recorded by the same binary, plus of
# the committed corpus; for the recorded runs, also a checksum of the
# replay file's bytes but for the line naming the commit that built the
# binary (and the file's own checksum, which covers that line), so two
# builds that record alike print the same. A run's own verdict does not
# matter here (a
# bitflip run may fail); a run that prints no hash (whopper failed) prints
# "none", which differs from any hash. JOBS runs go at once (default 2);
# QUICK=1 keeps one seed per cell.
set -u
W=${1:?usage: trace-hashes.sh path/to/whopper}
JOBS=${JOBS:-2}
QUICK=${QUICK:-0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

list="$tmp/list"
: >"$list"
add() { echo "$*" >>"$list"; }

workloads=$("$W" workloads list | awk '{print $1}')
seeds="1 2 3"
[ "$QUICK" = 1 ] && seeds="1"

# Every workload x scheduler x fault profile, in WAL and in a rollback
# mode (the mode and the pct depth turn with the cell so that each is
# met under every scheduler).
i=0
for wl in $workloads; do
	for sch in random rr pct; do
		for f in none io crash chaos bitflip; do
			for s in $seeds; do
				i=$((i + 1))
				case $((i % 4)) in
				0) j=wal ;; 1) j=delete ;; 2) j=truncate ;; 3) j=persist ;;
				esac
				d=$((i % 4 + 1))
				add run --seed "$((s * 100 + i))" --workload "$wl" --scheduler "$sch" \
					--pct-depth "$d" --faults "$f" --journal "$j" --connections "$((i % 7 + 2))" \
					--txns 150
				[ "$j" = wal ] || add run --seed "$((s * 100 + i))" --workload "$wl" \
					--scheduler "$sch" --faults "$f" --journal wal --connections 4 --txns 150
			done
		done
	done
done

# Connection counts, where the scheduler's candidate sets grow.
for n in 512 1024; do
	for sch in random rr pct; do
		add run --seed "$n" --workload bank --scheduler "$sch" --connections "$n" --txns 1500
	done
done
for n in 2 3 5 8 16 32 64 128 256; do
	for sch in random rr pct; do
		for wl in bank counter default; do
			for s in $seeds; do
				add run --seed "$((s + n))" --workload "$wl" --scheduler "$sch" \
					--connections "$n" --txns "$((n * 2 + 100))"
			done
		done
		add run --seed "$n" --workload bank --scheduler "$sch" --connections "$n" \
			--txns "$((n * 2 + 100))" --journal delete --faults crash
		add run --seed "$n" --workload inventory --scheduler "$sch" --connections "$n" \
			--txns "$((n * 2 + 100))" --faults chaos
	done
done

# Other settings that change what is scheduled.
for sch in random rr pct; do
	for wl in $workloads; do
		add run --seed 7 --workload "$wl" --scheduler "$sch" --target memory-shared \
			--connections 6 --txns 200
	done
	add run --seed 9 --workload bank --scheduler "$sch" --reorder-window 0 --connections 8 --txns 300
	add run --seed 9 --workload bank --scheduler "$sch" --reorder-window 500 --connections 8 --txns 300
	add run --seed 9 --workload default --scheduler "$sch" --yield-ops lock,shm_lock --connections 8 --txns 300
	add run --seed 9 --workload bank --scheduler "$sch" --lock-model process --journal delete --connections 8 --txns 300
	add run --seed 9 --workload bank --scheduler "$sch" --synchronous off --faults crash --connections 8 --txns 300
	add run --seed 9 --workload bank --scheduler "$sch" --journal memory --connections 8 --txns 300
done

# Recorded runs (full tapes) replayed: the pick log is followed.
for sch in random rr pct; do
	for f in none io chaos; do
		for n in 6 80; do
			add record --seed 11 --workload default --scheduler "$sch" --faults "$f" \
				--connections "$n" --txns 200
		done
	done
	add record --seed 12 --workload bank --scheduler "$sch" --connections 8 --txns 300 \
		--record-compact
done

n=0
while read -r line; do
	n=$((n + 1))
	echo "$n $line"
done <"$list" >"$tmp/jobs"

# shellcheck disable=SC2016
xargs -P "$JOBS" -L 1 sh -c '
	W=$1 d=$2 n=$3 kind=$4
	shift 4
	if [ "$kind" = record ]; then
		"$W" run "$@" --record "$d/$n.whop" --quiet >/dev/null 2>&1
		h=$("$W" replay "$d/$n.whop" --json 2>/dev/null |
			sed -n "s/.*\"trace_hash\": \"\([0-9a-f]*\)\".*/\1/p")
		body=$(grep -v "^whopper-commit \|^checksum " "$d/$n.whop" | cksum | cut -d" " -f1)
		h="$h file:$body"
	else
		h=$("$W" run "$@" --json 2>/dev/null |
			sed -n "s/.*\"trace_hash\": \"\([0-9a-f]*\)\".*/\1/p")
	fi
	printf "%s\t%s %s\n" "${h:-none}" "$kind" "$*" >"$d/$n.out"
' sh "$W" "$tmp" <"$tmp/jobs"

k=0
while [ "$k" -lt "$n" ]; do
	k=$((k + 1))
	cat "$tmp/$k.out"
done

# The committed corpus, replayed as recorded.
root=$(cd "$(dirname "$0")/.." && pwd)
for f in "$root"/tests/corpus/*.whop "$root"/tests/corpus/min/*.whop; do
	[ -e "$f" ] || continue
	h=$("$W" replay "$f" --json 2>/dev/null | sed -n 's/.*"trace_hash": "\([0-9a-f]*\)".*/\1/p')
	printf "%s\treplay %s\n" "${h:-none}" "${f#"$root"/}"
done
