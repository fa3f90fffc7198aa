# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kato_profile: `documented` refuses or reshapes every [ours] form and keeps every [doc] one.

Each test runs the same command on an `ours` and a `documented` cluster of the same shape.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest

CORE = {"name": "core", "roles": ["primary", "controller", "router"]}
TOPOLOGY = {"nodes": [CORE, {"name": "dea1", "roles": ["dea"], "dea_memory_mb": 1024},
                      {"name": "dea2", "roles": ["dea"], "dea_memory_mb": 1024,
                       "version": "3.6.0"}],
            "apps": [{"name": "web", "instances": 2, "memory_mb": 256}],
            # upstream=True: a local address that refuses, so `--status` never resolves a name
            "upstream": True}
SIM = Path(__file__).resolve().parents[2] / "simulator" / "stackato_sim"


@pytest.fixture(scope="module")
def pair(sim_cluster_module):
    """{"ours": cluster, "documented": cluster}, read-only."""
    return {"ours": sim_cluster_module(**TOPOLOGY),
            "documented": sim_cluster_module(kato_profile="documented", **TOPOLOGY)}


def names_for_ips(cluster, text: str) -> str:
    """The text with every node address replaced by the node's name (clusters compare)."""
    for node in cluster.nodes.values():
        text = text.replace(node.ip, f"<{node.name}>")
    return text


def node_lines(text: str) -> dict:
    """The documented reading of `kato node list`: a line counts when its first token is an IP."""
    found = {}
    for line in text.splitlines():
        words = line.replace(",", " ").split()
        try:
            ipaddress.ip_address(words[0] if words else "")
        except ValueError:
            continue
        found[words[0]] = sorted(words[1:])
    return found


def both(pair, *args, node="core"):
    return {p: c.node(node).kato(*args) for p, c in pair.items()}


def keys_anywhere(value) -> set:
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_anywhere(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_anywhere(v) for v in value)) if value else set()
    return set()


def test_profile_is_read_in_one_place(pair):
    readers = [p.name for p in SIM.glob("*.py") if '"kato_profile"' in p.read_text()]
    assert readers == ["nodeconf.py"]
    from stackato_sim import nodeconf
    with pair["documented"].node("dea1").as_current():
        assert nodeconf.kato_profile() == "documented" and nodeconf.documented()
    with pair["ours"].node("dea1").as_current():   # no key in node.json: ours
        assert nodeconf.kato_profile() == "ours" and not nodeconf.documented()


def test_unknown_profile_is_an_error(sim_cluster):
    cluster = sim_cluster(kato_profile="vendor")
    r = cluster.node("core").kato("version")
    assert r.returncode == 1 and "kato_profile" in r.stderr


def test_version_inside_text(pair):
    r = both(pair, "version")
    assert r["ours"].stdout == "3.4.2\n"
    assert r["documented"].returncode == 0
    assert r["documented"].stdout == "Helion Stackato 3.4.2\n"
    dea2 = pair["documented"].node("dea2").ip
    r = pair["documented"].node("core").kato("node", "version", dea2)
    assert r.stdout == "Helion Stackato 3.6.0\n"
    assert pair["documented"].node("dea2").kato("node", "version").stdout == "Helion Stackato 3.6.0\n"


def test_node_list_text_keeps_the_documented_reading(pair):
    r = both(pair, "node", "list")
    assert r["documented"].returncode == 0
    ours, documented = r["ours"].stdout, r["documented"].stdout
    assert names_for_ips(pair["ours"], json.dumps(node_lines(ours))) == \
        names_for_ips(pair["documented"], json.dumps(node_lines(documented)))
    lines = documented.splitlines()
    assert len(lines) > len(node_lines(documented)), "a line that is not a node"
    assert any(line != line.rstrip() for line in lines), "trailing whitespace"
    core_ip = pair["documented"].node("core").ip
    core_line = next(line for line in lines if line.startswith(core_ip))
    assert core_line.split(None, 1)[1].rstrip() != "base controller primary router"   # not sorted


@pytest.mark.parametrize("fmt", ["-j", "-y"])
def test_node_list_structured_shape_differs(pair, fmt):
    r = both(pair, "node", "list", fmt)
    assert r["documented"].returncode == 0 and r["documented"].stdout != ""
    if fmt == "-j":
        ours, documented = json.loads(r["ours"].stdout), json.loads(r["documented"].stdout)
        assert set(ours) == {n.ip for n in pair["ours"].nodes.values()}
        assert not set(documented) & {n.ip for n in pair["documented"].nodes.values()}
    else:
        assert r["ours"].stdout.startswith(f"{pair['ours'].node('core').ip}:\n  roles:")
        assert not r["documented"].stdout.startswith(pair["documented"].node("core").ip)


