# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The node's side of an early-started ordered call (module_utils/_gate.py) with a real FIFO, and the shell
commands the action plugin sends to make it and to say its word (run here with sh, as on a node)."""

from __future__ import annotations

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
