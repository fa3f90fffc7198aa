"""sentinel-d, Sentinel's cache daemon: serves this node's upgrade cache to the other nodes.

    python3 -m stackato_sim.sentinel_d [--listen IP] [--port N]

Listens on <node ip>:<sentinel_port> (node.json). The cache directory is `cache_dir` of
/s/code/sentinel/daemon/config/config.yml, read once at start (so a changed cache_dir needs
`service sentinel-d restart`, as documented). Cache layout (also used by the Sentinel CLI for
the node's local cache): <cache_dir>/<version>/<file>, <cache_dir>/kato/latest.json.

  GET /cache/index.json        {"cache_dir", "free_bytes", "files": {v: {file: sha256}}, "kato_rev"}
  GET /cache/<v>/<file>        a cached file (404 when absent)
  PUT /cache/<v>/<file>        store a file; component payloads are sha256-checked against the
                               release manifest (400 on mismatch), 507 when the disk is full
  GET /health                  "ok"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import nodeconf, paths, ports, releases

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


# ---- configuration and disk ------------------------------------------------------------

def cache_dir_node_path() -> str:
    """cache_dir from the daemon config (a node path), default /s/sentinel-cache."""
    try:
        with open(paths.p(paths.SENTINEL_CONFIG), encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].rstrip()
                m = re.match(r"^\s*:?cache_dir\s*:\s*(.+?)\s*$", line)
                if m:
                    value = m.group(1).strip().strip("'\"")
                    if value.startswith("/"):
                        return value.rstrip("/") or "/"
    except FileNotFoundError:
        pass
    return paths.DEFAULT_CACHE_DIR


def free_bytes(node_path: str) -> int:
    """Free bytes on the filesystem holding node_path.

    [ours] node.json may carry "disk_free_mb": a number (every path) or {node path: MB}
    (longest matching prefix wins) to simulate small disks; otherwise statvfs."""
    try:
        override = nodeconf.load_node().get("disk_free_mb")
    except OSError:
        override = None
    if isinstance(override, (int, float)):
        return int(override * releases.MB)
    if isinstance(override, dict):
        best = None
        for prefix, mb in override.items():
            pre = prefix.rstrip("/") or "/"
            if node_path == pre or node_path.startswith(pre.rstrip("/") + "/"):
                if best is None or len(pre) > len(best[0]):
                    best = (pre, mb)
        if best is not None:
            return int(best[1] * releases.MB)
    real = paths.p(node_path)
    while real and not os.path.exists(real):
        parent = os.path.dirname(real)
        if parent == real:
            break
        real = parent
    st = os.statvfs(real or "/")
    return st.f_bavail * st.f_frsize


def human(n: int) -> str:
    if n >= releases.GB:
        return f"{n / releases.GB:.1f}GB"
    return f"{n / releases.MB:.0f}MB"


# ---- the cache -------------------------------------------------------------------------

class Cache:
    """A Sentinel cache directory (node path), local to this process."""

    def __init__(self, node_dir: str | None = None):
        self.node_dir = node_dir or cache_dir_node_path()
        self.dir = paths.p(self.node_dir)

    def path(self, version: str, name: str) -> str:
        if not (_NAME.match(version) and _NAME.match(name)):
            raise ValueError(f"bad cache name {version}/{name}")
        return os.path.join(self.dir, version, name)

    def has(self, version: str, name: str) -> bool:
        return self.valid(version, name, self.read(version, name))

    def read(self, version: str, name: str) -> bytes | None:
        try:
            with open(self.path(version, name), "rb") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None

    @staticmethod
    def valid(version: str, name: str, data: bytes | None) -> bool:
        if data is None:
            return False
        comp = releases.find_component(version, name)
        if comp is not None:
            return hashlib.sha256(data).hexdigest() == comp.sha256
        if name.endswith(".json"):
            try:
                json.loads(data)
            except ValueError:
                return False
        return True

    def write(self, version: str, name: str, data: bytes) -> None:
        if not self.valid(version, name, data):
            raise ValueError(f"{version}/{name}: checksum mismatch")
        target = self.path(version, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.part{os.getpid()}.{threading.get_ident()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, target)

    def files(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        try:
            versions = sorted(os.listdir(self.dir))
        except FileNotFoundError:
            return out
        for v in versions:
            vdir = os.path.join(self.dir, v)
            if not os.path.isdir(vdir):
                continue
            for name in sorted(os.listdir(vdir)):
                if ".part" in name:
                    continue
                data = self.read(v, name)
                if self.valid(v, name, data):
                    out.setdefault(v, {})[name] = hashlib.sha256(data).hexdigest()
        return out

    def index(self) -> dict:
        kato = self.read("kato", "latest.json")
        kato_rev = None
        if kato:
            try:
                kato_rev = json.loads(kato).get("kato_rev")
            except ValueError:
                pass
        return {"cache_dir": self.node_dir, "free_bytes": free_bytes(self.node_dir),
                "files": self.files(), "kato_rev": kato_rev}


# ---- the daemon ------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    server_version = "sentinel-d/sim"
    protocol_version = "HTTP/1.1"
    cache: Cache

    def _send(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _split(self):
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) == 3 and parts[0] == "cache":
            return parts[1], parts[2]
        return None

    def do_GET(self):  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path == "/health":
            return self._send(200, b"ok\n")
        if path == "/cache/index.json":
            return self._send(200, (json.dumps(self.cache.index(), sort_keys=True) + "\n")
                              .encode(), "application/json")
        vf = self._split()
        if not vf:
            return self._send(404, b"not found\n")
        try:
            data = self.cache.read(*vf)
        except ValueError:
            data = None
        if data is None or not self.cache.valid(vf[0], vf[1], data):
            return self._send(404, f"{vf[0]}/{vf[1]} not in cache\n".encode())
        return self._send(200, data, "application/octet-stream")

    do_HEAD = do_GET

    def do_PUT(self):  # noqa: N802
        vf = self._split()
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        if not vf:
            return self._send(404, b"not found\n")
        comp = releases.find_component(*vf)
        need = comp.size if comp else len(data)
        free = free_bytes(self.cache.node_dir)
        if need > free:
            return self._send(507, (f"not enough free disk space on {self.cache.node_dir}: "
                                    f"{human(free)} available, {human(need)} needed\n").encode())
        try:
            self.cache.write(vf[0], vf[1], data)
        except ValueError as e:
            return self._send(400, f"{e}\n".encode())
        return self._send(201, b"stored\n")

    def log_message(self, fmt, *args):
        sys.stderr.write(f"sentinel-d {self.client_address[0]} [{self.log_date_time_string()}] "
                         f"{fmt % args}\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True


def make_server(listen: str, port: int, cache: Cache | None = None) -> Server:
    handler = type("BoundHandler", (Handler,), {"cache": cache or Cache()})
    return Server((listen, port), handler)


def main(argv=None) -> int:
    node = nodeconf.load_node()
    ap = argparse.ArgumentParser(prog="sentinel-d")
    ap.add_argument("--listen", default=nodeconf.my_ip())
    ap.add_argument("--port", type=int, default=ports.of(node, "sentinel_port"))
    args = ap.parse_args(argv)
    cache = Cache()
    srv = make_server(args.listen, args.port, cache)
    sys.stderr.write(f"sentinel-d: serving cache {cache.node_dir} on "
                     f"{args.listen}:{srv.server_address[1]}\n")
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    try:
        srv.serve_forever(poll_interval=0.05)   # SIGTERM: stop within 50 ms
    except KeyboardInterrupt:
        pass
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
