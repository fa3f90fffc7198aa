# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kato_node_retire: documented kato (node list text, config get, process list -j, node retire -n) plus the
Cloud Controller API for the instances, and the capacity rule's placement before anything changes."""

from __future__ import annotations

import json

import pytest

from ansible_collections.stackato.cluster.plugins.modules import kato_node_retire
from ansible_collections.stackato.cluster.plugins.module_utils import _retire
from ansible_collections.stackato.cluster.tests.unit.plugins.module_utils.ccapi_fake import (
    API,
    PASSWORD,
    TOKEN,
    UAA,
    app,
    http_error,
    page,
)

CORE, DEA1, DEA2, DEA3, DEA4 = "127.42.0.11", "127.42.0.13", "127.42.0.14", "127.42.0.15", "127.42.0.16"

NODE_LIST_TEXT = (
    "WARNING: this cluster has an unlicensed node\n"
    "Node IP          Assigned roles\n"
    f"{CORE}      base, primary, controller, router   \n"
    f"{DEA1}      base, dea\n"
    f"{DEA2}      base, dea\n"
    f"{DEA3}      base, dea\n"
    "\n"
)
NODE_LIST = {"argv": ["node", "list"], "out": NODE_LIST_TEXT}
MEMORY = {"argv": ["config", "get", "dea_ng", "resources/memory_mb", "--json"], "out": "1024\n"}
RETIRE = {"argv": ["node", "retire", "-n", DEA1], "out": f"DEA {DEA1} retired (2 app instance(s) relocated)\n"}


def procs(ip, state="RUNNING"):
    return {"argv": ["process", "list", "-n", ip, "-j"],
            "out": json.dumps({ip: {"dea_ng": state, "dir_server": state, "apptail": state, "nginx": "RUNNING"}})}


def procs_all(*deas):
    """One kato process list -c -j for the cluster: the core and the DEAs given (ip, or (ip, state))."""
    data = {CORE: {"cloud_controller_ng": "RUNNING", "router2g": "RUNNING", "nginx": "RUNNING"}}
    for entry in deas:
        ip, state = entry if isinstance(entry, tuple) else (entry, "RUNNING")
        data[ip] = {"dea_ng": state, "dir_server": state, "apptail": state, "nginx": "RUNNING"}
    return {"argv": ["process", "list", "-c", "-j"], "out": json.dumps(data)}


PROCS_ALL = {"argv": ["process", "list", "-c", "-j"]}


def stats(*hosts):
    """Stats of one app: one RUNNING instance per host, index by position."""
    return {str(index): {"state": "RUNNING", "stats": {"host": host, "port": 61000 + index}}
            for index, host in enumerate(hosts)}


APPS = page([app("g-web", "web", 256, 2), app("g-api", "api", 640, 1), app("g-old", "old", 512, 1, "STOPPED")])
STATS_WEB = ("GET", API + "/v2/apps/g-web/stats")
STATS_API = ("GET", API + "/v2/apps/g-api/stats")
APPS_KEY = ("GET", API + "/v2/apps")

BEFORE = {APPS_KEY: APPS, STATS_WEB: stats(DEA1, DEA2), STATS_API: stats(DEA1)}
BEFORE_AFTER = {APPS_KEY: APPS, STATS_WEB: [stats(DEA1, DEA2), stats(DEA3, DEA2)],
                STATS_API: [stats(DEA1), stats(DEA3)]}

READ_ONCE = [("GET", API + "/v2/info"), ("POST", UAA + "/oauth/token"), APPS_KEY, STATS_API, STATS_WEB]
READ_TWICE = READ_ONCE + [APPS_KEY, STATS_API, STATS_WEB]

