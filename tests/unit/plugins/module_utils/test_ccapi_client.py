# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Cloud Controller client: URLs, methods, headers, form body and paging pinned with a fake open_url."""

from __future__ import annotations

import ssl
from urllib.error import URLError
from urllib.parse import parse_qs

import pytest

from ansible_collections.stackato.cluster.plugins.module_utils._ccapi import CloudControllerClient, CloudControllerError
from ansible_collections.stackato.cluster.tests.unit.plugins.module_utils.ccapi_fake import (
    API,
    BASIC_CF,
    PASSWORD,
    TOKEN,
    TOKEN_ANSWER,
    UAA,
    Response,
    app,
    http_error,
    page,
    stats,
)


def client(**kwargs):
    args = dict(validate_certs=True, ca_path="/etc/stackato-sim/upstream-ca.pem", timeout=12.5)
    args.update(kwargs)
    return CloudControllerClient(None, API + "/", "admin", PASSWORD, **args)


def test_token_then_paged_apps(api):
    fake = api({
        ("GET", API + "/v2/apps"): page([app("g2", "worker", 512, 1, "STOPPED")], "/v2/apps?page=2&results-per-page=1"),
        ("GET", API + "/v2/apps?page=2&results-per-page=1"): page([app("g1", "web", 256, 2)]),
    })
    apps = client().apps()
    assert apps == [
        {"guid": "g1", "name": "web", "memory_mb": 256, "instances": 2, "state": "STARTED"},
        {"guid": "g2", "name": "worker", "memory_mb": 512, "instances": 1, "state": "STOPPED"},
    ]
    assert fake.requests() == [
        ("GET", API + "/v2/info"),
        ("POST", UAA + "/oauth/token"),
        ("GET", API + "/v2/apps"),
        ("GET", API + "/v2/apps?page=2&results-per-page=1"),
    ]
    info, token, first, second = fake.calls
    assert "Authorization" not in info["headers"]
    assert token["headers"]["Authorization"] == BASIC_CF
    assert token["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token["data"]) == {"grant_type": ["password"], "username": ["admin"], "password": [PASSWORD]}
    for call in (first, second):
        assert call["headers"]["Authorization"] == f"bearer {TOKEN}"
        assert call["data"] is None
    for call in fake.calls:
        assert call["kwargs"]["validate_certs"] is True
        assert call["kwargs"]["ca_path"] == "/etc/stackato-sim/upstream-ca.pem"
        assert call["kwargs"]["timeout"] == 12.5


def test_authorization_endpoint_when_no_token_endpoint(api):
    fake = api({
        ("GET", API + "/v2/info"): {"authorization_endpoint": API + "/aok/"},
        ("POST", API + "/aok/oauth/token"): TOKEN_ANSWER,
        ("GET", API + "/v2/apps"): page([]),
    })
    assert client().apps() == []
    assert fake.requests()[1] == ("POST", API + "/aok/oauth/token")


def test_instances_of_started_apps_only(api):
    fake = api({
        ("GET", API + "/v2/apps"): page([app("g1", "web", 256, 3), app("g2", "worker", 512, 1, "STOPPED"),
                                         app("g3", "api", 640, 1)]),
        ("GET", API + "/v2/apps/g1/stats"): stats(("RUNNING", "127.42.0.13"), ("STARTING", "127.42.0.14"), ("DOWN", None)),
        ("GET", API + "/v2/apps/g3/stats"): stats(("RUNNING", "127.42.0.14")),
    })
    instances = client().instances()
    assert instances == [
        {"app": "api", "guid": "g3", "index": 0, "memory_mb": 640, "host": "127.42.0.14", "state": "RUNNING"},
        {"app": "web", "guid": "g1", "index": 0, "memory_mb": 256, "host": "127.42.0.13", "state": "RUNNING"},
        {"app": "web", "guid": "g1", "index": 1, "memory_mb": 256, "host": "127.42.0.14", "state": "STARTING"},
        {"app": "web", "guid": "g1", "index": 2, "memory_mb": 256, "host": None, "state": "DOWN"},
    ]
    assert ("GET", API + "/v2/apps/g2/stats") not in fake.requests()
    assert fake.requests().count(("POST", UAA + "/oauth/token")) == 1


def test_instances_of_given_apps_do_not_list_again(api):
    fake = api({("GET", API + "/v2/apps/g1/stats"): stats(("RUNNING", "127.42.0.13"))})
    apps = [{"guid": "g1", "name": "web", "memory_mb": 128, "instances": 1, "state": "STARTED"}]
    assert client().instances(apps)[0]["memory_mb"] == 128
    assert ("GET", API + "/v2/apps") not in fake.requests()


def test_unstaged_app_counts_no_instances_with_a_warning(api):
    api({
        ("GET", API + "/v2/apps"): page([app("g1", "web")]),
        ("GET", API + "/v2/apps/g1/stats"): http_error(API + "/v2/apps/g1/stats", 400,
                                                       {"code": 170002, "description": "App has not finished staging"}),
    })
    cc = client()
    assert cc.instances() == []
    assert "not finished staging" in cc.warnings[0]


def test_expired_token_is_renewed_once(api):
    url = API + "/v2/apps"
    fake = api({("GET", url): [http_error(url, 401, {"error": "invalid_token"}), page([])]})
    assert client().apps() == []
    assert fake.requests().count(("POST", UAA + "/oauth/token")) == 2


def test_next_url_to_another_host_is_not_followed(api):
    fake = api({("GET", API + "/v2/apps"): page([], "https://127.42.0.99/v2/apps?page=2")})
    with pytest.raises(CloudControllerError) as exc_info:
        client().apps()
    assert "not following it" in exc_info.value.msg
    assert ("GET", "https://127.42.0.99/v2/apps?page=2") not in fake.requests()


def test_plain_http_token_endpoint_refused_for_https_api(api):
    fake = api({("GET", API + "/v2/info"): {"token_endpoint": "http://127.42.0.11/aok"}})
    with pytest.raises(CloudControllerError) as exc_info:
        client().apps()
    assert "not HTTPS" in exc_info.value.msg
    assert all(call["method"] != "POST" for call in fake.calls)


@pytest.mark.parametrize("error, parts, status", [
    (http_error(UAA + "/oauth/token", 401, {"error": "unauthorized", "error_description": "Bad credentials"}),
     ["POST " + UAA + "/oauth/token", "HTTP 401", "Bad credentials",
      "check stackato_api_username/stackato_api_password"], 401),
    (http_error(UAA + "/oauth/token", 400, {"error": "invalid_grant", "error_description": f"no user ({PASSWORD})"}),
     ["HTTP 400", "check stackato_api_username/stackato_api_password"], 400),
    (URLError(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")),
     ["POST " + UAA + "/oauth/token", "TLS certificate could not be verified",
      "set stackato_api_ca_path", "to the CA that signed the API certificate", "validate_certs"], None),
    (URLError(ConnectionRefusedError(111, "Connection refused")),
     ["POST " + UAA + "/oauth/token", "Connection refused", "check stackato_api_url"], None),
    (http_error(UAA + "/oauth/token", 503, b"upstream down"), ["HTTP 503", "upstream down", "kato status"], 503),
])
def test_token_failures_name_url_status_and_fix(api, error, parts, status):
    api({("POST", UAA + "/oauth/token"): error})
    with pytest.raises(CloudControllerError) as exc_info:
        client().apps()
    exc = exc_info.value
    for part in parts:
        assert part in exc.msg
    assert exc.url == UAA + "/oauth/token" and exc.status == status
    assert PASSWORD not in exc.msg and PASSWORD not in str(exc)


@pytest.mark.parametrize("status, part", [
    (403, "use an admin account"),
    (404, "check stackato_api_url"),
    (500, "kato status"),
])
def test_read_failures_never_show_the_token(api, status, part):
    url = API + "/v2/apps"
    api({("GET", url): http_error(url, status, {"description": f"echo {TOKEN}"})})
    with pytest.raises(CloudControllerError) as exc_info:
        client().apps()
    exc = exc_info.value
    assert f"GET {url}" in exc.msg and f"HTTP {status}" in exc.msg and part in exc.msg
    assert TOKEN not in exc.msg and exc.status == status


def test_info_tls_failure(api):
    api({("GET", API + "/v2/info"): URLError(ssl.SSLError("CERTIFICATE_VERIFY_FAILED"))})
    with pytest.raises(CloudControllerError) as exc_info:
        client().apps()
    assert "GET " + API + "/v2/info" in exc_info.value.msg and "stackato_api_ca_path" in exc_info.value.msg


def test_not_json_names_the_url(api):
    api({("GET", API + "/v2/info"): Response(b"<html>welcome</html>")})
    with pytest.raises(CloudControllerError) as exc_info:
        client().apps()
    assert "not JSON" in exc_info.value.msg and exc_info.value.status == 200


@pytest.mark.parametrize("url", ["127.42.0.11", "ftp://127.42.0.11", ""])
def test_api_url_must_be_http(url):
    with pytest.raises(CloudControllerError) as exc_info:
        CloudControllerClient(None, url, "admin", PASSWORD)
    assert "is not an http(s) URL" in exc_info.value.msg
