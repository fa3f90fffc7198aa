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

A module started before the window (``order.arm``: an async job, so the controller's call ends while the module
waits) also tells the controller when it ends, with ``order.gate.publish``: ``publish_on_exit`` keeps what the
module returns and, as it exits, writes it to ``<path>.result`` (renamed into place) and then a byte into
``<path>.done``, a second FIFO the controller made; the controller blocks on that FIFO (``result_script``) instead
of polling the async job. When it reaches its gate it says so the same way (``announce``: ``<path>.waiting`` and
a byte), so that the task that started it returns once its reads are done (``ready_script``). The result is the
module's own: what it passed to exit_json or fail_json, without the values of its no_log options, with its
warnings as text (``warnings``). A module that ends without either (an uncaught exception) writes an empty result,
and the controller reads the async job's result instead.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shlex
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
        if spec.get("publish"):
            announce(spec["path"])
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
        self.said_begun = False

    def open(self) -> None:
        """Return at the node's turn (at once without a gate, or when it was already passed); raise NotStarted
        when the controller says stop, does not speak in time, or the gate cannot be used."""
        if self.passed:
            return
        verdict, why = wait(self.spec)
        self.passed = True
        if verdict != GO:
            raise NotStarted(verdict, why)

    def begun(self) -> None:
        """The module has begun changing its node (right before its main command; a DEA's retirement done): say so to
        the controller's task that told it to begin and waits for that (``begun_script``), with ``order.gate.publish``
        only; a no-op otherwise, and when said once already."""
        if self.spec and self.spec.get("publish") and not self.said_begun:
            self.said_begun = True
            announce(self.spec["path"], "begun")

    def discard(self) -> None:
        """The module ends without having needed its turn: remove the FIFO and any word."""
        if self.spec and not self.passed:
            self.passed = True
            _unlink(f"{self.spec['path']}.fifo")
            _unlink(f"{self.spec['path']}.go")


def _owned_file(path: str, owner, data: bytes) -> None:
    """``data`` written to ``path`` (renamed into place), owned like ``owner`` (the FIFO's stat) when root writes it."""
    temporary = f"{path}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        if owner is not None and os.geteuid() == 0 and owner.st_uid != 0:
            os.fchown(handle, owner.st_uid, owner.st_gid)
        while data:
            data = data[os.write(handle, data):]
    finally:
        os.close(handle)
    os.rename(temporary, path)