CASES = [
    {
        "id": "retires_and_reports_moves",
        "calls": [NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3), RETIRE],
        "routes": BEFORE_AFTER,
        "requests": READ_TWICE,
        "result": {
            "changed": True, "needed_mb": 896, "free_mb": 1792, "unplaced": [],
            # api (640 MB) first, onto the DEA with the most free memory; web onto the DEA without a web instance
            "placed": [{"app": "api", "memory_mb": 640, "from": DEA1, "to": DEA3},
                       {"app": "web", "memory_mb": 256, "from": DEA1, "to": DEA3}],
            "moved": [{"app": "api", "from": DEA1, "to": DEA3}, {"app": "web", "from": DEA1, "to": DEA3}],
        },
    },
    {
        "id": "dea_without_instances_is_not_changed",
        # which DEAs run dea_ng is read beside the instances, before it is known that nothing needs placing
        "calls": [NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3)],
        "routes": {APPS_KEY: APPS, STATS_WEB: stats(DEA2, DEA3), STATS_API: stats(DEA2)},
        "requests": READ_ONCE,
        "result": {"changed": False, "moved": [], "placed": [], "needed_mb": 0},
    },
    {
        "id": "check_mode_predicts_the_placement",
        "flags": {"check": True, "diff": True},
        "calls": [NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3)],
        "routes": BEFORE,
        "requests": READ_ONCE,
        "result": {
            "changed": True, "moved": [],
            "placed": [{"app": "api", "memory_mb": 640, "from": DEA1, "to": DEA3},
                       {"app": "web", "memory_mb": 256, "from": DEA1, "to": DEA3}],
            "diff": {"before": {"instances": [{"app": "api", "index": 0, "memory_mb": 640},
                                              {"app": "web", "index": 0, "memory_mb": 256}]},
                     "after": {"instances": []}},
        },
    },
    {
        "id": "stopped_dea_takes_nothing",
        "calls": [NODE_LIST, MEMORY, procs_all(DEA1, DEA2, (DEA3, "STOPPED")), RETIRE],
        "routes": {APPS_KEY: APPS, STATS_WEB: [stats(DEA1, DEA2), stats(DEA2, DEA2)],
                   STATS_API: [stats(DEA1), stats(DEA2)]},
        "result": {"changed": True, "free_mb": 1792, "unplaced": [],
                   "placed": [{"app": "api", "memory_mb": 640, "from": DEA1, "to": DEA2},
                              {"app": "web", "memory_mb": 256, "from": DEA1, "to": DEA2}],
                   "moved": [{"app": "api", "from": DEA1, "to": DEA2}, {"app": "web", "from": DEA1, "to": DEA2}]},
        "dea_memory_mb": {DEA2: 2048},
    },
    {
        "id": "dea_memory_mb_for_every_dea_skips_config_get",
        "dea_memory_mb": {DEA1: 1024, DEA2: "2048", DEA3: 512},
        "flags": {"check": True},
        "calls": [NODE_LIST, procs_all(DEA1, DEA2, DEA3)],
        "routes": BEFORE,
        "result": {"changed": True, "free_mb": 2304,
                   "placed": [{"app": "api", "memory_mb": 640, "from": DEA1, "to": DEA2},
                              {"app": "web", "memory_mb": 256, "from": DEA1, "to": DEA3}]},
    },
    {
        "id": "unreadable_dea_memory_names_dea_memory_mb",
        "calls": [NODE_LIST, dict(MEMORY, rc=1, out="", err="Error: key resources/memory_mb not found in dea_ng\n")],
        "routes": BEFORE,
        "requests": [],
        "failed": True,
        "msg_contains": ["could not read the DEA memory", f"set dea_memory_mb for {DEA1}, {DEA2}, {DEA3}",
                         "stackato_dea_memory_mb"],
    },
    {
        "id": "kato_refusal_fails_with_evidence",
        "calls": [NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3),
                  dict(RETIRE, rc=1, out="", err="ERROR: not enough memory on the other DEAs\n")],
        "routes": BEFORE,
        "failed": True,
        "msg_contains": [f"kato node retire -n {DEA1} failed (rc=1)", "not enough memory"],
        "result": {"rc": 1},
    },
    {
        "id": "instances_left_behind_fail",
        "calls": [NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3), RETIRE],
        "routes": {APPS_KEY: APPS, STATS_WEB: stats(DEA1, DEA2), STATS_API: [stats(DEA1), stats(DEA3)]},
        "failed": True,
        "msg_contains": [f"still shows 1 instance(s) on {DEA1}"],
        "result": {"moved": [{"app": "api", "from": DEA1, "to": DEA3}]},
    },
    {
        "id": "unreadable_process_list_counts_the_dea_out",
        "calls": [NODE_LIST, MEMORY, dict(PROCS_ALL, rc=1, out="", err="ERROR: node unreachable\n"),
                  procs(DEA2), dict(procs(DEA3), rc=1, out="", err="ERROR: node unreachable\n")],
        "routes": BEFORE,
        "flags": {"check": True},
        "failed": True,
        "warnings": ["reading each DEA's processes instead", f"counting DEA {DEA3} as unavailable"],
        "msg_contains": ["the instance of app 'web' (256 MB)", f"the largest free slot is 128 MB on {DEA2}"],
    },
    {
        "id": "dea_left_out_of_the_cluster_process_list_counts_out",
        "calls": [NODE_LIST, MEMORY, procs_all(DEA1, DEA2)],
        "routes": BEFORE,
        "flags": {"check": True},
        "failed": True,
        "warnings": [f"counting DEA {DEA3} as unavailable: kato process list -c -j does not list its processes"],
        "msg_contains": ["the instance of app 'web' (256 MB)", f"the largest free slot is 128 MB on {DEA2}"],
    },
    {
        "id": "api_refuses_the_password",
        "calls": [NODE_LIST, MEMORY],
        "routes": {("POST", UAA + "/oauth/token"): http_error(UAA + "/oauth/token", 401, {"error": "unauthorized"})},
        "failed": True,
        "msg_contains": ["HTTP 401", "check stackato_api_username/stackato_api_password"],
        "result": {"status": 401, "url": UAA + "/oauth/token"},
    },
]


