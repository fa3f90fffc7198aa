# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The harness's time_scale (no containers): the topology's for every node, a node's own for that node."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "harness"))
import cluster  # noqa: E402  pylint: disable=wrong-import-position,import-error


def scales(*sets):
    topo = cluster.load_topology("small", ["octet=77", *sets], "t")
    return {n["name"]: cluster.node_json(topo, n)["time_scale"] for n in topo["nodes"]}


def test_topology_time_scale_reaches_every_node():
    assert set(scales("time_scale=0.1").values()) == {0.1}


def test_a_nodes_own_time_scale_wins_for_that_node_only():
    got = scales("time_scale=0.1", "nodes.dea2.time_scale=2")
    assert got.pop("dea2") == 2.0
    assert set(got.values()) == {0.1}