@pytest.mark.parametrize("fmt", ["-j", "-y"])
def test_info_structured_shape_differs(pair, fmt):
    r = both(pair, "info", fmt, node="dea1")
    assert r["documented"].returncode == 0
    if fmt == "-j":
        documented = json.loads(r["documented"].stdout)
        assert not keys_anywhere(documented) & {"roles", "available_roles", "dea"}
        assert pair["documented"].node("dea1").ip not in documented
        assert "dea" in documented["assigned"].split()
        assert json.loads(r["ours"].stdout)[pair["ours"].node("dea1").ip]["roles"] == ["base", "dea"]
    else:
        assert not re.search(r"^\s*(roles|available_roles|dea):", r["documented"].stdout, re.M)


def test_info_text_is_the_same_in_both(pair):
    r = both(pair, "info", node="dea1")
    assert r["documented"].returncode == 0
    assert names_for_ips(pair["ours"], r["ours"].stdout) == \
        names_for_ips(pair["documented"], r["documented"].stdout)
    assert "assigned roles:  base, dea" in r["documented"].stdout


@pytest.mark.parametrize("args", [["status", "-j"], ["status", "-y"], ["status", "-a", "-j"]])
def test_status_structured_shape_differs(pair, args):
    r = both(pair, *args)
    assert r["documented"].returncode == 0
    core_ip = pair["documented"].node("core").ip
    assert core_ip not in [line.rstrip(":") for line in r["documented"].stdout.splitlines()]
    if "-j" in args:
        documented = json.loads(r["documented"].stdout)
        assert core_ip not in documented
        assert "roles" not in keys_anywhere(documented)
        ours = json.loads(r["ours"].stdout)
        assert ours[pair["ours"].node("core").ip]["roles"]["router"] == "RUNNING"


def test_status_text_is_the_same_in_both(pair):
    r = both(pair, "status")
    assert names_for_ips(pair["ours"], r["ours"].stdout) == \
        names_for_ips(pair["documented"], r["documented"].stdout)


def test_upgrade_status_forms_differ(pair):
    text = both(pair, "node", "upgrade", "--status")
    js = both(pair, "node", "upgrade", "--status", "--json")
    for r in (*text.values(), *js.values()):
        assert r.returncode == 0, r.stderr
    assert text["ours"].stdout.startswith("Node:")
    assert not text["documented"].stdout.startswith("Node:")
    assert "3.4.2" in text["documented"].stdout
    ours, documented = json.loads(js["ours"].stdout), json.loads(js["documented"].stdout)
    assert {"node", "version", "available", "state", "step", "cached"} <= set(ours)
    assert not {"node", "version", "available", "state", "step", "cached"} & set(documented)
    assert "3.4.2" in documented.values()


def test_process_list_json_is_documented_in_both(pair):
    r = both(pair, "process", "list", "-j", node="dea1")
    for profile, result in r.items():
        ip = pair[profile].node("dea1").ip
        assert json.loads(result.stdout) == {ip: {p: "RUNNING" for p in (
            "apptail", "dea_ng", "dir_server", "fence", "logyard", "nginx", "systail")}}


def test_process_ready_b_prints_ready_in_both(pair):
    for result in both(pair, "process", "ready", "-b", "1", "all").values():
        assert (result.returncode, result.stdout) == (0, "READY\n")


def test_process_ready_long_block_option_is_ours_only(pair):
    r = both(pair, "process", "ready", "--block", "1", "all")
    assert (r["ours"].returncode, r["ours"].stdout) == (0, "READY\n")
    assert r["documented"].returncode == 1
    assert r["documented"].stderr.startswith("ERROR: unknown option --block")


def test_process_ready_timeout_text_differs(sim_cluster):
    results = {}
    for profile in ("ours", "documented"):
        core = sim_cluster(kato_profile=profile).node("core")
        assert core.kato("process", "stop", "router2g").returncode == 0
        results[profile] = core.kato("process", "ready", "-b", "0.1", "router2g")
    for r in results.values():
        assert r.returncode == 1 and "READY" not in r.stdout
    assert results["ours"].stderr.startswith("ERROR: not ready")
    assert results["documented"].stderr != results["ours"].stderr
    assert "router2g" in results["documented"].stderr


