# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: the collection's maintenance window against kato's own cluster mode and the
lower bound, on simulated clusters (issue 11). Not part of `make test`.

    .venv/bin/python -m benchmarks.bench [--topologies small,large,production] [--time-scale S]
                                         [--octet 80] [--rate 5] [--scale 10,50] [--out DIR]

For each topology, on two fresh clusters with live traffic (`traffic: true`), 3.4.2 -> 3.6.2:
  kato      prefetch outside the window (`kato node upgrade --update-kato`, then
            `--download-only --cache-ip <core>`), then the window as the seed describes:
            maintenance mode on, the backup (`kato data export --cluster`, the seed's next step),
            `kato node upgrade --cache-ip <core> --skip-confirmation` on
            the Core (cluster mode), `kato restart` on each node in turn, each node waited ready
            (`kato process ready all -b`), maintenance mode off; over SSH from this machine.
  playbook  `ansible-playbook playbooks/upgrade.yml --tags prefetch`, then the whole playbook.
For each: the window (journal: maintenance mode on -> off), total time (prefetch + upgrade),
the simulated work the window contains, controller CPU time (RUSAGE_CHILDREN around the
commands), failed requests per app (tests/traffic/loadgen.py), and the lower bound
(benchmarks/lower_bound.py). Then the scale part: `ansible-playbook playbooks/upgrade.yml
--check` (preflight and the plan) over clusters of 10 and 50 nodes at time_scale 0.
Results: benchmarks/results/bench.json and a timeline PNG per topology.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

from . import journal_figures, lower_bound, timeline

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "simulator"))
from stackato_sim import processes as sim_processes  # noqa: E402  pylint: disable=wrong-import-position
from stackato_sim import releases as sim_releases  # noqa: E402  pylint: disable=wrong-import-position
from stackato_sim import sentinel as sim_sentinel  # noqa: E402  pylint: disable=wrong-import-position

VENV_BIN = REPO / ".venv" / "bin"
CLUSTER = [str(VENV_BIN / "python"), str(REPO / "tests" / "harness" / "cluster.py")]
LOADGEN = [sys.executable, str(REPO / "tests" / "traffic" / "loadgen.py")]
RUNS = REPO / ".run" / "clusters"
KATO = "/home/stackato/bin/kato"
KATO_BACKUP = "/home/stackato/stackato-before-upgrade.tgz"   # the kato run's data export, on the Core
OLD, NEW = "3.4.2", "3.6.2"
MODES = ("kato", "playbook")
STEP_TIMEOUT_S = 1800


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- the simulated work, from the simulator's catalogue ------------------------------------

def catalogue() -> dict:
    """Durations the simulator sleeps (unscaled): per component (with the processes its step
    restarts), the stackato-kato pause, the processes' start-up delay; the releases 3.4.2 -> 3.6.2
    installs."""
    target = sim_releases.get(NEW)
    return {"durations": {c.name: c.duration for c in target.components},
            "components": [(c.name, c.roles, c.duration, c.processes) for c in target.components],
            "pause_component": sim_releases.KATO_COMPONENT, "pause_s": sim_sentinel.KATO_PAUSE_S,
            "restart_s": sim_processes.START_DELAY_S,
            "path": sim_releases.upgrade_path(OLD, NEW)}


def bound_for(topology_nodes: list[dict], time_scale: float) -> dict:
    cat = catalogue()
    nodes = []
    for node in topology_nodes:
        work = lower_bound.node_work(node["roles"], cat["components"], cat["path"],
                                     cat["pause_component"], cat["pause_s"], cat["restart_s"],
                                     time_scale)
        nodes.append({"name": node["name"], "roles": node["roles"], **work})
    return lower_bound.critical_path(nodes)


# ---- clusters --------------------------------------------------------------------------------

