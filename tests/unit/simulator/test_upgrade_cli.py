"""`kato node upgrade` and Sentinel on a simulated cluster (kato-contract.md §3, node upgrade)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys

import pytest

CORE = {"name": "core", "roles": ["primary", "controller", "router", "base"]}
APPS = [{"name": "web", "instances": 2, "memory_mb": 256}]
HINT = "connectivity restored? resume with: kato node upgrade --resume"


def dea(name, **kw):
    return {"name": name, "roles": ["dea", "base"], "dea_memory_mb": 2048, **kw}


@pytest.fixture
def cluster(sim_cluster):
    """core + two DEAs + (optional extras), upstream running."""
    def make(*extra, core=None, apps=None, start_upstream=True, **kw):
        if apps is None:    # apps need two DEAs to stay up through an upgrade
            apps = APPS if sum("dea" in n["roles"] for n in extra) >= 2 else []
        c = sim_cluster(nodes=[core or CORE, *extra], apps=apps, upstream=True, **kw)
        if start_upstream:
            c.start_upstream()
        return c
    return make


def start_sentinel_d(c, node):
    c.start_process(f"sentinel-d-{node.name}", [sys.executable, "-m", "stackato_sim.sentinel_d"],
                    node=node, port=node.conf["sentinel_port"], host=node.ip)


def upgrade(node, *args):
    return node.kato("node", "upgrade", "--skip-confirmation", *args)


def ok(r):
    assert r.returncode == 0, f"rc={r.returncode}\nSTDOUT:\n{r.stdout}\nSTDERR:\n{r.stderr}"
    return r


def events_of(c, ip, *names):
    return [e for e in c.journal() if e["node"] == ip and (not names or e["event"] in names)]


def first_index(events, event, **match):
    for i, e in enumerate(events):
        if e["event"] == event and all(e.get(k) == v for k, v in match.items()):
            return i
    raise AssertionError(f"no {event} {match} in {[e['event'] for e in events]}")


def test_cluster_upgrade_order_steps_and_logs(cluster):
    c = cluster(dea("dea1"), dea("dea2"), {"name": "data1", "roles": ["mysql", "base"]})
    core, dea1, dea2, data1 = (c.node(n) for n in ("core", "dea1", "dea2", "data1"))
    r = ok(upgrade(core))
    assert "Cluster upgraded to 3.6.2" in r.stdout
    # one node at a time: DEAs first, data services after the base roles, the primary last
    done = [e["node"] for e in c.journal("upgrade_done")]
    assert done == [dea1.ip, dea2.ip, data1.ip, core.ip]
    starts = [e["node"] for e in c.journal("upgrade_start")]
    assert starts == done
    evs = c.journal()
    for a, b in zip(done, done[1:]):
        assert first_index(evs, "upgrade_done", node=a) < first_index(evs, "upgrade_start", node=b)
    for n in (core, dea1, dea2, data1):
        ev = events_of(c, n.ip)
        order = [first_index(ev, "self_update"), first_index(ev, "upgrade_start"),
                 first_index(ev, "download_start"), first_index(ev, "download_done"),
                 first_index(ev, "upgrade_step"), first_index(ev, "upgrade_done")]
        assert order == sorted(order)
        assert [e["version"] for e in ev if e["event"] == "node_version"] == ["3.6.0", "3.6.2"]
        assert ev[first_index(ev, "upgrade_start")]["path"] == ["3.6.0", "3.6.2"]
        assert n.state()["version"] == "3.6.2"
        assert n.state()["upgrade"]["state"] == "done"
        assert (n.path("/s/code/stackato-kato/VERSION")).read_text() == "3.6.2\n"
        assert n.path("/home/stackato/bin/kato").exists()
    # a DEA is retired before its first component and unretired after the last
    for d in (dea1, dea2):
        ev = [e for e in evs if e.get("node") == d.ip or e.get("dea") == d.ip]
        assert first_index(ev, "dea_retired", dea=d.ip) < first_index(ev, "upgrade_step")
        assert first_index(ev, "dea_unretired", dea=d.ip) > first_index(
            ev, "node_version", version="3.6.2")
    steps = [e for e in events_of(c, dea1.ip, "upgrade_step") if e["phase"] == "start"]
    assert steps[0]["step"] == "3.6.0/stackato-kato" and steps[-1]["step"] == "3.6.2/apptail"
    assert c.client().node_versions() == {n.ip: "3.6.2" for n in (core, dea1, dea2, data1)}
    # sentinel-cli.log: cluster command on the primary, per-node commands on each node
    line = core.log("sentinel-cli.log").splitlines()[0]
    assert line == ("INFO  Sentinel::CLI : Running with command: bin/sentinel upgrade 3.6.2 "
                    f"127.0.0.1 {dea1.ip} {dea2.ip} {data1.ip}")
    assert dea1.log("sentinel-cli.log").splitlines() == [
        "INFO  Sentinel::CLI : Running with command: bin/sentinel upgrade 3.6.2 127.0.0.1"]
    # custom buildpacks are gone after the controller's step
    assert not [b for b in c.client().buildpacks() if b.get("custom")]
    # a second run exits early
    r = ok(upgrade(core))
    assert "all nodes are already at version 3.6.2" in r.stdout
    assert len(c.journal("upgrade_start")) == 4


MICRO = {"name": "micro", "roles": ["base", "controller", "primary", "router", "dea", "mysql",
                                    "postgresql", "redis", "filesystem"], "dea_memory_mb": 2048}


def test_micro_cloud_upgrades_in_place(cluster):
    """The only DEA of the cluster is not retired: its instances stop during the upgrade."""
    c = cluster(core=MICRO, apps=[{"name": "web", "instances": 1, "memory_mb": 256}])
    micro = c.node("micro")
    r = ok(upgrade(micro))
    assert (f"WARNING: no other DEA to move the app instances of {micro.ip} to; they stop "
            "during this node's upgrade") in r.stderr.splitlines()
    assert micro.state()["version"] == "3.6.2"
    assert [e["dea"] for e in c.journal("dea_retire_skipped")] == [micro.ip]
    assert c.journal("dea_retire_skipped")[0]["reason"]
    assert not c.journal("dea_retired") and not c.journal("dea_retire_refused")
    ev = c.journal()
    assert first_index(ev, "dea_retire_skipped") < first_index(ev, "upgrade_step")
    # downtime: the instance goes down with dea_ng (once a release) and comes back in place
    down = [(e["app"], e["dea"]) for e in c.journal("instance_down")]
    assert down and set(down) == {("web", micro.ip)}
    ups = [(e["app"], e["dea"]) for e in c.journal("instance_started")]
    assert ups == down
    assert c.client().apps()[0]["running"] == 1
    assert micro.state()["retired"] is False
    # `kato node retire` itself still refuses to retire the only DEA with instances
    r = micro.kato("node", "retire")
    assert r.returncode == 1 and r.stderr.startswith(f"ERROR: cannot retire DEA {micro.ip}")


def test_upgrade_fails_when_the_other_deas_lack_memory(cluster):
    c = cluster(dea("dea1"), dea("dea2", dea_memory_mb=256),
                apps=[{"name": "web", "instances": 2, "memory_mb": 256}])
    dea1 = c.node("dea1")
    r = upgrade(dea1)
    assert r.returncode == 1
    assert re.search(rf"^ERROR: cannot retire DEA {re.escape(dea1.ip)}", r.stderr, re.M), r.stderr
    assert c.journal("dea_retire_refused", dea=dea1.ip)
    assert not c.journal("dea_retire_skipped")
    assert c.journal("upgrade_failed", node=dea1.ip)[-1]["step"] == "retire"
    assert not c.journal("upgrade_step", node=dea1.ip)
    assert dea1.state()["version"] == "3.4.2"


def test_role_order_keeps_primary_last(cluster):
    c = cluster(dea("dea1"), {"name": "router2", "roles": ["router", "base"]},
                {"name": "data1", "roles": ["mysql", "base"]}, apps=[])   # one DEA: no apps
    ok(upgrade(c.node("core"), "--role-order", "mysql,router,dea"))
    done = [e["node"] for e in c.journal("upgrade_done")]
    assert done == [c.node(n).ip for n in ("data1", "router2", "dea1", "core")]


def test_single_node_modes(cluster):
    c = cluster(dea("dea1"), dea("dea2"))
    core, dea1, dea2 = c.node("core"), c.node("dea1"), c.node("dea2")
    # on a non-primary node: only that node, to a given version
    ok(upgrade(dea1, "-v", "3.6.0"))
    assert [e["node"] for e in c.journal("upgrade_done")] == [dea1.ip]
    assert dea1.state()["version"] == "3.6.0"
    assert c.journal("upgrade_start")[0]["path"] == ["3.6.0"]
    r = ok(upgrade(dea1, "--version", "3.6.0"))
    assert f"Node {dea1.ip} is already at version 3.6.0" in r.stdout
    # on the primary with --node <other ip>: that node only (remote run)
    ok(upgrade(core, "--node", dea2.ip))
    assert [e["node"] for e in c.journal("upgrade_done")] == [dea1.ip, dea2.ip]
    assert core.state()["version"] == "3.4.2"
    # --force reinstalls the same version
    ok(upgrade(dea2, "--force", "-v", "3.6.2"))
    assert len(c.journal("upgrade_done", node=dea2.ip)) == 2
    # unknown version
    r = upgrade(dea1, "-v", "9.9.9")
    assert r.returncode == 1 and r.stderr.startswith("ERROR: ")


def test_confirmation_needs_a_terminal(cluster):
    c = cluster(dea("dea1"))
    r = c.node("core").kato("node", "upgrade")
    assert r.returncode == 1
    assert "Proceed with upgrade?" in r.stdout
    assert re.search(r"^ERROR: .*--skip-confirmation", r.stderr, re.M)
    assert not c.journal("upgrade_start")


def test_status_json_and_text(cluster):
    c = cluster(dea("dea1"))
    core = c.node("core")
    r = ok(core.kato("node", "upgrade", "--status", "--json"))
    s = json.loads(r.stdout)
    assert s == {"node": core.ip, "version": "3.4.2", "available": "3.6.2", "state": "idle",
                 "step": None, "cached": False}
    ok(upgrade(core))
    s = json.loads(ok(core.kato("node", "upgrade", "--status", "-j")).stdout)
    assert s["version"] == "3.6.2" and s["state"] == "done" and s["available"] == "3.6.2"
    text = ok(core.kato("node", "upgrade", "--status")).stdout
    assert "State:     done" in text
    # remote status of another node
    s = json.loads(ok(core.kato("node", "upgrade", "--status", "--json", "-n",
                                c.node("dea1").ip)).stdout)
    assert s["node"] == c.node("dea1").ip and s["version"] == "3.6.2"
    # upstream gone, nothing cached: available is null
    c.stop_process("upstream")
    s = json.loads(ok(c.node("dea1").kato("node", "upgrade", "--status", "--json")).stdout)
    assert s["available"] == "3.6.2"      # its own cache still holds the manifests
    c2 = cluster(start_upstream=False)
    s = json.loads(ok(c2.node("core").kato("node", "upgrade", "--status", "--json")).stdout)
    assert s["available"] is None and s["state"] == "idle"


def test_update_kato_prepare_cluster_flags(cluster):
    c = cluster()
    core = c.node("core")
    r = ok(core.kato("node", "upgrade", "--update-kato"))
    assert "kato updated from 3.4.2-k1 to 3.6.2-k1" in r.stdout
    r = ok(core.kato("node", "upgrade", "-u"))
    assert "already up to date (3.6.2-k1)" in r.stdout
    assert [e["changed"] for e in c.journal("self_update")] == [True, False]
    assert core.state()["version"] == "3.4.2"
    ok(core.kato("node", "upgrade", "--prepare"))
    ok(upgrade(core, "--cluster", "-v", "3.6.0"))
    assert core.state()["version"] == "3.6.0"
    r = core.kato("node", "upgrade", "--bogus")
    assert r.returncode == 1 and "ERROR" in r.stderr


def test_download_only_then_upgrade_without_public_network(cluster):
    c = cluster(dea("dea1"), dea("dea2"))
    core, dea1 = c.node("core"), c.node("dea1")
    start_sentinel_d(c, core)
    r = core.kato("node", "upgrade", "--download-only")
    assert r.returncode == 1 and "--cache-ip" in r.stderr
    ok(core.kato("node", "upgrade", "--update-kato"))
    r = ok(core.kato("node", "upgrade", "--download-only", "--cache-ip", core.ip))
    assert "Downloaded" in r.stdout
    cache = core.path("/s/sentinel-cache")
    assert (cache / "3.6.0" / "dea_ng.tgz").exists() and (cache / "3.6.2" / "aok.tgz").exists()
    assert (cache / "kato" / "latest.json").exists()
    assert all(n.state()["version"] == "3.4.2" for n in c.nodes.values())
    assert not c.journal("upgrade_start")
    r = ok(core.kato("node", "upgrade", "--download-only", "--cache-ip", core.ip))
    assert "Nothing to download" in r.stdout
    # no public network from here on
    c.stop_process("upstream")
    before = len(c.journal("upstream_request"))
    ok(upgrade(core, "--cache-ip", core.ip))
    assert all(n.state()["version"] == "3.6.2" for n in c.nodes.values())
    assert len(c.journal("upstream_request")) == before
    src = {e["source"] for e in c.journal("download_start", node=dea1.ip)}
    assert src == {f"cache:{core.ip}"}


def test_download_only_to_a_remote_cache_node_and_cache_miss_fallback(cluster):
    c = cluster(dea("dea1"), dea("dea2"))
    core, dea1, dea2 = c.node("core"), c.node("dea1"), c.node("dea2")
    start_sentinel_d(c, dea2)
    ok(core.kato("node", "upgrade", "--download-only", "--cache-ip", dea2.ip, "-v", "3.6.0"))
    assert (dea2.path("/s/sentinel-cache/3.6.0/dea_ng.tgz")).exists()
    assert not dea2.path("/s/sentinel-cache/3.6.2").exists()
    # 3.6.2 is a cache miss: dea1 falls back to upstream and fills the cache node
    ok(upgrade(dea1, "--cache-ip", dea2.ip))
    assert (dea2.path("/s/sentinel-cache/3.6.2/dea_ng.tgz")).exists()
    srcs = [e["source"] for e in c.journal("download_done", node=dea1.ip)]
    assert srcs == [f"cache:{dea2.ip}", f"cache:{dea2.ip}+upstream"]


def test_offline_needs_content(cluster):
    c = cluster(dea("dea1"))
    core = c.node("core")
    r = upgrade(c.node("dea1"), "--offline", "-v", "3.6.2")
    assert r.returncode == 1
    assert re.search(r"^ERROR: offline upgrade: .* must be downloaded first", r.stderr, re.M)
    ok(core.kato("node", "upgrade", "--download-only", "--cache-ip", core.ip))
    c.stop_process("upstream")
    start_sentinel_d(c, core)
    ok(upgrade(core, "--offline", "--cache-ip", core.ip))
    assert c.node("dea1").state()["version"] == "3.6.2"
    assert not [e for e in c.journal("self_update") if e["node"] == c.node("dea1").ip]


def test_network_drop_then_resume(cluster):
    c = cluster(dea("dea1", faults={"network_drop": {"times": 1}}), dea("dea2"))
    dea1 = c.node("dea1")
    r = upgrade(dea1)
    assert r.returncode == 1
    assert re.search(r"^ERROR: network error while downloading 3\.6\.0/\S+: .*; " + re.escape(HINT),
                     r.stderr, re.M), r.stderr
    assert c.journal("download_failed", node=dea1.ip)
    s = json.loads(ok(dea1.kato("node", "upgrade", "--status", "--json")).stdout)
    assert s["state"] == "failed" and s["version"] == "3.4.2"
    ok(upgrade(dea1, "--resume"))
    assert dea1.state()["version"] == "3.6.2"
    assert dea1.state()["faults_fired"]["network_drop"] == 1
    assert [e["resume"] for e in c.journal("upgrade_start", node=dea1.ip)] == [False, True]


def test_kato_missing_and_documented_recovery(cluster):
    c = cluster(dea("dea1", faults={"kato_missing": {"times": 1}}), dea("dea2"))
    dea1 = c.node("dea1")
    r = upgrade(dea1)
    assert r.returncode == 137
    assert not dea1.path("/home/stackato/bin/kato").exists()
    assert dea1.state()["version"] == "3.4.2"
    # tac /s/logs/sentinel-cli.log | grep -m1 'Running with command'
    line = [ln for ln in reversed(dea1.log("sentinel-cli.log").splitlines())
            if "Running with command" in ln][0]
    command = line.split("Running with command: ", 1)[1]
    assert command == "bin/sentinel upgrade 3.6.2 127.0.0.1"
    words = shlex.split(command)
    ok(dea1.sentinel(*words[1:]))        # run from /s/code/sentinel/cli
    assert dea1.path("/home/stackato/bin/kato").exists()
    assert dea1.state()["version"] == "3.6.2"
    assert ok(dea1.kato("version")).stdout.strip() == "3.6.2"
    kato_starts = [e for e in c.journal("upgrade_step", node=dea1.ip, phase="start")
                   if e["step"] == "3.6.0/stackato-kato"]
    assert len(kato_starts) == 2        # the failed step is done again, the others are not
    assert len([e for e in c.journal("upgrade_step", node=dea1.ip, phase="end")
                if e["step"] == "3.6.0/stackato-kato"]) == 1


def comp_versions(node):
    code = node.path("/s/code")
    return {d.name: (d / "VERSION").read_text().strip() for d in code.iterdir()
            if (d / "VERSION").exists()}


def test_restart_with_empty_s_keeps_kato_missing_and_recovers(cluster):
    """A restarted container gets an empty /s tmpfs; node-state.json survives."""
    c = cluster(dea("dea1", faults={"kato_missing": {"times": 1}}), dea("dea2"))
    dea1 = c.node("dea1")
    assert upgrade(dea1).returncode == 137
    before = dea1.state()
    shutil.rmtree(dea1.path("/s"))
    c.init_nodes(["dea1"])
    with dea1.as_current():
        from stackato_sim import releases
        wanted = {comp.name for comp in releases.components_for("3.4.2", before["roles"])}
    assert comp_versions(dea1) == {name: "3.4.2" for name in wanted}
    assert not dea1.path("/home/stackato/bin/kato").exists()      # as a real disk would
    assert dea1.path("/s/code/sentinel/cli/bin/sentinel").exists()
    after = dea1.state()
    assert after["upgrade"] == before["upgrade"] and after["version"] == "3.4.2"
    assert after["processes"] == before["processes"]
    info = c.client().node_info(dea1.ip)[dea1.ip]
    assert not info["down"] and set(info["processes"].values()) == {"RUNNING"}
    # the documented recovery still finds its command in sentinel-cli.log
    line = [ln for ln in reversed(dea1.log("sentinel-cli.log").splitlines())
            if "Running with command" in ln][0]
    ok(dea1.sentinel(*shlex.split(line.split("Running with command: ", 1)[1])[1:]))
    assert dea1.path("/home/stackato/bin/kato").exists()
    assert set(comp_versions(dea1).values()) == {"3.6.2"}
    assert ok(dea1.kato("version")).stdout.strip() == "3.6.2"


def test_restart_with_empty_s_keeps_upgrade_progress(cluster):
    c = cluster(core={**CORE, "faults": {"node_dies": {"at_component": "nginx"}}})
    core = c.node("core")
    assert upgrade(core).returncode == 1
    before = core.state()
    assert before["upgrade"]["done"] == ["3.6.0/stackato-kato", "3.6.0/stackato-base",
                                         "3.6.0/logyard"]
    c.stop_state_server()          # the primary's container goes down with its state server
    shutil.rmtree(core.path("/s"))
    c.start_state_server()
    c.init_nodes(["core"])
    versions = comp_versions(core)
    assert versions.pop("stackato-kato") == versions.pop("stackato-base") == \
        versions.pop("logyard") == "3.6.0"
    assert set(versions.values()) == {"3.4.2"} and "nginx" in versions
    assert core.path("/home/stackato/bin/kato").exists()
    assert core.state()["upgrade"] == before["upgrade"]
    assert core.state()["processes"] == before["processes"]     # STOPPED, as recorded
    assert set(c.client().node_info(core.ip)[core.ip]["processes"].values()) == {"STOPPED"}
    ok(upgrade(core, "--resume"))
    assert set(comp_versions(core).values()) == {"3.6.2"}
    starts = [e["step"] for e in c.journal("upgrade_step", node=core.ip, phase="start")]
    assert starts.count("3.6.0/logyard") == 1 and starts.count("3.6.0/nginx") == 2


def test_component_fail_then_rerun(cluster):
    c = cluster(core={**CORE, "faults": {"component_fail": {"component": "router2g"}}})
    core = c.node("core")
    r = upgrade(core)
    assert r.returncode == 1
    assert "ERROR: component router2g failed to upgrade" in r.stderr
    assert c.journal("upgrade_failed", node=core.ip)[-1]["step"] == "3.6.0/router2g"
    assert core.state()["upgrade"]["state"] == "failed"
    ok(upgrade(core))
    assert core.state()["version"] == "3.6.2"
    starts = [e["step"] for e in c.journal("upgrade_step", node=core.ip, phase="start")]
    assert starts.count("3.6.0/router2g") == 2 and starts.count("3.6.0/aok") == 1


def test_process_fatal_then_kato_start(cluster):
    """process_fatal: the upgrade finishes, the component's processes stay FATAL (not ready) until kato start."""
    c = cluster(core={**CORE, "faults": {"process_fatal": {"component": "router2g", "version": "3.6.2"}}})
    core = c.node("core")
    ok(upgrade(core))
    assert core.state()["version"] == "3.6.2"
    assert core.state()["processes"]["router2g"]["state"] == "FATAL"
    assert [e["step"] for e in c.journal("process_fatal", node=core.ip)] == ["3.6.2/router2g"]
    r = core.kato("process", "ready", "-b", "1", "all")
    assert r.returncode == 1 and "router2g" in r.stdout + r.stderr
    ok(core.kato("start"))
    ok(core.kato("process", "ready", "-b", "30", "all"))
    # fired once: a second run does not fail it again
    ok(upgrade(core, "--force"))
    assert len(c.journal("process_fatal", node=core.ip)) == 1


