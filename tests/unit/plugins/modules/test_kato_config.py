# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.stackato.cluster.plugins.modules import kato_config

MM = ["config", "get", "cloud_controller_ng", "maintenance_mode", "--json"]
CC = ["config", "get", "cloud_controller_ng", "--json"]
NOT_FOUND = "Error: key maintenance_mode not found in cloud_controller_ng\n"
# The whole component, as documented kato config get <component> --json prints it.
CC_WITHOUT_MM = '{\n  "external_port": 9022,\n  "quota_definitions": {"default": {"memory_limit": 2048}}\n}\n'
CC_WITH_MM = '{"external_port": 9022, "maintenance_mode": true}\n'

# Each case: module args, the kato commands expected (argv after the kato path) with their output,
# flags, and the expected result. "K" in argv stands for the kato path.
CASES = [
    {
        "id": "set_changed",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": True},
        "calls": [
            {"argv": MM, "out": "false\n"},
            {"argv": ["config", "set", "cloud_controller_ng", "maintenance_mode", "true", "--json"], "out": "true\n"},
            {"argv": MM, "out": "true\n"},
        ],
        "result": {"changed": True, "before": False, "after": True},
    },
    {
        "id": "set_idempotent",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": True},
        "calls": [{"argv": MM, "out": "true  \n"}],
        "result": {"changed": False, "before": True, "after": True},
    },
    {
        "id": "set_check_mode_predicts_without_setting",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": True},
        "flags": {"check": True, "diff": True},
        "calls": [{"argv": MM, "out": "false\n"}],
        "result": {"changed": True, "before": False, "after": True,
                   "diff": {"before": "false\n", "after": "true\n",
                            "before_header": "cloud_controller_ng/maintenance_mode (before)",
                            "after_header": "cloud_controller_ng/maintenance_mode (after)"}},
    },
    {
        "id": "set_missing_key_creates_it",
        "args": {"component": "cluster", "key": "endpoint/proxy", "value": "http://proxy:3128"},
        "calls": [
            {"argv": ["config", "get", "cluster", "endpoint/proxy", "--json"], "rc": 1,
             "err": "Error: key endpoint/proxy not found in cluster\n"},
            {"argv": ["config", "get", "cluster", "--json"], "out": '{"endpoint": {"host": "api.example.com"}}\n'},
            {"argv": ["config", "set", "cluster", "endpoint/proxy", '"http://proxy:3128"', "--json"],
             "out": "http://proxy:3128\n"},
            {"argv": ["config", "get", "cluster", "endpoint/proxy", "--json"], "out": '"http://proxy:3128"\n'},
        ],
        "result": {"changed": True, "before": None, "after": "http://proxy:3128"},
    },
    {
        "id": "set_list_compact_json_and_warning_lines",
        "args": {"component": "dea_ng", "key": "tags", "value": ["a", "b"]},
        "calls": [
            {"argv": ["config", "get", "dea_ng", "tags", "--json"], "out": "WARNING: something odd\n[\"a\"]\n"},
            {"argv": ["config", "set", "dea_ng", "tags", '["a","b"]', "--json"], "out": "- a\n- b\n"},
            {"argv": ["config", "get", "dea_ng", "tags", "--json"], "out": '[\n  "a",\n  "b"\n]\n'},
        ],
        "result": {"changed": True, "before": ["a"], "after": ["a", "b"]},
    },
    {
        "id": "value_dollar_is_not_expanded",
        "args": {"component": "cluster", "key": "motd", "value": "$HOME ~"},
        "calls": [
            {"argv": ["config", "get", "cluster", "motd", "--json"], "out": '"$HOME ~"\n'},
        ],
        "result": {"changed": False, "before": "$HOME ~", "after": "$HOME ~"},
    },
    {
        "id": "type_change_refused_without_force",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": "true"},
        "calls": [{"argv": MM, "out": "false\n"}],
        "failed": True,
        "msg_contains": ["holds a bool (false) and value is a str (\"true\")", "force: true", "unquoted true/false"],
    },
    {
        "id": "type_change_with_force",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": "yes", "force": True},
        "calls": [
            {"argv": MM, "out": "false\n"},
            {"argv": ["config", "set", "cloud_controller_ng", "maintenance_mode", '"yes"', "--json", "--force"]},
            {"argv": MM, "out": '"yes"\n'},
        ],
        "result": {"changed": True, "before": False, "after": "yes"},
    },
    {
        "id": "int_one_is_not_true",
        "args": {"component": "cluster", "key": "n", "value": True, "force": True},
        "calls": [
            {"argv": ["config", "get", "cluster", "n", "--json"], "out": "1\n"},
            {"argv": ["config", "set", "cluster", "n", "true", "--json", "--force"]},
            {"argv": ["config", "get", "cluster", "n", "--json"], "out": "true\n"},
        ],
        "result": {"changed": True, "before": 1, "after": True},
    },
    {
        "id": "absent_deletes",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "state": "absent"},
        "calls": [
            {"argv": MM, "out": "true\n"},
            {"argv": ["config", "del", "cloud_controller_ng", "maintenance_mode"]},
            {"argv": MM, "rc": 1, "err": NOT_FOUND},
            {"argv": CC, "out": CC_WITHOUT_MM},
        ],
        "result": {"changed": True, "before": True, "after": None},
    },
    {
        "id": "absent_idempotent",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "state": "absent"},
        "calls": [{"argv": MM, "rc": 1, "err": NOT_FOUND}, {"argv": CC, "out": CC_WITHOUT_MM}],
        "result": {"changed": False, "before": None, "after": None},
    },
    {
        "id": "absent_check_mode",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "state": "absent"},
        "flags": {"check": True},
        "calls": [{"argv": MM, "out": "true\n"}],
        "result": {"changed": True, "before": True, "after": None},
    },
    {
        "id": "read_failure_carries_evidence",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": True},
        "calls": [{"argv": MM, "rc": 2, "err": "ERROR: cannot connect to redis://127.42.0.11:7474/0\n"},
                  {"argv": CC, "rc": 2, "err": "ERROR: cannot connect to redis://127.42.0.11:7474/0\n"}],
        "failed": True,
        "msg_contains": ["primary node is up", "cannot connect"],
        "result": {"rc": 2, "stderr": "ERROR: cannot connect to redis://127.42.0.11:7474/0\n", "key_rc": 2},
    },
    {
        "id": "set_failure_carries_evidence",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": True},
        "calls": [
            {"argv": MM, "out": "false\n"},
            {"argv": ["config", "set", "cloud_controller_ng", "maintenance_mode", "true", "--json"],
             "rc": 1, "err": "ERROR: type change needs --force\n"},
        ],
        "failed": True,
        "msg_contains": ["kato config set cloud_controller_ng/maintenance_mode failed (rc=1)", "--force"],
        "result": {"rc": 1},
    },
    {
        "id": "read_back_mismatch_fails",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": True},
        "calls": [
            {"argv": MM, "out": "false\n"},
            {"argv": ["config", "set", "cloud_controller_ng", "maintenance_mode", "true", "--json"]},
            {"argv": MM, "out": "false\n"},
        ],
        "failed": True,
        "msg_contains": ["reading it back gives false"],
    },
    # ---- observation 4: a missing component is an error, never created; no error wording is parsed
    {
        "id": "missing_component_fails_and_is_never_created",
        "args": {"component": "nosuchcomp", "key": "maintenance_mode", "value": True},
        "calls": [
            {"argv": ["config", "get", "nosuchcomp", "maintenance_mode", "--json"], "rc": 1,
             "err": "Error: component nosuchcomp not found\n"},
            {"argv": ["config", "get", "nosuchcomp", "--json"], "rc": 1, "err": "Error: component nosuchcomp not found\n"},
        ],
        "failed": True,
        "msg_contains": ["component nosuchcomp not found; check the name with kato config get"],
        "result": {"rc": 1, "key_rc": 1},
    },
    {
        "id": "missing_component_fails_in_check_mode_too",
        "args": {"component": "nosuchcomp", "key": "k", "state": "absent"},
        "flags": {"check": True},
        "calls": [
            {"argv": ["config", "get", "nosuchcomp", "k", "--json"], "rc": 1, "err": "Error: something\n"},
            {"argv": ["config", "get", "nosuchcomp", "--json"], "rc": 1, "err": "Error: something else\n"},
        ],
        "failed": True,
        "msg_contains": ["component nosuchcomp not found"],
    },
    {
        # kato before 3.4.1 exits 0 on failure: no value from either read means no component.
        "id": "missing_component_of_a_kato_that_exits_0",
        "args": {"component": "nosuchcomp", "key": "k", "value": 1},
        "calls": [
            {"argv": ["config", "get", "nosuchcomp", "k", "--json"], "err": "Error: component nosuchcomp not found\n"},
            {"argv": ["config", "get", "nosuchcomp", "--json"], "out": "null\n"},
        ],
        "failed": True,
        "msg_contains": ["component nosuchcomp not found", "it printed 'null'"],
    },
    {
        "id": "missing_key_whatever_the_error_says",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": False},
        "calls": [
            {"argv": MM, "rc": 1, "err": "ERROR: no such thing\n"},
            {"argv": CC, "out": "WARNING: x\n" + CC_WITHOUT_MM},
            {"argv": ["config", "set", "cloud_controller_ng", "maintenance_mode", "false", "--json"]},
            {"argv": MM, "out": "false\n"},
        ],
        "result": {"changed": True, "before": None, "after": False},
    },
    {
        "id": "key_present_in_the_component_is_not_missing",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": True},
        "calls": [{"argv": MM, "rc": 1, "err": "ERROR: timeout\n"}, {"argv": CC, "out": CC_WITH_MM}],
        "result": {"changed": False, "before": True},
    },
    {
        "id": "nested_key_missing_in_the_component",
        "args": {"component": "cloud_controller_ng", "key": "quota_definitions/default/memory_limit",
                 "state": "absent"},
        "calls": [{"argv": ["config", "get", "cloud_controller_ng", "quota_definitions/default/memory_limit", "--json"],
                   "rc": 1}, {"argv": CC, "out": CC_WITH_MM}],
        "result": {"changed": False, "before": None},
    },
    # ---- observation 5: bool, int, float, str, list and dict are distinct types
    {
        "id": "int_to_float_refused_without_force",
        "args": {"component": "dea_ng", "key": "resources/memory_mb", "value": 4096.5},
        "calls": [{"argv": ["config", "get", "dea_ng", "resources/memory_mb", "--json"], "out": "4096\n"}],
        "failed": True,
        "msg_contains": ["holds a int (4096) and value is a float (4096.5)", "force: true"],
        "result": {"before": 4096, "after": 4096},
    },
    {
        "id": "int_to_float_refused_in_check_mode_too",
        "args": {"component": "dea_ng", "key": "resources/memory_mb", "value": 4096.5},
        "flags": {"check": True},
        "calls": [{"argv": ["config", "get", "dea_ng", "resources/memory_mb", "--json"], "out": "4096\n"}],
        "failed": True,
        "msg_contains": ["a int (4096) and value is a float (4096.5)"],
    },
    {
        "id": "int_to_float_with_force",
        "args": {"component": "dea_ng", "key": "resources/memory_mb", "value": 4096.5, "force": True},
        "calls": [
            {"argv": ["config", "get", "dea_ng", "resources/memory_mb", "--json"], "out": "4096\n"},
            {"argv": ["config", "set", "dea_ng", "resources/memory_mb", "4096.5", "--json", "--force"]},
            {"argv": ["config", "get", "dea_ng", "resources/memory_mb", "--json"], "out": "4096.5\n"},
        ],
        "result": {"changed": True, "before": 4096, "after": 4096.5},
    },
    {
        "id": "bool_to_int_refused_without_force",
        "args": {"component": "cluster", "key": "n", "value": 1},
        "calls": [{"argv": ["config", "get", "cluster", "n", "--json"], "out": "true\n"}],
        "failed": True,
        "msg_contains": ["holds a bool (true) and value is a int (1)"],
    },
    {
        "id": "list_to_dict_refused_without_force",
        "args": {"component": "dea_ng", "key": "tags", "value": {"a": 1}},
        "calls": [{"argv": ["config", "get", "dea_ng", "tags", "--json"], "out": '["a"]\n'}],
        "failed": True,
        "msg_contains": ["holds a list", "value is a dict"],
    },
    {
        "id": "same_type_int_change",
        "args": {"component": "dea_ng", "key": "resources/memory_mb", "value": 8192},
        "calls": [
            {"argv": ["config", "get", "dea_ng", "resources/memory_mb", "--json"], "out": "4096\n"},
            {"argv": ["config", "set", "dea_ng", "resources/memory_mb", "8192", "--json"]},
            {"argv": ["config", "get", "dea_ng", "resources/memory_mb", "--json"], "out": "8192\n"},
        ],
        "result": {"changed": True, "before": 4096, "after": 8192},
    },
    {
        "id": "value_required_when_present",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode"},
        "calls": [],
        "failed": True,
        "msg_contains": ["value"],
    },
]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_kato_config(case, check_case, run_module, kato):
    calls = [dict(call, argv=[kato] + call["argv"]) for call in case["calls"]]
    result, failed, dummy = run_module(kato_config, dict(case["args"], kato_path=kato), calls, **case.get("flags", {}))
    check_case(case, result, failed)
    if "rc" in case.get("result", {}):
        assert result["cmd"].startswith(kato)
        assert "stdout" in result and "stderr" in result


