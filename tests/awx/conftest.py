# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest hooks of the AWX tests, as tests/harness/conftest.py: leave no cluster running.

A SIGTERM becomes a KeyboardInterrupt (the fixtures' teardown takes the cluster down); at the end
any cluster this session started and left is taken down.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
import harness_support  # noqa: E402  pylint: disable=wrong-import-position


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
            continue
        if left:
            down = harness_support.run_cli("down", "--name", name)
            print(f"\n[awx tests] safety net: cluster down --name {name} (rc={down.returncode})", file=sys.stderr)
