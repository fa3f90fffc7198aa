"""The cluster state server (stands in for Stackato's config_redis on the primary) and its client.

    python3 -m stackato_sim.state serve [--host IP] [--port N]

JSON over HTTP: POST /op with {"op": name, "args": {...}} answers {"ok": true, "result": ...}
or {"ok": false, "kind": ..., "error": ...}. One lock serialises every op; the state is saved
to /var/lib/stackato-sim/cluster-state.json after every change and seeded from cluster.json
on first start. Every change is journaled here, by the server (docs/dev/simulator.md §5).
"""

from __future__ import annotations

import collections
import copy
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import journal, nodeconf, paths, ports, roles as roles_mod

DEFAULT_DEA_MEMORY_MB = 2048   # [ours] a DEA whose node.json says 0 has this much app memory
POLL_INTERVAL_S = 0.05         # how soon serve_forever notices a shutdown (SIGTERM)

DEFAULT_CONFIG = {
    "cloud_controller_ng": {
        "maintenance_mode": False,
        "app_uris": {"reserved_list": ["www", "api", "login", "aok"]},
        "allowed_repos": [
            "deb mirror://mirrors.ubuntu.com/mirrors.txt precise main restricted universe "
            "multiverse",
        ],
        "uaa": {"new_user_strategies": {"individual": {"space_name": "default"}}},
    },
    "dea_ng": {"environment": {"app_http_proxy": "", "app_https_proxy": ""},
               "staging": {"memory_limit_mb": 1024}},
    "router2g": {"acl": {"enabled": False}, "prevent_x_spoofing": False},
    "fence": {"docker": {"image": "stackato/app-holophonor:3.0.0"}},
    "logyard": {"retrylimits": {"appdrain.": "24h", "tmp.": "25m"}},
    "systail": {"log_files": {"kato": "/s/logs/kato.log", "dpkg": "/var/log/dpkg.log"}},
    "aok": {"strategy": {"use": "builtin"}},
    "stackato_rest": {"license": {"type": "microcloud"}},
}

SHIPPED_BUILDPACKS = ("java", "nodejs", "python", "ruby", "php", "go")
CUSTOM_BUILDPACKS = ("custom-go",)


class OpError(Exception):
    """A refused or invalid op; kind: not_found (a key), no_component, no_value (pop),
    type_change, refused, bad_request."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# ---- key paths -------------------------------------------------------------------------

def split_key(key: str | None) -> list[str]:
    return [part for part in (key or "").split("/") if part]


def _child(node, part):
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise KeyError(part)


def type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "int" if isinstance(value, int) else "float"
    if isinstance(value, str):
        return "string"
    return "struct"


def _deep_merge(base: dict, extra: dict) -> dict:
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)
    return base


def proc_state(entry: dict, now: float) -> str:
    state = entry.get("state", "STOPPED")
    if state == "STARTING" and float(entry.get("ready_at") or 0) <= now:
        return "RUNNING"
    return state


# ---- the state ---------------------------------------------------------------------------

def dea_memory_mb(node: dict) -> int:
    """A DEA's app memory: its dea_memory_mb, the default when that is 0 or missing."""
    return int(node.get("dea_memory_mb") or 0) or DEFAULT_DEA_MEMORY_MB


def common_dea_memory_mb(nodes) -> int:
    """The seeded `dea_ng resources/memory_mb`: the most common memory of the DEA nodes (ties:
    the smallest); the default when there is no DEA. Placement keeps each DEA's own memory."""
    counts = collections.Counter(dea_memory_mb(n) for n in nodes
                                 if "dea" in (n.get("roles") or ()))
    if not counts:
        return DEFAULT_DEA_MEMORY_MB
    return min(counts, key=lambda mb: (-counts[mb], mb))


