# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulator's ports, in one place: kato, Sentinel, provision and the harness take them here.

Every node listens on its own loopback address, so the same port serves on every node. A
node.json may name other ports (the unit tests on the host pick free ones); `NODE_DEFAULTS`
are the node.json keys and what a missing key means.
"""

from __future__ import annotations

SSH = 2222              # sshd on every node
STATE = 7474            # the cluster state server on the primary (stands in for config_redis)
SENTINEL = 9292         # sentinel-d on every node (serves its download cache)
API = 8443              # the Cloud Controller v2 API subset on the primary (HTTPS)
ROUTER = 8080           # the router's reverse proxy on every router node (traffic topologies)
APP_BASE = 61000        # an app instance serves on APP_BASE + its instance number (mod APP_RANGE)
APP_RANGE = 4000        # on its DEA's address
LOAD_BALANCER = 8080    # HAProxy in front of the routers, on 127.42.<C>.230 (the harness's)
UPSTREAM_HTTP = 80      # the upstream content server
UPSTREAM_HTTPS = 443

NODE_DEFAULTS = {"ssh_port": SSH, "state_port": STATE, "sentinel_port": SENTINEL,
                 "api_port": API}


def upstream_defaults() -> dict:
    """node.json `upstream` when the topology says nothing."""
    return {"https_port": UPSTREAM_HTTPS, "http_port": UPSTREAM_HTTP}


def of(conf: dict, key: str) -> int:
    """A node.json port (`ssh_port`, `state_port`, `sentinel_port`, `api_port`) or its default."""
    return int(conf.get(key) or NODE_DEFAULTS[key])