def module_args(kato, node=DEA1, **extra):
    return dict({"node": node, "kato_path": kato, "api_url": API, "api_password": PASSWORD}, **extra)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_kato_node_retire(case, check_case, run_module, kato, api):
    fake = api(case.get("routes", {}))
    calls = [dict(call, argv=[kato] + call["argv"]) for call in case["calls"]]
    args = module_args(kato, dea_memory_mb=case.get("dea_memory_mb", {}))
    result, failed, warnings = run_module(kato_node_retire, args, calls, **case.get("flags", {}))
    check_case(case, result, failed, warnings)
    if "requests" in case:
        assert fake.requests() == case["requests"]
    assert PASSWORD not in json.dumps(result) and TOKEN not in json.dumps(result)


def fragmented_cluster():
    """Observation 9: four 1024 MB DEAs, each running one 640 MB instance and one 128 MB one.

    The other three DEAs have 768 MB free in total, more than the 768 MB the retiring DEA runs,
    but no single DEA has room for a 640 MB instance.
    """
    deas = (DEA1, DEA2, DEA3, DEA4)
    text = NODE_LIST_TEXT + f"{DEA4}      base, dea\n"
    routes = {
        APPS_KEY: page([app("g-big", "big", 640, 4), app("g-small", "small", 128, 4)]),
        ("GET", API + "/v2/apps/g-big/stats"): stats(*deas),
        ("GET", API + "/v2/apps/g-small/stats"): stats(*deas),
    }
    return text, routes


@pytest.mark.parametrize("check", [False, True])
def test_fragmented_cluster_refuses_and_changes_nothing(run_module, kato, api, check):
    text, routes = fragmented_cluster()
    api(routes)
    calls = [{"argv": [kato, "node", "list"], "out": text}, dict(MEMORY, argv=[kato] + MEMORY["argv"])]
    calls.append(dict(procs_all(DEA1, DEA2, DEA3, DEA4), argv=[kato, "process", "list", "-c", "-j"]))
    result, failed, dummy = run_module(kato_node_retire, module_args(kato), calls, check=check)
    assert failed and result["changed"] is False
    assert result["msg"].startswith(f"refusing to retire DEA {DEA1}: the instance of app 'big' (640 MB) fits on no "
                                    f"other DEA: the largest free slot is 256 MB on {DEA2}. Nothing was changed.")
    assert "add a DEA with at least 640 MB free" in result["msg"] and "scale app 'big' down" in result["msg"]
    assert result["needed_mb"] == 768 and result["free_mb"] == 768
    assert result["unplaced"] == [{"app": "big", "memory_mb": 640, "from": DEA1, "largest_free_mb": 256,
                                   "largest_free_dea": DEA2}]
    assert result["placed"] == [{"app": "small", "memory_mb": 128, "from": DEA1, "to": DEA2}]


@pytest.mark.parametrize("node, text", [
    (CORE, f"{CORE} is not a DEA node: it has the roles base, controller, primary, router; give the address of a node "
           f"with the dea role"),
    ("127.42.0.99", "kato node list does not list 127.42.0.99"),
])
def test_not_a_dea(run_module, kato, api, node, text):
    fake = api({})
    result, failed, dummy = run_module(kato_node_retire, module_args(kato, node=node),
                                       [dict(NODE_LIST, argv=[kato] + NODE_LIST["argv"])])
    assert failed and text in result["msg"]
    assert fake.calls == []


@pytest.mark.parametrize("value", [0, -5, "lots"])
def test_bad_dea_memory_mb(run_module, kato, api, value):
    """Refused before any kato call or API request."""
    fake = api({})
    result, failed, dummy = run_module(kato_node_retire, module_args(kato, dea_memory_mb={DEA2: value}), [])
    assert failed and f"dea_memory_mb: {DEA2}" in result["msg"] and "whole number" in result["msg"]
    assert result["cause"] == "invalid_input" and fake.calls == []


