"""fault-not-ready: dea2 is upgraded but its dea_ng does not come back up; the one upgrade call fails
not_ready (resumable), the run stops back in service and says a re-run resumes; the re-run starts
dea2's roles, waits for them, counts the apps' instances and finishes, without a second retirement
or upgrade of dea2."""
import fault_checks
import journal


first = journal.run_fixture("fault-first.json")
second = journal.run_fixture("fault-second.json")
evts = journal.events_fixture()


def test_first_run_stops_at_dea2_ready_back_in_service(first):
    fault_checks.assert_stopped_back_in_service(first, "dea2", "ready", "not_ready", "Next: re-run to resume")


def test_the_fault_fired_once_after_the_upgrade_finished(evts):
    ip = fault_checks.node_ip("dea2")
    fatal = [e for e in journal.of(evts, "process_fatal") if e["node"] == ip]
    assert [e["step"] for e in fatal] == [f"{journal.TARGET}/dea_ng"]
    assert len([e for e in journal.of(evts, "upgrade_done") if e["node"] == ip]) == 1


def test_retire_and_upgrade_recorded_not_ready(first):
    summary = fault_checks.summary("upgrade-progress-first.json")
    assert summary["result"] == "failed"
    dea2 = summary["nodes"]["dea2"]
    assert dea2["failed"]["step"] == "ready" and dea2["failed"]["cause"] == "not_ready"
    assert dea2["failed"]["resumable"] is True
    assert list(dea2["steps"]) == ["retire", "upgrade"]
    assert set(summary["nodes"]["dea1"]["steps"]) == {"retire", "upgrade", "ready", "verify"}


def test_maintenance_mode_off_after_the_failure(evts, first):
    sets = [journal.is_on(e) for e in journal.maintenance_sets(evts)]
    assert sets[:2] == [True, False], sets


def test_rerun_resumes_at_dea2_ready_and_finishes(second, evts):
    out = second["stdout"]
    assert second["rc"] == 0, out[-3000:]
    assert "dea2: resuming at step ready (done: retire, upgrade)." in out
    fault_checks.assert_every_node_at_target()
    ip = fault_checks.node_ip("dea2")
    # retired and upgraded once (by the first run): the re-run did neither again
    assert len([e for e in journal.of(evts, "dea_retired") if e["dea"] == ip]) == 1
    assert len([e for e in journal.of(evts, "upgrade_start") if e["node"] == ip]) == 1
    assert journal.host("dea2").run("kato process ready -b 5 all").rc == 0
    summary = fault_checks.summary()
    assert summary["result"] == "ok"
    assert all(set(n["steps"]) >= {"upgrade", "ready", "verify", "restart"} for n in summary["nodes"].values())


def test_no_two_deas_retired_and_no_outage(evts):
    fault_checks.assert_cluster_whole(evts)


def test_lock_released(second):
    fault_checks.assert_lock_released()
