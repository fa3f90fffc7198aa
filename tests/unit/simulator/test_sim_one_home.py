# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One home each: the SSH command builder (remote.py), "this node" (nodeconf.py) and the
simulator's ports (ports.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "simulator" / "stackato_sim"
HARNESS = Path(__file__).resolve().parents[2] / "harness"
CORE = {"name": "core", "roles": ["primary", "controller", "router"]}
OUTSIDER = "127.43.250.99"    # not a peer: reached over SSH
SSH_PREFIX = ["ssh", "-p", "2222", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
              "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
              f"stackato@{OUTSIDER}"]


def sources(root: Path = SIM):
    return {p.name: p.read_text() for p in sorted(root.glob("*.py"))}


@pytest.fixture(scope="module")
def cluster(sim_cluster_module):
    return sim_cluster_module(nodes=[CORE, {"name": "dea1", "roles": ["dea"]}])


def test_only_remote_builds_ssh_commands():
    builders = [name for name, text in sources().items() if re.search(r'["\']ssh["\']\s*,', text)]
    assert builders == ["remote.py"]


def test_only_nodeconf_knows_who_this_node_is():
    for fn in ("my_ip", "own_ip", "is_self", "_port_of", "port_of"):
        homes = [name for name, text in sources().items() if re.search(rf"^def {fn}\(", text, re.M)]
        assert homes in ([], ["nodeconf.py"]), (fn, homes)


def test_this_nodes_address_is_read_through_nodeconf():
    readers = [name for name, text in sources().items()
               if re.search(r'load_node\(\)(\["ip"\]|\.get\("ip"\))|own = node\["ip"\]', text)]
    assert readers == ["nodeconf.py"]


@pytest.mark.parametrize("port", ["2222", "7474", "9292", "8443"])
def test_ports_live_in_ports_py(port):
    users = [name for name, text in sources().items() if re.search(rf"\b{port}\b", text)]
    assert users == ["ports.py"]
    harness = (HARNESS / "cluster.py").read_text()
    assert not re.search(rf"\b{port}\b", harness)


def test_is_self(cluster):
    from stackato_sim import nodeconf
    with cluster.node("dea1").as_current():
        me = cluster.node("dea1").ip
        assert all(nodeconf.is_self(ip) for ip in (None, "", me, "127.0.0.1", "localhost"))
        assert not nodeconf.is_self(cluster.node("core").ip)
        assert nodeconf.port_of(cluster.node("core").ip, "sentinel_port") == \
            cluster.node("core").conf["sentinel_port"]
        assert nodeconf.port_of(me, "state_port") == cluster.state_port


def test_ssh_argv(cluster):
    from stackato_sim import remote
    with cluster.node("core").as_current():
        assert remote.ssh_argv(OUTSIDER, "kato version") == [*SSH_PREFIX, "kato version"]
        assert remote.shell_words(["a b", "c"]) == "'a b' c"


def test_kato_and_sentinel_use_the_one_builder(cluster, monkeypatch):
    from stackato_sim import kato, sentinel
    seen = []

    def fake_run(cmd, **kwargs):   # pylint: disable=unused-argument
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)
    monkeypatch.setattr(kato.subprocess, "run", fake_run)
    with cluster.node("core").as_current():
        assert kato.run_on_node(OUTSIDER, ["process", "list"]) == 0
        argv, dummy_env, cwd = sentinel.node_command(OUTSIDER, ["status", "--json"])
    assert seen == [[*SSH_PREFIX, "/home/stackato/bin/kato process list"]]
    assert argv[:-1] == SSH_PREFIX and cwd is None
    assert argv[-1] == "cd /s/code/sentinel/cli && bin/sentinel status --json"
