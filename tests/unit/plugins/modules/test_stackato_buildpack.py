# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""stackato_buildpack against the simulator's Cloud Controller routes, called in-process."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ansible_collections.stackato.cluster.plugins.module_utils import _ccapi
from ansible_collections.stackato.cluster.plugins.modules import stackato_buildpack as mod
from ansible_collections.stackato.cluster.tests.unit.plugins.module_utils.ccapi_fake import Response, http_error

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "simulator"))
from stackato_sim import ccapi, state  # noqa: E402  pylint: disable=wrong-import-position

API = "https://127.42.9.11:8443"
SYSTEM = list(state.SHIPPED_BUILDPACKS)


class Bridge:
    """The state server's ops, in this process."""

    def __init__(self, cs):
        self.cs = cs

    def call(self, op, **args):
        return self.cs.handle(op, args)

    def buildpacks(self):
        return self.call("buildpacks")

    def config_get(self, component, key):
        return self.call("config_get", component=component, key=key)["value"]

    def apps(self):
        return self.call("apps")


@pytest.fixture
def sim(tmp_path, monkeypatch):
    monkeypatch.setenv("STACKATO_SIM_ROOT", str(tmp_path))
    cluster = {"cluster": "bp", "nodes": [{"name": "core", "ip": "127.42.9.11", "roles": ["primary", "controller"]}]}
    cs = state.ClusterState(str(tmp_path / "cluster-state.json"), cluster)
    api = ccapi.Api(Bridge(cs), "bp", "admin", "pw")
    calls = []

    def open_url(url, data=None, headers=None, method=None, **kwargs):
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = data.encode() if isinstance(data, str) else (data or b"")
        calls.append((method, parts.path))
        hdrs = {k.title(): v for k, v in (headers or {}).items()}
        hdrs["Host"] = parts.netloc
        try:
            status, reply = api.handle(method, target, hdrs, body, "https")
        except ccapi.ApiError as exc:
            raise http_error(url, exc.status, exc.body) from None
        return Response(reply if isinstance(reply, bytes) else json.dumps(reply).encode(), status)

    monkeypatch.setattr(_ccapi, "open_url", open_url)
    return {"cs": cs, "calls": calls, "tmp": tmp_path}


def args(**kw):
    return dict({"api_url": API, "api_password": "pw"}, **kw)


def names(result):
    return [(b["name"], b["position"]) for b in result["buildpacks"]]


def test_save_then_restore_after_an_upgrade(run_module, sim, tmp_path):
    zip_a = tmp_path / "a.zip"
    zip_a.write_bytes(b"PK-a")
    result, failed, dummy = run_module(mod, args(name="mine", position=2, archive=str(zip_a), filename="mine-1.zip",
                                                 locked=True))
    assert not failed, result
    assert result["changed"] and result["buildpack"]["position"] == 2 and result["buildpack"]["filename"] == "mine-1.zip"
    again, failed, dummy = run_module(mod, args(name="mine", position=2, archive=str(zip_a), filename="mine-1.zip",
                                                locked=True))
    assert not failed and again["changed"] is False

    dest = tmp_path / "saved"
    saved, failed, dummy = run_module(mod, args(state="saved", dest=str(dest), system=SYSTEM))
    assert not failed, saved
    assert [(b["name"], b["position"], b["locked"]) for b in saved["custom"]] == [("mine", 2, True), ("custom-go", 8, False)]
    assert (dest / "mine.zip").read_bytes() == b"PK-a"
    assert saved["changed"] is True
    again, failed, dummy = run_module(mod, args(state="saved", dest=str(dest), system=SYSTEM), check=True)
    assert again["changed"] is False

    sim["cs"].handle("remove_custom_buildpacks", {})    # what the upgrade does
    for bp in saved["custom"]:
        spec = dict(name=bp["name"], position=bp["position"], locked=bp["locked"], enabled=bp["enabled"],
                    archive=bp["archive"], filename=bp["filename"])
        result, failed, dummy = run_module(mod, args(**spec), check=True)
        assert not failed and result["changed"] is True
        result, failed, dummy = run_module(mod, args(**spec), diff=True)
        assert not failed, result
    assert names(result) == [(b["name"], b["position"]) for b in saved["buildpacks"]]
    result, failed, dummy = run_module(mod, args(**spec))
    assert result["changed"] is False


def test_moves_an_existing_one_and_needs_an_archive_to_create(run_module, sim):
    result, failed, dummy = run_module(mod, args(name="custom-go", position=1))
    assert not failed and result["changed"] and names(result)[0] == ("custom-go", 1)
    result, failed, dummy = run_module(mod, args(name="nope"))
    assert failed and "archive" in result["msg"]


def test_maintenance_mode_refusal_says_so(run_module, sim, tmp_path):
    sim["cs"].handle("config_set", {"component": "cloud_controller_ng", "key": "maintenance_mode", "value": True})
    zip_a = tmp_path / "a.zip"
    zip_a.write_bytes(b"PK")
    result, failed, dummy = run_module(mod, args(name="x", archive=str(zip_a)))
    assert failed and result["status"] == 503 and "maintenance mode is on" in result["msg"]
