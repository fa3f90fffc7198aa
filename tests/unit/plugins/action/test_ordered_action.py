# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugins of kato_upgrade and kato_role (plugin_utils/_ordered_action.py): the module's arguments
without ``order``, the wait, and the outcome recorded for the nodes after it. The module's call on the node is
replaced (``_execute_module``); the barrier is real."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from unittest import mock

import pytest
from ansible.plugins.action import ActionBase

from ansible_collections.stackato.cluster.plugins.action import kato_role, kato_upgrade
from ansible_collections.stackato.cluster.plugins.module_utils import _gate
from ansible_collections.stackato.cluster.plugins.plugin_utils import _order, _ordered_action


def make_action(cls, args, outcome=None, async_val=0, calls=None, raises=None):
    task = mock.MagicMock()
    task.args = args
    task.async_val = async_val
    connection = mock.MagicMock()
    connection.has_native_async = False
    action = cls(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock())
    calls = calls if calls is not None else []

    def execute(module_name=None, module_args=None, task_vars=None, wrap_async=False):
        calls.append((dict(module_args), wrap_async, time.monotonic(), module_name))
        if raises:
            raise raises
        if callable(outcome):
            return outcome(module_name, module_args)
        return dict(outcome or {"changed": True, "msg": "upgraded"})

    action._execute_module = execute
    action._remove_tmp_path = mock.MagicMock()
    return action, calls


@pytest.fixture(autouse=True)
def base_run():
    with mock.patch.object(ActionBase, "run", side_effect=lambda *args, **kwargs: {}):
        yield


def order(tmp_path, name, after=(), **extra):
    return dict(dir=str(tmp_path / "order"), name=name, after=list(after), **extra)


@pytest.mark.parametrize("cls", [kato_upgrade.ActionModule, kato_role.ActionModule])
def test_without_order_the_module_runs_with_the_same_arguments(cls):
    action, calls = make_action(cls, {"version": "3.6.2", "progress": {"step": "upgrade"}})
    assert action.run(task_vars={"inventory_hostname": "dea1"}) == {"changed": True, "msg": "upgraded"}
    assert calls[0][:2] == ({"version": "3.6.2", "progress": {"step": "upgrade"}}, False)
    action._remove_tmp_path.assert_called_once()


def test_async_without_order_is_left_to_ansible():
    action, calls = make_action(kato_upgrade.ActionModule, {"version": "3.6.2"}, async_val=7500)
    action.run(task_vars={})
    assert calls[0][1] is True
    action._remove_tmp_path.assert_not_called()


def test_order_is_taken_out_of_the_module_arguments_and_the_outcome_recorded(tmp_path):
    action, calls = make_action(kato_upgrade.ActionModule, {"version": "3.6.2", "order": order(tmp_path, "dea1")})
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert calls[0][0] == {"version": "3.6.2"}
    assert result["changed"] is True and result["order_after"] == [] and result["order_waited"] == 0.0
    assert _order.Barrier(str(tmp_path / "order")).state("dea1") == _order.DONE


def test_the_next_node_runs_its_module_only_after_the_one_before_it_ended(tmp_path):
    calls = []
    first = make_action(kato_upgrade.ActionModule, {"version": "3.6.2", "order": order(tmp_path, "dea1")}, calls=calls)[0]
    second = make_action(kato_upgrade.ActionModule, {"version": "3.6.2", "order": order(tmp_path, "dea2", ["dea1"])},
                         calls=calls)[0]
    out = {}
    thread = threading.Thread(target=lambda: out.update(second.run(task_vars={})), daemon=True)
    thread.start()
    time.sleep(0.3)
    assert calls == []
    first.run(task_vars={})
    thread.join(5)
    assert len(calls) == 2 and calls[0][2] <= calls[1][2]
    # it waited: its clock starts when the thread runs, after the 0.3 s sleep began (on a loaded machine, well after)
    assert out["order_after"] == ["dea1"] and out["order_waited"] >= 0.1


@pytest.mark.parametrize("outcome", [{"failed": True, "msg": "kato node upgrade exited 1"},
                                     {"unreachable": True, "msg": "ssh: connection lost"}])
def test_a_failed_node_stops_the_nodes_after_it(tmp_path, outcome):
    first = make_action(kato_upgrade.ActionModule, {"order": order(tmp_path, "dea1")}, outcome=outcome)[0]
    assert first.run(task_vars={}) == outcome | {"order_after": [], "order_waited": 0.0, "order_early": False}
    second, calls = make_action(kato_upgrade.ActionModule, {"order": order(tmp_path, "dea2", ["dea1"])})
    result = second.run(task_vars={})
    assert calls == []
    assert result["skipped"] and result["not_started"] and not result["changed"]
    assert result["msg"] == f"dea2 was not started: dea1 failed: {outcome['msg']}"
    assert _order.Barrier(str(tmp_path / "order")).state("dea2") == _order.STOPPED


def test_an_exception_in_the_call_still_releases_the_nodes_after_it(tmp_path):
    first = make_action(kato_role.ActionModule, {"order": order(tmp_path, "r2")}, raises=RuntimeError("boom"))[0]
    with pytest.raises(RuntimeError):
        first.run(task_vars={})
    barrier = _order.Barrier(str(tmp_path / "order"))
    assert barrier.state("r2") == _order.FAILED and barrier.aborted() == "r2 failed"


def test_a_node_with_nothing_to_do_keeps_the_order(tmp_path):
    barrier = _order.Barrier(str(tmp_path / "order"))
    idle, calls = make_action(kato_upgrade.ActionModule, {"order": order(tmp_path, "dea2", ["dea1"], run=False)})
    out = {}
    thread = threading.Thread(target=lambda: out.update(idle.run(task_vars={})), daemon=True)
    thread.start()
    time.sleep(0.2)
    assert barrier.state("dea2") is None, "dea2 counted as done before dea1 was"
    barrier.finish("dea1", _order.DONE)
    thread.join(5)
    assert calls == [] and out["skipped"] and "not_started" not in out
    assert barrier.state("dea2") == _order.DONE


@pytest.mark.parametrize("value, message", [
    ("dea1", "dea1: option order 'dea1' is not valid (it is a str)"),
    ({"name": "dea1"}, "dea1: option order {'name': 'dea1'} is not valid (missing required arguments: dir"),
    ({"dir": "/x", "name": "dea1", "after": "dea0", "colour": 1},
     "(unknown key colour. Supported parameters include: after, arm, armed, begun, dir, early, gate, go, name, run, stop, timeout"),
])
def test_a_bad_order_fails_before_anything_starts(value, message):
    action, calls = make_action(kato_upgrade.ActionModule, {"order": value})
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert result["failed"] and message in result["msg"] and calls == []


def test_order_with_async_is_refused(tmp_path):
    action, calls = make_action(kato_upgrade.ActionModule, {"order": order(tmp_path, "dea1")}, async_val=7500)
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert result["failed"] and "cannot be combined with async (async=7500)" in result["msg"] and calls == []


def test_an_unusable_directory_fails_the_node_and_names_it(tmp_path):
    (tmp_path / "open").mkdir()
    (tmp_path / "open").chmod(0o777)
    action, calls = make_action(kato_upgrade.ActionModule, {"order": dict(dir=str(tmp_path / "open"), name="dea1")})
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert result["failed"] and result["msg"].startswith("dea1: the order directory") and calls == []


