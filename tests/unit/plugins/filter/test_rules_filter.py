# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters of plugins/filter/rules.py, called as Ansible calls them, and the preflight role's wiring."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.stackato.cluster.plugins.filter import inputs as inputs_filter
from ansible_collections.stackato.cluster.plugins.filter import preload as preload_filter
from ansible_collections.stackato.cluster.plugins.filter import rules as rules_filter

REPO = Path(__file__).resolve().parents[4]
FILTERS = rules_filter.FilterModule().filters()
GB = 1073741824
MB = 1048576


def test_preload_loads_every_jinja_lookup_and_action_plugin_of_the_collection():
    """A plugin file added later must be preloaded too, or each worker compiles it again."""
    assert preload_filter.preload({"a": 1}) == {"a": 1}
    files = {f"{kind}.{p.stem}" for kind in ("filter", "test", "lookup", "action")
             for p in (REPO / "plugins" / kind).glob("*.py") if p.stem not in ("__init__", "preload")}
    loaded = {module.__name__.split(".plugins.", 1)[1] for module in preload_filter.LOADED}
    assert loaded == files


def call(name, *args, **kwargs):
    return FILTERS[name](*args, **kwargs)


def test_every_filter_is_documented_once():
    assert set(FILTERS) == {"preflight_node_findings", "preflight_cluster_findings", "preflight_summary",
                            "preflight_upstream_batches", "dea_capacity_findings", "dea_nodes", "instance_counts", "instance_shortfall",
                            "version_compare", "cache_ip"}
    every = dict(FILTERS, **inputs_filter.FilterModule().filters(), **preload_filter.FilterModule().filters())
    assert not set(FILTERS) & set(inputs_filter.FilterModule().filters())
    docs = {p.stem for p in (REPO / "plugins" / "filter").glob("*.yml")}
    assert docs == set(every)
    for name in every:
        doc = yaml.safe_load((REPO / "plugins" / "filter" / f"{name}.yml").read_text())
        assert doc["DOCUMENTATION"]["name"] == name
        assert doc["EXAMPLES"] and doc["RETURN"]["_value"]


@pytest.mark.parametrize("left, right, operator, result", [
    ("3.4.2", "3.6.2", None, -1),
    ("3.6.2", "3.6.2", None, 0),
    ("3.10.0", "3.6.2", None, 1),
    ("3.6", "3.6.0", "==", True),
    ("3.4.2", "3.6.2", "<", True),
    ("3.4.2", "3.6.2", "ge", False),
    ("3.6.2", "3.6.1", "gt", True),
])
def test_version_compare(left, right, operator, result):
    args = (left, right) if operator is None else (left, right, operator)
    assert call("version_compare", *args) == result


@pytest.mark.parametrize("args, error", [
    (("3.4.2", "latest"), "not a Stackato version"),
    (("3.4.2", "3.6.2", "~"), "unknown operator"),
])
def test_version_compare_errors(args, error):
    with pytest.raises(AnsibleFilterError, match=f"stackato.cluster.version_compare: .*{error}"):
        call("version_compare", *args)


@pytest.mark.parametrize("explicit, core, result", [
    ("", "127.0.0.11", "127.0.0.11"),
    (None, "127.0.0.11", "127.0.0.11"),
    ("127.0.0.31", "127.0.0.11", "127.0.0.31"),
    (" 127.0.0.31 ", "", "127.0.0.31"),
    ("", {"stackato_node_ip": "127.0.0.11", "ansible_host": "core"}, "127.0.0.11"),
])
def test_cache_ip(explicit, core, result):
    assert call("cache_ip", explicit, core) == result


@pytest.mark.parametrize("explicit, core, error", [
    ("", "", "no cache node: set stackato_cache_ip, or stackato_node_ip on the core node"),
    ("cache.example.com", "127.0.0.11", "stackato_cache_ip is 'cache.example.com', not an IP address"),
    ("", "core", "the core node's stackato_node_ip is 'core', not an IP address"),
])
def test_cache_ip_errors(explicit, core, error):
    with pytest.raises(AnsibleFilterError, match=error):
        call("cache_ip", explicit, core)


def test_instance_counts():
    instances = [{"app": "web", "state": "RUNNING"}, {"app": "web", "state": "STARTING"}, {"app": "api", "state": "DOWN"}]
    assert call("instance_counts", instances) == {"web": 2}
    assert call("instance_counts", instances, ["RUNNING", "DOWN"]) == {"web": 1, "api": 1}


