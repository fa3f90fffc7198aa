# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import threading
import time

import pytest

from ansible_collections.stackato.cluster.plugins.module_utils._kato import KatoError
from ansible_collections.stackato.cluster.plugins.modules import kato_upgrade

STATUS = ["node", "upgrade", "--status", "--json"]
UPGRADE = ["node", "upgrade", "--skip-confirmation"]
UPGRADE_362 = ["node", "upgrade", "--version", "3.6.2", "--skip-confirmation"]
RESUME_362 = ["node", "upgrade", "--version", "3.6.2", "--resume", "--skip-confirmation"]
LOG_LINE = "INFO  Sentinel::CLI : Running with command: bin/sentinel upgrade 3.6.2 127.0.0.1 --skip-download\n"


def status(version="3.4.2", available="3.6.2", state="idle", cached=False, warning=False):
    text = json.dumps({"node": "127.42.0.11", "version": version, "available": available,
                       "state": state, "step": None, "cached": cached})
    return ("WARNING: kato is out of date\n" if warning else "") + text + "\n"


CASES = [
    {
        "id": "upgrade_to_latest",
        "args": {},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status(warning=True)},
            {"argv": UPGRADE, "out": "Upgrading...\nNode 127.0.0.1 upgraded to 3.6.2\n"},
            {"argv": ["version"], "out": "3.6.2\n"},
            {"argv": STATUS, "out": status("3.6.2", state="done")},
        ],
        "result": {"changed": True, "version_before": "3.4.2", "version_after": "3.6.2", "attempts": 1,
                   "recovered": False, "recoveries": [], "stdout_lines_tail": ["Upgrading...", "Node 127.0.0.1 upgraded to 3.6.2"]},
    },
    {
        "id": "upgrade_all_options",
        "args": {"version": "3.6.2", "cache_ip": "127.42.0.11", "offline": True, "force": True, "node": "127.42.0.12"},
        "calls": [
            {"argv": ["node", "version", "127.42.0.12"], "out": "3.6.2\n"},
            {"argv": STATUS + ["--node", "127.42.0.12"], "out": status("3.6.2", state="done")},
            {"argv": ["node", "upgrade", "--cache-ip", "127.42.0.11", "--offline", "--force", "--node", "127.42.0.12",
                      "--version", "3.6.2", "--skip-confirmation"]},
            {"argv": ["node", "version", "127.42.0.12"], "out": "3.6.2\n"},
        ],
        "result": {"changed": False, "version_before": "3.6.2", "version_after": "3.6.2", "attempts": 1},
    },
    {
        "id": "already_at_version_is_a_no_op",
        "args": {"version": "3.6.2"},
        "calls": [
            {"argv": ["version"], "out": "3.6.2  \nWARNING: patches available\n"},
            {"argv": STATUS, "out": status("3.6.2", state="done")},
        ],
        "result": {"changed": False, "attempts": 0, "version_after": "3.6.2"},
    },
    {
        "id": "version_compare_is_numeric",
        "args": {"version": "3.10.0"},
        "calls": [
            {"argv": ["version"], "out": "3.6.2\n"},
            {"argv": STATUS, "out": status("3.6.2", "3.10.0")},
            {"argv": ["node", "upgrade", "--version", "3.10.0", "--skip-confirmation"]},
            {"argv": ["version"], "out": "3.10.0\n"},
        ],
        "result": {"changed": True, "attempts": 1, "version_after": "3.10.0"},
    },
    {
        "id": "node_newer_than_version_fails",
        "args": {"version": "3.6.2"},
        "calls": [
            {"argv": ["version"], "out": "3.10.0\n"},
            {"argv": STATUS, "out": status("3.10.0", "3.10.0")},
        ],
        "failed": True,
        "msg_contains": ["the node is at 3.10.0, newer than version=3.6.2", "does not downgrade"],
        "result": {"version_after": "3.10.0"},
    },
    {
        "id": "check_mode_predicts",
        "args": {"version": "3.6.2"},
        "flags": {"check": True, "diff": True},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status()},
        ],
        "result": {"changed": True, "version_before": "3.4.2", "version_after": "3.6.2", "attempts": 0,
                   "diff": {"before": "version: 3.4.2\n", "after": "version: 3.6.2\n"}},
    },
    {
        "id": "check_mode_up_to_date",
        "args": {},
        "flags": {"check": True},
        "calls": [
            {"argv": ["version"], "out": "3.6.2\n"},
            {"argv": STATUS, "out": status("3.6.2", "3.6.2", state="done")},
        ],
        "result": {"changed": False, "version_after": "3.6.2"},
    },
    {
        "id": "interrupted_upgrade_is_resumed",
        "args": {"version": "3.6.2"},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status(state="failed")},
            {"argv": RESUME_362},
            {"argv": ["version"], "out": "3.6.2\n"},
        ],
        "result": {"changed": True, "attempts": 1},
    },
    {
        "id": "interrupted_upgrade_without_resume",
        "args": {"version": "3.6.2", "resume": False},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status(state="failed")},
            {"argv": UPGRADE_362},
            {"argv": ["version"], "out": "3.6.2\n"},
        ],
        "result": {"changed": True, "attempts": 1},
    },
    {
        "id": "network_error_retried_with_resume_and_backoff",
        "args": {"version": "3.6.2", "retries": 3, "retry_delay": 5},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status()},
            {"argv": UPGRADE_362, "rc": 1, "err": "ERROR: download failed: Connection reset by peer\n"},
            {"argv": RESUME_362, "rc": 1, "err": "ERROR: Could not resolve host upgrade.stackato.com\n"},
            {"argv": RESUME_362, "out": "done\n"},
            {"argv": ["version"], "out": "3.6.2\n"},
        ],
        "result": {"changed": True, "attempts": 3, "recoveries": [
            {"cause": "network", "attempt": 1, "delay": 5, "reason": "ERROR: download failed: Connection reset by peer",
             "msg": "network error on attempt 1 (ERROR: download failed: Connection reset by peer); "
                    "resumed with --resume after 5 s"},
            {"cause": "network", "attempt": 2, "delay": 10, "reason": "ERROR: Could not resolve host upgrade.stackato.com",
             "msg": "network error on attempt 2 (ERROR: Could not resolve host upgrade.stackato.com); "
                    "resumed with --resume after 10 s"},
        ]},
        "sleeps": [5, 10],
    },
    {
        "id": "network_error_gives_up_saying_resume",
        "args": {"version": "3.6.2", "retries": 1, "retry_delay": 1},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status()},
            {"argv": UPGRADE_362, "rc": 1, "err": "ERROR: network unreachable\n"},
            {"argv": RESUME_362, "rc": 1, "err": "ERROR: connection timed out\n"},
        ],
        "failed": True,
        "msg_contains": ["network error after 2 attempt(s)", "can be resumed", "resume=true", "http_proxy"],
        "result": {"rc": 1, "stderr": "ERROR: connection timed out\n", "attempts": 2},
        "sleeps": [1],
    },
    {
        "id": "other_error_not_retried",
        "args": {"version": "3.6.2"},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status()},
            {"argv": UPGRADE_362, "rc": 1, "out": "step 4\n", "err": "ERROR: component router2g failed to upgrade\n"},
        ],
        "failed": True,
        "msg_contains": ["component router2g failed to upgrade", "Fix what made the component fail first"],
        "msg_lacks": ["resume"],
        "result": {"rc": 1, "stdout": "step 4\n", "cause": "component", "resumable": False},
        "sleeps": [],
    },
    {
        "id": "error_line_decides_not_earlier_chatter",
        "args": {"version": "3.6.2"},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status()},
            {"argv": UPGRADE_362, "rc": 1, "out": "node 127.42.0.12: network error, retrying\nnode 127.42.0.12 done\n",
             "err": "ERROR: upgrade of node 127.42.0.13 failed (exit 137)\n"},
        ],
        "failed": True,
        "msg_contains": ["failed (rc=1): ERROR: upgrade of node 127.42.0.13 failed (exit 137)",
                         "re-run this task with resume=true"],
        "result": {"cause": "interrupted", "resumable": True},
        "sleeps": [],
    },
    {
        "id": "download_only",
        "args": {"version": "3.6.2", "download_only": True, "cache_ip": "127.42.0.11"},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status()},
            {"argv": ["node", "upgrade", "--download-only", "--cache-ip", "127.42.0.11", "--version", "3.6.2",
                      "--skip-confirmation"]},
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status(state="downloaded", cached=True)},
        ],
        "result": {"changed": True, "version_before": "3.4.2", "version_after": "3.4.2"},
    },
    {
        "id": "download_only_already_cached",
        "args": {"version": "3.6.2", "download_only": True, "cache_ip": "127.42.0.11"},
        "calls": [
            {"argv": ["version"], "out": "3.4.2\n"},
            {"argv": STATUS, "out": status(state="downloaded", cached=True)},
        ],
        "result": {"changed": False, "attempts": 0},
    },
    {
        "id": "download_only_needs_cache_ip",
        "args": {"download_only": True},
        "calls": [],
        "failed": True,
        "msg_contains": ["cache_ip"],
    },
    {
        "id": "bad_version_rejected",
        "args": {"version": "latest"},
        "calls": [],
        "failed": True,
        "msg_contains": ["'latest' is not a Stackato version"],
    },
]


