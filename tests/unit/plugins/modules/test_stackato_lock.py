# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import stat

import pytest

from ansible_collections.stackato.cluster.plugins.modules import stackato_lock

ME = {"controller": "ops1", "user": "ops", "pid": 200, "started": "2026-12-01T00:20:00Z"}
OLD = {"controller": "ops1", "user": "ops", "pid": 100, "started": "2026-12-01T00:10:00Z"}
FOREIGN = {"controller": "ops2", "user": "ann", "pid": 100, "started": "2026-12-01T00:00:00Z"}


def args(path, **kw):
    return dict({"path": str(path), "holder": ME, "live_pids": [200]}, **kw)


def test_take_keep_release(run_module, tmp_path):
    path = tmp_path / "d" / "upgrade.lock"
    result, failed, dummy = run_module(stackato_lock, args(path), diff=True)
    assert not failed and result["changed"] is True and result["action"] == "take"
    assert json.loads(path.read_text()) == ME and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert result["diff"]["before"] == "" and '"pid": 200' in result["diff"]["after"]
    result, failed, dummy = run_module(stackato_lock, args(path))
    assert not failed and result["changed"] is False and result["action"] == "keep"
    result, failed, dummy = run_module(stackato_lock, args(path, state="absent"))
    assert result["changed"] is True and result["action"] == "release" and not path.exists()
    result, failed, dummy = run_module(stackato_lock, args(path, state="absent"))
    assert result["changed"] is False


def test_check_mode_takes_nothing(run_module, tmp_path):
    path = tmp_path / "upgrade.lock"
    result, failed, dummy = run_module(stackato_lock, args(path), check=True)
    assert not failed and result["changed"] is True and not path.exists()


@pytest.mark.parametrize("held, live_pids, break_lock, refused, action", [
    (OLD, [100, 200], False, True, "refuse"),      # another run of this controller still runs
    (FOREIGN, [200], False, True, "refuse"),       # held from another controller
    (OLD, [200], False, False, "take_over"),       # stale: its run is gone from this controller
    (FOREIGN, [200], True, False, "break"),
    (ME, [200], False, False, "keep"),
])
def test_check_mode_decides_as_taking_would_and_changes_nothing(run_module, tmp_path, held, live_pids,
                                                                break_lock, refused, action):
    """The early check (maintenance_mode tasks_from=lock_check) runs the module in check mode: it must
    fail exactly where taking the lock would, and leave the lock file as it was."""
    path = tmp_path / "upgrade.lock"
    path.write_text(json.dumps(held))
    result, failed, dummy = run_module(stackato_lock, args(path, live_pids=live_pids, break_lock=break_lock),
                                       check=True)
    assert failed is refused and result["action"] == action
    assert json.loads(path.read_text()) == held


def test_refused_while_the_holder_runs_here(run_module, tmp_path):
    path = tmp_path / "upgrade.lock"
    path.write_text(json.dumps(OLD))
    result, failed, dummy = run_module(stackato_lock, args(path, live_pids=[100, 200], break_lock=True))
    assert failed and "ops@ops1 (ansible-playbook pid 100, since 2026-12-01T00:10:00Z)" in result["msg"]
    assert json.loads(path.read_text()) == OLD


def test_stale_holder_of_this_controller_is_taken_over(run_module, tmp_path):
    path = tmp_path / "upgrade.lock"
    path.write_text(json.dumps(OLD))
    result, failed, warnings = run_module(stackato_lock, args(path))
    assert not failed and result["action"] == "take_over" and result["previous"] == OLD
    assert any("Took over the cluster lock of ops@ops1" in w for w in warnings), warnings
    assert json.loads(path.read_text()) == ME


def test_foreign_holder_needs_break_lock(run_module, tmp_path):
    path = tmp_path / "upgrade.lock"
    path.write_text(json.dumps(FOREIGN))
    result, failed, dummy = run_module(stackato_lock, args(path))
    assert failed and "ann@ops2" in result["msg"] and "stackato_lock_break=true" in result["msg"]
    result, failed, warnings = run_module(stackato_lock, args(path, break_lock=True))
    assert not failed and result["action"] == "break" and json.loads(path.read_text()) == ME
    assert any("Broke" in w for w in warnings)


def test_release_leaves_another_holders_lock(run_module, tmp_path):
    path = tmp_path / "upgrade.lock"
    path.write_text(json.dumps(FOREIGN))
    result, failed, warnings = run_module(stackato_lock, args(path, state="absent"))
    assert not failed and result["changed"] is False and path.exists() and warnings


def test_query_and_unreadable(run_module, tmp_path):
    path = tmp_path / "upgrade.lock"
    assert run_module(stackato_lock, {"path": str(path), "state": "query"})[0]["message"] == "The cluster lock is free."
    path.write_text("garbage")
    result, failed, dummy = run_module(stackato_lock, {"path": str(path), "state": "query"})
    assert not failed and result["previous"] == {"unreadable": "garbage"}
    result, failed, dummy = run_module(stackato_lock, args(path))
    assert failed and "unknown holder" in result["msg"]


def test_lost_race_for_a_free_lock(run_module, tmp_path, monkeypatch):
    path = tmp_path / "upgrade.lock"
    real = stackato_lock.read_lock
    calls = []

    def racing(p):
        calls.append(p)
        if len(calls) == 1:
            return None           # free when read...
        return real(p)
    path.write_text(json.dumps(FOREIGN))   # ...but another run created it meanwhile
    monkeypatch.setattr(stackato_lock, "read_lock", racing)
    result, failed, dummy = run_module(stackato_lock, args(path))
    assert failed and "took the cluster lock first" in result["msg"] and "ann@ops2" in result["msg"]
    assert json.loads(path.read_text()) == FOREIGN
