"""kato data export, kato patch status, node_init."""

from __future__ import annotations

import json
import os
import tarfile

CORE = {"name": "core", "roles": ["primary", "controller", "router"]}


def test_data_export_cluster_tgz(sim_cluster):
    cluster = sim_cluster(apps=[{"name": "web", "instances": 1, "memory_mb": 128}])
    core = cluster.node("core")
    core.path("/mnt/nas").mkdir(parents=True)
    r = core.kato("data", "export", "--cluster", "/mnt/nas/stackato-backup.tgz")
    assert r.returncode == 0, r.stderr
    dest = core.path("/mnt/nas/stackato-backup.tgz")
    size = dest.stat().st_size
    assert r.stdout == f"Data exported to /mnt/nas/stackato-backup.tgz ({size} bytes)\n"
    with tarfile.open(dest) as tar:
        names = tar.getnames()
        assert "stackato-export/manifest.json" in names
        assert "stackato-export/s/etc/kato/redis_uri" in names
        state = json.load(tar.extractfile("stackato-export/cluster-state.json"))
        assert "web" in state["apps"]
        manifest = json.load(tar.extractfile("stackato-export/manifest.json"))
        assert manifest["scope"] == "cluster" and manifest["version"] == "3.4.2"
    ev = cluster.journal("data_export")
    assert ev[-1]["path"] == "/mnt/nas/stackato-backup.tgz" and ev[-1]["bytes"] == size


def test_data_export_only_this_node_default_name(sim_cluster):
    cluster = sim_cluster()
    core = cluster.node("core")
    r = core.kato("data", "export", "--only-this-node", "--exclude-droplets")
    assert r.returncode == 0, r.stderr
    made = [f for f in os.listdir(core.root) if f.startswith("stackato-export-")]
    assert len(made) == 1 and made[0].endswith(".tgz")
    with tarfile.open(core.root / made[0]) as tar:
        assert "stackato-export/cluster-state.json" not in tar.getnames()


def test_data_export_errors(sim_cluster):
    cluster = sim_cluster()
    core = cluster.node("core")
    r = core.kato("data", "export", "--cluster", "/nonexistent/dir/x.tgz")
    assert r.returncode == 1
    assert r.stderr == ("ERROR: cannot write /nonexistent/dir/x.tgz: directory /nonexistent/dir "
                        "does not exist\n")
    r = core.kato("data", "export", "/tmp/x.tgz")
    assert r.returncode == 1 and "exactly one of" in r.stderr
    assert not cluster.journal("data_export")


def test_patch_status(sim_cluster):
    cluster = sim_cluster(nodes=[CORE, {"name": "r2", "roles": ["router"], "version": "3.6.0"}])
    core, r2 = cluster.node("core"), cluster.node("r2")
    assert core.kato("patch", "status").stdout == "0 updates are available for 3.4.2.\n"
    text = r2.kato("patch", "status").stdout.splitlines()
    assert text[0] == "1 updates are available for 3.6.0."
    assert text[1].startswith("    router-websocket-fix: ")
    assert text[-1] == f"        to be installed on: {r2.ip}"
    data = json.loads(r2.kato("patch", "status", "-j").stdout)
    assert data["version"] == "3.6.0" and data["patches"][0]["id"] == 1


def test_node_init_tree_and_idempotence(sim_cluster):
    cluster = sim_cluster(nodes=[CORE, {"name": "dea1", "roles": ["dea"]}])
    dea = cluster.node("dea1")
    assert dea.path("/s/etc/kato/redis_uri").read_text() == (
        f"redis://{cluster.primary.ip}:{cluster.state_port}/0\n")
    conf = dea.path("/s/code/sentinel/daemon/config/config.yml").read_text()
    assert "cache_dir: /s/sentinel-cache\n" in conf and conf.startswith("#")
    for p in ("/home/stackato/bin/kato", "/s/code/sentinel/cli/bin/sentinel"):
        assert os.access(dea.path(p), os.X_OK)
    assert dea.path("/s/code/dea_ng/VERSION").read_text() == "3.4.2\n"
    st = dea.state()
    assert st["version"] == "3.4.2" and st["roles"] == ["base", "dea"] and st["kato_rev"]
    assert set(st["processes"]) == {"logyard", "systail", "nginx", "dea_ng", "dir_server",
                                    "fence", "apptail"}
    dea.kato("stop", "dea")
    cluster.init_nodes(["dea1"])             # a restarted container keeps its state
    assert dea.state()["processes"]["dea_ng"]["state"] == "STOPPED"


def test_node_init_unknown_version_still_boots(sim_cluster):
    cluster = sim_cluster(nodes=[dict(CORE, version="3.0.1")])
    core = cluster.node("core")
    assert core.kato("version").stdout == "3.0.1\n"
    assert core.kato("node", "version", core.ip).stdout == "3.0.1\n"


def test_export_fail_fails_the_export_once(sim_cluster):
    """export_fail: kato data export writes nothing and exits 1 (a full disk); it fires once."""
    cluster = sim_cluster(nodes=[dict(CORE, faults={"export_fail": {"times": 1}})])
    core = cluster.node("core")
    core.path("/mnt/nas").mkdir(parents=True)
    r = core.kato("data", "export", "--cluster", "/mnt/nas/x.tgz")
    assert r.returncode == 1 and r.stderr == "ERROR: cannot write /mnt/nas/x.tgz: No space left on device\n"
    assert not core.path("/mnt/nas/x.tgz").exists() and not cluster.journal("data_export")
    assert core.kato("data", "export", "--cluster", "/mnt/nas/x.tgz").returncode == 0
