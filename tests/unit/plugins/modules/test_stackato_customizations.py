# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""stackato_customizations against node trees the simulator's release installer writes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ansible_collections.stackato.cluster.plugins.modules import stackato_customizations as mod

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "simulator"))
from stackato_sim import releases  # noqa: E402  pylint: disable=wrong-import-position

ROLES = ["base", "controller", "primary", "router"]


@pytest.fixture
def node(tmp_path, monkeypatch):
    monkeypatch.setenv("STACKATO_SIM_ROOT", str(tmp_path))
    releases.install_components("3.4.2", ROLES)
    return tmp_path


def edit(root, path, text=None, append=None, replace=None):
    f = root / path.lstrip("/")
    f.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        f.write_text(text)
    if append:
        f.write_text(f.read_text() + append)
    if replace:
        f.write_text(f.read_text().replace(*replace))


def customize(root):
    edit(root, "/s/code/console/lib/console.rb", append="# local patch\n")            # merges
    edit(root, "/s/code/aok/theme/custom.css", text="body {}\n")                       # new in /s/code
    edit(root, "/s/etc/nginx/nginx.conf", replace=("worker_processes 2;", "worker_processes 8;"))
    edit(root, "/s/etc/router2g/router.yml", replace=("# Stackato 3.4.2", "# our router"))  # conflicts
    edit(root, "/s/static/console/img/helion-logo.svg", text="<svg>ours</svg>\n")     # 3.6 brings one
    edit(root, "/s/static/console/js/custom.js", text="// ours\n")


def args(root, state, **kw):
    return dict({"state": state, "archive": str(root / "var/tmp/c.tar.gz"), "root": str(root)}, **kw)


def test_save_finds_new_and_modified_only(run_module, node):
    result, failed, dummy = run_module(mod, args(node, "saved"))
    assert not failed, result
    assert result["files"] == [] and result["changed"] is True
    assert result["components"]["nginx"] == "3.4.2"
    customize(node)
    result, failed, dummy = run_module(mod, args(node, "saved", exclude=["*.css"]), check=True)
    assert not failed, result
    kinds = {f["path"]: f["kind"] for f in result["files"]}
    assert kinds == {
        "/s/code/console/lib/console.rb": "modified",
        "/s/etc/nginx/nginx.conf": "modified",
        "/s/etc/router2g/router.yml": "modified",
        "/s/static/console/img/helion-logo.svg": "new",
        "/s/static/console/js/custom.js": "new",
    }
    assert all(f["mode"] == "0644" for f in result["files"])


def test_no_file_list_fails_closed(run_module, tmp_path):
    (tmp_path / "s/etc").mkdir(parents=True)
    result, failed, dummy = run_module(mod, args(tmp_path, "saved"))
    assert failed and "customizations_require_manifest" in result["msg"]
    result, failed, warnings = run_module(mod, args(tmp_path, "saved", require_manifest=False))
    assert not failed and warnings


def test_upgrade_round_trip(run_module, node):
    customize(node)
    result, failed, dummy = run_module(mod, args(node, "saved"))
    assert not failed, result
    again, failed, dummy = run_module(mod, args(node, "saved"))
    assert again["changed"] is False
    releases.install_components("3.6.0", ROLES)
    releases.install_components("3.6.2", ROLES)
    assert not (node / "s/code/aok/theme/custom.css").exists()

    result, failed, dummy = run_module(mod, args(node, "restored"), check=True)
    assert not failed and result["changed"] is True
    assert not (node / "s/code/aok/theme/custom.css").exists()

    result, failed, dummy = run_module(mod, args(node, "restored"), diff=True)
    assert not failed, result
    assert sorted(result["restored"]) == ["/s/code/aok/theme/custom.css"]
    assert sorted(result["merged"]) == ["/s/code/console/lib/console.rb", "/s/etc/nginx/nginx.conf"]
    assert "/s/static/console/js/custom.js" in result["unchanged"]
    assert sorted(c["path"] for c in result["conflicts"]) == ["/s/etc/router2g/router.yml",
                                                              "/s/static/console/img/helion-logo.svg"]
    assert (node / "s/code/aok/theme/custom.css").read_text() == "body {}\n"
    assert (node / "s/etc/nginx/nginx.conf").read_text() == "# Stackato 3.6.2\nworker_processes 8;\n"
    assert (node / "s/code/console/lib/console.rb").read_text().endswith("end\n# local patch\n")
    assert "VERSION = '3.6.2'" in (node / "s/code/console/lib/console.rb").read_text()
    router = node / "s/etc/router2g/router.yml"
    assert router.read_text().startswith("# Stackato 3.6.2")
    assert Path(f"{router}.customized").read_text().startswith("# our router")
    assert (node / "s/static/console/img/helion-logo.svg").read_text().startswith("<svg><!-- HPE")
    assert (node / "s/static/console/img/helion-logo.svg.customized").read_text() == "<svg>ours</svg>\n"
    assert oct(os.stat(node / "s/code/aok/theme/custom.css").st_mode & 0o777) == "0o644"

    result, failed, dummy = run_module(mod, args(node, "restored"))
    assert not failed and result["changed"] is False
    assert len(result["conflicts"]) == 2

    # a whole second run: save against the new release, restore changes nothing
    result, failed, dummy = run_module(mod, args(node, "saved"))
    assert not failed and result["changed"] is True
    result, failed, dummy = run_module(mod, args(node, "restored"))
    assert not failed and result["changed"] is False, result


def test_restore_without_archive_fails(run_module, node):
    result, failed, dummy = run_module(mod, args(node, "restored"))
    assert failed and "state=saved" in result["msg"]
