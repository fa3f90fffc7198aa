"""Helpers for the verifiers: the simulated cluster's journal and its nodes."""
from __future__ import annotations

import json
import os
from pathlib import Path

import testinfra

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
CLUSTER = os.environ["STK_CLUSTER"]
CLUSTER_DIR = PROJECT / ".run" / "clusters" / CLUSTER
INVENTORY = CLUSTER_DIR / "inventory"
TARGET = "3.6.2"


def events() -> list[dict]:
    path = CLUSTER_DIR / "journal" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def maintenance_sets(evts: list[dict]) -> list[dict]:
    return [e for e in evts if e["event"] == "config_set" and e.get("key") == "maintenance_mode"]


def nodes() -> list:
    return testinfra.get_hosts(["ansible://stackato"], ansible_inventory=str(INVENTORY))


def kato_version(host) -> str:
    return host.check_output("/home/stackato/bin/kato version").strip()
