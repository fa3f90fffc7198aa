# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The harness's traffic settings (no containers): the topology key, node.json, HAProxy's config."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "harness"))
import cluster  # noqa: E402  pylint: disable=wrong-import-position,import-error


def small(*sets):
    return cluster.load_topology("small", ["octet=77", *sets], "t")


def test_traffic_is_off_by_default():
    topo = small()
    assert topo["traffic"] is False
    assert cluster.node_json(topo, topo["nodes"][0])["traffic"] is False


def test_traffic_on_reaches_every_node():
    topo = small("traffic=true")
    assert all(cluster.node_json(topo, n)["traffic"] is True for n in topo["nodes"])


def test_haproxy_checks_every_router_on_loopback():
    topo = small("traffic=true")
    conf = cluster.haproxy_conf(topo, Path("/x/haproxy.pid"))
    assert "bind 127.42.77.230:8080" in conf
    servers = [line.split() for line in conf.splitlines() if line.strip().startswith("server ")]
    assert [s[1:3] for s in servers] == [["core", "127.42.77.11:8080"], ["router2", "127.42.77.12:8080"],
                                         ["router3", "127.42.77.13:8080"]]
    assert all(s[3] == "check" for s in servers)
    for setting in ("option httpchk", "inter 200ms", "fall 1 rise 1", "retries 3", "option redispatch 1",
                    "pidfile /x/haproxy.pid"):
        assert setting in conf
    addresses = [w for line in conf.splitlines() for w in line.split() if w.count(".") == 3 and ":" in w]
    assert addresses and all(a.startswith("127.") for a in addresses)


def test_traffic_json_names_what_the_load_generator_needs(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "RUNS", tmp_path)
    topo = small("traffic=true")
    root = tmp_path / "t"
    root.mkdir()
    cluster.write_traffic(topo, root)
    data = cluster.json.loads((root / "traffic.json").read_text())
    assert data["load_balancer"] == "127.42.77.230:8080"
    assert data["domain"] == "t.stackato.test"
    assert {a["name"]: a["instances"] for a in data["apps"]} == {"web": 2, "api": 3, "worker": 1, "single": 1}
    assert data["nodes"]["127.42.77.14"] == "dea1"
    assert (root / "haproxy" / "haproxy.cfg").exists()
    assert cluster.haproxy_pid("t") is None     # nothing started: nothing to stop
    assert cluster.stop_haproxy("t") is False