# ---- started early (order.early): the module runs on the node while the node waits, and waits there for the word

class NodeConnection:
    """A connection to a 'node' that is this machine with HOME=home: commands run with sh, as over SSH."""
    transport = "ssh"
    has_native_async = False

    def __init__(self, home):
        self.home = str(home)
        self._shell = mock.MagicMock()
        self.said = []

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self.said.append((cmd, sudoable))
        out = subprocess.run(cmd, shell=True, env={"HOME": self.home, "PATH": os.environ["PATH"]},
                             capture_output=True, check=False, timeout=10)
        return out.returncode, out.stdout, out.stderr


def early_action(tmp_path, args, log, node, work_s=0.0, fail_before=False, prepare_rc=0, check_mode=False):
    """An action whose module is played here: it waits at its gate like the real one (module_utils/_gate.py),
    then 'changes' the node for work_s seconds; ``log`` gets (event, node, time)."""
    task = mock.MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    connection = NodeConnection(tmp_path / "home")
    action = kato_upgrade.ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                       mock.MagicMock())
    action._play_context.executable = "/bin/sh"

    def execute(module_name=None, module_args=None, task_vars=None, wrap_async=False):
        log.append(("start", node, time.monotonic(), dict(module_args, module=module_name)))
        if fail_before:
            return {"failed": True, "msg": f"{node}: the run lock is held"}
        gate = (module_args.get("order") or {}).get("gate")
        if gate:
            verdict, why = _gate.wait(gate)
            if verdict != _gate.GO:
                log.append(("not started", node, time.monotonic(), verdict))
                return {"changed": False, "order_gate": verdict, "msg": why}
        log.append(("change", node, time.monotonic(), None))
        time.sleep(work_s)
        log.append(("changed", node, time.monotonic(), None))
        return {"changed": True, "msg": f"{node} upgraded"}

    def low_level(cmd, sudoable=True, **kwargs):
        assert sudoable is False
        if prepare_rc:
            return {"rc": prepare_rc, "stdout": "", "stderr": "mkfifo: Permission denied"}
        rc, out, err = connection.exec_command(cmd, sudoable=False)
        return {"rc": rc, "stdout": out.decode(), "stderr": err.decode()}

    action._execute_module = execute
    action._low_level_execute_command = low_level
    action._remove_tmp_path = mock.MagicMock()
    return action


def events(log, node):
    return {event: at for event, name, at, dummy in log if name == node}


def another_node_ends(tmp_path, name="router2", started="dea1"):
    """``started`` (the node the waiting one follows) gets its turn and a node of the task that the waiting one does
    not follow ends: the waiting one is next in line and starts its module early."""
    barrier = _order.Barrier(str(tmp_path / "order"))
    if started:
        barrier.start(started)
    barrier.finish(name, _order.DONE)


def run_in_thread(action):
    out = {}
    thread = threading.Thread(target=lambda: out.update(action.run(task_vars={})), daemon=True)
    thread.start()
    return thread, out


def test_a_waiting_node_runs_its_module_early_and_changes_nothing_before_its_turn(tmp_path):
    log = []
    second = early_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea2", ["dea1"])}, log, "dea2")
    first = early_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea1")}, log, "dea1", work_s=0.5)
    thread, out = run_in_thread(second)
    time.sleep(0.2)
    assert log == [], "the module started early before any node of the task ended"
    another_node_ends(tmp_path)
    time.sleep(0.3)
    assert "start" in events(log, "dea2") and "change" not in events(log, "dea2"), "the module did not start early"
    first.run(task_vars={})
    thread.join(5)
    dea1, dea2 = events(log, "dea1"), events(log, "dea2")
    assert dea2["start"] < dea1["start"] < dea1["changed"] <= dea2["change"]
    assert dea2["change"] - dea1["changed"] < 0.5
    assert [e for e, name, dummy, dummy2 in log if name == "dea2"] == ["start", "change", "changed"]
    gated = log[0][3]["order"]
    assert gated["gate"]["timeout"] == _ordered_action.GATE_SECONDS and gated["name"] == "dea2"
    assert out["changed"] and out["order_early"] is True and out["order_waited"] >= 0.25
    assert _order.Barrier(str(tmp_path / "order")).state("dea2") == _order.DONE
    assert all(sudoable is False for dummy, sudoable in second._connection.said)
    assert os.listdir(tmp_path / "home" / ".stackato-cluster" / "order") == []


def test_a_node_whose_predecessor_failed_is_told_to_stop_on_the_node(tmp_path):
    log = []
    second = early_action(tmp_path, {"order": order(tmp_path, "dea2", ["dea1"])}, log, "dea2")
    thread, out = run_in_thread(second)
    another_node_ends(tmp_path)
    time.sleep(0.3)
    _order.Barrier(str(tmp_path / "order")).finish("dea1", _order.FAILED, "kato node upgrade exited 1")
    thread.join(5)
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start", "not started"]
    assert log[-1][3] == _gate.STOP
    assert out["skipped"] and out["not_started"] and not out["changed"]
    assert out["msg"] == "dea2 was not started: dea1 failed: kato node upgrade exited 1"
    assert _order.Barrier(str(tmp_path / "order")).state("dea2") == _order.STOPPED


def test_a_module_that_fails_before_its_turn_fails_the_node_at_once_and_stops_the_next(tmp_path):
    log = []
    second = early_action(tmp_path, {"order": order(tmp_path, "dea2", ["dea1"])}, log, "dea2", fail_before=True)
    third = early_action(tmp_path, {"order": order(tmp_path, "dea3", ["dea2"])}, log, "dea3")
    thread3, out3 = run_in_thread(third)
    time.sleep(0.2)
    thread2, out2 = run_in_thread(second)
    another_node_ends(tmp_path)
    thread2.join(5)
    thread3.join(5)
    barrier = _order.Barrier(str(tmp_path / "order"))
    assert out2["failed"] and out2["msg"] == "dea2: the run lock is held"
    assert barrier.state("dea2") == _order.FAILED and barrier.state("dea1") is None
    assert out3["not_started"] and "change" not in events(log, "dea3")


def test_a_module_that_waited_its_time_on_the_node_is_started_again(tmp_path):
    log = []
    second = early_action(tmp_path, {"order": order(tmp_path, "dea2", ["dea1"])}, log, "dea2")
    with mock.patch.object(_ordered_action, "GATE_SECONDS", 1):
        thread, out = run_in_thread(second)
        another_node_ends(tmp_path)
        time.sleep(1.6)
        _order.Barrier(str(tmp_path / "order")).finish("dea1", _order.DONE)
        thread.join(5)
    assert [e for e, name, dummy, dummy2 in log] == ["start", "not started", "start", "change", "changed"]
    assert out["changed"] and out["order_early"] is True


