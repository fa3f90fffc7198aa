# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""benchmarks/journal_figures.py: the window, the bars and the simulated work from a journal."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from benchmarks import journal_figures  # noqa: E402  pylint: disable=wrong-import-position,import-error

A, B = "127.42.80.11", "127.42.80.12"


def maint(ts, value):
    return {"ts": ts, "node": A, "event": "config_set", "component": "cloud_controller_ng",
            "key": "maintenance_mode", "value": value}


def step(ts, node, comp, phase, version="3.6.2"):
    return {"ts": ts, "node": node, "event": "upgrade_step", "step": f"component:{comp}",
            "component": comp, "version": version, "phase": phase}


@pytest.mark.parametrize("events,expected", [
    ([maint(1.0, True), maint(5.0, False)], (1.0, 5.0)),
    ([maint(1.0, "true"), maint(2.0, True), maint(5.0, "false")], (1.0, 5.0)),
    ([maint(0.5, False), maint(1.0, True), maint(5.0, False), maint(6.0, True)], (1.0, 5.0)),
    ([maint(1.0, True)], None),
    ([{"ts": 1.0, "node": A, "event": "config_set", "component": "dea_ng", "key": "maintenance_mode",
       "value": True}, maint(5.0, False)], None),
    ([], None),
])
def test_window(events, expected):
    assert journal_figures.window(events) == expected


JOURNAL = [
    step(0.5, A, "kato", "start", "3.6.0"), step(0.6, A, "kato", "end", "3.6.0"),   # before the window
    maint(1.0, True),
    {"ts": 1.1, "node": A, "event": "dea_retire_start", "dea": B},
    {"ts": 1.3, "node": A, "event": "dea_retired", "dea": B},
    step(1.4, B, "kato", "start"), step(1.9, B, "kato", "end"),
    step(2.0, B, "dea_ng", "start"), step(2.6, B, "dea_ng", "end"),
    {"ts": 3.0, "node": B, "event": "kato_restart", "roles": ["dea"]},
    {"ts": 3.0, "node": B, "event": "process_state", "process": "dea_ng", "state": "STOPPED"},
    {"ts": 3.01, "node": B, "event": "process_state", "process": "dea_ng", "state": "STARTING"},
    maint(4.0, False),
    step(4.5, A, "dea_ng", "start"),                                                  # after it
]


def test_simulated_work_counts_what_starts_inside_the_window():
    work = journal_figures.simulated_work(JOURNAL, {"kato": 2.0, "dea_ng": 5.0},
                                          pause_component="kato", pause_s=1.0, restart_s=2.0,
                                          time_scale=0.5, span=(1.0, 4.0))
    assert work == {"steps_s": pytest.approx((2 + 1 + 5) * 0.5), "restarts_s": pytest.approx(1.0),
                    "total_s": pytest.approx(5.0), "steps": 2, "restarts": 1}


def test_simulated_work_of_the_whole_journal():
    work = journal_figures.simulated_work(JOURNAL, {"kato": 2.0, "dea_ng": 5.0})
    assert (work["steps"], work["restarts"]) == (4, 1)
    assert work["steps_s"] == pytest.approx(2 + 2 + 5 + 5)


def test_an_unknown_component_is_an_error_not_zero():
    with pytest.raises(KeyError, match="nginx"):
        journal_figures.simulated_work([step(1.0, A, "nginx", "start")], {"kato": 2.0})


def test_bars():
    bars = journal_figures.bars(JOURNAL, {A: "core", B: "dea1"}, restart_delay_s=0.2)
    assert [(b["node"], b["kind"], b["label"], b["start"], b["end"]) for b in bars] == [
        ("core", "step", "kato 3.6.0", 0.5, 0.6),
        ("dea1", "retire", "retire", 1.1, 1.3),
        ("dea1", "step", "kato 3.6.2", 1.4, 1.9),
        ("dea1", "step", "dea_ng 3.6.2", 2.0, 2.6),
        ("dea1", "restart", "restart", 3.0, pytest.approx(3.21)),
    ]


def test_a_second_restart_closes_the_first():
    events = [{"ts": 1.0, "node": B, "event": "kato_restart"},
              {"ts": 1.0, "node": B, "event": "process_state", "process": "x", "state": "RUNNING"},
              {"ts": 2.0, "node": B, "event": "kato_restart"},
              {"ts": 2.5, "node": B, "event": "process_state", "process": "x", "state": "RUNNING"}]
    bars = journal_figures.bars(events)
    assert [(b["start"], b["end"]) for b in bars] == [(1.0, 1.0), (2.0, 2.5)]


def step_bar(node, label, start, end):
    return {"node": node, "kind": "step", "label": label, "start": start, "end": end}


@pytest.mark.parametrize("bar_list,span,min_s,expected", [
    ([], (0.0, 5.0), 0.0, [(0.0, 5.0, "window on", "window off")]),
    ([step_bar("a", "x", 1.0, 2.0)], (0.0, 5.0), 0.0,
     [(0.0, 1.0, "window on", "a x"), (2.0, 5.0, "a x", "window off")]),
    ([step_bar("a", "x", 0.0, 3.0), step_bar("b", "y", 1.0, 2.0), step_bar("c", "z", 4.0, 5.0)], (0.0, 5.0), 0.0,
     [(3.0, 4.0, "a x", "c z")]),
    ([step_bar("a", "x", -1.0, 1.0), step_bar("b", "y", 1.2, 6.0)], (0.0, 5.0), 0.5, []),
    ([step_bar("a", "x", 1.0, 2.0), step_bar("b", "y", 2.1, 3.0)], (1.0, 3.0), 0.5, []),
])
def test_idle_gaps(bar_list, span, min_s, expected):
    gaps = journal_figures.idle_gaps(bar_list, span, min_s)
    assert [(g["start"], g["end"], g["after"], g["before"]) for g in gaps] == expected
