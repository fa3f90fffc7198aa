"""Node-local state: /var/lib/stackato-sim/node-state.json under an fcntl lock.

Keys: version, kato_rev, roles, processes ({name: {"state", "ready_at"}}), upgrade (free-form,
owned by upgrade.py/sentinel.py), faults_fired ({fault: count}), retired (bool).

The lock lives on a sibling file (node-state.json.lock) because the data file is replaced
atomically on save, and a lock held on a replaced inode would protect nothing.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import time

from . import paths

STATES = ("RUNNING", "STOPPED", "STARTING", "FATAL")


def _defaults() -> dict:
    return {"version": None, "kato_rev": None, "roles": [], "processes": {}, "upgrade": {},
            "faults_fired": {}, "retired": False}


def path() -> str:
    return paths.p(paths.NODE_STATE)


def exists() -> bool:
    return os.path.exists(path())


def settle(state: dict, now: float | None = None) -> dict:
    """Turn every STARTING process whose ready time has passed into RUNNING (in place)."""
    now = time.time() if now is None else now
    for entry in state.get("processes", {}).values():
        if entry.get("state") == "STARTING" and float(entry.get("ready_at") or 0) <= now:
            entry["state"] = "RUNNING"
    return state


def _load() -> dict:
    state = _defaults()
    try:
        with open(path(), encoding="utf-8") as f:
            state.update(json.load(f))
    except FileNotFoundError:
        pass
    return settle(state)


def _save(state: dict) -> None:
    target = path()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        if not os.environ.get("STACKATO_SIM_NO_FSYNC"):   # set by the unit tests on the host
            os.fsync(f.fileno())
    os.replace(tmp, target)


@contextlib.contextmanager
def _flock(kind: int):
    lock = path() + ".lock"
    os.makedirs(os.path.dirname(lock), exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, kind)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read() -> dict:
    """A snapshot of the node state (STARTING processes past their ready time read RUNNING)."""
    with _flock(fcntl.LOCK_SH):
        return _load()


@contextlib.contextmanager
def locked():
    """Yield the node state under an exclusive lock; save it on a normal exit.

    An exception inside the block leaves the file untouched (nothing half-done is saved)."""
    with _flock(fcntl.LOCK_EX):
        state = _load()
        before = copy.deepcopy(state)
        yield state
        if state != before:
            _save(state)


def process_state(state: dict, name: str) -> str | None:
    entry = state.get("processes", {}).get(name)
    return entry.get("state") if entry else None


def fault_fired(fault: str) -> int:
    return int(read().get("faults_fired", {}).get(fault, 0))
