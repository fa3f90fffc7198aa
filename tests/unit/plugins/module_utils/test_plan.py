# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The upgrade plan (plugins/module_utils/_plan.py): the playbook's order, the window, skipped nodes."""

from __future__ import annotations

import pytest

from ansible_collections.stackato.cluster.plugins.filter.inputs import FilterModule
from ansible_collections.stackato.cluster.plugins.module_utils import _plan

GROUPS = {"core": ["core"], "controller": [], "router": ["router2", "router3"], "dea": ["dea1", "dea2"],
          "data_services": ["data1", "data2"], "stackato": ["core", "router2", "router3", "dea1", "dea2", "data1", "data2"]}
OLD = {h: "3.4.2" for h in GROUPS["stackato"]}


@pytest.mark.parametrize("groups, order", [
    (GROUPS, [["dea1", "dea2"], ["router2", "router3"], [], ["data1", "data2"], ["core"]]),
    # a host in two groups is upgraded once, in the first stage of the playbook that takes it; the core always last
    ({"core": ["core"], "dea": ["dea1", "core"], "router": ["dea1", "r"]}, [["dea1"], ["r"], [], [], ["core"]]),
    ({"core": ["micro"]}, [[], [], [], [], ["micro"]]),
])
def test_upgrade_order(groups, order):
    assert [hosts for _stage, hosts in _plan.upgrade_order(groups)] == order


def test_plan_lists_window_stages_and_end():
    lines = _plan.upgrade_plan(GROUPS, dict(OLD, router3="3.6.2"), "3.6.2")
    assert lines == [
        "Plan: upgrade 6 node(s) to 3.6.2, in this order, inside one maintenance window:",
        "1. turn maintenance mode on (kato config set cloud_controller_ng maintenance_mode true on the core): "
        "the API becomes read-only, apps keep serving web requests",
        "2. back up all data (kato data export on the core), fetched to the controller",
        "3. upgrade DEAs one at a time, each retired first so its app instances move to the other DEAs: "
        "dea1 3.4.2 -> 3.6.2, dea2 3.4.2 -> 3.6.2",
        "4. upgrade routers one at a time: router2 3.4.2 -> 3.6.2, router3 (at 3.6.2, skipped)",
        "5. upgrade data-services nodes together: data1 3.4.2 -> 3.6.2, data2 3.4.2 -> 3.6.2",
        "6. upgrade the core node: core 3.4.2 -> 3.6.2",
        "7. restart every node (kato restart), check that every node runs 3.6.2",
        "8. turn maintenance mode off: the window closes",
    ]


def test_plan_without_backup_and_restart():
    lines = _plan.upgrade_plan({"core": ["micro"]}, {"micro": "3.4.2"}, "3.6.2", backup=False, restart=False)
    assert lines[2:] == ["2. upgrade the core node: micro 3.4.2 -> 3.6.2", "3. turn maintenance mode off: the window closes"]


def test_nothing_to_do():
    assert _plan.upgrade_plan(GROUPS, {h: "3.6.2" for h in OLD}, "3.6.2") == [
        "Plan: every node already runs 3.6.2: nothing to upgrade, maintenance mode is not touched."]


def test_unknown_version_counts_as_pending():
    assert "micro ? -> 3.6.2" in _plan.upgrade_plan({"core": ["micro"]}, {}, "3.6.2")[-3]


def test_filter_registered():
    assert FilterModule().filters()["upgrade_plan"]({"core": ["c"]}, {"c": "3.6.2"}, "3.6.2")[0].startswith("Plan: every node")
