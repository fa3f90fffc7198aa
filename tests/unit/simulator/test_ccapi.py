# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Cloud Controller v2 API subset (kato-contract.md section 5) on the host: HTTP, and HTTPS
with a throwaway certificate."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

CORE = {"name": "core", "roles": ["primary", "controller", "router"]}
NODES = [CORE, {"name": "dea1", "roles": ["dea"], "dea_memory_mb": 1024},
         {"name": "dea2", "roles": ["dea"], "dea_memory_mb": 1024}]
APPS = [{"name": "web", "instances": 2, "memory_mb": 256},
        {"name": "api", "instances": 1, "memory_mb": 128},
        {"name": "worker", "instances": 1, "memory_mb": 512}]
CREDS = {"username": "admin", "password": "s3cret"}
NO_PROXY = urllib.request.ProxyHandler({})


class Api:
    def __init__(self, base: str, context: ssl.SSLContext | None = None):
        handlers = [NO_PROXY] + ([urllib.request.HTTPSHandler(context=context)] if context else [])
        self.base, self.opener = base, urllib.request.build_opener(*handlers)

    def request(self, method, path, token=None, data=None, headers=None):
        """(status, JSON body); errors are answers too."""
        url = path if path.startswith("http") else self.base + path
        req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
        if token:
            req.add_header("Authorization", f"bearer {token}")
        try:
            with self.opener.open(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def token(self, username="admin", password="s3cret", client="cf:"):
        status, info = self.request("GET", "/v2/info")
        assert status == 200
        form = urllib.parse.urlencode({"grant_type": "password", "username": username,
                                       "password": password}).encode()
        basic = base64.b64encode(client.encode()).decode()
        return self.request("POST", info["token_endpoint"] + "/oauth/token", data=form,
                            headers={"Authorization": f"Basic {basic}",
                                     "Content-Type": "application/x-www-form-urlencoded"})


@pytest.fixture(scope="module")
def served(sim_cluster_module):
    cluster = sim_cluster_module(nodes=NODES, apps=APPS, api=CREDS)
    api = Api(cluster.start_api())
    status, body = api.token()
    assert status == 200, body
    return cluster, api, body["access_token"]


def all_apps(api, token, per_page):
    found, path, pages = [], f"/v2/apps?results-per-page={per_page}", 0
    while path:
        status, body = api.request("GET", path, token)
        assert status == 200, body
        found += body["resources"]
        path, pages = body["next_url"], pages + 1
    return found, pages


def test_info_names_the_token_endpoint(served):
    cluster, api, dummy = served
    status, info = api.request("GET", "/v2/info")
    assert status == 200
    assert info["token_endpoint"] == f"http://{cluster.primary.ip}:{cluster.api_port}/aok"
    assert info["authorization_endpoint"] == info["token_endpoint"]


def test_token_by_password_grant(served):
    dummy, api, token = served
    status, body = api.token()
    assert status == 200 and body["token_type"] == "bearer" and body["access_token"] != token
    assert api.token(password="wrong")[0] == 401
    assert api.token(username="root")[0] == 401
    assert api.token(client="cf:secret")[0] == 401
    assert api.token(client="other:")[0] == 401


def test_every_v2_route_but_info_needs_a_token(served):
    dummy, api, dummy_token = served
    for path in ("/v2/apps", "/v2/buildpacks", "/v2/apps/x/stats"):
        status, body = api.request("GET", path)
        assert status == 401 and body["error_code"] == "CF-NotAuthenticated"
        status, body = api.request("GET", path, token="not-a-token")
        assert status == 401 and body["error_code"] == "CF-InvalidAuthToken"


def test_apps_are_paged(served):
    dummy, api, token = served
    apps, pages = all_apps(api, token, 2)
    assert pages == 2
    assert [(a["entity"]["name"], a["entity"]["memory"], a["entity"]["instances"],
             a["entity"]["state"]) for a in apps] == [
        ("api", 128, 1, "STARTED"), ("web", 256, 2, "STARTED"), ("worker", 512, 1, "STARTED")]
    assert len({a["metadata"]["guid"] for a in apps}) == 3
    status, first = api.request("GET", "/v2/apps?results-per-page=2", token)
    assert first["total_results"] == 3 and first["total_pages"] == 2 and first["prev_url"] is None
    assert api.request("GET", "/v2/apps?results-per-page=500", token)[0] == 400
    assert all_apps(api, token, 50)[1] == 1


def test_guids_are_stable(served, sim_cluster):
    dummy, api, token = served
    guids = [a["metadata"]["guid"] for a in all_apps(api, token, 50)[0]]
    other = sim_cluster(nodes=NODES, apps=APPS, api=CREDS, name=served[0].cluster_conf["cluster"])
    again = Api(other.start_api())
    again_token = again.token()[1]["access_token"]
    assert [a["metadata"]["guid"] for a in all_apps(again, again_token, 50)[0]] == guids


def test_stats_follow_the_placement(served):
    cluster, api, token = served
    apps = {a["entity"]["name"]: a["metadata"]["guid"] for a in all_apps(api, token, 50)[0]}
    placement = {a["name"]: a["placement"] for a in cluster.client().apps()}
    deas = {cluster.node("dea1").ip, cluster.node("dea2").ip}
    for name, app_guid in apps.items():
        status, stats = api.request("GET", f"/v2/apps/{app_guid}/stats", token)
        assert status == 200
        assert sorted(stats) == [str(i) for i in range(len(placement[name]))]
        for index, inst in stats.items():
            assert inst["state"] == "RUNNING"
            assert inst["stats"]["host"] == placement[name][int(index)]["dea"]
            assert inst["stats"]["host"] in deas
            memory = next(a["memory_mb"] for a in APPS if a["name"] == name)
            assert inst["stats"]["mem_quota"] == memory * 1024 * 1024
            assert 0 < inst["stats"]["usage"]["mem"] <= inst["stats"]["mem_quota"]
            assert isinstance(inst["stats"]["port"], int)
    web = sorted(i["dea"] for i in placement["web"])
    assert web == sorted(deas)     # an app's instances are spread


def test_unknown_guid_is_404(served):
    dummy, api, token = served
    for path in ("/v2/apps/00000000-0000-0000-0000-000000000000",
                 "/v2/apps/00000000-0000-0000-0000-000000000000/stats"):
        status, body = api.request("GET", path, token)
        assert status == 404 and body["error_code"] == "CF-AppNotFound"
    assert api.request("GET", "/v2/nothing", token)[0] == 404


def test_a_stopped_dea_shows_its_instances_down(sim_cluster):
    cluster = sim_cluster(nodes=NODES, apps=APPS[:1], api=CREDS)
    api = Api(cluster.start_api())
    token = api.token()[1]["access_token"]
    app_guid = all_apps(api, token, 50)[0][0]["metadata"]["guid"]
    dea1 = cluster.node("dea1")
    assert dea1.kato("process", "stop", "dea_ng").returncode == 0
    stats = api.request("GET", f"/v2/apps/{app_guid}/stats", token)[1]
    states = {i["stats"]["host"]: i["state"] for i in stats.values()}
    assert states == {dea1.ip: "DOWN", cluster.node("dea2").ip: "RUNNING"}


def test_maintenance_mode_makes_writes_503(sim_cluster):
    cluster = sim_cluster(nodes=NODES[:1], api=CREDS)
    api = Api(cluster.start_api())
    token = api.token()[1]["access_token"]
    new = json.dumps({"name": "custom-ruby", "position": 1}).encode()
    hdr = {"Content-Type": "application/json"}
    core = cluster.node("core")
    assert core.kato("config", "set", "cloud_controller_ng", "maintenance_mode", "true").returncode == 0
    status, body = api.request("POST", "/v2/buildpacks", token, new, hdr)
    assert status == 503
    assert body["description"] == "Maintenance mode is enabled. The Cloud Controller is read-only."
    assert api.request("PUT", "/v2/apps/x", token, b"{}", hdr)[0] == 503
    assert api.request("GET", "/v2/buildpacks", token)[0] == 200    # reads still work
    assert api.token()[0] == 200                                     # and so does a login
    assert api.request("POST", "/v2/buildpacks", None, new, hdr)[0] == 401
    assert core.kato("config", "set", "cloud_controller_ng", "maintenance_mode", "false").returncode == 0
    status, body = api.request("POST", "/v2/buildpacks", token, new, hdr)
    assert status == 201 and body["entity"]["name"] == "custom-ruby"
    names = [b["entity"]["name"] for b in api.request("GET", "/v2/buildpacks", token)[1]["resources"]]
    assert "custom-ruby" in names


def test_https_with_a_certificate_for_the_core_address(sim_cluster, tmp_path):
    cluster = sim_cluster(nodes=NODES[:1], api=CREDS)
    ip = cluster.primary.ip
    cert, key = tmp_path / "api.pem", tmp_path / "api.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=api",
                    "-addext", f"subjectAltName=IP:{ip},DNS:api.example.test",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    base = cluster.start_api(str(cert), str(key))
    assert base == f"https://{ip}:{cluster.api_port}"
    api = Api(base, ssl.create_default_context(cafile=str(cert)))   # verifies name and chain
    status, body = api.token()
    assert status == 200, body
    assert api.request("GET", "/v2/info")[1]["token_endpoint"].startswith(f"https://{ip}:")
    assert api.request("GET", "/v2/apps", body["access_token"])[1]["total_results"] == 0
    untrusted = Api(base, ssl.create_default_context())
    with pytest.raises(urllib.error.URLError):
        untrusted.request("GET", "/v2/info")


def test_buildpack_create_position_bits_and_download(sim_cluster):
    cluster = sim_cluster(nodes=NODES[:1], api=CREDS)
    api = Api(cluster.start_api())
    token = api.token()[1]["access_token"]
    hdr = {"Content-Type": "application/json"}

    def listed():
        return [(b["entity"]["name"], b["entity"]["position"], b["entity"]["locked"])
                for b in api.request("GET", "/v2/buildpacks", token)[1]["resources"]]
    before = listed()
    status, body = api.request("POST", "/v2/buildpacks", token,
                               json.dumps({"name": "mine", "position": 2, "locked": True}).encode(), hdr)
    assert status == 201 and body["entity"]["position"] == 2 and body["entity"]["locked"] is True
    after = listed()
    assert after[1] == ("mine", 2, True) and len(after) == len(before) + 1
    assert [b[0] for b in after if b[0] != "mine"] == [b[0] for b in before]
    assert [b[1] for b in after] == list(range(1, len(after) + 1))
    g = body["metadata"]["guid"]
    assert api.request("GET", f"/v2/buildpacks/{g}/download", token)[0] == 404
    boundary = "xXx"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"buildpack\"; filename=\"mine-1.zip\"\r\n"
                 f"Content-Type: application/zip\r\n\r\n").encode() + b"PK\x03\x04zip" + f"\r\n--{boundary}--\r\n".encode()
    status, body = api.request("PUT", f"/v2/buildpacks/{g}/bits", token, multipart,
                               {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 201 and body["entity"]["filename"] == "mine-1.zip"
    req = urllib.request.Request(api.base + f"/v2/buildpacks/{g}/download",
                                 headers={"Authorization": f"bearer {token}"})
    with api.opener.open(req, timeout=10) as resp:
        assert resp.read() == b"PK\x03\x04zip"
    status, body = api.request("PUT", f"/v2/buildpacks/{g}", token, json.dumps({"position": 1}).encode(), hdr)
    assert status == 201 and listed()[0][:2] == ("mine", 1)
