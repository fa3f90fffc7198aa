# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import fcntl
import json
import os
import threading

import pytest

from ansible_collections.stackato.cluster.plugins.modules import kato_info


@pytest.fixture(autouse=True)
def home(monkeypatch, tmp_path):
    """The default run_lock (~/.stackato-cluster/kato-upgrade.lock) under a home of the test's own."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


CORE = "127.42.0.11"
DEA = "127.42.0.13"
# kato node list, the documented text: the IP first, the roles after it; with the noise a real kato may add.
NODE_LIST_TEXT = ("WARNING: ssh agent not running\n"
                  "Nodes in this cluster:\n"
                  f"{CORE} base controller primary router   \n"
                  f"{DEA} base, dea\n"
                  "\n")
NODES = {CORE: {"roles": ["base", "controller", "primary", "router"]}, DEA: {"roles": ["base", "dea"]}}
INFO = {CORE: {"roles": ["router", "primary", "base", "controller"], "available_roles": ["dea"],
               "mbusip": CORE, "version": "3.4.2"}}
STATUS = {"node": CORE, "version": "3.4.2", "available": "3.6.2", "state": "idle", "step": None, "cached": False}
NULL_STATUS = dict.fromkeys(("version", "available", "state", "step", "cached"))

VERSION = ["version"]
NODE_LIST = ["node", "list"]
PROCESS_LIST = ["process", "list", "-j"]
MM = ["config", "get", "cloud_controller_ng", "maintenance_mode", "--json"]
DEA_MEMORY = ["config", "get", "dea_ng", "resources/memory_mb", "--json"]
PATCH_TEXT = ["patch", "status"]
PATCH_JSON = ["patch", "status", "-j"]
UPGRADE_STATUS = ["node", "upgrade", "--status", "--json"]
UNKNOWN_OPTION = {"rc": 1, "err": "Usage: kato node upgrade [options]\nERROR: unknown option --json\n"}

NO_PATCHES_TEXT = "0 updates are available for 3.4.2.\n"
# The documented example of kato patch status, plus a patch for another node and a field kato may add.
PATCH_STATUS_TEXT = """WARNING: checking the patch server
2 updates are available for 3.6.0.
    router-websocket-fix: Keep websocket connections open
        patch id:           1
        roles affected:     router, controller
        severity:           low
        installed on:       none
        to be installed on: 127.0.0.1
    aok-endpoint-fix: Correct aok endpoint: redirect to custom uri
        patch id:           2
        roles affected:     controller
        installed on:       127.0.0.1, 127.42.0.12
        to be installed on: none
