"""`kato node upgrade` under faults, in real containers over real SSH.

1. Cluster mode on the Core node of `small` with a network fault on one DEA: the run stops with
   exit 1 and the resume hint, the cluster partly upgraded; `kato node upgrade --resume` on
   the Core finishes it, without upgrading again the nodes that were done.
2. The kato_missing fault on the one node of `micro`: the run dies with kato absent; the
   documented recovery done by hand (the seed's three steps) restores kato and finishes the node.

Each scenario's stages are module fixtures, so every stage runs once, in order, whichever
test asks for it first.
"""
from __future__ import annotations

import json

import pytest

from harness_support import KATO, hosts, journal, run_cli, running_cluster, ssh

OLD, NEW = "3.4.2", "3.6.2"
UPGRADE_TIMEOUT_S = 300


def versions(core: dict[str, str], ips: list[str]) -> dict[str, str]:
    """ip -> `kato node version <ip>` as run on the Core node, in one SSH session."""
    script = "; ".join(f"echo {ip} $({KATO} node version {ip} 2>&1 | tail -n1)" for ip in ips)
    result = ssh(core, script)
    assert result.returncode == 0, result.stderr
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if line.strip())


def upgrade_status(node: dict[str, str]) -> dict:
    result = ssh(node, f"{KATO} node upgrade --status --json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def of(events: list[dict], ip: str, kind: str) -> list[dict]:
    return [e for e in events if e.get("node") == ip and e.get("event") == kind]


# ---------------------------------------------------------------------------------------------
# 1. network fault on dea2, cluster mode, resume
# ---------------------------------------------------------------------------------------------
DROP = "harness-drop"


@pytest.fixture(scope="module")
def drop_cluster():
    with running_cluster("small", DROP, 33, "nodes.dea2.faults.network_drop.times=1") as inventory:
        yield hosts(inventory)


@pytest.fixture(scope="module")
def failed_run(drop_cluster):  # pylint: disable=redefined-outer-name
    """The first cluster-mode run and the state it leaves."""
    core = drop_cluster["core"]
    result = ssh(core, f"{KATO} node upgrade --skip-confirmation", timeout=UPGRADE_TIMEOUT_S)
    order_line = next((line for line in result.stdout.splitlines() if " in this order: " in line), "")
    order = order_line.split(" in this order: ", 1)[1].split(", ") if order_line else []
    ips = {name: hv["ansible_host"] for name, hv in drop_cluster.items()}
    return {"result": result, "order": order, "ips": ips,
            "versions": versions(core, sorted(ips.values())),
            "dea2_status": upgrade_status(drop_cluster["dea2"]),
            "events": journal(DROP)}


@pytest.fixture(scope="module")
def resumed_run(drop_cluster, failed_run):  # pylint: disable=redefined-outer-name,unused-argument
    core = drop_cluster["core"]
    result = ssh(core, f"{KATO} node upgrade --resume --skip-confirmation",
                 timeout=UPGRADE_TIMEOUT_S)
    return {"result": result, "versions": versions(core, sorted(failed_run["ips"].values())),
            "events": journal(DROP)}


def test_network_drop_stops_the_cluster_upgrade_with_the_resume_hint(failed_run):  # pylint: disable=redefined-outer-name
    result = failed_run["result"]
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr
    assert "ERROR: " in result.stderr
    assert "kato node upgrade --resume" in result.stderr, result.stderr
    assert "network error" in result.stderr, result.stderr


def test_network_drop_leaves_the_cluster_partly_upgraded(failed_run):  # pylint: disable=redefined-outer-name
    ips, order, found = failed_run["ips"], failed_run["order"], failed_run["versions"]
    assert sorted(order) == sorted(ips.values()), failed_run["result"].stdout[:2000]
    assert order[-1] == ips["core"], "the primary is upgraded last"
    cut = order.index(ips["dea2"])
    assert cut > 0, f"dea2 is first in {order}: nothing would be upgraded before the fault"
    assert {ip: found[ip] for ip in order[:cut]} == {ip: NEW for ip in order[:cut]}, found
    assert {ip: found[ip] for ip in order[cut:]} == {ip: OLD for ip in order[cut:]}, found
    assert failed_run["dea2_status"]["state"] == "failed", failed_run["dea2_status"]


def test_network_drop_is_in_the_journal(failed_run):  # pylint: disable=redefined-outer-name
    dea2, events = failed_run["ips"]["dea2"], failed_run["events"]
    failed = of(events, dea2, "upgrade_failed")
    assert len(failed) == 1 and "network error" in failed[0]["reason"], failed
    assert of(events, dea2, "download_failed"), "no download_failed on dea2"
    assert not of(events, failed_run["ips"]["core"], "upgrade_start"), "the Core was started"


def test_resume_on_the_core_finishes_every_node(resumed_run, failed_run):  # pylint: disable=redefined-outer-name
    result = resumed_run["result"]
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert resumed_run["versions"] == {ip: NEW for ip in failed_run["ips"].values()}


def test_resume_is_in_the_journal_and_skips_the_nodes_done(resumed_run, failed_run):  # pylint: disable=redefined-outer-name
    events, ips = resumed_run["events"], failed_run["ips"]
    failure = of(events, ips["dea2"], "upgrade_failed")[0]
    starts = of(events, ips["dea2"], "upgrade_start")
    assert [bool(e.get("resume")) for e in starts] == [False, True], starts
    assert starts[1]["ts"] > failure["ts"]
    for ip in ips.values():
        assert [e["version"] for e in of(events, ip, "upgrade_done")] == [NEW], ip
    cut = failed_run["order"].index(ips["dea2"])
    for ip in failed_run["order"][:cut]:
        assert len(of(events, ip, "upgrade_start")) == 1, f"{ip} was upgraded again on resume"
    summary = run_cli("journal", "--name", DROP, "--summary")
    assert summary.returncode == 0, summary.stderr
    assert f"FAILED on {ips['dea2']}" in summary.stdout, summary.stdout
    assert f"RESUMED on {ips['dea2']}" in summary.stdout, summary.stdout


# ---------------------------------------------------------------------------------------------
# 2. kato_missing on micro, the documented recovery by hand
# ---------------------------------------------------------------------------------------------
KATO_MISSING = "harness-kato-missing"


@pytest.fixture(scope="module")
def micro():
    with running_cluster("micro", KATO_MISSING, 34, "nodes.micro.faults.kato_missing.times=1") as inventory:
        yield hosts(inventory)["micro"]


@pytest.fixture(scope="module")
def died(micro):  # pylint: disable=redefined-outer-name
    result = ssh(micro, f"{KATO} node upgrade --skip-confirmation", timeout=UPGRADE_TIMEOUT_S)
    kato = ssh(micro, f"test -e {KATO} && echo present || echo absent")
    return {"result": result, "kato": kato.stdout.strip(), "events": journal(KATO_MISSING)}


@pytest.fixture(scope="module")
def recovered(micro, died):  # pylint: disable=redefined-outer-name,unused-argument
    """The seed's recovery, step by step as an operator would do it over SSH."""
    # 1. Find the command and options kato used to initiate the upgrade.
    found = ssh(micro, "tac /s/logs/sentinel-cli.log | grep -m1 'Running with command'")
    line = found.stdout.strip()
    command = line.split("Running with command:", 1)[1].strip() if "Running with command:" in line else ""
    # 2. cd /s/code/sentinel/cli  3. Copy the output after `Running with command:` and run it.
    result = ssh(micro, f"cd /s/code/sentinel/cli && {command}", timeout=UPGRADE_TIMEOUT_S) if command else None
    return {"found": found, "command": command, "result": result,
            "version": ssh(micro, f"{KATO} node version"), "status": upgrade_status(micro),
            "events": journal(KATO_MISSING)}


def test_kato_missing_leaves_kato_absent(died):  # pylint: disable=redefined-outer-name
    result = died["result"]
    assert result.returncode not in (0, 1), f"the run should die, not fail cleanly: rc={result.returncode}"
    assert died["kato"] == "absent"
    started = [e for e in died["events"] if e["event"] == "upgrade_step" and e.get("component") == "stackato-kato"]
    assert [e["phase"] for e in started] == ["start"], started
    assert not [e for e in died["events"] if e["event"] in ("upgrade_done", "upgrade_failed")]


def test_documented_recovery_restores_kato_and_finishes_the_node(recovered):  # pylint: disable=redefined-outer-name
    assert recovered["found"].returncode == 0, recovered["found"].stderr
    assert recovered["command"].startswith(f"bin/sentinel upgrade {NEW}"), recovered["found"].stdout
    result = recovered["result"]
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    version = recovered["version"]
    assert version.returncode == 0 and version.stdout.strip().splitlines()[-1] == NEW, \
        version.stdout + version.stderr
    assert recovered["status"]["state"] == "done", recovered["status"]
    events = recovered["events"]
    assert [e["version"] for e in events if e["event"] == "upgrade_done"] == [NEW]
    # The recovery command carries on with the node's recorded progress: a resume, not a restart.
    assert [bool(e.get("resume")) for e in events if e["event"] == "upgrade_start"] == [False, True]
    summary = run_cli("journal", "--name", KATO_MISSING, "--summary")
    assert "INTERRUPTED on " in summary.stdout and "stackato-kato" in summary.stdout, summary.stdout
