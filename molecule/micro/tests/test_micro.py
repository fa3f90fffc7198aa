"""micro: the single node is upgraded 3.4.2 -> 3.6.2 inside one maintenance window."""
import json

import journal


def test_node_at_target():
    hosts = journal.nodes()
    assert len(hosts) == 1
    assert journal.kato_version(hosts[0]) == journal.TARGET
    assert journal.upgrade_status(hosts[0])["version"] == journal.TARGET


def test_one_window_around_the_upgrade_and_the_restart():
    evts = journal.events()
    sets = journal.maintenance_sets(evts)
    assert [journal.is_on(e) for e in sets] == [True, False]
    steps = journal.of(evts, "upgrade_step")
    restarts = journal.of(evts, "kato_restart")
    assert steps and restarts
    assert sets[0]["ts"] < steps[0]["ts"] and steps[-1]["ts"] < sets[1]["ts"]
    assert restarts[-1]["ts"] < sets[1]["ts"]


def test_upgraded_once_from_the_source_release():
    evts = journal.events()
    starts = journal.of(evts, "upgrade_start")
    assert [(e["from"], e["to"]) for e in starts] == [(journal.SOURCE, journal.TARGET)]
    assert [e["version"] for e in journal.of(evts, "upgrade_done")] == [journal.TARGET]


def test_dea_role_stopped_for_the_upgrade_then_every_process_running():
    """node_upgrade_stop_roles=[dea]: the role is stopped inside the window before kato node upgrade starts, and
    kato_role starts it again and waits (ready.yml): every process of the node runs at the end."""
    evts = journal.events()
    window_on = journal.maintenance_sets(evts)[0]["ts"]
    upgrade_start = journal.of(evts, "upgrade_start")[0]["ts"]
    stopped = [e for e in journal.of(evts, "role_state")
               if e["role"] == "dea" and e["state"] == "STOPPED" and window_on < e["ts"] < upgrade_start]
    assert stopped, "the dea role was not stopped before the upgrade"
    host = journal.nodes()[0]
    procs = json.loads(host.check_output("/home/stackato/bin/kato process list -j"))
    states = next(iter(procs.values()))
    assert states and all(state == "RUNNING" for state in states.values()), states
