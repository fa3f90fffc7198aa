# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kato_nodes inventory plugin: ssh argv, groups by roles, host vars and the cache.

The plugin runs through ``ansible-inventory`` as AWX's inventory sync does, with a fake ``ssh``
(``ssh_executable``) that records its argv and prints a given ``kato node list`` output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.stackato.cluster.plugins.inventory import kato_nodes

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")

FAKE_SSH = """#!{python}
import json, os, sys
with open(os.environ["FAKE_SSH_ARGV"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
sys.stdout.write(open(os.environ["FAKE_SSH_OUTPUT"]).read())
sys.exit(int(os.environ.get("FAKE_SSH_RC", "0")))
"""

# The simulator's documented profile: a header line, comma-separated roles, trailing blanks.
DOCUMENTED = textwrap.dedent("""\
    Node IP          Assigned roles
    127.42.9.11      base, primary, controller, router   \n\
    127.42.9.12      base, controller   \n\
    127.42.9.13      base, router   \n\
    127.42.9.21      base, dea   \n\
    127.42.9.22      base, dea   \n\
    127.42.9.31      base, filesystem, mysql, postgresql   \n\

    """)

CASES = [
    pytest.param(
        DOCUMENTED,
        {"core": ["127.42.9.11"], "controller": ["127.42.9.12"], "router": ["127.42.9.13"],
         "dea": ["127.42.9.21", "127.42.9.22"], "data_services": ["127.42.9.31"]},
        {"127.42.9.11": ["base", "controller", "primary", "router"],
         "127.42.9.31": ["base", "filesystem", "mysql", "postgresql"]},
        id="documented-header-commas"),
    pytest.param(
        "WARNING: kato is talking to an old Sentinel\n127.42.9.11 base controller primary router dea mysql redis\n",
        {"core": ["127.42.9.11"], "controller": [], "router": [], "dea": [], "data_services": []},
        {"127.42.9.11": ["base", "controller", "dea", "mysql", "primary", "redis", "router"]},
        id="micro-one-node-warning-line"),
    pytest.param(
        "127.42.9.11 base primary\n127.42.9.14 base router dea\n127.42.9.32,base,harbor\n"
        "127.42.9.33: base rabbit3 memcached\n127.42.9.34 base mongodb\n127.42.9.35 base controller dea\n",
        {"core": ["127.42.9.11"], "controller": ["127.42.9.35"], "router": ["127.42.9.14"], "dea": [],
         "data_services": ["127.42.9.32", "127.42.9.33", "127.42.9.34"]},
        {"127.42.9.32": ["base", "harbor"], "127.42.9.33": ["base", "memcached", "rabbit3"]},
        id="first-group-wins-and-data-services"),
]