def test_a_module_with_nothing_to_change_still_counts_as_done_only_after_the_nodes_before_it(tmp_path):
    barrier = _order.Barrier(str(tmp_path / "order"))
    log = []
    second = early_action(tmp_path, {"order": order(tmp_path, "dea2", ["dea1"])}, log, "dea2")

    def nothing(module_name=None, module_args=None, task_vars=None, wrap_async=False):
        log.append(("start", "dea2", time.monotonic(), None))
        return {"changed": False, "msg": "dea2 is at 3.6.2"}

    second._execute_module = nothing
    thread, out = run_in_thread(second)
    another_node_ends(tmp_path)
    time.sleep(0.3)
    assert barrier.state("dea2") is None, "dea2 counted as done before dea1 was"
    barrier.finish("dea1", _order.DONE)
    thread.join(5)
    assert out["msg"] == "dea2 is at 3.6.2" and not out["changed"] and len(log) == 1
    assert barrier.state("dea2") == _order.DONE


@pytest.mark.parametrize("why, extra", [("check mode", {"check_mode": True}), ("no FIFO", {"prepare_rc": 1}),
                                        ("early off", {})])
def test_without_an_early_start_the_module_starts_at_the_node_turn(tmp_path, why, extra):
    log = []
    early = why != "early off"
    second = early_action(tmp_path, {"order": order(tmp_path, "dea2", ["dea1"], early=early)}, log, "dea2", **extra)
    thread, out = run_in_thread(second)
    another_node_ends(tmp_path)
    time.sleep(0.3)
    assert log == []
    finished = time.monotonic()
    _order.Barrier(str(tmp_path / "order")).finish("dea1", _order.DONE)
    thread.join(5)
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start", "change", "changed"]
    assert log[0][2] >= finished and "order" not in log[0][3] and log[0][3]["module"] is None
    assert out["order_early"] is False and out["changed"]


def test_order_gate_is_not_for_a_task(tmp_path):
    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "dea1", gate={"path": "/tmp/x", "timeout": 5})})
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert result["failed"] and "order.gate is set by the action plugin" in result["msg"] and calls == []


def test_a_node_starts_early_only_when_next_in_line(tmp_path):
    """Not while the node it follows has not started, nor before the first node of the task has ended."""
    log = []
    third = early_action(tmp_path, {"order": order(tmp_path, "dea3", ["dea2"])}, log, "dea3")
    thread, out = run_in_thread(third)
    barrier = _order.Barrier(str(tmp_path / "order"))
    barrier.start("dea1")
    barrier.start("dea2")
    time.sleep(0.3)
    assert log == [], "started early before any node of the task ended"
    barrier.finish("router2", _order.DONE)
    time.sleep(0.3)
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start"]
    barrier.finish("dea2", _order.DONE)
    thread.join(5)
    assert out["order_early"] is True and out["changed"]


def test_after_a_node_armed_before_the_window_a_node_starts_early_once_it_started(tmp_path):
    """A node whose module was started before the window (order.arm) starts no module at its turn: the node after it
    is next in line as soon as it started, before any node of the task ended."""
    log = []
    second = early_action(tmp_path, {"order": order(tmp_path, "dea2", ["dea1"])}, log, "dea2")
    thread, out = run_in_thread(second)
    barrier = _order.Barrier(str(tmp_path / "order"))
    time.sleep(0.3)
    assert log == []
    barrier.start("dea1", armed=True)
    time.sleep(0.3)
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start"], "did not start early after an armed node started"
    assert barrier.armed("dea1") and not barrier.any_ended()
    barrier.finish("dea1", _order.DONE)
    thread.join(5)
    assert out["order_early"] is True and out["changed"]


def test_a_node_that_follows_a_node_not_started_yet_waits_to_start_early(tmp_path):
    log = []
    third = early_action(tmp_path, {"order": order(tmp_path, "dea3", ["dea2"])}, log, "dea3")
    thread, out = run_in_thread(third)
    another_node_ends(tmp_path, started="dea1")
    time.sleep(0.3)
    assert log == [], "dea3 started early while dea2 had not started"
    _order.Barrier(str(tmp_path / "order")).start("dea2")
    time.sleep(0.3)
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start"]
    _order.Barrier(str(tmp_path / "order")).finish("dea2", _order.DONE)
    thread.join(5)
    assert out["order_early"] is True


def test_a_worker_whose_ansible_playbook_was_killed_starts_nothing(tmp_path):
    """ansible-playbook's workers have their own process group: killed with its group, it leaves them running, and
    the one of a node whose predecessor then ends must not start it, nor let its early module go."""
    log = []
    second = early_action(tmp_path, {"order": order(tmp_path, "dea2", ["dea1"])}, log, "dea2")
    parents = iter([4242, 4242])
    with mock.patch.object(_ordered_action.os, "getppid", side_effect=lambda: next(parents, 1)):
        thread, out = run_in_thread(second)
        time.sleep(0.2)
        another_node_ends(tmp_path)
        time.sleep(0.3)
        _order.Barrier(str(tmp_path / "order")).finish("dea1", _order.DONE)
        thread.join(5)
    assert "change" not in events(log, "dea2")
    assert out["not_started"] and "the run's ansible-playbook (pid 4242) has gone" in out["msg"]
    assert _order.Barrier(str(tmp_path / "order")).state("dea2") == _order.STOPPED


def test_a_word_that_cannot_be_said_fails_the_node_and_stops_the_next(tmp_path):
    log = []
    second = early_action(tmp_path, {"order": order(tmp_path, "dea2", ["dea1"])}, log, "dea2")
    said = second._connection.exec_command

    def broken(cmd, in_data=None, sudoable=True):
        if ".go.tmp" in cmd:
            return 255, b"", b"ssh: connect to host 127.42.0.13 port 2222: Connection refused"
        return said(cmd, in_data, sudoable)

    second._connection.exec_command = broken
    with mock.patch.object(_ordered_action, "GATE_SECONDS", 2):   # the module left waiting gives up soon
        thread, out = run_in_thread(second)
        another_node_ends(tmp_path)
        time.sleep(0.3)
        _order.Barrier(str(tmp_path / "order")).finish("dea1", _order.DONE)
        thread.join(5)
    assert out["failed"] and "could not tell the module waiting on the node to start (rc=255: ssh: connect" in out["msg"]
    assert "change" not in events(log, "dea2")
    assert _order.Barrier(str(tmp_path / "order")).state("dea2") == _order.FAILED


# ---- kato_upgrade's option restart: the node's restart in the same call, at its turn in the restart order

RESTART = "stackato.cluster.kato_role"
PROGRESS = {"path": "~/.stackato-cluster/progress.json", "target": "3.6.2"}


def restart(name, after=(), **extra):
    return dict(name=name, after=list(after), progress=PROGRESS, **extra)


def upgraded_then(restart_outcome):
    """The upgrade succeeds; the restart's module (kato_role) gives ``restart_outcome``."""
    def outcome(module_name, module_args):
        if module_name == RESTART:
            return dict(restart_outcome)
        return {"changed": True, "version_after": "3.6.2", "msg": "upgraded"}
    return outcome


