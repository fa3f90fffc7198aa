"""cluster (small): prefetch, then the rolling upgrade, then a re-run; the journal proves the order."""
import stat

import pytest

import journal


@pytest.fixture(scope="module")
def evts():
    return journal.events()


def test_every_node_at_target():
    hosts = journal.nodes()
    assert len(hosts) == len(journal.node_ips())
    for host in hosts:
        assert journal.kato_version(host) == journal.TARGET, host.backend.host


def test_every_node_upgraded_once_and_restarted(evts):
    upgraded = [e["node"] for e in journal.of(evts, "upgrade_done")]
    assert sorted(upgraded) == sorted(journal.node_ips())
    restarted = [e["node"] for e in journal.of(evts, "kato_restart")]
    assert sorted(restarted) == sorted(journal.node_ips())


def test_one_window_around_every_component_step_and_every_restart(evts):
    sets = journal.maintenance_sets(evts)
    # Exactly one window: on, then off. The idempotence re-run opened none.
    assert [journal.is_on(e) for e in sets] == [True, False]
    on, off = sets[0]["ts"], sets[1]["ts"]
    steps = journal.of(evts, "upgrade_step")
    restarts = journal.of(evts, "kato_restart")
    assert on < min(e["ts"] for e in steps)
    assert max(e["ts"] for e in steps) < off
    assert max(e["ts"] for e in restarts) < off


def test_backup_inside_the_window_before_any_node(evts):
    on = journal.maintenance_sets(evts)[0]["ts"]
    exports = journal.of(evts, "data_export")
    assert len(exports) == 1
    assert on < exports[0]["ts"] < min(e["ts"] for e in journal.of(evts, "upgrade_start"))


def test_the_fetched_backup_is_its_owners_alone():
    """The archive on the controller: its directory 0700 from before the window, its own mode 0600 set once the
    nodes that go first have begun (backup_defer_fetch, the backup role's entry points fetch and restrict)."""
    backups = journal.CLUSTER_DIR / "backups"
    archives = sorted(backups.glob("stackato-*-before-*.tgz"))
    assert archives, f"no archive in {backups}"
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
    assert {a.name: oct(stat.S_IMODE(a.stat().st_mode)) for a in archives} == {a.name: "0o600" for a in archives}


def test_never_two_deas_retired_at_once(evts):
    out = set()
    retired = 0
    for e in evts:
        if e["event"] == "dea_retire_start":
            assert not out, f"{e['dea']} retired while {out} still out"
            out.add(e["dea"])
            retired += 1
        elif e["event"] == "dea_unretired":
            out.discard(e["dea"])
    assert retired == len(journal.node_ips("dea"))
    assert not out


def test_never_two_nodes_of_a_redundant_group_at_once(evts):
    """Upgrades and restarts: never two DEAs, two routers or two controllers at the same time."""
    assert journal.group_overlaps(evts) == []


def test_nodes_in_order(evts):
    """The small cluster in one task, in order (stackato.cluster.upgrade_after): dea1, router2 and data1 at once; dea2
    when dea1 is done, router3 when router2 is, dea3 when dea2 is; the core when every other node is. Each node starts
    its upgrade only after the nodes it follows are done, and does not wait for a node it does not follow."""
    ip = {n["name"]: n["ip"] for n in journal.topology()["nodes"]}
    after = {"dea1": [], "router2": [], "data1": [], "dea2": ["dea1"], "router3": ["router2"], "dea3": ["dea2"],
             "core": ["dea1", "router2", "data1", "dea2", "router3", "dea3"]}
    start, done = {}, {}
    for e in journal.of(evts, "upgrade_start"):
        start.setdefault(e["node"], e["ts"])         # its first step
    for e in journal.of(evts, "upgrade_done"):
        done[e["node"]] = e["ts"]                    # its last
    for node, before in after.items():
        for other in before:
            assert done[ip[other]] < start[ip[node]], (node, "started before", other, "was done")
    # Not in lock step: in waves dea2 and router3 would wait for the whole first wave, data1 included. data1 is
    # the slow node of this scenario (molecule.yml), so both begin while it still upgrades.
    for node in ("dea2", "router3"):
        assert start[ip[node]] < done[ip["data1"]], (node, "waited for data1, which it does not follow")


def test_core_upgraded_last(evts):
    core = journal.core_ip()
    starts = journal.of(evts, "upgrade_start")
    assert starts[-1]["node"] == core
    assert [e["node"] for e in starts].count(core) == 1
    others_done = [e["ts"] for e in journal.of(evts, "upgrade_done") if e["node"] != core]
    assert len(others_done) == len(journal.node_ips()) - 1
    assert max(others_done) < starts[-1]["ts"]


def test_download_before_the_window(evts):
    on = journal.maintenance_sets(evts)[0]["ts"]
    upstream = [e for e in journal.of(evts, "download_done") if e["source"] == "upstream"]
    assert {e["version"] for e in upstream} >= {journal.TARGET}
    assert all(e["ts"] < on for e in upstream), "downloaded from upstream inside the window"


def test_no_app_with_two_instances_ever_down(evts):
    assert journal.of(evts, "instance_down"), "the restarts took no instance down: the check proves nothing"
    assert journal.app_outages(evts) == []
