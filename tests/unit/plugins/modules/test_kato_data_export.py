# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.stackato.cluster.plugins.modules import kato_data_export


def writer(path, data):
    def _write():
        with open(path, "wb") as handle:
            handle.write(data)
    return _write


@pytest.mark.parametrize("scope, flag", [("cluster", "--cluster"), ("only-this-node", "--only-this-node")])
def test_export_creates(run_module, kato, tmp_path, scope, flag):
    dest = str(tmp_path / "backup.tgz")
    calls = [{"argv": [kato, "data", "export", flag, dest], "side_effect": writer(dest, b"archive")}]
    result, failed, dummy = run_module(kato_data_export, {"dest": dest, "scope": scope, "kato_path": kato}, calls)
    assert not failed and result["changed"] is True
    assert result["path"] == dest and result["size_bytes"] == 7
    assert result["sha256"] == hashlib.sha256(b"archive").hexdigest()


def test_existing_dest_is_kept(run_module, kato, tmp_path):
    dest = tmp_path / "backup.tgz"
    dest.write_bytes(b"old")
    for check in (False, True):
        result, failed, dummy = run_module(kato_data_export, {"dest": str(dest), "kato_path": kato}, [], check=check)
        assert not failed and result["changed"] is False and result["size_bytes"] == 3


def test_force_exports_again(run_module, kato, tmp_path):
    dest = tmp_path / "backup.tgz"
    dest.write_bytes(b"old")
    calls = [{"argv": [kato, "data", "export", "--cluster", str(dest)], "side_effect": writer(str(dest), b"newer")}]
    result, failed, dummy = run_module(kato_data_export, {"dest": str(dest), "force": True, "kato_path": kato}, calls,
                                       diff=True)
    assert not failed and result["changed"] is True and result["size_bytes"] == 5
    assert result["diff"]["before"]["sha256"] == hashlib.sha256(b"old").hexdigest()


def test_check_mode_predicts_creation(run_module, kato, tmp_path):
    dest = str(tmp_path / "backup.tgz")
    result, failed, dummy = run_module(kato_data_export, {"dest": dest, "kato_path": kato}, [], check=True)
    assert not failed and result["changed"] is True and result["sha256"] is None


@pytest.mark.parametrize("dest, text", [
    ("backup.tar", "must end in .tgz"),
    ("missing/backup.tgz", "does not exist; create it first"),
])
def test_bad_dest(run_module, kato, tmp_path, dest, text):
    result, failed, dummy = run_module(kato_data_export, {"dest": str(tmp_path / dest), "kato_path": kato}, [])
    assert failed and text in result["msg"]


def test_export_failure_and_missing_file(run_module, kato, tmp_path):
    dest = str(tmp_path / "backup.tgz")
    calls = [{"argv": [kato, "data", "export", "--cluster", dest], "rc": 1, "err": "ERROR: disk full\n"}]
    result, failed, dummy = run_module(kato_data_export, {"dest": dest, "kato_path": kato}, calls)
    assert failed and "disk full" in result["msg"] and result["rc"] == 1
    calls = [{"argv": [kato, "data", "export", "--cluster", dest]}]
    result, failed, dummy = run_module(kato_data_export, {"dest": dest, "kato_path": kato}, calls)
    assert failed and "wrote no file" in result["msg"]
