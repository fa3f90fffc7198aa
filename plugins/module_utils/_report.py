# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The operator's view of a run: steps, the plan's estimates, the report; standard library only.

The callback plugin ``stackato.cluster.upgrade_progress`` writes a run's event log (JSONL, one
event a line, see :func:`event`); :func:`build_report` turns an event log into the report (a
dict, written as JSON) and :func:`render_html` into a self-contained page (inline CSS and SVG,
no network fetch). The plan's estimates are _plan.estimate's, from earlier runs' event logs
(:func:`load_history`, :func:`history_rows`: newest run first, :data:`HISTORY_RUNS` runs).

The report of a recorded log: ``python3 scripts/stackato-report.py stackato-runs/<run>/events.jsonl [--traffic F] [--out DIR]``.
"""

from __future__ import annotations

import html
import json
import os
import time

# Every step of a run, in the order a node meets them, with its documented default estimate in
# seconds (used when no earlier run measured it). "cluster" steps run once for the whole cluster
# (on the core), "node" steps once per node being upgraded, "all" steps on every node at once.
STEPS = (
    ("preflight", "all", 30), ("prefetch", "all", 120), ("plan", "all", 1), ("lock", "cluster", 2),
    ("maintenance on", "cluster", 5), ("backup", "cluster", 120), ("gates", "node", 0),
    ("retire", "node", 60), ("upgrade", "node", 900), ("ready", "node", 120), ("verify", "node", 20),
    ("restart", "all", 180), ("maintenance off", "cluster", 5), ("report", "cluster", 2),
)
DEFAULT_DURATIONS = {name: seconds for name, _kind, seconds in STEPS}
STEP_KIND = {name: kind for name, kind, _seconds in STEPS}
STEP_ORDER = [name for name, _kind, _seconds in STEPS]
# Steps that bookkeep rather than act: logged, not shown as progress.
MINOR_STEPS = ("read", "plan", "lock", "report", "failure")
HISTORY_RUNS = 3

# role -> step, and (role, task file) -> step where one role does several steps.
ROLE_STEPS = {
    "inputs": "preflight", "preflight": "preflight", "upgrade_proxy": "prefetch", "upgrade_cache": "prefetch",
    "prefetch": "prefetch", "upgrade_plan": "plan", "backup": "backup", "maintenance_mode": "maintenance on",
    "node_upgrade": "read", "post_upgrade": "read", "plan": "plan",
}
FILE_STEPS = {
    ("maintenance_mode", "lock.yml"): "lock", ("maintenance_mode", "unlock.yml"): "lock",
    ("maintenance_mode", "lock_check.yml"): "lock",
    ("maintenance_mode", "summary.yml"): "report", ("maintenance_mode", "on_failure.yml"): "failure",
    ("node_upgrade", "gates.yml"): "gates", ("node_upgrade", "retire.yml"): "retire",
    ("node_upgrade", "stop_roles.yml"): "upgrade", ("node_upgrade", "upgrade.yml"): "upgrade",
    ("node_upgrade", "retire_unchecked.yml"): "retire",
    ("node_upgrade", "ready.yml"): "ready", ("node_upgrade", "verify.yml"): "verify",
    ("node_upgrade", "report.yml"): "verify", ("node_upgrade", "verify_apps.yml"): "verify",
    ("node_upgrade", "failure.yml"): "failure", ("post_upgrade", "restart.yml"): "restart",
    ("post_upgrade", "restart_wave.yml"): "restart",
    ("post_upgrade", "verify.yml"): "verify", ("post_upgrade", "report.yml"): "report",
}
# Tasks that keep the node in the step it is in (deciding, reading, publishing the proxy settings).
QUIET_FILES = (("maintenance_mode", "main.yml"), ("maintenance_mode", "pending.yml"))
NODE_STEPS = ("gates", "retire", "upgrade", "ready", "verify")


def step_of(role, task_file, task_name="", current=None, maintenance=None):
    """The step a task belongs to, from its role, its task file and its name; None outside the collection.

    ``current`` is the step the node is in: the preflight checks run again inside a node's
    upgrade (its gates), and ``maintenance`` (True/False) is the value a maintenance_mode
    task sets, when it sets one."""
    role = str(role or "").rsplit(".", 1)[-1]
    if not role:
        return None
    name = os.path.basename(str(task_file or "").split(":", 1)[0])
    if (role, name) in QUIET_FILES or (role == "upgrade_proxy" and current):
        return None
    step = FILE_STEPS.get((role, name)) or ROLE_STEPS.get(role)
    if step is None:
        return None
    if role == "maintenance_mode" and step == "maintenance on":
        if maintenance is None and "disabled" in str(task_name):
            maintenance = False
        if maintenance is False or (current in ("restart", "verify", "maintenance off") and maintenance is None):
            step = "maintenance off"
    if step == "preflight" and current in NODE_STEPS:
        step = "gates"
    return step


def event(kind, ts=None, **fields):
    """One line of the event log: ``{"ts": epoch seconds, "event": kind, ...}``."""
    return dict({"ts": round(time.time() if ts is None else float(ts), 3), "event": kind}, **fields)


def read_events(path):
    """The events of a JSONL log; a torn last line (a run killed mid-write) is skipped."""
    events = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


def _steps(events):
    """``[{node, step, start, end, result, recovered, attempts}]`` from step_start/step_end pairs."""
    open_steps, steps = {}, []
    end_ts = max((e["ts"] for e in events), default=0.0)
    for e in events:
        key = (e.get("node"), e.get("step"))
        if e["event"] == "step_start":
            open_steps[key] = {"node": e.get("node"), "step": e.get("step"), "start": e["ts"], "end": None,
                               "result": "running", "recovered": False, "attempts": 0}
            steps.append(open_steps[key])
        elif e["event"] == "step_end" and key in open_steps:
            step = open_steps.pop(key)
            step.update(end=e["ts"], result=e.get("result", "ok"), recovered=bool(e.get("recovered")),
                        attempts=int(e.get("attempts") or 0))
    for step in open_steps.values():
        step["end"] = end_ts
        step["result"] = "unfinished"
    return steps


def window(events):
    """The maintenance window from the run's own events: (on, off or None, length in seconds or None)."""
    on = off = None
    for e in events:
        if e["event"] != "maintenance":
            continue
        if e.get("state") == "on" and on is None:
            on = e["ts"]
        elif e.get("state") == "off" and on is not None:
            off = e["ts"]
    return on, off, (round(off - on, 3) if on is not None and off is not None else None)


