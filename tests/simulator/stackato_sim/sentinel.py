"""Sentinel's CLI, the upgrade back end of `kato node upgrade` (3.4.1+).

    bin/sentinel upgrade <version> <node-ip>... [--skip-download] [--cache-ip ip] [--force]
                         [--offline] [--resume] [--role-order r1,r2]
    bin/sentinel download --for-upgrade <version> --cache-ip <ip>      (kato's --download-only)
    bin/sentinel self-update [--cache-ip ip]                           (kato's --update-kato)
    bin/sentinel status [--json] [--cache-ip ip]                       (kato's --status)

`upgrade <v> 127.0.0.1` (or this node's own IP alone) upgrades this node in the four documented
steps: self-update, version check, download into the local cache with validation, sequential
upgrade of components (a DEA retired first). Any other IP list is the cluster mode: the same
command with 127.0.0.1 is run on each node in role order, primary last, over SSH as stackato
(or, under $STACKATO_SIM_PEERS, as a local subprocess with the peer's root).

Every `upgrade` run appends `INFO  Sentinel::CLI : Running with command: bin/sentinel upgrade
...` to /s/logs/sentinel-cli.log: the documented recovery when kato went missing is to run the
last such command from /s/code/sentinel/cli. Progress lives in node-state.json `upgrade`, so
re-running (or --resume) continues at the failed step; the cluster progress lives on the node
that runs the cluster mode (the primary).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shlex
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

from . import journal, nodeconf, nodestate, paths, ports, releases, remote, roles as roles_mod
from .sentinel_d import Cache, free_bytes, human

LOCAL = nodeconf.LOCAL
KATO_PAUSE_S = 1.0          # stackato-kato: kato is absent this long (scaled) before reinstall
HTTP_TIMEOUT_S = 20.0
RESUME_HINT = "connectivity restored? resume with: kato node upgrade --resume"
# What the upgrade resets (seed: "Proxy settings for Sample Applications may be lost").
SAMPLE_APP_PROXY_KEYS = ("environment/app_http_proxy", "environment/app_https_proxy")
PROXY_VARS = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
UPSTREAM_HOSTS = {"releases": "component-images.stackato.com", "kato": "upgrade.stackato.com"}


class SentinelError(Exception):
    """A failure reported as `ERROR: <message>` with exit 1."""


class NetworkError(SentinelError):
    def __init__(self, what: str, reason: str):
        self.what, self.reason = what, reason
        super().__init__(f"network error while downloading {what}: {reason}; {RESUME_HINT}")


class CacheMiss(Exception):
    pass


def out(msg: str = "") -> None:
    print(msg, flush=True)


def err(msg: str) -> None:
    print(f"ERROR: {msg}", file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    print(f"WARNING: {msg}", file=sys.stderr, flush=True)


def node() -> dict:
    return nodeconf.load_node()


# ---- the log ---------------------------------------------------------------------------

def log(level: str, message: str) -> None:
    """One line to /s/logs/sentinel-cli.log and to its copy outside /s (node_init puts it back
    when a restarted container's /s tmpfs came back empty, as a real disk would keep it)."""
    line = f"{level.upper():<5} Sentinel::CLI : {message}\n".encode()
    for node_path in (paths.SENTINEL_LOG, paths.SENTINEL_LOG_COPY):
        path = paths.p(node_path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def command_line(argv) -> str:
    ip = nodeconf.my_ip()
    words = [LOCAL if a == ip else a for a in argv]
    return "bin/sentinel " + " ".join(shlex.quote(w) for w in words)


# ---- progress (node-state `upgrade`) ---------------------------------------------------

def progress() -> dict:
    return dict(nodestate.read().get("upgrade") or {})


def set_progress(**fields) -> dict:
    with nodestate.locked() as st:
        up = dict(st.get("upgrade") or {})
        up.update(fields)
        up["updated"] = time.time()
        st["upgrade"] = up
        return dict(up)


def set_cluster_progress(**fields) -> dict:
    with nodestate.locked() as st:
        up = dict(st.get("upgrade") or {})
        cl = dict(up.get("cluster") or {})
        cl.update(fields)
        up["cluster"] = cl
        st["upgrade"] = up
        return cl


# ---- faults ----------------------------------------------------------------------------

def fire(name: str, match=None) -> dict | None:
    """The fault <name> from node.json if it fires now (counting it), else None."""
    fault = (node().get("faults") or {}).get(name)
    if fault is None or fault is False:
        return None
    if not isinstance(fault, dict):
        fault = {}
    if match is not None and not match(fault):
        return None
    times = int(fault.get("times", 1))
    with nodestate.locked() as st:
        fired = dict(st.get("faults_fired") or {})
        if int(fired.get(name, 0)) >= times:
            return None
        fired[name] = int(fired.get(name, 0)) + 1
        st["faults_fired"] = fired
    return fault


# ---- HTTP ------------------------------------------------------------------------------

def _ssl_context() -> ssl.SSLContext:
    ca = paths.p(paths.UPSTREAM_CA)
    return _ssl_context_for(ca if os.path.exists(ca) else None,
                            bool((node().get("upstream") or {}).get("address")))


@functools.lru_cache(maxsize=None)
def _ssl_context_for(cafile: str | None, by_address: bool) -> ssl.SSLContext:
    """One context per CA file (loading the default verify paths costs tens of ms a time)."""
    ctx = ssl.create_default_context(cafile=cafile)
    if by_address:
        ctx.check_hostname = False      # connecting by address: no name to check
    return ctx


def upstream_url(path: str) -> str:
    up = node().get("upstream") or {}
    scheme = up.get("scheme", "https")
    kind = path.strip("/").split("/", 1)[0]
    host = up.get("address") or UPSTREAM_HOSTS.get(kind, UPSTREAM_HOSTS["releases"])
    defaults = ports.upstream_defaults()
    key = "https_port" if scheme == "https" else "http_port"
    port = int(up.get(key, defaults[key]))
    default = ports.UPSTREAM_HTTPS if scheme == "https" else ports.UPSTREAM_HTTP
    netloc = host if port == default else f"{host}:{port}"
    return f"{scheme}://{netloc}{path}"


def _open(url: str, proxies: bool, data: bytes | None = None, method: str | None = None):
    handlers = [urllib.request.HTTPSHandler(context=_ssl_context())]
    if not proxies:
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    req = urllib.request.Request(url, data=data, method=method)
    return opener.open(req, timeout=HTTP_TIMEOUT_S)


def _maybe_drop(what: str) -> None:
    fault = fire("network_drop")
    if fault is not None:
        raise NetworkError(what, "connection reset by peer")


def fetch_upstream(path: str, drop: bool = True) -> bytes:
    """GET <path> from upstream through the caller's proxy settings (drop: a network_drop
    fault may fire here; only upgrade-file downloads use it)."""
    what = path.lstrip("/").removeprefix("releases/")
    if drop:
        _maybe_drop(what)
    url = upstream_url(path)
    try:
        with _open(url, proxies=True) as resp:
            return resp.read()
    except urllib.error.HTTPError as e:
        raise NetworkError(what, f"{url} answered HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise NetworkError(what, f"{url}: {reason}") from None


def sentinel_port_of(ip: str) -> int:
    return nodeconf.port_of(ip, "sentinel_port")


class CacheNode:
    """Another node's sentinel-d (never through a proxy: it is inside the cluster)."""

    def __init__(self, ip: str):
        self.ip = ip
        self.base = f"http://{ip}:{sentinel_port_of(ip)}/cache"

    def get(self, version: str, name: str, drop: bool = True) -> bytes:
        what = f"{version}/{name}"
        if drop:
            _maybe_drop(what)
        try:
            with _open(f"{self.base}/{version}/{name}", proxies=False) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            if e.code == 404:
                raise CacheMiss(what) from None
            raise NetworkError(what, f"cache node {self.ip} answered HTTP {e.code}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise NetworkError(what, f"cache node {self.ip}: {reason}") from None

    def put(self, version: str, name: str, data: bytes) -> None:
        what = f"{version}/{name}"
        try:
            with _open(f"{self.base}/{version}/{name}", proxies=False, data=data,
                       method="PUT") as resp:
                resp.read()
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors="replace").strip()
            if e.code == 507:
                raise SentinelError(body) from None
            raise SentinelError(f"cache node {self.ip} refused {what}: HTTP {e.code} {body}") \
                from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise NetworkError(what, f"cache node {self.ip}: {reason}") from None

    def index(self) -> dict:
        try:
            with _open(f"{self.base}/index.json", proxies=False) as resp:
                return json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            raise NetworkError("cache/index.json", f"cache node {self.ip}: {reason}") from None


def get_file(version: str, name: str, cache_ip: str | None, offline: bool,
             local: Cache) -> tuple[bytes, str]:
    """One upgrade file: from the local cache, else the cache node, else upstream (the cache
    node gets a copy of what came from upstream). Returns (data, source)."""
    data = local.read(version, name)
    if Cache.valid(version, name, data):
        return data, "local"
    remote = CacheNode(cache_ip) if cache_ip and not nodeconf.is_self(cache_ip) else None
    if remote is not None:
        try:
            data = remote.get(version, name)
            if Cache.valid(version, name, data):
                return data, f"cache:{cache_ip}"
            warn(f"{version}/{name} from cache node {cache_ip} failed validation")
        except CacheMiss:
            pass
    if offline:
        where = f"the cache on {cache_ip}" if cache_ip else "the local cache"
        raise SentinelError(f"offline upgrade: {version}/{name} is not in {where}; the upgrade "
                            "content must be downloaded first (kato node upgrade "
                            "--download-only --cache-ip <core node IP>)")
    kind = "kato" if version == "kato" else "releases"
    data = fetch_upstream(f"/{kind}/{version}/{name}" if kind == "releases" else f"/kato/{name}")
    if not Cache.valid(version, name, data):
        raise SentinelError(f"validation failed for {version}/{name}: sha256 mismatch")
    if remote is not None:
        try:
            remote.put(version, name, data)
        except SentinelError as e:
            warn(f"could not store {version}/{name} in the cache on {cache_ip}: {e}")
    return data, "upstream"


# ---- step 1: self-update ---------------------------------------------------------------

def self_update(cache_ip: str | None = None, offline: bool = False) -> tuple[str | None, str]:
    """Fetch the latest kato/Sentinel revision; returns (old, new)."""
    old = nodestate.read().get("kato_rev")
    local = Cache()
    data = None
    if cache_ip and not nodeconf.is_self(cache_ip):
        try:
            data = CacheNode(cache_ip).get("kato", "latest.json", drop=False)
        except (CacheMiss, NetworkError):
            data = None
    elif cache_ip:
        data = local.read("kato", "latest.json")
    if data is None:
        if offline:
            return old, old
        data = fetch_upstream("/kato/latest.json", drop=False)
    try:
        new = json.loads(data)["kato_rev"]
    except (ValueError, KeyError, TypeError):
        raise SentinelError("self-update: kato/latest.json is not valid") from None
    if new != old:
        with nodestate.locked() as st:
            st["kato_rev"] = new
        _reinstall_entry_scripts()
    journal.emit("self_update", kato_rev=new, changed=new != old)
    return old, new


def _reinstall_entry_scripts() -> None:
    try:
        from . import node_init
    except ImportError:
        return
    node_init.write_entry_scripts()


def kato_present() -> bool:
    return os.path.exists(paths.p(paths.KATO))


# ---- what is available ------------------------------------------------------------------

def available_version(cache_ip: str | None = None, offline: bool = False) -> str | None:
    """The latest version: upstream's index, else the cache node's, else the local cache."""
    if not offline:
        try:
            return json.loads(fetch_upstream_quiet("/releases/index.json"))["latest"]
        except (NetworkError, ValueError, KeyError):
            pass
    if cache_ip and not nodeconf.is_self(cache_ip):
        try:
            files = CacheNode(cache_ip).index().get("files", {})
            v = _latest_cached(files)
            if v:
                return v
        except NetworkError:
            pass
    return _latest_cached(Cache().files())


def fetch_upstream_quiet(path: str) -> bytes:
    """Like fetch_upstream, but never consumes a network_drop fault."""
    url = upstream_url(path)
    try:
        with _open(url, proxies=True) as resp:
            return resp.read()
    except (urllib.error.URLError, OSError) as e:
        raise NetworkError(path.lstrip("/"), str(getattr(e, "reason", e))) from None


def _latest_cached(files: dict) -> str | None:
    vs = [v for v, names in files.items() if "manifest.json" in names
          and v in releases.RELEASES]
    return max(vs, key=releases.vkey) if vs else None


# ---- the per-node upgrade ----------------------------------------------------------------

def _step_name(version: str, comp: str) -> str:
    return f"{version}/{comp}"


def _state_client():
    from .stateclient import StateClient
    return StateClient.from_node(timeout=60.0)


def _state_client_short():
    from .stateclient import StateClient
    return StateClient.from_node(timeout=5.0)


def _state_errors():
    from .stateclient import StateError, StateUnavailable
    return (StateError, StateUnavailable)


def check_sudo() -> None:
    """kato asks for the stackato password when sudo needs one; with no terminal it cannot."""
    mode = node().get("sudo", "nopasswd")
    if mode == "none":
        return
    try:
        rc = subprocess.run(["sudo", "-n", "true"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            check=False).returncode
    except FileNotFoundError:
        return
    if rc == 0:
        return
    if sys.stdin.isatty():
        if subprocess.run(["sudo", "-v", "-p", "[sudo] password for stackato: "],
                          check=False).returncode == 0:
            return
    raise SentinelError("sudo requires a password for user stackato and there is no terminal "
                        "to ask for it; configure passwordless sudo for an unattended upgrade")


def upgrade_node(target: str, force=False, offline=False, cache_ip=None, skip_download=False,
                 resume=False) -> int:
    ip = nodeconf.my_ip()
    st = nodestate.read()
    current = st.get("version")
    prog = dict(st.get("upgrade") or {})

    # (1) self-update of the upgrade system
    if not offline:
        self_update(cache_ip)

    # (2) version check
    resuming = (prog.get("target") == target and prog.get("path")
                and prog.get("state") in ("downloading", "downloaded", "upgrading", "failed"))
    if resuming:
        path = list(prog["path"])
        if current == target and not force:
            resuming = False
    if not resuming:
        path = releases.upgrade_path(current, target)
        if not path:
            if not force:
                out(f"Node {ip} is already at version {target}")
                return 0
            path = [target]
        prog = {"target": target, "from": current, "path": path, "done": [], "retired": False,
                "cached": False, "error": None, "started": time.time()}
        set_progress(**prog, state="idle", step=None)
    node_roles = _node_roles()
    steps = [(v, c) for v in path for c in releases.components_for(v, node_roles)]
    done = set(prog.get("done") or [])
    out(f"{'Resuming' if resuming else 'Starting'} upgrade of node {ip} from {current} to "
        f"{target} (path: {' -> '.join([prog.get('from') or '?'] + path)})")
    journal.emit("upgrade_start", **{"from": current, "to": target, "path": path,
                                     "resume": bool(resuming)})

    step = "download"
    try:
        # (3) download into the local cache and validate
        set_progress(state="downloading", step="download")
        local = Cache()
        todo = [(v, c) for v, c in steps if _step_name(v, c.name) not in done]
        if skip_download:
            missing = [f"{v}/{c.filename}" for v, c in todo if not local.has(v, c.filename)]
            if missing:
                raise SentinelError(f"--skip-download given but {missing[0]} is not in the local "
                                    f"cache ({local.node_dir})")
        else:
            download(path, [c for dummy, c in todo], cache_ip, offline, local)
        bad = [f"{v}/{c.filename}" for v, c in todo if not local.has(v, c.filename)]
        if bad:
            raise SentinelError(f"validation failed: {bad[0]} is missing or corrupt")
        set_progress(state="downloaded", cached=True)

        # (4) sequential upgrade of the components, a DEA retired first
        step = "upgrade"
        check_sudo()
        set_progress(state="upgrading")
        if "dea" in node_roles and not prog.get("retired"):
            step = "retire"
            retire_for_upgrade(ip)
            set_progress(retired=True)
        for i, (version, comp) in enumerate(steps):
            step = _step_name(version, comp.name)
            if step in done:
                continue
            run_step(version, comp, step, i + 1, len(steps))
            done.add(step)
            set_progress(done=sorted(done, key=[_step_name(v, c.name) for v, c in steps].index))
            last_of_release = (i + 1 == len(steps) or steps[i + 1][0] != version)
            if last_of_release:
                set_node_version(version)
        step = "finish"
        if "dea" in node_roles:
            try:
                _state_client().unretire(ip)
            except _state_errors() as e:
                warn(f"could not unretire DEA {ip}: {e}")
            with nodestate.locked() as s:
                s["retired"] = False
    except NetworkError as e:
        journal.emit("download_failed", version=getattr(e, "version", None) or target,
                     reason=e.reason)
        return _failed(step, str(e))
    except SentinelError as e:
        return _failed(step, str(e))
    set_progress(state="done", step=None, error=None, finished=time.time())
    journal.emit("upgrade_done", version=target)
    out(f"Node {ip} upgraded to {target}")
    return 0


def retire_for_upgrade(ip: str) -> None:
    """The upgrade's retire step. A DEA with no other DEA node in the cluster at all (a micro
    cloud, or a cluster with one DEA) is upgraded in place: its app instances stop during the
    upgrade. When other DEAs exist but lack the memory, the refusal fails the upgrade."""
    client = _state_client()
    try:
        others = [n_ip for n_ip, n in client.nodes().items()
                  if n_ip != ip and "dea" in (n.get("roles") or [])]
    except _state_errors() as e:
        raise SentinelError(str(e).removeprefix("ERROR: ")) from None
    if not others:
        warn(f"no other DEA to move the app instances of {ip} to; they stop during this "
             "node's upgrade")
        journal.emit("dea_retire_skipped", dea=ip, reason="no other DEA node in the cluster")
        return
    out(f"Retiring DEA {ip}")
    try:
        client.retire(ip)
    except _state_errors() as e:
        raise SentinelError(str(e).removeprefix("ERROR: ")) from None
    with nodestate.locked() as s:
        s["retired"] = True


def _failed(step: str, message: str) -> int:
    set_progress(state="failed", step=step, error=message)
    journal.emit("upgrade_failed", step=step, reason=message)
    log("ERROR", message)
    err(message)
    return 1


def _node_roles() -> list[str]:
    st = nodestate.read()
    return list(st.get("roles") or node()["roles"])


def set_node_version(version: str) -> None:
    with nodestate.locked() as s:
        s["version"] = version
        rev = releases.get(version).kato_rev
        if not s.get("kato_rev") or releases.vkey(rev.split("-")[0]) > \
                releases.vkey(str(s["kato_rev"]).split("-", maxsplit=1)[0]):
            s["kato_rev"] = rev
        procs = dict(s.get("processes") or {})
    journal.emit("node_version", version=version)
    try:
        _state_client().node_report(nodeconf.my_ip(), version=version, processes=procs)
    except _state_errors() as e:
        warn(f"could not report version {version} to the primary: {e}")


def download(path: list[str], comps, cache_ip, offline, local: Cache) -> None:
    """Step 3: every file of every release on the path into the local cache."""
    by_version: dict[str, list] = {v: [] for v in path}
    for c in comps:
        by_version[c.version].append(c)
    missing = [c for c in comps if not local.has(c.version, c.filename)]
    need = releases.download_size(missing) + releases.INSTALL_GROWTH
    free = free_bytes(local.node_dir)
    if need > free:
        raise SentinelError(f"not enough free disk space on {local.node_dir}: {human(free)} "
                            f"available, {human(need)} needed")
    for version in path:
        items = by_version[version]
        source = ("local" if all(local.has(version, c.filename) for c in items) else
                  f"cache:{cache_ip}" if cache_ip and not nodeconf.is_self(cache_ip) else
                  "local" if offline else "upstream")
        journal.emit("download_start", version=version, source=source)
        total = 0
        try:
            data, dummy = get_file(version, "manifest.json", cache_ip, offline, local)
            local.write(version, "manifest.json", data)
            for c in items:
                if local.has(version, c.filename):
                    continue
                out(f"Downloading {version}/{c.filename} ({human(c.size)})")
                data, src = get_file(version, c.filename, cache_ip, offline, local)
                local.write(version, c.filename, data)
                total += len(data)
                if src == "upstream" and "upstream" not in source:
                    source = f"{source}+upstream"
        except NetworkError as e:
            e.version = version
            raise
        journal.emit("download_done", version=version, source=source, bytes=total)


def run_step(version: str, comp: releases.Component, step: str, n: int, total: int) -> None:
    ip = nodeconf.my_ip()
    set_progress(step=step)
    out(f"[{n}/{total}] Upgrading {comp.name} to {version}")
    journal.emit("upgrade_step", step=step, component=comp.name, version=version, phase="start")
    if fire("component_fail", lambda f: f.get("component") == comp.name):
        raise SentinelError(f"component {comp.name} failed to upgrade")
    if fire("node_dies", lambda f: f.get("at_component", comp.name) == comp.name):
        node_dies(step)
    present = nodestate.read().get("processes") or {}
    procs = [p for p in comp.processes if p in present]
    from . import processes
    if procs:
        processes.stop(procs)
    releases.install_component(version, comp)
    if comp.name == "cloud_controller_ng":
        try:
            removed = _state_client().remove_custom_buildpacks()
            if removed:
                out(f"Removed custom buildpacks: {', '.join(removed)}")
        except _state_errors() as e:
            warn(f"could not clear custom buildpacks: {e}")
        # the sample applications' proxy settings go back to the release's defaults ([ours])
        for key in SAMPLE_APP_PROXY_KEYS:
            try:
                _state_client().config_set("dea_ng", key, "")
            except _state_errors() as e:
                warn(f"could not reset dea_ng {key}: {e}")
    time.sleep(nodeconf.scaled(comp.duration))
    if comp.name == releases.KATO_COMPONENT:
        try:
            os.unlink(paths.p(paths.KATO))
        except FileNotFoundError:
            pass
        if fire("kato_missing"):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(137)       # dies abruptly: no clean-up, kato stays missing
        time.sleep(nodeconf.scaled(KATO_PAUSE_S))
        _reinstall_entry_scripts()
    if procs and fire("process_fatal", lambda f: f.get("component") == comp.name
                      and f.get("version", version) == version):
        # the step ends, but its processes do not come back up (FATAL) until something starts them
        processes.fail(procs)
        journal.emit("process_fatal", step=step, component=comp.name, processes=procs)
    elif procs:
        processes.start(procs)
    journal.emit("upgrade_step", step=step, component=comp.name, version=version, phase="end")


def node_dies(step: str) -> None:
    ip = nodeconf.my_ip()
    set_progress(state="failed", step=step, error=f"node {ip} went down")
    try:   # the state server journals node_down; when it cannot be told, this node does
        _state_client_short().node_down(ip)
    except _state_errors():   # the primary may be this very node
        journal.emit("node_down")
    present = list((nodestate.read().get("processes") or {}).keys())
    if present:
        with nodestate.locked() as s:
            for name in present:
                s["processes"][name]["state"] = "STOPPED"
                s["processes"][name]["ready_at"] = 0
        for name in present:
            journal.emit("process_state", process=name, state="STOPPED")
    log("ERROR", f"node {ip} went down during {step}")
    err(f"node {ip} went down during the upgrade ({step})")
    sys.stdout.flush()
    os._exit(1)


# ---- cluster mode ----------------------------------------------------------------------

def _package_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pp = env.get("PYTHONPATH", "")
    if pkg_parent not in pp.split(os.pathsep):
        env["PYTHONPATH"] = pkg_parent + (os.pathsep + pp if pp else "")
    env.update(extra or {})
    return env


def node_command(ip: str, args: list[str]) -> tuple[list[str], dict, str | None]:
    """(argv, env, cwd) that runs `bin/sentinel <args>` on node <ip>."""
    root = None if nodeconf.is_self(ip) else nodeconf.peer_root(ip)
    if nodeconf.is_self(ip) or root:
        extra = {"STACKATO_SIM_ROOT": root} if root else {}
        cwd = (root or paths.root()) + paths.SENTINEL_CLI_DIR
        return ([sys.executable, "-m", "stackato_sim.sentinel", *args], _package_env(extra),
                cwd if os.path.isdir(cwd) else None)
    env_words = [f"{k}={os.environ[k]}" for k in PROXY_VARS if os.environ.get(k)]
    command = f"cd {paths.SENTINEL_CLI_DIR} && " + remote.shell_words(
        (["env", *env_words] if env_words else []) + ["bin/sentinel", *args])
    return remote.ssh_argv(ip, command), dict(os.environ), None


def run_on_node(ip: str, args: list[str]) -> int:
    argv, env, cwd = node_command(ip, args)
    try:
        return subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                              check=False).returncode
    except FileNotFoundError as e:
        err(f"cannot run {argv[0]}: {e}")
        return 255


def cluster_nodes() -> tuple[dict[str, list[str]], dict[str, str | None]]:
    """({ip: roles}, {ip: version}) from the state server, else cluster.json."""
    try:
        client = _state_client()
        nodes = {ip: n["roles"] for ip, n in client.nodes().items()}
        return nodes, client.node_versions()
    except _state_errors() as e:
        warn(f"cluster state unavailable ({e}); using the topology file")
    cl = nodeconf.load_cluster()
    return ({n["ip"]: n["roles"] for n in cl["nodes"]},
            {n["ip"]: n.get("version") for n in cl["nodes"]})


def upgrade_cluster(target: str, ips: list[str], force=False, offline=False, cache_ip=None,
                    skip_download=False, resume=False, role_order=None) -> int:
    own = nodeconf.my_ip()
    ips = [own if ip == LOCAL else ip for ip in ips]
    ips = list(dict.fromkeys(ips))
    nodes, versions = cluster_nodes()
    unknown = [ip for ip in ips if ip not in nodes]
    if unknown:
        raise SentinelError(f"node {unknown[0]} is not part of this cluster")
    if not force and all(versions.get(ip) == target for ip in ips):
        out(f"all nodes are already at version {target}")
        return 0
    order_roles = tuple(role_order) if role_order else roles_mod.DEFAULT_ROLE_ORDER
    order = roles_mod.upgrade_order({ip: nodes[ip] for ip in ips}, order_roles)
    cl = (progress().get("cluster") or {})
    done: list[str] = []
    if cl.get("target") == target and cl.get("state") in ("failed", "upgrading") \
            and set(cl.get("nodes") or []) == set(order):
        done = [ip for ip in cl.get("done") or [] if ip in order]
        if done:
            out(f"Resuming cluster upgrade after {len(done)} upgraded node(s)")
    set_cluster_progress(target=target, nodes=order, done=done, state="upgrading", failed=None)
    out(f"Upgrading {len(order)} node(s) to {target} in this order: {', '.join(order)}")
    flags = []
    if force:
        flags.append("--force")
    if offline:
        flags.append("--offline")
    if cache_ip:
        flags += ["--cache-ip", cache_ip]
    if skip_download:
        flags.append("--skip-download")
    if resume:
        flags.append("--resume")
    for k, ip in enumerate(order, 1):
        if ip in done:
            continue
        out(f"==> [{k}/{len(order)}] node {ip} ({' '.join(sorted(nodes[ip]))})")
        rc = run_on_node(ip, ["upgrade", target, LOCAL, *flags])
        if rc != 0:
            set_cluster_progress(state="failed", failed=ip)
            msg = (f"upgrade of node {ip} failed (exit {rc}); fix the cause and resume with: "
                   "kato node upgrade --resume")
            log("ERROR", msg)
            err(msg)
            return 1
        done.append(ip)
        set_cluster_progress(done=list(done))
    set_cluster_progress(state="done", failed=None)
    out(f"Cluster upgraded to {target}: {len(order)} node(s)")
    return 0


# ---- download-only ---------------------------------------------------------------------

def download_for_upgrade(target: str, cache_ip: str) -> int:
    """Everything the cluster needs to reach <target>, into the cache on <cache_ip>."""
    nodes, versions = cluster_nodes()
    wanted: dict[tuple[str, str], releases.Component] = {}
    path_versions: set[str] = set()
    for ip in sorted(nodes):
        cur = versions.get(ip)
        try:
            path = releases.upgrade_path(cur, target)
        except releases.UnsupportedPath as e:
            raise SentinelError(f"node {ip}: {e}") from None
        path_versions.update(path)
        for c in releases.path_components(path, nodes[ip]):
            wanted[(c.version, c.filename)] = c
    if not wanted:
        out(f"all nodes are already at version {target}; nothing to download")
        return 0
    local = nodeconf.is_self(cache_ip)
    cache = Cache() if local else None
    remote = None if local else CacheNode(cache_ip)
    if local:
        index = cache.index()
    else:
        index = remote.index()
    present = index.get("files") or {}
    missing = [c for (v, f), c in sorted(wanted.items(), key=lambda kv: (
        releases.vkey(kv[0][0]), kv[0][1])) if f not in present.get(v, {})]
    extras = [(v, "manifest.json") for v in sorted(path_versions, key=releases.vkey)
              if "manifest.json" not in present.get(v, {})]
    kato_cached = "latest.json" in present.get("kato", {})
    where = f"the cache on {cache_ip} ({index.get('cache_dir')})"
    if not missing and not extras and kato_cached:
        out(f"Nothing to download: all {len(wanted)} files for {target} are already in {where}")
        return 0
    need = releases.download_size(missing)
    free = int(index.get("free_bytes") or 0)
    if need > free:
        raise SentinelError(f"not enough free disk space on {index.get('cache_dir')}: "
                            f"{human(free)} available, {human(need)} needed")

    def store(version, name, data):
        if local:
            cache.write(version, name, data)
        else:
            remote.put(version, name, data)

    for version in sorted(path_versions, key=releases.vkey):
        items = [c for c in missing if c.version == version]
        manifest_missing = (version, "manifest.json") in extras
        if not items and not manifest_missing:
            continue
        journal.emit("download_start", version=version, source="upstream")
        total = 0
        try:
            if manifest_missing:
                store(version, "manifest.json", fetch_upstream(f"/releases/{version}/manifest.json"))
            for c in items:
                out(f"Downloading {version}/{c.filename} ({human(c.size)})")
                data = fetch_upstream(f"/releases/{version}/{c.filename}")
                if not Cache.valid(version, c.filename, data):
                    raise SentinelError(f"validation failed for {version}/{c.filename}: "
                                        "sha256 mismatch")
                store(version, c.filename, data)
                total += len(data)
        except NetworkError as e:
            journal.emit("download_failed", version=version, reason=e.reason)
            raise SentinelError(f"network error while downloading {e.what}: {e.reason}; "
                                "connectivity restored? run the download again") from None
        journal.emit("download_done", version=version, source="upstream", bytes=total)
    store("kato", "latest.json", fetch_upstream("/kato/latest.json"))   # always refreshed
    out(f"Downloaded {len(missing)} file(s) ({human(need)} nominal) for {target} into {where}")
    return 0


# ---- status ----------------------------------------------------------------------------

def status(cache_ip: str | None = None) -> dict:
    st = nodestate.read()
    prog = st.get("upgrade") or {}
    version = st.get("version")
    available = available_version(cache_ip or prog.get("cache_ip"))
    state = prog.get("state") or "idle"
    target = prog.get("target") if state not in ("done", "idle") else available
    cached = False
    if target and version:
        try:
            path = releases.upgrade_path(version, target) if state in ("done", "idle") \
                else prog.get("path") or []
            comps = releases.path_components(path, _node_roles())
            local = Cache()
            cached = bool(comps) and all(local.has(c.version, c.filename) for c in comps)
        except (releases.UnsupportedPath, releases.UnknownRelease):
            cached = False
    return {"node": nodeconf.my_ip(), "version": version, "available": available, "state": state,
            "step": prog.get("step"), "cached": cached}


def print_status(s: dict, as_json: bool) -> None:
    """[ours] the contract's `--status --json` keys and `Key: value` lines; the documented
    profile prints the same facts in other words (the form is not documented)."""
    if nodeconf.documented():
        if as_json:
            out(json.dumps({"ip": s["node"], "current_version": s["version"],
                            "latest_version": s["available"], "status": s["state"],
                            "current_step": s["step"], "download_cached": s["cached"]},
                           sort_keys=True))
            return
        out(f"Upgrade status of node {s['node']}")
        out(f"  installed version:  {s['version']}")
        out(f"  latest version:     {s['available'] or 'unknown'}")
        out(f"  upgrade status:     {s['state']}")
        out(f"  current step:       {s['step'] or 'none'}")
        out(f"  download cached:    {'yes' if s['cached'] else 'no'}")
        return
    if as_json:
        out(json.dumps(s, sort_keys=True))
        return
    out(f"Node:      {s['node']}")
    out(f"Version:   {s['version']}")
    out(f"Available: {s['available'] or 'unknown'}")
    out(f"State:     {s['state']}")
    out(f"Step:      {s['step'] or '-'}")
    out(f"Cached:    {'yes' if s['cached'] else 'no'}")


# ---- CLI -------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="bin/sentinel")
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("upgrade")
    up.add_argument("version")
    up.add_argument("ips", nargs="+")
    up.add_argument("--skip-download", action="store_true")
    up.add_argument("--cache-ip")
    up.add_argument("--force", action="store_true")
    up.add_argument("--offline", action="store_true")
    up.add_argument("--resume", action="store_true")
    up.add_argument("--role-order")
    dl = sub.add_parser("download")
    dl.add_argument("--for-upgrade", dest="version", required=True)
    dl.add_argument("--cache-ip", required=True)
    su = sub.add_parser("self-update")
    su.add_argument("--cache-ip")
    su.add_argument("--offline", action="store_true")
    stt = sub.add_parser("status")
    stt.add_argument("--json", action="store_true")
    stt.add_argument("--cache-ip")
    return ap


class _ArgError(Exception):
    pass


def _raise_arg_error(message: str):
    """argparse's error() exits; Sentinel prints its own ERROR line instead."""
    raise _ArgError(message)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = _parser()
    ap.error = _raise_arg_error  # type: ignore[method-assign]
    try:
        args = ap.parse_args(argv)
    except _ArgError as e:
        err(f"{e} (usage: bin/sentinel upgrade <version> <node-ip>... [options])")
        return 1
    try:
        if args.cmd == "upgrade":
            log("INFO", f"Running with command: {command_line(argv)}")
            role_order = None
            if args.role_order:
                role_order = [r.strip() for r in args.role_order.split(",") if r.strip()]
                bad = [r for r in role_order if r not in roles_mod.ROLES]
                if bad:
                    raise SentinelError(f"unknown role {bad[0]} in --role-order")
            if args.cache_ip:
                set_progress(cache_ip=args.cache_ip)
            ips = [nodeconf.my_ip() if ip == LOCAL else ip for ip in args.ips]
            if ips == [nodeconf.my_ip()]:
                return upgrade_node(args.version, force=args.force, offline=args.offline,
                                    cache_ip=args.cache_ip, skip_download=args.skip_download,
                                    resume=args.resume)
            return upgrade_cluster(args.version, args.ips, force=args.force,
                                   offline=args.offline, cache_ip=args.cache_ip,
                                   skip_download=args.skip_download, resume=args.resume,
                                   role_order=role_order)
        if args.cmd == "download":
            return download_for_upgrade(args.version, args.cache_ip)
        if args.cmd == "self-update":
            old, new = self_update(args.cache_ip, args.offline)
            out(f"kato updated from {old} to {new}" if old != new
                else f"kato is already up to date ({new})")
            return 0
        if args.cmd == "status":
            print_status(status(args.cache_ip), args.json)
            return 0
    except (releases.UnsupportedPath, releases.UnknownRelease) as e:
        err(str(e))
        return 1
    except SentinelError as e:
        err(str(e))
        return 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
