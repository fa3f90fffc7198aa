"""prefetch: the tag run fills the cache, changes no version, never turns maintenance on."""
import journal


def test_no_version_changed():
    hosts = journal.nodes()
    assert len(hosts) == len(journal.node_ips())
    for host in hosts:
        assert journal.kato_version(host) == journal.SOURCE, host.backend.host


def test_cache_filled_on_the_cache_node():
    evts = journal.events()
    core = journal.core_ip()
    done = [e for e in journal.of(evts, "download_done") if e["node"] == core and e["source"] == "upstream"]
    assert journal.TARGET in {e["version"] for e in done}
    status = journal.upgrade_status(journal.host(journal.core_name()))
    assert status["cached"] is True
    assert status["version"] == journal.SOURCE


def test_maintenance_never_on_and_nothing_upgraded():
    evts = journal.events()
    assert journal.maintenance_sets(evts) == []
    assert journal.of(evts, "upgrade_start", "upgrade_step", "dea_retire_start", "kato_restart", "data_export") == []