@pytest.fixture
def sleeps(monkeypatch):
    recorded = []
    monkeypatch.setattr(kato_upgrade.time, "sleep", recorded.append)
    return recorded


@pytest.fixture
def sentinel(tmp_path):
    cli = tmp_path / "sentinel" / "cli"
    (cli / "bin").mkdir(parents=True)
    log = tmp_path / "sentinel-cli.log"
    return {"sentinel_log": str(log), "sentinel_cli_dir": str(cli), "kato_code_dirs": [str(tmp_path / "code" / "kato")],
            "sentinel_config": str(tmp_path / "sentinel" / "daemon" / "config.yml"),
            "run_lock": str(tmp_path / "lock" / "kato-upgrade.lock")}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_kato_upgrade(case, check_case, run_module, kato, sentinel, sleeps):
    calls = [dict(call, argv=[kato] + call["argv"]) for call in case["calls"]]
    args = dict(case["args"], kato_path=kato, **sentinel)
    result, failed, warnings = run_module(kato_upgrade, args, calls, **case.get("flags", {}))
    check_case(case, result, failed, warnings)
    for text in case.get("msg_lacks", []):
        assert text not in result["msg"].lower()
    if "sleeps" in case:
        assert sleeps == case["sleeps"]


def test_update_kato_changed_when_kato_files_change(run_module, kato, sentinel, sleeps):
    code = sentinel["kato_code_dirs"][0]
    os.makedirs(code)

    def self_update():
        with open(os.path.join(code, "REVISION"), "w") as handle:
            handle.write("rev 2\n")

    calls = [
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "out": status()},
        {"argv": [kato, "node", "upgrade", "--update-kato", "--skip-confirmation"], "side_effect": self_update},
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "out": status()},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(update_kato=True, kato_path=kato, **sentinel), calls)
    assert not failed and result["changed"] is True

    calls[2] = {"argv": [kato, "node", "upgrade", "--update-kato", "--skip-confirmation"]}
    result, failed, dummy = run_module(kato_upgrade, dict(update_kato=True, kato_path=kato, **sentinel), calls)
    assert not failed and result["changed"] is False


def test_missing_kato_after_failed_run_is_recovered(run_module, kato, sentinel, sleeps):
    with open(sentinel["sentinel_log"], "w") as log:
        log.write("INFO  Sentinel::CLI : Running with command: bin/sentinel upgrade 3.6.0 127.0.0.1\n")
        log.write("WARN  Sentinel::CLI : something\n")
        log.write(LOG_LINE)
        log.write("INFO  Sentinel::CLI : installing stackato-kato\n")
    kato_text = open(kato).read()

    def remove_kato():
        os.unlink(kato)

    def restore_kato():
        with open(kato, "w") as handle:
            handle.write(kato_text)
        os.chmod(kato, 0o755)

    cli = sentinel["sentinel_cli_dir"]
    calls = [
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "out": status()},
        {"argv": [kato] + UPGRADE_362, "rc": 137, "out": "Installing stackato-kato\n", "side_effect": remove_kato},
        {"argv": [os.path.join(cli, "bin/sentinel"), "upgrade", "3.6.2", "127.0.0.1", "--skip-download"],
         "cwd": cli, "out": "Node 127.0.0.1 upgraded to 3.6.2\n", "side_effect": restore_kato},
        {"argv": [kato, "version"], "out": "3.6.2\n"},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert not failed, result
    assert result["recovered"] is True
    assert result["recoveries"] == [{
        "cause": "kato_missing", "command": "bin/sentinel upgrade 3.6.2 127.0.0.1 --skip-download",
        "msg": f"kato went missing; restored by replaying 'bin/sentinel upgrade 3.6.2 127.0.0.1 --skip-download' from {cli}"}]
    assert result["changed"] is True
    assert result["version_after"] == "3.6.2"
    assert result["stdout_lines_tail"] == ["Node 127.0.0.1 upgraded to 3.6.2"]


def test_missing_kato_before_run_is_recovered(run_module, kato, sentinel, sleeps):
    with open(sentinel["sentinel_log"], "w") as log:
        log.write(LOG_LINE)
    os.rename(kato, kato + ".away")
    cli = sentinel["sentinel_cli_dir"]
    calls = [
        {"argv": [os.path.join(cli, "bin/sentinel"), "upgrade", "3.6.2", "127.0.0.1", "--skip-download"],
         "cwd": cli, "side_effect": lambda: os.rename(kato + ".away", kato)},
        {"argv": [kato] + STATUS, "out": status("3.6.2", state="done")},
        {"argv": [kato, "version"], "out": "3.6.2\n"},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(kato_path=kato, **sentinel), calls)
    assert not failed, result
    assert result["recovered"] is True and result["changed"] is True
    assert result["version_before"] is None and result["version_after"] == "3.6.2"


def test_missing_kato_in_check_mode_predicts_recovery(run_module, kato, sentinel, sleeps):
    with open(sentinel["sentinel_log"], "w") as log:
        log.write(LOG_LINE)
    os.unlink(kato)
    result, failed, warnings = run_module(kato_upgrade, dict(kato_path=kato, **sentinel), [], check=True)
    assert not failed and result["changed"] is True and result["recovered"] is False
    assert any("bin/sentinel upgrade 3.6.2" in warning for warning in warnings)


def test_missing_kato_without_log_line_fails_naming_path(run_module, kato, sentinel, sleeps):
    os.unlink(kato)
    result, failed, dummy = run_module(kato_upgrade, dict(kato_path=kato, **sentinel), [])
    assert failed
    assert kato in result["msg"] and "Running with command:" in result["msg"]