def test_dea_capacity_filters_on_the_fragmented_cluster():
    nodes = {f"127.0.0.2{n}": {"roles": ["base", "dea"]} for n in range(1, 5)}
    nodes["127.0.0.11"] = {"roles": ["base", "primary"]}
    instances = []
    for n in range(1, 5):
        ip = f"127.0.0.2{n}"
        instances += [{"app": f"big{n}", "guid": f"g{n}", "index": 0, "memory_mb": 640, "host": ip, "state": "RUNNING"},
                      {"app": "web", "guid": "gw", "index": n, "memory_mb": 128, "host": ip, "state": "RUNNING"}]
    deas = call("dea_nodes", nodes, 1024)
    order = sorted(deas)
    findings = call("dea_capacity_findings", deas, instances, order, {ip: f"dea{ip[-1]}" for ip in order})
    assert [(f["node"], f["app"], f["memory_mb"]) for f in findings] == [("dea1", "big1", 640)]
    # before one DEA's retirement only that DEA is retired
    assert call("dea_capacity_findings", deas, instances, ["127.0.0.22"]) != []
    deas["127.0.0.25"] = {"memory_mb": 1024}
    assert call("dea_capacity_findings", deas, instances, order + ["127.0.0.25"]) == []
    # unknown instances fail closed, unless the risk is accepted
    assert [f["level"] for f in call("dea_capacity_findings", deas, None, order, why_unknown="no API")] == ["fail"]
    assert [f["level"] for f in call("dea_capacity_findings", deas, None, order, accept_risks=["dea_capacity"])] == ["warn"]


def test_node_findings_filter_reports_bad_settings_as_filter_errors():
    with pytest.raises(AnsibleFilterError, match="stackato.cluster.preflight_node_findings: skip_checks names unknown checks patch"):
        call("preflight_node_findings", {"host": "a"}, {"skip_checks": ["patch"]})


def test_node_findings_and_summary_filters():
    facts = {"host": "dea1", "ip": "127.0.0.21", "is_core": False, "is_cache_node": False, "cache_dir": "",
             "resources": {"filesystems": [{"path": "/s", "mount": "/", "free_bytes": GB}],
                           "memory": {"available_bytes": 4096 * MB}},
             "kato": {"version": "3.4.2", "patches": []}, "upstream": [], "sudo_rc": 0,
             "become_password": False, "ssh_password": False}
    settings = {"target_version": "3.6.2"}
    findings = call("preflight_node_findings", facts, settings)
    assert [(f["check"], f["level"]) for f in findings] == [("disk", "fail")]
    assert call("preflight_node_findings", facts, settings, ["memory"]) == []
    result = call("preflight_summary", findings, settings, {"hosts": {"dea1": {"kato": facts["kato"]}}})
    assert result["failed"] and result["lines"][0].startswith("Preflight: 1 failure(s), 0 warning(s) on 1 node(s)")
    assert result["lines"][-1] == "PLAN dea1: 3.4.2 -> 3.6.2"


def test_upstream_batches_filter():
    assert call("preflight_upstream_batches", ["a:443", "b:80"], {"http_proxy": "http://p:1", "https_proxy": "http://p:2"}) == [
        {"endpoints": ["a:443"], "proxy": "http://p:2"}, {"endpoints": ["b:80"], "proxy": "http://p:1"}]


# ---- the role's wiring, through ansible-playbook ------------------------------------------

PLAYBOOK = """
- name: Pretend every node registered what preflight's gather.yml registers
  hosts: stackato
  gather_facts: false
  tasks:
    - name: Register the fake probes
      ansible.builtin.set_fact:
        __preflight_kato: "{{ fake_kato }}"
        __preflight_resources: {filesystems: [{path: /s, mount: /, free_bytes: 21474836480}], memory: {available_bytes: 4294967296}}
        __preflight_sudo: {rc: 0}
        __preflight_upstream: {results: [{item: {endpoints: ["github.com:443"], proxy: ""}, unreachable_endpoints: []}]}

    - name: Register the apps on the core
      ansible.builtin.set_fact:
        __preflight_apps: "{{ fake_apps }}"
      when: inventory_hostname == 'core'

- name: Evaluate and sum up as the preflight role does
  hosts: stackato
  gather_facts: false
  tasks:
    - name: Evaluate the checks of each node and of the cluster
      ansible.builtin.include_role:
        name: stackato.cluster.preflight
        tasks_from: "{{ __test_tasks_file }}"
      loop: [node_checks.yml, cluster_checks.yml]
      loop_control:
        loop_var: __test_tasks_file

    - name: Keep the summary for the test
      ansible.builtin.copy:
        content: "{{ ((ansible_play_hosts | map('extract', hostvars, '__preflight_findings') | flatten(levels=1) | list)
                     + __preflight_cluster_findings) | to_json }}"
        dest: "{{ result_path }}"
        mode: "0600"
      run_once: true
      delegate_to: localhost

    - name: Report and fail as the role does
      ansible.builtin.include_role:
        name: stackato.cluster.preflight
        tasks_from: summary.yml
"""


