# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Live traffic through a simulated cluster's load balancer, measured per app.

    loadgen.py run   --cluster NAME [--rate R] [--max-seconds S] [--max-requests N] [--out F] [-- CMD ...]
    loadgen.py start --cluster NAME --out F [...]    the same in the background (pid in F.pid)
    loadgen.py stop  --out F                         end a background run, wait for F, print the table
    loadgen.py table F                               print the table of a result file

Every app of the cluster (its .run/clusters/<name>/traffic.json, written by the harness for a
topology with `traffic: true`) gets R requests a second (default 10) through HAProxy, with the
Host header `<app>.<domain>`, one connection a request. A request fails when it gets no answer,
an answer other than 200, or an answer from another app. `run -- CMD` sends for as long as CMD
runs (then exits with CMD's status); without CMD until SIGTERM/SIGINT. Always bounded: at most
--max-seconds (default 900) and --max-requests in all (default 200000). Loopback only: a target
outside 127.0.0.0/8, or a name instead of an address, is refused before anything is sent.

Every failure is kept with its time and the step the cluster was in then: the latest
`upgrade_step` start, `kato_restart` or `dea_retire_start` in the simulator's journal before it. The result (JSON,
--out) and the printed table give per app: instances, requests sent, failed, and the longest
time without a successful answer when requests failed (the gap single-instance apps have),
and the slowest answer (HAProxy's retries turn a short outage of every router into a delay of
about a second a retry rather than a failure: a slowest answer near 1 s or more shows one).
Standard library only.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection, HTTPException
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / ".run" / "clusters"
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
MAX_RATE = 50.0          # per app and second
MAX_SECONDS = 900.0
MAX_REQUESTS = 200_000
TIMEOUT_S = 5.0
KEEP_FAILURES = 2000     # failures kept in the result with their details (all are counted)


class Refused(Exception):
    """A target or a bound the generator will not use."""


def loopback_target(address: str) -> tuple[str, int]:
    """`127.x.y.z:port` -> (host, port); anything else (a name, another network) is refused."""
    host, sep, port = str(address).rpartition(":")
    if not sep or not port.isdigit():
        raise Refused(f"target {address!r}: expected <IPv4 address>:<port>")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise Refused(f"target {address!r}: an address in 127.0.0.0/8, not a name") from None
    if ip.version != 4 or ip not in LOOPBACK:
        raise Refused(f"target {address!r} is outside 127.0.0.0/8: this load generator sends "
                      "to loopback only")
    return host, int(port)


