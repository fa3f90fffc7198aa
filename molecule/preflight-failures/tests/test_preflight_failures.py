"""preflight_failures: each check fails on its chosen node, named with the node, the figure, the
threshold and the fix, in ONE summary, and nothing changes."""
import pytest

import journal


@pytest.fixture(scope="module")
def result():
    return journal.saved_run("preflight-failures.json")


def fail_lines(result, check):
    return [line for line in result["stdout"].splitlines() if f'"FAIL [{check}]' in line]


def test_preflight_failed_once_with_one_summary(result):
    assert result["rc"] != 0
    assert result["stdout"].count("Preflight failed, nothing was changed") >= 1
    assert result["stdout"].count('"Preflight: ') == 1


# check, chosen node, and the words that name the figure, the threshold and the fix
@pytest.mark.parametrize("check, node, words", [
    ("disk", "dea1", [r"GB free on /s", "needs 7.0 GB", "preflight_min_free_disk_gb", "Fix: free space"]),
    ("memory", "dea3", ["MB of memory available", "needs 100000000 MB", "preflight_min_free_memory_mb", "Fix: stop roles"]),
    ("upstream", "dea2", ["1 of 2 upstream endpoints unreachable", ".251:443", "Fix: open them"]),
    ("access", "router2", ["sudo asks the stackato user for a password", "rc 1", "no become password", "Fix: passwordless sudo"]),
    ("access", "router3", ["unreachable", "port 2299", "Fix: make SSH by key work"]),
    ("dea_capacity", "dea", ["cannot place the instance of app", "MB free on one DEA",
                             "the largest free slot is", "Fix: add a DEA with at least"]),
    ("version", "data1", ["runs 3.2.1", "before 3.4.1 is not a supported path", "Fix: upgrade that node"]),
])
def test_failure_names_node_figure_threshold_fix(result, check, node, words):
    lines = [line for line in fail_lines(result, check) if node in line]
    assert lines, f"no FAIL [{check}] line names {node}: {fail_lines(result, check)}"
    for word in words:
        assert any(word in line for line in lines), f"{check}/{node}: {word!r} missing from {lines}"


def test_healthy_nodes_not_blamed(result):
    # The core passes every node check: no FAIL line starts with it.
    assert not [line for line in result["stdout"].splitlines() if '"FAIL [' in line and '] core ' in line]


def test_nothing_changed():
    evts = journal.events()
    assert journal.maintenance_sets(evts) == []
    assert journal.of(evts, "upgrade_start", "download_start", "self_update", "data_export", "kato_restart") == []
