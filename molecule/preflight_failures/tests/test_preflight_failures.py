"""preflight_failures: every check fails, named with node, figure, threshold and fix; nothing changes."""
import json

import pytest

import journal


@pytest.fixture(scope="module")
def result():
    return json.loads((journal.CLUSTER_DIR / "preflight-failures.json").read_text())


def test_preflight_failed(result):
    assert result["rc"] != 0
    assert "Preflight failed, nothing was changed" in result["stdout"]


@pytest.mark.parametrize("check, words", [
    ("disk", ["dea1", "GB free on /s", "needs 7 GB", "preflight_min_free_disk_gb", "Fix:"]),
    ("memory", ["MB of memory available", "needs 100000000 MB", "preflight_min_free_memory_mb", "Fix:"]),
    ("upstream", ["127.0.0.1:1", "unreachable", "Fix:"]),
    ("access", ["router2", "sudo asks the stackato user for a password", "Fix:"]),
    ("dea_capacity", ["fullest DEA", "MB free together", "Fix: add a DEA node"]),
    ("version", ["3.5.0", "is not a Stackato release", "Fix:"]),
])
def test_failure_named(result, check, words):
    lines = [line for line in result["stdout"].splitlines() if f"FAIL [{check}]" in line]
    assert lines, f"no FAIL [{check}] line"
    for word in words:
        assert any(word in line for line in lines), f"{check}: {word!r} missing from {lines}"


def test_nothing_changed():
    evts = journal.events()
    assert not journal.maintenance_sets(evts)
    assert not [e for e in evts if e["event"] in ("upgrade_start", "download_start", "self_update", "data_export")]
