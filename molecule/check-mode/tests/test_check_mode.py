"""check_mode: `ansible-playbook stackato.cluster.upgrade --check` changes nothing on any node (the
simulator's journal holds reads only) and reports the plan: the nodes in upgrade order, the window."""
import pytest

import journal

# Everything the simulator journals when something changes on a node.


@pytest.fixture(scope="module")
def result():
    return journal.saved_run("check-mode.json")


def test_check_mode_run_passes(result):
    assert result["rc"] == 0, result["stdout"][-3000:]


def test_nothing_changed_on_any_node():
    evts = journal.events()
    assert journal.of(evts, *journal.CHANGES) == []
    assert journal.maintenance_sets(evts) == []


@pytest.mark.parametrize("node", ["core", "router2", "router3", "dea1", "dea2", "dea3", "data1"])
def test_every_node_still_at_the_source(node):
    host = journal.host(node)
    assert journal.kato_version(host) == journal.SOURCE
    assert not host.file("/home/stackato/.stackato-cluster/upgrade.lock").exists


def test_plan_reported_in_upgrade_order(result):
    out = result["stdout"]
    assert "CHECK MODE: nothing was changed on any node" in out
    assert "Plan: upgrade 7 node(s) to 3.6.2 in waves inside one maintenance window" in out
    assert "1. turn maintenance mode on" in out
    first = out.index("upgrade wave 1, 3 nodes together: dea1 [DEA, retired first] 3.4.2 -> 3.6.2, "
                      "router2 [router] 3.4.2 -> 3.6.2, data1 [data services] 3.4.2 -> 3.6.2")
    second = out.index("upgrade wave 2, 2 nodes together: dea2 [DEA, retired first] 3.4.2 -> 3.6.2, router3 [router] 3.4.2 -> 3.6.2")
    third = out.index("upgrade wave 3, 1 node: dea3 [DEA, retired first] 3.4.2 -> 3.6.2")
    core = out.index("upgrade the core node last: core [core node] 3.4.2 -> 3.6.2")
    assert first < second < third < core
    assert "turn maintenance mode off: the window closes" in out


def test_window_roles_skipped(result):
    """Nothing after the plan acted: no task of the window ran (each is skipped, or not listed at all)."""
    sections = result["stdout"].split("TASK [")[1:]
    for task in ("Set maintenance mode to enabled", "Export all system and user data", "Retire the DEA",
                 "Restart every role of the node, wait until it is ready, record the step"):
        ran = [s for s in sections if s.split("]", 1)[0].endswith(task) and ("ok: [" in s or "changed: [" in s)]
        assert ran == [], task
