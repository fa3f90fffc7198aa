"""Podman harness of the simulated Stackato cluster.

Run it with the project's venv: `.venv/bin/python tests/harness/cluster.py <subcommand>`.

Every node is a podman container on the host network that owns one loopback address
127.42.<C>.<N> (see docs/dev/simulator.md). Subcommands:

  build-image                       build (or reuse) the node image, offline from registries
  up <topology> [--name] [--set k=v]  bring a cluster up, print the inventory path last
  add-node <node> [--name] [--set k=v]  start one more node in a running cluster, attach it to
                                    the cluster state, rewrite the inventory (printed last)
  down [--name | --all]             remove a cluster's containers
  restart <node> [--name]           restart one node's container and wait for its sshd
  status                            list the clusters and their containers
  journal [--name] [--raw|--summary]  print the cluster's event journal (or a per-node timeline)
  ssh <node> [--name] [-- cmd ...]  ssh to a node as stackato with the cluster's key

Without --name a command means the only cluster that has containers (else the last one up).

Everything a cluster needs is written under .run/clusters/<name>/. Every podman call uses the
project's containers.conf (runc, low default ulimits) through CONTAINERS_CONF.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import copy
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tests" / "harness"
IMAGE_DIR = HARNESS / "image"
TOPOLOGIES = HARNESS / "topologies"
CONTAINERS_CONF = HARNESS / "containers.conf"
CACHE = REPO / ".cache"
RUNS = REPO / ".run" / "clusters"
# The simulator package copied into the image. STACKATO_SIM_SRC lets a developer point the
# harness at a scratch copy (e.g. stubs under /tmp) without touching the tree.
SIM_SRC = Path(os.environ.get("STACKATO_SIM_SRC", REPO / "tests" / "simulator" / "stackato_sim"))
if str(SIM_SRC.parent) not in sys.path:
    sys.path.insert(0, str(SIM_SRC.parent))
# The simulator's own answers to "which ports", "which profile", "which DEA memory in config".
from stackato_sim import nodeconf, paths as sim_paths, ports, state as sim_state, stateclient as sim_stateclient  # noqa: E402  pylint: disable=wrong-import-position

BASE_REPO = "localhost/stackato-sim-base"
NODE_REPO = "localhost/stackato-sim-node"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = [
    "python3", "openssh-server", "openssh-client", "sudo", "procps", "iproute2",
    "ca-certificates", "openssl", "tinyproxy", "init-system-helpers", "netbase", "less",
]

# Host names of the seed's upgrade content (docs/dev/simulator.md §1); all map to loopback.
SEED_HOSTS = [
    "component-images.stackato.com", "docker.stackato.com", "upgrade.stackato.com",
    "github.com", "s3.amazonaws.com", "rubygems.org", "api.rubygems.org",
    "us.archive.ubuntu.com", "mirrors.kernel.org", "security.ubuntu.com",
    "get.docker.io", "ppa.launchpad.net",
]
FIRST_NODE_HOST = 11
PROXY_HOST = 240
LB_HOST = 230       # HAProxy in front of the routers (traffic topologies), on the host
LB_READY_S = 20.0
UPSTREAM_HOST = 250
BLACKHOLE_HOST = 251  # nothing listens there: direct downloads fail when a proxy is required
SSH_PORT, STATE_PORT, SENTINEL_PORT, API_PORT = ports.SSH, ports.STATE, ports.SENTINEL, ports.API
UPSTREAM_HTTP, UPSTREAM_HTTPS = ports.UPSTREAM_HTTP, ports.UPSTREAM_HTTPS
PROXY_PORT = 3128  # tinyproxy's, in the proxy container (not the simulator's)
TARGET_VERSION = "3.6.2"
LABEL = "stackato-sim.cluster"
READY_DEADLINE_S = 90.0

NODE_DEFAULTS = {"version": "3.4.2", "sudo": "nopasswd", "s_size": "20g",
                 "stackato_password": "stackato", "faults": {}}
DATA_ROLES = {"mysql", "postgresql", "mongodb", "redis", "rabbit", "rabbit3", "memcached",
              "filesystem", "harbor"}


class HarnessError(Exception):
    """A failure the user can act on; printed without a traceback."""


def log(msg: str) -> None:
    print(f"[cluster] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# podman
# ---------------------------------------------------------------------------------------------
def podman_env() -> dict:
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def podman(*args: str, check: bool = True, capture: bool = True, **kw) -> subprocess.CompletedProcess:
    if shutil.which("podman") is None:
        raise HarnessError("podman is not installed: run `make setup` (scripts/setup.sh) as root")
    cmd = ["podman", *args]
    proc = subprocess.run(cmd, env=podman_env(), text=True, check=False,
                          capture_output=capture, **kw)
    if check and proc.returncode != 0:
        output = ((proc.stdout or "") + (proc.stderr or "")).strip().splitlines() if capture else []
        detail = "\n".join(output[-25:])  # a build's error is at the end of its step output
        raise HarnessError(f"{' '.join(cmd[:3])} ... failed (rc={proc.returncode}): {detail}")
    return proc


def image_exists(tag: str) -> bool:
    return podman("image", "exists", tag, check=False).returncode == 0


# ---------------------------------------------------------------------------------------------
# image
# ---------------------------------------------------------------------------------------------
def base_tag() -> str:
    """The base only changes with its package list (and suite/mirror)."""
    spec = json.dumps({"suite": DEBIAN_SUITE, "mirror": DEBIAN_MIRROR, "variant": "minbase",
                       "packages": sorted(BASE_PACKAGES)}, sort_keys=True)
    return f"{BASE_REPO}:{hashlib.sha256(spec.encode()).hexdigest()[:16]}"


def _tree_files(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def node_tag() -> str:
    """Covers the base, the Containerfile and its files, and the simulator package."""
    digest = hashlib.sha256(base_tag().encode())
    for root in (IMAGE_DIR, SIM_SRC):
        for path in _tree_files(root):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return f"{NODE_REPO}:{digest.hexdigest()[:16]}"


def build_base(tag: str) -> None:
    if shutil.which("debootstrap") is None:
        raise HarnessError("debootstrap is not installed: run `make setup`")
    rootfs = CACHE / f"rootfs-{tag.rsplit(':', 1)[1]}"
    if rootfs.exists():
        shutil.rmtree(rootfs)  # a half-finished debootstrap cannot be resumed
    CACHE.mkdir(parents=True, exist_ok=True)
    log(f"debootstrap {DEBIAN_SUITE} into {rootfs} (about a minute)")
    subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES),
                    DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR],
                   check=True, stdout=subprocess.DEVNULL)
    log(f"importing {tag}")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    podman("import", "-", tag, stdin=tar.stdout)
    tar.stdout.close()
    if tar.wait() != 0:
        raise HarnessError("tar of the debootstrap rootfs failed")
    shutil.rmtree(rootfs)  # the imported image is the cache; 300 MB of rootfs is not needed


def build_node(tag: str, base: str) -> None:
    with tempfile.TemporaryDirectory(prefix="stk-image-") as ctx:
        shutil.copytree(IMAGE_DIR, ctx, dirs_exist_ok=True)
        shutil.copytree(SIM_SRC, Path(ctx) / "stackato_sim",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        log(f"building {tag}")
        podman("build", "--build-arg", f"BASE={base}", "--label",
               f"stackato-sim.base={base}", "-t", tag, "-f", str(Path(ctx) / "Containerfile"), ctx)


def prune_old_node_images(keep: str) -> None:
    """Every simulator edit makes a new tag; drop the old ones (podman keeps those in use)."""
    out = podman("images", "--filter", f"reference={NODE_REPO}",
                 "--format", "{{.Repository}}:{{.Tag}}").stdout
    old = [tag for tag in out.split() if tag != keep]
    if old:
        podman("rmi", *old, check=False)


def ensure_image() -> str:
    tag = node_tag()
    if image_exists(tag):
        return tag
    base = base_tag()
    if not image_exists(base):
        build_base(base)
    build_node(tag, base)
    prune_old_node_images(keep=tag)
    return tag


# ---------------------------------------------------------------------------------------------
# topology
# ---------------------------------------------------------------------------------------------
def parse_value(text: str):
    """`--set` values are YAML scalars: 2 -> int, true -> bool, 3.6.2 -> str."""
    return yaml.safe_load(text) if text != "" else ""


def _child(container, key: str, create: bool):
    if isinstance(container, list):
        for entry in container:
            if isinstance(entry, dict) and entry.get("name") == key:
                return entry
        if key.isdigit() and int(key) < len(container):
            return container[int(key)]
        raise HarnessError(f"--set: no list entry named {key!r}")
    if key not in container or container[key] is None:
        if not create:
            raise HarnessError(f"--set: no key {key!r}")
        container[key] = {}
    return container[key]


def apply_set(topology: dict, assignment: str) -> None:
    """Dotted path into the topology; a list of named entries is addressed by name."""
    if "=" not in assignment:
        raise HarnessError(f"--set expects key=value, got {assignment!r}")
    path, dummy, raw = assignment.partition("=")
    keys = path.split(".")
    target = topology
    for key in keys[:-1]:
        target = _child(target, key, create=True)
    if isinstance(target, list):
        raise HarnessError(f"--set: {path} names a list, not a value")
    target[keys[-1]] = parse_value(raw)


def load_topology(name_or_path: str, overrides: list[str], name: str | None) -> dict:
    path = Path(name_or_path)
    if not path.exists():
        path = TOPOLOGIES / f"{name_or_path}.yml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in TOPOLOGIES.glob("*.yml")))
        raise HarnessError(f"no topology {name_or_path!r} (known: {known})")
    topology = yaml.safe_load(path.read_text())
    for assignment in overrides:
        apply_set(topology, assignment)
    if name:
        topology["name"] = name
    return normalise(topology)


def normalise(topology: dict) -> dict:
    topo = copy.deepcopy(topology)
    topo.setdefault("octet", 1)
    topo.setdefault("proxy", False)
    topo.setdefault("traffic", False)
    topo.setdefault("time_scale", 0.0)
    topo.setdefault("apps", [])
    topo.setdefault("config", {"cloud_controller_ng": {"maintenance_mode": False}})
    topo.setdefault("kato_profile", nodeconf.DEFAULT_PROFILE)
    if topo["kato_profile"] not in nodeconf.PROFILES:
        raise HarnessError(f"kato_profile must be one of {', '.join(nodeconf.PROFILES)}, "
                           f"not {topo['kato_profile']!r}")
    api = topo.get("api") or {}
    topo["api"] = {"username": str(api.get("username") or nodeconf.DEFAULT_API_USERNAME),
                   "password": str(api.get("password") or nodeconf.DEFAULT_API_PASSWORD)}
    topo["domain"] = nodeconf.cluster_domain({"cluster": topo.get("name"),
                                              "domain": topo.get("domain")})
    defaults = {**NODE_DEFAULTS, **(topo.get("node_defaults") or {})}
    octet = int(topo["octet"])
    if not 1 <= octet <= 254:
        raise HarnessError(f"octet {octet} is out of 1..254")
    for index, node in enumerate(topo["nodes"]):
        for key, value in defaults.items():
            node.setdefault(key, copy.deepcopy(value))
        node["roles"] = sorted(set(node["roles"]) | {"base"})
        node.setdefault("dea_memory_mb", 2048 if "dea" in node["roles"] else 0)
        node["ip"] = f"127.42.{octet}.{FIRST_NODE_HOST + index}"
        if node["sudo"] not in ("nopasswd", "password"):
            raise HarnessError(f"node {node['name']}: sudo must be nopasswd or password")
    validate(topo)
    return topo


def validate(topo: dict) -> None:
    names = [n["name"] for n in topo["nodes"]]
    if len(set(names)) != len(names):
        raise HarnessError("node names must be unique")
    if FIRST_NODE_HOST + len(names) > PROXY_HOST:
        raise HarnessError("too many nodes for one cluster octet")
    primaries = [n["name"] for n in topo["nodes"] if "primary" in n["roles"]]
    if len(primaries) != 1:
        raise HarnessError(f"a cluster has exactly one primary node, got {primaries}")
    if not str(topo["name"]).replace("-", "").isalnum():
        raise HarnessError("cluster name: letters, digits and '-' only")


def primary(topo: dict) -> dict:
    return next(n for n in topo["nodes"] if "primary" in n["roles"])


def addr(topo: dict, host: int) -> str:
    return f"127.42.{topo['octet']}.{host}"


def api_host(topo: dict) -> str:
    """The API's name (resolves to the Core on every node, nowhere else)."""
    return f"api.{topo['domain']}"