def _ring(done: str, owner) -> None:
    """A byte into the FIFO ``done`` when someone holds it open (else the controller finds the file it looks for
    when it opens the FIFO)."""
    if owner is None or not stat.S_ISFIFO(owner.st_mode):
        return
    try:
        handle = os.open(done, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return   # ENXIO: nobody waits yet
    try:
        os.write(handle, b"x")
    except OSError:
        pass
    finally:
        os.close(handle)


def _done_stat(path: str):
    try:
        return os.stat(f"{path}.done")
    except OSError:
        return None


def announce(path: str, what: str = "waiting") -> None:
    """The module waits at its gate (its reads are done): ``<path>.waiting``, then a byte into ``<path>.done``, for
    the controller's task that started it before the window (``ready_script``); or (``what`` C(begun)) it has
    begun changing its node: ``<path>.begun``, for the task that told it to begin (``begun_script``)."""
    owner = _done_stat(path)
    try:
        _owned_file(f"{path}.{what}", owner, b"")
    except OSError:
        return   # the controller's wait for it ends at its limit; the word still reaches the module
    _ring(f"{path}.done", owner)


def publish(path: str, result: dict | None) -> None:
    """The module's end, for the controller waiting on ``<path>.done``: ``result`` to ``<path>.result`` (empty when
    None: the module ended without one), renamed into place and owned like the FIFO (the controller reads it as the
    user it connects as), then a byte into the FIFO."""
    owner = _done_stat(path)
    _owned_file(f"{path}.result", owner,
                json.dumps(result, sort_keys=True, default=str).encode("utf-8") if result is not None else b"")
    _ring(f"{path}.done", owner)


def publish_on_exit(module) -> None:
    """With ``order.gate.publish``: the module's result published (``publish``) as it ends, whichever way; a
    no-op otherwise. Call it right after the module's AnsibleModule is made."""
    spec = (module.params.get("order") or {}).get("gate") or {}
    if not spec.get("publish"):
        return
    # deferred: module_utils.basic imports this module's dependents
    from ansible.module_utils.common.parameters import remove_values   # pylint: disable=import-outside-toplevel
    kept = {"result": None, "warnings": [], "ended": False}
    exit_json, fail_json, warn = module.exit_json, module.fail_json, module.warn

    def keep(result):
        preserved = {key: value for key, value in result.items() if value is None or isinstance(value, bool)}
        kept["result"] = dict(remove_values(result, module.no_log_values), **preserved)
        if kept["warnings"]:
            kept["result"]["warnings"] = list(kept["warnings"])

    def keep_warning(warning, *args, **kwargs):
        kept["warnings"].append(str(warning))
        return warn(warning, *args, **kwargs)

    def exit_kept(**kwargs):
        keep(dict(kwargs))
        exit_json(**kwargs)

    def fail_kept(msg, **kwargs):
        keep(dict(kwargs, failed=True, msg=str(msg)))
        fail_json(msg, **kwargs)

    def at_exit():
        if not kept["ended"]:
            kept["ended"] = True
            try:
                publish(spec["path"], kept["result"])
            # the controller's wait ends at its limit, and it reads the async job's result instead
            except OSError:
                pass

    module.exit_json, module.fail_json, module.warn = exit_kept, fail_kept, keep_warning
    atexit.register(at_exit)


def _block_script(path: str, limit: int, until: str) -> str:
    """Hold ``<path>.done`` open, then block on it (one byte at a time, each wait at most ``limit`` seconds) until
    the shell test ``until`` holds; ``$rc``: 0, 124 (the limit passed first). No polling: each round is a byte."""
    base = shlex.quote(path)
    return (f"[ -p {base}.done ] || exit 2; exec 3<>{base}.done; rc=0; "
            f"while ! {{ {until}; }}; do timeout {int(limit)} dd bs=1 count=1 <&3 >/dev/null 2>&1 || {{ rc=$?; break; }}; done; "
            f"exec 3<&-; ")


def ready_script(path: str, limit: int) -> str:
    """The shell command (the controller's, on the node) that blocks until the module started before the window
    waits at its gate (``announce``) or ended before it (``publish``), at most ``limit`` seconds; prints
    ``waiting`` or ``ended`` (then its result stays for ``result_script``). Exit status 124: the limit passed."""
    base = shlex.quote(path)
    return (_block_script(path, limit, f"[ -e {base}.waiting ] || [ -e {base}.result ]")
            + f"if [ -e {base}.result ]; then echo ended; elif [ -e {base}.waiting ]; then echo waiting; fi; "
            f"rm -f {base}.waiting; exit $rc")


def begun_script(path: str, limit: int) -> str:
    """The shell command (the controller's, on the node, right after it said ``go`` to the module started before the
    window) that blocks until the module has begun changing its node (``Gate.begun``) or ended (``publish``), at
    most ``limit`` seconds; prints ``begun``, or ``ended`` and the result on the next line (the result stays for
    ``result_script``), or ``waiting`` (exit status 124: the limit passed first)."""
    base = shlex.quote(path)
    return (_block_script(path, limit, f"[ -e {base}.begun ] || [ -e {base}.result ]")
            + f"if [ -e {base}.result ]; then echo ended; cat {base}.result; elif [ -e {base}.begun ]; then echo begun; "
            f"else echo waiting; fi; rm -f {base}.begun; exit $rc")


def result_script(path: str, limit: int) -> str:
    """The shell command (run by the controller on the node) that blocks until the module published its end
    (``publish``), at most ``limit`` seconds, then prints its result (nothing when it ended without one) and removes
    the files. Exit status 0: it ended; 124: the limit passed first; 2: there is no FIFO to wait on."""
    base = shlex.quote(path)
    return (_block_script(path, limit, f"[ -e {base}.result ]")
            + f"if [ -e {base}.result ]; then cat {base}.result; rc=0; fi; "
            f"rm -f {base}.result {base}.done {base}.waiting {base}.begun {base}.go {base}.fifo; exit $rc")


def exit_not_started(module, exc: NotStarted) -> None:
    """The module's result when the node did not get its turn: nothing changed; C(order_gate) tells the action
    plugin why (it runs the module again at the node's turn after EXPIRED or UNUSABLE)."""
    module.exit_json(changed=False, order_gate=exc.verdict, msg=f"not started on the node: {exc.why}")