def cluster_up(topology: str, name: str, octet: int, time_scale: float, traffic: bool) -> Path:
    argv = [*CLUSTER, "up", topology, "--name", name, "--set", f"octet={octet}",
            "--set", f"time_scale={time_scale}"]
    if traffic:
        argv += ["--set", "traffic=true"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"cluster up {topology} --name {name}: {result.stderr[-3000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def cluster_down(name: str) -> None:
    subprocess.run([*CLUSTER, "down", "--name", name], capture_output=True, text=True,
                   check=False, timeout=300)


def topology_of(name: str) -> dict:
    return yaml.safe_load((RUNS / name / "topology.yml").read_text(encoding="utf-8"))


def journal_of(name: str) -> list[dict]:
    path = RUNS / name / "journal" / "events.jsonl"
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted(events, key=lambda e: e.get("ts", 0.0))


def ssh_argv(name: str, ip: str, command: str) -> list[str]:
    key = RUNS / name / "ssh" / "id_ed25519"
    return ["ssh", "-i", str(key), "-p", "2222", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            f"stackato@{ip}", command]


def ansible_env(forks: int) -> dict:
    """The settings docs/operator-guide.md ("Speed") recommends, as scripts/demo.sh uses them."""
    env = dict(os.environ)
    collections = subprocess.run(["sh", str(REPO / "scripts" / "dev-collection-path.sh"),
                                  "--print-dir"], capture_output=True, text=True, check=True)
    env.update(ANSIBLE_COLLECTIONS_PATH=collections.stdout.strip(), ANSIBLE_PIPELINING="true",
               ANSIBLE_FORKS=str(forks), ANSIBLE_GATHERING="explicit",
               ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=300s -o ServerAliveInterval=30",
               ANSIBLE_HOST_KEY_CHECKING="false", ANSIBLE_RETRY_FILES_ENABLED="false",
               ANSIBLE_DISPLAY_OK_HOSTS="false", ANSIBLE_DISPLAY_SKIPPED_HOSTS="false",
               ANSIBLE_NOCOLOR="true")
    return env


class Measured:
    """Wall and controller CPU time (this process's children: ssh, ansible-playbook and its
    workers) of the commands run inside it."""

    def __init__(self):
        self.wall0 = self.wall_s = self.cpu_s = 0.0
        self.ru0 = None

    def __enter__(self):
        self.wall0 = time.monotonic()
        self.ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        return self

    def __exit__(self, *exc):
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.wall_s = round(time.monotonic() - self.wall0, 3)
        self.cpu_s = round((ru1.ru_utime - self.ru0.ru_utime) + (ru1.ru_stime - self.ru0.ru_stime), 3)
        return False


def run_logged(argv: list[str], logfile: Path, env: dict | None = None) -> int:
    with open(logfile, "a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(argv)}\n")
        fh.flush()
        return subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, env=env, check=False,
                              stdin=subprocess.DEVNULL, timeout=STEP_TIMEOUT_S).returncode


def must(rc: int, what: str, logfile: Path) -> None:
    if rc != 0:
        tail = logfile.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{what} failed (exit {rc}); end of {logfile}:\n{tail}")


# ---- the two ways ----------------------------------------------------------------------------

def kato_prefetch(name: str, core_ip: str, logfile: Path) -> None:
    must(run_logged(ssh_argv(name, core_ip, f"{KATO} node upgrade --update-kato"), logfile),
         "kato node upgrade --update-kato", logfile)
    must(run_logged(ssh_argv(name, core_ip, f"{KATO} node upgrade --download-only "
                                            f"--cache-ip {core_ip}"), logfile),
         "kato node upgrade --download-only", logfile)


