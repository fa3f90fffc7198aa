# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The input rules (plugins/module_utils/_inputs.py), table-driven: each bad input fails naming the
variable, the host, the value and the fix; a good inventory passes."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.stackato.cluster.plugins.filter.inputs import FilterModule, input_findings as input_filter
from ansible_collections.stackato.cluster.plugins.module_utils import _inputs

GROUPS = {
    "core": ["core"], "controller": [], "router": ["router2"], "dea": ["dea1", "dea2"], "data_services": ["data1"],
    "stackato": ["core", "router2", "dea1", "dea2", "data1"],
}
IPS = {"core": "127.0.0.11", "router2": "127.0.0.12", "dea1": "127.0.0.21", "dea2": "127.0.0.22", "data1": "127.0.0.31"}


def cluster(groups=None, every=None, **per_host):
    """Facts of a good cluster; ``every`` sets variables on every host (group_vars), ``per_host`` on one."""
    groups = copy.deepcopy(GROUPS if groups is None else groups)
    hosts = {}
    for host in groups.get("stackato", []):
        variables = {"stackato_target_version": "3.6.2"}
        variables.update(every or {})
        variables.update(per_host.get(host, {}))
        hosts[host] = {"ip": IPS.get(host, ""), "vars": variables}
    return {"groups": groups, "hosts": hosts}


def test_good_cluster_passes():
    assert _inputs.input_findings(cluster()) == []


def test_single_node_cluster_needs_no_dea_group():
    groups = {"core": ["micro"], "controller": [], "router": [], "dea": [], "data_services": [], "stackato": ["micro"]}
    assert _inputs.input_findings(cluster(groups)) == []


def test_unset_variables_take_their_defaults():
    facts = cluster(every={"preflight_min_free_disk_gb": None, "stackato_cache_ip": "", "stackato_http_proxy": ""})
    assert _inputs.input_findings(facts) == []


def _groups(**changes):
    groups = copy.deepcopy(GROUPS)
    for group, members in changes.items():
        if members is None:
            groups.pop(group)
        else:
            groups[group] = members
    return groups


