# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The upgrade plan (plugins/module_utils/_plan.py): the playbook's order, the window, skipped nodes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ansible_collections.stackato.cluster.plugins.filter.inputs import FilterModule
from ansible_collections.stackato.cluster.plugins.module_utils import _plan

GROUPS = {"core": ["core"], "controller": [], "router": ["router2", "router3"], "dea": ["dea1", "dea2"],
          "data_services": ["data1", "data2"], "stackato": ["core", "router2", "router3", "dea1", "dea2", "data1", "data2"]}
OLD = {h: "3.4.2" for h in GROUPS["stackato"]}


SMALL = {"core": ["core"], "router": ["core", "router2", "router3"], "controller": ["core"],
         "dea": ["dea1", "dea2", "dea3"], "data_services": ["data1"]}
PRODUCTION = {"core": ["core"], "controller": ["core", "c2", "c3"], "router": ["core", "r2", "r3", "r4"],
              "dea": ["d1", "d2", "d3", "d4"], "data_services": ["mysql1", "pg1", "redis1", "files1", "mongo1", "rabbit1"]}


@pytest.mark.parametrize("groups, weights, hosts, waves", [
    # the seed's small cluster: one DEA and one router per wave, the data node with the first, the core alone last
    (SMALL, None, None, [["dea1", "router2", "data1"], ["dea2", "router3"], ["dea3"], ["core"]]),
    # the production mix: 4 waves (the 4 DEAs); every data-services node in the first, where the DEA is longest
    (PRODUCTION, None, None,
     [["d1", "r2", "c2", "mysql1", "pg1", "redis1", "files1", "mongo1", "rabbit1"], ["d2", "r3", "c3"], ["d3", "r4"],
      ["d4"], ["core"]]),
    # the heaviest of a group first; a node in two groups takes the first wave where both are free
    ({"core": ["core"], "dea": ["a", "b", "ab"], "router": ["ab", "r"]}, {"a": 1, "b": 5, "ab": 3, "r": 9}, None,
     [["ab"], ["b", "r"], ["a"], ["core"]]),
    # a data-services node joins the wave it lengthens least, the earliest on a tie
    ({"core": ["core"], "dea": ["d1", "d2"], "data_services": ["x", "y"]}, {"d1": 5, "d2": 2, "x": 4, "y": 1}, None,
     [["d1", "x", "y"], ["d2"], ["core"]]),
    ({"core": ["core"], "dea": ["d1", "d2"], "router": ["r1", "r2"], "data_services": ["x"]},
     {"d1": 5, "d2": 1, "r1": 1, "r2": 8, "x": 7}, None, [["d1", "r2", "x"], ["d2", "r1"], ["core"]]),
    # only data-services nodes: one wave
    ({"core": ["core"], "data_services": ["x", "y"]}, None, None, [["x", "y"], ["core"]]),
    # a host listed in two groups is in one wave; only the hosts asked for
    ({"core": ["core"], "dea": ["d1", "d2"], "router": ["d1"]}, None, ["d2", "core"], [["d2"], ["core"]]),
    ({"core": ["micro"], "dea": ["micro"], "router": ["micro"]}, None, None, [["micro"]]),
    ({}, None, None, []),
])
def test_upgrade_waves(groups, weights, hosts, waves):
    assert _plan.upgrade_waves(groups, weights=weights, hosts=hosts) == waves


@pytest.mark.parametrize("groups", [SMALL, PRODUCTION, GROUPS,
                                    {"core": ["c"], "dea": ["a", "b", "x"], "router": ["x", "y", "a"],
                                     "controller": ["y", "z", "b"], "data_services": ["z", "q"]}])
def test_no_wave_holds_two_of_a_redundant_group_and_every_node_once(groups):
    waves = _plan.upgrade_waves(groups)
    flat = [h for wave in waves for h in wave]
    assert sorted(flat) == sorted({h for g in _plan.NODE_GROUPS for h in groups.get(g, [])})
    assert waves[-1] == groups["core"]
    for wave in waves:
        for group in _plan.REDUNDANT_GROUPS:
            assert len(set(wave) & set(groups.get(group, []))) <= 1, (group, wave)


