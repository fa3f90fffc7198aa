"""kato node retire, instance placement and instance up/down tracking by the state server."""

from __future__ import annotations

import json

import pytest

CORE = {"name": "core", "roles": ["primary", "controller", "router"]}


@pytest.fixture
def cluster(sim_cluster):
    return sim_cluster(
        nodes=[CORE, {"name": "dea1", "roles": ["dea"], "dea_memory_mb": 1024},
               {"name": "dea2", "roles": ["dea"], "dea_memory_mb": 512}],
        apps=[{"name": "web", "instances": 2, "memory_mb": 256},
              {"name": "api", "instances": 1, "memory_mb": 512}])


def dea_of(cluster, name):
    return json.loads(cluster.node("core").kato("info", "-j", "-n", cluster.node(name).ip)
                      .stdout)[cluster.node(name).ip]["dea"]


def test_initial_placement_spreads(cluster):
    d1, d2 = dea_of(cluster, "dea1"), dea_of(cluster, "dea2")
    assert sorted(i["app"] for i in d1["instances"]) == ["api", "web"]
    assert [i["app"] for i in d2["instances"]] == ["web"]
    assert (d1["used_mb"], d2["used_mb"]) == (768, 256)
    apps = {a["name"]: a for a in cluster.client().apps()}
    assert apps["web"]["running"] == 2 and apps["api"]["running"] == 1


def test_retire_refused_when_capacity_lacks(cluster):
    core, dea1 = cluster.node("core"), cluster.node("dea1")
    r = core.kato("node", "retire", "-n", dea1.ip)
    assert r.returncode == 1
    assert r.stderr.startswith(f"ERROR: cannot retire DEA {dea1.ip}")
    assert "768 MB" in r.stderr and "256 MB free" in r.stderr
    ev = cluster.journal("dea_retire_refused", dea=dea1.ip)
    assert ev and (ev[0]["needed_mb"], ev[0]["free_mb"]) == (768, 256)
    assert not cluster.journal("instance_started") and not cluster.journal("instance_stopped")
    assert dea_of(cluster, "dea1")["used_mb"] == 768
    assert dea1.state()["processes"]["dea_ng"]["state"] == "RUNNING"


def test_retire_moves_instances_then_stops_dea(cluster):
    core, dea1, dea2 = cluster.node("core"), cluster.node("dea1"), cluster.node("dea2")
    r = dea2.kato("node", "retire")
    assert r.returncode == 0, r.stderr
    assert f"  moved web: {dea2.ip} -> {dea1.ip}" in r.stdout
    assert r.stdout.rstrip().endswith(f"DEA {dea2.ip} retired")
    names = [e["event"] for e in cluster.journal()
             if e["event"].startswith(("dea_", "instance_"))]
    assert names == ["dea_retire_start", "instance_started", "instance_stopped", "dea_retired"]
    started = cluster.journal("instance_started")[0]
    assert (started["app"], started["dea"]) == ("web", dea1.ip)
    assert dea2.state()["processes"]["dea_ng"]["state"] == "STOPPED"
    assert dea2.state()["retired"] is True
    assert dea_of(cluster, "dea1")["used_mb"] == 1024 and dea_of(cluster, "dea2")["used_mb"] == 0
    assert not cluster.journal("instance_down")    # nothing was left on the stopped DEA
    # again: nothing to move, still fine
    r = core.kato("node", "retire", "-n", dea2.ip, "-j")
    assert r.returncode == 0 and json.loads(r.stdout)["moved"] == []
    cluster.client().unretire(dea2.ip)
    assert cluster.journal("dea_unretired", dea=dea2.ip)


