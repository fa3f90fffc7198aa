# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Table-driven tests of every rule of plugins/module_utils/_rules.py."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.stackato.cluster.plugins.module_utils import _rules
from ansible_collections.stackato.cluster.plugins.module_utils._rules import (
    CHECKS,
    apply_level_policy,
    check_dea_capacity,
    cluster_findings,
    count_instances,
    dea_capacity_gate,
    dea_nodes,
    instance_shortfall,
    node_findings,
    place_retirement,
    settings_from,
    summary,
    upstream_batches,
)

GB = 1073741824
MB = 1048576
TARGET = "3.6.2"


def kato(version="3.4.2", **extra):
    result = {"version": version, "roles": ["base", "dea"], "upgrade": {"available": "3.6.2", "cached": None},
              "patches": [], "maintenance_mode": False, "processes": {}}
    result.update(extra)
    return result


def node(**extra):
    """A healthy DEA node: every node check passes."""
    facts = {
        "host": "dea1", "ip": "127.0.0.21", "is_core": False, "is_cache_node": False, "cache_dir": "/s/sentinel-cache",
        "resources": {"filesystems": [{"path": "/s", "mount": "/", "free_bytes": 20 * GB}],
                      "memory": {"available_bytes": 2048 * MB}},
        "kato": kato(),
        "upstream": [{"item": {"endpoints": ["github.com:443"], "proxy": ""}, "unreachable_endpoints": []}],
        "sudo_rc": 0, "become_password": False, "ssh_password": False,
    }
    facts.update(extra)
    return facts


def run(rule, facts, **settings):
    settings.setdefault("target_version", TARGET)
    return _rules.NODE_RULES[rule](facts, settings_from(settings))


def levels(findings):
    return [(f["check"], f["level"]) for f in findings]


def assert_words(findings, words):
    text = " ".join(f["msg"] for f in findings)
    for word in words:
        assert word in text, (word, text)


# ---- node rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("facts, expected, words", [
    pytest.param(node(), [], [], id="plenty"),
    pytest.param(node(resources={"filesystems": [{"path": "/s", "mount": "/", "free_bytes": 3 * GB}]}),
                 [("disk", "fail")], ["dea1 (127.0.0.21)", "3.0 GB free on /s (filesystem /)", "needs 7.0 GB",
                                      "preflight_min_free_disk_gb", "Fix: free space"], id="low"),
    # the cache directory shares the mount of /s: counted once, at the cache node's higher need
    pytest.param(node(is_cache_node=True, resources={"filesystems": [
        {"path": "/s", "mount": "/", "free_bytes": 8 * GB},
        {"path": "/s/sentinel-cache", "mount": "/", "free_bytes": 8 * GB}]}),
        [("disk", "fail")], ["on /s and /s/sentinel-cache (filesystem /)", "needs 10.0 GB",
                             "preflight_min_free_disk_cache_gb, cache node"], id="shared-mount-once"),
    pytest.param(node(is_cache_node=True, resources={"filesystems": [
        {"path": "/s", "mount": "/", "free_bytes": 8 * GB},
        {"path": "/s/sentinel-cache", "mount": "/cache", "free_bytes": 12 * GB}]}), [], [], id="separate-mounts-ok"),
    pytest.param(node(is_cache_node=True, resources={"filesystems": [
        {"path": "/s", "mount": "/", "free_bytes": 8 * GB},
        {"path": "/s/sentinel-cache", "mount": "/cache", "free_bytes": 9 * GB}]}),
        [("disk", "fail")], ["9.0 GB free on /s/sentinel-cache (filesystem /cache)", "needs 10.0 GB"], id="cache-mount-low"),
    # the cache directory of a node that is not the cache node needs the node threshold
    pytest.param(node(resources={"filesystems": [{"path": "/s/sentinel-cache", "mount": "/", "free_bytes": 8 * GB}]}),
                 [], [], id="not-cache-node"),
    pytest.param(node(resources={"failed": False, "msg": "No such file"}), [("disk", "fail")],
                 ["free disk was not measured (No such file)", "needs 7 GB", "Fix:"], id="not-measured"),
])
def test_disk(facts, expected, words):
    findings = run("disk", facts)
    assert levels(findings) == expected
    assert_words(findings, words)


@pytest.mark.parametrize("facts, settings, expected, words", [
    pytest.param(node(), {}, [], [], id="plenty"),
    pytest.param(node(resources={"memory": {"available_bytes": 600 * MB}}), {}, [], [], id="other-node-600"),
    pytest.param(node(resources={"memory": {"available_bytes": 600 * MB}}, is_core=True), {}, [("memory", "fail")],
                 ["600 MB of memory available", "needs 1024 MB", "preflight_min_free_memory_core_mb, core/cache node",
                  "Fix: stop roles"], id="core-600"),
    pytest.param(node(resources={"memory": {"available_bytes": 600 * MB}}, is_cache_node=True), {}, [("memory", "fail")],
                 ["needs 1024 MB"], id="cache-600"),
    pytest.param(node(resources={"memory": {"available_bytes": 600 * MB}}), {"min_free_memory_mb": 100000000},
                 [("memory", "fail")], ["needs 100000000 MB", "preflight_min_free_memory_mb"], id="threshold"),
    pytest.param(node(resources=None), {}, [("memory", "fail")], ["free memory was not measured"], id="not-measured"),
])
def test_memory(facts, settings, expected, words):
    findings = run("memory", facts, **settings)
    assert levels(findings) == expected
    assert_words(findings, words)


