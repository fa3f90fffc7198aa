# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import stat

from ansible_collections.stackato.cluster.plugins.modules import stackato_progress

T = "3.6.2"


def test_query_of_no_record(run_module, tmp_path):
    path = tmp_path / "p" / "progress.json"
    result, failed, dummy = run_module(stackato_progress, {"path": str(path), "target": T,
                                                           "steps": ["upgrade", "ready", "verify"]})
    assert not failed and result["changed"] is False
    assert result["done"] == [] and result["next_step"] == "upgrade" and result["started"] is False
    assert not path.exists()


def test_done_writes_atomically_then_is_idempotent(run_module, tmp_path):
    path = tmp_path / "p" / "progress.json"
    args = {"path": str(path), "target": T, "state": "done", "step": "retire", "data": {"apps": {"web": 2}}}
    result, failed, dummy = run_module(stackato_progress, args, diff=True)
    assert not failed and result["changed"] is True
    on_disk = json.loads(path.read_text())
    assert on_disk["steps"]["retire"]["apps"] == {"web": 2} and on_disk["target"] == T
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert result["diff"]["before"] == "" and '"retire"' in result["diff"]["after"]
    assert result["next_step"] == "upgrade" and result["started"] is True
    again, dummy, dummy2 = run_module(stackato_progress, args)
    assert again["changed"] is False and json.loads(path.read_text()) == on_disk
    assert [p.name for p in path.parent.iterdir()] == ["progress.json"]   # no temporary file left


def test_check_mode_predicts_and_writes_nothing(run_module, tmp_path):
    path = tmp_path / "progress.json"
    result, failed, dummy = run_module(stackato_progress, {"path": str(path), "target": T, "state": "done",
                                                           "step": "upgrade"}, check=True, diff=True)
    assert not failed and result["changed"] is True and result["done"] == ["upgrade"]
    assert not path.exists()


def test_failed_then_done_clears_it(run_module, tmp_path):
    path = tmp_path / "progress.json"
    base = {"path": str(path), "target": T}
    fail = dict(base, state="failed", step="upgrade", cause="component", resumable=False, msg="router2g failed")
    result, dummy, dummy2 = run_module(stackato_progress, fail)
    assert result["changed"] is True and result["failed_step"]["cause"] == "component"
    assert run_module(stackato_progress, fail)[0]["changed"] is False      # the same failure again
    result, dummy, dummy2 = run_module(stackato_progress, dict(base, state="done", step="upgrade"))
    assert result["changed"] is True and result["failed_step"] is None
    assert json.loads(path.read_text())["failed"] is None


def test_record_of_another_target_counts_as_empty(run_module, tmp_path):
    path = tmp_path / "progress.json"
    path.write_text(json.dumps({"format": 1, "target": "3.6.0", "steps": {"upgrade": {"at": "x"}}, "failed": None}))
    result, dummy, dummy2 = run_module(stackato_progress, {"path": str(path), "target": T})
    assert result["done"] == [] and result["changed"] is False
    result, dummy, dummy2 = run_module(stackato_progress, {"path": str(path), "target": T, "state": "done",
                                                           "step": "retire"})
    assert list(json.loads(path.read_text())["steps"]) == ["retire"]


def test_unparsable_file_is_replaced(run_module, tmp_path):
    path = tmp_path / "progress.json"
    path.write_text("{not json")
    result, dummy, dummy2 = run_module(stackato_progress, {"path": str(path), "target": T, "state": "done",
                                                           "step": "upgrade"})
    assert result["changed"] is True and json.loads(path.read_text())["steps"].keys() == {"upgrade"}


def test_absent(run_module, tmp_path):
    path = tmp_path / "progress.json"
    path.write_text("{}")
    assert run_module(stackato_progress, {"path": str(path), "target": T, "state": "absent"}, check=True)[0]["changed"]
    assert path.exists()
    assert run_module(stackato_progress, {"path": str(path), "target": T, "state": "absent"})[0]["changed"]
    assert not path.exists()
    assert run_module(stackato_progress, {"path": str(path), "target": T, "state": "absent"})[0]["changed"] is False


def test_refusals(run_module, tmp_path):
    result, failed, dummy = run_module(stackato_progress, {"path": str(tmp_path / "p"), "target": T, "state": "done"})
    assert failed and "step" in result["msg"]
    result, failed, dummy = run_module(stackato_progress, {"path": str(tmp_path / "p"), "target": T, "steps": ["x"]})
    assert failed and "unknown step(s) x" in result["msg"]
