# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The callback's ETA: from plan.json when the plan is newer than the latest upgrade run for the same
target and nodes, else estimated from the inventory's groups and the earlier runs' event logs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ansible_collections.stackato.cluster.plugins.callback.upgrade_progress import CallbackModule

LOG = Path(__file__).parents[1] / "module_utils" / "fixtures" / "report-micro-events.jsonl"
GROUPS = {"core": ["micro"]}


def callback(runs):
    plugin = CallbackModule()
    plugin._dir = str(runs / "20270101T000000Z")  # pylint: disable=protected-access
    os.makedirs(plugin._dir)  # pylint: disable=protected-access
    plugin._order = ["micro"]  # pylint: disable=protected-access
    return plugin


def write(path, text, mtime):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))


@pytest.mark.parametrize("plan_at, run_at, target, nodes, from_plan", [
    (200, 100, "3.6.2", ["micro"], True),        # planned after the last upgrade run
    (100, 200, "3.6.2", ["micro"], False),       # an upgrade ran since: the plan is stale
    (200, 100, "3.6.1", ["micro"], False),       # another target
    (200, 100, "3.6.2", ["micro", "dea1"], False),  # other nodes
    (None, 100, "3.6.2", ["micro"], False),      # no plan
])
def test_eta_from_the_plan_when_current(tmp_path, plan_at, run_at, target, nodes, from_plan):
    runs = tmp_path / "stackato-runs"
    write(runs / "20260101T000000Z" / "events.jsonl", LOG.read_text(), run_at)
    if plan_at is not None:
        plan = {"target": target, "nodes": [{"node": n, "steps": {"upgrade": 1.0}, "components": []} for n in nodes],
                "cluster_steps": {}, "window_s": 1.0}
        write(runs / "plan.json", json.dumps(plan), plan_at)
    plan, source = callback(runs)._load_plan(GROUPS, "3.6.2")  # pylint: disable=protected-access
    if from_plan:
        assert source == str(runs / "plan.json") and plan["window_s"] == 1.0
    else:
        assert source == "estimate"
        # estimated from the recorded run: its measured upgrade, every node counted as pending
        assert plan["pending"] == ["micro"]
        assert plan["nodes"][0]["sources"]["upgrade"] == "measured: median of 1 upgrade(s)"


def test_a_plan_run_does_not_make_the_plan_stale(tmp_path):
    """The plan's own run (no node step) is newer than plan.json: it does not count as an upgrade run."""
    runs = tmp_path / "stackato-runs"
    write(runs / "20260101T000000Z" / "events.jsonl", LOG.read_text(), 100)
    write(runs / "plan.json", json.dumps({"target": "3.6.2", "nodes": [{"node": "micro"}]}), 200)
    write(runs / "20260102T000000Z" / "events.jsonl",
          json.dumps({"ts": 1, "event": "step_start", "node": "micro", "step": "preflight"}) + "\n", 300)
    _plan, source = callback(runs)._load_plan(GROUPS, "3.6.2")  # pylint: disable=protected-access
    assert source == str(runs / "plan.json")


@pytest.mark.parametrize("res, expected", [
    # kato_upgrade waited 4 s and recorded ready and verify with the upgrade: the node went through both in the call
    ({"progress": {"step": "upgrade", "also": ["ready", "verify"]}, "ready_duration": 4.0},
     [("step_end", "upgrade", -4.0), ("step_start", "ready", -4.0), ("step_end", "ready", 0.0),
      ("step_start", "verify", 0.0)]),
    # nothing further recorded, a failed call, no progress option: the node stays in its step
    ({"progress": {"step": "upgrade", "also": []}}, []),
    ({"progress": {"step": "upgrade", "also": ["ready"]}, "failed": True}, []),
    ({"progress": None}, []),
])
def test_further_steps_recorded_in_the_same_call(tmp_path, res, expected):
    import io
    import time
    plugin = CallbackModule()
    plugin._log = io.StringIO()  # pylint: disable=protected-access
    plugin._progress = False  # pylint: disable=protected-access
    plugin._current["micro"] = ("upgrade", time.time() - 10)  # pylint: disable=protected-access
    before = time.time()
    plugin._further_steps("micro", res)  # pylint: disable=protected-access
    after = time.time()
    events = [json.loads(line) for line in plugin._log.getvalue().splitlines()]  # pylint: disable=protected-access
    assert [(e["event"], e["step"]) for e in events] == [(kind, step) for kind, step, _offset in expected]
    for event, (_kind, _step, offset) in zip(events, expected):
        assert before + offset - 0.01 <= event["ts"] <= after + offset + 0.01, (event, offset)
    assert plugin._current["micro"][0] == (expected[-1][1] if expected else "upgrade")  # pylint: disable=protected-access


