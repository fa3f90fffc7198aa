#!/bin/sh
# Runs every molecule scenario against simulated clusters (the Makefile's test-molecule target).
#   tests/molecule.sh            # all scenarios
#   tests/molecule.sh micro      # some of them
set -eu
repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
cd "$repo"
eval "$(scripts/dev-collection-path.sh)"
if [ -x "$repo/.venv/bin/molecule" ]; then PATH="$repo/.venv/bin:$PATH"; fi
export PATH
scenarios=${*:-"modules modules-documented micro prefetch cluster cluster-documented capacity proxy preflight-failures check-mode bad-input traffic customizations fault-component fault-network fault-kato-missing fault-node-death fault-controller-killed lock report"}
failed=""
passed=0
count=0
for s in $scenarios; do
    count=$((count + 1))
    start=$(date +%s)
    if molecule test -s "$s"; then status=ok; passed=$((passed + 1)); else status=FAILED; failed="$failed $s"; fi
    echo "molecule $s: $status in $(( $(date +%s) - start )) s"
done
echo "molecule scenarios: $passed passed, $((count - passed)) failed"
[ -z "$failed" ] || { echo "failed scenarios:$failed" >&2; exit 1; }