def api_url(topo: dict) -> str:
    """The API's base URL as the tests and the inventory use it: the Core's address."""
    return f"https://{primary(topo)['ip']}:{API_PORT}"


def config_dea_memory_mb(topo: dict) -> int:
    """`kato config get dea_ng resources/memory_mb` as the state server seeds it: the topology's
    `config` when it sets it, else the DEAs' common memory (of the nodes the cluster started
    with: a node added later does not change the seeded config)."""
    try:
        return int(topo["config"]["dea_ng"]["resources"]["memory_mb"])
    except (KeyError, TypeError, ValueError):
        return sim_state.common_dea_memory_mb([n for n in topo["nodes"] if not n.get("added")])


# ---------------------------------------------------------------------------------------------
# the cluster directory
# ---------------------------------------------------------------------------------------------
def cluster_dir(name: str) -> Path:
    return RUNS / name


def node_json(topo: dict, node: dict) -> dict:
    return {
        "cluster": topo["name"], "name": node["name"], "ip": node["ip"],
        "primary_ip": primary(topo)["ip"], "roles": node["roles"], "version": node["version"],
        "ssh_port": SSH_PORT, "state_port": STATE_PORT, "sentinel_port": SENTINEL_PORT,
        "api_port": API_PORT, "kato_profile": topo["kato_profile"],
        # a node's own time_scale wins (one slow node: a long upgrade step to act during)
        "time_scale": float(node.get("time_scale", topo["time_scale"])), "sudo": node["sudo"],
        "stackato_password": str(node["stackato_password"]),
        "dea_memory_mb": int(node["dea_memory_mb"]),
        "upstream": {"https_port": UPSTREAM_HTTPS, "http_port": UPSTREAM_HTTP},
        "faults": node["faults"] or {},
        "traffic": bool(topo.get("traffic")),
    }