def test_config_get_component_and_json_are_documented_in_both(pair):
    for profile, cluster in pair.items():
        core = cluster.node("core")
        whole = core.kato("config", "get", "dea_ng", "--json")
        assert whole.returncode == 0, (profile, whole.stderr)
        assert json.loads(whole.stdout)["staging"] == {"memory_limit_mb": 1024}
        value = core.kato("config", "get", "cloud_controller_ng", "maintenance_mode", "--json")
        assert json.loads(value.stdout) is False
        missing = core.kato("config", "get", "nosuchcomp")
        assert missing.returncode == 1 and missing.stdout == "" and missing.stderr.startswith("Error")


@pytest.mark.parametrize("args", [["dea_ng", "no/such/key"], ["nosuchcomp", "some/key"],
                                  ["nosuchcomp"]])
def test_config_missing_wording_differs(pair, args):
    r = both(pair, "config", "get", *args)
    for result in r.values():
        assert result.returncode == 1 and result.stdout == "" and result.stderr.startswith("Error")
    assert r["ours"].stderr != r["documented"].stderr


def test_config_missing_component_is_told_apart_from_a_missing_key(pair):
    core = pair["documented"].node("core")
    key = core.kato("config", "get", "dea_ng", "no/such/key").stderr
    comp = core.kato("config", "get", "nosuchcomp", "no/such/key").stderr
    assert "nosuchcomp" in comp and key != comp.replace("nosuchcomp", "dea_ng")


def test_config_type_changes(sim_cluster):
    results = {}
    for profile in ("ours", "documented"):
        core = sim_cluster(kato_profile=profile,
                           config={"dea_ng": {"resources": {"memory_mb": 4096}}}).node("core")
        to_string = core.kato("config", "set", "dea_ng", "resources/memory_mb", "lots")
        assert to_string.returncode == 1 and to_string.stderr.startswith("Error")
        to_float = core.kato("config", "set", "dea_ng", "resources/memory_mb", "4096.5", "--json")
        results[profile] = to_float
        forced = core.kato("config", "set", "dea_ng", "resources/memory_mb", "8192.5", "--json",
                           "--force")
        assert forced.returncode == 0, forced.stderr
    assert results["ours"].returncode == 0     # ours: int and float are one type
    assert results["documented"].returncode == 1 and results["documented"].stderr.startswith("Error")


def test_patch_status(sim_cluster):
    results = {}
    for profile in ("ours", "documented"):
        cluster = sim_cluster(kato_profile=profile,
                              nodes=[dict(CORE, version="3.6.0")])
        core = cluster.node("core")
        results[profile] = (cluster, core.kato("patch", "status"), core.kato("patch", "status", "-j"))
    (oc, ot, oj), (dc, dt, dj) = results["ours"], results["documented"]
    assert names_for_ips(oc, ot.stdout) == names_for_ips(dc, dt.stdout)
    assert dt.stdout.startswith("1 updates are available for 3.6.0.\n    router-websocket-fix: ")
    assert dj.returncode == 0
    assert set(json.loads(oj.stdout)) == {"version", "patches"}
    assert set(json.loads(dj.stdout)) != {"version", "patches"}
    assert "router-websocket-fix" in dj.stdout


def test_retire_refusal_and_json_differ(sim_cluster):
    results = {}
    for profile in ("ours", "documented"):
        full = sim_cluster(kato_profile=profile, nodes=[
            CORE, {"name": "dea1", "roles": ["dea"], "dea_memory_mb": 1024},
            {"name": "dea2", "roles": ["dea"], "dea_memory_mb": 1024}],
            apps=[{"name": "big", "instances": 2, "memory_mb": 640}])
        refused = full.node("dea1").kato("node", "retire")
        roomy = sim_cluster(kato_profile=profile, nodes=[
            CORE, {"name": "dea1", "roles": ["dea"], "dea_memory_mb": 1024},
            {"name": "dea2", "roles": ["dea"], "dea_memory_mb": 1024}],
            apps=[{"name": "web", "instances": 1, "memory_mb": 256}])
        victim = next(n for n in ("dea1", "dea2") if roomy.client().dea_info(roomy.node(n).ip)["instances"])
        done = roomy.node(victim).kato("node", "retire", "-j")
        results[profile] = (refused, done)
    (o_ref, o_done), (d_ref, d_done) = results["ours"], results["documented"]
    assert o_ref.returncode == d_ref.returncode == 1
    assert o_ref.stderr.startswith("ERROR: cannot retire DEA")
    assert d_ref.stderr.startswith("ERROR: ") and d_ref.stderr != o_ref.stderr
    assert "cannot retire DEA" not in d_ref.stderr
    assert o_done.returncode == d_done.returncode == 0
    assert {"moved", "needed_mb", "free_mb"} <= set(json.loads(o_done.stdout))
    assert not {"moved", "needed_mb", "free_mb"} & set(json.loads(d_done.stdout))