def _inventory(deas):
    lines = ["[core]", "core stackato_node_ip=127.0.0.11", "[router]", "router2 stackato_node_ip=127.0.0.13", "[dea]"]
    lines += [f"dea{n} stackato_node_ip=127.0.0.2{n}" for n in range(1, deas + 1)]
    lines += ["[stackato:children]", "core", "router", "dea", "[stackato:vars]", "ansible_connection=local",
              f"ansible_python_interpreter={sys.executable}", "stackato_target_version=3.6.2"]
    return "\n".join(lines) + "\n"


def _host_vars(deas):
    nodes = {"127.0.0.11": {"roles": ["base", "controller", "primary", "router"]}, "127.0.0.13": {"roles": ["base", "router"]}}
    instances = []
    for n in range(1, deas + 1):
        ip = f"127.0.0.2{n}"
        nodes[ip] = {"roles": ["base", "dea"]}
        if n <= 4:
            instances += [{"app": f"big{n}", "guid": f"g{n}", "index": 0, "memory_mb": 640, "host": ip, "state": "RUNNING"},
                          {"app": "web", "guid": "gw", "index": n, "memory_mb": 128, "host": ip, "state": "RUNNING"}]
    apps = [{"guid": "gw", "name": "web", "memory_mb": 128, "instances": 4, "state": "STARTED"}]
    apps += [{"guid": f"g{n}", "name": f"big{n}", "memory_mb": 640, "instances": 1, "state": "STARTED"} for n in range(1, 5)]
    common = {"version": "3.4.2", "patches": [], "maintenance_mode": False, "upgrade": {"available": "3.6.2", "cached": None}}
    host_vars = {"core": {"fake_kato": dict(common, roles=nodes["127.0.0.11"]["roles"], nodes=nodes, dea_memory_mb=1024),
                          "fake_apps": {"changed": False, "apps": apps, "instances": instances}},
                 "router2": {"fake_kato": dict(common, roles=["base", "router"])}}
    for n in range(1, deas + 1):
        host_vars[f"dea{n}"] = {"fake_kato": dict(common, roles=["base", "dea"])}
    return host_vars


def _run_playbook(tmp_path, deas, extra_vars=None):
    ansible_playbook = Path(sys.executable).parent / "ansible-playbook"
    if not ansible_playbook.exists():
        ansible_playbook = shutil.which("ansible-playbook")
    if not ansible_playbook:
        pytest.skip("ansible-playbook not installed")
    collections = tmp_path / "collections" / "ansible_collections" / "stackato"
    collections.mkdir(parents=True)
    (collections / "cluster").symlink_to(REPO)
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    (inventory / "hosts.ini").write_text(_inventory(deas))
    for host, values in _host_vars(deas).items():
        (inventory / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(values))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_STDOUT_CALLBACK="default")
    argv = [str(ansible_playbook), "-i", str(inventory / "hosts.ini"), str(tmp_path / "play.yml"),
            "-e", json.dumps(dict(extra_vars or {}, result_path=str(tmp_path / "findings.json")))]
    proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    findings_path = tmp_path / "findings.json"
    findings = json.loads(findings_path.read_text()) if findings_path.exists() else None
    return proc, findings


def test_role_wiring_fragmented_cluster_stops_with_the_capacity_finding(tmp_path):
    proc, findings = _run_playbook(tmp_path, deas=4)
    output = proc.stdout + proc.stderr
    assert findings is not None, output[-4000:]
    assert proc.returncode != 0, output[-4000:]
    # one router only (zero_downtime warns), and the first DEA cannot be retired
    assert [(f["check"], f["level"], f["node"]) for f in findings] == [
        ("dea_capacity", "fail", "dea1"), ("zero_downtime", "warn", "cluster")], output[-4000:]
    capacity = [line for line in output.splitlines() if '"FAIL [dea_capacity]' in line]
    assert capacity and "640 MB" in capacity[0] and "largest free slot is 256 MB on dea2 (127.0.0.22)" in capacity[0]
    assert "Preflight failed, nothing was changed" in output
    assert '"PLAN dea1: 3.4.2 -> 3.6.2"' in output


def test_role_wiring_passes_with_a_fifth_dea_and_skips_by_name(tmp_path):
    proc, findings = _run_playbook(tmp_path, deas=5, extra_vars={"preflight_skip_checks": ["zero_downtime"]})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert findings == [], findings
    assert "checks skipped: zero_downtime" in output
