"""fault-network: the network drops mid-download on dea2; kato_upgrade backs off, resumes dea2 with
--resume in the same run and logs the recovery; the run passes, every node at the target; a second
run finds nothing pending."""
import re

import fault_checks
import journal


first = journal.run_fixture("fault-first.json")
second = journal.run_fixture("fault-second.json")
evts = journal.events_fixture()


def test_run_passes_and_logs_the_recovery(first):
    out = first["stdout"]
    assert first["rc"] == 0, out[-3000:]
    assert "RECOVERED on dea2: network error on attempt 1" in out, out[-3000:]
    assert "connection reset by peer" in out
    assert "resumed with --resume after 1 s" in out
    assert "FAILED" not in out


def test_the_drop_hit_dea2_mid_download_and_dea2_resumed_next(evts):
    dea2 = fault_checks.node_ip("dea2")
    steps = [(e["event"], e.get("resume")) for e in fault_checks.node_steps(evts, dea2)]
    assert steps == [("upgrade_start", False), ("download_failed", None), ("upgrade_failed", None),
                     ("upgrade_start", True), ("upgrade_done", None)], steps
    # backoff, then the same node: no other node's upgrade started between dea2's failure and resume
    failed = next(i for i, e in enumerate(evts) if e["event"] == "upgrade_failed" and e["node"] == dea2)
    resumed = next(i for i, e in enumerate(evts) if e["event"] == "upgrade_start" and e["node"] == dea2 and e["resume"])
    assert [e["node"] for e in evts[failed:resumed] if e["event"] == "upgrade_start"] == []
    assert evts[resumed]["ts"] - evts[failed]["ts"] >= 1.0
    # only dea2 failed, once
    assert [e["node"] for e in journal.of(evts, "upgrade_failed")] == [dea2]


def test_recovery_in_the_run_report():
    reports = fault_checks.reports()
    assert len(reports) == 2, "one report a run: this scenario's two runs"
    dea2 = fault_checks.report_node(reports[0], "dea2")
    assert dea2["recoveries"] == [{"step": "upgrade", "attempts": 2, "recovered": False}], dea2


def test_every_node_at_target_summary_ok_lock_released(evts):
    fault_checks.assert_every_node_at_target()
    assert fault_checks.summary()["result"] == "ok"
    fault_checks.assert_lock_released()
    # maintenance mode on once, off once
    assert [journal.is_on(e) for e in journal.maintenance_sets(evts)] == [True, False]


def test_no_two_deas_retired_and_no_outage(evts):
    fault_checks.assert_cluster_whole(evts)
    # dea2 was retired once, and taken back
    dea2 = fault_checks.node_ip("dea2")
    assert len([e for e in journal.of(evts, "dea_retired") if e["dea"] == dea2]) == 1


def test_second_run_finds_nothing_pending(second, evts):
    out = second["stdout"]
    assert second["rc"] == 0, out[-3000:]
    for name in ("core", "dea1", "dea2", "dea3"):
        assert f"{name} already runs {journal.TARGET} and finished every step" in out, name
        assert re.search(rf"^{name} +: ok=\d+ +changed=0 ", out, re.M), name
    assert "The cluster lock is free: taken." not in out     # nothing pending: no lock, no window
    assert len(journal.of(evts, "upgrade_start")) == 5     # four nodes, dea2 twice: none by the second run
