# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/traffic/loadgen.py: loopback only, bounded, failures with their step, the table."""

from __future__ import annotations

import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "traffic"))
import loadgen  # noqa: E402  pylint: disable=wrong-import-position,import-error


@pytest.mark.parametrize("target", [
    "10.0.0.1:80", "192.168.1.10:8080", "8.8.8.8:80", "172.16.0.1:80", "localhost:8080",
    "example.com:80", "127.0.0.1", "::1:80", "[::1]:80", "127.0.0.1:http",
])
def test_refuses_anything_but_a_loopback_ipv4_address(target):
    with pytest.raises(loadgen.Refused):
        loadgen.loopback_target(target)


@pytest.mark.parametrize("target, expected", [
    ("127.0.0.1:8080", ("127.0.0.1", 8080)), ("127.42.61.230:8080", ("127.42.61.230", 8080)),
    ("127.255.255.254:1", ("127.255.255.254", 1)),
])
def test_accepts_loopback(target, expected):
    assert loadgen.loopback_target(target) == expected


@pytest.mark.parametrize("argv", [
    ["--rate", "0"], ["--rate", "51"], ["--max-seconds", "0"], ["--max-seconds", "901"],
    ["--max-requests", "0"], ["--max-requests", "200001"],
])
def test_bounds_are_enforced(argv, capsys):
    assert loadgen.main(["run", "--cluster", "nope", *argv]) == 2
    assert "loadgen:" in capsys.readouterr().err


def test_a_non_loopback_target_is_refused_before_sending(tmp_path, monkeypatch, capsys):
    def no_process(*args, **kwargs):
        raise AssertionError(f"loadgen started a process for a refused target: {args} {kwargs}")

    # the address below is text only: should the refusal ever break, nothing is started or sent
    monkeypatch.setattr(loadgen.subprocess, "Popen", no_process)
    monkeypatch.setattr(loadgen, "RUNS", tmp_path)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "traffic.json").write_text(json.dumps(
        {"load_balancer": "10.1.2.3:8080", "domain": "d", "apps": [{"name": "a", "instances": 1}]}))
    assert loadgen.main(["run", "--cluster", "c", "--max-seconds", "1"]) == 2
    assert "outside 127.0.0.0/8" in capsys.readouterr().err


def test_budget_stops_at_max_requests():
    budget = loadgen.Budget(max_seconds=60, max_requests=3)
    assert [budget.take() for dummy in range(5)] == [True, True, True, False, False]
    assert budget.reason == "max-requests reached"


STEPS = [(10.0, "127.42.1.14", "retire (instances move away)"),
         (11.0, "127.42.1.14", "upgrade 3.6.0/dea_ng"),
         (20.0, "127.42.1.11", "kato restart base router")]


@pytest.mark.parametrize("t, label", [
    (5.0, "before any upgrade step"), (10.0, "dea1: retire (instances move away)"),
    (12.5, "dea1: upgrade 3.6.0/dea_ng"), (25.0, "core: kato restart base router"),
])
def test_a_failure_gets_the_step_running_then(t, label):
    assert loadgen.step_at(STEPS, t, {"127.42.1.14": "dea1", "127.42.1.11": "core"}) == label


def test_read_steps_from_the_journal(tmp_path):
    journal = tmp_path / "events.jsonl"
    events = [
        {"ts": 3.0, "node": "n2", "event": "kato_restart", "roles": ["base", "dea"]},
        {"ts": 1.0, "node": "n1", "event": "upgrade_step", "step": "3.6.0/router2g", "phase": "start"},
        {"ts": 1.5, "node": "n1", "event": "upgrade_step", "step": "3.6.0/router2g", "phase": "end"},
        {"ts": 2.0, "node": None, "event": "dea_retire_start", "dea": "n2"},
        {"ts": 2.5, "node": "n1", "event": "instance_down", "app": "web", "dea": "n2"},
    ]
    journal.write_text("".join(json.dumps(e) + "\n" for e in events) + "not json\n")
    assert loadgen.read_steps(str(journal)) == [
        (1.0, "n1", "upgrade 3.6.0/router2g"), (2.0, "n2", "retire (instances move away)"),
        (3.0, "n2", "kato restart base dea")]
    assert loadgen.read_steps(str(tmp_path / "missing")) == []


