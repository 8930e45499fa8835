#!/bin/sh
# What `make run` does: a nightly job of about a minute over the default
# matrix of workloads, journal modes, synchronous levels, fault profiles,
# connection counts, schedulers and pragmas. Every run is a checked, seeded
# child; the job prints its base seed, and each failure's repro command is
# in the report. --time bounds the whole job, shrinking included: once a
# new failure shows, the runs stop early enough to leave its shrinking up to
# a quarter of the budget (--shrink-time caps each shrink).
#   SECONDS_BUDGET=120 make run     a longer session
#   BASE_SEED=42 make run           the same matrix again
set -u
bin=${1:-bin/whopper}
budget=${SECONDS_BUDGET:-60}
out=${OUT_DIR:-nightly-out/$(date +%Y%m%d-%H%M%S)}
set -- --time "$budget" --out "$out" --shrink-time 15
if [ -n "${BASE_SEED:-}" ]; then
	set -- "$@" --seed "$BASE_SEED"
fi
echo "whopper stress session: ${budget}s in all, results in $out"
"$bin" nightly "$@"
rc=$?
echo "report: $out/report.html (summary: $out/summary.json)"
exit $rc
