"""cluster (small): prefetch, then the rolling upgrade; the journal proves the order."""
import journal


def _evts():
    return journal.events()


def test_every_node_at_target():
    for host in journal.nodes():
        assert journal.kato_version(host) == journal.TARGET


def test_maintenance_covers_every_component_step_and_every_restart():
    evts = _evts()
    sets = journal.maintenance_sets(evts)
    # Exactly one window: the idempotence re-run opened none.
    assert [e["value"] for e in sets] == [True, False]
    on, off = sets[0]["ts"], sets[1]["ts"]
    steps = [e for e in evts if e["event"] == "upgrade_step"]
    restarts = [e for e in evts if e["event"] == "kato_restart"]
    assert steps and restarts
    assert on < min(e["ts"] for e in steps)
    assert max(e["ts"] for e in restarts) < off


def test_never_two_deas_retired_at_once():
    out = set()
    for e in _evts():
        if e["event"] == "dea_retire_start":
            assert not out, f"{e['dea']} retired while {out} still out"
            out.add(e["dea"])
        elif e["event"] in ("dea_unretired", "upgrade_done") and e.get("dea", e["node"]) in out:
            out.discard(e.get("dea", e["node"]))


def test_core_upgraded_last():
    evts = _evts()
    core = {e["node"] for e in evts if e["event"] == "config_set"}
    starts = [e for e in evts if e["event"] == "upgrade_start"]
    assert starts[-1]["node"] in core
    core_start = starts[-1]["ts"]
    assert all(e["ts"] < core_start for e in evts if e["event"] == "upgrade_done" and e["node"] not in core)


def test_download_before_the_window():
    evts = _evts()
    on = journal.maintenance_sets(evts)[0]["ts"]
    assert any(e["event"] == "download_done" and e["ts"] < on for e in evts)
