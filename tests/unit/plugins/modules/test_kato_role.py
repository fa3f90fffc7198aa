# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.stackato.cluster.plugins.modules import kato_role

IP = "127.42.0.13"
OTHER = "127.42.0.14"
NODE_LIST = ["node", "list"]
LIST = ["process", "list", "-j"]
LIST_N = ["process", "list", "-n", IP, "-j"]
STATUS = ["status", "-j"]
READY = ["process", "ready", "-b", "600", "all"]
READY_N = ["process", "ready", "-b", "600", "-n", IP, "all"]
# kato node list, the documented text, with noise; IP is a DEA with mysql, OTHER a router and DEA.
NODES_TEXT = ("WARNING: ssh agent not running\n"
              "127.42.0.11 base controller primary router\n"
              f"{IP} base dea mysql   \n"
              f"{OTHER} base,dea,router\n")
UNKNOWN_STATUS_J = {"rc": 1, "err": "Usage: kato status [options]\nERROR: unknown option -j\n"}
DEA_RUNNING = {"dea_ng": "RUNNING", "dir_server": "RUNNING", "fence": "RUNNING", "apptail": "RUNNING"}
DEA_STOPPED = dict.fromkeys(DEA_RUNNING, "STOPPED")


def procs(ip=IP, **states):
    return "WARNING: x\n" + json.dumps({ip: states}) + "\n  \n"


def status(**roles):
    """kato status -j (undocumented) of a two-node cluster: the node asked about and another one."""
    return json.dumps({"127.42.0.11": {"roles": {"base": "RUNNING", "primary": "RUNNING"}},
                       IP: {"roles": roles}}) + "\n"


def node_list():
    return {"argv": NODE_LIST, "out": NODES_TEXT}