@pytest.mark.parametrize("upstream, settings, expected, words", [
    pytest.param([], {}, [], [], id="nothing-checked"),
    pytest.param(node()["upstream"], {}, [], [], id="reachable"),
    pytest.param([{"item": {"endpoints": ["a:443", "b:443"], "proxy": "http://proxy.example:3128"},
                   "unreachable_endpoints": ["a:443", "b:443"]}], {}, [("upstream", "fail")],
                 ["2 of 2 upstream endpoints unreachable through the proxy proxy.example:3128: a:443, b:443",
                  "Fix: open them"], id="via-proxy"),
    pytest.param([{"item": {"endpoints": ["a:443"], "proxy": "http://p:3128"}, "unreachable_endpoints": []},
                  {"item": {"endpoints": ["a:80", "b:80"], "proxy": ""}, "unreachable_endpoints": ["b:80"]}], {},
                 [("upstream", "fail")], ["1 of 2 upstream endpoints unreachable directly (no proxy set): b:80"],
                 id="per-batch"),
    pytest.param([{"item": {"endpoints": ["a:443"], "proxy": "http://p:3128"}, "failed": False, "msg": "bad proxy"}], {},
                 [("upstream", "fail")], ["could not be checked (bad proxy)"], id="module-failed"),
    pytest.param([{"item": {"endpoints": ["a:443"], "proxy": ""}, "skipped": True}], {}, [], [], id="skipped"),
    pytest.param([{"item": {"endpoints": ["a:443"], "proxy": ""}, "unreachable_endpoints": ["a:443"]}], {"offline": True},
                 [], [], id="offline"),
])
def test_upstream(upstream, settings, expected, words):
    findings = run("upstream", node(upstream=upstream), **settings)
    assert levels(findings) == expected
    assert_words(findings, words)


@pytest.mark.parametrize("endpoints, env, batches", [
    (["a:443", "b:80"], {}, [{"endpoints": ["a:443", "b:80"], "proxy": ""}]),
    (["a:443", "b:80"], {"http_proxy": "http://p:3128", "https_proxy": "http://p:3128"},
     [{"endpoints": ["a:443", "b:80"], "proxy": "http://p:3128"}]),
    (["a:443", "b:80", "c:8080"], {"http_proxy": "http://p:3128", "https_proxy": "http://s:3129"},
     [{"endpoints": ["a:443", "c:8080"], "proxy": "http://s:3129"}, {"endpoints": ["b:80"], "proxy": "http://p:3128"}]),
    (["a:443"], {"http_proxy": "http://p:3128"}, [{"endpoints": ["a:443"], "proxy": ""}]),
    ([], {}, []),
])
def test_upstream_batches(endpoints, env, batches):
    assert upstream_batches(endpoints, env) == batches


@pytest.mark.parametrize("facts, expected, words", [
    pytest.param(node(), [], [], id="ok"),
    pytest.param(node(sudo_rc=1), [("access", "fail")],
                 ["sudo asks the stackato user for a password", "rc 1", "no become password", "Fix: passwordless sudo"],
                 id="sudo-password"),
    pytest.param(node(sudo_rc=1, become_password=True), [("access", "warn")], ["a become password is supplied", "stackato_temporary_sudo: true grants"],
                 id="sudo-password-supplied"),
    pytest.param(node(ssh_password=True), [("access", "warn")], ["SSH password", "Fix: use an SSH key"], id="ssh-password"),
    pytest.param(node(sudo_rc=2, sudo_error="[Errno 2] No such file or directory: b'sudo'", become_password=True),
                 [("access", "fail")], ["sudo -n true failed (rc 2: [Errno 2] No such file", "Fix: install sudo"],
                 id="no-sudo"),
    pytest.param(node(sudo_rc=None), [], [], id="not-probed"),
    pytest.param({"host": "router3", "ip": "127.0.0.14", "reached": False, "user": "stackato", "address": "r3", "port": 2299},
                 [("access", "fail")], ["router3 (127.0.0.14): unreachable", "port 2299", "Fix: make SSH by key work for stackato@r3"],
                 id="unreachable"),
])
def test_access(facts, expected, words):
    findings = run("access", facts)
    assert levels(findings) == expected
    assert_words(findings, words)


@pytest.mark.parametrize("kato_result, expected, words", [
    (kato(), [], []),
    ({"failed": False, "msg": "kato was not found at /home/stackato/bin/kato"}, [("kato", "fail")],
     ["kato cannot be read (kato was not found", "Fix: check /home/stackato/bin/kato"]),
    (kato(version=None), [("kato", "fail")], ["no version in its answer"]),
    (None, [("kato", "fail")], []),
    ({"failed": True, "cause": "busy", "msg": "another upgrade run on this node still holds /h/l after run_lock_timeout=5"},
     [("kato", "fail")], ["an upgrade run is still going on there (another upgrade run", "Fix: let it end", "run again"]),
])
def test_kato(kato_result, expected, words):
    findings = run("kato", node(kato=kato_result))
    assert levels(findings) == expected
    assert_words(findings, words)


@pytest.mark.parametrize("current, upgrade, settings, expected, words", [
    pytest.param("3.4.2", {"available": "3.6.2"}, {}, [], [], id="ok"),
    pytest.param("3.6.2", {"available": "3.6.2"}, {}, [], [], id="at-target"),
    pytest.param("3.4.2", {}, {}, [], [], id="offer-unknown"),
    pytest.param("3.4.2", {}, {"target_version": ""}, [("version", "fail")], ["no target release", "stackato_target_version"],
                 id="no-target"),
    pytest.param("3.4.2", {}, {"target_version": "3.7.0"}, [("version", "fail")],
                 ["target 3.7.0 is not a Stackato release", "Fix: set stackato_target_version"], id="unknown-target"),
    pytest.param("3.4.2", {}, {"target_version": "latest"}, [("version", "fail")], ["target latest"], id="garbage-target"),
    pytest.param("3.6.2", {}, {"target_version": "3.6.0"}, [("version", "fail")],
                 ["runs 3.6.2, newer than the target 3.6.0", "downgrades are not supported"], id="downgrade"),
    # numeric, not string order: 3.10 is newer than 3.6
    pytest.param("3.10.0", {}, {"target_version": "3.6.2", "known_releases": ["3.6.2", "3.10.0"]}, [("version", "fail")],
                 ["runs 3.10.0, newer than the target 3.6.2"], id="numeric-order"),
    pytest.param("3.6", {}, {}, [], [], id="3.6-is-3.6.0-below-target"),
    pytest.param("3.2.1", {}, {}, [("version", "fail")],
                 ["runs 3.2.1", "before 3.4.1 is not a supported path", "Fix: upgrade that node"], id="too-old"),
    pytest.param("3.4.2", {"available": "3.6.0"}, {}, [("version", "fail")],
                 ["target 3.6.2 is not available to kato (latest offered: 3.6.0)", "or choose 3.6.0"], id="not-offered"),
    pytest.param(None, {}, {}, [("version", "fail")],
                 ["installed version cannot be read", "preflight_accept_risks: [version]"], id="unreadable-fails-closed"),
    pytest.param(None, {}, {"accept_risks": ["version"]}, [("version", "warn")],
                 ["installed version cannot be read", "preflight_accept_risks names version"], id="unreadable-accepted"),
    pytest.param("garbage", {}, {}, [("version", "fail")], ["kato version gave 'garbage'"], id="unparsable"),
])
def test_version(current, upgrade, settings, expected, words):
    findings = run("version", node(kato=kato(version=current, upgrade=upgrade)), **settings)
    assert levels(findings) == expected
    assert_words(findings, words)


