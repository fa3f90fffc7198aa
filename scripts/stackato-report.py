# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The report (report.json, report.html) of a recorded event log of the callback stackato.cluster.upgrade_progress.

    python3 scripts/stackato-report.py stackato-runs/20260101T000000Z/events.jsonl [--traffic FILE] [--out DIR]

Default --out: the log's directory; default --traffic: traffic.json there, when present.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys

_SPEC = importlib.util.spec_from_file_location(
    "_report", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins", "module_utils", "_report.py"))
_report = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_report)
read_events, write_report = _report.read_events, _report.write_report


def main(argv=None):
    """Build the report of a recorded event log: ``_report.py EVENTS [--traffic FILE] [--out DIR]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(main.__doc__)
        return 0 if args else 2
    path, traffic, out = args[0], None, os.path.dirname(os.path.abspath(args[0]))
    default_traffic = os.path.join(out, "traffic.json")
    if "--traffic" not in args and os.path.isfile(default_traffic):
        args += ["--traffic", default_traffic]
    for flag, value in zip(args[1::2], args[2::2]):
        if flag == "--traffic":
            with open(value, encoding="utf-8") as handle:
                traffic = json.load(handle)
        elif flag == "--out":
            out = value
    os.makedirs(out, exist_ok=True)
    report, json_path, html_path = write_report(read_events(path), out, traffic)
    print(f"report ({report['result']}): {html_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
