# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.stackato.cluster.plugins.modules import stackato_app_instances

from ansible_collections.stackato.cluster.tests.unit.plugins.module_utils.ccapi_fake import (
    API,
    PASSWORD,
    app,
    http_error,
    page,
    stats,
)

ARGS = {"api_url": API, "api_password": PASSWORD}
# now: web runs 2 (one on each DEA), api 1
ROUTES = {
    ("GET", API + "/v2/apps"): page([app("g1", "web", 256, 2), app("g3", "api", 640, 1)]),
    ("GET", API + "/v2/apps/g1/stats"): stats(("RUNNING", "127.42.0.13"), ("STARTING", "127.42.0.14")),
    ("GET", API + "/v2/apps/g3/stats"): stats(("RUNNING", "127.42.0.14")),
}


def inst(app_name, state="RUNNING", host="127.42.0.13"):
    return {"app": app_name, "state": state, "host": host}


@pytest.mark.parametrize("before, short", [
    ([inst("web"), inst("web"), inst("api")], []),                        # as many as before (STARTING counts)
    ([inst("web")], []),                                                   # more than before
    ([inst("web"), inst("web"), inst("web")], ["web: 3 -> 2"]),            # one short
    ([inst("gone")], ["gone: 1 -> 0"]),                                    # an app that runs none now
    ([inst("web", "DOWN"), inst("web"), inst("web")], []),                 # a DOWN instance before did not count
])
@pytest.mark.parametrize("check", [False, True])
def test_compares_with_before(run_module, api, before, short, check):
    api(ROUTES)
    result, failed, dummy = run_module(stackato_app_instances, dict(ARGS, before=before), check=check)
    assert failed is bool(short)
    assert result["short"] == short and result["changed"] is False
    assert sorted(i["app"] for i in result["instances"]) == ["api", "web", "web"]
    if short:
        assert "fewer instances than before" in result["msg"] and ", ".join(short) in result["msg"]
    assert PASSWORD not in json.dumps(result)


def test_empty_before_reads_nothing(run_module, api):
    fake = api({})
    result, failed, dummy = run_module(stackato_app_instances, dict(ARGS, before=[]))
    assert not failed and result["instances"] == [] and fake.calls == []


def test_api_failure_names_the_fix(run_module, api):
    api({("GET", API + "/v2/apps"): http_error(API + "/v2/apps", 503, {"description": "down"})})
    result, failed, dummy = run_module(stackato_app_instances, dict(ARGS, before=[inst("web")]))
    assert failed and result["status"] == 503 and "HTTP 503" in result["msg"]


@pytest.mark.parametrize("check, short", [(False, False), (True, False), (False, True)])
def test_progress_records_verify_only_when_the_check_passes(run_module, api, tmp_path, check, short):
    api(ROUTES)
    record = tmp_path / "progress.json"
    before = [inst("web")] * (3 if short else 2)
    args = dict(ARGS, before=before, progress={"path": str(record), "target": "3.6.2", "step": "verify"})
    result, failed, dummy = run_module(stackato_app_instances, args, check=check)
    assert failed is short
    assert record.exists() is (not check and not short)
    if not short:
        assert result["progress"]["done"] == ["verify"] and result["changed"] is True
        if not check:
            again, failed, dummy = run_module(stackato_app_instances, args)
            assert not failed and again["changed"] is False
