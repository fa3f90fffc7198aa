# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The progress record's and the cluster lock's rules, table by table."""

from __future__ import annotations

import pytest

from ansible_collections.stackato.cluster.plugins.module_utils import _progress as p

T = "3.6.2"
REC = {"format": 1, "target": T, "steps": {"retire": {"at": "t1"}, "upgrade": {"at": "t2"}}, "failed": None}


@pytest.mark.parametrize("raw, steps, failed", [
    (None, {}, None),
    ("garbage", {}, None),
    ({}, {}, None),
    ({"target": "3.6.0", "steps": {"retire": {}}}, {}, None),            # another target: start again
    ({"target": T, "steps": []}, {}, None),
    ({"target": T, "steps": {"retire": {"at": 1}, "bogus": {}}}, {"retire": {"at": 1}}, None),
    ({"target": T, "steps": {"ready": "x"}, "failed": {"step": "verify"}}, {"ready": {}}, {"step": "verify"}),
    ({"target": T, "steps": {}, "failed": "x"}, {}, None),
])
def test_normalise(raw, steps, failed):
    assert p.normalise(raw, T) == {"format": 1, "target": T, "steps": steps, "failed": failed}


@pytest.mark.parametrize("steps, order, expected", [
    ({}, ["retire", "upgrade", "ready", "verify"], "retire"),
    ({}, ["upgrade", "ready", "verify"], "upgrade"),
    ({"retire": {}, "upgrade": {}}, ["retire", "upgrade", "ready", "verify"], "ready"),
    ({"upgrade": {}, "ready": {}, "verify": {}}, ["upgrade", "ready", "verify"], None),
    ({"upgrade": {}, "ready": {}, "verify": {}}, ["upgrade", "ready", "verify", "restart"], "restart"),
])
def test_next_step(steps, order, expected):
    assert p.next_step(dict(REC, steps=steps), order) == expected


def test_mark_done_keeps_first_time_and_clears_the_failure_of_that_step():
    failed = p.mark_failed(REC, "ready", "t3", "timeout", True, "x" * 600)
    assert failed["failed"] == {"step": "ready", "cause": "timeout", "resumable": True, "msg": "x" * 500, "at": "t3"}
    done = p.mark_done(failed, "ready", "t4", {"n": 1})
    assert done["steps"]["ready"] == {"n": 1, "at": "t4"} and done["failed"] is None
    assert p.mark_done(done, "ready", "t5")["steps"]["ready"]["at"] == "t4"
    assert p.mark_done(failed, "verify", "t5")["failed"]["step"] == "ready"   # another step's failure stays
    assert p.done_steps(done) == ["retire", "upgrade", "ready"]
    assert REC["steps"] == {"retire": {"at": "t1"}, "upgrade": {"at": "t2"}}   # not modified in place
    with pytest.raises(ValueError):
        p.mark_done(REC, "bogus", "t")


@pytest.mark.parametrize("old, new, same", [
    (None, None, True),
    (None, {"step": "ready"}, False),
    ({"step": "ready", "cause": "c", "resumable": True, "msg": "m", "at": 1},
     {"step": "ready", "cause": "c", "resumable": True, "msg": "m", "at": 2}, True),
    ({"step": "ready", "cause": "c", "resumable": True, "msg": "m"},
     {"step": "ready", "cause": "c", "resumable": False, "msg": "m"}, False),
])
def test_same_failure(old, new, same):
    assert p.same_failure(old, new) is same


ME = {"controller": "ops1", "user": "ops", "pid": 200, "started": "s2"}
OLD = {"controller": "ops1", "user": "ops", "pid": 100, "started": "s1"}
FOREIGN = {"controller": "ops2", "user": "ann", "pid": 100, "started": "s0"}


