"""This node's configuration and the cluster topology, as written by the harness."""

from __future__ import annotations

import json
from functools import lru_cache

from . import paths


@lru_cache(maxsize=None)
def load_node() -> dict:
    with open(paths.p(paths.NODE_JSON), encoding="utf-8") as f:
        node = json.load(f)
    node.setdefault("ssh_port", 2222)
    node.setdefault("state_port", 7474)
    node.setdefault("sentinel_port", 9292)
    node.setdefault("time_scale", 0.0)
    node.setdefault("faults", {})
    node.setdefault("dea_memory_mb", 0)
    node.setdefault("upstream", {"https_port": 443, "http_port": 80})
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
