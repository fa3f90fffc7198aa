"""capacity: a fragmented cluster stops in preflight with the placement finding and changes
nothing; after a DEA is added the same run upgrades every node."""

import journal


first = journal.run_fixture("capacity-first.json")
second = journal.run_fixture("capacity-second.json")
evts = journal.events_fixture()


def capacity_lines(result):
    return [line for line in result["stdout"].splitlines() if '"FAIL [dea_capacity]' in line]


def test_first_run_stops_in_preflight_naming_the_instance(first):
    assert first["rc"] != 0
    assert "Preflight failed, nothing was changed" in first["stdout"]
    lines = capacity_lines(first)
    assert lines, first["stdout"][-3000:]
    first_dea = journal.node_ips("dea")[0]
    text = " ".join(lines)
    # the DEA that cannot be retired, the instance that cannot be placed, the largest free slot, the fix
    assert "dea1" in text and first_dea in text
    assert "640 MB" in text
    assert "the largest free slot is" in text
    assert "Fix:" in text


def test_first_run_changed_nothing(evts, first):
    before = [e for e in evts if e["ts"] < first["added_at"]]
    assert journal.maintenance_sets(before) == []
    assert journal.of(before, "upgrade_start", "download_start", "self_update", "data_export", "kato_restart",
                      "dea_retire_start") == []


def test_second_run_upgrades_every_node(second, evts):
    assert second["rc"] == 0, second["stdout"][-3000:]
    hosts = journal.nodes()
    names = sorted(host.backend.get_hostname() for host in hosts)
    assert "dea5" in names and len(hosts) == len(journal.node_ips())    # the added DEA is in the inventory
    for host in hosts:
        assert journal.kato_version(host) == journal.TARGET, host.backend.host
    assert journal.app_outages(evts) == []