def test_replay_refuses_non_sentinel_command(run_module, kato, sentinel, sleeps):
    with open(sentinel["sentinel_log"], "w") as log:
        log.write("INFO  Sentinel::CLI : Running with command: rm -rf /s\n")
    os.unlink(kato)
    result, failed, dummy = run_module(kato_upgrade, dict(kato_path=kato, **sentinel), [])
    assert failed and "not a Sentinel command" in result["msg"]


def test_failed_replay_says_what_to_do(run_module, kato, sentinel, sleeps):
    with open(sentinel["sentinel_log"], "w") as log:
        log.write(LOG_LINE)
    os.unlink(kato)
    cli = sentinel["sentinel_cli_dir"]
    calls = [{"argv": [os.path.join(cli, "bin/sentinel"), "upgrade", "3.6.2", "127.0.0.1", "--skip-download"],
              "cwd": cli, "rc": 1, "err": "ERROR: download failed\n"}]
    result, failed, dummy = run_module(kato_upgrade, dict(kato_path=kato, **sentinel), calls)
    assert failed
    assert "kato is missing" in result["msg"] and "re-run this task" in result["msg"]
    assert result["rc"] == 1 and result["cmd"].endswith("--skip-download")


@pytest.mark.parametrize("text, command", [
    ("", None),
    ("INFO  Sentinel::CLI : Running with command:   \n", None),
    (LOG_LINE, "bin/sentinel upgrade 3.6.2 127.0.0.1 --skip-download"),
    (LOG_LINE + "INFO  Sentinel::CLI : Running with command: bin/sentinel upgrade 3.6.2 127.0.0.1 127.42.0.12 \r\n",
     "bin/sentinel upgrade 3.6.2 127.0.0.1 127.42.0.12"),
])
def test_last_sentinel_command(tmp_path, text, command):
    log = tmp_path / "sentinel-cli.log"
    log.write_text(text)
    assert kato_upgrade.last_sentinel_command(str(log)) == command
    assert kato_upgrade.last_sentinel_command(str(tmp_path / "missing.log")) is None


# ---- observation 6: after the missing-kato replay, go on to the target or fail saying so ----------

def write_log(sentinel, line=LOG_LINE):
    with open(sentinel["sentinel_log"], "w") as log:
        log.write(line)


def kato_remover(kato):
    text = open(kato).read()

    def remove():
        os.unlink(kato)

    def restore():
        with open(kato, "w") as handle:
            handle.write(text)
        os.chmod(kato, 0o755)

    return remove, restore


REPLAY_342 = "INFO  Sentinel::CLI : Running with command: bin/sentinel upgrade 3.4.2 127.0.0.1 --skip-download\n"


def replay(sentinel, version="3.4.2", **kwargs):
    cli = sentinel["sentinel_cli_dir"]
    return dict({"argv": [os.path.join(cli, "bin/sentinel"), "upgrade", version, "127.0.0.1", "--skip-download"],
                 "cwd": cli}, **kwargs)


def test_replay_left_below_target_goes_on_to_the_target(run_module, kato, sentinel, sleeps):
    """Observation 6: the replay restored kato but left 3.4.2; the module upgrades on to 3.6.2."""
    write_log(sentinel, REPLAY_342)
    remove, restore = kato_remover(kato)
    calls = [
        {"argv": [kato, "version"], "out": "3.4.1\n"},
        {"argv": [kato] + STATUS, "out": status("3.4.1")},
        {"argv": [kato] + UPGRADE_362, "rc": 137, "out": "Installing stackato-kato\n", "side_effect": remove},
        replay(sentinel, out="Node 127.0.0.1 upgraded to 3.4.2\n", side_effect=restore),
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "out": status("3.4.2", state="done")},
        {"argv": [kato] + UPGRADE_362, "out": "Node 127.0.0.1 upgraded to 3.6.2\n"},
        {"argv": [kato, "version"], "out": "3.6.2\n"},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert not failed, result
    assert result["recovered"] is True and result["changed"] is True
    assert (result["version_before"], result["version_after"]) == ("3.4.1", "3.6.2")
    assert result["attempts"] == 2