def test_instances_go_down_with_their_dea(cluster):
    dea2 = cluster.node("dea2")
    dea2.kato("stop", "dea")
    down = cluster.journal("instance_down")
    assert [(e["app"], e["dea"]) for e in down] == [("web", dea2.ip)]
    apps = {a["name"]: a for a in cluster.client().apps()}
    assert apps["web"]["running"] == 1
    dea2.kato("start", "dea")
    assert [(e["app"], e["dea"]) for e in cluster.journal("instance_started")] == [("web", dea2.ip)]
    cluster.client().node_down(dea2.ip)
    assert cluster.journal("node_down", node=dea2.ip)
    assert len(cluster.journal("instance_down")) == 2
    cluster.client().node_up(dea2.ip)
    assert cluster.journal("node_up", node=dea2.ip)
    assert len(cluster.journal("instance_started")) == 2


def test_start_of_running_dea_keeps_apps_up(sim_cluster):
    cluster = sim_cluster(nodes=[CORE, {"name": "dea1", "roles": ["dea"], "time_scale": 0.5}],
                          apps=[{"name": "web", "instances": 1, "memory_mb": 128}])
    dea = cluster.node("dea1")
    assert dea.kato("start", "dea").returncode == 0
    assert not cluster.journal("process_state") and not cluster.journal("instance_down")
    assert dea.state()["processes"]["dea_ng"]["state"] == "RUNNING"
    with dea.as_current():
        from stackato_sim import processes
        processes.fail(["dea_ng"])
    assert [(e["app"], e["dea"]) for e in cluster.journal("instance_down")] == [("web", dea.ip)]
    status = json.loads(cluster.node("core").kato("status", "-j").stdout)
    assert status[dea.ip]["roles"]["dea"] == "FATAL"
    assert dea.kato("start", "dea").returncode == 0       # 1 s to start at time_scale 0.5
    assert not cluster.journal("instance_started")
    assert dea.kato("process", "ready", "-b", "10", "dea_ng").stdout == "READY\n"
    assert cluster.client().apps()[0]["running"] == 1     # the server's timer saw it come up
    assert [(e["app"], e["dea"]) for e in cluster.journal("instance_started")] == [("web", dea.ip)]


def test_retire_needs_a_dea(cluster):
    r = cluster.node("core").kato("node", "retire")
    assert r.returncode == 1 and "not a DEA" in r.stderr


def test_buildpacks(cluster):
    c = cluster.client()
    names = {b["name"]: b["custom"] for b in c.buildpacks()}
    assert names["custom-go"] is True and names["python"] is False
    assert c.remove_custom_buildpacks() == ["custom-go"]
    assert all(not b["custom"] for b in c.buildpacks())


def test_rolling_retire_keeps_instances_spread(sim_cluster):
    """Placement anti-affinity: after every DEA was retired and unretired in turn (as a rolling
    upgrade does), no app with two or more instances has them all on one DEA."""
    cluster = sim_cluster(
        nodes=[CORE] + [{"name": f"dea{k}", "roles": ["dea"], "dea_memory_mb": 2048}
                        for k in (1, 2, 3)],
        apps=[{"name": "web", "instances": 2, "memory_mb": 256},
              {"name": "api", "instances": 3, "memory_mb": 128},
              {"name": "worker", "instances": 1, "memory_mb": 256},
              {"name": "single", "instances": 1, "memory_mb": 128}])
    client = cluster.client()

    def spread():
        return {a["name"]: sorted(p["dea"] for p in a["placement"]) for a in client.apps()}

    def check(where):
        for app, deas in spread().items():
            if len(deas) >= 2:
                assert len(set(deas)) >= 2, f"{where}: all instances of {app} on {deas[0]}"
        assert all(a["running"] == a["instances"] for a in client.apps()), where

    check("initial placement")
    assert len(set(spread()["api"])) == 3
    for name in ("dea1", "dea2", "dea3"):
        ip = cluster.node(name).ip
        client.retire(ip)
        assert ip not in {d for deas in spread().values() for d in deas}
        check(f"{name} retired")
        client.unretire(ip)
        check(f"{name} unretired")