@pytest.fixture
def fake(tmp_path):
    ssh = tmp_path / "ssh"
    ssh.write_text(FAKE_SSH.format(python=sys.executable))
    ssh.chmod(0o755)
    collection_root = kato_nodes.__file__.rsplit(os.sep + "plugins" + os.sep, 1)[0]
    fake_env = dict(os.environ, FAKE_SSH_ARGV=str(tmp_path / "argv.jsonl"), FAKE_SSH_OUTPUT=str(tmp_path / "out.txt"),
                    ANSIBLE_COLLECTIONS_PATH=os.path.dirname(os.path.dirname(os.path.dirname(collection_root))))
    fake_env.pop("ANSIBLE_INVENTORY_CACHE", None)
    fake_env.pop("STACKATO_KATO_NODES_SSH_KEY_FILE", None)
    fake_env["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true"  # a source that fails fails the sync, as in AWX

    class Fake:
        path = tmp_path

        def run(self, output, rc=0, extra="", flush=False, env=None, no_core_host=False):
            (tmp_path / "out.txt").write_text(output)
            run_env = dict(fake_env, FAKE_SSH_RC=str(rc), **(env or {}))
            source = tmp_path / "stackato.kato_nodes.yml"
            core = "" if no_core_host else "core_host: core.example.test\n"
            source.write_text(f"plugin: stackato.cluster.kato_nodes\n{core}ssh_executable: {ssh}\n{extra}")
            argv = [ANSIBLE_INVENTORY, "-i", str(source), "--list"] + (["--flush-cache"] if flush else [])
            return subprocess.run(argv, env=run_env, capture_output=True, text=True, check=False, timeout=120)

        def calls(self):
            log = tmp_path / "argv.jsonl"
            return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return Fake()


def group_hosts(listing, group):
    return listing.get(group, {}).get("hosts", [])


@pytest.mark.parametrize("output, groups, roles", CASES)
def test_groups_and_host_vars(fake, output, groups, roles):
    done = fake.run(output)
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert sorted(listing["stackato"]["children"]) == sorted(["core", "controller", "router", "dea", "data_services"])
    for group, hosts in groups.items():
        assert group_hosts(listing, group) == hosts, group
    hostvars = listing["_meta"]["hostvars"]
    every = [ip for hosts in groups.values() for ip in hosts]
    assert sorted(hostvars) == sorted(every)
    for ip in every:
        assert hostvars[ip]["ansible_host"] == ip
        assert hostvars[ip]["stackato_node_ip"] == ip
    for ip, wanted in roles.items():
        assert hostvars[ip]["stackato_roles"] == wanted


def test_ssh_argv_batch_mode_user_port_key_and_kato(fake):
    done = fake.run("127.42.9.11 base primary\n", extra=textwrap.dedent("""\
        ssh_user: stackato
        ssh_port: 2222
        ssh_private_key_file: /keys/id_ed25519
        ssh_common_args: ['-o', 'StrictHostKeyChecking=no']
        """))
    assert done.returncode == 0, done.stderr
    assert fake.calls() == [[
        "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", "2222", "-l", "stackato",
        "-i", "/keys/id_ed25519", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
        "core.example.test", "env LANGUAGE=C LC_ALL=C /home/stackato/bin/kato node list"]]


def test_connection_vars_host_names_and_compose(fake):
    done = fake.run(DOCUMENTED, extra=textwrap.dedent("""\
        ssh_port: 2222
        ssh_private_key_file: /keys/id_ed25519
        connection_vars: true
        host_names: {127.42.9.11: core, 127.42.9.21: dea1}
        compose:
          stackato_is_dea: "'dea' in stackato_roles"
        """))
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert group_hosts(listing, "core") == ["core"]
    assert group_hosts(listing, "dea") == ["dea1", "127.42.9.22"]
    core = listing["_meta"]["hostvars"]["core"]
    assert (core["ansible_host"], core["ansible_user"], core["ansible_port"]) == ("127.42.9.11", "stackato", 2222)
    assert "ansible_ssh_private_key_file" not in core  # a path valid while the inventory is built, maybe not later
    assert listing["_meta"]["hostvars"]["dea1"]["stackato_is_dea"] is True
    assert core["stackato_is_dea"] is False


def test_a_node_with_only_base_is_in_stackato_only(fake):
    done = fake.run("127.42.9.11 base primary\n127.42.9.40 base\n")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert "127.42.9.40" in listing["stackato"]["hosts"]
    assert all("127.42.9.40" not in group_hosts(listing, g) for g in ("core", "controller", "router", "dea", "data_services"))
    assert "has no role of an upgrade group" in done.stderr


@pytest.mark.parametrize("output, rc, message", [
    ("", 255, "failed (rc=255)"),
    ("Node IP   Assigned roles\n\n", 0, "listed no node"),
], ids=["ssh-fails", "no-node-line"])
def test_failures_name_the_cause(fake, output, rc, message):
    done = fake.run(output, rc=rc)
    assert done.returncode != 0
    assert message in done.stderr


def test_cache_is_read_until_flushed(fake):
    extra = (f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {fake.path / 'cache'}\n"
             "cache_timeout: 3600\n")
    first = fake.run("127.42.9.11 base primary\n", extra=extra)
    assert first.returncode == 0, first.stderr
    again = fake.run("127.42.9.11 base primary\n127.42.9.21 base dea\n", extra=extra)
    assert group_hosts(json.loads(again.stdout), "dea") == []
    assert len(fake.calls()) == 1
    flushed = fake.run("127.42.9.11 base primary\n127.42.9.21 base dea\n", extra=extra, flush=True)
    assert group_hosts(json.loads(flushed.stdout), "dea") == ["127.42.9.21"]
    assert len(fake.calls()) == 2


@pytest.mark.parametrize("roles, group", [
    (["base", "primary", "controller", "router", "dea"], "core"),
    (["base", "controller", "router"], "controller"),
    (["base", "router", "dea"], "router"),
    (["base", "dea", "mysql"], "dea"),
    (["base", "filesystem"], "data_services"),
    (["base", "harbor"], "data_services"),
    (["base"], None),
    (["base", "mdns"], None),
])
def test_cluster_groups_follow_the_one_rule(roles, group):
    groups = kato_nodes.cluster_groups({"127.0.0.9": roles})
    assert [g for g, members in groups.items() if members] == ([group] if group else [])


def test_core_port_user_and_key_from_the_environment_as_awx_gives_them(fake):
    (fake.path / "stackato.kato_nodes.yml").unlink(missing_ok=True)
    done = fake.run("127.42.9.11 base primary\n", no_core_host=True, env={
        "STACKATO_KATO_NODES_SSH_KEY_FILE": "/runner/env/key", "STACKATO_KATO_NODES_CORE_HOST": "127.42.9.11",
        "STACKATO_KATO_NODES_SSH_PORT": "2222", "STACKATO_KATO_NODES_SSH_USER": "stk"})
    assert done.returncode == 0, done.stderr
    argv = fake.calls()[0]
    assert argv[argv.index("-i") + 1] == "/runner/env/key"
    assert argv[argv.index("-p") + 1] == "2222" and argv[argv.index("-l") + 1] == "stk"
    assert "127.42.9.11" in argv
