"""gates: node_upgrade alone refuses to upgrade while maintenance mode is off, and changes nothing."""
import journal

node = journal.run_fixture("gates-node.json")
waves = journal.run_fixture("gates-waves.json")


def test_both_entry_points_fail(node, waves):
    assert node["rc"] != 0 and waves["rc"] != 0


def test_main_names_the_node_and_the_fix(node):
    assert "Maintenance mode is off, so dea1 is not upgraded" in node["stdout"]
    assert "node_upgrade_require_maintenance_mode=false" in node["stdout"]


def test_waves_check_every_node_before_the_first_wave(waves):
    for host in ("core", "dea1", "dea2"):
        assert f"Maintenance mode is off, so {host} is not upgraded" in waves["stdout"], host


def test_the_cause_is_the_gates(node, waves):
    """The failure policy's lines name the gates as the cause, not `unknown`."""
    assert "Cause: gates." in node["stdout"]
    assert "Cause: gates." in waves["stdout"]


def test_nothing_changed():
    evts = journal.events()
    assert journal.of(evts, "upgrade_start") == []
    assert journal.of(evts, "dea_retire_start") == []
    assert [e for e in journal.maintenance_sets(evts) if journal.is_on(e)] == []
    for host in journal.nodes():
        assert journal.kato_version(host) == journal.SOURCE