"""
PATCHES_FROM_TEXT = [
    {"id": 1, "name": "router-websocket-fix", "description": "Keep websocket connections open",
     "roles": ["router", "controller"], "installed_on": [], "to_be_installed_on": ["127.0.0.1"],
     "installed": False, "pending": True},
    {"id": 2, "name": "aok-endpoint-fix", "description": "Correct aok endpoint: redirect to custom uri",
     "roles": ["controller"], "installed_on": ["127.0.0.1", "127.42.0.12"], "to_be_installed_on": [],
     "installed": True, "pending": False},
]
PATCH = {"id": 1, "name": "router-websocket-fix", "description": "Keep websocket connections open",
         "roles": ["router"]}


def calls_for(processes, node_list=None, mm=None, dea_memory=None, patches=None, upgrade=None):
    """gather_subset=all with the node option: every documented read, then the undocumented upgrade status."""
    return [
        {"argv": VERSION, "out": "WARNING: ssh agent not running\n3.4.2\n"},
        dict(node_list or {"out": NODE_LIST_TEXT}, argv=NODE_LIST),
        {"argv": PROCESS_LIST, "out": json.dumps(processes) + "\n"},
        dict(mm or {"out": "false\n"}, argv=MM),
        dict(dea_memory or {"out": "WARNING: x\n4096  \n"}, argv=DEA_MEMORY),
    ] + (patches or [{"argv": PATCH_TEXT, "out": NO_PATCHES_TEXT}]) + [
        dict(upgrade or {"out": json.dumps(STATUS) + "\n"}, argv=UPGRADE_STATUS),
    ]


CORE_PROCESSES = {CORE: {"router2g": "RUNNING", "cloud_controller_ng": "RUNNING"}}

CASES = [
    {
        "id": "core_node_roles_from_node_list",
        "params": {"node": CORE},
        "calls": calls_for(CORE_PROCESSES),
        "result": {"changed": False, "version": "3.4.2", "ip": CORE, "is_core": True,
                   "roles": ["base", "controller", "primary", "router"], "maintenance_mode": False,
                   "nodes": NODES, "processes": {"router2g": "RUNNING", "cloud_controller_ng": "RUNNING"},
                   "dea_memory_mb": 4096, "upgrade": dict(NULL_STATUS, **{k: STATUS[k] for k in NULL_STATUS}),
                   "patches": []},
        "absent": ["dea", "deas", "available_roles", "mbusip"],
        "no_warnings": True,
    },
    {
        "id": "dea_node_roles_from_its_line",
        "params": {"node": DEA},
        "calls": calls_for({DEA: {"dea_ng": "RUNNING"}}, mm={"out": "true\n"}),
        "result": {"ip": DEA, "roles": ["base", "dea"], "is_core": False, "nodes": NODES, "maintenance_mode": True,
                   "processes": {"dea_ng": "RUNNING"}},
    },
    {
        "id": "node_list_is_json_free_and_tolerant",
        "params": {"node": DEA, "gather_subset": ["version"]},
        "calls": [{"argv": VERSION, "out": "3.4.2\n"},
                  {"argv": NODE_LIST, "out": f"{CORE}: base,controller,primary,router\n{DEA}\tdea base\t\n"}],
        "result": {"roles": ["base", "dea"], "is_core": False, "nodes": {}, "processes": {},
                   "maintenance_mode": None, "dea_memory_mb": None, "patches": None, "upgrade": NULL_STATUS},
        "no_warnings": True,
    },
    {
        "id": "node_not_listed_fails",
        "params": {"node": "127.42.0.99"},
        "calls": [{"argv": VERSION, "out": "3.4.2\n"}, {"argv": NODE_LIST, "out": NODE_LIST_TEXT}],
        "failed": True,
        "msg_contains": ["does not list 127.42.0.99", f"it lists {CORE}, {DEA}", "set node"],
    },
    {
        "id": "node_list_without_nodes_fails",
        "params": {"node": CORE, "gather_subset": ["maintenance_mode"]},
        "calls": [{"argv": NODE_LIST, "out": "WARNING: cannot reach the primary\n"}],
        "failed": True,
        "msg_contains": ["could not read the nodes from", "no line starts with a node's IP address"],
    },
    {
        "id": "without_node_falls_back_to_kato_info_with_a_warning",
        "params": {"gather_subset": ["version"]},
        "calls": [{"argv": VERSION, "out": "3.4.2\n"},
                  {"argv": ["info", "-j"], "out": "WARNING: odd\n" + json.dumps(INFO, indent=2) + "\n  \n"}],
        "result": {"ip": CORE, "roles": ["base", "controller", "primary", "router"], "is_core": True, "nodes": {}},
        "warnings": ["kato info -j, which kato does not document", "set node"],
    },
    {
        "id": "without_node_nodes_from_node_list",
        "params": {"gather_subset": ["nodes"]},
        "calls": [{"argv": ["info", "-j"], "out": json.dumps(INFO)}, {"argv": NODE_LIST, "out": NODE_LIST_TEXT}],
        "result": {"ip": CORE, "nodes": NODES},
    },
    {
        "id": "without_node_a_documented_kato_fails_naming_node",
        "params": {"gather_subset": ["version"]},
        "calls": [{"argv": VERSION, "out": "3.4.2\n"},
                  {"argv": ["info", "-j"], "rc": 1, "err": "Usage: kato info [options]\nERROR: unknown option -j\n"}],
        "failed": True,
        "msg_contains": ["info -j failed (rc=1): ERROR: unknown option -j", "set node"],
    },
    {
        "id": "without_node_info_without_roles_fails",
        "params": {"gather_subset": ["version"]},
        "calls": [{"argv": VERSION, "out": "3.4.2\n"},
                  {"argv": ["info", "-j"], "out": json.dumps({CORE: {"assigned roles": "base, primary"}})}],
        "failed": True,
        "msg_contains": [f"does not give the roles of {CORE}", "set node"],
    },
    {
        "id": "upgrade_status_unavailable_gives_nulls_and_a_warning",
        "params": {"node": CORE},
        "calls": calls_for(CORE_PROCESSES, upgrade=UNKNOWN_OPTION),
        "result": {"upgrade": NULL_STATUS, "version": "3.4.2", "roles": ["base", "controller", "primary", "router"]},
        "warnings": ["upgrade status (upgrade.version, available, state, step, cached) is unknown",
                     "unknown option --json"],
    },
    {
        "id": "upgrade_status_with_other_keys_gives_nulls",
        "params": {"node": CORE, "gather_subset": ["upgrade"]},
        "calls": [{"argv": NODE_LIST, "out": NODE_LIST_TEXT},
                  {"argv": UPGRADE_STATUS, "out": json.dumps({"node": CORE, "status": "idle", "version": "3.4.2"})}],
        "result": {"upgrade": NULL_STATUS},
        "warnings": ["has no available, state, step, cached"],
    },
    {
        "id": "upgrade_status_with_wrong_types_gives_nulls",
        "params": {"node": CORE, "gather_subset": ["upgrade"]},
        "calls": [{"argv": NODE_LIST, "out": NODE_LIST_TEXT},
                  {"argv": UPGRADE_STATUS, "out": json.dumps(dict(STATUS, cached="no", version=3.4))}],
        "result": {"upgrade": NULL_STATUS},
        "warnings": ["unexpected values of version, cached"],
    },
    {
        "id": "upgrade_status_not_an_object_gives_nulls",
        "params": {"node": CORE, "gather_subset": ["upgrade"]},
        "calls": [{"argv": NODE_LIST, "out": NODE_LIST_TEXT},
                  {"argv": UPGRADE_STATUS, "out": "[1, 2]\n"}],
        "result": {"upgrade": NULL_STATUS},
        "warnings": ["not a JSON object"],
    },
    {
        "id": "patches_from_the_documented_text",
        "params": {"node": CORE, "gather_subset": ["patches"]},
        "calls": [{"argv": NODE_LIST, "out": NODE_LIST_TEXT}, {"argv": PATCH_TEXT, "out": PATCH_STATUS_TEXT}],
        "result": {"patches": PATCHES_FROM_TEXT},
        "no_warnings": True,
    },
    {
        "id": "patches_none_available",
        "params": {"node": CORE, "gather_subset": ["patches"]},
        "calls": [{"argv": NODE_LIST, "out": NODE_LIST_TEXT},
                  {"argv": PATCH_TEXT, "out": "WARNING: x\nNo updates available for 3.6.2.\n"}],
        "result": {"patches": []},
    },
    {
        "id": "patches_from_json_only_when_the_text_is_unreadable",
        "params": {"node": CORE, "gather_subset": ["patches"]},
        "calls": [
            {"argv": NODE_LIST, "out": NODE_LIST_TEXT},
            {"argv": PATCH_TEXT, "out": "Patch server says hello\n"},
            {"argv": PATCH_JSON, "out": "WARNING: x\n" + json.dumps({"version": "3.6.0", "patches": [
                dict(PATCH, installed_on=[], to_be_installed_on=[CORE]),
                dict(PATCH, id=2, name="other", installed_on=[CORE], to_be_installed_on=[]),
                dict(PATCH, id=3, name="elsewhere", installed_on=[], to_be_installed_on=[DEA]),
            ]}) + "\n"}],
        "result": {"patches": [
            dict(PATCH, installed_on=[], to_be_installed_on=[CORE], installed=False, pending=True),
            dict(PATCH, id=2, name="other", installed_on=[CORE], to_be_installed_on=[], installed=True, pending=False),
            dict(PATCH, id=3, name="elsewhere", installed_on=[], to_be_installed_on=[DEA],
                 installed=False, pending=False),
        ]},
    },
    {
        "id": "patches_unknown_without_patch_command",
        "params": {"node": CORE, "gather_subset": ["patches"]},
        "calls": [{"argv": NODE_LIST, "out": NODE_LIST_TEXT},
                  {"argv": PATCH_TEXT, "rc": 1, "err": "ERROR: unknown command patch\n"},
                  {"argv": PATCH_JSON, "rc": 1, "err": "ERROR: unknown command patch\n"}],
        "result": {"patches": None},
        "warnings": ["patch status is unknown: kato patch status failed (rc=1): ERROR: unknown command patch"],
    },
    {
        "id": "dea_memory_missing_gives_null_and_a_warning",
        "params": {"node": DEA, "gather_subset": ["dea_memory"]},
        "calls": [{"argv": NODE_LIST, "out": NODE_LIST_TEXT},
                  {"argv": DEA_MEMORY, "rc": 1, "err": "Error: key resources/memory_mb not found in dea_ng\n"}],
        "result": {"dea_memory_mb": None},
        "warnings": ["dea_memory_mb is unknown", "stackato_dea_memory_mb"],
    },
    {
        "id": "dea_memory_float_is_read_as_int",
        "params": {"node": DEA, "gather_subset": ["dea_memory"]},
        "calls": [{"argv": NODE_LIST, "out": NODE_LIST_TEXT}, {"argv": DEA_MEMORY, "out": "2048.0\n"}],
        "result": {"dea_memory_mb": 2048},
    },
    {
        "id": "dea_memory_not_a_number_gives_null",
        "params": {"node": DEA, "gather_subset": ["dea_memory"]},
        "calls": [{"argv": NODE_LIST, "out": NODE_LIST_TEXT}, {"argv": DEA_MEMORY, "out": '{"memory_mb": 4096}\n'}],
        "result": {"dea_memory_mb": None},
        "warnings": ["not a number of MB"],
    },
    {
        "id": "cluster_state_unreadable_gives_nulls_and_warnings",
        "params": {"node": DEA},
        "calls": calls_for({DEA: {"dea_ng": "FATAL"}},
                           mm={"rc": 1, "err": "ERROR: cannot reach the primary\n"},
                           dea_memory={"rc": 1, "err": "ERROR: cannot reach the primary\n"},
                           upgrade={"rc": 1, "err": "ERROR: cannot reach the primary\n"},
                           patches=[{"argv": PATCH_TEXT, "rc": 1, "err": "ERROR: cannot reach the primary\n"},
                                    {"argv": PATCH_JSON, "rc": 1, "err": "ERROR: cannot reach the primary\n"}]),
        "result": {"maintenance_mode": None, "processes": {"dea_ng": "FATAL"}, "dea_memory_mb": None,
                   "upgrade": NULL_STATUS, "patches": None},
        "warnings": ["maintenance_mode is unknown", "dea_memory_mb is unknown", "upgrade status", "patch status is unknown"],
    },
    {
        "id": "subset_reads_only_what_is_asked",
        "params": {"node": CORE, "gather_subset": ["version", "maintenance_mode"]},
        "calls": [{"argv": VERSION, "out": "3.4.2\n"}, {"argv": NODE_LIST, "out": NODE_LIST_TEXT},
                  {"argv": MM, "out": "true\n"}],
        "result": {"version": "3.4.2", "maintenance_mode": True, "processes": {}, "patches": None, "nodes": {},
                   "dea_memory_mb": None, "upgrade": NULL_STATUS, "is_core": True},
    },
    {
        "id": "process_list_failure_fails",
        "params": {"node": CORE, "gather_subset": ["processes"]},
        "calls": [{"argv": NODE_LIST, "out": NODE_LIST_TEXT},
                  {"argv": PROCESS_LIST, "rc": 1, "err": "ERROR: kato is broken\n"}],
        "failed": True,
        "msg_contains": ["process list -j failed (rc=1): ERROR: kato is broken"],
    },
    {
        "id": "garbage_version_fails",
        "params": {"node": CORE},
        "calls": [{"argv": VERSION, "out": "unknown\n"}],
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
    for key in case.get("absent", []):
        assert key not in result, key
    if case.get("no_warnings"):
        assert not warnings


def test_kato_info_refuses_root(run_module, kato, euid):
    euid.set(0)
    result, failed, warnings = run_module(kato_info, {"node": CORE, "kato_path": kato}, [])
    assert failed
    assert "never as root" in result["msg"]
    assert "ansible_user=stackato" in result["msg"] and "become" in result["msg"]


def _hold(path):
    """Another process's hold of kato_upgrade's run lock (a separate open file description)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