@pytest.mark.parametrize("facts, settings, expected, words", [
    pytest.param(node(is_cache_node=True), {}, [], [], id="online"),
    pytest.param(node(is_cache_node=False), {"offline": True}, [], [], id="not-cache-node"),
    pytest.param(node(is_cache_node=True, kato=kato(upgrade={"cached": True})), {"offline": True}, [], [], id="cached"),
    pytest.param(node(is_cache_node=True, kato=kato(version=TARGET, upgrade={"cached": False})), {"offline": True}, [], [],
                 id="at-target"),
    pytest.param(node(is_cache_node=True, kato=kato(upgrade={"cached": False})), {"offline": True},
                 [("offline_cache", "fail")], ["does not hold 3.6.2 yet", "Fix: run the playbook with --tags prefetch"],
                 id="not-cached"),
    pytest.param(node(is_cache_node=True, kato=kato(upgrade={})), {"offline": True}, [("offline_cache", "fail")],
                 ["no upgrade status", "preflight_accept_risks: [offline_cache]"], id="unknown-fails-closed"),
    pytest.param(node(is_cache_node=True, kato=kato(upgrade=None)), {"offline": True, "accept_risks": ["offline_cache"]},
                 [("offline_cache", "warn")], ["preflight_accept_risks names offline_cache"], id="unknown-accepted"),
])
def test_offline_cache(facts, settings, expected, words):
    findings = run("offline_cache", facts, **settings)
    assert levels(findings) == expected
    assert_words(findings, words)


@pytest.mark.parametrize("kato_result, expected, words", [
    (kato(), [], []),
    (kato(patches=[{"name": "router-fix", "pending": True}, {"name": "old", "pending": False}]), [("patches", "info")],
     ["1 patch(es) not installed (router-fix)", "nothing to do"]),
    (kato(patches=None), [("patches", "info")], ["patch status could not be read"]),
    ({"msg": "kato broken"}, [], []),
])
def test_patches(kato_result, expected, words):
    findings = run("patches", node(kato=kato_result))
    assert levels(findings) == expected
    assert_words(findings, words)


def test_node_findings_only_the_checks_asked():
    facts = node(sudo_rc=1, resources={"filesystems": [{"path": "/s", "mount": "/", "free_bytes": GB}],
                                       "memory": {"available_bytes": MB}})
    assert {f["check"] for f in node_findings(facts, {"target_version": TARGET})} == {"access", "disk", "memory"}
    assert {f["check"] for f in node_findings(facts, {"target_version": TARGET}, ["disk", "memory"])} == {"disk", "memory"}
    with pytest.raises(ValueError, match="no node check named inventory"):
        node_findings(facts, {}, ["inventory"])


# ---- instances and DEA capacity -----------------------------------------------------------

def inst(app, mb, host, index=0, state="RUNNING", guid=None):
    return {"app": app, "guid": guid or f"guid-{app}", "index": index, "memory_mb": mb, "host": host, "state": state}


def fragmented(deas=4):
    """Four 1024 MB DEAs, each running one 640 MB instance plus small ones (the issue's cluster)."""
    ips = [f"127.0.0.{20 + n}" for n in range(1, deas + 1)]
    instances = []
    for n, ip in enumerate(ips[:4], 1):
        instances += [inst(f"big{n}", 640, ip), inst("web", 128, ip, n), inst("api", 64, ip, n)]
    return {ip: {"memory_mb": 1024} for ip in ips}, instances, ips


@pytest.mark.parametrize("instances, states, key, counts", [
    ([inst("web", 1, "a"), inst("web", 1, "b", 1), inst("api", 1, "a")], None, "app", {"web": 2, "api": 1}),
    ([inst("web", 1, "a"), inst("web", 1, "b", 1, "STARTING"), inst("web", 1, "c", 2, "CRASHED")], None, "app", {"web": 2}),
    ([inst("web", 1, "a"), inst("web", 1, "b", 1, "STARTING")], ("RUNNING",), "app", {"web": 1}),
    ([inst("web", 1, "a", guid="g1"), inst("web", 1, "b", guid="g2")], None, "guid", {"g1": 1, "g2": 1}),
    ([], None, "app", {}),
    (None, None, "app", {}),
])
def test_count_instances(instances, states, key, counts):
    args = (instances,) if states is None else (instances, states)
    assert count_instances(*args, key=key) == counts


@pytest.mark.parametrize("before, after, short", [
    # same counts, moved DEAs: nothing short
    ([inst("web", 1, "a"), inst("web", 1, "b", 1)], [inst("web", 1, "c"), inst("web", 1, "b", 1)], []),
    # one of two instances still starting counts; a crashed one does not
    ([inst("web", 1, "a"), inst("web", 1, "b", 1)], [inst("web", 1, "a"), inst("web", 1, "b", 1, "STARTING")], []),
    ([inst("web", 1, "a"), inst("web", 1, "b", 1)], [inst("web", 1, "a"), inst("web", 1, "b", 1, "CRASHED")], ["web: 2 -> 1"]),
    # an app gone entirely; an app that was already down before is not blamed on the upgrade
    ([inst("api", 1, "a"), inst("web", 1, "a")], [inst("web", 1, "a")], ["api: 1 -> 0"]),
    ([inst("api", 1, "a", 0, "DOWN")], [inst("api", 1, "a", 0, "DOWN")], []),
    # more instances after is fine
    ([inst("web", 1, "a")], [inst("web", 1, "a"), inst("web", 1, "b", 1)], []),
    ([], [], []),
])
def test_instance_shortfall(before, after, short):
    assert instance_shortfall(before, after) == short