def test_the_restart_runs_after_the_upgrade_with_kato_role_and_the_restart_step(tmp_path):
    action, calls = make_action(kato_upgrade.ActionModule,
                                {"version": "3.6.2", "order": order(tmp_path, "dea1", early=False),
                                 "restart": restart("dea1:restart", early=False, wait_timeout=90)},
                                outcome=upgraded_then({"changed": True, "msg": "restarted"}))
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert [(c[3], c[0]) for c in calls] == [
        (None, {"version": "3.6.2"}),
        (RESTART, {"state": "restarted", "wait": True, "wait_timeout": 90,
                   "progress": dict(PROGRESS, step="restart")}),
    ]
    assert result["changed"] and result["version_after"] == "3.6.2" and not result.get("failed")
    assert result["restart"]["msg"] == "restarted" and result["restart"]["order_after"] == []
    barrier = _order.Barrier(str(tmp_path / "order"))
    assert barrier.state("dea1") == _order.DONE and barrier.state("dea1:restart") == _order.DONE


def test_a_restart_waits_for_the_nodes_it_follows_in_the_same_directory(tmp_path):
    """The restart's after names the core node's upgrade (so every node's) and the restart before it: the node's
    upgrade is done at once, its restart only once both are."""
    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "dea2", early=False),
                                 "restart": restart("dea2:restart", ["core", "dea1:restart"], early=False)},
                                outcome=upgraded_then({"changed": True, "msg": "restarted"}))
    barrier = _order.Barrier(str(tmp_path / "order"))
    thread, out = run_in_thread(action)
    time.sleep(0.3)
    assert [c[3] for c in calls] == [None] and barrier.state("dea2") == _order.DONE
    barrier.finish("core", _order.DONE)
    time.sleep(0.2)
    assert [c[3] for c in calls] == [None], "restarted before the restart it follows was done"
    barrier.finish("dea1:restart", _order.DONE)
    thread.join(5)
    assert [c[3] for c in calls] == [None, RESTART]
    assert out["restart"]["order_waited"] >= 0.25 and barrier.state("dea2:restart") == _order.DONE


@pytest.mark.parametrize("outcome", [{"failed": True, "msg": "kato node upgrade exited 1", "cause": "kato"},
                                     {"unreachable": True, "msg": "ssh: connection lost"}])
def test_a_failed_upgrade_leaves_the_restart_not_started(tmp_path, outcome):
    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "dea1"), "restart": restart("dea1:restart")}, outcome=outcome)
    result = action.run(task_vars={})
    assert len(calls) == 1 and calls[0][3] is None
    assert {k: result[k] for k in outcome} == outcome and "failed_step" not in result
    assert result["restart"]["not_started"] and result["restart"]["msg"] == "dea1:restart was not started: its upgrade failed"
    barrier = _order.Barrier(str(tmp_path / "order"))
    assert barrier.state("dea1") == _order.FAILED and barrier.state("dea1:restart") == _order.STOPPED


def test_an_upgrade_not_started_leaves_the_restart_not_started(tmp_path):
    barrier = _order.Barrier(str(tmp_path / "order"))
    barrier.finish("dea1", _order.FAILED, "kato node upgrade exited 1")
    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "dea2", ["dea1"]), "restart": restart("dea2:restart")})
    result = action.run(task_vars={})
    assert calls == [] and result["not_started"] and result["restart"]["not_started"]
    assert result["restart"]["msg"] == "dea2:restart was not started: its upgrade did not start"
    assert barrier.state("dea2:restart") == _order.STOPPED


@pytest.mark.parametrize("failure, unreachable", [
    ({"failed": True, "msg": "kato process ready: timed out after 90 s", "cause": "not_ready"}, False),
    ({"unreachable": True, "msg": "ssh: connection lost"}, True),
])
def test_a_failed_restart_fails_the_task_names_the_step_and_stops_the_next_restart(tmp_path, failure, unreachable):
    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "dea1", early=False),
                                 "restart": restart("dea1:restart", early=False)}, outcome=upgraded_then(failure))
    result = action.run(task_vars={})
    assert result["failed"] and result["failed_step"] == "restart" and result["version_after"] == "3.6.2"
    assert result["msg"] == f"dea1 was upgraded, then its restart failed: {failure['msg']}"
    assert result["cause"] == failure.get("cause", "restart") and result["resumable"] is False
    assert bool(result.get("unreachable")) is unreachable
    barrier = _order.Barrier(str(tmp_path / "order"))
    assert barrier.state("dea1") == _order.DONE and barrier.state("dea1:restart") == _order.FAILED
    following, following_calls = make_action(kato_upgrade.ActionModule,
                                             {"order": order(tmp_path, "dea2", run=False),
                                              "restart": restart("dea2:restart", ["dea1:restart"])})
    assert following.run(task_vars={})["restart"]["not_started"] and following_calls == []


def test_a_node_with_nothing_left_but_its_restart_reports_the_restart(tmp_path):
    """Resumed after a failed restart: the upgrade has nothing to do, the restart runs; the task is not skipped."""
    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "dea1", run=False), "restart": restart("dea1:restart", early=False)},
                                outcome=upgraded_then({"changed": True, "msg": "restarted"}))
    result = action.run(task_vars={})
    assert [c[3] for c in calls] == [RESTART]
    assert result["changed"] and "skipped" not in result and result["restart"]["changed"]


def test_a_node_restarted_by_an_earlier_run_runs_nothing(tmp_path):
    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "dea1", run=False), "restart": restart("dea1:restart", run=False)})
    result = action.run(task_vars={})
    assert calls == [] and result["skipped"] and result["restart"]["skipped"] and not result["changed"]
    assert _order.Barrier(str(tmp_path / "order")).state("dea1:restart") == _order.DONE


@pytest.mark.parametrize("args, message", [
    ({"restart": restart("dea1:restart")}, "dea1: option restart needs option order"),
    ({"restart": "yes"}, "dea1: option restart needs option order"),
    ({"order": "ORDER", "restart": "yes"}, "dea1: option restart 'yes' is not valid (it is a str)"),
    ({"order": "ORDER", "restart": {"after": ["core"]}},
     "dea1: option restart {'after': ['core']} is not valid (missing required arguments: name"),
    ({"order": "ORDER", "restart": restart("dea1")}, "dea1: option restart.name 'dea1' is order.name too"),
])
def test_a_bad_restart_fails_before_anything_starts(tmp_path, args, message):
    if args.get("order") == "ORDER":
        args = dict(args, order=order(tmp_path, "dea1"))
    action, calls = make_action(kato_upgrade.ActionModule, args)
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert result["failed"] and message in result["msg"] and calls == []
    assert not (tmp_path / "order").exists() or _order.Barrier(str(tmp_path / "order")).state("dea1") is None


def test_kato_role_has_no_restart_option_its_module_refuses_it(tmp_path):
    action, calls = make_action(kato_role.ActionModule, {"state": "restarted", "restart": restart("r2:restart")})
    action.run(task_vars={})
    assert calls[0][0] == {"state": "restarted", "restart": restart("r2:restart")}


