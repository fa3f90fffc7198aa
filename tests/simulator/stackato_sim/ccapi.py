# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Cloud Controller v2 API subset on the Core (kato-contract.md section 5), over HTTPS.

    python3 -m stackato_sim.ccapi serve [--host IP] [--port N] [--cert PEM --key PEM]
                                        [--listen-fd N]

Without --cert it speaks plain HTTP (unit tests on the host). Routes:

  GET  /v2/info                      no token needed; `token_endpoint` and
                                     `authorization_endpoint` are <base>/aok (AOK answers as UAA)
  POST /aok/oauth/token              password grant; client `cf` by HTTP basic auth, empty secret
  GET  /v2/apps[?page=&results-per-page=]   paged, `next_url` relative as Cloud Foundry's
  GET  /v2/apps/<guid>
  GET  /v2/apps/<guid>/stats         {"<index>": {"state", "stats": {"host", "port", "mem_quota",
                                     "usage": {"mem"}, ...}}}; an instance no DEA runs has no stats
  GET  /v2/buildpacks[/<guid>]       entity name, position, enabled, locked, filename
  POST /v2/buildpacks                {"name", "position"?, "enabled"?, "locked"?} -> 201; inserted
                                     at position (the ones from there on move down), else last
  PUT  /v2/buildpacks/<guid>         {"position"?, "enabled"?, "locked"?} -> 201
  PUT  /v2/buildpacks/<guid>/bits    multipart field `buildpack` (the zip; its filename is kept)
  GET  /v2/buildpacks/<guid>/download  the uploaded zip (404 before an upload)

Every /v2 route but /v2/info needs `Authorization: bearer <token>` (401 without a valid one);
an unknown guid is 404. While maintenance mode is on, every write (POST, PUT, DELETE, PATCH
outside the token endpoint) answers 503 "Maintenance mode is enabled. The Cloud Controller is
read-only."; reads still work. The data is the state server's: apps, instance placement and
states, buildpacks; guids are stable per name (uuid5). The admin credential is cluster.json
`api` (nodeconf.api_credentials). Tokens live in this process's memory.
"""

from __future__ import annotations

import argparse
import base64
import email.parser
import email.policy
import json
import os
import secrets
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import nodeconf, paths, ports
from .stateclient import StateClient, StateError, StateUnavailable

TOKEN_PATH = "/aok/oauth/token"
TOKEN_TTL_S = 12 * 3600
CLIENT_ID = "cf"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
MAINTENANCE_MESSAGE = "Maintenance mode is enabled. The Cloud Controller is read-only."
WRITES = ("POST", "PUT", "DELETE", "PATCH")
MB = 1024 * 1024
POLL_INTERVAL_S = 0.05
# The uploaded buildpack zips, by guid (on the primary; kept across container restarts).
BITS_DIR = "/var/lib/stackato-sim/buildpacks"


def guid(cluster: str, kind: str, name: str) -> str:
    """A stable guid per cluster, kind and name (the same app keeps its guid across restarts)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stackato-sim://{cluster}/{kind}/{name}"))


class ApiError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body.get("description") or body.get("error"))
        self.status, self.body = status, body


def cf_error(status: int, code: int, error_code: str, description: str) -> ApiError:
    return ApiError(status, {"code": code, "description": description, "error_code": error_code})


def not_found(what: str, ident: str) -> ApiError:
    return cf_error(404, 100004 if what == "app" else 10000,
                    "CF-AppNotFound" if what == "app" else "CF-NotFound",
                    f"The {what} could not be found: {ident}")


