# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark's picture: one panel per run, one row per node, what it did as bars.

Bars are the journal's (benchmarks/journal_figures.py): component steps of the first release on
the path in light blue, of the target in dark blue, DEA retirements orange, restarts green. The
maintenance window is shaded, and a red line marks where the window would end at the lower
bound (window start + bound). Both panels share one time axis, from each run's window start.
"""

from __future__ import annotations

from .png import Canvas

COLORS = {"step_first": (120, 170, 230), "step_target": (30, 80, 170), "retire": (240, 150, 40),
          "restart": (40, 160, 70), "window": (255, 244, 200), "bound": (210, 30, 30),
          "grid": (225, 225, 225), "text": (20, 20, 20), "muted": (110, 110, 110)}
ROW_H, BAR_H, LEFT, RIGHT, TOP_PAD, PANEL_GAP = 16, 12, 110, 30, 34, 26
WIDTH = 1400


def _bar_color(piece: dict, target: str) -> tuple[int, int, int]:
    if piece["kind"] == "step":
        return COLORS["step_target"] if piece["label"].endswith(" " + target) else COLORS["step_first"]
    return COLORS.get(piece["kind"], COLORS["muted"])


def _tick(span: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if span / step <= 12:
            return float(step)
    return 1200.0


def draw(title: str, nodes: list[str], runs: list[dict], target: str, path) -> None:
    """runs: [{"label", "window": [on, off], "bars": [...], "bound_s"}] (times absolute).

    Each run's axis starts at its window's start; bars before it (prefetch is not in runs)
    are clipped."""
    spans = [max([r["window"][1] - r["window"][0], r.get("bound_s", 0.0)]
                 + [b["end"] - r["window"][0] for b in r["bars"]]) for r in runs]
    span = max(spans + [1.0]) * 1.03
    plot_w = WIDTH - LEFT - RIGHT
    panel_h = TOP_PAD + ROW_H * len(nodes) + 18
    height = 40 + len(runs) * (panel_h + PANEL_GAP) + 30
    canvas = Canvas(WIDTH, height)
    canvas.text(10, 10, title, COLORS["text"], scale=2)

    def x_of(t: float) -> float:
        return LEFT + plot_w * max(0.0, t) / span

    y0 = 40
    for run in runs:
        on, off = run["window"]
        canvas.text(10, y0 + 4, run["label"], COLORS["text"], scale=1)
        top = y0 + TOP_PAD
        bottom = top + ROW_H * len(nodes)
        canvas.rect(x_of(0), top, x_of(off - on), bottom, COLORS["window"])
        tick = _tick(span)
        t = 0.0
        while t <= span:
            canvas.rect(x_of(t), top, x_of(t) + 1, bottom, COLORS["grid"])
            canvas.text(x_of(t) - 6, bottom + 4, f"{t:g}s", COLORS["muted"])
            t += tick
        for i, node in enumerate(nodes):
            canvas.text(10, top + i * ROW_H + 4, node, COLORS["text"])
        row = {n: i for i, n in enumerate(nodes)}
        for piece in run["bars"]:
            if piece["node"] not in row or piece["end"] < on:
                continue
            y = top + row[piece["node"]] * ROW_H + (ROW_H - BAR_H) / 2
            canvas.rect(x_of(piece["start"] - on), y, x_of(piece["end"] - on), y + BAR_H,
                        _bar_color(piece, target))
        if run.get("bound_s"):
            xb = x_of(run["bound_s"])
            canvas.rect(xb, top - 4, xb + 2, bottom + 2, COLORS["bound"])
        y0 += panel_h + PANEL_GAP
    x = 10
    for label, key in (("window", "window"), ("step (first release)", "step_first"),
                       ("step (target)", "step_target"), ("retire", "retire"),
                       ("restart", "restart"), ("lower bound", "bound")):
        canvas.rect(x, y0 + 2, x + 14, y0 + 11, COLORS[key])
        x = canvas.text(x + 18, y0 + 3, label, COLORS["text"]) + 16
    canvas.save(path)
