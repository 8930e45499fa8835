#!/bin/sh
# A short multi-seed stress session with the defaults: what `make run`
# does. Each seed is one checked run; the session fails when any run fails.
set -u
bin=${1:-bin/whopper}
seeds=${SEEDS:-8}
base=${BASE_SEED:-$(date +%s)}
fails=0
echo "whopper stress session: $seeds seeds from base seed $base"
i=0
while [ $i -lt "$seeds" ]; do
	seed=$((base + i))
	if "$bin" run --seed "$seed" --connections 8 --txns 2000 --quiet; then
		echo "seed $seed: pass"
	else
		rc=$?
		echo "seed $seed: FAIL (exit $rc); reproduce with: $bin run --seed $seed --connections 8 --txns 2000"
		fails=$((fails + 1))
	fi
	i=$((i + 1))
done
echo "$((seeds - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