@pytest.mark.parametrize("deas, instances, retiring, unavailable, placed, unplaced", [
    pytest.param({"a": {"memory_mb": 1024}, "b": {"memory_mb": 1024}}, [inst("web", 256, "a")], "a", (),
                 [("web", 256, "b")], [], id="simple"),
    # biggest first; most free memory first
    pytest.param({"a": {"memory_mb": 2048}, "b": {"memory_mb": 1024}, "c": {"memory_mb": 1536}},
                 [inst("small", 128, "a"), inst("big", 900, "a")], "a", (),
                 [("big", 900, "c"), ("small", 128, "b")], [], id="biggest-first-most-free"),
    # the DEA with fewer instances of the same app wins over the one with more free memory
    pytest.param({"a": {"memory_mb": 1024}, "b": {"memory_mb": 4096}, "c": {"memory_mb": 1024}},
                 [inst("web", 256, "a"), inst("web", 256, "b", 1)], "a", (),
                 [("web", 256, "c")], [], id="spread-the-app"),
    # equal on both: the lowest address
    pytest.param({"a": {"memory_mb": 1024}, "c": {"memory_mb": 1024}, "b": {"memory_mb": 1024}},
                 [inst("web", 256, "a")], "a", (), [("web", 256, "b")], [], id="lowest-address"),
    pytest.param({"a": {"memory_mb": 1024}, "b": {"memory_mb": 4096}, "c": {"memory_mb": 1024}},
                 [inst("web", 256, "a")], "a", ("b",), [("web", 256, "c")], [], id="unavailable-skipped"),
    # crashed instances hold no memory and do not move
    pytest.param({"a": {"memory_mb": 1024}, "b": {"memory_mb": 512}},
                 [inst("web", 256, "a"), inst("old", 512, "b", state="CRASHED")], "a", (),
                 [("web", 256, "b")], [], id="crashed-hold-nothing"),
    pytest.param({"a": {"memory_mb": 1024}, "b": {"memory_mb": 512}, "c": {"memory_mb": 300}},
                 [inst("big", 640, "a"), inst("web", 128, "a")], "a", (),
                 [("web", 128, "b")], [("big", 640, 512, "b")], id="unplaced-largest-slot"),
    pytest.param({"a": {"memory_mb": 1024}}, [inst("web", 128, "a")], "a", (), [], [("web", 128, 0, None)], id="no-target"),
])
def test_place_retirement(deas, instances, retiring, unavailable, placed, unplaced):
    before = copy.deepcopy(instances)
    result = place_retirement(deas, instances, retiring, unavailable)
    assert [(p["app"], p["memory_mb"], p["to"]) for p in result["placed"]] == placed
    assert [(u["app"], u["memory_mb"], u["largest_free_mb"], u["largest_free_dea"]) for u in result["unplaced"]] == unplaced
    assert instances == before   # the input is not changed
    hosts = [i["host"] for i in result["instances"] if i["state"] == "RUNNING"]
    assert retiring not in hosts
    assert len(result["instances"]) == len(instances) - len(unplaced)


def test_fragmented_cluster_fails_naming_the_first_dea_the_instance_and_the_largest_slot():
    deas, instances, order = fragmented()
    names = {ip: f"dea{n}" for n, ip in enumerate(order, 1)}
    findings = check_dea_capacity(deas, instances, order, names)
    # only the first DEA: once it is back (empty), each next 640 MB instance has a place
    assert levels(findings) == [("dea_capacity", "fail")]
    only = findings[0]
    assert only["node"] == "dea1" and only["dea"] == order[0]
    assert (only["app"], only["memory_mb"], only["largest_free_mb"]) == ("big1", 640, 192)
    assert_words(findings, ["dea1 (127.0.0.21)", "DEA 1 of 4 in upgrade order", "app 'big1' (640 MB",
                            "largest free slot is 192 MB on dea2 (127.0.0.22)",
                            "Fix: add a DEA with at least 640 MB free", "scale app 'big1' down"])


def test_fragmented_cluster_passes_with_a_fifth_empty_dea():
    deas, instances, order = fragmented(deas=5)
    assert check_dea_capacity(deas, instances, order) == []


def test_free_memory_in_total_is_not_enough():
    # 3 x 1024 MB DEAs with 600 MB used each: 848 MB free in total elsewhere, no slot for 600 MB
    deas = {ip: {"memory_mb": 1024} for ip in ("a", "b", "c")}
    instances = [inst(f"app{n}", 600, ip) for n, ip in enumerate(deas)]
    assert [f["dea"] for f in check_dea_capacity(deas, instances, list(deas))] == ["a"]


def test_each_retired_dea_comes_back_empty_before_the_next():
    # a's 600 MB go to c; b's 600 MB fit only on a, back (empty) from its upgrade
    deas = {"a": {"memory_mb": 1024}, "b": {"memory_mb": 1024}, "c": {"memory_mb": 1024}}
    instances = [inst("x", 600, "a"), inst("y", 600, "b")]
    assert check_dea_capacity(deas, instances, ["a", "b"]) == []
    placed = place_retirement(deas, place_retirement(deas, instances, "a")["instances"], "b")["placed"]
    assert [(p["app"], p["to"]) for p in placed] == [("y", "a")]
    # the order matters: the DEA that cannot be retired is the one whose turn finds no room
    deas = {"a": {"memory_mb": 1024}, "b": {"memory_mb": 1024}}
    instances = [inst("x", 1024, "a"), inst("y", 100, "b")]
    assert [f["dea"] for f in check_dea_capacity(deas, instances, ["a", "b"])] == ["a"]
    assert [f["dea"] for f in check_dea_capacity(deas, instances, ["b", "a"])] == ["b"]