def test_the_restart_starts_early_on_the_node_once_the_core_node_started(tmp_path):
    """Not right after the node's upgrade (the next node of its group takes its turn then), but once it is next in
    line: the core node's upgrade, which it follows, has started. kato_role then waits at its gate on the node and
    restarts at the word once the core node is done - no module start at its turn."""
    log = []
    action = early_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea1"),
                                     "restart": restart("dea1:restart", ["core"])}, log, "dea1")
    barrier = _order.Barrier(str(tmp_path / "order"))
    thread, out = run_in_thread(action)
    time.sleep(0.4)
    starts = [args for event, dummy, dummy2, args in log if event == "start"]
    assert [a["module"] for a in starts] == [None], "the restart started early before the core node started"
    barrier.start("core")
    time.sleep(0.4)
    starts = [args for event, dummy, dummy2, args in log if event == "start"]
    assert [a["module"] for a in starts] == [None, RESTART], "the restart did not start early"
    assert starts[1]["order"]["name"] == "dea1:restart" and starts[1]["order"]["gate"]
    assert [e for e, dummy, dummy2, dummy3 in log].count("change") == 1, "restarted before the core node was done"
    barrier.finish("core", _order.DONE)
    thread.join(5)
    assert [e for e, dummy, dummy2, dummy3 in log][-2:] == ["change", "changed"]
    assert out["restart"]["order_early"] is True and out["restart"]["changed"]
    assert barrier.state("dea1:restart") == _order.DONE


def test_a_restart_after_another_restart_starts_early_once_the_core_node_started(tmp_path):
    """With restart.early_after naming the upgrades, every restart's module starts once the core node's upgrade has
    started, not when the restart it follows starts (a restart's turn is shorter than a module's start): dea2's waits
    at its gate while dea1's has not begun, and restarts only once dea1's is done."""
    log = []
    action = early_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea2"),
                                     "restart": restart("dea2:restart", ["core", "dea1:restart"], early_after=["core"])},
                          log, "dea2")
    barrier = _order.Barrier(str(tmp_path / "order"))
    thread, out = run_in_thread(action)
    time.sleep(0.4)
    barrier.start("core")
    time.sleep(0.4)
    starts = [args for event, dummy, dummy2, args in log if event == "start"]
    assert [a["module"] for a in starts] == [None, RESTART], "the restart did not start early with the core node"
    assert set(starts[1]["order"]) <= set(_order.ORDER_SPEC), "the module would refuse its order option"
    assert not barrier.started("dea1:restart")
    barrier.finish("core", _order.DONE)
    time.sleep(0.3)
    assert [e for e, dummy, dummy2, dummy3 in log].count("change") == 1, "restarted before dea1's restart was done"
    barrier.start("dea1:restart")
    barrier.finish("dea1:restart", _order.DONE)
    thread.join(5)
    assert [e for e, dummy, dummy2, dummy3 in log][-2:] == ["change", "changed"]
    assert out["restart"]["order_early"] is True and out["restart"]["changed"]


def test_without_early_after_a_restart_starts_early_once_the_restart_before_it_started(tmp_path):
    log = []
    action = early_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea2"),
                                     "restart": restart("dea2:restart", ["core", "dea1:restart"])}, log, "dea2")
    barrier = _order.Barrier(str(tmp_path / "order"))
    thread, out = run_in_thread(action)
    time.sleep(0.4)
    barrier.start("core")
    barrier.finish("core", _order.DONE)
    time.sleep(0.4)
    assert [a["module"] for e, dummy, dummy2, a in log if e == "start"] == [None]
    barrier.start("dea1:restart")
    time.sleep(0.4)
    assert [a["module"] for e, dummy, dummy2, a in log if e == "start"] == [None, RESTART]
    barrier.finish("dea1:restart", _order.DONE)
    thread.join(5)
    assert out["restart"]["order_early"] is True and out["restart"]["changed"]


def test_early_after_names_only_what_the_restart_follows(tmp_path):
    action, calls = make_action(kato_upgrade.ActionModule, {
        "version": "3.6.2", "order": order(tmp_path, "dea2"),
        "restart": restart("dea2:restart", ["core"], early_after=["core", "dea9"])})
    result = action.run(task_vars={"inventory_hostname": "dea2"})
    assert result["failed"] and "restart.early_after names 'dea9', which restart.after does not" in result["msg"]
    assert calls == []


CONFIG = "stackato.cluster.kato_config"


def test_the_node_that_restarts_last_then_turns_maintenance_mode_off(tmp_path):
    barrier = _order.Barrier(str(tmp_path / "order"))
    for name in ("dea1", "dea1:restart"):
        barrier.finish(name, _order.DONE)

    def outcome(module_name, module_args):
        if module_name == CONFIG:
            return {"changed": True, "before": True, "after": False, "changed_at": 1796095880.4}
        return {"changed": True, "msg": module_name or "upgraded"}

    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "core", ["dea1"], early=False),
                                 "restart": restart("core:restart", ["dea1", "core", "dea1:restart"], early=False,
                                                    maintenance_off=True)}, outcome=outcome)
    before = time.time()
    result = action.run(task_vars={})
    assert [c[3] for c in calls] == [None, RESTART, CONFIG]
    assert calls[2][0] == {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": False}
    assert result["maintenance_off"]["changed_at"] == 1796095880.4 and not result.get("failed")
    assert before - 0.01 <= result["restart"]["started_at"] <= result["restart"]["ended_at"] <= time.time() + 0.01


def core_closing_the_window(tmp_path):
    """The core node's call (restart.maintenance_off, started early) running in a thread, dea1 upgraded but not
    restarted: (log, barrier, thread, result)."""
    log = []
    barrier = _order.Barrier(str(tmp_path / "order"))
    barrier.finish("dea1", _order.DONE)
    action = early_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "core", ["dea1"]),
                                     "restart": restart("core:restart", ["dea1", "core", "dea1:restart"],
                                                        maintenance_off=True)}, log, "core")
    thread, out = run_in_thread(action)
    return log, barrier, thread, out


def test_the_module_that_ends_the_window_waits_on_the_core_node_from_the_restarts_on(tmp_path):
    """restart.maintenance_off: kato_config starts on the core node as its restart takes its place in line, reads and
    waits at its gate; it turns maintenance mode off at the word, once the core node's restart is done."""
    log, barrier, thread, out = core_closing_the_window(tmp_path)
    time.sleep(0.5)
    starts = [args for event, dummy, dummy2, args in log if event == "start"]
    assert [a["module"] for a in starts] == [None, CONFIG], "the module ending the window did not start early"
    assert starts[1]["order"]["gate"] and starts[1]["order"]["name"] == "core:restart:maintenance_off"
    assert set(starts[1]["order"]) <= set(_order.ORDER_SPEC)
    assert {k: v for k, v in starts[1].items() if k not in ("order", "module")} == \
        {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": False}
    assert [e for e, dummy, dummy2, dummy3 in log].count("change") == 1, "changed before the restart"
    barrier.start("dea1:restart")
    barrier.finish("dea1:restart", _order.DONE)
    thread.join(5)
    assert [a["module"] for e, dummy, dummy2, a in log if e == "start"] == [None, CONFIG, RESTART]
    assert [e for e, dummy, dummy2, dummy3 in log][-5:] == ["start", "change", "changed", "change", "changed"]
    assert out["maintenance_off"]["changed"] and not out.get("failed")


def test_the_module_that_ends_the_window_is_told_to_stop_when_the_restart_does_not_run(tmp_path):
    log, barrier, thread, out = core_closing_the_window(tmp_path)
    time.sleep(0.5)
    barrier.finish("dea1:restart", _order.FAILED, "kato process ready: timed out")
    thread.join(5)
    time.sleep(0.3)
    assert [a["module"] for e, dummy, dummy2, a in log if e == "start"] == [None, CONFIG]
    assert [e for e, dummy, dummy2, dummy3 in log].count("change") == 1, "maintenance mode was changed"
    assert ("not started", _gate.STOP) in [(e, a) for e, dummy, dummy2, a in log]
    assert out["restart"]["not_started"] and "maintenance_off" not in out


def test_maintenance_mode_stays_on_when_a_node_failed_meanwhile(tmp_path):
    barrier = _order.Barrier(str(tmp_path / "order"))

    def outcome(module_name, module_args):
        if module_name == RESTART:
            barrier.finish("router2:restart", _order.FAILED, "kato process ready: timed out")
        return {"changed": True}

    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "core", early=False),
                                 "restart": restart("core:restart", ["core"], early=False, maintenance_off=True)},
                                outcome=outcome)
    result = action.run(task_vars={})
    assert [c[3] for c in calls] == [None, RESTART]
    assert result["maintenance_off"]["skipped"] and "router2:restart failed" in result["maintenance_off"]["msg"]
    assert not result.get("failed")


