# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""benchmarks/lower_bound.py: the critical path under the safety rules, table-driven."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from benchmarks import lower_bound  # noqa: E402  pylint: disable=wrong-import-position,import-error

CORE = ["base", "controller", "primary", "router"]


def n(name, roles, up, restart=0.0):
    return {"name": name, "roles": ["base", *roles] if roles != CORE else CORE,
            "upgrade_s": up, "restart_s": restart}


# (case, nodes, upgrade bound, restart bound)
CASES = [
    ("core alone", [n("core", CORE, 10, 1)], 10, 1),
    ("DEAs one at a time", [n("core", CORE, 10), n("d1", ["dea"], 5), n("d2", ["dea"], 5),
                            n("d3", ["dea"], 5)], 25, 0),
    ("a DEA, a router, a controller overlap",
     [n("core", CORE, 10), n("d1", ["dea"], 5), n("r1", ["router"], 4), n("c1", ["controller"], 3)],
     15, 0),
    ("data-services nodes all at once: the longest counts",
     [n("core", CORE, 10), n("m", ["mysql"], 7), n("p", ["postgresql"], 6), n("r", ["redis"], 2)],
     17, 0),
    ("the biggest group sets the pace",
     [n("core", CORE, 1), n("d1", ["dea"], 3), n("d2", ["dea"], 3), n("r1", ["router"], 5),
      n("x", ["mysql"], 4)], 7, 0),
    ("a router that is also a DEA counts in both groups",
     [n("core", CORE, 2), n("rd", ["router", "dea"], 4), n("d1", ["dea"], 3), n("r1", ["router"], 3)],
     9, 0),
    ("restarts follow the same rule, Core last",
     [n("core", CORE, 10, 2), n("d1", ["dea"], 5, 2), n("d2", ["dea"], 5, 2), n("r1", ["router"], 4, 2),
      n("m", ["mysql"], 6, 2)], 20, 6),
    ("no Core: groups only", [n("d1", ["dea"], 5), n("d2", ["dea"], 5)], 10, 0),
]


@pytest.mark.parametrize("case,nodes,upgrade,restart", CASES, ids=[c[0] for c in CASES])
def test_bound_per_phase(case, nodes, upgrade, restart):
    result = lower_bound.critical_path(nodes)
    assert result["phases"]["upgrade"]["bound_s"] == pytest.approx(upgrade), case
    assert result["phases"]["restart"]["bound_s"] == pytest.approx(restart), case
    assert result["bound_s"] == pytest.approx(upgrade + restart)
    assert result["node_steps"] == 2 * len(nodes)


@pytest.mark.parametrize("case,nodes,upgrade,restart", CASES, ids=[c[0] for c in CASES])
def test_schedule_obeys_the_rules_and_reaches_the_bound(case, nodes, upgrade, restart):
    result = lower_bound.critical_path(nodes)
    assert result["tight"], (case, result["schedule_s"], result["bound_s"])
    assert result["schedule_s"] == pytest.approx(upgrade + restart)
    roles = {x["name"]: x["roles"] for x in nodes}
    bars = result["schedule"]
    for a in bars:
        for b in bars:
            if a is b or a["phase"] != b["phase"]:
                continue
            overlap = a["start"] < b["end"] and b["start"] < a["end"]
            shared = set(lower_bound.groups_of(roles[a["node"]])) & set(lower_bound.groups_of(roles[b["node"]]))
            assert not (overlap and shared), f"{case}: {a} and {b} share {shared}"
    for phase in lower_bound.PHASES:
        core = [b for b in bars if b["phase"] == phase and "primary" in roles[b["node"]]]
        others = [b for b in bars if b["phase"] == phase and "primary" not in roles[b["node"]]]
        for c in core:
            assert all(o["end"] <= c["start"] for o in others), f"{case}: Core not last in {phase}"
    upgrade_end = max(b["end"] for b in bars if b["phase"] == "upgrade")
    assert all(b["start"] >= upgrade_end for b in bars if b["phase"] == "restart")


