# real_shim.sh - sourced by e2e_threads.sh and e2e_processes.sh (after
# tap.sh, with W and limit set): the planted no-locks shim on a real
# target.
#
# check_no_locks_shim TARGET JOURNAL: a shim that grants every lock
# without taking it (the simulation's --vfs-bug no-locks, on real files)
# lets the connections write over each other, where honest bank runs on
# the target pass. Real threads and processes interleave as the OS
# schedules them: on a loaded machine a run's connections may happen to
# take turns and never overlap a write, so up to five seeds are tried; the
# defect must show in one of them as a data anomaly, and a hang or crash
# fails the check at once.
check_no_locks_shim() {
	ok=1
	kinds=
	for seed in 1 2 3 4 5; do
		out=$(WHOPPER_TEST_HOOK=threads-no-locks limit "$W" run --target "$1" --seed $seed \
			--workload bank --connections 8 --txns 200 --journal "$2" --synchronous off --json)
		rc=$?
		kinds=$(echo "$out" | grep -o '"kind": "[a-z_]*"' | sort -u | tr '\n' ' ')
		if echo "$out" | grep -Eq '"kind": "(hang|crash|setup_failed)"'; then
			break
		fi
		if [ $rc -eq 1 ] && echo "$out" | grep -q '"verdict": "fail"' &&
			echo "$out" | grep -Eq '"kind": "(read_mismatch|lost_update|lost_commit|final_state|aborted_read|phantom_commit)"'; then
			ok=0
			break
		fi
	done
	[ $ok -eq 0 ]
	check $? "a shim whose locks are always granted (journal $2) fails the oracle within 5 seeds (seed $seed: $kinds)"
}