def test_a_failure_to_turn_maintenance_mode_off_fails_no_step(tmp_path):
    def outcome(module_name, module_args):
        if module_name == CONFIG:
            return {"failed": True, "msg": "kato config set exited 1"}
        return {"changed": True}

    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "core", early=False),
                                 "restart": restart("core:restart", ["core"], early=False, maintenance_off=True)},
                                outcome=outcome)
    result = action.run(task_vars={})
    assert [c[3] for c in calls] == [None, RESTART, CONFIG]
    assert result["maintenance_off"]["failed"] and not result.get("failed") and result["changed"]
    assert _order.Barrier(str(tmp_path / "order")).state("core:restart") == _order.DONE


def test_a_failed_restart_leaves_maintenance_mode_on(tmp_path):
    action, calls = make_action(kato_upgrade.ActionModule,
                                {"order": order(tmp_path, "core", early=False),
                                 "restart": restart("core:restart", ["core"], early=False, maintenance_off=True)},
                                outcome=upgraded_then({"failed": True, "msg": "kato restart exited 1"}))
    result = action.run(task_vars={})
    assert [c[3] for c in calls] == [None, RESTART] and "maintenance_off" not in result and result["failed"]


# ---- started before the window (order.arm, an async job), taken over by the node's task (order.armed) or stopped

def armed_action(tmp_path, args, log, node, work_s=0.0, publish=True, async_val=600, poll=0, jobs=None, start_s=0.0,
                 before_gate=None, turn_s=0.0, at_turn=None):
    """An action whose async module is played here, in a thread: it waits at its gate (module_utils/_gate.py),
    takes turn_s seconds (a DEA's retirement) and says it has begun (Gate.begun), or ends there with ``at_turn`` (a
    refusal), then 'changes' the node for work_s seconds and publishes its end (_gate.publish) as the real one does
    with order.gate.publish; ``jobs`` plays the async job files async_status reads."""
    jobs = jobs if jobs is not None else {}
    action = early_action(tmp_path, args, log, node)
    action._task.async_val = async_val
    action._task.poll = poll
    sync_execute = action._execute_module

    def execute(module_name=None, module_args=None, task_vars=None, wrap_async=False):
        if module_name == "ansible.legacy.async_status":
            log.append(("async_status", node, time.monotonic(), dict(module_args)))
            return jobs.get(module_args["jid"], {"finished": 0, "ansible_job_id": module_args["jid"]})
        if not wrap_async:
            return sync_execute(module_name, module_args, task_vars, wrap_async)
        gate = module_args["order"]["gate"]
        log.append(("start", node, time.monotonic(), dict(module_args, module=module_name)))

        def job():
            time.sleep(start_s)   # its start and reads
            if before_gate is not None:   # it ends before its gate (failed, or nothing to change)
                log.append(("ended", node, time.monotonic(), None))
                _gate.publish(gate["path"], before_gate)
                return
            verdict, why = _gate.wait(gate)
            if verdict != _gate.GO:
                log.append(("not started", node, time.monotonic(), verdict))
                outcome = {"changed": False, "order_gate": verdict, "msg": why}
            elif at_turn is not None:
                log.append(("refused", node, time.monotonic(), None))
                outcome = dict(at_turn)
            else:
                time.sleep(turn_s)
                _gate.Gate({"order": {"gate": gate}}).begun()
                log.append(("change", node, time.monotonic(), None))
                time.sleep(work_s)
                log.append(("changed", node, time.monotonic(), None))
                outcome = {"changed": True, "msg": f"{node} upgraded", "warnings": ["slow cache"]}
            jobs["j1"] = dict(outcome, finished=1, ansible_job_id="j1")
            if gate.get("publish") and publish:
                _gate.publish(gate["path"], outcome)
            elif gate.get("publish"):
                _gate.publish(gate["path"], None)
        threading.Thread(target=job, daemon=True).start()
        return {"started": 1, "finished": 0, "ansible_job_id": "j1", "results_file": "/home/x/.ansible_async/j1"}

    action._execute_module = execute
    return action


def arm(tmp_path, log, node="dea1", args=None, **extra):
    action = armed_action(tmp_path, dict(args or {"version": "3.6.2"}, order=order(tmp_path, node, arm=True)),
                          log, node, **extra)
    return action.run(task_vars={"inventory_hostname": node})


def test_a_module_started_before_the_window_changes_nothing_until_its_node_task_says_go(tmp_path):
    log = []
    started = time.monotonic()
    armed = arm(tmp_path, log, start_s=0.5)["armed"]
    assert time.monotonic() - started >= 0.5, "the task returned before the module waited at its gate"
    assert armed["job"] == "j1" and armed["limit"] == 600
    assert armed["args"] == _ordered_action.arguments_digest({"version": "3.6.2"})
    assert log[0][3]["order"]["gate"] == {"path": armed["path"], "timeout": _ordered_action.GATE_SECONDS, "publish": True}
    time.sleep(0.3)
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start"], "the module changed the node before its turn"
    node = armed_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea1", armed=armed)}, log, "dea1",
                        async_val=0, work_s=0.4)
    with mock.patch.object(_ordered_action.display, "warning") as warning:
        result = node.run(task_vars={"inventory_hostname": "dea1"})
    ended = time.monotonic()
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start", "change", "changed"]
    assert ended - events(log, "dea1")["changed"] < 0.5, "the task did not wake at the module's end"
    assert result["changed"] and result["msg"] == "dea1 upgraded" and result["order_early"] is True
    assert "warnings" not in result
    warning.assert_called_once_with("slow cache")
    assert _order.Barrier(str(tmp_path / "order")).state("dea1") == _order.DONE
    assert _order.Barrier(str(tmp_path / "order")).armed("dea1")
    assert os.listdir(tmp_path / "home" / ".stackato-cluster" / "order") == []


