# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Seeded cluster config (`dea_ng resources/memory_mb`), the cluster domain, and nodes that
join a running cluster (node_attach)."""

from __future__ import annotations

import json

import pytest

from stackato_sim import state as sim_state

CORE = {"name": "core", "roles": ["primary", "controller", "router"]}


def dea(name, mb):
    return {"name": name, "roles": ["dea", "base"], "dea_memory_mb": mb}


@pytest.mark.parametrize("memories, expected", [
    ([1024, 1024, 2048], 1024),
    ([4096, 1024, 4096], 4096),
    ([2048, 1024], 1024),            # a tie: the smallest
    ([1024, 0], 1024),               # 0 means the default, 2048: a tie again
    ([0, 0], sim_state.DEFAULT_DEA_MEMORY_MB),
    ([], sim_state.DEFAULT_DEA_MEMORY_MB),
])
def test_common_dea_memory(memories, expected):
    nodes = [CORE] + [dea(f"dea{i}", mb) for i, mb in enumerate(memories)]
    assert sim_state.common_dea_memory_mb(nodes) == expected


@pytest.mark.parametrize("profile", ["ours", "documented"])
def test_config_answers_the_common_dea_memory(sim_cluster, profile):
    cluster = sim_cluster(kato_profile=profile, nodes=[
        CORE, dea("dea1", 1024), dea("dea2", 1024), dea("dea3", 2048)],
        apps=[{"name": "big", "instances": 3, "memory_mb": 1536}])
    core = cluster.node("core")
    r = core.kato("config", "get", "dea_ng", "resources/memory_mb")
    assert (r.returncode, r.stdout) == (0, "1024\n")
    assert json.loads(core.kato("config", "get", "dea_ng", "resources/memory_mb",
                                "--json").stdout) == 1024
    # placement keeps each DEA's own memory: only the 2048 MB DEA can run a 1536 MB instance
    placed = [p["dea"] for p in cluster.client().apps()[0]["placement"]]
    assert placed == [cluster.node("dea3").ip, None, None]
    assert cluster.client().dea_info(cluster.node("dea3").ip)["memory_mb"] == 2048


def test_topology_config_wins_over_the_seed(sim_cluster):
    cluster = sim_cluster(nodes=[CORE, dea("dea1", 1024)],
                          config={"dea_ng": {"resources": {"memory_mb": 3000}}})
    assert cluster.node("core").kato("config", "get", "dea_ng",
                                     "resources/memory_mb").stdout == "3000\n"


def test_cluster_endpoint_is_in_the_cluster_domain(sim_cluster):
    cluster = sim_cluster(name="demo")
    r = cluster.node("core").kato("config", "get", "cluster", "endpoint")
    assert r.stdout == "api.demo.stackato.test\n"


def test_node_attach_makes_a_new_dea_known(sim_cluster):
    cluster = sim_cluster(nodes=[CORE, dea("dea1", 1024)])
    client = cluster.client()
    new_ip = cluster.node("dea1").ip.rsplit(".", 1)[0] + ".99"
    assert client.node_attach(new_ip, name="dea9", roles=["dea"], version="3.4.2",
                              dea_memory_mb=1536) == {"attached": True}
    assert client.node_attach(new_ip, name="other", roles=["router"]) == {"attached": False}
    assert client.nodes()[new_ip] == {"roles": ["base", "dea"]}
    assert client.dea_info(new_ip)["memory_mb"] == 1536
    assert client.node_info(new_ip)[new_ip]["name"] == "dea9"
    listing = cluster.node("core").kato("node", "list").stdout
    assert f"{new_ip} base dea" in listing.splitlines()
    assert cluster.journal("node_attached", node=new_ip)[0]["roles"] == ["base", "dea"]


def test_a_node_reports_its_name_and_memory_when_it_joins(sim_cluster):
    """node_init's report attaches a node the seed did not know (the harness's add-node)."""
    cluster = sim_cluster(nodes=[CORE, dea("dea1", 1024), dea("dea2", 1536)], init=False)
    client = cluster.client()
    dea2 = cluster.node("dea2")
    # the seed knows dea2 from cluster.json; make it a stranger by dropping it from the state
    state = client.dump()
    assert dea2.ip in state["nodes"]
    cluster.stop_state_server()
    cluster.cluster_conf["nodes"] = cluster.cluster_conf["nodes"][:2]
    for node in cluster.nodes.values():
        node.path("/etc/stackato-sim/cluster.json").write_text(json.dumps(cluster.cluster_conf))
    cluster.primary.path("/var/lib/stackato-sim/cluster-state.json").unlink()
    cluster.start_state_server()
    assert dea2.ip not in client.nodes()
    cluster.init_nodes(["dea2"])
    assert client.nodes()[dea2.ip] == {"roles": ["base", "dea"]}
    assert client.dea_info(dea2.ip)["memory_mb"] == 1536
    assert client.node_info(dea2.ip)[dea2.ip]["name"] == "dea2"
