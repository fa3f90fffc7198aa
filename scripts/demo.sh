#!/usr/bin/env bash
# The whole story on a simulated cluster: bring up `small` with live traffic (HTTP app
# instances, a reverse proxy per router, HAProxy in front), upgrade it 3.4.2 -> 3.6.2 with
# `ansible-playbook playbooks/upgrade.yml` while tests/traffic/loadgen.py sends a steady
# request rate per app through HAProxy, and print what happened from the event journal and
# the per-app request table (sent, failed, longest gap). Before it, the plan
# (`playbooks/plan.yml`: per node its steps' estimates, the window, the next command); during it,
# the progress lines of the callback stackato.cluster.upgrade_progress; at the end, where the
# run's report is (report.html and report.json, with the failed requests the generator counted).
# The cluster is removed at the end unless KEEP=1.
#   NAME=demo  cluster name        KEEP=1  leave the cluster up
#   OCTET=9    127.42.<OCTET>.x    TIME_SCALE=0.0  simulated durations (0 = instant)
#   VERBOSE=1  every task's result (default: only changes, failures and the recap)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="$REPO/.venv/bin/python"
NAME="${NAME:-demo}"
OCTET="${OCTET:-9}"
KEEP="${KEEP:-0}"
TIME_SCALE="${TIME_SCALE:-0.0}"
VERBOSE="${VERBOSE:-0}"

cluster() { "$PYTHON" tests/harness/cluster.py "$@"; }
say() { printf '\n=== %s\n' "$*"; }

cleanup() {
    if [ "$KEEP" = "1" ]; then
        say "cluster $NAME left up (make cluster-down NAME=$NAME removes it)"
    else
        cluster down --name "$NAME" >/dev/null
    fi
}

# The settings docs/operator-guide.md ("Speed") recommends: no facts, one SSH connection per
# node kept open and pipelined, every node read at once.
ansible_env() {
    eval "$(scripts/dev-collection-path.sh)"
    export ANSIBLE_PIPELINING=true ANSIBLE_FORKS=20 ANSIBLE_GATHERING=explicit
    export ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=300s -o ServerAliveInterval=30"
    export ANSIBLE_HOST_KEY_CHECKING=false ANSIBLE_RETRY_FILES_ENABLED=false
    # The collection's progress lines, event log and report (docs/operator-guide.md, "Plan, progress, report").
    export ANSIBLE_CALLBACKS_ENABLED=stackato.cluster.upgrade_progress
    if [ "$VERBOSE" != "1" ]; then
        export ANSIBLE_DISPLAY_OK_HOSTS=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
    fi
}

# The upgrade under load: the generator sends for as long as ansible-playbook runs (bounded:
# 900 s at most) and exits with the playbook's status; its result is printed at the end.
upgrade() {
    "$PYTHON" tests/traffic/loadgen.py run --cluster "$NAME" --quiet --out "$TRAFFIC_RESULT" \
        -- "$REPO/.venv/bin/ansible-playbook" -i "$INVENTORY" playbooks/upgrade.yml
}

# The report of the upgrade run (the newest run directory next to the inventory), built again
# with the traffic the generator measured (it writes its result once the playbook has ended).
report() {
    local run
    run="$(ls -d "$(dirname "$INVENTORY")"/stackato-runs/2*/ | tail -n 1)"
    "$PYTHON" scripts/stackato-report.py "${run}events.jsonl" --traffic "$TRAFFIC_RESULT"
}

traffic_table() {
    "$PYTHON" tests/traffic/loadgen.py table "$TRAFFIC_RESULT"
}

# A short timeline from the journal: the window, the backup, each node's upgrade, the DEA
# retirements, the restarts, and whether an app with two or more instances was ever down.
timeline() {
    cluster journal --name "$NAME" --raw | "$PYTHON" scripts/journal_timeline.py ".run/clusters/$NAME/topology.yml"
}

main() {
    say "bringing up the simulated cluster '$NAME' (topology small)"
    INVENTORY="$(cluster up small --name "$NAME" --set "octet=$OCTET" \
                 --set "time_scale=$TIME_SCALE" --set traffic=true | tail -n 1)"
    TRAFFIC_RESULT="$REPO/.run/clusters/$NAME/traffic-result.json"
    trap cleanup EXIT
    echo "inventory: $INVENTORY"

    ansible_env
    say "ansible-playbook playbooks/plan.yml -i $INVENTORY (changes nothing)"
    ANSIBLE_DISPLAY_OK_HOSTS=true "$REPO/.venv/bin/ansible-playbook" -i "$INVENTORY" playbooks/plan.yml

    say "ansible-playbook playbooks/upgrade.yml -i $INVENTORY (under live traffic)"
    local status=0 start=$SECONDS
    upgrade || status=$?
    echo "playbook: exit $status in $((SECONDS - start)) s"

    say "timeline (from the cluster's event journal)"
    timeline || status=$((status ? status : 1))

    say "live traffic through HAProxy during the upgrade (tests/traffic/loadgen.py)"
    traffic_table || status=$((status ? status : 1))
    say "the run's report (callback stackato.cluster.upgrade_progress)"
    report || status=$((status ? status : 1))
    if [ "$status" -ne 0 ]; then
        say "the upgrade FAILED (exit $status); full journal: cluster.py journal --name $NAME"
    fi
    return "$status"
}

main "$@"
