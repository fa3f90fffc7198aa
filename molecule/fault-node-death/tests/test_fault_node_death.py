"""fault-node-death: dea2 dies mid-upgrade; the first run stops safely (back in service, lock
released, says to re-run once the node is up); after its container restarts, the re-run resumes at
dea2, step upgrade, and finishes."""
import json

import fault_checks
import journal


first = journal.run_fixture("fault-first.json")
second = journal.run_fixture("fault-second.json")
evts = journal.events_fixture()


def last_lines(out: str, count: int = 40) -> str:
    return "\n".join(out.rstrip().splitlines()[-count:])


def test_first_run_stops_at_dea2_back_in_service(first):
    out = first["stdout"]
    fault_checks.assert_stopped_back_in_service(first, "dea2", "upgrade", "interrupted",
                                                "Next: re-run to resume once the node is up")
    assert "went down" in out
    assert "(maintenance_mode_on_failure=disable)" in out
    assert "dea2 stays retired" in out
    # the last lines of the run say it (the play recap and ansible's failure come after them)
    tail = last_lines(out, 60)
    assert "Next: re-run to resume once the node is up" in tail, tail


def test_first_run_released_the_lock():
    listing = (journal.CLUSTER_DIR / "core-lock-dir-first.txt").read_text().split()
    assert "upgrade.lock" not in listing, listing


def test_failure_recorded_on_the_node_and_on_the_controller():
    summary = fault_checks.summary("upgrade-progress-first.json")
    assert summary["result"] == "failed"
    dea2 = summary["nodes"]["dea2"]
    assert dea2["failed"]["step"] == "upgrade" and dea2["failed"]["cause"] == "interrupted", dea2
    assert list(dea2["steps"]) == ["retire"]
    assert set(summary["nodes"]["dea1"]["steps"]) == {"retire", "upgrade", "ready", "verify"}
    record = json.loads((journal.CLUSTER_DIR / "dea2-record-first.json").read_text())
    assert record["failed"]["step"] == "upgrade" and record["failed"]["resumable"] is True, record


def test_dea2_went_down_and_was_restarted(evts):
    dea2 = fault_checks.node_ip("dea2")
    downs = [e for e in evts if e["event"] == "node_down" and (e.get("ip") == dea2 or e.get("node") == dea2)]
    assert downs, "no node_down of dea2 in the journal"
    down = evts.index(downs[0])
    # maintenance mode back off after the death, before the re-run turned it on again
    sets = [(evts.index(e), journal.is_on(e)) for e in journal.maintenance_sets(evts)]
    assert [on for dummy, on in sets] == [True, False, True, False], sets
    assert sets[0][0] < down < sets[1][0]


def test_rerun_resumes_at_dea2_and_finishes(second, evts):
    out = second["stdout"]
    assert second["rc"] == 0, out[-3000:]
    assert "dea2 at step upgrade" in out
    assert "dea2: resuming at step upgrade (done: retire)." in out
    dea2 = fault_checks.node_ip("dea2")
    starts = [e for e in evts if e["event"] == "upgrade_start" and e["node"] == dea2]
    assert [e["resume"] for e in starts] == [False, True], starts
    # dea2 was retired once (by the first run): the re-run did not retire it again
    assert len([e for e in journal.of(evts, "dea_retired") if e["dea"] == dea2]) == 1
    # dea1, finished by the first run, was not upgraded again
    dea1 = fault_checks.node_ip("dea1")
    assert len([e for e in evts if e["event"] == "upgrade_start" and e["node"] == dea1]) == 1
    summary = fault_checks.summary()
    assert summary["result"] == "ok"
    assert all(set(n["steps"]) >= {"upgrade", "ready", "verify", "restart"} for n in summary["nodes"].values())


def test_every_node_at_target_and_lock_released():
    fault_checks.assert_every_node_at_target()
    fault_checks.assert_lock_released()


def test_no_two_deas_retired_and_no_outage(evts):
    fault_checks.assert_cluster_whole(evts)