def traffic_summary(traffic):
    """The figures of a traffic result (tests/traffic/loadgen.py's JSON), or None without one."""
    if not isinstance(traffic, dict) or not traffic:
        return None
    apps = traffic.get("apps") or []
    return {"sent": sum(int(a.get("sent") or 0) for a in apps),
            "failed": int(traffic.get("failures_total", sum(int(a.get("failed") or 0) for a in apps))),
            "multi_instance_failed": int(traffic.get("multi_instance_failed") or 0),
            "apps": [{k: a.get(k) for k in ("name", "instances", "sent", "failed", "longest_gap_s")} for a in apps]}


def build_report(events, traffic=None):
    """The report of a run (JSON-ready) from its event log, and the traffic result when measured."""
    start = next((e for e in events if e["event"] == "run_start"), {})
    end = next((e for e in reversed(events) if e["event"] == "run_end"), {})
    first_ts = events[0]["ts"] if events else 0.0
    last_ts = events[-1]["ts"] if events else 0.0
    info = start.get("nodes") or {}
    order = list(start.get("order") or info)
    steps = _steps(events)
    nodes = {}

    def node(name):
        if name not in nodes:
            nodes[name] = {"name": name, "roles": list((info.get(name) or {}).get("roles") or []),
                           "version_before": None, "version_after": None, "steps": [], "warnings": [],
                           "recoveries": [], "result": "ok"}
            if name not in order:
                order.append(name)
        return nodes[name]

    for name in order:
        node(name)
    for e in events:
        if e["event"] == "version" and e.get("node"):
            n = node(e["node"])
            if n["version_before"] is None:
                n["version_before"] = e.get("version")
            n["version_after"] = e.get("version")
        elif e["event"] == "warning" and e.get("node"):
            node(e["node"])["warnings"].append(str(e.get("message")))
    for s in steps:
        if not s["node"]:
            continue
        n = node(s["node"])
        n["steps"].append({"step": s["step"], "start": s["start"], "end": s["end"],
                           "duration_s": round(s["end"] - s["start"], 3), "result": s["result"],
                           "attempts": s["attempts"], "recovered": s["recovered"]})
        if s["recovered"] or s["attempts"] > 1:
            n["recoveries"].append({"step": s["step"], "attempts": s["attempts"], "recovered": s["recovered"]})
        if s["result"] in ("failed", "unreachable", "unfinished"):
            n["result"] = s["result"]
    on, off, length = window(events)
    result = end.get("result") or ("failed" if any(n["result"] != "ok" for n in nodes.values()) else "unfinished")
    return {"playbook": start.get("playbook"), "inventory": start.get("inventory"), "target": start.get("target"),
            "started": first_ts, "ended": last_ts, "duration_s": round(last_ts - first_ts, 3), "result": result,
            "check_mode": bool(start.get("check")),
            "window": {"on": on, "off": off, "length_s": length, "open_at_end": on is not None and off is None},
            "nodes": [nodes[name] for name in order], "traffic": traffic_summary(traffic)}