READ_VERSION = [{"argv": VERSION, "out": "3.4.2\n"}, {"argv": NODE_LIST, "out": NODE_LIST_TEXT}]


def _read(run_module, kato, **params):
    calls = [dict(call, argv=[kato] + call["argv"]) for call in READ_VERSION]
    return run_module(kato_info, dict({"node": CORE, "kato_path": kato, "gather_subset": ["version"]}, **params), calls)


def test_run_lock_missing_is_not_created(run_module, kato, tmp_path):
    path = tmp_path / "lock" / "kato-upgrade.lock"
    result, failed, warnings = _read(run_module, kato, run_lock=str(path), run_lock_timeout=5)
    assert not failed and result["run_lock_held"] is False and result["waited"] == 0
    assert result["version"] == "3.4.2" and not path.exists() and not path.parent.exists()
    assert not warnings


def test_run_lock_free_is_read_at_once(run_module, kato, tmp_path):
    path = tmp_path / "kato-upgrade.lock"
    path.write_text("123\n")
    result, failed, warnings = _read(run_module, kato, run_lock=str(path), run_lock_timeout=5)
    assert not failed and result["run_lock_held"] is False and result["waited"] == 0 and not warnings


def test_run_lock_held_without_timeout_reads_at_once_and_says_so(run_module, kato, tmp_path):
    path = str(tmp_path / "kato-upgrade.lock")
    fd = _hold(path)
    try:
        result, failed, warnings = _read(run_module, kato, run_lock=path)
    finally:
        os.close(fd)
    assert not failed and result["run_lock_held"] is True and result["waited"] == 0
    assert result["version"] == "3.4.2"
    assert any("holds " + path in w and "read while it runs" in w for w in warnings), warnings