def kato_upgrade(name: str, core_ip: str, node_ips: list[str], logfile: Path) -> None:
    """The window as the seed describes it, kato's cluster mode doing the upgrade."""
    maint = f"{KATO} config set cloud_controller_ng maintenance_mode"
    must(run_logged(ssh_argv(name, core_ip, f"{maint} true"), logfile), "maintenance on", logfile)
    # "Backups or Snapshots", the seed's step after maintenance mode: the data export (the playbook takes it too)
    must(run_logged(ssh_argv(name, core_ip, f"{KATO} data export --cluster {KATO_BACKUP}"), logfile),
         "kato data export --cluster", logfile)
    must(run_logged(ssh_argv(name, core_ip, f"{KATO} node upgrade --cache-ip {core_ip} "
                                            "--skip-confirmation"), logfile),
         "kato node upgrade (cluster mode)", logfile)
    for ip in node_ips:          # "run kato restart on all nodes in the cluster"
        must(run_logged(ssh_argv(name, ip, f"{KATO} restart"), logfile), f"kato restart {ip}",
             logfile)
    for ip in node_ips:          # ... ready before the system leaves maintenance mode
        must(run_logged(ssh_argv(name, ip, f"{KATO} process ready all -b 300"), logfile),
             f"kato process ready {ip}", logfile)
    must(run_logged(ssh_argv(name, core_ip, f"{maint} false"), logfile), "maintenance off", logfile)


def playbook(inventory: Path, logfile: Path, forks: int, *extra: str) -> int:
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory),
            str(REPO / "playbooks" / "upgrade.yml"), *extra]
    return run_logged(argv, logfile, env=ansible_env(forks))


# ---- one run ---------------------------------------------------------------------------------

def one_run(topology: str, mode: str, octet: int, time_scale: float, rate: float,
            workdir: Path) -> dict:
    name = f"bench-{topology}-{mode}"
    logfile = workdir / f"{name}.log"
    logfile.write_text("", encoding="utf-8")
    log(f"{name}: cluster up (octet {octet}, time_scale {time_scale})")
    inventory = cluster_up(topology, name, octet, time_scale, traffic=True)
    try:
        topo = topology_of(name)
        core_ip = next(n["ip"] for n in topo["nodes"] if "primary" in n["roles"])
        ips = [n["ip"] for n in topo["nodes"]]
        forks = max(20, len(ips))
        log(f"{name}: prefetch")
        with Measured() as pre:
            if mode == "kato":
                kato_prefetch(name, core_ip, logfile)
            else:
                must(playbook(inventory, logfile, forks, "--tags", "prefetch"), "prefetch", logfile)
        traffic_out = workdir / f"{name}-traffic.json"
        subprocess.run([*LOADGEN, "start", "--cluster", name, "--rate", str(rate),
                        "--max-seconds", "900", "--out", str(traffic_out)],
                       check=True, capture_output=True, text=True)
        log(f"{name}: upgrade under traffic")
        try:
            with Measured() as upgrade_run:
                if mode == "kato":
                    kato_upgrade(name, core_ip, ips, logfile)
                else:
                    must(playbook(inventory, logfile, forks), "ansible-playbook upgrade.yml", logfile)
        finally:
            subprocess.run([*LOADGEN, "stop", "--out", str(traffic_out)], check=False,
                           capture_output=True, text=True)
        events = journal_of(name)
        traffic = json.loads(traffic_out.read_text(encoding="utf-8"))
        return summarise_run(topology, mode, topo, events, time_scale, pre, upgrade_run, traffic)
    finally:
        cluster_down(name)


