"""fault-restart: dea2 does not come back up after its post-upgrade restart, made by the upgrade's own call (every node
upgraded, dea1 restarted before it); the run stops back in service at dea2's restart, with dea3 and the core not
restarted, and says a re-run resumes; the re-run upgrades nothing and restarts dea2, dea3 and the core in order."""
import fault_checks
import journal


first = journal.run_fixture("fault-first.json")
second = journal.run_fixture("fault-second.json")
evts = journal.events_fixture()


def restarts(evts, name):
    ip = fault_checks.node_ip(name)
    return [e["ts"] for e in journal.of(evts, "kato_restart") if e["node"] == ip]


def test_first_run_stops_at_dea2_restart_back_in_service(first):
    fault_checks.assert_stopped_back_in_service(first, "dea2", "restart", "not_ready", "Next: re-run to resume")
    assert "dea2 was upgraded, then its restart failed" in first["stdout"]


def test_the_fault_fired_once_at_dea2_restart_after_every_upgrade(evts):
    ip = fault_checks.node_ip("dea2")
    fatal = [e for e in journal.of(evts, "process_fatal") if e["node"] == ip]
    assert [e["step"] for e in fatal] == ["restart"]
    # every node's upgrade was done before the first restart (the core's last), each node upgraded once
    first_restart = min(e["ts"] for e in journal.of(evts, "kato_restart"))
    done = journal.of(evts, "upgrade_done")
    assert sorted(e["node"] for e in done) == sorted(journal.node_ips())
    assert max(e["ts"] for e in done) < first_restart


def test_first_run_recorded_dea2_restart_failed_and_left_dea3_and_the_core(first):
    summary = fault_checks.summary("upgrade-progress-first.json")
    assert summary["result"] == "failed"
    dea2 = summary["nodes"]["dea2"]
    assert dea2["failed"]["step"] == "restart" and dea2["failed"]["cause"] == "not_ready"
    assert dea2["failed"]["resumable"] is True
    assert "restart" in summary["nodes"]["dea1"]["steps"]
    for name in ("dea2", "dea3", "core"):
        assert "restart" not in summary["nodes"][name]["steps"], name
        assert {"upgrade", "ready", "verify"} <= set(summary["nodes"][name]["steps"]), name
    assert "no further node was started (none); the restarts of core, dea3 were not started." in first["stdout"]


def test_maintenance_mode_off_after_the_failure_and_after_the_rerun(evts, first, second):
    sets = [journal.is_on(e) for e in journal.maintenance_sets(evts)]
    assert sets == [True, False, True, False], sets
    # each window closed after its last restart
    windows = journal.maintenance_sets(evts)
    second_run = [ts for name in ("dea2", "dea3", "core") for ts in restarts(evts, name) if ts > windows[2]["ts"]]
    assert len(second_run) == 3 and max(second_run) < windows[3]["ts"]


def test_rerun_restarts_dea2_dea3_and_the_core_in_order_and_upgrades_nothing(second, evts):
    out = second["stdout"]
    assert second["rc"] == 0, out[-3000:]
    assert "dea2 at step restart" in out
    fault_checks.assert_every_node_at_target()
    for name in (n["name"] for n in journal.topology()["nodes"]):
        ip = fault_checks.node_ip(name)
        assert len([e for e in journal.of(evts, "upgrade_start") if e["node"] == ip]) == 1, name
    assert len(restarts(evts, "dea1")) == 1
    assert len(restarts(evts, "dea2")) == 2
    assert restarts(evts, "dea2")[1] < restarts(evts, "dea3")[0] < restarts(evts, "core")[0]
    assert journal.host("dea2").run("kato process ready -b 5 all").rc == 0
    summary = fault_checks.summary()
    assert summary["result"] == "ok"
    assert all(set(n["steps"]) >= {"upgrade", "ready", "verify", "restart"} for n in summary["nodes"].values())


def test_no_two_deas_retired_and_no_outage(evts):
    fault_checks.assert_cluster_whole(evts)


def test_lock_released(second):
    fault_checks.assert_lock_released()
