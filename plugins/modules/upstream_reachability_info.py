#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: upstream_reachability_info
short_description: Check that a node can reach the upgrade's upstream hosts, directly or through a proxy
version_added: 1.0.0
description:
  - For each C(host:port) endpoint, resolves the host and opens a TCP connection, measuring the latency.
  - The endpoints are checked in parallel (up to 16 at once), so endpoints that do not answer cost
    about one O(timeout), not one each.
  - With O(proxy), connects to the proxy instead and asks it for a tunnel with
    C(CONNECT host:port HTTP/1.1) (with C(Proxy-Authorization) when the proxy URL has credentials);
    a 2xx answer counts as reachable. The endpoint's name is then resolved by the proxy, not the node.
  - Pure Python sockets; does not need kato. Never changes anything.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.INFO_MODULE
options:
  endpoints:
    description:
      - The endpoints to check, each V(host:port), such as V(upgrade.stackato.com:443); IPv6 addresses in brackets.
    type: list
    elements: str
    required: true
  proxy:
    description:
      - URL of an HTTP proxy, V(http://[user:password@]host:port), such as the C(https_proxy) kato will use.
      - Its credentials are never returned or logged.
    type: str
  timeout:
    description:
      - Seconds to wait for each name lookup, connection and proxy answer.
    type: float
    default: 5
seealso:
  - module: stackato.cluster.node_resources_info
"""

EXAMPLES = r"""
- name: Check the hosts the upgrade downloads from
  stackato.cluster.upstream_reachability_info:
    endpoints:
      - component-images.stackato.com:443
      - docker.stackato.com:443
      - upgrade.stackato.com:443
    proxy: "{{ stackato_https_proxy | default(omit) }}"
  register: stackato_upstream

- name: Fail with the list of unreachable hosts
  ansible.builtin.assert:
    that: stackato_upstream.unreachable_endpoints | length == 0
    fail_msg: >-
      {{ inventory_hostname }} cannot reach {{ stackato_upstream.unreachable_endpoints | join(', ') }};
      open them in the firewall or set the proxy
"""

RETURN = r"""
results:
  description: One entry per endpoint, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    host:
      description: The endpoint's host.
      type: str
    port:
      description: The endpoint's port.
      type: int
    reachable:
      description: Whether the connection (or the proxy tunnel) was established.
      type: bool
    via:
      description: V(direct) or V(proxy).
      type: str
    latency_ms:
      description: Milliseconds to connect (through the proxy, until its answer); V(null) when unreachable.
      type: float
    error:
      description: Why the endpoint is unreachable; V(null) when reachable.
      type: str
  sample: [{"host": "upgrade.stackato.com", "port": 443, "reachable": true, "via": "direct", "latency_ms": 21.4, "error": null}]
unreachable_endpoints:
  description:
    - The endpoints (V(host:port), as given) that could not be reached.
    - Not named C(unreachable), which Ansible reserves (a module result with a true C(unreachable) marks the host unreachable).
  returned: success
  type: list
  elements: str
  sample: ["docker.stackato.com:443"]
"""

import base64
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote, urlsplit

from ansible.module_utils.basic import AnsibleModule


# Endpoints checked at once: an unreachable endpoint costs the timeout, once for the batch
# instead of once per endpoint.
PARALLEL = 16


class ProxyError(ValueError):
    pass


def parse_endpoint(text):
    """(host, port) from 'host:port' or '[v6]:port'; ValueError when malformed."""
    text = (text or "").strip()
    host, sep, port = text.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(text)
    if (":" in host) != bracketed or any(c in host for c in "[]/@ "):
        raise ValueError(text)
    return host, int(port)


def parse_proxy(url):
    """(host, port, user, password) of an http:// proxy URL. Messages never contain the credentials."""
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        port = parts.port or 80
    except ValueError:
        raise ProxyError("the proxy URL is malformed; use http://[user:password@]host:port") from None
    if parts.scheme != "http" or not parts.hostname:
        raise ProxyError(f"the proxy URL must be http://[user:password@]host:port (scheme {parts.scheme or 'missing'!r} "
                         f"is not supported)")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return parts.hostname, port, user, password


def connect(host, port, timeout):
    """A connected socket, trying each address of host; raises OSError with a readable message."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"could not resolve {host}: {exc.strerror or exc}") from None
    except UnicodeError:
        raise OSError(f"could not resolve {host}: invalid name") from None
    last = None
    for family, socktype, proto, dummy, address in addresses:
        sock = socket.socket(family, socktype, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    reason = "timed out" if isinstance(last, socket.timeout) else (getattr(last, "strerror", None) or str(last))
    raise OSError(f"could not connect to {host}:{port}: {reason}")


def read_head(sock, limit=65536):
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def tunnel(sock, host, port, user, password):
    """Ask the proxy for a CONNECT tunnel; raises OSError unless it answers 2xx."""
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        request += f"Proxy-Authorization: Basic {token}\r\n"
    sock.sendall((request + "\r\n").encode())
    head = read_head(sock)
    status_line = head.split(b"\n", 1)[0].decode("latin-1").strip()
    fields = status_line.split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise OSError(f"the proxy gave no HTTP answer to CONNECT {target}" + (f": {status_line!r}" if status_line else ""))
    if not fields[1].startswith("2"):
        raise OSError(f"the proxy refused CONNECT {target}: {' '.join(fields[1:])}")


def check(host, port, timeout, proxy=None):
    result = {"host": host, "port": port, "reachable": False, "via": "proxy" if proxy else "direct",
              "latency_ms": None, "error": None}
    started = time.monotonic()
    sock = None
    try:
        if proxy:
            proxy_host, proxy_port, user, password = proxy
            try:
                sock = connect(proxy_host, proxy_port, timeout)
            except OSError as exc:
                raise OSError(f"proxy {proxy_host}:{proxy_port} unreachable: {exc}") from None
            tunnel(sock, host, port, user, password)
        else:
            sock = connect(host, port, timeout)
        result["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
        result["reachable"] = True
    except socket.timeout:
        result["error"] = "timed out"
    except OSError as exc:
        result["error"] = str(exc)
    finally:
        if sock is not None:
            sock.close()
    return result


def check_all(endpoints, timeout, proxy=None):
    """``[(text, result)]`` in the order given; the endpoints are checked in parallel."""
    if not endpoints:
        return []
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(endpoints))) as pool:
        checked = list(pool.map(lambda endpoint: check(endpoint[1], endpoint[2], timeout, proxy), endpoints))
    return [(endpoint[0], result) for endpoint, result in zip(endpoints, checked)]


def main():
    module = AnsibleModule(
        argument_spec={
            "endpoints": {"type": "list", "elements": "str", "required": True},
            "proxy": {"type": "str", "no_log": True},
            "timeout": {"type": "float", "default": 5},
        },
        supports_check_mode=True,
    )
    params = module.params
    endpoints, bad = [], []
    for text in params["endpoints"]:
        try:
            endpoints.append((text.strip(),) + parse_endpoint(text))
        except ValueError:
            bad.append(str(text))
    if bad:
        module.fail_json(msg=f"endpoints must be host:port with a port from 1 to 65535 ([address]:port for IPv6); "
                             f"fix these: {', '.join(bad)}")
    if params["timeout"] <= 0:
        module.fail_json(msg=f"timeout={params['timeout']} is invalid: give seconds greater than 0")
    proxy = None
    if params["proxy"]:
        try:
            proxy = parse_proxy(params["proxy"])
        except ProxyError as exc:
            module.fail_json(msg=str(exc))
    results = check_all(endpoints, params["timeout"], proxy)
    module.exit_json(
        changed=False,
        results=[result for dummy, result in results],
        unreachable_endpoints=[text for text, result in results if not result["reachable"]],
    )


if __name__ == "__main__":
    main()