def summarise_run(topology: str, mode: str, topo: dict, events: list[dict], time_scale: float,
                  pre: Measured, upgrade_run: Measured, traffic: dict) -> dict:
    cat = catalogue()
    names = {n["ip"]: n["name"] for n in topo["nodes"]}
    span = journal_figures.window(events)
    if span is None:
        raise RuntimeError(f"{topology}/{mode}: no maintenance window (on -> off) in the journal")
    work = journal_figures.simulated_work(
        events, cat["durations"], pause_component=cat["pause_component"], pause_s=cat["pause_s"],
        restart_s=cat["restart_s"], time_scale=time_scale, span=span)
    done = {e["node"] for e in events if e.get("event") == "upgrade_done" and e.get("version") == NEW}
    if done != set(names):
        missing = sorted(names[ip] for ip in set(names) - done)
        raise RuntimeError(f"{topology}/{mode}: not every node reached {NEW}: {missing}")
    bars = journal_figures.bars(events, names, restart_delay_s=cat["restart_s"] * time_scale)
    window_s = span[1] - span[0]
    return {
        "mode": mode, "window_s": round(window_s, 3),
        "window": [span[0], span[1]],
        "prefetch_s": pre.wall_s, "upgrade_s": upgrade_run.wall_s,
        "total_s": round(pre.wall_s + upgrade_run.wall_s, 3),
        "controller_cpu_s": {"prefetch": pre.cpu_s, "upgrade": upgrade_run.cpu_s,
                             "total": round(pre.cpu_s + upgrade_run.cpu_s, 3)},
        "simulated_work_in_window_s": work["total_s"], "simulated_work": work,
        "traffic": {"rate_per_app": traffic["rate_per_app"],
                    "multi_instance_failed": traffic["multi_instance_failed"],
                    "apps": [{k: a[k] for k in ("name", "instances", "sent", "failed",
                                                "longest_gap_s", "slowest_s", "failures_by_step")}
                             for a in traffic["apps"]]},
        "bars": [{**b, "start": round(b["start"], 3), "end": round(b["end"], 3)} for b in bars],
        **idle(bars, span),
    }


def idle(bar_list: list[dict], span) -> dict:
    """Window time with no simulated work running on any node, and its longest stretches."""
    gaps = journal_figures.idle_gaps(bar_list, tuple(span))
    longest = sorted(gaps, key=lambda g: -g["s"])[:12]
    return {"idle_in_window_s": round(sum(g["s"] for g in gaps), 3),
            "longest_idle": [{"s": round(g["s"], 3), "at_s": round(g["start"] - span[0], 3),
                              "after": g["after"], "before": g["before"]} for g in longest]}


def bench_topology(topology: str, octets: list[int], time_scale: float, rate: float,
                   workdir: Path, outdir: Path) -> dict:
    runs = {}
    for mode, octet in zip(MODES, octets):
        runs[mode] = one_run(topology, mode, octet, time_scale, rate, workdir)
        log(f"{topology}/{mode}: window {runs[mode]['window_s']:.1f} s, total "
            f"{runs[mode]['total_s']:.1f} s, failed (2+ instances) "
            f"{runs[mode]['traffic']['multi_instance_failed']}")
    topo_nodes = yaml.safe_load((REPO / "tests" / "harness" / "topologies" / f"{topology}.yml")
                                .read_text(encoding="utf-8"))["nodes"]
    nodes = [{"name": n["name"], "roles": sorted(set(n["roles"]) | {"base"})} for n in topo_nodes]
    bound = bound_for(nodes, time_scale)
    kato_w, ours_w = runs["kato"]["window_s"], runs["playbook"]["window_s"]
    result = {
        "topology": topology, "nodes": len(nodes), "time_scale": time_scale,
        "lower_bound_s": bound["bound_s"], "lower_bound": bound,
        "runs": runs,
        "ratios": {"playbook_to_kato": round(ours_w / kato_w, 3),
                   "playbook_to_bound": round(ours_w / bound["bound_s"], 3),
                   "kato_to_bound": round(kato_w / bound["bound_s"], 3),
                   "bound_to_kato": round(bound["bound_s"] / kato_w, 3)},
        "overhead": {mode: {"window_minus_bound_s": round(runs[mode]["window_s"] - bound["bound_s"], 3),
                            "per_node_step_s": round((runs[mode]["window_s"] - bound["bound_s"])
                                                     / bound["node_steps"], 3)}
                     for mode in MODES},
    }
    png = outdir / f"timeline-{topology}.png"
    timeline.draw(
        f"{topology}: {len(nodes)} nodes, 3.4.2 -> 3.6.2, time_scale {time_scale:g}",
        [n["name"] for n in nodes],
        [{"label": f"{label}: window {runs[m]['window_s']:.1f} s, simulated work in it "
                   f"{runs[m]['simulated_work_in_window_s']:.1f} s, lower bound {bound['bound_s']:.1f} s",
          "window": runs[m]["window"], "bars": runs[m]["bars"], "bound_s": bound["bound_s"]}
         for m, label in (("kato", "KATO CLUSTER MODE"), ("playbook", "PLAYBOOKS/UPGRADE.YML"))],
        NEW, png)
    result["timeline_png"] = os.path.relpath(png, REPO)
    return result


