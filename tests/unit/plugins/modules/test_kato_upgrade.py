# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os

import pytest

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
                   "recovered": False, "stdout_lines_tail": ["Upgrading...", "Node 127.0.0.1 upgraded to 3.6.2"]},
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
            {"argv": STATUS + ["--node", "127.42.0.12"], "out": status("3.6.2", state="done")},
        ],
        "result": {"changed": False, "version_before": "3.6.2", "version_after": "3.6.2", "attempts": 1},
    },
    {
        "id": "already_at_version_is_a_no_op",
        "args": {"version": "3.6.2"},
        "calls": [
            {"argv": ["version"], "out": "3.6.2  \nWARNING: patches available\n"},
            {"argv": STATUS, "out": status("3.6.2", state="done")},
            {"argv": ["version"], "out": "3.6.2\n"},
            {"argv": STATUS, "out": status("3.6.2", state="done")},
        ],
        "result": {"changed": False, "attempts": 0, "version_after": "3.6.2"},
    },
    {
        "id": "version_compare_is_numeric",
        "args": {"version": "3.6.2"},
        "calls": [
            {"argv": ["version"], "out": "3.10.0\n"},
            {"argv": STATUS, "out": status("3.10.0", "3.10.0")},
            {"argv": ["version"], "out": "3.10.0\n"},
            {"argv": STATUS, "out": status("3.10.0", "3.10.0")},
        ],
        "result": {"changed": False, "attempts": 0},
        "warnings": ["newer than 3.6.2"],
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
            {"argv": STATUS, "out": status("3.6.2", state="done")},
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
            {"argv": STATUS, "out": status("3.6.2", state="done")},
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
            {"argv": STATUS, "out": status("3.6.2", state="done")},
        ],
        "result": {"changed": True, "attempts": 3},
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
        "msg_contains": ["component router2g failed to upgrade", "--resume"],
        "result": {"rc": 1, "stdout": "step 4\n"},
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
        "msg_contains": ["failed (rc=1): ERROR: upgrade of node 127.42.0.13 failed (exit 137)"],
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
    return {"sentinel_log": str(log), "sentinel_cli_dir": str(cli), "kato_code_dirs": [str(tmp_path / "code" / "kato")]}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_kato_upgrade(case, check_case, run_module, kato, sentinel, sleeps):
    calls = [dict(call, argv=[kato] + call["argv"]) for call in case["calls"]]
    args = dict(case["args"], kato_path=kato, **sentinel)
    result, failed, warnings = run_module(kato_upgrade, args, calls, **case.get("flags", {}))
    check_case(case, result, failed, warnings)
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
        {"argv": [kato] + STATUS, "out": status("3.6.2", state="done")},
    ]
    result, failed, dummy = run_module(kato_upgrade, dict(version="3.6.2", kato_path=kato, **sentinel), calls)
    assert not failed, result
    assert result["recovered"] is True
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
        {"argv": [kato] + STATUS, "out": status("3.6.2", state="done")},
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