class Api:
    """The routes, independent of HTTP plumbing (one instance per server)."""

    def __init__(self, client: StateClient, cluster: str, username: str, password: str):
        self.client, self.cluster = client, cluster
        self.username, self.password = username, password
        self.tokens: dict[str, float] = {}
        self.lock = threading.Lock()

    # -- tokens
    def issue_token(self, headers, form: dict) -> dict:
        client_id, secret = _basic_auth(headers.get("Authorization"))
        if client_id != CLIENT_ID or secret != "":
            raise ApiError(401, {"error": "unauthorized",
                                 "error_description": "Bad client credentials"})
        grant = (form.get("grant_type") or [""])[0]
        if grant != "password":
            raise ApiError(400, {"error": "unsupported_grant_type",
                                 "error_description": f"Unsupported grant type: {grant}"})
        user = (form.get("username") or [""])[0]
        password = (form.get("password") or [""])[0]
        if not (secrets.compare_digest(user, self.username)
                and secrets.compare_digest(password, self.password)):
            raise ApiError(401, {"error": "unauthorized", "error_description": "Bad credentials"})
        token = secrets.token_hex(24)
        with self.lock:
            self.tokens[token] = time.time() + TOKEN_TTL_S
        return {"access_token": token, "token_type": "bearer", "expires_in": TOKEN_TTL_S,
                "scope": "cloud_controller.admin cloud_controller.read cloud_controller.write",
                "jti": secrets.token_hex(8)}

    def check_token(self, header: str | None) -> None:
        scheme, dummy, token = (header or "").partition(" ")
        if not token:
            raise cf_error(401, 10002, "CF-NotAuthenticated", "Authentication error")
        with self.lock:
            expires = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None or expires < time.time():
            raise cf_error(401, 1000, "CF-InvalidAuthToken", "Invalid Auth Token")

    # -- data
    def maintenance(self) -> bool:
        try:
            return self.client.config_get("cloud_controller_ng", "maintenance_mode") is True
        except StateError:
            return False

    def apps(self) -> list[dict]:
        return sorted(self.client.apps(), key=lambda a: a["name"])

    def app_resource(self, app: dict) -> dict:
        g = guid(self.cluster, "app", app["name"])
        return {"metadata": {"guid": g, "url": f"/v2/apps/{g}", "created_at": None,
                             "updated_at": None},
                "entity": {"name": app["name"], "memory": app["memory_mb"],
                           "instances": app["instances"], "disk_quota": 1024,
                           "state": "STARTED", "package_state": "STAGED",
                           "stats_url": f"/v2/apps/{g}/stats"}}

    def find_app(self, app_guid: str) -> dict:
        for app in self.apps():
            if guid(self.cluster, "app", app["name"]) == app_guid:
                return app
        raise not_found("app", app_guid)

    def stats(self, app: dict) -> dict:
        out = {}
        domain = nodeconf.cluster_domain()
        for index, inst in enumerate(app["placement"]):
            entry = {"state": inst.get("state") or ("RUNNING" if inst["up"] else "DOWN"),
                     "since": time.time()}
            if inst["dea"]:
                entry["stats"] = {
                    "name": app["name"], "uris": [f"{app['name']}.{domain}"], "host": inst["dea"],
                    "port": 61000 + index, "uptime": 0, "mem_quota": app["memory_mb"] * MB,
                    "disk_quota": 1024 * MB, "fds_quota": 16384,
                    "usage": {"time": time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime()),
                              "cpu": 0.0, "mem": app["memory_mb"] * MB // 4 if inst["up"] else 0,
                              "disk": 64 * MB}}
            out[str(index)] = entry
        return out

    def buildpack_resource(self, bp: dict) -> dict:
        g = guid(self.cluster, "buildpack", bp["name"])
        filename = bp.get("filename", f"{bp['name']}.zip")   # shipped ones carry their zip
        return {"metadata": {"guid": g, "url": f"/v2/buildpacks/{g}"},
                "entity": {"name": bp["name"], "position": bp["position"],
                           "enabled": bp.get("enabled", True), "locked": bp.get("locked", False),
                           "filename": filename}}

    def bits_path(self, name: str) -> str:
        """Where the uploaded zip of a buildpack is kept (the Cloud Controller's blobstore)."""
        return paths.p(f"{BITS_DIR}/{guid(self.cluster, 'buildpack', name)}.zip")

    def upload_bits(self, bp: dict, headers: dict, body: bytes) -> dict:
        """PUT /v2/buildpacks/<guid>/bits: multipart field `buildpack` (a zip)."""
        filename, data = _multipart_file(headers.get("Content-Type") or "", body, "buildpack")
        if data is None:
            raise cf_error(400, 290002, "CF-BuildpackBitsUploadInvalid",
                           "The buildpack upload is invalid: a multipart field buildpack is needed")
        path = self.bits_path(bp["name"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        self.client.call("update_buildpack", name=bp["name"], filename=filename)
        return self.buildpack_resource(self.find_buildpack(guid(self.cluster, "buildpack", bp["name"])))

    def download_bits(self, bp: dict) -> bytes:
        try:
            with open(self.bits_path(bp["name"]), "rb") as f:
                return f.read()
        except FileNotFoundError:
            if "filename" not in bp:       # seeded with the cluster: it came with its zip
                return f"PK\x03\x04 stackato-sim buildpack {bp['name']}\n".encode()
            raise cf_error(404, 290003, "CF-BuildpackBitsNotFound",
                           f"The buildpack {bp['name']} has no bits") from None

    def update_buildpack(self, bp: dict, body: bytes) -> dict:
        req = _json_body(body)
        fields = {k: req[k] for k in ("position", "enabled", "locked") if k in req}
        self.client.call("update_buildpack", name=bp["name"], **fields)
        return self.buildpack_resource(self.find_buildpack(guid(self.cluster, "buildpack", bp["name"])))

    def find_buildpack(self, bp_guid: str) -> dict:
        for bp in self.client.buildpacks():
            if guid(self.cluster, "buildpack", bp["name"]) == bp_guid:
                return bp
        raise not_found("buildpack", bp_guid)

    # -- dispatch
    def handle(self, method: str, target: str, headers: dict, body: bytes,
               scheme: str = "https") -> tuple[int, dict]:
        """(status, JSON body) of one request; headers keyed in Title-Case."""
        url = urlsplit(target)
        path = url.path.rstrip("/") or "/"
        query = parse_qs(url.query)
        base = f"{scheme}://{headers.get('Host') or 'localhost'}"
        if path == "/v2/info" and method == "GET":
            return 200, {"name": "vcap", "build": "stackato-sim", "version": 2,
                         "description": "Helion Stackato", "api_version": "2.2.0",
                         "authorization_endpoint": f"{base}/aok",
                         "token_endpoint": f"{base}/aok", "support": "http://stackato.test"}
        if path == TOKEN_PATH:
            if method != "POST":
                raise cf_error(405, 10000, "CF-NotFound", "Unknown request")
            return 200, self.issue_token(headers, parse_qs(body.decode("utf-8", "replace")))
        if not path.startswith("/v2/"):
            raise cf_error(404, 10000, "CF-NotFound", "Unknown request")
        self.check_token(headers.get("Authorization"))
        if method in WRITES and self.maintenance():
            raise cf_error(503, 10015, "CF-MaintenanceMode", MAINTENANCE_MESSAGE)
        parts = path.split("/")[2:]   # after "/v2"
        if method == "GET":
            return 200, self.get(parts, path, query)
        if method == "POST" and parts == ["buildpacks"]:
            return 201, self.create_buildpack(body)
        if method == "PUT" and len(parts) == 3 and parts[0] == "buildpacks" and parts[2] == "bits":
            return 201, self.upload_bits(self.find_buildpack(parts[1]), headers, body)
        if method == "PUT" and len(parts) == 2 and parts[0] == "buildpacks":
            return 201, self.update_buildpack(self.find_buildpack(parts[1]), body)
        raise cf_error(404, 10000, "CF-NotFound", "Unknown request")

    def get(self, parts: list[str], path: str, query: dict) -> dict:
        if parts == ["apps"]:
            return page(path, [self.app_resource(a) for a in self.apps()], query)
        if len(parts) == 2 and parts[0] == "apps":
            return self.app_resource(self.find_app(parts[1]))
        if len(parts) == 3 and parts[0] == "apps" and parts[2] == "stats":
            return self.stats(self.find_app(parts[1]))
        if parts == ["buildpacks"]:
            bps = sorted(self.client.buildpacks(), key=lambda b: b["position"])
            return page(path, [self.buildpack_resource(b) for b in bps], query)
        if len(parts) == 2 and parts[0] == "buildpacks":
            return self.buildpack_resource(self.find_buildpack(parts[1]))
        if len(parts) == 3 and parts[0] == "buildpacks" and parts[2] == "download":
            return self.download_bits(self.find_buildpack(parts[1]))
        raise cf_error(404, 10000, "CF-NotFound", "Unknown request")

    def create_buildpack(self, body: bytes) -> dict:
        req = _json_body(body)
        try:
            name = str(req["name"])
        except KeyError:
            raise cf_error(400, 1001, "CF-MessageParseError", "Request invalid due to parse error") from None
        try:
            os.unlink(self.bits_path(name))        # a new buildpack has no bits until uploaded
        except FileNotFoundError:
            pass
        self.client.call("add_buildpack", name=name, custom=True, position=req.get("position"),
                         enabled=bool(req.get("enabled", True)), locked=bool(req.get("locked", False)))
        bp = next(b for b in self.client.buildpacks() if b["name"] == name)
        return self.buildpack_resource(bp)


def _json_body(body: bytes) -> dict:
    try:
        req = json.loads(body or b"{}")
    except ValueError:
        req = None
    if not isinstance(req, dict):
        raise cf_error(400, 1001, "CF-MessageParseError", "Request invalid due to parse error")
    return req


def _multipart_file(content_type: str, body: bytes, field: str) -> tuple[str | None, bytes | None]:
    """(filename, bytes) of one file field of a multipart/form-data body, or (None, None)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None, None
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == field:
            return part.get_filename(), part.get_payload(decode=True)
    return None, None


def page(path: str, resources: list[dict], query: dict) -> dict:
    """A Cloud Foundry v2 list page; `results-per-page` 1..100 (default 50), `page` from 1."""
    try:
        per_page = int((query.get("results-per-page") or [DEFAULT_PER_PAGE])[0])
        number = int((query.get("page") or [1])[0])
    except ValueError:
        raise cf_error(400, 1001, "CF-InvalidRequest", "page and results-per-page are numbers") from None
    if not 1 <= per_page <= MAX_PER_PAGE or number < 1:
        raise cf_error(400, 1001, "CF-InvalidRequest",
                       f"results-per-page must be 1..{MAX_PER_PAGE}, page at least 1")
    total = len(resources)
    pages = max(1, -(-total // per_page))

    def url(n: int) -> str:
        return f"{path}?order-direction=asc&page={n}&results-per-page={per_page}"
    return {"total_results": total, "total_pages": pages,
            "prev_url": url(number - 1) if number > 1 else None,
            "next_url": url(number + 1) if number < pages else None,
            "resources": resources[(number - 1) * per_page:number * per_page]}


def _basic_auth(header: str | None) -> tuple[str | None, str | None]:
    scheme, dummy, value = (header or "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        user, sep, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, None
    return (user, secret) if sep else (None, None)


def make_handler(api: Api, scheme: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "stackato-sim-cc/2"

        def log_message(self, fmt, *args):  # quiet: the API is read often
            pass

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.title(): v for k, v in self.headers.items()}
            try:
                status, reply = api.handle(self.command, self.path, headers, body, scheme)
            except ApiError as exc:
                status, reply = exc.status, exc.body
            except StateUnavailable:
                status, reply = 503, {"code": 10001, "error_code": "CF-ServiceUnavailable",
                                      "description": "The cluster state is not reachable"}
            except StateError as exc:
                status, reply = 500, {"code": 10001, "error_code": "CF-ServerError",
                                      "description": str(exc)}
            binary = isinstance(reply, bytes)      # a buildpack's zip
            data = reply if binary else json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/zip" if binary else "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="stackato"')
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve
    return Handler


class Server(ThreadingHTTPServer):
    """TLS when given a context; the handshake happens in the request thread, so a client that
    connects and says nothing cannot block the accept loop."""
    allow_reuse_address = True
    daemon_threads = True
    context: ssl.SSLContext | None = None

    def server_bind(self):
        # HTTPServer.server_bind also resolves the host's FQDN, which nothing here uses
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        if self.context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


def make_server(host: str, port: int, cert: str | None = None, key: str | None = None,
                listen_fd: int | None = None) -> Server:
    node = nodeconf.load_node()
    cluster = nodeconf.load_cluster()
    username, password = nodeconf.api_credentials(cluster)
    client = StateClient(node["primary_ip"], ports.of(node, "state_port"), timeout=10.0,
                         caller=nodeconf.my_ip())
    api = Api(client, cluster.get("cluster", "stackato"), username, password)
    handler = make_handler(api, "https" if cert else "http")
    if listen_fd is None:
        server = Server((host, port), handler)
    else:
        server = Server((host, port), handler, bind_and_activate=False)
        server.socket.close()
        server.socket = socket.socket(fileno=listen_fd)
        server.server_address = server.socket.getsockname()
        server.server_name, server.server_port = server.server_address[:2]
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.context = ctx
    return server


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m stackato_sim.ccapi")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve")
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)
    sp.add_argument("--cert", help="PEM certificate chain (without it: plain HTTP)")
    sp.add_argument("--key", help="PEM private key of --cert")
    sp.add_argument("--listen-fd", type=int, help="serve on this inherited listening socket")
    args = ap.parse_args(argv)
    node = nodeconf.load_node()
    server = make_server(args.host or node["primary_ip"], args.port or ports.of(node, "api_port"),
                         args.cert, args.key, args.listen_fd)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"cloud controller API listening on {server.server_address[0]}:"
          f"{server.server_address[1]} ({'https' if args.cert else 'http'})",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=POLL_INTERVAL_S)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
