# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The report builder and the plan's estimates, from a recorded event log (micro cluster, simulator)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.stackato.cluster.plugins.module_utils import _report

LOG = Path(__file__).parent / "fixtures" / "report-micro-events.jsonl"


def test_report_from_recorded_log():
    report = _report.build_report(_report.read_events(LOG))
    assert report["result"] == "ok"
    assert [n["name"] for n in report["nodes"]] == ["micro"]
    node = report["nodes"][0]
    assert (node["version_before"], node["version_after"]) == ("3.4.2", "3.6.2")
    steps = [s["step"] for s in node["steps"]]
    for step in ("maintenance on", "backup", "retire", "upgrade", "ready", "verify", "restart", "maintenance off"):
        assert step in steps
    assert steps.index("maintenance on") < steps.index("upgrade") < steps.index("maintenance off")
    # the simulator's journal of that run: maintenance mode on at .2838, off at .8241 (10.540 s)
    assert abs(report["window"]["length_s"] - 10.540) < 1.0
    assert report["traffic"] is None


def test_html_is_self_contained_and_names_every_node():
    page = _report.render_html(_report.build_report(_report.read_events(LOG)))
    assert "micro" in page and "<svg" in page and "maintenance window" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page


@pytest.mark.parametrize("role, path, name, current, value, step", [
    ("stackato.cluster.preflight", "/r/preflight/tasks/gather.yml:3", "", None, None, "preflight"),
    ("stackato.cluster.preflight", "/r/preflight/tasks/gather.yml:3", "", "upgrade", None, "gates"),
    ("stackato.cluster.node_upgrade", "/r/node_upgrade/tasks/retire.yml:7", "", None, None, "retire"),
    # the included parts of a step keep the node in that step
    ("stackato.cluster.node_upgrade", "/r/node_upgrade/tasks/retire_unchecked.yml:4", "", "retire", None, "retire"),
    ("stackato.cluster.node_upgrade", "/r/node_upgrade/tasks/verify_apps.yml:5", "", "verify", None, "verify"),
    ("stackato.cluster.node_upgrade", "/r/node_upgrade/tasks/decide.yml:9", "", None, None, "read"),
    ("stackato.cluster.maintenance_mode", "/r/maintenance_mode/tasks/set.yml:2", "", "backup", True, "maintenance on"),
    ("stackato.cluster.maintenance_mode", "/r/maintenance_mode/tasks/set.yml:2", "", "read", False, "maintenance off"),
    ("stackato.cluster.maintenance_mode", "/r/maintenance_mode/tasks/pending.yml:2", "", "read", None, None),
    ("stackato.cluster.post_upgrade", "/r/post_upgrade/tasks/restart.yml:4", "", None, None, "restart"),
    ("stackato.cluster.post_upgrade", "/r/post_upgrade/tasks/restart_wave.yml:4", "", "verify", None, "restart"),
    ("", "/p/playbook.yml:3", "", None, None, None),
])
def test_step_of(role, path, name, current, value, step):
    assert _report.step_of(role, path, name, current, value) == step


def test_history_rows_of_a_recorded_log():
    rows = _report.history_rows(_report.read_events(LOG))
    upgrade = [r for r in rows if r["step"] == "upgrade"]
    assert len(upgrade) == 1 and upgrade[0]["node"] == "micro" and upgrade[0]["components"] is None
    assert 0.5 < upgrade[0]["seconds"] < 5
    assert {"maintenance on", "backup", "retire", "ready", "verify", "restart"} <= {r["step"] for r in rows}


def test_plan_remaining():
    plan = {"nodes": [{"node": "a", "steps": {"upgrade": 100.0, "verify": 10.0}}], "cluster_steps": {"restart": 30.0}}
    assert _report.remaining(plan, set(), {}, 0) == 140.0
    assert _report.remaining(plan, {("a", "upgrade")}, {("a", "verify"): 0.0}, 4.0) == 36.0
    # the nodes of a wave together: the wave counts as its longest node; waves add up
    plan = {"nodes": [{"node": "a", "batch": 1, "steps": {"upgrade": 100.0}}, {"node": "b", "batch": 1, "steps": {"upgrade": 60.0}},
                      {"node": "c", "batch": 2, "steps": {"upgrade": 50.0}}], "cluster_steps": {}}
    assert _report.remaining(plan, set(), {}, 0) == 150.0
    assert _report.remaining(plan, {("a", "upgrade")}, {("b", "upgrade"): 0.0}, 20.0) == 90.0


def test_window_open_at_the_end():
    evts = [_report.event("run_start", 0), _report.event("maintenance", 5, state="on"), _report.event("run_end", 9)]
    report = _report.build_report(evts)
    assert report["window"]["open_at_end"] and report["window"]["length_s"] is None
