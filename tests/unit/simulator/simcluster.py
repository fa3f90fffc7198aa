"""A simulated Stackato cluster on the host, for unit tests (docs/dev/simulator.md §6).

Each node is a temporary directory used as $STACKATO_SIM_ROOT, with address 127.43.<k>.<N>
(k unique per cluster, N = 11, 12, ...). The journal directory of every node is a symlink to
one shared directory, like the host bind mount of the containers. The state server runs as a
subprocess of the test and is stopped at teardown.

    cluster = SimCluster.make(tmp_path, nodes=[{"name": "core", "roles": [...]}, ...],
                              apps=[{"name": "web", "instances": 2, "memory_mb": 256}])
    r = cluster.node("core").kato("config", "get", "cloud_controller_ng", "maintenance_mode")
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIM_PACKAGE = str(Path(__file__).resolve().parents[2] / "simulator")   # tests/simulator
if SIM_PACKAGE not in sys.path:
    sys.path.insert(0, SIM_PACKAGE)

_K = itertools.count((os.getpid() % 200) + 1)
# Byte code of the node processes goes outside the repository, but is kept: every kato and
# Sentinel run would otherwise compile the simulator anew (tens of ms a run).
PYCACHE = os.path.join(tempfile.gettempdir(), f"stackato-sim-pycache-{os.getuid()}")
DEFAULT_VERSION = "3.4.2"
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
              "ALL_PROXY", "no_proxy", "NO_PROXY")


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now and not handed out before in this process: the kernel may give a closed probe's port
    again, and two servers of one cluster (the state server, the API) bind the same address."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_for_port(host: str, port: int, deadline_s: float = 15.0, proc=None) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"process for {host}:{port} exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {deadline_s}s")
            time.sleep(0.02)


class SimNode:
    def __init__(self, cluster: "SimCluster", spec: dict, conf: dict, root: Path):
        self.cluster, self.spec, self.conf, self.root = cluster, spec, conf, root
        self.name, self.ip = conf["name"], conf["ip"]

    def __repr__(self) -> str:
        return f"<SimNode {self.name} {self.ip}>"

    @property
    def roles(self) -> list[str]:
        return self.conf["roles"]

    def path(self, node_path: str) -> Path:
        """Where an absolute node path lives on the host."""
        return Path(str(self.root) + node_path)

    def env(self, extra: dict | None = None) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in PROXY_VARS and k != "PYTHONDONTWRITEBYTECODE"}
        env.update(STACKATO_SIM_ROOT=str(self.root), STACKATO_SIM_PACKAGE=SIM_PACKAGE,
                   PYTHONPATH=SIM_PACKAGE, STACKATO_SIM_PEERS=json.dumps(self.cluster.peers()),
                   PYTHONPYCACHEPREFIX=PYCACHE,
                   STACKATO_SIM_NO_FSYNC="1")   # a temporary directory needs no durability
        env.update(extra or {})
        return env

    def run(self, argv, input=None, env=None, timeout=120, cwd=None):
        return subprocess.run(argv, input=input, text=True, capture_output=True, check=False,
                              stdin=subprocess.DEVNULL if input is None else None,
                              env=self.env(env), timeout=timeout, cwd=cwd or str(self.root))

    def kato(self, *args, input=None, env=None, timeout=120, cwd=None):
        """Run the node's kato entry script (sys.executable); CompletedProcess with text."""
        return self.run([sys.executable, str(self.path("/home/stackato/bin/kato")), *args],
                        input=input, env=env, timeout=timeout, cwd=cwd)

    def sentinel(self, *args, input=None, env=None, timeout=300):
        cli = self.path("/s/code/sentinel/cli")
        return self.run([sys.executable, str(cli / "bin" / "sentinel"), *args], input=input,
                        env=env, timeout=timeout, cwd=str(cli))

    def module(self, module: str, *args, input=None, env=None, timeout=120):
        """python -m stackato_sim.<module> as this node."""
        return self.run([sys.executable, "-m", f"stackato_sim.{module}", *args], input=input,
                        env=env, timeout=timeout)

    def state(self) -> dict:
        """node-state.json as stored (no STARTING -> RUNNING settling)."""
        return json.loads(self.path("/var/lib/stackato-sim/node-state.json").read_text())

    def log(self, name: str = "kato.log") -> str:
        p = self.path(f"/s/logs/{name}")
        return p.read_text() if p.exists() else ""

    @contextlib.contextmanager
    def as_current(self):
        """Run stackato_sim code in-process as this node (env + config caches swapped)."""
        from stackato_sim import nodeconf
        saved = {k: os.environ.get(k) for k in ("STACKATO_SIM_ROOT", "STACKATO_SIM_PEERS")}
        os.environ["STACKATO_SIM_ROOT"] = str(self.root)
        os.environ["STACKATO_SIM_PEERS"] = json.dumps(self.cluster.peers())
        nodeconf.load_node.cache_clear()
        nodeconf.load_cluster.cache_clear()
        try:
            yield self
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            nodeconf.load_node.cache_clear()
            nodeconf.load_cluster.cache_clear()


