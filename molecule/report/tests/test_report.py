"""report: the plan changes nothing and lists every node with its estimates; the upgrade run with
the callback prints progress lines (ETA from the plan) and writes a report whose window agrees with
the simulator journal's to within a second and whose nodes and versions match the journal;
report.html in headless Chromium (loopback only) shows every node."""
import json
import re

import pytest

import browser
import journal

# Everything the simulator journals when something changes on a node.
NODES = ["dea1", "dea2", "core"]       # the upgrade's order
RUNS = journal.CLUSTER_DIR / "stackato-runs"


plan_run = journal.run_fixture("report-plan.json")
upgrade_run = journal.run_fixture("report-upgrade.json")


@pytest.fixture(scope="module")
def plan_json():
    return json.loads((RUNS / "plan.json").read_text())


@pytest.fixture(scope="module")
def run_dirs():
    """The run directories of the callback, oldest first: the plan's, then the upgrade's."""
    dirs = sorted(p for p in RUNS.iterdir() if p.is_dir())
    assert len(dirs) == 2, dirs
    return dirs


@pytest.fixture(scope="module")
def report(run_dirs):
    return json.loads((run_dirs[1] / "report.json").read_text())


def ip_names():
    return {n["ip"]: n["name"] for n in journal.topology()["nodes"]}


def test_plan_passes_and_changes_nothing(plan_run, upgrade_run):
    assert plan_run["rc"] == 0, plan_run["stdout"][-3000:]
    before = [e for e in journal.events() if e["ts"] < upgrade_run["started"]]
    assert [e for e in before if e["ts"] >= plan_run["started"]], "the plan read nothing"
    assert journal.of(before, *journal.CHANGES) == []


def test_plan_prints_every_node_with_its_estimates(plan_run, plan_json):
    out = plan_run["stdout"]
    assert re.search(r"Plan: upgrade 3 of 3 node\(s\) to 3\.6\.2; estimated maintenance window \d+:\d\d", out)
    positions = []
    for order, (node, batch) in enumerate(zip(NODES, [1, 2, 3]), start=1):   # waves: one DEA each, the core
        match = re.search(rf"{order}\. {node} \[[^]]+\] 3\.4\.2 -> 3\.6\.2; batch {batch} \([^)]+\); (\d+) components; "
                          r"estimated \d+:\d\d", out)
        assert match, node
        positions.append(match.start())
    assert positions == sorted(positions)
    for step in ("gates", "retire", "upgrade", "ready", "verify"):
        assert re.search(rf"\"\s+{step} \d+:\d\d \((default|measured)", out), step
    assert re.search(r"Cluster steps: maintenance on .*backup .*restart .*maintenance off", out)
    assert "Preflight WARN [" in out or "Preflight INFO [" in out or "Preflight: no finding." in out
    inventory = journal.INVENTORY
    command = f"ansible-playbook stackato.cluster.upgrade -i {inventory} -e stackato_target_version=3.6.2"
    assert f"Next: {command}" in out
    # the same for machines
    assert [r["node"] for r in plan_json["nodes"]] == NODES
    assert plan_json["next_command"] == command and plan_json["pending"] == NODES
    dea1 = plan_json["nodes"][0]
    assert dea1["kato_roles"] and "dea" in dea1["kato_roles"] and "dea_ng" in dea1["components"]
    assert set(dea1["steps"]) == {"gates", "retire", "upgrade", "ready", "verify"}
    assert "retire" not in plan_json["nodes"][2]["steps"]
    assert plan_json["window_s"] == round(sum(r["estimate_s"] for r in plan_json["nodes"])
                                          + sum(plan_json["cluster_steps"].values()), 1)


def test_upgrade_passes(upgrade_run):
    assert upgrade_run["rc"] == 0, upgrade_run["stdout"][-3000:]


def test_progress_lines_with_an_eta_from_the_plan(upgrade_run, run_dirs):
    out = upgrade_run["stdout"]
    for n, node in enumerate(NODES, start=1):
        for step in ("upgrade", "verify"):
            assert re.search(rf"\[stackato\] node {n} of 3 \({node}\): {step}; elapsed \d+:\d\d, "
                             r"ETA \d\d:\d\d:\d\d UTC \(about \d+:\d\d left\)", out), (node, step)
    assert re.search(r"\[stackato\] maintenance on on 3 node\(s\)|\[stackato\] node \d of 3 \(\w+\): maintenance on", out)
    assert "TASK [" in out and "PLAY RECAP" in out            # Ansible's own output is still there
    events = [json.loads(line) for line in (run_dirs[1] / "events.jsonl").read_text().splitlines()]
    plan_event = next(e for e in events if e["event"] == "plan")
    assert plan_event["source"] == str(RUNS / "plan.json")
    start = next(e for e in events if e["event"] == "run_start")
    assert all(isinstance(start["nodes"][n]["components"], int) for n in NODES)
    assert re.search(rf"\[stackato\] report \(ok, maintenance window \d+:\d\d\): {re.escape(str(run_dirs[1]))}/report.html",
                     out)


def test_report_window_agrees_with_the_journal(report):
    sets = journal.maintenance_sets(journal.events())
    on = next(e["ts"] for e in sets if journal.is_on(e))
    off = [e["ts"] for e in sets if not journal.is_on(e)][-1]
    window = report["window"]
    assert abs(window["on"] - on) < 1.0 and abs(window["off"] - off) < 1.0, (window, on, off)
    assert abs(window["length_s"] - (off - on)) < 1.0, (window, off - on)


def test_report_nodes_and_versions_match_the_journal(report):
    names = ip_names()
    evts = journal.events()
    upgraded = {names[e["node"]]: e for e in journal.of(evts, "upgrade_start")}
    done = {names[e["node"]]: e["version"] for e in journal.of(evts, "upgrade_done")}
    assert report["result"] == "ok" and report["target"] == "3.6.2" and not report["check_mode"]
    assert [n["name"] for n in report["nodes"]] == NODES
    assert sorted(upgraded) == sorted(NODES) == sorted(names.values())
    for node in report["nodes"]:
        assert node["version_before"] == upgraded[node["name"]]["from"] == journal.SOURCE
        assert node["version_after"] == done[node["name"]] == journal.TARGET
        steps = [s["step"] for s in node["steps"]]
        # no gates step: playbooks/upgrade.yml checked every node before the window and turned maintenance mode on
        assert {"upgrade", "ready", "verify"} <= set(steps) and "gates" not in steps, (node["name"], steps)
        assert ("retire" in steps) == (node["name"] != "core")
        assert node["result"] == "ok"


def test_report_html_in_headless_chromium(run_dirs, report):
    png = run_dirs[1] / "report.png"
    dom = browser.open_page(run_dirs[1] / "report.html", png, size="1100,600")
    assert browser.node_cells(dom) == NODES
    assert dom.count("3.4.2 → 3.6.2") == 3
    assert "Maintenance window: " in dom and "<svg" in dom
    figures = browser.png_figures(png)
    assert (figures["width"], figures["height"]) == (1100, 600)
    assert figures["distinct_rows"] > 50 and figures["non_blank_share"] > 0.2, figures