def test_a_module_that_fails_before_its_gate_fails_the_task_before_the_window(tmp_path):
    log = []
    result = arm(tmp_path, log, before_gate={"failed": True, "msg": "dea1: the run lock is held", "cause": "busy"})
    assert result["failed"] and result["armed"] is None and result["cause"] == "busy"
    assert result["msg"] == ("dea1: the upgrade's module failed before the window, before any change: "
                             "dea1: the run lock is held")
    assert os.listdir(tmp_path / "home" / ".stackato-cluster" / "order") == []


def test_a_module_that_ends_before_its_gate_without_a_failure_leaves_the_node_task_to_start_it(tmp_path):
    log = []
    result = arm(tmp_path, log, before_gate={"changed": False, "msg": "already at 3.6.2"})
    assert not result.get("failed") and result["armed"] is None and "already at 3.6.2" in result["msg"]


def test_stop_tells_a_module_started_before_the_window_to_stop_and_waits_for_its_end(tmp_path):
    log = []
    armed = arm(tmp_path, log)["armed"]
    stopper = armed_action(tmp_path, {"order": order(tmp_path, "dea1", armed=armed, stop="the backup failed")},
                           log, "dea1", async_val=0)
    result = stopper.run(task_vars={"inventory_hostname": "dea1"})
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start", "not started"] and log[-1][3] == _gate.STOP
    assert not result["changed"] and result["armed_result"]["order_gate"] == _gate.STOP
    assert result["msg"] == "dea1: the module started before the window was told to stop (the backup failed)"
    assert _order.Barrier(str(tmp_path / "order")).state("dea1") is None
    assert os.listdir(tmp_path / "home" / ".stackato-cluster" / "order") == []


def test_a_module_started_with_other_arguments_is_stopped_and_the_task_starts_its_own(tmp_path):
    log = []
    armed = arm(tmp_path, log)["armed"]
    node = armed_action(tmp_path, {"version": "3.6.3", "order": order(tmp_path, "dea1", armed=armed)}, log, "dea1",
                        async_val=0)
    with mock.patch.object(_ordered_action.display, "warning") as warning:
        result = node.run(task_vars={"inventory_hostname": "dea1"})
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start", "not started", "start", "change", "changed"]
    assert log[1][3] == _gate.STOP and "order" not in log[2][3]
    assert "other arguments" in warning.call_args[0][0]
    assert result["changed"] and result["order_early"] is False


def test_a_module_that_ended_without_a_result_is_read_from_its_async_job(tmp_path):
    log = []
    armed = arm(tmp_path, log, publish=False)["armed"]
    node = armed_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea1", armed=armed)}, log, "dea1",
                        async_val=0, publish=False, jobs={})
    result = node.run(task_vars={"inventory_hostname": "dea1"})
    assert ("async_status", "dea1") in [(e, name) for e, name, dummy, dummy2 in log]
    # async_status of this action reads no record of the job (the arm's jobs are not given to it): not finished
    assert result["failed"] and "gave no result (async job j1" in result["msg"]
    assert _order.Barrier(str(tmp_path / "order")).state("dea1") == _order.FAILED


def test_a_module_that_ended_without_a_result_takes_the_async_job_result_when_finished(tmp_path):
    log, jobs = [], {}
    armed = arm(tmp_path, log, publish=False, jobs=jobs)["armed"]
    node = armed_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea1", armed=armed)}, log, "dea1",
                        async_val=0, publish=False, jobs=jobs)
    result = node.run(task_vars={"inventory_hostname": "dea1"})
    assert result["changed"] and result["msg"] == "dea1 upgraded" and "finished" not in result
    assert _order.Barrier(str(tmp_path / "order")).state("dea1") == _order.DONE


def test_a_node_with_nothing_to_do_stops_its_armed_module(tmp_path):
    log = []
    armed = arm(tmp_path, log)["armed"]
    node = armed_action(tmp_path, {"order": order(tmp_path, "dea1", armed=armed, run=False)}, log, "dea1", async_val=0)
    result = node.run(task_vars={"inventory_hostname": "dea1"})
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start", "not started"]
    assert result["skipped"] and _order.Barrier(str(tmp_path / "order")).state("dea1") == _order.DONE


def test_an_armed_node_is_stopped_when_the_run_already_failed(tmp_path):
    log = []
    armed = arm(tmp_path, log)["armed"]
    _order.Barrier(str(tmp_path / "order")).finish("router1", _order.FAILED, "kato node upgrade exited 1")
    node = armed_action(tmp_path, {"order": order(tmp_path, "dea1", armed=armed)}, log, "dea1", async_val=0)
    result = node.run(task_vars={"inventory_hostname": "dea1"})
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start", "not started"]
    assert result["not_started"] and not result["changed"]


@pytest.mark.parametrize("extra, task, message", [
    ({}, dict(async_val=0), "order.arm starts the module in the background: give the task async"),
    ({}, dict(async_val=600, poll=5), "(async=600, poll=5)"),
    ({"after": ["router1"]}, {}, "order.arm is for a node that follows no node"),
    ({"stop": "x"}, {}, "order.armed, order.stop and order.go are for the tasks after order.arm"),
    ({"go": True}, {}, "order.armed, order.stop and order.go are for the tasks after order.arm"),
])
def test_a_bad_arm_fails_before_anything_starts(tmp_path, extra, task, message):
    log = []
    args = {"order": dict(order(tmp_path, "dea1", arm=True), **extra)}
    action = armed_action(tmp_path, args, log, "dea1", **task)
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert result["failed"] and message in result["msg"] and log == []


def test_go_tells_a_module_started_before_the_window_to_begin_and_its_node_task_takes_its_end(tmp_path):
    log = []
    armed = arm(tmp_path, log, work_s=0.4)["armed"]
    teller = armed_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea1", armed=armed, go=True)},
                          log, "dea1", async_val=0)
    said = time.monotonic()
    result = teller.run(task_vars={"inventory_hostname": "dea1"})
    assert time.monotonic() - said < 0.4, "order.go waited for the module's end"
    assert result == {"changed": False, "said": _gate.GO,
                      "msg": "dea1: the module started before the window was told to begin"}
    assert _order.Barrier(str(tmp_path / "order")).state("dea1") is None, "order.go touched the barrier"
    time.sleep(0.1)
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start", "change"], "the module did not begin at the word"
    # the node's task, told the word was said (armed.said), says nothing and blocks until the module's end
    node = armed_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea1", armed=dict(armed, said=True))},
                        log, "dea1", async_val=0)
    with mock.patch.object(_ordered_action.display, "warning"), \
            mock.patch.object(node, "_say", side_effect=AssertionError("the word was said again")):
        result = node.run(task_vars={"inventory_hostname": "dea1"})
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start", "change", "changed"]
    assert result["changed"] and result["msg"] == "dea1 upgraded"
    assert _order.Barrier(str(tmp_path / "order")).state("dea1") == _order.DONE
    assert os.listdir(tmp_path / "home" / ".stackato-cluster" / "order") == [], "a word or FIFO was left on the node"