CASES = [
    # ---- all roles (roles empty): every process of the node decides; no node list, nothing undocumented
    {
        "id": "started_no_op_when_all_running",
        "args": {"state": "started"},
        "calls": [{"argv": LIST, "out": procs(dea_ng="RUNNING", apptail="RUNNING")}],
        "result": {"changed": False, "before": {"dea_ng": "RUNNING", "apptail": "RUNNING"}, "node_roles": None,
                   "acted_on": [], "roles_before": None},
        "no_warnings": True,
    },
    {
        "id": "started_check_mode_all_roles",
        "args": {"state": "started"},
        "flags": {"check": True, "diff": True},
        "calls": [{"argv": LIST, "out": procs(dea_ng="FATAL", router2g="RUNNING")}],
        "result": {"changed": True, "after": {"dea_ng": "RUNNING", "router2g": "RUNNING"},
                   "diff": {"before": {"dea_ng": "FATAL", "router2g": "RUNNING"},
                            "after": {"dea_ng": "RUNNING", "router2g": "RUNNING"}}},
    },
    {
        "id": "started_all_roles_starts_and_waits_with_dash_b",
        "args": {"state": "started"},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="STOPPED")},
            {"argv": ["start"]},
            {"argv": READY, "out": "READY\n"},
            {"argv": LIST, "out": procs(dea_ng="RUNNING")},
        ],
        "result": {"changed": True, "after": {"dea_ng": "RUNNING"}},
    },
    {
        "id": "stopped_no_op",
        "args": {"state": "stopped"},
        "calls": [{"argv": LIST, "out": procs(dea_ng="STOPPED", router2g="FATAL")}],
        "result": {"changed": False},
    },
    {
        # a restart acts whatever the states: none is read before it, nor after the wait until every process is
        # ready (two kato calls less on each restart's path in the window)
        "id": "restarted_always_changes_and_reads_nothing_before_nor_after_the_wait",
        "args": {"state": "restarted", "wait_timeout": 30},
        "calls": [
            {"argv": ["restart"]},
            {"argv": ["process", "ready", "-b", "30", "all"], "out": "READY\n"},
        ],
        "result": {"changed": True, "before": None, "after": None, "roles_before": None, "roles_after": None},
        "no_warnings": True,
    },
    {
        "id": "restarted_diff_mode_reads_the_states_before",
        "args": {"state": "restarted", "wait_timeout": 30},
        "flags": {"diff": True},
        "calls": [
            {"argv": LIST, "out": procs(dea_ng="FATAL")},
            {"argv": ["restart"]},
            {"argv": ["process", "ready", "-b", "30", "all"], "out": "READY\n"},
            {"argv": LIST, "out": procs(dea_ng="RUNNING")},
        ],
        "result": {"changed": True, "before": {"dea_ng": "FATAL"}, "after": {"dea_ng": "RUNNING"},
                   "diff": {"before": {"dea_ng": "FATAL"}, "after": {"dea_ng": "RUNNING"}}},
    },
    {
        "id": "restarted_named_roles_checks_them_then_restarts_them_unread",
        "args": {"state": "restarted", "roles": ["dea"], "node": IP},
        "calls": [
            node_list(),
            {"argv": ["restart", "-n", IP, "dea"]},
            {"argv": READY_N, "out": "READY\n"},
        ],
        "result": {"changed": True, "before": None, "after": None, "node_roles": ["base", "dea", "mysql"],
                   "acted_on": ["dea"]},
        "no_warnings": True,
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
            {"argv": ["restart"]},
            {"argv": LIST, "out": procs(dea_ng="STARTING")},
        ],
        "result": {"changed": True, "after": {"dea_ng": "STARTING"}},
    },
    # ---- named roles: the node's roles from kato node list, -n <node> on every command
    {
        "id": "stopped_dea_by_its_documented_processes",
        "args": {"state": "stopped", "roles": ["dea"], "node": IP},
        "flags": {"diff": True},
        "calls": [
            node_list(),
            {"argv": LIST_N, "out": procs(mysql="RUNNING", **DEA_RUNNING)},
            {"argv": ["stop", "-n", IP, "dea"]},
            {"argv": LIST_N, "out": procs(mysql="RUNNING", **DEA_STOPPED)},
        ],
        "result": {"changed": True, "node_roles": ["base", "dea", "mysql"], "acted_on": ["dea"],
                   "roles_before": None, "after": dict(DEA_STOPPED, mysql="RUNNING"),
                   "diff": {"before": DEA_RUNNING, "after": DEA_STOPPED}},
        "no_warnings": True,
    },
    {
        # The regression the integration found: other roles' processes running must not make a
        # stopped role look like it needs stopping again (check, apply, check, apply: true, true, false, false).
        "id": "stopped_dea_no_op_while_other_roles_run",
        "args": {"state": "stopped", "roles": ["dea"], "node": IP},
        "flags": {"check": True},
        "calls": [node_list(), {"argv": LIST_N, "out": procs(mysql="RUNNING", **DEA_STOPPED)}],
        "result": {"changed": False, "after": dict(DEA_STOPPED, mysql="RUNNING")},
        "no_warnings": True,
    },
    {
        "id": "stopped_dea_check_mode_predicts_its_processes_only",
        "args": {"state": "stopped", "roles": ["dea"], "node": IP},
        "flags": {"check": True, "diff": True},
        "calls": [node_list(), {"argv": LIST_N, "out": procs(mysql="RUNNING", **DEA_RUNNING)}],
        "result": {"changed": True, "after": dict(DEA_STOPPED, mysql="RUNNING"),
                   "diff": {"before": DEA_RUNNING, "after": DEA_STOPPED}},
    },
    {
        "id": "started_dea_waits_with_dash_b_and_dash_n",
        "args": {"state": "started", "roles": ["dea"], "node": IP, "wait_timeout": 60},
        "calls": [
            node_list(),
            {"argv": LIST_N, "out": procs(dea_ng="STOPPED", dir_server="RUNNING", fence="RUNNING", apptail="RUNNING")},
            {"argv": ["start", "-n", IP, "dea"]},
            {"argv": ["process", "ready", "-b", "60", "-n", IP, "all"], "out": "READY\n"},
            {"argv": LIST_N, "out": procs(**DEA_RUNNING)},
        ],
        "result": {"changed": True, "after": DEA_RUNNING},
    },
    {
        "id": "start_that_changes_nothing_reports_no_change",
        "args": {"state": "started", "roles": ["mysql"], "node": IP, "wait": False},
        "calls": [
            node_list(),
            {"argv": LIST_N, "out": procs(mysql="RUNNING", dea_ng="STOPPED")},
            dict(UNKNOWN_STATUS_J, argv=STATUS),
            {"argv": ["start", "-n", IP, "mysql"]},
            {"argv": LIST_N, "out": procs(mysql="RUNNING", dea_ng="STOPPED")},
        ],
        "result": {"changed": False, "roles_before": None},
        "warnings": ["judging mysql by every process of 127.42.0.13", "unknown option -j"],
    },
    {
        "id": "role_states_refine_undocumented_roles",
        "args": {"state": "stopped", "roles": ["mysql"], "node": IP},
        "flags": {"check": True, "diff": True},
        "calls": [
            node_list(),
            {"argv": LIST_N, "out": procs(mysql="STOPPED", dea_ng="RUNNING")},
            {"argv": STATUS, "out": status(base="RUNNING", dea="RUNNING", mysql="STOPPED")},
        ],
        "result": {"changed": False, "roles_before": {"mysql": "STOPPED"}, "roles_after": {"mysql": "STOPPED"}},
        "no_warnings": True,
    },
    {
        "id": "role_states_with_other_shape_fall_back_to_every_process",
        "args": {"state": "stopped", "roles": ["mysql"], "node": IP},
        "flags": {"check": True},
        "calls": [
            node_list(),
            {"argv": LIST_N, "out": procs(mysql="STOPPED", dea_ng="STOPPED")},
            {"argv": STATUS, "out": json.dumps({IP: {"mysql": "STOPPED"}})},
        ],
        "result": {"changed": False, "roles_before": None},
        "warnings": ["kato status -j does not give the states of mysql on 127.42.0.13"],
    },
    {
        "id": "data_services_group_expands_to_the_node_roles",
        "args": {"state": "stopped", "roles": ["data-services"], "node": IP},
        "calls": [
            node_list(),
            {"argv": LIST_N, "out": procs(mysql="RUNNING", dea_ng="RUNNING")},
            {"argv": STATUS, "out": status(base="RUNNING", dea="RUNNING", mysql="RUNNING")},
            {"argv": ["stop", "-n", IP, "mysql"]},
            {"argv": LIST_N, "out": procs(mysql="STOPPED", dea_ng="RUNNING")},
            {"argv": STATUS, "out": status(base="RUNNING", dea="RUNNING", mysql="STOPPED")},
        ],
        "result": {"changed": True, "acted_on": ["mysql"], "roles_before": {"mysql": "RUNNING"},
                   "roles_after": {"mysql": "STOPPED"}},
    },
    # ---- failures before anything runs
    {
        # Observation 2: roles: [mysql] on a node without mysql ran kato stop mysql.
        "id": "role_not_on_node_fails_before_anything_runs",
        "args": {"state": "stopped", "roles": ["mysql"], "node": OTHER},
        "calls": [node_list()],
        "failed": True,
        "msg_contains": [f"node {OTHER} does not have mysql (kato node list gives it: base, dea, router)"],
    },
    {
        "id": "data_services_on_a_node_without_any_fails",
        "args": {"state": "stopped", "roles": ["data-services"], "node": OTHER},
        "calls": [node_list()],
        "failed": True,
        "msg_contains": [f"node {OTHER} does not have any of the roles of data-services (filesystem, mysql,"],
    },
    {
        "id": "roles_without_node_fail_before_anything_runs",
        "args": {"state": "stopped", "roles": ["mysql"]},
        "calls": [],
        "failed": True,
        "msg_contains": ["roles mysql need node", "stackato_node_ip"],
    },
    {
        "id": "node_not_listed_fails",
        "args": {"state": "started", "node": "127.42.0.99"},
        "calls": [node_list()],
        "failed": True,
        "msg_contains": ["does not list 127.42.0.99", "set node"],
    },
    {
        "id": "wait_timeout_fails_listing_processes",
        "args": {"state": "started", "node": IP},
        "calls": [
            node_list(),
            {"argv": LIST_N, "out": procs(dea_ng="STOPPED")},
            {"argv": ["start", "-n", IP]},
            {"argv": READY_N, "rc": 1, "out": "dea_ng STARTING\n"},
        ],
        "failed": True,
        "msg_contains": ["not ready within wait_timeout=600", "dea_ng STARTING", "raise wait_timeout"],
        "result": {"rc": 1, "cause": "not_ready", "resumable": True},
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
    {
        "id": "negative_wait_timeout_fails",
        "args": {"state": "started", "wait_timeout": -1},
        "calls": [],
        "failed": True,
        "msg_contains": ["wait_timeout=-1 is invalid"],
    },
]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_kato_role(case, check_case, run_module, kato):
    calls = [dict(call, argv=[kato] + call["argv"]) for call in case["calls"]]
    result, failed, warnings = run_module(kato_role, dict(case["args"], kato_path=kato), calls, **case.get("flags", {}))
    check_case(case, result, failed, warnings)
    if case.get("no_warnings"):
        assert not warnings


