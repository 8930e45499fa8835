# tap.sh - sourced by the end-to-end scripts (tests/e2e*.sh): TAP-style
# "ok N - ..." / "not ok N - ..." lines, a count of failures, and a
# temporary directory $tmp removed on exit. Each script ends with
# `echo "1..$n"` and `[ $fails -eq 0 ]`.
n=0
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else nok "$2"; fi; }
skip() { n=$((n + 1)); echo "ok $n - # SKIP $1"; }
