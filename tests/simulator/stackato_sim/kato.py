"""kato, Stackato 3.x's admin CLI (simulated; kato-contract.md §3).

One function per command (cmd_*), docopt-style argument parsing (options may appear anywhere
after the command words). Errors go to stderr as `ERROR: ...` (config: `Error: ...`), exit 1.

[ours] `-n <ip>` naming another node for a command that acts on that node's processes
(start/stop/restart, process start/stop/restart/ready, role add/remove, node retire) re-runs
the same kato command on that node: over SSH as stackato (BatchMode) in a container, or as a
local subprocess with the peer's root when $STACKATO_SIM_PEERS lists the address (unit tests).
Read-only views (process list, info, status, node version) read the state server instead.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
import time

from . import journal, katofmt, nodeconf, nodestate, paths, processes, remote, roles as roles_mod
from .stateclient import StateClient, StateError, StateUnavailable

USAGE = """Usage:
  kato version
  kato node version [<node-IP>]
  kato node list [-j] [-y]
  kato node retire [-n <node-IP>] [-j]
  kato node upgrade [options]
  kato config get|set|del|push|pop [-j] [-y] [-f] [--force] [<component>] [<key-path>] [<value>]
  kato info [-n <node-IP>] [-j] [-y]
  kato status [-a] [-j] [-y]
  kato process list [-n <node>] [-c] [-j] [-y] [<process>...]
  kato process ready [-b <seconds>] [-n <node>] <process>|all
  kato process start|stop|restart [-n <node>] [<process>...]
  kato start|stop|restart [-n <node-IP>] [<role>...]
  kato role add [--node <node-IP>] [--no-start] <role>... | --all | --all-but <role>... | --only <role>...
  kato role remove [--node <node-IP>] <role>... | --all | --all-but <role>...
  kato role info [<role>...]
  kato data export --only-this-node|--cluster|--manual [<filename>]
  kato patch status [-j]
