# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.stackato.cluster.plugins.modules import kato_role

LIST = ["process", "list", "-j"]
STATUS = ["status", "-j"]
READY = ["process", "ready", "--block", "600", "all"]
IP = "127.42.0.13"


def procs(**states):
    return json.dumps({IP: states}) + "\n"


def status(ip=IP, **roles):
    """kato status -j of a two-node cluster: the node asked about and another one."""
    return json.dumps({"127.42.0.11": {"roles": {"base": "RUNNING", "primary": "RUNNING"}, "processes": {}},
                       ip: {"roles": roles, "processes": {}}}) + "\n"


CASES = [
    {
        "id": "started_no_op_when_all_running",
        "args": {"state": "started"},
        "calls": [{"argv": LIST, "out": procs(dea_ng="RUNNING", apptail="RUNNING")},
                  {"argv": STATUS, "out": status(base="RUNNING", dea="RUNNING")}],
        "result": {"changed": False, "before": {"dea_ng": "RUNNING", "apptail": "RUNNING"},
                   "roles_before": {"base": "RUNNING", "dea": "RUNNING"}},
    },
    {
        "id": "started_starts_and_waits",
        "args": {"state": "started", "roles": ["dea"]},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="STOPPED", apptail="RUNNING")},
            {"argv": STATUS, "out": status(base="RUNNING", dea="STOPPED")},
            {"argv": ["start", "dea"]},
            {"argv": READY, "out": "READY\n"},
            {"argv": LIST, "out": procs(dea_ng="RUNNING", apptail="RUNNING")},
            {"argv": STATUS, "out": status(base="RUNNING", dea="RUNNING")},
        ],
        "result": {"changed": True, "after": {"dea_ng": "RUNNING", "apptail": "RUNNING"},
                   "roles_before": {"dea": "STOPPED"}, "roles_after": {"dea": "RUNNING"}},
    },
    {
        "id": "started_check_mode_all_roles",
        "args": {"state": "started"},
        "flags": {"check": True, "diff": True},
        "calls": [{"argv": LIST, "out": procs(dea_ng="FATAL")},
                  {"argv": STATUS, "out": status(base="RUNNING", dea="FATAL")}],
        "result": {"changed": True, "after": {"dea_ng": "RUNNING"},
                   "roles_after": {"base": "RUNNING", "dea": "RUNNING"},
                   "diff": {"before": {"base": "RUNNING", "dea": "FATAL"},
                            "after": {"base": "RUNNING", "dea": "RUNNING"}}},
    },
    {
        # The regression the integration found: other roles' processes running must not make a
        # stopped role look like it needs stopping again.
        "id": "stopped_role_no_op_while_other_roles_run",
        "args": {"state": "stopped", "roles": ["dea"]},
        "flags": {"check": True},
        "calls": [{"argv": LIST, "out": procs(dea_ng="STOPPED", router2g="RUNNING")},
                  {"argv": STATUS, "out": status(base="RUNNING", dea="STOPPED", router="RUNNING")}],
        "result": {"changed": False, "roles_before": {"dea": "STOPPED"}, "roles_after": {"dea": "STOPPED"}},
    },
    {
        "id": "stopped_check_mode_predicts_the_role_only",
        "args": {"state": "stopped", "roles": ["dea"]},
        "flags": {"check": True, "diff": True},
        "calls": [{"argv": LIST, "out": procs(dea_ng="RUNNING", router2g="RUNNING")},
                  {"argv": STATUS, "out": status(base="RUNNING", dea="RUNNING", router="RUNNING")}],
        "result": {"changed": True, "roles_after": {"dea": "STOPPED"},
                   "after": {"dea_ng": "RUNNING", "router2g": "RUNNING"},
                   "diff": {"before": {"dea": "RUNNING"}, "after": {"dea": "STOPPED"}}},
    },
    {
        "id": "stopped_on_remote_node",
        "args": {"state": "stopped", "roles": ["dea", "router"], "node": "127.42.0.14"},
        "calls": [
            {"argv": ["process", "list", "-n", "127.42.0.14", "-j"],
             "out": json.dumps({"127.42.0.14": {"dea_ng": "RUNNING"}})},
            {"argv": STATUS, "out": status("127.42.0.14", base="RUNNING", dea="RUNNING", router="RUNNING")},
            {"argv": ["stop", "-n", "127.42.0.14", "dea", "router"]},
            {"argv": ["process", "list", "-n", "127.42.0.14", "-j"],
             "out": json.dumps({"127.42.0.14": {"dea_ng": "STOPPED"}})},
            {"argv": STATUS, "out": status("127.42.0.14", base="RUNNING", dea="STOPPED", router="STOPPED")},
        ],
        "result": {"changed": True, "before": {"dea_ng": "RUNNING"}, "after": {"dea_ng": "STOPPED"},
                   "roles_after": {"dea": "STOPPED", "router": "STOPPED"}},
    },
    {
        "id": "data_services_group_expands_to_the_node_roles",
        "args": {"state": "stopped", "roles": ["data-services"]},
        "flags": {"check": True},
        "calls": [{"argv": LIST, "out": procs(mysql="RUNNING")},
                  {"argv": STATUS, "out": status(base="RUNNING", mysql="RUNNING", redis="STOPPED")}],
        "result": {"changed": True, "roles_before": {"mysql": "RUNNING", "redis": "STOPPED"},
                   "roles_after": {"mysql": "STOPPED", "redis": "STOPPED"}},
    },
    {
        "id": "role_not_on_node_fails",
        "args": {"state": "started", "roles": ["harbor"]},
        "calls": [{"argv": LIST, "out": procs(dea_ng="RUNNING")},
                  {"argv": STATUS, "out": status(base="RUNNING", dea="RUNNING")}],
        "failed": True,
        "msg_contains": ["role harbor is not configured on node 127.42.0.13 (its roles: base, dea)"],
    },
    {
        "id": "no_role_states_falls_back_to_processes",
        "args": {"state": "stopped", "roles": ["dea"]},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="STOPPED", router2g="STOPPED")},
            {"argv": STATUS, "rc": 1, "err": "ERROR: cannot reach the primary\n"},
        ],
        "result": {"changed": False, "roles_before": None},
        "warnings": ["judging by all of the processes of 127.42.0.13"],
    },
    {
        "id": "stopped_no_op",
        "args": {"state": "stopped"},
        "calls": [{"argv": LIST, "out": procs(dea_ng="STOPPED")},
                  {"argv": STATUS, "out": status(base="STOPPED", dea="STOPPED")}],
        "result": {"changed": False},
    },
    {
        "id": "restarted_always_changes",
        "args": {"state": "restarted", "wait_timeout": 30},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="RUNNING")},
            {"argv": STATUS, "out": status(dea="RUNNING")},
            {"argv": ["restart"]},
            {"argv": ["process", "ready", "--block", "30", "all"], "out": "READY\n"},
            {"argv": LIST, "out": procs(dea_ng="RUNNING")},
            {"argv": STATUS, "out": status(dea="RUNNING")},
        ],
        "result": {"changed": True},
    },
    {
        "id": "restarted_check_mode",
        "args": {"state": "restarted"},
        "flags": {"check": True},
        "calls": [{"argv": LIST, "out": procs(dea_ng="RUNNING")}, {"argv": STATUS, "out": status(dea="RUNNING")}],
        "result": {"changed": True},
    },
    {
        "id": "restarted_without_wait",
        "args": {"state": "restarted", "wait": False},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="RUNNING")},
            {"argv": STATUS, "out": status(dea="RUNNING")},
            {"argv": ["restart"]},
            {"argv": LIST, "out": procs(dea_ng="STARTING")},
            {"argv": STATUS, "out": status(dea="STARTING")},
        ],
        "result": {"changed": True, "after": {"dea_ng": "STARTING"}},
    },
    {
        "id": "wait_on_remote_node_uses_dash_n",
        "args": {"state": "started", "node": "127.42.0.14", "wait_timeout": 60},
        "calls": [
            {"argv": ["process", "list", "-n", "127.42.0.14", "-j"],
             "out": json.dumps({"127.42.0.14": {"dea_ng": "STOPPED"}})},
            {"argv": STATUS, "out": status("127.42.0.14", dea="STOPPED")},
            {"argv": ["start", "-n", "127.42.0.14"]},
            {"argv": ["process", "ready", "--block", "60", "-n", "127.42.0.14", "all"], "out": "READY\n"},
            {"argv": ["process", "list", "-n", "127.42.0.14", "-j"],
             "out": json.dumps({"127.42.0.14": {"dea_ng": "RUNNING"}})},
            {"argv": STATUS, "out": status("127.42.0.14", dea="RUNNING")},
        ],
        "result": {"changed": True, "roles_after": {"dea": "RUNNING"}},
    },
    {
        "id": "wait_timeout_fails_listing_processes",
        "args": {"state": "started"},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="STOPPED")},
            {"argv": STATUS, "out": status(dea="STOPPED")},
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
            {"argv": STATUS, "out": status(dea="STOPPED")},
            {"argv": ["start"], "rc": 1, "err": "ERROR: sudo: a password is required\n"},
        ],
        "failed": True,
        "msg_contains": ["a password is required"],
    },
]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_kato_role(case, check_case, run_module, kato):
    calls = [dict(call, argv=[kato] + call["argv"]) for call in case["calls"]]
    result, failed, warnings = run_module(kato_role, dict(case["args"], kato_path=kato), calls, **case.get("flags", {}))
    check_case(case, result, failed, warnings)