def lb_running(cluster: str) -> bool:
    """Whether the cluster's HAProxy still runs (`cluster.py down` stops it): a run whose
    cluster went away stops instead of counting failures until its bound."""
    try:
        pid = int((RUNS / cluster / "haproxy" / "haproxy.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return os.path.exists(f"/proc/{pid}")


def load_traffic(cluster: str) -> dict:
    path = RUNS / cluster / "traffic.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise Refused(f"{path} not found: bring the cluster up with `--set traffic=true`") from None


# ---- sending ---------------------------------------------------------------------------

class Budget:
    """The run's bounds: a deadline and a total request count, shared by the app threads."""

    def __init__(self, max_seconds: float, max_requests: int):
        self.deadline = time.monotonic() + max_seconds
        self.left = max_requests
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.reason = None

    def take(self) -> bool:
        with self.lock:
            if self.stop.is_set():
                return False
            if time.monotonic() >= self.deadline:
                self.reason = self.reason or "max-seconds reached"
                self.stop.set()
            elif self.left <= 0:
                self.reason = self.reason or "max-requests reached"
                self.stop.set()
            else:
                self.left -= 1
                return True
            return False


def one_request(host: str, port: int, vhost: str, app: str) -> str | None:
    """None when the app answered; else what went wrong."""
    conn = HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", "/", headers={"Host": vhost, "Connection": "close"})
        resp = conn.getresponse()
        body = resp.read()
    except (OSError, HTTPException) as exc:
        return f"{exc.__class__.__name__}: {exc}"
    finally:
        conn.close()
    if resp.status != 200:
        return f"HTTP {resp.status}"
    try:
        who = json.loads(body).get("app")
    except ValueError:
        who = None
    return None if who == app else f"answer from {who!r}, not {app!r}"


class AppLoad(threading.Thread):
    """A steady request rate to one app; records (send time, error or None)."""

    def __init__(self, target, domain: str, app: dict, rate: float, budget: Budget):
        super().__init__(daemon=True, name=f"load-{app['name']}")
        self.target, self.app, self.rate, self.budget = target, app, rate, budget
        self.vhost = f"{app['name']}.{domain}"
        self.results: list[tuple[float, str | None]] = []
        self.slowest = 0.0

    def run(self) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while self.budget.take():
            sent, clock = time.time(), time.monotonic()
            self.results.append((sent, one_request(*self.target, self.vhost, self.app["name"])))
            self.slowest = max(self.slowest, time.monotonic() - clock)
            next_at = max(next_at + interval, time.monotonic() - interval)   # no bursts
            if self.budget.stop.wait(max(0.0, next_at - time.monotonic())):
                break


# ---- the result ------------------------------------------------------------------------

def read_steps(journal_path: str | None) -> list[tuple[float, str]]:
    """(ts, node, label) of every upgrade step start, kato restart and DEA retirement in the
    journal, in time order."""
    steps = []
    try:
        with open(journal_path or "", encoding="utf-8") as handle:
            for line in handle:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("event") == "upgrade_step" and ev.get("phase") == "start":
                    steps.append((float(ev["ts"]), ev.get("node"), f"upgrade {ev.get('step')}"))
                elif ev.get("event") == "dea_retire_start":
                    steps.append((float(ev["ts"]), ev.get("dea"), "retire (instances move away)"))
                elif ev.get("event") == "kato_restart":
                    roles = " ".join(ev.get("roles") or []) or "all roles"
                    steps.append((float(ev["ts"]), ev.get("node"), f"kato restart {roles}"))
    except FileNotFoundError:
        pass
    return sorted(steps, key=lambda s: s[0])


def step_at(steps, t: float, names: dict | None = None) -> str:
    """The label of the latest step that started at or before t ("before the upgrade": none)."""
    found = None
    for step in steps:
        if step[0] > t:
            break
        found = step
    if found is None:
        return "before any upgrade step"
    node = (names or {}).get(found[1], found[1])
    return f"{node}: {found[2]}"


def longest_gap(results) -> float:
    """The longest time without a successful answer around failed requests: from the last
    success before a run of failures to the first success after it (or the last request)."""
    gap, last_ok, failing = 0.0, None, False
    first = results[0][0] if results else 0.0
    for sent, error in results:
        if error is None:
            if failing:
                gap = max(gap, sent - (last_ok if last_ok is not None else first))
            last_ok, failing = sent, False
        else:
            failing = True
    if failing and results:
        gap = max(gap, results[-1][0] - (last_ok if last_ok is not None else first))
    return round(gap, 3)


def summarise(traffic: dict, loads, steps, started: float, ended: float, rate: float,
              reason: str | None) -> dict:
    names = traffic.get("nodes") or {}
    apps, failures = [], []
    for load in loads:
        failed = [(t, e) for t, e in load.results if e is not None]
        by_step: dict[str, int] = {}
        for t, e in failed:
            label = step_at(steps, t, names)
            by_step[label] = by_step.get(label, 0) + 1
            failures.append({"t": round(t, 3), "app": load.app["name"], "error": e, "step": label})
        apps.append({"name": load.app["name"], "instances": int(load.app["instances"]),
                     "sent": len(load.results), "failed": len(failed),
                     "longest_gap_s": longest_gap(load.results) if failed else 0.0,
                     "slowest_s": round(getattr(load, "slowest", 0.0), 3),
                     "failures_by_step": by_step})
    failures.sort(key=lambda f: f["t"])
    return {"cluster": traffic.get("cluster"), "load_balancer": traffic.get("load_balancer"),
            "rate_per_app": rate, "started": round(started, 3), "ended": round(ended, 3),
            "duration_s": round(ended - started, 3), "stopped_by": reason, "apps": apps,
            "failures": failures[:KEEP_FAILURES], "failures_total": len(failures),
            "multi_instance_failed": sum(a["failed"] for a in apps if a["instances"] >= 2)}


def table(result: dict) -> str:
    rows = [("app", "instances", "sent", "failed", "longest gap", "slowest")]
    for app in result["apps"]:
        gap = f"{app['longest_gap_s']:.2f} s" if app["failed"] else "-"
        rows.append((app["name"], str(app["instances"]), str(app["sent"]), str(app["failed"]), gap,
                     f"{app.get('slowest_s', 0.0):.2f} s"))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"{result['duration_s']:.1f} s at {result['rate_per_app']:g} requests/s per app "
                 f"through {result['load_balancer']}; failed requests of apps with 2+ "
                 f"instances: {result['multi_instance_failed']}")
    steps: dict[str, int] = {}
    for app in result["apps"]:
        for label, n in app["failures_by_step"].items():
            steps[f"{app['name']} during {label}"] = n
    for label, n in sorted(steps.items()):
        lines.append(f"  {n} failed: {label}")
    return "\n".join(lines)


# ---- commands --------------------------------------------------------------------------

def check_bounds(args) -> None:
    if not 0 < args.rate <= MAX_RATE:
        raise Refused(f"--rate must be in (0, {MAX_RATE:g}] requests/s per app")
    if not 0 < args.max_seconds <= MAX_SECONDS:
        raise Refused(f"--max-seconds must be in (0, {MAX_SECONDS:g}]")
    if not 0 < args.max_requests <= MAX_REQUESTS:
        raise Refused(f"--max-requests must be in (0, {MAX_REQUESTS}]")


def cmd_run(args) -> int:
    check_bounds(args)
    traffic = load_traffic(args.cluster)
    target = loopback_target(args.target or traffic["load_balancer"])
    budget = Budget(args.max_seconds, args.max_requests)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: budget.stop.set())
    loads = [AppLoad(target, traffic["domain"], app, args.rate, budget)
             for app in traffic["apps"]]
    started = time.time()
    for load in loads:
        load.start()
    if args.out:
        Path(args.out + ".started").write_text(f"{started}\n")
    status = 0
    if args.command:
        cmd = args.command[1:] if args.command[0] == "--" else args.command
        proc = subprocess.Popen(cmd)  # pylint: disable=consider-using-with
        while proc.poll() is None and not budget.stop.is_set():
            time.sleep(0.2)
        if proc.poll() is None:   # a bound ended the traffic first: the command goes on
            status = proc.wait()
        status = proc.returncode
        budget.reason = budget.reason or "command finished"
        budget.stop.set()
    else:
        while not budget.stop.wait(0.2):
            if not args.target and not lb_running(args.cluster):
                budget.reason = budget.reason or "load balancer gone (cluster down)"
                budget.stop.set()
        budget.reason = budget.reason or "stopped"
    for load in loads:
        load.join()
    result = summarise(traffic, loads, read_steps(traffic.get("journal")), started, time.time(),
                       args.rate, budget.reason)
    if args.out:
        tmp = args.out + ".tmp"
        Path(tmp).write_text(json.dumps(result, indent=1) + "\n")
        os.replace(tmp, args.out)
    if not args.quiet:
        print(table(result), flush=True)
    if args.strict and result["multi_instance_failed"]:
        status = status or 3
    return status


