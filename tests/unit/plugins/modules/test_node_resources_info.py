# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible_collections.stackato.cluster.plugins.modules import node_resources_info as nri

MEMINFO = """\
MemTotal:        8000000 kB
MemFree:          500000 kB
MemAvailable:    3000000 kB
HugePages_Total:       0
"""


@pytest.fixture
def proc(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO)
    v2 = (str(tmp_path / "v2" / "memory.max"), str(tmp_path / "v2" / "memory.current"))
    v1 = (str(tmp_path / "v1" / "memory.limit_in_bytes"), str(tmp_path / "v1" / "memory.usage_in_bytes"))
    return {"meminfo": str(meminfo), "v2": v2, "v1": v1}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


@pytest.mark.parametrize("files, limit, usage, available", [
    ({}, None, None, 3000000 * 1024),
    ({"v2": ("max\n", "123\n")}, None, None, 3000000 * 1024),
    ({"v2": ("2147483648\n", "1073741824\n")}, 2147483648, 1073741824, 1073741824),
    ({"v2": ("8589934592\n", "0\n")}, 8589934592, 0, 3000000 * 1024),
    ({"v1": ("9223372036854771712\n", "5\n")}, None, None, 3000000 * 1024),
    ({"v1": ("1073741824\n", "805306368\n")}, 1073741824, 805306368, 268435456),
    ({"v1": ("1073741824\n", "2073741824\n")}, 1073741824, 2073741824, 0),
], ids=["no_cgroup", "v2_max", "v2_limit", "v2_limit_above_available", "v1_huge", "v1_limit", "v1_over_limit"])
def test_memory(proc, files, limit, usage, available):
    for version, (limit_text, usage_text) in files.items():
        write(proc[version][0], limit_text)
        write(proc[version][1], usage_text)
    assert nri.memory(proc["meminfo"], proc["v2"], proc["v1"]) == {
        "total_bytes": 8000000 * 1024,
        "available_bytes": available,
        "cgroup_limit_bytes": limit,
        "cgroup_usage_bytes": usage,
    }


def test_mount_devices(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\ntmpfs /s tmpfs rw 0 0\n/dev/sdb1 /s ext4 rw 0 0\n"
                      "/dev/sdc1 /mnt/with\\040space ext4 rw 0 0\n")
    assert nri.mount_devices(str(mounts)) == {"/": "/dev/sda1", "/s": "/dev/sdb1", "/mnt/with space": "/dev/sdc1"}
    assert nri.mount_devices(str(tmp_path / "missing")) == {}


def test_module_measures_paths(run_module, tmp_path, proc, monkeypatch):
    monkeypatch.setattr(nri, "MEMINFO", proc["meminfo"])
    monkeypatch.setattr(nri, "CGROUP_V2", proc["v2"])
    monkeypatch.setattr(nri, "CGROUP_V1", proc["v1"])
    write(proc["v2"][0], "1048576\n")
    write(proc["v2"][1], "0\n")
    missing = tmp_path / "not" / "there"
    result, failed, dummy = run_module(nri, {"paths": [str(tmp_path), str(missing)]}, [], check=True)
    assert not failed and result["changed"] is False
    stat = os.statvfs(str(tmp_path))
    first, second = result["filesystems"]
    assert first["path"] == str(tmp_path) and first["measured_path"] == str(tmp_path)
    assert first["size_bytes"] == stat.f_blocks * stat.f_frsize
    assert first["free_bytes"] > 0
    assert os.path.ismount(first["mount"]) and str(tmp_path).startswith(first["mount"])
    assert second["path"] == str(missing) and second["measured_path"] == str(tmp_path)
    assert result["memory"] == {"total_bytes": 8000000 * 1024, "available_bytes": 1048576,
                                "cgroup_limit_bytes": 1048576, "cgroup_usage_bytes": 0}


def test_module_reads_this_machine(run_module):
    result, failed, dummy = run_module(nri, {}, [])
    assert not failed
    assert result["filesystems"][0]["path"] == "/s"
    assert result["memory"]["total_bytes"] > 0 and result["memory"]["available_bytes"] >= 0