def seed(cluster: dict) -> dict:
    """The initial cluster state from cluster.json."""
    primary = cluster.get("primary_ip")
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["cluster"] = {"mbusip": primary, "endpoint": f"api.{nodeconf.cluster_domain(cluster)}"}
    config["dea_ng"]["resources"] = {"memory_mb": common_dea_memory_mb(cluster.get("nodes", []))}
    _deep_merge(config, cluster.get("config") or {})
    nodes = {}
    for n in cluster.get("nodes", []):
        node_roles = roles_mod.expand(set(n.get("roles", [])) | {"base"})
        nodes[n["ip"]] = {
            "name": n.get("name", n["ip"]), "roles": node_roles, "version": n.get("version"),
            "processes": {p: {"state": "RUNNING", "ready_at": 0}
                          for p in roles_mod.processes_for(node_roles)},
            "down": False, "retired": False, "dea_memory_mb": dea_memory_mb(n),
        }
    state = {"config": config, "local": {}, "nodes": nodes, "apps": {}, "instances": [],
             "next_instance": 1,
             "buildpacks": [{"name": b, "position": i + 1, "custom": b in CUSTOM_BUILDPACKS}
                            for i, b in enumerate(SHIPPED_BUILDPACKS + CUSTOM_BUILDPACKS)]}
    for app in cluster.get("apps", []):
        state["apps"][app["name"]] = {"memory_mb": int(app.get("memory_mb", 256)),
                                      "instances": int(app.get("instances", 1))}
    _place_initial(state)
    return state


def _place_buildpack(bps: list, bp: dict, position) -> None:
    """Insert bp at a 1-based position (None or past the end: last) and renumber 1..n."""
    bps.sort(key=lambda b: b["position"])
    index = len(bps) if position is None else max(0, min(int(position) - 1, len(bps)))
    bps.insert(index, bp)
    for i, b in enumerate(bps):
        b["position"] = i + 1


def _dea_ips(state: dict) -> list[str]:
    return sorted(ip for ip, n in state["nodes"].items() if "dea" in n["roles"])


def _used_mb(state: dict, ip: str) -> int:
    return sum(i["memory_mb"] for i in state["instances"] if i["dea"] == ip)


def _place_initial(state: dict) -> None:
    """Spread instances round-robin over DEAs: fewest instances of the app first, then most
    free memory. An instance that fits nowhere stays unplaced (dea None)."""
    deas = _dea_ips(state)
    for name, app in state["apps"].items():
        for dummy in range(app["instances"]):
            fits = [ip for ip in deas
                    if state["nodes"][ip]["dea_memory_mb"] - _used_mb(state, ip) >= app["memory_mb"]]
            fits.sort(key=lambda ip: (
                sum(1 for i in state["instances"] if i["dea"] == ip and i["app"] == name),
                -(state["nodes"][ip]["dea_memory_mb"] - _used_mb(state, ip)), ip))
            inst = _new_instance(state, name, app["memory_mb"], fits[0] if fits else None)
            inst["index"] = dummy
    for inst in state["instances"]:
        inst["up"] = inst["dea"] is not None


def instance_index(state: dict, inst: dict) -> int:
    """An instance's index (Cloud Foundry's instance number): kept when it moves; a state
    saved before indices existed counts its position among the app's instances."""
    if "index" in inst:
        return int(inst["index"])
    return [i["id"] for i in state["instances"] if i["app"] == inst["app"]].index(inst["id"])


def instance_port(inst: dict) -> int:
    """The port an instance serves HTTP on, on its DEA's address: unique per instance id."""
    return ports.APP_BASE + int(str(inst["id"]).rsplit("-", 1)[1]) % ports.APP_RANGE


def _new_instance(state: dict, app: str, memory_mb: int, dea: str | None) -> dict:
    inst = {"id": f"{app}-{state['next_instance']}", "app": app, "memory_mb": memory_mb,
            "dea": dea, "up": False}
    state["next_instance"] += 1
    state["instances"].append(inst)
    return inst


