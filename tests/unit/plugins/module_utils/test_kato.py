# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import sys
import time

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.stackato.cluster.plugins.module_utils import _kato
from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KatoClient,
    KatoError,
    StackatoVersion,
    compare_versions,
    find_node,
    parse_json_output,
    parse_node_list,
    parse_version_output,
)


@pytest.mark.parametrize("text, value", [
    ('{"127.42.0.11": {"roles": ["base"]}}', {"127.42.0.11": {"roles": ["base"]}}),
    ("false\n", False),
    ('  "text"  \n', "text"),
    ("WARNING: Assumed type bool\ntrue\n", True),
    ("WARNING: a\nWARNING: b\n{\n  \"a\": 1\n}\n\n", {"a": 1}),
    ('{"a": 1}\nWARNING: trailing chatter\nDone.\n', {"a": 1}),
    ("Connecting to 127.42.0.11...\n[1, 2]\n", [1, 2]),
    ("WARNING: x\n42   \n", 42),
])
def test_parse_json_output(text, value):
    assert parse_json_output(text) == value


@pytest.mark.parametrize("text", ["", "WARNING: only a warning\n", "127.42.0.11 base router\n", "{broken\n"])
def test_parse_json_output_rejects(text):
    with pytest.raises(ValueError):
        parse_json_output(text)


@pytest.mark.parametrize("text, version", [
    ("3.4.2\n", "3.4.2"),
    ("3.6.2   \n", "3.6.2"),
    ("WARNING: kato update available\n3.6.0\n", "3.6.0"),
    ("Helion Stackato 3.6.2 (build 1234)\n", "3.6.2"),
    ("3.4.2\nsome extra line\n", "3.4.2"),
])
def test_parse_version_output(text, version):
    assert parse_version_output(text) == version


@pytest.mark.parametrize("text", ["", "unknown\n", "WARNING: 3.4.2\n"])
def test_parse_version_output_rejects(text):
    with pytest.raises(ValueError):
        parse_version_output(text)


@pytest.mark.parametrize("older, newer", [
    ("3.4.2", "3.6.0"), ("3.6.0", "3.6.2"), ("3.4.2", "3.6.2"), ("3.0.1", "3.2.1"), ("3.6.2", "3.10.0"),
    ("3.6", "3.6.1"),
])
def test_version_order(older, newer):
    assert StackatoVersion(older) < StackatoVersion(newer)
    assert StackatoVersion(newer) > older
    assert compare_versions(older, newer) == -1
    assert compare_versions(newer, older) == 1
    assert sorted([newer, older], key=StackatoVersion) == [older, newer]


def test_version_equality():
    assert StackatoVersion("3.6.0") == "3.6"
    assert compare_versions(" 3.6.2 ", "3.6.2") == 0
    assert str(StackatoVersion("3.6.2")) == "3.6.2"


@pytest.mark.parametrize("garbage", ["", "latest", "3", "3.x.2", "v3.6.2", "3.6.2-rc1", None, 3.6])
def test_version_garbage_raises(garbage):
    with pytest.raises(ValueError):
        StackatoVersion(garbage)


def test_kato_error_result():
    error = KatoError("it broke; do this", cmd="kato x", rc=3, stdout="o", stderr="e", attempts=2)
    assert error.to_result() == {"msg": "it broke; do this", "cmd": "kato x", "rc": 3, "stdout": "o", "stderr": "e",
                                 "attempts": 2}


def make_module(kato_path):
    with patch_module_args({"kato_path": kato_path}):
        return basic.AnsibleModule(argument_spec=dict(_kato.KATO_COMMON_ARGS))


def test_client_requires_kato(tmp_path):
    module = make_module(str(tmp_path / "kato"))
    with pytest.raises(KatoError) as exc_info:
        KatoClient(module)
    assert str(tmp_path / "kato") in exc_info.value.msg
    assert not KatoClient(module, require=False).exists()


def test_default_kato_path():
    with patch_module_args({}):
        module = basic.AnsibleModule(argument_spec=dict(_kato.KATO_COMMON_ARGS))
    assert KatoClient(module, require=False).kato_path == "/home/stackato/bin/kato"


def test_client_runs_real_commands_with_c_locale(tmp_path):
    """Through the real run_command: argv list, C locale, rc and output handed back."""
    script = tmp_path / "kato"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                      "print('WARNING: noise')\n"
                      "print(json.dumps({'argv': sys.argv[1:], 'lc_all': os.environ.get('LC_ALL'),"
                      " 'language': os.environ.get('LANGUAGE')}))\n"
                      "sys.exit(int(os.environ.get('RC', '0')))\n")
    script.chmod(0o755)
    client = KatoClient(make_module(str(script)))
    data = client.run_json("config", "get", "x", "$HOME", "--json")
    assert data == {"argv": ["config", "get", "x", "$HOME", "--json"], "lc_all": "C", "language": "C"}


def test_client_failure_and_timeout(tmp_path):
    script = tmp_path / "kato"
    script.write_text("#!/bin/sh\necho 'step 1'\necho 'ERROR: it failed' >&2\n[ \"$1\" = sleep ] && sleep 30\nexit 4\n")
    script.chmod(0o755)
    client = KatoClient(make_module(str(script)))
    with pytest.raises(KatoError) as exc_info:
        client.run("node", "upgrade")
    error = exc_info.value
    assert error.rc == 4 and error.stdout == "step 1\n" and error.stderr == "ERROR: it failed\n"
    assert error.msg.endswith("failed (rc=4): ERROR: it failed")
    assert error.cmd == f"{script} node upgrade"
    assert client.run("x", check_rc=False)[0] == 4

    started = time.monotonic()
    with pytest.raises(KatoError) as exc_info:
        client.run("sleep", timeout=0.5)
    assert time.monotonic() - started < 10
    assert exc_info.value.extra["timed_out"] is True
    assert "did not finish within 0.5 seconds" in exc_info.value.msg


