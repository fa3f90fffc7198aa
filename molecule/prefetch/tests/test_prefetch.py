"""prefetch: the tag run fills the cache, changes no version, never turns maintenance on."""
import journal


def test_no_version_changed():
    for host in journal.nodes():
        assert journal.kato_version(host) == "3.4.2"


def test_cache_filled():
    assert any(e["event"] == "download_done" for e in journal.events())


def test_maintenance_never_on_and_nothing_upgraded():
    evts = journal.events()
    assert not [e for e in journal.maintenance_sets(evts) if e["value"] is True]
    assert not [e for e in evts if e["event"] in ("upgrade_start", "upgrade_step", "dea_retire_start")]