def test_api_options_are_required(run_module, kato):
    result, failed, dummy = run_module(kato_node_retire, {"node": DEA1, "kato_path": kato})
    assert failed and "api_password" in result["msg"] and "api_url" in result["msg"]


@pytest.mark.parametrize("before, after, moved", [
    ([("web", DEA1), ("web", DEA1), ("web", DEA2)], [("web", DEA2), ("web", DEA3), ("web", DEA2)],
     [{"app": "web", "from": DEA1, "to": DEA2}, {"app": "web", "from": DEA1, "to": DEA3}]),
    ([("web", DEA1)], [("web", DEA1)], []),
    ([("web", DEA1), ("api", DEA2)], [("web", DEA3), ("api", DEA3)], [{"app": "web", "from": DEA1, "to": DEA3}]),
])
def test_moved_instances(before, after, moved):
    def instances(pairs):
        return [{"app": app_name, "host": host, "state": "RUNNING"} for app_name, host in pairs]
    assert _retire.moved_instances(DEA1, instances(before), instances(after)) == moved


# ---- progress: the retire step and the instances before it, recorded on the node in the same call ---------------
@pytest.mark.parametrize("check, calls, routes, hosts", [
    (False, [NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3), RETIRE], BEFORE_AFTER, [("api", DEA1), ("web", DEA1), ("web", DEA2)]),
    (True, [NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3)], BEFORE, [("api", DEA1), ("web", DEA1), ("web", DEA2)]),
    # a DEA that runs nothing is not retired, but its step is finished all the same
    (False, [NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3)], {APPS_KEY: APPS, STATS_WEB: stats(DEA2, DEA3),
                                                               STATS_API: stats(DEA2)},
     [("api", DEA2), ("web", DEA2), ("web", DEA3)]),
], ids=["retired", "check_mode_writes_nothing", "nothing_to_move"])
def test_progress_records_retire_with_the_instances_before(run_module, kato, api, tmp_path, check, calls, routes, hosts):
    api(routes)
    record = tmp_path / "progress.json"
    args = module_args(kato, progress={"path": str(record), "target": "3.6.2", "step": "retire"})
    result, failed, dummy = run_module(kato_node_retire, args, [dict(c, argv=[kato] + c["argv"]) for c in calls], check=check)
    assert not failed, result
    assert sorted((i["app"], i["host"]) for i in result["instances_before"]) == hosts
    assert result["progress"] == {"path": str(record), "step": "retire", "also": [], "changed": True, "done": ["retire"]}
    assert result["changed"] is True
    if check:
        assert not record.exists()
    else:
        kept = json.loads(record.read_text())["steps"]["retire"]
        assert sorted((i["app"], i["host"]) for i in kept["instances"]) == hosts and "at" in kept


def test_progress_not_recorded_when_the_retirement_is_refused(run_module, kato, api, tmp_path):
    text, routes = fragmented_cluster()
    api(routes)
    record = tmp_path / "progress.json"
    calls = [{"argv": [kato, "node", "list"], "out": text}, dict(MEMORY, argv=[kato] + MEMORY["argv"])]
    calls.append(dict(procs_all(DEA1, DEA2, DEA3, DEA4), argv=[kato, "process", "list", "-c", "-j"]))
    args = module_args(kato, progress={"path": str(record), "target": "3.6.2", "step": "retire"})
    result, failed, dummy = run_module(kato_node_retire, args, calls)
    assert failed and "refusing to retire" in result["msg"] and not record.exists()


def test_progress_unwritable_record_fails_saying_the_dea_is_retired(run_module, kato, api, tmp_path):
    api(BEFORE_AFTER)
    blocker = tmp_path / "file"
    blocker.write_text("")
    args = module_args(kato, progress={"path": str(blocker / "progress.json"), "target": "3.6.2", "step": "retire"})
    calls = [NODE_LIST, MEMORY, procs_all(DEA1, DEA2, DEA3), RETIRE]
    result, failed, dummy = run_module(kato_node_retire, args, [dict(c, argv=[kato] + c["argv"]) for c in calls])
    assert failed and result["msg"].startswith(f"{DEA1} is retired, but the progress record")
    assert result["moved"] == [{"app": "api", "from": DEA1, "to": DEA3}, {"app": "web", "from": DEA1, "to": DEA3}]