def test_kato_role_refuses_root(run_module, kato, euid):
    euid.set(0)
    result, failed, dummy = run_module(kato_role, {"state": "restarted", "kato_path": kato}, [])
    assert failed
    assert "never as root" in result["msg"]
    assert "ansible_user=stackato" in result["msg"] and "become" in result["msg"]


# ---- progress: the step recorded on the node in the same call --------------------------------------------
@pytest.mark.parametrize("state, calls, check, written, changed", [
    # started with every process running: no kato call acts, the step is recorded (a change to the record)
    ("started", [{"argv": LIST, "out": procs(dea_ng="RUNNING")}], False, True, True),
    ("restarted", [{"argv": ["restart"]}, {"argv": READY}], False, True, True),
    # check mode: predicted, nothing written
    ("restarted", [{"argv": LIST, "out": procs(dea_ng="RUNNING")}], True, False, True),
])
def test_progress_records_the_step(run_module, kato, tmp_path, state, calls, check, written, changed):
    record = tmp_path / "progress.json"
    args = {"state": state, "kato_path": kato, "progress": {"path": str(record), "target": "3.6.2", "step": "restart"}}
    result, failed, dummy = run_module(kato_role, args, [dict(c, argv=[kato] + c["argv"]) for c in calls], check=check)
    assert not failed, result
    assert result["changed"] is changed
    assert result["progress"] == {"path": str(record), "step": "restart", "also": [], "changed": True, "done": ["restart"]}
    assert record.exists() is written
    if written:
        assert list(json.loads(record.read_text())["steps"]) == ["restart"]


