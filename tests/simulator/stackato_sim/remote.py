# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running a command on another node: the one SSH command builder of the simulator.

kato (`-n <ip>` on another node) and Sentinel (cluster mode, remote status and self-update)
both reach other nodes as the stackato user over SSH, with the cluster's key from
~/.ssh (BatchMode: never a prompt). In unit tests on the host a peer listed in
$STACKATO_SIM_PEERS is run as a local subprocess instead (nodeconf.peer_root).
"""

from __future__ import annotations

import shlex

from . import nodeconf

SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR")


def shell_words(words) -> str:
    """A remote shell command line from words, each quoted."""
    return " ".join(shlex.quote(str(w)) for w in words)


def ssh_argv(ip: str, command: str) -> list[str]:
    """argv that runs the shell command line <command> on node <ip> as stackato."""
    return ["ssh", "-p", str(nodeconf.port_of(ip, "ssh_port")), *SSH_OPTIONS,
            f"stackato@{ip}", command]
