# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nodes that run one task together, each starting after the nodes it follows: a barrier on the controller.

The action plugins of kato_upgrade and kato_role (option ``order``) use it so that one task upgrades (or restarts)
every node of a play in the order of ``stackato.cluster.upgrade_after``, instead of one task per wave in lock
step. Every node's call runs in its own ansible-playbook worker on the controller, at the same time (the play
needs ``forks`` >= its nodes; the roles fall back to the waves otherwise), and they meet in a directory of
this run on the controller:

- ``<key>.state``: a node's outcome, ``done``, ``failed`` or ``stopped`` (did not start), written once,
  atomically (rename), when its call ends, whatever the way it ends;
- ``abort``: written with the first failure; a node that has not started yet does not start then;
- ``<key>.started``: the node got its turn and changes its node now;
- ``<key>.sock``: a Unix socket a waiting node listens on; a node whose call ends connects to every one of
  them, which wakes their owners to read the states again. The wait blocks in accept(): no polling, and a node
  starts within a connect of its last predecessor's end. It binds before it reads the states, and a
  predecessor writes its state before it connects, so a wake-up cannot be missed.

``key`` is a hash of the host's name (a socket's path is limited to about 100 bytes). Standard library only
(and the option's spec from module_utils).
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import time

from ansible_collections.stackato.cluster.plugins.module_utils import _order_spec

DONE, FAILED, STOPPED = "done", "failed", "stopped"
STATES = (DONE, FAILED, STOPPED)
ABORT = "abort"
# the content of a node's .started file when its module was started before the window (order.arm)
ARMED = "armed"

# the option's keys, as the modules accept them (module_utils/_order_spec.py)
ORDER_SPEC = _order_spec.ORDER_OPTIONS
RESTART_SPEC = _order_spec.RESTART_OPTIONS


class OrderError(Exception):
    """The barrier cannot be used (its directory, a socket): the node did not start."""


def key(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:20]


def private_dir(path: str) -> str:
    """``path`` as a directory only this user can use: created 0700 when missing; refused when it is a
    symbolic link, another user's or open to others (a shared /tmp)."""
    path = os.path.abspath(os.path.expanduser(path))
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
    except OSError as exc:
        raise OrderError(f"cannot create the order directory {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise OrderError(f"the order directory {path} is not a directory (a symbolic link?)")
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OrderError(f"the order directory {path} must belong to this user with mode 0700 "
                         f"(it has uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):04o})")
    return path


class Barrier:
    """The meeting place of one task's nodes (a directory of this run on the controller)."""

    def __init__(self, directory: str):
        self.dir = private_dir(directory)

    def _path(self, name: str, suffix: str) -> str:
        return os.path.join(self.dir, f"{key(name)}.{suffix}")

    def state(self, name: str) -> str | None:
        try:
            with open(self._path(name, "state"), encoding="utf-8") as handle:
                value = handle.read().strip()
        except FileNotFoundError:
            return None
        return value if value in STATES else None

    def any_ended(self) -> bool:
        """Whether a node's call has ended (its state is recorded)."""
        return any(entry.endswith(".state") for entry in os.listdir(self.dir))

    def started(self, name: str) -> bool:
        """Whether ``name`` got its turn (``start``) or its call ended."""
        return os.path.exists(self._path(name, "started")) or os.path.exists(self._path(name, "state"))

    def start(self, name: str, armed: bool = False) -> None:
        """Record that ``name`` got its turn and changes its node now, and wake the waiting nodes (a node started
        early waits until the nodes it follows have started: ``_ordered_action``). ``armed``: its module was started
        before the window (order.arm), so its turn starts no module on the controller's machine."""
        self._write(self._path(name, "started"), ARMED if armed else "")
        self.wake()

    def armed(self, name: str) -> bool:
        """Whether ``name`` got its turn with a module started before the window (``start(name, armed=True)``)."""
        try:
            with open(self._path(name, "started"), encoding="utf-8") as handle:
                return handle.read().strip() == ARMED
        except FileNotFoundError:
            return False

    def aborted(self) -> str | None:
        """The first failure's message, when a node failed."""
        try:
            with open(os.path.join(self.dir, ABORT), encoding="utf-8") as handle:
                return handle.read().strip() or "a node failed"
        except FileNotFoundError:
            return None

    def _write(self, path: str, text: str, exclusive: bool = False) -> None:
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        if exclusive:
            try:
                os.link(temporary, path)   # the first writer wins
            except FileExistsError:
                pass
            os.unlink(temporary)
        else:
            os.replace(temporary, path)

    def blocked(self, after) -> tuple[str, str]:
        """("go", "") when every node of ``after`` is done and no node failed; ("stop", why) when the node must
        not start; ("wait", whom) otherwise."""
        failure = self.aborted()
        if failure:
            return "stop", failure
        waiting = []
        for name in after:
            value = self.state(name)
            if value in (FAILED, STOPPED):
                return "stop", f"{name} {'failed' if value == FAILED else 'did not start'}"
            if value != DONE:
                waiting.append(name)
        return ("wait", ", ".join(waiting)) if waiting else ("go", "")

    def wait(self, name: str, after, timeout: float = 0, interrupted=None) -> tuple[str, str, float]:
        """Block until ``name`` may start: (verdict "go" or "stop", why, seconds waited). ``timeout`` > 0 bounds
        the wait (then "stop"). ``interrupted(wakes)``: called with the number of wake-ups so far before every
        wait in accept(); when it returns true the wait ends with the verdict "interrupted" (whoever makes it
        true calls ``wake(name)`` after)."""
        start = time.monotonic()
        after = [a for a in after if a != name]
        verdict, why = self.blocked(after)
        if verdict != "wait":
            return verdict, why, 0.0
        path = self._path(name, "sock")
        wakes = 0
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            try:
                listener.bind(path)
                listener.listen(64)
            except OSError as exc:
                raise OrderError(f"cannot listen on {path}: {exc.strerror or exc}") from exc
            while True:
                # bound first, then read: a predecessor that ended before the bind wrote its state before it
                # connected, so the read sees it; one that ends after the bind wakes this accept()
                verdict, why = self.blocked(after)
                if verdict != "wait":
                    return verdict, why, time.monotonic() - start
                if interrupted is not None and interrupted(wakes):
                    return "interrupted", why, time.monotonic() - start
                left = timeout - (time.monotonic() - start) if timeout > 0 else None
                if left is not None and left <= 0:
                    return "stop", f"waited {timeout} s for {why}", time.monotonic() - start
                listener.settimeout(left)
                try:
                    connection, _address = listener.accept()
                    connection.close()
                    wakes += 1
                except socket.timeout:
                    continue
        finally:
            listener.close()
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def finish(self, name: str, state: str, msg: str = "") -> None:
        """Record how ``name``'s call ended (and, when it failed, that no node may start any more), then wake
        every waiting node."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        if state == FAILED:
            self._write(os.path.join(self.dir, ABORT), f"{name} failed: {msg}".strip() if msg else f"{name} failed",
                        exclusive=True)
        self._write(self._path(name, "state"), state)
        self.wake()

    def wake(self, name: str | None = None) -> None:
        """Wake every waiting node, or only ``name``."""
        entries = [f"{key(name)}.sock"] if name is not None else \
            [entry for entry in os.listdir(self.dir) if entry.endswith(".sock")]
        for entry in entries:
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                client.settimeout(5)
                client.connect(os.path.join(self.dir, entry))
            except OSError:
                # its owner has gone (it read the states and left), or is not waiting: nothing to wake
                pass
            finally:
                client.close()
