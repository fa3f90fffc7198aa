# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One `fragmented` cluster on the documented kato profile: documented forms over SSH, the
Cloud Controller API over HTTPS from a node, the refused retirement, and add-node.

Run with `.venv/bin/pytest tests/harness -q` (as root: podman is rootful here). The tests run
in file order; add-node comes last because it changes the cluster.
"""
from __future__ import annotations

import json

import pytest
import yaml

from harness_support import KATO, cluster, hosts, journal, run_cli, running_cluster, ssh

NAME = "harness-documented"
OCTET = 35
CORE_IP = f"127.42.{OCTET}.11"

# Runs on a node: the API's info, a token by password grant, every app and its instances.
API_PROBE = """
import base64, json, ssl, sys, urllib.parse, urllib.request
base, user, password, ca = sys.argv[1:5]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                     urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca)))
def get(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": f"bearer {token}"} if token else {})
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)
info = get(base + "/v2/info")[1]
form = urllib.parse.urlencode({"grant_type": "password", "username": user, "password": password})
req = urllib.request.Request(info["token_endpoint"] + "/oauth/token", data=form.encode(),
                             headers={"Authorization": "Basic " + base64.b64encode(b"cf:").decode()})
token = json.load(opener.open(req, timeout=10))["access_token"]
out = {"unauthorized": get(base + "/v2/apps")[0], "apps": {}}
url = base + "/v2/apps?results-per-page=4"
while url:
    page = get(url, token)[1]
    for app in page["resources"]:
        stats = get(base + app["metadata"]["url"] + "/stats", token)[1]
        out["apps"][app["entity"]["name"]] = {
            "memory": app["entity"]["memory"],
            "instances": sorted((s["state"], s["stats"]["host"]) for s in stats.values())}
    url = page["next_url"] and base + page["next_url"]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def fragmented():
    with running_cluster("fragmented", NAME, OCTET, "kato_profile=documented",
                         "api.password=harness-pw") as inventory:
        yield inventory


def group_vars(inventory) -> dict:
    return yaml.safe_load((inventory.parent / "group_vars" / "stackato.yml").read_text())


def api_probe(hostvars: dict, inventory) -> dict:
    gv = group_vars(inventory)
    result = ssh(hostvars, f"python3 - {gv['stackato_api_url']} {gv['stackato_api_username']} "
                           f"{gv['stackato_api_password']} {gv['stackato_api_ca_path']} "
                           f"<<'EOF'\n{API_PROBE}EOF\n")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_inventory_names_the_api_and_the_documented_profile(fragmented):
    gv = group_vars(fragmented)
    assert gv["stackato_api_url"] == f"https://{CORE_IP}:{cluster.API_PORT}"
    assert (gv["stackato_api_username"], gv["stackato_api_password"]) == ("admin", "harness-pw")
    assert gv["stackato_api_ca_path"] == "/etc/stackato-sim/upstream-ca.pem"
    found = hosts(fragmented)
    assert not any("stackato_dea_memory_mb" in hv for hv in found.values())   # all 1024 MB
    node = json.loads((cluster.cluster_dir(NAME) / "node-dea1.json").read_text())
    assert node["kato_profile"] == "documented"


def test_documented_forms_over_ssh(fragmented):
    core = hosts(fragmented)["core"]
    result = ssh(core, f"{KATO} version; echo ---; {KATO} node list; echo ---; {KATO} info -j; "
                       f"echo ---; {KATO} config get dea_ng resources/memory_mb --json; echo ---; "
                       f"{KATO} process ready -b 5 all; echo ---; {KATO} process list -j")
    assert result.returncode == 0, result.stderr
    version, listing, info, memory, ready, processes = result.stdout.split("---\n")
    assert version == "Helion Stackato 3.4.2\n"                       # [ours]: bare 3.4.2
    rows = [line.split(None, 1) for line in listing.splitlines()]
    assert rows[0][0] == "Node" and len(rows) == 7                    # a header, six nodes
    assert [r[0] for r in rows[1:]] == [f"127.42.{OCTET}.{n}" for n in range(11, 17)]
    info = json.loads(info)
    assert not {"roles", "available_roles", "dea"} & set(info) and CORE_IP not in info
    assert json.loads(memory) == 1024
    assert ready == "READY\n"
    assert set(json.loads(processes)[CORE_IP].values()) == {"RUNNING"}