class SimCluster:
    def __init__(self, base: Path):
        self.base = base
        self.k = next(_K) % 250 + 1
        self.nodes: dict[str, SimNode] = {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.journal_dir = base / "journal"
        self.state_port = free_port()
        self.api_port = free_port()
        self.upstream_port: int | None = None
        self.cluster_conf: dict = {}

    # -- construction
    @classmethod
    def make(cls, base, nodes=None, apps=None, config=None, upstream=False, start=True,
             init=True, time_scale=0.0, name=None, kato_profile=None, api=None) -> "SimCluster":
        """nodes: [{name, roles, version="3.4.2", dea_memory_mb=0, faults={}, sudo="none",
        time_scale}] (the first node with the primary role is the primary; default one core
        node). upstream=True reserves a port and writes node.json `upstream` for a local HTTP
        upstream (start it with start_process). start: run the state server; init: node_init
        on every node (after the state server, so nodes report themselves). kato_profile:
        `ours` (None: the key is left out, as in an older node.json) or `documented`. api:
        cluster.json `api` ({"username", "password"}; start the API with start_api)."""
        c = cls(Path(base))
        nodes = nodes or [{"name": "core", "roles": ["primary", "controller", "router", "base"]}]
        if upstream:
            c.upstream_port = free_port()
        ips = [f"127.43.{c.k}.{11 + i}" for i in range(len(nodes))]
        primary_ip = next((ip for ip, n in zip(ips, nodes) if "primary" in n.get("roles", ())),
                          ips[0])
        c.journal_dir.mkdir(parents=True, exist_ok=True)
        confs = []
        for ip, spec in zip(ips, nodes):
            roles = sorted(set(spec.get("roles", [])) | {"base"})
            confs.append({
                "cluster": name or f"t{c.k}", "name": spec["name"], "ip": ip,
                "primary_ip": primary_ip, "roles": roles,
                "version": spec.get("version", DEFAULT_VERSION), "ssh_port": 2222,
                "state_port": c.state_port, "sentinel_port": free_port(),
                "api_port": c.api_port,
                "time_scale": spec.get("time_scale", time_scale),
                "sudo": spec.get("sudo", "none"), "stackato_password": "stackato",
                "dea_memory_mb": spec.get("dea_memory_mb", 0),
                "upstream": ({"scheme": "http", "address": "127.0.0.1",
                              "http_port": c.upstream_port, "https_port": c.upstream_port}
                             if upstream else {"https_port": 443, "http_port": 80}),
                "faults": spec.get("faults", {}),
            })
            if kato_profile:
                confs[-1]["kato_profile"] = kato_profile
        c.cluster_conf = {
            "cluster": name or f"t{c.k}", "primary_ip": primary_ip, "time_scale": time_scale,
            "nodes": [{k: conf[k] for k in ("name", "ip", "roles", "version", "dea_memory_mb")}
                      for conf in confs],
            "apps": apps or [], "config": config or {},
        }
        if kato_profile:
            c.cluster_conf["kato_profile"] = kato_profile
        if api:
            c.cluster_conf["api"] = api
        for spec, conf in zip(nodes, confs):
            root = c.base / conf["name"]
            etc = root / "etc" / "stackato-sim"
            etc.mkdir(parents=True)
            (etc / "node.json").write_text(json.dumps(conf, indent=2))
            (etc / "cluster.json").write_text(json.dumps(c.cluster_conf, indent=2))
            lib = root / "var" / "lib" / "stackato-sim"
            lib.mkdir(parents=True)
            (lib / "journal").symlink_to(c.journal_dir)
            c.nodes[conf["name"]] = SimNode(c, spec, conf, root)
        if start:
            c.start_state_server()
        if init:
            c.init_nodes()
        return c

    def init_nodes(self, names=None) -> None:
        """node_init on the given nodes (all by default) in one interpreter."""
        roots = [str(self.nodes[n].root) for n in (names or self.nodes)]
        code = (
            "import os, sys, json\n"
            "from stackato_sim import nodeconf, node_init\n"
            "for root in json.loads(sys.argv[1]):\n"
            "    os.environ['STACKATO_SIM_ROOT'] = root\n"
            "    nodeconf.load_node.cache_clear(); nodeconf.load_cluster.cache_clear()\n"
            "    node_init.init_node()\n")
        first = next(iter(self.nodes.values()))
        r = first.run([sys.executable, "-c", code, json.dumps(roots)])
        if r.returncode != 0:
            raise RuntimeError(f"node_init failed:\n{r.stdout}\n{r.stderr}")

    # -- access
    def node(self, name: str) -> SimNode:
        return self.nodes[name]

    def by_ip(self, ip: str) -> SimNode:
        return next(n for n in self.nodes.values() if n.ip == ip)

    @property
    def primary(self) -> SimNode:
        return self.by_ip(self.cluster_conf["primary_ip"])

    def peers(self) -> dict:
        return {n.ip: str(n.root) for n in self.nodes.values()}

    def journal(self, event: str | None = None, **match) -> list[dict]:
        """Journal events in order, optionally only `event` with fields equal to match."""
        path = self.journal_dir / "events.jsonl"
        if not path.exists():
            return []
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [e for e in events if (event is None or e["event"] == event)
                and all(e.get(k) == v for k, v in match.items())]

    def client(self, timeout: float = 10.0):
        from stackato_sim.stateclient import StateClient
        return StateClient(self.cluster_conf["primary_ip"], self.state_port, timeout)

    # -- background processes
    def start_process(self, name: str, argv, node: SimNode | None = None, port=None,
                      host=None, deadline_s: float = 15.0, pass_fds=()) -> subprocess.Popen:
        """Start a daemon with a node's environment; wait until host:port accepts."""
        node = node or self.primary
        with open(self.base / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(argv, env=node.env(), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=str(node.root),
                                    pass_fds=pass_fds)
        self.procs[name] = proc
        if port:
            try:
                wait_for_port(host or node.ip, port, deadline_s, proc)
            except Exception:
                self.stop_process(name)
                raise RuntimeError(f"{name} did not start: "
                                   f"{(self.base / f'{name}.log').read_text()[-2000:]}")
        return proc

    def stop_process(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def start_state_server(self) -> None:
        """The state server on a listening socket bound here and handed down: no waiting for
        it to come up, clients queue in the backlog meanwhile (and it is closed here, so a
        stopped server means connection refused, as on a real primary)."""
        sock = socket.socket()
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.cluster_conf["primary_ip"], self.state_port))
            sock.listen(128)
            self.start_process("state", [sys.executable, "-m", "stackato_sim.state", "serve",
                                         "--listen-fd", str(sock.fileno())],
                               node=self.primary, pass_fds=(sock.fileno(),))
        finally:
            sock.close()

    def stop_state_server(self) -> None:
        self.stop_process("state")

    def start_api(self, cert: str | None = None, key: str | None = None) -> str:
        """The Cloud Controller API on the primary (HTTP, or HTTPS with cert/key); its base URL.
        Bound here and handed down, like the state server."""
        sock = socket.socket()
        host = self.cluster_conf["primary_ip"]
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, self.api_port))
            sock.listen(128)
            tls = ["--cert", cert, "--key", key] if cert else []
            self.start_process("api", [sys.executable, "-m", "stackato_sim.ccapi", "serve",
                                       "--listen-fd", str(sock.fileno()), *tls],
                               node=self.primary, pass_fds=(sock.fileno(),))
        finally:
            sock.close()
        return f"{'https' if cert else 'http'}://{host}:{self.api_port}"

    def start_upstream(self) -> subprocess.Popen:
        """The upstream content server on 127.0.0.1:<upstream_port> (make(upstream=True))."""
        if not self.upstream_port:
            raise RuntimeError("make the cluster with upstream=True")
        return self.start_process(
            "upstream", [sys.executable, "-m", "stackato_sim.upstream", "--listen", "127.0.0.1",
                         "--http-port", str(self.upstream_port), "--https-port", "0",
                         "--journal", str(self.journal_dir / "events.jsonl")],
            port=self.upstream_port, host="127.0.0.1")

    def close(self) -> None:
        for name in list(self.procs):
            self.stop_process(name)
