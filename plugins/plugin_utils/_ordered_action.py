# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugin of a module with the option ``order`` (kato_upgrade, kato_role): without it the module
runs as without an action plugin; with it the node's call waits on the controller, in the run's barrier
(``_order.Barrier``), until the nodes it follows are done, lets the module change the node, and records how
it ended.

Started early (``order.early``, the default): while the node waits, the module already runs on it, in a thread
of this worker, with ``order.gate`` set - it takes its lock, does its reads and waits on the node, right before
its first change, for this plugin's word (module_utils/_gate.py): ``go`` when the barrier lets the node start,
``stop`` when it does not. So the node's turn costs a word through the connection instead of the module's
start and reads. The FIFO and the word are made and written without privilege escalation, as the connecting
user, in ``~/.stackato-cluster/order``; the word goes through a copy of the connection (the module's call holds
the original). When the module cannot use the FIFO, or waited ``GATE_SECONDS`` without a word, it ends without a
change and is started again (early again after the time limit, at the node's turn otherwise).

kato_upgrade's option ``restart``: once the node's upgrade is done, the same call takes a second turn in the same
barrier under the restart's own name - it waits for the names of ``restart.after`` (every node's upgrade and the
restarts before it), then restarts the node with kato_role (``restart_arguments``), started early on the node once
every name of ``restart.early_after`` (default ``restart.after``) has started - the node_upgrade role names every
node's upgrade there, so every restart's module starts while only the core node changes and waits at its gate; not
right after the node's own upgrade, which is when the next node of its group takes its turn, nor when the restart
before it starts, which is shorter than a module's start. The restart costs no task of its own: no round of every node between the
upgrades and the restarts. A failed restart fails the task (``failed_step`` ``restart``); an upgrade that failed
or did not start leaves the restart not started. With ``restart.maintenance_off`` (the node that restarts last: the
core node) the same call then turns maintenance mode off, once every name its restart followed is done and no node
failed: the window ends with the last restart, not after the tasks that follow it.

Started before the window (``order.arm``, in an async task with ``poll: 0``, for a node that follows no node): the
module starts on the node as an async job with ``order.gate`` set (and ``gate.publish``), takes its lock, does its
reads and waits at its gate; the task returns ``armed`` (where it waits, its job, its time limit, a digest of its
arguments) at once. The node's ordered task, given ``order.armed``, then says ``go`` at the node's turn and blocks
on the node until the module publishes its end (module_utils/_gate.py ``result_script``); a module whose arguments
differ from the task's (another digest) is told ``stop`` and the module starts anew. ``order.stop`` (with
``order.armed``) tells it to stop instead: every failure path between the two tasks says it, and a module that
hears nothing ends by itself after ``GATE_SECONDS`` without a change. ``order.go`` (with ``order.armed``) says
``go`` before the ordered task does - right after the backup, when the task's arguments are the module's - and
returns at once; the ordered task, told so (``order.armed.said``), says nothing and waits for the module's end (a
word said twice would be harmless: the module reads one, the result script removes the other)."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shlex
import threading
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.stackato.cluster.plugins.module_utils import _gate
from ansible_collections.stackato.cluster.plugins.plugin_utils import _order

display = Display()

