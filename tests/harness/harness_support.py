"""Helpers shared by the harness tests: clusters brought up with cluster.py, SSH to their nodes.

Every cluster a test brings up is removed again by `running_cluster`, and conftest.py removes
any that is left at the end of the session (also after Ctrl-C or SIGTERM).
"""
from __future__ import annotations

import configparser
import contextlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

HARNESS = Path(__file__).resolve().parent
if str(HARNESS) not in sys.path:
    sys.path.insert(0, str(HARNESS))
import cluster  # noqa: E402  (the harness CLI, imported for its helpers)

KATO = "/home/stackato/bin/kato"
# Clusters this session brought up (names), for the end-of-session safety net.
STARTED: set[str] = set()


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """cluster.py <args> with the interpreter running the tests (the project's venv)."""
    return subprocess.run([sys.executable, str(HARNESS / "cluster.py"), *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


@contextlib.contextmanager
def running_cluster(topology: str, name: str, octet: int, *sets: str) -> Iterator[Path]:
    """Bring a cluster up (own name and octet), yield its inventory, always take it down."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run `make setup` (scripts/setup.sh) as root")
    STARTED.add(name)
    overrides = [word for assignment in (f"octet={octet}", *sets) for word in ("--set", assignment)]
    up = run_cli("up", topology, "--name", name, *overrides)
    try:
        assert up.returncode == 0, f"cluster up {topology} --name {name} failed:\n{up.stderr}"
        inventory = Path(up.stdout.strip().splitlines()[-1])
        assert inventory.is_file(), f"last line of `up` is not the inventory: {up.stdout!r}"
        yield inventory
    finally:
        down = run_cli("down", "--name", name)
        if down.returncode != 0:
            print(f"cluster down --name {name} failed: {down.stderr}", file=sys.stderr)
    assert down.returncode == 0, down.stderr


def hosts(inventory: Path) -> dict[str, dict[str, str]]:
    """host name -> host vars, from the generated hosts.ini."""
    parser = configparser.ConfigParser(allow_no_value=True, delimiters=(" ",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(inventory)
    found = {}
    for section in parser.sections():
        if section.endswith(":children"):
            continue
        for host, rest in parser.items(section):
            found[host] = dict(kv.split("=", 1) for kv in (rest or "").split())
    return found


def ssh(hostvars: dict[str, str], command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a shell command on a node as its inventory user, over real SSH."""
    return subprocess.run(
        ["ssh", "-i", hostvars["ansible_ssh_private_key_file"], "-p", hostvars["ansible_port"],
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
         f"{hostvars['ansible_user']}@{hostvars['ansible_host']}", command],
        capture_output=True, text=True, timeout=timeout, check=False)


def journal(name: str) -> list[dict]:
    """The cluster's event journal (docs/dev/simulator.md §5), read on the controller."""
    path = cluster.cluster_dir(name) / "journal" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