@pytest.mark.parametrize("data, ip, expected", [
    ({"127.42.0.11": {"a": 1}}, None, ("127.42.0.11", {"a": 1})),
    ({"127.42.0.11": {"a": 1}, "127.42.0.12": {"b": 2}}, "127.42.0.12", ("127.42.0.12", {"b": 2})),
    ({"127.0.0.1": {"a": 1}}, "127.42.0.11", ("127.0.0.1", {"a": 1})),
])
def test_single_node_entry(data, ip, expected):
    assert _kato.single_node_entry(data, "kato x -j", ip) == expected


@pytest.mark.parametrize("data", [{}, [], None, "x"])
def test_single_node_entry_rejects(data):
    with pytest.raises(KatoError):
        _kato.single_node_entry(data, "kato x -j")


# kato node list, the documented text: the IP first, the roles after it on the same line.
@pytest.mark.parametrize("text, nodes", [
    ("127.42.0.21 base controller primary router\n127.42.0.22 base dea\n",
     {"127.42.0.21": ["base", "controller", "primary", "router"], "127.42.0.22": ["base", "dea"]}),
    # roles comma separated, unsorted, trailing whitespace, tabs
    ("127.42.0.11 router,primary, base ,controller   \n127.42.0.12\tdea\tbase\t\n",
     {"127.42.0.11": ["base", "controller", "primary", "router"], "127.42.0.12": ["base", "dea"]}),
    # warnings, a header, blank lines and chatter around the node lines
    ("WARNING: ssh agent not running\nIP              ROLES\n\n127.42.0.11 base primary\nDone.\n",
     {"127.42.0.11": ["base", "primary"]}),
    # an IP with a colon after it, roles in brackets, a node without roles, IPv6
    ("127.42.0.11: [base, dea]\n127.42.0.12\n::1 base\n",
     {"127.42.0.11": ["base", "dea"], "127.42.0.12": [], "::1": ["base"]}),
    # a host name and a remark are not roles
    ("127.42.0.11 core.example.com (this node) base primary\n", {"127.42.0.11": ["base", "primary"]}),
    # a node listed twice gets the roles of both lines
    ("127.42.0.11 base\n127.42.0.11 dea base\n", {"127.42.0.11": ["base", "dea"]}),
    # lines whose first token is not an IP do not count, even when they name one later
    ("node 127.42.0.11 base\n127.42.0 base\nbase 127.42.0.12\n", {}),
    ("", {}),
    (None, {}),
])
def test_parse_node_list(text, nodes):
    assert parse_node_list(text) == nodes


@pytest.mark.parametrize("node, expected", [
    ("127.42.0.12", ("127.42.0.12", ["base", "dea"])),
    (" 127.42.0.12 ", ("127.42.0.12", ["base", "dea"])),
    ("0:0:0:0:0:0:0:1", ("::1", ["base"])),
])
def test_find_node(node, expected):
    assert find_node({"127.42.0.12": ["base", "dea"], "::1": ["base"]}, node) == expected


def test_find_node_names_the_option_and_the_nodes():
    with pytest.raises(KatoError) as exc_info:
        find_node({"127.42.0.12": ["base"]}, "core.example.com", option="node")
    assert "does not list core.example.com (it lists 127.42.0.12); set node" in exc_info.value.msg


def test_client_reads_node_list_text(tmp_path):
    script = tmp_path / "kato"
    script.write_text("#!/bin/sh\necho 'WARNING: x'\necho '127.42.0.11 base primary  '\n")
    script.chmod(0o755)
    assert KatoClient(make_module(str(script))).node_list() == {"127.42.0.11": ["base", "primary"]}


def test_client_node_list_without_nodes_fails(tmp_path):
    script = tmp_path / "kato"
    script.write_text("#!/bin/sh\necho 'ERROR: cannot reach the primary'\n")
    script.chmod(0o755)
    with pytest.raises(KatoError) as exc_info:
        KatoClient(make_module(str(script))).node_list()
    assert "no line starts with a node's IP address" in exc_info.value.msg
    assert exc_info.value.stdout == "ERROR: cannot reach the primary\n"


@pytest.mark.parametrize("require", [True, False])
def test_client_refuses_root_before_running_anything(tmp_path, euid, require):
    """Contract section 1: kato runs as stackato, never as root; checked before kato is even looked for."""
    marker = tmp_path / "ran"
    script = tmp_path / "kato"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    euid.set(0)
    for path in (str(script), str(tmp_path / "missing" / "kato")):
        with pytest.raises(KatoError) as exc_info:
            KatoClient(make_module(path), require=require)
        msg = exc_info.value.msg
        assert "kato runs as the stackato user, never as root" in msg
        assert "ansible_user=stackato" in msg and "become" in msg
    assert not marker.exists()


def test_client_runs_as_another_user(tmp_path, euid):
    script = tmp_path / "kato"
    script.write_text("#!/bin/sh\necho 3.4.2\n")
    script.chmod(0o755)
    euid.set(1001)
    assert KatoClient(make_module(str(script))).version() == "3.4.2"


def test_running_as_root_reads_the_effective_uid(euid):
    euid.set(0)
    assert _kato.running_as_root()
    euid.set(1000)
    assert not _kato.running_as_root()
