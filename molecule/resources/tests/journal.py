"""Helpers for the verifiers: the simulated cluster's journal, topology and nodes."""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
import testinfra
import yaml

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
CLUSTER = os.environ["STK_CLUSTER"]
CLUSTER_DIR = PROJECT / ".run" / "clusters" / CLUSTER
INVENTORY = CLUSTER_DIR / "inventory"
SOURCE = "3.4.2"
TARGET = "3.6.2"
# Every event the simulator journals when something changes on a node or in the Cloud Controller.
CHANGES = ("config_set", "config_del", "upgrade_start", "upgrade_step", "upgrade_done", "self_update", "data_export",
           "dea_retire_start", "dea_retired", "kato_restart", "download_start", "download_done", "role_state",
           "instance_stopped", "buildpack_added", "buildpack_removed", "buildpack_updated")


def events() -> list[dict]:
    path = CLUSTER_DIR / "journal" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def of(evts: list[dict], *names: str) -> list[dict]:
    return [e for e in evts if e["event"] in names]


def topology() -> dict:
    return yaml.safe_load((CLUSTER_DIR / "topology.yml").read_text())


def core_ip() -> str:
    return next(n["ip"] for n in topology()["nodes"] if "primary" in n["roles"])


def core_name() -> str:
    return next(n["name"] for n in topology()["nodes"] if "primary" in n["roles"])


def node_ips(role: str | None = None) -> list[str]:
    return [n["ip"] for n in topology()["nodes"] if role is None or role in n["roles"]]


def maintenance_sets(evts: list[dict]) -> list[dict]:
    return [e for e in evts if e["event"] == "config_set" and e.get("component") == "cloud_controller_ng"
            and str(e.get("key", "")).strip("/") == "maintenance_mode"]


def is_on(event: dict) -> bool:
    return event["value"] is True or str(event["value"]).lower() == "true"


def app_outages(evts: list[dict]) -> list[str]:
    """Every moment an app of two or more instances had none running, from the journal.

    Every instance runs at the start (the topology's counts). instance_started adds one;
    instance_down takes one away until that app's instance on that DEA starts again;
    instance_stopped removes an instance: a running one, unless one of that app on that DEA was
    already down."""
    apps = {a["name"]: a["instances"] for a in topology().get("apps", [])}
    running = Counter(apps)
    down = Counter()
    outages = []
    for e in evts:
        key = (e.get("app"), e.get("dea"))
        if e["event"] == "instance_started":
            running[e["app"]] += 1
            if down[key]:
                down[key] -= 1
        elif e["event"] == "instance_down":
            running[e["app"]] -= 1
            down[key] += 1
        elif e["event"] == "instance_stopped":
            if down[key]:
                down[key] -= 1
            else:
                running[e["app"]] -= 1
        else:
            continue
        if apps.get(e["app"], 0) >= 2 and running[e["app"]] < 1:
            outages.append(f"{e['app']} has no instance running at ts {e['ts']:.3f} ({e['event']} on {e['dea']})")
    return outages


def nodes() -> list:
    return testinfra.get_hosts(["ansible://stackato"], ansible_inventory=str(INVENTORY))


def host(name: str):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=str(INVENTORY))


def kato_version(host) -> str:
    """The version `kato version` prints, bare (ours) or inside other text (documented profile)."""
    out = host.check_output("/home/stackato/bin/kato version")
    match = re.search(r"(?<![\w.])(\d+\.\d+\.\d+)(?![\w.])", out)
    assert match, f"no version in kato version's output {out!r}"
    return match.group(1)


def upgrade_status(host) -> dict:
    return json.loads(host.check_output("/home/stackato/bin/kato node upgrade --status --json"))


def saved_run(name: str) -> dict:
    """A nested ansible-playbook run kept by converge or side_effect: rc and output, colours removed."""
    result = json.loads((CLUSTER_DIR / name).read_text())
    result["stdout"] = re.sub(r"\x1b\[[0-9;]*m", "", result["stdout"])
    return result


def run_fixture(name: str):
    """A module-scoped fixture of the nested run kept as ``name`` (``first = journal.run_fixture("x.json")``)."""
    @pytest.fixture(scope="module")
    def saved():
        return saved_run(name)
    return saved


def events_fixture():
    """A module-scoped fixture of the journal's events, read once per test module (``evts = journal.events_fixture()``)."""
    @pytest.fixture(scope="module")
    def evts():
        return events()
    return evts


REDUNDANT_ROLES = ("dea", "router", "controller")


def node_spans(evts: list[dict]) -> list[dict]:
    """[{"node", "kind": upgrade|restart, "start", "end"}]: each node's upgrade (upgrade_start to upgrade_done or
    upgrade_failed) and each restart (kato_restart to the last of its processes RUNNING before the node's next one)."""
    spans, upgrading, restarting = [], {}, {}
    for e in evts:
        ev, ip = e["event"], e.get("node")
        if ev == "upgrade_start":
            upgrading[ip] = e["ts"]
        elif ev in ("upgrade_done", "upgrade_failed") and ip in upgrading:
            spans.append({"node": ip, "kind": "upgrade", "start": upgrading.pop(ip), "end": e["ts"]})
        elif ev == "kato_restart":
            if ip in restarting:
                spans.append(restarting.pop(ip))
            restarting[ip] = {"node": ip, "kind": "restart", "start": e["ts"], "end": e["ts"]}
        elif ev == "process_state" and ip in restarting and e.get("state") == "RUNNING":
            restarting[ip]["end"] = max(restarting[ip]["end"], e["ts"])
    return spans + list(restarting.values())


def group_overlaps(evts: list[dict]) -> list[str]:
    """Two nodes of one redundant group (two DEAs, two routers, two controllers) upgrading or restarting at once."""
    roles = {n["ip"]: set(n["roles"]) for n in topology()["nodes"]}
    spans, found = node_spans(evts), []
    for i, a in enumerate(spans):
        for b in spans[i + 1:]:
            shared = roles.get(a["node"], set()) & roles.get(b["node"], set()) & set(REDUNDANT_ROLES)
            if a["node"] != b["node"] and shared and a["start"] < b["end"] and b["start"] < a["end"]:
                found.append(f"{a['kind']} of {a['node']} and {b['kind']} of {b['node']} overlap ({sorted(shared)})")
    return found


def overlapping(evts: list[dict], kind: str) -> list[tuple[str, str]]:
    """Pairs of nodes whose `kind` spans (upgrade or restart) overlapped: the waves ran nodes together."""
    spans = [s for s in node_spans(evts) if s["kind"] == kind]
    return [(a["node"], b["node"]) for i, a in enumerate(spans) for b in spans[i + 1:]
            if a["node"] != b["node"] and a["start"] < b["end"] and b["start"] < a["end"]]
