# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shortest maintenance window the safety rules allow: simulated work on the critical path.

The rules (issue 11): never two nodes of one redundant group out at once (DEAs one at a time,
routers one at a time, controllers one at a time); a DEA, a router, a controller and the
data-services nodes may overlap (data-services nodes hold their own services: no redundancy
between them); the Core (the node with the primary role) last. The restarts that follow the
upgrade obey the same rules, Core last, and start when every node is upgraded.

`critical_path(nodes)` takes per node its roles and its simulated work in each phase and
returns the bound with a schedule that reaches it when one exists:

- a phase's bound is max(the work of each group's members other than the Core, added up; the
  longest single node) + the Core's work. Nothing shorter can obey the rules, whatever the
  order: each group's members run one after the other, and the Core after all of them.
- the schedule is list scheduling, the group with the most work left served first; when every
  node outside the Core belongs to at most one group (every benchmark topology) it reaches the
  bound, and `tight` says whether it did.

`node_work(roles, ...)` is a node's simulated work from the simulator's release catalogue: the
components its roles carry, for every release on the upgrade path, plus the pause of the
stackato-kato step, plus the start-up of the processes its last steps restarted (the node is
out, under the rules, until they run again: the next DEA cannot take its instances before); a
restart is the processes' start-up delay. Standard library only.
"""

from __future__ import annotations

REDUNDANT_GROUPS = ("dea", "router", "controller")
PRIMARY_ROLE = "primary"
PHASES = ("upgrade", "restart")


def groups_of(roles) -> tuple[str, ...]:
    """The redundant groups a node belongs to, by its roles (data services: none)."""
    return tuple(g for g in REDUNDANT_GROUPS if g in set(roles))


def is_core(roles) -> bool:
    return PRIMARY_ROLE in set(roles)


def phase_bound(nodes: list[dict], phase: str) -> dict:
    """{"bound_s", "core_s", "others_s", "by_group": {group: s}, "longest_node"} for one phase.

    nodes: [{"name", "roles", "upgrade_s", "restart_s"}]."""
    by_group = {g: 0.0 for g in REDUNDANT_GROUPS}
    longest, longest_name, core_s = 0.0, None, 0.0
    for node in nodes:
        work = float(node.get(f"{phase}_s", 0.0))
        if work < 0:
            raise ValueError(f"node {node['name']}: negative {phase} work {work}")
        if is_core(node["roles"]):
            core_s += work
            continue
        for group in groups_of(node["roles"]):
            by_group[group] += work
        if work > longest:
            longest, longest_name = work, node["name"]
    others = max([longest, *by_group.values()])
    return {"bound_s": round(others + core_s, 6), "core_s": round(core_s, 6),
            "others_s": round(others, 6), "by_group": {g: round(s, 6) for g, s in by_group.items()},
            "longest_node": longest_name}


def _schedule_phase(nodes: list[dict], phase: str, start: float) -> tuple[list[dict], float]:
    """List scheduling of one phase from `start`: (bars, end). Core last."""
    others = [n for n in nodes if not is_core(n["roles"])]
    core = [n for n in nodes if is_core(n["roles"])]
    left = {g: sum(float(n.get(f"{phase}_s", 0.0)) for n in others if g in groups_of(n["roles"]))
            for g in REDUNDANT_GROUPS}

    def priority(node):
        # the node whose groups have the most work left first; then the longest; then by name
        weight = max([left[g] for g in groups_of(node["roles"])] or [0.0])
        return (-weight, -float(node.get(f"{phase}_s", 0.0)), node["name"])

    pending = sorted(others, key=priority)
    running: list[tuple[float, dict]] = []   # (end, node)
    bars, now = [], start
    while pending or running:
        busy = {g for _end, n in running for g in groups_of(n["roles"])}
        for node in sorted(pending, key=priority):
            if busy & set(groups_of(node["roles"])):
                continue
            work = float(node.get(f"{phase}_s", 0.0))
            running.append((now + work, node))
            bars.append({"node": node["name"], "phase": phase, "start": round(now, 6),
                         "end": round(now + work, 6)})
            busy |= set(groups_of(node["roles"]))
            for g in groups_of(node["roles"]):
                left[g] -= work
            pending.remove(node)
        if not running:
            break
        running.sort(key=lambda item: item[0])
        now = running[0][0]
        running = [(end, n) for end, n in running if end > now]
    end = max([start, *(b["end"] for b in bars)])
    for node in core:   # the Core alone, after every other node
        work = float(node.get(f"{phase}_s", 0.0))
        bars.append({"node": node["name"], "phase": phase, "start": round(end, 6),
                     "end": round(end + work, 6)})
        end += work
    return bars, end


def critical_path(nodes: list[dict]) -> dict:
    """The bound over both phases (upgrade, then restart) and a schedule under the rules.

    Returns {"bound_s", "phases": {phase: phase_bound}, "schedule": [bars], "schedule_s",
    "tight", "work_s" (all the work, added up), "node_steps"}."""
    if sum(1 for n in nodes if is_core(n["roles"])) > 1:
        raise ValueError("more than one node has the primary role")
    names = [n["name"] for n in nodes]
    if len(set(names)) != len(names):
        raise ValueError("node names repeat")
    phases = {p: phase_bound(nodes, p) for p in PHASES}
    schedule, end = [], 0.0
    for phase in PHASES:
        bars, end = _schedule_phase(nodes, phase, end)
        schedule.extend(bars)
    bound = sum(p["bound_s"] for p in phases.values())
    work = sum(float(n.get(f"{p}_s", 0.0)) for n in nodes for p in PHASES)
    return {"bound_s": round(bound, 6), "phases": phases, "schedule": schedule,
            "schedule_s": round(end, 6), "tight": abs(end - bound) < 1e-6,
            "work_s": round(work, 6), "node_steps": len(nodes) * len(PHASES)}


def node_work(roles, components, path, pause_component: str = "", pause_s: float = 0.0,
              restart_s: float = 0.0, time_scale: float = 1.0) -> dict:
    """{"upgrade_s", "restart_s", "start_up_s"} of a node with these roles.

    components: [(name, carrier roles, duration s[, processes])] as the catalogue lists them; a
    component whose carriers include "base" is on every node. path: the releases the upgrade
    installs (each installs every component the node carries). pause_component gets pause_s more.

    A component with processes restarts them at the end of its step, and they run restart_s
    later (the processes' start-up delay); the node is back - its group may take the next node,
    the restarts may begin - only once they run. So a node's upgrade work ends restart_s after the
    last step that restarts processes, when that is later than its last step: ``start_up_s`` is
    that tail, included in ``upgrade_s``. A restart is the start-up delay itself."""
    roles = set(roles)
    carried = [c for c in components if "base" in c[1] or roles & set(c[1])]
    now = ready = 0.0
    for dummy in path:
        for component in carried:
            name, duration = component[0], float(component[2])
            now += duration + (pause_s if name == pause_component else 0.0)
            if len(component) > 3 and component[3]:
                ready = max(ready, now + float(restart_s))
    tail = max(0.0, ready - now)
    return {"upgrade_s": round((now + tail) * time_scale, 6),
            "restart_s": round(restart_s * time_scale, 6),
            "start_up_s": round(tail * time_scale, 6)}