def test_node_dies_then_cluster_resume(cluster):
    c = cluster(dea("dea1", faults={"node_dies": {"at_component": "dea_ng"}}), dea("dea2"))
    core, dea1, dea2 = c.node("core"), c.node("dea1"), c.node("dea2")
    r = upgrade(core)
    assert r.returncode == 1
    assert f"upgrade of node {dea1.ip} failed" in r.stderr
    assert len(c.journal("node_down", node=dea1.ip)) == 1
    assert all(p["state"] == "STOPPED" for p in dea1.state()["processes"].values())
    assert c.client().node_info(dea1.ip)[dea1.ip]["down"] is True
    assert not c.journal("upgrade_start", node=dea2.ip)       # stops at the failing node
    ok(upgrade(core, "--resume"))
    assert [e["node"] for e in c.journal("upgrade_done")] == [dea1.ip, dea2.ip, core.ip]
    assert all(p["state"] in ("RUNNING", "STARTING") for p in dea1.state()["processes"].values())


def test_disk_check(cluster):
    c = cluster(dea("dea1", faults={}))
    dea1 = c.node("dea1")
    conf = json.loads(dea1.path("/etc/stackato-sim/node.json").read_text())
    conf["disk_free_mb"] = {"/s/sentinel-cache": 2000}
    dea1.path("/etc/stackato-sim/node.json").write_text(json.dumps(conf))
    r = upgrade(dea1)
    assert r.returncode == 1
    assert re.search(r"^ERROR: not enough free disk space on /s/sentinel-cache: "
                     r"2\.0GB available, [0-9.]+GB needed$", r.stderr, re.M), r.stderr
    assert dea1.state()["version"] == "3.4.2"
    assert not c.journal("upgrade_step", node=dea1.ip)


def test_customizations_are_lost(cluster):
    c = cluster()
    core = c.node("core")
    (core.path("/s/code/console/custom.js")).write_text("x")
    core.path("/s/static/console/css/stackato.css").write_text("/* mine */")
    core.path("/s/static/console/my.css").write_text("mine")
    ok(upgrade(core))
    assert not core.path("/s/code/console/custom.js").exists()
    assert "3.6.2" in core.path("/s/static/console/css/stackato.css").read_text()
    assert core.path("/s/static/console/my.css").read_text() == "mine"