@pytest.mark.parametrize("groups, hosts, after", [
    # small: waves [dea1, router2, data1], [dea2, router3], [dea3], [core]
    (SMALL, None, {"dea1": [], "router2": [], "data1": [], "dea2": ["dea1"], "router3": ["router2"], "dea3": ["dea2"],
                   "core": ["data1", "dea1", "dea2", "dea3", "router2", "router3"]}),
    # only the hosts given (a node that failed earlier in the play is not waited for)
    (SMALL, ["core", "dea1", "dea3", "router3"], {"dea1": [], "router3": [], "dea3": ["dea1"],
                                                  "core": ["dea1", "dea3", "router3"]}),
    # a node in two groups follows the last member of each; the one after it follows it in both
    ({"core": ["c"], "dea": ["a", "x", "b"], "router": ["x", "y"], "data_services": ["q"]}, None,
     {"x": [], "a": ["x"], "y": ["x"], "b": ["a"], "q": [], "c": ["a", "b", "q", "x", "y"]}),
    # two core nodes: each last, the second after the first
    ({"core": ["c1", "c2"], "dea": ["d1"]}, None, {"d1": [], "c1": ["d1"], "c2": ["c1", "d1"]}),
    # data services only: all at once, then the core
    ({"core": ["c"], "data_services": ["m", "p"]}, None, {"m": [], "p": [], "c": ["m", "p"]}),
    ({}, None, {}),
])
def test_upgrade_after(groups, hosts, after):
    assert {h: sorted(a) for h, a in _plan.upgrade_after(groups, hosts=hosts).items()} == after


@pytest.mark.parametrize("groups", [SMALL, PRODUCTION, GROUPS,
                                    {"core": ["c"], "dea": ["a", "b", "x"], "router": ["x", "y", "a"],
                                     "controller": ["y", "z", "b"], "data_services": ["z", "q"]}])
def test_upgrade_after_never_lets_two_of_a_group_overlap_and_has_no_cycle(groups):
    after = _plan.upgrade_after(groups)
    every = {h for g in _plan.NODE_GROUPS for h in groups.get(g, [])}
    assert set(after) == every

    def before(host, seen=()):
        assert host not in seen, f"cycle through {host}"
        return set(after[host]).union(*[before(h, seen + (host,)) for h in after[host]])

    for group in _plan.REDUNDANT_GROUPS:
        members = list(groups.get(group, []))
        for one in members:
            for other in members:
                if one < other:
                    # one of any two members of a group runs after the other
                    assert one in before(other) or other in before(one), (group, one, other)
    for core in groups.get("core", []):
        assert every - set(groups["core"]) <= before(core)


@pytest.mark.parametrize("groups, hosts, first", [
    # the benchmark topologies: the DEAs take longest together (3 DEAs against 2 routers; 4 against 3 and 2)
    (SMALL, None, ["dea1"]),
    (PRODUCTION, None, ["d1"]),
    # by the components upgraded, not the number of nodes: two controllers (7 each) outweigh two routers (5 each)
    # and a DEA (7), three routers (15) outweigh two controllers (14)
    ({"core": ["c"], "controller": ["c", "k1", "k2"], "router": ["c", "r1", "r2"], "dea": ["d1"]}, None, ["k1"]),
    ({"core": ["c"], "controller": ["c", "k1", "k2"], "router": ["c", "r1", "r2", "r3"], "dea": ["d1"]}, None, ["r1"]),
    # five routers outweigh one DEA
    ({"core": ["c"], "router": ["r1", "r2", "r3", "r4", "r5"], "dea": ["d1"]}, None, ["r1"]),
    # a tie: DEAs first (a DEA's turn also retires it)
    ({"core": ["c"], "router": ["r1"], "dea": ["d1"]}, None, ["d1"]),
    # only the hosts given: without DEAs, the routers' first node
    (SMALL, ["core", "router2", "router3", "data1"], ["router2"]),
    # a node in two groups that goes first in both
    ({"core": ["c"], "dea": ["a", "x", "b"], "router": ["x", "y"]}, None, ["x"]),
    # no redundant group outside the core node: nobody first
    ({"core": ["c"], "data_services": ["m", "p"]}, None, []),
    ({"core": ["micro"], "dea": ["micro"], "router": ["micro"]}, None, []),
    ({}, None, []),
])
def test_upgrade_first(groups, hosts, first):
    assert _plan.upgrade_first(groups, hosts=hosts) == first