def cluster_json(topo: dict) -> dict:
    return {
        "cluster": topo["name"], "primary_ip": primary(topo)["ip"],
        "time_scale": float(topo["time_scale"]),
        "nodes": [{"name": n["name"], "ip": n["ip"], "roles": n["roles"],
                   "version": n["version"], "dea_memory_mb": int(n["dea_memory_mb"])}
                  for n in topo["nodes"]],
        "apps": topo["apps"],
        "config": topo["config"],
        "kato_profile": topo["kato_profile"], "domain": topo["domain"], "api": topo["api"],
    }


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def run_quiet(*cmd: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise HarnessError(f"{cmd[0]} failed: {proc.stderr.strip()}")


def write_ssh(topo: dict, root: Path) -> None:
    """Controller key (stays on the host) and the intra-cluster key (mounted into nodes)."""
    ssh = root / "ssh"
    node_dir = ssh / "node"
    node_dir.mkdir(parents=True)
    ssh.chmod(0o700)
    run_quiet("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"controller@{topo['name']}",
              "-f", str(ssh / "id_ed25519"))
    run_quiet("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"stackato@{topo['name']}",
              "-f", str(node_dir / "id_ed25519"))
    authorized = (ssh / "id_ed25519.pub").read_text() + (node_dir / "id_ed25519.pub").read_text()
    (node_dir / "authorized_keys").write_text(authorized)
    write_node_ssh_config(topo, root)


def write_node_ssh_config(topo: dict, root: Path) -> None:
    """The nodes' ~/.ssh/config (copied in at provision): every node by address and by name."""
    hosts = " ".join(["127.*"] + [n["name"] for n in topo["nodes"]])
    (root / "ssh" / "node" / "config").write_text(
        f"Host {hosts}\n    Port {SSH_PORT}\n    StrictHostKeyChecking no\n"
        "    UserKnownHostsFile /dev/null\n    BatchMode yes\n    LogLevel ERROR\n")


def write_tls(topo: dict, root: Path) -> None:
    """A CA and a server certificate for every seed host name, made with the host's openssl."""
    tls = root / "tls"
    tls.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run_quiet("openssl", "req", "-x509", *ec, "-days", "3650", "-subj",
              f"/CN=stackato-sim CA {topo['name']}", "-keyout", str(tls / "ca.key"),
              "-out", str(tls / "ca.pem"))
    run_quiet("openssl", "req", "-new", *ec, "-subj", f"/CN={SEED_HOSTS[0]}",
              "-keyout", str(tls / "server.key"), "-out", str(tls / "server.csr"))
    san = ",".join([f"DNS:{h}" for h in SEED_HOSTS] + [f"IP:{addr(topo, UPSTREAM_HOST)}"])
    (tls / "server.ext").write_text(
        f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run_quiet("openssl", "x509", "-req", "-in", str(tls / "server.csr"), "-CA", str(tls / "ca.pem"),
              "-CAkey", str(tls / "ca.key"), "-CAcreateserial", "-days", "3650",
              "-extfile", str(tls / "server.ext"), "-out", str(tls / "server.pem"))
    # The Core's Cloud Controller API: by address (what the tests use) and by api.<domain>.
    run_quiet("openssl", "req", "-new", *ec, "-subj", f"/CN={api_host(topo)}",
              "-keyout", str(tls / "api.key"), "-out", str(tls / "api.csr"))
    (tls / "api.ext").write_text(
        f"subjectAltName=IP:{primary(topo)['ip']},DNS:{api_host(topo)}\n"
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run_quiet("openssl", "x509", "-req", "-in", str(tls / "api.csr"), "-CA", str(tls / "ca.pem"),
              "-CAkey", str(tls / "ca.key"), "-CAcreateserial", "-days", "3650",
              "-extfile", str(tls / "api.ext"), "-out", str(tls / "api.pem"))
    for path in tls.iterdir():
        path.chmod(0o644)  # the upstream reads them as root; nothing secret in a test CA


def write_proxy_conf(topo: dict, root: Path) -> None:
    proxy = root / "proxy"
    proxy.mkdir()
    (proxy / "tinyproxy.conf").write_text(
        "User tinyproxy\nGroup tinyproxy\n"
        f"Listen {addr(topo, PROXY_HOST)}\nPort {PROXY_PORT}\n"
        "Timeout 60\nMaxClients 100\nLogLevel Info\n"
        "Allow 127.0.0.0/8\nConnectPort 443\nConnectPort 80\nDisableViaHeader Yes\n")


def lb_address(topo: dict) -> str:
    return f"{addr(topo, LB_HOST)}:{ports.LOAD_BALANCER}"


def haproxy_conf(topo: dict, pidfile: Path) -> str:
    """HAProxy in front of every router, as operators put one in front of Stackato's routers:
    an HTTP check on each router every 200 ms (out after one failure, back after one success),
    failed connections retried on another router (redispatch)."""
    routers = [n for n in topo["nodes"] if "router" in n["roles"]]
    servers = "".join(f"    server {n['name']} {n['ip']}:{ports.ROUTER} check\n" for n in routers)
    return (
        "# Written by tests/harness/cluster.py (traffic: true). Loopback only.\n"
        f"global\n    daemon\n    pidfile {pidfile}\n    maxconn 2000\n\n"
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n"
        "    timeout server 10s\n    timeout check 1s\n    retries 3\n"
        "    option redispatch 1\n    retry-on conn-failure empty-response response-timeout\n"
        "    option http-server-close\n\n"
        f"frontend apps\n    bind {lb_address(topo)}\n    default_backend routers\n\n"
        "backend routers\n    balance roundrobin\n    option httpchk\n"
        "    http-check send meth GET uri /healthz ver HTTP/1.0\n"
        "    default-server inter 200ms fastinter 200ms downinter 200ms fall 1 rise 1\n"
        + servers)


def write_traffic(topo: dict, root: Path) -> None:
    """The load balancer's config and traffic.json (what tests/traffic/loadgen.py reads)."""
    lb_dir = root / "haproxy"
    lb_dir.mkdir(exist_ok=True)
    (lb_dir / "haproxy.cfg").write_text(haproxy_conf(topo, lb_dir / "haproxy.pid"))
    write_json(root / "traffic.json", {
        "cluster": topo["name"], "load_balancer": lb_address(topo), "domain": topo["domain"],
        "apps": [{"name": a["name"], "instances": int(a.get("instances", 1))}
                 for a in topo["apps"]],
        "journal": str(root / "journal" / "events.jsonl"),
        "nodes": {n["ip"]: n["name"] for n in topo["nodes"]},
        "routers": [f"{n['ip']}:{ports.ROUTER}" for n in topo["nodes"] if "router" in n["roles"]]})


def haproxy_pid(name: str) -> int | None:
    """The pid of the cluster's HAProxy when that process still runs it (pidfile and cmdline)."""
    lb_dir = cluster_dir(name) / "haproxy"
    try:
        pid = int((lb_dir / "haproxy.pid").read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    return pid if str(lb_dir / "haproxy.cfg").encode() in cmdline else None


def start_haproxy(topo: dict) -> None:
    """Start the cluster's HAProxy (Debian's package, on the host) and wait until an app
    answers through it."""
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(binary):
        raise HarnessError("traffic: true needs Debian's haproxy on this machine "
                           "(scripts/setup.sh installs it: apt-get install haproxy)")
    cfg = cluster_dir(topo["name"]) / "haproxy" / "haproxy.cfg"
    res = subprocess.run([binary, "-f", str(cfg)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise HarnessError(f"haproxy did not start: {res.stderr.strip()}")
    host, port = lb_address(topo).rsplit(":", 1)
    app = (topo["apps"] or [{"name": "none"}])[0]["name"]
    deadline = time.monotonic() + LB_READY_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0) as sock:
                sock.sendall(f"GET / HTTP/1.0\r\nHost: {app}.{topo['domain']}\r\n\r\n".encode())
                if sock.recv(12).startswith(b"HTTP/1.0 200") or not topo["apps"]:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise HarnessError(f"the load balancer {lb_address(topo)} does not route to {app} "
                       f"after {LB_READY_S:.0f} s")


def stop_haproxy(name: str) -> bool:
    pid = haproxy_pid(name)
    if pid is None:
        return False
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return False
    for dummy in range(50):
        if haproxy_pid(name) is None or not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.05)
    return True


def inventory_group(roles: list[str]) -> str:
    """A node goes in the group of its main role; the Core node only in `core`."""
    if "primary" in roles:
        return "core"
    for role in ("controller", "router", "dea"):
        if role in roles:
            return role
    return "data_services"


def write_inventory(topo: dict, root: Path) -> Path:
    inv = root / "inventory"
    (inv / "group_vars").mkdir(parents=True, exist_ok=True)
    key = (root / "ssh" / "id_ed25519").resolve()
    groups: dict[str, list[str]] = {g: [] for g in
                                    ("core", "controller", "router", "dea", "data_services")}
    dea_config_mb = config_dea_memory_mb(topo)
    for node in topo["nodes"]:
        line = (f"{node['name']} ansible_host={node['ip']} ansible_port={SSH_PORT} "
                f"ansible_user=stackato ansible_ssh_private_key_file={key} "
                f"stackato_node_ip={node['ip']}")
        if node["sudo"] == "password":
            line += f" ansible_become_password={node['stackato_password']}"
        # a DEA sized unlike the cluster-wide kato config value says so itself
        if "dea" in node["roles"] and sim_state.dea_memory_mb(node) != dea_config_mb:
            line += f" stackato_dea_memory_mb={sim_state.dea_memory_mb(node)}"
        groups[inventory_group(node["roles"])].append(line)
    text = "".join(f"[{g}]\n" + "".join(h + "\n" for h in hosts) + "\n"
                   for g, hosts in groups.items())
    text += "[stackato:children]\n" + "".join(g + "\n" for g in groups)
    (inv / "hosts.ini").write_text(text)
    group_vars = {
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "ansible_python_interpreter": "/usr/bin/python3",
        "stackato_target_version": TARGET_VERSION,
        "stackato_cache_ip": primary(topo)["ip"],
        "stackato_api_url": api_url(topo),
        "stackato_api_username": topo["api"]["username"],
        "stackato_api_password": topo["api"]["password"],
        "stackato_api_ca_path": sim_paths.UPSTREAM_CA,
    }
    if topo["proxy"]:
        proxy_url = f"http://{addr(topo, PROXY_HOST)}:{PROXY_PORT}"
        group_vars.update(stackato_http_proxy=proxy_url, stackato_https_proxy=proxy_url,
                          stackato_no_proxy="127.0.0.0/8,localhost")
    (inv / "group_vars" / "stackato.yml").write_text(
        "# Written by tests/harness/cluster.py for the simulated cluster "
        f"{topo['name']!r}.\n---\n" + yaml.safe_dump(group_vars, sort_keys=False))
    return inv / "hosts.ini"


def write_cluster_dir(topo: dict) -> Path:
    root = cluster_dir(topo["name"])
    if root.exists():
        shutil.rmtree(root)  # a new cluster starts from nothing, journal included
    root.mkdir(parents=True)
    for node in topo["nodes"]:
        write_json(root / f"node-{node['name']}.json", node_json(topo, node))
    write_json(root / "cluster.json", cluster_json(topo))
    (root / "topology.yml").write_text(yaml.safe_dump(topo, sort_keys=False))
    journal = root / "journal"
    journal.mkdir()
    journal.chmod(0o1777)
    events = journal / "events.jsonl"
    events.touch()
    events.chmod(0o666)  # root (upstream) and stackato (nodes) both append
    write_ssh(topo, root)
    write_tls(topo, root)
    if topo["proxy"]:
        write_proxy_conf(topo, root)
    if topo.get("traffic"):
        write_traffic(topo, root)
    return write_inventory(topo, root)


# ---------------------------------------------------------------------------------------------
# containers
# ---------------------------------------------------------------------------------------------
def container_name(cluster: str, member: str) -> str:
    return f"stk-{cluster}-{member}"


def common_run_args(topo: dict, member: str) -> list[str]:
    return ["run", "-d", "--replace", "--init", "--network", "host",
            "--name", container_name(topo["name"], member), "--hostname", member,
            "--label", f"{LABEL}={topo['name']}", "--label", f"stackato-sim.member={member}",
            "-e", "PYTHONPATH=/opt/stackato-sim"]


def seed_hosts_args(target: str) -> list[str]:
    return [arg for host in SEED_HOSTS for arg in ("--add-host", f"{host}:{target}")]


def node_run_args(topo: dict, node: dict, root: Path, image: str) -> list[str]:
    seed_target = addr(topo, BLACKHOLE_HOST if topo["proxy"] else UPSTREAM_HOST)
    args = common_run_args(topo, node["name"]) + seed_hosts_args(seed_target)
    # Its own name too: with the host network podman does not map the hostname, and sudo
    # complains when it cannot resolve it.
    for other in topo["nodes"]:
        args += ["--add-host", f"{other['name']}:{other['ip']}"]
    args += ["--add-host", f"{api_host(topo)}:{primary(topo)['ip']}"]
    if "primary" in node["roles"]:
        args += ["-v", f"{root / 'tls' / 'api.pem'}:{sim_paths.API_CERT}:ro",
                 "-v", f"{root / 'tls' / 'api.key'}:{sim_paths.API_KEY}:ro"]
    args += [
        "--tmpfs", f"/s:rw,size={node['s_size']},mode=0755",
        "-v", f"{root / ('node-' + node['name'] + '.json')}:/etc/stackato-sim/node.json:ro",
        "-v", f"{root / 'cluster.json'}:/etc/stackato-sim/cluster.json:ro",
        "-v", f"{root / 'tls' / 'ca.pem'}:{sim_paths.UPSTREAM_CA}:ro",
        "-v", f"{root / 'journal'}:/var/lib/stackato-sim/journal",
        "-v", f"{root / 'ssh' / 'node'}:/etc/stackato-sim/ssh:ro",
        image, "python3", "-m", "stackato_sim.provision",
    ]
    return args


def upstream_run_args(topo: dict, root: Path, image: str) -> list[str]:
    return common_run_args(topo, "upstream") + [
        "-v", f"{root / 'tls'}:/etc/stackato-sim/tls:ro",
        "-v", f"{root / 'cluster.json'}:/etc/stackato-sim/cluster.json:ro",
        "-v", f"{root / 'journal'}:/var/lib/stackato-sim/journal",
        image, "python3", "-m", "stackato_sim.upstream",
        "--listen", addr(topo, UPSTREAM_HOST),
        "--http-port", str(UPSTREAM_HTTP), "--https-port", str(UPSTREAM_HTTPS),
        "--cert", "/etc/stackato-sim/tls/server.pem", "--key", "/etc/stackato-sim/tls/server.key",
        "--journal", "/var/lib/stackato-sim/journal/events.jsonl",
    ]


def proxy_run_args(topo: dict, root: Path, image: str) -> list[str]:
    return (common_run_args(topo, "proxy") + seed_hosts_args(addr(topo, UPSTREAM_HOST)) + [
        "-v", f"{root / 'proxy' / 'tinyproxy.conf'}:/etc/stackato-sim/tinyproxy.conf:ro",
        image, "tinyproxy", "-d", "-c", "/etc/stackato-sim/tinyproxy.conf"])


def cluster_containers(name: str) -> list[str]:
    out = podman("ps", "-a", "--filter", f"label={LABEL}={name}", "--format", "{{.Names}}").stdout
    return out.split()


def remove_containers(names: list[str]) -> int:
    """Remove by name, tolerating missing ones; returns how many were removed."""
    if not names:
        return 0
    # Nothing in a node is worth a graceful stop: SIGKILL at once keeps `down` fast.
    out = podman("rm", "--force", "--ignore", "--time", "0", *names).stdout
    return len(out.split())


def running_octets(exclude: str) -> dict[int, str]:
    """Octets held by other clusters that still have containers."""
    taken = {}
    for path in RUNS.glob("*/topology.yml") if RUNS.exists() else []:
        other = path.parent.name
        if other != exclude and cluster_containers(other):
            taken[int(yaml.safe_load(path.read_text()).get("octet", 1))] = other
    return taken


def start_all(topo: dict, root: Path, image: str) -> None:
    jobs = [upstream_run_args(topo, root, image)]
    if topo["proxy"]:
        jobs.append(proxy_run_args(topo, root, image))
    jobs += [node_run_args(topo, node, root, image) for node in topo["nodes"]]
    # podman run takes ~0.5 s of mostly waiting on runc; start members side by side.
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(podman, *args) for args in jobs]:
            future.result()


# ---------------------------------------------------------------------------------------------
# readiness
# ---------------------------------------------------------------------------------------------
def probe(ip: str, port: int, kind: str) -> bool:
    """True when ip:port answers like the service should: an SSH banner, a TLS handshake."""
    try:
        with socket.create_connection((ip, port), timeout=1.0) as sock:
            sock.settimeout(2.0)
            if kind == "ssh":
                ready = sock.recv(7) == b"SSH-2.0"
                sock.sendall(b"SSH-2.0-stk-harness-probe\r\n")  # a polite goodbye, less log noise
                return ready
            if kind == "tls":
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE  # readiness only; the nodes verify with the CA
                with context.wrap_socket(sock, server_hostname=SEED_HOSTS[0]):
                    return True
            return True
    except OSError:
        return False


def readiness_targets(topo: dict) -> list[tuple[str, str, int, str]]:
    targets = [("upstream", addr(topo, UPSTREAM_HOST), UPSTREAM_HTTPS, "tls")]
    if topo["proxy"]:
        targets.append(("proxy", addr(topo, PROXY_HOST), PROXY_PORT, "tcp"))
    # A node's sshd is the last thing provision starts, so its banner means the node is ready.
    targets += [(n["name"], n["ip"], SSH_PORT, "ssh") for n in topo["nodes"]]
    return targets


def exited_members(name: str) -> list[str]:
    out = podman("ps", "-a", "--filter", f"label={LABEL}={name}", "--filter", "status=exited",
                 "--format", "{{.Names}}").stdout
    return out.split()


def wait_ready(topo: dict) -> None:
    pending = readiness_targets(topo)
    deadline = time.monotonic() + READY_DEADLINE_S
    while pending:
        pending = [t for t in pending if not probe(t[1], t[2], t[3])]
        if not pending:
            return
        dead = exited_members(topo["name"])
        if dead:
            logs = podman("logs", "--tail", "30", dead[0], check=False)
            raise HarnessError(f"container(s) exited during start: {', '.join(dead)}\n"
                               f"--- podman logs {dead[0]} ---\n{logs.stdout}{logs.stderr}")
        if time.monotonic() > deadline:
            raise HarnessError("not ready after %.0f s: %s" % (
                READY_DEADLINE_S, ", ".join(f"{t[0]} ({t[1]}:{t[2]})" for t in pending)))
        # Refused connections return at once; a short pause keeps the loop from spinning.
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# subcommands
# ---------------------------------------------------------------------------------------------
def live_clusters() -> list[str]:
    out = podman("ps", "-a", "--filter", f"label={LABEL}",
                 "--format", f'{{{{index .Labels "{LABEL}"}}}}').stdout
    return sorted(set(out.split()))


def current_name(name: str | None) -> str:
    """The cluster a command without --name means: the only one with containers, else the last up."""
    if name:
        return name
    live = live_clusters()
    if len(live) == 1:
        return live[0]
    if len(live) > 1:
        raise HarnessError(f"several clusters are up ({', '.join(live)}): pass --name")
    marker = RUNS / ".current"
    if marker.exists():
        return marker.read_text().strip()
    raise HarnessError("no cluster name given and no cluster was brought up yet")


def cmd_build_image(_args) -> None:
    started = time.monotonic()
    tag = ensure_image()
    log(f"image ready in {time.monotonic() - started:.1f} s")
    print(tag)


def cmd_up(args) -> None:
    started = time.monotonic()
    topo = load_topology(args.topology, args.set or [], args.name)
    name = topo["name"]
    clash = running_octets(exclude=name).get(int(topo["octet"]))
    if clash:
        raise HarnessError(f"cluster {clash!r} already uses 127.42.{topo['octet']}.x: "
                           f"`down --name {clash}` or `--set octet=<n>`")
    image = ensure_image()
    stop_haproxy(name)
    remove_containers(cluster_containers(name))  # members a previous topology had
    inventory = write_cluster_dir(topo)
    (cluster_dir(name) / "image").write_text(image + "\n")   # add-node starts the same image
    (RUNS / ".current").write_text(name + "\n")
    try:
        start_all(topo, cluster_dir(name), image)
        wait_ready(topo)
        if topo["traffic"]:
            start_haproxy(topo)
    except HarnessError:
        if not args.keep_on_failure:
            stop_haproxy(name)
            remove_containers(cluster_containers(name))
        raise
    log(f"cluster {name!r} ({len(topo['nodes'])} nodes) up in "
        f"{time.monotonic() - started:.1f} s")
    print(inventory)


def cmd_add_node(args) -> None:
    """Start one more node in a running cluster, as an operator adds a VM and attaches it.

    The node gets the next address, the cluster's image, SSH key and CA; once its sshd answers
    it is attached to the cluster state (`kato node attach`: node list, placement and cluster
    mode see it), the other nodes learn its name, and the inventory is rewritten, so the same
    ansible-playbook command run again sees it in its group.
    """
    started = time.monotonic()
    name = current_name(args.name)
    root = cluster_dir(name)
    topo = yaml.safe_load((root / "topology.yml").read_text())
    if not cluster_containers(name):
        raise HarnessError(f"cluster {name!r} is not running: `up` it first")
    if any(n["name"] == args.node for n in topo["nodes"]):
        raise HarnessError(f"cluster {name!r} already has a node {args.node!r}")
    spec: dict = {"name": args.node, "roles": ["base"]}
    for assignment in args.set or []:
        apply_set(spec, assignment)
    if "primary" in spec["roles"]:
        raise HarnessError("a cluster has exactly one primary node: add-node cannot add another")
    spec["added"] = True
    topo["nodes"].append(spec)
    topo = normalise(topo)
    node = topo["nodes"][-1]
    others = topo["nodes"][:-1]
    write_json(root / f"node-{node['name']}.json", node_json(topo, node))
    write_json(root / "cluster.json", cluster_json(topo))   # in place: the mounts see it
    (root / "topology.yml").write_text(yaml.safe_dump(topo, sort_keys=False))
    write_node_ssh_config(topo, root)
    recorded = root / "image"
    image = recorded.read_text().strip() if recorded.exists() else ""
    if not image or not image_exists(image):
        image = ensure_image()
    try:
        podman(*node_run_args(topo, node, root, image))
        wait_ready({**topo, "nodes": [node], "proxy": False})
    except HarnessError:
        remove_containers([container_name(name, node["name"])])
        topo["nodes"].pop()
        (root / "topology.yml").write_text(yaml.safe_dump(topo, sort_keys=False))
        write_json(root / "cluster.json", cluster_json(topo))
        raise
    introduce(name, others, node)
    attach(topo, node)
    inventory = write_inventory(topo, root)
    log(f"node {node['name']} ({node['ip']}, {', '.join(node['roles'])}) added to {name!r} in "
        f"{time.monotonic() - started:.1f} s")
    print(inventory)


def introduce(name: str, others: list[dict], node: dict) -> None:
    """The running nodes learn the new node's name (/etc/hosts, ~stackato/.ssh/config)."""
    script = (f"echo '{node['ip']} {node['name']}' >> /etc/hosts && "
              f"sed -i '1s/$/ {node['name']}/' /home/stackato/.ssh/config")
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        jobs = [pool.submit(podman, "exec", container_name(name, other["name"]), "sh", "-c", script,
                            check=False) for other in others]
        for job in jobs:
            job.result()


def attach(topo: dict, node: dict) -> None:
    """Make the node known to the cluster state, as `kato node attach` does (idempotent: the
    node's own first report may have done it already)."""
    client = sim_stateclient.StateClient(primary(topo)["ip"], STATE_PORT, timeout=10.0)
    try:
        client.node_attach(node["ip"], name=node["name"], roles=node["roles"],
                           version=node["version"], dea_memory_mb=int(node["dea_memory_mb"]))
    except (sim_stateclient.StateUnavailable, sim_stateclient.StateError) as exc:
        raise HarnessError(f"node {node['name']} is up but could not be attached: {exc}") from None


def cmd_down(args) -> None:
    started = time.monotonic()
    if args.all:
        out = podman("ps", "-a", "--filter", "name=^stk-", "--format", "{{.Names}}").stdout
        names = out.split()
        for path in RUNS.glob("*/haproxy/haproxy.pid") if RUNS.exists() else []:
            stop_haproxy(path.parent.parent.name)
    else:
        name = current_name(args.name)
        names = set(cluster_containers(name))
        topology = cluster_dir(name) / "topology.yml"
        if topology.exists():  # also by name: a container may have lost its label
            topo = yaml.safe_load(topology.read_text())
            members = ["upstream", "proxy"] + [n["name"] for n in topo["nodes"]]
            names |= {container_name(name, m) for m in members}
        names = sorted(names)
        if stop_haproxy(name):
            log("load balancer stopped")
    removed = remove_containers(names)
    log(f"removed {removed} container(s) in {time.monotonic() - started:.1f} s")


def cmd_restart(args) -> None:
    """Restart a node's container (e.g. after the node_dies fault) and wait for its sshd.

    The container's command runs provision again; /s is a tmpfs and starts empty, while
    /var/lib/stackato-sim (node-state.json) survives in the container's own layer.
    """
    name = current_name(args.name)
    topo = yaml.safe_load((cluster_dir(name) / "topology.yml").read_text())
    node = next((n for n in topo["nodes"] if n["name"] == args.node), None)
    if node is None:
        raise HarnessError(f"cluster {name!r} has no node {args.node!r}")
    started = time.monotonic()
    podman("restart", "--time", "0", container_name(name, node["name"]))
    wait_ready({**topo, "nodes": [node], "proxy": False})
    log(f"{args.node} restarted in {time.monotonic() - started:.1f} s")


def cmd_status(_args) -> None:
    out = podman("ps", "-a", "--filter", "name=^stk-", "--format",
                 "{{.Names}}\t{{.Status}}").stdout
    rows = sorted(line.split("\t", 1) for line in out.splitlines() if line.strip())
    if not rows:
        print("no stk-* containers")
    for cname, status in rows:
        print(f"{cname:32} {status}")
    for name in live_clusters():
        print(f"cluster {name}: inventory {cluster_dir(name) / 'inventory' / 'hosts.ini'}")


def format_event(event: dict, t0: float) -> str:
    fields = {k: v for k, v in event.items() if k not in ("ts", "node", "event")}
    extra = " ".join(f"{k}={json.dumps(v)}" for k, v in fields.items())
    return f"{event.get('ts', t0) - t0:9.3f}  {event.get('node', '?'):14} {event.get('event', '?'):20} {extra}"


def read_journal(name: str) -> list[dict]:
    path = cluster_dir(name) / "journal" / "events.jsonl"
    if not path.exists():
        raise HarnessError(f"no journal at {path}")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def is_maintenance(event: dict) -> bool:
    return (event.get("event") == "config_set" and event.get("component") == "cloud_controller_ng"
            and str(event.get("key", "")).strip("/") == "maintenance_mode")


def truthy(value) -> bool:
    return value is True or str(value).lower() == "true"


def summarise(name: str, events: list[dict]) -> list[str]:
    """Timeline per node from the journal: versions, maintenance window, retired DEAs."""
    topo = yaml.safe_load((cluster_dir(name) / "topology.yml").read_text())
    by_ip = {n["ip"]: n for n in topo["nodes"]}
    t0 = min((e.get("ts", 0) for e in events), default=0)

    def at(event: dict) -> str:
        return f"+{event.get('ts', t0) - t0:.2f}s"

    lines = [f"cluster {name}: {len(events)} journal events"]
    switches = list(filter(is_maintenance, events))
    for event in switches:
        state = "ON " if truthy(event.get("value")) else "OFF"
        lines.append(f"  maintenance mode {state} at {at(event)} (from {event.get('node')})")
    if not switches:
        lines.append("  maintenance mode: never switched")
    lines.append(f"  {'node':10} {'ip':14} {'before':8} {'after':8} {'upgraded':18} retired")
    for ip, node in by_ip.items():
        mine = [e for e in events if e.get("node") == ip]
        versions = [e["version"] for e in mine if e.get("event") in ("node_version", "upgrade_done")
                    and "version" in e]
        starts = [e for e in mine if e.get("event") == "upgrade_start"]
        dones = [e for e in mine if e.get("event") == "upgrade_done"]
        window = f"{at(starts[0])}..{at(dones[-1])}" if starts and dones else "-"
        retired = [at(e) for e in events if e.get("event") == "dea_retired"
                   and e.get("dea") in (ip, node["name"])]
        after = versions[-1] if versions else node["version"]
        lines.append(f"  {node['name']:10} {ip:14} {node['version']:8} {after:8} {window:18} "
                     f"{' '.join(retired) or '-'}")
    marks = [(e, f"FAILED on {e.get('node')} at {at(e)}: {e.get('step')}: {e.get('reason')}")
             for e in events if e.get("event") == "upgrade_failed"]
    marks += [(e, f"RESUMED on {e.get('node')} at {at(e)}")
              for e in events if e.get("event") == "upgrade_start" and e.get("resume")]
    marks += [(e, f"INTERRUPTED on {e.get('node')} at {at(e)}: during {e.get('step')}")
              for e in interrupted(events)]
    lines += [f"  {mark[1]}" for mark in sorted(marks, key=lambda m: m[0].get("ts", t0))]
    return lines


def interrupted(events: list[dict]) -> list[dict]:
    """Steps of runs that stopped without a word (kato_missing, node_dies).

    A step is interrupted when it started and neither its end, an `upgrade_failed` nor an
    `upgrade_done` of that node follows before the node's next `upgrade_start` (or the end).
    """
    open_step: dict[str, dict] = {}
    found = []
    for event in events:
        node, kind = event.get("node"), event.get("event")
        if kind == "upgrade_step" and event.get("phase") == "start":
            open_step[node] = event
        elif kind in ("upgrade_step", "upgrade_failed", "upgrade_done"):
            open_step.pop(node, None)
        elif kind == "upgrade_start" and node in open_step:
            found.append(open_step.pop(node))
    return found + list(open_step.values())


def cmd_journal(args) -> None:
    name = current_name(args.name)
    events = read_journal(name)
    if args.raw:
        print("\n".join(json.dumps(e, sort_keys=True) for e in events))
    elif args.summary:
        print("\n".join(summarise(name, events)))
    else:
        t0 = min((e.get("ts", 0) for e in events), default=0)
        for event in events:
            print(format_event(event, t0))


def ssh_argv(name: str, node: str, command: list[str]) -> list[str]:
    root = cluster_dir(name)
    topo = yaml.safe_load((root / "topology.yml").read_text())
    ip = next((n["ip"] for n in topo["nodes"] if node in (n["name"], n["ip"])), None)
    if ip is None:
        raise HarnessError(f"cluster {name!r} has no node {node!r}")
    return ["ssh", "-i", str(root / "ssh" / "id_ed25519"), "-p", str(SSH_PORT),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", f"stackato@{ip}", *command]


def cmd_ssh(args) -> None:
    argv = ssh_argv(current_name(args.name), args.node, args.command)
    os.execvp(argv[0], argv)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="cluster.py", description=__doc__.split("\n", maxsplit=1)[0])
    sub = top.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build-image", help="build or reuse the node image").set_defaults(func=cmd_build_image)
    up = sub.add_parser("up", help="bring a cluster up")
    up.add_argument("topology", help="name under tests/harness/topologies or a path")
    up.add_argument("--name", help="cluster name (default: the topology's)")
    up.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override a dotted path of the topology (repeatable)")
    up.add_argument("--keep-on-failure", action="store_true",
                    help="leave the containers for inspection when start fails")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="remove a cluster's containers")
    down.add_argument("--name")
    down.add_argument("--all", action="store_true", help="remove every stk-* container")
    down.set_defaults(func=cmd_down)
    add = sub.add_parser("add-node", help="start one more node in a running cluster")
    add.add_argument("node", help="the new node's name")
    add.add_argument("--name", help="cluster name (default: the only one running)")
    add.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="a key of the new node, e.g. roles=[base,dea] or dea_memory_mb=1024")
    add.set_defaults(func=cmd_add_node)
    restart = sub.add_parser("restart", help="restart one node's container, wait for its sshd")
    restart.add_argument("node")
    restart.add_argument("--name")
    restart.set_defaults(func=cmd_restart)
    sub.add_parser("status", help="list clusters").set_defaults(func=cmd_status)
    journal = sub.add_parser("journal", help="print the event journal")
    journal.add_argument("--name")
    journal.add_argument("--raw", action="store_true", help="one JSON object a line")
    journal.add_argument("--summary", action="store_true",
                         help="per node: version before/after, maintenance window, retired DEAs")
    journal.set_defaults(func=cmd_journal)
    ssh = sub.add_parser("ssh", help="ssh to a node as stackato")
    ssh.add_argument("node")
    ssh.add_argument("--name")
    ssh.add_argument("command", nargs="*", help="command to run (put it after --)")
    ssh.set_defaults(func=cmd_ssh)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after `--` is the remote command of `ssh` (argparse mangles `--` in subparsers).
    remote: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, remote = argv[:cut], argv[cut + 1:]
    args = parser().parse_args(argv)
    if remote and args.cmd != "ssh":
        print("cluster.py: error: `--` is only for `ssh <node> -- <command>`", file=sys.stderr)
        return 2
    if args.cmd == "ssh":
        args.command = args.command + remote
    try:
        args.func(args)
    except BrokenPipeError:  # `journal | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except HarnessError as exc:
        print(f"cluster.py: error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"cluster.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