def test_run_lock_held_by_an_orphaned_run_is_waited_for_then_the_node_read(run_module, kato, tmp_path):
    """A killed controller's upgrade goes on on the node: the next preflight waits for it instead of reading a
    node whose kato may be missing mid-step."""
    path = str(tmp_path / "kato-upgrade.lock")
    fd = _hold(path)
    threading.Timer(0.5, os.close, [fd]).start()
    result, failed, warnings = _read(run_module, kato, run_lock=path, run_lock_timeout=30)
    assert not failed and result["run_lock_held"] is False
    assert 0.3 <= result["waited"] < 10  # released 0.5 s after the test took it and result["version"] == "3.4.2"
    assert any("waited" in w and "another upgrade run on this node" in w for w in warnings), warnings


def test_run_lock_still_held_after_timeout_fails_before_any_kato_call(run_module, kato, tmp_path):
    path = str(tmp_path / "kato-upgrade.lock")
    fd = _hold(path)
    try:
        result, failed, dummy = run_module(kato_info, {"node": CORE, "kato_path": kato, "run_lock": path,
                                                       "run_lock_timeout": 1}, [])
    finally:
        os.close(fd)
    assert failed
    assert f"still holds {path} after run_lock_timeout=1 seconds" in result["msg"] and "re-run" in result["msg"]


def test_run_lock_empty_is_not_looked_at(run_module, kato, tmp_path):
    path = str(tmp_path / "kato-upgrade.lock")
    fd = _hold(path)
    try:
        result, failed, warnings = _read(run_module, kato, run_lock="", run_lock_timeout=1)
    finally:
        os.close(fd)
    assert not failed and result["run_lock_held"] is False and result["waited"] == 0 and not warnings


def test_run_lock_timeout_negative_fails(run_module, kato, tmp_path):
    result, failed, dummy = run_module(kato_info, {"node": CORE, "kato_path": kato, "run_lock_timeout": -1}, [])
    assert failed and "run_lock_timeout=-1 is invalid" in result["msg"]
