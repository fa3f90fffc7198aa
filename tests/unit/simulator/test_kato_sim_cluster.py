"""kato version/node list/info/status/process list, logging, and a primary that is down."""

from __future__ import annotations

import json
import os

import pytest

CORE = {"name": "core", "roles": ["primary", "controller", "router"]}


TOPOLOGY = {"nodes": [CORE, {"name": "dea1", "roles": ["dea"], "dea_memory_mb": 1024},
                      {"name": "dea2", "roles": ["dea"], "dea_memory_mb": 1024,
                       "version": "3.6.0"}],
            "apps": [{"name": "web", "instances": 2, "memory_mb": 256}]}


@pytest.fixture
def cluster(sim_cluster):
    return sim_cluster(**TOPOLOGY)


@pytest.fixture(scope="module")
def shared(sim_cluster_module):
    """One cluster for the tests that only read it (kato.log lines aside)."""
    return sim_cluster_module(**TOPOLOGY)


def test_versions(shared):
    cluster = shared
    core, dea2 = cluster.node("core"), cluster.node("dea2")
    assert core.kato("version").stdout == "3.4.2\n"
    assert dea2.kato("version").stdout == "3.6.0\n"
    assert core.kato("node", "version").stdout == "3.4.2\n"
    assert core.kato("node", "version", dea2.ip).stdout == "3.6.0\n"
    r = core.kato("node", "version", "127.43.250.99")
    assert r.returncode == 1 and r.stderr.startswith("ERROR: ")


def test_node_list(shared):
    cluster = shared
    core = cluster.node("core")
    r = core.kato("node", "list")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert f"{core.ip} base controller primary router" in lines
    assert f"{cluster.node('dea1').ip} base dea" in lines
    data = json.loads(core.kato("node", "list", "-j").stdout)
    assert data[core.ip] == {"roles": ["base", "controller", "primary", "router"]}
    assert set(data) == {n.ip for n in cluster.nodes.values()}
    assert core.kato("node", "list", "-y").stdout.startswith(f"{core.ip}:\n  roles:\n  - base\n")


def test_info_json_with_dea_extension(shared):
    cluster = shared
    core, dea1 = cluster.node("core"), cluster.node("dea1")
    info = json.loads(core.kato("info", "-j").stdout)
    assert list(info) == [core.ip]
    me = info[core.ip]
    assert me["roles"] == ["base", "controller", "primary", "router"]
    assert me["mbusip"] == core.ip and me["version"] == "3.4.2"
    assert "dea" in me["available_roles"] and "dea" not in me
    info = json.loads(core.kato("info", "-n", dea1.ip, "--json").stdout)[dea1.ip]
    assert info["dea"] == {"memory_mb": 1024, "used_mb": 256, "retired": False,
                           "instances": [{"app": "web", "memory_mb": 256}]}
    text = dea1.kato("info").stdout
    assert "assigned roles:  base, dea" in text and f"mbusip:          {core.ip}" in text


def test_status_and_process_list(cluster):
    core, dea1 = cluster.node("core"), cluster.node("dea1")
    status = json.loads(core.kato("status", "-j").stdout)
    assert status[dea1.ip]["roles"] == {"base": "RUNNING", "dea": "RUNNING"}
    assert status[dea1.ip]["processes"]["dea_ng"] == "RUNNING"
    assert "mysql" in json.loads(core.kato("status", "-a", "-j").stdout)[core.ip][
        "unconfigured_roles"]
    assert dea1.kato("stop", "dea").returncode == 0
    status = json.loads(core.kato("status", "--json").stdout)
    assert status[dea1.ip]["roles"]["dea"] == "STOPPED"
    assert "dea                     STOPPED" in core.kato("status").stdout
    procs = json.loads(dea1.kato("process", "list", "-j").stdout)
    assert procs == {dea1.ip: {"apptail": "STOPPED", "dea_ng": "STOPPED", "dir_server": "STOPPED",
                               "fence": "STOPPED", "logyard": "RUNNING", "nginx": "RUNNING",
                               "systail": "RUNNING"}}
    remote = json.loads(core.kato("process", "list", "-n", dea1.ip, "-j", "dea_ng").stdout)
    assert remote == {dea1.ip: {"dea_ng": "STOPPED"}}
    everything = json.loads(core.kato("process", "list", "-c", "-j").stdout)
    assert set(everything) == {n.ip for n in cluster.nodes.values()}
    assert everything[core.ip]["cloud_controller_ng"] == "RUNNING"
    assert "dea_ng                      STOPPED" in dea1.kato("process", "list").stdout


