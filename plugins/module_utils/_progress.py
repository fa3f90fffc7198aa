# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rules of an upgrade run's progress record and of the cluster lock (pure, table-tested).

A node's progress record says, for one target version, which steps of its upgrade are finished
and where the last run failed. The cluster lock on the Core names the run that holds the cluster:
its controller host, user, ansible-playbook pid and start time.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

# The steps of one node, in order: node_upgrade's (a DEA retires first) then post_upgrade's.
STEPS = ("retire", "upgrade", "ready", "verify", "restart")
RECORD_VERSION = 1


def empty_record(target):
    return {"format": RECORD_VERSION, "target": target, "steps": {}, "failed": None}


def normalise(raw, target):
    """The record for ``target`` from what the file held (anything): a record of another target,
    or one that does not parse, counts as empty (a new upgrade starts from the beginning)."""
    if not isinstance(raw, dict) or raw.get("target") != target or not isinstance(raw.get("steps"), dict):
        return empty_record(target)
    steps = {name: (value if isinstance(value, dict) else {}) for name, value in raw["steps"].items() if name in STEPS}
    failed = raw.get("failed") if isinstance(raw.get("failed"), dict) else None
    return {"format": RECORD_VERSION, "target": target, "steps": steps, "failed": failed}


def done_steps(record):
    return [name for name in STEPS if name in record["steps"]]


def next_step(record, steps):
    """The first of ``steps`` (the steps this node goes through) not finished; None when all are."""
    return next((name for name in steps if name not in record["steps"]), None)


def mark_done(record, step, at, data=None):
    """A new record with ``step`` finished at ``at`` (with ``data``); a failure at that step is cleared.

    A step finished before keeps its first time and data: marking it again changes nothing."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}: one of {', '.join(STEPS)}")
    new = {"format": RECORD_VERSION, "target": record["target"], "steps": dict(record["steps"]),
           "failed": record.get("failed")}
    if step not in new["steps"]:
        new["steps"][step] = dict(data or {}, at=at)
    if new["failed"] and new["failed"].get("step") == step:
        new["failed"] = None
    return new


def mark_failed(record, step, at, cause, resumable, msg):
    """A new record that says the run failed at ``step``: why, whether a re-run can resume, when."""
    new = {"format": RECORD_VERSION, "target": record["target"], "steps": dict(record["steps"]), "failed": None}
    new["failed"] = {"step": step, "cause": cause or "unknown", "resumable": bool(resumable), "msg": (msg or "")[-500:],
                     "at": at}
    return new


def same_failure(old, new):
    """Whether two failure entries say the same thing (the time aside): recording it again is no change."""
    if not old or not new:
        return old == new
    keys = ("step", "cause", "resumable", "msg")
    return all(old.get(k) == new.get(k) for k in keys)


# ---- the cluster lock ------------------------------------------------------------------------

def holder_text(holder):
    """``user@controller (pid N, since T)``, whatever the holder dict lacks shown as '?'."""
    if not isinstance(holder, dict):
        return "an unknown holder (the lock file does not parse)"
    return (f"{holder.get('user') or '?'}@{holder.get('controller') or '?'} (ansible-playbook pid "
            f"{holder.get('pid') or '?'}, since {holder.get('started') or '?'})")


def same_run(a, b):
    return (isinstance(a, dict) and isinstance(b, dict) and a.get("controller") == b.get("controller")
            and str(a.get("pid")) == str(b.get("pid")))


def lock_decision(current, me, live_pids, break_lock):
    """What taking the lock does: (action, message).

    ``current`` is the lock file's holder (None: no lock; anything not a dict: unreadable), ``me``
    this run, ``live_pids`` the ansible-playbook processes running on this controller now.
    Actions: ``take`` (free), ``keep`` (this run holds it already), ``take_over`` (held from this
    controller by a process that no longer runs), ``break`` (held from elsewhere or unreadable, and
    ``break_lock``), ``refuse``.
    """
    if current is None:
        return "take", "The cluster lock is free: taken."
    if same_run(current, me):
        return "keep", "This run holds the cluster lock already."
    live = {str(p) for p in live_pids or []}
    readable = isinstance(current, dict)
    if readable and current.get("controller") == me.get("controller"):
        if str(current.get("pid")) not in live:
            return "take_over", (f"Took over the cluster lock of {holder_text(current)}: that run no longer runs on "
                                 f"this controller (killed or lost).")
        return "refuse", (f"Another upgrade run holds the cluster: {holder_text(current)}, still running on this "
                          f"controller. Wait for it to end (or stop it), then run again.")
    if break_lock:
        return "break", f"Broke the cluster lock of {holder_text(current)} as asked (break_lock)."
    return "refuse", (f"Another upgrade run holds the cluster: {holder_text(current)}. Wait for it to end. Only if "
                      f"that run is gone for good (its controller lost), break the lock with -e stackato_lock_break=true.")


# --- the record's file on the node (stackato_progress, and the modules' `progress` option) -------

DEFAULT_PATH = "~/.stackato-cluster/progress.json"
# The `progress` option of a module that finishes a step (doc fragment stackato.cluster.progress).
PROGRESS_ARG_SPEC = {"type": "dict", "options": {
    "path": {"type": "path", "default": DEFAULT_PATH},
    "target": {"type": "str", "required": True},
    "step": {"type": "str", "required": True, "choices": list(STEPS)},
    # Further steps this call finished too (a module that also waited, or also verified), marked after `step`.
    "also": {"type": "list", "elements": "str", "default": [], "choices": list(STEPS)},
}}


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_raw(path):
    """The file's JSON; None when it does not exist; {} when it does not parse."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (ValueError, OSError):
        return {}