def cmd_start(args) -> int:
    check_bounds(args)
    loopback_target(args.target or load_traffic(args.cluster)["load_balancer"])
    for stale in (args.out, args.out + ".started", args.out + ".pid"):
        if os.path.exists(stale):
            os.unlink(stale)
    argv = [sys.executable, os.path.abspath(__file__), "run", "--cluster", args.cluster,
            "--rate", str(args.rate), "--max-seconds", str(args.max_seconds),
            "--max-requests", str(args.max_requests), "--out", args.out, "--quiet"]
    if args.target:
        argv += ["--target", args.target]
    with open(args.out + ".log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,  # pylint: disable=consider-using-with
                                start_new_session=True)
    Path(args.out + ".pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 10
    while not os.path.exists(args.out + ".started"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise Refused(f"the load generator did not start (see {args.out}.log)")
        time.sleep(0.05)
    print(f"load generator {proc.pid} sending to {args.cluster}; result in {args.out}")
    return 0


def cmd_stop(args) -> int:
    try:
        pid = int(Path(args.out + ".pid").read_text())
    except (OSError, ValueError):
        raise Refused(f"no {args.out}.pid: nothing was started with this --out") from None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if os.path.abspath(__file__).encode() in cmdline and args.out.encode() in cmdline:
            os.kill(pid, signal.SIGTERM)
    except (OSError, ProcessLookupError):
        pass   # already ended (a bound): its result is there
    deadline = time.monotonic() + 30
    while not os.path.exists(args.out):
        if time.monotonic() > deadline:
            raise Refused(f"no result in {args.out} 30 s after the stop (see {args.out}.log)")
        time.sleep(0.1)
    print(table(json.loads(Path(args.out).read_text())))
    return 0


def cmd_table(args) -> int:
    print(table(json.loads(Path(args.result).read_text())))
    return 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="loadgen.py", description=__doc__.split("\n", 1)[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "start"):
        sp = sub.add_parser(name)
        sp.add_argument("--cluster", required=True)
        sp.add_argument("--target", help="<127.x.y.z>:<port> instead of traffic.json's")
        sp.add_argument("--rate", type=float, default=10.0)
        sp.add_argument("--max-seconds", type=float, default=MAX_SECONDS)
        sp.add_argument("--max-requests", type=int, default=MAX_REQUESTS)
        sp.add_argument("--out", required=name == "start")
        if name == "run":
            sp.add_argument("--quiet", action="store_true")
            sp.add_argument("--strict", action="store_true",
                            help="exit 3 when an app with 2+ instances had a failed request")
            sp.add_argument("command", nargs=argparse.REMAINDER)
    sp = sub.add_parser("stop")
    sp.add_argument("--out", required=True)
    sp = sub.add_parser("table")
    sp.add_argument("result")
    return ap


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return {"run": cmd_run, "start": cmd_start, "stop": cmd_stop, "table": cmd_table}[args.cmd](args)
    except Refused as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