def test_primary_down(cluster):
    core, dea1 = cluster.node("core"), cluster.node("dea1")
    cluster.stop_state_server()
    msg = f"ERROR: cannot reach config_redis at {core.ip}:{cluster.state_port} (the primary node); is it up?\n"
    for args in (("node", "list"), ("config", "get", "cloud_controller_ng", "maintenance_mode"),
                 ("status",), ("node", "retire")):
        r = dea1.kato(*args)
        assert (r.returncode, r.stderr) == (1, msg), args
    assert dea1.kato("version").stdout == "3.4.2\n"
    assert dea1.kato("process", "list", "-j").returncode == 0
    r = dea1.kato("info", "-j")   # this node's own view degrades with a warning
    assert r.returncode == 0 and r.stderr.startswith("WARNING: cannot reach config_redis")
    assert "dea" not in json.loads(r.stdout)[dea1.ip]
    # process changes still work locally (the push to the primary is best effort)
    assert dea1.kato("restart", "dea").returncode == 0
    cluster.start_state_server()
    assert core.kato("node", "list").returncode == 0


def test_kato_log_and_usage(shared):
    cluster = shared
    core = cluster.node("core")
    core.kato("version")
    core.kato("config", "get", "router2g")
    log = core.log("kato.log").splitlines()
    assert log[-2].endswith("kato version") and log[-1].endswith("kato config get router2g")
    assert " INFO  kato[" in log[-1]
    r = core.kato("frobnicate")
    assert r.returncode == 1 and r.stderr.startswith("ERROR: unknown command frobnicate")
    r = core.kato("node", "list", "--bogus")
    assert r.returncode == 1 and "unknown option --bogus" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs to run as root")
def test_refuses_root(sim_cluster):
    cluster = sim_cluster(nodes=[dict(CORE, sudo="nopasswd")])
    r = cluster.node("core").kato("version")
    assert (r.returncode, r.stderr) == (1, "ERROR: kato must not be run as root\n")


def test_sudo_needs_password_without_terminal(sim_cluster, monkeypatch, tmp_path, capsys):
    cluster = sim_cluster(nodes=[dict(CORE, sudo="password")])
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sudo").write_text("#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n")
    (fake / "sudo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr("sys.stdin", open(os.devnull))
    with cluster.node("core").as_current():
        from stackato_sim import kato
        rc = kato.main(["stop", "router"])
        assert kato.main(["version"]) == 0
    captured = capsys.readouterr()
    assert rc == 1
    assert ("ERROR: sudo requires a password for stackato; configure passwordless sudo or run "
            "interactively\n") in captured.err
    assert cluster.node("core").state()["processes"]["router2g"]["state"] == "RUNNING"


def test_state_server_restart_keeps_state_and_primary_comes_up(cluster):
    core = cluster.node("core")
    core.kato("config", "set", "cloud_controller_ng", "maintenance_mode", "true")
    cluster.client().node_down(core.ip)
    cluster.stop_state_server()
    cluster.start_state_server()
    assert core.kato("config", "get", "cloud_controller_ng", "maintenance_mode").stdout == "true\n"
    assert json.loads(core.kato("status", "-j").stdout)[core.ip]["down"] is False
    assert cluster.journal("node_up", node=core.ip)
