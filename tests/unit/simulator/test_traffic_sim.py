# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Live traffic in the simulator: the state server's routes, the DEAs' app servers, the
router's reverse proxy (by Host header, retry on a gone instance, closed while router2g is
not running), on the host with real sockets."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from simcluster import free_port
from stackato_sim import apps_http, router_proxy

CORE = {"name": "core", "roles": ["primary", "controller", "router"]}
DOMAIN = "traffic.stackato.test"


@pytest.fixture
def cluster(sim_cluster):
    made = sim_cluster(
        nodes=[CORE, {"name": "dea1", "roles": ["dea"], "dea_memory_mb": 1024},
               {"name": "dea2", "roles": ["dea"], "dea_memory_mb": 1024}],
        apps=[{"name": "web", "instances": 2, "memory_mb": 256},
              {"name": "single", "instances": 1, "memory_mb": 128}])
    return made


@pytest.fixture
def live(cluster):
    """App servers on both DEAs and a router on the Core, synced by hand (no polling)."""
    client = cluster.client()
    deas = {name: apps_http.AppServers(cluster.node(name).ip, log=lambda m: None)
            for name in ("dea1", "dea2")}
    router = router_proxy.Router(cluster.node("core").ip, free_port(), client, log=lambda m: None)

    def sync():
        routes = client.routes()
        for servers in deas.values():
            servers.sync(routes)
        router.refresh()

    sync()
    router.set_accepting(True)
    yield cluster, client, deas, router, sync
    router.set_accepting(False)
    for servers in deas.values():
        servers.close_all()


def get(router, host, path="/"):
    conn = http.client.HTTPConnection(router.ip, router.port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def domain_of(client):
    return client.routes()["domain"]


def test_routes_name_every_instance_with_index_port_and_dea(cluster):
    routes = cluster.client().routes()
    assert set(routes["apps"]) == {"web", "single"}
    web = routes["apps"]["web"]
    assert [i["index"] for i in web] == [0, 1]
    assert len({i["dea"] for i in web}) == 2          # spread over both DEAs
    ports = [i["port"] for insts in routes["apps"].values() for i in insts]
    assert len(set(ports)) == len(ports)
    assert all(i["up"] for insts in routes["apps"].values() for i in insts)


def test_a_moved_instance_keeps_its_index(cluster):
    client = cluster.client()
    before = {i["dea"]: i for i in client.routes()["apps"]["web"]}
    dea1 = cluster.node("dea1").ip
    client.retire(dea1)
    after = client.routes()["apps"]["web"]
    assert all(i["dea"] != dea1 for i in after)
    assert sorted(i["index"] for i in after) == [0, 1]
    moved = next(i for i in after if i["id"] != before[cluster.node("dea2").ip]["id"])
    assert moved["index"] == before[dea1]["index"]


def test_the_router_routes_by_host_to_a_running_instance(live):
    cluster, client, dummy, router, dummy = live
    seen = set()
    for dummy in range(4):
        status, body = get(router, f"web.{domain_of(client)}")
        assert status == 200
        answer = json.loads(body)
        assert answer["app"] == "web"
        seen.add((answer["index"], answer["dea"]))
    # round robin over both instances, each naming its index and DEA
    assert seen == {(0, cluster.node("dea1").ip), (1, cluster.node("dea2").ip)} or \
        seen == {(1, cluster.node("dea1").ip), (0, cluster.node("dea2").ip)}
    status, body = get(router, f"single.{domain_of(client)}")
    assert (status, json.loads(body)["app"]) == (200, "single")
    assert get(router, f"nope.{domain_of(client)}")[0] == 404
    assert get(router, "router", "/healthz") == (200, b"ok\n")


def test_a_retired_dea_moves_the_traffic_without_a_failure(live):
    cluster, client, dummy, router, sync = live
    dea1 = cluster.node("dea1").ip
    client.retire(dea1)
    # the router's table is older than the move: a refused connection goes to the next instance
    for dummy in range(4):
        status, dummy = get(router, f"web.{domain_of(client)}")
        assert status == 200
    sync()
    for dummy in range(4):
        status, body = get(router, f"web.{domain_of(client)}")
        assert status == 200 and json.loads(body)["dea"] != dea1


def test_no_instance_left_is_a_502(live):
    dummy, client, deas, router, dummy = live
    for servers in deas.values():
        servers.close_all()
    status, body = get(router, f"single.{domain_of(client)}")
    assert status == 502 and b"no instance of single" in body


def test_instances_go_down_with_their_deas_dea_ng(live):
    cluster, client, deas, router, sync = live
    dea1 = cluster.node("dea1")
    assert dea1.kato("process", "stop", "dea_ng").returncode == 0
    sync()
    assert not deas["dea1"].servers
    for dummy in range(4):
        status, body = get(router, f"web.{domain_of(client)}")
        assert status == 200 and json.loads(body)["dea"] == cluster.node("dea2").ip
    assert dea1.kato("process", "start", "dea_ng").returncode == 0
    sync()
    assert deas["dea1"].servers


def test_the_router_closes_while_router2g_is_not_running(live):
    cluster, dummy, dummy, router, dummy = live
    core = cluster.node("core")
    assert core.kato("process", "stop", "router2g").returncode == 0
    with core.as_current():
        router.tick()
    with pytest.raises(ConnectionRefusedError):
        get(router, "router", "/healthz")
    assert core.kato("process", "start", "router2g").returncode == 0
    with core.as_current():
        router.tick()       # started just now: it loads its routes first
        assert router.server is None
        router.tick(now=time.time() + router_proxy.RELOAD_S)
    assert get(router, "router", "/healthz")[0] == 200


@pytest.mark.parametrize("entry, now, expected", [
    (None, 100.0, False),
    ({"state": "STOPPED", "since": 1.0}, 100.0, False),
    ({"state": "STARTING", "since": 1.0}, 100.0, False),
    ({"state": "RUNNING"}, 100.0, True),                       # never restarted
    ({"state": "RUNNING", "since": 99.9}, 100.0, False),       # restarted between two polls
    ({"state": "RUNNING", "since": 99.5}, 100.0, True),
])
def test_accepting(entry, now, expected):
    assert router_proxy.accepting(entry, now, reload_s=0.5) is expected


@pytest.mark.parametrize("host, app", [
    ("web.small.stackato.test", "web"), ("WEB.small.stackato.test:8080", "web"),
    ("web.small.stackato.test.", "web"), ("small.stackato.test", None),
    ("web.other.test", None), (None, None), ("a.b.small.stackato.test", "a.b"),
])
def test_app_of(host, app):
    assert router_proxy.app_of(host, "small.stackato.test") == app


def test_wanted_instances_are_the_up_ones_of_this_dea():
    routes = {"apps": {"web": [
        {"id": "web-1", "index": 0, "dea": "127.43.0.12", "port": 61001, "up": True, "up_since": 5},
        {"id": "web-2", "index": 1, "dea": "127.43.0.13", "port": 61002, "up": True},
        {"id": "web-3", "index": 2, "dea": "127.43.0.12", "port": 61003, "up": False}]}}
    wanted = apps_http.wanted_instances(routes, "127.43.0.12")
    assert list(wanted) == [("web-1", 5.0)]
    assert wanted[("web-1", 5.0)]["app"] == "web"
    assert router_proxy.table_from(dict(routes, domain="d"))[1] == {
        "web": [("127.43.0.12", 61001), ("127.43.0.13", 61002)]}
