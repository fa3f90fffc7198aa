#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: node_resources_info
short_description: Report free disk space and memory of a node, cgroup limits included
version_added: 1.0.0
description:
  - Measures the filesystems holding the given paths and the memory available to processes on the node,
    so that a preflight check can compare them with the upgrade's requirements (7 GB free disk on every
    node, 10 GB on the cache node; 1 GB free memory on Core and cache nodes, 512 MB elsewhere).
  - Unlike C(ansible_facts), the memory figure honours a cgroup memory limit (v1 or v2), as in containers.
  - Pure Python; does not need kato. Never changes anything.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.INFO_MODULE
options:
  paths:
    description:
      - Paths whose filesystems to measure. A path that does not exist is measured at its nearest existing parent.
    type: list
    elements: path
    default: [/s]
notes:
  - Free space is what an unprivileged user may use (C(f_bavail)), as C(df) shows it.
  - Memory comes from C(/proc/meminfo) (C(MemAvailable)), capped by C(/sys/fs/cgroup/memory.max) minus
    C(memory.current) (cgroup v2) or C(memory/memory.limit_in_bytes) minus C(memory.usage_in_bytes) (cgroup v1).
seealso:
  - module: stackato.cluster.upstream_reachability_info
"""

EXAMPLES = r"""
- name: Measure the Stackato tree and the cache directory
  stackato.cluster.node_resources_info:
    paths: [/s, /s/sentinel-cache]
  register: stackato_resources

- name: Require 7 GB free under /s
  ansible.builtin.assert:
    that: stackato_resources.filesystems[0].free_bytes >= 7 * 1024 ** 3
    fail_msg: >-
      {{ inventory_hostname }}: {{ stackato_resources.filesystems[0].mount }} has
      {{ (stackato_resources.filesystems[0].free_bytes / 1024 ** 3) | round(1) }} GB free, the upgrade needs 7 GB;
      free some space or grow the disk
"""

RETURN = r"""
filesystems:
  description: One entry per path of O(paths), in the same order.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The path as given.
      type: str
    measured_path:
      description: The path that was measured (the nearest existing parent when O(paths) names a missing one).
      type: str
    mount:
      description: The mount point of the filesystem.
      type: str
    device:
      description: The mounted device, as in C(/proc/self/mounts); V(null) when unknown.
      type: str
    size_bytes:
      description: The size of the filesystem.
      type: int
    free_bytes:
      description: The space available to unprivileged users.
      type: int
  sample: [{"path": "/s", "measured_path": "/s", "mount": "/", "device": "/dev/sda1",
            "size_bytes": 42949672960, "free_bytes": 12884901888}]
memory:
  description: The node's memory.
  returned: success
  type: dict
  contains:
    total_bytes:
      description: C(MemTotal) of C(/proc/meminfo).
      type: int
    available_bytes:
      description: C(MemAvailable), capped by the cgroup limit minus its usage when a limit is set.
      type: int
    cgroup_limit_bytes:
      description: The cgroup memory limit; V(null) when there is none.
      type: int
    cgroup_usage_bytes:
      description: The cgroup's memory usage; V(null) when there is no limit.
      type: int
  sample: {"total_bytes": 8589934592, "available_bytes": 2147483648, "cgroup_limit_bytes": null, "cgroup_usage_bytes": null}
"""

import os

from ansible.module_utils.basic import AnsibleModule

MEMINFO = "/proc/meminfo"
MOUNTS = "/proc/self/mounts"
CGROUP_V2 = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current")
CGROUP_V1 = ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")
# cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages); anything past 2**60 is no limit.
NO_LIMIT_ABOVE = 2 ** 60


def existing_parent(path):
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def mount_point(path):
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def mount_devices(mounts_file=MOUNTS):
    devices = {}
    try:
        with open(mounts_file, encoding="utf-8", errors="replace") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) >= 2:
                    # /proc/mounts escapes spaces as \040; a later mount on the same point wins.
                    devices[fields[1].replace("\\040", " ")] = fields[0].replace("\\040", " ")
    except OSError:
        pass
    return devices


def filesystem(path, devices):
    measured = existing_parent(path)
    stat = os.statvfs(measured)
    mount = mount_point(measured)
    return {
        "path": path,
        "measured_path": measured,
        "mount": mount,
        "device": devices.get(mount),
        "size_bytes": stat.f_blocks * stat.f_frsize,
        "free_bytes": stat.f_bavail * stat.f_frsize,
    }


def read_meminfo(path=MEMINFO):
    values = {}
    with open(path, encoding="utf-8") as meminfo:
        for line in meminfo:
            name, dummy, rest = line.partition(":")
            fields = rest.split()
            if fields and fields[0].isdigit():
                values[name.strip()] = int(fields[0]) * (1024 if fields[1:2] == ["kB"] else 1)
    return values


def read_int(path):
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def cgroup_memory(v2=CGROUP_V2, v1=CGROUP_V1):
    """(limit, usage) in bytes of this process's memory cgroup; (None, None) without a limit."""
    for limit_file, usage_file in (v2, v1):
        if os.path.exists(limit_file):
            limit = read_int(limit_file)  # None for v2's "max"
            if limit is None or limit >= NO_LIMIT_ABOVE:
                return None, None
            return limit, read_int(usage_file) or 0
    return None, None


def memory(meminfo=None, v2=None, v1=None):
    values = read_meminfo(meminfo or MEMINFO)
    total = values.get("MemTotal", 0)
    available = values.get("MemAvailable", values.get("MemFree", 0))
    limit, usage = cgroup_memory(v2 or CGROUP_V2, v1 or CGROUP_V1)
    if limit is not None:
        available = max(min(available, limit - usage), 0)
    return {"total_bytes": total, "available_bytes": available, "cgroup_limit_bytes": limit, "cgroup_usage_bytes": usage}


def main():
    module = AnsibleModule(
        argument_spec={"paths": {"type": "list", "elements": "path", "default": ["/s"]}},
        supports_check_mode=True,
    )
    try:
        devices = mount_devices()
        result = {
            "changed": False,
            "filesystems": [filesystem(path, devices) for path in module.params["paths"]],
            "memory": memory(),
        }
    except OSError as exc:
        module.fail_json(msg=f"could not measure the node's resources: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
