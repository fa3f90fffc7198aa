"""Local process control (this node's supervised processes, as kept in node-state.json).

Every change is journaled (process_state, role_state) and pushed to the state server; the push
is best effort because the primary may be down (or be this node, being restarted).
"""

from __future__ import annotations

import time

from . import journal, nodeconf, nodestate, roles as roles_mod

START_DELAY_S = 2.0   # simulated start-up time of a process (scaled by time_scale)


class UnknownProcess(ValueError):
    pass


def _push(state: dict) -> None:
    from .stateclient import StateClient, StateError, StateUnavailable
    try:
        client = StateClient.from_node(timeout=5.0)
        node = nodeconf.load_node()
        # name and DEA memory only count for a node the cluster does not know yet (it attaches)
        client.node_report(client.caller, processes=state["processes"],
                           version=state.get("version"), roles=state.get("roles") or None,
                           name=node.get("name"), dea_memory_mb=node.get("dea_memory_mb"))
    except (StateUnavailable, StateError, OSError):
        pass


def report() -> None:
    """Push this node's version, roles and process table to the state server (best effort)."""
    _push(nodestate.read())


def states() -> dict[str, str]:
    return {name: entry["state"] for name, entry in sorted(nodestate.read()["processes"].items())}


def _check_known(state: dict, names) -> list[str]:
    names = list(names)
    unknown = [n for n in names if n not in state["processes"]]
    if unknown:
        raise UnknownProcess(f"unknown process {', '.join(unknown)} on this node")
    return names


def _change(names, new_state: str, delay_s: float | None = None) -> dict:
    now = time.time()
    changed = []
    with nodestate.locked() as state:
        names = _check_known(state, names)
        for name in names:
            entry = state["processes"][name]
            if new_state == "STARTING" and entry["state"] in ("RUNNING", "STARTING"):
                continue   # starting a running process leaves it alone (its apps stay up)
            entry["state"] = new_state
            entry["ready_at"] = now + (delay_s or 0.0) if new_state == "STARTING" else 0
            entry["since"] = now   # the router's proxy sees a stop+start it polled between
            if new_state == "STARTING" and not delay_s:
                entry["state"] = "RUNNING"   # time_scale 0: started at once
            changed.append((name, entry["state"]))
        snapshot = dict(state)
    for name, st in changed:
        journal.emit("process_state", process=name, state=st)
    _push(snapshot)
    return snapshot


def stop(names) -> None:
    _change(names, "STOPPED")


def start(names, delay_s: float | None = None) -> None:
    """Processes become STARTING and turn RUNNING by themselves after delay_s."""
    if delay_s is None:
        delay_s = nodeconf.scaled(START_DELAY_S)
    _change(names, "STARTING", delay_s)


def fail(names) -> None:
    """Mark processes FATAL (tests: a process that crashed; `kato start` recovers it)."""
    _change(names, "FATAL")


def restart(names, delay_s: float | None = None) -> None:
    stop(names)
    start(names, delay_s)


def ensure(names, state: str = "RUNNING") -> None:
    """Add processes (role add) in the given state without journaling a transition."""
    with nodestate.locked() as st:
        for name in names:
            st["processes"].setdefault(name, {"state": state, "ready_at": 0})


def forget(names) -> None:
    """Drop processes (role remove)."""
    with nodestate.locked() as st:
        for name in names:
            st["processes"].pop(name, None)


def ready(names, block_s: float | None) -> tuple[bool, dict[str, str]]:
    """Wait until every process is RUNNING; names may be "all".

    block_s None: look once; 0: wait forever; otherwise at most that many seconds. The wait
    sleeps exactly until the latest ready time of the STARTING processes (they turn RUNNING by
    time alone). A STOPPED or FATAL process only becomes ready if something else starts it,
    so for those we sleep until the deadline (forever: re-read once a second)."""
    deadline = None if not block_s else time.time() + float(block_s)
    while True:
        state = nodestate.read()
        wanted = sorted(state["processes"]) if names == "all" else _check_known(state, names)
        not_ready = {n: state["processes"][n]["state"] for n in wanted
                     if state["processes"][n]["state"] != "RUNNING"}
        if not not_ready:
            return True, {}
        if block_s is None:
            return False, not_ready
        now = time.time()
        if deadline is not None and now >= deadline:
            return False, not_ready
        starting = [float(state["processes"][n].get("ready_at") or 0)
                    for n, s in not_ready.items() if s == "STARTING"]
        if len(starting) == len(not_ready):
            wake = max(starting)
        else:
            wake = deadline if deadline is not None else now + 1.0
        if deadline is not None:
            wake = min(wake, deadline)
        time.sleep(max(0.0, wake - now) + 0.001)


# ---- roles -----------------------------------------------------------------------------

def node_roles() -> list[str]:
    st = nodestate.read()
    return list(st.get("roles") or nodeconf.load_node()["roles"])


def role_processes(roles) -> list[str]:
    present = nodestate.read()["processes"]
    return [p for p in roles_mod.processes_for(roles) if p in present]


def stop_roles(roles) -> None:
    roles = list(roles)
    stop(role_processes(roles))
    for role in roles:
        journal.emit("role_state", role=role, state="STOPPED")


def start_roles(roles, delay_s: float | None = None) -> None:
    roles = list(roles)
    start(role_processes(roles), delay_s)
    st = nodestate.read()["processes"]
    for role in roles:
        procs = [p for p in roles_mod.PROCESSES.get(role, ()) if p in st]
        state = "RUNNING" if all(st[p]["state"] == "RUNNING" for p in procs) else "STARTING"
        journal.emit("role_state", role=role, state=state)


def restart_roles(roles, delay_s: float | None = None) -> None:
    roles = list(roles)
    stop_roles(roles)
    start_roles(roles, delay_s)