def test_missing_kato_names_the_path(run_module, tmp_path):
    missing = str(tmp_path / "nowhere" / "kato")
    result, failed, dummy = run_module(kato_config, {"component": "c", "key": "k", "value": 1, "kato_path": missing})
    assert failed
    assert missing in result["msg"]
    assert "kato_path" in result["msg"]


def test_kato_config_refuses_root(run_module, kato, euid):
    euid.set(0)
    result, failed, dummy = run_module(kato_config, {"component": "c", "key": "k", "value": 1, "kato_path": kato}, [])
    assert failed
    assert "never as root" in result["msg"]
    assert "ansible_user=stackato" in result["msg"] and "become" in result["msg"]


@pytest.mark.parametrize("before, flags, changed", [("false\n", {}, True), ("true\n", {}, False),
                                                    ("false\n", {"check": True}, False)])
def test_changed_at_is_when_kato_made_the_change(run_module, kato, before, flags, changed):
    calls = [{"argv": [kato, "config", "get", "cloud_controller_ng", "maintenance_mode", "--json"], "out": before}]
    if changed:
        calls += [{"argv": [kato, "config", "set", "cloud_controller_ng", "maintenance_mode", "true", "--json"]},
                  {"argv": [kato, "config", "get", "cloud_controller_ng", "maintenance_mode", "--json"], "out": "true\n"}]
    start = time.time()
    result, failed, dummy = run_module(kato_config, {"component": "cloud_controller_ng", "key": "maintenance_mode",
                                                     "value": True, "kato_path": kato}, calls, **flags)
    assert not failed
    if changed:
        # changed_at is rounded to the millisecond: it may lie up to 0.5 ms either side of the true instant
        assert start - 0.001 <= result["changed_at"] <= time.time() + 0.001
    else:
        assert result["changed_at"] is None