# every bad input -> words the one message must hold (variable or group, host, value, fix)
BAD = [
    ("target unknown", cluster(every={"stackato_target_version": "3.7.0"}),
     ["stackato_target_version is '3.7.0'", "every host", "not a Stackato 3.x release", "Fix: set stackato_target_version"]),
    ("target older than supported", cluster(every={"stackato_target_version": "3.2.1"}),
     ["'3.2.1'", "not a Stackato 3.x release this collection knows", "3.4.1, 3.4.2, 3.6.0, 3.6.1, 3.6.2"]),
    ("target not a version", cluster(every={"stackato_target_version": "latest"}), ["'latest'", "not a version", "Fix:"]),
    ("target empty", cluster(every={"stackato_target_version": ""}), ["stackato_target_version is ''", "empty", "Fix:"]),
    ("target unset", {"groups": GROUPS, "hosts": {h: {"ip": ip, "vars": {}} for h, ip in IPS.items()}},
     ["stackato_target_version is not set", "Fix: set it in group_vars/stackato"]),
    ("target known list from the inventory", cluster(every={"stackato_target_version": "3.6.2",
                                                            "preflight_known_releases": ["3.4.2", "3.6.1"]}),
     ["'3.6.2'", "known: 3.4.2, 3.6.1"]),
    ("cache ip not a node", cluster(every={"stackato_cache_ip": "127.0.0.99"}),
     ["stackato_cache_ip is 127.0.0.99", "no node of the inventory", "core=127.0.0.11", "Fix: set it to the address"]),
    ("cache ip not an address", cluster(every={"stackato_cache_ip": "core.example"}),
     ["stackato_cache_ip is 'core.example'", "not an IP address", "Fix:"]),
    ("proxy scheme", cluster(every={"stackato_http_proxy": "ftp://proxy:21"}),
     ["stackato_http_proxy is 'ftp://proxy:21'", "scheme is 'ftp'", "Fix: set it to a URL like http://"]),
    ("proxy no scheme", cluster(every={"stackato_http_proxy": "proxy.example.com:3128"}),
     ["stackato_http_proxy", "not http or https"]),
    ("proxy no port", cluster(every={"stackato_https_proxy": "http://proxy.example.com"}),
     ["stackato_https_proxy is 'http://proxy.example.com'", "names no port"]),
    ("proxy bad port", cluster(every={"stackato_http_proxy": "http://proxy:99999"}), ["port is not a number"]),
    ("proxy no host", cluster(every={"stackato_http_proxy": "http://:3128"}), ["names no host"]),
    ("proxy path", cluster(every={"stackato_http_proxy": "http://proxy:3128/x"}), ["has a path"]),
    ("proxy credentials masked", cluster(every={"stackato_http_proxy": "socks5://bob:s3cret@proxy:1080"}),
     ["'socks5://***@proxy:1080'", "scheme is 'socks5'"]),
    ("role proxy", cluster(dea1={"upgrade_proxy_http_proxy": "http//x"}), ["upgrade_proxy_http_proxy is 'http//x' on dea1"]),
    ("negative disk", cluster(every={"preflight_min_free_disk_gb": -1}),
     ["preflight_min_free_disk_gb is -1 on every host", "negative", "Fix: set it to a number of GB of at least 0 (default 7)"]),
    ("non-numeric memory", cluster(dea2={"preflight_min_free_memory_mb": "lots"}),
     ["preflight_min_free_memory_mb is 'lots' on dea2", "not a number", "default 512"]),
    ("unit in a threshold", cluster(every={"preflight_min_free_disk_cache_gb": "10GB"}), ["'10GB'", "not a number"]),
    ("negative retries", cluster(every={"node_upgrade_retries": "-2"}), ["node_upgrade_retries is '-2'", "negative"]),
    ("zero timeout", cluster(every={"node_upgrade_timeout": 0}), ["node_upgrade_timeout is 0", "below 1", "at least 1"]),
    ("fractional retries", cluster(every={"prefetch_retries": 2.5}), ["prefetch_retries is 2.5", "not a whole number"]),
    ("boolean timeout", cluster(every={"prefetch_timeout": True}), ["prefetch_timeout is True", "a boolean"]),
    ("non-numeric delay", cluster(every={"prefetch_retry_delay": "ten"}), ["prefetch_retry_delay is 'ten'", "not a number"]),
    ("no core group", cluster(_groups(core=None)), ["no [core] group", "Fix: add a [core] group"]),
    ("empty core group", cluster(_groups(core=[])), ["[core] group is empty", "Fix: put the one node"]),
    ("two cores", cluster(_groups(core=["core", "router2"], router=[])),
     ["[core] group holds 2 hosts (core, router2)", "exactly one core node", "Fix: keep only"]),
    ("empty dea group", cluster(_groups(dea=[])), ["[dea] group is empty", "the cluster has 5 nodes", "Fix: list the nodes"]),
    ("no dea group", cluster(_groups(dea=None)), ["[dea] group is missing"]),
    ("core also a dea", cluster(_groups(dea=["dea1", "dea2", "core"])),
     ["core is in the conflicting groups [core] and [dea]", "Fix: keep core only in [core]"]),
    ("data node also a router", cluster(_groups(router=["router2", "data1"])),
     ["data1 is in the conflicting groups [data_services] and [router]", "Fix: keep data1 in the one group of its roles"]),
]


@pytest.mark.parametrize("name, facts, words", BAD, ids=[case[0] for case in BAD])
def test_bad_input_named_with_value_and_fix(name, facts, words):
    messages = _inputs.input_findings(facts)
    assert len(messages) == 1, messages
    for word in words:
        assert word in messages[0], f"{name}: {word!r} not in {messages[0]!r}"


