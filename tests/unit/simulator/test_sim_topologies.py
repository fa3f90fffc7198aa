# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The harness topologies as the simulator seeds them (no containers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackato_sim.stateclient import StateError

TOPOLOGIES = Path(__file__).resolve().parents[2] / "harness" / "topologies"


def load(name: str) -> dict:
    topo = yaml.safe_load((TOPOLOGIES / f"{name}.yml").read_text())
    return {"nodes": [{k: v for k, v in n.items() if k in ("name", "roles", "dea_memory_mb")}
                      for n in topo["nodes"]], "apps": topo["apps"]}


def test_octets_are_unique():
    octets = [yaml.safe_load(p.read_text())["octet"] for p in TOPOLOGIES.glob("*.yml")]
    assert len(octets) == len(set(octets))


@pytest.fixture
def fragmented(sim_cluster):
    return sim_cluster(**load("fragmented"))


def test_fragmented_has_room_in_total_but_not_for_a_640_mb_instance(fragmented):
    client = fragmented.client()
    deas = [fragmented.node(f"dea{i}").ip for i in range(1, 5)]
    info = {ip: client.dea_info(ip) for ip in deas}
    assert [sorted(i["memory_mb"] for i in info[ip]["instances"]) for ip in deas] == [[128, 640]] * 4
    assert client.call("config_get", component="dea_ng", key="resources/memory_mb")["value"] == 1024
    for ip in deas:
        free_elsewhere = sum(d["memory_mb"] - d["used_mb"] for other, d in info.items() if other != ip)
        assert free_elsewhere >= info[ip]["used_mb"]          # a sum of free memory says yes
        with pytest.raises(StateError) as refused:              # placement says no
            client.retire(ip)
        assert refused.value.kind == "refused"
    assert not fragmented.journal("dea_retired")


def test_fragmented_retires_every_dea_in_turn_once_a_fifth_dea_is_attached(fragmented):
    client = fragmented.client()
    deas = [fragmented.node(f"dea{i}").ip for i in range(1, 5)]
    fifth = deas[-1].rsplit(".", 1)[0] + ".17"
    assert client.node_attach(fifth, name="dea5", roles=["base", "dea"], version="3.4.2",
                              dea_memory_mb=1024) == {"attached": True}
    for ip in deas + [fifth]:      # the upgrade order: each DEA retired, then back, empty
        result = client.retire(ip)
        assert not result["already"], ip
        client.unretire(ip)
    assert all(a["running"] == a["instances"] for a in client.apps())
