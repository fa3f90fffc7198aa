# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The node's side of an early-started ordered call (module_utils/_gate.py) with a real FIFO, and the shell
commands the action plugin sends to make it and to say its word (run here with sh, as on a node)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
import time

import pytest

from ansible_collections.stackato.cluster.plugins.module_utils import _gate
from ansible_collections.stackato.cluster.plugins.plugin_utils._ordered_action import prepare_script, word_script


def sh(script, home):
    return subprocess.run(["/bin/sh", "-c", script], env={"HOME": str(home), "PATH": os.environ["PATH"]},
                          capture_output=True, text=True, timeout=10, check=False)


@pytest.fixture()
def gate_path(tmp_path):
    out = sh(prepare_script("k1"), tmp_path)
    assert out.returncode == 0, out.stderr
    directory = out.stdout.strip()
    assert directory == str(tmp_path / ".stackato-cluster" / "order")
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_ISFIFO(os.stat(f"{directory}/k1.fifo").st_mode)
    return f"{directory}/k1"


def left_over(path):
    return sorted(name for name in os.listdir(os.path.dirname(path)))


@pytest.mark.parametrize("word, why, expected", [
    (_gate.GO, "", (_gate.GO, "")),
    (_gate.STOP, "dea1 failed: kato node upgrade exited 1", (_gate.STOP, "dea1 failed: kato node upgrade exited 1")),
    (_gate.STOP, "", (_gate.STOP, "the controller stopped the node")),
])
def test_a_word_said_while_the_module_waits_wakes_it_at_once(tmp_path, gate_path, word, why, expected):
    out = {}
    waiter = threading.Thread(target=lambda: out.update(verdict=_gate.wait({"path": gate_path, "timeout": 30}),
                                                        at=time.monotonic()))
    waiter.start()
    time.sleep(0.3)
    assert "verdict" not in out
    said = time.monotonic()
    assert sh(word_script(gate_path, word, why), tmp_path).returncode == 0
    waiter.join(5)
    assert out["verdict"] == expected
    assert out["at"] - said < 0.5
    assert left_over(gate_path) == []


def test_a_word_said_before_the_module_reached_its_turn_is_not_missed(tmp_path, gate_path):
    assert sh(word_script(gate_path, _gate.GO), tmp_path).returncode == 0
    assert _gate.wait({"path": gate_path, "timeout": 30}) == (_gate.GO, "")
    assert left_over(gate_path) == []


def test_without_a_word_the_wait_ends_after_its_timeout(gate_path):
    started = time.monotonic()
    verdict, why = _gate.wait({"path": gate_path, "timeout": 1})
    assert verdict == _gate.EXPIRED and "within 1 s" in why
    assert 0.9 < time.monotonic() - started < 3
    assert left_over(gate_path) == []


def test_a_word_for_a_module_that_has_gone_creates_no_fifo(tmp_path, gate_path):
    os.unlink(f"{gate_path}.fifo")
    assert sh(word_script(gate_path, _gate.GO), tmp_path).returncode == 0
    assert left_over(gate_path) == ["k1.go"]


@pytest.mark.parametrize("make", ["missing", "regular"])
def test_a_gate_that_is_not_a_fifo_is_unusable(tmp_path, make):
    path = str(tmp_path / "g")
    if make == "regular":
        (tmp_path / "g.fifo").write_text("")
    verdict, why = _gate.wait({"path": path, "timeout": 5})
    assert verdict == _gate.UNUSABLE and "g.fifo" in why


def test_the_module_side_gate(gate_path):
    _gate.Gate({}).open()   # no gate: the node's turn is now
    _gate.Gate({"order": None}).open()
    gate = _gate.Gate({"order": {"gate": {"path": gate_path, "timeout": 1}}})
    with pytest.raises(_gate.NotStarted) as raised:
        gate.open()
    assert raised.value.verdict == _gate.EXPIRED
    gate.open()   # passed once: never waits again


def test_a_module_that_did_not_need_its_turn_removes_the_fifo(gate_path):
    gate = _gate.Gate({"order": {"gate": {"path": gate_path, "timeout": 1}}})
    gate.discard()
    assert left_over(gate_path) == []


def test_a_second_prepare_replaces_what_an_earlier_call_left(tmp_path, gate_path):
    assert sh(word_script(gate_path, _gate.STOP, "old"), tmp_path).returncode == 0
    assert sh(prepare_script("k1"), tmp_path).returncode == 0
    assert left_over(gate_path) == ["k1.fifo"]


# ---- a module started before the window (order.arm): its end published, the controller blocking on <path>.done

@pytest.fixture()
def armed_path(tmp_path):
    out = sh(prepare_script("k2", publish=True), tmp_path)
    assert out.returncode == 0, out.stderr
    path = f"{out.stdout.strip()}/k2"
    assert stat.S_ISFIFO(os.stat(f"{path}.fifo").st_mode) and stat.S_ISFIFO(os.stat(f"{path}.done").st_mode)
    return path


def test_a_result_published_before_the_controller_waits_is_read_at_once(tmp_path, armed_path):
    _gate.publish(armed_path, {"changed": True, "msg": "upgraded"})
    started = time.monotonic()
    out = sh(_gate.result_script(armed_path, 5), tmp_path)
    assert out.returncode == 0 and time.monotonic() - started < 2
    assert out.stdout.strip() == '{"changed": true, "msg": "upgraded"}'
    assert left_over(armed_path) == []


