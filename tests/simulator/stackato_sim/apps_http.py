# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app instances of a DEA, serving real HTTP: `python3 -m stackato_sim.apps_http`.

Runs on every DEA node of a traffic cluster (provision starts it when node.json has
`"traffic": true`). It polls the state server's `routes` op every POLL_S and keeps one HTTP
listener per instance that the state server places on this DEA and reports up, on
`<DEA ip>:<instance port>` (state.instance_port). An instance that stops, moves away or goes
down (its DEA's dea_ng stopped, the node down) closes its listener; one that came back in
between two polls (a new `up_since`) is closed and opened again. Every answer names the app,
the instance's index and id, and the DEA (docs/dev/simulator.md §10).
"""

from __future__ import annotations

import json
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import nodeconf, stateclient as state_mod

POLL_S = 0.1


def instance_key(inst: dict) -> tuple:
    return (inst["id"], float(inst.get("up_since") or 0))


def wanted_instances(routes: dict, dea_ip: str) -> dict:
    """{(id, up_since): instance} of the up instances that this DEA runs, app name included."""
    out = {}
    for app, insts in (routes.get("apps") or {}).items():
        for inst in insts:
            if inst.get("dea") == dea_ip and inst.get("up"):
                out[instance_key(inst)] = dict(inst, app=app)
    return out


def make_handler(inst: dict, dea_ip: str):
    body = (json.dumps({"app": inst["app"], "index": inst["index"], "instance": inst["id"],
                        "dea": dea_ip}) + "\n").encode()

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection (the router opens one per request)
        def log_message(self, fmt, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Stackato-Instance", f"{inst['app']}/{inst['index']}@{dea_ip}")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_GET
    return Handler


def stop_listening(server) -> None:
    """Refuse new connections now: shutdown() takes the socket out of listening at once (a
    close() alone waits for serve_forever's poll to let go of it, and what queued meanwhile
    would be reset)."""
    try:
        server.socket.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    server.socket.close()


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server (the router's too) that binds without an FQDN lookup."""
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 64

    def server_bind(self):   # no FQDN lookup (HTTPServer.server_bind does one)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class AppServers:
    """The listeners of one DEA, kept equal to what the state server places there."""

    def __init__(self, dea_ip: str, log=None):
        self.dea_ip = dea_ip
        self.servers: dict = {}
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))

    def sync(self, routes: dict) -> None:
        wanted = wanted_instances(routes, self.dea_ip)
        for key in [k for k in self.servers if k not in wanted]:
            self._close(key)
        for key, inst in wanted.items():
            if key not in self.servers:
                self._open(key, inst)

    def _open(self, key, inst: dict) -> None:
        try:
            server = LoopbackServer((self.dea_ip, int(inst["port"])), make_handler(inst, self.dea_ip))
        except OSError as exc:   # the next poll tries again
            self.log(f"instance {inst['id']}: cannot listen on {self.dea_ip}:{inst['port']}: {exc}")
            return
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        self.servers[key] = server
        self.log(f"instance {inst['app']}/{inst['index']} ({inst['id']}) up on "
                 f"{self.dea_ip}:{inst['port']}")

    def _close(self, key) -> None:
        server = self.servers.pop(key)
        stop_listening(server)
        threading.Thread(target=server.shutdown, daemon=True).start()
        self.log(f"instance {key[0]} down")

    def close_all(self) -> None:
        for key in list(self.servers):
            self._close(key)


def run(client, dea_ip: str, poll_s: float = POLL_S, stop: threading.Event | None = None) -> None:
    servers = AppServers(dea_ip)
    stop = stop or threading.Event()
    try:
        while not stop.is_set():
            try:
                servers.sync(client.routes())
            except (state_mod.StateUnavailable, state_mod.StateError):
                pass   # keep serving what we had: the instances do not depend on the primary
            stop.wait(poll_s)
    finally:
        servers.close_all()


def main(argv=None) -> int:
    del argv
    client = state_mod.StateClient.from_node(timeout=2.0)
    client.caller = None   # polling is not journaled and names nobody
    me = nodeconf.my_ip()
    print(f"app servers of DEA {me} polling the state server every {POLL_S} s", file=sys.stderr,
          flush=True)
    while True:
        try:
            run(client, me)
        except Exception as exc:  # pylint: disable=broad-except  # a daemon: log, go on
            print(f"apps_http: {exc!r}", file=sys.stderr, flush=True)
            time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