@pytest.mark.parametrize("res, expected", [
    # kato_upgrade retired the DEA for 2 s first: retire from the task's start, upgrade from 2 s after it
    ({"retire": {"changed": True, "duration": 2.0}},
     [("step_start", "retire", 0.0), ("step_end", "retire", 2.0), ("step_start", "upgrade", 2.0)]),
    # the retirement failed (no duration): the node stops in retire
    ({"retire": {"unplaced": [{"app": "web"}]}, "failed": True}, [("step_start", "retire", 0.0)]),
    # no retirement in the call (a node that is not a DEA, or option retire not set)
    ({"retire": None}, [("step_start", "upgrade", 0.0)]),
])
def test_retirement_in_the_upgrade_call_is_its_own_step(res, expected):
    import io
    import time
    plugin = CallbackModule()
    plugin._log = io.StringIO()  # pylint: disable=protected-access
    plugin._progress = False  # pylint: disable=protected-access
    start = time.time() - 10
    plugin._pending["dea1"] = ("upgrade", start)  # pylint: disable=protected-access
    plugin._retired_first("dea1", res)  # pylint: disable=protected-access
    plugin._enter("dea1")  # pylint: disable=protected-access
    events = [json.loads(line) for line in plugin._log.getvalue().splitlines()]  # pylint: disable=protected-access
    assert [(e["event"], e["step"]) for e in events] == [(kind, step) for kind, step, _offset in expected]
    for event, (_kind, _step, offset) in zip(events, expected):
        assert abs(event["ts"] - (start + offset)) < 0.01, (event, offset)


@pytest.mark.parametrize("res, expected", [
    # upgraded (ready recorded with it), then restarted by the same call 5 s later, for 1 s; the window closed by it
    ({"progress": {"step": "upgrade", "also": ["ready"]}, "ready_duration": 2.0, "upgrade_ended_at": "T-8",
      "restart": {"changed": True, "started_at": "T-3", "ended_at": "T-2"},
      "maintenance_off": {"changed": True, "changed_at": "T-1"}},
     [("step_end", "upgrade", -10.0), ("step_start", "ready", -10.0), ("step_end", "ready", -8.0),
      ("step_start", "restart", -3.0), ("step_end", "restart", -2.0), ("maintenance", None, -1.0)]),
    # the restart failed: the node ends in restart, failed (by the caller), after its upgrade's steps
    ({"progress": {"step": "upgrade", "also": []}, "failed": True, "failed_step": "restart", "upgrade_ended_at": "T-8",
      "restart": {"failed": True, "started_at": "T-3", "ended_at": "T-2"}},
     [("step_end", "upgrade", -8.0), ("step_start", "restart", -3.0)]),
    # the restart did not start (a node failed): nothing more
    ({"progress": {"step": "upgrade", "also": []}, "upgrade_ended_at": "T-8", "restart": {"not_started": True}}, []),
])
def test_a_restart_in_the_same_call_is_its_own_step(res, expected):
    import io
    import time
    plugin = CallbackModule()
    plugin._log = io.StringIO()  # pylint: disable=protected-access
    plugin._progress = False  # pylint: disable=protected-access
    now = time.time()

    def at(value):
        return now + float(value[1:]) if isinstance(value, str) and value.startswith("T") else value

    res = {k: ({kk: at(vv) for kk, vv in v.items()} if isinstance(v, dict) else at(v)) for k, v in res.items()}
    plugin._current["dea1"] = ("upgrade", now - 20)  # pylint: disable=protected-access
    plugin._further_steps("dea1", res)  # pylint: disable=protected-access
    plugin._restarted_after("dea1", res)  # pylint: disable=protected-access
    events = [json.loads(line) for line in plugin._log.getvalue().splitlines()]  # pylint: disable=protected-access
    assert [(e["event"], e.get("step")) for e in events] == [(kind, step) for kind, step, _offset in expected]
    for event, (_kind, _step, offset) in zip(events, expected):
        assert abs(event["ts"] - (now + offset)) < 0.01, (event, offset)
    if expected and expected[-1][0] == "maintenance":
        assert events[-1]["state"] == "off" and events[-1]["node"] == "dea1"
