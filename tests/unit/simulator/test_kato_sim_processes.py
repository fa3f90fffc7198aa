"""kato process ready/start/stop/restart, kato start|stop|restart <role>, kato role ..."""

from __future__ import annotations

import json
import time

CORE = {"name": "core", "roles": ["primary", "controller", "router"]}


def test_process_ready_blocks_until_started(sim_cluster):
    # time_scale 0.5: a process takes 1 s to start
    cluster = sim_cluster(nodes=[dict(CORE, time_scale=0.5)])
    core = cluster.node("core")
    assert core.kato("process", "ready", "all").stdout == "READY\n"
    r = core.kato("process", "restart", "router2g")
    assert r.returncode == 0 and "process router2g restarting..." in r.stdout
    assert json.loads(core.kato("process", "list", "-j").stdout)[core.ip]["router2g"] == "STARTING"
    r = core.kato("process", "ready", "router2g")          # no -b: look once
    assert r.returncode == 1 and "router2g" in r.stdout and "STARTING" in r.stdout
    t0 = time.monotonic()
    r = core.kato("process", "ready", "-b", "30", "router2g")
    waited = time.monotonic() - t0
    assert (r.returncode, r.stdout) == (0, "READY\n")
    assert waited < 5
    assert core.state()["processes"]["router2g"]["state"] in ("STARTING", "RUNNING")
    assert json.loads(core.kato("process", "list", "-j").stdout)[core.ip]["router2g"] == "RUNNING"


def test_process_ready_times_out(sim_cluster):
    cluster = sim_cluster(nodes=[dict(CORE, time_scale=5.0)])
    core = cluster.node("core")
    core.kato("process", "stop", "aok")
    core.kato("process", "restart", "router2g")   # 10 s to start
    t0 = time.monotonic()
    r = core.kato("process", "ready", "--block", "0.5", "all")
    assert 0.4 < time.monotonic() - t0 < 5
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["aok                     STOPPED",
                                     "router2g                STARTING"]
    assert r.stderr.startswith("ERROR: not ready after 0.5s: aok, router2g")
    r = core.kato("process", "ready", "no_such_process")
    assert r.returncode == 1 and "unknown process no_such_process" in r.stderr


def test_roles_stop_start_restart(sim_cluster):
    cluster = sim_cluster(nodes=[CORE, {"name": "dea1", "roles": ["dea"]}])
    dea = cluster.node("dea1")
    r = dea.kato("stop", "dea")
    assert r.returncode == 0
    assert r.stdout.splitlines()[0] == "-----> Stopping roles"
    assert "role dea stopping..." in r.stdout and r.stdout.rstrip().endswith("ok")
    st = dea.state()["processes"]
    assert {p: st[p]["state"] for p in ("dea_ng", "fence", "logyard")} == {
        "dea_ng": "STOPPED", "fence": "STOPPED", "logyard": "RUNNING"}
    assert cluster.journal("role_state", role="dea", state="STOPPED", node=dea.ip)
    assert cluster.journal("process_state", process="dea_ng", state="STOPPED", node=dea.ip)
    r = dea.kato("start")            # no roles: all of the node's roles
    assert r.returncode == 0 and "role base starting..." in r.stdout
    assert dea.kato("process", "ready", "-b", "5", "all").stdout == "READY\n"
    r = dea.kato("restart")
    assert r.returncode == 0
    assert cluster.journal("kato_restart", node=dea.ip)
    r = dea.kato("stop", "mysql")
    assert r.returncode == 1 and r.stderr == f"ERROR: role mysql is not configured on node {dea.ip}\n"
    r = dea.kato("stop", "nonsense")
    assert r.returncode == 1 and "unknown role nonsense" in r.stderr


def test_restart_fatal_leaves_the_restarted_processes_down_once(sim_cluster):
    """restart_fatal: kato restart ends, the node's processes stay FATAL (not ready) until kato start; it fires once."""
    cluster = sim_cluster(nodes=[CORE, {"name": "dea1", "roles": ["dea"], "faults": {"restart_fatal": {"times": 1}}}])
    dea = cluster.node("dea1")
    assert dea.kato("restart").returncode == 0
    assert dea.state()["processes"]["dea_ng"]["state"] == "FATAL"
    assert [e["step"] for e in cluster.journal("process_fatal", node=dea.ip)] == ["restart"]
    r = dea.kato("process", "ready", "-b", "1", "all")
    assert r.returncode == 1 and "dea_ng" in r.stdout
    assert dea.kato("restart").returncode == 0
    assert dea.kato("process", "ready", "-b", "5", "all").stdout == "READY\n"
    assert len(cluster.journal("process_fatal", node=dea.ip)) == 1


def test_remote_node_via_n(sim_cluster):
    cluster = sim_cluster(nodes=[CORE, {"name": "dea1", "roles": ["dea"]}])
    core, dea = cluster.node("core"), cluster.node("dea1")
    r = core.kato("stop", "-n", dea.ip, "dea")
    assert r.returncode == 0, r.stderr
    assert dea.state()["processes"]["dea_ng"]["state"] == "STOPPED"
    assert core.state()["processes"]["router2g"]["state"] == "RUNNING"
    r = core.kato("process", "ready", "-n", dea.ip, "dea_ng")
    assert r.returncode == 1
    assert core.kato("start", "--node", dea.ip, "dea").returncode == 0
    assert core.kato("process", "ready", "-n", dea.ip, "-b", "5", "dea_ng").stdout == "READY\n"
    r = core.kato("stop", "-n", "127.43.250.99")
    assert (r.returncode, r.stderr) == (1, "ERROR: node 127.43.250.99 is not part of this cluster\n")


def test_role_add_remove_info(sim_cluster):
    cluster = sim_cluster(nodes=[CORE, {"name": "svc", "roles": []}])
    core, svc = cluster.node("core"), cluster.node("svc")
    r = svc.kato("role", "add", "mysql")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:2] == ["-----> Adding roles",
                                         'adding role "mysql"...                     ok']
    assert "role mysql starting..." in r.stdout
    assert json.loads(core.kato("node", "list", "-j").stdout)[svc.ip]["roles"] == ["base", "mysql"]
    assert svc.state()["processes"]["mysql_node"]["state"] == "RUNNING"
    r = svc.kato("role", "add", "--no-start", "redis")
    assert svc.state()["processes"]["redis_node"]["state"] == "STOPPED"
    r = svc.kato("role", "remove", "mysql")
    assert r.returncode == 0 and 'removing role "mysql"...' in r.stdout
    assert "mysql_node" not in svc.state()["processes"]
    assert json.loads(core.kato("node", "list", "-j").stdout)[svc.ip]["roles"] == ["base", "redis"]
    r = svc.kato("role", "remove", "base")
    assert r.returncode == 1 and "base cannot be removed" in r.stderr
    r = svc.kato("role", "add", "primary")
    assert r.returncode == 1 and "already has a primary" in r.stderr
    r = core.kato("role", "add", "--node", svc.ip, "memcached")
    assert r.returncode == 0 and "memcached" in svc.state()["roles"]
    info = svc.kato("role", "info", "dea").stdout
    assert info == "dea: dea_ng dir_server fence apptail\n"
