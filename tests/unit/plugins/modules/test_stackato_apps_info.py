# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
from urllib.error import URLError

import pytest

from ansible_collections.stackato.cluster.plugins.modules import stackato_apps_info

from ansible_collections.stackato.cluster.tests.unit.plugins.module_utils.ccapi_fake import (
    API,
    PASSWORD,
    TOKEN,
    UAA,
    app,
    http_error,
    page,
    stats,
)

ARGS = {"api_url": API, "api_password": PASSWORD, "ca_path": "/etc/stackato-sim/upstream-ca.pem"}
ROUTES = {
    ("GET", API + "/v2/apps"): page([app("g1", "web", 256, 2), app("g2", "batch", 1024, 1, "STOPPED")], "/v2/apps?page=2"),
    ("GET", API + "/v2/apps?page=2"): page([app("g3", "api", 640, 1)]),
    ("GET", API + "/v2/apps/g1/stats"): stats(("RUNNING", "127.42.0.13"), ("RUNNING", "127.42.0.14")),
    ("GET", API + "/v2/apps/g3/stats"): stats(("RUNNING", "127.42.0.14")),
}


@pytest.mark.parametrize("check", [False, True])
def test_reads_apps_and_instances(run_module, api, check):
    fake = api(ROUTES)
    result, failed, warnings = run_module(stackato_apps_info, ARGS, check=check)
    assert not failed and result["changed"] is False and warnings == []
    assert [a["name"] for a in result["apps"]] == ["api", "batch", "web"]
    assert result["apps"][1] == {"guid": "g2", "name": "batch", "memory_mb": 1024, "instances": 1, "state": "STOPPED"}
    assert result["instances"] == [
        {"app": "api", "guid": "g3", "index": 0, "memory_mb": 640, "host": "127.42.0.14", "state": "RUNNING"},
        {"app": "web", "guid": "g1", "index": 0, "memory_mb": 256, "host": "127.42.0.13", "state": "RUNNING"},
        {"app": "web", "guid": "g1", "index": 1, "memory_mb": 256, "host": "127.42.0.14", "state": "RUNNING"},
    ]
    # Only reads: GETs, plus the one POST of the token request.
    assert [c["method"] for c in fake.calls].count("POST") == 1
    assert {c["method"] for c in fake.calls} == {"GET", "POST"}
    assert ("GET", API + "/v2/apps/g2/stats") not in fake.requests()
    assert all(c["kwargs"]["ca_path"] == "/etc/stackato-sim/upstream-ca.pem" for c in fake.calls)
    text = json.dumps(result)
    assert PASSWORD not in text and TOKEN not in text


def test_wrong_password_fails_naming_url_status_and_fix(run_module, api):
    api({("POST", UAA + "/oauth/token"): http_error(UAA + "/oauth/token", 401, {"error_description": "Bad credentials"})})
    result, failed, dummy = run_module(stackato_apps_info, ARGS)
    assert failed
    assert result["url"] == UAA + "/oauth/token" and result["status"] == 401
    assert "HTTP 401" in result["msg"] and "check stackato_api_username/stackato_api_password" in result["msg"]
    assert PASSWORD not in json.dumps(result)


def test_tls_failure_names_ca_path(run_module, api):
    api({("GET", API + "/v2/info"): URLError(OSError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))})
    result, failed, dummy = run_module(stackato_apps_info, dict(ARGS, validate_certs=True))
    assert failed and result["status"] is None
    assert "set stackato_api_ca_path" in result["msg"] and "validate_certs" in result["msg"]


def test_password_is_required(run_module):
    result, failed, dummy = run_module(stackato_apps_info, {"api_url": API})
    assert failed and "api_password" in result["msg"]