# ---- scale: preflight and the plan over many nodes --------------------------------------------

def scale_topology(size: int) -> dict:
    """A cluster of `size` nodes in the production mix's proportions (at least one of each)."""
    rest = size - 1
    controllers = max(1, round(rest * 2 / 15))
    routers = max(1, round(rest * 3 / 15))
    deas = max(1, round(rest * 4 / 15))
    data = rest - controllers - routers - deas
    if data < 1:
        raise ValueError(f"{size} nodes are too few for the mix")
    nodes = [{"name": "core", "roles": ["base", "controller", "primary", "router"]}]
    nodes += [{"name": f"controller{i + 2}", "roles": ["base", "controller"]} for i in range(controllers)]
    nodes += [{"name": f"router{i + 2}", "roles": ["base", "router"]} for i in range(routers)]
    nodes += [{"name": f"dea{i + 1}", "roles": ["base", "dea"], "dea_memory_mb": 4096}
              for i in range(deas)]
    kinds = (["mysql"], ["postgresql"], ["redis"], ["filesystem"], ["mongodb"], ["rabbit"])
    nodes += [{"name": f"data{i + 1}", "roles": ["base", *kinds[i % len(kinds)]]} for i in range(data)]
    return {"name": f"scale{size}", "octet": 1, "time_scale": 0.0, "proxy": False,
            "node_defaults": {"version": OLD, "sudo": "nopasswd", "s_size": "20g"},
            "nodes": nodes,
            "apps": [{"name": "web", "instances": 2, "memory_mb": 256},
                     {"name": "api", "instances": 3, "memory_mb": 128}]}


def bench_scale(size: int, octet: int, workdir: Path) -> dict:
    name = f"bench-scale{size}"
    path = workdir / f"scale{size}.yml"
    path.write_text(yaml.safe_dump(scale_topology(size), sort_keys=False), encoding="utf-8")
    logfile = workdir / f"{name}.log"
    logfile.write_text("", encoding="utf-8")
    log(f"{name}: cluster up ({size} nodes)")
    started = time.monotonic()
    inventory = cluster_up(str(path), name, octet, 0.0, traffic=False)
    up_s = round(time.monotonic() - started, 3)
    try:
        log(f"{name}: ansible-playbook upgrade.yml --check (preflight and plan)")
        with Measured() as run:
            must(playbook(inventory, logfile, max(20, size), "--check"), "--check", logfile)
        changed = [e for e in journal_of(name) if e.get("event") in
                   ("config_set", "upgrade_start", "dea_retire_start", "kato_restart")]
        if changed:
            raise RuntimeError(f"{name}: --check changed the cluster: {changed[:3]}")
        return {"nodes": size, "cluster_up_s": up_s, "wall_s": run.wall_s,
                "controller_cpu_s": run.cpu_s, "wall_per_node_s": round(run.wall_s / size, 3),
                "cpu_per_node_s": round(run.cpu_s / size, 3)}
    finally:
        cluster_down(name)


# ---- main ------------------------------------------------------------------------------------

def machine() -> dict:
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in load]}