def test_ours_only_options_are_refused(fragmented):
    core = hosts(fragmented)["core"]
    block = ssh(core, f"{KATO} process ready --block 5 all")
    assert block.returncode == 1 and block.stderr.startswith("ERROR: unknown option --block")
    status = ssh(core, f"{KATO} node upgrade --status --json")
    assert status.returncode == 0, status.stderr
    assert not {"node", "version", "state"} & set(json.loads(status.stdout))


def test_cc_api_over_https_from_a_node(fragmented):
    answer = api_probe(hosts(fragmented)["router2"], fragmented)
    assert answer["unauthorized"] == 401
    deas = [f"127.42.{OCTET}.{n}" for n in range(13, 17)]
    apps = answer["apps"]
    assert sorted(apps) == ["big1", "big2", "big3", "big4", "small1", "small2"]
    assert [apps[f"big{i}"]["instances"] for i in range(1, 5)] == [[["RUNNING", d]] for d in deas]
    assert apps["small1"]["memory"] == 128 and len(apps["small1"]["instances"]) == 2


def test_the_api_is_also_named_in_the_cluster_domain(fragmented):
    result = ssh(hosts(fragmented)["dea3"], f"getent hosts api.{NAME}.stackato.test")
    assert result.stdout.split()[0] == CORE_IP


def test_retiring_a_dea_of_the_fragmented_cluster_is_refused(fragmented):
    result = ssh(hosts(fragmented)["dea1"], f"{KATO} node retire")
    assert result.returncode == 1 and result.stderr.startswith("ERROR: ")
    assert "cannot retire" not in result.stderr                        # the [ours] wording
    assert any(e["event"] == "dea_retire_refused" for e in journal(NAME))


def test_add_node_joins_a_running_cluster(fragmented):
    added = run_cli("add-node", "--name", NAME, "dea5", "--set=roles=[base,dea]",
                    "--set=dea_memory_mb=2048")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().splitlines()[-1] == str(fragmented)
    found = hosts(fragmented)
    assert found["dea5"]["ansible_host"] == f"127.42.{OCTET}.17"
    assert found["dea5"]["stackato_dea_memory_mb"] == "2048"           # unlike the config's 1024
    assert "\ndea5 " in fragmented.read_text().split("[dea]")[1].split("[data_services]")[0]
    listing = ssh(found["core"], f"{KATO} node list; ssh dea5 hostname")
    assert f"127.42.{OCTET}.17     dea, base" in listing.stdout and listing.stdout.endswith("dea5\n")
    retire = ssh(found["dea1"], f"{KATO} node retire")
    assert retire.returncode == 0, retire.stderr
    apps = api_probe(found["dea5"], fragmented)["apps"]
    assert apps["big1"]["instances"] == [["RUNNING", f"127.42.{OCTET}.17"]]
    assert [e["node"] for e in journal(NAME) if e["event"] == "node_attached"] == [f"127.42.{OCTET}.17"]


def test_add_node_refuses_what_it_cannot_add(fragmented):
    again = run_cli("add-node", "--name", NAME, "dea5", "--set=roles=[base,dea]")
    assert again.returncode == 1 and "already has a node" in again.stderr
    second_primary = run_cli("add-node", "--name", NAME, "core2", "--set=roles=[base,primary]")
    assert second_primary.returncode == 1 and "primary" in second_primary.stderr


def test_topology_settings_are_checked():
    with pytest.raises(cluster.HarnessError, match="kato_profile"):
        cluster.load_topology("small", ["kato_profile=vendor"], "x")
    topo = cluster.load_topology("fragmented", [], None)
    assert (topo["kato_profile"], topo["domain"]) == ("ours", "fragmented.stackato.test")
    assert topo["api"] == {"username": "admin", "password": "stackato-admin"}
    assert cluster.config_dea_memory_mb(topo) == 1024
