"""fault-kato-missing: kato goes missing on dea2 after its stackato-kato step; kato_upgrade replays the
last `Running with command:` line of /s/logs/sentinel-cli.log (the seed's recovery), goes on to the
target and logs the recovery; the run passes, every node at the target; a second run finds nothing
pending."""
import re

import fault_checks
import journal


first = journal.run_fixture("fault-first.json")
second = journal.run_fixture("fault-second.json")
evts = journal.events_fixture()


def test_run_passes_and_logs_the_recovery(first):
    out = first["stdout"]
    assert first["rc"] == 0, out[-3000:]
    assert "RECOVERED on dea2: kato went missing; restored by replaying 'bin/sentinel upgrade" in out, out[-3000:]
    assert "from /s/code/sentinel/cli" in out
    assert "kato recovered after it went missing" in out
    assert "FAILED" not in out


def test_kato_died_at_its_step_and_the_replay_finished_dea2(evts):
    dea2 = fault_checks.node_ip("dea2")
    mine = [e for e in evts if e.get("node") == dea2]
    kato_steps = [i for i, e in enumerate(mine) if e["event"] == "upgrade_step" and e["component"] == "stackato-kato"]
    # the first stackato-kato step started and nothing of that run followed: the process died there
    died = kato_steps[0]
    assert mine[died]["phase"] == "start"
    # the replay on dea2: Sentinel's self-update check, then the upgrade resumed
    assert [e["event"] for e in mine[died + 1:died + 3]] == ["self_update", "upgrade_start"], mine[died + 1:died + 3]
    assert mine[died + 2]["resume"] is True
    assert [e["event"] for e in mine if e["event"] in ("upgrade_start", "upgrade_done", "upgrade_failed")] == \
        ["upgrade_start", "upgrade_start", "upgrade_done"]
    # no other node's upgrade started between the death and the replay
    at = evts.index(mine[died])
    replay = evts.index(mine[died + 2])
    assert [e for e in evts[at:replay] if e["event"] == "upgrade_start"] == []
    assert journal.of(evts, "upgrade_failed") == []


def test_sentinel_log_carries_the_replayed_command():
    host = journal.host("dea2")
    log = host.file("/s/logs/sentinel-cli.log").content_string
    assert log.count("Running with command: bin/sentinel upgrade") >= 2, log[-2000:]


def test_recovery_in_the_run_report():
    reports = fault_checks.reports()
    assert len(reports) == 2, "one report a run: this scenario's two runs"
    dea2 = fault_checks.report_node(reports[0], "dea2")
    assert [r for r in dea2["recoveries"] if r["recovered"]] == [{"step": "upgrade", "attempts": 1, "recovered": True}], dea2


def test_every_node_at_target_summary_ok_lock_released(evts):
    fault_checks.assert_every_node_at_target()
    assert fault_checks.summary()["result"] == "ok"
    fault_checks.assert_lock_released()
    assert [journal.is_on(e) for e in journal.maintenance_sets(evts)] == [True, False]


def test_no_two_deas_retired_and_no_outage(evts):
    fault_checks.assert_cluster_whole(evts)


def test_second_run_finds_nothing_pending(second, evts):
    out = second["stdout"]
    assert second["rc"] == 0, out[-3000:]
    for name in ("core", "dea1", "dea2", "dea3"):
        assert f"{name} already runs {journal.TARGET} and finished every step" in out, name
        assert re.search(rf"^{name} +: ok=\d+ +changed=0 ", out, re.M), name
    assert "The cluster lock is free: taken." not in out     # nothing pending: no lock, no window
    assert len(journal.of(evts, "upgrade_start")) == 5     # four nodes, dea2's replay: none by the second run
