"""bad_input: each bad input fails before any change, naming the value and the fix; what needs no
node fails on the controller before any node is contacted. Then good input with temporary
passwordless sudo: the upgrade passes, the drop-in is gone, and the become password appears nowhere."""
import json

import pytest

import journal

PASSWORD = "Xq3-badinput-Vw8"
DROP_IN = "/etc/sudoers.d/stackato-upgrade-temporary"


@pytest.fixture(scope="module")
def saved():
    data = json.loads((journal.CLUSTER_DIR / "bad-input.json").read_text())
    for run in list(data["cases"].values()) + [data["good"], data["window"]]:
        run["stdout"] = journal.re.sub(r"\x1b\[[0-9;]*m", "", run["stdout"])
    return data


# case -> words its failure names (the value and the fix); True: refused on the controller, no node contacted
CASES = [
    ("target_unknown", True, ["stackato_target_version is '3.7.0'", "not a Stackato 3.x release", "Fix: set stackato_target_version"]),
    ("cache_ip", True, ["stackato_cache_ip is 127.42.67.99", "no node of the inventory", "Fix: set it to the address"]),
    ("proxy_no_port", True, ["stackato_http_proxy is 'http://proxy.example.com'", "names no port", "Fix: set it to a URL"]),
    ("proxy_scheme", True, ["stackato_https_proxy is 'ftp://proxy.example.com:21'", "not http or https", "Fix:"]),
    ("negative_disk", True, ["preflight_min_free_disk_gb is -1", "negative", "Fix: set it to a number of GB"]),
    ("text_memory", True, ["preflight_min_free_memory_mb is 'lots'", "not a number", "Fix:"]),
    ("negative_timeout", True, ["node_upgrade_timeout is -5", "negative", "Fix: set it to a whole number of seconds"]),
    ("text_retries", True, ["prefetch_retries is 'abc'", "not a number", "Fix:"]),
    ("no_core", True, ["no [core] group", "Fix: add a [core] group"]),
    ("two_cores", True, ["[core] group holds 2 hosts (micro, router2)", "Fix: keep only"]),
    ("empty_dea", True, ["[dea] group is empty", "Fix: list the nodes"]),
    ("conflict", True, ["micro is in the conflicting groups [core] and [dea]", "Fix: keep micro only in [core]"]),
    ("target_older", False, ["runs 3.4.2, newer than the target 3.4.1", "downgrades are not supported",
                             "Fix: set stackato_target_version to 3.4.2 or later"]),
    ("kato_disagrees", False, ["stackato_node_ip=127.42.67.40, which kato node list on the core does not know",
                               "Fix: correct stackato_node_ip"]),
]


@pytest.mark.parametrize("case, on_controller, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_naming_value_and_fix(saved, case, on_controller, words):
    run = saved["cases"][case]
    assert run["rc"] != 0
    out = " ".join(run["stdout"].split())
    for word in words:
        assert word in out, f"{case}: {word!r} missing from {run['stdout'][-2500:]}"
    if on_controller:
        assert "Bad input, nothing was contacted or changed" in out
        assert "PLAY [Check that the cluster can be upgraded]" not in run["stdout"], f"{case}: a node was contacted"
    else:
        assert "Preflight failed, nothing was changed" in out
    assert "Open the maintenance window" not in run["stdout"]


def test_bad_inputs_changed_nothing(saved):
    before_window = journal.events()[:saved["journal_lines_before_window"]]
    assert journal.of(before_window, *journal.CHANGES) == []


def test_window_that_cannot_open_takes_the_drop_in_back(saved):
    run = saved["window"]
    out = " ".join(run["stdout"].split())
    assert run["rc"] != 0
    assert "Write the temporary sudoers drop-in" in out, out[-3000:]
    assert "The maintenance window did not open" in out and "cannot use the cluster lock" in out, out[-3000:]
    assert "Remove the temporary sudoers drop-in from every node" in out
    assert '"exists": false' in run["drop_in"], run["drop_in"]
    # nothing of the window happened: maintenance mode never set, no node upgraded, no DEA retired
    during = journal.events()[saved["journal_lines_before_window"]:saved["journal_lines_before_good"]]
    assert [e for e in journal.of(during, "config_set") if "maintenance_mode" in str(e.get("key"))] == []
    assert journal.of(during, "upgrade_start", "dea_retire_start", "data_export") == []


def test_good_input_with_temporary_sudo_upgrades(saved):
    assert saved["good"]["rc"] == 0, saved["good"]["stdout"][-3000:]
    assert "Write the temporary sudoers drop-in" in saved["good"]["stdout"]
    assert journal.kato_version(journal.host("micro")) == journal.TARGET


def test_drop_in_removed_afterwards():
    host = journal.host("micro")
    # sudo wants the password again, and the drop-in file is gone
    assert host.run("sudo -n true").rc != 0
    check = host.run(f"printf '%s\\n' '{PASSWORD}' | sudo -S -p '' test -e {DROP_IN}")
    assert check.rc == 1, check.stderr


def test_password_appears_nowhere(saved):
    outputs = [run["stdout"] for run in saved["cases"].values()] + [saved["good"]["stdout"], saved["window"]["stdout"]]
    assert not [o for o in outputs if PASSWORD in o]
    assert PASSWORD not in (journal.CLUSTER_DIR / "journal" / "events.jsonl").read_text()
    # nor in anything the run left on the node for the stackato user (progress, lock, logs)
    host = journal.host("micro")
    assert host.run(f"grep -rl -- '{PASSWORD}' /home/stackato /s/logs").stdout.strip() == ""