def test_upgrade_first_follows_no_node():
    for groups in (SMALL, PRODUCTION, GROUPS):
        after = _plan.upgrade_after(groups)
        assert all(after[h] == [] for h in _plan.upgrade_first(groups))
    assert FilterModule().filters()["upgrade_first"](SMALL, ["dea1", "dea2", "core"]) == ["dea1"]


def test_upgrade_order_labels_the_waves():
    assert _plan.upgrade_order(SMALL) == [("wave 1", ["dea1", "router2", "data1"]), ("wave 2", ["dea2", "router3"]),
                                          ("wave 3", ["dea3"]), ("the core node", ["core"])]


def test_plan_lists_window_waves_and_end():
    lines = _plan.upgrade_plan(GROUPS, dict(OLD, router3="3.6.2"), "3.6.2")
    assert lines == [
        "Plan: upgrade 6 node(s) to 3.6.2 in waves inside one maintenance window "
        "(never two DEAs, two routers or two controllers at once; the core node last):",
        "1. turn maintenance mode on (kato config set cloud_controller_ng maintenance_mode true on the core): "
        "the API becomes read-only, apps keep serving web requests",
        "2. back up all data (kato data export on the core), fetched to the controller",
        "3. upgrade wave 1, 4 nodes together: dea1 [DEA, retired first] 3.4.2 -> 3.6.2, router2 [router] 3.4.2 -> 3.6.2, "
        "data1 [data services] 3.4.2 -> 3.6.2, data2 [data services] 3.4.2 -> 3.6.2",
        "4. upgrade wave 2, 2 nodes together: dea2 [DEA, retired first] 3.4.2 -> 3.6.2, router3 [router] at 3.6.2, skipped",
        "5. upgrade the core node last: core [core node] 3.4.2 -> 3.6.2",
        "6. restart every node in the same waves (kato restart), check that every node runs 3.6.2",
        "7. turn maintenance mode off: the window closes",
    ]


def test_plan_without_backup_and_restart():
    lines = _plan.upgrade_plan({"core": ["micro"]}, {"micro": "3.4.2"}, "3.6.2", backup=False, restart=False)
    assert lines[2:] == ["2. upgrade the core node last: micro [core node] 3.4.2 -> 3.6.2",
                         "3. turn maintenance mode off: the window closes"]


def test_nothing_to_do():
    assert _plan.upgrade_plan(GROUPS, {h: "3.6.2" for h in OLD}, "3.6.2") == [
        "Plan: every node already runs 3.6.2: nothing to upgrade, maintenance mode is not touched."]


def test_unknown_version_counts_as_pending():
    assert "micro [core node] ? -> 3.6.2" in _plan.upgrade_plan({"core": ["micro"]}, {}, "3.6.2")[-3]


def test_filter_registered():
    assert FilterModule().filters()["upgrade_plan"]({"core": ["c"]}, {"c": "3.6.2"}, "3.6.2")[0].startswith("Plan: every node")


# --- estimates ---------------------------------------------------------------------------------

DEFAULTS = _plan.DEFAULT_STEP_SECONDS