@pytest.mark.parametrize("word, before, changed", [("go\n", "true\n", True), ("stop\nthe restart failed\n", "true\n", False),
                                                   (None, "false\n", False)])
def test_the_gate_comes_after_the_read_and_before_the_change(tmp_path, run_module, kato, word, before, changed):
    """order.gate (the action plugin's early start, restart.maintenance_off): the read first, then the word; a key
    already at its value needs no turn (the gate is left unused and removed)."""
    base = tmp_path / "gate" / "k"
    base.parent.mkdir()
    os.mkfifo(f"{base}.fifo")
    if word:
        (tmp_path / "gate" / "k.go").write_text(word)
    calls = [{"argv": [kato] + MM, "out": before}]
    if changed:
        calls += [{"argv": [kato, "config", "set", "cloud_controller_ng", "maintenance_mode", "false", "--json"]},
                  {"argv": [kato] + MM, "out": "false\n"}]
    order = {"dir": "/controller/order", "name": "core:restart:maintenance_off", "gate": {"path": str(base), "timeout": 5}}
    result, failed, dummy = run_module(kato_config, {"component": "cloud_controller_ng", "key": "maintenance_mode",
                                                     "value": False, "kato_path": kato, "order": order}, calls)
    assert not failed and result["changed"] is changed
    if word and not changed:
        assert result["order_gate"] == "stop" and result["msg"] == "not started on the node: the restart failed"
    assert os.listdir(tmp_path / "gate") == []