class ClusterState:
    def __init__(self, path: str, cluster: dict):
        self.path = path
        self.domain = nodeconf.cluster_domain(cluster)
        self.lock = threading.Lock()
        try:
            with open(path, encoding="utf-8") as f:
                self.state = json.load(f)
        except FileNotFoundError:
            self.state = seed(cluster)
            self._save()

    # -- plumbing
    def _save(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = f"{self.path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.state, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def handle(self, op: str, args: dict):
        fn = getattr(self, "op_" + op, None)
        if fn is None:
            raise OpError("bad_request", f"unknown op {op}")
        with self.lock:
            before = json.dumps(self.state, sort_keys=True)
            # Time alone turns a STARTING dea_ng RUNNING: catch up first so that no answer
            # (running counts, placements) is older than the clock.
            self._reconcile()
            try:
                result = fn(**args)
            except TypeError as exc:
                raise OpError("bad_request", f"bad arguments for {op}: {exc}") from None
            finally:
                self._reconcile()
                if json.dumps(self.state, sort_keys=True) != before:
                    self._save()
        return result

    def _node(self, ip: str) -> dict:
        node = self.state["nodes"].get(ip)
        if node is None:
            raise OpError("not_found", f"node {ip} is not part of this cluster")
        return node

    def _instance_up(self, inst: dict, now: float) -> bool:
        node = self.state["nodes"].get(inst["dea"]) if inst["dea"] else None
        if not node or node["down"]:
            return False
        entry = node["processes"].get("dea_ng")
        return bool(entry) and proc_state(entry, now) == "RUNNING"

    def _reconcile(self) -> None:
        """Journal instance_down/instance_started for every instance whose up-ness changed."""
        now = time.time()
        for inst in self.state["instances"]:
            up = self._instance_up(inst, now)
            if up != inst.get("up"):
                inst["up"] = up
                inst["up_since"] = now if up else 0
                journal.emit("instance_started" if up else "instance_down",
                             app=inst["app"], dea=inst["dea"])

    def _timer_reconcile(self) -> None:
        with self.lock:
            self._reconcile()
            self._save()

    def _schedule(self, ready_at: float) -> None:
        # a STARTING dea_ng turns RUNNING by time alone: wake up then to journal it
        delay = max(0.0, float(ready_at) - time.time()) + 0.01
        t = threading.Timer(delay, self._timer_reconcile)
        t.daemon = True
        t.start()

    # -- config
    def _component(self, component: str, ip: str | None, create: bool = False):
        if component == "local":
            if not ip:
                raise OpError("bad_request", "component local needs the caller's node address")
            return self.state["local"].setdefault(ip, {}) if create else self.state["local"].get(ip, {})
        if component == "node":
            return {n_ip: {"roles": {r: {} for r in n["roles"]}}
                    for n_ip, n in self.state["nodes"].items()}
        conf = self.state["config"]
        if component not in conf:
            if not create:
                return None
            conf[component] = {}
        return conf[component]

    def op_config_get(self, component=None, key="", ip=None, **_):
        if not component:
            out = copy.deepcopy(self.state["config"])
            out["node"] = self._component("node", ip)
            return {"value": out}
        value = self._component(component, ip)
        if value is None:
            if split_key(key):
                raise OpError("no_component", f"key {key} not found in {component}")
            raise OpError("no_component", f"component {component} not found")
        try:
            for part in split_key(key):
                value = _child(value, part)
        except KeyError:
            raise OpError("not_found", f"key {key} not found in {component}") from None
        return {"value": copy.deepcopy(value)}

    def _parent(self, component, key, ip, create):
        if component == "node":
            raise OpError("refused", "component node is read-only here; use kato role add|remove")
        parts = split_key(key)
        root = self._component(component, ip, create=create)
        if root is None:
            raise OpError("no_component", f"key {key} not found in {component}")
        node = root
        for part in parts[:-1]:
            if isinstance(node, dict):
                if part not in node:
                    if not create:
                        raise OpError("not_found", f"key {key} not found in {component}")
                    node[part] = {}
                node = node[part]
            else:
                try:
                    node = _child(node, part)
                except KeyError:
                    raise OpError("not_found", f"key {key} not found in {component}") from None
            if not isinstance(node, (dict, list)):
                raise OpError("type_change", f"key {key} in {component}: '{part}' is a "
                                             f"{type_name(node)}, not a struct")
        return node, parts

    def op_config_set(self, component, key, value, force=False, ip=None, caller=None,
                      exact_types=False, **_):
        """exact_types: int and float are different types too (the documented profile)."""
        parts = split_key(key)
        if not parts:
            if not isinstance(value, dict):
                raise OpError("type_change", f"the whole of {component} must be a map")
            if component == "local":
                self.state["local"][ip] = value
            else:
                self.state["config"][component] = value
            journal.emit("config_set", node=caller, component=component, key="/", value=value)
            return {"value": value}
        parent, parts = self._parent(component, key, ip, create=True)
        last = parts[-1]
        exists = (last in parent) if isinstance(parent, dict) else (
            last.isdigit() and int(last) < len(parent))
        if exists:
            old = _child(parent, last)
            if (not force and old is not None
                    and type_name(old) != type_name(value)
                    and (exact_types or {type_name(old), type_name(value)} != {"int", "float"})):
                raise OpError("type_change",
                              f"key {key} in {component} is a {type_name(old)}, not a "
                              f"{type_name(value)}; use --force to change its type")
        if isinstance(parent, dict):
            parent[last] = value
        elif exists:
            parent[int(last)] = value
        else:
            raise OpError("not_found", f"key {key} not found in {component}")
        journal.emit("config_set", node=caller, component=component, key=key, value=value)
        return {"value": copy.deepcopy(value)}

    def op_config_del(self, component, key, ip=None, caller=None, **_):
        parts = split_key(key)
        if not parts:
            if component not in self.state["config"]:
                raise OpError("no_component", f"component {component} not found")
            del self.state["config"][component]
        else:
            parent, parts = self._parent(component, key, ip, create=False)
            last = parts[-1]
            try:
                _child(parent, last)
            except KeyError:
                raise OpError("not_found", f"key {key} not found in {component}") from None
            del parent[last if isinstance(parent, dict) else int(last)]
        journal.emit("config_del", node=caller, component=component, key=key)
        return {}

    def _list_at(self, component, key, ip, create):
        parent, parts = self._parent(component, key, ip, create=create)
        if not parts:
            raise OpError("bad_request", "push and pop need a key path")
        last = parts[-1]
        if isinstance(parent, dict) and last not in parent:
            if not create:
                raise OpError("not_found", f"key {key} not found in {component}")
            parent[last] = []
        value = _child(parent, last)
        if not isinstance(value, list):
            raise OpError("type_change", f"key {key} in {component} is a {type_name(value)}, "
                                         "not a list")
        return value

    def op_config_push(self, component, key, value, ip=None, caller=None, **_):
        lst = self._list_at(component, key, ip, create=True)
        lst.append(value)
        journal.emit("config_set", node=caller, component=component, key=key, value=lst,
                     op="push")
        return {"value": copy.deepcopy(lst)}

    def op_config_pop(self, component, key, value, ip=None, caller=None, **_):
        lst = self._list_at(component, key, ip, create=False)
        if value not in lst:
            raise OpError("no_value", f"value {json.dumps(value)} not found in {key} of {component}")
        lst.remove(value)
        journal.emit("config_set", node=caller, component=component, key=key, value=lst,
                     op="pop")
        return {"value": copy.deepcopy(lst)}

    # -- nodes
    def op_nodes(self, **_):
        return {ip: {"roles": list(n["roles"])} for ip, n in sorted(self.state["nodes"].items())}

    def op_node_info(self, ip=None, **_):
        """Node records with effective process states (all nodes, or one)."""
        now = time.time()
        ips = [ip] if ip else sorted(self.state["nodes"])
        out = {}
        for n_ip in ips:
            n = self._node(n_ip)
            out[n_ip] = {"name": n["name"], "roles": list(n["roles"]), "version": n["version"],
                         "down": n["down"], "retired": n["retired"],
                         "processes": {p: ("STOPPED" if n["down"] else proc_state(e, now))
                                       for p, e in n["processes"].items()}}
        return out

    def op_node_versions(self, **_):
        return {ip: n["version"] for ip, n in sorted(self.state["nodes"].items())}

    def _attach(self, ip, name=None, version=None, dea_memory_mb=None, roles=None) -> dict:
        """A node that joins after seeding (`kato node attach`; the harness's add-node)."""
        node = self.state["nodes"].get(ip)
        if node is None:
            node_roles = roles_mod.expand(set(roles or ()) | {"base"})
            # running, as a seeded node starts; the node's own reports say better later
            node = self.state["nodes"][ip] = {
                "name": name or ip, "roles": node_roles, "version": version,
                "processes": {p: {"state": "RUNNING", "ready_at": 0}
                              for p in roles_mod.processes_for(node_roles)},
                "down": False, "retired": False,
                "dea_memory_mb": int(dea_memory_mb or 0) or DEFAULT_DEA_MEMORY_MB}
            journal.emit("node_attached", node=ip, name=node["name"], roles=node["roles"],
                         dea_memory_mb=node["dea_memory_mb"])
        return node

    def op_node_attach(self, ip, name=None, roles=None, version=None, dea_memory_mb=None, **_):
        """Make a node known (idempotent: a known node is left as it is)."""
        known = ip in self.state["nodes"]
        self._attach(ip, name, version, dea_memory_mb, roles)
        return {"attached": not known}

    def op_node_report(self, ip, version=None, processes=None, roles=None, retired=None,
                       name=None, dea_memory_mb=None, **_):
        node = self._attach(ip, name, version, dea_memory_mb, roles)
        if version is not None and version != node["version"]:
            node["version"] = version
        if roles is not None:
            node["roles"] = roles_mod.expand(roles)
        if retired is not None:
            node["retired"] = bool(retired)
        if processes is not None:
            now = time.time()
            fresh = {}
            for proc, entry in processes.items():
                if isinstance(entry, str):
                    entry = {"state": entry, "ready_at": 0}
                fresh[proc] = {"state": entry.get("state", "STOPPED"),
                               "ready_at": float(entry.get("ready_at") or 0)}
                if proc == "dea_ng" and proc_state(fresh[proc], now) == "STARTING":
                    self._schedule(fresh[proc]["ready_at"])
            node["processes"] = fresh
        if node["down"]:   # a node that reports is up again
            node["down"] = False
            journal.emit("node_up", node=ip)
        return {}

    def op_node_down(self, ip, **_):
        node = self._node(ip)
        if not node["down"]:
            node["down"] = True
            journal.emit("node_down", node=ip)
        return {}

    def op_node_up(self, ip, **_):
        node = self._node(ip)
        if node["down"]:
            node["down"] = False
            journal.emit("node_up", node=ip)
        return {}

    # -- apps and DEAs
    def op_apps(self, **_):
        out = []
        for name, app in self.state["apps"].items():
            insts = [i for i in self.state["instances"] if i["app"] == name]
            out.append({"name": name, "memory_mb": app["memory_mb"], "instances": app["instances"],
                        "running": sum(1 for i in insts if i["up"]),
                        "placement": [{"dea": i["dea"], "up": i["up"], "id": i["id"],
                                       "state": self._instance_state(i)} for i in insts]})
        return out

    def _instance_state(self, inst: dict) -> str:
        """RUNNING, STARTING (its DEA's dea_ng is starting) or DOWN, as the API reports it."""
        if inst["up"]:
            return "RUNNING"
        node = self.state["nodes"].get(inst["dea"]) if inst["dea"] else None
        entry = (node or {}).get("processes", {}).get("dea_ng")
        if node and not node["down"] and entry and proc_state(entry, time.time()) == "STARTING":
            return "STARTING"
        return "DOWN"

    def op_dea_info(self, ip, **_):
        node = self._node(ip)
        if "dea" not in node["roles"]:
            raise OpError("not_found", f"node {ip} is not a DEA")
        insts = [{"app": i["app"], "memory_mb": i["memory_mb"]}
                 for i in self.state["instances"] if i["dea"] == ip]
        return {"memory_mb": node["dea_memory_mb"], "used_mb": sum(i["memory_mb"] for i in insts),
                "instances": insts, "retired": node["retired"]}

    def op_retire(self, ip, caller=None, **_):
        node = self._node(ip)
        if "dea" not in node["roles"]:
            raise OpError("refused", f"node {ip} is not a DEA; only DEA nodes can be retired")
        moving = sorted((i for i in self.state["instances"] if i["dea"] == ip),
                        key=lambda i: (-i["memory_mb"], i["id"]))
        needed = sum(i["memory_mb"] for i in moving)
        now = time.time()
        targets = [t for t in _dea_ips(self.state) if t != ip
                   and not self.state["nodes"][t]["retired"] and not self.state["nodes"][t]["down"]
                   and proc_state(self.state["nodes"][t]["processes"].get("dea_ng", {}), now)
                   == "RUNNING"]
        free = {t: self.state["nodes"][t]["dea_memory_mb"] - _used_mb(self.state, t) for t in targets}
        free_total = sum(max(0, f) for f in free.values())
        if node["retired"] and not moving:
            return {"moved": [], "needed_mb": 0, "free_mb": free_total, "already": True}
        journal.emit("dea_retire_start", node=caller, dea=ip)
        plan, left = [], dict(free)
        # how many instances of each app every target runs (anti-affinity, as the Cloud
        # Foundry DEA placement spreads an app's instances), planned moves included
        of_app = {t: collections.Counter(i["app"] for i in self.state["instances"] if i["dea"] == t)
                  for t in targets}
        for inst in moving:   # biggest first, each onto a DEA without that app, most free memory
            fits = [t for t in targets if left[t] >= inst["memory_mb"]]
            if not fits:
                journal.emit("dea_retire_refused", node=caller, dea=ip, needed_mb=needed,
                             free_mb=free_total)
                raise OpError("refused",
                              f"cannot retire DEA {ip}: its {len(moving)} app instance(s) need "
                              f"{needed} MB but the other DEAs have {free_total} MB free")
            fits.sort(key=lambda t, app=inst["app"]: (of_app[t][app], -left[t], t))
            left[fits[0]] -= inst["memory_mb"]
            of_app[fits[0]][inst["app"]] += 1
            plan.append((inst, fits[0]))
        moved = []
        for inst, target in plan:   # start the new instance first, then stop the old one
            new = _new_instance(self.state, inst["app"], inst["memory_mb"], target)
            new["index"] = instance_index(self.state, inst)   # a moved instance keeps its index
            new["up"] = self._instance_up(new, now)
            new["up_since"] = now if new["up"] else 0
            journal.emit("instance_started", app=inst["app"], dea=target)
            self.state["instances"].remove(inst)
            journal.emit("instance_stopped", app=inst["app"], dea=ip)
            moved.append({"app": inst["app"], "from": ip, "to": target})
        node["retired"] = True
        journal.emit("dea_retired", node=caller, dea=ip, moved=len(moved))
        return {"moved": moved, "needed_mb": needed, "free_mb": free_total, "already": False}

    def op_unretire(self, ip, caller=None, **_):
        node = self._node(ip)
        if node["retired"]:
            node["retired"] = False
            journal.emit("dea_unretired", node=caller, dea=ip)
        return {}

    # -- buildpacks and dumps
    def op_buildpacks(self, **_):
        return copy.deepcopy(self.state["buildpacks"])

    def op_remove_custom_buildpacks(self, caller=None, **_):
        removed = [b["name"] for b in self.state["buildpacks"] if b.get("custom")]
        self.state["buildpacks"] = [b for b in self.state["buildpacks"] if not b.get("custom")]
        for name in removed:
            journal.emit("buildpack_removed", node=caller, name=name)
        return removed

    def op_add_buildpack(self, name, custom=True, position=None, enabled=True, locked=False,
                         caller=None, **_):
        """`stackato create-buildpack` (restoring a custom buildpack after an upgrade). Like
        Cloud Foundry: inserted at <position> (1-based; none or past the end: last), the
        ones from there on move down one."""
        bps = [b for b in self.state["buildpacks"] if b["name"] != name]
        bp = {"name": name, "position": 0, "custom": bool(custom), "enabled": bool(enabled),
              "locked": bool(locked), "filename": None}
        _place_buildpack(bps, bp, position)
        self.state["buildpacks"] = bps
        journal.emit("buildpack_added", node=caller, name=name, position=bp["position"])
        return {}

    def op_update_buildpack(self, name, caller=None, **fields):
        """`PUT /v2/buildpacks/<guid>` (position, enabled, locked) and the bits' filename."""
        bps = list(self.state["buildpacks"])
        bp = next((b for b in bps if b["name"] == name), None)
        if bp is None:
            raise OpError("not_found", f"no buildpack {name}")
        for key in ("enabled", "locked", "filename"):
            if key in fields:
                bp[key] = fields[key]
        if fields.get("position") is not None:
            bps.remove(bp)
            _place_buildpack(bps, bp, fields["position"])
        self.state["buildpacks"] = bps
        journal.emit("buildpack_updated", node=caller, name=name, position=bp["position"])
        return {}

    def op_routes(self, **_):
        """What the routers and the DEAs' app servers poll (docs/dev/simulator.md §10): the
        cluster domain and, per app, every instance with its DEA, index, port and up-ness."""
        routes = {name: [] for name in self.state["apps"]}
        for inst in self.state["instances"]:
            routes.setdefault(inst["app"], []).append({
                "id": inst["id"], "index": instance_index(self.state, inst), "dea": inst["dea"],
                "port": instance_port(inst), "up": bool(inst["up"]),
                "up_since": inst.get("up_since", 0)})
        return {"domain": self.domain, "apps": routes}

    def op_dump(self, **_):
        return copy.deepcopy(self.state)

    def op_ping(self, **_):
        return {"pong": True}


# ---- HTTP -----------------------------------------------------------------------------

def make_handler(cs: ClusterState):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: the journal is the log
            pass

        def _reply(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._reply(200 if self.path == "/health" else 404, {"ok": self.path == "/health"})

        def do_POST(self):
            if self.path != "/op":
                self._reply(404, {"ok": False, "kind": "bad_request", "error": "POST /op"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                req = json.loads(self.rfile.read(length) or b"{}")
                result = cs.handle(req["op"], dict(req.get("args") or {}))
                self._reply(200, {"ok": True, "result": result})
            except OpError as exc:
                self._reply(200, {"ok": False, "kind": exc.kind, "error": str(exc)})
            except (ValueError, KeyError) as exc:
                self._reply(400, {"ok": False, "kind": "bad_request", "error": repr(exc)})
    return Handler


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        # HTTPServer.server_bind also resolves the host's FQDN, which nothing here uses
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def serve(host: str, port: int, listen_fd: int | None = None) -> None:
    """Serve the cluster state on host:port, or on an inherited listening socket (listen_fd:
    the unit tests bind the port themselves, so clients queue until the server is up)."""
    cs = ClusterState(paths.p(paths.CLUSTER_STATE), nodeconf.load_cluster())
    me = nodeconf.my_ip()
    if me in cs.state["nodes"]:
        cs.handle("node_up", {"ip": me})   # a primary that died and came back is up again
    if listen_fd is None:
        server = _Server((host, port), make_handler(cs))
    else:
        server = _Server((host, port), make_handler(cs), bind_and_activate=False)
        server.socket.close()
        server.socket = socket.socket(fileno=listen_fd)
        server.server_address = server.socket.getsockname()
        server.server_name, server.server_port = server.server_address[:2]
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"state server listening on {host}:{server.server_address[1]}", file=sys.stderr,
          flush=True)
    try:
        server.serve_forever(poll_interval=POLL_INTERVAL_S)
    finally:
        server.server_close()


# ---- the client: stateclient.py (kato imports it without the server's modules) -----------


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python3 -m stackato_sim.state")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve")
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)
    sp.add_argument("--listen-fd", type=int, help="serve on this inherited listening socket")
    args = ap.parse_args(argv)
    node = nodeconf.load_node()
    serve(args.host or node["primary_ip"], args.port or ports.of(node, "state_port"),
          args.listen_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
