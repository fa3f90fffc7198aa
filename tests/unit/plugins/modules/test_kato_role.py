# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.stackato.cluster.plugins.modules import kato_role

LIST = ["process", "list", "-j"]
READY = ["process", "ready", "--block", "600", "all"]


def procs(**states):
    return json.dumps({"10.0.0.13": states}) + "\n"


CASES = [
    {
        "id": "started_no_op_when_all_running",
        "args": {"state": "started"},
        "calls": [{"argv": LIST, "out": procs(dea_ng="RUNNING", apptail="RUNNING")}],
        "result": {"changed": False, "before": {"dea_ng": "RUNNING", "apptail": "RUNNING"}},
    },
    {
        "id": "started_starts_and_waits",
        "args": {"state": "started", "roles": ["dea"]},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="STOPPED", apptail="RUNNING")},
            {"argv": ["start", "dea"]},
            {"argv": READY, "out": "READY\n"},
            {"argv": LIST, "out": procs(dea_ng="RUNNING", apptail="RUNNING")},
        ],
        "result": {"changed": True, "after": {"dea_ng": "RUNNING", "apptail": "RUNNING"}},
    },
    {
        "id": "started_check_mode",
        "args": {"state": "started"},
        "flags": {"check": True, "diff": True},
        "calls": [{"argv": LIST, "out": procs(dea_ng="FATAL")}],
        "result": {"changed": True, "after": {"dea_ng": "RUNNING"},
                   "diff": {"before": {"dea_ng": "FATAL"}, "after": {"dea_ng": "RUNNING"}}},
    },
    {
        "id": "stopped_on_remote_node",
        "args": {"state": "stopped", "roles": ["dea", "router"], "node": "10.0.0.13"},
        "calls": [
            {"argv": ["process", "list", "-n", "10.0.0.13", "-j"], "out": procs(dea_ng="RUNNING")},
            {"argv": ["stop", "-n", "10.0.0.13", "dea", "router"]},
            {"argv": ["process", "list", "-n", "10.0.0.13", "-j"], "out": procs(dea_ng="STOPPED")},
        ],
        "result": {"changed": True, "before": {"dea_ng": "RUNNING"}, "after": {"dea_ng": "STOPPED"}},
    },
    {
        "id": "stopped_no_op",
        "args": {"state": "stopped"},
        "calls": [{"argv": LIST, "out": procs(dea_ng="STOPPED")}],
        "result": {"changed": False},
    },
    {
        "id": "restarted_always_changes",
        "args": {"state": "restarted", "wait_timeout": 30},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="RUNNING")},
            {"argv": ["restart"]},
            {"argv": ["process", "ready", "--block", "30", "all"], "out": "READY\n"},
            {"argv": LIST, "out": procs(dea_ng="RUNNING")},
        ],
        "result": {"changed": True},
    },
    {
        "id": "restarted_check_mode",
        "args": {"state": "restarted"},
        "flags": {"check": True},
        "calls": [{"argv": LIST, "out": procs(dea_ng="RUNNING")}],
        "result": {"changed": True},
    },
    {
        "id": "restarted_without_wait",
        "args": {"state": "restarted", "wait": False},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="RUNNING")},
            {"argv": ["restart"]},
            {"argv": LIST, "out": procs(dea_ng="STARTING")},
        ],
        "result": {"changed": True, "after": {"dea_ng": "STARTING"}},
    },
    {
        "id": "wait_timeout_fails_listing_processes",
        "args": {"state": "started"},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="STOPPED")},
            {"argv": ["start"]},
            {"argv": READY, "rc": 1, "out": "dea_ng STARTING\n"},
        ],
        "failed": True,
        "msg_contains": ["not ready within wait_timeout=600", "dea_ng STARTING", "raise wait_timeout"],
        "result": {"rc": 1},
    },
    {
        "id": "start_failure",
        "args": {"state": "started"},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="STOPPED")},
            {"argv": ["start"], "rc": 1, "err": "ERROR: sudo: a password is required\n"},
        ],
        "failed": True,
        "msg_contains": ["a password is required"],
    },
]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_kato_role(case, run_module, kato):
    calls = [dict(call, argv=[kato] + call["argv"]) for call in case["calls"]]
    result, failed, dummy = run_module(kato_role, dict(case["args"], kato_path=kato), calls, **case.get("flags", {}))
    assert failed == case.get("failed", False), result
    for key, value in case.get("result", {}).items():
        assert result[key] == value, key
    for text in case.get("msg_contains", []):
        assert text in result["msg"]


def test_no_wait_on_remote_node(run_module, kato):
    calls = [
        {"argv": [kato, "process", "list", "-n", "10.0.0.13", "-j"], "out": procs(dea_ng="STOPPED")},
        {"argv": [kato, "start", "-n", "10.0.0.13"]},
        {"argv": [kato, "process", "list", "-n", "10.0.0.13", "-j"], "out": procs(dea_ng="RUNNING")},
    ]
    result, failed, warnings = run_module(kato_role, {"node": "10.0.0.13", "kato_path": kato}, calls)
    assert not failed and result["changed"]
    assert any("not waiting for 10.0.0.13" in warning for warning in warnings)
