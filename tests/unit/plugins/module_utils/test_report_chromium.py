# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""report.html of a recorded event log in headless Chromium (loopback only, every fetch refused):
the page shows every node, its versions and the window; the screenshot is a picture, not a blank.
The molecule scenario `report` does the same with the report of a real run."""

from __future__ import annotations

import sys
from pathlib import Path

from ansible_collections.stackato.cluster.plugins.module_utils import _report

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "molecule" / "resources" / "tests"))
import browser  # noqa: E402  pylint: disable=wrong-import-position

LOG = Path(__file__).parent / "fixtures" / "report-micro-events.jsonl"


def test_report_in_headless_chromium(tmp_path):
    assert browser.chromium(), "Debian's chromium is not installed (scripts/setup.sh installs it)"
    events = _report.read_events(LOG)
    # a second node, so that "every node" means more than one row
    events.insert(1, _report.event("version", events[0]["ts"], node="dea9", version="3.4.2"))
    report, _json, page = _report.write_report(events, tmp_path)
    dom = browser.open_page(Path(page), tmp_path / "report.png")
    assert browser.node_cells(dom) == [n["name"] for n in report["nodes"]] == ["micro", "dea9"]
    assert "3.4.2 → 3.6.2" in dom and "Maintenance window: 0:11" in dom
    assert dom.count("<rect") >= 10
    figures = browser.png_figures(tmp_path / "report.png")
    assert (figures["width"], figures["height"]) == (1100, 700)
    assert figures["distinct_rows"] > 50 and figures["non_blank_share"] > 0.2, figures