def runs_dir(sources=(), override=None, cwd=None):
    """Where run directories go: ``override``, else ``stackato-runs`` next to the first inventory source
    that is a path (a file's directory, or beside an inventory directory), else under ``cwd``."""
    if override:
        return os.path.abspath(os.path.expanduser(str(override)))
    for source in sources or ():
        source = str(source)
        if "," not in source and os.path.exists(source):
            return os.path.join(os.path.dirname(os.path.abspath(source.rstrip("/") or source)), "stackato-runs")
    return os.path.join(os.path.abspath(cwd or os.getcwd()), "stackato-runs")


def load_history(directory, limit=HISTORY_RUNS):
    """The event logs of earlier upgrade runs under ``directory``, newest first: only runs that upgraded a node
    (a step of :data:`NODE_STEPS` ended ok), at most ``limit``."""
    runs = []
    try:
        names = sorted(os.listdir(directory), reverse=True)
    except OSError:
        return runs
    for name in names:
        path = os.path.join(directory, name, "events.jsonl")
        if not os.path.isfile(path):
            continue
        events = read_events(path)
        if any(s["step"] in NODE_STEPS and s["result"] == "ok" for s in _steps(events)):
            runs.append(events)
        if len(runs) >= limit:
            break
    return runs


def history_rows(events):
    """The steps of one recorded run that ended ok, as ``{node, step, seconds, components}`` (the number
    of components the node upgraded, as the run recorded it, else None): what _plan.measured_steps reads."""
    start = next((e for e in events if e["event"] == "run_start"), {})
    nodes = start.get("nodes") or {}
    return [{"node": s["node"], "step": s["step"], "seconds": round(s["end"] - s["start"], 3),
             "components": (nodes.get(s["node"]) or {}).get("components")}
            for s in _steps(events) if s["result"] == "ok" and s["step"] in DEFAULT_DURATIONS]


