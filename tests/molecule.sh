#!/usr/bin/env bash
# Runs every molecule scenario against simulated clusters (the Makefile's test-molecule target).
#   tests/molecule.sh            # all scenarios
#   tests/molecule.sh micro      # some of them
#   MOLECULE_JOBS=1 tests/molecule.sh   # one at a time (default: 2 at once)
# Scenarios run MOLECULE_JOBS at a time: each has its own cluster name, loopback octet and molecule
# ephemeral directory, so they share nothing. With more than one job, each scenario's output goes to
# a log file (under $MOLECULE_LOG_DIR, default a temporary directory), printed when it fails.
set -eu
repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
cd "$repo"
eval "$(scripts/dev-collection-path.sh)"
if [ -x "$repo/.venv/bin/molecule" ]; then PATH="$repo/.venv/bin:$PATH"; fi
export PATH
# The longest first, so that two at a time end together.
scenarios=${*:-"traffic cluster cluster-documented fault-node-death fault-controller-killed fault-kato-missing fault-network fault-component fault-not-ready fault-restart report capacity bad-input proxy customizations lock micro gates prefetch modules-documented check-mode modules preflight-failures"}
jobs=${MOLECULE_JOBS:-2}
logs=${MOLECULE_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/molecule-logs.XXXXXX")}
mkdir -p "$logs"
export logs jobs

# One scenario: its log and a result line "<scenario> ok|FAILED <seconds>".
run_one() {
    s=$1
    start=$(date +%s)
    if [ "$jobs" -le 1 ]; then
        if molecule test -s "$s"; then status=ok; else status=FAILED; fi
    else
        if molecule test -s "$s" >"$logs/$s.log" 2>&1; then status=ok; else status=FAILED; fi
    fi
    line="molecule $s: $status in $(( $(date +%s) - start )) s"
    echo "$line"
    echo "$line" >"$logs/$s.result"
}

if [ "$jobs" -le 1 ]; then
    for s in $scenarios; do run_one "$s"; done
else
    running=0
    for s in $scenarios; do
        if [ "$running" -ge "$jobs" ]; then wait -n 2>/dev/null || true; running=$((running - 1)); fi
        run_one "$s" &
        running=$((running + 1))
    done
    wait
fi

failed=""
passed=0
count=0
for s in $scenarios; do
    count=$((count + 1))
    if grep -q ": ok in" "$logs/$s.result" 2>/dev/null; then passed=$((passed + 1)); else failed="$failed $s"; fi
done
for s in $failed; do
    if [ "$jobs" -gt 1 ] && [ -f "$logs/$s.log" ]; then
        echo "===== molecule $s: log ====="
        cat "$logs/$s.log"
    fi
done
echo "molecule scenarios: $passed passed, $((count - passed)) failed (logs: $logs)"
[ -z "$failed" ] || { echo "failed scenarios:$failed" >&2; exit 1; }
