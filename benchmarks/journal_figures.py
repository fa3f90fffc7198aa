# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures of one upgrade read from the simulator's event journal (docs/dev/simulator.md §5).

- `window(events)`: maintenance mode on -> off (the first `config_set cloud_controller_ng
  maintenance_mode` true, then the first false after it).
- `bars(events, names)`: what each node did, as bars for the timeline: every component step
  (`upgrade_step` start -> end), every DEA retirement (`dea_retire_start` -> `dea_retired`) and
  every restart (`kato_restart` -> the last of the node's processes RUNNING after it).
- `simulated_work(events, durations, ...)`: the simulated seconds of the work the window
  contains: each component step started inside it at its catalogue duration (the stackato-kato
  step with its pause), each restart at the processes' start-up delay, all times time_scale.
Standard library only.
"""

from __future__ import annotations

MAINTENANCE = ("cloud_controller_ng", "maintenance_mode")


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def window(events: list[dict]) -> tuple[float, float] | None:
    """(on, off) timestamps of the first maintenance window, or None if it never closed."""
    on = None
    for e in events:
        if e.get("event") != "config_set" or (e.get("component"), str(e.get("key", "")).strip("/")) != MAINTENANCE:
            continue
        if on is None and _truthy(e.get("value")):
            on = e["ts"]
        elif on is not None and not _truthy(e.get("value")):
            return on, e["ts"]
    return None


def bars(events: list[dict], names: dict[str, str] | None = None,
         restart_delay_s: float = 0.0) -> list[dict]:
    """[{"node", "kind": step|retire|restart, "label", "start", "end"}] in start order.

    A restart ends when the node's last process started after it is ready: processes turn
    RUNNING by time alone, restart_delay_s after they were journaled STARTING."""
    names = names or {}
    out, open_steps, open_retire, open_restart = [], {}, {}, {}
    for e in events:
        ev, ip = e.get("event"), e.get("node")
        if ev == "upgrade_step":
            key = (ip, e.get("component"), e.get("version"))
            if e.get("phase") == "start":
                open_steps[key] = e["ts"]
            elif e.get("phase") == "end" and key in open_steps:
                out.append({"node": names.get(ip, ip), "kind": "step",
                            "label": f"{e.get('component')} {e.get('version')}",
                            "start": open_steps.pop(key), "end": e["ts"]})
        elif ev == "dea_retire_start":
            open_retire[e.get("dea")] = e["ts"]
        elif ev == "dea_retired" and e.get("dea") in open_retire:
            dea = e.get("dea")
            out.append({"node": names.get(dea, dea), "kind": "retire", "label": "retire",
                        "start": open_retire.pop(dea), "end": e["ts"]})
        elif ev == "kato_restart":
            if ip in open_restart:   # a node restarted again: the earlier restart ends here
                span = open_restart.pop(ip)
                out.append({"node": names.get(ip, ip), "kind": "restart", "label": "restart",
                            "start": span["start"], "end": min(span["end"], e["ts"])})
            open_restart[ip] = {"start": e["ts"], "end": e["ts"]}
        elif ev == "process_state" and ip in open_restart:
            if e.get("state") == "RUNNING":
                open_restart[ip]["end"] = max(open_restart[ip]["end"], e["ts"])
            elif e.get("state") == "STARTING":
                open_restart[ip]["end"] = max(open_restart[ip]["end"], e["ts"] + restart_delay_s)
    for ip, span in open_restart.items():
        out.append({"node": names.get(ip, ip), "kind": "restart", "label": "restart",
                    "start": span["start"], "end": span["end"]})
    return sorted(out, key=lambda b: (b["start"], b["node"]))


def simulated_work(events: list[dict], durations: dict[str, float], *, pause_component: str = "",
                   pause_s: float = 0.0, restart_s: float = 0.0, time_scale: float = 1.0,
                   span: tuple[float, float] | None = None) -> dict:
    """{"steps_s", "restarts_s", "total_s", "steps", "restarts"} of the work started in `span`
    (default: the whole journal). An unknown component is an error, not a zero."""
    lo, hi = span if span else (float("-inf"), float("inf"))
    steps = restarts = 0
    steps_s = restarts_s = 0.0
    for e in events:
        if not lo <= e.get("ts", 0.0) <= hi:
            continue
        if e.get("event") == "upgrade_step" and e.get("phase") == "start":
            comp = e.get("component")
            if comp not in durations:
                raise KeyError(f"component {comp!r} is not in the catalogue")
            steps += 1
            steps_s += durations[comp] + (pause_s if comp == pause_component else 0.0)
        elif e.get("event") == "kato_restart":
            restarts += 1
            restarts_s += restart_s
    steps_s *= time_scale
    restarts_s *= time_scale
    return {"steps_s": round(steps_s, 6), "restarts_s": round(restarts_s, 6),
            "total_s": round(steps_s + restarts_s, 6), "steps": steps, "restarts": restarts}


def idle_gaps(bar_list: list[dict], span: tuple[float, float], min_s: float = 0.0) -> list[dict]:
    """Stretches of the window in which no bar runs on any node (no simulated work at all):
    [{"start", "end", "s", "after", "before"}], where after/before name the bars around it
    ("window on" / "window off" at the edges). Only gaps of at least min_s."""
    lo, hi = span
    inside = sorted((max(lo, b["start"]), min(hi, b["end"]), b) for b in bar_list
                    if b["end"] > lo and b["start"] < hi)
    gaps, cursor, last = [], lo, "window on"
    for start, end, step in inside:
        if start > cursor and start - cursor >= min_s:
            gaps.append({"start": cursor, "end": start, "s": round(start - cursor, 6), "after": last,
                         "before": f"{step['node']} {step['label']}"})
        if end >= cursor:
            cursor, last = end, f"{step['node']} {step['label']}"
    if hi > cursor and hi - cursor >= min_s:
        gaps.append({"start": cursor, "end": hi, "s": round(hi - cursor, 6), "after": last,
                     "before": "window off"})
    return gaps