def remaining(plan, done, current=None, now=None):
    """Seconds left by the plan: every node step not done, and what is left of the current ones; the
    nodes of one wave (the plan's ``batch``) upgrade together, so a wave counts as its longest node.

    ``done`` is a set of (node, step); ``current`` ``{(node, step): started}``."""
    now = time.time() if now is None else now
    current = current or {}
    waves = {}
    for index, row in enumerate(plan.get("nodes", [])):
        node_left = 0.0
        for step, seconds in row.get("steps", {}).items():
            key = (row["node"], step)
            if key in done:
                continue
            node_left += max(0.0, seconds - (now - current[key])) if key in current else seconds
        wave = row.get("batch", ("node", index))
        waves[wave] = max(waves.get(wave, 0.0), node_left)
    left = sum(waves.values())
    for step, seconds in plan.get("cluster_steps", {}).items():
        keys = [k for k in list(done) + list(current) if k[1] == step]
        if any(k in done for k in keys):
            continue
        started = min((current[k] for k in keys if k in current), default=None)
        left += max(0.0, seconds - (now - started)) if started is not None else seconds
    return round(left, 1)


def clock(seconds):
    """``h:mm:ss`` (or ``m:ss``) of a duration."""
    seconds = int(round(max(0.0, float(seconds or 0))))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


# Colours of the timeline's bars, by step.
COLOURS = {"preflight": "#9aa5b1", "prefetch": "#7b8794", "maintenance on": "#f0b429", "backup": "#8e6ac8",
           "gates": "#bcccdc", "retire": "#e67e22", "upgrade": "#2186eb", "ready": "#3ebd93",
           "verify": "#27ab83", "restart": "#14919b", "maintenance off": "#f0b429", "failure": "#e12d39"}


def _svg(report):
    nodes = report["nodes"]
    t0, t1 = report["started"], max(report["ended"], report["started"] + 1)
    left, width, row_h, top = 150, 760, 26, 24
    height = top + row_h * len(nodes) + 30

    def x(ts):
        return left + (float(ts) - t0) / (t1 - t0) * width

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{height}" role="img" '
             f'aria-label="timeline">']
    win = report["window"]
    if win["on"] is not None:
        off = win["off"] if win["off"] is not None else t1
        parts.append(f'<rect class="window" x="{x(win["on"]):.1f}" y="4" width="{max(1.0, x(off) - x(win["on"])):.1f}" '
                     f'height="{height - 24}" fill="#fff3c4" stroke="#f0b429"><title>maintenance window '
                     f'{clock(win["length_s"] or (t1 - win["on"]))}</title></rect>')
        parts.append(f'<text x="{x(win["on"]) + 3:.1f}" y="16" font-size="11" fill="#8d6e00">maintenance window '
                     f'{clock(win["length_s"] or (t1 - win["on"]))}</text>')
    for i, n in enumerate(nodes):
        y = top + i * row_h
        parts.append(f'<text x="4" y="{y + 17}" font-size="12">{html.escape(n["name"])}</text>')
        parts.append(f'<line x1="{left}" y1="{y + row_h - 2}" x2="{left + width}" y2="{y + row_h - 2}" stroke="#e4e7eb"/>')
        for s in n["steps"]:
            if s["step"] in MINOR_STEPS and s["step"] != "failure":
                continue
            colour = "#e12d39" if s["result"] in ("failed", "unreachable") else COLOURS.get(s["step"], "#627d98")
            parts.append(f'<rect x="{x(s["start"]):.1f}" y="{y + 5}" width="{max(2.0, x(s["end"]) - x(s["start"])):.1f}" '
                         f'height="{row_h - 10}" fill="{colour}"><title>{html.escape(n["name"])}: {html.escape(s["step"])} '
                         f'{clock(s["duration_s"])} {html.escape(s["result"])}</title></rect>')
    parts.append(f'<text x="{left}" y="{height - 6}" font-size="11" fill="#52606d">0:00</text>')
    parts.append(f'<text x="{left + width}" y="{height - 6}" font-size="11" fill="#52606d" text-anchor="end">'
                 f'{clock(t1 - t0)}</text></svg>')
    return "".join(parts)