@pytest.mark.parametrize("current, live, brk, action, words", [
    (None, [], False, "take", ["free"]),
    (dict(ME, started="other"), [200], False, "keep", ["holds"]),
    (OLD, [200], False, "take_over", ["Took over", "ops@ops1", "pid 100", "since s1", "no longer runs"]),
    (OLD, [100, 200], False, "refuse", ["ops@ops1", "still running on this controller"]),
    (OLD, [100, 200], True, "refuse", ["still running"]),                  # break_lock is for other controllers
    (FOREIGN, [], False, "refuse", ["ann@ops2", "pid 100", "since s0", "stackato_lock_break=true"]),
    (FOREIGN, [], True, "break", ["Broke", "ann@ops2"]),
    ("not json", [], False, "refuse", ["unknown holder"]),
    ("not json", [], True, "break", ["unknown holder"]),
    ({"pid": "100"}, [], False, "refuse", ["?@?"]),
])
def test_lock_decision(current, live, brk, action, words):
    got, message = p.lock_decision(current, ME, live, brk)
    assert got == action
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("before, changed, done", [
    (None, True, ["upgrade"]),                                               # no record yet
    ({"format": 1, "target": "3.6.2", "steps": {"retire": {"at": "x"}}, "failed": None}, True, ["retire", "upgrade"]),
    ({"format": 1, "target": "3.6.2", "steps": {"upgrade": {"at": "x"}}, "failed": None}, False, ["upgrade"]),
    ({"format": 1, "target": "3.4.2", "steps": {"upgrade": {"at": "x"}}, "failed": None}, True, ["upgrade"]),  # another target
    ("not json", True, ["upgrade"]),
])
def test_record_done(tmp_path, before, changed, done):
    import json
    path = tmp_path / "sub" / "progress.json"
    if before is not None:
        path.parent.mkdir()
        path.write_text(before if isinstance(before, str) else json.dumps(before))
    result = p.record_option({"path": str(path), "target": "3.6.2", "step": "upgrade"})
    assert result == {"path": str(path), "step": "upgrade", "also": [], "changed": changed, "done": done}
    saved = json.loads(path.read_text())
    assert saved["target"] == "3.6.2" and p.done_steps(saved) == done
    if changed:   # written atomically, readable by the stackato user only
        assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("before, also, changed, done", [
    # upgrade, then ready and verify in the same write
    (None, ["ready", "verify"], True, ["upgrade", "ready", "verify"]),
    # a retired DEA: its retire entry and data kept
    ({"retire": {"at": "x", "instances": [1]}}, ["ready"], True, ["retire", "upgrade", "ready"]),
    # everything there already: no change, no write
    ({"upgrade": {"at": "x"}, "ready": {"at": "y"}}, ["ready"], False, ["upgrade", "ready"]),
    # upgrade there, ready not: the further step alone changes the record
    ({"upgrade": {"at": "x"}}, ["ready"], True, ["upgrade", "ready"]),
])
def test_record_done_also(tmp_path, before, also, changed, done):
    import json
    path = tmp_path / "progress.json"
    if before is not None:
        path.write_text(json.dumps({"format": 1, "target": "3.6.2", "steps": before, "failed": None}))
    option = {"path": str(path), "target": "3.6.2", "step": "upgrade", "also": also}
    result = p.record_option(option)
    assert result == {"path": str(path), "step": "upgrade", "also": also, "changed": changed, "done": done}
    saved = json.loads(path.read_text())
    assert p.done_steps(saved) == done
    assert saved["steps"].get("retire", {}).get("instances", [1]) == [1]   # earlier data untouched
    # the module may narrow the further steps (kato_upgrade when its wait failed): only the step itself
    path.unlink()
    assert p.record_option(option, also=[])["done"] == ["upgrade"]


def test_record_done_also_clears_a_failure_at_a_further_step(tmp_path):
    import json
    path = tmp_path / "progress.json"
    path.write_text(json.dumps({"format": 1, "target": "3.6.2", "steps": {"upgrade": {"at": "x"}},
                                "failed": {"step": "ready", "cause": "not_ready", "resumable": True, "msg": "", "at": "x"}}))
    result = p.record_option({"path": str(path), "target": "3.6.2", "step": "upgrade", "also": ["ready"]})
    assert result["changed"] and json.loads(path.read_text())["failed"] is None


def test_record_done_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "progress.json"
    changed, record = p.record_done(str(path), "3.6.2", "ready", check_mode=True)
    assert changed and p.done_steps(record) == ["ready"] and not path.exists()
    assert p.record_option(None) is None and p.record_option({}) is None
