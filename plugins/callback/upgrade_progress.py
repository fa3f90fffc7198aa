# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: upgrade_progress
type: aggregate
short_description: Progress lines, a JSONL event log and a report of every stackato.cluster run
version_added: 1.1.0
description:
  - Next to Ansible's own output (it replaces nothing), prints a progress line when a node starts a step of the
    upgrade - C(node N of M), the step, the time elapsed and an ETA from the plan - the C(plan.json) that
    playbook stackato.cluster.plan wrote in the runs directory when it was made after the latest run for this target
    and these nodes, else the same estimates from the inventory's groups and earlier runs' event logs.
  - Writes the run's event log on the controller, one JSON object a line (C(events.jsonl)) - per node and step its
    start, end, result and recoveries (C(attempts), C(recovered) of M(stackato.cluster.kato_upgrade)), the versions
    read, warnings, and maintenance mode turned on and off.
  - At the end of every run, success or failure, writes the report built from that log, C(report.json) and a
    self-contained C(report.html) (inline CSS and SVG timeline, no network fetch), and prints where they are.
  - A step is named by the task's role and task file (preflight, prefetch, maintenance on, backup, gates, retire,
    upgrade, ready, verify, restart, maintenance off); tasks outside the collection's roles are not logged.
  - Enable it without changing any playbook - C(ANSIBLE_CALLBACKS_ENABLED=stackato.cluster.upgrade_progress), or
    C(callbacks_enabled = stackato.cluster.upgrade_progress) in the C([defaults]) section of C(ansible.cfg).
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
requirements:
  - enable in configuration (see the description)
options:
  runs_dir:
    description:
      - The directory that receives one directory per run (named by its UTC start, C(20260101T120000Z)) holding
        C(events.jsonl), C(report.json) and C(report.html).
      - Default - C(stackato-runs) next to the inventory (beside an inventory directory, or in an inventory file's
        directory); the working directory when the inventory is not a path.
    type: path
    env:
      - name: STACKATO_RUNS_DIR
    ini:
      - section: callback_upgrade_progress
        key: runs_dir
  traffic_result:
    description:
      - A traffic measurement (the JSON result of C(tests/traffic/loadgen.py)) to put in the report as failed
        requests. Default - C(traffic.json) in the run's directory, when present.
    type: path
    env:
      - name: STACKATO_TRAFFIC_RESULT
    ini:
      - section: callback_upgrade_progress
        key: traffic_result
  progress:
    description: Print the progress lines (the event log and the report are written either way).
    type: bool
    default: true
    env:
      - name: STACKATO_PROGRESS
    ini:
      - section: callback_upgrade_progress
        key: progress
