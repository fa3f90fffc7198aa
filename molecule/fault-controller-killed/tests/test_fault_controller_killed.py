"""fault-controller-killed: the controller's ansible-playbook is SIGKILLed while dea2's upgrade runs;
the re-run from the same controller takes over the stale lock, waits for the kato run left going on dea2,
resumes after what it finished, repeats no finished step and finishes with every node at the target and maintenance mode off."""
import json
import re
import time
from collections import Counter

import pytest

import fault_checks
import journal


first = journal.run_fixture("killed-first.json")
second = journal.run_fixture("killed-second.json")
evts = journal.events_fixture()


@pytest.fixture(scope="module")
def summary():
    return json.loads((journal.CLUSTER_DIR / "upgrade-progress.json").read_text())


def ip_of(name):
    return next(n["ip"] for n in journal.topology()["nodes"] if n["name"] == name)


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def test_first_run_killed_inside_the_window_during_dea2s_upgrade(first, evts):
    assert first["rc"] == -9, first["stdout"][-2000:]
    assert first["event"]["node"] == ip_of("dea2") and first["event"]["event"] == "upgrade_step"
    assert first["event"]["step"] == "3.6.0/stackato-kato"
    assert "PLAY RECAP" not in first["stdout"], "the run was not killed: it ended"
    on = journal.maintenance_sets(evts)[0]
    assert journal.is_on(on) and on["ts"] < first["event"]["ts"]
    # dea1 was finished before the kill; dea2 had been retired by the playbook and its kato was running
    dea1_done = [e for e in journal.of(evts, "upgrade_done") if e["node"] == ip_of("dea1")]
    assert dea1_done and dea1_done[0]["ts"] < first["ended"]
    assert [e for e in journal.of(evts, "dea_retired") if e["dea"] == ip_of("dea2")][0]["ts"] < first["ended"]


def test_rerun_takes_over_the_stale_lock_and_says_so(first, second):
    out = second["stdout"]
    assert second["rc"] == 0, out[-3000:]
    assert "Took over the cluster lock of " in out, out[-3000:]
    line = next(x for x in out.splitlines() if "Took over the cluster lock of" in x)
    assert f"(ansible-playbook pid {first['pid']}, since " in line, line
    assert "that run no longer runs on this controller (killed or lost)" in line


def test_rerun_resumes_after_what_the_orphaned_run_finished(second):
    """The re-run read the nodes after the kato run left going on dea2 had ended: that run (one kato_upgrade call)
    retired, upgraded, waited for and checked dea2, so only the restarts are left."""
    out = second["stdout"]
    assert "resuming: dea1 at step restart; dea2 at step restart" in out, out[-3000:]


def test_rerun_waited_for_the_kato_run_left_going_on_dea2(second, evts):
    """The kill ended the controller's run, not dea2's kato: the re-run's preflight waited for it (kato_upgrade's run
    lock on the node) before it read dea2, whose kato the stackato-kato step was replacing, and no second kato node
    upgrade started beside it."""
    assert re.search(r"waited [0-9.]+ s for another upgrade run on this node \(an earlier run whose controller was "
                     r"lost\) to end; the node was read after it", second["stdout"]), \
        "the kato run on dea2 ended before the re-run's preflight got there: the scenario did not test the wait"
    assert "kato cannot be read" not in second["stdout"]
    dea2 = ip_of("dea2")
    assert len([e for e in journal.of(evts, "upgrade_start") if e["node"] == dea2]) == 1


def test_no_finished_step_repeated(first, evts, summary):
    # No node is upgraded, and no DEA retired, twice; a component step that ended is never started again.
    assert Counter(e["node"] for e in journal.of(evts, "upgrade_done")) == Counter(journal.node_ips())
    assert Counter(e["dea"] for e in journal.of(evts, "dea_retired")) == Counter(journal.node_ips("dea"))
    ended = set()
    for e in journal.of(evts, "upgrade_step"):
        key = (e["node"], e["step"])
        assert not (e["phase"] == "start" and key in ended), f"{key} started again after it had finished"
        if e["phase"] == "end":
            ended.add(key)
    # The progress records keep the first run's times of the steps it finished (dea1, dea2's retire).
    killed = iso(first["ended"])
    dea1 = summary["nodes"]["dea1"]["steps"]
    assert all(dea1[s]["at"] <= killed for s in ("retire", "upgrade", "ready", "verify")), dea1
    assert summary["nodes"]["dea2"]["steps"]["retire"]["at"] <= killed
    assert summary["nodes"]["dea2"]["steps"]["ready"]["at"] > killed


def test_every_node_at_target_and_maintenance_mode_off(evts, summary):
    fault_checks.assert_every_node_at_target()
    # One window: on by the first run, kept on by the re-run, off at its end.
    assert [journal.is_on(e) for e in journal.maintenance_sets(evts)] == [True, False]
    assert summary["result"] == "ok"
    assert all(set(n["steps"]) >= {"upgrade", "ready", "verify", "restart"} for n in summary["nodes"].values())


def test_no_two_deas_retired_and_no_outage(evts):
    fault_checks.assert_cluster_whole(evts)
    assert journal.of(evts, "instance_stopped"), "no instance moved: the check proves nothing"


def test_lock_released():
    host = journal.host(journal.core_name())
    assert not host.file("/home/stackato/.stackato-cluster/upgrade.lock").exists