def test_credentials_never_printed():
    facts = cluster(every={"stackato_http_proxy": "http://bob:s3cret@proxy"})
    assert "s3cret" not in " ".join(_inputs.input_findings(facts))


def test_router_and_dea_on_one_node_is_no_conflict():
    assert _inputs.input_findings(cluster(_groups(router=["router2", "dea1"]))) == []


def test_per_host_values_are_named_by_host():
    facts = cluster(dea1={"node_upgrade_timeout": -5}, dea2={"node_upgrade_timeout": -5})
    assert _inputs.input_findings(facts) == [
        "node_upgrade_timeout is -5 on dea1, dea2: negative. Fix: set it to a whole number of seconds of at least 1 "
        "(default 7200), or remove it to use the default."]


@pytest.mark.parametrize("url, problem", [
    ("http://proxy.example.com:3128", None),
    ("https://user:pw@proxy.example.com:8443/", None),
    ("http://[::1]:3128", None),
    ("", None),
    ("http://proxy example:3128", "it contains white space"),
    ("http://proxy:0", "its port is not a number from 1 to 65535"),
])
def test_proxy_problem(url, problem):
    assert _inputs.proxy_problem(url) == problem


@pytest.mark.parametrize("value, kind, minimum, problem", [
    (7, "number", 0, None), ("7.5", "number", 0, None), (0, "number", 0, None), ("10", "int", 1, None),
    (3.0, "int", 0, None), ("nan", "number", 0, "not a number"), ("-0.5", "number", 0, "negative"),
    ("", "int", 0, "not a number"), (None, "int", 0, "not a number"),
])
def test_number_problem(value, kind, minimum, problem):
    assert _inputs.number_problem(value, kind, minimum) == problem


def test_several_problems_reported_together():
    facts = cluster(_groups(core=["core", "router2"], router=[]), every={"stackato_target_version": "9.9", "prefetch_timeout": -1})
    assert len(_inputs.input_findings(facts)) == 3


def test_filter_registered_and_wraps_errors():
    assert FilterModule().filters()["input_findings"] is input_filter
    assert input_filter(cluster()) == []


def test_from_hostvars_reads_only_the_checked_variables():
    hostvars = {"core": {"stackato_node_ip": "127.0.0.11", "stackato_target_version": "3.6.2", "other": "x"},
                "dea1": {"stackato_target_version": "3.6.2", "node_upgrade_retries": -1}}
    facts = _inputs.facts_from_hostvars({"stackato": ["core", "dea1"]}, hostvars, ["core", "dea1"])
    assert facts["hosts"] == {"core": {"ip": "127.0.0.11", "vars": {"stackato_target_version": "3.6.2"}},
                              "dea1": {"ip": "", "vars": {"stackato_target_version": "3.6.2", "node_upgrade_retries": -1}}}
    messages = _inputs.input_findings({"groups": {"core": ["core"], "dea": ["dea1"], "stackato": ["core", "dea1"]},
                                       "hostvars": hostvars, "hosts": ["core", "dea1"]})
    assert messages == ["node_upgrade_retries is -1 on dea1: negative. Fix: set it to a whole number of retries of at least 0 "
                        "(default 3), or remove it to use the default."]


@pytest.mark.parametrize("settings, messages", [
    ({"stackato_http_proxy": "http://proxy:3128", "stackato_https_proxy": ""}, []),
    ({"stackato_http_proxy": None}, []),
    ({"stackato_http_proxy": "proxy:3128"},
     ["stackato_http_proxy is 'proxy:3128': its scheme is 'proxy', not http or https. Fix: set it to a URL like "
      "http://proxy.example.com:3128 (http or https, the host, the port; user:password@ before the host if the proxy "
      "needs it), or to \"\" for no proxy."]),
    ({"a": "http://bob:s3cret@proxy/path", "b": "http://proxy"},
     ["a is 'http://***@proxy/path': it names no port (e.g. :3128 or :8080). Fix: set it to a URL like "
      "http://proxy.example.com:3128 (http or https, the host, the port; user:password@ before the host if the proxy "
      "needs it), or to \"\" for no proxy.",
      "b is 'http://proxy': it names no port (e.g. :3128 or :8080). Fix: set it to a URL like "
      "http://proxy.example.com:3128 (http or https, the host, the port; user:password@ before the host if the proxy "
      "needs it), or to \"\" for no proxy."]),
])
def test_proxy_setting_problems(settings, messages):
    assert _inputs.proxy_setting_problems(settings) == messages


