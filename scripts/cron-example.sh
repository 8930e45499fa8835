#!/bin/sh
# cron-example.sh - run whopper's nightly stress job from cron.
#
# Example crontab entry (every night at 01:30, about five hours of runs; the
# output goes to cron's mail or to the log named here):
#
#   30 1 * * *  WHOPPER_HOME=/opt/whopper /opt/whopper/scripts/cron-example.sh >>/var/log/whopper-nightly.log 2>&1
#
# Each night gets its own directory NIGHTLY_ROOT/YYYY-MM-DD, and a base seed
# made from the date, so any night's job can be rerun exactly. The failure
# corpus NIGHTLY_ROOT/corpus persists across nights: every night replays it
# first, and only failures it does not hold yet count as new (exit status 1).
# If the machine stopped mid-job (reboot, kill), running this script again
# the same day continues the job (--resume) instead of starting over.
#
# Knobs (environment):
#   WHOPPER_HOME     checkout to build and run (default: this script's parent)
#   NIGHTLY_ROOT     where results go (default: $WHOPPER_HOME/out/nightly)
#   NIGHTLY_SECONDS  how long to launch runs (default 18000, five hours)
#   NIGHTLY_JOBS     children at a time (default: every core)
#   KEEP_DAYS        delete night directories older than this (default 30)
#
# Exit status: that of `whopper nightly` (0 no new failure, 1 new failures,
# 2 bad usage, 3 the job failed), or 3 when the build fails.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
home=${WHOPPER_HOME:-$here}
root=${NIGHTLY_ROOT:-$home/out/nightly}
secs=${NIGHTLY_SECONDS:-18000}
jobs=${NIGHTLY_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
keep=${KEEP_DAYS:-30}

day=$(date -u +%Y-%m-%d)
seed=$(date -u +%Y%m%d) # one base seed per night, recoverable from the date
out=$root/$day

cd "$home" || exit 3
mkdir -p "$root/corpus" || exit 3
if ! make >"$root/build.log" 2>&1; then
	echo "whopper nightly $day: build failed; see $root/build.log"
	exit 3
fi

resume=
[ -f "$out/job.json" ] && resume=--resume

rc=0
bin/whopper nightly --time "$secs" --jobs "$jobs" --seed "$seed" \
	--corpus "$root/corpus" --out "$out" $resume || rc=$?

case $rc in
0) echo "whopper nightly $day: no new failure ($out/report.html)" ;;
1) echo "whopper nightly $day: NEW FAILURES, see $out/report.html and $out/summary.json" ;;
*) echo "whopper nightly $day: the job itself failed (exit $rc)" ;;
esac

# The newest night is always at NIGHTLY_ROOT/latest; old nights go.
ln -sfn "$day" "$root/latest"
find "$root" -mindepth 1 -maxdepth 1 -type d -name '20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]' \
	-mtime +"$keep" -exec rm -rf {} + 2>/dev/null

exit $rc