# connections whose calls are separate processes or channels: a word can go while the module's call runs
EARLY_TRANSPORTS = frozenset(("ssh", "paramiko", "paramiko_ssh", "local"))
# seconds a module started early waits on the node for the word, at most; then it ends and is started again
GATE_SECONDS = 300
GATE_DIR = "$HOME/.stackato-cluster/order"
# order.begun: seconds the word's task waits for the module to have begun changing its node, at most (a DEA's
# retirement comes first); then it returns all the same
BEGUN_SECONDS = 120
# order.begun: the name under which the barrier records that the node began, or failed first: <name>:begun
BEGUN_SUFFIX = ":begun"
# the module of kato_upgrade's option restart: the node's restart after its upgrade, in the same call
RESTART_MODULE = "stackato.cluster.kato_role"
# restart.maintenance_off: maintenance mode turned off by the node that restarts last, right after its restart
# (kato config set cloud_controller_ng maintenance_mode false [doc]), as maintenance_mode's set.yml turns it off
MAINTENANCE_MODULE = "stackato.cluster.kato_config"
MAINTENANCE_OFF = {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": False}


def restart_arguments(restart: dict) -> dict:
    """kato_role's arguments for kato_upgrade's option ``restart``: every role of the node restarted, waited for until
    ready, and the ``restart`` step recorded in the node's progress record when one is given."""
    args = dict(state="restarted", wait=True, wait_timeout=restart["wait_timeout"])
    if restart.get("progress"):
        args["progress"] = dict(path=restart["progress"]["path"], target=restart["progress"]["target"], step="restart")
    return args


def prepare_script(gate_key: str, publish: bool = False) -> str:
    """The shell command that makes a node's FIFO (removing what a crashed call left more than a day ago) and
    prints the directory; with ``publish`` the FIFO of the module's end too (``<key>.done``, order.arm)."""
    base = f'"$d/{gate_key}'
    done = f' && mkfifo {base}.done"' if publish else ""
    return (f'umask 077 && d="{GATE_DIR}" && mkdir -p "$d" && '
            f'{{ find "$d" -mindepth 1 -mmin +1440 -exec rm -f {{}} + 2>/dev/null; true; }} && '
            f'rm -f {base}.fifo" {base}.go" {base}.done" {base}.result" {base}.waiting" && mkfifo {base}.fifo"{done} && '
            f'printf "%s\\n" "$d"')


def arguments_digest(args: dict) -> str:
    """The digest of a module's arguments (without order and restart): the node's ordered task takes over a module
    started before the window (order.armed) only when it would have started it with the same arguments."""
    return hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def word_script(path: str, word: str, why: str = "", then: str = "exit 0") -> str:
    """The shell command that says ``word`` (and why) to a module waiting on ``path``: the word file renamed into
    place, then a byte into the FIFO when it is still there (its reader holds it open: the write never blocks);
    then ``then`` (exit status 1: the word could not be written)."""
    base = shlex.quote(path)
    lines = " ".join(shlex.quote(line) for line in [word, why] if line)
    return (f"umask 077 && printf '%s\\n' {lines} > {base}.go.tmp && mv -f {base}.go.tmp {base}.go || exit 1; "
            f"if [ -p {base}.fifo ]; then printf x 1<>{base}.fifo; fi 2>/dev/null; {then}")


class _EarlyCall:
    """The module running on the node ahead of the node's turn, in a thread of this worker."""

    def __init__(self, action, path, args, task_vars, on_end, module_name=None):
        self.path = path
        self._module_name = module_name
        self.outcome = None
        self.error = None
        self.done = threading.Event()
        self._action, self._args, self._task_vars, self._on_end = action, args, task_vars, on_end
        self._thread = threading.Thread(target=self._run, name="stackato-order-early", daemon=True)
        self._thread.start()

    def _run(self):
        try:
            self.outcome = self._action._module(self._args, self._task_vars, False, self._module_name)
        # re-raised by result()
        except BaseException as exc:   # pylint: disable=broad-exception-caught
            self.error = exc
        finally:
            self.done.set()
            self._on_end()

    def result(self) -> dict:
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.outcome


class _Adopted:
    """The module started before the window (order.arm, an async job), waiting at its gate: the same interface as
    _EarlyCall; ``result()`` blocks on the node until the module published its end (module_utils/_gate.py)."""

    def __init__(self, action, armed, task_vars):
        self.path, self.job, self.limit = armed["path"], armed["job"], armed["limit"]
        # order.go said go already
        self.said = bool(armed.get("said"))
        self.done = threading.Event()
        self._action, self._task_vars = action, task_vars

    def result(self) -> dict:
        try:
            out = self._action._low_level_execute_command(_gate.result_script(self.path, self.limit), sudoable=False)
        finally:
            self.done.set()
        text = (out.get("stdout") or "").strip()
        if out.get("rc") == 0 and text:
            try:
                outcome = json.loads(text)
            except ValueError:
                outcome = None
            if isinstance(outcome, dict):
                for warning in outcome.pop("warnings", None) or []:
                    display.warning(str(warning))
                return outcome
        # it ended without a result (an uncaught exception), was killed at its time limit, or its FIFO is gone:
        # the async job's own record
        status = self._action._module({"jid": self.job, "mode": "status"}, self._task_vars, False,
                                      "ansible.legacy.async_status")
        if status.get("finished") in (1, True, "1"):
            return {key: value for key, value in status.items()
                    if key not in ("ansible_job_id", "started", "finished", "results_file", "stdout", "stderr")}
        return dict(failed=True, changed=False,
                    msg=f"the module started before the window gave no result (async job {self.job}, time limit "
                        f"{self.limit} s; waiting on the node: rc={out.get('rc')} {(out.get('stderr') or '').strip()}); "
                        f"check the node (kato node upgrade may still run there), then re-run: the run resumes")


class OrderedModuleAction(ActionBase):
    _supports_check_mode = True
    _supports_async = True
    # whether the module has the option restart (kato_upgrade): the node's restart after its upgrade, in the same call
    RESTART_OPTION = False

    def _module(self, args, task_vars, wrap_async, module_name=None):
        result = self._execute_module(module_name=module_name, module_args=args, task_vars=task_vars, wrap_async=wrap_async)
        if not wrap_async:
            # the module's temporary directory on the node (async jobs remove their own)
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _prepare_gate(self, order: dict, publish: bool = False) -> str | None:
        """Make the node's FIFO for an early start: its path without suffix, or None (then no early start)."""
        gate_key = _order.key(f"{order['dir']}\0{order['name']}")
        try:
            out = self._low_level_execute_command(prepare_script(gate_key, publish), sudoable=False)
        # the module then starts at the node's turn
        except Exception as exc:   # pylint: disable=broad-exception-caught
            display.vvv(f"order: no early start ({exc})", host=order["name"])
            return None
        lines = (out.get("stdout") or "").strip().splitlines()
        if out.get("rc") != 0 or not lines or not lines[-1].startswith("/"):
            display.vvv(f"order: no early start (rc={out.get('rc')}: {out.get('stderr', '').strip()})", host=order["name"])
            return None
        return f"{lines[-1]}/{gate_key}"

    def _say(self, path: str, word: str, why: str = "") -> str:
        """Say ``word`` to the module waiting on the node; "" when said, else what went wrong."""
        problem, dummy = self._say_then(path, word, why)
        return problem

    def _say_then(self, path: str, word: str, why: str = "", then: str = "exit 0") -> tuple[str, str]:
        """``_say``, then the shell command ``then`` in the same call: ("" or what went wrong, its output)."""
        script = word_script(path, word, why, then)
        try:
            executable = self._play_context.executable or "/bin/sh"
            rc, stdout, stderr = copy.copy(self._connection).exec_command(f"{executable} -c {shlex.quote(script)}",
                                                                          sudoable=False)
        # reported by the caller
        except Exception as exc:   # pylint: disable=broad-exception-caught
            return str(exc), ""
        text = stdout.decode("utf-8", "replace") if isinstance(stdout, bytes) else str(stdout or "")
        if rc != 0:
            error = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else str(stderr)
            return f"rc={rc}: {error.strip()}", text
        return "", text

    def _start_closer(self, order: dict, restart: dict, task_vars: dict):
        """restart.maintenance_off: kato_config started on the node now, as the node's restart takes its place in
        line, so that it has read maintenance mode and waits at its gate when the restart is done - the window's end
        then costs a word, not a module's start. None where it cannot start early (it then runs after the restart)."""
        name = f"{restart['name']}:maintenance_off"
        closing = dict(order, name=name, after=[], armed=None, early=restart["early"], run=True)
        if not self._can_start_early(closing):
            return None
        path = self._prepare_gate(closing)
        if path is None:
            return None
        gated = dict(MAINTENANCE_OFF, order=dict(dir=order["dir"], name=name, gate=dict(path=path, timeout=GATE_SECONDS)))
        return _EarlyCall(self, path, gated, task_vars, on_end=lambda: None, module_name=MAINTENANCE_MODULE)

    def _close(self, closer, task_vars: dict) -> dict:
        """Turn maintenance mode off: the word to the module _start_closer started, or the module now when there is
        none, it could not be told, it did not start (its gate) or it failed (a read before its turn, during the
        restarts: it runs once more now)."""
        if closer is not None:
            if not closer.done.is_set():
                problem = self._say(closer.path, _gate.GO)
                if problem:
                    display.vvv(f"order: maintenance mode off without the module started early ({problem})")
                    closer = None
            if closer is not None:
                outcome = closer.result()
                if not outcome.get("failed") and outcome.get("order_gate") is None:
                    return outcome
        return self._module(dict(MAINTENANCE_OFF), task_vars, False, MAINTENANCE_MODULE)

    def _can_start_early(self, order: dict) -> bool:
        transport = str(getattr(self._connection, "transport", "")).rsplit(".", 1)[-1]
        return bool(order["early"] and order["run"] and not self._task.check_mode
                    and transport in EARLY_TRANSPORTS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname", "?")
        args = dict(self._task.args)
        order = args.pop("order", None)
        # kato_upgrade's option (the module's never sees it); another module's task keeps it, and the module refuses it
        restart = args.pop("restart", None) if self.RESTART_OPTION else None
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        if order is None:
            if restart is not None:
                result.update(failed=True, msg=f"{host}: option restart needs option order (the restart waits in the "
                                               "order's directory): give both, or leave restart out")
                return result
            result.update(self._module(args, task_vars, wrap_async))
            return result

        order, problem = self._validated(host, "order", order, _order.ORDER_SPEC,
                                         "a dict with dir, name and after (see the module's documentation)")
        if restart is not None and problem is None:
            restart, problem = self._validated(host, "restart", restart, _order.RESTART_SPEC,
                                               "a dict with name and after (see the module's documentation)")
            if problem is None and restart["name"] == order["name"]:
                problem = (f"{host}: option restart.name {restart['name']!r} is order.name too: give the restart "
                           "its own name in the order (for example the node's name with :restart)")
            strays = [] if problem is not None else [n for n in restart["early_after"] or [] if n not in restart["after"]]
            if strays:
                problem = (f"{host}: option restart.early_after names {', '.join(map(repr, strays))}, which "
                           "restart.after does not: give names the restart follows (the upgrades), or leave it out")
        if problem is None and order.get("gate") is not None:
            problem = f"{host}: option order.gate is set by the action plugin (order.early), not by a task: leave it out"
        if problem is None and order["arm"]:
            problem = self._arm_problem(host, order, restart)
        elif problem is None and self._task.async_val:
            problem = (f"{host}: option order cannot be combined with async (async={self._task.async_val}): the next "
                       "node would start before this one ended; run without async, or without order (order.arm "
                       "is the one use of async: a module started before the window)")
        if problem is None and order.get("stop") is not None and not order.get("armed"):
            problem = (f"{host}: option order.stop {order['stop']!r} tells a module started before the window "
                       "(order.armed) to stop: give order.armed too, or leave order.stop out")
        if problem is None and order["begun"] and not order["go"]:
            problem = (f"{host}: option order.begun is for order.go (the word to a module started before the window): "
                       "give order.go too, or leave it out")
        if problem is None and order["go"] and (not order.get("armed") or order.get("stop") is not None):
            problem = (f"{host}: option order.go tells a module started before the window (order.armed) to begin: "
                       + ("give order.armed too, or leave order.go out" if not order.get("armed") else
                          f"not with order.stop ({order['stop']!r}): give one of them"))
        if problem is not None:
            result.update(failed=True, msg=problem)
            return result
        if order["arm"]:
            self._arm(host, order, args, task_vars, result)
            return result
        if order.get("stop") is not None:
            self._stop_armed(order, task_vars, result)
            return result
        if order["go"]:
            self._go_armed(host, order, args, result)
            return result
        try:
            barrier = _order.Barrier(order["dir"])
        except _order.OrderError as exc:
            result.update(failed=True, msg=f"{host}: {exc}; nothing was started on this node")
            return result

        # ansible-playbook, whose worker this is: a worker outlives it when it is killed (workers have their own
        # process group), and must then start nothing
        self._controller = os.getppid()
        if restart is None:
            self._ordered(barrier, order, None, args, task_vars, result)
            return result
        restarted = {}
        closing = None
        closer = None
        try:
            state = self._ordered(barrier, order, None, args, task_vars, result)
            result["upgrade_ended_at"] = round(time.time(), 3)
            if state != _order.DONE:
                why = "its upgrade failed" if state == _order.FAILED else "its upgrade did not start"
                restarted.update(skipped=True, not_started=True, changed=False, skip_reason=f"not started: {why}",
                                 msg=f"{restart['name']} was not started: {why}")
            else:
                self._turn_at = None
                if restart["maintenance_off"]:
                    closer = self._start_closer(order, restart, task_vars)
                state = self._ordered(barrier, dict(order, armed=None, name=restart["name"], after=restart["after"],
                                                    run=restart["run"], early=restart["early"]),
                                      RESTART_MODULE, restart_arguments(restart), task_vars, restarted,
                                      early_after=restart.get("early_after"))
                if self._turn_at is not None:
                    restarted.update(started_at=round(self._turn_at, 3), ended_at=round(time.time(), 3))
                if restart["maintenance_off"] and state == _order.DONE:
                    # the window's end, by the node that restarts last, once every name it follows is done and no
                    # node failed; a failure here fails no step: maintenance mode is then still on, and the caller
                    # turns it off itself (post_upgrade), its failure policy applying
                    verdict, why = barrier.blocked(restart["after"])
                    if verdict == "go" and os.getppid() == self._controller:
                        closing, closer = self._close(closer, task_vars), None
                    else:
                        closing = dict(skipped=True, changed=False, msg=f"maintenance mode left on: {why or 'the run has gone'}")
        finally:
            if closer is not None and not closer.done.is_set():
                # the window stays open (the restart failed or did not run, a node failed): the module started for
                # its end must not change anything
                self._say(closer.path, _gate.STOP, "maintenance mode stays on")
            if barrier.state(restart["name"]) is None:
                # the upgrade's phase ended without the restart's (an exception): the nodes after it must not wait
                barrier.finish(restart["name"], _order.STOPPED)
        result["restart"] = restarted
        if closing is not None:
            result["maintenance_off"] = closing
        if restarted.get("failed") or restarted.get("unreachable"):
            result.update(failed=True, failed_step="restart", cause=restarted.get("cause", "restart"),
                          resumable=bool(restarted.get("resumable", False)),
                          msg=f"{order['name']} was upgraded, then its restart failed: {restarted.get('msg', 'no message')}")
            if restarted.get("unreachable"):
                result["unreachable"] = True
        elif not restarted.get("skipped"):
            # the restart ran: the task is not skipped even when the upgrade had nothing to do
            result.pop("skipped", None)
            result.pop("skip_reason", None)
            result["changed"] = bool(result.get("changed") or restarted.get("changed"))
        return result

    def _arm_problem(self, host, order, restart):
        """What keeps the task from starting the module before the window (order.arm), or None."""
        if not self._task.async_val or self._task.poll:
            return (f"{host}: option order.arm starts the module in the background: give the task async (seconds, the "
                    f"module's time limit) and poll 0 (async={self._task.async_val}, poll={self._task.poll})")
        if order["after"]:
            return (f"{host}: option order.arm is for a node that follows no node (order.after is {order['after']}): "
                    "leave order.after empty, or leave order.arm out")
        if restart is not None:
            return f"{host}: option restart is for the node's ordered task, not for order.arm: leave it out"
        if order.get("armed") or order.get("stop") is not None or order["go"]:
            return (f"{host}: options order.armed, order.stop and order.go are for the tasks after order.arm, not for "
                    "order.arm itself")
        return None

    def _arm(self, host, order, args, task_vars, result):
        """order.arm: the module started on the node as an async job, waiting at its gate; ``armed`` says where
        (None, with why in C(msg), when it could not start there: the ordered task then starts it itself)."""
        result.update(changed=False, armed=None)
        why = ""
        if not self._can_start_early(order) or self._connection.has_native_async:
            why = "check mode, order.run false, order.early false, or a connection without a second channel"
        path = None if why else self._prepare_gate(order, publish=True)
        if path is None:
            result["msg"] = f"{host}: not started before the window ({why or 'its FIFO could not be made'})"
            return
        gated = dict(args, order=dict(order, arm=False, gate=dict(path=path, timeout=GATE_SECONDS, publish=True)))
        launched = self._module(gated, task_vars, True)
        job = launched.get("ansible_job_id")
        if launched.get("failed") or launched.get("unreachable") or not job:
            # in case it started after all: it ends at the word without a change
            self._say(path, _gate.STOP, "its start before the window failed")
            result["msg"] = f"{host}: not started before the window: {launched.get('msg', 'no job id')}"
            return
        armed = dict(path=path, job=str(job), limit=int(self._task.async_val), args=arguments_digest(args))
        # the task returns once the module waits at its gate, its reads done: the window opens after them, and a
        # module that fails before its gate (its lock held, a read failing) fails this task, before the window
        out = self._low_level_execute_command(_gate.ready_script(path, min(armed["limit"], GATE_SECONDS)), sudoable=False)
        state = (out.get("stdout") or "").strip()
        if state == "ended":
            outcome = _Adopted(self, armed, task_vars).result()
            if outcome.get("failed") or outcome.get("unreachable"):
                result.update(outcome, changed=False, armed=None)
                result["msg"] = f"{host}: the upgrade's module failed before the window, before any change: {outcome.get('msg', 'no message')}"
                return
            result["msg"] = f"{host}: the upgrade's module ended before the window without needing its turn: {outcome.get('msg', '')}"
            return
        result.update(armed=armed, msg=f"{host}: started, waiting on the node for its turn" if state == "waiting" else
                      f"{host}: started, not waiting at its gate within {min(armed['limit'], GATE_SECONDS)} s "
                      f"(rc={out.get('rc')}): the upgrade's task takes it over or starts it anew")

    def _go_armed(self, host, order, args, result):
        """order.go: the module started before the window told to begin now (right after the backup), when it was
        started with this task's arguments and no node of the task has failed; its ordered task then finds it running.
        The barrier is read for a failure, and written only for order.begun (this node's ``<name>:begun``, recorded
        however the call ends: a failure before it began stops every node not yet told)."""
        result.update(changed=False, said=None)
        # order.begun: DONE once it began (or ended without a failure, or did not begin within BEGUN_SECONDS), FAILED
        # when it failed first (no node starts any more: its own ordered task reports its result), STOPPED when it was
        # not told
        begun, why = _order.STOPPED, "it was not told to begin"
        try:
            if order["armed"]["args"] != arguments_digest(args) or not self._can_start_early(order):
                result["msg"] = (f"{host}: nothing said: the module was started with other arguments than this task's, or "
                                 "this is check mode; the upgrade's task decides at the node's turn")
                return
            failure = _order.Barrier(order["dir"]).aborted()
            if failure:
                # a node of the task failed (one told before it, which failed before it began): its ordered task stops it
                result["msg"] = f"{host}: nothing said ({failure}); the upgrade's task decides at the node's turn"
                return
            if not order["begun"]:
                problem = self._say(order["armed"]["path"], _gate.GO)
                said = not problem
            else:
                problem, out = self._say_then(order["armed"]["path"], _gate.GO,
                                              then=_gate.begun_script(order["armed"]["path"], BEGUN_SECONDS))
                lines = out.strip().splitlines()
                # the script prints only once the word is written
                said = bool(lines)
                if said:
                    begun, result["begun"], why = self._begun_state(lines)
            if not said:
                display.warning(f"{host}: could not tell the module started before the window to begin ({problem}); the "
                                "upgrade's task tells it at the node's turn")
                result["msg"] = f"{host}: nothing said ({problem})"
                return
            result.update(said=_gate.GO, msg=f"{host}: the module started before the window was told to begin"
                                             + (f"; {why}" if order["begun"] else ""))
        except _order.OrderError as exc:
            result["msg"] = f"{host}: nothing said ({exc}); the upgrade's task decides at the node's turn"
        finally:
            if order["begun"]:
                try:
                    _order.Barrier(order["dir"]).finish(order["name"] + BEGUN_SUFFIX, begun,
                                                        why if begun == _order.FAILED else "")
                except _order.OrderError as exc:
                    display.warning(f"{host}: the nodes told after this one are left to the upgrade's task ({exc})")

    @staticmethod
    def _begun_state(lines: list[str]) -> tuple[str, str | None, str]:
        """What ``_gate.begun_script`` printed: (the barrier's state for ``<name>:begun``, RV begun, why)."""
        if lines[0] == "begun":
            return _order.DONE, "begun", "it has begun changing its node"
        if lines[0] == "ended":
            try:
                outcome = json.loads("\n".join(lines[1:]) or "{}")
            except ValueError:
                outcome = {}
            if not isinstance(outcome, dict) or outcome.get("failed") or outcome.get("unreachable"):
                message = outcome.get("msg", "no message") if isinstance(outcome, dict) else "no result"
                return _order.FAILED, "ended", f"it failed before it began changing its node: {message}"
            return _order.DONE, "ended", "it ended without changing its node"
        return _order.DONE, None, f"it had not begun changing its node within {BEGUN_SECONDS} s"

    def _stop_armed(self, order, task_vars, result):
        """order.stop: the module started before the window told to stop, and its end waited for."""
        problem = self._say(order["armed"]["path"], _gate.STOP, order["stop"])
        outcome = _Adopted(self, order["armed"], task_vars).result()
        result.update(changed=bool(outcome.get("changed")), armed_result=outcome,
                      msg=f"{order['name']}: the module started before the window was told to stop ({order['stop']})"
                          + (f"; the word could not be said ({problem}): it ends within {GATE_SECONDS} s" if problem else ""))

    def _validated(self, host, option, value, spec, hint):
        """(the validated option, None), or (None, the message naming the host, the value and the fix)."""
        checked = ArgumentSpecValidator(spec).validate(value if isinstance(value, dict) else {})
        if not isinstance(value, dict) or checked.error_messages:
            why = ("; ".join(("unknown key " if isinstance(error, UnsupportedError) else "") + str(error)
                             for error in checked.errors)
                   if isinstance(value, dict) else f"it is a {type(value).__name__}")
            return None, f"{host}: option {option} {value!r} is not valid ({why}): give {hint}"
        return checked.validated_parameters, None

    _turn_at = None

    def _ordered(self, barrier, order, module_name, args, task_vars, result, early_after=None) -> str:
        """One node's turn in the barrier: wait for ``order.after``, run ``module_name`` (None: the task's module)
        with ``args``, record how it ended; ``result`` is updated. Returns the state recorded for ``order.name``."""
        name = order["name"]
        controller = self._controller
        state = _order.STOPPED
        early = None
        try:
            result.update(order_after=order["after"], order_early=False)
            verdict, why, waited, early, ready = self._wait(barrier, order, args, task_vars, module_name, early_after)
            result.update(order_waited=round(waited, 3))
            if verdict == "go" and os.getppid() != controller:
                verdict, why = "stop", f"the run's ansible-playbook (pid {controller}) has gone"
            if ready is not None and (ready.get("failed") or ready.get("unreachable")):
                # the module failed on the node before its turn, before any change
                state = _order.FAILED
                result.update(ready)
                return state
            if verdict != "go" and isinstance(early, _Adopted) and early.said:
                # told to begin before this task (order.go): it runs whatever the barrier says now (a node that
                # failed since), and its own outcome is this node's
                verdict = "go"
            if verdict != "go":
                if early is not None:
                    self._say(early.path, _gate.STOP, why)
                    early.result()
                    early = None
                result.update(skipped=True, not_started=True, changed=False,
                              skip_reason=f"not started: {why}", msg=f"{name} was not started: {why}")
                return state
            if not order["run"]:
                if early is not None:
                    self._say(early.path, _gate.STOP, "nothing to do on this node")
                    early.result()
                    early = None
                state = _order.DONE
                result.update(skipped=True, changed=False, skip_reason="nothing to do on this node",
                              msg=f"{name}: nothing to do (the nodes before it are done)")
                return state
            state = _order.FAILED
            barrier.start(name, armed=isinstance(early, _Adopted))
            self._turn_at = time.time()
            outcome = ready
            if early is not None:
                problem = "" if getattr(early, "said", False) else self._say(early.path, _gate.GO)
                if problem:
                    result.update(failed=True, msg=f"{task_vars.get('inventory_hostname', name)}: could not tell the "
                                                   f"module waiting on the node to start ({problem}); it ends within "
                                                   f"{GATE_SECONDS} s without a change")
                    early = None
                    return state
                outcome = early.result()
                early = None
                result["order_early"] = outcome.get("order_gate") is None
                if outcome.get("order_gate") in (_gate.EXPIRED, _gate.UNUSABLE, _gate.STOP):
                    outcome = None   # it ended on the node just before the word: start it now
            if outcome is None:
                outcome = self._module(args, task_vars, False, module_name)
            if not (outcome.get("failed") or outcome.get("unreachable")):
                state = _order.DONE
            result.update(outcome)
            return state
        finally:
            if early is not None and not early.done.is_set():
                # this call ends (an exception) while the module waits on the node: it must not start
                self._say(early.path, _gate.STOP, "the controller's call for this node ended")
            # however the call ended (an exception, the connection lost): the nodes after it must not wait forever
            barrier.finish(name, state, str(result.get("msg", "")) if state == _order.FAILED else "")

    def _wait(self, barrier, order, args, task_vars, module_name=None, early_after=None):
        """The barrier's wait, with the module started early on the node meanwhile where it can be.

        Returns (verdict, why, seconds waited, the early call still waiting on the node or None, the result of
        a module that ended before the node's turn without needing it - failed, or with nothing to change -
        or None)."""
        name, after, timeout = order["name"], order["after"], order["timeout"]
        armed = order.get("armed")
        if armed:
            adopted = _Adopted(self, armed, task_vars)
            # told by order.go with order.begun: recorded in the barrier (the task's register may not say it)
            if barrier.state(name + BEGUN_SUFFIX) in (_order.DONE, _order.FAILED):
                adopted.said = True
            if armed["args"] == arguments_digest(args) and self._can_start_early(order):
                verdict, why, waited = barrier.wait(name, after, timeout)
                return verdict, why, waited, adopted, None
            # started with other arguments than this task's (or now in check mode): it stops, and the module starts
            # as without order.armed
            self._say(armed["path"], _gate.STOP, "started with other arguments than the node's task")
            adopted.result()
            display.warning(f"{name}: the module started before the window had other arguments than this task; "
                            "it was stopped and the module runs again")
        verdict, why = barrier.blocked([a for a in after if a != name])
        path, waited = None, 0.0
        if verdict == "wait" and self._can_start_early(order):
            # the module starts early once the nodes this one follows have started and the first node of the task
            # has ended: the nodes that start now go first (a start of every waiting node with them would share
            # the controller, and the nodes' machines where they share one, with them), and a node starts early
            # only when it is next in line. Nodes whose modules were started before the window (order.arm) start
            # none now: after them it starts once they have started
            # ``early_after`` (kato_upgrade's restart.early_after): the names whose start makes a restart next in line
            # instead of every name it follows - every node's upgrade (the core node's starts last), not the restart
            # before it: a restart's turn (kato restart and the processes' start-up) is shorter than a module's start,
            # so each restart's module then waits at its gate before the one before it ends
            def next_in_line(dummy_wakes):
                followed = [a for a in (after if early_after is None else early_after) if a != name]
                return (all(barrier.started(a) for a in followed)
                        and (barrier.any_ended() or bool(followed) and all(barrier.armed(a) for a in followed))
                        and os.getppid() == self._controller)
            verdict, why, waited = barrier.wait(name, after, timeout, interrupted=next_in_line)
            if verdict != "interrupted":
                return verdict, why, waited, None, None
            path = self._prepare_gate(order)
        while True:
            early = None
            if path is not None:
                gated = dict(args, order=dict(order, gate=dict(path=path, timeout=GATE_SECONDS)))
                early = _EarlyCall(self, path, gated, task_vars, on_end=lambda: barrier.wake(name), module_name=module_name)
            left = max(timeout - waited, 0.001) if timeout > 0 else 0
            verdict, why, spent = barrier.wait(name, after, left,
                                               interrupted=(lambda wakes: early.done.is_set()) if early is not None else None)
            waited += spent
            if verdict != "interrupted":
                return verdict, why, waited, early, None
            ended = early.result()
            gate = ended.get("order_gate")
            if gate == _gate.EXPIRED:
                path = self._prepare_gate(order)   # waited its time on the node: start it again
            elif gate in (_gate.UNUSABLE, _gate.STOP):
                path = None   # at the node's turn instead
            else:
                # failed before its turn, or nothing to change: its result stands, once the nodes before it are
                # done when it did not fail
                if ended.get("failed") or ended.get("unreachable"):
                    return "stop", "", waited, None, ended
                verdict, why, spent = barrier.wait(name, after, max(timeout - waited, 0.001) if timeout > 0 else 0)
                return verdict, why, waited + spent, None, ended