def test_missing_at_start_replay_below_target_goes_on_without_status(run_module, kato, sentinel, sleeps):
    """kato missing at the start, the replay leaves 3.4.2, no usable status: the normal upgrade follows."""
    write_log(sentinel, REPLAY_342)
    os.rename(kato, kato + ".away")
    calls = [
        replay(sentinel, side_effect=lambda: os.rename(kato + ".away", kato)),
        {"argv": [kato] + STATUS, "rc": 1, "err": "ERROR: unknown option --json\n"},
        {"argv": [kato, "version"], "out": "Helion Stackato 3.4.2\n"},
        {"argv": [kato] + UPGRADE_362, "out": "Node 127.0.0.1 upgraded to 3.6.2\n"},
        {"argv": [kato, "version"], "out": "Helion Stackato 3.6.2\n"},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert not failed, result
    assert result["recovered"] is True and result["version_after"] == "3.6.2" and result["status"] == {}


def test_replay_then_upgrade_still_short_fails_saying_so(run_module, kato, sentinel, sleeps):
    """Never a success with version_after != version: the module says it did not get there."""
    write_log(sentinel, REPLAY_342)
    os.rename(kato, kato + ".away")
    calls = [
        replay(sentinel, side_effect=lambda: os.rename(kato + ".away", kato)),
        {"argv": [kato] + STATUS, "out": status("3.4.2", state="failed")},
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + RESUME_362, "out": "Node 127.0.0.1 upgraded to 3.6.0\n"},
        {"argv": [kato, "version"], "out": "3.6.0\n"},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert failed
    assert "did not reach version=3.6.2: the node is at 3.6.0" in result["msg"]
    assert "restored by replaying 'bin/sentinel upgrade 3.4.2 127.0.0.1 --skip-download'" in result["msg"]
    assert result["version_after"] == "3.6.0" and result["version_before"] is None
    assert result["recovered"] is True and result["changed"] is True
    assert result["cause"] == "target_not_reached" and result["resumable"] is False


def test_replay_only_is_not_a_success_below_target(run_module, kato, sentinel, sleeps):
    """The observed case: kato comes back, the node stays at 3.4.2, and the upgrade to 3.6.2 fails."""
    write_log(sentinel, REPLAY_342)
    remove, restore = kato_remover(kato)
    calls = [
        {"argv": [kato, "version"], "out": "3.4.1\n"},
        {"argv": [kato] + STATUS, "out": status("3.4.1")},
        {"argv": [kato] + UPGRADE_362, "rc": 137, "side_effect": remove},
        replay(sentinel, side_effect=restore),
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "out": status("3.4.2", state="done")},
        {"argv": [kato] + UPGRADE_362, "rc": 1,
         "err": "ERROR: version 3.6.2 is not available for upgrade (available: 3.4.2)\n"},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert failed
    assert "not available for upgrade" in result["msg"] and "Choose a version kato offers" in result["msg"]
    assert result["cause"] == "version_unavailable"


def test_kato_missing_again_and_again_is_not_chased_forever(run_module, kato, sentinel, sleeps):
    write_log(sentinel, REPLAY_342)
    remove, restore = kato_remover(kato)
    calls = [{"argv": [kato, "version"], "out": "3.4.1\n"}, {"argv": [kato] + STATUS, "out": status("3.4.1")}]
    for dummy in range(kato_upgrade.MAX_RECOVERIES + 1):
        calls += [
            {"argv": [kato] + UPGRADE_362, "rc": 137, "side_effect": remove},
            replay(sentinel, side_effect=restore),
            {"argv": [kato, "version"], "out": "3.4.2\n"},
        ]
        if dummy < kato_upgrade.MAX_RECOVERIES:
            calls.append({"argv": [kato] + STATUS, "out": status("3.4.2", state="done")})
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert failed and "did not reach version=3.6.2: the node is at 3.4.2" in result["msg"]
    assert result["attempts"] == kato_upgrade.MAX_RECOVERIES + 1


def test_exit_zero_below_target_fails(run_module, kato, sentinel, sleeps):
    calls = [
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "out": status()},
        {"argv": [kato] + UPGRADE_362, "out": "nothing to do\n"},
        {"argv": [kato, "version"], "out": "3.4.2\n"},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert failed and "did not reach version=3.6.2: the node is at 3.4.2" in result["msg"]
    assert result["changed"] is False and "replaying" not in result["msg"]


# ---- observation 7: the [ours] status is only a hint; failure messages by cause -----------------

DOCUMENTED_STATUS = json.dumps({"ip": "127.42.0.11", "current_version": "3.4.2", "latest_version": "3.6.2",
                                "status": "idle", "current_step": None, "download_cached": False}) + "\n"


@pytest.mark.parametrize("status_call", [
    {"rc": 1, "err": "ERROR: unknown option --json\nUsage: kato node upgrade [options]\n"},
    {"out": DOCUMENTED_STATUS},
    {"out": "Upgrade status of node 127.42.0.11\n  installed version:  3.4.2\n"},
    {"out": ""},
], ids=["refused", "documented_json", "documented_text", "empty"])
def test_upgrade_works_without_the_status(run_module, kato, sentinel, sleeps, status_call):
    calls = [
        {"argv": [kato, "version"], "out": "Helion Stackato 3.4.2\n"},
        dict(status_call, argv=[kato] + STATUS),
        {"argv": [kato] + UPGRADE_362, "out": "Node 127.0.0.1 upgraded to 3.6.2\n"},
        {"argv": [kato, "version"], "out": "Helion Stackato 3.6.2\n"},
    ]
    result, failed, warnings = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert not failed, result
    assert result["changed"] is True and result["status"] == {} and warnings == []
    assert (result["version_before"], result["version_after"]) == ("3.4.2", "3.6.2")


def test_up_to_date_without_the_status(run_module, kato, sentinel, sleeps):
    calls = [
        {"argv": [kato, "version"], "out": "Helion Stackato 3.6.2\n"},
        {"argv": [kato] + STATUS, "out": DOCUMENTED_STATUS},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert not failed and result["changed"] is False and result["attempts"] == 0


def test_latest_without_the_status_lets_kato_decide(run_module, kato, sentinel, sleeps):
    calls = [
        {"argv": [kato, "version"], "out": "3.6.2\n"},
        {"argv": [kato] + STATUS, "rc": 2, "err": "unknown option\n"},
        {"argv": [kato] + UPGRADE, "out": "Node 127.42.0.11 is already at version 3.6.2\n"},
        {"argv": [kato, "version"], "out": "3.6.2\n"},
        {"argv": [kato] + STATUS, "rc": 2, "err": "unknown option\n"},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(kato_path=kato, **sentinel), calls)
    assert not failed and result["changed"] is False and result["attempts"] == 1


@pytest.mark.parametrize("args, changed, warning", [
    ({"version": "3.6.2"}, True, None),
    ({}, True, "cannot tell the newest version"),
    ({"version": "3.6.2", "download_only": True, "cache_ip": "127.42.0.11"}, True, "already cached"),
])
def test_check_mode_without_the_status(run_module, kato, sentinel, sleeps, args, changed, warning):
    calls = [
        {"argv": [kato, "version"], "out": "Helion Stackato 3.4.2\n"},
        {"argv": [kato] + STATUS, "out": DOCUMENTED_STATUS},
    ]
    result, failed, warnings = run_module(kato_upgrade, dict(args, kato_path=kato, **sentinel), calls, check=True)
    assert not failed and result["changed"] is changed
    if warning:
        assert any(warning in w for w in warnings), warnings
    else:
        assert warnings == [] and result["version_after"] == "3.6.2"


@pytest.mark.parametrize("downloads, changed", [(True, True), (False, False)])
def test_download_only_without_the_status_reads_the_sentinel_cache(run_module, kato, sentinel, sleeps, tmp_path,
                                                                   downloads, changed):
    cache = tmp_path / "cache"
    (cache / "3.6.2").mkdir(parents=True)
    config = tmp_path / "sentinel" / "daemon" / "config.yml"
    config.parent.mkdir(parents=True)
    config.write_text(f"# Sentinel daemon\nport: 9292\ncache_dir: '{cache}'   # moved by the operator\n")

    def download():
        if downloads:
            (cache / "3.6.2" / "router2g.tgz").write_bytes(b"x" * 10)

    argv = ["node", "upgrade", "--download-only", "--cache-ip", "127.42.0.11", "--version", "3.6.2",
            "--skip-confirmation"]
    calls = [
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "out": DOCUMENTED_STATUS},
        {"argv": [kato] + argv, "side_effect": download},
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "out": DOCUMENTED_STATUS},
    ]
    args = dict(sentinel, version="3.6.2", download_only=True, cache_ip="127.42.0.11", kato_path=kato)
    result, failed, warnings = run_module(kato_upgrade, args, calls)
    assert not failed and result["changed"] is changed and warnings == []


def test_download_only_elsewhere_without_the_status_warns(run_module, kato, sentinel, sleeps):
    argv = ["node", "upgrade", "--download-only", "--cache-ip", "127.42.0.11", "--skip-confirmation"]
    calls = [
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "rc": 1},
        {"argv": [kato] + argv},
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "rc": 1},
    ]
    args = dict(sentinel, download_only=True, cache_ip="127.42.0.11", kato_path=kato)
    result, failed, warnings = run_module(kato_upgrade, args, calls)
    assert not failed and result["changed"] is True
    assert any("cannot tell whether the download added content" in w for w in warnings)