def test_single_dea_is_upgraded_in_place():
    findings = check_dea_capacity({"a": {"memory_mb": 1024}}, [inst("x", 2048, "a")], ["a"], {"a": "micro"})
    assert levels(findings) == [("dea_capacity", "info")]
    assert_words(findings, ["micro (a): the only DEA", "Fix:"])


@pytest.mark.parametrize("nodes, memory, overrides, deas", [
    ({"a": {"roles": ["base", "dea"]}, "b": {"roles": ["router"]}}, 1024, {}, {"a": {"memory_mb": 1024}}),
    ({"a": ["dea"], "b": ["dea", "base"]}, 1024, {"b": "8192"}, {"a": {"memory_mb": 1024}, "b": {"memory_mb": 8192}}),
    ({"a": ["dea"]}, None, {}, {"a": {"memory_mb": None}}),
    ({}, 1024, {}, {}),
])
def test_dea_nodes(nodes, memory, overrides, deas):
    assert dea_nodes(nodes, memory, overrides) == deas


@pytest.mark.parametrize("deas, instances, settings, expected, words", [
    pytest.param({"a": {"memory_mb": 1024}, "b": {"memory_mb": 1024}}, None, {}, [("dea_capacity", "fail")],
                 ["the app instances are unknown (API not set)", "preflight_accept_risks: [dea_capacity]", "stackato_api_url"],
                 id="instances-unknown"),
    pytest.param({"a": {"memory_mb": 1024}, "b": {"memory_mb": 1024}}, None, {"accept_risks": ["dea_capacity"]},
                 [("dea_capacity", "warn")], ["preflight_accept_risks names dea_capacity"], id="instances-unknown-accepted"),
    pytest.param({"a": {"memory_mb": None}, "b": {"memory_mb": 1024}}, [], {}, [("dea_capacity", "fail")],
                 ["memory of DEA(s) a is unknown", "stackato_dea_memory_mb"], id="memory-unknown"),
    pytest.param({"a": {"memory_mb": 1024}, "b": {"memory_mb": 1024}}, [inst("x", 64, "127.9.9.9")], {},
                 [("dea_capacity", "fail")], ["run on 127.9.9.9, which kato node list does not give the dea role"],
                 id="instances-elsewhere"),
    pytest.param({"a": {"memory_mb": 1024}}, None, {}, [("dea_capacity", "info")], ["the only DEA"], id="single-dea"),
    pytest.param({"a": {"memory_mb": 1024}, "b": {"memory_mb": 1024}}, [inst("x", 64, "a")], {}, [], [], id="ok"),
])
def test_dea_capacity_gate_fails_closed(deas, instances, settings, expected, words):
    findings = dea_capacity_gate(deas, instances, list(deas), settings=settings, why_unknown="API not set")
    assert levels(findings) == expected
    assert_words(findings, words)


# ---- cluster rules ------------------------------------------------------------------------

def cluster(**extra):
    """A healthy small cluster: core, two routers, two DEAs, one data node; apps with 2 instances."""
    roles = {"127.0.0.11": ["base", "controller", "primary", "router"], "127.0.0.13": ["base", "router"],
             "127.0.0.21": ["base", "dea"], "127.0.0.22": ["base", "dea"], "127.0.0.31": ["base", "mysql"]}
    names = {"127.0.0.11": "core", "127.0.0.13": "router2", "127.0.0.21": "dea1", "127.0.0.22": "dea2", "127.0.0.31": "data1"}
    hosts = {}
    for ip, name in names.items():
        hosts[name] = {"ip": ip, "in_play": True, "reached": True, "user": "stackato", "address": name, "port": 22,
                       "kato": kato(roles=roles[ip]), "dea_memory_mb": None}
    hosts["core"]["kato"].update(nodes={ip: {"roles": r} for ip, r in roles.items()}, dea_memory_mb=2048)
    facts = {
        "groups": {"all": list(hosts), "stackato": list(hosts), "core": ["core"], "router": ["router2"],
                   "dea": ["dea1", "dea2"], "data_services": ["data1"], "controller": []},
        "hosts": hosts,
        "apps": {"apps": [{"guid": "g-web", "name": "web", "memory_mb": 256, "instances": 2, "state": "STARTED"}],
                 "instances": [inst("web", 256, "127.0.0.21", 0, guid="g-web"), inst("web", 256, "127.0.0.22", 1, guid="g-web")]},
    }
    facts.update(extra)
    return facts


def crun(rule, facts, **settings):
    settings.setdefault("target_version", TARGET)
    return _rules.CLUSTER_RULES[rule](_rules.Cluster(facts), settings_from(settings))


def test_healthy_cluster_has_no_findings():
    assert cluster_findings(cluster(), {"target_version": TARGET}) == []


def with_roles(facts, ip, roles):
    facts["hosts"]["core"]["kato"]["nodes"][ip] = {"roles": roles}
    return facts


def _unknown_node(facts):
    facts["hosts"]["core"]["kato"]["nodes"]["127.0.0.99"] = {"roles": ["base", "dea"]}
    return facts


def _wrong_ip(facts):
    facts["hosts"]["data1"]["ip"] = "127.0.0.98"
    return facts


def _no_ip(facts):
    facts["hosts"]["data1"]["ip"] = ""
    return facts


def _dea_in_router_group(facts):
    facts["groups"]["router"].append("dea2")
    facts["groups"]["dea"].remove("dea2")
    return facts


def _router_in_dea_group(facts):
    facts["groups"]["dea"].append("router2")
    facts["groups"]["router"].remove("router2")
    return facts


def _primary_elsewhere(facts):
    # the first host of group core is the core: here router2, whose kato lists no nodes
    facts["groups"]["core"] = ["router2"]
    facts["groups"]["router"] = []
    facts["groups"]["controller"] = ["core"]
    return facts