def blocked_wait(script, home, why):
    """``script`` run in a thread, still blocked after 0.5 s; join it with ``ended()``: (its output, when it ended)."""
    waiting = {}

    def wait():
        waiting["out"] = sh(script, home)
        waiting["at"] = time.monotonic()
    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), why

    def ended():
        thread.join(8)
        return waiting["out"], waiting["at"]
    return ended


def test_the_controller_blocks_until_the_module_publishes_its_end(tmp_path, armed_path):
    ended = blocked_wait(_gate.result_script(armed_path, 8), tmp_path, "the wait ended before the module published anything")
    published = time.monotonic()
    _gate.publish(armed_path, {"changed": False, "order_gate": "stop", "msg": "not started"})
    out, at = ended()
    assert out.returncode == 0 and '"order_gate": "stop"' in out.stdout
    assert at - published < 1.0, "the wait did not wake at the module's byte"


def test_the_controller_blocks_until_the_module_waits_at_its_gate(tmp_path, armed_path):
    ended = blocked_wait(_gate.ready_script(armed_path, 8), tmp_path, "the wait ended before the module reached its gate")
    module = threading.Thread(target=_gate.wait, args=({"path": armed_path, "timeout": 3, "publish": True},), daemon=True)
    reached = time.monotonic()
    module.start()
    out, at = ended()
    assert out.returncode == 0 and out.stdout == "waiting\n"
    assert at - reached < 1.0
    assert not os.path.exists(f"{armed_path}.waiting")
    sh(word_script(armed_path, _gate.STOP, "test over"), tmp_path)
    module.join(5)


def test_a_module_that_ended_before_its_gate_ends_the_wait_for_the_gate_and_keeps_its_result(tmp_path, armed_path):
    _gate.publish(armed_path, {"failed": True, "msg": "the run lock is held"})
    out = sh(_gate.ready_script(armed_path, 5), tmp_path)
    assert out.returncode == 0 and out.stdout == "ended\n"
    assert '"the run lock is held"' in sh(_gate.result_script(armed_path, 5), tmp_path).stdout


def test_a_module_that_ended_without_a_result_ends_the_wait_with_nothing(tmp_path, armed_path):
    _gate.publish(armed_path, None)
    out = sh(_gate.result_script(armed_path, 5), tmp_path)
    assert out.returncode == 0 and out.stdout == ""


def test_without_an_end_the_wait_stops_at_its_limit(tmp_path, armed_path):
    started = time.monotonic()
    out = sh(_gate.result_script(armed_path, 1), tmp_path)
    assert out.returncode == 124 and out.stdout == "" and 0.9 < time.monotonic() - started < 5


def test_without_its_fifo_the_wait_ends_at_once_and_creates_nothing(tmp_path, armed_path):
    os.unlink(f"{armed_path}.done")
    out = sh(_gate.result_script(armed_path, 30), tmp_path)
    assert out.returncode == 2 and not os.path.exists(f"{armed_path}.done")


class FakeModule:
    """The parts of AnsibleModule publish_on_exit wraps; exit_json and fail_json end with SystemExit as it does."""

    def __init__(self, path, publish=True):
        self.params = {"order": {"gate": {"path": path, "timeout": 300, "publish": publish}}}
        self.no_log_values = {"s3cret"}
        self.warned = []

    def exit_json(self, **kwargs):
        raise SystemExit(0)

    def fail_json(self, msg, **kwargs):
        raise SystemExit(1)

    def warn(self, warning):
        self.warned.append(warning)


def published(path, module_call, publish=True, monkeypatch=None):
    handlers = []
    monkeypatch.setattr(_gate.atexit, "register", handlers.append)
    module = FakeModule(path, publish)
    _gate.publish_on_exit(module)
    with pytest.raises(SystemExit):
        module_call(module)
    for handler in handlers:
        handler()
    return module, handlers


def test_the_published_result_is_what_the_module_returned_with_its_warnings_and_without_secrets(armed_path, monkeypatch):
    def call(module):
        module.warn("the cache node is slow")
        module.exit_json(changed=True, msg="api password s3cret", version_after="3.6.2", ready=False)
    module, dummy = published(armed_path, call, monkeypatch=monkeypatch)
    assert module.warned == ["the cache node is slow"]
    with open(f"{armed_path}.result", encoding="utf-8") as handle:
        assert json.load(handle) == {"changed": True, "msg": "api password ********", "version_after": "3.6.2",
                                     "ready": False, "warnings": ["the cache node is slow"]}


def test_a_failure_is_published_as_failed(armed_path, monkeypatch):
    published(armed_path, lambda module: module.fail_json("kato node upgrade exited 1", cause="kato"), monkeypatch=monkeypatch)
    with open(f"{armed_path}.result", encoding="utf-8") as handle:
        assert json.load(handle) == {"failed": True, "msg": "kato node upgrade exited 1", "cause": "kato"}


def test_a_module_that_raised_publishes_an_empty_result(armed_path, monkeypatch):
    def call(module):
        raise SystemExit(1)   # what AnsiballZ does after printing an uncaught exception
    published(armed_path, call, monkeypatch=monkeypatch)
    with open(f"{armed_path}.result", encoding="utf-8") as handle:
        assert handle.read() == ""


def test_without_publish_nothing_is_wrapped_or_written(armed_path, monkeypatch):
    module, handlers = published(armed_path, lambda module: module.exit_json(changed=True), publish=False,
                                 monkeypatch=monkeypatch)
    assert handlers == [] and not os.path.exists(f"{armed_path}.result")
