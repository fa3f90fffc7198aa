"""The podman harness end to end: a real `small` cluster, real sshd, real sudo.

Run with `.venv/bin/pytest tests/harness -q` (as root: podman is rootful here).
"""
from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness_support import KATO, cluster, hosts, journal, running_cluster, ssh

NAME = "harness-test"
# Its own octet, so the test never collides with a `make cluster-up` of small (octet 1).
OCTET = 31


@pytest.fixture(scope="module")
def small():
    # One DEA with password sudo, to exercise both modes.
    with running_cluster("small", NAME, OCTET, "nodes.dea3.sudo=password") as inventory:
        yield inventory


def test_inventory_groups(small):
    text = small.read_text()
    for group in ("core", "controller", "router", "dea", "data_services", "stackato:children"):
        assert f"[{group}]" in text
    found = hosts(small)
    assert set(found) == {"core", "router2", "router3", "dea1", "dea2", "dea3", "data1"}
    assert found["core"]["ansible_host"] == f"127.42.{OCTET}.11"
    assert found["dea3"]["ansible_become_password"] == "stackato"
    assert "ansible_become_password" not in found["dea1"]
    group_vars = (small.parent / "group_vars" / "stackato.yml").read_text()
    assert 'stackato_target_version: "3.6.2"' in group_vars or "stackato_target_version: 3.6.2" in group_vars


def test_kato_version_over_ssh_on_every_node(small):
    found = hosts(small)
    # One SSH session per node, side by side: each node's own sshd is what is being tested.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(found)) as pool:
        results = dict(zip(found, pool.map(lambda hv: ssh(hv, f"{KATO} version"), found.values())))
    for name, result in results.items():
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert result.stdout.strip().splitlines()[-1] == "3.4.2", f"{name}: {result.stdout!r}"


def test_maintenance_mode_set_on_core_is_seen_on_a_dea(small):
    found = hosts(small)
    set_ = ssh(found["core"], f"{KATO} config set cloud_controller_ng maintenance_mode true")
    assert set_.returncode == 0, set_.stderr
    get = ssh(found["dea1"], f"{KATO} config get cloud_controller_ng maintenance_mode")
    assert get.returncode == 0, get.stderr
    assert get.stdout.strip().splitlines()[-1] == "true"


def test_sudo_modes(small):
    found = hosts(small)
    passwordless = ssh(found["dea1"], "sudo -n true")
    assert passwordless.returncode == 0, passwordless.stderr
    # sudo=password: -n must refuse, the password must be accepted.
    refused = ssh(found["dea3"], "sudo -n true")
    assert refused.returncode != 0
    accepted = ssh(found["dea3"], "echo stackato | sudo -S -p '' id -u")
    assert accepted.returncode == 0 and accepted.stdout.strip() == "0", accepted.stderr


def test_sentinel_d_service_restarts_as_root(small):
    core = hosts(small)["core"]
    result = ssh(core, "sudo -n service sentinel-d restart && sudo -n service sentinel-d status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is running" in result.stdout


def test_intra_cluster_ssh_and_names(small):
    result = ssh(hosts(small)["core"], "ssh dea2 hostname && ssh 127.42.%d.17 hostname" % OCTET)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["dea2", "data1"]


def test_seed_names_resolve_to_loopback(small):
    result = ssh(hosts(small)["dea1"], "getent hosts upgrade.stackato.com")
    assert result.stdout.split()[0] == f"127.42.{OCTET}.250"


def test_journal_is_shared_and_readable_from_the_controller(small):  # pylint: disable=unused-argument
    journal_file = cluster.cluster_dir(NAME) / "journal" / "events.jsonl"
    assert journal_file.is_file()
    events = journal(NAME)
    assert any(e.get("event") == "config_set" for e in events), events[-5:]
    assert all({"ts", "node", "event"} <= set(e) for e in events)


def test_set_override_addresses_nodes_by_name():
    topo = cluster.load_topology("small", ["nodes.dea1.faults.network_drop.times=2",
                                           "proxy=true"], "x")
    dea1 = next(n for n in topo["nodes"] if n["name"] == "dea1")
    assert dea1["faults"] == {"network_drop": {"times": 2}}
    assert topo["proxy"] is True and topo["name"] == "x"
    assert [n["ip"] for n in topo["nodes"]][:2] == ["127.42.1.11", "127.42.1.12"]


def test_large_topology_shape():
    topo = cluster.load_topology("large", [], None)
    groups = [cluster.inventory_group(n["roles"]) for n in topo["nodes"]]
    assert len(topo["nodes"]) == 20
    assert {g: groups.count(g) for g in set(groups)} == {
        "core": 1, "controller": 2, "router": 3, "dea": 12, "data_services": 2}


@pytest.fixture(scope="module")
def micro_proxy():
    """The one-node topology behind tinyproxy: seed names lead nowhere except through the proxy."""
    with running_cluster("micro", "harness-proxy", 32, "proxy=true") as inventory:
        yield inventory


PROXY_PROBE = """
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile="/etc/stackato-sim/upstream-ca.pem")
proxy = urllib.request.ProxyHandler({"https": sys.argv[1], "http": sys.argv[1]})
via = urllib.request.build_opener(proxy, urllib.request.HTTPSHandler(context=ctx))
print("https", via.open("https://upgrade.stackato.com/", timeout=10).status)
print("http", via.open("http://mirrors.kernel.org/", timeout=10).status)
try:
    urllib.request.urlopen("https://upgrade.stackato.com/", timeout=10, context=ctx)
    print("direct", "reachable")
except OSError:
    print("direct", "refused")
"""


def test_proxy_is_the_only_way_out(micro_proxy):
    group_vars = (micro_proxy.parent / "group_vars" / "stackato.yml").read_text()
    assert "stackato_https_proxy: http://127.42.32.240:3128" in group_vars
    node = hosts(micro_proxy)["micro"]
    result = ssh(node, "python3 - http://127.42.32.240:3128 <<'EOF'\n" + PROXY_PROBE + "EOF\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["https 200", "http 200", "direct refused"]


def test_ansible_reaches_every_node_and_becomes_root(small):
    ansible = Path(sys.executable).parent / "ansible"
    if not ansible.exists():
        pytest.fail(f"{ansible} missing: run `make setup`")
    result = subprocess.run(
        [str(ansible), "-i", str(small), "stackato", "--become", "-m", "ansible.builtin.command",
         "-a", "id -u", "-o"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_FORKS": "10"})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if "rc=0" in line]
    assert len(lines) == 7 and all(line.rstrip().endswith("0") for line in lines), result.stdout