def test_progress_not_recorded_when_the_wait_fails(run_module, kato, tmp_path):
    record = tmp_path / "progress.json"
    calls = [{"argv": ["restart"]}, {"argv": READY, "rc": 1, "err": "timed out\n"}]
    args = {"state": "restarted", "kato_path": kato, "progress": {"path": str(record), "target": "3.6.2", "step": "restart"}}
    result, failed, dummy = run_module(kato_role, args, [dict(c, argv=[kato] + c["argv"]) for c in calls])
    assert failed and not record.exists()


def test_progress_unwritable_record_fails_saying_so(run_module, kato, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    args = {"state": "started", "kato_path": kato,
            "progress": {"path": str(blocker / "progress.json"), "target": "3.6.2", "step": "ready"}}
    result, failed, dummy = run_module(kato_role, args, [{"argv": [kato] + LIST, "out": procs(dea_ng="RUNNING")}])
    assert failed and "the progress record" in result["msg"] and "cannot be written" in result["msg"]


@pytest.mark.parametrize("state, verb, reads", [("restarted", "restart", []), ("started", "start", [LIST])])
@pytest.mark.parametrize("word, changed", [("go\n", True), ("stop\ndea1 failed\n", False)])
def test_the_gate_comes_after_the_reads_and_before_the_first_change(tmp_path, run_module, kato, word, changed, state,
                                                                    verb, reads):
    base = tmp_path / "gate" / "k"
    base.parent.mkdir()
    os.mkfifo(f"{base}.fifo")
    (tmp_path / "gate" / "k.go").write_text(word)
    calls = [{"argv": [kato] + argv, "out": procs(dea_ng="STOPPED")} for argv in reads]
    if changed:
        calls += [{"argv": [kato, verb]}, {"argv": [kato] + READY, "out": "READY\n"}]
        # a start reads the states after it (a restart with wait does not)
        calls += [{"argv": [kato] + LIST, "out": procs(dea_ng="RUNNING")}] if state == "started" else []
    order = {"dir": "/controller/order", "name": "dea2", "gate": {"path": str(base), "timeout": 5}}
    result, failed, dummy = run_module(kato_role, {"state": state, "kato_path": kato, "order": order}, calls)
    assert not failed and result["changed"] is changed
    if not changed:
        assert result["order_gate"] == "stop" and result["msg"] == "not started on the node: dea1 failed"
    assert os.listdir(tmp_path / "gate") == []
