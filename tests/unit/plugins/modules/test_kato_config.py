# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.stackato.cluster.plugins.modules import kato_config

MM = ["config", "get", "cloud_controller_ng", "maintenance_mode", "--json"]
NOT_FOUND = "Error: key maintenance_mode not found in cloud_controller_ng\n"

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
        "msg_contains": ["holds a bool", "force=true", "unquoted true/false"],
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
        ],
        "result": {"changed": True, "before": True, "after": None},
    },
    {
        "id": "absent_idempotent",
        "args": {"component": "cloud_controller_ng", "key": "maintenance_mode", "state": "absent"},
        "calls": [{"argv": MM, "rc": 1, "err": NOT_FOUND}],
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
        "calls": [{"argv": MM, "rc": 2, "err": "ERROR: cannot connect to redis://127.42.0.11:7474/0\n"}],
        "failed": True,
        "msg_contains": ["primary node is up", "cannot connect"],
        "result": {"rc": 2, "stderr": "ERROR: cannot connect to redis://127.42.0.11:7474/0\n"},
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