@pytest.mark.parametrize("results, gap", [
    ([(0.0, None), (0.1, None)], 0.0),
    ([(0.0, None), (0.1, "x"), (0.2, "x"), (0.3, None), (0.4, None)], 0.3),
    ([(0.0, None), (0.1, "x"), (0.2, None), (1.0, "x"), (1.6, None)], 1.4),
    ([(0.0, "x"), (0.5, None)], 0.5),
    ([(0.0, None), (0.1, "x"), (0.9, "x")], 0.9),
])
def test_longest_gap(results, gap):
    assert loadgen.longest_gap(results) == pytest.approx(gap)


class _App(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        app = self.headers["Host"].split(".")[0]
        if app == "down":
            self.send_response(503)
            self.end_headers()
            return
        body = json.dumps({"app": "other" if app == "liar" else app, "index": 0}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake_lb(tmp_path, monkeypatch):
    """A stand-in load balancer on 127.0.0.1 and a traffic.json naming it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(loadgen, "RUNS", tmp_path)
    (tmp_path / "c").mkdir()
    journal = tmp_path / "events.jsonl"
    journal.write_text(json.dumps({"ts": 1.0, "node": "127.0.0.9", "event": "upgrade_step",
                                   "step": "3.6.0/dea_ng", "phase": "start"}) + "\n")
    (tmp_path / "c" / "traffic.json").write_text(json.dumps({
        "cluster": "c", "load_balancer": f"127.0.0.1:{server.server_address[1]}", "domain": "d.test",
        "journal": str(journal), "nodes": {"127.0.0.9": "dea9"},
        "apps": [{"name": "web", "instances": 2}, {"name": "down", "instances": 1},
                 {"name": "liar", "instances": 2}]}))
    yield tmp_path
    server.shutdown()
    server.server_close()


def test_run_with_a_command_sends_while_it_runs(fake_lb, capsys):
    out = fake_lb / "result.json"
    rc = loadgen.main(["run", "--cluster", "c", "--rate", "20", "--out", str(out), "--strict",
                       "--", sys.executable, "-c", "import time; time.sleep(0.6)"])
    result = json.loads(out.read_text())
    apps = {a["name"]: a for a in result["apps"]}
    assert apps["web"]["sent"] >= 5 and apps["web"]["failed"] == 0
    assert apps["down"]["failed"] == apps["down"]["sent"] > 0
    assert apps["down"]["failures_by_step"] == {"dea9: upgrade 3.6.0/dea_ng": apps["down"]["sent"]}
    assert apps["liar"]["failed"] == apps["liar"]["sent"]       # another app answered
    assert result["failures"][0]["error"] in ("HTTP 503", "answer from 'other', not 'liar'")
    assert result["multi_instance_failed"] == apps["liar"]["failed"]
    assert result["stopped_by"] == "command finished"
    assert rc == 3    # --strict: an app with 2+ instances failed
    printed = capsys.readouterr().out
    assert "app" in printed and "longest gap" in printed and "liar during dea9" in printed


def test_max_requests_bounds_a_run(fake_lb):
    out = fake_lb / "result.json"
    assert loadgen.main(["run", "--cluster", "c", "--rate", "50", "--max-requests", "7",
                         "--out", str(out), "--quiet", "--target",
                         json.loads((fake_lb / "c" / "traffic.json").read_text())["load_balancer"]]) == 0
    result = json.loads(out.read_text())
    assert sum(a["sent"] for a in result["apps"]) == 7
    assert result["stopped_by"] == "max-requests reached"


def test_connection_refused_is_a_failure():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    assert loadgen.one_request("127.0.0.1", port, "web.d", "web").startswith("ConnectionRefusedError")


def test_table_lists_every_app():
    result = {"apps": [
        {"name": "web", "instances": 2, "sent": 100, "failed": 0, "longest_gap_s": 0.0,
         "failures_by_step": {}},
        {"name": "single", "instances": 1, "sent": 99, "failed": 2, "longest_gap_s": 0.31, "slowest_s": 1.2,
         "failures_by_step": {"dea1: retire (instances move away)": 2}}],
        "duration_s": 10.0, "rate_per_app": 10.0, "load_balancer": "127.0.0.1:1",
        "multi_instance_failed": 0}
    lines = loadgen.table(result).splitlines()
    assert lines[0].split() == ["app", "instances", "sent", "failed", "longest", "gap", "slowest"]
    assert lines[2].split() == ["web", "2", "100", "0", "-", "0.00", "s"]
    assert lines[3].split() == ["single", "1", "99", "2", "0.31", "s", "1.20", "s"]
    assert "apps with 2+ instances: 0" in lines[4]
    assert "2 failed: single during dea1: retire (instances move away)" in lines[5]
