# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The node's side of an ordered call started early (option ``order``, ``early``; the controller's side is
plugins/plugin_utils/_ordered_action.py).

While a node waits for the nodes it follows, its action plugin already runs the module on it, with
``order.gate`` set: the module takes its lock and does its reads, then waits here, right before its first change,
for the controller's word. The controller made ``<path>.fifo`` (a FIFO) before it started the module, and says
its word by writing ``<path>.go`` (``go``, or ``stop`` and why, renamed into place) and then a byte into the
FIFO. The wait blocks in select() on the FIFO, opened read-write so that it never sees an end of file, and reads
the word file when it wakes and once before it first blocks (a word said before the FIFO was opened is not
missed). No polling; the node starts within a write of the controller's decision.
"""

from __future__ import annotations

import os
import select
import stat
import time

GO, STOP = "go", "stop"
# the call ended without its turn: the controller runs the module again at the node's turn
EXPIRED, UNUSABLE = "expired", "unusable"


class NotStarted(Exception):
    """The node did not reach its turn: ``verdict`` is STOP, EXPIRED or UNUSABLE, nothing was changed."""

    def __init__(self, verdict: str, why: str):
        super().__init__(why)
        self.verdict = verdict
        self.why = why


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def read_word(path: str) -> tuple[str, str] | None:
    """The controller's word in ``path``: (GO, "") or (STOP, why); None when it has not said one."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return None
    if lines and lines[0] == GO:
        return GO, ""
    if lines and lines[0] == STOP:
        return STOP, " ".join(lines[1:]).strip() or "the controller stopped the node"
    return None


def wait(spec: dict) -> tuple[str, str]:
    """Block until the controller's word at ``spec["path"]``, at most ``spec["timeout"]`` seconds: (GO, ""),
    (STOP, why), (EXPIRED, why) or (UNUSABLE, why). Removes the FIFO and the word file."""
    fifo, word = f"{spec['path']}.fifo", f"{spec['path']}.go"
    try:
        handle = os.open(fifo, os.O_RDWR | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        return UNUSABLE, f"cannot open {fifo}: {exc.strerror or exc}"
    try:
        if not stat.S_ISFIFO(os.fstat(handle).st_mode):
            return UNUSABLE, f"{fifo} is not a FIFO"
        deadline = time.monotonic() + max(int(spec.get("timeout") or 0), 1)
        while True:
            said = read_word(word)
            if said is not None:
                return said
            left = deadline - time.monotonic()
            if left <= 0:
                return EXPIRED, f"no word from the controller within {spec.get('timeout')} s"
            ready, dummy, dummy2 = select.select([handle], [], [], left)
            if ready:
                try:
                    os.read(handle, 512)
                except BlockingIOError:
                    pass
    finally:
        # unlinked before it is closed: a writer either finds it open (never blocks) or does not find it
        _unlink(fifo)
        os.close(handle)
        _unlink(word)


class Gate:
    """The node's turn, for a module: ``open()`` right before the first change; a no-op without ``order.gate``."""

    def __init__(self, params: dict):
        self.spec = (params.get("order") or {}).get("gate")
        self.passed = not self.spec

    def open(self) -> None:
        """Return at the node's turn (at once without a gate, or when it was already passed); raise NotStarted
        when the controller says stop, does not speak in time, or the gate cannot be used."""
        if self.passed:
            return
        verdict, why = wait(self.spec)
        self.passed = True
        if verdict != GO:
            raise NotStarted(verdict, why)

    def discard(self) -> None:
        """The module ends without having needed its turn: remove the FIFO and any word."""
        if self.spec and not self.passed:
            self.passed = True
            _unlink(f"{self.spec['path']}.fifo")
            _unlink(f"{self.spec['path']}.go")


def exit_not_started(module, exc: NotStarted) -> None:
    """The module's result when the node did not get its turn: nothing changed; C(order_gate) tells the action
    plugin why (it runs the module again at the node's turn after EXPIRED or UNUSABLE)."""
    module.exit_json(changed=False, order_gate=exc.verdict, msg=f"not started on the node: {exc.why}")
