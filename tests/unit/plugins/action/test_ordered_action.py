# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugins of kato_upgrade and kato_role (plugin_utils/_ordered_action.py): the module's arguments
without ``order``, the wait, and the outcome recorded for the nodes after it. The module's call on the node is
replaced (``_execute_module``); the barrier is real."""

from __future__ import annotations

import threading
import time
from unittest import mock

import pytest
from ansible.plugins.action import ActionBase

from ansible_collections.stackato.cluster.plugins.action import kato_role, kato_upgrade
from ansible_collections.stackato.cluster.plugins.plugin_utils import _order


def make_action(cls, args, outcome=None, async_val=0, calls=None, raises=None):
    task = mock.MagicMock()
    task.args = args
    task.async_val = async_val
    connection = mock.MagicMock()
    connection.has_native_async = False
    action = cls(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock())
    calls = calls if calls is not None else []

    def execute(module_args=None, task_vars=None, wrap_async=False):
        calls.append((dict(module_args), wrap_async, time.monotonic()))
        if raises:
            raise raises
        return dict(outcome or {"changed": True, "msg": "upgraded"})

    action._execute_module = execute
    action._remove_tmp_path = mock.MagicMock()
    return action, calls


@pytest.fixture(autouse=True)
def base_run():
    with mock.patch.object(ActionBase, "run", return_value={}):
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
    assert out["order_after"] == ["dea1"] and out["order_waited"] >= 0.3


@pytest.mark.parametrize("outcome", [{"failed": True, "msg": "kato node upgrade exited 1"},
                                     {"unreachable": True, "msg": "ssh: connection lost"}])
def test_a_failed_node_stops_the_nodes_after_it(tmp_path, outcome):
    first = make_action(kato_upgrade.ActionModule, {"order": order(tmp_path, "dea1")}, outcome=outcome)[0]
    assert first.run(task_vars={}) == outcome | {"order_after": [], "order_waited": 0.0}
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
    ({"dir": "/x", "name": "dea1", "after": "dea0", "colour": 1}, "(unknown key colour. Supported parameters include: after, dir, name, run, timeout"),
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