def write_atomic(path, data):
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".progress-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def record_done(path, target, step, data=None, check_mode=False, also=()):
    """Mark ``step`` (with ``data``), then each of ``also``, finished in the record at ``path`` for ``target``,
    in one write (atomic; none in check_mode).

    Returns (changed, record): changed when the file did not say so already."""
    raw = read_raw(path)
    record = normalise(raw, target)
    at = utc_now()
    new = mark_done(record, step, at, data or {})
    for further in also:
        new = mark_done(new, further, at)
    changed = new["steps"] != record["steps"] or new["failed"] != record["failed"] or raw != record
    if changed and not check_mode:
        write_atomic(path, new)
    return changed, new


def record_option(progress, check_mode=False, data=None, also=None):
    """A module's `progress` option (PROGRESS_ARG_SPEC) carried out after its action succeeded, with
    ``data`` kept in the step's entry: ``{"path", "step", "also", "changed", "done"}``, or None when the option is
    not set. ``also`` (default: the option's own) names the further steps marked finished with it."""
    if not progress:
        return None
    also = list(progress.get("also") or []) if also is None else list(also)
    changed, record = record_done(progress["path"], progress["target"], progress["step"], data=data,
                                  check_mode=check_mode, also=also)
    return {"path": progress["path"], "step": progress["step"], "also": also, "changed": changed,
            "done": done_steps(record)}


def exit_recording(module, result, done, data=None, also=None):
    """A module's last step: carry out its `progress` option on ``result`` (``data`` kept with the step, ``also``
    instead of the option's further steps when given) and exit; ``done`` says what already happened, for the
    message when the record cannot be written (the action is not undone)."""
    try:
        result["progress"] = record_option(module.params["progress"], module.check_mode, data, also)
    except OSError as exc:
        module.fail_json(msg=f"{done}, but the progress record {module.params['progress']['path']} cannot be written: {exc}",
                         **{key: value for key, value in result.items() if key != "msg"})
    result["changed"] = bool(result["changed"] or (result["progress"] and result["progress"]["changed"]))
    module.exit_json(**result)
