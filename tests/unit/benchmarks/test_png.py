# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""benchmarks/png.py and timeline.py: a valid PNG with the pixels drawn where they were drawn."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from benchmarks import png, timeline  # noqa: E402  pylint: disable=wrong-import-position,import-error


def pixel(rgb: bytes, width: int, x: int, y: int) -> tuple[int, int, int]:
    i = (y * width + x) * 3
    return tuple(rgb[i:i + 3])


def test_rect_is_where_it_was_drawn_and_clipped():
    canvas = png.Canvas(20, 10)
    canvas.rect(2, 3, 5, 6, (255, 0, 0))
    canvas.rect(15, 8, 40, 40, (0, 0, 255))   # clipped at the edges
    width, height, rgb = png.read_png_rgb(canvas.png())
    assert (width, height) == (20, 10)
    assert pixel(rgb, width, 2, 3) == (255, 0, 0) and pixel(rgb, width, 4, 5) == (255, 0, 0)
    assert pixel(rgb, width, 5, 5) == (255, 255, 255) and pixel(rgb, width, 1, 3) == (255, 255, 255)
    assert pixel(rgb, width, 19, 9) == (0, 0, 255)


def test_a_zero_width_bar_still_shows():
    canvas = png.Canvas(10, 4)
    canvas.rect(3.2, 0, 3.2, 4, (0, 0, 0))
    _width, _height, rgb = png.read_png_rgb(canvas.png())
    assert pixel(rgb, 10, 3, 1) == (0, 0, 0)


def test_text_draws_glyphs():
    canvas = png.Canvas(40, 9)
    end = canvas.text(1, 1, "i1", (0, 0, 0))
    assert end == 1 + 2 * 6
    _width, _height, rgb = png.read_png_rgb(canvas.png())
    assert pixel(rgb, 40, 1 + 2, 1 + 3) == (0, 0, 0)      # the I's stem
    assert pixel(rgb, 40, 30, 4) == (255, 255, 255)


@pytest.mark.parametrize("size", [(0, 5), (5, 0)])
def test_empty_canvas_is_refused(size):
    with pytest.raises(ValueError):
        png.Canvas(*size)


def test_read_back_refuses_a_corrupt_png():
    data = bytearray(png.Canvas(3, 3).png())
    data[20] ^= 0xFF
    with pytest.raises(ValueError, match="CRC"):
        png.read_png_rgb(bytes(data))


def test_timeline_draws_both_runs(tmp_path):
    runs = [{"label": "kato", "window": [100.0, 110.0], "bound_s": 6.0,
             "bars": [{"node": "core", "kind": "step", "label": "kato 3.6.2", "start": 101.0, "end": 105.0}]},
            {"label": "playbook", "window": [200.0, 207.0], "bound_s": 6.0,
             "bars": [{"node": "dea1", "kind": "restart", "label": "restart", "start": 205.0, "end": 206.0}]}]
    out = tmp_path / "t.png"
    timeline.draw("small", ["core", "dea1"], runs, "3.6.2", out)
    width, height, rgb = png.read_png_rgb(out.read_bytes())
    assert width == timeline.WIDTH and height > 100
    colors = {tuple(rgb[i:i + 3]) for i in range(0, len(rgb), 3)}
    for key in ("step_target", "restart", "window", "bound"):
        assert timeline.COLORS[key] in colors, key
