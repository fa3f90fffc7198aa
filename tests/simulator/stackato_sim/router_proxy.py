# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The router's reverse proxy: `python3 -m stackato_sim.router_proxy` on every router node.

Provision starts it on a router node of a traffic cluster (node.json `"traffic": true`). It
listens on `<node ip>:<ports.ROUTER>` and proxies every request whose Host header is
`<app>.<cluster domain>` to one of the app's up instances (round robin; a connection that fails
is tried on the next instance; none left: 502; an unknown host: 404). Its table comes from the
state server's `routes` op, polled every POLL_S, so a move shows within a second.

While this node's router2g process is not RUNNING (stopped for its upgrade step, a `kato
restart`, a dead node) the proxy closes its listener, as a stopped router does, so HAProxy's
health check takes it out; after router2g (re)starts it stays closed RELOAD_S more (the router
loads its routes before it accepts). A restart between two polls is seen by the process
entry's `since` (docs/dev/simulator.md §10).
"""

from __future__ import annotations

import http.client
import itertools
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from . import nodeconf, nodestate, ports, stateclient as state_mod
from .apps_http import LoopbackServer, stop_listening

POLL_S = 0.1          # how often the routing table and router2g's state are read
RELOAD_S = 0.5        # [ours] a (re)started router accepts this long after router2g started
BACKEND_TIMEOUT_S = 5.0
ROUTER_PROCESS = "router2g"


def table_from(routes: dict) -> tuple[str, dict]:
    """(domain, {app: [(dea, port), ...]}) of the up instances, in the state server's order."""
    table = {}
    for app, insts in (routes.get("apps") or {}).items():
        table[app] = [(i["dea"], int(i["port"])) for i in insts if i.get("up") and i.get("dea")]
    return routes.get("domain") or "", table


def accepting(entry: dict | None, now: float, reload_s: float = RELOAD_S) -> bool:
    """Whether a router whose router2g process entry is `entry` takes requests now."""
    if not entry or entry.get("state") != "RUNNING":
        return False
    return now >= float(entry.get("since") or 0) + reload_s


def app_of(host: str | None, domain: str) -> str | None:
    """`web.small.stackato.test[:port]` -> `web` for domain `small.stackato.test`."""
    name = (host or "").split(":", 1)[0].strip().lower().rstrip(".")
    suffix = "." + domain.lower()
    if domain and name.endswith(suffix) and name != suffix[1:]:
        return name[:-len(suffix)]
    return None


class Router:
    def __init__(self, ip: str, port: int, client, log=None):
        self.ip, self.port, self.client = ip, port, client
        self.domain, self.table = "", {}
        self.counter = itertools.count()
        self.server = None
        self.lock = threading.Lock()
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))

    # -- the routing table
    def refresh(self) -> None:
        try:
            domain, table = table_from(self.client.routes())
        except (state_mod.StateUnavailable, state_mod.StateError):
            return   # keep routing by the last table while the primary does not answer
        with self.lock:
            self.domain, self.table = domain, table

    def backends(self, app: str) -> list:
        with self.lock:
            found = list(self.table.get(app) or ())
        if not found:
            return []
        start = next(self.counter) % len(found)
        return found[start:] + found[:start]

    # -- the listener
    def set_accepting(self, on: bool) -> None:
        if on and self.server is None:
            try:
                server = LoopbackServer((self.ip, self.port), make_handler(self))
            except OSError as exc:
                self.log(f"router: cannot listen on {self.ip}:{self.port}: {exc}")
                return
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True).start()
            self.server = server
            self.log(f"router: accepting on {self.ip}:{self.port}")
        elif not on and self.server is not None:
            server, self.server = self.server, None
            stop_listening(server)
            threading.Thread(target=server.shutdown, daemon=True).start()
            self.log("router: router2g not running, listener closed")

    def tick(self, now: float | None = None) -> None:
        self.refresh()
        entry = (nodestate.read().get("processes") or {}).get(ROUTER_PROCESS)
        self.set_accepting(accepting(entry, time.time() if now is None else now))

    # -- one request
    def forward(self, handler) -> None:
        app = app_of(handler.headers.get("Host"), self.domain)
        if app is None or app not in self.table:
            handler.reply(404, f"no app for host {handler.headers.get('Host')!r}\n".encode())
            return
        errors = []
        for dea, port in self.backends(app):
            conn = http.client.HTTPConnection(dea, port, timeout=BACKEND_TIMEOUT_S)
            try:
                conn.request(handler.command, handler.path,
                             headers={"Host": handler.headers.get("Host"),
                                      "X-Forwarded-For": handler.client_address[0]})
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{dea}:{port} {exc.__class__.__name__}")
                continue   # that instance is gone: the next one
            finally:
                conn.close()
            handler.reply(resp.status, body, resp.getheader("Content-Type") or "text/plain",
                          {"X-Stackato-Router": self.ip})
            return
        handler.reply(502, (f"no instance of {app} answered: {', '.join(errors) or 'none up'}\n"
                            ).encode())


def make_handler(router: Router):
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, nothing kept open to a stopped router
        def log_message(self, fmt, *args):
            pass

        def reply(self, code: int, body: bytes, ctype: str = "text/plain", extra=None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            if self.path == "/healthz" and not self.headers.get("Host", "").count("."):
                self.reply(200, b"ok\n")   # HAProxy's check (Host: router)
                return
            router.forward(self)

        do_HEAD = do_GET
    return Handler


def run(router: Router, poll_s: float = POLL_S, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    try:
        while not stop.is_set():
            router.tick()
            stop.wait(poll_s)
    finally:
        router.set_accepting(False)


def main(argv=None) -> int:
    del argv
    node = nodeconf.load_node()
    client = state_mod.StateClient.from_node(timeout=2.0)
    client.caller = None
    router = Router(nodeconf.my_ip(), int(node.get("router_port") or ports.ROUTER), client)
    print(f"router proxy of {router.ip}:{router.port}", file=sys.stderr, flush=True)
    while True:
        try:
            run(router)
        except Exception as exc:  # pylint: disable=broad-except  # a daemon: log, go on
            print(f"router_proxy: {exc!r}", file=sys.stderr, flush=True)
            time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