def _no_group(facts):
    facts["groups"]["data_services"] = []
    return facts


def _data_group_without_service(facts):
    facts["groups"]["data_services"].append("router2")
    return facts


def _node_list_unknown(facts):
    facts["hosts"]["core"]["kato"]["nodes"] = {}
    return facts


@pytest.mark.parametrize("change, expected, words", [
    pytest.param(_unknown_node, [("inventory", "fail")],
                 ["kato lists node 127.0.0.99 (base dea) that is in no group", "stackato_node_ip=127.0.0.99 to the group dea"],
                 id="node-not-in-inventory"),
    pytest.param(_wrong_ip, [("inventory", "fail")] * 2,
                 ["data1 (127.0.0.98): the inventory has stackato_node_ip=127.0.0.98", "kato lists node 127.0.0.31"],
                 id="address-unknown-to-kato"),
    pytest.param(_no_ip, [("inventory", "fail")] * 2, ["data1: has no stackato_node_ip", "kato lists node 127.0.0.31"],
                 id="no-address"),
    pytest.param(_dea_in_router_group, [("inventory", "fail")] * 2,
                 ["dea2 (127.0.0.22): is in inventory group router, but kato node list gives it the roles base dea (no router)",
                  "Fix: move it to the group of its roles (dea)", "not in inventory group dea", "Fix: add it to [dea]"],
                 id="dea-in-router-group"),
    pytest.param(_router_in_dea_group, [("inventory", "fail")],
                 ["router2 (127.0.0.13): is in inventory group dea, but kato node list gives it the roles base router (no dea)"],
                 id="group-dea-without-dea-role"),
    pytest.param(_primary_elsewhere, [("inventory", "warn"), ("inventory", "fail"), ("inventory", "fail")],
                 ["kato node list was not read on the core (router2)", "router2 (127.0.0.13): is in inventory group core",
                  "core (127.0.0.11): kato node list gives it the role primary, but it is not in inventory group core"],
                 id="primary-outside-core"),
    pytest.param(_no_group, [("inventory", "fail")], ["data1 (127.0.0.31): is in none of the groups the upgrade plays"],
                 id="in-no-upgrade-group"),
    pytest.param(_data_group_without_service, [("inventory", "fail")], ["group data_services, but kato node list gives it no data-service role"],
                 id="data-group-without-service"),
    pytest.param(_node_list_unknown, [("inventory", "warn")], ["kato node list was not read on the core (core)"],
                 id="node-list-unknown"),
])
def test_inventory(change, expected, words):
    findings = crun("inventory", change(cluster()))
    assert levels(findings) == expected
    assert_words(findings, words)


def test_inventory_group_check_uses_the_nodes_own_roles_without_the_core_list():
    facts = _router_in_dea_group(_node_list_unknown(cluster()))
    findings = crun("inventory", facts)
    assert levels(findings) == [("inventory", "warn"), ("inventory", "fail")]
    assert_words(findings, ["router2 (127.0.0.13): is in inventory group dea"])


@pytest.mark.parametrize("versions, expected, words", [
    (["3.4.2"] * 5, [], []),
    (["3.6.2", "3.6.2.0", "3.6.2", "3.6.2", "3.6.2"], [], []),
    (["3.4.2", "3.4.2", "3.6.2", "3.6.0", "3.4.2"], [("version_mix", "warn")],
     ["3 different versions (3.4.2: core router2 data1; 3.6.0: dea2; 3.6.2: dea1)", "skipping the nodes at 3.6.2"]),
])
def test_version_mix(versions, expected, words):
    facts = cluster()
    for host, version in zip(facts["hosts"], versions):
        facts["hosts"][host]["kato"]["version"] = version
    findings = crun("version_mix", facts)
    assert levels(findings) == expected
    assert_words(findings, words)


def _fragmented_cluster(extra_dea=False):
    facts = cluster()
    deas, instances, ips = fragmented(deas=5 if extra_dea else 4)
    for n, ip in enumerate(ips, 1):
        name = f"dea{n}"
        facts["hosts"][name] = {"ip": ip, "in_play": True, "reached": True, "kato": kato(roles=["base", "dea"])}
        facts["hosts"]["core"]["kato"]["nodes"][ip] = {"roles": ["base", "dea"]}
        if name not in facts["groups"]["dea"]:
            facts["groups"]["dea"].append(name)
            facts["groups"]["stackato"].append(name)
    facts["hosts"]["core"]["kato"]["dea_memory_mb"] = 1024
    facts["apps"] = {"apps": [], "instances": instances}
    return facts


def test_cluster_capacity_fragmented_fails_then_passes_with_a_fifth_dea():
    findings = crun("dea_capacity", _fragmented_cluster())
    assert levels(findings) == [("dea_capacity", "fail")]
    assert findings[0]["node"] == "dea1"
    assert_words(findings, ["dea1 (127.0.0.21)", "'big1' (640 MB", "largest free slot is 192 MB on dea2 (127.0.0.22)",
                            "Fix: add a DEA with at least 640 MB free"])
    assert crun("dea_capacity", _fragmented_cluster(extra_dea=True)) == []


def test_cluster_capacity_host_memory_overrides_the_cluster_value():
    facts = _fragmented_cluster()
    for host in ("dea1", "dea2", "dea3", "dea4"):
        facts["hosts"][host]["dea_memory_mb"] = 2048   # 1024 MB in kato's config, 2048 MB on each host
    assert crun("dea_capacity", facts) == []
    # one bigger DEA is not enough: its own turn comes, and its instances have to move too
    facts = _fragmented_cluster()
    facts["hosts"]["dea4"]["dea_memory_mb"] = 4096
    assert [f["node"] for f in crun("dea_capacity", facts)] == ["dea4"]