@pytest.mark.parametrize("args, env", [
    (("", "", "localhost", ["127.0.0.11"]), {}),
    (("http://p:3128", "", "", []), {"http_proxy": "http://p:3128", "https_proxy": "http://p:3128"}),
    (("", "https://p:8443", "", ["127.0.0.11"]), {"https_proxy": "https://p:8443", "no_proxy": "127.0.0.11"}),
    (("http://p:3128", "https://q:8443", " localhost, ,127.0.0.0/8 ", ["127.0.0.11", "127.0.0.12", "localhost", None, ""]),
     {"http_proxy": "http://p:3128", "https_proxy": "https://q:8443", "no_proxy": "localhost,127.0.0.0/8,127.0.0.11,127.0.0.12"}),
    ((" http://p:3128 ", None, None, None), {"http_proxy": "http://p:3128", "https_proxy": "http://p:3128"}),
])
def test_proxy_environment(args, env):
    assert _inputs.proxy_environment(*args) == env


def test_proxy_filters_wrap_the_rules():
    filters = FilterModule().filters()
    assert filters["proxy_problems"]({"x": "ftp://p:21"}) == _inputs.proxy_setting_problems({"x": "ftp://p:21"})
    assert filters["proxy_environment"]("http://p:3128", "", "h", ["127.0.0.2"]) == {
        "http_proxy": "http://p:3128", "https_proxy": "http://p:3128", "no_proxy": "h,127.0.0.2"}


def _without_ip(host):
    facts = cluster()
    facts["hosts"][host]["ip"] = ""
    return facts


def _twice(ip):
    facts = cluster(every={"stackato_cache_ip": ip})
    facts["hosts"]["data1"]["ip"] = ip
    return facts


@pytest.mark.parametrize("facts, node", [
    (cluster(), "core"),
    (cluster(every={"stackato_cache_ip": ""}), "core"),
    (cluster(every={"stackato_cache_ip": "127.0.0.31"}), "data1"),
    (cluster(every={"stackato_cache_ip": " 127.0.0.31 "}), "data1"),
    (cluster(every={"stackato_cache_ip": "127.0.0.99"}), ""),  # no host has it (the input rule says so)
    (cluster(dea1={"stackato_cache_ip": "127.0.0.31"}), ""),  # set on one host only
    (cluster(dea1={"stackato_cache_ip": "127.0.0.31"}, dea2={"stackato_cache_ip": "127.0.0.11"}), ""),
    (_twice("127.0.0.21"), ""),  # two hosts with the address
    (_without_ip("core"), ""),  # the default, but the core has no address
    (cluster(_groups(core=["core", "router2"])), ""),  # not one core node
    (cluster(every={"upgrade_cache_ip": "127.0.0.31"}), ""),  # the role's own setting wins: decided per host
])
def test_cache_node(facts, node):
    assert _inputs.cache_node(facts) == node


def test_cache_node_from_hostvars():
    hostvars = {"core": {"stackato_node_ip": "127.0.0.11"}, "data1": {"stackato_node_ip": "127.0.0.31",
                                                                      "stackato_cache_ip": "127.0.0.31"}}
    hostvars["core"]["stackato_cache_ip"] = "127.0.0.31"
    facts = {"groups": {"core": ["core"], "stackato": ["core", "data1"]}, "hostvars": hostvars, "hosts": ["core", "data1"]}
    assert FilterModule().filters()["cache_node"](facts) == "data1"