@pytest.mark.parametrize("err, cause, fix", [
    ("ERROR: version 3.9.9 is not available for upgrade (available: 3.6.0, 3.6.2)", "version_unavailable",
     "Choose a version kato offers"),
    ("ERROR: offline upgrade: 3.6.2/router2g.tgz is not in the local cache; the upgrade content must be downloaded "
     "first (kato node upgrade --download-only --cache-ip <core node IP>)", "offline_content_missing",
     "Download the upgrade content first"),
    ("ERROR: not enough free disk space on /s/sentinel-cache: 2.0 GB available, 7.1 GB needed", "disk_space",
     "Free disk space first"),
    ("ERROR: sudo requires a password for user stackato and there is no terminal to ask for it", "sudo",
     "passwordless sudo"),
], ids=["version_unavailable", "offline", "disk", "sudo"])
def test_failures_that_need_a_fix_say_what_to_fix_not_resume(run_module, kato, sentinel, sleeps, err, cause, fix):
    calls = [
        {"argv": [kato, "version"], "out": "3.4.2\n"},
        {"argv": [kato] + STATUS, "out": status()},
        {"argv": [kato] + UPGRADE_362, "rc": 1, "err": err + "\n"},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert failed and result["cause"] == cause and result["resumable"] is False
    assert fix in result["msg"] and "resume" not in result["msg"].lower()
    assert sleeps == [] and result["attempts"] == 1


@pytest.mark.parametrize("stdout, stderr, rc, cause, resumable", [
    # the network class, retried with --resume
    ("", "ERROR: network error while downloading 3.6.2/router2g.tgz: connection reset by peer; connectivity "
         "restored? resume with: kato node upgrade --resume", 1, "network", True),
    ("", "ERROR: Could not resolve host upgrade.stackato.com", 1, "network", True),
    ("", "ERROR: cannot determine the latest Stackato version: upstream is not reachable and nothing is cached",
     1, "network", True),
    ("", "ERROR: network error while downloading cache/index.json: cache node 127.42.0.11: [Errno 111] Connection "
         "refused", 1, "network", True),
    # interrupted: a node went down, kato was killed
    ("", "ERROR: node 127.42.0.13 went down during the upgrade (3.6.2/router2g)", 1, "interrupted", True),
    ("node 127.42.0.12: network error, retrying\n", "ERROR: upgrade of node 127.42.0.13 failed (exit 137)", 1,
     "interrupted", True),
    ("Upgrading router2g\n", "", 137, "interrupted", True),
    ("Upgrading router2g\n", "", -9, "interrupted", True),
    # causes to fix first
    ("", "ERROR: unknown Stackato version 3.9.9", 1, "version_unavailable", False),
    ("", "ERROR: no upgrade path from 3.2.1: in-place upgrades start at 3.4.1 (Sentinel)", 1,
     "version_unavailable", False),
    ("", "ERROR: cannot downgrade from 3.6.2 to 3.4.2", 1, "version_unavailable", False),
    ("", "ERROR: offline upgrade: 3.6.2/x.tgz is not in the cache on 127.42.0.11", 1, "offline_content_missing", False),
    ("", "ERROR: --skip-download given but 3.6.2/x.tgz is not in the local cache (/s/sentinel-cache)", 1,
     "offline_content_missing", False),
    ("", "ERROR: not enough free disk space on /s: 1 GB available, 8 GB needed", 1, "disk_space", False),
    ("", "ERROR: sudo requires a password for user stackato and there is no terminal", 1, "sudo", False),
    ("", "ERROR: cannot retire DEA 127.42.0.13: its 3 app instance(s) need 768 MB but the other DEAs have 256 MB free",
     1, "dea_capacity", False),
    ("", "ERROR: DEA 127.42.0.13 was not retired: the remaining DEAs cannot run its app instances", 1,
     "dea_capacity", False),
    ("", "ERROR: validation failed for 3.6.2/router2g.tgz: sha256 mismatch", 1, "validation", False),
    ("", "ERROR: node 127.42.0.99 is not part of this cluster", 1, "unknown_node", False),
    # a component failure, also under kato's cluster-mode wrap-up line that says "resume"
    ("", "ERROR: component router2g failed to upgrade", 1, "component", False),
    ("==> [2/3] node 127.42.0.13\n", "ERROR: component router2g failed to upgrade\nERROR: upgrade of node 127.42.0.13 "
     "failed (exit 1); fix the cause and resume with: kato node upgrade --resume", 1, "component", False),
    # nothing known
    ("", "ERROR: something odd happened", 1, "unknown", False),
    ("", "", 1, "unknown", False),
])
def test_classify_failure(stdout, stderr, rc, cause, resumable):
    failure = kato_upgrade.classify_failure(stdout, stderr, rc)
    assert (failure["cause"], failure["resumable"]) == (cause, resumable)
    assert ("resume" in failure["advice"].lower()) is resumable
    assert failure["reason"]


def test_classify_failure_reason_is_the_deciding_line():
    failure = kato_upgrade.classify_failure(
        "", "ERROR: upgrade of node 127.42.0.13 failed (exit 1); fix the cause and resume with: kato node upgrade "
            "--resume\nERROR: component router2g failed to upgrade\n", 1)
    assert failure["reason"] == "ERROR: component router2g failed to upgrade"


@pytest.mark.parametrize("text, hint", [
    (status(), {"node": "127.42.0.11", "version": "3.4.2", "available": "3.6.2", "state": "idle", "step": None,
                "cached": False}),
    ("WARNING: kato is out of date\n" + status(state="failed", cached=True) + "trailing chatter\n",
     {"node": "127.42.0.11", "version": "3.4.2", "available": "3.6.2", "state": "failed", "step": None, "cached": True}),
    ("Node:      127.42.0.11\nVersion:   3.4.2\nAvailable: unknown\nState:     idle\nStep:      -\nCached:    no\n",
     {"node": "127.42.0.11", "version": "3.4.2", "state": "idle", "step": None, "cached": False}),
    (DOCUMENTED_STATUS, {}),
    ("Upgrade status of node 127.42.0.11\n  installed version:  3.4.2\n  upgrade status:     idle\n", {}),
    ('{"state": "exploded", "version": "latest"}', {}),
    ("", {}),
    ("[1, 2]", {}),
])
def test_parse_status_hint(text, hint):
    assert kato_upgrade.parse_status_hint(text) == hint


@pytest.mark.parametrize("text, cache_dir", [
    ("cache_dir: /data/sentinel-cache\n", "/data/sentinel-cache"),
    ("port: 1\ncache_dir: '/mnt/sda2/tmp'  # moved\n", "/mnt/sda2/tmp"),
    ('cache_dir: "/x y"\n', "/x y"),
    ("port: 1\n", None),
])
def test_sentinel_cache_dir(tmp_path, text, cache_dir):
    config = tmp_path / "config.yml"
    config.write_text(text)
    assert kato_upgrade.sentinel_cache_dir(str(config)) == cache_dir
    assert kato_upgrade.sentinel_cache_dir(str(tmp_path / "missing.yml")) is None


# ---- the node's run lock: kato never runs twice at once on one node ---------------------------------

AT_TARGET = [{"argv": ["version"], "out": "3.6.2\n"}, {"argv": STATUS, "out": status("3.6.2", state="done")}]


def hold(path):
    """Another process's hold of the run lock (a separate open file description conflicts with the module's)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_run_lock_free_is_taken_and_names_this_process(run_module, kato, sentinel, sleeps):
    args = dict(version="3.6.2", kato_path=kato, **sentinel)
    result, failed, warnings = run_module(kato_upgrade, args, [dict(c, argv=[kato] + c["argv"]) for c in AT_TARGET])
    assert not failed and result["waited"] == 0 and result["changed"] is False
    assert open(sentinel["run_lock"], encoding="utf-8").read().strip().isdigit()
    assert not any("waited" in w for w in warnings)


def test_run_lock_held_by_an_orphaned_run_is_waited_for_then_the_node_read_afresh(run_module, kato, sentinel):
    """A killed controller's run goes on on the node until kato ends: the re-run waits, then finds the node at the
    target (the orphan finished it) and runs no kato node upgrade of its own."""
    fd = hold(sentinel["run_lock"])
    threading.Timer(0.5, os.close, [fd]).start()
    args = dict(version="3.6.2", kato_path=kato, **sentinel)
    result, failed, warnings = run_module(kato_upgrade, args, [dict(c, argv=[kato] + c["argv"]) for c in AT_TARGET])
    assert not failed and result["changed"] is False and result["attempts"] == 0
    # released 0.5 s after the test took it; the module takes its own clock a little later
    assert result["waited"] >= 0.3
    assert any("waited" in w and "another upgrade run on this node" in w for w in warnings), warnings


def test_run_lock_still_held_after_timeout_fails_busy_and_resumable_without_running_kato(run_module, kato, sentinel):
    fd = hold(sentinel["run_lock"])
    try:
        args = dict(version="3.6.2", timeout=1, kato_path=kato, **sentinel)
        result, failed, dummy = run_module(kato_upgrade, args, [])
    finally:
        os.close(fd)
    assert failed and result["cause"] == "busy" and result["resumable"] is True
    assert "still holds" in result["msg"] and sentinel["run_lock"] in result["msg"]


def test_check_mode_takes_no_run_lock(run_module, kato, sentinel, sleeps):
    fd = hold(sentinel["run_lock"])
    try:
        args = dict(version="3.6.2", kato_path=kato, **sentinel)
        result, failed, dummy = run_module(kato_upgrade, args, [dict(c, argv=[kato] + c["argv"]) for c in AT_TARGET],
                                           check=True)
    finally:
        os.close(fd)
    assert not failed and result["waited"] == 0 and result["changed"] is False


# ---- progress: the upgrade step recorded on the node in the same call -----------------------------------
def _upgrade_calls(kato, before="3.4.2", check=False):
    calls = [{"argv": [kato, "version"], "out": f"Helion Stackato {before}\n"},
             {"argv": [kato] + STATUS, "out": DOCUMENTED_STATUS}]
    if before != "3.6.2" and not check:
        calls += [{"argv": [kato] + UPGRADE_362, "out": "Node 127.0.0.1 upgraded to 3.6.2\n"},
                  {"argv": [kato, "version"], "out": "Helion Stackato 3.6.2\n"}]
    return calls


@pytest.mark.parametrize("before, check, written, changed", [
    ("3.4.2", False, True, True),      # upgraded: recorded
    ("3.6.2", False, True, True),      # already at the target: the step is finished, recorded (a change to the record)
    ("3.4.2", True, False, True),      # check mode: predicted, nothing written
])
def test_progress_records_the_upgrade_step(run_module, kato, sentinel, sleeps, tmp_path, before, check, written, changed):
    record = tmp_path / "state" / "progress.json"
    args = dict(version="3.6.2", kato_path=kato, progress={"path": str(record), "target": "3.6.2", "step": "upgrade"},
                **sentinel)
    result, failed, dummy = run_module(kato_upgrade, args, _upgrade_calls(kato, before, check), check=check)
    assert not failed, result
    assert result["changed"] is changed
    assert result["progress"] == {"path": str(record), "step": "upgrade", "also": [], "changed": True, "done": ["upgrade"]}
    assert record.exists() is written
    if written:
        saved = json.loads(record.read_text())
        assert saved["target"] == "3.6.2" and list(saved["steps"]) == ["upgrade"]
        # a second call finds it recorded: no change from the record
        again, failed, dummy = run_module(kato_upgrade, args, _upgrade_calls(kato, "3.6.2"))
        assert not failed and again["progress"]["changed"] is False and again["changed"] is False


def test_progress_not_recorded_when_the_upgrade_fails(run_module, kato, sentinel, sleeps, tmp_path):
    record = tmp_path / "progress.json"
    calls = [
        {"argv": [kato, "version"], "out": "Helion Stackato 3.4.2\n"},
        {"argv": [kato] + STATUS, "out": DOCUMENTED_STATUS},
        {"argv": [kato] + UPGRADE_362, "out": "Node 127.0.0.1 upgraded to 3.6.2\n"},
        {"argv": [kato, "version"], "out": "Helion Stackato 3.4.2\n"},
    ]
    args = dict(version="3.6.2", kato_path=kato, progress={"path": str(record), "target": "3.6.2", "step": "upgrade"},
                **sentinel)
    result, failed, dummy = run_module(kato_upgrade, args, calls)
    assert failed and not record.exists()


# ---- ready_timeout: the wait until the node is ready, in the same call ---------------------------------
READY = ["process", "ready", "-b", "600", "all"]


@pytest.mark.parametrize("before", ["3.4.2", "3.6.2"])
def test_ready_timeout_waits_after_the_upgrade_and_records_the_further_steps(run_module, kato, sentinel, sleeps,
                                                                             tmp_path, before):
    record = tmp_path / "progress.json"
    args = dict(version="3.6.2", kato_path=kato, ready_timeout=600, **sentinel,
                progress={"path": str(record), "target": "3.6.2", "step": "upgrade", "also": ["ready", "verify"]})
    calls = _upgrade_calls(kato, before) + [{"argv": [kato] + READY, "concurrent": True, "out": "READY\n"}]
    result, failed, dummy = run_module(kato_upgrade, args, calls)
    assert not failed, result
    assert result["ready"] is True
    assert result["progress"]["done"] == ["upgrade", "ready", "verify"]
    assert sorted(json.loads(record.read_text())["steps"]) == ["ready", "upgrade", "verify"]


def test_ready_timeout_not_ready_fails_resumable_with_the_upgrade_step_recorded(run_module, kato, sentinel, sleeps,
                                                                                tmp_path):
    record = tmp_path / "progress.json"
    args = dict(version="3.6.2", kato_path=kato, ready_timeout=600, **sentinel,
                progress={"path": str(record), "target": "3.6.2", "step": "upgrade", "also": ["ready"]})
    calls = _upgrade_calls(kato) + [{"argv": [kato] + READY, "concurrent": True, "rc": 1, "out": "router2g STARTING\n"}]
    result, failed, dummy = run_module(kato_upgrade, args, calls)
    assert failed
    assert result["cause"] == "not_ready" and result["resumable"] is True
    assert "ready_timeout=600" in result["msg"] and "router2g STARTING" in result["msg"]
    assert result["version_after"] == "3.6.2"
    # the upgrade is recorded, the wait is not: a re-run resumes at the ready step
    assert list(json.loads(record.read_text())["steps"]) == ["upgrade"]
    assert result["progress"]["done"] == ["upgrade"]


def test_ready_timeout_waits_while_the_version_reached_is_read(run_module, kato, sentinel, sleeps):
    # the wait begins as soon as kato node upgrade returned, before the version read ends: that read blocks here
    # until the wait has begun (a wait begun after it would leave the read blocked: the read's assertion fails)
    begun = threading.Event()
    calls = _upgrade_calls(kato)
    calls[-1]["side_effect"] = lambda: begun.wait(10) or pytest.fail("kato process ready did not begin during the read")
    calls.append({"argv": [kato] + READY, "concurrent": True, "out": "READY\n", "side_effect": begun.set})
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, ready_timeout=600, **sentinel),
                                       calls)
    assert not failed, result
    assert result["ready"] is True and result["version_after"] == "3.6.2"


def test_ready_timeout_wait_stopped_when_the_version_read_fails_the_task(run_module, kato, sentinel, sleeps, tmp_path):
    # kato node upgrade returned but the node is not at the target: the task fails as before (target_not_reached),
    # not with the wait's outcome, and records nothing
    record = tmp_path / "progress.json"
    calls = _upgrade_calls(kato)
    calls[-1]["out"] = "Helion Stackato 3.4.2\n"
    calls.append({"argv": [kato] + READY, "concurrent": True, "rc": 1, "out": "dea_ng STARTING\n"})
    args = dict(version="3.6.2", kato_path=kato, ready_timeout=600, **sentinel,
                progress={"path": str(record), "target": "3.6.2", "step": "upgrade", "also": ["ready"]})
    result, failed, dummy = run_module(kato_upgrade, args, calls)
    assert failed and result["cause"] == "target_not_reached", result
    assert not record.exists()


class _SleepingKato:
    """A client whose ``kato process ready`` is a real process that would run for a minute."""

    def __init__(self, delay=0.0):
        self.delay = delay
        self.process = None

    def run(self, *args, what=None, on_start=None):
        time.sleep(self.delay)
        self.process = subprocess.Popen(["sleep", "60"])   # pylint: disable=consider-using-with
        on_start(self.process)
        rc = self.process.wait()
        raise KatoError(f"{what} ended with rc={rc}", rc=rc)


@pytest.mark.parametrize("delay", [0.0, 0.3])   # stopped while the command runs; stopped before it started
def test_ready_wait_stop_kills_the_command(delay):
    client = _SleepingKato(delay)
    wait = kato_upgrade.ReadyWait(client, 600)
    wait.start()
    time.sleep(0.1)
    started = time.monotonic()
    wait.stop()
    if delay:   # the command starts after stop(): killed as it starts
        deadline = time.monotonic() + 5
        while client.process is None or client.process.poll() is None:
            assert time.monotonic() < deadline, "the command started after stop() was not killed"
            time.sleep(0.01)
    else:
        assert time.monotonic() - started < 5
    assert client.process.poll() == -9
    error = wait.result()
    assert isinstance(error, KatoError) and error.rc == -9


@pytest.mark.parametrize("extra, check", [
    ({}, False),                                                     # no ready_timeout: no wait
    ({"ready_timeout": 600}, True),                                  # check mode: no wait
])
def test_ready_timeout_no_wait(run_module, kato, sentinel, sleeps, extra, check):
    args = dict(version="3.6.2", kato_path=kato, **extra, **sentinel)
    result, failed, dummy = run_module(kato_upgrade, args, _upgrade_calls(kato, "3.4.2", check), check=check)
    assert not failed, result
    assert result["ready"] is False


def test_ready_timeout_negative_is_refused(run_module, kato, sentinel):
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, ready_timeout=-1, **sentinel), [])
    assert failed and "ready_timeout=-1 is invalid" in result["msg"]


# ---- retire: the DEA's retirement, the upgrade, the wait and the instance count in one call ------------
from ansible_collections.stackato.cluster.tests.unit.plugins.module_utils.ccapi_fake import (  # noqa: E402
    API,
    PASSWORD,
    TOKEN,
    UAA,
)
from ansible_collections.stackato.cluster.tests.unit.plugins.modules.test_kato_node_retire import (  # noqa: E402
    APPS,
    APPS_KEY,
    DEA1,
    DEA2,
    DEA3,
    MEMORY,
    NODE_LIST,
    RETIRE,
    STATS_API,
    STATS_WEB,
    procs_all,
    stats,
)

READ = [APPS_KEY, STATS_API, STATS_WEB]
LOGIN = [("GET", API + "/v2/info"), ("POST", UAA + "/oauth/token")]
# before the retirement, after it, after the upgrade (the count)
MOVED = {APPS_KEY: APPS, STATS_WEB: [stats(DEA1, DEA2), stats(DEA3, DEA2), stats(DEA3, DEA2)],
         STATS_API: [stats(DEA1), stats(DEA3), stats(DEA3)]}


def _retire_args(kato, sentinel, record, also=("ready", "verify"), **retire):
    return dict(version="3.6.2", kato_path=kato, ready_timeout=600, **sentinel,
                retire=dict({"node": DEA1, "api_url": API, "api_password": PASSWORD}, **retire),
                progress={"path": str(record), "target": "3.6.2", "step": "upgrade", "also": list(also)})


def _k(kato, *calls):
    return [dict(call, argv=[kato] + call["argv"]) for call in calls]


RETIRE_READS = (NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3))


def test_retire_upgrade_ready_and_count_in_one_call(run_module, kato, sentinel, sleeps, tmp_path, api):
    """The argv in order: the version and the status hint, the retirement's reads and kato node retire, the upgrade,
    the version again, the wait; the API read before and after the retirement and after the upgrade."""
    fake = api(MOVED)
    record = tmp_path / "progress.json"
    calls = (_upgrade_calls(kato)[:2] + _k(kato, *RETIRE_READS, RETIRE) + _upgrade_calls(kato)[2:]
             + [{"argv": [kato] + READY, "concurrent": True, "out": "READY\n"}])
    result, failed, dummy = run_module(kato_upgrade, _retire_args(kato, sentinel, record), calls)
    assert not failed, result
    assert result["changed"] is True and result["version_after"] == "3.6.2" and result["ready"] is True
    assert result["retire"]["moved"] == [{"app": "api", "from": DEA1, "to": DEA3}, {"app": "web", "from": DEA1, "to": DEA3}]
    assert result["retire"]["progress"]["done"] == ["retire"] and result["retire"]["duration"] >= 0
    assert result["short"] == []
    assert result["progress"]["done"] == ["retire", "upgrade", "ready", "verify"]
    saved = json.loads(record.read_text())["steps"]
    assert sorted(saved) == ["ready", "retire", "upgrade", "verify"]
    assert [(i["app"], i["host"]) for i in saved["retire"]["instances"]] == [("api", DEA1), ("web", DEA1), ("web", DEA2)]
    assert fake.requests() == LOGIN + READ + READ + READ
    assert PASSWORD not in json.dumps(result) and TOKEN not in json.dumps(result)


def test_retire_refused_for_capacity_changes_nothing(run_module, kato, sentinel, sleeps, tmp_path, api):
    api(MOVED)
    record = tmp_path / "progress.json"
    args = _retire_args(kato, sentinel, record, dea_memory_mb={DEA2: 300, DEA3: 300})
    calls = _upgrade_calls(kato)[:2] + _k(kato, NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3))
    result, failed, dummy = run_module(kato_upgrade, args, calls)
    assert failed
    assert result["cause"] == "capacity" and result["resumable"] is False
    assert "refusing to retire DEA" in result["msg"] and "Nothing was changed" in result["msg"]
    assert result["retire"]["unplaced"] and result["version_before"] == "3.4.2"
    assert not record.exists()


def test_retire_then_fewer_instances_fails_with_upgrade_and_ready_recorded(
        run_module, kato, sentinel, sleeps, tmp_path, api):
    short = {APPS_KEY: APPS, STATS_WEB: [stats(DEA1, DEA2), stats(DEA3, DEA2), stats(DEA2)],
             STATS_API: [stats(DEA1), stats(DEA3), stats(DEA3)]}
    api(short)
    record = tmp_path / "progress.json"
    calls = (_upgrade_calls(kato)[:2] + _k(kato, *RETIRE_READS, RETIRE) + _upgrade_calls(kato)[2:]
             + [{"argv": [kato] + READY, "concurrent": True, "out": "READY\n"}])
    result, failed, dummy = run_module(kato_upgrade, _retire_args(kato, sentinel, record), calls)
    assert failed
    assert result["cause"] == "instances_short" and result["resumable"] is False
    assert result["short"] == ["web: 2 -> 1"] and "web: 2 -> 1" in result["msg"]
    # a re-run resumes at the count (verify)
    assert sorted(json.loads(record.read_text())["steps"]) == ["ready", "retire", "upgrade"]


def test_retire_not_run_when_the_node_is_at_the_target(run_module, kato, sentinel, sleeps, tmp_path, api):
    fake = api(MOVED)
    record = tmp_path / "progress.json"
    calls = _upgrade_calls(kato, "3.6.2") + [{"argv": [kato] + READY, "concurrent": True, "out": "READY\n"}]
    result, failed, dummy = run_module(kato_upgrade, _retire_args(kato, sentinel, record), calls)
    assert not failed, result
    assert result["retire"] is None and fake.calls == []
    assert result["progress"]["done"] == ["upgrade", "ready", "verify"]


def test_retire_in_check_mode_predicts_the_placement(run_module, kato, sentinel, sleeps, tmp_path, api):
    api(MOVED)
    record = tmp_path / "progress.json"
    calls = _upgrade_calls(kato, check=True) + _k(kato, *RETIRE_READS)
    result, failed, dummy = run_module(kato_upgrade, _retire_args(kato, sentinel, record), calls, check=True)
    assert not failed, result
    assert result["changed"] is True and result["retire"]["moved"] == []
    assert [p["to"] for p in result["retire"]["placed"]] == [DEA3, DEA3]
    assert not record.exists()


@pytest.mark.parametrize("extra, message", [
    ({"download_only": True, "cache_ip": "127.42.0.11"}, "retire is only for an upgrade"),
    ({"update_kato": True}, "retire is only for an upgrade"),
])
def test_retire_only_with_an_upgrade(run_module, kato, sentinel, tmp_path, extra, message):
    args = dict(_retire_args(kato, sentinel, tmp_path / "p.json"), **extra)
    result, failed, dummy = run_module(kato_upgrade, args, [])
    assert failed and message in result["msg"]


def test_retire_wait_timeout_is_checked_before_anything_runs(run_module, kato, sentinel, tmp_path):
    result, failed, dummy = run_module(kato_upgrade, _retire_args(kato, sentinel, tmp_path / "p.json", wait_timeout=0), [])
    assert failed and "retire.wait_timeout=0 is invalid" in result["msg"]


# ---- order.gate (set by the action plugin when it starts the module early): reads first, changes after the word

def gate_at(tmp_path, word=None):
    """A gate as the action plugin makes it on a node (module_utils/_gate.py), with the word already said."""
    base = tmp_path / "gate" / "k"
    base.parent.mkdir()
    os.mkfifo(f"{base}.fifo")
    if word:
        (tmp_path / "gate" / "k.go").write_text(word)
    return {"path": str(base), "timeout": 5}


def order_with(gate):
    return {"dir": "/controller/order", "name": "dea2", "after": ["dea1"], "gate": gate}


def test_the_gate_comes_after_the_reads_and_before_the_first_change(tmp_path, run_module, kato, sentinel, sleeps):
    gate = gate_at(tmp_path, "go\n")

    def still_waiting():
        assert os.path.exists(f"{gate['path']}.fifo"), "the gate was passed before the reads"

    def passed():
        assert not os.path.exists(f"{gate['path']}.fifo"), "kato node upgrade ran before the gate"

    calls = [{"argv": [kato, "version"], "out": "3.4.2\n"},
             {"argv": [kato] + STATUS, "out": status(), "side_effect": still_waiting},
             {"argv": [kato] + UPGRADE_362, "side_effect": passed},
             {"argv": [kato, "version"], "out": "3.6.2\n"}]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, order=order_with(gate),
                                                          **sentinel), calls)
    assert not failed and result["changed"] and result["version_after"] == "3.6.2"
    assert os.listdir(tmp_path / "gate") == []


def test_told_to_stop_at_the_gate_the_node_is_not_changed(tmp_path, run_module, kato, sentinel, sleeps):
    gate = gate_at(tmp_path, "stop\ndea1 failed\n")
    calls = [{"argv": [kato, "version"], "out": "3.4.2\n"}, {"argv": [kato] + STATUS, "out": status()}]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, order=order_with(gate),
                                                          **sentinel), calls)
    assert not failed and result == {"changed": False, "order_gate": "stop", "msg": "not started on the node: dea1 failed"}
    assert os.listdir(tmp_path / "gate") == []


def test_a_node_with_nothing_to_do_never_waits_at_the_gate(tmp_path, run_module, kato, sentinel, sleeps):
    gate = gate_at(tmp_path)   # no word: waiting would take its 5 s and fail the test's expectations
    calls = [{"argv": [kato, "version"], "out": "3.6.2\n"}, {"argv": [kato] + STATUS, "out": status("3.6.2", state="done")}]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, order=order_with(gate),
                                                          **sentinel), calls)
    assert not failed and not result["changed"] and "order_gate" not in result
    assert os.listdir(tmp_path / "gate") == []


def test_a_dea_reads_the_cluster_before_the_gate_and_its_state_after(tmp_path, run_module, kato, sentinel, sleeps, api):
    """With option retire: the DEAs and their memory (configuration) are read while the module waits at its gate;
    which DEAs run dea_ng, the instances and kato node retire come after the word, right before the retirement."""
    api(MOVED)
    gate = gate_at(tmp_path, "go\n")

    def still_waiting():
        assert os.path.exists(f"{gate['path']}.fifo"), "the gate was passed before the cluster's configuration was read"

    def passed():
        assert not os.path.exists(f"{gate['path']}.fifo"), "the capacity rule's state was read before the gate"

    before, after = ({**call, "side_effect": still_waiting} for call in (NODE_LIST, MEMORY)), \
        ({**call, "side_effect": passed} for call in (procs_all(DEA1, DEA2, DEA3), RETIRE))
    calls = (_upgrade_calls(kato)[:2] + _k(kato, *before, *after) + _upgrade_calls(kato)[2:]
             + [{"argv": [kato] + READY, "concurrent": True, "out": "READY\n"}])
    args = dict(_retire_args(kato, sentinel, tmp_path / "progress.json"), order=order_with(gate))
    result, failed, dummy = run_module(kato_upgrade, args, calls)
    assert not failed, result
    assert result["changed"] and result["retire"]["moved"]
    assert os.listdir(tmp_path / "gate") == []


def test_a_module_started_before_the_window_says_it_has_begun_after_the_retirement_before_kato(
        tmp_path, run_module, kato, sentinel, sleeps, api):
    """order.gate.publish (order.arm): Gate.begun - <path>.begun - once the DEA is retired, right before kato node
    upgrade, for the controller's order.begun (the others are told after it)."""
    api(MOVED)
    gate = dict(gate_at(tmp_path, "go\n"), publish=True)
    begun = f"{gate['path']}.begun"

    def not_yet():
        assert not os.path.exists(begun), "said begun before the retirement"

    def said():
        assert os.path.exists(begun), "kato node upgrade ran before the module said it had begun"

    retire = ({**call, "side_effect": not_yet} for call in (procs_all(DEA1, DEA2, DEA3), RETIRE))
    upgrade = [{**call, "side_effect": said} if call["argv"][1:] == UPGRADE_362 else call for call in _upgrade_calls(kato)[2:]]
    calls = (_upgrade_calls(kato)[:2] + _k(kato, NODE_LIST, MEMORY, *retire) + upgrade
             + [{"argv": [kato] + READY, "concurrent": True, "out": "READY\n"}])
    args = dict(_retire_args(kato, sentinel, tmp_path / "progress.json"), order=order_with(gate))
    result, failed, dummy = run_module(kato_upgrade, args, calls)
    assert not failed, result
    assert any(call["argv"][1:] == UPGRADE_362 for call in upgrade), "the test did not reach kato node upgrade"


def test_without_publish_the_module_says_nothing_when_it_begins(tmp_path, run_module, kato, sentinel, sleeps):
    gate = gate_at(tmp_path, "go\n")
    calls = [{"argv": [kato, "version"], "out": "3.4.2\n"}, {"argv": [kato] + STATUS, "out": status()},
             {"argv": [kato] + UPGRADE_362}, {"argv": [kato, "version"], "out": "3.6.2\n"}]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, order=order_with(gate),
                                                          **sentinel), calls)
    assert not failed and result["changed"]
    assert os.listdir(tmp_path / "gate") == []
