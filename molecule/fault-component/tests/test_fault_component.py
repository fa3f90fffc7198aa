"""fault-component: a component's upgrade fails on dea2; the run stops safely, back in service,
says to fix the cause first; the re-run resumes at dea2's upgrade step and finishes."""
import re

import fault_checks
import journal

WAVE_TASK = "Upgrade the nodes of this wave together"


first = journal.run_fixture("fault-first.json")
second = journal.run_fixture("fault-second.json")
evts = journal.events_fixture()


def test_first_run_stops_at_dea2_back_in_service(first):
    fault_checks.assert_stopped_back_in_service(first, "dea2", "upgrade", "component", "Next: fix the cause first")
    assert "component fence failed to upgrade" in first["stdout"]
    assert "re-run to resume" not in first["stdout"]


def test_first_run_in_order_starts_no_node_after_the_failure(first):
    """In order (one task for every node): dea3 follows dea2 and the core follows every node, so neither starts
    once dea2 failed; the nodes running then (router3 at most) finish."""
    out = first["stdout"]
    assert WAVE_TASK not in out
    started = re.search(r"no further node was started \(([^)]*)\)", out)
    assert started, out[-3000:]
    assert sorted(started.group(1).split(", ")) == ["core", "dea3"]


def test_rerun_with_three_forks_goes_in_waves(second):
    """Fewer forks than nodes: the nodes cannot all wait in one task, the re-run upgrades in waves."""
    assert WAVE_TASK in second["stdout"]


def test_failure_recorded_on_the_node_and_on_the_controller(first):
    summary = fault_checks.summary("upgrade-progress-first.json")
    assert summary["result"] == "failed"
    dea2 = summary["nodes"]["dea2"]
    assert dea2["failed"]["step"] == "upgrade" and dea2["failed"]["cause"] == "component"
    assert list(dea2["steps"]) == ["retire"]
    assert set(summary["nodes"]["dea1"]["steps"]) == {"retire", "upgrade", "ready", "verify"}


def test_maintenance_mode_off_after_the_failure(evts, first):
    sets = [journal.is_on(e) for e in journal.maintenance_sets(evts)]
    assert sets[:2] == [True, False], sets


def test_rerun_resumes_at_dea2_and_finishes(second, evts):
    out = second["stdout"]
    assert second["rc"] == 0, out[-3000:]
    assert "resuming: dea1 at step restart; dea2 at step upgrade" in out or "dea2 at step upgrade" in out
    assert "dea2: resuming at step upgrade (done: retire)." in out
    # dea2's upgrade had begun: its customizations saved before the first run are kept, not saved again
    assert f"dea2: its upgrade to {journal.TARGET} has begun; the customizations saved before it" in out
    assert "dea1: its upgrade to" not in out
    fault_checks.assert_every_node_at_target()
    # dea2 was retired once (by the first run): the re-run did not retire it again
    assert len([e for e in journal.of(evts, "dea_retired") if e["dea"] == fault_checks.node_ip("dea2")]) == 1
    summary = fault_checks.summary()
    assert summary["result"] == "ok"
    assert all(set(n["steps"]) >= {"upgrade", "ready", "verify", "restart"} for n in summary["nodes"].values())


def test_no_two_deas_retired_and_no_outage(evts):
    fault_checks.assert_cluster_whole(evts)


def test_lock_released(second):
    host = journal.host(journal.core_name())
    assert not host.file("/home/stackato/.stackato-cluster/upgrade.lock").exists
