"""kato config: typing rules, warnings, --force, errors and output formats (contract §3)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def core(sim_cluster):
    cluster = sim_cluster(config={"dea_ng": {"environment": {"app_http_proxy": "http://p:3128"}}})
    return cluster.node("core")


def test_maintenance_mode_default_and_bool_guess(core):
    r = core.kato("config", "get", "cloud_controller_ng", "maintenance_mode")
    assert (r.returncode, r.stdout) == (0, "false\n")
    r = core.kato("config", "set", "cloud_controller_ng", "maintenance_mode", "true")
    assert r.returncode == 0
    assert r.stdout == "WARNING: Assumed type bool\ntrue\n"
    r = core.kato("config", "get", "cloud_controller_ng", "maintenance_mode", "--json")
    assert json.loads(r.stdout) is True
    ev = core.cluster.journal("config_set", component="cloud_controller_ng",
                              key="maintenance_mode")
    assert ev and ev[-1]["value"] is True and ev[-1]["node"] == core.ip


@pytest.mark.parametrize("raw, kind, shown", [
    ("exampleco/newimg:1.0.0", "string", "exampleco/newimg:1.0.0\n"),
    ("42", "int", "42\n"),
    ('["a","b/c"]', "struct", "- a\n- b/c\n"),
    ('{"x": 1}', "struct", "x: 1\n"),
    ("false", "bool", "false\n"),
])
def test_set_guesses_type(core, raw, kind, shown):
    r = core.kato("config", "set", "fence", "docker/newkey", raw)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"WARNING: Assumed type {kind}\n{shown}"


def test_set_json_and_stdin(core):
    r = core.kato("config", "set", "oracledb_node", "privilege", '"SYSDBA"', "--json")
    assert (r.returncode, r.stdout) == (0, "SYSDBA\n")
    assert "WARNING" not in r.stdout + r.stderr
    r = core.kato("config", "set", "--json", "aok", "strategy/ldap/email", input='["mail","email"]\n')
    assert r.returncode == 0, r.stderr
    assert json.loads(core.kato("config", "get", "aok", "strategy/ldap/email", "-j").stdout) == [
        "mail", "email"]
    r = core.kato("config", "set", "router2g", "prevent_x_spoofing", "{nope", "--json")
    assert r.returncode == 1 and r.stderr.startswith("Error: ")


def test_string_that_looks_like_bool_is_quoted(core):
    r = core.kato("config", "set", "usb", "api_version", '"2.6"', "--json")
    assert r.stdout == "'2.6'\n"
    core.kato("config", "set", "usb", "flag", '"true"', "--json")
    assert core.kato("config", "get", "usb", "flag").stdout == "'true'\n"


def test_type_change_needs_force(core):
    r = core.kato("config", "set", "cloud_controller_ng", "maintenance_mode", "maybe")
    assert r.returncode == 1
    assert r.stderr.startswith("Error: ") and "--force" in r.stderr
    assert core.kato("config", "get", "cloud_controller_ng", "maintenance_mode").stdout == "false\n"
    assert not core.cluster.journal("config_set")
    r = core.kato("config", "set", "cloud_controller_ng", "maintenance_mode", "maybe", "--force")
    assert r.returncode == 0
    assert r.stdout == "WARNING: Assumed type string\nmaybe\n"


def test_missing_key(core):
    r = core.kato("config", "get", "cloud_controller_ng", "no/such/key")
    assert r.returncode == 1
    assert r.stderr == "Error: key no/such/key not found in cloud_controller_ng\n"
    r = core.kato("config", "del", "router2g", "nothing")
    assert (r.returncode, r.stderr) == (1, "Error: key nothing not found in router2g\n")


def test_get_formats(core):
    r = core.kato("config", "get", "logyard", "retrylimits")
    assert r.stdout == "appdrain.: 24h\ntmp.: 25m\n"
    r = core.kato("config", "get", "dea_ng", "environment", "-f")
    assert "dea_ng/environment/app_http_proxy http://p:3128\n" in r.stdout
    r = core.kato("config", "get", "fence", "docker/image")
    assert r.stdout == "stackato/app-holophonor:3.0.0\n"
    r = core.kato("config", "get", "router2g", "-j")
    assert json.loads(r.stdout) == {"acl": {"enabled": False}, "prevent_x_spoofing": False}
    everything = json.loads(core.kato("config", "get", "-j").stdout)
    assert {"cloud_controller_ng", "cluster", "node"} <= set(everything)
    assert everything["node"][core.ip]["roles"].keys() >= {"primary", "base"}
    assert everything["cluster"]["mbusip"] == core.ip
    flat = core.kato("config", "get", "--flat").stdout.splitlines()
    assert "cloud_controller_ng/maintenance_mode false" in flat
    assert f"node/{core.ip}/roles/primary {{}}" in flat
    assert "cloud_controller_ng:\n  maintenance_mode: false\n" in core.kato("config", "get").stdout


def test_push_pop_del(core):
    repo = "deb http://apt.newrelic.com/debian/ newrelic non-free"
    r = core.kato("config", "push", "cloud_controller_ng", "allowed_repos", repo)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[-1] == f"- {repo}" and len(lines) == 2
    r = core.kato("config", "pop", "cloud_controller_ng", "allowed_repos", repo)
    assert r.returncode == 0 and repo not in r.stdout
    r = core.kato("config", "pop", "cloud_controller_ng", "allowed_repos", repo)
    assert r.returncode == 1 and r.stderr.startswith("Error: ")
    r = core.kato("config", "del", "systail", "log_files/dpkg")
    assert (r.returncode, r.stdout) == (0, "")
    assert "dpkg" not in core.kato("config", "get", "systail", "log_files").stdout
    assert core.cluster.journal("config_del", component="systail", key="log_files/dpkg")


def test_local_component_is_per_node(sim_cluster):
    cluster = sim_cluster(nodes=[{"name": "core", "roles": ["primary", "controller", "router"]},
                                 {"name": "dea1", "roles": ["dea"]}])
    core, dea = cluster.node("core"), cluster.node("dea1")
    assert core.kato("config", "set", "local", "zone", "east").returncode == 0
    assert core.kato("config", "get", "local", "zone").stdout == "east\n"
    assert dea.kato("config", "get", "local", "zone").returncode == 1
