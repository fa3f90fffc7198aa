"""pytest hooks of the harness tests: leave no cluster running, whatever happened.

Each test module's fixture takes its cluster down; this is the safety net for what a teardown
did not reach. SIGTERM (a CI timeout, `kill`) becomes a KeyboardInterrupt, after which pytest
still runs the fixtures' teardown and these hooks.
"""
from __future__ import annotations

import signal
import sys

import harness_support


def _terminate(signum, frame):  # pylint: disable=unused-argument
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):  # pylint: disable=unused-argument
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)


def pytest_sessionfinish(session, exitstatus):  # pylint: disable=unused-argument
    for name in sorted(harness_support.STARTED):
        try:
            left = harness_support.cluster.cluster_containers(name)
        except harness_support.cluster.HarnessError:
            continue  # no podman: nothing can be running
        if left:
            down = harness_support.run_cli("down", "--name", name)
            print(f"\n[harness] safety net: cluster down --name {name} (rc={down.returncode})",
                  file=sys.stderr)