def test_cluster_capacity_order_is_group_dea_then_the_core():
    facts = cluster()
    facts["hosts"]["core"]["kato"]["nodes"]["127.0.0.11"]["roles"].append("dea")
    facts["groups"]["dea"] = ["dea2", "core", "dea1"]
    assert _rules.Cluster(facts).dea_order() == ["127.0.0.22", "127.0.0.21", "127.0.0.11"]
    # a host of group dea that kato does not give the dea role is not retired (the inventory check names it)
    facts["groups"]["dea"].append("router2")
    assert _rules.Cluster(facts).dea_order() == ["127.0.0.22", "127.0.0.21", "127.0.0.11"]


def test_cluster_capacity_skips_deas_whose_dea_ng_is_down_as_targets():
    facts = _fragmented_cluster(extra_dea=True)
    facts["hosts"]["dea5"]["kato"]["processes"] = {"dea_ng": "STOPPED"}
    findings = crun("dea_capacity", facts)
    assert [f["node"] for f in findings] == ["dea1"]


@pytest.mark.parametrize("apps, memory, settings, expected, words", [
    pytest.param(None, 2048, {}, [("dea_capacity", "fail")],
                 ["stackato_apps_info did not run on the core (core)", "preflight_accept_risks: [dea_capacity]"], id="apps-not-read"),
    pytest.param({"failed": False, "msg": "HTTP 401"}, 2048, {}, [("dea_capacity", "fail")],
                 ["stackato_apps_info on the core failed: HTTP 401"], id="apps-failed"),
    pytest.param({"skipped": True}, 2048, {"accept_risks": ["dea_capacity"]}, [("dea_capacity", "warn")],
                 ["preflight_accept_risks names dea_capacity"], id="accepted"),
    pytest.param(cluster()["apps"], None, {}, [("dea_capacity", "fail")], ["memory of DEA(s) dea1 (127.0.0.21), dea2 (127.0.0.22)"],
                 id="dea-memory-unknown"),
])
def test_cluster_capacity_fails_closed(apps, memory, settings, expected, words):
    facts = cluster(apps=apps)
    facts["hosts"]["core"]["kato"]["dea_memory_mb"] = memory
    findings = crun("dea_capacity", facts, **settings)
    assert levels(findings) == expected
    assert_words(findings, words)


def _no_roles(facts):
    facts["hosts"]["core"]["kato"]["nodes"] = {}
    for host in facts["hosts"].values():
        host["kato"]["roles"] = []
    return facts


@pytest.mark.parametrize("check", ["dea_capacity", "zero_downtime"])
@pytest.mark.parametrize("accept, level", [([], "fail"), (["dea_capacity", "zero_downtime"], "warn")])
def test_roles_unknown_fails_closed(check, accept, level):
    findings = crun(check, _no_roles(cluster()), accept_risks=accept)
    assert levels(findings) == [(check, level)]
    assert_words(findings, ["roles of the nodes are unknown", "preflight_accept_risks"])


def test_roles_from_the_nodes_when_the_core_list_is_unknown():
    facts = cluster()
    facts["hosts"]["core"]["kato"]["nodes"] = {}
    assert crun("zero_downtime", facts) == []


def _one_router(facts):
    facts["hosts"]["core"]["kato"]["nodes"]["127.0.0.13"]["roles"] = ["base", "mysql"]
    return facts


def _one_dea(facts):
    del facts["hosts"]["core"]["kato"]["nodes"]["127.0.0.22"]
    return facts


def _single_instance(facts):
    facts["apps"]["instances"][1]["state"] = "CRASHED"
    facts["apps"]["apps"].append({"guid": "g-idle", "name": "idle", "memory_mb": 64, "instances": 1, "state": "STARTED"})
    facts["apps"]["apps"].append({"guid": "g-off", "name": "off", "memory_mb": 64, "instances": 1, "state": "STOPPED"})
    return facts


def _apps_unknown(facts):
    facts["apps"] = None
    return facts


@pytest.mark.parametrize("change, settings, expected, words", [
    pytest.param(_one_router, {}, [("zero_downtime", "warn")],
                 ["cluster: 1 router(s) (core (127.0.0.11)), zero downtime needs 2 (preflight_min_routers)",
                  "preflight_zero_downtime_required makes this a failure", "Fix: add a router node"], id="one-router"),
    pytest.param(_one_router, {"zero_downtime_required": True}, [("zero_downtime", "fail")], ["1 router(s)"],
                 id="one-router-required"),
    pytest.param(_one_dea, {}, [("zero_downtime", "warn")], ["1 DEA(s) (dea1 (127.0.0.21)), zero downtime needs 2"],
                 id="one-dea"),
    pytest.param(_single_instance, {}, [("zero_downtime", "warn")],
                 ["apps that will see downtime (fewer than 2 running instances): web x1, idle x0",
                  "Fix: scale them to 2 instances"], id="apps-short"),
    pytest.param(_apps_unknown, {}, [("zero_downtime", "fail")],
                 ["running instances of the apps are unknown", "preflight_accept_risks: [zero_downtime]"], id="apps-unknown"),
    pytest.param(_apps_unknown, {"accept_risks": ["zero_downtime"]}, [("zero_downtime", "warn")], [], id="apps-unknown-accepted"),
])
def test_zero_downtime(change, settings, expected, words):
    findings = crun("zero_downtime", change(cluster()), **settings)
    assert levels(findings) == expected
    assert_words(findings, words)


@pytest.mark.parametrize("mode, version, expected, words", [
    (False, "3.4.2", [], []),
    (True, "3.4.2", [("maintenance_mode", "warn")], ["core (127.0.0.11): maintenance mode is already on", "Fix: nothing"]),
    (None, "3.4.2", [("maintenance_mode", "warn")], ["maintenance mode could not be read"]),
    (None, None, [], []),
])
def test_maintenance_mode(mode, version, expected, words):
    facts = cluster()
    facts["hosts"]["core"]["kato"].update(maintenance_mode=mode, version=version)
    findings = crun("maintenance_mode", facts)
    assert levels(findings) == expected
    assert_words(findings, words)


def test_unreachable_hosts_are_access_findings():
    facts = cluster()
    facts["hosts"]["router2"].update(reached=False, port=2299, kato=None)
    facts["hosts"]["spare"] = {"ip": "127.0.0.50", "in_play": False, "reached": False}
    findings = crun("access", facts)
    assert levels(findings) == [("access", "fail")]
    assert_words(findings, ["router2 (127.0.0.13): unreachable", "port 2299"])


