# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.stackato.cluster.plugins.modules import kato_info

CORE_INFO = {"127.42.0.11": {"roles": ["router", "primary", "base", "controller"], "available_roles": ["dea"],
                             "mbusip": "127.42.0.11", "version": "3.4.2"}}
DEA_INFO = {"127.42.0.13": {"roles": ["base", "dea"], "available_roles": [], "mbusip": "127.42.0.11",
                            "version": "3.4.2",
                            "dea": {"memory_mb": 4096, "used_mb": 256, "instances": [{"app": "web", "memory_mb": 256}]}}}
STATUS = {"node": "127.42.0.11", "version": "3.4.2", "available": "3.6.2", "state": "idle", "step": None, "cached": False}
NODES = {"127.42.0.11": {"roles": ["base", "controller", "primary", "router"]}, "127.42.0.13": {"roles": ["base", "dea"]}}
OTHER_DEA_INFO = {"127.42.0.14": {"roles": ["base", "dea"], "available_roles": [], "mbusip": "127.42.0.11",
                                  "version": "3.4.2", "dea": {"memory_mb": 4096, "used_mb": 0, "instances": []}}}
DEA_NODES = dict(NODES, **{"127.42.0.14": {"roles": ["base", "dea"]}, "127.42.0.15": {"roles": ["base", "mysql"]}})
MM = ["config", "get", "cloud_controller_ng", "maintenance_mode", "--json"]
PATCH_JSON = ["patch", "status", "-j"]
PATCH_TEXT = ["patch", "status"]
NO_PATCHES = [{"argv": PATCH_JSON, "out": json.dumps({"version": "3.4.2", "patches": []}) + "\n"}]
PATCH = {"id": 1, "name": "router-websocket-fix", "description": "Keep websocket connections open",
         "roles": ["router"]}
PATCH_STATUS_TEXT = """2 updates are available for 3.6.0.
    router-websocket-fix: Keep websocket connections open
        patch id:           1
        roles affected:     router, controller
        installed on:       none
        to be installed on: 127.0.0.1
    aok-endpoint-fix: Correct aok endpoint: redirect to custom uri
        patch id:           2
        roles affected:     controller
        installed on:       127.0.0.1, 127.42.0.12
        to be installed on: none
"""


def calls_for(info, processes, mm=None, status=None, nodes=None, patches=None):
    mm = mm or {"out": "false\n"}
    status = status or {"out": json.dumps(STATUS) + "\n"}
    calls = [
        {"argv": ["version"], "out": "WARNING: ssh agent not running\n3.4.2\n"},
        {"argv": ["info", "-j"], "out": "WARNING: odd\n" + json.dumps(info, indent=2) + "\n  \n"},
        {"argv": ["process", "list", "-j"], "out": json.dumps(processes) + "\n"},
        dict(mm, argv=MM),
        dict(status, argv=["node", "upgrade", "--status", "--json"]),
    ] + (NO_PATCHES if patches is None else patches)
    if nodes is not None:
        calls.append({"argv": ["node", "list", "-j"], "out": json.dumps(nodes)})
    return calls


