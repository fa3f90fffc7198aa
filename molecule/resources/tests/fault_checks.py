"""Checks the fault and lock scenarios make after their
runs: read from the simulator's journal, the nodes, the controller's summary and the run reports."""
from __future__ import annotations

import json

import journal

LOCK = "/home/stackato/.stackato-cluster/upgrade.lock"


def node_ip(name: str) -> str:
    return next(n["ip"] for n in journal.topology()["nodes"] if n["name"] == name)


def retire_overlaps(evts: list[dict]) -> list[str]:
    """Every DEA retired while another one was, and every DEA still retired at the end: none may be."""
    retired, found = set(), []
    for e in evts:
        if e["event"] == "dea_retired":
            if retired - {e["dea"]}:
                found.append(f"{e['dea']} retired at ts {e['ts']:.3f} while {sorted(retired)} were")
            retired.add(e["dea"])
        elif e["event"] == "dea_unretired":
            retired.discard(e["dea"])
    if retired:
        found.append(f"{sorted(retired)} still retired at the end")
    return found


def assert_cluster_whole(evts: list[dict]) -> None:
    """No second DEA retired while one is, no app of two or more instances without a running one."""
    assert retire_overlaps(evts) == []
    assert journal.app_outages(evts) == []
    assert journal.of(evts, "dea_retired"), "no DEA was retired at all: the check above proves nothing"


def assert_every_node_at_target() -> None:
    for host in journal.nodes():
        assert journal.kato_version(host) == journal.TARGET, host.backend.host
        assert host.file("/home/stackato/bin/kato").exists


def assert_stopped_back_in_service(run: dict, node: str, step: str, cause: str, next_step: str) -> None:
    """The run failed at the node's step for that cause, returned the cluster to service and names the next step."""
    out = run["stdout"]
    assert run["rc"] != 0
    assert f"FAILED: the upgrade stopped at {node}, step {step}" in out, out[-3000:]
    assert f"Cause: {cause}." in out
    assert "Cluster BACK IN SERVICE: maintenance mode is OFF" in out
    assert next_step in out


def assert_lock_released() -> None:
    assert not journal.host(journal.core_name()).file(LOCK).exists


def summary(name: str = "upgrade-progress.json") -> dict:
    return json.loads((journal.CLUSTER_DIR / name).read_text())


def reports() -> list[dict]:
    """report.json of every run the upgrade_progress callback logged (converge enables it), oldest first."""
    runs = journal.CLUSTER_DIR / "stackato-runs"
    return [json.loads(p.read_text()) for p in sorted(runs.glob("*/report.json"))]


def node_steps(evts: list[dict], ip: str) -> list[dict]:
    """The node's upgrade_start, upgrade_failed, download_failed and upgrade_done events, in order."""
    return [e for e in evts if e.get("node") == ip
            and e["event"] in ("upgrade_start", "upgrade_failed", "download_failed", "upgrade_done")]


def report_node(report: dict, name: str) -> dict:
    return next(n for n in report["nodes"] if n["name"] == name)
