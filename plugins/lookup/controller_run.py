# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: controller_run
short_description: This ansible-playbook run as the cluster lock names it, and the runs alive on this controller
version_added: 1.1.0
description:
  - Returns one dict describing the run on the controller - C(controller) (host name), C(user), C(pid) (the
    ansible-playbook process, not a worker), C(started) (that process's start, UTC) - and C(live_pids), the
    ansible-playbook processes running on this controller now (from C(ps)).
  - M(stackato.cluster.stackato_lock) takes the first four as its O(stackato.cluster.stackato_lock#module:holder) and
    the last as its O(stackato.cluster.stackato_lock#module:live_pids).
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
options: {}
"""

EXAMPLES = r"""
- name: Show this run
  ansible.builtin.debug:
    msg: "{{ lookup('stackato.cluster.controller_run') }}"
"""

RETURN = r"""
_raw:
  description: One dict with C(controller), C(user), C(pid), C(started) and C(live_pids).
  type: list
  elements: dict
"""

import getpass
import multiprocessing
import os
import socket
import subprocess
import time

from ansible.plugins.lookup import LookupBase


def main_pid():
    """The ansible-playbook process: a worker's parent (workers are multiprocessing children), else this one."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid else os.getpid()


def started(pid):
    """When process ``pid`` started (UTC, ISO 8601), from ps's elapsed seconds; now when ps cannot tell."""
    elapsed = 0
    try:
        out = subprocess.run(["ps", "-o", "etimes=", "-p", str(pid)], capture_output=True, text=True, check=False,
                             timeout=30).stdout.strip()
        elapsed = int(out) if out.isdigit() else 0
    except (OSError, subprocess.SubprocessError):
        pass
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - elapsed))


def live_playbook_pids():
    """Pids of the processes whose command line runs ansible-playbook."""
    try:
        out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=False, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    pids = []
    for line in out.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and parts[0].isdigit() and "ansible-playbook" in parts[1]:
            pids.append(int(parts[0]))
    return pids


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        pid = main_pid()
        return [{
            "controller": socket.gethostname(),
            "user": getpass.getuser(),
            "pid": pid,
            "started": started(pid),
            "live_pids": live_playbook_pids(),
        }]