def git_head() -> str:
    out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "playbooks",
                            "roles", "plugins"], capture_output=True, text=True, check=False)
    return out.stdout.strip() + ("+uncommitted changes in playbooks/roles/plugins"
                                 if dirty.stdout.strip() else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n", 1)[0])
    ap.add_argument("--topologies", default="small,large,production")
    # the largest that keeps the whole bench under the 20 minutes on two cores (0.1 took 14.1 min, 1 takes 27
    # for small and production alone): the fixed costs weigh less against the simulated work
    ap.add_argument("--time-scale", type=float, default=0.2)
    ap.add_argument("--octet", type=int, default=80, help="first of the octets used (one per cluster)")
    ap.add_argument("--rate", type=float, default=5.0, help="requests/s per app")
    ap.add_argument("--scale", default="10,50", help="cluster sizes for preflight + plan ('' skips)")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    ap.add_argument("--report", metavar="JSON", help="print the tables of an earlier result "
                    "(adding the idle-time analysis of its bars if it lacks it) and stop")
    args = ap.parse_args(argv)
    if args.report:
        path = Path(args.report)
        earlier = json.loads(path.read_text(encoding="utf-8"))
        for t in earlier["topologies"].values():
            for run in t["runs"].values():
                if "idle_in_window_s" not in run:
                    run.update(idle(run["bars"], run["window"]))
        path.write_text(json.dumps(earlier, indent=1) + "\n", encoding="utf-8")
        print(report(earlier))
        return 0
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    workdir = REPO / ".run" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": "make bench" + (f" BENCH_ARGS='{' '.join(argv)}'" if argv else ""),
              "commit": git_head(), "machine": machine(), "time_scale": args.time_scale,
              "rate_per_app": args.rate, "topologies": {}, "scale": []}
    out = outdir / "bench.json"

    def save(complete: bool) -> None:   # after each part: a run cut short keeps what it measured
        result["complete"] = complete
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")

    octet = args.octet
    for topology in [t for t in args.topologies.split(",") if t]:
        result["topologies"][topology] = bench_topology(topology, [octet, octet + 1],
                                                        args.time_scale, args.rate, workdir, outdir)
        octet += 2
        save(False)
    for size in [int(s) for s in args.scale.split(",") if s]:
        result["scale"].append(bench_scale(size, octet, workdir))
        octet += 1
        save(False)
    if len(result["scale"]) >= 2:
        first, last = result["scale"][0], result["scale"][-1]
        result["scale_ratio_per_node_wall"] = round(last["wall_per_node_s"] / first["wall_per_node_s"], 3)
    result["bench_wall_s"] = round(time.time() - started, 1)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    save(True)
    log(f"results in {os.path.relpath(out, REPO)} ({result['bench_wall_s']:.0f} s)")
    print(report(result))
    return 0


def report(result: dict) -> str:
    lines = ["| topology | run | window s | total s | simulated work in window s | controller CPU s | "
             "failed (2+ inst.) | failed (1 inst.) | window / kato | window / bound |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for topology, t in result["topologies"].items():
        kato_w = t["runs"]["kato"]["window_s"]
        for mode in MODES:
            r = t["runs"][mode]
            single = sum(a["failed"] for a in r["traffic"]["apps"] if a["instances"] < 2)
            lines.append(f"| {topology} | {mode} | {r['window_s']:.1f} | {r['total_s']:.1f} | "
                         f"{r['simulated_work_in_window_s']:.1f} | {r['controller_cpu_s']['total']:.1f} | "
                         f"{r['traffic']['multi_instance_failed']} | {single} | "
                         f"{r['window_s'] / kato_w:.2f} | {r['window_s'] / t['lower_bound_s']:.2f} |")
        lines.append(f"| {topology} | lower bound | {t['lower_bound_s']:.1f} | | | | | | "
                     f"{t['lower_bound_s'] / kato_w:.2f} | 1.00 |")
    for topology, t in result["topologies"].items():
        for mode in MODES:
            r = t["runs"][mode]
            if "idle_in_window_s" not in r:
                continue
            lines.append(f"{topology}/{mode}: {r['idle_in_window_s']:.1f} s of the "
                         f"{r['window_s']:.1f} s window with no simulated work on any node; longest:")
            lines += [f"  {g['s']:.1f} s at +{g['at_s']:.1f} s, after {g['after']}, before {g['before']}"
                      for g in r["longest_idle"][:6]]
    for s in result.get("scale", []):
        lines.append(f"scale {s['nodes']} nodes: preflight + plan {s['wall_s']:.1f} s wall "
                     f"({s['wall_per_node_s']:.3f} s/node), controller CPU {s['controller_cpu_s']:.1f} s "
                     f"({s['cpu_per_node_s']:.3f} s/node)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
