"""micro: the single node is upgraded 3.4.2 -> 3.6.2 inside one maintenance window."""
import journal


def test_node_at_target():
    for host in journal.nodes():
        assert journal.kato_version(host) == journal.TARGET


def test_one_window_closed_after_the_upgrade():
    evts = journal.events()
    sets = journal.maintenance_sets(evts)
    assert [e["value"] for e in sets] == [True, False]
    steps = [e for e in evts if e["event"] == "upgrade_step"]
    assert steps and sets[0]["ts"] < steps[0]["ts"] and steps[-1]["ts"] < sets[1]["ts"]