@pytest.mark.parametrize("kato_roles, groups_of_node, count", [
    (["base", "dea"], [], 4 + 3),
    (["base", "controller", "primary", "router"], [], 4 + 3 + 2 + 1),
    (["data-services"], [], 4 + 9),                   # kato's role group
    (["base", "mysql", "postgresql", "redis", "filesystem"], [], 4 + 4),
    (None, ["dea"], 7),                               # roles unknown: the group's usual roles
    (None, ["core"], 10),
    ([], [], 4),                                      # base only
])
def test_node_components(kato_roles, groups_of_node, count):
    components = _plan.node_components(kato_roles, groups_of_node)
    assert len(components) == count and len(set(components)) == count and components[0] == "stackato-kato"


def test_release_components_are_the_simulated_releases():
    """The table is the release's component list: the simulator's catalogue carries the same."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "simulator"))
    from stackato_sim import releases as sim  # pylint: disable=import-outside-toplevel
    by_role = {}
    for name, roles, *_rest in sim._COMPONENTS:  # pylint: disable=protected-access
        for role in roles:
            by_role.setdefault(role, []).append(name)
    assert {r: tuple(c) for r, c in by_role.items()} == _plan.RELEASE_COMPONENTS


@pytest.mark.parametrize("step, measured, components, expected", [
    ("upgrade", {}, 7, (420.0, "default: 60 s x 7 components")),
    ("upgrade", {"steps": {"upgrade": [30, 10, 20]}}, 7, (20.0, "measured: median of 3 upgrade(s)")),
    ("upgrade", {"steps": {"upgrade": [30]}, "per_component": [2.0, 3.0, 10.0]}, 7,
     (21.0, "measured: 3 s x 7 components")),
    ("upgrade", {"steps": {"upgrade": [30, 40]}, "per_component": []}, 7, (35.0, "measured: median of 2 upgrade(s)")),
    ("verify", {}, 7, (20.0, "default")),
    ("verify", {"steps": {"verify": [1.0, 3.0]}}, 7, (2.0, "measured: median of 2")),
    ("backup", {"steps": {"upgrade": [5]}}, 0, (120.0, "default")),
])
def test_step_estimate(step, measured, components, expected):
    assert _plan.step_estimate(step, measured, components) == expected


def test_measured_steps_per_component_only_where_the_run_recorded_components():
    runs = [[{"node": "dea1", "step": "upgrade", "seconds": 14.0, "components": 7},
             {"node": "core", "step": "upgrade", "seconds": 30.0, "components": None},
             {"node": "dea1", "step": "verify", "seconds": 1.5, "components": 7}],
            [{"node": "micro", "step": "upgrade", "seconds": 20.0, "components": 10}]]
    measured = _plan.measured_steps(runs)
    assert measured["steps"] == {"upgrade": [14.0, 30.0, 20.0], "verify": [1.5]}
    assert measured["per_component"] == [2.0, 2.0]


def test_estimate_window_adds_up_the_waves_each_as_long_as_its_longest_node():
    groups = {"core": ["core"], "dea": ["dea1", "dea2"], "data_services": ["d1", "d2"]}
    roles = {"core": ["base", "controller", "primary", "router"], "dea1": ["base", "dea"], "dea2": ["base", "dea"],
             "d1": ["base", "mysql"], "d2": ["base", "mysql", "postgresql", "redis"]}
    plan = _plan.estimate(groups, {"dea2": "3.6.2", "dea1": "3.4.2", "d1": "3.4.2", "d2": "3.4.2", "core": "3.4.2"},
                          "3.6.2", roles, inventory_sources=["/x/inv"])
    node = DEFAULTS["gates"] + DEFAULTS["ready"] + DEFAULTS["verify"]
    dea1 = node + DEFAULTS["retire"] + 60 * 7
    # wave 1: dea1 with both data-services nodes (d2: 7 components, as long as dea1 without its retire; d1: 5)
    core = node + 60 * 10
    cluster = DEFAULTS["maintenance on"] + DEFAULTS["backup"] + DEFAULTS["restart"] + DEFAULTS["maintenance off"]
    assert [(r["node"], r["order"], r["batch"]) for r in plan["nodes"]] == [
        ("dea1", 1, 1), ("d1", 2, 1), ("d2", 3, 1), ("dea2", 4, 2), ("core", 5, 3)]
    assert plan["nodes"][3]["steps"] == {} and not plan["nodes"][3]["pending"]
    assert "retire" not in plan["nodes"][2]["steps"] and plan["nodes"][0]["steps"]["retire"] == 60.0
    assert plan["window_s"] == dea1 + core + cluster
    assert plan["pending"] == ["dea1", "d1", "d2", "core"]
    assert plan["next_command"] == "ansible-playbook stackato.cluster.upgrade -i /x/inv -e stackato_target_version=3.6.2"


@pytest.mark.parametrize("versions, failed, window, command", [
    ({"micro": "3.6.2"}, False, 0.0, "nothing: every node already runs the target"),
    ({"micro": "3.4.2"}, True, None, "fix the preflight failures above, then: ansible-playbook stackato.cluster.plan -i inv"),
    ({}, False, None, "ansible-playbook stackato.cluster.upgrade -i inv -e stackato_target_version=3.6.2"),
])
def test_estimate_nothing_pending_failed_preflight_and_unknown_version(versions, failed, window, command):
    findings = [{"check": "disk", "level": "fail", "node": "micro", "msg": "micro: 2 GB free"}]
    plan = _plan.estimate({"core": ["micro"]}, versions, "3.6.2", findings=findings if failed else (), failed=failed,
                          inventory_sources=["inv"])
    assert plan["next_command"] == command
    if window is not None:
        assert plan["window_s"] == window and plan["cluster_steps"] == {}
    lines = _plan.estimate_lines(plan)
    assert lines[-1] == "Next: " + command
    assert ("Preflight FAIL [disk] micro: 2 GB free" in lines) == failed


def test_estimate_lines_show_each_step_and_its_source():
    measured = {"steps": {"upgrade": [9.0], "verify": [2.0]}, "per_component": [1.5]}
    plan = _plan.estimate({"core": ["micro"]}, {"micro": "3.4.2"}, "3.6.2", {"micro": ["base", "dea"]},
                          measured=measured)
    lines = _plan.estimate_lines(plan)
    assert lines[0].startswith("Plan: upgrade 1 of 1 node(s) to 3.6.2; estimated maintenance window ")
    assert "1. micro [base, dea] 3.4.2 -> 3.6.2; batch 1 (the core node, alone); 7 components; " \
           "estimated 3:12" in lines
    assert "     upgrade 0:10 (measured: 1.5 s x 7 components)" in lines
    assert "     verify 0:02 (measured: median of 1)" in lines
    assert "     gates 0:00 (default)" in lines
    assert "Preflight: no finding." in lines


def test_kato_roles_by_host():
    assert _plan.kato_roles_by_host({"a": "127.0.0.2", "b": "127.0.0.3", "c": None},
                                    {"127.0.0.2": {"roles": ["base", "dea"]}, "127.0.0.3": {"roles": []}}) == \
        {"a": ["base", "dea"]}


def test_filter_reads_earlier_runs_and_writes_nothing(tmp_path):
    runs = tmp_path / "stackato-runs"
    (runs / "20260101T000000Z").mkdir(parents=True)
    log = Path(__file__).parent / "fixtures" / "report-micro-events.jsonl"
    (runs / "20260101T000000Z" / "events.jsonl").write_text(log.read_text())
    inventory = tmp_path / "inventory"
    inventory.write_text("")
    plan = FilterModule().filters()["upgrade_plan_estimate"](
        {"core": ["micro"]}, {"micro": "3.4.2"}, "3.6.2", {"micro": "127.0.0.2"}, {}, {}, "", [str(inventory)])
    assert plan["measured_runs"] == 1 and plan["runs_dir"] == str(runs)
    assert plan["json_path"] == str(runs / "plan.json") and not (runs / "plan.json").exists()
    assert plan["nodes"][0]["sources"]["upgrade"] == "measured: median of 1 upgrade(s)"
    assert plan["lines"][-1] == f"The plan as JSON: {runs / 'plan.json'}"
