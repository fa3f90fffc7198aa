"""This node: its configuration, the cluster topology, who "this node" is, and its ports.

The one place that answers "is this address me?" (`my_ip`, `is_self`), "which port does that
node use?" (`port_of`) and "which kato does this cluster imitate?" (`kato_profile`).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

from . import paths, ports

LOCAL = "127.0.0.1"     # how Sentinel writes the local node in its command lines
SELF_NAMES = (LOCAL, "localhost")

# kato_profile: `ours` prints what the contract marks [ours] (the simulator's own forms);
# `documented` refuses or reshapes every [ours] form and keeps every [doc] behaviour.
PROFILES = ("ours", "documented")
DEFAULT_PROFILE = "ours"

# The Cloud Controller API's admin credential when the topology gives none.
DEFAULT_API_USERNAME = "admin"
DEFAULT_API_PASSWORD = "stackato-admin"


@lru_cache(maxsize=None)
def load_node() -> dict:
    with open(paths.p(paths.NODE_JSON), encoding="utf-8") as f:
        node = json.load(f)
    for key, default in ports.NODE_DEFAULTS.items():
        node.setdefault(key, default)
    node.setdefault("time_scale", 0.0)
    node.setdefault("faults", {})
    node.setdefault("dea_memory_mb", 0)
    node.setdefault("upstream", ports.upstream_defaults())
    node.setdefault("kato_profile", DEFAULT_PROFILE)
    return node


@lru_cache(maxsize=None)
def load_cluster() -> dict:
    with open(paths.p(paths.CLUSTER_JSON), encoding="utf-8") as f:
        return json.load(f)


def is_primary() -> bool:
    return "primary" in load_node()["roles"]


def scaled(seconds: float) -> float:
    """A simulated duration scaled by the topology's time factor."""
    return max(0.0, float(seconds) * float(load_node().get("time_scale", 0.0)))


# ---- this node -------------------------------------------------------------------------

def my_ip() -> str:
    return load_node()["ip"]


def is_self(ip: str | None) -> bool:
    """True for this node's address, its local names, and no address at all (no -n)."""
    return not ip or ip == my_ip() or ip in SELF_NAMES


def peer_root(ip: str) -> str | None:
    """Unit tests on the host: the root directory of the peer node <ip> ($STACKATO_SIM_PEERS),
    whose commands run as local subprocesses instead of over SSH. None on a real node."""
    peers = os.environ.get("STACKATO_SIM_PEERS")
    return json.loads(peers).get(ip) if peers else None


def port_of(ip: str, key: str) -> int:
    """Node <ip>'s port `key` (ports.NODE_DEFAULTS): ours from node.json, another node's from
    its cluster.json entry, else (unit tests) its own node.json, else the same as ours."""
    if is_self(ip):
        return ports.of(load_node(), key)
    try:
        for n in load_cluster().get("nodes", []):
            if n.get("ip") == ip and n.get(key):
                return int(n[key])
    except OSError:
        pass
    root = peer_root(ip)
    if root:
        try:
            with open(root + paths.NODE_JSON, encoding="utf-8") as f:
                return ports.of(json.load(f), key)
        except (OSError, ValueError):
            pass
    return ports.of(load_node(), key)


# ---- the cluster -----------------------------------------------------------------------

def kato_profile() -> str:
    """`ours` or `documented` (node.json `kato_profile`); the only reader of that key."""
    profile = load_node().get("kato_profile") or DEFAULT_PROFILE
    if profile not in PROFILES:
        raise ValueError(f"kato_profile must be one of {', '.join(PROFILES)}, not {profile!r}")
    return profile


def documented() -> bool:
    """True when this cluster's kato prints only the documented forms."""
    return kato_profile() == "documented"


def cluster_domain(cluster: dict | None = None) -> str:
    """The cluster's domain (the API is `api.<domain>`): cluster.json `domain`, else
    `<cluster>.stackato.test` (.test never resolves outside this machine)."""
    cluster = load_cluster() if cluster is None else cluster
    return cluster.get("domain") or f"{cluster.get('cluster', 'stackato')}.stackato.test"


def api_credentials(cluster: dict | None = None) -> tuple[str, str]:
    """(username, password) of the API's admin user: cluster.json `api`, else the defaults."""
    cluster = load_cluster() if cluster is None else cluster
    api = cluster.get("api") or {}
    return (str(api.get("username") or DEFAULT_API_USERNAME),
            str(api.get("password") or DEFAULT_API_PASSWORD))