CASES = [
    {
        "id": "core_node",
        "calls": calls_for(CORE_INFO, {"127.42.0.11": {"router2g": "RUNNING", "cloud_controller_ng": "RUNNING"}},
                           nodes=NODES),
        "result": {"changed": False, "version": "3.4.2", "ip": "127.42.0.11", "is_core": True,
                   "roles": ["base", "controller", "primary", "router"], "available_roles": ["dea"],
                   "mbusip": "127.42.0.11", "maintenance_mode": False, "nodes": NODES, "dea": {},
                   "processes": {"router2g": "RUNNING", "cloud_controller_ng": "RUNNING"},
                   "upgrade": STATUS, "patches": [], "deas": {}},
    },
    {
        "id": "patches_from_json",
        "calls": calls_for(CORE_INFO, {"127.42.0.11": {"router2g": "RUNNING"}}, nodes=NODES, patches=[
            {"argv": PATCH_JSON, "out": "WARNING: x\n" + json.dumps({"version": "3.6.0", "patches": [
                dict(PATCH, installed_on=[], to_be_installed_on=["127.42.0.11"]),
                dict(PATCH, id=2, name="other", installed_on=["127.42.0.11"], to_be_installed_on=[]),
                dict(PATCH, id=3, name="elsewhere", installed_on=[], to_be_installed_on=["127.42.0.13"]),
            ]}) + "\n"}]),
        "result": {"patches": [
            dict(PATCH, installed_on=[], to_be_installed_on=["127.42.0.11"], installed=False, pending=True),
            dict(PATCH, id=2, name="other", installed_on=["127.42.0.11"], to_be_installed_on=[],
                 installed=True, pending=False),
            dict(PATCH, id=3, name="elsewhere", installed_on=[], to_be_installed_on=["127.42.0.13"],
                 installed=False, pending=False),
        ]},
    },
    {
        "id": "patches_from_text_when_kato_has_no_json",
        "calls": calls_for(CORE_INFO, {"127.42.0.11": {"router2g": "RUNNING"}}, nodes=NODES, patches=[
            {"argv": PATCH_JSON, "rc": 1, "err": "Usage: kato patch status [options]\n"},
            {"argv": PATCH_TEXT, "out": PATCH_STATUS_TEXT}]),
        "result": {"patches": [
            {"id": 1, "name": "router-websocket-fix", "description": "Keep websocket connections open",
             "roles": ["router", "controller"], "installed_on": [], "to_be_installed_on": ["127.0.0.1"],
             "installed": False, "pending": True},
            {"id": 2, "name": "aok-endpoint-fix", "description": "Correct aok endpoint: redirect to custom uri",
             "roles": ["controller"], "installed_on": ["127.0.0.1", "127.42.0.12"], "to_be_installed_on": [],
             "installed": True, "pending": False},
        ]},
    },
    {
        "id": "patches_unknown_without_patch_command",
        "calls": calls_for(CORE_INFO, {"127.42.0.11": {"router2g": "RUNNING"}}, nodes=NODES, patches=[
            {"argv": PATCH_JSON, "rc": 1, "err": "ERROR: unknown command patch\n"},
            {"argv": PATCH_TEXT, "rc": 1, "err": "ERROR: unknown command patch\n"}]),
        "result": {"patches": None, "version": "3.4.2"},
        "warnings": ["patch status is unknown: kato patch status failed (rc=1): ERROR: unknown command patch"],
    },
    {
        "id": "dea_node_no_node_list",
        "calls": calls_for(DEA_INFO, {"127.42.0.13": {"dea_ng": "RUNNING"}}, mm={"out": "true\n"}),
        "result": {"ip": "127.42.0.13", "is_core": False, "nodes": {}, "maintenance_mode": True,
                   "dea": DEA_INFO["127.42.0.13"]["dea"]},
    },
    {
        "id": "cluster_state_unreadable_gives_nulls_and_warnings",
        "calls": calls_for(DEA_INFO, {"127.42.0.13": {"dea_ng": "FATAL"}},
                           mm={"rc": 1, "err": "ERROR: cannot reach the primary\n"},
                           status={"rc": 1, "err": "ERROR: cannot reach the primary\n"},
                           patches=[{"argv": PATCH_JSON, "rc": 1, "err": "ERROR: cannot reach the primary\n"},
                                    {"argv": PATCH_TEXT, "rc": 1, "err": "ERROR: cannot reach the primary\n"}]),
        "result": {"maintenance_mode": None, "processes": {"dea_ng": "FATAL"},
                   "upgrade": {"version": None, "available": None, "state": None, "step": None, "cached": None},
                   "patches": None},
        "warnings": ["maintenance_mode is unknown", "upgrade status is unknown", "patch status is unknown"],
    },
    {
        "id": "subset_on_a_dea_reads_every_dea_in_one_call",
        "params": {"gather_subset": ["version", "maintenance_mode", "deas"]},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": ["info", "-j"], "out": json.dumps(DEA_INFO)},
            dict(argv=MM, out="true\n"),
            {"argv": ["node", "list", "-j"], "out": json.dumps(DEA_NODES)},
            {"argv": ["info", "-n", "127.42.0.14", "-j"], "out": json.dumps(OTHER_DEA_INFO)},
        ],
        "result": {"version": "3.4.2", "maintenance_mode": True, "processes": {}, "patches": None,
                   "upgrade": dict.fromkeys(STATUS.keys() - {"node"}), "nodes": DEA_NODES,
                   "deas": {"127.42.0.13": DEA_INFO["127.42.0.13"]["dea"],
                            "127.42.0.14": OTHER_DEA_INFO["127.42.0.14"]["dea"]}},
    },
    {
        "id": "subset_deas_on_other_nodes_reads_no_node_list",
        "params": {"gather_subset": ["maintenance_mode", "deas"]},
        "calls": [
            {"argv": ["info", "-j"], "out": json.dumps(CORE_INFO)},
            dict(argv=MM, out="false\n"),
        ],
        "result": {"version": None, "maintenance_mode": False, "nodes": {}, "deas": {}, "is_core": True},
    },
    {
        "id": "subset_other_dea_unreadable_fails",
        "params": {"gather_subset": ["deas"]},
        "calls": [
            {"argv": ["info", "-j"], "out": json.dumps(DEA_INFO)},
            {"argv": ["node", "list", "-j"], "out": json.dumps(DEA_NODES)},
            {"argv": ["info", "-n", "127.42.0.14", "-j"], "rc": 1, "err": "ERROR: cannot reach the primary\n"},
        ],
        "failed": True,
        "msg_contains": ["info -n 127.42.0.14 -j failed (rc=1): ERROR: cannot reach the primary"],
    },
    {
        "id": "info_failure_fails",
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": ["info", "-j"], "rc": 1, "err": "ERROR: kato is broken\n"},
        ],
        "failed": True,
        "msg_contains": ["info -j failed (rc=1): ERROR: kato is broken"],
    },
    {
        "id": "garbage_json_fails",
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": ["info", "-j"], "out": "127.42.0.11 base controller\n"},
        ],
        "failed": True,
        "msg_contains": ["could not parse the JSON output"],
    },
    {
        "id": "garbage_version_fails",
        "calls": [{"argv": ["version"], "out": "unknown\n"}],
        "failed": True,
        "msg_contains": ["could not read the Stackato version"],
    },
]


@pytest.mark.parametrize("check", [False, True], ids=["normal", "check"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_kato_info(case, check_case, check, run_module, kato):
    calls = [dict(call, argv=[kato] + call["argv"]) for call in case["calls"]]
    result, failed, warnings = run_module(kato_info, dict(case.get("params", {}), kato_path=kato), calls, check=check)
    check_case(case, result, failed, warnings)
