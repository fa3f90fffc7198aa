"""The release catalogue and the upstream content server (no cluster needed)."""

from __future__ import annotations

import hashlib
import json
import ssl
import subprocess
import sys
import urllib.request

import pytest

import simcluster  # noqa: F401  (puts tests/simulator on sys.path)
from stackato_sim import releases, upstream


def test_catalogue_versions_and_latest():
    assert releases.versions() == ["3.2.1", "3.4.2", "3.6.0", "3.6.2"]
    assert releases.upgradable_versions() == ["3.4.2", "3.6.0", "3.6.2"]
    assert releases.latest() == "3.6.2"
    assert releases.get("3.6.2").kato_rev == releases.kato_latest_rev()


@pytest.mark.parametrize("cur,target,path", [
    ("3.4.2", "3.6.2", ["3.6.0", "3.6.2"]),     # passes the intermediate release
    ("3.4.2", "3.6.0", ["3.6.0"]),
    ("3.6.0", "3.6.2", ["3.6.2"]),
    ("3.4.1", "3.4.2", ["3.4.2"]),
    ("3.6.2", "3.6.2", []),
])
def test_upgrade_path(cur, target, path):
    assert releases.upgrade_path(cur, target) == path


@pytest.mark.parametrize("cur,target,msg", [
    ("3.2.1", "3.6.2", "no upgrade path from 3.2.1"),
    ("3.6.2", "3.4.2", "cannot downgrade"),
    ("3.4.2", "3.2.1", "not available for upgrade"),
    ("3.4.2", "4.0.0", "not available for upgrade"),
])
def test_unsupported_paths(cur, target, msg):
    with pytest.raises(releases.UnsupportedPath, match=msg):
        releases.upgrade_path(cur, target)


def test_manifest_checksums_and_sizes():
    m = json.loads(releases.manifest_json("3.6.2"))
    assert m["version"] == "3.6.2" and m["upgrades_from"] == ["3.6.0", "3.6.1"]
    names = [c["name"] for c in m["components"]]
    assert "stackato-kato" in names and "router2g" in names and "dea_ng" in names
    for c in m["components"]:
        comp = releases.find_component("3.6.2", c["file"])
        assert hashlib.sha256(comp.payload).hexdigest() == c["sha256"]
        assert c["size"] > 10 * releases.MB          # nominal, GB scale in total
    core = releases.path_components(["3.6.0", "3.6.2"], ["base", "controller", "primary",
                                                         "router"])
    need = releases.download_size(core) + releases.INSTALL_GROWTH
    assert 4 * releases.GB < need < 7 * releases.GB     # fits the documented 7 GB per node


def test_components_for_roles():
    dea = [c.name for c in releases.components_for("3.6.0", ["base", "dea"])]
    assert dea[0] == "stackato-kato" and "dea_ng" in dea and "router2g" not in dea
    assert all(c.version == "3.6.0" for c in releases.components_for("3.6.0", ["base"]))


def test_install_components_reverts_customizations(tmp_path, monkeypatch):
    monkeypatch.setenv("STACKATO_SIM_ROOT", str(tmp_path))
    roles = ["base", "controller", "primary", "router"]
    releases.install_components("3.4.2", roles)
    code = tmp_path / "s/code/console"
    assert (code / "VERSION").read_text() == "3.4.2\n"
    (code / "custom.js").write_text("mine")
    css = tmp_path / "s/static/console/css/stackato.css"
    css.write_text("/* customized */")
    own = tmp_path / "s/static/console/custom.css"
    own.write_text("kept")
    names = releases.install_components("3.6.0", roles)
    assert "console" in names and "stackato-kato" in names
    assert (code / "VERSION").read_text() == "3.6.0\n"
    assert not (code / "custom.js").exists()
    assert "3.6.0" in css.read_text()
    assert own.read_text() == "kept"
    assert (tmp_path / "s/static/console/img/helion-logo.svg").exists()    # new in 3.6


def test_upstream_routes():
    status, dummy, body = upstream.route("/releases/index.json")
    assert status == 200 and json.loads(body)["latest"] == "3.6.2"
    status, dummy, body = upstream.route("/releases/3.6.0/router2g.tgz")
    assert status == 200 and body == releases.get("3.6.0").component("router2g").payload
    assert upstream.route("/releases/3.2.1/manifest.json")[0] == 404
    assert upstream.route("/releases/3.6.0/nope.tgz")[0] == 404
    assert json.loads(upstream.route("/kato/latest.json")[2])["kato_rev"] == "3.6.2-k1"
    assert upstream.route("/rubygems/anything?x=1") == (200, "text/plain", b"ok\n")


def test_upstream_serves_http_and_https(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=upgrade.stackato.com", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    http_port, https_port = simcluster.free_port(), simcluster.free_port()
    journal = tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "stackato_sim.upstream", "--listen",
                             "127.0.0.1", "--http-port", str(http_port), "--https-port",
                             str(https_port), "--cert", str(cert), "--key", str(key),
                             "--journal", str(journal)],
                            env={"PYTHONPATH": simcluster.SIM_PACKAGE, "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        simcluster.wait_for_port("127.0.0.1", https_port, proc=proc)
        simcluster.wait_for_port("127.0.0.1", http_port, proc=proc)
        noproxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        body = noproxy.open(f"http://127.0.0.1:{http_port}/releases/index.json", timeout=5).read()
        assert json.loads(body)["versions"] == ["3.4.2", "3.6.0", "3.6.2"]
        ctx = ssl.create_default_context(cafile=str(cert))
        ctx.check_hostname = False
        tls = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                          urllib.request.HTTPSHandler(context=ctx))
        assert tls.open(f"https://127.0.0.1:{https_port}/", timeout=5).read() == b"ok\n"
        data = tls.open(f"https://127.0.0.1:{https_port}/releases/3.6.2/aok.tgz",
                        timeout=5).read()
        assert hashlib.sha256(data).hexdigest() == releases.get("3.6.2").component("aok").sha256
    finally:
        proc.terminate()
        proc.wait(5)
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert {e["path"] for e in events} == {"/releases/index.json", "/releases/3.6.2/aok.tgz"}
    assert all(e["node"] == "upstream" for e in events)
