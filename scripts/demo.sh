#!/usr/bin/env bash
# The whole story on a simulated cluster: bring up `small`, upgrade it 3.4.2 -> 3.6.2, and print
# what happened from the event journal. The cluster is removed at the end unless KEEP=1.
#   NAME=demo  cluster name        KEEP=1  leave the cluster up
#   OCTET=9    127.42.<OCTET>.x    TIME_SCALE=0.0  simulated durations (0 = instant)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="$REPO/.venv/bin/python"
NAME="${NAME:-demo}"
OCTET="${OCTET:-9}"
KEEP="${KEEP:-0}"
TIME_SCALE="${TIME_SCALE:-0.0}"

cluster() { "$PYTHON" tests/harness/cluster.py "$@"; }
say() { printf '\n=== %s\n' "$*"; }

cleanup() {
    if [ "$KEEP" = "1" ]; then
        say "cluster $NAME left up (make cluster-down NAME=$NAME removes it)"
    else
        cluster down --name "$NAME" >/dev/null
    fi
}

# kato's own cluster mode: on the Core node, upgrade every node in role order, primary last.
upgrade_with_kato() {
    cluster ssh core --name "$NAME" -- /home/stackato/bin/kato node upgrade --skip-confirmation
}

# The collection's rolling upgrade.
upgrade_with_ansible() {
    "$REPO/.venv/bin/ansible-playbook" -i "$INVENTORY" playbooks/upgrade.yml
}

# The one line to change when the roles land: upgrade_with_kato -> upgrade_with_ansible.
run_upgrade() { upgrade_with_kato; }

main() {
    say "bringing up the simulated cluster '$NAME' (topology small)"
    INVENTORY="$(cluster up small --name "$NAME" --set "octet=$OCTET" \
                 --set "time_scale=$TIME_SCALE" | tail -n 1)"
    trap cleanup EXIT
    echo "inventory: $INVENTORY"
    cluster ssh core --name "$NAME" -- /home/stackato/bin/kato node list || true  # informative only

    say "upgrading"
    local status=0
    run_upgrade || status=$?

    say "what happened (from the journal)"
    cluster journal --name "$NAME" --summary
    if [ "$status" -ne 0 ]; then
        say "the upgrade FAILED (exit $status); full journal: cluster.py journal --name $NAME"
    fi
    return "$status"
}

main "$@"
