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
    ("stackato.cluster.maintenance_mode", "/r/maintenance_mode/tasks/set.yml:2", "", "backup", True, "maintenance on"),
    ("stackato.cluster.maintenance_mode", "/r/maintenance_mode/tasks/set.yml:2", "", "read", False, "maintenance off"),
    ("stackato.cluster.maintenance_mode", "/r/maintenance_mode/tasks/pending.yml:2", "", "read", None, None),
    ("stackato.cluster.post_upgrade", "/r/post_upgrade/tasks/restart.yml:4", "", None, None, "restart"),
    ("", "/p/playbook.yml:3", "", None, None, None),
])
def test_step_of(role, path, name, current, value, step):
    assert _report.step_of(role, path, name, current, value) == step


def test_estimates_measured_else_default():
    measured = _report.measured_durations([_report.read_events(LOG)])
    estimates = _report.step_estimates(measured)
    assert estimates["upgrade"][1] == "measured (1)"
    assert _report.step_estimates({})["upgrade"] == (900.0, "default")


def test_plan_window_sums_serial_batches_and_takes_the_longest_of_parallel_ones():
    est = {step: (float(s), "default") for step, s in _report.DEFAULT_DURATIONS.items()}
    order = [("DEAs", True, ["dea1", "dea2"]), ("data-services nodes", False, ["d1", "d2"]), ("the core node", True, ["core"])]
    nodes = {"dea1": {"roles": ["dea"], "pending": True}, "dea2": {"roles": ["dea"], "pending": False},
             "d1": {"roles": ["data_services"], "pending": True}, "d2": {"roles": ["data_services"], "pending": True},
             "core": {"roles": ["core"], "pending": True}}
    plan = _report.estimate_plan(order, nodes, "3.6.2", est, command="ansible-playbook x")
    node_steps = 10 + 900 + 120 + 20          # gates, upgrade, ready, verify
    dea = node_steps + 60                       # + retire
    assert [r["order"] for r in plan["nodes"]] == [1, 2, 3, 4, 5]
    assert plan["nodes"][1]["steps"] == {}
    assert plan["window_s"] == dea + node_steps + node_steps + 5 + 120 + 180 + 5
    assert plan["pending"] == ["dea1", "d1", "d2", "core"]
    assert _report.plan_lines(plan)[-1] == "Next: ansible-playbook x"


def test_window_open_at_the_end():
    evts = [_report.event("run_start", 0), _report.event("maintenance", 5, state="on"), _report.event("run_end", 9)]
    report = _report.build_report(evts)
    assert report["window"]["open_at_end"] and report["window"]["length_s"] is None
