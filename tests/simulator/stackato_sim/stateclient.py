"""The client of the cluster state server (state.py): what kato and the other simulated tools call.

Its own module, with a plain-socket HTTP/1.0 request instead of http.client: every simulated kato call
imports it, and http.client (with email and ssl) was half of a kato call's start-up.
"""

from __future__ import annotations

import json
import socket

from . import nodeconf, ports


def _post(host: str, port: int, path: str, body: bytes, timeout: float) -> bytes:
    """POST ``body`` (JSON) to http://host:port/path over HTTP/1.0: the response's body, whatever its status (the
    server answers every op with a JSON object, as http.client's caller read it before)."""
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(f"POST {path} HTTP/1.0\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    response = b"".join(chunks)
    head, sep, payload = response.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status) < 2 or not status[0].startswith(b"HTTP/"):
        raise ValueError(f"state server answered {head[:80]!r}")
    return payload


class StateUnavailable(Exception):
    """The primary's state server cannot be reached (str() is kato's error line)."""


class StateError(Exception):
    """The state server refused an op; .kind as in OpError."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class StateClient:
    def __init__(self, primary_ip: str, port: int, timeout: float = 30.0,
                 caller: str | None = None):
        self.primary_ip, self.port, self.timeout, self.caller = primary_ip, int(port), timeout, caller

    @classmethod
    def from_node(cls, timeout: float = 30.0) -> "StateClient":
        node = nodeconf.load_node()
        return cls(node["primary_ip"], ports.of(node, "state_port"), timeout, nodeconf.my_ip())

    def call(self, op: str, **args):
        if self.caller and "caller" not in args:
            args["caller"] = self.caller
        body = json.dumps({"op": op, "args": args}).encode()
        try:
            data = json.loads(_post(self.primary_ip, self.port, "/op", body, self.timeout) or b"{}")
        except (OSError, ValueError):
            raise StateUnavailable(
                f"ERROR: cannot reach config_redis at {self.primary_ip}:{self.port} "
                "(the primary node); is it up?") from None
        if not data.get("ok"):
            raise StateError(data.get("kind", "error"), data.get("error", "state server error"))
        return data.get("result")

    # thin wrappers: the op names of the server
    def config_get(self, component=None, key="", ip=None):
        return self.call("config_get", component=component, key=key, ip=ip or self.caller)["value"]

    def config_set(self, component, key, value, force=False, ip=None, exact_types=False):
        return self.call("config_set", component=component, key=key, value=value, force=force,
                         ip=ip or self.caller, exact_types=exact_types)["value"]

    def config_del(self, component, key, ip=None):
        return self.call("config_del", component=component, key=key, ip=ip or self.caller)

    def config_push(self, component, key, value, ip=None):
        return self.call("config_push", component=component, key=key, value=value,
                         ip=ip or self.caller)["value"]

    def config_pop(self, component, key, value, ip=None):
        return self.call("config_pop", component=component, key=key, value=value,
                         ip=ip or self.caller)["value"]

    def nodes(self):
        return self.call("nodes")

    def node_info(self, ip=None):
        return self.call("node_info", ip=ip)

    def node_versions(self):
        return self.call("node_versions")

    def node_report(self, ip, **fields):
        return self.call("node_report", ip=ip, **fields)

    def node_attach(self, ip, **fields):
        return self.call("node_attach", ip=ip, **fields)

    def node_down(self, ip):
        return self.call("node_down", ip=ip)

    def node_up(self, ip):
        return self.call("node_up", ip=ip)

    def apps(self):
        return self.call("apps")

    def dea_info(self, ip):
        return self.call("dea_info", ip=ip)

    def retire(self, ip):
        return self.call("retire", ip=ip)

    def unretire(self, ip):
        return self.call("unretire", ip=ip)

    def buildpacks(self):
        return self.call("buildpacks")

    def routes(self):
        return self.call("routes")

    def remove_custom_buildpacks(self):
        return self.call("remove_custom_buildpacks")

    def dump(self):
        return self.call("dump")
