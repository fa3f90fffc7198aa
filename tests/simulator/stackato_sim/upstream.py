"""The upstream content server standing for upgrade.stackato.com, component-images.stackato.com,
github.com, rubygems.org, the apt mirrors ... (docs/dev/simulator.md §1).

    python3 -m stackato_sim.upstream --listen <ip> --http-port 80 --https-port 443 \
        --cert C --key K [--journal path]

Serves on both ports (TLS on the HTTPS one), whatever the Host header:
  /releases/index.json               {"versions", "latest", "kato_rev"}
  /releases/<v>/manifest.json        the release manifest (releases.manifest)
  /releases/<v>/<component>.tgz      the component's payload
  /kato/latest.json                  {"kato_rev", "version"}
  anything else                      200 "ok" (reachability checks of github.com:443 etc.)
--https-port 0 or no --cert: HTTP only (unit tests). --http-port 0 picks a free port; the
bound ports are printed on stdout as one JSON line {"http_port": N, "https_port": M}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import ports, releases

_RELEASE_FILE = re.compile(r"^/releases/([0-9][0-9.]*)/([A-Za-z0-9_.\-]+)$")


def route(path: str) -> tuple[int, str, bytes]:
    """(status, content type, body) for a GET of <path>."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if path == "/releases/index.json":
        return 200, "application/json", _json(releases.index())
    if path == "/kato/latest.json":
        return 200, "application/json", _json({"kato_rev": releases.kato_latest_rev(),
                                               "version": releases.latest()})
    m = _RELEASE_FILE.match(path)
    if m:
        version, name = m.groups()
        if version not in releases.upgradable_versions():
            return 404, "text/plain", f"no release {version}\n".encode()
        if name == "manifest.json":
            return 200, "application/json", releases.manifest_json(version).encode()
        comp = releases.find_component(version, name)
        if comp is None:
            return 404, "text/plain", f"no file {name} in release {version}\n".encode()
        return 200, "application/octet-stream", comp.payload
    if path.startswith("/releases/"):
        return 404, "text/plain", b"not found\n"
    return 200, "text/plain", b"ok\n"


def _json(obj) -> bytes:
    return (json.dumps(obj, sort_keys=True) + "\n").encode()


class _Journal:
    def __init__(self, path: str | None):
        self.path = path
        self.lock = threading.Lock()

    def emit(self, event: str, **fields) -> None:
        if not self.path:
            return
        rec = {"ts": time.time(), "node": "upstream", "event": event}
        rec.update(fields)
        line = (json.dumps(rec, sort_keys=True) + "\n").encode()
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as e:
            sys.stderr.write(f"upstream: journal write failed: {e}\n")


class Handler(BaseHTTPRequestHandler):
    server_version = "stackato-sim-upstream/1"
    protocol_version = "HTTP/1.1"
    journal: _Journal = _Journal(None)

    def _serve(self, head: bool) -> None:
        status, ctype, body = route(self.path)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)
        if self.path.startswith(("/releases/", "/kato/")):
            self.journal.emit("upstream_request", path=self.path.split("?", 1)[0],
                              host=self.headers.get("Host", ""), status=status)

    def do_GET(self):  # noqa: N802
        self._serve(head=False)

    def do_HEAD(self):  # noqa: N802
        self._serve(head=True)

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._serve(head=False)

    def log_message(self, fmt, *args):
        sys.stderr.write("upstream %s [%s] %s %s\n" % (
            self.client_address[0], self.headers.get("Host", "-") if self.headers else "-",
            self.log_date_time_string(), fmt % args))


class TLSServer(ThreadingHTTPServer):
    """Handshake in the request thread, so a client that connects and says nothing (a TCP
    reachability probe) cannot block the accept loop."""
    daemon_threads = True
    request_queue_size = 128  # a real server's backlog, not socketserver's 5: many nodes probe at once

    def __init__(self, addr, handler, context: ssl.SSLContext):
        self.context = context
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write(f"upstream: TLS handshake with {client_address[0]} failed: {e}\n")
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


class PlainServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def make_servers(listen: str, http_port: int, https_port: int | None = None,
                 cert: str | None = None, key: str | None = None,
                 journal: str | None = None) -> list[ThreadingHTTPServer]:
    handler = type("BoundHandler", (Handler,), {"journal": _Journal(journal)})
    servers: list[ThreadingHTTPServer] = [PlainServer((listen, http_port), handler)]
    if https_port is not None and cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        servers.append(TLSServer((listen, https_port), handler, ctx))
    return servers


def serve_in_threads(servers) -> list[threading.Thread]:
    threads = []
    for srv in servers:
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True)   # SIGTERM: stop within 50 ms
        t.start()
        threads.append(t)
    return threads


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="stackato_sim.upstream")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--http-port", type=int, default=ports.UPSTREAM_HTTP)
    ap.add_argument("--https-port", type=int, default=ports.UPSTREAM_HTTPS)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--journal")
    args = ap.parse_args(argv)
    https_port = args.https_port if (args.cert and args.https_port) else None
    servers = make_servers(args.listen, args.http_port, https_port, args.cert, args.key,
                           args.journal)
    bound = {"http_port": servers[0].server_address[1],
             "https_port": servers[1].server_address[1] if len(servers) > 1 else None}
    print(json.dumps(bound), flush=True)
    sys.stderr.write(f"upstream: serving {releases.upgradable_versions()} on {args.listen} "
                     f"{bound}\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serve_in_threads(servers)
    stop.wait()
    for srv in servers:
        srv.shutdown()
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