def test_bound_is_below_the_sum_of_the_work():
    nodes = [n("core", CORE, 10, 1), n("d1", ["dea"], 5, 1), n("r1", ["router"], 4, 1)]
    result = lower_bound.critical_path(nodes)
    assert result["work_s"] == pytest.approx(22)
    assert result["bound_s"] == pytest.approx(15 + 2)


@pytest.mark.parametrize("nodes,message", [
    ([n("core", CORE, 1), n("core2", CORE, 1)], "more than one node has the primary role"),
    ([n("d", ["dea"], 1), n("d", ["dea"], 1)], "node names repeat"),
    ([n("d", ["dea"], -1)], "negative upgrade work"),
])
def test_bad_input_is_refused(nodes, message):
    with pytest.raises(ValueError, match=message):
        lower_bound.critical_path(nodes)


COMPONENTS = [("kato", ("base",), 2.0), ("base", ("base",), 6.0), ("dea_ng", ("dea",), 5.0),
              ("router2g", ("router",), 2.0), ("mysql", ("mysql",), 3.0)]


@pytest.mark.parametrize("roles,path,scale,upgrade,restart", [
    (["base"], ["3.6.0"], 1.0, 2 + 1 + 6, 2),
    (["base", "dea"], ["3.6.0", "3.6.2"], 1.0, 2 * (9 + 5), 2),
    (["base", "router", "mysql"], ["3.6.2"], 0.5, (9 + 2 + 3) * 0.5, 1),
    (["base", "dea"], [], 1.0, 0, 2),
])
def test_node_work_from_the_catalogue(roles, path, scale, upgrade, restart):
    work = lower_bound.node_work(roles, COMPONENTS, path, pause_component="kato", pause_s=1.0,
                                 restart_s=2.0, time_scale=scale)
    assert work == {"upgrade_s": pytest.approx(upgrade), "restart_s": pytest.approx(restart),
                    "start_up_s": 0}


# with processes: (name, carriers, duration, processes)
WITH_PROCESSES = [("kato", ("base",), 2.0, ()), ("base", ("base",), 6.0, ()),
                  ("nginx", ("base",), 1.5, ("nginx",)), ("dea_ng", ("dea",), 5.0, ("dea_ng",)),
                  ("apptail", ("dea",), 1.0, ("apptail",)), ("mysql", ("mysql",), 3.0, ())]


@pytest.mark.parametrize("case,roles,path,scale,restart,upgrade,start_up", [
    # kato 2 s + its 1-s pause, base 6, nginx 1.5, dea_ng 5, apptail 1 = 16.5 s; apptail's processes run 2 s
    # after its step, the last: the node is back at 18.5 s
    ("the last step restarts processes", ["base", "dea"], ["3.6.2"], 1.0, 2.0, 18.5, 2),
    ("two releases: the last release's tail only", ["base", "dea"], ["3.6.0", "3.6.2"], 1.0, 2.0, 35, 2),
    # nginx's processes (ready at 10.5 + 2) start during mysql's 3-s step, which has none: no tail
    ("a later step longer than the start-up hides it", ["base", "mysql"], ["3.6.2"], 1.0, 2.0, 13.5, 0),
    ("scaled", ["base", "dea"], ["3.6.2"], 0.1, 2.0, 1.85, 0.2),
    ("a start-up longer than the steps after it: the rest of it", ["base", "mysql"], ["3.6.2"], 1.0, 4.0, 14.5, 1),
    ("no release to install: no tail", ["base", "dea"], [], 1.0, 2.0, 0, 0),
])
def test_node_work_counts_the_start_up_of_the_last_restarted_processes(
        case, roles, path, scale, restart, upgrade, start_up):
    work = lower_bound.node_work(roles, WITH_PROCESSES, path, pause_component="kato", pause_s=1.0,
                                 restart_s=restart, time_scale=scale)
    assert work["upgrade_s"] == pytest.approx(upgrade), case
    assert work["start_up_s"] == pytest.approx(start_up), case
    assert work["restart_s"] == pytest.approx(restart * scale), case