# ---- every check can be skipped by its own name, and only that name -----------------------

def _every_node_problem():
    """(facts, settings) pairs that, together, make every node check report."""
    broken = node(host="dea2", ip="127.0.0.22", kato={"msg": "kato missing"})
    old = node(sudo_rc=1, kato=kato(version="3.2.1", patches=[{"name": "p", "pending": True}]),
               resources={"filesystems": [{"path": "/s", "mount": "/", "free_bytes": GB}], "memory": {"available_bytes": MB}},
               upstream=[{"item": {"endpoints": ["a:443"], "proxy": ""}, "unreachable_endpoints": ["a:443"]}])
    offline = node(host="core", is_cache_node=True, kato=kato(upgrade={"cached": False}))
    return [(broken, {}), (old, {}), (offline, {"offline": True})]


def _every_cluster_problem():
    facts = _fragmented_cluster()
    facts["hosts"]["core"]["kato"]["nodes"]["127.0.0.13"]["roles"] = ["base", "mysql"]   # one router; router2 in wrong group
    facts["hosts"]["core"]["kato"]["maintenance_mode"] = True
    facts["hosts"]["dea1"]["kato"]["version"] = "3.6.2"
    facts["hosts"]["data1"].update(reached=False)
    return facts


def _all_findings(skip):
    findings = []
    for facts, settings in _every_node_problem():
        findings += node_findings(facts, dict(settings, target_version=TARGET, skip_checks=skip))
    findings += cluster_findings(_every_cluster_problem(), {"target_version": TARGET, "skip_checks": skip})
    return findings


@pytest.mark.parametrize("check", CHECKS)
def test_skip_by_its_own_name_only(check):
    everything = _all_findings([])
    assert {f["check"] for f in everything} == set(CHECKS)
    skipped = _all_findings([check])
    assert check not in {f["check"] for f in skipped}
    assert skipped == [f for f in everything if f["check"] != check]


def test_every_message_names_the_fix():
    for item in _all_findings([]):
        assert "Fix:" in item["msg"] or item["level"] == "info" and "nothing to do" in item["msg"], item


@pytest.mark.parametrize("values, error", [
    ({"skip_checks": ["patch"]}, "skip_checks names unknown checks patch"),
    ({"accept_risks": ["disk"]}, "accept_risks names unknown risks disk"),
    ({"min_free_disk": 7}, "unknown setting 'min_free_disk'"),
])
def test_settings_refuse_unknown_names(values, error):
    with pytest.raises(ValueError, match=error):
        settings_from(values)


def test_settings_take_strings_as_ansible_may_pass_them():
    settings = settings_from({"offline": "false", "warnings_fatal": "True", "min_routers": "3", "skip_checks": "disk"})
    assert settings["offline"] is False and settings["warnings_fatal"] is True
    assert settings["min_routers"] == 3 and settings["skip_checks"] == ["disk"]


# ---- level policy and summary -------------------------------------------------------------

def f(check, level, accepted=None):
    item = {"check": check, "level": level, "node": "n", "msg": f"{check} {level}"}
    if accepted is not None:
        item.update(risk=check, accepted=accepted)
    return item


@pytest.mark.parametrize("findings, prefetch_only, warnings_fatal, expected", [
    ([f("disk", "fail"), f("access", "fail")], False, False, ["fail", "fail"]),
    ([f("disk", "fail"), f("access", "fail"), f("dea_capacity", "fail"), f("zero_downtime", "fail"),
      f("offline_cache", "fail")], True, False, ["fail", "warn", "warn", "warn", "warn"]),
    ([f("zero_downtime", "warn"), f("patches", "info")], False, True, ["fail", "info"]),
    ([f("dea_capacity", "warn", accepted=True)], False, True, ["warn"]),
    ([f("access", "fail")], True, True, ["fail"]),
])
def test_level_policy(findings, prefetch_only, warnings_fatal, expected):
    assert [x["level"] for x in apply_level_policy(findings, prefetch_only, warnings_fatal)] == expected


def test_summary_lines_and_fail_message():
    facts = cluster()
    facts["hosts"]["dea1"]["kato"]["version"] = TARGET
    findings = [f("disk", "fail"), f("dea_capacity", "fail", accepted=False), f("zero_downtime", "warn"), f("patches", "info")]
    result = summary(findings, {"target_version": TARGET, "skip_checks": ["inventory"]}, facts)
    assert result["failed"] and result["failures"] == 2 and result["warnings"] == 1 and result["infos"] == 1
    assert result["lines"] == [
        "Preflight: 2 failure(s), 1 warning(s) on 5 node(s); checks skipped: inventory; risks accepted: none",
        "FAIL [disk] disk fail", "FAIL [dea_capacity] dea_capacity fail", "WARN [zero_downtime] zero_downtime warn",
        "INFO [patches] patches info",
        "PLAN core: 3.4.2 -> 3.6.2", "PLAN router2: 3.4.2 -> 3.6.2", "PLAN dea1: 3.6.2 (at target, skipped)",
        "PLAN dea2: 3.4.2 -> 3.6.2", "PLAN data1: 3.4.2 -> 3.6.2"]
    assert result["fail_msg"].startswith("Preflight failed, nothing was changed. disk fail | dea_capacity fail (")
    assert "preflight_skip_checks" in result["fail_msg"]
    assert "-e '{\"preflight_accept_risks\": [\"dea_capacity\"]}'" in result["fail_msg"]


def test_summary_passes_without_failures():
    result = summary([f("zero_downtime", "warn")], {"target_version": TARGET}, cluster())
    assert not result["failed"] and result["fail_msg"] == ""
    assert result["success_msg"] == "Preflight passed (1 warning(s))."
    result = summary([f("zero_downtime", "warn")], {"target_version": TARGET, "warnings_fatal": True}, cluster())
    assert result["failed"] and "preflight_accept_risks" not in result["fail_msg"]
