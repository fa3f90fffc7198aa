"""Absolute node paths, relocatable under $STACKATO_SIM_ROOT for tests on the host."""

from __future__ import annotations

import os

KATO = "/home/stackato/bin/kato"
SENTINEL_CLI_DIR = "/s/code/sentinel/cli"
SENTINEL = SENTINEL_CLI_DIR + "/bin/sentinel"
SENTINEL_CONFIG = "/s/code/sentinel/daemon/config/config.yml"
DEFAULT_CACHE_DIR = "/s/sentinel-cache"
KATO_LOG = "/s/logs/kato.log"
SENTINEL_LOG = "/s/logs/sentinel-cli.log"
SENTINEL_LOG_COPY = "/var/lib/stackato-sim/sentinel-cli.log"   # survives the /s tmpfs
REDIS_URI = "/s/etc/kato/redis_uri"
NODE_JSON = "/etc/stackato-sim/node.json"
CLUSTER_JSON = "/etc/stackato-sim/cluster.json"
UPSTREAM_CA = "/etc/stackato-sim/upstream-ca.pem"   # the harness CA: upstream and API certificates
API_CERT = "/etc/stackato-sim/api-cert.pem"         # the Core's API certificate (primary only)
API_KEY = "/etc/stackato-sim/api-key.pem"
JOURNAL = "/var/lib/stackato-sim/journal/events.jsonl"
NODE_STATE = "/var/lib/stackato-sim/node-state.json"
CLUSTER_STATE = "/var/lib/stackato-sim/cluster-state.json"
SIM_PACKAGE_DIR = "/opt/stackato-sim"


def root() -> str:
    """The directory that stands for '/' (empty string on a real node)."""
    return os.environ.get("STACKATO_SIM_ROOT", "").rstrip("/")


def p(path: str) -> str:
    """Map an absolute node path to where it lives now."""
    if not path.startswith("/"):
        raise ValueError(f"node paths are absolute: {path!r}")
    return root() + path


def unmap(real: str) -> str:
    """The node path of a real path (inverse of p) for messages and logs."""
    r = root()
    if r and real.startswith(r + "/"):
        return real[len(r):]
    return real