def test_go_says_nothing_to_a_module_started_with_other_arguments(tmp_path):
    log = []
    armed = arm(tmp_path, log)["armed"]
    teller = armed_action(tmp_path, {"version": "3.6.3", "order": order(tmp_path, "dea1", armed=armed, go=True)},
                          log, "dea1", async_val=0)
    result = teller.run(task_vars={"inventory_hostname": "dea1"})
    assert result["said"] is None and not result["changed"] and "other arguments" in result["msg"]
    time.sleep(0.2)
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start"], "the module began without its word"
    stopper = armed_action(tmp_path, {"order": order(tmp_path, "dea1", armed=armed, stop="done")}, log, "dea1",
                           async_val=0)
    stopper.run(task_vars={"inventory_hostname": "dea1"})


def test_go_that_cannot_be_said_warns_and_leaves_the_word_to_the_node_task(tmp_path):
    log = []
    armed = arm(tmp_path, log)["armed"]
    teller = armed_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea1", armed=armed, go=True)},
                          log, "dea1", async_val=0)
    with mock.patch.object(teller, "_say", return_value="rc=255: connection lost"), \
            mock.patch.object(_ordered_action.display, "warning") as warning:
        result = teller.run(task_vars={"inventory_hostname": "dea1"})
    assert not result.get("failed") and result["said"] is None and "connection lost" in result["msg"]
    assert "the upgrade's task tells it at the node's turn" in warning.call_args[0][0]
    stopper = armed_action(tmp_path, {"order": order(tmp_path, "dea1", armed=armed, stop="done")}, log, "dea1",
                           async_val=0)
    stopper.run(task_vars={"inventory_hostname": "dea1"})
    assert [e for e, dummy, dummy2, dummy3 in log] == ["start", "not started"]


def tell(tmp_path, log, node, armed, **extra):
    teller = armed_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, node, armed=armed, go=True, **extra)},
                          log, node, async_val=0)
    return teller.run(task_vars={"inventory_hostname": node})


def test_go_with_begun_returns_once_the_module_has_begun(tmp_path):
    log = []
    first = arm(tmp_path, log, "dea1", turn_s=0.4, work_s=0.3)["armed"]
    told = time.monotonic()
    result = tell(tmp_path, log, "dea1", first, begun=True)
    returned = time.monotonic()
    assert result["said"] == _gate.GO and result["begun"] == "begun" and "it has begun changing its node" in result["msg"]
    # it waited for the turn (the retirement), not for the module's end
    assert returned - told >= 0.4 and returned < events(log, "dea1")["change"] + 0.25 < returned + 0.3
    assert "changed" not in events(log, "dea1"), "order.begun waited for the module's end"
    assert _order.Barrier(str(tmp_path / "order")).state("dea1" + _ordered_action.BEGUN_SUFFIX) == _order.DONE
    # the next node's word: said (no node failed); each node's task takes its module's end
    other = arm(tmp_path, log, "router2")["armed"]
    assert tell(tmp_path, log, "router2", other)["said"] == _gate.GO
    for node, armed in (("dea1", first), ("router2", other)):
        taker = armed_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, node, armed=dict(armed, said=True))},
                             log, node, async_val=0)
        with mock.patch.object(_ordered_action.display, "warning"):
            assert taker.run(task_vars={"inventory_hostname": node})["msg"] == f"{node} upgraded"
    assert os.listdir(tmp_path / "home" / ".stackato-cluster" / "order") == [], "a word or FIFO was left on the node"


def test_when_the_first_node_fails_before_it_begins_no_other_node_is_told_and_its_failure_is_reported(tmp_path):
    log = []
    refusal = {"failed": True, "msg": "refusing to retire DEA 127.42.0.5: nothing was changed", "cause": "capacity"}
    first = arm(tmp_path, log, "dea1", at_turn=refusal)["armed"]
    other = arm(tmp_path, log, "router2")["armed"]
    result = tell(tmp_path, log, "dea1", first, begun=True)
    assert result["said"] == _gate.GO and result["begun"] == "ended" and "failed before it began" in result["msg"]
    barrier = _order.Barrier(str(tmp_path / "order"))
    assert barrier.state("dea1" + _ordered_action.BEGUN_SUFFIX) == _order.FAILED and "refusing" in barrier.aborted()
    told = tell(tmp_path, log, "router2", other)
    assert told["said"] is None and "nothing said (dea1:begun failed: it failed before it began" in told["msg"]
    # dea1's task reports its own failure (it was told, as the barrier records even when the task's register does not
    # say so: the abort does not make it "not started"); router2's stops it
    node = armed_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "dea1", armed=first)}, log, "dea1",
                        async_val=0)
    outcome = node.run(task_vars={"inventory_hostname": "dea1"})
    assert outcome["failed"] and outcome["cause"] == "capacity" and not outcome.get("not_started")
    node = armed_action(tmp_path, {"version": "3.6.2", "order": order(tmp_path, "router2", armed=other)}, log,
                        "router2", async_val=0)
    assert node.run(task_vars={"inventory_hostname": "router2"})["not_started"]
    assert [e for e, node, dummy, dummy2 in log if node == "router2"] == ["start", "not started"]


def test_a_first_node_that_was_not_told_is_recorded_not_started_and_stops_nobody(tmp_path):
    log = []
    first = arm(tmp_path, log, "dea1")["armed"]
    teller = armed_action(tmp_path, {"version": "3.6.3", "order": order(tmp_path, "dea1", armed=first, go=True, begun=True)},
                          log, "dea1", async_val=0)
    assert teller.run(task_vars={"inventory_hostname": "dea1"})["said"] is None   # other arguments: nothing said
    barrier = _order.Barrier(str(tmp_path / "order"))
    assert barrier.state("dea1" + _ordered_action.BEGUN_SUFFIX) == _order.STOPPED and barrier.aborted() is None
    other = arm(tmp_path, log, "router2")["armed"]
    assert tell(tmp_path, log, "router2", other)["said"] == _gate.GO
    for node, armed in (("dea1", first), ("router2", other)):
        armed_action(tmp_path, {"order": order(tmp_path, node, armed=armed, stop="done")}, log, node,
                     async_val=0).run(task_vars={"inventory_hostname": node})


@pytest.mark.parametrize("extra, message", [
    ({"begun": True}, "option order.begun is for order.go"),
    ({"go": True}, "order.go tells a module started before the window (order.armed) to begin: give order.armed too"),
    ({"go": True, "armed": {"path": "/x", "job": "j", "limit": 1, "args": "d"}, "stop": "x"}, "not with order.stop"),
])
def test_go_without_armed_or_with_stop_is_refused(tmp_path, extra, message):
    action, calls = make_action(kato_upgrade.ActionModule, {"order": dict(order(tmp_path, "dea1"), **extra)})
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert result["failed"] and message in result["msg"] and calls == []


def test_stop_without_armed_is_refused(tmp_path):
    action, calls = make_action(kato_upgrade.ActionModule, {"order": order(tmp_path, "dea1", stop="the backup failed")})
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert result["failed"] and "give order.armed too" in result["msg"] and calls == []


def test_in_check_mode_nothing_starts_before_the_window(tmp_path):
    log = []
    action = armed_action(tmp_path, {"order": order(tmp_path, "dea1", arm=True)}, log, "dea1")
    action._task.check_mode = True
    result = action.run(task_vars={"inventory_hostname": "dea1"})
    assert result["armed"] is None and not result["changed"] and log == []
    assert result["msg"].startswith("dea1: not started before the window")