def _when(ts):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts)) if ts else "-"


def render_html(report):
    """The report as one self-contained HTML page: inline CSS and SVG, no script, no fetch."""
    esc = html.escape
    win = report["window"]
    window_text = (f"{clock(win['length_s'])} ({win['length_s']:.1f} s), {_when(win['on'])} to {_when(win['off'])}"
                   if win["length_s"] is not None else
                   (f"still on at the end of the run (opened {_when(win['on'])})" if win["on"] else "not opened"))
    rows = []
    for n in report["nodes"]:
        steps = ", ".join(f"{esc(s['step'])} {clock(s['duration_s'])}" + ("" if s["result"] == "ok" else f" ({esc(s['result'])})")
                          for s in n["steps"] if s["step"] not in MINOR_STEPS or s["result"] != "ok")
        recov = ", ".join(f"{esc(r['step'])}: {r['attempts']} attempts" + (", kato restored" if r["recovered"] else "")
                          for r in n["recoveries"])
        rows.append(f"<tr class=\"{esc(n['result'])}\"><td class=\"node\">{esc(n['name'])}</td><td>{esc(', '.join(n['roles']))}</td>"
                    f"<td>{esc(str(n['version_before'] or '?'))} &rarr; {esc(str(n['version_after'] or '?'))}</td>"
                    f"<td>{steps or '-'}</td><td>{esc('; '.join(n['warnings'])) or '-'}</td><td>{recov or '-'}</td>"
                    f"<td>{esc(n['result'])}</td></tr>")
    traffic = report.get("traffic")
    traffic_html = ("<p>Traffic was not measured during this run.</p>" if not traffic else
                    f"<p>Traffic: {traffic['sent']} requests, <b>{traffic['failed']} failed</b> "
                    f"({traffic['multi_instance_failed']} to apps of two or more instances).</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Stackato upgrade report</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #1f2933; }}
h1 {{ font-size: 22px; }} table {{ border-collapse: collapse; margin-top: 12px; }}
td, th {{ border: 1px solid #cbd2d9; padding: 4px 8px; font-size: 13px; text-align: left; vertical-align: top; }}
th {{ background: #f0f4f8; }} tr.failed td, tr.unreachable td, tr.unfinished td {{ background: #ffe3e3; }}
.result-ok {{ color: #0e7c66; }} .result-failed {{ color: #cf1124; }} .legend span {{ display: inline-block; margin-right: 10px; font-size: 12px; }}
.legend i {{ display: inline-block; width: 10px; height: 10px; margin-right: 3px; }}
</style></head><body>
<h1>Stackato upgrade report: <span class="result-{esc(report['result'])}">{esc(report['result'])}</span></h1>
<p>Target {esc(str(report.get('target') or '?'))}; playbook {esc(str(report.get('playbook') or '?'))};
{_when(report['started'])} to {_when(report['ended'])} ({clock(report['duration_s'])}){'; check mode' if report['check_mode'] else ''}.</p>
<p id="window">Maintenance window: {window_text}.</p>
{traffic_html}
{_svg(report)}
<div class="legend">{''.join(f'<span><i style="background:{c}"></i>{esc(s)}</span>' for s, c in COLOURS.items())}</div>
<table><tr><th>node</th><th>roles</th><th>version</th><th>steps</th><th>warnings</th><th>recoveries</th><th>result</th></tr>
{''.join(rows)}
</table></body></html>
"""


def write_report(events, directory, traffic=None):
    """Write report.json and report.html into ``directory``; returns (report, json path, html path)."""
    report = build_report(events, traffic)
    json_path = os.path.join(directory, "report.json")
    html_path = os.path.join(directory, "report.html")
    for path, text in ((json_path, json.dumps(report, indent=1) + "\n"), (html_path, render_html(report))):
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(path + ".tmp", path)
    return report, json_path, html_path