"""

import json
import os
import time

from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.stackato.cluster.plugins.module_utils import _report
from ansible_collections.stackato.cluster.plugins.module_utils import _plan
from ansible_collections.stackato.cluster.plugins.module_utils._plan import upgrade_order

GROUPS = ("core", "controller", "router", "dea", "data_services")


class CallbackModule(CallbackBase):
    """Logs each node's steps, prints progress, and writes the report when the playbook ends."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "stackato.cluster.upgrade_progress"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._dir = None
        self._log = None
        self._playbook = None
        self._started = None
        self._order = []
        self._plan = {}
        self._current = {}      # host -> (step, started)
        self._pending = {}      # host -> (step, started) of the task that started, until it has a result
        self._done = set()
        self._shown = set()
        self._progress = True
        self._planned = False
        self._task_start = {}   # host -> when its latest logged task started
        self._recoveries = {}   # host -> (attempts, recovered) of its last kato_upgrade

    # --- the event log -------------------------------------------------------------------------

    def _write(self, kind, ts=None, **fields):
        if self._log is None:
            return
        self._log.write(json.dumps(_report.event(kind, ts, **fields), sort_keys=True) + "\n")
        self._log.flush()

    def v2_playbook_on_start(self, playbook):
        self._progress = bool(self.get_option("progress"))
        self._playbook = os.path.basename(getattr(playbook, "_file_name", "") or "")
        sources = context.CLIARGS.get("inventory") or ()
        base = _report.runs_dir(sources, self.get_option("runs_dir"))
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path, n = os.path.join(base, stamp), 1
        while os.path.exists(path):
            n += 1
            path = os.path.join(base, f"{stamp}-{n}")
        try:
            os.makedirs(path, mode=0o700)
            self._log = open(os.path.join(path, "events.jsonl"), "w", encoding="utf-8")  # pylint: disable=consider-using-with
            self._dir = path
        except OSError as exc:
            self._display.warning(f"upgrade_progress: cannot write the event log under {base}: {exc}")
        self._started = time.time()

    def v2_playbook_on_play_start(self, play):
        if self._planned or self._log is None:
            return
        self._planned = True
        try:
            manager = play.get_variable_manager()
            inventory = manager._inventory  # pylint: disable=protected-access
            # the groups themselves: get_hosts() would honour the play's restriction
            groups = {g: [h.name for h in inventory.groups[g].get_hosts()] for g in GROUPS if g in inventory.groups}
            hosts = [h.name for h in inventory.groups["stackato"].get_hosts()] if "stackato" in inventory.groups else []
        except Exception:  # pylint: disable=broad-except
            groups, hosts = {}, []
        stages = upgrade_order(groups)
        self._order = [h for _stage, members in stages for h in members] + \
            [h for h in hosts if h not in [m for _s, ms in stages for m in ms]]
        nodes = {h: {"roles": [g for g in GROUPS if h in groups.get(g, [])]} for h in self._order}
        target = None
        if self._order:
            try:
                target = manager.get_vars(play=play, host=inventory.get_host(self._order[0]),
                                          include_hostvars=False).get("stackato_target_version")
                target = str(target) if target and "{" not in str(target) else None
            except Exception:  # pylint: disable=broad-except
                target = None
        self._plan, source = self._load_plan(groups, target)
        for row in self._plan.get("nodes", []):
            if row.get("node") in nodes:
                nodes[row["node"]]["components"] = len(row.get("components") or [])
        self._write("run_start", self._started, playbook=self._playbook, inventory=list(context.CLIARGS.get("inventory") or ()),
                    check=bool(context.CLIARGS.get("check")), nodes=nodes, order=self._order, target=target)
        self._write("plan", source=source, window_s=self._plan.get("window_s"), pending=self._plan.get("pending"))

    def _load_plan(self, groups, target):
        """The plan of stackato.cluster.plan (plan.json in the runs directory) when it was made after the
        latest earlier run that upgraded a node, for this target and these nodes; else the estimate from the inventory's groups
        and the earlier runs' event logs (every node counted as pending)."""
        base = os.path.dirname(self._dir)
        path = os.path.join(base, "plan.json")
        try:
            latest = 0.0
            for name in sorted(os.listdir(base), reverse=True):
                log = os.path.join(base, name, "events.jsonl")
                if os.path.join(base, name) == self._dir or not os.path.isfile(log):
                    continue
                if any(e.get("event") == "step_start" and e.get("step") in _plan.NODE_STEPS for e in _report.read_events(log)):
                    latest = os.path.getmtime(log)
                    break
            if os.path.getmtime(path) > latest:
                with open(path, encoding="utf-8") as handle:
                    plan = json.load(handle)
                if plan.get("target") == target and sorted(r.get("node") for r in plan.get("nodes", [])) == sorted(self._order):
                    return plan, path
        except (OSError, ValueError, TypeError, AttributeError):
            pass
        measured = _plan.measured_steps([_report.history_rows(events) for events in _report.load_history(base)])
        return _plan.estimate(groups, {}, target or "0", measured=measured), "estimate"

    # --- steps ---------------------------------------------------------------------------------

    def _step_of(self, host, task):
        if str(task.action).endswith("validate_argument_spec"):
            return None
        role = getattr(task, "_role", None)
        role_name = role.get_name() if role is not None else ""
        args = getattr(task, "args", None) or {}
        maintenance = None
        if str(task.action).endswith("kato_config") and "maintenance_mode" in str(args.get("key", "")):
            value = str(args.get("value", "")).lower()
            maintenance = True if value in ("true", "yes", "1") else (False if value in ("false", "no", "0") else None)
        current = self._current.get(host, (None, 0))[0]
        return _report.step_of(role_name, task.get_path() or "", task.get_name(), current, maintenance)

    def v2_runner_on_start(self, host, task):
        if self._order and host.get_name() not in self._order:
            return
        step = self._step_of(host.get_name(), task)
        if step:
            self._pending[host.get_name()] = (step, time.time())
            self._task_start[host.get_name()] = time.time()

    def _enter(self, host):
        pending = self._pending.pop(host, None)
        if pending is None:
            return self._current.get(host, (None, 0))[0]
        step, ts = pending
        current = self._current.get(host)
        if current and current[0] == step:
            return step
        if current:
            self._end(host, "ok", ts)
        self._current[host] = (step, ts)
        self._write("step_start", ts, node=host, step=step)
        self._show(host, step, ts)
        return step

    def _end(self, host, result, ts=None, **fields):
        current = self._current.pop(host, None)
        if current:
            attempts, recovered = self._recoveries.pop(host, (0, False))
            fields.setdefault("attempts", attempts)
            fields.setdefault("recovered", recovered)
            self._write("step_end", ts, node=host, step=current[0], result=result, **fields)
            self._done.add((host, current[0]))

    def _show(self, host, step, ts):
        if not self._progress or step in _report.MINOR_STEPS:
            return
        kind = _report.STEP_KIND.get(step, "node")
        key = step if kind == "all" else (host, step)
        if key in self._shown:
            return
        self._shown.add(key)
        current = {(h, s): t for h, (s, t) in self._current.items()}
        left = _report.remaining(self._plan, self._done, current, ts) if self._plan else 0.0
        eta = time.strftime("%H:%M:%S UTC", time.gmtime(ts + left))
        total = len(self._order)
        where = (f"{step} on {total} node(s)" if kind == "all" or host not in self._order
                 else f"node {self._order.index(host) + 1} of {total} ({host}): {step}")
        self._display.display(f"[stackato] {where}; elapsed {_report.clock(ts - (self._started or ts))}, "
                              f"ETA {eta} (about {_report.clock(left)} left)", color="cyan")

    def _observe(self, host, result, step):
        res = result._result if isinstance(getattr(result, "_result", None), dict) else {}  # pylint: disable=protected-access
        task = result._task  # pylint: disable=protected-access
        action = str(task.action)
        if action.endswith("kato_info") and res.get("version") and not res.get("failed"):
            self._write("version", node=host, version=res["version"])
        if action.endswith("kato_upgrade") and res.get("version_after") and (not res.get("failed") or res.get("failed_step") == "restart"):
            self._write("version", node=host, version=res["version_after"])
        for warning in res.get("warnings") or []:
            self._write("warning", node=host, step=step, message=str(warning))
        if step in ("maintenance on", "maintenance off") and action.endswith("kato_config") and res.get("changed") \
                and not context.CLIARGS.get("check") and not res.get("failed"):
            # the moment kato made the change (kato_config's changed_at), else the middle of the task
            now = time.time()
            when = res.get("changed_at")
            when = float(when) if isinstance(when, (int, float)) else (self._task_start.get(host, now) + now) / 2
            self._write("maintenance", when, node=host, state="on" if step == "maintenance on" else "off")
        if action.endswith("kato_upgrade") and "attempts" in res:
            self._recoveries[host] = (int(res.get("attempts") or 0), bool(res.get("recovered")))

    def _result(self, result, outcome):
        host = result._host.get_name()  # pylint: disable=protected-access
        if self._order and host not in self._order:
            return
        self._retired_first(host, result._result if isinstance(getattr(result, "_result", None), dict) else {})  # pylint: disable=protected-access
        step = self._enter(host)
        if step is None:
            return
        self._observe(host, result, step)
        res = result._result if isinstance(getattr(result, "_result", None), dict) else {}  # pylint: disable=protected-access
        if outcome != "ok" and res.get("failed_step") != "restart":
            self._end(host, outcome)
            return
        self._further_steps(host, res)
        self._restarted_after(host, res)
        if outcome != "ok":
            self._end(host, outcome)   # the restart that failed

    def _retired_first(self, host, res):
        """kato_upgrade that retired the DEA first (its option retire): the node was in `retire` from the task's start
        for the retirement's duration, then in `upgrade`; a retirement that failed (no duration) fails `retire`."""
        retired = res.get("retire") if isinstance(res.get("retire"), dict) else None
        pending = self._pending.get(host)
        if not retired or not pending or pending[0] != "upgrade":
            return
        start = pending[1]
        duration = retired.get("duration")
        self._pending[host] = ("retire", start)
        if not isinstance(duration, (int, float)):
            return
        self._enter(host)
        self._pending[host] = ("upgrade", start + float(duration))

    def _further_steps(self, host, res):
        """A module that recorded further steps of the node in the same call (its progress.also) took the node through
        them: `ready` from when kato_upgrade began to wait (the end minus its ready_duration), the others at the end."""
        progress = res.get("progress") if isinstance(res.get("progress"), dict) else {}
        also = [step for step in progress.get("also") or [] if step in _report.NODE_STEPS]
        if not also or (res.get("failed") and res.get("failed_step") != "restart"):
            return
        # the upgrade's end, before a restart in the same call (kato_upgrade's option restart), else now
        now = float(res["upgrade_ended_at"]) if isinstance(res.get("upgrade_ended_at"), (int, float)) else time.time()
        for step in also:
            waited = res.get("ready_duration") if step == "ready" else 0
            self._pending[host] = (step, now - (float(waited) if isinstance(waited, (int, float)) else 0.0))
            self._enter(host)

    def _restarted_after(self, host, res):
        """kato_upgrade that restarted the node too (its option restart): the node's upgrade steps ended when its
        upgrade did (upgrade_ended_at), it was in `restart` from its turn (restart.started_at) to the restart's end,
        and the call that turned maintenance mode off after it (maintenance_off) ended the window at kato's change."""
        restart = res.get("restart") if isinstance(res.get("restart"), dict) else {}
        if isinstance(restart.get("started_at"), (int, float)):
            if isinstance(res.get("upgrade_ended_at"), (int, float)):
                self._end(host, "ok", float(res["upgrade_ended_at"]))
            self._pending[host] = ("restart", float(restart["started_at"]))
            self._enter(host)
            if not (restart.get("failed") or restart.get("unreachable")) and isinstance(restart.get("ended_at"), (int, float)):
                self._end(host, "ok", float(restart["ended_at"]))
        off = res.get("maintenance_off") if isinstance(res.get("maintenance_off"), dict) else {}
        if off.get("changed") and not off.get("failed") and not context.CLIARGS.get("check"):
            when = off.get("changed_at")
            self._write("maintenance", float(when) if isinstance(when, (int, float)) else time.time(), node=host, state="off")

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "ok" if ignore_errors else "failed")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self._pending.pop(result._host.get_name(), None)  # pylint: disable=protected-access

    def v2_playbook_on_stats(self, stats):
        failed = False
        for host in list(self._current):
            summary = stats.summarize(host)
            bad = summary.get("failures") or summary.get("unreachable")
            self._end(host, "failed" if bad else "ok")
        for host in stats.processed:
            summary = stats.summarize(host)
            failed = failed or bool(summary.get("failures") or summary.get("unreachable"))
        self._write("run_end", result="failed" if failed else "ok")
        if self._log is None:
            return
        self._log.close()
        self._log = None
        traffic = None
        path = self.get_option("traffic_result") or os.path.join(self._dir, "traffic.json")
        try:
            if path and os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    traffic = json.load(handle)
        except (OSError, ValueError) as exc:
            self._display.warning(f"upgrade_progress: traffic result {path} unreadable: {exc}")
        try:
            events = _report.read_events(os.path.join(self._dir, "events.jsonl"))
            report, _json, html_path = _report.write_report(events, self._dir, traffic)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._display.warning(f"upgrade_progress: cannot write the report in {self._dir}: {exc}")
            return
        window = report["window"]["length_s"]
        self._display.display(f"[stackato] report ({report['result']}"
                              f"{', maintenance window ' + _report.clock(window) if window is not None else ''}): "
                              f"{html_path} (JSON: report.json, events: events.jsonl)", color="cyan")
