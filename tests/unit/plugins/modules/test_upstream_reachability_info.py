# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Only 127.0.0.1 is ever contacted; names are resolved by a stand-in for socket.getaddrinfo."""

from __future__ import annotations

import base64
import socket
import threading
import time

import pytest

from ansible_collections.stackato.cluster.plugins.modules import upstream_reachability_info as uri


class Server:
    """A listener on 127.0.0.1 that accepts connections; as a proxy, answers CONNECT and records requests."""

    def __init__(self, answer=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.requests = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, dummy = self.sock.accept()
            except OSError:
                return
            with conn:
                if self.answer is None:
                    continue
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data.decode())
                if self.answer:
                    conn.sendall(self.answer)

    def close(self):
        self.sock.close()


@pytest.fixture
def servers():
    started = []

    def start(answer=None):
        server = Server(answer)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def resolver(monkeypatch):
    """Resolve every *.test name and proxy.local to 127.0.0.1; anything else fails to resolve."""
    looked_up = []

    def getaddrinfo(host, port, *args, **kwargs):
        looked_up.append(host)
        if host.endswith(".test") or host in ("proxy.local", "127.0.0.1"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port)))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(uri.socket, "getaddrinfo", getaddrinfo)
    return looked_up


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_direct(run_module, servers, resolver):
    server = servers()
    down = closed_port()
    endpoints = [f"upgrade.stackato.test:{server.port}", f"docker.stackato.test:{down}", "nowhere.invalid:443"]
    result, failed, dummy = run_module(uri, {"endpoints": endpoints, "timeout": 2}, check=True)
    assert not failed and result["changed"] is False
    up, refused, unresolved = result["results"]
    assert up["reachable"] is True and up["via"] == "direct" and up["error"] is None
    assert up["latency_ms"] >= 0 and up["port"] == server.port
    assert refused["reachable"] is False and refused["latency_ms"] is None
    assert f"could not connect to docker.stackato.test:{down}" in refused["error"]
    assert unresolved == {"host": "nowhere.invalid", "port": 443, "reachable": False, "via": "direct",
                          "latency_ms": None, "error": "could not resolve nowhere.invalid: Name or service not known"}
    assert result["unreachable_endpoints"] == endpoints[1:]


def test_proxy_with_credentials(run_module, servers, resolver):
    proxy = servers(b"HTTP/1.1 200 Connection established\r\n\r\n")
    url = f"http://user%40corp:s3cr%3At@proxy.local:{proxy.port}"
    result, failed, dummy = run_module(uri, {"endpoints": ["github.com:443"], "proxy": url})
    assert not failed
    assert result["results"][0]["reachable"] is True and result["results"][0]["via"] == "proxy"
    assert resolver == ["proxy.local"], "the endpoint is resolved by the proxy, not the node"
    token = base64.b64encode(b"user@corp:s3cr:t").decode()
    assert proxy.requests == [f"CONNECT github.com:443 HTTP/1.1\r\nHost: github.com:443\r\n"
                              f"Proxy-Authorization: Basic {token}\r\n\r\n"]
    assert "s3cr" not in repr(result)


def test_proxy_refuses(run_module, servers, resolver):
    proxy = servers(b"HTTP/1.0 403 Filtered\r\nContent-Length: 0\r\n\r\n")
    url = f"http://user:topsecret@127.0.0.1:{proxy.port}"
    result, failed, dummy = run_module(uri, {"endpoints": ["get.docker.io:80"], "proxy": url})
    assert not failed
    assert result["results"][0]["error"] == "the proxy refused CONNECT get.docker.io:80: 403 Filtered"
    assert result["unreachable_endpoints"] == ["get.docker.io:80"]
    assert "topsecret" not in repr(result) and "Proxy-Authorization" not in proxy.requests[0].split("\r\n")[1]


def test_proxy_without_credentials_and_no_http_answer(run_module, servers, resolver):
    proxy = servers(b"")
    result, failed, dummy = run_module(uri, {"endpoints": ["a.test:443"], "proxy": f"127.0.0.1:{proxy.port}",
                                             "timeout": 2})
    assert not failed
    assert "Proxy-Authorization" not in proxy.requests[0]
    assert result["results"][0]["error"] == "the proxy gave no HTTP answer to CONNECT a.test:443"


def test_proxy_down_names_proxy_without_credentials(run_module, resolver):
    port = closed_port()
    result, failed, dummy = run_module(uri, {"endpoints": ["a.test:443"], "proxy": f"http://u:pw123@127.0.0.1:{port}"})
    assert not failed
    error = result["results"][0]["error"]
    assert error.startswith(f"proxy 127.0.0.1:{port} unreachable") and "pw123" not in error


@pytest.mark.parametrize("endpoints, bad", [
    (["github.com"], "github.com"),
    (["github.com:0", "ok.test:1"], "github.com:0"),
    (["github.com:https"], "github.com:https"),
    ([":443", "::1:443"], ":443, ::1:443"),
    (["host:70000"], "host:70000"),
])
def test_bad_endpoints_listed(run_module, endpoints, bad):
    result, failed, dummy = run_module(uri, {"endpoints": endpoints})
    assert failed and result["msg"].endswith(f"fix these: {bad}")


@pytest.mark.parametrize("text, parsed", [
    ("github.com:443", ("github.com", 443)),
    ("[::1]:8443", ("::1", 8443)),
    (" s3.amazonaws.com:80 ", ("s3.amazonaws.com", 80)),
])
def test_parse_endpoint(text, parsed):
    assert uri.parse_endpoint(text) == parsed


@pytest.mark.parametrize("url", ["https://u:secret@proxy:3128", "socks5://secret@proxy:1080", "http://:secret@:99999"])
def test_bad_proxy_never_echoes_credentials(run_module, url):
    result, failed, dummy = run_module(uri, {"endpoints": ["a.test:1"], "proxy": url})
    assert failed and "secret" not in result["msg"]


def test_endpoints_that_do_not_answer_cost_one_timeout_not_one_each(run_module, resolver):
    """A proxy on 127.0.0.1 that accepts and never answers: every CONNECT times out, at the same time."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []

    def hold():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold, daemon=True).start()
    endpoints = [f"e{i}.test:443" for i in range(6)]
    try:
        started = time.monotonic()
        result, failed, dummy = run_module(uri, {"endpoints": endpoints, "proxy": f"http://127.0.0.1:{listener.getsockname()[1]}",
                                                 "timeout": 0.5})
        elapsed = time.monotonic() - started
    finally:
        listener.close()
        for conn in held:
            conn.close()
    assert not failed
    assert [r["host"] for r in result["results"]] == [f"e{i}.test" for i in range(6)], "the order given"
    assert [r["error"] for r in result["results"]] == ["timed out"] * 6
    assert result["unreachable_endpoints"] == endpoints
    assert elapsed < 6 * 0.5 / 2, f"{elapsed:.2f} s: checked one after the other"