"""

# Roles `role add --all` skips (role_order.yml exclude_from_add_all): one primary per
# cluster, mdns is for micro clouds.
EXCLUDE_FROM_ADD_ALL = ("primary", "mdns")

# [ours] Patches published per release; a node at that version reports them as pending.
PATCHES = {
    "3.4.2": [],
    "3.6.0": [{"id": 1, "name": "router-websocket-fix",
               "description": "Keep websocket connections open across router reloads",
               "roles": ["router"]}],
    "3.6.2": [],
}


class KatoError(Exception):
    def __init__(self, message: str, rc: int = 1):
        super().__init__(message)
        self.rc = rc


class UsageError(KatoError):
    pass


# ---- argument parsing ------------------------------------------------------------------

def parse(argv, spec: dict, tolerant: bool = False):
    """spec: option -> (dest, takes_value). Returns (opts, positionals). With tolerant,
    unknown --flags are accepted as booleans (kato data export's --<item> switches)."""
    opts, pos, i = {}, [], 0
    argv = list(argv)
    while i < len(argv):
        a = argv[i]
        if a == "--":
            pos.extend(argv[i + 1:])
            break
        if a.startswith("-") and len(a) > 1 and not a[1:2].isdigit():
            name, eq, val = a.partition("=")
            if name not in spec:
                if tolerant and name.startswith("--"):
                    opts[name[2:]] = val if eq else True
                    i += 1
                    continue
                raise UsageError(f"ERROR: unknown option {name}\n{USAGE}")
            dest, takes = spec[name]
            if takes:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise UsageError(f"ERROR: option {name} needs a value")
                    val = argv[i]
                if dest in opts and isinstance(opts[dest], list):
                    opts[dest].append(val)
                else:
                    opts[dest] = val
            else:
                opts[dest] = True
        else:
            pos.append(a)
        i += 1
    return opts, pos


FMT = {"-j": ("json", False), "--json": ("json", False), "-y": ("yaml", False),
       "--yaml": ("yaml", False)}
NODE_OPT = {"-n": ("node", True), "--node": ("node", True)}
CLUSTER_OPT = {"-c": ("cluster", False), "--cluster": ("cluster", False)}


def out(text: str = "") -> None:
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


def emit_value(value, opts) -> None:
    out(katofmt.to_json(value) if opts.get("json") else katofmt.to_yaml(value))


# ---- node context ----------------------------------------------------------------------

def node() -> dict:
    return nodeconf.load_node()


def client() -> StateClient:
    return StateClient.from_node()


def local_version() -> str:
    return nodestate.read().get("version") or node().get("version") or "unknown"


def need_sudo() -> None:
    """kato asks for the stackato password when it needs sudo; unattended runs cannot."""
    mode = node().get("sudo", "nopasswd")
    if mode == "none":
        return
    try:
        if subprocess.run(["sudo", "-n", "true"], stdin=subprocess.DEVNULL,
                          capture_output=True, check=False).returncode == 0:
            return
        if sys.stdin.isatty() and subprocess.run(["sudo", "-v"], check=False).returncode == 0:
            return
    except FileNotFoundError:
        raise KatoError("ERROR: sudo is not installed on this node") from None
    raise KatoError("ERROR: sudo requires a password for stackato; configure passwordless "
                    "sudo or run interactively")


def run_on_node(ip: str, args: list[str], input: str | None = None) -> int:
    """Run `kato <args>` on another node; its output passes through. Returns its exit code."""
    root = nodeconf.peer_root(ip)
    if root:
        env = dict(os.environ, STACKATO_SIM_ROOT=root)
        cmd = [sys.executable, root + paths.KATO, *args]
    else:
        env = None
        cmd = remote.ssh_argv(ip, remote.shell_words([paths.KATO, *args]))
    sys.stdout.flush()
    try:
        return subprocess.run(cmd, env=env, input=input, text=True, check=False).returncode
    except FileNotFoundError as exc:
        raise KatoError(f"ERROR: cannot run kato on node {ip}: {exc}") from None


def forward(ip: str, args: list[str]) -> int:
    """Re-run this command on node <ip> with its -n/--node option removed."""
    try:
        known = client().nodes()
    except StateUnavailable:
        known = None    # the node may still answer over SSH; let it say what it can
    if known is not None and ip not in known:
        raise KatoError(f"ERROR: node {ip} is not part of this cluster")
    rest, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-n", "--node"):
            skip = True
            continue
        if a.startswith(("--node=", "-n=")):
            continue
        rest.append(a)
    return run_on_node(ip, rest)


def ok_line(text: str) -> str:
    return f"{text:<43}ok"


# ---- commands ----------------------------------------------------------------------------

def show_version(version: str) -> None:
    """[ours] the bare version; documented profile: inside other text."""
    out(f"Helion Stackato {version}" if nodeconf.documented() else version)


def cmd_version(args) -> int:
    parse(args, {})
    show_version(local_version())
    return 0


def cmd_node_version(args) -> int:
    dummy, pos = parse(args, FMT)
    ip = pos[0] if pos else None
    if nodeconf.is_self(ip):
        show_version(local_version())
        return 0
    versions = client().node_versions()
    if ip not in versions:
        raise KatoError(f"ERROR: node {ip} is not part of this cluster")
    show_version(versions[ip] or "unknown")
    return 0


def in_role_order(node_roles) -> list[str]:
    """Roles in kato's own role order (documented profile: not sorted by name)."""
    return [r for r in roles_mod.ROLES if r in node_roles]


def cmd_node_list(args) -> int:
    opts, dummy = parse(args, FMT)
    nodes = client().nodes()
    if nodeconf.documented():
        # [doc] one line per node, its IP first and its roles after it on the same line;
        # everything else about the output is left to the reader to tolerate.
        if opts.get("json") or opts.get("yaml"):
            listing = {"cluster_nodes": [{"address": ip, "assigned_roles": " ".join(
                in_role_order(info["roles"]))} for ip, info in nodes.items()]}
            out(katofmt.to_json(listing) if opts.get("json") else katofmt.to_yaml(listing))
            return 0
        out(f"{'Node IP':<16} Assigned roles")
        for ip, info in nodes.items():
            out(f"{ip:<16} {', '.join(in_role_order(info['roles']))}   ")
        return 0
    if opts.get("json"):
        out(katofmt.to_json(nodes))
    elif opts.get("yaml"):
        out(katofmt.to_yaml(nodes))
    else:
        for ip, info in nodes.items():
            out(f"{ip} {' '.join(sorted(info['roles']))}")
    return 0


CONFIG_SPEC = dict(FMT, **{"-f": ("flat", False), "--flat": ("flat", False),
                           "--force": ("force", False)})


def _config_value_error(exc: StateError, sub: str, component: str | None,
                        key: str | None) -> KatoError:
    """kato's config error line: [ours] the state server's words; documented profile: kato's
    own (still `Error: ...` on stderr, exit 1)."""
    if nodeconf.documented():
        if exc.kind == "no_component":
            return KatoError(f"Error: no such component: {component}")
        if exc.kind == "not_found":
            return KatoError(f"Error: no such key: {key} (component {component})")
        if exc.kind == "type_change" and sub in ("set", "push", "pop"):
            return KatoError(f"Error: refusing to change the type of {component} {key} "
                             "without --force")
    return KatoError(f"Error: {exc}")


def cmd_config(args) -> int:
    if not args:
        raise UsageError(USAGE)
    sub, rest = args[0], args[1:]
    opts, pos = parse(rest, CONFIG_SPEC)
    c = client()
    component, key = (pos + [None, None])[:2]
    try:
        if sub == "get":
            component = pos[0] if pos else None
            key = pos[1] if len(pos) > 1 else ""
            value = c.config_get(component, key)
            if opts.get("flat"):
                prefix = "/".join(p for p in (component or "", key.strip("/")) if p)
                out(katofmt.to_flat(value, prefix))
            else:
                emit_value(value, opts)
            return 0
        if len(pos) < 2:
            raise UsageError(f"ERROR: config {sub} needs <component> <key-path>\n{USAGE}")
        component, key = pos[0], pos[1]
        if sub == "set":
            raw = pos[2] if len(pos) > 2 else sys.stdin.read().rstrip("\n")
            if opts.get("json"):
                try:
                    value = json.loads(raw)
                except ValueError as exc:
                    raise KatoError(f"Error: value is not valid JSON: {exc}") from None
                warning = None
            else:
                value, kind = katofmt.guess(raw)
                warning = f"WARNING: Assumed type {kind}"
            new = c.config_set(component, key, value, force=bool(opts.get("force")),
                               exact_types=nodeconf.documented())
            if warning:
                out(warning)
            out(katofmt.to_yaml(new))
            return 0
        if sub == "del":
            c.config_del(component, key)
            return 0
        if sub in ("push", "pop"):
            if len(pos) < 3:
                raise UsageError(f"ERROR: config {sub} needs <component> <key-path> <value>")
            raw = pos[2]
            if opts.get("json"):
                try:
                    value = json.loads(raw)
                except ValueError as exc:
                    raise KatoError(f"Error: value is not valid JSON: {exc}") from None
            else:
                value = raw
            fn = c.config_push if sub == "push" else c.config_pop
            out(katofmt.to_yaml(fn(component, key, value)))
            return 0
    except StateError as exc:
        raise _config_value_error(exc, sub, component, key) from None
    raise UsageError(f"ERROR: unknown config command {sub}\n{USAGE}")


def _node_summary(ip: str, record: dict, primary_ip: str) -> dict:
    info = {"name": record.get("name"), "roles": sorted(record["roles"]),
            "available_roles": [r for r in roles_mod.ROLES if r not in record["roles"]],
            "mbusip": primary_ip, "version": record.get("version")}
    return info


def cmd_info(args) -> int:
    opts, dummy = parse(args, dict(FMT, **NODE_OPT))
    ip = opts.get("node") or nodeconf.my_ip()
    if nodeconf.is_self(ip):
        ip = nodeconf.my_ip()
    primary = node()["primary_ip"]
    try:
        c = client()
        record = c.node_info(ip)[ip]
        info = _node_summary(ip, record, primary)
        if "dea" in record["roles"]:
            dea = c.dea_info(ip)
            info["dea"] = {k: dea[k] for k in ("memory_mb", "used_mb", "instances", "retired")}
    except StateError as exc:
        raise KatoError(f"ERROR: {exc}") from None
    except StateUnavailable as exc:
        if ip != nodeconf.my_ip():
            raise
        # this node's own view still works without the primary (no DEA placement then)
        err(f"WARNING: {str(exc)[len('ERROR: '):]}")
        st = nodestate.read()
        record = {"name": node().get("name"), "roles": st.get("roles") or node()["roles"],
                  "version": local_version()}
        info = _node_summary(ip, record, primary)
    if (opts.get("json") or opts.get("yaml")) and nodeconf.documented():
        flat = {"node": ip, "name": info["name"], "version": info["version"],
                "mbusip": info["mbusip"], "assigned": " ".join(in_role_order(info["roles"])),
                "unassigned": " ".join(info["available_roles"])}
        out(katofmt.to_json(flat) if opts.get("json") else katofmt.to_yaml(flat))
    elif opts.get("json"):
        out(katofmt.to_json({ip: info}))
    elif opts.get("yaml"):
        out(katofmt.to_yaml({ip: info}))
    else:
        out(f"Node {ip} ({info['name']})")
        out(f"  version:         {info['version']}")
        out(f"  mbusip:          {info['mbusip']}")
        out(f"  assigned roles:  {', '.join(info['roles'])}")
        out(f"  available roles: {', '.join(info['available_roles'])}")
        if "dea" in info:
            d = info["dea"]
            out(f"  dea memory:      {d['used_mb']}/{d['memory_mb']} MB used, "
                f"{len(d['instances'])} app instance(s)")
    return 0


def role_state(procs: dict, role: str) -> str:
    states = [procs[p] for p in roles_mod.PROCESSES.get(role, ()) if p in procs]
    if not states:
        return "STOPPED"
    for s in ("FATAL", "STOPPED", "STARTING"):
        if s in states:
            return s
    return "RUNNING"


def cmd_status(args) -> int:
    opts, dummy = parse(args, dict(FMT, **{"-a": ("all", False), "--all": ("all", False)}))
    nodes = client().node_info()
    configured = set()
    result = {}
    for ip, rec in nodes.items():
        configured.update(rec["roles"])
        result[ip] = {"name": rec["name"], "version": rec["version"], "down": rec["down"],
                      "roles": {r: role_state(rec["processes"], r) for r in sorted(rec["roles"])},
                      "processes": dict(sorted(rec["processes"].items()))}
    unconfigured = [r for r in roles_mod.ROLES if r not in configured]
    if opts.get("all"):
        for ip in result:
            result[ip]["unconfigured_roles"] = unconfigured
    if (opts.get("json") or opts.get("yaml")) and nodeconf.documented():
        rows = [{"node_ip": ip, "hostname": rec["name"], "role": role, "status": state}
                for ip, rec in result.items() for role, state in rec["roles"].items()]
        if opts.get("all"):
            rows += [{"node_ip": None, "hostname": None, "role": role, "status": "OFF"}
                     for role in unconfigured]
        listing = {"role_status": rows}
        out(katofmt.to_json(listing) if opts.get("json") else katofmt.to_yaml(listing))
        return 0
    if opts.get("json") or opts.get("yaml"):
        out(katofmt.to_json(result) if opts.get("json") else katofmt.to_yaml(result))
        return 0
    for ip, rec in result.items():
        out(f"{ip} ({rec['name']}){'  DOWN' if rec['down'] else ''}")
        for role, state in rec["roles"].items():
            out(f"  {role:<24}{state}")
    if opts.get("all") and unconfigured:
        out("roles not configured on this cluster:")
        for role in unconfigured:
            out(f"  {role:<24}OFF")
    return 0


def cmd_process(args) -> int:
    if not args:
        raise UsageError(USAGE)
    sub, rest = args[0], args[1:]
    if sub == "list":
        return process_list(rest)
    if sub == "ready":
        # [doc] `-b <seconds>`; the long form `--block` is ours only
        block_opt = {"-b": ("block", True)}
        if not nodeconf.documented():
            block_opt["--block"] = ("block", True)
        opts, pos = parse(rest, dict(NODE_OPT, **block_opt))
        if not nodeconf.is_self(opts.get("node")):
            return forward(opts["node"], ["process", "ready", *rest])
        if len(pos) != 1:
            raise UsageError(f"ERROR: process ready needs one <process> or all\n{USAGE}")
        block = None
        if "block" in opts:
            try:
                block = float(opts["block"])
            except ValueError:
                raise UsageError(f"ERROR: --block needs seconds, got {opts['block']}") from None
        try:
            ok, not_ready = processes.ready("all" if pos[0] == "all" else [pos[0]], block)
        except processes.UnknownProcess as exc:
            raise KatoError(f"ERROR: {exc}") from None
        if ok:
            out("READY")
            return 0
        if nodeconf.documented():
            err(f"Timed out waiting for {len(not_ready)} process(es): " + ", ".join(
                f"{proc} is {state.lower()}" for proc, state in sorted(not_ready.items())))
            return 1
        for proc, state in sorted(not_ready.items()):
            out(f"{proc:<24}{state}")
        waited = f" after {opts['block']}s" if block else ""
        err(f"ERROR: not ready{waited}: {', '.join(sorted(not_ready))}")
        return 1
    if sub in ("start", "stop", "restart"):
        opts, pos = parse(rest, dict(NODE_OPT, **CLUSTER_OPT))
        if not nodeconf.is_self(opts.get("node")):
            return forward(opts["node"], ["process", sub, *rest])
        need_sudo()
        names = pos or sorted(nodestate.read()["processes"])
        verb = {"start": "starting", "stop": "stopping", "restart": "restarting"}[sub]
        out(f"-----> {verb.capitalize()} processes")
        try:
            getattr(processes, sub)(names)
        except processes.UnknownProcess as exc:
            raise KatoError(f"ERROR: {exc}") from None
        for name in names:
            out(ok_line(f"process {name} {verb}..."))
        return 0
    raise UsageError(f"ERROR: unknown process command {sub}\n{USAGE}")


def process_list(args) -> int:
    opts, pos = parse(args, dict(FMT, **NODE_OPT, **CLUSTER_OPT))
    if opts.get("cluster") or not nodeconf.is_self(opts.get("node")):
        nodes = client().node_info(None if opts.get("cluster") else opts["node"])
        result = {ip: rec["processes"] for ip, rec in nodes.items()}
    else:
        result = {nodeconf.my_ip(): processes.states()}
    if pos:
        result = {ip: {p: s for p, s in procs.items() if p in pos} for ip, procs in result.items()}
    if opts.get("json"):
        out(katofmt.to_json(result))
    elif opts.get("yaml"):
        out(katofmt.to_yaml(result))
    else:
        for ip, procs in result.items():
            if len(result) > 1 or opts.get("cluster"):
                out(f"{ip}:")
            for proc, state in sorted(procs.items()):
                out(f"{proc:<28}{state}")
    return 0


def _target_roles(pos: list[str], mine: list[str]) -> list[str]:
    if not pos:
        return sorted(mine)
    wanted = []
    for role in pos:
        if role in roles_mod.ROLE_GROUPS:
            wanted.extend(r for r in roles_mod.ROLE_GROUPS[role] if r in mine)
            continue
        if role not in roles_mod.ROLES:
            raise KatoError(f"ERROR: unknown role {role}")
        if role not in mine:
            raise KatoError(f"ERROR: role {role} is not configured on node {nodeconf.my_ip()}")
        wanted.append(role)
    return sorted(set(wanted))


def _restart_fault_fires() -> bool:
    """The node's restart_fatal fault (node.json), counted when it fires (sentinel.fire)."""
    # the upgrade's module, imported for kato restart alone
    from . import sentinel   # pylint: disable=import-outside-toplevel
    return sentinel.fire("restart_fatal") is not None


def _export_fault_fires() -> bool:
    """The node's export_fail fault (node.json), counted when it fires (sentinel.fire)."""
    # the upgrade's module, imported for kato data export alone
    from . import sentinel   # pylint: disable=import-outside-toplevel
    return sentinel.fire("export_fail") is not None


def cmd_role_action(action: str, args) -> int:
    """kato start|stop|restart [-n <node-IP>] [<role>...]"""
    spec = dict(NODE_OPT, **{"-v": ("verbose", False), "--verbose": ("verbose", False),
                             "-e": ("ephemeral", False), "--ephemeral": ("ephemeral", False)})
    opts, pos = parse(args, spec)
    if not nodeconf.is_self(opts.get("node")):
        return forward(opts["node"], [action, *args])
    need_sudo()
    targets = _target_roles(pos, processes.node_roles())
    verb = {"start": "starting", "stop": "stopping", "restart": "restarting"}[action]
    out(f"-----> {verb.capitalize()} roles")
    if action == "restart":
        journal.emit("kato_restart", roles=targets)
    getattr(processes, f"{action}_roles")(targets)
    if action == "restart" and _restart_fault_fires():
        # the restarted processes do not come back up (FATAL) until something starts them: kato process ready
        # times out, as after a restart that fails on a real node
        procs = processes.role_processes(targets)
        processes.fail(procs)
        journal.emit("process_fatal", step="restart", processes=procs)
    for role in targets:
        out(ok_line(f"role {role} {verb}..."))
    return 0


def cmd_role(args) -> int:
    if not args:
        raise UsageError(USAGE)
    sub, rest = args[0], args[1:]
    if sub == "info":
        opts, pos = parse(rest, FMT)
        wanted = pos or list(roles_mod.ROLES)
        info = {r: list(roles_mod.PROCESSES.get(r, ())) for r in wanted if r in roles_mod.ROLES}
        if opts.get("json"):
            out(katofmt.to_json(info))
        else:
            for role, procs in info.items():
                out(f"{role}: {' '.join(procs)}")
        return 0
    if sub not in ("add", "remove"):
        raise UsageError(f"ERROR: unknown role command {sub}\n{USAGE}")
    spec = dict(NODE_OPT, **{"-v": ("verbose", False), "--verbose": ("verbose", False),
                             "--no-start": ("no_start", False), "--all": ("all", False),
                             "--all-but": ("all_but", False), "--only": ("only", False)})
    opts, pos = parse(rest, spec)
    if not nodeconf.is_self(opts.get("node")):
        return forward(opts["node"], ["role", sub, *rest])
    need_sudo()
    try:
        named = roles_mod.expand(pos)
    except ValueError as exc:
        raise KatoError(f"ERROR: {exc}") from None
    current = set(processes.node_roles())
    everything = set(roles_mod.ROLES) - set(EXCLUDE_FROM_ADD_ALL)
    if sub == "add":
        if opts.get("all"):
            new = current | everything
        elif opts.get("all_but"):
            new = current | (everything - set(named))
        elif opts.get("only"):
            new = set(named) | {"base"}
        else:
            if not named:
                raise UsageError(f"ERROR: role add needs <role>...\n{USAGE}")
            new = current | set(named)
    else:
        if opts.get("all"):
            new = {"base"}
        elif opts.get("all_but"):
            new = (current & set(named)) | {"base"}
        else:
            if "base" in named:
                raise KatoError("ERROR: role base cannot be removed (it is on every node)")
            new = current - set(named)
        new |= {"base"}
    c = client()
    if "primary" in new - current:
        holders = [ip for ip, n in c.nodes().items() if "primary" in n["roles"] and ip != nodeconf.my_ip()]
        if holders:
            raise KatoError(f"ERROR: the cluster already has a primary node ({holders[0]}); "
                            "a cluster has exactly one")
    added, removed = sorted(new - current), sorted(current - new)
    c.node_report(nodeconf.my_ip(), roles=sorted(new))   # fails cleanly if the primary is down
    if removed:
        out("-----> Stopping roles")
        processes.stop_roles(removed)
        for role in removed:
            out(ok_line(f"role {role} stopping..."))
        out("-----> Removing roles")
        keep = set(roles_mod.processes_for(new))
        processes.forget([p for p in roles_mod.processes_for(removed) if p not in keep])
        for role in removed:
            out(ok_line(f'removing role "{role}"...'))
    if added:
        out("-----> Adding roles")
        processes.ensure(roles_mod.processes_for(added), state="STOPPED")
        for role in added:
            out(ok_line(f'adding role "{role}"...'))
    with nodestate.locked() as st:
        st["roles"] = sorted(new)
    if added and not (opts.get("no_start") and not opts.get("only")):
        out("-----> Starting roles")
        processes.start_roles(added)
        for role in added:
            out(ok_line(f"role {role} starting..."))
    elif added or removed:
        processes.report()   # the new role and process table, to the state server
    return 0


def cmd_node_retire(args) -> int:
    opts, dummy = parse(args, dict(NODE_OPT, **FMT))
    if not nodeconf.is_self(opts.get("node")):
        return forward(opts["node"], ["node", "retire", *args])
    ip = nodeconf.my_ip()
    if "dea" not in processes.node_roles():
        raise KatoError(f"ERROR: node {ip} is not a DEA; only DEA nodes can be retired")
    need_sudo()
    try:
        result = client().retire(ip)
    except StateError as exc:
        if nodeconf.documented() and exc.kind == "refused":
            raise KatoError(f"ERROR: DEA {ip} was not retired: the remaining DEAs cannot run "
                            "its app instances") from None
        raise KatoError(f"ERROR: {exc}") from None
    # the DEA shuts down once its instances run elsewhere
    processes.stop_roles(["dea"])
    with nodestate.locked() as st:
        st["retired"] = True
    if nodeconf.documented():
        if opts.get("json"):
            out(katofmt.to_json({"dea": ip, "status": "retired", "relocated": [
                {"app_name": m["app"], "new_dea": m["to"]} for m in result["moved"]]}))
        else:
            out(f"DEA {ip} retired ({len(result['moved'])} app instance(s) relocated)")
        return 0
    if opts.get("json"):
        out(katofmt.to_json(dict(result, node=ip)))
        return 0
    if result.get("already"):
        out(f"DEA {ip} is already retired")
        return 0
    out(f"Retiring DEA {ip}: moving {len(result['moved'])} app instance(s) "
        f"({result['needed_mb']} MB; {result['free_mb']} MB free on the other DEAs)")
    for m in result["moved"]:
        out(f"  moved {m['app']}: {m['from']} -> {m['to']}")
    out(f"DEA {ip} retired")
    return 0


def cmd_data(args) -> int:
    if not args or args[0] != "export":
        raise UsageError(f"ERROR: only `kato data export` is simulated\n{USAGE}")
    spec = {"--only-this-node": ("only_this_node", False), "--cluster": ("cluster", False),
            "--manual": ("manual", False), "--force": ("force", False),
            "--base-dir": ("base_dir", True), "--remote": ("remote", False)}
    opts, pos = parse(args[1:], spec, tolerant=True)
    scopes = [s for s in ("only_this_node", "cluster", "manual") if opts.get(s)]
    if len(scopes) != 1:
        raise UsageError(f"ERROR: data export needs exactly one of --only-this-node, --cluster, "
                         f"--manual\n{USAGE}")
    name = pos[0] if pos else f"stackato-export-{int(time.time())}.tgz"
    shown = name
    real = paths.p(name) if name.startswith("/") else os.path.abspath(name)
    dest_dir = os.path.dirname(real) or "."
    if not os.path.isdir(dest_dir):
        raise KatoError(f"ERROR: cannot write {shown}: directory {paths.unmap(dest_dir)} "
                        "does not exist")
    if not os.access(dest_dir, os.W_OK):
        raise KatoError(f"ERROR: cannot write {shown}: directory {paths.unmap(dest_dir)} "
                        "is not writable")
    if _export_fault_fires():
        raise KatoError(f"ERROR: cannot write {shown}: No space left on device")
    cluster_state = client().dump() if scopes[0] == "cluster" else None
    manifest = {"version": local_version(), "node": nodeconf.my_ip(), "scope": scopes[0].replace("_", "-"),
                "created": time.time(), "excluded": ["resources", "aok-config"]}
    import tarfile   # pylint: disable=import-outside-toplevel  # only the export needs it: not every kato call's start-up

    tmp = f"{real}.part{os.getpid()}"
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            def add_bytes(arcname: str, data: bytes) -> None:
                info = tarfile.TarInfo(arcname)
                info.size, info.mtime = len(data), int(time.time())
                tar.addfile(info, io.BytesIO(data))
            add_bytes("stackato-export/manifest.json", json.dumps(manifest, indent=2).encode())
            if os.path.isdir(paths.p("/s/etc")):
                tar.add(paths.p("/s/etc"), arcname="stackato-export/s/etc")
            add_bytes("stackato-export/node-state.json",
                      json.dumps(nodestate.read(), indent=2).encode())
            if cluster_state is not None:
                add_bytes("stackato-export/cluster-state.json",
                          json.dumps(cluster_state, indent=2).encode())
        os.replace(tmp, real)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise KatoError(f"ERROR: cannot write {shown}: {exc.strerror or exc}") from None
    size = os.path.getsize(real)
    journal.emit("data_export", path=shown, bytes=size, scope=manifest["scope"])
    out(f"Data exported to {shown} ({size} bytes)")
    return 0


def cmd_patch(args) -> int:
    if not args or args[0] != "status":
        raise UsageError(f"ERROR: only `kato patch status` is simulated\n{USAGE}")
    opts, dummy = parse(args[1:], dict(FMT, **{"-a": ("all", False), "--all": ("all", False),
                                               "-l": ("local", False), "--local": ("local", False)}))
    version = local_version()
    st = nodestate.read()
    mine = set(st.get("roles") or node()["roles"])
    installed = set(st.get("patches_installed", []))
    pending = []
    for patch in PATCHES.get(version, []):
        done = patch["name"] in installed
        affected = bool(mine & set(patch["roles"]))
        pending.append(dict(patch, installed_on=[nodeconf.my_ip()] if done else [],
                            to_be_installed_on=[nodeconf.my_ip()] if affected and not done else []))
    if opts.get("json") and nodeconf.documented():
        out(katofmt.to_json({version: {p["name"]: {
            "patch_id": p["id"], "summary": p["description"], "roles": " ".join(p["roles"]),
            "installed": " ".join(p["installed_on"]),
            "pending": " ".join(p["to_be_installed_on"])} for p in pending}}))
        return 0
    if opts.get("json"):
        out(katofmt.to_json({"version": version, "patches": pending}))
        return 0
    out(f"{len(pending)} updates are available for {version}.")
    for p in pending:
        out(f"    {p['name']}: {p['description']}")
        out(f"        patch id:           {p['id']}")
        out(f"        roles affected:     {', '.join(p['roles'])}")
        out(f"        installed on:       {', '.join(p['installed_on']) or 'none'}")
        out(f"        to be installed on: {', '.join(p['to_be_installed_on']) or 'none'}")
    return 0


def cmd_node(args) -> int:
    if not args:
        raise UsageError(USAGE)
    sub, rest = args[0], args[1:]
    if sub == "version":
        return cmd_node_version(rest)
    if sub == "list":
        return cmd_node_list(rest)
    if sub == "retire":
        return cmd_node_retire(rest)
    if sub == "upgrade":
        from . import upgrade   # another module's job; imported only when used
        return int(upgrade.main(rest) or 0)
    raise UsageError(f"ERROR: unknown node command {sub}\n{USAGE}")


COMMANDS = {
    "version": cmd_version, "node": cmd_node, "config": cmd_config, "info": cmd_info,
    "status": cmd_status, "process": cmd_process, "role": cmd_role, "data": cmd_data,
    "patch": cmd_patch,
    "start": lambda a: cmd_role_action("start", a),
    "stop": lambda a: cmd_role_action("stop", a),
    "restart": lambda a: cmd_role_action("restart", a),
}


def log_invocation(argv) -> None:
    line = (f"{time.strftime('%Y-%m-%dT%H:%M:%S')} INFO  kato[{os.getpid()}]: "
            f"{' '.join(shlex.quote(a) for a in ['kato', *argv])}\n")
    try:
        path = paths.p(paths.KATO_LOG)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
    except OSError:
        pass   # a read-only /s must not break kato itself


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        conf = node()
        nodeconf.kato_profile()
    except (OSError, ValueError) as exc:
        err(f"ERROR: cannot read the node configuration {paths.NODE_JSON}: {exc}")
        return 1
    if os.geteuid() == 0 and conf.get("sudo") != "none":
        err("ERROR: kato must not be run as root")
        return 1
    log_invocation(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        out(USAGE)
        return 0 if argv else 1
    fn = COMMANDS.get(argv[0])
    if fn is None:
        err(f"ERROR: unknown command {argv[0]}\n{USAGE}")
        return 1
    try:
        return int(fn(argv[1:]) or 0)
    except KatoError as exc:
        err(str(exc))
        return exc.rc
    except StateUnavailable as exc:
        err(str(exc))
        return 1
    except StateError as exc:
        err(f"ERROR: {exc}")
        return 1
    except BrokenPipeError:
        return 1
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            pass


if __name__ == "__main__":
    sys.exit(main())
